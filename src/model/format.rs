//! Numbers, sizes and times as each language writes them: Russian groups digits with a
//! no-break space and uses a decimal comma (1 234 567; 90,5 %), English a comma and a point
//! (1,234,567; 90.5%). One implementation for the server render and the WASM client, so
//! hydration sees identical text.

use super::Lang;

/// No-break space: a number never wraps between its groups or before its unit.
const NBSP: char = '\u{a0}';

impl Lang {
    fn group_separator(self) -> char {
        match self {
            Self::Ru => NBSP,
            Self::En => ',',
        }
    }

    fn decimal_separator(self) -> char {
        match self {
            Self::Ru => ',',
            Self::En => '.',
        }
    }

    /// A whole number with digit groups: `1 234 567` / `1,234,567`.
    pub fn count(self, value: u64) -> String {
        group_digits(&value.to_string(), self.group_separator())
    }

    /// A number with `digits` decimals.
    pub fn decimal(self, value: f64, digits: usize) -> String {
        if !value.is_finite() {
            return "—".into();
        }
        let text = format!("{:.digits$}", value.abs());
        let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
        let mut out = String::new();
        if value < 0.0 && text.chars().any(|c| c.is_ascii_digit() && c != '0') {
            out.push('-');
        }
        out.push_str(&group_digits(whole, self.group_separator()));
        if !fraction.is_empty() {
            out.push(self.decimal_separator());
            out.push_str(fraction);
        }
        out
    }

    /// A percentage: `90,5 %` (Russian puts a space before the sign) / `90.5%`.
    pub fn percent(self, value: f64, digits: usize) -> String {
        let number = self.decimal(value, digits);
        match self {
            Self::Ru => format!("{number}{NBSP}%"),
            Self::En => format!("{number}%"),
        }
    }

    /// A byte count in binary units, one decimal: `1,5 KiB` / `1.5 KiB`.
    pub fn bytes(self, bytes: u64) -> String {
        const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
        let mut value = bytes as f64;
        let mut unit = 0;
        while value >= 1024.0 && unit < UNITS.len() - 1 {
            value /= 1024.0;
            unit += 1;
        }
        if unit == 0 {
            format!("{}{NBSP}B", self.count(bytes))
        } else {
            format!("{}{NBSP}{}", self.decimal(value, 1), UNITS[unit])
        }
    }

    /// A moment in UTC: `25.11.2026 23:40:05 UTC` / `2026-11-25 23:40:05 UTC`.
    pub fn date_time(self, moment: &chrono::DateTime<chrono::Utc>) -> String {
        let pattern = match self {
            Self::Ru => "%d.%m.%Y %H:%M:%S UTC",
            Self::En => "%Y-%m-%d %H:%M:%S UTC",
        };
        moment.format(pattern).to_string()
    }

    /// `date_time` of a Unix time in milliseconds; empty when out of range.
    pub fn date_time_ms(self, ms: i64) -> String {
        chrono::DateTime::from_timestamp_millis(ms)
            .map(|moment| self.date_time(&moment))
            .unwrap_or_default()
    }
}

fn group_digits(digits: &str, separator: char) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(separator);
        }
        out.push(digit);
    }
    out
}

/// A Redis key as text: UTF-8 keys as they are; any other byte as `\xNN` (and then `true`:
/// the shown name is not the key itself, so nothing may be done to it by that name).
pub fn display_key(key: &[u8]) -> (String, bool) {
    if let Ok(text) = std::str::from_utf8(key) {
        return (text.to_owned(), false);
    }
    let mut shown = String::with_capacity(key.len() + 8);
    for chunk in key.utf8_chunks() {
        shown.push_str(chunk.valid());
        for byte in chunk.invalid() {
            shown.push_str(&format!("\\x{byte:02x}"));
        }
    }
    (shown, true)
}

#[cfg(test)]
mod tests {
    #[test]
    fn keys_that_are_not_utf8_are_shown_escaped_and_flagged() {
        assert_eq!(
            super::display_key(b"rate_limit:user:7"),
            ("rate_limit:user:7".into(), false)
        );
        assert_eq!(
            super::display_key(b"rate_limit:ip:\xff\xfe1"),
            ("rate_limit:ip:\\xff\\xfe1".into(), true)
        );
        assert_eq!(
            super::display_key("ключ:\u{e9}".as_bytes()),
            ("ключ:\u{e9}".into(), false)
        );
    }

    use super::*;

    #[test]
    fn counts_group_digits_per_language() {
        assert_eq!(Lang::Ru.count(1_234_567), "1\u{a0}234\u{a0}567");
        assert_eq!(Lang::En.count(1_234_567), "1,234,567");
        assert_eq!(Lang::En.count(999), "999");
        assert_eq!(Lang::Ru.count(0), "0");
    }

    #[test]
    fn decimals_and_percentages_use_the_languages_marks() {
        assert_eq!(Lang::Ru.percent(90.54, 1), "90,5\u{a0}%");
        assert_eq!(Lang::En.percent(90.54, 1), "90.5%");
        assert_eq!(Lang::En.decimal(12_345.678, 2), "12,345.68");
        assert_eq!(Lang::Ru.decimal(-0.04, 1), "0,0", "no negative zero");
        assert_eq!(Lang::En.decimal(-2.5, 1), "-2.5");
        assert_eq!(Lang::En.decimal(f64::NAN, 1), "—");
    }

    #[test]
    fn sizes_and_times_follow_the_language() {
        assert_eq!(Lang::Ru.bytes(1536), "1,5\u{a0}KiB");
        assert_eq!(Lang::En.bytes(512 * 1024 * 1024), "512.0\u{a0}MiB");
        assert_eq!(Lang::En.bytes(512), "512\u{a0}B");
        let moment = chrono::DateTime::from_timestamp(1_795_000_000, 0).unwrap_or_default();
        assert_eq!(Lang::Ru.date_time(&moment), "18.11.2026 11:06:40 UTC");
        assert_eq!(Lang::En.date_time(&moment), "2026-11-18 11:06:40 UTC");
    }
}
