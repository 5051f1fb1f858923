//! Several named Redis targets: each with its own sampler, census and flush; only caches flush.

use std::time::Duration;

use cachepanel::server::config::RedisUrl;
use cachepanel::server::redis::process::RedisProcessOptions;
use cachepanel::server::redis::settings::ExtraTarget;

use crate::harness::{fill_keys, start_app_with, start_redis, test_id_text};

#[tokio::test]
async fn each_target_is_watched_on_its_own_and_only_caches_flush() {
    let bot_fsm = start_redis(RedisProcessOptions::default());
    fill_keys(&bot_fsm.url(), "fsm:", 7);
    let bot_url = RedisUrl::parse(&bot_fsm.url()).unwrap();
    let app = start_app_with(RedisProcessOptions::default(), move |config| {
        config.redis.extra_targets = vec![ExtraTarget {
            name: "bot-fsm".into(),
            url: bot_url,
        }];
    })
    .await;
    fill_keys(&app.redis.url(), "user:", 30);
    app.sample_after_now().await;

    // Stats: the first target by default, the other by path prefix or ?target=.
    let (_, cache) = app.get_json("/api/stats").await;
    // Each target holds cachepanel's own state hash too.
    assert_eq!(
        cache["stats"]["total_keys"],
        30 + crate::harness::SAMPLER_STATE_KEYS
    );
    let (status, bot) = app.get_json("/targets/bot-fsm/api/stats").await;
    assert_eq!(status, 200, "{bot}");
    assert_eq!(
        bot["stats"]["total_keys"],
        7 + crate::harness::SAMPLER_STATE_KEYS
    );
    let (_, bot) = app.get_json("/api/stats?target=bot-fsm").await;
    assert_eq!(
        bot["stats"]["total_keys"],
        7 + crate::harness::SAMPLER_STATE_KEYS
    );
    let (status, unknown) = app.get_json("/targets/nope/api/stats").await;
    assert_eq!(status, 400);
    assert!(
        unknown["message"]
            .as_str()
            .unwrap()
            .contains("cache, bot-fsm")
    );

    // Each target's own census.
    let response = app
        .http
        .post(format!("{}/targets/bot-fsm/api/census/start", app.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let bot_census = loop {
        let (_, census) = app.get_json("/targets/bot-fsm/api/census").await;
        if census["running"].is_null() && !census["last"].is_null() {
            break census;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "census did not finish"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // Plus cachepanel's own keys, kept on the target they are about.
    assert_eq!(
        bot_census["last"]["scanned_keys"],
        7 + crate::census::OWN_KEYS_DURING_A_CENSUS
    );
    let (_, cache_census) = app.get_json("/api/census").await;
    assert!(
        cache_census["last"].is_null(),
        "the cache target ran no census"
    );

    // Flushing: refused on the non-cache target, and nothing there is touched.
    let response = app
        .http
        .post(format!(
            "{}/targets/bot-fsm/api/flush/preview",
            app.base_url
        ))
        .form(&[("prefix", "fsm:")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    let refusal: serde_json::Value = response.json().await.unwrap();
    assert!(
        refusal["message"].as_str().unwrap().contains("not a cache"),
        "{refusal}"
    );
    let (_, bot) = app.get_json("/targets/bot-fsm/api/stats").await;
    assert_eq!(
        bot["stats"]["total_keys"],
        7 + crate::harness::SAMPLER_STATE_KEYS
    );
    let response = app
        .http
        .post(format!("{}/api/flush/preview", app.base_url))
        .form(&[("prefix", "user:")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status().as_u16(),
        200,
        "the cache target still flushes"
    );

    // The page of a target, with the selector; server functions of the page go to its prefix.
    let (status, html) = app.get_text("/admin/cache/stats?target=bot-fsm").await;
    assert_eq!(status, 200);
    assert_eq!(test_id_text(&html, "total-keys").as_deref(), Some("8"));
    assert!(html.contains(r#"data-testid="targets""#));
    assert!(html.contains(r#""api_prefix":"/targets/bot-fsm""#));
    let (status, _) = app.get_text("/admin/cache/stats?target=nope").await;
    assert_eq!(status, 400);

    // The event stream of a target carries that target's snapshots.
    let mut events = app
        .http
        .get(format!("{}/targets/bot-fsm/api/live/events", app.base_url))
        .send()
        .await
        .unwrap();
    let chunk = tokio::time::timeout(Duration::from_secs(5), async {
        let mut seen = String::new();
        while let Ok(Some(bytes)) = events.chunk().await {
            seen.push_str(&String::from_utf8_lossy(&bytes));
            if seen.contains("\"target\":") {
                break;
            }
        }
        seen
    })
    .await
    .unwrap();
    assert!(chunk.contains(r#""target":"bot-fsm""#), "{chunk}");

    // /metrics carries both targets.
    let text = app.get("/metrics").await.text().await.unwrap();
    assert!(
        text.contains(r#"cachepanel_keys{target="cache"} 31"#),
        "{text}"
    );
    assert!(text.contains(r#"cachepanel_keys{target="bot-fsm"} 8"#));
}
