//! The adaptation workflow's tables: adaptations of this node's practices received from other
//! organisations (`incoming_adaptations`), their countersignatures or declines, the
//! attestations replicated from partners (read from `replica_objects`), and the evaluations of
//! an adaptation (own ones from `evaluation_subjects`, partners' from `replica_objects`).
//!
//! Times are Unix milliseconds (`*_ms`), chosen by the caller.

use rusqlite::{Connection, OptionalExtension, params};

use crate::Result;
use crate::log::{to_i64, to_u64};

/// An adaptation of one of this node's practices, as received (its latest version).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingAdaptation {
    /// The adaptation's URL on the adopter's node.
    pub object_id: String,
    /// The adopting organisation's actor.
    pub adopter: String,
    /// The local id of the adapted practice.
    pub practice_id: String,
    pub practice_version: u32,
    pub adaptation_version: u32,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// The latest state (`intended`, `piloting`, …).
    pub state: String,
    /// The object JSON as received.
    pub object: String,
    /// The activity that brought the latest version (or the deletion).
    pub activity_id: String,
    pub received_ms: i64,
    pub updated_ms: i64,
    pub deleted: bool,
    pub countersignature: Option<Countersignature>,
    /// This organisation's decision not to countersign, with its reason (its own record,
    /// not published); a countersignature given later supersedes it.
    pub decline: Option<Decline>,
}

/// The origin organisation declined to countersign an adaptation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decline {
    pub declined_ms: i64,
    /// The adaptation version seen when declining.
    pub version: u32,
    pub reason: String,
}

/// The attestation entry this node appended for an adaptation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Countersignature {
    /// Its index in this node's log.
    pub log_index: u64,
    /// The attestation object's URL.
    pub attestation_id: String,
    /// The Create activity's id.
    pub activity_id: String,
    pub countersigned_ms: i64,
}

const COLUMNS: &str = "object_id, adopter, practice_id, practice_version, adaptation_version,
    country, state, object, activity_id, received_ms, updated_ms, deleted, countersign_index,
    attestation_id, attestation_activity, countersigned_ms, declined_ms, declined_version,
    decline_reason";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<IncomingAdaptation> {
    let countersignature = match (
        r.get::<_, Option<i64>>(12)?,
        r.get::<_, Option<String>>(13)?,
        r.get::<_, Option<String>>(14)?,
        r.get::<_, Option<i64>>(15)?,
    ) {
        (Some(index), Some(attestation_id), Some(activity_id), Some(at)) => {
            Some(Countersignature {
                log_index: to_u64(index, "countersign_index")?,
                attestation_id,
                activity_id,
                countersigned_ms: at,
            })
        }
        _ => None,
    };
    let decline = match (
        r.get::<_, Option<i64>>(16)?,
        r.get::<_, Option<u32>>(17)?,
        r.get::<_, Option<String>>(18)?,
    ) {
        (Some(declined_ms), Some(version), Some(reason)) => Some(Decline {
            declined_ms,
            version,
            reason,
        }),
        _ => None,
    };
    Ok(IncomingAdaptation {
        object_id: r.get(0)?,
        adopter: r.get(1)?,
        practice_id: r.get(2)?,
        practice_version: r.get(3)?,
        adaptation_version: r.get(4)?,
        country: r.get(5)?,
        state: r.get(6)?,
        object: r.get(7)?,
        activity_id: r.get(8)?,
        received_ms: r.get(9)?,
        updated_ms: r.get(10)?,
        deleted: r.get(11)?,
        countersignature,
        decline,
    })
}

/// Stores a received adaptation version. A version older than the one stored, or an
/// adaptation of the same URL by another adopter, changes nothing; returns whether the row
/// was written. A newer version of a deleted adaptation stays deleted.
pub fn upsert_incoming(conn: &Connection, a: &IncomingAdaptation) -> Result<bool> {
    let n = conn
        .prepare_cached(
            "INSERT INTO incoming_adaptations (object_id, adopter, practice_id, practice_version,
                 adaptation_version, country, state, object, activity_id, received_ms,
                 updated_ms, deleted)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, 0)
             ON CONFLICT (object_id) DO UPDATE SET practice_id = excluded.practice_id,
                 practice_version = excluded.practice_version,
                 adaptation_version = excluded.adaptation_version,
                 country = excluded.country, state = excluded.state, object = excluded.object,
                 activity_id = excluded.activity_id, updated_ms = excluded.updated_ms
             WHERE incoming_adaptations.adopter = excluded.adopter
               AND incoming_adaptations.deleted = 0
               AND incoming_adaptations.adaptation_version <= excluded.adaptation_version",
        )?
        .execute(params![
            a.object_id,
            a.adopter,
            a.practice_id,
            a.practice_version,
            a.adaptation_version,
            a.country,
            a.state,
            a.object,
            a.activity_id,
            a.received_ms
        ])?;
    Ok(n > 0)
}

