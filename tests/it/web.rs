//! The web interface, driven over HTTP like a browser without JavaScript: pages in Romanian
//! and English, language switching, sign-in and out, CSRF refusals that write nothing, form
//! errors next to their fields, escaping, and what changed between two versions.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use reqwest::Method;
use serde_json::json;

use crate::support::{TestNode, evaluation_json, indicator_json, practice_json, spawn_node};

/// A cookie-keeping client that does not follow redirects.
pub(crate) struct Browser {
    pub(crate) node: Arc<TestNode>,
    client: reqwest::Client,
    cookies: Mutex<BTreeMap<String, String>>,
    accept_language: Mutex<String>,
}

pub(crate) struct Page {
    pub(crate) status: u16,
    pub(crate) headers: reqwest::header::HeaderMap,
    pub(crate) body: String,
}

impl Page {
    pub(crate) fn location(&self) -> &str {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The value of the first `name="csrf"` hidden input.
    pub(crate) fn csrf(&self) -> String {
        let at = self
            .body
            .find("name=\"csrf\" value=\"")
            .expect("a csrf field");
        let rest = &self.body[at + "name=\"csrf\" value=\"".len()..];
        rest[..rest.find('"').unwrap()].to_string()
    }

    pub(crate) fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect()
    }

    /// Whether the page's text (character references decoded) contains `needle`.
    pub(crate) fn has(&self, needle: &str) -> bool {
        unescape(&self.body).contains(needle)
    }

    /// Whether the HTML source as sent contains `needle`.
    pub(crate) fn raw_has(&self, needle: &str) -> bool {
        self.body.contains(needle)
    }

    /// Whether the error `id` comes right before the input with id `input` (same field box).
    pub(crate) fn error_before_input(&self, input: &str) -> bool {
        let error = self.body.find(&format!("id=\"{input}-error\""));
        let field = self.body.find(&format!("id=\"{input}\" name=\"{input}\""));
        match (error, field) {
            (Some(e), Some(f)) => e < f && !self.body[e..f].contains("class=\"field"),
            _ => false,
        }
    }
}

/// Decodes the character references the templates' escaping produces.
pub(crate) fn unescape(html: &str) -> String {
    html.replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

impl Browser {
    pub(crate) async fn new() -> Self {
        Self::with_node(Arc::new(spawn_node().await))
    }

    pub(crate) fn with_node(node: Arc<TestNode>) -> Self {
        Self {
            node,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: Mutex::new(BTreeMap::new()),
            accept_language: Mutex::new("en".into()),
        }
    }

    /// A second browser (its own cookies) on the same node.
    pub(crate) fn new_for(node: &Arc<TestNode>) -> Self {
        Self::with_node(node.clone())
    }

    pub(crate) fn speak(&self, lang: &str) {
        *self.accept_language.lock().unwrap() = lang.into();
    }

    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        form: Option<&[(&str, &str)]>,
    ) -> Page {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.node.base))
            .header(
                "accept-language",
                self.accept_language.lock().unwrap().clone(),
            );
        let cookie: Vec<String> = self
            .cookies
            .lock()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        if !cookie.is_empty() {
            req = req.header("cookie", cookie.join("; "));
        }
        if let Some(fields) = form {
            req = req.form(fields);
        }
        let res = req.send().await.unwrap();
        let page = Page {
            status: res.status().as_u16(),
            headers: res.headers().clone(),
            body: res.text().await.unwrap(),
        };
        for c in page.set_cookies() {
            let pair = c.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            let removed = value.is_empty() || c.to_ascii_lowercase().contains("max-age=0");
            let mut jar = self.cookies.lock().unwrap();
            if removed {
                jar.remove(name);
            } else {
                jar.insert(name.to_string(), value.to_string());
            }
        }
        page
    }

    pub(crate) async fn get(&self, path: &str) -> Page {
        self.send(Method::GET, path, None).await
    }

    pub(crate) async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        self.send(Method::POST, path, Some(form)).await
    }

    pub(crate) async fn sign_in(&self, token: &str) -> Page {
        let form = self.get("/signin").await;
        assert_eq!(form.status, 200, "{}", form.body);
        let csrf = form.csrf();
        self.post(
            "/signin",
            &[("csrf", &csrf), ("token", token), ("next", "/practices")],
        )
        .await
    }

    /// The CSRF token of the signed-in session (from any page's sign-out form).
    pub(crate) async fn csrf(&self) -> String {
        self.get("/").await.csrf()
    }

    pub(crate) async fn create_practice(&self, body: serde_json::Value) -> String {
        let a = self.node.post("/api/v1/practices", body).await;
        assert_eq!(a.status, 201, "{}", a.body);
        a.body["id"].as_str().unwrap().to_string()
    }
}

fn practice_form<'a>(csrf: &'a str, title: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf", csrf),
        ("lang_0", "ro"),
        ("title_0", title),
        ("summary_0", "Sprijin la teme"),
        ("problem_0", "Abandon școlar"),
        ("solution_0", "Mentori voluntari\nîn fiecare zi"),
        ("coreComponents_0", "Mentori\nGustare"),
        ("lang_1", "en"),
        ("method_1", "human"),
        ("title_1", "After-school club"),
        ("summary_1", "Homework help"),
        ("coreComponents_1", "Mentors\nSnack"),
        ("country", "RO"),
        ("region", "RO32"),
        ("themes", "education, youth"),
        ("sdgTargets", "4.1"),
        ("maturity", "promising"),
        ("licence", "CC-BY-4.0"),
        ("periodStart", "2024-09-01"),
        ("staffFte", "1,5"),
        ("action", "save"),
    ]
}

