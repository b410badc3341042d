-- A sender claims the outbox rows it is about to send until `claimed_until`: another
-- sender (another daemon on PostgreSQL) skips them until then. A claim outlives its
-- sender only when the sender dies; it then lapses and the row is sent by whoever
-- claims it next. Sent and failed rows carry no claim.
ALTER TABLE outbox ADD COLUMN claimed_until TEXT;
