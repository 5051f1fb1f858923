//! The walking skeleton: page, API and health answer from a real Redis, and survive its loss.

use std::time::{Duration, Instant};

use cachepanel::server::redis::process::RedisProcessOptions;

use crate::harness::{redis_connection, start_app, start_app_with, test_id_text};

/// 3 hits and 1 miss on a fresh server.
fn seed_three_hits_one_miss(url: &str) {
    let mut connection = redis_connection(url);
    redis::cmd("SET")
        .arg("user:1")
        .arg(r#"{"id":1}"#)
        .exec(&mut connection)
        .unwrap();
    for _ in 0..3 {
        let _: Option<String> = redis::cmd("GET")
            .arg("user:1")
            .query(&mut connection)
            .unwrap();
    }
    let _: Option<String> = redis::cmd("GET")
        .arg("user:2")
        .query(&mut connection)
        .unwrap();
}

#[tokio::test]
async fn the_page_shows_hits_misses_hit_rate_memory_and_keys_read_from_redis() {
    let app = start_app().await;
    seed_three_hits_one_miss(&app.redis.url());
    app.sample_after_now().await;

    let (status, html) = app.get_text("/admin/cache/stats").await;

    assert_eq!(status, 200);
    assert_eq!(test_id_text(&html, "hits").as_deref(), Some("3"));
    assert_eq!(test_id_text(&html, "misses").as_deref(), Some("1"));
    assert_eq!(
        test_id_text(&html, "hit-rate").as_deref(),
        Some("75,0\u{a0}%"),
        "Russian decimal comma and a no-break space before the sign"
    );
    // The key written and cachepanel's own state hash: DBSIZE as it is.
    assert_eq!(test_id_text(&html, "total-keys").as_deref(), Some("2"));
    assert_eq!(
        test_id_text(&html, "maxmemory").as_deref(),
        Some("без ограничения")
    );
    assert!(test_id_text(&html, "used-memory").is_some_and(|text| text.ends_with("иБ")));
    assert!(html.contains("<html lang=\"ru\""));
}

#[tokio::test]
async fn english_is_chosen_by_query_or_accept_language() {
    let app = start_app().await;
    let (_, html) = app.get_text("/admin/cache/stats?lang=en").await;
    assert!(html.contains("<html lang=\"en\""));
    assert!(html.contains(">Hits<"));

    let response = app
        .http
        .get(format!("{}/admin/cache/stats", app.base_url))
        .header("accept-language", "en-GB,en;q=0.9")
        .send()
        .await
        .unwrap();
    assert!(response.text().await.unwrap_or_default().contains(">Hits<"));
}

#[tokio::test]
async fn maxmemory_is_shown_with_the_share_used() {
    let app = start_app_with(
        RedisProcessOptions {
            maxmemory: Some("64mb".into()),
            ..Default::default()
        },
        |_| {},
    )
    .await;
    let (_, html) = app.get_text("/admin/cache/stats").await;
    assert_eq!(
        test_id_text(&html, "maxmemory").as_deref(),
        Some("64,0\u{a0}МиБ")
    );
    assert!(html.contains("\u{a0}% от maxmemory"));
    let (_, html) = app.get_text("/admin/cache/stats?lang=en").await;
    assert_eq!(
        test_id_text(&html, "maxmemory").as_deref(),
        Some("64.0\u{a0}MiB")
    );
}

#[tokio::test]
async fn the_stats_api_answers_json_at_a_fixed_endpoint() {
    let app = start_app().await;
    seed_three_hits_one_miss(&app.redis.url());
    app.sample_after_now().await;

    let (status, json) = app.get_json("/api/stats").await;

    assert_eq!(status, 200);
    assert_eq!(json["status"], "up");
    assert_eq!(json["stats"]["keyspace_hits"], 3);
    assert_eq!(json["stats"]["keyspace_misses"], 1);
    // The key written, and cachepanel's own state hash.
    assert_eq!(
        json["stats"]["total_keys"],
        1 + crate::harness::SAMPLER_STATE_KEYS
    );
}

#[tokio::test]
async fn the_root_redirects_to_the_stats_page() {
    let app = start_app().await;
    let response = app.get("/").await;
    assert_eq!(response.status().as_u16(), 303);
    assert_eq!(
        response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok()),
        Some("/admin/cache/stats")
    );
}

