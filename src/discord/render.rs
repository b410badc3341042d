//! A structured reply as Discord embeds: fields for label/value pairs and short tables
//! (one per ticket type), code blocks for wide tables, files for attachments.

use crate::reply::{Block, Reply};
use serenity::all::{
    CreateAllowedMentions, CreateAttachment, CreateEmbed, CreateInteractionResponseFollowup,
    CreateInteractionResponseMessage,
};

const DESCRIPTION_LIMIT: usize = 4000;
const FIELD_LIMIT: usize = 25;

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(max - 1).collect::<String>())
    }
}

/// Escapes Discord markdown in dynamic text.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(
            c,
            '*' | '_' | '`' | '~' | '|' | '>' | '#' | '[' | ']' | '(' | ')' | '\\' | '@'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Escapes Discord markdown in a line of our text, keeping its `code` spans as code: a
/// backtick with a partner later in the text opens a span shown as is; a lone one is
/// escaped. Linear: each span is passed over once.
pub fn escape_keeping_code(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let mut rest = s;
    while let Some(tick) = rest.find('`') {
        out.push_str(&escape(&rest[..tick]));
        let after = &rest[tick + 1..];
        match after.find('`') {
            Some(end) if end > 0 && !after[..end].contains('\n') => {
                out.push('`');
                out.push_str(&after[..end]);
                out.push('`');
                rest = &after[end + 1..];
            }
            _ => {
                out.push_str("\\`");
                rest = after;
            }
        }
    }
    out.push_str(&escape(rest));
    out
}

/// The embed for a reply.
pub fn embed(reply: &Reply) -> CreateEmbed {
    let mut e = CreateEmbed::new().colour(if reply.is_error { 0xd9534f } else { 0x5865f2 });
    if let Some(t) = &reply.title {
        e = e.title(clip(t, 256));
    }
    let mut description = String::new();
    let mut fields = 0usize;
    for b in &reply.blocks {
        match b {
            Block::Text(t) => description.push_str(&format!("{}\n\n", escape_keeping_code(t))),
            Block::Link(l) => description.push_str(&format!("{l}\n\n")),
            Block::Fields(fs) => {
                for (k, v) in fs.iter().take(FIELD_LIMIT - fields) {
                    e = e.field(clip(&escape(k), 256), clip(&escape(v), 1024), true);
                    fields += 1;
                }
            }
            Block::Table(t) if t.headers.len() <= 3 && t.rows.len() <= 10 && fields + t.rows.len() <= FIELD_LIMIT => {
                // Short tables (per ticket type, per link) read best as fields.
                for row in &t.rows {
                    // Names are people's own words: escaped, so no markdown link goes live.
                    let name = escape(row.first().map(String::as_str).unwrap_or_default());
                    let value: Vec<String> = row
                        .iter()
                        .zip(&t.headers)
                        .skip(1)
                        .map(|(v, h)| format!("{h}: {}", escape(v)))
                        .collect();
                    let value = if value.is_empty() {
                        "–".to_string()
                    } else {
                        value.join("\n")
                    };
                    e = e.field(clip(&name, 256), clip(&value, 1024), true);
                    fields += 1;
                }
            }
            Block::Table(t) => {
                if let Some(c) = &t.caption {
                    description.push_str(&format!("**{}**\n", escape(c)));
                }
                let mut plain = t.clone();
                plain.caption = None;
                description.push_str(&format!("```\n{}```\n", plain.to_plain().replace("```", "'''")));
            }
        }
    }
    let description = description.trim_end();
    if description.chars().count() > DESCRIPTION_LIMIT {
        let cut: String = description.chars().take(DESCRIPTION_LIMIT - 80).collect();
        let fence = if cut.matches("```").count() % 2 == 1 {
            "\n```"
        } else {
            ""
        };
        e = e.description(format!("{cut}{fence}\n… cut to fit Discord; `export` has every row."));
    } else if !description.is_empty() {
        e = e.description(description);
    }
    if let Some(img) = reply.attachments.iter().find(|a| a.mime.starts_with("image/")) {
        e = e.image(format!("attachment://{}", img.filename));
    }
    e
}

