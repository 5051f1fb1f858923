//! The slow log as cachepanel shows it: each entry reduced to the command, the keys (or key
//! pattern) it named and the client Redis recorded — never a value — and repeated shapes
//! grouped ("HGETALL object:* × 37 in the last hour, 1.2 s total").

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::commands::BLOCKING_COMMANDS;
use crate::model::wire::FromJson;

/// The name cachepanel gives its connections (`CLIENT SETNAME`), so Redis' slow log and
/// client list tell them apart.
pub const OWN_CLIENT_NAME: &str = "cachepanel";

/// Longest key shown; Redis itself cuts arguments at 128 bytes in the slow log.
const KEY_CHARS: usize = 128;

/// One slow-log entry without its values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, FromJson)]
pub struct SlowEntry {
    pub id: u64,
    pub at_ms: i64,
    pub duration_usec: u64,
    /// Upper case, with the subcommand of container commands ("CONFIG GET").
    pub command: String,
    /// The keys or the key pattern it named, in order; values are never kept.
    pub keys: Vec<String>,
    /// Arguments left out (values, options, what Redis itself cut).
    pub dropped_arguments: u64,
    /// "GET user:*": the command with its keys' patterns (ids replaced by `*`).
    pub shape: String,
    /// As Redis recorded them (Redis ≥ 4); empty when it did not.
    pub client_address: String,
    pub client_name: String,
    /// Sent by cachepanel itself (its connections' name).
    pub own: bool,
}

/// Entries of one shape over a window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, FromJson)]
pub struct SlowShape {
    pub shape: String,
    pub count: u64,
    pub total_usec: u64,
    pub max_usec: u64,
    pub last_at_ms: i64,
    /// Distinct "name address" of the clients that sent it, at most `SHAPE_CLIENTS`.
    pub clients: Vec<String>,
    pub blocking: bool,
    pub own: bool,
}

const SHAPE_CLIENTS: usize = 5;

/// What `GET /api/slowlog` answers and the page shows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, FromJson)]
pub struct SlowLogView {
    /// Newest first, at most the asked number; cachepanel's own entries are not kept.
    pub entries: Vec<SlowEntry>,
    /// Shapes of the last hour, by total time.
    pub shapes: Vec<SlowShape>,
    /// Entries kept (bounded by count and age).
    pub kept: u64,
    /// Entries read since cachepanel started, its own included.
    pub read_total: u64,
    /// Of those, entries of cachepanel's own commands (counted, not kept).
    #[serde(default)]
    pub own_total: u64,
    /// Entries Redis had already dropped (`slowlog-max-len`) before they could be read.
    pub missed: u64,
    /// `slowlog-log-slower-than` and `slowlog-max-len` as last read; `None` when CONFIG is
    /// not allowed.
    pub slower_than_usec: Option<i64>,
    pub max_len: Option<u64>,
    /// Why the slow log cannot be read (SLOWLOG renamed or forbidden); the rest still works.
    pub unavailable: Option<String>,
}

/// Where a command's keys are among its arguments (after the name): Redis' own first-key,
/// last-key (negative: from the end) and step. Everything else is a value or an option and is
/// dropped.
#[derive(Clone, Copy)]
enum Keys {
    None,
    Span {
        first: usize,
        last: isize,
        step: usize,
    },
    /// EVAL, EVALSHA, FCALL: `script numkeys key… arg…`.
    Numbered,
    /// SCAN: the `MATCH` pattern.
    MatchPattern,
}

const fn span(first: usize, last: isize, step: usize) -> Keys {
    Keys::Span { first, last, step }
}

