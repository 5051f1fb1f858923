//! `GET /api/live/events`: server-sent events fed from the sampler's one watch channel, so a
//! thousand open tabs cost no Redis command. Browsers reconnect by themselves (EventSource).

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use tokio_stream::wrappers::WatchStream;
use tokio_stream::{Stream, StreamExt as _};

use crate::server::sampler::SamplerHandle;

/// Browsers wait this long before reconnecting after the stream breaks.
const RECONNECT_AFTER: Duration = Duration::from_secs(2);

pub async fn events(
    State(sampler): State<SamplerHandle>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    // The first item is the current snapshot; afterwards one per sampler publication.
    let stream = WatchStream::new(sampler.subscribe()).map(|snapshot| {
        let event = Event::default().event("snapshot").retry(RECONNECT_AFTER);
        Ok(event
            .json_data(&*snapshot)
            .unwrap_or_else(|_| Event::default().comment("unserializable")))
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
