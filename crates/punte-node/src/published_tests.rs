//! Each evaluation version is recorded as it was published, in the transaction that publishes
//! it: what the node serves afterwards is what its log signed, under the `k` of that day, and
//! versions stored before the record existed are decided again the same way.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use serde_json::{Value, json};

use punte_model::{Evaluation, IndicatorDefinition, Practice};

use crate::{Document as _, Node, NodeSettings};

fn open(dir: &std::path::Path, k: u64) -> Node {
    Node::open(NodeSettings {
        data_dir: dir.join("data"),
        base_url: "https://ngo.example.org".into(),
        disclosure_k: k,
    })
    .unwrap()
}

fn setup(node: &Node) -> String {
    let definition: IndicatorDefinition = serde_json::from_value(json!({
        "code": "esl-rate", "version": 1,
        "label": {"en": "Early school leaving rate"},
        "unit": "%", "measure": "percentage", "direction": "decrease", "aggregation": "mean",
        "disaggregations": [{"dimension": "sex", "categories": ["female", "male"]}]
    }))
    .unwrap();
    node.create_indicator(definition).unwrap();
    let practice: Practice = node
        .create(
            serde_json::from_value(json!({
                "title": {"en": "Mentoring"}, "summary": {"en": "Homework support"},
                "problem": {"en": "Early school leaving"}, "solution": {"en": "Mentors"},
                "originalLanguage": "en", "country": "RO", "themes": ["education"],
                "maturity": "promising"
            }))
            .unwrap(),
        )
        .unwrap();
    practice.id
}

fn content(practice: &str, values: Value) -> punte_model::evaluation::EvaluationContent {
    serde_json::from_value(json!({
        "subject": {"practice": practice, "practiceVersion": 1},
        "evaluator": {"name": "Evaluator", "role": "external"},
        "method": "prePost", "evidenceLevel": 3,
        "period": {"start": "2024-09-01", "end": "2025-06-30"},
        "stage": "results",
        "values": values
    }))
    .unwrap()
}

/// 10 women (5 of them leaving early) and 30 men (9): every group of at least 5 people,
/// and of fewer than 10.
fn cells() -> Value {
    json!([
        {"indicator": "esl-rate@1", "actual": 35.0, "n": 40},
        {"indicator": "esl-rate@1", "actual": 50.0, "n": 10, "disaggregation": {"sex": "female"}},
        {"indicator": "esl-rate@1", "actual": 30.0, "n": 30, "disaggregation": {"sex": "male"}}
    ])
}

/// The values of the evaluation object in the last log entry.
fn last_signed_values(node: &Node) -> Value {
    let size = node.log_size().unwrap();
    let entry = node
        .store()
        .read(|conn| punte_store::log::entry(conn, size - 1))
        .unwrap();
    let activity: Value = serde_json::from_slice(&entry.activity.unwrap()).unwrap();
    activity["object"]["indicatorValues"].clone()
}

/// The AS2 `indicatorValues` of `evaluation` as this node writes them.
fn object_values(node: &Node, evaluation: &Evaluation) -> Value {
    let urls = punte_protocol::urls::NodeUrls::new(&node.settings().base_url).unwrap();
    // as signed: canonical JSON (RFC 8785 writes 35.0 as 35)
    let object = evaluation.to_object(&urls);
    let canonical = punte_protocol::jcs::canonicalize(&object["indicatorValues"]).unwrap();
    serde_json::from_slice(&canonical).unwrap()
}

fn hidden(values: &[punte_model::evaluation::IndicatorValue]) -> Vec<bool> {
    values.iter().map(|v| v.suppressed.is_some()).collect()
}

