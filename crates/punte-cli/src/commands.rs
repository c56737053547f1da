//! One function per subcommand. Commands other than `serve` open the data directory directly;
//! SQLite lets them run beside a serving node.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde::de::DeserializeOwned;

use crate::explain::explain;
use punte_model::{
    CountryCode, Evaluation, EvaluationContent, IndicatorRef, LangMap, LanguageTag, NutsCode,
    OrganisationProfile, Practice, PracticeContent,
};
use punte_node::{EvaluationFilter, Node, NodeError, NodeSettings, PracticeFilter, Role};
use punte_server::{Application, Config};

use crate::Command;
use crate::federation_commands as fc;

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The organisation's name (in its first language).
    #[arg(long)]
    pub name: String,
    /// ISO 3166-1 alpha-2 country code, e.g. RO.
    #[arg(long)]
    pub country: String,
    /// The public URL partners reach the node at, e.g. https://ngo.example.org.
    #[arg(long)]
    pub base_url: String,
    /// Working languages, first = default, e.g. ro,en.
    #[arg(long, value_delimiter = ',', default_value = "en")]
    pub languages: Vec<String>,
    /// NUTS region code, e.g. RO32.
    #[arg(long)]
    pub region: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token; it is printed once, as the last line.
    Create {
        #[arg(long, value_parser = ["admin", "editor", "reader"])]
        role: String,
        #[arg(long, default_value = "")]
        label: String,
    },
    /// List tokens (never the tokens themselves).
    List,
    /// Revoke a token by id.
    Revoke { id: String },
}

#[derive(Debug, Subcommand)]
pub enum PracticeCommand {
    /// Add a practice from a JSON or TOML file ("-" reads JSON from standard input).
    Add { file: PathBuf },
    /// List practices, newest first.
    List {
        #[arg(long)]
        country: Option<String>,
        #[arg(long)]
        theme: Option<String>,
        #[arg(long)]
        language: Option<String>,
        /// Full-text search in every language.
        #[arg(long, short)]
        query: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Show a practice as JSON.
    Show {
        id: String,
        #[arg(long)]
        version: Option<u32>,
    },
}

#[derive(Debug, Subcommand)]
pub enum EvaluationCommand {
    /// Add an evaluation from a JSON or TOML file.
    Add { file: PathBuf },
    /// List evaluations, newest first.
    List {
        #[arg(long)]
        practice: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Show an evaluation as JSON.
    Show { id: String },
}

#[derive(Debug, Subcommand)]
pub enum IndicatorCommand {
    /// Import indicator definitions from CSV (columns in docs/operating.md); all or nothing.
    Import { file: PathBuf },
    /// List the catalogue.
    List,
}

pub fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve { .. } => serve(config),
        Command::Init(args) => init(&config, args),
        Command::Token(cmd) => token(&open_existing_node(&config)?, cmd),
        Command::Practice(cmd) => practice(&open_existing_node(&config)?, cmd),
        Command::Evaluation(cmd) => evaluation(&open_existing_node(&config)?, cmd),
        Command::Indicator(cmd) => indicator(&open_existing_node(&config)?, cmd),
        Command::Export {
            out,
            iati: true,
            org_ref,
        } => crate::analysis_commands::export_iati(&open_existing_node(&config)?, out, org_ref),
        Command::Export { out, .. } => export(&open_existing_node(&config)?, out),
        Command::Analysis(cmd) => {
            crate::analysis_commands::analysis(&open_existing_node(&config)?, cmd)
        }
        Command::Catalogue(cmd) => {
            crate::catalogue_commands::catalogue(&open_existing_node(&config)?, &cmd)
        }
        Command::Backup { out } => backup(&open_existing_node(&config)?, &out),
        Command::Keys(cmd) => crate::log_commands::keys(&open_existing_node(&config)?, cmd),
        Command::Check => crate::log_commands::check(&open_existing_node(&config)?),
        Command::Redact(args) => crate::log_commands::redact(&open_existing_node(&config)?, &args),
        Command::Audit(args) => crate::audit::run_and_exit(&args),
        Command::Follow(args) => fc::follow(
            open_existing_node(&config)?,
            config.federation.settings(),
            &args,
        ),
        Command::Unfollow(args) => fc::unfollow(
            open_existing_node(&config)?,
            config.federation.settings(),
            &args,
        ),
        Command::Following => {
            fc::following(open_existing_node(&config)?, config.federation.settings())
        }
        Command::Followers(cmd) => fc::followers(
            open_existing_node(&config)?,
            config.federation.settings(),
            &cmd,
        ),
        Command::Deliveries(args) => fc::deliveries(
            open_existing_node(&config)?,
            config.federation.settings(),
            &args,
        ),
        Command::Adaptations(cmd) => crate::adaptation_commands::adaptations(
            open_existing_node(&config)?,
            config.federation.settings(),
            &cmd,
        ),
        Command::Members(cmd) => {
            let mut settings = config.federation.settings();
            settings.membership = config.membership.settings();
            crate::membership_commands::members(open_existing_node(&config)?, settings, &cmd)
        }
    }
}

