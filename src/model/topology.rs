//! The shape of a replicated deployment as the dashboard shows it (Sentinel today).

use std::collections::HashMap;

use crate::model::wire::FromJson;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, FromJson)]
pub struct NodeView {
    /// `host:port`.
    pub address: String,
    pub healthy: bool,
    /// Sentinel's flags for the node, e.g. `master`, `slave`, `s_down`.
    pub flags: String,
    /// Replication lag in seconds (replicas only), from the master's `INFO replication`.
    pub lag_seconds: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, FromJson)]
pub struct Topology {
    pub mode: String,
    pub master_name: String,
    pub master: Option<NodeView>,
    pub replicas: Vec<NodeView>,
    pub sentinels: Vec<NodeView>,
    pub read_at_ms: i64,
}

/// `host:port` → lag seconds of the replicas a master lists in `INFO replication`
/// (`slave0:ip=10.0.0.2,port=6379,state=online,offset=123,lag=0`).
pub fn replica_lags(info: &crate::model::info::InfoFields) -> HashMap<String, u64> {
    let mut lags = HashMap::new();
    for index in 0.. {
        let Some(line) = info.get(&format!("slave{index}")) else {
            break;
        };
        let field = |name: &str| {
            line.split(',')
                .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
        };
        if let (Some(ip), Some(port)) = (field("ip"), field("port")) {
            let lag = field("lag").and_then(|lag| lag.parse().ok()).unwrap_or(0);
            lags.insert(format!("{ip}:{port}"), lag);
        }
    }
    lags
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::info::InfoFields;

    #[test]
    fn replica_lags_come_from_info_replication() {
        let info = InfoFields::parse(
            "# Replication\r\nrole:master\r\nconnected_slaves:2\r\n\
             slave0:ip=127.0.0.1,port=6380,state=online,offset=100,lag=0\r\n\
             slave1:ip=10.0.0.3,port=6379,state=online,offset=90,lag=4\r\n",
        );
        let lags = replica_lags(&info);
        assert_eq!(lags.get("127.0.0.1:6380"), Some(&0));
        assert_eq!(lags.get("10.0.0.3:6379"), Some(&4));
        assert_eq!(lags.len(), 2);
    }
}
