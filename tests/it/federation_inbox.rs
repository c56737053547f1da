//! Every inbox rule (docs/protocol.md §5.4) with a request that breaks it: each gets its precise
//! 4xx and changes nothing. The sender is a real node whose actor document and keys the
//! receiver fetches; requests are crafted by hand so each can be broken in one way.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use punte_protocol::httpsig::{self, HttpRequest, SigningKeyRef};
use punte_protocol::{activity, jcs};
use serde_json::{Value, json};

use crate::support::{TestNode, spawn_node};

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn rfc3339(secs: i64) -> String {
    punte_protocol::timestamp::format_rfc3339(secs)
}

/// A Follow of `target` by `sender`, with a proof by the sender's key unless `proof` is false.
fn follow(sender: &TestNode, target: &TestNode, id_suffix: &str, proof: bool) -> Value {
    let actor = format!("{}/actor", sender.base);
    let unsigned = json!({
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/data-integrity/v1", "https://w3id.org/punte/v1"],
        "id": format!("{}/activities/test-follow-{id_suffix}", sender.base),
        "type": "Follow",
        "actor": actor,
        "object": format!("{}/actor", target.base),
    });
    if !proof {
        return unsigned;
    }
    let key = sender.node.keys().identity.clone();
    activity::sign_activity(&unsigned, &actor, &rfc3339(now()), &key).unwrap()
}

enum Scheme {
    Rfc9421,
    Cavage,
}

/// Signs `body` for POST `target`/inbox as `signer` (its key ids), at `created`.
fn signed(
    signer: &TestNode,
    target: &TestNode,
    body: &[u8],
    created: i64,
    scheme: Scheme,
) -> HttpRequest {
    let actor = format!("{}/actor", signer.base);
    let mut req = HttpRequest::new("POST", format!("{}/inbox", target.base))
        .with_header("Content-Type", "application/activity+json")
        .with_body(body.to_vec());
    let keys = signer.node.keys();
    match scheme {
        Scheme::Rfc9421 => httpsig::rfc9421::sign_request(
            &mut req,
            &format!("{actor}#ed25519-key"),
            SigningKeyRef::Ed25519(&keys.identity),
            created,
        )
        .unwrap(),
        Scheme::Cavage => httpsig::cavage::sign_request(
            &mut req,
            &format!("{actor}#main-key"),
            SigningKeyRef::Rsa(&keys.rsa),
            created,
        )
        .unwrap(),
    }
    req
}

struct Reply {
    status: u16,
    body: Value,
}

