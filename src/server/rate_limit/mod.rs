//! The rate limiter and the counters view, on the production app's key schema.
//!
//! `Limiter::decide` is one atomic round trip (a Lua script held in a static): INCR, set the
//! 60 s expiry when the counter has none (so no crash can leave a counter without TTL, unlike
//! INCR followed by a separate EXPIRE), count a rejection per role per minute, and return the
//! count and TTL. On Redis errors it fails open by default. The counters view is read by one
//! shared background walk (`counters`), never by a request.

pub mod counters;
pub mod settings;

use std::sync::LazyLock;

use crate::model::rate_limit::{
    REJECTION_MINUTES, Role, RoleLimits, STATS_PREFIX, Subject, WINDOW_SECONDS,
};
use crate::server::clock::now_ms;
use crate::server::redis::{RedisFailure, RedisTarget};

/// KEYS[1] counter; ARGV[1] window s. Returns {count, ttl}. One key only, so it also runs on
/// a Redis Cluster (the rejection statistics live in another slot and are counted after).
static DECIDE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
        local count = redis.call('INCR', KEYS[1])
        local ttl = redis.call('TTL', KEYS[1])
        if ttl < 0 then
            redis.call('EXPIRE', KEYS[1], ARGV[1])
            ttl = tonumber(ARGV[1])
        end
        return {count, ttl}
        ",
    )
});

/// A decision waits at most this long for Redis, then fails open (or closed): a stalled
/// Redis must not stall every page.
const DECISION_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(250);

/// Rejection statistics are kept this long (a few days of per-minute counts).
const STATS_TTL_SECONDS: u64 = 3 * 86_400;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u64,
    pub count: u64,
    pub remaining: u64,
    /// Seconds until the window resets (the counter's real TTL).
    pub reset_seconds: u64,
    /// Redis could not be asked; the request was let through (fail open) or refused.
    pub degraded: bool,
}

#[derive(Clone)]
pub struct Limiter {
    redis: RedisTarget,
    limits: RoleLimits,
    fail_open: bool,
}

impl Limiter {
    pub fn new(redis: RedisTarget, limits: RoleLimits, fail_open: bool) -> Self {
        Self {
            redis,
            limits,
            fail_open,
        }
    }

    pub fn limits(&self) -> &RoleLimits {
        &self.limits
    }

    /// Counts one request of `subject` (of `role`) and decides whether it may pass.
    pub async fn decide(&self, subject: &Subject, role: Role) -> Decision {
        let limit = self.limits.of(role).unwrap_or(self.limits.guest);
        let stats_key = rejection_key(role, &chrono::Utc::now());
        let counter_key = subject.key();
        // The script's TTL is a keyspace lookup (a hit: INCR just made the key); recorded as
        // cachepanel's own so the dashboard's own traffic never shows as cache traffic.
        let gate = self.redis.own_lookups().gate().await;
        let reply: Result<(u64, i64), RedisFailure> = self
            .redis
            .run_within(DECISION_TIMEOUT, |mut connection| async move {
                DECIDE
                    .key(&counter_key)
                    .arg(WINDOW_SECONDS)
                    .invoke_async(&mut connection)
                    .await
            })
            .await;
        if reply.is_ok() {
            self.redis.own_lookups().record(1, 0);
        }
        drop(gate);
        if let Ok((count, _)) = reply
            && count > limit
        {
            // Statistics only: a lost increment costs a point on the 429 chart, nothing else.
            let counted = self
                .redis
                .run_within(DECISION_TIMEOUT, |mut connection| async move {
                    redis::pipe()
                        .cmd("INCR")
                        .arg(&stats_key)
                        .ignore()
                        .cmd("EXPIRE")
                        .arg(&stats_key)
                        .arg(STATS_TTL_SECONDS)
                        .ignore()
                        .exec_async(&mut connection)
                        .await
                })
                .await;
            if let Err(failure) = counted {
                tracing::debug!(reason = %failure, "counting a rejection failed");
            }
        }
        match reply {
            Ok((count, ttl)) => Decision {
                allowed: count <= limit,
                limit,
                count,
                remaining: limit.saturating_sub(count),
                reset_seconds: u64::try_from(ttl).unwrap_or(WINDOW_SECONDS),
                degraded: false,
            },
            Err(failure) => {
                tracing::warn!(target_name = self.redis.name(), reason = %failure, fail_open = self.fail_open, "rate limiter could not reach Redis");
                Decision {
                    allowed: self.fail_open,
                    limit,
                    count: 0,
                    remaining: limit,
                    reset_seconds: WINDOW_SECONDS,
                    degraded: true,
                }
            }
        }
    }
}

