//! Key census: one full pass over the keyspace with `SCAN` only (never `KEYS`, never a
//! server-side loop), grouping keys by prefix. Memory stays bounded whatever the keyspace:
//! keys are classified as they stream past and only aggregates, bounded reservoirs and a few
//! sample names per group are kept. At most one census runs per Redis; it can be cancelled.
//!
//! Each round trip carries the inspection commands (TYPE, PTTL, MEMORY USAGE, OBJECT …) for
//! the sampled keys of the previous page together with the next `SCAN`, so sampling costs no
//! extra round trips. `COUNT` adapts to the measured round trip, and a duty cycle leaves Redis
//! idle between pages so other clients' latency stays flat.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use redis::{RedisResult, Value};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::model::census::{
    AppLookups, CensusOutcome, CensusProgress, CensusReport, CensusState, Classifier, GroupKey,
    GroupReport, Hotness, HotnessKind, KeySample, MemoryEstimate, PREFIX_HITS_KEY,
    PREFIX_HITS_MINUTES, PrefixGroup, TtlStats, add_prefix_counters, ttl_bucket,
};
use crate::server::clock::now_ms;
use crate::server::redis::scan::{WalkEnd, WalkOptions, Walker};
use crate::server::redis::{OwnLookups, RedisFailure, RedisTarget};

/// TTLs kept per group for the median (a uniform reservoir sample).
const TTL_RESERVOIR: usize = 1024;
const SAMPLE_NAMES_PER_GROUP: usize = 10;
/// `OBJECT FREQ` (logarithmic LFU counter) from which a key counts as frequently used.
const LFU_FREQUENT: u64 = 10;

#[derive(Clone, Debug, PartialEq)]
pub struct CensusSettings {
    pub groups: Vec<PrefixGroup>,
    pub max_auto_groups: usize,
    /// Inspect 1 key in this many (1 = every key: the "full TTL" mode).
    pub sample_every: u64,
    /// Starting `SCAN … COUNT`; adapted between 100 and 2000.
    pub scan_count: u64,
    /// Round trip a `SCAN` page should stay under; `COUNT` adapts to it.
    pub target_round_trip: Duration,
    /// Share of wall time the census may keep Redis busy (0 < d ≤ 1).
    pub duty_cycle: f64,
    /// Re-run this often (none: only on demand).
    pub every: Option<Duration>,
}

impl Default for CensusSettings {
    fn default() -> Self {
        Self {
            groups: crate::model::census::default_groups(),
            max_auto_groups: 20,
            sample_every: 100,
            scan_count: 1000,
            target_round_trip: Duration::from_millis(1),
            // Pages already stay under a 1 ms round trip; a light rest keeps the census
            // close to raw SCAN speed while other clients' p99 stays well under 2 ms.
            duty_cycle: 0.95,
            every: Some(Duration::from_secs(600)),
        }
    }
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum CensusError {
    #[error("a census is already running on this Redis")]
    AlreadyRunning,
}

/// The census of one Redis: start, cancel, and the state every page reads.
pub struct CensusManager {
    redis: RedisTarget,
    settings: CensusSettings,
    state: watch::Sender<CensusState>,
    /// Set while a census runs; flipping it to true cancels the run.
    cancel: Mutex<Option<Arc<std::sync::atomic::AtomicBool>>>,
}

impl CensusManager {
    pub fn new(redis: RedisTarget, settings: CensusSettings) -> Arc<Self> {
        let (state, _) = watch::channel(CensusState::default());
        Arc::new(Self {
            redis,
            settings,
            state,
            cancel: Mutex::new(None),
        })
    }

    pub fn state(&self) -> CensusState {
        self.state.borrow().clone()
    }

    pub fn subscribe(&self) -> watch::Receiver<CensusState> {
        self.state.subscribe()
    }

    pub fn groups(&self) -> &[PrefixGroup] {
        &self.settings.groups
    }

