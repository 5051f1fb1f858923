//! Key census by prefix group: configuration of the groups, the aggregates one census run
//! produces, and the pure classification and TTL bucketing they rest on.

use serde::{Deserialize, Serialize};

use super::Lang;
use crate::model::wire::FromJson;

/// Whether the cache owns a group's keys (flushable) or the app keeps state in them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, FromJson)]
#[serde(rename_all = "snake_case")]
pub enum GroupKind {
    Cache,
    State,
}

/// A configured prefix group, e.g. `user:` → "Пользователи" / "Users", cache.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, FromJson)]
pub struct PrefixGroup {
    pub prefix: String,
    pub name_ru: String,
    pub name_en: String,
    pub kind: GroupKind,
}

impl PrefixGroup {
    pub fn name(&self, lang: Lang) -> &str {
        match lang {
            Lang::Ru => &self.name_ru,
            Lang::En => &self.name_en,
        }
    }
}

/// The production app's key prefixes.
pub fn default_groups() -> Vec<PrefixGroup> {
    use GroupKind::{Cache, State};
    let group = |prefix: &str, ru: &str, en: &str, kind| PrefixGroup {
        prefix: prefix.into(),
        name_ru: ru.into(),
        name_en: en.into(),
        kind,
    };
    vec![
        group("user:", "Пользователи", "Users", Cache),
        group("object:", "Объекты", "Objects", Cache),
        group("shift:", "Смены", "Shifts", Cache),
        group("active_shifts:", "Активные смены", "Active shifts", Cache),
        group(
            "user_objects:",
            "Объекты пользователя",
            "User objects",
            Cache,
        ),
        group("analytics:", "Аналитика", "Analytics", Cache),
        group(
            "contract_employees:",
            "Сотрудники по договорам",
            "Contract employees",
            Cache,
        ),
        group(
            "all_contract_employees:",
            "Все сотрудники по договорам",
            "All contract employees",
            Cache,
        ),
        group(
            "owner_objects:",
            "Объекты владельца",
            "Owner objects",
            Cache,
        ),
        group(
            "objects_by_owner:",
            "Объекты по владельцу",
            "Objects by owner",
            Cache,
        ),
        group("api_objects:", "Объекты API", "API objects", Cache),
        group("api_response:", "Ответы API", "API responses", Cache),
        group(
            "calendar_shifts:",
            "Календарь смен",
            "Calendar shifts",
            Cache,
        ),
        group(
            "calendar_timeslots:",
            "Календарь слотов",
            "Calendar timeslots",
            Cache,
        ),
        group(
            "rate_limit:",
            "Счётчики лимитов",
            "Rate-limit counters",
            State,
        ),
        group("pin:", "PIN-коды", "PIN codes", State),
    ]
}

/// Which group a key falls in.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, FromJson)]
#[serde(tag = "by", content = "value", rename_all = "snake_case")]
pub enum GroupKey {
    /// Index into the configured groups.
    Configured(usize),
    /// Automatic group of the key's first `:`-segment, e.g. `session:`.
    Auto(String),
    /// Everything past the auto-group limit, and keys without a `:`.
    Other,
}

/// Classifies keys: the longest configured prefix wins (`all_contract_employees:` before
/// `contract_employees:` matters only for overlapping prefixes); unknown keys group by their
/// first segment, at most `max_auto_groups` of them, the rest in `Other`.
pub struct Classifier {
    /// Prefix bytes and group index, longest first.
    prefixes: Vec<(Vec<u8>, usize)>,
    max_auto_groups: usize,
}

impl Classifier {
    pub fn new(groups: &[PrefixGroup], max_auto_groups: usize) -> Self {
        let mut prefixes: Vec<(Vec<u8>, usize)> = groups
            .iter()
            .enumerate()
            .map(|(i, g)| (g.prefix.as_bytes().to_vec(), i))
            .collect();
        prefixes.sort_by_key(|(prefix, _)| std::cmp::Reverse(prefix.len()));
        Self {
            prefixes,
            max_auto_groups,
        }
    }

