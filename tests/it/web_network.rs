//! The network pages with two nodes in-process: an administrator follows a partner through the
//! web form, the partner's administrator approves the request through the web (CSRF refused
//! without the token, editors see no decision forms), the partner's practice appears on
//! `/network/practices` in the reader's language with the partner's name and country, an
//! editor adapts it (origin = the practice's URL, version and the partner), and activity
//! received from the partner joins the live feed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::sync::Arc;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{TestNode, eventually, practice_json, spawn_node};
use crate::web::{Browser, Page};

async fn set_profile(node: &TestNode, name: Value, country: &str) {
    let a = node
        .send(
            Method::PUT,
            "/api/v1/organisation",
            Some(&node.admin),
            Some(json!({"name": name, "country": country, "languages": ["ro", "en"]})),
        )
        .await;
    assert!(a.status < 300, "{} {}", a.status, a.body);
}

async fn api(node: &TestNode, path: &str) -> Value {
    let a = node.send(Method::GET, path, Some(&node.admin), None).await;
    assert_eq!(a.status, 200, "{path}: {}", a.body);
    a.body
}

/// The state of `actor` among `node`'s followers or following (`which`).
async fn relation(node: &TestNode, which: &str, actor: &str) -> Option<String> {
    let body = api(node, &format!("/api/v1/{which}")).await;
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["actor"] == actor)
        .map(|f| f["state"].as_str().unwrap().to_string())
}

/// `href="..."` of the first link whose target starts with `prefix`, character references
/// decoded.
fn link_starting(page: &Page, prefix: &str) -> String {
    let html = crate::web::unescape(&page.body);
    let at = html
        .find(&format!("href=\"{prefix}"))
        .unwrap_or_else(|| panic!("no link to {prefix} in {}", page.body));
    let rest = &html[at + "href=\"".len()..];
    rest[..rest.find('"').unwrap()].to_string()
}

