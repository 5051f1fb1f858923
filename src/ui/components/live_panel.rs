//! The live figures of the latest sample: status, hit rate, rates and health badges.

use leptos::prelude::*;

use crate::i18n::Texts;
use crate::model::health::{Badge, BadgeKind, Level};
use crate::model::live::{LiveSnapshot, LiveStatus};
use crate::ui::phrases::{self, sentence, text};

/// Availability banner, data age, health badges and windowed rates of the latest snapshot.
#[component]
pub fn LivePanel(
    snapshot: LiveSnapshot,
    server_now_ms: i64,
    texts: &'static Texts,
) -> impl IntoView {
    let age_ms = snapshot.data_age_ms(server_now_ms);
    let age = move || {
        age_ms.map(|ms| {
            let ago = texts.lang.ago_ms(u64::try_from(ms).unwrap_or(0));
            view! { " · " {sentence(texts.updated_ago, &[("ago", text(ago))])} }
        })
    };
    let stale = snapshot.is_stale(server_now_ms);
    let banner = match &snapshot.status {
        LiveStatus::Unavailable { reason, .. } => Some(
            view! {
                <div class="banner banner-critical" role="alert" data-testid="live-unavailable">
                    <strong>{texts.redis_unavailable}</strong>
                    " — "
                    {phrases::reason(reason, texts)}
                    {age()}
                </div>
            }
            .into_any(),
        ),
        LiveStatus::Starting => {
            Some(view! { <p class="meta">{texts.no_sample_yet}</p> }.into_any())
        }
        LiveStatus::Up if stale => Some(
            view! {
                <div class="banner banner-warning" role="status" data-testid="live-stale">
                    {texts.stale_data}
                    {age()}
                </div>
            }
            .into_any(),
        ),
        LiveStatus::Up => None,
    };
    let rates = snapshot.rates;
    let figure = |value: Option<f64>, digits: usize| {
        value.map_or_else(|| "—".to_owned(), |v| texts.lang.decimal(v, digits))
    };
    view! {
        {banner}
        <div class="badges" data-testid="health-badges">
            {snapshot.badges.iter().map(|badge| view! { <HealthBadge badge=*badge texts /> }).collect_view()}
        </div>
        <section class="stat-grid" data-testid="live-rates">
            <div class="stat-card">
                <div class="stat-label">{texts.windowed_hit_rate}</div>
                <div class="stat-value" data-testid="window-hit-rate">
                    {rates.and_then(|r| r.hit_rate_percent).map_or_else(|| "—".to_owned(), |v| texts.lang.percent(v, 1))}
                </div>
                <div class="stat-hint">{texts.window_hint}</div>
            </div>
            <div class="stat-card">
                <div class="stat-label">{texts.ops_per_sec}</div>
                <div class="stat-value" data-testid="ops-per-sec">{figure(rates.map(|r| r.ops_per_sec), 0)}</div>
            </div>
            <div class="stat-card">
                <div class="stat-label">{texts.evicted_per_sec}</div>
                <div class="stat-value" data-testid="evicted-per-sec">{figure(rates.map(|r| r.evicted_per_sec), 1)}</div>
            </div>
            <div class="stat-card">
                <div class="stat-label">{texts.expired_per_sec}</div>
                <div class="stat-value" data-testid="expired-per-sec">{figure(rates.map(|r| r.expired_per_sec), 1)}</div>
            </div>
        </section>
    }
    .into_any()
}

#[component]
fn HealthBadge(badge: Badge, texts: &'static Texts) -> impl IntoView {
    let name = match badge.kind {
        BadgeKind::HitRate => texts.badge_hit_rate,
        BadgeKind::Memory => texts.badge_memory,
        BadgeKind::Evictions => texts.badge_evictions,
    };
    // The level's name spelled out (not `Debug` + lowercasing, whose Unicode tables would
    // ship in the browser bundle).
    let (level_text, class, level_name) = match badge.level {
        Level::Ok => (texts.level_ok, "badge badge-ok", "ok"),
        Level::Unknown => (texts.level_unknown, "badge badge-unknown", "unknown"),
        Level::Warning => (texts.level_warning, "badge badge-warning", "warning"),
        Level::Critical => (texts.level_critical, "badge badge-critical", "critical"),
    };
    let value = badge.value.map(|v| match badge.kind {
        BadgeKind::Evictions => format!(" {}/{}", texts.lang.decimal(v, 1), texts.seconds_short),
        _ => format!(" {}", texts.lang.percent(v, 1)),
    });
    let test_id = match badge.kind {
        BadgeKind::HitRate => "badge-hit-rate",
        BadgeKind::Memory => "badge-memory",
        BadgeKind::Evictions => "badge-evictions",
    };
    view! {
        <span class=class data-testid=test_id data-level=level_name>
            {name}{value}" — "{level_text}
        </span>
    }
}
