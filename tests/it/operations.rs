//! The operator's side of the binary: `cachepanel check`, a TOML file under the environment,
//! JSON logs, and a graceful SIGTERM during a flush.

use std::process::Command;
use std::time::{Duration, Instant};

use cachepanel::server::redis::process::RedisProcessOptions;

use crate::harness::{
    TEST_JWT_SECRET, cachepanel, fill_keys, redis_connection, serve, start_redis, terminate,
    token_for,
};

fn output_of(command: &mut Command) -> (bool, String) {
    let output = command.output().unwrap();
    (
        output.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

#[test]
fn check_reports_a_good_redis_with_its_version_and_policy() {
    let redis = start_redis(RedisProcessOptions {
        maxmemory: Some("64mb".into()),
        maxmemory_policy: Some("allkeys-lru".into()),
        ..Default::default()
    });
    let (ok, said) = output_of(
        cachepanel()
            .arg("check")
            .env("CACHEPANEL_REDIS_URL", redis.url()),
    );
    assert!(ok, "{said}");
    assert!(said.contains("version 7."), "{said}");
    assert!(said.contains("policy allkeys-lru"), "{said}");
    assert!(said.contains("maxmemory 64.0"), "{said}");
    assert!(
        said.contains("persistence: RDB save off, AOF off"),
        "{said}"
    );
    assert!(said.contains("differs from the expected profile"), "{said}");
    assert!(said.contains("CACHEPANEL_JWT_SECRET = ***"), "{said}");
    assert!(!said.contains(TEST_JWT_SECRET));
}

#[test]
fn check_names_a_wrong_password_without_printing_it() {
    let redis = start_redis(RedisProcessOptions {
        password: Some("right-password-123".into()),
        ..Default::default()
    });
    let url = format!("redis://:wrong-password-456@127.0.0.1:{}/0", redis.port());
    let (ok, said) = output_of(cachepanel().arg("check").env("CACHEPANEL_REDIS_URL", &url));
    assert!(!ok, "{said}");
    assert!(said.contains("authentication failed"), "{said}");
    assert!(!said.contains("wrong-password-456") && !said.contains("right-password-123"));
}

#[test]
fn check_reports_an_unreachable_port_within_the_timeout() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let started = Instant::now();
    let (ok, said) = output_of(
        cachepanel()
            .arg("check")
            .env(
                "CACHEPANEL_REDIS_URL",
                format!("redis://127.0.0.1:{port}/0"),
            )
            .env("CACHEPANEL_REDIS_CONNECT_TIMEOUT_MS", "500"),
    );
    assert!(!ok, "{said}");
    assert!(said.contains("connection refused"), "{said}");
    assert!(started.elapsed() < Duration::from_secs(5));
    // And a configuration error is named before any connection is tried.
    let (ok, said) = output_of(
        cachepanel()
            .arg("check")
            .env("CACHEPANEL_REDIS_URL", "http://x"),
    );
    assert!(!ok && said.contains("CACHEPANEL_REDIS_URL"), "{said}");
}

#[test]
fn a_toml_file_is_read_and_the_environment_overrides_it() {
    let good = start_redis(RedisProcessOptions::default());
    let path = std::env::temp_dir().join(format!("cachepanel-{}.toml", std::process::id()));
    std::fs::write(
        &path,
        "redis_url = \"redis://127.0.0.1:1/0\"\ntarget_name = \"from-file\"\n",
    )
    .unwrap();
    // File alone: its (unreachable) Redis and its target name.
    let (ok, said) = output_of(cachepanel().args(["--config"]).arg(&path).arg("check"));
    assert!(!ok && said.contains("target 'from-file'"), "{said}");
    // The environment's Redis wins; the file's other setting stays.
    let (ok, said) = output_of(
        cachepanel()
            .args(["--config"])
            .arg(&path)
            .arg("check")
            .env("CACHEPANEL_REDIS_URL", good.url()),
    );
    assert!(ok, "{said}");
    assert!(said.contains("target 'from-file'"), "{said}");
    std::fs::write(&path, "redis_ulr = \"x\"\n").unwrap();
    let (ok, said) = output_of(cachepanel().args(["--config"]).arg(&path).arg("check"));
    assert!(
        !ok && said.contains("unknown setting 'redis_ulr'"),
        "{said}"
    );
    let _ = std::fs::remove_file(path);
}

#[tokio::test]
async fn json_log_lines_parse_carry_request_fields_and_no_secret() {
    let redis = start_redis(RedisProcessOptions {
        password: Some("json-log-redis-pass".into()),
        ..Default::default()
    });
    let mut served = serve(&redis.url(), &[], &["--log-format", "json"]);
    let token = token_for("superadmin", 1);
    let client = reqwest::Client::new();
    let response = client
        .get(format!("{}/api/stats", served.origin))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let _ = client
        .get(format!("{}/api/stats", served.origin))
        .bearer_auth("forged.token.value")
        .send()
        .await;
    terminate(&mut served.child);
    let log = std::fs::read_to_string(&served.log).unwrap();
    let _ = std::fs::remove_file(&served.log);
    let lines: Vec<&str> = log
        .lines()
        .filter(|line| !line.starts_with("cachepanel: open"))
        .collect();
    assert!(lines.len() > 3, "{log}");
    let mut statuses = Vec::new();
    for line in &lines {
        let entry: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        if entry["fields"]["message"] == "response" && entry["span"]["route"] == "/api/{*server_fn}"
        {
            assert_eq!(entry["span"]["method"], "GET");
            assert!(entry["fields"]["latency_ms"].as_f64().is_some());
            statuses.push(entry["fields"]["status"].as_u64().unwrap_or(0));
        }
    }
    statuses.sort_unstable();
    assert_eq!(
        statuses,
        [200, 401],
        "request lines with route, status and latency: {log}"
    );
    for secret in [
        "json-log-redis-pass",
        TEST_JWT_SECRET,
        token.as_str(),
        "forged.token.value",
    ] {
        assert!(!log.contains(secret), "{secret} in the log");
    }
}

#[tokio::test]
async fn sigterm_during_a_flush_exits_in_time_and_audits_it_as_interrupted() {
    let redis = start_redis(RedisProcessOptions::default());
    fill_keys(&redis.url(), "user:", 200_000);
    // A slow flush (small duty cycle), so it is surely running when the signal comes.
    let mut served = serve(
        &redis.url(),
        &[("CACHEPANEL_FLUSH_DUTY_CYCLE", "0.05")],
        &[],
    );
    let client = reqwest::Client::new();
    let token = token_for("superadmin", 4);
    let preview: serde_json::Value = client
        .post(format!("{}/api/flush/preview", served.origin))
        .bearer_auth(&token)
        .form(&[("prefix", "user:")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = preview["id"].as_str().unwrap().to_owned();
    let started = client
        .post(format!("{}/api/flush/start", served.origin))
        .bearer_auth(&token)
        .form(&[("prefix", "user:"), ("preview_id", id.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(started.status().as_u16(), 200);
    // An open event stream must not hold the shutdown up.
    let events = client
        .get(format!("{}/api/live/events", served.origin))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(events.status().as_u16(), 200);
    let mut connection = redis_connection(&redis.url());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left: u64 = redis::cmd("DBSIZE").query(&mut connection).unwrap();
        if left < 200_000 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the flush did not start deleting"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let took = terminate(&mut served.child);
    drop(events);
    eprintln!("exited {took:?} after SIGTERM");
    assert!(took < Duration::from_secs(10), "exited after {took:?}");
    let left: u64 = redis::cmd("DBSIZE").query(&mut connection).unwrap();
    assert!(left > 0, "the flush was interrupted, not finished");
    let entries: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
        .arg("cachepanel:audit")
        .arg("-")
        .arg("+")
        .query(&mut connection)
        .unwrap();
    let interrupted = entries.iter().find(|(_, fields)| {
        fields
            .iter()
            .any(|(name, value)| name == "action" && value == "flush_interrupted")
    });
    let (_, fields) =
        interrupted.unwrap_or_else(|| panic!("no flush_interrupted entry: {entries:?}"));
    assert!(
        fields
            .iter()
            .any(|(name, value)| name == "actor" && value.contains("#4"))
    );
    let _ = std::fs::remove_file(&served.log);
}

#[tokio::test]
async fn values_in_the_slow_log_appear_in_no_answer_page_metric_or_log_line() {
    let secret = "s3cr3t-value-in-slowlog";
    let redis = start_redis(RedisProcessOptions {
        extra_args: vec!["--slowlog-log-slower-than".into(), "0".into()],
        ..Default::default()
    });
    let mut served = serve(
        &redis.url(),
        &[
            ("CACHEPANEL_LOG", "debug"),
            ("CACHEPANEL_SAMPLE_INTERVAL_MS", "200"),
            ("CACHEPANEL_CLIENTS_INTERVAL_MS", "200"),
        ],
        &[],
    );
    let mut connection = redis_connection(&redis.url());
    let _: () = redis::cmd("SET")
        .arg("user:1")
        .arg(secret)
        .query(&mut connection)
        .unwrap();
    let _: () = redis::cmd("HSET")
        .arg("object:1")
        .arg("field")
        .arg(secret)
        .query(&mut connection)
        .unwrap();
    let _: String = redis::cmd("EVAL")
        .arg(format!("return '{secret}'"))
        .arg(1)
        .arg("shift:1")
        .arg(secret)
        .query(&mut connection)
        .unwrap();
    let token = token_for("superadmin", 1);
    let client = reqwest::Client::new();
    let get = |path: &str| {
        client
            .get(format!("{}{path}", served.origin))
            .header("cookie", format!("access_token={token}"))
            .send()
    };
    // Wait until the three commands were read from the slow log, then read everything.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut diagnostics = String::new();
    while Instant::now() < deadline {
        diagnostics = get("/api/diagnostics").await.unwrap().text().await.unwrap();
        if ["SET user:*", "HSET object:*", "EVAL shift:*"]
            .iter()
            .all(|shape| diagnostics.contains(shape))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(diagnostics.contains("EVAL shift:*"), "{diagnostics}");
    let mut answers = vec![diagnostics];
    for path in [
        "/api/commands?range=15m",
        "/api/live/snapshot",
        "/metrics",
        "/admin/cache/stats",
    ] {
        let response = get(path).await.unwrap_or_else(|error| {
            let log = std::fs::read_to_string(&served.log).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(15).collect();
            panic!("{path}: {error}; log tail: {tail:#?}")
        });
        assert_eq!(response.status().as_u16(), 200, "{path}");
        answers.push(response.text().await.unwrap());
    }
    terminate(&mut served.child);
    let log = std::fs::read_to_string(&served.log).unwrap();
    let _ = std::fs::remove_file(&served.log);
    assert!(log.lines().count() > 3, "{log}");
    for (index, text) in answers.iter().chain([&log]).enumerate() {
        assert!(!text.contains(secret), "the value is in answer {index}");
    }
}
