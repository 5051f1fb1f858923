//! Starts a `redis-server` and the cachepanel app for one test; both stop when dropped.

use std::time::Duration;

use cachepanel::model::live::LiveSnapshot;
use cachepanel::server::config::{Config, Env, RedisUrl};
use cachepanel::server::live::sampler::SamplerHandle;
use cachepanel::server::redis::process::{RedisProcess, RedisProcessOptions};
use cachepanel::server::state::{AppState, BackgroundTasks};

pub struct TestApp {
    pub redis: RedisProcess,
    pub base_url: String,
    pub http: reqwest::Client,
    server: tokio::task::JoinHandle<()>,
    _background: BackgroundTasks,
    pub live: SamplerHandle,
    pub census: std::sync::Arc<cachepanel::server::census::CensusManager>,
    pub flush: std::sync::Arc<cachepanel::server::flush::FlushManager>,
    pub counters: std::sync::Arc<cachepanel::server::rate_limit::counters::CountersReader>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The admin's SECRET_KEY in tests.
pub const TEST_JWT_SECRET: &str = "it-secret-for-tests-0123456789abcdef";

/// A token the way the admin mints it (PyJWT, HS256): `sub`, `role`, `exp`, `iat`, names.
/// cachepanel's own keys on a Redis while its sampler runs: the replicas' shared count of
/// cachepanel's lookups (`cachepanel:{target}:own_lookups`).
pub const SAMPLER_STATE_KEYS: u64 = 1;

pub fn mint_token(claims: &serde_json::Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

pub fn token_for(role: &str, user_id: u64) -> String {
    let now = chrono::Utc::now().timestamp();
    mint_token(
        &serde_json::json!({
            "sub": user_id.to_string(),
            "role": role,
            "exp": now + 3600,
            "iat": now,
            "username": format!("{role}{user_id}"),
            "first_name": "Тест",
        }),
        TEST_JWT_SECRET,
    )
}

pub fn start_redis(options: RedisProcessOptions) -> RedisProcess {
    RedisProcess::start(options).expect("starting redis-server")
}

/// A synchronous connection for seeding data from the test.
pub fn redis_connection(url: &str) -> redis::Connection {
    redis::Client::open(url)
        .and_then(|client| client.get_connection_with_timeout(Duration::from_secs(2)))
        .expect("connecting to the test redis")
}

pub async fn start_app() -> TestApp {
    start_app_with(RedisProcessOptions::default(), |_| {}).await
}

/// Starts Redis, then the app pointed at it; `adjust` may change the configuration first.
pub async fn start_app_with(
    options: RedisProcessOptions,
    adjust: impl FnOnce(&mut Config),
) -> TestApp {
    let redis = start_redis(options);
    let mut config =
        Config::from_env(&Env::pairs(&[("CACHEPANEL_JWT_SECRET", TEST_JWT_SECRET)])).unwrap();
    config.redis.url = Some(RedisUrl::parse(&redis.url()).unwrap());
    config.addr = "127.0.0.1:0".parse().unwrap();
    config.site_root = std::env::temp_dir().join("cachepanel-it-site");
    // Tests start censuses themselves.
    config.census.every = None;
    // The limiter writes a counter per request, which would change the keyspace and the
    // statistics the other tests count exactly; the rate-limit tests switch it on.
    config.rate_limit.enabled = false;
    // The kept history adds a key once a minute closes, which would change exact key counts;
    // the history tests switch it on.
    config.live.keep_history = false;
    adjust(&mut config);
    let url = config.redis.url.clone().expect("no redis url");
    let (state, background) = AppState::start(config, &url).unwrap();
    let live = state.sampler.clone();
    let census = state.census.clone();
    let flush = state.flush.clone();
    let counters = state.counters.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binding");
    let addr = listener.local_addr().unwrap();
    let router = cachepanel::server::router(state);
    let server = tokio::spawn(async move {
        let app = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
        let _ = axum::serve(listener, app).await;
    });
    // Signed in as a superadmin by default; the security tests build their own requests.
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {}", token_for("superadmin", 1))
            .parse()
            .unwrap(),
    );
    let http = reqwest::Client::builder()
        .default_headers(headers)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    TestApp {
        redis,
        base_url: format!("http://{addr}"),
        http,
        server,
        _background: background,
        live,
        census,
        flush,
        counters,
    }
}

impl TestApp {
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base_url))
            .send()
            .await
            .unwrap_or_else(|error| panic!("GET {path}: {error}"))
    }

    pub async fn get_text(&self, path: &str) -> (u16, String) {
        let response = self.get(path).await;
        let status = response.status().as_u16();
        (status, response.text().await.unwrap_or_default())
    }

    /// `POST {path}` with an empty form body, as JSON.
    pub async fn post_json(&self, path: &str) -> (u16, serde_json::Value) {
        let request = self.http.post(format!("{}{path}", self.base_url));
        json_answer(request.form(&[("", ""); 0])).await
    }

    /// The counters view of a walk that started after this call (a refresh within the
    /// reader's cool-down shares the previous walk, so it asks again until one is newer).
    pub async fn fresh_rate_limits(&self) -> (u16, serde_json::Value) {
        let asked_at_ms = chrono::Utc::now().timestamp_millis();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let (status, report) = self.post_json("/api/rate-limits/refresh").await;
            let fresh = report["read_at_ms"]
                .as_i64()
                .is_some_and(|at| at >= asked_at_ms);
            if status != 200 || fresh || tokio::time::Instant::now() > deadline {
                return (status, report);
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        json_answer(self.http.get(format!("{}{path}", self.base_url))).await
    }
}