    /// Starts a census in the background unless one is running.
    pub fn start(self: &Arc<Self>) -> Result<(), CensusError> {
        let flag = {
            let mut running = self
                .cancel
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if running.is_some() {
                return Err(CensusError::AlreadyRunning);
            }
            let flag = Arc::new(std::sync::atomic::AtomicBool::new(false));
            *running = Some(flag.clone());
            flag
        };
        let manager = self.clone();
        tokio::spawn(async move {
            let report = run_census(&manager, flag).await;
            manager.state.send_modify(|state| {
                state.running = None;
                state.last = Some(report);
            });
            *manager
                .cancel
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()) = None;
        });
        Ok(())
    }

    /// Asks the running census to stop after its current page; false when none runs.
    pub fn cancel(&self) -> bool {
        let running = self
            .cancel
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match running.as_ref() {
            Some(flag) => {
                flag.store(true, std::sync::atomic::Ordering::Relaxed);
                true
            }
            None => false,
        }
    }

    /// Runs a census now and then every `settings.every`, until the task is aborted.
    pub async fn schedule(self: Arc<Self>) {
        let Some(every) = self.settings.every else {
            return;
        };
        loop {
            let _ = self.start();
            tokio::time::sleep(every).await;
        }
    }
}

async fn run_census(
    manager: &CensusManager,
    cancelled: Arc<std::sync::atomic::AtomicBool>,
) -> CensusReport {
    let settings = &manager.settings;
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
    let mut walker = match Walker::start(&manager.redis, options).await {
        Ok(walker) => walker,
        Err(failure) => {
            return census.finish(
                started_at_ms,
                started,
                0,
                CensusOutcome::Failed {
                    reason: failure.reason,
                },
            );
        }
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
            Err(failure) => {
                return census.finish(
                    started_at_ms,
                    started,
                    0,
                    CensusOutcome::Failed {
                        reason: failure.reason,
                    },
                );
            }
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
        });
    });

    // Keys picked for inspection on the previous page; their commands ride with the next SCAN.
    let mut inspect: Vec<Vec<u8>> = Vec::new();
    loop {
        let follow_ups = inspection_commands(&inspect, hotness_kind);
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
        census.record_inspections(&inspected, page.replies, manager.redis.own_lookups());
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
    let mut report = census.finish(started_at_ms, started, dbsize, outcome);
    for group in &mut report.groups {
        group.app_lookups = app_lookups.get(&group.prefix).copied();
    }
    report
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

/// The application's per-prefix hit/miss counters of the last minutes, if it writes any;
/// absent or unreadable counters give an empty map (the column stays empty).
async fn read_prefix_counters(redis: &RedisTarget, now_ms: i64) -> BTreeMap<String, AppLookups> {
    let minutes: Vec<String> = (0..PREFIX_HITS_MINUTES)
        .filter_map(|ago| chrono::DateTime::from_timestamp_millis(now_ms - ago * 60_000))
        .map(|time| format!("{PREFIX_HITS_KEY}{}", time.format("%Y%m%d%H%M")))
        .collect();
    // HGETALL counts as a keyspace lookup too; recorded as our own under the same gate.
    let _gate = redis.own_lookups().gate().await;
    let commands = minutes
        .iter()
        .map(|key| {
            let mut command = redis::cmd("HGETALL");
            command.arg(key);
            command
        })
        .collect();
    let hashes: Vec<Vec<(String, u64)>> = redis
        .query_each(commands)
        .await
        .ok()
        .and_then(|replies| {
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

type Inspections = Vec<RedisResult<Value>>;

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

/// Running totals of one group; all of its parts are bounded.
#[derive(Default)]
struct GroupAggregate {
    keys: u64,
    types: BTreeMap<String, u64>,
    ttl: TtlStats,
    ttl_reservoir: Vec<i64>,
    ttl_seen: u64,
    memory_sum: f64,
    memory_sum_sq: f64,
    memory_n: u64,
    hotness: Hotness,
    samples: Vec<KeySample>,
}

struct Aggregate<'a> {
    settings: &'a CensusSettings,
    classifier: Classifier,
    groups: BTreeMap<GroupKey, GroupAggregate>,
    auto_groups: usize,
    scanned: u64,
    hotness_kind: HotnessKind,
    /// Which group each pending inspected key belongs to, in order.
    pending_groups: Vec<GroupKey>,
}

impl<'a> Aggregate<'a> {
    fn new(settings: &'a CensusSettings) -> Self {
        Self {
            settings,
            classifier: Classifier::new(&settings.groups, settings.max_auto_groups),
            groups: BTreeMap::new(),
            auto_groups: 0,
            scanned: 0,
            hotness_kind: HotnessKind::Lru,
            pending_groups: Vec::new(),
        }
    }

    /// Counts a key; true when it is picked for inspection.
    fn count_key(&mut self, key: &[u8]) -> bool {
        self.scanned += 1;
        let groups = &self.groups;
        let group = self.classifier.classify(
            key,
            |segment| groups.contains_key(&GroupKey::Auto(segment.to_owned())),
            self.auto_groups,
        );
        if matches!(group, GroupKey::Auto(_)) && !self.groups.contains_key(&group) {
            self.auto_groups += 1;
        }
        let aggregate = self.groups.entry(group.clone()).or_default();
        aggregate.keys += 1;
        // Every group's first keys are inspected, so small groups get figures too.
        let picked = self.settings.sample_every <= 1
            || aggregate.keys <= SAMPLE_NAMES_PER_GROUP as u64
            || rand::rng().random_range(0..self.settings.sample_every) == 0;
        if picked {
            self.pending_groups.push(group);
        }
        picked
    }

    fn record_inspections(&mut self, keys: &[Vec<u8>], replies: Inspections, own: &OwnLookups) {
        let groups = std::mem::take(&mut self.pending_groups);
        let (inspected_groups, later) = groups.split_at(keys.len().min(groups.len()));
        self.pending_groups = later.to_vec();
        let mut replies = replies.into_iter();
        for (key, group) in keys.iter().zip(inspected_groups) {
            let mut next = || replies.next().and_then(Result::ok);
            let (redis_type, pttl, memory, object) = (next(), next(), next(), next());
            let redis_type: Option<String> =
                redis_type.and_then(|v| redis::from_redis_value(v).ok());
            let pttl: Option<i64> = pttl.and_then(|v| redis::from_redis_value(v).ok());
            let memory: Option<u64> = memory.and_then(|v| redis::from_redis_value(v).ok());
            let object: Option<u64> = object.and_then(|v| redis::from_redis_value(v).ok());
            // TYPE, PTTL and OBJECT are keyspace lookups in Redis' stats (MEMORY USAGE is not).
            let found = [
                redis_type.as_deref().is_some_and(|t| t != "none"),
                pttl.is_some_and(|ms| ms != -2),
                object.is_some(),
            ];
            let hits = found.iter().filter(|hit| **hit).count() as u64;
            own.record(hits, 3 - hits);
            // "none" / -2: the key expired or was deleted since SCAN returned it.
            let (Some(redis_type), Some(pttl)) = (redis_type, pttl) else {
                continue;
            };
            if redis_type == "none" || pttl == -2 {
                continue;
            }
            let aggregate = self.groups.entry(group.clone()).or_default();
            *aggregate.types.entry(redis_type.clone()).or_default() += 1;
            record_ttl(aggregate, pttl);
            if let Some(bytes) = memory {
                aggregate.memory_n += 1;
                aggregate.memory_sum += bytes as f64;
                aggregate.memory_sum_sq += (bytes as f64).powi(2);
            }
            if let Some(value) = object {
                aggregate.hotness.sampled_keys += 1;
                match self.hotness_kind {
                    HotnessKind::Lru if value < 60 => aggregate.hotness.touched_last_minute += 1,
                    // New keys start at 5; 10 takes on the order of a hundred recent reads.
                    HotnessKind::Lfu if value >= LFU_FREQUENT => {
                        aggregate.hotness.frequently_used += 1
                    }
                    _ => {}
                }
            }
            if aggregate.samples.len() < SAMPLE_NAMES_PER_GROUP {
                aggregate.samples.push(KeySample {
                    name: String::from_utf8_lossy(key).into_owned(),
                    redis_type,
                    ttl_ms: pttl,
                    memory_bytes: memory,
                });
            }
        }
    }

    fn finish(
        self,
        started_at_ms: i64,
        started: Instant,
        dbsize: u64,
        outcome: CensusOutcome,
    ) -> CensusReport {
        let hotness_kind = self.hotness_kind;
        let groups = self
            .groups
            .into_iter()
            .map(|(key, aggregate)| {
                let (prefix, name_ru, name_en, kind) = match &key {
                    GroupKey::Configured(index) => {
                        let group = &self.settings.groups[*index];
                        (
                            group.prefix.clone(),
                            group.name_ru.clone(),
                            group.name_en.clone(),
                            Some(group.kind),
                        )
                    }
                    GroupKey::Auto(segment) => {
                        (segment.clone(), segment.clone(), segment.clone(), None)
                    }
                    GroupKey::Other => ("*".into(), "Прочие".into(), "Other".into(), None),
                };
                let mut ttl = aggregate.ttl.clone();
                let mut reservoir = aggregate.ttl_reservoir;
                reservoir.sort_unstable();
                ttl.median_ms = reservoir.get(reservoir.len() / 2).copied();
                let memory = memory_estimate(
                    aggregate.keys,
                    aggregate.memory_n,
                    aggregate.memory_sum,
                    aggregate.memory_sum_sq,
                );
                let mut hotness = aggregate.hotness;
                hotness.policy_kind = hotness_kind;
                GroupReport {
                    key,
                    prefix,
                    name_ru,
                    name_en,
                    kind,
                    keys: aggregate.keys,
                    types: aggregate.types.into_iter().collect(),
                    ttl,
                    memory,
                    hotness,
                    samples: aggregate.samples,
                    app_lookups: None,
                }
            })
            .collect();
        CensusReport {
            started_at_ms,
            duration_ms: started.elapsed().as_millis() as u64,
            outcome,
            scanned_keys: self.scanned,
            dbsize_at_start: dbsize,
            sample_every: self.settings.sample_every.max(1),
            groups,
        }
    }
}

fn record_ttl(aggregate: &mut GroupAggregate, pttl: i64) {
    let ttl = &mut aggregate.ttl;
    ttl.inspected += 1;
    if let Some(bucket) = ttl_bucket(pttl) {
        ttl.buckets[bucket] += 1;
    }
    if pttl == -1 {
        ttl.without_ttl += 1;
        return;
    }
    ttl.min_ms = Some(ttl.min_ms.map_or(pttl, |min| min.min(pttl)));
    ttl.max_ms = Some(ttl.max_ms.map_or(pttl, |max| max.max(pttl)));
    // Reservoir sampling (Algorithm R): a uniform sample of bounded size for the median.
    aggregate.ttl_seen += 1;
    if aggregate.ttl_reservoir.len() < TTL_RESERVOIR {
        aggregate.ttl_reservoir.push(pttl);
    } else {
        let slot = rand::rng().random_range(0..aggregate.ttl_seen) as usize;
        if slot < TTL_RESERVOIR {
            aggregate.ttl_reservoir[slot] = pttl;
        }
    }
}

/// Mean of the sampled sizes × keys, with a ~95 % margin from the sample's standard error.
fn memory_estimate(keys: u64, sampled: u64, sum: f64, sum_sq: f64) -> MemoryEstimate {
    if sampled == 0 {
        return MemoryEstimate::default();
    }
    let n = sampled as f64;
    let mean = sum / n;
    let variance = if sampled > 1 {
        ((sum_sq - n * mean * mean) / (n - 1.0)).max(0.0)
    } else {
        0.0
    };
    // Finite population correction: a full sample has no error.
    let population = keys.max(sampled) as f64;
    let correction = ((population - n) / (population - 1.0).max(1.0))
        .max(0.0)
        .sqrt();
    let standard_error = (variance / n).sqrt() * correction;
    MemoryEstimate {
        sampled_keys: sampled,
        sampled_bytes: sum as u64,
        estimated_bytes: (mean * keys as f64).round() as u64,
        margin_bytes: (1.96 * standard_error * keys as f64).round() as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_sample_has_no_memory_margin() {
        let estimate = memory_estimate(3, 3, 300.0, 100.0 * 100.0 + 100.0 * 100.0 + 100.0 * 100.0);
        assert_eq!(estimate.estimated_bytes, 300);
        assert_eq!(estimate.margin_bytes, 0);
        let partial = memory_estimate(1000, 10, 1000.0, 10.0 * 100.0 * 100.0 + 5000.0);
        assert_eq!(partial.estimated_bytes, 100_000);
        assert!(partial.margin_bytes > 0);
    }
}
