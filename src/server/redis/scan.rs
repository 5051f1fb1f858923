//! The one keyspace walker. Census, flush preview, flush and the rate-limit counters reader all
//! walk through it, so every rule holds for each of them: `SCAN` only (never `KEYS`), every
//! master of a cluster exactly once, keys as bytes (`Vec<u8>`, a non-UTF-8 key is an ordinary
//! key), a duty cycle between pages, a cap on the keys handed out, cancellation within one
//! page, and errors that name the cluster node they came from.
//!
//! The walk is pulled page by page: each `next` sends the caller's follow-up commands for the
//! previous page's keys (TYPE/PTTL/MEMORY for the census, UNLINK for a flush, GET/TTL for the
//! counters) on the node those keys came from, in the same round trip as the next `SCAN`, and
//! returns their replies with the new page. Between pages the caller may do async work of its
//! own (the counters reader looks up roles, which on a cluster live on other nodes).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use redis::{RedisResult, Value};
use tokio::time::Instant;

use super::pacing::Pacer;
use super::{RedisFailure, RedisTarget};

/// Bounds of an adaptive `COUNT`: smaller pages when Redis answers slowly, larger when quick;
/// larger pages gain little throughput and make other clients wait longer behind each SCAN.
const MIN_COUNT: u64 = 100;
const MAX_COUNT: u64 = 2000;

/// How a walk goes.
#[derive(Clone, Debug)]
pub struct WalkOptions {
    /// `SCAN … MATCH`, already glob-escaped; `None` walks every key.
    pub pattern: Option<Vec<u8>>,
    /// `SCAN … COUNT` (a hint to Redis, not a bound).
    pub count: u64,
    /// Adapt `COUNT` (within 100..=2000) so a page's round trip stays near this.
    pub adapt_to: Option<Duration>,
    /// Share of wall time the walk may keep Redis busy (clamped to 0.05..=1).
    pub duty_cycle: f64,
    /// Stop once this many keys were handed out (the walk ends `Capped`).
    pub max_keys: Option<u64>,
    /// Setting it stops the walk before its next page (the walk ends `Cancelled`).
    pub cancel: Option<Arc<AtomicBool>>,
    /// The follow-ups are keyspace lookups (they count as hits and misses in Redis' INFO):
    /// each round trip and the caller's recording of it happen under the own-lookups gate,
    /// which the returned page holds until it is dropped.
    pub lookups: bool,
}

impl WalkOptions {
    /// Every key matching `pattern` (or every key), full speed, no cap.
    pub fn new(pattern: Option<Vec<u8>>, count: u64) -> Self {
        Self {
            pattern,
            count,
            adapt_to: None,
            duty_cycle: 1.0,
            max_keys: None,
            cancel: None,
            lookups: false,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WalkEnd {
    /// Every master walked to its end.
    Complete,
    Cancelled,
    /// `max_keys` reached; the rest of the keyspace was not walked.
    Capped,
}

/// One step of a walk: the keys of a new page, the replies to the follow-ups sent with it (in
/// order; a failed command is an `Err` of its own), and, on the last step, how it ended (the
/// last step carries no keys, only the replies to the last follow-ups).
pub struct Page<'a> {
    pub keys: Vec<Vec<u8>>,
    pub replies: Vec<RedisResult<Value>>,
    pub end: Option<WalkEnd>,
    /// Held until the caller has recorded the replies (see `WalkOptions::lookups`).
    _gate: Option<tokio::sync::RwLockReadGuard<'a, ()>>,
}

pub struct Walker<'a> {
    target: &'a RedisTarget,
    nodes: Vec<RedisTarget>,
    options: WalkOptions,
    /// Index of the node the last page came from (the follow-ups go there).
    node: usize,
    cursor: u64,
    /// The last page of `node` was handed out: the next step moves on.
    node_finished: bool,
    count: u64,
    pacer: Pacer,
    last_busy: Option<Duration>,
    keys_returned: u64,
    examined: u64,
    ended: Option<WalkEnd>,
}

impl<'a> Walker<'a> {
    /// Resolves the masters to walk (a single server is its own only master).
    pub async fn start(
        target: &'a RedisTarget,
        options: WalkOptions,
    ) -> Result<Self, RedisFailure> {
        let nodes = target.masters().await?;
        let count = match options.adapt_to {
            Some(_) => options.count.clamp(MIN_COUNT, MAX_COUNT),
            None => options.count.max(1),
        };
        Ok(Self {
            target,
            pacer: Pacer::new(options.duty_cycle),
            nodes,
            options,
            node: 0,
            cursor: 0,
            node_finished: false,
            count,
            last_busy: None,
            keys_returned: 0,
            examined: 0,
            ended: None,
        })
    }

