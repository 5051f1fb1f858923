//! Shared by the benchmarks: the release server as a child process, a private redis-server,
//! a second client measuring latency, and /proc memory readings.

#![allow(
    dead_code,
    reason = "each benchmark uses a different part of this module"
)]

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use cachepanel::server::redis::process::RedisProcess;

pub struct Server {
    pub child: Child,
    pub origin: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the release server (CACHEPANEL_BIN) against `redis` and waits for /healthz.
const BENCH_JWT_SECRET: &str = "bench-secret-0123456789abcdef-0123";

/// An HTTP client signed in as a superadmin (Bearer token, as API clients send it).
pub fn client_builder() -> reqwest::ClientBuilder {
    let now = chrono::Utc::now().timestamp();
    let claims =
        serde_json::json!({"sub": "1", "role": "superadmin", "iat": now, "exp": now + 86_400});
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(BENCH_JWT_SECRET.as_bytes()),
    )
    .unwrap();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}").parse().unwrap(),
    );
    reqwest::Client::builder().default_headers(headers)
}

pub fn client() -> reqwest::Client {
    client_builder().build().unwrap()
}

pub async fn start_server(redis: &RedisProcess, env: &[(&str, &str)]) -> Server {
    let bin = std::env::var("CACHEPANEL_BIN").expect("CACHEPANEL_BIN names the release server");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut command = Command::new(bin);
    command
        .env("CACHEPANEL_REDIS_URL", redis.url())
        .env("CACHEPANEL_ADDR", format!("127.0.0.1:{port}"))
        .env("CACHEPANEL_CENSUS_EVERY_SECONDS", "0")
        .env("CACHEPANEL_LOG", "warn")
        .env("CACHEPANEL_JWT_SECRET", BENCH_JWT_SECRET)
        // The limiter would add a counter key and a script call per request to what is measured.
        .env("CACHEPANEL_RATE_LIMIT_ENABLED", "false")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    let server = Server {
        child: command.spawn().unwrap(),
        origin: format!("http://127.0.0.1:{port}"),
    };
    let http = reqwest::Client::new();
    for _ in 0..200 {
        if http
            .get(format!("{}/healthz", server.origin))
            .send()
            .await
            .is_ok()
        {
            return server;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("server did not start");
}

/// A field of /proc/PID/status in KiB (`VmRSS:`, `VmHWM:`).
pub fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// A connection without the client's default 500 ms response timeout: `KEYS *`, bulk loads
/// and the PINGs queued behind them take longer than that.
pub async fn connection(redis: &RedisProcess) -> redis::aio::MultiplexedConnection {
    let config = redis::AsyncConnectionConfig::new().set_response_timeout(None);
    redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .unwrap()
}

/// Runs `work` while a second client sends one PING per millisecond; returns the work's
/// result and that client's (p99, max) latency in ms.
pub async fn probed<T>(
    redis: &RedisProcess,
    work: impl std::future::Future<Output = T>,
) -> (T, f64, f64) {
    let stop = Arc::new(AtomicBool::new(false));
    let mut connection = connection(redis).await;
    let flag = stop.clone();
    let probe = tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_millis(1));
        let mut millis = Vec::new();
        while !flag.load(Ordering::Relaxed) {
            ticker.tick().await;
            let started = Instant::now();
            let _: String = redis::cmd("PING")
                .query_async(&mut connection)
                .await
                .unwrap();
            millis.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        millis.sort_by(f64::total_cmp);
        let p99 = millis.get(millis.len() * 99 / 100).copied().unwrap_or(0.0);
        (p99, millis.last().copied().unwrap_or(0.0))
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let result = work.await;
    stop.store(true, Ordering::Relaxed);
    let (p99, max) = probe.await.unwrap();
    (result, p99, max)
}

/// Calls per command from `INFO commandstats` (`"info" → 12`, …).
pub fn command_calls(redis: &RedisProcess) -> std::collections::HashMap<String, u64> {
    let mut connection = redis::Client::open(redis.url())
        .unwrap()
        .get_connection()
        .unwrap();
    let stats: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(&mut connection)
        .unwrap();
    commandstats::parse_command_calls(&stats)
}

#[path = "../../tests/support/commandstats.rs"]
mod commandstats;

/// Starts a census through the API and waits for it: (seconds, keys scanned).
pub async fn census_via_api(http: &reqwest::Client, origin: &str) -> (f64, u64) {
    let response = http
        .post(format!("{origin}/api/census/start"))
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "census start: {}",
        response.status()
    );
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let state: serde_json::Value = http
            .get(format!("{origin}/api/census"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if state["running"].is_null() && !state["last"].is_null() {
            let last = &state["last"];
            assert_eq!(last["outcome"]["state"], "complete");
            return (
                last["duration_ms"].as_f64().unwrap() / 1000.0,
                last["scanned_keys"].as_u64().unwrap(),
            );
        }
    }
}

/// Previews `prefix` through the API (untimed) and returns the preview id.
pub async fn preview_via_api(http: &reqwest::Client, origin: &str, prefix: &str) -> String {
    let preview: serde_json::Value = http
        .post(format!("{origin}/api/flush/preview"))
        .form(&[("prefix", prefix)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    preview["id"].as_str().unwrap().to_owned()
}

/// Starts the previewed flush and waits for it: (seconds, keys deleted).
pub async fn flush_via_api(
    http: &reqwest::Client,
    origin: &str,
    prefix: &str,
    id: &str,
) -> (f64, u64) {
    let response = http
        .post(format!("{origin}/api/flush/start"))
        .form(&[("prefix", prefix), ("preview_id", id)])
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "flush start: {}",
        response.status()
    );
    loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let state: serde_json::Value = http
            .get(format!("{origin}/api/flush"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if state["running"].is_null() && !state["last"].is_null() {
            let last = &state["last"];
            assert_eq!(last["outcome"]["state"], "complete", "{state}");
            return (
                last["duration_ms"].as_f64().unwrap() / 1000.0,
                last["deleted_keys"].as_u64().unwrap(),
            );
        }
    }
}
