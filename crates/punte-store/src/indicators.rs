//! The indicator catalogue: immutable `code@version` definitions.

use rusqlite::{Connection, OptionalExtension, params};

use crate::{Result, StoreError};

/// One stored definition: its JSON body and whether it was withdrawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndicatorRecord {
    pub code: String,
    pub version: u32,
    pub body: String,
    pub created_at: String,
    pub deleted_at: Option<String>,
}

pub fn insert(conn: &Connection, code: &str, version: u32, body: &str, now: &str) -> Result<()> {
    let exists: Option<String> = conn
        .query_row(
            "SELECT body FROM indicators WHERE code = ?1 AND version = ?2",
            params![code, version],
            |r| r.get(0),
        )
        .optional()?;
    if exists.is_some() {
        return Err(StoreError::Conflict(format!(
            "indicator {code}@{version} already exists; a changed definition is a new version"
        )));
    }
    conn.execute(
        "INSERT INTO indicators (code, version, body, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![code, version, body, now],
    )?;
    Ok(())
}

pub fn get(conn: &Connection, code: &str, version: u32) -> Result<IndicatorRecord> {
    conn.query_row(
        "SELECT body, created_at, deleted_at FROM indicators WHERE code = ?1 AND version = ?2",
        params![code, version],
        |r| {
            Ok(IndicatorRecord {
                code: code.to_string(),
                version,
                body: r.get(0)?,
                created_at: r.get(1)?,
                deleted_at: r.get(2)?,
            })
        },
    )
    .optional()?
    .ok_or_else(|| StoreError::not_found(format!("indicator {code}@{version}")))
}

/// Live definitions, by code then version; `code` narrows to one code's versions.
pub fn list(conn: &Connection, code: Option<&str>) -> Result<Vec<IndicatorRecord>> {
    let mut stmt = conn.prepare(
        "SELECT code, version, body, created_at FROM indicators
         WHERE deleted_at IS NULL AND (?1 IS NULL OR code = ?1) ORDER BY code, version",
    )?;
    let rows = stmt.query_map(params![code], |r| {
        Ok(IndicatorRecord {
            code: r.get(0)?,
            version: r.get(1)?,
            body: r.get(2)?,
            created_at: r.get(3)?,
            deleted_at: None,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Withdraws a definition that no evaluation uses.
pub fn mark_deleted(conn: &Connection, code: &str, version: u32, now: &str) -> Result<()> {
    let rec = get(conn, code, version)?;
    if rec.deleted_at.is_some() {
        return Err(StoreError::Gone {
            what: format!("indicator {code}@{version}"),
        });
    }
    let used = crate::documents::evaluations_using_indicator(conn, code, version)?;
    if used > 0 {
        return Err(StoreError::Conflict(format!(
            "indicator {code}@{version} is used by {used} evaluation(s) and cannot be deleted"
        )));
    }
    conn.execute(
        "UPDATE indicators SET deleted_at = ?3 WHERE code = ?1 AND version = ?2",
        params![code, version, now],
    )?;
    Ok(())
}
