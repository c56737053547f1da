//! The signed history for people: the log's size, origin and latest checkpoint (the signed
//! note, its key, stapled cosignatures), a browser of entries newest first with a verification
//! badge each, and one entry with its checks, proof and activity JSON.
//!
//! The checks are the node's ([`punte_node::views`]): the entry signature with the key of the
//! key history valid at its index, the activity bytes against the entry's hash, and an RFC 9162
//! inclusion proof against the latest checkpoint's root. This module only shows them.

use actix_web::{HttpRequest, web};
use serde::Serialize;
use serde_json::Value as Json;

use punte_log::{EntryKind, KeyRotation, Redaction};
use punte_node::views::{
    CheckedEntries, CheckpointView, ContentCheck, EntryCheck, InclusionCheck, SignatureCheck,
};

use super::form::FormData;
use super::{Ctx, WebError, WebResult};

/// Entries per page of the entry browser.
pub const PAGE_SIZE: u64 = 25;

/// What an entry records, for lists: its activity's type and object.
#[derive(Debug, Clone, Serialize)]
pub struct ActivitySummary {
    /// `activity`, `keyRotation`, `redaction` or `membership`.
    pub kind: &'static str,
    /// The activity's `type` (`Create`, `Update`, `Delete`), when it is an activity.
    pub activity_type: Option<String>,
    /// The object's type (`Practice`, `Evaluation`, `Tombstone` of a `Practice`, …).
    pub object_type: Option<String>,
    /// The object's name in the reader's language when it has one.
    pub object_name: Option<String>,
    pub object_name_lang: Option<String>,
    pub object_id: Option<String>,
    /// For key rotations and redactions: what the payload says.
    pub note: Option<String>,
}

pub fn kind_name(kind: u8) -> &'static str {
    match EntryKind::from_byte(kind) {
        Ok(EntryKind::Activity) => "activity",
        Ok(EntryKind::KeyRotation) => "keyRotation",
        Ok(EntryKind::Redaction) => "redaction",
        Ok(EntryKind::Membership) => "membership",
        Err(_) => "unknown",
    }
}

fn type_of(value: Option<&Json>) -> Option<String> {
    match value? {
        Json::String(s) => Some(s.clone()),
        // Practices are `["Article", "Practice"]`: the Punte type says more.
        Json::Array(items) => items
            .iter()
            .filter_map(Json::as_str)
            .rfind(|t| *t != "Article")
            .or_else(|| items.iter().find_map(Json::as_str))
            .map(String::from),
        _ => None,
    }
}

/// The type, object and name of the activity bytes of an entry of `kind`.
pub fn summarise(kind: u8, bytes: Option<&[u8]>, want: &str) -> ActivitySummary {
    let mut out = ActivitySummary {
        kind: kind_name(kind),
        activity_type: None,
        object_type: None,
        object_name: None,
        object_name_lang: None,
        object_id: None,
        note: None,
    };
    let Some(bytes) = bytes else {
        return out;
    };
    match EntryKind::from_byte(kind) {
        Ok(EntryKind::KeyRotation) => {
            if let Ok(r) = KeyRotation::parse(bytes) {
                out.note = Some(base64_key(r.new_key.as_bytes()));
            }
        }
        Ok(EntryKind::Redaction) => {
            if let Ok(r) = Redaction::parse(bytes) {
                out.note = Some(format!("#{}: {}", r.index, r.reason));
            }
        }
        _ => {
            let Ok(activity) = serde_json::from_slice::<Json>(bytes) else {
                return out;
            };
            out.activity_type = type_of(activity.get("type"));
            match activity.get("object") {
                Some(Json::String(id)) => out.object_id = Some(id.clone()),
                Some(object @ Json::Object(_)) => {
                    out.object_id = object.get("id").and_then(Json::as_str).map(String::from);
                    out.object_type = match type_of(object.get("type")) {
                        Some(t) if t == "Tombstone" => type_of(object.get("formerType"))
                            .map(|f| f.trim_start_matches("punte:").to_string())
                            .or(Some(t)),
                        other => other,
                    };
                    let from_map = object
                        .get("nameMap")
                        .and_then(Json::as_object)
                        .and_then(|m| {
                            m.get(want)
                                .map(|v| (want.to_string(), v))
                                .or_else(|| m.iter().next().map(|(k, v)| (k.clone(), v)))
                        })
                        .and_then(|(lang, v)| v.as_str().map(|s| (lang, s.to_string())));
                    match from_map {
                        Some((lang, name)) => {
                            out.object_name = Some(name);
                            out.object_name_lang = Some(lang);
                        }
                        None => {
                            out.object_name =
                                object.get("name").and_then(Json::as_str).map(String::from);
                        }
                    }
                    // A membership list: its version and what it changed.
                    if let (Some(version), Some(change)) = (
                        object.get("version").and_then(Json::as_u64),
                        object.get("change"),
                    ) && out.object_type.as_deref() == Some("MembershipList")
                    {
                        let field = |k: &str| change.get(k).and_then(Json::as_str).unwrap_or("?");
                        out.object_name = Some(format!(
                            "v{version} · {} {}",
                            field("action"),
                            field("actor")
                        ));
                    }
                }
                _ => {}
            }
        }
    }
    out
}

