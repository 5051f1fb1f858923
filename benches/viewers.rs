//! `make bench` (viewers): what people watching the dashboard cost Redis. A million keys and
//! 200 rate-limit counters in a private redis-server, ~1000 ops/s of cache traffic, and 1 or
//! 20 viewers loading the page once a second. Page p50/p99 and Redis CPU (`used_cpu_user +
//! used_cpu_sys` from `INFO cpu`) against the old behaviour: one `SCAN rate_limit:*` walk
//! per page view, run as a raw loop beside the same traffic.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark stops on any setup failure"
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use cachepanel::server::redis::process::{RedisProcess, RedisProcessOptions};
use common::{command_calls, connection, start_server};

mod common;

const KEYS: u64 = 1_000_000;
const COUNTERS: u64 = 200;
const PHASE: Duration = Duration::from_secs(15);
const CROWD: usize = 20;

/// Redis' own CPU seconds so far.
async fn redis_cpu(redis: &RedisProcess) -> f64 {
    let mut connection = connection(redis).await;
    let info: String = redis::cmd("INFO")
        .arg("cpu")
        .query_async(&mut connection)
        .await
        .unwrap();
    let field = |name: &str| -> f64 {
        info.lines()
            .find_map(|line| line.strip_prefix(&format!("{name}:")))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or(0.0)
    };
    field("used_cpu_user") + field("used_cpu_sys")
}

/// About 1000 GET/SET a second on the cache's keys until `stop`: the production app's traffic.
fn cache_traffic(redis: &RedisProcess, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<()> {
    let url = redis.url();
    tokio::spawn(async move {
        let client = redis::Client::open(url).unwrap();
        let mut connection = client.get_multiplexed_async_connection().await.unwrap();
        let mut ticker = tokio::time::interval(Duration::from_millis(10));
        let mut n: u64 = 0;
        while !stop.load(Ordering::Relaxed) {
            ticker.tick().await;
            let mut pipe = redis::pipe();
            for _ in 0..10 {
                n += 7919;
                let key = format!("key:{}", n % KEYS);
                if n.is_multiple_of(10) {
                    pipe.cmd("SET")
                        .arg(&key)
                        .arg("v")
                        .arg("EX")
                        .arg(900)
                        .ignore();
                } else {
                    pipe.cmd("GET").arg(&key).ignore();
                }
            }
            let _: redis::RedisResult<()> = pipe.query_async(&mut connection).await;
        }
    })
}

struct Phase {
    millis: Vec<f64>,
    p50_ms: f64,
    p99_ms: f64,
    views: usize,
    cpu_per_second: f64,
    scans: u64,
}

impl Phase {
    fn of(mut millis: Vec<f64>, cpu_per_second: f64, scans: u64) -> Self {
        millis.sort_by(f64::total_cmp);
        let at = |q: f64| millis[((millis.len() as f64 * q) as usize).min(millis.len() - 1)];
        Self {
            p50_ms: at(0.5),
            p99_ms: at(0.99),
            views: millis.len(),
            cpu_per_second,
            scans,
            millis,
        }
    }

    /// Runs of the same setting as one: all their views, their mean CPU, their SCANs.
    fn combined(runs: Vec<Phase>) -> Self {
        let cpu = runs.iter().map(|run| run.cpu_per_second).sum::<f64>() / runs.len() as f64;
        let scans = runs.iter().map(|run| run.scans).sum();
        let millis = runs.into_iter().flat_map(|run| run.millis).collect();
        Self::of(millis, cpu, scans)
    }
}

/// `viewers` each run `view` once a second for `PHASE` (spread over the second); the
/// latency of every view and Redis' CPU meanwhile.
async fn phase<F, Fut>(redis: &RedisProcess, viewers: usize, view: F) -> Phase
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let stop = Arc::new(AtomicBool::new(false));
    let traffic = cache_traffic(redis, stop.clone());
    tokio::time::sleep(Duration::from_secs(1)).await;
    let scans_before = command_calls(redis).get("scan").copied().unwrap_or(0);
    let cpu_before = redis_cpu(redis).await;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for viewer in 0..viewers {
        let view = view.clone();
        tasks.push(tokio::spawn(async move {
            let offset = Duration::from_millis((viewer as u64 * 1000) / viewers as u64);
            tokio::time::sleep(offset).await;
            let mut ticker = tokio::time::interval(Duration::from_secs(1));
            let mut millis = Vec::new();
            while started.elapsed() + Duration::from_millis(50) < PHASE {
                ticker.tick().await;
                let at = Instant::now();
                view().await;
                millis.push(at.elapsed().as_secs_f64() * 1000.0);
            }
            millis
        }));
    }
    let mut millis = Vec::new();
    for task in tasks {
        millis.extend(task.await.unwrap());
    }
    let seconds = started.elapsed().as_secs_f64();
    let cpu = redis_cpu(redis).await - cpu_before;
    let scans = command_calls(redis).get("scan").copied().unwrap_or(0) - scans_before;
    stop.store(true, Ordering::Relaxed);
    traffic.await.unwrap();
    Phase::of(millis, cpu / seconds, scans)
}

/// What a page view cost before: a full walk of `rate_limit:*` (plus the page itself).
async fn scan_rate_limits(url: String) {
    let client = redis::Client::open(url).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let mut cursor = 0_u64;
    loop {
        let (next, _keys): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg("rate_limit:*")
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut connection)
            .await
            .unwrap();
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
}

fn row(what: &str, one: &Phase, crowd: &Phase) -> String {
    format!(
        "| {what} | {:.2} / {:.2} ms | {:.2} / {:.2} ms | {:.1} % | {:.1} % | {:.2}× | {} / {} |",
        one.p50_ms,
        one.p99_ms,
        crowd.p50_ms,
        crowd.p99_ms,
        one.cpu_per_second * 100.0,
        crowd.cpu_per_second * 100.0,
        crowd.cpu_per_second / one.cpu_per_second.max(f64::EPSILON),
        one.scans,
        crowd.scans,
    )
}

