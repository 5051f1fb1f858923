//! The rate-limit counters section, fed by the server's shared counters reader.

use leptos::prelude::*;

use crate::api::get_rate_limits;
use crate::api::rate_limit::{RefreshRateLimits, ResetRateLimit};
use crate::i18n::Texts;
use crate::model::rate_limit::{CounterRow, CountersReport, Role};
use crate::ui::AuditRefresh;
use crate::ui::charts::{ChartKind, ChartOrder};
use crate::ui::components::{Chart, SubmitForm};
use crate::ui::phrases::{self, error_message, sentence, text};

/// Rate-limit counters: who is over or near the limit, stuck counters, a dominant IP, 429s
/// per minute per role, and an audited reset per counter. The server's reader walks the
/// counters on a schedule; the page shows its latest view (pushed over the event stream) with
/// its age, and "refresh" asks the reader for a walk that concurrent viewers share.
#[component]
pub fn RateLimitSection(
    /// Views pushed by the event stream.
    pushed: Signal<Option<CountersReport>>,
    /// The server's clock as the browser estimates it (for the view's age).
    server_now_ms: Signal<i64>,
    width: Signal<f32>,
    texts: &'static Texts,
) -> impl IntoView {
    let reset = ServerAction::<ResetRateLimit>::new();
    let refresh = ServerAction::<RefreshRateLimits>::new();
    let initial = crate::ui::resource(|| (), |_| get_rate_limits());
    if let Some(audit) = use_context::<AuditRefresh>() {
        Effect::new(move |previous: Option<usize>| {
            let version = reset.version().get();
            if previous.is_some_and(|previous| previous != version) {
                audit.bump();
                // The server already dropped the counter from its shared view (and pushed it);
                // a refresh also brings that view to a page whose event stream is down.
                refresh.dispatch(RefreshRateLimits {});
            }
            version
        });
    }
    // The newest view wins, wherever it came from (first paint, a push, a refresh).
    let report = Signal::derive(move || {
        let candidates = [initial.get(), refresh.value().get(), pushed.get().map(Ok)];
        let mut newest: Option<Result<CountersReport, crate::error::AppError>> = None;
        for candidate in candidates.into_iter().flatten() {
            let newer = match (&newest, &candidate) {
                (None, _) => true,
                (Some(Err(_)), _) => true,
                (Some(Ok(old)), Ok(new)) => new.read_at_ms >= old.read_at_ms,
                (Some(Ok(_)), Err(_)) => false,
            };
            if newer {
                newest = Some(candidate);
            }
        }
        newest
    });
    let body = move || {
        report.get().map(|result| match result {
            Err(error) => view! { <p class="banner banner-critical">{error_message(&error, texts)}</p> }.into_any(),
            Ok(report) => {
                let labels: Vec<String> = report.rejections.iter().map(|m| m.minute.clone()).collect();
                let series: Vec<(String, Vec<f64>)> = Role::ALL
                    .iter()
                    .enumerate()
                    .map(|(i, role)| (texts.role_name(*role).to_owned(), report.rejections.iter().map(|m| m.per_role[i] as f64).collect()))
                    .collect();
                let chart = Signal::derive(move || ChartOrder {
                    kind: ChartKind::Lines { labels: labels.clone(), series: series.clone() },
                    title: texts.chart_rejections,
                    series: ["", ""],
                    unavailable: texts.chart_unavailable,
                    width: width.get(),
                    lang: texts.lang,
                });
                let read_at_ms = report.read_at_ms;
                let served_age_ms = report.age_ms;
                // Before the browser knows the server's clock, the age the server stated.
                let age_ms = move || {
                    let now = server_now_ms.get();
                    if now > 0 { (now - read_at_ms).max(0) as u64 } else { served_age_ms }
                };
                let lang = texts.lang;
                let every = report.every_seconds;
                view! {
                    <p class="muted" data-testid="limits-age">
                        {move || sentence(texts.limits_read_line, &[("ago", text(lang.ago_ms(age_ms())))])}
                        {(every > 0).then(|| view! {
                            " · " {sentence(texts.limits_every_line, &[("every", text(lang.duration_s(every)))])}
                        })}
                    </p>
                    {report.last_error.clone().map(|reason| view! {
                        <p class="banner banner-warning" data-testid="limits-stale">{texts.limits_stale} " (" {phrases::reason(&reason, texts)} ")"</p>
                    })}
                    {report.capped.then(|| view! {
                        <p class="banner banner-warning" data-testid="limits-partial">{texts.limits_partial}</p>
                    })}
                    <p data-testid="limits-summary">
                        {sentence(texts.limits_summary, &[
                            ("counters", text(lang.count(report.counters))),
                            ("requests", text(lang.counted(report.total_requests, &texts.noun_requests))),
                        ])}
                        " · "
                        <span class="badge badge-critical" data-testid="limits-over">{format!("{} {}", report.over_limit, texts.limits_over)}</span>
                        " "
                        <span class="badge badge-warning" data-testid="limits-near">{format!("{} {}", report.near_limit, texts.limits_near)}</span>
                    </p>
                    {(!report.without_ttl.is_empty()).then(|| view! {
                        <p class="banner banner-warning" data-testid="limits-stuck">{texts.limits_stuck} ": " <code translate="no">{report.without_ttl.join(", ")}</code></p>
                    })}
                    {report.dominant_ip.clone().map(|row| view! {
                        <p class="banner banner-warning" data-testid="limits-dominant-ip">{texts.limits_dominant_ip} ": " <code translate="no">{row.key}</code></p>
                    })}
                    <table class="data-table" data-testid="limits-table">
                        <thead><tr>
                            <th>{texts.col_counter}</th><th>{texts.col_role}</th><th>{texts.col_count}</th>
                            <th>{texts.col_limit_share}</th><th>{texts.col_window_left}</th><th></th>
                        </tr></thead>
                        <tbody>{report.top.into_iter().map(|row| counter_row(row, reset, texts)).collect_view()}</tbody>
                    </table>
                    <Chart order=chart test_id="chart-rejections" code_unavailable=texts.charts_code_unavailable />
                }
                .into_any()
            }
        })
    };
    let refreshing = refresh.pending();
    view! {
        <section class="panel" data-testid="rate-limits">
            <div class="panel-header">
                <h2>{texts.limits_heading}</h2>
                <button
                    type="button"
                    data-testid="limits-refresh"
                    disabled=move || refreshing.get()
                    on:click=move |_| { refresh.dispatch(RefreshRateLimits {}); }
                >
                    {move || if refreshing.get() { texts.limits_refreshing } else { texts.limits_refresh }}
                </button>
            </div>
            <Transition fallback=|| ()>{body}</Transition>
        </section>
    }
    .into_any()
}

