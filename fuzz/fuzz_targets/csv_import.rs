//! Fuzzes the order import CSV: reading and validating every order in it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use promoterd::ingest::{self, read_import_csv};

fuzz_target!(|data: &[u8]| {
    let file = read_import_csv(data);
    for o in &file.orders {
        assert_eq!(o.rows.len(), o.raw.lines.len());
        assert!(o.rows.iter().all(|&line| line >= 2), "data rows come after the header");
        if let Ok(order) = ingest::check("import", &o.raw, 1, "EUR") {
            assert!(!order.external_id.is_empty());
            assert!(order.lines.iter().all(|l| l.quantity >= 1));
        }
    }
});
