//! The signed history end to end: every change through the API appends a verifiable entry and
//! a checkpoint; proofs, redaction, key rotation and failed changes behave as documented.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::VerifyingKey;
use reqwest::Method;
use serde_json::{Value, json};

use punte_log::checkpoint::open_checkpoint;
use punte_log::tree::{parse_proof, verify_consistency, verify_inclusion};
use punte_log::{Checkpoint, EntryKind, Hash, NoteVerifier, Redaction, SignedEntry};

use crate::support::{
    TestNode, evaluation_json, indicator_json, practice_json, spawn_node, spawn_node_with,
};

/// One served entry, decoded.
struct Served {
    entry: SignedEntry,
    activity: Option<Vec<u8>>,
}

async fn text(node: &TestNode, path: &str) -> (u16, String) {
    let res = node
        .client
        .get(format!("{}{path}", node.base))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.text().await.unwrap())
}

async fn verifiers(node: &TestNode) -> Vec<NoteVerifier> {
    let (status, body) = text(node, "/log/key").await;
    assert_eq!(status, 200);
    body.lines()
        .map(|l| NoteVerifier::parse(l).unwrap())
        .collect()
}

async fn checkpoint(node: &TestNode) -> Checkpoint {
    let (status, note) = text(node, "/log/checkpoint").await;
    assert_eq!(status, 200, "{note}");
    open_checkpoint(note.as_bytes(), &verifiers(node).await, &[])
        .unwrap()
        .checkpoint
}

async fn entries(node: &TestNode, start: u64, end: u64) -> Vec<Served> {
    let page = node
        .get(&format!("/log/entries?start={start}&end={end}"))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.body["start"], start);
    page.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| Served {
            entry: SignedEntry::decode(&BASE64.decode(e["entry"].as_str().unwrap()).unwrap())
                .unwrap(),
            activity: e["activity"].as_str().map(|a| BASE64.decode(a).unwrap()),
        })
        .collect()
}

/// Checks every entry the way an auditor would and returns them: signatures under the key
/// valid at each index, `prev_root` chain, activity hashes, and the checkpoint root.
async fn check_log(node: &TestNode) -> Vec<Served> {
    let cp = checkpoint(node).await;
    let keys: Vec<VerifyingKey> = verifiers(node)
        .await
        .iter()
        .map(|v| *v.public_key())
        .collect();
    let served = if cp.size == 0 {
        Vec::new()
    } else {
        entries(node, 0, cp.size).await
    };
    assert_eq!(served.len() as u64, cp.size);
    let mut tree = punte_log::CompactTree::new();
    let mut key = 0;
    for (i, s) in served.iter().enumerate() {
        let body = &s.entry.body;
        assert_eq!(body.index, i as u64);
        assert_eq!(body.origin, cp.origin);
        assert_eq!(body.prev_root, tree.root(), "prev_root of entry {i}");
        s.entry.verify(&keys[key]).unwrap();
        if let Some(bytes) = &s.activity {
            assert_eq!(punte_log::sha256(bytes), body.activity_hash, "entry {i}");
        }
        if body.kind == EntryKind::KeyRotation {
            let rotation = punte_log::KeyRotation::parse(s.activity.as_ref().unwrap()).unwrap();
            key += 1;
            assert_eq!(rotation.new_key, keys[key]);
        }
        tree.append(s.entry.leaf_hash());
    }
    assert_eq!(tree.root(), cp.root, "checkpoint root = recomputed root");
    served
}

fn activity_json(s: &Served) -> Value {
    serde_json::from_slice(s.activity.as_ref().unwrap()).unwrap()
}

