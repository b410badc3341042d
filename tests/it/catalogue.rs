//! The bad-input catalogue: one row per hostile or broken input, per front door
//! (commands, order webhook, CSV import, email). Each row names the input, the answer
//! expected, and asserts that the database is unchanged afterwards (for mail: apart
//! from the record that the message was handled, and an error reply). A mail over the
//! size limit needs the real IMAP server: `email::a_mail_over_the_size_limit_…`.

use super::http::{client, now, post_order, signature};
use super::support::*;
use promoterd::email::handle::{InboundSettings, MailPosition, process};
use reqwest::StatusCode;
use serde_json::json;

/// A command row: who says what, and a piece of the refusal.
struct CommandRow {
    case: &'static str,
    who: &'static str,
    line: String,
    answer: &'static str,
}

#[tokio::test]
async fn commands() {
    let app = TestApp::new().await;
    app.world().await;
    // Issue 14.1: Vic promotes summer-fest and, invited later, every event; then the
    // organization-wide revoke.
    for line in ["invite vic@promo.test summer-fest", "invite vic@promo.test"] {
        app.ok(OWNER, line).await;
        let code = app.invite_code("vic@promo.test").await;
        app.ok("vic@promo.test", &format!("accept {code}")).await;
    }
    app.ok(OWNER, "revoke vic@promo.test").await;
    let rows = [
        CommandRow {
            case: "revoked organization-wide, still holding an event membership (issue 14.1)",
            who: "vic@promo.test",
            line: "mystats summer-fest".into(),
            answer: "You are not a promoter of `summer-fest`",
        },
        CommandRow {
            case: "revoked organization-wide, asking for the event link (issue 14.1)",
            who: "vic@promo.test",
            line: "mylink summer-fest".into(),
            answer: "You are not a promoter of `summer-fest`",
        },
        CommandRow {
            case: "unknown command",
            who: OWNER,
            line: "frobnicate".into(),
            answer: "Unknown command `frobnicate`",
        },
        CommandRow {
            case: "wrong role: a promoter invites",
            who: BEN,
            line: "invite zed@x.test summer-fest".into(),
            answer: "organizer",
        },
        CommandRow {
            case: "commission rate with Unicode digits (issue 18)",
            who: OWNER,
            line: "setcommission ١٠% summer-fest".into(),
            answer: "is not a rate",
        },
        CommandRow {
            case: "commission rate past 100% (issue 18)",
            who: OWNER,
            line: "setcommission 100.01% summer-fest".into(),
            answer: "more than 100%",
        },
        CommandRow {
            case: "commission rate with three decimals (issue 18)",
            who: OWNER,
            line: "setcommission 2.505 summer-fest".into(),
            answer: "is not a rate",
        },
        CommandRow {
            case: "payout reference of 101 characters (issue 18)",
            who: OWNER,
            line: format!("markpaid ana@promo.test 1 {}", "r".repeat(101)),
            answer: "longer than 100 characters",
        },
        CommandRow {
            case: "negative payout amount (issue 18)",
            who: OWNER,
            line: "markpaid ana@promo.test -5 TX-1".into(),
            answer: "amount",
        },
        CommandRow {
            case: "an order id of 10 000 characters in `why` (issue 18)",
            who: ANA,
            line: format!("why {}", "x".repeat(10_000)),
            answer: "longer than",
        },
        CommandRow {
            case: "a promoter records a payout (issue 18)",
            who: BEN,
            line: "markpaid ben@promo.test".into(),
            answer: "is for organizers",
        },
        CommandRow {
            case: "SQL injection in an event name",
            who: OWNER,
            line: "stats \"summer-fest' OR '1'='1\"".into(),
            answer: "is not a short name",
        },
        CommandRow {
            case: "SQL injection in a slug being created",
            who: OWNER,
            line: "newevent \"x'); DROP TABLE events;--\" 2099-01-01 https://x.test/ X".into(),
            answer: "is not a short name",
        },
        CommandRow {
            case: "Unicode confusable in an event name (Cyrillic е)",
            who: OWNER,
            line: "stats summ\u{0435}r-fest".into(),
            answer: "is not a short name",
        },
        CommandRow {
            case: "Unicode confusable in an email (Cyrillic а)",
            who: OWNER,
            line: "invite \u{0430}na@example.com summer-fest".into(),
            answer: "is not an email address",
        },
        CommandRow {
            case: "Unicode confusable in an invite code (Cyrillic о)",
            who: ADMIN,
            line: "accept c\u{043e}de1234".into(),
            answer: "code",
        },
        CommandRow {
            case: "absurd price",
            who: OWNER,
            line: "newtickettype summer-fest 99999999999999 Gold".into(),
            answer: "is not a price",
        },
        CommandRow {
            case: "negative price",
            who: OWNER,
            line: "newtickettype summer-fest -5 Free".into(),
            answer: "is not a price",
        },
        CommandRow {
            case: "a ticket page that is not http(s)",
            who: OWNER,
            line: "newevent jsfest 2099-01-01 javascript:alert(1) JS".into(),
            answer: "http",
        },
        CommandRow {
            case: "huge argument (100 kB label)",
            who: BEN,
            line: format!("newlink summer-fest {}", "x".repeat(100_000)),
            answer: "long",
        },
        CommandRow {
            case: "unclosed quote",
            who: OWNER,
            line: "newevent a \"2099-01-01 https://x.test/ A".into(),
            answer: "quote",
        },
        CommandRow {
            case: "an event in the year 262142, where a date plus days overflows (issue 21 review)",
            who: OWNER,
            line: "newevent farfuture \"+262142-12-01 18:00\" https://x.test/ Far".into(),
            answer: "is not a date and time",
        },
        CommandRow {
            case: "forgetbuyer without an address (issue 21)",
            who: OWNER,
            line: "forgetbuyer \"zoe' OR '1'='1\"".into(),
            answer: "is not an email address",
        },
        CommandRow {
            case: "retention of zero days (issue 21)",
            who: OWNER,
            line: "retention 0".into(),
            answer: "is not a number of days from 1 to 3650",
        },
        CommandRow {
            case: "retention as a word other than never (issue 21)",
            who: OWNER,
            line: "retention forever".into(),
            answer: "nor `never`",
        },
        CommandRow {
            case: "retention past ten years (issue 21)",
            who: OWNER,
            line: "retention 99999999999999999999".into(),
            answer: "is not a number of days",
        },
        CommandRow {
            case: "audit beyond a year (issue 21)",
            who: OWNER,
            line: "audit 366".into(),
            answer: "days must be a whole number from 1 to 365",
        },
        CommandRow {
            case: "audit of negative days (issue 21)",
            who: OWNER,
            line: "audit -5".into(),
            answer: "days must be a whole number from 1 to 365",
        },
        CommandRow {
            case: "leave with a name that is not a short name (issue 21)",
            who: BEN,
            line: "leave \"../summer-fest\"".into(),
            answer: "is not a short name",
        },
        CommandRow {
            case: "mydata with an argument (issue 21)",
            who: BEN,
            line: "mydata ben@promo.test".into(),
            answer: "mydata",
        },
    ];
    for row in &rows {
        eprintln!("catalogue row: {}", row.case);
        refused(&app, row.who, &row.line, row.answer).await;
    }
}

