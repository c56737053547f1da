//! Punte's storage: the only crate that speaks SQL.
//!
//! One SQLite database in WAL mode with `synchronous = FULL`: a write that returned `Ok` is on
//! disk. Writes go through [`Store::write`], one `BEGIN IMMEDIATE` transaction each, so a change,
//! its log entry and its deliveries commit together or not at all. Reads use a small pool of
//! read-only connections that never block the writer.

mod error;
mod migrations;

pub mod adaptations;
pub mod analysis;
pub mod documents;
pub mod federation;
pub mod indicators;
pub mod log;
pub mod membership;
pub mod meta;
pub mod tokens;
pub mod witness;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{OpenFlags, TransactionBehavior};

pub use error::{Result, StoreError};
pub use migrations::SCHEMA_VERSION;
/// Connections are handed to callers only to pass back into this crate's query functions.
pub use rusqlite::{Connection, Transaction};

/// Most idle read connections kept open.
const MAX_IDLE_READERS: usize = 8;
/// How long a connection waits for another process (e.g. the CLI) holding the write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The node's database.
pub struct Store {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(())
}

impl Store {
    /// Opens (creating if needed) the database at `path` and applies pending migrations.
    pub fn open(path: &Path) -> Result<Self> {
        let open_err = |source| StoreError::Open {
            path: path.display().to_string(),
            source,
        };
        let mut writer = Connection::open(path).map_err(open_err)?;
        let mode: String = writer
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(open_err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Corrupt(format!(
                "cannot switch the database to WAL mode (got {mode})"
            )));
        }
        configure(&writer)?;
        migrations::apply(&mut writer)?;
        analysis::rebuild_if_pending(&mut writer)?;
        Ok(Self {
            path: path.to_path_buf(),
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` in one write transaction (`BEGIN IMMEDIATE`); commits if it returns `Ok`.
    /// The commit is durable (`synchronous = FULL`) before this returns.
    pub fn write<T, E>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let mut conn = self
            .writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| E::from(StoreError::from(e)))?;
        let value = f(&tx)?;
        tx.commit().map_err(|e| E::from(StoreError::from(e)))?;
        Ok(value)
    }

    /// Runs `f` on a read-only connection inside one read transaction (a consistent snapshot).
    pub fn read<T, E>(&self, f: impl FnOnce(&Connection) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let conn = {
            let mut pool = self.readers.lock().unwrap_or_else(|p| p.into_inner());
            pool.pop()
        };
        let conn = match conn {
            Some(c) => c,
            None => self.open_reader().map_err(E::from)?,
        };
        conn.execute_batch("BEGIN DEFERRED")
            .map_err(|e| E::from(StoreError::from(e)))?;
        let result = f(&conn);
        // A read transaction has nothing to commit; end it either way.
        let ended = conn.execute_batch("COMMIT");
        if ended.is_ok() {
            let mut pool = self.readers.lock().unwrap_or_else(|p| p.into_inner());
            if pool.len() < MAX_IDLE_READERS {
                pool.push(conn);
            }
        }
        result
    }

    fn open_reader(&self) -> Result<Connection> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        let conn =
            Connection::open_with_flags(&self.path, flags).map_err(|source| StoreError::Open {
                path: self.path.display().to_string(),
                source,
            })?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        Ok(conn)
    }

    /// Writes a consistent copy of the live database to `out` (created with mode 0600; it must
    /// not exist) with SQLite's online backup API, in one step: in WAL mode the copy reads one
    /// snapshot while the node keeps writing, and cannot be restarted by concurrent writes.
    pub fn backup(&self, out: &Path) -> Result<()> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        options
            .open(out)
            .map_err(|e| StoreError::Corrupt(format!("cannot create {}: {e}", out.display())))?;
        let src = self.open_reader()?;
        let mut dst = Connection::open(out).map_err(|source| StoreError::Open {
            path: out.display().to_string(),
            source,
        })?;
        {
            let backup = rusqlite::backup::Backup::new(&src, &mut dst)?;
            loop {
                match backup.step(-1)? {
                    rusqlite::backup::StepResult::Done => break,
                    _ => std::thread::sleep(Duration::from_millis(50)),
                }
            }
        }
        let ok: String = dst.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        if ok != "ok" {
            return Err(StoreError::Corrupt(format!(
                "backup failed its integrity check: {ok}"
            )));
        }
        Ok(())
    }

    /// Copies the write-ahead log into the database file and truncates it (clean shutdown).
    pub fn checkpoint_wal(&self) -> Result<()> {
        let conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
        Ok(())
    }

    /// Checkpoints the WAL into the main file; called at clean shutdown.
    pub fn close(self) -> Result<()> {
        self.readers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        let conn = self.writer.into_inner().unwrap_or_else(|p| p.into_inner());
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
        conn.close().map_err(|(_, e)| StoreError::from(e))
    }
}

/// The current time as stored: RFC 3339 UTC with millisecond precision.
pub fn timestamp(now: time::OffsetDateTime) -> String {
    let now = now.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second(),
        now.millisecond()
    )
}

/// Runs `f` inside a savepoint of the open transaction on `conn`: what `f` wrote is kept
/// when it returns `Ok` and undone when it returns `Err` (the transaction goes on either
/// way). The outer `Result` is the store's own failure.
pub fn savepoint<T, E>(
    conn: &Connection,
    f: impl FnOnce() -> std::result::Result<T, E>,
) -> Result<std::result::Result<T, E>> {
    conn.execute_batch("SAVEPOINT punte_item")?;
    let result = f();
    match &result {
        Ok(_) => conn.execute_batch("RELEASE punte_item")?,
        Err(_) => conn.execute_batch("ROLLBACK TO punte_item; RELEASE punte_item")?,
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    #[test]
    fn a_savepoint_keeps_what_succeeded_and_undoes_what_failed() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::Store::open(&dir.path().join("t.db")).unwrap();
        store
            .write(|tx| {
                let kept = crate::savepoint(tx, || crate::meta::set(tx, "a", "kept"))?;
                assert!(kept.is_ok());
                let undone = crate::savepoint(tx, || {
                    crate::meta::set(tx, "b", "written, then undone")?;
                    Err::<(), _>(crate::StoreError::Conflict("refused".into()))
                })?;
                assert!(undone.is_err());
                // the transaction goes on after an undone savepoint
                crate::meta::set(tx, "c", "after")
            })
            .unwrap();
        let read = |key| store.read(|conn| crate::meta::get(conn, key)).unwrap();
        assert_eq!(read("a").as_deref(), Some("kept"));
        assert_eq!(read("b"), None);
        assert_eq!(read("c").as_deref(), Some("after"));
    }
}
