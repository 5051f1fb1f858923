//! The one Redis connection object of the process. Every call goes through `RedisTarget::run`,
//! which bounds it with a timeout, so no request can hang on a slow or vanished server. Behind
//! Sentinel the target follows the master: a call that fails the way a demoted or dead master
//! fails makes it ask the sentinels again (see `sentinel`).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::server::env::RedisUrl;

mod cluster;
mod failure;
mod own_commands;
mod own_lookups;
pub mod pacing;
pub mod process;
pub mod scan;
pub mod sentinel;
pub mod settings;

use cluster::ClusterState;
pub use failure::RedisFailure;
pub use own_commands::OwnCommands;
pub use own_lookups::{OwnLookups, SharedCount};

/// KEYS key, state hash; ARGV field ('' for a string key), run to count under ('' for none),
/// the state hash's ttl ms. Reads the key (or a field of the state hash) and adds the lookup
/// to the replicas' shared count under `run`. Redis counts a hash read as a hit when the hash
/// exists, whatever the field; `PEXPIRE` tells whether it does without being a lookup itself
/// (and keeps the state hash alive). Returns {Redis' hit, value there, value or ''}.
static READ_STATE: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
    redis::Script::new(
        r"
        local value
        local found
        if ARGV[1] == '' then
            value = redis.call('GET', KEYS[1])
            found = value and 1 or 0
        else
            found = redis.call('PEXPIRE', KEYS[1], ARGV[3])
            value = redis.call('HGET', KEYS[1], ARGV[1])
        end
        if ARGV[2] ~= '' then
            redis.call('HINCRBY', KEYS[2], (found == 1 and 'hits:' or 'misses:') .. ARGV[2], 1)
        end
        return {found, value and 1 or 0, value or ''}
        ",
    )
});

/// How long the state hash outlives its last write.
pub const STATE_TTL: std::time::Duration = std::time::Duration::from_secs(3 * 24 * 3600);

/// Where cachepanel keeps its own state unless `CACHEPANEL_STATE_NAMESPACE` says otherwise.
pub const DEFAULT_STATE_NAMESPACE: &str = "cachepanel";

/// Timeouts applied to every Redis call.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    pub connect: Duration,
    pub response: Duration,
}

/// A configured Redis server. Cheap to clone: clones share one multiplexed connection that
/// reconnects by itself after Redis restarts.
#[derive(Clone)]
pub struct RedisTarget {
    inner: Arc<Inner>,
}

/// A connection to a target: one server, or a Redis Cluster (commands routed by key slot).
/// Operations receive it and use it like any redis-rs async connection. Every command that
/// Redis answers is counted by name ([`OwnCommands`]): Redis times commands, not clients, so
/// cachepanel's share of Redis' time is estimated from its own counts.
#[derive(Clone)]
pub struct Connection {
    link: Link,
    commands: Arc<OwnCommands>,
}

#[derive(Clone)]
enum Link {
    Single(ConnectionManager),
    Cluster(redis::cluster_async::ClusterConnection),
}

impl redis::aio::ConnectionLike for Connection {
    fn req_packed_command<'a>(
        &'a mut self,
        cmd: &'a redis::Cmd,
    ) -> redis::RedisFuture<'a, redis::Value> {
        let commands = self.commands.clone();
        let answer = match &mut self.link {
            Link::Single(connection) => connection.req_packed_command(cmd),
            Link::Cluster(connection) => connection.req_packed_command(cmd),
        };
        Box::pin(async move {
            let value = answer.await?;
            commands.count(std::iter::once(cmd));
            Ok(value)
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> redis::RedisFuture<'a, Vec<redis::Value>> {
        let commands = self.commands.clone();
        let answers = match &mut self.link {
            Link::Single(connection) => connection.req_packed_commands(pipeline, offset, count),
            Link::Cluster(connection) => connection.req_packed_commands(pipeline, offset, count),
        };
        Box::pin(async move {
            let values = answers.await?;
            commands.count(pipeline.cmd_iter());
            if pipeline.is_transaction() {
                // The MULTI and EXEC redis-rs wraps a transaction in are commands Redis counts.
                commands.count([redis::cmd("MULTI"), redis::cmd("EXEC")].iter());
            }
            Ok(values)
        })
    }

    fn get_db(&self) -> i64 {
        match &self.link {
            Link::Single(connection) => connection.get_db(),
            Link::Cluster(connection) => connection.get_db(),
        }
    }
}

