//! Group commit: one batch mixing every kind of delivery gives each the answer it
//! would get alone (new orders take the bulk path, the rest their own savepoint).

use super::support::*;
use promoterd::clock::Clock;
use promoterd::ingest::{self, ApplyError, DeliveryOutcome, GroupCommit, OrderError, RawLine, RawOrder};
use promoterd::store::IngestOutcome;

fn raw(id: &str, updated_at: &str, status: &str, r#ref: Option<&str>, lines: &[(&str, i64)]) -> RawOrder {
    RawOrder {
        order_id: id.into(),
        event: "summer-fest".into(),
        status: status.into(),
        ordered_at: "2099-05-01T10:00:00Z".into(),
        updated_at: Some(updated_at.into()),
        ref_code: r#ref.map(Into::into),
        buyer_name: Some("Batch Buyer".into()),
        buyer_email: Some(format!("{}@buyer.test", id.to_lowercase())),
        buyer_phone: None,
        lines: lines
            .iter()
            .map(|(t, q)| RawLine {
                ticket_type: (*t).into(),
                quantity: *q,
                refunded_quantity: 0,
                unit_price_minor: 4900,
                refunded_minor: 0,
                currency: "EUR".into(),
            })
            .collect(),
    }
}

const T10: &str = "2099-05-01T10:00:00Z";
const T11: &str = "2099-05-01T11:00:00Z";

