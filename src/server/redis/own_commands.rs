//! Commands cachepanel itself sent, counted by name: Redis times commands per command, not per
//! client, so cachepanel's own share of Redis' time is its counts times each command's mean
//! time (`model::commands`).

use std::sync::Mutex;

use crate::model::commands::{OwnCalls, counted_name};

/// Cumulative calls per command name (`info`, `config|get`, …) that Redis answered.
#[derive(Debug, Default)]
pub struct OwnCommands {
    calls: Mutex<OwnCalls>,
}

impl OwnCommands {
    pub fn count<'a>(&self, commands: impl Iterator<Item = &'a redis::Cmd>) {
        let Ok(mut calls) = self.calls.lock() else {
            return;
        };
        for command in commands {
            let mut args = command.args_iter().filter_map(|arg| match arg {
                redis::Arg::Simple(bytes) => Some(bytes),
                _ => None,
            });
            let Some(name) = args.next() else { continue };
            *calls.entry(counted_name(name, args.next())).or_default() += 1;
        }
    }

    /// The counts so far; they only grow.
    pub fn totals(&self) -> OwnCalls {
        self.calls
            .lock()
            .map(|calls| calls.clone())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_commands_and_pipelines_by_name_and_subcommand() {
        let own = OwnCommands::default();
        let mut info = redis::cmd("INFO");
        info.arg("default").arg("commandstats");
        own.count(std::iter::once(&info));
        let mut pipe = redis::pipe();
        pipe.cmd("CONFIG")
            .arg("GET")
            .arg("save")
            .cmd("DBSIZE")
            .cmd("info");
        own.count(pipe.cmd_iter());
        let totals = own.totals();
        assert_eq!(totals.get("info"), Some(&2));
        assert_eq!(totals.get("config|get"), Some(&1));
        assert_eq!(totals.get("dbsize"), Some(&1));
    }
}
