//! `make bench` (prefix flush): 1M production-shaped keys, 20 % of them under `user:`. The
//! cachepanel flush against a raw pipelined SCAN+UNLINK loop, against
//! `redis-cli --scan --pattern … | xargs redis-cli unlink`, and the blocking of KEYS + DEL,
//! with the latency a second client sees meanwhile (one PING per ms). Prints a Markdown section.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark stops on any setup failure"
)]

use std::time::Instant;

use cachepanel::server::redis::process::{RedisProcess, RedisProcessOptions};
use common::{connection, probed, start_server};

mod common;

const KEYS: u64 = 1_000_000;
const PREFIX: &str = "user:";

/// 1M keys over five prefixes; `user:` holds 20 %.
async fn load(redis: &RedisProcess) {
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
    ];
    let value = "x".repeat(200);
    for start in (0..KEYS).step_by(10_000) {
        let mut pipe = redis::pipe();
        for i in start..(start + 10_000).min(KEYS) {
            let key = format!("{}{i}", prefixes[(i % 5) as usize]);
            pipe.cmd("SET")
                .arg(key)
                .arg(&value)
                .arg("EX")
                .arg(900)
                .ignore();
        }
        pipe.exec_async(&mut connection).await.unwrap();
    }
}

async fn remaining(redis: &RedisProcess) -> u64 {
    let mut connection = connection(redis).await;
    redis::cmd("DBSIZE")
        .query_async(&mut connection)
        .await
        .unwrap()
}

/// The baseline: SCAN MATCH + UNLINK of each page, pipelined with the next SCAN.
async fn raw_loop(redis: &RedisProcess) -> f64 {
    let mut connection = connection(redis).await;
    let started = Instant::now();
    let (mut cursor, mut batch) = (0_u64, Vec::<Vec<u8>>::new());
    loop {
        let mut pipe = redis::pipe();
        if !batch.is_empty() {
            pipe.cmd("UNLINK").arg(&batch).ignore();
        }
        pipe.cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{PREFIX}*"))
            .arg("COUNT")
            .arg(1000);
        let ((next, keys),): ((u64, Vec<Vec<u8>>),) =
            pipe.query_async(&mut connection).await.unwrap();
        batch = keys;
        cursor = next;
        if cursor == 0 {
            if !batch.is_empty() {
                redis::cmd("UNLINK")
                    .arg(&batch)
                    .exec_async(&mut connection)
                    .await
                    .unwrap();
            }
            return started.elapsed().as_secs_f64();
        }
    }
}

async fn redis_cli_pipeline(redis: &RedisProcess) -> f64 {
    let port = redis.port();
    let started = Instant::now();
    let status = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(format!("redis-cli -p {port} --scan --pattern '{PREFIX}*' | xargs redis-cli -p {port} unlink > /dev/null"))
        .status()
        .await
        .unwrap();
    assert!(status.success());
    started.elapsed().as_secs_f64()
}

/// The production app's `clear_pattern`: KEYS, then one DEL. Returns each command's seconds.
async fn keys_and_del(redis: &RedisProcess) -> (f64, f64) {
    let mut connection = connection(redis).await;
    let started = Instant::now();
    let keys: Vec<Vec<u8>> = redis::cmd("KEYS")
        .arg(format!("{PREFIX}*"))
        .query_async(&mut connection)
        .await
        .unwrap();
    let keys_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let _: u64 = redis::cmd("DEL")
        .arg(&keys)
        .query_async(&mut connection)
        .await
        .unwrap();
    (keys_seconds, started.elapsed().as_secs_f64())
}

/// Preview (untimed), then the flush; returns (seconds, deleted, PING p99, PING max).
async fn cachepanel_flush(redis: &RedisProcess) -> (f64, u64, f64, f64) {
    let server = start_server(redis, &[]).await;
    let http = common::client();
    let id = common::preview_via_api(&http, &server.origin, PREFIX).await;
    let ((seconds, deleted), p99, max) = probed(
        redis,
        common::flush_via_api(&http, &server.origin, PREFIX, &id),
    )
    .await;
    (seconds, deleted, p99, max)
}

#[tokio::main]
async fn main() {
    let redis = RedisProcess::start(RedisProcessOptions::default()).unwrap();
    let expected = KEYS / 5;

    load(&redis).await;
    let (raw_s, raw_p99, raw_max) = probed(&redis, raw_loop(&redis)).await;
    assert_eq!(remaining(&redis).await, KEYS - expected);

    load(&redis).await;
    let (ours_s, deleted, ours_p99, ours_max) = cachepanel_flush(&redis).await;
    assert_eq!(deleted, expected);
    // The rest, plus the audit stream the flush wrote.
    assert_eq!(remaining(&redis).await, KEYS - expected + 1);

    load(&redis).await;
    let (cli_s, cli_p99, cli_max) = probed(&redis, redis_cli_pipeline(&redis)).await;
    assert_eq!(remaining(&redis).await, KEYS - expected);

    load(&redis).await;
    let ((keys_s, del_s), keys_p99, keys_max) = probed(&redis, keys_and_del(&redis)).await;
    assert_eq!(remaining(&redis).await, KEYS - expected);

    let rate = |seconds: f64| expected as f64 / seconds;
    println!("<!-- flush:start -->");
    println!("## Prefix flush (issue 5)\n");
    println!(
        "Measured by `make bench` (`cargo bench --bench flush`): {KEYS} keys (200 B values), `{PREFIX}` holds {expected} (20 %); private redis-server; release server with default settings (SCAN COUNT 1000, UNLINK per page pipelined with the next SCAN, duty cycle 0.9). A second client sends one PING per ms throughout (goal: p99 ≤ 2 ms, max ≤ 5 ms). Every run left exactly the {} keys outside the prefix.\n",
        KEYS - expected
    );
    println!("| approach | time | keys/s | cachepanel / approach | PING p99 / max (ms) |");
    println!("|---|---|---|---|---|");
    println!(
        "| cachepanel flush (preview not counted) | {ours_s:.2} s | {:.0} | 1.00× | {ours_p99:.2} / {ours_max:.2} |",
        rate(ours_s)
    );
    println!(
        "| raw pipelined SCAN+UNLINK loop (goal ≥ 0.8×) | {raw_s:.2} s | {:.0} | {:.2}× | {raw_p99:.2} / {raw_max:.2} |",
        rate(raw_s),
        raw_s / ours_s
    );
    println!(
        "| `redis-cli --scan --pattern '{PREFIX}*' \\| xargs redis-cli unlink` (goal ≥ 4×) | {cli_s:.2} s | {:.0} | {:.2}× | {cli_p99:.2} / {cli_max:.2} |",
        rate(cli_s),
        cli_s / ours_s
    );
    println!(
        "| `KEYS {PREFIX}*` + one `DEL` (production `clear_pattern`) | {keys_s:.2} s + {del_s:.2} s, each blocking Redis | {:.0} | {:.2}× | {keys_p99:.2} / {keys_max:.2} |",
        rate(keys_s + del_s),
        (keys_s + del_s) / ours_s
    );
    println!("<!-- flush:end -->");
}