#[tokio::test]
async fn every_api_change_appends_a_signed_entry_and_a_checkpoint() {
    let node = spawn_node().await;
    assert_eq!(checkpoint(&node).await.size, 0);
    let mut expected = 0;
    let mut step = async |answer: crate::support::Answer, want: u16| {
        assert_eq!(answer.status, want, "{}", answer.body);
        expected += 1;
        assert_eq!(checkpoint(&node).await.size, expected);
        answer
    };
    let indicator = step(node.post("/api/v1/indicators", indicator_json()).await, 201).await;
    drop(indicator);
    let practice = step(node.post("/api/v1/practices", practice_json()).await, 201).await;
    let id = practice.body["id"].as_str().unwrap().to_string();
    let mut edited = practice.body.clone();
    edited["maturity"] = json!("good");
    let path = format!("/api/v1/practices/{id}");
    step(
        node.send(Method::PUT, &path, Some(&node.editor), Some(edited))
            .await,
        200,
    )
    .await;
    step(
        node.post("/api/v1/evaluations", evaluation_json(&id)).await,
        201,
    )
    .await;
    let organisation =
        json!({"name": {"ro": "Asociația Punte"}, "country": "RO", "languages": ["ro", "en"]});
    step(
        node.send(
            Method::PUT,
            "/api/v1/organisation",
            Some(&node.admin),
            Some(organisation),
        )
        .await,
        200,
    )
    .await;
    step(
        node.send(Method::DELETE, &path, Some(&node.editor), None)
            .await,
        204,
    )
    .await;

    let served = check_log(&node).await;
    let types: Vec<String> = served
        .iter()
        .map(|s| activity_json(s)["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        types,
        ["Create", "Create", "Update", "Create", "Update", "Delete"]
    );
    let identity = *verifiers(&node).await[0].public_key();
    for s in &served {
        let activity = activity_json(s);
        // the stored bytes are the JCS form, signed with the node key
        assert_eq!(
            punte_protocol::jcs::canonicalize(&activity).unwrap(),
            *s.activity.as_ref().unwrap()
        );
        let proof = punte_protocol::proof::verify(&activity, |vm| {
            (vm == format!("{}/actor#ed25519-key", node.base)).then_some(identity)
        })
        .unwrap();
        assert_eq!(proof.proof_purpose, "assertionMethod");
        assert_eq!(activity["actor"], format!("{}/actor", node.base));
        let activity_id = activity["id"].as_str().unwrap();
        assert_eq!(s.entry.body.activity_id, activity_id);
        // served on its own as the exact bytes
        let uuid = activity_id.rsplit('/').next().unwrap();
        let res = node
            .client
            .get(format!("{}/activities/{uuid}", node.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.headers()["content-type"], "application/activity+json");
        assert_eq!(res.bytes().await.unwrap(), *s.activity.as_ref().unwrap());
    }
    let deleted = activity_json(&served[5]);
    assert_eq!(deleted["object"]["type"], "Tombstone");
    assert_eq!(
        deleted["object"]["id"],
        format!("{}/practices/{id}", node.base)
    );

    // the outbox is the same log, newest first
    let outbox = node.get("/outbox").await;
    assert_eq!(outbox.body["type"], "OrderedCollection");
    assert_eq!(outbox.body["totalItems"], 6);
    let first = outbox.body["first"].as_str().unwrap().to_string();
    let page = TestNode::answer(node.client.get(&first)).await;
    assert_eq!(page.body["type"], "OrderedCollectionPage");
    let items = page.body["orderedItems"].as_array().unwrap();
    assert_eq!(items.len(), 6);
    for (item, s) in items.iter().zip(served.iter().rev()) {
        assert_eq!(*item, activity_json(s));
    }
    assert!(page.body["next"].is_null() && page.body["prev"].is_null());
    assert_eq!(node.get("/outbox?page=2").await.status, 404);
}

#[tokio::test]
async fn served_inclusion_and_consistency_proofs_verify() {
    let node = spawn_node().await;
    for _ in 0..6 {
        assert_eq!(
            node.post("/api/v1/practices", practice_json()).await.status,
            201
        );
    }
    let served = check_log(&node).await;
    let leaves: Vec<Hash> = served.iter().map(|s| s.entry.leaf_hash()).collect();
    let roots: Vec<Hash> = (0..=leaves.len())
        .map(|n| punte_log::subtree_root(&leaves[..n]))
        .collect();
    for size in 1..=leaves.len() as u64 {
        for index in 0..size {
            let (status, body) = text(
                &node,
                &format!("/log/proof/inclusion?index={index}&size={size}"),
            )
            .await;
            assert_eq!(status, 200, "{body}");
            let proof = parse_proof(&body).unwrap();
            verify_inclusion(
                &leaves[index as usize],
                index,
                size,
                &proof,
                &roots[size as usize],
            )
            .unwrap();
        }
        for old in 0..=size {
            let (status, body) = text(
                &node,
                &format!("/log/proof/consistency?old={old}&new={size}"),
            )
            .await;
            assert_eq!(status, 200, "{body}");
            let proof = parse_proof(&body).unwrap();
            verify_consistency(
                old,
                size,
                &roots[old as usize],
                &roots[size as usize],
                &proof,
            )
            .unwrap();
        }
    }
    for bad in [
        "/log/proof/inclusion?index=6&size=6",
        "/log/proof/inclusion?index=0&size=7",
        "/log/proof/inclusion?index=0",
        "/log/proof/inclusion?index=-1&size=2",
        "/log/proof/consistency?old=3&new=2",
        "/log/proof/consistency?old=1&new=9",
        "/log/entries?start=2&end=2",
        "/log/entries?start=0&end=7",
        "/log/entries?start=0&end=2&extra=1",
    ] {
        let answer = node.get(bad).await;
        assert_eq!(answer.status, 400, "{bad}: {}", answer.body);
        assert!(answer.is_problem(), "{bad}");
    }
}

#[tokio::test]
async fn a_failing_change_leaves_the_log_unchanged() {
    let node = spawn_node().await;
    assert_eq!(
        node.post("/api/v1/practices", practice_json()).await.status,
        201
    );
    let before = checkpoint(&node).await;
    let mut invalid = practice_json();
    invalid["country"] = json!("XX");
    assert_eq!(node.post("/api/v1/practices", invalid).await.status, 422);
    // an evaluation naming an indicator that does not exist fails inside the transaction
    let practice = node.post("/api/v1/practices", practice_json()).await;
    let after_practice = checkpoint(&node).await;
    assert_eq!(after_practice.size, before.size + 1);
    let id = practice.body["id"].as_str().unwrap();
    let answer = node.post("/api/v1/evaluations", evaluation_json(id)).await;
    assert_eq!(answer.status, 422, "{}", answer.body);
    let missing = node
        .send(
            Method::DELETE,
            "/api/v1/practices/0190aaaa-0000-7000-8000-000000000000",
            Some(&node.editor),
            None,
        )
        .await;
    assert_eq!(missing.status, 404);
    assert_eq!(checkpoint(&node).await, after_practice);
    check_log(&node).await;
}

/// Records the test indicator, a practice and an evaluation of it whose second value
/// describes 3 people; answers the created evaluation.
async fn evaluation_with_a_cell_of_3(node: &TestNode) -> crate::support::Answer {
    assert_eq!(
        node.post("/api/v1/indicators", indicator_json())
            .await
            .status,
        201
    );
    let practice = node.post("/api/v1/practices", practice_json()).await;
    let mut evaluation = evaluation_json(practice.body["id"].as_str().unwrap());
    evaluation["values"][1]["n"] = json!(3);
    let created = node.post("/api/v1/evaluations", evaluation).await;
    assert_eq!(created.status, 201, "{}", created.body);
    created
}

#[tokio::test]
async fn a_published_evaluation_has_small_cells_suppressed_and_the_stored_one_does_not() {
    let node = spawn_node().await;
    let created = evaluation_with_a_cell_of_3(&node).await;
    // stored raw
    assert_eq!(created.body["values"][1]["actual"], 11.0);
    assert_eq!(created.body["values"][1]["n"], 3);

    let served = check_log(&node).await;
    let activity = activity_json(served.last().unwrap());
    assert_eq!(activity["type"], "Create");
    let text = activity["object"].to_string();
    assert!(
        !text.contains("11.0") && !text.contains(":11,") && !text.contains(":11}"),
        "{text}"
    );
    assert!(text.contains("\"suppressed\":\"primary\""), "{text}");
}

#[tokio::test]
async fn redaction_erases_the_bytes_keeps_the_entry_and_the_tree_valid() {
    let node = spawn_node().await;
    for _ in 0..3 {
        assert_eq!(
            node.post("/api/v1/practices", practice_json()).await.status,
            201
        );
    }
    let before = check_log(&node).await;
    let activity_id = before[1].entry.body.activity_id.clone();
    let at = node
        .node
        .redact(1, "personal data, erased on request")
        .unwrap();
    assert_eq!(at, 3);

    let after = check_log(&node).await;
    assert_eq!(after.len(), 4);
    assert!(after[1].activity.is_none(), "the bytes are gone");
    assert_eq!(after[1].entry, before[1].entry, "the entry stays");
    assert_eq!(after[3].entry.body.kind, EntryKind::Redaction);
    let redaction = Redaction::parse(after[3].activity.as_ref().unwrap()).unwrap();
    assert_eq!(redaction.index, 1);
    assert_eq!(redaction.reason, "personal data, erased on request");

    let uuid = activity_id.rsplit('/').next().unwrap();
    assert_eq!(node.get(&format!("/activities/{uuid}")).await.status, 410);
    assert_eq!(node.get("/outbox").await.body["totalItems"], 2);
    // not twice, and not a redaction entry
    assert!(node.node.redact(1, "again").is_err());
    assert!(node.node.redact(3, "no").is_err());
    assert_eq!(checkpoint(&node).await.size, 4);

    // the whole log audits clean with punte-log's auditor
    let keys = verifiers(&node).await;
    let cp_note = text(&node, "/log/checkpoint").await.1;
    let audit_entries: Vec<(Vec<u8>, Option<Vec<u8>>)> = after
        .iter()
        .map(|s| (s.entry.encode(), s.activity.clone()))
        .collect();
    let list: Vec<punte_log::AuditEntry<'_>> = audit_entries
        .iter()
        .map(|(e, a)| punte_log::AuditEntry {
            entry: e,
            activity: match a {
                Some(bytes) => punte_log::ActivityBytes::Present(bytes),
                None => punte_log::ActivityBytes::Erased,
            },
        })
        .collect();
    let origin = keys[0].name().to_string();
    let config = punte_log::AuditConfig {
        origin: &origin,
        start: punte_log::AuditState::genesis(*keys[0].public_key()),
        log_keys: &[],
        witness_keys: &[],
        timestamp_tolerance_ms: 0,
        parallelism: 1,
    };
    let report = punte_log::audit(&config, &list, &[cp_note.as_bytes()]);
    assert!(report.is_clean(), "{:?}", report.findings);
    assert!(
        report
            .findings
            .iter()
            .any(|f| matches!(f, punte_log::Finding::Redacted { index: 1, .. }))
    );
}

#[tokio::test]
async fn after_a_key_rotation_old_entries_verify_with_the_old_key_and_new_ones_with_the_new() {
    let node = spawn_node().await;
    assert_eq!(
        node.post("/api/v1/practices", practice_json()).await.status,
        201
    );
    let old = verifiers(&node).await;
    assert_eq!(old.len(), 1);
    let rotated = node.node.rotate_identity_key().unwrap();
    assert_eq!(rotated.index, 1);
    assert!(
        rotated
            .retired_file
            .ends_with("keys/retired/identity-1.ed25519.pem")
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&rotated.retired_file)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert_eq!(
        node.post("/api/v1/practices", practice_json()).await.status,
        201
    );
    let keys = verifiers(&node).await;
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0], old[0]);
    assert_eq!(keys[1].to_vkey(), rotated.new_vkey);
    let served = check_log(&node).await;
    assert_eq!(served.len(), 3);
    assert_eq!(served[1].entry.body.kind, EntryKind::KeyRotation);
    // the rotation entry is signed by the old key, the entry after it by the new one
    served[0].entry.verify(old[0].public_key()).unwrap();
    served[1].entry.verify(old[0].public_key()).unwrap();
    assert!(served[2].entry.verify(old[0].public_key()).is_err());
    served[2].entry.verify(keys[1].public_key()).unwrap();
    // the latest checkpoint is signed by the new key
    let note = text(&node, "/log/checkpoint").await.1;
    assert!(open_checkpoint(note.as_bytes(), &keys[1..], &[]).is_ok());
    assert!(open_checkpoint(note.as_bytes(), &keys[..1], &[]).is_err());
    // and the new activity's proof is made with the new key
    let activity = activity_json(&served[2]);
    punte_protocol::proof::verify(&activity, |_| Some(*keys[1].public_key())).unwrap();
}

