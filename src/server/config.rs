//! Startup configuration from `CACHEPANEL_*` environment variables: read once, validated, and
//! every error names its variable. Secrets live in `Secret` / `RedisUrl`, whose `Debug` and
//! `Display` never show them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::model::census::{GroupKind, PrefixGroup, default_groups};
use crate::model::flush::FlushPolicy;
use crate::model::health::Thresholds;
use crate::model::rate_limit::{Role, RoleLimits};
use crate::model::redis_config::ExpectedProfile;
use crate::server::audit::AuditSettings;
use crate::server::census::CensusSettings;
use crate::server::flush::FlushSettings;
use crate::server::rate_limit::RoleLookup;
use crate::server::redis::sentinel::SentinelSettings;
use crate::server::security::auth::AuthSettings;
use crate::server::security::web::WebSettings;

use crate::server::env::invalid;
pub use crate::server::env::{ConfigError, RedisUrl, Secret};

/// Secrets that are placeholders from examples and tutorials, not keys.
const PLACEHOLDER_SECRETS: &[&str] = &[
    "secret",
    "changeme",
    "change-me",
    "change_me",
    "your-secret-key",
    "your_secret_key",
    "your-secret-key-here",
    "secret-key",
    "secret_key",
    "supersecret",
    "super-secret-key",
    "default",
    "development",
    "insecure",
];
/// Shorter signing keys are refused outside dev mode: HS256 keys should be ≥ 32 bytes, and
/// anything under 16 is guessable.
const MIN_SECRET_BYTES: usize = 16;

fn check_secret_strength(secret: &str) -> Result<(), String> {
    let lowered = secret.trim().to_ascii_lowercase();
    if lowered.is_empty() {
        return Err("empty".into());
    }
    if PLACEHOLDER_SECRETS.contains(&lowered.as_str())
        || lowered.contains("change") && lowered.contains("me")
    {
        return Err("looks like a placeholder, not the admin's SECRET_KEY".into());
    }
    if secret.len() < MIN_SECRET_BYTES {
        return Err(format!(
            "shorter than {MIN_SECRET_BYTES} bytes; use the admin's real SECRET_KEY"
        ));
    }
    Ok(())
}

#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// `None`: start an embedded `redis-server` (for trying cachepanel out).
    pub redis_url: Option<RedisUrl>,
    pub addr: SocketAddr,
    /// Public prefix under a reverse proxy: "" or "/a/b" (leading slash, no trailing one).
    pub base_path: String,
    /// Where the built client (`pkg/`) and public assets are.
    pub site_root: PathBuf,
    pub redis_connect_timeout: Duration,
    pub redis_response_timeout: Duration,
    /// Run the demo workload against the embedded Redis.
    pub demo_traffic: bool,
    /// How often the sampler reads INFO.
    pub sample_interval: Duration,
    pub thresholds: Thresholds,
    pub expected: ExpectedProfile,
    pub census: CensusSettings,
    pub flush: FlushSettings,
    pub audit: AuditSettings,
    pub rate_limits: RoleLimits,
    /// Let requests through when the limiter cannot reach Redis.
    pub rate_limit_fail_open: bool,
    /// Rate-limit cachepanel's own pages and API (off until authentication identifies callers:
    /// behind the admin's proxy every caller shares one address).
    pub rate_limit_enabled: bool,
    /// Where the counters view finds a user's role.
    pub role_lookup: RoleLookup,
    /// How often the shared counters reader walks `rate_limit:*` (pages only read memory).
    pub rate_limit_scan_every: Duration,
    pub auth: AuthSettings,
    pub web: WebSettings,
    /// Local trials: a missing JWT secret is replaced by a throwaway one with a built-in login;
    /// only on a loopback address.
    pub dev_mode: bool,
    /// Bearer token for `/metrics`; `None`: the admin session, like every other route.
    pub metrics_token: Option<Secret>,
    /// Find the master through these sentinels (the Redis URL then only gives credentials,
    /// database and TLS).
    pub sentinel: Option<SentinelSettings>,
    /// Seed nodes (`host:port`) of a Redis Cluster for the first target.
    pub cluster_seeds: Option<Vec<String>>,
    /// Name of the first target (the one `CACHEPANEL_REDIS_URL` / the sentinels point at).
    pub target_name: String,
    /// Further Redis servers to watch, e.g. the bot's FSM storage or Celery's broker.
    pub extra_targets: Vec<ExtraTarget>,
    /// Targets that are caches (flush allowed); the first target by default.
    pub cache_targets: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ExtraTarget {
    pub name: String,
    pub url: RedisUrl,
}

/// Target names appear in URLs and metric labels: short, plain.
fn check_target_name(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name.len() <= 32
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "'{name}': a target name is 1-32 letters, digits, '-' or '_'"
        ))
    }
}

/// `name=redis://…;name2=redis://…` (the URLs are secrets: errors never quote them).
fn parse_extra_targets(text: &str) -> Result<Vec<ExtraTarget>, String> {
    let mut targets = Vec::new();
    for entry in text.split(';').map(str::trim).filter(|e| !e.is_empty()) {
        let (name, url) = entry
            .split_once('=')
            .ok_or_else(|| "expected name=redis://…;name2=redis://…".to_owned())?;
        let name = name.trim();
        check_target_name(name)?;
        let url = RedisUrl::parse(url).map_err(|e| format!("target '{name}': {e}"))?;
        targets.push(ExtraTarget {
            name: name.to_owned(),
            url,
        });
    }
    Ok(targets)
}

impl Config {
    pub fn is_cache_target(&self, name: &str) -> bool {
        self.cache_targets.iter().any(|cache| cache == name)
    }

    /// Whether a Redis is configured at all (otherwise an embedded one is started).
    pub fn has_redis(&self) -> bool {
        self.redis_url.is_some() || self.sentinel.is_some() || self.cluster_seeds.is_some()
    }

