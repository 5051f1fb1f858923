//! The wall clock, in the one unit every figure on the wire uses (Unix milliseconds). A leaf:
//! imports nothing from `crate::server`.

/// Unix time now, in milliseconds.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use crate::model::format::UtcMoment;

    /// The page's own calendar arithmetic (the client carries no date library) against
    /// chrono, over leap years, century rules and both sides of the epoch.
    #[test]
    fn the_pages_utc_moments_agree_with_chrono() {
        use chrono::{Datelike, Timelike};
        let mut ms = -62_135_596_800_000_i64; // 0001-01-01
        while ms < 253_402_300_799_000 {
            let ours = UtcMoment::from_millis(ms)
                .map(|m| (m.year, m.month, m.day, m.hour, m.minute, m.second));
            let theirs = chrono::DateTime::from_timestamp_millis(ms).map(|t| {
                let (year, month, day) = (i64::from(t.year()), t.month(), t.day());
                (year, month, day, t.hour(), t.minute(), t.second())
            });
            assert_eq!(ours, theirs, "at {ms}");
            ms += 86_399_999 * 7 + 3_600_001;
        }
        assert_eq!(
            UtcMoment::from_millis(-1).map(|m| (m.year, m.second)),
            Some((1969, 59))
        );
    }
}
