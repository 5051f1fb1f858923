//! `make bench` (scale-out): census and flush throughput of the release server on a 3-master
//! Redis Cluster against a single redis-server holding the same keyspace. Prints a Markdown
//! section.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark stops on any setup failure"
)]

use cachepanel::server::redis::process::{RedisProcess, RedisProcessOptions};
use common::{connection, start_server};
use support::start_cluster;

mod common;
#[path = "../tests/support/cluster.rs"]
mod support;

const KEYS: u64 = 300_000;
const PREFIX: &str = "user:";

/// CRC16/XMODEM, as Redis Cluster hashes keys (these keys carry no `{hash tag}`).
fn slot(key: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for byte in key {
        crc ^= u16::from(*byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc % 16_384
}

fn key(i: u64) -> String {
    const PREFIXES: [&str; 5] = ["user:", "object:", "shift:", "analytics:", "api_objects:"];
    format!("{}{i}", PREFIXES[(i % PREFIXES.len() as u64) as usize])
}

/// Writes the keyspace, each key to the node that serves its slot (`owner` of a slot).
async fn load(nodes: &[&RedisProcess], owner: impl Fn(u16) -> usize) {
    let value = "x".repeat(200);
    let mut pipes: Vec<redis::Pipeline> = nodes.iter().map(|_| redis::pipe()).collect();
    let mut connections = Vec::new();
    for node in nodes {
        connections.push(connection(node).await);
    }
    for i in 0..KEYS {
        let key = key(i);
        let node = owner(slot(key.as_bytes()));
        pipes[node]
            .cmd("SET")
            .arg(&key)
            .arg(&value)
            .arg("EX")
            .arg(900)
            .ignore();
        if i % 10_000 == 9_999 || i == KEYS - 1 {
            for (pipe, connection) in pipes.iter_mut().zip(connections.iter_mut()) {
                if pipe.cmd_iter().next().is_some() {
                    pipe.exec_async(connection).await.unwrap();
                }
                *pipe = redis::pipe();
            }
        }
    }
}

#[tokio::main]
async fn main() {
    let http = common::client();
    let single = RedisProcess::start(RedisProcessOptions::default()).unwrap();
    load(&[&single], |_| 0).await;
    let server = start_server(&single, &[]).await;
    let (single_census, scanned) = common::census_via_api(&http, &server.origin).await;
    assert_eq!(scanned, KEYS);
    let id = common::preview_via_api(&http, &server.origin, PREFIX).await;
    let (single_flush, single_deleted) =
        common::flush_via_api(&http, &server.origin, PREFIX, &id).await;
    drop(server);

    let nodes = start_cluster(3).unwrap();
    // `redis-cli --cluster create` splits the slots evenly, in node order.
    let ranges: Vec<(u16, u16)> = vec![(0, 5460), (5461, 10922), (10923, 16383)];
    let owner = |slot: u16| {
        ranges
            .iter()
            .position(|(from, to)| (*from..=*to).contains(&slot))
            .unwrap()
    };
    load(&nodes.iter().collect::<Vec<_>>(), owner).await;
    let seeds: Vec<String> = nodes
        .iter()
        .map(|n| format!("127.0.0.1:{}", n.port()))
        .collect();
    let server = start_server(&nodes[0], &[("CACHEPANEL_REDIS_CLUSTER", &seeds.join(","))]).await;
    let (cluster_census, scanned) = common::census_via_api(&http, &server.origin).await;
    assert_eq!(scanned, KEYS);
    let id = common::preview_via_api(&http, &server.origin, PREFIX).await;
    let (cluster_flush, cluster_deleted) =
        common::flush_via_api(&http, &server.origin, PREFIX, &id).await;
    assert_eq!(single_deleted, cluster_deleted);

    let rate = |keys: u64, seconds: f64| keys as f64 / seconds;
    println!("<!-- cluster:start -->");
    println!("## Scale-out: Redis Cluster vs a single node (issue 8)\n");
    println!(
        "Measured by `make bench` (`cargo bench --bench cluster`): the release server with default settings, {KEYS} keys (200 B values, 5 production prefixes), on one redis-server and on a 3-master cluster (`redis-cli --cluster create`, no replicas) on the same 2-core machine; the flush removes `{PREFIX}` ({single_deleted} keys). On the cluster cachepanel walks the masters one after another and sends one `UNLINK` per key (a cluster refuses a multi-key UNLINK across slots).\n"
    );
    println!("| operation | single node | 3-master cluster | cluster / single |");
    println!("|---|---|---|---|");
    println!(
        "| census | {:.0} keys/s ({single_census:.2} s) | {:.0} keys/s ({cluster_census:.2} s) | {:.2}× |",
        rate(KEYS, single_census),
        rate(KEYS, cluster_census),
        single_census / cluster_census
    );
    println!(
        "| flush `{PREFIX}` | {:.0} keys/s ({single_flush:.2} s) | {:.0} keys/s ({cluster_flush:.2} s) | {:.2}× |",
        rate(single_deleted, single_flush),
        rate(cluster_deleted, cluster_flush),
        single_flush / cluster_flush
    );
    println!("<!-- cluster:end -->");
}
