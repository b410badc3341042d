//! Fuzzes the configuration file parser and its validation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use promoterd::config::Config;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = Config::parse(text, "fuzz.toml", std::path::Path::new("/nonexistent"));
});
