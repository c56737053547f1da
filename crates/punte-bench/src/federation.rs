//! `punte-fed-load`: federation under load, real nodes in-process on loopback.
//!
//! 1. **Inbox**: signed activities (RFC 9421 ed25519 + eddsa-jcs-2022 proof) POSTed by a
//!    sender node to a target node, verified and durably stored, against the crypto-only
//!    ceiling in the same run (parsing, both signature verifications and the
//!    canonicalisation the proof needs, on all cores, without HTTP or storage).
//! 2. **Fan-out**: one change delivered to N follower inboxes (a minimal HTTP receiver
//!    on loopback), for Mastodon-style followers (draft-cavage RSA) and Punte followers
//!    (RFC 9421 ed25519).
//! 3. **Backfill**: a follower catching up an origin log of N entries by pull, verified.
//! 4. **Memory**: the process's resident and peak memory after each phase (both nodes and
//!    the load generator share the process, so these are upper bounds for one node).

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use punte_model::{Practice, PracticeContent};
use punte_protocol::httpsig::{self, HttpRequest, PublicKey, SigningKeyRef, VerifyPolicy};
use punte_protocol::{activity, jcs, proof};
use punte_server::{Application, Config};
use punte_store::federation::{self as fedstore, ActorRow, FollowState};

#[derive(Debug, Parser)]
#[command(about = "Load-test Punte federation on loopback")]
struct Args {
    /// Signed activities sent to the inbox (0 skips the phase).
    #[arg(long, default_value_t = 5000)]
    inbox: usize,
    /// Concurrent senders to the inbox.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Follower inboxes for the fan-out (0 skips the phase).
    #[arg(long, default_value_t = 1000)]
    fanout: usize,
    /// Origin log entries the follower backfills (0 skips the phase).
    #[arg(long, default_value_t = 100_000)]
    backfill: usize,
}

fn config(dir: &std::path::Path) -> Config {
    let mut c = Config::default();
    c.storage.data_dir = dir.join("data");
    c.federation.allow_private_addresses = true;
    c.federation.auto_approve_follows = true;
    c.federation.retry_base_ms = 200;
    c.federation.delivery_concurrency = 64;
    c.federation.replica_poll_interval_secs = 3600;
    c.logging.level = "warn".into();
    c
}

struct Running {
    base: String,
    node: Arc<punte_node::Node>,
    fed: Arc<punte_node::federation::Federation>,
    _dir: tempfile::TempDir,
}

fn start() -> anyhow::Result<Running> {
    let dir = tempfile::tempdir()?;
    let app = Application::with_listener(&config(dir.path()), TcpListener::bind("127.0.0.1:0")?)?;
    let base = app.base_url().to_string();
    let node = app.node().into_inner();
    let fed = app.federation().into_inner();
    tokio::spawn(app.run_until_stopped());
    Ok(Running {
        base,
        node,
        fed,
        _dir: dir,
    })
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0))
}

/// `(VmRSS, VmHWM)` of this process in MiB.
fn memory() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| -> f64 {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn practice(i: usize) -> Value {
    json!({
        "title": {"ro": format!("Practica {i}: școala de după școală"), "en": format!("Practice {i}: after-school club")},
        "summary": {"ro": "Sprijin la teme pentru copii din zone rurale", "en": "Homework support for rural children"},
        "problem": {"ro": "Abandon școlar timpuriu în comunele mici", "en": "Early school leaving in small villages"},
        "solution": {"ro": "Mentori voluntari în fiecare după-amiază, cu masă caldă", "en": "Volunteer mentors every afternoon, with a hot meal"},
        "originalLanguage": "ro", "translations": {"en": {"method": "human"}},
        "country": "RO", "region": "RO32", "themes": ["education", "youth"], "sdgTargets": ["4.1"], "maturity": "promising"
    })
}

/// N signed inbox requests from `sender` to `target` (about 1.5 KiB each).
fn signed_requests(
    sender: &Running,
    target: &Running,
    n: usize,
) -> anyhow::Result<Vec<HttpRequest>> {
    let actor = format!("{}/actor", sender.base);
    let keys = sender.node.keys();
    let created = punte_protocol::timestamp::format_rfc3339(now_secs());
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let unsigned = json!({
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/data-integrity/v1", "https://w3id.org/punte/v1"],
            "id": format!("{}/activities/bench-{i}", sender.base),
            "type": "Create",
            "actor": actor,
            "published": created,
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "object": {
                "id": format!("{}/notes/bench-{i}", sender.base),
                "type": "Note",
                "attributedTo": actor,
                "content": format!("<p>Bench activity {i}: {}</p>", "sprijin la teme pentru copii din zone rurale ".repeat(20)),
            },
        });
        let signed = activity::sign_activity(&unsigned, &actor, &created, &keys.identity)?;
        let body = jcs::canonicalize(&signed)?;
        let mut req = HttpRequest::new("POST", format!("{}/inbox", target.base))
            .with_header("Content-Type", "application/activity+json")
            .with_body(body);
        httpsig::rfc9421::sign_request(
            &mut req,
            &format!("{actor}#ed25519-key"),
            SigningKeyRef::Ed25519(&keys.identity),
            now_secs(),
        )?;
        out.push(req);
    }
    Ok(out)
}

