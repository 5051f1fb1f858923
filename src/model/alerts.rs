//! Alerts: the rules over the sampler's figures, each alert's pending → firing → resolved
//! life with hysteresis, and what the page shows of them. Pure: the server feeds one
//! `Observation` per sample and delivers the `AlertEvent`s that come out; nothing here reads
//! Redis, so alerting adds no load however many rules there are.

use std::collections::BTreeMap;

use crate::model::wire::FromJson;
use serde::{Deserialize, Serialize};

/// The rules, in the order the page lists them.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, FromJson,
)]
#[serde(rename_all = "snake_case")]
pub enum AlertRule {
    /// The hit rate over a sliding window stays below the target (with enough traffic).
    HitRate,
    /// Used memory above a share of maxmemory (of the host's memory without a limit).
    MemoryHigh,
    MemoryCritical,
    /// Evictions per second above a rate.
    Evictions,
    /// Redis has not answered for longer than a while.
    RedisDown,
    /// Sentinel moved the master: an event, firing for a while after it happened.
    Failover,
    /// 429 answers per role in the last minute (the limiter's rejection counters).
    RateLimited,
    /// Rate-limit counters without a TTL: their owners stay locked out.
    StuckCounters,
    /// The last background save or AOF write failed.
    SaveFailed,
    /// The memory trend reaches maxmemory within a few hours.
    MemoryForecast,
}

impl AlertRule {
    pub const ALL: [AlertRule; 10] = [
        Self::HitRate,
        Self::MemoryHigh,
        Self::MemoryCritical,
        Self::Evictions,
        Self::RedisDown,
        Self::Failover,
        Self::RateLimited,
        Self::StuckCounters,
        Self::SaveFailed,
        Self::MemoryForecast,
    ];

    /// The name in settings, the API, `/metrics` and the Prometheus rules.
    pub fn name(self) -> &'static str {
        match self {
            Self::HitRate => "hit_rate",
            Self::MemoryHigh => "memory_high",
            Self::MemoryCritical => "memory_critical",
            Self::Evictions => "evictions",
            Self::RedisDown => "redis_down",
            Self::Failover => "failover",
            Self::RateLimited => "rate_limited",
            Self::StuckCounters => "stuck_counters",
            Self::SaveFailed => "save_failed",
            Self::MemoryForecast => "memory_forecast",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|rule| rule.name() == name)
    }

    /// Whether the figure is bad when low (the hit rate, hours until full) or when high.
    pub fn fires_below(self) -> bool {
        matches!(self, Self::HitRate | Self::MemoryForecast)
    }

    /// The defaults: the rollout plan's checks (hit rate > 70 %, memory under 512 MB with
    /// room, few 429s), tuned so an ordinary day sends nothing.
    pub fn defaults(self) -> RuleSettings {
        const MINUTE: i64 = 60_000;
        let base = RuleSettings {
            enabled: true,
            threshold: 0.0,
            resolve: 0.0,
            for_ms: 0,
            hold_ms: 0,
            window_ms: 0,
            min_rate: 0.0,
        };
        match self {
            Self::HitRate => RuleSettings {
                threshold: 70.0,
                resolve: 75.0,
                for_ms: 15 * MINUTE,
                hold_ms: 5 * MINUTE,
                window_ms: 5 * MINUTE,
                min_rate: 1.0,
                ..base
            },
            Self::MemoryHigh => RuleSettings {
                threshold: 80.0,
                resolve: 75.0,
                for_ms: MINUTE,
                hold_ms: 5 * MINUTE,
                ..base
            },
            Self::MemoryCritical => RuleSettings {
                threshold: 95.0,
                resolve: 90.0,
                hold_ms: 5 * MINUTE,
                ..base
            },
            Self::Evictions => RuleSettings {
                threshold: 10.0,
                resolve: 5.0,
                for_ms: 5 * MINUTE,
                hold_ms: 5 * MINUTE,
                ..base
            },
            Self::RedisDown => RuleSettings {
                threshold: 30.0,
                resolve: 1.0,
                ..base
            },
            Self::Failover => RuleSettings {
                threshold: 0.5,
                resolve: 0.5,
                window_ms: 10 * MINUTE,
                ..base
            },
            Self::RateLimited => RuleSettings {
                threshold: 100.0,
                resolve: 50.0,
                hold_ms: 2 * MINUTE,
                ..base
            },
            Self::StuckCounters => RuleSettings {
                threshold: 0.5,
                resolve: 0.5,
                for_ms: 2 * MINUTE,
                ..base
            },
            Self::SaveFailed => RuleSettings {
                threshold: 0.5,
                resolve: 0.5,
                ..base
            },
            Self::MemoryForecast => RuleSettings {
                threshold: 6.0,
                resolve: 12.0,
                for_ms: 10 * MINUTE,
                hold_ms: 10 * MINUTE,
                ..base
            },
        }
    }
}