fn base64_key(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Unix milliseconds as `2025-01-02 10:11:12 UTC`.
pub fn time_of(ms: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        Err(_) => ms.to_string(),
    }
}

/// One check as the page shows it: a state the template translates and a technical detail.
#[derive(Debug, Serialize)]
struct CheckView {
    /// `ok`, `failed`, `pending` or `redacted`.
    state: &'static str,
    detail: Option<String>,
}

#[derive(Debug, Serialize)]
struct EntryRow {
    index: u64,
    href: String,
    time: String,
    activity_id: String,
    summary: ActivitySummary,
    /// `verified`, `failed` or `pending`.
    badge: &'static str,
    signature: CheckView,
    content: CheckView,
    inclusion: CheckView,
}

fn row(check: &EntryCheck, want: &str) -> EntryRow {
    let s = &check.stored;
    let signature = match &check.signature {
        SignatureCheck::Verified(k) => CheckView {
            state: "ok",
            detail: Some(match k.seq {
                Some(seq) => format!("#{seq} {}", k.vkey),
                None => k.vkey.clone(),
            }),
        },
        SignatureCheck::Failed(why) => CheckView {
            state: "failed",
            detail: Some(why.clone()),
        },
    };
    let content = match &check.content {
        ContentCheck::Matches => CheckView {
            state: "ok",
            detail: check.entry.as_ref().map(|e| e.body.activity_hash.to_hex()),
        },
        ContentCheck::Redacted { reason, by } => CheckView {
            state: "redacted",
            detail: Some(match (reason, by) {
                (Some(r), Some(b)) => format!("{r} (#{b})"),
                (Some(r), None) => r.clone(),
                (None, Some(b)) => format!("#{b}"),
                (None, None) => String::new(),
            }),
        },
        ContentCheck::Mismatch => CheckView {
            state: "failed",
            detail: None,
        },
    };
    let inclusion = match &check.inclusion {
        InclusionCheck::Included { size, .. } => CheckView {
            state: "ok",
            detail: Some(size.to_string()),
        },
        InclusionCheck::NotYet { checkpoint_size } => CheckView {
            state: "pending",
            detail: Some(checkpoint_size.to_string()),
        },
        InclusionCheck::Failed(why) => CheckView {
            state: "failed",
            detail: Some(why.clone()),
        },
    };
    let badge = if check.verified() {
        "verified"
    } else if matches!(check.inclusion, InclusionCheck::NotYet { .. })
        && signature.state == "ok"
        && content.state != "failed"
    {
        "pending"
    } else {
        "failed"
    };
    EntryRow {
        index: s.index,
        href: format!("/history/{}", s.index),
        time: time_of(s.timestamp_ms),
        activity_id: s.activity_id.clone(),
        summary: summarise(s.kind, s.activity.as_deref(), want),
        badge,
        signature,
        content,
        inclusion,
    }
}

#[derive(Debug, Serialize)]
struct CheckpointPage {
    note: String,
    size: Option<u64>,
    root: Option<String>,
    origin: Option<String>,
    verified: bool,
    signer_vkey: Option<String>,
    signer_key_id: Option<String>,
    signer_seq: Option<u64>,
    failure: Option<String>,
    cosignatures: Vec<(String, String, Option<String>)>,
}