/// Chat rows (issue 14.2): an account that redeemed a forwarded invite code, after the
/// address it was sent to became an admin.
#[tokio::test]
async fn chat_commands() {
    let app = TestApp::new().await;
    app.world().await;
    app.ok(OWNER, "invite cara@promo.test summer-fest").await;
    let code = app.invite_code("cara@promo.test").await;
    let r = app
        .chat(promoterd::commands::Platform::Discord, "66", &format!("accept {code}"))
        .await;
    assert!(!r.is_error, "{}", r.to_plain());
    app.ok(OWNER, "inviteadmin cara@promo.test").await;
    let admin_code = app.invite_code("cara@promo.test").await;
    let rows = [
        (
            "organizer stats through an invite-only link",
            "stats summer-fest".to_string(),
            "connect cara@promo.test",
        ),
        (
            "buyer export through an invite-only link",
            "export summer-fest".to_string(),
            "connect cara@promo.test",
        ),
        (
            "accepting the admin invite from chat",
            format!("accept {admin_code}"),
            "reply `accept` to the invite mail",
        ),
        (
            "declining someone's invite from an unlinked account",
            format!("ignore {admin_code}"),
            "not linked",
        ),
    ];
    for (i, (case, line, answer)) in rows.iter().enumerate() {
        eprintln!("catalogue row: {case}");
        let user = if i == 3 { "99" } else { "66" };
        chat_refused(&app, promoterd::commands::Platform::Discord, user, line, answer).await;
    }
}

