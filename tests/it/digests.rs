//! Digests and notifications on a controllable clock: the right local hour across DST,
//! exactly once per period, one catch-up after downtime, coalesced sale notifications,
//! milestones once; delivered through the real Telegram and mail paths.

use super::fake_telegram::{FakeTelegram, TOKEN};
use super::support::*;
use chrono::{DateTime, Duration, Utc};
use promoterd::clock::Clock;
use promoterd::commands::Platform;
use promoterd::ingest::{RawLine, RawOrder};

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn set(clock: &Clock, t: DateTime<Utc>) {
    clock.advance(t - clock.now());
}

async fn runs_of(app: &TestApp, email: &str) -> Vec<String> {
    app.store
        .digest_runs()
        .await
        .unwrap()
        .into_iter()
        .filter(|(e, _, _)| e == email)
        .map(|(_, k, p)| format!("{k} {p}"))
        .collect()
}

/// The standard world, plus a New York organization with its own promoter.
async fn two_zones(app: &TestApp) {
    app.world().await;
    let out = app.bin(&[
        "org",
        "create",
        "NY Shows",
        "--owner",
        "nyboss@ny.test",
        "--time-zone",
        "America/New_York",
    ]);
    assert!(out.ok, "{out:?}");
    app.ok(
        "nyboss@ny.test",
        "newevent ny-gala \"2099-01-01 20:00\" https://tickets.ny.test/gala NY Gala",
    )
    .await;
    app.ok("nyboss@ny.test", "invite nina@ny.test").await;
    let code = app.invite_code("nina@ny.test").await;
    app.ok("nina@ny.test", &format!("accept {code}")).await;
    for who in [ANA, "nina@ny.test"] {
        app.ok(who, "digest daily").await;
    }
}

#[tokio::test]
async fn daily_digests_arrive_at_nine_local_in_two_zones_across_dst_changes() {
    let clock = Clock::fixed(utc("2027-10-28T00:00:00Z"));
    let app = TestApp::with_clock(clock.clone()).await;
    two_zones(&app).await;
    let core = &app.core;
    // Berlin: 09:00 CEST is 07:00 UTC on Saturday 30 Oct 2027, 09:00 CET is 08:00 UTC on the 31st.
    set(&clock, utc("2027-10-30T06:59:00Z"));
    core.run_digests().await.unwrap();
    assert!(
        !runs_of(&app, ANA)
            .await
            .contains(&"promoter acme-events:2027-10-30".to_string())
    );
    set(&clock, utc("2027-10-30T07:00:00Z"));
    core.run_digests().await.unwrap();
    assert!(
        runs_of(&app, ANA)
            .await
            .contains(&"promoter acme-events:2027-10-30".to_string())
    );
    set(&clock, utc("2027-10-31T07:30:00Z"));
    core.run_digests().await.unwrap();
    assert!(
        !runs_of(&app, ANA).await.iter().any(|r| r.ends_with("2027-10-31")),
        "08:30 local after the change: not yet"
    );
    set(&clock, utc("2027-10-31T08:00:00Z"));
    core.run_digests().await.unwrap();
    assert!(runs_of(&app, ANA).await.iter().any(|r| r.ends_with("2027-10-31")));
    // New York: 09:00 EDT is 13:00 UTC on 6 Nov 2027; 09:00 EST is 14:00 UTC on the 8th.
    set(&clock, utc("2027-11-06T13:00:00Z"));
    core.run_digests().await.unwrap();
    assert!(
        runs_of(&app, "nina@ny.test")
            .await
            .contains(&"promoter ny-shows:2027-11-06".to_string())
    );
    set(&clock, utc("2027-11-08T13:30:00Z"));
    core.run_digests().await.unwrap();
    assert!(
        !runs_of(&app, "nina@ny.test")
            .await
            .iter()
            .any(|r| r.ends_with("2027-11-08"))
    );
    set(&clock, utc("2027-11-08T14:00:00Z"));
    core.run_digests().await.unwrap();
    assert!(
        runs_of(&app, "nina@ny.test")
            .await
            .iter()
            .any(|r| r.ends_with("2027-11-08"))
    );
}

