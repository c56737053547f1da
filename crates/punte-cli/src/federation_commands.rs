//! `punte follow`, `punte unfollow`, `punte following`, `punte followers …` and
//! `punte deliveries`: the node's partners from the command line. They work on the data
//! directory directly, next to a running `punte serve`, whose delivery worker picks up
//! what they queue within seconds.

use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};

use punte_node::Node;
use punte_node::federation::{Federation, FederationSettings};
use punte_store::federation::{DeliveryState, FollowRow, FollowState};

#[derive(Debug, Args)]
pub struct FollowArgs {
    /// The partner: `@name@host`, `acct:name@host`, or its actor URL.
    pub target: String,
}

#[derive(Debug, Args)]
pub struct ActorArgs {
    /// The partner's actor URL.
    pub actor: String,
}

#[derive(Debug, Subcommand)]
pub enum FollowersCommand {
    /// List followers and follow requests (`--pending` for requests waiting for approval).
    List {
        #[arg(long)]
        pending: bool,
    },
    /// Approve a follow request: the partner receives every change from now on.
    Approve(ActorArgs),
    /// Reject a follow request, or remove a follower.
    Reject(ActorArgs),
}

#[derive(Debug, Args)]
pub struct DeliveriesArgs {
    /// Only deliveries in this state: pending, delivered or failed.
    #[arg(long)]
    pub state: Option<String>,
    /// Only deliveries of the entry at this log index.
    #[arg(long)]
    pub index: Option<u64>,
    /// At most this many, oldest first.
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn federation(node: Node, settings: FederationSettings) -> anyhow::Result<Federation> {
    Federation::new(Arc::new(node), settings).context("cannot set up the HTTP client")
}

fn when(ms: i64) -> String {
    punte_server::federation_routes::ms_to_rfc3339(ms)
}

fn print_follows(rows: &[FollowRow]) {
    if rows.is_empty() {
        println!("(none)");
    }
    for r in rows {
        println!(
            "{:<9} {}  {}  since {}",
            r.state.as_str(),
            r.actor,
            if r.is_punte {
                "punte"
            } else {
                "other software"
            },
            when(r.requested_ms)
        );
    }
}

pub fn follow(node: Node, settings: FederationSettings, args: &FollowArgs) -> anyhow::Result<()> {
    let fed = federation(node, settings)?;
    let row = runtime()?
        .block_on(fed.follow(&args.target))
        .with_context(|| format!("cannot follow {}", args.target))?;
    println!(
        "asked to follow {} (request {}); it is pending until the partner accepts",
        row.actor, row.follow_id
    );
    Ok(())
}

pub fn unfollow(node: Node, settings: FederationSettings, args: &ActorArgs) -> anyhow::Result<()> {
    let fed = federation(node, settings)?;
    fed.unfollow(&args.actor)
        .with_context(|| format!("cannot unfollow {}", args.actor))?;
    println!("stopped following {}", args.actor);
    Ok(())
}

pub fn following(node: Node, settings: FederationSettings) -> anyhow::Result<()> {
    let fed = federation(node, settings)?;
    print_follows(&fed.following(None)?);
    Ok(())
}

pub fn followers(
    node: Node,
    settings: FederationSettings,
    cmd: &FollowersCommand,
) -> anyhow::Result<()> {
    let fed = federation(node, settings)?;
    match cmd {
        FollowersCommand::List { pending } => {
            let state = pending.then_some(FollowState::Pending);
            print_follows(&fed.followers(state)?);
        }
        FollowersCommand::Approve(a) => {
            let row = fed
                .approve(&a.actor)
                .with_context(|| format!("cannot approve {}", a.actor))?;
            println!("{} is now {}", row.actor, row.state.as_str());
        }
        FollowersCommand::Reject(a) => {
            let row = fed
                .reject(&a.actor)
                .with_context(|| format!("cannot reject {}", a.actor))?;
            println!("{} is now {}", row.actor, row.state.as_str());
        }
    }
    Ok(())
}

pub fn deliveries(
    node: Node,
    settings: FederationSettings,
    args: &DeliveriesArgs,
) -> anyhow::Result<()> {
    let state = match args.state.as_deref() {
        None => None,
        Some(s) => match DeliveryState::parse(s) {
            Some(s) => Some(s),
            None => bail!("--state must be pending, delivered or failed, not {s:?}"),
        },
    };
    let fed = federation(node, settings)?;
    let (summary, hosts) = fed.delivery_hosts()?;
    let now = punte_node::publish::unix_ms(time::OffsetDateTime::now_utc());
    // a pause that ended is no pause
    let paused_until = |host: &str| {
        hosts
            .iter()
            .find(|h| h.host == host)
            .map(|h| h.paused_until_ms)
            .filter(|until| *until > now)
    };
    println!("per host: pending / delivered / failed");
    for (host, pending, delivered, failed) in &summary {
        let paused = paused_until(host)
            .map(|until| format!("  paused until {}", when(until)))
            .unwrap_or_default();
        println!("  {host}: {pending} / {delivered} / {failed}{paused}");
    }
    let rows = fed.deliveries_oldest_first(state, args.index, args.limit)?;
    if !rows.is_empty() {
        println!("deliveries, oldest first:");
    }
    for d in rows {
        let detail = match d.state {
            DeliveryState::Pending => {
                // the real next attempt: its own retry time, or its host's pause if later
                let next =
                    paused_until(&d.host).map_or(d.next_attempt_ms, |p| p.max(d.next_attempt_ms));
                if next <= now {
                    format!("attempt {} due now", d.attempts + 1)
                } else {
                    format!("attempt {} at {}", d.attempts + 1, when(next))
                }
            }
            DeliveryState::Delivered => format!("after {} attempt(s)", d.attempts),
            DeliveryState::Failed => d.last_error.clone().unwrap_or_default(),
        };
        println!(
            "#{} entry {} -> {}  {}  {}",
            d.id,
            d.log_index,
            d.inbox,
            d.state.as_str(),
            detail
        );
    }
    Ok(())
}
