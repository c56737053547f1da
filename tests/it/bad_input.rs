//! Every kind of bad input gets a precise problem+json and writes nothing.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{
    Answer, TestNode, evaluation_json, indicator_json, practice_json, spawn_node,
};

/// Sends `body` to POST `path` and checks the answer is a problem with `status` naming `field`.
async fn check(
    node: &TestNode,
    path: &str,
    body: Value,
    status: u16,
    field: Option<&str>,
) -> Answer {
    let a = node.post(path, body).await;
    assert_eq!(a.status, status, "{}", a.body);
    assert!(
        a.is_problem(),
        "not a problem+json: {:?} {}",
        a.headers,
        a.body
    );
    if let Some(field) = field {
        assert!(
            a.fields().iter().any(|f| f == field),
            "expected field {field}, got {:?}: {}",
            a.fields(),
            a.body
        );
    }
    a
}

/// `base` with the value at `pointer` replaced (or added, when its parent is an object).
fn with(mut base: Value, pointer: &str, value: Value) -> Value {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    match base.pointer_mut(parent).unwrap() {
        Value::Object(map) => {
            map.insert(key.to_string(), value);
        }
        Value::Array(items) => items[key.parse::<usize>().unwrap()] = value,
        other => panic!("cannot set {pointer} in {other}"),
    }
    base
}

fn without(mut base: Value, key: &str) -> Value {
    base.as_object_mut().unwrap().remove(key);
    base
}

#[tokio::test]
async fn practice_input_errors_name_the_field() {
    let node = spawn_node().await;
    let p = "/api/v1/practices";
    let cases: Vec<(Value, &str)> = vec![
        (with(practice_json(), "/title", json!(5)), "title"),
        (
            with(practice_json(), "/title", json!({"english": "x"})),
            "title",
        ),
        (
            with(practice_json(), "/title", json!({"ro": "  "})),
            "title",
        ),
        (
            with(practice_json(), "/originalLanguage", json!("ro_RO")),
            "originalLanguage",
        ),
        (
            with(practice_json(), "/country", json!("Romania")),
            "country",
        ),
        (
            with(practice_json(), "/maturity", json!("excellent")),
            "maturity",
        ),
        (
            with(practice_json(), "/sdgTargets", json!(["4.1", "19.2"])),
            "sdgTargets[1]",
        ),
        (with(practice_json(), "/region", json!("ITC4")), "region"),
        (
            with(practice_json(), "/themes", json!(["youth", "Youth"])),
            "themes[1]",
        ),
        (
            with(practice_json(), "/originalLanguage", json!("it")),
            "title",
        ),
        (without(practice_json(), "title"), "title"),
        (without(practice_json(), "country"), "country"),
        (with(practice_json(), "/colour", json!("red")), "colour"),
        (
            with(practice_json(), "/resources", json!({"staffFte": -1})),
            "resources.staffFte",
        ),
        (
            with(
                practice_json(),
                "/resources",
                json!({"budget": {"amount": 10, "currency": "XXY"}}),
            ),
            "resources.budget.currency",
        ),
        (
            with(practice_json(), "/period", json!({"start": "2025-02-30"})),
            "period.start",
        ),
        // characters XML 1.0 forbids could never be exported (IATI): refused where they are
        (
            with(
                practice_json(),
                "/solution",
                json!({"ro": "Mentori\u{FFFE}", "en": "Mentors"}),
            ),
            "solution.ro",
        ),
        (
            with(
                practice_json(),
                "/translations",
                json!({"en": {"method": "human", "translator": "Ana\u{FFFF}"}}),
            ),
            "translations.en.translator",
        ),
        (
            with(
                practice_json(),
                "/summary",
                json!({"ro": "Sprijin", "en": "Bell\u{7}"}),
            ),
            "summary.en",
        ),
    ];
    for (body, field) in cases {
        check(&node, p, body, 422, Some(field)).await;
    }
    assert_eq!(
        node.count("practices").await,
        0,
        "refused input wrote nothing"
    );
}

