//! `export`: the referred buyers of an organization or event as a CSV attachment.

use super::Core;
use super::args::{Args, EventRef};
use super::command::{Command, declare};
use super::events::scope_name;
use super::grants::Organizer;
use super::spec::{ArgKind, CommandSpec, ORG_FLAG, opt};
use crate::error::{CommandError, UserError};
use crate::refuse;
use crate::reply::{Attachment, Reply};
use crate::store::ExportFilter;

type Res = Result<Reply, CommandError>;

/// `export [event] [--org]`.
#[derive(Debug)]
pub struct Export;

impl Command for Export {
    type Grant = Organizer;
    const SPEC: CommandSpec = declare!(
        Export,
        "export",
        [
            opt(
                "event",
                ArgKind::Event,
                "one event; left out: every event of the organization, on every channel"
            ),
            ORG_FLAG,
        ],
        "CSV of referred ticket buyers: one event, or every event of the organization",
        "export summer-fest",
        private = true,
        new_mail_thread = true,
        deferred = true
    );

    fn parse(args: Args<'_>) -> Result<Self, UserError> {
        let _: Option<EventRef> = args.opt("event")?;
        Ok(Export)
    }

    async fn run(self, core: &Core, ctx: Organizer) -> Res {
        let Organizer { org, event, person, .. } = ctx;
        let filter = ExportFilter {
            org_id: org.id,
            event_id: event.as_ref().map(|e| e.id),
        };
        let cap = core.settings.max_attachment_bytes;
        let (data, rows) = match crate::export::attachment(&core.store, &filter, &org.time_zone, cap).await {
            Err(crate::export::ExportError::TooLarge(cap)) => {
                return refuse!(
                    "This export is larger than {} MB, more than an attachment can carry. Export one event at a time \
                 (`export <event>`), or ask your operator for `promoterd export` on the server.",
                    cap.div_ceil(1 << 20)
                );
            }
            other => other?,
        };
        let now = core.clock.now();
        let name = event.as_ref().map(|e| e.slug.as_str()).unwrap_or(org.slug.as_str());
        let filename = format!("referred-buyers-{name}-{}.csv", now.format("%Y-%m-%d"));
        let mut tx = core.store.write().await?;
        core.store
            .audit(
                &mut tx,
                Some(org.id),
                Some(person.id),
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
