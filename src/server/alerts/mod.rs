//! Alerts, evaluated on what the sampler and the counters reader already publish (no Redis
//! command of their own, except one claim per transition so that across replicas each change
//! is told once), delivered to Telegram and a webhook without ever holding up a sample.
//! Silences are kept in the target's state hash too, so other replicas (which read them back
//! while they are there) and the next start keep them.

pub mod deliver;
pub mod messages;
pub mod settings;

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::error::AppError;
use crate::model::alerts::{
    AlertEvent, AlertRule, AlertsView, Evaluator, Observation, Silence, Transition,
};
use crate::model::flush::AuditAction;
use crate::model::live::{LiveSnapshot, LiveStatus};
use crate::model::rate_limit::Role;
use crate::server::alerts::deliver::Notifier;
use crate::server::alerts::settings::AlertSettings;
use crate::server::audit::AuditLog;
use crate::server::clock::now_ms;
use crate::server::job::JobLeases;
use crate::server::live::diagnostics::RenderCache;
use crate::server::live::sampler::SamplerHandle;
use crate::server::rate_limit::counters::{CountersReader, rejections_last_minute};
use crate::server::redis::RedisTarget;
use tokio::sync::watch;

/// Transitions kept for the page.
const RECENT: usize = 50;
/// While something is active, the section is rendered anew this often (in samples) for its
/// figures and ages.
const REFRESH_EVERY_SAMPLES: u64 = 5;
/// How long a "fired" claim holds without a repeat interval: an alert told once stays told.
const TOLD_ONCE_HOLD: Duration = Duration::from_secs(7 * 86_400);

struct TargetAlerts {
    evaluator: Evaluator,
    recent: VecDeque<AlertEvent>,
    redis: RedisTarget,
}

/// The field of the target's state hash that keeps its silences (JSON), so that every replica
/// and a restart keep them.
const SILENCES_FIELD: &str = "alert_silences";
/// While other replicas are there, their silences are read back this often (in samples).
const SILENCES_EVERY_SAMPLES: u64 = 5;

/// Every target's alerts, the silences and the notifier; one per process.
pub struct Alerts {
    settings: Arc<AlertSettings>,
    targets: Mutex<BTreeMap<String, TargetAlerts>>,
    silences: Mutex<Vec<Silence>>,
    notifier: Notifier,
    /// Bumped whenever what the section shows changes (for the event stream).
    changes: Arc<watch::Sender<u64>>,
    rendered: RenderCache,
}

impl Alerts {
    pub fn start(settings: AlertSettings) -> (Arc<Self>, Vec<tokio::task::JoinHandle<()>>) {
        let settings = Arc::new(settings);
        let changes = Arc::new(watch::Sender::new(0));
        let (notifier, tasks) = Notifier::start(settings.clone(), changes.clone());
        let alerts = Arc::new(Self {
            settings,
            targets: Mutex::new(BTreeMap::new()),
            silences: Mutex::new(Vec::new()),
            notifier,
            changes,
            rendered: RenderCache::default(),
        });
        (alerts, tasks)
    }

    pub fn settings(&self) -> &AlertSettings {
        &self.settings
    }

    /// Changes whenever the alerts section would show something else.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// `render` of the current state under `key` (target, language, rights), made once per
    /// change however many pages and streams ask.
    pub fn rendered(&self, key: &str, render: impl FnOnce() -> String) -> Arc<str> {
        let version = *self.changes.borrow();
        self.rendered.get_or_render(version, key, render)
    }

    fn changed(&self) {
        self.changes.send_modify(|version| *version += 1);
    }

