//! Read-only queries for comparative analysis (issue #5): which signed log entry carries the
//! latest version of each of the node's own objects, and a plain SQL aggregate over
//! replicated indicator values that the analysis benchmark measures itself against.

use rusqlite::{OptionalExtension, params};

use crate::Connection;
use crate::error::Result;
use crate::log::to_u64;

/// The log entry of an object's latest published version (a Create or Update activity).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectEntry {
    /// The object's URL (`$.object.id` of the activity).
    pub object_id: String,
    /// The object's `version` member, when it has one.
    pub version: Option<u32>,
    pub index: u64,
    pub activity_id: String,
    /// The first entry that created or updated the object (its first publication).
    pub first_index: u64,
}

/// For every object of ActivityStreams type `object_type` (`Evaluation`, `Adaptation`, …)
/// that the node's own log created or updated: the latest entry (and the index of the first),
/// ordered by object id.
/// Redacted entries have no activity bytes and are skipped.
pub fn latest_object_entries(conn: &Connection, object_type: &str) -> Result<Vec<ObjectEntry>> {
    let mut stmt = conn.prepare_cached(
        "SELECT json_extract(a, '$.object.id'), json_extract(a, '$.object.version'),
                idx, activity_id
         FROM (SELECT idx, activity_id, CAST(activity AS TEXT) AS a FROM log_entries
               WHERE kind = 1 AND activity IS NOT NULL)
         WHERE json_extract(a, '$.type') IN ('Create', 'Update')
           AND json_extract(a, '$.object.type') = ?1
         ORDER BY idx",
    )?;
    let rows = stmt.query_map(params![object_type], |r| {
        Ok(ObjectEntry {
            object_id: r.get(0)?,
            version: r
                .get::<_, Option<i64>>(1)?
                .and_then(|v| u32::try_from(v).ok()),
            index: to_u64(r.get(2)?, "index")?,
            activity_id: r.get(3)?,
            first_index: to_u64(r.get(2)?, "index")?,
        })
    })?;
    let mut latest: std::collections::BTreeMap<String, ObjectEntry> = Default::default();
    for row in rows {
        let mut row = row?;
        if let Some(earlier) = latest.get(&row.object_id) {
            row.first_index = earlier.first_index;
        }
        latest.insert(row.object_id.clone(), row);
    }
    Ok(latest.into_values().collect())
}

/// For every object of type `object_type` that partner `actor`'s replicated log created or
/// updated: the index of the first such entry (the object's first publication), by object URL.
/// Redacted entries have no activity bytes and are skipped.
pub fn replica_first_object_entries(
    conn: &Connection,
    actor: &str,
    object_type: &str,
) -> Result<std::collections::HashMap<String, u64>> {
    let mut stmt = conn.prepare_cached(
        "SELECT json_extract(a, '$.object.id'), min(idx)
         FROM (SELECT idx, CAST(activity AS TEXT) AS a FROM replica_entries
               WHERE actor = ?1 AND kind = 1 AND activity IS NOT NULL)
         WHERE json_extract(a, '$.type') IN ('Create', 'Update')
           AND json_extract(a, '$.object.type') = ?2
         GROUP BY 1",
    )?;
    let rows = stmt.query_map(params![actor, object_type], |r| {
        Ok((r.get::<_, String>(0)?, to_u64(r.get(1)?, "index")?))
    })?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

/// The plain aggregate the analysis benchmark compares against: over every replicated,
/// non-deleted evaluation, the number of whole-population values (no disaggregation) of
/// `indicator` (`code@version`) and the mean of `actual − baseline` over those with both.
pub fn replicated_change_aggregate(
    conn: &Connection,
    indicator: &str,
) -> Result<(u64, Option<f64>)> {
    let (count, mean) = conn
        .prepare_cached(
            "SELECT count(*),
                    avg(json_extract(v.value, '$.actualValue')
                        - json_extract(v.value, '$.baselineValue'))
             FROM replica_objects o, json_each(o.object, '$.indicatorValues') v
             WHERE o.kind = 'evaluation' AND o.deleted = 0
               AND json_extract(v.value, '$.indicator') = ?1
               AND json_extract(v.value, '$.disaggregation') IS NULL",
        )?
        .query_row(params![indicator], |r| {
            Ok((to_u64(r.get(0)?, "count")?, r.get::<_, Option<f64>>(1)?))
        })?;
    Ok((count, mean))
}

/// The same floor for two-group rows: count and mean difference of the intervention and
/// comparison groups' follow-up shares (`events / n`) of the whole-population values of
/// `indicator`, straight from the stored JSON.
pub fn replicated_group_difference_aggregate(
    conn: &Connection,
    indicator: &str,
) -> Result<(u64, Option<f64>)> {
    let (count, mean) = conn
        .prepare_cached(
            "SELECT count(*),
                    avg(1.0 * json_extract(v.value, '$.groups.intervention.followUp.events')
                          / json_extract(v.value, '$.groups.intervention.followUp.sampleSize')
                        - 1.0 * json_extract(v.value, '$.groups.comparison.followUp.events')
                          / json_extract(v.value, '$.groups.comparison.followUp.sampleSize'))
             FROM replica_objects o, json_each(o.object, '$.indicatorValues') v
             WHERE o.kind = 'evaluation' AND o.deleted = 0
               AND json_extract(v.value, '$.indicator') = ?1
               AND json_extract(v.value, '$.disaggregation') IS NULL",
        )?
        .query_row(params![indicator], |r| {
            Ok((to_u64(r.get(0)?, "count")?, r.get::<_, Option<f64>>(1)?))
        })?;
    Ok((count, mean))
}

// ----- analysis_values: what the analysis keeps of each replicated evaluation -----

/// What the analysis keeps of one replicated evaluation for one indicator code (a row of
/// `analysis_values`), with the entry that carried the object's current version.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicaEvaluationValues {
    pub actor: String,
    /// The object's URL (`replica_objects.object_id`).
    pub object_id: String,
    pub log_index: u64,
    pub activity_id: String,
    /// Creates and updates seen for the object (1: created and never updated).
    pub updates: u32,
    /// The evaluation as parsed and validated on derivation, or why it was refused (the
    /// same text the analysis reports for a refused object).
    pub evaluation: std::result::Result<DerivedEvaluation, String>,
}

