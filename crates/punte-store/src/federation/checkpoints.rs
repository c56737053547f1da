//! Signed checkpoints of followed partners as they arrived at this node (stapled to a
//! delivery or read by a replica sync), kept for auditors (docs/protocol.md §5.9).

use rusqlite::{Connection, OptionalExtension, params};

use crate::Result;
use crate::log::{to_i64, to_u64};

/// Checkpoints kept per origin, besides those of a size that arrived with two roots.
pub const PARTNER_CHECKPOINTS_KEPT: u64 = 1000;
/// Most rows per origin, conflicting ones included: an origin that equivocates without end
/// cannot fill the disk; the first conflicts, which already prove it, stay.
pub const PARTNER_CHECKPOINTS_MAX: u64 = 2 * PARTNER_CHECKPOINTS_KEPT;

/// One signed checkpoint of a partner's log, as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerCheckpoint {
    pub origin: String,
    pub actor: String,
    pub size: u64,
    pub root: [u8; 32],
    /// The signed note exactly as received.
    pub note: String,
    /// `delivery` or `sync`.
    pub via: String,
    pub received_ms: i64,
}

/// Keeps `c` unless a checkpoint of the same origin, size and root is kept already; then
/// prunes the origin to the [`PARTNER_CHECKPOINTS_KEPT`] largest sizes, never removing a
/// size kept with two roots, and drops `c` again if the origin still has more than
/// [`PARTNER_CHECKPOINTS_MAX`] rows. Returns whether `c` is kept.
pub fn keep_partner_checkpoint(conn: &Connection, c: &PartnerCheckpoint) -> Result<bool> {
    let added = conn
        .prepare_cached(
            "INSERT INTO partner_checkpoints (origin, actor, size, root, note, via, received_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
        )?
        .execute(params![
            c.origin,
            c.actor,
            to_i64(c.size, "size")?,
            c.root.as_slice(),
            c.note,
            c.via,
            c.received_ms
        ])?;
    if added == 0 {
        return Ok(false);
    }
    conn.prepare_cached(
        "DELETE FROM partner_checkpoints WHERE origin = ?1 AND size IN (
             SELECT size FROM partner_checkpoints WHERE origin = ?1
             GROUP BY size HAVING count(*) = 1
             ORDER BY size DESC LIMIT -1 OFFSET ?2)",
    )?
    .execute(params![
        c.origin,
        to_i64(PARTNER_CHECKPOINTS_KEPT, "limit")?
    ])?;
    let rows: i64 = conn
        .prepare_cached("SELECT count(*) FROM partner_checkpoints WHERE origin = ?1")?
        .query_row(params![c.origin], |r| r.get(0))?;
    if rows > to_i64(PARTNER_CHECKPOINTS_MAX, "limit")? {
        conn.prepare_cached(
            "DELETE FROM partner_checkpoints WHERE origin = ?1 AND size = ?2 AND root = ?3",
        )?
        .execute(params![
            c.origin,
            to_i64(c.size, "size")?,
            c.root.as_slice()
        ])?;
        return Ok(false);
    }
    // A single-root size below the kept ones is pruned at once.
    let still: i64 = conn
        .prepare_cached(
            "SELECT count(*) FROM partner_checkpoints
             WHERE origin = ?1 AND size = ?2 AND root = ?3",
        )?
        .query_row(
            params![c.origin, to_i64(c.size, "size")?, c.root.as_slice()],
            |r| r.get(0),
        )?;
    Ok(still > 0)
}

/// A kept checkpoint of `origin` at `size` whose root is not `root` (its signed note).
pub fn partner_checkpoint_other_root(
    conn: &Connection,
    origin: &str,
    size: u64,
    root: &[u8; 32],
) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached(
            "SELECT note FROM partner_checkpoints WHERE origin = ?1 AND size = ?2 AND root <> ?3
             ORDER BY received_ms LIMIT 1",
        )?
        .query_row(
            params![origin, to_i64(size, "size")?, root.as_slice()],
            |r| r.get(0),
        )
        .optional()?)
}

