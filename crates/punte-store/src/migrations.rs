//! Versioned schema migrations, applied in order at start, each in its own transaction.

use rusqlite::Connection;

use crate::{Result, StoreError};

/// Migrations in order; index + 1 is the schema version they produce.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_initial.sql"),
    include_str!("migrations/0002_log.sql"),
    include_str!("migrations/0003_federation.sql"),
    include_str!("migrations/0004_witness.sql"),
    include_str!("migrations/0005_adaptations.sql"),
    include_str!("migrations/0006_membership.sql"),
    include_str!("migrations/0007_practice_fts_rows.sql"),
    include_str!("migrations/0008_partner_witnesses.sql"),
    include_str!("migrations/0009_replica_objects_recent.sql"),
    include_str!("migrations/0010_analysis_values.sql"),
    include_str!("migrations/0011_published_evaluations.sql"),
    include_str!("migrations/0012_partner_forks.sql"),
    include_str!("migrations/0013_version_entries.sql"),
    include_str!("migrations/0014_adaptation_declines.sql"),
];

/// The schema version this build creates and understands.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

pub(crate) fn apply(conn: &mut Connection) -> Result<()> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            found: current,
            supported: SCHEMA_VERSION,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current.max(0) as usize) {
        let version = i as i64 + 1;
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Exclusive)?;
        // Another process may have migrated while we waited for the lock.
        let now: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if now >= version {
            continue;
        }
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
        tracing::info!(version, "applied database migration");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    fn version(conn: &Connection) -> i64 {
        conn.query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn a_fresh_database_is_migrated_once_and_reopening_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let mut conn = Connection::open(&path).unwrap();
        apply(&mut conn).unwrap();
        assert_eq!(version(&conn), SCHEMA_VERSION);
        let tables: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        conn.execute("INSERT INTO node_meta (key, value) VALUES ('k', 'v')", [])
            .unwrap();
        drop(conn);
        let mut conn = Connection::open(&path).unwrap();
        apply(&mut conn).unwrap();
        assert_eq!(version(&conn), SCHEMA_VERSION);
        let again: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(tables, again);
        let kept: String = conn
            .query_row("SELECT value FROM node_meta WHERE key = 'k'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(kept, "v");
    }

    #[test]
    fn a_database_from_a_newer_release_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        assert!(matches!(
            apply(&mut conn),
            Err(StoreError::SchemaTooNew { .. })
        ));
    }

    #[test]
    fn every_migration_is_valid_sql_on_its_own() {
        let mut conn = Connection::open_in_memory().unwrap();
        for (i, sql) in MIGRATIONS.iter().enumerate() {
            let tx = conn.transaction().unwrap();
            tx.execute_batch(sql)
                .unwrap_or_else(|e| panic!("migration {} fails: {e}", i + 1));
            tx.commit().unwrap();
        }
    }
}
