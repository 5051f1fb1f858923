//! Whether flushing is allowed here and how hard a flush may press on Redis.

use crate::model::flush::FlushPolicy;
use crate::server::env::{ConfigError, Env};

#[derive(Clone, Debug, PartialEq)]
pub struct FlushSettings {
    pub policy: FlushPolicy,
    /// Share of wall time a flush may keep Redis busy (0 < d ≤ 1).
    pub duty_cycle: f64,
}

impl Default for FlushSettings {
    fn default() -> Self {
        Self {
            policy: FlushPolicy::Enabled,
            duty_cycle: 0.9,
        }
    }
}

impl FlushSettings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        let read_only = env.flag("CACHEPANEL_READ_ONLY", false)?;
        Ok(Self {
            policy: if read_only {
                FlushPolicy::ReadOnly
            } else {
                defaults.policy
            },
            duty_cycle: env.share("CACHEPANEL_FLUSH_DUTY_CYCLE", defaults.duty_cycle)?,
        })
    }
}