fn checkpoint_page(c: &CheckpointView) -> CheckpointPage {
    let (verified, signer, failure) = match &c.signature {
        Ok(s) => (true, Some(s), None),
        Err(e) => (false, None, Some(e.clone())),
    };
    CheckpointPage {
        note: c.note.clone(),
        size: c.checkpoint.as_ref().map(|c| c.size),
        root: c.checkpoint.as_ref().map(|c| c.root.to_base64()),
        origin: c.checkpoint.as_ref().map(|c| c.origin.clone()),
        verified,
        signer_vkey: signer.map(|s| s.vkey.clone()),
        signer_key_id: signer.map(|s| format!("{:08x}", s.key_id)),
        signer_seq: signer.and_then(|s| s.seq),
        failure,
        cosignatures: c
            .cosignatures
            .iter()
            .map(|s| {
                (
                    s.name.clone(),
                    format!("{:08x}", s.key_id),
                    s.timestamp
                        .and_then(|t| i64::try_from(t).ok())
                        .map(|t| time_of(t.saturating_mul(1000))),
                )
            })
            .collect(),
    }
}

#[derive(Debug, Serialize)]
struct KeyRow {
    seq: u64,
    valid_from: u64,
    retired_at: Option<u64>,
}

#[derive(Debug, Serialize)]
struct HistoryPage {
    origin: String,
    size: u64,
    checkpoint: CheckpointPage,
    keys: Vec<KeyRow>,
    entries: Vec<EntryRow>,
    /// The range shown, 1-based for people: entries `first..=last` (indexes).
    first: Option<u64>,
    last: Option<u64>,
    newer_href: Option<String>,
    older_href: Option<String>,
    newest_href: Option<String>,
}

/// `GET /history?before=N`: the checkpoint and entries `N-25..N`, newest first.
pub async fn show(req: HttpRequest) -> WebResult {
    let ctx = Ctx::load(&req).await?;
    let query = FormData::parse(req.query_string());
    let before = query.get("before").parse::<u64>().ok();
    let checked: CheckedEntries = ctx
        .fetch(move |n| {
            let size = n.log_size()?;
            let end = before.unwrap_or(size).min(size);
            n.log_checked_entries(end.saturating_sub(PAGE_SIZE), end)
        })
        .await?;
    let want = ctx.lang.code();
    let end = before.unwrap_or(checked.size).min(checked.size);
    let start = end.saturating_sub(PAGE_SIZE);
    let page = HistoryPage {
        origin: checked.origin.clone(),
        size: checked.size,
        checkpoint: checkpoint_page(&checked.checkpoint),
        keys: checked
            .keys
            .iter()
            .map(|k| KeyRow {
                seq: k.seq,
                valid_from: k.valid_from,
                retired_at: k.retired_at,
            })
            .collect(),
        entries: checked.entries.iter().rev().map(|e| row(e, want)).collect(),
        first: (start < end).then_some(start),
        last: end.checked_sub(1).filter(|_| start < end),
        newer_href: (end < checked.size).then(|| {
            let newer = end.saturating_add(PAGE_SIZE);
            if newer >= checked.size {
                "/history#entries".to_string()
            } else {
                format!("/history?before={newer}#entries")
            }
        }),
        older_href: (start > 0).then(|| format!("/history?before={start}#entries")),
        newest_href: (end.saturating_add(PAGE_SIZE) < checked.size)
            .then(|| "/history#entries".to_string()),
    };
    ctx.render("history.html", "history", &page).await
}

#[derive(Debug, Serialize)]
struct EntryPage {
    row: EntryRow,
    size: u64,
    origin: Option<String>,
    prev_root: Option<String>,
    activity_hash: Option<String>,
    leaf_hash: Option<String>,
    signer: Option<String>,
    signature: Option<String>,
    proof: Vec<String>,
    proof_size: Option<u64>,
    /// The activity pretty-printed when it is JSON, else the payload text.
    activity: Option<String>,
    activity_is_json: bool,
    activity_href: Option<String>,
    entries_href: String,
    proof_href: Option<String>,
    previous_href: Option<String>,
    next_href: Option<String>,
}

