//! `make bench` (rate limits): decisions per second and p99 latency of cachepanel's limiter
//! against the Python `limits` library (fixed window, Redis storage) on the same
//! redis-server in the same run, with 1 and 16 concurrent clients, and the Redis commands each
//! decision executes (INFO commandstats; script-internal commands included). Both make one
//! round trip per decision (a Lua script each). Prints a Markdown section.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark stops on any setup failure"
)]

use std::time::{Duration, Instant};

use cachepanel::model::rate_limit::{Role, RoleLimits, Subject};
use cachepanel::server::config::RedisUrl;
use cachepanel::server::rate_limit::Limiter;
use cachepanel::server::redis::process::{RedisProcess, RedisProcessOptions};
use cachepanel::server::redis::{RedisTarget, Timeouts};
use common::command_calls;

mod common;

const DECISIONS: usize = 20_000;

/// Commands Redis executed, our own `INFO` reads left out.
fn total_calls(redis: &RedisProcess) -> u64 {
    command_calls(redis)
        .into_iter()
        .filter(|(name, _)| name != "info")
        .map(|(_, calls)| calls)
        .sum()
}

fn reset_stats(redis: &RedisProcess) {
    let mut connection = redis::Client::open(redis.url())
        .unwrap()
        .get_connection()
        .unwrap();
    redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .exec(&mut connection)
        .unwrap();
}

struct Measured {
    per_sec: f64,
    p99_ms: f64,
    commands_per_decision: f64,
}

async fn rust_run(redis: &RedisProcess, clients: usize) -> Measured {
    let timeouts = Timeouts {
        connect: Duration::from_secs(1),
        response: Duration::from_secs(1),
    };
    let target =
        RedisTarget::new("bench", &RedisUrl::parse(&redis.url()).unwrap(), timeouts).unwrap();
    let limits = RoleLimits {
        owner: 1_000_000_000,
        ..Default::default()
    };
    let limiter = Limiter::new(target, limits, true);
    limiter
        .decide(&Subject::User("warmup".into()), Role::Owner)
        .await;
    reset_stats(redis);
    let before = total_calls(redis);
    let per_client = DECISIONS / clients;
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|client| {
            let limiter = limiter.clone();
            tokio::spawn(async move {
                let mut millis = Vec::with_capacity(per_client);
                for i in 0..per_client {
                    let subject = Subject::User(format!("{}", client * 1000 + i % 50));
                    let begun = Instant::now();
                    let decision = limiter.decide(&subject, Role::Owner).await;
                    assert!(decision.allowed && !decision.degraded);
                    millis.push(begun.elapsed().as_secs_f64() * 1000.0);
                }
                millis
            })
        })
        .collect();
    let mut millis = Vec::new();
    for task in tasks {
        millis.extend(task.await.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    let calls = total_calls(redis) - before;
    millis.sort_by(f64::total_cmp);
    let decisions = per_client * clients;
    Measured {
        per_sec: decisions as f64 / elapsed,
        p99_ms: millis[millis.len() * 99 / 100],
        commands_per_decision: calls as f64 / decisions as f64,
    }
}

fn python_runs(redis: &RedisProcess) -> Vec<Measured> {
    let python = std::env::var("BENCH_PYTHON").unwrap_or_else(|_| "python3".into());
    let output = std::process::Command::new(python)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/benches/python/limits_bench.py"
        ))
        .arg(redis.url())
        .arg(DECISIONS.to_string())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| {
            let json: serde_json::Value = serde_json::from_str(line).unwrap();
            Measured {
                per_sec: json["decisions_per_sec"].as_f64().unwrap(),
                p99_ms: json["p99_ms"].as_f64().unwrap(),
                commands_per_decision: json["commands_per_decision"].as_f64().unwrap(),
            }
        })
        .collect()
}

#[tokio::main]
async fn main() {
    let redis = RedisProcess::start(RedisProcessOptions::default()).unwrap();
    let rust = [rust_run(&redis, 1).await, rust_run(&redis, 16).await];
    let python = python_runs(&redis);
    println!("<!-- rate-limit:start -->");
    println!("## Rate limiter (issue 6)\n");
    println!(
        "Measured by `make bench` (`cargo bench --bench rate_limit`): {DECISIONS} decisions per row against one private redis-server, cachepanel's limiter (Rust, one EVALSHA per decision) and the Python `limits` library's fixed-window strategy (Redis storage, also one Lua script per decision; `benches/python/limits_bench.py`, threads as clients) in the same run.\n"
    );
    println!(
        "| clients | cachepanel decisions/s | `limits` decisions/s | ratio | cachepanel p99 ms | `limits` p99 ms | Redis commands per decision (cachepanel / `limits`) |"
    );
    println!("|---|---|---|---|---|---|---|");
    for ((clients, ours), theirs) in [1, 16].iter().zip(&rust).zip(&python) {
        println!(
            "| {clients} | {:.0} | {:.0} | {:.2}× | {:.3} | {:.3} | {:.2} / {:.2} |",
            ours.per_sec,
            theirs.per_sec,
            ours.per_sec / theirs.per_sec,
            ours.p99_ms,
            theirs.p99_ms,
            ours.commands_per_decision,
            theirs.commands_per_decision
        );
    }
    println!(
        "\nCommands per decision count the script's own commands (INCR, TTL, and EXPIRE when a window opens) plus the EVALSHA; the round trips per decision are 1 for both."
    );
    println!("<!-- rate-limit:end -->");
}