#[tokio::test]
async fn malformed_oversized_and_mistyped_requests() {
    let node = spawn_node().await;
    let url = format!("{}/api/v1/practices", node.base);
    let malformed = TestNode::answer(
        node.client
            .post(&url)
            .bearer_auth(&node.editor)
            .header("Content-Type", "application/json")
            .body("{\"title\": "),
    )
    .await;
    assert_eq!(malformed.status, 400);
    assert!(malformed.is_problem());
    assert!(
        malformed.body["detail"]
            .as_str()
            .unwrap()
            .contains("line 1"),
        "{}",
        malformed.body
    );

    let not_json = TestNode::answer(
        node.client
            .post(&url)
            .bearer_auth(&node.editor)
            .header("Content-Type", "text/plain")
            .body("{}"),
    )
    .await;
    assert_eq!(not_json.status, 415);
    assert!(not_json.is_problem());

    let big = "x".repeat(1024 * 1024 + 10);
    let body = serde_json::to_vec(&with(practice_json(), "/summary", json!({"ro": big}))).unwrap();
    let too_big = TestNode::answer(
        node.client
            .post(&url)
            .bearer_auth(&node.editor)
            .header("Content-Type", "application/json")
            .body(body),
    )
    .await;
    assert_eq!(too_big.status, 413);
    assert!(too_big.is_problem());

    let array = check(&node, "/api/v1/practices", json!([1, 2]), 422, None).await;
    assert!(
        array.body["detail"].as_str().unwrap().contains("expected"),
        "{}",
        array.body
    );
    assert_eq!(node.count("practices").await, 0);
}

#[tokio::test]
async fn authentication_and_authorisation() {
    let node = spawn_node().await;
    let none = node
        .send(Method::GET, "/api/v1/practices", None, None)
        .await;
    assert_eq!(none.status, 401);
    assert!(none.is_problem());
    assert!(none.headers.contains_key("www-authenticate"));
    let wrong = node
        .send(
            Method::GET,
            "/api/v1/practices",
            Some("punte_not-a-real-token"),
            None,
        )
        .await;
    assert_eq!(wrong.status, 401);
    let basic = TestNode::answer(
        node.client
            .get(format!("{}/api/v1/practices", node.base))
            .header("Authorization", "Basic YWRtaW46YWRtaW4="),
    )
    .await;
    assert_eq!(basic.status, 401);
    let reader_write = node
        .send(
            Method::POST,
            "/api/v1/practices",
            Some(&node.reader),
            Some(practice_json()),
        )
        .await;
    assert_eq!(reader_write.status, 403);
    assert!(reader_write.is_problem());
    let unauth_write = node
        .send(
            Method::POST,
            "/api/v1/practices",
            None,
            Some(practice_json()),
        )
        .await;
    assert_eq!(unauth_write.status, 401);
    assert_eq!(node.count("practices").await, 0);
}

#[tokio::test]
async fn unknown_ids_and_routes_are_404_problems() {
    let node = spawn_node().await;
    for path in [
        "/api/v1/practices/01000000-0000-7000-8000-000000000000",
        "/api/v1/practices/01000000-0000-7000-8000-000000000000/versions",
        "/api/v1/evaluations/nope",
        "/api/v1/indicators/nope@1",
        "/api/v1/indicators/not-a-ref",
        "/api/v1/nothing-here",
    ] {
        let a = node.get(path).await;
        assert_eq!(a.status, 404, "{path}: {}", a.body);
        assert!(a.is_problem(), "{path}");
    }
    let id = node.post("/api/v1/practices", practice_json()).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        node.get(&format!("/api/v1/practices/{id}/versions/7"))
            .await
            .status,
        404
    );
    let bad_match = TestNode::answer(
        node.client
            .delete(format!("{}/api/v1/practices/{id}", node.base))
            .bearer_auth(&node.editor)
            .header("If-Match", "\"9\""),
    )
    .await;
    assert_eq!(bad_match.status, 412);
    assert_eq!(
        node.count("practices").await,
        1,
        "a stale delete deleted nothing"
    );
}

