//! Key census on real Redis: exact counts and TTL figures per group, SCAN only, robust to odd
//! key names, concurrent writes, cancellation and Redis going away.

use std::time::Duration;

use tokio::time::Instant;

use cachepanel::model::census::{CensusOutcome, CensusReport, GroupKey, GroupReport};
use cachepanel::server::redis::process::RedisProcessOptions;

use crate::harness::{TestApp, fill_keys, redis_connection, start_app_with};

/// A production-shaped keyspace: JSON values of 200-2000 bytes; TTL 900 s for most, 300 s for
/// shifts, 3600 s for analytics; 1 % without TTL; two unknown prefixes; odd key names.
fn seed_production_like(url: &str) {
    let mut connection = redis_connection(url);
    let mut pipe = redis::pipe();
    let value = |i: usize| {
        format!(
            r#"{{"id":{i},"pad":"{}"}}"#,
            "x".repeat(180 + (i * 37) % 1800)
        )
    };
    for i in 0..1000 {
        pipe.cmd("SET")
            .arg(format!("user:{i}"))
            .arg(value(i))
            .arg("EX")
            .arg(900)
            .ignore();
    }
    for i in 0..500 {
        pipe.cmd("SET")
            .arg(format!("shift:{i}"))
            .arg(value(i))
            .arg("EX")
            .arg(300)
            .ignore();
    }
    for i in 0..100 {
        pipe.cmd("SET")
            .arg(format!("analytics:k{i}"))
            .arg(value(i))
            .arg("EX")
            .arg(3600)
            .ignore();
    }
    for i in 0..384 {
        pipe.cmd("SET")
            .arg(format!("object:{i}"))
            .arg(value(i))
            .arg("EX")
            .arg(900)
            .ignore();
    }
    // 1 % of the keyspace without TTL.
    for i in 0..20 {
        pipe.cmd("SET")
            .arg(format!("object:persistent:{i}"))
            .arg(value(i))
            .ignore();
    }
    for i in 0..50 {
        pipe.cmd("SET")
            .arg(format!("session:{i}"))
            .arg("s")
            .arg("EX")
            .arg(60)
            .ignore();
    }
    for i in 0..20 {
        pipe.cmd("HSET")
            .arg(format!("celery:task:{i}"))
            .arg("state")
            .arg("ok")
            .ignore();
    }
    pipe.cmd("SET")
        .arg(b"user:\xff\xfe\x00bin".as_slice())
        .arg("x")
        .arg("EX")
        .arg(900)
        .ignore();
    pipe.cmd("SET")
        .arg("user:*?[glob]\\")
        .arg("x")
        .arg("EX")
        .arg(900)
        .ignore();
    pipe.cmd("SET").arg("weird*[x]:1").arg("x").ignore();
    pipe.exec(&mut connection).unwrap();
}

fn full_ttl(config: &mut cachepanel::server::config::Config) {
    config.census.sample_every = 1;
}

pub async fn run_census(app: &TestApp) -> CensusReport {
    // The counts include the sampler's state key, written by its first sample.
    app.first_sample().await;
    let mut states = app.census.subscribe();
    app.census.start().await.unwrap();
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            states.changed().await.unwrap();
            let state = states.borrow().clone();
            if let (None, Some(report)) = (state.running, state.last) {
                return report;
            }
        }
    })
    .await
    .expect("census finished in time")
}

/// A running census holds its lease and its run record in Redis (`cachepanel:{cache}:census:…`),
/// beside the sampler's own key.
pub const OWN_KEYS_DURING_A_CENSUS: u64 = 2 + crate::harness::SAMPLER_STATE_KEYS;

fn group<'a>(report: &'a CensusReport, prefix: &str) -> &'a GroupReport {
    report
        .groups
        .iter()
        .find(|g| g.prefix == prefix)
        .unwrap_or_else(|| panic!("no group {prefix}"))
}

