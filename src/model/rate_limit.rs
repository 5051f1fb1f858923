//! Rate limiting as the production app does it: a counter per user (`rate_limit:user:{id}`) or
//! per IP for guests (`rate_limit:ip:{ip}`), a 60 s window, limits per role. Pure parts: roles
//! and limits, key parsing, and the judgement of the counters view.

use crate::model::wire::FromJson;
use serde::{Deserialize, Serialize};

pub const KEY_PREFIX: &str = "rate_limit:";
/// Rejection statistics live under the same prefix but are not counters.
pub const STATS_PREFIX: &str = "rate_limit:stats:";
pub const WINDOW_SECONDS: u64 = 60;
/// Roles with a limit (`Role::ALL`); per-role figures are arrays of this length.
pub const ROLE_COUNT: usize = 6;

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, FromJson,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Manager,
    Employee,
    Moderator,
    Superadmin,
    Guest,
    /// A user whose role could not be found (no cached `user:{id}`, or no role in it).
    Unknown,
}

impl Role {
    pub const ALL: [Role; ROLE_COUNT] = [
        Self::Owner,
        Self::Manager,
        Self::Employee,
        Self::Moderator,
        Self::Superadmin,
        Self::Guest,
    ];

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|role| role.name() == text.trim().to_ascii_lowercase())
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Manager => "manager",
            Self::Employee => "employee",
            Self::Moderator => "moderator",
            Self::Superadmin => "superadmin",
            Self::Guest => "guest",
            Self::Unknown => "unknown",
        }
    }
}

/// Requests per minute per role (production defaults).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, FromJson)]
pub struct RoleLimits {
    pub owner: u64,
    pub manager: u64,
    pub employee: u64,
    pub moderator: u64,
    pub superadmin: u64,
    pub guest: u64,
}

impl Default for RoleLimits {
    fn default() -> Self {
        Self {
            owner: 200,
            manager: 150,
            employee: 100,
            moderator: 200,
            superadmin: 300,
            guest: 50,
        }
    }
}

impl RoleLimits {
    /// The limit of a role; `None` for an unknown role (no percentage can be given).
    pub fn of(&self, role: Role) -> Option<u64> {
        Some(match role {
            Role::Owner => self.owner,
            Role::Manager => self.manager,
            Role::Employee => self.employee,
            Role::Moderator => self.moderator,
            Role::Superadmin => self.superadmin,
            Role::Guest => self.guest,
            Role::Unknown => return None,
        })
    }
}

/// Whose counter a key is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, FromJson)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Subject {
    User(String),
    Ip(String),
}

impl Subject {
    /// `rate_limit:user:42` → user 42; `rate_limit:ip:10.0.0.1` → IP; anything else → None.
    pub fn from_key(key: &str) -> Option<Self> {
        let rest = key.strip_prefix(KEY_PREFIX)?;
        if let Some(id) = rest.strip_prefix("user:") {
            return (!id.is_empty()).then(|| Self::User(id.to_owned()));
        }
        rest.strip_prefix("ip:")
            .filter(|ip| !ip.is_empty())
            .map(|ip| Self::Ip(ip.to_owned()))
    }

    pub fn key(&self) -> String {
        match self {
            Self::User(id) => format!("{KEY_PREFIX}user:{id}"),
            Self::Ip(ip) => format!("{KEY_PREFIX}ip:{ip}"),
        }
    }
}

/// One counter as the dashboard shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, FromJson)]
pub struct CounterRow {
    pub key: String,
    pub subject: Subject,
    pub role: Role,
    pub count: u64,
    /// Seconds left in the window; `None` when the counter has no TTL (a stuck lockout).
    pub ttl_seconds: Option<u64>,
    pub limit: Option<u64>,
    pub percent_of_limit: Option<f64>,
    /// The key is not UTF-8: `key` shows it with `\xNN` escapes and cannot be reset by name.
    #[serde(default)]
    pub key_escaped: bool,
}

impl CounterRow {
    pub fn new(
        key: String,
        subject: Subject,
        role: Role,
        count: u64,
        ttl: i64,
        limits: &RoleLimits,
    ) -> Self {
        let limit = limits.of(role);
        Self {
            key,
            subject,
            role,
            count,
            ttl_seconds: u64::try_from(ttl).ok(),
            limit,
            percent_of_limit: limit
                .filter(|l| *l > 0)
                .map(|l| count as f64 * 100.0 / l as f64),
            key_escaped: false,
        }
    }

