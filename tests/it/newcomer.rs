//! What a first real run tripped over (issue 15): each test failed on the code before
//! its fix.

use super::support::*;

#[tokio::test]
async fn myorders_shows_times_in_the_organizations_zone_and_says_which() {
    let app = TestApp::new().await;
    app.world().await; // Acme Events is in Europe/Berlin
    let code = link_code(&app.ok(BEN, "mylink summer-fest").await);
    let csv = format!(
        "order_id,event,status,ordered_at,ref,ticket_type,quantity,unit_price_minor,currency\n\
         Z1,summer-fest,paid,2099-05-01T10:00:00Z,{code},VIP,1,12950,EUR\n"
    );
    let path = app.path("orders.csv");
    std::fs::write(&path, csv).unwrap();
    assert!(app.bin(&["import-orders", path.to_str().unwrap()]).ok);
    let orders = app.ok(BEN, "myorders").await;
    // 10:00 UTC is 12:00 in Berlin (CEST) on 1 May.
    assert!(orders.contains("2099-05-01 12:00"), "{orders}");
    assert!(!orders.contains("10:00"), "{orders}");
    assert!(orders.contains("Europe/Berlin"), "the zone is named:\n{orders}");
}

#[tokio::test]
async fn after_stop_the_digest_settings_say_what_is_sent() {
    let app = TestApp::new().await;
    app.world().await;
    app.ok(ANA, "digest daily").await;
    app.ok(ANA, "stop").await;
    let prefs = app.ok(ANA, "digest").await;
    assert!(field(&prefs, "Digest").starts_with("stopped by `stop`"), "{prefs}");
    assert!(prefs.contains("no digests or notifications are sent"), "{prefs}");
    // Asking again undoes the stop.
    let again = app.ok(ANA, "digest daily").await;
    assert!(field(&again, "Digest").starts_with("daily"), "{again}");
}

#[tokio::test]
async fn invite_mails_queued_while_mail_was_off_are_dropped_once_answered_or_cancelled() {
    use super::email::{addr, inbox, mail_app, org_with_event, wait_mail};
    let (app, tag) = mail_app("stale").await;
    let (boss, ana, cara, dan) = (
        addr("boss", &tag),
        addr("ana", &tag),
        addr("cara", &tag),
        addr("dan", &tag),
    );
    org_with_event(&app, &boss).await;
    for who in [&ana, &cara, &dan] {
        app.ok(&boss, &format!("invite {who} summer-fest")).await;
    }
    // While mail is off, the organizer hands Ana her code and cancels Cara's invite.
    let code = app.invite_code(&ana).await;
    app.ok(&ana, &format!("accept {code}")).await;
    app.ok(&boss, &format!("cancelinvite {cara} summer-fest")).await;

    let email = promoterd::email::EmailFrontend::start(&app.core, &app.config())
        .unwrap()
        .unwrap();
    // Dan's invite, queued last, arrives: the sender has looked at all three.
    wait_mail(&dan, |m| m.contains("invites you to promote")).await;
    for who in [&ana, &cara] {
        assert!(
            !inbox(who)
                .await
                .iter()
                .any(|m| String::from_utf8_lossy(m).contains("invites you to promote")),
            "{who} got an invite that no longer applied"
        );
    }
    let rows = dump_rows(&TestApp::dump_section(&app.dump().await, "outbox"));
    for (who, why) in [(&ana, "the invite is accepted"), (&cara, "the invite is cancelled")] {
        assert!(
            rows.iter()
                .any(|r| r.contains(&format!("|'{who}'|'invite'|"))
                    && r.contains(&format!("dropped before sending: {why}"))),
            "{who}: {rows:#?}"
        );
    }
    // The organizer's list says what each last mail did.
    let invites = app.ok(&boss, "invites summer-fest").await;
    assert!(row(&invites, &dan).iter().any(|c| c.starts_with("sent ")), "{invites}");
    assert!(
        row(&invites, &ana).iter().any(|c| c.starts_with("not sent: dropped")),
        "{invites}"
    );
    email.stop().await;
}

