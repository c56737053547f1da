//! `punte-witness-load`: the cosignature round trip per checkpoint. Starts one log node and
//! N witness nodes in-process on loopback (each witness follows the log node), then, for
//! each of R checkpoints: commits an entry (the baseline: signing and the durable commit)
//! and collects the cosignatures of every witness (`add-checkpoint` over HTTP, the
//! witness's verification and transaction, the check of the returned line, storing it).
//! Prints the latency of both. Only loopback is contacted.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use punte_node::publish::Verb;
use punte_server::{Application, Config};

#[derive(Debug, Parser)]
#[command(about = "Measure the witness cosignature round trip on loopback")]
struct Args {
    /// Witness nodes following the log node.
    #[arg(long, default_value_t = 3)]
    witnesses: usize,
    /// Checkpoints to get cosigned.
    #[arg(long, default_value_t = 200)]
    checkpoints: usize,
}

struct Started {
    base: String,
    node: Arc<punte_node::Node>,
    fed: Arc<punte_node::federation::Federation>,
    _dir: tempfile::TempDir,
}

fn start() -> anyhow::Result<Started> {
    let dir = tempfile::tempdir()?;
    let mut config = Config::default();
    config.storage.data_dir = dir.path().join("data");
    config.federation.allow_private_addresses = true;
    config.federation.auto_approve_follows = true;
    config.federation.retry_base_ms = 200;
    config.federation.retry_max_delay_secs = 2;
    config.server.workers = 1;
    let app = Application::with_listener(&config, TcpListener::bind("127.0.0.1:0")?)?;
    let base = app.base_url().to_owned();
    let node = app.node().into_inner();
    let fed = app.federation().into_inner();
    tokio::spawn(app.run_until_stopped());
    Ok(Started {
        base,
        node,
        fed,
        _dir: dir,
    })
}

fn millis(mut v: Vec<Duration>) -> (f64, f64, f64, f64) {
    v.sort_unstable();
    let pick = |q: f64| {
        let i = ((v.len().saturating_sub(1)) as f64 * q).round() as usize;
        v.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    let mean = v.iter().map(Duration::as_secs_f64).sum::<f64>() * 1000.0 / v.len().max(1) as f64;
    (mean, pick(0.5), pick(0.95), pick(0.99))
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let log = start()?;
    let mut witnesses = Vec::new();
    for _ in 0..args.witnesses {
        let w = start()?;
        w.fed
            .follow(&format!("{}/actor", log.base))
            .await
            .context("follow the log node")?;
        witnesses.push(w);
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let keyed = log
            .node
            .log_witnesses()?
            .iter()
            .filter(|w| w.vkey.is_some())
            .count();
        if keyed == args.witnesses {
            break;
        }
        if Instant::now() > deadline {
            bail!(
                "the witnesses did not come up ({keyed} of {} ready)",
                args.witnesses
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Let the follows' own entries be cosigned first.
    log.fed.collect_cosignatures_now().await?;

    let mut commit = Vec::new();
    let mut cosign = Vec::new();
    for i in 0..args.checkpoints {
        let object = serde_json::json!({
            "id": format!("{}/notes/{i}", log.base),
            "type": "Note",
            "content": format!("checkpoint {i}"),
        });
        let node = log.node.clone();
        let t0 = Instant::now();
        tokio::task::spawn_blocking(move || node.publish_object(Verb::Create, object)).await??;
        let t1 = Instant::now();
        let mut n = log.fed.collect_cosignatures_now().await?;
        while n < args.witnesses {
            if t1.elapsed() > Duration::from_secs(30) {
                bail!("checkpoint {i} got {n} cosignatures");
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
            n = log.fed.collect_cosignatures_now().await?;
        }
        let t2 = Instant::now();
        commit.push(t1 - t0);
        cosign.push(t2 - t1);
    }
    let (cm, c50, c95, c99) = millis(commit);
    let (wm, w50, w95, w99) = millis(cosign);
    println!(
        "| measurement ({} checkpoints, {} witnesses) | mean ms | p50 ms | p95 ms | p99 ms |",
        args.checkpoints, args.witnesses
    );
    println!("| --- | ---: | ---: | ---: | ---: |");
    println!(
        "| commit: entry + checkpoint (baseline) | {cm:.2} | {c50:.2} | {c95:.2} | {c99:.2} |"
    );
    println!(
        "| cosign: all witnesses' cosignatures stored | {wm:.2} | {w50:.2} | {w95:.2} | {w99:.2} |"
    );
    println!(
        "| cosign per witness (sequential submissions) | {:.2} | {:.2} | {:.2} | {:.2} |",
        wm / args.witnesses as f64,
        w50 / args.witnesses as f64,
        w95 / args.witnesses as f64,
        w99 / args.witnesses as f64
    );
    drop(witnesses);
    Ok(())
}
