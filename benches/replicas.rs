//! `make bench` (replicas): what running several cachepanel replicas costs the Redis they
//! watch, measured by Redis itself (`INFO commandstats`), and the memory the persisted history
//! takes. For 1, 2 and 4 release servers (CACHEPANEL_BIN) on one private redis-server holding
//! 10k keys: once they have found each other (past the first 30 s, when presence is announced
//! every 2 s) and the start-up census is over, every command Redis ran in a minute, per
//! sample interval (2 s), with its Redis time. Prints a Markdown section.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark stops on any setup failure"
)]

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use cachepanel::model::commands::{CommandTable, command_totals};
use cachepanel::model::info::InfoFields;
use cachepanel::model::live::Point;
use cachepanel::server::live::history::History;
use cachepanel::server::live::persisted;
use cachepanel::server::redis::process::{RedisProcess, RedisProcessOptions};

const INTERVAL: Duration = Duration::from_secs(2);
/// Past the fast presence announcements of the first 30 s and the start-up census.
const SETTLE: Duration = Duration::from_secs(35);
const WINDOW: Duration = Duration::from_secs(60);

fn commandstats(connection: &mut redis::Connection) -> CommandTable {
    let stats: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(connection)
        .unwrap();
    command_totals(&InfoFields::parse(&stats))
}

/// Calls and usec per command between two readings; the later reading's own INFO taken off.
fn difference(before: &CommandTable, after: &CommandTable) -> BTreeMap<String, (f64, f64)> {
    let mut out = BTreeMap::new();
    for (name, totals) in after {
        let (calls, usec) = before
            .get(name)
            .map_or((0, 0), |earlier| (earlier.calls, earlier.usec));
        let mut calls = totals.calls.saturating_sub(calls) as f64;
        if name == "info" {
            calls -= 1.0; // the probe's first INFO, counted by the second reading
        }
        if calls > 0.0 {
            out.insert(
                name.clone(),
                (calls, totals.usec.saturating_sub(usec) as f64),
            );
        }
    }
    out
}

async fn measure(replicas: usize) -> BTreeMap<String, (f64, f64)> {
    let redis = RedisProcess::start(RedisProcessOptions::default()).unwrap();
    let mut connection = redis::Client::open(redis.url())
        .unwrap()
        .get_connection()
        .unwrap();
    let mut pipe = redis::pipe();
    for i in 0..10_000 {
        pipe.cmd("SET")
            .arg(format!("user:{i}"))
            .arg("x")
            .arg("EX")
            .arg(900)
            .ignore();
    }
    pipe.exec(&mut connection).unwrap();
    let mut servers = Vec::new();
    for index in 0..replicas {
        let name = format!("panel-{index}");
        servers.push(
            common::start_server(
                &redis,
                &[
                    ("CACHEPANEL_REPLICA_ID", name.as_str()),
                    // As deployed: the schedule and the history are what replicas coordinate.
                    ("CACHEPANEL_CENSUS_EVERY_SECONDS", "600"),
                    ("CACHEPANEL_KEEP_HISTORY", "true"),
                ],
            )
            .await,
        );
    }
    tokio::time::sleep(SETTLE).await;
    let before = commandstats(&mut connection);
    let started = Instant::now();
    tokio::time::sleep(WINDOW).await;
    let after = commandstats(&mut connection);
    let intervals = started.elapsed().as_secs_f64() / INTERVAL.as_secs_f64();
    drop(servers);
    difference(&before, &after)
        .into_iter()
        .map(|(name, (calls, usec))| (name, (calls / intervals, usec / intervals)))
        .collect()
}

