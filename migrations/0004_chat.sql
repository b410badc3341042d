-- Chat front-ends: updates already applied (Telegram update_id, Discord interaction
-- id), and accounts we can no longer reach (bot blocked, DMs closed).

CREATE TABLE chat_updates (
    platform    TEXT NOT NULL,
    update_id   TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (platform, update_id)
) WITHOUT ROWID;

ALTER TABLE chat_accounts ADD COLUMN unreachable_at TEXT;
ALTER TABLE chat_accounts ADD COLUMN unreachable_reason TEXT;
