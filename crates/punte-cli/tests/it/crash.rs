//! A write answered with 2xx survives `kill -9` of the node.

use std::collections::BTreeSet;

use crate::{init, ok, punte, serve};

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
    init(d);
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

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_and_sigint_stop_gracefully_and_close_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    init(d);
    let token = ok(&punte(d, &["token", "create", "--role", "editor"]))
        .lines()
        .last()
        .unwrap()
        .to_string();
    let client = reqwest::Client::new();
    for (n, signal) in ["-TERM", "-INT"].into_iter().enumerate() {
        let (mut child, base) = serve(d);
        let res = client
            .post(format!("{base}/api/v1/practices"))
            .bearer_auth(&token)
            .json(&practice(n))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let status = std::process::Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = child.wait().unwrap();
        assert!(exit.success(), "punte exited with {exit:?} on {signal}");
        // a clean close checkpoints the write-ahead log into the database file
        let wal = d.join("punte-data/punte.db-wal");
        assert!(
            !wal.exists() || wal.metadata().unwrap().len() == 0,
            "WAL left behind after a clean stop on {signal}"
        );
    }
    // the serve lock is free again and both practices are there
    let (mut child, base) = serve(d);
    let list: serde_json::Value = client
        .get(format!("{base}/api/v1/practices"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    child.kill().unwrap();
    child.wait().unwrap();
}
