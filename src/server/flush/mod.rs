//! Governed prefix flush. Step one, `preview`, counts the keys under a literal prefix with a
//! full `SCAN MATCH` (glob characters escaped) and remembers the result under an id. Step two,
//! `flush`, needs the same prefix typed again and that id, writes the audit entry (or does not
//! start), and deletes in the background: `SCAN MATCH … COUNT 1000`, every key re-checked with
//! a byte-wise `starts_with`, `UNLINK` in batches of at most 1000 pipelined with the next SCAN,
//! a duty cycle between pages, cancellable within one batch. Never `KEYS`, `FLUSHDB`, `FLUSHALL`
//! or a server-side script; the key list is never accumulated. Keys written under the prefix
//! while a flush runs may or may not be deleted (SCAN may or may not return them).
//!
//! Across replicas: previews are kept in Redis (`…:flush:preview:{id}`, 10 min), so any replica
//! confirms them; a flush runs under the target's `flush` lease, so a second start anywhere
//! answers 409 naming the replica that runs it, and a cancel from any replica reaches it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rand::Rng;
use tokio::sync::watch;
use tokio::time::Instant;

mod error;
mod preview;
mod run;
mod settings;
mod walk;

pub use error::FlushError;
pub use settings::FlushSettings;

use crate::model::census::PrefixGroup;
use crate::model::flush::{
    AuditAction, AuditFigures, FlushOutcome, FlushPolicy, FlushPreview, FlushProgress, FlushReport,
    FlushState, KeyPrefix, check_flushable,
};
use crate::server::audit::AuditLog;
use crate::server::clock::now_ms;
use crate::server::job::{JobLeases, LeaseRefusal, RunSlot};
use crate::server::redis::{RedisFailure, RedisTarget};
use preview::PreviewCounter;
use walk::scan_prefix;

/// Previews older than this cannot be confirmed: the keyspace has moved on.
const PREVIEW_VALID_FOR: Duration = Duration::from_secs(600);
/// The lease every replica's flushes of one target share.
const JOB: &str = "flush";

/// What the lease holder tells the other replicas about its flush (`…:flush:run`); a record
/// found without a lease is a flush that never finished.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FlushRunRecord {
    pub replica: String,
    pub actor: String,
    pub preview_id: String,
    /// As of the holder's last renewal (its `replica` set).
    pub progress: FlushProgress,
}

pub struct FlushManager {
    redis: RedisTarget,
    groups: Vec<PrefixGroup>,
    settings: FlushSettings,
    audit: AuditLog,
    state: watch::Sender<FlushState>,
    leases: JobLeases,
    /// Held while a flush runs (until its audit entry is written); cancel goes through it.
    slot: RunSlot,
    /// Set by a shutdown: a stopped run is recorded as interrupted, not cancelled.
    interrupted: AtomicBool,
}

impl FlushManager {
    pub fn new(
        redis: RedisTarget,
        groups: Vec<PrefixGroup>,
        settings: FlushSettings,
        audit: AuditLog,
        leases: JobLeases,
    ) -> Arc<Self> {
        let (state, _) = watch::channel(FlushState {
            policy: settings.policy.clone(),
            previewing: None,
            running: None,
            last: None,
        });
        Arc::new(Self {
            redis,
            groups,
            settings,
            audit,
            state,
            leases,
            slot: RunSlot::default(),
            interrupted: AtomicBool::new(false),
        })
    }

    pub fn state(&self) -> FlushState {
        self.state.borrow().clone()
    }

    pub fn subscribe(&self) -> watch::Receiver<FlushState> {
        self.state.subscribe()
    }

    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    fn allowed(&self) -> Result<(), FlushError> {
        match self.settings.policy {
            FlushPolicy::Enabled => Ok(()),
            FlushPolicy::ReadOnly => Err(FlushError::ReadOnly),
            FlushPolicy::NotACache => Err(FlushError::NotACache),
        }
    }

    /// Keys on every master (one server: its own DBSIZE).
    async fn dbsize(&self) -> Result<u64, RedisFailure> {
        let mut total = 0;
        for node in self.redis.masters().await? {
            total += node
                .run(|mut connection| async move {
                    redis::cmd("DBSIZE")
                        .query_async::<u64>(&mut connection)
                        .await
                })
                .await?;
        }
        Ok(total)
    }

    fn checked_prefix(&self, text: &str) -> Result<KeyPrefix, FlushError> {
        let prefix = KeyPrefix::new(text)?;
        check_flushable(&prefix, &self.groups)?;
        Ok(prefix)
    }

