//! HTML bodies of outgoing mail: a structured reply with real tables (digests, stats by
//! mail) and the simple rendering of a plain invite. Every piece of text is escaped:
//! names, ticket types and labels come from people and imports.

use crate::reply::{Block, Reply, Table};
use std::fmt::Write;

const BODY_STYLE: &str = "font-family:sans-serif;max-width:48em;color:#222";
const CELL_STYLE: &str = "padding:2px 10px;border-bottom:1px solid #ddd";

/// Text escaped for HTML element content and quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One line of text as HTML: escaped, `https://` links clickable, `code` in backticks.
fn inline(line: &str) -> String {
    let parts: Vec<&str> = line.split('`').collect();
    let mut out = String::new();
    for (i, part) in parts.iter().enumerate() {
        let closed = i + 1 < parts.len() || i % 2 == 0;
        match (i % 2 == 1, closed) {
            (true, true) => {
                let _ = write!(out, "<code>{}</code>", escape(part));
            }
            (true, false) => {
                out.push('`');
                out.push_str(&links(part));
            }
            _ => out.push_str(&links(part)),
        }
    }
    out
}

/// Escaped text with each `https://…` word a link.
fn links(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("https://") {
        out.push_str(&escape(&rest[..i]));
        let end = rest[i..].find(char::is_whitespace).map(|j| i + j).unwrap_or(rest.len());
        let url = escape(&rest[i..end]);
        let _ = write!(out, "<a href=\"{url}\">{url}</a>");
        rest = &rest[end..];
    }
    out.push_str(&escape(rest));
    out
}

/// Paragraphs (split at blank lines) with line breaks kept.
fn paragraphs(text: &str, out: &mut String, style: &str) {
    for para in text.split("\n\n").filter(|p| !p.trim().is_empty()) {
        let lines: Vec<String> = para.lines().map(inline).collect();
        let _ = write!(out, "<p{style}>{}</p>", lines.join("<br>"));
    }
}

fn align(numeric: bool) -> &'static str {
    if numeric { "right" } else { "left" }
}