#[tokio::test]
async fn racing_schedulers_send_once_and_downtime_yields_one_catch_up() {
    let clock = Clock::fixed(utc("2027-10-31T12:00:00Z"));
    let app = TestApp::with_clock(clock.clone()).await;
    two_zones(&app).await;
    set(&clock, utc("2027-11-01T08:30:00Z"));
    // Two scheduler passes at once (two daemons, or a restart racing the old one).
    let other = promoterd::commands::Core::new(app.store.clone(), clock.clone(), app.core.settings.clone());
    let (a, b) = tokio::join!(app.core.run_digests(), other.run_digests());
    let total = a.unwrap() + b.unwrap();
    let runs = app.store.digest_runs().await.unwrap();
    assert_eq!(total, runs.len(), "every queued digest was claimed once");
    assert_eq!(runs.iter().filter(|(e, _, _)| e == ANA).count(), 1);
    assert_eq!(
        queued(&app, ANA, "digest").await.len(),
        1,
        "one digest mail for one period"
    );
    app.core.run_digests().await.unwrap();
    assert_eq!(
        queued(&app, ANA, "digest").await.len(),
        1,
        "a second pass in the same period sends nothing"
    );
    // A week of downtime: one catch-up for the latest period, not seven.
    clock.advance(Duration::days(7));
    app.core.run_digests().await.unwrap();
    assert_eq!(queued(&app, ANA, "digest").await.len(), 2);
    assert_eq!(runs_of(&app, ANA).await.len(), 2);
}

#[tokio::test]
async fn promoter_digests_show_only_their_numbers_and_organizer_digests_everyone() {
    let clock = Clock::fixed(utc("2027-10-31T12:00:00Z"));
    let app = TestApp::with_clock(clock.clone()).await;
    app.world().await;
    set(&clock, utc("2027-11-01T08:30:00Z"));
    for who in [ANA, BEN, OWNER] {
        app.ok(who, "digest daily").await;
    }
    let ben_link = link_code(&app.ok(BEN, "mylink").await);
    let order = RawOrder {
        order_id: "G1".into(),
        event: "summer-fest".into(),
        status: "paid".into(),
        ordered_at: "2027-10-30T10:00:00Z".into(),
        ref_code: Some(ben_link),
        buyer_name: Some("Gus Buyer".into()),
        lines: vec![RawLine {
            ticket_type: "VIP".into(),
            quantity: 3,
            refunded_quantity: 0,
            unit_price_minor: 12950,
            refunded_minor: 0,
            currency: "EUR".into(),
        }],
        ..Default::default()
    };
    let valid = promoterd::ingest::validate(&app.store, "checkout", &order, None)
        .await
        .unwrap();
    promoterd::ingest::apply(&app.store, &clock, &[valid]).await.unwrap();
    app.core.run_digests().await.unwrap();
    let ana = queued(&app, ANA, "digest").await.pop().unwrap().body;
    assert!(
        ana.contains("■ Summer Fest") && ana.contains("Tickets        0"),
        "{ana}"
    );
    assert!(
        !ana.contains(BEN) && !ana.contains("388.50"),
        "Ana's digest shows nothing of Ben:\n{ana}"
    );
    let ben = queued(&app, BEN, "digest").await.pop().unwrap().body;
    assert!(
        ben.contains("Tickets        3") && ben.contains("388.50 EUR") && !ben.contains("Gus"),
        "{ben}"
    );
    let boss = queued(&app, OWNER, "digest").await.pop().unwrap().body;
    assert!(
        boss.contains(ANA) && boss.contains(BEN) && boss.contains("Reply `export <event>`"),
        "{boss}"
    );
}

fn order(n: usize, link: &str) -> RawOrder {
    RawOrder {
        order_id: format!("N{n}"),
        event: "summer-fest".into(),
        status: "paid".into(),
        ordered_at: "2027-11-01T10:00:00Z".into(),
        ref_code: Some(link.into()),
        buyer_name: Some(format!("Buyer {n}")),
        lines: vec![RawLine {
            ticket_type: if n.is_multiple_of(4) {
                "VIP".into()
            } else {
                "General Admission".into()
            },
            quantity: 1,
            refunded_quantity: 0,
            unit_price_minor: if n.is_multiple_of(4) { 12950 } else { 4900 },
            refunded_minor: 0,
            currency: "EUR".into(),
        }],
        ..Default::default()
    }
}

