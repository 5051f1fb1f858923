//! `RedisFailure`: a Redis error reduced to what may be shown and logged.

/// A Redis failure reduced to what may be shown and logged: never the URL, never a password.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct RedisFailure {
    pub reason: String,
}

impl RedisFailure {
    pub fn timed_out() -> Self {
        Self {
            reason: "timed out".into(),
        }
    }

    /// Redis answered with a plain `ERR` (a syntax or argument error, not a missing
    /// permission or a server state): the command as sent is not one this server takes.
    pub fn is_refusal(&self) -> bool {
        self.reason == "server error ERR"
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

/// Redis being unreachable is a 503 with the (secret-free) reason.
impl From<RedisFailure> for crate::error::AppError {
    fn from(failure: RedisFailure) -> Self {
        Self::RedisUnavailable {
            reason: failure.reason,
        }
    }
}
