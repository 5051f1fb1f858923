//! The HTML shell and the root component. No data fetching here: pages own their data.

use leptos::prelude::*;

use crate::i18n::texts;
use crate::model::PageConfig;
use crate::ui::pages::StatsPage;

/// The whole document, rendered on the server only. The page settings travel to the client as
/// JSON in a script element, so hydration starts from exactly what the server used.
/// `stylesheet` is the style file's name under `pkg/` (content-hashed in release builds).
pub fn shell(options: LeptosOptions, page: PageConfig, stylesheet: String) -> impl IntoView {
    // `<` is escaped so no value can close the script element early.
    let page_json = serde_json::to_string(&page)
        .unwrap_or_default()
        .replace('<', "\\u003c");
    let stylesheet = page.url(&format!("/pkg/{stylesheet}"));
    let title = texts(page.lang).page_title;
    view! {
        <!DOCTYPE html>
        <html lang=page.lang.code()>
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <title>{title}</title>
                <link rel="icon" href="data:," />
                <link rel="stylesheet" href=stylesheet />
                <script type="application/json" id=PageConfig::ELEMENT_ID inner_html=page_json></script>
                <HydrationScripts options root=page.base_path.clone() />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    view! { <StatsPage /> }
}