/// A table with its header row in `<th>`, numeric columns right-aligned; each row has
/// exactly the header's number of cells, as in the plain rendering.
fn table(t: &Table, out: &mut String) {
    out.push_str("<table style=\"border-collapse:collapse;margin:0.5em 0 1em\">");
    if let Some(c) = &t.caption {
        let _ = write!(
            out,
            "<caption style=\"text-align:left;font-weight:bold;padding:4px 0\">{}</caption>",
            escape(c)
        );
    }
    let numeric = |i: usize| t.numeric.get(i).copied().unwrap_or(false);
    out.push_str("<thead><tr>");
    for (i, h) in t.headers.iter().enumerate() {
        let _ = write!(
            out,
            "<th scope=\"col\" style=\"text-align:{};{CELL_STYLE}\">{}</th>",
            align(numeric(i)),
            escape(h)
        );
    }
    out.push_str("</tr></thead><tbody>");
    for row in &t.rows {
        out.push_str("<tr>");
        for i in 0..t.headers.len() {
            let cell = row.get(i).map(String::as_str).unwrap_or("");
            let _ = write!(
                out,
                "<td style=\"text-align:{};{CELL_STYLE}\">{}</td>",
                align(numeric(i)),
                escape(cell)
            );
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
}

/// Whether a reply reads better with an HTML part: it has a table or a picture.
pub fn has_table(reply: &Reply) -> bool {
    reply.blocks.iter().any(|b| matches!(b, Block::Table(_))) || inline_image(reply).is_some()
}

/// The picture a mail shows inline (the first image attachment): the mail carries it
/// as a `multipart/related` part whose Content-ID is [`content_id`] of its file name.
pub fn inline_image(reply: &Reply) -> Option<&crate::reply::Attachment> {
    reply.attachments.first().filter(|a| a.mime.starts_with("image/"))
}

/// The Content-ID of an inline file: its name, kept to letters, digits, `.`, `-`, `_`,
/// with our domain so it is unique in the message.
pub fn content_id(filename: &str) -> String {
    let name: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .take(60)
        .collect();
    format!("{name}@promoterd")
}

/// The HTML alternative of a reply mail: title, paragraphs, label/value pairs and
/// tables, then `footer` (plain text) in small print.
pub fn reply_html(reply: &Reply, footer: &str) -> String {
    let mut out = String::from("<!doctype html><html><head><meta charset=\"utf-8\">");
    if let Some(t) = &reply.title {
        let _ = write!(out, "<title>{}</title>", escape(t));
    }
    let _ = write!(out, "</head><body style=\"{BODY_STYLE}\">");
    if let Some(t) = &reply.title {
        let _ = write!(out, "<h1 style=\"font-size:1.3em\">{}</h1>", escape(t));
    }
    if let Some(img) = inline_image(reply) {
        let _ = write!(
            out,
            "<p><img src=\"cid:{}\" alt=\"{}\" width=\"600\" style=\"max-width:100%;height:auto\"></p>",
            escape(&content_id(&img.filename)),
            escape(&img.caption)
        );
    }
    for b in &reply.blocks {
        match b {
            Block::Text(t) => paragraphs(t, &mut out, ""),
            Block::Link(l) => paragraphs(l, &mut out, ""),
            Block::Fields(fs) => {
                out.push_str("<table style=\"border-collapse:collapse;margin:0.5em 0 1em\"><tbody>");
                for (k, v) in fs {
                    let _ = write!(
                        out,
                        "<tr><th scope=\"row\" style=\"text-align:left;{CELL_STYLE}\">{}</th>\
                         <td style=\"{CELL_STYLE}\">{}</td></tr>",
                        escape(k),
                        inline(v)
                    );
                }
                out.push_str("</tbody></table>");
            }
            Block::Table(t) => table(t, &mut out),
        }
    }
    let footer = footer.trim().trim_start_matches("--").trim();
    paragraphs(footer, &mut out, " style=\"color:#666;font-size:0.9em\"");
    out.push_str("</body></html>");
    out
}

/// A simple HTML rendering of a plain-text mail (invites): paragraphs, links clickable.
pub fn text_html(text: &str) -> String {
    let mut out = format!("<!doctype html><html><body style=\"{BODY_STYLE}\">");
    for para in text.split("\n\n") {
        let lines: Vec<String> = para.lines().map(links).collect();
        let _ = write!(out, "<p>{}</p>", lines.join("<br>"));
    }
    out.push_str("</body></html>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hostile_reply() -> Reply {
        let mut t = Table::new(&["Promoter", "<b>VIP</b>", "Net revenue"], &[false, true, true]).caption("Promoters");
        t.row(vec!["<script>alert(1)</script>".into(), "3".into(), "€12.00".into()]);
        t.row(vec!["\"Ana\" & 'Co'".into(), "10".into()]);
        Reply::default()
            .titled("Acme <Events> — your organizer digest")
            .line("■ Summer <Fest>")
            .with(Block::Fields(vec![("Tickets".into(), "13".into())]))
            .with(Block::Table(t))
            .line("Reply `export <event>` to this mail.")
    }

    #[test]
    fn tables_have_header_cells_aligned_numbers_and_escaped_text() {
        let html = reply_html(&hostile_reply(), "-- \nReply `stop` to get no more of these mails.");
        assert!(html.contains("<caption"), "{html}");
        assert!(
            html.contains("<th scope=\"col\" style=\"text-align:left;"),
            "the name column is left-aligned: {html}"
        );
        assert_eq!(html.matches("<th scope=\"col\"").count(), 3, "{html}");
        assert!(html.contains(">&lt;b&gt;VIP&lt;/b&gt;</th>"), "{html}");
        assert!(html.contains(">&lt;script&gt;alert(1)&lt;/script&gt;</td>"), "{html}");
        assert!(html.contains("<td style=\"text-align:right;"), "{html}");
        assert!(html.contains(">&quot;Ana&quot; &amp; &#39;Co&#39;</td>"), "{html}");
        // A short row is padded to the header's width.
        let rows: Vec<&str> = html.split("<tr>").skip(2).collect();
        assert_eq!(rows.last().unwrap().matches("<td").count(), 3, "{html}");
        assert!(!html.contains("<script") && !html.contains("<b>") && !html.contains("<Events>"));
        assert!(html.contains("<code>export &lt;event&gt;</code>"), "{html}");
        assert!(html.contains("<code>stop</code>") && !html.contains("-- "), "{html}");
    }

    #[test]
    fn only_replies_with_tables_ask_for_html() {
        assert!(has_table(&hostile_reply()));
        assert!(!has_table(&Reply::text("no table")));
    }

    #[test]
    fn links_are_clickable_and_an_odd_backtick_stays() {
        assert_eq!(
            inline("open https://x.test/a?b=1&c=\"2\" now `x"),
            "open <a href=\"https://x.test/a?b=1&amp;c=&quot;2&quot;\">https://x.test/a?b=1&amp;c=&quot;2&quot;</a> now `x"
        );
        assert_eq!(
            text_html("Hi\n\nhttps://a.test"),
            format!(
                "<!doctype html><html><body style=\"{BODY_STYLE}\"><p>Hi</p><p><a href=\"https://a.test\">https://a.test</a></p></body></html>"
            )
        );
    }
}