/// Sends `request`: its status and JSON body (`Null` when the body is not JSON).
pub async fn json_answer(request: reqwest::RequestBuilder) -> (u16, serde_json::Value) {
    let response = request
        .send()
        .await
        .unwrap_or_else(|error| panic!("request failed: {error}"));
    let status = response.status().as_u16();
    (
        status,
        response.json().await.unwrap_or(serde_json::Value::Null),
    )
}

/// The body of a GET of `url` with `token` as the bearer.
pub async fn text_as(client: &reqwest::Client, url: &str, token: &str) -> String {
    client
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap_or_else(|error| panic!("GET {url}: {error}"))
        .text()
        .await
        .unwrap()
}

/// The text of the element with this `data-testid` in server-rendered HTML (first match).
pub fn test_id_text(html: &str, test_id: &str) -> Option<String> {
    let marker = format!("data-testid=\"{test_id}\"");
    let after = &html[html.find(&marker)? + marker.len()..];
    let content = &after[after.find('>')? + 1..];
    let text = &content[..content.find('<')?];
    Some(text.trim().to_owned())
}

impl TestApp {
    /// Waits for the next snapshot the sampler publishes (at most `limit`).
    pub async fn next_snapshot(&self, limit: Duration) -> std::sync::Arc<LiveSnapshot> {
        let mut receiver = self.live.subscribe();
        receiver.borrow_and_update();
        tokio::time::timeout(limit, receiver.changed())
            .await
            .expect("no snapshot in time")
            .expect("sampler stopped");
        receiver.borrow().clone()
    }

    /// Waits for a sample the sampler took after this call (pages and `/api/stats` show the
    /// sampler's latest reading, so a test that just wrote to Redis waits for one).
    pub async fn sample_after_now(&self) -> std::sync::Arc<LiveSnapshot> {
        let now = chrono::Utc::now().timestamp_millis();
        self.snapshot_where(Duration::from_secs(10), |snapshot| {
            snapshot.sampled_at_ms > now
        })
        .await
    }

    /// Waits for the sampler's first sample, unless it happened: from then on cachepanel's own
    /// state key exists, and the tests that count keys count it.
    pub async fn first_sample(&self) {
        if self.live.latest().sampled_at_ms == 0 {
            self.snapshot_where(Duration::from_secs(10), |snapshot| {
                snapshot.sampled_at_ms > 0
            })
            .await;
        }
    }