#[tokio::test]
async fn partners_are_followed_approved_and_their_practices_adapted_through_the_web() {
    let ro = Arc::new(spawn_node().await);
    let it = Arc::new(spawn_node().await);
    set_profile(
        &ro,
        json!({"ro": "Asociația Punte", "en": "Punte Association"}),
        "RO",
    )
    .await;
    set_profile(
        &it,
        json!({"ro": "Rete Ponte", "en": "Ponte Network"}),
        "IT",
    )
    .await;
    let practice = ro.post("/api/v1/practices", practice_json()).await;
    assert_eq!(practice.status, 201, "{}", practice.body);
    let practice_url = format!(
        "{}/practices/{}",
        ro.base,
        practice.body["id"].as_str().unwrap()
    );
    let ro_actor = format!("{}/actor", ro.base);
    let it_actor = format!("{}/actor", it.base);

    // Signed-out people are sent to sign in.
    let anonymous = Browser::new_for(&it);
    let page = anonymous.get("/network").await;
    assert_eq!(page.status, 303);
    assert!(
        page.location().starts_with("/signin?next="),
        "{}",
        page.location()
    );

    // IT's administrator follows RO through the form; without the CSRF token nothing is sent.
    let it_admin = Browser::new_for(&it);
    assert_eq!(it_admin.sign_in(&it.admin).await.status, 303);
    let page = it_admin.get("/network").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.has("Follow a partner") && page.raw_has("id=\"handle\" name=\"handle\""));
    assert!(page.has("This node does not follow any partner yet."));
    let refused = it_admin
        .post("/network/follow", &[("handle", ro_actor.as_str())])
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(relation(&it, "following", &ro_actor).await, None);
    let csrf = it_admin.csrf().await;
    let bad = it_admin
        .post(
            "/network/follow",
            &[("csrf", &csrf), ("handle", "not a handle")],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.error_before_input("handle"), "{}", bad.body);
    assert!(bad.raw_has("value=\"not a handle\""));
    let followed = it_admin
        .post(
            "/network/follow",
            &[("csrf", &csrf), ("handle", ro_actor.as_str())],
        )
        .await;
    assert_eq!(followed.status, 303, "{}", followed.body);
    assert_eq!(followed.location(), "/network#following");
    assert_eq!(
        relation(&it, "following", &ro_actor).await.as_deref(),
        Some("pending")
    );
    let page = it_admin.get("/network").await;
    assert!(page.has("waiting for approval"), "{}", page.body);
    assert!(page.has("Punte Association</strong> (RO)"), "{}", page.body);

    // RO sees the request. An editor sees it without the forms and may not decide.
    eventually(30, "the follow request to arrive", || async {
        relation(&ro, "followers", &it_actor)
            .await
            .filter(|s| s == "pending")
    })
    .await;
    let ro_editor = Browser::new_for(&ro);
    ro_editor.sign_in(&ro.editor).await;
    let page = ro_editor.get("/network").await;
    assert_eq!(page.status, 200);
    assert!(page.has("Ponte Network</strong> (IT)"), "{}", page.body);
    assert!(!page.has("action=\"/network/followers/approve\""));
    assert!(page.has("An administrator approves or refuses follow requests."));
    let csrf = ro_editor.csrf().await;
    let denied = ro_editor
        .post(
            "/network/followers/approve",
            &[("csrf", &csrf), ("actor", it_actor.as_str())],
        )
        .await;
    assert_eq!(denied.status, 403);

    // RO's administrator approves through the form: refused without the token, then done.
    let ro_admin = Browser::new_for(&ro);
    ro_admin.sign_in(&ro.admin).await;
    let page = ro_admin.get("/network").await;
    assert!(
        page.has("action=\"/network/followers/approve\""),
        "{}",
        page.body
    );
    assert!(page.has(&format!("name=\"actor\" value=\"{it_actor}\"")));
    let refused = ro_admin
        .post(
            "/network/followers/approve",
            &[("actor", it_actor.as_str())],
        )
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(
        relation(&ro, "followers", &it_actor).await.as_deref(),
        Some("pending")
    );
    let csrf = ro_admin.csrf().await;
    let unknown = ro_admin
        .post(
            "/network/followers/approve",
            &[("csrf", &csrf), ("actor", "https://nobody.example/actor")],
        )
        .await;
    assert_eq!(unknown.status, 404);
    let approved = ro_admin
        .post(
            "/network/followers/approve",
            &[("csrf", &csrf), ("actor", it_actor.as_str())],
        )
        .await;
    assert_eq!(approved.status, 303, "{}", approved.body);
    assert_eq!(approved.location(), "/network#followers");
    assert_eq!(
        relation(&ro, "followers", &it_actor).await.as_deref(),
        Some("accepted")
    );
    let page = ro_admin.get("/network").await;
    assert!(page.has("No follow requests are waiting."));
    assert!(page.has("Accepted followers"));

    // IT: accepted, the replica catches up, the practice appears with RO's name and country.
    eventually(30, "the Accept to arrive", || async {
        relation(&it, "following", &ro_actor)
            .await
            .filter(|s| s == "accepted")
    })
    .await;
    let it_editor = Browser::new_for(&it);
    it_editor.sign_in(&it.editor).await;
    let page = eventually(
        60,
        "the partner's practice on /network/practices",
        || async {
            let page = it_editor.get("/network/practices").await;
            assert_eq!(page.status, 200, "{}", page.body);
            page.has("After-school club").then_some(page)
        },
    )
    .await;
    assert!(page.has("Punte Association</strong> (RO)"), "{}", page.body);
    assert!(
        page.has(&format!("href=\"{practice_url}\"")),
        "{}",
        page.body
    );
    assert!(
        page.has("Original language: ro · version 1"),
        "{}",
        page.body
    );
    assert!(page.has("Adapt this practice"));
    it_editor.speak("ro");
    let page = it_editor.get("/network/practices").await;
    assert!(page.has("Școala de după școală"), "{}", page.body);
    assert!(page.has("Asociația Punte</strong> (RO)"), "{}", page.body);
    assert!(page.has("Adaptează această practică"));
    it_editor.speak("en");
    let page = eventually(60, "the replica to be up to date", || async {
        let page = it_admin.get("/network").await;
        page.has("Up to date").then_some(page)
    })
    .await;
    assert!(page.has("Partners' practices (1)"), "{}", page.body);

    // Adapt it: the form names the partner; the adaptation's origin is the practice's URL.
    let page = it_editor.get("/network/practices").await;
    let adapt = link_starting(&page, "/network/practices/adapt?practice=");
    let form = it_editor.get(&adapt).await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert!(
        form.has("You are adapting a partner's practice"),
        "{}",
        form.body
    );
    assert!(form.has("Punte Association"));
    let csrf = form.csrf();
    let fields = [
        ("csrf", csrf.as_str()),
        ("action", "save"),
        ("lang", "en"),
        ("title", "After-school club in Turin"),
        ("context", "Two schools in a suburb of Turin"),
        ("country", "IT"),
        ("originVersion", "1"),
        ("scaling", "none"),
        ("state", "piloting"),
        ("kept_0", "1"),
        ("what_0", "Sessions twice a week"),
        ("nature_0", "shortening"),
        ("when_0", "preImplementation"),
        ("planned_0", "yes"),
        ("reasonCategory_0", "organisational"),
        ("reason_0", "Too few volunteers"),
        ("consistent_0", "yes"),
    ];
    let without_token: Vec<(&str, &str)> = fields[1..].to_vec();
    assert_eq!(it_editor.post(&adapt, &without_token).await.status, 403);
    assert_eq!(it.count("adaptations").await, 0);
    let saved = it_editor.post(&adapt, &fields).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert!(
        saved
            .location()
            .starts_with("/network/practices#adaptation-"),
        "{}",
        saved.location()
    );
    let list = api(&it, "/api/v1/adaptations").await;
    let adaptation = &list["items"][0];
    assert_eq!(adaptation["origin"]["practice"], practice_url.as_str());
    assert_eq!(adaptation["origin"]["version"], 1);
    assert_eq!(adaptation["origin"]["organisation"], ro_actor.as_str());
    let page = it_editor.get("/network/practices").await;
    assert!(
        page.has("Your adaptations of this practice:"),
        "{}",
        page.body
    );
    assert!(page.has("After-school club in Turin"));
    assert!(page.has("Piloting"), "{}", page.body);
    let missing = it_editor
        .get("/network/practices/adapt?practice=https%3A%2F%2Fnobody.example%2Fpractices%2F1")
        .await;
    assert_eq!(missing.status, 404);

    // A practice created now is delivered to IT's inbox: the network page lists it among the
    // received activities and the live feed shows it as incoming.
    let mut garden = practice_json();
    garden["title"] = json!({"ro": "Grădina comunitară", "en": "Community garden"});
    assert_eq!(ro.post("/api/v1/practices", garden).await.status, 201);
    let page = eventually(30, "the Create to be received", || async {
        let page = it_admin.get("/network").await;
        page.has("Community garden").then_some(page)
    })
    .await;
    assert!(page.raw_has("class=\"badge ok\">Accepted"), "{}", page.body);
    let live = it_admin.get("/live").await;
    assert!(live.raw_has("class=\"feed-item in\""), "{}", live.body);
    assert!(live.has("received from"));
    assert!(live.has("Community garden"));
    assert!(!live.raw_has("data-after-in=\"0\""), "{}", live.body);

    // The stream resumes incoming activity from its SSE id.
    let res = it
        .client
        .get(format!("{}/live/events", it.base))
        .header("last-event-id", "out-0.in-0")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let mut res = res;
    let mut seen = String::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !seen.contains("\"direction\":\"in\"") {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let chunk = tokio::time::timeout(left, res.chunk())
            .await
            .unwrap_or_else(|_| panic!("no incoming event in {seen}"))
            .unwrap()
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    let event: Value = seen
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str::<Value>(d).unwrap())
        .find(|e| e["direction"] == "in")
        .unwrap();
    assert!(event["id"].as_str().unwrap().starts_with("in-"), "{event}");
    assert_eq!(event["actor"], ro_actor.as_str());
    assert!(seen.contains("\nid: out-"), "{seen}");

    // The home page names the partner.
    let home = anonymous.get("/").await;
    assert!(home.has("Punte Association"), "{}", home.body);
}

