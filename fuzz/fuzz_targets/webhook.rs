//! Fuzzes the order webhook: signature header, JSON body and order validation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use promoterd::http::{sign, verify_signature};
use promoterd::ingest::{self, MAX_QUANTITY, MAX_UNIT_PRICE, WebhookPayload};

const SECRET: &str = "fuzz-secret-0123456789";
const NOW: i64 = 1_800_000_000;

fuzz_target!(|data: &[u8]| {
    // The first line is the signature header, the rest the body.
    let split = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let (header, body) = (&data[..split], data.get(split + 1..).unwrap_or(&[]));
    let secrets = vec![SECRET.to_string()];
    if let Ok(h) = std::str::from_utf8(header) {
        // A header passes only when it carries the real signature for its timestamp.
        if verify_signature(Some(h), body, &secrets, NOW, 300).is_ok() {
            let t = h
                .split(',')
                .filter_map(|p| p.trim().split_once('='))
                .filter(|(k, _)| *k == "t")
                .filter_map(|(_, v)| v.trim().parse::<i64>().ok())
                .last()
                .expect("a passing header has a timestamp");
            assert!(h.to_ascii_lowercase().contains(&sign(SECRET, t, body)), "forged header passed: {h}");
        }
    }
    let good = format!("t={NOW},v1={}", sign(SECRET, NOW, body));
    assert!(verify_signature(Some(&good), body, &secrets, NOW, 300).is_ok());
    let Ok(payload) = serde_json::from_slice::<WebhookPayload>(body) else { return };
    let Ok(raw) = payload.into_raw() else { return };
    if let Ok(order) = ingest::check("checkout", &raw, 1, "EUR") {
        for l in &order.lines {
            assert!((1..=MAX_QUANTITY).contains(&l.quantity));
            assert!((0..=l.quantity).contains(&l.refunded_quantity));
            assert!((0..=MAX_UNIT_PRICE).contains(&l.unit_price_minor));
        }
        let _ = order.state_hash();
    }
});
