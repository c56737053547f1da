//! The signed history's tables: entries with their exact activity bytes, the tree state,
//! checkpoints and the identity key history, plus [`LeafHashes`], the SQL-backed source of
//! range hashes for inclusion and consistency proofs.
//!
//! Nothing here signs or hashes entries; `punte-node` builds them and writes them through
//! these functions inside the same transaction as the change they record.

use rusqlite::{Connection, OptionalExtension, params};

use punte_log::Hash;
use punte_log::tree::RangeHashes;

use crate::{Result, StoreError};

/// The tree after the last append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogState {
    /// The log origin (`HOST/punte-log`), fixed by the first entry.
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    /// The compact tree: roots of the perfect subtrees, largest first.
    pub frontier: Vec<Hash>,
    /// Timestamp of the last entry (unix milliseconds).
    pub last_timestamp_ms: i64,
}

/// An entry to append.
#[derive(Debug, Clone, Copy)]
pub struct NewEntry<'a> {
    pub index: u64,
    /// The encoded `punte-entry/v1` bytes.
    pub entry: &'a [u8],
    pub leaf_hash: &'a Hash,
    pub activity_id: &'a str,
    /// The entry kind byte (1 activity, 2 key rotation, 3 redaction, 4 membership).
    pub kind: u8,
    pub timestamp_ms: i64,
    /// The exact activity bytes the entry commits to.
    pub activity: &'a [u8],
}

/// An entry as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEntry {
    pub index: u64,
    pub entry: Vec<u8>,
    pub activity_id: String,
    pub kind: u8,
    pub timestamp_ms: i64,
    /// `None` once redacted.
    pub activity: Option<Vec<u8>>,
    pub redaction_reason: Option<String>,
    /// Index of the redaction entry that erased the bytes.
    pub redacted_by: Option<u64>,
}

/// One identity key in the key history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    /// 1 for the first key, then 2, 3, … in rotation order.
    pub seq: u64,
    pub public_key: [u8; 32],
    /// First log index signed by this key.
    pub valid_from: u64,
    /// Index of the rotation entry that retired it, if retired.
    pub retired_at: Option<u64>,
}

pub(crate) fn to_i64(value: u64, what: &str) -> Result<i64> {
    i64::try_from(value).map_err(|_| StoreError::Corrupt(format!("{what} {value} is too large")))
}

pub(crate) fn to_u64(value: i64, what: &str) -> rusqlite::Result<u64> {
    u64::try_from(value).map_err(|_| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Integer,
            format!("negative {what} {value}").into(),
        )
    })
}

fn hash_of(bytes: &[u8], what: &str) -> Result<Hash> {
    Hash::from_slice(bytes).map_err(|_| StoreError::Corrupt(format!("{what} is not 32 bytes")))
}

/// The tree state, or `None` before the first entry.
pub fn state(conn: &Connection) -> Result<Option<LogState>> {
    let row = conn
        .query_row(
            "SELECT origin, size, root, frontier, last_timestamp_ms FROM log_state WHERE id = 1",
            [],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    to_u64(r.get(1)?, "size")?,
                    r.get::<_, Vec<u8>>(2)?,
                    r.get::<_, Vec<u8>>(3)?,
                    r.get::<_, i64>(4)?,
                ))
            },
        )
        .optional()?;
    let Some((origin, size, root, frontier, last_timestamp_ms)) = row else {
        return Ok(None);
    };
    let frontier = frontier
        .chunks(32)
        .map(|c| hash_of(c, "frontier hash"))
        .collect::<Result<Vec<_>>>()?;
    Ok(Some(LogState {
        origin,
        size,
        root: hash_of(&root, "root")?,
        frontier,
        last_timestamp_ms,
    }))
}

/// Stores the tree state after an append.
pub fn save_state(conn: &Connection, state: &LogState) -> Result<()> {
    let frontier: Vec<u8> = state
        .frontier
        .iter()
        .flat_map(|h| h.as_bytes().iter().copied())
        .collect();
    conn.execute(
        "INSERT INTO log_state (id, origin, size, root, frontier, last_timestamp_ms)
         VALUES (1, ?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (id) DO UPDATE SET origin = excluded.origin, size = excluded.size,
             root = excluded.root, frontier = excluded.frontier,
             last_timestamp_ms = excluded.last_timestamp_ms",
        params![
            state.origin,
            to_i64(state.size, "size")?,
            state.root.as_bytes().as_slice(),
            frontier,
            state.last_timestamp_ms
        ],
    )?;
    Ok(())
}

/// Appends an entry. A reused activity id is a `Conflict`.
pub fn insert_entry(conn: &Connection, entry: &NewEntry<'_>) -> Result<()> {
    let result = conn.execute(
        "INSERT INTO log_entries (idx, entry, leaf_hash, activity_id, kind, timestamp_ms, activity)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            to_i64(entry.index, "index")?,
            entry.entry,
            entry.leaf_hash.as_bytes().as_slice(),
            entry.activity_id,
            entry.kind,
            entry.timestamp_ms,
            entry.activity
        ],
    );
    match result {
        Ok(_) => Ok(()),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            Err(StoreError::Conflict(format!(
                "log entry {} or activity id {} already exists",
                entry.index, entry.activity_id
            )))
        }
        Err(e) => Err(e.into()),
    }
}

