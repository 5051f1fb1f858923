//! Sign-in and browser rules as configured: the admin's JWT secret and roles
//! (`CACHEPANEL_JWT_*`, `CACHEPANEL_ROLES`, …), the `/metrics` token, and who may frame or post
//! to cachepanel (`CACHEPANEL_ALLOWED_ORIGINS`, `CACHEPANEL_FRAME_ANCESTORS`, …).

use crate::server::env::{ConfigError, Env, Secret, invalid};

/// Where the built-in login of dev mode lives (relative to the base path).
pub const DEV_LOGIN_PATH: &str = "/auth/dev-login";

#[derive(Clone, Debug, PartialEq)]
pub struct AuthSettings {
    /// The admin's SECRET_KEY (or, in dev mode without one, a random throwaway secret).
    pub secret: Secret,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`.
    pub leeway_seconds: u64,
    /// Unauthenticated page requests are sent here with `?next=`.
    pub login_url: String,
    pub full_access_roles: Vec<String>,
    pub view_only_roles: Vec<String>,
    /// Dev mode without a configured secret: cachepanel serves its own login at
    /// `DEV_LOGIN_PATH`, signing tokens with the throwaway secret.
    pub dev_login: bool,
    /// Bearer token for `/metrics`; `None`: the admin session, like every other route.
    pub metrics_token: Option<Secret>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct WebSettings {
    /// Origins (`scheme://host[:port]`) other than the one a request was sent to whose
    /// mutating requests are accepted.
    pub allowed_origins: Vec<String>,
    /// The origin a request was sent to comes from the proxy's forwarded headers.
    pub trust_forwarded: bool,
    /// CSP `frame-ancestors` sources: who may put cachepanel in a frame.
    pub frame_ancestors: String,
    /// Where the embedded page posts its height; `None`: its own origin (admin and cachepanel
    /// behind one proxy). Never `*`.
    pub admin_origin: Option<String>,
    /// Render the compact embed layout without `?embed=1`.
    pub embed_by_default: bool,
}

impl Default for WebSettings {
    fn default() -> Self {
        Self {
            allowed_origins: Vec::new(),
            trust_forwarded: false,
            frame_ancestors: "'self'".into(),
            admin_origin: None,
            embed_by_default: false,
        }
    }
}

/// Parses `scheme://host[:port]` (no path, no trailing slash), as browsers send in `Origin`.
pub fn parse_origin(text: &str) -> Result<String, String> {
    let text = text.trim();
    let url = url::Url::parse(text).map_err(|_| format!("'{text}' is not an origin"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!("'{text}': expected http(s)://host[:port]"));
    }
    let origin = url.origin().ascii_serialization();
    if origin != text.trim_end_matches('/') {
        return Err(format!(
            "'{text}': an origin has no path, query or credentials (did you mean {origin}?)"
        ));
    }
    Ok(origin)
}

/// Secrets that are placeholders from examples and tutorials, not keys.
const PLACEHOLDER_SECRETS: &[&str] = &[
    "secret",
    "changeme",
    "change-me",
    "change_me",
    "your-secret-key",
    "your_secret_key",
    "your-secret-key-here",
    "secret-key",
    "secret_key",
    "supersecret",
    "super-secret-key",
    "default",
    "development",
    "insecure",
];
/// Shorter signing keys are refused outside dev mode: HS256 keys should be ≥ 32 bytes, and
/// anything under 16 is guessable.
const MIN_SECRET_BYTES: usize = 16;
/// A `/metrics` bearer token must be at least this long.
const MIN_METRICS_TOKEN_CHARS: usize = 16;
/// Clock skew tolerated on `exp`, `nbf` and `iat` unless configured; at most the maximum.
const DEFAULT_LEEWAY_SECONDS: u64 = 30;
const MAX_LEEWAY_SECONDS: u64 = 300;

fn check_secret_strength(secret: &str) -> Result<(), String> {
    let lowered = secret.trim().to_ascii_lowercase();
    if lowered.is_empty() {
        return Err("empty".into());
    }
    if PLACEHOLDER_SECRETS.contains(&lowered.as_str())
        || lowered.contains("change") && lowered.contains("me")
    {
        return Err("looks like a placeholder, not the admin's SECRET_KEY".into());
    }
    if secret.len() < MIN_SECRET_BYTES {
        return Err(format!(
            "shorter than {MIN_SECRET_BYTES} bytes; use the admin's real SECRET_KEY"
        ));
    }
    Ok(())
}

