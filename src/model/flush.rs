//! Prefix flush: the rules of what may be flushed (pure, unit-tested), glob escaping for
//! `SCAN MATCH`, and the records of previews, runs and the audit trail.

use serde::{Deserialize, Serialize};

use super::census::{GroupKind, PrefixGroup};
use super::prefix::{glob_escape, is_glob_char};
use crate::model::wire::FromJson;

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

impl FromJson for KeyPrefix {
    fn from_json(
        value: &crate::model::wire::Json<'_>,
    ) -> Result<Self, crate::model::wire::WireError> {
        let text = value.text("a key prefix")?;
        Self::new(text).map_err(|_| crate::model::wire::WireError::expected("a valid key prefix"))
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
    AlertSilenced,
    AlertUnsilenced,
}

impl AuditAction {
    pub fn name(self) -> &'static str {
        match self {
            Self::Preview => "preview",
            Self::FlushStarted => "flush_started",
            Self::FlushFinished => "flush_finished",
            Self::FlushInterrupted => "flush_interrupted",
            Self::ResetRateLimit => "reset_rate_limit",
            Self::AlertSilenced => "alert_silenced",
            Self::AlertUnsilenced => "alert_unsilenced",
        }
    }
}

/// Why a prefix may not be flushed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error, FromJson)]
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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, FromJson)]
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

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, FromJson)]
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
    /// The replica running it, when that is another one than the one answering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replica: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, FromJson)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum FlushOutcome {
    Complete,
    Cancelled,
    Interrupted,
    Failed { reason: String },
}

impl FlushOutcome {
    /// The outcome's name, as the audit stream and the page's `data-outcome` write it.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Complete => "complete",
            Self::Cancelled => "cancelled",
            Self::Interrupted => "interrupted",
            Self::Failed { .. } => "failed",
        }
    }

    /// The outcome an audit entry names; a failure takes the recorded reason.
    pub fn from_name(name: &str, reason: Option<&str>) -> Option<Self> {
        Some(match name {
            "complete" => Self::Complete,
            "cancelled" => Self::Cancelled,
            "interrupted" => Self::Interrupted,
            "failed" => Self::Failed {
                reason: reason.unwrap_or_default().to_owned(),
            },
            _ => return None,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, FromJson)]
pub struct FlushReport {
    pub prefix: String,
    pub preview_id: String,
    pub started_at_ms: i64,
    pub duration_ms: u64,
    /// Keys the walk visited: an estimate (pages × COUNT), capped at the database size.
    pub scanned_keys: u64,
    /// Keys UNLINK actually removed (not keys seen).
    pub deleted_keys: u64,
    pub outcome: FlushOutcome,
}

/// Whether this deployment lets anyone flush, and why not.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, FromJson)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum FlushPolicy {
    Enabled,
    /// `CACHEPANEL_READ_ONLY`: nobody flushes, whatever their role.
    ReadOnly,
    /// A watched Redis that is not a cache (not in `CACHEPANEL_CACHE_TARGETS`).
    NotACache,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, FromJson)]
pub struct FlushState {
    pub policy: FlushPolicy,
    /// A preview counting right now (big keyspaces take seconds).
    #[serde(default)]
    pub previewing: Option<FlushProgress>,
    pub running: Option<FlushProgress>,
    pub last: Option<FlushReport>,
}

/// One entry of the audit stream.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, FromJson)]
pub struct AuditEntry {
    /// Stream id (`1795640000000-0`); empty before it is written.
    pub id: String,
    pub at_ms: i64,
    /// An `AuditAction::name`.
    pub action: String,
    pub actor: String,
    pub prefix: String,
    pub detail: String,
    /// The figures `detail` records, read back (what the page words as a sentence).
    #[serde(default)]
    pub figures: AuditFigures,
}

/// The figures of an audited action. The stream stores them as the entry's `detail`, in
/// `name=value` words (`keys=1234 bytes=56789 preview=…`; `reason=` last, it may hold spaces),
/// readable with `XRANGE` as they are and parsed back by `from_detail`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, FromJson)]
pub struct AuditFigures {
    pub preview_id: Option<String>,
    /// Keys a preview counted (or, for a started flush, the preview had counted).
    pub keys: Option<u64>,
    /// A preview's memory estimate.
    pub bytes: Option<u64>,
    pub deleted: Option<u64>,
    /// Keys the walk visited: an estimate (pages × COUNT), capped at the database size.
    pub scanned: Option<u64>,
    pub duration_ms: Option<u64>,
    /// `complete`, `cancelled`, `interrupted` or `failed`.
    pub outcome: Option<String>,
    pub reason: Option<String>,
}

