//! The newest audit entries (previews, flushes, resets), each as a sentence.

use leptos::prelude::*;

use crate::i18n::Texts;
use crate::model::flush::{AuditEntry, FlushOutcome};
use crate::ui::phrases::{code, flush_sentence, sentence, text};

/// The newest audit entries: when, who, and what was done, in the page's language.
#[component]
pub fn AuditList(entries: Vec<AuditEntry>, texts: &'static Texts) -> impl IntoView {
    if entries.is_empty() {
        return view! { <p class="meta">{texts.audit_empty}</p> }.into_any();
    }
    view! {
        <table class="data-table" data-testid="audit">
            <tbody>
                {entries
                    .into_iter()
                    .map(|entry| {
                        let when = texts.lang.date_time_ms(entry.at_ms);
                        let action = entry.action.clone();
                        view! {
                            <tr data-testid="audit-entry" data-action=action>
                                <td>{when}</td>
                                <td translate="no">{entry.actor.clone()}</td>
                                <td data-testid="audit-sentence">{what_was_done(&entry, texts)}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// "Удалено 1 234 ключа с префиксом user: за 0,8 с": the entry's action with its figures.
fn what_was_done(entry: &AuditEntry, texts: &'static Texts) -> AnyView {
    let lang = texts.lang;
    let figures = &entry.figures;
    let keys = |count: Option<u64>| text(lang.counted(count.unwrap_or(0), &texts.noun_keys));
    let prefix = code(entry.prefix.clone());
    match entry.action.as_str() {
        "preview" => sentence(
            texts.audit_preview,
            &[
                ("prefix", prefix),
                ("keys", keys(figures.keys)),
                ("bytes", text(lang.bytes(figures.bytes.unwrap_or(0)))),
            ],
        ),
        "flush_started" => sentence(
            texts.audit_flush_started,
            &[("prefix", prefix), ("keys", keys(figures.keys))],
        ),
        "flush_finished" | "flush_interrupted" => {
            let recorded = figures
                .outcome
                .as_deref()
                .and_then(|name| FlushOutcome::from_name(name, figures.reason.as_deref()));
            let outcome = match (entry.action.as_str(), recorded) {
                ("flush_interrupted", _) => FlushOutcome::Interrupted,
                (_, recorded) => recorded.unwrap_or(FlushOutcome::Complete),
            };
            flush_sentence(
                &outcome,
                &entry.prefix,
                figures.deleted.unwrap_or(0),
                figures.duration_ms.unwrap_or(0),
                texts,
            )
        }
        "reset_rate_limit" => sentence(texts.audit_reset, &[("prefix", prefix)]),
        other => sentence(
            texts.audit_other,
            &[("action", code(other)), ("prefix", prefix)],
        ),
    }
}
