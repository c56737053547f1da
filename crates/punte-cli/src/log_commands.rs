//! `punte keys …`, `punte redact` and `punte check`: the node's verifier keys, identity key
//! rotation, erasure of an activity from the signed history, and the node's check of its own
//! history.

use anyhow::Context;
use clap::{Args, Subcommand};

use punte_node::Node;

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Print the verifier keys: identity (C2SP vkey and Multikey), witness, key history.
    Show,
    /// Replace the identity key. A rotation entry signed by the old key names the new one;
    /// the old key file is kept in keys/retired/.
    Rotate,
}

#[derive(Debug, Args)]
pub struct RedactArgs {
    /// Log index of the activity entry whose bytes are erased.
    pub index: u64,
    /// Why (one line, at most 1024 bytes); recorded in a signed redaction entry.
    #[arg(long)]
    pub reason: String,
}

pub fn keys(node: &Node, command: KeysCommand) -> anyhow::Result<()> {
    match command {
        KeysCommand::Show => {
            let summary = node.keys_summary().context("cannot read the node's keys")?;
            println!("identity (log and checkpoints): {}", summary.identity_vkey);
            println!(
                "identity (Multikey):            {}",
                summary.identity_multikey
            );
            println!("witness (cosignature/v1):       {}", summary.witness_vkey);
            if summary.history.len() > 1 {
                println!("key history, oldest first:");
                for key in &summary.history {
                    println!("  {key}");
                }
            }
        }
        KeysCommand::Rotate => {
            let rotated = node
                .rotate_identity_key()
                .context("cannot rotate the identity key")?;
            println!(
                "rotated the identity key at log entry {}\n  old: {}\n  new: {}\nthe old key is kept in {}",
                rotated.index,
                rotated.old_vkey,
                rotated.new_vkey,
                rotated.retired_file.display()
            );
        }
    }
    Ok(())
}

pub fn redact(node: &Node, args: &RedactArgs) -> anyhow::Result<()> {
    let at = node
        .redact(args.index, &args.reason)
        .with_context(|| format!("cannot redact log entry {}", args.index))?;
    println!(
        "erased the activity of log entry {}; redaction recorded as entry {at}",
        args.index
    );
    Ok(())
}

/// `punte check`: audits the whole signed history and compares every live document with the
/// entry that published it. Exits 1 when anything is wrong (and the node then refuses to
/// append until the operator restores a backup).
pub fn check(node: &Node) -> anyhow::Result<()> {
    let log = node
        .check_log(true)
        .context("cannot check the signed history")?;
    let documents = node
        .unlogged_documents()
        .context("cannot compare the documents with the signed history")?;
    if log.problems.is_empty() {
        println!("signed history: {} entries, all sound", log.size);
    } else {
        println!("signed history: {} entries, DAMAGED", log.size);
        for p in &log.problems {
            println!("  {p}");
        }
    }
    if documents.is_empty() {
        println!("documents: each is what the signed history says");
    } else {
        println!(
            "documents: {} not what the signed history says",
            documents.len()
        );
        for d in &documents {
            println!("  {d}");
        }
    }
    if log.problems.is_empty() && documents.is_empty() {
        return Ok(());
    }
    println!(
        "\nWhat to do: stop the node, restore the latest backup made before the damage \
         (docs/operating.md, \"Backups\"), start it and run `punte check` again.{}",
        if log.problems.is_empty() {
            " The documents above are not served until then."
        } else {
            " Until then the node refuses to append (the restored database has no such refusal; the node checks it again at start)."
        }
    );
    std::process::exit(1)
}
