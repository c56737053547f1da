//! The admin API's happy paths: versions, filters, search, pagination, catalogue, tokens, export.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use reqwest::Method;
use serde_json::json;

use crate::support::{evaluation_json, indicator_json, practice_json, spawn_node};

#[tokio::test]
async fn practices_are_versioned_and_every_version_is_kept() {
    let node = spawn_node().await;
    let created = node.post("/api/v1/practices", practice_json()).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_string();
    assert_eq!(created.body["version"], 1);
    assert_eq!(created.body["licence"], "CC-BY-4.0");
    assert_eq!(created.headers["etag"], "\"1\"");
    assert_eq!(
        created.headers["location"],
        format!("/api/v1/practices/{id}").as_str()
    );

    // edit what GET returned, with If-Match
    let mut edited = created.body.clone();
    edited["maturity"] = json!("good");
    let req = node
        .client
        .put(format!("{}/api/v1/practices/{id}", node.base))
        .bearer_auth(&node.editor)
        .header("If-Match", "\"1\"")
        .json(&edited);
    let updated = crate::support::TestNode::answer(req).await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    assert_eq!(updated.body["version"], 2);
    assert_eq!(updated.body["maturity"], "good");
    assert_eq!(updated.body["createdAt"], created.body["createdAt"]);

    let versions = node.get(&format!("/api/v1/practices/{id}/versions")).await;
    assert_eq!(versions.body["items"].as_array().unwrap().len(), 2);
    let v1 = node
        .get(&format!("/api/v1/practices/{id}/versions/1"))
        .await;
    assert_eq!(v1.body["maturity"], "promising");
    let current = node.get(&format!("/api/v1/practices/{id}")).await;
    assert_eq!(current.body["version"], 2);
    assert_eq!(current.headers["etag"], "\"2\"");

    // the body's own version works as If-Match when the header is absent
    let stale = node
        .send(
            Method::PUT,
            &format!("/api/v1/practices/{id}"),
            Some(&node.editor),
            Some(created.body.clone()),
        )
        .await;
    assert_eq!(stale.status, 412, "{}", stale.body);
    assert_eq!(stale.body["currentVersion"], 2);

    let deleted = node
        .send(
            Method::DELETE,
            &format!("/api/v1/practices/{id}"),
            Some(&node.editor),
            None,
        )
        .await;
    assert_eq!(deleted.status, 204);
    let gone = node.get(&format!("/api/v1/practices/{id}")).await;
    assert_eq!(gone.status, 410);
    assert!(gone.is_problem());
    // history survives deletion
    assert_eq!(
        node.get(&format!("/api/v1/practices/{id}/versions/2"))
            .await
            .status,
        200
    );
    assert_eq!(node.count("practices").await, 0);
}

