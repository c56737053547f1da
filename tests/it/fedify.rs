//! Interoperability with independent software: a Fedify actor (npm `@fedify/fedify`, run by the
//! machine's Node.js from `tests/interop/fedify/peer.mjs`) WebFingers and follows our node, gets
//! approved, receives our Create/Update/Delete with a verified draft-cavage HTTP signature and a
//! verified FEP-8b32 proof, fetches our outbox with a signed GET, and sends our inbox signed
//! activities that our node accepts.
//!
//! The test installs the npm packages (`npm ci`) when `node_modules` is missing. Without Node.js
//! or npm it fails: it never skips.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::support::{TestNode, practice_json, spawn_node, spawn_node_with};

/// How long any one step may take on a loaded machine; never asserted as a timing.
const PATIENCE: Duration = Duration::from_secs(90);

fn peer_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("interop/fedify")
}

/// `program --version`, or a panic that says what is missing and why the test needs it.
fn require_tool(program: &str) -> String {
    match Command::new(program).arg("--version").output() {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        Ok(out) => panic!(
            "`{program} --version` failed ({}): {}. The Fedify interoperability test needs \
             Node.js >= 20 and npm on PATH.",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => panic!(
            "`{program}` is not available ({e}). The Fedify interoperability test needs \
             Node.js >= 20 and npm on PATH (Debian: apt-get install nodejs npm)."
        ),
    }
}

/// Node.js and npm present, and `node_modules` installed from the committed lock file; once
/// per test binary, so two tests never run `npm ci` in the same directory at once.
fn ensure_peer_installed() -> String {
    static INSTALLED: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    INSTALLED.get_or_init(install_peer).clone()
}

fn install_peer() -> String {
    let node = require_tool("node");
    let major: u32 = node
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    assert!(
        major >= 20,
        "Node.js {node} is too old: the Fedify peer needs >= 20"
    );
    require_tool("npm");
    let dir = peer_dir();
    if !dir
        .join("node_modules/@fedify/fedify/package.json")
        .exists()
    {
        let out = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .output()
            .expect("run npm ci");
        assert!(
            out.status.success(),
            "`npm ci` in {} failed ({}):\n{}\n{}",
            dir.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    node
}

/// The Fedify peer process and what it has reported so far.
struct Peer {
    child: Child,
    stdin: ChildStdin,
    events: mpsc::UnboundedReceiver<Value>,
    seen: Vec<Value>,
    stderr: Arc<Mutex<String>>,
    next_tag: u32,
    actor: String,
}

impl Peer {
    async fn start(node: &TestNode) -> Self {
        let mut child = Command::new("node")
            .arg("peer.mjs")
            .arg("--punte-context")
            .arg(format!("{}/ns/v1", node.base))
            .current_dir(peer_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start node peer.mjs");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut err = child.stderr.take().unwrap();
        let (tx, events) = mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                match serde_json::from_str::<Value>(&line) {
                    Ok(v) => {
                        if tx.send(v).is_err() {
                            break;
                        }
                    }
                    Err(_) => eprintln!("[peer stdout, not JSON] {line}"),
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let mut peer = Self {
            child,
            stdin,
            events,
            seen: Vec::new(),
            stderr,
            next_tag: 0,
            actor: String::new(),
        };
        let ready = peer
            .wait_for("the peer to start", |e| e["event"] == "ready")
            .await;
        peer.actor = ready["actor"].as_str().unwrap().to_owned();
        eprintln!(
            "Fedify {} on Node.js {}: actor {}",
            ready["fedify"], ready["node"], peer.actor
        );
        peer
    }

    /// The last events and the peer's stderr, for a failure message.
    fn diagnostics(&self) -> String {
        let mut s = String::from("\n--- peer events ---\n");
        for e in &self.seen {
            let mut line = e.to_string();
            if line.len() > 3000 {
                line.truncate(3000);
                line.push('…');
            }
            let _ = writeln!(s, "{line}");
        }
        let err = self.stderr.lock().unwrap();
        let tail: String = err
            .lines()
            .rev()
            .take(80)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n");
        let _ = write!(s, "--- peer stderr (tail) ---\n{tail}\n");
        s
    }

    fn fail(&self, msg: &str) -> ! {
        panic!("{msg}{}", self.diagnostics())
    }

    /// The first event, seen or still to come, that `pred` accepts.
    async fn wait_for(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        if let Some(e) = self.seen.iter().find(|e| pred(e)) {
            return e.clone();
        }
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.events.recv()).await {
                Ok(Some(e)) => {
                    self.seen.push(e.clone());
                    if pred(&e) {
                        return e;
                    }
                }
                Ok(None) => {
                    let status = self.child.try_wait().ok().flatten();
                    self.fail(&format!(
                        "the peer exited ({status:?}) while waiting for {what}"
                    ))
                }
                Err(_) => self.fail(&format!(
                    "no answer from the peer within {PATIENCE:?} while waiting for {what}"
                )),
            }
        }
    }

    /// Sends a command and returns its `result` event, or the `error` event as `Err`.
    async fn command(&mut self, mut cmd: Value) -> Result<Value, Value> {
        self.next_tag += 1;
        let tag = format!("t{}", self.next_tag);
        cmd["tag"] = json!(tag);
        let line = format!("{cmd}\n");
        if let Err(e) = self
            .stdin
            .write_all(line.as_bytes())
            .and_then(|()| self.stdin.flush())
        {
            self.fail(&format!("could not write to the peer: {e}"));
        }
        let what = format!("the answer to {}", cmd["cmd"]);
        let answer = self
            .wait_for(&what, |e| {
                e["tag"] == tag.as_str() && (e["event"] == "result" || e["event"] == "error")
            })
            .await;
        if answer["event"] == "result" {
            Ok(answer)
        } else {
            Err(answer)
        }
    }

    /// A command that must succeed.
    async fn run(&mut self, cmd: Value) -> Value {
        let name = cmd["cmd"].clone();
        match self.command(cmd).await {
            Ok(v) => v,
            Err(e) => self.fail(&format!("peer command {name} failed: {e}")),
        }
    }

    /// The `received` event of a `kind` activity whose object is `object_id`.
    async fn received(&mut self, kind: &str, object_id: &str) -> Value {
        let what = format!("a {kind} of {object_id} in the peer's inbox");
        let e = self
            .wait_for(&what, |e| {
                (e["event"] == "received" && e["type"] == kind && e["objectId"] == object_id)
                    || e["event"] == "rejected"
            })
            .await;
        if e["event"] == "rejected" {
            self.fail(&format!(
                "Fedify refused a delivery from our node while waiting for {what}: {e}"
            ));
        }
        e
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Both signatures of a delivery from our node verified by Fedify, by the keys we publish.
fn assert_verified_by_us(peer: &Peer, node: &TestNode, e: &Value) {
    let actor = format!("{}/actor", node.base);
    let ok = e["verified"] == true
        && e["actor"] == actor.as_str()
        && e["httpSignature"]["verified"] == true
        && e["httpSignature"]["scheme"] == "draft-cavage"
        && e["httpSignature"]["keyId"] == format!("{actor}#main-key").as_str()
        && e["proof"]["verified"] == true
        && e["proof"]["cryptosuite"] == "eddsa-jcs-2022"
        && e["proof"]["keyId"] == format!("{actor}#ed25519-key").as_str();
    if !ok {
        peer.fail(&format!(
            "Fedify did not verify both the HTTP signature (by {actor}#main-key) and the proof \
             (by {actor}#ed25519-key) of {} {}: http {} proof {}",
            e["type"], e["id"], e["httpSignature"], e["proof"]
        ));
    }
}

/// Whether any string in `v` equals `s`.
fn mentions(v: &Value, s: &str) -> bool {
    match v {
        Value::String(x) => x == s,
        Value::Array(a) => a.iter().any(|x| mentions(x, s)),
        Value::Object(o) => o.values().any(|x| mentions(x, s)),
        _ => false,
    }
}

/// One line on an endpoint of ours: status and the start of the body.
async fn probe(node: &TestNode, path: &str, accept: &str) -> String {
    let res = node
        .client
        .get(format!("{}{path}", node.base))
        .header("Accept", accept)
        .send()
        .await;
    match res {
        Ok(r) => {
            let status = r.status().as_u16();
            let ct = r
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            let mut body = r.text().await.unwrap_or_default();
            body.truncate(300);
            format!("GET {path} -> {status} {ct} {body}")
        }
        Err(e) => format!("GET {path} -> error {e}"),
    }
}

/// Polls the admin API until the followers in `state` mention `actor` (or, with `present`
/// false, until they no longer do).
async fn wait_follower(peer: &Peer, node: &TestNode, state: &str, actor: &str, present: bool) {
    let path = format!("/api/v1/followers?state={state}");
    let deadline = Instant::now() + PATIENCE;
    let mut last = String::new();
    while Instant::now() < deadline {
        let a = node.send(Method::GET, &path, Some(&node.admin), None).await;
        if a.status == 200 && mentions(&a.body, actor) == present {
            return;
        }
        last = format!("{} {}", a.status, a.body);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    peer.fail(&format!(
        "GET {path}: {actor} {} within {PATIENCE:?}; last answer {last}",
        if present {
            "never appeared"
        } else {
            "never left"
        }
    ));
}

/// Fedify's `fetchOutbox` of our outbox; on failure, the raw answers of our node to one
/// signed GET of the collection and of its first page.
async fn read_outbox(peer: &mut Peer, node: &TestNode) -> Value {
    let url = format!("{}/outbox", node.base);
    match peer
        .command(json!({"cmd": "fetchOutbox", "url": url}))
        .await
    {
        Ok(v) => v,
        Err(e) => {
            let mut why = format!("Fedify could not read our outbox: {e}");
            let collection = peer.command(json!({"cmd": "fetch", "url": url})).await;
            let collection = collection.unwrap_or_else(|e| e);
            let _ = write!(why, "\nsigned GET {url}: {collection}");
            if let Some(first) = collection["body"]["first"].as_str() {
                let page = peer.command(json!({"cmd": "fetch", "url": first})).await;
                let page = page.unwrap_or_else(|e| e);
                let _ = write!(why, "\nsigned GET {first}: {page}");
            }
            peer.fail(&why)
        }
    }
}

/// The entry of our inbox's admin listing for activity `id`, once it is there.
async fn inbox_entry(peer: &Peer, node: &TestNode, id: &str) -> Value {
    let deadline = Instant::now() + PATIENCE;
    let mut last = String::new();
    while Instant::now() < deadline {
        let a = node
            .send(
                Method::GET,
                "/api/v1/inbox?limit=200",
                Some(&node.admin),
                None,
            )
            .await;
        if a.status == 200
            && let Some(e) = a.body["items"]
                .as_array()
                .and_then(|items| items.iter().find(|e| e["id"] == id))
        {
            return e.clone();
        }
        last = format!("{} {}", a.status, a.body);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    peer.fail(&format!(
        "GET /api/v1/inbox never listed {id} within {PATIENCE:?}; last answer {last}"
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fedify_follows_receives_verified_activities_and_is_accepted() {
    ensure_peer_installed();
    let node = spawn_node().await;
    let our_actor = format!("{}/actor", node.base);

    // What our node serves, for the record when something below fails.
    for (path, accept) in [
        ("/actor", "application/activity+json"),
        (
            &format!(
                "/.well-known/webfinger?resource={}",
                our_actor.replace(':', "%3A").replace('/', "%2F")
            ) as &str,
            "application/jrd+json",
        ),
        ("/.well-known/nodeinfo", "application/json"),
        ("/outbox", "application/activity+json"),
        ("/followers", "application/activity+json"),
        ("/following", "application/activity+json"),
    ] {
        eprintln!("{}", probe(&node, path, accept).await);
    }

    let mut peer = Peer::start(&node).await;
    let peer_actor = peer.actor.clone();

    // 1. Fedify WebFingers our actor URL, looks the actor up and follows it.
    let follow = peer
        .run(json!({"cmd": "follow", "target": our_actor}))
        .await;
    let target = &follow["target"];
    assert_eq!(target["id"], our_actor.as_str(), "{follow}");
    assert_eq!(target["type"], "Organization", "{follow}");
    assert_eq!(target["webfinger"]["self"], our_actor.as_str(), "{follow}");
    assert!(
        mentions(&target["publicKeys"], &format!("{our_actor}#main-key")),
        "Fedify found no RSA publicKey #main-key on our actor: {follow}"
    );
    assert!(
        mentions(
            &target["assertionMethods"],
            &format!("{our_actor}#ed25519-key")
        ),
        "Fedify found no Multikey #ed25519-key under assertionMethod: {follow}"
    );
    let follow_id = follow["id"].as_str().unwrap().to_owned();

    // 2. The request waits for approval; approving it sends Accept, which Fedify verifies.
    wait_follower(&peer, &node, "pending", &peer_actor, true).await;
    let approved = node
        .send(
            Method::POST,
            "/api/v1/followers/approve",
            Some(&node.admin),
            Some(json!({"actor": peer_actor})),
        )
        .await;
    if !(200..300).contains(&approved.status) {
        peer.fail(&format!(
            "POST /api/v1/followers/approve -> {} {}",
            approved.status, approved.body
        ));
    }
    let accept = peer.received("Accept", &follow_id).await;
    assert_verified_by_us(&peer, &node, &accept);
    wait_follower(&peer, &node, "accepted", &peer_actor, true).await;

    // 3. Create, Update and Delete of a practice reach Fedify, each verified twice.
    let created = node.post("/api/v1/practices", practice_json()).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let object_id = format!("{}/practices/{id}", node.base);
    let create = peer.received("Create", &object_id).await;
    assert_verified_by_us(&peer, &node, &create);

    let mut edited = created.body.clone();
    edited["maturity"] = json!("good");
    let updated = TestNode::answer(
        node.client
            .put(format!("{}/api/v1/practices/{id}", node.base))
            .bearer_auth(&node.editor)
            .header("If-Match", "\"1\"")
            .json(&edited),
    )
    .await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    let update = peer.received("Update", &object_id).await;
    assert_verified_by_us(&peer, &node, &update);

    let deleted = node
        .send(
            Method::DELETE,
            &format!("/api/v1/practices/{id}"),
            Some(&node.editor),
            None,
        )
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    let delete = peer.received("Delete", &object_id).await;
    assert_verified_by_us(&peer, &node, &delete);

    // 4. Fedify reads our outbox with signed GETs (draft-cavage, its RSA key), following its
    //    pages (authorized fetch is off here; see the next test for it on).
    let outbox = read_outbox(&mut peer, &node).await;
    let unsigned = node.get("/outbox").await;
    assert_eq!(
        outbox["count"], unsigned.body["totalItems"],
        "Fedify read another number of outbox items than totalItems: {outbox}"
    );
    let ids: Vec<&str> = outbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["id"].as_str())
        .collect();
    for e in [&create, &update, &delete] {
        assert!(
            ids.contains(&e["id"].as_str().unwrap()),
            "{} {} is not among the outbox items Fedify read: {outbox}",
            e["type"],
            e["id"]
        );
    }

    // 5. Fedify's own signed activities (draft-cavage rsa-sha256, an eddsa-jcs-2022 proof with
    //    its own @context, and an LD signature after it) are accepted by our inbox.
    let note = peer
        .command(json!({
            "cmd": "send",
            "to": our_actor,
            "activity": {
                "type": "Create",
                "object": {"type": "Note", "content": "Salut de la Fedify"}
            }
        }))
        .await;
    let note = match note {
        Ok(v) => v,
        Err(e) => peer.fail(&format!(
            "our inbox refused Fedify's signed Create(Note): status {} body {}",
            e["status"], e["body"]
        )),
    };
    let note_id = note["id"].as_str().unwrap().to_owned();
    // What our node recorded it verified: the HTTP signature by Fedify's RSA key and the proof
    // by one of its assertion methods.
    for (what, id) in [("Follow", &follow_id), ("Create(Note)", &note_id)] {
        let entry = inbox_entry(&peer, &node, id).await;
        eprintln!("our inbox recorded Fedify's {what}: {entry}");
        let evidence = &entry["evidence"];
        let by_peer = |v: &Value| {
            v.as_str()
                .is_some_and(|k| k.starts_with(&format!("{peer_actor}#")))
        };
        if !(by_peer(&evidence["keyId"]) && by_peer(&evidence["proof"]["verificationMethod"])) {
            peer.fail(&format!(
                "our inbox did not record both Fedify's HTTP signature and proof for its \
                 {what}: {entry}"
            ));
        }
    }

    // Undo of the Follow: accepted and the follower is gone.
    let undo = peer
        .command(json!({"cmd": "undo", "follow": follow_id}))
        .await;
    if let Err(e) = undo {
        peer.fail(&format!(
            "our inbox refused Fedify's signed Undo(Follow): status {} body {}",
            e["status"], e["body"]
        ));
    }
    wait_follower(&peer, &node, "accepted", &peer_actor, false).await;

    // Nothing of ours was refused by Fedify along the way.
    let status = peer.run(json!({"cmd": "status"})).await;
    if let Some(r) = peer.seen.iter().find(|e| e["event"] == "rejected") {
        peer.fail(&format!("Fedify refused a delivery from our node: {r}"));
    }
    assert_eq!(
        status["contextMisses"],
        json!([]),
        "Fedify needed JSON-LD contexts it could not load offline: {status}"
    );

    for e in peer.seen.iter().filter(|e| e["event"] == "received") {
        eprintln!(
            "Fedify received {} {} (http signature {} by {}, proof {} by {})",
            e["type"],
            e["id"],
            e["httpSignature"]["verified"],
            e["httpSignature"]["keyId"],
            e["proof"]["verified"],
            e["proof"]["keyId"]
        );
    }
    eprintln!(
        "Fedify read {} items from our outbox with signed GETs",
        outbox["count"]
    );
    if std::env::var_os("PEER_DUMP").is_some() {
        eprintln!("{}", peer.diagnostics());
    }
    node.handle.stop(true).await;
}

/// With authorized fetch on, our collections answer only signed GETs: Fedify's signed reads
/// of the outbox and its pages succeed, the same GET unsigned is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fedify_reads_our_outbox_under_authorized_fetch() {
    ensure_peer_installed();
    let node = spawn_node_with(|c| c.federation.authorized_fetch = true).await;
    for _ in 0..2 {
        let created = node.post("/api/v1/practices", practice_json()).await;
        assert_eq!(created.status, 201, "{}", created.body);
    }
    let unsigned = TestNode::answer(
        node.client
            .get(format!("{}/outbox", node.base))
            .header("Accept", "application/activity+json"),
    )
    .await;
    assert_eq!(
        unsigned.status, 401,
        "an unsigned GET /outbox with authorized fetch on: {}",
        unsigned.body
    );

    let mut peer = Peer::start(&node).await;
    let outbox = read_outbox(&mut peer, &node).await;
    assert_eq!(outbox["totalItems"], 2, "{outbox}");
    assert_eq!(
        outbox["count"], 2,
        "Fedify read another number of outbox items than totalItems: {outbox}"
    );
    node.handle.stop(true).await;
}
