//! Which alerts fire when, and where they are sent (`CACHEPANEL_ALERT_*`, `CACHEPANEL_TELEGRAM_*`).
//! Each rule is one variable: `off`, or `key=value` pairs over its defaults
//! (`threshold=70 resolve=75 for=15m hold=5m window=5m min_rate=1`).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::model::Lang;
use crate::model::alerts::{AlertRule, RuleSettings};
use crate::server::env::{ConfigError, Env, Secret, invalid};

/// The variable that tunes each rule.
pub const RULE_VARIABLES: [(AlertRule, &str); 10] = [
    (AlertRule::HitRate, "CACHEPANEL_ALERT_HIT_RATE"),
    (AlertRule::MemoryHigh, "CACHEPANEL_ALERT_MEMORY_HIGH"),
    (
        AlertRule::MemoryCritical,
        "CACHEPANEL_ALERT_MEMORY_CRITICAL",
    ),
    (AlertRule::Evictions, "CACHEPANEL_ALERT_EVICTIONS"),
    (AlertRule::RedisDown, "CACHEPANEL_ALERT_REDIS_DOWN"),
    (AlertRule::Failover, "CACHEPANEL_ALERT_FAILOVER"),
    (AlertRule::RateLimited, "CACHEPANEL_ALERT_RATE_LIMITED"),
    (AlertRule::StuckCounters, "CACHEPANEL_ALERT_STUCK_COUNTERS"),
    (AlertRule::SaveFailed, "CACHEPANEL_ALERT_SAVE_FAILED"),
    (
        AlertRule::MemoryForecast,
        "CACHEPANEL_ALERT_MEMORY_FORECAST",
    ),
];

pub const DEFAULT_TELEGRAM_API: &str = "https://api.telegram.org";

