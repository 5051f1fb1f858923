//! Which Redis servers cachepanel watches and how it reaches them (`CACHEPANEL_REDIS_*`,
//! `CACHEPANEL_TARGETS`, …), and the one place their connections are built from.

use std::time::Duration;

use super::sentinel::SentinelSettings;
use super::{RedisTarget, Timeouts};
use crate::server::env::{ConfigError, Env, RedisUrl, invalid};

#[derive(Clone, Debug, PartialEq)]
pub struct RedisSettings {
    /// `None`: start an embedded `redis-server` (for trying cachepanel out).
    pub url: Option<RedisUrl>,
    pub connect_timeout: Duration,
    pub response_timeout: Duration,
    /// Find the master through these sentinels (the Redis URL then only gives credentials,
    /// database and TLS).
    pub sentinel: Option<SentinelSettings>,
    /// Seed nodes (`host:port`) of a Redis Cluster for the first target.
    pub cluster_seeds: Option<Vec<String>>,
    /// Name of the first target (the one `CACHEPANEL_REDIS_URL` / the sentinels point at).
    pub target_name: String,
    /// Further Redis servers to watch, e.g. the bot's FSM storage or Celery's broker.
    pub extra_targets: Vec<ExtraTarget>,
    /// Targets that are caches (flush allowed); the first target by default.
    pub cache_targets: Vec<String>,
    /// First segment of cachepanel's own keys (history, leases, previews, audit).
    pub state_namespace: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ExtraTarget {
    pub name: String,
    pub url: RedisUrl,
}

/// A target whose connection cannot be set up, named with the variable that configured it.
#[derive(Debug, thiserror::Error)]
#[error("{variable}: target '{target}': {reason}")]
pub struct TargetError {
    pub variable: &'static str,
    pub target: String,
    pub reason: String,
}

impl RedisSettings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let url = env.parsed("CACHEPANEL_REDIS_URL", RedisUrl::parse)?;
        let connect_timeout =
            env.millis("CACHEPANEL_REDIS_CONNECT_TIMEOUT_MS", 1000, 1..=60_000)?;
        let response_timeout =
            env.millis("CACHEPANEL_REDIS_RESPONSE_TIMEOUT_MS", 1000, 1..=60_000)?;
        let sentinels = env.parsed(
            "CACHEPANEL_REDIS_SENTINELS",
            SentinelSettings::parse_addresses,
        )?;
        let master_name = env.word("CACHEPANEL_REDIS_SENTINEL_MASTER", "mymaster");
        let sentinel_password = env
            .text("CACHEPANEL_REDIS_SENTINEL_PASSWORD")
            .map(crate::server::env::Secret::new);
        let sentinel = sentinels.map(|sentinels| SentinelSettings {
            sentinels,
            master_name,
            password: sentinel_password,
        });
        let cluster_seeds = env.parsed("CACHEPANEL_REDIS_CLUSTER", |text| {
            SentinelSettings::parse_addresses(text).map_err(|e| e.replace("sentinel", "seed node"))
        })?;
        if cluster_seeds.is_some() && sentinel.is_some() {
            return Err(invalid(
                "CACHEPANEL_REDIS_CLUSTER",
                "set either CACHEPANEL_REDIS_CLUSTER or CACHEPANEL_REDIS_SENTINELS, not both",
            ));
        }
        let target_name = env.word("CACHEPANEL_TARGET_NAME", "cache");
        check_target_name(&target_name).map_err(|e| invalid("CACHEPANEL_TARGET_NAME", e))?;
        let extra_targets = env
            .parsed("CACHEPANEL_TARGETS", parse_extra_targets)?
            .unwrap_or_default();
        let mut names = vec![target_name.clone()];
        for extra in &extra_targets {
            if names.contains(&extra.name) {
                return Err(invalid(
                    "CACHEPANEL_TARGETS",
                    format!("target name '{}' is used twice", extra.name),
                ));
            }
            names.push(extra.name.clone());
        }
        let cache_targets = env.list("CACHEPANEL_CACHE_TARGETS", &target_name);
        if let Some(unknown) = cache_targets.iter().find(|name| !names.contains(name)) {
            return Err(invalid(
                "CACHEPANEL_CACHE_TARGETS",
                format!("'{unknown}' is not a configured target"),
            ));
        }
        let state_namespace =
            env.word("CACHEPANEL_STATE_NAMESPACE", super::DEFAULT_STATE_NAMESPACE);
        check_state_namespace(&state_namespace)
            .map_err(|e| invalid("CACHEPANEL_STATE_NAMESPACE", e))?;
        Ok(Self {
            url,
            connect_timeout,
            response_timeout,
            sentinel,
            cluster_seeds,
            target_name,
            extra_targets,
            cache_targets,
            state_namespace,
        })
    }

    pub fn is_cache_target(&self, name: &str) -> bool {
        self.cache_targets.iter().any(|cache| cache == name)
    }

    /// Whether a Redis is configured at all (otherwise an embedded one is started).
    pub fn has_redis(&self) -> bool {
        self.url.is_some() || self.sentinel.is_some() || self.cluster_seeds.is_some()
    }

    /// The URL whose credentials, database and TLS the data nodes use.
    pub fn data_node_url(&self) -> Option<RedisUrl> {
        match &self.url {
            Some(url) => Some(url.clone()),
            None if self.sentinel.is_some() || self.cluster_seeds.is_some() => {
                RedisUrl::parse("redis://127.0.0.1:6379/0").ok()
            }
            None => None,
        }
    }

    pub fn timeouts(&self) -> Timeouts {
        Timeouts {
            connect: self.connect_timeout,
            response: self.response_timeout,
        }
    }

    /// Every target's connection (lazy: nothing is sent yet), the first one first. `url` is
    /// `data_node_url`, or the embedded server's.
    pub fn connect(&self, url: &RedisUrl) -> Result<Vec<RedisTarget>, TargetError> {
        let timeouts = self.timeouts();
        let first = match (&self.sentinel, &self.cluster_seeds) {
            (Some(sentinel), _) => {
                RedisTarget::with_sentinel(&self.target_name, url, timeouts, sentinel.clone())
            }
            (None, Some(seeds)) => {
                RedisTarget::with_cluster(&self.target_name, url, timeouts, seeds.clone())
            }
            (None, None) => {
                RedisTarget::new(&self.target_name, url, timeouts).map_err(|f| TargetError {
                    variable: "CACHEPANEL_REDIS_URL",
                    target: self.target_name.clone(),
                    reason: f.reason,
                })?
            }
        };
        let mut targets = vec![first];
        for extra in &self.extra_targets {
            let target =
                RedisTarget::new(&extra.name, &extra.url, timeouts).map_err(|f| TargetError {
                    variable: "CACHEPANEL_TARGETS",
                    target: extra.name.clone(),
                    reason: f.reason,
                })?;
            targets.push(target);
        }
        for target in &targets {
            target.set_state_namespace(&self.state_namespace);
        }
        Ok(targets)
    }
}

