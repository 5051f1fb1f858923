//! Texts of the alerts: the section at the top of the page and the messages sent to Telegram
//! and the webhook. Only the server renders either, so none of it is in the WASM client.

use crate::model::Lang;
use crate::model::alerts::AlertRule;

pub struct AlertsTexts {
    pub heading: &'static str,
    pub none_active: &'static str,
    pub pending: &'static str,
    pub firing: &'static str,
    /// "{ago}".
    pub since: &'static str,
    pub threshold: &'static str,
    pub silenced_badge: &'static str,
    pub silence_for: &'static str,
    pub silence_all: &'static str,
    pub hour: &'static str,
    pub hours4: &'static str,
    pub day: &'static str,
    pub silences_heading: &'static str,
    /// "{rule}", "{until}", "{by}".
    pub silence_row: &'static str,
    pub every_rule: &'static str,
    pub end_silence: &'static str,
    pub recent_heading: &'static str,
    pub fired: &'static str,
    pub repeated: &'static str,
    pub resolved: &'static str,
    pub delivery_heading: &'static str,
    /// Followed by `/metrics`.
    pub delivery_none: &'static str,
    /// "{channel}", "{count}".
    pub delivery_ok: &'static str,
    /// "{channel}", "{reason}", "{ago}".
    pub delivery_failing: &'static str,
}

pub fn alerts_texts(lang: Lang) -> &'static AlertsTexts {
    match lang {
        Lang::Ru => &RU,
        Lang::En => &EN,
    }
}

static RU: AlertsTexts = AlertsTexts {
    heading: "Оповещения",
    none_active: "Активных оповещений нет.",
    pending: "ожидает",
    firing: "сработало",
    since: "{ago}",
    threshold: "порог",
    silenced_badge: "без уведомлений",
    silence_for: "Не уведомлять",
    silence_all: "Не уведомлять ни о чём",
    hour: "1 ч",
    hours4: "4 ч",
    day: "24 ч",
    silences_heading: "Тишина",
    silence_row: "{rule}: до {until} ({by})",
    every_rule: "все правила",
    end_silence: "Снять",
    recent_heading: "Недавние",
    fired: "сработало",
    repeated: "напомнило",
    resolved: "решено",
    delivery_heading: "Доставка",
    delivery_none: "Каналы доставки не настроены: оповещения видны только здесь и в",
    delivery_ok: "{channel}: доставлено {count}",
    delivery_failing: "{channel}: ошибка доставки ({reason}), {ago}",
};

static EN: AlertsTexts = AlertsTexts {
    heading: "Alerts",
    none_active: "No active alerts.",
    pending: "pending",
    firing: "firing",
    since: "{ago}",
    threshold: "threshold",
    silenced_badge: "silenced",
    silence_for: "Silence for",
    silence_all: "Silence everything",
    hour: "1 h",
    hours4: "4 h",
    day: "24 h",
    silences_heading: "Silences",
    silence_row: "{rule}: until {until} ({by})",
    every_rule: "every rule",
    end_silence: "End",
    recent_heading: "Recent",
    fired: "fired",
    repeated: "repeated",
    resolved: "resolved",
    delivery_heading: "Delivery",
    delivery_none: "No delivery channel configured: alerts show only here and in",
    delivery_ok: "{channel}: {count} delivered",
    delivery_failing: "{channel}: delivery failing ({reason}), {ago}",
};

/// What a rule watches, as a short sentence.
pub fn title(rule: AlertRule, lang: Lang) -> &'static str {
    let (ru, en) = match rule {
        AlertRule::HitRate => (
            "Доля попаданий в кэш ниже цели",
            "Cache hit rate below target",
        ),
        AlertRule::MemoryHigh => ("Память Redis выше порога", "Redis memory above threshold"),
        AlertRule::MemoryCritical => ("Память Redis почти исчерпана", "Redis memory nearly full"),
        AlertRule::Evictions => ("Redis вытесняет ключи", "Redis is evicting keys"),
        AlertRule::RedisDown => ("Redis не отвечает", "Redis is not answering"),
        AlertRule::Failover => ("Sentinel сменил мастер", "Sentinel failed the master over"),
        AlertRule::RateLimited => ("Много ответов 429", "Many 429 answers"),
        AlertRule::StuckCounters => (
            "Счётчики лимитов без TTL",
            "Rate-limit counters without a TTL",
        ),
        AlertRule::SaveFailed => ("Сбой сохранения на диск", "Saving to disk failed"),
        AlertRule::MemoryForecast => ("Память скоро заполнится", "Memory will fill up soon"),
    };
    match lang {
        Lang::Ru => ru,
        Lang::En => en,
    }
}

/// The figure with its unit, in the language's number format (`42,0 %`, `12,5/с`, `3 ч` /
/// `42.0%`, `12.5/s`, `3 h`); empty for yes/no rules.
pub fn figure(rule: AlertRule, value: f64, lang: Lang) -> String {
    let ru = lang == Lang::Ru;
    // Floored: a count past a threshold of 0.5 reads "1 > 0".
    let whole = |value: f64| lang.count(value.max(0.0).floor() as u64);
    match rule {
        AlertRule::HitRate | AlertRule::MemoryHigh | AlertRule::MemoryCritical => {
            lang.percent(value, 1)
        }
        AlertRule::Evictions => {
            format!("{}{}", lang.decimal(value, 1), if ru { "/с" } else { "/s" })
        }
        AlertRule::RedisDown => format!("{} {}", whole(value), if ru { "с" } else { "s" }),
        AlertRule::RateLimited => {
            format!(
                "{} {}",
                whole(value),
                if ru {
                    "за минуту"
                } else {
                    "per minute"
                }
            )
        }
        AlertRule::MemoryForecast => {
            format!("{} {}", lang.decimal(value, 1), if ru { "ч" } else { "h" })
        }
        AlertRule::StuckCounters => whole(value),
        AlertRule::Failover | AlertRule::SaveFailed => String::new(),
    }
}
