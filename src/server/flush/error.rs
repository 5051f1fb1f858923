//! Why a flush, preview or reset did not happen, and the HTTP error each becomes.

use crate::error::{AppError, Problem};
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
    #[error("a flush is already running on this Redis, on replica {0}")]
    RunningOn(String),
    #[error("the audit entry could not be written ({0}); the flush did not start")]
    AuditUnavailable(String),
    #[error("Redis: {0}")]
    Redis(#[from] RedisFailure),
}

impl From<FlushError> for AppError {
    fn from(error: FlushError) -> Self {
        let message = error.to_string();
        let problem = match &error {
            FlushError::ReadOnly => Problem::ReadOnly,
            FlushError::NotACache => Problem::NotACache,
            FlushError::InvalidPrefix(_) => Problem::InvalidPrefix,
            FlushError::NotACounter(key) => Problem::NotACounter { key: key.clone() },
            FlushError::Refused(Refusal::StateGroup(prefix, group)) => Problem::StateGroup {
                prefix: prefix.clone(),
                group: group.clone(),
            },
            FlushError::Refused(Refusal::NotACacheGroup(prefix, groups)) => {
                Problem::NotACacheGroup {
                    prefix: prefix.clone(),
                    groups: groups.clone(),
                }
            }
            FlushError::UnknownPreview => Problem::UnknownPreview,
            FlushError::ConfirmationMismatch { typed, previewed } => {
                Problem::ConfirmationMismatch {
                    typed: typed.clone(),
                    previewed: previewed.clone(),
                }
            }
            FlushError::AlreadyRunning => Problem::FlushRunning { replica: None },
            FlushError::RunningOn(replica) => Problem::FlushRunning {
                replica: Some(replica.clone()),
            },
            FlushError::AuditUnavailable(reason) | FlushError::Redis(RedisFailure { reason }) => {
                return AppError::RedisUnavailable {
                    reason: reason.clone(),
                };
            }
        };
        let problem = Some(problem);
        match error {
            FlushError::ReadOnly | FlushError::NotACache => AppError::Disabled { message, problem },
            FlushError::AlreadyRunning | FlushError::RunningOn(_) => {
                AppError::Conflict { message, problem }
            }
            _ => AppError::BadRequest { message, problem },
        }
    }
}