    /// Step one: counts the keys under `prefix` (full SCAN), samples names and size.
    pub async fn preview(&self, prefix: &str, actor: &str) -> Result<FlushPreview, FlushError> {
        self.allowed()?;
        let prefix = self.checked_prefix(prefix)?;
        let started = Instant::now();
        let dbsize = self.dbsize().await?;
        let progress = FlushProgress {
            prefix: prefix.as_str().to_owned(),
            started_at_ms: now_ms(),
            scanned_keys: 0,
            matched_keys: 0,
            deleted_keys: 0,
            dbsize_at_start: dbsize,
            ..Default::default()
        };
        self.state
            .send_modify(|state| state.previewing = Some(progress));
        let mut counter = PreviewCounter::default();
        let state = &self.state;
        let counted = scan_prefix(
            &self.redis,
            &prefix,
            None,
            |keys, _, visited| {
                counter.add(keys);
                let matched = counter.keys;
                state.send_modify(|state| {
                    if let Some(progress) = state.previewing.as_mut() {
                        progress.scanned_keys = visited.min(dbsize);
                        progress.matched_keys = matched;
                    }
                });
                Vec::new()
            },
            |node, done, total| {
                state.send_modify(|state| {
                    if let Some(progress) = state.previewing.as_mut() {
                        progress.node = node;
                        progress.nodes_done = done;
                        progress.nodes_total = total;
                    }
                });
            },
        )
        .await;
        self.state.send_modify(|state| state.previewing = None);
        counted.map_err(|(_, failure)| failure)?;
        let (estimated_bytes, estimate_error) = match counter.estimate(&self.redis).await {
            Ok(bytes) => (bytes, None),
            Err(failure) => (0, Some(failure.reason)),
        };
        let id = format!("{:016x}", rand::rng().random::<u64>());
        let preview = FlushPreview {
            id: id.clone(),
            prefix: prefix.as_str().to_owned(),
            keys: counter.keys,
            sample_names: counter
                .names
                .iter()
                .map(|name| String::from_utf8_lossy(name).into_owned())
                .collect(),
            estimated_bytes,
            estimate_error,
            created_at_ms: now_ms(),
            duration_ms: started.elapsed().as_millis() as u64,
        };
        self.keep_preview(&preview).await?;
        let detail = AuditFigures {
            preview_id: Some(preview.id.clone()),
            keys: Some(preview.keys),
            bytes: Some(preview.estimated_bytes),
            ..AuditFigures::default()
        }
        .to_detail();
        // A preview deletes nothing: a failed audit write is logged, not fatal.
        let _ = self
            .audit
            .append(AuditAction::Preview, actor, prefix.as_str(), &detail)
            .await;
        Ok(preview)
    }