/// The fields of a valid replicated evaluation the analysis reads.
#[derive(Debug, Clone, PartialEq)]
pub struct DerivedEvaluation {
    /// The evaluation's id as parsed (local to its origin).
    pub id: String,
    pub is_plan: bool,
    pub evidence_level: punte_model::EvidenceLevel,
    /// The subject's practice and adaptation references, as parsed.
    pub practice: Option<String>,
    pub adaptation: Option<String>,
    /// The plan these results name, as parsed.
    pub plan: Option<String>,
    /// The whole-population values of the code (no disaggregation), in the object's order.
    pub values: Vec<punte_model::IndicatorValue>,
}

/// Re-derives the `analysis_values` rows of replicated object `object_id` from its current
/// row in `replica_objects` (and its replica's base URL). Called in the transaction that
/// changed the object, so the derived rows never disagree with it.
pub(crate) fn derive_replica_object(conn: &Connection, object_id: &str) -> Result<()> {
    conn.prepare_cached("DELETE FROM analysis_values WHERE object_id = ?1")?
        .execute(params![object_id])?;
    let row = conn
        .prepare_cached(
            "SELECT o.actor, o.log_index, o.activity_id, o.object, o.updates, r.base_url
             FROM replica_objects o JOIN replicas r ON r.actor = o.actor
             WHERE o.object_id = ?1 AND o.kind = 'evaluation' AND o.deleted = 0",
        )?
        .query_row(params![object_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, String>(5)?,
            ))
        })
        .optional()?;
    let Some((actor, log_index, activity_id, object, updates, base_url)) = row else {
        return Ok(());
    };
    let mut insert = conn.prepare_cached(
        "INSERT INTO analysis_values (code, actor, object_id, log_index, activity_id, updates,
             evaluation_id, is_plan, evidence_level, practice, adaptation, plan, vals, refused)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    )?;
    let parsed = serde_json::from_str::<serde_json::Value>(&object)
        .map_err(|e| format!("unreadable object: {e}"))
        .and_then(|json| {
            let urls = punte_protocol::urls::NodeUrls::new(&base_url)
                .map_err(|e| format!("refused: {e}"))?;
            punte_protocol::objects::parse_evaluation(&json, urls.base())
                .map_err(|e| format!("refused: {e}"))
        });
    let evaluation = match parsed {
        Ok(e) => e,
        Err(reason) => {
            insert.execute(params![
                "",
                actor,
                object_id,
                log_index,
                activity_id,
                updates,
                None::<String>,
                None::<bool>,
                None::<i64>,
                None::<String>,
                None::<String>,
                None::<String>,
                None::<String>,
                reason
            ])?;
            return Ok(());
        }
    };
    let mut by_code: std::collections::BTreeMap<&str, Vec<&punte_model::IndicatorValue>> =
        Default::default();
    for v in &evaluation.content.values {
        if v.disaggregation.is_empty() {
            by_code
                .entry(v.indicator.code.as_str())
                .or_default()
                .push(v);
        }
    }
    let c = &evaluation.content;
    for (code, values) in by_code {
        let vals = serde_json::to_string(&values)
            .map_err(|e| crate::StoreError::Corrupt(format!("indicator values: {e}")))?;
        insert.execute(params![
            code,
            actor,
            object_id,
            log_index,
            activity_id,
            updates,
            evaluation.id,
            c.stage == punte_model::evaluation::EvaluationStage::Plan,
            c.evidence_level.get(),
            c.subject.practice,
            c.subject.adaptation,
            c.plan,
            vals,
            None::<String>
        ])?;
    }
    Ok(())
}

