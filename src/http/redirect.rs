//! `GET /t/<code>`: the tracking link. Codes resolve from memory; the click goes to a
//! bounded buffer and the redirect never waits for the database.

use super::HttpState;
use super::clicks::Click;
use crate::text::StackText;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;
use url::Url;

/// The redirect target: the ticket page, the visitor's query (utm tags…) passed on,
/// and `ref=<code>` set (never doubled, never taken from the visitor).
pub fn target_url(base: &Url, incoming_query: Option<&str>, code: &str) -> String {
    target_url_with(base, incoming_query, code, "ref")
}

/// [`target_url`] with the shop's parameter (`client_reference_id`, `aff`, `voucher`)
/// in place of `ref`; a `ref` of the visitor's is dropped as well.
pub fn target_url_with(base: &Url, incoming_query: Option<&str>, code: &str, param: &str) -> String {
    // The common case, without parsing: a ticket page without a query of its own and a
    // visitor's query that cannot name `ref` (no `ref`, nothing percent-encoded).
    if let Some(q) = incoming_query
        && base.query().is_none()
        && base.fragment().is_none()
        && !q.contains("ref")
        && !q.contains(param)
        && q.bytes().all(|b| b.is_ascii_graphic() && b != b'%' && b != b'#')
    {
        let mut s = String::with_capacity(base.as_str().len() + q.len() + code.len() + param.len() + 2);
        s.push_str(base.as_str());
        s.push('?');
        if !q.is_empty() {
            s.push_str(q);
            s.push('&');
        }
        s.push_str(param);
        s.push('=');
        s.push_str(code);
        return s;
    }
    let incoming: Vec<(String, String)> = incoming_query
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .filter(|(k, _)| k != "ref" && k != param)
                .map(|(k, v)| (k.into(), v.into()))
                .collect()
        })
        .unwrap_or_default();
    let mut url = base.clone();
    let kept: Vec<(String, String)> = base
        .query_pairs()
        .filter(|(k, _)| !incoming.iter().any(|(ik, _)| ik == k))
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
    {
        let mut q = url.query_pairs_mut();
        q.clear();
        q.extend_pairs(kept);
        q.extend_pairs(incoming);
        q.append_pair(param, code);
    }
    url.into()
}

/// Link-preview fetchers and crawlers: redirected, never counted.
pub fn is_preview_bot(user_agent: &str) -> bool {
    static BOTS: std::sync::LazyLock<aho_corasick::AhoCorasick> = std::sync::LazyLock::new(|| {
        aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build([
                "discordbot",
                "telegrambot",
                "slackbot",
                "slack-imgproxy",
                "whatsapp",
                "facebookexternalhit",
                "facebot",
                "meta-externalagent",
                "twitterbot",
                "linkedinbot",
                "skypeuripreview",
                "pinterestbot",
                "redditbot",
                "embedly",
                "googlebot",
                "bingbot",
                "applebot",
                "bot/",
                "crawler",
                "spider",
                "curl/",
                "wget/",
                "python-requests",
            ])
            .expect("fixed patterns build")
    });
    user_agent.trim().is_empty() || BOTS.is_match(user_agent)
}

const NOT_FOUND: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Link not found</title>\
<meta name=\"viewport\" content=\"width=device-width\"></head><body style=\"font-family:sans-serif;max-width:32em;margin:4em auto\">\
<h1>This link does not exist</h1><p>The link you followed is unknown or no longer active. \
Ask the person who shared it for a new one.</p></body></html>";

/// Calls `f` with the visitor's address as text, without allocating.
fn with_client_ip<R>(headers: &HeaderMap, peer: SocketAddr, trust_forwarded_for: bool, f: impl FnOnce(&str) -> R) -> R {
    // The right-most entry is the one our proxy added; the rest the client could write.
    if trust_forwarded_for
        && let Some(last) = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
    {
        return f(last.trim());
    }
    match StackText::<45>::of(peer.ip()) {
        Some(ip) => f(ip.as_str()),
        None => f(&peer.ip().to_string()),
    }
}

pub(super) async fn redirect(State(st): State<Arc<HttpState>>, req: Request) -> Response {
    let start = std::time::Instant::now();
    let (parts, _) = req.into_parts();
    let res = follow(&st, &parts).await;
    st.core.metrics.request("redirect", start.elapsed().as_secs_f64());
    res
}

/// The code in `/t/<code>`, percent-decoded and lowercased, copied only when either changes it.
fn code_of(path: &str) -> Cow<'_, str> {
    let raw = path.rsplit('/').next().unwrap_or("");
    let decoded = if raw.contains('%') {
        percent_encoding::percent_decode_str(raw)
            .decode_utf8()
            .unwrap_or(Cow::Borrowed(""))
    } else {
        Cow::Borrowed(raw)
    };
    if decoded.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(decoded.to_ascii_lowercase())
    } else {
        decoded
    }
}