/// Middleware: one limiter decision per request to a page or the API, counted on the
/// caller's production counter (`rate_limit:user:{id}`, so cachepanel and the admin share one
/// budget per user). Over the limit: 429 with `Retry-After`; every answer carries
/// `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` with the counter's real TTL.
pub async fn limit_requests(
    axum::extract::State(limiter): axum::extract::State<Limiter>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;

    // Authentication runs first, so the caller is known: the production key of that user, at
    // the limit of their role. Without one (a route outside authentication) the client
    // address counts, as a guest.
    let (subject, role) = match request
        .extensions()
        .get::<crate::server::security::auth::Caller>()
    {
        Some(caller) => (
            Subject::User(caller.user_id.clone()),
            Role::parse(&caller.role).unwrap_or(Role::Unknown),
        ),
        None => {
            let peer = request
                .extensions()
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map_or_else(|| "unknown".to_owned(), |info| info.0.ip().to_string());
            (Subject::Ip(peer), Role::Guest)
        }
    };
    let decision = limiter.decide(&subject, role).await;
    let mut response = if decision.allowed {
        next.run(request).await
    } else {
        let error = crate::error::AppError::RateLimited {
            retry_after_seconds: decision.reset_seconds,
        };
        let mut response =
            (axum::http::StatusCode::TOO_MANY_REQUESTS, axum::Json(error)).into_response();
        insert_header(&mut response, "retry-after", decision.reset_seconds);
        response
    };
    insert_header(&mut response, "ratelimit-limit", decision.limit);
    insert_header(&mut response, "ratelimit-remaining", decision.remaining);
    insert_header(&mut response, "ratelimit-reset", decision.reset_seconds);
    response
}

fn insert_header(response: &mut axum::response::Response, name: &'static str, value: u64) {
    if let Ok(value) = axum::http::HeaderValue::from_str(&value.to_string()) {
        response
            .headers_mut()
            .insert(axum::http::HeaderName::from_static(name), value);
    }
}

/// The limiter's 429 counts of the last `REJECTION_MINUTES` minutes, per role.
pub(crate) fn recent_minutes() -> Vec<chrono::DateTime<chrono::Utc>> {
    let now = now_ms();
    (0..REJECTION_MINUTES)
        .rev()
        .filter_map(|ago| chrono::DateTime::from_timestamp_millis(now - ago * 60_000))
        .collect()
}

pub(crate) fn rejection_key(role: Role, minute: &chrono::DateTime<chrono::Utc>) -> String {
    format!(
        "{STATS_PREFIX}rejected:{}:{}",
        role.name(),
        minute.format("%Y%m%d%H%M")
    )
}

/// Where a user's role is found: the JSON `field` (a dotted path) of the value stored at
/// `key_template` with `{id}` replaced by the user id. The default reads the production app's
/// cached `user:{id}` objects; `CACHEPANEL_ROLE_LOOKUP=key_template#field` points elsewhere.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleLookup {
    pub key_template: String,
    pub field: String,
}

impl Default for RoleLookup {
    fn default() -> Self {
        Self {
            key_template: "user:{id}".into(),
            field: "role".into(),
        }
    }
}

impl RoleLookup {
    /// Parses `key_template#field`, e.g. `user:{id}#role` or `profile:{id}#account.role`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (key_template, field) = text
            .trim()
            .split_once('#')
            .ok_or_else(|| "expected key_template#field, e.g. user:{id}#role".to_owned())?;
        if key_template.matches("{id}").count() != 1 {
            return Err("the key template must contain {id} exactly once".into());
        }
        if field.is_empty() || field.split('.').any(str::is_empty) {
            return Err("the field must be a JSON field name or dotted path".into());
        }
        Ok(Self {
            key_template: key_template.into(),
            field: field.into(),
        })
    }

    pub fn key_for(&self, user_id: &str) -> String {
        self.key_template.replace("{id}", user_id)
    }

    /// The role in a cached JSON value, or `Unknown` (absent key, not JSON, no such field).
    pub fn role_in(&self, json: Option<String>) -> Role {
        let Some(value) =
            json.and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        else {
            return Role::Unknown;
        };
        self.field
            .split('.')
            .try_fold(&value, |value, name| value.get(name))
            .and_then(|role| role.as_str())
            .and_then(Role::parse)
            .unwrap_or(Role::Unknown)
    }
}

/// Deletes one counter (the audited "reset" action); true when it existed.
pub async fn reset_counter(redis: &RedisTarget, key: &str) -> Result<bool, RedisFailure> {
    let key = key.to_owned();
    let removed: u64 = redis
        .run(|mut connection| async move {
            redis::cmd("UNLINK")
                .arg(&key)
                .query_async(&mut connection)
                .await
        })
        .await?;
    Ok(removed > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_come_from_the_cached_user_json_by_default() {
        let lookup = RoleLookup::default();
        assert_eq!(lookup.key_for("7"), "user:7");
        assert_eq!(
            lookup.role_in(Some(r#"{"id":1,"role":"owner"}"#.into())),
            Role::Owner
        );
        assert_eq!(lookup.role_in(Some(r#"{"id":1}"#.into())), Role::Unknown);
        assert_eq!(lookup.role_in(Some("not json".into())), Role::Unknown);
        assert_eq!(lookup.role_in(None), Role::Unknown);
    }

    #[test]
    fn a_configured_lookup_follows_its_key_template_and_dotted_field() {
        let lookup = RoleLookup::parse("profile:{id}:v2#account.role").unwrap();
        assert_eq!(lookup.key_for("15"), "profile:15:v2");
        assert_eq!(
            lookup.role_in(Some(
                r#"{"account":{"role":"manager"},"role":"owner"}"#.into()
            )),
            Role::Manager
        );
        assert_eq!(
            lookup.role_in(Some(r#"{"role":"owner"}"#.into())),
            Role::Unknown
        );
    }

    #[test]
    fn malformed_lookups_are_refused() {
        for text in [
            "user:{id}",
            "user:1#role",
            "user:{id}{id}#role",
            "user:{id}#",
            "user:{id}#a..b",
        ] {
            assert!(RoleLookup::parse(text).is_err(), "{text}");
        }
    }
}
