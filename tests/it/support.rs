//! The test harness: a temp directory with a config and a SQLite file, the real binary,
//! and an in-process core over the same database.

use promoterd::clock::Clock;
use promoterd::commands::{Core, Origin, Platform};
use promoterd::config::Config;
use promoterd::store::Store;
use std::path::PathBuf;
use std::process::Command;

mod db;
pub use db::Db;

pub const OWNER: &str = "boss@acme.test";
pub const ADMIN: &str = "sam@acme.test";
pub const ANA: &str = "ana@promo.test";
pub const BEN: &str = "ben@promo.test";
/// Webhook secrets of the test configuration (a rotation in progress).
pub const NEW_SECRET: &str = "whsec-new-0123456789abcdef";
pub const OLD_SECRET: &str = "whsec-old-0123456789abcdef";

/// Edits configuration text; a test that means to change a setting fails when the
/// text to change is not there (the example was reworded), instead of running with
/// the default.
pub trait Edit {
    fn edit(&self, from: &str, to: &str) -> String;
}

impl Edit for str {
    fn edit(&self, from: &str, to: &str) -> String {
        assert!(self.contains(from), "the configuration has no `{from}` to change");
        self.replacen(from, to, 1)
    }
}

/// Whether this run of the suite is on PostgreSQL (`PROMOTERD_TEST_DB=postgres`, with
/// `PROMOTERD_TEST_PG` the admin URL of the server `scripts/postgres.sh` started).
pub fn on_postgres() -> bool {
    std::env::var("PROMOTERD_TEST_DB").is_ok_and(|v| v == "postgres")
}

/// True (and says so) when the suite runs on PostgreSQL and the calling test is about
/// what only SQLite has (its file, backups of it): the caller returns at once.
pub fn sqlite_only(what: &str) -> bool {
    if on_postgres() {
        eprintln!("not on PostgreSQL: {what} is SQLite's only");
    }
    on_postgres()
}

/// A fresh, migrated PostgreSQL database for one test (a copy of a template migrated
/// once per run), or None when the suite runs on SQLite.
async fn postgres_database() -> Option<String> {
    use sqlx::Connection;
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    static TEMPLATE: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    if !on_postgres() {
        return None;
    }
    let admin = std::env::var("PROMOTERD_TEST_PG").expect("PROMOTERD_TEST_PG: the admin URL of the test server");
    let base = admin
        .rsplit_once('/')
        .expect("a database in PROMOTERD_TEST_PG")
        .0
        .to_string();
    let pid = std::process::id();
    let template = TEMPLATE
        .get_or_init(|| async {
            let name = format!("tmpl_{pid}");
            let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut conn)
                .await
                .unwrap();
            conn.close().await.unwrap();
            let store = Store::open_url(&format!("{base}/{name}")).await.unwrap();
            store.migrate().await.unwrap();
            store.close().await;
            name
        })
        .await;
    let name = format!("t_{pid}_{}", NEXT.fetch_add(1, Ordering::Relaxed));
    let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
    // PostgreSQL refuses to copy a template another session is copying: one at a time.
    static COPYING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let copying = COPYING.lock().await;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE DATABASE {name} TEMPLATE {template}"
    )))
    .execute(&mut conn)
    .await
    .unwrap_or_else(|e| panic!("creating {name}: {e}"));
    drop(copying);
    conn.close().await.unwrap();
    Some(format!("{base}/{name}"))
}