    pub fn is_over_limit(&self) -> bool {
        self.limit.is_some_and(|limit| self.count > limit)
    }

    pub fn is_near_limit(&self) -> bool {
        !self.is_over_limit() && self.percent_of_limit.is_some_and(|p| p >= 80.0)
    }
}

/// The counters view: totals, the top consumers, and warnings. Read by one shared background
/// walk per interval; pages and the API are served the latest one, with its age.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, FromJson)]
pub struct CountersReport {
    /// When the walk behind this view started (server clock).
    pub read_at_ms: i64,
    /// How old the view was when it was served (server clock, so no client skew).
    #[serde(default)]
    pub age_ms: u64,
    /// How long the walk took.
    #[serde(default)]
    pub walk_ms: u64,
    /// The reader walks this often (`CACHEPANEL_RATE_LIMIT_SCAN_SECONDS`).
    #[serde(default)]
    pub every_seconds: u64,
    /// The latest walk failed: why. The figures are those of the last walk that succeeded.
    #[serde(default)]
    pub last_error: Option<String>,
    /// The walk stopped at its key cap: the figures cover part of the counters.
    #[serde(default)]
    pub capped: bool,
    pub counters: u64,
    pub total_requests: u64,
    /// Highest counts first, at most the configured number.
    pub top: Vec<CounterRow>,
    pub over_limit: u64,
    pub near_limit: u64,
    /// Counters without a TTL: their owners stay locked out until someone resets them (the
    /// first 100 by name; `without_ttl_total` counts them all).
    pub without_ttl: Vec<String>,
    #[serde(default)]
    pub without_ttl_total: u64,
    /// An `ip:` counter with most of all requests: likely every user behind one proxy IP.
    pub dominant_ip: Option<CounterRow>,
    /// 429s per minute (oldest first) per role, from the limiter's statistics keys.
    #[serde(default)]
    pub rejections: Vec<RejectionMinute>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, FromJson)]
pub struct RejectionMinute {
    /// `HH:MM` UTC.
    pub minute: String,
    /// In `Role::ALL` order.
    pub per_role: [u64; ROLE_COUNT],
}

/// Minutes of 429 statistics the counters view reads.
pub const REJECTION_MINUTES: i64 = 30;

/// Share of all counted requests above which a single IP counter is flagged.
pub const DOMINANT_IP_SHARE: f64 = 0.5;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_to_subjects_and_back() {
        assert_eq!(
            Subject::from_key("rate_limit:user:42"),
            Some(Subject::User("42".into()))
        );
        assert_eq!(
            Subject::from_key("rate_limit:ip:10.0.0.7"),
            Some(Subject::Ip("10.0.0.7".into()))
        );
        assert_eq!(
            Subject::from_key("rate_limit:ip:::1"),
            Some(Subject::Ip("::1".into()))
        );
        assert_eq!(
            Subject::from_key("rate_limit:stats:rejected:owner:202611252200"),
            None
        );
        assert_eq!(Subject::from_key("rate_limit:user:"), None);
        assert_eq!(Subject::User("7".into()).key(), "rate_limit:user:7");
    }

    #[test]
    fn rows_judge_the_count_against_the_role() {
        let limits = RoleLimits::default();
        let row = CounterRow::new(
            "k".into(),
            Subject::User("1".into()),
            Role::Manager,
            151,
            30,
            &limits,
        );
        assert!(row.is_over_limit());
        let near = CounterRow::new(
            "k".into(),
            Subject::User("1".into()),
            Role::Employee,
            80,
            30,
            &limits,
        );
        assert!(near.is_near_limit() && !near.is_over_limit());
        let stuck = CounterRow::new(
            "k".into(),
            Subject::Ip("1.2.3.4".into()),
            Role::Guest,
            3,
            -1,
            &limits,
        );
        assert_eq!(stuck.ttl_seconds, None);
        let unknown = CounterRow::new(
            "k".into(),
            Subject::User("9".into()),
            Role::Unknown,
            999,
            10,
            &limits,
        );
        assert_eq!((unknown.limit, unknown.is_over_limit()), (None, false));
    }

    #[test]
    fn roles_parse_case_insensitively() {
        assert_eq!(Role::parse("Superadmin"), Some(Role::Superadmin));
        assert_eq!(Role::parse("root"), None);
    }
}
