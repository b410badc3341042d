-- Digests and notifications: preferences, organization defaults, exactly-once digest
-- periods, notification and milestone state, and chat messages in the outbox.

CREATE TABLE preferences (
    person_id   INTEGER PRIMARY KEY NOT NULL REFERENCES people(id),
    channel     TEXT CHECK (channel IN ('telegram', 'discord', 'email')),
    digest      TEXT NOT NULL DEFAULT 'weekly' CHECK (digest IN ('daily', 'weekly', 'off')),
    digest_hour INTEGER CHECK (digest_hour BETWEEN 0 AND 23),
    notify      INTEGER NOT NULL DEFAULT 1
);

ALTER TABLE organizations ADD COLUMN digest_weekday INTEGER NOT NULL DEFAULT 1; -- 1 = Monday … 7 = Sunday
ALTER TABLE organizations ADD COLUMN digest_hour INTEGER NOT NULL DEFAULT 9;

-- One row per person, digest kind and period ("2026-11-23" or "2026-W48"): the unique
-- key that makes a digest go out once.
CREATE TABLE digest_runs (
    person_id  INTEGER NOT NULL REFERENCES people(id),
    kind       TEXT NOT NULL CHECK (kind IN ('promoter', 'organizer')),
    period     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (person_id, kind, period)
) WITHOUT ROWID;

-- When a promoter was last told about their sales.
CREATE TABLE notify_state (
    membership_id INTEGER PRIMARY KEY NOT NULL REFERENCES memberships(id),
    last_at       TEXT NOT NULL
);

CREATE TABLE milestones_sent (
    membership_id INTEGER NOT NULL REFERENCES memberships(id),
    event_id      INTEGER NOT NULL REFERENCES events(id),
    threshold     INTEGER NOT NULL,
    sent_at       TEXT NOT NULL,
    PRIMARY KEY (membership_id, event_id, threshold)
) WITHOUT ROWID;

-- Chat messages carry the structured reply (JSON) and an address to fall back to.
ALTER TABLE outbox ADD COLUMN payload TEXT;
ALTER TABLE outbox ADD COLUMN fallback_email TEXT;
CREATE INDEX orders_created ON orders(membership_id, created_at);
-- Net tickets of an order when its promoter was last told: later changes are deltas.
ALTER TABLE orders ADD COLUMN notified_tickets INTEGER NOT NULL DEFAULT 0;