fn base_url(config: &Config) -> anyhow::Result<String> {
    if let Some(url) = &config.server.base_url {
        return Ok(url.clone());
    }
    if let Some(url) = punte_node::stored_base_url(&config.storage.data_dir)? {
        return Ok(url);
    }
    Ok(format!("http://{}", config.server.listen))
}

fn open_node(config: &Config) -> anyhow::Result<Node> {
    let settings = NodeSettings {
        data_dir: config.storage.data_dir.clone(),
        base_url: base_url(config)?,
        disclosure_k: config.disclosure.k,
    };
    Node::open(settings).with_context(|| {
        format!(
            "cannot open the node in {}",
            config.storage.data_dir.display()
        )
    })
}

/// Opens a node that must exist already: only `init` and `serve` create one, so a command run
/// in the wrong folder says so instead of working on a new, empty node.
fn open_existing_node(config: &Config) -> anyhow::Result<Node> {
    let db = config.storage.data_dir.join(punte_node::DATABASE_FILE);
    if !db.exists() {
        bail!(
            "no node in {} (no {}); run `punte init` or `punte serve` first, or pass --data-dir",
            config.storage.data_dir.display(),
            punte_node::DATABASE_FILE
        );
    }
    open_node(config)
}

fn serve(mut config: Config) -> anyhow::Result<()> {
    if config.server.base_url.is_none() {
        config.server.base_url = punte_node::stored_base_url(&config.storage.data_dir)?;
    }
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(&config)?;
        let _ = writeln!(
            std::io::stdout(),
            "punte {} listening on http://{} as {} (data in {})",
            env!("CARGO_PKG_VERSION"),
            app.address(),
            app.base_url(),
            config.storage.data_dir.display()
        );
        let _ = std::io::stdout().flush();
        actix_web::rt::spawn(stop_on_signals(app.stopper()));
        app.run_until_stopped().await.context("server failed")?;
        // standard output may be gone (a closed pipe); stopping cleanly matters more
        let _ = writeln!(std::io::stdout(), "punte stopped");
        Ok(())
    })
}

/// SIGINT (Ctrl-C) or SIGTERM: stop accepting, let in-flight requests finish, close the
/// database. A second signal stops at once.
async fn stop_on_signals(handle: punte_server::Stopper) {
    let mut graceful = true;
    loop {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let Ok(mut term) = signal(SignalKind::terminate()) else {
                tracing::error!("cannot listen for SIGTERM");
                return;
            };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        if graceful {
            tracing::info!("stopping: finishing requests in flight (signal again to stop at once)");
            let handle = handle.clone();
            actix_web::rt::spawn(async move { handle.stop(true).await });
            graceful = false;
        } else {
            tracing::warn!("stopping at once");
            handle.stop(false).await;
            return;
        }
    }
}

