//! The Redis configuration that matters for a cache, against the expected production profile.

use leptos::prelude::*;

use crate::i18n::Texts;
use crate::model::redis_config::{ConfigField, ExpectedProfile, RedisConfigView};

/// Redis configuration next to the expected production profile; mismatches are highlighted,
/// fields CONFIG could not read say "unavailable".
#[component]
pub fn ConfigPanel(
    view: RedisConfigView,
    mismatches: Vec<ConfigField>,
    expected: ExpectedProfile,
    texts: &'static Texts,
) -> impl IntoView {
    let yes_no = move |flag: bool| words(if flag { texts.yes } else { texts.no });
    let unavailable = || words(texts.config_unavailable);
    let maxmemory = view
        .maxmemory_bytes
        .map_or_else(unavailable, |bytes| match bytes {
            0 => words(texts.unlimited),
            bytes => words(texts.lang.bytes(bytes)),
        });
    let save = view.save_rules.clone().map_or_else(unavailable, |rules| {
        if rules.trim().is_empty() {
            words(texts.config_rdb_off)
        } else {
            redis(rules)
        }
    });
    let row = move |label: &'static str,
                    value: Shown,
                    expected: Option<Shown>,
                    field: Option<ConfigField>| {
        let mismatch = field.is_some_and(|f| mismatches.contains(&f));
        let value_translate = value.translate();
        view! {
            <tr class:mismatch=mismatch data-mismatch=mismatch.to_string()>
                <th scope="row">{label}</th>
                <td translate=value_translate>{value.text}</td>
                <td class="expected">
                    {expected.map(|e| {
                        let translate = e.translate();
                        view! { {texts.config_expected} ": " <span translate=translate>{e.text}</span> }
                    })}
                    {mismatch.then(|| view! { <span class="mismatch-note">" — " {texts.config_mismatch}</span> })}
                </td>
            </tr>
        }
    };
    view! {
        <section class="panel" data-testid="config-panel">
            <h2>{texts.config_heading}</h2>
            <table class="config-table">
                <tbody>
                    {row(texts.redis_version, redis(view.version.clone()), None, None)}
                    {row(texts.config_role, redis(view.role.clone()), None, None)}
                    {row(texts.config_uptime, words(texts.lang.duration_s(view.uptime_seconds)), None, None)}
                    {row(texts.config_clients, words(view.connected_clients.to_string()), None, None)}
                    {row(texts.maxmemory, maxmemory, Some(words(texts.lang.bytes(expected.maxmemory_bytes))), Some(ConfigField::Maxmemory))}
                    {row(
                        texts.policy,
                        view.maxmemory_policy.clone().map_or_else(unavailable, redis),
                        Some(redis(expected.maxmemory_policy.clone())),
                        Some(ConfigField::MaxmemoryPolicy),
                    )}
                    {row(texts.config_save, save, Some(yes_no(expected.rdb_save)), Some(ConfigField::RdbSave))}
                    {row(
                        texts.config_appendonly,
                        view.appendonly.map_or_else(unavailable, yes_no),
                        Some(yes_no(expected.appendonly)),
                        Some(ConfigField::Appendonly),
                    )}
                    {row(
                        texts.config_password,
                        view.password_required.map_or_else(unavailable, yes_no),
                        Some(yes_no(expected.password_required)),
                        Some(ConfigField::PasswordRequired),
                    )}
                </tbody>
            </table>
        </section>
    }
    .into_any()
}

/// A value cell: words of the page's language, or Redis' own (versions, roles, policies,
/// save rules), which are marked as not to be translated.
struct Shown {
    text: String,
    verbatim: bool,
}

impl Shown {
    fn translate(&self) -> Option<&'static str> {
        self.verbatim.then_some("no")
    }
}

fn words(text: impl Into<String>) -> Shown {
    Shown {
        text: text.into(),
        verbatim: false,
    }
}

fn redis(text: String) -> Shown {
    Shown {
        text,
        verbatim: true,
    }
}
