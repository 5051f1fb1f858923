//! The alerts at the top of the page: what fires now (and what is about to), the silences,
//! the recent transitions and whether delivery works. Like the diagnostics section, the server
//! renders it (first paint, and each `alerts` event of the stream carries it rendered in the
//! page's language), so none of its code or texts weigh on the WASM client. Its forms are plain
//! HTML posts to the silence endpoints, which send the browser back to the page.

use leptos::prelude::*;

/// The section's HTML as the server rendered it for this page (absent in the browser).
#[derive(Clone)]
pub struct AlertsFirstPaint(pub String);

#[component]
pub fn AlertsSection(
    /// The newest rendering pushed by the event stream; empty before the first push.
    pushed: RwSignal<String>,
) -> impl IntoView {
    #[cfg(not(feature = "hydrate"))]
    if let Some(paint) = use_context::<AlertsFirstPaint>() {
        pushed.set(paint.0);
    }
    view! {
        <section class="panel alerts" data-testid="alerts" aria-live="polite" inner_html=move || pushed.get()></section>
    }
}

// Called by the server only, so the browser bundle leaves it out.
pub use render::alerts_html;

mod render {
    use leptos::prelude::*;

    use crate::i18n::alerts::{AlertsTexts, alerts_texts, figure, title};
    use crate::model::Lang;
    use crate::model::alerts::{ActiveAlert, AlertEvent, AlertPhase, AlertsView, Transition};

    /// Recent transitions listed.
    const RECENT_ROWS: usize = 10;

    /// Where the section's forms post; `None` for callers who may only look.
    pub struct SilenceUrls {
        pub silence: String,
        pub unsilence: String,
    }

    fn fill(template: &str, values: &[(&str, String)]) -> String {
        values
            .iter()
            .fold(template.to_owned(), |text, (name, value)| {
                text.replace(&format!("{{{name}}}"), value)
            })
    }

    /// The section's inner HTML; every figure and name in it is text escaped by the view
    /// renderer.
    pub fn alerts_html(
        view: &AlertsView,
        lang: Lang,
        now_ms: i64,
        urls: Option<&SilenceUrls>,
    ) -> String {
        let texts = alerts_texts(lang);
        let firing = view
            .active
            .iter()
            .any(|alert| alert.phase == AlertPhase::Firing && !alert.silenced);
        let active = if view.active.is_empty() {
            view! { <p class="meta" data-testid="alerts-none">{texts.none_active}</p> }.into_any()
        } else {
            view! {
                <ul class="alert-list">
                    {view.active.iter().map(|alert| active_row(alert, texts, lang, now_ms, urls)).collect_view()}
                </ul>
            }
            .into_any()
        };
        let silence_all = urls.map(|urls| {
            view! {
                <form method="post" action=urls.silence.clone() class="inline-form" data-testid="silence-all">
                    <input type="hidden" name="rule" value="" />
                    <input type="hidden" name="minutes" value="60" />
                    <button type="submit" class="quiet">{texts.silence_all} " · " {texts.hour}</button>
                </form>
            }
        });
        let silences = (!view.silences.is_empty()).then(|| {
            view! {
                <h3>{texts.silences_heading}</h3>
                <ul class="silence-list" data-testid="alert-silences">
                    {view.silences.iter().map(|silence| {
                        let rule = silence.rule.map_or(texts.every_rule, |rule| title(rule, lang));
                        let row = fill(texts.silence_row, &[
                            ("rule", rule.to_owned()),
                            ("until", lang.date_time_ms(silence.until_ms)),
                            ("by", silence.by.clone()),
                        ]);
                        let end = urls.map(|urls| view! {
                            <form method="post" action=urls.unsilence.clone() class="inline-form">
                                <input type="hidden" name="rule" value=silence.rule.map_or("", |rule| rule.name()) />
                                <button type="submit" class="quiet" data-testid="end-silence">{texts.end_silence}</button>
                            </form>
                        });
                        view! { <li>{row} " " {end}</li> }
                    }).collect_view()}
                </ul>
            }
        });
        let recent = (!view.recent.is_empty()).then(|| {
            view! {
                <details class="alert-recent" data-testid="alert-recent">
                    <summary>{texts.recent_heading} " (" {view.recent.len().min(RECENT_ROWS)} ")"</summary>
                    <ul>
                        {view.recent.iter().take(RECENT_ROWS).map(|event| recent_row(event, texts, lang)).collect_view()}
                    </ul>
                </details>
            }
        });
        let delivery = delivery_part(view, texts, lang, now_ms);
        let class = if firing {
            "alerts-body alerts-firing"
        } else {
            "alerts-body"
        };
        view! {
            <div class=class data-firing=firing.to_string()>
                <div class="alerts-head">
                    <h2 class="section-heading">{texts.heading}</h2>
                    {silence_all}
                </div>
                {active}
                {silences}
                {recent}
                {delivery}
            </div>
        }
        .to_html()
    }

