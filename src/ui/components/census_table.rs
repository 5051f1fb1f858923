//! The census table: one row per key group, sortable, with a drill-down to sampled keys.

use leptos::prelude::*;

use crate::i18n::Texts;
use crate::model::Lang;
use crate::model::census::{GroupKind, GroupReport, HotnessKind, SortBy, sort_groups};

/// A TTL or median TTL in the page's language; `—` for none.
fn ttl_text(lang: Lang, ms: Option<i64>) -> String {
    match ms {
        Some(ms) if ms >= 0 => lang.duration_ms(ms.unsigned_abs()),
        _ => "—".to_owned(),
    }
}

/// The census result as a sortable table; a click on a group shows its sample keys.
#[component]
pub fn CensusTable(
    groups: Vec<GroupReport>,
    total_keys: u64,
    lang: Lang,
    texts: &'static Texts,
) -> impl IntoView {
    let sort_by = RwSignal::new(SortBy::Keys);
    let selected = RwSignal::new(None::<String>);
    let groups = StoredValue::new(groups);
    let sorted = move || {
        let mut groups = groups.get_value();
        sort_groups(&mut groups, sort_by.get());
        groups
    };
    let header = move |label: &'static str, by: SortBy, test_id: &'static str| {
        view! {
            <th scope="col">
                <button type="button" class="sort" class:active=move || sort_by.get() == by
                    data-testid=test_id on:click=move |_| sort_by.set(by)>
                    {label}
                </button>
            </th>
        }
    };
    let row = move |group: GroupReport| {
        let prefix = group.prefix.clone();
        let share = if total_keys == 0 {
            0.0
        } else {
            group.keys as f64 * 100.0 / total_keys as f64
        };
        let memory = if group.memory.sampled_keys == 0 {
            "—".to_owned()
        } else if group.memory.margin_bytes == 0 {
            lang.bytes(group.memory.estimated_bytes)
        } else {
            format!(
                "{} ± {}",
                lang.bytes(group.memory.estimated_bytes),
                lang.bytes(group.memory.margin_bytes)
            )
        };
        let kind = match group.kind {
            Some(GroupKind::Cache) => texts.kind_cache,
            Some(GroupKind::State) => texts.kind_state,
            None => texts.kind_auto,
        };
        let hot = (group.hotness.sampled_keys > 0).then(|| {
            let hot = match group.hotness.policy_kind {
                HotnessKind::Lru => group.hotness.touched_last_minute,
                HotnessKind::Lfu => group.hotness.frequently_used,
            };
            lang.percent(hot as f64 * 100.0 / group.hotness.sampled_keys as f64, 0)
        });
        let app_hit_rate = group
            .app_lookups
            .and_then(|lookups| lookups.hit_rate_percent())
            .map(|rate| lang.percent(rate, 1));
        let name = match lang {
            Lang::Ru => group.name_ru.clone(),
            Lang::En => group.name_en.clone(),
        };
        // A group found in the keyspace is named by its key segment: not a word to translate.
        let name_is_key = name == prefix;
        let row_prefix = prefix.clone();
        view! {
            <tr class="census-row" data-testid="census-row" data-prefix=prefix.clone()
                on:click=move |_| selected.set(Some(row_prefix.clone()))>
                <td>
                    <span class="group-name" translate=name_is_key.then_some("no")>{name}</span>
                    " " <code translate="no">{prefix.clone()}</code>
                </td>
                <td>{kind}</td>
                <td class="num" data-testid="census-keys">{lang.count(group.keys)}</td>
                <td class="num">{lang.percent(share, 1)}</td>
                <td class="num">{memory}</td>
                <td class="num">{lang.count(group.ttl.without_ttl)}</td>
                <td class="num">{ttl_text(lang, group.ttl.median_ms)}</td>
                <td class="num">{hot.unwrap_or_else(|| "—".into())}</td>
                <td class="num" data-testid="census-app-hit-rate">{app_hit_rate.unwrap_or_else(|| "—".into())}</td>
            </tr>
        }
    };
    let drill_down = move || {
        let prefix = selected.get()?;
        let group = groups
            .get_value()
            .into_iter()
            .find(|g| g.prefix == prefix)?;
        Some(view! {
            <div class="drill-down" data-testid="census-samples">
                <h3>{texts.drill_heading} ": " <code translate="no">{prefix}</code></h3>
                <table class="data-table">
                    <thead><tr>
                        <th>{texts.col_name}</th><th>{texts.col_type}</th>
                        <th>{texts.col_ttl}</th><th>{texts.col_size}</th>
                    </tr></thead>
                    <tbody>
                        {group.samples.into_iter().map(|sample| view! {
                            <tr>
                                <td><code translate="no">{sample.name}</code></td>
                                <td><code translate="no">{sample.redis_type}</code></td>
                                <td>{ttl_text(lang, Some(sample.ttl_ms))}</td>
                                <td>{sample.memory_bytes.map(|bytes| lang.bytes(bytes)).unwrap_or_default()}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        })
    };
    view! {
        <table class="data-table census-table" data-testid="census-table">
            <thead><tr>
                {header(texts.col_group, SortBy::Name, "sort-name")}
                <th scope="col">{texts.col_kind}</th>
                {header(texts.col_keys, SortBy::Keys, "sort-keys")}
                <th scope="col">{texts.col_share}</th>
                {header(texts.col_memory, SortBy::Memory, "sort-memory")}
                {header(texts.col_no_ttl, SortBy::NoTtl, "sort-no-ttl")}
                <th scope="col">{texts.col_median_ttl}</th>
                <th scope="col" title=format!("LRU: {} · LFU: {}", texts.hot_hint_lru, texts.hot_hint_lfu)>
                    {texts.col_hot}
                </th>
                <th scope="col">{texts.col_app_hit_rate}</th>
            </tr></thead>
            <tbody>{move || sorted().into_iter().map(row).collect_view()}</tbody>
        </table>
        {drill_down}
    }
    .into_any()
}
