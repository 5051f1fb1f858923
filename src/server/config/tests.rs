//! The composed configuration: defaults, errors naming their variable, secrets never shown.

use std::time::Duration;

use super::*;
use crate::model::census::GroupKind;
use crate::model::flush::FlushPolicy;

const TEST_SECRET: &str = "config-test-secret-0123456789abcdef";

/// The configuration from these variables, plus a JWT secret unless they set up their own.
fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let mut pairs = pairs.to_vec();
    if !pairs.iter().any(|(name, _)| {
        name.starts_with("CACHEPANEL_JWT_SECRET") || *name == "CACHEPANEL_DEV_MODE"
    }) {
        pairs.push(("CACHEPANEL_JWT_SECRET", TEST_SECRET));
    }
    Config::from_env(&Env::pairs(&pairs))
}

#[test]
fn a_jwt_secret_is_required_outside_dev_mode() {
    let error = config(&[("CACHEPANEL_DEV_MODE", "false")]).unwrap_err();
    assert_eq!(error.variable, "CACHEPANEL_JWT_SECRET");
    let dev = config(&[("CACHEPANEL_DEV_MODE", "true")]).unwrap();
    assert!(dev.auth.dev_login);
    assert_eq!(
        dev.auth.secret.expose().len(),
        64,
        "a random throwaway secret"
    );
    assert_eq!(
        dev.auth.login_url, "/admin/cache/auth/dev-login",
        "under the prefix, like every path"
    );
    let given = config(&[]).unwrap();
    assert!(!given.auth.dev_login);
    assert_eq!(given.auth.login_url, "/auth/login");
}

#[test]
fn weak_or_placeholder_secrets_are_refused_outside_dev_mode() {
    for weak in [
        "secret",
        "changeme",
        "your-secret-key-here",
        "short-key",
        "CHANGE_ME_PLEASE_0123456789",
    ] {
        let error = config(&[("CACHEPANEL_JWT_SECRET", weak)]).unwrap_err();
        assert_eq!(error.variable, "CACHEPANEL_JWT_SECRET", "{weak}");
        assert!(
            !error.to_string().contains(weak),
            "the message never echoes the secret"
        );
    }
    assert!(
        config(&[
            ("CACHEPANEL_JWT_SECRET", "secret"),
            ("CACHEPANEL_DEV_MODE", "true")
        ])
        .is_ok()
    );
}

#[test]
fn the_secret_can_come_from_a_file_but_not_from_both() {
    let path = std::env::temp_dir().join(format!("cachepanel-secret-{}", std::process::id()));
    std::fs::write(&path, "file-secret-0123456789abcdef\n").unwrap();
    let path_text = path.to_string_lossy().into_owned();
    let from_file = config(&[("CACHEPANEL_JWT_SECRET_FILE", &path_text)]).unwrap();
    assert_eq!(
        from_file.auth.secret.expose(),
        "file-secret-0123456789abcdef"
    );
    assert!(
        !format!("{from_file:?}").contains("file-secret"),
        "Debug hides the secret"
    );
    let both = config(&[
        ("CACHEPANEL_JWT_SECRET_FILE", &path_text),
        ("CACHEPANEL_JWT_SECRET", TEST_SECRET),
    ]);
    assert!(both.is_err());
    let _ = std::fs::remove_file(path);
    let missing = config(&[("CACHEPANEL_JWT_SECRET_FILE", "/nonexistent/secret")]).unwrap_err();
    assert_eq!(missing.variable, "CACHEPANEL_JWT_SECRET_FILE");
}

#[test]
fn several_targets_are_named_and_only_caches_may_be_flushed() {
    let config = config(&[
        (
            "CACHEPANEL_TARGETS",
            "bot-fsm=redis://:pw@10.0.0.5:6379/1; celery=redis://10.0.0.6/2",
        ),
        ("CACHEPANEL_CACHE_TARGETS", "cache"),
    ])
    .unwrap();
    assert_eq!(config.redis.target_name, "cache");
    let names: Vec<&str> = config
        .redis
        .extra_targets
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    assert_eq!(names, ["bot-fsm", "celery"]);
    assert!(config.redis.is_cache_target("cache") && !config.redis.is_cache_target("celery"));
    let error = config_error("CACHEPANEL_TARGETS", "a=redis://:hunter2@h/0;a=redis://h/1");
    assert!(error.contains("twice") && !error.contains("hunter2"));
    assert!(config_error("CACHEPANEL_TARGETS", "bad name=redis://h/0").contains("target name"));
    assert!(config_error("CACHEPANEL_CACHE_TARGETS", "nope").contains("not a configured target"));
}

