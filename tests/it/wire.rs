//! The browser reads the server's JSON with the model's own decoder (`model::wire`), not with
//! serde. Every kind of answer the page reads — server functions' results and errors, the
//! event stream's events, the page settings — taken from a real server over a real Redis,
//! must decode, and decode to exactly what was sent (serialized again, compared as JSON).

use std::time::Duration;

use cachepanel::error::AppError;
use cachepanel::model::census::CensusState;
use cachepanel::model::flush::{AuditEntry, FlushPreview, FlushState};
use cachepanel::model::live::{LiveSnapshot, Point};
use cachepanel::model::rate_limit::CountersReport;
use cachepanel::model::wire::{self, FromJson};
use cachepanel::model::{PageConfig, StatsReport};
use cachepanel::server::redis::process::RedisProcessOptions;
use serde::Serialize;

use crate::census::run_census;
use crate::harness::{fast_sampling, fill_keys, redis_connection, start_app_with};

/// Decodes `text` as `T` and checks that nothing was lost or changed on the way.
fn decodes_faithfully<T: FromJson + Serialize>(what: &str, text: &str) -> T {
    let decoded: T = wire::decode(text).unwrap_or_else(|error| panic!("{what}: {error}\n{text}"));
    let sent: serde_json::Value = serde_json::from_str(text).unwrap();
    let again = serde_json::to_value(&decoded).unwrap();
    assert!(same_json(&again, &sent), "{what}:\n{again}\n{sent}");
    decoded
}

/// Equal JSON, numbers compared as numbers: serde_json's own parser (without its
/// `float_roundtrip` feature) may read a float one unit in the last place off, where the
/// browser's decoder rounds correctly.
fn same_json(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            match (x.as_u64(), y.as_u64(), x.as_i64(), y.as_i64()) {
                (Some(x), Some(y), _, _) => x == y,
                (_, _, Some(x), Some(y)) => x == y,
                _ => {
                    let (x, y) = (
                        x.as_f64().unwrap_or(f64::NAN),
                        y.as_f64().unwrap_or(f64::NAN),
                    );
                    x == y || (x - y).abs() <= f64::EPSILON * x.abs().max(y.abs())
                }
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_json(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(key, value)| y.get(key).is_some_and(|other| same_json(value, other)))
        }
        (x, y) => x == y,
    }
}