    /// Step two: starts the flush of a previewed prefix in the background.
    pub async fn flush(
        self: &Arc<Self>,
        typed_prefix: &str,
        preview_id: &str,
        actor: &str,
    ) -> Result<FlushState, FlushError> {
        self.allowed()?;
        let Some(previewed) = self.previewed(preview_id).await? else {
            return Err(FlushError::UnknownPreview);
        };
        if typed_prefix != previewed.prefix {
            return Err(FlushError::ConfirmationMismatch {
                typed: typed_prefix.to_owned(),
                previewed: previewed.prefix,
            });
        }
        let prefix = self.checked_prefix(typed_prefix)?;
        let Some(cancel) = self.slot.try_start() else {
            return Err(FlushError::AlreadyRunning);
        };
        let started_at_ms = now_ms();
        let mut record = FlushRunRecord {
            replica: self.leases.replica().to_owned(),
            actor: actor.to_owned(),
            preview_id: preview_id.to_owned(),
            progress: FlushProgress {
                prefix: prefix.as_str().to_owned(),
                started_at_ms,
                replica: Some(self.leases.replica().to_owned()),
                ..FlushProgress::default()
            },
        };
        let lease = match self
            .leases
            .acquire(JOB, &encode_record(&record), cancel.clone())
            .await
        {
            Ok(lease) => lease,
            Err(refusal) => {
                self.slot.finish();
                return Err(match refusal {
                    LeaseRefusal::HeldBy(replica) => FlushError::RunningOn(replica),
                    LeaseRefusal::Redis(failure) => FlushError::Redis(failure),
                });
            }
        };
        if let Some(abandoned) = lease.abandoned() {
            self.audit_abandoned(abandoned).await;
        }
        let detail = AuditFigures {
            preview_id: Some(preview_id.to_owned()),
            keys: Some(previewed.keys),
            ..AuditFigures::default()
        }
        .to_detail();
        let started = async {
            let dbsize = self.dbsize().await.map_err(FlushError::Redis)?;
            self.audit
                .append(AuditAction::FlushStarted, actor, prefix.as_str(), &detail)
                .await
                .map_err(|failure| FlushError::AuditUnavailable(failure.reason))?;
            Ok::<u64, FlushError>(dbsize)
        };
        let dbsize = match started.await {
            Ok(dbsize) => dbsize,
            Err(error) => {
                let _ = lease.release(None).await;
                self.slot.finish();
                return Err(error);
            }
        };
        self.forget_preview(preview_id).await;
        self.state.send_modify(|state| {
            state.running = Some(FlushProgress {
                prefix: prefix.as_str().to_owned(),
                started_at_ms,
                scanned_keys: 0,
                matched_keys: 0,
                deleted_keys: 0,
                dbsize_at_start: dbsize,
                ..Default::default()
            });
        });
        let manager = self.clone();
        let actor = actor.to_owned();
        let preview_id = preview_id.to_owned();
        tokio::spawn(async move {
            let mut report = manager
                .run(prefix, preview_id, started_at_ms, &cancel, |progress| {
                    record.progress = FlushProgress {
                        replica: record.progress.replica.clone(),
                        ..progress.clone()
                    };
                    lease.describe(encode_record(&record));
                })
                .await;
            if lease.is_lost() && report.outcome != FlushOutcome::Complete {
                report.outcome = FlushOutcome::Failed {
                    reason: LEASE_LOST.to_owned(),
                };
            }
            let reason = match &report.outcome {
                FlushOutcome::Failed { reason } => Some(reason.clone()),
                _ => None,
            };
            let detail = AuditFigures {
                deleted: Some(report.deleted_keys),
                scanned: Some(report.scanned_keys),
                duration_ms: Some(report.duration_ms),
                outcome: Some(report.outcome.name().to_owned()),
                reason,
                ..AuditFigures::default()
            }
            .to_detail();
            manager.state.send_modify(|state| {
                state.running = None;
                state.last = Some(report.clone());
            });
            // Interrupted by a shutdown: the process has seconds left, so the audit entry is
            // tried briefly; otherwise it is retried until Redis takes it.
            let (action, patience) = if report.outcome == FlushOutcome::Interrupted {
                (AuditAction::FlushInterrupted, Duration::from_secs(3))
            } else {
                (AuditAction::FlushFinished, Duration::from_secs(600))
            };
            manager
                .audit
                .append_with_retry(action, &actor, &report.prefix, &detail, patience)
                .await;
            let last = serde_json::to_string(&report).ok();
            if let Err(failure) = lease.release(last).await {
                tracing::warn!(target_name = %manager.redis.name(), reason = %failure, "the flush lease could not be released; it expires by itself");
            }
            // Idle only once the audit entry is written: shutdown waits for exactly this.
            manager.slot.finish();
            manager.state.send_modify(|_| {});
        });
        Ok(self.state())
    }

    /// Deletes one rate-limit counter (unlocks its user or IP). Same policy and audit trail
    /// as a flush; only `rate_limit:user:…` / `rate_limit:ip:…` keys are accepted.
    pub async fn reset_rate_limit(&self, key: &str, actor: &str) -> Result<bool, FlushError> {
        self.allowed()?;
        if crate::model::rate_limit::Subject::from_key(key).is_none() {
            return Err(FlushError::NotACounter(key.to_owned()));
        }
        if let Err(failure) = self
            .audit
            .append(AuditAction::ResetRateLimit, actor, key, "")
            .await
        {
            return Err(FlushError::AuditUnavailable(failure.reason));
        }
        Ok(crate::server::rate_limit::reset_counter(&self.redis, key).await?)
    }

    /// Stops the running flush after its current batch, on this replica or (at its next lease
    /// renewal) on whichever runs it; false when none runs.
    pub async fn cancel(&self) -> Result<bool, FlushError> {
        if self.slot.cancel() {
            return Ok(true);
        }
        Ok(self.leases.request_cancel(JOB).await?.is_some())
    }

    /// Shutdown: the running flush (if any) stops after its current batch and is recorded as
    /// interrupted. Returns whether one was running.
    pub fn interrupt(&self) -> bool {
        self.interrupted.store(true, Ordering::Relaxed);
        self.slot.cancel()
    }

