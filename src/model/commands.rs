//! What is costing Redis time, per command: `INFO commandstats` read into cumulative totals,
//! and the difference of two readings into a window's view (calls/s, share of Redis' time,
//! µs per call, failed and rejected calls), with cachepanel's own commands estimated apart.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::info::InfoFields;
use crate::model::wire::FromJson;

/// Commands that block Redis' single thread for as long as the keyspace (or the disk) takes;
/// one of them in a window is worth a warning on its own.
pub const BLOCKING_COMMANDS: [&str; 6] =
    ["keys", "flushdb", "flushall", "save", "debug", "monitor"];

/// How many commands a view lists (by time spent); the rest are summed into the totals.
pub const LISTED_COMMANDS: usize = 25;

/// One command's cumulative figures since Redis started (or since `CONFIG RESETSTAT`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandTotals {
    pub calls: u64,
    pub usec: u64,
    pub rejected_calls: u64,
    pub failed_calls: u64,
}

/// Cumulative figures per command name, as `INFO commandstats` names them (lower case;
/// Redis 7 names subcommands `config|get`).
pub type CommandTable = BTreeMap<String, CommandTotals>;

/// The `cmdstat_*` lines of an `INFO` reply. Absent (an empty table) when the reply had no
/// commandstats section.
pub fn command_totals(info: &InfoFields) -> CommandTable {
    info.with_prefix("cmdstat_")
        .filter_map(|(name, value)| Some((name.to_ascii_lowercase(), parse_line(value)?)))
        .collect()
}

/// `calls=3,usec=25,usec_per_call=8.33,rejected_calls=0,failed_calls=0` (Redis < 6.2 has no
/// rejected/failed fields: they read as 0).
fn parse_line(value: &str) -> Option<CommandTotals> {
    let mut totals = CommandTotals::default();
    let mut has_calls = false;
    for part in value.split(',') {
        let (key, number) = part.split_once('=')?;
        let field = match key {
            "calls" => {
                has_calls = true;
                &mut totals.calls
            }
            "usec" => &mut totals.usec,
            "rejected_calls" => &mut totals.rejected_calls,
            "failed_calls" => &mut totals.failed_calls,
            _ => continue,
        };
        *field = number.parse().ok()?;
    }
    has_calls.then_some(totals)
}

/// Latency percentiles of one command since Redis started (or `CONFIG RESETSTAT`), in µs,
/// from `INFO latencystats` (Redis ≥ 7, `latency-tracking yes`, the default).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize, FromJson)]
pub struct LatencyPercentiles {
    pub p50_usec: Option<f64>,
    pub p99_usec: Option<f64>,
    pub p999_usec: Option<f64>,
}

pub type LatencyTable = BTreeMap<String, LatencyPercentiles>;

/// The `latency_percentiles_usec_*` lines (`p50=6.015,p99=11.007,p99.9=11.007`); the
/// percentiles Redis is configured to report other than these three are left out.
pub fn latency_percentiles(info: &InfoFields) -> LatencyTable {
    info.with_prefix("latency_percentiles_usec_")
        .map(|(name, value)| {
            let mut found = LatencyPercentiles::default();
            for (key, number) in value.split(',').filter_map(|part| part.split_once('=')) {
                let slot = match key {
                    "p50" => &mut found.p50_usec,
                    "p99" => &mut found.p99_usec,
                    "p99.9" => &mut found.p999_usec,
                    _ => continue,
                };
                *slot = number.parse().ok();
            }
            (name.to_ascii_lowercase(), found)
        })
        .collect()
}

/// A cluster's percentiles: per command, the slowest master's (percentiles do not add up).
pub fn slowest_latency(tables: &[LatencyTable]) -> LatencyTable {
    let mut slowest = LatencyTable::new();
    let max = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    for table in tables {
        for (name, figures) in table {
            let entry = slowest.entry(name.clone()).or_default();
            entry.p50_usec = max(entry.p50_usec, figures.p50_usec);
            entry.p99_usec = max(entry.p99_usec, figures.p99_usec);
            entry.p999_usec = max(entry.p999_usec, figures.p999_usec);
        }
    }
    slowest
}

