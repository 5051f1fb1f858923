//! How often the sampler reads `INFO`, the badges' thresholds and the production profile the
//! server is compared with (`CACHEPANEL_SAMPLE_INTERVAL_MS`, `…_PERCENT`, `CACHEPANEL_EXPECT_*`).

use std::time::Duration;

use crate::model::health::Thresholds;
use crate::model::redis_config::ExpectedProfile;
use crate::server::env::{ConfigError, Env, invalid, parse_memory};

#[derive(Clone, Debug, PartialEq)]
pub struct LiveSettings {
    pub interval: Duration,
    pub thresholds: Thresholds,
    pub expected: ExpectedProfile,
}

impl Default for LiveSettings {
    fn default() -> Self {
        Self {
            interval: Duration::from_millis(2000),
            thresholds: Thresholds::default(),
            expected: ExpectedProfile::default(),
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
        Ok(Self {
            interval,
            thresholds,
            expected,
        })
    }
}
