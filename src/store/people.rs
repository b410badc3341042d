//! People (identified by email), their chat accounts, and account-link codes.

use super::sql::{query, query_as, query_scalar, ts};
use super::{Store, StoreResult, WriteTx};
use crate::domain::{PersonId, Platform};
use chrono::{DateTime, Utc};

/// A person, identified by their email address.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PersonRow {
    pub id: PersonId,
    pub email: String,
    pub display_name: Option<String>,
    pub verified_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl PersonRow {
    /// The name shown to others: the display name, else the part of the email before `@`.
    pub fn shown_name(&self) -> String {
        match &self.display_name {
            Some(n) if !n.trim().is_empty() => n.clone(),
            _ => self.email.split('@').next().unwrap_or(&self.email).to_string(),
        }
    }
}

/// A Discord or Telegram account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatAccount {
    pub platform: Platform,
    pub external_id: String,
    pub username: Option<String>,
}

/// What happened to a `verify` attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectOutcome {
    /// The account is now linked to this email.
    Linked(String),
    /// No pending request for this account.
    NoPending,
    /// Wrong code; attempts left on the pending request.
    Wrong(i64),
    /// Too many wrong attempts or expired: the request is void.
    Void,
}

const PERSON_COLS: &str = "id, email, display_name, verified_at, created_at";
/// Wrong `verify` attempts allowed per request.
pub const MAX_VERIFY_ATTEMPTS: i64 = 5;

impl Store {
    /// The person with this (normalized) email.
    pub async fn person_by_email(&self, email: &str) -> StoreResult<Option<PersonRow>> {
        query_as(format!("SELECT {PERSON_COLS} FROM people WHERE email = ?"))
            .bind(email)
            .fetch_optional(self.pool())
            .await
    }

    /// The person with this address, read inside a write transaction (sees its writes).
    pub async fn person_by_email_in(&self, tx: &mut WriteTx, email: &str) -> StoreResult<Option<PersonRow>> {
        query_as(format!("SELECT {PERSON_COLS} FROM people WHERE email = ?"))
            .bind(email)
            .fetch_optional(&mut **tx)
            .await
    }

    /// The person with this id.
    pub async fn person(&self, id: PersonId) -> StoreResult<Option<PersonRow>> {
        query_as(format!("SELECT {PERSON_COLS} FROM people WHERE id = ?"))
            .bind(id)
            .fetch_optional(self.pool())
            .await
    }

    /// Chat accounts linked to a person.
    pub async fn chat_accounts_of(&self, person_id: PersonId) -> StoreResult<Vec<(Platform, String, Option<String>)>> {
        query_as("SELECT platform, external_id, username FROM chat_accounts WHERE person_id = ? ORDER BY platform")
            .bind(person_id)
            .fetch_all(self.pool())
            .await
    }

    /// Finds or creates the person with this email; `verified` marks the address proven.
    pub async fn upsert_person(
        &self,
        tx: &mut WriteTx,
        email: &str,
        verified: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<PersonId> {
        let now = ts(now);
        let id: PersonId = query_scalar(
            "INSERT INTO people (email, verified_at, created_at) VALUES (?, ?, ?) \
             ON CONFLICT (email) DO UPDATE SET verified_at = coalesce(people.verified_at, excluded.verified_at) \
             RETURNING id",
        )
        .bind(email)
        .bind(verified.then_some(now))
        .bind(now)
        .fetch_one(&mut **tx)
        .await?;
        Ok(id)
    }

    /// Sets a person's display name.
    pub async fn set_display_name(&self, tx: &mut WriteTx, person_id: PersonId, name: &str) -> StoreResult<()> {
        query("UPDATE people SET display_name = ? WHERE id = ?")
            .bind(name)
            .bind(person_id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Sets a person's display name unless they already have one.
    pub async fn set_display_name_if_missing(
        &self,
        tx: &mut WriteTx,
        person_id: PersonId,
        name: &str,
    ) -> StoreResult<()> {
        query("UPDATE people SET display_name = ? WHERE id = ? AND display_name IS NULL")
            .bind(name)
            .bind(person_id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Records a `connect <email>` request, voiding earlier ones of the account.
    pub async fn create_connect_code(
        &self,
        tx: &mut WriteTx,
        account: &ChatAccount,
        email: &str,
        code_hash: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        query("UPDATE connect_codes SET used_at = ? WHERE platform = ? AND external_id = ? AND used_at IS NULL")
            .bind(ts(now))
            .bind(account.platform)
            .bind(&account.external_id)
            .execute(&mut **tx)
            .await?;
        query(
            "INSERT INTO connect_codes (platform, external_id, email, code_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(account.platform)
        .bind(&account.external_id)
        .bind(email)
        .bind(code_hash)
        .bind(ts(now))
        .bind(ts(expires_at))
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// `connect` requests since `since`: (by this account, for this address).
    pub async fn recent_connect_requests(
        &self,
        account: &ChatAccount,
        email: &str,
        since: DateTime<Utc>,
    ) -> StoreResult<(i64, i64)> {
        query_as(
            "SELECT coalesce(sum(CASE WHEN platform = ?1 AND external_id = ?2 THEN 1 ELSE 0 END), 0), \
                    coalesce(sum(CASE WHEN email = ?3 THEN 1 ELSE 0 END), 0) \
             FROM connect_codes WHERE created_at >= ?4 AND ((platform = ?1 AND external_id = ?2) OR email = ?3)",
        )
        .bind(account.platform)
        .bind(&account.external_id)
        .bind(email)
        .bind(ts(since))
        .fetch_one(self.pool())
        .await
    }

    /// Checks a `verify` code against the account's pending request and, when right,
    /// links the account to the (verified) person of that email.
    pub async fn verify_connect_code(
        &self,
        tx: &mut WriteTx,
        account: &ChatAccount,
        code_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<ConnectOutcome> {
        let pending: Option<(i64, String, String, i64, DateTime<Utc>)> = query_as(
            "SELECT id, email, code_hash, attempts, expires_at FROM connect_codes \
             WHERE platform = ? AND external_id = ? AND used_at IS NULL ORDER BY id DESC LIMIT 1",
        )
        .bind(account.platform)
        .bind(&account.external_id)
        .fetch_optional(&mut **tx)
        .await?;
        let Some((id, email, stored, attempts, expires_at)) = pending else {
            return Ok(ConnectOutcome::NoPending);
        };
        if expires_at <= ts(now).0 || attempts >= MAX_VERIFY_ATTEMPTS {
            return Ok(ConnectOutcome::Void);
        }
        if !crate::codes::hashes_equal(&stored, code_hash) {
            query("UPDATE connect_codes SET attempts = attempts + 1 WHERE id = ?")
                .bind(id)
                .execute(&mut **tx)
                .await?;
            return Ok(ConnectOutcome::Wrong(MAX_VERIFY_ATTEMPTS - attempts - 1));
        }
        query("UPDATE connect_codes SET used_at = ? WHERE id = ?")
            .bind(ts(now))
            .bind(id)
            .execute(&mut **tx)
            .await?;
        let person_id = self.upsert_person(tx, &email, true, now).await?;
        self.link_chat_account(tx, account, person_id, super::LinkScope::Full, now)
            .await?;
        Ok(ConnectOutcome::Linked(email))
    }
}
