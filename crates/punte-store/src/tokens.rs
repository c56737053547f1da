//! API bearer tokens, stored only as SHA-256 hashes.

use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

use crate::{Result, StoreError};

/// A token row as listed to admins; the token itself is never stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub id: String,
    pub role: String,
    pub label: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

pub fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

pub fn insert(
    conn: &Connection,
    id: &str,
    token: &str,
    role: &str,
    label: &str,
    now: &str,
) -> Result<()> {
    conn.execute(
        "INSERT INTO api_tokens (id, token_hash, role, label, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![id, hash(token).as_slice(), role, label, now],
    )?;
    Ok(())
}

/// A valid, unrevoked token: `(id, role, last_used_at)`.
pub fn role_of(conn: &Connection, token: &str) -> Result<Option<(String, String, Option<String>)>> {
    Ok(conn
        .query_row(
            "SELECT id, role, last_used_at FROM api_tokens WHERE token_hash = ?1 AND revoked_at IS NULL",
            params![hash(token).as_slice()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?)
}

pub fn touch(conn: &Connection, id: &str, now: &str) -> Result<()> {
    conn.execute(
        "UPDATE api_tokens SET last_used_at = ?2 WHERE id = ?1",
        params![id, now],
    )?;
    Ok(())
}

pub fn list(conn: &Connection) -> Result<Vec<TokenInfo>> {
    let mut stmt = conn.prepare(
        "SELECT id, role, label, created_at, last_used_at, revoked_at FROM api_tokens ORDER BY created_at",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(TokenInfo {
            id: r.get(0)?,
            role: r.get(1)?,
            label: r.get(2)?,
            created_at: r.get(3)?,
            last_used_at: r.get(4)?,
            revoked_at: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn revoke(conn: &Connection, id: &str, now: &str) -> Result<()> {
    let n = conn.execute(
        "UPDATE api_tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
        params![id, now],
    )?;
    if n == 0 {
        return Err(StoreError::not_found(format!("active token {id}")));
    }
    Ok(())
}
