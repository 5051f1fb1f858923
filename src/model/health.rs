//! Health badges: the "first 24 hours" checklist (hit rate, memory, evictions) as levels
//! against configurable thresholds.

use serde::{Deserialize, Serialize};

use super::rates::Rates;
use super::stats::RedisStats;
use crate::model::wire::FromJson;

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, FromJson)]
pub struct Thresholds {
    /// Windowed hit rate below this (percent) is a warning.
    pub target_hit_rate_percent: f64,
    /// Used memory at or above these shares of the limit (percent).
    pub memory_warning_percent: f64,
    pub memory_critical_percent: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            target_hit_rate_percent: 70.0,
            memory_warning_percent: 80.0,
            memory_critical_percent: 95.0,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, FromJson)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Ok,
    Unknown,
    Warning,
    Critical,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, FromJson)]
#[serde(rename_all = "snake_case")]
pub enum BadgeKind {
    HitRate,
    Memory,
    Evictions,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, FromJson)]
pub struct Badge {
    pub kind: BadgeKind,
    pub level: Level,
    /// The figure the level was judged on (percent, or evictions per second).
    pub value: Option<f64>,
}

/// Memory is judged against maxmemory, or against the machine's memory when Redis has no
/// limit (`maxmemory 0`), so an unlimited Redis still warns before the host runs out.
pub fn memory_percent(stats: &RedisStats) -> Option<f64> {
    stats.memory_used_percent().or_else(|| {
        (stats.total_system_memory_bytes > 0).then(|| {
            stats.used_memory_bytes as f64 * 100.0 / stats.total_system_memory_bytes as f64
        })
    })
}

pub fn evaluate(stats: &RedisStats, rates: Option<&Rates>, thresholds: &Thresholds) -> Vec<Badge> {
    let hit_rate = rates.and_then(|r| r.hit_rate_percent);
    let hit_rate_level = match hit_rate {
        None => Level::Unknown,
        Some(rate) if rate < thresholds.target_hit_rate_percent => Level::Warning,
        Some(_) => Level::Ok,
    };

    let memory = memory_percent(stats);
    let memory_level = match memory {
        None => Level::Unknown,
        Some(p) if p >= thresholds.memory_critical_percent => Level::Critical,
        Some(p) if p >= thresholds.memory_warning_percent => Level::Warning,
        Some(_) => Level::Ok,
    };

    let evicted_per_sec = rates.map(|r| r.evicted_per_sec);
    let no_eviction = stats.maxmemory_policy == "noeviction";
    let evictions_level = match evicted_per_sec {
        None => Level::Unknown,
        // Keys leaving under `noeviction` (policy changed at runtime) or a full `noeviction`
        // Redis (writes fail with OOM) both break the cache: critical.
        Some(rate) if no_eviction && (rate > 0.0 || memory_level == Level::Critical) => {
            Level::Critical
        }
        Some(rate) if rate > 0.0 => Level::Warning,
        Some(_) => Level::Ok,
    };

    vec![
        Badge {
            kind: BadgeKind::HitRate,
            level: hit_rate_level,
            value: hit_rate,
        },
        Badge {
            kind: BadgeKind::Memory,
            level: memory_level,
            value: memory,
        },
        Badge {
            kind: BadgeKind::Evictions,
            level: evictions_level,
            value: evicted_per_sec,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::info::InfoFields;

    fn stats(info: &str) -> RedisStats {
        RedisStats::from_info(&InfoFields::parse(info), 0)
    }

    fn rates(hit_rate: Option<f64>, evicted: f64) -> Rates {
        Rates {
            hit_rate_percent: hit_rate,
            evicted_per_sec: evicted,
            ..Default::default()
        }
    }

    fn level(badges: &[Badge], kind: BadgeKind) -> Level {
        badges
            .iter()
            .find(|b| b.kind == kind)
            .map_or(Level::Unknown, |b| b.level)
    }

    #[test]
    fn hit_rate_below_target_is_a_warning() {
        let s = stats("maxmemory:100\nused_memory:10\nmaxmemory_policy:allkeys-lru\n");
        let t = Thresholds::default();
        assert_eq!(
            level(
                &evaluate(&s, Some(&rates(Some(69.9), 0.0)), &t),
                BadgeKind::HitRate
            ),
            Level::Warning
        );
        assert_eq!(
            level(
                &evaluate(&s, Some(&rates(Some(70.0), 0.0)), &t),
                BadgeKind::HitRate
            ),
            Level::Ok
        );
        assert_eq!(
            level(&evaluate(&s, None, &t), BadgeKind::HitRate),
            Level::Unknown
        );
    }

    #[test]
    fn memory_levels_follow_the_thresholds() {
        let t = Thresholds::default();
        let at = |used: u64| {
            level(
                &evaluate(
                    &stats(&format!("maxmemory:100\nused_memory:{used}\n")),
                    None,
                    &t,
                ),
                BadgeKind::Memory,
            )
        };
        assert_eq!(at(79), Level::Ok);
        assert_eq!(at(80), Level::Warning);
        assert_eq!(at(95), Level::Critical);
    }

    #[test]
    fn unlimited_memory_is_judged_against_system_memory_never_nan() {
        let s = stats("maxmemory:0\nused_memory:900\ntotal_system_memory:1000\n");
        let badges = evaluate(&s, None, &Thresholds::default());
        let memory = badges
            .iter()
            .find(|b| b.kind == BadgeKind::Memory)
            .and_then(|b| b.value);
        assert_eq!(memory, Some(90.0));
        assert_eq!(level(&badges, BadgeKind::Memory), Level::Warning);

        let unknown = stats("maxmemory:0\nused_memory:900\n");
        let badges = evaluate(&unknown, None, &Thresholds::default());
        assert_eq!(level(&badges, BadgeKind::Memory), Level::Unknown);
    }

    #[test]
    fn evictions_under_noeviction_are_critical() {
        let t = Thresholds::default();
        let lru = stats("maxmemory:100\nused_memory:10\nmaxmemory_policy:allkeys-lru\n");
        let none = stats("maxmemory:100\nused_memory:10\nmaxmemory_policy:noeviction\n");
        assert_eq!(
            level(
                &evaluate(&lru, Some(&rates(None, 5.0)), &t),
                BadgeKind::Evictions
            ),
            Level::Warning
        );
        assert_eq!(
            level(
                &evaluate(&none, Some(&rates(None, 5.0)), &t),
                BadgeKind::Evictions
            ),
            Level::Critical
        );
        assert_eq!(
            level(
                &evaluate(&none, Some(&rates(None, 0.0)), &t),
                BadgeKind::Evictions
            ),
            Level::Ok
        );
    }
}