    /// Evaluates `target`'s alerts after every sample until the sampler stops. `counters`:
    /// the rate-limit reader, on the target that holds the counters.
    pub async fn watch(
        self: Arc<Self>,
        redis: RedisTarget,
        sampler: SamplerHandle,
        counters: Option<Arc<CountersReader>>,
        leases: JobLeases,
    ) {
        let mut snapshots = sampler.subscribe();
        let target = sampler.latest().target.clone();
        let mut samples: u64 = 0;
        let repeat_ms = self.settings.repeat.map_or(0, |d| d.as_millis() as i64);
        self.lock_targets().insert(
            target.clone(),
            TargetAlerts {
                evaluator: Evaluator::new(&target, self.settings.rules.clone(), repeat_ms),
                recent: VecDeque::new(),
                redis: redis.clone(),
            },
        );
        self.read_silences(&redis, &target).await;
        while snapshots.changed().await.is_ok() {
            let snapshot = snapshots.borrow_and_update().clone();
            if matches!(snapshot.status, LiveStatus::Starting) {
                continue;
            }
            let persistence = sampler.persistence();
            let counters_report = counters.as_ref().and_then(|reader| reader.latest().ok());
            let observation = observe(&snapshot, persistence.as_ref(), counters_report.as_ref());
            samples += 1;
            if samples.is_multiple_of(SILENCES_EVERY_SAMPLES)
                && redis.own_lookups().others_present()
            {
                self.read_silences(&redis, &target).await;
            }
            let silences = self.silences_now();
            let (events, shown_changed) = {
                let mut targets = self.lock_targets();
                let Some(alerts) = targets.get_mut(&target) else {
                    return;
                };
                let before = shown(&alerts.evaluator.active(&silences, observation.at_ms));
                let events = alerts.evaluator.observe(&observation, &silences);
                for event in &events {
                    alerts.recent.push_front(event.clone());
                    alerts.recent.truncate(RECENT);
                }
                let active = alerts.evaluator.active(&silences, observation.at_ms);
                // Figures and ages of what is active move on too: refreshed now and then.
                let refresh = !active.is_empty() && samples.is_multiple_of(REFRESH_EVERY_SAMPLES);
                (events, before != shown(&active) || refresh)
            };
            if shown_changed {
                self.changed();
            }
            let mut to_tell = Vec::new();
            for event in events {
                if event.silenced {
                    tracing::info!(alert = %event.key(), target_name = %event.target, transition = event.transition.name(), "alert silenced");
                    continue;
                }
                tracing::info!(alert = %event.key(), target_name = %event.target, transition = event.transition.name(), "alert");
                if self.first_to_tell(&leases, &event).await {
                    to_tell.push(event);
                }
            }
            // What one target did in one sample goes out together.
            self.notifier.send(&to_tell);
        }
    }

    /// Whether this replica tells `event`: the first across replicas does. Without Redis
    /// (the "down" alert itself) every replica tells: a duplicate beats silence.
    async fn first_to_tell(&self, leases: &JobLeases, event: &AlertEvent) -> bool {
        if !self.settings.delivers() {
            return false;
        }
        let transition = match event.transition {
            Transition::Resolved => "resolved",
            Transition::Fired | Transition::Repeated => "fired",
        };
        // A little under the repeat interval, so the next repeat of any replica is free.
        let hold = self
            .settings
            .repeat
            .map_or(TOLD_ONCE_HOLD, |repeat| repeat.mul_f64(0.9));
        match leases.first_to_tell(&event.key(), transition, hold).await {
            Ok(first) => {
                if !first {
                    tracing::debug!(alert = %event.key(), "another replica told this alert");
                }
                first
            }
            Err(failure) => {
                tracing::debug!(reason = %failure, "claiming an alert failed; telling it anyway");
                true
            }
        }
    }

