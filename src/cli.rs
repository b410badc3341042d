//! The command line: `run`, `migrate`, `console`, `org create`, `import-orders`, `outbox`,
//! `export`, `docs`.

mod outbox;

use crate::clock::Clock;
use crate::commands::{Core, is_slug, parse_email};
use crate::config::Config;
use crate::store::{ExportFilter, Store};
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
    /// What waits in the outbox to be sent, per channel, and the codes of pending invites.
    Outbox {
        /// Only this channel.
        #[arg(long, value_parser = ["email", "telegram", "discord"])]
        channel: Option<String>,
        /// Print one message in full, by its id in the list.
        #[arg(long)]
        show: Option<i64>,
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

/// Opens and migrates the database named by the configuration.
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let path = config.database_path();
    let store = Store::open_with(&path, config.database.synchronous == "full")
        .await
        .with_context(|| format!("opening the database {}", path.display()))?;
    store.migrate().await.context("applying migrations")?;
    Ok(store)
}

async fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match &cli.command {
        Command::Docs => {
            print!("{}", crate::docs::bot_commands_md());
            return Ok(ExitCode::SUCCESS);
        }
        Command::Email {
            action:
                EmailAction::Inspect {
                    file,
                    body_only,
                    html,
                    bot_address,
                },
        } => {
            let raw = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
            let inspected = if *body_only || *html {
                crate::email::classify::inspect_body(&String::from_utf8_lossy(&raw), *html)
            } else {
                crate::email::classify::inspect(&raw, bot_address.as_deref())
            };
            println!("{}", serde_json::to_string_pretty(&inspected)?);
            return Ok(ExitCode::SUCCESS);
        }
        _ => {}
    }
    let config = match Config::load(&cli.config) {
        Ok(c) => c,
        // Only a missing file wants the example copied there; a broken one wants fixing.
        Err(e @ crate::config::ConfigError::Read { .. }) if matches!(&e, crate::config::ConfigError::Read { source, .. } if source.kind() == std::io::ErrorKind::NotFound) =>
        {
            return Err(anyhow::Error::new(e).context(format!(
                "no configuration file: copy config.example.toml to {} or pass --config",
                cli.config.display()
            )));
        }
        Err(e) => return Err(anyhow::Error::new(e).context("loading the configuration")),
    };
    match cli.command {
        Command::Run => {
            crate::daemon::run(config).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            let path = config.database_path();
            let store = Store::open_with(&path, config.database.synchronous == "full")
                .await
                .with_context(|| format!("opening {}", path.display()))?;
            let n = store.migrate().await.context("applying migrations")?;
            println!("{}: {n} migration(s) applied, schema up to date", path.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Console {
            as_email,
            command,
            out_dir,
        } => {
            let Some(email) = parse_email(&as_email) else {
                bail!("`{as_email}` is not an email address")
            };
            let core = core(&config).await?;
            match command {
                Some(line) => {
                    let (text, ok) = crate::console::run_one(&core, &email, &line, &out_dir).await?;
                    print!("{text}");
                    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(2) })
                }
                None => {
                    crate::console::interactive(&core, &email, &out_dir).await?;
                    Ok(ExitCode::SUCCESS)
                }
            }
        }
        Command::Org {
            action:
                OrgAction::Create {
                    name,
                    owner,
                    slug,
                    time_zone,
                    currency,
                },
        } => create_org(&config, &name, &owner, slug, time_zone, currency).await,
        Command::ImportOrders { file, source } => import_orders(&config, &file, &source).await,
        Command::Outbox { channel, show } => outbox::run(&config, channel.as_deref(), show).await,
        Command::Discord {
            action: DiscordAction::Register,
        } => {
            let token = config.discord_token().context("no Discord bot_token configured")?;
            let app = config
                .discord
                .application_id
                .context("no Discord application_id configured")?;
            let http = crate::discord::Discord::http_client(&token, app, config.discord.api_proxy.as_deref());
            let discord = crate::discord::Discord::new(core(&config).await?, http, None)?;
            let n = discord.register(config.discord.guild_id).await?;
            match config.discord.guild_id {
                Some(g) => println!("Registered {n} slash commands in guild {g}."),
                None => {
                    println!("Registered {n} global slash commands (Discord may take up to an hour to show changes).");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Export { event, org, out } => export(&config, event, org, out.as_deref()).await,
        Command::Docs | Command::Email { .. } => unreachable!("handled above"),
    }
}

async fn core(config: &Config) -> anyhow::Result<Core> {
    Ok(Core::new(
        open_store(config).await?,
        Clock::system(),
        config.core_settings(),
    ))
}

fn slugify(name: &str) -> String {
    let mut s = String::new();
    for c in name.to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            s.push(c);
        } else if !s.ends_with('-') && !s.is_empty() {
            s.push('-');
        }
    }
    s.trim_end_matches('-')
        .chars()
        .take(40)
        .collect::<String>()
        .trim_end_matches('-')
        .to_string()
}