#[tokio::test]
async fn census_counts_every_group_exactly_with_ttl_buckets_and_no_ttl_keys() {
    let app = start_app_with(RedisProcessOptions::default(), full_ttl).await;
    seed_production_like(&app.redis.url());

    let report = run_census(&app).await;

    assert_eq!(report.outcome, CensusOutcome::Complete);
    assert_eq!(report.scanned_keys, 2077 + OWN_KEYS_DURING_A_CENSUS);
    assert_eq!(report.dbsize_at_start, 2077 + OWN_KEYS_DURING_A_CENSUS);
    // The census' own lease and run record and the sampler's count: counted, in cachepanel's
    // own state group.
    let own = group(&report, "cachepanel:");
    assert_eq!(own.keys, OWN_KEYS_DURING_A_CENSUS);
    assert!(matches!(own.key, GroupKey::Configured(_)));
    let users = group(&report, "user:");
    // 1000 plus the non-UTF-8 and the glob-named key: counted, not dropped.
    assert_eq!(users.keys, 1002);
    assert_eq!(users.ttl.buckets[2], 1002, "900 s TTLs are in 5-15m");
    assert_eq!(users.ttl.without_ttl, 0);
    assert!(users.samples.iter().all(|s| s.redis_type == "string"));
    let shifts = group(&report, "shift:");
    assert_eq!(
        (shifts.keys, shifts.ttl.buckets[1] + shifts.ttl.buckets[2]),
        (500, 500)
    );
    assert!(shifts.ttl.max_ms.is_some_and(|ms| ms <= 300_000));
    let analytics = group(&report, "analytics:");
    assert_eq!((analytics.keys, analytics.ttl.buckets[3]), (100, 100));
    let objects = group(&report, "object:");
    assert_eq!(
        (
            objects.keys,
            objects.ttl.without_ttl,
            objects.ttl.buckets[6]
        ),
        (404, 20, 20)
    );
    // Memory of a full inspection is exact (no margin) and plausible for 200-2000 B values.
    assert_eq!(objects.memory.margin_bytes, 0);
    assert!(objects.memory.estimated_bytes > 404 * 200);
    // Unknown prefixes become automatic groups by first segment.
    assert_eq!(group(&report, "session:").keys, 50);
    let celery = group(&report, "celery:");
    assert_eq!(
        (celery.keys, celery.types.clone()),
        (20, vec![("hash".to_owned(), 20)])
    );
    assert_eq!(group(&report, "weird*[x]:").keys, 1);
    assert!(matches!(group(&report, "session:").key, GroupKey::Auto(_)));
    // Metadata only: sample names, never values.
    let json = serde_json::to_string(&report).unwrap();
    assert!(!json.contains("\"pad\""));
}

#[tokio::test]
async fn a_full_census_lists_the_biggest_keys_largest_first_without_values() {
    let app = start_app_with(RedisProcessOptions::default(), full_ttl).await;
    seed_production_like(&app.redis.url());
    let mut connection = redis_connection(&app.redis.url());
    let secret = "value-nobody-may-see";
    let _: () = redis::cmd("SET")
        .arg("analytics:huge")
        .arg(secret.repeat(20_000))
        .arg("EX")
        .arg(900)
        .query(&mut connection)
        .unwrap();
    let big_hash: Vec<(String, String)> = (0..2000)
        .map(|i| (format!("f{i}"), secret.to_owned()))
        .collect();
    let _: () = redis::cmd("HSET")
        .arg("celery:big")
        .arg(&big_hash)
        .query(&mut connection)
        .unwrap();

    let report = run_census(&app).await;

    let biggest_keys = app.census.biggest_keys().expect("the census measured keys");
    assert_eq!(biggest_keys.census_started_at_ms, report.started_at_ms);
    assert_eq!(biggest_keys.sample_every, 1);
    let biggest = &biggest_keys.keys;
    assert_eq!(biggest.len(), cachepanel::model::census::BIGGEST_KEYS);
    let names: Vec<&str> = biggest.iter().take(2).map(|k| k.name.as_str()).collect();
    assert_eq!(names, ["analytics:huge", "celery:big"], "{biggest:?}");
    assert_eq!(biggest[0].redis_type, "string");
    assert!(biggest[0].ttl_ms > 0 && biggest[0].ttl_ms <= 900_000);
    assert_eq!(biggest[1].redis_type, "hash");
    assert_eq!(biggest[1].ttl_ms, -1);
    let sizes: Vec<u64> = biggest.iter().map(|k| k.memory_bytes.unwrap()).collect();
    assert!(sizes.windows(2).all(|pair| pair[0] >= pair[1]), "{sizes:?}");
    assert!(sizes[0] > 400_000, "{sizes:?}");
    let (_, diagnostics) = app.get_text("/api/diagnostics").await;
    assert!(diagnostics.contains("\"analytics:huge\""), "{diagnostics}");
    let (_, page) = app.get_text("/admin/cache/stats").await;
    assert!(page.contains("data-testid=\"biggest-keys\"") && page.contains("celery:big"));
    for text in [
        serde_json::to_string(&biggest_keys).unwrap(),
        diagnostics,
        page,
    ] {
        assert!(!text.contains(secret));
    }
}

