//! Plain text of an HTML mail body, in one pass: block elements become line breaks,
//! quoted blocks, scripts and styles are dropped.

/// Plain text of an HTML body: block elements become line breaks, quoted blocks
/// (`<blockquote>`, Gmail's `gmail_quote`) and scripts/styles are dropped. One pass.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let mut skip_depth = 0usize;
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        if skip_depth == 0 {
            out.push_str(&decode_entities(&rest[..lt]));
        }
        let Some(gt) = rest[lt..].find('>') else {
            rest = "";
            break;
        };
        let tag = rest[lt + 1..lt + gt].trim().to_ascii_lowercase();
        rest = &rest[lt + gt + 1..];
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        let quote = name == "blockquote"
            || name == "script"
            || name == "style"
            || (name == "div" && tag.contains("gmail_quote"));
        if quote && !closing {
            skip_depth += 1;
        } else if closing && (name == "blockquote" || name == "script" || name == "style") && skip_depth > 0 {
            skip_depth -= 1;
        } else if skip_depth == 0 && matches!(name.as_str(), "br" | "p" | "div" | "li" | "tr" | "h1" | "h2" | "h3") {
            out.push('\n');
        }
    }
    if skip_depth == 0 {
        out.push_str(&decode_entities(rest));
    }
    out
}

fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    s.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}
