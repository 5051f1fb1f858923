//! The sampler's second duty: the slow log (every sample, incrementally), the client list and
//! the latency monitor (every `clients_interval`), persistence health (from the sample's own
//! INFO). Read once per target for all viewers; pages and API reads only see the result.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::Value;
use tokio::time::Instant;

use crate::model::clients::{ClientLine, ClientsView, parse_client_list};
use crate::model::diagnostics::{DiagnosticsView, LatencyEvent, LatencyMonitor};
use crate::model::info::InfoFields;
use crate::model::persistence::PersistenceHealth;
use crate::model::redis_config::ConfigAnswers;
use crate::model::slowlog::OWN_CLIENT_NAME;
use crate::server::live::slowlog::{self, SlowLogTracker};
use crate::server::redis::{RedisFailure, RedisTarget};

/// Newest slow-log entries a view lists.
pub const LISTED_ENTRIES: usize = 50;

#[derive(Clone, Debug, PartialEq)]
pub struct DiagnosticsSettings {
    /// How often `CLIENT LIST` and `LATENCY LATEST` are read; zero: never.
    pub clients_interval: Duration,
    /// A connection's output buffer from which it is a warning.
    pub output_buffer_warning_bytes: u64,
}

impl Default for DiagnosticsSettings {
    fn default() -> Self {
        Self {
            clients_interval: Duration::from_secs(10),
            output_buffer_warning_bytes: 32 << 20,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct Diagnostics {
    /// Per node address ("" for a single server).
    slow_logs: BTreeMap<String, SlowLogTracker>,
    clients: Option<ClientsView>,
    clients_read: Option<Instant>,
    persistence: Option<PersistenceHealth>,
    latency: LatencyMonitor,
    slowlog_config: (Option<i64>, Option<u64>),
    /// The connection name was sent on the current connection (sent again after failures).
    named: bool,
}

impl Diagnostics {
    /// Persistence health as last read (what the alerts need, without the whole view).
    pub fn persistence(&self) -> Option<PersistenceHealth> {
        self.persistence.clone()
    }

    /// What to show: the newest entries and last hour's shapes, the last client list.
    pub fn view(&self, target: &str, now_ms: i64) -> DiagnosticsView {
        let mut slow_log = slowlog::view(self.slow_logs.values(), LISTED_ENTRIES, now_ms);
        (slow_log.slower_than_usec, slow_log.max_len) = self.slowlog_config;
        DiagnosticsView {
            target: target.to_owned(),
            slow_log,
            clients: self.clients.clone(),
            persistence: self.persistence.clone(),
            latency: self.latency.clone(),
            biggest_keys: None,
        }
    }

    /// Called by the sampler after a successful INFO; each part fails on its own. True when
    /// anything shown changed; a timeout stops the refresh (Redis stalled) and is returned.
    pub async fn refresh(
        &mut self,
        redis: &RedisTarget,
        info: &InfoFields,
        config: &ConfigAnswers,
        settings: &DiagnosticsSettings,
        now_ms: i64,
    ) -> Result<bool, RedisFailure> {
        let persistence = Some(PersistenceHealth::from_info(
            info,
            config.save_rules.as_deref(),
            now_ms,
        ));
        let slowlog_config = (config.slowlog_slower_than_usec, config.slowlog_max_len);
        // The count of changes since the save moves with every write anywhere (cachepanel's
        // own presence included); it is shown at the next periodic publication, not pushed.
        let steady = |health: &Option<PersistenceHealth>| {
            health.clone().map(|health| PersistenceHealth {
                changes_since_save: 0,
                ..health
            })
        };
        let mut changed = steady(&persistence) != steady(&self.persistence)
            || slowlog_config != self.slowlog_config;
        self.persistence = persistence;
        self.slowlog_config = slowlog_config;
        let nodes = nodes_of(redis).await;
        let run_id = (!redis.is_cluster()).then(|| info.get("run_id")).flatten();
        for (address, node) in &nodes {
            let tracker = self.slow_logs.entry(address.clone()).or_default();
            let was_unavailable = tracker.unavailable.clone();
            match tracker
                .read_new(
                    node,
                    run_id,
                    config.slowlog_max_len,
                    now_ms,
                    &redis.state_namespace(),
                )
                .await
            {
                Ok(fresh) => changed |= fresh > 0 || was_unavailable.is_some(),
                Err(failure) if failure == RedisFailure::timed_out() => return Err(failure),
                Err(failure) => {
                    changed |= was_unavailable.as_ref() != Some(&failure.reason);
                    if !failure.reason.starts_with("server error") {
                        self.named = false; // a connection problem: the next one needs a name
                    }
                }
            }
        }
        let due = settings.clients_interval > Duration::ZERO
            && self
                .clients_read
                .is_none_or(|read| read.elapsed() >= settings.clients_interval);
        if due {
            self.clients_read = Some(Instant::now());
            let clients = read_clients(&nodes, info, settings, now_ms).await;
            let latency = read_latency(redis, config.latency_monitor_threshold_ms).await;
            for unavailable in [&clients.unavailable, &latency.unavailable] {
                if let Some(reason) = unavailable
                    && *reason == RedisFailure::timed_out().reason
                {
                    return Err(RedisFailure::timed_out());
                }
            }
            self.clients = Some(clients);
            self.latency = latency;
            changed = true;
        }
        Ok(changed)
    }

    /// Names the connection when it may be new; the sampler calls this before its INFO, so
    /// even the first commands of a connection carry the name.
    pub async fn ensure_named(&mut self, redis: &RedisTarget) -> Result<(), RedisFailure> {
        if !self.named {
            match name_connection(redis).await {
                Ok(()) => self.named = true,
                Err(failure) if failure == RedisFailure::timed_out() => return Err(failure),
                // Refused (ACL, renamed CLIENT): the connection stays unnamed, not asked again.
                Err(failure) if failure.reason.starts_with("server error") => self.named = true,
                Err(_) => {}
            }
        }
        Ok(())
    }

    /// Sends the connection name again with the next refresh: Redis could not be read (the
    /// connection will be new), or another caller may have seen a reconnection.
    pub fn name_again(&mut self) {
        self.named = false;
    }
}

/// `CLIENT SETNAME`, so Redis' slow log and client list name cachepanel's connection. On a
/// cluster the routed connection has one link per node and is not named.
async fn name_connection(redis: &RedisTarget) -> Result<(), RedisFailure> {
    if redis.is_cluster() {
        return Ok(());
    }
    redis
        .run(|mut connection| async move {
            redis::cmd("CLIENT")
                .arg("SETNAME")
                .arg(OWN_CLIENT_NAME)
                .query_async::<()>(&mut connection)
                .await
        })
        .await
}

/// The nodes whose slow log and clients are read: every master of a cluster, else the target.
async fn nodes_of(redis: &RedisTarget) -> Vec<(String, RedisTarget)> {
    if !redis.is_cluster() {
        return vec![(String::new(), redis.clone())];
    }
    match redis.masters().await {
        Ok(masters) => masters
            .into_iter()
            .map(|master| (master.address().unwrap_or_default(), master))
            .collect(),
        Err(_) => Vec::new(),
    }
}

async fn read_clients(
    nodes: &[(String, RedisTarget)],
    info: &InfoFields,
    settings: &DiagnosticsSettings,
    now_ms: i64,
) -> ClientsView {
    let mut clients: Vec<ClientLine> = Vec::new();
    for (_, node) in nodes {
        let list = node
            .run(|mut connection| async move {
                redis::cmd("CLIENT")
                    .arg("LIST")
                    .query_async::<String>(&mut connection)
                    .await
            })
            .await;
        match list {
            Ok(text) => clients.extend(parse_client_list(&text)),
            Err(failure) => {
                return ClientsView {
                    read_at_ms: now_ms,
                    unavailable: Some(failure.reason),
                    ..ClientsView::default()
                };
            }
        }
    }
    // On a cluster each master has its own limit; the combined INFO sums them.
    let maxclients = info.u64("maxclients");
    ClientsView::new(
        &clients,
        maxclients,
        settings.output_buffer_warning_bytes,
        now_ms,
    )
}

async fn read_latency(redis: &RedisTarget, threshold_ms: Option<u64>) -> LatencyMonitor {
    let mut monitor = LatencyMonitor {
        threshold_ms,
        ..LatencyMonitor::default()
    };
    if threshold_ms.is_none_or(|ms| ms == 0) || redis.is_cluster() {
        return monitor; // off (never switched on from here), unknown, or per node on a cluster
    }
    let reply: Result<Value, RedisFailure> = redis
        .run(|mut connection| async move {
            redis::cmd("LATENCY")
                .arg("LATEST")
                .query_async(&mut connection)
                .await
        })
        .await;
    match reply {
        Ok(Value::Array(events)) => {
            monitor.events = events.into_iter().filter_map(latency_event).collect();
        }
        Ok(_) => {}
        Err(failure) => monitor.unavailable = Some(failure.reason),
    }
    monitor
}

/// `[event, unix seconds, latest ms, max ms]` (Redis 7.4 appends a sum; ignored).
fn latency_event(entry: Value) -> Option<LatencyEvent> {
    let Value::Array(fields) = entry else {
        return None;
    };
    let mut fields = fields.into_iter();
    let event = match fields.next()? {
        Value::BulkString(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Value::SimpleString(text) => text,
        _ => return None,
    };
    let mut number = || match fields.next() {
        Some(Value::Int(number)) => Some(number),
        _ => None,
    };
    Some(LatencyEvent {
        event,
        at_ms: number()?.saturating_mul(1000),
        latest_ms: u64::try_from(number()?).ok()?,
        max_ms: u64::try_from(number()?).ok()?,
    })
}

/// Renderings of the diagnostics (one per key: language, whether the viewer may act), made
/// once per published version and shared by every page and event stream of the target, so a
/// thousand viewers cost one rendering per change, not a thousand.
#[derive(Debug, Default)]
pub struct RenderCache {
    renderings: Mutex<Renderings>,
}

/// The version they were made for, and each key's rendering.
#[derive(Debug, Default)]
struct Renderings {
    version: u64,
    by_key: Vec<(String, Arc<str>)>,
}

impl RenderCache {
    pub fn get_or_render(
        &self,
        version: u64,
        key: &str,
        render: impl FnOnce() -> String,
    ) -> Arc<str> {
        let mut renderings = self
            .renderings
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if renderings.version != version {
            *renderings = Renderings {
                version,
                by_key: Vec::new(),
            };
        }
        if let Some((_, html)) = renderings.by_key.iter().find(|(kept, _)| kept == key) {
            return html.clone();
        }
        // Rendered under the lock: streams woken by the same change wait for one rendering.
        let html: Arc<str> = render().into();
        renderings.by_key.push((key.to_owned(), html.clone()));
        html
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_version_and_key_is_rendered_once() {
        let cache = RenderCache::default();
        let renders = std::cell::Cell::new(0);
        let render = |text: &str| {
            renders.set(renders.get() + 1);
            text.to_owned()
        };
        let first = cache.get_or_render(1, "ru", || render("ru 1"));
        let again = cache.get_or_render(1, "ru", || render("never"));
        assert!(Arc::ptr_eq(&first, &again));
        assert_eq!(&*cache.get_or_render(1, "en", || render("en 1")), "en 1");
        assert_eq!(renders.get(), 2);
        assert_eq!(&*cache.get_or_render(2, "ru", || render("ru 2")), "ru 2");
        assert_eq!(renders.get(), 3);
    }
}
