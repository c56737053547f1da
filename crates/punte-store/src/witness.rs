//! Witnessing tables (migration 0004): the checkpoints this node cosigned for partners and
//! the conflicting ones it kept as evidence (witness side); its own witnesses, the
//! cosignatures they returned and the append guard (log side).
//!
//! Times are Unix milliseconds (`*_ms`), chosen by the caller.

use rusqlite::{Connection, OptionalExtension, params};

use crate::log::{to_i64, to_u64};
use crate::{Result, StoreError};

// ----- witness side -----

/// The latest checkpoint this node cosigned for one origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitnessState {
    pub origin: String,
    pub actor: String,
    pub size: u64,
    pub root: [u8; 32],
    /// The signed note with this node's cosignature stapled.
    pub checkpoint: String,
    pub cosigned_ms: i64,
}

fn root_of(bytes: Vec<u8>) -> rusqlite::Result<[u8; 32]> {
    bytes.try_into().map_err(|_| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Blob,
            "a stored root is not 32 bytes".into(),
        )
    })
}

fn witness_state_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<WitnessState> {
    Ok(WitnessState {
        origin: r.get(0)?,
        actor: r.get(1)?,
        size: to_u64(r.get(2)?, "size")?,
        root: root_of(r.get(3)?)?,
        checkpoint: r.get(4)?,
        cosigned_ms: r.get(5)?,
    })
}

const STATE_COLUMNS: &str = "origin, actor, size, root, checkpoint, cosigned_ms";

/// The state of `origin`, if this node ever cosigned one of its checkpoints.
pub fn state(conn: &Connection, origin: &str) -> Result<Option<WitnessState>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {STATE_COLUMNS} FROM witness_state WHERE origin = ?1"
        ))?
        .query_row(params![origin], witness_state_row)
        .optional()?)
}

/// Every origin's latest cosigned checkpoint, by origin.
pub fn states(conn: &Connection) -> Result<Vec<WitnessState>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {STATE_COLUMNS} FROM witness_state ORDER BY origin"
    ))?;
    let rows = stmt.query_map([], witness_state_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Records the new latest cosigned checkpoint of an origin.
pub fn save_state(conn: &Connection, s: &WitnessState) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO witness_state (origin, actor, size, root, checkpoint, cosigned_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (origin) DO UPDATE SET actor = excluded.actor, size = excluded.size,
             root = excluded.root, checkpoint = excluded.checkpoint,
             cosigned_ms = excluded.cosigned_ms",
    )?
    .execute(params![
        s.origin,
        s.actor,
        to_i64(s.size, "size")?,
        s.root.as_slice(),
        s.checkpoint,
        s.cosigned_ms
    ])?;
    Ok(())
}

/// Two signed checkpoints of one origin that do not fit together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceRow {
    pub id: i64,
    pub origin: String,
    pub actor: String,
    /// `same-size-other-root` or `proof-failed`.
    pub kind: String,
    /// The checkpoint this node had cosigned.
    pub cosigned: String,
    /// The submitted checkpoint that conflicts with it.
    pub submitted: String,
    pub old_size: u64,
    /// The consistency proof as submitted (proof text format).
    pub proof: String,
    pub received_ms: i64,
}

/// Keeps a conflicting checkpoint (once per origin and note).
pub fn insert_evidence(conn: &Connection, e: &EvidenceRow) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO witness_evidence (origin, actor, kind, cosigned, submitted, old_size, proof,
             received_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (origin, submitted) DO NOTHING",
    )?
    .execute(params![
        e.origin,
        e.actor,
        e.kind,
        e.cosigned,
        e.submitted,
        to_i64(e.old_size, "old size")?,
        e.proof,
        e.received_ms
    ])?;
    Ok(())
}

