//! `make bench` (sampler): what one sample costs Redis, measured by Redis itself (`INFO
//! commandstats` usec of the sampler's INFO and DBSIZE): the sampler's round trip before the
//! commands section (`INFO` + `DBSIZE`) against now (`INFO default commandstats latencystats` +
//! `DBSIZE`), with 1 and 1000 connected clients, over a keyspace and command table like a busy
//! cache's. Prints a Markdown section.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark stops on any setup failure"
)]

use cachepanel::model::commands::command_totals;
use cachepanel::model::info::InfoFields;
use cachepanel::server::redis::process::{RedisProcess, RedisProcessOptions};

const ROUNDS: u64 = 500;
/// The sampler's default interval.
const INTERVAL_US: f64 = 2_000_000.0;

/// The commands whose Redis time a sample costs.
const SAMPLER_COMMANDS: [&str; 5] = ["info", "dbsize", "slowlog|get", "client|list", "config|get"];

/// Redis' own cumulative usec of the sampler's commands, read with one `INFO commandstats`
/// (parsed as the sampler parses it), which itself counts as an INFO once the next reading is
/// taken.
fn probe(connection: &mut redis::Connection) -> u64 {
    let stats: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(connection)
        .unwrap();
    let table = command_totals(&InfoFields::parse(&stats));
    SAMPLER_COMMANDS
        .iter()
        .filter_map(|command| table.get(*command))
        .map(|totals| totals.usec)
        .sum()
}

/// What one sample sends.
#[derive(Clone, Copy)]
enum Sampler {
    /// `INFO` + `DBSIZE`: before the commands section.
    Before,
    /// `INFO default commandstats latencystats` + `DBSIZE`: the commands section.
    Commands,
    /// The whole sampler now: that, `SLOWLOG GET 1` every sample, `CLIENT LIST` every fifth
    /// (10 s at the default 2 s) and its five `CONFIG GET`s every fifteenth.
    Whole,
}

/// Per sample: Redis' µs on the sampler's commands, and the bytes Redis sent.
fn measure(redis: &RedisProcess, sampler_kind: Sampler) -> (f64, usize) {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut sampler = client.get_connection().unwrap();
    let mut connection = client.get_connection().unwrap();
    let first = probe(&mut connection);
    // The difference of two probes is what one probe costs; the rounds' total is then the
    // next difference minus one probe.
    let second = probe(&mut connection);
    let one_probe = second - first;
    let sections: &[&str] = match sampler_kind {
        Sampler::Before => &[],
        Sampler::Commands | Sampler::Whole => &["default", "commandstats", "latencystats"],
    };
    let mut reply_bytes = 0;
    for round in 0..ROUNDS {
        let (info, _keys): (String, u64) = redis::pipe()
            .cmd("INFO")
            .arg(sections)
            .cmd("DBSIZE")
            .query(&mut sampler)
            .unwrap();
        reply_bytes += info.len();
        if matches!(sampler_kind, Sampler::Whole) {
            let _: redis::Value = redis::cmd("SLOWLOG")
                .arg("GET")
                .arg(1)
                .query(&mut sampler)
                .unwrap();
            if round % 5 == 0 {
                let list: String = redis::cmd("CLIENT")
                    .arg("LIST")
                    .query(&mut sampler)
                    .unwrap();
                reply_bytes += list.len();
            }
            if round % 15 == 0 {
                for name in [
                    "save",
                    "requirepass",
                    "slowlog-log-slower-than",
                    "slowlog-max-len",
                    "latency-monitor-threshold",
                ] {
                    let _: Vec<String> = redis::cmd("CONFIG")
                        .arg("GET")
                        .arg(name)
                        .query(&mut sampler)
                        .unwrap();
                }
            }
        }
    }
    let third = probe(&mut connection);
    let spent = (third - second).saturating_sub(one_probe);
    (spent as f64 / ROUNDS as f64, reply_bytes / ROUNDS as usize)
}

