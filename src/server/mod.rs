//! Everything that runs only on the server: configuration, state, Redis access, HTTP routes.

pub mod audit;
pub mod auth;
mod body;
pub mod census;
mod check;
pub mod cli;
pub mod clock;
pub mod config;
pub mod demo;
mod dev_login;
pub mod env;
pub mod flush;
pub mod history;
mod live;
pub mod metrics;
pub mod rate_limit;
pub mod redis;
pub mod sampler;
pub mod state;
pub mod stats;
pub mod web_security;

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use tower_http::services::ServeDir;
use tower_http::trace::TraceLayer;

use crate::app::shell;
use crate::error::AppError;
use crate::model::{Lang, PageConfig};
use config::Config;
use redis::RedisTarget;
use redis::process::{RedisProcess, RedisProcessOptions};
use state::AppState;

/// Path of the dashboard page, relative to the base path.
pub const STATS_PAGE_PATH: &str = "/admin/cache/stats";
/// A shutdown (SIGTERM) completes within this, whatever is still running.
const SHUTDOWN_LIMIT: std::time::Duration = std::time::Duration::from_secs(8);

/// Entry point of the `cachepanel` binary.
pub async fn run() -> ExitCode {
    use clap::Parser as _;
    let cli = cli::Cli::parse();
    init_tracing(cli.log_format);
    let file = match &cli.config {
        Some(path) => match config::FileSettings::read(path) {
            Ok(file) => file,
            Err(error) => {
                eprintln!("cachepanel: {error}");
                return ExitCode::FAILURE;
            }
        },
        None => config::FileSettings::default(),
    };
    let outcome = match cli.command.unwrap_or(cli::Command::Serve) {
        cli::Command::Serve => serve(&file).await,
        cli::Command::Check => check::run(&file).await,
        cli::Command::Demo { redis_url, force } => run_demo(&redis_url, force).await,
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            eprintln!("cachepanel: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(file: &config::FileSettings) -> anyhow::Result<()> {
    let mut config = Config::from_env_and_file(file).context("invalid configuration")?;

    // Without a configured Redis, start a private one (and demo traffic) for trying it out.
    let embedded = if config.has_redis() {
        None
    } else {
        let process = tokio::task::spawn_blocking(|| {
            RedisProcess::start(RedisProcessOptions {
                maxmemory: Some("64mb".into()),
                maxmemory_policy: Some("allkeys-lru".into()),
                ..Default::default()
            })
        })
        .await
        .context("starting the embedded redis-server")?
        .context("starting the embedded redis-server")?;
        let url = config::RedisUrl::parse(&process.url())
            .map_err(|e| anyhow::anyhow!("embedded Redis URL: {e}"))?;
        tracing::info!(
            port = process.port(),
            "no CACHEPANEL_REDIS_URL: started an embedded redis-server"
        );
        config.redis_url = Some(url);
        Some(process)
    };
    let redis_url = config.data_node_url().context("no Redis URL")?;
    match &config.sentinel {
        Some(sentinel) => tracing::info!(
            sentinels = ?sentinel.sentinels,
            master = %sentinel.master_name,
            "Redis target behind Sentinel"
        ),
        None => tracing::info!(redis = %redis_url, "Redis target configured"),
    }
    let demo_wanted = embedded.is_some() && config.demo_traffic;
    let addr = config.addr;
    let (state, background) = AppState::start(config, &redis_url)
        .map_err(|e| anyhow::anyhow!("CACHEPANEL_REDIS_URL: {e}"))?;
    let demo = if demo_wanted {
        demo::claim(&state.redis, false)
            .await
            .context("starting the demo workload")?;
        Some(tokio::spawn(demo::run(state.redis.clone())))
    } else {
        None
    };
    let base_path = state.config.base_path.clone();
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("CACHEPANEL_ADDR: cannot listen on {addr}"))?;
    let local = listener.local_addr().context("reading the bound address")?;
    tracing::info!("listening on http://{local}{base_path}{STATS_PAGE_PATH}");
    println!("cachepanel: open http://{local}{base_path}{STATS_PAGE_PATH}");

    let shutdown = state.shutdown.clone();
    let targets = state.targets.clone();
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let mut stopping = shutdown.subscribe();
    let mut server = tokio::spawn(
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopping.wait_for(|stopping| *stopping).await;
            })
            .into_future(),
    );
    tokio::select! {
        result = &mut server => {
            result.context("serving HTTP")?.context("serving HTTP")?;
            return Ok(());
        }
        () = shutdown_signal() => {}
    }
    // Stop accepting, end the event streams, let running flushes finish their batch (recorded
    // as interrupted), and be gone within SHUTDOWN_LIMIT whatever hangs.
    let deadline = tokio::time::Instant::now() + SHUTDOWN_LIMIT;
    let _ = shutdown.send(true);
    for target in targets.iter() {
        if target.flush.interrupt() {
            tracing::info!(target_name = %target.name, "interrupting the running flush");
        }
    }
    for target in targets.iter() {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if !target.flush.wait_idle(left).await {
            tracing::warn!(target_name = %target.name, "the flush did not stop in time");
        }
    }
    if tokio::time::timeout_at(deadline, &mut server)
        .await
        .is_err()
    {
        tracing::warn!("connections still open at the shutdown deadline; closing them");
        server.abort();
    }

    if let Some(demo) = demo {
        demo.abort();
    }
    drop(background);
    drop(embedded);
    tracing::info!("stopped");
    Ok(())
}