impl AuditFigures {
    pub fn to_detail(&self) -> String {
        let mut words = Vec::new();
        if let Some(id) = &self.preview_id {
            words.push(format!("preview={id}"));
        }
        for (name, value) in [
            ("keys", self.keys),
            ("bytes", self.bytes),
            ("deleted", self.deleted),
            ("scanned", self.scanned),
            ("duration_ms", self.duration_ms),
        ] {
            if let Some(value) = value {
                words.push(format!("{name}={value}"));
            }
        }
        if let Some(outcome) = &self.outcome {
            words.push(format!("outcome={outcome}"));
        }
        if let Some(reason) = &self.reason {
            words.push(format!("reason={reason}"));
        }
        words.join(" ")
    }

    /// Also reads the wording of earlier versions (`preview <id> keys=… bytes≈…`,
    /// `previewed_keys=…`, `outcome={"state":"complete"}`); unknown words are skipped.
    pub fn from_detail(detail: &str) -> Self {
        let mut figures = Self::default();
        let (words, reason) = match detail.split_once(" reason=") {
            Some((words, reason)) => (words, Some(reason)),
            None => match detail.strip_prefix("reason=") {
                Some(reason) => ("", Some(reason)),
                None => (detail, None),
            },
        };
        figures.reason = reason.map(str::to_owned);
        let mut previous = "";
        for word in words.split_whitespace() {
            let (name, value) = word
                .split_once('=')
                .or_else(|| word.split_once('≈'))
                .unwrap_or((word, ""));
            let number = value.parse::<u64>().ok();
            match name {
                "preview" => figures.preview_id = Some(value.to_owned()),
                "keys" | "previewed_keys" => figures.keys = number,
                "bytes" => figures.bytes = number,
                "deleted" => figures.deleted = number,
                "scanned" => figures.scanned = number,
                "duration_ms" => figures.duration_ms = number,
                "outcome" => {
                    let state = value
                        .trim_start_matches(r#"{"state":""#)
                        .split('"')
                        .next()
                        .unwrap_or_default();
                    figures.outcome = Some(state.to_owned());
                }
                _ if previous == "preview" && value.is_empty() => {
                    figures.preview_id = Some(name.to_owned());
                }
                _ => {}
            }
            previous = name;
        }
        figures
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::census::default_groups;

    fn prefix(text: &str) -> KeyPrefix {
        KeyPrefix::new(text).unwrap()
    }

    #[test]
    fn outcomes_read_back_from_their_names() {
        for outcome in [
            FlushOutcome::Complete,
            FlushOutcome::Cancelled,
            FlushOutcome::Interrupted,
            FlushOutcome::Failed {
                reason: "timed out".into(),
            },
        ] {
            assert_eq!(
                FlushOutcome::from_name(outcome.name(), Some("timed out")),
                Some(outcome)
            );
        }
        assert_eq!(FlushOutcome::from_name("exploded", None), None);
    }

    #[test]
    fn audit_figures_round_trip_through_the_detail_and_old_wordings_still_read() {
        let figures = AuditFigures {
            preview_id: Some("p1".into()),
            keys: Some(1234),
            bytes: Some(56_789),
            deleted: Some(1200),
            scanned: Some(2000),
            duration_ms: Some(812),
            outcome: Some("failed".into()),
            reason: Some("server error NOPERM".into()),
        };
        assert_eq!(AuditFigures::from_detail(&figures.to_detail()), figures);
        assert_eq!(AuditFigures::from_detail(""), AuditFigures::default());
        let old_preview = AuditFigures::from_detail("preview p9 keys=500 bytes≈40960");
        assert_eq!(
            (
                old_preview.preview_id.as_deref(),
                old_preview.keys,
                old_preview.bytes
            ),
            (Some("p9"), Some(500), Some(40_960))
        );
        let old_started = AuditFigures::from_detail("preview p9 previewed_keys=500");
        assert_eq!(old_started.keys, Some(500));
        let old_finished = AuditFigures::from_detail(
            r#"outcome={"state":"complete"} deleted=1 scanned=1000 duration_ms=0"#,
        );
        assert_eq!(
            (
                old_finished.outcome.as_deref(),
                old_finished.deleted,
                old_finished.duration_ms
            ),
            (Some("complete"), Some(1), Some(0))
        );
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