/// The masters' tables of a cluster summed into one.
pub fn sum_tables(tables: &[CommandTable]) -> CommandTable {
    let mut sum = CommandTable::new();
    for table in tables {
        for (name, totals) in table {
            let entry = sum.entry(name.clone()).or_default();
            entry.calls += totals.calls;
            entry.usec += totals.usec;
            entry.rejected_calls += totals.rejected_calls;
            entry.failed_calls += totals.failed_calls;
        }
    }
    sum
}

/// One command over a window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, FromJson)]
pub struct CommandRow {
    pub command: String,
    pub calls: u64,
    pub calls_per_second: f64,
    /// Time Redis spent executing it, in µs.
    pub usec: u64,
    /// Of all the time Redis spent executing commands in the window, in percent.
    pub share_percent: f64,
    pub usec_per_call: f64,
    pub failed_calls: u64,
    pub rejected_calls: u64,
    /// Calls cachepanel itself sent (counted on its own connections).
    pub own_calls: u64,
    /// One of [`BLOCKING_COMMANDS`].
    pub blocking: bool,
    /// Its latency percentiles since Redis started (not per window: Redis keeps one histogram
    /// per command); absent before Redis 7 or with latency tracking off.
    #[serde(default)]
    pub latency: Option<LatencyPercentiles>,
}

/// What Redis spent its time on in a window, and how much of it was cachepanel's doing.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, FromJson)]
pub struct CommandsView {
    /// The window's length; shorter than the asked range while cachepanel has not yet watched
    /// that long, or since Redis' counters were reset (restart, `CONFIG RESETSTAT`).
    pub window_ms: u64,
    pub calls: u64,
    pub usec: u64,
    /// The most expensive commands first, at most [`LISTED_COMMANDS`].
    pub rows: Vec<CommandRow>,
    /// Blocking commands that ran in the window, by name.
    pub blocking: Vec<String>,
    /// Redis time of cachepanel's own commands: its calls of each command times that
    /// command's mean time in the window (Redis does not time commands per client).
    pub own_usec: u64,
    pub own_share_percent: f64,
}

/// Own calls per command name, cumulative, as cachepanel counted them.
pub type OwnCalls = BTreeMap<String, u64>;

