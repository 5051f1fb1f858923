//! The text of an alert message, in the configured language: what happened, the figure
//! against its threshold, the target, and a link to the page. Plain text (no Telegram
//! markup), so a prefix or a role name can never break the message.

use crate::model::Lang;
use crate::model::alerts::{AlertEvent, Transition};

pub use crate::i18n::alerts::{figure, title};

pub fn text(event: &AlertEvent, lang: Lang, page_url: Option<&str>) -> String {
    let ru = lang == Lang::Ru;
    let (mark, lead) = match (event.transition, ru) {
        (Transition::Fired, _) => ("🔴", ""),
        (Transition::Repeated, true) => ("🔁", "Всё ещё: "),
        (Transition::Repeated, false) => ("🔁", "Still firing: "),
        (Transition::Resolved, true) => ("✅", "Решено: "),
        (Transition::Resolved, false) => ("✅", "Resolved: "),
    };
    let mut text = format!(
        "{mark} {lead}{} — {}",
        title(event.rule, lang),
        event.target
    );
    if !event.labels.is_empty() {
        text.push_str(&format!(" ({})", event.labels));
    }
    let shown = figure(event.rule, event.threshold, lang);
    if !shown.is_empty() {
        let now = event
            .value
            .map(|value| figure(event.rule, value, lang))
            .unwrap_or_else(|| "—".into());
        let comparison = if event.rule.fires_below() { "<" } else { ">" };
        text.push('\n');
        text.push_str(&match (event.transition, ru) {
            (Transition::Resolved, true) => format!("Сейчас {now}, порог {shown}"),
            (Transition::Resolved, false) => format!("Now {now}, threshold {shown}"),
            (_, true) => format!("{now} {comparison} {shown} (порог)"),
            (_, false) => format!("{now} {comparison} {shown} (threshold)"),
        });
    }
    let minutes = ((event.at_ms - event.since_ms).max(0) / 60_000) as u64;
    if event.transition != Transition::Fired && minutes > 0 {
        text.push_str(&if ru {
            format!("\nС начала: {minutes} мин")
        } else {
            format!("\nFiring for {minutes} min")
        });
    }
    if let Some(url) = page_url {
        text.push('\n');
        text.push_str(url);
    }
    text
}

/// Several transitions of one target in one message (the page link once, at the end).
pub fn grouped_text(events: &[AlertEvent], lang: Lang, page_url: Option<&str>) -> String {
    let mut parts: Vec<String> = events.iter().map(|event| text(event, lang, None)).collect();
    if let Some(url) = page_url {
        parts.push(url.to_owned());
    }
    parts.join("\n\n")
}

/// What `cachepanel check --test-alert` sends.
pub fn test_text(target: &str, lang: Lang, page_url: Option<&str>) -> String {
    let mut text = match lang {
        Lang::Ru => {
            format!("🧪 cachepanel — {target}: проверка оповещений. Оповещения приходят сюда.")
        }
        Lang::En => format!("🧪 cachepanel — {target}: a test alert. Alerts arrive here."),
    };
    if let Some(url) = page_url {
        text.push('\n');
        text.push_str(url);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::alerts::AlertRule;

    fn event(transition: Transition) -> AlertEvent {
        AlertEvent {
            rule: AlertRule::HitRate,
            target: "main".into(),
            labels: String::new(),
            transition,
            value: Some(42.04),
            threshold: 70.0,
            at_ms: 20 * 60_000,
            since_ms: 5 * 60_000,
            silenced: false,
        }
    }

    #[test]
    fn a_message_names_the_figure_the_threshold_the_target_and_the_page() {
        let ru = text(
            &event(Transition::Fired),
            Lang::Ru,
            Some("https://admin.example/admin/cache/stats"),
        );
        assert_eq!(
            ru,
            "🔴 Доля попаданий в кэш ниже цели — main\n42,0\u{a0}% < 70,0\u{a0}% (порог)\nhttps://admin.example/admin/cache/stats"
        );
        let mut memory = event(Transition::Fired);
        memory.rule = AlertRule::MemoryCritical;
        memory.threshold = 95.0;
        memory.value = Some(97.5);
        let grouped = grouped_text(
            &[event(Transition::Fired), memory],
            Lang::En,
            Some("https://a.example/"),
        );
        assert_eq!(
            grouped,
            "🔴 Cache hit rate below target — main\n42.0% < 70.0% (threshold)\n\n🔴 Redis memory nearly full — main\n97.5% > 95.0% (threshold)\n\nhttps://a.example/"
        );
        let en = text(&event(Transition::Resolved), Lang::En, None);
        assert_eq!(
            en,
            "✅ Resolved: Cache hit rate below target — main\nNow 42.0%, threshold 70.0%\nFiring for 15 min"
        );
    }
}
