//! `punte adaptations incoming` and `punte adaptations countersign URL`: adaptations of this
//! node's practices received from other organisations, and their countersignature (an
//! `Attestation` in this node's signed log, delivered by a running `punte serve`).

use std::sync::Arc;

use anyhow::Context;
use clap::Subcommand;

use punte_node::Node;
use punte_node::federation::{Federation, FederationSettings};

#[derive(Debug, Subcommand)]
pub enum AdaptationsCommand {
    /// Adaptations of this node's practices received from other organisations.
    Incoming {
        /// Also those their adopters deleted.
        #[arg(long)]
        all: bool,
    },
    /// Countersign a received adaptation (by its URL): an attestation in this node's log,
    /// delivered to the followers and to the adopting organisation.
    Countersign {
        /// The adaptation's URL on the adopter's node.
        adaptation: String,
    },
}

fn when(ms: i64) -> String {
    punte_server::federation_routes::ms_to_rfc3339(ms)
}

pub fn adaptations(
    node: Node,
    settings: FederationSettings,
    cmd: &AdaptationsCommand,
) -> anyhow::Result<()> {
    let fed = Federation::new(Arc::new(node), settings).context("cannot set up the HTTP client")?;
    match cmd {
        AdaptationsCommand::Incoming { all } => {
            let rows = fed.incoming_adaptations(*all)?;
            if rows.is_empty() {
                println!("(none)");
            }
            for a in rows {
                let signed = match &a.countersignature {
                    Some(c) => format!("countersigned at entry {}", c.log_index),
                    None => "not countersigned".to_owned(),
                };
                println!(
                    "{}  by {}  of practice {} v{}  {}  {}{}  {}  updated {}",
                    a.object_id,
                    a.adopter,
                    a.practice_id,
                    a.practice_version,
                    a.country,
                    a.state,
                    if a.deleted { " (deleted)" } else { "" },
                    signed,
                    when(a.updated_ms)
                );
            }
        }
        AdaptationsCommand::Countersign { adaptation } => {
            let row = fed
                .countersign(adaptation)
                .with_context(|| format!("cannot countersign {adaptation}"))?;
            if let Some(c) = &row.countersignature {
                println!(
                    "countersigned {} by {}: attestation {} at log entry {}",
                    row.object_id, row.adopter, c.attestation_id, c.log_index
                );
            }
        }
    }
    Ok(())
}