/// What the inbox does before storing, without HTTP or storage, on all cores.
fn crypto_ceiling(requests: &[HttpRequest], key: ed25519_dalek::VerifyingKey) -> f64 {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let policy = VerifyPolicy::default();
    let now = now_secs();
    let verified = AtomicUsize::new(0);
    let started = Instant::now();
    std::thread::scope(|s| {
        for part in requests.chunks(requests.len().div_ceil(threads).max(1)) {
            let (policy, verified) = (&policy, &verified);
            s.spawn(move || {
                for r in part {
                    let Ok(value) = serde_json::from_slice::<Value>(&r.body) else {
                        continue;
                    };
                    let http_ok =
                        httpsig::verify_request(r, |_| Some(PublicKey::Ed25519(key)), policy, now)
                            .is_ok();
                    let proof_ok = proof::verify(&value, |_| Some(key)).is_ok();
                    if http_ok && proof_ok {
                        verified.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    let rate = verified.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
    if verified.load(Ordering::Relaxed) != requests.len() {
        eprintln!(
            "warning: only {} of {} verified in the ceiling run",
            verified.load(Ordering::Relaxed),
            requests.len()
        );
    }
    rate
}

/// One request as the bytes of an HTTP/1.1 message (request line, `Host`, the signed
/// headers, `Content-Length`, body), and the `host:port` to send it to.
fn wire_bytes(r: &HttpRequest) -> anyhow::Result<(String, Vec<u8>)> {
    let rest = r
        .target_uri
        .strip_prefix("http://")
        .context("the bench sends over plain http")?;
    let (authority, path) = rest.split_once('/').context("no path in the target")?;
    let mut head = format!("{} /{path} HTTP/1.1\r\nHost: {authority}\r\n", r.method);
    for (n, v) in &r.headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", r.body.len()));
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(&r.body);
    Ok((authority.to_owned(), bytes))
}

/// Reads one HTTP/1.1 response from `sock` (status line, headers, `Content-Length` body)
/// into `buf`; returns its status and body.
async fn read_response(
    sock: &mut tokio::net::TcpStream,
    buf: &mut Vec<u8>,
) -> anyhow::Result<(u16, String)> {
    let mut tmp = [0u8; 8192];
    let end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
        let n = sock.read(&mut tmp).await?;
        anyhow::ensure!(n > 0, "the inbox closed the connection");
        buf.extend_from_slice(tmp.get(..n).unwrap_or_default());
    };
    let head = String::from_utf8_lossy(buf.get(..end).unwrap_or_default()).to_ascii_lowercase();
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("no status line")?;
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .context("the inbox answered without content-length")?;
    let need = end + 4 + len;
    while buf.len() < need {
        let n = sock.read(&mut tmp).await?;
        anyhow::ensure!(n > 0, "the inbox closed the connection");
        buf.extend_from_slice(tmp.get(..n).unwrap_or_default());
    }
    let body = String::from_utf8_lossy(buf.get(end + 4..need).unwrap_or_default()).into_owned();
    buf.drain(..need);
    Ok((status, body))
}

/// Sends `requests` over `concurrency` keep-alive connections and counts the `202`s.
///
/// Every request is turned into its HTTP/1.1 bytes before the clock starts, so the timed
/// window holds the server's work and only the generator's socket reads and writes (the
/// generator shares the process and the cores with the nodes; a full HTTP client library
/// building and parsing each message would take CPU away from the inbox being measured).
async fn send_all(requests: &[HttpRequest], concurrency: usize) -> anyhow::Result<(usize, f64)> {
    let wire = requests
        .iter()
        .map(wire_bytes)
        .collect::<anyhow::Result<Vec<_>>>()?;
    let Some((authority, _)) = wire.first() else {
        return Ok((0, 0.0));
    };
    let authority = authority.clone();
    let wire = Arc::new(wire.into_iter().map(|(_, b)| b).collect::<Vec<_>>());
    let mut socks = Vec::with_capacity(concurrency);
    for _ in 0..concurrency.min(wire.len()) {
        let sock = tokio::net::TcpStream::connect(&authority).await?;
        sock.set_nodelay(true)?;
        socks.push(sock);
    }
    let next = Arc::new(AtomicUsize::new(0));
    let accepted = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for mut sock in socks {
        let (wire, next, accepted) = (wire.clone(), next.clone(), accepted.clone());
        tasks.push(tokio::spawn(async move {
            let mut buf = Vec::with_capacity(8192);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(bytes) = wire.get(i) else {
                    return Ok::<_, anyhow::Error>(());
                };
                sock.write_all(bytes).await?;
                let (status, body) = read_response(&mut sock, &mut buf).await?;
                anyhow::ensure!(status == 202, "inbox answered {status}: {body}");
                accepted.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok((
        accepted.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64(),
    ))
}

/// A minimal HTTP/1.1 server answering 202 to everything, counting requests.
async fn receiver(listener: tokio::net::TcpListener, count: Arc<AtomicUsize>) {
    while let Ok((mut sock, _)) = listener.accept().await {
        let count = count.clone();
        tokio::spawn(async move {
            let mut buf: Vec<u8> = Vec::new();
            let mut tmp = vec![0u8; 64 * 1024];
            loop {
                let end = loop {
                    if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break p;
                    }
                    match sock.read(&mut tmp).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(tmp.get(..n).unwrap_or_default()),
                    }
                };
                let head = String::from_utf8_lossy(buf.get(..end).unwrap_or_default())
                    .to_ascii_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                let need = end + 4 + len;
                while buf.len() < need {
                    match sock.read(&mut tmp).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(tmp.get(..n).unwrap_or_default()),
                    }
                }
                buf.drain(..need);
                count.fetch_add(1, Ordering::Relaxed);
                if sock
                    .write_all(b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n")
                    .await
                    .is_err()
                {
                    return;
                }
            }
        });
    }
}

/// Registers `n` accepted followers with inboxes on `receiver_base`.
fn add_followers(
    node: &punte_node::Node,
    receiver_base: &str,
    n: usize,
    punte: bool,
    tag: &str,
) -> anyhow::Result<()> {
    let host = receiver_base.trim_start_matches("http://").to_owned();
    node.store()
        .write(|tx| -> Result<(), punte_store::StoreError> {
            for i in 0..n {
                let id = format!("{receiver_base}/{tag}/{i}/actor");
                fedstore::upsert_actor(
                    tx,
                    &ActorRow {
                        id: id.clone(),
                        host: host.clone(),
                        inbox: format!("{receiver_base}/{tag}/{i}/inbox"),
                        shared_inbox: None,
                        username: None,
                        document: b"{}".to_vec(),
                        is_punte: punte,
                        fetched_ms: 0,
                    },
                )?;
                fedstore::upsert_follower(
                    tx,
                    &id,
                    &format!("{id}#follow"),
                    b"{}",
                    FollowState::Accepted,
                    0,
                )?;
            }
            Ok(())
        })?;
    Ok(())
}

async fn fanout(target: &Running, n: usize, punte: bool, tag: &str) -> anyhow::Result<f64> {
    let count = Arc::new(AtomicUsize::new(0));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let receiver_base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(receiver(listener, count.clone()));
    add_followers(&target.node, &receiver_base, n, punte, tag)?;
    let content: PracticeContent = serde_json::from_value(practice(0))?;
    let node = target.node.clone();
    let started = Instant::now();
    tokio::task::spawn_blocking(move || node.create::<Practice>(content)).await??;
    while count.load(Ordering::Relaxed) < n {
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(600),
            "fan-out stalled at {}",
            count.load(Ordering::Relaxed)
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    // Leave nobody behind for the next phase.
    target
        .node
        .store()
        .write(|tx| -> Result<(), punte_store::StoreError> {
            tx.execute_batch("DELETE FROM followers WHERE follow_id LIKE '%#follow'")?;
            Ok(())
        })?;
    Ok(elapsed)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let target = start()?;
    let sender = start()?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (idle_rss, _) = memory();
    let mut rows: Vec<(String, String)> = Vec::new();
    rows.push((
        "memory: two idle nodes, resident".into(),
        format!("{idle_rss:.0} MiB"),
    ));

    if args.inbox > 0 {
        eprintln!("preparing {} signed activities…", args.inbox);
        let requests = signed_requests(&sender, &target, args.inbox + 1)?;
        let key = sender.node.keys().identity.verifying_key();
        eprintln!("crypto ceiling…");
        let ceiling = crypto_ceiling(&requests, key);
        let mut requests = requests;
        let warm = requests.pop().context("no request")?;
        send_all(&[warm], 1).await?; // fetches and caches the sender's actor
        eprintln!(
            "sending {} activities to the inbox with {} clients…",
            args.inbox, args.concurrency
        );
        let (n, secs) = send_all(&requests, args.concurrency).await?;
        let rate = n as f64 / secs;
        let stored = target.fed.inbox_latest(1)?.first().map_or(0, |r| r.seq);
        anyhow::ensure!(stored as usize > n, "the inbox stored {stored} of {n}");
        rows.push((
            "inbox: crypto-only ceiling (verify HTTP signature + proof, all cores)".into(),
            format!("{ceiling:.0} /s"),
        ));
        rows.push((
            "inbox: verified and durably stored (HTTP, group commit)".into(),
            format!("{rate:.0} /s"),
        ));
        rows.push((
            "inbox: ratio stored / ceiling".into(),
            format!("{:.2}", rate / ceiling.max(f64::MIN_POSITIVE)),
        ));
        let (rss, hwm) = memory();
        rows.push((
            "memory after the inbox run: resident / peak".into(),
            format!("{rss:.0} / {hwm:.0} MiB"),
        ));
    }

    if args.fanout > 0 {
        eprintln!("fan-out to {} Mastodon-style inboxes…", args.fanout);
        let cavage = fanout(&target, args.fanout, false, "m").await?;
        eprintln!("fan-out to {} Punte inboxes…", args.fanout);
        let ed = fanout(&target, args.fanout, true, "p").await?;
        rows.push((
            format!(
                "fan-out: one change to {} inboxes, draft-cavage RSA",
                args.fanout
            ),
            format!("{cavage:.2} s"),
        ));
        rows.push((
            format!(
                "fan-out: one change to {} inboxes, RFC 9421 ed25519",
                args.fanout
            ),
            format!("{ed:.2} s"),
        ));
        let (rss, hwm) = memory();
        rows.push((
            "memory after the fan-out: resident / peak".into(),
            format!("{rss:.0} / {hwm:.0} MiB"),
        ));
    }

    if args.backfill > 0 {
        let origin = start()?;
        eprintln!("writing {} entries on the origin…", args.backfill);
        let written = Instant::now();
        let mut left = args.backfill;
        while left > 0 {
            let n = left.min(5000);
            let contents: Vec<PracticeContent> = (0..n)
                .map(|i| serde_json::from_value(practice(i)))
                .collect::<Result<_, _>>()?;
            let node = origin.node.clone();
            tokio::task::spawn_blocking(move || node.create_many::<Practice>(contents)).await??;
            left -= n;
        }
        let write_secs = written.elapsed().as_secs_f64();
        let size = origin.node.log_size()?;
        eprintln!("following and backfilling {size} entries…");
        let started = Instant::now();
        target
            .fed
            .follow(&format!("{}/actor", origin.base))
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let actor = format!("{}/actor", origin.base);
        loop {
            let have = target
                .fed
                .replicas()?
                .into_iter()
                .find(|r| r.actor == actor)
                .map_or(0, |r| r.size);
            if have >= size {
                break;
            }
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(1800),
                "backfill stalled at {have}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let secs = started.elapsed().as_secs_f64();
        rows.push((
            format!("backfill: origin writes {size} entries (bulk, signed)"),
            format!("{:.0} entries/s", size as f64 / write_secs),
        ));
        rows.push((
            format!("backfill: follower catches up {size} entries, verified"),
            format!("{:.0} entries/s ({secs:.1} s)", size as f64 / secs),
        ));
        let (rss, hwm) = memory();
        rows.push((
            "memory after the backfill: resident / peak".into(),
            format!("{rss:.0} / {hwm:.0} MiB"),
        ));
    }

    println!("| measurement | result |");
    println!("| --- | ---: |");
    for (name, value) in rows {
        println!("| {name} | {value} |");
    }
    Ok(())
}
