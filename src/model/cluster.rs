//! Redis Cluster's own description of itself (`CLUSTER NODES`), parsed into what cachepanel
//! needs: which masters own slots (census and flush visit each exactly once), and their state.

use crate::model::wire::FromJson;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, FromJson)]
pub struct ClusterNode {
    pub id: String,
    /// `host:port` for clients (the cluster bus port is dropped).
    pub address: String,
    pub is_master: bool,
    /// For a replica: the id of its master.
    pub master_id: Option<String>,
    /// `fail` / `fail?` (suspected), `handshake`, `noaddr`, … as Redis reports them.
    pub flags: Vec<String>,
    pub connected: bool,
    /// Number of hash slots this master serves (0 for replicas).
    pub slots: u32,
}

impl ClusterNode {
    pub fn is_failing(&self) -> bool {
        self.flags
            .iter()
            .any(|flag| matches!(flag.as_str(), "fail" | "fail?" | "noaddr" | "handshake"))
            || !self.connected
    }
}

/// Parses the reply of `CLUSTER NODES`; malformed lines are skipped.
pub fn parse_nodes(text: &str) -> Vec<ClusterNode> {
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 8 {
                return None;
            }
            let address = fields[1].split('@').next()?.split(',').next()?.to_owned();
            let flags: Vec<String> = fields[2]
                .split(',')
                .map(str::to_owned)
                .filter(|flag| flag != "myself")
                .collect();
            let is_master = flags.iter().any(|flag| flag == "master");
            let slots = fields[8..]
                .iter()
                .filter(|slot| !slot.starts_with('['))
                .map(|slot| match slot.split_once('-') {
                    Some((from, to)) => to
                        .parse::<u32>()
                        .ok()
                        .zip(from.parse::<u32>().ok())
                        .map_or(0, |(to, from)| to.saturating_sub(from) + 1),
                    None => u32::from(slot.parse::<u32>().is_ok()),
                })
                .sum();
            Some(ClusterNode {
                id: fields[0].to_owned(),
                address,
                is_master,
                master_id: (fields[3] != "-").then(|| fields[3].to_owned()),
                flags,
                connected: fields[7] == "connected",
                slots,
            })
        })
        .collect()
}

/// Masters that serve slots, each once, ordered by address; an error names a failing one (a
/// census or flush that skipped it would silently miss its keys).
pub fn serving_masters(nodes: &[ClusterNode]) -> Result<Vec<ClusterNode>, String> {
    let mut masters: Vec<ClusterNode> = nodes
        .iter()
        .filter(|node| node.is_master && node.slots > 0)
        .cloned()
        .collect();
    if let Some(failing) = masters.iter().find(|node| node.is_failing()) {
        return Err(format!(
            "cluster degraded: master {} is {}",
            failing.address,
            failing.flags.join(",")
        ));
    }
    masters.sort_by(|a, b| a.address.cmp(&b.address));
    masters.dedup_by(|a, b| a.id == b.id);
    if masters.iter().map(|m| m.slots).sum::<u32>() < 16_384 {
        return Err("cluster degraded: not every slot is served".into());
    }
    Ok(masters)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NODES: &str = "\
07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.1:30004@31004,host-a slave e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 0 1426238317239 4 connected
67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 127.0.0.1:30002@31002 master - 0 1426238316232 2 connected 5461-10922
292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f 127.0.0.1:30003@31003 master - 0 1426238318243 3 connected 10923-16383
e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:30001@31001 myself,master - 0 0 1 connected 0-5460 [5461->-67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1]
";

    #[test]
    fn nodes_parse_with_roles_slots_and_addresses() {
        let nodes = parse_nodes(NODES);
        assert_eq!(nodes.len(), 4);
        let replica = &nodes[0];
        assert!(!replica.is_master);
        assert_eq!(replica.address, "127.0.0.1:30004");
        assert_eq!(
            replica.master_id.as_deref(),
            Some("e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca")
        );
        assert_eq!(
            nodes[3].slots, 5461,
            "a migrating slot in brackets is not counted"
        );
        assert_eq!(nodes[3].flags, ["master"]);
        let masters = serving_masters(&nodes).unwrap();
        let addresses: Vec<&str> = masters.iter().map(|m| m.address.as_str()).collect();
        assert_eq!(
            addresses,
            ["127.0.0.1:30001", "127.0.0.1:30002", "127.0.0.1:30003"]
        );
    }

    #[test]
    fn a_failing_master_or_uncovered_slots_refuse() {
        let failing = NODES.replace(
            "master - 0 1426238318243 3 connected",
            "master,fail - 0 1426238318243 3 disconnected",
        );
        assert!(
            serving_masters(&parse_nodes(&failing))
                .unwrap_err()
                .contains("127.0.0.1:30003")
        );
        let missing: String = NODES
            .lines()
            .filter(|l| !l.contains("30002"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert!(
            serving_masters(&parse_nodes(&missing))
                .unwrap_err()
                .contains("slot")
        );
    }
}
