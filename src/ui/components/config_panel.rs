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
    let yes_no = move |flag: bool| if flag { texts.yes } else { texts.no };
    let unavailable = || texts.config_unavailable.to_owned();
    let maxmemory = view
        .maxmemory_bytes
        .map_or_else(unavailable, |bytes| match bytes {
            0 => texts.unlimited.to_owned(),
            bytes => texts.lang.bytes(bytes),
        });
    let save = view.save_rules.clone().map_or_else(unavailable, |rules| {
        if rules.trim().is_empty() {
            texts.config_rdb_off.to_owned()
        } else {
            rules
        }
    });
    let row = move |label: &'static str,
                    value: String,
                    expected: Option<String>,
                    field: Option<ConfigField>| {
        let mismatch = field.is_some_and(|f| mismatches.contains(&f));
        view! {
            <tr class:mismatch=mismatch data-mismatch=mismatch.to_string()>
                <th scope="row">{label}</th>
                // Redis' own words (versions, roles, policies, save rules) are not translated.
                <td translate=field_is_verbatim(label, texts).then_some("no")>{value}</td>
                <td class="expected">
                    {expected.map(|e| view! {
                        {texts.config_expected} ": "
                        <span translate=field_is_verbatim(label, texts).then_some("no")>{e}</span>
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
                    {row(texts.redis_version, view.version.clone(), None, None)}
                    {row(texts.config_role, view.role.clone(), None, None)}
                    {row(texts.config_uptime, texts.lang.duration_s(view.uptime_seconds), None, None)}
                    {row(texts.config_clients, view.connected_clients.to_string(), None, None)}
                    {row(texts.maxmemory, maxmemory, Some(texts.lang.bytes(expected.maxmemory_bytes)), Some(ConfigField::Maxmemory))}
                    {row(
                        texts.policy,
                        view.maxmemory_policy.clone().unwrap_or_else(unavailable),
                        Some(expected.maxmemory_policy.clone()),
                        Some(ConfigField::MaxmemoryPolicy),
                    )}
                    {row(texts.config_save, save, Some(yes_no(expected.rdb_save).to_owned()), Some(ConfigField::RdbSave))}
                    {row(
                        texts.config_appendonly,
                        view.appendonly.map_or_else(unavailable, |v| yes_no(v).to_owned()),
                        Some(yes_no(expected.appendonly).to_owned()),
                        Some(ConfigField::Appendonly),
                    )}
                    {row(
                        texts.config_password,
                        view.password_required.map_or_else(unavailable, |v| yes_no(v).to_owned()),
                        Some(yes_no(expected.password_required).to_owned()),
                        Some(ConfigField::PasswordRequired),
                    )}
                </tbody>
            </table>
        </section>
    }
    .into_any()
}

fn field_is_verbatim(label: &str, texts: &Texts) -> bool {
    [
        texts.redis_version,
        texts.config_role,
        texts.policy,
        texts.config_save,
    ]
    .contains(&label)
}