/// `GET /history/{index}`: one entry, its three checks, its proof and its activity.
pub async fn entry(req: HttpRequest, path: web::Path<String>) -> WebResult {
    let ctx = Ctx::load(&req).await?;
    let index = path
        .parse::<u64>()
        .map_err(|_| WebError::not_found(ctx.lang))?;
    let checked = ctx
        .fetch(move |n| n.log_checked_entries(index, index.saturating_add(1)))
        .await?;
    let Some(check) = checked.entries.first() else {
        return Err(WebError::not_found(ctx.lang));
    };
    let body = check.entry.as_ref().map(|e| &e.body);
    let (activity, activity_is_json) = match &check.stored.activity {
        None => (None, false),
        Some(bytes) => match serde_json::from_slice::<Json>(bytes) {
            Ok(v) => (serde_json::to_string_pretty(&v).ok(), true),
            Err(_) => (Some(String::from_utf8_lossy(bytes).into_owned()), false),
        },
    };
    let activity_href = match (activity_is_json, &check.stored.activity) {
        (true, Some(_)) => Some(check.stored.activity_id.clone()),
        _ => None,
    };
    let (proof, proof_size) = match &check.inclusion {
        InclusionCheck::Included { size, proof } => {
            (proof.iter().map(|h| h.to_base64()).collect(), Some(*size))
        }
        _ => (Vec::new(), None),
    };
    let page = EntryPage {
        size: checked.size,
        origin: body.map(|b| b.origin.clone()),
        prev_root: body.map(|b| b.prev_root.to_base64()),
        activity_hash: body.map(|b| b.activity_hash.to_hex()),
        leaf_hash: check.entry.as_ref().map(|e| e.leaf_hash().to_base64()),
        signer: body.map(|b| base64_key(&b.signer)),
        signature: check.entry.as_ref().map(|e| base64_key(&e.signature)),
        proof,
        proof_size,
        activity,
        activity_is_json,
        activity_href: activity_href.filter(|h| h.starts_with("http")),
        entries_href: format!("/log/entries?start={index}&end={}", index + 1),
        proof_href: proof_size.map(|s| format!("/log/proof/inclusion?index={index}&size={s}")),
        previous_href: index.checked_sub(1).map(|i| format!("/history/{i}")),
        next_href: (index + 1 < checked.size).then(|| format!("/history/{}", index + 1)),
        row: row(check, ctx.lang.code()),
    };
    ctx.render("history_entry.html", "history", &page).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activities_are_summarised_by_type_object_and_name() {
        let create = serde_json::json!({
            "type": "Create",
            "object": {"id": "https://n.example/practices/1", "type": ["Article", "Practice"],
                        "name": "Club", "nameMap": {"ro": "Clubul", "en": "Club"}}
        });
        let bytes = serde_json::to_vec(&create).unwrap_or_default();
        let s = summarise(1, Some(&bytes), "ro");
        assert_eq!(s.activity_type.as_deref(), Some("Create"));
        assert_eq!(s.object_type.as_deref(), Some("Practice"));
        assert_eq!(s.object_name.as_deref(), Some("Clubul"));
        assert_eq!(s.object_name_lang.as_deref(), Some("ro"));

        let delete = serde_json::json!({
            "type": "Delete",
            "object": {"id": "https://n.example/practices/1", "type": "Tombstone",
                        "formerType": "punte:Practice"}
        });
        let bytes = serde_json::to_vec(&delete).unwrap_or_default();
        let s = summarise(1, Some(&bytes), "en");
        assert_eq!(s.object_type.as_deref(), Some("Practice"));
        assert_eq!(s.object_name, None);

        let redaction = b"punte-redaction/v1\nindex 3\nreason erasure request\n";
        let s = summarise(3, Some(redaction), "en");
        assert_eq!(s.kind, "redaction");
        assert_eq!(s.note.as_deref(), Some("#3: erasure request"));
        assert_eq!(summarise(1, None, "en").activity_type, None);
    }

    #[test]
    fn times_are_shown_in_utc_to_the_second() {
        assert_eq!(time_of(1_735_812_672_123), "2025-01-02 10:11:12 UTC");
    }
}
