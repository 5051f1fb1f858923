//! Reads Redis' slow log incrementally: `SLOWLOG GET 1` tells whether anything is newer than
//! the last id seen, and only then are exactly the new entries asked for. A restart (another
//! `run_id`, or ids going back) starts the ids over; `SLOWLOG RESET` only empties Redis' list,
//! its ids go on, so neither causes duplicates. Values are dropped as entries are read.

use std::collections::VecDeque;

use redis::Value;

use crate::model::slowlog::{OWN_CLIENT_NAME, SlowEntry, SlowLogView, group_shapes, redact, shape};
use crate::server::redis::{RedisFailure, RedisTarget};

/// Entries kept per node, and for how long.
pub const KEEP_ENTRIES: usize = 500;
const KEEP_MS: i64 = 24 * 60 * 60_000;
/// Most entries asked for in one read (Redis' default `slowlog-max-len` is 128).
const FETCH_AT_MOST: u64 = 128;
const SHAPES_WINDOW_MS: i64 = 60 * 60_000;

/// The slow log of one node as read so far.
#[derive(Clone, Debug, Default)]
pub struct SlowLogTracker {
    entries: VecDeque<SlowEntry>,
    last_id: Option<u64>,
    run_id: Option<String>,
    pub read_total: u64,
    /// Entries of cachepanel's own commands, read and dropped.
    pub own_total: u64,
    pub missed: u64,
    pub unavailable: Option<String>,
}

impl SlowLogTracker {
    /// Reads what is new on `node`; `run_id` (from the sampler's INFO) detects restarts,
    /// `max_len` (`slowlog-max-len`) tells a reset from entries Redis dropped unread.
    pub async fn read_new(
        &mut self,
        node: &RedisTarget,
        run_id: Option<&str>,
        max_len: Option<u64>,
        now_ms: i64,
        // cachepanel's own keys start with `{namespace}:`: commands on them alone are its
        // own too, even where Redis names no client (inside its lease scripts).
        namespace: &str,
    ) -> Result<usize, RedisFailure> {
        if run_id.is_some() && self.run_id.as_deref() != run_id {
            if self.run_id.is_some() {
                self.last_id = None; // restarted: its ids start again from 0
            }
            self.run_id = run_id.map(str::to_owned);
        }
        let newest = match read_entries(node, 1).await {
            Ok(newest) => newest,
            Err(failure) => {
                self.unavailable = Some(failure.reason.clone());
                return Err(failure);
            }
        };
        self.unavailable = None;
        let Some(newest_id) = newest.first().map(|entry| entry.id) else {
            return Ok(0);
        };
        if self.last_id.is_some_and(|last| newest_id < last) {
            self.last_id = None; // ids went back: a restart between two readings
        }
        let wanted = match self.last_id {
            Some(last) if newest_id == last => return Ok(0),
            Some(last) => newest_id - last,
            None => max_len.unwrap_or(FETCH_AT_MOST),
        };
        let asked = wanted.clamp(1, FETCH_AT_MOST);
        let batch = if asked == 1 {
            newest
        } else {
            read_entries(node, asked).await?
        };
        let fresh: Vec<SlowEntry> = batch
            .into_iter()
            .filter(|entry| self.last_id.is_none_or(|last| entry.id > last))
            .collect();
        if let Some(last) = self.last_id {
            // More new ids than Redis keeps or than one read asks for: those were lost
            // unread. Fewer entries than ids within that bound: a SLOWLOG RESET, not a gap.
            let gap = newest_id - last;
            let could_hold = max_len.unwrap_or(FETCH_AT_MOST).min(FETCH_AT_MOST);
            if gap > could_hold {
                self.missed += gap - fresh.len() as u64;
            }
        }
        self.last_id = Some(newest_id);
        let count = fresh.len();
        self.read_total += count as u64;
        // Redis answers newest first; kept oldest first. cachepanel's own entries (with
        // `slowlog-log-slower-than 0`, several per sample) would crowd out the ones worth
        // reading: they are only counted.
        let own_prefix = format!("{namespace}:");
        for entry in fresh.into_iter().rev() {
            let own_keys_only =
                !entry.keys.is_empty() && entry.keys.iter().all(|key| key.starts_with(&own_prefix));
            if entry.own || own_keys_only {
                self.own_total += 1;
            } else {
                self.entries.push_back(entry);
            }
        }
        while self.entries.len() > KEEP_ENTRIES
            || self
                .entries
                .front()
                .is_some_and(|oldest| now_ms - oldest.at_ms > KEEP_MS)
        {
            self.entries.pop_front();
        }
        Ok(count)
    }

    pub fn entries(&self) -> impl DoubleEndedIterator<Item = &SlowEntry> {
        self.entries.iter()
    }
}

