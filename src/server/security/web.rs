//! What keeps cachepanel from becoming a way to attack the admin it is embedded in: mutating
//! requests must come from our own origin (CSRF), framing only by the configured ancestors,
//! and a strict Content-Security-Policy for scripts.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::settings::WebSettings;
use crate::error::AppError;

/// Middleware: refuses non-GET/HEAD/OPTIONS requests that are not provably same-origin.
/// Requests carrying only a Bearer token (no cookie) are exempt: a browser never attaches
/// one on its own, so a forged cross-site request cannot carry it.
pub async fn same_origin_only(
    State(web): State<Arc<WebSettings>>,
    request: Request,
    next: Next,
) -> Response {
    match cross_site_refusal(&request, &web.allowed_origins) {
        None => next.run(request).await,
        Some(reason) => {
            tracing::warn!(method = %request.method(), path = %request.uri().path(), reason, "refused: cross-site request");
            (
                StatusCode::FORBIDDEN,
                axum::Json(AppError::CrossSite {
                    message: reason.into(),
                }),
            )
                .into_response()
        }
    }
}

fn cross_site_refusal(request: &Request, allowed_origins: &[String]) -> Option<&'static str> {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return None;
    }
    let headers = request.headers();
    if headers.contains_key(header::AUTHORIZATION) && !headers.contains_key(header::COOKIE) {
        return None;
    }
    let header_text = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    if header_text("sec-fetch-site") == Some("same-origin") {
        return None;
    }
    match header_text("origin") {
        None => Some("neither Sec-Fetch-Site: same-origin nor an Origin header"),
        Some("null") => Some("Origin: null is never trusted"),
        Some(origin) if allowed_origins.iter().any(|allowed| allowed == origin) => None,
        Some(_) => Some("the Origin is not in CACHEPANEL_ALLOWED_ORIGINS"),
    }
}

/// The Content-Security-Policy: scripts only from our origin (plus the page's nonce for the
/// hydration bootstrap), WebAssembly compilation allowed, framing by `frame_ancestors` only.
/// Inline style attributes stay allowed: the SVG charts carry them and styles run no code.
pub fn content_security_policy(frame_ancestors: &str, nonce: Option<&str>) -> String {
    let nonce = nonce.map(|n| format!(" 'nonce-{n}'")).unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'{nonce}; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors {frame_ancestors}"
    )
}

/// Middleware: security headers on every response. A response that set its own CSP (the page,
/// with its nonce) keeps it.
pub async fn security_headers(
    State(web): State<Arc<WebSettings>>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY)
        && let Ok(value) =
            HeaderValue::from_str(&content_security_policy(&web.frame_ancestors, None))
    {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::security::settings::parse_origin;
    use axum::body::Body;

    fn post(headers: &[(&str, &str)]) -> Request {
        let mut builder = axum::http::Request::builder()
            .method("POST")
            .uri("/api/flush/start");
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(Body::empty()).unwrap_or_default()
    }

    #[test]
    fn mutating_requests_must_be_same_origin_or_from_an_allowed_origin() {
        let allowed = vec!["https://admin.example".to_owned()];
        let refused = |headers: &[(&str, &str)]| cross_site_refusal(&post(headers), &allowed);
        assert!(refused(&[("sec-fetch-site", "same-origin")]).is_none());
        assert!(refused(&[("origin", "https://admin.example")]).is_none());
        assert!(refused(&[("origin", "https://evil.example")]).is_some());
        assert!(refused(&[("origin", "null")]).is_some());
        assert!(refused(&[]).is_some());
        assert!(
            refused(&[
                ("sec-fetch-site", "cross-site"),
                ("origin", "https://evil.example")
            ])
            .is_some()
        );
        assert!(
            refused(&[("authorization", "Bearer t")]).is_none(),
            "no ambient credential"
        );
        assert!(
            refused(&[("authorization", "Bearer t"), ("cookie", "access_token=t")]).is_some(),
            "a cookie makes it a browser request again"
        );
    }

    #[test]
    fn reads_are_never_refused() {
        let request = axum::http::Request::builder()
            .uri("/api/stats")
            .header("origin", "https://evil.example")
            .body(Body::empty())
            .unwrap_or_default();
        assert!(cross_site_refusal(&request, &[]).is_none());
    }

    #[test]
    fn origins_are_validated() {
        assert_eq!(
            parse_origin("https://admin.example/"),
            Ok("https://admin.example".into())
        );
        assert_eq!(
            parse_origin("http://127.0.0.1:8080"),
            Ok("http://127.0.0.1:8080".into())
        );
        assert!(parse_origin("https://admin.example/path").is_err());
        assert!(parse_origin("admin.example").is_err());
        assert!(parse_origin("null").is_err());
    }

    #[test]
    fn the_policy_pins_scripts_and_framing() {
        let policy = content_security_policy("'self' https://admin.example", Some("abc"));
        assert!(policy.contains("script-src 'self' 'wasm-unsafe-eval' 'nonce-abc';"));
        assert!(policy.ends_with("frame-ancestors 'self' https://admin.example"));
        assert!(!policy.contains(" 'unsafe-eval'"));
    }
}
