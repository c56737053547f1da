//! Pre-registration across two nodes: RO registers evaluation plans, then publishes results
//! that follow one and results that deviate from it; a partner (the coordinator) sees
//! `followedPlan` true and false with the deviations, and the ranking's evidence grade moves
//! to `multiplePreregistered` only with two results that followed a plan registered before
//! them. A plan edited after its results no longer counts. Bad plan references are refused.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{
    TestNode, admin, follow_and_approve, indicator_json, practice_json, spawn_node, synced,
};

fn plan(practice: &str) -> Value {
    json!({
        "subject": {"practice": practice},
        "evaluator": {"name": "Evaluator", "role": "external"},
        "method": "prePost",
        "evidenceLevel": 3,
        "period": {"start": "2024-09-01", "end": "2025-06-30"},
        "stage": "plan",
        "values": [{"indicator": "esl-rate@1", "baseline": 20.0, "target": 12.0}]
    })
}

fn results(practice: &str, plan: Option<&str>, baseline: f64, actual: f64) -> Value {
    let mut r = json!({
        "subject": {"practice": practice},
        "evaluator": {"name": "Evaluator", "role": "external"},
        "method": "prePost",
        "evidenceLevel": 3,
        "period": {"start": "2024-09-01", "end": "2025-06-30"},
        "values": [{"indicator": "esl-rate@1", "baseline": baseline, "actual": actual, "n": 200}]
    });
    if let Some(p) = plan {
        r["plan"] = json!(p);
    }
    r
}

async fn created(node: &TestNode, body: Value) -> String {
    let a = node.post("/api/v1/evaluations", body).await;
    assert_eq!(a.status, 201, "{}", a.body);
    a.body["id"].as_str().unwrap().to_owned()
}

/// Replaces an evaluation with `edit` applied to its current version.
async fn edited(node: &TestNode, id: &str, edit: impl FnOnce(&mut Value)) {
    let path = format!("/api/v1/evaluations/{id}");
    let mut current = node.get(&path).await.body;
    edit(&mut current);
    let a = node
        .send(Method::PUT, &path, Some(&node.editor), Some(current))
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
}

/// The effect rows by evaluation URL, and the one practice's evidence grade, on `node`.
async fn analysis(node: &TestNode) -> (Vec<Value>, Value) {
    let effects = admin(
        node,
        Method::GET,
        "/api/v1/analysis/esl-rate@1/effects",
        None,
    )
    .await;
    let ranking = admin(
        node,
        Method::GET,
        "/api/v1/analysis/esl-rate@1/ranking",
        None,
    )
    .await;
    assert_eq!(ranking["practices"].as_array().unwrap().len(), 1);
    (
        effects["rows"].as_array().unwrap().clone(),
        ranking["practices"][0]["evidenceGrade"].clone(),
    )
}

fn row<'a>(rows: &'a [Value], origin: &TestNode, id: &str) -> &'a Value {
    let url = format!("{}/evaluations/{id}", origin.base);
    rows.iter()
        .find(|r| r["evaluation"] == url.as_str())
        .unwrap_or_else(|| panic!("no row for {url}: {rows:#?}"))
}

