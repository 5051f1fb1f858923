//! One walk of `rate_limit:*`: counters with their TTL and their owner's role (the `top`
//! largest kept), the recent 429 statistics beside them. Run by the reader only.

use std::collections::{HashMap, HashSet};

use tokio::time::Instant;

use super::{DUTY_CYCLE, MAX_COUNTERS, SCAN_COUNT};
use crate::model::format::display_key;
use crate::model::prefix::glob_escape;
use crate::model::rate_limit::{
    CounterRow, CountersReport, DOMINANT_IP_SHARE, KEY_PREFIX, ROLE_COUNT, RejectionMinute, Role,
    RoleLimits, STATS_PREFIX, Subject,
};
use crate::server::clock::now_ms;
use crate::server::rate_limit::RoleLookup;
use crate::server::rate_limit::{recent_minutes, rejection_key};
use crate::server::redis::scan::{WalkEnd, WalkOptions, Walker};
use crate::server::redis::{RedisFailure, RedisTarget};

/// A key of a page the walk handed out, and what its follow-up commands ask.
enum Pending {
    /// A counter: `GET` and `TTL`.
    Counter {
        raw: Vec<u8>,
        shown: String,
        escaped: bool,
        subject: Subject,
    },
    /// A recent 429 statistics key: `GET`.
    Rejections(String),
}

/// A counter whose count and TTL were read, waiting for its owner's role.
struct Read {
    shown: String,
    escaped: bool,
    subject: Subject,
    count: u64,
    ttl: i64,
}

