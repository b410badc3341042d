-- Email: outbound headers and attachments, reply tokens, the IMAP cursor, processed
-- messages, and addresses we must not mail.

ALTER TABLE outbox ADD COLUMN message_id TEXT;
ALTER TABLE outbox ADD COLUMN reply_to TEXT;
ALTER TABLE outbox ADD COLUMN in_reply_to TEXT;
ALTER TABLE outbox ADD COLUMN attachment_name TEXT;
ALTER TABLE outbox ADD COLUMN attachment_mime TEXT;
ALTER TABLE outbox ADD COLUMN attachment BLOB;
CREATE UNIQUE INDEX outbox_message_id ON outbox(message_id);

-- Per-recipient reply tokens (the `+token` of the Reply-To address), stored hashed.
CREATE TABLE reply_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    email      TEXT NOT NULL,
    purpose    TEXT NOT NULL,
    invite_id  INTEGER REFERENCES invites(id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT
);
ALTER TABLE outbox ADD COLUMN token_hash TEXT;
CREATE INDEX outbox_token ON outbox(token_hash);

-- The IMAP cursor per mailbox.
CREATE TABLE imap_state (
    mailbox      TEXT PRIMARY KEY NOT NULL,
    uid_validity INTEGER NOT NULL,
    last_uid     INTEGER NOT NULL
);

-- Every inbound message processed, keyed by Message-ID (or a hash of the raw mail).
CREATE TABLE mail_processed (
    message_key  TEXT PRIMARY KEY NOT NULL,
    mailbox      TEXT NOT NULL,
    uid_validity INTEGER NOT NULL,
    uid          INTEGER NOT NULL,
    kind         TEXT NOT NULL,
    sender       TEXT,
    outcome      TEXT NOT NULL,
    processed_at TEXT NOT NULL
);

-- Addresses that bounced hard or complained: never mailed again.
CREATE TABLE mail_suppressed (
    email  TEXT PRIMARY KEY NOT NULL,
    reason TEXT NOT NULL,
    at     TEXT NOT NULL
);

-- People who sent `stop`: no digests or notifications by mail.
ALTER TABLE people ADD COLUMN mail_opt_out INTEGER NOT NULL DEFAULT 0;