#[tokio::test]
async fn the_browser_decoder_reads_every_answer_the_page_gets() {
    let app = start_app_with(RedisProcessOptions::default(), fast_sampling).await;
    fill_keys(&app.redis.url(), "user:", 40);
    fill_keys(&app.redis.url(), "analytics:", 5);
    let mut connection = redis_connection(&app.redis.url());
    let _: () = redis::cmd("SET")
        .arg("rate_limit:user:7")
        .arg(12)
        .arg("EX")
        .arg(60)
        .query(&mut connection)
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg("rate_limit:ip:10.0.0.9")
        .arg(3)
        .arg("EX")
        .arg(60)
        .query(&mut connection)
        .unwrap();
    app.sample_after_now().await;
    run_census(&app).await;

    let text = |path: &'static str| {
        let app = &app;
        async move {
            let (status, body) = app.get_text(path).await;
            assert_eq!(status, 200, "{path}: {body}");
            body
        }
    };
    let post = |path: &'static str, form: Vec<(&'static str, String)>| {
        let app = &app;
        async move {
            let response = app
                .http
                .post(format!("{}{path}", app.base_url))
                .form(&form)
                .send()
                .await
                .unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };

    let stats: Result<StatsReport, AppError> =
        Ok(decodes_faithfully("stats", &text("/api/stats").await));
    assert!(matches!(stats, Ok(StatsReport::Up { .. })), "{stats:?}");
    let snapshot: LiveSnapshot = decodes_faithfully("snapshot", &text("/api/live/snapshot").await);
    assert_eq!(snapshot.target, "cache");
    for range in ["15m", "1h", "6h", "24h"] {
        let path: &'static str = Box::leak(format!("/api/history?range={range}").into_boxed_str());
        let points: Vec<Point> = decodes_faithfully(path, &text(path).await);
        assert!(!points.is_empty(), "{range}: the samples so far");
    }
    let census: CensusState = decodes_faithfully("census", &text("/api/census").await);
    assert!(census.last.is_some(), "a finished census with its groups");
    let counters: CountersReport =
        decodes_faithfully("rate limits", &text("/api/rate-limits").await);
    assert!(counters.counters >= 2, "{counters:?}");

    let (status, body) = post("/api/flush/preview", vec![("prefix", "user:".to_owned())]).await;
    assert_eq!(status, 200, "{body}");
    let preview: FlushPreview = decodes_faithfully("preview", &body);
    let (status, body) = post(
        "/api/flush/start",
        vec![
            ("prefix", "user:".to_owned()),
            ("preview_id", preview.id.clone()),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    decodes_faithfully::<FlushState>("flush started", &body);
    tokio::time::timeout(Duration::from_secs(20), async {
        while decodes_faithfully::<FlushState>("flush", &text("/api/flush").await)
            .running
            .is_some()
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the flush finished");
    let flush: FlushState = decodes_faithfully("flush done", &text("/api/flush").await);
    assert!(flush.last.is_some());
    let audit: Vec<AuditEntry> = decodes_faithfully("audit", &text("/api/audit").await);
    assert!(audit.len() >= 2, "preview and flush are audited: {audit:?}");
    let (status, body) = post("/api/census/cancel", vec![]).await;
    assert_eq!(status, 200, "{body}");
    let _: bool = decodes_faithfully("cancel", &body);

    // Errors the page shows: refused input (with its problem), a conflict, no session.
    let (status, body) = post("/api/flush/preview", vec![("prefix", "*".to_owned())]).await;
    assert_eq!(status, 400, "{body}");
    let refused: AppError = decodes_faithfully("bad prefix", &body);
    assert!(
        matches!(
            refused,
            AppError::BadRequest {
                problem: Some(_),
                ..
            }
        ),
        "{refused:?}"
    );
    let (status, body) = post(
        "/api/flush/start",
        vec![
            ("prefix", "user:".to_owned()),
            ("preview_id", "0000".to_owned()),
        ],
    )
    .await;
    assert!(status >= 400, "{body}");
    decodes_faithfully::<AppError>("unknown preview", &body);
    let anonymous = reqwest::Client::new()
        .get(format!("{}/api/stats", app.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
    let unauthorized: AppError = decodes_faithfully("no session", &anonymous.text().await.unwrap());
    assert_eq!(unauthorized, AppError::Unauthorized);

    // The event stream's events, as the page's EventSource receives them.
    let mut stream = app.get("/api/live/events").await;
    let mut body = String::new();
    let mut seen = std::collections::BTreeSet::new();
    tokio::time::timeout(Duration::from_secs(15), async {
        while seen.len() < 4 {
            let chunk = stream.chunk().await.unwrap().expect("stream open");
            body.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = body.find("\n\n") {
                let event: String = body.drain(..end + 2).collect();
                let name = event
                    .lines()
                    .find_map(|l| l.strip_prefix("event: "))
                    .unwrap_or("");
                let Some(data) = event.lines().find_map(|l| l.strip_prefix("data: ")) else {
                    continue;
                };
                match name {
                    "snapshot" => {
                        decodes_faithfully::<LiveSnapshot>(name, data);
                    }
                    "census" => {
                        decodes_faithfully::<CensusState>(name, data);
                    }
                    "flush" => {
                        decodes_faithfully::<FlushState>(name, data);
                    }
                    "rate_limits" => {
                        decodes_faithfully::<CountersReport>(name, data);
                    }
                    _ => continue,
                }
                seen.insert(name.to_owned());
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("all four kinds of event arrive; saw {seen:?}"));

    // The page settings rendered into the document.
    let (status, page) = app.get_text("/admin/cache/stats?lang=en").await;
    assert_eq!(status, 200);
    let marker = format!("id=\"{}\">", PageConfig::ELEMENT_ID);
    let start = page.find(&marker).expect("the page settings element") + marker.len();
    let json = &page[start..start + page[start..].find("</script>").unwrap()];
    let config: PageConfig = decodes_faithfully("page settings", json);
    assert!(config.can_act);
}

#[test]
fn every_error_the_page_can_be_sent_decodes() {
    use cachepanel::error::Problem;
    let problems = [
        None,
        Some(Problem::ReadOnly),
        Some(Problem::NotACache),
        Some(Problem::InvalidPrefix),
        Some(Problem::NotACounter {
            key: "user:1".into(),
        }),
        Some(Problem::StateGroup {
            prefix: "pin:".into(),
            group: "pin".into(),
        }),
        Some(Problem::NotACacheGroup {
            prefix: "x".into(),
            groups: "a, b".into(),
        }),
        Some(Problem::UnknownPreview),
        Some(Problem::ConfirmationMismatch {
            typed: "a".into(),
            previewed: "b".into(),
        }),
        Some(Problem::FlushRunning {
            replica: Some("panel-a".into()),
        }),
        Some(Problem::CensusRunning { replica: None }),
    ];
    let mut errors = vec![
        AppError::Unauthorized,
        AppError::Forbidden,
        AppError::CrossSite {
            message: "origin \"x\" \u{1F600}".into(),
        },
        AppError::RedisUnavailable {
            reason: "timeout\nafter 2 s".into(),
        },
        AppError::PayloadTooLarge {
            limit_bytes: 65_536,
        },
        AppError::RateLimited {
            retry_after_seconds: 7,
        },
        AppError::Internal {
            reference: "ab12".into(),
        },
    ];
    for problem in problems {
        errors.push(AppError::BadRequest {
            message: "m".into(),
            problem: problem.clone(),
        });
        errors.push(AppError::Conflict {
            message: "m".into(),
            problem: problem.clone(),
        });
        errors.push(AppError::Disabled {
            message: "m".into(),
            problem,
        });
    }
    for error in errors {
        let text = serde_json::to_string(&error).unwrap();
        let decoded: AppError = decodes_faithfully("error", &text);
        assert_eq!(decoded, error);
    }
}
