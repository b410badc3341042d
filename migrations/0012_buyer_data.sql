-- Buyer data hygiene: how long an organization keeps its buyers' personal data, which
-- orders had it erased (by retention or on request), promoters who left on their own,
-- and outbox messages whose bodies, attachments and reply addresses were dropped.

-- Days after an event's start that its buyers' name, email and phone are kept;
-- NULL: kept until erased on request (never by time).
ALTER TABLE organizations ADD COLUMN buyer_retention_days INTEGER DEFAULT 90
    CHECK (buyer_retention_days IS NULL OR buyer_retention_days BETWEEN 1 AND 3650);

-- When the buyer's personal data of an order was erased; a later delivery of the same
-- order does not bring it back.
ALTER TABLE orders ADD COLUMN buyer_erased_at TEXT;

-- A membership the promoter ended (`leave`); its status is `revoked`.
ALTER TABLE memberships ADD COLUMN left_at TEXT;

-- When a message's body, HTML, payload, attachment and Reply-To address were dropped.
ALTER TABLE outbox ADD COLUMN scrubbed_at TEXT;
