//! The rate-limit counters view, read by one shared background task per process: it walks
//! `rate_limit:*` through the one walker on a schedule (`CACHEPANEL_RATE_LIMIT_SCAN_SECONDS`)
//! and keeps the latest view in memory with its age. Pages, `GET /api/rate-limits`, `/metrics`
//! and the event stream only read that memory, so Redis pays once per interval however many
//! people watch. A refresh asks the reader for a walk: callers arriving while one runs, or
//! within `COOL_DOWN` after one finished, share it; nobody starts a walk of their own.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio::time::Instant;

use super::{recent_minutes, rejection_key};
use crate::model::format::display_key;
use crate::model::prefix::glob_escape;
use crate::model::rate_limit::{
    CounterRow, CountersReport, DOMINANT_IP_SHARE, KEY_PREFIX, ROLE_COUNT, RejectionMinute, Role,
    RoleLimits, STATS_PREFIX, Subject,
};
use crate::server::clock::now_ms;
use crate::server::rate_limit::RoleLookup;
use crate::server::redis::scan::{WalkEnd, WalkOptions, Walker};
use crate::server::redis::{RedisFailure, RedisTarget};

/// Refreshes within this long after a walk finished are answered with that walk.
pub const COOL_DOWN: Duration = Duration::from_secs(2);
/// Rows of the view (largest counters first).
const TOP: usize = 50;
/// Counters one walk reads at most; beyond it the view says it is partial.
const MAX_COUNTERS: u64 = 1_000_000;
/// The walk yields Redis between pages like the census does.
const DUTY_CYCLE: f64 = 0.9;
const SCAN_COUNT: u64 = 1000;
/// A request waits at most this long for a walk (the first one, or a refresh) to finish;
/// then it gets the latest view there is.
const WAIT_FOR_WALK: Duration = Duration::from_secs(30);

/// What the reader has published: the latest successful view, the latest failure, and how
/// many walks finished (waiters wait for this to grow).
#[derive(Clone, Debug, Default)]
pub struct Published {
    pub report: Option<Arc<CountersReport>>,
    /// Why the latest walk failed; `None` when it succeeded.
    pub error: Option<String>,
    pub walks: u64,
}

#[derive(Default)]
struct Control {
    walking: bool,
    requested: bool,
    finished_at: Option<Instant>,
    /// Walks finished, updated together with `walking` (the published count may run ahead).
    walks: u64,
}

pub struct CountersReader {
    redis: RedisTarget,
    limits: RoleLimits,
    roles: RoleLookup,
    every: Duration,
    published: watch::Sender<Published>,
    control: Mutex<Control>,
    wake: Notify,
}

impl CountersReader {
    pub fn new(
        redis: RedisTarget,
        limits: RoleLimits,
        roles: RoleLookup,
        every: Duration,
    ) -> Arc<Self> {
        Arc::new(Self {
            redis,
            limits,
            roles,
            every,
            published: watch::Sender::new(Published::default()),
            control: Mutex::new(Control::default()),
            wake: Notify::new(),
        })
    }

    /// Walks now and then every interval, or sooner when a refresh asks; runs until aborted.
    pub async fn run(self: Arc<Self>) {
        loop {
            self.with_control(|control| {
                control.walking = true;
                control.requested = false;
            });
            let result = read_counters(&self.redis, &self.limits, &self.roles, TOP).await;
            if let Err(failure) = &result {
                tracing::warn!(target_name = self.redis.name(), reason = %failure, "reading the rate-limit counters failed");
            }
            self.published.send_modify(|published| {
                match result {
                    Ok(report) => {
                        published.report = Some(Arc::new(report));
                        published.error = None;
                    }
                    Err(failure) => published.error = Some(failure.reason),
                }
                published.walks += 1;
            });
            let finished = Instant::now();
            self.with_control(|control| {
                control.walking = false;
                control.finished_at = Some(finished);
                control.walks += 1;
            });
            tokio::select! {
                () = tokio::time::sleep_until(finished + self.every) => {}
                () = self.wake.notified() => {
                    tokio::time::sleep_until(finished + COOL_DOWN).await;
                }
            }
        }
    }

    /// Every later publication (for the event stream).
    pub fn subscribe(&self) -> watch::Receiver<Published> {
        self.published.subscribe()
    }