/// A new, empty PostgreSQL database on the test server (not migrated), for tools that
/// build their own (`migrate-db`); panics with a hint when no test server runs.
pub async fn empty_postgres_database() -> String {
    use sqlx::Connection;
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let admin = std::env::var("PROMOTERD_TEST_PG")
        .expect("PROMOTERD_TEST_PG: the admin URL of a test PostgreSQL (scripts/test.sh starts one)");
    let base = admin
        .rsplit_once('/')
        .expect("a database in PROMOTERD_TEST_PG")
        .0
        .to_string();
    let name = format!("empty_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
    let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    format!("{base}/{name}")
}

/// A fresh daemon home: config file, database, and an output directory.
pub struct TestApp {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub store: Store,
    pub core: Core,
}

/// The output of one run of the binary.
#[derive(Debug)]
pub struct Out {
    pub ok: bool,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl TestApp {
    /// A new home with the example configuration and a migrated database.
    pub async fn new() -> TestApp {
        Self::with_clock(Clock::system()).await
    }

    /// Like [`TestApp::new`], with the in-process core on the given clock.
    pub async fn with_clock(clock: Clock) -> TestApp {
        Self::custom(clock, |t| t).await
    }

    /// A home whose configuration text is first passed through `edit`.
    pub async fn custom(clock: Clock, edit: impl FnOnce(String) -> String) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("promoterd.toml");
        let example = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config.example.toml")).unwrap();
        let text = example
            .edit(
                "public_url = \"http://127.0.0.1:8080\"",
                "public_url = \"https://go.acme.test\"",
            )
            .edit("\nlisten = \"127.0.0.1:8080\"", "\nlisten = \"127.0.0.1:0\"")
            .edit(
                "metrics_listen = \"127.0.0.1:9464\"",
                "metrics_listen = \"127.0.0.1:0\"",
            )
            .edit(
                "secrets = []",
                &format!("secrets = [\"{NEW_SECRET}\", \"{OLD_SECRET}\"]"),
            );
        let text = match postgres_database().await {
            Some(url) => text.edit("\npool_size = 10", &format!("\nurl = \"{url}\"\npool_size = 4")),
            None => text,
        };
        std::fs::write(&config, edit(text)).unwrap();
        let cfg = Config::load(&config).unwrap();
        let store = promoterd::daemon::open_store(&cfg).await.unwrap();
        let core = Core::new(store.clone(), clock, cfg.core_settings());
        TestApp {
            dir,
            config,
            store,
            core,
        }
    }

    /// Runs the real binary with this home's config.
    pub fn bin(&self, args: &[&str]) -> Out {
        let out = Command::new(env!("CARGO_BIN_EXE_promoterd"))
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("RUST_LOG")
            .output()
            .unwrap();
        Out {
            ok: out.status.success(),
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// `promoterd console --as <email> -c <line>` through the real binary.
    pub fn console(&self, email: &str, line: &str) -> Out {
        let out_dir = self.dir.path().to_str().unwrap().to_string();
        self.bin(&["console", "--as", email, "--out-dir", &out_dir, "-c", line])
    }

    /// The same console front-end, in process: (text, succeeded).
    pub async fn say(&self, email: &str, line: &str) -> (String, bool) {
        promoterd::console::run_one(&self.core, email, line, self.dir.path())
            .await
            .unwrap()
    }

    /// Runs a line that must succeed; returns its text.
    pub async fn ok(&self, email: &str, line: &str) -> String {
        let (text, ok) = self.say(email, line).await;
        assert!(ok, "`{line}` as {email} failed:\n{text}");
        text
    }

    /// A line from a chat account.
    pub async fn chat(&self, platform: Platform, user: &str, line: &str) -> promoterd::reply::Reply {
        let origin = Origin::Chat {
            platform,
            user_id: user.into(),
            username: Some(format!("user{user}")),
        };
        self.core.execute(&origin, line).await
    }

    /// Links a chat account to `email` the way a person does: `connect`, then `verify`
    /// with the code from the mail.
    pub async fn link_chat(&self, platform: Platform, user: &str, email: &str) {
        let r = self.chat(platform, user, &format!("connect {email}")).await;
        assert!(!r.is_error, "{}", r.to_plain());
        let mails = self.store.pending_messages_to(email).await.unwrap();
        let mail = mails
            .into_iter()
            .rfind(|m| m.kind == "verify")
            .expect("a verification mail");
        let r = self
            .chat(
                platform,
                user,
                &format!("verify {}", code_after(&mail.body, "Your code: ")),
            )
            .await;
        assert!(!r.is_error, "{}", r.to_plain());
    }

    /// Every row of the database, for "changed nothing" checks.
    pub async fn dump(&self) -> String {
        promoterd::store::dump(&self.store).await.unwrap()
    }

    /// One table's rows in a [`TestApp::dump`].
    pub fn dump_section(dump: &str, table: &str) -> String {
        dump.split(&format!("## {table}\n"))
            .nth(1)
            .unwrap_or_else(|| panic!("no table {table} in the dump"))
            .split("## ")
            .next()
            .unwrap_or_default()
            .to_string()
    }

    /// The code in the latest invite mail queued for `email`.
    pub async fn invite_code(&self, email: &str) -> String {
        let mails = self.store.pending_messages_to(email).await.unwrap();
        let mail = mails.iter().rev().find(|m| m.kind == "invite").expect("an invite mail");
        code_after(&mail.body, "/accept ")
    }

    /// The configuration as the daemon reads it.
    pub fn config(&self) -> Config {
        Config::load(&self.config).unwrap()
    }

    /// Starts the HTTP server on a free loopback port, sharing this app's core.
    pub async fn serve(&self) -> promoterd::http::HttpServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        promoterd::http::HttpServer::start(self.core.clone(), &self.config(), listener)
            .await
            .unwrap()
    }

    /// Runs the jobs only one daemon runs (`jobs.rs`: mail, digests, the pretix
    /// voucher keeper…) with this app's core, until the returned handle is dropped.
    pub async fn run_jobs(&self) -> Jobs {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let setup = promoterd::jobs::Setup {
            core: self.core.clone(),
            config: self.config(),
            telegram: None,
            discord: None,
        };
        promoterd::jobs::lead(setup, stopped).await.unwrap();
        Jobs(stop)
    }

    /// Path inside the home directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Creates the organization (owner `OWNER`) through the binary.
    pub fn create_org(&self) {
        let out = self.bin(&[
            "org",
            "create",
            "Acme Events",
            "--owner",
            OWNER,
            "--time-zone",
            "Europe/Berlin",
        ]);
        assert!(out.ok, "{out:?}");
    }

    /// The standard world: an organization, `summer-fest` with GA and VIP, ANA promoting
    /// every event, BEN promoting `summer-fest`, SAM an admin.
    pub async fn world(&self) {
        self.create_org();
        self.ok(
            OWNER,
            "newevent summer-fest \"2099-06-01 18:00\" https://tickets.acme.test/summer?lang=en Summer Fest",
        )
        .await;
        self.ok(OWNER, "newtickettype summer-fest 49 General Admission").await;
        self.ok(OWNER, "newtickettype summer-fest 129.50 VIP").await;
        self.ok(OWNER, &format!("invite {ANA}")).await;
        self.ok(OWNER, &format!("invite {BEN} summer-fest")).await;
        self.ok(OWNER, &format!("inviteadmin {ADMIN}")).await;
        for who in [ANA, BEN, ADMIN] {
            let code = self.invite_code(who).await;
            self.ok(who, &format!("accept {code}")).await;
        }
    }
}

/// Runs `line` as `who`, expects a refusal containing `needle` and an unchanged
/// database; returns the refusal.
pub async fn refused(app: &TestApp, who: &str, line: &str, needle: &str) -> String {
    let before = app.dump().await;
    let (text, ok) = app.say(who, line).await;
    assert!(!ok, "`{line}` as {who} should be refused, got:\n{text}");
    assert!(
        text.contains(needle),
        "`{line}` as {who}: expected `{needle}` in:\n{text}"
    );
    assert_eq!(before, app.dump().await, "`{line}` as {who} changed the database");
    text
}

/// Runs `line` from a chat account, expects a refusal containing `needle`, no file and
/// an unchanged database; returns the refusal.
pub async fn chat_refused(
    app: &TestApp,
    platform: promoterd::commands::Platform,
    user: &str,
    line: &str,
    needle: &str,
) -> promoterd::reply::Reply {
    let before = app.dump().await;
    let r = app.chat(platform, user, line).await;
    assert!(
        r.is_error,
        "`{line}` from {user} should be refused, got:\n{}",
        r.to_plain()
    );
    assert!(
        r.to_plain().contains(needle),
        "`{line}` from {user}: expected `{needle}` in:\n{}",
        r.to_plain()
    );
    assert!(r.attachments.is_empty(), "`{line}` from {user} sent a file");
    assert_eq!(before, app.dump().await, "`{line}` from {user} changed the database");
    r
}

/// The word after `marker` in `text`.
pub fn code_after(text: &str, marker: &str) -> String {
    let start = text.find(marker).unwrap_or_else(|| panic!("no `{marker}` in:\n{text}")) + marker.len();
    text[start..]
        .split(|c: char| !c.is_ascii_alphanumeric())
        .next()
        .unwrap()
        .to_string()
}

/// The value of a `Label   value` line in plain-text fields.
pub fn field<'a>(text: &'a str, label: &str) -> &'a str {
    text.lines()
        .find_map(|l| {
            l.strip_prefix(label)
                .filter(|rest| rest.starts_with("  "))
                .map(str::trim)
        })
        .unwrap_or_else(|| panic!("no field `{label}` in:\n{text}"))
}

