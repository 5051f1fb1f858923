//! The limiter and the counters view on real Redis, with the production key schema.

use std::time::Duration;

use cachepanel::model::rate_limit::{Role, RoleLimits, Subject};
use cachepanel::server::config::RedisUrl;
use cachepanel::server::rate_limit::{Limiter, RoleLookup};
use cachepanel::server::redis::process::RedisProcessOptions;
use cachepanel::server::redis::{RedisTarget, Timeouts};

use crate::harness::{redis_connection, start_app, start_app_with, start_redis};

fn limiter(url: &str, limits: RoleLimits) -> Limiter {
    let timeouts = Timeouts {
        connect: Duration::from_secs(1),
        response: Duration::from_secs(1),
    };
    let redis = RedisTarget::new("cache", &RedisUrl::parse(url).unwrap(), timeouts).unwrap();
    Limiter::new(redis, limits, true)
}

#[tokio::test]
async fn exactly_the_limit_passes_out_of_100_concurrent_requests() {
    let redis = start_redis(RedisProcessOptions::default());
    let limiter = limiter(
        &redis.url(),
        RoleLimits {
            employee: 5,
            ..Default::default()
        },
    );
    let subject = Subject::User("42".into());
    let decisions = futures_join_all((0..100).map(|_| {
        let limiter = limiter.clone();
        let subject = subject.clone();
        tokio::spawn(async move { limiter.decide(&subject, Role::Employee).await })
    }))
    .await;
    let allowed = decisions.iter().filter(|d| d.allowed).count();
    assert_eq!(allowed, 5);
    assert!(decisions.iter().all(|d| !d.degraded && d.limit == 5));
    assert!(
        decisions
            .iter()
            .all(|d| (1..=60).contains(&d.reset_seconds))
    );

    let mut connection = redis_connection(&redis.url());
    let ttl: i64 = redis::cmd("TTL")
        .arg("rate_limit:user:42")
        .query(&mut connection)
        .unwrap();
    assert!(
        (1..=60).contains(&ttl),
        "the counter has its window TTL: {ttl}"
    );
    // 95 rejections counted for the role in this minute.
    let minute = chrono::Utc::now().format("%Y%m%d%H%M").to_string();
    let rejected: Option<u64> = redis::cmd("GET")
        .arg(format!("rate_limit:stats:rejected:employee:{minute}"))
        .query(&mut connection)
        .unwrap();
    assert!(rejected.is_some_and(|r| r <= 95 && r > 0), "{rejected:?}");
}

#[tokio::test]
async fn exactly_the_limit_passes_when_100_requests_straddle_a_window_boundary() {
    let redis = start_redis(RedisProcessOptions::default());
    let mut connection = redis_connection(&redis.url());
    // The current window is used up and ends in 300 ms; requests arrive over ~600 ms, so the
    // boundary falls mid-stream even on a slow, busy machine.
    redis::cmd("SET")
        .arg("rate_limit:user:42")
        .arg(5)
        .arg("PX")
        .arg(300)
        .exec(&mut connection)
        .unwrap();
    let limiter = limiter(
        &redis.url(),
        RoleLimits {
            employee: 5,
            ..Default::default()
        },
    );
    let subject = Subject::User("42".into());
    let decisions = futures_join_all((0..100_u64).map(|i| {
        let limiter = limiter.clone();
        let subject = subject.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(6 * i)).await;
            limiter.decide(&subject, Role::Employee).await
        })
    }))
    .await;

    let allowed = decisions.iter().filter(|d| d.allowed).count();
    assert_eq!(allowed, 5, "the new window admits exactly its limit");
    let in_new_window: u64 = redis::cmd("GET")
        .arg("rate_limit:user:42")
        .query(&mut connection)
        .unwrap();
    assert!(
        (5..100).contains(&in_new_window),
        "requests fell on both sides of the boundary: {in_new_window} in the new window"
    );
    let ttl: i64 = redis::cmd("TTL")
        .arg("rate_limit:user:42")
        .query(&mut connection)
        .unwrap();
    assert!((1..=60).contains(&ttl), "the new window has a TTL: {ttl}");
}

async fn futures_join_all<T: Send + 'static>(
    tasks: impl Iterator<Item = tokio::task::JoinHandle<T>>,
) -> Vec<T> {
    let mut results = Vec::new();
    for task in tasks.collect::<Vec<_>>() {
        results.push(task.await.unwrap());
    }
    results
}

