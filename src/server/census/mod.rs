//! Key census: one full pass over the keyspace with `SCAN` only (never `KEYS`, never a
//! server-side loop), grouping keys by prefix. Memory stays bounded whatever the keyspace:
//! keys are classified as they stream past and only aggregates, bounded reservoirs and a few
//! sample names per group are kept. At most one census runs per Redis; it can be cancelled.
//!
//! Each round trip carries the inspection commands (TYPE, PTTL, MEMORY USAGE, OBJECT …) for
//! the sampled keys of the previous page together with the next `SCAN`, so sampling costs no
//! extra round trips. `COUNT` adapts to the measured round trip, and a duty cycle leaves Redis
//! idle between pages so other clients' latency stays flat.
//!
//! Across replicas a census runs under the target's `census` lease, and the schedule fires on
//! one replica per period (whichever ticks first), not on each.

use std::collections::BTreeMap;
use std::sync::Arc;

use redis::{RedisResult, Value};
use tokio::sync::watch;
use tokio::time::Instant;

mod aggregate;
mod settings;

pub use settings::CensusSettings;

use crate::model::census::{
    AppLookups, BiggestKeys, CensusOutcome, CensusProgress, CensusReport, CensusState, HotnessKind,
    KeySample, PREFIX_HITS_KEY, PREFIX_HITS_MINUTES, PrefixGroup, add_prefix_counters,
};
use crate::server::clock::now_ms;
use crate::server::job::{JobLeases, LeaseRefusal, RunSlot};
use crate::server::redis::scan::{WalkEnd, WalkOptions, Walker};
use crate::server::redis::{RedisFailure, RedisTarget};
use aggregate::Aggregate;

#[derive(Debug, PartialEq, thiserror::Error)]
pub enum CensusError {
    #[error("a census is already running on this Redis")]
    AlreadyRunning,
    #[error("a census is already running on this Redis, on replica {0}")]
    RunningOn(String),
    #[error("Redis: {0}")]
    Redis(#[from] RedisFailure),
}

impl From<CensusError> for crate::error::AppError {
    fn from(error: CensusError) -> Self {
        let replica = match &error {
            CensusError::AlreadyRunning => None,
            CensusError::RunningOn(replica) => Some(replica.clone()),
            CensusError::Redis(failure) => {
                return Self::RedisUnavailable {
                    reason: failure.reason.clone(),
                };
            }
        };
        Self::Conflict {
            message: error.to_string(),
            problem: Some(crate::error::Problem::CensusRunning { replica }),
        }
    }
}

/// The lease every replica's censuses of one target share.
const JOB: &str = "census";

/// Why a census stopped when its lease went away under it.
const LEASE_LOST: &str =
    "the census lease was lost (a Redis failover or a stall longer than the lease); stopped";

/// The census of one Redis: start, cancel, and the state every page reads.
pub struct CensusManager {
    redis: RedisTarget,
    settings: CensusSettings,
    state: watch::Sender<CensusState>,
    /// Set while a census runs; flipping it to true cancels the run.
    slot: RunSlot,
    /// The last census' biggest keys (not part of the state the browser decodes).
    biggest: std::sync::RwLock<Option<BiggestKeys>>,
    leases: JobLeases,
}

impl CensusManager {
    pub fn new(redis: RedisTarget, settings: CensusSettings, leases: JobLeases) -> Arc<Self> {
        let (state, _) = watch::channel(CensusState::default());
        Arc::new(Self {
            redis,
            settings,
            state,
            leases,
            slot: RunSlot::default(),
            biggest: std::sync::RwLock::new(None),
        })
    }

    pub fn state(&self) -> CensusState {
        self.state.borrow().clone()
    }

