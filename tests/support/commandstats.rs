//! `INFO commandstats` read as calls per command (`"info" → 12`, …): how the integration
//! tests and the benchmarks count what cachepanel sent to Redis. Included by path by both.

use std::collections::HashMap;

pub fn parse_command_calls(info: &str) -> HashMap<String, u64> {
    info.lines()
        .filter_map(|line| {
            let (name, rest) = line.strip_prefix("cmdstat_")?.split_once(':')?;
            let calls = rest
                .strip_prefix("calls=")?
                .split(',')
                .next()?
                .parse()
                .ok()?;
            Some((name.to_owned(), calls))
        })
        .collect()
}
