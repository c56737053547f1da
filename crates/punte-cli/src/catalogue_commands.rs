//! `punte catalogue import ACTOR`: copy a followed coordinator's indicator catalogue (the
//! definitions replicated from its signed log) into this node's catalogue, with the same rules
//! as `POST /api/v1/catalogue/import` (both call `Node::import_catalogue`). `punte indicator
//! list` shows the result.

use anyhow::Context;
use clap::Subcommand;

use punte_node::Node;

#[derive(Debug, Subcommand)]
pub enum CatalogueCommand {
    /// Import the indicator definitions replicated from a followed coordinator, in one
    /// transaction: new ones are added, identical ones left alone, and a definition that
    /// differs from the local one under the same code@version refuses the whole import.
    Import {
        /// The coordinator's actor URL (a partner this node follows and has replicated).
        actor: String,
    },
}

pub fn catalogue(node: &Node, cmd: &CatalogueCommand) -> anyhow::Result<()> {
    match cmd {
        CatalogueCommand::Import { actor } => {
            let outcome = node
                .import_catalogue(actor)
                .map_err(crate::explain::explain)
                .with_context(|| format!("cannot import the catalogue of {actor}"))?;
            for r in &outcome.imported {
                println!("imported {r}");
            }
            for r in &outcome.unchanged {
                println!("unchanged {r}");
            }
            eprintln!(
                "{} indicator definitions imported, {} already held",
                outcome.imported.len(),
                outcome.unchanged.len()
            );
        }
    }
    Ok(())
}
