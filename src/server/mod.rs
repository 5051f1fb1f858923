//! Everything that runs only on the server, in layers whose imports point down:
//!
//! | layer | modules | role |
//! |---|---|---|
//! | entry points | `run`, `check`, `demo`, `cli`, `http`, `metrics` | start, serve HTTP, answer scrapes |
//! | composition | `state`, `config` | wire the features together; the registry of every variable |
//! | features | `live`, `census`, `flush`, `rate_limit`, `audit`, `security` | what the dashboard does; each reads its own settings |
//! | infrastructure | `redis`, `job` | connections, timeouts, the one keyspace walker; one run at a time |
//! | leaves | `env`, `clock`, `lang`, `site` | `Env` and its typed readers, secrets, the clock, the page language, the built client's files |

pub mod alerts;
pub mod audit;
pub mod census;
mod check;
pub mod cli;
pub mod clock;
pub mod config;
pub mod demo;
pub mod env;
pub mod flush;
pub mod http;
pub mod job;
pub mod lang;
pub mod live;
pub mod metrics;
pub mod rate_limit;
pub mod redis;
mod run;
pub mod security;
pub mod site;
pub mod state;

pub use http::page::STATS_PAGE_PATH;
pub use http::router;
pub use run::run;
