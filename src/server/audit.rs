//! The audit trail: a capped Redis stream (`XADD … MAXLEN ~`) mirrored to the structured log.
//! Flushes refuse to start when their "started" entry cannot be written; a "finished" entry
//! that fails (Redis went away mid-flush) is retried in the background until it lands.
//! Pages read the newest entries through a short-lived shared copy: however many people open
//! the page, Redis is asked at most once per `RECENT_FOR` (and again right after an append).

use std::time::Duration;

use crate::model::flush::{AuditAction, AuditEntry, AuditFigures};
use crate::server::clock::now_ms;
use crate::server::env::{ConfigError, Env};
use crate::server::redis::{RedisFailure, RedisTarget};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditSettings {
    pub stream_key: String,
    /// Approximate cap of the stream.
    pub max_len: u64,
}

impl Default for AuditSettings {
    fn default() -> Self {
        Self {
            stream_key: "cachepanel:audit".into(),
            max_len: 10_000,
        }
    }
}

impl AuditSettings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        Ok(Self {
            stream_key: env.word("CACHEPANEL_AUDIT_STREAM", &defaults.stream_key),
            max_len: env.whole(
                "CACHEPANEL_AUDIT_MAXLEN",
                defaults.max_len,
                100..=10_000_000,
            )?,
        })
    }
}

/// How long a read of the newest entries serves every page.
const RECENT_FOR: Duration = Duration::from_secs(3);

/// The newest entries as last read: when, after how many appends, how many were asked for,
/// and what came back.
type RecentCopy = Option<(tokio::time::Instant, u64, usize, Vec<AuditEntry>)>;

#[derive(Clone)]
pub struct AuditLog {
    redis: RedisTarget,
    settings: AuditSettings,
    /// Held across a read, so concurrent pages wait for one read instead of each sending one.
    recent: std::sync::Arc<tokio::sync::Mutex<RecentCopy>>,
    /// Appends so far: a copy made before the latest append is not served.
    appends: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl AuditLog {
    pub fn new(redis: RedisTarget, settings: AuditSettings) -> Self {
        Self {
            redis,
            settings,
            recent: std::sync::Arc::new(tokio::sync::Mutex::new(None)),
            appends: std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0)),
        }
    }

    /// The newest `count` entries, newest first, from the shared copy when it is fresh.
    pub async fn recent(&self, count: usize) -> Result<Vec<AuditEntry>, RedisFailure> {
        let mut copy = match tokio::time::timeout(
            self.redis.operation_timeout() * 2,
            self.recent.lock(),
        )
        .await
        {
            Ok(copy) => copy,
            Err(_) => return Err(RedisFailure::timed_out()),
        };
        let appends = self.appends.load(std::sync::atomic::Ordering::Acquire);
        if let Some((at, seen_appends, asked, entries)) = copy.as_ref()
            && *asked == count
            && *seen_appends == appends
            && at.elapsed() < RECENT_FOR
        {
            return Ok(entries.clone());
        }
        let entries = self.read_recent(count).await?;
        *copy = Some((tokio::time::Instant::now(), appends, count, entries.clone()));
        Ok(entries)
    }

    /// Appends an entry; the error means it is not in the stream (it is logged either way).
    pub async fn append(
        &self,
        action: AuditAction,
        actor: &str,
        prefix: &str,
        detail: &str,
    ) -> Result<(), RedisFailure> {
        let action = action.name();
        tracing::info!(target: "cachepanel::audit", action, actor, prefix, detail, redis = self.redis.name(), "audit");
        let key = self.settings.stream_key.clone();
        let max_len = self.settings.max_len;
        let fields = [
            ("at_ms", now_ms().to_string()),
            ("action", action.to_owned()),
            ("actor", actor.to_owned()),
            ("prefix", prefix.to_owned()),
            ("detail", detail.to_owned()),
        ];
        self.redis
            .run(|mut connection| async move {
                let mut command = redis::cmd("XADD");
                command
                    .arg(&key)
                    .arg("MAXLEN")
                    .arg("~")
                    .arg(max_len)
                    .arg("*");
                for (name, value) in &fields {
                    command.arg(name).arg(value);
                }
                command.query_async::<String>(&mut connection).await
            })
            .await?;
        self.appends
            .fetch_add(1, std::sync::atomic::Ordering::Release);
        Ok(())
    }

    /// Appends, retrying every few seconds for up to `patience` (for records that must land).
    pub async fn append_with_retry(
        &self,
        action: AuditAction,
        actor: &str,
        prefix: &str,
        detail: &str,
        patience: Duration,
    ) {
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            match self.append(action, actor, prefix, detail).await {
                Ok(()) => return,
                Err(failure) if tokio::time::Instant::now() < deadline => {
                    tracing::warn!(target_name = self.redis.name(), reason = %failure, action = action.name(), "audit write failed; retrying");
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
                Err(failure) => {
                    tracing::error!(target_name = self.redis.name(), reason = %failure, action = action.name(), prefix, detail, "audit write gave up; the log line above is the record");
                    return;
                }
            }
        }
    }

    /// The newest `count` entries, newest first.
    async fn read_recent(&self, count: usize) -> Result<Vec<AuditEntry>, RedisFailure> {
        let key = self.settings.stream_key.clone();
        // XREVRANGE is a keyspace lookup in Redis' stats; MEMORY USAGE is not. Checking first
        // keeps pages of a deployment without audit entries from adding misses to Redis'
        // counters; the lookup that remains is recorded as cachepanel's own.
        let exists_key = key.clone();
        let size: Option<u64> = self
            .redis
            .run(|mut connection| async move {
                redis::cmd("MEMORY")
                    .arg("USAGE")
                    .arg(&exists_key)
                    .query_async(&mut connection)
                    .await
            })
            .await?;
        if size.is_none() {
            return Ok(Vec::new());
        }
        let _gate = self.redis.own_lookups().gate().await;
        let entries: Vec<(String, Vec<(String, String)>)> = self
            .redis
            .run(|mut connection| async move {
                let reply: redis::Value = redis::cmd("XREVRANGE")
                    .arg(&key)
                    .arg("+")
                    .arg("-")
                    .arg("COUNT")
                    .arg(count)
                    .query_async(&mut connection)
                    .await?;
                Ok(redis::from_redis_value(reply)?)
            })
            .await?;
        let found = u64::from(!entries.is_empty());
        self.redis.own_lookups().record(found, 1 - found);
        Ok(entries
            .into_iter()
            .map(|(id, fields)| {
                let field = |name: &str| {
                    fields
                        .iter()
                        .find(|(n, _)| n == name)
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default()
                };
                AuditEntry {
                    at_ms: field("at_ms").parse().unwrap_or(0),
                    action: field("action"),
                    actor: field("actor"),
                    prefix: field("prefix"),
                    figures: AuditFigures::from_detail(&field("detail")),
                    detail: field("detail"),
                    id,
                }
            })
            .collect())
    }
}
