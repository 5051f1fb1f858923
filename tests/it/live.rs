//! Live stats: one sampler per Redis, windowed rates, resets, degradation, the event stream.

use std::time::{Duration, Instant};

use cachepanel::model::live::LiveStatus;
use cachepanel::server::redis::process::RedisProcessOptions;

use crate::harness::{fast_sampling, redis_connection, start_app_with};

fn lookups(url: &str, hits: usize, misses: usize) {
    let mut connection = redis_connection(url);
    redis::cmd("SET")
        .arg("user:1")
        .arg("{}")
        .exec(&mut connection)
        .unwrap();
    let mut pipe = redis::pipe();
    for _ in 0..hits {
        pipe.cmd("GET").arg("user:1");
    }
    for _ in 0..misses {
        pipe.cmd("GET").arg("user:missing");
    }
    pipe.exec(&mut connection).unwrap();
}

fn is_up(snapshot: &cachepanel::model::live::LiveSnapshot) -> bool {
    snapshot.status == LiveStatus::Up
}

#[tokio::test]
async fn windowed_hit_rate_matches_a_known_workload() {
    let app = start_app_with(RedisProcessOptions::default(), |config| {
        config.live.interval = Duration::from_millis(1000);
    })
    .await;
    // Wait for a sample that has rates, then run the workload right after it.
    app.snapshot_where(Duration::from_secs(5), |s| s.rates.is_some())
        .await;
    lookups(&app.redis.url(), 900, 100);

    let snapshot = app.next_snapshot(Duration::from_secs(3)).await;

    let rates = snapshot.rates.expect("rates after the workload");
    let hit_rate = rates
        .hit_rate_percent
        .expect("lookups happened in the window");
    assert!(
        (hit_rate - 90.0).abs() <= 1.0,
        "windowed hit rate {hit_rate}"
    );
    let stats = snapshot.stats.clone().expect("stats");
    assert_eq!((stats.keyspace_hits, stats.keyspace_misses), (900, 100));
    assert!(rates.ops_per_sec > 0.0);
}

#[tokio::test]
async fn a_redis_restart_never_shows_a_negative_or_spiking_rate() {
    let mut app = start_app_with(RedisProcessOptions::default(), fast_sampling).await;
    lookups(&app.redis.url(), 5000, 0);
    app.snapshot_where(Duration::from_secs(5), |s| s.rates.is_some())
        .await;

    app.redis.restart().unwrap();
    lookups(&app.redis.url(), 10, 10);
    // Collect samples across the restart until two consecutive ones have rates again.
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(8);
    while Instant::now() < deadline {
        let snapshot = app.next_snapshot(Duration::from_secs(3)).await;
        seen.push(snapshot.clone());
        let recovered = seen
            .iter()
            .rev()
            .take(2)
            .filter(|s| s.rates.is_some())
            .count()
            == 2
            && snapshot
                .stats
                .as_ref()
                .is_some_and(|s| s.keyspace_hits < 5000);
        if recovered {
            break;
        }
    }
    assert!(
        seen.iter()
            .any(|s| is_up(s) && s.stats.as_ref().is_some_and(|s| s.keyspace_hits < 5000))
    );
    for snapshot in &seen {
        if let Some(rates) = snapshot.rates {
            for value in [
                rates.ops_per_sec,
                rates.hits_per_sec,
                rates.misses_per_sec,
                rates.evicted_per_sec,
            ] {
                assert!(value >= 0.0, "negative rate {value}");
                // 5000 lookups before the restart must not reappear as a burst after it.
                assert!(value < 2000.0, "spike {value}");
            }
            if let Some(hit_rate) = rates.hit_rate_percent {
                assert!((0.0..=100.0).contains(&hit_rate));
            }
        }
    }
}

