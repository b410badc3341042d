//! Fuzzes inbound mail: classification, visible-text extraction and the message key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use promoterd::email::{classify, handle, visible};

/// mail-parser trips a `debug_assert!` on some broken multiparts (not in release builds);
/// `inspect` catches panics of the parser, so those unwind into it. Any other panic
/// aborts, so that libFuzzer reports it.
fn panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            if info.location().is_some_and(|l| l.file().contains("mail-parser")) {
                return;
            }
            eprintln!("{info}");
            std::process::abort();
        }));
    });
}

fuzz_target!(|raw: &[u8]| {
    panic_hook();
    let i = classify::inspect(raw, Some("promoter@example.org"));
    let _ = handle::message_key(&i, raw);
    // The command, when found, is the first word of the visible text's first line.
    if let Some(c) = &i.command {
        let line = visible::first_line(&i.text).expect("a command comes from a first line");
        let first = promoterd::commands::tokenize(line).expect("it tokenized").into_iter().next();
        assert_eq!(first.map(|w| w.trim_start_matches('/').to_lowercase()).as_deref(), Some(c.as_str()));
    }
    if let Ok(s) = std::str::from_utf8(raw) {
        let v = visible::visible_text(s);
        assert!(v.len() <= s.len() + 16, "visible text grew: {} > {}", v.len(), s.len());
        let _ = visible::first_line(&v);
        let _ = classify::html_to_text(s);
        let _ = classify::inspect_body(s, true);
    }
});
