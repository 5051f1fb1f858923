//! Redis Sentinel: the master's address comes from the sentinels, asked in turn, and is asked
//! again whenever the master stops answering like a master (connection refused or lost,
//! timeout, READONLY, or INFO saying `role:slave`). Nothing is cached beyond the current
//! address, so a failover is followed without a restart.

use std::collections::HashMap;
use std::time::Duration;

use redis::AsyncConnectionConfig;

use crate::model::topology::{NodeView, Topology};
use crate::server::env::Secret;
use crate::server::redis::{RedisFailure, Timeouts};

/// One node as Sentinel describes it: `ip`, `port`, `flags`, ….
type Fields = HashMap<String, String>;

#[derive(Clone, Debug, PartialEq)]
pub struct SentinelSettings {
    /// `host:port` of each sentinel.
    pub sentinels: Vec<String>,
    pub master_name: String,
    /// `requirepass` of the sentinels themselves (not of the data nodes).
    pub password: Option<Secret>,
}

impl SentinelSettings {
    /// Parses `host:port,host:port`.
    pub fn parse_addresses(text: &str) -> Result<Vec<String>, String> {
        let addresses: Vec<String> = text
            .split(',')
            .map(str::trim)
            .filter(|address| !address.is_empty())
            .map(str::to_owned)
            .collect();
        if addresses.is_empty() {
            return Err("name at least one sentinel as host:port".into());
        }
        for address in &addresses {
            let valid = address
                .rsplit_once(':')
                .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
            if !valid {
                return Err(format!("'{address}' is not host:port"));
            }
        }
        Ok(addresses)
    }
}

async fn connect(
    settings: &SentinelSettings,
    address: &str,
    timeouts: Timeouts,
) -> Result<redis::aio::MultiplexedConnection, RedisFailure> {
    let url = match &settings.password {
        Some(password) => format!(
            "redis://:{}@{address}",
            url::form_urlencoded::byte_serialize(password.expose().as_bytes()).collect::<String>()
        ),
        None => format!("redis://{address}"),
    };
    let client = redis::Client::open(url)?;
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(timeouts.connect))
        .set_response_timeout(Some(timeouts.response));
    bounded(
        timeouts,
        client.get_multiplexed_async_connection_with_config(&config),
    )
    .await
}

async fn bounded<T>(
    timeouts: Timeouts,
    future: impl Future<Output = redis::RedisResult<T>>,
) -> Result<T, RedisFailure> {
    let limit = timeouts.connect + timeouts.response;
    match tokio::time::timeout(limit, future).await {
        Ok(result) => result.map_err(RedisFailure::from),
        Err(_) => Err(RedisFailure {
            reason: "timed out".into(),
        }),
    }
}

/// The master's `(host, port)` according to the first sentinel that knows it.
pub async fn master_address(
    settings: &SentinelSettings,
    timeouts: Timeouts,
) -> Result<(String, u16), RedisFailure> {
    let mut last_failure = RedisFailure {
        reason: "no sentinel configured".into(),
    };
    for address in &settings.sentinels {
        let answer = async {
            let mut connection = connect(settings, address, timeouts).await?;
            bounded(
                timeouts,
                redis::cmd("SENTINEL")
                    .arg("get-master-addr-by-name")
                    .arg(&settings.master_name)
                    .query_async::<Option<(String, String)>>(&mut connection),
            )
            .await
        }
        .await;
        match answer {
            Ok(Some((host, port))) => {
                if let Ok(port) = port.parse::<u16>() {
                    return Ok((host, port));
                }
            }
            Ok(None) => {
                last_failure = RedisFailure {
                    reason: format!("sentinels do not know master '{}'", settings.master_name),
                };
            }
            Err(failure) => last_failure = failure,
        }
    }
    Err(last_failure)
}

/// Master, replicas and sentinels as the first answering sentinel sees them; replica lag comes
/// from the master's own `INFO replication` (`slaveN:…,lag=N`), given as `replica_lags`.
pub async fn topology(
    settings: &SentinelSettings,
    timeouts: Timeouts,
    replica_lags: &HashMap<String, u64>,
) -> Result<Topology, RedisFailure> {
    let mut last_failure = RedisFailure {
        reason: "no sentinel configured".into(),
    };
    for address in &settings.sentinels {
        let answer = async {
            let mut connection = connect(settings, address, timeouts).await?;
            let name = &settings.master_name;
            let (master, replicas, sentinels): (Fields, Vec<Fields>, Vec<Fields>) = bounded(
                timeouts,
                redis::pipe()
                    .cmd("SENTINEL")
                    .arg("master")
                    .arg(name)
                    .cmd("SENTINEL")
                    .arg("replicas")
                    .arg(name)
                    .cmd("SENTINEL")
                    .arg("sentinels")
                    .arg(name)
                    .query_async(&mut connection),
            )
            .await?;
            Ok::<_, RedisFailure>((master, replicas, sentinels))
        }
        .await;
        match answer {
            Ok((master, replicas, sentinels)) => {
                let node = |fields: &HashMap<String, String>| {
                    let address = format!(
                        "{}:{}",
                        fields.get("ip").map_or("?", String::as_str),
                        fields.get("port").map_or("?", String::as_str)
                    );
                    let flags = fields.get("flags").cloned().unwrap_or_default();
                    NodeView {
                        healthy: !flags
                            .split(',')
                            .any(|flag| matches!(flag, "s_down" | "o_down" | "disconnected")),
                        lag_seconds: replica_lags.get(&address).copied(),
                        address,
                        flags,
                    }
                };
                // The sentinel answering is one of them too, and it is up: it answered.
                let mut sentinel_views = vec![NodeView {
                    address: address.clone(),
                    healthy: true,
                    flags: "sentinel (answering)".into(),
                    lag_seconds: None,
                }];
                sentinel_views.extend(sentinels.iter().map(node));
                return Ok(Topology {
                    mode: "sentinel".into(),
                    master_name: settings.master_name.clone(),
                    master: Some(node(&master)),
                    replicas: replicas.iter().map(node).collect(),
                    sentinels: sentinel_views,
                    read_at_ms: chrono::Utc::now().timestamp_millis(),
                });
            }
            Err(failure) => last_failure = failure,
        }
    }
    Err(last_failure)
}

/// How long a failed master keeps being asked for before the sentinels are asked again.
pub const REDISCOVERY_INTERVAL: Duration = Duration::from_millis(250);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentinel_addresses_are_host_port_pairs() {
        assert_eq!(
            SentinelSettings::parse_addresses("10.0.0.1:26379, sentinel-2:26379"),
            Ok(vec!["10.0.0.1:26379".into(), "sentinel-2:26379".into()])
        );
        assert!(SentinelSettings::parse_addresses("").is_err());
        assert!(SentinelSettings::parse_addresses("host").is_err());
        assert!(SentinelSettings::parse_addresses("host:notaport").is_err());
    }
}