/// Commands whose first argument is their only key.
const FIRST_KEY: &[&str] = &[
    "GET",
    "SET",
    "SETEX",
    "PSETEX",
    "SETNX",
    "GETSET",
    "GETDEL",
    "GETEX",
    "APPEND",
    "STRLEN",
    "INCR",
    "INCRBY",
    "DECR",
    "DECRBY",
    "INCRBYFLOAT",
    "SETRANGE",
    "GETRANGE",
    "EXPIRE",
    "PEXPIRE",
    "EXPIREAT",
    "PEXPIREAT",
    "TTL",
    "PTTL",
    "PERSIST",
    "TYPE",
    "DUMP",
    "RESTORE",
    "HGET",
    "HSET",
    "HMSET",
    "HSETNX",
    "HGETALL",
    "HDEL",
    "HKEYS",
    "HVALS",
    "HLEN",
    "HMGET",
    "HEXISTS",
    "HINCRBY",
    "HINCRBYFLOAT",
    "HSCAN",
    "HSTRLEN",
    "HRANDFIELD",
    "LPUSH",
    "RPUSH",
    "LPUSHX",
    "RPUSHX",
    "LPOP",
    "RPOP",
    "LRANGE",
    "LLEN",
    "LINDEX",
    "LREM",
    "LTRIM",
    "LSET",
    "LINSERT",
    "LPOS",
    "SADD",
    "SREM",
    "SMEMBERS",
    "SISMEMBER",
    "SMISMEMBER",
    "SCARD",
    "SPOP",
    "SRANDMEMBER",
    "SSCAN",
    "ZADD",
    "ZREM",
    "ZRANGE",
    "ZRANGEBYSCORE",
    "ZRANGEBYLEX",
    "ZREVRANGE",
    "ZREVRANGEBYSCORE",
    "ZCARD",
    "ZSCORE",
    "ZMSCORE",
    "ZINCRBY",
    "ZRANK",
    "ZREVRANK",
    "ZSCAN",
    "ZCOUNT",
    "ZLEXCOUNT",
    "ZREMRANGEBYSCORE",
    "ZREMRANGEBYRANK",
    "ZPOPMIN",
    "ZPOPMAX",
    "XADD",
    "XRANGE",
    "XREVRANGE",
    "XLEN",
    "XDEL",
    "XTRIM",
    "PFADD",
    "GETBIT",
    "SETBIT",
    "BITCOUNT",
    "BITPOS",
    "GEOADD",
    "GEOPOS",
    "GEODIST",
    "GEOSEARCH",
];

/// Commands whose every argument is a key.
const ALL_KEYS: &[&str] = &[
    "DEL", "UNLINK", "EXISTS", "MGET", "TOUCH", "WATCH", "SUNION", "SINTER", "SDIFF", "PFCOUNT",
];

/// Container commands: the subcommand is kept, and for these the key after it.
const CONTAINERS: &[&str] = &[
    "CONFIG", "CLIENT", "MEMORY", "OBJECT", "SLOWLOG", "COMMAND", "LATENCY", "DEBUG", "CLUSTER",
    "SCRIPT", "FUNCTION", "ACL", "XINFO", "XGROUP", "MODULE",
];

/// Reads of a whole value: in the slow log they block for as long as the value is long
/// (beside `BLOCKING_COMMANDS`, which block for the keyspace or the disk). Lower case, as
/// commandstats names commands.
const WHOLE_VALUE_READS: &[&str] = &[
    "smembers", "hgetall", "lrange", "sunion", "sinter", "sdiff", "zrange",
];

fn keys_of(command: &str) -> Keys {
    // The pattern it walks is its one argument (named in lower case, as everywhere here).
    if command.eq_ignore_ascii_case("keys") {
        return span(1, 1, 1);
    }
    match command {
        "SCAN" => Keys::MatchPattern,
        "EVAL" | "EVALSHA" | "EVAL_RO" | "EVALSHA_RO" | "FCALL" | "FCALL_RO" => Keys::Numbered,
        "MSET" | "MSETNX" => span(1, -1, 2),
        "RENAME" | "RENAMENX" | "SMOVE" | "LMOVE" | "RPOPLPUSH" | "COPY" => span(1, 2, 1),
        "MEMORY USAGE" | "OBJECT ENCODING" | "OBJECT FREQ" | "OBJECT IDLETIME"
        | "OBJECT REFCOUNT" => span(2, 2, 1),
        _ if FIRST_KEY.contains(&command) => span(1, 1, 1),
        _ if ALL_KEYS.contains(&command) => span(1, -1, 1),
        _ => Keys::None,
    }
}

/// Redis' marker for arguments it cut from a long command: "... (12 more arguments)".
fn more_arguments(argument: &str) -> Option<u64> {
    argument
        .strip_prefix("... (")?
        .strip_suffix(" more arguments)")?
        .parse()
        .ok()
}