/// Target names appear in URLs and metric labels: short, plain.
fn check_target_name(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name.len() <= 32
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "'{name}': a target name is 1-32 letters, digits, '-' or '_'"
        ))
    }
}

/// The namespace starts every key cachepanel writes and is matched as a literal prefix: no
/// `:` (it is the first segment), no glob characters, no hash-tag braces.
fn check_state_namespace(namespace: &str) -> Result<(), String> {
    let valid = !namespace.is_empty()
        && namespace.len() <= 32
        && namespace
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "'{namespace}': a namespace is 1-32 letters, digits, '-', '_' or '.'"
        ))
    }
}

/// `name=redis://…;name2=redis://…` (the URLs are secrets: errors never quote them).
fn parse_extra_targets(text: &str) -> Result<Vec<ExtraTarget>, String> {
    let mut targets = Vec::new();
    for entry in text.split(';').map(str::trim).filter(|e| !e.is_empty()) {
        let (name, url) = entry
            .split_once('=')
            .ok_or_else(|| "expected name=redis://…;name2=redis://…".to_owned())?;
        let name = name.trim();
        check_target_name(name)?;
        let url = RedisUrl::parse(url).map_err(|e| format!("target '{name}': {e}"))?;
        targets.push(ExtraTarget {
            name: name.to_owned(),
            url,
        });
    }
    Ok(targets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn targets_are_built_first_one_first_and_errors_name_variable_and_target() {
        let settings = RedisSettings::from_env(&Env::pairs(&[
            ("CACHEPANEL_REDIS_URL", "redis://127.0.0.1:1/0"),
            ("CACHEPANEL_TARGETS", "celery=redis://127.0.0.1:2/0"),
        ]))
        .unwrap();
        let url = settings.data_node_url().unwrap();
        let targets = settings
            .connect(&url)
            .expect("connections are set up lazily");
        assert_eq!(targets.len(), 2);
        assert_eq!(targets[1].name(), "celery");
        let error = TargetError {
            variable: "CACHEPANEL_TARGETS",
            target: "celery".into(),
            reason: "connection refused".into(),
        };
        assert_eq!(
            error.to_string(),
            "CACHEPANEL_TARGETS: target 'celery': connection refused"
        );
    }
}
