//! Server functions of the governed flush and the audit trail.

use leptos::prelude::*;

use crate::api::encoding::Json;
use leptos::server_fn::codec::GetUrl;

use crate::error::AppError;
use crate::model::flush::{AuditEntry, FlushPreview, FlushState};

/// `GET /api/flush`: whether flushing is enabled, the running flush and the last result.
#[server(prefix = "/api", endpoint = "flush", input = GetUrl, output = Json)]
pub async fn get_flush() -> Result<FlushState, AppError> {
    let state = crate::server::state::app_state()?;
    Ok(state.flush.state())
}

/// `POST /api/flush/preview` (`prefix`): step one, the exact count under a literal prefix.
#[server(prefix = "/api", endpoint = "flush/preview", output = Json)]
pub async fn preview_flush(prefix: String) -> Result<FlushPreview, AppError> {
    let (state, caller) = crate::server::state::app_state_to_act()?;
    let actor = caller.actor();
    state
        .flush
        .preview(&prefix, &actor)
        .await
        .map_err(AppError::from)
}

/// `POST /api/flush/start` (`prefix` typed again, `preview_id`): step two, starts the flush.
#[server(prefix = "/api", endpoint = "flush/start", output = Json)]
pub async fn flush_prefix(prefix: String, preview_id: String) -> Result<FlushState, AppError> {
    let (state, caller) = crate::server::state::app_state_to_act()?;
    let actor = caller.actor();
    state
        .flush
        .flush(&prefix, &preview_id, &actor)
        .await
        .map_err(AppError::from)
}

/// `POST /api/flush/cancel`: stops the running flush within one batch; a flush another
/// replica runs stops at its next lease renewal (about a second).
#[server(prefix = "/api", endpoint = "flush/cancel", output = Json)]
pub async fn cancel_flush() -> Result<bool, AppError> {
    let (state, _caller) = crate::server::state::app_state_to_act()?;
    state.flush.cancel().await.map_err(AppError::from)
}

/// How many audit entries the page lists.
pub const AUDIT_ENTRIES_SHOWN: usize = 20;

/// `GET /api/audit`: the newest `AUDIT_ENTRIES_SHOWN` audit entries, newest first.
#[server(prefix = "/api", endpoint = "audit", input = GetUrl, output = Json)]
pub async fn get_audit() -> Result<Vec<AuditEntry>, AppError> {
    let state = crate::server::state::app_state()?;
    state
        .flush
        .audit()
        .recent(AUDIT_ENTRIES_SHOWN)
        .await
        .map_err(AppError::from)
}
