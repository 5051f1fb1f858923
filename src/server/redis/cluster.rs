//! A target that is a Redis Cluster: the routed connection (opened on first use), its masters
//! as direct targets for what must visit every node, and `CLUSTER NODES`.

use std::sync::Arc;

use super::{Current, RedisFailure, RedisTarget, manager_for};

/// Redis Cluster: seed addresses, the routed connection (opened on first use), and one
/// direct target per master for what must visit every node (INFO, SCAN).
pub(super) struct ClusterState {
    pub(super) seeds: Vec<String>,
    pub(super) connection: tokio::sync::OnceCell<redis::cluster_async::ClusterConnection>,
    pub(super) nodes: std::sync::Mutex<std::collections::HashMap<String, RedisTarget>>,
}

impl RedisTarget {
    pub(super) async fn cluster_connection(
        &self,
        cluster: &ClusterState,
    ) -> Result<redis::cluster_async::ClusterConnection, RedisFailure> {
        let timeouts = self.inner.timeouts;
        let seeds: Vec<String> = cluster
            .seeds
            .iter()
            .filter_map(|seed| {
                let (host, port) = seed.rsplit_once(':')?;
                Some(
                    self.inner
                        .url
                        .with_address(host, port.parse().ok()?)
                        .expose()
                        .to_owned(),
                )
            })
            .collect();
        let open = async {
            let client = redis::cluster::ClusterClient::builder(seeds)
                .connection_timeout(timeouts.connect)
                .response_timeout(timeouts.response)
                .retries(1)
                .build()?;
            client.get_async_connection().await
        };
        let connection = tokio::time::timeout(
            self.inner.operation_timeout * 2,
            cluster.connection.get_or_try_init(|| open),
        )
        .await
        .map_err(|_| RedisFailure::timed_out())??;
        Ok(connection.clone())
    }

    /// The targets that together hold every key: this one, or on a cluster each master that
    /// serves slots (once each), as direct connections sharing this target's own-lookup
    /// account. Refuses while a master fails: visiting the others would silently miss keys.
    pub async fn masters(&self) -> Result<Vec<RedisTarget>, RedisFailure> {
        let Some(cluster) = &self.inner.cluster else {
            return Ok(vec![self.clone()]);
        };
        let nodes = self.cluster_nodes().await?;
        let masters = crate::model::cluster::serving_masters(&nodes)
            .map_err(|reason| RedisFailure { reason })?;
        let Ok(mut known) = cluster.nodes.lock() else {
            return Err(RedisFailure {
                reason: "internal: node list lock poisoned".into(),
            });
        };
        let mut targets = Vec::new();
        for master in masters {
            let target = match known.get(&master.address) {
                Some(target) => target.clone(),
                None => {
                    let Some((host, port)) = master
                        .address
                        .rsplit_once(':')
                        .and_then(|(host, port)| Some((host.to_owned(), port.parse().ok()?)))
                    else {
                        continue;
                    };
                    let url = self.inner.url.with_address(&host, port);
                    let manager = manager_for(&url, self.inner.timeouts)?;
                    let mut node = Self::build(
                        &format!("{}@{}", self.inner.name, master.address),
                        &url,
                        self.inner.timeouts,
                        None,
                        Some(Current {
                            address: master.address.clone(),
                            manager,
                        }),
                    );
                    if let Some(inner) = Arc::get_mut(&mut node.inner) {
                        inner.own_lookups = self.inner.own_lookups.clone();
                    }
                    known.insert(master.address.clone(), node.clone());
                    node
                }
            };
            targets.push(target);
        }
        Ok(targets)
    }

    /// `CLUSTER NODES` as any node sees it.
    pub async fn cluster_nodes(
        &self,
    ) -> Result<Vec<crate::model::cluster::ClusterNode>, RedisFailure> {
        let text: String = self
            .run(|mut connection| async move {
                redis::cmd("CLUSTER")
                    .arg("NODES")
                    .query_async(&mut connection)
                    .await
            })
            .await?;
        Ok(crate::model::cluster::parse_nodes(&text))
    }
}
