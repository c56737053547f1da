//! `punte-load`: starts a real node in-process on loopback and measures the admin API: write
//! throughput and latency, read latency, each against a baseline measured in the same run.
//!
//! Baselines: for writes, the same `Node::create` calls without HTTP (the storage ceiling);
//! for reads, `GET /healthz` (the HTTP ceiling). Ratios survive noisy, shared machines better
//! than absolute numbers. Every loop is bounded in count; only loopback is contacted.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use punte_model::{Practice, PracticeContent};
use punte_node::Role;
use punte_server::{Application, Config};

#[derive(Debug, Parser)]
#[command(about = "Load-test a Punte node on loopback")]
struct Args {
    /// Practices written through the API (and, separately, directly).
    #[arg(long, default_value_t = 2000)]
    writes: usize,
    /// Reads of single practices by id.
    #[arg(long, default_value_t = 5000)]
    reads: usize,
    /// Concurrent HTTP clients.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
}

fn practice(i: usize) -> serde_json::Value {
    serde_json::json!({
        "title": {"ro": format!("Practica {i}: școala de după școală"), "en": format!("Practice {i}: after-school club")},
        "summary": {"ro": "Sprijin la teme pentru copii din zone rurale", "en": "Homework support for rural children"},
        "problem": {"ro": "Abandon școlar timpuriu în comunele mici", "en": "Early school leaving in small villages"},
        "solution": {"ro": "Mentori voluntari în fiecare după-amiază, cu masă caldă", "en": "Volunteer mentors every afternoon, with a hot meal"},
        "originalLanguage": "ro", "translations": {"en": {"method": "human"}},
        "country": "RO", "region": "RO32", "themes": ["education", "youth"], "sdgTargets": ["4.1"], "maturity": "promising"
    })
}

/// Latencies in microseconds, summarised.
struct Summary {
    count: usize,
    seconds: f64,
    p50: f64,
    p95: f64,
    p99: f64,
}

impl Summary {
    fn of(mut micros: Vec<u64>, elapsed: Duration) -> Self {
        micros.sort_unstable();
        let pick = |q: f64| -> f64 {
            if micros.is_empty() {
                return 0.0;
            }
            let i = ((micros.len() as f64 - 1.0) * q).round() as usize;
            micros.get(i).copied().unwrap_or(0) as f64 / 1000.0
        };
        Self {
            count: micros.len(),
            seconds: elapsed.as_secs_f64(),
            p50: pick(0.5),
            p95: pick(0.95),
            p99: pick(0.99),
        }
    }

    fn rate(&self) -> f64 {
        if self.seconds > 0.0 {
            self.count as f64 / self.seconds
        } else {
            0.0
        }
    }
}