/// One rule's thresholds and timing.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, FromJson)]
pub struct RuleSettings {
    pub enabled: bool,
    /// The figure fires past this (below it for `fires_below` rules).
    pub threshold: f64,
    /// A firing alert resolves only back past this (hysteresis).
    pub resolve: f64,
    /// How long the figure must stay past the threshold before the alert fires.
    pub for_ms: i64,
    /// How long it must stay back past `resolve` before the alert resolves.
    pub hold_ms: i64,
    /// Hit rate: the sliding window it is computed over. Failover: how long it stays firing.
    pub window_ms: i64,
    /// Hit rate: fewer lookups per second than this is too little traffic to judge.
    pub min_rate: f64,
}

impl RuleSettings {
    fn breaches(&self, rule: AlertRule, value: f64) -> bool {
        if rule.fires_below() {
            value < self.threshold
        } else {
            value > self.threshold
        }
    }

    fn recovered(&self, rule: AlertRule, value: f64) -> bool {
        if rule.fires_below() {
            value >= self.resolve
        } else {
            value < self.resolve
        }
    }
}

/// What one sample says, as far as the rules need it; `None` where it is not known.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observation {
    pub at_ms: i64,
    /// How long Redis has not answered; 0 while it answers.
    pub down_for_ms: i64,
    /// Hits and misses in this sample's window (cachepanel's own taken off).
    pub lookups: Option<(f64, f64)>,
    /// Used memory as a share of maxmemory (of the host's memory without a limit).
    pub memory_percent: Option<f64>,
    pub evicted_per_sec: Option<f64>,
    /// The master Sentinel names.
    pub master: Option<String>,
    /// 429s per role in the last minute.
    pub rejections_per_role: Option<Vec<(String, u64)>>,
    pub counters_without_ttl: Option<u64>,
    /// The last background save or AOF write failed.
    pub save_failed: Option<bool>,
    /// Hours until maxmemory at the current trend; `Some(INFINITY)` when flat or shrinking.
    pub hours_until_full: Option<f64>,
}

/// A change worth telling people about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, FromJson)]
#[serde(rename_all = "snake_case")]
pub enum Transition {
    Fired,
    /// Still firing after the repeat interval.
    Repeated,
    Resolved,
}

impl Transition {
    pub fn name(self) -> &'static str {
        match self {
            Self::Fired => "fired",
            Self::Repeated => "repeated",
            Self::Resolved => "resolved",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, FromJson)]
pub struct AlertEvent {
    pub rule: AlertRule,
    pub target: String,
    /// What distinguishes instances of one rule (`role=employee`); empty for most.
    pub labels: String,
    pub transition: Transition,
    /// The figure at the transition (`None` when not finite, e.g. "never full").
    pub value: Option<f64>,
    pub threshold: f64,
    pub at_ms: i64,
    /// When the alert started firing.
    pub since_ms: i64,
    /// A silence kept it from being sent.
    #[serde(default)]
    pub silenced: bool,
}

impl AlertEvent {
    /// Identifies the alert across transitions and replicas.
    pub fn key(&self) -> String {
        alert_key(self.rule, &self.labels)
    }
}

pub fn alert_key(rule: AlertRule, labels: &str) -> String {
    if labels.is_empty() {
        rule.name().to_owned()
    } else {
        format!("{}{{{labels}}}", rule.name())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, FromJson)]
#[serde(rename_all = "snake_case")]
pub enum AlertPhase {
    Pending,
    Firing,
}

/// An alert that is pending or firing, as the page lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, FromJson)]
pub struct ActiveAlert {
    pub rule: AlertRule,
    pub target: String,
    pub labels: String,
    pub phase: AlertPhase,
    pub since_ms: i64,
    pub value: Option<f64>,
    pub threshold: f64,
    pub silenced: bool,
}

