-- no-transaction
-- Event short names are unique per organization, not across organizations: creating
-- an event no longer tells an organizer which short names other organizations use.
-- SQLite cannot drop a column's UNIQUE constraint, so the table is rebuilt with the
-- same ids (SQLite's documented procedure: foreign keys off around one transaction).

PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

CREATE TABLE events_new (
    id         INTEGER PRIMARY KEY,
    org_id     INTEGER NOT NULL REFERENCES organizations(id),
    slug       TEXT NOT NULL,
    name       TEXT NOT NULL,
    starts_at  TEXT NOT NULL,
    ticket_url TEXT NOT NULL,
    currency   TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (org_id, slug)
);

INSERT INTO events_new (id, org_id, slug, name, starts_at, ticket_url, currency, created_at)
SELECT id, org_id, slug, name, starts_at, ticket_url, currency, created_at FROM events;

DROP TABLE events;
ALTER TABLE events_new RENAME TO events;

CREATE INDEX events_org ON events(org_id);
CREATE INDEX events_slug ON events(slug);

COMMIT;
PRAGMA foreign_keys = ON;