/// A replica's base URL (the derived rows depend on it), if the replica exists.
pub(crate) fn replica_base_url(conn: &Connection, actor: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT base_url FROM replicas WHERE actor = ?1")?
        .query_row(params![actor], |r| r.get(0))
        .optional()?)
}

/// Re-derives the `analysis_values` rows of every replicated evaluation of `actor` (its
/// replica's base URL changed), in the caller's transaction.
pub(crate) fn derive_replica_actor(conn: &Connection, actor: &str) -> Result<()> {
    let ids = conn
        .prepare_cached(
            "SELECT object_id FROM replica_objects WHERE actor = ?1 AND kind = 'evaluation'",
        )?
        .query_map(params![actor], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for id in &ids {
        derive_replica_object(conn, id)?;
    }
    Ok(())
}

/// The `analysis_values` rows of indicator `code` and every refused evaluation, ordered by
/// actor and object id (the order of `replica_objects`).
pub fn replica_evaluation_values(
    conn: &Connection,
    code: &str,
) -> Result<Vec<ReplicaEvaluationValues>> {
    let mut stmt = conn.prepare_cached(
        "SELECT actor, object_id, log_index, activity_id, updates, evaluation_id, is_plan,
                evidence_level, practice, adaptation, plan, vals, refused
         FROM analysis_values WHERE code = ?1
         UNION ALL
         SELECT actor, object_id, log_index, activity_id, updates, evaluation_id, is_plan,
                evidence_level, practice, adaptation, plan, vals, refused
         FROM analysis_values WHERE code = '' AND ?1 <> ''",
    )?;
    let rows = stmt.query_map(params![code], |r| {
        let refused: Option<String> = r.get(12)?;
        let evaluation = match refused {
            Some(reason) => Err(reason),
            None => {
                let level: u8 = r.get(7)?;
                let vals: String = r.get(11)?;
                let corrupt = |what: String| {
                    rusqlite::Error::FromSqlConversionFailure(
                        7,
                        rusqlite::types::Type::Text,
                        what.into(),
                    )
                };
                Ok(DerivedEvaluation {
                    id: r.get(5)?,
                    is_plan: r.get(6)?,
                    evidence_level: punte_model::EvidenceLevel::new(level).map_err(corrupt)?,
                    practice: r.get(8)?,
                    adaptation: r.get(9)?,
                    plan: r.get(10)?,
                    values: serde_json::from_str(&vals).map_err(|e| corrupt(e.to_string()))?,
                })
            }
        };
        Ok(ReplicaEvaluationValues {
            actor: r.get(0)?,
            object_id: r.get(1)?,
            log_index: to_u64(r.get(2)?, "index")?,
            activity_id: r.get(3)?,
            updates: r.get(4)?,
            evaluation,
        })
    })?;
    let mut out = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    out.sort_by(|a, b| (&a.actor, &a.object_id).cmp(&(&b.actor, &b.object_id)));
    Ok(out)
}

/// Fills `analysis_values` from every replicated evaluation when the migration that created
/// it left the marker (existing replicas), in one transaction that also removes the marker:
/// a crash before the commit leaves the marker and an unchanged table, and the next start
/// rebuilds. Returns the number of objects derived.
pub(crate) fn rebuild_if_pending(conn: &mut rusqlite::Connection) -> Result<usize> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    if crate::meta::get(&tx, REBUILD_MARKER)?.is_none() {
        return Ok(0);
    }
    tx.execute("DELETE FROM analysis_values", [])?;
    let ids = tx
        .prepare("SELECT object_id FROM replica_objects WHERE kind = 'evaluation' AND deleted = 0")?
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for id in &ids {
        derive_replica_object(&tx, id)?;
    }
    tx.execute(
        "DELETE FROM node_meta WHERE key = ?1",
        params![REBUILD_MARKER],
    )?;
    tx.commit()?;
    tracing::info!(
        objects = ids.len(),
        "filled analysis_values from replicated evaluations"
    );
    Ok(ids.len())
}

const REBUILD_MARKER: &str = "analysis_values_rebuild";
