//! The page: `pages` (routed) are composed of `sections` (one per feature; they own resources
//! and actions), which render with `components` (leaves: they render what they are given).
//! `live` holds the data every section follows; `browser` is everything only a browser does.

pub mod browser;
pub mod components;
pub mod pages;
pub mod phrases;
pub mod sections;

use leptos::prelude::*;

use crate::api::encoding::WireCodec;
use crate::model::PageConfig;
use crate::model::wire::FromJson;

/// A resource the page is rendered and hydrated with: loaded on the server, handed to the
/// browser as JSON in the page and decoded there by the model's own decoder (`model::wire`).
#[track_caller]
pub fn resource<S, T, Fut>(
    source: impl Fn() -> S + Send + Sync + 'static,
    fetcher: impl Fn(S) -> Fut + Send + Sync + 'static,
) -> Resource<T, WireCodec>
where
    S: PartialEq + Clone + Send + Sync + 'static,
    T: serde::Serialize + FromJson + Send + Sync + 'static,
    Fut: Future<Output = T> + Send + 'static,
{
    Resource::new_with_options(source, fetcher, false)
}

/// The settings of the page being rendered (provided by the server handler and by `hydrate`).
pub fn use_page_config() -> PageConfig {
    use_context::<PageConfig>().unwrap_or_default()
}

pub mod charts;
pub mod live;

/// Bumped after any audited action, so the audit list reloads.
#[derive(Clone, Copy)]
pub struct AuditRefresh(pub RwSignal<u32>);

impl AuditRefresh {
    pub fn bump(self) {
        self.0.update(|n| *n += 1);
    }

    pub fn track(self) -> u32 {
        self.0.get()
    }
}

/// On a cluster, which master a census or flush is walking: " · node 10.0.0.2:6379 (2/3)".
pub fn node_progress(
    node: Option<&str>,
    done: u32,
    total: u32,
    texts: &'static crate::i18n::Texts,
) -> Option<String> {
    node.map(|node| format!(" · {} {node} ({}/{total})", texts.node_label, done + 1))
}

/// Which replica runs a census or flush, when another one than this page's does:
/// " · run by replica panel-a" (the id is a machine name, not translated).
pub fn replica_note(
    replica: Option<String>,
    texts: &'static crate::i18n::Texts,
) -> Option<impl leptos::IntoView> {
    use leptos::prelude::*;
    replica.map(|replica| {
        view! {
            " · " {texts.run_by_replica} " "
            <span translate="no" data-testid="job-replica">{replica}</span>
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_names_the_node_only_on_a_cluster() {
        let texts = crate::i18n::texts(crate::model::Lang::En);
        assert_eq!(node_progress(None, 0, 1, texts), None);
        assert_eq!(
            node_progress(Some("10.0.0.2:6379"), 1, 3, texts).as_deref(),
            Some(" · node 10.0.0.2:6379 (2/3)")
        );
    }
}
