//! "Why is Redis slow": commands, the slow log with its clients, the client list, persistence,
//! the latency monitor and the biggest keys. The server renders it (first paint, and each
//! coalesced `diagnostics` event of the stream carries it rendered in the page's language), so
//! none of its code or texts weigh on the WASM client, which only swaps the HTML in.

use leptos::prelude::*;

/// The section's HTML as the server rendered it for this page (absent in the browser).
#[derive(Clone)]
pub struct DiagnosticsFirstPaint(pub String);

#[component]
pub fn DiagnosticsSection(
    /// The newest rendering pushed by the event stream; empty before the first push, which
    /// hydration leaves alone (the server's HTML stays in the page).
    pushed: RwSignal<String>,
) -> impl IntoView {
    // Only the server has a first paint; the browser never looks (one generic less in WASM).
    #[cfg(not(feature = "hydrate"))]
    if let Some(paint) = use_context::<DiagnosticsFirstPaint>() {
        pushed.set(paint.0);
    }
    view! {
        <section class="panel diagnostics" data-testid="diagnostics" inner_html=move || pushed.get()></section>
    }
}

// Called by the server only, so the browser bundle leaves it out.
pub use render::diagnostics_html;

mod render {
    use leptos::prelude::*;

    use crate::i18n::diagnostics::{DiagnosticsTexts, diagnostics_texts};
    use crate::model::Lang;
    use crate::model::census::BiggestKeys;
    use crate::model::clients::{ClientGroup, ClientWarning, ClientsView};
    use crate::model::commands::CommandsView;
    use crate::model::diagnostics::{DiagnosticsView, LatencyMonitor};
    use crate::model::persistence::{PersistenceHealth, PersistenceWarning};
    use crate::model::slowlog::SlowLogView;

    /// Rows of each table; the API has them all.
    const COMMAND_ROWS: usize = 10;
    const SHAPE_ROWS: usize = 10;
    const ENTRY_ROWS: usize = 10;
    const GROUP_ROWS: usize = 8;

    /// The section's inner HTML. Every name in it (commands, keys, client names) is text
    /// escaped by the view renderer, never markup.
    pub fn diagnostics_html(
        view: &DiagnosticsView,
        commands: &CommandsView,
        lang: Lang,
        now_ms: i64,
        // Where "run a full inspection" posts; `None` for callers who may only look.
        full_census_url: Option<&str>,
    ) -> String {
        let texts = diagnostics_texts(lang);
        let parts = (
            view! {
                <h2 class="section-heading">{texts.heading}</h2>
                <p class="meta">{texts.intro}</p>
            },
            commands_part(commands, texts, lang),
            slow_log_part(&view.slow_log, texts, lang, now_ms),
            clients_part(view.clients.as_ref(), texts, lang),
            persistence_part(view.persistence.as_ref(), texts, lang, now_ms),
            latency_part(&view.latency, texts, lang),
            biggest_part(view.biggest_keys.as_ref(), texts, lang, full_census_url),
        );
        parts.to_html()
    }

    /// Text with its backticked identifiers as code that translators and language checks skip.
    fn rich(text: &str) -> AnyView {
        text.split('`')
            .enumerate()
            .map(|(index, part)| {
                if index % 2 == 1 {
                    view! { <code translate="no">{part.to_owned()}</code> }.into_any()
                } else {
                    part.to_owned().into_any()
                }
            })
            .collect_view()
            .into_any()
    }

    /// The same text where it is shown as an identifier already (`translate="no"` cells).
    fn plain(text: &str) -> String {
        text.replace('`', "")
    }

    fn fill(template: &str, values: &[(&str, String)]) -> String {
        values
            .iter()
            .fold(template.to_owned(), |text, (name, value)| {
                text.replace(&format!("{{{name}}}"), value)
            })
    }

    fn usec(lang: Lang, usec: u64) -> String {
        match usec {
            0..1_000 => format!("{}\u{a0}{}", lang.count(usec), micro(lang)),
            1_000..10_000 => lang.duration_ms(usec / 1000).replace(
                &lang.count(usec / 1000),
                &lang.decimal(usec as f64 / 1000.0, 1),
            ),
            _ => lang.duration_ms(usec / 1000),
        }
    }

