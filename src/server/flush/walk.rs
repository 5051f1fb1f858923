//! The flush's walk under a prefix, through the one walker: MATCH on Redis' side, a byte-wise
//! prefix check on ours, UNLINK pipelined with the next SCAN on the node that returned the keys.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use crate::model::flush::KeyPrefix;
use crate::server::redis::scan::{WalkEnd, WalkOptions, Walker};
use crate::server::redis::{RedisFailure, RedisTarget};

const SCAN_COUNT: u64 = 1000;

pub struct ScanOutcome {
    pub deleted: u64,
    pub cancelled: bool,
}

/// Walks the keys under `prefix` through the one walker: each SCAN page's keys, re-checked
/// byte-wise, go to `on_keys` (with the count deleted so far and the keys visited, ≈ pages ×
/// COUNT), which returns the keys to UNLINK (preview: none). UNLINK of one page travels in the
/// same round trip as the next SCAN, on the node that returned the keys. With `control` =
/// (cancel flag, duty cycle) the walk is a flush: cancellable between pages and paced. On
/// failure, the keys deleted so far.
pub async fn scan_prefix(
    redis: &RedisTarget,
    prefix: &KeyPrefix,
    control: Option<(Arc<AtomicBool>, f64)>,
    mut on_keys: impl FnMut(Vec<Vec<u8>>, u64, u64) -> Vec<Vec<u8>>,
    mut on_node: impl FnMut(Option<String>, u32, u32),
) -> Result<ScanOutcome, (u64, RedisFailure)> {
    let mut options = WalkOptions::new(Some(prefix.scan_pattern()), SCAN_COUNT);
    if let Some((cancel, duty_cycle)) = control {
        options.cancel = Some(cancel);
        options.duty_cycle = duty_cycle;
    }
    let mut walker = Walker::start(redis, options)
        .await
        .map_err(|failure| (0, failure))?;
    // A cluster refuses a multi-key UNLINK across slots (CROSSSLOT), even on one node: there
    // each key gets its own UNLINK, still in one pipeline.
    let per_key = walker.is_cluster();
    let total = walker.nodes_total();
    let mut deleted = 0_u64;
    let mut to_unlink: Vec<Vec<u8>> = Vec::new();
    let mut announced: Option<(Option<String>, u32)> = None;
    loop {
        let page = walker
            .next(unlink_commands(&to_unlink, per_key))
            .await
            .map_err(|failure| (deleted, failure))?;
        for reply in page.replies {
            let value = reply.map_err(|error| (deleted, RedisFailure::from(error)))?;
            let removed = redis::from_redis_value::<u64>(value).map_err(|_| {
                let reason = "unexpected UNLINK reply".to_owned();
                (deleted, RedisFailure { reason })
            })?;
            deleted += removed;
        }
        match page.end {
            Some(WalkEnd::Cancelled) => {
                return Ok(ScanOutcome {
                    deleted,
                    cancelled: true,
                });
            }
            Some(WalkEnd::Complete | WalkEnd::Capped) => {
                on_node(None, total, total);
                return Ok(ScanOutcome {
                    deleted,
                    cancelled: false,
                });
            }
            None => {}
        }
        let node = (walker.node_name(), walker.nodes_done());
        if announced.as_ref() != Some(&node) {
            on_node(node.0.clone(), node.1, total);
            announced = Some(node);
        }
        // MATCH is only a filter on Redis' side; the byte-wise check is what guarantees that
        // nothing outside the prefix is ever handed on.
        let under_prefix: Vec<Vec<u8>> = page
            .keys
            .into_iter()
            .filter(|key| key.starts_with(prefix.as_bytes()))
            .collect();
        to_unlink = on_keys(under_prefix, deleted, walker.examined());
    }
}

fn unlink_commands(keys: &[Vec<u8>], per_key: bool) -> Vec<redis::Cmd> {
    if keys.is_empty() {
        return Vec::new();
    }
    if per_key {
        return keys
            .iter()
            .map(|key| {
                let mut unlink = redis::cmd("UNLINK");
                unlink.arg(key);
                unlink
            })
            .collect();
    }
    let mut unlink = redis::cmd("UNLINK");
    unlink.arg(keys);
    vec![unlink]
}