fn init(config: &Config, args: InitArgs) -> anyhow::Result<()> {
    let languages = args
        .languages
        .iter()
        .map(|l| LanguageTag::parse(l.trim()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("--languages: {e}"))?;
    let first = languages
        .first()
        .cloned()
        .context("--languages: give at least one language")?;
    let profile = OrganisationProfile {
        name: LangMap::new(first, args.name.trim()),
        country: CountryCode::parse(&args.country)
            .map_err(|e| anyhow::anyhow!("--country: {e}"))?,
        region: args
            .region
            .as_deref()
            .map(NutsCode::parse)
            .transpose()
            .map_err(|e| anyhow::anyhow!("--region: {e}"))?,
        languages,
        summary: None,
    };
    let url = punte_server::config::normalise_base_url(&args.base_url)
        .map_err(|e| anyhow::anyhow!("--base-url: {e}"))?;
    let mut config = config.clone();
    config.server.base_url = Some(url.clone());
    let node = open_node(&config)?;
    node.set_organisation(&profile).map_err(explain)?;
    node.set_base_url(&url).map_err(explain)?;
    println!(
        "initialised {} ({}) at {url}",
        args.name.trim(),
        profile.country
    );
    println!("next: `punte token create --role admin` for an API token, then `punte serve`");
    Ok(())
}

fn token(node: &Node, cmd: TokenCommand) -> anyhow::Result<()> {
    match cmd {
        TokenCommand::Create { role, label } => {
            let role = Role::parse(&role).context("role must be admin, editor or reader")?;
            let (id, token) = node.create_token(role, &label).map_err(explain)?;
            eprintln!(
                "created {} token {id}; it is shown once, keep it secret:",
                role.as_str()
            );
            println!("{token}");
        }
        TokenCommand::List => {
            for t in node.list_tokens()? {
                let state = if t.revoked_at.is_some() {
                    "revoked"
                } else {
                    "active"
                };
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    t.id, t.role, state, t.created_at, t.label
                );
            }
        }
        TokenCommand::Revoke { id } => {
            node.revoke_token(&id).map_err(explain)?;
            println!("revoked {id}");
        }
    }
    Ok(())
}

fn toml_to_json(value: toml::Value) -> serde_json::Value {
    match value {
        toml::Value::String(s) => s.into(),
        toml::Value::Integer(i) => i.into(),
        toml::Value::Float(f) => serde_json::Number::from_f64(f)
            .map(Into::into)
            .unwrap_or(serde_json::Value::Null),
        toml::Value::Boolean(b) => b.into(),
        toml::Value::Datetime(d) => d.to_string().into(),
        toml::Value::Array(a) => a.into_iter().map(toml_to_json).collect(),
        toml::Value::Table(t) => t.into_iter().map(|(k, v)| (k, toml_to_json(v))).collect(),
    }
}

/// Reads a JSON or TOML file (by extension; `-` is JSON on standard input) into `T`, naming
/// the offending field on error.
fn read_document<T: DeserializeOwned>(path: &Path) -> anyhow::Result<T> {
    let text = if path == Path::new("-") {
        std::io::read_to_string(std::io::stdin()).context("cannot read standard input")?
    } else {
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?
    };
    let is_toml = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"));
    let value: serde_json::Value = if is_toml {
        toml_to_json(toml::Value::Table(
            toml::from_str::<toml::Table>(&text)
                .with_context(|| format!("{} is not valid TOML", path.display()))?,
        ))
    } else {
        serde_json::from_str(&text)
            .with_context(|| format!("{} is not valid JSON", path.display()))?
    };
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path_text = e.path().to_string();
        anyhow::anyhow!("{}: at {}: {}", path.display(), path_text, e.into_inner())
    })
}

fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