    /// The URL whose credentials, database and TLS the data nodes use.
    pub fn data_node_url(&self) -> Option<RedisUrl> {
        match (&self.redis_url, &self.sentinel) {
            (Some(url), _) => Some(url.clone()),
            (None, Some(_)) => RedisUrl::parse("redis://127.0.0.1:6379/0").ok(),
            (None, None) if self.cluster_seeds.is_some() => {
                RedisUrl::parse("redis://127.0.0.1:6379/0").ok()
            }
            (None, None) => None,
        }
    }
}

/// Every setting, by its environment variable. A TOML file names them without the prefix, in
/// lower case (`redis_url`, `rate_limits`, …).
pub const VARIABLES: &[&str] = &[
    "CACHEPANEL_ADDR",
    "CACHEPANEL_ADMIN_ORIGIN",
    "CACHEPANEL_ALLOWED_ORIGINS",
    "CACHEPANEL_AUDIT_MAXLEN",
    "CACHEPANEL_AUDIT_STREAM",
    "CACHEPANEL_BASE_PATH",
    "CACHEPANEL_CACHE_TARGETS",
    "CACHEPANEL_CENSUS_DUTY_CYCLE",
    "CACHEPANEL_CENSUS_EVERY_SECONDS",
    "CACHEPANEL_CENSUS_MAX_AUTO_GROUPS",
    "CACHEPANEL_CENSUS_SAMPLE_EVERY",
    "CACHEPANEL_DEMO_TRAFFIC",
    "CACHEPANEL_DEV_MODE",
    "CACHEPANEL_EMBED",
    "CACHEPANEL_EXPECT_AOF",
    "CACHEPANEL_EXPECT_MAXMEMORY",
    "CACHEPANEL_EXPECT_PASSWORD",
    "CACHEPANEL_EXPECT_POLICY",
    "CACHEPANEL_EXPECT_RDB",
    "CACHEPANEL_FLUSH_DUTY_CYCLE",
    "CACHEPANEL_FRAME_ANCESTORS",
    "CACHEPANEL_JWT_LEEWAY_SECONDS",
    "CACHEPANEL_JWT_SECRET",
    "CACHEPANEL_JWT_SECRET_FILE",
    "CACHEPANEL_LOGIN_URL",
    "CACHEPANEL_MEMORY_CRITICAL_PERCENT",
    "CACHEPANEL_MEMORY_WARNING_PERCENT",
    "CACHEPANEL_METRICS_TOKEN",
    "CACHEPANEL_PREFIX_GROUPS",
    "CACHEPANEL_RATE_LIMITS",
    "CACHEPANEL_RATE_LIMIT_ENABLED",
    "CACHEPANEL_RATE_LIMIT_FAIL_OPEN",
    "CACHEPANEL_RATE_LIMIT_SCAN_SECONDS",
    "CACHEPANEL_READ_ONLY",
    "CACHEPANEL_REDIS_CLUSTER",
    "CACHEPANEL_REDIS_CONNECT_TIMEOUT_MS",
    "CACHEPANEL_REDIS_RESPONSE_TIMEOUT_MS",
    "CACHEPANEL_REDIS_SENTINELS",
    "CACHEPANEL_REDIS_SENTINEL_MASTER",
    "CACHEPANEL_REDIS_SENTINEL_PASSWORD",
    "CACHEPANEL_REDIS_URL",
    "CACHEPANEL_ROLES",
    "CACHEPANEL_ROLE_LOOKUP",
    "CACHEPANEL_SAMPLE_INTERVAL_MS",
    "CACHEPANEL_SITE_ROOT",
    "CACHEPANEL_TARGETS",
    "CACHEPANEL_TARGET_HIT_RATE",
    "CACHEPANEL_TARGET_NAME",
    "CACHEPANEL_VIEW_ROLES",
    "CACHEPANEL_LOG",
    "CACHEPANEL_LOG_FORMAT",
];

/// Secrets among `VARIABLES`: shown as `***` by `describe`.
const SECRET_VARIABLES: &[&str] = &[
    "CACHEPANEL_JWT_SECRET",
    "CACHEPANEL_METRICS_TOKEN",
    "CACHEPANEL_REDIS_SENTINEL_PASSWORD",
];

/// Settings read from a TOML file, by environment variable name.
#[derive(Clone, Debug, Default)]
pub struct FileSettings(std::collections::BTreeMap<String, String>);

