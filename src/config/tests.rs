//! The configuration file: the example parses, and bad or unsafe values are named.

use super::*;

#[test]
fn example_config_parses() {
    let text = include_str!("../../config.example.toml");
    let c = Config::parse(text, "config.example.toml", Path::new("/srv")).unwrap();
    assert_eq!(c.database_path(), Path::new("/srv/promoterd.db"));
    assert_eq!(c.programs.invite_ttl_days, 14);
}

/// Issue 15: plain mail protocols to a remote host are refused unless allowed.
#[test]
fn plain_mail_to_a_remote_host_needs_an_explicit_yes() {
    let parse = |t: &str| Config::parse(t, "x.toml", Path::new("."));
    let err = parse("[email]\nsmtp_url = \"smtp://u:p@mail.example.com:25\"\n").unwrap_err();
    assert!(err.to_string().contains("allow_plaintext"), "{err}");
    let err = parse("[email]\nimap_host = \"imap.example.com\"\nimap_tls = false\n").unwrap_err();
    assert!(err.to_string().contains("imap_tls = false"), "{err}");
    for ok in [
        "[email]\nsmtp_url = \"smtp://u:p@mail.example.com:587?tls=required\"\n",
        "[email]\nsmtp_url = \"smtps://u:p@mail.example.com:465\"\n",
        "[email]\nsmtp_url = \"smtp://127.0.0.1:2525\"\nimap_host = \"localhost\"\nimap_tls = false\n",
        "[email]\nsmtp_url = \"smtp://mail.example.com:25\"\nallow_plaintext = true\n",
    ] {
        parse(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
}

#[test]
fn unknown_keys_are_named() {
    let err = Config::parse(
        "[http]\nlisten = \"127.0.0.1:1\"\nlistne = 2\n",
        "x.toml",
        Path::new("."),
    )
    .unwrap_err();
    assert!(err.to_string().contains("unknown field `listne`"), "{err}");
    let err = Config::parse("[telegramm]\n", "x.toml", Path::new(".")).unwrap_err();
    assert!(err.to_string().contains("telegramm"), "{err}");
}

#[test]
fn a_long_poll_outlasting_the_telegram_client_is_refused() {
    let parse = |t: &str| Config::parse(t, "x.toml", Path::new("."));
    let err = parse("[telegram]\npoll_timeout_seconds = 25\n").unwrap_err();
    assert!(
        err.to_string().contains("poll_timeout_seconds must be 1 to 15"),
        "{err}"
    );
    assert_eq!(Config::default().telegram.poll_timeout_seconds, 15);
    parse("[telegram]\npoll_timeout_seconds = 15\n").unwrap();
}

#[test]
fn bad_values_are_explained() {
    let err = Config::parse(
        "[programs]\ndefault_time_zone = \"Mars/Base\"\n",
        "x.toml",
        Path::new("."),
    )
    .unwrap_err();
    assert!(err.to_string().contains("Mars/Base"));
}