impl AuthSettings {
    /// `dev_mode` allows a missing secret (a throwaway one and the dev login, served under
    /// `base_path`) and weak ones.
    pub fn from_env(env: &Env, dev_mode: bool, base_path: &str) -> Result<Self, ConfigError> {
        let from_file = match env.text("CACHEPANEL_JWT_SECRET_FILE") {
            None => None,
            Some(path) => {
                let text = std::fs::read_to_string(path.trim()).map_err(|error| {
                    invalid(
                        "CACHEPANEL_JWT_SECRET_FILE",
                        format!("cannot read {}: {}", path.trim(), error.kind()),
                    )
                })?;
                Some(text.trim_end_matches(['\n', '\r']).to_owned())
            }
        };
        let (secret, variable) = match (env.text("CACHEPANEL_JWT_SECRET"), from_file) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "CACHEPANEL_JWT_SECRET",
                    "set either CACHEPANEL_JWT_SECRET or CACHEPANEL_JWT_SECRET_FILE, not both",
                ));
            }
            (Some(secret), None) => (Some(secret), "CACHEPANEL_JWT_SECRET"),
            (None, Some(secret)) => (Some(secret), "CACHEPANEL_JWT_SECRET_FILE"),
            (None, None) => (None, "CACHEPANEL_JWT_SECRET"),
        };
        if let Some(secret) = &secret
            && !dev_mode
        {
            check_secret_strength(secret).map_err(|problem| invalid(variable, problem))?;
        }
        let dev_login = secret.is_none();
        let secret = match secret {
            Some(secret) => Secret::new(secret),
            None if dev_mode => {
                use rand::Rng as _;
                let bytes: [u8; 32] = rand::rng().random();
                Secret::new(bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
            }
            None => {
                return Err(invalid(
                    "CACHEPANEL_JWT_SECRET",
                    "required: the admin's SECRET_KEY, which signs its access_token cookies \
                     (or CACHEPANEL_JWT_SECRET_FILE; CACHEPANEL_DEV_MODE=true for a local trial)",
                ));
            }
        };
        let full_access_roles = env.list("CACHEPANEL_ROLES", "superadmin");
        if full_access_roles.is_empty() {
            return Err(invalid("CACHEPANEL_ROLES", "name at least one role"));
        }
        let view_only_roles = env.list("CACHEPANEL_VIEW_ROLES", "");
        let login_url = match env.text("CACHEPANEL_LOGIN_URL") {
            Some(url) => {
                let url = url.trim().to_owned();
                if !url.starts_with('/')
                    && !url.starts_with("https://")
                    && !url.starts_with("http://")
                {
                    return Err(invalid(
                        "CACHEPANEL_LOGIN_URL",
                        "expected a path such as /auth/login or an http(s) URL",
                    ));
                }
                url
            }
            None if dev_login => format!("{base_path}{DEV_LOGIN_PATH}"),
            None => "/auth/login".into(),
        };
        let leeway_seconds = env
            .parsed("CACHEPANEL_JWT_LEEWAY_SECONDS", |text| {
                text.trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|seconds| *seconds <= MAX_LEEWAY_SECONDS)
                    .ok_or_else(|| format!("expected seconds between 0 and {MAX_LEEWAY_SECONDS}"))
            })?
            .unwrap_or(DEFAULT_LEEWAY_SECONDS);
        let metrics_token = env.parsed("CACHEPANEL_METRICS_TOKEN", |token| {
            let token = token.trim();
            if token.chars().count() < MIN_METRICS_TOKEN_CHARS {
                return Err(format!("use at least {MIN_METRICS_TOKEN_CHARS} characters"));
            }
            Ok(Secret::new(token))
        })?;
        Ok(Self {
            secret,
            leeway_seconds,
            login_url,
            full_access_roles,
            view_only_roles,
            dev_login,
            metrics_token,
        })
    }
}

impl WebSettings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let origins = |name: &'static str| -> Result<Vec<String>, ConfigError> {
            env.list(name, "")
                .iter()
                .map(|origin| parse_origin(origin).map_err(|e| invalid(name, e)))
                .collect()
        };
        let frame_ancestors = env
            .text("CACHEPANEL_FRAME_ANCESTORS")
            .map(|text| text.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_else(|| Self::default().frame_ancestors);
        if frame_ancestors.contains([';', ',']) {
            return Err(invalid(
                "CACHEPANEL_FRAME_ANCESTORS",
                "expected CSP sources separated by spaces, e.g. 'self' https://admin.example",
            ));
        }
        let admin_origin = origins("CACHEPANEL_ADMIN_ORIGIN")?;
        if admin_origin.len() > 1 {
            return Err(invalid("CACHEPANEL_ADMIN_ORIGIN", "expected one origin"));
        }
        Ok(Self {
            allowed_origins: origins("CACHEPANEL_ALLOWED_ORIGINS")?,
            trust_forwarded: env.flag("CACHEPANEL_TRUST_FORWARDED", false)?,
            frame_ancestors,
            admin_origin: admin_origin.into_iter().next(),
            embed_by_default: env.flag("CACHEPANEL_EMBED", false)?,
        })
    }
}
