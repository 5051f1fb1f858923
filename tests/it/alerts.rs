//! Alerts end to end: real workloads on a real Redis drive the rules, and the messages arrive
//! at a fake Telegram Bot API and a webhook receiver, both real HTTP servers on loopback.

use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use cachepanel::model::alerts::AlertRule;
use cachepanel::server::alerts::settings::{TelegramSettings, WebhookSettings, parse_rule};
use cachepanel::server::config::{Config, Secret};
use cachepanel::server::redis::process::RedisProcessOptions;

use crate::harness::{self, TestApp, fast_sampling, redis_connection, start_app_with};

const BOT_TOKEN: &str = "4242424242:AAFake-Bot-Token-For-Tests_0123456789";
const CHAT: &str = "-1001234567890";

#[derive(Clone, Debug)]
struct Received {
    /// The path's bot token (Telegram) or "webhook".
    token: String,
    body: serde_json::Value,
    signature: Option<String>,
    at: Instant,
}

/// A Telegram Bot API and a webhook receiver in one loopback server. `answer` is the status
/// it answers with (0: hang past the client's timeout).
#[derive(Clone, Default)]
struct Receiver {
    received: Arc<Mutex<Vec<Received>>>,
    answer: Arc<AtomicU16>,
    /// Requests that arrived, answered or not.
    attempts: Arc<AtomicU64>,
    url: String,
}

