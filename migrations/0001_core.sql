-- promoterd core schema: organizations, people, promoter programs, links, orders.
-- Times are stored as RFC 3339 UTC text ("2026-11-23T21:54:02Z"), money in minor units.

CREATE TABLE organizations (
    id          INTEGER PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    time_zone   TEXT NOT NULL DEFAULT 'UTC',
    currency    TEXT NOT NULL DEFAULT 'EUR',
    leaderboard INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL
);

CREATE TABLE people (
    id           INTEGER PRIMARY KEY,
    email        TEXT NOT NULL UNIQUE,
    display_name TEXT,
    verified_at  TEXT,
    created_at   TEXT NOT NULL
);

-- Discord / Telegram accounts linked to a person.
CREATE TABLE chat_accounts (
    platform    TEXT NOT NULL CHECK (platform IN ('discord', 'telegram')),
    external_id TEXT NOT NULL,
    person_id   INTEGER NOT NULL REFERENCES people(id),
    username    TEXT,
    linked_at   TEXT NOT NULL,
    PRIMARY KEY (platform, external_id)
);
CREATE INDEX chat_accounts_person ON chat_accounts(person_id);

-- Pending `connect <email>` requests of chat accounts, answered by `verify <code>`.
CREATE TABLE connect_codes (
    id          INTEGER PRIMARY KEY,
    platform    TEXT NOT NULL,
    external_id TEXT NOT NULL,
    email       TEXT NOT NULL,
    code_hash   TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT
);
CREATE INDEX connect_codes_account ON connect_codes(platform, external_id);

CREATE TABLE organizers (
    org_id     INTEGER NOT NULL REFERENCES organizations(id),
    person_id  INTEGER NOT NULL REFERENCES people(id),
    role       TEXT NOT NULL CHECK (role IN ('owner', 'admin')),
    created_at TEXT NOT NULL,
    PRIMARY KEY (org_id, person_id)
);
CREATE INDEX organizers_person ON organizers(person_id);

CREATE TABLE events (
    id         INTEGER PRIMARY KEY,
    org_id     INTEGER NOT NULL REFERENCES organizations(id),
    slug       TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    starts_at  TEXT NOT NULL,
    ticket_url TEXT NOT NULL,
    currency   TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX events_org ON events(org_id);

CREATE TABLE ticket_types (
    id          INTEGER PRIMARY KEY,
    event_id    INTEGER NOT NULL REFERENCES events(id),
    name        TEXT NOT NULL,
    price_minor INTEGER,
    created_at  TEXT NOT NULL,
    UNIQUE (event_id, name)
);

-- A person promoting for an organization: every event (event_id NULL) or one event.
CREATE TABLE memberships (
    id         INTEGER PRIMARY KEY,
    org_id     INTEGER NOT NULL REFERENCES organizations(id),
    event_id   INTEGER REFERENCES events(id),
    person_id  INTEGER NOT NULL REFERENCES people(id),
    status     TEXT NOT NULL CHECK (status IN ('invited', 'active', 'ignored', 'expired', 'revoked')),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX memberships_person ON memberships(person_id, status);
CREATE INDEX memberships_org ON memberships(org_id, status);
-- At most one live (invited or active) membership per person and scope.
CREATE UNIQUE INDEX memberships_live ON memberships(org_id, person_id, coalesce(event_id, 0))
    WHERE status IN ('invited', 'active');

-- Invitations, to be a promoter (membership_id set) or a collaborating organizer.
CREATE TABLE invites (
    id            INTEGER PRIMARY KEY,
    org_id        INTEGER NOT NULL REFERENCES organizations(id),
    event_id      INTEGER REFERENCES events(id),
    email         TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('promoter', 'organizer')),
    membership_id INTEGER REFERENCES memberships(id),
    code_hash     TEXT NOT NULL UNIQUE,
    invited_by    INTEGER NOT NULL REFERENCES people(id),
    status        TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'ignored', 'cancelled', 'expired')),
    sent_count    INTEGER NOT NULL DEFAULT 1,
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    resolved_at   TEXT
);
CREATE INDEX invites_org ON invites(org_id, status);
CREATE INDEX invites_email ON invites(email, status);

