-- A sender claims the outbox rows it is about to send until `claimed_until`
-- (`FOR UPDATE SKIP LOCKED`, so two daemons' claims never meet): another sender skips
-- them until then. A claim outlives its sender only when the sender dies; it then
-- lapses and the row is sent by whoever claims it next. SQLite's 0018 is the same.
ALTER TABLE outbox ADD COLUMN claimed_until TIMESTAMPTZ;