/// Kept checkpoints, of `origin` only when given, largest size first, at most `limit`.
pub fn partner_checkpoints(
    conn: &Connection,
    origin: Option<&str>,
    limit: u32,
) -> Result<Vec<PartnerCheckpoint>> {
    let mut stmt = conn.prepare_cached(
        "SELECT origin, actor, size, root, note, via, received_ms FROM partner_checkpoints
         WHERE ?1 IS NULL OR origin = ?1
         ORDER BY origin, size DESC, received_ms LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![origin, limit], |r| {
        let root: Vec<u8> = r.get(3)?;
        Ok(PartnerCheckpoint {
            origin: r.get(0)?,
            actor: r.get(1)?,
            size: to_u64(r.get(2)?, "size")?,
            root: root.try_into().map_err(|_| {
                rusqlite::Error::FromSqlConversionFailure(
                    3,
                    rusqlite::types::Type::Blob,
                    "expected 32 bytes".into(),
                )
            })?,
            note: r.get(4)?,
            via: r.get(5)?,
            received_ms: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn checkpoint(size: u64, root: u8) -> PartnerCheckpoint {
        PartnerCheckpoint {
            origin: "a.example/punte-log".into(),
            actor: "https://a.example/actor".into(),
            size,
            root: [root; 32],
            note: format!("note {size} {root}"),
            via: "delivery".into(),
            received_ms: 1,
        }
    }

    #[test]
    fn checkpoints_are_kept_once_bounded_and_conflicts_survive_pruning() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::Store::open(&dir.path().join("t.db")).unwrap();
        store
            .write(|tx| {
                assert!(keep_partner_checkpoint(tx, &checkpoint(1, 1))?);
                assert!(!keep_partner_checkpoint(tx, &checkpoint(1, 1))?);
                // Another root of size 1: equivocation, kept beside the first.
                assert!(keep_partner_checkpoint(tx, &checkpoint(1, 2))?);
                for size in 2..=PARTNER_CHECKPOINTS_KEPT + 5 {
                    keep_partner_checkpoint(tx, &checkpoint(size, 1))?;
                }
                Ok::<_, crate::StoreError>(())
            })
            .unwrap();
        let kept = store
            .read(|c| partner_checkpoints(c, Some("a.example/punte-log"), 5000))
            .unwrap();
        assert_eq!(kept.len() as u64, PARTNER_CHECKPOINTS_KEPT + 2);
        assert_eq!(kept[0].size, PARTNER_CHECKPOINTS_KEPT + 5);
        let ones: Vec<_> = kept.iter().filter(|c| c.size == 1).collect();
        assert_eq!(ones.len(), 2, "both roots of size 1 survive pruning");
        assert!(kept.iter().all(|c| c.size == 1 || c.size > 5));
        assert!(
            store
                .read(|c| partner_checkpoints(c, Some("b.example/punte-log"), 10))
                .unwrap()
                .is_empty()
        );

        // Endless equivocation stops at the cap; the first conflicts stay.
        let kept_new = store
            .write(|tx| {
                let mut kept = 0;
                for size in 2..=PARTNER_CHECKPOINTS_KEPT + 5 {
                    kept += u64::from(keep_partner_checkpoint(tx, &checkpoint(size, 2))?);
                }
                Ok::<_, crate::StoreError>(kept)
            })
            .unwrap();
        let all = store
            .read(|c| partner_checkpoints(c, Some("a.example/punte-log"), 5000))
            .unwrap();
        assert_eq!(all.len() as u64, PARTNER_CHECKPOINTS_MAX);
        assert_eq!(
            kept_new,
            PARTNER_CHECKPOINTS_MAX - (PARTNER_CHECKPOINTS_KEPT + 2)
        );
        assert!(all.iter().any(|c| c.size == 1 && c.root == [2; 32]));
    }
}