/// The command, its keys and how many arguments were dropped, from the raw slow-log
/// arguments (the command name first). Values never leave this function.
pub fn redact(arguments: &[Vec<u8>]) -> (String, Vec<String>, u64) {
    let text = |raw: &[u8]| String::from_utf8_lossy(raw).into_owned();
    let Some((name, rest)) = arguments.split_first() else {
        return (String::new(), Vec::new(), 0);
    };
    let mut command = text(name).to_ascii_uppercase();
    let mut rest: Vec<&[u8]> = rest.iter().map(Vec::as_slice).collect();
    let mut cut = 0;
    if let Some(last) = rest.last()
        && let Some(more) = more_arguments(&text(last))
    {
        cut = more;
        rest.pop();
    }
    if CONTAINERS.contains(&command.as_str())
        && let Some(subcommand) = rest.first()
    {
        command = format!("{command} {}", text(subcommand).to_ascii_uppercase());
    }
    let positions: Vec<usize> = match keys_of(&command) {
        Keys::None => Vec::new(),
        Keys::Span { first, last, step } => {
            let last = if last < 0 {
                rest.len() as isize + last + 1
            } else {
                last
            };
            (first..=last.max(0) as usize)
                .step_by(step)
                .filter(|position| *position <= rest.len())
                .collect()
        }
        Keys::Numbered => {
            let count: usize = rest
                .get(1)
                .and_then(|count| text(count).parse().ok())
                .unwrap_or(0);
            (3..3 + count).filter(|p| *p <= rest.len()).collect()
        }
        Keys::MatchPattern => rest
            .iter()
            .position(|argument| argument.eq_ignore_ascii_case(b"MATCH"))
            .map(|at| at + 2)
            .filter(|p| *p <= rest.len())
            .into_iter()
            .collect(),
    };
    let keys: Vec<String> = positions
        .iter()
        .map(|position| shorten(&text(rest[position - 1])))
        .collect();
    let subcommand = usize::from(command.contains(' '));
    let dropped = (rest.len() - subcommand - keys.len()) as u64 + cut;
    (command, keys, dropped)
}

fn shorten(key: &str) -> String {
    if key.chars().count() <= KEY_CHARS {
        return key.to_owned();
    }
    let mut short: String = key.chars().take(KEY_CHARS).collect();
    short.push('…');
    short
}

/// The key with its id-like segments replaced by `*` ("user:42" → "user:*",
/// "contract_employees:list:9e107d9d…" → "contract_employees:list:*"); a pattern stays as is.
pub fn key_pattern(key: &str) -> String {
    key.split(':')
        .map(|segment| if looks_like_id(segment) { "*" } else { segment })
        .collect::<Vec<_>>()
        .join(":")
}

fn looks_like_id(segment: &str) -> bool {
    let digits = !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit());
    let hex = segment.len() >= 16 && segment.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
    let cut = segment.ends_with("more bytes)") || segment.ends_with('…');
    digits || hex || cut
}

pub fn shape(command: &str, keys: &[String]) -> String {
    let mut shape = command.to_owned();
    let mut patterns: Vec<String> = keys.iter().map(|key| key_pattern(key)).collect();
    patterns.dedup();
    for pattern in patterns.iter().take(3) {
        shape.push(' ');
        shape.push_str(pattern);
    }
    if patterns.len() > 3 {
        shape.push_str(" …");
    }
    shape
}

pub fn is_blocking(command: &str) -> bool {
    let name = command
        .split(' ')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    BLOCKING_COMMANDS.contains(&name.as_str()) || WHOLE_VALUE_READS.contains(&name.as_str())
}