const ENTRY_COLUMNS: &str =
    "idx, entry, activity_id, kind, timestamp_ms, activity, redaction_reason, redacted_by";

fn stored_entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredEntry> {
    Ok(StoredEntry {
        index: to_u64(r.get(0)?, "index")?,
        entry: r.get(1)?,
        activity_id: r.get(2)?,
        kind: r.get(3)?,
        timestamp_ms: r.get(4)?,
        activity: r.get(5)?,
        redaction_reason: r.get(6)?,
        redacted_by: r
            .get::<_, Option<i64>>(7)?
            .map(|i| to_u64(i, "index"))
            .transpose()?,
    })
}

/// Entries `start..end` in index order (fewer if the log is shorter).
pub fn entries(conn: &Connection, start: u64, end: u64) -> Result<Vec<StoredEntry>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ENTRY_COLUMNS} FROM log_entries WHERE idx >= ?1 AND idx < ?2 ORDER BY idx"
    ))?;
    let rows = stmt.query_map(
        params![to_i64(start, "start")?, to_i64(end, "end")?],
        stored_entry,
    )?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Every entry's index and stored leaf hash, in index order (32 bytes each: a log of a
/// million entries is 40 MB here).
pub fn leaf_hashes(conn: &Connection) -> Result<Vec<(u64, [u8; 32])>> {
    let mut stmt = conn.prepare_cached("SELECT idx, leaf_hash FROM log_entries ORDER BY idx")?;
    let rows = stmt.query_map([], |r| {
        let leaf: Vec<u8> = r.get(1)?;
        let leaf: [u8; 32] = leaf.try_into().map_err(|_| {
            rusqlite::Error::FromSqlConversionFailure(
                1,
                rusqlite::types::Type::Blob,
                "expected 32 bytes".into(),
            )
        })?;
        Ok((to_u64(r.get(0)?, "index")?, leaf))
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The index of the latest entry of `kind`, if any.
pub fn latest_of_kind(conn: &Connection, kind: u8) -> Result<Option<u64>> {
    let index: Option<i64> = conn
        .prepare_cached("SELECT max(idx) FROM log_entries WHERE kind = ?1")?
        .query_row(params![kind], |r| r.get(0))?;
    index
        .map(|i| to_u64(i, "index").map_err(Into::into))
        .transpose()
}

/// The entry at `index`.
pub fn entry(conn: &Connection, index: u64) -> Result<StoredEntry> {
    conn.query_row(
        &format!("SELECT {ENTRY_COLUMNS} FROM log_entries WHERE idx = ?1"),
        params![to_i64(index, "index")?],
        stored_entry,
    )
    .optional()?
    .ok_or_else(|| StoreError::not_found(format!("log entry {index}")))
}

/// The entry recording activity `activity_id`.
pub fn entry_by_activity_id(conn: &Connection, activity_id: &str) -> Result<StoredEntry> {
    conn.query_row(
        &format!("SELECT {ENTRY_COLUMNS} FROM log_entries WHERE activity_id = ?1"),
        params![activity_id],
        stored_entry,
    )
    .optional()?
    .ok_or_else(|| StoreError::not_found(format!("activity {activity_id}")))
}

/// Erases the activity bytes of entry `index` (the entry itself stays). `redacted_by` is the
/// index of the redaction entry that records it. Erasing twice is a `Conflict`.
pub fn erase_activity(conn: &Connection, index: u64, reason: &str, redacted_by: u64) -> Result<()> {
    let n = conn.execute(
        "UPDATE log_entries SET activity = NULL, redaction_reason = ?2, redacted_by = ?3
         WHERE idx = ?1 AND activity IS NOT NULL",
        params![
            to_i64(index, "index")?,
            reason,
            to_i64(redacted_by, "index")?
        ],
    )?;
    if n == 1 {
        return Ok(());
    }
    entry(conn, index)?;
    Err(StoreError::Conflict(format!(
        "the activity of log entry {index} is already erased"
    )))
}

/// Stores a signed checkpoint of tree size `size`.
pub fn insert_checkpoint(conn: &Connection, size: u64, note: &str, now: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO log_checkpoints (size, note, created_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (size) DO UPDATE SET note = excluded.note, created_at = excluded.created_at",
        params![to_i64(size, "size")?, note, now],
    )?;
    Ok(())
}

/// The checkpoint of the largest size: (size, signed note).
pub fn latest_checkpoint(conn: &Connection) -> Result<Option<(u64, String)>> {
    Ok(conn
        .query_row(
            "SELECT size, note FROM log_checkpoints ORDER BY size DESC LIMIT 1",
            [],
            |r| Ok((to_u64(r.get(0)?, "size")?, r.get(1)?)),
        )
        .optional()?)
}

fn key_record(r: &rusqlite::Row<'_>) -> rusqlite::Result<(u64, Vec<u8>, u64, Option<u64>)> {
    Ok((
        to_u64(r.get(0)?, "seq")?,
        r.get(1)?,
        to_u64(r.get(2)?, "index")?,
        r.get::<_, Option<i64>>(3)?
            .map(|i| to_u64(i, "index"))
            .transpose()?,
    ))
}

fn to_key_record(
    (seq, key, valid_from, retired_at): (u64, Vec<u8>, u64, Option<u64>),
) -> Result<KeyRecord> {
    let public_key = key
        .try_into()
        .map_err(|_| StoreError::Corrupt("a stored public key is not 32 bytes".into()))?;
    Ok(KeyRecord {
        seq,
        public_key,
        valid_from,
        retired_at,
    })
}

/// Every identity key, oldest first.
pub fn keys(conn: &Connection) -> Result<Vec<KeyRecord>> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, public_key, valid_from, retired_at FROM log_keys ORDER BY seq",
    )?;
    let rows = stmt.query_map([], key_record)?;
    rows.collect::<rusqlite::Result<Vec<_>>>()?
        .into_iter()
        .map(to_key_record)
        .collect()
}

/// The key that signs the next entry, if the history has begun.
pub fn current_key(conn: &Connection) -> Result<Option<KeyRecord>> {
    conn.query_row(
        "SELECT seq, public_key, valid_from, retired_at FROM log_keys WHERE retired_at IS NULL",
        [],
        key_record,
    )
    .optional()?
    .map(to_key_record)
    .transpose()
}

/// Adds a key to the history, valid from entry `valid_from`; returns its sequence number.
pub fn add_key(
    conn: &Connection,
    public_key: &[u8; 32],
    valid_from: u64,
    now: &str,
) -> Result<u64> {
    conn.execute(
        "INSERT INTO log_keys (public_key, valid_from, created_at) VALUES (?1, ?2, ?3)",
        params![public_key.as_slice(), to_i64(valid_from, "index")?, now],
    )?;
    to_u64(conn.last_insert_rowid(), "seq").map_err(StoreError::from)
}

/// Marks the current key retired by the rotation entry at `at`.
pub fn retire_key(conn: &Connection, public_key: &[u8; 32], at: u64) -> Result<()> {
    let n = conn.execute(
        "UPDATE log_keys SET retired_at = ?2 WHERE public_key = ?1 AND retired_at IS NULL",
        params![public_key.as_slice(), to_i64(at, "index")?],
    )?;
    if n != 1 {
        return Err(StoreError::Conflict(
            "the key to retire is not the current identity key".into(),
        ));
    }
    Ok(())
}

/// Number of activities (kind 1) and membership lists (kind 4) whose bytes are present: the
/// outbox's `totalItems`.
pub fn outbox_count(conn: &Connection) -> Result<u64> {
    let n: i64 = conn.query_row(
        "SELECT count(*) FROM log_entries WHERE activity IS NOT NULL AND kind IN (1, 4)",
        [],
        |r| r.get(0),
    )?;
    Ok(to_u64(n, "count")?)
}

/// Up to `limit` outbox activities after skipping `offset`, in log index order:
/// (index, exact activity bytes).
pub fn outbox_page(conn: &Connection, offset: u64, limit: u64) -> Result<Vec<(u64, Vec<u8>)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT idx, activity FROM log_entries WHERE activity IS NOT NULL AND kind IN (1, 4)
         ORDER BY idx LIMIT ?1 OFFSET ?2",
    )?;
    let rows = stmt.query_map(
        params![to_i64(limit, "limit")?, to_i64(offset, "offset")?],
        |r| Ok((to_u64(r.get(0)?, "index")?, r.get::<_, Vec<u8>>(1)?)),
    )?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Range hashes for proof generation, read from the stored leaf hashes.
