//! Command line: `cachepanel [serve]` runs the dashboard; `cachepanel demo` runs the demo
//! workload against a Redis of your choice.

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "cachepanel",
    version,
    about = "Live dashboard for a production Redis cache"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the dashboard (the default). Configured by CACHEPANEL_* environment variables.
    Serve,
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