fn practice(node: &Node, cmd: PracticeCommand) -> anyhow::Result<()> {
    match cmd {
        PracticeCommand::Add { file } => {
            let content: PracticeContent = read_document(&file)?;
            let practice: Practice = node.create(content).map_err(explain)?;
            eprintln!(
                "added practice {} version {}",
                practice.id, practice.version
            );
            print_json(&practice)?;
        }
        PracticeCommand::List {
            country,
            theme,
            language,
            query,
            limit,
        } => {
            let filter = PracticeFilter {
                country,
                theme,
                language,
                query,
                ..Default::default()
            };
            let page = node.list_practices(&filter, None, limit)?;
            let default_lang = LanguageTag::parse("en").map_err(|e| anyhow::anyhow!(e))?;
            for p in page.items {
                let (_, title) = p
                    .content
                    .title
                    .best(&default_lang, &p.content.original_language);
                println!(
                    "{}\tv{}\t{}\t{}\t{}",
                    p.id,
                    p.version,
                    p.content.country,
                    p.content.maturity.as_str(),
                    title
                );
            }
            if page.next_after.is_some() {
                eprintln!("(more practices; raise --limit)");
            }
        }
        PracticeCommand::Show { id, version } => {
            let practice: Practice = node.get(&id, version).map_err(explain)?;
            print_json(&practice)?;
        }
    }
    Ok(())
}

fn evaluation(node: &Node, cmd: EvaluationCommand) -> anyhow::Result<()> {
    match cmd {
        EvaluationCommand::Add { file } => {
            let content: EvaluationContent = read_document(&file)?;
            let evaluation: Evaluation = node.create(content).map_err(explain)?;
            eprintln!(
                "added evaluation {} version {}",
                evaluation.id, evaluation.version
            );
            print_json(&evaluation)?;
        }
        EvaluationCommand::List { practice, limit } => {
            let page = node.list_evaluations(
                &EvaluationFilter {
                    practice,
                    indicator: None,
                },
                None,
                limit,
            )?;
            for e in page.items {
                let subject = e
                    .content
                    .subject
                    .practice
                    .as_deref()
                    .or(e.content.subject.adaptation.as_deref())
                    .unwrap_or("-");
                println!(
                    "{}\tv{}\t{}\tlevel {}\t{} values",
                    e.id,
                    e.version,
                    subject,
                    e.content.evidence_level.get(),
                    e.content.values.len()
                );
            }
        }
        EvaluationCommand::Show { id } => {
            let evaluation: Evaluation = node.get(&id, None).map_err(explain)?;
            print_json(&evaluation)?;
        }
    }
    Ok(())
}

fn indicator(node: &Node, cmd: IndicatorCommand) -> anyhow::Result<()> {
    match cmd {
        IndicatorCommand::Import { file } => {
            let reader = std::fs::File::open(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let definitions = punte_node::parse_indicator_csv(reader)
                .map_err(|e| explain(NodeError::Invalid(e)))?;
            let imported = node.import_indicators(definitions).map_err(explain)?;
            for d in &imported {
                println!("imported {}", d.reference());
            }
            eprintln!("{} indicator definitions imported", imported.len());
        }
        IndicatorCommand::List => {
            for d in node.list_indicators(None)? {
                let reference: IndicatorRef = d.reference();
                let label = d
                    .label
                    .iter()
                    .next()
                    .map(|(_, l)| l.to_string())
                    .unwrap_or_default();
                println!("{reference}\t{}\t{}\t{label}", d.measure.as_str(), d.unit);
            }
        }
    }
    Ok(())
}

fn export(node: &Node, out: Option<PathBuf>) -> anyhow::Result<()> {
    let value = node.export()?;
    match out {
        None => print_json(&value),
        Some(path) => {
            let text = serde_json::to_string_pretty(&value)?;
            std::fs::write(&path, text)
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("exported to {}", path.display());
            Ok(())
        }
    }
}

fn backup(node: &Node, out: &Path) -> anyhow::Result<()> {
    if out.exists() {
        bail!("{} exists already; choose a new file name", out.display());
    }
    eprintln!("backing up {} …", node.store().path().display());
    node.store()
        .backup(out)
        .with_context(|| format!("backup to {} failed", out.display()))?;
    println!(
        "backed up {} to {}",
        node.store().path().display(),
        out.display()
    );
    println!(
        "keys are not in the database: also copy {}",
        node.settings()
            .data_dir
            .join(punte_node::KEYS_DIR)
            .display()
    );
    Ok(())
}