struct Inner {
    name: String,
    /// The first segment of the keys cachepanel keeps its own state under (`cachepanel`).
    state_namespace: std::sync::RwLock<Arc<str>>,
    own_lookups: Arc<OwnLookups>,
    own_commands: Arc<OwnCommands>,
    cluster: Option<ClusterState>,
    /// The node commands go to, and its connection; `None` until Sentinel named a master.
    current: std::sync::RwLock<Option<Current>>,
    /// Bound on a whole operation (one command or pipeline).
    operation_timeout: Duration,
    timeouts: Timeouts,
    /// Credentials, database and TLS of the data nodes; the host is replaced behind Sentinel.
    url: RedisUrl,
    sentinel: Option<sentinel::SentinelSettings>,
    /// When the sentinels were last asked; one question at a time.
    last_discovery: tokio::sync::Mutex<Option<tokio::time::Instant>>,
}

#[derive(Clone)]
struct Current {
    address: String,
    manager: ConnectionManager,
}

/// A lazily connecting manager for `url`: the app starts even while Redis is down.
fn manager_for(url: &RedisUrl, timeouts: Timeouts) -> Result<ConnectionManager, RedisFailure> {
    let client = redis::Client::open(url.expose())?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(timeouts.connect))
        .set_response_timeout(Some(timeouts.response))
        // One quick retry; the next request tries again anyway, and the page must not wait.
        .set_number_of_retries(1)
        .set_min_delay(Duration::from_millis(50))
        .set_max_delay(Duration::from_millis(500));
    Ok(ConnectionManager::new_lazy_with_config(client, config)?)
}

/// Failures a dead or demoted master produces (as opposed to a bad command).
fn suggests_failover(error: &redis::RedisError) -> bool {
    error.is_io_error()
        || error.is_connection_refusal()
        || error.is_connection_dropped()
        || error.is_timeout()
        || matches!(error.code(), Some("READONLY" | "MASTERDOWN" | "LOADING"))
}

impl RedisTarget {
    /// Prepares the connection without opening it, so the app starts even while Redis is down.
    pub fn new(name: &str, url: &RedisUrl, timeouts: Timeouts) -> Result<Self, RedisFailure> {
        let manager = manager_for(url, timeouts)?;
        Ok(Self::build(
            name,
            url,
            timeouts,
            None,
            Some(Current {
                address: url.address(),
                manager,
            }),
        ))
    }

    /// A target behind Sentinel: `url` gives credentials, database and TLS of the data nodes;
    /// the master's address is asked of the sentinels on first use and after failures.
    pub fn with_sentinel(
        name: &str,
        url: &RedisUrl,
        timeouts: Timeouts,
        settings: sentinel::SentinelSettings,
    ) -> Self {
        Self::build(name, url, timeouts, Some(settings), None)
    }

    /// A target on a Redis Cluster found through `seeds` (`host:port`); `url` gives password,
    /// database and TLS. Keyed commands are routed by slot; `masters()` lists every master.
    pub fn with_cluster(
        name: &str,
        url: &RedisUrl,
        timeouts: Timeouts,
        seeds: Vec<String>,
    ) -> Self {
        let mut target = Self::build(name, url, timeouts, None, None);
        if let Some(inner) = Arc::get_mut(&mut target.inner) {
            inner.cluster = Some(ClusterState {
                seeds,
                connection: tokio::sync::OnceCell::new(),
                nodes: std::sync::Mutex::new(std::collections::HashMap::new()),
            });
        }
        target
    }

    pub fn is_cluster(&self) -> bool {
        self.inner.cluster.is_some()
    }

    fn build(
        name: &str,
        url: &RedisUrl,
        timeouts: Timeouts,
        sentinel: Option<sentinel::SentinelSettings>,
        current: Option<Current>,
    ) -> Self {
        // A stalled server must surface as "timed out" about when the response timeout says,
        // not after connect + response; the slack covers scheduling and a quick reconnect.
        let operation_timeout =
            timeouts.connect.max(timeouts.response) + Duration::from_millis(200);
        Self {
            inner: Arc::new(Inner {
                name: name.to_owned(),
                state_namespace: std::sync::RwLock::new(Arc::from(DEFAULT_STATE_NAMESPACE)),
                own_lookups: Arc::new(OwnLookups::default()),
                own_commands: Arc::new(OwnCommands::default()),
                cluster: None,
                current: std::sync::RwLock::new(current),
                operation_timeout,
                timeouts,
                url: url.clone(),
                sentinel,
                last_discovery: tokio::sync::Mutex::new(None),
            }),
        }
    }

