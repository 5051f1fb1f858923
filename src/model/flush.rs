//! Prefix flush: the rules of what may be flushed (pure, unit-tested), glob escaping for
//! `SCAN MATCH`, and the records of previews, runs and the audit trail.

use serde::{Deserialize, Serialize};

use super::census::{GroupKind, PrefixGroup};
use super::prefix::{glob_escape, is_glob_char};

/// Longest prefix accepted (bytes); Redis keys can be longer, prefixes need not be.
pub const MAX_PREFIX_BYTES: usize = 4096;

/// A literal key prefix, validated on construction: not empty, not whitespace only, not only
/// glob characters, no control characters, at most `MAX_PREFIX_BYTES`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct KeyPrefix(String);

impl KeyPrefix {
    pub fn new(text: &str) -> Result<Self, PrefixProblem> {
        if text.trim().is_empty() {
            return Err(PrefixProblem::Empty);
        }
        if text.len() > MAX_PREFIX_BYTES {
            return Err(PrefixProblem::TooLong);
        }
        if text.chars().all(|c| is_glob_char(c) || c.is_whitespace()) {
            return Err(PrefixProblem::OnlyGlobCharacters);
        }
        if text.chars().any(char::is_control) {
            return Err(PrefixProblem::ControlCharacters);
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// `SCAN … MATCH` pattern for keys starting with this literal prefix.
    pub fn scan_pattern(&self) -> Vec<u8> {
        let mut pattern = glob_escape(self.as_bytes());
        pattern.push(b'*');
        pattern
    }
}

impl<'de> Deserialize<'de> for KeyPrefix {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::new(&text).map_err(serde::de::Error::custom)
    }
}

/// Why a text is no prefix at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PrefixProblem {
    #[error("the prefix is empty: flushing everything is never allowed")]
    Empty,
    #[error("the prefix is longer than {MAX_PREFIX_BYTES} bytes")]
    TooLong,
    #[error("the prefix is only glob characters; prefixes are literal, not patterns")]
    OnlyGlobCharacters,
    #[error("the prefix contains control characters")]
    ControlCharacters,
}

/// What an audit entry records. Entries keep the name as a string (`AuditEntry::action`), so
/// entries written by other versions still read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditAction {
    Preview,
    FlushStarted,
    FlushFinished,
    FlushInterrupted,
    ResetRateLimit,
}

impl AuditAction {
    pub fn name(self) -> &'static str {
        match self {
            Self::Preview => "preview",
            Self::FlushStarted => "flush_started",
            Self::FlushFinished => "flush_finished",
            Self::FlushInterrupted => "flush_interrupted",
            Self::ResetRateLimit => "reset_rate_limit",
        }
    }
}

/// Why a prefix may not be flushed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum Refusal {
    #[error("'{0}' holds application state (group '{1}'), which the cache flush never touches")]
    StateGroup(String, String),
    #[error("'{0}' is not under a cache group; flushable prefixes start with one of: {1}")]
    NotACacheGroup(String, String),
}

/// A prefix may be flushed when it starts with a cache group's prefix and no state group's
/// keys can start with it (nor it with a state group's prefix).
pub fn check_flushable(prefix: &KeyPrefix, groups: &[PrefixGroup]) -> Result<(), Refusal> {
    let text = prefix.as_str();
    for group in groups.iter().filter(|g| g.kind == GroupKind::State) {
        if text.starts_with(&group.prefix) || group.prefix.starts_with(text) {
            return Err(Refusal::StateGroup(text.to_owned(), group.prefix.clone()));
        }
    }
    let under_cache = groups
        .iter()
        .any(|g| g.kind == GroupKind::Cache && text.starts_with(&g.prefix));
    if !under_cache {
        let cache: Vec<&str> = groups
            .iter()
            .filter(|g| g.kind == GroupKind::Cache)
            .map(|g| g.prefix.as_str())
            .collect();
        return Err(Refusal::NotACacheGroup(text.to_owned(), cache.join(", ")));
    }
    Ok(())
}