    /// The masters this walk visits, in order.
    pub fn nodes(&self) -> &[RedisTarget] {
        &self.nodes
    }

    pub fn is_cluster(&self) -> bool {
        self.target.is_cluster()
    }

    /// On a cluster, the address of the node being walked; `None` on a single server.
    pub fn node_name(&self) -> Option<String> {
        if !self.target.is_cluster() {
            return None;
        }
        self.nodes
            .get(self.node)
            .map(|node| node.address().unwrap_or_default())
    }

    /// Masters walked to their end.
    pub fn nodes_done(&self) -> u32 {
        let done = if self.ended == Some(WalkEnd::Complete) {
            self.nodes.len()
        } else {
            self.node
        };
        u32::try_from(done).unwrap_or(u32::MAX)
    }

    pub fn nodes_total(&self) -> u32 {
        u32::try_from(self.nodes.len()).unwrap_or(u32::MAX)
    }

    /// Keys Redis examined so far, estimated as the sum of the pages' `COUNT` (with a pattern
    /// SCAN returns only the matches, so this is the progress measure of a filtered walk).
    pub fn examined(&self) -> u64 {
        self.examined
    }

    /// Sends `follow_ups` (commands about the previous page's keys) and fetches the next page.
    pub async fn next(&mut self, follow_ups: Vec<redis::Cmd>) -> Result<Page<'a>, RedisFailure> {
        if let Some(busy) = self.last_busy.take() {
            self.pacer.after(busy).await;
        }
        let gate = match self.options.lookups {
            true => Some(self.target.own_lookups().gate().await),
            false => None,
        };
        let started = Instant::now();
        let result = self.step(follow_ups).await;
        self.last_busy = Some(started.elapsed());
        let (keys, replies, end) = result?;
        Ok(Page {
            keys,
            replies,
            end,
            _gate: gate,
        })
    }

    async fn step(
        &mut self,
        follow_ups: Vec<redis::Cmd>,
    ) -> Result<(Vec<Vec<u8>>, Vec<RedisResult<Value>>, Option<WalkEnd>), RedisFailure> {
        let cancelled = self
            .options
            .cancel
            .as_ref()
            .is_some_and(|flag| flag.load(Ordering::Relaxed));
        let capped = self
            .options
            .max_keys
            .is_some_and(|cap| self.keys_returned >= cap);
        let end = match (self.ended, cancelled, capped) {
            (Some(end), _, _) => Some(end),
            (None, true, _) => Some(WalkEnd::Cancelled),
            (None, false, true) => Some(WalkEnd::Capped),
            (None, false, false) => None,
        };
        if let Some(end) = end {
            // The last follow-ups still go out (a cancelled flush unlinks the page it has).
            let replies = self.send(follow_ups, false).await?.0;
            self.ended = Some(end);
            return Ok((Vec::new(), replies, Some(end)));
        }
        let mut replies = Vec::new();
        let mut follow_ups = follow_ups;
        if self.node_finished {
            replies = self.send(std::mem::take(&mut follow_ups), false).await?.0;
            self.node += 1;
            self.cursor = 0;
            self.node_finished = false;
            if self.node >= self.nodes.len() {
                self.node = self.nodes.len().saturating_sub(1);
                self.ended = Some(WalkEnd::Complete);
                return Ok((Vec::new(), replies, Some(WalkEnd::Complete)));
            }
        }
        let page_started = Instant::now();
        let (more_replies, page) = self.send(follow_ups, true).await?;
        replies.extend(more_replies);
        let Some((cursor, keys)) = page else {
            return Err(self.named(RedisFailure {
                reason: "empty SCAN reply".into(),
            }));
        };
        if let Some(target) = self.options.adapt_to {
            self.count = adapt_count(self.count, page_started.elapsed(), target);
        }
        self.examined += self.count;
        self.cursor = cursor;
        self.node_finished = cursor == 0;
        let keys = match self.options.max_keys {
            Some(cap) => {
                let room =
                    usize::try_from(cap.saturating_sub(self.keys_returned)).unwrap_or(usize::MAX);
                keys.into_iter().take(room).collect::<Vec<_>>()
            }
            None => keys,
        };
        self.keys_returned += keys.len() as u64;
        Ok((keys, replies, None))
    }