    fn value_and_threshold(
        rule: crate::model::alerts::AlertRule,
        value: Option<f64>,
        threshold: f64,
        texts: &AlertsTexts,
        lang: Lang,
    ) -> String {
        let limit = figure(rule, threshold, lang);
        if limit.is_empty() {
            return String::new();
        }
        let now = value.map_or_else(|| "—".to_owned(), |value| figure(rule, value, lang));
        let comparison = if rule.fires_below() { "<" } else { ">" };
        format!("{now} {comparison} {limit} ({})", texts.threshold)
    }

    fn active_row(
        alert: &ActiveAlert,
        texts: &AlertsTexts,
        lang: Lang,
        now_ms: i64,
        urls: Option<&super::render::SilenceUrls>,
    ) -> AnyView {
        let (phase, class) = match (alert.phase, alert.silenced) {
            (AlertPhase::Pending, _) => (texts.pending, "alert alert-pending"),
            (AlertPhase::Firing, true) => (texts.firing, "alert alert-silenced"),
            (AlertPhase::Firing, false) => (texts.firing, "alert alert-firing"),
        };
        let since = fill(
            texts.since,
            &[("ago", lang.ago_ms((now_ms - alert.since_ms).max(0) as u64))],
        );
        let figures = value_and_threshold(alert.rule, alert.value, alert.threshold, texts, lang);
        let labels = (!alert.labels.is_empty())
            .then(|| view! { " " <code translate="no">{alert.labels.clone()}</code> });
        let silenced = alert
            .silenced
            .then(|| view! { " " <span class="badge">{texts.silenced_badge}</span> });
        let silence = urls.filter(|_| !alert.silenced).map(|urls| {
            let rule = alert.rule.name();
            view! {
                <form method="post" action=urls.silence.clone() class="inline-form" data-testid="silence-rule">
                    <input type="hidden" name="rule" value=rule />
                    {texts.silence_for} " "
                    <button type="submit" name="minutes" value="60" class="quiet">{texts.hour}</button>
                    <button type="submit" name="minutes" value="240" class="quiet">{texts.hours4}</button>
                    <button type="submit" name="minutes" value="1440" class="quiet">{texts.day}</button>
                </form>
            }
        });
        view! {
            <li class=class data-testid="active-alert" data-rule=alert.rule.name() data-phase=phase>
                <strong>{title(alert.rule, lang)}</strong>
                {labels}
                " · " <span class="alert-phase">{phase}</span>
                {silenced}
                <span class="meta">" · " {figures} " · " {since}</span>
                {silence}
            </li>
        }
        .into_any()
    }

    fn recent_row(event: &AlertEvent, texts: &AlertsTexts, lang: Lang) -> AnyView {
        let what = match event.transition {
            Transition::Fired => texts.fired,
            Transition::Repeated => texts.repeated,
            Transition::Resolved => texts.resolved,
        };
        let figures = value_and_threshold(event.rule, event.value, event.threshold, texts, lang);
        view! {
            <li data-testid="recent-alert" data-transition=event.transition.name()>
                <span class="meta">{lang.date_time_ms(event.at_ms)}</span> " "
                <strong>{title(event.rule, lang)}</strong> " · " {what}
                {(!figures.is_empty()).then(|| format!(" · {figures}"))}
                {event.silenced.then(|| view! { " " <span class="badge">{texts.silenced_badge}</span> })}
            </li>
        }
        .into_any()
    }

    fn delivery_part(view: &AlertsView, texts: &AlertsTexts, lang: Lang, now_ms: i64) -> AnyView {
        if view.delivery.is_empty() {
            return view! {
                <p class="meta" data-testid="alert-delivery">
                    {texts.delivery_none} " " <code translate="no">"/metrics"</code> "."
                </p>
            }
            .into_any();
        }
        view! {
            <ul class="alert-delivery meta" data-testid="alert-delivery">
                {view.delivery.iter().map(|channel| match &channel.last_error {
                    Some(reason) => {
                        let ago = channel
                            .last_error_ms
                            .map(|at| lang.ago_ms((now_ms - at).max(0) as u64))
                            .unwrap_or_default();
                        let text = fill(texts.delivery_failing, &[
                            ("channel", channel.channel.clone()),
                            ("reason", reason.clone()),
                            ("ago", ago),
                        ]);
                        view! { <li class="delivery-failing" data-testid="delivery-failing">{text}</li> }.into_any()
                    }
                    None => {
                        let text = fill(texts.delivery_ok, &[
                            ("channel", channel.channel.clone()),
                            ("count", lang.count(channel.delivered)),
                        ]);
                        view! { <li>{text}</li> }.into_any()
                    }
                }).collect_view()}
            </ul>
        }
        .into_any()
    }
}

pub use render::SilenceUrls;
