//! Starts a `redis-server` and the cachepanel app for one test; both stop when dropped.

use std::sync::Arc;
use std::time::Duration;

use cachepanel::server::config::{Config, RedisUrl};
use cachepanel::server::redis::process::{RedisProcess, RedisProcessOptions};
use cachepanel::server::redis::{RedisTarget, Timeouts};
use cachepanel::server::state::AppState;

pub struct TestApp {
    pub redis: RedisProcess,
    pub base_url: String,
    pub http: reqwest::Client,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
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
    let mut config = Config::from_lookup(|_| None).unwrap();
    config.redis_url = Some(RedisUrl::parse(&redis.url()).unwrap());
    config.addr = "127.0.0.1:0".parse().unwrap();
    config.site_root = std::env::temp_dir().join("cachepanel-it-site");
    adjust(&mut config);
    let url = config.redis_url.clone().expect("no redis url");
    let redis_target = RedisTarget::new(
        "cache",
        &url,
        Timeouts {
            connect: config.redis_connect_timeout,
            response: config.redis_response_timeout,
        },
    )
    .unwrap();
    let state = AppState {
        leptos_options: cachepanel::server::leptos_options(&config),
        config: Arc::new(config),
        redis: redis_target,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binding");
    let addr = listener.local_addr().unwrap();
    let router = cachepanel::server::router(state);
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    TestApp {
        redis,
        base_url: format!("http://{addr}"),
        http,
        server,
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

    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let response = self.get(path).await;
        let status = response.status().as_u16();
        (
            status,
            response.json().await.unwrap_or(serde_json::Value::Null),
        )
    }
}

/// The text of the element with this `data-testid` in server-rendered HTML (first match).
pub fn test_id_text(html: &str, test_id: &str) -> Option<String> {
    let marker = format!("data-testid=\"{test_id}\"");
    let after = &html[html.find(&marker)? + marker.len()..];
    let content = &after[after.find('>')? + 1..];
    let text = &content[..content.find('<')?];
    Some(text.trim().to_owned())
}
