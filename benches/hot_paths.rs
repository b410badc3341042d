//! Benchmarks of the hot pure code: command parsing, reply rendering, email reading,
//! CSV cell escaping and webhook signature checks. Run with `cargo bench`.

use promoterd::commands::parse_line;
use promoterd::reply::{Block, Reply, Table};

fn main() {
    divan::main();
}

fn stats_reply() -> Reply {
    let mut t = Table::new(
        &["Promoter", "GA", "VIP", "Tickets", "Net revenue", "Clicks", "Conv."],
        &[false, true, true, true, true, true, true],
    );
    for i in 0..50 {
        t.row(vec![
            format!("promoter{i}@example.com"),
            "12".into(),
            "3".into(),
            "15".into(),
            "1234.50 EUR".into(),
            "340".into(),
            "4.4%".into(),
        ]);
    }
    Reply::text("Sales of <Summer Fest> & friends")
        .titled("Sales — Summer Fest")
        .with(Block::Table(t))
}

#[divan::bench]
fn parse_command() -> usize {
    let inv = parse_line(divan::black_box("/newlink \"tik tok\" summer-fest --for \"Bo Li\"")).unwrap();
    inv.args.len()
}

#[divan::bench]
fn render_plain(bencher: divan::Bencher) {
    let r = stats_reply();
    bencher.bench(|| divan::black_box(&r).to_plain().len());
}

#[divan::bench]
fn render_telegram_html(bencher: divan::Bencher) {
    let r = stats_reply();
    bencher.bench(|| promoterd::telegram::render::render(divan::black_box(&r)).len());
}

#[divan::bench]
fn email_classify_and_visible_text(bencher: divan::Bencher) {
    let raw = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/email/gitlab__auto_reply.eml"
    ))
    .unwrap();
    bencher.bench(|| {
        promoterd::email::classify::inspect(divan::black_box(&raw), Some("bot@example.test"))
            .text
            .len()
    });
}

#[divan::bench]
fn visible_text_long_quote(bencher: divan::Bencher) {
    let body = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/email/ghparser__email_long_quote.txt"
    ))
    .unwrap();
    bencher.bench(|| promoterd::email::visible::visible_text(divan::black_box(&body)).len());
}

#[divan::bench]
fn csv_cells_neutralized() -> usize {
    let cells = [
        "Zoe Buyer",
        "=HYPERLINK(\"x\")",
        "+49 30 1234",
        "zoe@example.com",
        "instagram",
    ];
    cells
        .iter()
        .map(|c| promoterd::export::neutralize(divan::black_box(c)).len())
        .sum()
}

#[divan::bench]
fn webhook_signature_check(bencher: divan::Bencher) {
    let body = br#"{"id":"dlv_1","type":"order.created","order":{"id":"ord_1","event":"summer-fest","created_at":"2027-05-01T10:00:00Z","lines":[{"ticket_type":"GA","quantity":2,"unit_price":4900,"currency":"EUR"}]}}"#;
    let secrets = vec![
        "whsec-new-0123456789abcdef".to_string(),
        "whsec-old-0123456789abcdef".to_string(),
    ];
    let t = 1_800_000_000;
    let header = format!("t={t},v1={}", promoterd::http::sign(&secrets[1], t, body));
    bencher
        .bench(|| promoterd::http::verify_signature(Some(divan::black_box(&header)), body, &secrets, t, 300).is_ok());
}