fn deviation_kinds(row: &Value) -> Vec<&str> {
    row["planDeviations"]
        .as_array()
        .map(|d| d.iter().map(|d| d["kind"].as_str().unwrap()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn results_that_follow_a_plan_registered_before_them_raise_the_evidence_grade() {
    let (ro, co) = tokio::join!(spawn_node(), spawn_node());
    for node in [&ro, &co] {
        let a = node.post("/api/v1/indicators", indicator_json()).await;
        assert_eq!(a.status, 201, "{}", a.body);
    }
    let p = ro.post("/api/v1/practices", practice_json()).await;
    let p = p.body["id"].as_str().unwrap().to_owned();
    let other = ro.post("/api/v1/practices", practice_json()).await;
    let other = other.body["id"].as_str().unwrap().to_owned();

    // Plan A, then results that follow it and results that changed the method.
    let plan_a = created(&ro, plan(&p)).await;
    let followed = created(&ro, results(&p, Some(&plan_a), 20.0, 10.0)).await;
    let mut monitoring = results(&p, Some(&plan_a), 22.0, 12.0);
    monitoring["method"] = json!("monitoring");
    let deviating = created(&ro, monitoring).await;
    // Editing results later keeps their first publication: still after the plan.
    edited(&ro, &followed, |e| {
        e["title"] = json!({"en": "Final report"})
    })
    .await;

    // Bad references are refused, naming the field.
    for (body, what) in [
        (results(&p, Some("no-such-plan"), 20.0, 10.0), "unknown"),
        (
            results(&p, Some(&followed), 20.0, 10.0),
            "a results evaluation",
        ),
        (
            results(&other, Some(&plan_a), 20.0, 10.0),
            "another subject",
        ),
    ] {
        let refused = ro.post("/api/v1/evaluations", body).await;
        assert_eq!(refused.status, 422, "{what}: {}", refused.body);
        assert_eq!(refused.fields(), vec!["plan".to_owned()], "{what}");
    }
    let mut plan_naming_plan = plan(&p);
    plan_naming_plan["plan"] = json!(plan_a);
    let refused = ro.post("/api/v1/evaluations", plan_naming_plan).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(refused.fields(), vec!["plan".to_owned()]);

    // The partner sees one result that followed its plan and one that did not.
    follow_and_approve(&co, &ro).await;
    synced(&co, &ro).await;
    let (rows, grade) = analysis(&co).await;
    assert_eq!(rows.len(), 2, "the plan gives no row: {rows:#?}");
    let r = row(&rows, &ro, &followed);
    assert_eq!(r["followedPlan"], true, "{r:#}");
    assert_eq!(r["plan"], format!("{}/evaluations/{plan_a}", ro.base));
    assert!(r.get("planDeviations").is_none());
    let r = row(&rows, &ro, &deviating);
    assert_eq!(r["followedPlan"], false);
    assert_eq!(
        r["planDeviations"],
        json!([{"kind": "methodChanged", "planned": "prePost", "reported": "monitoring"}])
    );
    assert_eq!(grade, "multiple");
    // RO's own analysis says the same of its own evaluations.
    let (own_rows, own_grade) = analysis(&ro).await;
    assert_eq!(row(&own_rows, &ro, &followed)["followedPlan"], true);
    assert_eq!(row(&own_rows, &ro, &deviating)["followedPlan"], false);
    assert_eq!(own_grade, "multiple");

    // Plan B and results that follow it: two pre-registered results.
    let plan_b = created(&ro, plan(&p)).await;
    let second = created(&ro, results(&p, Some(&plan_b), 18.0, 9.0)).await;
    synced(&co, &ro).await;
    let (rows, grade) = analysis(&co).await;
    assert_eq!(row(&rows, &ro, &second)["followedPlan"], true);
    assert_eq!(grade, "multiplePreregistered");
    assert_eq!(analysis(&ro).await.1, "multiplePreregistered");

    // Plan B edited after its results were published: it no longer counts.
    edited(&ro, &plan_b, |e| e["summary"] = json!({"en": "Revised"})).await;
    synced(&co, &ro).await;
    let (rows, grade) = analysis(&co).await;
    let r = row(&rows, &ro, &second);
    assert_eq!(r["followedPlan"], false, "{r:#}");
    assert_eq!(deviation_kinds(r), ["planChangedAfterResults"]);
    assert_eq!(grade, "multiple");
    let (own_rows, own_grade) = analysis(&ro).await;
    assert_eq!(
        deviation_kinds(row(&own_rows, &ro, &second)),
        ["planChangedAfterResults"]
    );
    assert_eq!(own_grade, "multiple");

    // The CSV says so too.
    let csv = co
        .client
        .get(format!(
            "{}/api/v1/analysis/esl-rate@1/effects?format=csv",
            co.base
        ))
        .bearer_auth(&co.reader)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        csv.contains("method changed from prePost to monitoring"),
        "{csv}"
    );

    for n in [ro, co] {
        n.handle.stop(true).await;
    }
}
