//! The command line: `run`, `migrate`, `console`, `org create`, `import-orders`, `outbox`,
//! `export`, `docs`.

mod backup;
mod export;
mod import;
mod org;
mod outbox;
mod sync;

use crate::clock::Clock;
use crate::commands::{Core, parse_email};
use crate::config::Config;
use crate::daemon::open_store;
use crate::domain::{Channel, OutboxId};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// promoterd — a ticket-sale promoter program on Discord, Telegram and email.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Cli {
    /// The configuration file.
    #[arg(long, global = true, env = "PROMOTERD_CONFIG", default_value = "promoterd.toml")]
    pub config: PathBuf,
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon.
    Run,
    /// Apply database migrations and exit.
    Migrate,
    /// Copy a SQLite database into a new, empty PostgreSQL database (in one consistent
    /// pass, checked table by table), to move an installation over. Stop the daemon first.
    MigrateDb {
        /// The SQLite file.
        #[arg(long)]
        from: PathBuf,
        /// The PostgreSQL database, `postgres://user:password@host:port/name`.
        #[arg(long)]
        to: String,
    },
    /// Run commands as a person, interactively or with -c.
    Console {
        /// The email address to act as.
        #[arg(long = "as")]
        as_email: String,
        /// One command to run, e.g. -c "mystats summer-fest".
        #[arg(short = 'c', long = "command")]
        command: Option<String>,
        /// Where attachments (CSV, QR codes) are saved.
        #[arg(long, default_value = ".")]
        out_dir: PathBuf,
    },
    /// Manage organizations.
    Org {
        #[command(subcommand)]
        action: OrgAction,
    },
    /// Import orders from a CSV file (see the README for the columns).
    ImportOrders {
        file: PathBuf,
        /// The checkout the orders come from; order ids are unique per source.
        #[arg(long, default_value = "checkout")]
        source: String,
    },
    /// Pull an event's past orders from its shop (Stripe, Shopify, pretix, Eventbrite);
    /// running it again changes nothing.
    Sync {
        /// The event's short name, or <organization>/<event>.
        event: String,
    },
    /// What waits in the outbox to be sent, per channel, and the codes of pending invites.
    Outbox {
        /// Only this channel.
        #[arg(long, value_parser = ["email", "telegram", "discord"])]
        channel: Option<String>,
        /// Print one message in full, by its id in the list.
        #[arg(long)]
        show: Option<OutboxId>,
    },
    /// Export the referred-buyers CSV of an event or organization.
    Export {
        /// An event's short name.
        #[arg(long, conflicts_with = "org")]
        event: Option<String>,
        /// An organization's short name (all its events).
        #[arg(long)]
        org: Option<String>,
        /// Output file (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Take a consistent copy of the database into a new file while the daemon runs,
    /// and check it (integrity, row counts).
    Backup {
        /// The new file (it must not exist).
        file: PathBuf,
    },
    /// Put a backup in place of the database; the daemon must be stopped. The file in
    /// place is kept aside as <database>.before-restore-<time>.
    Restore {
        /// A backup taken by `promoterd backup` or the schedule.
        file: PathBuf,
    },
    /// Print bot-commands.md, generated from the command declarations.
    Docs,
    /// Register the Discord slash commands now (globally, or in [discord] guild_id).
    Discord {
        #[command(subcommand)]
        action: DiscordAction,
    },
    /// Email tools.
    Email {
        #[command(subcommand)]
        action: EmailAction,
    },
}

/// `discord` subcommands.
#[derive(Debug, Subcommand)]
pub enum DiscordAction {
    /// Register the slash commands generated from the declarations.
    Register,
}

/// `email` subcommands.
#[derive(Debug, Subcommand)]
pub enum EmailAction {
    /// Show how promoterd reads a mail: kind, visible text, command (JSON).
    Inspect {
        /// A raw message (RFC 5322), or a bare body with --body-only / --html.
        file: PathBuf,
        /// The file is a plain-text body without headers.
        #[arg(long)]
        body_only: bool,
        /// The file is an HTML body without headers.
        #[arg(long, conflicts_with = "body_only")]
        html: bool,
        /// The bot's address, to recognize our own mail (a loop).
        #[arg(long)]
        bot_address: Option<String>,
    },
}

