use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use crate::error::AppError;
use crate::model::rate_limit::CountersReport;

/// `GET /api/rate-limits`: active counters (top 50 by count), over / near the limit, counters
/// without TTL, a dominant IP, and 429s per minute per role.
#[server(prefix = "/api", endpoint = "rate-limits", input = GetUrl)]
pub async fn get_rate_limits() -> Result<CountersReport, AppError> {
    let state = crate::server::state::app_state()?;
    // Counters live on the first target, whichever target the page shows.
    let redis = state
        .primary()
        .map_or(&state.redis, |primary| &primary.redis);
    crate::server::rate_limit::read_counters(
        redis,
        state.limiter.limits(),
        &state.config.role_lookup,
        50,
    )
    .await
    .map_err(|failure| AppError::RedisUnavailable {
        reason: failure.reason,
    })
}

/// `POST /api/rate-limits/reset` (`key`): deletes one counter; same rules and audit as flush.
#[server(prefix = "/api", endpoint = "rate-limits/reset")]
pub async fn reset_rate_limit(key: String) -> Result<bool, AppError> {
    let (state, caller) = crate::server::state::app_state_to_act()?;
    let flush = state
        .primary()
        .map_or(&state.flush, |primary| &primary.flush);
    flush
        .reset_rate_limit(&key, &caller.actor())
        .await
        .map_err(AppError::from)
}
