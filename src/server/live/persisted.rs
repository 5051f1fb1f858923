//! The 24 h of minute rollups kept in Redis as well, so a restarted (or a new) cachepanel shows
//! the same charts: one sorted set per target, scored by minute, written once a minute (one
//! round trip), trimmed to a day and expiring a few days after the last write.

use crate::server::live::history::MinuteRollup;
use crate::server::redis::{RedisFailure, RedisTarget};

const DAY_MS: i64 = 24 * 60 * 60_000;
/// Kept this long after the last write, so a stopped cachepanel leaves nothing for good.
const KEEP_AFTER_LAST_WRITE_MS: i64 = 3 * DAY_MS;

/// `cachepanel:{target}:history` (namespace configurable): the braces keep a cluster's copy
/// in one slot.
pub fn history_key(redis: &RedisTarget) -> String {
    redis.state_key("history")
}

/// Writes a closed minute (replacing one written for the same minute, by this or another
/// replica) and trims what is older than a day.
pub async fn save_minute(
    redis: &RedisTarget,
    key: &str,
    minute: &MinuteRollup,
    now_ms: i64,
) -> Result<(), RedisFailure> {
    let key = key.to_owned();
    let start = minute.minute_start_ms;
    let line = minute.encode();
    redis
        .run(move |mut connection| async move {
            redis::pipe()
                .atomic()
                .cmd("ZREMRANGEBYSCORE")
                .arg(&key)
                .arg(start)
                .arg(start)
                .ignore()
                .cmd("ZADD")
                .arg(&key)
                .arg(start)
                .arg(line)
                .ignore()
                .cmd("ZREMRANGEBYSCORE")
                .arg(&key)
                .arg("-inf")
                .arg(format!("({}", now_ms - DAY_MS))
                .ignore()
                .cmd("PEXPIRE")
                .arg(&key)
                .arg(KEEP_AFTER_LAST_WRITE_MS)
                .ignore()
                .query_async::<()>(&mut connection)
                .await
        })
        .await
}

/// The last day of minutes a previous run wrote, oldest first; unreadable lines are skipped.
/// Counted as cachepanel's own lookup, so it never shows in the hit rate.
pub async fn load(
    redis: &RedisTarget,
    key: &str,
    now_ms: i64,
) -> Result<Vec<MinuteRollup>, RedisFailure> {
    let key = key.to_owned();
    let lines: Vec<String> = redis
        .run(move |mut connection| async move {
            redis::cmd("ZRANGEBYSCORE")
                .arg(&key)
                .arg(now_ms - DAY_MS)
                .arg("+inf")
                .query_async(&mut connection)
                .await
        })
        .await?;
    let found = u64::from(!lines.is_empty());
    redis.own_lookups().record(found, 1 - found);
    Ok(lines
        .iter()
        .filter_map(|line| MinuteRollup::decode(line))
        .collect())
}
