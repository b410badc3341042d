//! Fuzzes the order import CSV: reading and validating every order in it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use promoterd::ingest::{self, read_import_csv};

fuzz_target!(|data: &[u8]| {
    let Ok(orders) = read_import_csv(data) else { return };
    for raw in &orders {
        if let Ok(order) = ingest::check("import", raw, 1, "EUR") {
            assert!(!order.external_id.is_empty());
            assert!(order.lines.iter().all(|l| l.quantity >= 1));
        }
    }
});
