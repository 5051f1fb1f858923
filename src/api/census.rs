//! Server functions of the key census.

use leptos::prelude::*;

use crate::api::encoding::Json;
use leptos::server_fn::codec::GetUrl;

use crate::error::AppError;
use crate::model::census::CensusState;

/// `GET /api/census`: the running census' progress (if any) and the last result.
#[server(prefix = "/api", endpoint = "census", input = GetUrl, output = Json)]
pub async fn get_census() -> Result<CensusState, AppError> {
    let state = crate::server::state::app_state()?;
    Ok(state.census.state())
}

/// `POST /api/census/start`: starts a census now; 409 while one is running.
#[server(prefix = "/api", endpoint = "census/start", output = Json)]
pub async fn start_census() -> Result<CensusState, AppError> {
    let (state, _caller) = crate::server::state::app_state_to_act()?;
    state.census.start().await.map_err(AppError::from)?;
    Ok(state.census.state())
}

/// `POST /api/census/start-full`: starts a census that inspects every key (exact figures and
/// biggest keys), whatever `CACHEPANEL_CENSUS_SAMPLE_EVERY` says; 409 while one is running.
/// The diagnostics section posts to it as a plain form (the server renders that section).
#[server(prefix = "/api", endpoint = "census/start-full", output = Json)]
pub async fn start_full_census() -> Result<CensusState, AppError> {
    let (state, _caller) = crate::server::state::app_state_to_act()?;
    state.census.start_full().await.map_err(AppError::from)?;
    Ok(state.census.state())
}

/// `POST /api/census/cancel`: stops the running census after its current page (on another
/// replica: at its next lease renewal).
#[server(prefix = "/api", endpoint = "census/cancel", output = Json)]
pub async fn cancel_census() -> Result<bool, AppError> {
    let (state, _caller) = crate::server::state::app_state_to_act()?;
    state
        .census
        .cancel()
        .await
        .map_err(|failure| AppError::RedisUnavailable {
            reason: failure.reason,
        })
}