    pub fn sentinel(&self) -> Option<&sentinel::SentinelSettings> {
        self.inner.sentinel.as_ref()
    }

    pub fn timeouts(&self) -> Timeouts {
        self.inner.timeouts
    }

    /// `host:port` commands currently go to (behind Sentinel: the master last named).
    pub fn address(&self) -> Option<String> {
        self.current().map(|current| current.address)
    }

    fn current(&self) -> Option<Current> {
        self.inner
            .current
            .read()
            .ok()
            .and_then(|current| current.clone())
    }

    /// Behind Sentinel: asks the sentinels for the master and switches to it if it moved. At
    /// most once per `REDISCOVERY_INTERVAL`; concurrent callers wait for the one question.
    pub async fn rediscover(&self) {
        let Some(settings) = &self.inner.sentinel else {
            return;
        };
        let mut last = self.inner.last_discovery.lock().await;
        if last.is_some_and(|at| at.elapsed() < sentinel::REDISCOVERY_INTERVAL) {
            return;
        }
        *last = Some(tokio::time::Instant::now());
        match sentinel::master_address(settings, self.inner.timeouts).await {
            Ok((host, port)) => {
                let address = format!("{host}:{port}");
                if self.address().as_deref() == Some(address.as_str()) {
                    return;
                }
                let url = self.inner.url.with_address(&host, port);
                match manager_for(&url, self.inner.timeouts) {
                    Ok(manager) => {
                        tracing::info!(target_name = %self.inner.name, master = %address, "Sentinel names a new master; following it");
                        if let Ok(mut current) = self.inner.current.write() {
                            *current = Some(Current { address, manager });
                        }
                    }
                    Err(failure) => {
                        tracing::warn!(target_name = %self.inner.name, reason = %failure, "cannot prepare the new master's connection");
                    }
                }
            }
            Err(failure) => {
                tracing::warn!(target_name = %self.inner.name, reason = %failure, "no sentinel named a master");
            }
        }
    }

    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Sets the namespace of cachepanel's own keys on this target (and its clones).
    pub fn set_state_namespace(&self, namespace: &str) {
        if let Ok(mut current) = self.inner.state_namespace.write() {
            *current = Arc::from(namespace);
        }
    }

    pub fn state_namespace(&self) -> Arc<str> {
        self.inner
            .state_namespace
            .read()
            .map(|namespace| namespace.clone())
            .unwrap_or_else(|_| Arc::from(DEFAULT_STATE_NAMESPACE))
    }

    /// `{namespace}:{target}:{suffix}`: one of cachepanel's own keys about this target. The
    /// braces are a hash tag, so on a Cluster all of a target's state shares one slot (scripts
    /// over several of them stay legal).
    pub fn state_key(&self, suffix: &str) -> String {
        format!(
            "{}:{{{}}}:{suffix}",
            self.state_namespace(),
            self.inner.name
        )
    }

    pub fn own_lookups(&self) -> &OwnLookups {
        &self.inner.own_lookups
    }

    /// The commands cachepanel sent this target, by name.
    pub fn own_commands(&self) -> &OwnCommands {
        &self.inner.own_commands
    }

    /// The bound on one operation (a command or a pipeline), slack included.
    pub fn operation_timeout(&self) -> Duration {
        self.inner.operation_timeout
    }

