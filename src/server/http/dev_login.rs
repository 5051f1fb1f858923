//! Dev mode's built-in login (only mounted when no JWT secret is configured and dev mode is on,
//! which itself only runs on a loopback address): one button that signs a token for a dev
//! user with the throwaway secret, exactly as the admin would, and sets the same cookie.

use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use crate::server::STATS_PAGE_PATH;
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

pub async fn page(State(state): State<AppState>, Query(query): Query<Next>) -> Html<String> {
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
    Html(format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>cachepanel dev login</title></head>\
         <body><main data-testid=\"dev-login\"><h1>cachepanel — dev mode</h1>\
         <p>No JWT secret is configured, so this trial instance signs its own tokens.</p>\
         <form method=\"post\" action=\"{}\"><button type=\"submit\">Sign in as dev ({})</button></form>\
         </main></body></html>",
        html_escape(&action),
        html_escape(&role)
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
