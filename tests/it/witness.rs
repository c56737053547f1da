//! Witnessing between Punte nodes in-process (docs/protocol.md §6): cosignatures flow to the
//! node and are stapled to its checkpoint, the witness policy is met, the witness endpoint
//! answers the codes of C2SP tlog-witness, a forked node is caught with evidence that
//! re-verifies offline, and a node restored from an old backup refuses to append.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::Path;

use ed25519_dalek::SigningKey;
use reqwest::Method;
use serde_json::{Value, json};

use punte_audit::network::{NetworkEvidence, NetworkRequest, network_audit, verify_evidence};
use punte_log::checkpoint::{Checkpoint, open_checkpoint};
use punte_log::note::{KeyType, Note, NoteSigner, NoteVerifier};
use punte_log::tree::parse_proof;
use punte_node::publish::Verb;
use punte_node::witness::format_add_checkpoint;
use punte_node::{Node, NodeSettings};

use crate::support::{
    TestNode, admin, bind_retrying, eventually, follow, partner, partner_with, practice_json,
    replica_when, start, test_config,
};

async fn status(node: &TestNode) -> Value {
    admin(node, Method::GET, "/api/v1/witness/status", None).await
}

/// Waits until the latest checkpoint of `node` has `n` cosignatures.
async fn cosigned(node: &TestNode, n: usize) -> Value {
    let size = node.node.log_size().unwrap();
    eventually(30, "cosignatures of the latest checkpoint", || async {
        let s = status(node).await;
        (s["size"] == size && s["cosignatures"].as_array().unwrap().len() >= n).then_some(s)
    })
    .await
}