#[tokio::test]
async fn pages_render_in_romanian_and_in_english_with_content_languages_marked() {
    let b = Browser::new().await;
    let id = b.create_practice(practice_json()).await;

    b.speak("ro-RO,ro;q=0.9,en;q=0.5");
    let home = b.get("/").await;
    assert_eq!(home.status, 200);
    assert!(home.has("<html lang=\"ro\">"), "{}", home.body);
    assert!(home.has("Practici recente"));
    assert!(
        home.has("lang=\"ro\">Școala de după școală</a>"),
        "{}",
        home.body
    );
    let practice = b.get(&format!("/practices/{id}")).await;
    assert!(practice.has("Problema abordată"));
    assert!(practice.has("<h1 lang=\"ro\">Școala de după școală</h1>"));

    b.speak("en-GB,en;q=0.8");
    let home = b.get("/").await;
    assert!(home.has("<html lang=\"en\">"));
    assert!(home.has("Recent practices"));
    assert!(
        home.has("lang=\"en\">After-school club</a>"),
        "{}",
        home.body
    );
    let practice = b.get(&format!("/practices/{id}")).await;
    assert!(practice.has("Problem addressed"));
    assert!(practice.has("<h1 lang=\"en\">After-school club</h1>"));
    assert!(
        practice.has("Original language: <strong>ro</strong>"),
        "{}",
        practice.body
    );

    // A language the practice lacks: shown in the original, marked as such.
    b.speak("en");
    let mut only_ro = practice_json();
    only_ro["title"] = json!({"ro": "Doar în română"});
    only_ro["summary"] = json!({"ro": "Rezumat"});
    only_ro["problem"] = json!({"ro": "Problemă"});
    only_ro["solution"] = json!({"ro": "Soluție"});
    only_ro["translations"] = json!({});
    let ro_id = b.create_practice(only_ro).await;
    let page = b.get(&format!("/practices/{ro_id}")).await;
    assert!(page.has("<h1 lang=\"ro\">Doar în română</h1>"));
    assert!(page.has("no text in your language"));

    for path in ["/", "/practices", &format!("/practices/{id}"), "/signin"] {
        let p = b.get(path).await;
        assert_eq!(p.status, 200, "{path}");
        let csp = p.headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"));
        assert!(!csp.contains("unsafe-inline"));
        assert_eq!(p.headers["x-content-type-options"], "nosniff");
        assert_eq!(p.headers["referrer-policy"], "same-origin");
        assert!(!p.has("<script"), "{path} has inline script");
    }
    let css = b.get("/static/style.css").await;
    assert_eq!(css.status, 200);
    assert!(
        css.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
}

#[tokio::test]
async fn the_practice_list_filters_searches_and_pages() {
    let b = Browser::new().await;
    b.create_practice(practice_json()).await;
    let mut other = practice_json();
    other["title"] = json!({"ro": "Grădina comunitară", "en": "Community garden"});
    other["country"] = json!("IT");
    other["region"] = json!("ITC4");
    other["themes"] = json!(["environment"]);
    other["maturity"] = json!("good");
    b.create_practice(other).await;

    let all = b.get("/practices").await;
    assert!(all.has("After-school club") && all.has("Community garden"));
    for (query, shown, hidden) in [
        ("q=scoala", "After-school club", "Community garden"),
        ("q=gradina", "Community garden", "After-school club"),
        ("country=IT", "Community garden", "After-school club"),
        ("theme=education", "After-school club", "Community garden"),
        ("maturity=good", "Community garden", "After-school club"),
        ("sdg=4.1&language=ro", "After-school club", "zzz"),
    ] {
        let p = b.get(&format!("/practices?{query}")).await;
        assert_eq!(p.status, 200);
        assert!(p.has(shown) && !p.has(hidden), "{query}");
    }
    let none = b.get("/practices?q=nothingmatches").await;
    assert!(none.has("No practice matches."));

    for i in 0..21 {
        let mut p = practice_json();
        p["title"] = json!({"ro": format!("Practica {i}")});
        p["translations"] = json!({});
        b.create_practice(p).await;
    }
    let first = b.get("/practices").await;
    assert!(first.has("rel=\"next\""));
    let at = first.body.find("rel=\"next\"").unwrap();
    let href_start = first.body[..at].rfind("href=\"").unwrap() + 6;
    let href = &first.body[href_start..first.body[href_start..].find('"').unwrap() + href_start];
    let second = b.get(&unescape(href)).await;
    assert_eq!(second.status, 200);
    assert!(second.has("First page"));
}

#[tokio::test]
async fn the_language_switcher_remembers_the_choice_and_only_goes_back_home() {
    let b = Browser::new().await;
    b.speak("en");
    let switched = b.get("/lang/ro?next=/practices%3Fq%3Dx").await;
    assert_eq!(switched.status, 303);
    assert_eq!(switched.location(), "/practices?q=x");
    let cookie = switched.set_cookies().join(" ");
    assert!(cookie.contains("punte_lang=ro"), "{cookie}");
    let page = b.get("/practices").await;
    assert!(
        page.has("<html lang=\"ro\">"),
        "the cookie beats Accept-Language"
    );
    assert!(page.has("href=\"/lang/en?next=/practices\""));

    let evil = b.get("/lang/en?next=//evil.example/x").await;
    assert_eq!(evil.location(), "/");
    assert_eq!(b.get("/lang/fr").await.status, 404);
}

#[tokio::test]
async fn signing_in_and_out_with_a_token_checked_on_every_request() {
    let b = Browser::new().await;
    let anonymous = b.get("/practices/new").await;
    assert_eq!(anonymous.status, 303);
    assert_eq!(anonymous.location(), "/signin?next=/practices/new");

    let form = b.get("/signin").await;
    let session_cookie = form.set_cookies().join(" ");
    assert!(session_cookie.contains("HttpOnly"), "{session_cookie}");
    assert!(session_cookie.contains("SameSite=Lax"));
    assert!(!session_cookie.contains("Secure"), "plain http base url");
    let csrf = form.csrf();
    let wrong = b
        .post(
            "/signin",
            &[("csrf", &csrf), ("token", "punte_nope"), ("next", "/")],
        )
        .await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.error_before_input("token"), "{}", wrong.body);
    assert!(wrong.has("not valid or was revoked"));

    let ok = b.sign_in(&b.node.editor).await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    assert_eq!(ok.location(), "/practices");
    let cookie = ok.set_cookies().join(" ");
    assert!(cookie.contains("Max-Age=28800"), "{cookie}");
    assert!(!cookie.contains(&b.node.editor), "the token is encrypted");
    let new = b.get("/practices/new").await;
    assert_eq!(new.status, 200);
    assert!(new.has("Signed in as editor"));

    let csrf = b.csrf().await;
    let out = b.post("/signout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, 303);
    assert_eq!(b.get("/practices/new").await.status, 303);

    // A reader may browse but not open forms.
    b.sign_in(&b.node.reader).await;
    assert_eq!(b.get("/practices").await.status, 200);
    let denied = b.get("/practices/new").await;
    assert_eq!(denied.status, 403);
    assert!(denied.has("only allows reading"));

    // Revoking the token ends the session at once.
    let created = b
        .node
        .send(
            Method::POST,
            "/api/v1/tokens",
            Some(&b.node.admin),
            Some(json!({"role": "editor", "label": "web"})),
        )
        .await;
    let token = created.body["token"].as_str().unwrap().to_string();
    let token_id = created.body["id"].as_str().unwrap().to_string();
    b.sign_in(&token).await;
    assert_eq!(b.get("/practices/new").await.status, 200);
    let revoked = b
        .node
        .send(
            Method::DELETE,
            &format!("/api/v1/tokens/{token_id}"),
            Some(&b.node.admin),
            None,
        )
        .await;
    assert_eq!(revoked.status, 204);
    assert_eq!(b.get("/practices/new").await.status, 303);
}

#[tokio::test]
async fn posts_without_the_sessions_csrf_token_are_refused_and_write_nothing() {
    let b = Browser::new().await;
    b.sign_in(&b.node.editor).await;
    let csrf = b.csrf().await;
    let mut no_token = practice_form(&csrf, "Fără jeton");
    no_token.retain(|(k, _)| *k != "csrf");
    let refused = b.post("/practices", &no_token).await;
    assert_eq!(refused.status, 403);
    assert!(refused.has("did not come from this site"));
    let wrong = practice_form("AAAAwrong", "Jeton greșit");
    assert_eq!(b.post("/practices", &wrong).await.status, 403);
    assert_eq!(b.node.count("practices").await, 0);

    // Also on the other forms, and without any session at all.
    let id = b.create_practice(practice_json()).await;
    let edit = practice_form("bad", "Schimbat");
    assert_eq!(
        b.post(&format!("/practices/{id}/edit"), &edit).await.status,
        403
    );
    let eval = [("csrf", "bad"), ("evaluatorName", "X")];
    assert_eq!(
        b.post(&format!("/practices/{id}/evaluations"), &eval)
            .await
            .status,
        403
    );
    assert_eq!(b.post("/signout", &[("csrf", "bad")]).await.status, 403);
    assert!(
        b.get("/").await.has("Signed in as editor"),
        "still signed in"
    );
    let versions = b
        .node
        .get(&format!("/api/v1/practices/{id}/versions"))
        .await;
    assert_eq!(
        versions.body["items"].as_array().map(Vec::len),
        Some(1),
        "{}",
        versions.body
    );
    assert_eq!(b.node.count("evaluations").await, 0);

    let stranger = Browser::new().await;
    let p = stranger
        .post("/signin", &[("csrf", ""), ("token", &stranger.node.editor)])
        .await;
    assert_eq!(p.status, 403);
}

#[tokio::test]
async fn practices_are_added_and_edited_through_the_forms() {
    let b = Browser::new().await;
    b.sign_in(&b.node.editor).await;
    let csrf = b.csrf().await;

    // "Add another language" keeps what was typed and adds an empty group.
    let mut more = practice_form(&csrf, "Clubul de teme");
    more.retain(|(k, _)| *k != "action");
    more.push(("action", "add_language"));
    let grown = b.post("/practices", &more).await;
    assert_eq!(grown.status, 200);
    assert!(grown.has("id=\"lang_2\""));
    assert!(grown.has("value=\"Clubul de teme\""));
    assert_eq!(b.node.count("practices").await, 0);

    let saved = b
        .post("/practices", &practice_form(&csrf, "Clubul de teme"))
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let href = saved.location().to_string();
    let id = href.trim_start_matches("/practices/").to_string();
    let stored = b.node.get(&format!("/api/v1/practices/{id}")).await;
    assert_eq!(
        stored.body["title"],
        json!({"ro": "Clubul de teme", "en": "After-school club"})
    );
    assert_eq!(
        stored.body["coreComponents"],
        json!([{"ro": "Mentori", "en": "Mentors"}, {"ro": "Gustare", "en": "Snack"}])
    );
    assert_eq!(stored.body["resources"]["staffFte"], json!(1.5));
    assert_eq!(stored.body["translations"]["en"]["method"], "human");
    assert!(b.get("/practices").await.has("After-school club"));

    let edit = b.get(&format!("{href}/edit")).await;
    assert_eq!(edit.status, 200);
    assert!(edit.has("value=\"Clubul de teme\""));
    assert!(edit.has(">Mentori\nGustare</textarea>"), "{}", edit.body);
    let mut changed = practice_form(&csrf, "Clubul de teme și joacă");
    changed.push(("version", "1"));
    let updated = b.post(&format!("{href}/edit"), &changed).await;
    assert_eq!(updated.status, 303, "{}", updated.body);
    let v2 = b.node.get(&format!("/api/v1/practices/{id}")).await;
    assert_eq!(v2.body["version"], 2);

    // Saving from a stale form says so and keeps the text.
    let mut stale = practice_form(&csrf, "Versiune veche");
    stale.push(("version", "1"));
    let conflict = b.post(&format!("{href}/edit"), &stale).await;
    assert_eq!(conflict.status, 409);
    assert!(conflict.has("Someone saved this practice"));
    assert!(conflict.has("value=\"Versiune veche\""));
}

#[tokio::test]
async fn form_errors_sit_next_to_their_fields_and_keep_what_was_typed() {
    let b = Browser::new().await;
    b.sign_in(&b.node.editor).await;
    let csrf = b.csrf().await;
    let mut bad = practice_form(&csrf, "Titlu păstrat");
    for (k, v) in bad.iter_mut() {
        match *k {
            "summary_0" => *v = "",
            "staffFte" => *v = "mult",
            "lang_1" => *v = "english",
            _ => {}
        }
    }
    let page = b.post("/practices", &bad).await;
    assert_eq!(page.status, 422, "{}", page.body);
    for input in ["summary_0", "staffFte", "lang_1"] {
        assert!(page.error_before_input(input), "{input}: {}", page.body);
    }
    assert!(
        page.has("aria-describedby=\" summary_0-error\""),
        "{}",
        page.body
    );
    assert!(page.has("value=\"Titlu păstrat\""));
    assert!(page.has("value=\"mult\""));
    assert!(
        page.has("href=\"#staffFte\""),
        "the summary links to the field"
    );

    // Errors found by the domain rules are mapped to inputs too.
    let mut wrong_region = practice_form(&csrf, "Regiune");
    for (k, v) in wrong_region.iter_mut() {
        match *k {
            "region" => *v = "IT32",
            "sdgTargets" => *v = "4.1, 99.9",
            "country" => *v = "Romania",
            _ => {}
        }
    }
    let page = b.post("/practices", &wrong_region).await;
    assert_eq!(page.status, 422);
    assert!(page.error_before_input("country"), "{}", page.body);
    assert!(page.error_before_input("sdgTargets"), "{}", page.body);
    let mut wrong_region = practice_form(&csrf, "Regiune");
    for (k, v) in wrong_region.iter_mut() {
        if *k == "region" {
            *v = "IT32";
        }
    }
    let page = b.post("/practices", &wrong_region).await;
    assert_eq!(page.status, 422);
    assert!(page.error_before_input("region"), "{}", page.body);
    assert!(
        page.has("NUTS region IT32 is not in country RO"),
        "{}",
        page.body
    );
    assert_eq!(b.node.count("practices").await, 0);

    // Evaluation rows: the out-of-range value is flagged in its own row.
    assert_eq!(
        b.node
            .post("/api/v1/indicators", indicator_json())
            .await
            .status,
        201
    );
    let id = b.create_practice(practice_json()).await;
    let form_page = b.get(&format!("/practices/{id}/evaluations/new")).await;
    assert_eq!(form_page.status, 200);
    assert!(form_page.has("esl-rate@1"));
    let path = format!("/practices/{id}/evaluations");
    let base = vec![
        ("csrf", csrf.as_str()),
        ("evaluatorName", "Ana Pop"),
        ("evaluatorRole", "external"),
        ("method", "prePost"),
        ("evidenceLevel", "3"),
        ("stage", "results"),
        ("periodStart", "2024-09-01"),
        ("periodEnd", "2025-06-30"),
        ("indicator_0", "esl-rate@1"),
        ("baseline_0", "18.5"),
        ("actual_0", "12.1"),
        ("n_0", "240"),
        ("indicator_1", ""),
        ("indicator_2", "esl-rate@1"),
        ("actual_2", "11"),
        ("group_2", "sex=female"),
        ("action", "save"),
    ];
    let mut out_of_range = base.clone();
    out_of_range[14] = ("actual_2", "120");
    let page = b.post(&path, &out_of_range).await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(page.error_before_input("actual_2"), "{}", page.body);
    assert!(page.has("value=\"Ana Pop\""));
    assert_eq!(b.node.count("evaluations").await, 0);

    let saved = b.post(&path, &base).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let shown = b.get(&format!("/practices/{id}")).await;
    assert!(
        shown.has("esl-rate@1") && shown.has("12.1") && shown.has("sex=female"),
        "{}",
        shown.body
    );
}

#[tokio::test]
async fn everything_is_escaped() {
    let b = Browser::new().await;
    let mut p = practice_json();
    p["title"] = json!({"ro": "<script>alert(1)</script> & \"co\""});
    p["summary"] = json!({"ro": "<img src=x onerror=alert(1)>"});
    p["translations"] = json!({});
    let id = b.create_practice(p).await;
    for path in [
        "/".to_string(),
        "/practices".into(),
        format!("/practices/{id}"),
    ] {
        let page = b.get(&path).await;
        assert!(!page.raw_has("<script>alert"), "{path}");
        assert!(!page.raw_has("<img src=x"), "{path}");
        assert!(
            page.raw_has("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;")
                || page.raw_has("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{path}: {}",
            page.body
        );
    }
    let q = b.get("/practices?q=%3Cscript%3Ex").await;
    assert!(!q.raw_has("<script>x"));
}

#[tokio::test]
async fn versions_are_listed_and_compared_field_by_field() {
    let b = Browser::new().await;
    let id = b.create_practice(practice_json()).await;
    let mut edited = practice_json();
    edited["title"]["en"] = json!("Homework club");
    edited["maturity"] = json!("good");
    edited["themes"] = json!(["education"]);
    let put = b
        .node
        .send(
            Method::PUT,
            &format!("/api/v1/practices/{id}"),
            Some(&b.node.editor),
            Some(edited),
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.body);

    let page = b.get(&format!("/practices/{id}")).await;
    assert!(page.has(&format!("href=\"/practices/{id}/versions/1\"")));
    let old = b.get(&format!("/practices/{id}/versions/1")).await;
    assert!(old.has("You are reading version 1; the current version is 2."));
    assert!(old.has("After-school club"));

    let diff = b.get(&format!("/practices/{id}/diff?from=1&to=2")).await;
    assert_eq!(diff.status, 200);
    assert!(diff.has("What changed from version 1 to version 2"));
    assert!(
        diff.has("<del class=\"text\" lang=\"en\">After-school club</del>"),
        "{}",
        diff.body
    );
    assert!(diff.has("<ins class=\"text\" lang=\"en\">Homework club</ins>"));
    assert!(
        diff.has("<del class=\"text\">promising</del>")
            && diff.has("<ins class=\"text\">good</ins>")
    );
    assert!(diff.has("education, youth") && diff.has(">education</ins>"));
    assert!(
        !diff.has("Problem addressed"),
        "unchanged fields are left out"
    );
    b.speak("ro");
    let ro = b.get(&format!("/practices/{id}/diff")).await;
    assert!(ro.has("Ce s-a schimbat de la versiunea 1 la versiunea 2"));
    assert!(ro.has("Maturitate"));
    assert_eq!(
        b.get(&format!("/practices/{id}/diff?from=9")).await.status,
        404
    );
    assert_eq!(b.get("/practices/not-an-id").await.status, 404);
}

#[tokio::test]
async fn evaluations_show_their_values_on_the_practice_page() {
    let b = Browser::new().await;
    assert_eq!(
        b.node
            .post("/api/v1/indicators", indicator_json())
            .await
            .status,
        201
    );
    let id = b.create_practice(practice_json()).await;
    assert_eq!(
        b.node
            .post("/api/v1/evaluations", evaluation_json(&id))
            .await
            .status,
        201
    );
    b.speak("ro");
    let page = b.get(&format!("/practices/{id}")).await;
    assert!(page.has("Rata abandonului școlar"), "{}", page.body);
    assert!(page.has("Înainte și după"));
    assert!(page.has("18.5") && page.has("sex=female"));
}

#[test]
fn the_catalogues_have_the_same_keys_and_no_empty_text() {
    use punte_server::webui::i18n;
    let parsed: Vec<(i18n::UiLang, BTreeMap<String, String>)> = i18n::SOURCES
        .iter()
        .map(|(lang, source)| (*lang, i18n::parse_catalogue(source).unwrap()))
        .collect();
    let (first_lang, first) = &parsed[0];
    for (lang, catalogue) in &parsed {
        let missing: Vec<&String> = first
            .keys()
            .filter(|k| !catalogue.contains_key(*k))
            .collect();
        let extra: Vec<&String> = catalogue
            .keys()
            .filter(|k| !first.contains_key(*k))
            .collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{} vs {}: missing {missing:?}, extra {extra:?}",
            lang.code(),
            first_lang.code()
        );
        let empty: Vec<&String> = catalogue
            .iter()
            .filter(|(_, v)| v.trim().is_empty())
            .map(|(k, _)| k)
            .collect();
        assert!(empty.is_empty(), "{}: empty {empty:?}", lang.code());
    }
    // Every key a template asks for by name exists.
    for (name, source) in punte_server::webui::TEMPLATES {
        for piece in source
            .split("t(\"")
            .skip(1)
            .chain(source.split("t('").skip(1))
        {
            let key: String = piece
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let rest = &piece[key.len()..];
            if rest.starts_with("\")") || rest.starts_with("')") {
                assert!(first.contains_key(&key), "{name} uses unknown key {key}");
            }
        }
    }
}

// ----- history, evaluations edit and delete, adaptations, organisation, tokens, live feed -----

/// How many times `needle` occurs in the page's text.
pub(crate) fn count(page: &Page, needle: &str) -> usize {
    unescape(&page.body).matches(needle).count()
}

#[tokio::test]
async fn the_history_shows_the_checkpoint_and_verifies_every_entry_newest_first() {
    let b = Browser::new().await;
    let id = b.create_practice(practice_json()).await;
    assert_eq!(
        b.node
            .post("/api/v1/indicators", indicator_json())
            .await
            .status,
        201
    );
    assert_eq!(
        b.node
            .post("/api/v1/evaluations", evaluation_json(&id))
            .await
            .status,
        201
    );
    // Entries 0 (practice), 1 (indicator), 2 (evaluation).
    let page = b.get("/history").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.has("Signed history") && page.has("Latest checkpoint"));
    let checkpoint = b.node.client.get(format!("{}/log/checkpoint", b.node.base));
    let note = checkpoint.send().await.unwrap().text().await.unwrap();
    let origin = note.lines().next().unwrap().to_string();
    assert!(page.has(&origin), "{}", page.body);
    assert!(page.has(&note), "the signed note is shown as served");
    assert!(page.has("The checkpoint's signature verifies"));
    assert!(page.has("None yet: no partner has cosigned"));
    assert_eq!(count(&page, "badge verified\">"), 3, "{}", page.body);
    assert!(!page.has("Does not verify"));
    let text = unescape(&page.body);
    let newest = text.find("href=\"/history/2\"").unwrap();
    let oldest = text.find("href=\"/history/0\"").unwrap();
    assert!(newest < oldest, "newest first");
    assert!(
        page.has("<strong>Create</strong> · Practice: <span lang=\"en\">After-school club</span>"),
        "{}",
        page.body
    );
    assert!(page.has("Signature: ok") && page.has("In checkpoint: ok"));

    // One entry: its checks, proof and the activity as pretty JSON.
    let entry = b.get("/history/0").await;
    assert_eq!(entry.status, 200);
    assert!(entry.has("Entry 0") && entry.has("✓ Verified"));
    assert!(entry.has("\"type\": \"Create\""), "{}", entry.body);
    assert!(entry.has("Inclusion proof in the tree of 3 entries"));
    assert!(entry.has("/log/proof/inclusion?index=0&size=3"));
    assert_eq!(b.get("/history/3").await.status, 404);
    assert_eq!(b.get("/history/x").await.status, 404);

    // A redacted entry still verifies and says why.
    let node = b.node.node.clone();
    tokio::task::spawn_blocking(move || node.redact(0, "erasure request").unwrap())
        .await
        .unwrap();
    let page = b.get("/history").await;
    assert_eq!(count(&page, "badge verified\">"), 4, "{}", page.body);
    assert!(
        page.has("Content: redacted (erasure request (#3))"),
        "{}",
        page.body
    );
    let entry = b.get("/history/0").await;
    assert!(entry.has("The activity was erased"));
    assert!(!entry.has("\"type\": \"Create\""));

    // A key rotation: later entries verify with the new key, earlier ones with the old.
    let node = b.node.node.clone();
    tokio::task::spawn_blocking(move || node.rotate_identity_key().unwrap())
        .await
        .unwrap();
    b.create_practice(practice_json()).await;
    let page = b.get("/history").await;
    assert_eq!(count(&page, "badge verified\">"), 6, "{}", page.body);
    assert!(page.has("Key history") && page.has("key 2: signed entries 5"));
    let latest = b.get("/history/5").await;
    assert!(latest.has("#2 "), "signed by key 2: {}", latest.body);
    assert!(b.get("/history/1").await.has("#1 "));

    // Tampered bytes are caught.
    b.node
        .node
        .store()
        .write(|tx| -> Result<usize, punte_store::StoreError> {
            Ok(tx.execute(
                "UPDATE log_entries SET activity = X'7B7D' WHERE idx = 1",
                [],
            )?)
        })
        .unwrap();
    let page = b.get("/history").await;
    assert_eq!(count(&page, "badge failed\">"), 1, "{}", page.body);
    assert!(page.has("Content: failed"));

    b.speak("ro");
    let ro = b.get("/history").await;
    assert!(ro.has("Istoricul semnat") && ro.has("✓ Verificat"));
}

