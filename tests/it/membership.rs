//! Signed network membership (docs/protocol.md §1.10, §5.8): a coordinator admits, re-pins
//! and removes members as kind-4 entries of its log; a node in members-only mode goes by the
//! list in its verified replica of the coordinator's log and refuses non-members, listed
//! actors signing with another key, and checkpoints of logs that belong to no member.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::Method;
use serde_json::{Value, json};

use punte_log::{EntryKind, SignedEntry};
use punte_node::witness::format_add_checkpoint;
use punte_protocol::activity;
use punte_protocol::httpsig::{self, HttpRequest, SigningKeyRef};

use crate::support::{
    TestNode, admin, eventually, follow, partner_with as org, practice_json, replica_when,
};

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn actor(node: &TestNode) -> String {
    format!("{}/actor", node.base)
}

/// The problem code (the fragment of `type`) of a problem body.
fn code(body: &Value) -> &str {
    body["type"]
        .as_str()
        .and_then(|t| t.rsplit('#').next())
        .unwrap_or("")
}

enum Scheme {
    Rfc9421,
    Cavage,
}

/// Posts a Follow of `target` by `sender` to `target`'s inbox, with a proof by the sender's
/// current identity key and an HTTP signature of `scheme`: (status, body).
async fn send_follow(
    sender: &TestNode,
    target: &TestNode,
    id: &str,
    scheme: Scheme,
) -> (u16, Value) {
    let sender_actor = actor(sender);
    let unsigned = json!({
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/data-integrity/v2", "https://w3id.org/punte/v1"],
        "id": format!("{}/activities/membership-test-{id}", sender.base),
        "type": "Follow",
        "actor": sender_actor,
        "object": actor(target),
    });
    let identity = sender.node.keys().identity.clone();
    let published = punte_protocol::timestamp::format_rfc3339(now());
    let body = serde_json::to_vec(
        &activity::sign_activity(&unsigned, &sender_actor, &published, &identity).unwrap(),
    )
    .unwrap();
    let req = HttpRequest::new("POST", format!("{}/inbox", target.base))
        .with_header("Content-Type", "application/activity+json")
        .with_body(body);
    let res = sign_and_send(sender, target, req, scheme).await;
    let status = res.status().as_u16();
    let bytes = res.bytes().await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// Signs `req` as `sender` with `scheme` (its current keys) and sends it to `target`.
async fn sign_and_send(
    sender: &TestNode,
    target: &TestNode,
    mut req: HttpRequest,
    scheme: Scheme,
) -> reqwest::Response {
    let sender_actor = actor(sender);
    let (identity, rsa) = {
        let keys = sender.node.keys();
        (keys.identity.clone(), keys.rsa.clone())
    };
    match scheme {
        Scheme::Rfc9421 => httpsig::rfc9421::sign_request(
            &mut req,
            &format!("{sender_actor}#ed25519-key"),
            SigningKeyRef::Ed25519(&identity),
            now(),
        )
        .unwrap(),
        Scheme::Cavage => httpsig::cavage::sign_request(
            &mut req,
            &format!("{sender_actor}#main-key"),
            SigningKeyRef::Rsa(&rsa),
            now(),
        )
        .unwrap(),
    }
    let method = Method::from_bytes(req.method.as_bytes()).unwrap();
    let mut builder = target.client.request(method, &req.target_uri);
    for (name, value) in &req.headers {
        if !name.eq_ignore_ascii_case("host") {
            builder = builder.header(name, value);
        }
    }
    builder.body(req.body.clone()).send().await.unwrap()
}

/// Whether `node` holds `who` as a follower (in any state) or any activity from it.
async fn holds_anything_of(node: &TestNode, who: &TestNode) -> bool {
    let who = actor(who);
    let followers = admin(node, Method::GET, "/api/v1/followers", None).await;
    let inbox = admin(node, Method::GET, "/api/v1/inbox?limit=500", None).await;
    followers["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(inbox["items"].as_array().unwrap())
        .any(|i| i["actor"] == who.as_str())
}

async fn status(node: &TestNode) -> Value {
    admin(node, Method::GET, "/api/v1/membership/status", None).await
}

/// Waits until `node` goes by version `version` of the list.
async fn in_force(node: &TestNode, version: u64) -> Value {
    eventually(30, "the membership list to be replicated", || async {
        let s = status(node).await;
        (s["version"] == version).then_some(s)
    })
    .await
}

/// Submits the latest checkpoint of `log` to the witness endpoint of `witness`.
async fn submit_checkpoint(log: &TestNode, witness: &TestNode) -> (u16, Value) {
    let (size, note) = log
        .node
        .store()
        .read(punte_store::log::latest_checkpoint)
        .unwrap()
        .unwrap();
    let res = witness
        .client
        .post(format!("{}/witness/add-checkpoint", witness.base))
        .body(format_add_checkpoint(size, &[], &note))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_only_nodes_accept_members_and_refuse_everyone_else() {
    let coord = std::sync::Arc::new(org("BE", |_| {}).await);
    let coordinator = actor(&coord);
    let a = org("RO", |_| {}).await;
    let x = org("FR", |_| {}).await;
    let m = {
        let c = coordinator.clone();
        std::sync::Arc::new(
            org("IT", move |cfg| {
                cfg.membership.coordinator = Some(c);
                cfg.membership.members_only = true;
            })
            .await,
        )
    };

    // Before any list is known, members-only refuses everyone but the coordinator.
    let (st, body) = send_follow(&a, &m, "early", Scheme::Rfc9421).await;
    assert_eq!((st, code(&body)), (403, "membership-unknown"), "{body}");

    // The coordinator admits a (country from its profile) and m (country given).
    let admitted = admin(
        &coord,
        Method::POST,
        "/api/v1/membership/admit",
        Some(json!({"actor": actor(&a)})),
    )
    .await;
    assert_eq!(admitted["version"], 1);
    assert_eq!(admitted["members"][0]["country"], "RO");
    assert_eq!(
        admitted["members"][0]["identityKey"],
        punte_protocol::multikey::encode_ed25519_public(&a.node.keys().identity.verifying_key())
    );
    let admitted = admin(
        &coord,
        Method::POST,
        "/api/v1/membership/admit",
        Some(json!({"actor": actor(&m), "country": "it"})),
    )
    .await;
    assert_eq!(admitted["version"], 2);
    assert_eq!(admitted["members"][1]["country"], "IT");
    assert_eq!(
        admitted["members"][1]["witnessKey"],
        m.node.witness_vkey().unwrap()
    );

    // Refusals of the admin API: a duplicate, an unreachable actor, the coordinator itself.
    let dup = coord
        .send(
            Method::POST,
            "/api/v1/membership/admit",
            Some(&coord.admin),
            Some(json!({"actor": actor(&a)})),
        )
        .await;
    assert_eq!((dup.status, code(&dup.body)), (409, "already-a-member"));
    let gone = coord
        .send(
            Method::POST,
            "/api/v1/membership/admit",
            Some(&coord.admin),
            Some(json!({"actor": "http://127.0.0.1:9/actor", "country": "RO"})),
        )
        .await;
    assert_eq!((gone.status, code(&gone.body)), (502, "member-unreachable"));
    let itself = coord
        .send(
            Method::POST,
            "/api/v1/membership/admit",
            Some(&coord.admin),
            Some(json!({"actor": coordinator})),
        )
        .await;
    assert_eq!(
        (itself.status, code(&itself.body)),
        (422, "member-unusable")
    );
    let editor = coord
        .send(
            Method::POST,
            "/api/v1/membership/remove",
            Some(&coord.editor),
            Some(json!({"actor": actor(&a)})),
        )
        .await;
    assert_eq!(editor.status, 403);

    // m follows the coordinator (always accepted) and replicates its list.
    follow(&m, &coord).await;
    let s = in_force(&m, 2).await;
    assert_eq!(s["membersOnly"], true);
    assert_eq!(s["listed"], true);
    assert_eq!(s["members"], 2);
    assert_eq!(s["coordinator"], coordinator.as_str());

    // A listed member follows m and m follows it back; its deliveries are applied.
    follow(&a, &m).await;
    follow(&m, &a).await;
    let created = a.post("/api/v1/practices", practice_json()).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let from_a = actor(&a);
    eventually(30, "a's practice to reach m", || async {
        let b = admin(
            &m,
            Method::GET,
            &format!("/api/v1/replicated?kind=practice&actor={from_a}"),
            None,
        )
        .await;
        (!b["items"].as_array().unwrap().is_empty()).then_some(())
    })
    .await;

    // A non-member's Follow and its deliveries are refused; nothing of it is stored.
    let (st, body) = send_follow(&x, &m, "x1", Scheme::Rfc9421).await;
    assert_eq!((st, code(&body)), (403, "not-a-member"), "{body}");
    admin(
        &x,
        Method::POST,
        "/api/v1/following",
        Some(json!({ "target": actor(&m) })),
    )
    .await;
    let x_practice = x.post("/api/v1/practices", practice_json()).await;
    assert_eq!(x_practice.status, 201);
    let to_m = m.base.trim_start_matches("http://").to_owned();
    eventually(30, "x's delivery attempt to m", || async {
        let b = admin(&x, Method::GET, "/api/v1/deliveries", None).await;
        b["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["inbox"].as_str().unwrap_or("").contains(&to_m) && d["lastStatus"] == 403)
            .then_some(())
    })
    .await;
    assert!(!holds_anything_of(&m, &x).await);

    // A witness in members-only mode refuses checkpoints of a log that is no member's.
    let (st, body) = submit_checkpoint(&x, &m).await;
    assert_eq!((st, code(&body)), (403, "not-a-member"), "{body}");

    // A listed member signing with a key other than the pinned one is refused: an RSA
    // (draft-cavage) signature, and after a's identity key rotation, its new key.
    let (st, body) = send_follow(&a, &m, "rsa", Scheme::Cavage).await;
    assert_eq!((st, code(&body)), (403, "member-key-mismatch"), "{body}");
    a.node.rotate_identity_key().unwrap();
    let (st, body) = send_follow(&a, &m, "rotated", Scheme::Rfc9421).await;
    assert_eq!((st, code(&body)), (403, "member-key-mismatch"), "{body}");
    let (st, body) = submit_checkpoint(&a, &m).await;
    assert_eq!((st, code(&body)), (403, "member-key-mismatch"), "{body}");

    // The coordinator re-pins a's keys; once m has the new list, a is accepted again.
    let updated = admin(
        &coord,
        Method::POST,
        "/api/v1/membership/update",
        Some(json!({"actor": actor(&a)})),
    )
    .await;
    assert_eq!(updated["version"], 3);
    let unchanged = coord
        .send(
            Method::POST,
            "/api/v1/membership/update",
            Some(&coord.admin),
            Some(json!({"actor": actor(&a)})),
        )
        .await;
    assert_eq!(
        (unchanged.status, code(&unchanged.body)),
        (409, "keys-unchanged")
    );
    in_force(&m, 3).await;
    let (st, body) = send_follow(&a, &m, "repinned", Scheme::Rfc9421).await;
    assert!(st < 300, "{st} {body}");
    // Its checkpoints (signed by the new key) and the coordinator's pass the gate: cosigned,
    // or 409 when the witness state is at another size.
    for log in [&a, &*coord] {
        let (st, body) = submit_checkpoint(log, &m).await;
        assert!(matches!(st, 200 | 409), "{st} {body}");
    }

    // The coordinator removes a; once replicated, a is refused.
    let removed = admin(
        &coord,
        Method::POST,
        "/api/v1/membership/remove",
        Some(json!({"actor": actor(&a)})),
    )
    .await;
    assert_eq!(removed["version"], 4);
    assert_eq!(removed["members"][0]["current"], false);
    assert!(removed["members"][0]["left"].is_string());
    let s = in_force(&m, 4).await;
    assert_eq!(s["members"], 1);
    let (st, body) = send_follow(&a, &m, "removed", Scheme::Rfc9421).await;
    assert_eq!((st, code(&body)), (403, "not-a-member"), "{body}");
    // m delivers nothing more to the removed member, which still follows it.
    let after = m.post("/api/v1/practices", practice_json()).await;
    assert_eq!(after.status, 201, "{}", after.body);
    let to_a = a.base.trim_start_matches("http://").to_owned();
    eventually(30, "m's delivery to a to be withheld", || async {
        let b = admin(&m, Method::GET, "/api/v1/deliveries?state=failed", None).await;
        b["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| {
                d["inbox"].as_str().unwrap_or("").contains(&to_a)
                    && d["lastError"]
                        .as_str()
                        .unwrap_or("")
                        .contains("not a current member")
                    && d["attempts"] == 1
                    && d["lastStatus"].is_null()
            })
            .then_some(())
    })
    .await;
    let again = coord
        .send(
            Method::POST,
            "/api/v1/membership/remove",
            Some(&coord.admin),
            Some(json!({"actor": actor(&a)})),
        )
        .await;
    assert_eq!((again.status, code(&again.body)), (404, "not-a-member"));

    // The coordinator's history shows each change as a kind-4 entry, versions increasing.
    let size = coord.node.log_size().unwrap();
    let page = admin(
        &coord,
        Method::GET,
        &format!("/log/entries?start=0&end={size}"),
        None,
    )
    .await;
    let mut changes = Vec::new();
    for e in page["entries"].as_array().unwrap() {
        let entry =
            SignedEntry::decode(&STANDARD.decode(e["entry"].as_str().unwrap()).unwrap()).unwrap();
        if entry.body.kind != EntryKind::Membership {
            continue;
        }
        let update: Value =
            serde_json::from_slice(&STANDARD.decode(e["activity"].as_str().unwrap()).unwrap())
                .unwrap();
        assert_eq!(update["type"], "Update");
        assert!(update["proof"].is_object());
        let list = &update["object"];
        changes.push((
            list["version"].as_u64().unwrap(),
            list["change"]["action"].as_str().unwrap().to_owned(),
            list["change"]["actor"].as_str().unwrap().to_owned(),
        ));
    }
    assert_eq!(
        changes,
        vec![
            (1, "admit".to_owned(), actor(&a)),
            (2, "admit".to_owned(), actor(&m)),
            (3, "update".to_owned(), actor(&a)),
            (4, "remove".to_owned(), actor(&a)),
        ]
    );
    let history = admin(&coord, Method::GET, "/api/v1/membership", None).await;
    let versions: Vec<u64> = history["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["version"].as_u64().unwrap())
        .collect();
    assert_eq!(versions, [1, 2, 3, 4]);

    // The public list is the published object, naming the entry that published it.
    let res = coord
        .client
        .get(format!("{}/membership", coord.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let index: u64 = res.headers()["punte-log-index"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let public: Value = res.json().await.unwrap();
    assert_eq!(public["version"], 4);
    assert_eq!(public["type"], "MembershipList");
    assert_eq!(Some(index), history["logIndex"].as_u64());
    let last = page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["index"] == index)
        .unwrap();
    let update: Value =
        serde_json::from_slice(&STANDARD.decode(last["activity"].as_str().unwrap()).unwrap())
            .unwrap();
    let mut object = public.clone();
    object.as_object_mut().unwrap().remove("@context");
    assert_eq!(update["object"], object);

    // The network page of m shows the coordinator, the mode and the list in force.
    let reader = crate::web::Browser::new_for(&m);
    assert_eq!(reader.sign_in(&m.reader).await.status, 303);
    let page = reader.get("/network").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.has("Network membership"), "{}", page.body);
    assert!(page.has("version 4 (entry"), "{}", page.body);
    assert!(page.has("only listed members with matching keys"));
    assert!(page.has("listed as a member") && page.has(&actor(&a)));

    // The coordinator's history page labels the entries and says what each version changed.
    let auditor = crate::web::Browser::new_for(&coord);
    assert_eq!(auditor.sign_in(&coord.reader).await.status, 303);
    let page = auditor.get("/history").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.has("membership"), "{}", page.body);
    assert!(
        page.has(&format!("v4 · remove {}", actor(&a))),
        "{}",
        page.body
    );
    assert!(
        page.has(&format!("v2 · admit {}", actor(&m))),
        "{}",
        page.body
    );

    // A node that is no coordinator publishes no list.
    let none = m
        .client
        .get(format!("{}/membership", m.base))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), 404);
}

/// A GET of `path` on `target` signed by `sender` with `scheme` (its current keys): (status,
/// problem code).
async fn signed_get(
    sender: &TestNode,
    target: &TestNode,
    path: &str,
    scheme: Scheme,
) -> (u16, String) {
    let req = HttpRequest::new("GET", format!("{}{path}", target.base))
        .with_header("Accept", "application/activity+json");
    let res = sign_and_send(sender, target, req, scheme).await;
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    (status, code(&body).to_owned())
}

/// The witness status of `node`: (cosigners, countries, meets policy).
async fn witness_status(node: &TestNode) -> (Vec<String>, Vec<String>, bool) {
    let s = admin(node, Method::GET, "/api/v1/witness/status", None).await;
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap_or("").to_owned())
            .collect()
    };
    let cosigners: Vec<Value> = s["cosignatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["witness"].clone())
        .collect();
    (
        strings(&Value::Array(cosigners)),
        strings(&s["countries"]),
        s["meetsPolicy"] == true,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_only_reaches_signed_fetches_witnesses_and_keeps_membership_entries() {
    let coord = std::sync::Arc::new(org("BE", |_| {}).await);
    let coordinator = actor(&coord);
    let a = org("RO", |_| {}).await;
    let b = org("DE", |_| {}).await;
    let x = org("FR", |_| {}).await;
    let m = {
        let c = coordinator.clone();
        std::sync::Arc::new(
            org("IT", move |cfg| {
                cfg.membership.coordinator = Some(c);
                cfg.membership.members_only = true;
                cfg.federation.authorized_fetch = true;
            })
            .await,
        )
    };
    let collections = ["/outbox", "/followers", "/following"];

    // Signed fetches: before any list is known only the coordinator passes.
    assert_eq!(
        signed_get(&a, &m, "/outbox", Scheme::Rfc9421).await,
        (403, "membership-unknown".to_owned())
    );
    assert_eq!(
        signed_get(&coord, &m, "/outbox", Scheme::Cavage).await.0,
        200
    );

    // a is admitted with a country other than its profile's: the list's is what counts.
    for (who, country) in [(&a, "PT"), (&b, "DE"), (&*m, "IT")] {
        admin(
            &coord,
            Method::POST,
            "/api/v1/membership/admit",
            Some(json!({"actor": actor(who), "country": country})),
        )
        .await;
    }
    follow(&m, &coord).await;
    in_force(&m, 3).await;

    // A member's signed fetch by its pinned key passes; by another key (RSA), or by a
    // non-member, it is refused; the coordinator passes whatever key it signs with.
    for path in collections {
        assert_eq!(
            signed_get(&a, &m, path, Scheme::Rfc9421).await.0,
            200,
            "{path}"
        );
        assert_eq!(
            signed_get(&a, &m, path, Scheme::Cavage).await,
            (403, "member-key-mismatch".to_owned()),
            "{path}"
        );
        assert_eq!(
            signed_get(&x, &m, path, Scheme::Rfc9421).await,
            (403, "not-a-member".to_owned()),
            "{path}"
        );
        assert_eq!(signed_get(&coord, &m, path, Scheme::Cavage).await.0, 200);
        // Unsigned: authorized fetch wants a signature first.
        let unsigned = m
            .client
            .get(format!("{}{path}", m.base))
            .send()
            .await
            .unwrap();
        assert_eq!(unsigned.status(), 401, "{path}");
    }
    // The signed history stays public: anyone may audit it.
    for path in ["/log/checkpoint", "/log/key", "/log/witnesses"] {
        let res = m
            .client
            .get(format!("{}{path}", m.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path}");
    }

    // Two members follow m and witness its log, with the keys and countries the list pins.
    follow(&a, &m).await;
    follow(&b, &m).await;
    let pinned_a = a.node.witness_vkey().unwrap();
    let created = m.post("/api/v1/practices", practice_json()).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let (cosigners, countries, meets) = eventually(60, "both members to cosign", || async {
        m.fed.collect_cosignatures_now().await.unwrap();
        let s = witness_status(&m).await;
        (s.0.len() == 2).then_some(s)
    })
    .await;
    let mut expected = vec![actor(&a), actor(&b)];
    expected.sort();
    assert_eq!(cosigners, expected);
    assert_eq!(countries, ["DE", "PT"]);
    assert!(meets);
    let witnesses = admin(&m, Method::GET, "/log/witnesses", None).await;
    let row_a = witnesses["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["actor"] == actor(&a).as_str())
        .unwrap()
        .clone();
    assert_eq!(row_a["vkey"], pinned_a.as_str());
    assert_eq!(row_a["country"], "PT");

    // Once b is removed, its cosignature no longer counts and m stops asking it.
    admin(
        &coord,
        Method::POST,
        "/api/v1/membership/remove",
        Some(json!({"actor": actor(&b)})),
    )
    .await;
    in_force(&m, 4).await;
    let (cosigners, countries, meets) = witness_status(&m).await;
    assert_eq!(
        (cosigners, countries, meets),
        (vec![actor(&a)], vec!["PT".to_owned()], false)
    );
    eventually(30, "b to leave m's witnesses", || async {
        m.fed.collect_cosignatures_now().await.unwrap();
        let w = admin(&m, Method::GET, "/log/witnesses", None).await;
        let actors: Vec<String> = w["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["actor"].as_str().unwrap().to_owned())
            .collect();
        (actors == [actor(&a)]).then_some(())
    })
    .await;

    // a restarts with a new witness key: its cosignatures no longer verify with the pinned
    // key, so they are not taken, until the coordinator re-pins it.
    std::fs::remove_file(a.dir.path().join("data/keys/witness.ed25519.pem")).unwrap();
    let a = a
        .restart(|c| c.federation.auto_approve_follows = true)
        .await;
    let fresh_a = a.node.witness_vkey().unwrap();
    assert_ne!(fresh_a, pinned_a);
    let created = m.post("/api/v1/practices", practice_json()).await;
    assert_eq!(created.status, 201, "{}", created.body);
    eventually(
        60,
        "a's cosignature by an unpinned key to be refused",
        || async {
            m.fed.collect_cosignatures_now().await.unwrap();
            let s = admin(&m, Method::GET, "/api/v1/witness/status", None).await;
            let row = s["witnesses"].as_array().unwrap().first().cloned()?;
            (row["vkey"] == pinned_a.as_str()
                && row["lastError"]
                    .as_str()
                    .is_some_and(|e| e.contains("no cosignature by the witness key")))
            .then_some(())
        },
    )
    .await;
    assert!(witness_status(&m).await.0.is_empty());
    let updated = admin(
        &coord,
        Method::POST,
        "/api/v1/membership/update",
        Some(json!({"actor": actor(&a)})),
    )
    .await;
    assert_eq!(updated["version"], 5);
    in_force(&m, 5).await;
    let (cosigners, ..) = eventually(60, "a to cosign with its re-pinned key", || async {
        m.fed.collect_cosignatures_now().await.unwrap();
        let s = witness_status(&m).await;
        (!s.0.is_empty()).then_some(s)
    })
    .await;
    assert_eq!(cosigners, [actor(&a)]);
    let w = admin(&m, Method::GET, "/log/witnesses", None).await;
    assert_eq!(w["items"][0]["vkey"], fresh_a.as_str());

    // A membership entry cannot be redacted: the signed membership history stays readable.
    let list = admin(&coord, Method::GET, "/api/v1/membership", None).await;
    let index = list["logIndex"].as_u64().unwrap();
    let refused = coord.node.redact(index, "erase this version").unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("membership entries cannot be redacted"),
        "{refused}"
    );
    let entries = admin(
        &coord,
        Method::GET,
        &format!("/log/entries?start={index}&end={}", index + 1),
        None,
    )
    .await;
    assert!(entries["entries"][0]["activity"].is_string());
}

/// A node that requires its partners' checkpoints to be witnessed, in members-only mode,
/// counts only members' witnesses, with the keys the list pins: a non-member's valid
/// cosignature does not count, a member's does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn required_partner_witnesses_are_members_with_pinned_keys() {
    let coord = org("BE", |_| {}).await;
    let coordinator = actor(&coord);
    let a = org("RO", |_| {}).await;
    let w = org("DE", |_| {}).await;
    let x = org("FR", |_| {}).await;
    let f = org("IT", move |cfg| {
        cfg.membership.coordinator = Some(coordinator);
        cfg.membership.members_only = true;
        cfg.federation.require_partner_witnesses = 2;
    })
    .await;
    // The requirement covers the coordinator's log too: its list is applied only from a
    // checkpoint two witnesses cosigned (here a and w, which follow it).
    follow(&a, &coord).await;
    follow(&w, &coord).await;
    for who in [&a, &w, &f] {
        admin(
            &coord,
            Method::POST,
            "/api/v1/membership/admit",
            Some(json!({"actor": actor(who)})),
        )
        .await;
    }
    let size = coord.node.log_size().unwrap();
    eventually(
        60,
        "a and w to cosign the coordinator's checkpoint",
        || async {
            coord.fed.collect_cosignatures_now().await.unwrap();
            let s = admin(&coord, Method::GET, "/api/v1/witness/status", None).await;
            (s["size"] == size && s["cosignatures"].as_array().unwrap().len() >= 2).then_some(())
        },
    )
    .await;
    follow(&f, &coord).await;
    in_force(&f, 3).await;

    // A's witnesses: f (a member) and x (not one). Both cosign.
    follow(&x, &a).await;
    follow(&f, &a).await;
    let created = a.post("/api/v1/practices", practice_json()).await;
    assert_eq!(created.status, 201, "{}", created.body);
    eventually(60, "f and x to cosign A's checkpoint", || async {
        a.fed.collect_cosignatures_now().await.unwrap();
        let s = admin(&a, Method::GET, "/api/v1/witness/status", None).await;
        (s["cosignatures"].as_array().unwrap().len() >= 2).then_some(())
    })
    .await;
    let r = replica_when(
        &f,
        &a,
        "f's replica of A to wait for a member's witness",
        |r| {
            r["awaiting"]
                .as_str()
                .is_some_and(|w| w.contains("not the witness key of a current network member"))
        },
    )
    .await;
    let reason = r["awaiting"].as_str().unwrap();
    assert!(reason.contains("1 verified cosignature"), "{r}");
    assert!(reason.contains(&x.base.replace("http://", "")), "{r}");
    assert_eq!(r["size"], 0, "{r}");
    assert!(
        f.fed
            .replica_objects(Some(&actor(&a)), None)
            .unwrap()
            .is_empty()
    );

    // A member witnesses A too: the next cosigned checkpoint meets f's requirement.
    follow(&w, &a).await;
    let created = a.post("/api/v1/practices", practice_json()).await;
    assert_eq!(created.status, 201, "{}", created.body);
    eventually(60, "w to cosign A's checkpoint", || async {
        a.fed.collect_cosignatures_now().await.unwrap();
        let s = admin(&a, Method::GET, "/api/v1/witness/status", None).await;
        (s["cosignatures"].as_array().unwrap().len() >= 3).then_some(())
    })
    .await;
    let size = a.node.log_size().unwrap();
    let r = replica_when(&f, &a, "f to apply A's cosigned entries", |r| {
        r["size"] == size
    })
    .await;
    assert!(r["awaiting"].is_null(), "{r}");
    assert_eq!(
        f.fed
            .replica_objects(Some(&actor(&a)), Some("practice"))
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_membership_row_edited_in_the_database_is_neither_served_nor_carried_into_the_next_version()
 {
    let coord = org("BE", |_| {}).await;
    let a = org("RO", |_| {}).await;
    let b = org("IT", |_| {}).await;
    for member in [&a, &b] {
        admin(
            &coord,
            Method::POST,
            "/api/v1/membership/admit",
            Some(json!({"actor": actor(member)})),
        )
        .await;
    }
    let served = coord
        .client
        .get(format!("{}/membership", coord.base))
        .send()
        .await
        .unwrap();
    assert_eq!(served.status(), 200);
    assert!(crate::log::audit_of(&coord).await.clean);

    // An outsider is added to the latest version in the database, with no log entry.
    let outsider = "https://outsider.example/actor";
    let a_actor = actor(&a);
    coord
        .node
        .store()
        .write(|tx| {
            let object: String = tx.query_row(
                "SELECT object FROM membership_versions ORDER BY version DESC LIMIT 1",
                [],
                |r| r.get(0),
            )?;
            let mut list: Value = serde_json::from_str(&object).unwrap();
            let mut copy = list["members"][0].clone();
            for (_, v) in copy.as_object_mut().unwrap().iter_mut() {
                if v == a_actor.as_str() {
                    *v = json!(outsider);
                }
            }
            list["members"].as_array_mut().unwrap().push(copy);
            tx.execute(
                "UPDATE membership_versions SET object = ?1 WHERE version = 2",
                [list.to_string()],
            )?;
            Ok::<_, punte_store::StoreError>(())
        })
        .unwrap();

    // Not served, not listed, and the next change does not sign it.
    let served = coord
        .client
        .get(format!("{}/membership", coord.base))
        .send()
        .await
        .unwrap();
    assert_eq!(served.status(), 500);
    let body = served.text().await.unwrap();
    assert!(
        body.contains("unlogged-change") && !body.contains(outsider),
        "{body}"
    );
    let listed = coord
        .send(Method::GET, "/api/v1/membership", Some(&coord.admin), None)
        .await;
    assert_eq!(listed.status, 500, "{}", listed.body);
    let size = coord.node.log_size().unwrap();
    let removed = coord
        .send(
            Method::POST,
            "/api/v1/membership/remove",
            Some(&coord.admin),
            Some(json!({"actor": actor(&b)})),
        )
        .await;
    assert_eq!(removed.status, 500, "{}", removed.body);
    assert_eq!(coord.node.log_size().unwrap(), size);

    // An auditor sees that /membership is not what the log says.
    let report = crate::log::audit_of(&coord).await;
    let found: Vec<&str> = report
        .findings
        .iter()
        .filter(|f| f.kind == "unlogged_change")
        .map(|f| f.message.as_str())
        .collect();
    assert_eq!(found.len(), 1, "{:?}", report.findings);
    assert!(found[0].contains("/membership"), "{found:?}");
}
