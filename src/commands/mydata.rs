//! `mydata`: a person's copy of everything promoterd holds about them, as a JSON file
//! sent privately (their right of access).

use super::Core;
use super::args::Args;
use super::command::{Command, declare};
use super::grants::Person;
use super::spec::CommandSpec;
use crate::error::{CommandError, UserError};
use crate::reply::{Attachment, Reply};

type Res = Result<Reply, CommandError>;

/// `mydata`.
#[derive(Debug)]
pub struct MyData;

impl Command for MyData {
    type Grant = Person;
    const SPEC: CommandSpec = declare!(
        MyData,
        "mydata",
        [],
        "A file (JSON) of everything promoterd holds about you",
        "mydata",
        private = true,
        new_mail_thread = true,
        deferred = true
    );

    fn parse(_: Args<'_>) -> Result<Self, UserError> {
        Ok(MyData)
    }

    async fn run(self, core: &Core, ctx: Person) -> Res {
        let Person { person, .. } = ctx;
        let now = core.clock.now();
        let sections = core
            .store
            .person_records(person.id, &person.email.to_lowercase())
            .await?;
        let mut doc = serde_json::Map::new();
        doc.insert("generated_at".into(), now.to_rfc3339().into());
        doc.insert(
            "about".into(),
            "Everything promoterd stores about you. Sales through your links are counted in `links`; \
             the buyers behind them are other people's data and are not included."
                .into(),
        );
        let (mut rows, sections_n) = (0, sections.len());
        for (name, values) in sections {
            rows += values.len();
            doc.insert(name.into(), serde_json::Value::Array(values));
        }
        let data = serde_json::to_vec_pretty(&serde_json::Value::Object(doc))
            .map_err(|e| CommandError::Invariant(format!("mydata: {e}")))?;
        let caption = format!("Your data: {rows} record(s) in {sections_n} sections");
        Ok(Reply::text(caption.clone())
            .titled("Your data")
            .private()
            .with_attachment(Attachment {
                filename: format!("promoterd-mydata-{}.json", now.format("%Y-%m-%d")),
                mime: "application/json".into(),
                data,
                caption,
            }))
    }
}