    /// `auto_groups_so_far` is how many automatic groups exist already; a new segment past
    /// the limit lands in `Other`.
    pub fn classify(
        &self,
        key: &[u8],
        known_auto: impl Fn(&str) -> bool,
        auto_groups_so_far: usize,
    ) -> GroupKey {
        if let Some((_, index)) = self
            .prefixes
            .iter()
            .find(|(prefix, _)| key.starts_with(prefix))
        {
            return GroupKey::Configured(*index);
        }
        let Some(colon) = key.iter().position(|b| *b == b':') else {
            return GroupKey::Other;
        };
        // Key names may be any bytes; a segment is shown lossily but grouped by its bytes' text.
        let segment = String::from_utf8_lossy(&key[..=colon]).into_owned();
        if known_auto(&segment) || auto_groups_so_far < self.max_auto_groups {
            GroupKey::Auto(segment)
        } else {
            GroupKey::Other
        }
    }
}

/// TTL histogram buckets, in the order the UI shows them.
/// How many TTL buckets the census counts in.
pub const TTL_BUCKET_COUNT: usize = 7;
pub const TTL_BUCKETS: [&str; TTL_BUCKET_COUNT] =
    ["<1m", "1-5m", "5-15m", "15-60m", "1-24h", ">24h", "none"];

/// Bucket index of a `PTTL` answer (-1 = no TTL; -2 = key gone, not counted).
pub fn ttl_bucket(pttl_ms: i64) -> Option<usize> {
    const MINUTE: i64 = 60_000;
    match pttl_ms {
        -1 => Some(TTL_BUCKET_COUNT - 1),
        ms if ms < 0 => None,
        ms if ms < MINUTE => Some(0),
        ms if ms < 5 * MINUTE => Some(1),
        // 15-minute TTLs (the cache's default) land here until their last second.
        ms if ms <= 15 * MINUTE => Some(2),
        ms if ms <= 60 * MINUTE => Some(3),
        ms if ms <= 24 * 60 * MINUTE => Some(4),
        _ => Some(5),
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, FromJson)]
pub struct TtlStats {
    /// Keys whose TTL was read (all keys in full-TTL mode, a sample otherwise).
    pub inspected: u64,
    pub without_ttl: u64,
    pub min_ms: Option<i64>,
    pub median_ms: Option<i64>,
    pub max_ms: Option<i64>,
    /// Counts per `TTL_BUCKETS` entry.
    pub buckets: [u64; TTL_BUCKET_COUNT],
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, FromJson)]
pub struct MemoryEstimate {
    /// Keys measured with `MEMORY USAGE … SAMPLES 0`.
    pub sampled_keys: u64,
    pub sampled_bytes: u64,
    /// sampled average × key count.
    pub estimated_bytes: u64,
    /// ± bytes at ~95 % confidence (1.96 standard errors of the mean, × key count).
    pub margin_bytes: u64,
}

/// How recently a group's sampled keys were touched (OBJECT IDLETIME under LRU) or how often
/// (OBJECT FREQ under LFU).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, FromJson)]
pub struct Hotness {
    pub sampled_keys: u64,
    /// LRU: keys idle for less than a minute.
    pub touched_last_minute: u64,
    /// LFU: keys whose logarithmic access counter is ≥ 10 (new keys start at 5).
    pub frequently_used: u64,
    pub policy_kind: HotnessKind,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, FromJson)]
#[serde(rename_all = "snake_case")]
pub enum HotnessKind {
    #[default]
    Lru,
    Lfu,
}

/// Metadata of one key for the drill-down: never its value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, FromJson)]
pub struct KeySample {
    /// The name, lossily decoded for display (non-UTF-8 bytes become U+FFFD).
    pub name: String,
    pub redis_type: String,
    pub ttl_ms: i64,
    pub memory_bytes: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, FromJson)]
pub struct GroupReport {
    pub key: GroupKey,
    /// Display prefix: the configured one, the auto segment, or "*" for other.
    pub prefix: String,
    pub name_ru: String,
    pub name_en: String,
    pub kind: Option<GroupKind>,
    pub keys: u64,
    /// Redis type → keys inspected with that type.
    pub types: Vec<(String, u64)>,
    pub ttl: TtlStats,
    pub memory: MemoryEstimate,
    pub hotness: Hotness,
    pub samples: Vec<KeySample>,
    /// Hits and misses the application reported for this prefix (see `PREFIX_HITS_KEY`).
    #[serde(default)]
    pub app_lookups: Option<AppLookups>,
}

