//! Per-request page settings that the server renders into the page and the client reads back,
//! so both sides build the same view (hydration needs identical input).

use crate::model::wire::FromJson;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, FromJson)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// The operators are Russian-speaking: Russian is the default.
    #[default]
    Ru,
    En,
}

impl Lang {
    /// Parses a `?lang=` value or a language tag such as `en-US`; unknown tags give `None`.
    pub fn from_tag(tag: &str) -> Option<Self> {
        let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "ru" => Some(Self::Ru),
            "en" => Some(Self::En),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::Ru => "ru",
            Self::En => "en",
        }
    }
}

/// Settings of one rendered page.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, FromJson)]
pub struct PageConfig {
    pub lang: Lang,
    /// Public URL prefix under which a reverse proxy serves the app ("" at the root).
    pub base_path: String,
    /// Compact layout for an iframe in the admin: no own heading or navigation.
    #[serde(default)]
    pub embed: bool,
    /// Where an embedded page posts its height; `None`: its own origin. Never `*`.
    #[serde(default)]
    pub parent_origin: Option<String>,
    /// Who is signed in, as the admin names them.
    #[serde(default)]
    pub user: Option<String>,
    /// The caller's role may act (flush, reset, census); otherwise the page is view-only.
    #[serde(default)]
    pub can_act: bool,
    /// The Redis target this page shows, and every configured one (for the selector).
    #[serde(default)]
    pub target: String,
    #[serde(default)]
    pub targets: Vec<String>,
    /// Path segment in front of `/api` for a target other than the first: `/targets/{name}`.
    #[serde(default)]
    pub api_prefix: String,
}

impl PageConfig {
    /// Id of the `<script type="application/json">` element that carries this to the client.
    pub const ELEMENT_ID: &'static str = "cachepanel-page-config";

    /// A public URL for an app path such as `/api/stats`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_path)
    }

    /// The public URL of an API path of this page's target.
    pub fn api_url(&self, path: &str) -> String {
        format!("{}{}{path}", self.base_path, self.api_prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_tags_pick_the_primary_subtag() {
        assert_eq!(Lang::from_tag("en-US"), Some(Lang::En));
        assert_eq!(Lang::from_tag("RU"), Some(Lang::Ru));
        assert_eq!(Lang::from_tag("de"), None);
        assert_eq!(Lang::from_tag(""), None);
    }

    #[test]
    fn urls_carry_the_base_path() {
        let page = PageConfig {
            base_path: "/tools/cachepanel".into(),
            ..Default::default()
        };
        assert_eq!(page.url("/api/stats"), "/tools/cachepanel/api/stats");
    }
}