/// A webhook row: the body, how it is signed, and the status and error code expected.
struct WebhookRow {
    case: &'static str,
    body: Vec<u8>,
    signed_at: i64,
    status: StatusCode,
    error: &'static str,
}

fn order_body(order: serde_json::Value) -> String {
    json!({"id": format!("dlv-{}", order["id"]), "type": "order.created", "order": order}).to_string()
}

fn order(id: &str, event: &str, buyer: &str, quantity: i64, price: i64) -> serde_json::Value {
    json!({"id": id, "event": event, "created_at": "2099-05-01T10:00:00Z", "buyer": {"name": buyer},
           "lines": [{"ticket_type": "General Admission", "quantity": quantity, "unit_price": price, "currency": "EUR"}]})
}

#[tokio::test]
async fn order_webhook() {
    let app = TestApp::new().await;
    app.world().await;
    let server = app.serve().await;
    let base = format!("http://{}", server.addr);
    // One order, to replay below.
    let first = order_body(order("R1", "summer-fest", "Kim", 1, 4900));
    let (status, _) = post_order(&base, &first, Some(signature(NEW_SECRET, now(), &first))).await;
    assert_eq!(status, StatusCode::OK);
    let rows = [
        WebhookRow {
            case: "oversized body (300 kB)",
            body: order_body(order("B1", "summer-fest", &"x".repeat(300_000), 1, 4900)).into_bytes(),
            signed_at: now(),
            status: StatusCode::PAYLOAD_TOO_LARGE,
            error: "too_large",
        },
        WebhookRow {
            case: "invalid UTF-8",
            body: b"{\"id\":\"\xff\xfe\"}".to_vec(),
            signed_at: now(),
            status: StatusCode::BAD_REQUEST,
            error: "malformed",
        },
        WebhookRow {
            case: "deeply nested JSON",
            body: format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)).into_bytes(),
            signed_at: now(),
            status: StatusCode::BAD_REQUEST,
            error: "malformed",
        },
        WebhookRow {
            case: "negative quantity",
            body: order_body(order("B2", "summer-fest", "Kim", -3, 4900)).into_bytes(),
            signed_at: now(),
            status: StatusCode::BAD_REQUEST,
            error: "malformed",
        },
        WebhookRow {
            case: "absurd price",
            body: order_body(order("B3", "summer-fest", "Kim", 1, i64::MAX)).into_bytes(),
            signed_at: now(),
            status: StatusCode::BAD_REQUEST,
            error: "malformed",
        },
        WebhookRow {
            case: "unknown event",
            body: order_body(order("B4", "no-such-event", "Kim", 1, 4900)).into_bytes(),
            signed_at: now(),
            status: StatusCode::UNPROCESSABLE_ENTITY,
            error: "unknown_event",
        },
        WebhookRow {
            case: "Unicode confusable event name (Cyrillic е)",
            body: order_body(order("B5", "summ\u{0435}r-fest", "Kim", 1, 4900)).into_bytes(),
            signed_at: now(),
            status: StatusCode::UNPROCESSABLE_ENTITY,
            error: "unknown_event",
        },
        WebhookRow {
            case: "clock skew: signed an hour ago",
            body: order_body(order("B6", "summer-fest", "Kim", 1, 4900)).into_bytes(),
            signed_at: now() - 3600,
            status: StatusCode::UNAUTHORIZED,
            error: "signature",
        },
        WebhookRow {
            case: "huge free-text field (10 kB buyer name)",
            body: order_body(order("B7", "summer-fest", &"n".repeat(10_000), 1, 4900)).into_bytes(),
            signed_at: now(),
            status: StatusCode::BAD_REQUEST,
            error: "malformed",
        },
        WebhookRow {
            case: "control characters in a name",
            body: order_body(order("B8", "summer-fest", "Kim\u{0007}\u{001b}[31m", 1, 4900)).into_bytes(),
            signed_at: now(),
            status: StatusCode::BAD_REQUEST,
            error: "malformed",
        },
        WebhookRow {
            case: "replay of a delivery already applied",
            body: first.clone().into_bytes(),
            signed_at: now(),
            status: StatusCode::OK,
            error: "",
        },
    ];
    for row in &rows {
        let before = app.dump().await;
        let sig = signature(NEW_SECRET, row.signed_at, &row.body);
        let (status, answer) = post_order(&base, &row.body, Some(sig)).await;
        assert_eq!(status, row.status, "{}: {answer}", row.case);
        if row.error.is_empty() {
            assert_eq!(answer["status"], "duplicate", "{}: {answer}", row.case);
        } else {
            assert_eq!(answer["error"], row.error, "{}: {answer}", row.case);
        }
        assert_eq!(before, app.dump().await, "{}: changed the database", row.case);
    }
    server.stop().await.unwrap();
}

