//! The demo workload refuses a Redis holding other data unless forced.

use std::time::{Duration, Instant};

use cachepanel::server::config::RedisUrl;
use cachepanel::server::demo;
use cachepanel::server::redis::process::RedisProcessOptions;
use cachepanel::server::redis::{RedisTarget, Timeouts};

use crate::harness::{redis_connection, start_redis};

fn target(url: &str) -> RedisTarget {
    let timeouts = Timeouts {
        connect: Duration::from_secs(1),
        response: Duration::from_secs(1),
    };
    RedisTarget::new("demo", &RedisUrl::parse(url).unwrap(), timeouts).unwrap()
}

#[tokio::test]
async fn the_demo_refuses_a_redis_with_foreign_keys_unless_forced() {
    let redis = start_redis(RedisProcessOptions::default());
    let mut connection = redis_connection(&redis.url());
    redis::cmd("SET")
        .arg("user:1")
        .arg("real data")
        .exec(&mut connection)
        .unwrap();
    let target = target(&redis.url());

    let refused = demo::claim(&target, false).await;
    assert!(
        matches!(refused, Err(demo::DemoError::ForeignKeys(1))),
        "{refused:?}"
    );
    assert_eq!(
        refused.unwrap_err().to_string(),
        "this Redis holds 1 key that the demo did not write; use --force to run anyway"
    );
    let owner: Option<String> = redis::cmd("GET")
        .arg(demo::OWNER_KEY)
        .query(&mut connection)
        .unwrap();
    assert_eq!(owner, None, "a refusal writes nothing");

    demo::claim(&target, true).await.unwrap();
    // Once claimed, the demo may run again without --force.
    demo::claim(&target, false).await.unwrap();
}

#[tokio::test]
async fn cachepanels_own_state_is_not_foreign_data_to_the_demo() {
    // The server writes its state (presence, history) as it starts, before the demo claims
    // the embedded Redis: those keys must not make the demo refuse it.
    let redis = start_redis(RedisProcessOptions::default());
    let mut connection = redis_connection(&redis.url());
    for key in ["cachepanel:{demo}:state", "cachepanel:{demo}:history"] {
        redis::cmd("SET")
            .arg(key)
            .arg("x")
            .exec(&mut connection)
            .unwrap();
    }
    let own_only = target(&redis.url());
    demo::claim(&own_only, false).await.unwrap();

    // Foreign data next to it is still refused, counted without cachepanel's keys.
    let other = start_redis(RedisProcessOptions::default());
    let mut connection = redis_connection(&other.url());
    // A key that is not UTF-8 is someone's data too.
    for key in [&b"cachepanel:{demo}:state"[..], b"shift:1", b"\xffuser:1"] {
        redis::cmd("SET")
            .arg(key)
            .arg("x")
            .exec(&mut connection)
            .unwrap();
    }
    let refused = demo::claim(&target(&other.url()), false).await;
    assert!(
        matches!(refused, Err(demo::DemoError::ForeignKeys(2))),
        "{refused:?}"
    );
}

/// `make run` with no Redis configured: the binary starts its own redis-server and the demo
/// workload on it, and the page's figures move.
#[tokio::test]
async fn without_a_configured_redis_the_binary_runs_the_demo_on_its_own_redis() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log =
        std::env::temp_dir().join(format!("cachepanel-embedded-{}-{port}", std::process::id()));
    let file = std::fs::File::create(&log).unwrap();
    let mut child = crate::harness::cachepanel()
        .env("CACHEPANEL_ADDR", format!("127.0.0.1:{port}"))
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let cookie = format!(
        "access_token={}",
        crate::harness::token_for("superadmin", 1)
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let keys = loop {
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "the server exited ({status}): {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        let answer = client
            .get(format!("http://127.0.0.1:{port}/api/stats"))
            .header("cookie", &cookie)
            .send()
            .await;
        if let Ok(answer) = answer {
            let json: serde_json::Value = answer.json().await.unwrap_or_default();
            let keys = json["stats"]["total_keys"].as_u64().unwrap_or(0);
            if keys > 50 && json["stats"]["keyspace_hits"].as_u64().unwrap_or(0) > 0 {
                break keys;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no demo traffic within 20 s: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(keys > 50, "{keys}");
    crate::harness::terminate(&mut child);
    let written = std::fs::read_to_string(&log).unwrap();
    assert!(
        written.contains("started an embedded redis-server"),
        "{written}"
    );
    assert!(
        !written.contains('\u{1b}'),
        "no terminal colour escapes in a log written to a file: {written}"
    );
    let _ = std::fs::remove_file(&log);
}

#[tokio::test]
async fn the_demo_writes_production_shaped_traffic() {
    let redis = start_redis(RedisProcessOptions::default());
    let target = target(&redis.url());
    demo::claim(&target, false).await.unwrap();
    let workload = tokio::spawn(demo::run(target));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    workload.abort();

    let mut connection = redis_connection(&redis.url());
    let hits = crate::harness::raw_keyspace_hits(&redis.url());
    assert!(hits > 0, "cache-aside reads hit after the first misses");
    let ttl: i64 = redis::cmd("TTL")
        .arg("rate_limit:user:1")
        .query(&mut connection)
        .unwrap();
    assert!(
        (1..=60).contains(&ttl),
        "rate-limit counters expire within 60 s, got {ttl}"
    );
    let stuck: i64 = redis::cmd("TTL")
        .arg(demo::STUCK_COUNTER)
        .query(&mut connection)
        .unwrap();
    assert_eq!(stuck, -1, "one counter stuck without a TTL");
    let counter_keys: Vec<String> = redis::cmd("KEYS")
        .arg("cachepanel:hits:*")
        .query(&mut connection)
        .unwrap();
    assert_eq!(counter_keys.len(), 1, "{counter_keys:?}");
    let fields: std::collections::HashMap<String, u64> = redis::cmd("HGETALL")
        .arg(&counter_keys[0])
        .query(&mut connection)
        .unwrap();
    assert!(!fields.is_empty());
    assert!(
        fields
            .keys()
            .all(|f| (f.starts_with("hit:") || f.starts_with("miss:")) && f.ends_with(':')),
        "per-prefix counters as the census reads them (hit:user: …): {fields:?}"
    );
    let rejections: Vec<String> = redis::cmd("KEYS")
        .arg("rate_limit:stats:rejected:*")
        .query(&mut connection)
        .unwrap();
    assert!(
        !rejections.is_empty(),
        "a burst of 429s in the first seconds"
    );
}
