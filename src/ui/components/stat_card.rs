//! One labelled figure.

use leptos::prelude::*;

/// One labelled figure, e.g. "Hits 1 234".
#[component]
pub fn StatCard(
    label: &'static str,
    value: String,
    /// `data-testid` of the value, for tests.
    test_id: &'static str,
    #[prop(optional)] hint: Option<String>,
) -> impl IntoView {
    view! {
        <div class="stat-card">
            <div class="stat-label">{label}</div>
            <div class="stat-value" data-testid=test_id>{value}</div>
            {hint.map(|hint| view! { <div class="stat-hint">{hint}</div> })}
        </div>
    }
}
