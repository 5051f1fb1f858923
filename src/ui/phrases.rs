//! Sentences in the page's language. A language's template names its blanks (`{prefix}`), so
//! each language orders the words its own way; Redis' own identifiers (keys, prefixes, error
//! codes) fill blanks as `<code translate="no">`, marked as not words of either language.
//! Also: failure reasons and API errors as a person reads them.

use leptos::prelude::*;

use crate::error::{AppError, Problem};
use crate::i18n::Texts;
use crate::model::flush::FlushOutcome;

/// What fills a blank of a template.
#[derive(Clone, Debug, PartialEq)]
pub enum Part {
    /// Words of the page's language (already formatted numbers, durations, dates).
    Text(String),
    /// An identifier of Redis or of the application: shown verbatim, never translated.
    Code(String),
    /// A phrase of its own (a reason inside an error sentence).
    Phrase(Vec<Part>),
}

/// Text for a blank.
pub fn text(value: impl Into<String>) -> Part {
    Part::Text(value.into())
}

/// An identifier for a blank.
pub fn code(value: impl Into<String>) -> Part {
    Part::Code(value.into())
}

/// Splits a template into literal text and filled blanks; an unknown blank stays as written
/// (a test of each language's templates keeps that from reaching a page).
fn fill<'a>(template: &'a str, blanks: &'a [(&str, Part)]) -> Vec<Part> {
    let mut pieces = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}').map(|at| open + at) else {
            break;
        };
        if open > 0 {
            pieces.push(Part::Text(rest[..open].to_owned()));
        }
        let name = &rest[open + 1..close];
        match blanks.iter().find(|(blank, _)| *blank == name) {
            Some((_, Part::Phrase(parts))) => pieces.extend(parts.iter().cloned()),
            Some((_, part)) => pieces.push(part.clone()),
            None => pieces.push(Part::Text(rest[open..=close].to_owned())),
        }
        rest = &rest[close + 1..];
    }
    if !rest.is_empty() {
        pieces.push(Part::Text(rest.to_owned()));
    }
    pieces
}

/// The sentence as a view: text nodes, identifiers in `<code translate="no">`.
pub fn sentence(template: &str, blanks: &[(&str, Part)]) -> AnyView {
    fill(template, blanks)
        .into_iter()
        .map(|piece| match piece {
            Part::Code(name) => view! { <code translate="no">{name}</code> }.into_any(),
            Part::Text(words) => words.into_any(),
            Part::Phrase(_) => ().into_any(),
        })
        .collect_view()
        .into_any()
}

/// The sentence as plain text (for attributes and tests).
pub fn sentence_text(template: &str, blanks: &[(&str, Part)]) -> String {
    fill(template, blanks)
        .into_iter()
        .map(|piece| match piece {
            Part::Text(words) | Part::Code(words) => words,
            Part::Phrase(_) => String::new(),
        })
        .collect()
}

/// A failure reason the server reported (`RedisFailure` wording, a fixed vocabulary) in the
/// page's language; anything else is shown as the identifier it is.
pub fn reason_phrase(reason: &str, texts: &'static Texts) -> Part {
    let known = match reason {
        "timed out" => Some(texts.reason_timed_out),
        "connection refused" => Some(texts.reason_refused),
        "authentication failed" => Some(texts.reason_auth),
        "connection lost" => Some(texts.reason_lost),
        "not read yet" => Some(texts.reason_not_read),
        _ => None,
    };
    if let Some(words) = known {
        return text(words);
    }
    let (template, error_code) = match reason.strip_prefix("server error ") {
        Some(error_code) => (texts.reason_server_error, error_code),
        None => (texts.reason_other, reason),
    };
    Part::Phrase(fill(template, &[("code", code(error_code))]))
}

/// `reason_phrase` as a view.
pub fn reason(reason: &str, texts: &'static Texts) -> AnyView {
    sentence("{reason}", &[("reason", reason_phrase(reason, texts))])
}