#[tokio::test]
async fn injection_in_free_text_is_stored_as_text_and_neutralized_in_exports() {
    let app = TestApp::new().await;
    app.world().await;
    let code = link_code(&app.ok(BEN, "mylink").await);
    let server = app.serve().await;
    let base = format!("http://{}", server.addr);
    let hostile = "=HYPERLINK(\"http://evil.test\")'); DROP TABLE orders;--";
    let mut o = order("'; DELETE FROM orders; --", "summer-fest", hostile, 2, 4900);
    o["ref"] = json!(code);
    o["buyer"]["phone"] = json!("+1 555 0100");
    o["buyer"]["email"] = json!("kim@buyer.test");
    let body = order_body(o);
    let (status, answer) = post_order(&base, &body, Some(signature(NEW_SECRET, now(), &body))).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (StatusCode::OK, Some("created")),
        "{answer}"
    );
    server.stop().await.unwrap();
    // Every table is still there and the text came back verbatim in stats and export.
    assert_eq!(field(&app.ok(BEN, "mystats").await, "Orders"), "1");
    let csv = std::fs::read_to_string(saved_file(&app.ok(OWNER, "export summer-fest").await)).unwrap();
    let mut rows = csv::Reader::from_reader(csv.as_bytes());
    let row = rows.records().next().unwrap().unwrap();
    assert_eq!(&row[0], "'; DELETE FROM orders; --");
    assert_eq!(&row[8], format!("'{hostile}"), "formula cell neutralized");
    assert_eq!(
        &row[10], "+1 555 0100",
        "a plain phone number is kept as typed (issue 15)"
    );
}

/// An email row: the raw mail and the outcome recorded for it.
struct MailRow {
    case: &'static str,
    raw: Vec<u8>,
    outcome: &'static str,
}

fn mail(from: &str, headers: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: bot@example.test\r\nSubject: hello\r\nMessage-ID: <{}@client.test>\r\n{headers}\r\n{body}",
        promoterd::codes::link_code()
    )
    .into_bytes()
}