#[test]
fn a_toml_file_fills_in_and_the_environment_wins() {
    let file = parse_file(
        "redis_url = \"redis://file-host:6379/0\"\nsample_interval_ms = 500\nread_only = true\nroles = [\"superadmin\", \"owner\"]\n",
    )
    .unwrap();
    let environment = [
        ("CACHEPANEL_REDIS_URL", "redis://env-host:6379/0"),
        ("CACHEPANEL_JWT_SECRET", TEST_SECRET),
    ];
    let config = Config::from_env(&Env::new(move |name| {
        environment
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| (*value).to_owned())
            .or_else(|| file.get(name))
    }))
    .unwrap();
    assert_eq!(
        config.redis.url.map(|url| url.to_string()).as_deref(),
        Some("redis://env-host:6379/0"),
        "the environment wins"
    );
    assert_eq!(config.live.interval, Duration::from_millis(500));
    assert_eq!(config.flush.policy, FlushPolicy::ReadOnly);
    assert_eq!(config.auth.full_access_roles, ["superadmin", "owner"]);
}

#[test]
fn a_toml_file_with_an_unknown_setting_or_bad_syntax_is_refused_without_echoing_it() {
    assert!(
        parse_file("redis_ulr = \"x\"")
            .unwrap_err()
            .contains("redis_ulr")
    );
    let error = parse_file("jwt_secret = \"s3cr3t-value").unwrap_err();
    assert!(!error.contains("s3cr3t"), "{error}");
    assert!(
        parse_file("config = \"/etc/x.toml\"")
            .unwrap_err()
            .contains("cannot be set")
    );
}

#[test]
fn the_effective_settings_redact_every_secret_and_name_their_source() {
    let environment = [
        ("CACHEPANEL_REDIS_URL", "redis://:hunter2pass@h:6379/0"),
        ("CACHEPANEL_METRICS_TOKEN", "metrics-token-0123456789"),
        ("CACHEPANEL_JWT_SECRET", TEST_SECRET),
        ("CACHEPANEL_REDIS_SENTINEL_PASSWORD", "sentinel-pw-0123"),
    ];
    let file = parse_file(
        "targets = \"celery=redis://user:celerypw@c:6379/2;bot=redis://botpw@b/1\"\nsample_interval_ms = 500",
    )
    .unwrap();
    let effective = registry::effective(
        |name| {
            environment
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        },
        &file,
    );
    assert_eq!(
        effective.len(),
        registry::VARIABLES.len(),
        "every variable is shown"
    );
    let text = format!("{effective:?}");
    for secret in [
        "hunter2pass",
        TEST_SECRET,
        "metrics-token-0123456789",
        "sentinel-pw-0123",
        "celerypw",
        "botpw",
    ] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    let line = |name: &str| effective.iter().find(|line| line.name == name).unwrap();
    assert_eq!(line("CACHEPANEL_REDIS_URL").value, "redis://:***@h:6379/0");
    assert_eq!(line("CACHEPANEL_REDIS_URL").source, "environment");
    assert_eq!(
        line("CACHEPANEL_TARGETS").value,
        "celery=redis://user:***@c:6379/2;bot=redis://***@b/1"
    );
    assert_eq!(line("CACHEPANEL_SAMPLE_INTERVAL_MS").value, "500");
    assert_eq!(line("CACHEPANEL_SAMPLE_INTERVAL_MS").source, "file");
    assert_eq!(line("CACHEPANEL_ADDR").value, "127.0.0.1:3000");
    assert_eq!(line("CACHEPANEL_ADDR").source, "default");
}

#[test]
fn every_variable_read_is_registered_and_every_registered_one_is_read() {
    // One full read (Sentinel named, so its dependent settings are read too) plus the log
    // settings; `--config` is read by the command line parser.
    let env = Env::pairs(&[
        ("CACHEPANEL_JWT_SECRET", TEST_SECRET),
        ("CACHEPANEL_REDIS_SENTINELS", "127.0.0.1:26379"),
    ]);
    Config::from_env(&env).unwrap();
    LogSettings::from_env(&env, None).unwrap();
    let mut read = env.asked();
    read.insert("CACHEPANEL_CONFIG");
    let registered: std::collections::BTreeSet<&str> = registry::VARIABLES
        .iter()
        .map(|variable| variable.name)
        .collect();
    assert_eq!(read, registered);
}

