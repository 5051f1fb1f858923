//! On a real local Redis Cluster: 3 masters, created with `redis-cli --cluster create`.

use std::time::{Duration, Instant};

use cachepanel::server::config::RedisUrl;
use cachepanel::server::redis::process::{RedisProcess, RedisProcessOptions};

use crate::support::start_cluster;

use crate::harness::{TestApp, redis_connection};

pub struct Cluster {
    pub nodes: Vec<RedisProcess>,
}

impl Cluster {
    pub fn start(masters: usize) -> Self {
        Self {
            nodes: start_cluster(masters).expect("starting a local Redis Cluster"),
        }
    }

    pub fn seeds(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|node| format!("127.0.0.1:{}", node.port()))
            .collect()
    }

    /// Writes keys through a cluster-aware client (each lands on its slot's master).
    pub fn fill(&self, prefix: &str, count: u64) {
        let client = redis::cluster::ClusterClient::new(
            self.nodes.iter().map(|node| node.url()).collect::<Vec<_>>(),
        )
        .unwrap();
        let mut connection = client.get_connection().unwrap();
        for i in 0..count {
            redis::cmd("SET")
                .arg(format!("{prefix}{i}"))
                .arg("v")
                .exec(&mut connection)
                .unwrap();
        }
    }

    pub fn dbsizes(&self) -> Vec<u64> {
        self.nodes
            .iter()
            .map(|node| {
                redis::cmd("DBSIZE")
                    .query(&mut redis_connection(&node.url()))
                    .unwrap()
            })
            .collect()
    }

    pub fn count_matching(&self, pattern: &str) -> u64 {
        self.nodes
            .iter()
            .map(|node| {
                let mut connection = redis_connection(&node.url());
                let mut cursor = 0_u64;
                let mut total = 0;
                loop {
                    let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                        .arg(cursor)
                        .arg("MATCH")
                        .arg(pattern)
                        .arg("COUNT")
                        .arg(1000)
                        .query(&mut connection)
                        .unwrap();
                    total += keys.len() as u64;
                    cursor = next;
                    if cursor == 0 {
                        return total;
                    }
                }
            })
            .sum()
    }
}

pub async fn start_app_on(cluster: &Cluster) -> TestApp {
    start_replica_on(cluster, |_| {}).await
}

