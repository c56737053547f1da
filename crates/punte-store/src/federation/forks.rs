//! Forks of followed partners' logs, as first seen here (migration 0012).

use rusqlite::{Connection, OptionalExtension, params};

use crate::Result;
use crate::log::{to_i64, to_u64};

/// Evidence that a partner's log forked: what the replica held and what arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerFork {
    pub actor: String,
    pub origin: String,
    /// `checkpoint` (two roots of one size) or `entry` (two entries at one index).
    pub kind: String,
    /// The size or the index.
    pub at: u64,
    /// Signed notes, or base64 entries.
    pub held: String,
    pub received: String,
    /// `delivery` or `sync`.
    pub via: String,
    pub detected_ms: i64,
}

/// Records `fork` unless one is already recorded for its partner; returns whether it was.
pub fn record_partner_fork(conn: &Connection, fork: &PartnerFork) -> Result<bool> {
    let added = conn
        .prepare_cached(
            "INSERT INTO partner_forks (actor, origin, kind, at, held, received, via, detected_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT DO NOTHING",
        )?
        .execute(params![
            fork.actor,
            fork.origin,
            fork.kind,
            to_i64(fork.at, "at")?,
            fork.held,
            fork.received,
            fork.via,
            fork.detected_ms
        ])?;
    Ok(added > 0)
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PartnerFork> {
    Ok(PartnerFork {
        actor: r.get(0)?,
        origin: r.get(1)?,
        kind: r.get(2)?,
        at: to_u64(r.get(3)?, "at")?,
        held: r.get(4)?,
        received: r.get(5)?,
        via: r.get(6)?,
        detected_ms: r.get(7)?,
    })
}

const COLUMNS: &str = "actor, origin, kind, at, held, received, via, detected_ms";

/// The fork recorded for `actor`, if any.
pub fn partner_fork(conn: &Connection, actor: &str) -> Result<Option<PartnerFork>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM partner_forks WHERE actor = ?1"
        ))?
        .query_row(params![actor], row)
        .optional()?)
}

/// Whether a fork is recorded for the log `origin`.
pub fn origin_forked(conn: &Connection, origin: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM partner_forks WHERE origin = ?1 LIMIT 1")?
        .query_row(params![origin], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Every recorded fork, oldest first.
pub fn partner_forks(conn: &Connection) -> Result<Vec<PartnerFork>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM partner_forks ORDER BY detected_ms, actor"
    ))?;
    let rows = stmt.query_map([], row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_first_fork_of_a_partner_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::Store::open(&dir.path().join("t.db")).unwrap();
        let fork = |held: &str| PartnerFork {
            actor: "https://a.example/actor".into(),
            origin: "a.example/punte-log".into(),
            kind: "checkpoint".into(),
            at: 4,
            held: held.into(),
            received: "other".into(),
            via: "delivery".into(),
            detected_ms: 1,
        };
        store
            .write(|tx| {
                assert!(record_partner_fork(tx, &fork("first"))?);
                assert!(!record_partner_fork(tx, &fork("second"))?);
                assert!(origin_forked(tx, "a.example/punte-log")?);
                assert!(!origin_forked(tx, "b.example/punte-log")?);
                assert_eq!(
                    partner_fork(tx, "https://a.example/actor")?.map(|f| f.held),
                    Some("first".to_owned())
                );
                assert_eq!(partner_forks(tx)?.len(), 1);
                Ok::<_, crate::StoreError>(())
            })
            .unwrap();
    }
}
