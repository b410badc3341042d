//! Newcomer polish of the command line (issue 15): `import-orders` names file lines and
//! lists every problem at once, `promoterd outbox` shows what waits to be sent, and the
//! README's first program runs with the shipped sample orders.

use super::support::*;

const HEADER: &str = "order_id,event,status,ordered_at,buyer_name,ticket_type,quantity,unit_price_minor,currency\n";

/// Orders stored, from the dump.
async fn order_count(app: &TestApp) -> usize {
    TestApp::dump_section(&app.dump().await, "orders").lines().count()
}

fn import(app: &TestApp, name: &str, csv: &str) -> Out {
    let path = app.path(name);
    std::fs::write(&path, csv).unwrap();
    app.bin(&["import-orders", path.to_str().unwrap()])
}

/// The problems an import printed, without the file name in front.
fn problems(out: &Out, file: &str) -> Vec<String> {
    out.stderr
        .lines()
        .filter_map(|l| l.split_once(&format!("{file}: ")).map(|(_, p)| p.to_string()))
        .collect()
}

#[tokio::test]
async fn import_orders_names_file_lines_and_lists_every_problem_of_every_row() {
    let app = TestApp::new().await;
    app.world().await;
    let good = format!("{HEADER}G0,summer-fest,paid,2099-05-01T09:00:00Z,Gina,VIP,1,12950,EUR\n");
    assert!(import(&app, "good.csv", &good).ok);
    let before = app.dump().await;
    let stored = order_count(&app).await;
    assert_eq!(stored, 1);
    // Lines 3–4 and 5–6 are one record each (a quoted line break, which a name may not
    // hold); line 7 is blank.
    let csv = format!(
        "{HEADER}\
         G1,summer-fest,paid,2099-05-01T10:00:00Z,Good,VIP,1,12950,EUR\n\
         B1,summer-fest,paid,2099-05-01T10:00:00Z,\"Multi\nLine\",VIP,1,12950,EUR\n\
         B1,summer-fest,paid,2099-05-01T10:00:00Z,\"Multi\nLine\",General Admission,0,4900,USD\n\
         \n\
         B2,summer-fest,paid,2099-05-01T11:00:00Z,,VIP,x,12950,EUR\n\
         B3,summer-fest,paid,2099-05-01T12:00:00Z,,VIP,1,12950,EUR\n\
         B3,summer-fest,cancelled,2099-05-01T12:00:00Z,,VIP,1,12950,EUR\n\
         B4,no-such-event,paid,2099-05-01T13:00:00Z,,VIP,1,12950,EUR\n"
    );
    let out = import(&app, "bad.csv", &csv);
    assert_eq!(out.code, Some(2), "{out:?}");
    let found = problems(&out, "bad.csv");
    let expected = [
        "line 3: order `B1`: buyer_name contains control characters (the order's rows are on lines 3, 5)",
        "line 5: quantity 0 is not between 1 and 10000",
        "line 5: currency `USD` differs from the event's currency EUR",
        "line 8: quantity `x` is not a whole number",
        "line 10: status `cancelled` differs from `paid` on line 9, the first row of order `B3`",
        "line 11: order `B4`: unknown event `no-such-event`",
    ];
    assert_eq!(found.len(), expected.len(), "{}", out.stderr);
    for (f, e) in found.iter().zip(expected) {
        assert!(f.starts_with(e), "expected `{e}…`, got `{f}`\n{}", out.stderr);
    }
    assert!(
        out.stderr
            .contains("6 problem(s) on 5 line(s) (7 row(s) read). Nothing was imported."),
        "{}",
        out.stderr
    );
    assert_eq!(order_count(&app).await, stored, "nothing stored");
    assert_eq!(before, app.dump().await);

    // Conflicts with stored data: every conflicting order is named by its first line.
    let csv = format!(
        "{HEADER}\
         N1,summer-fest,paid,2099-05-02T10:00:00Z,,VIP,1,12950,EUR\n\
         G0,summer-fest,paid,2099-05-01T09:00:00Z,Gina,VIP,2,12950,EUR\n\
         G0,summer-fest,paid,2099-05-01T09:00:00Z,Gina,General Admission,1,4900,EUR\n"
    );
    assert!(import(&app, "other.csv", &csv.replace("G0", "G9")).ok);
    let before = app.dump().await;
    let stored = order_count(&app).await;
    let csv = format!(
        "{csv}G9,summer-fest,paid,2099-05-01T09:00:00Z,Gina,VIP,5,12950,EUR\n\
         N1,summer-fest,paid,2099-05-02T10:00:00Z,,General Admission,7,4900,EUR\n"
    );
    let out = import(&app, "conflict.csv", &csv);
    assert_eq!(out.code, Some(2), "{out:?}");
    let found = problems(&out, "conflict.csv");
    assert!(
        found[0].starts_with("line 2: order `N1` differs from the stored state"),
        "{found:?}"
    );
    assert!(
        found[1].starts_with("line 3: order `G0` differs from the stored state"),
        "{found:?}"
    );
    assert!(
        found[2].starts_with("line 5: order `G9` differs from the stored state"),
        "{found:?}"
    );
    assert_eq!(found.len(), 3, "{found:?}");
    assert!(out.stderr.contains("Nothing was imported"), "{}", out.stderr);
    assert_eq!(order_count(&app).await, stored);
    assert_eq!(before, app.dump().await);
}