async fn run_demo(redis_url: &str, force: bool) -> anyhow::Result<()> {
    let url =
        config::RedisUrl::parse(redis_url).map_err(|e| anyhow::anyhow!("--redis-url: {e}"))?;
    let redis = RedisTarget::new(
        "demo",
        &url,
        redis::Timeouts {
            connect: std::time::Duration::from_secs(1),
            response: std::time::Duration::from_secs(1),
        },
    )
    .map_err(|e| anyhow::anyhow!("--redis-url: {e}"))?;
    demo::claim(&redis, force).await?;
    println!("cachepanel demo: writing demo traffic to {url}; Ctrl-C stops");
    tokio::select! {
        () = demo::run(redis) => {},
        () = shutdown_signal() => {},
    }
    Ok(())
}

/// Leptos' own options, built from our configuration rather than `LEPTOS_*` variables.
pub fn leptos_options(config: &Config) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("cachepanel")
        .site_root(config.site_root.to_string_lossy().into_owned())
        .site_pkg_dir("pkg")
        .site_addr(config.addr)
        .build()
}

/// The whole HTTP surface. Served at the root and, when a base path is configured, under it
/// too, so it works behind a proxy that strips the prefix and behind one that keeps it.
pub fn router(state: AppState) -> Router {
    // Leptos spawns resource futures on a global executor; leptos_routes() would set it up, but
    // the page is routed by hand here. A second call (tests build several routers) is a no-op.
    let _ = any_spawner::Executor::init_tokio();
    let site_root = state.config.site_root.clone();
    let base_path = state.config.base_path.clone();
    // Pages, server functions, the event stream and the API: same-origin check for anything
    // mutating, then authentication, then the rate limit of the caller's role (in that order:
    // route layers added later run first). Health checks and static assets are public.
    let pages_and_api = Router::new()
        .route("/", get(redirect_to_stats))
        .route(STATS_PAGE_PATH, get(stats_page))
        .route(
            "/api/{*server_fn}",
            get(server_fn_handler).post(server_fn_handler),
        )
        .route("/api/live/events", get(live::events));
    let limited = if state.config.rate_limit_enabled {
        let layer = axum::middleware::from_fn_with_state(state.clone(), rate_limit::limit_requests);
        pages_and_api.route_layer(layer)
    } else {
        pages_and_api
    };
    let protected = limited
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_caller,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            state.config.clone(),
            web_security::same_origin_only,
        ));
    let public = if state.config.auth.dev_login {
        Router::new().route(
            auth::DEV_LOGIN_PATH,
            get(dev_login::page).post(dev_login::sign_in).route_layer(
                axum::middleware::from_fn_with_state(
                    state.config.clone(),
                    web_security::same_origin_only,
                ),
            ),
        )
    } else {
        Router::new()
    };
    let config = state.config.clone();
    let routes = protected
        .merge(public)
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics::metrics))
        .nest_service("/pkg", ServeDir::new(site_root.join("pkg")))
        .with_state(state);
    let routes = if base_path.is_empty() {
        routes
    } else {
        Router::new().nest(&base_path, routes.clone()).merge(routes)
    };
    let app = routes
        .fallback_service(ServeDir::new(site_root))
        .layer(axum::middleware::from_fn(body::bounded_body))
        .layer(axum::middleware::from_fn_with_state(
            config.clone(),
            web_security::security_headers,
        ))
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
fn state_for(state: &AppState, request: &Request<Body>) -> Result<AppState, AppError> {
    let name = request
        .extensions()
        .get::<SelectedTarget>()
        .map(|selected| selected.0.clone())
        .or_else(|| query_parameter(request.uri().query(), "target"));
    let Some(name) = name else {
        return Ok(state.clone());
    };
    state.for_target(&name).ok_or_else(|| AppError::BadRequest {
        message: format!(
            "unknown target; configured: {}",
            state.target_names().join(", ")
        ),
    })
}

async fn redirect_to_stats(State(config): State<Arc<Config>>) -> Redirect {
    Redirect::to(&format!("{}{STATS_PAGE_PATH}", config.base_path))
}

