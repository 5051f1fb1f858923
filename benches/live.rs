//! `make bench` (live stats): the Redis load of 1000 open dashboards against 1, the server's
//! memory meanwhile, and the latency of the stats endpoints. Runs the release server binary
//! (CACHEPANEL_BIN) against a private redis-server and prints a Markdown section.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark stops on any setup failure"
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use cachepanel::server::redis::process::{RedisProcess, RedisProcessOptions};
use common::{Server, command_calls, start_server, status_kib};

mod common;

const PHASE: Duration = Duration::from_secs(10);
const SUBSCRIBERS: usize = 1000;

fn info_calls(redis: &RedisProcess) -> u64 {
    command_calls(redis).get("info").copied().unwrap_or(0)
}

/// Opens `count` event streams, keeps them reading for `PHASE`, and reports the INFO calls
/// Redis saw per second meanwhile and the server's peak RSS.
async fn subscribers_phase(
    server: &Server,
    redis: &RedisProcess,
    count: usize,
) -> (f64, u64, usize) {
    let http = common::client_builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let delivered = Arc::new(AtomicUsize::new(0));
    let mut readers = Vec::new();
    for _ in 0..count {
        let mut response = http
            .get(format!("{}/api/live/events", server.origin))
            .send()
            .await
            .unwrap();
        let delivered = delivered.clone();
        readers.push(tokio::spawn(async move {
            while let Ok(Some(chunk)) = response.chunk().await {
                let events = String::from_utf8_lossy(&chunk)
                    .matches("event: snapshot")
                    .count();
                delivered.fetch_add(events, Ordering::Relaxed);
            }
        }));
    }
    let before = info_calls(redis);
    let started = Instant::now();
    let mut peak_rss = 0;
    while started.elapsed() < PHASE {
        peak_rss = peak_rss.max(status_kib(server.child.id(), "VmRSS:"));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let calls = info_calls(redis) - before;
    let seconds = started.elapsed().as_secs_f64();
    for reader in &readers {
        reader.abort();
    }
    let events = delivered.load(Ordering::Relaxed);
    // The INFO commandstats reads above are INFO calls too; they are not the server's.
    ((calls.saturating_sub(1)) as f64 / seconds, peak_rss, events)
}

async fn latency(http: &reqwest::Client, url: &str, requests: usize) -> (f64, f64, f64) {
    let mut millis = Vec::with_capacity(requests);
    for _ in 0..requests {
        let started = Instant::now();
        let response = http.get(url).send().await.unwrap();
        assert!(response.status().is_success());
        response.bytes().await.unwrap();
        millis.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    millis.sort_by(f64::total_cmp);
    let at = |q: f64| millis[((millis.len() as f64 * q) as usize).min(millis.len() - 1)];
    (at(0.5), at(0.99), millis[millis.len() - 1])
}

#[tokio::main]
async fn main() {
    let redis = RedisProcess::start(RedisProcessOptions::default()).unwrap();
    let server = start_server(&redis, &[]).await;
    let http = common::client();
    let idle_rss = status_kib(server.child.id(), "VmRSS:");

    let (rate_one, rss_one, _) = subscribers_phase(&server, &redis, 1).await;
    let (rate_many, rss_many, events) = subscribers_phase(&server, &redis, SUBSCRIBERS).await;
    let stats = latency(&http, &format!("{}/api/stats", server.origin), 2000).await;
    let snapshot = latency(&http, &format!("{}/api/live/snapshot", server.origin), 2000).await;

    println!("<!-- live:start -->");
    println!("## Live stats (issue 3)\n");
    println!(
        "Measured by `make bench` (`cargo bench --bench live`): release server, private redis-server, sample interval 2 s, {} s per phase.\n",
        PHASE.as_secs()
    );
    println!("| what | 1 subscriber | {SUBSCRIBERS} subscribers | ratio |");
    println!("|---|---|---|---|");
    println!(
        "| INFO commands/s seen by Redis (`INFO commandstats`) | {rate_one:.2} | {rate_many:.2} | {:.2}× |",
        rate_many / rate_one.max(f64::EPSILON)
    );
    println!(
        "| server peak RSS | {:.1} MiB | {:.1} MiB (goal < 60 MiB) | {:.2}× |",
        rss_one as f64 / 1024.0,
        rss_many as f64 / 1024.0,
        rss_many as f64 / rss_one.max(1) as f64
    );
    println!(
        "\nSnapshots delivered to the {SUBSCRIBERS} subscribers during the phase: {events} (about one per subscriber per sample). Server RSS idle after start: {:.1} MiB.\n",
        idle_rss as f64 / 1024.0
    );
    println!("| endpoint (2000 sequential GETs) | p50 ms | p99 ms | max ms |");
    println!("|---|---|---|---|");
    println!(
        "| `GET /api/stats` (the sampler's latest reading, from memory) | {:.2} | {:.2} | {:.2} |",
        stats.0, stats.1, stats.2
    );
    println!(
        "| `GET /api/live/snapshot` (from memory) | {:.2} | {:.2} | {:.2} |",
        snapshot.0, snapshot.1, snapshot.2
    );
    println!("<!-- live:end -->");
}
