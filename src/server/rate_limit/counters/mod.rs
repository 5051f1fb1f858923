//! The rate-limit counters view, read by one shared background task per process: it walks
//! `rate_limit:*` through the one walker on a schedule (`CACHEPANEL_RATE_LIMIT_SCAN_SECONDS`)
//! and keeps the latest view in memory with its age. Pages, `GET /api/rate-limits`, `/metrics`
//! and the event stream only read that memory, so Redis pays once per interval however many
//! people watch. A refresh asks the reader for a walk: callers arriving while one runs, or
//! within `COOL_DOWN` after one finished, share it; nobody starts a walk of their own.
//!
//! Across replicas the scheduled walk runs on one replica per interval (the first to tick);
//! it keeps its view in Redis (the `counters_report` field of `{namespace}:{target}:state`) and the others serve
//! that one instead of walking. A refresh still walks on the replica it was asked of.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio::time::Instant;

mod read;

use crate::model::rate_limit::{CountersReport, RoleLimits};
use crate::server::clock::now_ms;
use crate::server::job::JobLeases;
use crate::server::rate_limit::RoleLookup;
use crate::server::redis::{RedisFailure, RedisTarget};
pub use read::{read_counters, rejections_last_minute};

/// The field of the target's state hash that holds the latest walk's view.
const REPORT_FIELD: &str = "counters_report";
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
    leases: JobLeases,
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
        leases: JobLeases,
        limits: RoleLimits,
        roles: RoleLookup,
        every: Duration,
    ) -> Arc<Self> {
        Arc::new(Self {
            redis,
            leases,
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
            let requested = self.with_control(|control| {
                control.walking = true;
                std::mem::take(&mut control.requested)
            });
            let result = self.walk_or_share(requested).await;
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

    /// A walk, unless another replica walked this interval: then its view, from Redis.
    async fn walk_or_share(&self, requested: bool) -> Result<CountersReport, RedisFailure> {
        let state = self.redis.state_hash();
        if !requested {
            let ours = self
                .leases
                .first_this_period("counters_walk", self.every)
                .await
                .unwrap_or(true);
            if !ours
                && let Ok(Some(text)) = self.redis.read_state(&state, Some(REPORT_FIELD)).await
                && let Ok(report) = serde_json::from_str::<CountersReport>(&text)
                // The walking replica may be gone: a view three intervals old is not served.
                && now_ms() - report.read_at_ms < 3 * self.every.as_millis() as i64
            {
                return Ok(report);
            }
        }
        let report = read_counters(&self.redis, &self.limits, &self.roles, TOP).await?;
        if let Ok(text) = serde_json::to_string(&report) {
            let stored = self
                .redis
                .run(|mut connection| async move {
                    redis::cmd("HSET")
                        .arg(state)
                        .arg(REPORT_FIELD)
                        .arg(text)
                        .query_async::<()>(&mut connection)
                        .await
                })
                .await;
            if let Err(failure) = stored {
                tracing::debug!(target_name = self.redis.name(), reason = %failure, "the counters view is not shared with other replicas");
            }
        }
        Ok(report)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::rate_limit::{CounterRow, Role, Subject};

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
}
