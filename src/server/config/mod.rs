//! The configuration as composed from every feature's settings (each reads its own variables
//! through `Env`), plus what belongs to the process itself (address, paths, dev mode, logs)
//! and the rules that span features. The variables themselves are listed once, in `registry`.

pub mod registry;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::server::alerts::settings::AlertSettings;
use crate::server::audit::AuditSettings;
use crate::server::census::CensusSettings;
use crate::server::flush::FlushSettings;
use crate::server::job::JobSettings;
use crate::server::live::settings::LiveSettings;
use crate::server::rate_limit::settings::RateLimitSettings;
use crate::server::redis::settings::RedisSettings;
use crate::server::security::settings::{AuthSettings, WebSettings};

use crate::server::env::invalid;
pub use crate::server::env::{ConfigError, Env, FileSettings, RedisUrl, Secret};

#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub addr: SocketAddr,
    /// Public prefix under a reverse proxy: "" or "/a/b" (leading slash, no trailing one).
    pub base_path: String,
    /// Where the built client (`pkg/`) and public assets are.
    pub site_root: PathBuf,
    /// Run the demo workload against the embedded Redis.
    pub demo_traffic: bool,
    /// Local trials: a missing JWT secret is replaced by a throwaway one with a built-in login;
    /// only on a loopback address.
    pub dev_mode: bool,
    pub redis: RedisSettings,
    /// Leases and the replica's name, for jobs that run once across replicas.
    pub jobs: JobSettings,
    pub live: LiveSettings,
    pub census: CensusSettings,
    pub flush: FlushSettings,
    pub audit: AuditSettings,
    pub rate_limit: RateLimitSettings,
    pub auth: AuthSettings,
    pub web: WebSettings,
    pub alerts: AlertSettings,
}

impl Config {
    /// Every feature's settings from `env`; the first problem found, naming its variable.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let addr = env
            .parsed("CACHEPANEL_ADDR", |text| {
                text.trim()
                    .parse()
                    .map_err(|_| "expected host:port, e.g. 127.0.0.1:3000".to_owned())
            })?
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 3000)));
        let base_path = parse_base_path(env.text("CACHEPANEL_BASE_PATH").as_deref())
            .map_err(|e| invalid("CACHEPANEL_BASE_PATH", e))?;
        let site_root = env
            .text("CACHEPANEL_SITE_ROOT")
            .or_else(|| env.text("LEPTOS_SITE_ROOT"))
            .unwrap_or_else(|| "target/site".into())
            .into();
        let demo_traffic = env.flag("CACHEPANEL_DEMO_TRAFFIC", true)?;
        let dev_mode = env.flag("CACHEPANEL_DEV_MODE", false)?;
        if dev_mode && !addr.ip().is_loopback() {
            return Err(invalid(
                "CACHEPANEL_DEV_MODE",
                "dev mode only listens on a loopback address (CACHEPANEL_ADDR)",
            ));
        }
        let redis = RedisSettings::from_env(env)?;
        let mut census = CensusSettings::from_env(env)?;
        add_own_state_group(&mut census.groups, &redis.state_namespace);
        Ok(Self {
            redis,
            jobs: JobSettings::from_env(env)?,
            live: LiveSettings::from_env(env)?,
            census,
            flush: FlushSettings::from_env(env)?,
            audit: AuditSettings::from_env(env)?,
            rate_limit: RateLimitSettings::from_env(env)?,
            auth: AuthSettings::from_env(env, dev_mode, &base_path)?,
            web: WebSettings::from_env(env)?,
            alerts: AlertSettings::from_env(env)?,
            addr,
            base_path,
            site_root,
            demo_traffic,
            dev_mode,
        })
    }
}

/// cachepanel's own keys (`{namespace}:…`) are application state: counted in the census as
/// such and never flushable, whatever groups were configured.
fn add_own_state_group(groups: &mut Vec<crate::model::census::PrefixGroup>, namespace: &str) {
    let prefix = format!("{namespace}:");
    if groups
        .iter()
        .any(|group| group.prefix == prefix && group.kind == crate::model::census::GroupKind::State)
    {
        return;
    }
    groups.retain(|group| group.prefix != prefix);
    groups.push(crate::model::census::PrefixGroup {
        prefix,
        name_ru: "Данные cachepanel".into(),
        name_en: "cachepanel's own data".into(),
        kind: crate::model::census::GroupKind::State,
    });
}

/// Reads a TOML settings file, refusing names the registry does not allow in files, so a
/// typo is never silently ignored.
pub fn read_file(path: &std::path::Path) -> Result<FileSettings, ConfigError> {
    let file = FileSettings::read(path)?;
    check_file(&file)
        .map_err(|problem| invalid("--config", format!("{}: {problem}", path.display())))?;
    Ok(file)
}

/// `FileSettings::parse` plus the registry's rules (tests and `read_file`).
pub fn parse_file(text: &str) -> Result<FileSettings, String> {
    let file = FileSettings::parse(text)?;
    check_file(&file)?;
    Ok(file)
}

fn check_file(file: &FileSettings) -> Result<(), String> {
    for variable in file.variables() {
        let key = variable
            .strip_prefix("CACHEPANEL_")
            .unwrap_or(variable)
            .to_ascii_lowercase();
        match registry::find(variable) {
            Some(known) if known.in_file => {}
            Some(_) => return Err(format!("'{key}' cannot be set in the file itself")),
            None => return Err(format!("unknown setting '{key}'")),
        }
    }
    Ok(())
}

/// Log lines for people or for log collectors (one JSON object per line).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

/// How the process logs. Read before anything else (a file's `log` and `log_format` count
/// too); `--log-format` on the command line wins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogSettings {
    /// A tracing `EnvFilter` directive list.
    pub filter: String,
    pub format: LogFormat,
}

impl LogSettings {
    pub fn from_env(env: &Env, flag: Option<LogFormat>) -> Result<Self, ConfigError> {
        let filter = env
            .parsed("CACHEPANEL_LOG", |text| {
                tracing_subscriber::EnvFilter::try_new(text.trim())
                    .map(|_| text.trim().to_owned())
                    .map_err(|_| "not a log filter, e.g. info or info,tower_http=debug".into())
            })?
            .unwrap_or_else(|| "info,tower_http=info".into());
        let configured = env.parsed("CACHEPANEL_LOG_FORMAT", |text| {
            match text.trim().to_ascii_lowercase().as_str() {
                "human" => Ok(LogFormat::Human),
                "json" => Ok(LogFormat::Json),
                _ => Err("expected human or json".into()),
            }
        })?;
        Ok(Self {
            filter,
            format: flag.or(configured).unwrap_or(LogFormat::Human),
        })
    }
}

/// Where cachepanel lives unless told otherwise: the admin's own path for it, so one proxy
/// rule (`location /admin/cache/`) serves the page at `/admin/cache/stats`.
pub const DEFAULT_BASE_PATH: &str = "/admin/cache";

/// `None` (unset): the default prefix; `""` or `/`: everything at the root.
fn parse_base_path(text: Option<&str>) -> Result<String, String> {
    let path = text
        .unwrap_or(DEFAULT_BASE_PATH)
        .trim()
        .trim_end_matches('/');
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
