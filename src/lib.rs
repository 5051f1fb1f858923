//! cachepanel: a live dashboard for a production Redis cache. One crate, two builds: the
//! server (`ssr`) and the browser client (`hydrate`, compiled to WebAssembly).
//!
//! Feature map (one stem per feature in every layer):
//!
//! | feature | model | api | server | ui |
//! |---|---|---|---|---|
//! | live stats | `model/live.rs`, `rates.rs`, `health.rs`, `stats.rs` | `api/live.rs`, `api/stats.rs` | `server/live/` | `ui/sections/live.rs` (data: `ui/live.rs`) |
//! | census | `model/census.rs` | `api/census.rs` | `server/census/` | `ui/sections/census.rs` |
//! | flush | `model/flush.rs`, `prefix.rs` | `api/flush.rs` | `server/flush/`, `server/audit.rs` | `ui/sections/flush.rs` |
//! | rate limits | `model/rate_limit.rs` | `api/rate_limit.rs` | `server/rate_limit/` | `ui/sections/rate_limit.rs` |
//! | access | `model/page.rs` | — | `server/security/` | — |
//!
//! Every server feature owns its settings (`settings.rs`, `from_env(&Env)`); under them sit
//! `server/redis/` (connections, timeouts, the one keyspace walker) and the leaves
//! `server/env/`, `clock.rs`, `lang.rs`; above them `config/` (composition and the registry of
//! every variable) and `state.rs`, then `http/`, `metrics.rs`, `run.rs` (see `server/mod.rs`).
//! The page is `ui/pages/stats.rs` composed of `ui/sections/`; everything only a browser does
//! is in `ui/browser.rs`; every text in `i18n/ru.rs` and `i18n/en.rs`.

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
    let page = ui::browser::read_page_config();
    let server_url = format!("{}{}", page.base_path, page.api_prefix);
    if !server_url.is_empty() {
        // Server functions post to "{server url}/api/…"; the URL must live for the whole page.
        let base: &'static str = Box::leak(server_url.into_boxed_str());
        let _ = leptos::server_fn::client::try_set_server_url(base);
    }
    if page.embed {
        ui::browser::report_height_to_parent(page.parent_origin.clone());
    }
    leptos::mount::hydrate_body(move || {
        provide_context(page.clone());
        view! { <app::App /> }
    });
}