/// Groups entries (any order) by shape, by total time descending.
pub fn group_shapes<'a>(entries: impl IntoIterator<Item = &'a SlowEntry>) -> Vec<SlowShape> {
    let mut shapes: BTreeMap<&str, SlowShape> = BTreeMap::new();
    for entry in entries {
        let shape = shapes.entry(&entry.shape).or_insert_with(|| SlowShape {
            shape: entry.shape.clone(),
            count: 0,
            total_usec: 0,
            max_usec: 0,
            last_at_ms: entry.at_ms,
            clients: Vec::new(),
            blocking: is_blocking(&entry.command),
            own: entry.own,
        });
        shape.count += 1;
        shape.total_usec += entry.duration_usec;
        shape.max_usec = shape.max_usec.max(entry.duration_usec);
        shape.last_at_ms = shape.last_at_ms.max(entry.at_ms);
        shape.own &= entry.own;
        let client = format!("{} {}", entry.client_name, entry.client_address)
            .trim()
            .to_owned();
        if !client.is_empty()
            && shape.clients.len() < SHAPE_CLIENTS
            && !shape.clients.contains(&client)
        {
            shape.clients.push(client);
        }
    }
    let mut shapes: Vec<SlowShape> = shapes.into_values().collect();
    shapes.sort_by(|a, b| {
        b.total_usec
            .cmp(&a.total_usec)
            .then_with(|| a.shape.cmp(&b.shape))
    });
    shapes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<Vec<u8>> {
        words.iter().map(|w| w.as_bytes().to_vec()).collect()
    }

    #[test]
    fn values_are_dropped_and_keys_kept() {
        let cases: [(&[&str], &str, &[&str], u64); 8] = [
            (
                &["set", "user:42", "SECRET", "EX", "900"],
                "SET",
                &["user:42"],
                3,
            ),
            (
                &["HSET", "h", "f1", "SECRET", "f2", "SECRET"],
                "HSET",
                &["h"],
                4,
            ),
            (
                &["EVAL", "return 'SECRET'", "2", "k1", "k2", "SECRET"],
                "EVAL",
                &["k1", "k2"],
                3,
            ),
            (
                &["MSET", "a", "SECRET", "b", "SECRET"],
                "MSET",
                &["a", "b"],
                2,
            ),
            (
                &["SCAN", "0", "MATCH", "user:*", "COUNT", "100"],
                "SCAN",
                &["user:*"],
                4,
            ),
            (
                &["CONFIG", "SET", "requirepass", "SECRET"],
                "CONFIG SET",
                &[],
                2,
            ),
            (&["AUTH", "SECRET"], "AUTH", &[], 1),
            (
                &["DEL", "a", "b", "... (30 more arguments)"],
                "DEL",
                &["a", "b"],
                30,
            ),
        ];
        for (raw, command, keys, dropped) in cases {
            let (name, kept, left_out) = redact(&args(raw));
            assert!(!kept.iter().any(|key| key.contains("SECRET")));
            let expected: Vec<String> = keys.iter().map(|key| key.to_string()).collect();
            assert_eq!(
                (name.as_str(), kept, left_out),
                (command, expected, dropped),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn a_numkeys_beyond_the_arguments_and_non_utf8_keys_do_not_panic() {
        let (_, keys, _) = redact(&args(&["EVAL", "s", "9", "k1"]));
        assert_eq!(keys, ["k1"]);
        let (_, keys, _) = redact(&[b"GET".to_vec(), vec![0xff, b':', b'1']]);
        assert_eq!(keys, ["\u{fffd}:1"]);
        assert_eq!(redact(&[]).0, "");
        let (_, keys, dropped) = redact(&args(&["SCAN", "0", "MATCH"]));
        assert!(keys.is_empty() && dropped == 2);
    }

    #[test]
    fn the_pattern_of_a_keyspace_walk_is_kept_and_it_counts_as_blocking() {
        let (name, keys, dropped) = redact(&args(&["keys", "api_objects:*"]));
        assert!(
            name.eq_ignore_ascii_case("keys") && name != "keys",
            "{name}"
        );
        assert_eq!((keys, dropped), (vec!["api_objects:*".to_owned()], 0));
        assert!(is_blocking(&name));
        assert!(is_blocking("HGETALL") && !is_blocking("CONFIG GET"));
    }

    #[test]
    fn shapes_replace_ids_and_hashes_and_group_repeats() {
        assert_eq!(key_pattern("user:42"), "user:*");
        assert_eq!(
            key_pattern("contract_employees:list_active:9e107d9d372bb6826bd81d3542a419d6"),
            "contract_employees:list_active:*"
        );
        assert_eq!(key_pattern("api_objects:*"), "api_objects:*");
        let entry = |id: u64, key: &str, usec: u64, name: &str| SlowEntry {
            id,
            at_ms: id as i64,
            duration_usec: usec,
            command: "SMEMBERS".into(),
            keys: vec![key.into()],
            dropped_arguments: 0,
            shape: shape("SMEMBERS", &[key.into()]),
            client_address: "10.0.0.5:4321".into(),
            client_name: name.into(),
            own: false,
        };
        let entries = [
            entry(1, "api_objects:*", 1000, "web"),
            entry(2, "api_objects:*", 3000, "web"),
            entry(3, "user:*", 500, ""),
            entry(4, "api_objects:*", 2000, "bot"),
        ];
        let shapes = group_shapes(&entries);
        assert_eq!(shapes[0].shape, "SMEMBERS api_objects:*");
        assert_eq!(
            (shapes[0].count, shapes[0].total_usec, shapes[0].max_usec),
            (3, 6000, 3000)
        );
        assert_eq!(
            shapes[0].clients,
            ["web 10.0.0.5:4321", "bot 10.0.0.5:4321"]
        );
        assert!(shapes[0].blocking);
        assert_eq!(shapes[1].clients, ["10.0.0.5:4321"]);
    }
}
