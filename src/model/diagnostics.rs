//! Why is Redis slow, in one answer: the slow log, the clients, persistence health and the
//! latency monitor, as the sampler last read them (`GET /api/diagnostics`).

use serde::{Deserialize, Serialize};

use super::clients::ClientsView;
use super::persistence::PersistenceHealth;
use super::slowlog::SlowLogView;
use crate::model::wire::FromJson;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, FromJson)]
pub struct DiagnosticsView {
    pub target: String,
    pub slow_log: SlowLogView,
    /// `None` until the first client list is read (or with client lists switched off).
    pub clients: Option<ClientsView>,
    pub persistence: Option<PersistenceHealth>,
    pub latency: LatencyMonitor,
    /// From the last census that measured keys; `None` before one.
    #[serde(default)]
    pub biggest_keys: Option<super::census::BiggestKeys>,
}

/// `LATENCY LATEST`, read only while the server's own latency monitor is on
/// (`latency-monitor-threshold` > 0); cachepanel never switches it on.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, FromJson)]
pub struct LatencyMonitor {
    /// `latency-monitor-threshold` in ms; 0: off; `None`: not readable (CONFIG refused).
    pub threshold_ms: Option<u64>,
    pub events: Vec<LatencyEvent>,
    pub unavailable: Option<String>,
}

/// One latency-monitor event class ("command", "fast-command", "fork", "aof-fsync-always"…).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, FromJson)]
pub struct LatencyEvent {
    pub event: String,
    pub at_ms: i64,
    pub latest_ms: u64,
    pub max_ms: u64,
}
