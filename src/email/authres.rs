//! Reading the Authentication-Results header (RFC 8601) that our own mail server adds:
//! method=result pairs with their properties, comments and quoted strings understood.

/// One `method=result` statement with its `ptype.property=value` pairs, lowercased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub method: String,
    pub result: String,
    pub props: Vec<(String, String)>,
}

impl Statement {
    fn prop(&self, name: &str) -> Option<&str> {
        self.props.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// A parsed header: who added it and what it states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthResults {
    pub authserv_id: String,
    pub statements: Vec<Statement>,
}

/// Removes comments (nested parentheses, `\` escapes) outside quoted strings and splits
/// on `;` outside quoted strings. One pass over the input.
fn segments(header: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let (mut depth, mut quoted, mut escaped) = (0usize, false, false);
    for c in header.chars() {
        let cur = out.last_mut().expect("never empty");
        if escaped {
            escaped = false;
            if depth == 0 {
                cur.push(c);
            }
            continue;
        }
        match c {
            '\\' if quoted || depth > 0 => escaped = true,
            '"' if depth == 0 => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted && depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    cur.push(' ');
                }
            }
            _ if depth > 0 => {}
            ';' if !quoted => out.push(String::new()),
            _ => cur.push(c),
        }
    }
    out
}

/// Splits `a = b  c.d=e` into `["a=b", "c.d=e"]`: white space around `=` and `.` binds.
fn words(segment: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    let mut glue = false;
    for token in segment.split_whitespace() {
        let starts_glued = token.starts_with('=') || token.starts_with('.');
        match words.last_mut() {
            Some(last) if glue || starts_glued => last.push_str(token),
            _ => words.push(token.to_string()),
        }
        glue = token.ends_with('=') || token.ends_with('.');
    }
    words
}

/// Parses one Authentication-Results header value; `None` when it has no authserv-id.
pub fn parse(header: &str) -> Option<AuthResults> {
    let mut segs = segments(header).into_iter();
    let authserv_id = segs.next()?.split_whitespace().next()?.to_ascii_lowercase();
    let mut statements = Vec::new();
    for seg in segs {
        let mut ws = words(&seg).into_iter();
        let Some(first) = ws.next() else { continue };
        let Some((method, result)) = first.split_once('=') else {
            continue;
        };
        let method = method.split('/').next().unwrap_or("").to_ascii_lowercase();
        let props = ws
            .filter_map(|w| {
                let (k, v) = w.split_once('=')?;
                Some((k.to_ascii_lowercase(), v.trim_matches('"').to_ascii_lowercase()))
            })
            .collect();
        statements.push(Statement {
            method,
            result: result.to_ascii_lowercase(),
            props,
        });
    }
    Some(AuthResults {
        authserv_id,
        statements,
    })
}

/// Whether the topmost header (the one our own server added on receipt) comes from
/// `authserv_id` and says the From domain passed DMARC, or DKIM signed by that domain.
pub fn from_domain_authenticated(headers: &[String], authserv_id: &str, from: Option<&str>) -> bool {
    let Some(domain) = from
        .and_then(|f| f.rsplit_once('@'))
        .map(|(_, d)| d.to_ascii_lowercase())
    else {
        return false;
    };
    let Some(top) = headers.first().and_then(|h| parse(h)) else {
        return false;
    };
    if !top.authserv_id.eq_ignore_ascii_case(authserv_id) {
        return false;
    }
    top.statements.iter().any(|s| {
        s.result == "pass"
            && match s.method.as_str() {
                "dmarc" => s.prop("header.from") == Some(domain.as_str()),
                "dkim" => s.prop("header.d") == Some(domain.as_str()),
                _ => false,
            }
    })
}