/// Runs a server function. Its errors arrive as 500 with an `AppError` JSON body; the status
/// is corrected here from the error itself, so every API error has its proper code.
async fn server_fn_handler(State(state): State<AppState>, request: Request<Body>) -> Response {
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

async fn stats_page(State(state): State<AppState>, request: Request<Body>) -> Response {
    let state = match state_for(&state, &request) {
        Ok(state) => state,
        Err(refusal) => return refusal.into_response(),
    };
    let query = request.uri().query();
    let lang_from_query = query_parameter(query, "lang").and_then(|value| Lang::from_tag(&value));
    let embed = match query_parameter(query, "embed").as_deref() {
        Some("1" | "true") => true,
        Some("0" | "false") => false,
        _ => state.config.web.embed_by_default,
    };
    let caller = request.extensions().get::<auth::Caller>().cloned();
    let page = PageConfig {
        lang: page_language(query, request.headers()),
        base_path: state.config.base_path.clone(),
        embed,
        parent_origin: state.config.web.admin_origin.clone(),
        user: caller.as_ref().map(|caller| {
            caller
                .display_name
                .clone()
                .unwrap_or_else(|| format!("#{}", caller.user_id))
        }),
        can_act: caller
            .as_ref()
            .is_some_and(|caller| caller.access == auth::Access::Full),
        target: state.redis.name().to_owned(),
        targets: state.target_names(),
        api_prefix: if state.target_names().first().map(String::as_str) == Some(state.redis.name())
        {
            String::new()
        } else {
            format!("{TARGETS_SEGMENT}{}", state.redis.name())
        },
    };
    // The hydration bootstrap is the page's one inline script; the CSP admits it by nonce.
    let nonce = leptos::nonce::Nonce::new();
    let policy = web_security::content_security_policy(
        &state.config.web.frame_ancestors,
        Some(&nonce.to_string()),
    );
    let options = state.leptos_options.clone();
    let context_page = page.clone();
    let cookie_path = if state.config.base_path.is_empty() {
        "/".to_owned()
    } else {
        state.config.base_path.clone()
    };
    let render = leptos_axum::render_app_async_with_context(
        move || {
            provide_context(state.clone());
            provide_context(context_page.clone());
            provide_context(nonce.clone());
            if let Some(caller) = caller.clone() {
                provide_context(caller);
            }
        },
        move || shell(options.clone(), page.clone()),
    );
    let mut response = render(request).await;
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
    // A language chosen with ?lang= is remembered for the next visits.
    if let Some(lang) = lang_from_query
        && let Ok(cookie) = HeaderValue::from_str(&format!(
            "{LANG_COOKIE}={}; Path={cookie_path}; Max-Age=31536000; SameSite=Lax; HttpOnly",
            lang.code()
        ))
    {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// Remembers the language picked with `?lang=`.
pub const LANG_COOKIE: &str = "cachepanel_lang";

fn query_parameter(query: Option<&str>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query?.as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// `?lang=` first, then the remembered choice, then the browser's `Accept-Language`, then
/// Russian.
pub(crate) fn page_language(query: Option<&str>, headers: &HeaderMap) -> Lang {
    let from_query = query_parameter(query, "lang").and_then(|value| Lang::from_tag(&value));
    let from_cookie = || {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|text| text.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == LANG_COOKIE)
            .and_then(|(_, value)| Lang::from_tag(value))
    };
    let from_header = || {
        let accepted = headers.get(header::ACCEPT_LANGUAGE)?.to_str().ok()?;
        accepted
            .split(',')
            .find_map(|tag| Lang::from_tag(tag.split(';').next().unwrap_or_default()))
    };
    from_query
        .or_else(from_cookie)
        .or_else(from_header)
        .unwrap_or_default()
}

/// Liveness: always 200 while the app runs; Redis reachability is reported in the body.
async fn healthz(State(redis): State<RedisTarget>) -> impl IntoResponse {
    let redis_status = match redis.ping().await {
        Ok(latency) => serde_json::json!({
            "reachable": true,
            "latency_ms": (latency.as_secs_f64() * 1000.0 * 100.0).round() / 100.0,
        }),
        Err(failure) => serde_json::json!({ "reachable": false, "reason": failure.reason }),
    };
    axum::Json(serde_json::json!({ "status": "ok", "redis": redis_status }))
}

fn init_tracing(format: cli::LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("CACHEPANEL_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,tower_http=info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match format {
        cli::LogFormat::Human => builder.try_init(),
        cli::LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_comes_from_the_query_then_the_browser_then_russian() {
        let mut headers = HeaderMap::new();
        assert_eq!(page_language(None, &headers), Lang::Ru);
        headers.insert(
            header::ACCEPT_LANGUAGE,
            HeaderValue::from_static("de-DE,en;q=0.8"),
        );
        assert_eq!(page_language(None, &headers), Lang::En);
        assert_eq!(page_language(Some("lang=ru"), &headers), Lang::Ru);
        assert_eq!(page_language(Some("lang=xx"), &headers), Lang::En);
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("access_token=t; cachepanel_lang=ru"),
        );
        assert_eq!(page_language(None, &headers), Lang::Ru, "remembered choice");
        assert_eq!(page_language(Some("lang=en"), &headers), Lang::En);
    }
}