/// Partners' practices come 20 a page, most recently received first: every practice is on
/// exactly one page, the pager links on (keeping the partner filter) and back to the first.
#[tokio::test]
async fn partners_practices_are_paged() {
    let ro = Arc::new(spawn_node().await);
    let it = Arc::new(spawn_node().await);
    crate::support::follow_and_approve(&it, &ro).await;
    let mut urls = Vec::new();
    for i in 0..23 {
        let mut p = practice_json();
        p["title"] = json!({"ro": format!("Practica {i}"), "en": format!("Practice {i}")});
        let a = ro.post("/api/v1/practices", p).await;
        assert_eq!(a.status, 201, "{}", a.body);
        urls.push(format!(
            "{}/practices/{}",
            ro.base,
            a.body["id"].as_str().unwrap()
        ));
    }
    let reader = Browser::new_for(&it);
    assert_eq!(reader.sign_in(&it.reader).await.status, 303);
    let cards = |page: &Page| page.body.matches("class=\"card partner-practice\"").count();
    let first = eventually(60, "all 23 practices replicated", || async {
        let page = reader.get("/network/practices").await;
        assert_eq!(page.status, 200, "{}", page.body);
        page.has("23 practices in all").then_some(page)
    })
    .await;
    assert_eq!(cards(&first), 20, "{}", first.body);
    assert!(!first.has("First page"));
    let next = link_starting(&first, "/network/practices?after_ms=");
    let second = reader.get(&next).await;
    assert_eq!(second.status, 200, "{}", second.body);
    assert_eq!(cards(&second), 3, "{}", second.body);
    assert!(!second.raw_has("rel=\"next\""), "{}", second.body);
    assert!(second.has("First page"));
    let mut seen: Vec<&String> = urls
        .iter()
        .filter(|u| first.has(&format!("href=\"{u}\"")) || second.has(&format!("href=\"{u}\"")))
        .collect();
    seen.dedup();
    assert_eq!(seen.len(), 23);
    assert!(
        urls.iter()
            .all(|u| !(first.has(&format!("href=\"{u}\"")) && second.has(&format!("href=\"{u}\"")))),
        "a practice on both pages"
    );
    // The partner filter is kept on the next page; a malformed cursor shows the first page.
    let ro_actor = format!("{}/actor", ro.base);
    let filtered = reader
        .get(&format!(
            "/network/practices?partner={}",
            ro_actor.replace(':', "%3A").replace('/', "%2F")
        ))
        .await;
    assert_eq!(cards(&filtered), 20);
    let next = link_starting(&filtered, "/network/practices?partner=");
    assert!(next.contains("after_ms="), "{next}");
    assert_eq!(cards(&reader.get(&next).await), 3);
    let bad = reader
        .get("/network/practices?after_ms=notanumber&after_id=x")
        .await;
    assert_eq!(bad.status, 200);
    assert_eq!(cards(&bad), 20);
    // Romanian.
    reader.speak("ro");
    let page = reader.get("/network/practices").await;
    assert!(page.has("23 practici în total"), "{}", page.body);
}
