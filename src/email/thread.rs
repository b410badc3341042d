//! Header hygiene for outgoing mail built from hostile input: a reply's References
//! chain (RFC 5322 §3.6.4). The sender's display name is `commands::names::sender_name`.

/// Message-IDs kept in a References chain, at most: the thread's first and the latest.
pub const MAX_REFERENCES: usize = 20;
/// Longest Message-ID kept (RFC 5322 lines are at most 998 bytes).
pub const MAX_ID_LEN: usize = 250;

/// A Message-ID as `<left@right>` (angle brackets optional on input): printable ASCII
/// without spaces or brackets, both sides of the last `@` non-empty, at most
/// [`MAX_ID_LEN`] bytes with its brackets.
pub fn message_id_token(raw: &str) -> Option<String> {
    let id = raw.trim();
    let id = id.strip_prefix('<').unwrap_or(id);
    let id = id.strip_suffix('>').unwrap_or(id);
    let (left, right) = id.rsplit_once('@')?;
    let ok = !left.is_empty()
        && !right.is_empty()
        && id.len() + 2 <= MAX_ID_LEN
        && id.bytes().all(|b| b.is_ascii_graphic() && b != b'<' && b != b'>');
    ok.then(|| format!("<{id}>"))
}

/// The References of a reply to a mail with these headers: the parent's References
/// (or, when it has none, its In-Reply-To if that is a single id) followed by the
/// parent's Message-ID. Invalid ids are skipped; a chain longer than
/// [`MAX_REFERENCES`] keeps its first id and the latest ones, as common mail clients
/// do. One pass over the input, whatever its length. Empty when the parent has no
/// usable Message-ID (then there is nothing to refer to).
pub fn reply_references<S: AsRef<str>>(
    parent_references: &[S],
    parent_in_reply_to: &[S],
    parent_id: &str,
) -> Vec<String> {
    let Some(parent) = message_id_token(parent_id) else {
        return Vec::new();
    };
    let earlier: &[S] = if !parent_references.is_empty() {
        parent_references
    } else if parent_in_reply_to.len() == 1 {
        parent_in_reply_to
    } else {
        &[]
    };
    let mut first: Option<String> = None;
    let mut latest: std::collections::VecDeque<String> = std::collections::VecDeque::new();
    for id in earlier.iter().filter_map(|r| message_id_token(r.as_ref())) {
        if id == parent {
            continue; // it goes last, once
        }
        if first.is_none() {
            first = Some(id);
            continue;
        }
        if latest.back() == Some(&id) {
            continue;
        }
        if latest.len() == MAX_REFERENCES - 2 {
            latest.pop_front();
        }
        latest.push_back(id);
    }
    first.into_iter().chain(latest).chain([parent]).collect()
}

/// A stored chain read back for sending: its valid ids, at most [`MAX_REFERENCES`]
/// (the first and the latest), joined by spaces; `None` when none is valid.
pub fn references_header(stored: &str) -> Option<String> {
    let ids: Vec<String> = stored.split_whitespace().filter_map(message_id_token).collect();
    let kept: Vec<&String> = if ids.len() > MAX_REFERENCES {
        ids.first()
            .into_iter()
            .chain(&ids[ids.len() - (MAX_REFERENCES - 1)..])
            .collect()
    } else {
        ids.iter().collect()
    };
    (!kept.is_empty()).then(|| kept.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_must_be_single_tokens() {
        assert_eq!(message_id_token("a.b@c.test").as_deref(), Some("<a.b@c.test>"));
        assert_eq!(message_id_token(" <a@c> ").as_deref(), Some("<a@c>"));
        for bad in [
            "",
            "<>",
            "no-at",
            "a b@c",
            "a@c\r\nBcc: x@y",
            "<a<b@c>",
            "@c",
            "a@",
            "é@c",
        ] {
            assert_eq!(message_id_token(bad), None, "{bad:?}");
        }
        assert_eq!(message_id_token(&format!("{}@c", "a".repeat(MAX_ID_LEN))), None);
    }

    #[test]
    fn a_reply_refers_to_the_parents_references_then_the_parent() {
        let refs = ["root@a.test", "mid@b.test"];
        assert_eq!(
            reply_references(&refs, &["mid@b.test"], "parent@c.test"),
            ["<root@a.test>", "<mid@b.test>", "<parent@c.test>"]
        );
        // No References: a single In-Reply-To stands in; several do not.
        let none: [&str; 0] = [];
        assert_eq!(
            reply_references(&none, &["up@a.test"], "parent@c.test"),
            ["<up@a.test>", "<parent@c.test>"]
        );
        assert_eq!(
            reply_references(&none, &["x@a.test", "y@a.test"], "parent@c.test"),
            ["<parent@c.test>"]
        );
        // Invalid ids are skipped; no usable parent id, no chain.
        assert_eq!(
            reply_references(&["a b@c", "ok@c"], &none, "<p@c>"),
            ["<ok@c>", "<p@c>"]
        );
        assert!(reply_references(&refs, &none, "not an id").is_empty());
    }

    #[test]
    fn a_long_chain_keeps_its_first_and_latest_ids() {
        let refs: Vec<String> = (0..100_000).map(|i| format!("m{i}@a.test")).collect();
        let chain = reply_references(&refs, &[], "parent@c.test");
        assert_eq!(chain.len(), MAX_REFERENCES);
        assert_eq!(chain[0], "<m0@a.test>");
        assert_eq!(chain[1], format!("<m{}@a.test>", 100_000 - (MAX_REFERENCES - 2)));
        assert_eq!(chain[MAX_REFERENCES - 2], "<m99999@a.test>");
        assert_eq!(chain[MAX_REFERENCES - 1], "<parent@c.test>");
        // The stored form reads back the same, and a tampered row is bounded again.
        assert_eq!(references_header(&chain.join(" ")), Some(chain.join(" ")));
        let tampered: String = refs.iter().map(|r| format!("<{r}>\r\n ")).collect();
        let again = references_header(&tampered).unwrap();
        assert_eq!(again.split(' ').count(), MAX_REFERENCES);
        assert!(again.starts_with("<m0@a.test> <m99981@a.test>"), "{again}");
        assert_eq!(references_header("junk \r\n"), None);
    }
}
