-- Commissions and payouts: rules an organizer sets, a ledger of what each promoter earned
-- (written in the transaction of every order change), running totals for fast reads,
-- and the payouts organizers record.

-- Days after an event's start before its commissions are due (refunds come first);
-- since when orders bought with the promoter's own address earn (NULL: they do not).
ALTER TABLE organizations ADD COLUMN commission_hold_days INTEGER NOT NULL DEFAULT 5
    CHECK (commission_hold_days BETWEEN 0 AND 365);
ALTER TABLE organizations ADD COLUMN commission_self_since TEXT;

-- A cancelled event: what was not paid of its commissions is voided, and nothing of it
-- changes any more.
ALTER TABLE events ADD COLUMN cancelled_at TEXT;
-- Set by `recompute`: orders of the event placed before it earn by the rules of that
-- moment (later orders by the rules of their own time).
ALTER TABLE events ADD COLUMN commission_basis_at TEXT;
-- When the organizers were told that the event's commissions are due.
ALTER TABLE events ADD COLUMN commission_due_notified_at TEXT;

-- A rule: for an organization, or one event; all ticket types, or one; everyone, or one
-- person. A change ends the old version (valid_until) and starts a new one, so the rule
-- of any moment can be found again. Both amounts zero: "no commission" for that slot.
CREATE TABLE commission_rules (
    id               INTEGER PRIMARY KEY,
    org_id           INTEGER NOT NULL REFERENCES organizations(id),
    event_id         INTEGER REFERENCES events(id),
    ticket_type_id   INTEGER REFERENCES ticket_types(id),
    person_id        INTEGER REFERENCES people(id),
    per_ticket_minor INTEGER NOT NULL CHECK (per_ticket_minor >= 0),
    percent_bp       INTEGER NOT NULL CHECK (percent_bp BETWEEN 0 AND 10000),
    valid_from       TEXT NOT NULL,
    valid_until      TEXT,
    created_by       INTEGER REFERENCES people(id)
);
CREATE INDEX commission_rules_org ON commission_rules(org_id);
-- One live version per slot.
CREATE UNIQUE INDEX commission_rules_live ON commission_rules(org_id, coalesce(event_id, 0),
    coalesce(ticket_type_id, 0), coalesce(person_id, 0)) WHERE valid_until IS NULL;

-- The ledger: entries are only ever added. An order's entries for one ticket type sum to
-- what it earns now; a refund adds a negative entry, never edits one.
CREATE TABLE commission_entries (
    id             INTEGER PRIMARY KEY,
    event_id       INTEGER NOT NULL REFERENCES events(id),
    person_id      INTEGER NOT NULL REFERENCES people(id),
    order_id       INTEGER REFERENCES orders(id),
    ticket_type_id INTEGER NOT NULL DEFAULT 0, -- 0: an entry of the whole event (void)
    rule_id        INTEGER REFERENCES commission_rules(id),
    kind           TEXT NOT NULL CHECK (kind IN ('earned', 'reversed', 'recomputed', 'voided')),
    tickets        INTEGER NOT NULL, -- net tickets earning after this entry
    amount_minor   INTEGER NOT NULL,
    created_at     TEXT NOT NULL
);
CREATE INDEX commission_entries_order ON commission_entries(order_id);
CREATE INDEX commission_entries_event ON commission_entries(event_id, id);

-- Running totals of the ledger per (event, person, ticket type), written by the store in
-- the statement after each insert of entries (one upsert per batch, same transaction).
CREATE TABLE commission_totals (
    event_id       INTEGER NOT NULL,
    person_id      INTEGER NOT NULL,
    ticket_type_id INTEGER NOT NULL,
    amount_minor   INTEGER NOT NULL DEFAULT 0,
    earned_minor   INTEGER NOT NULL DEFAULT 0, -- positive entries
    reversed_minor INTEGER NOT NULL DEFAULT 0, -- negative entries (≤ 0)
    PRIMARY KEY (event_id, person_id, ticket_type_id)
) WITHOUT ROWID;
CREATE INDEX commission_totals_person ON commission_totals(person_id);

-- The same per (person, event), read in person order by `payouts`: what an
-- organization owes each promoter without grouping every ticket type's row.
CREATE TABLE commission_balances (
    person_id    INTEGER NOT NULL,
    event_id     INTEGER NOT NULL,
    amount_minor INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (person_id, event_id)
) WITHOUT ROWID;


-- A payout an organizer recorded; `reference` (the transfer's) makes a repeated request
-- find the payout already recorded instead of paying twice.
CREATE TABLE payouts (
    id           INTEGER PRIMARY KEY,
    org_id       INTEGER NOT NULL REFERENCES organizations(id),
    person_id    INTEGER NOT NULL REFERENCES people(id),
    currency     TEXT NOT NULL,
    amount_minor INTEGER NOT NULL,
    reference    TEXT NOT NULL,
    created_by   INTEGER REFERENCES people(id),
    created_at   TEXT NOT NULL,
    UNIQUE (org_id, person_id, reference)
);

-- What a payout paid of each event (a negative line: a clawback netted).
CREATE TABLE payout_lines (
    payout_id    INTEGER NOT NULL REFERENCES payouts(id),
    person_id    INTEGER NOT NULL,
    event_id     INTEGER NOT NULL REFERENCES events(id),
    amount_minor INTEGER NOT NULL,
    PRIMARY KEY (payout_id, event_id)
) WITHOUT ROWID;
CREATE INDEX payout_lines_person ON payout_lines(person_id, event_id, amount_minor);
CREATE INDEX payout_lines_event ON payout_lines(event_id, person_id);
