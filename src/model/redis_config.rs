//! The Redis configuration panel: what the server runs with, compared with the profile the
//! production cache is expected to have. Fields that `CONFIG` may not read (renamed command,
//! ACL) are `None` and shown as "unavailable"; the password itself is never read into here.

use serde::{Deserialize, Serialize};

use super::info::InfoFields;
use crate::model::wire::FromJson;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, FromJson)]
pub struct RedisConfigView {
    pub version: String,
    pub role: String,
    pub uptime_seconds: u64,
    pub connected_clients: u64,
    pub maxmemory_bytes: Option<u64>,
    pub maxmemory_policy: Option<String>,
    /// `save` rules, e.g. "3600 1 300 100"; empty means RDB snapshots are off.
    pub save_rules: Option<String>,
    pub appendonly: Option<bool>,
    pub password_required: Option<bool>,
}

/// Answers of `CONFIG GET` for the fields INFO does not carry; `None` where CONFIG failed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConfigAnswers {
    pub save_rules: Option<String>,
    pub password_required: Option<bool>,
    /// For the slow log and the latency monitor (not part of the config view).
    pub slowlog_slower_than_usec: Option<i64>,
    pub slowlog_max_len: Option<u64>,
    pub latency_monitor_threshold_ms: Option<u64>,
}

impl RedisConfigView {
    pub fn new(info: &InfoFields, answers: &ConfigAnswers) -> Self {
        Self {
            version: info.get("redis_version").unwrap_or_default().to_owned(),
            role: info.get("role").unwrap_or_default().to_owned(),
            uptime_seconds: info.u64("uptime_in_seconds").unwrap_or(0),
            connected_clients: info.u64("connected_clients").unwrap_or(0),
            maxmemory_bytes: info.u64("maxmemory"),
            maxmemory_policy: info.get("maxmemory_policy").map(str::to_owned),
            save_rules: answers.save_rules.clone(),
            appendonly: info.get("aof_enabled").map(|value| value == "1"),
            password_required: answers.password_required,
        }
    }
}

/// The configuration production is expected to run with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, FromJson)]
pub struct ExpectedProfile {
    pub maxmemory_bytes: u64,
    pub maxmemory_policy: String,
    pub rdb_save: bool,
    pub appendonly: bool,
    pub password_required: bool,
}

impl Default for ExpectedProfile {
    fn default() -> Self {
        Self {
            maxmemory_bytes: 512 * 1024 * 1024,
            maxmemory_policy: "allkeys-lru".into(),
            rdb_save: true,
            appendonly: true,
            password_required: true,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, FromJson)]
#[serde(rename_all = "snake_case")]
pub enum ConfigField {
    Maxmemory,
    MaxmemoryPolicy,
    RdbSave,
    Appendonly,
    PasswordRequired,
}

/// Fields whose known value differs from the expected profile. Unknown fields are not
/// mismatches (they are shown as unavailable instead).
pub fn mismatches(view: &RedisConfigView, expected: &ExpectedProfile) -> Vec<ConfigField> {
    let mut fields = Vec::new();
    if view
        .maxmemory_bytes
        .is_some_and(|v| v != expected.maxmemory_bytes)
    {
        fields.push(ConfigField::Maxmemory);
    }
    if view
        .maxmemory_policy
        .as_ref()
        .is_some_and(|v| *v != expected.maxmemory_policy)
    {
        fields.push(ConfigField::MaxmemoryPolicy);
    }
    if view
        .save_rules
        .as_ref()
        .is_some_and(|v| v.trim().is_empty() == expected.rdb_save)
    {
        fields.push(ConfigField::RdbSave);
    }
    if view.appendonly.is_some_and(|v| v != expected.appendonly) {
        fields.push(ConfigField::Appendonly);
    }
    if view
        .password_required
        .is_some_and(|v| v != expected.password_required)
    {
        fields.push(ConfigField::PasswordRequired);
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRESH: &str = include_str!("../../tests/fixtures/info_7.0_fresh.txt");

    #[test]
    fn a_default_redis_differs_from_the_production_profile_everywhere() {
        let answers = ConfigAnswers {
            save_rules: Some(String::new()),
            password_required: Some(false),
            ..ConfigAnswers::default()
        };
        let view = RedisConfigView::new(&InfoFields::parse(FRESH), &answers);
        assert_eq!(view.role, "master");
        assert_eq!(view.appendonly, Some(false));
        assert_eq!(
            mismatches(&view, &ExpectedProfile::default()),
            vec![
                ConfigField::Maxmemory,
                ConfigField::MaxmemoryPolicy,
                ConfigField::RdbSave,
                ConfigField::Appendonly,
                ConfigField::PasswordRequired
            ]
        );
    }

    #[test]
    fn a_production_like_redis_matches() {
        let info =
            InfoFields::parse("maxmemory:536870912\nmaxmemory_policy:allkeys-lru\naof_enabled:1\n");
        let answers = ConfigAnswers {
            save_rules: Some("3600 1 300 100".into()),
            password_required: Some(true),
            ..ConfigAnswers::default()
        };
        let view = RedisConfigView::new(&info, &answers);
        assert!(mismatches(&view, &ExpectedProfile::default()).is_empty());
    }

    #[test]
    fn fields_config_cannot_read_are_unavailable_not_mismatched() {
        let info =
            InfoFields::parse("maxmemory:536870912\nmaxmemory_policy:allkeys-lru\naof_enabled:1\n");
        let view = RedisConfigView::new(&info, &ConfigAnswers::default());
        assert_eq!(view.save_rules, None);
        assert_eq!(view.password_required, None);
        assert!(mismatches(&view, &ExpectedProfile::default()).is_empty());
    }
}
