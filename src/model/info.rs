//! Parser for the text Redis answers to `INFO`: `# Section` headers and `field:value` lines.

use std::collections::BTreeMap;

/// The fields of one `INFO` reply, by name. Section headers and blank lines are dropped;
/// a field that appears twice keeps its last value (Redis never repeats one).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InfoFields(BTreeMap<String, String>);

impl InfoFields {
    pub fn parse(text: &str) -> Self {
        let fields = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect();
        Self(fields)
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// A numeric field; `None` when absent or not a number (never a made-up zero).
    pub fn u64(&self, name: &str) -> Option<u64> {
        self.get(name)?.parse().ok()
    }

    /// Keys per database from the keyspace section (`db0:keys=1,expires=0,avg_ttl=0`).
    pub fn keys_per_db(&self) -> BTreeMap<u32, u64> {
        self.0
            .iter()
            .filter_map(|(name, value)| {
                let db = name.strip_prefix("db")?.parse().ok()?;
                let keys = value
                    .split(',')
                    .find_map(|part| part.strip_prefix("keys="))?
                    .parse()
                    .ok()?;
                Some((db, keys))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRESH: &str = include_str!("../../tests/fixtures/info_7.0_fresh.txt");

    #[test]
    fn parses_fields_from_a_captured_reply_with_crlf_line_ends() {
        let info = InfoFields::parse(FRESH);
        assert_eq!(info.get("redis_version"), Some("7.0.15"));
        assert_eq!(info.u64("keyspace_hits"), Some(1));
        assert_eq!(info.u64("keyspace_misses"), Some(1));
        assert_eq!(info.get("maxmemory_policy"), Some("noeviction"));
    }

    #[test]
    fn reads_keys_per_database_from_the_keyspace_section() {
        let info = InfoFields::parse(
            "# Keyspace\r\ndb0:keys=12,expires=3,avg_ttl=0\r\ndb3:keys=4,expires=0,avg_ttl=0\r\n",
        );
        assert_eq!(
            info.keys_per_db().into_iter().collect::<Vec<_>>(),
            vec![(0, 12), (3, 4)]
        );
    }

    #[test]
    fn a_non_numeric_value_is_absent_rather_than_zero() {
        let info = InfoFields::parse("maxmemory:lots\r\n");
        assert_eq!(info.u64("maxmemory"), None);
    }

    #[test]
    fn values_containing_colons_are_kept_whole() {
        let info = InfoFields::parse("executable:/usr/bin/redis-server\r\nmaster_host:::1\r\n");
        assert_eq!(info.get("master_host"), Some("::1"));
    }
}
