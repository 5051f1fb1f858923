//! The page's language: `?lang=`, then the remembered choice (cookie), then the browser's
//! `Accept-Language`, then Russian. A leaf: imports nothing from `crate::server`.

use axum::http::{HeaderMap, header};

use crate::model::Lang;

/// Remembers the language picked with `?lang=`.
pub const LANG_COOKIE: &str = "cachepanel_lang";
/// How long a language chosen with `?lang=` is remembered.
pub const LANG_COOKIE_DAYS: i64 = 365;

/// The `Set-Cookie` value remembering `lang` for pages under `path`.
pub fn lang_cookie(lang: Lang, path: &str) -> String {
    cookie::Cookie::build((LANG_COOKIE, lang.code()))
        .path(path.to_owned())
        .max_age(cookie::time::Duration::days(LANG_COOKIE_DAYS))
        .same_site(cookie::SameSite::Lax)
        .http_only(true)
        .build()
        .to_string()
}

pub fn query_parameter(query: Option<&str>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query?.as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// `?lang=` first, then the remembered choice, then the browser's `Accept-Language`, then
/// Russian.
pub fn page_language(query: Option<&str>, headers: &HeaderMap) -> Lang {
    let from_query = query_parameter(query, "lang").and_then(|value| Lang::from_tag(&value));
    let from_cookie = || {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(cookie::Cookie::split_parse)
            .flatten()
            .find(|cookie| cookie.name() == LANG_COOKIE)
            .and_then(|cookie| Lang::from_tag(cookie.value_trimmed()))
    };
    let from_header = || {
        let accepted = headers.get(header::ACCEPT_LANGUAGE)?.to_str().ok()?;
        accepted
            .split(',')
            .find_map(|tag| Lang::from_tag(tag.split(';').next().unwrap_or_default()))
    };
    from_query
        .or_else(from_cookie)
        .or_else(from_header)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn language_comes_from_the_query_then_the_browser_then_russian() {
        let mut headers = HeaderMap::new();
        assert_eq!(page_language(None, &headers), Lang::Ru);
        headers.insert(
            header::ACCEPT_LANGUAGE,
            HeaderValue::from_static("de-DE,en;q=0.8"),
        );
        assert_eq!(page_language(None, &headers), Lang::En);
        assert_eq!(page_language(Some("lang=ru"), &headers), Lang::Ru);
        assert_eq!(page_language(Some("lang=xx"), &headers), Lang::En);
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("access_token=t; cachepanel_lang=ru"),
        );
        assert_eq!(page_language(None, &headers), Lang::Ru, "remembered choice");
        assert_eq!(page_language(Some("lang=en"), &headers), Lang::En);
    }

    #[test]
    fn the_remembered_language_is_a_year_long_lax_http_only_cookie_for_our_path() {
        let text = lang_cookie(Lang::En, "/admin/cache");
        let cookie = cookie::Cookie::parse(text.as_str()).unwrap();
        assert_eq!((cookie.name(), cookie.value()), (LANG_COOKIE, "en"));
        assert_eq!(cookie.path(), Some("/admin/cache"));
        assert_eq!(
            cookie.max_age(),
            Some(cookie::time::Duration::days(LANG_COOKIE_DAYS))
        );
        assert_eq!(cookie.same_site(), Some(cookie::SameSite::Lax));
        assert_eq!(cookie.http_only(), Some(true));
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("{LANG_COOKIE}=\"en\"")).unwrap(),
        );
        assert_eq!(page_language(None, &headers), Lang::En, "quoted values too");
    }
}
