//! Issue 15, outgoing mail as an organizer's people see it, through the real SMTP relay
//! and Dovecot: the organization's name on the bot's address, digests with HTML tables
//! next to the text, and replies that keep the whole References chain.

use super::email::{addr, mail_app, read, send, wait_mail};
use super::support::*;
use mail_parser::{HeaderValue, Message, MessageParser, MimeHeaders};
use promoterd::clock::Clock;

/// (display name, address) of a mail's From.
fn sender(m: &Message<'_>) -> (Option<String>, Option<String>) {
    let a = m.from().and_then(|a| a.first()).expect("a From");
    (a.name().map(str::to_string), a.address().map(str::to_string))
}

fn ids(v: &HeaderValue<'_>) -> Vec<String> {
    match v {
        HeaderValue::Text(t) => vec![t.to_string()],
        HeaderValue::TextList(l) => l.iter().map(|t| t.to_string()).collect(),
        _ => Vec::new(),
    }
}

/// An organization with a non-ASCII name, an event, and a promoter with a sale of a
/// ticket type whose name is markup.
async fn org_with_a_sale(app: &TestApp, boss: &str, ana: &str) {
    let out = app.bin(&["org", "create", "Fête & Co", "--owner", boss]);
    assert!(out.ok, "{out:?}");
    app.ok(
        boss,
        "newevent summer-fest \"2099-06-01 18:00\" https://tickets.acme.test/summer Summer Fest",
    )
    .await;
    app.ok(boss, &format!("invite {ana} summer-fest")).await;
    let code = app.invite_code(ana).await;
    let link = link_code(&app.ok(ana, &format!("accept {code}")).await);
    let csv = format!(
        "order_id,event,status,ordered_at,ref,buyer_name,buyer_email,ticket_type,quantity,unit_price_minor,currency\n\
         E1,summer-fest,paid,2099-05-01T10:00:00Z,{link},Buyer,e1@buyer.test,<b>VIP</b> & co,2,4900,EUR\n"
    );
    std::fs::write(app.path("o.csv"), csv).unwrap();
    assert!(app.bin(&["import-orders", app.path("o.csv").to_str().unwrap()]).ok);
}

#[tokio::test]
async fn an_invite_and_the_answers_in_its_thread_come_from_the_organization_with_the_chain() {
    let (app, tag) = mail_app("orgname").await;
    let tag = tag.as_str();
    let (boss, ana, ben) = (addr("boss", tag), addr("ana", tag), addr("ben", tag));
    let bot = format!("bot-{tag}@example.test");
    org_with_a_sale(&app, &boss, &ana).await;
    app.ok(&boss, &format!("invite {ben} summer-fest")).await;
    let email = promoterd::email::EmailFrontend::start(&app.core, &app.config())
        .unwrap()
        .unwrap();

    // The invite is from the organization (RFC 2047 on the wire), at the bot's address.
    let raw = wait_mail(&ben, |m| m.contains("invites you to promote")).await;
    let msg = MessageParser::default().parse(&raw).unwrap();
    assert_eq!(sender(&msg), (Some("Fête & Co".into()), Some(bot.clone())));
    assert!(String::from_utf8_lossy(&raw).contains("From: =?utf-8?"));
    let invite = read(&raw);

    // Ben answers from a client that threads: his References name an earlier mail too.
    let answer = format!(
        "From: Ben <{ben}>\nTo: {}\nSubject: Re: {}\nMessage-ID: <b1-{tag}@client.example>\n\
         In-Reply-To: <{}>\nReferences: <root-{tag}@client.example> <{}>\n\
         MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\naccept\n",
        invite.reply_to, invite.subject, invite.message_id, invite.message_id
    );
    send(&ben, &invite.reply_to, &answer).await;
    let raw = wait_mail(&ben, |m| m.contains("Welcome!")).await;
    let welcome = MessageParser::default().parse(&raw).unwrap();
    // A reply in the invite's thread speaks for the same organization…
    assert_eq!(sender(&welcome), (Some("Fête & Co".into()), Some(bot.clone())));
    // …and carries the whole chain: Ben's References, then Ben's mail.
    assert_eq!(ids(welcome.in_reply_to()), [format!("b1-{tag}@client.example")]);
    assert_eq!(
        ids(welcome.references()),
        [
            format!("root-{tag}@client.example"),
            invite.message_id.clone(),
            format!("b1-{tag}@client.example")
        ]
    );

    // A new thread from the organizer is not tied to one organization: the configured
    // name. Its stats reply has its tables in HTML too, and the chain of the request.
    let request = format!(
        "From: Boss <{boss}>\nTo: {bot}\nSubject: numbers\nMessage-ID: <s3-{tag}@client.example>\n\
         In-Reply-To: <s2-{tag}@client.example>\n\
         References: <s1-{tag}@client.example> <s2-{tag}@client.example>\n\
         Content-Type: text/plain; charset=utf-8\n\nstats summer-fest\n"
    );
    send(&boss, &bot, &request).await;
    let raw = wait_mail(&boss, |m| m.contains(&format!("s3-{tag}@client.example"))).await;
    let stats = MessageParser::default().parse(&raw).unwrap();
    assert_eq!(sender(&stats), (Some("promoterd".into()), Some(bot.clone())));
    assert_eq!(
        ids(stats.references()),
        ["s1", "s2", "s3"].map(|s| format!("{s}-{tag}@client.example"))
    );
    let html = stats.body_html(0).expect("an HTML part").into_owned();
    assert!(html.contains("<table") && html.contains("<th scope=\"col\""), "{html}");
    assert!(html.contains("&lt;b&gt;VIP&lt;/b&gt; &amp; co"), "{html}");
    assert!(!html.contains("<b>VIP"), "{html}");
    email.stop().await;
}