/// An app on `cluster`, with `also` applied to its configuration (a replica's name, say).
pub async fn start_replica_on(
    cluster: &Cluster,
    also: impl FnOnce(&mut cachepanel::server::config::Config),
) -> TestApp {
    let seeds = cluster.seeds();
    crate::harness::start_app_with(RedisProcessOptions::default(), move |config| {
        config.redis.url = Some(RedisUrl::parse("redis://127.0.0.1:1/0").unwrap());
        config.redis.cluster_seeds = Some(seeds);
        config.live.interval = Duration::from_millis(250);
        config.census.sample_every = 1;
        also(config);
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_census_and_flush_cover_every_master_of_a_cluster() {
    let cluster = tokio::task::spawn_blocking(|| {
        let cluster = Cluster::start(3);
        cluster.fill("user:", 600);
        cluster.fill("shift:", 90);
        cluster.fill("pin:telegram:", 12);
        cluster
    })
    .await
    .unwrap();
    let sizes = cluster.dbsizes();
    assert!(
        sizes.iter().all(|size| *size > 0),
        "keys on every master: {sizes:?}"
    );
    let app = start_app_on(&cluster).await;

    // Stats: per master and summed.
    let snapshot = app
        .snapshot_where(Duration::from_secs(10), |s| s.nodes.len() == 3)
        .await;
    // The keys written, and cachepanel's own state hash (on the master of its slot).
    let total: u64 = sizes.iter().sum::<u64>() + crate::harness::SAMPLER_STATE_KEYS;
    assert_eq!(snapshot.stats.as_ref().unwrap().total_keys, total);
    let per_node: u64 = snapshot.nodes.iter().map(|n| n.stats.total_keys).sum();
    assert_eq!(per_node, total);
    assert_eq!(snapshot.cluster_nodes.len(), 3);
    assert!(
        snapshot
            .cluster_nodes
            .iter()
            .all(|n| n.is_master && n.slots > 0)
    );
    let (_, page) = app.get_text("/admin/cache/stats").await;
    assert!(
        page.contains(r#"data-testid="cluster-nodes""#),
        "the page shows the nodes"
    );
    let metrics = app.get("/metrics").await.text().await.unwrap();
    let (valid, said) = crate::metrics::promtool_check(&metrics);
    assert!(valid, "promtool: {said}");
    assert_eq!(
        metrics.matches("cachepanel_node_keys{").count(),
        3,
        "{metrics}"
    );
    assert_eq!(
        metrics.matches("cachepanel_cluster_node_failing{").count(),
        3
    );
    assert!(metrics.contains(&format!(r#"cachepanel_keys{{target="cache"}} {total}"#)));

    // Census: the sum of every master's keys, exactly.
    let report = crate::census::run_census(&app).await;
    // Plus cachepanel's own keys (the census' lease and run record, the sampler's count).
    assert_eq!(
        report.scanned_keys,
        sizes.iter().sum::<u64>() + crate::census::OWN_KEYS_DURING_A_CENSUS,
        "{:?}",
        report.outcome
    );
    let keys = |prefix: &str| {
        report
            .groups
            .iter()
            .find(|g| g.prefix == prefix)
            .map_or(0, |g| g.keys)
    };
    assert_eq!(keys("user:"), 600);
    assert_eq!(keys("shift:"), 90);
    assert_eq!(keys("pin:"), 12);

    // Flush: the prefix goes from every master, nothing else does.
    let preview: serde_json::Value = app
        .http
        .post(format!("{}/api/flush/preview", app.base_url))
        .form(&[("prefix", "user:")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(preview["keys"], 600, "{preview}");
    assert!(
        preview["estimated_bytes"].as_u64().unwrap() > 0,
        "sizes measured on every node"
    );
    let id = preview["id"].as_str().unwrap().to_owned();
    let response = app
        .http
        .post(format!("{}/api/flush/start", app.base_url))
        .form(&[("prefix", "user:"), ("preview_id", id.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let deadline = Instant::now() + Duration::from_secs(20);
    let report = loop {
        let state = app.flush.state();
        if let (None, Some(report)) = (&state.running, &state.last) {
            break report.clone();
        }
        assert!(Instant::now() < deadline, "flush did not finish");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(report.deleted_keys, 600, "{:?}", report.outcome);
    assert_eq!(cluster.count_matching("user:*"), 0);
    assert_eq!(cluster.count_matching("shift:*"), 90);
    assert_eq!(cluster.count_matching("pin:*"), 12);
    // The audit stream lives on its slot's master, written through the routed connection.
    let (status, audit) = app.get_json("/api/audit").await;
    assert_eq!(status, 200);
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "flush_started")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rate_limiter_and_its_counters_view_work_on_a_cluster() {
    use cachepanel::model::rate_limit::{Role, RoleLimits, Subject};
    use cachepanel::server::rate_limit::Limiter;

    let cluster = tokio::task::spawn_blocking(|| Cluster::start(3))
        .await
        .unwrap();
    let app = start_app_on(&cluster).await;
    let redis = cachepanel::server::redis::RedisTarget::with_cluster(
        "cache",
        &RedisUrl::parse("redis://127.0.0.1:1/0").unwrap(),
        cachepanel::server::redis::Timeouts {
            connect: Duration::from_secs(1),
            response: Duration::from_secs(1),
        },
        cluster.seeds(),
    );
    let limiter = Limiter::new(
        redis,
        RoleLimits {
            manager: 5,
            ..Default::default()
        },
        false,
    );
    let mut allowed = 0;
    for _ in 0..12 {
        let decision = limiter
            .decide(&Subject::User("77".into()), Role::Manager)
            .await;
        assert!(!decision.degraded, "the limiter reached the cluster");
        allowed += usize::from(decision.allowed);
    }
    assert_eq!(allowed, 5);
    tokio::task::spawn_blocking({
        let seeds: Vec<String> = cluster.nodes.iter().map(|n| n.url()).collect();
        move || {
            let client = redis::cluster::ClusterClient::new(seeds).unwrap();
            let mut connection = client.get_connection().unwrap();
            redis::cmd("SET")
                .arg("user:77")
                .arg(r#"{"role":"manager"}"#)
                .exec(&mut connection)
                .unwrap();
        }
    })
    .await
    .unwrap();

    let (status, report) = app.fresh_rate_limits().await;
    assert_eq!(status, 200, "{report}");
    let row = report["top"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["key"] == "rate_limit:user:77")
        .cloned()
        .unwrap();
    assert_eq!(row["count"], 12);
    assert_eq!(row["role"], "manager");
    let rejected: u64 = report["rejections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|minute| minute["per_role"][1].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(rejected, 7, "rejections counted in their own slot");
}
