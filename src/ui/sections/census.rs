//! The key census section: start, cancel, progress, and the groups with their charts.

use leptos::prelude::*;

use crate::api::census::{CancelCensus, StartCensus};
use crate::i18n::Texts;
use crate::model::Lang;
use crate::model::census::{CensusOutcome, CensusState, total_ttl_buckets};
use crate::ui::charts::{ChartKind, ChartOrder};
use crate::ui::components::{CensusTable, Chart, SubmitForm};
use crate::ui::phrases::{self, sentence, text};

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
            let lang = texts.lang;
            let eta = progress.eta_seconds.map(|seconds| {
                view! { " · " {sentence(texts.census_left, &[("left", text(lang.duration_s(seconds)))])} }
            });
            let counted = sentence(
                texts.census_progress,
                &[
                    ("done", text(lang.count(progress.scanned_keys))),
                    ("total", text(lang.counted(progress.dbsize_at_start, &texts.noun_keys))),
                ],
            );
            view! {
                <div class="census-progress" data-testid="census-progress">
                    <progress max="100" value=percent></progress>
                    " " {counted}
                    {eta}
                    {crate::ui::node_progress(progress.node.as_deref(), progress.nodes_done, progress.nodes_total, texts)}
                    {crate::ui::replica_note(progress.replica.clone(), texts)}
                </div>
            }
        })
    };
    let bars = move |bars: Vec<(String, f64)>, title: &'static str, bytes: bool| {
        Signal::derive(move || ChartOrder {
            kind: ChartKind::Bars {
                bars: bars.clone(),
                bytes,
            },
            title,
            series: ["", ""],
            unavailable: texts.chart_unavailable,
            width: width.get(),
            lang: texts.lang,
        })
    };
    let summary = move || {
        let Some(report) = census.get().and_then(|state| state.last) else {
            return view! { <p class="meta" data-testid="census-never">{texts.census_never}</p> }
                .into_any();
        };
        let outcome = match &report.outcome {
            CensusOutcome::Complete => ().into_any(),
            CensusOutcome::Cancelled => view! { " · " {texts.census_cancelled} }.into_any(),
            CensusOutcome::Failed { reason } => {
                view! { " · " {texts.census_failed} ": " {phrases::reason(reason, texts)} }
                    .into_any()
            }
        };
        let when = texts.lang.date_time_ms(report.started_at_ms);
        let sampled = (report.sample_every > 1).then(|| {
            let every = texts.lang.count(report.sample_every);
            view! { " · " {sentence(texts.census_sampled_every, &[("every", text(every))])} }
        });
        let summary = sentence(
            texts.census_summary,
            &[
                ("when", text(when)),
                ("took", text(texts.lang.duration_ms(report.duration_ms))),
                (
                    "keys",
                    text(texts.lang.counted(report.scanned_keys, &texts.noun_keys)),
                ),
            ],
        );
        let memory_bars: Vec<(String, f64)> = report
            .groups
            .iter()
            .map(|g| (g.prefix.clone(), g.memory.estimated_bytes as f64))
            .collect();
        let ttl_totals = total_ttl_buckets(&report.groups);
        let ttl_bars: Vec<(String, f64)> = texts
            .ttl_buckets
            .iter()
            .zip(ttl_totals)
            .map(|(label, count)| ((*label).to_owned(), count as f64))
            .collect();
        view! {
            <p class="meta" data-testid="census-summary">
                {summary}
                {outcome}
                {sampled}
            </p>
            <CensusTable groups=report.groups.clone() total_keys=report.scanned_keys lang texts />
            <div class="charts">
                <Chart order=bars(memory_bars, texts.chart_memory_by_group, true)
                    test_id="chart-memory-by-group" code_unavailable=texts.charts_code_unavailable />
                <Chart order=bars(ttl_bars, texts.chart_ttl_histogram, false)
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
                <SubmitForm action=start arguments=|| StartCensus {}>
                    <button type="submit" data-testid="census-start" disabled=move || !can_act || running().is_some()>
                        {texts.census_start}
                    </button>
                </SubmitForm>
                <SubmitForm action=cancel arguments=|| CancelCensus {}>
                    <button type="submit" data-testid="census-cancel" disabled=move || !can_act || running().is_none()>
                        {texts.census_cancel}
                    </button>
                </SubmitForm>
            </div>
            {progress}
            {summary}
        </section>
    }
    .into_any()
}
