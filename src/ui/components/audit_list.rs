//! The newest audit entries (previews, flushes, resets).

use leptos::prelude::*;

use crate::i18n::Texts;
use crate::model::flush::AuditEntry;

/// The newest audit entries: when, who, what, on which prefix.
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
                                <td>{entry.actor}</td>
                                <td>{entry.action}</td>
                                <td><code>{entry.prefix}</code></td>
                                <td class="meta">{entry.detail}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}
