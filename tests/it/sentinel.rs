//! Behind Redis Sentinel, on a real local topology: 1 master, 1 replica, 3 sentinels.

use std::time::{Duration, Instant};

use cachepanel::model::live::LiveStatus;
use cachepanel::server::config::RedisUrl;
use cachepanel::server::redis::process::{RedisProcess, RedisProcessOptions};
use cachepanel::server::redis::sentinel::SentinelSettings;

use crate::harness::{TestApp, redis_connection, start_redis};

const MASTER_NAME: &str = "cache-master";

pub struct Topology {
    pub master: RedisProcess,
    pub replica: RedisProcess,
    pub sentinels: Vec<RedisProcess>,
}

impl Topology {
    pub fn start() -> Self {
        // Redis 7 delays a diskless full sync by 5 s to batch replicas; no need here.
        let master = start_redis(RedisProcessOptions {
            extra_args: vec!["--repl-diskless-sync-delay".into(), "0".into()],
            ..Default::default()
        });
        let replica = start_redis(RedisProcessOptions {
            extra_args: vec![
                "--replicaof".into(),
                "127.0.0.1".into(),
                master.port().to_string(),
            ],
            ..Default::default()
        });
        let sentinels = (0..3)
            .map(|_| {
                start_redis(RedisProcessOptions {
                    sentinel_of: Some((MASTER_NAME.into(), master.port(), 2)),
                    ..Default::default()
                })
            })
            .collect();
        let topology = Self {
            master,
            replica,
            sentinels,
        };
        // Sentinels learn the replica from the master and each other through hello messages.
        topology.wait_for_sentinels(|replicas, peers| replicas == 1 && peers == 2);
        topology
    }

    fn sentinel_query<T: redis::FromRedisValue>(&self, index: usize, args: &[&str]) -> T {
        let mut connection = redis_connection(&format!(
            "redis://127.0.0.1:{}",
            self.sentinels[index].port()
        ));
        let mut command = redis::cmd("SENTINEL");
        for arg in args {
            command.arg(*arg);
        }
        command.query(&mut connection).unwrap()
    }

