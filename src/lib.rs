//! cachepanel: a live dashboard for a production Redis cache. One crate, two builds: the
//! server (`ssr`) and the browser client (`hydrate`, compiled to WebAssembly).

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
    if !page.base_path.is_empty() {
        // Server functions post to "{server url}/api/…"; the URL must live for the whole page.
        let base: &'static str = Box::leak(page.base_path.clone().into_boxed_str());
        let _ = leptos::server_fn::client::try_set_server_url(base);
    }
    leptos::mount::hydrate_body(move || {
        provide_context(page.clone());
        view! { <app::App /> }
    });
}