/// Keeps a rule or a whole target quiet until a time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, FromJson)]
pub struct Silence {
    pub target: String,
    /// `None`: every rule of the target.
    pub rule: Option<AlertRule>,
    pub until_ms: i64,
    pub by: String,
}

impl Silence {
    pub fn covers(&self, target: &str, rule: AlertRule, at_ms: i64) -> bool {
        self.target == target && self.rule.is_none_or(|r| r == rule) && at_ms < self.until_ms
    }
}

/// How one delivery channel (Telegram, the webhook) has fared.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, FromJson)]
pub struct DeliveryStatus {
    pub channel: String,
    pub delivered: u64,
    pub failed: u64,
    pub last_ok_ms: Option<i64>,
    /// The last failure (status or transport error, never the URL or a token), until a
    /// delivery succeeds again.
    pub last_error: Option<String>,
    pub last_error_ms: Option<i64>,
}

/// `GET /api/alerts`: what fires now, what happened recently, what is silenced.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, FromJson)]
pub struct AlertsView {
    pub active: Vec<ActiveAlert>,
    /// Newest first.
    pub recent: Vec<AlertEvent>,
    pub silences: Vec<Silence>,
    pub delivery: Vec<DeliveryStatus>,
}

#[derive(Clone, Debug, PartialEq)]
struct Instance {
    phase: AlertPhase,
    since_ms: i64,
    value: Option<f64>,
    /// When a message for it last went out (or would have, silenced); `None`: never.
    notified_ms: Option<i64>,
    /// The firing was told to someone (a resolution is only told then).
    told: bool,
    /// Since when the figure has been back past `resolve`.
    recovering_since: Option<i64>,
}

/// One target's alerts: feed it every sample with `observe`.
#[derive(Clone, Debug)]
pub struct Evaluator {
    target: String,
    rules: BTreeMap<AlertRule, RuleSettings>,
    repeat_ms: i64,
    instances: BTreeMap<(AlertRule, String), Instance>,
    lookups: std::collections::VecDeque<(i64, f64, f64)>,
    master: Option<String>,
    failover_at: Option<i64>,
}

impl Evaluator {
    /// `repeat_ms` ≤ 0: a long-firing alert is told once.
    pub fn new(target: &str, rules: BTreeMap<AlertRule, RuleSettings>, repeat_ms: i64) -> Self {
        Self {
            target: target.to_owned(),
            rules,
            repeat_ms,
            instances: BTreeMap::new(),
            lookups: Default::default(),
            master: None,
            failover_at: None,
        }
    }

    /// Moves every alert on by one sample; returns the transitions to tell, with `silenced`
    /// set on those a silence keeps quiet.
    pub fn observe(&mut self, seen: &Observation, silences: &[Silence]) -> Vec<AlertEvent> {
        let now = seen.at_ms;
        let figures = self.figures(seen);
        let mut events = Vec::new();
        let rules: Vec<(AlertRule, RuleSettings)> = self
            .rules
            .iter()
            .map(|(rule, settings)| (*rule, *settings))
            .collect();
        for (rule, settings) in rules {
            if !settings.enabled {
                continue;
            }
            let silenced = silences.iter().any(|s| s.covers(&self.target, rule, now));
            let mut present: Vec<(String, Option<f64>)> = figures
                .iter()
                .filter(|(r, _, _)| *r == rule)
                .map(|(_, labels, value)| (labels.clone(), *value))
                .collect();
            // Instances whose labels this sample did not mention (a role with no 429s now).
            for (r, labels) in self.instances.keys() {
                if *r == rule && !present.iter().any(|(l, _)| l == labels) {
                    present.push((labels.clone(), figures_default(rule, seen)));
                }
            }
            for (labels, value) in present {
                let key = (rule, labels.clone());
                let instance = self.instances.get(&key).cloned();
                let (next, transition) = step(
                    rule,
                    &settings,
                    instance,
                    value,
                    now,
                    self.repeat_ms,
                    silenced,
                );
                if let Some(transition) = transition {
                    let since = next
                        .as_ref()
                        .or(self.instances.get(&key))
                        .map_or(now, |i| i.since_ms);
                    events.push(AlertEvent {
                        rule,
                        target: self.target.clone(),
                        labels: labels.clone(),
                        transition,
                        value: value.filter(|v| v.is_finite()),
                        threshold: settings.threshold,
                        at_ms: now,
                        since_ms: since,
                        silenced,
                    });
                }
                match next {
                    Some(instance) => {
                        self.instances.insert(key, instance);
                    }
                    None => {
                        self.instances.remove(&key);
                    }
                }
            }
        }
        events
    }