///
/// Cost: each `range_root(start, end)` reads the `end - start` leaf hashes of the range in
/// index order and folds them into a root (O(range) time, O(log range) memory). The ranges of
/// one RFC 9162 proof are disjoint, so one inclusion or consistency proof for tree size `n`
/// reads at most `n` leaf hashes (32 bytes each, via the primary key): about 30 ms per
/// million entries on these machines. Caching the roots of complete subtrees would make it
/// O(log n); not needed at today's sizes.
#[derive(Debug, Clone, Copy)]
pub struct LeafHashes<'a>(pub &'a Connection);

impl RangeHashes for LeafHashes<'_> {
    type Error = StoreError;

    fn range_root(&self, start: u64, end: u64) -> Result<Hash, StoreError> {
        let mut stmt = self.0.prepare_cached(
            "SELECT idx, leaf_hash FROM log_entries WHERE idx >= ?1 AND idx < ?2 ORDER BY idx",
        )?;
        let mut rows = stmt.query(params![to_i64(start, "start")?, to_i64(end, "end")?])?;
        let mut tree = punte_log::CompactTree::new();
        let mut expected = start;
        while let Some(row) = rows.next()? {
            let index = to_u64(row.get(0)?, "index")?;
            if index != expected {
                return Err(StoreError::Corrupt(format!(
                    "log entry {expected} is missing"
                )));
            }
            let leaf: Vec<u8> = row.get(1)?;
            tree.append(hash_of(&leaf, "leaf hash")?);
            expected += 1;
        }
        if expected != end {
            return Err(StoreError::Corrupt(format!(
                "log entry {expected} is missing"
            )));
        }
        Ok(tree.root())
    }
}