#[tokio::test]
async fn the_entry_browser_pages_back_through_the_log() {
    let b = Browser::new().await;
    for i in 0..27 {
        let mut p = practice_json();
        p["title"] = json!({"ro": format!("Practica {i}")});
        p["translations"] = json!({});
        b.create_practice(p).await;
    }
    let first = b.get("/history").await;
    assert!(
        first.has("Entries 2 to 26, newest first."),
        "{}",
        first.body
    );
    assert_eq!(count(&first, "badge verified\">"), 25);
    assert!(first.has("href=\"/history?before=2#entries\""));
    let older = b.get("/history?before=2").await;
    assert_eq!(older.status, 200);
    assert!(older.has("Entries 0 to 1, newest first."));
    assert_eq!(count(&older, "badge verified\">"), 2);
    assert!(older.has("Newer entries") && !older.has("Older entries"));
}

#[tokio::test]
async fn evaluations_are_edited_and_deleted_through_the_forms_keeping_what_the_form_hides() {
    let b = Browser::new().await;
    assert_eq!(
        b.node
            .post("/api/v1/indicators", indicator_json())
            .await
            .status,
        201
    );
    let id = b.create_practice(practice_json()).await;
    let mut evaluation = evaluation_json(&id);
    evaluation["title"] = json!({"en": "Mid-term review"});
    evaluation["dac"] = json!({"relevance": {"rating": 3}});
    // 28 of 240 is 11.7 %: consistent with both the stored 12.1 and the edited 11.5 (a share
    // must equal numerator / denominator as rounded).
    evaluation["values"][0]["numerator"] = json!(28);
    evaluation["values"][0]["denominator"] = json!(240);
    evaluation["values"][0]["ci"] = json!({"lower": 10.0, "upper": 14.0, "level": 0.9});
    let created = b.node.post("/api/v1/evaluations", evaluation).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let eid = created.body["id"].as_str().unwrap().to_string();

    // Not for anonymous readers or reader tokens.
    let edit_path = format!("/evaluations/{eid}/edit");
    assert_eq!(b.get(&edit_path).await.status, 303);
    b.sign_in(&b.node.reader).await;
    assert_eq!(b.get(&edit_path).await.status, 403);
    b.sign_in(&b.node.editor).await;
    let csrf = b.csrf().await;

    let practice = b.get(&format!("/practices/{id}")).await;
    assert!(practice.has(&format!("href=\"{edit_path}\"")));
    let form = b.get(&edit_path).await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert!(form.has("Edit the evaluation"));
    assert!(form.has("value=\"Ana Pop\"") && form.has("value=\"18.5\""));
    assert!(form.has("name=\"version\" value=\"1\""));
    assert!(form.has("value=\"sex=female\""));

    let fields = |version: &'static str, actual: &'static str| -> Vec<(&'static str, String)> {
        vec![
            ("evaluatorName", "Ana Pop".into()),
            ("evaluatorRole", "external".into()),
            ("method", "prePost".into()),
            ("evidenceLevel", "4".into()),
            ("stage", "results".into()),
            ("periodStart", "2024-09-01".into()),
            ("periodEnd", "2025-06-30".into()),
            ("indicator_0", "esl-rate@1".into()),
            ("baseline_0", "18.5".into()),
            ("target_0", "10".into()),
            ("actual_0", actual.into()),
            ("n_0", "240".into()),
            ("ciLower_0", "10".into()),
            ("ciUpper_0", "14".into()),
            ("from_0", "0".into()),
            ("indicator_1", "esl-rate@1".into()),
            ("actual_1", "11".into()),
            ("n_1", "120".into()),
            ("group_1", "sex=female".into()),
            ("from_1", "1".into()),
            ("indicator_2", "".into()),
            ("version", version.into()),
            ("action", "save".into()),
        ]
    };
    let post = |fields: Vec<(&'static str, String)>, token: String| {
        let b = &b;
        let edit_path = edit_path.clone();
        async move {
            let mut form: Vec<(&str, &str)> = vec![("csrf", token.as_str())];
            form.extend(fields.iter().map(|(k, v)| (*k, v.as_str())));
            b.post(&edit_path, &form).await
        }
    };

    // CSRF first: nothing changes.
    assert_eq!(post(fields("1", "11.5"), "bad".into()).await.status, 403);
    // An error sits next to its field.
    let bad = post(fields("1", "eleven"), csrf.clone()).await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(bad.error_before_input("actual_0"), "{}", bad.body);
    assert!(bad.has("value=\"eleven\""));

    let saved = post(fields("1", "11.5"), csrf.clone()).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert_eq!(
        saved.location(),
        format!("/practices/{id}#evaluation-{eid}")
    );
    let stored = b.node.get(&format!("/api/v1/evaluations/{eid}")).await;
    assert_eq!(stored.body["version"], 2);
    assert_eq!(stored.body["evidenceLevel"], 4);
    assert_eq!(stored.body["values"][0]["actual"], json!(11.5));
    assert_eq!(stored.body["title"], json!({"en": "Mid-term review"}));
    assert_eq!(stored.body["dac"]["relevance"]["rating"], 3);
    assert_eq!(stored.body["subject"]["practiceVersion"], 1);
    assert_eq!(stored.body["values"][0]["numerator"], json!(28.0));
    assert_eq!(stored.body["values"][0]["ci"]["level"], json!(0.9));
    assert_eq!(
        stored.body["values"][1]["disaggregation"],
        json!({"sex": "female"})
    );

    // A form opened before that save is stale: 409, the typed values kept.
    let stale = post(fields("1", "12.75"), csrf.clone()).await;
    assert_eq!(stale.status, 409, "{}", stale.body);
    assert!(stale.has("Someone saved this evaluation"));
    assert!(stale.has("value=\"12.75\"") && stale.has("name=\"version\" value=\"2\""));

    // Delete: asks first, refuses without the CSRF token or from a stale page.
    let delete_path = format!("/evaluations/{eid}/delete");
    let confirm = b.get(&delete_path).await;
    assert_eq!(confirm.status, 200);
    assert!(confirm.has("Delete this evaluation?"));
    assert!(confirm.has("name=\"version\" value=\"2\""));
    assert_eq!(
        b.post(&delete_path, &[("csrf", "bad"), ("version", "2")])
            .await
            .status,
        403
    );
    let old = b
        .post(&delete_path, &[("csrf", csrf.as_str()), ("version", "1")])
        .await;
    assert_eq!(old.status, 409);
    assert!(old.has("Someone changed this evaluation"));
    assert_eq!(b.node.count("evaluations").await, 1);
    let gone = b
        .post(&delete_path, &[("csrf", csrf.as_str()), ("version", "2")])
        .await;
    assert_eq!(gone.status, 303, "{}", gone.body);
    assert_eq!(gone.location(), format!("/practices/{id}#evaluations"));
    assert_eq!(b.node.count("evaluations").await, 0);
    assert!(!b.get(&format!("/practices/{id}")).await.has("Ana Pop"));
}