/// Evidence kept, oldest first, optionally of one origin.
pub fn evidence(conn: &Connection, origin: Option<&str>, limit: u32) -> Result<Vec<EvidenceRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, origin, actor, kind, cosigned, submitted, old_size, proof, received_ms
         FROM witness_evidence WHERE ?1 IS NULL OR origin = ?1 ORDER BY id LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![origin, limit], |r| {
        Ok(EvidenceRow {
            id: r.get(0)?,
            origin: r.get(1)?,
            actor: r.get(2)?,
            kind: r.get(3)?,
            cosigned: r.get(4)?,
            submitted: r.get(5)?,
            old_size: to_u64(r.get(6)?, "old size")?,
            proof: r.get(7)?,
            received_ms: r.get(8)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

// ----- log side: this node's witnesses -----

/// One of this node's witnesses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitnessRow {
    pub actor: String,
    /// Submission and monitoring prefix, `BASE/witness`.
    pub url: String,
    /// `cosignature/v1` verifier key, once fetched.
    pub vkey: Option<String>,
    /// ISO 3166 country of the witness's organisation, when its actor names one.
    pub country: Option<String>,
    /// The size the witness last cosigned for this node (the next request's old size).
    pub size: u64,
    pub attempts: u32,
    pub next_attempt_ms: i64,
    pub last_ok_ms: Option<i64>,
    pub last_error: Option<String>,
}

fn witness_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<WitnessRow> {
    Ok(WitnessRow {
        actor: r.get(0)?,
        url: r.get(1)?,
        vkey: r.get(2)?,
        country: r.get(3)?,
        size: to_u64(r.get(4)?, "size")?,
        attempts: r.get(5)?,
        next_attempt_ms: r.get(6)?,
        last_ok_ms: r.get(7)?,
        last_error: r.get(8)?,
    })
}

const WITNESS_COLUMNS: &str =
    "actor, url, vkey, country, size, attempts, next_attempt_ms, last_ok_ms, last_error";

/// Every witness, by actor.
pub fn witnesses(conn: &Connection) -> Result<Vec<WitnessRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {WITNESS_COLUMNS} FROM log_witnesses ORDER BY actor"
    ))?;
    let rows = stmt.query_map([], witness_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Makes the witness list equal `actors` (actor, url): adds new ones, drops the others.
pub fn sync_witnesses(conn: &Connection, actors: &[(String, String)]) -> Result<()> {
    let known = witnesses(conn)?;
    for old in &known {
        if !actors.iter().any(|(a, _)| *a == old.actor) {
            conn.execute(
                "DELETE FROM log_witnesses WHERE actor = ?1",
                params![old.actor],
            )?;
        }
    }
    for (actor, url) in actors {
        conn.prepare_cached(
            "INSERT INTO log_witnesses (actor, url) VALUES (?1, ?2)
             ON CONFLICT (actor) DO UPDATE SET url = excluded.url",
        )?
        .execute(params![actor, url])?;
    }
    Ok(())
}

/// Records the witness's key and country.
pub fn set_witness_key(
    conn: &Connection,
    actor: &str,
    vkey: &str,
    country: Option<&str>,
) -> Result<()> {
    conn.execute(
        "UPDATE log_witnesses SET vkey = ?2, country = ?3 WHERE actor = ?1",
        params![actor, vkey, country],
    )?;
    Ok(())
}

/// A successful submission: the witness now holds `size`.
pub fn witness_succeeded(conn: &Connection, actor: &str, size: u64, now_ms: i64) -> Result<()> {
    conn.execute(
        "UPDATE log_witnesses SET size = ?2, attempts = 0, next_attempt_ms = 0,
             last_ok_ms = ?3, last_error = NULL WHERE actor = ?1",
        params![actor, to_i64(size, "size")?, now_ms],
    )?;
    Ok(())
}

/// The witness said it last cosigned `size` (a 409): the next request starts from there.
pub fn witness_resync(conn: &Connection, actor: &str, size: u64) -> Result<()> {
    conn.execute(
        "UPDATE log_witnesses SET size = ?2 WHERE actor = ?1",
        params![actor, to_i64(size, "size")?],
    )?;
    Ok(())
}

/// A failed attempt: retry at `next_attempt_ms`.
pub fn witness_failed(
    conn: &Connection,
    actor: &str,
    error: &str,
    next_attempt_ms: i64,
) -> Result<()> {
    conn.execute(
        "UPDATE log_witnesses SET attempts = attempts + 1, next_attempt_ms = ?2,
             last_error = ?3 WHERE actor = ?1",
        params![actor, next_attempt_ms, error],
    )?;
    Ok(())
}

/// One cosignature received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CosignatureRow {
    pub size: u64,
    pub witness: String,
    /// The signature line, `— name base64…\n`.
    pub line: String,
    pub timestamp: u64,
    pub received_ms: i64,
}