/// An API error as the page says it.
pub fn error_message(error: &AppError, texts: &'static Texts) -> AnyView {
    if let Some(problem) = error.problem() {
        return problem_message(problem, texts);
    }
    let lang = texts.lang;
    match error {
        AppError::Unauthorized => texts.error_unauthorized.into_any(),
        AppError::Forbidden => texts.error_forbidden.into_any(),
        AppError::CrossSite { .. } => texts.error_cross_site.into_any(),
        AppError::BadRequest { .. } => texts.error_bad_request.into_any(),
        // Conflicts and switched-off actions without a problem come from other versions of
        // the server: their English message is all there is.
        AppError::Conflict { message, .. } | AppError::Disabled { message, .. } => {
            view! { <span translate="no">{message.clone()}</span> }.into_any()
        }
        AppError::RedisUnavailable { reason } => sentence(
            texts.error_redis,
            &[("reason", reason_phrase(reason, texts))],
        ),
        AppError::PayloadTooLarge { limit_bytes } => sentence(
            texts.error_too_large,
            &[("limit", text(lang.bytes(*limit_bytes)))],
        ),
        AppError::RateLimited {
            retry_after_seconds,
        } => sentence(
            texts.error_rate_limited,
            &[("after", text(lang.duration_s(*retry_after_seconds)))],
        ),
        AppError::Internal { reference } => sentence(
            texts.error_internal,
            &[("reference", code(reference.clone()))],
        ),
    }
}

fn problem_message(problem: &Problem, texts: &'static Texts) -> AnyView {
    match problem {
        Problem::ReadOnly => texts.flush_disabled_read_only.into_any(),
        Problem::NotACache => texts.flush_disabled_not_cache.into_any(),
        Problem::InvalidPrefix => texts.problem_invalid_prefix.into_any(),
        Problem::NotACounter { key } => {
            sentence(texts.problem_not_a_counter, &[("key", code(key.clone()))])
        }
        Problem::StateGroup { prefix, group } => sentence(
            texts.problem_state_group,
            &[
                ("prefix", code(prefix.clone())),
                ("group", code(group.clone())),
            ],
        ),
        Problem::NotACacheGroup { prefix, groups } => sentence(
            texts.problem_not_cache_group,
            &[
                ("prefix", code(prefix.clone())),
                ("groups", code(groups.clone())),
            ],
        ),
        Problem::UnknownPreview => texts.problem_unknown_preview.into_any(),
        Problem::ConfirmationMismatch { typed, previewed } => sentence(
            texts.problem_confirmation,
            &[
                ("typed", code(typed.clone())),
                ("previewed", code(previewed.clone())),
            ],
        ),
        Problem::FlushRunning { replica } => running_on(texts.problem_flush_running, replica),
        Problem::CensusRunning { replica } => running_on(texts.problem_census_running, replica),
    }
}

/// "A flush is already running", and where (the replica's name, as code) when another
/// replica runs it. No sentence of its own: every text the client carries costs WASM.
fn running_on(running: &'static str, replica: &Option<String>) -> AnyView {
    match replica {
        None => running.into_any(),
        Some(replica) => {
            view! { {running} " (" <code translate="no">{replica.clone()}</code> ")" }.into_any()
        }
    }
}

/// How a flush ended, as a sentence (the last-flush line and the audit use it alike).
pub fn flush_sentence(
    outcome: &FlushOutcome,
    prefix: &str,
    deleted_keys: u64,
    duration_ms: u64,
    texts: &'static Texts,
) -> AnyView {
    let lang = texts.lang;
    let mut blanks = vec![
        ("prefix", code(prefix)),
        ("keys", text(lang.counted(deleted_keys, &texts.noun_keys))),
        ("took", text(lang.duration_ms(duration_ms))),
    ];
    let template = match outcome {
        FlushOutcome::Complete => texts.flush_done,
        FlushOutcome::Cancelled => texts.flush_cancelled,
        FlushOutcome::Interrupted => texts.flush_interrupted_line,
        FlushOutcome::Failed { reason } => {
            blanks.push(("reason", reason_phrase(reason, texts)));
            texts.flush_failed
        }
    };
    sentence(template, &blanks)
}

