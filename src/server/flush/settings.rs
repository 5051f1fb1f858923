//! Whether flushing is allowed here and how hard a flush may press on Redis.

use crate::model::flush::FlushPolicy;

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
