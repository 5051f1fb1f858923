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
    match cross_site_refusal(&request, &web) {
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

fn cross_site_refusal(request: &Request, web: &WebSettings) -> Option<&'static str> {
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
        // A browser names the page's origin in `Origin` and the server's in `Host`; a foreign
        // page cannot make them agree (the OWASP "verify origin with standard headers" rule).
        Some(origin) if target_origin(request, web.trust_forwarded).as_deref() == Some(origin) => {
            None
        }
        Some(origin) if web.allowed_origins.iter().any(|allowed| allowed == origin) => None,
        Some(_) => Some("the Origin is neither this server's nor in CACHEPANEL_ALLOWED_ORIGINS"),
    }
}

/// The origin the request was sent to: `http://` + `Host` (cachepanel speaks plain HTTP), or
/// what the proxy forwarded when it is trusted to (`X-Forwarded-Proto`/`-Host`, else RFC 7239
/// `Forwarded`; the first hop, the one the browser talked to). `None` when it cannot be told.
fn target_origin(request: &Request, trust_forwarded: bool) -> Option<String> {
    let headers = request.headers();
    let first = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .and_then(|text| text.split(',').next())
            .map(str::trim)
            .filter(|text| !text.is_empty())
    };
    let host = || {
        first(header::HOST.as_str())
            .map(str::to_owned)
            .or_else(|| request.uri().authority().map(|a| a.to_string()))
    };
    let (proto, host) = if trust_forwarded {
        let forwarded = first("forwarded").map(parse_forwarded).unwrap_or_default();
        let proto = first("x-forwarded-proto")
            .map(str::to_owned)
            .or(forwarded.0)
            .unwrap_or_else(|| "http".into());
        let host = first("x-forwarded-host")
            .map(str::to_owned)
            .or(forwarded.1)
            .or_else(host)?;
        (proto.to_ascii_lowercase(), host)
    } else {
        ("http".to_owned(), host()?)
    };
    if !matches!(proto.as_str(), "http" | "https") || host.contains(['/', '@', ' ']) {
        return None;
    }
    let host = host.to_ascii_lowercase();
    // Browsers leave the default port out of `Origin`.
    let host = match (proto.as_str(), host.rsplit_once(':')) {
        ("http", Some((name, "80"))) | ("https", Some((name, "443"))) => name.to_owned(),
        _ => host,
    };
    Some(format!("{proto}://{host}"))
}

/// `proto` and `host` of the first element of an RFC 7239 `Forwarded` header.
fn parse_forwarded(element: &str) -> (Option<String>, Option<String>) {
    let mut found = (None, None);
    for pair in element.split(';') {
        let Some((name, value)) = pair.split_once('=') else {
            continue;
        };
        let value = value.trim().trim_matches('"').to_owned();
        match name.trim().to_ascii_lowercase().as_str() {
            "proto" => found.0 = Some(value),
            "host" => found.1 = Some(value),
            _ => {}
        }
    }
    found
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

    fn settings(allowed: &[&str], trust_forwarded: bool) -> WebSettings {
        WebSettings {
            allowed_origins: allowed.iter().map(|origin| (*origin).to_owned()).collect(),
            trust_forwarded,
            ..WebSettings::default()
        }
    }

    #[test]
    fn mutating_requests_must_be_same_origin_or_from_an_allowed_origin() {
        let web = settings(&["https://admin.example"], false);
        let refused = |headers: &[(&str, &str)]| cross_site_refusal(&post(headers), &web);
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
    fn an_origin_equal_to_the_host_it_was_sent_to_is_same_origin() {
        let web = settings(&[], false);
        let refused = |headers: &[(&str, &str)]| cross_site_refusal(&post(headers), &web);
        assert!(
            refused(&[
                ("host", "127.0.0.1:3000"),
                ("origin", "http://127.0.0.1:3000")
            ])
            .is_none()
        );
        assert!(
            refused(&[
                ("host", "Panel.Example"),
                ("origin", "http://panel.example")
            ])
            .is_none()
        );
        assert!(
            refused(&[
                ("host", "panel.example:80"),
                ("origin", "http://panel.example")
            ])
            .is_none()
        );
        assert!(
            refused(&[
                ("host", "127.0.0.1:3000"),
                ("origin", "http://127.0.0.1:3001")
            ])
            .is_some()
        );
        assert!(
            refused(&[
                ("host", "127.0.0.1:3000"),
                ("origin", "https://127.0.0.1:3000")
            ])
            .is_some()
        );
        assert!(
            refused(&[
                ("host", "127.0.0.1:3000"),
                ("origin", "http://evil.example")
            ])
            .is_some()
        );
        assert!(refused(&[("host", "127.0.0.1:3000"), ("origin", "null")]).is_some());
        assert!(
            refused(&[("host", "127.0.0.1:3000")]).is_some(),
            "no Origin at all"
        );
        assert!(
            refused(&[
                ("host", "127.0.0.1:3000"),
                ("x-forwarded-host", "evil.example"),
                ("origin", "http://evil.example"),
            ])
            .is_some(),
            "forwarded headers are ignored unless trusted"
        );
    }

    #[test]
    fn behind_a_trusted_proxy_the_forwarded_origin_counts() {
        let web = settings(&[], true);
        let refused = |headers: &[(&str, &str)]| cross_site_refusal(&post(headers), &web);
        let proxied = [
            ("host", "127.0.0.1:3000"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "admin.example"),
        ];
        assert!(
            refused(&[
                proxied[0],
                proxied[1],
                proxied[2],
                ("origin", "https://admin.example")
            ])
            .is_none()
        );
        assert!(
            refused(&[
                proxied[0],
                proxied[1],
                proxied[2],
                ("origin", "http://127.0.0.1:3000")
            ])
            .is_some()
        );
        assert!(
            refused(&[
                proxied[0],
                proxied[1],
                proxied[2],
                ("origin", "https://evil.example")
            ])
            .is_some()
        );
        assert!(
            refused(&[
                ("host", "127.0.0.1:3000"),
                (
                    "forwarded",
                    "for=10.0.0.1;proto=https;host=\"admin.example:8443\", for=10.0.0.2"
                ),
                ("origin", "https://admin.example:8443"),
            ])
            .is_none(),
            "RFC 7239"
        );
        assert!(
            refused(&[
                ("host", "admin.example"),
                ("x-forwarded-proto", "https"),
                ("origin", "https://admin.example")
            ])
            .is_none(),
            "the proxy kept Host and forwarded only the scheme"
        );
        assert!(
            refused(&[proxied[0], proxied[1], proxied[2]]).is_some(),
            "no Origin at all"
        );
    }

    #[test]
    fn reads_are_never_refused() {
        let request = axum::http::Request::builder()
            .uri("/api/stats")
            .header("origin", "https://evil.example")
            .body(Body::empty())
            .unwrap_or_default();
        assert!(cross_site_refusal(&request, &WebSettings::default()).is_none());
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
