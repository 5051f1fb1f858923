//! `AppState`: what every handler and server function shares.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use leptos::prelude::use_context;
use leptos_axum::ResponseOptions;

use crate::error::AppError;
use crate::server::config::Config;
use crate::server::redis::RedisTarget;

#[derive(Clone, FromRef)]
pub struct AppState {
    pub config: Arc<Config>,
    pub redis: RedisTarget,
    pub leptos_options: LeptosOptions,
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

/// Sets the HTTP status of the current response from an error and hands the error back, so a
/// server function can `return Err(respond(error))`.
pub fn respond(error: AppError) -> AppError {
    if let Some(options) = use_context::<ResponseOptions>() {
        let status = axum::http::StatusCode::from_u16(error.status_code())
            .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
        options.set_status(status);
    }
    error
}
