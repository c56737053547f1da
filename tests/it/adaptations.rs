//! The adaptation workflow across two nodes (issue #5): IT adapts a practice of RO, the
//! adaptation reaches RO, RO countersigns it with an attestation in its own log that reaches
//! IT's replica; state changes federate; an adaptation of a practice RO does not have is
//! refused; a forged attestation is refused by the same-origin rules.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use punte_protocol::activity;
use punte_protocol::httpsig::{self, HttpRequest, SigningKeyRef};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{TestNode, admin, eventually, follow_and_approve, practice_json, spawn_node};

fn adaptation(practice_url: &str, origin_actor: &str, state: &str) -> Value {
    json!({
        "origin": {"practice": practice_url, "version": 1, "organisation": origin_actor},
        "context": {"it": "Scuole rurali in Calabria"},
        "country": "IT",
        "modifications": [],
        "fidelity": {"coreComponentsKept": [1]},
        "scaling": "horizontal",
        "state": state
    })
}

/// RO's received adaptation `url`, once it is there and `check` holds for it.
async fn incoming(ro: &TestNode, url: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    eventually(30, what, || async {
        let b = admin(ro, Method::GET, "/api/v1/adaptations/incoming", None).await;
        b["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["adaptation"] == url && check(a))
            .cloned()
    })
    .await
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// POSTs `activity`, signed (proof and RFC 9421 signature) by `sender`, to `target`'s inbox.
async fn deliver(sender: &TestNode, target: &TestNode, activity_json: &Value) -> (u16, Value) {
    let actor = format!("{}/actor", sender.base);
    let key = sender.node.keys().identity.clone();
    let published = punte_protocol::timestamp::format_rfc3339(now());
    let signed = activity::sign_activity(activity_json, &actor, &published, &key).unwrap();
    let body = punte_protocol::jcs::canonicalize(&signed).unwrap();
    let mut req = HttpRequest::new("POST", format!("{}/inbox", target.base))
        .with_header("Content-Type", "application/activity+json")
        .with_body(body);
    httpsig::rfc9421::sign_request(
        &mut req,
        &format!("{actor}#ed25519-key"),
        SigningKeyRef::Ed25519(&key),
        now(),
    )
    .unwrap();
    let mut builder = target.client.post(&req.target_uri);
    for (name, value) in &req.headers {
        if !name.eq_ignore_ascii_case("host") {
            builder = builder.header(name, value);
        }
    }
    let res = builder.body(req.body.clone()).send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_adaptation_reaches_its_origin_is_countersigned_and_the_attestation_replicates() {
    let ro = spawn_node().await;
    let it = spawn_node().await;
    let ro_actor = format!("{}/actor", ro.base);
    let created = admin(
        &ro,
        Method::POST,
        "/api/v1/practices",
        Some(practice_json()),
    )
    .await;
    let practice_url = format!("{}/practices/{}", ro.base, created["id"].as_str().unwrap());
    follow_and_approve(&it, &ro).await;

    // IT adapts RO's practice: the Create goes to RO although RO does not follow IT.
    let a = admin(
        &it,
        Method::POST,
        "/api/v1/adaptations",
        Some(adaptation(&practice_url, &ro_actor, "intended")),
    )
    .await;
    let a_id = a["id"].as_str().unwrap().to_owned();
    let a_url = format!("{}/adaptations/{a_id}", it.base);
    let received = incoming(&ro, &a_url, "the adaptation to reach RO", |_| true).await;
    assert_eq!(received["adopter"], format!("{}/actor", it.base));
    assert_eq!(received["practice"], created["id"]);
    assert_eq!(received["state"], "intended");
    assert_eq!(received["country"], "IT");
    assert!(received["countersignature"].is_null());
    assert!(
        it.fed
            .countersignature_of(&a_url, &practice_url)
            .unwrap()
            .is_none(),
        "not countersigned yet: not a replication"
    );

    // RO first declines, with a reason: its own record, nothing appended or sent.
    let size_before = ro.node.log_size().unwrap();
    for (reason, status) in [("", 422), ("   ", 422), ("a\u{7}b", 422)] {
        let r = ro
            .send(
                Method::POST,
                "/api/v1/adaptations/decline",
                Some(&ro.admin),
                Some(json!({ "adaptation": a_url, "reason": reason })),
            )
            .await;
        assert_eq!(r.status, status, "{reason:?}: {}", r.body);
        assert!(r.body.to_string().contains("reason"), "{}", r.body);
    }
    let unknown = ro
        .send(
            Method::POST,
            "/api/v1/adaptations/decline",
            Some(&ro.admin),
            Some(json!({ "adaptation": format!("{}/adaptations/none", it.base), "reason": "no" })),
        )
        .await;
    assert_eq!(unknown.status, 404, "{}", unknown.body);
    let editor_token = ro.editor.clone();
    let refused = ro
        .send(
            Method::POST,
            "/api/v1/adaptations/decline",
            Some(&editor_token),
            Some(json!({ "adaptation": a_url, "reason": "not yet" })),
        )
        .await;
    assert_eq!(
        refused.status, 403,
        "only an admin declines: {}",
        refused.body
    );
    let declined = admin(
        &ro,
        Method::POST,
        "/api/v1/adaptations/decline",
        Some(json!({ "adaptation": a_url, "reason": "  The training plan is missing  " })),
    )
    .await;
    assert_eq!(
        declined["decline"]["reason"],
        "The training plan is missing"
    );
    assert_eq!(declined["decline"]["version"], 1);
    assert!(declined["countersignature"].is_null());
    assert_eq!(
        ro.node.log_size().unwrap(),
        size_before,
        "a decline is not published"
    );

    // RO countersigns after all: a Create of an Attestation in RO's log.
    let signed = admin(
        &ro,
        Method::POST,
        "/api/v1/adaptations/countersign",
        Some(json!({ "adaptation": a_url })),
    )
    .await;
    let c = &signed["countersignature"];
    assert_eq!(c["logIndex"].as_u64(), Some(size_before));
    let again = admin(
        &ro,
        Method::POST,
        "/api/v1/adaptations/countersign",
        Some(json!({ "adaptation": a_url })),
    )
    .await;
    assert_eq!(
        again["countersignature"], *c,
        "countersigning twice keeps the first"
    );
    assert_eq!(ro.node.log_size().unwrap(), size_before + 1);
    let late = ro
        .send(
            Method::POST,
            "/api/v1/adaptations/decline",
            Some(&ro.admin),
            Some(json!({ "adaptation": a_url, "reason": "changed our mind" })),
        )
        .await;
    assert_eq!(
        late.status, 409,
        "a countersigned adaptation is not declined: {}",
        late.body
    );
    let activity_url = c["activity"].as_str().unwrap();
    let served: Value = ro
        .client
        .get(activity_url)
        .header("Accept", "application/activity+json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(served["type"], "Create");
    let attestation = &served["object"];
    assert_eq!(attestation["type"], "Attestation");
    assert_eq!(attestation["id"], c["attestation"]);
    assert_eq!(attestation["attributedTo"], ro_actor);
    assert_eq!(attestation["attests"], a_url);
    assert_eq!(attestation["practice"], practice_url);
    assert_eq!(attestation["adopter"], format!("{}/actor", it.base));
    assert_eq!(attestation["adaptationVersion"], 1);

    // The attestation reaches IT's verified replica of RO, and counts there.
    let replicated = eventually(30, "the attestation in IT's replica", || async {
        let b = admin(
            &it,
            Method::GET,
            "/api/v1/replicated?kind=attestation",
            None,
        )
        .await;
        b["items"].as_array().unwrap().first().cloned()
    })
    .await;
    assert_eq!(replicated["object"], *attestation);
    assert_eq!(replicated["logIndex"], c["logIndex"]);
    let source = it
        .fed
        .countersignature_of(&a_url, &practice_url)
        .unwrap()
        .expect("countersigned");
    assert_eq!(Some(source.log_index), c["logIndex"].as_u64());
    assert_eq!(source.activity_id, activity_url);
    assert!(source.origin.ends_with("/punte-log"), "{}", source.origin);
    let own = ro
        .fed
        .countersignature_of(&a_url, &practice_url)
        .unwrap()
        .expect("RO finds it in its own log");
    assert_eq!(own, source);
    assert!(
        it.fed
            .countersignature_of(&a_url, &format!("{}/practices/other", ro.base))
            .unwrap()
            .is_none(),
        "only for the practice the attestation names"
    );

    // A state change federates; the countersignature stays.
    let updated = it
        .send(
            Method::PUT,
            &format!("/api/v1/adaptations/{a_id}"),
            Some(&it.admin),
            Some(adaptation(&practice_url, &ro_actor, "piloting")),
        )
        .await;
    assert!(updated.status < 300, "{}", updated.body);
    let piloting = incoming(&ro, &a_url, "the state change to reach RO", |a| {
        a["state"] == "piloting"
    })
    .await;
    assert_eq!(piloting["version"], 2);
    assert_eq!(piloting["countersignature"], *c);

    // An adaptation of a practice RO does not have is refused by RO's inbox (the delivery
    // fails with the reason) and not stored.
    let missing = format!("{}/practices/no-such-practice", ro.base);
    let b = admin(
        &it,
        Method::POST,
        "/api/v1/adaptations",
        Some(adaptation(&missing, &ro_actor, "intended")),
    )
    .await;
    let b_url = format!("{}/adaptations/{}", it.base, b["id"].as_str().unwrap());
    let index = it.node.log_size().unwrap() - 1;
    let failed = eventually(30, "the refused delivery", || async {
        let d = admin(
            &it,
            Method::GET,
            &format!("/api/v1/deliveries?index={index}"),
            None,
        )
        .await;
        d["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["state"] == "failed")
            .cloned()
    })
    .await;
    let error = failed["lastError"].to_string();
    assert!(error.contains("422"), "{failed}");
    let all = admin(&ro, Method::GET, "/api/v1/adaptations/incoming", None).await;
    assert!(
        all["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["adaptation"] != b_url.as_str())
    );
    let refused = ro
        .send(
            Method::POST,
            "/api/v1/adaptations/countersign",
            Some(&ro.admin),
            Some(json!({ "adaptation": b_url })),
        )
        .await;
    assert_eq!(refused.status, 404, "{}", refused.body);

    // A forged attestation: IT sends an Attestation claiming to be RO's (id and
    // attributedTo on RO), or its own object attributed to RO. Both are refused.
    let it_actor = format!("{}/actor", it.base);
    for (n, (id, attributed)) in [
        (
            format!("{}/attestations/forged-1", ro.base),
            ro_actor.clone(),
        ),
        (
            format!("{}/attestations/forged-2", it.base),
            ro_actor.clone(),
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let forged = json!({
            "@context": punte_protocol::context::activity_context(),
            "id": format!("{}/activities/forged-{n}", it.base),
            "type": "Create",
            "actor": it_actor,
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "object": {
                "id": id,
                "type": "Attestation",
                "attributedTo": attributed,
                "attests": a_url,
                "practice": practice_url,
                "adopter": it_actor,
                "adaptationVersion": 1,
                "published": "2025-01-01T00:00:00Z",
            },
        });
        let (status, body) = deliver(&it, &ro, &forged).await;
        assert_eq!(status, 403, "{body}");
        assert!(
            body["type"].as_str().unwrap().ends_with("#forbidden"),
            "{body}"
        );
    }
}
