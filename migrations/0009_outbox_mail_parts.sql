-- Outgoing mail parts beyond the plain text: the display name of the sender (an
-- organization's name; NULL keeps the configured one), an HTML alternative (digests
-- and replies with tables), and the References chain of a reply (space-separated
-- `<id>` tokens, already bounded; NULL: only the parent in In-Reply-To).

ALTER TABLE outbox ADD COLUMN from_name TEXT;
ALTER TABLE outbox ADD COLUMN body_html TEXT;
ALTER TABLE outbox ADD COLUMN references_chain TEXT;