#[tokio::test]
async fn lists_filter_search_in_every_language_and_page() {
    let node = spawn_node().await;
    let mut other = practice_json();
    other["title"] = json!({"it": "Orti urbani", "en": "Urban gardens"});
    other["summary"] = json!({"it": "Giardini condivisi"});
    other["problem"] = json!({"it": "Isolamento sociale"});
    other["solution"] = json!({"it": "Orti gestiti dai residenti"});
    other["originalLanguage"] = json!("it");
    other["translations"] = json!({});
    other["country"] = json!("IT");
    other["region"] = json!("ITC4");
    other["themes"] = json!(["environment"]);
    other["sdgTargets"] = json!(["11.7"]);
    assert_eq!(
        node.post("/api/v1/practices", other.clone()).await.status,
        201
    );
    for _ in 0..3 {
        assert_eq!(
            node.post("/api/v1/practices", practice_json()).await.status,
            201
        );
    }
    let ids = |a: &crate::support::Answer| a.body["items"].as_array().unwrap().len();
    assert_eq!(ids(&node.get("/api/v1/practices?country=IT").await), 1);
    assert_eq!(ids(&node.get("/api/v1/practices?country=ro").await), 3);
    assert_eq!(
        ids(&node.get("/api/v1/practices?theme=environment").await),
        1
    );
    assert_eq!(ids(&node.get("/api/v1/practices?sdg=4.1").await), 3);
    assert_eq!(ids(&node.get("/api/v1/practices?language=it").await), 1);
    assert_eq!(ids(&node.get("/api/v1/practices?language=en").await), 4);
    // diacritics are folded: "scoala" finds "Școala"; search spans languages
    assert_eq!(ids(&node.get("/api/v1/practices?q=scoala").await), 3);
    assert_eq!(
        ids(&node.get("/api/v1/practices?q=orti%20residenti").await),
        1
    );
    assert_eq!(ids(&node.get("/api/v1/practices?q=gardens").await), 1);
    assert_eq!(
        ids(&node.get("/api/v1/practices?q=nothing-like-this").await),
        0
    );
    // an update replaces the practice's full-text rows (found by the new words only) and a
    // deletion removes them; the other practices stay findable
    let gardens = node.get("/api/v1/practices?q=gardens").await;
    let it_id = gardens.body["items"][0]["id"].as_str().unwrap().to_string();
    let mut current = node.get(&format!("/api/v1/practices/{it_id}")).await.body;
    current["title"] = json!({"it": "Orti urbani", "en": "Rooftop allotments"});
    let updated = node
        .send(
            Method::PUT,
            &format!("/api/v1/practices/{it_id}"),
            Some(&node.editor),
            Some(current),
        )
        .await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    assert_eq!(ids(&node.get("/api/v1/practices?q=gardens").await), 0);
    assert_eq!(ids(&node.get("/api/v1/practices?q=allotments").await), 1);
    assert_eq!(ids(&node.get("/api/v1/practices?q=orti").await), 1);
    assert_eq!(ids(&node.get("/api/v1/practices?q=scoala").await), 3);
    let deleted = node
        .send(
            Method::DELETE,
            &format!("/api/v1/practices/{it_id}"),
            Some(&node.editor),
            None,
        )
        .await;
    assert_eq!(deleted.status, 204);
    assert_eq!(ids(&node.get("/api/v1/practices?q=orti").await), 0);
    assert_eq!(ids(&node.get("/api/v1/practices?q=scoala").await), 3);
    let recreated = node.post("/api/v1/practices", other).await;
    assert_eq!(recreated.status, 201, "{}", recreated.body);
    // pagination: newest first, a next link until the end
    let first = node.get("/api/v1/practices?limit=3").await;
    assert_eq!(ids(&first), 3);
    assert_eq!(first.body["items"][0]["country"], "IT");
    let next = first.body["next"].as_str().unwrap().to_string();
    let second = node.get(&next).await;
    assert_eq!(ids(&second), 1);
    assert_eq!(second.body["next"], serde_json::Value::Null);
    assert_eq!(second.body["items"][0]["country"], "RO");
    // a filter that does not exist is refused rather than ignored
    let typo = node.get("/api/v1/practices?contry=IT").await;
    assert_eq!(typo.status, 400);
    assert_eq!(typo.fields(), vec!["contry"]);
}

#[tokio::test]
async fn evaluations_are_pinned_to_indicator_versions() {
    let node = spawn_node().await;
    let practice = node.post("/api/v1/practices", practice_json()).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let ind = node.post("/api/v1/indicators", indicator_json()).await;
    assert_eq!(ind.status, 201, "{}", ind.body);
    // a definition is immutable: same code@version again is a conflict
    assert_eq!(
        node.post("/api/v1/indicators", indicator_json())
            .await
            .status,
        409
    );
    let eval = node
        .post("/api/v1/evaluations", evaluation_json(&practice))
        .await;
    assert_eq!(eval.status, 201, "{}", eval.body);
    // the practice version evaluated is pinned at creation
    assert_eq!(eval.body["subject"]["practiceVersion"], 1);
    let by_indicator = node.get("/api/v1/evaluations?indicator=esl-rate@1").await;
    assert_eq!(by_indicator.body["items"].as_array().unwrap().len(), 1);
    let by_practice = node
        .get(&format!("/api/v1/evaluations?practice={practice}"))
        .await;
    assert_eq!(by_practice.body["items"].as_array().unwrap().len(), 1);
    // an indicator in use cannot be withdrawn
    let del = node
        .send(
            Method::DELETE,
            "/api/v1/indicators/esl-rate@1",
            Some(&node.editor),
            None,
        )
        .await;
    assert_eq!(del.status, 409, "{}", del.body);
    assert_eq!(
        node.get("/api/v1/indicators/esl-rate@1").await.body["measure"],
        "percentage"
    );
}