/// Whether the topmost header (of `authserv_id` when one is configured) says the mail
/// failed DMARC or SPF: then its From is likely forged and gets no answer from us.
/// Used only to stay silent, never to grant anything.
pub fn known_to_fail(headers: &[String], authserv_id: Option<&str>) -> bool {
    let Some(top) = headers.first().and_then(|h| parse(h)) else {
        return false;
    };
    if authserv_id.is_some_and(|id| !top.authserv_id.eq_ignore_ascii_case(id)) {
        return false;
    }
    top.statements
        .iter()
        .any(|s| (s.method == "dmarc" || s.method == "spf") && s.result == "fail")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(header: &str) -> bool {
        from_domain_authenticated(&[header.to_string()], "mx.example.test", Some("ana@b.test"))
    }

    #[test]
    fn a_dmarc_or_aligned_dkim_pass_for_the_from_domain_counts() {
        assert!(ok("mx.example.test; dmarc=pass (p=none dis=none) header.from=b.test"));
        assert!(ok(
            "mx.example.test 1; dkim=pass (2048-bit key) header.d=B.test header.s=sel; dmarc=fail"
        ));
        assert!(ok(
            "mx.example.test;\r\n\tspf=pass smtp.mailfrom=b.test;\r\n\tdmarc = pass header . from = b.test"
        ));
        assert!(ok("mx.example.test; dmarc=pass header.from=\"b.test\""));
    }

    #[test]
    fn text_that_only_looks_like_a_pass_does_not() {
        // The attack of issue 14: a pass inside a property value, a fail as the result.
        assert!(!ok(
            "mx.example.test; spf=pass smtp.mailfrom=dmarc=pass@evil.example; dmarc=fail header.from=b.test"
        ));
        assert!(!ok("mx.example.test; dmarc=fail (dmarc=pass) header.from=b.test"));
        assert!(!ok(
            "mx.example.test; dmarc=fail reason=\"dmarc=pass; dkim=pass header.d=b.test\""
        ));
        // A pass about another domain, or about no domain, is not about this sender.
        assert!(!ok("mx.example.test; dmarc=pass header.from=evil.test"));
        assert!(!ok("mx.example.test; dmarc=pass"));
        assert!(!ok("mx.example.test; dkim=pass header.d=b.test.evil.test"));
        assert!(!ok("mx.example.test; spf=pass smtp.mailfrom=b.test"));
        // Another server's header, or none.
        assert!(!ok("mx.evil.test; dmarc=pass header.from=b.test"));
        assert!(!from_domain_authenticated(&[], "mx.example.test", Some("ana@b.test")));
        assert!(!ok("(mx.example.test); dmarc=pass header.from=b.test"));
    }

    #[test]
    fn a_known_failure_is_only_a_fail_result() {
        let fails = |h: &str, id: Option<&str>| known_to_fail(&[h.to_string()], id);
        assert!(fails("mx.a.test; spf=fail smtp.mailfrom=x.test", None));
        assert!(fails(
            "mx.a.test; spf=pass; dmarc=fail header.from=x.test",
            Some("mx.a.test")
        ));
        assert!(!fails("mx.a.test; spf=softfail; dmarc=none", None));
        assert!(!fails("mx.a.test; spf=pass (dmarc=fail)", None));
        assert!(!fails("mx.evil.test; dmarc=fail", Some("mx.a.test")));
    }

    #[test]
    fn comments_and_quotes_are_read_in_one_pass() {
        let r = parse("mx.test (our (nested) server); dkim=pass (good \\) sig) header.d=a.test").unwrap();
        assert_eq!(r.authserv_id, "mx.test");
        assert_eq!(
            r.statements,
            [Statement {
                method: "dkim".into(),
                result: "pass".into(),
                props: vec![("header.d".into(), "a.test".into())],
            }]
        );
        // An unclosed comment or quote swallows the rest rather than leaking a pass.
        assert!(!ok("mx.example.test; spf=fail (x; dmarc=pass header.from=b.test"));
        assert!(!ok(
            "mx.example.test; spf=fail reason=\"x; dmarc=pass header.from=b.test"
        ));
    }
}
