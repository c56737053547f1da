//! The `punte` binary: parses the command line, loads the config once, sets up logging, and
//! hands over to the node, the server or a one-off command.

mod adaptation_commands;
mod analysis_commands;
mod audit;
mod catalogue_commands;
mod commands;
mod explain;
mod federation_commands;
mod log_commands;
mod membership_commands;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use punte_server::Config;
use punte_server::config::LogFormat;

/// Punte: good practices and impact evaluations of civil-society organisations, published as
/// signed ActivityPub activities to partner nodes.
#[derive(Debug, Parser)]
#[command(name = "punte", version, about, long_about = None)]
pub struct Cli {
    /// TOML config file (see config/punte.example.toml).
    #[arg(long, global = true, env = "PUNTE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data directory: database and keys [default: ./punte-data].
    #[arg(long, global = true, env = "PUNTE_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the node: creates keys and the database on first start.
    Serve {
        /// Address to listen on [default: 127.0.0.1:8080].
        #[arg(long, env = "PUNTE_LISTEN", value_name = "ADDR")]
        listen: Option<std::net::SocketAddr>,
        /// Public URL the node's ids are built on [default: http:// + listen address].
        #[arg(long, env = "PUNTE_BASE_URL", value_name = "URL")]
        base_url: Option<String>,
    },
    /// Set the organisation's name, country, public base URL and languages.
    Init(commands::InitArgs),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(commands::TokenCommand),
    /// Add, list and show good practices.
    #[command(subcommand)]
    Practice(commands::PracticeCommand),
    /// Add, list and show evaluations.
    #[command(subcommand)]
    Evaluation(commands::EvaluationCommand),
    /// Import and list indicator definitions.
    #[command(subcommand)]
    Indicator(commands::IndicatorCommand),
    /// Write the whole node as JSON (to a file, or standard output).
    Export {
        #[arg(long, short, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Write the evaluations as IATI 2.03 activity results (XML) instead.
        #[arg(long)]
        iati: bool,
        /// With --iati: the organisation's registered IATI identifier.
        #[arg(long, requires = "iati", value_name = "REF")]
        org_ref: Option<String>,
    },
    /// Import a followed coordinator's indicator catalogue (`punte indicator list` shows it).
    #[command(subcommand)]
    Catalogue(catalogue_commands::CatalogueCommand),
    /// Comparative analysis of one indicator over own and partners' evaluations.
    #[command(subcommand)]
    Analysis(analysis_commands::AnalysisCommand),
    /// Make a consistent copy of the live database (safe while the node runs).
    Backup {
        /// Where to write the copy; must not exist yet.
        out: PathBuf,
    },
    /// Show the node's verifier keys, or rotate the identity key.
    #[command(subcommand)]
    Keys(log_commands::KeysCommand),
    /// Check the node's own signed history and that every document is what it says (exit 1
    /// when not).
    Check,
    /// Erase an activity's bytes from the signed history (the entry stays; a signed
    /// redaction entry records why).
    Redact(log_commands::RedactArgs),
    /// Audit nodes' signed histories (or re-verify an evidence bundle offline).
    Audit(audit::AuditArgs),
    /// Ask a partner node to be followed: `punte follow @name@host` or its actor URL.
    Follow(federation_commands::FollowArgs),
    /// Stop following a partner.
    Unfollow(federation_commands::ActorArgs),
    /// The partners this node follows, and whether they accepted.
    Following,
    /// Who follows this node; approve or reject follow requests.
    #[command(subcommand)]
    Followers(federation_commands::FollowersCommand),
    /// Delivery status per partner host and per activity.
    Deliveries(federation_commands::DeliveriesArgs),
    /// Adaptations of this node's practices by other organisations; countersign them.
    #[command(subcommand)]
    Adaptations(adaptation_commands::AdaptationsCommand),
    /// The network membership list: list, status, and (on a coordinator) admit, update,
    /// remove members.
    #[command(subcommand)]
    Members(membership_commands::MembersCommand),
}

fn load_config(cli: &Cli) -> anyhow::Result<Config> {
    let file = match &cli.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read config file {}", path.display()))?;
            Some((path.display().to_string(), text))
        }
        None => None,
    };
    let mut config = Config::load(
        file.as_ref().map(|(o, t)| (o.as_str(), t.as_str())),
        std::env::vars(),
    )?;
    if let Some(dir) = &cli.data_dir {
        config.storage.data_dir = dir.clone();
    }
    if let Command::Serve { listen, base_url } = &cli.command {
        if let Some(listen) = listen {
            config.server.listen = *listen;
        }
        if let Some(url) = base_url {
            config.server.base_url = Some(
                punte_server::config::normalise_base_url(url)
                    .map_err(|e| anyhow::anyhow!("--base-url: {e}"))?,
            );
        }
    }
    Ok(config)
}

/// Sets up logging to standard error. `RUST_LOG` wins over `logging.level`; a level that does
/// not parse is a configuration error naming where it came from.
fn init_logging(config: &Config) -> anyhow::Result<()> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.is_empty() => tracing_subscriber::EnvFilter::try_new(&spec)
            .map_err(|e| anyhow::anyhow!("RUST_LOG '{spec}' is not a log filter: {e}"))?,
        _ => tracing_subscriber::EnvFilter::try_new(&config.logging.level).map_err(|e| {
            anyhow::anyhow!(
                "logging.level '{}' is not a log filter (e.g. 'info' or 'punte=debug'): {e}",
                config.logging.level
            )
        })?,
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match config.logging.format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
    Ok(())
}

/// An error and its causes on one line, skipping a cause whose text the message before it
/// already ends with (many messages embed their cause).
fn describe(error: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if out.ends_with(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match load_config(&cli) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("punte: configuration error: {}", describe(&e));
            return ExitCode::from(2);
        }
    };
    if let Err(e) = init_logging(&config) {
        eprintln!("punte: configuration error: {}", describe(&e));
        return ExitCode::from(2);
    }
    match commands::run(cli.command, config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("punte: {}", describe(&e));
            ExitCode::FAILURE
        }
    }
}
