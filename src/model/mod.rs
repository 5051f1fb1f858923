//! Plain data shared by the server and the WASM client: serde types and pure derivations.
//! No I/O here; everything is unit-tested from captured fixtures.

pub mod alerts;
pub mod census;
pub mod clients;
pub mod cluster;
pub mod commands;
pub mod diagnostics;
pub mod flush;
pub mod forecast;
pub mod format;
pub mod health;
pub mod info;
pub mod live;
pub mod page;
pub mod persistence;
pub mod prefix;
pub mod rate_limit;
pub mod rates;
pub mod redis_config;
pub mod slowlog;
pub mod stats;
pub mod topology;
pub mod wire;

pub use page::{Lang, PageConfig};
pub use stats::{RedisStats, StatsReport};
