//! Verified replicas of partners' logs: state, entries and replicated objects.

use rusqlite::{Connection, OptionalExtension, params};

use crate::log::{to_i64, to_u64};
use crate::{Result, StoreError};

// ----- replicas -----

/// The verified state of one partner's replica.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaRow {
    pub actor: String,
    pub base_url: String,
    pub origin: String,
    /// Number of verified entries held.
    pub size: u64,
    pub root: [u8; 32],
    /// The compact tree: concatenated 32-byte hashes.
    pub frontier: Vec<u8>,
    /// The key valid for the next entry.
    pub current_key: [u8; 32],
    pub max_timestamp_ms: Option<i64>,
    /// The latest checkpoint note the replica matched, and its size.
    pub checkpoint: Option<String>,
    pub checkpoint_size: u64,
    /// The largest size the partner announced.
    pub wanted_size: u64,
    pub last_sync_ms: Option<i64>,
    pub last_error: Option<String>,
    /// Why verified entries are held back (the partner's checkpoint does not meet the
    /// required witness policy); `None` when nothing waits for that.
    pub awaiting: Option<String>,
}

const REPLICA_COLUMNS: &str = "actor, base_url, origin, size, root, frontier, current_key,
    max_timestamp_ms, checkpoint, checkpoint_size, wanted_size, last_sync_ms, last_error,
    awaiting";

fn hash32(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<[u8; 32]> {
    let bytes: Vec<u8> = r.get(i)?;
    bytes.try_into().map_err(|_| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Blob,
            "expected 32 bytes".into(),
        )
    })
}

fn replica_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ReplicaRow> {
    Ok(ReplicaRow {
        actor: r.get(0)?,
        base_url: r.get(1)?,
        origin: r.get(2)?,
        size: to_u64(r.get(3)?, "size")?,
        root: hash32(r, 4)?,
        frontier: r.get(5)?,
        current_key: hash32(r, 6)?,
        max_timestamp_ms: r.get(7)?,
        checkpoint: r.get(8)?,
        checkpoint_size: to_u64(r.get(9)?, "size")?,
        wanted_size: to_u64(r.get(10)?, "size")?,
        last_sync_ms: r.get(11)?,
        last_error: r.get(12)?,
        awaiting: r.get(13)?,
    })
}

/// The replica of `actor`, if any.
pub fn replica(conn: &Connection, actor: &str) -> Result<Option<ReplicaRow>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {REPLICA_COLUMNS} FROM replicas WHERE actor = ?1"
        ))?
        .query_row(params![actor], replica_row)
        .optional()?)
}

/// Every replica, by actor.
pub fn replicas(conn: &Connection) -> Result<Vec<ReplicaRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {REPLICA_COLUMNS} FROM replicas ORDER BY actor"
    ))?;
    let rows = stmt.query_map([], replica_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Creates or overwrites the verified state of a replica (keeps `wanted_size` at least as
/// large as before).
pub fn save_replica(conn: &Connection, r: &ReplicaRow) -> Result<()> {
    let previous_base = crate::analysis::replica_base_url(conn, &r.actor)?;
    conn.prepare_cached(
        "INSERT INTO replicas (actor, base_url, origin, size, root, frontier, current_key,
             max_timestamp_ms, checkpoint, checkpoint_size, wanted_size, last_sync_ms, last_error,
             awaiting)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
         ON CONFLICT (actor) DO UPDATE SET base_url = excluded.base_url, origin = excluded.origin,
             size = excluded.size, root = excluded.root, frontier = excluded.frontier,
             current_key = excluded.current_key, max_timestamp_ms = excluded.max_timestamp_ms,
             checkpoint = excluded.checkpoint, checkpoint_size = excluded.checkpoint_size,
             wanted_size = max(replicas.wanted_size, excluded.wanted_size),
             last_sync_ms = excluded.last_sync_ms, last_error = excluded.last_error,
             awaiting = excluded.awaiting",
    )?
    .execute(params![
        r.actor,
        r.base_url,
        r.origin,
        to_i64(r.size, "size")?,
        r.root.as_slice(),
        r.frontier,
        r.current_key.as_slice(),
        r.max_timestamp_ms,
        r.checkpoint,
        to_i64(r.checkpoint_size, "size")?,
        to_i64(r.wanted_size, "size")?,
        r.last_sync_ms,
        r.last_error,
        r.awaiting
    ])?;
    if previous_base.is_some_and(|b| b != r.base_url) {
        crate::analysis::derive_replica_actor(conn, &r.actor)?;
    }
    Ok(())
}

/// Raises the size the partner announced; returns whether the replica is now behind.
pub fn want_replica_size(conn: &Connection, actor: &str, size: u64) -> Result<bool> {
    conn.prepare_cached("UPDATE replicas SET wanted_size = max(wanted_size, ?2) WHERE actor = ?1")?
        .execute(params![actor, to_i64(size, "size")?])?;
    Ok(conn
        .prepare_cached("SELECT size < wanted_size FROM replicas WHERE actor = ?1")?
        .query_row(params![actor], |r| r.get::<_, bool>(0))
        .optional()?
        .unwrap_or(false))
}

/// Sets (or clears) why `actor`'s replica holds back verified entries.
pub fn replica_awaiting(conn: &Connection, actor: &str, reason: Option<&str>) -> Result<()> {
    conn.prepare_cached("UPDATE replicas SET awaiting = ?2 WHERE actor = ?1")?
        .execute(params![actor, reason])?;
    Ok(())
}

/// Records a failed sync of `actor`'s replica.
pub fn replica_error(conn: &Connection, actor: &str, error: &str, now_ms: i64) -> Result<()> {
    conn.execute(
        "UPDATE replicas SET last_error = ?2, last_sync_ms = ?3 WHERE actor = ?1",
        params![actor, error, now_ms],
    )?;
    Ok(())
}

/// Actors whose replica is behind what their partner announced.
pub fn replicas_behind(conn: &Connection) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT r.actor FROM replicas r JOIN following f ON f.actor = r.actor
         WHERE f.state = 'accepted' AND r.size < r.wanted_size ORDER BY r.actor",
    )?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// A verified entry of a partner's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaEntry<'a> {
    pub actor: &'a str,
    pub index: u64,
    pub entry: &'a [u8],
    pub activity: Option<&'a [u8]>,
    pub activity_id: &'a str,
    pub kind: u8,
    pub timestamp_ms: i64,
    pub checkpoint_size: u64,
    /// `delivery` or `backfill`.
    pub via: &'a str,
    pub received_ms: i64,
}