    /// Waits until the sampler has seen Redis fail.
    pub async fn sample_unavailable(&self) -> std::sync::Arc<LiveSnapshot> {
        self.snapshot_where(Duration::from_secs(10), |snapshot| {
            matches!(
                snapshot.status,
                cachepanel::model::live::LiveStatus::Unavailable { .. }
            )
        })
        .await
    }

    /// Waits until a published snapshot satisfies `accept`, returning it.
    pub async fn snapshot_where(
        &self,
        limit: Duration,
        accept: impl Fn(&LiveSnapshot) -> bool,
    ) -> std::sync::Arc<LiveSnapshot> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let snapshot = self.next_snapshot(left).await;
            if accept(&snapshot) {
                return snapshot;
            }
        }
    }
}

/// Options for an app that samples quickly, so tests see several samples per second.
pub fn fast_sampling(config: &mut cachepanel::server::config::Config) {
    config.live.interval = Duration::from_millis(250);
}

/// Writes `count` string keys `{prefix}{i}` in one pipeline.
pub fn fill_keys(url: &str, prefix: &str, count: u64) {
    let mut connection = redis_connection(url);
    let mut pipe = redis::pipe();
    for i in 0..count {
        pipe.cmd("SET")
            .arg(format!("{prefix}{i}"))
            .arg("v")
            .ignore();
    }
    pipe.exec(&mut connection).unwrap();
}

/// Calls of every command so far, from Redis' `INFO commandstats` (`"scan" → 301`, …).
pub fn all_command_calls(url: &str) -> std::collections::HashMap<String, u64> {
    let stats: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(&mut redis_connection(url))
        .unwrap();
    commandstats::parse_command_calls(&stats)
}

#[path = "../support/commandstats.rs"]
mod commandstats;

/// Calls of `command` (lower case) so far.
pub fn command_calls(url: &str, command: &str) -> u64 {
    all_command_calls(url).get(command).copied().unwrap_or(0)
}

/// Redis' own `keyspace_hits` (everything counted, cachepanel's lookups included).
pub fn raw_keyspace_hits(url: &str) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("stats")
        .query(&mut redis_connection(url))
        .unwrap();
    info.lines()
        .find_map(|line| line.strip_prefix("keyspace_hits:"))
        .and_then(|value| value.trim().parse().ok())
        .unwrap()
}

/// The cachepanel binary with a clean environment (only `PATH` and the test JWT secret).
pub fn cachepanel() -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_cachepanel"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("CACHEPANEL_JWT_SECRET", TEST_JWT_SECRET)
        .stdin(std::process::Stdio::null());
    command
}

/// The binary serving on a free port; stdout and stderr collected in files.
pub struct Served {
    pub child: std::process::Child,
    pub origin: String,
    pub log: std::path::PathBuf,
}

pub fn serve(redis_url: &str, extra: &[(&str, &str)], args: &[&str]) -> Served {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = std::env::temp_dir().join(format!("cachepanel-log-{}-{port}", std::process::id()));
    let file = std::fs::File::create(&log).unwrap();
    let mut command = cachepanel();
    command
        .args(args)
        .env("CACHEPANEL_REDIS_URL", redis_url)
        .env("CACHEPANEL_ADDR", format!("127.0.0.1:{port}"))
        .env("CACHEPANEL_CENSUS_EVERY_SECONDS", "0")
        .env("CACHEPANEL_RATE_LIMIT_ENABLED", "false")
        .stdout(file.try_clone().unwrap())
        .stderr(file);
    for (name, value) in extra {
        command.env(name, value);
    }
    let child = command.spawn().unwrap();
    let origin = format!("http://127.0.0.1:{port}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the server did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    Served { child, origin, log }
}

pub fn terminate(child: &mut std::process::Child) -> std::time::Duration {
    let started = std::time::Instant::now();
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = started + std::time::Duration::from_secs(15);
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            return started.elapsed();
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("still running 15 s after SIGTERM");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
