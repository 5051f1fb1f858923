//! `/admin/cache/stats`: the server-rendered dashboard, its language choice and the CSP nonce.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, Request, header};
use axum::response::{IntoResponse, Response};
use leptos::prelude::provide_context;

use crate::app::shell;
use crate::model::{Lang, PageConfig};
use crate::server::http::TARGETS_SEGMENT;
use crate::server::http::state_for;
use crate::server::lang::{lang_cookie, page_language, query_parameter};
use crate::server::security::{auth, web};
use crate::server::state::AppState;

/// Path of the dashboard page, relative to the base path.
pub const STATS_PAGE_PATH: &str = "/stats";

/// The path segment the target's API lives under: none for the first target.
pub fn api_prefix(state: &AppState) -> String {
    if state.target_names().first().map(String::as_str) == Some(state.redis.name()) {
        String::new()
    } else {
        format!("{TARGETS_SEGMENT}{}", state.redis.name())
    }
}

/// Where the diagnostics section's "full inspection" form posts, for callers who may act.
pub fn full_census_url(state: &AppState, can_act: bool) -> Option<String> {
    can_act.then(|| {
        format!(
            "{}{}/api/census/start-full",
            state.config.base_path,
            api_prefix(state)
        )
    })
}

pub async fn stats_page(State(state): State<AppState>, request: Request<Body>) -> Response {
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
        api_prefix: api_prefix(&state),
    };
    // The hydration bootstrap is the page's one inline script; the CSP admits it by nonce.
    let nonce = leptos::nonce::Nonce::new();
    let policy =
        web::content_security_policy(&state.config.web.frame_ancestors, Some(&nonce.to_string()));
    let options = state.leptos_options.clone();
    let stylesheet = state.site.stylesheet.clone();
    let context_page = page.clone();
    let diagnostics = crate::ui::sections::diagnostics::DiagnosticsFirstPaint(
        crate::server::http::events::diagnostics_html(
            &state,
            page.lang,
            full_census_url(&state, page.can_act).as_deref(),
        )
        .to_string(),
    );
    let alerts = crate::ui::sections::alerts::AlertsFirstPaint(
        crate::server::http::events::alerts_html(&state, page.lang, page.can_act).to_string(),
    );
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
            provide_context(diagnostics.clone());
            provide_context(alerts.clone());
            if let Some(caller) = caller.clone() {
                provide_context(caller);
            }
        },
        move || shell(options.clone(), page.clone(), stylesheet.clone()),
    );
    let mut response = render(request).await;
    // The page carries the caller's data and a fresh CSP nonce: never stored, every view new.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
    // A language chosen with ?lang= is remembered for the next visits.
    if let Some(lang) = lang_from_query
        && let Ok(cookie) = HeaderValue::from_str(&lang_cookie(lang, &cookie_path))
    {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}