#[tokio::test]
async fn the_invite_list_says_queued_until_the_mail_is_sent() {
    let app = TestApp::new().await;
    app.world().await;
    app.ok(OWNER, "invite zoe@promo.test summer-fest").await;
    let invites = app.ok(OWNER, "invites summer-fest").await;
    let zoe = row(&invites, "zoe@promo.test");
    assert!(zoe.contains(&"queued".to_string()), "{invites}");
    assert!(!invites.contains("Sent"), "{invites}");
}

/// The rows of a dump section; a row starts with its id and may span lines.
fn dump_rows(section: &str) -> Vec<String> {
    let mut rows: Vec<String> = Vec::new();
    for line in section.lines() {
        let starts_row = line
            .split_once('|')
            .is_some_and(|(id, _)| !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()));
        match rows.last_mut() {
            Some(row) if !starts_row => {
                row.push('\n');
                row.push_str(line);
            }
            _ => rows.push(line.to_string()),
        }
    }
    rows
}

#[test]
fn config_errors_say_what_to_do_once() {
    let dir = tempfile::tempdir().unwrap();
    let run = |config: &std::path::Path| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_promoterd"))
            .arg("--config")
            .arg(config)
            .arg("migrate")
            .output()
            .unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let missing = run(&dir.path().join("nope.toml"));
    assert!(missing.contains("copy config.example.toml to"), "{missing}");
    assert_eq!(missing.matches("No such file or directory").count(), 1, "{missing}");
    let broken = dir.path().join("broken.toml");
    std::fs::write(&broken, "[http]\nlisten = 5\n").unwrap();
    let err = run(&broken);
    assert!(
        err.contains("line 2") && !err.contains("copy config.example.toml"),
        "{err}"
    );
}

#[tokio::test]
async fn a_permanent_smtp_refusal_fails_at_once_and_tells_the_inviter() {
    use super::email::{addr, mail_app, org_with_event, wait_mail};
    let (app, tag) = mail_app("perm").await;
    let (boss, ghost) = (addr("boss", &tag), addr("nouser-ghost", &tag));
    org_with_event(&app, &boss).await;
    app.ok(&boss, &format!("invite {ghost} summer-fest")).await;
    let email = promoterd::email::EmailFrontend::start(&app.core, &app.config())
        .unwrap()
        .unwrap();
    // The organizer is told, by mail since they have no chat account.
    let notice = super::email::read(&wait_mail(&boss, |m| m.contains("Subject: Invite not delivered")).await).text;
    assert!(notice.contains(&ghost) && notice.contains("5.1.1"), "{notice}");
    assert_eq!(notice.matches("User unknown").count(), 1, "the reason once: {notice}");
    // The invite mail was tried once and given up, with the server's reason.
    let invite = app.store.outbox_of(&ghost).await.unwrap().remove(0);
    assert_eq!(
        (invite.kind.as_str(), invite.attempts),
        ("invite", 1),
        "no retry with backoff"
    );
    assert!(invite.sent_at.is_none() && invite.failed_at.is_some());
    assert!(
        invite.last_error.as_deref().unwrap_or("").contains("User unknown"),
        "{invite:?}"
    );
    email.stop().await;
}

/// The `commands` counter of a front-end in the core's `/metrics` text.
fn commands_counted(app: &TestApp, frontend: &str) -> u64 {
    let text = app.core.metrics.render();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("promoterd_commands_total{{frontend=\"{frontend}\"}} ")))
        .map(|v| v.trim().parse().unwrap())
        .unwrap_or(0)
}

