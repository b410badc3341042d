-- A chat account linked by redeeming an invite code (scope 'invite') holds only the
-- memberships it redeemed (chat_account_grants), never what reaches the person's address
-- later (an admin role, another membership). `connect` + `verify` links in full.

ALTER TABLE chat_accounts ADD COLUMN scope TEXT NOT NULL DEFAULT 'full' CHECK (scope IN ('full', 'invite'));

CREATE TABLE chat_account_grants (
    platform      TEXT NOT NULL,
    external_id   TEXT NOT NULL,
    membership_id INTEGER NOT NULL REFERENCES memberships(id),
    PRIMARY KEY (platform, external_id, membership_id)
) WITHOUT ROWID;

-- Accounts linked before this migration without a used `verify` code for that person's
-- address were linked by an invite: they keep the memberships they have now, and lose
-- any organizer role that reached the address.
UPDATE chat_accounts SET scope = 'invite'
WHERE NOT EXISTS (
    SELECT 1 FROM connect_codes c JOIN people p ON p.email = c.email
    WHERE c.platform = chat_accounts.platform AND c.external_id = chat_accounts.external_id
      AND c.used_at IS NOT NULL AND p.id = chat_accounts.person_id
);

INSERT INTO chat_account_grants (platform, external_id, membership_id)
SELECT c.platform, c.external_id, m.id FROM chat_accounts c JOIN memberships m ON m.person_id = c.person_id
WHERE c.scope = 'invite' AND m.status IN ('invited', 'active');
