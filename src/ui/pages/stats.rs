use leptos::prelude::*;

use crate::api::get_stats;
use crate::i18n::texts;
use crate::model::Lang;
use crate::ui::components::StatsPanel;
use crate::ui::use_page_config;

/// `/admin/cache/stats`: the dashboard. Rendered with data on the server; after hydration the
/// refresh button re-reads the stats through `GET /api/stats` without a reload.
#[component]
pub fn StatsPage() -> impl IntoView {
    let page = use_page_config();
    let texts = texts(page.lang);
    let refreshes = RwSignal::new(0_u32);
    let stats = Resource::new(move || refreshes.get(), |_| get_stats());
    // Effects run only in the browser, so this marks the moment the page became interactive.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));

    let other_lang = match page.lang {
        Lang::Ru => Lang::En,
        Lang::En => Lang::Ru,
    };
    let other_lang_href = format!("?lang={}", other_lang.code());

    view! {
        <main class="page" data-testid="stats-page" data-hydrated=move || hydrated.get().to_string()>
            <header class="page-header">
                <h1>{texts.heading}</h1>
                <nav class="page-actions">
                    <a class="lang-switch" href=other_lang_href hreflang=other_lang.code() data-testid="lang-switch">
                        {texts.language} ": " {other_lang.code().to_uppercase()}
                    </a>
                    <button
                        type="button"
                        data-testid="refresh"
                        on:click=move |_| refreshes.update(|count| *count += 1)
                    >
                        {texts.refresh}
                    </button>
                </nav>
            </header>
            <Transition fallback=move || view! { <p>{texts.loading}</p> }>
                {move || {
                    stats.get().map(|result| match result {
                        Ok(report) => view! { <StatsPanel report texts /> }.into_any(),
                        Err(error) => view! {
                            <div class="banner banner-critical" role="alert" data-testid="api-error">
                                {error.to_string()}
                            </div>
                        }
                        .into_any(),
                    })
                }}
            </Transition>
        </main>
    }
}
