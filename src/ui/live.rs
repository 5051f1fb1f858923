//! Live data for the dashboard: the first paint comes from server functions (rendered on the
//! server), then the browser follows `GET /api/live/events` (server-sent events) and appends
//! each new sample without reloading. EventSource reconnects by itself after a break.

use leptos::prelude::*;

use crate::api::{get_history, get_live_snapshot};
use crate::model::PageConfig;
use crate::model::live::{HistoryRange, LiveSnapshot, Point};

#[derive(Clone, Copy)]
pub struct LiveData {
    pub snapshot: Signal<Option<LiveSnapshot>>,
    pub points: Signal<Vec<Point>>,
    pub range: RwSignal<HistoryRange>,
    /// An estimate of the server's clock, ticking every second in the browser.
    pub server_now_ms: Signal<i64>,
    /// Whether the event stream is open (false before hydration and after a break).
    pub streaming: Signal<bool>,
}

pub fn use_live_data(page: &PageConfig) -> LiveData {
    let range = RwSignal::new(HistoryRange::default());
    let initial = Resource::new(|| (), |_| get_live_snapshot());
    let history = Resource::new(move || range.get(), get_history);
    let pushed = RwSignal::new(None::<LiveSnapshot>);
    let appended = RwSignal::new(Vec::<Point>::new());
    let streaming = RwSignal::new(false);
    let client_now = RwSignal::new(chrono::Utc::now().timestamp_millis());
    let clock_skew_ms = RwSignal::new(0_i64);

    // A new range loads its own history; points pushed before belong to the old one.
    Effect::new(move |_| {
        range.track();
        appended.set(Vec::new());
    });

    let url = page.url("/api/live/events");
    Effect::new(move |_| {
        let _ = set_interval_with_handle(
            move || client_now.set(chrono::Utc::now().timestamp_millis()),
            std::time::Duration::from_secs(1),
        );
        subscribe(&url, streaming, move |snapshot: LiveSnapshot| {
            let now = chrono::Utc::now().timestamp_millis();
            clock_skew_ms.set(snapshot.published_at_ms - now);
            client_now.set(now);
            if let Some(point) = snapshot.point {
                appended.update(|points| {
                    if points.last().is_none_or(|last| last.at_ms < point.at_ms) {
                        points.push(point);
                    }
                });
            }
            pushed.set(Some(snapshot));
        });
    });

    let snapshot =
        Signal::derive(move || pushed.get().or_else(|| initial.get().and_then(Result::ok)));
    let points = Signal::derive(move || {
        let mut points = history.get().and_then(Result::ok).unwrap_or_default();
        let last_loaded = points.last().map_or(i64::MIN, |p| p.at_ms);
        points.extend(appended.get().into_iter().filter(|p| p.at_ms > last_loaded));
        if let Some(newest) = points.last().map(|p| p.at_ms) {
            let since = newest - range.get().millis();
            points.retain(|p| p.at_ms >= since);
        }
        points
    });
    let server_now_ms = Signal::derive(move || client_now.get() + clock_skew_ms.get());
    LiveData {
        snapshot,
        points,
        range,
        server_now_ms,
        streaming: streaming.into(),
    }
}

/// Opens the event stream and calls `on_snapshot` for each snapshot (browser only).
#[cfg(feature = "hydrate")]
fn subscribe(url: &str, streaming: RwSignal<bool>, on_snapshot: impl Fn(LiveSnapshot) + 'static) {
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;

    let Ok(source) = web_sys::EventSource::new(url) else {
        return;
    };
    let on_message =
        Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
            let parsed = event
                .data()
                .as_string()
                .and_then(|text| serde_json::from_str(&text).ok());
            if let Some(snapshot) = parsed {
                streaming.set(true);
                on_snapshot(snapshot);
            }
        });
    let on_error = Closure::<dyn Fn(web_sys::Event)>::new(move |_| streaming.set(false));
    let _ =
        source.add_event_listener_with_callback("snapshot", on_message.as_ref().unchecked_ref());
    source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    // The stream lives as long as the page: the callbacks and the source are never freed.
    on_message.forget();
    on_error.forget();
    std::mem::forget(source);
}

#[cfg(not(feature = "hydrate"))]
fn subscribe(
    _url: &str,
    _streaming: RwSignal<bool>,
    _on_snapshot: impl Fn(LiveSnapshot) + 'static,
) {
}