fn counter_row(
    row: CounterRow,
    reset: ServerAction<ResetRateLimit>,
    texts: &'static Texts,
) -> impl IntoView {
    let class = if row.is_over_limit() {
        "over"
    } else if row.is_near_limit() {
        "near"
    } else {
        ""
    };
    let (key, shown_key, reset_key) = (row.key.clone(), row.key.clone(), row.key.clone());
    let can_act = crate::ui::use_page_config().can_act && !row.key_escaped;
    let title = row.key_escaped.then_some(texts.limits_not_text);
    view! {
        <tr class=class data-testid="limits-row" data-key=key>
            <td><code translate="no">{shown_key}</code></td>
            <td data-testid="limits-role" data-role=row.role.name()>{texts.role_name(row.role)}</td>
            <td class="num">{texts.lang.count(row.count)}</td>
            <td class="num" data-testid="limits-percent">{row.percent_of_limit.map(|p| texts.lang.percent(p, 0)).unwrap_or_else(|| "—".into())}</td>
            <td class="num">{row.ttl_seconds.map(|s| texts.lang.duration_s(s)).unwrap_or_else(|| texts.no_ttl_mark.into())}</td>
            <td>
                <SubmitForm action=reset arguments=move || ResetRateLimit { key: row.key.clone() }>
                    <input type="hidden" name="key" value=reset_key />
                    <button type="submit" data-testid="limits-reset" disabled=!can_act title=title>{texts.limits_reset}</button>
                </SubmitForm>
            </td>
        </tr>
    }
}