#[tokio::test]
async fn a_burst_of_orders_yields_a_few_coalesced_notifications_and_each_milestone_once() {
    let clock = Clock::fixed(utc("2027-11-01T10:00:00Z"));
    let app = TestApp::with_clock(clock.clone()).await;
    app.world().await;
    let link = link_code(&app.ok(BEN, "mylink").await);
    clock.advance(Duration::minutes(30));
    let ingest = |range: std::ops::Range<usize>| {
        let (store, clock, link) = (app.store.clone(), clock.clone(), link.clone());
        async move {
            let mut valid = Vec::new();
            for n in range {
                valid.push(
                    promoterd::ingest::validate(&store, "checkout", &order(n, &link), None)
                        .await
                        .unwrap(),
                );
            }
            promoterd::ingest::apply(&store, &clock, &valid).await.unwrap();
        }
    };
    let mut notes = Vec::new();
    // 100 orders over 12 minutes, the scheduler passing every minute.
    for minute in 0..12 {
        ingest(minute * 100 / 12..(minute + 1) * 100 / 12).await;
        let (n, _) = app.core.run_notifications().await.unwrap();
        notes.push(n);
        clock.advance(Duration::minutes(1));
    }
    clock.advance(Duration::minutes(10));
    notes.push(app.core.run_notifications().await.unwrap().0);
    let total: usize = notes.iter().sum();
    assert!(
        (2..=4).contains(&total),
        "a handful of notifications, not 100: {notes:?}"
    );
    let notified = queued(&app, BEN, "notification").await;
    let sent: Vec<&str> = notified.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(sent.len(), total);
    let tickets: i64 = sent
        .iter()
        .map(|b| {
            let line = b.lines().find(|l| l.contains(" tickets, ")).unwrap();
            line.split(": ")
                .last()
                .unwrap()
                .split(' ')
                .next()
                .unwrap()
                .parse::<i64>()
                .unwrap()
        })
        .sum();
    assert_eq!(
        tickets, 100,
        "the coalesced messages add up to every ticket:\n{sent:#?}"
    );
    assert!(sent.iter().all(|b| !b.contains("Buyer")), "no buyer data");
    assert!(
        sent[0].contains("× General Admission via main") && sent[0].contains("× VIP via main"),
        "{}",
        sent[0]
    );
    let milestone_rows = queued(&app, BEN, "milestone").await;
    let milestones: Vec<&str> = milestone_rows.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(milestones.len(), 4, "10, 25, 50 and 100, once each: {milestones:#?}");
    for m in [10, 25, 50, 100] {
        assert_eq!(
            milestones
                .iter()
                .filter(|b| b.contains(&format!("sold {m} tickets")))
                .count(),
            1,
            "{m}"
        );
    }
    // Nothing new: no more messages.
    clock.advance(Duration::hours(1));
    assert_eq!(app.core.run_notifications().await.unwrap(), (0, 0));
}