    /// Replaces `target`'s silences with those kept in Redis (another replica may have
    /// changed them); keeps the ones in memory when Redis cannot say.
    async fn read_silences(&self, redis: &RedisTarget, target: &str) {
        let kept = match redis
            .read_state(&redis.state_hash(), Some(SILENCES_FIELD))
            .await
        {
            Ok(kept) => kept,
            Err(failure) => {
                tracing::debug!(target_name = target, reason = %failure, "reading the silences failed");
                return;
            }
        };
        let kept: Vec<Silence> = kept
            .and_then(|json| serde_json::from_str(&json).ok())
            .unwrap_or_default();
        let changed = {
            let mut silences = self.lock_silences();
            let before = silences.clone();
            silences.retain(|silence| silence.target != target);
            silences.extend(kept.into_iter().filter(|silence| silence.target == target));
            *silences != before
        };
        if changed {
            self.changed();
        }
    }

    /// Writes `target`'s silences to Redis for the other replicas and the next start.
    async fn keep_silences(&self, target: &str) -> Result<(), AppError> {
        let Some(redis) = self
            .lock_targets()
            .get(target)
            .map(|alerts| alerts.redis.clone())
        else {
            return Ok(());
        };
        let silences: Vec<Silence> = self
            .silences_now()
            .into_iter()
            .filter(|silence| silence.target == target)
            .collect();
        let json = serde_json::to_string(&silences).unwrap_or_else(|_| "[]".into());
        let state = redis.state_hash();
        redis
            .run(|mut connection| async move {
                redis::cmd("HSET")
                    .arg(state)
                    .arg(SILENCES_FIELD)
                    .arg(json)
                    .query_async::<i64>(&mut connection)
                    .await
            })
            .await
            .map(|_| ())
            .map_err(|failure| AppError::RedisUnavailable {
                reason: failure.reason,
            })
    }

    /// What the page and `GET /api/alerts` show for `target`.
    pub fn view(&self, target: &str) -> AlertsView {
        let now = now_ms();
        let silences: Vec<Silence> = self
            .silences_now()
            .into_iter()
            .filter(|silence| silence.target == target)
            .collect();
        let targets = self.lock_targets();
        let (active, recent) = targets.get(target).map_or_else(Default::default, |alerts| {
            (
                alerts.evaluator.active(&silences, now),
                alerts.recent.iter().cloned().collect(),
            )
        });
        AlertsView {
            active,
            recent,
            silences,
            delivery: self.notifier.status(),
        }
    }

    /// Keeps `rule` (every rule with `None`) of `target` quiet for `for_how_long`.
    pub fn silence(
        &self,
        target: &str,
        rule: Option<AlertRule>,
        for_how_long: Duration,
        by: &str,
    ) -> Silence {
        let silence = Silence {
            target: target.to_owned(),
            rule,
            until_ms: now_ms() + for_how_long.as_millis() as i64,
            by: by.to_owned(),
        };
        {
            let mut silences = self.lock_silences();
            silences.retain(|s| !(s.target == silence.target && s.rule == silence.rule));
            silences.push(silence.clone());
        }
        self.changed();
        silence
    }

    /// Ends the silence of `rule` on `target`; whether there was one.
    pub fn unsilence(&self, target: &str, rule: Option<AlertRule>) -> bool {
        let ended = {
            let mut silences = self.lock_silences();
            let before = silences.len();
            silences.retain(|s| !(s.target == target && s.rule == rule));
            silences.len() < before
        };
        if ended {
            self.changed();
        }
        ended
    }

    /// Delivery outcomes per channel (for `/metrics`).
    pub fn delivery(&self) -> Vec<crate::model::alerts::DeliveryStatus> {
        self.notifier.status()
    }

    /// Every target's firing alerts (for `/metrics`).
    pub fn firing(&self) -> Vec<crate::model::alerts::ActiveAlert> {
        let now = now_ms();
        let silences = self.silences_now();
        self.lock_targets()
            .values()
            .flat_map(|alerts| alerts.evaluator.active(&silences, now))
            .collect()
    }

    fn silences_now(&self) -> Vec<Silence> {
        let now = now_ms();
        let mut silences = self.lock_silences();
        silences.retain(|silence| silence.until_ms > now);
        silences.clone()
    }

