//! The leaves every setting is read with: the error that names its variable, and the types
//! that keep secrets out of logs. Imports nothing from `crate::server`.

mod secret;

pub use secret::{RedisUrl, Secret};

/// A configuration problem, naming the variable and what is wrong with its value.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

/// A `ConfigError` for `variable`.
pub fn invalid(variable: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        problem: problem.into(),
    }
}