#[tokio::test]
async fn digests_and_notifications_reach_a_telegram_user_through_the_bot_api() {
    let clock = Clock::fixed(utc("2027-10-31T12:00:00Z"));
    let app = TestApp::with_clock(clock.clone()).await;
    app.world().await;
    set(&clock, utc("2027-11-01T08:30:00Z"));
    app.link_chat(Platform::Telegram, "8001", BEN).await;
    app.ok(BEN, "digest daily").await;
    let fake = FakeTelegram::start().await;
    let tg = promoterd::telegram::Telegram::connect(app.core.clone(), TOKEN, Some(&fake.url), None)
        .await
        .unwrap();
    let (_stop, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(tg.clone().drain_outbox(rx));
    app.core.run_digests().await.unwrap();
    let sent = fake.wait_for(8001, &["sendmessage"], 1).await;
    let text = sent[0].params["text"].as_str().unwrap();
    assert!(
        text.contains("promoter digest") && text.contains("<b>Tickets</b>: 0"),
        "{text}"
    );
    assert!(queued(&app, BEN, "digest").await.is_empty(), "not by email too");
}

#[tokio::test]
async fn stop_ends_notification_mail_and_asking_again_brings_it_back() {
    let clock = Clock::fixed(utc("2027-11-01T10:00:00Z"));
    let app = TestApp::with_clock(clock.clone()).await;
    app.world().await;
    let link = link_code(&app.ok(BEN, "mylink").await);
    app.ok(BEN, "stop").await;
    clock.advance(Duration::minutes(30));
    let sell = |n: usize| {
        let (store, clock, link) = (app.store.clone(), clock.clone(), link.clone());
        async move {
            let valid = promoterd::ingest::validate(&store, "checkout", &order(n, &link), None)
                .await
                .unwrap();
            promoterd::ingest::apply(&store, &clock, &[valid]).await.unwrap();
        }
    };
    sell(1).await;
    app.core.run_notifications().await.unwrap();
    assert_eq!(queued(&app, BEN, "notification").await.len(), 0, "no mail after `stop`");
    app.ok(BEN, "notify on").await;
    clock.advance(Duration::minutes(10));
    sell(2).await;
    app.core.run_notifications().await.unwrap();
    assert_eq!(
        queued(&app, BEN, "notification").await.len(),
        1,
        "`notify on` undoes `stop`"
    );
}

#[tokio::test]
async fn discord_users_get_digests_as_dms_and_closed_dms_fall_back_to_email() {
    use super::fake_discord::{APP_ID, FakeDiscord};
    let clock = Clock::fixed(utc("2027-10-31T12:00:00Z"));
    let app = TestApp::with_clock(clock.clone()).await;
    app.world().await;
    app.link_chat(Platform::Discord, "9100", BEN).await;
    app.ok(BEN, "digest daily").await;
    let link = link_code(&app.ok(BEN, "mylink").await);
    set(&clock, utc("2027-11-01T08:30:00Z"));
    let fake = FakeDiscord::start().await;
    let http = promoterd::discord::Discord::http_client("Bot.TEST", APP_ID, Some(&fake.url));
    let discord = promoterd::discord::Discord::new(app.core.clone(), http, None).unwrap();
    let (_stop, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(discord.clone().drain_outbox(rx));
    app.core.run_digests().await.unwrap();
    let dm = fake
        .wait_for(1, |c| c.path.ends_with("/messages") && c.status == 200)
        .await;
    assert!(dm[0].json.to_string().contains("promoter digest"), "{}", dm[0].json);
    // The outbox row names the message, and Discord is asked to drop a repeat of it.
    let nonce = dm[0].json["nonce"].as_str().unwrap_or_default();
    assert!(nonce.starts_with("promoterd-") && nonce.len() <= 25, "{}", dm[0].json);
    assert_eq!(dm[0].json["enforce_nonce"], serde_json::json!(true), "{}", dm[0].json);
    // DMs closed: the next message is marked and goes by email instead.
    fake.close_dms();
    clock.advance(Duration::minutes(30));
    let valid = promoterd::ingest::validate(&app.store, "checkout", &order(1, &link), None)
        .await
        .unwrap();
    promoterd::ingest::apply(&app.store, &clock, &[valid]).await.unwrap();
    assert_eq!(app.core.run_notifications().await.unwrap().0, 1);
    wait_until(
        "the closed DM's notification falls back to mail",
        std::time::Duration::from_secs(10),
        || async {
            app.core.chat_queued.notify_waiters();
            !queued(&app, BEN, "notification").await.is_empty()
        },
    )
    .await;
    assert!(
        app.store
            .chat_unreachable(promoterd::commands::Platform::Discord, "9100")
            .await
            .unwrap(),
        "closed DMs recorded"
    );
    let by_mail = app.store.pending_messages_to(BEN).await.unwrap();
    assert!(
        by_mail
            .iter()
            .any(|m| m.kind == "notification" && m.body.contains("1 × General Admission")),
        "{by_mail:#?}"
    );
}

#[tokio::test]
async fn a_refund_is_reported_once_and_later_updates_of_that_order_are_quiet() {
    let clock = Clock::fixed(utc("2027-11-01T10:00:00Z"));
    let app = TestApp::with_clock(clock.clone()).await;
    app.world().await;
    let link = link_code(&app.ok(BEN, "mylink").await);
    clock.advance(Duration::minutes(30));
    let put = |raw: RawOrder| {
        let (store, clock) = (app.store.clone(), clock.clone());
        async move {
            let valid = promoterd::ingest::validate(&store, "checkout", &raw, None)
                .await
                .unwrap();
            promoterd::ingest::apply(&store, &clock, &[valid]).await.unwrap();
        }
    };
    let mut first = order(1, &link);
    first.lines[0].quantity = 2;
    put(first.clone()).await;
    assert_eq!(app.core.run_notifications().await.unwrap().0, 1);
    // One of the two tickets is refunded, later.
    clock.advance(Duration::minutes(10));
    let mut refunded = first.clone();
    refunded.lines[0].refunded_quantity = 1;
    refunded.updated_at = Some("2027-11-01T11:00:00Z".into());
    put(refunded.clone()).await;
    assert_eq!(app.core.run_notifications().await.unwrap().0, 1);
    // A later change that does not move the tickets (a corrected phone number).
    clock.advance(Duration::minutes(10));
    let mut touched = refunded.clone();
    touched.buyer_phone = Some("+1 555 0100".into());
    touched.updated_at = Some("2027-11-01T12:00:00Z".into());
    put(touched).await;
    assert_eq!(app.core.run_notifications().await.unwrap().0, 0, "nothing new to tell");
    let bodies: Vec<String> = queued(&app, BEN, "notification")
        .await
        .into_iter()
        .map(|m| m.body)
        .collect();
    assert_eq!(bodies.len(), 2);
    assert!(bodies[0].contains("2 tickets"), "{}", bodies[0]);
    assert!(
        bodies[1].contains("1 ticket(s) were refunded") && !bodies[1].contains("tickets,"),
        "{}",
        bodies[1]
    );
}