/// The used-memory card's trend: "растёт на 12,0 МиБ/ч · до maxmemory ≈ 3 ч 20 мин".
pub fn memory_trend(forecast: &crate::model::forecast::MemoryForecast, texts: &Texts) -> String {
    let lang = texts.lang;
    if forecast.stable {
        return texts.forecast_stable.to_owned();
    }
    let rate = text(lang.bytes(forecast.bytes_per_hour.abs().round() as u64));
    let template = if forecast.bytes_per_hour > 0.0 {
        texts.forecast_growing
    } else {
        texts.forecast_shrinking
    };
    let mut trend = sentence_text(template, &[("rate", rate)]);
    if let Some(full_in_ms) = forecast.full_in_ms {
        trend.push_str(" · ");
        trend.push_str(&sentence_text(
            texts.forecast_full_in,
            &[("left", text(lang.duration_ms(full_in_ms)))],
        ));
    }
    trend
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::texts;
    use crate::model::Lang;

    #[test]
    fn the_memory_trend_reads_as_a_phrase() {
        use crate::model::forecast::MemoryForecast;
        let growing = MemoryForecast {
            bytes_per_hour: 12.0 * 1024.0 * 1024.0,
            stable: false,
            full_in_ms: Some(12_000_000),
            span_ms: 3_600_000,
        };
        assert_eq!(
            memory_trend(&growing, texts(Lang::Ru)).replace('\u{a0}', " "),
            "растёт на 12,0 МиБ/ч · до maxmemory ≈ 3 ч 20 мин"
        );
        let shrinking = MemoryForecast {
            bytes_per_hour: -2048.0,
            full_in_ms: None,
            ..growing
        };
        assert_eq!(
            memory_trend(&shrinking, texts(Lang::En)).replace('\u{a0}', " "),
            "shrinking 2.0 KiB/h"
        );
        let flat = MemoryForecast {
            stable: true,
            ..growing
        };
        assert_eq!(memory_trend(&flat, texts(Lang::Ru)), "стабильно");
    }

    #[test]
    fn blanks_are_filled_in_the_templates_order() {
        let blanks = [
            ("keys", text("1 234 ключа")),
            ("prefix", code("user:")),
            ("took", text("0,8 с")),
        ];
        assert_eq!(
            sentence_text(texts(Lang::Ru).flush_done, &blanks),
            "Удалено 1 234 ключа с префиксом user: за 0,8 с"
        );
        assert_eq!(
            fill("{prefix} is {missing}", &blanks),
            vec![code("user:"), text(" is "), text("{missing}")]
        );
        assert_eq!(fill("no blanks", &[]), vec![text("no blanks")]);
        let en = texts(Lang::En);
        assert_eq!(
            sentence_text(
                en.error_redis,
                &[("reason", reason_phrase("server error NOPERM", en))]
            ),
            "Redis unavailable: server error NOPERM"
        );
        assert_eq!(
            fill(
                "{reason}",
                &[("reason", reason_phrase("server error NOPERM", en))]
            ),
            vec![text("server error "), code("NOPERM")]
        );
        assert_eq!(
            sentence_text("{r}", &[("r", reason_phrase("timed out", texts(Lang::Ru)))]),
            "истекло время ожидания ответа"
        );
    }

    /// Every template of both languages names only blanks its English twin names too, so a
    /// blank filled for one language is filled for the other.
    #[test]
    fn both_languages_use_the_same_blanks() {
        fn blanks(template: &str) -> Vec<String> {
            let mut names: Vec<String> = template
                .split('{')
                .skip(1)
                .filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_owned()))
                .collect();
            names.sort();
            names
        }
        let (ru, en) = (texts(Lang::Ru), texts(Lang::En));
        let pairs = [
            (ru.updated_ago, en.updated_ago),
            (ru.census_summary, en.census_summary),
            (ru.census_progress, en.census_progress),
            (ru.census_left, en.census_left),
            (ru.census_sampled_every, en.census_sampled_every),
            (ru.flush_counting_line, en.flush_counting_line),
            (ru.flush_running_line, en.flush_running_line),
            (ru.flush_done, en.flush_done),
            (ru.flush_cancelled, en.flush_cancelled),
            (ru.flush_interrupted_line, en.flush_interrupted_line),
            (ru.flush_failed, en.flush_failed),
            (ru.audit_preview, en.audit_preview),
            (ru.audit_flush_started, en.audit_flush_started),
            (ru.audit_reset, en.audit_reset),
            (ru.audit_other, en.audit_other),
            (ru.limits_read_line, en.limits_read_line),
            (ru.limits_every_line, en.limits_every_line),
            (ru.limits_summary, en.limits_summary),
            (ru.reason_server_error, en.reason_server_error),
            (ru.reason_other, en.reason_other),
            (ru.error_redis, en.error_redis),
            (ru.error_too_large, en.error_too_large),
            (ru.error_rate_limited, en.error_rate_limited),
            (ru.error_internal, en.error_internal),
            (ru.problem_not_a_counter, en.problem_not_a_counter),
            (ru.problem_state_group, en.problem_state_group),
            (ru.problem_not_cache_group, en.problem_not_cache_group),
            (ru.problem_confirmation, en.problem_confirmation),
            (ru.forecast_growing, en.forecast_growing),
            (ru.forecast_shrinking, en.forecast_shrinking),
            (ru.forecast_full_in, en.forecast_full_in),
        ];
        for (russian, english) in pairs {
            assert_eq!(blanks(russian), blanks(english), "{russian} / {english}");
            assert!(!blanks(english).is_empty(), "{english} has blanks");
        }
    }
}
