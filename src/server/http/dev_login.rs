//! Dev mode's built-in login (only mounted when no JWT secret is configured and dev mode is on,
//! which itself only runs on a loopback address): one button that signs a token for a dev
//! user with the throwaway secret, exactly as the admin would, and sets the same cookie.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};

use crate::model::Lang;
use crate::server::STATS_PAGE_PATH;
use crate::server::lang::page_language;
use crate::server::security::auth::{COOKIE_NAME, MintClaims, mint};

/// How long a dev-login session lasts (token expiry and cookie lifetime alike).
const DEV_SESSION: cookie::time::Duration = cookie::time::Duration::hours(12);
use crate::server::state::AppState;

#[derive(serde::Deserialize)]
pub struct Next {
    next: Option<String>,
}

/// Only paths on this site: `//host` and absolute URLs would make this an open redirect.
fn local_target(next: Option<String>, fallback: String) -> String {
    next.filter(|path| path.starts_with('/') && !path.starts_with("//") && !path.contains('\\'))
        .unwrap_or(fallback)
}

/// The page's words in one language.
struct DevLoginTexts {
    title: &'static str,
    heading: &'static str,
    explanation: &'static str,
    button: &'static str,
}

fn dev_login_texts(lang: Lang) -> DevLoginTexts {
    match lang {
        Lang::Ru => DevLoginTexts {
            title: "cachepanel — вход для пробного запуска",
            heading: "Пробный запуск cachepanel",
            explanation: "Секрет JWT не задан, поэтому этот экземпляр (только на локальном \
                          адресе) сам подписывает токены. В рабочей установке вход — через админку.",
            button: "Войти как",
        },
        Lang::En => DevLoginTexts {
            title: "cachepanel — trial sign-in",
            heading: "cachepanel trial run",
            explanation: "No JWT secret is configured, so this instance (on a loopback address \
                          only) signs its own tokens. In production, users sign in through the admin.",
            button: "Sign in as",
        },
    }
}

/// The sign-in page, in the dashboard's look (its stylesheet) and language (`?lang=`, the
/// remembered choice, the browser's `Accept-Language`).
pub async fn page(
    State(state): State<AppState>,
    Query(query): Query<Next>,
    uri: Uri,
    headers: HeaderMap,
) -> Html<String> {
    let lang = page_language(uri.query(), &headers);
    let texts = dev_login_texts(lang);
    let target = local_target(
        query.next,
        format!("{}{STATS_PAGE_PATH}", state.config.base_path),
    );
    let action = format!(
        "{}{}?next={}",
        state.config.base_path,
        crate::server::security::settings::DEV_LOGIN_PATH,
        url::form_urlencoded::byte_serialize(target.as_bytes()).collect::<String>()
    );
    let role = dev_role(&state);
    let stylesheet = format!("{}/pkg/{}", state.config.base_path, state.site.stylesheet);
    Html(format!(
        "<!DOCTYPE html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><link rel=\"stylesheet\" href=\"{stylesheet}\"></head>\
         <body><main class=\"page dev-login\" data-testid=\"dev-login\">\
         <section class=\"panel\"><h1>{heading}</h1><p>{explanation}</p>\
         <form method=\"post\" action=\"{action}\" class=\"page-actions\">\
         <button type=\"submit\">{button} <span translate=\"no\">dev ({role})</span></button></form>\
         </section></main></body></html>",
        lang = lang.code(),
        title = texts.title,
        heading = texts.heading,
        explanation = texts.explanation,
        button = texts.button,
        stylesheet = html_escape(&stylesheet),
        action = html_escape(&action),
        role = html_escape(&role),
    ))
}

pub async fn sign_in(State(state): State<AppState>, Query(query): Query<Next>) -> Response {
    let target = local_target(
        query.next,
        format!("{}{STATS_PAGE_PATH}", state.config.base_path),
    );
    let role = dev_role(&state);
    let now = chrono::Utc::now().timestamp();
    let claims = MintClaims {
        sub: "0",
        role: &role,
        username: "dev",
        iat: now,
        exp: now + DEV_SESSION.whole_seconds(),
    };
    let Ok(token) = mint(&state.config.auth.secret, &claims) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let cookie = cookie::Cookie::build((COOKIE_NAME, token))
        .path("/")
        .http_only(true)
        .same_site(cookie::SameSite::Lax)
        .max_age(DEV_SESSION)
        .build()
        .to_string();
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let (Ok(cookie), Ok(location)) = (
        HeaderValue::from_str(&cookie),
        HeaderValue::from_str(&target),
    ) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// The dev login signs in with the first full-access role.
fn dev_role(state: &AppState) -> String {
    state
        .config
        .auth
        .full_access_roles
        .first()
        .cloned()
        .unwrap_or_default()
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed() {
        let fallback = || "/admin/cache/stats".to_owned();
        assert_eq!(local_target(Some("/x?y=1".into()), fallback()), "/x?y=1");
        for foreign in [
            "//evil.example/",
            "https://evil.example/",
            "/\\evil.example",
            "x",
        ] {
            assert_eq!(local_target(Some(foreign.into()), fallback()), fallback());
        }
    }
}
