//! `GET /api/live/events`: server-sent events fed from the sampler's, the census', the flush's
//! and the counters reader's watch channels, so a thousand open tabs cost no Redis command.
//! Each channel reaches a stream at most `EVENTS_PER_SECOND` times a second (a burst of
//! progress is sent as its latest state, and the final state always arrives). Browsers
//! reconnect by themselves (EventSource).

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use tokio::sync::watch;
use tokio_stream::wrappers::WatchStream;
use tokio_stream::{Stream, StreamExt as _};

use crate::server::state::AppState;

/// Browsers wait this long before reconnecting after the stream breaks.
const RECONNECT_AFTER: Duration = Duration::from_secs(2);
/// Progress events per second per stream and channel, at most.
pub const EVENTS_PER_SECOND: u32 = 4;

/// The diagnostics section changes with every sample (its commands table) but is read for
/// trends: at most one rendering per stream this often.
const DIAGNOSTICS_GAP: Duration = Duration::from_secs(5);

/// The diagnostics section's HTML for `lang`, from what the sampler and the census hold;
/// rendered once per change and language, whatever the number of viewers.
pub fn diagnostics_html(
    state: &AppState,
    lang: crate::model::Lang,
    full_census_url: Option<&str>,
) -> std::sync::Arc<str> {
    let key = format!("{}:{}", lang.code(), full_census_url.unwrap_or_default());
    state.sampler.rendered_diagnostics(&key, || {
        let now = crate::server::clock::now_ms();
        let commands = state
            .sampler
            .commands(crate::model::live::HistoryRange::Hour1)
            .unwrap_or_default();
        let mut view = state.sampler.diagnostics();
        view.biggest_keys = state.census.biggest_keys();
        crate::ui::sections::diagnostics::diagnostics_html(
            &view,
            &commands,
            lang,
            now,
            full_census_url,
        )
    })
}

/// The alerts section's HTML of the state's target for `lang` (with the silence forms for
/// callers who may act); rendered once per change, language and rights.
pub fn alerts_html(
    state: &AppState,
    lang: crate::model::Lang,
    can_act: bool,
) -> std::sync::Arc<str> {
    let target = state.redis.name();
    let key = format!("{target}:{}:{can_act}", lang.code());
    state.alerts.rendered(&key, || {
        let base = format!(
            "{}{}/api/alerts",
            state.config.base_path,
            crate::server::http::page::api_prefix(state)
        );
        let urls = can_act.then(|| crate::ui::sections::alerts::SilenceUrls {
            silence: format!("{base}/silence"),
            unsilence: format!("{base}/unsilence"),
        });
        crate::ui::sections::alerts::alerts_html(
            &state.alerts.view(target),
            lang,
            crate::server::clock::now_ms(),
            urls.as_ref(),
        )
    })
}

/// `snapshot` events from the sampler, `census` and `flush` events (progress and results),
/// `rate_limits` events (each walk of the counters reader), `diagnostics` events (the section
/// rendered in the stream's `?lang=`, at most every `DIAGNOSTICS_GAP`), `alerts` events (the
/// alerts section, rendered likewise, on each change); each stream starts with
/// the current value of each.
pub async fn events(
    State(state): State<AppState>,
    request: axum::extract::Request,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, crate::error::AppError> {
    let state = crate::server::http::state_for(&state, &request)?;
    let gap = Duration::from_secs(1) / EVENTS_PER_SECOND;
    let snapshots = throttled(state.sampler.subscribe(), gap)
        .map(|snapshot| Some(event("snapshot", &*snapshot)));
    let census =
        throttled(state.census.subscribe(), gap).map(|census| Some(event("census", &census)));
    let flush = throttled(state.flush.subscribe(), gap).map(|flush| Some(event("flush", &flush)));
    let lang = crate::server::lang::page_language(request.uri().query(), request.headers());
    let can_act = request
        .extensions()
        .get::<crate::server::security::auth::Caller>()
        .is_some_and(|caller| caller.access == crate::server::security::auth::Access::Full);
    let full_census = crate::server::http::page::full_census_url(&state, can_act);
    let diagnostics_state = state.clone();
    let diagnostics =
        throttled(state.sampler.diagnostics_changes(), DIAGNOSTICS_GAP).map(move |_| {
            let html = diagnostics_html(&diagnostics_state, lang, full_census.as_deref());
            Some(html_event("diagnostics", &html))
        });
    let alerts_state = state.clone();
    let alerts = throttled(state.alerts.changes(), gap).map(move |_| {
        let html = alerts_html(&alerts_state, lang, can_act);
        Some(html_event("alerts", &html))
    });
    let counters = state.counters.clone();
    let rate_limits = throttled(counters.subscribe(), gap)
        .filter(|published| published.walks > 0)
        .filter_map(move |published| {
            let report = counters.served(&published).ok()?;
            Some(Some(event("rate_limits", &report)))
        });
    // Open streams would hold a graceful shutdown forever; they end when it begins.
    let stopping = WatchStream::new(state.shutdown.subscribe())
        .filter(|stopping| *stopping)
        .map(|_| None);
    let events = snapshots
        .merge(census)
        .merge(flush)
        .merge(rate_limits)
        .merge(diagnostics)
        .merge(alerts)
        .merge(stopping)
        .take_while(Option::is_some)
        .filter_map(|event| event);
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// The channel's current value, then its latest value at most once per `gap`: changes that
/// come faster are coalesced (latest wins), and the last change is always sent.
pub fn throttled<T: Clone + Send + Sync + 'static>(
    receiver: watch::Receiver<T>,
    gap: Duration,
) -> impl Stream<Item = T> + Send + 'static {
    futures_util::stream::unfold((receiver, true), move |(mut receiver, first)| async move {
        if !first {
            tokio::time::sleep(gap).await;
            receiver.changed().await.ok()?;
        }
        let value = receiver.borrow_and_update().clone();
        Some((value, (receiver, false)))
    })
}

/// HTML as it is (not a JSON string): the browser sets it without decoding anything.
fn html_event(name: &'static str, html: &str) -> Result<Event, Infallible> {
    Ok(Event::default()
        .event(name)
        .retry(RECONNECT_AFTER)
        .data(html))
}

fn event(name: &'static str, data: &impl serde::Serialize) -> Result<Event, Infallible> {
    let event = Event::default().event(name).retry(RECONNECT_AFTER);
    Ok(event
        .json_data(data)
        .unwrap_or_else(|_| Event::default().comment("unserializable")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_burst_of_changes_is_sent_at_most_once_per_gap_and_ends_with_the_last() {
        let (sender, receiver) = watch::channel(0_u32);
        let stream = throttled(receiver, Duration::from_millis(250));
        tokio::pin!(stream);
        assert_eq!(stream.next().await, Some(0));
        let started = tokio::time::Instant::now();
        let producer = tokio::spawn(async move {
            // 100 changes a second for one second.
            for value in 1..=100 {
                tokio::time::sleep(Duration::from_millis(10)).await;
                sender.send_replace(value);
            }
            sender
        });
        let mut seen = Vec::new();
        while seen.last() != Some(&100) {
            seen.push(stream.next().await.unwrap());
        }
        let elapsed = started.elapsed();
        assert!(seen.len() <= 5, "{seen:?} in {elapsed:?}");
        assert_eq!(seen.last(), Some(&100));
        drop(producer.await.unwrap());
        assert_eq!(
            stream.next().await,
            None,
            "the stream ends with its channel"
        );
    }
}
