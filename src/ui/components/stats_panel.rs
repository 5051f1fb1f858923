//! The lifetime figures of the cache (hits, misses, hit rate, memory, keys), or why they are
//! unavailable.

use leptos::prelude::*;

use crate::i18n::Texts;
use crate::model::forecast::MemoryForecast;
use crate::model::{RedisStats, StatsReport};
use crate::ui::components::StatCard;
use crate::ui::phrases::memory_trend;

/// The figures of one stats report, or the "Redis unavailable" state.
#[component]
pub fn StatsPanel(
    report: StatsReport,
    /// The trend of used memory (from the live sampler), when there is enough history.
    forecast: Option<MemoryForecast>,
    texts: &'static Texts,
) -> impl IntoView {
    match report {
        StatsReport::Up { stats, read_at_ms } => {
            figures(stats, read_at_ms, forecast, texts).into_any()
        }
        StatsReport::Unavailable { reason } => view! {
            <div class="banner banner-critical" role="alert" data-testid="redis-unavailable">
                <strong>{texts.redis_unavailable}</strong>
                " — "
                <span data-testid="redis-unavailable-reason">{crate::ui::phrases::reason(&reason, texts)}</span>
            </div>
        }
        .into_any(),
    }
}

fn figures(
    stats: RedisStats,
    read_at_ms: i64,
    forecast: Option<MemoryForecast>,
    texts: &'static Texts,
) -> impl IntoView {
    let hit_rate = stats
        .hit_rate_percent()
        .map(|percent| texts.lang.percent(percent, 1))
        .unwrap_or_else(|| texts.no_lookups_yet.to_owned());
    let maxmemory = match stats.maxmemory_bytes {
        0 => texts.unlimited.to_owned(),
        bytes => texts.lang.bytes(bytes),
    };
    let memory_hint = stats
        .memory_used_percent()
        .map(|percent| format!("{} {}", texts.lang.percent(percent, 1), texts.of_maxmemory));
    let trend = forecast.map(|forecast| memory_trend(&forecast, texts));
    let memory_hint = match (memory_hint, trend) {
        (Some(share), Some(trend)) => Some(format!("{share} · {trend}")),
        (share, trend) => share.or(trend),
    };
    view! {
        <section class="stat-grid" data-testid="stats">
            <StatCard label=texts.hits value=texts.lang.count(stats.keyspace_hits) test_id="hits" />
            <StatCard label=texts.misses value=texts.lang.count(stats.keyspace_misses) test_id="misses" />
            <StatCard
                label=texts.hit_rate
                value=hit_rate
                test_id="hit-rate"
                hint=texts.hit_rate_lifetime_hint.to_owned()
            />
            <StatCard
                label=texts.used_memory
                value=texts.lang.bytes(stats.used_memory_bytes)
                test_id="used-memory"
                hint=memory_hint.unwrap_or_default()
            />
            <StatCard label=texts.maxmemory value=maxmemory test_id="maxmemory" />
            <StatCard label=texts.total_keys value=texts.lang.count(stats.total_keys) test_id="total-keys" />
        </section>
        <p class="meta">
            {texts.redis_version} " " <span data-testid="redis-version" translate="no">{stats.redis_version}</span>
            " · " {texts.policy} " " <span data-testid="policy" translate="no">{stats.maxmemory_policy}</span>
            " · " {texts.read_at} " " <time data-testid="read-at" data-ms=read_at_ms>{texts.lang.date_time_ms(read_at_ms)}</time>
        </p>
    }
}
