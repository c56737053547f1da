//! Starting nodes for tests and talking to them.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::net::TcpListener;

use punte_node::Role;
use punte_server::{Application, Config};
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
}

/// Starts a node on 127.0.0.1:0 with a fresh data directory and one token per role.
pub async fn spawn_node() -> TestNode {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.storage.data_dir = dir.path().join("data");
    config.federation.allow_private_addresses = true;
    config.server.workers = 2;
    config.server.shutdown_timeout_secs = 1;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let app = Application::with_listener(&config, listener).unwrap();
    let base = app.base_url().to_string();
    let node = app.node();
    let admin = node.create_token(Role::Admin, "test admin").unwrap().1;
    let editor = node.create_token(Role::Editor, "test editor").unwrap().1;
    let reader = node.create_token(Role::Reader, "test reader").unwrap().1;
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    TestNode {
        base,
        client: reqwest::Client::new(),
        admin,
        editor,
        reader,
        handle,
        dir,
        node,
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