#[tokio::test]
async fn census_never_sends_keys() {
    let app = start_app_with(RedisProcessOptions::default(), full_ttl).await;
    seed_production_like(&app.redis.url());
    run_census(&app).await;
    let mut connection = redis_connection(&app.redis.url());
    let stats: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(&mut connection)
        .unwrap();
    assert!(stats.contains("cmdstat_scan:"), "the census uses SCAN");
    assert!(!stats.contains("cmdstat_keys:"), "KEYS was sent: {stats}");
}

#[tokio::test]
async fn sampled_census_still_counts_exactly_and_estimates_memory_with_a_margin() {
    let app = start_app_with(RedisProcessOptions::default(), |config| {
        config.census.sample_every = 20;
    })
    .await;
    seed_production_like(&app.redis.url());
    let report = run_census(&app).await;
    let users = group(&report, "user:");
    assert_eq!(users.keys, 1002);
    assert!(
        users.ttl.inspected < 1002 && users.ttl.inspected >= 10,
        "{}",
        users.ttl.inspected
    );
    assert!(users.memory.margin_bytes > 0);
    assert_eq!(report.sample_every, 20);
}

#[tokio::test]
async fn concurrent_writes_during_a_census_do_not_break_it() {
    let app = start_app_with(RedisProcessOptions::default(), |config| {
        config.census.sample_every = 1;
        config.census.scan_count = 100;
        config.census.duty_cycle = 0.5;
    })
    .await;
    let url = app.redis.url();
    let mut connection = redis_connection(&url);
    let mut pipe = redis::pipe();
    for i in 0..20_000 {
        pipe.cmd("SET")
            .arg(format!("user:{i}"))
            .arg("v")
            .arg("EX")
            .arg(900)
            .ignore();
    }
    pipe.exec(&mut connection).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut connection = redis_connection(&url);
            let mut i = 0_u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _: redis::RedisResult<()> = redis::pipe()
                    .cmd("SET")
                    .arg(format!("shift:{i}"))
                    .arg("v")
                    .arg("EX")
                    .arg(1)
                    .ignore()
                    .cmd("DEL")
                    .arg(format!("user:{}", i % 20_000))
                    .ignore()
                    .query(&mut connection);
                i += 1;
            }
        })
    };
    let report = run_census(&app).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.join().unwrap();
    assert_eq!(report.outcome, CensusOutcome::Complete);
    assert!(report.scanned_keys > 0);
}

#[tokio::test]
async fn one_census_at_a_time_and_it_can_be_cancelled() {
    let app = start_app_with(RedisProcessOptions::default(), |config| {
        config.census.scan_count = 100;
        config.census.duty_cycle = 0.05;
    })
    .await;
    fill_keys(&app.redis.url(), "user:", 50_000);

    let mut states = app.census.subscribe();
    app.census.start().await.unwrap();
    assert!(
        app.census.start().await.is_err(),
        "a second census must be refused"
    );
    let response = app
        .http
        .post(format!("{}/api/census/start", app.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 409);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "conflict");

    // Cancel once it has made progress.
    loop {
        states.changed().await.unwrap();
        if states
            .borrow()
            .running
            .as_ref()
            .is_some_and(|p| p.scanned_keys > 0)
        {
            break;
        }
    }
    assert!(app.census.cancel().await.unwrap());
    let report = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            states.changed().await.unwrap();
            if let (None, Some(report)) = (&states.borrow().running, &states.borrow().last) {
                return report.clone();
            }
        }
    })
    .await
    .expect("the census stopped");
    assert_eq!(report.outcome, CensusOutcome::Cancelled);
    assert!(report.scanned_keys < 50_000);
    assert!(
        !app.census.cancel().await.unwrap(),
        "nothing left to cancel"
    );
}

