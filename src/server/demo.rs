//! Demo workload shaped like the production app, so every chart moves when someone just runs
//! `make run`: cache-aside reads with skewed (Zipf-like) ids over the production prefixes and
//! TTLs, periodic invalidations, the app's per-prefix hit counters, and per-user rate-limit
//! counters with a few users over their limits, bursts of 429s and one counter stuck without a
//! TTL (a limiter that died between INCR and EXPIRE). `cachepanel demo` runs it against any
//! Redis it owns.

use std::time::Duration;

use rand::Rng;

use crate::model::rate_limit::Role;
use crate::server::census::prefix_hits_key;
use crate::server::rate_limit::rejection_key;
use crate::server::redis::scan::{WalkOptions, Walker};
use crate::server::redis::{RedisFailure, RedisTarget};

/// A counter whose EXPIRE never ran: the dashboard's "stuck counters" warning shows it.
pub const STUCK_COUNTER: &str = "rate_limit:user:77";

/// Marks a Redis as written by the demo; without it (and with keys) the demo refuses to run.
pub const OWNER_KEY: &str = "cachepanel:demo:owner";

/// (key prefix, id range, TTL in seconds) of the production cache.
const CACHED: [(&str, u32, u64); 9] = [
    ("user:", 500, 900),
    ("object:", 200, 900),
    ("shift:", 1000, 300),
    ("active_shifts:", 200, 300),
    ("user_objects:", 500, 900),
    ("analytics:", 50, 3600),
    ("owner_objects:", 100, 900),
    ("api_objects:", 100, 900),
    ("contract_employees:get_employees:", 80, 900),
];
/// Roles of demo users 1..=40, as the production `user:{id}` JSON carries them.
const ROLES: [&str; 4] = ["employee", "manager", "owner", "moderator"];

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(
        "this Redis holds {} that the demo did not write; use --force to run anyway",
        keys_phrase(*.0)
    )]
    ForeignKeys(u64),
    #[error("Redis: {0}")]
    Redis(#[from] RedisFailure),
}

fn keys_phrase(count: u64) -> String {
    match count {
        1 => "1 key".to_owned(),
        count => format!("{count} keys"),
    }
}

/// A Redis with at most this many keys is looked at key by key for cachepanel's own state
/// (written by the server that starts the demo a moment before); a bigger one is refused at once.
const OWN_STATE_LOOK_LIMIT: u64 = 100;

/// Refuses a Redis with keys other than cachepanel's own state unless it was claimed by the
/// demo before (or `force`), then claims it.
pub async fn claim(redis: &RedisTarget, force: bool) -> Result<(), DemoError> {
    let (keys, owned): (u64, bool) = redis
        .run(|mut connection| async move {
            redis::pipe()
                .cmd("DBSIZE")
                .cmd("EXISTS")
                .arg(OWNER_KEY)
                .query_async(&mut connection)
                .await
        })
        .await?;
    if keys > 0 && !owned && !force {
        let foreign = if keys <= OWN_STATE_LOOK_LIMIT {
            foreign_keys(redis).await?
        } else {
            keys
        };
        if foreign > 0 {
            return Err(DemoError::ForeignKeys(foreign));
        }
    }
    redis
        .run(|mut connection| async move {
            redis::pipe()
                .cmd("SET")
                .arg(OWNER_KEY)
                .arg("cachepanel demo")
                .ignore()
                .cmd("SET")
                .arg(STUCK_COUNTER)
                .arg(23)
                .ignore()
                .query_async::<()>(&mut connection)
                .await
        })
        .await?;
    Ok(())
}

/// How many keys of a small Redis are not cachepanel's own state (`{namespace}:…`), walked
/// with the project's one keyspace walker.
async fn foreign_keys(redis: &RedisTarget) -> Result<u64, DemoError> {
    let own_prefix = format!("{}:", redis.state_namespace()).into_bytes();
    let mut walker = Walker::start(redis, WalkOptions::new(None, OWN_STATE_LOOK_LIMIT)).await?;
    let mut foreign = 0;
    loop {
        let page = walker.next(Vec::new()).await?;
        foreign += page
            .keys
            .iter()
            .filter(|name| !name.starts_with(&own_prefix))
            .count() as u64;
        if page.end.is_some() {
            return Ok(foreign);
        }
    }
}

/// Runs until the task is aborted. Redis errors are skipped: the demo must not crash the app.
pub async fn run(redis: RedisTarget) {
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut ticks: u64 = 0;
    loop {
        tick.tick().await;
        ticks += 1;
        let step = DemoStep::random(ticks);
        let _ = redis
            .run(|mut connection| async move { step.apply(&mut connection).await })
            .await;
    }
}

/// What one 100 ms tick does.
struct DemoStep {
    reads: Vec<(String, u64)>,
    /// Keys deleted as the app does when data changes.
    invalidations: Vec<String>,
    /// Users making API requests this tick.
    requests: Vec<u32>,
    /// 429s the limiter answered this tick, per role (a burst every 10 s).
    rejections: Vec<(Role, u64)>,
    /// Now, for the per-minute keys.
    now: chrono::DateTime<chrono::Utc>,
}

