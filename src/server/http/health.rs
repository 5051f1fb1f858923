//! `/healthz`: liveness, with Redis reachability in the body.

use axum::extract::State;
use axum::response::IntoResponse;

use crate::server::redis::RedisTarget;

/// Liveness: always 200 while the app runs; Redis reachability is reported in the body.
pub async fn healthz(State(redis): State<RedisTarget>) -> impl IntoResponse {
    let redis_status = match redis.ping().await {
        Ok(latency) => serde_json::json!({
            "reachable": true,
            "latency_ms": (latency.as_secs_f64() * 1000.0 * 100.0).round() / 100.0,
        }),
        Err(failure) => serde_json::json!({ "reachable": false, "reason": failure.reason }),
    };
    axum::Json(serde_json::json!({ "status": "ok", "redis": redis_status }))
}
