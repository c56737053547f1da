//! Versioned documents (practices, evaluations, adaptations) and their search indexes.
//!
//! A document's body is the exact JSON of one version as the API returns it; every edit adds a
//! version and keeps the older ones. Deletion marks the document; its versions stay.

use rusqlite::{Connection, OptionalExtension, ToSql, params};

use punte_model::{EvaluationContent, PracticeContent};

use crate::{Result, StoreError};

/// The kinds of versioned document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocKind {
    Practice,
    Evaluation,
    Adaptation,
}

impl DocKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Practice => "practice",
            Self::Evaluation => "evaluation",
            Self::Adaptation => "adaptation",
        }
    }
}

/// One version of a document as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocRecord {
    pub id: String,
    pub version: u32,
    /// The JSON of this version.
    pub body: String,
    pub created_at: String,
    pub deleted_at: Option<String>,
}

/// A version in a document's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionInfo {
    pub version: u32,
    pub created_at: String,
}

/// One page of a list, newest first, and the cursor for the next page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `after` to get the next page; `None` on the last page.
    pub next_after: Option<i64>,
}

fn head(conn: &Connection, kind: DocKind, id: &str) -> Result<Option<(u32, Option<String>)>> {
    Ok(conn
        .query_row(
            "SELECT current_version, deleted_at FROM documents WHERE kind = ?1 AND id = ?2",
            params![kind.as_str(), id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

fn what(kind: DocKind, id: &str) -> String {
    format!("{} {id}", kind.as_str())
}

/// Stores version 1 of a new document.
pub fn insert_new(conn: &Connection, kind: DocKind, id: &str, body: &str, now: &str) -> Result<()> {
    if head(conn, kind, id)?.is_some() {
        return Err(StoreError::Conflict(format!(
            "{} already exists",
            what(kind, id)
        )));
    }
    conn.execute(
        "INSERT INTO documents (kind, id, current_version, created_at, updated_at) VALUES (?1, ?2, 1, ?3, ?3)",
        params![kind.as_str(), id, now],
    )?;
    conn.execute(
        "INSERT INTO document_versions (kind, id, version, body, created_at) VALUES (?1, ?2, 1, ?3, ?4)",
        params![kind.as_str(), id, body, now],
    )?;
    Ok(())
}

/// The current version number of a live document, checked against `expected` (If-Match).
pub fn current_version(
    conn: &Connection,
    kind: DocKind,
    id: &str,
    expected: Option<u32>,
) -> Result<u32> {
    match head(conn, kind, id)? {
        None => Err(StoreError::not_found(what(kind, id))),
        Some((_, Some(_))) => Err(StoreError::Gone {
            what: what(kind, id),
        }),
        Some((current, None)) => match expected {
            Some(e) if e != current => Err(StoreError::VersionConflict {
                expected: e,
                current,
            }),
            _ => Ok(current),
        },
    }
}

/// Stores `body` as version `version` (which must be current + 1).
pub fn insert_version(
    conn: &Connection,
    kind: DocKind,
    id: &str,
    version: u32,
    body: &str,
    now: &str,
) -> Result<()> {
    let n = conn.execute(
        "UPDATE documents SET current_version = ?3, updated_at = ?4
         WHERE kind = ?1 AND id = ?2 AND current_version = ?3 - 1 AND deleted_at IS NULL",
        params![kind.as_str(), id, version, now],
    )?;
    if n != 1 {
        let current = current_version(conn, kind, id, None)?;
        return Err(StoreError::VersionConflict {
            expected: version.saturating_sub(1),
            current,
        });
    }
    conn.execute(
        "INSERT INTO document_versions (kind, id, version, body, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![kind.as_str(), id, version, body, now],
    )?;
    Ok(())
}

/// Marks a document deleted; its versions stay for the record.
pub fn mark_deleted(
    conn: &Connection,
    kind: DocKind,
    id: &str,
    expected: Option<u32>,
    now: &str,
) -> Result<u32> {
    let current = current_version(conn, kind, id, expected)?;
    conn.execute(
        "UPDATE documents SET deleted_at = ?3, updated_at = ?3 WHERE kind = ?1 AND id = ?2",
        params![kind.as_str(), id, now],
    )?;
    Ok(current)
}

fn record(conn: &Connection, kind: DocKind, id: &str, version: Option<u32>) -> Result<DocRecord> {
    let sql = "SELECT v.version, v.body, v.created_at, d.deleted_at
               FROM documents d JOIN document_versions v ON v.kind = d.kind AND v.id = d.id
               WHERE d.kind = ?1 AND d.id = ?2 AND v.version = coalesce(?3, d.current_version)";
    conn.query_row(sql, params![kind.as_str(), id, version], |r| {
        Ok(DocRecord {
            id: id.to_string(),
            version: r.get(0)?,
            body: r.get(1)?,
            created_at: r.get(2)?,
            deleted_at: r.get(3)?,
        })
    })
    .optional()?
    .ok_or_else(|| match version {
        Some(v) => StoreError::not_found(format!("version {v} of {}", what(kind, id))),
        None => StoreError::not_found(what(kind, id)),
    })
}

/// The current version of a live document (`Gone` if deleted).
pub fn get_current(conn: &Connection, kind: DocKind, id: &str) -> Result<DocRecord> {
    let rec = record(conn, kind, id, None)?;
    if rec.deleted_at.is_some() {
        return Err(StoreError::Gone {
            what: what(kind, id),
        });
    }
    Ok(rec)
}

/// Any version, also of a deleted document.
pub fn get_version(conn: &Connection, kind: DocKind, id: &str, version: u32) -> Result<DocRecord> {
    record(conn, kind, id, Some(version))
}

pub fn list_versions(conn: &Connection, kind: DocKind, id: &str) -> Result<Vec<VersionInfo>> {
    if head(conn, kind, id)?.is_none() {
        return Err(StoreError::not_found(what(kind, id)));
    }
    let mut stmt =
        conn.prepare("SELECT version, created_at FROM document_versions WHERE kind = ?1 AND id = ?2 ORDER BY version")?;
    let rows = stmt.query_map(params![kind.as_str(), id], |r| {
        Ok(VersionInfo {
            version: r.get(0)?,
            created_at: r.get(1)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Filters for listing practices; all given filters must hold.
#[derive(Debug, Clone, Default)]
pub struct PracticeFilter {
    pub country: Option<String>,
    pub theme: Option<String>,
    pub sdg_target: Option<String>,
    pub language: Option<String>,
    pub maturity: Option<String>,
    /// Free text, matched with full-text search in every language (diacritics ignored).
    pub query: Option<String>,
}

/// Filters for listing evaluations.
#[derive(Debug, Clone, Default)]
pub struct EvaluationFilter {
    pub practice: Option<String>,
    pub indicator: Option<(String, u32)>,
}

/// Turns free text into an FTS5 query: every word must match, as a prefix; no operators.
fn fts_query(text: &str) -> Option<String> {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(16)
        .map(|w| format!("\"{w}\"*"))
        .collect();
    if words.is_empty() {
        None
    } else {
        Some(words.join(" "))
    }
}

/// Lists live documents of a kind, newest first; `after` is a cursor from a previous page.
fn list_where(
    conn: &Connection,
    kind: DocKind,
    conditions: &[String],
    args: &mut Vec<Box<dyn ToSql>>,
    after: Option<i64>,
    limit: u32,
) -> Result<Page<DocRecord>> {
    // The page is chosen on the narrow `documents` rows first; bodies are read for that page
    // only, not for every match (a broad search can match thousands of documents).
    let mut sql = String::from(
        "SELECT d.seq, d.id, v.version, v.body, v.created_at FROM (
           SELECT d.seq, d.kind, d.id, d.current_version FROM documents d
           WHERE d.kind = ? AND d.deleted_at IS NULL",
    );
    let mut all: Vec<Box<dyn ToSql>> = vec![Box::new(kind.as_str())];
    for c in conditions {
        sql.push_str(" AND ");
        sql.push_str(c);
    }
    all.append(args);
    if let Some(after) = after {
        sql.push_str(" AND d.seq < ?");
        all.push(Box::new(after));
    }
    sql.push_str(
        " ORDER BY d.seq DESC LIMIT ?) d
         JOIN document_versions v ON v.kind = d.kind AND v.id = d.id AND v.version = d.current_version
         ORDER BY d.seq DESC",
    );
    all.push(Box::new(i64::from(limit) + 1));
    let mut stmt = conn.prepare(&sql)?;
    let refs: Vec<&dyn ToSql> = all.iter().map(|b| b.as_ref()).collect();
    let rows = stmt.query_map(refs.as_slice(), |r| {
        Ok((
            r.get::<_, i64>(0)?,
            DocRecord {
                id: r.get(1)?,
                version: r.get(2)?,
                body: r.get(3)?,
                created_at: r.get(4)?,
                deleted_at: None,
            },
        ))
    })?;
    let mut items: Vec<(i64, DocRecord)> = rows.collect::<rusqlite::Result<_>>()?;
    let next_after = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|(seq, _)| *seq)
    } else {
        None
    };
    Ok(Page {
        items: items.into_iter().map(|(_, d)| d).collect(),
        next_after,
    })
}

pub fn list_practices(
    conn: &Connection,
    filter: &PracticeFilter,
    after: Option<i64>,
    limit: u32,
) -> Result<Page<DocRecord>> {
    let mut conditions = Vec::new();
    let mut args: Vec<Box<dyn ToSql>> = Vec::new();
    if let Some(c) = &filter.country {
        conditions.push("d.id IN (SELECT id FROM practice_index WHERE country = ?)".to_string());
        args.push(Box::new(c.to_ascii_uppercase()));
    }
    if let Some(m) = &filter.maturity {
        conditions.push("d.id IN (SELECT id FROM practice_index WHERE maturity = ?)".to_string());
        args.push(Box::new(m.clone()));
    }
    if let Some(t) = &filter.theme {
        conditions.push("d.id IN (SELECT id FROM practice_themes WHERE theme = ?)".to_string());
        args.push(Box::new(t.to_lowercase()));
    }
    if let Some(s) = &filter.sdg_target {
        conditions.push("d.id IN (SELECT id FROM practice_sdgs WHERE target = ?)".to_string());
        args.push(Box::new(s.clone()));
    }
    if let Some(l) = &filter.language {
        // `en` matches `en` and `en-GB`
        conditions.push("d.id IN (SELECT id FROM practice_languages WHERE language = ? OR language LIKE ? || '-%')".to_string());
        args.push(Box::new(l.clone()));
        args.push(Box::new(l.clone()));
    }
    if let Some(q) = &filter.query {
        match fts_query(q) {
            Some(q) => {
                conditions.push(
                    "d.id IN (SELECT id FROM practice_fts WHERE practice_fts MATCH ?)".to_string(),
                );
                args.push(Box::new(q));
            }
            None => conditions.push("0".to_string()),
        }
    }
    list_where(
        conn,
        DocKind::Practice,
        &conditions,
        &mut args,
        after,
        limit,
    )
}

pub fn list_evaluations(
    conn: &Connection,
    filter: &EvaluationFilter,
    after: Option<i64>,
    limit: u32,
) -> Result<Page<DocRecord>> {
    let mut conditions = Vec::new();
    let mut args: Vec<Box<dyn ToSql>> = Vec::new();
    if let Some(p) = &filter.practice {
        conditions.push(
            "d.id IN (SELECT evaluation_id FROM evaluation_subjects WHERE practice_id = ?)"
                .to_string(),
        );
        args.push(Box::new(p.clone()));
    }
    if let Some((code, version)) = &filter.indicator {
        conditions.push(
            "d.id IN (SELECT evaluation_id FROM evaluation_values WHERE indicator_code = ? AND indicator_version = ?)".to_string(),
        );
        args.push(Box::new(code.clone()));
        args.push(Box::new(*version));
    }
    list_where(
        conn,
        DocKind::Evaluation,
        &conditions,
        &mut args,
        after,
        limit,
    )
}

pub fn list_adaptations(
    conn: &Connection,
    after: Option<i64>,
    limit: u32,
) -> Result<Page<DocRecord>> {
    list_where(
        conn,
        DocKind::Adaptation,
        &[],
        &mut Vec::new(),
        after,
        limit,
    )
}

/// Replaces the search and filter rows of a practice with those of `content`.
pub fn index_practice(conn: &Connection, id: &str, content: &PracticeContent) -> Result<()> {
    unindex_practice(conn, id)?;
    conn.execute(
        "INSERT INTO practice_index (id, country, maturity, original_language) VALUES (?1, ?2, ?3, ?4)",
        params![id, content.country.as_str(), content.maturity.as_str(), content.original_language.as_str()],
    )?;
    for t in &content.themes {
        conn.execute(
            "INSERT OR IGNORE INTO practice_themes (id, theme) VALUES (?1, ?2)",
            params![id, t.as_str()],
        )?;
    }
    for s in &content.sdg_targets {
        conn.execute(
            "INSERT OR IGNORE INTO practice_sdgs (id, target) VALUES (?1, ?2)",
            params![id, s.as_str()],
        )?;
    }
    let mut languages: Vec<_> = content.title.languages().cloned().collect();
    for map in [&content.summary, &content.problem, &content.solution] {
        languages.extend(map.languages().cloned());
    }
    languages.sort();
    languages.dedup();
    for lang in &languages {
        conn.execute(
            "INSERT OR IGNORE INTO practice_languages (id, language) VALUES (?1, ?2)",
            params![id, lang.as_str()],
        )?;
        let title = content.title.get(lang).unwrap_or_default();
        let mut body = String::new();
        let optional = [
            &content.target_group,
            &content.evidence,
            &content.difficulties,
            &content.transferability,
        ];
        let texts = [
            Some(&content.summary),
            Some(&content.problem),
            Some(&content.solution),
        ]
        .into_iter()
        .chain(optional.into_iter().map(Option::as_ref))
        .flatten()
        .chain(content.core_components.iter())
        .chain(content.adaptable_components.iter());
        for map in texts {
            if let Some(text) = map.get(lang) {
                body.push_str(text);
                body.push('\n');
            }
        }
        for t in &content.themes {
            body.push_str(t.as_str());
            body.push(' ');
        }
        conn.execute(
            "INSERT INTO practice_fts (id, language, title, body) VALUES (?1, ?2, ?3, ?4)",
            params![id, lang.as_str(), title, body],
        )?;
        conn.execute(
            "INSERT INTO practice_fts_rows (fts_rowid, id) VALUES (?1, ?2)",
            params![conn.last_insert_rowid(), id],
        )?;
    }
    Ok(())
}

pub fn unindex_practice(conn: &Connection, id: &str) -> Result<()> {
    // Every index row of a practice is written in one transaction with its
    // `practice_index` row; without one there is nothing to remove. The full-text rows are
    // deleted by rowid (from `practice_fts_rows`): by the unindexed `id` column FTS5 would
    // scan the whole table, which made every update cost a scan of all practices.
    if conn.execute("DELETE FROM practice_index WHERE id = ?1", params![id])? == 0 {
        return Ok(());
    }
    for sql in [
        "DELETE FROM practice_themes WHERE id = ?1",
        "DELETE FROM practice_sdgs WHERE id = ?1",
        "DELETE FROM practice_languages WHERE id = ?1",
        "DELETE FROM practice_fts WHERE rowid IN (SELECT fts_rowid FROM practice_fts_rows WHERE id = ?1)",
        "DELETE FROM practice_fts_rows WHERE id = ?1",
    ] {
        conn.execute(sql, params![id])?;
    }
    Ok(())
}

/// Replaces the subject and indicator rows of an evaluation.
pub fn index_evaluation(conn: &Connection, id: &str, content: &EvaluationContent) -> Result<()> {
    unindex_evaluation(conn, id)?;
    conn.execute(
        "INSERT INTO evaluation_subjects (evaluation_id, practice_id, adaptation_id) VALUES (?1, ?2, ?3)",
        params![id, content.subject.practice, content.subject.adaptation],
    )?;
    for v in &content.values {
        conn.execute(
            "INSERT OR IGNORE INTO evaluation_values (evaluation_id, indicator_code, indicator_version) VALUES (?1, ?2, ?3)",
            params![id, v.indicator.code.as_str(), v.indicator.version],
        )?;
    }
    Ok(())
}

pub fn unindex_evaluation(conn: &Connection, id: &str) -> Result<()> {
    conn.execute(
        "DELETE FROM evaluation_subjects WHERE evaluation_id = ?1",
        params![id],
    )?;
    conn.execute(
        "DELETE FROM evaluation_values WHERE evaluation_id = ?1",
        params![id],
    )?;
    Ok(())
}

/// How many live evaluations use an indicator version.
pub fn evaluations_using_indicator(conn: &Connection, code: &str, version: u32) -> Result<u64> {
    Ok(conn.query_row(
        "SELECT count(*) FROM evaluation_values WHERE indicator_code = ?1 AND indicator_version = ?2",
        params![code, version],
        |r| r.get(0),
    )?)
}

/// Every live document of a kind, oldest first (for export).
pub fn all_current(conn: &Connection, kind: DocKind) -> Result<Vec<DocRecord>> {
    let mut stmt = conn.prepare(
        "SELECT d.id, v.version, v.body, v.created_at FROM documents d
         JOIN document_versions v ON v.kind = d.kind AND v.id = d.id AND v.version = d.current_version
         WHERE d.kind = ?1 AND d.deleted_at IS NULL ORDER BY d.seq",
    )?;
    let rows = stmt.query_map(params![kind.as_str()], |r| {
        Ok(DocRecord {
            id: r.get(0)?,
            version: r.get(1)?,
            body: r.get(2)?,
            created_at: r.get(3)?,
            deleted_at: None,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// One version of an evaluation as it was published (table `published_evaluations`): the
/// `k` in force, the published evaluation (JSON) and why each value is blank (JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedEvaluation {
    pub k: u64,
    pub body: String,
    pub reasons: String,
}

/// Records how version `version` of evaluation `id` left the node. Versions are published
/// once; a second write of the same version is a conflict.
pub fn insert_published_evaluation(
    conn: &Connection,
    id: &str,
    version: u32,
    published: &PublishedEvaluation,
) -> Result<()> {
    // a threshold beyond i64 hides everything either way
    let k = i64::try_from(published.k).unwrap_or(i64::MAX);
    let n = conn.execute(
        "INSERT INTO published_evaluations (id, version, k, body, reasons)
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
        params![id, version, k, published.body, published.reasons],
    )?;
    if n != 1 {
        return Err(StoreError::Conflict(format!(
            "version {version} of evaluation {id} was already published"
        )));
    }
    Ok(())
}

/// How version `version` of evaluation `id` was published (`None` for a version stored
/// before the table existed, or never published).
pub fn published_evaluation(
    conn: &Connection,
    id: &str,
    version: u32,
) -> Result<Option<PublishedEvaluation>> {
    Ok(conn
        .prepare_cached(
            "SELECT k, body, reasons FROM published_evaluations WHERE id = ?1 AND version = ?2",
        )?
        .query_row(params![id, version], |r| {
            Ok(PublishedEvaluation {
                k: crate::log::to_u64(r.get(0)?, "k")?,
                body: r.get(1)?,
                reasons: r.get(2)?,
            })
        })
        .optional()?)
}

/// Evaluation versions with no record of how they were published (stored by a node older
/// than `published_evaluations`), by id and then version.
pub fn unrecorded_evaluation_versions(conn: &Connection) -> Result<Vec<(String, u32)>> {
    let mut stmt = conn.prepare(
        "SELECT v.id, v.version FROM document_versions v
         WHERE v.kind = 'evaluation' AND NOT EXISTS
           (SELECT 1 FROM published_evaluations p WHERE p.id = v.id AND p.version = v.version)
         ORDER BY v.id, v.version",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Records that log entry `index` published version `version` of a document.
pub fn set_version_entry(
    conn: &Connection,
    kind: DocKind,
    id: &str,
    version: u32,
    index: u64,
) -> Result<()> {
    let n = conn
        .prepare_cached(
            "UPDATE document_versions SET log_index = ?4
             WHERE kind = ?1 AND id = ?2 AND version = ?3",
        )?
        .execute(params![
            kind.as_str(),
            id,
            version,
            crate::log::to_i64(index, "index")?
        ])?;
    if n != 1 {
        return Err(StoreError::not_found(format!(
            "{} version {version}",
            what(kind, id)
        )));
    }
    Ok(())
}

/// The log entry that published version `version` of a document (`None`: none is known).
pub fn version_entry(
    conn: &Connection,
    kind: DocKind,
    id: &str,
    version: u32,
) -> Result<Option<u64>> {
    let index: Option<Option<i64>> = conn
        .prepare_cached(
            "SELECT log_index FROM document_versions WHERE kind = ?1 AND id = ?2 AND version = ?3",
        )?
        .query_row(params![kind.as_str(), id, version], |r| r.get(0))
        .optional()?;
    index
        .flatten()
        .map(|i| crate::log::to_u64(i, "index").map_err(Into::into))
        .transpose()
}

/// Whether some version has no log entry recorded (a database older than migration 0013,
/// or a version no entry published).
pub fn versions_without_entry(conn: &Connection) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM document_versions WHERE log_index IS NULL LIMIT 1")?
        .query_row([], |_| Ok(()))
        .optional()?
        .is_some())
}
