use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use crate::error::AppError;
use crate::model::StatsReport;

/// `GET /api/stats`: hits, misses, memory and key count of the configured Redis, or why they
/// cannot be read right now.
#[server(prefix = "/api", endpoint = "stats", input = GetUrl)]
pub async fn get_stats() -> Result<StatsReport, AppError> {
    let state = crate::server::state::app_state()?;
    Ok(crate::server::stats::stats_report(&state.redis).await)
}