/// The line of `text` that mentions `needle`.
fn line_with<'a>(text: &'a str, needle: &str) -> &'a str {
    text.lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with `{needle}` in:\n{text}"))
}

#[tokio::test]
async fn outbox_shows_what_waits_and_hands_over_invite_codes_with_email_off() {
    let app = TestApp::new().await;
    app.create_org();
    app.ok(
        OWNER,
        "newevent summer-fest \"2099-06-01 18:00\" https://tickets.acme.test/summer Summer Fest",
    )
    .await;
    app.ok(OWNER, &format!("invite {ANA}")).await;
    app.ok(OWNER, &format!("invite {BEN} summer-fest")).await;
    let before = app.dump().await;
    let out = app.bin(&["outbox"]);
    assert!(out.ok, "{out:?}");
    assert_eq!(before, app.dump().await, "listing the outbox changes nothing");
    let text = &out.stdout;
    assert!(
        text.contains("email: 2 message(s) (off in this configuration: nothing is sent)"),
        "{text}"
    );
    let ana_code = app.invite_code(ANA).await;
    let ben_code = app.invite_code(BEN).await;
    // The mail is listed with its recipient and kind, and the code is handed over.
    assert!(line_with(text, ANA).contains("queued"), "{text}");
    assert!(line_with(text, ANA).contains("invite"), "{text}");
    let ana_row = line_with(text, "promote every event of Acme Events");
    assert!(ana_row.contains(ANA) && ana_row.ends_with(&ana_code), "{text}");
    let ben_row = line_with(text, "promote Summer Fest (Acme Events)");
    assert!(ben_row.contains(BEN) && ben_row.ends_with(&ben_code), "{text}");
    assert!(
        text.contains(&format!("promoterd console --as {ANA} -c 'accept {ana_code}'")),
        "{text}"
    );
    assert!(
        text.contains("telegram: nothing waiting") && text.contains("discord: nothing waiting"),
        "{text}"
    );

    // The code from the listing works; the accepted invite's mail is no longer something to hand over.
    app.ok(ANA, &format!("accept {ana_code}")).await;
    let text = app.bin(&["outbox"]).stdout;
    assert!(!text.contains(&ana_code), "{text}");
    assert!(line_with(&text, ANA).contains("won't send (invite accepted)"), "{text}");
    assert!(text.contains(&ben_code), "{text}");

    // A resend replaces Ben's code: only the new one is offered.
    app.ok(OWNER, &format!("resend {BEN} summer-fest")).await;
    let new_code = app.invite_code(BEN).await;
    assert_ne!(new_code, ben_code);
    let text = app.bin(&["outbox"]).stdout;
    assert!(!text.contains(&ben_code) && text.contains(&new_code), "{text}");
    assert!(text.contains("won't send (a newer invite mail replaced it)"), "{text}");

    // One message in full; one channel; an unknown id.
    let mail = queued(&app, BEN, "invite").await.pop().unwrap();
    let shown = app.bin(&["outbox", "--show", &mail.id.to_string()]);
    assert!(shown.ok, "{shown:?}");
    assert_eq!(field(&shown.stdout, "To"), BEN);
    assert_eq!(field(&shown.stdout, "Invite code"), new_code);
    assert!(shown.stdout.ends_with(&mail.body), "{}", shown.stdout);
    let text = app.bin(&["outbox", "--channel", "telegram"]).stdout;
    assert!(
        text.contains("telegram: nothing waiting") && !text.contains(BEN),
        "{text}"
    );
    let missing = app.bin(&["outbox", "--show", "999999"]);
    assert!(
        !missing.ok && missing.stderr.contains("no message 999999 in the outbox"),
        "{missing:?}"
    );
}

