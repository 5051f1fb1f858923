//! A census' running totals: every key counted into its group, the inspected ones adding type,
//! TTL (with a bounded reservoir for the median), size and hotness. Every part is bounded,
//! whatever the keyspace.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use rand::Rng;
use redis::{RedisResult, Value};
use tokio::time::Instant;

use super::CensusSettings;
use crate::i18n::texts;
use crate::model::Lang;
use crate::model::census::{
    BIGGEST_KEYS, CensusOutcome, CensusReport, Classifier, GroupKey, GroupReport, Hotness,
    HotnessKind, KeySample, MemoryEstimate, TtlStats, ttl_bucket,
};
use crate::server::redis::OwnLookups;

/// TTLs kept per group for the median (a uniform reservoir sample).
const TTL_RESERVOIR: usize = 1024;
const SAMPLE_NAMES_PER_GROUP: usize = 10;
/// `OBJECT FREQ` (logarithmic LFU counter) from which a key counts as frequently used.
const LFU_FREQUENT: u64 = 10;

pub type Inspections = Vec<RedisResult<Value>>;

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

pub struct Aggregate<'a> {
    settings: &'a CensusSettings,
    classifier: Classifier,
    groups: BTreeMap<GroupKey, GroupAggregate>,
    auto_groups: usize,
    pub scanned: u64,
    pub hotness_kind: HotnessKind,
    /// Which group each pending inspected key belongs to, in order.
    pending_groups: Vec<GroupKey>,
    /// The largest inspected keys so far, smallest on top, at most `BIGGEST_KEYS`.
    biggest: BinaryHeap<Reverse<SizedKey>>,
}

/// An inspected key ordered by its size (then name, so equal sizes order stably).
#[derive(PartialEq, Eq)]
struct SizedKey {
    bytes: u64,
    sample: KeySample,
}

impl Ord for SizedKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.bytes
            .cmp(&other.bytes)
            .then_with(|| other.sample.name.cmp(&self.sample.name))
    }
}

impl PartialOrd for SizedKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl<'a> Aggregate<'a> {
    pub fn new(settings: &'a CensusSettings) -> Self {
        Self {
            settings,
            classifier: Classifier::new(&settings.groups, settings.max_auto_groups),
            groups: BTreeMap::new(),
            auto_groups: 0,
            scanned: 0,
            hotness_kind: HotnessKind::Lru,
            pending_groups: Vec::new(),
            biggest: BinaryHeap::with_capacity(BIGGEST_KEYS + 1),
        }
    }

    /// Counts a key; true when it is picked for inspection.
    pub fn count_key(&mut self, key: &[u8]) -> bool {
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

    pub fn record_inspections(&mut self, keys: &[Vec<u8>], replies: Inspections, own: &OwnLookups) {
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
            let sample = KeySample {
                name: String::from_utf8_lossy(key).into_owned(),
                redis_type,
                ttl_ms: pttl,
                memory_bytes: memory,
            };
            if let Some(bytes) = memory {
                keep_if_big(&mut self.biggest, bytes, &sample);
            }
            if aggregate.samples.len() < SAMPLE_NAMES_PER_GROUP {
                aggregate.samples.push(sample);
            }
        }
    }

    /// The largest inspected keys, largest first (taken: call before `finish`).
    pub fn take_biggest(&mut self) -> Vec<KeySample> {
        std::mem::take(&mut self.biggest)
            .into_sorted_vec()
            .into_iter()
            .map(|Reverse(sized)| sized.sample)
            .collect()
    }

    pub fn finish(
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
                    GroupKey::Other => (
                        "*".into(),
                        texts(Lang::Ru).other_group.into(),
                        texts(Lang::En).other_group.into(),
                        None,
                    ),
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

/// Keeps `sample` among the `BIGGEST_KEYS` largest seen so far.
fn keep_if_big(biggest: &mut BinaryHeap<Reverse<SizedKey>>, bytes: u64, sample: &KeySample) {
    let smallest_kept = biggest.peek().map(|Reverse(kept)| kept.bytes);
    if biggest.len() < BIGGEST_KEYS || smallest_kept.is_some_and(|least| bytes > least) {
        biggest.push(Reverse(SizedKey {
            bytes,
            sample: sample.clone(),
        }));
        if biggest.len() > BIGGEST_KEYS {
            biggest.pop();
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
    fn only_the_largest_keys_are_kept_largest_first() {
        let mut biggest = BinaryHeap::new();
        for size in 0..100u64 {
            // Scrambled order: the heap, not the arrival order, decides.
            let bytes = (size * 37) % 100;
            let sample = KeySample {
                name: format!("k{bytes}"),
                redis_type: "string".into(),
                ttl_ms: -1,
                memory_bytes: Some(bytes),
            };
            keep_if_big(&mut biggest, bytes, &sample);
        }
        let kept: Vec<u64> = biggest
            .into_sorted_vec()
            .into_iter()
            .map(|Reverse(sized)| sized.bytes)
            .collect();
        assert_eq!(kept, (80..100).rev().collect::<Vec<_>>());
    }

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