#[tokio::test]
async fn a_mixed_batch_gives_every_delivery_its_own_answer() {
    let app = TestApp::new().await;
    app.world().await;
    let code = link_code(&app.ok(BEN, "mylink").await);
    let store = app.store.clone();
    let (orders, writer) = GroupCommit::start(store.clone(), Clock::system());
    let apply = |delivery: &str, r: RawOrder| {
        let (orders, store, delivery) = (orders.clone(), store.clone(), delivery.to_string());
        async move {
            let order = ingest::validate(&store, "checkout", &r, None).await.unwrap();
            orders.apply(Some(delivery), order).await
        }
    };
    // Before the batch: an order to update, a refund waiting for its order, a used delivery id.
    apply("d-u1", raw("U1", T10, "paid", Some(&code), &[("General Admission", 1)]))
        .await
        .unwrap();
    apply("d-p1", raw("P1", T11, "refunded", Some(&code), &[]))
        .await
        .unwrap();
    apply(
        "d-used",
        raw("N0", T10, "paid", Some(&code), &[("General Admission", 1)]),
    )
    .await
    .unwrap();

    let ga = ("General Admission", 1);
    let jobs = vec![
        ("d-n1", raw("N1", T10, "paid", Some(&code), &[ga])),
        ("d-n2", raw("N2", T10, "paid", None, &[("general admission", 2)])),
        (
            "d-n3",
            raw("N3", T10, "paid", Some(&code), &[ga, ("vip", 1), ("Early Bird", 1)]),
        ),
        (
            "d-n4",
            raw("N4", T10, "paid", Some("no-such-code"), &[("early bird", 3)]),
        ),
        (
            "d-u1-bad",
            raw("U1", T10, "paid", Some(&code), &[("General Admission", 5)]),
        ),
        (
            "d-u1-new",
            raw("U1", T11, "paid", Some(&code), &[("General Admission", 3)]),
        ),
        ("d-c1", raw("C1", T10, "paid", Some(&code), &[ga])),
        ("d-c1-refund", raw("C1", T11, "refunded", Some(&code), &[])),
        (
            "d-p1-order",
            raw("P1", T10, "paid", Some(&code), &[("General Admission", 2)]),
        ),
        ("d-used", raw("N6", T10, "paid", Some(&code), &[ga])),
        ("d-twice", raw("X1", T10, "paid", Some(&code), &[ga])),
        ("d-twice", raw("X2", T10, "paid", Some(&code), &[ga])),
    ];
    let mut valid = Vec::new();
    for (d, r) in jobs {
        valid.push((d, ingest::validate(&store, "checkout", &r, None).await.unwrap()));
    }
    // Sent together, in this order, before the writer runs: one batch.
    let answers = futures::future::join_all(valid.into_iter().map(|(d, o)| orders.apply(Some(d.to_string()), o))).await;
    let got: Vec<String> = answers
        .iter()
        .map(|a| match a {
            Ok(DeliveryOutcome::Duplicate) => "duplicate".to_string(),
            Ok(DeliveryOutcome::Applied(o)) => o.as_str().to_string(),
            Err(ApplyError::Order(OrderError::Conflict(_))) => "conflict".to_string(),
            Err(e) => format!("error: {e}"),
        })
        .collect();
    assert_eq!(
        got,
        [
            "created",
            "created",
            "created",
            "created",
            "conflict",
            "updated",
            "created",
            "updated",
            "created",
            "duplicate",
            "created",
            "duplicate"
        ]
    );
    assert!(matches!(answers[0], Ok(DeliveryOutcome::Applied(IngestOutcome::Created(id))) if id.get() > 0));

    let db = app.db().await;
    let per_order = q(
        &db,
        "SELECT string_agg(external_id || ':' || status || ':' || tickets || ':' || coalesce(m, '-'), ' ' \
         ORDER BY external_id) \
         FROM (SELECT o.external_id, o.status, sum(ol.quantity - ol.refunded_quantity) AS tickets, \
               CASE WHEN o.membership_id IS NULL THEN NULL ELSE 'ben' END AS m \
               FROM orders o JOIN order_lines ol ON ol.order_id = o.id GROUP BY o.id) AS per_order",
    )
    .await;
    assert_eq!(
        per_order,
        "C1:refunded:0:ben N0:paid:1:ben N1:paid:1:ben N2:paid:2:- N3:paid:3:ben N4:paid:3:- \
         P1:refunded:0:ben U1:paid:3:ben X1:paid:1:ben"
    );
    // "vip" is the existing VIP type; "Early Bird" and "early bird" became one new type.
    let types = q(
        &db,
        "SELECT string_agg(name || '=' || n, ',' ORDER BY id) FROM (SELECT t.id, t.name, count(*) AS n \
         FROM order_lines ol JOIN ticket_types t ON t.id = ol.ticket_type_id GROUP BY t.id) AS per_type",
    )
    .await;
    assert_eq!(types, "General Admission=8,VIP=1,Early Bird=2");
    let deliveries = q(
        &db,
        "SELECT string_agg(delivery_id, ',' ORDER BY delivery_id) FROM webhook_deliveries",
    )
    .await;
    assert!(
        !deliveries.contains("d-u1-bad"),
        "a refused delivery is not recorded: {deliveries}"
    );
    assert_eq!(
        deliveries,
        "d-c1,d-c1-refund,d-n1,d-n2,d-n3,d-n4,d-p1,d-p1-order,d-twice,d-u1,d-u1-new,d-used"
    );
    assert_eq!(
        q(&db, "SELECT count(*) || '' FROM pending_order_status").await,
        "0",
        "the waiting refund was applied"
    );
    // The running totals that stats read agree with a count from scratch.
    let recount = "SELECT o.event_id, coalesce(o.membership_id, 0), coalesce(o.link_id, 0), l.ticket_type_id, count(*), \
         sum(l.quantity), sum(l.quantity - l.refunded_quantity), sum(l.quantity * l.unit_price_minor), \
         sum((l.quantity - l.refunded_quantity) * l.unit_price_minor - l.refunded_minor), \
         sum(CASE WHEN o.self_referral THEN l.quantity - l.refunded_quantity ELSE 0 END) \
         FROM orders o JOIN order_lines l ON l.order_id = o.id WHERE o.status <> 'cancelled' GROUP BY 1, 2, 3, 4";
    let kept = "SELECT event_id, membership_id, link_id, ticket_type_id, lines, sold, tickets, gross_minor, net_minor, \
         self_tickets FROM sales_totals WHERE lines > 0";
    let differ = q(
        &db,
        &format!(
            "SELECT count(*) || '' FROM (SELECT * FROM ({recount} EXCEPT {kept}) AS a UNION ALL \
         SELECT * FROM ({kept} EXCEPT {recount}) AS b) AS d"
        ),
    )
    .await;
    assert_eq!(differ, "0", "sales totals differ from a recount");
    let differ = q(
        &db,
        "SELECT count(*) || '' FROM (SELECT event_id, coalesce(membership_id, 0) AS m, coalesce(link_id, 0) AS l, \
         count(*) AS n, sum(CASE WHEN status IN ('paid', 'partially_refunded') THEN 1 ELSE 0 END) AS o, \
         sum(CASE WHEN status = 'refunded' THEN 1 ELSE 0 END) AS r \
         FROM orders GROUP BY 1, 2, 3 EXCEPT SELECT event_id, membership_id, link_id, all_orders, orders, refunded \
         FROM order_totals) AS d",
    )
    .await;
    assert_eq!(differ, "0", "order totals differ from a recount");
    drop(orders);
    writer.await.unwrap();
}

/// One text value a query returns.
async fn q(db: &Db, sql: &str) -> String {
    db.scalar::<String>(sql, &[]).await
}
