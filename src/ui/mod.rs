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
