//! Live figures derived from consecutive `INFO` samples: windowed hit rate and per-second
//! rates, with counter resets (restart, `CONFIG RESETSTAT`) detected so that no negative rate
//! and no spike is ever reported.

use serde::{Deserialize, Serialize};

use super::info::InfoFields;
use crate::model::wire::FromJson;

/// The monotonic counters of one sample, and what identifies the server process.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, FromJson)]
pub struct Counters {
    pub run_id: String,
    pub uptime_seconds: u64,
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    pub total_commands: u64,
    pub evicted_keys: u64,
    pub expired_keys: u64,
    /// Hits and misses cachepanel itself caused up to this sample (census inspections);
    /// subtracted from the window so rates describe the application's traffic.
    #[serde(default)]
    pub own_hits: u64,
    #[serde(default)]
    pub own_misses: u64,
}

impl Counters {
    pub fn from_info(info: &InfoFields) -> Self {
        let number = |name| info.u64(name).unwrap_or(0);
        Self {
            run_id: info.get("run_id").unwrap_or_default().to_owned(),
            uptime_seconds: number("uptime_in_seconds"),
            keyspace_hits: number("keyspace_hits"),
            keyspace_misses: number("keyspace_misses"),
            total_commands: number("total_commands_processed"),
            evicted_keys: number("evicted_keys"),
            expired_keys: number("expired_keys"),
            own_hits: 0,
            own_misses: 0,
        }
    }

    /// True when `next` cannot continue from `self`: another process (restart), uptime going
    /// backwards, or any counter going down (`CONFIG RESETSTAT`).
    pub fn is_reset_before(&self, next: &Counters) -> bool {
        self.run_id != next.run_id
            || next.uptime_seconds < self.uptime_seconds
            || next.keyspace_hits < self.keyspace_hits
            || next.keyspace_misses < self.keyspace_misses
            || next.total_commands < self.total_commands
            || next.evicted_keys < self.evicted_keys
            || next.expired_keys < self.expired_keys
    }
}

/// Rates over the window between two samples.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize, FromJson)]
pub struct Rates {
    /// Δhits / (Δhits + Δmisses) in percent; `None` when nothing was looked up in the window.
    pub hit_rate_percent: Option<f64>,
    pub ops_per_sec: f64,
    pub evicted_per_sec: f64,
    pub expired_per_sec: f64,
    pub hits_per_sec: f64,
    pub misses_per_sec: f64,
}

impl Rates {
    /// Rates from `previous` to `next`, `elapsed_seconds` apart. `None` across a reset or a
    /// non-positive interval: the caller shows a gap, never a negative value or a spike.
    pub fn between(previous: &Counters, next: &Counters, elapsed_seconds: f64) -> Option<Self> {
        // NaN and non-positive intervals give no rate.
        if previous.is_reset_before(next) || elapsed_seconds.is_nan() || elapsed_seconds <= 0.0 {
            return None;
        }
        let delta = |a: u64, b: u64| b.saturating_sub(a) as f64;
        let own_hits = delta(previous.own_hits, next.own_hits);
        let own_misses = delta(previous.own_misses, next.own_misses);
        let hits = (delta(previous.keyspace_hits, next.keyspace_hits) - own_hits).max(0.0);
        let misses = (delta(previous.keyspace_misses, next.keyspace_misses) - own_misses).max(0.0);
        let lookups = hits + misses;
        Some(Self {
            hit_rate_percent: (lookups > 0.0).then(|| hits * 100.0 / lookups),
            ops_per_sec: delta(previous.total_commands, next.total_commands) / elapsed_seconds,
            evicted_per_sec: delta(previous.evicted_keys, next.evicted_keys) / elapsed_seconds,
            expired_per_sec: delta(previous.expired_keys, next.expired_keys) / elapsed_seconds,
            hits_per_sec: hits / elapsed_seconds,
            misses_per_sec: misses / elapsed_seconds,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEFORE: &str = include_str!("../../tests/fixtures/info_7.0_before.txt");
    const AFTER: &str = include_str!("../../tests/fixtures/info_7.0_after.txt");
    const RESTARTED: &str = include_str!("../../tests/fixtures/info_7.0_restarted.txt");
    const RESETSTAT: &str = include_str!("../../tests/fixtures/info_7.0_resetstat.txt");

    fn counters(text: &str) -> Counters {
        Counters::from_info(&InfoFields::parse(text))
    }

    #[test]
    fn windowed_hit_rate_comes_from_deltas_not_lifetime_totals() {
        // The fixtures were captured around 900 hits and 100 misses.
        let rates = Rates::between(&counters(BEFORE), &counters(AFTER), 2.0).unwrap();
        let hit_rate = rates.hit_rate_percent.unwrap();
        assert!((hit_rate - 90.0).abs() < 0.01, "{hit_rate}");
        assert!((rates.hits_per_sec - 450.0).abs() < 0.01);
        assert!(rates.ops_per_sec >= 500.0);
    }

    #[test]
    fn lookups_cachepanel_caused_are_not_counted_as_traffic() {
        let mut before = counters(BEFORE);
        let mut after = counters(AFTER);
        (before.own_hits, before.own_misses) = (10, 0);
        // Of the 900 hits and 100 misses, 300 hits and 100 misses were the census's.
        (after.own_hits, after.own_misses) = (310, 100);
        let rates = Rates::between(&before, &after, 2.0).unwrap();
        assert_eq!(rates.hit_rate_percent, Some(100.0));
        assert!((rates.hits_per_sec - 300.0).abs() < 0.01);
        assert_eq!(rates.misses_per_sec, 0.0);
    }

    #[test]
    fn a_restart_is_a_reset_and_gives_no_rate() {
        let before = counters(AFTER);
        let after = counters(RESTARTED);
        assert!(before.is_reset_before(&after));
        assert_eq!(Rates::between(&before, &after, 2.0), None);
    }

    #[test]
    fn config_resetstat_is_a_reset_and_gives_no_rate() {
        let before = counters(AFTER);
        let after = counters(RESETSTAT);
        assert_eq!(before.run_id, after.run_id);
        assert!(before.is_reset_before(&after));
        assert_eq!(Rates::between(&before, &after, 2.0), None);
    }

    #[test]
    fn a_window_without_lookups_has_no_hit_rate() {
        let same = counters(AFTER);
        let rates = Rates::between(&same, &same, 2.0).unwrap();
        assert_eq!(rates.hit_rate_percent, None);
        assert_eq!(rates.ops_per_sec, 0.0);
    }

    #[test]
    fn a_zero_interval_gives_no_rate() {
        assert_eq!(
            Rates::between(&counters(BEFORE), &counters(AFTER), 0.0),
            None
        );
    }
}