async fn create_org(
    config: &Config,
    name: &str,
    owner: &str,
    slug: Option<String>,
    time_zone: Option<String>,
    currency: Option<String>,
) -> anyhow::Result<ExitCode> {
    let Some(owner) = parse_email(owner) else {
        bail!("`{owner}` is not an email address")
    };
    let slug = slug.unwrap_or_else(|| slugify(name));
    if !is_slug(&slug) {
        bail!("`{slug}` is not a short name: use 2 to 40 of a-z, 0-9 and -");
    }
    let tz = time_zone.unwrap_or_else(|| config.programs.default_time_zone.clone());
    if tz.parse::<chrono_tz::Tz>().is_err() {
        bail!("`{tz}` is not an IANA time zone such as Europe/Berlin");
    }
    let currency = currency
        .unwrap_or_else(|| config.programs.default_currency.clone())
        .to_ascii_uppercase();
    if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_uppercase()) {
        bail!("`{currency}` is not a currency code such as EUR");
    }
    let store = open_store(config).await?;
    if store.org_by_slug(&slug).await?.is_some() {
        bail!("an organization `{slug}` exists already");
    }
    let now = chrono::Utc::now();
    let mut tx = store.write().await?;
    let owner_id = store.upsert_person(&mut tx, &owner, true, now).await?;
    let org_id = store
        .create_org(&mut tx, &slug, name, &tz, &currency, owner_id, now)
        .await?;
    store
        .audit(&mut tx, Some(org_id), Some(owner_id), "org.created", &slug, now)
        .await?;
    tx.commit().await?;
    println!("Created organization {name} (`{slug}`, {tz}, {currency}) owned by {owner}.");
    println!("Next: promoterd console --as {owner} -c \"newevent …\"");
    Ok(ExitCode::SUCCESS)
}

async fn import_orders(config: &Config, file: &Path, source: &str) -> anyhow::Result<ExitCode> {
    use crate::ingest::ImportError;
    let store = open_store(config).await?;
    let data = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let read = crate::ingest::read_import_csv(&data);
    let rows = read.rows;
    let refused = |problems: Vec<crate::ingest::FileProblem>| {
        for p in &problems {
            eprintln!("{}: {p}", file.display());
        }
        let mut lines: Vec<u64> = problems.iter().map(|p| p.line).collect();
        lines.dedup();
        eprintln!(
            "{} problem(s) on {} line(s) ({rows} row(s) read). Nothing was imported.",
            problems.len(),
            lines.len()
        );
        Ok(ExitCode::from(2))
    };
    let checked = match read.check(&store, source).await {
        Ok(c) => c,
        Err(ImportError::Problems(problems)) => return refused(problems),
        Err(ImportError::Store(e)) => return Err(anyhow::Error::new(e).context("checking the orders")),
    };
    let outcomes = match checked.apply(&store, &Clock::system()).await {
        Ok(o) => o,
        Err(ImportError::Problems(problems)) => return refused(problems),
        Err(ImportError::Store(e)) => return Err(anyhow::Error::new(e).context("storing the orders")),
    };
    let created = outcomes
        .iter()
        .filter(|o| matches!(o, crate::store::IngestOutcome::Created(_)))
        .count();
    let updated = outcomes
        .iter()
        .filter(|o| matches!(o, crate::store::IngestOutcome::Updated(_)))
        .count();
    println!(
        "Imported {} order(s): {created} new, {updated} updated, {} unchanged.",
        outcomes.len(),
        outcomes.len() - created - updated
    );
    Ok(ExitCode::SUCCESS)
}

async fn export(
    config: &Config,
    event: Option<String>,
    org: Option<String>,
    out: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let store = open_store(config).await?;
    let (filter, tz, name) = match (event, org) {
        (Some(slug), _) => {
            let mut named = store.events_named(&slug).await?;
            if named.len() > 1 {
                anyhow::bail!("several organizations have an event `{slug}`: name it as <organization>/{slug}");
            }
            let e = named.pop().with_context(|| format!("no event `{slug}`"))?;
            let o = store
                .org(e.org_id)
                .await?
                .context("the event's organization is missing")?;
            (
                ExportFilter {
                    org_id: o.id,
                    event_id: Some(e.id),
                },
                o.time_zone,
                slug,
            )
        }
        (None, Some(slug)) => {
            let o = store
                .org_by_slug(&slug)
                .await?
                .with_context(|| format!("no organization `{slug}`"))?;
            (
                ExportFilter {
                    org_id: o.id,
                    event_id: None,
                },
                o.time_zone,
                slug,
            )
        }
        (None, None) => bail!("name an --event or an --org"),
    };
    let rows = match out {
        Some(path) => {
            let f = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
            crate::export::write_csv(&store, &filter, &tz, std::io::BufWriter::new(f)).await?
        }
        None => crate::export::write_csv(&store, &filter, &tz, std::io::stdout().lock()).await?,
    };
    let now = chrono::Utc::now();
    let mut tx = store.write().await?;
    store
        .audit(
            &mut tx,
            Some(filter.org_id),
            None,
            "export.cli",
            &format!("{name} {rows} rows"),
            now,
        )
        .await?;
    tx.commit().await?;
    eprintln!("{rows} row(s) exported.");
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn slugs_from_names() {
        assert_eq!(slugify("Acme Events GmbH!"), "acme-events-gmbh");
        assert_eq!(slugify("  Über  Fest "), "ber-fest");
    }
}
