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

    /// A number with `digits` decimals (at most 6), rounded half away from zero. Integer
    /// arithmetic, not `format!("{:.2}")`: float formatting would add its own code to the
    /// browser's bundle.
    pub fn decimal(self, value: f64, digits: usize) -> String {
        if !value.is_finite() {
            return "—".into();
        }
        let digits = digits.min(6);
        let scale = 10_u64.pow(digits as u32);
        // Saturates for values beyond u64 (far outside any figure this page shows).
        let scaled = (value.abs() * scale as f64).round() as u64;
        let (whole, fraction) = (scaled / scale, scaled % scale);
        let mut out = String::new();
        if value < 0.0 && scaled > 0 {
            out.push('-');
        }
        out.push_str(&group_digits(&whole.to_string(), self.group_separator()));
        if digits > 0 {
            out.push(self.decimal_separator());
            let fraction = fraction.to_string();
            out.extend(std::iter::repeat_n('0', digits - fraction.len()));
            out.push_str(&fraction);
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

    /// A byte count in binary units, one decimal: `1,5 КиБ` / `1.5 KiB`. Russian writes the
    /// same IEC units in Cyrillic (Б, КиБ, МиБ, ГиБ, ТиБ), as GOST 8.417 names them.
    pub fn bytes(self, bytes: u64) -> String {
        let units: [&str; 5] = match self {
            Self::Ru => ["Б", "КиБ", "МиБ", "ГиБ", "ТиБ"],
            Self::En => ["B", "KiB", "MiB", "GiB", "TiB"],
        };
        let mut value = bytes as f64;
        let mut unit = 0;
        while value >= 1024.0 && unit < units.len() - 1 {
            value /= 1024.0;
            unit += 1;
        }
        if unit == 0 {
            format!("{}{NBSP}{}", self.count(bytes), units[0])
        } else {
            format!("{}{NBSP}{}", self.decimal(value, 1), units[unit])
        }
    }

    /// The unit a chart axis of byte values is drawn in (`МиБ` / `MiB`).
    pub fn mebibytes_unit(self) -> &'static str {
        match self {
            Self::Ru => "МиБ",
            Self::En => "MiB",
        }
    }

    /// A count with its noun in the right form: `1 ключ`, `3 ключа`, `1 234 ключа`,
    /// `5 ключей` / `1 key`, `1,234 keys`.
    pub fn counted(self, value: u64, noun: &Noun) -> String {
        format!("{}{NBSP}{}", self.count(value), self.noun_form(value, noun))
    }

    /// The form of `noun` that goes with `value`.
    pub fn noun_form(self, value: u64, noun: &Noun) -> &'static str {
        match self {
            // Russian: 1, 21, 101 → one; 2–4, 22–24 → few; 0, 5–20, 25–30, 11–14 → many.
            Self::Ru => match (value % 10, value % 100) {
                (1, tens) if tens != 11 => noun.one,
                (2..=4, tens) if !(12..=14).contains(&tens) => noun.few,
                _ => noun.many,
            },
            Self::En if value == 1 => noun.one,
            Self::En => noun.many,
        }
    }

    /// A duration: `45 мс`, `0,8 с`, `42 с`, `14 мин 26 с`, `2 ч 5 мин`, `3 д 4 ч` /
    /// `45 ms`, `0.8 s`, `42 s`, `14 min 26 s`, `2 h 5 min`, `3 d 4 h`.
    pub fn duration_ms(self, ms: u64) -> String {
        let [millis, seconds, minutes, hours, days] = self.time_units();
        let pair = |big: u64, big_unit: &str, small: u64, small_unit: &str| {
            if small == 0 {
                format!("{big}{NBSP}{big_unit}")
            } else {
                format!("{big}{NBSP}{big_unit} {small}{NBSP}{small_unit}")
            }
        };
        let total_seconds = ms / 1000;
        match ms {
            0..100 => format!("{ms}{NBSP}{millis}"),
            100..10_000 => format!("{}{NBSP}{seconds}", self.decimal(ms as f64 / 1000.0, 1)),
            10_000..60_000 => format!("{}{NBSP}{seconds}", (ms + 500) / 1000),
            60_000..3_600_000 => pair(total_seconds / 60, minutes, total_seconds % 60, seconds),
            3_600_000..86_400_000 => pair(
                total_seconds / 3600,
                hours,
                total_seconds % 3600 / 60,
                minutes,
            ),
            _ => pair(
                total_seconds / 86_400,
                days,
                total_seconds % 86_400 / 3600,
                hours,
            ),
        }
    }

    /// `duration_ms` of whole seconds.
    pub fn duration_s(self, seconds: u64) -> String {
        self.duration_ms(seconds.saturating_mul(1000))
    }

    /// How long ago: `только что`, `12 с назад`, `2 мин назад`, `3 ч назад`, `2 д назад` /
    /// `just now`, `12 s ago`, `2 min ago`, `3 h ago`, `2 d ago`.
    pub fn ago_ms(self, ms: u64) -> String {
        let [_, seconds, minutes, hours, days] = self.time_units();
        let seconds_ago = ms / 1000;
        let (value, unit) = match seconds_ago {
            0..5 => {
                return match self {
                    Self::Ru => "только что".into(),
                    Self::En => "just now".into(),
                };
            }
            5..60 => (seconds_ago, seconds),
            60..3600 => (seconds_ago / 60, minutes),
            3600..86_400 => (seconds_ago / 3600, hours),
            _ => (seconds_ago / 86_400, days),
        };
        match self {
            Self::Ru => format!("{value}{NBSP}{unit} назад"),
            Self::En => format!("{value}{NBSP}{unit} ago"),
        }
    }

    fn time_units(self) -> [&'static str; 5] {
        match self {
            Self::Ru => ["мс", "с", "мин", "ч", "д"],
            Self::En => ["ms", "s", "min", "h", "d"],
        }
    }

    /// A moment (Unix milliseconds) in UTC: `25.11.2026 23:40:05 UTC` /
    /// `2026-11-25 23:40:05 UTC`; empty when out of range.
    pub fn date_time_ms(self, ms: i64) -> String {
        let Some(moment) = UtcMoment::from_millis(ms) else {
            return String::new();
        };
        let UtcMoment {
            year, month, day, ..
        } = moment;
        let time = moment.clock(true);
        match self {
            Self::Ru => format!("{day:02}.{month:02}.{year} {time} UTC"),
            Self::En => format!("{year}-{month:02}-{day:02} {time} UTC"),
        }
    }
}