/// A day of minute rollups written as the sampler writes them; Redis' `MEMORY USAGE` of the
/// sorted set.
async fn history_memory() -> (u64, usize) {
    let redis = RedisProcess::start(RedisProcessOptions::default()).unwrap();
    let url = cachepanel::server::config::RedisUrl::parse(&redis.url()).unwrap();
    let target = cachepanel::server::redis::RedisTarget::new(
        "cache",
        &url,
        cachepanel::server::redis::Timeouts {
            connect: Duration::from_secs(1),
            response: Duration::from_secs(1),
        },
    )
    .unwrap();
    let key = persisted::history_key(&target);
    let now = chrono::Utc::now().timestamp_millis();
    let mut history = History::new(2000);
    let mut minutes = 0;
    // Two samples a minute for a day, with figures of a busy cache.
    for sample in 0..(24 * 60 * 2 + 2) {
        let at_ms = now - 24 * 3_600_000 + sample * 30_000;
        let point = Point {
            at_ms,
            hit_rate_percent: Some(70.0 + (sample % 30) as f64 / 3.0),
            ops_per_sec: Some(1234.5 + (sample % 97) as f64),
            evicted_per_sec: Some((sample % 7) as f64 / 10.0),
            used_memory_bytes: 300_000_000 + (sample as u64 % 1000) * 4096,
            maxmemory_bytes: 512 << 20,
            total_keys: 180_000 + (sample as u64 % 500),
        };
        if let Some(minute) = history.push(point) {
            persisted::save_minute(&target, &key, &minute, now)
                .await
                .unwrap();
            minutes += 1;
        }
    }
    let mut connection = redis::Client::open(redis.url())
        .unwrap()
        .get_connection()
        .unwrap();
    let bytes: u64 = redis::cmd("MEMORY")
        .arg("USAGE")
        .arg(&key)
        .arg("SAMPLES")
        .arg(0)
        .query(&mut connection)
        .unwrap();
    (bytes, minutes)
}

#[tokio::main]
async fn main() {
    let counts = [1_usize, 2, 4];
    let mut runs = Vec::new();
    for replicas in counts {
        runs.push(measure(replicas).await);
    }
    let total = |run: &BTreeMap<String, (f64, f64)>| {
        run.values()
            .fold((0.0, 0.0), |(calls, usec), (c, u)| (calls + c, usec + u))
    };
    let (one_calls, one_usec) = total(&runs[0]);
    let mut rows = Vec::new();
    for (replicas, run) in counts.iter().zip(&runs) {
        let (calls, usec) = total(run);
        let mut by_command: Vec<(&String, &(f64, f64))> = run.iter().collect();
        by_command.sort_by(|a, b| b.1.0.total_cmp(&a.1.0));
        let listed: Vec<String> = by_command
            .iter()
            .take(8)
            // A `|` in a command name (`slowlog|get`) would end the table cell.
            .map(|(name, (calls, _))| format!("{} {calls:.2}", name.replace('|', "\\|")))
            .collect();
        rows.push(format!(
            "| {replicas} | {calls:.1} | {:+.1} | {usec:.0} µs | {:.4} % | {} |",
            calls - one_calls * *replicas as f64,
            usec / INTERVAL.as_micros() as f64 * 100.0,
            listed.join(", ")
        ));
    }
    let (history_bytes, minutes) = history_memory().await;
    println!(
        "<!-- replicas:start -->\n## Several replicas on one Redis (issue 18)\n\n\
         Measured by `make bench` (`benches/replicas.rs`): 1, 2 and 4 release servers with \
         default settings (sampling every 2 s, census every 10 min, history kept) on one \
         private redis-server holding 10k keys, nobody viewing. Once they have found each other \
         and the start-up census is over ({} s), every command Redis ran for {} s, from \
         `INFO commandstats` (the probe's own INFO taken off), per 2 s sample interval. \
         \"Beyond N × one\" is what coordination adds over N independent copies of the single \
         replica: with others present each sampler adds two `HINCRBY` and a `PEXPIRE` to the \
         transaction around its INFO (`MULTI`/`EXEC` show up too), and the presence script \
         runs every 30 s; the scheduled census and the counters walk run once per interval \
         across replicas instead of once per replica (one replica alone: {one_calls:.1} \
         commands, {one_usec:.0} µs per interval).\n\n\
         | replicas | commands per interval | beyond N × one | Redis time per interval | share of one core | most frequent (calls per interval) |\n\
         |---|---|---|---|---|---|\n{}\n\n\
         The persisted history, a day of minute rollups (`cachepanel:{{cache}}:history`, \
         {minutes} minutes written as the sampler writes them): {history_bytes} B by `MEMORY \
         USAGE … SAMPLES 0` ({:.0} B a minute).\n<!-- replicas:end -->",
        SETTLE.as_secs(),
        WINDOW.as_secs(),
        rows.join("\n"),
        history_bytes as f64 / minutes.max(1) as f64,
    );
}
