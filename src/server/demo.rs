//! Demo workload for the embedded Redis: cache-aside reads shaped like the production app
//! (skewed ids over its key prefixes, its TTLs) and per-user rate-limit counters, so the
//! dashboard has moving numbers when someone just runs `make run`.

use std::time::Duration;

use rand::Rng;

use crate::server::redis::RedisTarget;

/// (key prefix, id range, TTL in seconds) of the production cache.
const CACHED: [(&str, u32, u64); 6] = [
    ("user:", 500, 900),
    ("object:", 200, 900),
    ("shift:", 1000, 300),
    ("active_shifts:", 200, 300),
    ("user_objects:", 500, 900),
    ("analytics:", 50, 3600),
];

/// Runs until the task is aborted. Redis errors are skipped: the demo must not crash the app.
pub async fn run(redis: RedisTarget) {
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        tick.tick().await;
        let requests = demo_requests(20);
        let _ = redis
            .run(|mut connection| async move {
                for (key, ttl) in &requests {
                    let cached: Option<String> = redis::cmd("GET")
                        .arg(key)
                        .query_async(&mut connection)
                        .await?;
                    if cached.is_none() {
                        let value = format!(r#"{{"key":"{key}","demo":true}}"#);
                        redis::cmd("SET")
                            .arg(key)
                            .arg(value)
                            .arg("EX")
                            .arg(ttl)
                            .query_async::<()>(&mut connection)
                            .await?;
                    }
                }
                let user = rand::rng().random_range(1..=40);
                redis::pipe()
                    .cmd("INCR")
                    .arg(format!("rate_limit:user:{user}"))
                    .cmd("EXPIRE")
                    .arg(format!("rate_limit:user:{user}"))
                    .arg(60)
                    .arg("NX")
                    .query_async::<()>(&mut connection)
                    .await
            })
            .await;
    }
}

/// Keys to read, with the TTL to cache them under. Ids follow a steep power law so a few hot
/// keys get most reads, which gives a realistic hit rate.
fn demo_requests(count: usize) -> Vec<(String, u64)> {
    let mut rng = rand::rng();
    (0..count)
        .map(|_| {
            let (prefix, ids, ttl) = CACHED[rng.random_range(0..CACHED.len())];
            let skewed: f64 = rng.random::<f64>().powi(3);
            let id = 1 + (skewed * f64::from(ids)) as u32;
            (format!("{prefix}{id}"), ttl)
        })
        .collect()
}