/// Marks an adaptation deleted by its adopter; `false` when unknown (or another adopter's).
pub fn delete_incoming(
    conn: &Connection,
    adopter: &str,
    object_id: &str,
    activity_id: &str,
    now_ms: i64,
) -> Result<bool> {
    let n = conn
        .prepare_cached(
            "UPDATE incoming_adaptations SET deleted = 1, activity_id = ?3, updated_ms = ?4
             WHERE object_id = ?2 AND adopter = ?1",
        )?
        .execute(params![adopter, object_id, activity_id, now_ms])?;
    Ok(n > 0)
}

/// The received adaptation `object_id`, if any.
pub fn incoming(conn: &Connection, object_id: &str) -> Result<Option<IncomingAdaptation>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM incoming_adaptations WHERE object_id = ?1"
        ))?
        .query_row(params![object_id], row)
        .optional()?)
}

/// Received adaptations, newest change first; deleted ones only when asked.
pub fn incoming_list(conn: &Connection, include_deleted: bool) -> Result<Vec<IncomingAdaptation>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM incoming_adaptations WHERE (?1 OR deleted = 0)
         ORDER BY updated_ms DESC, object_id"
    ))?;
    let rows = stmt.query_map(params![include_deleted], row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Records the countersignature of `object_id`; `false` when it was countersigned before
/// (the first one stays) or is unknown.
pub fn set_countersigned(conn: &Connection, object_id: &str, c: &Countersignature) -> Result<bool> {
    let n = conn
        .prepare_cached(
            "UPDATE incoming_adaptations SET countersign_index = ?2, attestation_id = ?3,
                 attestation_activity = ?4, countersigned_ms = ?5
             WHERE object_id = ?1 AND countersign_index IS NULL",
        )?
        .execute(params![
            object_id,
            to_i64(c.log_index, "index")?,
            c.attestation_id,
            c.activity_id,
            c.countersigned_ms
        ])?;
    Ok(n > 0)
}

/// Records that this organisation declined to countersign `object_id` (replacing an earlier
/// decline); `false` when it is unknown or already countersigned.
pub fn set_declined(conn: &Connection, object_id: &str, d: &Decline) -> Result<bool> {
    let n = conn
        .prepare_cached(
            "UPDATE incoming_adaptations SET declined_ms = ?2, declined_version = ?3,
                 decline_reason = ?4
             WHERE object_id = ?1 AND countersign_index IS NULL",
        )?
        .execute(params![object_id, d.declined_ms, d.version, d.reason])?;
    Ok(n > 0)
}

/// The ids of this node's evaluations whose subject is its adaptation `adaptation_id`.
pub fn evaluation_ids_of_adaptation(conn: &Connection, adaptation_id: &str) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT evaluation_id FROM evaluation_subjects WHERE adaptation_id = ?1
         ORDER BY evaluation_id",
    )?;
    let rows = stmt.query_map(params![adaptation_id], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<Vec<String>>>()?)
}

/// How many partners' evaluations (replicated, not deleted) evaluate the adaptation at
/// `adaptation_url`.
pub fn replicated_evaluations_of_adaptation(
    conn: &Connection,
    adaptation_url: &str,
) -> Result<u64> {
    let n: i64 = conn
        .prepare_cached(
            "SELECT count(*) FROM replica_objects
             WHERE kind = 'evaluation' AND deleted = 0
               AND json_extract(object, '$.evaluates.adaptation') = ?1",
        )?
        .query_row(params![adaptation_url], |r| r.get(0))?;
    Ok(to_u64(n, "count")?)
}

/// An attestation replicated from a partner's verified log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicatedAttestation {
    /// The attestation object's URL.
    pub object_id: String,
    /// The attesting partner.
    pub actor: String,
    /// The partner's log origin.
    pub origin: String,
    /// The attested adaptation's URL.
    pub attests: String,
    /// The attester's practice URL.
    pub practice: String,
    pub log_index: u64,
    pub activity_id: String,
}

/// Attestations in the node's replicas (not deleted), of `attests` only when given,
/// ordered by adaptation, then by log position.
pub fn replicated_attestations(
    conn: &Connection,
    attests: Option<&str>,
) -> Result<Vec<ReplicatedAttestation>> {
    let mut stmt = conn.prepare_cached(
        "SELECT o.object_id, o.actor, r.origin, json_extract(o.object, '$.attests'),
                json_extract(o.object, '$.practice'), o.log_index, o.activity_id
         FROM replica_objects o JOIN replicas r ON r.actor = o.actor
         WHERE o.kind = 'attestation' AND o.deleted = 0
           AND (?1 IS NULL OR json_extract(o.object, '$.attests') = ?1)
         ORDER BY 4, o.actor, o.log_index",
    )?;
    let rows = stmt.query_map(params![attests], |r| {
        Ok(ReplicatedAttestation {
            object_id: r.get(0)?,
            actor: r.get(1)?,
            origin: r.get(2)?,
            attests: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
            practice: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
            log_index: to_u64(r.get(5)?, "index")?,
            activity_id: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}