/// A keyspace and a command table like a busy cache's: 10k keys of several types and the
/// commands an application sends.
fn busy_cache(redis: &RedisProcess) {
    let mut connection = redis::Client::open(redis.url())
        .unwrap()
        .get_connection()
        .unwrap();
    let mut pipe = redis::pipe();
    for i in 0..10_000 {
        pipe.cmd("SET")
            .arg(format!("user:{i}"))
            .arg("v")
            .arg("EX")
            .arg(900)
            .ignore();
    }
    for i in 0..200 {
        pipe.cmd("HSET")
            .arg(format!("object:{i}"))
            .arg("f")
            .arg(i)
            .ignore();
        pipe.cmd("HGETALL").arg(format!("object:{i}")).ignore();
        pipe.cmd("SADD")
            .arg(format!("user_objects:{i}"))
            .arg(i)
            .ignore();
        pipe.cmd("SMEMBERS")
            .arg(format!("user_objects:{i}"))
            .ignore();
        pipe.cmd("LPUSH").arg(format!("shift:{i}")).arg(i).ignore();
        pipe.cmd("LRANGE")
            .arg(format!("shift:{i}"))
            .arg(0)
            .arg(-1)
            .ignore();
        pipe.cmd("ZADD")
            .arg("active_shifts:1")
            .arg(i)
            .arg(i)
            .ignore();
        pipe.cmd("ZRANGE")
            .arg("active_shifts:1")
            .arg(0)
            .arg(10)
            .ignore();
        pipe.cmd("INCR")
            .arg(format!("rate_limit:user:{i}"))
            .ignore();
        pipe.cmd("EXPIRE")
            .arg(format!("rate_limit:user:{i}"))
            .arg(60)
            .ignore();
        pipe.cmd("GET").arg(format!("user:{i}")).ignore();
        pipe.cmd("MGET")
            .arg(format!("user:{i}"))
            .arg("user:1")
            .ignore();
        pipe.cmd("TTL").arg(format!("user:{i}")).ignore();
        pipe.cmd("EXISTS").arg(format!("pin:{i}")).ignore();
        pipe.cmd("DEL").arg(format!("pin:{i}")).ignore();
    }
    pipe.exec(&mut connection).unwrap();
}

fn main() {
    let redis = RedisProcess::start(RedisProcessOptions {
        extra_args: vec!["--maxclients".into(), "10100".into()],
        ..RedisProcessOptions::default()
    })
    .unwrap();
    busy_cache(&redis);
    // Warm-up, discarded: the first round trips of a fresh server run colder code paths.
    for kind in [Sampler::Whole, Sampler::Before] {
        measure(&redis, kind);
    }
    let mut rows = Vec::new();
    let mut idle = Vec::new();
    'sizes: for clients in [1_usize, 1000, 10_000] {
        let client = redis::Client::open(redis.url()).unwrap();
        while idle.len() + 1 < clients {
            match client.get_connection() {
                Ok(connection) => idle.push(connection),
                Err(error) => {
                    rows.push(format!(
                        "| {clients} | not measured: {} connections open ({error}; raise `ulimit -n`) | | | | |",
                        idle.len()
                    ));
                    break 'sizes;
                }
            }
        }
        let (old_us, old_bytes) = measure(&redis, Sampler::Before);
        let (commands_us, commands_bytes) = measure(&redis, Sampler::Commands);
        let (whole_us, whole_bytes) = measure(&redis, Sampler::Whole);
        rows.push(format!(
            "| {clients} | {old_us:.1} µs ({old_bytes} B) | {commands_us:.1} µs ({commands_bytes} B) | {whole_us:.1} µs ({whole_bytes} B) | {:.2}× | {:.4} % |",
            whole_us / old_us.max(0.001),
            whole_us / INTERVAL_US * 100.0,
        ));
    }
    println!(
        "<!-- sampler:start -->\n## Sampler: Redis time per sample (issue 17)\n\n\
         Measured by `make bench` (`benches/sampler.rs`): {ROUNDS} samples per cell against a \
         private redis-server holding 10k keys and a command table like a busy cache's; Redis' \
         own `INFO commandstats` usec of the sampler's commands per sample (the probe's own \
         INFO calls taken off), and the bytes Redis sent per sample. Before: `INFO` + `DBSIZE` \
         (the sampler before issue 17); commands: `INFO default commandstats latencystats` + \
         `DBSIZE`; whole: that plus `SLOWLOG GET 1` every sample, `CLIENT LIST` every fifth \
         sample (every 10 s at the default 2 s) and the five `CONFIG GET`s every fifteenth, \
         as the sampler sends them; all in the same run. Connected clients are idle \
         connections (they make `CLIENT LIST` long). The last column is the whole sampler's \
         share of one Redis core at the default 2 s interval (goal: ≤ 1 %); it does not grow \
         with viewers (the viewers section, and the diagnostics test with 50 streams).\n\n\
         | connected clients | before | commands | whole sampler | whole / before | whole, share of one core |\n\
         |---|---|---|---|---|---|\n{}\n<!-- sampler:end -->",
        rows.join("\n")
    );
}
