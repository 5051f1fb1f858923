//! Authentication, authorization, CSRF and security headers, over real HTTP against real Redis.
//! Tokens are minted the way the admin mints them (HS256, PyJWT's claims), plus fixtures that
//! PyJWT itself produced (`tests/fixtures/pyjwt_tokens.json`).

use std::time::Duration;

use base64::Engine as _;
use cachepanel::server::redis::process::RedisProcessOptions;

use crate::harness::{
    TEST_JWT_SECRET, TestApp, mint_token, redis_connection, start_app_with, token_for,
};

/// How a request presents itself.
#[derive(Clone, Debug)]
enum Credential {
    Anonymous,
    Cookie(String),
    Bearer(String),
    Cookies(Vec<String>),
}

/// The four kinds of surface every check runs against.
#[derive(Clone, Copy, Debug)]
enum Surface {
    Page,
    ServerFunction,
    EventStream,
    Flush,
}

const SURFACES: [Surface; 4] = [
    Surface::Page,
    Surface::ServerFunction,
    Surface::EventStream,
    Surface::Flush,
];

fn plain_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

async fn call(
    app: &TestApp,
    surface: Surface,
    credential: &Credential,
    preview_id: &str,
) -> reqwest::Response {
    let client = plain_client();
    let request = match surface {
        Surface::Page => client
            .get(format!("{}/admin/cache/stats", app.base_url))
            .header("accept", "text/html,application/xhtml+xml"),
        Surface::ServerFunction => client.get(format!("{}/api/stats", app.base_url)),
        Surface::EventStream => client
            .get(format!("{}/api/live/events", app.base_url))
            .header("accept", "text/event-stream"),
        Surface::Flush => client
            .post(format!("{}/api/flush/start", app.base_url))
            .header("sec-fetch-site", "same-origin")
            .form(&[("prefix", "user:"), ("preview_id", preview_id)]),
    };
    let request = match credential {
        Credential::Anonymous => request,
        Credential::Cookie(token) => request.header("cookie", format!("access_token={token}")),
        Credential::Bearer(token) => request.bearer_auth(token),
        Credential::Cookies(tokens) => {
            let mut request = request;
            for token in tokens {
                request = request.header("cookie", format!("access_token={token}"));
            }
            request
        }
    };
    request.send().await.unwrap()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn claims(role: Option<&str>) -> serde_json::Value {
    let mut claims = serde_json::json!({
        "sub": "1", "exp": now() + 3600, "iat": now(), "username": "u1", "first_name": "Тест",
    });
    if let Some(role) = role {
        claims["role"] = role.into();
    }
    claims
}

fn with(mut claims: serde_json::Value, name: &str, value: serde_json::Value) -> serde_json::Value {
    claims[name] = value;
    claims
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A token with any header, signed (or not) as the caller says.
fn raw_token(header: &serde_json::Value, claims: &serde_json::Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes()),
        b64(signature)
    )
}

fn hs512_token(claims: &serde_json::Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS512),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(TEST_JWT_SECRET.as_bytes()),
    )
    .unwrap()
}

fn seed_users(app: &TestApp, count: u64) {
    crate::harness::fill_keys(&app.redis.url(), "user:", count);
}

fn user_keys(app: &TestApp) -> u64 {
    let mut connection = redis_connection(&app.redis.url());
    let mut cursor = 0_u64;
    let mut total = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg("user:*")
            .arg("COUNT")
            .arg(1000)
            .query(&mut connection)
            .unwrap();
        total += keys.len() as u64;
        cursor = next;
        if cursor == 0 {
            return total;
        }
    }
}

