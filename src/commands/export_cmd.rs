//! `export`: the referred buyers of an organization or event as a CSV attachment.

use super::events::scope_name;
use super::{Actor, Core, Scope, organizer_scope};
use crate::error::CommandError;
use crate::refuse;
use crate::reply::{Attachment, Reply};
use crate::store::ExportFilter;

type Res = Result<Reply, CommandError>;

impl Core {
    pub(super) async fn export(&self, actor: &Actor, scope: Scope) -> Res {
        let (org, _, event) = organizer_scope(scope);
        let filter = ExportFilter {
            org_id: org.id,
            event_id: event.as_ref().map(|e| e.id),
        };
        let cap = self.settings.max_attachment_bytes;
        let (data, rows) = match crate::export::attachment(&self.store, &filter, &org.time_zone, cap).await {
            Err(crate::export::ExportError::TooLarge(cap)) => refuse!(
                "This export is larger than {} MB, more than an attachment can carry. Export one event at a time \
                 (`export <event>`), or ask your operator for `promoterd export` on the server.",
                cap.div_ceil(1 << 20)
            ),
            other => other?,
        };
        let now = self.clock.now();
        let name = event.as_ref().map(|e| e.slug.as_str()).unwrap_or(org.slug.as_str());
        let filename = format!("referred-buyers-{name}-{}.csv", now.format("%Y-%m-%d"));
        let mut tx = self.store.write().await?;
        self.store
            .audit(
                &mut tx,
                Some(org.id),
                actor.person.as_ref().map(|p| p.id),
                "export",
                &format!("{name} {rows} rows"),
                now,
            )
            .await?;
        tx.commit().await?;
        let caption = format!(
            "{rows} ticket line(s) bought through promoter links — {}",
            scope_name(&org, event.as_ref())
        );
        Ok(Reply::text(caption.clone())
            .titled("Referred buyers")
            .private()
            .with_attachment(Attachment {
                filename,
                mime: "text/csv".into(),
                data,
                caption,
            }))
    }
}
