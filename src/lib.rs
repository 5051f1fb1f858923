//! cachepanel: a live dashboard for a production Redis cache. One crate, two builds: the
//! server (`ssr`) and the browser client (`hydrate`, compiled to WebAssembly).
//!
//! Feature map (one stem per feature in every layer):
//!
//! | feature | model | api | server | ui |
//! |---|---|---|---|---|
//! | live stats | `model/live.rs`, `rates.rs`, `health.rs`, `stats.rs` | `api/live.rs`, `api/stats.rs` | `server/live/` | `ui/live.rs`, `ui/pages/stats.rs` |
//! | census | `model/census.rs` | `api/census.rs` | `server/census/` | `ui/pages/census.rs` |
//! | flush | `model/flush.rs` | `api/flush.rs` | `server/flush/`, `server/audit.rs` | `ui/pages/flush.rs` |
//! | rate limits | `model/rate_limit.rs` | `api/rate_limit.rs` | `server/rate_limit/` | `ui/pages/rate_limits.rs` |
//! | access | `model/page.rs` | — | `server/security/` | — |
//!
//! Under every server feature sit `server/redis/` (connections, timeouts, the one keyspace
//! walker) and the leaves `server/env/`, `clock.rs`, `lang.rs`; above them `state.rs` and
//! `config.rs` compose, and `http/`, `metrics.rs`, `run.rs` serve (see `server/mod.rs`).

// Leptos view types nest deeply; the dashboard page exceeds the default limit of 128.
#![recursion_limit = "256"]

pub mod api;
pub mod app;
pub mod error;
pub mod i18n;
pub mod model;
pub mod ui;

#[cfg(feature = "ssr")]
pub mod server;

/// Browser entry point: reads the page settings the server rendered, points server functions
/// at the public base path, and hydrates the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    use leptos::prelude::*;

    console_error_panic_hook::set_once();
    let page = app::read_page_config();
    let server_url = format!("{}{}", page.base_path, page.api_prefix);
    if !server_url.is_empty() {
        // Server functions post to "{server url}/api/…"; the URL must live for the whole page.
        let base: &'static str = Box::leak(server_url.into_boxed_str());
        let _ = leptos::server_fn::client::try_set_server_url(base);
    }
    if page.embed {
        report_height_to_parent(page.parent_origin.clone());
    }
    leptos::mount::hydrate_body(move || {
        provide_context(page.clone());
        view! { <app::App /> }
    });
}

/// In an iframe, tells the parent (the admin) the page's height whenever it changes, so the
/// admin can size the frame. The message goes to the configured admin origin, or to our own
/// origin when admin and cachepanel share one; never to `*`.
#[cfg(feature = "hydrate")]
fn report_height_to_parent(parent_origin: Option<String>) {
    use wasm_bindgen::JsCast as _;
    use wasm_bindgen::closure::Closure;

    let Some(window) = web_sys::window() else {
        return;
    };
    let Ok(Some(parent)) = window.parent() else {
        return;
    };
    if parent == window {
        return;
    }
    let Some(target_origin) = parent_origin.or_else(|| window.location().origin().ok()) else {
        return;
    };
    let Some(root) = window
        .document()
        .and_then(|document| document.document_element())
    else {
        return;
    };
    let measured = root.clone();
    let last_height = std::cell::Cell::new(-1_i32);
    let post_height = Closure::<dyn FnMut()>::new(move || {
        let height = measured.scroll_height();
        if height == last_height.get() {
            return;
        }
        last_height.set(height);
        let message = format!(r#"{{"source":"cachepanel","type":"resize","height":{height}}}"#);
        if let Ok(message) = js_sys::JSON::parse(&message) {
            let _ = parent.post_message(&message, &target_origin);
        }
    });
    if let Ok(observer) = web_sys::ResizeObserver::new(post_height.as_ref().unchecked_ref()) {
        observer.observe(&root);
        if let Some(body) = window.document().and_then(|document| document.body()) {
            observer.observe(&body);
        }
        // Both live as long as the page.
        std::mem::forget(observer);
    }
    post_height.forget();
}
