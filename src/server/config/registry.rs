//! Every variable cachepanel reads, in one table: name, default, what it means, where it may be
//! set and whether it is a secret. README's configuration table, `.env.example` and
//! `cachepanel check`'s effective settings are all rendered from it, and a test holds it
//! against the variables the code actually reads.

use crate::server::env::FileSettings;

/// How `cachepanel check` may show a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shown {
    Plain,
    /// Never shown: `***` when set.
    Secret,
    /// Shown with the password of every URL in it replaced by `***`.
    Urls,
}

/// The `.env.example` section a variable is listed under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    Redis,
    Server,
    Live,
    Census,
    Flush,
    RateLimit,
    Security,
    Alerts,
}

impl Section {
    const ALL: [Section; 8] = [
        Section::Redis,
        Section::Server,
        Section::Live,
        Section::Census,
        Section::Flush,
        Section::RateLimit,
        Section::Security,
        Section::Alerts,
    ];

    fn title(self) -> &'static str {
        match self {
            Section::Redis => "Redis: what to watch and how to reach it",
            Section::Server => "The process: address, paths, logs",
            Section::Live => "Live statistics and the expected production profile",
            Section::Census => "Census: keys by prefix",
            Section::Flush => "Flush and audit",
            Section::RateLimit => "Rate limits",
            Section::Security => "Sign-in, roles and embedding",
            Section::Alerts => "Alerts: rules, Telegram and the webhook",
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Variable {
    pub name: &'static str,
    /// The value used when unset, as `.env.example` writes it ("" = none).
    pub default: &'static str,
    /// README's default column when the default is no literal value ("the first target").
    pub note: &'static str,
    /// A value `.env.example` shows when there is no default.
    pub example: &'static str,
    /// README's meaning column (Markdown).
    pub about: &'static str,
    pub section: Section,
    pub shown: Shown,
    /// Whether a TOML settings file may set it (the file cannot name itself, and only
    /// `CACHEPANEL_*` names map to file keys).
    pub in_file: bool,
}

impl Variable {
    /// The file key: the name without `CACHEPANEL_`, in lower case.
    pub fn file_key(&self) -> Option<String> {
        self.in_file
            .then(|| self.name.strip_prefix("CACHEPANEL_"))
            .flatten()
            .map(str::to_ascii_lowercase)
    }
}

pub fn find(name: &str) -> Option<&'static Variable> {
    VARIABLES.iter().find(|variable| variable.name == name)
}

/// README's configuration table, header included.
pub fn readme_table() -> String {
    let mut table = String::from("| variable | default | meaning |\n|---|---|---|\n");
    for variable in VARIABLES {
        let default = if variable.note.is_empty() {
            format!("`{}`", variable.default)
        } else {
            variable.note.to_owned()
        };
        table.push_str(&format!(
            "| `{}` | {default} | {} |\n",
            variable.name, variable.about
        ));
    }
    table
}

/// `.env.example`: every variable, commented out, with its default (or an example).
pub fn env_example() -> String {
    let mut text = String::from(
        "# cachepanel configuration (environment variables), generated from the settings \
         registry\n# (src/server/config/registry.rs). Every variable but the JWT secret is \
         optional; the\n# defaults are shown. A TOML file (--config) takes the same names \
         without CACHEPANEL_, in lower case.\n",
    );
    for section in Section::ALL {
        text.push_str(&format!("\n# ---- {} ----\n", section.title()));
        for variable in VARIABLES.iter().filter(|v| v.section == section) {
            text.push('\n');
            for line in wrap(&plain(variable.about), 94) {
                text.push_str(&format!("# {line}\n"));
            }
            let value = if variable.default.is_empty() {
                variable.example
            } else {
                variable.default
            };
            text.push_str(&format!("# {}={value}\n", variable.name));
        }
    }
    text.push_str(
        "\n# docker-compose.example.yml reads these two from .env:\n# REDIS_PASSWORD=\n\
         # CACHEPANEL_JWT_SECRET=\n",
    );
    text
}

/// One line of `cachepanel check`'s effective settings.
#[derive(Debug, PartialEq, Eq)]
pub struct Effective {
    pub name: &'static str,
    pub value: String,
    /// `environment`, `file` or `default`.
    pub source: &'static str,
}

/// Every variable as it takes effect: its value (redacted as the registry says) and where it
/// came from. `environment` is the process environment's lookup.
pub fn effective(
    environment: impl Fn(&str) -> Option<String>,
    file: &FileSettings,
) -> Vec<Effective> {
    let set = |value: Option<String>| value.filter(|value| !value.trim().is_empty());
    VARIABLES
        .iter()
        .map(|variable| {
            let (value, source) = match (
                set(environment(variable.name)),
                set(file.get(variable.name)).filter(|_| variable.in_file),
            ) {
                (Some(value), _) => (Some(value), "environment"),
                (None, Some(value)) => (Some(value), "file"),
                (None, None) => (None, "default"),
            };
            let value = match (value, variable.shown) {
                (Some(_), Shown::Secret) => "***".to_owned(),
                (Some(value), Shown::Urls) => redact_urls(value.trim()),
                (Some(value), Shown::Plain) => value.trim().to_owned(),
                (None, _) if !variable.note.is_empty() => format!("({})", plain(variable.note)),
                (None, _) => variable.default.to_owned(),
            };
            Effective {
                name: variable.name,
                value,
                source,
            }
        })
        .collect()
}

/// Replaces the password (or, without a `user:` part, the whole user info) of every
/// `scheme://…@host` in `text` with `***`.
pub fn redact_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("://") {
        let (head, tail) = rest.split_at(start + 3);
        out.push_str(head);
        let authority_end = tail.find(['/', ';', ',', ' ']).unwrap_or(tail.len());
        let authority = &tail[..authority_end];
        match authority.rfind('@') {
            Some(at) => {
                let user_info = &authority[..at];
                match user_info.split_once(':') {
                    Some((user, _)) => out.push_str(&format!("{user}:***")),
                    None => out.push_str("***"),
                }
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[authority_end..];
    }
    out.push_str(rest);
    out
}

/// Markdown to plain text for comments: code marks and bold dropped.
fn plain(markdown: &str) -> String {
    markdown.replace(['`'], "").replace("**", "")
}

fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    lines.push(line);
    lines
}

pub const VARIABLES: &[Variable] = &[
    Variable {
        name: "CACHEPANEL_REDIS_URL",
        default: "",
        note: "unset: embedded demo Redis",
        example: "redis://:your-password@127.0.0.1:6379/0",
        about: "`redis://[user][:password]@host:port/db` or `rediss://…` (TLS). The password is never logged or shown.",
        section: Section::Redis,
        shown: Shown::Urls,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_TARGET_NAME",
        default: "cache",
        note: "",
        example: "",
        about: "name of the first target (letters, digits, `-`, `_`)",
        section: Section::Redis,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_STATE_NAMESPACE",
        default: "cachepanel",
        note: "",
        example: "",
        about: "first segment of every key cachepanel writes about a target (`cachepanel:{target}:history`, `…:flush:lease`, previews); a `state` group the flush never touches",
        section: Section::Redis,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_REPLICA_ID",
        default: "",
        note: "unset: host name and process id",
        example: "panel-a",
        about: "this replica's name: a second start on any replica answers 409 naming the one running the job",
        section: Section::Server,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_LEASE_TTL_MS",
        default: "15000",
        note: "",
        example: "",
        about: "a census or flush holds a lease in Redis (`…:{job}:lease`) renewed every second; a crashed replica's lease frees after this long",
        section: Section::Server,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_TARGETS",
        default: "",
        note: "unset",
        example: "bot-fsm=redis://127.0.0.1:6379/1;celery=redis://127.0.0.1:6379/2",
        about: "further Redis servers to watch: `name=redis://…;name2=redis://…`",
        section: Section::Redis,
        shown: Shown::Urls,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_CACHE_TARGETS",
        default: "",
        note: "the first target",
        example: "",
        about: "comma-separated names of targets that are caches (flush allowed)",
        section: Section::Redis,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_REDIS_CLUSTER",
        default: "",
        note: "unset",
        example: "10.0.0.1:7000,10.0.0.2:7000",
        about: "`host:port,…` seed nodes: the first target is a Redis Cluster (`CACHEPANEL_REDIS_URL` then only supplies password and TLS)",
        section: Section::Redis,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_REDIS_SENTINELS",
        default: "",
        note: "unset",
        example: "10.0.0.1:26379,10.0.0.2:26379,10.0.0.3:26379",
        about: "`host:port,host:port,…` of the sentinels: the master is found through them and followed across failovers. `CACHEPANEL_REDIS_URL` then only supplies password, database and TLS (its host is ignored)",
        section: Section::Redis,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_REDIS_SENTINEL_MASTER",
        default: "mymaster",
        note: "",
        example: "",
        about: "the master name the sentinels monitor",
        section: Section::Redis,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_REDIS_SENTINEL_PASSWORD",
        default: "",
        note: "unset",
        example: "",
        about: "`requirepass` of the sentinels themselves, if any",
        section: Section::Redis,
        shown: Shown::Secret,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_REDIS_CONNECT_TIMEOUT_MS",
        default: "1000",
        note: "",
        example: "",
        about: "connect timeout of every Redis call",
        section: Section::Redis,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_REDIS_RESPONSE_TIMEOUT_MS",
        default: "1000",
        note: "",
        example: "",
        about: "response timeout of every Redis call",
        section: Section::Redis,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_ADDR",
        default: "127.0.0.1:3000",
        note: "",
        example: "",
        about: "address to listen on",
        section: Section::Server,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_BASE_PATH",
        default: "/admin/cache",
        note: "",
        example: "",
        about: "the prefix every path lives under (page `{prefix}/stats`, API `{prefix}/api/…`, assets `{prefix}/pkg/…`, `{prefix}/healthz`); the same paths without it are served too, for a proxy that strips it; `/` puts everything at the root",
        section: Section::Server,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_SITE_ROOT",
        default: "target/site",
        note: "`target/site` (or `LEPTOS_SITE_ROOT`)",
        example: "",
        about: "directory with the built client (`pkg/`)",
        section: Section::Server,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "LEPTOS_SITE_ROOT",
        default: "",
        note: "unset",
        example: "",
        about: "cargo-leptos' name for the same directory; used when `CACHEPANEL_SITE_ROOT` is unset",
        section: Section::Server,
        shown: Shown::Plain,
        in_file: false,
    },
    Variable {
        name: "CACHEPANEL_DEMO_TRAFFIC",
        default: "true",
        note: "",
        example: "",
        about: "demo workload on the embedded Redis (ignored with a configured Redis)",
        section: Section::Server,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_DEV_MODE",
        default: "false",
        note: "",
        example: "",
        about: "local trials only (refused on a non-loopback address): without a JWT secret, sign tokens with a throwaway one and serve a one-click login at `/admin/cache/auth/dev-login`; weak secrets accepted",
        section: Section::Server,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_METRICS_TOKEN",
        default: "",
        note: "unset",
        example: "",
        about: "bearer token for `/metrics` (≥ 16 characters); unset: `/metrics` needs the admin session like the API",
        section: Section::Server,
        shown: Shown::Secret,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_LOG_FORMAT",
        default: "human",
        note: "",
        example: "",
        about: "`json`: one JSON object per log line (also `--log-format json`)",
        section: Section::Server,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_CONFIG",
        default: "",
        note: "unset",
        example: "/etc/cachepanel/cachepanel.toml",
        about: "a TOML settings file (also `--config FILE`); the environment overrides it",
        section: Section::Server,
        shown: Shown::Plain,
        in_file: false,
    },
    Variable {
        name: "CACHEPANEL_LOG",
        default: "info,tower_http=info",
        note: "",
        example: "",
        about: "log filter ([EnvFilter](https://docs.rs/tracing-subscriber/latest/tracing_subscriber/filter/struct.EnvFilter.html) syntax)",
        section: Section::Server,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_SAMPLE_INTERVAL_MS",
        default: "2000",
        note: "",
        example: "",
        about: "how often the sampler reads `INFO` (100..60000)",
        section: Section::Live,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_CLIENTS_INTERVAL_MS",
        default: "10000",
        note: "",
        example: "",
        about: "how often `CLIENT LIST` (and `LATENCY LATEST` while Redis' latency monitor is on) is read; 0 = never",
        section: Section::Live,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_CLIENT_BUFFER_WARNING",
        default: "32mb",
        note: "",
        example: "",
        about: "a connection's output buffer from which the clients panel warns",
        section: Section::Live,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_KEEP_HISTORY",
        default: "true",
        note: "",
        example: "",
        about: "keep the charts' minute rollups (24 h) in Redis under `cachepanel:{target}:history`, so a restart shows the same charts",
        section: Section::Live,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_TARGET_HIT_RATE",
        default: "70",
        note: "",
        example: "",
        about: "windowed hit rate (percent) below which the hit-rate badge warns",
        section: Section::Live,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_MEMORY_WARNING_PERCENT",
        default: "80",
        note: "",
        example: "",
        about: "memory badge: warning at this share of maxmemory (of host memory when unlimited)",
        section: Section::Live,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_MEMORY_CRITICAL_PERCENT",
        default: "95",
        note: "",
        example: "",
        about: "memory badge: critical",
        section: Section::Live,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_EXPECT_MAXMEMORY",
        default: "512mb",
        note: "",
        example: "",
        about: "expected profile: maxmemory (`512mb`, `1gb`, bytes)",
        section: Section::Live,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_EXPECT_POLICY",
        default: "allkeys-lru",
        note: "",
        example: "",
        about: "expected profile: maxmemory-policy",
        section: Section::Live,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_EXPECT_RDB",
        default: "true",
        note: "",
        example: "",
        about: "expected profile: RDB `save` rules present",
        section: Section::Live,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_EXPECT_AOF",
        default: "true",
        note: "",
        example: "",
        about: "expected profile: `appendonly yes`",
        section: Section::Live,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_EXPECT_PASSWORD",
        default: "true",
        note: "",
        example: "",
        about: "expected profile: a password is required",
        section: Section::Live,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_PREFIX_GROUPS",
        default: "",
        note: "the production prefixes",
        example: "user:=Пользователи|Users|cache;pin:=PIN-коды|PINs|state",
        about: "replaces the prefix groups: `prefix=Имя|Name|cache;prefix2=…|…|state` (kind `cache` = owned by the cache, `state` = never flushed); no glob characters",
        section: Section::Census,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_CENSUS_EVERY_SECONDS",
        default: "600",
        note: "",
        example: "",
        about: "re-run the census this often (also once at start); `0` = only on demand",
        section: Section::Census,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_CENSUS_SAMPLE_EVERY",
        default: "100",
        note: "",
        example: "",
        about: "inspect (TYPE, PTTL, MEMORY USAGE, OBJECT) 1 key in N; `1` = every key (\"full TTL\" mode: exact TTL figures)",
        section: Section::Census,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_CENSUS_DUTY_CYCLE",
        default: "0.95",
        note: "",
        example: "",
        about: "share of wall time the census may keep Redis busy (0 < d ≤ 1)",
        section: Section::Census,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_CENSUS_MAX_AUTO_GROUPS",
        default: "20",
        note: "",
        example: "",
        about: "automatic groups for unknown prefixes; the rest go to \"other\"",
        section: Section::Census,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_READ_ONLY",
        default: "false",
        note: "",
        example: "",
        about: "hide and refuse flushing and counter resets for everyone (server-side)",
        section: Section::Flush,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_FLUSH_DUTY_CYCLE",
        default: "0.9",
        note: "",
        example: "",
        about: "share of wall time a flush may keep Redis busy (0 < d ≤ 1)",
        section: Section::Flush,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_AUDIT_STREAM",
        default: "cachepanel:audit",
        note: "",
        example: "",
        about: "Redis stream of audit entries",
        section: Section::Flush,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_AUDIT_MAXLEN",
        default: "10000",
        note: "",
        example: "",
        about: "approximate cap of the audit stream",
        section: Section::Flush,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_RATE_LIMITS",
        default: "owner=200,manager=150,employee=100,moderator=200,superadmin=300,guest=50",
        note: "",
        example: "",
        about: "requests per minute per role (name only the roles to change)",
        section: Section::RateLimit,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_RATE_LIMIT_ENABLED",
        default: "true",
        note: "",
        example: "",
        about: "rate-limit cachepanel's own pages, server functions and API per signed-in user at their role's limit",
        section: Section::RateLimit,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_RATE_LIMIT_FAIL_OPEN",
        default: "true",
        note: "",
        example: "",
        about: "let requests through when the limiter cannot reach Redis",
        section: Section::RateLimit,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_RATE_LIMIT_SCAN_SECONDS",
        default: "15",
        note: "",
        example: "",
        about: "how often the one shared reader walks `rate_limit:*` for the counters view (1–3600); pages, the API and `/metrics` only read its latest view",
        section: Section::RateLimit,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_ROLE_LOOKUP",
        default: "user:{id}#role",
        note: "",
        example: "",
        about: "where the counters view finds a user's role: key template with `{id}`, `#`, JSON field (dotted path allowed, e.g. `profile:{id}#account.role`); `unknown` when absent",
        section: Section::RateLimit,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_JWT_SECRET",
        default: "",
        note: "**required** (except dev mode)",
        example: "",
        about: "the admin's SECRET_KEY, which signs its `access_token` JWTs (HS256). Empty, placeholder-looking (`secret`, `changeme`, …) or shorter than 16 bytes is refused at start outside dev mode",
        section: Section::Security,
        shown: Shown::Secret,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_JWT_SECRET_FILE",
        default: "",
        note: "unset",
        example: "/run/secrets/admin_secret_key",
        about: "read the secret from this file instead (e.g. a Docker/Kubernetes secret); not both",
        section: Section::Security,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_JWT_LEEWAY_SECONDS",
        default: "30",
        note: "",
        example: "",
        about: "clock skew tolerated on `exp`, `nbf` and `iat` (0..300)",
        section: Section::Security,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_ROLES",
        default: "superadmin",
        note: "",
        example: "",
        about: "roles (the JWT `role` claim) with full access, comma-separated",
        section: Section::Security,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_VIEW_ROLES",
        default: "",
        note: "empty",
        example: "",
        about: "roles that may view but never act (only GET/HEAD requests pass; flush, reset and census are refused)",
        section: Section::Security,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_LOGIN_URL",
        default: "/auth/login",
        note: "`/auth/login` (dev login in dev mode)",
        example: "",
        about: "where unauthenticated page requests are sent, with `?next=<the page>`; a path or an http(s) URL",
        section: Section::Security,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_ALLOWED_ORIGINS",
        default: "",
        note: "empty",
        example: "https://admin.example",
        about: "other origins (`https://admin.example`) whose mutating requests are accepted; a request whose `Origin` is the origin it was sent to (or carrying `Sec-Fetch-Site: same-origin`) needs no entry",
        section: Section::Security,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_TRUST_FORWARDED",
        default: "false",
        note: "",
        example: "",
        about: "behind a reverse proxy: take the origin a request was sent to from `X-Forwarded-Proto`/`X-Forwarded-Host` (or `Forwarded`) instead of `Host` over plain HTTP; only when the proxy sets them",
        section: Section::Security,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_FRAME_ANCESTORS",
        default: "'self'",
        note: "",
        example: "",
        about: "CSP `frame-ancestors` sources: who may embed cachepanel in a frame, e.g. `'self' https://admin.example`",
        section: Section::Security,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_ADMIN_ORIGIN",
        default: "",
        note: "unset: own origin",
        example: "https://admin.example",
        about: "the origin embedded pages post their height to (the admin's); never `*`",
        section: Section::Security,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_EMBED",
        default: "false",
        note: "",
        example: "",
        about: "render the compact embed layout by default (otherwise with `?embed=1`)",
        section: Section::Security,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_ALERT_HIT_RATE",
        default: "",
        note: "`threshold=70 resolve=75 for=15m hold=5m window=5m min_rate=1`",
        example: "",
        about: "the hit rate over the last `window` stays below `threshold` % for `for` (judged only with at least `min_rate` lookups/s); resolves at `resolve` % held for `hold`. `off` switches the rule off; `key=value` pairs (`threshold`, `resolve`, `for`, `hold` and where listed `window`, `min_rate`; durations as `90s`, `15m`, `2h`) change only what they name",
        section: Section::Alerts,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_ALERT_MEMORY_HIGH",
        default: "",
        note: "`threshold=80 resolve=75 for=1m hold=5m`",
        example: "",
        about: "used memory above `threshold` % of maxmemory (of the host's memory without a limit). `off` switches the rule off; `key=value` pairs (`threshold`, `resolve`, `for`, `hold` and where listed `window`, `min_rate`; durations as `90s`, `15m`, `2h`) change only what they name",
        section: Section::Alerts,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_ALERT_MEMORY_CRITICAL",
        default: "",
        note: "`threshold=95 resolve=90 for=0 hold=5m`",
        example: "",
        about: "used memory above `threshold` % of maxmemory: raise maxmemory or shed keys now. `off` switches the rule off; `key=value` pairs (`threshold`, `resolve`, `for`, `hold` and where listed `window`, `min_rate`; durations as `90s`, `15m`, `2h`) change only what they name",
        section: Section::Alerts,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_ALERT_EVICTIONS",
        default: "",
        note: "`threshold=10 resolve=5 for=5m hold=5m`",
        example: "",
        about: "evictions above `threshold` keys/s for `for`. `off` switches the rule off; `key=value` pairs (`threshold`, `resolve`, `for`, `hold` and where listed `window`, `min_rate`; durations as `90s`, `15m`, `2h`) change only what they name",
        section: Section::Alerts,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_ALERT_REDIS_DOWN",
        default: "",
        note: "`threshold=30 resolve=1`",
        example: "",
        about: "Redis has not answered for more than `threshold` seconds; resolves when it answers. `off` switches the rule off; `key=value` pairs (`threshold`, `resolve`, `for`, `hold` and where listed `window`, `min_rate`; durations as `90s`, `15m`, `2h`) change only what they name",
        section: Section::Alerts,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_ALERT_FAILOVER",
        default: "",
        note: "`window=10m`",
        example: "",
        about: "Sentinel moved the master; fires once and resolves `window` later. `off` switches the rule off; `key=value` pairs (`threshold`, `resolve`, `for`, `hold` and where listed `window`, `min_rate`; durations as `90s`, `15m`, `2h`) change only what they name",
        section: Section::Alerts,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_ALERT_RATE_LIMITED",
        default: "",
        note: "`threshold=100 resolve=50 for=0 hold=2m`",
        example: "",
        about: "more than `threshold` 429 answers in the last minute for one role (from the limiter's rejection counters). `off` switches the rule off; `key=value` pairs (`threshold`, `resolve`, `for`, `hold` and where listed `window`, `min_rate`; durations as `90s`, `15m`, `2h`) change only what they name",
        section: Section::Alerts,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_ALERT_STUCK_COUNTERS",
        default: "",
        note: "`threshold=0.5 resolve=0.5 for=2m`",
        example: "",
        about: "rate-limit counters without a TTL (their owners stay locked out) for `for`. `off` switches the rule off; `key=value` pairs (`threshold`, `resolve`, `for`, `hold` and where listed `window`, `min_rate`; durations as `90s`, `15m`, `2h`) change only what they name",
        section: Section::Alerts,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_ALERT_SAVE_FAILED",
        default: "",
        note: "`on`",
        example: "",
        about: "the last RDB background save or AOF write failed. `off` switches the rule off; `key=value` pairs (`threshold`, `resolve`, `for`, `hold` and where listed `window`, `min_rate`; durations as `90s`, `15m`, `2h`) change only what they name",
        section: Section::Alerts,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_ALERT_MEMORY_FORECAST",
        default: "",
        note: "`threshold=6 resolve=12 for=10m hold=10m`",
        example: "",
        about: "the last hour's memory trend reaches maxmemory within `threshold` hours. `off` switches the rule off; `key=value` pairs (`threshold`, `resolve`, `for`, `hold` and where listed `window`, `min_rate`; durations as `90s`, `15m`, `2h`) change only what they name",
        section: Section::Alerts,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_ALERT_REPEAT_SECONDS",
        default: "14400",
        note: "",
        example: "",
        about: "a firing alert is told again this often (0: once)",
        section: Section::Alerts,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_ALERT_LANGUAGE",
        default: "ru",
        note: "",
        example: "",
        about: "the language of alert messages: `ru` or `en`",
        section: Section::Alerts,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_ALERT_PAGE_URL",
        default: "",
        note: "",
        example: "https://admin.example.com/admin/cache/stats",
        about: "the page's public address, linked from every message",
        section: Section::Alerts,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_TELEGRAM_BOT_TOKEN",
        default: "",
        note: "",
        example: "",
        about: "the Telegram bot's token (from @BotFather); set with `CACHEPANEL_TELEGRAM_CHAT_IDS` to send alerts to Telegram. Never logged or shown",
        section: Section::Alerts,
        shown: Shown::Secret,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_TELEGRAM_CHAT_IDS",
        default: "",
        note: "",
        example: "-1001234567890",
        about: "comma-separated chat ids (a group's id starts with `-100`) the bot sends alerts to",
        section: Section::Alerts,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_TELEGRAM_API_URL",
        default: "https://api.telegram.org",
        note: "",
        example: "",
        about: "the Bot API's base URL (a local Bot API server or a proxy)",
        section: Section::Alerts,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_ALERT_WEBHOOK_URL",
        default: "",
        note: "",
        example: "",
        about: "POST each alert transition as JSON to this URL",
        section: Section::Alerts,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_ALERT_WEBHOOK_SECRET",
        default: "",
        note: "",
        example: "",
        about: "signs webhook bodies: `X-Cachepanel-Signature: sha256=<hex HMAC-SHA256 of the body>`",
        section: Section::Alerts,
        shown: Shown::Secret,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_ALERT_DELIVERY_TIMEOUT_MS",
        default: "10000",
        note: "",
        example: "",
        about: "one delivery attempt waits at most this long (100–120000)",
        section: Section::Alerts,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_ALERT_DELIVERY_ATTEMPTS",
        default: "5",
        note: "",
        example: "",
        about: "attempts per message and channel (1–20)",
        section: Section::Alerts,
        shown: Shown::Plain,
        in_file: true,
    },
    Variable {
        name: "CACHEPANEL_ALERT_RETRY_MS",
        default: "1000",
        note: "",
        example: "",
        about: "the wait before the first retry; it doubles up to 60 s (Telegram's `retry_after` wins)",
        section: Section::Alerts,
        shown: Shown::Plain,
        in_file: true,
    },
];