    /// The latest view; before the first walk has finished, waits for it (bounded).
    pub async fn current(&self) -> Result<CountersReport, RedisFailure> {
        let before_first = self.with_control(|control| control.walks == 0);
        if before_first {
            self.wait_for_walks(1).await;
        }
        self.latest()
    }

    /// A fresh view: shares a walk that runs or finished within `COOL_DOWN`, otherwise asks
    /// the reader for one and waits for it (bounded).
    pub async fn refresh(&self) -> Result<CountersReport, RedisFailure> {
        let wait_for = self.with_control(|control| {
            let cooling = control
                .finished_at
                .is_some_and(|at| at.elapsed() < COOL_DOWN);
            if control.walking || control.requested {
                Some(control.walks + 1)
            } else if cooling {
                None
            } else {
                control.requested = true;
                self.wake.notify_one();
                Some(control.walks + 1)
            }
        });
        if let Some(walks) = wait_for {
            self.wait_for_walks(walks).await;
        }
        self.latest()
    }

    /// Takes a counter that was just reset out of the published view, so every viewer sees it
    /// gone now rather than after the next walk.
    pub fn forget(&self, key: &str) {
        self.published.send_if_modified(|published| {
            let Some(report) = published.report.as_mut() else {
                return false;
            };
            let mut changed = (**report).clone();
            if !forget_in(&mut changed, key) {
                return false;
            }
            *report = Arc::new(changed);
            true
        });
    }

    /// The published view with its age: the last good walk, marked with the latest failure.
    pub fn latest(&self) -> Result<CountersReport, RedisFailure> {
        let published = self.published.borrow().clone();
        self.served(&published)
    }

    /// What a request (or an event) gets from `published`, now.
    pub fn served(&self, published: &Published) -> Result<CountersReport, RedisFailure> {
        served(published, self.every, now_ms())
    }

    async fn wait_for_walks(&self, walks: u64) {
        let mut receiver = self.published.subscribe();
        let _ = tokio::time::timeout(
            WAIT_FOR_WALK,
            receiver.wait_for(|published| published.walks >= walks),
        )
        .await;
    }

    fn with_control<T>(&self, change: impl FnOnce(&mut Control) -> T) -> T {
        let mut control = self
            .control
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        change(&mut control)
    }
}

/// The report a request gets from what was published, at `now_ms`.
fn served(
    published: &Published,
    every: Duration,
    now_ms: i64,
) -> Result<CountersReport, RedisFailure> {
    match (&published.report, &published.error) {
        (None, Some(reason)) => Err(RedisFailure {
            reason: reason.clone(),
        }),
        (None, None) => Err(RedisFailure {
            reason: "the counters have not been read yet".into(),
        }),
        (Some(report), error) => {
            let mut report = (**report).clone();
            report.age_ms = u64::try_from(now_ms - report.read_at_ms).unwrap_or(0);
            report.every_seconds = every.as_secs();
            report.last_error = error.clone();
            Ok(report)
        }
    }
}

/// `report` without the counter `key`; false when it did not list it.
fn forget_in(report: &mut CountersReport, key: &str) -> bool {
    let stuck_before = report.without_ttl.len();
    report.without_ttl.retain(|stuck| stuck != key);
    let was_stuck = report.without_ttl.len() < stuck_before;
    report.without_ttl_total -= u64::from(was_stuck).min(report.without_ttl_total);
    if report
        .dominant_ip
        .as_ref()
        .is_some_and(|row| row.key == key)
    {
        report.dominant_ip = None;
    }
    let Some(index) = report.top.iter().position(|row| row.key == key) else {
        return was_stuck;
    };
    let row = report.top.remove(index);
    report.counters = report.counters.saturating_sub(1);
    report.total_requests = report.total_requests.saturating_sub(row.count);
    report.over_limit = report
        .over_limit
        .saturating_sub(u64::from(row.is_over_limit()));
    report.near_limit = report
        .near_limit
        .saturating_sub(u64::from(row.is_near_limit()));
    true
}

/// A key of a page the walk handed out, and what its follow-up commands ask.
enum Pending {
    /// A counter: `GET` and `TTL`.
    Counter {
        raw: Vec<u8>,
        shown: String,
        escaped: bool,
        subject: Subject,
    },
    /// A recent 429 statistics key: `GET`.
    Rejections(String),
}

