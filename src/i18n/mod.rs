//! Every UI string, in Russian (`ru.rs`) and English (`en.rs`). A text is a field of `Texts`,
//! so a language that misses one does not compile; components never hard-code strings.

use crate::model::Lang;
pub use crate::model::format::Noun;

pub mod alerts;
pub mod diagnostics;
mod en;
mod ru;

pub struct Texts {
    /// The language these texts are in; numbers and dates are formatted for it.
    pub lang: Lang,
    pub page_title: &'static str,
    pub heading: &'static str,
    pub refresh: &'static str,
    pub hits: &'static str,
    pub misses: &'static str,
    pub hit_rate: &'static str,
    pub hit_rate_lifetime_hint: &'static str,
    pub used_memory: &'static str,
    pub maxmemory: &'static str,
    pub unlimited: &'static str,
    pub total_keys: &'static str,
    pub no_lookups_yet: &'static str,
    pub redis_unavailable: &'static str,
    pub redis_version: &'static str,
    pub policy: &'static str,
    pub read_at: &'static str,
    pub loading: &'static str,
    pub language: &'static str,
    pub live_heading: &'static str,
    pub windowed_hit_rate: &'static str,
    pub window_hint: &'static str,
    pub ops_per_sec: &'static str,
    pub evicted_per_sec: &'static str,
    pub expired_per_sec: &'static str,
    pub lifetime_heading: &'static str,
    pub chart_hit_rate: &'static str,
    pub series_window: &'static str,
    pub series_target: &'static str,
    pub chart_memory: &'static str,
    pub series_used: &'static str,
    pub series_limit: &'static str,
    pub chart_throughput: &'static str,
    pub series_ops: &'static str,
    pub series_evicted: &'static str,
    pub chart_keys: &'static str,
    pub range_label: &'static str,
    pub badge_hit_rate: &'static str,
    pub badge_memory: &'static str,
    pub badge_evictions: &'static str,
    pub level_ok: &'static str,
    pub level_warning: &'static str,
    pub level_critical: &'static str,
    pub level_unknown: &'static str,
    pub stale_data: &'static str,
    pub seconds_short: &'static str,
    pub no_sample_yet: &'static str,
    pub config_heading: &'static str,
    pub topology_heading: &'static str,
    pub target_label: &'static str,
    pub cluster_heading: &'static str,
    pub col_slots: &'static str,
    pub node_label: &'static str,
    /// Before the id of the replica running a census or flush ("run by replica panel-a").
    pub run_by_replica: &'static str,
    pub col_address: &'static str,
    pub col_state: &'static str,
    pub col_lag: &'static str,
    pub col_flags: &'static str,
    pub node_up: &'static str,
    pub node_down: &'static str,
    pub config_role: &'static str,
    pub config_uptime: &'static str,
    pub config_clients: &'static str,
    pub config_save: &'static str,
    pub config_appendonly: &'static str,
    pub config_password: &'static str,
    pub config_unavailable: &'static str,
    pub config_expected: &'static str,
    pub config_mismatch: &'static str,
    pub config_rdb_off: &'static str,
    pub yes: &'static str,
    pub no: &'static str,
    pub census_heading: &'static str,
    pub census_start: &'static str,
    pub census_cancel: &'static str,
    pub census_never: &'static str,
    pub census_cancelled: &'static str,
    pub census_failed: &'static str,
    pub col_group: &'static str,
    pub col_kind: &'static str,
    pub col_keys: &'static str,
    pub col_share: &'static str,
    pub col_memory: &'static str,
    pub col_no_ttl: &'static str,
    pub col_median_ttl: &'static str,
    pub col_hot: &'static str,
    pub col_app_hit_rate: &'static str,
    pub flush_heading: &'static str,
    pub flush_disabled_read_only: &'static str,
    pub flush_disabled_not_cache: &'static str,
    pub view_only_notice: &'static str,
    pub forbidden_role: &'static str,
    pub forbidden_view_only: &'static str,
    pub signed_in_as: &'static str,
    pub flush_prefix_label: &'static str,
    pub flush_preview: &'static str,
    pub flush_preview_result: &'static str,
    pub flush_memory: &'static str,
    pub flush_confirm_label: &'static str,
    pub flush_start: &'static str,
    pub flush_last: &'static str,
    pub audit_heading: &'static str,
    pub audit_empty: &'static str,
    pub limits_heading: &'static str,
    pub limits_refresh: &'static str,
    pub limits_over: &'static str,
    pub limits_near: &'static str,
    pub limits_stuck: &'static str,
    pub limits_dominant_ip: &'static str,
    pub limits_refreshing: &'static str,
    pub limits_stale: &'static str,
    pub limits_partial: &'static str,
    pub limits_not_text: &'static str,
    pub col_counter: &'static str,
    pub col_role: &'static str,
    pub col_count: &'static str,
    pub col_limit_share: &'static str,
    pub col_window_left: &'static str,
    pub limits_reset: &'static str,
    pub chart_rejections: &'static str,
    pub kind_cache: &'static str,
    pub kind_state: &'static str,
    pub kind_auto: &'static str,
    pub chart_keys_by_group: &'static str,
    pub chart_memory_by_group: &'static str,
    pub chart_ttl_histogram: &'static str,
    pub drill_heading: &'static str,
    pub col_name: &'static str,
    pub col_type: &'static str,
    pub col_ttl: &'static str,
    pub col_size: &'static str,
    pub hot_hint_lru: &'static str,
    pub hot_hint_lfu: &'static str,
    /// The census group of keys no configured or automatic group took.
    pub other_group: &'static str,
    /// After a chart's title when the chart cannot be drawn.
    pub chart_unavailable: &'static str,
    /// Before the reason when the audit list cannot be read.
    pub audit_unavailable: &'static str,
    /// In place of the memory figure when the flush preview could not measure it.
    pub flush_memory_unknown: &'static str,
    /// Below the charts when their drawing code could not be loaded (they stay as first drawn).
    pub charts_code_unavailable: &'static str,
    /// The memory trend of the last hour, on the used-memory card.
    pub forecast_stable: &'static str,
    pub forecast_growing: &'static str,
    pub forecast_shrinking: &'static str,
    pub forecast_full_in: &'static str,
    /// Roles in `Role::ALL` order, then the unknown role.
    pub role_names: [&'static str; 7],
    /// The TTL histogram's buckets, in `TTL_BUCKETS` order.
    pub ttl_buckets: [&'static str; 7],
    /// Before a database number (`БД 0`).
    pub database_short: &'static str,
    /// A counter that never expires.
    pub no_ttl_mark: &'static str,
    /// Counted nouns (see `Lang::counted`).
    pub noun_keys: Noun,
    pub noun_requests: Noun,
    /// The history range buttons, in `HistoryRange::ALL` order.
    pub range_names: [&'static str; 4],
    /// After the used-memory share.
    pub of_maxmemory: &'static str,
    /// Sentence templates: `{name}` is filled by `ui::phrases::sentence`.
    pub updated_ago: &'static str,
    pub census_summary: &'static str,
    pub census_progress: &'static str,
    pub census_left: &'static str,
    pub census_sampled_every: &'static str,
    pub flush_counting_line: &'static str,
    pub flush_running_line: &'static str,
    /// A finished flush, in the last-flush line and the audit.
    pub flush_done: &'static str,
    pub flush_cancelled: &'static str,
    pub flush_interrupted_line: &'static str,
    pub flush_failed: &'static str,
    pub audit_preview: &'static str,
    pub audit_flush_started: &'static str,
    pub audit_reset: &'static str,
    pub audit_other: &'static str,
    pub limits_read_line: &'static str,
    pub limits_every_line: &'static str,
    pub limits_summary: &'static str,
    /// Why Redis could not be read (`RedisFailure` reasons).
    pub reason_timed_out: &'static str,
    pub reason_refused: &'static str,
    pub reason_auth: &'static str,
    pub reason_lost: &'static str,
    pub reason_not_read: &'static str,
    pub reason_server_error: &'static str,
    pub reason_other: &'static str,
    /// API errors (`AppError`) as the page says them.
    pub error_unauthorized: &'static str,
    pub error_forbidden: &'static str,
    pub error_cross_site: &'static str,
    pub error_bad_request: &'static str,
    pub error_redis: &'static str,
    pub error_too_large: &'static str,
    pub error_rate_limited: &'static str,
    pub error_internal: &'static str,
    pub problem_invalid_prefix: &'static str,
    pub problem_not_a_counter: &'static str,
    pub problem_state_group: &'static str,
    pub problem_not_cache_group: &'static str,
    pub problem_unknown_preview: &'static str,
    pub problem_confirmation: &'static str,
    pub problem_flush_running: &'static str,
    pub problem_census_running: &'static str,
}

impl Texts {
    /// A role as this language names it.
    pub fn role_name(&self, role: crate::model::rate_limit::Role) -> &'static str {
        use crate::model::rate_limit::Role;
        Role::ALL
            .iter()
            .position(|known| *known == role)
            .map_or(self.role_names[6], |index| self.role_names[index])
    }
}

pub fn texts(lang: Lang) -> &'static Texts {
    match lang {
        Lang::Ru => &ru::RU,
        Lang::En => &en::EN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_differ_where_they_should() {
        assert_ne!(texts(Lang::Ru).heading, texts(Lang::En).heading);
        assert_eq!(texts(Lang::En).hits, "Hits");
    }
}
