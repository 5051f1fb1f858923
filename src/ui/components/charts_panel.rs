//! The live charts (hit rate, memory, keys) with the range selector.

use leptos::prelude::*;

use crate::i18n::Texts;
use crate::model::live::{HistoryRange, Point};
use crate::ui::charts::{ChartKind, ChartOrder};
use crate::ui::components::Chart;

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
    let order = move |kind: ChartKind, title: &'static str, series: [&'static str; 2]| ChartOrder {
        kind,
        title,
        series,
        unavailable: texts.chart_unavailable,
        width: width.get(),
        lang: texts.lang,
    };
    let hit_rate = Signal::derive(move || {
        order(
            ChartKind::HitRate {
                points: points.get(),
                target_percent: target_hit_rate.get(),
            },
            texts.chart_hit_rate,
            [texts.series_window, texts.series_target],
        )
    });
    let memory = Signal::derive(move || {
        order(
            ChartKind::Memory {
                points: points.get(),
            },
            texts.chart_memory,
            [texts.series_used, texts.series_limit],
        )
    });
    let throughput = Signal::derive(move || {
        order(
            ChartKind::Throughput {
                points: points.get(),
            },
            texts.chart_throughput,
            [texts.series_ops, texts.series_evicted],
        )
    });
    let keys = Signal::derive(move || {
        let (bars, title) = key_bars.get();
        order(ChartKind::Bars { bars, bytes: false }, title, ["", ""])
    });
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
                            {texts.range_names[HistoryRange::ALL.iter().position(|c| *c == choice).unwrap_or(0)]}
                        </button>
                    })
                    .collect_view()}
            </div>
            <div class="charts" data-testid="charts" data-points=move || points.get().len().to_string()>
                <Chart order=hit_rate test_id="chart-hit-rate" code_unavailable=texts.charts_code_unavailable />
                <Chart order=memory test_id="chart-memory" code_unavailable=texts.charts_code_unavailable />
                <Chart order=throughput test_id="chart-throughput" code_unavailable=texts.charts_code_unavailable />
                <Chart order=keys test_id="chart-keys" code_unavailable=texts.charts_code_unavailable />
            </div>
        </section>
    }
    .into_any()
}