impl FileSettings {
    /// Reads `path`: a flat table of `setting = value` (strings, numbers, booleans, or arrays of
    /// them, joined with commas). Unknown settings are refused, so a typo is never ignored.
    pub fn read(path: &std::path::Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| {
            invalid(
                "--config",
                format!("cannot read {}: {}", path.display(), error.kind()),
            )
        })?;
        Self::parse(&text)
            .map_err(|problem| invalid("--config", format!("{}: {problem}", path.display())))
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        let table: toml::Table = text
            .parse()
            // TOML errors quote the offending line, which may hold a secret: position only.
            .map_err(|error: toml::de::Error| match error.span() {
                Some(span) => format!("not valid TOML (at byte {})", span.start),
                None => "not valid TOML".to_owned(),
            })?;
        let mut settings = std::collections::BTreeMap::new();
        for (key, value) in table {
            let variable = format!("CACHEPANEL_{}", key.to_ascii_uppercase());
            if !VARIABLES.contains(&variable.as_str()) {
                return Err(format!("unknown setting '{key}'"));
            }
            let text = match value {
                toml::Value::String(text) => text,
                toml::Value::Integer(number) => number.to_string(),
                toml::Value::Float(number) => number.to_string(),
                toml::Value::Boolean(flag) => flag.to_string(),
                toml::Value::Array(items) => items
                    .iter()
                    .map(|item| match item {
                        toml::Value::String(text) => text.clone(),
                        other => other.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join(","),
                _ => {
                    return Err(format!(
                        "'{key}': expected a string, number, boolean or array"
                    ));
                }
            };
            settings.insert(variable, text);
        }
        Ok(Self(settings))
    }

    pub fn get(&self, variable: &str) -> Option<String> {
        self.0.get(variable).cloned()
    }
}

impl Config {
    /// The environment over an optional TOML file: a variable that is set wins.
    pub fn from_env_and_file(file: &FileSettings) -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok().or_else(|| file.get(name)))
    }

    /// The effective settings, secrets redacted, for `cachepanel check`.
    pub fn describe(&self) -> Vec<(&'static str, String)> {
        let secret = |present: bool| {
            if present {
                "***".to_owned()
            } else {
                "(unset)".to_owned()
            }
        };
        let mut lines = vec![
            (
                "CACHEPANEL_REDIS_URL",
                self.redis_url.as_ref().map_or_else(
                    || "(unset: embedded demo Redis)".into(),
                    ToString::to_string,
                ),
            ),
            ("CACHEPANEL_TARGET_NAME", self.target_name.clone()),
            (
                "CACHEPANEL_TARGETS",
                self.extra_targets
                    .iter()
                    .map(|target| format!("{}={}", target.name, target.url))
                    .collect::<Vec<_>>()
                    .join(";"),
            ),
            ("CACHEPANEL_CACHE_TARGETS", self.cache_targets.join(",")),
            ("CACHEPANEL_ADDR", self.addr.to_string()),
            ("CACHEPANEL_BASE_PATH", self.base_path.clone()),
            ("CACHEPANEL_JWT_SECRET", secret(true)),
            ("CACHEPANEL_ROLES", self.auth.full_access_roles.join(",")),
            ("CACHEPANEL_VIEW_ROLES", self.auth.view_only_roles.join(",")),
            ("CACHEPANEL_LOGIN_URL", self.auth.login_url.clone()),
            (
                "CACHEPANEL_ALLOWED_ORIGINS",
                self.web.allowed_origins.join(","),
            ),
            (
                "CACHEPANEL_FRAME_ANCESTORS",
                self.web.frame_ancestors.clone(),
            ),
            (
                "CACHEPANEL_METRICS_TOKEN",
                secret(self.metrics_token.is_some()),
            ),
            (
                "CACHEPANEL_RATE_LIMIT_ENABLED",
                self.rate_limit_enabled.to_string(),
            ),
            (
                "CACHEPANEL_RATE_LIMIT_SCAN_SECONDS",
                self.rate_limit_scan_every.as_secs().to_string(),
            ),
            (
                "CACHEPANEL_READ_ONLY",
                (self.flush.policy == FlushPolicy::ReadOnly).to_string(),
            ),
            ("CACHEPANEL_DEV_MODE", self.dev_mode.to_string()),
            (
                "CACHEPANEL_SAMPLE_INTERVAL_MS",
                self.sample_interval.as_millis().to_string(),
            ),
            (
                "CACHEPANEL_REDIS_RESPONSE_TIMEOUT_MS",
                self.redis_response_timeout.as_millis().to_string(),
            ),
        ];
        if let Some(sentinel) = &self.sentinel {
            lines.push(("CACHEPANEL_REDIS_SENTINELS", sentinel.sentinels.join(",")));
            lines.push((
                "CACHEPANEL_REDIS_SENTINEL_MASTER",
                sentinel.master_name.clone(),
            ));
            lines.push((
                "CACHEPANEL_REDIS_SENTINEL_PASSWORD",
                secret(sentinel.password.is_some()),
            ));
        }
        if let Some(seeds) = &self.cluster_seeds {
            lines.push(("CACHEPANEL_REDIS_CLUSTER", seeds.join(",")));
        }
        debug_assert!(lines.iter().all(|(name, value)| {
            !SECRET_VARIABLES.contains(name) || value == "***" || value == "(unset)"
        }));
        lines
    }

    /// Reads the configuration through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let value = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());

        let redis_url = value("CACHEPANEL_REDIS_URL")
            .map(|text| RedisUrl::parse(&text).map_err(|e| invalid("CACHEPANEL_REDIS_URL", e)))
            .transpose()?;
        let addr = match value("CACHEPANEL_ADDR") {
            Some(text) => text.trim().parse().map_err(|_| {
                invalid("CACHEPANEL_ADDR", "expected host:port, e.g. 127.0.0.1:3000")
            })?,
            None => SocketAddr::from(([127, 0, 0, 1], 3000)),
        };
        let base_path = parse_base_path(value("CACHEPANEL_BASE_PATH").as_deref())
            .map_err(|e| invalid("CACHEPANEL_BASE_PATH", e))?;
        let site_root = value("CACHEPANEL_SITE_ROOT")
            .or_else(|| value("LEPTOS_SITE_ROOT"))
            .unwrap_or_else(|| "target/site".into())
            .into();
        let redis_connect_timeout = millis(
            value("CACHEPANEL_REDIS_CONNECT_TIMEOUT_MS"),
            "CACHEPANEL_REDIS_CONNECT_TIMEOUT_MS",
            1000,
        )?;
        let redis_response_timeout = millis(
            value("CACHEPANEL_REDIS_RESPONSE_TIMEOUT_MS"),
            "CACHEPANEL_REDIS_RESPONSE_TIMEOUT_MS",
            1000,
        )?;
        let demo_traffic = match value("CACHEPANEL_DEMO_TRAFFIC") {
            None => true,
            Some(text) => parse_flag(&text)
                .ok_or_else(|| invalid("CACHEPANEL_DEMO_TRAFFIC", "expected true or false"))?,
        };
        let sample_interval = millis_in(
            value("CACHEPANEL_SAMPLE_INTERVAL_MS"),
            "CACHEPANEL_SAMPLE_INTERVAL_MS",
            2000,
            100..=60_000,
        )?;
        let percent = |name: &'static str, default: f64| -> Result<f64, ConfigError> {
            match value(name) {
                None => Ok(default),
                Some(text) => text
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|p| (0.0..=100.0).contains(p))
                    .ok_or_else(|| invalid(name, "expected a percentage between 0 and 100")),
            }
        };
        let thresholds = Thresholds {
            target_hit_rate_percent: percent("CACHEPANEL_TARGET_HIT_RATE", 70.0)?,
            memory_warning_percent: percent("CACHEPANEL_MEMORY_WARNING_PERCENT", 80.0)?,
            memory_critical_percent: percent("CACHEPANEL_MEMORY_CRITICAL_PERCENT", 95.0)?,
        };
        if thresholds.memory_warning_percent > thresholds.memory_critical_percent {
            return Err(invalid(
                "CACHEPANEL_MEMORY_WARNING_PERCENT",
                "must not exceed CACHEPANEL_MEMORY_CRITICAL_PERCENT",
            ));
        }
        let defaults = ExpectedProfile::default();
        let flag = |name: &'static str, default: bool| match value(name).as_deref().map(str::trim) {
            None => Ok(default),
            Some(text) => parse_flag(text).ok_or_else(|| invalid(name, "expected true or false")),
        };
        let expected = ExpectedProfile {
            maxmemory_bytes: match value("CACHEPANEL_EXPECT_MAXMEMORY") {
                None => defaults.maxmemory_bytes,
                Some(text) => parse_memory(&text).ok_or_else(|| {
                    invalid(
                        "CACHEPANEL_EXPECT_MAXMEMORY",
                        "expected a size such as 512mb or 1gb",
                    )
                })?,
            },
            maxmemory_policy: value("CACHEPANEL_EXPECT_POLICY")
                .map(|text| text.trim().to_owned())
                .unwrap_or(defaults.maxmemory_policy),
            rdb_save: flag("CACHEPANEL_EXPECT_RDB", defaults.rdb_save)?,
            appendonly: flag("CACHEPANEL_EXPECT_AOF", defaults.appendonly)?,
            password_required: flag("CACHEPANEL_EXPECT_PASSWORD", defaults.password_required)?,
        };
        let census_defaults = CensusSettings::default();
        let whole =
            |name: &'static str, default: u64, range: std::ops::RangeInclusive<u64>| match value(
                name,
            ) {
                None => Ok(default),
                Some(text) => text
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|n| range.contains(n))
                    .ok_or_else(|| {
                        invalid(
                            name,
                            format!(
                                "expected a whole number between {} and {}",
                                range.start(),
                                range.end()
                            ),
                        )
                    }),
            };
        let census_every = whole("CACHEPANEL_CENSUS_EVERY_SECONDS", 600, 0..=86_400)?;
        // A share of wall time Redis may be kept busy: above 0, at most 1.
        let duty = |name: &'static str, default: f64| match value(name) {
            None => Ok(default),
            Some(text) => text
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|d| *d > 0.0 && *d <= 1.0)
                .ok_or_else(|| invalid(name, "expected a share of time above 0 and at most 1")),
        };
        let duty_cycle = duty("CACHEPANEL_CENSUS_DUTY_CYCLE", census_defaults.duty_cycle)?;
        let census = CensusSettings {
            groups: match value("CACHEPANEL_PREFIX_GROUPS") {
                None => default_groups(),
                Some(text) => {
                    parse_groups(&text).map_err(|e| invalid("CACHEPANEL_PREFIX_GROUPS", e))?
                }
            },
            max_auto_groups: whole("CACHEPANEL_CENSUS_MAX_AUTO_GROUPS", 20, 0..=200)? as usize,
            sample_every: whole(
                "CACHEPANEL_CENSUS_SAMPLE_EVERY",
                census_defaults.sample_every,
                1..=1_000_000,
            )?,
            duty_cycle,
            every: (census_every > 0).then(|| Duration::from_secs(census_every)),
            ..census_defaults
        };
        let read_only = flag("CACHEPANEL_READ_ONLY", false)?;
        let flush = FlushSettings {
            policy: if read_only {
                FlushPolicy::ReadOnly
            } else {
                FlushPolicy::Enabled
            },
            duty_cycle: duty(
                "CACHEPANEL_FLUSH_DUTY_CYCLE",
                FlushSettings::default().duty_cycle,
            )?,
        };
        let audit = AuditSettings {
            stream_key: value("CACHEPANEL_AUDIT_STREAM")
                .map(|text| text.trim().to_owned())
                .unwrap_or_else(|| AuditSettings::default().stream_key),
            max_len: whole(
                "CACHEPANEL_AUDIT_MAXLEN",
                AuditSettings::default().max_len,
                100..=10_000_000,
            )?,
        };
        let rate_limits = match value("CACHEPANEL_RATE_LIMITS") {
            None => RoleLimits::default(),
            Some(text) => {
                parse_role_limits(&text).map_err(|e| invalid("CACHEPANEL_RATE_LIMITS", e))?
            }
        };
        let rate_limit_fail_open = flag("CACHEPANEL_RATE_LIMIT_FAIL_OPEN", true)?;
        let rate_limit_enabled = flag("CACHEPANEL_RATE_LIMIT_ENABLED", true)?;
        let rate_limit_scan_every =
            Duration::from_secs(whole("CACHEPANEL_RATE_LIMIT_SCAN_SECONDS", 15, 1..=3_600)?);
        let role_lookup = match value("CACHEPANEL_ROLE_LOOKUP") {
            None => RoleLookup::default(),
            Some(text) => {
                RoleLookup::parse(&text).map_err(|e| invalid("CACHEPANEL_ROLE_LOOKUP", e))?
            }
        };
        let dev_mode = flag("CACHEPANEL_DEV_MODE", false)?;
        if dev_mode && !addr.ip().is_loopback() {
            return Err(invalid(
                "CACHEPANEL_DEV_MODE",
                "dev mode only listens on a loopback address (CACHEPANEL_ADDR)",
            ));
        }
        let auth = parse_auth(&value, &base_path, dev_mode)?;
        let origins = |name: &'static str| -> Result<Vec<String>, ConfigError> {
            value(name)
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|origin| !origin.is_empty())
                .map(|origin| {
                    crate::server::security::web::parse_origin(origin).map_err(|e| invalid(name, e))
                })
                .collect()
        };
        let frame_ancestors = value("CACHEPANEL_FRAME_ANCESTORS")
            .map(|text| text.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_else(|| WebSettings::default().frame_ancestors);
        if frame_ancestors.contains([';', ',']) {
            return Err(invalid(
                "CACHEPANEL_FRAME_ANCESTORS",
                "expected CSP sources separated by spaces, e.g. 'self' https://admin.example",
            ));
        }
        let admin_origin = origins("CACHEPANEL_ADMIN_ORIGIN")?;
        if admin_origin.len() > 1 {
            return Err(invalid("CACHEPANEL_ADMIN_ORIGIN", "expected one origin"));
        }
        let web = WebSettings {
            allowed_origins: origins("CACHEPANEL_ALLOWED_ORIGINS")?,
            frame_ancestors,
            admin_origin: admin_origin.into_iter().next(),
            embed_by_default: flag("CACHEPANEL_EMBED", false)?,
        };
        let sentinel = match value("CACHEPANEL_REDIS_SENTINELS") {
            None => None,
            Some(text) => Some(SentinelSettings {
                sentinels: SentinelSettings::parse_addresses(&text)
                    .map_err(|e| invalid("CACHEPANEL_REDIS_SENTINELS", e))?,
                master_name: value("CACHEPANEL_REDIS_SENTINEL_MASTER")
                    .map(|name| name.trim().to_owned())
                    .unwrap_or_else(|| "mymaster".into()),
                password: value("CACHEPANEL_REDIS_SENTINEL_PASSWORD").map(Secret::new),
            }),
        };
        let cluster_seeds = match value("CACHEPANEL_REDIS_CLUSTER") {
            None => None,
            Some(text) => Some(SentinelSettings::parse_addresses(&text).map_err(|e| {
                invalid(
                    "CACHEPANEL_REDIS_CLUSTER",
                    e.replace("sentinel", "seed node"),
                )
            })?),
        };
        if cluster_seeds.is_some() && sentinel.is_some() {
            return Err(invalid(
                "CACHEPANEL_REDIS_CLUSTER",
                "set either CACHEPANEL_REDIS_CLUSTER or CACHEPANEL_REDIS_SENTINELS, not both",
            ));
        }
        let target_name = value("CACHEPANEL_TARGET_NAME")
            .map(|name| name.trim().to_owned())
            .unwrap_or_else(|| "cache".into());
        check_target_name(&target_name).map_err(|e| invalid("CACHEPANEL_TARGET_NAME", e))?;
        let extra_targets = match value("CACHEPANEL_TARGETS") {
            None => Vec::new(),
            Some(text) => {
                parse_extra_targets(&text).map_err(|e| invalid("CACHEPANEL_TARGETS", e))?
            }
        };
        let mut names = vec![target_name.clone()];
        for extra in &extra_targets {
            if names.contains(&extra.name) {
                return Err(invalid(
                    "CACHEPANEL_TARGETS",
                    format!("target name '{}' is used twice", extra.name),
                ));
            }
            names.push(extra.name.clone());
        }
        let cache_targets: Vec<String> = match value("CACHEPANEL_CACHE_TARGETS") {
            None => vec![target_name.clone()],
            Some(text) => text
                .split(',')
                .map(str::trim)
                .filter(|name| !name.is_empty())
                .map(str::to_owned)
                .collect(),
        };
        if let Some(unknown) = cache_targets.iter().find(|name| !names.contains(name)) {
            return Err(invalid(
                "CACHEPANEL_CACHE_TARGETS",
                format!("'{unknown}' is not a configured target"),
            ));
        }
        let metrics_token = match value("CACHEPANEL_METRICS_TOKEN") {
            Some(token) if token.trim().len() < 16 => {
                return Err(invalid(
                    "CACHEPANEL_METRICS_TOKEN",
                    "use at least 16 characters",
                ));
            }
            token => token.map(|token| Secret::new(token.trim())),
        };
        Ok(Self {
            redis_url,
            addr,
            base_path,
            site_root,
            redis_connect_timeout,
            redis_response_timeout,
            demo_traffic,
            sample_interval,
            thresholds,
            expected,
            census,
            flush,
            audit,
            rate_limits,
            rate_limit_fail_open,
            rate_limit_enabled,
            rate_limit_scan_every,
            role_lookup,
            auth,
            web,
            dev_mode,
            metrics_token,
            sentinel,
            target_name,
            extra_targets,
            cache_targets,
            cluster_seeds,
        })
    }
}

