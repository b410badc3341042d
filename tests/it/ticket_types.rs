//! Editing and removing ticket types (issue 15.1): rename, reprice for future orders,
//! remove only while no order uses it; every refusal leaves the database unchanged.

use super::support::*;

/// Imports one paid order of `qty` VIP tickets at 129.50 through Ben's link.
async fn vip_order(app: &TestApp, id: &str, qty: u32) {
    let code = link_code(&app.ok(BEN, "mylink summer-fest").await);
    let csv = format!(
        "order_id,event,status,ordered_at,ref,ticket_type,quantity,unit_price_minor,currency\n\
         {id},summer-fest,paid,2099-05-01T10:00:00Z,{code},VIP,{qty},12950,EUR\n"
    );
    let path = app.path(&format!("{id}.csv"));
    std::fs::write(&path, csv).unwrap();
    let out = app.bin(&["import-orders", path.to_str().unwrap()]);
    assert!(out.ok, "{out:?}");
}

#[tokio::test]
async fn a_price_changes_for_future_orders_and_stored_orders_keep_theirs() {
    let app = TestApp::new().await;
    app.world().await;
    vip_order(&app, "V1", 2).await;
    let said = app.ok(OWNER, "editticket summer-fest vip price 139.50").await;
    assert!(said.contains("VIP of Summer Fest now costs 139.50 EUR"), "{said}");
    assert!(said.contains("keep the price they were paid at"), "{said}");
    let list = app.ok(OWNER, "tickettypes summer-fest").await;
    let vip = list.lines().find(|l| l.contains("VIP")).unwrap();
    assert!(
        vip.contains("139.50") && vip.trim_end().ends_with('1'),
        "one order line:\n{list}"
    );
    let stats = app.ok(BEN, "mystats summer-fest").await;
    assert!(stats.contains("259.00 EUR"), "2 × 129.50 as paid:\n{stats}");
    // A Discord-style option value means the same amount.
    let options: Vec<(String, String)> = [
        ("event", "summer-fest"),
        ("ticket", "VIP"),
        ("field", "price"),
        ("value", "99"),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .into();
    let inv = promoterd::commands::parse_named("editticket", &options).unwrap();
    let origin = promoterd::commands::Origin::Console { email: OWNER.into() };
    let reply = app.core.run(&origin, &inv).await.to_plain();
    assert!(reply.contains("now costs 99.00 EUR"), "{reply}");
}

#[tokio::test]
async fn a_ticket_type_is_renamed_and_a_taken_or_unknown_name_is_refused() {
    let app = TestApp::new().await;
    app.world().await;
    let said = app
        .ok(OWNER, "editticket summer-fest \"General Admission\" name Standard")
        .await;
    assert!(said.contains("Renamed General Admission to Standard"), "{said}");
    let list = app.ok(OWNER, "tickettypes summer-fest").await;
    assert!(
        list.contains("Standard") && !list.contains("General Admission"),
        "{list}"
    );
    // Orders match names ignoring case: another type may not take VIP's name in any case.
    refused(
        &app,
        OWNER,
        "editticket summer-fest Standard name vip",
        "already has a ticket type named vip",
    )
    .await;
    let unknown = refused(
        &app,
        OWNER,
        "editticket summer-fest Gold price 10",
        "no ticket type named Gold",
    )
    .await;
    assert!(
        unknown.contains("Standard, VIP"),
        "the known names are listed: {unknown}"
    );
    refused(
        &app,
        OWNER,
        "editticket summer-fest VIP price 12.345",
        "EUR amounts have at most 2 decimals",
    )
    .await;
    refused(&app, OWNER, "editticket summer-fest VIP price -5", "is not a price").await;
    refused(&app, OWNER, "editticket summer-fest VIP colour red", "field").await;
}

#[tokio::test]
async fn only_a_ticket_type_without_orders_can_be_removed() {
    let app = TestApp::new().await;
    app.world().await;
    vip_order(&app, "V1", 1).await;
    let no = refused(&app, OWNER, "removeticket summer-fest VIP", "has orders, so it stays").await;
    assert!(no.contains("editticket summer-fest \"VIP\" name"), "{no}");
    let said = app.ok(ADMIN, "removeticket summer-fest general admission").await;
    assert!(said.contains("Removed General Admission from Summer Fest"), "{said}");
    let list = app.ok(OWNER, "tickettypes summer-fest").await;
    assert!(!list.contains("General Admission") && list.contains("VIP"), "{list}");
    let audit = TestApp::dump_section(&app.dump().await, "audit_log");
    assert!(audit.contains("ticket_type.removed"), "{audit}");
}

#[tokio::test]
async fn promoters_and_other_organizations_cannot_edit_or_remove_ticket_types() {
    let app = TestApp::new().await;
    app.world().await;
    let other = app.bin(&["org", "create", "Other Co", "--owner", "eve@other.test"]);
    assert!(other.ok, "{other:?}");
    for line in [
        "editticket summer-fest VIP price 1",
        "removeticket summer-fest General Admission",
    ] {
        refused(&app, ANA, line, "organizer").await;
        refused(&app, "eve@other.test", line, "summer-fest").await;
    }
}
