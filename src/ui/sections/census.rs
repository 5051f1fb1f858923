//! The key census section: start, cancel, progress, and the groups with their charts.

use leptos::prelude::*;

use crate::api::census::{CancelCensus, StartCensus};
use crate::i18n::Texts;
use crate::model::Lang;
use crate::model::census::{CensusOutcome, CensusState, TTL_BUCKETS, total_ttl_buckets};
use crate::ui::charts::{ChartKind, ChartOrder};
use crate::ui::components::{CensusTable, Chart};

/// Keys by prefix: run / cancel the census, its live progress, the last result as a table
/// and charts (memory per group, TTL distribution).
#[component]
pub fn CensusSection(
    census: Signal<Option<CensusState>>,
    width: Signal<f32>,
    lang: Lang,
    texts: &'static Texts,
) -> impl IntoView {
    let start = ServerAction::<StartCensus>::new();
    let cancel = ServerAction::<CancelCensus>::new();
    let running = move || census.get().and_then(|state| state.running);

    let progress = move || {
        running().map(|progress| {
            // Whole percent: a float attribute would pull float formatting into the bundle.
            let percent = (progress.scanned_keys.saturating_mul(100))
                .checked_div(progress.dbsize_at_start)
                .unwrap_or(0)
                .min(100);
            let eta = progress.eta_seconds.map(|s| format!(" · {} {s} {}", texts.census_eta, texts.seconds_short));
            view! {
                <div class="census-progress" data-testid="census-progress">
                    <progress max="100" value=percent></progress>
                    {format!(" {}: {} / {}", texts.census_running, progress.scanned_keys, progress.dbsize_at_start)}
                    {eta}
                    {crate::ui::node_progress(progress.node.as_deref(), progress.nodes_done, progress.nodes_total, texts)}
                </div>
            }
        })
    };
    let bars = move |bars: Vec<(String, f64)>, title: &'static str, series: &'static str| {
        Signal::derive(move || ChartOrder {
            kind: ChartKind::Bars {
                bars: bars.clone(),
                series,
            },
            title,
            series: ["", ""],
            unavailable: texts.chart_unavailable,
            width: width.get(),
        })
    };
    let summary = move || {
        let Some(report) = census.get().and_then(|state| state.last) else {
            return view! { <p class="meta" data-testid="census-never">{texts.census_never}</p> }
                .into_any();
        };
        let outcome = match &report.outcome {
            CensusOutcome::Complete => String::new(),
            CensusOutcome::Cancelled => format!(" · {}", texts.census_cancelled),
            CensusOutcome::Failed { reason } => format!(" · {}: {reason}", texts.census_failed),
        };
        let when = texts.lang.date_time_ms(report.started_at_ms);
        let sampled = (report.sample_every > 1)
            .then(|| format!(" · {} {}", texts.census_sampled, report.sample_every));
        let memory_bars: Vec<(String, f64)> = report
            .groups
            .iter()
            .map(|g| {
                (
                    g.prefix.clone(),
                    g.memory.estimated_bytes as f64 / (1024.0 * 1024.0),
                )
            })
            .collect();
        let ttl_totals = total_ttl_buckets(&report.groups);
        let ttl_bars: Vec<(String, f64)> = TTL_BUCKETS
            .iter()
            .zip(ttl_totals)
            .map(|(label, count)| ((*label).to_owned(), count as f64))
            .collect();
        view! {
            <p class="meta" data-testid="census-summary">
                {format!("{}: {when} · {} {} ms · {} keys{outcome}", texts.census_last, texts.census_duration, report.duration_ms, report.scanned_keys)}
                {sampled}
            </p>
            <CensusTable groups=report.groups.clone() total_keys=report.scanned_keys lang texts />
            <div class="charts">
                <Chart order=bars(memory_bars, texts.chart_memory_by_group, texts.col_memory)
                    test_id="chart-memory-by-group" code_unavailable=texts.charts_code_unavailable />
                <Chart order=bars(ttl_bars, texts.chart_ttl_histogram, texts.col_keys)
                    test_id="chart-ttl" code_unavailable=texts.charts_code_unavailable />
            </div>
        }
        .into_any()
    };
    let can_act = crate::ui::use_page_config().can_act;
    view! {
        <section class="panel" data-testid="census">
            <div class="panel-header">
                <h2>{texts.census_heading}</h2>
                <ActionForm action=start>
                    <button type="submit" data-testid="census-start" disabled=move || !can_act || running().is_some()>
                        {texts.census_start}
                    </button>
                </ActionForm>
                <ActionForm action=cancel>
                    <button type="submit" data-testid="census-cancel" disabled=move || !can_act || running().is_none()>
                        {texts.census_cancel}
                    </button>
                </ActionForm>
            </div>
            {progress}
            {summary}
        </section>
    }
    .into_any()
}
