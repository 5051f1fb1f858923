//! One reading of a Redis server's cache figures, and what the page shows when there is none.

use serde::{Deserialize, Serialize};

use super::info::InfoFields;
use crate::model::wire::FromJson;

/// Cache figures read from one `INFO` + `DBSIZE` round trip. Counts are lifetime values since
/// the server started (or since `CONFIG RESETSTAT`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, FromJson)]
pub struct RedisStats {
    pub redis_version: String,
    pub uptime_seconds: u64,
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    pub used_memory_bytes: u64,
    /// `0` means no limit is configured (Redis' own convention).
    pub maxmemory_bytes: u64,
    pub maxmemory_policy: String,
    /// Keys in the selected database (`DBSIZE`).
    pub total_keys: u64,
    pub connected_clients: u64,
    /// The host's memory as Redis reports it (0 when not reported).
    #[serde(default)]
    pub total_system_memory_bytes: u64,
    /// Keys evicted / expired since Redis started.
    #[serde(default)]
    pub evicted_keys: u64,
    #[serde(default)]
    pub expired_keys: u64,
}

/// One cluster master's figures, beside the cluster's sums.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, FromJson)]
pub struct NodeStats {
    pub address: String,
    pub stats: RedisStats,
}

impl RedisStats {
    /// These figures without `own` (hits, misses) lookups, which cachepanel made itself.
    pub fn without_own(mut self, (own_hits, own_misses): (u64, u64)) -> Self {
        self.keyspace_hits = self.keyspace_hits.saturating_sub(own_hits);
        self.keyspace_misses = self.keyspace_misses.saturating_sub(own_misses);
        self
    }

    /// Builds the figures from an `INFO` reply and a `DBSIZE` answer. Fields that a restricted
    /// or older server leaves out read as zero / empty rather than failing the whole reading.
    pub fn from_info(info: &InfoFields, total_keys: u64) -> Self {
        let number = |name| info.u64(name).unwrap_or(0);
        Self {
            redis_version: info.get("redis_version").unwrap_or_default().to_owned(),
            uptime_seconds: number("uptime_in_seconds"),
            keyspace_hits: number("keyspace_hits"),
            keyspace_misses: number("keyspace_misses"),
            used_memory_bytes: number("used_memory"),
            maxmemory_bytes: number("maxmemory"),
            maxmemory_policy: info.get("maxmemory_policy").unwrap_or_default().to_owned(),
            total_keys,
            connected_clients: number("connected_clients"),
            total_system_memory_bytes: number("total_system_memory"),
            evicted_keys: number("evicted_keys"),
            expired_keys: number("expired_keys"),
        }
    }

    /// Lifetime hit rate in percent; `None` before the first lookup (never NaN).
    pub fn hit_rate_percent(&self) -> Option<f64> {
        let lookups = self.keyspace_hits + self.keyspace_misses;
        (lookups > 0).then(|| self.keyspace_hits as f64 * 100.0 / lookups as f64)
    }

    /// Used memory as a percentage of maxmemory; `None` when no limit is set.
    pub fn memory_used_percent(&self) -> Option<f64> {
        (self.maxmemory_bytes > 0)
            .then(|| self.used_memory_bytes as f64 * 100.0 / self.maxmemory_bytes as f64)
    }
}

/// What `GET /api/stats` answers: the reading, or why there is none. Redis being down is a
/// state of the data, not an error of this API (the app itself is alive).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, FromJson)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum StatsReport {
    Up {
        stats: RedisStats,
        /// When the reading was taken (Unix milliseconds).
        read_at_ms: i64,
    },
    Unavailable {
        /// A short, secret-free reason such as "connection refused" or "timed out".
        reason: String,
    },
}

impl StatsReport {
    /// When the reading was taken (Unix milliseconds); `None` while unavailable.
    pub fn read_at_ms(&self) -> Option<i64> {
        match self {
            Self::Up { read_at_ms, .. } => Some(*read_at_ms),
            Self::Unavailable { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRESH: &str = include_str!("../../tests/fixtures/info_7.0_fresh.txt");

    #[test]
    fn stats_from_a_captured_info_reply() {
        let stats = RedisStats::from_info(&InfoFields::parse(FRESH), 1);
        assert_eq!(stats.redis_version, "7.0.15");
        assert_eq!((stats.keyspace_hits, stats.keyspace_misses), (1, 1));
        assert_eq!(stats.hit_rate_percent(), Some(50.0));
        assert_eq!(stats.maxmemory_bytes, 0);
        assert_eq!(stats.memory_used_percent(), None);
        assert!(stats.used_memory_bytes > 0);
    }

    #[test]
    fn hit_rate_is_absent_before_the_first_lookup() {
        let stats = RedisStats::from_info(
            &InfoFields::parse("keyspace_hits:0\nkeyspace_misses:0\n"),
            0,
        );
        assert_eq!(stats.hit_rate_percent(), None);
    }

    #[test]
    fn memory_percent_uses_maxmemory_when_set() {
        let info = InfoFields::parse("used_memory:268435456\nmaxmemory:536870912\n");
        assert_eq!(
            RedisStats::from_info(&info, 0).memory_used_percent(),
            Some(50.0)
        );
    }

    #[test]
    fn report_serializes_with_a_status_tag() {
        let json = serde_json::to_value(StatsReport::Unavailable {
            reason: "timed out".into(),
        })
        .unwrap_or_default();
        assert_eq!(json["status"], "unavailable");
        assert_eq!(json["reason"], "timed out");
    }
}
