//! Server functions: the app's HTTP API. Each has a fixed, documented endpoint under `/api/`
//! (see README "HTTP API") and is a thin adapter over a plain function in `server`.

pub mod alerts;
pub mod census;
pub mod encoding;
pub mod flush;
pub mod live;
pub mod rate_limit;
pub mod stats;

pub use alerts::{get_alerts, silence_alert, unsilence_alert};
pub use census::{cancel_census, get_census, start_census};
pub use flush::{cancel_flush, flush_prefix, get_audit, get_flush, preview_flush};
pub use live::{get_commands, get_history, get_live_snapshot};
pub use rate_limit::{get_rate_limits, refresh_rate_limits, reset_rate_limit};
pub use stats::get_stats;
