//! Redis pays once, not per viewer: pages, API reads and event streams send no keyspace walk;
//! the counters come from one shared reader, whose refresh is shared too.

use std::time::Duration;

use cachepanel::server::config::Config;
use cachepanel::server::redis::process::RedisProcessOptions;

use crate::harness::{
    TestApp, all_command_calls, command_calls, fill_keys, redis_connection, start_app_with,
};

const KEYS: u64 = 100_000;

fn seed(app: &TestApp) {
    fill_keys(&app.redis.url(), "object:", KEYS);
    let mut connection = redis_connection(&app.redis.url());
    for id in 0..20 {
        redis::cmd("SET")
            .arg(format!("rate_limit:user:{id}"))
            .arg(id + 1)
            .arg("EX")
            .arg(60)
            .exec(&mut connection)
            .unwrap();
    }
}

/// Waits until the reader has published at least `walks` walks.
async fn wait_for_walks(app: &TestApp, walks: u64) {
    let mut published = app.counters.subscribe();
    tokio::time::timeout(
        Duration::from_secs(20),
        published.wait_for(|published| published.walks >= walks),
    )
    .await
    .expect("the reader walks")
    .unwrap();
}

async fn open_streams(app: &TestApp, count: usize) -> Vec<reqwest::Response> {
    let mut streams = Vec::new();
    for _ in 0..count {
        let mut stream = app.get("/api/live/events").await;
        assert_eq!(stream.status().as_u16(), 200);
        // The first event has arrived: the stream is really open.
        tokio::time::timeout(Duration::from_secs(5), stream.chunk())
            .await
            .expect("a first event")
            .unwrap();
        streams.push(stream);
    }
    streams
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_api_reads_and_event_streams_between_two_walks_send_no_scan() {
    let app = start_app_with(RedisProcessOptions::default(), |config: &mut Config| {
        // One walk at start, the next one long after this test.
        config.rate_limit.scan_every = Duration::from_secs(3600);
    })
    .await;
    seed(&app);
    let (status, first) = app.fresh_rate_limits().await;
    assert_eq!(status, 200);
    assert_eq!(first["counters"], 20);
    let url = app.redis.url();
    let scans_before = command_calls(&url, "scan");
    assert!(scans_before >= KEYS / 1000, "the walk itself used SCAN");

    let streams = open_streams(&app, 50).await;
    for _ in 0..100 {
        let (status, page) = app.get_text("/admin/cache/stats").await;
        assert_eq!(status, 200);
        assert!(
            page.contains("data-testid=\"limits-table\""),
            "the counters are on the page"
        );
    }
    for _ in 0..100 {
        let (status, report) = app.get_json("/api/rate-limits").await;
        assert_eq!(status, 200);
        assert_eq!(report["counters"], 20);
        assert_eq!(
            report["read_at_ms"], first["read_at_ms"],
            "the same walk, from memory"
        );
    }
    let (status, _) = app.get_text("/metrics").await;
    assert_eq!(status, 200);

    assert_eq!(
        command_calls(&url, "scan"),
        scans_before,
        "no request walked the keyspace"
    );
    drop(streams);
}

/// SCAN calls Redis saw during exactly `window` while `viewers` poll the page and the
/// counters API every 2 s and each hold an event stream.
async fn scans_while_watched(app: &TestApp, viewers: usize, window: Duration) -> u64 {
    let streams = open_streams(app, viewers).await;
    let url = app.redis.url();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut polling = Vec::new();
    for viewer in 0..viewers {
        let http = app.http.clone();
        let base = app.base_url.clone();
        let stop = stop.clone();
        polling.push(tokio::spawn(async move {
            // Spread over two seconds, as independent people would be.
            tokio::time::sleep(Duration::from_millis((viewer as u64 * 37) % 2000)).await;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let page = http.get(format!("{base}/admin/cache/stats")).send().await;
                assert!(page.is_ok_and(|page| page.status().is_success()));
                let api = http.get(format!("{base}/api/rate-limits")).send().await;
                assert!(api.is_ok_and(|api| api.status().is_success()));
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }));
    }
    let before = command_calls(&url, "scan");
    tokio::time::sleep(window).await;
    let scans = command_calls(&url, "scan") - before;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for task in polling {
        task.await.unwrap();
    }
    drop(streams);
    scans
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_viewers_cost_redis_the_same_scans_as_one() {
    let every = Duration::from_secs(2);
    let app = start_app_with(RedisProcessOptions::default(), |config: &mut Config| {
        config.rate_limit.scan_every = every;
    })
    .await;
    seed(&app);
    wait_for_walks(&app, 2).await;
    let url = app.redis.url();
    // One walk's SCANs: measured, not assumed (COUNT is a hint).
    let before = command_calls(&url, "scan");
    let walks = app.counters.subscribe().borrow().walks;
    wait_for_walks(&app, walks + 1).await;
    let one_walk = command_calls(&url, "scan") - before;
    assert!(one_walk > 0);

    // Five scheduled walks per window.
    let window = every * 5;
    let alone = scans_while_watched(&app, 1, window).await;
    let crowded = scans_while_watched(&app, 50, window).await;
    assert!(
        alone.abs_diff(crowded) <= one_walk,
        "1 viewer: {alone} SCANs, 50 viewers: {crowded} SCANs (one walk: {one_walk})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_concurrent_refreshes_share_one_walk() {
    let app = start_app_with(RedisProcessOptions::default(), |config: &mut Config| {
        config.rate_limit.scan_every = Duration::from_secs(3600);
    })
    .await;
    seed(&app);
    wait_for_walks(&app, 1).await;
    // Past the cool-down of the first walk, so the refreshes must walk again.
    tokio::time::sleep(cachepanel::server::rate_limit::counters::COOL_DOWN).await;
    let walks_before = app.counters.subscribe().borrow().walks;

    let mut refreshes = Vec::new();
    for _ in 0..10 {
        let http = app.http.clone();
        let url = format!("{}/api/rate-limits/refresh", app.base_url);
        refreshes.push(tokio::spawn(async move {
            let response = http.post(url).form(&[("", ""); 0]).send().await.unwrap();
            assert_eq!(response.status().as_u16(), 200);
            response.json::<serde_json::Value>().await.unwrap()
        }));
    }
    let mut reports = Vec::new();
    for refresh in refreshes {
        reports.push(refresh.await.unwrap());
    }

    let walks_after = app.counters.subscribe().borrow().walks;
    assert_eq!(walks_after - walks_before, 1, "one walk for ten refreshes");
    assert!(
        reports
            .iter()
            .all(|report| report["read_at_ms"] == reports[0]["read_at_ms"]
                && report["counters"] == 20),
        "every caller got the shared walk"
    );
    // Within the cool-down a refresh is answered from memory.
    let (status, again) = app.post_json("/api/rate-limits/refresh").await;
    assert_eq!(status, 200);
    assert_eq!(again["read_at_ms"], reports[0]["read_at_ms"]);
    assert_eq!(app.counters.subscribe().borrow().walks, walks_after);
}

#[tokio::test]
async fn a_counter_key_that_is_not_utf8_is_listed_escaped_and_the_view_works() {
    let app = start_app_with(RedisProcessOptions::default(), |_| {}).await;
    let mut connection = redis_connection(&app.redis.url());
    redis::pipe()
        .cmd("SET")
        .arg(b"rate_limit:ip:\xff\xfe".as_slice())
        .arg(9)
        .arg("EX")
        .arg(60)
        .ignore()
        .cmd("SET")
        .arg("rate_limit:user:5")
        .arg(3)
        .arg("EX")
        .arg(60)
        .ignore()
        .exec(&mut connection)
        .unwrap();

    let (status, report) = app.fresh_rate_limits().await;

    assert_eq!(status, 200, "{report}");
    assert_eq!(report["counters"], 2);
    let top = report["top"].as_array().unwrap();
    assert_eq!(top[0]["key"], "rate_limit:ip:\\xff\\xfe");
    assert_eq!(top[0]["key_escaped"], true);
    assert_eq!(top[0]["count"], 9);
    assert_eq!(top[1]["key"], "rate_limit:user:5");
    assert_eq!(top[1]["key_escaped"], false);
    let (status, page) = app.get_text("/admin/cache/stats").await;
    assert_eq!(status, 200);
    assert!(page.contains("rate_limit:ip:\\xff\\xfe"));
    assert!(
        !page.contains("client error"),
        "the section renders, no Parse error"
    );
}

#[tokio::test]
async fn the_counters_view_says_how_old_it_is_and_keeps_the_last_figures_when_redis_goes() {
    let mut app = start_app_with(RedisProcessOptions::default(), |config: &mut Config| {
        config.rate_limit.scan_every = Duration::from_secs(1);
    })
    .await;
    seed(&app);
    let (_, fresh) = app.fresh_rate_limits().await;
    assert_eq!(fresh["every_seconds"], 1);
    assert!(fresh["age_ms"].as_u64().is_some_and(|age| age < 5_000));
    let (_, page) = app.get_text("/admin/cache/stats").await;
    assert!(page.contains("data-testid=\"limits-age\""));

    app.redis.stop();
    let walks = app.counters.subscribe().borrow().walks;
    wait_for_walks(&app, walks + 2).await;
    let (status, stale) = app.get_json("/api/rate-limits").await;
    assert_eq!(status, 200, "{stale}");
    assert_eq!(stale["counters"], 20, "the last good figures");
    assert!(
        stale["last_error"]
            .as_str()
            .is_some_and(|reason| !reason.is_empty())
    );
    assert!(stale["age_ms"].as_u64() > fresh["age_ms"].as_u64());
    let (_, page) = app.get_text("/admin/cache/stats").await;
    assert!(page.contains("data-testid=\"limits-stale\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_page_views_send_redis_only_what_the_shared_readers_send_anyway() {
    let app = start_app_with(RedisProcessOptions::default(), |config: &mut Config| {
        config.rate_limit.scan_every = Duration::from_secs(3600);
    })
    .await;
    seed(&app);
    let (status, _) = app.fresh_rate_limits().await;
    assert_eq!(status, 200);
    let url = app.redis.url();
    let before = all_command_calls(&url);
    let started = std::time::Instant::now();
    for _ in 0..100 {
        let (status, _) = app.get_text("/admin/cache/stats").await;
        assert_eq!(status, 200);
        let (status, _) = app.get_json("/api/stats").await;
        assert_eq!(status, 200);
        let (status, _) = app.get_json("/api/audit").await;
        assert_eq!(status, 200);
    }
    let seconds = started.elapsed().as_secs_f64();
    let after = all_command_calls(&url);
    let delta =
        |name: &str| after.get(name).copied().unwrap_or(0) - before.get(name).copied().unwrap_or(0);
    // The sampler: one INFO + DBSIZE per 2 s interval (CONFIG GET every 15th), whoever
    // watches; the audit list: at most one read per 3 s. +2 for this test's own INFO calls
    // and a tick at each edge.
    let samples = (seconds / 2.0).ceil() as u64 + 2;
    assert!(
        delta("info") <= samples + 2,
        "INFO {} in {seconds:.1} s",
        delta("info")
    );
    assert!(
        delta("dbsize") <= samples,
        "DBSIZE {} in {seconds:.1} s",
        delta("dbsize")
    );
    let audit_reads = (seconds / 3.0).ceil() as u64 + 1;
    assert!(
        delta("memory|usage") + delta("memory") <= audit_reads,
        "{after:?}"
    );
    assert!(delta("xrevrange") <= audit_reads);
    for name in ["scan", "get", "ttl", "type", "pttl", "keys"] {
        assert_eq!(delta(name), 0, "{name} sent by a page view");
    }
}

#[tokio::test]
async fn the_walker_hands_out_every_key_once_as_bytes_and_stops_at_its_cap() {
    use cachepanel::server::redis::scan::{WalkEnd, WalkOptions, Walker};

    let app = start_app_with(RedisProcessOptions::default(), |_| {}).await;
    fill_keys(&app.redis.url(), "object:", 2_500);
    let mut connection = redis_connection(&app.redis.url());
    redis::cmd("SET")
        .arg(b"object:\xff\xfe".as_slice())
        .arg(1)
        .exec(&mut connection)
        .unwrap();
    // The sampler's first sample creates cachepanel's own state key, counted below.
    app.first_sample().await;
    let redis = cachepanel::server::redis::RedisTarget::new(
        "walk",
        &cachepanel::server::config::RedisUrl::parse(&app.redis.url()).unwrap(),
        cachepanel::server::redis::Timeouts {
            connect: Duration::from_secs(1),
            response: Duration::from_secs(1),
        },
    )
    .unwrap();

    let mut walker = Walker::start(&redis, WalkOptions::new(None, 100))
        .await
        .unwrap();
    let mut seen = std::collections::HashSet::new();
    let mut follow_ups = Vec::new();
    let end = loop {
        let page = walker.next(follow_ups).await.unwrap();
        // Each page's EXISTS replies come back with the next page, in order.
        assert!(
            page.replies
                .iter()
                .all(|reply| matches!(reply, Ok(redis::Value::Int(1))))
        );
        if let Some(end) = page.end {
            break end;
        }
        follow_ups = page
            .keys
            .iter()
            .map(|key| {
                let mut exists = redis::cmd("EXISTS");
                exists.arg(key);
                exists
            })
            .collect();
        for key in page.keys {
            assert!(seen.insert(key), "a key handed out twice");
        }
    };
    assert_eq!(end, WalkEnd::Complete);
    // The keys filled and cachepanel's own (the app samples the same Redis).
    assert_eq!(
        seen.len() as u64,
        2_501 + crate::harness::SAMPLER_STATE_KEYS
    );
    assert!(seen.contains(b"object:\xff\xfe".as_slice()));

    let capped = WalkOptions {
        max_keys: Some(250),
        ..WalkOptions::new(None, 100)
    };
    let mut walker = Walker::start(&redis, capped).await.unwrap();
    let mut handed = 0;
    let end = loop {
        let page = walker.next(Vec::new()).await.unwrap();
        handed += page.keys.len();
        if let Some(end) = page.end {
            break end;
        }
    };
    assert_eq!(end, WalkEnd::Capped);
    assert_eq!(handed, 250);
}
