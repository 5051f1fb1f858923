//! What a census does and how hard it may press on Redis (`CACHEPANEL_CENSUS_*`).

use std::time::Duration;

use crate::model::census::PrefixGroup;

#[derive(Clone, Debug, PartialEq)]
pub struct CensusSettings {
    pub groups: Vec<PrefixGroup>,
    pub max_auto_groups: usize,
    /// Inspect 1 key in this many (1 = every key: the "full TTL" mode).
    pub sample_every: u64,
    /// Starting `SCAN … COUNT`; adapted between 100 and 2000.
    pub scan_count: u64,
    /// Round trip a `SCAN` page should stay under; `COUNT` adapts to it.
    pub target_round_trip: Duration,
    /// Share of wall time the census may keep Redis busy (0 < d ≤ 1).
    pub duty_cycle: f64,
    /// Re-run this often (none: only on demand).
    pub every: Option<Duration>,
}

impl Default for CensusSettings {
    fn default() -> Self {
        Self {
            groups: crate::model::census::default_groups(),
            max_auto_groups: 20,
            sample_every: 100,
            scan_count: 1000,
            target_round_trip: Duration::from_millis(1),
            // Pages already stay under a 1 ms round trip; a light rest keeps the census
            // close to raw SCAN speed while other clients' p99 stays well under 2 ms.
            duty_cycle: 0.95,
            every: Some(Duration::from_secs(600)),
        }
    }
}