/// Stores a verified cosignature of the checkpoint of `size`.
pub fn insert_cosignature(conn: &Connection, c: &CosignatureRow) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO log_cosignatures (size, witness, line, timestamp, received_ms)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (size, witness) DO UPDATE SET line = excluded.line,
             timestamp = excluded.timestamp, received_ms = excluded.received_ms",
    )?
    .execute(params![
        to_i64(c.size, "size")?,
        c.witness,
        c.line,
        to_i64(c.timestamp, "timestamp")?,
        c.received_ms
    ])?;
    Ok(())
}

/// The cosignatures of the checkpoint of `size`, by witness.
pub fn cosignatures(conn: &Connection, size: u64) -> Result<Vec<CosignatureRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT size, witness, line, timestamp, received_ms FROM log_cosignatures
         WHERE size = ?1 ORDER BY witness",
    )?;
    let rows = stmt.query_map(params![to_i64(size, "size")?], |r| {
        Ok(CosignatureRow {
            size: to_u64(r.get(0)?, "size")?,
            witness: r.get(1)?,
            line: r.get(2)?,
            timestamp: to_u64(r.get(3)?, "timestamp")?,
            received_ms: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The largest checkpoint with at least `min` stored cosignatures: (size, signed note
/// without them).
pub fn largest_cosigned_checkpoint(conn: &Connection, min: u32) -> Result<Option<(u64, String)>> {
    conn.prepare_cached(
        "SELECT c.size, c.note FROM log_checkpoints c
         WHERE c.size = (SELECT size FROM log_cosignatures GROUP BY size
                         HAVING count(*) >= ?1 ORDER BY size DESC LIMIT 1)",
    )?
    .query_row(params![min.max(1)], |r| {
        Ok((to_u64(r.get(0)?, "size")?, r.get(1)?))
    })
    .optional()
    .map_err(Into::into)
}

// ----- log side: the append guard -----

/// Why the node refuses to append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendGuard {
    pub witness: String,
    pub local_size: u64,
    /// The checkpoint the witness cosigned (signed note), as it served it.
    pub cosigned: String,
    pub reason: String,
    pub detected_ms: i64,
}

/// The guard, when set.
pub fn append_guard(conn: &Connection) -> Result<Option<AppendGuard>> {
    Ok(conn
        .prepare_cached(
            "SELECT witness, local_size, cosigned, reason, detected_ms FROM log_append_guard
             WHERE id = 1",
        )?
        .query_row([], |r| {
            Ok(AppendGuard {
                witness: r.get(0)?,
                local_size: to_u64(r.get(1)?, "size")?,
                cosigned: r.get(2)?,
                reason: r.get(3)?,
                detected_ms: r.get(4)?,
            })
        })
        .optional()?)
}

/// Sets the guard (the first reason found is kept).
pub fn set_append_guard(conn: &Connection, g: &AppendGuard) -> Result<()> {
    conn.execute(
        "INSERT INTO log_append_guard (id, witness, local_size, cosigned, reason, detected_ms)
         VALUES (1, ?1, ?2, ?3, ?4, ?5) ON CONFLICT (id) DO NOTHING",
        params![
            g.witness,
            to_i64(g.local_size, "size")?,
            g.cosigned,
            g.reason,
            g.detected_ms
        ],
    )?;
    Ok(())
}

/// Lifts the guard (an operator decision, after recovering the missing entries).
pub fn clear_append_guard(conn: &Connection) -> Result<bool> {
    Ok(conn.execute("DELETE FROM log_append_guard", [])? > 0)
}

/// The `witness` of a guard the node's self-check set (its own log is damaged).
pub const SELF_CHECK_GUARD: &str = "self-check";

/// Fails with a conflict while the guard is set.
pub fn check_append_allowed(conn: &Connection) -> Result<()> {
    match append_guard(conn)? {
        None => Ok(()),
        Some(g) if g.witness == SELF_CHECK_GUARD => Err(StoreError::Conflict(format!(
            "this node refuses to append to its signed history: {}; stop it, restore the latest backup made before the damage (docs/operating.md, Backups) and start it again: it checks its history at start, and `punte check` checks all of it",
            g.reason
        ))),
        Some(g) => Err(StoreError::Conflict(format!(
            "this node refuses to append to its signed history: {} (witness {}); restore the latest backup or recover the missing entries, then lift the guard (POST /api/v1/witness/clear-guard, admin)",
            g.reason, g.witness
        ))),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn db() -> (tempfile::TempDir, crate::Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::Store::open(&dir.path().join("t.db")).unwrap();
        (dir, store)
    }

    #[test]
    fn state_evidence_witnesses_cosignatures_and_guard_round_trip() {
        let (_dir, store) = db();
        store
            .write(|tx| -> Result<()> {
                let s = WitnessState {
                    origin: "a.example/punte-log".into(),
                    actor: "https://a.example/actor".into(),
                    size: 3,
                    root: [7; 32],
                    checkpoint: "note".into(),
                    cosigned_ms: 1,
                };
                save_state(tx, &s)?;
                save_state(
                    tx,
                    &WitnessState {
                        size: 4,
                        ..s.clone()
                    },
                )?;
                assert_eq!(state(tx, &s.origin)?.unwrap().size, 4);
                let e = EvidenceRow {
                    id: 0,
                    origin: s.origin.clone(),
                    actor: s.actor.clone(),
                    kind: "same-size-other-root".into(),
                    cosigned: "a".into(),
                    submitted: "b".into(),
                    old_size: 4,
                    proof: String::new(),
                    received_ms: 2,
                };
                insert_evidence(tx, &e)?;
                insert_evidence(tx, &e)?;
                assert_eq!(evidence(tx, Some(&s.origin), 10)?.len(), 1);
                sync_witnesses(
                    tx,
                    &[("w1".into(), "u1".into()), ("w2".into(), "u2".into())],
                )?;
                sync_witnesses(tx, &[("w2".into(), "u2".into())])?;
                witness_succeeded(tx, "w2", 9, 5)?;
                let w = witnesses(tx)?;
                assert_eq!(w.len(), 1);
                assert_eq!(w[0].size, 9);
                insert_cosignature(
                    tx,
                    &CosignatureRow {
                        size: 9,
                        witness: "w2".into(),
                        line: "— x y\n".into(),
                        timestamp: 3,
                        received_ms: 4,
                    },
                )?;
                assert_eq!(cosignatures(tx, 9)?.len(), 1);
                check_append_allowed(tx)?;
                set_append_guard(
                    tx,
                    &AppendGuard {
                        witness: "w2".into(),
                        local_size: 1,
                        cosigned: "n".into(),
                        reason: "r".into(),
                        detected_ms: 1,
                    },
                )?;
                assert!(matches!(
                    check_append_allowed(tx),
                    Err(StoreError::Conflict(_))
                ));
                assert!(clear_append_guard(tx)?);
                check_append_allowed(tx)?;
                Ok(())
            })
            .unwrap();
    }
}