    fn preview_key(&self, id: &str) -> Option<String> {
        // Ids are ours (16 hex digits): anything else names no preview, and no key is built.
        let ours = id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit());
        ours.then(|| self.redis.state_key(&format!("flush:preview:{id}")))
    }

    /// Keeps a preview for `PREVIEW_VALID_FOR`, where every replica finds it.
    async fn keep_preview(&self, preview: &FlushPreview) -> Result<(), FlushError> {
        let key = self
            .preview_key(&preview.id)
            .ok_or(FlushError::UnknownPreview)?;
        let text = serde_json::to_string(preview).map_err(|error| {
            FlushError::Redis(RedisFailure {
                reason: error.to_string(),
            })
        })?;
        self.redis
            .run(|mut connection| async move {
                redis::cmd("SET")
                    .arg(key)
                    .arg(text)
                    .arg("PX")
                    .arg(PREVIEW_VALID_FOR.as_millis() as u64)
                    .query_async::<()>(&mut connection)
                    .await
            })
            .await?;
        Ok(())
    }

    /// The preview `id` if it is still valid (made on any replica).
    async fn previewed(&self, id: &str) -> Result<Option<FlushPreview>, FlushError> {
        let Some(key) = self.preview_key(id) else {
            return Ok(None);
        };
        let text = self.redis.read_state(&key, None).await?;
        Ok(text.and_then(|text| serde_json::from_str(&text).ok()))
    }

    /// A started flush used its preview up; a failure only leaves it to expire.
    async fn forget_preview(&self, id: &str) {
        if let Some(key) = self.preview_key(id) {
            let _ = self
                .redis
                .run(|mut connection| async move {
                    redis::cmd("DEL")
                        .arg(key)
                        .query_async::<()>(&mut connection)
                        .await
                })
                .await;
        }
    }

    /// The previous lease holder's flush never finished (its replica crashed or was killed):
    /// recorded as interrupted, with what it had deleted by its last renewal.
    async fn audit_abandoned(&self, record: &str) {
        let Ok(record) = serde_json::from_str::<FlushRunRecord>(record) else {
            return;
        };
        let detail = AuditFigures {
            preview_id: Some(record.preview_id.clone()),
            deleted: Some(record.progress.deleted_keys),
            scanned: Some(record.progress.scanned_keys),
            outcome: Some(FlushOutcome::Interrupted.name().to_owned()),
            reason: Some(format!(
                "replica {} stopped without finishing; its lease expired",
                record.replica
            )),
            ..AuditFigures::default()
        }
        .to_detail();
        let _ = self
            .audit
            .append(
                AuditAction::FlushInterrupted,
                &record.actor,
                &record.progress.prefix,
                &detail,
            )
            .await;
    }

    /// Shows on this replica the flush another replica runs (its progress, then its report),
    /// read from its run record every `every` while other replicas are present. Runs until
    /// aborted.
    pub async fn follow_other_replicas(self: Arc<Self>, every: Duration) {
        let mut following = false;
        loop {
            tokio::time::sleep(every).await;
            if self.slot.is_running() || !self.redis.own_lookups().others_present() {
                continue;
            }
            let Ok(record) = self.leases.run_record(JOB).await else {
                continue;
            };
            match record.and_then(|text| serde_json::from_str::<FlushRunRecord>(&text).ok()) {
                Some(record) if record.replica != self.leases.replica() => {
                    following = true;
                    let progress = Some(record.progress);
                    self.state.send_if_modified(|state| {
                        let changed = state.running != progress;
                        state.running = progress;
                        changed
                    });
                }
                _ if following => {
                    following = false;
                    let report = self.leases.last_report_as::<FlushReport>(JOB).await;
                    self.state.send_modify(|state| {
                        state.running = None;
                        if report.is_some() {
                            state.last = report;
                        }
                    });
                }
                _ => {}
            }
        }
    }

    /// This replica's name, as other replicas' answers give it.
    pub fn replica(&self) -> &str {
        self.leases.replica()
    }

    /// Waits until no flush runs (its report and audit entry written) or `limit` passes.
    pub async fn wait_idle(&self, limit: Duration) -> bool {
        let mut states = self.state.subscribe();
        let idle = async {
            loop {
                if !self.slot.is_running() {
                    return;
                }
                if states.changed().await.is_err() {
                    return;
                }
            }
        };
        tokio::time::timeout(limit, idle).await.is_ok()
    }
}

/// Why a flush stopped when its lease went away under it.
const LEASE_LOST: &str =
    "the flush lease was lost (a Redis failover or a stall longer than the lease); stopped";

fn encode_record(record: &FlushRunRecord) -> String {
    serde_json::to_string(record).unwrap_or_default()
}