    /// Pending and firing alerts, in rule order.
    pub fn active(&self, silences: &[Silence], now_ms: i64) -> Vec<ActiveAlert> {
        self.instances
            .iter()
            .map(|((rule, labels), instance)| ActiveAlert {
                rule: *rule,
                target: self.target.clone(),
                labels: labels.clone(),
                phase: instance.phase,
                since_ms: instance.since_ms,
                value: instance.value.filter(|v| v.is_finite()),
                threshold: self.rules.get(rule).map_or(0.0, |s| s.threshold),
                silenced: silences
                    .iter()
                    .any(|s| s.covers(&self.target, *rule, now_ms)),
            })
            .collect()
    }

    /// Each rule's figure (and labels) in this sample; the hit-rate window moves on.
    fn figures(&mut self, seen: &Observation) -> Vec<(AlertRule, String, Option<f64>)> {
        let now = seen.at_ms;
        let mut figures = Vec::new();
        let hit_rate = self
            .rules
            .get(&AlertRule::HitRate)
            .copied()
            .unwrap_or_else(|| AlertRule::HitRate.defaults());
        if let Some((hits, misses)) = seen.lookups {
            self.lookups.push_back((now, hits, misses));
        }
        while self
            .lookups
            .front()
            .is_some_and(|(at, _, _)| now - at >= hit_rate.window_ms.max(1))
        {
            self.lookups.pop_front();
        }
        let (hits, misses) = self
            .lookups
            .iter()
            .fold((0.0, 0.0), |(h, m), (_, hits, misses)| {
                (h + hits, m + misses)
            });
        let seconds = hit_rate.window_ms as f64 / 1000.0;
        // Judged only over a full window of samples, and with enough traffic in it.
        let window_full = self
            .lookups
            .front()
            .is_some_and(|(at, _, _)| now - at >= hit_rate.window_ms * 3 / 4);
        let enough = seconds > 0.0 && (hits + misses) / seconds >= hit_rate.min_rate;
        let rate =
            (window_full && enough && hits + misses > 0.0).then(|| hits * 100.0 / (hits + misses));
        figures.push((
            AlertRule::HitRate,
            String::new(),
            if seen.down_for_ms > 0 { None } else { rate },
        ));

        figures.push((AlertRule::MemoryHigh, String::new(), seen.memory_percent));
        figures.push((
            AlertRule::MemoryCritical,
            String::new(),
            seen.memory_percent,
        ));
        figures.push((AlertRule::Evictions, String::new(), seen.evicted_per_sec));
        figures.push((
            AlertRule::RedisDown,
            String::new(),
            Some(seen.down_for_ms as f64 / 1000.0),
        ));

        if let Some(master) = &seen.master {
            if self.master.as_ref().is_some_and(|before| before != master) {
                self.failover_at = Some(now);
            }
            self.master = Some(master.clone());
        }
        let failover_window = self
            .rules
            .get(&AlertRule::Failover)
            .map_or(0, |s| s.window_ms);
        let failed_over = self
            .failover_at
            .is_some_and(|at| now - at < failover_window);
        figures.push((
            AlertRule::Failover,
            String::new(),
            Some(f64::from(u8::from(failed_over))),
        ));

        if let Some(per_role) = &seen.rejections_per_role {
            for (role, count) in per_role {
                figures.push((
                    AlertRule::RateLimited,
                    format!("role={role}"),
                    Some(*count as f64),
                ));
            }
        }
        figures.push((
            AlertRule::StuckCounters,
            String::new(),
            seen.counters_without_ttl.map(|count| count as f64),
        ));
        figures.push((
            AlertRule::SaveFailed,
            String::new(),
            seen.save_failed.map(|failed| f64::from(u8::from(failed))),
        ));
        figures.push((
            AlertRule::MemoryForecast,
            String::new(),
            seen.hours_until_full,
        ));
        figures
    }
}

