-- Buyer data retention, continued (issue 21): the grace period of organizations that
-- existed before retention, and the partial index of outbox messages still holding
-- content. (Versions of 0012 released with these lines: see `Store::migrate`.)

-- Retention erases nothing before this time. Organizations that exist when this
-- migration runs get 30 days to choose (`retention`) before anything kept until now is
-- erased; new ones (NULL) and a retention set explicitly start at once.
ALTER TABLE organizations ADD COLUMN buyer_retention_from TEXT;
UPDATE organizations SET buyer_retention_from = strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '+30 days');

-- Messages whose content is still kept: pending ones, and any sent or given up on
-- before this migration (the hourly chores drop theirs).
CREATE INDEX outbox_unscrubbed ON outbox(id) WHERE scrubbed_at IS NULL;
