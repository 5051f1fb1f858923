//! The leaves every setting is read with: `Env` (the environment over an optional TOML file,
//! with typed readers whose errors name the variable), the error itself, and the types that
//! keep secrets out of logs. Imports nothing from `crate::server`.

mod file;
mod secret;

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::ops::RangeInclusive;
use std::time::Duration;

pub use file::FileSettings;
pub use secret::{RedisUrl, Secret};

/// A configuration problem, naming the variable and what is wrong with its value.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

/// A `ConfigError` for `variable`.
pub fn invalid(variable: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        problem: problem.into(),
    }
}

type Lookup = Box<dyn Fn(&str) -> Option<String>>;

/// Where settings come from: a lookup by variable name (the process environment over a TOML
/// file, or pairs in tests). Every name asked for is recorded, so a test can hold the list of
/// variables read against the registry. Blank values count as unset.
pub struct Env {
    lookup: Lookup,
    asked: RefCell<BTreeSet<&'static str>>,
}

impl Env {
    pub fn new(lookup: impl Fn(&str) -> Option<String> + 'static) -> Self {
        Self {
            lookup: Box::new(lookup),
            asked: RefCell::default(),
        }
    }

    /// The process environment; a variable that is set wins over the file.
    pub fn process(file: FileSettings) -> Self {
        Self::new(move |name| std::env::var(name).ok().or_else(|| file.get(name)))
    }

    /// Only these pairs (tests, examples).
    pub fn pairs(pairs: &[(&str, &str)]) -> Self {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        Self::new(move |name| {
            pairs
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        })
    }

    /// Every variable asked for so far.
    pub fn asked(&self) -> BTreeSet<&'static str> {
        self.asked.borrow().clone()
    }

    /// The raw value, `None` when unset or blank.
    pub fn text(&self, name: &'static str) -> Option<String> {
        self.asked.borrow_mut().insert(name);
        (self.lookup)(name).filter(|value| !value.trim().is_empty())
    }

    /// The value trimmed, or `default`.
    pub fn word(&self, name: &'static str, default: &str) -> String {
        self.text(name)
            .map_or_else(|| default.to_owned(), |text| text.trim().to_owned())
    }

    /// Comma-separated items, trimmed, blanks dropped; `default` (same syntax) when unset.
    pub fn list(&self, name: &'static str, default: &str) -> Vec<String> {
        self.text(name)
            .unwrap_or_else(|| default.to_owned())
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// The value through `parse`, whose error becomes the variable's; `None` when unset.
    pub fn parsed<T>(
        &self,
        name: &'static str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<Option<T>, ConfigError> {
        self.text(name)
            .map(|text| parse(&text).map_err(|problem| invalid(name, problem)))
            .transpose()
    }

    pub fn flag(&self, name: &'static str, default: bool) -> Result<bool, ConfigError> {
        Ok(self
            .parsed(name, |text| {
                parse_flag(text).ok_or_else(|| "expected true or false".to_owned())
            })?
            .unwrap_or(default))
    }

    pub fn whole(
        &self,
        name: &'static str,
        default: u64,
        range: RangeInclusive<u64>,
    ) -> Result<u64, ConfigError> {
        self.bounded(name, default, range, "a whole number")
    }

    pub fn millis(
        &self,
        name: &'static str,
        default: u64,
        range: RangeInclusive<u64>,
    ) -> Result<Duration, ConfigError> {
        Ok(Duration::from_millis(self.bounded(
            name,
            default,
            range,
            "milliseconds",
        )?))
    }

    /// A whole number within `range`; the error says "expected {what} between …".
    fn bounded(
        &self,
        name: &'static str,
        default: u64,
        range: RangeInclusive<u64>,
        what: &str,
    ) -> Result<u64, ConfigError> {
        Ok(self
            .parsed(name, |text| {
                text.trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|number| range.contains(number))
                    .ok_or_else(|| {
                        format!(
                            "expected {what} between {} and {}",
                            range.start(),
                            range.end()
                        )
                    })
            })?
            .unwrap_or(default))
    }

    pub fn percent(&self, name: &'static str, default: f64) -> Result<f64, ConfigError> {
        Ok(self
            .parsed(name, |text| {
                text.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|percent| (0.0..=100.0).contains(percent))
                    .ok_or_else(|| "expected a percentage between 0 and 100".to_owned())
            })?
            .unwrap_or(default))
    }

    /// A share of wall time Redis may be kept busy: above 0, at most 1.
    pub fn share(&self, name: &'static str, default: f64) -> Result<f64, ConfigError> {
        Ok(self
            .parsed(name, |text| {
                text.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|share| *share > 0.0 && *share <= 1.0)
                    .ok_or_else(|| "expected a share of time above 0 and at most 1".to_owned())
            })?
            .unwrap_or(default))
    }
}

fn parse_flag(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "on" | "yes" => Some(true),
        "0" | "false" | "off" | "no" => Some(false),
        _ => None,
    }
}

/// Redis-style memory sizes: "536870912", "512mb", "1gb", "64kb" (1024-based, as Redis).
pub fn parse_memory(text: &str) -> Option<u64> {
    let text = text.trim().to_ascii_lowercase();
    let digits_end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits_end);
    let multiplier: u64 = match unit.trim() {
        "" | "b" => 1,
        "k" | "kb" => 1 << 10,
        "m" | "mb" => 1 << 20,
        "g" | "gb" => 1 << 30,
        _ => return None,
    };
    number.parse::<u64>().ok()?.checked_mul(multiplier)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_name_the_variable_and_blank_means_unset() {
        let env = Env::pairs(&[("A", " 5 "), ("B", "  "), ("C", "yes"), ("D", "0.5")]);
        assert_eq!(env.whole("A", 1, 0..=10), Ok(5));
        assert_eq!(env.whole("B", 7, 0..=10), Ok(7));
        assert_eq!(env.whole("A", 1, 0..=4).unwrap_err().variable, "A");
        assert_eq!(env.flag("C", false), Ok(true));
        assert_eq!(env.share("D", 1.0), Ok(0.5));
        assert!(env.share("A", 1.0).is_err());
        assert_eq!(env.millis("A", 1, 1..=10), Ok(Duration::from_millis(5)));
        assert_eq!(env.list("B", "x, y,,"), vec!["x", "y"]);
        assert_eq!(
            env.asked().into_iter().collect::<Vec<_>>(),
            vec!["A", "B", "C", "D"]
        );
    }

    #[test]
    fn memory_sizes_parse_like_redis() {
        assert_eq!(parse_memory("536870912"), Some(536_870_912));
        assert_eq!(parse_memory("512mb"), Some(512 << 20));
        assert_eq!(parse_memory("1GB"), Some(1 << 30));
        assert_eq!(parse_memory("64k"), Some(64 << 10));
        assert_eq!(parse_memory("lots"), None);
    }
}
