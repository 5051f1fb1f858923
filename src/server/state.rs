//! `AppState`: what every handler and server function shares.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use leptos::prelude::use_context;

use crate::error::AppError;
use crate::server::audit::AuditLog;
use crate::server::auth::Authenticator;
use crate::server::census::CensusManager;
use crate::server::config::Config;
use crate::server::config::RedisUrl;
use crate::server::flush::FlushManager;
use crate::server::rate_limit::Limiter;
use crate::server::redis::{RedisFailure, RedisTarget, Timeouts};
use crate::server::sampler::{self, SamplerHandle, SamplerSettings};

#[derive(Clone, FromRef)]
pub struct AppState {
    pub config: Arc<Config>,
    pub redis: RedisTarget,
    pub sampler: SamplerHandle,
    pub census: Arc<CensusManager>,
    pub flush: Arc<FlushManager>,
    pub limiter: Limiter,
    pub auth: Arc<Authenticator>,
    pub leptos_options: LeptosOptions,
}

/// The background tasks of a state (sampler, census schedule); aborted when dropped.
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
    ) -> Result<(Self, BackgroundTasks), RedisFailure> {
        let timeouts = Timeouts {
            connect: config.redis_connect_timeout,
            response: config.redis_response_timeout,
        };
        let redis = match &config.sentinel {
            Some(settings) => {
                RedisTarget::with_sentinel("cache", redis_url, timeouts, settings.clone())
            }
            None => RedisTarget::new("cache", redis_url, timeouts)?,
        };
        let (sampler, task) = sampler::spawn(
            redis.clone(),
            SamplerSettings {
                interval: config.sample_interval,
                thresholds: config.thresholds,
                expected: config.expected.clone(),
            },
        );
        let census = CensusManager::new(redis.clone(), config.census.clone());
        let schedule = tokio::spawn(census.clone().schedule());
        let audit = AuditLog::new(redis.clone(), config.audit.clone());
        let flush = FlushManager::new(
            redis.clone(),
            config.census.groups.clone(),
            config.flush.clone(),
            audit,
        );
        let limiter = Limiter::new(
            redis.clone(),
            config.rate_limits.clone(),
            config.rate_limit_fail_open,
        );
        let auth = Arc::new(Authenticator::new(&config.auth));
        let state = Self {
            auth,
            leptos_options: crate::server::leptos_options(&config),
            config: Arc::new(config),
            redis,
            sampler,
            census,
            flush,
            limiter,
        };
        Ok((state, BackgroundTasks(vec![task, schedule])))
    }
}

/// The state inside a server function (provided as context by both the page renderer and the
/// API handler).
pub fn app_state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| {
        tracing::error!("AppState missing from the server function context");
        AppError::Internal {
            reference: "state".into(),
        }
    })
}
