//! The Compare page (issue #6) on one node in-process: pick an indicator, the comparison
//! table with evidence links, the forest plot as inline SVG, the ranking, escaping of
//! practice titles, unknown indicators and signed-out readers; and on a follower, partners'
//! rows named by their profiles and replicated titles.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::sync::Arc;

use reqwest::Method;
use serde_json::json;

use crate::support::{
    admin, evaluation_json, eventually, follow_and_approve, indicator_json, practice_json,
    spawn_node,
};
use crate::web::{Browser, unescape};

#[tokio::test]
async fn compare_shows_table_forest_plot_and_ranking() {
    let browser = Browser::new().await;
    let node = browser.node.clone();

    // Signed-out people are sent to sign in, like /network.
    let page = browser.get("/compare?indicator=esl-rate@1").await;
    assert_eq!(page.status, 303);
    assert!(
        page.location().starts_with("/signin?next="),
        "{}",
        page.location()
    );

    let a = node.post("/api/v1/indicators", indicator_json()).await;
    assert_eq!(a.status, 201, "{}", a.body);
    let mut hostile = practice_json();
    hostile["title"] =
        json!({"ro": "<script>alert(1)</script> școala", "en": "<script>alert(1)</script> club"});
    let first = browser.create_practice(hostile).await;
    let second = browser.create_practice(practice_json()).await;
    for p in [&first, &first, &second] {
        let a = node.post("/api/v1/evaluations", evaluation_json(p)).await;
        assert_eq!(a.status, 201, "{}", a.body);
    }
    let mut worse = evaluation_json(&second);
    worse["values"][0]["actual"] = json!(25.0);
    let a = node.post("/api/v1/evaluations", worse).await;
    assert_eq!(a.status, 201, "{}", a.body);

    assert_eq!(browser.sign_in(&node.reader).await.status, 303);

    // The picker lists the catalogue; the nav links here.
    let page = browser.get("/compare").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.raw_has("href=\"/compare\""));
    assert!(page.raw_has("<option value=\"esl-rate@1\""));
    assert!(!page.raw_has("<svg"));

    let page = browser.get("/compare?indicator=esl-rate@1").await;
    assert_eq!(page.status, 200, "{}", page.body);
    // The forest plot: inline, accessible, scalable, with squares and pooled diamonds.
    assert!(page.raw_has("<svg"), "{}", page.body);
    assert!(page.raw_has("role=\"img\""));
    assert!(page.raw_has("viewBox=\"0 0 640"));
    assert!(page.raw_has("<title id=\"forest-title\">"));
    assert!(page.raw_has("<desc id=\"forest-desc\">"));
    assert_eq!(page.body.matches("<rect ").count(), 4, "{}", page.body);
    assert!(page.body.matches("<polygon ").count() >= 2);
    assert!(page.raw_has("class=\"zero\""));
    // The table: four rows, with evidence links into this node's history.
    assert!(page.has("Evaluations of this indicator"));
    let body = unescape(&page.body);
    let table = &body[body.find("<table class=\"effects\"").unwrap()..];
    let table = &table[..table.find("</table>").unwrap()];
    assert_eq!(table.matches("<tr class=").count(), 4, "{table}");
    assert_eq!(table.matches("href=\"/history/").count(), 4, "{table}");
    assert!(page.has("This organisation"));
    assert!(page.has("18.50") && page.has("12.10") && page.has("25.00"));
    // The ranking with verdicts, including a practice whose evidence is mixed or worse.
    assert!(page.has("Ranking for replication"));
    assert!(page.raw_has("<table class=\"ranking\""));
    assert!(page.has("No clear effect"));
    assert!(page.has("Replication map"));
    // Each row names its design and measure; the pooling method and the switch are explained.
    assert!(
        page.has("baseline vs actual (single-group form)"),
        "{}",
        page.body
    );
    assert!(page.raw_has("<abbr lang=\"en\">RR</abbr>"), "{}", page.body);
    assert!(page.has("restricted maximum likelihood (REML)"));
    assert!(page.raw_has("name=\"uncountersigned\""));
    // The hostile title is escaped everywhere (table, ranking, SVG).
    assert!(!page.raw_has("<script>alert"), "{}", page.body);
    assert!(
        page.raw_has("&lt;script&gt;alert(1)&lt;&#x2f;script&gt; club")
            || page.raw_has("&lt;script&gt;alert(1)&lt;/script&gt; club")
    );

    // Romanian.
    browser.speak("ro");
    let page = browser.get("/compare?indicator=esl-rate@1").await;
    assert_eq!(page.status, 200);
    assert!(page.has("Grafic forest") && page.has("Clasament pentru replicare"));
    assert!(page.has("formă cu un grup"), "{}", page.body);
    browser.speak("en");

    // Unknown or malformed indicators get a clear error page.
    for bad in ["esl-rate@9", "nope@1", "not-a-ref", "%3Cscript%3E"] {
        let page = browser.get(&format!("/compare?indicator={bad}")).await;
        assert_eq!(page.status, 404, "{bad}: {}", page.body);
        assert!(page.has("is not in this node's catalogue"), "{}", page.body);
        assert!(!page.raw_has("<script>"));
    }
}

/// On a node that follows a partner, the partner's rows name it by its organisation profile
/// and its practice by the replicated title (linked to the practice's page on the partner's
/// node), not by their URLs.
#[tokio::test]
async fn partners_rows_carry_their_names_and_titles() {
    let ro = Arc::new(spawn_node().await);
    let it = Arc::new(spawn_node().await);
    for (node, name, country) in [
        (
            &ro,
            json!({"ro": "Asociația Punte", "en": "Punte Association"}),
            "RO",
        ),
        (
            &it,
            json!({"it": "Rete Ponte", "en": "Ponte Network"}),
            "IT",
        ),
    ] {
        admin(
            node,
            Method::PUT,
            "/api/v1/organisation",
            Some(json!({"name": name, "country": country, "languages": ["en"]})),
        )
        .await;
        let a = node.post("/api/v1/indicators", indicator_json()).await;
        assert_eq!(a.status, 201, "{}", a.body);
    }
    follow_and_approve(&it, &ro).await;
    let practice = ro.post("/api/v1/practices", practice_json()).await;
    assert_eq!(practice.status, 201, "{}", practice.body);
    let id = practice.body["id"].as_str().unwrap();
    let practice_url = format!("{}/practices/{id}", ro.base);
    let a = ro.post("/api/v1/evaluations", evaluation_json(id)).await;
    assert_eq!(a.status, 201, "{}", a.body);

    let browser = Browser::new_for(&it);
    assert_eq!(browser.sign_in(&it.reader).await.status, 303);
    let page = eventually(60, "the partner's evaluation on /compare", || async {
        let page = browser.get("/compare?indicator=esl-rate@1").await;
        assert_eq!(page.status, 200, "{}", page.body);
        page.raw_has("<table class=\"effects\"").then_some(page)
    })
    .await;
    let ro_actor = format!("{}/actor", ro.base);
    assert!(page.has("Punte Association"), "{}", page.body);
    assert!(page.has(&format!("title=\"{ro_actor}\"")), "{}", page.body);
    assert!(page.has("After-school club"), "{}", page.body);
    assert!(
        page.has(&format!("href=\"{practice_url}\"")),
        "{}",
        page.body
    );
    // Names follow the reader's language where the profile has it.
    browser.speak("ro");
    let page = browser.get("/compare?indicator=esl-rate@1").await;
    assert!(page.has("Asociația Punte"), "{}", page.body);
    assert!(page.has("Școala de după școală"), "{}", page.body);
}
