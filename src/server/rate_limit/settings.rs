//! The limits per role and how the limiter and the counters reader behave
//! (`CACHEPANEL_RATE_LIMIT*`, `CACHEPANEL_ROLE_LOOKUP`).

use std::time::Duration;

use super::RoleLookup;
use crate::model::rate_limit::{Role, RoleLimits};
use crate::server::env::{ConfigError, Env};

#[derive(Clone, Debug, PartialEq)]
pub struct RateLimitSettings {
    pub limits: RoleLimits,
    /// Let requests through when the limiter cannot reach Redis.
    pub fail_open: bool,
    /// Rate-limit cachepanel's own pages and API.
    pub enabled: bool,
    /// How often the shared counters reader walks `rate_limit:*` (pages only read memory).
    pub scan_every: Duration,
    /// Where the counters view finds a user's role.
    pub role_lookup: RoleLookup,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self {
            limits: RoleLimits::default(),
            fail_open: true,
            enabled: true,
            scan_every: Duration::from_secs(15),
            role_lookup: RoleLookup::default(),
        }
    }
}

impl RateLimitSettings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        Ok(Self {
            limits: env
                .parsed("CACHEPANEL_RATE_LIMITS", parse_role_limits)?
                .unwrap_or(defaults.limits),
            fail_open: env.flag("CACHEPANEL_RATE_LIMIT_FAIL_OPEN", defaults.fail_open)?,
            enabled: env.flag("CACHEPANEL_RATE_LIMIT_ENABLED", defaults.enabled)?,
            scan_every: Duration::from_secs(env.whole(
                "CACHEPANEL_RATE_LIMIT_SCAN_SECONDS",
                defaults.scan_every.as_secs(),
                1..=3_600,
            )?),
            role_lookup: env
                .parsed("CACHEPANEL_ROLE_LOOKUP", RoleLookup::parse)?
                .unwrap_or(defaults.role_lookup),
        })
    }
}

/// `owner=200,guest=50`: overrides the default limits of the roles named.
fn parse_role_limits(text: &str) -> Result<RoleLimits, String> {
    let mut limits = RoleLimits::default();
    for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (role, limit) = entry
            .split_once('=')
            .ok_or_else(|| format!("'{entry}': expected role=limit"))?;
        let role = Role::parse(role).ok_or_else(|| format!("'{role}': unknown role"))?;
        let limit: u64 = limit
            .trim()
            .parse()
            .map_err(|_| format!("'{limit}': expected a whole number"))?;
        let slot = match role {
            Role::Owner => &mut limits.owner,
            Role::Manager => &mut limits.manager,
            Role::Employee => &mut limits.employee,
            Role::Moderator => &mut limits.moderator,
            Role::Superadmin => &mut limits.superadmin,
            Role::Guest | Role::Unknown => &mut limits.guest,
        };
        *slot = limit;
    }
    Ok(limits)
}