/// `org` subcommands.
#[derive(Debug, Subcommand)]
pub enum OrgAction {
    /// Create an organization and its owner.
    Create {
        /// The organization's name.
        name: String,
        /// The owner's email address.
        #[arg(long)]
        owner: String,
        /// Short name (default: derived from the name).
        #[arg(long)]
        slug: Option<String>,
        /// IANA time zone, e.g. Europe/Berlin (default: from the config).
        #[arg(long)]
        time_zone: Option<String>,
        /// Currency code (default: from the config).
        #[arg(long)]
        currency: Option<String>,
    },
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(matches!(cli.command, Command::Run));
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(dispatch(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(daemon: bool) {
    let default = if daemon { "info" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default.into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

async fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    // These need no configuration.
    match &cli.command {
        Command::Docs => {
            print!("{}", crate::docs::bot_commands_md());
            return Ok(ExitCode::SUCCESS);
        }
        Command::Email { action } => return inspect_mail(action),
        Command::MigrateDb { from, to } => return migrate_db(from, to).await,
        _ => {}
    }
    let config = load_config(&cli.config)?;
    match cli.command {
        Command::Run => {
            crate::daemon::run(config).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => migrate(&config).await,
        Command::Console {
            as_email,
            command,
            out_dir,
        } => console(&config, &as_email, command, &out_dir).await,
        Command::Org {
            action:
                OrgAction::Create {
                    name,
                    owner,
                    slug,
                    time_zone,
                    currency,
                },
        } => org::create(&config, &name, &owner, slug, time_zone, currency).await,
        Command::ImportOrders { file, source } => import::import_orders(&config, &file, &source).await,
        Command::Sync { event } => sync::sync(&config, &event).await,
        Command::Outbox { channel, show } => {
            outbox::run(&config, channel.as_deref().map(Channel::from_stored).transpose()?, show).await
        }
        Command::Discord {
            action: DiscordAction::Register,
        } => register_discord(&config).await,
        Command::Export { event, org, out } => export::export(&config, event, org, out.as_deref()).await,
        Command::Backup { file } => backup::backup(&config, &file).await,
        Command::Restore { file } => backup::restore(&config, &file).await,
        Command::Docs | Command::Email { .. } | Command::MigrateDb { .. } => unreachable!("handled above"),
    }
}

/// The configuration file read; a missing one is told how to start from the example.
fn load_config(path: &Path) -> anyhow::Result<Config> {
    match Config::load(path) {
        Ok(c) => Ok(c),
        // Only a missing file wants the example copied there; a broken one wants fixing.
        Err(e @ crate::config::ConfigError::Read { .. }) if matches!(&e, crate::config::ConfigError::Read { source, .. } if source.kind() == std::io::ErrorKind::NotFound) => {
            Err(anyhow::Error::new(e).context(format!(
                "no configuration file: copy config.example.toml to {} or pass --config",
                path.display()
            )))
        }
        Err(e) => Err(anyhow::Error::new(e).context("loading the configuration")),
    }
}

/// `promoterd email inspect`: how a mail reads, as JSON.
fn inspect_mail(action: &EmailAction) -> anyhow::Result<ExitCode> {
    let EmailAction::Inspect {
        file,
        body_only,
        html,
        bot_address,
    } = action;
    let raw = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let inspected = if *body_only || *html {
        crate::email::classify::inspect_body(&String::from_utf8_lossy(&raw), *html)
    } else {
        crate::email::classify::inspect(&raw, bot_address.as_deref())
    };
    println!("{}", serde_json::to_string_pretty(&inspected)?);
    Ok(ExitCode::SUCCESS)
}

/// `promoterd migrate-db --from <sqlite file> --to <postgres url>`.
async fn migrate_db(from: &Path, to: &str) -> anyhow::Result<ExitCode> {
    if !crate::store::is_postgres_url(to) {
        anyhow::bail!("--to must be a postgres:// URL");
    }
    if !from.is_file() {
        anyhow::bail!("there is no database at {}", from.display());
    }
    // No daemon may write to the file meanwhile: what it wrote would not move.
    let _lock = crate::backup::DaemonLock::acquire(from)?;
    let copied = crate::store::copy_sqlite_to_postgres(from, to)
        .await
        .with_context(|| format!("moving {} to PostgreSQL", from.display()))?;
    let rows: i64 = copied.tables.iter().map(|(_, n)| n).sum();
    for (table, n) in &copied.tables {
        println!("{table}: {n} row(s)");
    }
    println!(
        "{} table(s), {rows} row(s) copied and checked (rows and integer sums of every table). \
         Point [database] url at the new database and start the daemon.",
        copied.tables.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// `promoterd migrate`.
async fn migrate(config: &Config) -> anyhow::Result<ExitCode> {
    let store = crate::daemon::open_database(config).await?;
    let n = store.migrate().await.context("applying migrations")?;
    println!(
        "{}: {n} migration(s) applied, schema up to date",
        config.database_name()
    );
    Ok(ExitCode::SUCCESS)
}

/// `promoterd console --as <email> [-c <command>]`: one command (exit code 2 when it
/// fails), or an interactive session.
async fn console(config: &Config, as_email: &str, command: Option<String>, out_dir: &Path) -> anyhow::Result<ExitCode> {
    let Some(email) = parse_email(as_email) else {
        bail!("`{as_email}` is not an email address")
    };
    let core = core(config).await?;
    match command {
        Some(line) => {
            let (text, ok) = crate::console::run_one(&core, &email, &line, out_dir).await?;
            print!("{text}");
            Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(2) })
        }
        None => {
            crate::console::interactive(&core, &email, out_dir).await?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `promoterd discord register`.
async fn register_discord(config: &Config) -> anyhow::Result<ExitCode> {
    let token = config.discord_token().context("no Discord bot_token configured")?;
    let app = config
        .discord
        .application_id
        .context("no Discord application_id configured")?;
    let http = crate::discord::Discord::http_client(&token, app, config.discord.api_proxy.as_deref());
    let discord = crate::discord::Discord::new(core(config).await?, http, None)?;
    let n = discord.register(config.discord.guild_id).await?;
    match config.discord.guild_id {
        Some(g) => println!("Registered {n} slash commands in guild {g}."),
        None => {
            println!("Registered {n} global slash commands (Discord may take up to an hour to show changes).");
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn core(config: &Config) -> anyhow::Result<Core> {
    Ok(Core::new(
        open_store(config).await?,
        Clock::system(),
        config.core_settings(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
