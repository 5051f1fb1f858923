//! The demo workload refuses a Redis holding other data unless forced.

use std::time::Duration;

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