#[tokio::test]
async fn the_counters_view_finds_roles_through_a_configured_lookup() {
    let app = start_app_with(RedisProcessOptions::default(), |config| {
        config.rate_limit.role_lookup = RoleLookup::parse("profile:{id}#account.role").unwrap();
    })
    .await;
    let mut connection = redis_connection(&app.redis.url());
    redis::pipe()
        .cmd("SET")
        .arg("rate_limit:user:8")
        .arg(12)
        .arg("EX")
        .arg(60)
        .ignore()
        .cmd("SET")
        .arg("profile:8")
        .arg(r#"{"account":{"role":"moderator"}}"#)
        .ignore()
        // The default location says otherwise and must not be read.
        .cmd("SET")
        .arg("user:8")
        .arg(r#"{"role":"employee"}"#)
        .ignore()
        .exec(&mut connection)
        .unwrap();

    let (status, report) = app.fresh_rate_limits().await;

    assert_eq!(status, 200, "{report}");
    assert_eq!(report["top"][0]["key"], "rate_limit:user:8");
    assert_eq!(report["top"][0]["role"], "moderator");
    assert_eq!(report["top"][0]["limit"], 200);
}

#[tokio::test]
async fn a_counter_left_without_ttl_by_a_crash_gets_one_on_the_next_request() {
    let redis = start_redis(RedisProcessOptions::default());
    let mut connection = redis_connection(&redis.url());
    // The production limiter's failure: INCR happened, the process died before EXPIRE.
    redis::cmd("SET")
        .arg("rate_limit:user:7")
        .arg(3)
        .exec(&mut connection)
        .unwrap();
    let limiter = limiter(&redis.url(), RoleLimits::default());
    let decision = limiter
        .decide(&Subject::User("7".into()), Role::Owner)
        .await;
    assert_eq!((decision.count, decision.allowed), (4, true));
    let ttl: i64 = redis::cmd("TTL")
        .arg("rate_limit:user:7")
        .query(&mut connection)
        .unwrap();
    assert!((1..=60).contains(&ttl), "{ttl}");
}

#[tokio::test]
async fn the_limiter_fails_open_when_redis_is_down() {
    let mut redis = start_redis(RedisProcessOptions::default());
    let url = redis.url();
    redis.stop();
    let decision = limiter(&url, RoleLimits::default())
        .decide(&Subject::Ip("10.0.0.1".into()), Role::Guest)
        .await;
    assert!(decision.allowed && decision.degraded);
}

#[tokio::test]
async fn the_counters_view_reads_production_counters_with_roles_and_warnings() {
    let app = start_app().await;
    let mut connection = redis_connection(&app.redis.url());
    // Written the production way (INCR, then EXPIRE from a separate call) by another client.
    let mut incr = |key: &str, times: u64, expire: bool| {
        for _ in 0..times {
            redis::cmd("INCR").arg(key).exec(&mut connection).unwrap();
        }
        if expire {
            redis::cmd("EXPIRE")
                .arg(key)
                .arg(60)
                .exec(&mut connection)
                .unwrap();
        }
    };
    incr("rate_limit:user:1", 160, true); // manager over 150
    incr("rate_limit:user:2", 85, true); // employee near 100
    incr("rate_limit:user:3", 5, false); // stuck: no TTL
    incr("rate_limit:user:404", 7, true); // no cached user: unknown role
    incr("rate_limit:ip:10.0.0.9", 900, true); // most of the traffic
    let mut connection = redis_connection(&app.redis.url());
    for (id, role) in [(1, "manager"), (2, "employee"), (3, "owner")] {
        redis::cmd("SET")
            .arg(format!("user:{id}"))
            .arg(format!(r#"{{"id":{id},"role":"{role}"}}"#))
            .exec(&mut connection)
            .unwrap();
    }
    // Statistics: an old minute (outside the chart) and the current one.
    let minute = chrono::Utc::now().format("%Y%m%d%H%M").to_string();
    redis::pipe()
        .cmd("SET")
        .arg("rate_limit:stats:rejected:guest:202601010000")
        .arg(3)
        .ignore()
        .cmd("SET")
        .arg(format!("rate_limit:stats:rejected:manager:{minute}"))
        .arg(4)
        .ignore()
        .exec(&mut connection)
        .unwrap();

    let (status, report) = app.fresh_rate_limits().await;

    assert_eq!(status, 200, "{report}");
    assert_eq!(report["counters"], 5, "statistics keys are not counters");
    assert_eq!(report["total_requests"], 160 + 85 + 5 + 7 + 900);
    let row = |key: &str| {
        report["top"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["key"] == key)
            .cloned()
            .unwrap()
    };
    assert_eq!(row("rate_limit:user:1")["role"], "manager");
    assert!(
        row("rate_limit:user:1")["percent_of_limit"]
            .as_f64()
            .is_some_and(|p| p > 100.0)
    );
    assert_eq!(row("rate_limit:user:404")["role"], "unknown");
    assert_eq!(row("rate_limit:ip:10.0.0.9")["role"], "guest");
    assert_eq!(
        report["top"][0]["key"], "rate_limit:ip:10.0.0.9",
        "highest count first"
    );
    assert_eq!(report["over_limit"], 2, "user 1 and the IP");
    assert_eq!(report["near_limit"], 1);
    assert_eq!(
        report["without_ttl"],
        serde_json::json!(["rate_limit:user:3"])
    );
    assert_eq!(report["dominant_ip"]["key"], "rate_limit:ip:10.0.0.9");
    let rejections = report["rejections"].as_array().unwrap();
    assert_eq!(rejections.len(), 30);
    let total: u64 = rejections
        .iter()
        .flat_map(|m| m["per_role"].as_array().unwrap().iter())
        .filter_map(|v| v.as_u64())
        .sum();
    assert_eq!(
        total, 4,
        "only the current minute's 4 manager rejections are in the chart"
    );

    // Reset: the counter goes, an audit entry is written; anything but a counter is refused.
    let response = app
        .http
        .post(format!("{}/api/rate-limits/reset", app.base_url))
        .form(&[("key", "rate_limit:user:3")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let exists: bool = redis::cmd("EXISTS")
        .arg("rate_limit:user:3")
        .query(&mut connection)
        .unwrap();
    assert!(!exists);
    let response = app
        .http
        .post(format!("{}/api/rate-limits/reset", app.base_url))
        .form(&[("key", "user:1")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let (_, audit) = app.get_json("/api/audit").await;
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "reset_rate_limit" && e["prefix"] == "rate_limit:user:3")
    );
    let stats: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(&mut connection)
        .unwrap();
    assert!(!stats.contains("cmdstat_keys:"));
}

#[tokio::test]
async fn pages_and_the_api_answer_429_with_rate_limit_headers_over_the_callers_role_limit() {
    let app = start_app_with(RedisProcessOptions::default(), |config| {
        config.rate_limit.enabled = true;
        config.rate_limit.limits.superadmin = 3;
    })
    .await;
    for expected_remaining in [2, 1, 0] {
        let response = app.get("/api/stats").await;
        assert_eq!(response.status().as_u16(), 200);
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        assert_eq!(header("ratelimit-limit").as_deref(), Some("3"));
        assert_eq!(
            header("ratelimit-remaining"),
            Some(expected_remaining.to_string())
        );
    }
    let response = app.get("/admin/cache/stats").await;
    assert_eq!(response.status().as_u16(), 429);
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
    };
    let retry_after = header("retry-after").expect("Retry-After");
    assert!((1..=60).contains(&retry_after));
    assert_eq!(header("ratelimit-reset"), Some(retry_after));
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "rate_limited");
    // The real TTL of the production counter of this user (the harness signs in as user 1).
    let mut connection = redis_connection(&app.redis.url());
    let ttl: i64 = redis::cmd("TTL")
        .arg("rate_limit:user:1")
        .query(&mut connection)
        .unwrap();
    assert!(
        (ttl - retry_after as i64).abs() <= 1,
        "ttl {ttl}, retry-after {retry_after}"
    );
    // Health checks and static assets are never limited.
    assert_eq!(app.get("/healthz").await.status().as_u16(), 200);
    assert_ne!(app.get("/pkg/cachepanel.css").await.status().as_u16(), 429);
}

#[tokio::test]
async fn the_api_stays_up_when_the_limiter_cannot_reach_redis() {
    let mut app = start_app_with(RedisProcessOptions::default(), |config| {
        config.rate_limit.enabled = true;
        config.rate_limit.limits.superadmin = 3;
    })
    .await;
    app.redis.stop();
    app.sample_unavailable().await;
    for _ in 0..5 {
        let (status, json) = app.get_json("/api/stats").await;
        assert_eq!(
            (status, json["status"].as_str()),
            (200, Some("unavailable"))
        );
    }
}

#[tokio::test]
async fn the_limiters_own_lookups_never_show_as_cache_traffic() {
    let app = start_app_with(RedisProcessOptions::default(), |config| {
        config.rate_limit.enabled = true;
    })
    .await;
    let mut connection = redis_connection(&app.redis.url());
    redis::cmd("SET")
        .arg("user:1")
        .arg("{}")
        .exec(&mut connection)
        .unwrap();
    for _ in 0..3 {
        let _: Option<String> = redis::cmd("GET")
            .arg("user:1")
            .query(&mut connection)
            .unwrap();
    }
    let _: Option<String> = redis::cmd("GET")
        .arg("user:404")
        .query(&mut connection)
        .unwrap();
    // Every request below is a limiter decision whose script reads the counter's TTL.
    for _ in 0..20 {
        assert_eq!(app.get("/api/rate-limits").await.status().as_u16(), 200);
    }
    app.sample_after_now().await;
    let (status, stats) = app.get_json("/api/stats").await;
    assert_eq!(status, 200);
    assert_eq!(stats["stats"]["keyspace_hits"], 3, "{stats}");
    assert_eq!(stats["stats"]["keyspace_misses"], 1);
    let raw_hits = crate::harness::raw_keyspace_hits(&app.redis.url());
    assert!(
        raw_hits > 3,
        "Redis itself counted the limiter's reads: {raw_hits}"
    );
}