#[tokio::test]
async fn indicator_catalogues_import_from_csv_all_or_nothing() {
    let node = spawn_node().await;
    let csv = "code,version,label:en,label:ro,unit,measure,direction,aggregation,disaggregations,esf\n\
               participants,1,Participants,Participanți,persons,count,increase,sum,sex=female|male|nonBinary|unknown,EECO01\n\
               employed-6m,1,Employed after 6 months,Angajați după 6 luni,%,percentage,increase,mean,,\n";
    let req = node
        .client
        .post(format!("{}/api/v1/indicators/import", node.base))
        .bearer_auth(&node.editor)
        .header("Content-Type", "text/csv")
        .body(csv);
    let ok = crate::support::TestNode::answer(req).await;
    assert_eq!(ok.status, 201, "{}", ok.body);
    assert_eq!(
        node.get("/api/v1/indicators").await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let bad = "code,version,label:en,unit,measure,direction,aggregation\nnew-one,1,New,%,percentage,increase,mean\nbroken,1,Broken,%,percent,increase,mean\n";
    let req = node
        .client
        .post(format!("{}/api/v1/indicators/import", node.base))
        .bearer_auth(&node.editor)
        .header("Content-Type", "text/csv")
        .body(bad);
    let refused = crate::support::TestNode::answer(req).await;
    assert_eq!(refused.status, 422);
    assert_eq!(refused.fields(), vec!["row 3.measure"]);
    assert_eq!(
        node.get("/api/v1/indicators").await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "nothing of a refused file is kept"
    );
}

#[tokio::test]
async fn tokens_roles_and_export() {
    let node = spawn_node().await;
    let made = node
        .send(
            Method::POST,
            "/api/v1/tokens",
            Some(&node.admin),
            Some(json!({"role": "reader", "label": "board"})),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let token = made.body["token"].as_str().unwrap().to_string();
    assert_eq!(
        node.send(Method::GET, "/api/v1/practices", Some(&token), None)
            .await
            .status,
        200
    );
    let listed = node
        .send(Method::GET, "/api/v1/tokens", Some(&node.admin), None)
        .await;
    assert!(
        !listed.body.to_string().contains(&token),
        "tokens are never shown again"
    );
    let id = made.body["id"].as_str().unwrap();
    let entry = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .unwrap()
        .clone();
    assert!(entry["lastUsedAt"].is_string(), "use is recorded: {entry}");
    assert_eq!(
        node.send(
            Method::DELETE,
            &format!("/api/v1/tokens/{id}"),
            Some(&node.admin),
            None
        )
        .await
        .status,
        204
    );
    assert_eq!(
        node.send(Method::GET, "/api/v1/practices", Some(&token), None)
            .await
            .status,
        401
    );

    let profile =
        json!({"name": {"ro": "Asociația Exemplu"}, "country": "RO", "languages": ["ro", "en"]});
    assert_eq!(
        node.send(
            Method::PUT,
            "/api/v1/organisation",
            Some(&node.editor),
            Some(profile.clone())
        )
        .await
        .status,
        403
    );
    assert_eq!(
        node.send(
            Method::PUT,
            "/api/v1/organisation",
            Some(&node.admin),
            Some(profile)
        )
        .await
        .status,
        200
    );
    node.post("/api/v1/practices", practice_json()).await;
    let export = node
        .send(Method::GET, "/api/v1/export", Some(&node.admin), None)
        .await;
    assert_eq!(export.body["format"], "punte-export/v1");
    assert_eq!(export.body["organisation"]["country"], "RO");
    assert_eq!(export.body["practices"].as_array().unwrap().len(), 1);
    assert_eq!(
        node.send(Method::GET, "/api/v1/export", Some(&node.editor), None)
            .await
            .status,
        403
    );
    let health = node
        .client
        .get(format!("{}/healthz", node.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let context = node
        .client
        .get(format!("{}/ns/v1", node.base))
        .send()
        .await
        .unwrap();
    assert_eq!(context.headers()["content-type"], "application/ld+json");
    let context: serde_json::Value = context.json().await.unwrap();
    assert!(context["@context"].is_object(), "{context}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_dropped_while_serving_stops_its_workers_without_a_panic() {
    // what the load tools and a test that ends early do: the serving future is dropped
    // from async code while its federation workers still run on their own runtime
    let node = spawn_node().await;
    let health = node.get("/healthz").await;
    assert_eq!(health.status, 200, "{}", health.body);
    node.stopped.abort();
    let ended = node.stopped.await.expect_err("aborted");
    assert!(
        ended.is_cancelled(),
        "dropping the serving future must not panic: {ended}"
    );
}

#[tokio::test]
async fn an_indicator_definition_dereferences_at_its_own_id() {
    let node = spawn_node().await;
    assert_eq!(
        node.post("/api/v1/indicators", indicator_json())
            .await
            .status,
        201
    );
    let id = format!("{}/indicators/esl-rate@1", node.base);
    let res = node
        .client
        .get(&id)
        .header("Accept", "application/activity+json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["id"], id.as_str());
    assert!(
        body["@context"].is_array() || body["@context"].is_string(),
        "{body}"
    );
    assert!(body.to_string().contains("IndicatorDefinition"), "{body}");
    for missing in ["esl-rate@2", "nothing@1", "not-a-reference"] {
        let res = node
            .client
            .get(format!("{}/indicators/{missing}", node.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404, "{missing}");
    }
}