#[test]
fn a_published_version_is_served_as_signed_under_the_k_of_its_day() {
    let dir = tempfile::tempdir().unwrap();
    let (id, signed) = {
        let node = open(dir.path(), 5);
        let practice = setup(&node);
        let e: Evaluation = node.create(content(&practice, cells())).unwrap();
        let (published, reasons) = node.evaluation_disclosure(&e.id).unwrap();
        assert_eq!(hidden(&published.content.values), [false, false, false]);
        assert_eq!(reasons, [None, None, None]);
        let row = node
            .store()
            .read(|conn| punte_store::documents::published_evaluation(conn, &e.id, 1))
            .unwrap()
            .expect("recorded in the publishing transaction");
        assert_eq!(row.k, 5);
        (e.id, last_signed_values(&node))
    };

    // the operator raises k to 10: version 1 is on partners' replicas with its 5 women;
    // the node goes on serving it as signed, not as if it had been published under 10
    let node = open(dir.path(), 10);
    let (published, _) = node.evaluation_disclosure(&id).unwrap();
    assert_eq!(hidden(&published.content.values), [false, false, false]);
    assert_eq!(object_values(&node, &published), signed);
    // what `/objects/{id}` serves goes the same way
    let current: Evaluation = node.get(&id, None).unwrap();
    let served = node
        .store()
        .read(|conn| current.for_publication(conn, 10))
        .unwrap();
    assert_eq!(object_values(&node, &served), signed);

    // the next version is decided under 10: the 5 women are now a small group
    let practice = published.content.subject.practice.clone().unwrap();
    let preview = node
        .preview_evaluation(Some(&id), content(&practice, cells()))
        .unwrap();
    assert_eq!(preview.k, 10);
    assert!(preview.values[1].suppressed.is_some(), "{preview:?}");
    let v2: Evaluation = node
        .update(&id, Some(1), content(&practice, cells()))
        .unwrap();
    let (published, reasons) = node.evaluation_disclosure(&v2.id).unwrap();
    assert_eq!(published.version, 2);
    assert_eq!(hidden(&published.content.values), hidden(&preview.values));
    assert_eq!(reasons, preview.reasons);
    assert_eq!(object_values(&node, &published), last_signed_values(&node));
}

#[test]
fn versions_stored_before_the_record_are_decided_again_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let node = open(dir.path(), 5);
    let practice = setup(&node);
    // version 1 hides 3 women; version 2 has 10 (hidden: they were hidden before)
    let three = json!([
        {"indicator": "esl-rate@1", "actual": 30.0, "n": 40},
        {"indicator": "esl-rate@1", "actual": 0.0, "n": 3, "disaggregation": {"sex": "female"}},
        {"indicator": "esl-rate@1", "actual": 30.0, "n": 37, "disaggregation": {"sex": "male"}}
    ]);
    let e: Evaluation = node.create(content(&practice, three)).unwrap();
    let v2: Evaluation = node
        .update(&e.id, Some(1), content(&practice, cells()))
        .unwrap();
    let recorded = node.evaluation_disclosure(&v2.id).unwrap();
    assert!(recorded.0.content.values[1].suppressed.is_some());

    // a node upgraded from before the record: no rows, the same answer recomputed when read
    let forget = |node: &Node| {
        node.store()
            .write(|tx| -> punte_store::Result<usize> {
                Ok(tx.execute("DELETE FROM published_evaluations", [])?)
            })
            .unwrap()
    };
    assert_eq!(forget(&node), 2);
    let recomputed = node.evaluation_disclosure(&v2.id).unwrap();
    assert_eq!(recomputed, recorded);
    // and recorded when the node opens: both versions, once
    drop(node);
    let node = open(dir.path(), 5);
    let rows = node
        .store()
        .read(punte_store::documents::unrecorded_evaluation_versions)
        .unwrap();
    assert_eq!(rows, []);
    assert_eq!(node.evaluation_disclosure(&v2.id).unwrap(), recorded);
    drop(node);
    let node = open(dir.path(), 5);
    // and a third version is decided against both as they were published
    let preview = node
        .preview_evaluation(Some(&e.id), content(&practice, cells()))
        .unwrap();
    assert_eq!(preview.version, 3);
    assert_eq!(
        preview.reasons[1],
        Some(punte_model::disclosure::Reason::HiddenBefore { version: 1 })
    );
}
