//! `make bench` (i18n): the WASM cost of leptos_i18n against the plain-struct texts cachepanel
//! uses, on the same tiny page (the same 4 texts), built both ways by scripts/bench.sh.

#![recursion_limit = "256"]
use leptos::prelude::*;

#[cfg(feature = "with-i18n")]
leptos_i18n::load_locales!();

#[cfg(not(feature = "with-i18n"))]
struct Texts { heading: &'static str, hits: &'static str, misses: &'static str }
#[cfg(not(feature = "with-i18n"))]
const RU: Texts = Texts { heading: "Статистика кэша Redis", hits: "Попадания", misses: "Промахи" };

#[component]
fn App() -> impl IntoView {
    let count = RwSignal::new(3_u32);
    #[cfg(not(feature = "with-i18n"))]
    let view = view! {
        <h1>{RU.heading}</h1><p>{RU.hits}</p><p>{RU.misses}</p>
        <p>{move || format!("{} ключей", count.get())}</p>
        <button on:click=move |_| count.update(|n| *n += 1)>"+"</button>
    };
    #[cfg(feature = "with-i18n")]
    let view = {
        use i18n::*;
        view! {
            <I18nContextProvider>
                {move || {
                    let i18n = use_i18n();
                    view! {
                        <h1>{t!(i18n, heading)}</h1><p>{t!(i18n, hits)}</p><p>{t!(i18n, misses)}</p>
                        <p>{t!(i18n, keys, count = move || count.get())}</p>
                        <button on:click=move |_| count.update(|n| *n += 1)>"+"</button>
                    }
                }}
            </I18nContextProvider>
        }
    };
    view
}

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    leptos::mount::hydrate_body(App);
}