/// Stores a verified entry. An entry already held is a `Conflict`.
pub fn insert_replica_entry(conn: &Connection, e: &ReplicaEntry<'_>) -> Result<()> {
    let result = conn
        .prepare_cached(
            "INSERT INTO replica_entries (actor, idx, entry, activity, activity_id, kind,
                 timestamp_ms, checkpoint_size, via, received_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?
        .execute(params![
            e.actor,
            to_i64(e.index, "index")?,
            e.entry,
            e.activity,
            e.activity_id,
            e.kind,
            e.timestamp_ms,
            to_i64(e.checkpoint_size, "size")?,
            e.via,
            e.received_ms
        ]);
    match result {
        Ok(_) => Ok(()),
        Err(rusqlite::Error::SqliteFailure(err, _))
            if err.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            Err(StoreError::Conflict(format!(
                "replica entry {} of {} already exists",
                e.index, e.actor
            )))
        }
        Err(err) => Err(err.into()),
    }
}

/// A stored replica entry: (index, entry, activity, activity_id, checkpoint_size, via).
pub type StoredReplicaEntry = (u64, Vec<u8>, Option<Vec<u8>>, String, u64, String);

/// Replica entries `start..end` of `actor`, in index order.
pub fn replica_entries(
    conn: &Connection,
    actor: &str,
    start: u64,
    end: u64,
) -> Result<Vec<StoredReplicaEntry>> {
    let mut stmt = conn.prepare_cached(
        "SELECT idx, entry, activity, activity_id, checkpoint_size, via FROM replica_entries
         WHERE actor = ?1 AND idx >= ?2 AND idx < ?3 ORDER BY idx",
    )?;
    let rows = stmt.query_map(
        params![actor, to_i64(start, "start")?, to_i64(end, "end")?],
        |r| {
            Ok((
                to_u64(r.get(0)?, "index")?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                to_u64(r.get(4)?, "size")?,
                r.get(5)?,
            ))
        },
    )?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// A partner object as replicated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaObject {
    pub object_id: String,
    pub actor: String,
    /// `practice`, `evaluation`, `indicator`, `adaptation`.
    pub kind: String,
    pub log_index: u64,
    pub activity_id: String,
    /// The object JSON as received.
    pub object: String,
    pub updates: u32,
    pub deleted: bool,
    pub updated_ms: i64,
}

