//! Why a flush, preview or reset did not happen, and the HTTP error each becomes.

use crate::error::AppError;
use crate::model::flush::{PrefixProblem, Refusal};
use crate::server::redis::RedisFailure;

#[derive(Debug, PartialEq, thiserror::Error)]
pub enum FlushError {
    #[error("flushing is disabled: this deployment is read-only")]
    ReadOnly,
    #[error("flushing is disabled: this Redis is not a cache (CACHEPANEL_CACHE_TARGETS)")]
    NotACache,
    #[error("invalid prefix: {0}")]
    InvalidPrefix(#[from] PrefixProblem),
    #[error("'{0}' is not a rate-limit counter")]
    NotACounter(String),
    #[error("{0}")]
    Refused(#[from] Refusal),
    #[error("unknown or expired preview; preview the prefix again")]
    UnknownPreview,
    #[error("the confirmation '{typed}' does not match the previewed prefix '{previewed}'")]
    ConfirmationMismatch { typed: String, previewed: String },
    #[error("a flush is already running on this Redis")]
    AlreadyRunning,
    #[error("the audit entry could not be written ({0}); the flush did not start")]
    AuditUnavailable(String),
    #[error("Redis: {0}")]
    Redis(#[from] RedisFailure),
}

impl From<FlushError> for AppError {
    fn from(error: FlushError) -> Self {
        let message = error.to_string();
        match error {
            FlushError::ReadOnly | FlushError::NotACache => AppError::Disabled { message },
            FlushError::InvalidPrefix(_)
            | FlushError::NotACounter(_)
            | FlushError::Refused(_)
            | FlushError::UnknownPreview
            | FlushError::ConfirmationMismatch { .. } => AppError::BadRequest { message },
            FlushError::AlreadyRunning => AppError::Conflict { message },
            FlushError::AuditUnavailable(reason) | FlushError::Redis(RedisFailure { reason }) => {
                AppError::RedisUnavailable { reason }
            }
        }
    }
}