#[tokio::test]
async fn redis_going_away_mid_census_fails_it_cleanly() {
    let mut app = start_app_with(RedisProcessOptions::default(), |config| {
        config.census.scan_count = 100;
        config.census.duty_cycle = 0.05;
    })
    .await;
    fill_keys(&app.redis.url(), "user:", 30_000);
    let mut states = app.census.subscribe();
    app.census.start().await.unwrap();
    loop {
        states.changed().await.unwrap();
        if states
            .borrow()
            .running
            .as_ref()
            .is_some_and(|p| p.scanned_keys > 0)
        {
            break;
        }
    }
    app.redis.stop();
    let report = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            states.changed().await.unwrap();
            if let (None, Some(report)) = (&states.borrow().running, &states.borrow().last) {
                return report.clone();
            }
        }
    })
    .await
    .expect("the census ended");
    assert!(
        matches!(report.outcome, CensusOutcome::Failed { .. }),
        "{:?}",
        report.outcome
    );
}

#[tokio::test]
async fn the_census_api_reports_progress_and_results() {
    let app = start_app_with(RedisProcessOptions::default(), full_ttl).await;
    seed_production_like(&app.redis.url());
    let response = app
        .http
        .post(format!("{}/api/census/start", app.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (status, json) = app.get_json("/api/census").await;
        assert_eq!(status, 200);
        if json["running"].is_null() && !json["last"].is_null() {
            assert_eq!(json["last"]["outcome"]["state"], "complete");
            assert_eq!(
                json["last"]["scanned_keys"],
                2077 + OWN_KEYS_DURING_A_CENSUS
            );
            break;
        }
        assert!(std::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn census_lookups_do_not_count_as_cache_traffic_in_the_windowed_hit_rate() {
    let app = start_app_with(RedisProcessOptions::default(), |config| {
        full_ttl(config);
        config.live.interval = Duration::from_millis(300);
    })
    .await;
    seed_production_like(&app.redis.url());
    app.snapshot_where(Duration::from_secs(5), |s| s.rates.is_some())
        .await;
    let before = app
        .live
        .latest()
        .stats
        .clone()
        .expect("stats")
        .keyspace_hits;

    run_census(&app).await;
    // Two more samples, so the census's lookups have fallen into a window.
    app.next_snapshot(Duration::from_secs(3)).await;
    let after = app.next_snapshot(Duration::from_secs(3)).await;

    // Redis counted thousands of hits (TYPE, PTTL, OBJECT per key) ...
    let raw_hits = crate::harness::raw_keyspace_hits(&app.redis.url());
    assert!(raw_hits - before >= 2 * 2077, "{before} -> {raw_hits}");
    // ... the lifetime figures shown leave them out ...
    let lifetime = after.stats.clone().expect("stats").keyspace_hits;
    assert_eq!(
        lifetime, before,
        "cachepanel's own lookups are not cache hits"
    );
    // ... but no window shows them as traffic: there was none.
    let history = app
        .live
        .history(cachepanel::model::live::HistoryRange::Minutes15);
    assert!(
        history.iter().all(|p| p.hit_rate_percent.is_none()),
        "{:?}",
        history
            .iter()
            .map(|p| p.hit_rate_percent)
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn per_prefix_hit_rates_come_from_the_documented_app_counters() {
    let app = start_app_with(RedisProcessOptions::default(), full_ttl).await;
    seed_production_like(&app.redis.url());
    let minute = chrono::Utc::now().format("%Y%m%d%H%M").to_string();
    let mut connection = redis_connection(&app.redis.url());
    redis::pipe()
        .cmd("HINCRBY")
        .arg(format!("cachepanel:hits:{minute}"))
        .arg("hit:user:")
        .arg(90)
        .ignore()
        .cmd("HINCRBY")
        .arg(format!("cachepanel:hits:{minute}"))
        .arg("miss:user:")
        .arg(10)
        .ignore()
        .exec(&mut connection)
        .unwrap();

    let report = run_census(&app).await;

    let users = group(&report, "user:")
        .app_lookups
        .expect("app counters for user:");
    assert_eq!((users.hits, users.misses), (90, 10));
    assert_eq!(users.hit_rate_percent(), Some(90.0));
    assert_eq!(group(&report, "shift:").app_lookups, None);
}

#[tokio::test]
async fn under_an_lfu_policy_hotness_comes_from_object_freq() {
    let app = start_app_with(
        RedisProcessOptions {
            maxmemory_policy: Some("allkeys-lfu".into()),
            ..Default::default()
        },
        full_ttl,
    )
    .await;
    let mut connection = redis_connection(&app.redis.url());
    let mut pipe = redis::pipe();
    for i in 0..20 {
        pipe.cmd("SET").arg(format!("user:{i}")).arg("v").ignore();
    }
    // user:0..4 are read often: their LFU counters climb past the "frequently used" mark.
    // The climb is random (lfu-log-factor 10: ~105 reads on average from 5 to 10, with a long
    // tail); 300 reads once left a key short on a clean-clone CI run.
    for _ in 0..1500 {
        for i in 0..5 {
            pipe.cmd("GET").arg(format!("user:{i}")).ignore();
        }
    }
    pipe.exec(&mut connection).unwrap();

    let report = run_census(&app).await;

    let hotness = &group(&report, "user:").hotness;
    assert_eq!(
        hotness.policy_kind,
        cachepanel::model::census::HotnessKind::Lfu
    );
    assert_eq!(hotness.sampled_keys, 20);
    assert_eq!(hotness.frequently_used, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_census_of_a_million_keys_reaches_each_stream_at_most_four_times_a_second() {
    let app = start_app_with(
        RedisProcessOptions {
            debug_command: true,
            ..Default::default()
        },
        |_| {},
    )
    .await;
    let mut connection = redis_connection(&app.redis.url());
    redis::cmd("DEBUG")
        .arg("POPULATE")
        .arg(1_000_000)
        .arg("object:")
        .exec(&mut connection)
        .unwrap();
    // Longer than the client's default 10 s: a debug build walks a million keys slowly.
    let mut stream = app
        .http
        .get(format!("{}/api/live/events", app.base_url))
        .timeout(Duration::from_secs(180))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status().as_u16(), 200);
    let started = Instant::now();
    app.census.start().await.unwrap();

    // Every census event, with when it arrived, until the final one (no census running).
    let mut arrivals: Vec<(Duration, serde_json::Value)> = Vec::new();
    let mut buffer = String::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    'stream: while Instant::now() < deadline {
        let chunk = tokio::time::timeout(Duration::from_secs(20), stream.chunk())
            .await
            .expect("events keep coming")
            .unwrap()
            .expect("stream open");
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let event: String = buffer.drain(..end + 2).collect();
            if !event.contains("event: census") {
                continue;
            }
            let data = event
                .lines()
                .find_map(|line| line.strip_prefix("data: "))
                .expect("a data line");
            let state: serde_json::Value = serde_json::from_str(data).unwrap();
            let finished = state["running"].is_null() && !state["last"].is_null();
            arrivals.push((started.elapsed(), state));
            if finished {
                break 'stream;
            }
        }
    }
    let (elapsed, last) = arrivals.last().cloned().expect("census events");
    assert!(last["running"].is_null(), "the final state arrived");
    assert_eq!(last["last"]["outcome"]["state"], "complete", "{last}");
    assert_eq!(
        last["last"]["scanned_keys"],
        1_000_000 + OWN_KEYS_DURING_A_CENSUS
    );
    // The first event is the state at subscription; then at most one per 250 ms.
    let allowed = 1 + (elapsed.as_secs_f64() * 4.0).ceil() as usize + 1;
    assert!(
        arrivals.len() <= allowed,
        "{} census events in {elapsed:?} (at most {allowed})",
        arrivals.len()
    );
    assert!(
        arrivals.len() >= 3 || elapsed < Duration::from_millis(750),
        "progress is still shown while it runs: {} events in {elapsed:?}",
        arrivals.len()
    );
}