#[tokio::test]
async fn healthz_is_200_and_reports_redis_reachability() {
    let mut app = start_app().await;
    let (status, json) = app.get_json("/healthz").await;
    assert_eq!(status, 200);
    assert_eq!(json["redis"]["reachable"], true);

    app.redis.stop();
    let (status, json) = app.get_json("/healthz").await;
    assert_eq!(status, 200);
    assert_eq!(json["redis"]["reachable"], false);
    assert!(
        json["redis"]["reason"]
            .as_str()
            .is_some_and(|reason| !reason.is_empty())
    );
}

#[tokio::test]
async fn redis_down_shows_unavailable_and_a_restart_brings_the_data_back() {
    let mut app = start_app().await;
    let (_, html) = app.get_text("/admin/cache/stats").await;
    assert!(test_id_text(&html, "hits").is_some());

    app.redis.stop();
    app.sample_unavailable().await;
    let (status, html) = app.get_text("/admin/cache/stats").await;
    assert_eq!(status, 200);
    assert!(html.contains("data-testid=\"redis-unavailable\""));
    assert!(test_id_text(&html, "hits").is_none());
    let (status, json) = app.get_json("/api/stats").await;
    assert_eq!(status, 200);
    assert_eq!(json["status"], "unavailable");

    app.redis.restart().unwrap();
    seed_three_hits_one_miss(&app.redis.url());
    // The shared connection reconnects by itself; allow for its backoff.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (_, json) = app.get_json("/api/stats").await;
        if json["status"] == "up" {
            assert_eq!(json["stats"]["keyspace_hits"], 3);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "stats did not recover within 5 s: {json}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_slow_redis_gives_a_timely_unavailable_answer() {
    // The state turns within one sample interval plus the bounded read.
    let app = start_app_with(
        RedisProcessOptions {
            debug_command: true,
            ..Default::default()
        },
        crate::harness::fast_sampling,
    )
    .await;
    // Redis stalls while it is being watched.
    app.sample_after_now().await;
    let url = app.redis.url();
    // DEBUG SLEEP blocks the whole server, like a stalled production Redis.
    let sleeper = std::thread::spawn(move || {
        let mut connection = redis_connection(&url);
        let _: redis::RedisResult<()> = redis::cmd("DEBUG")
            .arg("SLEEP")
            .arg(3)
            .query(&mut connection);
    });
    let stalled = Instant::now();
    tokio::time::sleep(Duration::from_millis(200)).await;

    // A request never waits on Redis: it answers at once with the sampler's latest view …
    let started = Instant::now();
    let (status, _) = app.get_json("/api/stats").await;
    assert_eq!(status, 200);
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "took {:?}",
        started.elapsed()
    );
    // … and the sampler's bounded read says "timed out" well before the stall ends.
    app.sample_unavailable().await;
    let (status, json) = app.get_json("/api/stats").await;
    let elapsed = stalled.elapsed();
    assert_eq!(status, 200);
    assert_eq!(json["status"], "unavailable", "after {elapsed:?}: {json}");
    assert_eq!(json["reason"], "timed out");
    assert!(elapsed < Duration::from_millis(2500), "took {elapsed:?}");
    let _ = sleeper.join();
}