/// A counter whose count and TTL were read, waiting for its owner's role.
struct Read {
    shown: String,
    escaped: bool,
    subject: Subject,
    count: u64,
    ttl: i64,
}

/// Reads every counter (a walk of `rate_limit:*`, statistics keys apart) with its TTL and its
/// owner's role, keeping the `top` largest. Memory is bounded by `top`. Run by the reader only.
pub async fn read_counters(
    redis: &RedisTarget,
    limits: &RoleLimits,
    roles: &RoleLookup,
    top: usize,
) -> Result<CountersReport, RedisFailure> {
    let started = Instant::now();
    let mut pattern = glob_escape(KEY_PREFIX.as_bytes());
    pattern.push(b'*');
    let options = WalkOptions {
        duty_cycle: DUTY_CYCLE,
        max_keys: Some(MAX_COUNTERS),
        lookups: true,
        ..WalkOptions::new(Some(pattern), SCAN_COUNT)
    };
    let mut walker = Walker::start(redis, options).await?;
    let mut report = CountersReport {
        read_at_ms: now_ms(),
        ..Default::default()
    };
    let minutes = recent_minutes();
    let recent_stats: HashSet<String> = minutes
        .iter()
        .flat_map(|minute| Role::ALL.map(|role| rejection_key(role, minute)))
        .collect();
    let mut rejections: HashMap<String, u64> = HashMap::new();
    // The largest counters, trimmed to `top` whenever it doubles: memory stays bounded.
    let mut rows: Vec<CounterRow> = Vec::new();
    let mut busiest_ip: Option<CounterRow> = None;
    let mut pending: Vec<Pending> = Vec::new();
    loop {
        let page = walker.next(follow_ups(&pending)).await?;
        // GET, TTL and the role lookups count as keyspace hits and misses in Redis' stats:
        // recorded as cachepanel's own while the page holds the own-lookups gate.
        let (mut hits, mut misses) = (0_u64, 0_u64);
        let mut tally = |found: bool| if found { hits += 1 } else { misses += 1 };
        let mut replies = page.replies.into_iter();
        let mut read = Vec::new();
        for key in std::mem::take(&mut pending) {
            match key {
                Pending::Rejections(key) => {
                    let value = replies.next().and_then(Result::ok);
                    let count = value
                        .and_then(|v| redis::from_redis_value::<Option<u64>>(v).ok())
                        .flatten();
                    tally(count.is_some());
                    if let Some(count) = count {
                        rejections.insert(key, count);
                    }
                }
                Pending::Counter {
                    shown,
                    escaped,
                    subject,
                    ..
                } => {
                    let count = replies.next().and_then(Result::ok);
                    let ttl = replies.next().and_then(Result::ok);
                    tally(!matches!(count, None | Some(redis::Value::Nil)));
                    let ttl = ttl.and_then(|v| redis::from_redis_value::<i64>(v).ok());
                    tally(ttl.is_some_and(|t| t != -2));
                    let count = count
                        .and_then(|v| redis::from_redis_value::<Option<Vec<u8>>>(v).ok())
                        .flatten()
                        .and_then(|bytes| {
                            std::str::from_utf8(&bytes).ok()?.trim().parse::<u64>().ok()
                        });
                    if let (Some(count), Some(ttl)) = (count, ttl)
                        && ttl != -2
                    {
                        read.push(Read {
                            shown,
                            escaped,
                            subject,
                            count,
                            ttl,
                        });
                    }
                }
            }
        }
        // Roles come from the cached user objects, which on a cluster live on other nodes:
        // one routed lookup per user counter (one pipeline on a single server).
        let lookups: Vec<(usize, redis::Cmd)> = read
            .iter()
            .enumerate()
            .filter_map(|(index, counter)| match &counter.subject {
                Subject::User(id) if !counter.escaped => {
                    let mut get = redis::cmd("GET");
                    get.arg(roles.key_for(id));
                    Some((index, get))
                }
                _ => None,
            })
            .collect();
        let mut user_roles: HashMap<usize, Role> = HashMap::new();
        if !lookups.is_empty() {
            let (indexes, commands): (Vec<usize>, Vec<redis::Cmd>) = lookups.into_iter().unzip();
            let found = redis.query_each(commands).await;
            let found = match found {
                Ok(found) => found,
                Err(failure) => {
                    redis.own_lookups().record(hits, misses);
                    return Err(failure);
                }
            };
            for (index, value) in indexes.into_iter().zip(found) {
                let json = redis::from_redis_value::<Option<String>>(value)
                    .ok()
                    .flatten();
                tally(json.is_some());
                user_roles.insert(index, roles.role_in(json));
            }
        }
        redis.own_lookups().record(hits, misses);
        for (index, counter) in read.into_iter().enumerate() {
            let role = match counter.subject {
                Subject::Ip(_) => Role::Guest,
                Subject::User(_) => user_roles.get(&index).copied().unwrap_or(Role::Unknown),
            };
            let mut row = CounterRow::new(
                counter.shown.clone(),
                counter.subject,
                role,
                counter.count,
                counter.ttl,
                limits,
            );
            row.key_escaped = counter.escaped;
            report.counters += 1;
            report.total_requests += row.count;
            report.over_limit += u64::from(row.is_over_limit());
            report.near_limit += u64::from(row.is_near_limit());
            if row.ttl_seconds.is_none() {
                report.without_ttl_total += 1;
                if report.without_ttl.len() < 100 {
                    report.without_ttl.push(counter.shown);
                }
            }
            if matches!(row.subject, Subject::Ip(_))
                && busiest_ip.as_ref().is_none_or(|ip| ip.count < row.count)
            {
                busiest_ip = Some(row.clone());
            }
            rows.push(row);
            if rows.len() >= 2 * top.max(1) {
                sort_and_trim(&mut rows, top);
            }
        }
        if let Some(end) = page.end {
            report.capped = end == WalkEnd::Capped;
            break;
        }
        pending = classify(page.keys, &recent_stats);
    }
    sort_and_trim(&mut rows, top);
    report.top = rows;
    report.rejections = minutes
        .iter()
        .map(|minute| {
            let mut per_role = [0; ROLE_COUNT];
            for (slot, role) in per_role.iter_mut().zip(Role::ALL) {
                *slot = rejections
                    .get(&rejection_key(role, minute))
                    .copied()
                    .unwrap_or(0);
            }
            RejectionMinute {
                minute: minute.format("%H:%M").to_string(),
                per_role,
            }
        })
        .collect();
    report.dominant_ip = busiest_ip.filter(|row| {
        report.total_requests > 0
            && row.count as f64 >= DOMINANT_IP_SHARE * report.total_requests as f64
            && report.counters > 1
    });
    report.walk_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// The counters and the recent statistics keys among a page's keys. Older statistics keys and
/// keys of no known shape are passed over.
fn classify(keys: Vec<Vec<u8>>, recent_stats: &HashSet<String>) -> Vec<Pending> {
    keys.into_iter()
        .filter_map(|key| {
            let (shown, escaped) = display_key(&key);
            if key.starts_with(STATS_PREFIX.as_bytes()) {
                return recent_stats
                    .contains(&shown)
                    .then_some(Pending::Rejections(shown));
            }
            let subject = Subject::from_key(&shown)?;
            Some(Pending::Counter {
                raw: key,
                shown,
                escaped,
                subject,
            })
        })
        .collect()
}

/// The commands for `pending`, in order; counters are asked for by their real bytes.
fn follow_ups(pending: &[Pending]) -> Vec<redis::Cmd> {
    let mut commands = Vec::new();
    for key in pending {
        match key {
            Pending::Rejections(key) => {
                let mut get = redis::cmd("GET");
                get.arg(key);
                commands.push(get);
            }
            Pending::Counter { raw, .. } => {
                let mut get = redis::cmd("GET");
                get.arg(raw);
                let mut ttl = redis::cmd("TTL");
                ttl.arg(raw);
                commands.extend([get, ttl]);
            }
        }
    }
    commands
}

/// Highest counts first (ties by key), at most `top`.
fn sort_and_trim(rows: &mut Vec<CounterRow>, top: usize) {
    rows.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
    rows.truncate(top);
}

/// 429s per role (in `Role::ALL` order) in the last complete minute of `report`, for
/// `/metrics`: the minute before the one the walk ran in.
pub fn rejections_last_minute(report: &CountersReport) -> [u64; ROLE_COUNT] {
    let minutes = report.rejections.len();
    minutes
        .checked_sub(2)
        .and_then(|index| report.rejections.get(index))
        .map_or([0; ROLE_COUNT], |minute| minute.per_role)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_is_sorted_into_counters_and_recent_statistics_by_the_keys_bytes() {
        let recent: HashSet<String> =
            ["rate_limit:stats:rejected:owner:202612011000".to_owned()].into();
        let keys = vec![
            b"rate_limit:user:7".to_vec(),
            b"rate_limit:ip:\xff\xfe".to_vec(),
            b"rate_limit:stats:rejected:owner:202612011000".to_vec(),
            b"rate_limit:stats:rejected:owner:202501010000".to_vec(),
            b"rate_limit:other".to_vec(),
        ];
        let pending = classify(keys, &recent);
        assert_eq!(pending.len(), 3);
        assert!(
            matches!(&pending[1], Pending::Counter { raw, escaped: true, shown, .. }
            if raw == b"rate_limit:ip:\xff\xfe" && shown == "rate_limit:ip:\\xff\\xfe")
        );
        let commands = follow_ups(&pending);
        // GET + TTL for each counter, GET for the statistics key.
        assert_eq!(commands.len(), 5);
        assert_eq!(commands[2].get_packed_command(), {
            let mut get = redis::cmd("GET");
            get.arg(b"rate_limit:ip:\xff\xfe");
            get.get_packed_command()
        });
    }

    #[test]
    fn a_served_view_carries_its_age_and_the_latest_failure() {
        let report = CountersReport {
            read_at_ms: 10_000,
            counters: 3,
            ..Default::default()
        };
        let mut published = Published {
            report: Some(Arc::new(report)),
            error: None,
            walks: 1,
        };
        let served_now = served(&published, Duration::from_secs(15), 12_500).unwrap();
        assert_eq!(served_now.age_ms, 2_500);
        assert_eq!(served_now.every_seconds, 15);
        assert_eq!(served_now.counters, 3);
        published.error = Some("connection refused".into());
        let stale = served(&published, Duration::from_secs(15), 40_000).unwrap();
        assert_eq!(stale.last_error.as_deref(), Some("connection refused"));
        assert_eq!(stale.age_ms, 30_000);
        published.report = None;
        assert_eq!(
            served(&published, Duration::from_secs(15), 40_000)
                .unwrap_err()
                .reason,
            "connection refused"
        );
    }

    #[test]
    fn a_reset_counter_leaves_the_view_with_its_totals() {
        let limits = RoleLimits::default();
        let row = |key: &str, count| {
            CounterRow::new(
                key.into(),
                Subject::from_key(key).unwrap(),
                Role::Manager,
                count,
                -1,
                &limits,
            )
        };
        let mut report = CountersReport {
            counters: 2,
            total_requests: 165,
            over_limit: 1,
            top: vec![row("rate_limit:user:1", 160), row("rate_limit:user:2", 5)],
            without_ttl: vec!["rate_limit:user:1".into(), "rate_limit:user:2".into()],
            without_ttl_total: 2,
            ..Default::default()
        };
        assert!(forget_in(&mut report, "rate_limit:user:1"));
        assert_eq!(report.counters, 1);
        assert_eq!(report.total_requests, 5);
        assert_eq!(report.over_limit, 0);
        assert_eq!(report.without_ttl, vec!["rate_limit:user:2".to_owned()]);
        assert_eq!(report.without_ttl_total, 1);
        assert!(!forget_in(&mut report, "rate_limit:user:9"));
    }

    #[test]
    fn the_last_complete_minute_is_the_one_before_the_walks_minute() {
        let report = CountersReport {
            rejections: vec![
                RejectionMinute {
                    minute: "10:00".into(),
                    per_role: [1, 0, 0, 0, 0, 0],
                },
                RejectionMinute {
                    minute: "10:01".into(),
                    per_role: [0, 7, 0, 0, 0, 0],
                },
                RejectionMinute {
                    minute: "10:02".into(),
                    per_role: [0, 0, 9, 0, 0, 0],
                },
            ],
            ..Default::default()
        };
        assert_eq!(rejections_last_minute(&report), [0, 7, 0, 0, 0, 0]);
        assert_eq!(rejections_last_minute(&CountersReport::default()), [0; 6]);
    }
}
