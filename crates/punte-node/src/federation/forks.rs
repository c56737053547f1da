//! Forks of followed partners' logs (docs/protocol.md §5.5 "Forks"): the evidence the
//! replica records the moment a delivery or a pull conflicts with what it holds, and the
//! refusal that follows. Used by the replica (`replica.rs`) and the inbox, which records the
//! evidence outside the refused activity's savepoint.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use punte_log::SignedEntry;
use punte_store::federation::{self as store, ReplicaRow};

use crate::error::NodeError;

/// A fork of a partner's log seen here: the evidence to record, and the conflicting
/// checkpoint to keep beside the held one (for `punte audit --partner`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ForkSeen {
    pub fork: store::PartnerFork,
    pub keep: Option<store::PartnerCheckpoint>,
}

/// What an operator reads of `fork`: the kind of conflict and where.
fn message(fork: &store::PartnerFork) -> String {
    match fork.kind.as_str() {
        "entry" => format!(
            "the signed history of {} forked: two entries at index {} signed by its key",
            fork.actor, fork.at
        ),
        _ => format!(
            "the signed history of {} forked: two signed checkpoints of size {} with different roots",
            fork.actor, fork.at
        ),
    }
}

impl ForkSeen {
    /// What an operator reads: the kind of conflict and where.
    pub fn message(&self) -> String {
        message(&self.fork)
    }

    /// Records the fork (the first one of a partner is kept) and keeps the conflicting
    /// checkpoint; from now on the partner's log is neither applied nor cosigned.
    pub fn record(&self, tx: &punte_store::Connection) -> Result<(), NodeError> {
        if store::record_partner_fork(tx, &self.fork)? {
            tracing::error!(partner = %self.fork.actor, kind = %self.fork.kind, at = self.fork.at, via = %self.fork.via, "a partner's signed history forked: its entries are no longer applied");
        }
        if let Some(c) = &self.keep {
            store::keep_partner_checkpoint(tx, c)?;
        }
        Ok(())
    }
}

/// The recorded fork of `actor`'s log, as a refusal text.
pub(crate) fn forked(
    conn: &punte_store::Connection,
    actor: &str,
) -> Result<Option<String>, NodeError> {
    Ok(store::partner_fork(conn, actor)?.map(|f| message(&f) + "; nothing more of it is applied"))
}

/// A delivered entry at an index the replica holds: a fork when its bytes differ and it is
/// signed by the key that signed the held one (anything else is not evidence of anything).
pub(crate) fn entry_fork(
    tx: &punte_store::Connection,
    replica: &ReplicaRow,
    entry: &SignedEntry,
    entry_bytes: &[u8],
    now: i64,
) -> Result<Option<ForkSeen>, NodeError> {
    let index = entry.body.index;
    let Some((_, held, ..)) = store::replica_entries(tx, &replica.actor, index, index + 1)?
        .into_iter()
        .next()
    else {
        return Ok(None);
    };
    if held == entry_bytes {
        return Ok(None);
    }
    let Ok(held_entry) = SignedEntry::decode(&held) else {
        return Ok(None);
    };
    let same_signer = ed25519_dalek::VerifyingKey::from_bytes(&held_entry.body.signer)
        .ok()
        .is_some_and(|k| entry.verify(&k).is_ok());
    if !same_signer || entry.body.origin != replica.origin {
        return Ok(None);
    }
    Ok(Some(ForkSeen {
        fork: store::PartnerFork {
            actor: replica.actor.clone(),
            origin: replica.origin.clone(),
            kind: "entry".to_owned(),
            at: index,
            held: STANDARD.encode(&held),
            received: STANDARD.encode(entry_bytes),
            via: "delivery".to_owned(),
            detected_ms: now,
        },
        keep: None,
    }))
}
