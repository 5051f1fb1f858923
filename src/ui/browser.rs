//! Everything only a browser does, in one place: read the page settings the server rendered,
//! follow the event stream, report the page height to the admin's frame. Each body is
//! `cfg(feature = "hydrate")`; the server build sees the no-op or nothing.

use leptos::prelude::*;

#[cfg(feature = "hydrate")]
use crate::model::{
    PageConfig, census::CensusState, flush::FlushState, live::LiveSnapshot,
    rate_limit::CountersReport,
};

/// The page settings the server rendered into the document (defaults if absent or malformed).
#[cfg(feature = "hydrate")]
pub fn read_page_config() -> PageConfig {
    web_sys::window()
        .and_then(|window| window.document())
        .and_then(|document| document.get_element_by_id(PageConfig::ELEMENT_ID))
        .and_then(|element| element.text_content())
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default()
}

/// What each event of the stream is handed to.
pub struct Listeners<S, C, F, R> {
    pub on_snapshot: S,
    pub on_census: C,
    pub on_flush: F,
    pub on_rate_limits: R,
}

/// Opens the event stream and hands each `snapshot`, `census`, `flush` and `rate_limits` event
/// to its callback (browser only).
#[cfg(feature = "hydrate")]
pub fn subscribe(
    url: &str,
    streaming: RwSignal<bool>,
    listeners: Listeners<
        impl Fn(LiveSnapshot) + 'static,
        impl Fn(CensusState) + 'static,
        impl Fn(FlushState) + 'static,
        impl Fn(CountersReport) + 'static,
    >,
) {
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;

    fn listener<T: serde::de::DeserializeOwned + 'static>(
        streaming: RwSignal<bool>,
        handle: impl Fn(T) + 'static,
    ) -> Closure<dyn Fn(web_sys::MessageEvent)> {
        Closure::new(move |event: web_sys::MessageEvent| {
            let parsed = event
                .data()
                .as_string()
                .and_then(|text| serde_json::from_str(&text).ok());
            if let Some(value) = parsed {
                streaming.set(true);
                handle(value);
            }
        })
    }

    let Ok(source) = web_sys::EventSource::new(url) else {
        return;
    };
    let snapshots = listener(streaming, listeners.on_snapshot);
    let census = listener(streaming, listeners.on_census);
    let flush = listener(streaming, listeners.on_flush);
    let rate_limits = listener(streaming, listeners.on_rate_limits);
    let on_error = Closure::<dyn Fn(web_sys::Event)>::new(move |_| streaming.set(false));
    let _ = source.add_event_listener_with_callback("snapshot", snapshots.as_ref().unchecked_ref());
    let _ = source.add_event_listener_with_callback("census", census.as_ref().unchecked_ref());
    let _ = source.add_event_listener_with_callback("flush", flush.as_ref().unchecked_ref());
    let _ = source
        .add_event_listener_with_callback("rate_limits", rate_limits.as_ref().unchecked_ref());
    source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    // The stream lives as long as the page: the callbacks and the source are never freed.
    snapshots.forget();
    census.forget();
    flush.forget();
    rate_limits.forget();
    on_error.forget();
    std::mem::forget(source);
}

#[cfg(not(feature = "hydrate"))]
pub fn subscribe<S, C, F, R>(
    _url: &str,
    _streaming: RwSignal<bool>,
    _listeners: Listeners<S, C, F, R>,
) {
}

/// In an iframe, tells the parent (the admin) the page's height whenever it changes, so the
/// admin can size the frame. The message goes to the configured admin origin, or to our own
/// origin when admin and cachepanel share one; never to `*`.
#[cfg(feature = "hydrate")]
pub fn report_height_to_parent(parent_origin: Option<String>) {
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
