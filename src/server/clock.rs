//! The wall clock, in the one unit every figure on the wire uses (Unix milliseconds). A leaf:
//! imports nothing from `crate::server`.

/// Unix time now, in milliseconds.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