#[tokio::test]
async fn a_stalled_redis_answers_within_one_and_a_half_seconds_with_a_clear_state() {
    let app = start_app_with(
        RedisProcessOptions {
            debug_command: true,
            ..Default::default()
        },
        fast_sampling,
    )
    .await;
    app.snapshot_where(Duration::from_secs(5), is_up).await;
    let url = app.redis.url();
    let sleeper = std::thread::spawn(move || {
        let mut connection = redis_connection(&url);
        let _: redis::RedisResult<()> = redis::cmd("DEBUG")
            .arg("SLEEP")
            .arg(3)
            .query(&mut connection);
    });
    tokio::time::sleep(Duration::from_millis(100)).await;

    // The request answers at once (it reads the sampler's memory, never Redis) …
    let started = Instant::now();
    let (status, _) = app.get_json("/api/stats").await;
    assert_eq!(status, 200);
    assert!(
        started.elapsed() < Duration::from_millis(300),
        "took {:?}",
        started.elapsed()
    );
    // … and the state turns to "timed out" after one sample interval plus the bounded read.
    app.sample_unavailable().await;
    let (status, json) = app.get_json("/api/stats").await;
    let elapsed = started.elapsed();
    assert_eq!(status, 200);
    assert_eq!(json["status"], "unavailable");
    assert_eq!(json["reason"], "timed out");
    assert!(elapsed < Duration::from_millis(2000), "took {elapsed:?}");

    // The sampler reports it too, keeping the last known figures.
    let snapshot = app
        .snapshot_where(Duration::from_secs(3), |s| {
            matches!(s.status, LiveStatus::Unavailable { .. })
        })
        .await;
    assert!(snapshot.stats.is_some(), "last known stats are kept");
    let (status, _) = app.get_text("/admin/cache/stats").await;
    assert_eq!(status, 200);
    let _ = sleeper.join();
}