/// A preview made by a legitimate superadmin, so refused starts are refused for the caller,
/// not for a bad preview.
async fn legitimate_preview(app: &TestApp) -> String {
    let response = app
        .http
        .post(format!("{}/api/flush/preview", app.base_url))
        .form(&[("prefix", "user:")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    body["id"].as_str().unwrap().to_owned()
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Refusal {
    Unauthenticated,
    Forbidden,
}

async fn assert_refused(app: &TestApp, name: &str, credential: &Credential, refusal: Refusal) {
    let preview_id = legitimate_preview(app).await;
    for surface in SURFACES {
        let response = call(app, surface, credential, &preview_id).await;
        let status = response.status().as_u16();
        match (surface, refusal) {
            (Surface::Page, Refusal::Unauthenticated) => {
                assert_eq!(status, 303, "{name} on the page");
                let location = response.headers()["location"].to_str().unwrap();
                assert_eq!(
                    location, "/auth/login?next=%2Fadmin%2Fcache%2Fstats",
                    "{name}: to the login with next"
                );
            }
            (Surface::Page, Refusal::Forbidden) => {
                assert_eq!(status, 403, "{name} on the page");
                let body = response.text().await.unwrap();
                assert!(
                    body.contains("data-testid=\"forbidden\""),
                    "{name}: a 403 page"
                );
            }
            (_, Refusal::Unauthenticated) => {
                assert_eq!(status, 401, "{name} on {surface:?}");
                let body: serde_json::Value = response.json().await.unwrap_or_default();
                assert_eq!(body["error"], "unauthorized", "{name} on {surface:?}");
            }
            (_, Refusal::Forbidden) => {
                assert_eq!(status, 403, "{name} on {surface:?}");
                let body: serde_json::Value = response.json().await.unwrap_or_default();
                assert_eq!(body["error"], "forbidden", "{name} on {surface:?}");
            }
        }
    }
    assert_eq!(user_keys(app), 50, "{name}: nothing was deleted");
}

#[tokio::test]
async fn every_surface_refuses_bad_tokens_and_wrong_roles() {
    let app = start_app_with(RedisProcessOptions::default(), |_| {}).await;
    seed_users(&app, 50);
    let superadmin = claims(Some("superadmin"));
    let other_secret = mint_token(&superadmin, "another-secret-of-another-app-123456");
    let none_alg = raw_token(
        &serde_json::json!({"alg": "none", "typ": "JWT"}),
        &superadmin,
        b"",
    );
    let rs256 = raw_token(
        &serde_json::json!({"alg": "RS256", "typ": "JWT"}),
        &superadmin,
        &[7; 256],
    );
    let valid = mint_token(&superadmin, TEST_JWT_SECRET);
    let owner = mint_token(&claims(Some("owner")), TEST_JWT_SECRET);
    let huge = format!("{valid}{}", "A".repeat(100 * 1024));
    let cases: Vec<(&str, Credential, Refusal)> = vec![
        ("no token", Credential::Anonymous, Refusal::Unauthenticated),
        (
            "wrong signature",
            Credential::Cookie(other_secret),
            Refusal::Unauthenticated,
        ),
        (
            "alg none",
            Credential::Cookie(none_alg),
            Refusal::Unauthenticated,
        ),
        (
            "alg HS512",
            Credential::Cookie(hs512_token(&superadmin)),
            Refusal::Unauthenticated,
        ),
        (
            "alg RS256",
            Credential::Bearer(rs256),
            Refusal::Unauthenticated,
        ),
        (
            "expired",
            Credential::Cookie(mint_token(
                &with(superadmin.clone(), "exp", (now() - 3600).into()),
                TEST_JWT_SECRET,
            )),
            Refusal::Unauthenticated,
        ),
        (
            "nbf in the future",
            Credential::Cookie(mint_token(
                &with(superadmin.clone(), "nbf", (now() + 3600).into()),
                TEST_JWT_SECRET,
            )),
            Refusal::Unauthenticated,
        ),
        (
            "iat in the future",
            Credential::Cookie(mint_token(
                &with(superadmin.clone(), "iat", (now() + 3600).into()),
                TEST_JWT_SECRET,
            )),
            Refusal::Unauthenticated,
        ),
        (
            "malformed base64",
            Credential::Cookie("eyJhbGciOi!!.@@@.###".into()),
            Refusal::Unauthenticated,
        ),
        (
            "a 100 KB token",
            Credential::Cookie(huge),
            Refusal::Unauthenticated,
        ),
        (
            "two different access_token cookies",
            Credential::Cookies(vec![valid.clone(), owner.clone()]),
            Refusal::Unauthenticated,
        ),
        ("role owner", Credential::Cookie(owner), Refusal::Forbidden),
        (
            "role manager",
            Credential::Bearer(mint_token(&claims(Some("manager")), TEST_JWT_SECRET)),
            Refusal::Forbidden,
        ),
        (
            "role missing",
            Credential::Cookie(mint_token(&claims(None), TEST_JWT_SECRET)),
            Refusal::Forbidden,
        ),
    ];
    for (name, credential, refusal) in &cases {
        assert_refused(&app, name, credential, *refusal).await;
    }

    // The same valid token works on every surface, as a cookie and as a Bearer token.
    for credential in [Credential::Cookie(valid.clone()), Credential::Bearer(valid)] {
        for surface in [Surface::Page, Surface::ServerFunction, Surface::EventStream] {
            let response = call(&app, surface, &credential, "").await;
            assert_eq!(
                response.status().as_u16(),
                200,
                "{credential:?} {surface:?}"
            );
        }
    }
    let preview_id = legitimate_preview(&app).await;
    let response = call(
        &app,
        Surface::Flush,
        &Credential::Cookie(token_for("superadmin", 3)),
        &preview_id,
    )
    .await;
    assert_eq!(response.status().as_u16(), 200);
    tokio::time::timeout(Duration::from_secs(10), async {
        while user_keys(&app) > 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the authorized flush deleted the prefix");
    let (_, audit) = app.get_json("/api/audit").await;
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|entry| entry["action"] == "flush_started"
                && entry["actor"] == "superadmin #3 (superadmin3)"),
        "the audit names the real caller: {audit}"
    );
}

#[tokio::test]
async fn tokens_minted_by_pyjwt_are_understood() {
    let fixtures: serde_json::Value =
        serde_json::from_str(include_str!("../fixtures/pyjwt_tokens.json")).unwrap();
    let secret = fixtures["secret"].as_str().unwrap().to_owned();
    let app = start_app_with(RedisProcessOptions::default(), move |config| {
        config.auth.secret = cachepanel::server::config::Secret::new(secret);
    })
    .await;
    seed_users(&app, 50);
    let token = |name: &str| fixtures[name].as_str().unwrap().to_owned();
    for name in ["superadmin_string_sub", "superadmin_integer_sub"] {
        for surface in [Surface::Page, Surface::ServerFunction, Surface::EventStream] {
            let response = call(&app, surface, &Credential::Cookie(token(name)), "").await;
            assert_eq!(response.status().as_u16(), 200, "{name} {surface:?}");
        }
    }
    let page = call(
        &app,
        Surface::Page,
        &Credential::Cookie(token("superadmin_integer_sub")),
        "",
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(page.contains("root"), "the admin's username is shown");
    // PyJWT-made tokens of a refused role or another algorithm are refused like ours.
    let response = call(
        &app,
        Surface::ServerFunction,
        &Credential::Cookie(token("owner")),
        "",
    )
    .await;
    assert_eq!(response.status().as_u16(), 403);
    let response = call(
        &app,
        Surface::ServerFunction,
        &Credential::Cookie(token("superadmin_hs512")),
        "",
    )
    .await;
    assert_eq!(response.status().as_u16(), 401);
}

#[tokio::test]
async fn view_only_roles_may_read_but_never_act() {
    let app = start_app_with(RedisProcessOptions::default(), |config| {
        config.auth.view_only_roles = vec!["moderator".into()];
    })
    .await;
    seed_users(&app, 50);
    let moderator = Credential::Cookie(token_for("moderator", 9));
    for surface in [Surface::Page, Surface::ServerFunction, Surface::EventStream] {
        let response = call(&app, surface, &moderator, "").await;
        assert_eq!(response.status().as_u16(), 200, "{surface:?}");
    }
    let page = call(&app, Surface::Page, &moderator, "")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(r#""can_act":false"#),
        "the page knows it is view-only"
    );
    let preview_id = legitimate_preview(&app).await;
    let response = call(&app, Surface::Flush, &moderator, &preview_id).await;
    assert_eq!(response.status().as_u16(), 403);
    let response = plain_client()
        .post(format!("{}/api/census/start", app.base_url))
        .header(
            "cookie",
            format!("access_token={}", token_for("moderator", 9)),
        )
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    assert_eq!(user_keys(&app), 50);
}

#[tokio::test]
async fn mutating_requests_from_other_origins_are_refused_and_change_nothing() {
    let app = start_app_with(RedisProcessOptions::default(), |config| {
        config.web.allowed_origins = vec!["https://admin.example".into()];
    })
    .await;
    seed_users(&app, 50);
    let cookie = format!("access_token={}", token_for("superadmin", 1));
    let preview_id = legitimate_preview(&app).await;
    let attempt = |origin: Option<&'static str>, fetch_site: Option<&'static str>| {
        let mut request = plain_client()
            .post(format!("{}/api/flush/start", app.base_url))
            .header("cookie", cookie.clone())
            .form(&[("prefix", "user:"), ("preview_id", preview_id.as_str())]);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        if let Some(site) = fetch_site {
            request = request.header("sec-fetch-site", site);
        }
        request.send()
    };
    for (origin, site) in [
        (Some("https://evil.example"), None),
        (Some("https://evil.example"), Some("cross-site")),
        (Some("null"), None),
        (None, None),
        (None, Some("same-site")),
    ] {
        let response = attempt(origin, site).await.unwrap();
        assert_eq!(response.status().as_u16(), 403, "{origin:?} {site:?}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"], "cross_site");
        assert_eq!(
            user_keys(&app),
            50,
            "nothing deleted for {origin:?} {site:?}"
        );
    }
    // The admin's configured origin is trusted.
    let response = attempt(Some("https://admin.example"), None).await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    tokio::time::timeout(Duration::from_secs(10), async {
        while user_keys(&app) > 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("flushed");
    // And a same-origin request (what the page itself sends) works.
    seed_users(&app, 10);
    let response = plain_client()
        .post(format!("{}/api/rate-limits/reset", app.base_url))
        .header("cookie", cookie.clone())
        .header("sec-fetch-site", "same-origin")
        .form(&[("key", "rate_limit:user:77")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = start_app_with(RedisProcessOptions::default(), |config| {
        config.web.frame_ancestors = "'self' https://admin.example".into();
    })
    .await;
    let cookie = format!("access_token={}", token_for("superadmin", 1));
    let get = |path: &str, cookie: Option<&str>| {
        let mut request = plain_client()
            .get(format!("{}{path}", app.base_url))
            .header("accept", "text/html");
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie.to_owned());
        }
        request.send()
    };
    let page = get("/admin/cache/stats", Some(&cookie)).await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let header = |response: &reqwest::Response, name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let policy = header(&page, "content-security-policy");
    assert!(
        policy.contains("frame-ancestors 'self' https://admin.example"),
        "{policy}"
    );
    assert!(
        policy.contains("script-src 'self' 'wasm-unsafe-eval' 'nonce-"),
        "{policy}"
    );
    assert!(!policy.contains("'unsafe-eval'") && !policy.contains("script-src *"));
    assert_eq!(header(&page, "x-content-type-options"), "nosniff");
    assert_eq!(header(&page, "referrer-policy"), "same-origin");
    // The nonce in the header is the one on the page's inline scripts, and new per response.
    let nonce = policy
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .unwrap()
        .to_owned();
    let html = page.text().await.unwrap();
    assert!(
        html.contains(&format!("nonce=\"{nonce}\"")),
        "the bootstrap carries the nonce"
    );
    let again = get("/admin/cache/stats", Some(&cookie)).await.unwrap();
    assert!(!header(&again, "content-security-policy").contains(&nonce));
    // Redirects, 403s, API answers and health checks carry frame-ancestors too.
    for (path, cookie) in [
        ("/admin/cache/stats", None),
        ("/api/stats", Some(cookie.as_str())),
        ("/healthz", None),
        ("/nonexistent", None),
    ] {
        let response = get(path, cookie).await.unwrap();
        assert!(
            header(&response, "content-security-policy")
                .contains("frame-ancestors 'self' https://admin.example"),
            "{path}"
        );
        assert_eq!(
            header(&response, "x-content-type-options"),
            "nosniff",
            "{path}"
        );
    }
}

#[tokio::test]
async fn behind_a_base_path_the_login_redirect_names_the_public_page() {
    let app = start_app_with(RedisProcessOptions::default(), |config| {
        config.base_path = "/tools/cache".into();
        config.auth.login_url = "https://admin.example/auth/login".into();
    })
    .await;
    for path in ["/stats?lang=en", "/tools/cache/stats?lang=en"] {
        let response = plain_client()
            .get(format!("{}{path}", app.base_url))
            .header("accept", "text/html")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 303, "{path}");
        assert_eq!(
            response.headers()["location"],
            "https://admin.example/auth/login?next=%2Ftools%2Fcache%2Fstats%3Flang%3Den"
        );
    }
}

/// Runs the real binary with known secrets through a full scenario (page, API, event stream,
/// refused tokens, flush, reset, census, Redis going away) and reads everything it logged.
#[tokio::test]
async fn no_secret_or_token_ever_reaches_the_log() {
    use std::process::Stdio;
    use tokio::io::AsyncReadExt as _;

    const REDIS_PASSWORD: &str = "redis-pass-Zq8Xv2Lm9";
    const JWT_SECRET: &str = "jwt-secret-Hk3Pw7Nc5Tr1Yb6";
    let mut redis = crate::harness::start_redis(RedisProcessOptions {
        password: Some(REDIS_PASSWORD.into()),
        ..Default::default()
    });
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let origin = format!("http://127.0.0.1:{port}");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_cachepanel"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("CACHEPANEL_REDIS_URL", redis.url())
        .env("CACHEPANEL_JWT_SECRET", JWT_SECRET)
        .env("CACHEPANEL_ADDR", format!("127.0.0.1:{port}"))
        .env("CACHEPANEL_LOG", "debug")
        .env("CACHEPANEL_CENSUS_EVERY_SECONDS", "0")
        .env(
            "CACHEPANEL_SITE_ROOT",
            std::env::temp_dir().join("cachepanel-it-site"),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    assert!(
        redis.url().contains(REDIS_PASSWORD),
        "the app really gets the password"
    );
    let client = plain_client();
    let mut started = false;
    for _ in 0..200 {
        if client.get(format!("{origin}/healthz")).send().await.is_ok() {
            started = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(started, "the server started");

    let now = now();
    let superadmin = serde_json::json!({"sub": "1", "role": "superadmin", "exp": now + 600, "iat": now, "username": "anna"});
    let valid = mint_token(&superadmin, JWT_SECRET);
    let forged = mint_token(&superadmin, "not-the-secret-0123456789abcdef");
    let owner = mint_token(
        &with(superadmin.clone(), "role", "owner".into()),
        JWT_SECRET,
    );
    let expired = mint_token(
        &with(superadmin.clone(), "exp", (now - 3600).into()),
        JWT_SECRET,
    );
    let cookie = format!("access_token={valid}");
    let get = |path: &str, cookie: &str| {
        client
            .get(format!("{origin}{path}"))
            .header("cookie", cookie.to_owned())
            // Server functions answer HTML form posts with a redirect; only pages get text/html.
            .header(
                "accept",
                if path.starts_with("/api/") {
                    "application/json"
                } else {
                    "text/html"
                },
            )
            .send()
    };
    let post = |path: &str, form: Vec<(&'static str, String)>| {
        client
            .post(format!("{origin}{path}"))
            .header("cookie", cookie.clone())
            .header("sec-fetch-site", "same-origin")
            .form(&form)
            .send()
    };
    {
        let mut connection = redis_connection(&redis.url());
        redis::cmd("SET")
            .arg("user:1")
            .arg(r#"{"role":"superadmin"}"#)
            .exec(&mut connection)
            .unwrap();
        redis::cmd("SET")
            .arg("shift:1")
            .arg("{}")
            .exec(&mut connection)
            .unwrap();
    }
    assert_eq!(
        get("/admin/cache/stats", &cookie)
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    assert_eq!(
        get("/api/stats", &cookie).await.unwrap().status().as_u16(),
        200
    );
    assert_eq!(
        client
            .get(format!("{origin}/api/rate-limits"))
            .bearer_auth(&valid)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    for token in [&forged, &owner, &expired] {
        let status = get("/api/stats", &format!("access_token={token}"))
            .await
            .unwrap()
            .status();
        assert!(status == 401 || status == 403);
    }
    let preview: serde_json::Value = post("/api/flush/preview", vec![("prefix", "shift:".into())])
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = preview["id"].as_str().unwrap().to_owned();
    assert_eq!(
        post(
            "/api/flush/start",
            vec![("prefix", "shift:".into()), ("preview_id", id)]
        )
        .await
        .unwrap()
        .status()
        .as_u16(),
        200
    );
    post("/api/census/start", vec![]).await.unwrap();
    post(
        "/api/rate-limits/reset",
        vec![("key", "rate_limit:user:1".into())],
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Redis goes away: error paths log too.
    redis.stop();
    let _ = get("/api/stats", &cookie).await;
    let _ = get("/healthz", "").await;
    let _ = post("/api/flush/preview", vec![("prefix", "user:".into())]).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let pid = child.id().unwrap();
    let _ = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status();
    let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
    let mut log = String::new();
    if let Some(mut out) = child.stdout.take() {
        out.read_to_string(&mut log).await.unwrap();
    }
    if let Some(mut err) = child.stderr.take() {
        err.read_to_string(&mut log).await.unwrap();
    }

    // The scenario really was logged (so the absence below means something) …
    assert!(log.contains("audit"), "audit lines are logged");
    assert!(log.contains("refused"), "refusals are logged");
    assert!(
        log.lines().count() > 20,
        "a debug-level log: {} lines",
        log.lines().count()
    );
    // … and none of the secrets, nor any token or signature, is in it.
    let signature = |token: &str| token.rsplit('.').next().unwrap_or_default().to_owned();
    for (name, secret) in [
        ("Redis password", REDIS_PASSWORD.to_owned()),
        ("JWT secret", JWT_SECRET.to_owned()),
        ("valid token", valid.clone()),
        ("valid token's signature", signature(&valid)),
        ("forged token's signature", signature(&forged)),
        ("owner token's signature", signature(&owner)),
        ("expired token's signature", signature(&expired)),
    ] {
        assert!(!log.contains(&secret), "the {name} appears in the log");
    }
}

#[tokio::test]
async fn dev_mode_login_signs_a_working_session_only_when_enabled() {
    let app = start_app_with(RedisProcessOptions::default(), |config| {
        config.auth.dev_login = true;
        config.auth.login_url = "/auth/dev-login".into();
    })
    .await;
    let client = plain_client();
    let page = client
        .get(format!("{}/admin/cache/stats", app.base_url))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(
        page.headers()["location"],
        "/auth/dev-login?next=%2Fadmin%2Fcache%2Fstats"
    );
    // The sign-in page looks like the dashboard and speaks the page's languages.
    let (status, russian) = app.get_text("/admin/cache/auth/dev-login").await;
    assert_eq!(status, 200);
    assert!(russian.contains("<html lang=\"ru\"") && russian.contains("Войти как"));
    assert!(
        russian.contains("href=\"/admin/cache/pkg/cachepanel"),
        "the dashboard's stylesheet"
    );
    assert!(russian.contains("action=\"/admin/cache/auth/dev-login?next="));
    let (_, english) = app.get_text("/admin/cache/auth/dev-login?lang=en").await;
    assert!(english.contains("<html lang=\"en\"") && english.contains("Sign in as"));
    // A cross-site POST cannot log a victim in.
    let refused = client
        .post(format!("{}/auth/dev-login", app.base_url))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 403);
    let signed_in = client
        .post(format!(
            "{}/auth/dev-login?next=//evil.example/",
            app.base_url
        ))
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status().as_u16(), 303);
    assert_eq!(
        signed_in.headers()["location"],
        "/admin/cache/stats",
        "never an open redirect"
    );
    let cookie = signed_in.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
    let token = cookie
        .split(';')
        .next()
        .and_then(|pair| pair.strip_prefix("access_token="))
        .unwrap()
        .to_owned();
    let response = call(
        &app,
        Surface::ServerFunction,
        &Credential::Cookie(token),
        "",
    )
    .await;
    assert_eq!(response.status().as_u16(), 200);

    // Without dev mode there is no such door.
    let production = start_app_with(RedisProcessOptions::default(), |_| {}).await;
    let response = client
        .post(format!("{}/auth/dev-login", production.base_url))
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert!(response.headers().get("set-cookie").is_none());
    assert_ne!(response.status().as_u16(), 303);
}
