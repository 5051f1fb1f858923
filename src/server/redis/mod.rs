//! The one Redis connection object of the process. Every call goes through `RedisTarget::run`,
//! which bounds it with a timeout, so no request can hang on a slow or vanished server.
//! Sentinel and Cluster are meant to come in later as further variants behind this same type.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::server::config::RedisUrl;

pub mod process;

/// A Redis failure reduced to what may be shown and logged: never the URL, never a password.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct RedisFailure {
    pub reason: String,
}

impl RedisFailure {
    fn timed_out() -> Self {
        Self {
            reason: "timed out".into(),
        }
    }
}

impl From<redis::RedisError> for RedisFailure {
    fn from(error: redis::RedisError) -> Self {
        let reason = if error.is_timeout() {
            "timed out".to_owned()
        } else if error.is_connection_refusal() {
            "connection refused".to_owned()
        } else if error.kind() == redis::ErrorKind::AuthenticationFailed
            || matches!(error.code(), Some("NOAUTH" | "WRONGPASS"))
        {
            "authentication failed".to_owned()
        } else if let Some(code) = error.code() {
            // Server error codes (NOPERM, LOADING, READONLY, …) are fixed words, safe to show.
            format!("server error {code}")
        } else if error.is_io_error() || error.is_connection_dropped() {
            "connection lost".to_owned()
        } else {
            format!("client error ({:?})", error.kind())
        };
        Self { reason }
    }
}

/// Timeouts applied to every Redis call.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    pub connect: Duration,
    pub response: Duration,
}

/// A configured Redis server. Cheap to clone: clones share one multiplexed connection that
/// reconnects by itself after Redis restarts.
#[derive(Clone)]
pub struct RedisTarget {
    inner: Arc<Inner>,
}

struct Inner {
    name: String,
    manager: ConnectionManager,
    /// Bound on a whole operation (one command or pipeline).
    operation_timeout: Duration,
}

impl RedisTarget {
    /// Prepares the connection without opening it, so the app starts even while Redis is down.
    pub fn new(name: &str, url: &RedisUrl, timeouts: Timeouts) -> Result<Self, RedisFailure> {
        let client = redis::Client::open(url.expose())?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeouts.connect))
            .set_response_timeout(Some(timeouts.response))
            // One quick retry; the next request tries again anyway, and the page must not wait.
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(500));
        let manager = ConnectionManager::new_lazy_with_config(client, config)?;
        // A stalled server must surface as "timed out" about when the response timeout says,
        // not after connect + response; the slack covers scheduling and a quick reconnect.
        let operation_timeout =
            timeouts.connect.max(timeouts.response) + Duration::from_millis(200);
        Ok(Self {
            inner: Arc::new(Inner {
                name: name.to_owned(),
                manager,
                operation_timeout,
            }),
        })
    }

    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Runs one operation (a command or a pipeline) on a clone of the shared connection,
    /// bounded by the larger of the two timeouts (plus a little slack).
    pub async fn run<T, F, Fut>(&self, operation: F) -> Result<T, RedisFailure>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let connection = self.inner.manager.clone();
        match tokio::time::timeout(self.inner.operation_timeout, operation(connection)).await {
            Ok(result) => result.map_err(RedisFailure::from),
            Err(_) => Err(RedisFailure::timed_out()),
        }
    }

    /// Round trip time of a `PING`.
    pub async fn ping(&self) -> Result<Duration, RedisFailure> {
        let started = tokio::time::Instant::now();
        self.run(|mut connection| async move {
            redis::cmd("PING")
                .query_async::<String>(&mut connection)
                .await
        })
        .await?;
        Ok(started.elapsed())
    }
}