/// Per-prefix counters that applications may write, one hash per minute:
/// `HINCRBY cachepanel:hits:{yyyymmddhhmm} hit:{prefix} 1` (or `miss:{prefix}`), with a TTL.
pub const PREFIX_HITS_KEY: &str = "cachepanel:hits:";
/// Minutes of per-prefix counters a census reads.
pub const PREFIX_HITS_MINUTES: i64 = 15;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, FromJson)]
pub struct AppLookups {
    pub hits: u64,
    pub misses: u64,
}

impl AppLookups {
    pub fn hit_rate_percent(&self) -> Option<f64> {
        let total = self.hits + self.misses;
        (total > 0).then(|| self.hits as f64 * 100.0 / total as f64)
    }
}

/// Adds one minute's hash (`hit:{prefix}` / `miss:{prefix}` → count) into per-prefix totals.
pub fn add_prefix_counters(
    totals: &mut std::collections::BTreeMap<String, AppLookups>,
    fields: &[(String, u64)],
) {
    for (field, count) in fields {
        if let Some(prefix) = field.strip_prefix("hit:") {
            totals.entry(prefix.to_owned()).or_default().hits += count;
        } else if let Some(prefix) = field.strip_prefix("miss:") {
            totals.entry(prefix.to_owned()).or_default().misses += count;
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, FromJson)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum CensusOutcome {
    Complete,
    Cancelled,
    Failed { reason: String },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, FromJson)]
pub struct CensusReport {
    pub started_at_ms: i64,
    pub duration_ms: u64,
    pub outcome: CensusOutcome,
    pub scanned_keys: u64,
    pub dbsize_at_start: u64,
    /// 1 key in this many had its type, TTL and memory inspected (1 = every key).
    pub sample_every: u64,
    pub groups: Vec<GroupReport>,
}

/// The largest keys a census inspected (`MEMORY USAGE`), largest first, at most
/// `BIGGEST_KEYS`: a sample at `sample_every`, exact only when every key was inspected. Kept
/// apart from the report, which the browser decodes: only the server renders these.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, FromJson)]
pub struct BiggestKeys {
    pub census_started_at_ms: i64,
    pub sample_every: u64,
    pub keys: Vec<KeySample>,
}

/// How many of the largest inspected keys a census report lists.
pub const BIGGEST_KEYS: usize = 20;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, FromJson)]
pub struct CensusProgress {
    pub started_at_ms: i64,
    pub scanned_keys: u64,
    pub dbsize_at_start: u64,
    /// Seconds to go at the current speed; `None` before there is a speed.
    pub eta_seconds: Option<u64>,
    /// On a cluster: the master being walked, and how many of them are done.
    #[serde(default)]
    pub node: Option<String>,
    #[serde(default)]
    pub nodes_done: u32,
    #[serde(default)]
    pub nodes_total: u32,
    /// The replica running it, when that is another one than the one answering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replica: Option<String>,
}

/// What `GET /api/census` answers: the running census (if any) and the last result.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, FromJson)]
pub struct CensusState {
    pub running: Option<CensusProgress>,
    pub last: Option<CensusReport>,
}

/// Columns the census table sorts by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, FromJson)]
pub enum SortBy {
    #[default]
    Keys,
    Memory,
    Name,
    NoTtl,
}

/// Sorts groups for the table: numbers descending, names ascending; ties by prefix.
pub fn sort_groups(groups: &mut [GroupReport], by: SortBy) {
    groups.sort_by(|a, b| {
        let order = match by {
            SortBy::Keys => b.keys.cmp(&a.keys),
            SortBy::Memory => b.memory.estimated_bytes.cmp(&a.memory.estimated_bytes),
            SortBy::NoTtl => b.ttl.without_ttl.cmp(&a.ttl.without_ttl),
            SortBy::Name => a.prefix.cmp(&b.prefix),
        };
        order.then_with(|| a.prefix.cmp(&b.prefix))
    });
}

