//! Server functions of the alerts: what fires, what happened, what is silenced, and the
//! silences themselves (full-access roles only, audited).

use leptos::prelude::*;

use crate::api::encoding::Json;
use leptos::server_fn::codec::GetUrl;

use crate::error::AppError;
use crate::model::alerts::{AlertsView, Silence};

/// `GET /api/alerts`: the target's pending and firing alerts, the recent transitions (newest
/// first), the silences and each delivery channel's outcome. From memory: no Redis command.
#[server(prefix = "/api", endpoint = "alerts", input = GetUrl, output = Json)]
pub async fn get_alerts() -> Result<AlertsView, AppError> {
    let state = crate::server::state::app_state()?;
    Ok(state.alerts.view(state.redis.name()))
}

/// `POST /api/alerts/silence` (`rule`: a rule name or empty for every rule, `minutes`:
/// 1–10080): keeps the target's rule quiet for that long.
#[server(prefix = "/api", endpoint = "alerts/silence", output = Json)]
pub async fn silence_alert(rule: String, minutes: u64) -> Result<Silence, AppError> {
    let (state, caller) = crate::server::state::app_state_to_act()?;
    let target = state.redis.name();
    let audit = state.flush.audit();
    crate::server::alerts::silence(
        &state.alerts,
        audit,
        target,
        &caller.actor(),
        &rule,
        minutes,
    )
    .await
}

/// `POST /api/alerts/unsilence` (`rule`, as silenced): ends a silence; whether there was one.
#[server(prefix = "/api", endpoint = "alerts/unsilence", output = Json)]
pub async fn unsilence_alert(rule: String) -> Result<bool, AppError> {
    let (state, caller) = crate::server::state::app_state_to_act()?;
    let target = state.redis.name();
    let audit = state.flush.audit();
    crate::server::alerts::unsilence(&state.alerts, audit, target, &caller.actor(), &rule).await
}
