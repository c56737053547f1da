//! Starting nodes for tests and talking to them.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::net::TcpListener;

use punte_node::Role;
use punte_server::{Application, Config};
use reqwest::Method;
use serde_json::{Value, json};

pub struct TestNode {
    pub base: String,
    pub client: reqwest::Client,
    pub admin: String,
    pub editor: String,
    pub reader: String,
    pub handle: actix_web::dev::ServerHandle,
    pub dir: tempfile::TempDir,
    /// The running node, for use-cases without an HTTP route (redaction, key rotation).
    pub node: actix_web::web::Data<punte_node::Node>,
    /// Its federation side (follows, deliveries, replicas).
    pub fed: actix_web::web::Data<punte_node::federation::Federation>,
    /// Resolves when the server and its workers have stopped and the database is closed.
    pub stopped: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Config of a test node in `dir`: loopback federation allowed, fast retries and polls.
pub fn test_config(dir: &std::path::Path) -> Config {
    let mut config = Config::default();
    config.storage.data_dir = dir.join("data");
    config.federation.allow_private_addresses = true;
    config.federation.retry_base_ms = 200;
    config.federation.retry_max_delay_secs = 2;
    config.federation.breaker_max_pause_secs = 2;
    config.federation.replica_poll_interval_secs = 2;
    config.server.workers = 2;
    config.server.shutdown_timeout_secs = 1;
    config
}

/// Starts a node on 127.0.0.1:0 with a fresh data directory and one token per role.
pub async fn spawn_node() -> TestNode {
    spawn_node_with(|_| {}).await
}

/// Like [`spawn_node`], with the test config adjusted by `adjust`.
pub async fn spawn_node_with(adjust: impl FnOnce(&mut Config)) -> TestNode {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    adjust(&mut config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    start(dir, &config, listener, true).await
}

/// Starts a node in an existing directory on `listener` (a restart keeps its port).
pub async fn start(
    dir: tempfile::TempDir,
    config: &Config,
    listener: TcpListener,
    new_tokens: bool,
) -> TestNode {
    let app = Application::with_listener(config, listener).unwrap();
    let base = app.base_url().to_string();
    let node = app.node();
    let fed = app.federation();
    let (admin, editor, reader) = if new_tokens {
        (
            node.create_token(Role::Admin, "test admin").unwrap().1,
            node.create_token(Role::Editor, "test editor").unwrap().1,
            node.create_token(Role::Reader, "test reader").unwrap().1,
        )
    } else {
        Default::default()
    };
    let handle = app.handle();
    let stopped = tokio::spawn(app.run_until_stopped());
    TestNode {
        base,
        client: reqwest::Client::new(),
        admin,
        editor,
        reader,
        handle,
        dir,
        node,
        fed,
        stopped,
    }
}

impl TestNode {
    /// Stops the node and restarts it in the same directory on the same port, keeping
    /// its tokens.
    pub async fn restart(self, adjust: impl FnOnce(&mut Config)) -> TestNode {
        self.restart_after(|| async {}, adjust).await
    }

    /// [`TestNode::restart`], running `while_down` while the node is stopped.
    pub async fn restart_after<F, Fut>(
        self,
        while_down: F,
        adjust: impl FnOnce(&mut Config),
    ) -> TestNode
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let TestNode {
            base,
            admin,
            editor,
            reader,
            handle,
            dir,
            node,
            fed,
            stopped,
            ..
        } = self;
        handle.stop(true).await;
        drop(node);
        drop(fed);
        stopped.await.unwrap().unwrap();
        while_down().await;
        let addr: std::net::SocketAddr = base.trim_start_matches("http://").parse().unwrap();
        let mut config = test_config(dir.path());
        adjust(&mut config);
        let listener = bind_retrying(addr).await;
        let mut restarted = start(dir, &config, listener, false).await;
        restarted.admin = admin;
        restarted.editor = editor;
        restarted.reader = reader;
        restarted
    }
}

/// Binds `addr`, retrying while the old socket is being released.
pub async fn bind_retrying(addr: std::net::SocketAddr) -> TcpListener {
    for _ in 0..100 {
        if let Ok(l) = TcpListener::bind(addr) {
            return l;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    TcpListener::bind(addr).unwrap()
}

/// Polls `check` until it returns `Some`, for up to `secs` seconds.
pub async fn eventually<T, F, Fut>(secs: u64, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out after {secs}s waiting for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// A response's status and JSON body (Null when empty).
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    /// The fields a problem+json names, in order.
    pub fn fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| e["field"].as_str().unwrap_or("").to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn is_problem(&self) -> bool {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            == Some("application/problem+json")
            && self.body["status"].as_u64() == Some(u64::from(self.status))
            && self.body["title"].is_string()
            && self.body["detail"].is_string()
    }
}

impl TestNode {
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        Self::answer(req).await
    }

    pub async fn answer(req: reqwest::RequestBuilder) -> Answer {
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let bytes = res.bytes().await.unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Answer {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(reqwest::Method::GET, path, Some(&self.reader), None)
            .await
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.send(reqwest::Method::POST, path, Some(&self.editor), Some(body))
            .await
    }

    pub async fn count(&self, collection: &str) -> usize {
        let a = self.get(&format!("/api/v1/{collection}?limit=200")).await;
        assert_eq!(a.status, 200, "{}", a.body);
        a.body["items"].as_array().unwrap().len()
    }
}

pub fn practice_json() -> Value {
    json!({
        "title": {"ro": "Școala de după școală", "en": "After-school club"},
        "summary": {"ro": "Sprijin la teme pentru copii", "en": "Homework support for children"},
        "problem": {"ro": "Abandon școlar timpuriu", "en": "Early school leaving"},
        "solution": {"ro": "Mentori voluntari în fiecare după-amiază", "en": "Volunteer mentors every afternoon"},
        "originalLanguage": "ro",
        "translations": {"en": {"method": "human"}},
        "country": "RO",
        "region": "RO32",
        "themes": ["education", "youth"],
        "sdgTargets": ["4.1"],
        "maturity": "promising"
    })
}

pub fn indicator_json() -> Value {
    json!({
        "code": "esl-rate",
        "version": 1,
        "label": {"en": "Early school leaving rate", "ro": "Rata abandonului școlar"},
        "unit": "%",
        "measure": "percentage",
        "direction": "decrease",
        "aggregation": "mean",
        "disaggregations": [{"dimension": "sex", "categories": ["female", "male", "nonBinary", "unknown"]}],
        "mappings": {"sdg": ["4.1.1"]}
    })
}

pub fn evaluation_json(practice: &str) -> Value {
    json!({
        "subject": {"practice": practice},
        "evaluator": {"name": "Ana Pop", "role": "external"},
        "method": "prePost",
        "evidenceLevel": 3,
        "period": {"start": "2024-09-01", "end": "2025-06-30"},
        "values": [
            {"indicator": "esl-rate@1", "baseline": 18.5, "target": 10.0, "actual": 12.1, "n": 240},
            {"indicator": "esl-rate@1", "actual": 11.0, "n": 120, "disaggregation": {"sex": "female"}}
        ]
    })
}

/// A call with `node`'s admin token that must succeed; its JSON body.
pub async fn admin(node: &TestNode, method: Method, path: &str, body: Option<Value>) -> Value {
    let a = node.send(method, path, Some(&node.admin), body).await;
    assert!(a.status < 300, "{path}: {} {}", a.status, a.body);
    a.body
}

/// `follower` follows `origin` by its actor URL, and `origin` approves.
pub async fn follow_and_approve(follower: &TestNode, origin: &TestNode) {
    follow_and_approve_by(follower, origin, &format!("{}/actor", origin.base)).await;
}

/// `follower` follows `origin` by `target` (actor URL or `@name@host`), and `origin`
/// approves; returns when the follower saw the Accept.
pub async fn follow_and_approve_by(follower: &TestNode, origin: &TestNode, target: &str) {
    let body = admin(
        follower,
        Method::POST,
        "/api/v1/following",
        Some(json!({ "target": target })),
    )
    .await;
    assert_eq!(body["state"], "pending", "{body}");
    let follower_actor = format!("{}/actor", follower.base);
    eventually(30, "the follow request to arrive", || async {
        let b = admin(origin, Method::GET, "/api/v1/followers?state=pending", None).await;
        b["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["actor"] == follower_actor.as_str())
            .then_some(())
    })
    .await;
    let approved = admin(
        origin,
        Method::POST,
        "/api/v1/followers/approve",
        Some(json!({ "actor": follower_actor })),
    )
    .await;
    assert_eq!(approved["state"], "accepted");
    let origin_actor = format!("{}/actor", origin.base);
    eventually(30, "the Accept to arrive", || async {
        let b = admin(
            follower,
            Method::GET,
            "/api/v1/following?state=accepted",
            None,
        )
        .await;
        b["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["actor"] == origin_actor.as_str())
            .then_some(())
    })
    .await;
}

/// A node that approves follow requests at once, with an organisation in `country`.
pub async fn partner(country: &str) -> TestNode {
    partner_with(country, |_| {}).await
}

/// Like [`partner`], with the config adjusted by `adjust`.
pub async fn partner_with(
    country: &str,
    adjust: impl FnOnce(&mut punte_server::Config),
) -> TestNode {
    let node = spawn_node_with(|c| {
        c.federation.auto_approve_follows = true;
        adjust(c);
    })
    .await;
    admin(
        &node,
        Method::PUT,
        "/api/v1/organisation",
        Some(json!({"name": {"en": format!("NGO in {country}")}, "country": country, "languages": ["en"]})),
    )
    .await;
    node
}

/// `follower` follows `origin` (which approves at once): `follower` becomes its witness.
pub async fn follow(follower: &TestNode, origin: &TestNode) {
    admin(
        follower,
        Method::POST,
        "/api/v1/following",
        Some(json!({ "target": format!("{}/actor", origin.base) })),
    )
    .await;
    let actor = format!("{}/actor", origin.base);
    eventually(30, "the follow to be accepted", || async {
        let b = admin(
            follower,
            Method::GET,
            "/api/v1/following?state=accepted",
            None,
        )
        .await;
        b["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["actor"] == actor.as_str())
            .then_some(())
    })
    .await;
}

/// The replica of `origin` as `follower`'s admin API shows it, once `ready` holds.
pub async fn replica_when(
    follower: &TestNode,
    origin: &TestNode,
    what: &str,
    ready: impl Fn(&Value) -> bool,
) -> Value {
    let actor = format!("{}/actor", origin.base);
    eventually(60, what, || async {
        let b = admin(follower, Method::GET, "/api/v1/replicas", None).await;
        b["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["actor"] == actor.as_str() && ready(r))
            .cloned()
    })
    .await
}

/// Waits until `node`'s replica of `origin` holds every entry of `origin`'s log.
pub async fn synced(node: &TestNode, origin: &TestNode) {
    let actor = format!("{}/actor", origin.base);
    let size = origin.node.log_size().unwrap();
    eventually(60, "the replica to catch up", || async {
        let b = admin(node, Method::GET, "/api/v1/replicas", None).await;
        b["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["actor"] == actor.as_str() && r["size"].as_u64() == Some(size))
            .then_some(())
    })
    .await;
}