    fn wait_for_sentinels(&self, ready: impl Fn(usize, usize) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let all_ready = (0..self.sentinels.len()).all(|index| {
                let replicas: Vec<redis::Value> =
                    self.sentinel_query(index, &["replicas", MASTER_NAME]);
                let peers: Vec<redis::Value> =
                    self.sentinel_query(index, &["sentinels", MASTER_NAME]);
                ready(replicas.len(), peers.len())
            });
            if all_ready {
                return;
            }
            assert!(Instant::now() < deadline, "sentinels did not converge");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub fn master_according_to_sentinels(&self) -> Option<u16> {
        let answer: Option<(String, String)> =
            self.sentinel_query(0, &["get-master-addr-by-name", MASTER_NAME]);
        answer.and_then(|(_, port)| port.parse().ok())
    }

    fn settings(&self) -> SentinelSettings {
        SentinelSettings {
            sentinels: self
                .sentinels
                .iter()
                .map(|sentinel| format!("127.0.0.1:{}", sentinel.port()))
                .collect(),
            master_name: MASTER_NAME.into(),
            password: None,
        }
    }
}

async fn start_app_behind(topology: &Topology) -> TestApp {
    start_replica_behind(topology, |_| {}).await
}

/// An app behind the topology's sentinels, with `also` applied to its configuration.
pub async fn start_replica_behind(
    topology: &Topology,
    also: impl FnOnce(&mut cachepanel::server::config::Config),
) -> TestApp {
    let settings = topology.settings();
    crate::harness::start_app_with(RedisProcessOptions::default(), move |config| {
        // The URL's host is a placeholder: the sentinels say where the master is.
        config.redis.url = Some(RedisUrl::parse("redis://127.0.0.1:1/0").unwrap());
        config.redis.sentinel = Some(settings);
        config.live.interval = Duration::from_millis(250);
        also(config);
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cachepanel_follows_a_sentinel_failover_and_shows_the_topology() {
    let mut topology = tokio::task::spawn_blocking(Topology::start).await.unwrap();
    let master_port = topology.master.port();
    let replica_port = topology.replica.port();
    {
        let mut connection = redis_connection(&topology.master.url());
        for i in 0..25 {
            redis::cmd("SET")
                .arg(format!("user:{i}"))
                .arg("{}")
                .exec(&mut connection)
                .unwrap();
        }
    }
    // The replica has them before anything fails (replication is asynchronous).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let replicated: u64 = redis::cmd("DBSIZE")
            .query(&mut redis_connection(&topology.replica.url()))
            .unwrap();
        if replicated == 25 {
            break;
        }
        assert!(Instant::now() < deadline, "the replica did not sync");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let app = start_app_behind(&topology).await;

    // Before: stats from the master, and the whole topology with the replica's lag.
    let snapshot = app
        .snapshot_where(Duration::from_secs(10), |s| {
            matches!(s.status, LiveStatus::Up)
                && s.topology.as_ref().is_some_and(|t| {
                    t.replicas.len() == 1
                        && t.replicas[0].lag_seconds.is_some()
                        // Sentinels flag each other "disconnected" for a moment at start.
                        && t.sentinels.iter().all(|s| s.healthy)
                })
        })
        .await;
    let seen = snapshot.topology.clone().unwrap();
    assert_eq!(seen.master_name, MASTER_NAME);
    assert_eq!(
        seen.master.as_ref().map(|m| m.address.clone()),
        Some(format!("127.0.0.1:{master_port}"))
    );
    assert_eq!(
        seen.replicas[0].address,
        format!("127.0.0.1:{replica_port}")
    );
    assert_eq!(seen.sentinels.len(), 3, "{:?}", seen.sentinels);
    assert!(seen.sentinels.iter().all(|s| s.healthy));
    assert_eq!(
        snapshot.stats.as_ref().unwrap().total_keys,
        25 + crate::harness::SAMPLER_STATE_KEYS
    );
    let (_, page) = app.get_text("/admin/cache/stats").await;
    assert!(
        page.contains(r#"data-testid="topology""#),
        "the page shows the topology"
    );
    assert_eq!(page.matches(r#"data-testid="topology-node""#).count(), 5);
    assert!(page.contains(&format!("127.0.0.1:{master_port}")));

    // The master dies. Sentinel promotes the replica; cachepanel follows within 5 s of that,
    // and the dashboard answers all along.
    let killed = Instant::now();
    topology.master.stop();
    let mut promoted_after = None;
    let mut followed_after = None;
    let deadline = killed + Duration::from_secs(40);
    while followed_after.is_none() {
        assert!(Instant::now() < deadline, "no failover followed in 40 s");
        let (status, _) = app.get_json("/api/stats").await;
        assert_eq!(status, 200, "the dashboard keeps answering");
        if promoted_after.is_none()
            && topology.master_according_to_sentinels() == Some(replica_port)
        {
            promoted_after = Some(killed.elapsed());
        }
        let latest = app.live.latest();
        if promoted_after.is_some()
            && matches!(latest.status, LiveStatus::Up)
            && latest.sampled_at_ms > 0
            && latest
                .topology
                .as_ref()
                .and_then(|t| t.master.as_ref())
                .is_some_and(|m| m.address == format!("127.0.0.1:{replica_port}"))
        {
            followed_after = Some(killed.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (promoted, followed) = (promoted_after.unwrap(), followed_after.unwrap());
    eprintln!(
        "sentinel promoted the replica after {promoted:?}; cachepanel followed after {followed:?}"
    );
    assert!(
        followed <= promoted + Duration::from_secs(5),
        "followed {followed:?} after the kill, sentinel promoted at {promoted:?}"
    );
    // Reads and writes now reach the new master.
    let (_, stats) = app.get_json("/api/stats").await;
    assert_eq!(stats["status"], "up", "{stats}");
    assert_eq!(
        stats["stats"]["total_keys"],
        25 + crate::harness::SAMPLER_STATE_KEYS
    );
    let preview = app
        .http
        .post(format!("{}/api/flush/preview", app.base_url))
        .form(&[("prefix", "user:")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        preview.status().as_u16(),
        200,
        "the audit is written to the new master"
    );
    let latest = app.live.latest();
    let topology_now = latest.topology.as_ref().unwrap();
    assert!(
        topology_now
            .replicas
            .iter()
            .any(|r| r.address == format!("127.0.0.1:{master_port}") && !r.healthy)
            || topology_now.replicas.is_empty(),
        "the dead master is shown as a down replica: {topology_now:?}"
    );
}