    /// One round trip on the current node: `follow_ups`, then (with `scan`) the next SCAN.
    async fn send(
        &self,
        follow_ups: Vec<redis::Cmd>,
        scan: bool,
    ) -> Result<(Vec<RedisResult<Value>>, Option<(u64, Vec<Vec<u8>>)>), RedisFailure> {
        if follow_ups.is_empty() && !scan {
            return Ok((Vec::new(), None));
        }
        let Some(node) = self.nodes.get(self.node) else {
            return Ok((Vec::new(), None));
        };
        let mut pipe = redis::pipe();
        pipe.ignore_errors();
        for command in follow_ups {
            pipe.add_command(command);
        }
        if scan {
            let scan = pipe.cmd("SCAN").arg(self.cursor);
            if let Some(pattern) = &self.options.pattern {
                scan.arg("MATCH").arg(pattern);
            }
            scan.arg("COUNT").arg(self.count);
        }
        let mut replies: Vec<RedisResult<Value>> = node
            .run(|mut connection| async move { pipe.query_async(&mut connection).await })
            .await
            .map_err(|failure| self.named(failure))?;
        if !scan {
            return Ok((replies, None));
        }
        let page = replies
            .pop()
            .ok_or_else(|| RedisFailure {
                reason: "empty SCAN reply".into(),
            })
            .and_then(|reply| {
                let value = reply.map_err(RedisFailure::from)?;
                // The parse error is not shown: it may quote the reply, and so key names.
                redis::from_redis_value::<(u64, Vec<Vec<u8>>)>(value).map_err(|_| RedisFailure {
                    reason: "unexpected SCAN reply".into(),
                })
            })
            .map_err(|failure| self.named(failure))?;
        Ok((replies, Some(page)))
    }

    /// On a cluster, the failure with the node it came from.
    fn named(&self, failure: RedisFailure) -> RedisFailure {
        match self.node_name() {
            Some(name) if !failure.reason.starts_with(&name) => RedisFailure {
                reason: format!("{name}: {}", failure.reason),
            },
            _ => failure,
        }
    }
}

/// Smaller pages when Redis answers slowly, larger when it is quick.
fn adapt_count(count: u64, round_trip: Duration, target: Duration) -> u64 {
    let next = if round_trip > target {
        count * 3 / 4
    } else {
        count + count / 4
    };
    next.clamp(MIN_COUNT, MAX_COUNT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_adapts_to_the_round_trip_within_bounds() {
        let target = Duration::from_millis(2);
        assert_eq!(adapt_count(1000, Duration::from_millis(5), target), 750);
        assert_eq!(adapt_count(1800, Duration::ZERO, target), MAX_COUNT);
        assert_eq!(adapt_count(1000, Duration::from_micros(500), target), 1250);
        assert_eq!(
            adapt_count(MIN_COUNT, Duration::from_secs(1), target),
            MIN_COUNT
        );
        assert_eq!(adapt_count(MAX_COUNT, Duration::ZERO, target), MAX_COUNT);
    }
}
