//! Is Redis saving what it holds: RDB snapshots and the AOF as `INFO persistence` reports
//! them, checked against the server's own `save` rules.

use serde::{Deserialize, Serialize};

use super::info::InfoFields;
use crate::model::wire::FromJson;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, FromJson)]
pub struct PersistenceHealth {
    /// `save` rules as (seconds, changes); empty when RDB snapshots are off or `CONFIG GET`
    /// is not allowed (then `rules_known` is false).
    pub save_rules: Vec<(u64, u64)>,
    pub rules_known: bool,
    /// Unix time of the last successful RDB save (Redis counts its start as one).
    pub last_save_at_ms: Option<i64>,
    /// The last background save's outcome; `None` when INFO did not say.
    pub last_bgsave_ok: Option<bool>,
    pub last_bgsave_seconds: Option<i64>,
    pub bgsave_in_progress: bool,
    pub changes_since_save: u64,
    pub aof_enabled: bool,
    pub aof_last_write_ok: Option<bool>,
    pub aof_last_rewrite_ok: Option<bool>,
    pub aof_rewrite_in_progress: bool,
    /// How long the last fork took: the pause a save or rewrite costs the main thread.
    pub latest_fork_usec: Option<u64>,
    pub warnings: Vec<PersistenceWarning>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, FromJson)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PersistenceWarning {
    /// The last `BGSAVE` failed (disk full, unwritable dir, fork refused…).
    SaveFailed,
    /// A save rule's changes are reached but no save succeeded for over twice its seconds.
    SaveOverdue {
        rule_seconds: u64,
        rule_changes: u64,
    },
    AofWriteFailed,
    AofRewriteFailed,
}

/// Parses the `save` setting ("3600 1 300 100") into (seconds, changes) pairs.
pub fn parse_save_rules(rules: &str) -> Vec<(u64, u64)> {
    let numbers: Vec<u64> = rules
        .split_whitespace()
        .filter_map(|number| number.parse().ok())
        .collect();
    numbers
        .chunks_exact(2)
        .map(|pair| (pair[0], pair[1]))
        .collect()
}

impl PersistenceHealth {
    /// From one `INFO` reading (persistence and stats sections) and the `save` setting when
    /// it could be read; `now_ms` dates the overdue check.
    pub fn from_info(info: &InfoFields, save_rules: Option<&str>, now_ms: i64) -> Self {
        let ok = |field: &str| info.get(field).map(|status| status == "ok");
        let flag = |field: &str| info.u64(field).is_some_and(|value| value == 1);
        let mut health = PersistenceHealth {
            save_rules: save_rules.map(parse_save_rules).unwrap_or_default(),
            rules_known: save_rules.is_some(),
            last_save_at_ms: info
                .u64("rdb_last_save_time")
                .map(|seconds| seconds as i64 * 1000),
            last_bgsave_ok: ok("rdb_last_bgsave_status"),
            last_bgsave_seconds: info
                .get("rdb_last_bgsave_time_sec")
                .and_then(|seconds| seconds.parse().ok())
                .filter(|seconds: &i64| *seconds >= 0),
            bgsave_in_progress: flag("rdb_bgsave_in_progress"),
            changes_since_save: info.u64("rdb_changes_since_last_save").unwrap_or(0),
            aof_enabled: flag("aof_enabled"),
            aof_last_write_ok: ok("aof_last_write_status"),
            aof_last_rewrite_ok: ok("aof_last_bgrewrite_status"),
            aof_rewrite_in_progress: flag("aof_rewrite_in_progress"),
            latest_fork_usec: info.u64("latest_fork_usec"),
            warnings: Vec::new(),
        };
        health.warnings = health.evaluate(now_ms);
        health
    }

    fn evaluate(&self, now_ms: i64) -> Vec<PersistenceWarning> {
        let mut warnings = Vec::new();
        if self.last_bgsave_ok == Some(false) {
            warnings.push(PersistenceWarning::SaveFailed);
        }
        if let Some(last_save_at_ms) = self.last_save_at_ms
            && !self.bgsave_in_progress
        {
            let age_seconds = (now_ms - last_save_at_ms).max(0) as u64 / 1000;
            // Redis saves as soon as any rule is met; twice its period leaves room for a
            // long save and a retry before this counts as overdue.
            let overdue = self.save_rules.iter().find(|(seconds, changes)| {
                self.changes_since_save >= *changes
                    && *changes > 0
                    && age_seconds > (2 * seconds).max(60)
            });
            if let Some((rule_seconds, rule_changes)) = overdue {
                warnings.push(PersistenceWarning::SaveOverdue {
                    rule_seconds: *rule_seconds,
                    rule_changes: *rule_changes,
                });
            }
        }
        if self.aof_enabled {
            if self.aof_last_write_ok == Some(false) {
                warnings.push(PersistenceWarning::AofWriteFailed);
            }
            if self.aof_last_rewrite_ok == Some(false) {
                warnings.push(PersistenceWarning::AofRewriteFailed);
            }
        }
        warnings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(text: &str) -> InfoFields {
        InfoFields::parse(&text.replace(' ', "\r\n"))
    }

    const NOW_MS: i64 = 1_000_000 * 1000;

    #[test]
    fn save_rules_are_pairs_and_an_empty_setting_has_none() {
        assert_eq!(
            parse_save_rules("3600 1 300 100 60 10000"),
            [(3600, 1), (300, 100), (60, 10000)]
        );
        assert!(parse_save_rules("").is_empty());
    }

    #[test]
    fn a_failed_bgsave_and_a_failed_aof_write_are_warnings() {
        let health = PersistenceHealth::from_info(
            &info(
                "rdb_last_bgsave_status:err aof_enabled:1 aof_last_write_status:err aof_last_bgrewrite_status:ok rdb_last_save_time:1000000",
            ),
            Some("3600 1"),
            NOW_MS,
        );
        assert_eq!(
            health.warnings,
            [
                PersistenceWarning::SaveFailed,
                PersistenceWarning::AofWriteFailed
            ]
        );
        assert_eq!(health.aof_last_rewrite_ok, Some(true));
    }

    #[test]
    fn a_met_rule_without_a_save_for_twice_its_period_is_overdue() {
        let reading = |age_seconds: i64, changes: u64| {
            let text = format!(
                "rdb_last_bgsave_status:ok rdb_last_save_time:{} rdb_changes_since_last_save:{changes}",
                NOW_MS / 1000 - age_seconds
            );
            PersistenceHealth::from_info(&info(&text), Some("3600 1 300 100"), NOW_MS).warnings
        };
        assert_eq!(
            reading(601, 100),
            [PersistenceWarning::SaveOverdue {
                rule_seconds: 300,
                rule_changes: 100
            }]
        );
        assert!(reading(599, 100).is_empty(), "within twice the period");
        assert!(reading(7000, 0).is_empty(), "nothing to save");
        assert_eq!(reading(7201, 5).len(), 1, "the hourly rule");
        assert!(reading(7199, 5).is_empty());
    }

    #[test]
    fn without_save_rules_or_with_aof_off_nothing_is_expected() {
        let health = PersistenceHealth::from_info(
            &info(
                "rdb_last_bgsave_status:ok rdb_last_save_time:1 rdb_changes_since_last_save:99999 aof_enabled:0 aof_last_write_status:err",
            ),
            Some(""),
            NOW_MS,
        );
        assert!(health.warnings.is_empty(), "{:?}", health.warnings);
        assert!(health.rules_known && !health.aof_enabled);
    }
}
