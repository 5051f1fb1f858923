//! Live data for the dashboard: the first paint comes from server functions (rendered on the
//! server), then the browser follows `GET /api/live/events` (server-sent events) and applies
//! each new sample and census update without reloading. EventSource reconnects by itself.

use leptos::prelude::*;

use crate::api::{get_census, get_flush, get_history, get_live_snapshot};
use crate::model::PageConfig;
use crate::model::census::CensusState;
use crate::model::flush::FlushState;
use crate::model::live::{HistoryRange, LiveSnapshot, Point};
use crate::model::rate_limit::CountersReport;
use crate::ui::browser::{Listeners, now_ms, subscribe};

#[derive(Clone, Copy)]
pub struct LiveData {
    pub snapshot: Signal<Option<LiveSnapshot>>,
    pub points: Signal<Vec<Point>>,
    pub range: RwSignal<HistoryRange>,
    /// An estimate of the server's clock, ticking every second in the browser.
    pub server_now_ms: Signal<i64>,
    /// Whether the event stream is open (false before hydration and after a break).
    pub streaming: Signal<bool>,
    /// Census progress and last result.
    pub census: Signal<Option<CensusState>>,
    /// Flush policy, progress and last result.
    pub flush: Signal<Option<FlushState>>,
    /// The rate-limit counters as the server's reader last walked them (pushed only; the
    /// section renders its server-side view until the first push).
    pub rate_limits: Signal<Option<CountersReport>>,
    /// The diagnostics section's HTML, rendered by the server in the page's language (empty
    /// before the first push).
    pub diagnostics: RwSignal<String>,
    /// The alerts section's HTML, likewise.
    pub alerts: RwSignal<String>,
}

pub fn use_live_data(page: &PageConfig) -> LiveData {
    let range = RwSignal::new(HistoryRange::default());
    let initial = crate::ui::resource(|| (), |_| get_live_snapshot());
    let initial_census = crate::ui::resource(|| (), |_| get_census());
    let history = crate::ui::resource(move || range.get(), get_history);
    let pushed = RwSignal::new(None::<LiveSnapshot>);
    let pushed_census = RwSignal::new(None::<CensusState>);
    let initial_flush = crate::ui::resource(|| (), |_| get_flush());
    let pushed_flush = RwSignal::new(None::<FlushState>);
    let pushed_rate_limits = RwSignal::new(None::<CountersReport>);
    let pushed_diagnostics = RwSignal::new(String::new());
    let pushed_alerts = RwSignal::new(String::new());
    let appended = RwSignal::new(Vec::<Point>::new());
    let streaming = RwSignal::new(false);
    let client_now = RwSignal::new(now_ms());
    let clock_skew_ms = RwSignal::new(0_i64);

    // A new range loads its own history; points pushed before belong to the old one.
    Effect::new(move |_| {
        range.track();
        appended.set(Vec::new());
    });

    // The stream renders the diagnostics section in the page's language.
    let url = format!(
        "{}?lang={}",
        page.api_url("/api/live/events"),
        page.lang.code()
    );
    Effect::new(move |_| {
        let _ = set_interval_with_handle(
            move || client_now.set(now_ms()),
            std::time::Duration::from_secs(1),
        );
        let on_snapshot = move |snapshot: LiveSnapshot| {
            let now = now_ms();
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
        };
        let on_census = move |census: CensusState| pushed_census.set(Some(census));
        let on_flush = move |flush: FlushState| pushed_flush.set(Some(flush));
        let on_rate_limits = move |report: CountersReport| pushed_rate_limits.set(Some(report));
        let on_section = move |name: &str, html: String| match name {
            "alerts" => pushed_alerts.set(html),
            _ => pushed_diagnostics.set(html),
        };
        subscribe(
            &url,
            streaming,
            Listeners {
                on_snapshot,
                on_census,
                on_flush,
                on_rate_limits,
                on_section,
            },
        );
    });

    let snapshot =
        Signal::derive(move || pushed.get().or_else(|| initial.get().and_then(Result::ok)));
    let census = Signal::derive(move || {
        pushed_census
            .get()
            .or_else(|| initial_census.get().and_then(Result::ok))
    });
    let flush = Signal::derive(move || {
        pushed_flush
            .get()
            .or_else(|| initial_flush.get().and_then(Result::ok))
    });
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
        census,
        flush,
        rate_limits: pushed_rate_limits.into(),
        diagnostics: pushed_diagnostics,
        alerts: pushed_alerts,
    }
}