/// The view of one or more nodes' slow logs: newest `limit` entries, the last hour's shapes.
pub fn view<'a>(
    trackers: impl IntoIterator<Item = &'a SlowLogTracker>,
    limit: usize,
    now_ms: i64,
) -> SlowLogView {
    let trackers: Vec<&SlowLogTracker> = trackers.into_iter().collect();
    let mut entries: Vec<SlowEntry> = trackers
        .iter()
        .flat_map(|tracker| tracker.entries())
        .cloned()
        .collect();
    entries.sort_by(|a, b| b.at_ms.cmp(&a.at_ms).then_with(|| b.id.cmp(&a.id)));
    let shapes = group_shapes(
        entries
            .iter()
            .filter(|entry| now_ms - entry.at_ms <= SHAPES_WINDOW_MS),
    );
    let kept = entries.len() as u64;
    entries.truncate(limit);
    SlowLogView {
        entries,
        shapes,
        kept,
        read_total: trackers.iter().map(|t| t.read_total).sum(),
        own_total: trackers.iter().map(|t| t.own_total).sum(),
        missed: trackers.iter().map(|t| t.missed).sum(),
        slower_than_usec: None,
        max_len: None,
        unavailable: trackers.iter().find_map(|t| t.unavailable.clone()),
    }
}

async fn read_entries(node: &RedisTarget, count: u64) -> Result<Vec<SlowEntry>, RedisFailure> {
    let reply: Value = node
        .run(move |mut connection| async move {
            redis::cmd("SLOWLOG")
                .arg("GET")
                .arg(count)
                .query_async(&mut connection)
                .await
        })
        .await?;
    Ok(parse_entries(reply))
}

/// `SLOWLOG GET` entries: `[id, unix seconds, µs, [arguments…], "addr", "name"]` (the last
/// two since Redis 4). Malformed entries are skipped.
fn parse_entries(reply: Value) -> Vec<SlowEntry> {
    let Value::Array(entries) = reply else {
        return Vec::new();
    };
    entries.into_iter().filter_map(parse_entry).collect()
}

fn parse_entry(entry: Value) -> Option<SlowEntry> {
    let Value::Array(fields) = entry else {
        return None;
    };
    let mut fields = fields.into_iter();
    let number = |value: Option<Value>| match value {
        Some(Value::Int(number)) => Some(number),
        _ => None,
    };
    let id = number(fields.next())?;
    let at_seconds = number(fields.next())?;
    let duration_usec = number(fields.next())?;
    let Some(Value::Array(raw_arguments)) = fields.next() else {
        return None;
    };
    let arguments: Vec<Vec<u8>> = raw_arguments
        .into_iter()
        .filter_map(|argument| match argument {
            Value::BulkString(bytes) => Some(bytes),
            Value::SimpleString(text) => Some(text.into_bytes()),
            _ => None,
        })
        .collect();
    let (command, keys, dropped_arguments) = redact(&arguments);
    drop(arguments); // the values go no further
    let mut text = || match fields.next() {
        Some(Value::BulkString(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
        Some(Value::SimpleString(text)) => text,
        _ => String::new(),
    };
    let client_address = text();
    let client_name = text();
    Some(SlowEntry {
        id: u64::try_from(id).ok()?,
        at_ms: at_seconds.saturating_mul(1000),
        duration_usec: u64::try_from(duration_usec).unwrap_or(0),
        shape: shape(&command, &keys),
        own: client_name == OWN_CLIENT_NAME,
        command,
        keys,
        dropped_arguments,
        client_address,
        client_name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(text: &str) -> Value {
        Value::BulkString(text.as_bytes().to_vec())
    }

    #[test]
    fn an_entry_keeps_the_client_and_drops_the_value() {
        let reply = Value::Array(vec![
            Value::Array(vec![
                Value::Int(7),
                Value::Int(1_700_000_000),
                Value::Int(38_000),
                Value::Array(vec![bulk("SET"), bulk("user:42"), bulk("top-secret")]),
                bulk("172.18.0.5:43210"),
                bulk("web"),
            ]),
            Value::Array(vec![Value::Int(6)]),
            Value::Nil,
        ]);
        let entries = parse_entries(reply);
        assert_eq!(entries.len(), 1, "malformed entries are skipped");
        let entry = &entries[0];
        assert_eq!(
            (entry.id, entry.at_ms, entry.duration_usec),
            (7, 1_700_000_000_000, 38_000)
        );
        assert_eq!(
            (entry.command.as_str(), entry.shape.as_str()),
            ("SET", "SET user:*")
        );
        assert_eq!(entry.keys, ["user:42"]);
        assert_eq!(
            (entry.client_address.as_str(), entry.client_name.as_str()),
            ("172.18.0.5:43210", "web")
        );
        assert!(!format!("{entry:?}").contains("top-secret"));
    }
}