/// The first checkpoint that covers entry `index` (the smallest size above it), if any.
pub fn checkpoint_covering(conn: &Connection, index: u64) -> Result<Option<(u64, String)>> {
    conn.prepare_cached(
        "SELECT size, note FROM log_checkpoints WHERE size > ?1 ORDER BY size LIMIT 1",
    )?
    .query_row(params![to_i64(index, "index")?], |r| {
        Ok((to_u64(r.get(0)?, "size")?, r.get(1)?))
    })
    .optional()
    .map_err(Into::into)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use punte_log::tree::{
        consistency_proof, consistency_proof_from, inclusion_proof, inclusion_proof_from,
    };

    #[test]
    fn proofs_from_stored_leaf_hashes_equal_proofs_from_memory() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::Store::open(&dir.path().join("t.db")).unwrap();
        let leaves: Vec<Hash> = (0u8..13).map(|i| punte_log::leaf_hash(&[i])).collect();
        store
            .write(|tx| -> Result<()> {
                for (i, leaf) in leaves.iter().enumerate() {
                    insert_entry(
                        tx,
                        &NewEntry {
                            index: i as u64,
                            entry: &[i as u8],
                            leaf_hash: leaf,
                            activity_id: &format!("urn:test:{i}"),
                            kind: 1,
                            timestamp_ms: 0,
                            activity: b"{}",
                        },
                    )?;
                }
                Ok(())
            })
            .unwrap();
        store
            .read(|conn| -> Result<()> {
                let source = LeafHashes(conn);
                for size in 1..=13u64 {
                    for index in 0..size {
                        assert_eq!(
                            inclusion_proof_from(&source, index, size).unwrap(),
                            inclusion_proof(&leaves, index, size).unwrap()
                        );
                    }
                    for old in 0..=size {
                        assert_eq!(
                            consistency_proof_from(&source, old, size).unwrap(),
                            consistency_proof(&leaves, old, size).unwrap()
                        );
                    }
                }
                Ok(())
            })
            .unwrap();
    }

    #[test]
    fn a_reused_activity_id_is_a_conflict_and_erasing_keeps_the_entry() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::Store::open(&dir.path().join("t.db")).unwrap();
        let leaf = punte_log::leaf_hash(b"e");
        let new = |index| NewEntry {
            index,
            entry: b"e",
            leaf_hash: &leaf,
            activity_id: "urn:same",
            kind: 1,
            timestamp_ms: 0,
            activity: b"{}",
        };
        store.write(|tx| insert_entry(tx, &new(0))).unwrap();
        let again = store.write(|tx| insert_entry(tx, &new(1)));
        assert!(matches!(again, Err(StoreError::Conflict(_))));
        store
            .write(|tx| erase_activity(tx, 0, "asked by the person", 1))
            .unwrap();
        let stored = store.read(|conn| entry(conn, 0)).unwrap();
        assert_eq!(stored.activity, None);
        assert_eq!(
            stored.redaction_reason.as_deref(),
            Some("asked by the person")
        );
        assert_eq!(stored.entry, b"e");
        let twice = store.write(|tx| erase_activity(tx, 0, "again", 2));
        assert!(matches!(twice, Err(StoreError::Conflict(_))));
    }
}
