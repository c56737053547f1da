//! `punte members list|status|admit|update|remove`: the network membership list from the
//! command line. Like the other federation commands they work on the data directory next
//! to a running `punte serve`, whose delivery worker sends each new version to the
//! followers within seconds.

use std::sync::Arc;

use anyhow::Context;
use clap::Subcommand;

use punte_node::Node;
use punte_node::federation::{Federation, FederationSettings};
use punte_node::membership::PublishedList;

#[derive(Debug, Subcommand)]
pub enum MembersCommand {
    /// The list this node published as a coordinator, and its history.
    List,
    /// The coordinator, members-only mode, and the list this node goes by.
    Status,
    /// Admit a member (coordinator): pins its identity and witness keys, read from its node.
    Admit {
        /// The member's actor URL (`https://HOST/actor`).
        actor: String,
        /// ISO 3166-1 alpha-2 country; taken from the member's profile when absent.
        #[arg(long)]
        country: Option<String>,
    },
    /// Re-pin a member's keys after it rotated them (coordinator).
    Update {
        /// The member's actor URL.
        actor: String,
    },
    /// Remove a member (coordinator): it stays listed with the date it left.
    Remove {
        /// The member's actor URL.
        actor: String,
    },
}

fn print_published(p: &PublishedList) {
    let list = &p.list;
    println!("published at log entry {}", p.log_index);
    println!(
        "version {} published {} ({} {})",
        list.version,
        list.published,
        list.action.as_str(),
        list.changed
    );
    for m in &list.members {
        println!(
            "{:<8} {}  {}  {}  joined {}{}",
            if m.is_current() { "member" } else { "left" },
            m.actor,
            m.country.as_str(),
            m.name.as_deref().unwrap_or("-"),
            m.joined,
            m.left.map(|d| format!(", left {d}")).unwrap_or_default()
        );
    }
}

pub fn members(
    node: Node,
    settings: FederationSettings,
    cmd: &MembersCommand,
) -> anyhow::Result<()> {
    let fed = Federation::new(Arc::new(node), settings).context("cannot set up the HTTP client")?;
    let runtime = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")
    };
    match cmd {
        MembersCommand::List => {
            match fed.node().published_membership()? {
                Some(p) => print_published(&p),
                None => println!("(this node has published no membership list)"),
            }
            for v in fed.node().membership_history()? {
                println!(
                    "v{} entry {}  {} {}",
                    v.version, v.log_index, v.action, v.actor
                );
            }
        }
        MembersCommand::Status => {
            let s = fed.membership_status()?;
            println!(
                "coordinator: {}",
                s.coordinator.as_deref().unwrap_or("(none configured)")
            );
            println!("members only: {}", s.members_only);
            match (s.version, s.log_index) {
                (Some(v), Some(i)) => println!(
                    "list in force: version {v} (coordinator's log entry {i}), {} current members; this node is {}listed",
                    s.members,
                    if s.listed { "" } else { "not " }
                ),
                _ => println!("list in force: none known yet"),
            }
        }
        MembersCommand::Admit { actor, country } => {
            let p = runtime()?
                .block_on(fed.admit_member(actor, country.as_deref()))
                .with_context(|| format!("cannot admit {actor}"))?;
            print_published(&p);
        }
        MembersCommand::Update { actor } => {
            let p = runtime()?
                .block_on(fed.update_member(actor))
                .with_context(|| format!("cannot update {actor}"))?;
            print_published(&p);
        }
        MembersCommand::Remove { actor } => {
            let p = fed
                .remove_member(actor)
                .with_context(|| format!("cannot remove {actor}"))?;
            print_published(&p);
        }
    }
    Ok(())
}
