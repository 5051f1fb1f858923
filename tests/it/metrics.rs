//! `/metrics`: Prometheus text that promtool accepts, with the figures the dashboard shows.

use std::time::Duration;

use cachepanel::server::config::Secret;
use cachepanel::server::redis::process::RedisProcessOptions;

use crate::harness::{fill_keys, redis_connection, start_app_with};

/// Runs `promtool check metrics` (Debian's prometheus package) on an exposition.
pub fn promtool_check(exposition: &str) -> (bool, String) {
    use std::io::Write as _;
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool is installed by scripts/bootstrap.sh");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(exposition.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), said)
}

fn sample(exposition: &str, series: &str) -> Option<f64> {
    exposition.lines().find_map(|line| {
        line.strip_prefix(series)
            .and_then(|rest| rest.strip_prefix(' '))
            .and_then(|value| value.parse().ok())
    })
}

#[tokio::test]
async fn metrics_are_valid_prometheus_text_with_the_dashboards_figures() {
    let mut app = start_app_with(RedisProcessOptions::default(), |config| {
        config.live.interval = Duration::from_millis(200);
    })
    .await;
    fill_keys(&app.redis.url(), "user:", 300);
    fill_keys(&app.redis.url(), "shift:", 40);
    let mut connection = redis_connection(&app.redis.url());
    for _ in 0..9 {
        let _: Option<String> = redis::cmd("GET")
            .arg("user:1")
            .query(&mut connection)
            .unwrap();
    }
    let _: Option<String> = redis::cmd("GET")
        .arg("user:none")
        .query(&mut connection)
        .unwrap();
    // The last complete minute is the one before the reader's walk: this minute's and the
    // previous one's counts are both 7, so a walk in the next minute still reads 7.
    for ago in [1, 0] {
        let minute = (chrono::Utc::now() - chrono::Duration::minutes(ago))
            .format("%Y%m%d%H%M")
            .to_string();
        redis::cmd("SET")
            .arg(format!("rate_limit:stats:rejected:manager:{minute}"))
            .arg(7)
            .exec(&mut connection)
            .unwrap();
    }
    crate::census::run_census(&app).await;
    let (status, _) = app.fresh_rate_limits().await;
    assert_eq!(status, 200);
    app.snapshot_where(Duration::from_secs(5), |s| s.stats.is_some())
        .await;

    let response = app.get("/metrics").await;
    assert_eq!(response.status().as_u16(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = response.text().await.unwrap();
    let (valid, said) = promtool_check(&text);
    assert!(valid, "promtool: {said}\n{text}");
    assert_eq!(
        sample(&text, r#"cachepanel_redis_up{target="cache"}"#),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, r#"cachepanel_keyspace_hits_total{target="cache"}"#),
        Some(9.0)
    );
    assert_eq!(
        sample(&text, r#"cachepanel_keyspace_misses_total{target="cache"}"#),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            r#"cachepanel_hit_ratio{target="cache",window="lifetime"}"#
        ),
        Some(0.9)
    );
    assert_eq!(
        sample(
            &text,
            r#"cachepanel_group_keys{target="cache",group="user:"}"#
        ),
        Some(300.0)
    );
    assert_eq!(
        sample(
            &text,
            r#"cachepanel_group_keys{target="cache",group="shift:"}"#
        ),
        Some(40.0)
    );
    assert!(
        sample(
            &text,
            r#"cachepanel_census_duration_seconds{target="cache",outcome="complete"}"#
        )
        .is_some()
    );
    assert_eq!(
        sample(
            &text,
            r#"cachepanel_rate_limit_rejections_last_minute{target="cache",role="manager"}"#
        ),
        Some(7.0)
    );

    // Redis down: still 200, with up 0 and the reason.
    app.redis.stop();
    app.snapshot_where(Duration::from_secs(5), |s| {
        matches!(
            s.status,
            cachepanel::model::live::LiveStatus::Unavailable { .. }
        )
    })
    .await;
    let response = app.get("/metrics").await;
    assert_eq!(response.status().as_u16(), 200);
    let text = response.text().await.unwrap();
    let (valid, said) = promtool_check(&text);
    assert!(valid, "promtool: {said}\n{text}");
    assert_eq!(
        sample(&text, r#"cachepanel_redis_up{target="cache"}"#),
        Some(0.0)
    );
    assert!(text.contains(r#"cachepanel_redis_down_info{target="cache",reason=""#));
}

#[tokio::test]
async fn metrics_need_their_token_when_one_is_configured_or_else_a_session() {
    let token = "metrics-token-0123456789";
    let with_token = start_app_with(RedisProcessOptions::default(), |config| {
        config.auth.metrics_token = Some(Secret::new(token));
    })
    .await;
    let session = crate::harness::token_for("superadmin", 1);
    let owner = crate::harness::token_for("owner", 2);
    assert_eq!(metrics_status(&with_token, None).await, 401);
    assert_eq!(
        metrics_status(&with_token, Some("metrics-token-0123456780")).await,
        401
    );
    assert_eq!(metrics_status(&with_token, Some(&session)).await, 401);
    assert_eq!(metrics_status(&with_token, Some(token)).await, 200);

    let with_session = start_app_with(RedisProcessOptions::default(), |_| {}).await;
    assert_eq!(metrics_status(&with_session, None).await, 401);
    assert_eq!(metrics_status(&with_session, Some(&owner)).await, 401);
    assert_eq!(metrics_status(&with_session, Some(&session)).await, 200);
}

/// The status of `GET /metrics` with this bearer token (or none).
async fn metrics_status(app: &crate::harness::TestApp, bearer: Option<&str>) -> u16 {
    let request = reqwest::Client::new().get(format!("{}/metrics", app.base_url));
    let request = match bearer {
        Some(bearer) => request.bearer_auth(bearer),
        None => request,
    };
    request.send().await.unwrap().status().as_u16()
}

/// The Prometheus rules for teams that scrape: valid, passing their unit tests, and the same
/// rules with the same defaults as cachepanel's own alerts.
#[test]
fn the_prometheus_rules_pass_promtool_and_match_cachepanels_own_rules() {
    let docs = concat!(env!("CARGO_MANIFEST_DIR"), "/docs");
    for args in [
        ["check", "rules", "alerts.yml"],
        ["test", "rules", "alerts.test.yml"],
    ] {
        let outcome = std::process::Command::new("promtool")
            .args(args)
            .current_dir(docs)
            .output()
            .expect("promtool is installed by scripts/bootstrap.sh");
        assert!(
            outcome.status.success(),
            "promtool {args:?}: {}{}",
            String::from_utf8_lossy(&outcome.stdout),
            String::from_utf8_lossy(&outcome.stderr)
        );
    }
    let rules: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(format!("{docs}/alerts.yml")).unwrap())
            .unwrap();
    let listed = rules["groups"][0]["rules"].as_sequence().unwrap();
    let prometheus_duration = |ms: i64| match ms {
        0 => None,
        ms if ms % 60_000 == 0 => Some(format!("{}m", ms / 60_000)),
        ms => Some(format!("{}s", ms / 1000)),
    };
    for rule in cachepanel::model::alerts::AlertRule::ALL {
        let defaults = rule.defaults();
        let found = listed
            .iter()
            .find(|listed| listed["labels"]["rule"].as_str() == Some(rule.name()))
            .unwrap_or_else(|| panic!("docs/alerts.yml has no rule {}", rule.name()));
        assert_eq!(
            found["for"].as_str().map(str::to_owned),
            prometheus_duration(defaults.for_ms),
            "{}: for",
            rule.name()
        );
        let expr = found["expr"].as_str().unwrap();
        let threshold = match rule {
            // Prometheus compares the figure cachepanel shows in hours as seconds.
            cachepanel::model::alerts::AlertRule::MemoryForecast => {
                format!("< {} * 3600", defaults.threshold)
            }
            // A count > 1 of master addresses, a count > 0 of counters: the same events.
            cachepanel::model::alerts::AlertRule::Failover => "> 1".into(),
            cachepanel::model::alerts::AlertRule::StuckCounters => "> 0".into(),
            cachepanel::model::alerts::AlertRule::SaveFailed => "== 0".into(),
            _ => format!(
                "{} {}",
                if rule.fires_below() { "<" } else { ">" },
                defaults.threshold
            ),
        };
        assert!(
            expr.contains(&threshold),
            "{}: {expr} lacks {threshold}",
            rule.name()
        );
    }
}