#[tokio::test]
async fn small_cells_are_blank_for_the_public_and_marked_for_the_organisation() {
    let b = Browser::new().await;
    assert_eq!(
        b.node
            .post("/api/v1/indicators", indicator_json())
            .await
            .status,
        201
    );
    let id = b.create_practice(practice_json()).await;
    let mut evaluation = evaluation_json(&id);
    evaluation["values"][1]["n"] = json!(3);
    evaluation["values"][1]["actual"] = json!(66.125);
    evaluation["values"]
        .as_array_mut()
        .unwrap()
        .push(json!({"indicator": "esl-rate@1", "actual": 11.5, "n": 237, "disaggregation": {"sex": "male"}}));
    assert_eq!(
        b.node.post("/api/v1/evaluations", evaluation).await.status,
        201
    );
    // The female cell is below k; the male cell goes too (240 − 237 would give it back); the
    // total then reveals nothing and stays.
    let public = b.get(&format!("/practices/{id}")).await;
    assert!(
        !public.has("66.125"),
        "a small cell leaked: {}",
        public.body
    );
    assert!(!public.has("11.5"), "the male cell would reveal it");
    assert!(
        public.has("12.1"),
        "the total reveals nothing once male is hidden"
    );
    assert_eq!(
        count(&public, "<tr class=\"suppressed\">"),
        2,
        "{}",
        public.body
    );
    assert_eq!(count(&public, ">suppressed</td>"), 8);
    assert!(public.has("are suppressed before anything leaves"));
    assert!(
        public.has(">10</td>"),
        "targets are plans, not people: they stay"
    );

    b.sign_in(&b.node.reader).await;
    let inside = b.get(&format!("/practices/{id}")).await;
    assert!(inside.has("66.125") && inside.has("11.5") && inside.has("12.1"));
    assert!(
        inside.has("Not published: fewer than 5 people"),
        "{}",
        inside.body
    );
    assert!(inside.has("Not published: would reveal a small cell"));
    // and why, in plain words
    assert!(
        inside.has("The smallest group it describes (all, with or without the outcome): 1."),
        "3 women, 2 of them with the outcome, 1 without: {}",
        inside.body
    );
    assert!(inside.has("With the other cells and the total, a reader could work out a group of"));
    assert!(!inside.has(">suppressed</td>"));
    b.speak("ro");
    let ro = b.get(&format!("/practices/{id}")).await;
    assert!(ro.has("Nepublicat: mai puțin de 5 persoane"));
    assert!(
        ro.has("Cel mai mic grup descris (toți, cu sau fără rezultat): 1."),
        "{}",
        ro.body
    );
}

