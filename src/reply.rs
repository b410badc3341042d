//! The structured reply every command returns, and its plain-text rendering
//! (console and email); chat front-ends render the same structure their own way.

pub mod html;

/// A command's answer.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Reply {
    /// A short heading, e.g. "Summer Fest — your sales".
    pub title: Option<String>,
    pub blocks: Vec<Block>,
    pub attachments: Vec<Attachment>,
    /// Contains personal numbers or data: answer only in private.
    pub private: bool,
    /// The command was refused or failed; nothing changed.
    pub is_error: bool,
}

/// A piece of a reply.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Block {
    /// A paragraph of text.
    Text(String),
    /// Label and value pairs.
    Fields(Vec<(String, String)>),
    /// A table with a header row.
    Table(Table),
    /// A link the person should open or share.
    Link(String),
}

/// A table; numeric columns are right-aligned.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Table {
    pub caption: Option<String>,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Per column: true for right alignment.
    pub numeric: Vec<bool>,
}

/// A file sent with a reply.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Attachment {
    pub filename: String,
    pub mime: String,
    /// The bytes; base64 in a stored reply (the chat outbox), a JSON array before that.
    #[serde(with = "bytes_as_base64")]
    pub data: Vec<u8>,
    /// A short caption for chat uploads.
    pub caption: String,
}

impl Reply {
    /// A reply that is a single paragraph.
    pub fn text(s: impl Into<String>) -> Self {
        Reply {
            blocks: vec![Block::Text(s.into())],
            ..Default::default()
        }
    }

    /// An error reply with the given message.
    pub fn error(s: impl Into<String>) -> Self {
        Reply {
            is_error: true,
            ..Reply::text(s)
        }
    }

    /// Sets the title.
    pub fn titled(mut self, t: impl Into<String>) -> Self {
        self.title = Some(t.into());
        self
    }

    /// Appends a block.
    pub fn with(mut self, b: Block) -> Self {
        self.blocks.push(b);
        self
    }

    /// Appends a paragraph.
    pub fn line(self, s: impl Into<String>) -> Self {
        self.with(Block::Text(s.into()))
    }

    /// Marks the reply private.
    pub fn private(mut self) -> Self {
        self.private = true;
        self
    }

    /// Renders as plain text (console, email). Attachments are not included.
    pub fn to_plain(&self) -> String {
        let mut out = String::new();
        if let Some(t) = &self.title {
            out.push_str(t);
            out.push('\n');
            out.push_str(&"=".repeat(t.chars().count().min(72)));
            out.push_str("\n\n");
        }
        for (i, b) in self.blocks.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            match b {
                Block::Text(t) | Block::Link(t) => {
                    out.push_str(t);
                    out.push('\n');
                }
                Block::Fields(fs) => {
                    let w = fs.iter().map(|(k, _)| k.chars().count()).max().unwrap_or(0);
                    for (k, v) in fs {
                        out.push_str(&format!("{k:<w$}  {v}\n"));
                    }
                }
                Block::Table(t) => out.push_str(&t.to_plain()),
            }
        }
        out
    }
}

impl Table {
    /// A table with these headers; `numeric` marks right-aligned columns.
    pub fn new(headers: &[&str], numeric: &[bool]) -> Self {
        Table {
            caption: None,
            headers: headers.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
            numeric: numeric.to_vec(),
        }
    }

    /// Sets the caption.
    pub fn caption(mut self, c: impl Into<String>) -> Self {
        self.caption = Some(c.into());
        self
    }

    /// Appends a row.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Renders as aligned monospace text.
    pub fn to_plain(&self) -> String {
        let cols = self.headers.len();
        let mut w = vec![0usize; cols];
        for r in std::iter::once(&self.headers).chain(&self.rows) {
            for (i, c) in r.iter().enumerate().take(cols) {
                w[i] = w[i].max(c.chars().count());
            }
        }
        let fmt_row = |r: &Vec<String>| {
            let cells: Vec<String> = (0..cols)
                .map(|i| {
                    let c = r.get(i).map(String::as_str).unwrap_or("");
                    let pad = w[i].saturating_sub(c.chars().count());
                    if self.numeric.get(i).copied().unwrap_or(false) {
                        format!("{}{c}", " ".repeat(pad))
                    } else {
                        format!("{c}{}", " ".repeat(pad))
                    }
                })
                .collect();
            format!("{}\n", cells.join("  ").trim_end())
        };
        let mut out = String::new();
        if let Some(c) = &self.caption {
            out.push_str(c);
            out.push('\n');
        }
        out.push_str(&fmt_row(&self.headers));
        out.push_str(&format!(
            "{}\n",
            w.iter().map(|n| "-".repeat(*n)).collect::<Vec<_>>().join("  ")
        ));
        for r in &self.rows {
            out.push_str(&fmt_row(r));
        }
        out
    }
}

impl Reply {
    /// Adds a file.
    pub fn with_attachment(mut self, a: Attachment) -> Self {
        self.attachments.push(a);
        self
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn attachments_store_as_base64_and_older_arrays_still_read() {
        let a = Attachment {
            filename: "chart.png".into(),
            mime: "image/png".into(),
            data: vec![0x89, b'P', b'N', b'G', 0, 255],
            caption: "c".into(),
        };
        let json = serde_json::to_string(&a).unwrap();
        assert!(json.contains("\"data\":\"iVBORwD/\""), "{json}");
        assert_eq!(serde_json::from_str::<Attachment>(&json).unwrap(), a);
        let old = r#"{"filename":"chart.png","mime":"image/png","data":[137,80,78,71,0,255],"caption":"c"}"#;
        assert_eq!(serde_json::from_str::<Attachment>(old).unwrap(), a);
    }
    use super::*;

    #[test]
    fn tables_align_numbers_right() {
        let mut t = Table::new(&["Type", "Tickets"], &[false, true]);
        t.row(vec!["GA".into(), "5".into()]);
        t.row(vec!["VIP Lounge".into(), "12".into()]);
        let s = t.to_plain();
        assert_eq!(s.lines().nth(2), Some("GA                5"));
        assert_eq!(s.lines().nth(3), Some("VIP Lounge       12"));
    }

    #[test]
    fn plain_text_has_title_fields_and_text() {
        let r = Reply::text("Hello")
            .titled("Hi")
            .with(Block::Fields(vec![("Email".into(), "a@b.io".into())]));
        assert_eq!(r.to_plain(), "Hi\n==\n\nHello\n\nEmail  a@b.io\n");
    }
}

/// Attachment bytes in JSON as one base64 string (a chart is ~4x smaller than as an
/// array of numbers); an array from an older stored reply still reads.
mod bytes_as_base64 {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;

    pub fn serialize<S: serde::Serializer>(data: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(data))
    }

    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Stored {
        Text(String),
        Array(Vec<u8>),
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        match <Stored as serde::Deserialize>::deserialize(d)? {
            Stored::Text(t) => STANDARD.decode(t).map_err(serde::de::Error::custom),
            Stored::Array(a) => Ok(a),
        }
    }
}