fn files(reply: &Reply) -> Vec<CreateAttachment> {
    reply
        .attachments
        .iter()
        .map(|a| CreateAttachment::bytes(a.data.clone(), a.filename.clone()))
        .collect()
}

/// No message of ours may ping anyone, whatever a name in it says.
pub fn no_mentions() -> CreateAllowedMentions {
    CreateAllowedMentions::new()
}

/// An immediate interaction response message.
pub fn message(reply: &Reply, ephemeral: bool) -> CreateInteractionResponseMessage {
    CreateInteractionResponseMessage::new()
        .allowed_mentions(no_mentions())
        .embed(embed(reply))
        .ephemeral(ephemeral)
        .add_files(files(reply))
}

/// A follow-up message (after a deferred response).
pub fn followup(reply: &Reply, ephemeral: bool) -> CreateInteractionResponseFollowup {
    CreateInteractionResponseFollowup::new()
        .allowed_mentions(no_mentions())
        .embed(embed(reply))
        .ephemeral(ephemeral)
        .add_files(files(reply))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::Table;

    #[test]
    fn short_tables_become_fields_and_markdown_is_escaped() {
        let mut t = Table::new(&["Ticket type", "Tickets", "Net revenue"], &[false, true, true]);
        t.row(vec!["VIP".into(), "2".into(), "259.00 EUR".into()]);
        let r = Reply::text("Hi *bold* @everyone")
            .titled("Your sales")
            .with(Block::Table(t));
        let json = serde_json::to_value(embed(&r)).unwrap();
        assert_eq!(json["fields"][0]["name"], "VIP");
        assert_eq!(json["fields"][0]["value"], "Tickets: 2\nNet revenue: 259.00 EUR");
        assert_eq!(json["description"], "Hi \\*bold\\* \\@everyone");
    }

    /// Issue 15.10: our `code` spans stay code; everything else is escaped.
    #[test]
    fn code_spans_stay_code_and_the_rest_is_escaped() {
        assert_eq!(
            escape_keeping_code("Send `help` or `mylink <event>` to [x](y)"),
            "Send `help` or `mylink <event>` to \\[x\\]\\(y\\)"
        );
        assert_eq!(escape_keeping_code("a lone ` tick"), "a lone \\` tick");
        assert_eq!(escape_keeping_code("``"), "\\`\\`");
        let json = serde_json::to_value(embed(&Reply::text("Send `help`."))).unwrap();
        assert_eq!(json["description"], "Send `help`.");
    }

    /// Issue 14.12: a promoter named like a link and a mass mention, in a public leaderboard.
    #[test]
    fn names_in_fields_are_escaped_and_nothing_pings() {
        let hostile = "[Claim VIP](https://evil.example) @everyone";
        let mut t = Table::new(&["Rank", "Promoter"], &[true, false]);
        t.row(vec!["#1".into(), hostile.into()]);
        let r = Reply::default()
            .titled("Leaderboard")
            .with(Block::Table(t))
            .with(Block::Fields(vec![("Name".into(), hostile.into())]));
        let escaped = "\\[Claim VIP\\]\\(https://evil.example\\) \\@everyone";
        let json = serde_json::to_value(embed(&r)).unwrap();
        assert_eq!(json["fields"][0]["value"], format!("Promoter: {escaped}"));
        assert_eq!(json["fields"][1]["value"], escaped);
        for msg in [
            serde_json::to_value(message(&r, false)).unwrap(),
            serde_json::to_value(followup(&r, false)).unwrap(),
        ] {
            assert_eq!(msg["allowed_mentions"]["parse"], serde_json::json!([]), "{msg}");
        }
    }
}
