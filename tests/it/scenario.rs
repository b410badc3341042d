//! The seed story end to end through the console binary on a real SQLite file.

use super::support::*;
use promoterd::store::ClickBatch;

fn assert_ok(out: &Out) -> &str {
    assert!(out.ok, "command failed: {out:#?}");
    &out.stdout
}

#[tokio::test]
async fn seed_story_end_to_end() {
    let app = TestApp::new().await;
    app.create_org();
    let c = |who: &str, line: &str| {
        let out = app.console(who, line);
        assert_ok(&out).to_string()
    };

    // An organizer creates an event with two ticket types.
    c(
        OWNER,
        "newevent summer-fest \"2099-06-01 18:00\" https://tickets.acme.test/summer Summer Fest",
    );
    c(
        OWNER,
        "newevent winter-ball \"2099-12-12 20:00\" https://tickets.acme.test/winter Winter Ball",
    );
    c(OWNER, "newtickettype summer-fest 49 General Admission");
    c(OWNER, "newtickettype summer-fest 129.50 VIP");
    let types = c(OWNER, "tickettypes summer-fest");
    assert_eq!(row(&types, "VIP"), ["129.50 EUR", "0"], "price and order lines");

    // One promoter at organization level, one at event level; both accept.
    c(OWNER, &format!("invite {ANA}"));
    c(OWNER, &format!("invite {BEN} summer-fest"));
    let ana_code = app.invite_code(ANA).await;
    let ben_code = app.invite_code(BEN).await;
    let accepted = c(ANA, &format!("accept {ana_code}"));
    assert!(
        accepted.contains("a promoter of Acme Events (all events)"),
        "{accepted}"
    );
    let accepted = c(BEN, &format!("accept {ben_code}"));
    let ben_link = link_code(&accepted);

    // Ben ignores a second invite.
    c(OWNER, &format!("invite {BEN} winter-ball"));
    let second = app.invite_code(BEN).await;
    assert_ne!(second, ben_code);
    assert!(c(BEN, &format!("ignore {second}")).contains("Invite declined"));
    let promoters = c(OWNER, "promoters");
    assert!(promoters.contains("ignored"), "{promoters}");

    // Each gets a link; Ana adds a channel link and a sub-promoter link.
    let mylink = c(ANA, "mylink summer-fest");
    let ana_main = link_code(&mylink);
    assert!(
        app.path(&format!("summer-fest-{ana_main}.png")).exists(),
        "QR code saved"
    );
    assert_eq!(
        link_code(&c(ANA, "mylink summer-fest")),
        ana_main,
        "the main link is stable"
    );
    let insta = link_code(&c(ANA, "newlink instagram summer-fest"));
    let cleo = link_code(&c(ANA, "newlink flyers summer-fest --for Cleo"));
    let venue = link_code(&c(OWNER, "orglink summer-fest Venue newsletter"));
    assert_eq!(link_code(&c(BEN, "mylink")), ben_link, "Ben's only event is picked");

    // Clicks, through the same batch writer the HTTP server uses.
    let mut batch = ClickBatch::default();
    let id = |code: &str| {
        let store = app.store.clone();
        let code = code.to_string();
        async move { store.link_by_code(&code).await.unwrap().unwrap().id }
    };
    for (code, clicks) in [(&ana_main, 10), (&insta, 6), (&cleo, 4), (&ben_link, 8), (&venue, 5)] {
        let visitors = (0..clicks).map(|i| [i as u8; 16]).collect();
        batch.rows.push((id(code).await, "2099-05-01".into(), clicks, visitors));
    }
    app.store.record_clicks(&batch).await.unwrap();

    // Orders through import-orders; a hostile buyer name; Ana buys one herself.
    let header = "order_id,event,status,ordered_at,updated_at,ref,buyer_name,buyer_email,buyer_phone,ticket_type,quantity,refunded_quantity,unit_price_minor,currency";
    let orders = format!(
        "{header}\n\
         A1,summer-fest,paid,2099-05-01T10:00:00Z,,{ana_main},Zoe Buyer,zoe@buyer.test,+49 30 1234,General Admission,2,0,4900,EUR\n\
         A2,summer-fest,paid,2099-05-01T11:00:00Z,,{insta},\"=HYPERLINK(\"\"http://evil.test\"\",\"\"x\"\")\",evil@buyer.test,,VIP,1,0,12950,EUR\n\
         A3,summer-fest,paid,2099-05-01T12:00:00Z,,{cleo},Yan Buyer,yan@buyer.test,,General Admission,1,0,4900,EUR\n\
         A3,summer-fest,paid,2099-05-01T12:00:00Z,,{cleo},Yan Buyer,yan@buyer.test,,VIP,1,0,12950,EUR\n\
         A4,summer-fest,paid,2099-05-01T12:30:00Z,,{ana_main},Ana Self,{ANA},,General Admission,1,0,4900,EUR\n\
         B1,summer-fest,paid,2099-05-02T09:00:00Z,,{ben_link},Xia Buyer,xia@buyer.test,,General Admission,3,0,4900,EUR\n\
         D1,summer-fest,paid,2099-05-02T10:00:00Z,,,Direct Buyer,direct@buyer.test,,General Admission,1,0,4900,EUR\n\
         O1,summer-fest,paid,2099-05-02T11:00:00Z,,{venue},Venue Buyer,venue@buyer.test,,VIP,2,0,12950,EUR\n"
    );
    std::fs::write(app.path("orders.csv"), orders).unwrap();
    let out = app.bin(&["import-orders", app.path("orders.csv").to_str().unwrap()]);
    assert!(assert_ok(&out).contains("Imported 7 order(s): 7 new"), "{out:?}");
    // Importing the same file again changes nothing.
    let before = app.dump().await;
    let out = app.bin(&["import-orders", app.path("orders.csv").to_str().unwrap()]);
    assert!(assert_ok(&out).contains("7 unchanged"), "{out:?}");
    assert_eq!(before, app.dump().await, "a re-import changes nothing");

    // One of Ben's tickets is refunded: a later state of the same order.
    let refund = format!(
        "{header}\nB1,summer-fest,partially_refunded,2099-05-02T09:00:00Z,2099-05-03T09:00:00Z,{ben_link},Xia Buyer,xia@buyer.test,,General Admission,3,1,4900,EUR\n"
    );
    std::fs::write(app.path("refund.csv"), refund).unwrap();
    assert!(assert_ok(&app.bin(&["import-orders", app.path("refund.csv").to_str().unwrap()])).contains("1 updated"));

    // Ana: her own numbers, sub-promoter sales rolled up.
    let ana = c(ANA, "mystats summer-fest");
    assert_eq!(field(&ana, "Orders"), "4");
    assert_eq!(field(&ana, "Tickets"), "6");
    assert_eq!(field(&ana, "Clicks"), "20 (20 unique visitors per day)");
    assert_eq!(field(&ana, "Net revenue"), "455.00 EUR"); // 4 × 49 + 2 × 129.50
    assert_eq!(field(&ana, "Conversion"), "20.0%");
    assert_eq!(row(&ana, "General Admission"), ["4", "196.00 EUR"]);
    assert_eq!(row(&ana, "flyers (for Cleo)"), ["4", "1", "2", "178.50 EUR"]);
    assert!(ana.contains("self-referrals"), "self-referral flagged:\n{ana}");
    assert!(
        !ana.contains("Xia") && !ana.contains("98.00"),
        "no trace of Ben's sales:\n{ana}"
    );

    // Ben: the refund is subtracted.
    let ben = c(BEN, "mystats");
    assert_eq!(field(&ben, "Tickets"), "2");
    assert_eq!(field(&ben, "Gross revenue"), "147.00 EUR");
    assert_eq!(field(&ben, "Refunded"), "49.00 EUR (1 tickets)");
    assert_eq!(field(&ben, "Net revenue"), "98.00 EUR");
    let ben_orders = c(BEN, "myorders");
    assert!(
        ben_orders.contains("B1") && !ben_orders.contains("Xia") && !ben_orders.contains("xia@"),
        "{ben_orders}"
    );

    // The organizer sees every promoter by ticket type, organization links and totals.
    let stats = c(OWNER, "stats summer-fest");
    assert_eq!(
        row(&stats, &format!("{ANA} *")),
        ["4", "2", "6", "455.00 EUR", "20", "20.0%"]
    );
    assert_eq!(row(&stats, BEN), ["2", "0", "2", "98.00 EUR", "8", "12.5%"]);
    assert_eq!(
        row(&stats, "Organization links"),
        ["1", "2", "259.00 EUR", "259.00 EUR"]
    );
    assert_eq!(row(&stats, "Direct (no link)"), ["1", "1", "49.00 EUR", "49.00 EUR"]);
    assert_eq!(row(&stats, "Event total"), ["7", "11", "910.00 EUR", "861.00 EUR"]);
    let expanded = c(OWNER, &format!("stats summer-fest {BEN}"));
    assert_eq!(field(&expanded, "Net revenue"), "98.00 EUR");

    // The export: referred buyers only, parsed back by a standard CSV reader.
    let out = c(OWNER, "export summer-fest");
    let file = saved_file(&out);
    let mut rdr = csv::Reader::from_path(&file).unwrap();
    assert_eq!(
        rdr.headers().unwrap().iter().collect::<Vec<_>>(),
        promoterd::export::COLUMNS
    );
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    let ids: Vec<&str> = rows.iter().map(|r| &r[0]).collect();
    assert_eq!(
        ids,
        ["A1", "A2", "A3", "A3", "A4", "B1"],
        "promoter-referred lines only, oldest first"
    );
    let hostile = rows.iter().find(|r| &r[0] == "A2").unwrap();
    assert_eq!(&hostile[8], "'=HYPERLINK(\"http://evil.test\",\"x\")");
    assert_eq!(
        &rows[0][1], "2099-05-01T12:00:00+02:00",
        "order time in the organization's zone"
    );
    // A plain phone number is kept as typed (issue 15); formulas are still guarded.
    assert_eq!(&rows[0][10], "+49 30 1234");
    let b1 = rows.iter().find(|r| &r[0] == "B1").unwrap();
    assert_eq!((&b1[4], &b1[5], &b1[7]), ("2", "98.00", "partially_refunded"));
    assert_eq!(&b1[11], BEN);
    // The operator's CLI export streams the same rows.
    let cli = app.bin(&[
        "export",
        "--event",
        "summer-fest",
        "--out",
        app.path("cli.csv").to_str().unwrap(),
    ]);
    assert!(cli.ok && cli.stderr.contains("6 row(s) exported"), "{cli:?}");
    assert_eq!(
        std::fs::read_to_string(app.path("cli.csv")).unwrap(),
        std::fs::read_to_string(&file).unwrap()
    );
}