/// Runs `total` requests made by `make` over `concurrency` clients; returns latencies.
async fn drive<F>(total: usize, concurrency: usize, make: F) -> anyhow::Result<Summary>
where
    F: Fn(usize) -> reqwest::RequestBuilder + Send + Sync + 'static,
{
    let make = Arc::new(make);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (make, next) = (make.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= total {
                    return Ok::<_, anyhow::Error>(latencies);
                }
                let t = Instant::now();
                let res = make(i).send().await.context("request failed")?;
                let status = res.status();
                res.bytes().await.context("reading the answer failed")?;
                anyhow::ensure!(status.is_success(), "request {i} answered {status}");
                latencies.push(t.elapsed().as_micros() as u64);
            }
        }));
    }
    let mut all = Vec::with_capacity(total);
    for t in tasks {
        all.extend(t.await??);
    }
    Ok(Summary::of(all, started.elapsed()))
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = tempfile::tempdir()?;
    let mut config = Config::default();
    config.storage.data_dir = dir.path().join("data");
    let app = Application::with_listener(&config, TcpListener::bind("127.0.0.1:0")?)?;
    let base = app.base_url().to_string();
    let node = app.node();
    let token = node.create_token(Role::Editor, "load")?.1;
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()?;

    eprintln!(
        "writing {} practices directly (storage baseline)…",
        args.writes
    );
    let direct_started = Instant::now();
    let mut direct = Vec::with_capacity(args.writes);
    for i in 0..args.writes {
        let content: PracticeContent = serde_json::from_value(practice(i))?;
        let node = node.clone();
        let t = Instant::now();
        tokio::task::spawn_blocking(move || node.create::<Practice>(content)).await??;
        direct.push(t.elapsed().as_micros() as u64);
    }
    let direct = Summary::of(direct, direct_started.elapsed());

    eprintln!(
        "writing {} practices through the API with {} clients…",
        args.writes, args.concurrency
    );
    let (c, b, tk) = (client.clone(), base.clone(), token.clone());
    let writes = drive(args.writes, args.concurrency, move |i| {
        c.post(format!("{b}/api/v1/practices"))
            .bearer_auth(&tk)
            .json(&practice(i))
    })
    .await?;

    let ids: Vec<String> = node
        .list_practices(&Default::default(), None, 200)?
        .items
        .into_iter()
        .map(|p| p.id)
        .collect();
    anyhow::ensure!(!ids.is_empty(), "no practices to read");
    let ids = Arc::new(ids);

    eprintln!("{} health checks (HTTP baseline)…", args.reads);
    let (c, b) = (client.clone(), base.clone());
    let health = drive(args.reads, args.concurrency, move |_| {
        c.get(format!("{b}/healthz"))
    })
    .await?;

    eprintln!("{} reads of single practices…", args.reads);
    let (c, b, tk, ids2) = (client.clone(), base.clone(), token.clone(), ids.clone());
    let reads = drive(args.reads, args.concurrency, move |i| {
        let id = ids2.get(i % ids2.len()).cloned().unwrap_or_default();
        c.get(format!("{b}/api/v1/practices/{id}")).bearer_auth(&tk)
    })
    .await?;

    eprintln!("{} selective searches…", args.reads / 5);
    let (c, b, tk, n) = (client.clone(), base.clone(), token.clone(), args.writes);
    let searches = drive(args.reads / 5, args.concurrency, move |i| {
        // "practica 1234" matches a handful of practices (1234, 12340…)
        c.get(format!(
            "{b}/api/v1/practices?q=practica%20{}&limit=20",
            (i * 7919) % n.max(1)
        ))
        .bearer_auth(&tk)
    })
    .await?;

    eprintln!(
        "{} broad searches (every practice matches)…",
        args.reads / 20
    );
    let (c, b, tk) = (client.clone(), base.clone(), token.clone());
    let broad = drive(args.reads / 20, args.concurrency, move |_| {
        c.get(format!("{b}/api/v1/practices?q=scoala%20rurale&limit=20"))
            .bearer_auth(&tk)
    })
    .await?;

    println!("| measurement | ops | ops/s | p50 ms | p95 ms | p99 ms |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    for (name, s) in [
        ("write: Node::create, no HTTP (baseline)", &direct),
        ("write: POST /api/v1/practices", &writes),
        ("read: GET /healthz (baseline)", &health),
        ("read: GET /api/v1/practices/{id}", &reads),
        ("read: selective full-text search", &searches),
        ("read: broad full-text search, first 20 of all", &broad),
    ] {
        println!(
            "| {name} | {} | {:.0} | {:.2} | {:.2} | {:.2} |",
            s.count,
            s.rate(),
            s.p50,
            s.p95,
            s.p99
        );
    }
    println!();
    println!(
        "API writes / direct writes: {:.2}",
        writes.rate() / direct.rate().max(f64::MIN_POSITIVE)
    );
    println!(
        "read p50 / health p50: {:.2}",
        reads.p50 / health.p50.max(f64::MIN_POSITIVE)
    );
    Ok(())
}