#[derive(Clone, Debug, PartialEq)]
pub struct TelegramSettings {
    /// The Bot API's base URL (a local server in tests, a proxy where Telegram is blocked).
    pub api_url: String,
    pub token: Secret,
    pub chat_ids: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct WebhookSettings {
    pub url: String,
    /// Signs each body: `X-Cachepanel-Signature: sha256=<hex HMAC-SHA256>`.
    pub secret: Option<Secret>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AlertSettings {
    pub rules: BTreeMap<AlertRule, RuleSettings>,
    /// A firing alert is told again this often (`None`: once).
    pub repeat: Option<Duration>,
    pub language: Lang,
    /// The page's address, linked from each message.
    pub page_url: Option<String>,
    pub telegram: Option<TelegramSettings>,
    pub webhook: Option<WebhookSettings>,
    /// One delivery attempt waits at most this long.
    pub delivery_timeout: Duration,
    /// Attempts per message and channel, with doubling waits from `retry_after` between them.
    pub delivery_attempts: u32,
    pub retry_after: Duration,
}

impl Default for AlertSettings {
    fn default() -> Self {
        Self {
            rules: AlertRule::ALL
                .into_iter()
                .map(|rule| (rule, rule.defaults()))
                .collect(),
            repeat: Some(Duration::from_secs(4 * 3600)),
            language: Lang::Ru,
            page_url: None,
            telegram: None,
            webhook: None,
            delivery_timeout: Duration::from_secs(10),
            delivery_attempts: 5,
            retry_after: Duration::from_secs(1),
        }
    }
}

impl AlertSettings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        let mut rules = BTreeMap::new();
        for (rule, variable) in RULE_VARIABLES {
            let settings = env
                .parsed(variable, |text| parse_rule(rule, text))?
                .unwrap_or_else(|| rule.defaults());
            rules.insert(rule, settings);
        }
        let repeat_seconds =
            env.whole("CACHEPANEL_ALERT_REPEAT_SECONDS", 4 * 3600, 0..=7 * 86_400)?;
        let language = match env.word("CACHEPANEL_ALERT_LANGUAGE", "ru").as_str() {
            "ru" => Lang::Ru,
            "en" => Lang::En,
            _ => {
                return Err(invalid("CACHEPANEL_ALERT_LANGUAGE", "expected ru or en"));
            }
        };
        let page_url = env.parsed("CACHEPANEL_ALERT_PAGE_URL", |text| {
            http_url(text).map(|_| text.to_owned())
        })?;
        let token = env
            .text("CACHEPANEL_TELEGRAM_BOT_TOKEN")
            .filter(|t| !t.is_empty());
        let chat_ids = env.list("CACHEPANEL_TELEGRAM_CHAT_IDS", "");
        let api_url = env.word("CACHEPANEL_TELEGRAM_API_URL", DEFAULT_TELEGRAM_API);
        http_url(&api_url).map_err(|problem| invalid("CACHEPANEL_TELEGRAM_API_URL", problem))?;
        let telegram = match (token, chat_ids.is_empty()) {
            (None, true) => None,
            (Some(token), false) => Some(TelegramSettings {
                api_url: api_url.trim_end_matches('/').to_owned(),
                token: Secret::new(token),
                chat_ids,
            }),
            (None, false) => {
                return Err(invalid(
                    "CACHEPANEL_TELEGRAM_BOT_TOKEN",
                    "chat ids are set but the bot token is not",
                ));
            }
            (Some(_), true) => {
                return Err(invalid(
                    "CACHEPANEL_TELEGRAM_CHAT_IDS",
                    "the bot token is set but no chat id to send to",
                ));
            }
        };
        let webhook_secret = env
            .text("CACHEPANEL_ALERT_WEBHOOK_SECRET")
            .filter(|secret| !secret.is_empty())
            .map(Secret::new);
        let webhook = env.parsed("CACHEPANEL_ALERT_WEBHOOK_URL", |text| {
            http_url(text).map(|_| text.to_owned())
        })?;
        if webhook.is_none() && webhook_secret.is_some() {
            return Err(invalid(
                "CACHEPANEL_ALERT_WEBHOOK_SECRET",
                "set, but CACHEPANEL_ALERT_WEBHOOK_URL is not",
            ));
        }
        let webhook = webhook.map(|url| WebhookSettings {
            url,
            secret: webhook_secret,
        });
        Ok(Self {
            rules,
            repeat: (repeat_seconds > 0).then(|| Duration::from_secs(repeat_seconds)),
            language,
            page_url,
            telegram,
            webhook,
            delivery_timeout: env.millis(
                "CACHEPANEL_ALERT_DELIVERY_TIMEOUT_MS",
                defaults.delivery_timeout.as_millis() as u64,
                100..=120_000,
            )?,
            delivery_attempts: env.whole("CACHEPANEL_ALERT_DELIVERY_ATTEMPTS", 5, 1..=20)? as u32,
            retry_after: env.millis(
                "CACHEPANEL_ALERT_RETRY_MS",
                defaults.retry_after.as_millis() as u64,
                10..=600_000,
            )?,
        })
    }

    /// Whether anything is sent anywhere.
    pub fn delivers(&self) -> bool {
        self.telegram.is_some() || self.webhook.is_some()
    }
}

fn http_url(text: &str) -> Result<url::Url, String> {
    let parsed = url::Url::parse(text).map_err(|error| format!("not a URL: {error}"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err("expected an http:// or https:// URL".into());
    }
    Ok(parsed)
}

/// `off`, `on`, or `key=value` pairs (spaces or commas between) over the rule's defaults.
pub fn parse_rule(rule: AlertRule, text: &str) -> Result<RuleSettings, String> {
    let mut settings = rule.defaults();
    let text = text.trim();
    match text {
        "off" | "false" => {
            settings.enabled = false;
            return Ok(settings);
        }
        "" | "on" | "true" => return Ok(settings),
        _ => {}
    }
    for pair in text.split([' ', ',']).filter(|pair| !pair.is_empty()) {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| format!("'{pair}': expected key=value (or off)"))?;
        match key {
            "threshold" => settings.threshold = number(key, value)?,
            "resolve" => settings.resolve = number(key, value)?,
            "for" => settings.for_ms = duration_ms(key, value)?,
            "hold" => settings.hold_ms = duration_ms(key, value)?,
            "window" if matches!(rule, AlertRule::HitRate | AlertRule::Failover) => {
                settings.window_ms = duration_ms(key, value)?.max(1000);
            }
            "min_rate" if rule == AlertRule::HitRate => settings.min_rate = number(key, value)?,
            _ => {
                return Err(format!(
                    "'{key}' is not a setting of {} (threshold, resolve, for, hold{})",
                    rule.name(),
                    match rule {
                        AlertRule::HitRate => ", window, min_rate",
                        AlertRule::Failover => ", window",
                        _ => "",
                    }
                ));
            }
        }
    }
    let wrong_side = if rule.fires_below() {
        settings.resolve < settings.threshold
    } else {
        settings.resolve > settings.threshold
    };
    if wrong_side {
        return Err(format!(
            "resolve={} must be on the healthy side of threshold={} ({} it)",
            settings.resolve,
            settings.threshold,
            if rule.fires_below() {
                "at or above"
            } else {
                "at or below"
            }
        ));
    }
    Ok(settings)
}

