//! The membership lists this node published as a network coordinator, one row per version
//! (append-only; written in the transaction of the log entry that publishes the version).

use rusqlite::{Connection, OptionalExtension, params};

use crate::Result;
use crate::log::{to_i64, to_u64};

/// One published version of the membership list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipVersion {
    pub version: u64,
    pub log_index: u64,
    pub activity_id: String,
    /// `admit`, `remove` or `update`.
    pub action: String,
    /// The member the change applies to.
    pub actor: String,
    /// The `MembershipList` object JSON as published.
    pub object: String,
    pub published_ms: i64,
}

const COLUMNS: &str = "version, log_index, activity_id, action, actor, object, published_ms";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<MembershipVersion> {
    Ok(MembershipVersion {
        version: to_u64(r.get(0)?, "version")?,
        log_index: to_u64(r.get(1)?, "log index")?,
        activity_id: r.get(2)?,
        action: r.get(3)?,
        actor: r.get(4)?,
        object: r.get(5)?,
        published_ms: r.get(6)?,
    })
}

/// Records a published version. Versions are unique, so a concurrent publisher of the same
/// version fails instead of forking the list.
pub fn insert_version(conn: &Connection, v: &MembershipVersion) -> Result<()> {
    conn.prepare_cached(&format!(
        "INSERT INTO membership_versions ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
    ))?
    .execute(params![
        to_i64(v.version, "version")?,
        to_i64(v.log_index, "log index")?,
        v.activity_id,
        v.action,
        v.actor,
        v.object,
        v.published_ms
    ])?;
    Ok(())
}

/// The latest published version, if any.
pub fn latest(conn: &Connection) -> Result<Option<MembershipVersion>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM membership_versions ORDER BY version DESC LIMIT 1"
        ))?
        .query_row([], row)
        .optional()?)
}

/// The log index of the latest published version, if any (cheap: for caches).
pub fn latest_index(conn: &Connection) -> Result<Option<u64>> {
    let index: Option<i64> = conn
        .prepare_cached("SELECT max(log_index) FROM membership_versions")?
        .query_row([], |r| r.get(0))?;
    Ok(index.map(|i| to_u64(i, "log index")).transpose()?)
}

/// The log index of the replicated membership list `object_id` of `actor` (kind
/// `membership`, not deleted), if any (cheap: for caches).
pub fn replicated_index(conn: &Connection, actor: &str, object_id: &str) -> Result<Option<u64>> {
    let index: Option<i64> = conn
        .prepare_cached(
            "SELECT log_index FROM replica_objects
             WHERE object_id = ?1 AND actor = ?2 AND kind = 'membership' AND deleted = 0",
        )?
        .query_row(params![object_id, actor], |r| r.get(0))
        .optional()?;
    Ok(index.map(|i| to_u64(i, "log index")).transpose()?)
}

/// Every published version, oldest first, without the objects' JSON (`object` is empty).
pub fn history(conn: &Connection) -> Result<Vec<MembershipVersion>> {
    let mut stmt = conn.prepare_cached(
        "SELECT version, log_index, activity_id, action, actor, '', published_ms
         FROM membership_versions ORDER BY version",
    )?;
    let rows = stmt.query_map([], row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn version(n: u64, index: u64) -> MembershipVersion {
        MembershipVersion {
            version: n,
            log_index: index,
            activity_id: format!("https://c.example/activities/{n}"),
            action: "admit".to_owned(),
            actor: "https://a.example/actor".to_owned(),
            object: format!("{{\"version\":{n}}}"),
            published_ms: 1,
        }
    }

    #[test]
    fn the_latest_version_is_in_force_and_versions_cannot_repeat() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::Store::open(&dir.path().join("t.db")).unwrap();
        store
            .write(|tx| {
                assert_eq!(latest(tx)?, None);
                insert_version(tx, &version(1, 0))?;
                insert_version(tx, &version(2, 3))?;
                Ok::<_, crate::StoreError>(())
            })
            .unwrap();
        let (last, all) = store
            .read(|c| Ok::<_, crate::StoreError>((latest(c)?, history(c)?)))
            .unwrap();
        assert_eq!(last, Some(version(2, 3)));
        assert_eq!(store.read(latest_index).unwrap(), Some(3));
        assert_eq!(
            store
                .read(|c| replicated_index(
                    c,
                    "https://c.example/actor",
                    "https://c.example/membership"
                ))
                .unwrap(),
            None
        );
        assert_eq!(all.iter().map(|v| v.version).collect::<Vec<_>>(), [1, 2]);
        assert!(
            store
                .write(|tx| insert_version(tx, &version(2, 4)))
                .is_err()
        );
    }
}