#[test]
fn log_settings_come_from_the_environment_or_the_file_and_the_flag_wins() {
    let file = parse_file("log = \"debug\"\nlog_format = \"json\"").unwrap();
    let from_file = LogSettings::from_env(&Env::new(move |name| file.get(name)), None).unwrap();
    assert_eq!(from_file.filter, "debug");
    assert_eq!(from_file.format, LogFormat::Json);
    let flag = LogSettings::from_env(
        &Env::pairs(&[("CACHEPANEL_LOG_FORMAT", "json")]),
        Some(LogFormat::Human),
    )
    .unwrap();
    assert_eq!(flag.format, LogFormat::Human);
    let bad = LogSettings::from_env(&Env::pairs(&[("CACHEPANEL_LOG_FORMAT", "xml")]), None);
    assert_eq!(bad.unwrap_err().variable, "CACHEPANEL_LOG_FORMAT");
    let bad = LogSettings::from_env(&Env::pairs(&[("CACHEPANEL_LOG", "info,=[")]), None);
    assert_eq!(bad.unwrap_err().variable, "CACHEPANEL_LOG");
}

#[test]
fn dev_mode_refuses_a_public_address() {
    let error = config(&[
        ("CACHEPANEL_DEV_MODE", "true"),
        ("CACHEPANEL_ADDR", "0.0.0.0:3000"),
    ])
    .unwrap_err();
    assert_eq!(error.variable, "CACHEPANEL_DEV_MODE");
}

#[test]
fn roles_origins_and_framing_are_configurable_and_validated() {
    let config = config(&[
        ("CACHEPANEL_ROLES", "superadmin, owner"),
        ("CACHEPANEL_VIEW_ROLES", "moderator"),
        (
            "CACHEPANEL_ALLOWED_ORIGINS",
            "https://admin.example, http://127.0.0.1:8000",
        ),
        (
            "CACHEPANEL_FRAME_ANCESTORS",
            "'self'   https://admin.example",
        ),
        ("CACHEPANEL_ADMIN_ORIGIN", "https://admin.example"),
    ])
    .unwrap();
    assert_eq!(config.auth.full_access_roles, ["superadmin", "owner"]);
    assert_eq!(config.auth.view_only_roles, ["moderator"]);
    assert_eq!(
        config.web.allowed_origins,
        ["https://admin.example", "http://127.0.0.1:8000"]
    );
    assert_eq!(config.web.frame_ancestors, "'self' https://admin.example");
    assert_eq!(
        config.web.admin_origin.as_deref(),
        Some("https://admin.example")
    );
    assert!(
        config_error("CACHEPANEL_ALLOWED_ORIGINS", "https://a.example/path").contains("origin")
    );
    assert!(config_error("CACHEPANEL_FRAME_ANCESTORS", "'self'; script-src *").contains("CSP"));
    assert!(config_error("CACHEPANEL_ADMIN_ORIGIN", "*").contains("ADMIN_ORIGIN"));
}

#[test]
fn defaults_need_no_variables() {
    let config = config(&[]).unwrap();
    assert_eq!(config.redis.url, None);
    assert_eq!(config.addr.to_string(), "127.0.0.1:3000");
    assert_eq!(config.base_path, "/admin/cache");
    assert_eq!(config.redis.response_timeout, Duration::from_secs(1));
}

#[test]
fn errors_name_the_variable() {
    let error = config(&[("CACHEPANEL_ADDR", "nope")]).err();
    assert_eq!(error.map(|e| e.variable), Some("CACHEPANEL_ADDR"));
    let error = config(&[("CACHEPANEL_REDIS_URL", "http://x")]).err();
    assert_eq!(error.map(|e| e.variable), Some("CACHEPANEL_REDIS_URL"));
}

#[test]
fn the_redis_password_is_never_displayed() {
    let url = RedisUrl::parse("redis://:s3cret-pass@127.0.0.1:6379/0").unwrap();
    assert!(url.has_password());
    assert!(!url.to_string().contains("s3cret-pass"));
    assert!(!format!("{url:?}").contains("s3cret-pass"));
    assert!(url.expose().contains("s3cret-pass"));
}