    fn lock_targets(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, TargetAlerts>> {
        self.targets.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_silences(&self) -> std::sync::MutexGuard<'_, Vec<Silence>> {
        self.silences.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// What of the active alerts the section shows, apart from figures and ages.
fn shown(active: &[crate::model::alerts::ActiveAlert]) -> Vec<(AlertRule, String, bool, bool)> {
    active
        .iter()
        .map(|alert| {
            let firing = alert.phase == crate::model::alerts::AlertPhase::Firing;
            (alert.rule, alert.labels.clone(), firing, alert.silenced)
        })
        .collect()
}

/// The longest silence the page offers: a week.
pub const LONGEST_SILENCE_MINUTES: u64 = 7 * 24 * 60;

/// `rule` as a request names it: a rule's name, or empty (or `*`) for every rule.
fn requested_rule(rule: &str) -> Result<Option<AlertRule>, AppError> {
    match rule.trim() {
        "" | "*" => Ok(None),
        name => AlertRule::from_name(name).map(Some).ok_or_else(|| {
            let known: Vec<&str> = AlertRule::ALL.iter().map(|rule| rule.name()).collect();
            AppError::bad_request(format!(
                "unknown rule '{name}'; rules: {}",
                known.join(", ")
            ))
        }),
    }
}

/// Silences `rule` of `target` for `minutes`, audited on the target.
pub async fn silence(
    alerts: &Alerts,
    audit: &AuditLog,
    target: &str,
    actor: &str,
    rule: &str,
    minutes: u64,
) -> Result<Silence, AppError> {
    let rule = requested_rule(rule)?;
    if !(1..=LONGEST_SILENCE_MINUTES).contains(&minutes) {
        return Err(AppError::bad_request(format!(
            "minutes must be 1–{LONGEST_SILENCE_MINUTES}"
        )));
    }
    let silence = alerts.silence(target, rule, Duration::from_secs(minutes * 60), actor);
    // Kept in memory either way; without Redis the other replicas do not learn of it.
    if let Err(error) = alerts.keep_silences(target).await {
        tracing::warn!(target_name = target, %error, "keeping a silence in Redis failed");
    }
    let shown = rule.map_or("*", AlertRule::name);
    audit
        .append_with_retry(
            AuditAction::AlertSilenced,
            actor,
            shown,
            &format!("minutes={minutes}"),
            Duration::from_secs(10),
        )
        .await;
    Ok(silence)
}

/// Ends the silence of `rule` on `target`, audited when there was one.
pub async fn unsilence(
    alerts: &Alerts,
    audit: &AuditLog,
    target: &str,
    actor: &str,
    rule: &str,
) -> Result<bool, AppError> {
    let rule = requested_rule(rule)?;
    let ended = alerts.unsilence(target, rule);
    if ended {
        if let Err(error) = alerts.keep_silences(target).await {
            tracing::warn!(target_name = target, %error, "keeping the silences in Redis failed");
        }
        audit
            .append_with_retry(
                AuditAction::AlertUnsilenced,
                actor,
                rule.map_or("*", AlertRule::name),
                "",
                Duration::from_secs(10),
            )
            .await;
    }
    Ok(ended)
}

/// The figures the rules need from one publication of the sampler (and the counters view).
pub fn observe(
    snapshot: &LiveSnapshot,
    persistence: Option<&crate::model::persistence::PersistenceHealth>,
    counters: Option<&crate::model::rate_limit::CountersReport>,
) -> Observation {
    let at_ms = snapshot.published_at_ms;
    let down_for_ms = match &snapshot.status {
        LiveStatus::Unavailable { since_ms, .. } => (at_ms - since_ms).max(1),
        _ => 0,
    };
    let up = down_for_ms == 0;
    let seconds = snapshot.sample_interval_ms as f64 / 1000.0;
    let stats = snapshot.stats.as_ref().filter(|_| up);
    let memory_percent = stats.and_then(|stats| {
        let limit = if stats.maxmemory_bytes > 0 {
            stats.maxmemory_bytes
        } else {
            stats.total_system_memory_bytes
        };
        (limit > 0).then(|| stats.used_memory_bytes as f64 * 100.0 / limit as f64)
    });
    let rates = snapshot.rates.as_ref().filter(|_| up);
    Observation {
        at_ms,
        down_for_ms,
        lookups: rates.map(|r| (r.hits_per_sec * seconds, r.misses_per_sec * seconds)),
        memory_percent,
        evicted_per_sec: rates.map(|r| r.evicted_per_sec),
        master: snapshot
            .topology
            .as_ref()
            .and_then(|topology| topology.master.as_ref())
            .map(|master| master.address.clone()),
        rejections_per_role: counters.map(|report| {
            let per_role = rejections_last_minute(report);
            Role::ALL
                .into_iter()
                .zip(per_role)
                .map(|(role, count)| (role.name().to_owned(), count))
                .collect()
        }),
        counters_without_ttl: counters.map(|report| report.without_ttl_total),
        save_failed: persistence.filter(|_| up).and_then(|health| {
            match (health.last_bgsave_ok, health.aof_last_write_ok) {
                (None, None) => None,
                (rdb, aof) => Some(rdb == Some(false) || aof == Some(false)),
            }
        }),
        hours_until_full: snapshot.memory_forecast.filter(|_| up).map(|forecast| {
            forecast
                .full_in_ms
                .map_or(f64::INFINITY, |ms| ms as f64 / 3_600_000.0)
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::persistence::PersistenceHealth;

    fn snapshot() -> LiveSnapshot {
        let mut snapshot =
            LiveSnapshot::starting("cache", Default::default(), Default::default(), 2000);
        snapshot.status = LiveStatus::Up;
        snapshot.published_at_ms = 1_000_000;
        snapshot
    }

    #[test]
    fn a_failed_save_and_the_forecast_reach_their_rules() {
        let failed = PersistenceHealth {
            last_bgsave_ok: Some(false),
            ..Default::default()
        };
        let mut up = snapshot();
        up.memory_forecast = Some(crate::model::forecast::MemoryForecast {
            bytes_per_hour: 1e6,
            stable: false,
            full_in_ms: Some(3 * 3_600_000),
            span_ms: 3_600_000,
        });
        let seen = observe(&up, Some(&failed), None);
        assert_eq!(seen.save_failed, Some(true));
        assert_eq!(seen.hours_until_full, Some(3.0));
        let fine = PersistenceHealth {
            last_bgsave_ok: Some(true),
            aof_last_write_ok: Some(true),
            ..Default::default()
        };
        assert_eq!(observe(&up, Some(&fine), None).save_failed, Some(false));
        // No persistence at all (INFO said nothing): not known, never fires.
        assert_eq!(
            observe(&up, Some(&PersistenceHealth::default()), None).save_failed,
            None
        );
    }

    #[test]
    fn while_redis_is_down_only_the_down_rule_has_a_figure() {
        let mut down = snapshot();
        down.status = LiveStatus::Unavailable {
            reason: "connection refused".into(),
            since_ms: 970_000,
        };
        // The last figures are kept for the page while Redis is down; the rules ignore them.
        let info = crate::model::info::InfoFields::parse("used_memory:900\r\nmaxmemory:1000\r\n");
        down.stats = Some(crate::model::RedisStats::from_info(&info, 10));
        let failed = PersistenceHealth {
            last_bgsave_ok: Some(false),
            ..Default::default()
        };
        let seen = observe(&down, Some(&failed), None);
        assert_eq!(seen.down_for_ms, 30_000);
        assert_eq!(seen.memory_percent, None);
        assert_eq!(seen.save_failed, None);
        assert_eq!(seen.lookups, None);
    }
}
