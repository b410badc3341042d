//! The replies people read, as each front-end renders them, pinned with insta: a
//! change in wording or layout shows up as a snapshot diff to review
//! (`cargo insta review`, or set INSTA_UPDATE=always and read the .snap diff).

use super::support::*;
use promoterd::clock::Clock;
use promoterd::commands::Origin;
use promoterd::reply::Reply;

/// A world on a fixed clock with one order through Ben's link and one through Ana's
/// sub-promoter link; random codes are replaced by stable names before a snapshot.
async fn world() -> (TestApp, Vec<(String, &'static str)>) {
    let at = chrono::DateTime::parse_from_rfc3339("2027-05-03T12:00:00Z")
        .unwrap()
        .to_utc();
    let app = TestApp::with_clock(Clock::fixed(at)).await;
    app.world().await;
    app.ok(BEN, "name Ben B.").await;
    let ben = link_code(&app.ok(BEN, "mylink summer-fest").await);
    let cleo = link_code(&app.ok(ANA, "newlink flyers summer-fest --for Cleo").await);
    let csv = format!(
        "order_id,event,status,ordered_at,ref,buyer_name,buyer_email,ticket_type,quantity,unit_price_minor,currency\n\
         S1,summer-fest,paid,2027-05-01T10:00:00Z,{ben},Mia <b>Buyer</b>,mia@buyer.test,VIP,2,12950,EUR\n\
         S2,summer-fest,partially_refunded,2027-05-02T18:30:00Z,{cleo},Noah,noah@buyer.test,General Admission,3,4900,EUR\n"
    );
    std::fs::write(app.path("o.csv"), csv).unwrap();
    let out = app.bin(&["import-orders", app.path("o.csv").to_str().unwrap()]);
    assert!(out.ok, "{out:?}");
    app.ok(OWNER, "setleaderboard on").await;
    (app, vec![(ben, "BEN-LINK"), (cleo, "CLEO-LINK")])
}

async fn reply(app: &TestApp, who: &str, line: &str) -> Reply {
    let origin = Origin::Console { email: who.into() };
    app.core.execute(&origin, line).await
}

/// The reply as the console and email text, Telegram HTML, a Discord embed and the
/// HTML part of a mail show it, with codes named.
fn rendered(reply: &Reply, codes: &[(String, &'static str)]) -> String {
    let embed = serde_json::to_string_pretty(&promoterd::discord::render::embed(reply)).unwrap();
    let mut out = format!(
        "## text (console, email)\n{}\n## telegram\n{}\n## discord\n{embed}\n## email html\n{}\n",
        reply.to_plain(),
        promoterd::telegram::render::render(reply).join("\n---\n"),
        promoterd::reply::html::reply_html(reply, "footer"),
    );
    for (code, name) in codes {
        out = out.replace(code.as_str(), name);
    }
    out
}

#[tokio::test]
async fn the_organizers_stats() {
    let (app, codes) = world().await;
    let r = reply(&app, OWNER, "stats summer-fest").await;
    assert!(!r.is_error);
    insta::assert_snapshot!(rendered(&r, &codes));
}

#[tokio::test]
async fn a_promoters_own_stats_and_orders() {
    let (app, codes) = world().await;
    let r = reply(&app, BEN, "mystats summer-fest").await;
    insta::assert_snapshot!("mystats", rendered(&r, &codes));
    let r = reply(&app, ANA, "myorders summer-fest").await;
    insta::assert_snapshot!("myorders", rendered(&r, &codes));
}

#[tokio::test]
async fn the_leaderboard_for_a_promoter() {
    let (app, codes) = world().await;
    let r = reply(&app, ANA, "leaderboard summer-fest").await;
    insta::assert_snapshot!(rendered(&r, &codes));
}

#[tokio::test]
async fn help_for_a_promoter_and_a_refusal() {
    let (app, codes) = world().await;
    let r = reply(&app, BEN, "help").await;
    insta::assert_snapshot!("help", rendered(&r, &codes));
    let r = reply(&app, BEN, "export summer-fest").await;
    assert!(r.is_error);
    insta::assert_snapshot!("refusal", rendered(&r, &codes));
}
