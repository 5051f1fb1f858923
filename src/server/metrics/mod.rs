//! `/metrics` in the Prometheus text format (0.0.4, written by `exposition`), built from what
//! the sampler, the census, the flush and the counters reader already hold: a scrape sends no
//! Redis command. Label values are bounded: targets and prefix groups come
//! from configuration (plus the census' capped automatic groups), roles are a fixed list.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

mod exposition;

use exposition::Exposition;

use crate::error::AppError;
use crate::model::census::CensusOutcome;
use crate::model::diagnostics::DiagnosticsView;
use crate::model::live::{LiveSnapshot, LiveStatus};
use crate::model::persistence::PersistenceWarning;
use crate::model::rate_limit::Role;
use crate::server::state::{AppState, TargetState};

/// On a cluster: each master's own figures, and every node's role, slots and state.
fn write_nodes(out: &mut Exposition, target: &str, snapshot: &LiveSnapshot) {
    for node in &snapshot.nodes {
        let labels = [("target", target), ("node", node.address.as_str())];
        let figures: [(&'static str, &'static str, &'static str, f64); 4] = [
            (
                "cachepanel_node_keys",
                "gauge",
                "Keys on one cluster master (DBSIZE).",
                node.stats.total_keys as f64,
            ),
            (
                "cachepanel_node_memory_used_bytes",
                "gauge",
                "used_memory of one cluster master.",
                node.stats.used_memory_bytes as f64,
            ),
            (
                "cachepanel_node_keyspace_hits_total",
                "counter",
                "Keyspace hits of one cluster master since it started.",
                node.stats.keyspace_hits as f64,
            ),
            (
                "cachepanel_node_keyspace_misses_total",
                "counter",
                "Keyspace misses of one cluster master since it started.",
                node.stats.keyspace_misses as f64,
            ),
        ];
        for (name, kind, help, value) in figures {
            out.family(name, kind, help);
            out.sample(name, &labels, value);
        }
    }
    for node in &snapshot.cluster_nodes {
        let role = if node.is_master { "master" } else { "replica" };
        let labels = [
            ("target", target),
            ("node", node.address.as_str()),
            ("role", role),
        ];
        out.family(
            "cachepanel_cluster_node_failing",
            "gauge",
            "1 while the cluster flags a node fail, fail?, noaddr or handshake, or it is disconnected.",
        );
        out.sample(
            "cachepanel_cluster_node_failing",
            &labels,
            if node.is_failing() { 1.0 } else { 0.0 },
        );
        out.family(
            "cachepanel_cluster_node_slots",
            "gauge",
            "Hash slots a cluster node serves.",
        );
        out.sample(
            "cachepanel_cluster_node_slots",
            &labels,
            f64::from(node.slots),
        );
    }
}

/// The exposition of one target's sampler snapshot.
fn write_redis(out: &mut Exposition, target: &str, snapshot: &LiveSnapshot) {
    let labels = [("target", target)];
    out.family(
        "cachepanel_redis_up",
        "gauge",
        "1 when the last sample of the target succeeded, 0 when Redis could not be read.",
    );
    let up = matches!(snapshot.status, LiveStatus::Up);
    out.sample("cachepanel_redis_up", &labels, if up { 1.0 } else { 0.0 });
    if let Some(master) = snapshot
        .topology
        .as_ref()
        .and_then(|topology| topology.master.as_ref())
    {
        // A failover shows as a second address within a window (see docs/alerts.yml).
        out.family(
            "cachepanel_sentinel_master",
            "gauge",
            "1 for the address Sentinel names as the target's master.",
        );
        out.sample(
            "cachepanel_sentinel_master",
            &[("target", target), ("address", master.address.as_str())],
            1.0,
        );
    }
    if let LiveStatus::Unavailable { reason, since_ms } = &snapshot.status {
        out.family(
            "cachepanel_redis_down_info",
            "gauge",
            "Present while the target is down; the label says why (no secrets).",
        );
        out.sample(
            "cachepanel_redis_down_info",
            &[("target", target), ("reason", reason)],
            1.0,
        );
        out.family(
            "cachepanel_redis_down_since_seconds",
            "gauge",
            "Unix time since which the target has been unreadable.",
        );
        out.sample(
            "cachepanel_redis_down_since_seconds",
            &labels,
            *since_ms as f64 / 1000.0,
        );
    }
    out.family(
        "cachepanel_sample_timestamp_seconds",
        "gauge",
        "Unix time of the last successful sample.",
    );
    out.sample(
        "cachepanel_sample_timestamp_seconds",
        &labels,
        snapshot.sampled_at_ms as f64 / 1000.0,
    );
    let Some(stats) = &snapshot.stats else {
        return;
    };
    let gauges: [(&'static str, &'static str, &'static str, f64); 8] = [
        (
            "cachepanel_keyspace_hits_total",
            "counter",
            "Keyspace hits since Redis started, without cachepanel's own lookups.",
            stats.keyspace_hits as f64,
        ),
        (
            "cachepanel_keyspace_misses_total",
            "counter",
            "Keyspace misses since Redis started, without cachepanel's own lookups.",
            stats.keyspace_misses as f64,
        ),
        (
            "cachepanel_memory_used_bytes",
            "gauge",
            "used_memory of the target.",
            stats.used_memory_bytes as f64,
        ),
        (
            "cachepanel_memory_max_bytes",
            "gauge",
            "maxmemory of the target; 0 means no limit.",
            stats.maxmemory_bytes as f64,
        ),
        (
            "cachepanel_memory_system_bytes",
            "gauge",
            "The host's memory as Redis reports it (what memory alerts compare to without maxmemory).",
            stats.total_system_memory_bytes as f64,
        ),
        (
            "cachepanel_evicted_keys_total",
            "counter",
            "Keys evicted since Redis started.",
            stats.evicted_keys as f64,
        ),
        (
            "cachepanel_expired_keys_total",
            "counter",
            "Keys expired since Redis started.",
            stats.expired_keys as f64,
        ),
        (
            "cachepanel_keys",
            "gauge",
            "Keys in the database (DBSIZE).",
            stats.total_keys as f64,
        ),
    ];
    for (name, kind, help, value) in gauges {
        out.family(name, kind, help);
        out.sample(name, &labels, value);
    }
    out.family(
        "cachepanel_hit_ratio",
        "gauge",
        "Hits / (hits + misses): window = between the last two samples, lifetime = since Redis started.",
    );
    let lookups = stats.keyspace_hits + stats.keyspace_misses;
    if lookups > 0 {
        out.sample(
            "cachepanel_hit_ratio",
            &[("target", target), ("window", "lifetime")],
            stats.keyspace_hits as f64 / lookups as f64,
        );
    }
    if let Some(percent) = snapshot.rates.as_ref().and_then(|r| r.hit_rate_percent) {
        out.sample(
            "cachepanel_hit_ratio",
            &[("target", target), ("window", "window")],
            percent / 100.0,
        );
    }
    if let Some(forecast) = &snapshot.memory_forecast {
        out.family(
            "cachepanel_memory_growth_bytes_per_hour",
            "gauge",
            "Trend of used_memory over the last hour (least squares; negative: shrinking).",
        );
        out.sample(
            "cachepanel_memory_growth_bytes_per_hour",
            &labels,
            forecast.bytes_per_hour,
        );
        if let Some(full_in_ms) = forecast.full_in_ms {
            out.family(
                "cachepanel_memory_full_in_seconds",
                "gauge",
                "Time until used_memory reaches maxmemory at the last hour's rate (absent when flat, shrinking or unlimited).",
            );
            out.sample(
                "cachepanel_memory_full_in_seconds",
                &labels,
                full_in_ms as f64 / 1000.0,
            );
        }
    }
}

fn exposition(state: &AppState) -> String {
    let mut out = Exposition::new();
    for target in state.targets.iter() {
        write_target(&mut out, target);
    }
    if let Some(primary) = state.primary() {
        write_rate_limits(&mut out, state, primary);
    }
    write_alerts(&mut out, state);
    out.render()
}

/// cachepanel's own alerts and how their delivery fares (a failing Telegram shows here).
fn write_alerts(out: &mut Exposition, state: &AppState) {
    out.family(
        "cachepanel_alert_firing",
        "gauge",
        "1 for each alert that fires now (silenced: 1 in cachepanel_alert_silenced too).",
    );
    let firing: Vec<_> = state
        .alerts
        .firing()
        .into_iter()
        .filter(|alert| alert.phase == crate::model::alerts::AlertPhase::Firing)
        .collect();
    for alert in &firing {
        let labels = [
            ("target", alert.target.as_str()),
            ("rule", alert.rule.name()),
            ("labels", alert.labels.as_str()),
        ];
        out.sample("cachepanel_alert_firing", &labels, 1.0);
    }
    out.family(
        "cachepanel_alert_silenced",
        "gauge",
        "1 for each firing alert a silence keeps quiet.",
    );
    for alert in firing.iter().filter(|alert| alert.silenced) {
        let labels = [
            ("target", alert.target.as_str()),
            ("rule", alert.rule.name()),
            ("labels", alert.labels.as_str()),
        ];
        out.sample("cachepanel_alert_silenced", &labels, 1.0);
    }
    out.family(
        "cachepanel_alert_deliveries_total",
        "counter",
        "Alert messages per channel that were delivered, or failed after every attempt.",
    );
    let delivery = state.alerts.delivery();
    for channel in &delivery {
        for (outcome, count) in [("delivered", channel.delivered), ("failed", channel.failed)] {
            out.sample(
                "cachepanel_alert_deliveries_total",
                &[("channel", channel.channel.as_str()), ("outcome", outcome)],
                count as f64,
            );
        }
    }
    out.family(
        "cachepanel_alert_delivery_failing",
        "gauge",
        "1 while a channel's latest delivery attempt failed.",
    );
    for channel in &delivery {
        out.sample(
            "cachepanel_alert_delivery_failing",
            &[("channel", channel.channel.as_str())],
            if channel.last_error.is_some() {
                1.0
            } else {
                0.0
            },
        );
    }
}

/// The slow log, clients and persistence health as the sampler last read them.
fn write_diagnostics(out: &mut Exposition, target: &str, view: &DiagnosticsView) {
    let labels = [("target", target)];
    if view.slow_log.unavailable.is_none() {
        let counters = [
            (
                "cachepanel_redis_slowlog_entries_total",
                "Slow-log entries cachepanel read since it started (SLOWLOG GET, incrementally).",
                view.slow_log.read_total,
            ),
            (
                "cachepanel_redis_slowlog_missed_total",
                "Slow-log entries Redis dropped (slowlog-max-len) before cachepanel could read them.",
                view.slow_log.missed,
            ),
        ];
        for (name, help, value) in counters {
            out.family(name, "counter", help);
            out.sample(name, &labels, value as f64);
        }
    }
    if let Some(clients) = view.clients.as_ref().filter(|c| c.unavailable.is_none()) {
        out.family(
            "cachepanel_redis_clients",
            "gauge",
            "Connections in the last CLIENT LIST.",
        );
        out.sample(
            "cachepanel_redis_clients",
            &labels,
            clients.connections as f64,
        );
        out.family(
            "cachepanel_redis_blocked_clients",
            "gauge",
            "Connections waiting in a blocking command (BLPOP, WAIT…) in the last CLIENT LIST.",
        );
        out.sample(
            "cachepanel_redis_blocked_clients",
            &labels,
            clients.blocked as f64,
        );
        out.family(
            "cachepanel_redis_client_group_connections",
            "gauge",
            "Connections per client name (the 20 largest groups; \"\" = unnamed).",
        );
        out.family(
            "cachepanel_redis_client_group_output_buffer_bytes",
            "gauge",
            "Largest output buffer (omem) of one connection of a client name.",
        );
        for group in &clients.by_name {
            let labels = [("target", target), ("name", group.label.as_str())];
            out.sample(
                "cachepanel_redis_client_group_connections",
                &labels,
                group.connections as f64,
            );
            out.sample(
                "cachepanel_redis_client_group_output_buffer_bytes",
                &labels,
                group.max_output_buffer_bytes as f64,
            );
        }
    }
    let Some(persistence) = &view.persistence else {
        return;
    };
    let flags = [
        (
            "cachepanel_redis_rdb_last_bgsave_ok",
            "1 when the last background RDB save succeeded, 0 when it failed.",
            persistence.last_bgsave_ok,
        ),
        (
            "cachepanel_redis_aof_last_write_ok",
            "1 when the last AOF write succeeded (present while AOF is on).",
            persistence
                .aof_last_write_ok
                .filter(|_| persistence.aof_enabled),
        ),
    ];
    for (name, help, value) in flags {
        if let Some(ok) = value {
            out.family(name, "gauge", help);
            out.sample(name, &labels, if ok { 1.0 } else { 0.0 });
        }
    }
    if let Some(at_ms) = persistence.last_save_at_ms {
        out.family(
            "cachepanel_redis_rdb_last_save_timestamp_seconds",
            "gauge",
            "Unix time of the last successful RDB save.",
        );
        out.sample(
            "cachepanel_redis_rdb_last_save_timestamp_seconds",
            &labels,
            at_ms as f64 / 1000.0,
        );
    }
    out.family(
        "cachepanel_redis_rdb_changes_since_last_save",
        "gauge",
        "Writes since the last successful RDB save.",
    );
    out.sample(
        "cachepanel_redis_rdb_changes_since_last_save",
        &labels,
        persistence.changes_since_save as f64,
    );
    if let Some(usec) = persistence.latest_fork_usec {
        out.family(
            "cachepanel_redis_latest_fork_seconds",
            "gauge",
            "Duration of the last fork (BGSAVE, AOF rewrite): the pause it cost Redis.",
        );
        out.sample(
            "cachepanel_redis_latest_fork_seconds",
            &labels,
            usec as f64 / 1e6,
        );
    }
    out.family(
        "cachepanel_redis_persistence_warning",
        "gauge",
        "1 per persistence problem: save_failed, save_overdue, aof_write_failed, aof_rewrite_failed.",
    );
    for kind in [
        "save_failed",
        "save_overdue",
        "aof_write_failed",
        "aof_rewrite_failed",
    ] {
        let active = persistence.warnings.iter().any(|warning| {
            let warning_kind = match warning {
                PersistenceWarning::SaveFailed => "save_failed",
                PersistenceWarning::SaveOverdue { .. } => "save_overdue",
                PersistenceWarning::AofWriteFailed => "aof_write_failed",
                PersistenceWarning::AofRewriteFailed => "aof_rewrite_failed",
            };
            warning_kind == kind
        });
        out.sample(
            "cachepanel_redis_persistence_warning",
            &[("target", target), ("kind", kind)],
            if active { 1.0 } else { 0.0 },
        );
    }
}

/// Reads one figure of a command's totals.
type CommandFigure = fn(&crate::model::commands::CommandTotals) -> f64;

/// Redis' commandstats as the sampler last read them (cumulative, as Redis counts them; a
/// restart or `CONFIG RESETSTAT` resets them, which Prometheus' `rate()` handles), and
/// cachepanel's own share of Redis' command time over the last hour.
fn write_commands(out: &mut Exposition, target: &str, state: &TargetState) {
    let Some((table, latency)) = state.sampler.command_totals() else {
        return;
    };
    let families: [(&'static str, &'static str, CommandFigure); 4] = [
        (
            "cachepanel_redis_command_calls_total",
            "Calls of a command since Redis started (INFO commandstats).",
            |t| t.calls as f64,
        ),
        (
            "cachepanel_redis_command_seconds_total",
            "Time Redis spent executing a command since it started (INFO commandstats usec).",
            |t| t.usec as f64 / 1e6,
        ),
        (
            "cachepanel_redis_command_failed_calls_total",
            "Calls of a command that failed inside Redis since it started.",
            |t| t.failed_calls as f64,
        ),
        (
            "cachepanel_redis_command_rejected_calls_total",
            "Calls of a command Redis rejected before running them (arity, ACL, OOM…).",
            |t| t.rejected_calls as f64,
        ),
    ];
    for (name, help, value) in families {
        out.family(name, "counter", help);
        for (command, totals) in &table {
            out.sample(
                name,
                &[("target", target), ("command", command)],
                value(totals),
            );
        }
    }
    if !latency.is_empty() {
        out.family(
            "cachepanel_redis_command_latency_seconds",
            "gauge",
            "Latency percentiles of a command since Redis started (INFO latencystats, Redis 7).",
        );
    }
    for (command, figures) in &latency {
        let percentiles = [
            ("p50", figures.p50_usec),
            ("p99", figures.p99_usec),
            ("p99.9", figures.p999_usec),
        ];
        for (percentile, usec) in percentiles {
            if let Some(usec) = usec {
                let labels = [
                    ("target", target),
                    ("command", command.as_str()),
                    ("percentile", percentile),
                ];
                out.sample(
                    "cachepanel_redis_command_latency_seconds",
                    &labels,
                    usec / 1e6,
                );
            }
        }
    }
    if let Some(view) = state
        .sampler
        .commands(crate::model::live::HistoryRange::Hour1)
    {
        out.family(
            "cachepanel_own_command_time_ratio",
            "gauge",
            "cachepanel's share of Redis' command time over the last hour (its calls times each command's mean time).",
        );
        out.sample(
            "cachepanel_own_command_time_ratio",
            &[("target", target)],
            view.own_share_percent / 100.0,
        );
    }
}

fn write_target(out: &mut Exposition, state: &TargetState) {
    let target = state.name.clone();
    let snapshot = state.sampler.latest();
    write_redis(out, &target, &snapshot);
    out.family(
        "cachepanel_other_replicas_present",
        "gauge",
        "1 when other cachepanel replicas watch this target (their lookups are then counted together).",
    );
    let others = state.redis.own_lookups().others_present();
    out.sample(
        "cachepanel_other_replicas_present",
        &[("target", target.as_str())],
        if others { 1.0 } else { 0.0 },
    );
    write_nodes(out, &target, &snapshot);
    write_commands(out, &target, state);
    write_diagnostics(out, &target, &state.sampler.diagnostics());

    let census = state.census.state();
    out.family(
        "cachepanel_census_running",
        "gauge",
        "1 while a key census runs on the target.",
    );
    out.sample(
        "cachepanel_census_running",
        &[("target", &target)],
        if census.running.is_some() { 1.0 } else { 0.0 },
    );
    if let Some(report) = &census.last {
        out.family(
            "cachepanel_census_duration_seconds",
            "gauge",
            "Duration of the last census.",
        );
        let outcome = match report.outcome {
            CensusOutcome::Complete => "complete",
            CensusOutcome::Cancelled => "cancelled",
            CensusOutcome::Failed { .. } => "failed",
        };
        out.sample(
            "cachepanel_census_duration_seconds",
            &[("target", &target), ("outcome", outcome)],
            report.duration_ms as f64 / 1000.0,
        );
        out.family(
            "cachepanel_census_timestamp_seconds",
            "gauge",
            "Unix time the last census started.",
        );
        out.sample(
            "cachepanel_census_timestamp_seconds",
            &[("target", &target)],
            report.started_at_ms as f64 / 1000.0,
        );
        out.family(
            "cachepanel_group_keys",
            "gauge",
            "Keys per prefix group at the last census.",
        );
        for group in &report.groups {
            out.sample(
                "cachepanel_group_keys",
                &[("target", &target), ("group", &group.prefix)],
                group.keys as f64,
            );
        }
        out.family(
            "cachepanel_group_memory_bytes",
            "gauge",
            "Estimated memory per prefix group at the last census.",
        );
        for group in &report.groups {
            out.sample(
                "cachepanel_group_memory_bytes",
                &[("target", &target), ("group", &group.prefix)],
                group.memory.estimated_bytes as f64,
            );
        }
    }

    let flush = state.flush.state();
    out.family(
        "cachepanel_flush_running",
        "gauge",
        "1 while a prefix flush runs on the target.",
    );
    out.sample(
        "cachepanel_flush_running",
        &[("target", &target)],
        if flush.running.is_some() { 1.0 } else { 0.0 },
    );
    if let Some(report) = &flush.last {
        out.family(
            "cachepanel_flush_duration_seconds",
            "gauge",
            "Duration of the last prefix flush.",
        );
        out.sample(
            "cachepanel_flush_duration_seconds",
            &[("target", &target)],
            report.duration_ms as f64 / 1000.0,
        );
        out.family(
            "cachepanel_flush_deleted_keys",
            "gauge",
            "Keys the last prefix flush deleted.",
        );
        out.sample(
            "cachepanel_flush_deleted_keys",
            &[("target", &target)],
            report.deleted_keys as f64,
        );
    }
}

/// The rate-limit counters of the first target (where the production app keeps them), as the
/// shared reader last walked them: no Redis command per scrape.
fn write_rate_limits(out: &mut Exposition, state: &AppState, target: &TargetState) {
    let Ok(report) = state.counters.latest() else {
        return;
    };
    let target = target.name.clone();
    out.family(
        "cachepanel_rate_limit_rejections_last_minute",
        "gauge",
        "Requests answered 429 per role in the last complete minute (rate_limit:stats:rejected:*).",
    );
    let per_role = crate::server::rate_limit::counters::rejections_last_minute(&report);
    for (role, count) in Role::ALL.iter().zip(per_role) {
        out.sample(
            "cachepanel_rate_limit_rejections_last_minute",
            &[("target", &target), ("role", role.name())],
            count as f64,
        );
    }
    let gauges = [
        (
            "cachepanel_rate_limit_counters",
            "Live rate-limit counters (rate_limit:user:*, rate_limit:ip:*).",
            report.counters as f64,
        ),
        (
            "cachepanel_rate_limit_counters_over_limit",
            "Counters above their role's limit.",
            report.over_limit as f64,
        ),
        (
            "cachepanel_rate_limit_counters_without_ttl",
            "Counters without a TTL (stuck lockouts).",
            report.without_ttl_total as f64,
        ),
        (
            "cachepanel_rate_limit_view_age_seconds",
            "Age of the counters view (read by one background walk per interval).",
            report.age_ms as f64 / 1000.0,
        ),
    ];
    for (name, help, value) in gauges {
        out.family(name, "gauge", help);
        out.sample(name, &[("target", &target)], value);
    }
}

/// `GET /metrics`: with `CACHEPANEL_METRICS_TOKEN` set, that bearer token; otherwise the same
/// admin session as the page.
pub async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let allowed = match &state.config.auth.metrics_token {
        Some(token) => bearer_matches(&headers, token.expose()),
        None => state.auth.authenticate(&headers).is_ok(),
    };
    if !allowed {
        let mut response =
            (StatusCode::UNAUTHORIZED, axum::Json(AppError::Unauthorized)).into_response();
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return response;
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        exposition(&state),
    )
        .into_response()
}

/// Compares in time independent of where the first difference is.
fn bearer_matches(headers: &HeaderMap, expected: &str) -> bool {
    let Some(given) = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
    else {
        return false;
    };
    let (given, expected) = (given.trim().as_bytes(), expected.as_bytes());
    given.len() == expected.len()
        && given
            .iter()
            .zip(expected)
            .fold(0_u8, |difference, (a, b)| difference | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_memory_forecast_is_exported_only_with_its_deadline_when_there_is_one() {
        use crate::model::RedisStats;
        use crate::model::forecast::MemoryForecast;
        use crate::model::info::InfoFields;
        let mut snapshot =
            LiveSnapshot::starting("cache", Default::default(), Default::default(), 1000);
        snapshot.stats = Some(RedisStats::from_info(
            &InfoFields::parse("used_memory:1\n"),
            1,
        ));
        snapshot.memory_forecast = Some(MemoryForecast {
            bytes_per_hour: 1_048_576.0,
            stable: false,
            full_in_ms: Some(90_000),
            span_ms: 3_600_000,
        });
        let render = |snapshot: &LiveSnapshot| {
            let mut out = Exposition::new();
            write_redis(&mut out, "cache", snapshot);
            out.render()
        };
        let text = render(&snapshot);
        assert!(
            text.contains("cachepanel_memory_growth_bytes_per_hour{target=\"cache\"} 1048576"),
            "{text}"
        );
        assert!(
            text.contains("cachepanel_memory_full_in_seconds{target=\"cache\"} 90"),
            "{text}"
        );
        snapshot.memory_forecast = snapshot.memory_forecast.map(|f| MemoryForecast {
            full_in_ms: None,
            ..f
        });
        let text = render(&snapshot);
        assert!(text.contains("cachepanel_memory_growth_bytes_per_hour"));
        assert!(!text.contains("cachepanel_memory_full_in_seconds"));
    }

    #[test]
    fn bearer_tokens_must_match_exactly() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc"),
        );
        assert!(bearer_matches(&headers, "abc"));
        assert!(!bearer_matches(&headers, "abcd"));
        assert!(!bearer_matches(&headers, "abd"));
        assert!(!bearer_matches(&HeaderMap::new(), "abc"));
    }
}