/// Issue #13, 8: `punte audit` checks every published evaluation against the disclosure rule
/// and names a node that publishes small cells (here one configured with k = 1, so its log is
/// validly signed but shows a group of 3).
#[tokio::test]
async fn the_audit_names_a_node_that_publishes_small_cells() {
    let (careful, careless) = tokio::join!(spawn_node(), spawn_node_with(|c| c.disclosure.k = 1));
    for node in [&careful, &careless] {
        evaluation_with_a_cell_of_3(node).await;
    }
    let good = audit_of(&careful).await;
    assert!(good.clean, "{:?}", good.findings);
    let bad = audit_of(&careless).await;
    assert!(!bad.clean);
    let violations: Vec<_> = bad
        .findings
        .iter()
        .filter(|f| f.kind == "disclosure_violation")
        .collect();
    assert_eq!(violations.len(), 1, "{:?}", bad.findings);
    assert_eq!(violations[0].detail["value"], 1);
    assert_eq!(violations[0].detail["reason"]["rule"], "belowThreshold");
    assert!(
        violations[0].message.contains("fewer than k people"),
        "{}",
        violations[0].message
    );
}

pub(crate) async fn audit_of(node: &TestNode) -> punte_audit::Report {
    use punte_audit::{AuditRequest, Crawler, FetchOptions, NoProgress, verify};
    let request = AuditRequest {
        base_url: node.base.clone(),
        pinned: verifiers(node).await,
        witnesses: Vec::new(),
        since: None,
        fetched_at: "2026-12-07T00:00:00Z".to_owned(),
        timestamp_tolerance_ms: punte_audit::DEFAULT_TIMESTAMP_TOLERANCE_MS,
        disclosure_k: 5,
    };
    let crawler = Crawler::new(FetchOptions::default()).unwrap();
    let evidence = crawler.collect(&request, &NoProgress).await.unwrap();
    verify(&evidence, 1).unwrap().report
}