fn adaptation_form(csrf: &str) -> Vec<(&str, &str)> {
    vec![
        ("csrf", csrf),
        ("lang", "en"),
        ("country", "IT"),
        ("originVersion", "1"),
        ("title", "Homework club in Turin"),
        (
            "context",
            "Two schools in a suburb of Turin, run by parents",
        ),
        ("state", "piloting"),
        ("scaling", "horizontal"),
        ("kept_0", "1"),
        ("fidelityNotes", "The snack is replaced by a shared dinner."),
        ("what_0", "Sessions twice a week instead of daily"),
        ("nature_0", "shortening"),
        ("when_0", "preImplementation"),
        ("planned_0", "yes"),
        ("decidedBy_0", "programme team"),
        ("reasonCategory_0", "organisational"),
        ("reason_0", "Too few volunteers for daily sessions"),
        ("consistent_0", "no"),
        ("action", "save"),
    ]
}

#[tokio::test]
async fn adaptations_are_recorded_with_frame_fields_and_listed_on_the_practice() {
    let b = Browser::new().await;
    let mut p = practice_json();
    p["coreComponents"] =
        json!([{"ro": "Mentori", "en": "Mentors"}, {"ro": "Gustare", "en": "Snack"}]);
    let id = b.create_practice(p).await;
    let path = format!("/practices/{id}/adaptations");
    assert_eq!(b.get(&format!("{path}/new")).await.status, 303);
    b.sign_in(&b.node.editor).await;
    let csrf = b.csrf().await;
    let form = b.get(&format!("{path}/new")).await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert!(form.has("id=\"kept_0\" name=\"kept_0\" value=\"1\" checked"));
    assert!(form.has(">Snack</label>"));
    assert!(form.has("Shortening") && form.has("Organisational"));

    assert_eq!(
        b.post(&path, &adaptation_form("bad")).await.status,
        403,
        "CSRF"
    );
    let mut missing = adaptation_form(&csrf);
    missing.retain(|(k, _)| *k != "context" && *k != "reason_0");
    let page = b.post(&path, &missing).await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(page.error_before_input("context"), "{}", page.body);
    assert!(page.error_before_input("reason_0"), "{}", page.body);
    assert!(page.has("value=\"Homework club in Turin\""));
    let mut forged = adaptation_form(&csrf);
    forged[3] = ("originVersion", "9");
    let page = b.post(&path, &forged).await;
    assert_eq!(page.status, 422);
    assert!(page.error_before_input("originVersion"), "{}", page.body);
    assert_eq!(b.node.count("adaptations").await, 0);

    let saved = b.post(&path, &adaptation_form(&csrf)).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert!(
        saved
            .location()
            .starts_with(&format!("/practices/{id}#adaptation-"))
    );
    let list = b.node.get("/api/v1/adaptations").await;
    let a = &list.body["items"][0];
    assert_eq!(a["origin"], json!({"practice": id, "version": 1}));
    assert_eq!(a["fidelity"]["coreComponentsKept"], json!([0]));
    assert_eq!(a["modifications"][0]["nature"], "shortening");
    assert_eq!(a["modifications"][0]["planned"], true);
    assert_eq!(a["modifications"][0]["fidelityConsistent"], false);
    assert_eq!(a["state"], "piloting");

    let shown = b.get(&format!("/practices/{id}")).await;
    assert!(shown.has("Homework club in Turin"), "{}", shown.body);
    assert!(shown.has("1 of 2") && shown.has("Kept: <span lang=\"en\">Mentors</span>"));
    assert!(shown.has("Sessions twice a week") && shown.has("Shortening"));
    assert!(shown.has("Horizontal (more places or people)"));
    b.speak("ro");
    let ro = b.get(&format!("/practices/{id}")).await;
    assert!(ro.has("Adaptări") && ro.has("În pilotare") && ro.has("Scurtare"));
}

