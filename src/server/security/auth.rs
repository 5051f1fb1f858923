//! Authentication with the admin's own session, and who may do what.
//!
//! The admin (FastAPI) signs an HS256 JWT with its SECRET_KEY and keeps it in the
//! `access_token` cookie; API clients send the same token as `Authorization: Bearer`. Every
//! page, server function, event stream and API route passes `require_caller`, which verifies
//! the token (algorithm pinned to HS256, `exp` required, `nbf` honoured, `iat` not in the
//! future) and puts the `Caller` into the request. Roles in `full_access_roles` may act;
//! roles in `view_only_roles` may only read (GET and HEAD). Tokens never reach a log line:
//! failures are logged by kind.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{OriginalUri, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Validation};
use serde::{Deserialize, Serialize};

use super::settings::AuthSettings;
use crate::error::AppError;
use crate::server::env::Secret;

/// The admin's session cookie.
pub const COOKIE_NAME: &str = "access_token";
/// Tokens longer than this are refused unread; the admin's tokens are a few hundred bytes.
pub const MAX_TOKEN_BYTES: usize = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    Full,
    ViewOnly,
}

/// The authenticated user of one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub user_id: String,
    pub role: String,
    pub display_name: Option<String>,
    pub access: Access,
}

impl Caller {
    /// How the audit trail names this caller: role, id and the name the admin shows.
    pub fn actor(&self) -> String {
        match &self.display_name {
            Some(name) => format!("{} #{} ({name})", self.role, self.user_id),
            None => format!("{} #{}", self.role, self.user_id),
        }
    }
}

/// Why a request was not let in. The texts name the kind of failure, never the token.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthFailure {
    #[error("no token")]
    Missing,
    #[error("the Authorization header is not 'Bearer <token>'")]
    MalformedHeader,
    #[error("several access_token cookies with different values")]
    AmbiguousCookies,
    #[error("token larger than {MAX_TOKEN_BYTES} bytes")]
    TooLarge,
    #[error("invalid token: {0}")]
    Invalid(&'static str),
    #[error("expired token")]
    Expired,
    #[error("token not valid yet")]
    NotYetValid,
    #[error("role '{0}' may not use cachepanel")]
    RoleRefused(String),
}

impl AuthFailure {
    /// A valid token of a role without access: 403, not 401 (logging in again won't help).
    pub fn is_forbidden(&self) -> bool {
        matches!(self, Self::RoleRefused(_))
    }
}

/// The claims cachepanel reads; the admin puts more in, which are ignored.
#[derive(Debug, Deserialize)]
struct Claims {
    sub: SubjectClaim,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    iat: Option<i64>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    first_name: Option<String>,
}

/// The admin writes user ids as strings or integers.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum SubjectClaim {
    Text(String),
    Number(i64),
}

pub struct Authenticator {
    key: DecodingKey,
    validation: Validation,
    leeway_seconds: u64,
    full_access_roles: BTreeSet<String>,
    view_only_roles: BTreeSet<String>,
}

impl Authenticator {
    pub fn new(settings: &AuthSettings) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.leeway = settings.leeway_seconds;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp"]);
        Self {
            key: DecodingKey::from_secret(settings.secret.expose().as_bytes()),
            validation,
            leeway_seconds: settings.leeway_seconds,
            full_access_roles: settings.full_access_roles.iter().cloned().collect(),
            view_only_roles: settings.view_only_roles.iter().cloned().collect(),
        }
    }

    /// The caller of a request, from its Bearer token or else its `access_token` cookie.
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<Caller, AuthFailure> {
        let token = match bearer_token(headers)? {
            Some(token) => token,
            None => cookie_token(headers)?.ok_or(AuthFailure::Missing)?,
        };
        self.verify(&token)
    }

    pub fn verify(&self, token: &str) -> Result<Caller, AuthFailure> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(AuthFailure::TooLarge);
        }
        let data = jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation).map_err(
            |error| match error.kind() {
                ErrorKind::ExpiredSignature => AuthFailure::Expired,
                ErrorKind::ImmatureSignature => AuthFailure::NotYetValid,
                ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                    AuthFailure::Invalid("algorithm other than HS256")
                }
                ErrorKind::InvalidSignature => AuthFailure::Invalid("signature"),
                ErrorKind::MissingRequiredClaim(_) => AuthFailure::Invalid("missing exp"),
                ErrorKind::Base64(_) | ErrorKind::Utf8(_) | ErrorKind::InvalidToken => {
                    AuthFailure::Invalid("malformed")
                }
                ErrorKind::Json(_) => AuthFailure::Invalid("malformed header or claims"),
                _ => AuthFailure::Invalid("rejected"),
            },
        )?;
        let claims = data.claims;
        let now = chrono::Utc::now().timestamp();
        let leeway = i64::try_from(self.leeway_seconds).unwrap_or(i64::MAX);
        if claims
            .iat
            .is_some_and(|iat| iat > now.saturating_add(leeway))
        {
            return Err(AuthFailure::Invalid("issued in the future"));
        }
        let user_id = match claims.sub {
            SubjectClaim::Text(text) => text,
            SubjectClaim::Number(number) => number.to_string(),
        };
        if user_id.is_empty() || user_id.len() > 128 || user_id.chars().any(char::is_control) {
            return Err(AuthFailure::Invalid("subject"));
        }
        let role = claims.role.unwrap_or_default();
        let access = if self.full_access_roles.contains(&role) {
            Access::Full
        } else if self.view_only_roles.contains(&role) {
            Access::ViewOnly
        } else {
            return Err(AuthFailure::RoleRefused(role));
        };
        Ok(Caller {
            user_id,
            role,
            display_name: claims.username.or(claims.first_name),
            access,
        })
    }
}

