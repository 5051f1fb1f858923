//! What the sampler publishes to every open page: the latest snapshot (status, figures,
//! rates, configuration, topology), the history points and their ranges.

use crate::model::wire::FromJson;
use serde::{Deserialize, Serialize};

pub use super::rates::{Counters, Rates};

/// One point of the history: the rates of a window and the memory at its end.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize, FromJson)]
pub struct Point {
    /// Unix time of the sample, milliseconds.
    pub at_ms: i64,
    /// `None` after a reset or when the window had no lookups.
    #[serde(serialize_with = "two_decimals")]
    pub hit_rate_percent: Option<f64>,
    #[serde(serialize_with = "two_decimals")]
    pub ops_per_sec: Option<f64>,
    #[serde(serialize_with = "two_decimals")]
    pub evicted_per_sec: Option<f64>,
    pub used_memory_bytes: u64,
    pub maxmemory_bytes: u64,
    pub total_keys: u64,
}

/// Chart figures go on the wire with two decimals: the page prints and draws at most one, and
/// full-precision floats ("579.7392331628697") were most of the bytes of a page's history.
fn two_decimals<S: serde::Serializer>(
    value: &Option<f64>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(figure) if figure.is_finite() => {
            serializer.serialize_some(&((figure * 100.0).round() / 100.0))
        }
        other => other.serialize(serializer),
    }
}

impl Point {
    pub fn new(
        at_ms: i64,
        rates: Option<&Rates>,
        used_memory: u64,
        maxmemory: u64,
        keys: u64,
    ) -> Self {
        Self {
            at_ms,
            hit_rate_percent: rates.and_then(|r| r.hit_rate_percent),
            ops_per_sec: rates.map(|r| r.ops_per_sec),
            evicted_per_sec: rates.map(|r| r.evicted_per_sec),
            used_memory_bytes: used_memory,
            maxmemory_bytes: maxmemory,
            total_keys: keys,
        }
    }
}

/// Time ranges the charts offer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, FromJson)]
pub enum HistoryRange {
    #[default]
    #[serde(rename = "15m")]
    Minutes15,
    #[serde(rename = "1h")]
    Hour1,
    #[serde(rename = "6h")]
    Hours6,
    #[serde(rename = "24h")]
    Hours24,
}

impl HistoryRange {
    pub const ALL: [HistoryRange; 4] = [Self::Minutes15, Self::Hour1, Self::Hours6, Self::Hours24];

    pub fn millis(self) -> i64 {
        let minutes = match self {
            Self::Minutes15 => 15,
            Self::Hour1 => 60,
            Self::Hours6 => 360,
            Self::Hours24 => 1440,
        };
        minutes * 60_000
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Minutes15 => "15m",
            Self::Hour1 => "1h",
            Self::Hours6 => "6h",
            Self::Hours24 => "24h",
        }
    }

    /// Ranges beyond one hour are served from 1-minute rollups.
    pub fn uses_rollups(self) -> bool {
        matches!(self, Self::Hours6 | Self::Hours24)
    }
}

/// Whether the last sampling attempt reached Redis.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, FromJson)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum LiveStatus {
    /// No sample has been attempted yet.
    Starting,
    Up,
    Unavailable {
        reason: String,
        since_ms: i64,
    },
}

