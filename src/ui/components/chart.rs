//! One chart: the server paints its SVG into the page; in the browser it is redrawn whenever
//! its order changes, by the chart code that loads after hydration (`browser::draw_later`).
//! Until that code is in, and if it never arrives, the server's SVG stays, with a notice.

use leptos::prelude::*;

use crate::ui::browser;
use crate::ui::charts::ChartOrder;

#[component]
pub fn Chart(
    order: Signal<ChartOrder>,
    test_id: &'static str,
    /// Said below the chart when the chart code could not be loaded.
    code_unavailable: &'static str,
) -> impl IntoView {
    // Server: the SVG itself. Browser: empty, which hydration leaves alone (the server's
    // SVG stays in the page) until the first redraw sets it.
    let svg = RwSignal::new(browser::first_paint(&order.get_untracked()));
    let failed = RwSignal::new(false);
    browser::draw_later(order, svg, failed);
    view! {
        <figure class="chart" data-testid=test_id inner_html=move || svg.get()></figure>
        {move || failed.get().then(|| view! {
            <p class="chart-note" role="status" data-testid="charts-unavailable">{code_unavailable}</p>
        })}
    }
}