#[tokio::main]
async fn main() {
    let redis = RedisProcess::start(RedisProcessOptions {
        debug_command: true,
        ..Default::default()
    })
    .unwrap();
    let mut seed = connection(&redis).await;
    redis::cmd("DEBUG")
        .arg("POPULATE")
        .arg(KEYS)
        .arg("key")
        .exec_async(&mut seed)
        .await
        .unwrap();
    let mut pipe = redis::pipe();
    for id in 0..COUNTERS {
        pipe.cmd("SET")
            .arg(format!("rate_limit:user:{id}"))
            .arg(id % 150)
            .arg("EX")
            .arg(3600)
            .ignore();
    }
    pipe.exec_async(&mut seed).await.unwrap();

    // The reader walks once at start and then only when asked: the phases below measure what
    // viewers add, and one walk is measured on its own (it costs the same whoever watches).
    let server = start_server(&redis, &[("CACHEPANEL_RATE_LIMIT_SCAN_SECONDS", "3600")]).await;
    let http = common::client();
    let page_url = format!("{}/admin/cache/stats", server.origin);
    let warm = http.get(&page_url).send().await.unwrap();
    assert!(warm.status().is_success());
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let cpu_before = redis_cpu(&redis).await;
    let walk_started = Instant::now();
    let refreshed = http
        .post(format!("{}/api/rate-limits/refresh", server.origin))
        .form(&[("", ""); 0])
        .send()
        .await
        .unwrap();
    assert!(refreshed.status().is_success());
    let walk: serde_json::Value = refreshed.json().await.unwrap();
    let walk_wall_ms = walk_started.elapsed().as_secs_f64() * 1000.0;
    let walk_cpu_ms = (redis_cpu(&redis).await - cpu_before) * 1000.0;
    assert_eq!(walk["counters"], COUNTERS);

    let page = {
        let http = http.clone();
        move || {
            let http = http.clone();
            let url = page_url.clone();
            async move {
                let response = http.get(url).send().await.unwrap();
                assert!(response.status().is_success());
                response.bytes().await.unwrap();
            }
        }
    };
    // A discarded phase first (connections, allocator, Redis' own housekeeping after the bulk
    // load), then 1 and 20 viewers in turn, twice: machine drift hits both alike.
    let _ = phase(&redis, 1, page.clone()).await;
    let mut ones = Vec::new();
    let mut crowds = Vec::new();
    for _ in 0..2 {
        ones.push(phase(&redis, 1, page.clone()).await);
        crowds.push(phase(&redis, CROWD, page.clone()).await);
    }
    let new_one = Phase::combined(ones);
    let new_crowd = Phase::combined(crowds);
    let url = redis.url();
    let old = move || scan_rate_limits(url.clone());
    let old_one = phase(&redis, 1, old.clone()).await;
    let old_crowd = phase(&redis, CROWD, old).await;

    println!("<!-- viewers:start -->");
    println!("## Viewers cost Redis nothing extra (issue 13)\n");
    println!(
        "Measured by `make bench` (`cargo bench --bench viewers`): release server, private redis-server with {KEYS} keys and {COUNTERS} rate-limit counters, ~1000 GET/SET per second of cache traffic throughout, each viewer loading the page once a second for {} s per phase (page: two phases per setting, alternating 1 and 20 viewers, after a discarded warm-up phase). Redis CPU is the delta of `used_cpu_user + used_cpu_sys` (`INFO cpu`) per second of wall time. The baseline is the old per-request behaviour as a raw loop: one `SCAN 0.. MATCH rate_limit:* COUNT 1000` walk per view (what each page view cost before, without rendering the page).\n",
        PHASE.as_secs()
    );
    println!(
        "| per view | 1 viewer p50 / p99 | {CROWD} viewers p50 / p99 | Redis CPU, 1 viewer | Redis CPU, {CROWD} viewers | CPU ratio {CROWD}:1 | SCAN calls 1 / {CROWD} |"
    );
    println!("|---|---|---|---|---|---|---|");
    println!(
        "{}",
        row(
            "page (`GET /admin/cache/stats`), counters from the shared reader",
            &new_one,
            &new_crowd
        )
    );
    println!(
        "{}",
        row(
            "baseline: `SCAN rate_limit:*` walk per view",
            &old_one,
            &old_crowd
        )
    );
    println!(
        "\nGoals: page p99 with {CROWD} viewers ≤ 20 ms ({:.2} ms); Redis CPU with {CROWD} viewers ≤ 1.1× that with 1 ({:.2}×). Views measured: {} and {} (page), {} and {} (baseline). Against the baseline with {CROWD} viewers, the page costs Redis {:.1}× less CPU.",
        new_crowd.p99_ms,
        new_crowd.cpu_per_second / new_one.cpu_per_second.max(f64::EPSILON),
        new_one.views,
        new_crowd.views,
        old_one.views,
        old_crowd.views,
        old_crowd.cpu_per_second / new_crowd.cpu_per_second.max(f64::EPSILON),
    );
    println!(
        "\nThe shared reader's walk of `rate_limit:*` over the {KEYS} keys: {walk_cpu_ms:.0} ms of Redis CPU, {walk_wall_ms:.0} ms wall (paced, {} ms of it walking); at the default interval of 15 s that is {:.1} % of Redis CPU, the same for any number of viewers. The old behaviour paid it per view.",
        walk["walk_ms"],
        walk_cpu_ms / 15_000.0 * 100.0,
    );
    println!("<!-- viewers:end -->");
    drop(server);
}