fn parse_auth(
    value: &impl Fn(&str) -> Option<String>,
    base_path: &str,
    dev_mode: bool,
) -> Result<AuthSettings, ConfigError> {
    let from_file = match value("CACHEPANEL_JWT_SECRET_FILE") {
        None => None,
        Some(path) => {
            let text = std::fs::read_to_string(path.trim()).map_err(|error| {
                invalid(
                    "CACHEPANEL_JWT_SECRET_FILE",
                    format!("cannot read {}: {}", path.trim(), error.kind()),
                )
            })?;
            Some(text.trim_end_matches(['\n', '\r']).to_owned())
        }
    };
    let (secret, variable) = match (value("CACHEPANEL_JWT_SECRET"), from_file) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "CACHEPANEL_JWT_SECRET",
                "set either CACHEPANEL_JWT_SECRET or CACHEPANEL_JWT_SECRET_FILE, not both",
            ));
        }
        (Some(secret), None) => (Some(secret), "CACHEPANEL_JWT_SECRET"),
        (None, Some(secret)) => (Some(secret), "CACHEPANEL_JWT_SECRET_FILE"),
        (None, None) => (None, "CACHEPANEL_JWT_SECRET"),
    };
    if let Some(secret) = &secret
        && !dev_mode
    {
        check_secret_strength(secret).map_err(|problem| invalid(variable, problem))?;
    }
    let dev_login = secret.is_none();
    let secret = match secret {
        Some(secret) => Secret::new(secret),
        None if dev_mode => {
            use rand::Rng as _;
            let bytes: [u8; 32] = rand::rng().random();
            Secret::new(bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
        }
        None => {
            return Err(invalid(
                "CACHEPANEL_JWT_SECRET",
                "required: the admin's SECRET_KEY, which signs its access_token cookies \
                 (or CACHEPANEL_JWT_SECRET_FILE; CACHEPANEL_DEV_MODE=true for a local trial)",
            ));
        }
    };
    let roles = |name: &'static str, default: &str| -> Vec<String> {
        value(name)
            .unwrap_or_else(|| default.to_owned())
            .split(',')
            .map(str::trim)
            .filter(|role| !role.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let full_access_roles = roles("CACHEPANEL_ROLES", "superadmin");
    if full_access_roles.is_empty() {
        return Err(invalid("CACHEPANEL_ROLES", "name at least one role"));
    }
    let view_only_roles = roles("CACHEPANEL_VIEW_ROLES", "");
    let login_url = match value("CACHEPANEL_LOGIN_URL") {
        Some(url) => {
            let url = url.trim().to_owned();
            if !url.starts_with('/') && !url.starts_with("https://") && !url.starts_with("http://")
            {
                return Err(invalid(
                    "CACHEPANEL_LOGIN_URL",
                    "expected a path such as /auth/login or an http(s) URL",
                ));
            }
            url
        }
        None if dev_login => format!(
            "{base_path}{}",
            crate::server::security::auth::DEV_LOGIN_PATH
        ),
        None => "/auth/login".into(),
    };
    let leeway_seconds = match value("CACHEPANEL_JWT_LEEWAY_SECONDS") {
        None => 30,
        Some(text) => text
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|s| *s <= 300)
            .ok_or_else(|| {
                invalid(
                    "CACHEPANEL_JWT_LEEWAY_SECONDS",
                    "expected seconds between 0 and 300",
                )
            })?,
    };
    Ok(AuthSettings {
        secret,
        leeway_seconds,
        login_url,
        full_access_roles,
        view_only_roles,
        dev_login,
    })
}

