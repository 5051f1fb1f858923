//! Server functions of the live stats: the latest snapshot, the history and the commands.

use leptos::prelude::*;

use crate::api::encoding::Json;
use leptos::server_fn::codec::GetUrl;

use crate::error::AppError;
use crate::model::commands::CommandsView;
use crate::model::diagnostics::DiagnosticsView;
use crate::model::live::{HistoryRange, LiveSnapshot, Point};

/// `GET /api/live/snapshot`: the sampler's latest snapshot (no Redis command of its own).
#[server(prefix = "/api", endpoint = "live/snapshot", input = GetUrl, output = Json)]
pub async fn get_live_snapshot() -> Result<LiveSnapshot, AppError> {
    let state = crate::server::state::app_state()?;
    Ok((*state.sampler.latest()).clone())
}

/// `GET /api/history?range=15m|1h|6h|24h`: chart points of the range, oldest first.
#[server(prefix = "/api", endpoint = "history", input = GetUrl, output = Json)]
pub async fn get_history(range: HistoryRange) -> Result<Vec<Point>, AppError> {
    let state = crate::server::state::app_state()?;
    Ok(state.sampler.history(range))
}

/// `GET /api/commands?range=15m|1h|6h|24h`: what Redis spent its command time on over the
/// range (shorter while cachepanel has watched less long, or since Redis' counters were
/// reset), cachepanel's own share estimated apart. From the sampler's kept readings: no Redis
/// command. Empty (`window_ms` 0) until two readings exist.
#[server(prefix = "/api", endpoint = "commands", input = GetUrl, output = Json)]
pub async fn get_commands(range: HistoryRange) -> Result<CommandsView, AppError> {
    let state = crate::server::state::app_state()?;
    Ok(state.sampler.commands(range).unwrap_or_default())
}

/// `GET /api/diagnostics`: the slow log (newest entries without values, the last hour's
/// repeated shapes), the client list grouped by name and address, persistence health and the
/// latency monitor, as the sampler last read them, and the last census' biggest keys: no Redis
/// command.
#[server(prefix = "/api", endpoint = "diagnostics", input = GetUrl, output = Json)]
pub async fn get_diagnostics() -> Result<DiagnosticsView, AppError> {
    let state = crate::server::state::app_state()?;
    let mut view = state.sampler.diagnostics();
    view.biggest_keys = state.census.biggest_keys();
    Ok(view)
}
