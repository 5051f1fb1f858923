//! Server function of the lifetime figures.

use leptos::prelude::*;

use crate::api::encoding::Json;
use leptos::server_fn::codec::GetUrl;

use crate::error::AppError;
use crate::model::StatsReport;

/// `GET /api/stats`: hits, misses, memory and key count of the configured Redis as the sampler
/// last read them (`read_at`), or why they cannot be read right now. No Redis command.
#[server(prefix = "/api", endpoint = "stats", input = GetUrl, output = Json)]
pub async fn get_stats() -> Result<StatsReport, AppError> {
    let state = crate::server::state::app_state()?;
    let bound = state.redis.operation_timeout() * 2;
    Ok(state.sampler.stats_report(bound).await)
}
