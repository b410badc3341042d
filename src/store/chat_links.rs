//! How far a chat account acts for its person: in full (linked by `connect` + `verify`)
//! or only for the memberships it redeemed with an invite code.

use super::people::{ChatAccount, PersonRow};
use super::sql::{query, query_as, query_scalar, ts};
use super::{Store, StoreError, StoreResult, WriteTx};
use crate::domain::{MembershipId, PersonId, Platform};

/// How a chat account was linked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkScope {
    /// By `connect` + `verify`: the account acts as the person.
    Full,
    /// By redeeming an invite code: only the memberships granted to it.
    Invite,
}

impl LinkScope {
    fn as_str(self) -> &'static str {
        match self {
            LinkScope::Full => "full",
            LinkScope::Invite => "invite",
        }
    }

    fn parse(s: &str) -> StoreResult<Self> {
        match s {
            "full" => Ok(LinkScope::Full),
            "invite" => Ok(LinkScope::Invite),
            other => Err(StoreError::Corrupt(format!("chat account scope `{other}`"))),
        }
    }
}

/// The person behind a chat account, and what the account holds of theirs.
#[derive(Debug, Clone)]
pub struct ChatLink {
    pub person: PersonRow,
    /// `None`: everything the person holds; `Some`: only these memberships.
    pub grants: Option<Vec<MembershipId>>,
}

/// A linked chat account of a person, as deliveries see it.
#[derive(Debug, Clone)]
pub struct LinkedAccount {
    pub platform: Platform,
    pub external_id: String,
    pub username: Option<String>,
    pub scope: LinkScope,
    pub grants: Vec<MembershipId>,
}

impl LinkedAccount {
    /// Whether a message about these memberships (`None`: about organizing) may go to
    /// this account.
    pub fn may_receive(&self, about: Option<&[MembershipId]>) -> bool {
        match (self.scope, about) {
            (LinkScope::Full, _) => true,
            (LinkScope::Invite, None) => false,
            (LinkScope::Invite, Some(ids)) => !ids.is_empty() && ids.iter().all(|id| self.grants.contains(id)),
        }
    }
}

impl Store {
    /// The person a chat account is linked to, with the account's scope.
    pub async fn chat_link(&self, platform: Platform, external_id: &str) -> StoreResult<Option<ChatLink>> {
        let scope: Option<(PersonId, String)> =
            query_as("SELECT person_id, scope FROM chat_accounts WHERE platform = ? AND external_id = ?")
                .bind(platform)
                .bind(external_id)
                .fetch_optional(self.pool())
                .await?;
        let Some((person_id, scope)) = scope else {
            return Ok(None);
        };
        let person = self
            .person(person_id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("chat account of missing person {person_id}")))?;
        let grants = match LinkScope::parse(&scope)? {
            LinkScope::Full => None,
            LinkScope::Invite => Some(self.chat_grants(platform, external_id).await?),
        };
        Ok(Some(ChatLink { person, grants }))
    }

    async fn chat_grants(&self, platform: Platform, external_id: &str) -> StoreResult<Vec<MembershipId>> {
        query_scalar(
            "SELECT membership_id FROM chat_account_grants WHERE platform = ? AND external_id = ? ORDER BY membership_id",
        )
        .bind(platform)
        .bind(external_id)
        .fetch_all(self.pool())
        .await
    }

    /// Every chat account linked to a person, with its scope and grants.
    pub async fn linked_accounts(&self, person_id: PersonId) -> StoreResult<Vec<LinkedAccount>> {
        let rows: Vec<(Platform, String, Option<String>, String)> = query_as(
            "SELECT platform, external_id, username, scope FROM chat_accounts WHERE person_id = ? ORDER BY platform",
        )
        .bind(person_id)
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for (platform, external_id, username, scope) in rows {
            let scope = LinkScope::parse(&scope)?;
            let grants = match scope {
                LinkScope::Full => Vec::new(),
                LinkScope::Invite => self.chat_grants(platform, &external_id).await?,
            };
            out.push(LinkedAccount {
                platform,
                external_id,
                username,
                scope,
                grants,
            });
        }
        Ok(out)
    }

    /// Links a chat account to a person. Linking in full drops any invite grants; linking
    /// by invite never narrows an account that is already linked in full to that person.
    pub async fn link_chat_account(
        &self,
        tx: &mut WriteTx,
        account: &ChatAccount,
        person_id: PersonId,
        scope: LinkScope,
        now: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<()> {
        if scope == LinkScope::Full {
            query("DELETE FROM chat_account_grants WHERE platform = ? AND external_id = ?")
                .bind(account.platform)
                .bind(&account.external_id)
                .execute(&mut **tx)
                .await?;
        }
        query(
            "INSERT INTO chat_accounts (platform, external_id, person_id, username, linked_at, scope) \
             VALUES (?, ?, ?, ?, ?, ?) \
             ON CONFLICT (platform, external_id) DO UPDATE SET person_id = excluded.person_id, \
             username = excluded.username, linked_at = excluded.linked_at, \
             scope = CASE WHEN chat_accounts.person_id = excluded.person_id AND chat_accounts.scope = 'full' \
             THEN 'full' ELSE excluded.scope END",
        )
        .bind(account.platform)
        .bind(&account.external_id)
        .bind(person_id)
        .bind(&account.username)
        .bind(ts(now))
        .bind(scope.as_str())
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Grants an invite-linked chat account one more membership.
    pub async fn grant_chat_membership(
        &self,
        tx: &mut WriteTx,
        account: &ChatAccount,
        membership_id: MembershipId,
    ) -> StoreResult<()> {
        query(
            "INSERT INTO chat_account_grants (platform, external_id, membership_id) VALUES (?, ?, ?) \
             ON CONFLICT DO NOTHING",
        )
        .bind(account.platform)
        .bind(&account.external_id)
        .bind(membership_id)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}
