//! Components: routed pages own resources; leaf components only render what they are given.

pub mod components;
pub mod pages;

use leptos::prelude::*;

use crate::model::PageConfig;

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
