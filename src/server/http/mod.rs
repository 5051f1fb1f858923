//! The HTTP surface: the router and its layer order, target selection by path, and the
//! handlers of the page, the server functions, the event stream and health.

pub mod body;
pub mod dev_login;
pub mod errors;
pub mod events;
pub mod health;
pub mod page;
pub mod server_fns;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use tower_http::CompressionLevel;
use tower_http::compression::CompressionLayer;
use tower_http::services::ServeDir;
use tower_http::trace::TraceLayer;

use crate::error::AppError;
use crate::server::config::Config;
use crate::server::lang::query_parameter;
use crate::server::security::{auth, web};
use crate::server::state::AppState;
use crate::server::{metrics, rate_limit};
use page::STATS_PAGE_PATH;

/// Hashed client files never change under their name: a year, and no revalidation.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// brotli and gzip level for responses compressed per request (pages, JSON): level 4 keeps
/// a 150 KB page well under a millisecond of CPU while taking most of the gain; the client
/// files are compressed at build time at the highest level instead.
const RESPONSE_COMPRESSION_LEVEL: i32 = 4;

/// The whole HTTP surface. Served at the root and, when a base path is configured, under it
/// too, so it works behind a proxy that strips the prefix and behind one that keeps it.
pub fn router(state: AppState) -> Router {
    // Leptos spawns resource futures on a global executor; leptos_routes() would set it up, but
    // the page is routed by hand here. A second call (tests build several routers) is a no-op.
    let _ = any_spawner::Executor::init_tokio();
    crate::error::set_internal_reporter(errors::report_internal);
    let site_root = state.config.site_root.clone();
    let hashed_assets = state.site.hashed();
    let base_path = state.config.base_path.clone();
    // Pages, server functions, the event stream and the API: same-origin check for anything
    // mutating, then authentication, then the rate limit of the caller's role (in that order:
    // route layers added later run first). Health checks and static assets are public.
    let pages_and_api = Router::new()
        .route("/", get(redirect_to_stats))
        .route(STATS_PAGE_PATH, get(page::stats_page))
        .route(
            "/api/{*server_fn}",
            get(server_fns::server_fn_handler).post(server_fns::server_fn_handler),
        )
        .route("/api/live/events", get(events::events));
    let limited = if state.config.rate_limit.enabled {
        let layer = axum::middleware::from_fn_with_state(state.clone(), rate_limit::limit_requests);
        pages_and_api.route_layer(layer)
    } else {
        pages_and_api
    };
    // Each middleware gets the part of the state it needs, not the whole.
    let gate = Arc::new(auth::Gate {
        authenticator: state.auth.clone(),
        login_url: state.config.auth.login_url.clone(),
        base_path: state.config.base_path.clone(),
    });
    let web_settings = Arc::new(state.config.web.clone());
    let protected = limited
        .route_layer(axum::middleware::from_fn_with_state(
            gate,
            auth::require_caller,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            web_settings.clone(),
            web::same_origin_only,
        ));
    let public = if state.config.auth.dev_login {
        Router::new().route(
            crate::server::security::settings::DEV_LOGIN_PATH,
            get(dev_login::page).post(dev_login::sign_in).route_layer(
                axum::middleware::from_fn_with_state(web_settings.clone(), web::same_origin_only),
            ),
        )
    } else {
        Router::new()
    };
    let config = state.config.clone();
    let routes = protected
        .merge(public)
        .route("/healthz", get(health::healthz))
        .nest_service("/pkg", client_files(&site_root, hashed_assets))
        .with_state(state.clone());
    let routes = if base_path.is_empty() {
        routes
    } else {
        Router::new()
            .route(&format!("{base_path}/"), get(redirect_to_stats))
            .with_state(state.clone())
            .nest(&base_path, routes.clone())
            .merge(routes)
    };
    // For scrapers on the internal address only: never under the prefix the public proxy
    // forwards.
    let routes = routes.route("/metrics", get(metrics::metrics).with_state(state));
    let app = routes
        .fallback_service(ServeDir::new(site_root))
        .layer(axum::middleware::from_fn(body::bounded_body))
        .layer(axum::middleware::from_fn_with_state(
            web_settings,
            web::security_headers,
        ))
        // Pages and JSON compressed per request; the event stream (text/event-stream) and
        // responses that already carry an encoding (the precompressed client files) are not.
        .layer(
            CompressionLayer::new()
                .br(true)
                .gzip(true)
                .quality(CompressionLevel::Precise(RESPONSE_COMPRESSION_LEVEL)),
        )
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_response(log_response),
        );
    // `/targets/{name}/…` is rewritten before routing (a Router's own layers run after it).
    let selecting = tower::Layer::layer(
        &axum::middleware::from_fn_with_state(config, select_target),
        app,
    );
    Router::new().fallback_service(selecting)
}

