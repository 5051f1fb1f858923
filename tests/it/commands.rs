//! What Redis spends its time on, from `INFO commandstats` read in the sampler's own `INFO`:
//! per command over a window, blocking commands flagged, cachepanel's own share apart.

use std::time::Duration;

use cachepanel::model::commands::{CommandRow, CommandsView};
use cachepanel::model::wire;
use cachepanel::server::redis::process::RedisProcessOptions;

use crate::harness::{
    TestApp, command_calls, fast_sampling, fill_keys, redis_connection, start_app_with,
};

async fn commands(app: &TestApp, range: &str) -> CommandsView {
    let (status, body) = app.get_text(&format!("/api/commands?range={range}")).await;
    assert_eq!(status, 200, "{body}");
    wire::decode(&body).unwrap_or_else(|error| panic!("{error}: {body}"))
}

fn row<'a>(view: &'a CommandsView, command: &str) -> Option<&'a CommandRow> {
    view.rows.iter().find(|row| row.command == command)
}

/// Waits until the commands view of `range` satisfies `accept` (samples arrive every 250 ms).
async fn commands_where(
    app: &TestApp,
    range: &str,
    accept: impl Fn(&CommandsView) -> bool,
) -> CommandsView {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let view = commands(app, range).await;
        if accept(&view) || tokio::time::Instant::now() > deadline {
            return view;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_client_running_keys_shows_as_blocking_and_cachepanels_own_share_is_apart() {
    let app = start_app_with(RedisProcessOptions::default(), fast_sampling).await;
    fill_keys(&app.redis.url(), "contract_employees:", 20_000);
    app.sample_after_now().await;
    let mut web = redis_connection(&app.redis.url());
    let _: () = redis::cmd("CLIENT")
        .arg("SETNAME")
        .arg("web")
        .query(&mut web)
        .unwrap();
    for _ in 0..3 {
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg("contract_employees:*")
            .query(&mut web)
            .unwrap();
        assert_eq!(keys.len(), 20_000);
    }
    for i in 0..50 {
        let _: Option<String> = redis::cmd("GET")
            .arg(format!("contract_employees:{i}"))
            .query(&mut web)
            .unwrap();
    }

    let view = commands_where(&app, "15m", |view| row(view, "keys").is_some()).await;
    let keys = row(&view, "keys").expect("KEYS is listed");
    assert_eq!(keys.calls, 3, "{view:?}");
    assert!(keys.blocking);
    assert_eq!(keys.own_calls, 0, "cachepanel never sends KEYS");
    assert!(keys.usec > 0 && keys.usec_per_call > 0.0);
    assert_eq!(view.blocking, ["keys"]);
    assert_eq!(
        view.rows.first().map(|row| row.command.as_str()),
        Some("keys"),
        "KEYS over 20k keys cost most: {view:?}"
    );
    let get = row(&view, "get").expect("GET is listed");
    assert!(get.calls >= 50 && !get.blocking);
    let share_sum: f64 = view.rows.iter().map(|row| row.share_percent).sum();
    assert!(
        share_sum <= 100.0 + 1e-6,
        "shares of the listed rows: {share_sum}"
    );

    // cachepanel's own INFO: the test sent none, so every INFO in the window is its own.
    let info = row(&view, "info").expect("INFO is listed");
    assert!(
        info.own_calls >= 1 && info.own_calls <= info.calls,
        "{info:?}"
    );
    assert!(view.own_usec > 0 && view.own_usec < view.usec, "{view:?}");
    assert!(view.own_share_percent > 0.0 && view.own_share_percent < 100.0);

    // The same over the last hour, and in /metrics.
    app.sample_after_now().await;
    let hour = commands(&app, "1h").await;
    assert!(
        hour.rows
            .iter()
            .any(|row| row.command == "keys" && row.blocking)
    );
    let (_, metrics) = app.get_text("/metrics").await;
    let line = metrics
        .lines()
        .find(|line| {
            line.starts_with(
                "cachepanel_redis_command_calls_total{target=\"cache\",command=\"keys\"}",
            )
        })
        .expect("a KEYS counter");
    assert!(line.ends_with(" 3"), "{line}");
    assert!(
        metrics
            .contains("cachepanel_redis_command_seconds_total{target=\"cache\",command=\"keys\"}")
    );
    assert!(metrics.contains("cachepanel_own_command_time_ratio{target=\"cache\"}"));
}

#[tokio::test]
async fn commandstats_come_with_the_samplers_info_and_a_reset_starts_the_window_over() {
    let app = start_app_with(RedisProcessOptions::default(), fast_sampling).await;
    app.sample_after_now().await;
    let url = app.redis.url();
    let before = command_calls(&url, "info");
    let mut samples = 0;
    let mut published = app.live.subscribe();
    published.borrow_and_update();
    while samples < 8 {
        tokio::time::timeout(Duration::from_secs(5), published.changed())
            .await
            .unwrap()
            .unwrap();
        samples += 1;
    }
    // One INFO per sample, commandstats included (the test's own INFO counts here too).
    let info_calls = command_calls(&url, "info") - before;
    assert!(
        info_calls <= samples + 2,
        "{info_calls} INFO calls for {samples} samples"
    );

    let mut connection = redis_connection(&url);
    let _: Vec<String> = redis::cmd("KEYS")
        .arg("nothing:*")
        .query(&mut connection)
        .unwrap();
    commands_where(&app, "1h", |view| {
        view.blocking.contains(&"keys".to_owned())
    })
    .await;
    let _: () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query(&mut connection)
        .unwrap();
    app.sample_after_now().await;
    let after = commands_where(&app, "1h", |view| {
        view.window_ms > 0 && !view.rows.is_empty()
    })
    .await;
    assert!(
        !after.rows.iter().any(|row| row.command == "keys"),
        "KEYS ran before the reset: {after:?}"
    );
    assert!(
        after.rows.iter().all(|row| row.calls < 1_000),
        "no figure from before the reset: {after:?}"
    );
}

#[tokio::test]
async fn debug_sleep_shows_in_the_latency_percentiles_and_as_blocking() {
    let options = RedisProcessOptions {
        debug_command: true,
        ..Default::default()
    };
    let app = start_app_with(options, fast_sampling).await;
    app.sample_after_now().await;
    let mut web = redis_connection(&app.redis.url());
    for _ in 0..3 {
        let _: () = redis::cmd("DEBUG")
            .arg("SLEEP")
            .arg("0.05")
            .query(&mut web)
            .unwrap();
    }
    let view = commands_where(&app, "15m", |view| {
        view.rows.iter().any(|row| row.command.starts_with("debug"))
    })
    .await;
    let debug = view
        .rows
        .iter()
        .find(|row| row.command.starts_with("debug"))
        .expect("DEBUG is listed");
    assert!(debug.blocking, "{debug:?}");
    let latency = debug.latency.expect("Redis 7 reports latency percentiles");
    let p50 = latency.p50_usec.expect("a median");
    assert!(
        p50 >= 45_000.0,
        "DEBUG SLEEP 0.05 takes ~50 ms: {latency:?}"
    );
    assert!(latency.p99_usec.unwrap_or(0.0) >= p50);
    assert!(debug.usec >= 3 * 45_000, "{debug:?}");
    let (_, metrics) = app.get_text("/metrics").await;
    let median = metrics
        .lines()
        .find(|line| {
            line.starts_with("cachepanel_redis_command_latency_seconds{")
                && line.contains("command=\"debug")
                && line.contains("percentile=\"p50\"")
        })
        .expect("DEBUG's median latency in /metrics");
    let seconds: f64 = median.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(seconds >= 0.045, "{median}");
    let (valid, report) = crate::metrics::promtool_check(&metrics);
    assert!(valid, "{report}");
}
