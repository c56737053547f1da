//! Activities the inbox accepted: exact bytes, evidence, outcome; idempotent on id.

use rusqlite::{Connection, OptionalExtension, params};

use crate::Result;

// ----- received activities -----

/// One activity the inbox accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxRow {
    pub seq: i64,
    pub activity_id: String,
    pub actor: String,
    pub kind: String,
    pub received_ms: i64,
    pub body: Vec<u8>,
    pub evidence: String,
    pub outcome: String,
}

fn inbox_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<InboxRow> {
    Ok(InboxRow {
        seq: r.get(0)?,
        activity_id: r.get(1)?,
        actor: r.get(2)?,
        kind: r.get(3)?,
        received_ms: r.get(4)?,
        body: r.get(5)?,
        evidence: r.get(6)?,
        outcome: r.get(7)?,
    })
}

/// Records a received activity; `false` (and nothing written) if its id was seen before.
#[allow(clippy::too_many_arguments)]
pub fn insert_inbox_activity(
    conn: &Connection,
    activity_id: &str,
    actor: &str,
    kind: &str,
    received_ms: i64,
    body: &[u8],
    evidence: &str,
    outcome: &str,
) -> Result<bool> {
    let n = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO inbox_activities (activity_id, actor, type, received_ms, body,
                 evidence, outcome) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            activity_id,
            actor,
            kind,
            received_ms,
            body,
            evidence,
            outcome
        ])?;
    Ok(n > 0)
}

/// Whether activity `id` was received before.
pub fn inbox_seen(conn: &Connection, activity_id: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM inbox_activities WHERE activity_id = ?1")?
        .query_row(params![activity_id], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Received activities with `seq > after`, oldest first.
pub fn inbox_since(conn: &Connection, after: i64, limit: u32) -> Result<Vec<InboxRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, activity_id, actor, type, received_ms, body, evidence, outcome
         FROM inbox_activities WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![after, limit], inbox_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The latest received activities, newest first.
pub fn inbox_latest(conn: &Connection, limit: u32) -> Result<Vec<InboxRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, activity_id, actor, type, received_ms, body, evidence, outcome
         FROM inbox_activities ORDER BY seq DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map(params![limit], inbox_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}
