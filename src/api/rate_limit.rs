//! Server functions of the rate-limit counters: the shared view, a shared refresh, a reset.

use leptos::prelude::*;

use crate::api::encoding::Json;
use leptos::server_fn::codec::GetUrl;

use crate::error::AppError;
use crate::model::rate_limit::CountersReport;

/// `GET /api/rate-limits`: active counters (top 50 by count), over / near the limit, counters
/// without TTL, a dominant IP, and 429s per minute per role, as the shared reader last walked
/// them (`age_ms` says how long ago). Reads memory only: no Redis command.
#[server(prefix = "/api", endpoint = "rate-limits", input = GetUrl, output = Json)]
pub async fn get_rate_limits() -> Result<CountersReport, AppError> {
    let state = crate::server::state::app_state()?;
    state.counters.current().await.map_err(AppError::from)
}

/// `POST /api/rate-limits/refresh`: asks the shared reader for a fresh walk and answers with
/// it. Calls while a walk runs, or within 2 s after one, share that walk.
#[server(prefix = "/api", endpoint = "rate-limits/refresh", output = Json)]
pub async fn refresh_rate_limits() -> Result<CountersReport, AppError> {
    let state = crate::server::state::app_state()?;
    state.counters.refresh().await.map_err(AppError::from)
}

/// `POST /api/rate-limits/reset` (`key`): deletes one counter; same rules and audit as flush.
#[server(prefix = "/api", endpoint = "rate-limits/reset", output = Json)]
pub async fn reset_rate_limit(key: String) -> Result<bool, AppError> {
    let (state, caller) = crate::server::state::app_state_to_act()?;
    let flush = state
        .primary()
        .map_or(&state.flush, |primary| &primary.flush);
    let removed = flush
        .reset_rate_limit(&key, &caller.actor())
        .await
        .map_err(AppError::from)?;
    state.counters.forget(&key);
    Ok(removed)
}
