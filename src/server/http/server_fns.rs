//! `/api/{*server_fn}`: runs a server function with the selected target's state, and gives
//! every API error its proper status.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use leptos::prelude::provide_context;

use crate::error::AppError;
use crate::server::http::{body, state_for};
use crate::server::security::auth;
use crate::server::state::AppState;

/// Runs a server function. Its errors arrive as 500 with an `AppError` JSON body; the status
/// is corrected here from the error itself, so every API error has its proper code.
pub async fn server_fn_handler(State(state): State<AppState>, request: Request<Body>) -> Response {
    let state = match state_for(&state, &request) {
        Ok(state) => state,
        Err(refusal) => return refusal.into_response(),
    };
    let caller = request.extensions().get::<auth::Caller>().cloned();
    let response = leptos_axum::handle_server_fns_with_context(
        move || {
            provide_context(state.clone());
            if let Some(caller) = caller.clone() {
                provide_context(caller);
            }
        },
        request,
    )
    .await
    .into_response();
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, body::MAX_REQUEST_BODY_BYTES)
        .await
        .unwrap_or_default();
    if let Ok(error) = serde_json::from_slice::<AppError>(&bytes) {
        parts.status = StatusCode::from_u16(error.status_code()).unwrap_or(parts.status);
        parts.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    Response::from_parts(parts, Body::from(bytes))
}