impl DemoStep {
    fn random(tick: u64) -> Self {
        let mut rng = rand::rng();
        let reads = (0..20)
            .map(|_| {
                let (prefix, ids, ttl) = CACHED[rng.random_range(0..CACHED.len())];
                (format!("{prefix}{}", skewed_id(&mut rng, ids)), ttl)
            })
            .collect();
        // Every 5 s a burst of invalidations, like an owner editing shifts.
        let invalidations = if tick.is_multiple_of(50) {
            (0..10)
                .map(|_| format!("shift:{}", skewed_id(&mut rng, 1000)))
                .collect()
        } else {
            Vec::new()
        };
        // Users 1 and 2 are heavy (over their limits); the rest spread out.
        let requests = (0..8).map(|_| skewed_id(&mut rng, 40)).collect();
        let rejections = if tick == 1 || tick.is_multiple_of(100) {
            vec![
                (Role::Employee, rng.random_range(5..40)),
                (Role::Manager, rng.random_range(1..10)),
            ]
        } else {
            Vec::new()
        };
        Self {
            reads,
            invalidations,
            requests,
            rejections,
            now: chrono::Utc::now(),
        }
    }

    async fn apply(
        self,
        connection: &mut crate::server::redis::Connection,
    ) -> redis::RedisResult<()> {
        // Cache-aside: read, and on a miss "load from the database" and cache with the TTL.
        let mut gets = redis::pipe();
        for (key, _) in &self.reads {
            gets.cmd("GET").arg(key);
        }
        let cached: Vec<Option<String>> = gets.query_async(connection).await?;
        let mut writes = redis::pipe();
        // The app's own per-prefix counters (what the census' "hit rate (app counters)" reads).
        let hits_key = prefix_hits_key(&self.now);
        for ((key, _), value) in self.reads.iter().zip(&cached) {
            let group = key.split_once(':').map_or(key.as_str(), |(first, _)| first);
            let field = match value {
                Some(_) => format!("hit:{group}:"),
                None => format!("miss:{group}:"),
            };
            writes
                .cmd("HINCRBY")
                .arg(&hits_key)
                .arg(field)
                .arg(1)
                .ignore();
        }
        writes.cmd("EXPIRE").arg(&hits_key).arg(20 * 60).ignore();
        for (role, count) in &self.rejections {
            let key = rejection_key(*role, &self.now);
            writes.cmd("INCRBY").arg(&key).arg(*count).ignore();
            writes.cmd("EXPIRE").arg(&key).arg(3600).ignore();
        }
        for ((key, ttl), value) in self.reads.iter().zip(cached) {
            if value.is_none() {
                writes
                    .cmd("SET")
                    .arg(key)
                    .arg(demo_value(key))
                    .arg("EX")
                    .arg(ttl)
                    .ignore();
            }
        }
        for key in &self.invalidations {
            writes.cmd("UNLINK").arg(key).ignore();
        }
        // The production limiter's schema: INCR, then EXPIRE 60 on the first hit.
        for user in &self.requests {
            let key = format!("rate_limit:user:{user}");
            writes.cmd("INCR").arg(&key).ignore();
            writes.cmd("EXPIRE").arg(&key).arg(60).arg("NX").ignore();
        }
        writes.query_async::<()>(connection).await
    }
}

/// An id in 1..=range where low ids are far more likely (a steep power law, like real traffic).
fn skewed_id(rng: &mut impl Rng, range: u32) -> u32 {
    let skewed: f64 = rng.random::<f64>().powi(3);
    1 + ((skewed * f64::from(range)) as u32).min(range - 1)
}

/// A JSON value of production-like size (200-2000 bytes); `user:` values carry a role.
fn demo_value(key: &str) -> String {
    let id: u32 = key
        .rsplit(':')
        .next()
        .and_then(|id| id.parse().ok())
        .unwrap_or(0);
    let role = ROLES[id as usize % ROLES.len()];
    let padding = "x".repeat(150 + (id as usize * 37) % 1500);
    format!(
        r#"{{"id":{id},"role":"{role}","username":"demo{id}","first_name":"Демо","notes":"{padding}"}}"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skewed_ids_stay_in_range_and_favour_low_ids() {
        let mut rng = rand::rng();
        let ids: Vec<u32> = (0..10_000).map(|_| skewed_id(&mut rng, 40)).collect();
        assert!(ids.iter().all(|id| (1..=40).contains(id)));
        let low = ids.iter().filter(|id| **id <= 4).count();
        assert!(low > 4000, "ids 1-4 got {low} of 10000");
    }

    #[test]
    fn demo_values_are_json_of_production_size_with_a_role() {
        for key in ["user:1", "user:39", "shift:999"] {
            let value = demo_value(key);
            let json: serde_json::Value = serde_json::from_str(&value).unwrap();
            assert!(json["role"].is_string());
            assert!(
                (200..=2000).contains(&value.len()),
                "{key}: {}",
                value.len()
            );
        }
    }
}
