//! `/admin/cache/stats`: the dashboard page, composed of the live, census, flush and rate-limit
//! sections.

use leptos::prelude::*;

use crate::api::get_stats;
use crate::i18n::texts;
use crate::model::Lang;
use crate::ui::charts::chart_width_for;
use crate::ui::components::{ConfigPanel, StatsPanel};
use crate::ui::live::use_live_data;
use crate::ui::sections::{
    AlertsSection, CensusSection, DiagnosticsSection, FlushSection, LiveSection, RateLimitSection,
};
use crate::ui::use_page_config;

/// `/admin/cache/stats`: the dashboard. Rendered with data on the server; after hydration it
/// follows the live event stream, and "refresh" re-reads the lifetime figures on demand.
#[component]
pub fn StatsPage() -> impl IntoView {
    let page = use_page_config();
    let texts = texts(page.lang);
    let refreshes = RwSignal::new(0_u32);
    let stats = crate::ui::resource(move || refreshes.get(), |_| get_stats());
    let live = use_live_data(&page);
    provide_context(crate::ui::AuditRefresh(RwSignal::new(0)));
    // Effects run only in the browser, so this marks the moment the page became interactive.
    let hydrated = RwSignal::new(false);
    let chart_width = RwSignal::new(chart_width_for(1280.0));
    Effect::new(move |_| {
        let measure = move || {
            if let Some(width) = window().inner_width().ok().and_then(|w| w.as_f64()) {
                chart_width.set(chart_width_for(width));
            }
        };
        measure();
        let _ = window_event_listener(leptos::ev::resize, move |_| measure());
        hydrated.set(true);
    });

    let other_lang = match page.lang {
        Lang::Ru => Lang::En,
        Lang::En => Lang::Ru,
    };
    // Switching language keeps the target and the embed layout the page was opened with.
    let other_lang_href = format!(
        "?lang={}{}{}",
        other_lang.code(),
        if page.targets.first() == Some(&page.target) || page.target.is_empty() {
            String::new()
        } else {
            format!("&target={}", page.target)
        },
        if page.embed { "&embed=1" } else { "" }
    );
    let snapshot = live.snapshot;
    view! {
        <main
            class=if page.embed { "page page-embed" } else { "page" }
            data-testid="stats-page"
            data-hydrated=move || hydrated.get().to_string()
            data-streaming=move || live.streaming.get().to_string()
        >
            <header class="page-header">
                {(!page.embed).then(|| view! { <h1>{texts.heading}</h1> })}
                {(page.targets.len() > 1).then(|| {
                    let current = page.target.clone();
                    let embed = if page.embed { "&embed=1" } else { "" };
                    view! {
                        <nav class="target-switch" data-testid="targets">
                            {texts.target_label} ": "
                            {page.targets.iter().map(|name| {
                                let selected = *name == current;
                                view! {
                                    <a href=format!("?target={name}{embed}") data-testid="target-link"
                                        data-target=name.clone() aria-current=selected.then_some("page")
                                        class:selected=selected>
                                        {name.clone()}
                                    </a>
                                    " "
                                }
                            }).collect_view()}
                        </nav>
                    }
                })}
                <nav class="page-actions">
                    {page.user.clone().filter(|_| !page.embed).map(|user| view! {
                        <span class="meta" data-testid="signed-in-as">{texts.signed_in_as} " " <span translate="no">{user}</span></span>
                    })}
                    <a class="lang-switch" href=other_lang_href hreflang=other_lang.code() data-testid="lang-switch">
                        {texts.language} ": " {other_lang.code().to_ascii_uppercase()}
                    </a>
                    <button type="button" data-testid="refresh" on:click=move |_| refreshes.update(|n| *n += 1)>
                        {texts.refresh}
                    </button>
                </nav>
            </header>
            <AlertsSection pushed=live.alerts />
            <Transition fallback=move || view! { <p>{texts.loading}</p> }>
                <LiveSection live width=chart_width.into() texts />
                <CensusSection census=live.census width=chart_width.into() lang=page.lang texts />
                <FlushSection flush=live.flush texts />
                <RateLimitSection pushed=live.rate_limits server_now_ms=live.server_now_ms width=chart_width.into() texts />
                <DiagnosticsSection pushed=live.diagnostics />
                <h2 class="section-heading">{texts.lifetime_heading}</h2>
                {move || {
                    // The sampler's reading, pushed with every sample; "refresh" asks again.
                    let pushed = snapshot
                        .get()
                        .filter(|s| !matches!(s.status, crate::model::live::LiveStatus::Starting))
                        .map(|s| s.stats_report());
                    let asked = stats.get();
                    let newest = match (asked, pushed) {
                        (Some(Ok(asked)), Some(pushed))
                            if pushed.read_at_ms().is_some() && asked.read_at_ms() > pushed.read_at_ms() =>
                        {
                            Some(Ok(asked))
                        }
                        (_, Some(pushed)) => Some(Ok(pushed)),
                        (asked, None) => asked,
                    };
                    let forecast = snapshot.get().and_then(|s| s.memory_forecast);
                    newest.map(|result| match result {
                        Ok(report) => view! { <StatsPanel report forecast texts /> }.into_any(),
                        Err(error) => view! {
                            <div class="banner banner-critical" role="alert" data-testid="api-error">
                                {crate::ui::phrases::error_message(&error, texts)}
                            </div>
                        }
                        .into_any(),
                    })
                }}
                {move || snapshot.get().and_then(|snapshot| snapshot.config.clone().map(|config| {
                    view! {
                        <ConfigPanel
                            view=config
                            mismatches=snapshot.config_mismatches.clone()
                            expected=snapshot.expected.clone()
                            texts
                        />
                    }
                }))}
            </Transition>
        </main>
    }
}