async fn text(node: &TestNode, path: &str) -> String {
    let res = node
        .client
        .get(format!("{}{path}", node.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{path}");
    res.text().await.unwrap()
}

async fn witness_key(node: &TestNode) -> NoteVerifier {
    NoteVerifier::parse(text(node, "/witness/key").await.trim()).unwrap()
}

async fn log_keys(node: &TestNode) -> Vec<NoteVerifier> {
    text(node, "/log/key")
        .await
        .lines()
        .map(|l| NoteVerifier::parse(l).unwrap())
        .collect()
}

/// POSTs an add-checkpoint body to `witness`: (status, content type, body).
async fn submit(witness: &TestNode, body: String) -> (u16, String, String) {
    let res = witness
        .client
        .post(format!("{}/witness/add-checkpoint", witness.base))
        .header("Content-Type", "text/plain")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let ct = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, ct, res.text().await.unwrap())
}

async fn create_practice(node: &TestNode) {
    let a = node.post("/api/v1/practices", practice_json()).await;
    assert_eq!(a.status, 201, "{}", a.body);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A consistent copy of a running node's data directory (database and keys) in `to`.
fn backup(node: &TestNode, to: &Path) {
    let data = to.join("data");
    std::fs::create_dir_all(&data).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    node.node
        .store()
        .backup(&data.join(punte_node::DATABASE_FILE))
        .unwrap();
    copy_dir(
        &node.node.settings().data_dir.join(punte_node::KEYS_DIR),
        &data.join(punte_node::KEYS_DIR),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cosignatures_flow_are_stapled_and_meet_the_policy() {
    let a = partner("RO").await;
    let b = partner("IT").await;
    let c = partner("DE").await;
    follow(&b, &a).await;
    follow(&c, &a).await;
    create_practice(&a).await;
    let s = cosigned(&a, 2).await;
    assert_eq!(s["meetsPolicy"], true, "{s}");
    assert_eq!(s["countries"], json!(["DE", "IT"]), "{s}");
    assert_eq!(
        s["policy"],
        json!({"minCosignatures": 2, "distinctCountries": 2})
    );
    assert!(s["refusingAppends"].is_null());

    // The served checkpoint carries both cosignatures, each verifying with its witness key.
    let note = text(&a, "/log/checkpoint").await;
    let opened = open_checkpoint(
        note.as_bytes(),
        &log_keys(&a).await,
        &[witness_key(&b).await, witness_key(&c).await],
    )
    .unwrap();
    assert_eq!(opened.cosigners.len(), 2, "{note}");
    assert_eq!(opened.checkpoint.size, a.node.log_size().unwrap());

    // Each witness serves what it cosigned for A's origin.
    let origin = a.node.log_origin().unwrap();
    let seen = b
        .client
        .get(format!("{}/witness/checkpoints", b.base))
        .query(&[("origin", origin.as_str())])
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(seen["items"][0]["origin"], origin.as_str());
    assert_eq!(seen["items"][0]["size"], opened.checkpoint.size);

    // The next change is cosigned too; the node lists its witnesses publicly.
    create_practice(&a).await;
    cosigned(&a, 2).await;
    let listed: Value = a
        .client
        .get(format!("{}/log/witnesses", a.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 2, "{listed}");

    // A policy asking for more than there is is not met.
    let strict = a
        .node
        .witness_status(punte_node::witness::WitnessPolicy {
            min_cosignatures: 3,
            distinct_countries: 2,
        })
        .unwrap();
    assert!(!strict.meets_policy);

    // The network audit finds the node and its witnesses in agreement.
    let report = network_audit(&audit_request(&a, Vec::new()).await)
        .await
        .unwrap();
    assert!(
        report
            .findings
            .iter()
            .all(|f| f.severity == punte_audit::FindingSeverity::Info),
        "{:?}",
        report.findings
    );
    assert_eq!(report.witnesses.len(), 2);
    assert!(report.evidence.is_none());
}

async fn audit_request(node: &TestNode, witnesses: Vec<String>) -> NetworkRequest {
    NetworkRequest {
        base_url: node.base.clone(),
        log_keys: log_keys(node).await,
        witnesses,
        partners: Some(Vec::new()),
        stale_after_secs: 3600,
        now_secs: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
        fetched_at: "2025-01-01T00:00:00Z".to_owned(),
        timeout: std::time::Duration::from_secs(10),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_witness_endpoint_answers_the_codes_of_the_spec() {
    let a = partner("RO").await;
    let b = partner("IT").await;
    follow(&b, &a).await;
    create_practice(&a).await;
    cosigned(&a, 1).await;
    let size = a.node.log_size().unwrap();
    let origin = a.node.log_origin().unwrap();
    let note = a
        .node
        .store()
        .read(punte_store::log::latest_checkpoint)
        .unwrap()
        .unwrap()
        .1;
    let bkey = witness_key(&b).await;
    assert_eq!(bkey.key_type(), KeyType::CosignatureV1);

    // Resubmitting what was cosigned is cosigned again.
    let (status, _, lines) = submit(&b, format_add_checkpoint(size, &[], &note)).await;
    assert_eq!(status, 200, "{lines}");
    let both = format!("{note}{lines}");
    let opened = open_checkpoint(both.as_bytes(), &log_keys(&a).await, &[bkey]).unwrap();
    assert_eq!(opened.cosigners.len(), 1);

    // A stale old size: 409 with the size cosigned last.
    let (status, ct, body) = submit(&b, format_add_checkpoint(0, &[], &note)).await;
    assert_eq!(
        (status, ct.as_str(), body),
        (409, "text/x.tlog.size", format!("{size}\n"))
    );

    // Malformed bodies and an old size above the checkpoint: 400.
    assert_eq!(submit(&b, "old 1\n".to_owned()).await.0, 400);
    assert_eq!(
        submit(&b, format_add_checkpoint(size + 1, &[], &note))
            .await
            .0,
        400
    );

    // An origin B does not follow: 404; A's origin signed by another key: 403.
    let stranger = SigningKey::from_bytes(&[7; 32]);
    let sign = |origin: &str, size: u64, key: &SigningKey| {
        let signer = NoteSigner::new(origin, KeyType::Ed25519, key.clone()).unwrap();
        Checkpoint::new(origin, size, punte_log::Hash([3; 32]))
            .sign(&signer)
            .unwrap()
    };
    let unknown = sign("nobody.example/punte-log", 5, &stranger);
    assert_eq!(
        submit(&b, format_add_checkpoint(0, &[], &unknown)).await.0,
        404
    );
    let forged = sign(&origin, size + 1, &stranger);
    assert_eq!(
        submit(&b, format_add_checkpoint(size, &[], &forged))
            .await
            .0,
        403
    );

    // A checkpoint signed by A's key that does not extend what B cosigned: 422, and kept.
    let a_key = a.node.keys().identity.clone();
    let bogus = sign(&origin, size + 5, &a_key);
    let proof = vec![punte_log::Hash([1; 32]); 3];
    let (status, _, body) = submit(&b, format_add_checkpoint(size, &proof, &bogus)).await;
    assert_eq!(status, 422, "{body}");
    let evidence = b.node.witness_evidence(Some(&origin), 10).unwrap();
    assert_eq!(evidence.len(), 1);
    assert_eq!(evidence[0].kind, "proof-failed");
    assert_eq!(evidence[0].submitted, bogus);
    assert_eq!(parse_proof(&evidence[0].proof).unwrap(), proof);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forked_node_is_caught_with_evidence_that_reverifies_offline() {
    let a = partner("RO").await;
    let b = partner("IT").await;
    follow(&b, &a).await;
    create_practice(&a).await;
    cosigned(&a, 1).await;
    let forked_at = a.node.log_size().unwrap();

    // Fork A's database, then let the original and the copy each make a different change.
    let fork_dir = tempfile::tempdir().unwrap();
    backup(&a, fork_dir.path());
    create_practice(&a).await;
    cosigned(&a, 1).await;
    let fork = Node::open(NodeSettings {
        data_dir: fork_dir.path().join("data"),
        base_url: a.base.clone(),
        disclosure_k: 5,
    })
    .unwrap();
    let object = json!({
        "id": format!("{}/notes/forked", a.base),
        "type": "Note",
        "content": "a history shown only to some",
    });
    fork.publish_object(Verb::Create, object.clone()).unwrap();
    assert_eq!(fork.log_size().unwrap(), forked_at + 1);
    let forked_note = fork.log_checkpoint().unwrap();
    let original = a.node.log_checkpoint().unwrap();
    assert_ne!(forked_note, original);

    // The witness refuses the forked checkpoint: 409 from the old size it knows, and 409
    // again at the same size, keeping the two checkpoints as evidence.
    let proof = fork.consistency_proof(forked_at, forked_at + 1).unwrap();
    let (status, _, body) =
        submit(&b, format_add_checkpoint(forked_at, &proof, &forked_note)).await;
    assert_eq!((status, body), (409, format!("{}\n", forked_at + 1)));
    let (status, _, body) =
        submit(&b, format_add_checkpoint(forked_at + 1, &[], &forked_note)).await;
    assert_eq!((status, body), (409, format!("{}\n", forked_at + 1)));
    // Growing the fork does not help: its proof does not extend what B cosigned.
    fork.publish_object(Verb::Update, object).unwrap();
    let grown = fork.log_checkpoint().unwrap();
    let proof = fork
        .consistency_proof(forked_at + 1, forked_at + 2)
        .unwrap();
    let (status, _, _) = submit(&b, format_add_checkpoint(forked_at + 1, &proof, &grown)).await;
    assert_eq!(status, 422);
    let origin = a.node.log_origin().unwrap();
    let kept = b.node.witness_evidence(Some(&origin), 10).unwrap();
    let kinds: Vec<&str> = kept.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["same-size-other-root", "proof-failed"]);

    // The network audit compares A with what B cosigned and kept: equivocation.
    let report = network_audit(&audit_request(&a, vec![b.base.clone()]).await)
        .await
        .unwrap();
    assert!(
        report.findings.iter().any(|f| f.kind == "equivocation"),
        "{:?}",
        report.findings
    );
    let evidence = report.evidence.expect("an evidence file");
    assert_eq!(evidence.kind, "equivocation");

    // The evidence file re-verifies offline, and only under A's key.
    let path = fork_dir.path().join("a.evidence.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&evidence).unwrap()).unwrap();
    let read = NetworkEvidence::from_json(&std::fs::read(&path).unwrap()).unwrap();
    let proven = verify_evidence(&read, None).unwrap();
    assert_eq!(proven.kind, "equivocation");
    assert_eq!(proven.sizes, (forked_at + 1, forked_at + 1));
    let other = NoteVerifier::new(
        &origin,
        KeyType::Ed25519,
        SigningKey::from_bytes(&[5; 32]).verifying_key(),
    )
    .unwrap();
    assert!(verify_evidence(&read, Some(&[other])).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_restored_from_an_old_backup_refuses_to_append() {
    let a = partner("RO").await;
    let b = partner("IT").await;
    follow(&b, &a).await;
    create_practice(&a).await;
    cosigned(&a, 1).await;
    let backed_up_size = a.node.log_size().unwrap();
    let old_dir = tempfile::tempdir().unwrap();
    backup(&a, old_dir.path());
    create_practice(&a).await;
    cosigned(&a, 1).await;

    // Stop A and start it again from the old backup, at the same address.
    let TestNode {
        base,
        admin: admin_token,
        editor,
        reader,
        handle,
        node,
        fed,
        stopped,
        dir: _dir,
        ..
    } = a;
    handle.stop(true).await;
    drop(node);
    drop(fed);
    stopped.await.unwrap().unwrap();
    let addr: std::net::SocketAddr = base.trim_start_matches("http://").parse().unwrap();
    let config = test_config(old_dir.path());
    let listener = bind_retrying(addr).await;
    let mut restored = start(old_dir, &config, listener, false).await;
    restored.admin = admin_token;
    restored.editor = editor;
    restored.reader = reader;
    assert_eq!(restored.node.log_size().unwrap(), backed_up_size);

    let s = eventually(30, "the restored node to notice its witness", || async {
        let s = status(&restored).await;
        (!s["refusingAppends"].is_null()).then_some(s)
    })
    .await;
    assert_eq!(s["meetsPolicy"], false);
    assert_eq!(s["refusingAppends"]["localSize"], backed_up_size, "{s}");
    let refused = restored.post("/api/v1/practices", practice_json()).await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert!(refused.is_problem());
    assert_eq!(restored.node.log_size().unwrap(), backed_up_size);
    // Its inbox takes nothing in meanwhile: 503, so that partners retry later.
    let sent = b
        .node
        .store()
        .read(|conn| punte_store::log::entry(conn, 0))
        .unwrap();
    let status = deliver_by_hand(
        &b.node,
        &b.base,
        &restored,
        sent.activity.as_deref().unwrap(),
        &sent.entry,
        &b.node.log_checkpoint().unwrap(),
    )
    .await;
    assert_eq!(status, 503);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_requiring_witnesses_applies_entries_only_from_a_cosigned_checkpoint() {
    let a = partner("RO").await;
    let c = std::sync::Arc::new(
        partner_with("IT", |c| {
            c.federation.require_partner_witnesses = 2;
            c.federation.require_partner_countries = 2;
        })
        .await,
    );
    // C follows A and becomes its only witness: one cosignature, one country.
    follow(&c, &a).await;
    create_practice(&a).await;
    cosigned(&a, 1).await;
    let size = a.node.log_size().unwrap();
    // It waits, saying why, once it has read the checkpoint C cosigned.
    let r = replica_when(&c, &a, "the replica to wait for witnesses", |r| {
        r["wantedSize"].as_u64().unwrap() >= size
            && r["awaiting"]
                .as_str()
                .is_some_and(|w| w.contains("1 verified cosignature from 1 country"))
    })
    .await;
    let reason = r["awaiting"].as_str().unwrap();
    assert!(reason.starts_with("awaiting witness policy"), "{r}");
    assert!(reason.contains("2 from 2 countries are required"), "{r}");
    assert_eq!(r["size"], 0, "{r}");
    assert_eq!(r["upToDate"], false);
    let actor = format!("{}/actor", a.base);
    assert!(
        c.fed
            .replica_objects(Some(&actor), None)
            .unwrap()
            .is_empty(),
        "nothing of A is applied before its checkpoint meets the policy"
    );

    // The Network page says what the replica waits for.
    let browser = crate::web::Browser::with_node(c.clone());
    browser.speak("en");
    browser.sign_in(&c.admin).await;
    let page = browser.get("/network").await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("Awaiting the partner&#x27;s witnesses")
            || page.body.contains("Awaiting the partner's witnesses"),
        "{}",
        page.body
    );
    assert!(page.body.contains("awaiting witness policy"));

    // A second witness in another country: once it cosigns, the next sync applies it all.
    let b = partner("DE").await;
    follow(&b, &a).await;
    create_practice(&a).await;
    cosigned(&a, 2).await;
    let size = a.node.log_size().unwrap();
    let r = replica_when(&c, &a, "the replica to apply the cosigned entries", |r| {
        r["size"] == size
    })
    .await;
    assert!(r["awaiting"].is_null(), "{r}");
    assert!(r["lastError"].is_null(), "{r}");
    let practices = c
        .fed
        .replica_objects(Some(&actor), Some("practice"))
        .unwrap();
    assert_eq!(practices.len(), 2);
    assert_eq!(
        c.fed
            .replica_objects(Some(&actor), Some("organisation"))
            .unwrap()
            .len(),
        1
    );
}

/// Opens the copy of `a`'s data in `dir` (see [`backup`]) as a node of its own and publishes
/// a note there that `a` never published.
fn fork_with_a_note(a: &TestNode, dir: &Path, name: &str, content: &str) -> Node {
    let fork = Node::open(NodeSettings {
        data_dir: dir.join("data"),
        base_url: a.base.clone(),
        disclosure_k: 5,
    })
    .unwrap();
    fork.publish_object(
        Verb::Create,
        json!({
            "id": format!("{}/notes/{name}", a.base),
            "type": "Note",
            "content": content,
        }),
    )
    .unwrap();
    fork
}

/// POSTs `activity` to `target`'s inbox as `sender` would deliver it: RFC 9421 signature by
/// the sender's identity key, with the log entry and checkpoint headers.
async fn deliver_by_hand(
    sender: &Node,
    sender_base: &str,
    target: &TestNode,
    activity: &[u8],
    entry: &[u8],
    checkpoint: &str,
) -> u16 {
    use base64::Engine as _;
    use punte_protocol::httpsig::{self, HttpRequest, SigningKeyRef};
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut req = HttpRequest::new("POST", format!("{}/inbox", target.base))
        .with_header("Content-Type", "application/activity+json")
        .with_body(activity.to_vec());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    httpsig::rfc9421::sign_request(
        &mut req,
        &format!("{sender_base}/actor#ed25519-key"),
        SigningKeyRef::Ed25519(&sender.keys().identity),
        now,
    )
    .unwrap();
    let mut builder = target
        .client
        .post(&req.target_uri)
        .header("Punte-Log-Entry", b64.encode(entry))
        .header("Punte-Checkpoint", b64.encode(checkpoint.as_bytes()));
    for (name, value) in &req.headers {
        if !name.eq_ignore_ascii_case("host") {
            builder = builder.header(name, value);
        }
    }
    builder
        .body(req.body.clone())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// After `c` recorded a fork of `a`'s log: `a`'s next real change is refused, a sync says
/// the history forked, `c` cosigns nothing more of `a`, and its Network page says so.
async fn assert_fork_stops_the_partner(a: &TestNode, c: &std::sync::Arc<TestNode>) {
    let held = replica_when(c, a, "the replica", |_| true).await["size"].clone();
    create_practice(a).await;
    let refused = eventually(30, "A's delivery to be refused", || async {
        let d = admin(a, Method::GET, "/api/v1/deliveries", None).await;
        d["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["lastStatus"] == 409)
            .cloned()
    })
    .await;
    assert!(
        refused["lastError"]
            .as_str()
            .unwrap_or_default()
            .contains("forked"),
        "{refused}"
    );
    assert_eq!(
        replica_when(c, a, "the replica", |_| true).await["size"],
        held
    );
    let sync = c
        .send(
            Method::POST,
            "/api/v1/replicas/sync",
            Some(&c.admin),
            Some(json!({ "actor": format!("{}/actor", a.base) })),
        )
        .await;
    let said = sync.body.to_string();
    assert_eq!(sync.status, 409, "{said}");
    assert!(
        said.contains("forked") && !said.contains("usable actor"),
        "{said}"
    );
    let size = a.node.log_size().unwrap();
    let proof = a.node.consistency_proof(size - 1, size).unwrap();
    let (status, _, body) = submit(
        c,
        format_add_checkpoint(size - 1, &proof, &a.node.log_checkpoint().unwrap()),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("forked"), "{body}");
    let browser = crate::web::Browser::new_for(c);
    assert_eq!(browser.sign_in(&c.admin).await.status, 303);
    let page = browser.get("/network").await;
    assert!(page.has("History forked"), "{}", page.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_a_partner_signed_twice_is_recorded_as_a_fork_on_its_delivery() {
    let a = partner("RO").await;
    let c = std::sync::Arc::new(partner("IT").await);
    follow(&c, &a).await;
    create_practice(&a).await;
    let forked_at = a.node.log_size().unwrap();
    let fork_dir = tempfile::tempdir().unwrap();
    backup(&a, fork_dir.path());
    create_practice(&a).await;
    let size = a.node.log_size().unwrap();
    replica_when(&c, &a, "C to replicate A", |r| r["size"] == size).await;

    // The copy signs another entry at an index C holds, delivered with A's real checkpoint.
    let fork = fork_with_a_note(&a, fork_dir.path(), "twice", "a second entry at one index");
    let stored = fork
        .store()
        .read(|conn| punte_store::log::entry(conn, forked_at))
        .unwrap();
    let status = deliver_by_hand(
        &fork,
        &a.base,
        &c,
        stored.activity.as_deref().unwrap(),
        &stored.entry,
        &a.node.log_checkpoint().unwrap(),
    )
    .await;
    assert_eq!(status, 409);
    let replica = replica_when(&c, &a, "C to record the fork", |r| !r["fork"].is_null()).await;
    assert_eq!(replica["fork"]["kind"], "entry", "{replica}");
    assert_eq!(replica["fork"]["at"], forked_at);
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    assert_eq!(replica["fork"]["received"], b64.encode(&stored.entry));
    let held = a
        .node
        .store()
        .read(|conn| punte_store::log::entry(conn, forked_at))
        .unwrap();
    assert_eq!(replica["fork"]["held"], b64.encode(&held.entry));
    assert_fork_stops_the_partner(&a, &c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fork_shown_only_in_a_delivery_is_caught_through_the_partners_checkpoints() {
    let a = partner("RO").await;
    let c = std::sync::Arc::new(partner("IT").await);
    follow(&c, &a).await;
    create_practice(&a).await;
    cosigned(&a, 1).await;
    let forked_at = a.node.log_size().unwrap();

    // Fork A's database; the original makes one change, the copy another.
    let fork_dir = tempfile::tempdir().unwrap();
    backup(&a, fork_dir.path());
    create_practice(&a).await;
    cosigned(&a, 1).await;
    let size = a.node.log_size().unwrap();
    replica_when(&c, &a, "C to replicate A", |r| r["size"] == size).await;
    let fork = fork_with_a_note(
        &a,
        fork_dir.path(),
        "forked",
        "a history shown only to one partner",
    );
    let forked_note = fork.log_checkpoint().unwrap();
    assert_ne!(forked_note, a.node.log_checkpoint().unwrap());

    // The fork reaches C only as a delivery: never submitted to a witness, never served.
    let stored = fork
        .store()
        .read(|conn| punte_store::log::entry(conn, forked_at))
        .unwrap();
    let status = deliver_by_hand(
        &fork,
        &a.base,
        &c,
        stored.activity.as_deref().unwrap(),
        &stored.entry,
        &forked_note,
    )
    .await;
    // C sees the conflict at once: 409, the fork recorded with both signed checkpoints.
    assert_eq!(status, 409);
    let replica = replica_when(&c, &a, "C to record the fork", |r| !r["fork"].is_null()).await;
    assert_eq!(replica["fork"]["kind"], "checkpoint", "{replica}");
    assert_eq!(replica["fork"]["at"], forked_at + 1);
    assert_eq!(replica["fork"]["received"], forked_note.as_str());
    assert_eq!(replica["upToDate"], false);
    assert_fork_stops_the_partner(&a, &c).await;
    let origin = a.node.log_origin().unwrap();
    let kept: Value = c
        .client
        .get(format!("{}/federation/checkpoints", c.base))
        .query(&[("origin", origin.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = kept["items"].as_array().unwrap();
    assert!(
        items
            .iter()
            .any(|i| i["checkpoint"] == forked_note.as_str() && i["via"] == "delivery"),
        "{kept}"
    );

    // A and its witness agree: comparing them alone finds nothing.
    let mut request = audit_request(&a, Vec::new()).await;
    let report = network_audit(&request).await.unwrap();
    assert!(report.evidence.is_none(), "{:?}", report.findings);
    assert_eq!(report.witnesses.len(), 1);

    // With the partners discovered from A's followers, C's kept checkpoints expose the fork.
    request.partners = None;
    let report = network_audit(&request).await.unwrap();
    assert_eq!(report.partners.len(), 1, "{:?}", report.partners);
    assert_eq!(report.partners[0].url, c.base);
    assert!(report.partners[0].checkpoints >= 2);
    let evidence = report.evidence.expect("an evidence file");
    assert_eq!(evidence.kind, "equivocation", "{:?}", report.findings);
    assert!(
        [&evidence.first, &evidence.second]
            .iter()
            .any(|s| s.from.starts_with("received by partner") && s.note == forked_note),
        "{evidence:?}"
    );

    // The evidence file re-verifies offline.
    let path = fork_dir.path().join("a.evidence.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&evidence).unwrap()).unwrap();
    let read = NetworkEvidence::from_json(&std::fs::read(&path).unwrap()).unwrap();
    let proven = verify_evidence(&read, None).unwrap();
    assert_eq!(proven.kind, "equivocation");
    assert_eq!(proven.sizes, (forked_at + 1, forked_at + 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_cosignatures_by_keys_the_witnesses_serve_count_for_the_partner_policy() {
    let a = partner("RO").await;
    let b = partner("DE").await;
    let c = partner("IT").await;
    create_practice(&a).await;
    let note = a.node.log_checkpoint().unwrap();
    let text = Note::parse(note.as_bytes()).unwrap().text;
    let keys = log_keys(&a).await;
    let policy = |n| punte_node::witness::WitnessPolicy {
        min_cosignatures: n,
        distinct_countries: n,
    };
    let host = |t: &TestNode| t.base.trim_start_matches("http://").to_owned();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let cosign = |signer: &NoteSigner| signer.cosign(&text, now).unwrap().to_line();
    // B's real cosignature, twice; one in B's name by a key B does not serve; one by A's own
    // witness key (the partner vouching for itself).
    let b_line = cosign(&b.node.witness_signer().unwrap());
    let forged = NoteSigner::new(
        &format!("{}/punte-witness", host(&b)),
        KeyType::CosignatureV1,
        SigningKey::from_bytes(&[4; 32]),
    )
    .unwrap();
    let own = cosign(&a.node.witness_signer().unwrap());
    let stapled = format!("{note}{b_line}{b_line}{}{own}", cosign(&forged));
    let check = c
        .fed
        .check_partner_witnesses(policy(1), &a.base, stapled.as_bytes(), &keys)
        .await;
    assert!(check.met, "{check:?}");
    assert_eq!(check.cosigners, vec![format!("{}/punte-witness", host(&b))]);
    assert_eq!(check.countries, vec!["DE".to_owned()]);
    let check = c
        .fed
        .check_partner_witnesses(policy(2), &a.base, stapled.as_bytes(), &keys)
        .await;
    assert!(!check.met);
    assert!(
        check
            .reason
            .contains("1 verified cosignature from 1 country"),
        "{}",
        check.reason
    );

    // Only the forged one: nothing counts, and the reason says why.
    let check = c
        .fed
        .check_partner_witnesses(
            policy(1),
            &a.base,
            format!("{note}{}", cosign(&forged)).as_bytes(),
            &keys,
        )
        .await;
    assert!(!check.met);
    assert!(check.cosigners.is_empty());
    assert!(
        check.reason.contains("the cosignature does not verify"),
        "{}",
        check.reason
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_applies_up_to_the_largest_checkpoint_that_meets_the_policy() {
    let a = partner("RO").await;
    let b = partner("DE").await;
    let d = partner("FR").await;
    follow(&b, &a).await;
    follow(&d, &a).await;
    create_practice(&a).await;
    cosigned(&a, 2).await;
    let cosigned_size = a.node.log_size().unwrap();

    // Both witnesses stop following A: its later checkpoints are not cosigned by them.
    let actor = format!("{}/actor", a.base);
    b.fed.unfollow(&actor).unwrap();
    d.fed.unfollow(&actor).unwrap();
    eventually(30, "A to lose its witnesses", || async {
        a.node.log_witnesses().unwrap().is_empty().then_some(())
    })
    .await;
    create_practice(&a).await;

    // C, requiring 2 witnesses from 2 countries, follows A and becomes its only witness.
    let c = partner_with("IT", |c| {
        c.federation.require_partner_witnesses = 2;
        c.federation.require_partner_countries = 2;
    })
    .await;
    follow(&c, &a).await;
    let latest = a.node.log_size().unwrap();
    assert!(latest > cosigned_size + 1);
    let r = replica_when(&c, &a, "the replica to apply the cosigned prefix", |r| {
        r["size"] == cosigned_size && r["awaiting"].is_string()
    })
    .await;
    assert!(r["wantedSize"].as_u64().unwrap() >= latest, "{r}");
    assert!(
        r["awaiting"]
            .as_str()
            .unwrap()
            .starts_with("awaiting witness policy"),
        "{r}"
    );
    let practices = c
        .fed
        .replica_objects(Some(&actor), Some("practice"))
        .unwrap();
    assert_eq!(
        practices.len(),
        1,
        "only the practice the witnesses vouched for"
    );

    // What C read: the largest checkpoint with two cosignatures; none has five.
    let note = text(&a, "/log/checkpoint?cosigned=2").await;
    let opened = open_checkpoint(
        note.as_bytes(),
        &log_keys(&a).await,
        &[witness_key(&b).await, witness_key(&d).await],
    )
    .unwrap();
    assert_eq!(opened.checkpoint.size, cosigned_size);
    assert_eq!(opened.cosigners.len(), 2);
    let none = a
        .client
        .get(format!("{}/log/checkpoint?cosigned=5", a.base))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivered_entry_index_at_the_end_of_u64_is_refused_and_the_inbox_goes_on() {
    let a = partner("RO").await;
    let c = partner("IT").await;
    follow(&c, &a).await;
    create_practice(&a).await;
    let size = a.node.log_size().unwrap();
    replica_when(&c, &a, "C to replicate A", |r| r["size"] == size).await;

    // An activity C has not seen (from a copy of A's data), its log entry re-signed by A's
    // log key with the largest index a u64 holds: the size after it does not exist.
    let fork_dir = tempfile::tempdir().unwrap();
    backup(&a, fork_dir.path());
    let fork = fork_with_a_note(
        &a,
        fork_dir.path(),
        "last",
        "an entry past the end of every log",
    );
    let stored = fork
        .store()
        .read(|conn| punte_store::log::entry(conn, size))
        .unwrap();
    let mut entry = punte_log::entry::SignedEntry::decode(&stored.entry).unwrap();
    entry.body.index = u64::MAX;
    let entry = punte_log::entry::SignedEntry::sign(entry.body, &fork.keys().identity)
        .unwrap()
        .encode();
    let status = deliver_by_hand(
        &fork,
        &a.base,
        &c,
        stored.activity.as_deref().unwrap(),
        &entry,
        &fork.log_checkpoint().unwrap(),
    )
    .await;
    assert_eq!(status, 422, "refused as unprocessable");

    // The inbox writer is still there: A's next change reaches C's replica.
    create_practice(&a).await;
    let size = a.node.log_size().unwrap();
    let r = replica_when(&c, &a, "C to replicate A's next change", |r| {
        r["size"] == size
    })
    .await;
    assert!(r["lastError"].is_null(), "{r}");
    let actor = format!("{}/actor", a.base);
    let practices = c
        .fed
        .replica_objects(Some(&actor), Some("practice"))
        .unwrap();
    assert_eq!(practices.len(), 2);
}