/// Stores the latest version of a partner object (Create or Update).
pub fn upsert_replica_object(conn: &Connection, o: &ReplicaObject) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO replica_objects (object_id, actor, kind, log_index, activity_id, object,
             updates, deleted, updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, 0, ?7)
         ON CONFLICT (object_id) DO UPDATE SET kind = excluded.kind,
             log_index = excluded.log_index, activity_id = excluded.activity_id,
             object = excluded.object, updates = replica_objects.updates + 1, deleted = 0,
             updated_ms = excluded.updated_ms
         WHERE replica_objects.actor = excluded.actor",
    )?
    .execute(params![
        o.object_id,
        o.actor,
        o.kind,
        to_i64(o.log_index, "index")?,
        o.activity_id,
        o.object,
        o.updated_ms
    ])?;
    crate::analysis::derive_replica_object(conn, &o.object_id)?;
    Ok(())
}

/// Marks a partner object deleted; `false` if unknown.
pub fn delete_replica_object(
    conn: &Connection,
    actor: &str,
    object_id: &str,
    log_index: u64,
    activity_id: &str,
    now_ms: i64,
) -> Result<bool> {
    let n = conn
        .prepare_cached(
            "UPDATE replica_objects SET deleted = 1, log_index = ?3, activity_id = ?4,
                 updated_ms = ?5, updates = updates + 1
             WHERE object_id = ?2 AND actor = ?1",
        )?
        .execute(params![
            actor,
            object_id,
            to_i64(log_index, "index")?,
            activity_id,
            now_ms
        ])?;
    crate::analysis::derive_replica_object(conn, object_id)?;
    Ok(n > 0)
}

fn replica_object(r: &rusqlite::Row<'_>) -> rusqlite::Result<ReplicaObject> {
    Ok(ReplicaObject {
        object_id: r.get(0)?,
        actor: r.get(1)?,
        kind: r.get(2)?,
        log_index: to_u64(r.get(3)?, "index")?,
        activity_id: r.get(4)?,
        object: r.get(5)?,
        updates: r.get(6)?,
        deleted: r.get(7)?,
        updated_ms: r.get(8)?,
    })
}

const OBJECT_COLUMNS: &str =
    "object_id, actor, kind, log_index, activity_id, object, updates, deleted, updated_ms";

/// Replicated objects, optionally of one actor and one kind, without deleted ones unless
/// asked, ordered by actor and id.
pub fn replica_objects(
    conn: &Connection,
    actor: Option<&str>,
    kind: Option<&str>,
    include_deleted: bool,
) -> Result<Vec<ReplicaObject>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {OBJECT_COLUMNS} FROM replica_objects
         WHERE (?1 IS NULL OR actor = ?1) AND (?2 IS NULL OR kind = ?2) AND (?3 OR deleted = 0)
         ORDER BY actor, object_id"
    ))?;
    let rows = stmt.query_map(params![actor, kind, include_deleted], replica_object)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Where a page of [`replica_objects_recent`] goes on from: the `updated_ms` and `object_id`
/// of the last object of the previous page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecentCursor {
    pub updated_ms: i64,
    pub object_id: String,
}

/// Live (not deleted) replicated objects of `kind`, optionally of one actor, most recently
/// received first, `limit` of them after `after`.
pub fn replica_objects_recent(
    conn: &Connection,
    actor: Option<&str>,
    kind: &str,
    after: Option<&RecentCursor>,
    limit: u32,
) -> Result<Vec<ReplicaObject>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {OBJECT_COLUMNS} FROM replica_objects
         WHERE kind = ?1 AND deleted = 0 AND (?2 IS NULL OR actor = ?2)
           AND (?3 IS NULL OR (updated_ms, object_id) < (?3, ?4))
         ORDER BY updated_ms DESC, object_id DESC
         LIMIT ?5"
    ))?;
    let rows = stmt.query_map(
        params![
            kind,
            actor,
            after.map(|c| c.updated_ms),
            after.map(|c| c.object_id.as_str()),
            limit
        ],
        replica_object,
    )?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// How many live replicated objects of `kind` there are, optionally of one actor.
pub fn count_replica_objects(conn: &Connection, actor: Option<&str>, kind: &str) -> Result<u64> {
    Ok(conn
        .prepare_cached(
            "SELECT count(*) FROM replica_objects
             WHERE kind = ?1 AND deleted = 0 AND (?2 IS NULL OR actor = ?2)",
        )?
        .query_row(params![kind, actor], |r| r.get(0))?)
}

/// One replicated object.
pub fn replica_object_by_id(conn: &Connection, object_id: &str) -> Result<Option<ReplicaObject>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {OBJECT_COLUMNS} FROM replica_objects WHERE object_id = ?1"
        ))?
        .query_row(params![object_id], replica_object)
        .optional()?)
}
