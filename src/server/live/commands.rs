//! The commandstats the sampler read, kept so a window of any chart range can be computed
//! without asking Redis again: one reading a minute for the last hour, one every ten minutes
//! up to a day (about 200 readings per target).

use std::collections::VecDeque;

use crate::model::commands::{
    CommandTable, CommandsView, LatencyTable, OwnCalls, commands_between,
};

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
const DAY_MS: i64 = 24 * HOUR_MS;

/// Redis' cumulative commandstats and cachepanel's own counts at one moment.
#[derive(Clone, Debug)]
pub struct CommandReading {
    pub at_ms: i64,
    pub run_id: String,
    pub table: CommandTable,
    pub own: OwnCalls,
    /// Percentiles since Redis started; only the newest reading's are shown.
    pub latency: LatencyTable,
}

#[derive(Debug, Default)]
pub struct CommandHistory {
    kept: VecDeque<CommandReading>,
    latest: Option<CommandReading>,
}

impl CommandHistory {
    /// Adds the newest reading. A restart (another `run_id`) or counters that went down
    /// (`CONFIG RESETSTAT`) start the history over: earlier readings no longer compare.
    pub fn push(&mut self, reading: CommandReading) {
        if reading.table.is_empty() {
            return; // no commandstats in this reply (renamed or forbidden INFO section)
        }
        if let Some(latest) = &self.latest {
            let reset = latest.run_id != reading.run_id
                || latest.table.iter().any(|(name, before)| {
                    reading
                        .table
                        .get(name)
                        .is_none_or(|now| now.calls < before.calls)
                });
            if reset {
                self.kept.clear();
                self.latest = None;
            }
        }
        let keep = self
            .kept
            .back()
            .is_none_or(|last| reading.at_ms - last.at_ms >= MINUTE_MS);
        if keep {
            self.kept.push_back(reading.clone());
            self.thin(reading.at_ms);
        }
        self.latest = Some(reading);
    }

    /// Older than an hour: one reading per ten minutes; older than a day: none.
    fn thin(&mut self, now_ms: i64) {
        while self
            .kept
            .front()
            .is_some_and(|first| now_ms - first.at_ms > DAY_MS)
        {
            self.kept.pop_front();
        }
        let mut last_kept: Option<i64> = None;
        self.kept.retain(|reading| {
            let old = now_ms - reading.at_ms > HOUR_MS;
            let keep = !old || last_kept.is_none_or(|last| reading.at_ms - last >= 10 * MINUTE_MS);
            if keep && old {
                last_kept = Some(reading.at_ms);
            }
            keep
        });
    }

    /// Between the oldest reading inside the last `range_ms` (the oldest there is, if the
    /// history is shorter) and the newest one.
    pub fn view(&self, range_ms: i64) -> Option<CommandsView> {
        let latest = self.latest.as_ref()?;
        let since = latest.at_ms - range_ms;
        let baseline = self
            .kept
            .iter()
            .find(|reading| reading.at_ms >= since)
            .filter(|reading| reading.at_ms < latest.at_ms)?;
        Some(between(baseline, latest))
    }

    /// The newest cumulative figures (for `/metrics`).
    pub fn latest(&self) -> Option<&CommandReading> {
        self.latest.as_ref()
    }

    #[cfg(test)]
    fn readings_kept(&self) -> usize {
        self.kept.len()
    }
}

fn between(earlier: &CommandReading, later: &CommandReading) -> CommandsView {
    commands_between(
        &earlier.table,
        &later.table,
        &earlier.own,
        &later.own,
        &later.latency,
        u64::try_from(later.at_ms - earlier.at_ms).unwrap_or(0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::commands::CommandTotals;

    fn reading(at_ms: i64, run: &str, get_calls: u64) -> CommandReading {
        CommandReading {
            at_ms,
            run_id: run.into(),
            table: CommandTable::from([(
                "get".to_owned(),
                CommandTotals {
                    calls: get_calls,
                    usec: get_calls * 2,
                    ..Default::default()
                },
            )]),
            own: OwnCalls::new(),
            latency: LatencyTable::new(),
        }
    }

    #[test]
    fn windows_compare_the_newest_reading_with_the_oldest_inside_the_range() {
        let mut history = CommandHistory::default();
        for minute in 0..=120 {
            history.push(reading(minute * MINUTE_MS, "a", minute as u64 * 10));
        }
        let hour = history.view(HOUR_MS).expect("a view");
        assert_eq!(hour.window_ms, HOUR_MS as u64);
        assert_eq!(hour.calls, 600);
        let day = history.view(DAY_MS).expect("a view");
        assert_eq!(
            day.window_ms,
            120 * MINUTE_MS as u64,
            "as long as the history is"
        );
        assert!(
            history.readings_kept() <= 60 + 7,
            "older than an hour: one per ten minutes"
        );
    }

    #[test]
    fn a_restart_or_a_reset_starts_over_instead_of_reporting_negative_work() {
        let mut history = CommandHistory::default();
        history.push(reading(0, "a", 100));
        history.push(reading(MINUTE_MS, "a", 200));
        history.push(reading(2 * MINUTE_MS, "b", 5));
        assert!(
            history.view(HOUR_MS).is_none(),
            "one reading since the restart"
        );
        history.push(reading(3 * MINUTE_MS, "b", 25));
        assert_eq!(history.view(HOUR_MS).map(|v| v.calls), Some(20));
        history.push(reading(4 * MINUTE_MS, "b", 3)); // CONFIG RESETSTAT
        history.push(reading(5 * MINUTE_MS, "b", 13));
        assert_eq!(history.view(HOUR_MS).map(|v| v.calls), Some(10));
    }
}
