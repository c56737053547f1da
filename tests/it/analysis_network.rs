//! Issue #12 across a network in-process: the 13 BCG trials (metafor's `dat.bcg`) recorded by
//! four organisations on four nodes, all as evidence for one practice of the first. The others
//! adapt that practice, its organisation countersigns each adaptation, and each records its
//! trials as evaluations of its adaptation. A coordinator that follows the four reads the
//! analysis through the API and the Compare page: the pooled estimate is metafor's published
//! REML + Hartung–Knapp figure, as on one node (sources in
//! `crates/punte-model/tests/vectors/README.md`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::sync::Arc;

use reqwest::Method;
use serde_json::{Value, json};

use crate::analysis::bcg;
use crate::support::{TestNode, admin, eventually, follow, partner_with, practice_json, synced};
use crate::web::{Browser, unescape};

/// `escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)`: yi
/// of the 13 trials as printed in metafor's documentation (4 decimals).
const BCG_YI: [f64; 13] = [
    -0.8893, -1.5854, -1.3481, -1.4416, -0.2175, -0.7861, -1.6209, 0.0120, -0.4694, -1.3713,
    -0.3394, 0.4459, -0.0173,
];

/// Which organisation records which trials (indices into [`bcg`]): the origin four, the
/// adopters three each.
const SPLIT: [std::ops::Range<usize>; 4] = [0..4, 4..7, 7..10, 10..13];

async fn created(node: &TestNode, path: &str, body: Value) -> String {
    let a = node.post(path, body).await;
    assert_eq!(a.status, 201, "{path}: {}", a.body);
    a.body["id"].as_str().unwrap().to_owned()
}

/// A trial as a two-group evaluation of `subject` (a practice or an adaptation).
fn trial(subject: Value, (a, n1, c, n2): (u64, u64, u64, u64)) -> Value {
    let cell = |e: u64, n: u64| json!({"n": n, "events": e, "mean": e as f64 / n as f64});
    json!({
        "subject": subject,
        "evaluator": {"name": "Trial team", "role": "external"},
        "method": "rct",
        "evidenceLevel": 5,
        "period": {"start": "1948-01-01"},
        "values": [{
            "indicator": "tb-cases@1",
            "groups": {
                "intervention": {"followUp": cell(a, n1)},
                "comparison": {"followUp": cell(c, n2)}
            }
        }]
    })
}