fn millis(
    text: Option<String>,
    variable: &'static str,
    default: u64,
) -> Result<Duration, ConfigError> {
    millis_in(text, variable, default, 1..=60_000)
}

fn millis_in(
    text: Option<String>,
    variable: &'static str,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<Duration, ConfigError> {
    let Some(text) = text else {
        return Ok(Duration::from_millis(default));
    };
    match text.trim().parse::<u64>() {
        Ok(ms) if range.contains(&ms) => Ok(Duration::from_millis(ms)),
        _ => Err(invalid(
            variable,
            format!(
                "expected milliseconds between {} and {}",
                range.start(),
                range.end()
            ),
        )),
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
        if prefix.is_empty() || prefix.contains(['*', '?', '[', ']', '\\']) {
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

fn parse_flag(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "on" | "yes" => Some(true),
        "0" | "false" | "off" | "no" => Some(false),
        _ => None,
    }
}

/// Redis-style memory sizes: "536870912", "512mb", "1gb", "64kb" (1024-based, as Redis).
pub fn parse_memory(text: &str) -> Option<u64> {
    let text = text.trim().to_ascii_lowercase();
    let digits_end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits_end);
    let multiplier: u64 = match unit.trim() {
        "" | "b" => 1,
        "k" | "kb" => 1 << 10,
        "m" | "mb" => 1 << 20,
        "g" | "gb" => 1 << 30,
        _ => return None,
    };
    number.parse::<u64>().ok()?.checked_mul(multiplier)
}

fn parse_base_path(text: Option<&str>) -> Result<String, String> {
    let path = text.unwrap_or_default().trim().trim_end_matches('/');
    if path.is_empty() {
        return Ok(String::new());
    }
    if !path.starts_with('/') {
        return Err("must start with '/', e.g. /tools/cachepanel".into());
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '.');
    if !path.chars().all(allowed) || path.contains("//") || path.split('/').any(|s| s == "..") {
        return Err("may contain only letters, digits, '/', '-', '_' and '.'".into());
    }
    Ok(path.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const TEST_SECRET: &str = "config-test-secret-0123456789abcdef";

    /// The configuration from these variables, plus a JWT secret unless they set up their own.
    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        if !pairs.iter().any(|(name, _)| {
            name.starts_with("CACHEPANEL_JWT_SECRET") || *name == "CACHEPANEL_DEV_MODE"
        }) {
            map.insert("CACHEPANEL_JWT_SECRET".into(), TEST_SECRET.into());
        }
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn a_jwt_secret_is_required_outside_dev_mode() {
        let error = config(&[("CACHEPANEL_DEV_MODE", "false")]).unwrap_err();
        assert_eq!(error.variable, "CACHEPANEL_JWT_SECRET");
        let dev = config(&[("CACHEPANEL_DEV_MODE", "true")]).unwrap();
        assert!(dev.auth.dev_login);
        assert_eq!(
            dev.auth.secret.expose().len(),
            64,
            "a random throwaway secret"
        );
        assert_eq!(dev.auth.login_url, "/auth/dev-login");
        let given = config(&[]).unwrap();
        assert!(!given.auth.dev_login);
        assert_eq!(given.auth.login_url, "/auth/login");
    }

    #[test]
    fn weak_or_placeholder_secrets_are_refused_outside_dev_mode() {
        for weak in [
            "secret",
            "changeme",
            "your-secret-key-here",
            "short-key",
            "CHANGE_ME_PLEASE_0123456789",
        ] {
            let error = config(&[("CACHEPANEL_JWT_SECRET", weak)]).unwrap_err();
            assert_eq!(error.variable, "CACHEPANEL_JWT_SECRET", "{weak}");
            assert!(
                !error.to_string().contains(weak),
                "the message never echoes the secret"
            );
        }
        assert!(
            config(&[
                ("CACHEPANEL_JWT_SECRET", "secret"),
                ("CACHEPANEL_DEV_MODE", "true")
            ])
            .is_ok()
        );
    }

    #[test]
    fn the_secret_can_come_from_a_file_but_not_from_both() {
        let path = std::env::temp_dir().join(format!("cachepanel-secret-{}", std::process::id()));
        std::fs::write(&path, "file-secret-0123456789abcdef\n").unwrap();
        let path_text = path.to_string_lossy().into_owned();
        let from_file = config(&[("CACHEPANEL_JWT_SECRET_FILE", &path_text)]).unwrap();
        assert_eq!(
            from_file.auth.secret.expose(),
            "file-secret-0123456789abcdef"
        );
        assert!(
            !format!("{from_file:?}").contains("file-secret"),
            "Debug hides the secret"
        );
        let both = config(&[
            ("CACHEPANEL_JWT_SECRET_FILE", &path_text),
            ("CACHEPANEL_JWT_SECRET", TEST_SECRET),
        ]);
        assert!(both.is_err());
        let _ = std::fs::remove_file(path);
        let missing = config(&[("CACHEPANEL_JWT_SECRET_FILE", "/nonexistent/secret")]).unwrap_err();
        assert_eq!(missing.variable, "CACHEPANEL_JWT_SECRET_FILE");
    }

    #[test]
    fn several_targets_are_named_and_only_caches_may_be_flushed() {
        let config = config(&[
            (
                "CACHEPANEL_TARGETS",
                "bot-fsm=redis://:pw@10.0.0.5:6379/1; celery=redis://10.0.0.6/2",
            ),
            ("CACHEPANEL_CACHE_TARGETS", "cache"),
        ])
        .unwrap();
        assert_eq!(config.target_name, "cache");
        let names: Vec<&str> = config
            .extra_targets
            .iter()
            .map(|t| t.name.as_str())
            .collect();
        assert_eq!(names, ["bot-fsm", "celery"]);
        assert!(config.is_cache_target("cache") && !config.is_cache_target("celery"));
        let error = config_error("CACHEPANEL_TARGETS", "a=redis://:hunter2@h/0;a=redis://h/1");
        assert!(error.contains("twice") && !error.contains("hunter2"));
        assert!(config_error("CACHEPANEL_TARGETS", "bad name=redis://h/0").contains("target name"));
        assert!(
            config_error("CACHEPANEL_CACHE_TARGETS", "nope").contains("not a configured target")
        );
    }

    #[test]
    fn a_toml_file_fills_in_and_the_environment_wins() {
        let file = FileSettings::parse(
            "redis_url = \"redis://file-host:6379/0\"\nsample_interval_ms = 500\nread_only = true\nroles = [\"superadmin\", \"owner\"]\n",
        )
        .unwrap();
        let environment: HashMap<&str, &str> = [
            ("CACHEPANEL_REDIS_URL", "redis://env-host:6379/0"),
            ("CACHEPANEL_JWT_SECRET", TEST_SECRET),
        ]
        .into_iter()
        .collect();
        let config = Config::from_lookup(|name| {
            environment
                .get(name)
                .map(|value| (*value).to_owned())
                .or_else(|| file.get(name))
        })
        .unwrap();
        assert_eq!(
            config.redis_url.map(|url| url.to_string()).as_deref(),
            Some("redis://env-host:6379/0"),
            "the environment wins"
        );
        assert_eq!(config.sample_interval, Duration::from_millis(500));
        assert_eq!(config.flush.policy, FlushPolicy::ReadOnly);
        assert_eq!(config.auth.full_access_roles, ["superadmin", "owner"]);
    }

    #[test]
    fn a_toml_file_with_an_unknown_setting_or_bad_syntax_is_refused_without_echoing_it() {
        assert!(
            FileSettings::parse("redis_ulr = \"x\"")
                .unwrap_err()
                .contains("redis_ulr")
        );
        let error = FileSettings::parse("jwt_secret = \"s3cr3t-value").unwrap_err();
        assert!(!error.contains("s3cr3t"), "{error}");
    }

    #[test]
    fn the_description_redacts_every_secret() {
        let config = config(&[
            ("CACHEPANEL_REDIS_URL", "redis://:hunter2pass@h:6379/0"),
            ("CACHEPANEL_METRICS_TOKEN", "metrics-token-0123456789"),
        ])
        .unwrap();
        let text = format!("{:?}", config.describe());
        for secret in ["hunter2pass", TEST_SECRET, "metrics-token-0123456789"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert!(text.contains("redis://:***@h:6379/0"));
    }

    #[test]
    fn dev_mode_refuses_a_public_address() {
        let error = config(&[
            ("CACHEPANEL_DEV_MODE", "true"),
            ("CACHEPANEL_ADDR", "0.0.0.0:3000"),
        ])
        .unwrap_err();
        assert_eq!(error.variable, "CACHEPANEL_DEV_MODE");
    }

    #[test]
    fn roles_origins_and_framing_are_configurable_and_validated() {
        let config = config(&[
            ("CACHEPANEL_ROLES", "superadmin, owner"),
            ("CACHEPANEL_VIEW_ROLES", "moderator"),
            (
                "CACHEPANEL_ALLOWED_ORIGINS",
                "https://admin.example, http://127.0.0.1:8000",
            ),
            (
                "CACHEPANEL_FRAME_ANCESTORS",
                "'self'   https://admin.example",
            ),
            ("CACHEPANEL_ADMIN_ORIGIN", "https://admin.example"),
        ])
        .unwrap();
        assert_eq!(config.auth.full_access_roles, ["superadmin", "owner"]);
        assert_eq!(config.auth.view_only_roles, ["moderator"]);
        assert_eq!(
            config.web.allowed_origins,
            ["https://admin.example", "http://127.0.0.1:8000"]
        );
        assert_eq!(config.web.frame_ancestors, "'self' https://admin.example");
        assert_eq!(
            config.web.admin_origin.as_deref(),
            Some("https://admin.example")
        );
        assert!(
            config_error("CACHEPANEL_ALLOWED_ORIGINS", "https://a.example/path").contains("origin")
        );
        assert!(config_error("CACHEPANEL_FRAME_ANCESTORS", "'self'; script-src *").contains("CSP"));
        assert!(config_error("CACHEPANEL_ADMIN_ORIGIN", "*").contains("ADMIN_ORIGIN"));
    }

    #[test]
    fn defaults_need_no_variables() {
        let config = config(&[]).unwrap();
        assert_eq!(config.redis_url, None);
        assert_eq!(config.addr.to_string(), "127.0.0.1:3000");
        assert_eq!(config.base_path, "");
        assert_eq!(config.redis_response_timeout, Duration::from_secs(1));
    }

    #[test]
    fn errors_name_the_variable() {
        let error = config(&[("CACHEPANEL_ADDR", "nope")]).err();
        assert_eq!(error.map(|e| e.variable), Some("CACHEPANEL_ADDR"));
        let error = config(&[("CACHEPANEL_REDIS_URL", "http://x")]).err();
        assert_eq!(error.map(|e| e.variable), Some("CACHEPANEL_REDIS_URL"));
    }

    #[test]
    fn the_redis_password_is_never_displayed() {
        let url = RedisUrl::parse("redis://:s3cret-pass@127.0.0.1:6379/0").unwrap();
        assert!(url.has_password());
        assert!(!url.to_string().contains("s3cret-pass"));
        assert!(!format!("{url:?}").contains("s3cret-pass"));
        assert!(url.expose().contains("s3cret-pass"));
    }

    #[test]
    fn a_bad_url_error_does_not_echo_the_password() {
        let error = config(&[("CACHEPANEL_REDIS_URL", "redis://:s3cret@")]).err();
        let shown = error.map(|e| e.to_string()).unwrap_or_default();
        assert!(shown.starts_with("CACHEPANEL_REDIS_URL"));
        assert!(!shown.contains("s3cret"));
    }

    #[test]
    fn rediss_urls_and_databases_are_accepted() {
        assert!(RedisUrl::parse("rediss://user:pw@redis.internal:6380/2").is_ok());
        assert!(RedisUrl::parse("redis://localhost/abc").is_err());
    }

    #[test]
    fn thresholds_and_the_expected_profile_are_configurable() {
        let config = config(&[
            ("CACHEPANEL_TARGET_HIT_RATE", "85"),
            ("CACHEPANEL_EXPECT_MAXMEMORY", "1gb"),
            ("CACHEPANEL_EXPECT_AOF", "false"),
            ("CACHEPANEL_SAMPLE_INTERVAL_MS", "500"),
        ])
        .unwrap();
        assert_eq!(config.thresholds.target_hit_rate_percent, 85.0);
        assert_eq!(config.expected.maxmemory_bytes, 1 << 30);
        assert!(!config.expected.appendonly);
        assert_eq!(config.sample_interval, Duration::from_millis(500));
        let error = super::Config::from_lookup(|name| {
            (name == "CACHEPANEL_MEMORY_WARNING_PERCENT").then(|| "99".to_owned())
        })
        .err();
        assert_eq!(
            error.map(|e| e.variable),
            Some("CACHEPANEL_MEMORY_WARNING_PERCENT")
        );
    }

    #[test]
    fn prefix_groups_can_be_configured() {
        let config = config(&[(
            "CACHEPANEL_PREFIX_GROUPS",
            "user:=Пользователи|Users|cache; pin:=PIN|PIN|state",
        )])
        .unwrap();
        assert_eq!(config.census.groups.len(), 2);
        assert_eq!(config.census.groups[1].kind, GroupKind::State);
        let error = config_error("CACHEPANEL_PREFIX_GROUPS", "us*er:=a|b|cache");
        assert!(error.contains("glob"), "{error}");
        assert!(
            config_error("CACHEPANEL_PREFIX_GROUPS", "user:=a|b|other").contains("cache or state")
        );
    }

    fn config_error(name: &str, value: &str) -> String {
        config(&[(name, value)])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn rate_limits_are_configurable_per_role() {
        let config = config(&[("CACHEPANEL_RATE_LIMITS", "owner=10, guest=3")]).unwrap();
        assert_eq!(
            (
                config.rate_limits.owner,
                config.rate_limits.guest,
                config.rate_limits.manager
            ),
            (10, 3, 150)
        );
        assert!(config_error("CACHEPANEL_RATE_LIMITS", "root=1").contains("unknown role"));
    }

    #[test]
    fn memory_sizes_parse_like_redis() {
        assert_eq!(parse_memory("512mb"), Some(512 << 20));
        assert_eq!(parse_memory("536870912"), Some(536_870_912));
        assert_eq!(parse_memory("12 parsecs"), None);
    }

    #[test]
    fn base_path_is_normalised_and_validated() {
        assert_eq!(
            parse_base_path(Some("/tools/cachepanel/")),
            Ok("/tools/cachepanel".into())
        );
        assert_eq!(parse_base_path(Some("/")), Ok(String::new()));
        assert!(parse_base_path(Some("tools")).is_err());
        assert!(parse_base_path(Some("/a/../b")).is_err());
        assert!(parse_base_path(Some("/a b")).is_err());
    }
}
