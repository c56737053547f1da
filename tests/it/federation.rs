//! Federation between Punte nodes in-process on loopback: follow and approval, delivery of
//! Create/Update/Delete, verified replicas equal to the origin, catching up after downtime.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{
    TestNode, admin, eventually, follow_and_approve_by, practice_json, spawn_node, spawn_node_with,
};

/// The practices `node` replicated from `origin`, by id: (id, object JSON).
async fn replicated_practices(node: &TestNode, origin: &TestNode) -> Vec<(String, Value)> {
    let actor = format!("{}/actor", origin.base);
    let b = admin(
        node,
        Method::GET,
        &format!(
            "/api/v1/replicated?kind=practice&actor={}",
            urlencode(&actor)
        ),
        None,
    )
    .await;
    let mut out: Vec<(String, Value)> = b["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["id"].as_str().unwrap().to_owned(), o["object"].clone()))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The origin's own practices as published AS2 objects (without `@context`), by id.
async fn published_practices(origin: &TestNode) -> Vec<(String, Value)> {
    let list = origin.get("/api/v1/practices?limit=200").await;
    let mut out = Vec::new();
    for p in list.body["items"].as_array().unwrap() {
        let url = format!("{}/practices/{}", origin.base, p["id"].as_str().unwrap());
        let res = origin
            .client
            .get(&url)
            .header("Accept", "application/activity+json")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{url}");
        let mut doc: Value = res.json().await.unwrap();
        doc.as_object_mut().unwrap().remove("@context");
        out.push((url, doc));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

async fn replica_size(node: &TestNode, origin: &TestNode) -> Option<u64> {
    let actor = format!("{}/actor", origin.base);
    let b = admin(node, Method::GET, "/api/v1/replicas", None).await;
    b["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["actor"] == actor.as_str())
        .and_then(|r| r["size"].as_u64())
}

async fn wait_replica_equal(node: &TestNode, origin: &TestNode) {
    let size = origin.node.log_size().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while replica_size(node, origin).await != Some(size) {
        if std::time::Instant::now() > deadline {
            let replicas = admin(node, Method::GET, "/api/v1/replicas", None).await;
            let sync = node
                .send(
                    Method::POST,
                    "/api/v1/replicas/sync",
                    Some(&node.admin),
                    Some(json!({"actor": format!("{}/actor", origin.base)})),
                )
                .await;
            panic!(
                "replica did not reach size {size}: {replicas:#}\nsync: {}",
                sync.body
            );
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        replicated_practices(node, origin).await,
        published_practices(origin).await,
        "the replica's practices equal the origin's published ones"
    );
}

#[tokio::test]
async fn three_nodes_follow_and_replicate_create_update_delete() {
    let ro = spawn_node().await;
    let it = spawn_node().await;
    let es = spawn_node().await;

    // Discovery: WebFinger by handle and by actor URL, NodeInfo, the actor document.
    let host = ro.base.trim_start_matches("http://");
    let wf = ro
        .client
        .get(format!(
            "{}/.well-known/webfinger?resource=acct:node@{host}",
            ro.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(wf.status(), 200);
    let jrd: Value = wf.json().await.unwrap();
    assert_eq!(jrd["subject"], format!("acct:node@{host}"));
    let actor: Value = ro
        .client
        .get(format!("{}/actor", ro.base))
        .header("Accept", "application/activity+json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(actor["type"], "Organization");
    assert_ne!(actor["assertionMethod"][0]["id"], actor["publicKey"]["id"]);
    assert!(
        actor["@context"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "https://www.w3.org/ns/did/v1")
    );
    let browser = ro
        .client
        .get(format!("{}/actor", ro.base))
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap();
    assert!(browser.url().path() == "/" || browser.status().is_redirection());
    let ni: Value = ro
        .client
        .get(format!("{}/.well-known/nodeinfo", ro.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        ni["links"][0]["href"]
            .as_str()
            .unwrap()
            .ends_with("/nodeinfo/2.1")
    );

    // IT follows by actor URL, ES by handle; RO approves both.
    follow_and_approve_by(&it, &ro, &format!("{}/actor", ro.base)).await;
    follow_and_approve_by(&es, &ro, &format!("@node@{host}")).await;
    let followers: Value = ro
        .client
        .get(format!("{}/followers", ro.base))
        .header("Accept", "application/activity+json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(followers["totalItems"], 2);

    // RO creates two practices, updates one, deletes the other.
    let a = ro.post("/api/v1/practices", practice_json()).await;
    assert_eq!(a.status, 201, "{}", a.body);
    let first = a.body["id"].as_str().unwrap().to_owned();
    let mut second_json = practice_json();
    second_json["title"] = json!({"ro": "Bibliotecă mobilă", "en": "Mobile library"});
    let b = ro.post("/api/v1/practices", second_json).await;
    let second = b.body["id"].as_str().unwrap().to_owned();
    let mut changed = practice_json();
    changed["summary"] =
        json!({"ro": "Sprijin la teme, acum și vara", "en": "Homework support, now in summer too"});
    let put = ro
        .client
        .put(format!("{}/api/v1/practices/{first}", ro.base))
        .bearer_auth(&ro.editor)
        .header("If-Match", "\"1\"")
        .json(&changed)
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    let del = ro
        .client
        .delete(format!("{}/api/v1/practices/{second}", ro.base))
        .bearer_auth(&ro.editor)
        .send()
        .await
        .unwrap();
    assert!(del.status().is_success(), "{}", del.status());

    for follower in [&it, &es] {
        wait_replica_equal(follower, &ro).await;
        let practices = replicated_practices(follower, &ro).await;
        assert_eq!(practices.len(), 1, "the deleted practice is gone");
        assert!(
            practices[0].1["summaryMap"]["en"]
                .as_str()
                .unwrap()
                .contains("Homework support, now in summer too")
        );
    }

    // Every delivery of RO was delivered; the inbox records evidence.
    eventually(30, "all deliveries to be delivered", || async {
        let d = admin(&ro, Method::GET, "/api/v1/deliveries?state=pending", None).await;
        d["items"].as_array().unwrap().is_empty().then_some(())
    })
    .await;
    let failed = admin(&ro, Method::GET, "/api/v1/deliveries?state=failed", None).await;
    assert!(failed["items"].as_array().unwrap().is_empty(), "{failed}");
    let inbox = admin(&it, Method::GET, "/api/v1/inbox", None).await;
    let create = inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["type"] == "Create")
        .expect("a Create in IT's inbox");
    assert_eq!(create["evidence"]["scheme"], "rfc9421");
    assert!(create["evidence"]["proof"]["verificationMethod"].is_string());
}

#[tokio::test]
async fn a_partner_down_past_many_retries_catches_up_by_pull() {
    let ro = spawn_node().await;
    let it = spawn_node().await;
    follow_and_approve_by(&it, &ro, &format!("{}/actor", ro.base)).await;
    wait_replica_equal(&it, &ro).await;

    // IT goes down; RO keeps working; deliveries fail and are given up quickly. Then IT
    // comes back on the same address and catches up by pulling RO's log.
    let back = it
        .restart_after(
            || async {
                for i in 0..12 {
                    let mut p = practice_json();
                    p["title"] =
                        json!({"ro": format!("Practica {i}"), "en": format!("Practice {i}")});
                    assert_eq!(ro.post("/api/v1/practices", p).await.status, 201);
                }
                eventually(
                    60,
                    "RO to retry and fail towards the dead partner",
                    || async {
                        let d = admin(&ro, Method::GET, "/api/v1/delivery-hosts", None).await;
                        d["items"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .any(|h| h["consecutiveFailures"].as_u64().unwrap_or(0) >= 3)
                            .then_some(())
                    },
                )
                .await;
            },
            |_| {},
        )
        .await;
    wait_replica_equal(&back, &ro).await;
    assert_eq!(replicated_practices(&back, &ro).await.len(), 12);
}

#[tokio::test]
async fn a_restarted_partner_pulls_at_start_before_any_retry_or_poll() {
    // RO retries a failed delivery only after an hour; IT polls RO only every hour.
    let hour = |c: &mut punte_server::Config| {
        c.federation.retry_base_ms = 3_600_000;
        c.federation.retry_max_delay_secs = 3_600;
        c.federation.breaker_max_pause_secs = 3_600;
    };
    let ro = spawn_node_with(hour).await;
    let it = spawn_node_with(|c| c.federation.replica_poll_interval_secs = 3_600).await;
    follow_and_approve_by(&it, &ro, &format!("{}/actor", ro.base)).await;
    wait_replica_equal(&it, &ro).await;

    // IT stops; RO's delivery of a new practice fails once and waits an hour.
    let it_base = it.base.clone();
    let it = it
        .restart_after(
            || async {
                assert_eq!(
                    ro.post("/api/v1/practices", practice_json()).await.status,
                    201
                );
                eventually(30, "RO's delivery to fail once", || async {
                    let d = admin(&ro, Method::GET, "/api/v1/deliveries", None).await;
                    d["items"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|i| i["state"] == "pending" && i["attempts"].as_u64() >= Some(1))
                        .then_some(())
                })
                .await;
            },
            |c| c.federation.replica_poll_interval_secs = 3_600,
        )
        .await;
    assert_eq!(it.base, it_base);

    // IT pulls RO at start: the practice arrives although RO has not retried.
    wait_replica_equal(&it, &ro).await;
    let d = admin(&ro, Method::GET, "/api/v1/deliveries?state=pending", None).await;
    let pending = d["items"].as_array().unwrap();
    assert_eq!(pending.len(), 1, "{d}");
    assert_eq!(pending[0]["attempts"], 1, "{d}");
}

#[tokio::test]
async fn a_new_follower_backfills_a_long_history_in_pages_over_one_mebibyte() {
    let ro = spawn_node().await;
    let it = spawn_node().await;
    // 1200 practices: a page of 1000 entries is several MiB.
    let contents: Vec<punte_model::PracticeContent> = (0..1200)
        .map(|i| {
            let mut p = practice_json();
            p["title"] = json!({"ro": format!("Practica {i}"), "en": format!("Practice {i}")});
            serde_json::from_value(p).unwrap()
        })
        .collect();
    let node = ro.node.clone();
    tokio::task::spawn_blocking(move || node.create_many::<punte_model::Practice>(contents))
        .await
        .unwrap()
        .unwrap();
    follow_and_approve_by(&it, &ro, &format!("{}/actor", ro.base)).await;
    let size = ro.node.log_size().unwrap();
    eventually(120, "the replica to catch up 1200 practices", || async {
        (replica_size(&it, &ro).await == Some(size)).then_some(())
    })
    .await;
    assert_eq!(replicated_practices(&it, &ro).await.len(), 1200);
}

#[tokio::test]
async fn nothing_queued_leaves_while_the_node_refuses_to_append() {
    let ro = spawn_node().await;
    let it = spawn_node().await;
    follow_and_approve_by(&it, &ro, &format!("{}/actor", ro.base)).await;
    wait_replica_equal(&it, &ro).await;
    let pending = || async {
        let d = admin(&ro, Method::GET, "/api/v1/deliveries?state=pending", None).await;
        d["items"].as_array().unwrap().clone()
    };

    // A change is queued while IT is down; then RO's guard is set (as when its history is
    // found damaged, or behind what a witness cosigned).
    let it = it
        .restart_after(
            || async {
                assert_eq!(
                    ro.post("/api/v1/practices", practice_json()).await.status,
                    201
                );
                eventually(30, "the delivery to fail once", || async {
                    pending()
                        .await
                        .iter()
                        .any(|i| i["attempts"].as_u64() >= Some(1))
                        .then_some(())
                })
                .await;
                ro.node
                    .store()
                    .write(|tx| {
                        punte_store::witness::set_append_guard(
                            tx,
                            &punte_store::witness::AppendGuard {
                                witness: punte_store::witness::SELF_CHECK_GUARD.to_owned(),
                                local_size: 0,
                                cosigned: String::new(),
                                reason: "test".to_owned(),
                                detected_ms: 0,
                            },
                        )
                    })
                    .unwrap();
            },
            |c| c.federation.replica_poll_interval_secs = 3_600,
        )
        .await;
    // IT is back and RO's retries (at most 2 s apart) come and go: nothing is sent.
    let attempts = pending().await[0]["attempts"].clone();
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    let still = pending().await;
    assert_eq!(still.len(), 1);
    assert_eq!(still[0]["attempts"], attempts);
    // Once the guard is lifted the delivery goes out.
    ro.node
        .store()
        .write(|tx| punte_store::witness::clear_append_guard(tx))
        .unwrap();
    eventually(30, "the delivery once the guard is lifted", || async {
        pending().await.is_empty().then_some(())
    })
    .await;
    drop(it);
}