/// TTL buckets summed over all groups.
pub fn total_ttl_buckets(groups: &[GroupReport]) -> [u64; TTL_BUCKET_COUNT] {
    let mut total = [0; TTL_BUCKET_COUNT];
    for group in groups {
        for (sum, count) in total.iter_mut().zip(group.ttl.buckets) {
            *sum += count;
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(prefix: &str, keys: u64, memory: u64) -> GroupReport {
        GroupReport {
            key: GroupKey::Other,
            prefix: prefix.into(),
            name_ru: prefix.into(),
            name_en: prefix.into(),
            kind: None,
            keys,
            types: Vec::new(),
            ttl: TtlStats {
                buckets: [keys, 0, 0, 0, 0, 0, 1],
                ..Default::default()
            },
            memory: MemoryEstimate {
                estimated_bytes: memory,
                ..Default::default()
            },
            hotness: Hotness::default(),
            samples: Vec::new(),
            app_lookups: None,
        }
    }

    #[test]
    fn groups_sort_by_the_chosen_column() {
        let mut groups = vec![
            report("b:", 5, 100),
            report("a:", 9, 50),
            report("c:", 5, 900),
        ];
        sort_groups(&mut groups, SortBy::Keys);
        assert_eq!(
            groups.iter().map(|g| g.prefix.as_str()).collect::<Vec<_>>(),
            ["a:", "b:", "c:"]
        );
        sort_groups(&mut groups, SortBy::Memory);
        assert_eq!(groups[0].prefix, "c:");
        sort_groups(&mut groups, SortBy::Name);
        assert_eq!(groups[0].prefix, "a:");
        assert_eq!(total_ttl_buckets(&groups), [19, 0, 0, 0, 0, 0, 3]);
    }

    #[test]
    fn app_counters_add_up_per_prefix() {
        let mut totals = std::collections::BTreeMap::new();
        add_prefix_counters(
            &mut totals,
            &[
                ("hit:user:".into(), 90),
                ("miss:user:".into(), 10),
                ("bogus".into(), 5),
            ],
        );
        add_prefix_counters(
            &mut totals,
            &[("hit:user:".into(), 0), ("miss:shift:".into(), 3)],
        );
        assert_eq!(totals["user:"].hit_rate_percent(), Some(90.0));
        assert_eq!(totals["shift:"].hit_rate_percent(), Some(0.0));
        assert_eq!(totals.len(), 2);
    }

    #[test]
    fn the_longest_configured_prefix_wins() {
        let classifier = Classifier::new(&default_groups(), 10);
        let groups = default_groups();
        let name = |key: &[u8]| match classifier.classify(key, |_| false, 0) {
            GroupKey::Configured(i) => groups[i].prefix.clone(),
            other => format!("{other:?}"),
        };
        assert_eq!(name(b"all_contract_employees:x"), "all_contract_employees:");
        assert_eq!(name(b"contract_employees:get:abc"), "contract_employees:");
        assert_eq!(name(b"user:42"), "user:");
        assert_eq!(name(b"user_objects:42"), "user_objects:");
    }

    #[test]
    fn unknown_keys_group_by_first_segment_up_to_a_limit() {
        let classifier = Classifier::new(&default_groups(), 2);
        assert_eq!(
            classifier.classify(b"session:abc", |_| false, 0),
            GroupKey::Auto("session:".into())
        );
        assert_eq!(
            classifier.classify(b"celery:x", |_| false, 2),
            GroupKey::Other
        );
        assert_eq!(
            classifier.classify(b"session:def", |s| s == "session:", 2),
            GroupKey::Auto("session:".into())
        );
        assert_eq!(
            classifier.classify(b"plainkey", |_| false, 0),
            GroupKey::Other
        );
    }

    #[test]
    fn non_utf8_and_glob_characters_are_classified_not_dropped() {
        let classifier = Classifier::new(&default_groups(), 10);
        assert_eq!(
            classifier.classify(b"user:\xff\xfe", |_| false, 0),
            GroupKey::Configured(0)
        );
        assert_eq!(
            classifier.classify(b"we*ird?:[x]", |_| false, 0),
            GroupKey::Auto("we*ird?:".into())
        );
        assert!(matches!(
            classifier.classify(b"\xff\xfe:1", |_| false, 0),
            GroupKey::Auto(_)
        ));
    }

    #[test]
    fn ttls_fall_into_the_documented_buckets() {
        assert_eq!(ttl_bucket(-2), None);
        assert_eq!(ttl_bucket(-1), Some(6));
        assert_eq!(ttl_bucket(59_999), Some(0));
        assert_eq!(ttl_bucket(300_000), Some(2));
        assert_eq!(ttl_bucket(900_000), Some(2));
        assert_eq!(ttl_bucket(3_600_000), Some(3));
        assert_eq!(ttl_bucket(86_400_001), Some(5));
    }
}