    /// The largest keys the last census that measured any found.
    pub fn biggest_keys(&self) -> Option<BiggestKeys> {
        self.biggest
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    pub fn subscribe(&self) -> watch::Receiver<CensusState> {
        self.state.subscribe()
    }

    pub fn groups(&self) -> &[PrefixGroup] {
        &self.settings.groups
    }

    /// Starts a census in the background unless one is running (here or on another replica).
    pub async fn start(self: &Arc<Self>) -> Result<(), CensusError> {
        self.start_with(self.settings.clone()).await
    }

    /// Starts a census that inspects every key (exact TTL, memory and biggest keys) once,
    /// whatever the configured sample; the scheduled ones keep sampling.
    pub async fn start_full(self: &Arc<Self>) -> Result<(), CensusError> {
        let mut settings = self.settings.clone();
        settings.sample_every = 1;
        self.start_with(settings).await
    }

    async fn start_with(self: &Arc<Self>, settings: CensusSettings) -> Result<(), CensusError> {
        let Some(flag) = self.slot.try_start() else {
            return Err(CensusError::AlreadyRunning);
        };
        let record = serde_json::to_string(&CensusProgress {
            started_at_ms: now_ms(),
            scanned_keys: 0,
            dbsize_at_start: 0,
            eta_seconds: None,
            node: None,
            nodes_done: 0,
            nodes_total: 0,
            replica: Some(self.leases.replica().to_owned()),
        })
        .unwrap_or_default();
        let lease = match self.leases.acquire(JOB, &record, flag.clone()).await {
            Ok(lease) => lease,
            Err(refusal) => {
                self.slot.finish();
                return Err(match refusal {
                    LeaseRefusal::HeldBy(replica) => CensusError::RunningOn(replica),
                    LeaseRefusal::Redis(failure) => CensusError::Redis(failure),
                });
            }
        };
        let manager = self.clone();
        tokio::spawn(async move {
            // The run record follows the progress, for the other replicas' pages.
            let mut states = manager.state.subscribe();
            let replica = manager.leases.replica().to_owned();
            let describer = lease.describer();
            let describing = tokio::spawn(async move {
                while states.changed().await.is_ok() {
                    let running = states.borrow_and_update().running.clone();
                    if let Some(mut progress) = running {
                        progress.replica = Some(replica.clone());
                        if let Ok(text) = serde_json::to_string(&progress) {
                            describer.describe(text);
                        }
                    }
                }
            });
            let (mut report, biggest) = run_census(&manager, &settings, flag).await;
            describing.abort();
            if lease.is_lost() && report.outcome != CensusOutcome::Complete {
                report.outcome = CensusOutcome::Failed {
                    reason: LEASE_LOST.to_owned(),
                };
            }
            if let Err(failure) = lease.release(serde_json::to_string(&report).ok()).await {
                tracing::warn!(target_name = %manager.redis.name(), reason = %failure, "the census lease could not be released; it expires by itself");
            }
            if !biggest.is_empty() {
                *manager
                    .biggest
                    .write()
                    .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(BiggestKeys {
                    census_started_at_ms: report.started_at_ms,
                    sample_every: report.sample_every,
                    keys: biggest,
                });
            }
            manager.state.send_modify(|state| {
                state.running = None;
                state.last = Some(report);
            });
            manager.slot.finish();
        });
        Ok(())
    }

    /// Shows on this replica the census another replica runs (its progress, then its
    /// report), read from its run record every `every` while other replicas are present.
    /// Runs until aborted.
    pub async fn follow_other_replicas(self: Arc<Self>, every: std::time::Duration) {
        let mut following = false;
        loop {
            tokio::time::sleep(every).await;
            if self.slot.is_running() || !self.redis.own_lookups().others_present() {
                continue;
            }
            let Ok(record) = self.leases.run_record(JOB).await else {
                continue;
            };
            match record.and_then(|text| serde_json::from_str::<CensusProgress>(&text).ok()) {
                Some(progress) if progress.replica.as_deref() != Some(self.leases.replica()) => {
                    following = true;
                    self.state
                        .send_if_modified(|state| replace(&mut state.running, Some(progress)));
                }
                _ if following => {
                    following = false;
                    let report = self.leases.last_report_as::<CensusReport>(JOB).await;
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

    /// Asks the running census to stop after its current page (on another replica: at its
    /// next lease renewal); false when none runs.
    pub async fn cancel(&self) -> Result<bool, RedisFailure> {
        if self.slot.cancel() {
            return Ok(true);
        }
        Ok(self.leases.request_cancel(JOB).await?.is_some())
    }

    /// Runs a census now and then every `settings.every`, until the task is aborted. With
    /// several replicas, each period's census runs on the first replica that ticks.
    pub async fn schedule(self: Arc<Self>) {
        let Some(every) = self.settings.every else {
            return;
        };
        loop {
            if let Ok(true) = self
                .leases
                .first_this_period("census_schedule", every)
                .await
            {
                let _ = self.start().await;
            }
            tokio::time::sleep(every).await;
        }
    }
}

async fn run_census(
    manager: &CensusManager,
    settings: &CensusSettings,
    cancelled: Arc<std::sync::atomic::AtomicBool>,
) -> (CensusReport, Vec<KeySample>) {
    let started = Instant::now();
    let started_at_ms = now_ms();
    let mut census = Aggregate::new(settings);
    let mut outcome = CensusOutcome::Complete;

    // Every master once (a single server is its own only master), through the one walker.
    let options = WalkOptions {
        adapt_to: Some(settings.target_round_trip),
        duty_cycle: settings.duty_cycle,
        cancel: Some(cancelled),
        lookups: true,
        ..WalkOptions::new(None, settings.scan_count)
    };
    // Before the first page: a failure ends the census with nothing counted.
    let failed_early = |census: Aggregate, failure: RedisFailure| {
        let report = census.finish(
            started_at_ms,
            started,
            0,
            CensusOutcome::Failed {
                reason: failure.reason,
            },
        );
        (report, Vec::new())
    };
    let mut walker = match Walker::start(&manager.redis, options).await {
        Ok(walker) => walker,
        Err(failure) => return failed_early(census, failure),
    };
    let mut dbsize = 0;
    let mut hotness_kind = HotnessKind::Lru;
    for (index, node) in walker.nodes().iter().enumerate() {
        match preamble(node).await {
            Ok((keys, kind)) => {
                dbsize += keys;
                if index == 0 {
                    hotness_kind = kind;
                }
            }
            Err(failure) => return failed_early(census, failure),
        }
    }
    census.hotness_kind = hotness_kind;
    let nodes_total = walker.nodes_total();
    manager.state.send_modify(|state| {
        state.running = Some(CensusProgress {
            started_at_ms,
            scanned_keys: 0,
            dbsize_at_start: dbsize,
            eta_seconds: None,
            node: None,
            nodes_done: 0,
            nodes_total,
            replica: None,
        });
    });

    // Keys picked for inspection on the previous page; their commands ride with the next SCAN.
    let mut inspect: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut follow_ups = inspection_commands(&inspect, hotness_kind);
        // The page's lookups and their addition to every replica's shared count go in one
        // transaction, so no other replica's sample sees some of them uncounted (not on a
        // Cluster, where that count lives on one master; there the sampler adds them a sample
        // later).
        let expected = (inspect.len() * LOOKUPS_PER_INSPECTION) as i64;
        let shared = (!manager.redis.is_cluster() && expected > 0)
            .then(|| {
                manager
                    .redis
                    .own_lookups()
                    .shared_increment("hits", expected)
            })
            .flatten()
            .map(|add| {
                follow_ups.push(add);
                follow_ups = in_one_transaction(std::mem::take(&mut follow_ups));
                expected
            });
        let page = match walker.next(follow_ups).await {
            Ok(page) => page,
            Err(failure) => {
                outcome = CensusOutcome::Failed {
                    reason: failure.reason,
                };
                break;
            }
        };
        let inspected = std::mem::take(&mut inspect);
        let mut replies = page.replies;
        if let Some(expected) = shared {
            replies = transaction_replies(replies);
            if replies.pop().is_some_and(|reply| reply.is_ok()) {
                manager.redis.own_lookups().mark_shared((expected, 0));
            }
        }
        census.record_inspections(&inspected, replies, manager.redis.own_lookups());
        match page.end {
            Some(WalkEnd::Cancelled) => {
                outcome = CensusOutcome::Cancelled;
                break;
            }
            Some(WalkEnd::Complete | WalkEnd::Capped) => break,
            None => {}
        }
        for key in page.keys {
            if census.count_key(&key) {
                inspect.push(key);
            }
        }
        let scanned = census.scanned;
        let speed = scanned as f64 / started.elapsed().as_secs_f64().max(0.001);
        let (node_name, nodes_done) = (walker.node_name(), walker.nodes_done());
        manager.state.send_modify(|state| {
            if let Some(progress) = state.running.as_mut() {
                progress.scanned_keys = scanned;
                progress.node = node_name;
                progress.nodes_done = nodes_done;
                progress.eta_seconds =
                    (speed > 0.0).then(|| (dbsize.saturating_sub(scanned) as f64 / speed) as u64);
            }
        });
    }
    let app_lookups = read_prefix_counters(&manager.redis, started_at_ms).await;
    let biggest = census.take_biggest();
    let mut report = census.finish(started_at_ms, started, dbsize, outcome);
    for group in &mut report.groups {
        group.app_lookups = app_lookups.get(&group.prefix).copied();
    }
    (report, biggest)
}

/// Sets `slot` to `value`; whether that changed it.
fn replace<T: PartialEq>(slot: &mut T, value: T) -> bool {
    if *slot == value {
        return false;
    }
    *slot = value;
    true
}

/// `DBSIZE` and the eviction policy of one node (LFU policies change what "hot" means).
async fn preamble(node: &RedisTarget) -> Result<(u64, HotnessKind), RedisFailure> {
    let replies = node
        .run(|mut connection| async move {
            redis::pipe()
                .cmd("DBSIZE")
                .cmd("CONFIG")
                .arg("GET")
                .arg("maxmemory-policy")
                .ignore_errors()
                .query_async::<Vec<RedisResult<Value>>>(&mut connection)
                .await
        })
        .await?;
    let dbsize = replies
        .first()
        .and_then(|r| r.as_ref().ok())
        .and_then(|v| redis::from_redis_value_ref::<u64>(v).ok());
    let policy = replies
        .get(1)
        .and_then(|r| r.as_ref().ok())
        .and_then(|v| redis::from_redis_value_ref::<Vec<String>>(v).ok())
        .and_then(|pair| pair.into_iter().nth(1))
        .unwrap_or_default();
    Ok((
        dbsize.unwrap_or(0),
        if policy.contains("lfu") {
            HotnessKind::Lfu
        } else {
            HotnessKind::Lru
        },
    ))
}

/// The hash of the application's per-prefix counters for the minute of `at`.
pub(crate) fn prefix_hits_key(at: &chrono::DateTime<chrono::Utc>) -> String {
    format!("{PREFIX_HITS_KEY}{}", at.format("%Y%m%d%H%M"))
}

/// The application's per-prefix hit/miss counters of the last minutes, if it writes any;
/// absent or unreadable counters give an empty map (the column stays empty).
async fn read_prefix_counters(redis: &RedisTarget, now_ms: i64) -> BTreeMap<String, AppLookups> {
    let minutes: Vec<String> = (0..PREFIX_HITS_MINUTES)
        .filter_map(|ago| chrono::DateTime::from_timestamp_millis(now_ms - ago * 60_000))
        .map(|time| prefix_hits_key(&time))
        .collect();
    // HGETALL counts as a keyspace lookup too; recorded as our own under the same gate.
    let _gate = redis.own_lookups().gate().await;
    let mut commands: Vec<redis::Cmd> = minutes
        .iter()
        .map(|key| {
            let mut command = redis::cmd("HGETALL");
            command.arg(key);
            command
        })
        .collect();
    // Counted in every replica's shared count in the same round trip, as misses (what they
    // nearly always are); the sampler corrects the rest later.
    let expected = commands.len() as i64;
    let shared = (!redis.is_cluster())
        .then(|| redis.own_lookups().shared_increment("misses", expected))
        .flatten()
        .map(|add| commands.push(add))
        .is_some();
    let hashes: Vec<Vec<(String, u64)>> = redis
        .query_each(commands)
        .await
        .ok()
        .and_then(|mut replies| {
            if shared && replies.pop().is_some() {
                redis.own_lookups().mark_shared((0, expected));
            }
            replies
                .into_iter()
                .map(redis::from_redis_value)
                .collect::<Result<_, _>>()
                .ok()
        })
        .unwrap_or_default();
    let found = hashes.iter().filter(|fields| !fields.is_empty()).count() as u64;
    redis
        .own_lookups()
        .record(found, hashes.len() as u64 - found);
    let mut totals = BTreeMap::new();
    for fields in hashes {
        add_prefix_counters(&mut totals, &fields);
    }
    totals
}

/// `commands` between MULTI and EXEC.
fn in_one_transaction(commands: Vec<redis::Cmd>) -> Vec<redis::Cmd> {
    let mut wrapped = Vec::with_capacity(commands.len() + 2);
    wrapped.push(redis::cmd("MULTI"));
    wrapped.extend(commands);
    wrapped.push(redis::cmd("EXEC"));
    wrapped
}

/// The replies of the commands of `in_one_transaction` (EXEC's array); none when it failed.
fn transaction_replies(replies: Vec<RedisResult<Value>>) -> Vec<RedisResult<Value>> {
    match replies.into_iter().last() {
        Some(Ok(Value::Array(items))) => items
            .into_iter()
            .map(|item| match item {
                Value::ServerError(error) => Err(error.into()),
                item => Ok(item),
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// TYPE, PTTL and OBJECT count as keyspace lookups (MEMORY USAGE does not).
const LOOKUPS_PER_INSPECTION: usize = 3;

/// TYPE, PTTL, MEMORY USAGE and OBJECT IDLETIME (or FREQ) of each key, in that order.
fn inspection_commands(keys: &[Vec<u8>], hotness: HotnessKind) -> Vec<redis::Cmd> {
    let object = match hotness {
        HotnessKind::Lru => "IDLETIME",
        HotnessKind::Lfu => "FREQ",
    };
    let mut commands = Vec::with_capacity(keys.len() * 4);
    for key in keys {
        let mut redis_type = redis::cmd("TYPE");
        redis_type.arg(key);
        let mut pttl = redis::cmd("PTTL");
        pttl.arg(key);
        let mut memory = redis::cmd("MEMORY");
        memory.arg("USAGE").arg(key).arg("SAMPLES").arg(0);
        let mut idle = redis::cmd("OBJECT");
        idle.arg(object).arg(key);
        commands.extend([redis_type, pttl, memory, idle]);
    }
    commands
}
