//! Live stats: one sampler per target reads `INFO` + `DBSIZE` every interval (`info`), derives
//! rates, keeps the bounded 24 h history (`history`) and the commandstats readings (`commands`) and publishes a snapshot that every page,
//! API call and event stream reads — never Redis itself.

pub mod commands;
pub mod history;
pub mod info;
pub mod sampler;
pub mod settings;
