//! A TOML settings file: a flat table naming the `CACHEPANEL_*` variables without the prefix,
//! in lower case. Which names are allowed is the registry's business (`config::read_file`).

use std::collections::BTreeMap;

use super::{ConfigError, invalid};

/// Settings read from a TOML file, by environment variable name.
#[derive(Clone, Debug, Default)]
pub struct FileSettings(BTreeMap<String, String>);

impl FileSettings {
    /// Reads `path`: strings, numbers, booleans, or arrays of them (joined with commas).
    pub fn read(path: &std::path::Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| {
            invalid(
                "--config",
                format!("cannot read {}: {}", path.display(), error.kind()),
            )
        })?;
        Self::parse(&text)
            .map_err(|problem| invalid("--config", format!("{}: {problem}", path.display())))
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        let table: toml::Table = text
            .parse()
            // TOML errors quote the offending line, which may hold a secret: position only.
            .map_err(|error: toml::de::Error| match error.span() {
                Some(span) => format!("not valid TOML (at byte {})", span.start),
                None => "not valid TOML".to_owned(),
            })?;
        let mut settings = BTreeMap::new();
        for (key, value) in table {
            let text = match value {
                toml::Value::String(text) => text,
                toml::Value::Integer(number) => number.to_string(),
                toml::Value::Float(number) => number.to_string(),
                toml::Value::Boolean(flag) => flag.to_string(),
                toml::Value::Array(items) => items
                    .iter()
                    .map(|item| match item {
                        toml::Value::String(text) => text.clone(),
                        other => other.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join(","),
                _ => {
                    return Err(format!(
                        "'{key}': expected a string, number, boolean or array"
                    ));
                }
            };
            settings.insert(format!("CACHEPANEL_{}", key.to_ascii_uppercase()), text);
        }
        Ok(Self(settings))
    }

    pub fn get(&self, variable: &str) -> Option<String> {
        self.0.get(variable).cloned()
    }

    /// The variables the file sets, e.g. `CACHEPANEL_REDIS_URL` for `redis_url`.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }
}