#[tokio::test]
async fn the_sampler_recovers_within_five_seconds_of_redis_returning() {
    let mut app = start_app_with(RedisProcessOptions::default(), fast_sampling).await;
    app.snapshot_where(Duration::from_secs(5), is_up).await;

    app.redis.stop();
    let down = app
        .snapshot_where(Duration::from_secs(5), |s| {
            matches!(s.status, LiveStatus::Unavailable { .. })
        })
        .await;
    assert!(down.stats.is_some());
    let (_, html) = app.get_text("/admin/cache/stats").await;
    assert!(html.contains("data-testid=\"live-unavailable\""));

    app.redis.restart().unwrap();
    let back = Instant::now();
    app.snapshot_where(Duration::from_secs(5), is_up).await;
    assert!(back.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn configuration_is_compared_with_the_expected_profile() {
    let app = start_app_with(
        RedisProcessOptions {
            maxmemory: Some("512mb".into()),
            maxmemory_policy: Some("allkeys-lru".into()),
            ..Default::default()
        },
        fast_sampling,
    )
    .await;
    let snapshot = app
        .snapshot_where(Duration::from_secs(5), |s| s.config.is_some())
        .await;
    let config = snapshot.config.clone().unwrap();
    assert_eq!(config.maxmemory_bytes, Some(512 << 20));
    assert_eq!(config.password_required, Some(false));
    assert_eq!(config.save_rules.as_deref(), Some(""));
    use cachepanel::model::redis_config::ConfigField::*;
    assert_eq!(
        snapshot.config_mismatches,
        vec![RdbSave, Appendonly, PasswordRequired]
    );
}

#[tokio::test]
async fn a_forbidden_config_command_leaves_those_fields_unavailable_and_sampling_working() {
    let app = start_app_with(
        RedisProcessOptions {
            extra_args: vec!["--rename-command".into(), "CONFIG".into(), String::new()],
            ..Default::default()
        },
        fast_sampling,
    )
    .await;
    let snapshot = app
        .snapshot_where(Duration::from_secs(5), |s| s.config.is_some())
        .await;
    let config = snapshot.config.clone().unwrap();
    assert!(is_up(&snapshot));
    assert_eq!(config.save_rules, None);
    assert_eq!(config.password_required, None);
    assert!(
        config.maxmemory_bytes.is_some(),
        "INFO-backed fields stay available"
    );
}

#[tokio::test]
async fn the_event_stream_pushes_snapshots_as_json() {
    let app = start_app_with(RedisProcessOptions::default(), fast_sampling).await;
    let mut response = app.get("/api/live/events").await;
    assert_eq!(response.status().as_u16(), 200);
    assert!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"))
    );
    let mut body = String::new();
    while body.matches("event: snapshot").count() < 2 {
        let chunk = tokio::time::timeout(Duration::from_secs(3), response.chunk())
            .await
            .expect("a chunk in time")
            .unwrap()
            .expect("stream open");
        body.push_str(&String::from_utf8_lossy(&chunk));
    }
    let data = body
        .lines()
        .rev()
        .find_map(|line| line.strip_prefix("data: "))
        .expect("a data line");
    let snapshot: serde_json::Value = serde_json::from_str(data).unwrap();
    assert_eq!(snapshot["target"], "cache");
}

#[tokio::test]
async fn many_stream_subscribers_add_no_redis_commands() {
    let app = start_app_with(RedisProcessOptions::default(), fast_sampling).await;
    let mut connection = redis_connection(&app.redis.url());
    let info_calls = |connection: &mut redis::Connection| -> u64 {
        let stats: String = redis::cmd("INFO")
            .arg("commandstats")
            .query(connection)
            .unwrap();
        stats
            .lines()
            .find_map(|line| line.strip_prefix("cmdstat_info:calls="))
            .and_then(|rest| rest.split(',').next())
            .and_then(|calls| calls.parse().ok())
            .unwrap_or(0)
    };
    let mut streams = Vec::new();
    for _ in 0..50 {
        streams.push(app.get("/api/live/events").await);
    }
    let before = info_calls(&mut connection);
    let started = Instant::now();
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let after = info_calls(&mut connection);
    let elapsed_samples = started.elapsed().as_millis() as u64 / 250;
    // One INFO per sample (+1 for our own INFO commandstats call), whatever the subscribers.
    assert!(
        after - before <= elapsed_samples + 2,
        "{} INFO calls in {elapsed_samples} intervals",
        after - before
    );
    drop(streams);
}

#[tokio::test]
async fn history_ranges_are_served_by_fixed_endpoints() {
    let app = start_app_with(RedisProcessOptions::default(), fast_sampling).await;
    app.snapshot_where(Duration::from_secs(5), |s| s.rates.is_some())
        .await;
    let (status, json) = app.get_json("/api/history?range=15m").await;
    assert_eq!(status, 200);
    assert!(json.as_array().is_some_and(|points| points.len() >= 2));
    let (status, json) = app.get_json("/api/history?range=24h").await;
    assert_eq!(status, 200);
    assert!(json.as_array().is_some_and(|minutes| !minutes.is_empty()));
    let (status, _) = app.get_json("/api/history?range=7d").await;
    assert_eq!(status, 400);
    let (status, json) = app.get_json("/api/live/snapshot").await;
    assert_eq!(status, 200);
    assert_eq!(json["status"]["state"], "up");
}

#[tokio::test]
async fn the_charts_minutes_are_kept_in_redis_and_restored_by_the_next_run() {
    use cachepanel::server::live::history::History;

    let keep = |config: &mut cachepanel::server::config::Config| {
        fast_sampling(config);
        config.live.keep_history = true;
    };
    let first = start_app_with(RedisProcessOptions::default(), keep).await;
    let url = first.redis.url();
    // A run that sampled a few hours ago: three minutes, as the sampler writes them.
    let now = chrono::Utc::now().timestamp_millis();
    let minute_ms = 60_000;
    let mut earlier = History::new(2000);
    let mut closed = Vec::new();
    for minute in (0..4).map(|i| now - (180 - i) * minute_ms) {
        let start = minute - minute.rem_euclid(minute_ms);
        let point = cachepanel::model::live::Point {
            at_ms: start,
            hit_rate_percent: Some(75.0),
            used_memory_bytes: 1234,
            ..Default::default()
        };
        closed.extend(earlier.push(point));
    }
    assert_eq!(closed.len(), 3);
    let key = "cachepanel:{cache}:history";
    let mut connection = redis_connection(&url);
    for minute in &closed {
        let _: () = redis::cmd("ZADD")
            .arg(key)
            .arg(minute.minute_start_ms)
            .arg(minute.encode())
            .query(&mut connection)
            .unwrap();
    }
    // One more written by this run when its first minute closes (at most a minute away).
    let deadline = Instant::now() + Duration::from_secs(70);
    loop {
        let kept: u64 = redis::cmd("ZCARD").arg(key).query(&mut connection).unwrap();
        if kept >= 4 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no minute written by the sampler"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let ttl: i64 = redis::cmd("PTTL").arg(key).query(&mut connection).unwrap();
    assert!(
        ttl > 2 * 24 * 3_600_000,
        "kept a few days after the last write: {ttl}"
    );

    // The next run on the same Redis starts with those minutes in its 24 h chart.
    let same_redis = cachepanel::server::config::RedisUrl::parse(&url).unwrap();
    let second = start_app_with(RedisProcessOptions::default(), move |config| {
        keep(config);
        config.redis.url = Some(same_redis);
    })
    .await;
    // The sampler restores before its first sample.
    second.sample_after_now().await;
    let (status, json) = second.get_json("/api/history?range=24h").await;
    assert_eq!(status, 200);
    let points = json.as_array().unwrap();
    for minute in &closed {
        assert!(
            points
                .iter()
                .any(|p| p["at_ms"] == minute.minute_start_ms && p["hit_rate_percent"] == 75.0),
            "minute {} restored: {json}",
            minute.minute_start_ms
        );
    }
    // The minute the first run wrote is there too.
    assert!(points.len() >= 4, "{json}");
}
