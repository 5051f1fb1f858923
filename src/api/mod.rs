//! Server functions: the app's HTTP API. Each has a fixed, documented endpoint under `/api/`
//! (see README "HTTP API") and is a thin adapter over a plain function in `server`.

pub mod stats;

pub use stats::get_stats;
