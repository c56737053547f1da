//! Read-only queries for comparative analysis (issue #5): which signed log entry carries the
//! latest version of each of the node's own objects, and a plain SQL aggregate over
//! replicated indicator values that the analysis benchmark measures itself against.

use rusqlite::params;

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