/// The built client under `pkg/`: the precompressed `.br` or `.gz` twin when the browser
/// accepts it, cached forever when the names carry content hashes, revalidated otherwise.
fn client_files(site_root: &std::path::Path, hashed: bool) -> Router {
    let files = ServeDir::new(site_root.join(crate::server::site::PKG_DIR))
        .precompressed_br()
        .precompressed_gzip();
    Router::new()
        .fallback_service(files)
        .layer(axum::middleware::from_fn(move |request, next| {
            client_file_headers(hashed, request, next)
        }))
}

async fn client_file_headers(hashed: bool, request: Request<Body>, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    // The body differs with Accept-Encoding (which twin was sent): caches must key on it.
    headers.append(header::VARY, HeaderValue::from_static("accept-encoding"));
    let cache = if hashed { IMMUTABLE } else { "no-cache" };
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

/// A span per request with its method and route (the matched pattern, not the raw path:
/// bounded, and free of ids or query strings).
fn request_span(request: &Request<Body>) -> tracing::Span {
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or("(unmatched)", axum::extract::MatchedPath::as_str);
    tracing::info_span!("request", method = %request.method(), route = %route)
}

fn log_response(response: &Response, latency: std::time::Duration, _span: &tracing::Span) {
    tracing::info!(
        status = response.status().as_u16(),
        latency_ms = latency.as_secs_f64() * 1000.0,
        "response"
    );
}

/// The Redis target a request asked for with a `/targets/{name}` path prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SelectedTarget(pub String);

/// Path segment that selects a target other than the first for server functions and the
/// event stream: `{base}/targets/{name}/api/…`.
pub const TARGETS_SEGMENT: &str = "/targets/";

/// Moves `/targets/{name}` out of the path into a `SelectedTarget` extension.
async fn select_target(
    State(config): State<Arc<Config>>,
    mut request: Request<Body>,
    next: axum::middleware::Next,
) -> Response {
    let path = request.uri().path().to_owned();
    let (base, rest) = match path.strip_prefix(config.base_path.as_str()) {
        Some(rest) if !config.base_path.is_empty() && rest.starts_with(TARGETS_SEGMENT) => {
            (config.base_path.as_str(), rest)
        }
        _ => ("", path.as_str()),
    };
    if let Some(after) = rest.strip_prefix(TARGETS_SEGMENT)
        && let Some((name, remainder)) = after.split_once('/')
    {
        let query = request
            .uri()
            .query()
            .map(|q| format!("?{q}"))
            .unwrap_or_default();
        if let Ok(uri) = format!("{base}/{remainder}{query}").parse() {
            request
                .extensions_mut()
                .insert(SelectedTarget(name.to_owned()));
            *request.uri_mut() = uri;
        }
    }
    next.run(request).await
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, axum::Json(self)).into_response()
    }
}

/// The state of the target a request selected (path prefix, else `?target=`), or a 400.
pub(crate) fn state_for(state: &AppState, request: &Request<Body>) -> Result<AppState, AppError> {
    let name = request
        .extensions()
        .get::<SelectedTarget>()
        .map(|selected| selected.0.clone())
        .or_else(|| query_parameter(request.uri().query(), "target"));
    let Some(name) = name else {
        return Ok(state.clone());
    };
    state.for_target(&name).ok_or_else(|| {
        AppError::bad_request(format!(
            "unknown target; configured: {}",
            state.target_names().join(", ")
        ))
    })
}

async fn redirect_to_stats(State(config): State<Arc<Config>>) -> Redirect {
    Redirect::to(&format!("{}{STATS_PAGE_PATH}", config.base_path))
}
