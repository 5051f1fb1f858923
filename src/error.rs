//! `AppError`: the one error type that crosses the network. Its JSON form is the body of every
//! API error; internal details stay in the server log under a reference id.

use crate::model::wire::FromJson;
use leptos::server_fn;
use serde::{Deserialize, Serialize};
use server_fn::error::{FromServerFnError, ServerFnErrorErr};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error, FromJson)]
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
    BadRequest {
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        problem: Option<Problem>,
    },
    #[error("{message}")]
    Conflict {
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        problem: Option<Problem>,
    },
    /// The action is switched off in this deployment (read-only, or flush before auth).
    #[error("{message}")]
    Disabled {
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        problem: Option<Problem>,
    },
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

/// What exactly was refused, so the page can say it in its language; `message` stays the
/// English sentence for API clients and logs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, FromJson)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Problem {
    ReadOnly,
    NotACache,
    InvalidPrefix,
    NotACounter {
        key: String,
    },
    StateGroup {
        prefix: String,
        group: String,
    },
    NotACacheGroup {
        prefix: String,
        groups: String,
    },
    UnknownPreview,
    ConfirmationMismatch {
        typed: String,
        previewed: String,
    },
    /// `replica`: where it runs, when another replica holds the job's lease.
    FlushRunning {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        replica: Option<String>,
    },
    CensusRunning {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        replica: Option<String>,
    },
}

impl AppError {
    /// A malformed request with nothing more specific to say.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest {
            message: message.into(),
            problem: None,
        }
    }

    /// The machine-readable reason, if the error has one.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            Self::BadRequest { problem, .. }
            | Self::Conflict { problem, .. }
            | Self::Disabled { problem, .. } => problem.as_ref(),
            _ => None,
        }
    }
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

/// Turns the detail of an internal failure into the reference sent instead of it. The server
/// installs one that logs the detail under a fresh id (`set_internal_reporter`); without one
/// (the browser, which has no log) the detail itself is kept.
static INTERNAL_REPORTER: std::sync::OnceLock<fn(&str) -> String> = std::sync::OnceLock::new();

/// Installs the reporter once per process; later calls change nothing.
pub fn set_internal_reporter(reporter: fn(&str) -> String) {
    let _ = INTERNAL_REPORTER.set(reporter);
}

impl AppError {
    /// A failure the caller cannot act on: on the server only a reference id is sent and the
    /// detail is logged under it, so the browser never sees internals and the operator can
    /// find the line.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        let detail = detail.to_string();
        let reference = match INTERNAL_REPORTER.get() {
            Some(report) => report(&detail),
            None => format!("in the browser: {detail}"),
        };
        Self::Internal { reference }
    }
}

impl FromServerFnError for AppError {
    type Encoder = crate::api::encoding::JsonText;

    /// Framework errors are mostly malformed requests (bad arguments, bad encoding); the rest
    /// are server-side failures that the caller cannot act on.
    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(message)
            | ServerFnErrorErr::MissingArg(message)
            | ServerFnErrorErr::Deserialization(message)
            | ServerFnErrorErr::UnsupportedRequestMethod(message) => Self::bad_request(message),
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

    #[test]
    fn argument_errors_become_bad_requests() {
        let error = AppError::from_server_fn_error(ServerFnErrorErr::Args("missing".into()));
        assert_eq!(error.status_code(), 400);
    }
}
