-- HTTP: webhook deliveries seen (idempotency), status updates waiting for their
-- order, and daemon-wide settings (the visitor-hash key).

CREATE TABLE webhook_deliveries (
    source      TEXT NOT NULL,
    delivery_id TEXT NOT NULL,
    order_id    TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (source, delivery_id)
) WITHOUT ROWID;

-- A refund or cancellation that arrived before its order; applied when it arrives.
CREATE TABLE pending_order_status (
    source      TEXT NOT NULL,
    external_id TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('refunded', 'cancelled')),
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (source, external_id)
) WITHOUT ROWID;

-- A digest of an order's state (status, buyer, lines): the same updated_at with
-- another state is a conflict, not a silent no-op.
ALTER TABLE orders ADD COLUMN state_hash TEXT;

CREATE TABLE settings (
    key   TEXT PRIMARY KEY NOT NULL,
    value BLOB NOT NULL
) WITHOUT ROWID;