/// `Authorization: Bearer <token>`; another scheme or a bare header is an error, not "absent".
fn bearer_token(headers: &HeaderMap) -> Result<Option<String>, AuthFailure> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let text = value.to_str().map_err(|_| AuthFailure::MalformedHeader)?;
    let (scheme, token) = text
        .trim()
        .split_once(' ')
        .ok_or(AuthFailure::MalformedHeader)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(AuthFailure::MalformedHeader);
    }
    Ok(Some(token.trim().to_owned()))
}

/// The `access_token` cookie. Two different values (e.g. one cookie set for a parent path
/// and one planted for ours) are refused rather than guessed between.
fn cookie_token(headers: &HeaderMap) -> Result<Option<String>, AuthFailure> {
    let mut found: Option<String> = None;
    let texts = headers
        .get_all(header::COOKIE)
        .into_iter()
        .filter_map(|value| value.to_str().ok());
    for cookie in texts.flat_map(cookie::Cookie::split_parse).flatten() {
        if cookie.name() != COOKIE_NAME {
            continue;
        }
        let value = cookie.value_trimmed();
        if value.len() > MAX_TOKEN_BYTES {
            return Err(AuthFailure::TooLarge);
        }
        match &found {
            Some(previous) if previous != value => return Err(AuthFailure::AmbiguousCookies),
            _ => found = Some(value.to_owned()),
        }
    }
    Ok(found)
}

/// The claims the admin puts into its tokens, for minting one (dev login).
#[derive(Debug, Serialize)]
pub struct MintClaims<'a> {
    pub sub: &'a str,
    pub role: &'a str,
    pub username: &'a str,
    pub iat: i64,
    pub exp: i64,
}

pub fn mint(secret: &Secret, claims: &MintClaims<'_>) -> Result<String, AppError> {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.expose().as_bytes()),
    )
    .map_err(|error| AppError::internal(format!("signing a token: {error}")))
}

/// What the authentication middleware needs: the token checks, and where to send a browser
/// that has no session.
#[derive(Clone)]
pub struct Gate {
    pub authenticator: Arc<Authenticator>,
    /// The admin's login page (`next=` is appended).
    pub login_url: String,
    /// cachepanel's base path, to name the page the browser asked for.
    pub base_path: String,
}

