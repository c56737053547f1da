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

/// Drops activities received from actors that are neither followers nor followed (in any
/// state): all but the newest `keep`, and those received before `before_ms`. Returns how
/// many were dropped. Partners' activities are kept.
pub fn prune_stranger_activities(conn: &Connection, keep: u64, before_ms: i64) -> Result<u64> {
    let keep = i64::try_from(keep).unwrap_or(i64::MAX);
    let n = conn
        .prepare_cached(
            "DELETE FROM inbox_activities WHERE seq IN (
                 SELECT seq FROM (
                     SELECT seq, received_ms,
                            row_number() OVER (ORDER BY seq DESC) AS newer
                     FROM inbox_activities i
                     WHERE NOT EXISTS (SELECT 1 FROM followers f WHERE f.actor = i.actor)
                       AND NOT EXISTS (SELECT 1 FROM following f WHERE f.actor = i.actor))
                 WHERE newer > ?1 OR received_ms < ?2)",
        )?
        .execute(params![keep, before_ms])?;
    Ok(u64::try_from(n).unwrap_or(0))
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::federation::{ActorRow, FollowState, upsert_actor, upsert_follower};

    #[test]
    fn only_strangers_activities_are_pruned_the_newest_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::Store::open(&dir.path().join("t.db")).unwrap();
        store
            .write(|tx| {
                let partner = "https://partner.example/actor";
                upsert_actor(
                    tx,
                    &ActorRow {
                        id: partner.into(),
                        host: "partner.example".into(),
                        inbox: "https://partner.example/inbox".into(),
                        shared_inbox: None,
                        username: None,
                        document: b"{}".to_vec(),
                        is_punte: true,
                        fetched_ms: 0,
                    },
                )?;
                upsert_follower(tx, partner, "f", b"{}", FollowState::Accepted, 0)?;
                for i in 0..5 {
                    insert_inbox_activity(
                        tx,
                        &format!("p{i}"),
                        partner,
                        "Create",
                        i,
                        b"{}",
                        "{}",
                        "ok",
                    )?;
                    insert_inbox_activity(
                        tx,
                        &format!("s{i}"),
                        "https://stranger.example/actor",
                        "Create",
                        100 + i,
                        b"{}",
                        "{}",
                        "ok",
                    )?;
                }
                // keep the 3 newest of strangers; the partner's 5 stay
                assert_eq!(prune_stranger_activities(tx, 3, 0)?, 2);
                assert!(!inbox_seen(tx, "s0")? && !inbox_seen(tx, "s1")?);
                assert!(inbox_seen(tx, "s2")? && inbox_seen(tx, "p0")?);
                // and none older than a time
                assert_eq!(prune_stranger_activities(tx, 100, 104)?, 2);
                assert!(inbox_seen(tx, "s4")? && !inbox_seen(tx, "s3")?);
                assert!((0..5).all(|i| inbox_seen(tx, &format!("p{i}")).unwrap()));
                Ok::<_, crate::StoreError>(())
            })
            .unwrap();
    }
}
