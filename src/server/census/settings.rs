//! What a census does and how hard it may press on Redis (`CACHEPANEL_CENSUS_*`).

use std::time::Duration;

use crate::model::census::{GroupKind, PrefixGroup, default_groups};
use crate::server::env::{ConfigError, Env};

#[derive(Clone, Debug, PartialEq)]
pub struct CensusSettings {
    pub groups: Vec<PrefixGroup>,
    pub max_auto_groups: usize,
    /// Inspect 1 key in this many (1 = every key: the "full TTL" mode).
    pub sample_every: u64,
    /// Starting `SCAN … COUNT`; the walker adapts it within its bounds (`scan::MIN_COUNT`..`MAX_COUNT`).
    pub scan_count: u64,
    /// Round trip a `SCAN` page should stay under; `COUNT` adapts to it.
    pub target_round_trip: Duration,
    /// Share of wall time the census may keep Redis busy (0 < d ≤ 1).
    pub duty_cycle: f64,
    /// Re-run this often (none: only on demand).
    pub every: Option<Duration>,
}

impl Default for CensusSettings {
    fn default() -> Self {
        Self {
            groups: crate::model::census::default_groups(),
            max_auto_groups: 20,
            sample_every: 100,
            scan_count: 1000,
            target_round_trip: Duration::from_millis(1),
            // Pages already stay under a 1 ms round trip; a light rest keeps the census
            // close to raw SCAN speed while other clients' p99 stays well under 2 ms.
            duty_cycle: 0.95,
            every: Some(Duration::from_secs(600)),
        }
    }
}

impl CensusSettings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        let every = env.whole(
            "CACHEPANEL_CENSUS_EVERY_SECONDS",
            defaults.every.map_or(0, |every| every.as_secs()),
            0..=86_400,
        )?;
        Ok(Self {
            groups: env
                .parsed("CACHEPANEL_PREFIX_GROUPS", parse_groups)?
                .unwrap_or_else(default_groups),
            max_auto_groups: env.whole(
                "CACHEPANEL_CENSUS_MAX_AUTO_GROUPS",
                defaults.max_auto_groups as u64,
                0..=200,
            )? as usize,
            sample_every: env.whole(
                "CACHEPANEL_CENSUS_SAMPLE_EVERY",
                defaults.sample_every,
                1..=1_000_000,
            )?,
            duty_cycle: env.share("CACHEPANEL_CENSUS_DUTY_CYCLE", defaults.duty_cycle)?,
            every: (every > 0).then(|| Duration::from_secs(every)),
            ..defaults
        })
    }
}

/// `prefix=Имя|Name|cache;prefix2=…|…|state`: replaces the default groups.
fn parse_groups(text: &str) -> Result<Vec<PrefixGroup>, String> {
    let mut groups = Vec::new();
    for entry in text
        .split(';')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
    {
        let (prefix, rest) = entry
            .split_once('=')
            .ok_or_else(|| format!("'{entry}': expected prefix=name_ru|name_en|kind"))?;
        let parts: Vec<&str> = rest.split('|').map(str::trim).collect();
        let [name_ru, name_en, kind] = parts[..] else {
            return Err(format!("'{entry}': expected prefix=name_ru|name_en|kind"));
        };
        let kind = match kind {
            "cache" => GroupKind::Cache,
            "state" => GroupKind::State,
            other => return Err(format!("'{other}': kind must be cache or state")),
        };
        let prefix = prefix.trim();
        if prefix.is_empty() || crate::model::prefix::has_glob_characters(prefix) {
            return Err(format!(
                "'{prefix}': a prefix must be non-empty and free of glob characters"
            ));
        }
        groups.push(PrefixGroup {
            prefix: prefix.into(),
            name_ru: name_ru.into(),
            name_en: name_en.into(),
            kind,
        });
    }
    if groups.is_empty() {
        return Err("no groups given".into());
    }
    Ok(groups)
}