/// A README shell line as words: quotes group, `#` after a space starts a comment.
fn shell_words(line: &str) -> Vec<String> {
    let (mut words, mut word, mut quote, mut in_word) = (Vec::new(), String::new(), None, false);
    let mut prev_space = true;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => (quote, in_word) = (Some(c), true),
            (None, '#') if prev_space => break,
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                }
                in_word = false;
            }
            (None, c) => {
                in_word = true;
                word.push(c);
            }
        }
        prev_space = c.is_whitespace() && quote.is_none();
    }
    if in_word {
        words.push(word);
    }
    words
}

/// Runs the README's "A first program" with the shipped `examples/orders.csv`, through
/// the binary: every `$P …` line in order, the invite code taken from `outbox` (email is
/// off), the sample's `ref` placeholder replaced by Ana's link code as the README says.
#[tokio::test]
async fn the_readme_first_program_runs_and_imports_the_shipped_sample_orders() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let section = readme
        .split("## A first program, from the console")
        .nth(1)
        .and_then(|s| s.split("\n### ").next())
        .expect("the first-program section");
    for step in [
        "cargo build --release",
        "examples/orders.csv",
        "$P outbox",
        "target/release/promoterd",
    ] {
        assert!(section.contains(step), "the first program mentions `{step}`");
    }
    assert!(
        !section.contains("cargo run"),
        "the first program runs the release binary"
    );
    let sample = std::fs::read_to_string(root.join("examples/orders.csv")).unwrap();
    let file = promoterd::ingest::read_import_csv(sample.as_bytes());
    assert!(file.problems.is_empty(), "{:?}", file.problems);
    let placeholder = "ANA-LINK-CODE";
    assert!(sample.contains(placeholder) && section.contains(placeholder));

    let app = TestApp::new().await;
    let (mut invite_code, mut ana_link): (Option<String>, Option<String>) = (None, None);
    let block = section.split("```sh\n").nth(1).unwrap().split("```").next().unwrap();
    for line in block.lines().filter(|l| l.starts_with("$P ")) {
        let mut args = shell_words(&line[3..]);
        let ana = args.iter().any(|a| a == "ana@example.com");
        for a in &mut args {
            if a.contains("<code>") {
                *a = a.replace("<code>", invite_code.as_ref().expect("outbox ran before accept"));
            }
            if a == "orders.csv" {
                let link = ana_link.as_ref().expect("mylink ran before the import");
                std::fs::write(app.path("orders.csv"), sample.replace(placeholder, link)).unwrap();
                *a = app.path("orders.csv").to_str().unwrap().to_string();
            }
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = app.bin(&args);
        assert!(out.ok, "`{line}` failed: {out:?}");
        if args == ["outbox"] && invite_code.is_none() {
            let accept = line_with(&out.stdout, "promoterd console --as ana@example.com -c 'accept ");
            invite_code = Some(code_after(accept, "'accept "));
        }
        if ana && args.last().is_some_and(|a| a.starts_with("mylink")) {
            ana_link = Some(link_code(&out.stdout));
        }
    }
    // Every order of the sample is stored; Ana's link got the rows with her code.
    let mut ids: Vec<&str> = sample.lines().skip(1).filter_map(|l| l.split(',').next()).collect();
    ids.dedup();
    assert_eq!(order_count(&app).await, ids.len());
    let hers: i64 = sample
        .lines()
        .filter(|l| l.contains(placeholder))
        .map(|l| l.split(',').nth(8).unwrap().parse::<i64>().unwrap())
        .sum();
    assert!(hers > 0);
    let stats = app.ok("ana@example.com", "mystats summer-fest").await;
    assert_eq!(field(&stats, "Tickets"), hers.to_string(), "{stats}");
    // Left as shipped, the sample imports too (as direct sales).
    let out = app.bin(&[
        "import-orders",
        root.join("examples/orders.csv").to_str().unwrap(),
        "--source",
        "shipped",
    ]);
    assert!(out.ok && out.stdout.contains(&format!("{} new", ids.len())), "{out:?}");
}