/// The figure of an instance the sample did not list: a role with no rejections now had 0.
fn figures_default(rule: AlertRule, seen: &Observation) -> Option<f64> {
    match rule {
        AlertRule::RateLimited => seen.rejections_per_role.as_ref().map(|_| 0.0),
        _ => None,
    }
}

/// One alert's next state and what to tell, from its state and this sample's figure. `None`
/// as the next state: inactive. An unknown figure never fires nor resolves: a pending alert
/// is dropped, a firing one stays.
fn step(
    rule: AlertRule,
    settings: &RuleSettings,
    instance: Option<Instance>,
    value: Option<f64>,
    now: i64,
    repeat_ms: i64,
    silenced: bool,
) -> (Option<Instance>, Option<Transition>) {
    let fire = |since_ms: i64| {
        let instance = Instance {
            phase: AlertPhase::Firing,
            since_ms,
            value,
            notified_ms: Some(now),
            told: !silenced,
            recovering_since: None,
        };
        (Some(instance), Some(Transition::Fired))
    };
    match instance {
        None => match value {
            Some(v) if settings.breaches(rule, v) => {
                if settings.for_ms <= 0 {
                    fire(now)
                } else {
                    let pending = Instance {
                        phase: AlertPhase::Pending,
                        since_ms: now,
                        value,
                        notified_ms: None,
                        told: false,
                        recovering_since: None,
                    };
                    (Some(pending), None)
                }
            }
            _ => (None, None),
        },
        Some(pending) if pending.phase == AlertPhase::Pending => match value {
            Some(v) if settings.breaches(rule, v) => {
                if now - pending.since_ms >= settings.for_ms {
                    fire(now)
                } else {
                    (Some(Instance { value, ..pending }), None)
                }
            }
            _ => (None, None),
        },
        Some(mut firing) => {
            let Some(v) = value else {
                firing.recovering_since = None;
                return (Some(firing), None);
            };
            firing.value = value;
            if settings.recovered(rule, v) {
                let since = *firing.recovering_since.get_or_insert(now);
                if now - since >= settings.hold_ms {
                    let told = firing.told;
                    // A resolution of a firing nobody was told about is not news.
                    return (None, told.then_some(Transition::Resolved));
                }
                return (Some(firing), None);
            }
            firing.recovering_since = None;
            if silenced {
                return (Some(firing), None);
            }
            if !firing.told {
                // Its silence ended while it still fires: told now.
                firing.told = true;
                firing.notified_ms = Some(now);
                return (Some(firing), Some(Transition::Fired));
            }
            let due = repeat_ms > 0 && firing.notified_ms.is_some_and(|at| now - at >= repeat_ms);
            if due {
                firing.notified_ms = Some(now);
                return (Some(firing), Some(Transition::Repeated));
            }
            (Some(firing), None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1000;

    fn evaluator(rule: AlertRule, settings: RuleSettings) -> Evaluator {
        Evaluator::new("main", [(rule, settings)].into(), 3600 * S)
    }

    fn memory(at_ms: i64, percent: f64) -> Observation {
        Observation {
            at_ms,
            memory_percent: Some(percent),
            ..Default::default()
        }
    }

    fn transitions(events: &[AlertEvent]) -> Vec<Transition> {
        events.iter().map(|event| event.transition).collect()
    }

    #[test]
    fn an_alert_fires_only_after_its_pending_time_and_resolves_after_its_hold() {
        let settings = RuleSettings {
            for_ms: 10 * S,
            hold_ms: 5 * S,
            ..AlertRule::MemoryHigh.defaults()
        };
        let mut alerts = evaluator(AlertRule::MemoryHigh, settings);
        assert!(alerts.observe(&memory(0, 85.0), &[]).is_empty());
        assert_eq!(alerts.active(&[], 0)[0].phase, AlertPhase::Pending);
        assert!(alerts.observe(&memory(9 * S, 85.0), &[]).is_empty());
        let fired = alerts.observe(&memory(10 * S, 86.0), &[]);
        assert_eq!(transitions(&fired), [Transition::Fired]);
        assert_eq!(fired[0].value, Some(86.0));
        assert_eq!(fired[0].threshold, 80.0);
        // Back under the threshold but not under `resolve` (75): still firing.
        assert!(alerts.observe(&memory(11 * S, 78.0), &[]).is_empty());
        assert!(alerts.observe(&memory(30 * S, 78.0), &[]).is_empty());
        assert!(alerts.observe(&memory(31 * S, 70.0), &[]).is_empty());
        let resolved = alerts.observe(&memory(36 * S, 70.0), &[]);
        assert_eq!(transitions(&resolved), [Transition::Resolved]);
        assert_eq!(resolved[0].since_ms, 10 * S);
        assert!(alerts.active(&[], 36 * S).is_empty());
    }

    #[test]
    fn a_figure_flapping_around_the_threshold_sends_at_most_one_message() {
        let settings = RuleSettings {
            for_ms: 10 * S,
            hold_ms: 30 * S,
            ..AlertRule::MemoryHigh.defaults()
        };
        let mut alerts = evaluator(AlertRule::MemoryHigh, settings);
        let mut sent = Vec::new();
        // Below, above, below…: never 10 s in a row above 80, so never fires.
        for second in 0..120 {
            let percent = if second % 4 < 2 { 81.0 } else { 79.0 };
            sent.extend(alerts.observe(&memory(second * S, percent), &[]));
        }
        assert!(sent.is_empty(), "{sent:?}");
        // Past the threshold long enough, then flapping across it: the hysteresis holds it.
        for second in 120..140 {
            sent.extend(alerts.observe(&memory(second * S, 85.0), &[]));
        }
        for second in 140..400 {
            let percent = if second % 4 < 2 { 81.0 } else { 76.0 };
            sent.extend(alerts.observe(&memory(second * S, percent), &[]));
        }
        assert_eq!(transitions(&sent), [Transition::Fired]);
    }

    #[test]
    fn a_long_firing_alert_repeats_after_the_repeat_interval() {
        let mut alerts = Evaluator::new(
            "main",
            [(
                AlertRule::MemoryCritical,
                AlertRule::MemoryCritical.defaults(),
            )]
            .into(),
            60 * S,
        );
        let mut sent = Vec::new();
        for second in 0..=130 {
            sent.extend(alerts.observe(&memory(second * S, 99.0), &[]));
        }
        assert_eq!(
            transitions(&sent),
            [
                Transition::Fired,
                Transition::Repeated,
                Transition::Repeated
            ]
        );
    }

    #[test]
    fn a_silenced_alert_is_marked_and_told_when_its_silence_ends_while_it_still_fires() {
        let mut alerts = evaluator(
            AlertRule::MemoryCritical,
            AlertRule::MemoryCritical.defaults(),
        );
        let silence = Silence {
            target: "main".into(),
            rule: Some(AlertRule::MemoryCritical),
            until_ms: 10 * S,
            by: "root".into(),
        };
        let fired = alerts.observe(&memory(0, 99.0), std::slice::from_ref(&silence));
        assert_eq!(transitions(&fired), [Transition::Fired]);
        assert!(fired[0].silenced);
        assert!(
            alerts
                .observe(&memory(5 * S, 99.0), std::slice::from_ref(&silence))
                .is_empty()
        );
        let told = alerts.observe(&memory(10 * S, 99.0), std::slice::from_ref(&silence));
        assert_eq!(transitions(&told), [Transition::Fired]);
        assert!(!told[0].silenced);
    }

    #[test]
    fn a_resolution_of_a_firing_nobody_was_told_about_is_not_sent() {
        let mut alerts = evaluator(
            AlertRule::MemoryCritical,
            AlertRule::MemoryCritical.defaults(),
        );
        let silence = Silence {
            target: "main".into(),
            rule: None,
            until_ms: i64::MAX,
            by: "root".into(),
        };
        alerts.observe(&memory(0, 99.0), std::slice::from_ref(&silence));
        assert!(alerts.observe(&memory(S, 10.0), &[]).is_empty());
        assert!(alerts.observe(&memory(400 * S, 10.0), &[]).is_empty());
        assert!(alerts.active(&[], 400 * S).is_empty());
    }

    #[test]
    fn an_unknown_figure_drops_a_pending_alert_and_keeps_a_firing_one() {
        let settings = RuleSettings {
            for_ms: 10 * S,
            ..AlertRule::MemoryHigh.defaults()
        };
        let mut alerts = evaluator(AlertRule::MemoryHigh, settings);
        alerts.observe(&memory(0, 90.0), &[]);
        alerts.observe(
            &Observation {
                at_ms: S,
                ..Default::default()
            },
            &[],
        );
        assert!(alerts.active(&[], S).is_empty());
        alerts.observe(&memory(2 * S, 90.0), &[]);
        assert_eq!(
            transitions(&alerts.observe(&memory(12 * S, 90.0), &[])),
            [Transition::Fired]
        );
        alerts.observe(
            &Observation {
                at_ms: 13 * S,
                ..Default::default()
            },
            &[],
        );
        assert_eq!(alerts.active(&[], 13 * S)[0].phase, AlertPhase::Firing);
    }

    #[test]
    fn the_hit_rate_is_judged_over_its_window_and_only_with_enough_traffic() {
        let settings = RuleSettings {
            window_ms: 10 * S,
            for_ms: 0,
            hold_ms: 0,
            min_rate: 5.0,
            ..AlertRule::HitRate.defaults()
        };
        let mut alerts = evaluator(AlertRule::HitRate, settings);
        let sample = |at_ms, hits, misses| Observation {
            at_ms,
            lookups: Some((hits, misses)),
            ..Default::default()
        };
        // An idle night: 1 lookup per second, all misses. Too little to judge.
        for second in 0..30 {
            assert!(
                alerts
                    .observe(&sample(second * S, 0.0, 1.0), &[])
                    .is_empty()
            );
        }
        // Busy and bad: 50 % over the window.
        let mut sent = Vec::new();
        for second in 30..45 {
            sent.extend(alerts.observe(&sample(second * S, 50.0, 50.0), &[]));
        }
        assert_eq!(transitions(&sent), [Transition::Fired]);
        assert!(sent[0].value.is_some_and(|v| v < 70.0));
        // Recovered: 90 % once the window holds only good samples.
        sent.clear();
        for second in 45..60 {
            sent.extend(alerts.observe(&sample(second * S, 90.0, 10.0), &[]));
        }
        assert_eq!(transitions(&sent), [Transition::Resolved]);
    }

    #[test]
    fn each_role_over_its_429_threshold_is_its_own_alert_and_resolves_when_quiet() {
        let settings = RuleSettings {
            hold_ms: 0,
            ..AlertRule::RateLimited.defaults()
        };
        let mut alerts = evaluator(AlertRule::RateLimited, settings);
        let sample = |at_ms, per_role: Vec<(&str, u64)>| Observation {
            at_ms,
            rejections_per_role: Some(
                per_role
                    .into_iter()
                    .map(|(role, n)| (role.to_owned(), n))
                    .collect(),
            ),
            ..Default::default()
        };
        let fired = alerts.observe(&sample(0, vec![("employee", 150), ("owner", 10)]), &[]);
        assert_eq!(fired.len(), 1);
        assert_eq!(fired[0].labels, "role=employee");
        assert_eq!(fired[0].key(), "rate_limited{role=employee}");
        let resolved = alerts.observe(&sample(S, vec![("owner", 3)]), &[]);
        assert_eq!(transitions(&resolved), [Transition::Resolved]);
        assert_eq!(resolved[0].labels, "role=employee");
    }

    #[test]
    fn a_failover_fires_once_and_resolves_after_its_window() {
        let settings = RuleSettings {
            window_ms: 10 * S,
            ..AlertRule::Failover.defaults()
        };
        let mut alerts = evaluator(AlertRule::Failover, settings);
        let sample = |at_ms, master: &str| Observation {
            at_ms,
            master: Some(master.to_owned()),
            ..Default::default()
        };
        assert!(alerts.observe(&sample(0, "10.0.0.1:6379"), &[]).is_empty());
        let mut sent = Vec::new();
        for second in 1..30 {
            sent.extend(alerts.observe(&sample(second * S, "10.0.0.2:6379"), &[]));
        }
        assert_eq!(
            transitions(&sent),
            [Transition::Fired, Transition::Resolved]
        );
        assert_eq!(sent[1].at_ms, 11 * S);
    }

    #[test]
    fn a_switched_off_rule_never_fires() {
        let settings = RuleSettings {
            enabled: false,
            ..AlertRule::MemoryCritical.defaults()
        };
        let mut alerts = evaluator(AlertRule::MemoryCritical, settings);
        assert!(alerts.observe(&memory(0, 100.0), &[]).is_empty());
        assert!(alerts.active(&[], 0).is_empty());
    }
}