/// The organization with a sale, its owner on `digest <freq>` at hour 0, and a core
/// whose clock is `days` later (so a digest is due) with the email sender running; the
/// app is returned to keep its database alive.
async fn digest_due(
    name: &str,
    freq: &str,
    days: i64,
) -> (
    TestApp,
    String,
    String,
    promoterd::commands::Core,
    promoterd::email::EmailFrontend,
) {
    let (app, tag) = mail_app(name).await;
    let (boss, ana) = (addr("boss", &tag), addr("ana", &tag));
    org_with_a_sale(&app, &boss, &ana).await;
    app.ok(&boss, &format!("digest {freq}")).await;
    app.ok(&boss, "digest hour 0").await;
    let clock = Clock::fixed(chrono::Utc::now() + chrono::Duration::days(days));
    let later = promoterd::commands::Core::new(app.store.clone(), clock, app.core.settings.clone());
    let email = promoterd::email::EmailFrontend::start(&later, &app.config())
        .unwrap()
        .unwrap();
    (app, tag, boss, later, email)
}

#[tokio::test]
async fn a_digest_mail_has_its_tables_in_html_next_to_the_text() {
    let (_app, tag, boss, later, email) = digest_due("dightml", "daily", 1).await;
    let tag = tag.as_str();
    let ana = addr("ana", tag);
    assert_eq!(later.run_digests().await.unwrap(), 1);
    let raw = wait_mail(&boss, |m| m.contains("organizer digest")).await;
    let text = String::from_utf8_lossy(&raw);
    assert!(text.contains("multipart/alternative"), "{text}");
    let digest = MessageParser::default().parse(&raw).unwrap();
    assert_eq!(
        sender(&digest),
        (Some("Fête & Co".into()), Some(format!("bot-{tag}@example.test")))
    );
    // The text part is as before: the monospace table and the footer.
    let plain = digest.body_text(0).unwrap().into_owned();
    assert!(
        plain.lines().any(|l| l.trim_end() == "Promoters") && plain.contains("Reply `stop`"),
        "{plain}"
    );
    assert!(
        plain.contains("<b>VIP</b> & co"),
        "the text part is not escaped: {plain}"
    );
    // The HTML part: a real table, header cells, numbers right-aligned, names escaped.
    let html = digest.body_html(0).expect("an HTML part").into_owned();
    assert!(html.contains("<caption"), "{html}");
    assert!(
        html.contains("<th scope=\"col\" style=\"text-align:left;") && html.contains(">Promoter</th>"),
        "{html}"
    );
    assert!(
        html.contains("<th scope=\"col\" style=\"text-align:right;") && html.contains(">Tickets</th>"),
        "{html}"
    );
    assert!(html.contains("&lt;b&gt;VIP&lt;/b&gt; &amp; co</th>"), "{html}");
    assert!(html.contains(&format!(">{ana}</td>")), "{html}");
    assert!(html.contains("<td style=\"text-align:right;"), "{html}");
    assert!(!html.contains("<b>VIP"), "{html}");
    assert!(html.contains("<code>stop</code>"), "the footer too: {html}");
    email.stop().await;
}

#[tokio::test]
async fn a_weekly_digest_mail_shows_the_weeks_chart_inline_above_its_tables() {
    let (_app, _tag, boss, later, email) = digest_due("digchart", "weekly", 8).await;
    assert_eq!(
        later.run_digests().await.unwrap(),
        2,
        "the boss's, and Ana's (weekly by default)"
    );
    let raw = wait_mail(&boss, |m| m.contains("organizer digest")).await;
    let text = String::from_utf8_lossy(&raw);
    assert!(
        text.contains("multipart/alternative") && text.contains("multipart/related"),
        "{text}"
    );
    let digest = MessageParser::default().parse(&raw).unwrap();
    // The text part is intact for clients that show no pictures.
    let plain = digest.body_text(0).unwrap().into_owned();
    assert!(plain.lines().any(|l| l.trim_end() == "Promoters"), "{plain}");
    // The HTML shows the picture by its Content-ID, above the tables.
    let html = digest.body_html(0).expect("an HTML part").into_owned();
    let cid = "chart-summer-fest.png@promoterd";
    let img = html
        .find(&format!("<img src=\"cid:{cid}\""))
        .expect("an inline picture");
    assert!(img < html.find("<table").expect("a table"), "{html}");
    assert!(html.contains("alt=\"Summer Fest, 7 days: no tickets sold\""), "{html}");
    // The picture travels in the mail, inline, and decodes.
    let part = digest
        .parts
        .iter()
        .find(|p| p.content_id() == Some(cid))
        .expect("a part with the picture's Content-ID");
    assert_eq!(
        part.content_type().map(|c| (c.ctype(), c.subtype())),
        Some(("image", Some("png")))
    );
    assert_eq!(png_size(part.contents()).0, 1200);
    email.stop().await;
}