async fn send(target: &TestNode, req: &HttpRequest) -> Reply {
    let mut builder = target.client.post(&req.target_uri);
    for (name, value) in &req.headers {
        if !name.eq_ignore_ascii_case("host") {
            builder = builder.header(name, value);
        }
    }
    let res = builder.body(req.body.clone()).send().await.unwrap();
    let status = res.status().as_u16();
    let bytes = res.bytes().await.unwrap();
    Reply {
        status,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

/// What the receiver holds: received activities and follow requests.
async fn state(target: &TestNode) -> (usize, usize) {
    let inbox = target
        .send(
            reqwest::Method::GET,
            "/api/v1/inbox",
            Some(&target.admin),
            None,
        )
        .await;
    let followers = target
        .send(
            reqwest::Method::GET,
            "/api/v1/followers",
            Some(&target.admin),
            None,
        )
        .await;
    (
        inbox.body["items"].as_array().unwrap().len(),
        followers.body["items"].as_array().unwrap().len(),
    )
}

async fn refused(target: &TestNode, req: &HttpRequest, status: u16, code: &str) {
    let before = state(target).await;
    let reply = send(target, req).await;
    assert_eq!(reply.status, status, "{code}: {}", reply.body);
    assert!(
        reply.body["type"]
            .as_str()
            .unwrap_or("")
            .ends_with(&format!("#{code}")),
        "{code}: {}",
        reply.body
    );
    assert!(reply.body["detail"].is_string());
    assert_eq!(state(target).await, before, "{code} changed nothing");
}

#[tokio::test]
async fn every_inbox_rule_refuses_precisely_and_changes_nothing() {
    let target = spawn_node().await;
    let sender = spawn_node().await;
    let other = spawn_node().await;
    let t = now();

    // Unsigned.
    let body = jcs::canonicalize(&follow(&sender, &target, "a", true)).unwrap();
    let unsigned = HttpRequest::new("POST", format!("{}/inbox", target.base))
        .with_header("Content-Type", "application/activity+json")
        .with_body(body.clone());
    refused(&target, &unsigned, 401, "unsigned").await;

    // Not ActivityStreams: a text/plain body, or none named (signed, so only the type is wrong).
    let mut plain = signed(&sender, &target, &body, t, Scheme::Rfc9421);
    plain.set_header("Content-Type", "text/plain");
    refused(&target, &plain, 415, "unsupported-media-type").await;
    let ld = HttpRequest::new("POST", format!("{}/inbox", target.base))
        .with_header(
            "Content-Type",
            "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"",
        )
        .with_body(body.clone());
    refused(&target, &ld, 401, "unsigned").await;

    // Not I-JSON: a member name twice (the proof and JCS are defined over I-JSON).
    let text = String::from_utf8(body.clone()).unwrap();
    let twice = text.replacen("{", "{\"type\":\"Delete\",", 1);
    let dup = signed(&sender, &target, twice.as_bytes(), t, Scheme::Rfc9421);
    refused(&target, &dup, 400, "not-json").await;

    // Bad signature: one byte of the signature changed.
    let mut bad = signed(&sender, &target, &body, t, Scheme::Rfc9421);
    let sig = bad.header("signature").unwrap();
    let at = sig.find("=:").unwrap() + 2;
    let first = &sig[at..=at];
    let flipped = format!(
        "{}{}{}",
        &sig[..at],
        if first == "A" { "B" } else { "A" },
        &sig[at + 1..]
    );
    bad.set_header("Signature", flipped);
    refused(&target, &bad, 401, "bad-signature").await;

    // Wrong digest: the body changed after signing.
    let mut tampered = signed(&sender, &target, &body, t, Scheme::Rfc9421);
    let mut other_body = follow(&sender, &target, "a", true);
    other_body["id"] = json!(format!("{}/activities/test-follow-z", sender.base));
    tampered.body = jcs::canonicalize(&other_body).unwrap();
    refused(&target, &tampered, 400, "digest-mismatch").await;

    // Expired: signed two hours ago (window ±1 h).
    let old = signed(&sender, &target, &body, t - 7200, Scheme::Rfc9421);
    refused(&target, &old, 401, "signature-expired").await;

    // Actor/key mismatch: the activity names `sender`, the signature is `other`'s key.
    let mismatch = signed(&other, &target, &body, t, Scheme::Rfc9421);
    refused(&target, &mismatch, 403, "key-not-actors").await;

    // Oversized body.
    let mut huge = follow(&sender, &target, "huge", false);
    huge["padding"] = json!("x".repeat(1024 * 1024 + 10));
    let huge_body = serde_json::to_vec(&huge).unwrap();
    let huge_req = signed(&sender, &target, &huge_body, t, Scheme::Rfc9421);
    let before = state(&target).await;
    let reply = send(&target, &huge_req).await;
    assert_eq!(reply.status, 413, "{}", reply.body);
    assert_eq!(state(&target).await, before);

    // Object id on another host: a Create by `sender` of an object on `other`'s host.
    let actor = format!("{}/actor", sender.base);
    let create = json!({
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/data-integrity/v1"],
        "id": format!("{}/activities/test-create", sender.base),
        "type": "Create",
        "actor": actor,
        "object": {"id": format!("{}/practices/stolen", other.base), "type": "Note", "content": "x"},
    });
    let create = activity::sign_activity(
        &create,
        &actor,
        &rfc3339(t),
        &sender.node.keys().identity.clone(),
    )
    .unwrap();
    let create_req = signed(
        &sender,
        &target,
        &jcs::canonicalize(&create).unwrap(),
        t,
        Scheme::Rfc9421,
    );
    refused(&target, &create_req, 403, "forbidden").await;

    // A Punte node must send a proof.
    let no_proof = jcs::canonicalize(&follow(&sender, &target, "np", false)).unwrap();
    let req = signed(&sender, &target, &no_proof, t, Scheme::Rfc9421);
    refused(&target, &req, 401, "proof-required").await;

    // A proof that does not verify (the activity changed after it was signed).
    let mut broken = follow(&sender, &target, "bp", true);
    broken["object"] = json!(format!("{}/actor", other.base));
    let broken_body = jcs::canonicalize(&broken).unwrap();
    let req = signed(&sender, &target, &broken_body, t, Scheme::Rfc9421);
    refused(&target, &req, 401, "bad-proof").await;

    // The valid request is accepted once; its replay changes nothing.
    let good = signed(&sender, &target, &body, t, Scheme::Rfc9421);
    let first = send(&target, &good).await;
    assert_eq!(first.status, 202, "{}", first.body);
    assert_eq!(first.body["new"], true);
    let after = state(&target).await;
    assert_eq!(after, (1, 1));
    let replay = send(&target, &good).await;
    assert_eq!(replay.status, 202, "{}", replay.body);
    assert_eq!(replay.body["new"], false, "{}", replay.body);
    assert_eq!(state(&target).await, after, "a replay changes nothing");

    // draft-cavage rsa-sha256 (Mastodon-style) is accepted too.
    let cavage_body = jcs::canonicalize(&follow(&other, &target, "c", true)).unwrap();
    let cavage = signed(&other, &target, &cavage_body, t, Scheme::Cavage);
    let reply = send(&target, &cavage).await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    let inbox = target
        .send(
            reqwest::Method::GET,
            "/api/v1/inbox",
            Some(&target.admin),
            None,
        )
        .await;
    assert_eq!(inbox.body["items"][0]["evidence"]["scheme"], "draft-cavage");
    assert_eq!(state(&target).await, (2, 2));
}

#[tokio::test]
async fn authorized_fetch_requires_signed_gets() {
    let node = crate::support::spawn_node_with(|c| c.federation.authorized_fetch = true).await;
    let reader = spawn_node().await;
    for path in ["/outbox", "/followers", "/following"] {
        let anonymous = node
            .client
            .get(format!("{}{path}", node.base))
            .header("Accept", "application/activity+json")
            .send()
            .await
            .unwrap();
        assert_eq!(anonymous.status(), 401, "{path}");
        let mut req = HttpRequest::new("GET", format!("{}{path}", node.base))
            .with_header("Accept", "application/activity+json");
        let actor = format!("{}/actor", reader.base);
        httpsig::cavage::sign_request(
            &mut req,
            &format!("{actor}#main-key"),
            SigningKeyRef::Rsa(&reader.node.keys().rsa),
            now(),
        )
        .unwrap();
        let mut builder = node.client.get(&req.target_uri);
        for (n, v) in &req.headers {
            if !n.eq_ignore_ascii_case("host") {
                builder = builder.header(n, v);
            }
        }
        let signed = builder.send().await.unwrap();
        assert_eq!(signed.status(), 200, "{path}");
    }
    // The actor stays public (keys must be fetchable to verify anything).
    let actor = node
        .client
        .get(format!("{}/actor", node.base))
        .header("Accept", "application/activity+json")
        .send()
        .await
        .unwrap();
    assert_eq!(actor.status(), 200);
}

/// `body` signed for POST `target`/inbox with `key` under `signer`'s Ed25519 key id.
fn signed_with_key(
    signer: &TestNode,
    target: &TestNode,
    body: &[u8],
    key: &ed25519_dalek::SigningKey,
) -> HttpRequest {
    let mut req = HttpRequest::new("POST", format!("{}/inbox", target.base))
        .with_header("Content-Type", "application/activity+json")
        .with_body(body.to_vec());
    httpsig::rfc9421::sign_request(
        &mut req,
        &format!("{}/actor#ed25519-key", signer.base),
        SigningKeyRef::Ed25519(key),
        now(),
    )
    .unwrap();
    req
}

#[tokio::test]
async fn a_rotated_key_replaces_the_decoded_one_in_the_actor_cache() {
    let target = spawn_node().await;
    let sender = spawn_node().await;
    let old_key = sender.node.keys().identity.clone();
    let body = jcs::canonicalize(&follow(&sender, &target, "before", true)).unwrap();
    let reply = send(&target, &signed_with_key(&sender, &target, &body, &old_key)).await;
    assert_eq!(reply.status, 202, "{}", reply.body);

    // The target caches the sender's actor with its key decoded; after the rotation a
    // request by the new key fails against it, so the target refetches and accepts.
    sender.node.rotate_identity_key().unwrap();
    let new_key = sender.node.keys().identity.clone();
    assert_ne!(new_key.verifying_key(), old_key.verifying_key());
    let body = jcs::canonicalize(&follow(&sender, &target, "after", true)).unwrap();
    let reply = send(&target, &signed_with_key(&sender, &target, &body, &new_key)).await;
    assert_eq!(reply.status, 202, "{}", reply.body);

    // The refetched entry holds only the new key: the old one no longer verifies.
    let actor = format!("{}/actor", sender.base);
    let unsigned = json!({
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/data-integrity/v1", "https://w3id.org/punte/v1"],
        "id": format!("{}/activities/test-follow-old-key", sender.base),
        "type": "Follow",
        "actor": actor,
        "object": format!("{}/actor", target.base),
    });
    let by_old = activity::sign_activity(&unsigned, &actor, &rfc3339(now()), &old_key).unwrap();
    let body = jcs::canonicalize(&by_old).unwrap();
    refused(
        &target,
        &signed_with_key(&sender, &target, &body, &old_key),
        401,
        "bad-signature",
    )
    .await;
}

#[tokio::test]
async fn a_signature_that_cannot_verify_whatever_the_key_fetches_nothing() {
    let target = spawn_node().await;
    let sender = spawn_node().await;
    let t = now();
    let body = jcs::canonicalize(&follow(&sender, &target, "quiet", true)).unwrap();
    let sender_actor = format!("{}/actor", sender.base);
    let known = || {
        target
            .node
            .store()
            .read(|conn| punte_store::federation::actor(conn, &sender_actor))
            .unwrap()
            .is_some()
    };
    // expired, and a body that does not match its digest: refused before any fetch
    let old = signed(&sender, &target, &body, t - 7200, Scheme::Rfc9421);
    refused(&target, &old, 401, "signature-expired").await;
    let mut tampered = signed(&sender, &target, &body, t, Scheme::Cavage);
    let mut other_body = follow(&sender, &target, "quiet", true);
    other_body["id"] = json!(format!("{}/activities/test-follow-other", sender.base));
    tampered.body = jcs::canonicalize(&other_body).unwrap();
    refused(&target, &tampered, 400, "digest-mismatch").await;
    assert!(
        !known(),
        "the sender's actor was fetched for a request that could not verify"
    );
    // a request that could verify is checked against the fetched actor
    let good = signed(&sender, &target, &body, t, Scheme::Rfc9421);
    assert_eq!(send(&target, &good).await.status, 202);
    assert!(known());
}
