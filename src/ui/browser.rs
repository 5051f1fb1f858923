//! Everything only a browser does, in one place: read the page settings the server rendered,
//! follow the event stream, report the page height to the admin's frame, redraw charts with
//! the chart code loaded after hydration. Each body is `cfg(feature = "hydrate")`; the server
//! build sees the no-op, the synchronous form, or nothing.

use leptos::prelude::*;

use crate::ui::charts::ChartOrder;

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
        .and_then(|json| crate::model::wire::decode(&json).ok())
        .unwrap_or_default()
}

/// The clock in Unix milliseconds: the browser's in the client (the standard library has no
/// clock on wasm32), the system's on the server.
pub fn now_ms() -> i64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys::Date::now() as i64
    }
    #[cfg(not(feature = "hydrate"))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_millis() as i64)
    }
}

/// What each event of the stream is handed to.
pub struct Listeners<S, C, F, R, D> {
    pub on_snapshot: S,
    pub on_census: C,
    pub on_flush: F,
    pub on_rate_limits: R,
    /// A server-rendered section (`diagnostics`, `alerts`): the event's name and its HTML.
    pub on_section: D,
}

/// Opens the event stream and hands each `snapshot`, `census`, `flush`, `rate_limits`,
/// `diagnostics` and `alerts` event to its callback (browser only).
#[cfg(feature = "hydrate")]
pub fn subscribe(
    url: &str,
    streaming: RwSignal<bool>,
    listeners: Listeners<
        impl Fn(LiveSnapshot) + 'static,
        impl Fn(CensusState) + 'static,
        impl Fn(FlushState) + 'static,
        impl Fn(CountersReport) + 'static,
        impl Fn(&str, String) + 'static,
    >,
) {
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;

    fn listener<T: crate::model::wire::FromJson + 'static>(
        streaming: RwSignal<bool>,
        handle: impl Fn(T) + 'static,
    ) -> Closure<dyn Fn(web_sys::MessageEvent)> {
        Closure::new(move |event: web_sys::MessageEvent| {
            let parsed = event
                .data()
                .as_string()
                .and_then(|text| crate::model::wire::decode(&text).ok());
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
    // Server-rendered HTML, taken as it is.
    let on_section = listeners.on_section;
    let sections =
        Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
            if let Some(html) = event.data().as_string() {
                on_section(&event.type_(), html);
            }
        });
    let on_error = Closure::<dyn Fn(web_sys::Event)>::new(move |_| streaming.set(false));
    let _ = source.add_event_listener_with_callback("snapshot", snapshots.as_ref().unchecked_ref());
    let _ = source.add_event_listener_with_callback("census", census.as_ref().unchecked_ref());
    let _ = source.add_event_listener_with_callback("flush", flush.as_ref().unchecked_ref());
    let _ = source
        .add_event_listener_with_callback("rate_limits", rate_limits.as_ref().unchecked_ref());
    for name in ["diagnostics", "alerts"] {
        let _ = source.add_event_listener_with_callback(name, sections.as_ref().unchecked_ref());
    }
    source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    // The stream lives as long as the page: the callbacks and the source are never freed.
    snapshots.forget();
    census.forget();
    flush.forget();
    rate_limits.forget();
    sections.forget();
    on_error.forget();
    std::mem::forget(source);
}

#[cfg(not(feature = "hydrate"))]
pub fn subscribe<S, C, F, R, D>(
    _url: &str,
    _streaming: RwSignal<bool>,
    _listeners: Listeners<S, C, F, R, D>,
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

/// A chart's first paint: drawn on the server. In the browser nothing: hydration keeps the
/// server's SVG, and the chart code is not in the initial bundle.
pub fn first_paint(order: &ChartOrder) -> String {
    #[cfg(not(feature = "hydrate"))]
    {
        crate::ui::charts::draw(order)
    }
    #[cfg(feature = "hydrate")]
    {
        let _ = order;
        String::new()
    }
}

/// Redraws `svg` from `order` whenever the order changes, with the chart code from its own
/// WASM chunk (fetched on the first redraw, after hydration). A chunk that fails to load sets
/// `failed` and leaves the chart as it was; the rest of the page keeps working, and the chunk
/// is asked for again at most every `CHART_CODE_RETRY_MS`, not on every sample.
#[cfg(feature = "hydrate")]
pub fn draw_later(order: Signal<ChartOrder>, svg: RwSignal<String>, failed: RwSignal<bool>) {
    // Draws finish in any order; only the newest order's SVG is shown.
    let newest = StoredValue::new(0_u64);
    Effect::new(move |_| {
        let current = order.get();
        if js_sys::Date::now() < CHART_CODE_RETRY_AT.get() {
            let _ = failed.try_set(true);
            return;
        }
        let generation = newest.get_value() + 1;
        newest.set_value(generation);
        leptos::task::spawn_local(async move {
            // The chart may be gone by the time the chunk is in (its section re-rendered):
            // `try_` reads and writes do nothing then.
            match draw_in_chunk(current).await {
                Ok(drawn) if newest.try_get_value() == Some(generation) => {
                    let _ = svg.try_set(drawn);
                    let _ = failed.try_set(false);
                }
                Ok(_) => {}
                Err(ChartCodeMissing) => {
                    CHART_CODE_RETRY_AT.set(js_sys::Date::now() + CHART_CODE_RETRY_MS);
                    let _ = failed.try_set(true);
                }
            }
        });
    });
}

/// After a failed chunk load, charts wait this long before the chunk is asked for again.
#[cfg(feature = "hydrate")]
const CHART_CODE_RETRY_MS: f64 = 30_000.0;

#[cfg(feature = "hydrate")]
thread_local! {
    /// `Date.now()` before which no chart asks for the chunk (0: ask).
    static CHART_CODE_RETRY_AT: std::cell::Cell<f64> = const { std::cell::Cell::new(0.0) };
}

#[cfg(not(feature = "hydrate"))]
pub fn draw_later(_order: Signal<ChartOrder>, _svg: RwSignal<String>, _failed: RwSignal<bool>) {}

/// The chart code could not be loaded (network, a broken chunk).
#[cfg(feature = "hydrate")]
struct ChartCodeMissing;

#[cfg(feature = "hydrate")]
impl From<leptos::wasm_split::SplitLoaderError> for ChartCodeMissing {
    fn from(_: leptos::wasm_split::SplitLoaderError) -> Self {
        Self
    }
}

/// The one way into the drawing code in the browser: `cargo leptos build --split` moves it, and
/// everything only it reaches (charts-rs, its font parser and font), into a chunk of its own.
#[cfg(feature = "hydrate")]
#[leptos::wasm_split::wasm_split(
    cachepanel_charts,
    wasm_split_path = ::leptos::wasm_split,
    fallible
)]
fn draw_in_chunk(order: ChartOrder) -> Result<String, ChartCodeMissing> {
    Ok(crate::ui::charts::draw(&order))
}