/// Every table but the ones mail handling writes to by design.
fn without_mail_records(dump: &str) -> String {
    let mut keep = true;
    let mut out = String::new();
    for line in dump.lines() {
        if let Some(name) = line.strip_prefix("## ") {
            keep = !matches!(name, "mail_processed" | "imap_state" | "outbox" | "reply_tokens");
        }
        if keep {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[tokio::test]
async fn email() {
    let app = TestApp::new().await;
    app.world().await;
    let settings = InboundSettings {
        bot_address: "bot@example.test".into(),
        mailbox: "INBOX".into(),
        require_authentication_results: None,
    };
    let nested = {
        let mut m = String::from("Content-Type: multipart/mixed; boundary=\"b0\"\r\n\r\n");
        for i in 0..2000 {
            m.push_str(&format!(
                "--b{i}\r\nContent-Type: multipart/mixed; boundary=\"b{}\"\r\n\r\n",
                i + 1
            ));
        }
        m.push_str("accept\r\n");
        m
    };
    let rows = [
        MailRow {
            case: "deeply nested MIME (2000 levels)",
            raw: mail(ANA, &nested, ""),
            outcome: "refused",
        },
        MailRow {
            case: "invalid UTF-8 and an unknown charset",
            raw: [
                mail(ANA, "Content-Type: text/plain; charset=x-klingon\r\n", "").as_slice(),
                b"accept \xff\xfe\xc3\x28\r\n",
            ]
            .concat(),
            outcome: "refused",
        },
        MailRow {
            case: "ISO-2022-JP body from a stranger",
            raw: mail(
                "stranger@elsewhere.test",
                "Content-Type: text/plain; charset=ISO-2022-JP\r\n",
                "\x1b$B$3$s$K$A$O\x1b(B stats summer-fest\r\n",
            ),
            outcome: "refused",
        },
        MailRow {
            case: "a promoter's command in a new thread (no reply token)",
            raw: mail(BEN, "", "newlink summer-fest Evil\r\n"),
            outcome: "refused",
        },
        MailRow {
            case: "SQL injection in an organizer's new-thread command",
            raw: mail(OWNER, "", "stats \"summer-fest'; DROP TABLE orders;--\"\r\n"),
            outcome: "error stats",
        },
        MailRow {
            case: "a mail that breaks the MIME parser (found by fuzzing)",
            raw: std::fs::read(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/email/fuzz__broken_multipart.eml"
            ))
            .unwrap(),
            outcome: "refused",
        },
        MailRow {
            case: "2 MiB of `@<bot domain>>` without `<` in a bounce (issue 14.3)",
            raw: mail(
                "MAILER-DAEMON@mx.elsewhere.test",
                "X-Failed-Recipients: ana@promo.test\r\n",
                &"@example.test>".repeat(2 << 20 >> 4),
            ),
            outcome: "bounce not about a mail of ours",
        },
        MailRow {
            case: "a bounce naming 5 000 recipients and 5 000 of our ids (issue 14.3)",
            raw: mail(
                "MAILER-DAEMON@mx.elsewhere.test",
                &format!(
                    "X-Failed-Recipients: {}\r\n",
                    (0..5000)
                        .map(|i| format!("r{i}@promo.test"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                &(0..5000)
                    .map(|i| format!("<id{i}.invite@example.test>\r\n"))
                    .collect::<String>(),
            ),
            outcome: "bounce not about a mail of ours",
        },
        MailRow {
            case: "an auto-reply",
            raw: mail(ANA, "Auto-Submitted: auto-replied\r\n", "I am away.\r\n"),
            outcome: "ignored",
        },
    ];
    for (uid, row) in rows.iter().enumerate() {
        let before = without_mail_records(&app.dump().await);
        let pos = MailPosition {
            uid_validity: 1,
            uid: uid as u32 + 1,
        };
        assert!(
            process(&app.core, &settings, &row.raw, pos).await.unwrap(),
            "{}",
            row.case
        );
        let outcome = app
            .dump()
            .await
            .lines()
            .skip_while(|l| *l != "## mail_processed")
            .skip(1)
            .take_while(|l| !l.starts_with("## "))
            .find(|l| l.contains(&format!("|{}|", uid + 1)))
            .unwrap_or_default()
            .to_string();
        assert!(
            outcome.contains(row.outcome),
            "{}: outcome `{}` not in {outcome}",
            row.case,
            row.outcome
        );
        assert_eq!(
            before,
            without_mail_records(&app.dump().await),
            "{}: changed the database",
            row.case
        );
    }
}

/// With `require_authentication_results`, a header that only looks like a DMARC pass
/// (issue 14.4) runs nothing.
#[tokio::test]
async fn email_authentication_results() {
    let app = TestApp::new().await;
    app.world().await;
    let settings = InboundSettings {
        bot_address: "bot@example.test".into(),
        mailbox: "INBOX".into(),
        require_authentication_results: Some("mx.acme.test".into()),
    };
    let rows = [
        (
            "a pass inside a property value, dmarc=fail as the result",
            "mx.acme.test; spf=pass smtp.mailfrom=dmarc=pass@evil.example; dmarc=fail header.from=acme.test",
        ),
        (
            "a pass inside a comment",
            "mx.acme.test; dmarc=fail (dmarc=pass) header.from=acme.test",
        ),
        (
            "a pass about another domain",
            "mx.acme.test; dmarc=pass header.from=evil.example",
        ),
        (
            "a pass from another server",
            "mx.evil.example; dmarc=pass header.from=acme.test",
        ),
    ];
    for (uid, (case, header)) in rows.iter().enumerate() {
        let before = without_mail_records(&app.dump().await);
        let raw = mail(
            OWNER,
            &format!("Authentication-Results: {header}\r\n"),
            "stats summer-fest\r\n",
        );
        let pos = MailPosition {
            uid_validity: 1,
            uid: uid as u32 + 1,
        };
        assert!(process(&app.core, &settings, &raw, pos).await.unwrap(), "{case}");
        let processed = TestApp::dump_section(&app.dump().await, "mail_processed");
        assert!(
            processed
                .lines()
                .any(|l| l.contains(&format!("|{}|", uid + 1)) && l.contains("not authenticated")),
            "{case}: {processed}"
        );
        assert_eq!(
            before,
            without_mail_records(&app.dump().await),
            "{case}: changed the database"
        );
    }
}

#[tokio::test]
async fn csv_import() {
    let app = TestApp::new().await;
    app.world().await;
    let header = b"order_id,event,status,ordered_at,buyer_name,ticket_type,quantity,unit_price_minor,currency\n";
    let line = |rest: &str| [header.as_slice(), rest.as_bytes()].concat();
    let rows: [(&str, Vec<u8>, &str); 6] = [
        (
            "huge cell (1 MB buyer name)",
            line(&format!(
                "H1,summer-fest,paid,2099-05-01T10:00:00Z,{},GA,1,100,EUR\n",
                "x".repeat(1 << 20)
            )),
            "buyer_name is longer than 500 bytes",
        ),
        (
            "invalid UTF-8",
            [
                header.as_slice(),
                b"H2,summer-fest,paid,2099-05-01T10:00:00Z,\xff\xfe,GA,1,100,EUR\n",
            ]
            .concat(),
            "line 2",
        ),
        (
            "negative quantity",
            line("H3,summer-fest,paid,2099-05-01T10:00:00Z,N,GA,-1,100,EUR\n"),
            "quantity -1",
        ),
        (
            "absurd price",
            line("H4,summer-fest,paid,2099-05-01T10:00:00Z,N,GA,1,99999999999999,EUR\n"),
            "unit price",
        ),
        (
            "order for an unknown event",
            line("H5,no-such-event,paid,2099-05-01T10:00:00Z,N,GA,1,100,EUR\n"),
            "unknown event `no-such-event`",
        ),
        (
            "one bad row spoils the file (the good row is not imported either)",
            line(
                "H6,summer-fest,paid,2099-05-01T10:00:00Z,N,GA,1,100,EUR\nH7,summer-fest,paid,yesterday,N,GA,1,100,EUR\n",
            ),
            "ordered_at `yesterday`",
        ),
    ];
    for (case, csv, answer) in rows {
        let before = app.dump().await;
        let path = app.path("hostile.csv");
        std::fs::write(&path, csv).unwrap();
        let out = app.bin(&["import-orders", path.to_str().unwrap()]);
        assert!(!out.ok, "{case}: should be refused:\n{}", out.stdout);
        assert!(
            out.stderr.contains(answer),
            "{case}: expected `{answer}` in:\n{}",
            out.stderr
        );
        assert_eq!(before, app.dump().await, "{case}: changed the database");
    }
}

#[tokio::test]
async fn tracking_links() {
    let app = TestApp::new().await;
    app.world().await;
    let code = link_code(&app.ok(BEN, "mylink").await);
    // The same code with its first character in its fullwidth look-alike (`ａ` for `a`).
    let mut chars = code.chars();
    let first = chars.next().unwrap();
    let confusable: String = std::iter::once(char::from_u32(first as u32 - 0x20 + 0xFF00).unwrap())
        .chain(chars)
        .collect();
    assert_ne!(confusable, code);
    let not_found = reqwest::StatusCode::NOT_FOUND;
    let rows: [(&str, String, reqwest::StatusCode); 4] = [
        ("Unicode confusable code", confusable, not_found),
        ("overlong code (10 kB)", "a".repeat(10_000), not_found),
        ("SQL injection in a code", "x'%20OR%20'1'='1".into(), not_found),
        ("percent-encoded invalid UTF-8", "%ff%fe".into(), not_found),
    ];
    let server = app.serve().await;
    let before = app.dump().await;
    for (case, path, status) in &rows {
        let res = client()
            .get(format!("http://{}/t/{path}", server.addr))
            .header("user-agent", "Mozilla/5.0 catalogue")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), *status, "{case}");
        assert!(res.headers().get("location").is_none(), "{case}: no redirect");
    }
    server.stop().await.unwrap();
    // Stopping flushes the click buffer: nothing was counted.
    assert_eq!(before, app.dump().await, "a bad code changed the database");
}
