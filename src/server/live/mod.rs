//! Live stats: one sampler per target reads `INFO` + `DBSIZE` every interval (`info`), derives
//! rates, keeps the bounded 24 h history (`history`) and the commandstats readings
//! (`commands`), reads the slow log, clients and persistence health (`diagnostics`) and
//! publishes what every page, API call and event stream reads — never Redis itself.

pub mod commands;
pub mod diagnostics;
pub mod history;
pub mod info;
pub mod persisted;
pub mod sampler;
pub mod settings;
pub mod slowlog;