/// Reads every counter (a walk of `rate_limit:*`, statistics keys apart) with its TTL and its
/// owner's role, keeping the `top` largest. Memory is bounded by `top`. Run by the reader only.
pub async fn read_counters(
    redis: &RedisTarget,
    limits: &RoleLimits,
    roles: &RoleLookup,
    top: usize,
) -> Result<CountersReport, RedisFailure> {
    let started = Instant::now();
    let mut pattern = glob_escape(KEY_PREFIX.as_bytes());
    pattern.push(b'*');
    let options = WalkOptions {
        duty_cycle: DUTY_CYCLE,
        max_keys: Some(MAX_COUNTERS),
        lookups: true,
        ..WalkOptions::new(Some(pattern), SCAN_COUNT)
    };
    let mut walker = Walker::start(redis, options).await?;
    let mut report = CountersReport {
        read_at_ms: now_ms(),
        ..Default::default()
    };
    let minutes = recent_minutes();
    let recent_stats: HashSet<String> = minutes
        .iter()
        .flat_map(|minute| Role::ALL.map(|role| rejection_key(role, minute)))
        .collect();
    let mut rejections: HashMap<String, u64> = HashMap::new();
    // The largest counters, trimmed to `top` whenever it doubles: memory stays bounded.
    let mut rows: Vec<CounterRow> = Vec::new();
    let mut busiest_ip: Option<CounterRow> = None;
    let mut pending: Vec<Pending> = Vec::new();
    loop {
        let page = walker.next(follow_ups(&pending)).await?;
        // GET, TTL and the role lookups count as keyspace hits and misses in Redis' stats:
        // recorded as cachepanel's own while the page holds the own-lookups gate.
        let (mut hits, mut misses) = (0_u64, 0_u64);
        let mut tally = |found: bool| if found { hits += 1 } else { misses += 1 };
        let mut replies = page.replies.into_iter();
        let mut read = Vec::new();
        for key in std::mem::take(&mut pending) {
            match key {
                Pending::Rejections(key) => {
                    let value = replies.next().and_then(Result::ok);
                    let count = value
                        .and_then(|v| redis::from_redis_value::<Option<u64>>(v).ok())
                        .flatten();
                    tally(count.is_some());
                    if let Some(count) = count {
                        rejections.insert(key, count);
                    }
                }
                Pending::Counter {
                    shown,
                    escaped,
                    subject,
                    ..
                } => {
                    let count = replies.next().and_then(Result::ok);
                    let ttl = replies.next().and_then(Result::ok);
                    tally(!matches!(count, None | Some(redis::Value::Nil)));
                    let ttl = ttl.and_then(|v| redis::from_redis_value::<i64>(v).ok());
                    tally(ttl.is_some_and(|t| t != -2));
                    let count = count
                        .and_then(|v| redis::from_redis_value::<Option<Vec<u8>>>(v).ok())
                        .flatten()
                        .and_then(|bytes| {
                            std::str::from_utf8(&bytes).ok()?.trim().parse::<u64>().ok()
                        });
                    if let (Some(count), Some(ttl)) = (count, ttl)
                        && ttl != -2
                    {
                        read.push(Read {
                            shown,
                            escaped,
                            subject,
                            count,
                            ttl,
                        });
                    }
                }
            }
        }
        // Roles come from the cached user objects, which on a cluster live on other nodes:
        // one routed lookup per user counter (one pipeline on a single server).
        let lookups: Vec<(usize, redis::Cmd)> = read
            .iter()
            .enumerate()
            .filter_map(|(index, counter)| match &counter.subject {
                Subject::User(id) if !counter.escaped => {
                    let mut get = redis::cmd("GET");
                    get.arg(roles.key_for(id));
                    Some((index, get))
                }
                _ => None,
            })
            .collect();
        let mut user_roles: HashMap<usize, Role> = HashMap::new();
        if !lookups.is_empty() {
            let (indexes, commands): (Vec<usize>, Vec<redis::Cmd>) = lookups.into_iter().unzip();
            let found = redis.query_each(commands).await;
            let found = match found {
                Ok(found) => found,
                Err(failure) => {
                    redis.own_lookups().record(hits, misses);
                    return Err(failure);
                }
            };
            for (index, value) in indexes.into_iter().zip(found) {
                let json = redis::from_redis_value::<Option<String>>(value)
                    .ok()
                    .flatten();
                tally(json.is_some());
                user_roles.insert(index, roles.role_in(json));
            }
        }
        redis.own_lookups().record(hits, misses);
        for (index, counter) in read.into_iter().enumerate() {
            let role = match counter.subject {
                Subject::Ip(_) => Role::Guest,
                Subject::User(_) => user_roles.get(&index).copied().unwrap_or(Role::Unknown),
            };
            let mut row = CounterRow::new(
                counter.shown.clone(),
                counter.subject,
                role,
                counter.count,
                counter.ttl,
                limits,
            );
            row.key_escaped = counter.escaped;
            report.counters += 1;
            report.total_requests += row.count;
            report.over_limit += u64::from(row.is_over_limit());
            report.near_limit += u64::from(row.is_near_limit());
            if row.ttl_seconds.is_none() {
                report.without_ttl_total += 1;
                if report.without_ttl.len() < 100 {
                    report.without_ttl.push(counter.shown);
                }
            }
            if matches!(row.subject, Subject::Ip(_))
                && busiest_ip.as_ref().is_none_or(|ip| ip.count < row.count)
            {
                busiest_ip = Some(row.clone());
            }
            rows.push(row);
            if rows.len() >= 2 * top.max(1) {
                sort_and_trim(&mut rows, top);
            }
        }
        if let Some(end) = page.end {
            report.capped = end == WalkEnd::Capped;
            break;
        }
        pending = classify(page.keys, &recent_stats);
    }
    sort_and_trim(&mut rows, top);
    report.top = rows;
    report.rejections = minutes
        .iter()
        .map(|minute| {
            let mut per_role = [0; ROLE_COUNT];
            for (slot, role) in per_role.iter_mut().zip(Role::ALL) {
                *slot = rejections
                    .get(&rejection_key(role, minute))
                    .copied()
                    .unwrap_or(0);
            }
            RejectionMinute {
                minute: minute.format("%H:%M").to_string(),
                per_role,
            }
        })
        .collect();
    report.dominant_ip = busiest_ip.filter(|row| {
        report.total_requests > 0
            && row.count as f64 >= DOMINANT_IP_SHARE * report.total_requests as f64
            && report.counters > 1
    });
    report.walk_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// The counters and the recent statistics keys among a page's keys. Older statistics keys and
/// keys of no known shape are passed over.
fn classify(keys: Vec<Vec<u8>>, recent_stats: &HashSet<String>) -> Vec<Pending> {
    keys.into_iter()
        .filter_map(|key| {
            let (shown, escaped) = display_key(&key);
            if key.starts_with(STATS_PREFIX.as_bytes()) {
                return recent_stats
                    .contains(&shown)
                    .then_some(Pending::Rejections(shown));
            }
            let subject = Subject::from_key(&shown)?;
            Some(Pending::Counter {
                raw: key,
                shown,
                escaped,
                subject,
            })
        })
        .collect()
}

/// The commands for `pending`, in order; counters are asked for by their real bytes.
fn follow_ups(pending: &[Pending]) -> Vec<redis::Cmd> {
    let mut commands = Vec::new();
    for key in pending {
        match key {
            Pending::Rejections(key) => {
                let mut get = redis::cmd("GET");
                get.arg(key);
                commands.push(get);
            }
            Pending::Counter { raw, .. } => {
                let mut get = redis::cmd("GET");
                get.arg(raw);
                let mut ttl = redis::cmd("TTL");
                ttl.arg(raw);
                commands.extend([get, ttl]);
            }
        }
    }
    commands
}

/// Highest counts first (ties by key), at most `top`.
fn sort_and_trim(rows: &mut Vec<CounterRow>, top: usize) {
    rows.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
    rows.truncate(top);
}

/// 429s per role (in `Role::ALL` order) in the last complete minute of `report`, for
/// `/metrics`: the minute before the one the walk ran in.
pub fn rejections_last_minute(report: &CountersReport) -> [u64; ROLE_COUNT] {
    let minutes = report.rejections.len();
    minutes
        .checked_sub(2)
        .and_then(|index| report.rejections.get(index))
        .map_or([0; ROLE_COUNT], |minute| minute.per_role)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_is_sorted_into_counters_and_recent_statistics_by_the_keys_bytes() {
        let recent: HashSet<String> =
            ["rate_limit:stats:rejected:owner:202612011000".to_owned()].into();
        let keys = vec![
            b"rate_limit:user:7".to_vec(),
            b"rate_limit:ip:\xff\xfe".to_vec(),
            b"rate_limit:stats:rejected:owner:202612011000".to_vec(),
            b"rate_limit:stats:rejected:owner:202501010000".to_vec(),
            b"rate_limit:other".to_vec(),
        ];
        let pending = classify(keys, &recent);
        assert_eq!(pending.len(), 3);
        assert!(
            matches!(&pending[1], Pending::Counter { raw, escaped: true, shown, .. }
            if raw == b"rate_limit:ip:\xff\xfe" && shown == "rate_limit:ip:\\xff\\xfe")
        );
        let commands = follow_ups(&pending);
        // GET + TTL for each counter, GET for the statistics key.
        assert_eq!(commands.len(), 5);
        assert_eq!(commands[2].get_packed_command(), {
            let mut get = redis::cmd("GET");
            get.arg(b"rate_limit:ip:\xff\xfe");
            get.get_packed_command()
        });
    }

    #[test]
    fn the_last_complete_minute_is_the_one_before_the_walks_minute() {
        let report = CountersReport {
            rejections: vec![
                RejectionMinute {
                    minute: "10:00".into(),
                    per_role: [1, 0, 0, 0, 0, 0],
                },
                RejectionMinute {
                    minute: "10:01".into(),
                    per_role: [0, 7, 0, 0, 0, 0],
                },
                RejectionMinute {
                    minute: "10:02".into(),
                    per_role: [0, 0, 9, 0, 0, 0],
                },
            ],
            ..Default::default()
        };
        assert_eq!(rejections_last_minute(&report), [0, 7, 0, 0, 0, 0]);
        assert_eq!(rejections_last_minute(&CountersReport::default()), [0; 6]);
    }
}
