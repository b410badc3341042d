//! A structured reply as Telegram HTML: every dynamic string escaped, tables in
//! `<pre>`, split under Telegram's 4096-character limit on line boundaries.

use crate::reply::{Block, Reply};

/// Telegram's limit for one message's text.
pub const LIMIT: usize = 4096;
/// What we aim for, leaving room for tags closed and reopened at a split.
const TARGET: usize = 3900;

/// Escapes text for Telegram's HTML parse mode.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// Pieces that must not be split inside: (text, is preformatted).
fn pieces(reply: &Reply) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    if let Some(t) = &reply.title {
        out.push((format!("<b>{}</b>", escape(t)), false));
    }
    for b in &reply.blocks {
        match b {
            Block::Text(t) => out.push((escape(t), false)),
            Block::Link(l) => out.push((escape(l), false)),
            Block::Fields(fs) => {
                let lines: Vec<String> = fs
                    .iter()
                    .map(|(k, v)| format!("<b>{}</b>: {}", escape(k), escape(v)))
                    .collect();
                out.push((lines.join("\n"), false));
            }
            Block::Table(t) => {
                if let Some(c) = &t.caption {
                    out.push((format!("<b>{}</b>", escape(c)), false));
                }
                let mut plain = t.clone();
                plain.caption = None;
                out.push((escape(plain.to_plain().trim_end()), true));
            }
        }
    }
    out
}

/// Renders a reply as one or more HTML messages, each under [`LIMIT`] characters.
pub fn render(reply: &Reply) -> Vec<String> {
    let mut messages = Vec::new();
    let mut cur = String::new();
    let mut push = |cur: &mut String, piece: &str| {
        let extra = if cur.is_empty() { 0 } else { 2 };
        if cur.chars().count() + extra + piece.chars().count() > TARGET && !cur.is_empty() {
            messages.push(std::mem::take(cur));
        }
        if !cur.is_empty() {
            cur.push_str("\n\n");
        }
        cur.push_str(piece);
    };
    for (text, pre) in pieces(reply) {
        // A piece longer than one message is cut on line boundaries.
        let mut chunk = String::new();
        let mut chunks = Vec::new();
        for line in text.lines() {
            let mut line: String = line.chars().take(TARGET - 20).collect();
            // A cut must not split an escaped entity such as `&amp;`.
            if let Some(amp) = line.rfind('&')
                && !line[amp..].contains(';')
            {
                line.truncate(amp);
            }
            if chunk.chars().count() + line.chars().count() + 1 > TARGET - 20 && !chunk.is_empty() {
                chunks.push(std::mem::take(&mut chunk));
            }
            if !chunk.is_empty() {
                chunk.push('\n');
            }
            chunk.push_str(&line);
        }
        if !chunk.is_empty() || chunks.is_empty() {
            chunks.push(chunk);
        }
        for c in chunks {
            let piece = if pre { format!("<pre>{c}</pre>") } else { c };
            push(&mut cur, &piece);
        }
    }
    if !cur.is_empty() {
        messages.push(cur);
    }
    if messages.is_empty() {
        messages.push("✓".into());
    }
    messages
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::Table;

    /// Issue 14.12 on Telegram: a hostile name is shown as text, in tables and in lines.
    #[test]
    fn hostile_names_are_text() {
        let hostile = "<a href=\"https://evil.example\">Claim VIP</a> @everyone";
        let mut t = Table::new(&["Rank", "Promoter"], &[true, false]);
        t.row(vec!["#1".into(), hostile.into()]);
        let r = Reply::text(format!("Welcome, {hostile}")).with(crate::reply::Block::Table(t));
        let html = render(&r).concat();
        assert!(!html.contains("<a href"), "{html}");
        assert!(
            html.contains("&lt;a href=&quot;https://evil.example&quot;&gt;")
                || html.contains("&lt;a href=\"https://evil.example\"&gt;"),
            "{html}"
        );
    }

    #[test]
    fn dynamic_text_is_escaped_and_tables_are_preformatted() {
        let mut t = Table::new(&["Promoter", "Tickets"], &[false, true]);
        t.row(vec!["<b>Ana & Co</b> 🎉".into(), "3".into()]);
        let r = Reply::text("Tom & Jerry <script>")
            .titled("Sales — <Fest>")
            .with(Block::Table(t));
        let html = render(&r).join("");
        assert!(html.starts_with("<b>Sales — &lt;Fest&gt;</b>"), "{html}");
        assert!(html.contains("Tom &amp; Jerry &lt;script&gt;"));
        assert!(html.contains("<pre>Promoter"));
        assert!(html.contains("&lt;b&gt;Ana &amp; Co&lt;/b&gt; 🎉"));
    }

    #[test]
    fn long_replies_are_split_under_the_limit_on_line_boundaries() {
        let mut t = Table::new(&["Order", "Tickets"], &[false, true]);
        for i in 0..600 {
            t.row(vec![format!("order-{i:04}"), "1".into()]);
        }
        let parts = render(&Reply::default().titled("Orders").with(Block::Table(t)));
        assert!(parts.len() > 1);
        for p in &parts {
            assert!(p.chars().count() <= LIMIT, "{}", p.len());
            assert_eq!(p.matches("<pre>").count(), p.matches("</pre>").count(), "balanced tags");
        }
        let all = parts.join("\n");
        assert!(all.contains("order-0000") && all.contains("order-0599"));
    }
}