    fn micro(lang: Lang) -> &'static str {
        match lang {
            Lang::Ru => "мкс",
            Lang::En => "µs",
        }
    }

    fn commands_part(commands: &CommandsView, texts: &DiagnosticsTexts, lang: Lang) -> AnyView {
        if commands.window_ms == 0 {
            return view! {
                <h3>{texts.commands_heading}</h3>
                <p class="meta">{texts.no_commands_yet}</p>
            }
            .into_any();
        }
        let own = fill(
            texts.own_share,
            &[
                ("share", lang.percent(commands.own_share_percent, 2)),
                ("window", lang.duration_ms(commands.window_ms)),
            ],
        );
        let blocking = (!commands.blocking.is_empty()).then(|| {
            view! {
                <p class="banner banner-warning" role="alert" data-testid="blocking-commands">
                    {texts.blocking_warning} " "
                    <code translate="no">{commands.blocking.join(", ").to_ascii_uppercase()}</code>
                </p>
            }
        });
        let rows = commands
            .rows
            .iter()
            .take(COMMAND_ROWS)
            .map(|row| {
                let p99 = row
                    .latency
                    .and_then(|latency| latency.p99_usec)
                    .map(|p99| usec(lang, p99.round() as u64))
                    .unwrap_or_default();
                view! {
                    <tr data-command=row.command.clone()>
                        <td>
                            <code translate="no">{row.command.to_ascii_uppercase()}</code>
                            {row.blocking.then(|| view! { " " <span class="badge badge-critical">{texts.blocking_badge}</span> })}
                            // Mostly cachepanel's own calls (the others' would drown in a shared badge).
                            {(row.own_calls * 2 >= row.calls && row.own_calls > 0).then(|| view! { " " <span class="badge">{texts.own_badge}</span> })}
                        </td>
                        <td class="num">{lang.decimal(row.calls_per_second, 1)}</td>
                        <td class="num">{lang.percent(row.share_percent, 1)}</td>
                        <td class="num">{lang.decimal(row.usec_per_call, 1)}</td>
                        <td class="num">{p99}</td>
                        <td class="num">{lang.count(row.failed_calls + row.rejected_calls)}</td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <h3>{texts.commands_heading}</h3>
            <p data-testid="own-share">{own}</p>
            {blocking}
            <div class="table-scroll">
                <table class="data-table" data-testid="commands-table">
                    <thead><tr>
                        <th>{texts.column_command}</th>
                        <th class="num">{texts.column_calls_per_second}</th>
                        <th class="num">{texts.column_share}</th>
                        <th class="num">{texts.column_usec_per_call}</th>
                        <th class="num">{rich(texts.column_p99)}</th>
                        <th class="num">{texts.column_failed}</th>
                    </tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        }
        .into_any()
    }

    fn slow_log_part(
        log: &SlowLogView,
        texts: &DiagnosticsTexts,
        lang: Lang,
        now_ms: i64,
    ) -> AnyView {
        let heading = view! { <h3>{rich(texts.slow_log_heading)}</h3> };
        if let Some(reason) = &log.unavailable {
            return view! {
                {heading}
                <p class="meta" data-testid="slowlog-unavailable">{texts.unavailable} " " {reason.clone()}</p>
            }
            .into_any();
        }
        let about = match log.slower_than_usec {
            Some(threshold) if threshold < 0 => texts.slow_log_off.to_owned(),
            threshold => fill(
                texts.slow_log_about,
                &[
                    (
                        "threshold",
                        threshold.map_or("?".into(), |t| usec(lang, t as u64)),
                    ),
                    ("kept", lang.count(log.kept)),
                ],
            ),
        };
        let missed = (log.missed > 0).then(
            || view! { <p class="meta">{rich(texts.missed)} " " {lang.count(log.missed)}</p> },
        );
        let client = |name: &str, address: &str| {
            if address == SCRIPT_CLIENT {
                return plain(texts.script_client);
            }
            let name = if name.is_empty() {
                texts.unnamed.to_owned()
            } else {
                name.to_owned()
            };
            format!("{name} {address}")
        };
        let shapes = log
            .shapes
            .iter()
            .filter(|shape| !shape.own)
            .take(SHAPE_ROWS)
            .map(|shape| {
                view! {
                    <tr>
                        <td>
                            <code translate="no">{shape.shape.clone()}</code>
                            {shape.blocking.then(|| view! { " " <span class="badge badge-critical">{texts.blocking_badge}</span> })}
                        </td>
                        <td class="num">{format!("×\u{a0}{}", lang.count(shape.count))}</td>
                        <td class="num">{usec(lang, shape.total_usec)}</td>
                        <td class="num">{usec(lang, shape.max_usec)}</td>
                        <td translate="no">{shape_clients(&shape.clients, texts)}</td>
                    </tr>
                }
            })
            .collect_view();
        let entries = log
            .entries
            .iter()
            .filter(|entry| !entry.own)
            .take(ENTRY_ROWS)
            .map(|entry| {
                let ago = lang.ago_ms((now_ms - entry.at_ms).max(0) as u64);
                let mut command = entry.command.clone();
                for key in &entry.keys {
                    command.push(' ');
                    command.push_str(key);
                }
                if entry.dropped_arguments > 0 {
                    command.push_str(" …");
                }
                view! {
                    <tr data-testid="slowlog-entry">
                        <td title=lang.date_time_ms(entry.at_ms)>{ago}</td>
                        <td class="num">{usec(lang, entry.duration_usec)}</td>
                        <td><code translate="no">{command}</code></td>
                        <td translate="no">{client(&entry.client_name, &entry.client_address)}</td>
                    </tr>
                }
            })
            .collect_view();
        let has_entries = log.entries.iter().any(|entry| !entry.own);
        view! {
            {heading}
            <p class="meta">{rich(&about)}</p>
            {missed}
            {if has_entries {
                view! {
                    <h4>{texts.shapes_heading}</h4>
                    <div class="table-scroll">
                        <table class="data-table" data-testid="slowlog-shapes">
                            <thead><tr>
                                <th>{texts.column_shape}</th>
                                <th class="num">{texts.column_count}</th>
                                <th class="num">{texts.column_total}</th>
                                <th class="num">{texts.column_max}</th>
                                <th>{texts.column_clients}</th>
                            </tr></thead>
                            <tbody>{shapes}</tbody>
                        </table>
                    </div>
                    <h4>{texts.recent_heading}</h4>
                    <div class="table-scroll">
                        <table class="data-table" data-testid="slowlog-entries">
                            <thead><tr>
                                <th>{texts.column_time}</th>
                                <th class="num">{texts.column_duration}</th>
                                <th>{texts.column_command}</th>
                                <th>{texts.column_client}</th>
                            </tr></thead>
                            <tbody>{entries}</tbody>
                        </table>
                    </div>
                }
                .into_any()
            } else {
                view! { <p class="meta">{texts.slow_log_empty}</p> }.into_any()
            }}
        }
        .into_any()
    }

    /// The address Redis records for commands run inside a script.
    const SCRIPT_CLIENT: &str = "?:0";

    fn shape_clients(clients: &[String], texts: &DiagnosticsTexts) -> String {
        let named: Vec<String> = clients
            .iter()
            .map(|client| {
                if client.ends_with(SCRIPT_CLIENT) {
                    plain(texts.script_client)
                } else {
                    client.clone()
                }
            })
            .collect();
        named.join(", ")
    }

    fn group_rows(
        groups: &[ClientGroup],
        texts: &'static DiagnosticsTexts,
        lang: Lang,
        test_id: &'static str,
    ) -> impl IntoView {
        let rows = groups
            .iter()
            .take(GROUP_ROWS)
            .map(|group| {
                let label = if group.label.is_empty() {
                    texts.unnamed.to_owned()
                } else {
                    group.label.clone()
                };
                let idle = if group.idle_min_seconds == group.idle_max_seconds {
                    lang.duration_s(group.idle_min_seconds)
                } else {
                    format!(
                        "{} – {}",
                        lang.duration_s(group.idle_min_seconds),
                        lang.duration_s(group.idle_max_seconds)
                    )
                };
                view! {
                    <tr data-label=group.label.clone()>
                        <td translate="no">
                            {label}
                            {group.own.then(|| view! { " " <span class="badge">{texts.own_badge}</span> })}
                        </td>
                        <td class="num">{lang.count(group.connections)}</td>
                        <td class="num">{idle}</td>
                        <td class="num">{lang.bytes(group.max_output_buffer_bytes)}</td>
                        <td class="num">{lang.count(group.blocked)}</td>
                        <td><code translate="no">{group.last_command.to_ascii_uppercase()}</code></td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <div class="table-scroll">
                <table class="data-table" data-testid=test_id>
                    <thead><tr>
                        <th></th>
                        <th class="num">{texts.column_connections}</th>
                        <th class="num">{texts.column_idle}</th>
                        <th class="num">{texts.column_output_buffer}</th>
                        <th class="num">{texts.column_blocked}</th>
                        <th>{texts.column_last_command}</th>
                    </tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        }
    }

    fn clients_part(
        clients: Option<&ClientsView>,
        texts: &'static DiagnosticsTexts,
        lang: Lang,
    ) -> AnyView {
        let heading = view! { <h3>{texts.clients_heading}</h3> };
        let Some(clients) = clients else {
            return view! { {heading} <p class="meta">{rich(texts.clients_not_read)}</p> }
                .into_any();
        };
        if let Some(reason) = &clients.unavailable {
            return view! {
                {heading}
                <p class="meta" data-testid="clients-unavailable">{texts.unavailable} " " {reason.clone()}</p>
            }
            .into_any();
        }
        let summary = fill(
            texts.clients_summary,
            &[
                (
                    "connections",
                    lang.counted(clients.connections, &texts.noun_connections),
                ),
                (
                    "maxclients",
                    clients.maxclients.map_or("?".into(), |max| lang.count(max)),
                ),
                ("blocked", lang.count(clients.blocked)),
            ],
        );
        let warnings = clients
            .warnings
            .iter()
            .map(|warning| {
                let text = match warning {
                    ClientWarning::NearMaxclients {
                        connections,
                        maxclients,
                    } => fill(
                        texts.near_maxclients,
                        &[
                            ("connections", lang.count(*connections)),
                            ("maxclients", lang.count(*maxclients)),
                        ],
                    ),
                    ClientWarning::LargeOutputBuffer { label, bytes } => fill(
                        texts.large_output_buffer,
                        &[("label", label.clone()), ("bytes", lang.bytes(*bytes))],
                    ),
                };
                view! { <p class="banner banner-warning" role="alert">{rich(&text)}</p> }
            })
            .collect_view();
        view! {
            {heading}
            <p data-testid="clients-summary">{rich(&summary)}</p>
            {warnings}
            <h4>{texts.by_name}</h4>
            {group_rows(&clients.by_name, texts, lang, "clients-by-name")}
            <h4>{texts.by_address}</h4>
            {group_rows(&clients.by_address, texts, lang, "clients-by-address")}
        }
        .into_any()
    }

    fn persistence_part(
        persistence: Option<&PersistenceHealth>,
        texts: &DiagnosticsTexts,
        lang: Lang,
        now_ms: i64,
    ) -> AnyView {
        let Some(health) = persistence else {
            return ().into_any();
        };
        let warnings = health
            .warnings
            .iter()
            .map(|warning| {
                let text = match warning {
                    PersistenceWarning::SaveFailed => texts.warning_save_failed.to_owned(),
                    PersistenceWarning::SaveOverdue {
                        rule_seconds,
                        rule_changes,
                    } => fill(
                        texts.warning_save_overdue,
                        &[
                            ("seconds", lang.count(*rule_seconds)),
                            ("changes", lang.count(*rule_changes)),
                        ],
                    ),
                    PersistenceWarning::AofWriteFailed => texts.warning_aof_write.to_owned(),
                    PersistenceWarning::AofRewriteFailed => texts.warning_aof_rewrite.to_owned(),
                };
                view! { <p class="banner banner-critical" role="alert" data-testid="persistence-warning">{rich(&text)}</p> }
            })
            .collect_view();
        let rdb = if health.rules_known && health.save_rules.is_empty() {
            texts.rdb_off.to_owned()
        } else {
            let age = health.last_save_at_ms.map_or(texts.never.to_owned(), |at| {
                lang.ago_ms((now_ms - at).max(0) as u64)
            });
            let state = match health.last_bgsave_ok {
                Some(true) => texts.save_ok,
                Some(false) => texts.save_failed_state,
                None => "",
            };
            let running = if health.bgsave_in_progress {
                format!(", {}", texts.in_progress)
            } else {
                String::new()
            };
            format!("{}: {age} ({state}{running})", texts.last_save)
        };
        let aof = if health.aof_enabled {
            let ok = health.aof_last_write_ok != Some(false)
                && health.aof_last_rewrite_ok != Some(false);
            format!(
                "{}: {}",
                texts.aof,
                if ok { "ok" } else { texts.save_failed_state }
            )
        } else {
            format!("{}: {}", texts.aof, texts.aof_off)
        };
        view! {
            <h3>{texts.persistence_heading}</h3>
            {warnings}
            <ul class="facts" data-testid="persistence">
                <li>{rich(&rdb)}</li>
                <li>{texts.changes_since_save} ": " {lang.count(health.changes_since_save)}</li>
                <li>{aof}</li>
                {health.latest_fork_usec.filter(|fork| *fork > 0).map(|fork| view! { <li>{rich(texts.latest_fork)} ": " {usec(lang, fork)}</li> })}
            </ul>
        }
        .into_any()
    }

    fn latency_part(monitor: &LatencyMonitor, texts: &DiagnosticsTexts, lang: Lang) -> AnyView {
        let body = match (monitor.threshold_ms, &monitor.unavailable) {
            (_, Some(reason)) => {
                view! { <p class="meta">{texts.unavailable} " " {reason.clone()}</p> }.into_any()
            }
            (None, None) => view! { <p class="meta">{rich(texts.latency_unknown)}</p> }.into_any(),
            (Some(0), None) => {
                view! { <p class="meta" data-testid="latency-off">{rich(texts.latency_off)}</p> }
                    .into_any()
            }
            (Some(_), None) if monitor.events.is_empty() => {
                view! { <p class="meta">{texts.latency_quiet}</p> }.into_any()
            }
            (Some(_), None) => {
                let rows = monitor
                    .events
                    .iter()
                    .map(|event| {
                        view! {
                            <tr>
                                <td><code translate="no">{event.event.clone()}</code></td>
                                <td class="num">{lang.duration_ms(event.latest_ms)}</td>
                                <td class="num">{lang.duration_ms(event.max_ms)}</td>
                                <td>{lang.date_time_ms(event.at_ms)}</td>
                            </tr>
                        }
                    })
                    .collect_view();
                view! {
                    <table class="data-table" data-testid="latency-events">
                        <thead><tr>
                            <th>{texts.column_event}</th>
                            <th class="num">{texts.column_latest}</th>
                            <th class="num">{texts.column_max}</th>
                            <th>{texts.column_time}</th>
                        </tr></thead>
                        <tbody>{rows}</tbody>
                    </table>
                }
                .into_any()
            }
        };
        view! { <h3>{rich(texts.latency_heading)}</h3> {body} }.into_any()
    }

    fn biggest_part(
        biggest: Option<&BiggestKeys>,
        texts: &DiagnosticsTexts,
        lang: Lang,
        full_census_url: Option<&str>,
    ) -> AnyView {
        let heading = view! { <h3>{texts.biggest_heading}</h3> };
        // A plain form: it works without the WASM client, which never renders this section.
        let sampled = biggest.is_none_or(|report| report.sample_every > 1);
        let full_census = full_census_url.filter(|_| sampled).map(|url| {
            view! {
                <form method="post" action=url.to_owned() data-testid="full-census">
                    <button type="submit">{texts.run_full_census}</button>
                </form>
            }
        });
        let Some(report) = biggest else {
            return view! { {heading} <p class="meta">{texts.biggest_none}</p> {full_census} }
                .into_any();
        };
        let note = if report.sample_every > 1 {
            fill(
                texts.biggest_sampled,
                &[("every", lang.count(report.sample_every))],
            )
        } else {
            texts.biggest_exact.to_owned()
        };
        let rows = report
            .keys
            .iter()
            .map(|key| {
                let ttl = if key.ttl_ms < 0 {
                    texts.no_ttl.to_owned()
                } else {
                    lang.duration_ms(key.ttl_ms as u64)
                };
                view! {
                    <tr>
                        <td><code translate="no">{key.name.clone()}</code></td>
                        <td translate="no">{key.redis_type.clone()}</td>
                        <td class="num">{key.memory_bytes.map(|bytes| lang.bytes(bytes)).unwrap_or_default()}</td>
                        <td class="num">{ttl}</td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            {heading}
            <p class="meta">{note}</p>
            {full_census}
            <div class="table-scroll">
                <table class="data-table" data-testid="biggest-keys">
                    <thead><tr>
                        <th>{texts.column_key}</th>
                        <th>{texts.column_type}</th>
                        <th class="num">{texts.column_size}</th>
                        <th class="num">{texts.column_ttl}</th>
                    </tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        }
        .into_any()
    }
}
