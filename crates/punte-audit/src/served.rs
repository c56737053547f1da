//! What a node serves against what its log says (docs/protocol.md "What a node serves"): for
//! every practice, evaluation and adaptation the audited entries publish (and a coordinator's
//! membership list), the object of the latest activity for it is compared with what the node
//! serves at its id (AS2 JSON). A
//! difference, a refusal, or an object served after the log deleted it is `unlogged_change`,
//! naming the object and the entry. An incremental audit compares the objects its entries
//! touch.

use std::collections::BTreeMap;

use serde_json::Value;

use punte_protocol::jcs;
use punte_protocol::objects::MEMBERSHIP_PATH;
use punte_protocol::urls::{Collection, host_of};

use super::{FetchedEntry, FindingSeverity, ReportFinding, ServedObject};

/// Collections whose objects a node serves at their ids.
const SERVED: [Collection; 3] = [
    Collection::Practices,
    Collection::Evaluations,
    Collection::Adaptations,
];

/// The latest logged state of each object of the log `origin` (`HOST[:PORT]/punte-log`) the
/// entries publish, by object id: (where the audited node serves it — `source` with the
/// object's path below the node's base —, the entry index, the object or `None` once
/// deleted).
pub(super) fn logged_objects(
    source: &str,
    origin: &str,
    entries: &[FetchedEntry],
) -> BTreeMap<String, (String, u64, Option<Value>)> {
    let source = source.trim_end_matches('/');
    let host = origin.strip_suffix("/punte-log").unwrap_or(origin);
    let mut latest = BTreeMap::new();
    for e in entries {
        let Some(mut activity) = e
            .activity
            .as_deref()
            .and_then(|b| serde_json::from_slice::<Value>(b).ok())
        else {
            continue;
        };
        let kind = activity
            .get("type")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let Some(object) = activity.get_mut("object").map(Value::take) else {
            continue;
        };
        let Some(id) = object.get("id").and_then(Value::as_str).map(str::to_owned) else {
            continue;
        };
        // BASE/{collection}/{id} of this node (the base may have a path), or a
        // coordinator's BASE/membership
        let membership = id
            .strip_suffix(MEMBERSHIP_PATH)
            .filter(|base| host_of(base).as_deref() == Some(host))
            .map(|_| format!("{source}{MEMBERSHIP_PATH}"));
        let Some(fetch) = membership.or_else(|| {
            SERVED.iter().find_map(|c| {
                let segment = format!("/{}/", c.segment());
                let (base, rest) = id.rsplit_once(&segment)?;
                (host_of(base).as_deref() == Some(host) && !rest.is_empty() && !rest.contains('/'))
                    .then(|| format!("{source}{segment}{rest}"))
            })
        }) else {
            continue;
        };
        match kind.as_deref() {
            Some("Create" | "Update") => {
                latest.insert(id, (fetch, e.index, Some(object)));
            }
            Some("Delete") => {
                latest.insert(id, (fetch, e.index, None));
            }
            _ => {}
        }
    }
    latest
}

/// Canonical bytes of a served AS2 document without its `@context` (the logged object is
/// embedded in its activity, which carries the context).
fn canonical_object(body: &str) -> Option<Vec<u8>> {
    let mut value: Value = serde_json::from_str(body).ok()?;
    value.as_object_mut()?.remove("@context");
    jcs::canonicalize(&value).ok()
}

/// The findings of comparing `served` with the objects the entries of the log `origin` publish.
pub(super) fn findings(
    source: &str,
    origin: &str,
    entries: &[FetchedEntry],
    served: &[ServedObject],
) -> Vec<ReportFinding> {
    let logged = logged_objects(source, origin, entries);
    let mut out = Vec::new();
    for s in served {
        let Some((_, index, object)) = logged.get(&s.id) else {
            continue;
        };
        let problem = match (object, s.status, s.body.as_deref()) {
            (Some(object), 200, Some(body)) => {
                let expected = jcs::canonicalize(object).ok();
                (canonical_object(body) != expected).then(|| {
                    format!("the node serves another object than entry {index} of its log")
                })
            }
            (Some(_), 0, _) => Some(format!(
                "entry {index} of the log publishes it, the node did not serve it"
            )),
            (Some(_), status, _) => Some(format!(
                "entry {index} of the log publishes it, the node answers HTTP {status}"
            )),
            (None, 200, _) => Some(format!(
                "the log deleted it at entry {index}, the node still serves it"
            )),
            (None, _, _) => None,
        };
        if let Some(why) = problem {
            out.push(ReportFinding {
                severity: FindingSeverity::Error,
                kind: "unlogged_change".to_owned(),
                index: Some(*index),
                message: format!("{}: {why}", s.id),
                detail: serde_json::json!({"object": s.id, "entry": index, "status": s.status}),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn entry(index: u64, activity: Value) -> FetchedEntry {
        FetchedEntry {
            index,
            entry: Vec::new(),
            activity: Some(serde_json::to_vec(&activity).unwrap()),
        }
    }

    #[test]
    fn served_objects_are_compared_with_the_latest_logged_one() {
        let (source, origin) = ("http://127.0.0.1:9", "o.example/punte-log");
        let p = "https://o.example/practices/1";
        let entries = [
            entry(
                0,
                serde_json::json!({"type": "Create", "object": {"id": p, "v": 1}}),
            ),
            entry(
                1,
                serde_json::json!({"type": "Update", "object": {"id": p, "v": 2.0}}),
            ),
            entry(
                2,
                serde_json::json!({"type": "Create", "object": {"id": "https://other.example/practices/2"}}),
            ),
            entry(
                3,
                serde_json::json!({"type": "Create", "object": {"id": "https://o.example/practices/3"}}),
            ),
            entry(
                4,
                serde_json::json!({"type": "Delete", "object": {"id": "https://o.example/practices/3"}}),
            ),
        ];
        let served = |id: &str, status, body: Option<&str>| ServedObject {
            id: id.to_owned(),
            status,
            body: body.map(str::to_owned),
        };
        let ok = [
            served(
                p,
                200,
                Some(r#"{"@context": "x", "v": 2, "id": "https://o.example/practices/1"}"#),
            ),
            served("https://o.example/practices/3", 410, None),
        ];
        assert!(findings(source, origin, &entries, &ok).is_empty());
        let bad = [
            served(
                p,
                200,
                Some(r#"{"id": "https://o.example/practices/1", "v": 1}"#),
            ),
            served("https://o.example/practices/3", 200, Some("{}")),
        ];
        let found = findings(source, origin, &entries, &bad);
        let at: Vec<Option<u64>> = found.iter().map(|f| f.index).collect();
        assert_eq!(at, [Some(1), Some(4)]);
        assert!(found.iter().all(|f| f.kind == "unlogged_change"));
        let refused = [served(p, 500, None)];
        assert_eq!(findings(source, origin, &entries, &refused).len(), 1);
    }
}
