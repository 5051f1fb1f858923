//! A local Redis Cluster for the integration tests and the benches (included by path in both:
//! it is test tooling, not part of the server binary).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cachepanel::server::redis::process::{RedisProcess, RedisProcessOptions};

/// A Redis Cluster of `masters` fresh nodes (no replicas) on free loopback ports, created with
/// `redis-cli --cluster create` and returned once every node reports `cluster_state:ok`.
pub fn start_cluster(masters: usize) -> Result<Vec<RedisProcess>, String> {
    let nodes = (0..masters)
        .map(|_| {
            RedisProcess::start(RedisProcessOptions {
                extra_args: vec![
                    "--cluster-enabled".into(),
                    "yes".into(),
                    "--cluster-node-timeout".into(),
                    "2000".into(),
                ],
                ..Default::default()
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| error.to_string())?;
    let status = Command::new("redis-cli")
        .args(["--cluster", "create"])
        .args(
            nodes
                .iter()
                .map(|node| format!("127.0.0.1:{}", node.port())),
        )
        .args(["--cluster-replicas", "0", "--cluster-yes"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|error| format!("running redis-cli --cluster create: {error}"))?;
    if !status.success() {
        return Err(format!("redis-cli --cluster create exited with {status}"));
    }
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(20) {
        let ok = nodes.iter().all(|node| {
            redis::Client::open(node.url().as_str())
                .and_then(|client| client.get_connection_with_timeout(Duration::from_millis(200)))
                .and_then(|mut connection| {
                    redis::cmd("CLUSTER")
                        .arg("INFO")
                        .query::<String>(&mut connection)
                })
                .is_ok_and(|info| info.contains("cluster_state:ok"))
        });
        if ok {
            return Ok(nodes);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err("cluster_state not ok within 20 s".into())
}
