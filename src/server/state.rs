//! `AppState`: what every handler and server function shares.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use leptos::prelude::use_context;

use crate::error::AppError;
use crate::server::alerts::Alerts;
use crate::server::audit::AuditLog;
use crate::server::census::CensusManager;
use crate::server::config::{Config, RedisUrl};
use crate::server::flush::FlushManager;
use crate::server::job::JobLeases;
use crate::server::live::sampler::{self, SamplerHandle};
use crate::server::rate_limit::Limiter;
use crate::server::rate_limit::counters::CountersReader;
use crate::server::redis::RedisTarget;
use crate::server::redis::settings::TargetError;
use crate::server::security::auth::Authenticator;
use crate::server::site::SiteAssets;

/// One watched Redis with its own sampler, history, census and flush.
#[derive(Clone)]
pub struct TargetState {
    pub name: String,
    pub redis: RedisTarget,
    pub sampler: SamplerHandle,
    pub census: Arc<CensusManager>,
    pub flush: Arc<FlushManager>,
    pub leases: JobLeases,
}

/// The state handlers see. `redis`, `sampler`, `census` and `flush` belong to the target the
/// request selected (the first configured one unless it named another); the limiter always
/// works on the first target, where the production app keeps its counters.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub config: Arc<Config>,
    pub redis: RedisTarget,
    pub sampler: SamplerHandle,
    pub census: Arc<CensusManager>,
    pub flush: Arc<FlushManager>,
    pub limiter: Limiter,
    /// The shared reader of the rate-limit counters (on the first target).
    pub counters: Arc<CountersReader>,
    pub auth: Arc<Authenticator>,
    pub leptos_options: LeptosOptions,
    /// The built client's files (hashed names, the stylesheet) as found at start.
    pub site: Arc<SiteAssets>,
    pub targets: Arc<Vec<TargetState>>,
    /// Every target's alerts, their silences and their delivery.
    pub alerts: Arc<Alerts>,
    /// Becomes `true` when the process shuts down: event streams end, flushes stop.
    pub shutdown: Arc<tokio::sync::watch::Sender<bool>>,
}

/// The background tasks of a state (samplers, census schedules, the counters reader); aborted
/// when dropped.
pub struct BackgroundTasks(Vec<tokio::task::JoinHandle<()>>);

impl Drop for BackgroundTasks {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

impl AppState {
    /// Connects (lazily) to the configured Redis and starts its sampler and census schedule;
    /// they run until the returned tasks are dropped.
    pub fn start(
        config: Config,
        redis_url: &RedisUrl,
    ) -> Result<(Self, BackgroundTasks), TargetError> {
        let redises = config.redis.connect(redis_url)?;
        let mut tasks = Vec::new();
        let mut targets = Vec::new();
        for redis in redises {
            let (sampler, task) = sampler::spawn(redis.clone(), config.live.clone());
            let leases = JobLeases::new(redis.clone(), config.jobs.clone());
            tasks.push(tokio::spawn(leases.clone().announce_presence()));
            let census = CensusManager::new(redis.clone(), config.census.clone(), leases.clone());
            tasks.push(task);
            tasks.push(tokio::spawn(census.clone().schedule()));
            let audit = AuditLog::new(redis.clone(), config.audit.clone());
            let mut flush_settings = config.flush.clone();
            if !config.redis.is_cache_target(redis.name()) {
                // Only caches may be flushed; a Celery or bot-state Redis is for watching.
                flush_settings.policy = crate::model::flush::FlushPolicy::NotACache;
            }
            let flush = FlushManager::new(
                redis.clone(),
                config.census.groups.clone(),
                flush_settings,
                audit,
                leases.clone(),
            );
            // Another replica's census or flush shows here too (only while others are there).
            let follow_every = config.live.interval;
            tasks.push(tokio::spawn(
                census.clone().follow_other_replicas(follow_every),
            ));
            tasks.push(tokio::spawn(
                flush.clone().follow_other_replicas(follow_every),
            ));
            targets.push(TargetState {
                name: redis.name().to_owned(),
                redis,
                sampler,
                census,
                flush,
                leases,
            });
        }
        let Some(first) = targets.first().cloned() else {
            return Err(TargetError {
                variable: "CACHEPANEL_TARGET_NAME",
                target: config.redis.target_name.clone(),
                reason: "no target configured".into(),
            });
        };
        let (redis, sampler, census, flush) = (
            first.redis.clone(),
            first.sampler.clone(),
            first.census.clone(),
            first.flush.clone(),
        );
        let rate_limit = &config.rate_limit;
        let limiter = Limiter::new(
            redis.clone(),
            rate_limit.limits.clone(),
            rate_limit.fail_open,
        );
        let counters = CountersReader::new(
            redis.clone(),
            JobLeases::new(redis.clone(), config.jobs.clone()),
            rate_limit.limits.clone(),
            rate_limit.role_lookup.clone(),
            rate_limit.scan_every,
        );
        tasks.push(tokio::spawn(counters.clone().run()));
        let (alerts, alert_tasks) = Alerts::start(config.alerts.clone());
        tasks.extend(alert_tasks);
        for (index, target) in targets.iter().enumerate() {
            // The counters live on the first target: its alerts judge the 429s too.
            let counters = (index == 0).then(|| counters.clone());
            tasks.push(tokio::spawn(alerts.clone().watch(
                target.redis.clone(),
                target.sampler.clone(),
                counters,
                target.leases.clone(),
            )));
        }
        let auth = Arc::new(Authenticator::new(&config.auth));
        let site = SiteAssets::find(&config.site_root);
        let state = Self {
            auth,
            leptos_options: site.leptos_options(config.addr),
            site: Arc::new(site),
            config: Arc::new(config),
            redis,
            sampler,
            census,
            flush,
            limiter,
            counters,
            targets: Arc::new(targets),
            alerts,
            shutdown: Arc::new(tokio::sync::watch::Sender::new(false)),
        };
        Ok((state, BackgroundTasks(tasks)))
    }
}

impl AppState {
    /// This state with `name`'s Redis, sampler, census and flush; `None` for an unknown name.
    pub fn for_target(&self, name: &str) -> Option<AppState> {
        let target = self.targets.iter().find(|target| target.name == name)?;
        Some(AppState {
            redis: target.redis.clone(),
            sampler: target.sampler.clone(),
            census: target.census.clone(),
            flush: target.flush.clone(),
            ..self.clone()
        })
    }

    /// The first target: where the production app keeps its rate-limit counters.
    pub fn primary(&self) -> Option<&TargetState> {
        self.targets.first()
    }

    pub fn target_names(&self) -> Vec<String> {
        self.targets
            .iter()
            .map(|target| target.name.clone())
            .collect()
    }
}

/// The state inside a server function (provided as context by both the page renderer and the
/// API handler), for a signed-in caller. The authentication middleware already refused anyone
/// else; this keeps a server function safe wherever it is mounted.
pub fn app_state() -> Result<AppState, AppError> {
    crate::server::security::auth::caller()?;
    state_from_context()
}

/// `app_state` for a server function that changes something: only roles with full access.
pub fn app_state_to_act() -> Result<(AppState, crate::server::security::auth::Caller), AppError> {
    let caller = crate::server::security::auth::caller()?;
    if caller.access != crate::server::security::auth::Access::Full {
        return Err(AppError::Forbidden);
    }
    Ok((state_from_context()?, caller))
}

fn state_from_context() -> Result<AppState, AppError> {
    use_context::<AppState>()
        .ok_or_else(|| AppError::internal("AppState missing from the server function context"))
}