-- Tracking links. Promoter links carry the membership of the promoter at the root of
-- their tree (sub-promoter sales roll up); organization links have none.
CREATE TABLE links (
    id            INTEGER PRIMARY KEY,
    code          TEXT NOT NULL UNIQUE,
    org_id        INTEGER NOT NULL REFERENCES organizations(id),
    event_id      INTEGER NOT NULL REFERENCES events(id),
    membership_id INTEGER REFERENCES memberships(id),
    parent_id     INTEGER REFERENCES links(id),
    kind          TEXT NOT NULL CHECK (kind IN ('main', 'channel', 'sub', 'org')),
    label         TEXT NOT NULL,
    sub_promoter  TEXT,
    created_by    INTEGER REFERENCES people(id),
    created_at    TEXT NOT NULL,
    revoked_at    TEXT
);
CREATE INDEX links_owner ON links(membership_id, event_id);
CREATE INDEX links_event ON links(event_id);
CREATE UNIQUE INDEX links_main ON links(membership_id, event_id) WHERE kind = 'main';

-- Clicks per link and day (UTC); `uniques` counts distinct visitors of that day.
CREATE TABLE clicks (
    link_id INTEGER NOT NULL REFERENCES links(id),
    day     TEXT NOT NULL,
    clicks  INTEGER NOT NULL DEFAULT 0,
    uniques INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (link_id, day)
) WITHOUT ROWID;

-- Keyed hashes of (address, user agent) seen per link and day; never raw addresses.
CREATE TABLE click_visitors (
    link_id INTEGER NOT NULL,
    day     TEXT NOT NULL,
    visitor BLOB NOT NULL,
    PRIMARY KEY (link_id, day, visitor)
) WITHOUT ROWID;

CREATE TABLE orders (
    id            INTEGER PRIMARY KEY,
    source        TEXT NOT NULL,
    external_id   TEXT NOT NULL,
    event_id      INTEGER NOT NULL REFERENCES events(id),
    ref_code      TEXT,
    link_id       INTEGER REFERENCES links(id),
    membership_id INTEGER REFERENCES memberships(id),
    buyer_name    TEXT,
    buyer_email   TEXT,
    buyer_phone   TEXT,
    status        TEXT NOT NULL CHECK (status IN ('paid', 'partially_refunded', 'refunded', 'cancelled')),
    currency      TEXT NOT NULL,
    self_referral INTEGER NOT NULL DEFAULT 0,
    ordered_at    TEXT NOT NULL,
    source_updated_at TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    UNIQUE (source, external_id)
);
CREATE INDEX orders_event ON orders(event_id, ordered_at);
CREATE INDEX orders_link ON orders(link_id);
CREATE INDEX orders_membership ON orders(membership_id, event_id);

-- Order lines; net tickets = quantity - refunded_quantity.
CREATE TABLE order_lines (
    order_id          INTEGER NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    line_no           INTEGER NOT NULL,
    ticket_type_id    INTEGER NOT NULL REFERENCES ticket_types(id),
    quantity          INTEGER NOT NULL CHECK (quantity > 0),
    refunded_quantity INTEGER NOT NULL DEFAULT 0 CHECK (refunded_quantity >= 0 AND refunded_quantity <= quantity),
    unit_price_minor  INTEGER NOT NULL CHECK (unit_price_minor >= 0),
    PRIMARY KEY (order_id, line_no)
) WITHOUT ROWID;

CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    org_id    INTEGER REFERENCES organizations(id),
    actor_id  INTEGER REFERENCES people(id),
    action    TEXT NOT NULL,
    detail    TEXT NOT NULL
);
CREATE INDEX audit_org ON audit_log(org_id, at);

-- Outbound messages, written in the transaction that causes them, sent by a worker.
CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY,
    channel     TEXT NOT NULL CHECK (channel IN ('email', 'telegram', 'discord')),
    recipient   TEXT NOT NULL,
    kind        TEXT NOT NULL,
    subject     TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_try_at TEXT NOT NULL,
    sent_at     TEXT,
    failed_at   TEXT,
    last_error  TEXT
);
CREATE INDEX outbox_pending ON outbox(next_try_at) WHERE sent_at IS NULL AND failed_at IS NULL;
