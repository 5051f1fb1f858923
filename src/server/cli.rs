//! Command line: `cachepanel [serve]` runs the dashboard; `cachepanel check` validates the
//! configuration and every Redis it names; `cachepanel demo` runs the demo workload against a
//! Redis of your choice.

use clap::{Parser, Subcommand};

use crate::server::config::LogFormat;

#[derive(Debug, Parser)]
#[command(
    name = "cachepanel",
    version,
    about = "Live dashboard for a production Redis cache"
)]
pub struct Cli {
    /// A TOML file of settings (`redis_url = "…"`, …: the CACHEPANEL_* names without the prefix,
    /// in lower case). Environment variables override it.
    #[arg(long, global = true, value_name = "FILE", env = "CACHEPANEL_CONFIG")]
    pub config: Option<std::path::PathBuf>,
    /// Log lines for people (`human`, the default) or for log collectors (`json`, one object
    /// per line). Wins over CACHEPANEL_LOG_FORMAT and the file's `log_format`.
    #[arg(long, global = true, value_enum)]
    pub log_format: Option<LogFormat>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the dashboard (the default).
    ///
    /// Configured by CACHEPANEL_* environment variables and, optionally, a --config file.
    Serve,
    /// Validate the configuration and reach every configured Redis.
    ///
    /// Prints the effective settings (secrets redacted) and each server's version, memory
    /// limit, eviction policy and persistence; exits non-zero with the reason when something
    /// is wrong.
    Check {
        /// Also send a test message to every alert channel (Telegram, the webhook) and fail
        /// when one does not take it.
        #[arg(long)]
        test_alert: bool,
    },
    /// Run the demo workload (production-shaped cache and rate-limit traffic) until Ctrl-C.
    Demo {
        /// Redis to write to; refused when it holds keys the demo did not write.
        #[arg(long, env = "CACHEPANEL_REDIS_URL", hide_env_values = true)]
        redis_url: String,
        /// Run even though the Redis holds other keys.
        #[arg(long)]
        force: bool,
    },
}
