//! `AppError`: the one error type that crosses the network. Its JSON form is the body of every
//! API error; internal details stay in the server log under a reference id.

use leptos::server_fn;
use serde::{Deserialize, Serialize};
use server_fn::codec::JsonEncoding;
use server_fn::error::{FromServerFnError, ServerFnErrorErr};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum AppError {
    #[error("authentication required")]
    Unauthorized,
    #[error("not allowed for this role")]
    Forbidden,
    /// A mutating request that is not provably from cachepanel's own page (CSRF).
    #[error("cross-site request refused: {message}")]
    CrossSite { message: String },
    #[error("invalid request: {message}")]
    BadRequest { message: String },
    #[error("{message}")]
    Conflict { message: String },
    /// The action is switched off in this deployment (read-only, or flush before auth).
    #[error("{message}")]
    Disabled { message: String },
    #[error("Redis unavailable: {reason}")]
    RedisUnavailable { reason: String },
    /// The request body is larger than the server takes.
    #[error("request body too large (at most {limit_bytes} bytes)")]
    PayloadTooLarge { limit_bytes: u64 },
    #[error("too many requests; retry after {retry_after_seconds} s")]
    RateLimited { retry_after_seconds: u64 },
    #[error("internal error (reference {reference})")]
    Internal { reference: String },
}

impl AppError {
    /// The HTTP status this error is answered with.
    pub fn status_code(&self) -> u16 {
        match self {
            Self::Unauthorized => 401,
            Self::Forbidden => 403,
            Self::CrossSite { .. } => 403,
            Self::BadRequest { .. } => 400,
            Self::Conflict { .. } => 409,
            Self::Disabled { .. } => 403,
            Self::RedisUnavailable { .. } => 503,
            Self::PayloadTooLarge { .. } => 413,
            Self::RateLimited { .. } => 429,
            Self::Internal { .. } => 500,
        }
    }
}

impl AppError {
    /// A failure the caller cannot act on. On the server the detail goes to the log under a
    /// fresh reference id and only the id is sent, so the browser never sees internals and
    /// the operator can find the line. In the browser (no log there) the detail is kept.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        #[cfg(feature = "ssr")]
        {
            use rand::Rng as _;
            let reference = format!("{:012x}", rand::rng().random::<u64>() >> 16);
            tracing::error!(reference = %reference, detail = %detail, "internal error");
            Self::Internal { reference }
        }
        #[cfg(not(feature = "ssr"))]
        {
            Self::Internal {
                reference: format!("in the browser: {detail}"),
            }
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    /// Framework errors are mostly malformed requests (bad arguments, bad encoding); the rest
    /// are server-side failures that the caller cannot act on.
    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(message)
            | ServerFnErrorErr::MissingArg(message)
            | ServerFnErrorErr::Deserialization(message)
            | ServerFnErrorErr::UnsupportedRequestMethod(message) => Self::BadRequest { message },
            other => Self::internal(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_serialize_as_tagged_json() {
        let json = serde_json::to_string(&AppError::RateLimited {
            retry_after_seconds: 12,
        })
        .unwrap_or_default();
        assert_eq!(json, r#"{"error":"rate_limited","retry_after_seconds":12}"#);
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn an_internal_error_sends_only_a_reference_that_the_log_carries_with_the_detail() {
        use std::sync::{Arc, Mutex};
        let log = Arc::new(Mutex::new(Vec::<u8>::new()));
        let writer = {
            let log = log.clone();
            move || LogLine(log.clone())
        };
        let subscriber = tracing_subscriber::fmt()
            .with_writer(writer)
            .with_ansi(false)
            .finish();
        let error = tracing::subscriber::with_default(subscriber, || {
            AppError::from_server_fn_error(ServerFnErrorErr::ServerError(
                "pool exhausted at db.rs:42".into(),
            ))
        });
        let AppError::Internal { reference } = &error else {
            panic!("{error:?}");
        };
        assert_eq!(reference.len(), 12);
        assert!(reference.chars().all(|c| c.is_ascii_hexdigit()));
        let sent = serde_json::to_string(&error).unwrap_or_default();
        assert!(!sent.contains("pool exhausted"), "{sent}");
        let logged = String::from_utf8(log.lock().map(|l| l.clone()).unwrap_or_default())
            .unwrap_or_default();
        assert!(logged.contains(reference.as_str()), "{logged}");
        assert!(logged.contains("pool exhausted at db.rs:42"), "{logged}");
        let other = AppError::internal("x");
        assert_ne!(other, error, "each failure gets its own reference");
    }

    #[cfg(feature = "ssr")]
    struct LogLine(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    #[cfg(feature = "ssr")]
    impl std::io::Write for LogLine {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            if let Ok(mut log) = self.0.lock() {
                log.extend_from_slice(bytes);
            }
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn argument_errors_become_bad_requests() {
        let error = AppError::from_server_fn_error(ServerFnErrorErr::Args("missing".into()));
        assert_eq!(error.status_code(), 400);
    }
}
