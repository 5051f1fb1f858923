//! The governed flush section: preview, typed confirmation, progress, and the audit trail.

use leptos::prelude::*;

use crate::api::flush::{CancelFlush, FlushPrefix, PreviewFlush};
use crate::api::get_audit;
use crate::i18n::Texts;
use crate::model::flush::{FlushPolicy, FlushState};
use crate::ui::AuditRefresh;
use crate::ui::components::{AuditList, SubmitForm};
use crate::ui::phrases::{code, error_message, flush_sentence, sentence, text};

/// Flush by prefix, in two steps: preview (exact count, samples, memory), then the prefix
/// typed again with the preview's id. Progress and the result arrive over the event stream;
/// the audit list reloads after every step.
#[component]
pub fn FlushSection(flush: Signal<Option<FlushState>>, texts: &'static Texts) -> impl IntoView {
    let preview = ServerAction::<PreviewFlush>::new();
    let start = ServerAction::<FlushPrefix>::new();
    let cancel = ServerAction::<CancelFlush>::new();
    let refresh = use_context::<AuditRefresh>();
    let audit_version = move || {
        let finished = flush.get().and_then(|f| f.last).map(|r| r.started_at_ms);
        (
            preview.version().get(),
            start.version().get(),
            finished,
            refresh.map(AuditRefresh::track),
        )
    };
    let audit = crate::ui::resource(audit_version, |_| get_audit());
    let can_act = crate::ui::use_page_config().can_act;
    // A memo: the controls (and the confirmation typed into them) are rebuilt only when the
    // policy itself changes, not on every pushed flush state (preview progress, results).
    let policy = Memo::new(move |_| flush.get().map_or(FlushPolicy::ReadOnly, |f| f.policy));

    let prefix_input = NodeRef::<leptos::html::Input>::new();
    let confirm_input = NodeRef::<leptos::html::Input>::new();
    let typed =
        |input: NodeRef<leptos::html::Input>| input.get().map(|i| i.value()).unwrap_or_default();
    let preview_view = move || {
        preview.value().get().map(|result| match result {
            Ok(preview) => view! {
                <div class="flush-preview" data-testid="flush-preview">
                    <p>
                        {texts.flush_preview_result} ": "
                        <strong data-testid="flush-preview-count">{texts.lang.count(preview.keys)}</strong>
                        {format!(
                            " · {} {}",
                            texts.flush_memory,
                            match &preview.estimate_error {
                                None => texts.lang.bytes(preview.estimated_bytes),
                                Some(_) => texts.flush_memory_unknown.to_owned(),
                            },
                        )}
                    </p>
                    <p class="meta" translate="no">{preview.sample_names.join(", ")}</p>
                    <SubmitForm action=start arguments={
                        let preview_id = preview.id.clone();
                        move || FlushPrefix { prefix: typed(confirm_input), preview_id: preview_id.clone() }
                    }>
                        <input type="hidden" name="preview_id" value=preview.id.clone() />
                        <label>
                            {texts.flush_confirm_label} ": "
                            <input type="text" name="prefix" autocomplete="off" data-testid="flush-confirm" node_ref=confirm_input />
                        </label>
                        <button type="submit" class="danger" data-testid="flush-start">{texts.flush_start}</button>
                    </SubmitForm>
                </div>
            }
            .into_any(),
            Err(error) => view! { <p class="banner banner-critical" data-testid="flush-error">{error_message(&error, texts)}</p> }.into_any(),
        })
    };
    let start_error = move || {
        start.value().get().and_then(Result::err).map(|error| {
            view! { <p class="banner banner-critical" data-testid="flush-error">{error_message(&error, texts)}</p> }
        })
    };
    let counting = move || {
        flush.get().and_then(|f| f.previewing).map(|p| view! {
            <p class="census-progress" data-testid="flush-counting">
                {sentence(texts.flush_counting_line, &[
                    ("prefix", code(p.prefix.clone())),
                    ("scanned", text(texts.lang.count(p.scanned_keys))),
                    ("total", text(texts.lang.counted(p.dbsize_at_start, &texts.noun_keys))),
                    ("matched", text(texts.lang.counted(p.matched_keys, &texts.noun_keys))),
                ])}
                {crate::ui::node_progress(p.node.as_deref(), p.nodes_done, p.nodes_total, texts)}
                {crate::ui::replica_note(p.replica.clone(), texts)}
            </p>
        })
    };
    let progress = move || {
        flush.get().and_then(|f| f.running).map(|p| view! {
            <p class="census-progress" data-testid="flush-progress">
                {sentence(texts.flush_running_line, &[
                    ("prefix", code(p.prefix.clone())),
                    ("deleted", text(texts.lang.counted(p.deleted_keys, &texts.noun_keys))),
                    ("scanned", text(texts.lang.count(p.scanned_keys))),
                ])}
                {crate::ui::node_progress(p.node.as_deref(), p.nodes_done, p.nodes_total, texts)}
                {crate::ui::replica_note(p.replica.clone(), texts)}
                " "
                <SubmitForm action=cancel arguments=|| CancelFlush {}>
                    <button type="submit" data-testid="flush-cancel">{texts.census_cancel}</button>
                </SubmitForm>
            </p>
        })
    };
    let last = move || {
        flush.get().and_then(|f| f.last).map(|report| {
            let outcome = report.outcome.name();
            view! {
                <p class="meta" data-testid="flush-last" data-outcome=outcome>
                    {texts.flush_last} ": "
                    {flush_sentence(&report.outcome, &report.prefix, report.deleted_keys, report.duration_ms, texts)}
                </p>
            }
        })
    };
    let controls = move || {
        match policy.get() {
        FlushPolicy::ReadOnly => view! { <p class="meta" data-testid="flush-disabled">{texts.flush_disabled_read_only}</p> }.into_any(),
        FlushPolicy::NotACache => view! { <p class="meta" data-testid="flush-disabled">{texts.flush_disabled_not_cache}</p> }.into_any(),
        FlushPolicy::Enabled if !can_act => view! { <p class="meta" data-testid="flush-disabled">{texts.view_only_notice}</p> }.into_any(),
        FlushPolicy::Enabled => view! {
            <SubmitForm action=preview arguments=move || PreviewFlush { prefix: typed(prefix_input) }>
                <label>
                    {texts.flush_prefix_label} ": "
                    <input type="text" name="prefix" placeholder="user:" autocomplete="off" translate="no" data-testid="flush-prefix" node_ref=prefix_input />
                </label>
                <button type="submit" data-testid="flush-preview-button">{texts.flush_preview}</button>
            </SubmitForm>
            {counting}
            {preview_view}
            {start_error}
            {progress}
        }
        .into_any(),
    }
    };
    view! {
        <section class="panel" data-testid="flush">
            <h2>{texts.flush_heading}</h2>
            {controls}
            {last}
            <h3>{texts.audit_heading}</h3>
            <Transition fallback=|| ()>
                {move || audit.get().map(|entries| match entries {
                    Ok(entries) => view! { <AuditList entries texts /> }.into_any(),
                    Err(error) => view! {
                        <p class="error" role="alert" data-testid="audit-error">
                            {texts.audit_unavailable} " " {error_message(&error, texts)}
                        </p>
                    }
                    .into_any(),
                })}
            </Transition>
        </section>
    }
    .into_any()
}