    /// Runs one operation (a command or a pipeline) on a clone of the shared connection,
    /// bounded by the larger of the two timeouts (plus a little slack).
    pub async fn run<T, F, Fut>(&self, operation: F) -> Result<T, RedisFailure>
    where
        F: FnOnce(Connection) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        if let Some(cluster) = &self.inner.cluster {
            let connection = self.cluster_connection(cluster).await?;
            return match tokio::time::timeout(
                self.inner.operation_timeout,
                operation(Connection {
                    link: Link::Cluster(connection),
                    commands: self.inner.own_commands.clone(),
                }),
            )
            .await
            {
                Ok(result) => result.map_err(RedisFailure::from),
                Err(_) => Err(RedisFailure::timed_out()),
            };
        }
        let current = match self.current() {
            Some(current) => current,
            None => {
                self.rediscover_within_bound().await;
                self.current().ok_or_else(|| RedisFailure {
                    reason: "no master known to the sentinels".into(),
                })?
            }
        };
        let outcome = tokio::time::timeout(
            self.inner.operation_timeout,
            operation(Connection {
                link: Link::Single(current.manager),
                commands: self.inner.own_commands.clone(),
            }),
        )
        .await;
        let failed_over = match &outcome {
            Ok(Err(error)) => suggests_failover(error),
            Ok(Ok(_)) => false,
            Err(_) => true,
        };
        if failed_over && self.inner.sentinel.is_some() {
            self.rediscover_within_bound().await;
        }
        match outcome {
            Ok(result) => result.map_err(RedisFailure::from),
            Err(_) => Err(RedisFailure::timed_out()),
        }
    }

    /// Single-key commands over keys that may live in different slots: one pipeline on a
    /// single server; on a cluster (where a pipeline must stay in one slot) one routed request
    /// each. Replies in order.
    pub async fn query_each(
        &self,
        commands: Vec<redis::Cmd>,
    ) -> Result<Vec<redis::Value>, RedisFailure> {
        if commands.is_empty() {
            return Ok(Vec::new());
        }
        if !self.is_cluster() {
            return self
                .run(|mut connection| async move {
                    let mut pipe = redis::pipe();
                    for command in commands {
                        pipe.add_command(command);
                    }
                    pipe.query_async(&mut connection).await
                })
                .await;
        }
        let mut replies = Vec::with_capacity(commands.len());
        for command in commands {
            replies.push(
                self.run(
                    |mut connection| async move { command.query_async(&mut connection).await },
                )
                .await?,
            );
        }
        Ok(replies)
    }

    async fn rediscover_within_bound(&self) {
        let _ = tokio::time::timeout(self.inner.operation_timeout * 2, self.rediscover()).await;
    }

    /// Like `run`, with a tighter bound for calls on a request's critical path.
    pub async fn run_within<T, F, Fut>(
        &self,
        limit: Duration,
        operation: F,
    ) -> Result<T, RedisFailure>
    where
        F: FnOnce(Connection) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        match tokio::time::timeout(limit.min(self.inner.operation_timeout), self.run(operation))
            .await
        {
            Ok(result) => result,
            Err(_) => Err(RedisFailure::timed_out()),
        }
    }

    /// The hash of what the replicas of this target share that needs no expiry of its own:
    /// their count of cachepanel's lookups, schedule claims, the counters view.
    pub fn state_hash(&self) -> String {
        self.state_key("state")
    }

    /// `GET key` (or `HGET key field`) of one of cachepanel's own keys (`state_key`), counted
    /// as cachepanel's own lookup. While other replicas share the count, one script reads and
    /// counts (the keys share a hash tag), so no replica's sample sees the read uncounted.
    pub async fn read_state(
        &self,
        key: &str,
        field: Option<&str>,
    ) -> Result<Option<String>, RedisFailure> {
        let lookups = self.own_lookups();
        let _gate = lookups.gate().await;
        let shared = lookups.shared_count();
        let (state, run) = match &shared {
            Some(count) => (count.key.clone(), count.run_id.clone()),
            None => (self.state_hash(), String::new()),
        };
        let (key, field) = (key.to_owned(), field.unwrap_or_default().to_owned());
        let ttl = STATE_TTL.as_millis() as u64;
        let (found, present, value): (u64, u64, String) = self
            .run(|mut connection| async move {
                READ_STATE
                    .key(key)
                    .key(state)
                    .arg(field)
                    .arg(run)
                    .arg(ttl)
                    .invoke_async(&mut connection)
                    .await
            })
            .await?;
        let found = found.min(1);
        lookups.record(found, 1 - found);
        if shared.is_some() {
            lookups.mark_shared((found as i64, 1 - found as i64));
        }
        Ok((present == 1).then_some(value))
    }

    /// Round trip time of a `PING`.
    pub async fn ping(&self) -> Result<Duration, RedisFailure> {
        let started = tokio::time::Instant::now();
        self.run(|mut connection| async move {
            redis::cmd("PING")
                .query_async::<String>(&mut connection)
                .await
        })
        .await?;
        Ok(started.elapsed())
    }
}
