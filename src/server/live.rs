//! `GET /api/live/events`: server-sent events fed from the sampler's and the census' watch
//! channels, so a thousand open tabs cost no Redis command. Browsers reconnect by themselves
//! (EventSource).

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use tokio_stream::wrappers::WatchStream;
use tokio_stream::{Stream, StreamExt as _};

use crate::server::state::AppState;

/// Browsers wait this long before reconnecting after the stream breaks.
const RECONNECT_AFTER: Duration = Duration::from_secs(2);

/// `snapshot` events from the sampler, `census` and `flush` events (progress and results);
/// each stream starts with the current value.
pub async fn events(
    State(state): State<AppState>,
    request: axum::extract::Request,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, crate::error::AppError> {
    let state = super::state_for(&state, &request)?;
    let snapshots = WatchStream::new(state.sampler.subscribe())
        .map(|snapshot| Some(event("snapshot", &*snapshot)));
    let census =
        WatchStream::new(state.census.subscribe()).map(|census| Some(event("census", &census)));
    let flush = WatchStream::new(state.flush.subscribe()).map(|flush| Some(event("flush", &flush)));
    // Open streams would hold a graceful shutdown forever; they end when it begins.
    let stopping = WatchStream::new(state.shutdown.subscribe())
        .filter(|stopping| *stopping)
        .map(|_| None);
    let events = snapshots
        .merge(census)
        .merge(flush)
        .merge(stopping)
        .take_while(Option::is_some)
        .filter_map(|event| event);
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

fn event(name: &'static str, data: &impl serde::Serialize) -> Result<Event, Infallible> {
    let event = Event::default().event(name).retry(RECONNECT_AFTER);
    Ok(event
        .json_data(data)
        .unwrap_or_else(|_| Event::default().comment("unserializable")))
}
