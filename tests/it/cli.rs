//! The binary's commands: the daemon starts on the example config, migrate, docs.

use super::support::*;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn run_starts_with_the_example_config_and_logs_frontends_off() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.example.toml");
    // The example verbatim, but on a free port so the test cannot collide with anything.
    let example = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config.example.toml")).unwrap();
    let text = example.replace("listen = \"127.0.0.1:8080\"", "listen = \"127.0.0.1:0\"");
    assert_ne!(text, example, "the example config sets http.listen");
    std::fs::write(&config, text).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_promoterd"))
        .args(["run", "--config"])
        .arg(&config)
        .env_remove("RUST_LOG")
        .env_remove("PROMOTERD_TELEGRAM_TOKEN")
        .env_remove("PROMOTERD_DISCORD_TOKEN")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    // Read log lines until the last front-end line; the daemon keeps running.
    for line in lines.by_ref() {
        let line = line.unwrap();
        seen.push(line.clone());
        if line.contains("promoterd ready") {
            break;
        }
    }
    let log = seen.join("\n");
    assert!(log.contains("telegram: off"), "{log}");
    assert!(log.contains("discord: off"), "{log}");
    assert!(log.contains("order webhook: off"), "{log}");
    assert!(log.contains("http: listening"), "{log}");
    assert!(
        dir.path().join("promoterd.db").exists(),
        "the SQLite file is created next to the config"
    );
    assert!(child.try_wait().unwrap().is_none(), "the daemon is still running");
    // SIGTERM stops it cleanly.
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let status = child.wait().unwrap();
    assert!(status.success(), "clean exit on SIGTERM: {status:?}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(rest.iter().any(|l| l.contains("shutting down")), "{rest:?}");
}

#[tokio::test]
async fn migrate_is_idempotent_and_unknown_config_keys_are_named() {
    let app = TestApp::new().await;
    let out = app.bin(&["migrate"]);
    assert!(out.ok && out.stdout.contains("0 migration(s) applied"), "{out:?}");
    std::fs::write(&app.config, "[http]\nlisten = \"127.0.0.1:0\"\npublik_url = \"x\"\n").unwrap();
    let out = app.bin(&["migrate"]);
    assert!(!out.ok && out.stderr.contains("unknown field `publik_url`"), "{out:?}");
}

#[tokio::test]
async fn export_cli_streams_the_csv() {
    let app = TestApp::new().await;
    app.world().await;
    let out = app.bin(&["export", "--event", "summer-fest"]);
    assert!(out.ok, "{out:?}");
    assert_eq!(
        out.stdout.lines().next(),
        Some(promoterd::export::COLUMNS.join(",").as_str())
    );
    assert!(out.stderr.contains("0 row(s) exported"));
    let out = app.bin(&["export", "--event", "nope"]);
    assert!(!out.ok && out.stderr.contains("no event `nope`"));
}

#[test]
fn email_inspect_explains_a_mail_as_json() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_promoterd"))
            .args(["email", "inspect"])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let v = run(&[&format!("{dir}/tests/fixtures/email/sisimai__rfc3464-01.eml")]);
    assert_eq!(v["kind"], "bounce");
    assert_eq!(v["failed_recipients"][0], "userunknown@bouncehammer.jp");
    assert!(v["command"].is_null());
    let v = run(&[
        "--body-only",
        &format!("{dir}/tests/fixtures/email/ghparser__email_iPhone.txt"),
    ]);
    assert_eq!(
        (v["kind"].as_str(), v["text"].as_str()),
        (Some("reply"), Some("Here is another email"))
    );
    assert_eq!(v["command"], "here");
}

#[tokio::test]
async fn org_create_refuses_bad_values_and_taken_names_and_writes_nothing() {
    let app = TestApp::new().await;
    app.create_org();
    let before = app.dump().await;
    for (args, needle) in [
        (
            vec!["org", "create", "Acme", "--owner", "not-an-address"],
            "is not an email address",
        ),
        (
            vec!["org", "create", "Acme", "--owner", "a@acme.test", "--slug", "Bad Slug"],
            "is not a short name",
        ),
        (
            vec![
                "org",
                "create",
                "Acme",
                "--owner",
                "a@acme.test",
                "--time-zone",
                "Mars/Olympus",
            ],
            "is not an IANA time zone",
        ),
        (
            vec!["org", "create", "Acme", "--owner", "a@acme.test", "--currency", "EURO"],
            "is not a currency code",
        ),
        (
            vec![
                "org",
                "create",
                "Acme Again",
                "--owner",
                "a@acme.test",
                "--slug",
                "acme-events",
            ],
            "exists already",
        ),
    ] {
        let out = app.bin(&args);
        assert!(!out.ok && out.stderr.contains(needle), "{args:?}: {out:?}");
    }
    assert_eq!(app.dump().await, before, "a refused org create writes nothing");
    let out = app.bin(&[
        "org",
        "create",
        "Beta Shows",
        "--owner",
        "Boss@Beta.test",
        "--currency",
        "usd",
    ]);
    assert!(
        out.ok && out.stdout.contains("(`beta-shows`, ") && out.stdout.contains(", USD) owned by"),
        "{out:?}"
    );
    let audit = TestApp::dump_section(&app.dump().await, "audit_log");
    assert!(audit.contains("org.created"), "{audit}");
}

/// One daemon per SQLite file, by the file lock (several daemons may share a PostgreSQL
/// database: `two_daemons.rs`).
#[tokio::test]
async fn a_second_daemon_on_the_same_sqlite_file_is_refused() {
    if sqlite_only("one daemon per database file") {
        return;
    }
    let app = TestApp::new().await;
    let mut first = Command::new(env!("CARGO_BIN_EXE_promoterd"))
        .arg("--config")
        .arg(&app.config)
        .arg("run")
        .env_remove("RUST_LOG")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Kept open to the end: the daemon goes on logging.
    let mut lines = BufReader::new(first.stderr.take().unwrap()).lines();
    let ready = lines
        .by_ref()
        .map_while(Result::ok)
        .any(|l| l.contains("promoterd ready"));
    assert!(ready, "the first daemon starts");
    let second = app.bin(&["run"]);
    assert!(!second.ok, "{second:?}");
    assert!(second.stderr.contains("stop it first"), "{second:?}");
    assert!(first.try_wait().unwrap().is_none(), "the first daemon runs on");
    assert!(
        Command::new("kill")
            .args(["-TERM", &first.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    assert!(first.wait().unwrap().success());
}
