//! The live charts (hit rate, memory, keys) with the range selector.

use leptos::prelude::*;

use crate::i18n::Texts;
use crate::model::live::{HistoryRange, Point};
use crate::ui::charts::{self, LineLabels};

/// The time-range selector and the charts; re-drawn whenever points, width or range change.
#[component]
pub fn ChartsPanel(
    points: Signal<Vec<Point>>,
    /// Bars of the fourth chart: keys per group once a census ran, else keys per database.
    key_bars: Signal<(Vec<(String, f64)>, &'static str)>,
    target_hit_rate: Signal<f64>,
    range: RwSignal<HistoryRange>,
    width: Signal<f32>,
    texts: &'static Texts,
) -> impl IntoView {
    let hit_rate = move || {
        let labels = LineLabels {
            title: texts.chart_hit_rate,
            series: [texts.series_window, texts.series_target],
            unavailable: texts.chart_unavailable,
        };
        charts::hit_rate_chart(&points.get(), target_hit_rate.get(), &labels, width.get())
    };
    let memory = move || {
        let labels = LineLabels {
            title: texts.chart_memory,
            series: [texts.series_used, texts.series_limit],
            unavailable: texts.chart_unavailable,
        };
        charts::memory_chart(&points.get(), &labels, width.get())
    };
    let throughput = move || {
        let labels = LineLabels {
            title: texts.chart_throughput,
            series: [texts.series_ops, texts.series_evicted],
            unavailable: texts.chart_unavailable,
        };
        charts::throughput_chart(&points.get(), &labels, width.get())
    };
    let keys = move || {
        let (bars, title) = key_bars.get();
        charts::bar_chart(
            &bars,
            title,
            texts.series_keys,
            texts.chart_unavailable,
            width.get(),
        )
    };
    view! {
        <section class="panel">
            <div class="range-selector" role="group" aria-label=texts.range_label data-testid="range-selector">
                <span class="range-label">{texts.range_label}":"</span>
                {HistoryRange::ALL
                    .into_iter()
                    .map(|choice| view! {
                        <button
                            type="button"
                            class:selected=move || range.get() == choice
                            aria-pressed=move || (range.get() == choice).to_string()
                            data-testid=format!("range-{}", choice.label())
                            on:click=move |_| range.set(choice)
                        >
                            {choice.label()}
                        </button>
                    })
                    .collect_view()}
            </div>
            <div class="charts" data-testid="charts" data-points=move || points.get().len().to_string()>
                <figure class="chart" data-testid="chart-hit-rate" inner_html=hit_rate></figure>
                <figure class="chart" data-testid="chart-memory" inner_html=memory></figure>
                <figure class="chart" data-testid="chart-throughput" inner_html=throughput></figure>
                <figure class="chart" data-testid="chart-keys" inner_html=keys></figure>
            </div>
        </section>
    }
    .into_any()
}
