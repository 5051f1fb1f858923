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

    /// One reading for a whole cluster from its masters' readings: counters and sizes are
    /// summed (so the hit rate comes from the sums), `run_id` joins every node's (a restart of
    /// any node is a reset), uptime is the shortest, text fields come from the first node.
    pub fn combine(nodes: &[InfoFields]) -> InfoFields {
        const SUMMED: [&str; 9] = [
            "keyspace_hits",
            "keyspace_misses",
            "used_memory",
            "maxmemory",
            "evicted_keys",
            "expired_keys",
            "total_commands_processed",
            "connected_clients",
            "connected_slaves",
        ];
        let mut combined = nodes.first().cloned().unwrap_or_default();
        for name in SUMMED {
            let total: u64 = nodes.iter().filter_map(|node| node.u64(name)).sum();
            combined.0.insert(name.to_owned(), total.to_string());
        }
        if let Some(uptime) = nodes
            .iter()
            .filter_map(|n| n.u64("uptime_in_seconds"))
            .min()
        {
            combined
                .0
                .insert("uptime_in_seconds".into(), uptime.to_string());
        }
        let run_ids: Vec<&str> = nodes.iter().filter_map(|n| n.get("run_id")).collect();
        combined.0.insert("run_id".into(), run_ids.join("+"));
        // Keyspace lines: keys summed per database.
        combined.0.retain(|name, _| {
            !(name.starts_with("db") && name[2..].chars().all(|c| c.is_ascii_digit()))
        });
        let mut keys_per_db: BTreeMap<u32, u64> = BTreeMap::new();
        for node in nodes {
            for (db, keys) in node.keys_per_db() {
                *keys_per_db.entry(db).or_default() += keys;
            }
        }
        for (db, keys) in keys_per_db {
            combined.0.insert(
                format!("db{db}"),
                format!("keys={keys},expires=0,avg_ttl=0"),
            );
        }
        combined
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// A numeric field; `None` when absent or not a number (never a made-up zero).
    pub fn u64(&self, name: &str) -> Option<u64> {
        self.get(name)?.parse().ok()
    }

    /// The fields whose names start with `prefix`, the prefix removed (`cmdstat_get` → `get`).
    pub fn with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.0
            .range(prefix.to_owned()..)
            .take_while(move |(name, _)| name.starts_with(prefix))
            .map(move |(name, value)| (&name[prefix.len()..], value.as_str()))
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

    #[test]
    fn a_cluster_reading_sums_its_masters() {
        let node = |hits: u64, misses: u64, keys: u64, run: &str, uptime: u64| {
            InfoFields::parse(&format!(
                "redis_version:7.0.15\r\nrun_id:{run}\r\nuptime_in_seconds:{uptime}\r\n\
                 keyspace_hits:{hits}\r\nkeyspace_misses:{misses}\r\nused_memory:1000\r\n\
                 maxmemory:0\r\n# Keyspace\r\ndb0:keys={keys},expires=1,avg_ttl=5\r\n"
            ))
        };
        let combined = InfoFields::combine(&[node(90, 10, 5, "a", 100), node(0, 100, 7, "b", 50)]);
        assert_eq!(combined.u64("keyspace_hits"), Some(90));
        assert_eq!(combined.u64("keyspace_misses"), Some(110));
        assert_eq!(combined.u64("used_memory"), Some(2000));
        assert_eq!(combined.u64("uptime_in_seconds"), Some(50));
        assert_eq!(combined.get("run_id"), Some("a+b"));
        assert_eq!(combined.keys_per_db().get(&0), Some(&12));
        assert_eq!(combined.get("redis_version"), Some("7.0.15"));
    }

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
