//! How replicas tell each other apart and how long a job's lease lasts without renewal
//! (`CACHEPANEL_REPLICA_ID`, `CACHEPANEL_LEASE_TTL_MS`).

use std::time::Duration;

use crate::server::env::{ConfigError, Env, invalid};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobSettings {
    /// This process, as other replicas name it ("a flush is running on …").
    pub replica: String,
    /// A lease not renewed for this long is free: the time a crashed replica blocks others.
    pub lease_ttl: Duration,
}

impl Default for JobSettings {
    fn default() -> Self {
        Self {
            replica: default_replica(),
            lease_ttl: Duration::from_secs(15),
        }
    }
}

impl JobSettings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let replica = env.word("CACHEPANEL_REPLICA_ID", &default_replica());
        let printable = !replica.is_empty()
            && replica.len() <= 64
            && replica.chars().all(|c| c.is_ascii_graphic());
        if !printable {
            return Err(invalid(
                "CACHEPANEL_REPLICA_ID",
                "1-64 printable characters without spaces",
            ));
        }
        Ok(Self {
            replica,
            lease_ttl: env.millis("CACHEPANEL_LEASE_TTL_MS", 15_000, 1_000..=600_000)?,
        })
    }

    /// How often a running job renews its lease (and sees a cancel asked from another
    /// replica): often enough that two renewals can fail before the lease runs out.
    pub fn renew_every(&self) -> Duration {
        (self.lease_ttl / 5).clamp(Duration::from_millis(200), Duration::from_secs(1))
    }
}

/// `host-pid`: unique on one machine and readable in a container (where the host name is the
/// container's).
fn default_replica() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty() && name.chars().all(|c| c.is_ascii_graphic()))
        .unwrap_or_else(|| "cachepanel".into());
    format!("{host}-{}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_replica_is_named_by_host_and_process_unless_configured() {
        let settings = JobSettings::from_env(&Env::pairs(&[])).unwrap();
        assert!(
            settings
                .replica
                .ends_with(&format!("-{}", std::process::id())),
            "{}",
            settings.replica
        );
        assert_eq!(settings.renew_every(), Duration::from_secs(1));
        let named = JobSettings::from_env(&Env::pairs(&[
            ("CACHEPANEL_REPLICA_ID", "panel-a"),
            ("CACHEPANEL_LEASE_TTL_MS", "2000"),
        ]))
        .unwrap();
        assert_eq!(named.replica, "panel-a");
        assert_eq!(named.renew_every(), Duration::from_millis(400));
        let error =
            JobSettings::from_env(&Env::pairs(&[("CACHEPANEL_REPLICA_ID", "a b")])).unwrap_err();
        assert!(
            error.to_string().contains("CACHEPANEL_REPLICA_ID"),
            "{error}"
        );
    }
}