/// Middleware: lets a request through only with a valid token of an allowed role, and view-only
/// roles only with GET or HEAD. Puts the `Caller` into the request's extensions.
pub async fn require_caller(
    State(gate): State<Arc<Gate>>,
    mut request: Request,
    next: Next,
) -> Response {
    match gate.authenticator.authenticate(request.headers()) {
        Ok(caller) => {
            let reads_only = matches!(*request.method(), Method::GET | Method::HEAD);
            if caller.access == Access::ViewOnly && !reads_only {
                tracing::info!(role = %caller.role, user = %caller.user_id, "refused: view-only role tried to act");
                return forbidden(&request, "view_only");
            }
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(failure) if failure.is_forbidden() => {
            tracing::info!(reason = %failure, "refused: role without access");
            forbidden(&request, "role")
        }
        Err(failure) => {
            tracing::info!(reason = %failure, path = %request.uri().path(), "refused: not authenticated");
            unauthorized(&request, &gate)
        }
    }
}

/// A browser navigating to a page (not a script calling the API or the event stream).
fn wants_html(request: &Request) -> bool {
    request.method() == Method::GET
        && !request.uri().path().contains("/api/")
        && request
            .headers()
            .get(header::ACCEPT)
            .and_then(|accept| accept.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html"))
}

fn unauthorized(request: &Request, gate: &Gate) -> Response {
    if wants_html(request) {
        let next = public_path(request, &gate.base_path);
        let separator = if gate.login_url.contains('?') {
            '&'
        } else {
            '?'
        };
        let location = format!(
            "{}{separator}next={}",
            gate.login_url,
            url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
        );
        let mut response = StatusCode::SEE_OTHER.into_response();
        if let Ok(value) = HeaderValue::from_str(&location) {
            response.headers_mut().insert(header::LOCATION, value);
        }
        return response;
    }
    let mut response =
        (StatusCode::UNAUTHORIZED, axum::Json(AppError::Unauthorized)).into_response();
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

fn forbidden(request: &Request, reason: &str) -> Response {
    if !wants_html(request) {
        return (StatusCode::FORBIDDEN, axum::Json(AppError::Forbidden)).into_response();
    }
    let lang = crate::server::lang::page_language(request.uri().query(), request.headers());
    let texts = crate::i18n::texts(lang);
    let message = if reason == "view_only" {
        texts.forbidden_view_only
    } else {
        texts.forbidden_role
    };
    let body = format!(
        "<!DOCTYPE html><html lang=\"{}\"><head><meta charset=\"utf-8\"><title>403</title></head>\
         <body><main data-testid=\"forbidden\"><h1>403</h1><p>{}</p></main></body></html>",
        lang.code(),
        message
    );
    (
        StatusCode::FORBIDDEN,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        Body::from(body),
    )
        .into_response()
}

/// The path and query as the browser sees it: behind a prefix-stripping proxy the base path
/// is added back.
fn public_path(request: &Request, base_path: &str) -> String {
    let uri = request
        .extensions()
        .get::<OriginalUri>()
        .map_or_else(|| request.uri().clone(), |original| original.0.clone());
    let path_and_query = uri
        .path_and_query()
        .map_or_else(|| "/".to_owned(), |pq| pq.as_str().to_owned());
    if base_path.is_empty() || path_and_query.starts_with(base_path) {
        path_and_query
    } else {
        format!("{base_path}{path_and_query}")
    }
}

/// The caller inside a server function (provided as context by the API handler and the page).
pub fn caller() -> Result<Caller, AppError> {
    leptos::prelude::use_context::<Caller>().ok_or(AppError::Unauthorized)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "unit-test-secret-0123456789abcdef";

    fn authenticator(view_only: &[&str]) -> Authenticator {
        Authenticator::new(&AuthSettings {
            secret: Secret::new(SECRET),
            leeway_seconds: 30,
            login_url: "/auth/login".into(),
            full_access_roles: vec!["superadmin".into()],
            view_only_roles: view_only.iter().map(|r| (*r).to_owned()).collect(),
            dev_login: false,
            metrics_token: None,
        })
    }

    fn token(claims: serde_json::Value) -> String {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .unwrap_or_default()
    }

    fn now() -> i64 {
        chrono::Utc::now().timestamp()
    }

    #[test]
    fn integer_and_string_subjects_are_both_accepted() {
        let auth = authenticator(&[]);
        for sub in [serde_json::json!(17), serde_json::json!("17")] {
            let caller = auth
                .verify(&token(serde_json::json!({
                    "sub": sub, "role": "superadmin", "exp": now() + 60, "iat": now(), "username": "anna"
                })))
                .unwrap();
            assert_eq!(caller.user_id, "17");
            assert_eq!(caller.access, Access::Full);
            assert_eq!(caller.actor(), "superadmin #17 (anna)");
        }
    }

    #[test]
    fn view_only_roles_are_told_apart_from_refused_ones() {
        let auth = authenticator(&["moderator"]);
        let claims = |role: &str| serde_json::json!({"sub": 1, "role": role, "exp": now() + 60});
        assert_eq!(
            auth.verify(&token(claims("moderator"))).map(|c| c.access),
            Ok(Access::ViewOnly)
        );
        let refused = auth.verify(&token(claims("owner"))).unwrap_err();
        assert!(refused.is_forbidden());
    }

    #[test]
    fn time_claims_are_enforced_with_leeway() {
        let auth = authenticator(&[]);
        let with = |extra: serde_json::Value| {
            let mut claims = serde_json::json!({"sub": 1, "role": "superadmin", "exp": now() + 60});
            if let (Some(claims), Some(extra)) = (claims.as_object_mut(), extra.as_object()) {
                claims.extend(extra.clone());
            }
            auth.verify(&token(claims))
        };
        assert_eq!(
            with(serde_json::json!({"exp": now() - 120})),
            Err(AuthFailure::Expired)
        );
        assert!(
            with(serde_json::json!({"exp": now() - 10})).is_ok(),
            "within leeway"
        );
        assert_eq!(
            with(serde_json::json!({"nbf": now() + 600})),
            Err(AuthFailure::NotYetValid)
        );
        assert!(with(serde_json::json!({"iat": now() + 600})).is_err());
        assert!(
            with(serde_json::json!({"iat": now() + 5})).is_ok(),
            "within leeway"
        );
    }

    #[test]
    fn two_different_cookies_are_refused_and_equal_ones_accepted() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; access_token=x.y.z; access_token=x.y.z"),
        );
        assert_eq!(cookie_token(&headers), Ok(Some("x.y.z".into())));
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("access_token=p.q.r"),
        );
        assert_eq!(cookie_token(&headers), Err(AuthFailure::AmbiguousCookies));
    }

    #[test]
    fn only_bearer_authorization_is_understood() {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer_token(&headers), Err(AuthFailure::MalformedHeader));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer a.b.c"),
        );
        assert_eq!(bearer_token(&headers), Ok(Some("a.b.c".into())));
    }

    #[test]
    fn failures_never_quote_the_token() {
        let auth = authenticator(&[]);
        let forged = format!(
            "{}x",
            token(serde_json::json!({"sub": 1, "role": "superadmin", "exp": now() + 60}))
        );
        let failure = auth.verify(&forged).unwrap_err();
        assert!(!failure.to_string().contains(&forged[..20]));
    }
}