#[tokio::test]
async fn digests_are_not_counted_as_console_commands() {
    let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc();
    let clock = promoterd::clock::Clock::fixed(at("2027-10-31T12:00:00Z"));
    let app = TestApp::with_clock(clock.clone()).await;
    app.world().await;
    for who in [ANA, BEN, OWNER] {
        app.ok(who, "digest daily").await;
    }
    clock.advance(at("2027-11-01T08:30:00Z") - clock.now()); // 09:30 in Berlin
    let before = commands_counted(&app, "console");
    assert!(before > 0, "the commands the test ran are counted");
    app.core.run_digests().await.unwrap();
    for who in [ANA, BEN, OWNER] {
        assert_eq!(queued(&app, who, "digest").await.len(), 1, "{who} has a digest");
    }
    assert_eq!(
        commands_counted(&app, "console"),
        before,
        "the stats a digest shows were not commands anyone sent"
    );
}

#[tokio::test]
async fn a_bare_export_is_every_event_of_the_organization_on_every_channel_and_help_says_so() {
    let app = TestApp::new().await;
    app.world().await;
    app.ok(
        OWNER,
        "newevent winter-fest \"2099-12-01 18:00\" https://tickets.acme.test/winter Winter Fest",
    )
    .await;
    let ana = link_code(&app.ok(ANA, "mylink winter-fest").await);
    let ben = link_code(&app.ok(BEN, "mylink summer-fest").await);
    let csv = format!(
        "order_id,event,status,ordered_at,ref,ticket_type,quantity,unit_price_minor,currency\n\
         S1,summer-fest,paid,2099-05-01T10:00:00Z,{ben},VIP,1,12950,EUR\n\
         W1,winter-fest,paid,2099-05-02T10:00:00Z,{ana},GA,2,3000,EUR\n"
    );
    std::fs::write(app.path("o.csv"), csv).unwrap();
    assert!(app.bin(&["import-orders", app.path("o.csv").to_str().unwrap()]).ok);
    let help = app.ok(OWNER, "help export").await;
    assert!(help.contains("every event of the organization"), "{help}");
    // The console…
    let file = saved_file(&app.ok(OWNER, "export").await);
    let text = std::fs::read_to_string(file).unwrap();
    assert!(text.contains("\"S1\"") && text.contains("\"W1\""), "{text}");
    // …and a chat account linked to the owner export the same rows.
    app.link_chat(promoterd::commands::Platform::Telegram, "4242", OWNER)
        .await;
    let reply = app
        .chat(promoterd::commands::Platform::Telegram, "4242", "export")
        .await;
    let attachment = reply.attachments.first().expect("a CSV attachment");
    let chat_text = String::from_utf8(attachment.data.clone()).unwrap();
    assert_eq!(chat_text, text, "the same file on every channel");
}

#[tokio::test]
async fn an_organizer_invite_offers_no_chat_shortcut_a_code_alone_cannot_use() {
    let app = TestApp::custom(promoterd::clock::Clock::system(), |t| {
        t.edit("# bot_username = \"my_promoter_bot\"", "bot_username = \"acme_bot\"")
    })
    .await;
    app.world().await;
    app.ok(OWNER, "invite dee@promo.test summer-fest").await;
    app.ok(OWNER, "inviteadmin sky@acme.test").await;
    let body = |who: &'static str| {
        let app = &app;
        async move {
            let mails = app.store.pending_messages_to(who).await.unwrap();
            mails.into_iter().rfind(|m| m.kind == "invite").unwrap().body
        }
    };
    let promoter = body("dee@promo.test").await;
    assert!(promoter.contains("https://t.me/acme_bot?start="), "{promoter}");
    let organizer = body("sky@acme.test").await;
    assert!(
        !organizer.contains("t.me/"),
        "no one-tap link for an organizer invite:\n{organizer}"
    );
    assert!(
        organizer.contains("once that account is linked to this address"),
        "{organizer}"
    );
    // …and indeed a code alone from chat does not make an organizer.
    let code = app.invite_code("sky@acme.test").await;
    chat_refused(
        &app,
        promoterd::commands::Platform::Telegram,
        "555",
        &format!("accept {code}"),
        "",
    )
    .await;
}