async fn follow(st: &HttpState, req: &Parts) -> Response {
    let code = code_of(req.uri.path());
    let found = if !code.is_empty() && code.len() <= 64 && code.bytes().all(|b| b.is_ascii_alphanumeric()) {
        match st.links.get(&code, &st.core.store, &st.core.metrics).await {
            Ok(found) => found,
            Err(e) => {
                tracing::error!(error = %e, "looking up a tracking link");
                return (StatusCode::SERVICE_UNAVAILABLE, "temporarily unavailable\n").into_response();
            }
        }
    } else {
        None
    };
    // The target is known before the click counts (a code whose target is not a
    // header value, which the table never holds, is answered as unknown).
    let location = found.and_then(|link| {
        let target = &link.target;
        let plain = || target.plain(&code);
        let location = match req.uri.query() {
            None | Some("") => plain(),
            Some(q) => HeaderValue::try_from(target_url_with(&target.base, Some(q), &code, target.param))
                .ok()
                .or_else(plain),
        };
        location.map(|l| (link.link_id, l))
    });
    let Some((link_id, location)) = location else {
        return (
            StatusCode::NOT_FOUND,
            [(header::CACHE_CONTROL, "no-store")],
            Html(NOT_FOUND),
        )
            .into_response();
    };
    let headers = &req.headers;
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if req.method == Method::HEAD || is_preview_bot(ua) {
        st.core.metrics.click("filtered");
    } else {
        let day = st.core.clock.now().date_naive();
        let day_text = StackText::<10>::of(day);
        let peer = req
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(SocketAddr::from(([0, 0, 0, 0], 0)), |c| c.0);
        let visitor = with_client_ip(headers, peer, st.trust_forwarded_for, |ip| {
            st.visitor_key
                .hash(day_text.as_ref().map_or("", |d| d.as_str()), ip, ua)
        });
        let click = Click { link_id, day, visitor };
        match st.clicks.try_send(click) {
            Ok(()) => st.core.metrics.click("counted"),
            Err(_) => st.core.metrics.click("dropped"),
        }
    }
    let mut res = Response::new(Body::empty());
    *res.status_mut() = StatusCode::FOUND;
    let h = res.headers_mut();
    h.insert(header::LOCATION, location);
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer-when-downgrade"),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Shop;
    use crate::http::link_table::target;

    fn base(u: &str) -> Url {
        target(u, Shop::Webhook, false).unwrap().base
    }

    #[test]
    fn ref_is_added_replaced_and_query_passed_on() {
        let b = base("https://tickets.example.com/e?lang=en&ref=old");
        assert_eq!(
            target_url(&b, None, "abc"),
            "https://tickets.example.com/e?lang=en&ref=abc"
        );
        assert_eq!(
            target_url(&b, Some("utm_source=ig&utm_medium=story&ref=evil"), "abc"),
            "https://tickets.example.com/e?lang=en&utm_source=ig&utm_medium=story&ref=abc"
        );
        // The visitor's value of a parameter the ticket page also has wins, once.
        assert_eq!(
            target_url(&b, Some("lang=de"), "abc"),
            "https://tickets.example.com/e?lang=de&ref=abc"
        );
        let plain = base("https://t.example.com/x");
        assert_eq!(target_url(&plain, Some(""), "abc"), "https://t.example.com/x?ref=abc");
        assert_eq!(
            target_url(&plain, Some("utm_source=ig&x"), "abc"),
            "https://t.example.com/x?utm_source=ig&x&ref=abc"
        );
        // A `ref` in disguise is still dropped.
        assert_eq!(
            target_url(&plain, Some("r%65f=evil&utm_source=ig"), "abc"),
            "https://t.example.com/x?utm_source=ig&ref=abc"
        );
        assert_eq!(
            target_url(&plain, Some("ref=evil"), "abc"),
            "https://t.example.com/x?ref=abc"
        );
    }

    #[test]
    fn codes_are_decoded_and_lowercased_only_when_needed() {
        assert!(matches!(code_of("/t/abc123"), Cow::Borrowed("abc123")));
        assert_eq!(code_of("/t/AbC123"), "abc123");
        assert_eq!(code_of("/t/%61bc"), "abc");
        assert_eq!(code_of("/t/%FF%FE"), "", "invalid UTF-8 names no code");
        assert_eq!(
            code_of("/t/ab%20c"),
            "ab c",
            "decoded, then refused as not alphanumeric"
        );
    }

    #[test]
    fn preview_bots_are_recognized_and_browsers_are_not() {
        for ua in [
            "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
            "TelegramBot (like TwitterBot)",
            "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
            "WhatsApp/2.23.20.0",
            "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
            "Twitterbot/1.0",
            "",
        ] {
            assert!(is_preview_bot(ua), "{ua}");
        }
        for ua in [
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
            "Mozilla/5.0 (Linux; Android 10; CUBOT_X30) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36",
        ] {
            assert!(!is_preview_bot(ua), "{ua}");
        }
    }
}
