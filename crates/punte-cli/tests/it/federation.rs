//! Two real `punte serve` processes federating: the follower and then the origin are killed
//! with SIGKILL during a burst of writes; after both restart, the follower's verified replica
//! holds every practice the origin acknowledged. A partner imports a followed coordinator's
//! catalogue with `punte catalogue import`.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::{BIN, ok, punte};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn init_at(dir: &Path, name: &str, port: u16) -> String {
    ok(&punte(
        dir,
        &[
            "init",
            "--name",
            name,
            "--country",
            "RO",
            "--base-url",
            &format!("http://127.0.0.1:{port}"),
        ],
    ));
    ok(&punte(dir, &["token", "create", "--role", "admin"]))
        .lines()
        .last()
        .unwrap()
        .to_string()
}

/// `punte serve` on `port` with loopback federation, fast retries and polls.
fn start(dir: &Path, port: u16) -> Child {
    Command::new(BIN)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .current_dir(dir)
        .env("RUST_LOG", "warn")
        .env("PUNTE_FEDERATION__ALLOW_PRIVATE_ADDRESSES", "true")
        .env("PUNTE_FEDERATION__AUTO_APPROVE_FOLLOWS", "true")
        .env("PUNTE_FEDERATION__RETRY_BASE_MS", "200")
        .env("PUNTE_FEDERATION__RETRY_MAX_DELAY_SECS", "2")
        .env("PUNTE_FEDERATION__BREAKER_MAX_PAUSE_SECS", "2")
        .env("PUNTE_FEDERATION__REPLICA_POLL_INTERVAL_SECS", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

async fn wait_up(client: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while client
        .get(format!("{base}/healthz"))
        .send()
        .await
        .map_or(true, |r| !r.status().is_success())
    {
        assert!(Instant::now() < deadline, "{base} did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn practice(n: usize) -> Value {
    json!({
        "title": {"en": format!("Practice {n}")}, "summary": {"en": "s"}, "problem": {"en": "p"},
        "solution": {"en": "s"}, "originalLanguage": "en", "country": "RO", "maturity": "innovation"
    })
}

/// Writers that create practices until the node stops answering; returns acknowledged ids.
fn burst(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    acknowledged: &Arc<Mutex<BTreeSet<String>>>,
    offset: usize,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..3)
        .map(|w| {
            let (client, base, token, acknowledged) = (
                client.clone(),
                base.to_owned(),
                token.to_owned(),
                acknowledged.clone(),
            );
            tokio::spawn(async move {
                for i in 0..100_000 {
                    let sent = client
                        .post(format!("{base}/api/v1/practices"))
                        .bearer_auth(&token)
                        .json(&practice(offset + w * 1_000_000 + i))
                        .send()
                        .await;
                    let Ok(res) = sent else { return };
                    if res.status() != 201 {
                        return;
                    }
                    let Ok(body) = res.json::<Value>().await else {
                        return;
                    };
                    acknowledged
                        .lock()
                        .unwrap()
                        .insert(format!("{base}/practices/{}", body["id"].as_str().unwrap()));
                }
            })
        })
        .collect()
}

async fn wait_count(acknowledged: &Arc<Mutex<BTreeSet<String>>>, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while acknowledged.lock().unwrap().len() < n {
        assert!(Instant::now() < deadline, "writes too slow");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_follower_and_origin_lose_nothing_acknowledged() {
    let (origin_dir, follower_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (op, fp) = (free_port(), free_port());
    let (origin, follower) = (
        format!("http://127.0.0.1:{op}"),
        format!("http://127.0.0.1:{fp}"),
    );
    let origin_token = init_at(origin_dir.path(), "Origin", op);
    let follower_token = init_at(follower_dir.path(), "Follower", fp);
    let client = reqwest::Client::new();
    let mut o = start(origin_dir.path(), op);
    let mut f = start(follower_dir.path(), fp);
    wait_up(&client, &origin).await;
    wait_up(&client, &follower).await;

    let res = client
        .post(format!("{follower}/api/v1/following"))
        .bearer_auth(&follower_token)
        .json(&json!({"target": format!("{origin}/actor")}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let body: Value = client
            .get(format!("{follower}/api/v1/following?state=accepted"))
            .bearer_auth(&follower_token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if !body["items"].as_array().unwrap().is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "follow was not accepted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Burst 1: the follower is killed while the origin writes and delivers.
    let acknowledged = Arc::new(Mutex::new(BTreeSet::new()));
    let writers = burst(&client, &origin, &origin_token, &acknowledged, 0);
    wait_count(&acknowledged, 30).await;
    f.kill().unwrap();
    f.wait().unwrap();
    wait_count(&acknowledged, 60).await;
    // ... then the origin itself, mid-burst.
    o.kill().unwrap();
    o.wait().unwrap();
    for w in writers {
        w.await.unwrap();
    }

    // Both come back; the follower catches up with everything acknowledged.
    let mut o = start(origin_dir.path(), op);
    let mut f = start(follower_dir.path(), fp);
    wait_up(&client, &origin).await;
    wait_up(&client, &follower).await;
    let writers = burst(&client, &origin, &origin_token, &acknowledged, 500_000);
    wait_count(&acknowledged, 90).await;
    o.kill().unwrap();
    o.wait().unwrap();
    for w in writers {
        w.await.unwrap();
    }
    let mut o2 = start(origin_dir.path(), op);
    wait_up(&client, &origin).await;

    let expected = acknowledged.lock().unwrap().clone();
    let deadline = Instant::now() + Duration::from_secs(120);
    let actor = format!("{origin}/actor");
    loop {
        let body: Value = client
            .get(format!(
                "{follower}/api/v1/replicated?kind=practice&actor={}",
                actor.replace(':', "%3A").replace('/', "%2F")
            ))
            .bearer_auth(&follower_token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let have: BTreeSet<String> = body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["id"].as_str().unwrap().to_owned())
            .collect();
        let missing: Vec<_> = expected.difference(&have).collect();
        if missing.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} acknowledged practices never reached the follower, e.g. {:?}",
            missing.len(),
            missing.first()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The replica is the origin's whole log, verified.
    let size: u64 = {
        let text = client
            .get(format!("{origin}/log/checkpoint"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines().nth(1).unwrap().parse().unwrap()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let body: Value = client
            .get(format!("{follower}/api/v1/replicas"))
            .bearer_auth(&follower_token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let r = &body["items"][0];
        if r["size"].as_u64() == Some(size) {
            assert!(r["lastError"].is_null(), "{r}");
            break;
        }
        assert!(Instant::now() < deadline, "replica stuck: {r}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for child in [&mut o2, &mut f] {
        child.kill().unwrap();
        child.wait().unwrap();
    }
}

#[test]
fn follow_commands_explain_themselves() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    crate::init(d);
    assert!(ok(&punte(d, &["following"])).contains("(none)"));
    assert!(ok(&punte(d, &["followers", "list", "--pending"])).contains("(none)"));
    assert!(ok(&punte(d, &["deliveries"])).contains("per host"));

    let err = |args: &[&str]| {
        let out = punte(d, args);
        assert!(!out.status.success(), "{args:?} succeeded");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    // Loopback is refused unless federation.allow_private_addresses is set.
    let e = err(&["follow", "http://127.0.0.1:9/actor"]);
    assert!(e.contains("private"), "{e}");
    let e = err(&["follow", "@nobody"]);
    assert!(e.contains("cannot follow @nobody"), "{e}");
    let e = err(&["deliveries", "--state", "lost"]);
    assert!(e.contains("pending, delivered or failed"), "{e}");
    let e = err(&["followers", "approve", "https://partner.example/actor"]);
    assert!(e.contains("not found"), "{e}");
}

/// A coordinator publishes its catalogue; a partner follows it and imports the catalogue with
/// `punte catalogue import ACTOR` on its data directory while `punte serve` runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalogue_of_a_followed_coordinator_is_imported_from_the_command_line() {
    let (co_dir, ngo_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (cp, np) = (free_port(), free_port());
    let (co, ngo) = (
        format!("http://127.0.0.1:{cp}"),
        format!("http://127.0.0.1:{np}"),
    );
    init_at(co_dir.path(), "Coordinator", cp);
    let ngo_token = init_at(ngo_dir.path(), "NGO", np);
    std::fs::write(
        co_dir.path().join("catalogue.csv"),
        "code,version,label:en,label:ro,unit,measure,direction,aggregation\n\
         participants,1,Participants,Participanți,persons,count,increase,sum\n\
         esl-rate,1,Early school leaving,Abandon școlar,%,percentage,decrease,mean\n",
    )
    .unwrap();
    ok(&punte(
        co_dir.path(),
        &["indicator", "import", "catalogue.csv"],
    ));
    let co_actor = format!("{co}/actor");

    // Not followed yet: the command says what to do.
    let refused = punte(ngo_dir.path(), &["catalogue", "import", &co_actor]);
    assert!(!refused.status.success());
    let e = String::from_utf8_lossy(&refused.stderr);
    assert!(
        e.contains("cannot import the catalogue of") && e.contains("follow it"),
        "{e}"
    );

    let client = reqwest::Client::new();
    let mut c = start(co_dir.path(), cp);
    let mut n = start(ngo_dir.path(), np);
    wait_up(&client, &co).await;
    wait_up(&client, &ngo).await;
    let res = client
        .post(format!("{ngo}/api/v1/following"))
        .bearer_auth(&ngo_token)
        .json(&json!({ "target": co_actor }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    // Wait until the replica holds both definitions: the import then finds them.
    let deadline = Instant::now() + Duration::from_secs(60);
    let imported = loop {
        let out = punte(ngo_dir.path(), &["catalogue", "import", &co_actor]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() && text.lines().count() == 2 {
            break text;
        }
        assert!(Instant::now() < deadline, "the catalogue never replicated");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    // The first run that saw both may have followed one that saw one: each is listed once,
    // imported or unchanged.
    for r in ["esl-rate@1", "participants@1"] {
        assert_eq!(imported.matches(r).count(), 1, "{imported}");
    }
    let again = ok(&punte(ngo_dir.path(), &["catalogue", "import", &co_actor]));
    assert_eq!(again, "unchanged esl-rate@1\nunchanged participants@1\n");
    let list = ok(&punte(ngo_dir.path(), &["indicator", "list"]));
    assert!(
        list.contains("esl-rate@1") && list.contains("participants@1"),
        "{list}"
    );

    for child in [&mut c, &mut n] {
        child.kill().unwrap();
        child.wait().unwrap();
    }
}

#[test]
fn deliveries_are_listed_oldest_first_with_their_real_next_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    crate::init(d);
    let practice = d.join("p.json");
    std::fs::write(
        &practice,
        r#"{"title": {"en": "Queued"}, "summary": {"en": "s"}, "problem": {"en": "p"},
            "solution": {"en": "s"}, "originalLanguage": "en", "country": "RO",
            "maturity": "innovation"}"#,
    )
    .unwrap();
    ok(&punte(d, &["practice", "add", practice.to_str().unwrap()]));
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let hour = 3_600_000;
    {
        // Three queued rows: two to a host whose pause ended an hour ago (due now), one to a
        // host paused for another hour although its own retry time has passed.
        let db = rusqlite::Connection::open(d.join("punte-data").join("punte.db")).unwrap();
        db.execute_batch(&format!(
            "INSERT INTO deliveries (id, log_index, inbox, host, state, attempts, created_ms, next_attempt_ms)
             VALUES (1, 0, 'https://a.example/inbox', 'a.example', 'pending', 3, {c}, {past}),
                    (2, 0, 'https://b.example/inbox', 'b.example', 'pending', 6, {c}, {past}),
                    (3, 0, 'https://a2.example/inbox', 'a.example', 'pending', 0, {c}, {past});
             INSERT INTO delivery_hosts (host, consecutive_failures, paused_until_ms)
             VALUES ('a.example', 3, {past}), ('b.example', 6, {future});",
            c = now_ms - 2 * hour,
            past = now_ms - hour,
            future = now_ms + hour,
        ))
        .unwrap();
    }
    let out = ok(&punte(d, &["deliveries"]));
    let a_host = out.lines().find(|l| l.contains("a.example:")).unwrap();
    assert!(!a_host.contains("paused"), "{out}");
    let b_host = out.lines().find(|l| l.contains("b.example:")).unwrap();
    assert!(b_host.contains("paused until"), "{out}");
    let rows: Vec<&str> = out.lines().filter(|l| l.starts_with('#')).collect();
    assert_eq!(rows.len(), 3, "{out}");
    assert!(
        rows[0].starts_with("#1 ") && rows[0].contains("attempt 4 due now"),
        "{out}"
    );
    assert!(
        rows[1].starts_with("#2 ") && rows[1].contains("attempt 7 at "),
        "{out}"
    );
    assert!(!rows[1].contains("due now"), "{out}");
    assert!(
        rows[2].starts_with("#3 ") && rows[2].contains("due now"),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_killed_in_the_middle_of_a_pull_resumes_it_and_holds_the_whole_log() {
    let (origin_dir, follower_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (op, fp) = (free_port(), free_port());
    let (origin, follower) = (
        format!("http://127.0.0.1:{op}"),
        format!("http://127.0.0.1:{fp}"),
    );
    init_at(origin_dir.path(), "Origin", op);
    let follower_token = init_at(follower_dir.path(), "Follower", fp);
    // A long history, written directly (bulk, one transaction per thousand): a pull of it
    // takes several batches of 5000 entries.
    {
        let node = punte_node::Node::open(punte_node::NodeSettings {
            data_dir: origin_dir.path().join("punte-data"),
            base_url: origin.clone(),
            disclosure_k: 5,
        })
        .unwrap();
        for chunk in 0..12 {
            let contents = (0..1000)
                .map(|i| serde_json::from_value(practice(chunk * 1000 + i)).unwrap())
                .collect();
            node.create_many::<punte_model::Practice>(contents).unwrap();
        }
    }
    let client = reqwest::Client::new();
    let _o = Killed(start(origin_dir.path(), op));
    let mut f = Killed(start(follower_dir.path(), fp));
    wait_up(&client, &origin).await;
    wait_up(&client, &follower).await;
    let origin_size = || async {
        client
            .get(format!("{origin}/log/checkpoint"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .lines()
            .nth(1)
            .unwrap()
            .parse::<u64>()
            .unwrap()
    };
    let size = origin_size().await;
    assert!(size > 12_000);
    let replica = || async {
        let body: Value = client
            .get(format!("{follower}/api/v1/replicas"))
            .bearer_auth(&follower_token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["items"][0].clone()
    };
    let res = client
        .post(format!("{follower}/api/v1/following"))
        .bearer_auth(&follower_token)
        .json(&json!({"target": format!("{origin}/actor")}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);

    // Killed once the first batch is in and before the last.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let held = replica().await["size"].as_u64().unwrap_or(0);
        assert!(
            held < size,
            "the pull ended before the follower could be killed"
        );
        if held > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the pull did not start");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    f.0.kill().unwrap();
    f.0.wait().unwrap();

    // Back, it resumes from what it committed and ends with the whole log, verified.
    let _f = Killed(start(follower_dir.path(), fp));
    wait_up(&client, &follower).await;
    let deadline = Instant::now() + Duration::from_secs(180);
    let size = loop {
        let r = replica().await;
        assert!(r["lastError"].is_null(), "{r}");
        let size = origin_size().await;
        if r["size"].as_u64() == Some(size) {
            assert_eq!(r["upToDate"], true, "{r}");
            break size;
        }
        assert!(Instant::now() < deadline, "the pull did not resume: {r}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let (count, last): (u64, u64) =
        rusqlite::Connection::open(follower_dir.path().join("punte-data").join("punte.db"))
            .unwrap()
            .query_row("SELECT count(*), max(idx) FROM replica_entries", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
    assert_eq!((count, last), (size, size - 1));
}

/// A child process killed (SIGKILL) when dropped, also when a test fails.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