#[tokio::test]
async fn a_password_protected_redis_works_and_the_password_never_shows() {
    let password = "pw-9f8e7d6c5b4a";
    let app = start_app_with(
        RedisProcessOptions {
            password: Some(password.into()),
            ..Default::default()
        },
        |_| {},
    )
    .await;
    let (_, html) = app.get_text("/admin/cache/stats").await;
    assert!(test_id_text(&html, "hits").is_some());
    assert!(!html.contains(password));
    let (_, health) = app.get_text("/healthz").await;
    assert!(!health.contains(password));
}

#[tokio::test]
async fn a_wrong_redis_password_is_reported_without_echoing_it() {
    let wrong = "wrong-pw-1a2b3c";
    let app = start_app_with(
        RedisProcessOptions {
            password: Some("right-pw-4d5e6f".into()),
            ..Default::default()
        },
        |config| {
            let url = format!("redis://:{wrong}@127.0.0.1:{}/0", config_port(config));
            config.redis.url = cachepanel::server::config::RedisUrl::parse(&url).ok();
        },
    )
    .await;
    let (status, json) = app.get_json("/api/stats").await;
    assert_eq!(status, 200);
    assert_eq!(json["status"], "unavailable");
    assert_eq!(json["reason"], "authentication failed");
    assert!(!json.to_string().contains(wrong));
}

fn config_port(config: &cachepanel::server::config::Config) -> u16 {
    config
        .redis
        .url
        .as_ref()
        .and_then(|url| url::Url::parse(url.expose()).ok())
        .and_then(|url| url.port())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_base_path_prefixes_every_public_url_and_is_served_behind_either_proxy_style() {
    let app = start_app_with(RedisProcessOptions::default(), |config| {
        config.base_path = "/tools/cachepanel".into();
    })
    .await;

    let (status, html) = app.get_text("/tools/cachepanel/stats").await;
    assert_eq!(status, 200);
    assert!(html.contains("/tools/cachepanel/pkg/cachepanel.js"));
    assert!(html.contains("/tools/cachepanel/pkg/cachepanel.css"));
    // A proxy that strips the prefix reaches the same page at the root.
    let (status, _) = app.get_text("/stats").await;
    assert_eq!(status, 200);
    let (status, json) = app.get_json("/tools/cachepanel/api/stats").await;
    assert_eq!((status, json["status"].as_str()), (200, Some("up")));
    let response = app.get("/").await;
    assert_eq!(
        response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok()),
        Some("/tools/cachepanel/stats")
    );
}

/// The default layout: every path under `/admin/cache/`, so the admin's one proxy rule
/// (`location /admin/cache/`) serves the page exactly where its users know it.
#[tokio::test]
async fn by_default_everything_lives_under_admin_cache() {
    let app = start_app().await;
    let (status, html) = app.get_text("/admin/cache/stats").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("/admin/cache/pkg/cachepanel"),
        "assets under the prefix"
    );
    assert!(
        html.contains("\"base_path\":\"/admin/cache\""),
        "API calls under the prefix"
    );
    let (status, json) = app.get_json("/admin/cache/api/stats").await;
    assert_eq!((status, json["status"].as_str()), (200, Some("up")));
    let (status, _) = app.get_json("/admin/cache/healthz").await;
    assert_eq!(status, 200);
    let (status, _) = app.get_text("/admin/cache/admin/cache/stats").await;
    assert_eq!(status, 404, "no doubled prefix any more");
    let (status, _) = app.get_text("/admin/cache/metrics").await;
    assert_eq!(status, 404, "metrics stay off the forwarded prefix");
    let (status, _) = app.get_text("/metrics").await;
    assert_ne!(status, 404, "metrics at the root, for scrapers");
    for entry in ["/", "/admin/cache/"] {
        let response = app.get(entry).await;
        assert_eq!(
            response
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok()),
            Some("/admin/cache/stats"),
            "{entry}"
        );
    }
}

#[tokio::test]
async fn oversized_request_bodies_are_refused() {
    let app = start_app().await;
    let response = app
        .http
        .post(format!("{}/api/stats", app.base_url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![b'a'; 200 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 413);
}