#[tokio::test]
async fn the_organisation_page_is_public_and_its_profile_editable_by_administrators_only() {
    let b = Browser::new().await;
    let page = b.get("/organisation").await;
    assert_eq!(page.status, 200);
    assert!(page.has("not set up yet"));
    assert!(page.has("z6Mk"), "the identity Multikey: {}", page.body);
    assert!(page.has("/punte-log"));
    assert!(!page.has("href=\"/organisation/edit\""));
    assert_eq!(b.get("/organisation/edit").await.status, 303);
    for token in [&b.node.reader, &b.node.editor] {
        b.sign_in(token).await;
        assert_eq!(b.get("/organisation/edit").await.status, 403);
        let csrf = b.csrf().await;
        let denied = b
            .post(
                "/organisation/edit",
                &[
                    ("csrf", csrf.as_str()),
                    ("lang_0", "ro"),
                    ("name_0", "X"),
                    ("country", "RO"),
                    ("languages", "ro"),
                ],
            )
            .await;
        assert_eq!(denied.status, 403);
    }
    b.sign_in(&b.node.admin).await;
    let csrf = b.csrf().await;
    let form = b.get("/organisation/edit").await;
    assert_eq!(form.status, 200);
    let profile = |csrf: &'static str, country: &'static str| {
        vec![
            ("csrf", csrf),
            ("lang_0", "ro"),
            ("name_0", "Asociația Punte"),
            ("summary_0", "Sprijin pentru copii"),
            ("lang_1", "en"),
            ("name_1", "Punte Association"),
            ("summary_1", ""),
            ("country", country),
            ("region", "RO32"),
            ("languages", "ro, en"),
            ("action", "save"),
        ]
    };
    let csrf: &'static str = Box::leak(csrf.into_boxed_str());
    assert_eq!(
        b.post("/organisation/edit", &profile("bad", "RO"))
            .await
            .status,
        403
    );
    let bad = b
        .post("/organisation/edit", &profile(csrf, "Romania"))
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(bad.error_before_input("country"), "{}", bad.body);
    assert!(bad.has("value=\"Asociația Punte\""));
    let wrong_region = b.post("/organisation/edit", &profile(csrf, "IT")).await;
    assert_eq!(wrong_region.status, 422);
    assert!(
        wrong_region.error_before_input("region"),
        "{}",
        wrong_region.body
    );
    let saved = b.post("/organisation/edit", &profile(csrf, "RO")).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let stored = b
        .node
        .send(
            Method::GET,
            "/api/v1/organisation",
            Some(&b.node.admin),
            None,
        )
        .await;
    assert_eq!(
        stored.body["profile"]["name"],
        json!({"ro": "Asociația Punte", "en": "Punte Association"})
    );
    assert_eq!(stored.body["profile"]["languages"], json!(["ro", "en"]));
    let page = b.get("/organisation").await;
    assert!(page.has("Punte Association") && page.has("RO32"));
    assert!(page.has("href=\"/organisation/edit\""));
    let edit = b.get("/organisation/edit").await;
    assert!(edit.has("value=\"Punte Association\""));
    b.speak("ro");
    assert!(b.get("/").await.has("Asociația Punte"));
}

