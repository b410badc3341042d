//! Creating an organization and its owner: the operator's `promoterd org create`, decided
//! and written here so the command line only reads its flags.

use super::Core;
use crate::error::CommandError;
use crate::refuse;
use crate::store::OrgRow;

/// An organization as the operator asks for it, before checking.
#[derive(Debug, Clone)]
pub struct NewOrg<'a> {
    pub name: &'a str,
    pub owner_email: &'a str,
    pub slug: &'a str,
    pub time_zone: &'a str,
    pub currency: &'a str,
}

impl Core {
    /// Creates the organization with `owner_email` as its owner (a verified address: the
    /// operator vouches for it), audited. Refused, with nothing written, when a value is
    /// malformed or the short name is taken.
    pub async fn create_org(&self, new: &NewOrg<'_>) -> Result<OrgRow, CommandError> {
        let Some(owner) = super::parse_email(new.owner_email) else {
            return refuse!("`{}` is not an email address", new.owner_email);
        };
        if !super::is_slug(new.slug) {
            return refuse!("`{}` is not a short name: use 2 to 40 of a-z, 0-9 and -", new.slug);
        }
        if new.time_zone.parse::<chrono_tz::Tz>().is_err() {
            return refuse!("`{}` is not an IANA time zone such as Europe/Berlin", new.time_zone);
        }
        let currency = new.currency.to_ascii_uppercase();
        if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_uppercase()) {
            return refuse!("`{}` is not a currency code such as EUR", new.currency);
        }
        let name = new.name.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return refuse!("an organization's name is 1 to 100 characters on one line");
        }
        if self.store.org_by_slug(new.slug).await?.is_some() {
            return refuse!("an organization `{}` exists already", new.slug);
        }
        let now = self.clock.now();
        let mut tx = self.store.write().await?;
        let owner_id = self.store.upsert_person(&mut tx, &owner, true, now).await?;
        let org_id = self
            .store
            .create_org(&mut tx, new.slug, name, new.time_zone, &currency, owner_id, now)
            .await?;
        self.store
            .audit(&mut tx, Some(org_id), Some(owner_id), "org.created", new.slug, now)
            .await?;
        tx.commit().await?;
        self.store
            .org(org_id)
            .await?
            .ok_or_else(|| CommandError::Invariant(format!("organization {org_id} vanished after creation")))
    }
}