/// The forms of a counted noun: Russian uses all three (`ключ`, `ключа`, `ключей`), English
/// `one` and `many` (`key`, `keys`; `few` repeats `many`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Noun {
    pub one: &'static str,
    pub few: &'static str,
    pub many: &'static str,
}

/// A moment split into its UTC calendar fields. Own arithmetic rather than a date library so
/// the browser's bundle carries no calendar code; UTC needs no time-zone data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UtcMoment {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

impl UtcMoment {
    /// Years 0..=9999 only: beyond them the millisecond value is a bug, not a date.
    pub fn from_millis(ms: i64) -> Option<Self> {
        const MS_PER_DAY: i64 = 86_400_000;
        let days = ms.div_euclid(MS_PER_DAY);
        let of_day = ms.rem_euclid(MS_PER_DAY) / 1000;
        // Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's civil_from_days).
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let day_of_era = z.rem_euclid(146_097);
        let year_of_era =
            (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let shifted_month = (5 * day_of_year + 2) / 153;
        let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u32;
        let month = if shifted_month < 10 {
            shifted_month + 3
        } else {
            shifted_month - 9
        } as u32;
        let year = year_of_era + era * 400 + i64::from(month <= 2);
        (0..=9999).contains(&year).then_some(Self {
            year,
            month,
            day,
            hour: (of_day / 3600) as u32,
            minute: (of_day / 60 % 60) as u32,
            second: (of_day % 60) as u32,
        })
    }

    /// `23:40:05`, or `23:40` without seconds.
    pub fn clock(self, with_seconds: bool) -> String {
        if with_seconds {
            format!("{:02}:{:02}:{:02}", self.hour, self.minute, self.second)
        } else {
            format!("{:02}:{:02}", self.hour, self.minute)
        }
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
        assert_eq!(Lang::Ru.bytes(1536), "1,5\u{a0}КиБ");
        assert_eq!(Lang::Ru.bytes(512 * 1024 * 1024), "512,0\u{a0}МиБ");
        assert_eq!(Lang::Ru.bytes(100), "100\u{a0}Б");
        assert_eq!(Lang::En.bytes(512 * 1024 * 1024), "512.0\u{a0}MiB");
        assert_eq!(Lang::En.bytes(512), "512\u{a0}B");
        assert_eq!(
            Lang::Ru.date_time_ms(1_795_000_000_000),
            "18.11.2026 11:06:40 UTC"
        );
        assert_eq!(
            Lang::En.date_time_ms(1_795_000_000_000),
            "2026-11-18 11:06:40 UTC"
        );
        assert_eq!(Lang::En.date_time_ms(i64::MAX), "");
    }

    #[test]
    fn decimals_round_half_away_from_zero_and_pad_the_fraction() {
        assert_eq!(Lang::En.decimal(2.0, 2), "2.00");
        assert_eq!(Lang::En.decimal(0.05, 1), "0.1");
        assert_eq!(Lang::En.decimal(9.96, 1), "10.0");
        assert_eq!(Lang::Ru.decimal(1_234.5, 0), "1\u{a0}235");
        assert_eq!(Lang::En.decimal(-0.5, 0), "-1");
        assert_eq!(Lang::En.decimal(3.000_001, 1), "3.0");
    }

    const KEYS: Noun = Noun {
        one: "ключ",
        few: "ключа",
        many: "ключей",
    };

    #[test]
    fn russian_nouns_take_the_form_their_number_asks_for() {
        let form = |n| Lang::Ru.noun_form(n, &KEYS);
        for (n, expected) in [
            (0, "ключей"),
            (1, "ключ"),
            (2, "ключа"),
            (4, "ключа"),
            (5, "ключей"),
            (11, "ключей"),
            (12, "ключей"),
            (14, "ключей"),
            (21, "ключ"),
            (22, "ключа"),
            (101, "ключ"),
            (111, "ключей"),
            (1234, "ключа"),
            (1_000_000, "ключей"),
        ] {
            assert_eq!(form(n), expected, "{n}");
        }
        assert_eq!(Lang::Ru.counted(1234, &KEYS), "1\u{a0}234\u{a0}ключа");
        let english = Noun {
            one: "key",
            few: "keys",
            many: "keys",
        };
        assert_eq!(Lang::En.counted(1, &english), "1\u{a0}key");
        assert_eq!(Lang::En.counted(0, &english), "0\u{a0}keys");
    }

    #[test]
    fn durations_and_ages_are_written_in_the_languages_units() {
        let ru = |ms| Lang::Ru.duration_ms(ms).replace('\u{a0}', " ");
        assert_eq!(ru(45), "45 мс");
        assert_eq!(ru(800), "0,8 с");
        assert_eq!(ru(42_400), "42 с");
        assert_eq!(ru(866_000), "14 мин 26 с");
        assert_eq!(ru(7_500_000), "2 ч 5 мин");
        assert_eq!(ru(3_600_000), "1 ч");
        assert_eq!(ru(273_600_000), "3 д 4 ч");
        assert_eq!(
            Lang::En.duration_ms(866_000).replace('\u{a0}', " "),
            "14 min 26 s"
        );
        assert_eq!(Lang::En.duration_s(0).replace('\u{a0}', " "), "0 ms");
        assert_eq!(Lang::Ru.ago_ms(1200), "только что");
        assert_eq!(
            Lang::Ru.ago_ms(125_000).replace('\u{a0}', " "),
            "2 мин назад"
        );
        assert_eq!(Lang::En.ago_ms(12_000).replace('\u{a0}', " "), "12 s ago");
        assert_eq!(
            Lang::En.ago_ms(3 * 86_400_000).replace('\u{a0}', " "),
            "3 d ago"
        );
    }
}