#[tokio::test]
async fn evaluation_values_are_checked_against_their_indicator() {
    let node = spawn_node().await;
    let practice = node.post("/api/v1/practices", practice_json()).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        node.post("/api/v1/indicators", indicator_json())
            .await
            .status,
        201
    );
    let e = "/api/v1/evaluations";
    let base = evaluation_json(&practice);
    let cases: Vec<(Value, &str)> = vec![
        (
            with(base.clone(), "/values/0/indicator", json!("esl-rate@2")),
            "values[0].indicator",
        ),
        (
            with(base.clone(), "/values/0/indicator", json!("unknown@1")),
            "values[0].indicator",
        ),
        (
            with(base.clone(), "/values/0/indicator", json!("esl-rate")),
            "values[0].indicator",
        ),
        (with(base.clone(), "/values/0/n", json!(-3)), "values[0].n"),
        (
            with(base.clone(), "/values/0/numerator", json!(-1)),
            "values[0].numerator",
        ),
        (
            with(base.clone(), "/values/0/actual", json!(120.0)),
            "values[0].actual",
        ),
        (
            with(
                base.clone(),
                "/values/1/disaggregation",
                json!({"sex": "other"}),
            ),
            "values[1].disaggregation.sex",
        ),
        (
            with(
                base.clone(),
                "/values/1/disaggregation",
                json!({"age": "15-24"}),
            ),
            "values[1].disaggregation.age",
        ),
        (
            with(base.clone(), "/evidenceLevel", json!(6)),
            "evidenceLevel",
        ),
        (
            with(base.clone(), "/subject", json!({"practice": "missing"})),
            "subject.practice",
        ),
        (with(base.clone(), "/subject", json!({})), "subject"),
        (
            with(
                base.clone(),
                "/period",
                json!({"start": "2025-01-01", "end": "2024-01-01"}),
            ),
            "period",
        ),
        (with(base.clone(), "/method", json!("vibes")), "method"),
        (
            with(
                base.clone(),
                "/values/0/ci",
                json!({"lower": 15.0, "upper": 13.0}),
            ),
            "values[0].ci",
        ),
    ];
    for (body, field) in cases {
        check(&node, e, body, 422, Some(field)).await;
    }
    let bad_indicator = with(indicator_json(), "/measure", json!("percent"));
    check(
        &node,
        "/api/v1/indicators",
        bad_indicator,
        422,
        Some("measure"),
    )
    .await;
    check(
        &node,
        "/api/v1/indicators",
        with(indicator_json(), "/code", json!("Bad Code")),
        422,
        Some("code"),
    )
    .await;
    assert_eq!(node.count("evaluations").await, 0);
    assert_eq!(
        node.get("/api/v1/indicators").await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn a_body_dribbled_slower_than_the_read_deadline_is_cut_with_408() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let node = crate::support::spawn_node_with(|c| c.server.body_read_timeout_secs = 2).await;
    let addr = node.base.trim_start_matches("http://").to_owned();
    for (path, media_type) in [
        ("/inbox", "application/activity+json"),
        ("/api/v1/practices", "application/json"),
    ] {
        let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let (mut read, mut write) = stream.split();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {media_type}\r\nAuthorization: Bearer {}\r\nContent-Length: 1000\r\n\r\n{{",
            node.editor
        );
        write.write_all(head.as_bytes()).await.unwrap();
        // one byte every 200 ms: the whole body would take over 3 minutes
        let dribble = async {
            for _ in 0..999 {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                if write.write_all(b" ").await.is_err() {
                    break;
                }
            }
        };
        let answer = async {
            let mut got = Vec::new();
            let mut buf = [0_u8; 1024];
            while let Ok(n) = read.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                got.extend_from_slice(buf.get(..n).unwrap_or_default());
                if got.windows(4).any(|w| w == b"\r\n\r\n") {
                    break;
                }
            }
            String::from_utf8_lossy(&got).into_owned()
        };
        let answer = tokio::time::timeout(std::time::Duration::from_secs(60), async {
            tokio::select! {
                a = answer => a,
                () = dribble => String::new(),
            }
        })
        .await
        .expect("the node kept reading a dribbled body");
        assert!(answer.starts_with("HTTP/1.1 408"), "{path}: {answer}");
    }
}
