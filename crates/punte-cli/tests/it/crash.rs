//! A write answered with 2xx survives `kill -9` of the node.

use std::collections::BTreeSet;

use crate::{ok, punte, serve};

fn practice(n: usize) -> serde_json::Value {
    serde_json::json!({
        "title": {"en": format!("Practice {n}")}, "summary": {"en": "s"}, "problem": {"en": "p"},
        "solution": {"en": "s"}, "originalLanguage": "en", "country": "RO", "maturity": "innovation"
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let token = ok(&punte(d, &["token", "create", "--role", "editor"]))
        .lines()
        .last()
        .unwrap()
        .to_string();
    let (mut child, base) = serve(d);
    let client = reqwest::Client::new();

    // a burst of concurrent writers; the node is killed while they are still writing
    let acknowledged = std::sync::Arc::new(std::sync::Mutex::new(BTreeSet::new()));
    let mut writers = Vec::new();
    for w in 0..4 {
        let (client, base, token, acknowledged) = (
            client.clone(),
            base.clone(),
            token.clone(),
            acknowledged.clone(),
        );
        writers.push(tokio::spawn(async move {
            for i in 0..10_000 {
                let sent = client
                    .post(format!("{base}/api/v1/practices"))
                    .bearer_auth(&token)
                    .json(&practice(w * 100_000 + i))
                    .send()
                    .await;
                match sent {
                    Ok(res) if res.status() == 201 => {
                        let body: serde_json::Value = match res.json().await {
                            Ok(b) => b,
                            Err(_) => return,
                        };
                        acknowledged
                            .lock()
                            .unwrap()
                            .insert(body["id"].as_str().unwrap().to_string());
                    }
                    _ => return,
                }
            }
        }));
    }
    while acknowledged.lock().unwrap().len() < 40 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    for w in writers {
        w.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() >= 40);

    let (mut child, base) = serve(d);
    for id in &acknowledged {
        let res = client
            .get(format!("{base}/api/v1/practices/{id}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "acknowledged practice {id} was lost");
    }
    // and the node keeps working after the crash
    let res = client
        .post(format!("{base}/api/v1/practices"))
        .bearer_auth(&token)
        .json(&practice(0))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    child.kill().unwrap();
    child.wait().unwrap();
}