/// Step one: what a flush of `prefix` would remove, counted by a full SCAN.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FlushPreview {
    pub id: String,
    pub prefix: String,
    pub keys: u64,
    pub sample_names: Vec<String>,
    pub estimated_bytes: u64,
    /// Why `estimated_bytes` could not be measured (it is 0 then, not an estimate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimate_error: Option<String>,
    pub created_at_ms: i64,
    pub duration_ms: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FlushProgress {
    pub prefix: String,
    pub started_at_ms: i64,
    /// Keys of the whole keyspace visited so far (pages × COUNT, an estimate: SCAN MATCH
    /// only returns the matching ones), capped at `dbsize_at_start`.
    pub scanned_keys: u64,
    /// Keys under the prefix seen so far.
    #[serde(default)]
    pub matched_keys: u64,
    pub deleted_keys: u64,
    pub dbsize_at_start: u64,
    /// On a cluster: the master being walked, and how many of them are done.
    #[serde(default)]
    pub node: Option<String>,
    #[serde(default)]
    pub nodes_done: u32,
    #[serde(default)]
    pub nodes_total: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum FlushOutcome {
    Complete,
    Cancelled,
    Interrupted,
    Failed { reason: String },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FlushReport {
    pub prefix: String,
    pub preview_id: String,
    pub started_at_ms: i64,
    pub duration_ms: u64,
    pub scanned_keys: u64,
    /// Keys UNLINK actually removed (not keys seen).
    pub deleted_keys: u64,
    pub outcome: FlushOutcome,
}

/// Whether this deployment lets anyone flush, and why not.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum FlushPolicy {
    Enabled,
    /// `CACHEPANEL_READ_ONLY`: nobody flushes, whatever their role.
    ReadOnly,
    /// A watched Redis that is not a cache (not in `CACHEPANEL_CACHE_TARGETS`).
    NotACache,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FlushState {
    pub policy: FlushPolicy,
    /// A preview counting right now (big keyspaces take seconds).
    #[serde(default)]
    pub previewing: Option<FlushProgress>,
    pub running: Option<FlushProgress>,
    pub last: Option<FlushReport>,
}

/// One entry of the audit stream.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Stream id (`1795640000000-0`); empty before it is written.
    pub id: String,
    pub at_ms: i64,
    /// An `AuditAction::name`.
    pub action: String,
    pub actor: String,
    pub prefix: String,
    pub detail: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::census::default_groups;

    fn prefix(text: &str) -> KeyPrefix {
        KeyPrefix::new(text).unwrap()
    }

    #[test]
    fn empty_whitespace_and_pattern_only_prefixes_are_refused() {
        for text in ["", "   ", "\t", "*", "**", "?", "[]", "\\", " * "] {
            assert!(KeyPrefix::new(text).is_err(), "{text:?} must be refused");
        }
        assert!(KeyPrefix::new("user:\n").is_err());
        assert!(KeyPrefix::new(&"u".repeat(MAX_PREFIX_BYTES + 1)).is_err());
        assert!(KeyPrefix::new("user: with space*").is_ok());
    }

    #[test]
    fn deserializing_validates_too() {
        assert!(serde_json::from_str::<KeyPrefix>("\"  \"").is_err());
        assert_eq!(
            serde_json::from_str::<KeyPrefix>("\"user:\"").ok(),
            Some(prefix("user:"))
        );
    }

    #[test]
    fn glob_characters_are_escaped_for_scan_match() {
        assert_eq!(
            prefix("user:*?[x]\\").scan_pattern(),
            b"user:\\*\\?\\[x\\]\\\\*".to_vec()
        );
        assert_eq!(prefix("user:1").scan_pattern(), b"user:1*".to_vec());
    }

    #[test]
    fn only_prefixes_under_cache_groups_are_flushable() {
        let groups = default_groups();
        assert_eq!(check_flushable(&prefix("user:"), &groups), Ok(()));
        assert_eq!(
            check_flushable(&prefix("contract_employees:get_employees:"), &groups),
            Ok(())
        );
        assert!(matches!(
            check_flushable(&prefix("pin:"), &groups),
            Err(Refusal::StateGroup(..))
        ));
        assert!(matches!(
            check_flushable(&prefix("rate_limit:user:1"), &groups),
            Err(Refusal::StateGroup(..))
        ));
        // "rate" would also cover "rate_limit:" keys.
        assert!(matches!(
            check_flushable(&prefix("rate"), &groups),
            Err(Refusal::StateGroup(..))
        ));
        assert!(matches!(
            check_flushable(&prefix("us"), &groups),
            Err(Refusal::NotACacheGroup(..))
        ));
        assert!(matches!(
            check_flushable(&prefix("celery:"), &groups),
            Err(Refusal::NotACacheGroup(..))
        ));
    }
}
