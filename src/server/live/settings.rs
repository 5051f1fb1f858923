//! How often the sampler reads `INFO`, the badges' thresholds and the production profile the
//! server is compared with (`CACHEPANEL_SAMPLE_INTERVAL_MS`, `…_PERCENT`, `CACHEPANEL_EXPECT_*`),
//! and how often the client list is read (`CACHEPANEL_CLIENTS_INTERVAL_MS`).

use std::time::Duration;

use crate::model::health::Thresholds;
use crate::model::redis_config::ExpectedProfile;
use crate::server::env::{ConfigError, Env, invalid, parse_memory};
use crate::server::live::diagnostics::DiagnosticsSettings;

#[derive(Clone, Debug, PartialEq)]
pub struct LiveSettings {
    pub interval: Duration,
    pub thresholds: Thresholds,
    pub expected: ExpectedProfile,
    pub diagnostics: DiagnosticsSettings,
    /// Keep the minute rollups in Redis (`cachepanel:{target}:history`) so charts survive a
    /// restart.
    pub keep_history: bool,
}

impl Default for LiveSettings {
    fn default() -> Self {
        Self {
            interval: Duration::from_millis(2000),
            thresholds: Thresholds::default(),
            expected: ExpectedProfile::default(),
            diagnostics: DiagnosticsSettings::default(),
            keep_history: true,
        }
    }
}

impl LiveSettings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        let interval = env.millis(
            "CACHEPANEL_SAMPLE_INTERVAL_MS",
            defaults.interval.as_millis() as u64,
            100..=60_000,
        )?;
        let thresholds = Thresholds {
            target_hit_rate_percent: env.percent(
                "CACHEPANEL_TARGET_HIT_RATE",
                defaults.thresholds.target_hit_rate_percent,
            )?,
            memory_warning_percent: env.percent(
                "CACHEPANEL_MEMORY_WARNING_PERCENT",
                defaults.thresholds.memory_warning_percent,
            )?,
            memory_critical_percent: env.percent(
                "CACHEPANEL_MEMORY_CRITICAL_PERCENT",
                defaults.thresholds.memory_critical_percent,
            )?,
        };
        if thresholds.memory_warning_percent > thresholds.memory_critical_percent {
            return Err(invalid(
                "CACHEPANEL_MEMORY_WARNING_PERCENT",
                "must not exceed CACHEPANEL_MEMORY_CRITICAL_PERCENT",
            ));
        }
        let profile = defaults.expected;
        let expected = ExpectedProfile {
            maxmemory_bytes: env
                .parsed("CACHEPANEL_EXPECT_MAXMEMORY", |text| {
                    parse_memory(text).ok_or_else(|| "expected a size such as 512mb or 1gb".into())
                })?
                .unwrap_or(profile.maxmemory_bytes),
            maxmemory_policy: env.word("CACHEPANEL_EXPECT_POLICY", &profile.maxmemory_policy),
            rdb_save: env.flag("CACHEPANEL_EXPECT_RDB", profile.rdb_save)?,
            appendonly: env.flag("CACHEPANEL_EXPECT_AOF", profile.appendonly)?,
            password_required: env.flag("CACHEPANEL_EXPECT_PASSWORD", profile.password_required)?,
        };
        let clients_interval = env.whole(
            "CACHEPANEL_CLIENTS_INTERVAL_MS",
            defaults.diagnostics.clients_interval.as_millis() as u64,
            0..=3_600_000,
        )?;
        let diagnostics = DiagnosticsSettings {
            clients_interval: Duration::from_millis(clients_interval),
            output_buffer_warning_bytes: env
                .parsed("CACHEPANEL_CLIENT_BUFFER_WARNING", |text| {
                    parse_memory(text).ok_or_else(|| "expected a size such as 32mb".into())
                })?
                .unwrap_or(defaults.diagnostics.output_buffer_warning_bytes),
        };
        Ok(Self {
            interval,
            thresholds,
            expected,
            diagnostics,
            keep_history: env.flag("CACHEPANEL_KEEP_HISTORY", defaults.keep_history)?,
        })
    }
}