#[tokio::test]
async fn administrators_create_tokens_shown_once_and_revoke_them() {
    let b = Browser::new().await;
    assert_eq!(b.get("/tokens").await.status, 303);
    for token in [&b.node.reader, &b.node.editor] {
        b.sign_in(token).await;
        assert_eq!(b.get("/tokens").await.status, 403);
        assert!(!b.get("/").await.has("href=\"/tokens\""));
        let csrf = b.csrf().await;
        assert_eq!(
            b.post("/tokens", &[("csrf", csrf.as_str()), ("role", "admin")])
                .await
                .status,
            403
        );
    }
    b.sign_in(&b.node.admin).await;
    assert!(b.get("/").await.has("href=\"/tokens\""));
    let csrf = b.csrf().await;
    let list = b.get("/tokens").await;
    assert_eq!(list.status, 200);
    assert!(list.has("test editor") && list.has("this session"));
    assert_eq!(
        b.post(
            "/tokens",
            &[("csrf", "bad"), ("role", "reader"), ("label", "Ana")]
        )
        .await
        .status,
        403
    );
    let bad = b
        .post(
            "/tokens",
            &[("csrf", csrf.as_str()), ("role", "owner"), ("label", "Ana")],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.error_before_input("role"), "{}", bad.body);

    let created = b
        .post(
            "/tokens",
            &[
                ("csrf", csrf.as_str()),
                ("role", "reader"),
                ("label", "Ana"),
            ],
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let at = created.body.find("id=\"new-token\"").unwrap();
    let rest = &created.body[at..];
    let start = rest.find("value=\"").unwrap() + 7;
    let secret = rest[start..start + rest[start..].find('"').unwrap()].to_string();
    assert!(secret.starts_with("punte_"), "{secret}");
    assert!(!b.get("/tokens").await.has(&secret), "shown only once");

    let ana = Browser::new_for(&b.node);
    assert_eq!(ana.sign_in(&secret).await.status, 303);
    assert!(ana.get("/").await.has("Signed in as reader"));

    let tokens = b
        .node
        .send(Method::GET, "/api/v1/tokens", Some(&b.node.admin), None)
        .await;
    let token_id = tokens.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["label"] == "Ana")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let revoke = format!("/tokens/{token_id}/revoke");
    assert_eq!(b.post(&revoke, &[("csrf", "bad")]).await.status, 403);
    assert!(ana.get("/").await.has("Signed in as reader"));
    let revoked = b.post(&revoke, &[("csrf", csrf.as_str())]).await;
    assert_eq!(revoked.status, 303, "{}", revoked.body);
    assert_eq!(revoked.location(), "/tokens");
    assert!(!ana.get("/").await.has("Signed in as"), "revoked at once");
    assert!(b.get("/tokens").await.has("revoked"));
    assert_eq!(
        b.post(&revoke, &[("csrf", csrf.as_str())]).await.status,
        404
    );
}

#[tokio::test]
async fn the_live_feed_renders_without_javascript_and_streams_new_entries() {
    let b = Browser::new().await;
    b.create_practice(practice_json()).await;
    b.create_practice(practice_json()).await;
    let page = b.get("/live").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.has("Live feed"));
    assert!(
        page.has("Practice: <span lang=\"en\">After-school club</span>"),
        "{}",
        page.body
    );
    assert!(page.has("data-after=\"1\""));
    assert!(page.has("<script src=\"/static/live.js\" defer></script>"));
    assert_eq!(count(&page, "<script"), 1, "no inline script");
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("connect-src 'self'"));
    let js = b.get("/static/live.js").await;
    assert_eq!(js.status, 200);
    assert!(
        js.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    for nav in ["/history", "/live", "/organisation"] {
        assert!(page.has(&format!("href=\"{nav}\"")), "{nav}");
    }

    // Resuming after entry 0 (a bare log index, as before incoming activity joined the feed):
    // entry 1 at once, then what is published next. Each SSE id carries both positions.
    let res = b
        .node
        .client
        .get(format!("{}/live/events", b.node.base))
        .header("last-event-id", "0")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let mut res = res;
    let mut seen = String::new();
    let mut read_until = async |needle: &str, seen: &mut String| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !seen.contains(needle) {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let chunk = tokio::time::timeout(left, res.chunk())
                .await
                .unwrap_or_else(|_| panic!("no {needle:?} in {seen}"))
                .unwrap()
                .unwrap();
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    };
    read_until("id: out-1.in-0\n", &mut seen).await;
    assert!(seen.starts_with("retry: 2000\n\n"), "{seen}");
    assert!(!seen.contains("id: out-0."), "resumes after Last-Event-ID");
    assert!(seen.contains("event: entry\ndata: {"));
    let mut other = practice_json();
    other["title"] = json!({"ro": "Grădina", "en": "Community garden"});
    b.create_practice(other).await;
    read_until("id: out-2.in-0\n", &mut seen).await;
    let data = seen
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .next_back()
        .unwrap();
    let event: serde_json::Value = serde_json::from_str(data).unwrap();
    assert_eq!(event["index"], 2);
    assert_eq!(event["id"], "out-2");
    assert_eq!(event["direction"], "out");
    assert_eq!(event["activity_type"], "Create");
    assert_eq!(event["object_type"], "Practice");
    assert_eq!(event["href"], "/history/2");
    assert!(event["object_id"].as_str().unwrap().contains("/practices/"));

    // Without a position the stream starts at the end of the log.
    let mut fresh = b
        .node
        .client
        .get(format!("{}/live/events", b.node.base))
        .send()
        .await
        .unwrap();
    let first = fresh.chunk().await.unwrap().unwrap();
    assert_eq!(&first[..], b"retry: 2000\n\n");
    b.create_practice(practice_json()).await;
    let next = tokio::time::timeout(std::time::Duration::from_secs(10), fresh.chunk())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(String::from_utf8_lossy(&next).starts_with("id: out-3.in-0\n"));
}