/// The cells of the table row whose first cell is `first`.
pub fn row(text: &str, first: &str) -> Vec<String> {
    text.lines()
        .find(|l| l.starts_with(first) && l[first.len()..].starts_with("  "))
        .map(|l| {
            l[first.len()..]
                .split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_else(|| panic!("no row `{first}` in:\n{text}"))
}

/// The path of the attachment the console saved ("Saved <path> (…)").
pub fn saved_file(out: &str) -> String {
    let line = out
        .lines()
        .find_map(|l| l.strip_prefix("Saved "))
        .unwrap_or_else(|| panic!("nothing saved in:\n{out}"));
    line.split(" (").next().unwrap().to_string()
}

/// Queued outbound messages of one kind for a recipient, oldest first.
pub async fn queued(app: &TestApp, to: &str, kind: &str) -> Vec<promoterd::store::OutboxRow> {
    app.store
        .pending_messages_to(to)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.kind == kind)
        .collect()
}

/// The tracking code in a reply's link.
pub fn link_code(text: &str) -> String {
    code_after(text, "https://go.acme.test/t/")
}

/// What a polled condition gives: `true`/`false`, or `Some(value)` once it holds.
pub trait Outcome {
    type Value;
    fn ready(self) -> Option<Self::Value>;
}

impl Outcome for bool {
    type Value = ();
    fn ready(self) -> Option<()> {
        self.then_some(())
    }
}

impl<T> Outcome for Option<T> {
    type Value = T;
    fn ready(self) -> Option<T> {
        self
    }
}

/// Polls `condition` until it holds (`true`, or `Some(value)`, which is returned);
/// fails the test naming `what` when `deadline` passes first. The one way tests wait
/// for anything another task or process does in its own time.
pub async fn wait_until<F, Fut>(
    what: &str,
    deadline: std::time::Duration,
    mut condition: F,
) -> <Fut::Output as Outcome>::Value
where
    F: FnMut() -> Fut,
    Fut: std::future::Future,
    Fut::Output: Outcome,
{
    let until = tokio::time::Instant::now() + deadline;
    let mut pause = std::time::Duration::from_millis(2);
    loop {
        if let Some(v) = condition().await.ready() {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < until,
            "timed out after {deadline:?} waiting until {what}"
        );
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(std::time::Duration::from_millis(100));
    }
}

/// The width and height of a PNG, decoding every pixel (a broken picture fails here).
pub fn png_size(bytes: &[u8]) -> (u32, u32) {
    let mut reader = png::Decoder::new(bytes).read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("its pixels decode");
    (info.width, info.height)
}

/// Jobs started by [`TestApp::run_jobs`]; stopped when dropped.
pub struct Jobs(tokio::sync::watch::Sender<bool>);

impl Drop for Jobs {
    fn drop(&mut self) {
        let _ = self.0.send(true);
    }
}