fn number(key: &str, value: &str) -> Result<f64, String> {
    value
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite() && *n >= 0.0)
        .ok_or_else(|| format!("{key}={value}: expected a number ≥ 0"))
}

/// `90`, `90s`, `15m`, `2h`, `500ms`.
fn duration_ms(key: &str, value: &str) -> Result<i64, String> {
    let (digits, unit_ms) = if let Some(digits) = value.strip_suffix("ms") {
        (digits, 1)
    } else if let Some(digits) = value.strip_suffix('s') {
        (digits, 1000)
    } else if let Some(digits) = value.strip_suffix('m') {
        (digits, 60_000)
    } else if let Some(digits) = value.strip_suffix('h') {
        (digits, 3_600_000)
    } else {
        (value, 1000)
    };
    digits
        .parse::<i64>()
        .ok()
        .filter(|n| (0..=7 * 86_400_000).contains(&(n * unit_ms)))
        .map(|n| n * unit_ms)
        .ok_or_else(|| format!("{key}={value}: expected a duration such as 90s, 15m or 2h"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_variable_tunes_only_what_it_names() {
        let settings = parse_rule(AlertRule::HitRate, "threshold=60, for=2m hold=30s").unwrap();
        assert_eq!(settings.threshold, 60.0);
        assert_eq!(settings.for_ms, 120_000);
        assert_eq!(settings.hold_ms, 30_000);
        assert_eq!(settings.resolve, 75.0);
        assert_eq!(settings.window_ms, AlertRule::HitRate.defaults().window_ms);
        assert!(!parse_rule(AlertRule::Evictions, "off").unwrap().enabled);
    }

    #[test]
    fn a_malformed_rule_variable_says_what_is_wrong() {
        let wrong = |rule, text| parse_rule(rule, text).unwrap_err();
        assert!(wrong(AlertRule::HitRate, "threshold").contains("key=value"));
        assert!(wrong(AlertRule::HitRate, "threshold=abc").contains("a number"));
        assert!(wrong(AlertRule::HitRate, "for=5 minutes").contains("key=value"));
        assert!(wrong(AlertRule::HitRate, "for=5y").contains("duration"));
        assert!(wrong(AlertRule::Evictions, "window=5m").contains("not a setting"));
        // Resolving at 60 % while firing below 70 % would never resolve what fired.
        assert!(wrong(AlertRule::HitRate, "resolve=60").contains("healthy side"));
        assert!(wrong(AlertRule::MemoryHigh, "threshold=80 resolve=85").contains("healthy side"));
    }

    #[test]
    fn telegram_needs_both_a_token_and_a_chat() {
        let only_chat = Env::pairs(&[("CACHEPANEL_TELEGRAM_CHAT_IDS", "-100123")]);
        let error = AlertSettings::from_env(&only_chat).unwrap_err().to_string();
        assert!(error.contains("CACHEPANEL_TELEGRAM_BOT_TOKEN"), "{error}");
        let both = Env::pairs(&[
            ("CACHEPANEL_TELEGRAM_CHAT_IDS", "-100123, 42"),
            ("CACHEPANEL_TELEGRAM_BOT_TOKEN", "123:abc"),
        ]);
        let settings = AlertSettings::from_env(&both).unwrap();
        let telegram = settings.telegram.unwrap();
        assert_eq!(telegram.chat_ids, ["-100123", "42"]);
        assert_eq!(telegram.api_url, DEFAULT_TELEGRAM_API);
        assert!(!format!("{telegram:?}").contains("123:abc"));
    }
}