#[test]
fn a_bad_url_error_does_not_echo_the_password() {
    let error = config(&[("CACHEPANEL_REDIS_URL", "redis://:s3cret@")]).err();
    let shown = error.map(|e| e.to_string()).unwrap_or_default();
    assert!(shown.starts_with("CACHEPANEL_REDIS_URL"));
    assert!(!shown.contains("s3cret"));
}

#[test]
fn rediss_urls_and_databases_are_accepted() {
    assert!(RedisUrl::parse("rediss://user:pw@redis.internal:6380/2").is_ok());
    assert!(RedisUrl::parse("redis://localhost/abc").is_err());
}

#[test]
fn thresholds_and_the_expected_profile_are_configurable() {
    let config = config(&[
        ("CACHEPANEL_TARGET_HIT_RATE", "85"),
        ("CACHEPANEL_EXPECT_MAXMEMORY", "1gb"),
        ("CACHEPANEL_EXPECT_AOF", "false"),
        ("CACHEPANEL_SAMPLE_INTERVAL_MS", "500"),
    ])
    .unwrap();
    assert_eq!(config.live.thresholds.target_hit_rate_percent, 85.0);
    assert_eq!(config.live.expected.maxmemory_bytes, 1 << 30);
    assert!(!config.live.expected.appendonly);
    assert_eq!(config.live.interval, Duration::from_millis(500));
    let error = Config::from_env(&Env::pairs(&[("CACHEPANEL_MEMORY_WARNING_PERCENT", "99")])).err();
    assert_eq!(
        error.map(|e| e.variable),
        Some("CACHEPANEL_MEMORY_WARNING_PERCENT")
    );
}

#[test]
fn prefix_groups_can_be_configured() {
    let config = config(&[(
        "CACHEPANEL_PREFIX_GROUPS",
        "user:=Пользователи|Users|cache; pin:=PIN|PIN|state",
    )])
    .unwrap();
    assert_eq!(config.census.groups.len(), 3);
    assert_eq!(config.census.groups[1].kind, GroupKind::State);
    // cachepanel's own keys are always a state group, under the configured namespace.
    assert_eq!(config.census.groups[2].prefix, "cachepanel:");
    assert_eq!(config.census.groups[2].kind, GroupKind::State);
    let renamed = self::config(&[("CACHEPANEL_STATE_NAMESPACE", "panel")]).unwrap();
    assert!(
        renamed
            .census
            .groups
            .iter()
            .any(|g| g.prefix == "panel:" && g.kind == GroupKind::State)
    );
    assert!(config_error("CACHEPANEL_STATE_NAMESPACE", "a:b").contains("namespace"));
    let error = config_error("CACHEPANEL_PREFIX_GROUPS", "us*er:=a|b|cache");
    assert!(error.contains("glob"), "{error}");
    assert!(config_error("CACHEPANEL_PREFIX_GROUPS", "user:=a|b|other").contains("cache or state"));
}

fn config_error(name: &str, value: &str) -> String {
    config(&[(name, value)])
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default()
}

#[test]
fn rate_limits_are_configurable_per_role() {
    let config = config(&[("CACHEPANEL_RATE_LIMITS", "owner=10, guest=3")]).unwrap();
    assert_eq!(
        (
            config.rate_limit.limits.owner,
            config.rate_limit.limits.guest,
            config.rate_limit.limits.manager
        ),
        (10, 3, 150)
    );
    assert!(config_error("CACHEPANEL_RATE_LIMITS", "root=1").contains("unknown role"));
}

#[test]
fn base_path_is_normalised_and_validated() {
    assert_eq!(
        parse_base_path(Some("/tools/cachepanel/")),
        Ok("/tools/cachepanel".into())
    );
    assert_eq!(parse_base_path(Some("/")), Ok(String::new()));
    assert_eq!(parse_base_path(Some("")), Ok(String::new()));
    assert_eq!(parse_base_path(None), Ok("/admin/cache".into()));
    assert!(parse_base_path(Some("tools")).is_err());
    assert!(parse_base_path(Some("/a/../b")).is_err());
    assert!(parse_base_path(Some("/a b")).is_err());
}