/// The view of the window between two readings `window_ms` apart. A command whose counters
/// went down was reset in between: its figures since the reset are used.
pub fn commands_between(
    earlier: &CommandTable,
    later: &CommandTable,
    own_earlier: &OwnCalls,
    own_later: &OwnCalls,
    latency: &LatencyTable,
    window_ms: u64,
) -> CommandsView {
    let seconds = window_ms as f64 / 1000.0;
    let mut rows: Vec<CommandRow> = later
        .iter()
        .filter_map(|(name, now)| {
            let before = earlier.get(name).copied().unwrap_or_default();
            let delta = if now.calls < before.calls || now.usec < before.usec {
                *now
            } else {
                CommandTotals {
                    calls: now.calls - before.calls,
                    usec: now.usec - before.usec,
                    rejected_calls: now.rejected_calls.saturating_sub(before.rejected_calls),
                    failed_calls: now.failed_calls.saturating_sub(before.failed_calls),
                }
            };
            if delta.calls == 0 && delta.failed_calls == 0 && delta.rejected_calls == 0 {
                return None;
            }
            let own_calls = own_delta(name, own_earlier, own_later).min(delta.calls);
            Some(CommandRow {
                command: name.clone(),
                calls: delta.calls,
                calls_per_second: if seconds > 0.0 {
                    delta.calls as f64 / seconds
                } else {
                    0.0
                },
                usec: delta.usec,
                share_percent: 0.0,
                usec_per_call: if delta.calls > 0 {
                    delta.usec as f64 / delta.calls as f64
                } else {
                    0.0
                },
                failed_calls: delta.failed_calls,
                rejected_calls: delta.rejected_calls,
                own_calls,
                blocking: is_blocking(name),
                latency: latency.get(name).copied(),
            })
        })
        .collect();
    let usec: u64 = rows.iter().map(|row| row.usec).sum();
    let calls: u64 = rows.iter().map(|row| row.calls).sum();
    let own_usec: u64 = rows
        .iter()
        .map(|row| (row.usec_per_call * row.own_calls as f64).round() as u64)
        .sum::<u64>()
        .min(usec);
    for row in &mut rows {
        row.share_percent = percent(row.usec, usec);
    }
    let blocking = rows
        .iter()
        .filter(|row| row.blocking)
        .map(|row| row.command.clone())
        .collect();
    rows.sort_by(|a, b| {
        b.usec
            .cmp(&a.usec)
            .then(b.calls.cmp(&a.calls))
            .then(a.command.cmp(&b.command))
    });
    rows.truncate(LISTED_COMMANDS);
    CommandsView {
        window_ms,
        calls,
        usec,
        rows,
        blocking,
        own_usec,
        own_share_percent: percent(own_usec, usec),
    }
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

/// `debug|sleep` is `debug`'s; `keys` is itself.
fn is_blocking(name: &str) -> bool {
    let base = name.split('|').next().unwrap_or(name);
    BLOCKING_COMMANDS.contains(&base)
}

/// cachepanel's calls of `name` in the window. Its counters name container commands with
/// their subcommand (`config|get`), as Redis 7 does; on Redis 6 the table has only `config`,
/// which then collects all of them.
fn own_delta(name: &str, earlier: &OwnCalls, later: &OwnCalls) -> u64 {
    let delta = |key: &str| {
        later
            .get(key)
            .copied()
            .unwrap_or(0)
            .saturating_sub(earlier.get(key).copied().unwrap_or(0))
    };
    if name.contains('|') {
        return delta(name);
    }
    let prefix = format!("{name}|");
    delta(name)
        + later
            .keys()
            .filter(|key| key.starts_with(&prefix))
            .map(|key| delta(key))
            .sum::<u64>()
}

/// The name a command is counted under on cachepanel's side: lower case, with the subcommand
/// for the commands Redis 7 reports by subcommand.
pub fn counted_name(command: &[u8], subcommand: Option<&[u8]>) -> String {
    const CONTAINERS: [&str; 14] = [
        "acl", "client", "cluster", "command", "config", "debug", "function", "latency", "memory",
        "module", "object", "pubsub", "script", "slowlog",
    ];
    let name = String::from_utf8_lossy(command).to_ascii_lowercase();
    match subcommand {
        Some(sub) if CONTAINERS.contains(&name.as_str()) => {
            format!(
                "{name}|{}",
                String::from_utf8_lossy(sub).to_ascii_lowercase()
            )
        }
        _ => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATS: &str = "# Commandstats\r\n\
        cmdstat_get:calls=100,usec=200,usec_per_call=2.00,rejected_calls=1,failed_calls=0\r\n\
        cmdstat_keys:calls=2,usec=9000,usec_per_call=4500.00,rejected_calls=0,failed_calls=0\r\n\
        cmdstat_info:calls=10,usec=800,usec_per_call=80.00,rejected_calls=0,failed_calls=0\r\n\
        cmdstat_config|get:calls=4,usec=40,usec_per_call=10.00,rejected_calls=0,failed_calls=2\r\n\
        cmdstat_legacy:calls=7,usec=70,usec_per_call=10.00\r\n";

    #[test]
    fn reads_commandstats_lines_with_and_without_the_redis_7_fields() {
        let table = command_totals(&InfoFields::parse(STATS));
        assert_eq!(
            table["get"],
            CommandTotals {
                calls: 100,
                usec: 200,
                rejected_calls: 1,
                failed_calls: 0
            }
        );
        assert_eq!(table["config|get"].failed_calls, 2);
        assert_eq!(
            table["legacy"],
            CommandTotals {
                calls: 7,
                usec: 70,
                ..Default::default()
            }
        );
        assert_eq!(table.len(), 5);
        assert!(command_totals(&InfoFields::parse("used_memory:1\r\n")).is_empty());
    }

    #[test]
    fn a_window_ranks_by_time_flags_blocking_commands_and_estimates_own_time() {
        let earlier = command_totals(&InfoFields::parse(STATS));
        let mut later = earlier.clone();
        later.get_mut("get").unwrap().calls += 50;
        later.get_mut("get").unwrap().usec += 100;
        later.get_mut("keys").unwrap().calls += 1;
        later.get_mut("keys").unwrap().usec += 4000;
        later.get_mut("info").unwrap().calls += 5;
        later.get_mut("info").unwrap().usec += 500;
        let own_earlier = OwnCalls::from([("info".to_owned(), 3)]);
        let own_later = OwnCalls::from([("info".to_owned(), 7), ("get".to_owned(), 0)]);
        let latency = latency_percentiles(&InfoFields::parse(
            "latency_percentiles_usec_keys:p50=3997.695,p99=4014.079,p99.9=4014.079\r\n\
             latency_percentiles_usec_get:p50=1.003,p99=2.007\r\n",
        ));
        let view = commands_between(&earlier, &later, &own_earlier, &own_later, &latency, 10_000);
        assert_eq!(
            view.rows[0].latency.and_then(|l| l.p999_usec),
            Some(4014.079)
        );
        assert_eq!(view.rows[2].latency.and_then(|l| l.p50_usec), Some(1.003));
        assert_eq!(view.rows[2].latency.and_then(|l| l.p999_usec), None);
        assert_eq!(view.rows[1].latency, None, "INFO had no percentiles line");
        let names: Vec<&str> = view.rows.iter().map(|row| row.command.as_str()).collect();
        assert_eq!(
            names,
            ["keys", "info", "get"],
            "unchanged commands are left out"
        );
        assert_eq!(view.usec, 4600);
        assert_eq!(view.blocking, ["keys"]);
        assert!(view.rows[0].blocking && !view.rows[2].blocking);
        assert!((view.rows[2].calls_per_second - 5.0).abs() < 1e-9);
        assert!((view.rows[0].usec_per_call - 4000.0).abs() < 1e-9);
        // 4 of the window's 5 INFO calls were cachepanel's, at 100 µs each.
        assert_eq!(view.rows[1].own_calls, 4);
        assert_eq!(view.own_usec, 400);
        assert!((view.own_share_percent - 400.0 * 100.0 / 4600.0).abs() < 1e-9);
    }

    #[test]
    fn counters_that_went_down_count_from_their_reset() {
        let earlier = CommandTable::from([(
            "get".to_owned(),
            CommandTotals {
                calls: 100,
                usec: 500,
                ..Default::default()
            },
        )]);
        let later = CommandTable::from([(
            "get".to_owned(),
            CommandTotals {
                calls: 3,
                usec: 9,
                ..Default::default()
            },
        )]);
        let view = commands_between(
            &earlier,
            &later,
            &OwnCalls::new(),
            &OwnCalls::new(),
            &LatencyTable::new(),
            1000,
        );
        assert_eq!(view.rows[0].calls, 3);
        assert_eq!(view.usec, 9);
    }

    #[test]
    fn own_calls_of_a_container_command_match_either_naming() {
        let own = OwnCalls::from([("config|get".to_owned(), 2), ("config|set".to_owned(), 1)]);
        assert_eq!(own_delta("config|get", &OwnCalls::new(), &own), 2);
        assert_eq!(
            own_delta("config", &OwnCalls::new(), &own),
            3,
            "Redis 6 names only `config`"
        );
        assert_eq!(counted_name(b"CONFIG", Some(b"GET")), "config|get");
        assert_eq!(counted_name(b"get", Some(b"user:1")), "get");
        assert_eq!(counted_name(b"INFO", None), "info");
    }

    #[test]
    fn a_clusters_latency_is_its_slowest_masters() {
        let node = |p99: f64| {
            LatencyTable::from([(
                "get".to_owned(),
                LatencyPercentiles {
                    p50_usec: Some(1.0),
                    p99_usec: Some(p99),
                    p999_usec: None,
                },
            )])
        };
        let slowest = slowest_latency(&[node(2.0), node(9.0)]);
        assert_eq!(slowest["get"].p99_usec, Some(9.0));
        assert_eq!(slowest["get"].p999_usec, None);
    }

    #[test]
    fn clusters_sum_their_masters_tables() {
        let one = CommandTable::from([(
            "get".to_owned(),
            CommandTotals {
                calls: 1,
                usec: 2,
                rejected_calls: 3,
                failed_calls: 4,
            },
        )]);
        let sum = sum_tables(&[one.clone(), one]);
        assert_eq!(
            sum["get"],
            CommandTotals {
                calls: 2,
                usec: 4,
                rejected_calls: 6,
                failed_calls: 8
            }
        );
    }
}