fn within(got: &Value, published: f64, what: &str) {
    let got = got
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: {got} is not a number"));
    // published to 4 decimals: within half a unit of the last digit
    assert!(
        (got - published).abs() <= 5e-5,
        "{what}: {got}, published {published}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bcg_trials_of_four_organisations_pool_on_a_coordinator_to_metafors_estimate() {
    // Every node publishes every cell (k = 1), as the single-node test does: with the default
    // k = 5, trials 1, 3 and 12 would be suppressed.
    let k1 = |c: &mut punte_server::Config| c.disclosure.k = 1;
    let (ro, it, es, pt, co) = tokio::join!(
        partner_with("RO", k1),
        partner_with("IT", k1),
        partner_with("ES", k1),
        partner_with("PT", k1),
        partner_with("BE", k1),
    );
    let co = Arc::new(co);
    let nodes = [&ro, &it, &es, &pt];

    // The coordinator publishes the indicator; the four import it from their replicas.
    let indicator = json!({
        "code": "tb-cases",
        "version": 1,
        "label": {"en": "Tuberculosis cases"},
        "unit": "share",
        "measure": "proportion",
        "direction": "decrease",
        "aggregation": "sum"
    });
    let a = co.post("/api/v1/indicators", indicator).await;
    assert_eq!(a.status, 201, "{}", a.body);
    tokio::join!(
        follow(&ro, &co),
        follow(&it, &co),
        follow(&es, &co),
        follow(&pt, &co)
    );
    let co_actor = format!("{}/actor", co.base);
    for node in nodes {
        synced(node, &co).await;
        let imported = admin(
            node,
            Method::POST,
            "/api/v1/catalogue/import",
            Some(json!({"actor": co_actor})),
        )
        .await;
        assert_eq!(imported["imported"], json!(["tb-cases@1"]), "{imported}");
    }

    // RO's practice; IT, ES and PT follow RO and adapt it.
    let ro_actor = format!("{}/actor", ro.base);
    let practice = created(&ro, "/api/v1/practices", practice_json()).await;
    let practice_url = format!("{}/practices/{practice}", ro.base);
    tokio::join!(follow(&it, &ro), follow(&es, &ro), follow(&pt, &ro));
    let mut adaptations = Vec::new();
    for (node, country) in [(&it, "IT"), (&es, "ES"), (&pt, "PT")] {
        let id = created(
            node,
            "/api/v1/adaptations",
            json!({
                "origin": {"practice": practice_url, "version": 1, "organisation": ro_actor},
                "context": {"en": format!("Vaccination programme in {country}")},
                "country": country,
                "modifications": [],
                "fidelity": {"coreComponentsKept": [1]},
                "scaling": "horizontal",
                "state": "implemented"
            }),
        )
        .await;
        adaptations.push(format!("{}/adaptations/{id}", node.base));
        // the trials of this organisation are evidence for its adaptation
    }
    // RO receives the three adaptations and countersigns each.
    eventually(60, "RO to receive the three adaptations", || async {
        let incoming = admin(&ro, Method::GET, "/api/v1/adaptations/incoming", None).await;
        (incoming["items"].as_array().unwrap().len() == 3).then_some(())
    })
    .await;
    for url in &adaptations {
        let signed = admin(
            &ro,
            Method::POST,
            "/api/v1/adaptations/countersign",
            Some(json!({ "adaptation": url })),
        )
        .await;
        assert!(signed["countersignature"].is_object(), "{signed}");
    }

    // The trials: RO's on its practice, the others' on their adaptations.
    let trials = bcg();
    assert_eq!(trials.len(), 13);
    let mut evaluations = vec![String::new(); 13];
    for (i, node) in nodes.iter().enumerate() {
        let subject = if i == 0 {
            json!({"practice": practice})
        } else {
            let url = &adaptations[i - 1];
            json!({"adaptation": url.rsplit('/').next().unwrap()})
        };
        for t in SPLIT[i].clone() {
            let id = created(
                node,
                "/api/v1/evaluations",
                trial(subject.clone(), trials[t]),
            )
            .await;
            evaluations[t] = format!("{}/evaluations/{id}", node.base);
        }
    }

    // The coordinator follows the four and replicates their logs.
    tokio::join!(
        follow(&co, &ro),
        follow(&co, &it),
        follow(&co, &es),
        follow(&co, &pt)
    );
    for node in nodes {
        synced(&co, node).await;
    }

    // Each row on the coordinator: metafor's yi of its trial (sign flipped: fewer cases is
    // better), from the node and for the practice it came from.
    let effects = admin(
        &co,
        Method::GET,
        "/api/v1/analysis/tb-cases@1/effects",
        None,
    )
    .await;
    assert_eq!(effects["ownRows"], 0, "{effects:#}");
    assert_eq!(effects["replicaRows"], 13, "{effects:#}");
    assert_eq!(effects["partners"], 4, "{effects:#}");
    let rows = effects["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 13, "{effects:#}");
    for (i, range) in SPLIT.iter().enumerate() {
        for t in range.clone() {
            let row = rows
                .iter()
                .find(|r| r["evaluation"] == evaluations[t].as_str())
                .unwrap_or_else(|| panic!("no row for trial {}: {effects:#}", t + 1));
            assert_eq!(row["outcome"]["status"], "estimated", "{row:#}");
            within(
                &row["outcome"]["estimate"],
                -BCG_YI[t],
                &format!("trial {}", t + 1),
            );
            assert_eq!(row["organisation"], format!("{}/actor", nodes[i].base));
            assert_eq!(row["practice"], practice_url.as_str(), "{row:#}");
            if i > 0 {
                assert_eq!(row["adaptation"], adaptations[i - 1].as_str(), "{row:#}");
            }
        }
    }

    // The ranking: one practice, its 13 evaluations pooled by default (every adaptation is
    // countersigned), and replicated in 3 countries by 3 organisations.
    let ranking = admin(
        &co,
        Method::GET,
        "/api/v1/analysis/tb-cases@1/ranking",
        None,
    )
    .await;
    let practices = ranking["practices"].as_array().unwrap();
    assert_eq!(practices.len(), 1, "{ranking:#}");
    let first = &practices[0];
    assert_eq!(first["practice"], practice_url.as_str());
    assert_eq!(first["evaluations"], 13, "{first:#}");
    assert_eq!(first["excluded"], 0, "{first:#}");
    assert_eq!(first["replications"]["organisations"], 3, "{first:#}");
    assert_eq!(first["replications"]["countries"], 3, "{first:#}");
    let pooled = &first["pooled"];
    assert_eq!(pooled["estimator"], "reml");
    assert_eq!(pooled["ciMethod"], "hartungKnapp");
    // rma(yi, vi, test = "knha") on dat.bcg: -0.7145 (-1.1084, -0.3206), tau^2 0.3132; the
    // signs flip as the indicator's better direction is a decrease.
    within(&pooled["estimate"], 0.7145, "estimate");
    within(&pooled["ciLower"], 0.3206, "lower");
    within(&pooled["ciUpper"], 1.1084, "upper");
    within(&pooled["tau2"], 0.3132, "tau^2");
    assert_eq!(first["verdict"], "improves");

    // The Compare page of the coordinator shows that estimate as it formats numbers (two
    // decimals): 0.71 [0.32, 1.11], I² 92.22 % as 92 %.
    let browser = Browser::new_for(&co);
    assert_eq!(browser.sign_in(&co.reader).await.status, 303);
    let page = browser.get("/compare?indicator=tb-cases@1").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let body = unescape(&page.body);
    let table = &body[body
        .find("<table class=\"ranking\"")
        .unwrap_or_else(|| panic!("no ranking: {body}"))..];
    let table = &table[..table.find("</table>").unwrap()];
    assert_eq!(table.matches("<tr class=\"verdict-").count(), 1, "{table}");
    assert!(table.contains("0.71 [0.32, 1.11]"), "{table}");
    assert!(table.contains("92 %"), "{table}");
    assert!(table.contains("After-school club"), "{table}");
    let effects_table = &body[body.find("<table class=\"effects\"").unwrap()..];
    let effects_table = &effects_table[..effects_table.find("</table>").unwrap()];
    assert_eq!(
        effects_table.matches("<tr class=\"verdict-").count(),
        13,
        "{effects_table}"
    );
    // the pooled diamond of the forest plot, beside the 13 trials' squares
    assert_eq!(page.body.matches("<rect ").count(), 13, "{}", page.body);
    assert!(page.body.matches("<polygon ").count() >= 1);

    for n in [ro, it, es, pt] {
        n.handle.stop(true).await;
    }
    co.handle.stop(true).await;
}