/// What the sampler publishes after every attempt; every open page receives it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, FromJson)]
pub struct LiveSnapshot {
    pub target: String,
    pub status: LiveStatus,
    /// Server time of this publication (lets the client correct for clock skew).
    pub published_at_ms: i64,
    /// Time of the last successful sample; 0 before the first one.
    pub sampled_at_ms: i64,
    /// Last known figures (kept while Redis is unavailable, shown with their age).
    pub stats: Option<super::RedisStats>,
    pub rates: Option<Rates>,
    /// The newest history point (for the charts to append).
    pub point: Option<Point>,
    pub config: Option<super::redis_config::RedisConfigView>,
    pub config_mismatches: Vec<super::redis_config::ConfigField>,
    pub badges: Vec<super::health::Badge>,
    pub thresholds: super::health::Thresholds,
    pub expected: super::redis_config::ExpectedProfile,
    pub sample_interval_ms: u64,
    /// Keys per database number, from the keyspace section.
    pub keys_per_db: Vec<(u32, u64)>,
    /// Master, replicas and sentinels, behind Sentinel.
    #[serde(default)]
    pub topology: Option<super::topology::Topology>,
    /// On a cluster: each master's figures (the fields above are their sums) …
    #[serde(default)]
    pub nodes: Vec<super::stats::NodeStats>,
    /// … and every node with its role, slots and state.
    #[serde(default)]
    pub cluster_nodes: Vec<super::cluster::ClusterNode>,
    /// Used memory's trend over the last hour and the time until maxmemory.
    #[serde(default)]
    pub memory_forecast: Option<super::forecast::MemoryForecast>,
}

impl LiveSnapshot {
    /// What this snapshot says of the lifetime figures: its last reading while Redis answers,
    /// the reason while it does not.
    pub fn stats_report(&self) -> super::StatsReport {
        use super::StatsReport;
        match (&self.status, &self.stats) {
            (LiveStatus::Up, Some(stats)) => StatsReport::Up {
                stats: stats.clone(),
                read_at_ms: self.sampled_at_ms,
            },
            (LiveStatus::Unavailable { reason, .. }, _) => StatsReport::Unavailable {
                reason: reason.clone(),
            },
            _ => StatsReport::Unavailable {
                reason: "not read yet".into(),
            },
        }
    }

    pub fn starting(
        target: &str,
        thresholds: super::health::Thresholds,
        expected: super::redis_config::ExpectedProfile,
        interval_ms: u64,
    ) -> Self {
        Self {
            target: target.to_owned(),
            status: LiveStatus::Starting,
            published_at_ms: 0,
            sampled_at_ms: 0,
            stats: None,
            rates: None,
            point: None,
            config: None,
            config_mismatches: Vec::new(),
            badges: Vec::new(),
            thresholds,
            expected,
            sample_interval_ms: interval_ms,
            keys_per_db: Vec::new(),
            topology: None,
            nodes: Vec::new(),
            cluster_nodes: Vec::new(),
            memory_forecast: None,
        }
    }

    /// Age of the last successful sample at server time `now_ms`, or `None` without one.
    pub fn data_age_ms(&self, now_ms: i64) -> Option<i64> {
        (self.sampled_at_ms > 0).then(|| (now_ms - self.sampled_at_ms).max(0))
    }

    /// Data counts as stale when no sample succeeded for three intervals.
    pub fn is_stale(&self, now_ms: i64) -> bool {
        self.data_age_ms(now_ms)
            .is_none_or(|age| age > 3 * self.sample_interval_ms as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_figures_go_on_the_wire_with_two_decimals_and_stay_so() {
        let point = Point {
            at_ms: 1,
            hit_rate_percent: Some(77.745_123_4),
            ops_per_sec: Some(579.739_233_162_869_7),
            evicted_per_sec: None,
            used_memory_bytes: 3_059_200,
            ..Default::default()
        };
        let written = serde_json::to_string(&point).unwrap();
        assert!(written.contains(r#""hit_rate_percent":77.75"#), "{written}");
        assert!(written.contains(r#""ops_per_sec":579.74,"#), "{written}");
        assert!(written.contains(r#""evicted_per_sec":null"#), "{written}");
        assert!(
            written.contains(r#""used_memory_bytes":3059200"#),
            "{written}"
        );
        let read: Point = crate::model::wire::decode(&written).unwrap();
        assert_eq!(
            serde_json::to_string(&read).unwrap(),
            written,
            "rounding twice changes nothing"
        );
    }
}
