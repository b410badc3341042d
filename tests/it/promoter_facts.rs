//! A promoter's facts read at once (`Store::promoter_facts`: one statement on
//! PostgreSQL, whose rows come back as JSON) are the rows the separate reads give, field
//! by field (on SQLite both sides are the same reads; the PostgreSQL pass is the check).

use super::http::client;
use super::support::*;

#[tokio::test]
async fn a_promoters_facts_read_at_once_are_the_separate_reads() {
    let app = TestApp::new().await;
    app.world().await;
    // A third event, with ticket types after another event's: its id, its
    // organization's and its ticket types' all differ, so no two columns can swap unseen.
    for line in [
        "newevent winter-ball \"2099-12-01 18:00\" https://tickets.acme.test/winter Winter Ball",
        "newtickettype winter-ball 20 Standard",
        "newevent autumn-fair \"2099-09-01 18:00\" https://tickets.acme.test/autumn Autumn Fair",
        "newtickettype autumn-fair 49 General Admission",
        "newtickettype autumn-fair 129.50 VIP",
    ] {
        app.ok(OWNER, line).await;
    }
    let main = link_code(&app.ok(ANA, "mylink autumn-fair").await);
    let flyers = link_code(&app.ok(ANA, "newlink flyers autumn-fair --for Cleo").await);
    link_code(&app.ok(ANA, "newlink radio autumn-fair").await);
    assert!(app.ok(ANA, "disablelink radio autumn-fair").await.contains("is off"));
    app.ok(ANA, "mycode ana10 autumn-fair").await;
    app.ok(OWNER, &format!("promocode {ANA} ANA10 autumn-fair")).await;

    let server = app.serve().await;
    for code in [&main, &main, &flyers] {
        let res = client()
            .get(format!("http://{}/t/{code}", server.addr))
            .header("user-agent", "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), reqwest::StatusCode::FOUND);
    }
    server.stop().await.unwrap();

    let orders = format!(
        "order_id,event,status,ordered_at,updated_at,ref,buyer_name,buyer_email,buyer_phone,ticket_type,quantity,refunded_quantity,unit_price_minor,currency\n\
         F1,autumn-fair,paid,2099-05-02T10:00:00Z,,{main},Uma Buyer,uma@buyer.test,,General Admission,3,0,4900,EUR\n\
         F2,autumn-fair,partially_refunded,2099-05-02T11:00:00Z,2099-05-03T09:00:00Z,{flyers},Vic Buyer,vic@buyer.test,,VIP,2,1,12950,EUR\n\
         F3,autumn-fair,paid,2099-05-02T12:00:00Z,,{main},Ana Self,{ANA},,VIP,1,0,12950,EUR\n"
    );
    std::fs::write(app.path("orders.csv"), orders).unwrap();
    let out = app.bin(&["import-orders", app.path("orders.csv").to_str().unwrap()]);
    assert!(out.ok && out.stdout.contains("3 new"), "{out:?}");

    let link = app.store.link_by_code(&main).await.unwrap().unwrap();
    let (m, e) = (link.membership_id.unwrap(), link.event_id);
    let facts = app.store.promoter_facts(m, e).await.unwrap();
    let s = &app.store;
    let same = |what: &str, at_once: String, apart: String| assert_eq!(at_once, apart, "{what}");
    same(
        "links",
        format!("{:?}", facts.links),
        format!("{:?}", s.links_of_membership(m, e).await.unwrap()),
    );
    // Both read in ticket-type order; rows of one type (two links) in any order.
    let mut sales = s.sales_facts(e, Some(m)).await.unwrap();
    let mut at_once = facts.sales.clone();
    sales.sort_by_key(|f| (f.ticket_type.clone(), f.link_id.map(|l| l.0)));
    at_once.sort_by_key(|f| (f.ticket_type.clone(), f.link_id.map(|l| l.0)));
    same("sales", format!("{at_once:?}"), format!("{sales:?}"));
    let mut counts = s.order_counts(e, Some(m)).await.unwrap();
    let mut at_once = facts.counts.clone();
    counts.sort_by_key(|c| c.link_id.map(|l| l.0));
    at_once.sort_by_key(|c| c.link_id.map(|l| l.0));
    same("order counts", format!("{at_once:?}"), format!("{counts:?}"));
    let mut clicks = s.click_facts(e, Some(m)).await.unwrap();
    let mut at_once = facts.clicks.clone();
    clicks.sort_by_key(|c| c.link_id.0);
    at_once.sort_by_key(|c| c.link_id.0);
    same("clicks", format!("{at_once:?}"), format!("{clicks:?}"));
    same(
        "ticket types",
        format!("{:?}", facts.types),
        format!("{:?}", s.ticket_types(e).await.unwrap()),
    );
    same(
        "promo code",
        format!("{:?}", facts.promo_code),
        format!("{:?}", s.promo_code_of(m, e).await.unwrap()),
    );

    // What was made above is all there, so the comparison compared something.
    assert_eq!(facts.links.len(), 3);
    let l = &facts.links[0];
    assert!(l.org_id.0 != l.event_id.0 && facts.types[0].id.0 != facts.types[0].event_id.0);
    assert!(facts.links.iter().any(|l| l.sub_promoter.as_deref() == Some("Cleo")));
    assert!(facts.links.iter().any(|l| l.revoked && l.disabled_by.is_some()));
    assert_eq!(
        facts.clicks.iter().map(|c| c.clicks).sum::<i64>(),
        3,
        "{:?}",
        facts.clicks
    );
    assert!(
        facts.sales.iter().any(|f| f.tickets < f.sold),
        "a refund: {:?}",
        facts.sales
    );
    assert!(facts.sales.iter().any(|f| f.self_tickets > 0), "{:?}", facts.sales);
    assert!(
        facts.counts.iter().map(|c| c.orders).sum::<i64>() >= 2,
        "{:?}",
        facts.counts
    );
    assert_eq!(facts.types.len(), 2);
    assert!(matches!(&facts.promo_code, Some((code, true)) if code.eq_ignore_ascii_case("ana10")));
    let stats = app.ok(ANA, "mystats autumn-fair").await;
    assert!(stats.contains("Your promo code: ANA10"), "{stats}");
    assert_eq!(field(&stats, "Clicks").split(' ').next(), Some("3"), "{stats}");
}