#[tokio::test]
async fn results_name_their_plan_in_the_form_and_the_practice_page_says_whether_they_followed_it() {
    let b = Browser::new().await;
    b.sign_in(&b.node.editor).await;
    let csrf = b.csrf().await;
    assert_eq!(
        b.node
            .post("/api/v1/indicators", indicator_json())
            .await
            .status,
        201
    );
    let id = b.create_practice(practice_json()).await;
    let mut plan = evaluation_json(&id);
    plan["stage"] = json!("plan");
    plan["title"] = json!({"en": "Registered design"});
    plan["values"] = json!([{"indicator": "esl-rate@1", "baseline": 18.5, "target": 10.0}]);
    let plan = b.node.post("/api/v1/evaluations", plan).await;
    assert_eq!(plan.status, 201, "{}", plan.body);
    let plan_id = plan.body["id"].as_str().unwrap().to_owned();

    let form_page = b.get(&format!("/practices/{id}/evaluations/new")).await;
    assert!(
        form_page.has(&format!("<option value=\"{plan_id}\">Registered design")),
        "{}",
        form_page.body
    );
    let path = format!("/practices/{id}/evaluations");
    let results = |method: &'static str, stage: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("evaluatorName", "Ana Pop".into()),
            ("evaluatorRole", "external".into()),
            ("method", method.into()),
            ("evidenceLevel", "3".into()),
            ("stage", stage.into()),
            ("plan", plan_id.clone()),
            ("periodStart", "2024-09-01".into()),
            ("periodEnd", "2025-06-30".into()),
            ("indicator_0", "esl-rate@1".into()),
            ("baseline_0", "18.5".into()),
            ("actual_0", "12.1".into()),
            ("n_0", "240".into()),
            ("action", "save".into()),
        ]
    };
    let post = |form: Vec<(&'static str, String)>| {
        let path = path.clone();
        let b = &b;
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            b.post(&path, &form).await
        }
    };
    // A plan names no plan: the error sits at the plan's field.
    let refused = post(results("prePost", "plan")).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.error_before_input("plan"), "{}", refused.body);

    assert_eq!(post(results("prePost", "results")).await.status, 303);
    let page = b.get(&format!("/practices/{id}")).await;
    assert!(page.has("Followed the plan"), "{}", page.body);
    assert!(page.has(&format!("href=\"#evaluation-{plan_id}\"")));
    assert_eq!(post(results("monitoring", "results")).await.status, 303);
    let page = b.get(&format!("/practices/{id}")).await;
    assert!(page.has("Did not follow the plan"), "{}", page.body);
    assert!(
        page.has("Method changed: Before and after → Monitoring"),
        "{}",
        page.body
    );
    // The Compare page says it of each row too.
    let compare = b.get("/compare?indicator=esl-rate@1").await;
    assert_eq!(compare.status, 200);
    assert!(
        compare.has("Followed the plan") && compare.has("Did not follow the plan: Method changed"),
        "{}",
        compare.body
    );
    b.speak("ro");
    let page = b.get(&format!("/practices/{id}")).await;
    assert!(page.has("A respectat planul") && page.has("Nu a respectat planul"));
    assert!(page.has("Metoda a fost schimbată"));
}

#[tokio::test]
async fn the_evaluation_form_records_an_intervention_and_a_comparison_group() {
    let b = Browser::new().await;
    assert_eq!(
        b.node
            .post("/api/v1/indicators", indicator_json())
            .await
            .status,
        201
    );
    let id = b.create_practice(practice_json()).await;
    b.sign_in(&b.node.editor).await;
    let csrf = b.csrf().await;
    let form = b.get(&format!("/practices/{id}/evaluations/new")).await;
    assert!(form.has("Comparison group, after"), "{}", form.body);
    assert!(form.has("Standard deviation (SD)"));
    let path = format!("/practices/{id}/evaluations");
    let mut fields = vec![
        ("csrf", csrf.as_str()),
        ("evaluatorName", "Ana Pop"),
        ("evaluatorRole", "external"),
        ("method", "comparisonGroup"),
        ("evidenceLevel", "4"),
        ("stage", "results"),
        ("periodStart", "2024-09-01"),
        ("periodEnd", "2025-06-30"),
        ("indicator_0", "esl-rate@1"),
        ("gifn_0", "120"),
        ("gifevents_0", "12"),
        ("gcfn_0", "110"),
        ("gcfevents_0", "22"),
        ("gcfmean_0", "35"),
        ("action", "save"),
    ];
    // 35 % is not 22 of 110: the error sits next to the comparison group's share
    let page = b.post(&path, &fields).await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(page.error_before_input("gcfmean_0"), "{}", page.body);
    assert!(page.has("value=\"110\""), "what was typed stays");
    assert_eq!(b.node.count("evaluations").await, 0);

    fields[13] = ("gcfmean_0", "20");
    let saved = b.post(&path, &fields).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let listed = b
        .node
        .send(
            Method::GET,
            &format!("/api/v1/evaluations?practice={id}"),
            Some(&b.node.editor),
            None,
        )
        .await;
    assert_eq!(
        listed.body["items"][0]["values"][0]["groups"],
        json!({
            "intervention": {"followUp": {"n": 120, "events": 12}},
            "comparison": {"followUp": {"n": 110, "events": 22, "mean": 20.0}}
        }),
        "{}",
        listed.body
    );
    let shown = b.get(&format!("/practices/{id}")).await;
    assert!(
        shown.has("Participants, after") && shown.has("Comparison group, after"),
        "{}",
        shown.body
    );
    // the edit form shows the cells again, in an open table
    let eid = listed.body["items"][0]["id"].as_str().unwrap().to_string();
    let edit = b.get(&format!("/evaluations/{eid}/edit")).await;
    assert_eq!(edit.status, 200, "{}", edit.body);
    assert!(
        edit.has("name=\"gcfevents_0\" value=\"22\"")
            && edit.raw_has("<details class=\"groups\" open>"),
        "{}",
        edit.body
    );
}
