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

/// Redis' own cumulative usec of INFO plus DBSIZE, read with one `INFO commandstats` (parsed
/// as the sampler parses it), which itself counts as an INFO once the next reading is taken.
fn probe(connection: &mut redis::Connection) -> u64 {
    let stats: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(connection)
        .unwrap();
    let table = command_totals(&InfoFields::parse(&stats));
    ["info", "dbsize"]
        .iter()
        .filter_map(|command| table.get(*command))
        .map(|totals| totals.usec)
        .sum()
}

/// Per sample: Redis' µs on INFO + DBSIZE, and the INFO reply's size.
fn measure(redis: &RedisProcess, sections: &[&str]) -> (f64, usize) {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut sampler = client.get_connection().unwrap();
    let mut connection = client.get_connection().unwrap();
    let first = probe(&mut connection);
    // The difference of two probes is what one probe costs; the rounds' total is then the
    // next difference minus one probe.
    let second = probe(&mut connection);
    let one_probe = second - first;
    let mut reply_bytes = 0;
    for _ in 0..ROUNDS {
        let (info, _keys): (String, u64) = redis::pipe()
            .cmd("INFO")
            .arg(sections)
            .cmd("DBSIZE")
            .query(&mut sampler)
            .unwrap();
        reply_bytes = info.len();
    }
    let third = probe(&mut connection);
    let spent = (third - second).saturating_sub(one_probe);
    (spent as f64 / ROUNDS as f64, reply_bytes)
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
    let redis = RedisProcess::start(RedisProcessOptions::default()).unwrap();
    busy_cache(&redis);
    let before: &[&str] = &[];
    let now: &[&str] = &["default", "commandstats", "latencystats"];
    // Warm-up, discarded: the first round trips of a fresh server run colder code paths.
    measure(&redis, now);
    measure(&redis, before);
    let mut rows = Vec::new();
    let mut idle = Vec::new();
    for clients in [1_usize, 1000] {
        let client = redis::Client::open(redis.url()).unwrap();
        while idle.len() + 1 < clients {
            idle.push(client.get_connection().unwrap());
        }
        let (old_us, old_bytes) = measure(&redis, before);
        let (new_us, new_bytes) = measure(&redis, now);
        rows.push(format!(
            "| {clients} | {old_us:.1} µs ({old_bytes} B) | {new_us:.1} µs ({new_bytes} B) | {:.2}× | {:.4} % |",
            new_us / old_us.max(0.001),
            new_us / INTERVAL_US * 100.0,
        ));
    }
    println!(
        "<!-- sampler:start -->\n## Sampler: Redis time per sample (issue 17)\n\n\
         Measured by `make bench` (`benches/sampler.rs`): {ROUNDS} sampler round trips per cell \
         against a private redis-server holding 10k keys and a command table like a busy \
         cache's; Redis' own `INFO commandstats` usec of INFO and DBSIZE per round trip (the \
         probe's own INFO calls taken off), and the size of the INFO reply. Before: `INFO` + \
         `DBSIZE` (the sampler before the commands section); now: `INFO default commandstats \
         latencystats` + `DBSIZE`, in the same run. Connected clients are idle connections; \
         `CLIENT LIST` is not read yet. The last column is the share of one Redis core at the \
         default 2 s interval (goal for the whole sampler: ≤ 1 %); it does not grow with \
         viewers (the viewers section).\n\n\
         | connected clients | before | now | now / before | now, share of one core |\n\
         |---|---|---|---|---|\n{}\n<!-- sampler:end -->",
        rows.join("\n")
    );
}