impl Receiver {
    async fn start() -> Self {
        let mut receiver = Receiver::default();
        receiver.answer.store(200, Ordering::SeqCst);
        let router = axum::Router::new()
            .route("/{bot}/sendMessage", post(telegram))
            .route("/webhook", post(webhook))
            .with_state(receiver.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        receiver.url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        receiver
    }

    fn messages(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    fn texts(&self) -> Vec<String> {
        self.messages()
            .iter()
            .map(|m| m.body["text"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    async fn wait_for(&self, count: usize, limit: Duration) -> Vec<Received> {
        let deadline = Instant::now() + limit;
        loop {
            let messages = self.messages();
            if messages.len() >= count || Instant::now() > deadline {
                return messages;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn answer(&self) -> Result<(), StatusCode> {
        self.attempts.fetch_add(1, Ordering::SeqCst);
        match self.answer.load(Ordering::SeqCst) {
            0 => {
                tokio::time::sleep(Duration::from_secs(30)).await;
                Err(StatusCode::GATEWAY_TIMEOUT)
            }
            200 => Ok(()),
            status => Err(StatusCode::from_u16(status).unwrap()),
        }
    }
}

async fn telegram(
    State(receiver): State<Receiver>,
    Path(bot): Path<String>,
    axum::Json(body): axum::Json<serde_json::Value>,
) -> (StatusCode, axum::Json<serde_json::Value>) {
    if let Err(status) = receiver.answer().await {
        let answer = serde_json::json!({"ok": false, "error_code": status.as_u16(), "description": "Internal Server Error"});
        return (status, axum::Json(answer));
    }
    receiver.received.lock().unwrap().push(Received {
        token: bot.trim_start_matches("bot").to_owned(),
        body,
        signature: None,
        at: Instant::now(),
    });
    let answer = serde_json::json!({"ok": true, "result": {"message_id": 1}});
    (StatusCode::OK, axum::Json(answer))
}

async fn webhook(State(receiver): State<Receiver>, headers: HeaderMap, body: String) -> StatusCode {
    if let Err(status) = receiver.answer().await {
        return status;
    }
    receiver.received.lock().unwrap().push(Received {
        token: "webhook".into(),
        body: serde_json::from_str(&body).unwrap(),
        signature: headers
            .get("x-cachepanel-signature")
            .map(|value| value.to_str().unwrap().to_owned()),
        at: Instant::now(),
    });
    StatusCode::OK
}

/// Only `rules` on (each as its variable would set it), sending to `receiver`'s Telegram.
fn alerting(config: &mut Config, receiver: &Receiver, rules: &[(AlertRule, &str)]) {
    fast_sampling(config);
    for (rule, settings) in config.alerts.rules.iter_mut() {
        settings.enabled = false;
        if let Some((_, text)) = rules.iter().find(|(r, _)| r == rule) {
            *settings = parse_rule(*rule, text).unwrap();
        }
    }
    config.alerts.telegram = Some(TelegramSettings {
        api_url: receiver.url.clone(),
        token: Secret::new(BOT_TOKEN),
        chat_ids: vec![CHAT.into()],
    });
    config.alerts.page_url = Some("https://admin.example/admin/cache/stats".into());
    config.alerts.retry_after = Duration::from_millis(100);
    config.alerts.delivery_timeout = Duration::from_millis(500);
}

/// GETs `key` as fast as one connection allows until `stop` is set.
fn lookups(
    url: &str,
    key: &'static str,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<()> {
    let mut connection = redis_connection(url);
    std::thread::spawn(move || {
        while !stop.load(Ordering::SeqCst) {
            let _: Option<String> = redis::cmd("GET")
                .arg(key)
                .query(&mut connection)
                .unwrap_or(None);
            std::thread::sleep(Duration::from_millis(2));
        }
    })
}

async fn alerts_view(app: &TestApp) -> serde_json::Value {
    let (status, view) = app.get_json("/api/alerts").await;
    assert_eq!(status, 200, "{view}");
    view
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hit_rate_below_the_target_fires_one_message_after_the_pending_time_and_one_on_recovery()
{
    let receiver = Receiver::start().await;
    let app = start_app_with(RedisProcessOptions::default(), |config| {
        alerting(
            config,
            &receiver,
            &[(AlertRule::HitRate, "window=2s for=2s hold=1s min_rate=20")],
        );
    })
    .await;
    let url = app.redis.url();
    redis::cmd("SET")
        .arg("user:1")
        .arg("{}")
        .exec(&mut redis_connection(&url))
        .unwrap();

    // Every lookup misses: the hit rate is 0 % with plenty of traffic.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let started = Instant::now();
    let missing = lookups(&url, "user:404", stop.clone());
    let fired = receiver.wait_for(1, Duration::from_secs(15)).await;
    assert_eq!(fired.len(), 1, "no alert arrived");
    let waited = fired[0].at - started;
    // The window has to fill (¾ of 2 s) and then the figure hold for 2 s.
    assert!(
        waited >= Duration::from_millis(3200),
        "fired after {waited:?}"
    );
    let text = fired[0].body["text"].as_str().unwrap();
    assert!(
        text.starts_with("🔴 Доля попаданий в кэш ниже цели — cache"),
        "{text}"
    );
    assert!(text.contains("0,0\u{a0}% < 70,0\u{a0}% (порог)"), "{text}");
    assert!(
        text.ends_with("https://admin.example/admin/cache/stats"),
        "{text}"
    );
    assert_eq!(fired[0].body["chat_id"], CHAT);
    assert_eq!(fired[0].token, BOT_TOKEN);
    let view = alerts_view(&app).await;
    assert_eq!(view["active"][0]["rule"], "hit_rate");
    assert_eq!(view["active"][0]["phase"], "firing");

    // Now every lookup hits: resolved once the window is good again and the hold passed.
    stop.store(true, Ordering::SeqCst);
    missing.join().unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let hitting = lookups(&url, "user:1", stop.clone());
    let both = receiver.wait_for(2, Duration::from_secs(15)).await;
    assert_eq!(both.len(), 2, "{:?}", receiver.texts());
    let resolved = both[1].body["text"].as_str().unwrap();
    assert!(
        resolved.starts_with("✅ Решено: Доля попаданий в кэш ниже цели"),
        "{resolved}"
    );
    // Still good for a while: nothing more.
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::SeqCst);
    hitting.join().unwrap();
    assert_eq!(receiver.messages().len(), 2, "{:?}", receiver.texts());
    let view = alerts_view(&app).await;
    assert_eq!(view["active"], serde_json::json!([]));
    let transitions: Vec<&str> = view["recent"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["transition"].as_str().unwrap())
        .collect();
    assert_eq!(transitions, ["resolved", "fired"]);
    assert_eq!(view["delivery"][0]["channel"], "telegram");
    assert_eq!(view["delivery"][0]["delivered"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_stopped_fires_a_down_alert_and_its_restart_resolves_it() {
    let receiver = Receiver::start().await;
    let mut app = start_app_with(RedisProcessOptions::default(), |config| {
        alerting(config, &receiver, &[(AlertRule::RedisDown, "threshold=1")]);
    })
    .await;
    app.sample_after_now().await;
    app.redis.stop();
    let down = receiver.wait_for(1, Duration::from_secs(15)).await;
    assert_eq!(down.len(), 1);
    let text = down[0].body["text"].as_str().unwrap();
    assert!(text.starts_with("🔴 Redis не отвечает — cache"), "{text}");
    app.redis.restart().unwrap();
    let both = receiver.wait_for(2, Duration::from_secs(15)).await;
    assert_eq!(both.len(), 2, "{:?}", receiver.texts());
    assert!(
        both[1].body["text"]
            .as_str()
            .unwrap()
            .starts_with("✅ Решено: Redis не отвечает")
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(receiver.messages().len(), 2, "{:?}", receiver.texts());
}

fn used_memory(url: &str) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("memory")
        .query(&mut redis_connection(url))
        .unwrap();
    info.lines()
        .find_map(|line| line.strip_prefix("used_memory:"))
        .and_then(|value| value.trim().parse().ok())
        .unwrap()
}

/// Grows or shrinks the data under `filler:` until used memory is near `percent` of `limit`.
fn fill_memory_to(url: &str, limit: u64, percent: f64) {
    let mut connection = redis_connection(url);
    let value = "x".repeat(10_000);
    let goal = (limit as f64 * percent / 100.0) as u64;
    let mut next: u64 = redis::cmd("DBSIZE").query(&mut connection).unwrap();
    while used_memory(url) < goal {
        redis::cmd("SET")
            .arg(format!("filler:{next}"))
            .arg(&value)
            .exec(&mut connection)
            .unwrap();
        next += 1;
    }
    while used_memory(url) > goal && next > 0 {
        next -= 1;
        redis::cmd("DEL")
            .arg(format!("filler:{next}"))
            .exec(&mut connection)
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_filled_past_the_threshold_fires_once_and_flapping_around_it_sends_nothing_more() {
    let receiver = Receiver::start().await;
    let options = RedisProcessOptions {
        maxmemory: Some("8mb".into()),
        maxmemory_policy: Some("noeviction".into()),
        ..Default::default()
    };
    let app = start_app_with(options, |config| {
        alerting(
            config,
            &receiver,
            &[(
                AlertRule::MemoryHigh,
                "threshold=80 resolve=60 for=500ms hold=1s",
            )],
        );
    })
    .await;
    let url = app.redis.url();
    let limit = 8 * 1024 * 1024;
    app.sample_after_now().await;
    assert!(receiver.messages().is_empty());
    fill_memory_to(&url, limit, 85.0);
    let fired = receiver.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(fired.len(), 1);
    let text = fired[0].body["text"].as_str().unwrap();
    assert!(
        text.starts_with("🔴 Память Redis выше порога — cache"),
        "{text}"
    );
    // Around the threshold for several seconds: the hysteresis keeps it one alert.
    for round in 0..8 {
        fill_memory_to(&url, limit, if round % 2 == 0 { 75.0 } else { 84.0 });
        tokio::time::sleep(Duration::from_millis(600)).await;
    }
    assert_eq!(receiver.messages().len(), 1, "{:?}", receiver.texts());
    // Well below `resolve`: one resolution.
    fill_memory_to(&url, limit, 40.0);
    let both = receiver.wait_for(2, Duration::from_secs(10)).await;
    assert_eq!(both.len(), 2, "{:?}", receiver.texts());
    assert!(
        both[1].body["text"]
            .as_str()
            .unwrap()
            .starts_with("✅ Решено: Память Redis выше порога")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silence_keeps_an_alert_quiet_is_audited_and_needs_full_access() {
    let receiver = Receiver::start().await;
    let options = RedisProcessOptions {
        maxmemory: Some("8mb".into()),
        maxmemory_policy: Some("noeviction".into()),
        ..Default::default()
    };
    let app = start_app_with(options, |config| {
        alerting(
            config,
            &receiver,
            &[(AlertRule::MemoryHigh, "threshold=60 resolve=50 for=0")],
        );
    })
    .await;
    let silence = app
        .http
        .post(format!("{}/api/alerts/silence", app.base_url))
        .header("origin", &app.base_url)
        .form(&[("rule", "memory_high"), ("minutes", "30")]);
    let (status, silenced) = harness::json_answer(silence).await;
    assert_eq!(status, 200, "{silenced}");
    assert_eq!(silenced["rule"], "memory_high");

    // An unknown rule and an out-of-range time change nothing.
    for (rule, minutes) in [("memory_hihg", "30"), ("memory_high", "0"), ("*", "99999")] {
        let wrong = app
            .http
            .post(format!("{}/api/alerts/silence", app.base_url))
            .header("origin", &app.base_url)
            .form(&[("rule", rule), ("minutes", minutes)]);
        let (status, error) = harness::json_answer(wrong).await;
        assert_eq!(status, 400, "{rule} {minutes}: {error}");
    }
    // A role with read access only may look but not silence.
    let viewer = ::reqwest::Client::new()
        .post(format!("{}/api/alerts/silence", app.base_url))
        .header("origin", &app.base_url)
        .bearer_auth(harness::token_for("moderator", 7))
        .form(&[("rule", ""), ("minutes", "30")]);
    let (status, _) = harness::json_answer(viewer).await;
    assert!(status == 403 || status == 401, "{status}");

    fill_memory_to(&app.redis.url(), 8 * 1024 * 1024, 70.0);
    let deadline = Instant::now() + Duration::from_secs(10);
    let active = loop {
        let view = alerts_view(&app).await;
        if view["active"].as_array().is_some_and(|a| !a.is_empty()) || Instant::now() > deadline {
            break view;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(active["active"][0]["rule"], "memory_high", "{active}");
    assert_eq!(active["active"][0]["silenced"], true);
    assert_eq!(
        active["silences"][0]["by"]
            .as_str()
            .map(|by| by.contains("superadmin")),
        Some(true)
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(receiver.messages().is_empty(), "{:?}", receiver.texts());

    let (_, audit) = app.get_json("/api/audit").await;
    let silenced_entry = audit
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["action"] == "alert_silenced")
        .unwrap_or_else(|| panic!("{audit}"));
    assert_eq!(silenced_entry["prefix"], "memory_high");
    assert_eq!(silenced_entry["detail"], "minutes=30");

    // Ending the silence tells what still fires.
    let end = app
        .http
        .post(format!("{}/api/alerts/unsilence", app.base_url))
        .header("origin", &app.base_url)
        .form(&[("rule", "memory_high")]);
    let (status, ended) = harness::json_answer(end).await;
    assert_eq!((status, ended), (200, serde_json::json!(true)));
    let told = receiver.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(told.len(), 1);
    assert!(
        told[0].body["text"]
            .as_str()
            .unwrap()
            .starts_with("🔴 Память Redis выше порога")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_receiver_is_retried_never_slows_the_sampler_and_its_failure_shows() {
    let receiver = Receiver::start().await;
    receiver.answer.store(500, Ordering::SeqCst);
    let app = start_app_with(RedisProcessOptions::default(), |config| {
        alerting(
            config,
            &receiver,
            &[(AlertRule::MemoryHigh, "threshold=0 resolve=0 for=0")],
        );
        config.alerts.telegram = None;
        config.alerts.webhook = Some(WebhookSettings {
            url: format!("{}/webhook", receiver.url),
            secret: Some(Secret::new("webhook-signing-secret")),
        });
        config.alerts.delivery_attempts = 4;
        config.alerts.repeat = Some(Duration::from_secs(2));
    })
    .await;
    // Two failures, then the receiver recovers: the third attempt delivers.
    let deadline = Instant::now() + Duration::from_secs(10);
    while receiver.attempts.load(Ordering::SeqCst) < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let failing = alerts_view(&app).await;
    assert_eq!(failing["delivery"][0]["channel"], "webhook");
    assert_eq!(
        failing["delivery"][0]["last_error"], "webhook answered 500",
        "{failing}"
    );
    receiver.answer.store(200, Ordering::SeqCst);
    let delivered = receiver.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(delivered.len(), 1);
    assert!(receiver.attempts.load(Ordering::SeqCst) >= 3);
    let body = &delivered[0].body;
    assert_eq!(body["rule"], "memory_high");
    assert_eq!(body["transition"], "fired");
    assert_eq!(body["target"], "cache");
    let signed = serde_json::to_vec(body).unwrap();
    assert_eq!(
        delivered[0].signature.as_deref(),
        Some(
            cachepanel::server::alerts::deliver::signature("webhook-signing-secret", &signed)
                .as_str()
        )
    );
    let view = alerts_view(&app).await;
    assert_eq!(view["delivery"][0]["delivered"], 1);
    assert_eq!(view["delivery"][0]["last_error"], serde_json::Value::Null);

    // A receiver that hangs: the repeat goes into it, every attempt times out, and the
    // sampler keeps its pace meanwhile.
    receiver.answer.store(0, Ordering::SeqCst);
    let mut previous = app
        .next_snapshot(Duration::from_secs(2))
        .await
        .published_at_ms;
    let mut longest_gap = 0;
    let watched = Instant::now();
    while watched.elapsed() < Duration::from_secs(3) {
        let at = app
            .next_snapshot(Duration::from_secs(2))
            .await
            .published_at_ms;
        longest_gap = longest_gap.max(at - previous);
        previous = at;
    }
    // A sampler that waited for the delivery would stall for all of it: four attempts of
    // 500 ms plus the waits between them, 2.7 s. Some slack for a loaded machine.
    assert!(
        longest_gap < 1000,
        "a sample waited {longest_gap} ms (interval 250 ms)"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let failed = loop {
        let view = alerts_view(&app).await;
        if view["delivery"][0]["failed"].as_u64() >= Some(1) || Instant::now() > deadline {
            break view;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        failed["delivery"][0]["failed"].as_u64() >= Some(1),
        "{failed}"
    );
    assert_eq!(failed["delivery"][0]["last_error"], "timed out");
    let metrics = app.get_text("/metrics").await.1;
    assert!(
        !metrics.contains(
            "cachepanel_alert_deliveries_total{channel=\"webhook\",outcome=\"failed\"} 0"
        ),
        "{metrics}"
    );
    assert!(metrics.contains(
        "cachepanel_alert_deliveries_total{channel=\"webhook\",outcome=\"delivered\"} 1"
    ));
    assert!(metrics.contains("cachepanel_alert_delivery_failing{channel=\"webhook\"} 1"));
    assert!(
        metrics.contains(
            "cachepanel_alert_firing{target=\"cache\",rule=\"memory_high\",labels=\"\"} 1"
        )
    );
}

#[test]
fn the_bot_token_never_appears_in_logs_api_answers_metrics_or_check() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let receiver = runtime.block_on(Receiver::start());
    // The Bot API refuses: the failure is logged, with the reason and without the URL.
    receiver.answer.store(401, Ordering::SeqCst);
    let redis = harness::start_redis(RedisProcessOptions::default());
    let settings = [
        ("CACHEPANEL_TELEGRAM_BOT_TOKEN", BOT_TOKEN),
        ("CACHEPANEL_TELEGRAM_CHAT_IDS", CHAT),
        ("CACHEPANEL_TELEGRAM_API_URL", receiver.url.as_str()),
        (
            "CACHEPANEL_ALERT_MEMORY_HIGH",
            "threshold=0 resolve=0 for=0",
        ),
        ("CACHEPANEL_ALERT_DELIVERY_ATTEMPTS", "2"),
        ("CACHEPANEL_ALERT_RETRY_MS", "50"),
        ("CACHEPANEL_SAMPLE_INTERVAL_MS", "250"),
        ("RUST_LOG", "debug"),
    ];
    let mut served = harness::serve(&redis.url(), &settings, &[]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while receiver.attempts.load(Ordering::SeqCst) < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(receiver.attempts.load(Ordering::SeqCst), 2);
    let client = ::reqwest::Client::new();
    let token = harness::token_for("superadmin", 1);
    let mut answers = String::new();
    for path in ["/api/alerts", "/metrics", "/admin/cache/stats"] {
        let text = runtime.block_on(harness::text_as(
            &client,
            &format!("{}{path}", served.origin),
            &token,
        ));
        answers.push_str(&text);
    }
    assert!(
        answers.contains("Bot API answered 401"),
        "the failure is shown"
    );
    harness::terminate(&mut served.child);
    let log = std::fs::read_to_string(&served.log).unwrap();
    assert!(log.contains("delivering an alert failed"), "{log}");
    let check_with_test_alert = || {
        let outcome = harness::cachepanel()
            .args(["check", "--test-alert"])
            .env("CACHEPANEL_REDIS_URL", redis.url())
            .envs(settings)
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&outcome.stdout).into_owned()
            + &String::from_utf8_lossy(&outcome.stderr);
        (outcome.status.success(), said)
    };
    // The Bot API still refuses: check says so and fails.
    let (passed, refused) = check_with_test_alert();
    assert!(!passed, "{refused}");
    assert!(
        refused.contains("test message to telegram: FAILED: Bot API answered 401"),
        "{refused}"
    );
    assert!(
        refused.contains("CACHEPANEL_TELEGRAM_BOT_TOKEN"),
        "{refused}"
    );
    receiver.answer.store(200, Ordering::SeqCst);
    let (passed, delivered) = check_with_test_alert();
    assert!(passed, "{delivered}");
    assert!(
        delivered.contains("test message to telegram: delivered"),
        "{delivered}"
    );
    let texts = receiver.texts();
    assert_eq!(texts.len(), 1, "{texts:?}");
    assert!(
        texts[0].starts_with("🧪 cachepanel — cache: проверка оповещений"),
        "{texts:?}"
    );
    let check = refused + &delivered;
    let secret_part = BOT_TOKEN.split(':').nth(1).unwrap();
    for (place, text) in [("log", &log), ("answers", &answers), ("check", &check)] {
        assert!(
            !text.contains(secret_part),
            "the bot token is in the {place}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stuck_counters_and_a_429_storm_fire_from_the_counters_readers_view() {
    let receiver = Receiver::start().await;
    let app = start_app_with(RedisProcessOptions::default(), |config| {
        alerting(
            config,
            &receiver,
            &[
                (AlertRule::StuckCounters, "for=0"),
                (AlertRule::RateLimited, "threshold=100 resolve=50"),
            ],
        );
        config.rate_limit.scan_every = Duration::from_secs(1);
    })
    .await;
    let mut connection = redis_connection(&app.redis.url());
    // A counter someone INCRed without its EXPIRE: user 7 stays locked out.
    redis::cmd("SET")
        .arg("rate_limit:user:7")
        .arg(300)
        .exec(&mut connection)
        .unwrap();
    // The limiter's rejection counts: 150 answers 429 for employees around now.
    let now = chrono::Utc::now();
    for minutes in -2..=2 {
        let minute = now + chrono::Duration::minutes(minutes);
        redis::cmd("SET")
            .arg(format!(
                "rate_limit:stats:rejected:employee:{}",
                minute.format("%Y%m%d%H%M")
            ))
            .arg(150)
            .arg("EX")
            .arg(600)
            .exec(&mut connection)
            .unwrap();
    }
    // Both come from the same view of the counters: one message when they fire in the same
    // sample, two when the walks saw them apart.
    let deadline = Instant::now() + Duration::from_secs(15);
    let told = loop {
        let told = receiver.texts().join("\n\n");
        if (told.contains("429") && told.contains("TTL")) || Instant::now() > deadline {
            break told;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        told.contains(
            "🔴 Много ответов 429 — cache (role=employee)\n150 за минуту > 100 за минуту"
        ),
        "{told}"
    );
    assert!(
        told.contains("🔴 Счётчики лимитов без TTL — cache\n1 > 0"),
        "{told}"
    );
}

#[test]
fn a_silence_made_on_one_replica_holds_on_another_and_after_a_restart() {
    let redis = harness::start_redis(RedisProcessOptions::default());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut first = harness::serve(&redis.url(), &[], &[]);
    let client = ::reqwest::Client::new();
    let token = harness::token_for("superadmin", 1);
    let silenced = runtime.block_on(async {
        client
            .post(format!("{}/api/alerts/silence", first.origin))
            .header("origin", &first.origin)
            .bearer_auth(&token)
            .form(&[("rule", "evictions"), ("minutes", "90")])
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(silenced, 200);
    harness::terminate(&mut first.child);
    let mut second = harness::serve(&redis.url(), &[], &[]);
    let deadline = Instant::now() + Duration::from_secs(10);
    let view = loop {
        let view: serde_json::Value = runtime.block_on(async {
            client
                .get(format!("{}/api/alerts", second.origin))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap()
        });
        if view["silences"].as_array().is_some_and(|s| !s.is_empty()) || Instant::now() > deadline {
            break view;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    harness::terminate(&mut second.child);
    assert_eq!(view["silences"][0]["rule"], "evictions", "{view}");
    let until = view["silences"][0]["until_ms"].as_i64().unwrap();
    let left = until - chrono::Utc::now().timestamp_millis();
    assert!(
        (80 * 60_000..=90 * 60_000).contains(&left),
        "{left} ms left"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sentinel_failover_is_told_once_and_resolves_after_its_window() {
    let receiver = Receiver::start().await;
    let mut topology = tokio::task::spawn_blocking(crate::sentinel::Topology::start)
        .await
        .unwrap();
    let replica_port = topology.replica.port();
    let app = crate::sentinel::start_replica_behind(&topology, |config| {
        alerting(config, &receiver, &[(AlertRule::Failover, "window=3s")]);
        config.live.interval = Duration::from_millis(250);
    })
    .await;
    app.snapshot_where(Duration::from_secs(10), |s| {
        s.topology.as_ref().is_some_and(|t| t.master.is_some())
    })
    .await;
    topology.master.stop();
    let fired = receiver.wait_for(1, Duration::from_secs(40)).await;
    assert_eq!(fired.len(), 1, "no failover was told");
    let text = fired[0].body["text"].as_str().unwrap();
    assert!(
        text.starts_with("🔴 Sentinel сменил мастер — cache"),
        "{text}"
    );
    assert_eq!(topology.master_according_to_sentinels(), Some(replica_port));
    let both = receiver.wait_for(2, Duration::from_secs(10)).await;
    assert_eq!(both.len(), 2, "{:?}", receiver.texts());
    assert!(
        both[1].body["text"]
            .as_str()
            .unwrap()
            .starts_with("✅ Решено: Sentinel сменил мастер")
    );
    assert!(both[1].at - both[0].at >= Duration::from_millis(2500));
}

#[test]
fn two_replicas_tell_each_transition_once() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let receiver = runtime.block_on(Receiver::start());
    let redis = harness::start_redis(RedisProcessOptions::default());
    let settings = |replica: &'static str| {
        vec![
            ("CACHEPANEL_TELEGRAM_BOT_TOKEN", BOT_TOKEN.to_owned()),
            ("CACHEPANEL_TELEGRAM_CHAT_IDS", CHAT.to_owned()),
            ("CACHEPANEL_TELEGRAM_API_URL", receiver.url.clone()),
            (
                "CACHEPANEL_ALERT_MEMORY_HIGH",
                "threshold=40 resolve=30 for=0 hold=0".to_owned(),
            ),
            ("CACHEPANEL_SAMPLE_INTERVAL_MS", "250".to_owned()),
            ("CACHEPANEL_REPLICA_ID", replica.to_owned()),
        ]
    };
    let (a, b) = (settings("panel-a"), settings("panel-b"));
    let a: Vec<(&str, &str)> = a.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let b: Vec<(&str, &str)> = b.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut first = harness::serve(&redis.url(), &a, &[]);
    let mut second = harness::serve(&redis.url(), &b, &[]);
    std::thread::sleep(Duration::from_secs(1));
    let mut connection = redis_connection(&redis.url());
    let used = used_memory(&redis.url());
    redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg(used * 3 / 2)
        .exec(&mut connection)
        .unwrap();
    let fired = runtime.block_on(receiver.wait_for(1, Duration::from_secs(10)));
    assert_eq!(fired.len(), 1);
    // Both replicas saw it; give the slower one time to tell it too, if it would.
    std::thread::sleep(Duration::from_secs(2));
    redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg(0)
        .exec(&mut connection)
        .unwrap();
    let both = runtime.block_on(receiver.wait_for(2, Duration::from_secs(10)));
    std::thread::sleep(Duration::from_secs(2));
    harness::terminate(&mut first.child);
    harness::terminate(&mut second.child);
    let texts = receiver.texts();
    assert_eq!(both.len(), 2, "{texts:?}");
    assert_eq!(texts.len(), 2, "each transition once: {texts:?}");
    assert!(
        texts[0].starts_with("🔴 Память Redis выше порога"),
        "{texts:?}"
    );
    assert!(
        texts[1].starts_with("✅ Решено: Память Redis выше порога"),
        "{texts:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_fires_together_on_a_target_is_one_telegram_message_and_one_webhook_call_each() {
    let receiver = Receiver::start().await;
    let app = start_app_with(RedisProcessOptions::default(), |config| {
        alerting(
            config,
            &receiver,
            &[
                (AlertRule::MemoryHigh, "threshold=0 resolve=0 for=0"),
                (AlertRule::MemoryCritical, "threshold=0 resolve=0 for=0"),
            ],
        );
        config.alerts.webhook = Some(WebhookSettings {
            url: format!("{}/webhook", receiver.url),
            secret: None,
        });
    })
    .await;
    receiver.wait_for(3, Duration::from_secs(10)).await;
    // Anything more that would come, would come now.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let arrived = receiver.messages();
    let telegram: Vec<&Received> = arrived.iter().filter(|m| m.token == BOT_TOKEN).collect();
    let webhook: Vec<&Received> = arrived.iter().filter(|m| m.token == "webhook").collect();
    assert_eq!(telegram.len(), 1, "{:?}", receiver.texts());
    let text = telegram[0].body["text"].as_str().unwrap();
    assert!(
        text.contains("🔴 Память Redis выше порога — cache"),
        "{text}"
    );
    assert!(
        text.contains("🔴 Память Redis почти исчерпана — cache"),
        "{text}"
    );
    assert_eq!(
        text.matches("https://admin.example/admin/cache/stats")
            .count(),
        1,
        "{text}"
    );
    let mut rules: Vec<&str> = webhook
        .iter()
        .map(|m| m.body["rule"].as_str().unwrap())
        .collect();
    rules.sort();
    assert_eq!(rules, ["memory_critical", "memory_high"]);
    drop(app);
}

fn config_value(connection: &mut redis::Connection, name: &str) -> String {
    let pair: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg(name)
        .query(connection)
        .unwrap();
    pair[1].clone()
}

/// Starts a background save and waits for its outcome (`rdb_last_bgsave_status`).
fn background_save(connection: &mut redis::Connection) -> String {
    redis::cmd("BGSAVE").exec(connection).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let info: String = redis::cmd("INFO")
            .arg("persistence")
            .query(connection)
            .unwrap();
        let field = |name: &str| {
            info.lines()
                .find_map(|line| line.strip_prefix(name))
                .map(|value| value.trim().to_owned())
                .unwrap_or_default()
        };
        if field("rdb_bgsave_in_progress:") == "0" {
            return field("rdb_last_bgsave_status:");
        }
        assert!(Instant::now() < deadline, "the save never ended");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A background save that really fails — a directory has the dump file's name, so Redis
/// cannot move its finished snapshot into place — fires the save alert; a save that works
/// again resolves it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_background_save_that_really_fails_fires_the_save_alert_and_a_good_one_resolves_it() {
    let receiver = Receiver::start().await;
    let app = start_app_with(RedisProcessOptions::default(), |config| {
        alerting(
            config,
            &receiver,
            &[(AlertRule::SaveFailed, "for=0s hold=0s")],
        );
    })
    .await;
    app.sample_after_now().await;
    let mut connection = redis_connection(&app.redis.url());
    let dump = std::path::PathBuf::from(config_value(&mut connection, "dir"))
        .join(config_value(&mut connection, "dbfilename"));
    let _ = std::fs::remove_file(&dump);
    std::fs::create_dir(&dump).unwrap();
    assert_eq!(
        background_save(&mut connection),
        "err",
        "Redis could not save"
    );

    let fired = receiver.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(fired.len(), 1, "{:?}", receiver.texts());
    let text = fired[0].body["text"].as_str().unwrap();
    assert!(text.contains("Сбой сохранения на диск"), "{text}");
    let view = alerts_view(&app).await;
    assert_eq!(view["active"][0]["rule"], "save_failed", "{view}");
    assert_eq!(view["active"][0]["phase"], "firing", "{view}");

    std::fs::remove_dir(&dump).unwrap();
    assert_eq!(background_save(&mut connection), "ok");
    let both = receiver.wait_for(2, Duration::from_secs(10)).await;
    assert_eq!(both.len(), 2, "{:?}", receiver.texts());
    let resolved = both[1].body["text"].as_str().unwrap();
    assert!(
        resolved.starts_with("✅") && resolved.contains("Сбой сохранения на диск"),
        "{resolved}"
    );
    assert_eq!(alerts_view(&app).await["active"], serde_json::json!([]));
}
