//! Worst-case inbound mail at growing sizes up to the size limit, through the whole
//! handler (classify, visible text, bounce matching) on a real SQLite file. Fails when
//! the cost per MiB grows with the size (more than linear time) or passes the budget.
//! Run with `cargo bench --bench hostile_mail`.

use promoterd::clock::Clock;
use promoterd::commands::Core;
use promoterd::config::Config;
use promoterd::email::handle::{InboundSettings, MailPosition, process};
use promoterd::store::Store;
use std::time::{Duration, Instant};

/// Seconds one MiB of the worst mail may cost at the size limit (the quadratic scan of
/// issue 14 took ~11 s per MiB at 2 MiB).
const BUDGET_PER_MIB: f64 = 0.5;
/// How much more a MiB may cost at the largest size than at the smallest: linear time
/// gives ~1; quadratic gives the size ratio (40 here).
const MAX_GROWTH: f64 = 4.0;

fn bounce(body: &str, headers: &str) -> Vec<u8> {
    format!(
        "From: MAILER-DAEMON@mx.elsewhere.test\r\nTo: bot@bot.test\r\nSubject: Undelivered Mail\r\n\
         Message-ID: <{}@mx.elsewhere.test>\r\n{headers}\r\n{body}",
        promoterd::codes::link_code()
    )
    .into_bytes()
}

/// The worst inputs found so far, each `bytes` long.
fn cases(bytes: usize) -> Vec<(&'static str, Vec<u8>)> {
    let unit = "@bot.test>";
    let ids_without_open = unit.repeat(bytes / unit.len());
    let recipients: Vec<String> = (0..bytes / 40).map(|i| format!("r{i}@promo.test")).collect();
    let ids: String = (0..bytes / 40)
        .map(|i| format!("<i{i:09}.invite@bot.test>\r\n"))
        .collect();
    let near_miss_quotes = "On Mon, 1 Jan 2027 at 10:00, Someone <a@b.test>\n".repeat(bytes / 48);
    vec![
        ("`@<bot domain>>` without `<`", bounce(&ids_without_open, "")),
        (
            "bounce: recipients and our ids",
            bounce(&ids, &format!("X-Failed-Recipients: {}\r\n", recipients.join(", "))),
        ),
        (
            "quote-header near misses",
            format!("From: a@b.test\r\nTo: bot@bot.test\r\nSubject: x\r\n\r\n{near_miss_quotes}").into_bytes(),
        ),
    ]
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

async fn run() {
    let dir = tempfile::tempdir().unwrap();
    let example = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config.example.toml")).unwrap();
    let config = Config::parse(&example, "config.example.toml", dir.path()).unwrap();
    let store = Store::open(&dir.path().join("bench.db")).await.unwrap();
    store.migrate().await.unwrap();
    let core = Core::new(store, Clock::system(), config.core_settings());
    let settings = InboundSettings {
        bot_address: "bot@bot.test".into(),
        mailbox: "INBOX".into(),
        require_authentication_results: None,
    };
    // `cargo bench` passes `--bench`; `cargo test` runs a small smoke pass (debug build,
    // no budget) so the harness itself stays tested.
    let bench = std::env::args().any(|a| a == "--bench");
    let sizes: &[usize] = if bench {
        &[256 << 10, 1 << 20, 10 << 20]
    } else {
        &[16 << 10, 64 << 10]
    };
    let mut uid = 0;
    let mut failed = false;
    println!("{:<34} {:>10} {:>12} {:>12}", "input", "size", "time", "s per MiB");
    for (i, _) in cases(1).iter().enumerate() {
        let mut per_mib = Vec::new();
        for &size in sizes {
            let (name, raw) = cases(size).swap_remove(i);
            let mut best = Duration::MAX;
            for _ in 0..3 {
                // A fresh Message-ID each time: a repeat would be skipped as already processed.
                let raw = [format!("X-Run: {uid}\r\n").as_bytes(), &raw].concat();
                uid += 1;
                let t = Instant::now();
                process(&core, &settings, &raw, MailPosition { uid_validity: 1, uid })
                    .await
                    .unwrap();
                best = best.min(t.elapsed());
            }
            let mib = size as f64 / (1 << 20) as f64;
            let cost = best.as_secs_f64() / mib;
            per_mib.push(cost);
            println!(
                "{name:<34} {:>9}K {:>10.1}ms {cost:>12.4}",
                size >> 10,
                best.as_secs_f64() * 1e3
            );
        }
        let growth = per_mib[per_mib.len() - 1] / per_mib[0];
        let last = per_mib[per_mib.len() - 1];
        if !bench {
            println!("  smoke run (no budget): {growth:.1}×");
        } else if growth > MAX_GROWTH || last > BUDGET_PER_MIB {
            println!(
                "  FAIL: cost per MiB grew {growth:.1}× (max {MAX_GROWTH}) / {last:.3} s per MiB (budget {BUDGET_PER_MIB})"
            );
            failed = true;
        } else {
            println!(
                "  ok: cost per MiB grew {growth:.1}× (max {MAX_GROWTH}), {last:.4} s per MiB (budget {BUDGET_PER_MIB})"
            );
        }
    }
    if failed {
        std::process::exit(1);
    }
}
