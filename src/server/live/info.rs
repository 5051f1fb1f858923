//! Reads the cache figures of one Redis for the sampler: `INFO` and `DBSIZE` in one pipelined
//! round trip per node, taken while none of cachepanel's own lookups is in flight.

use crate::model::RedisStats;
use crate::model::info::InfoFields;
use crate::model::stats::NodeStats;
use crate::server::redis::{RedisFailure, RedisTarget};

/// The default `INFO` sections and `DBSIZE`, in one pipelined round trip per node; on a
/// cluster, the masters' readings combined (`InfoFields::combine`) and the per-node ones.
pub async fn read_info_nodes(
    redis: &RedisTarget,
) -> Result<(InfoFields, u64, Vec<NodeStats>), RedisFailure> {
    if !redis.is_cluster() {
        let (info, keys) = read_info(redis).await?;
        return Ok((info, keys, Vec::new()));
    }
    let masters = redis.masters().await?;
    let readings = futures_join(masters.iter().map(read_info)).await;
    let mut infos = Vec::new();
    let mut total_keys = 0;
    let mut nodes = Vec::new();
    for (master, reading) in masters.iter().zip(readings) {
        let (info, keys) = reading?;
        total_keys += keys;
        nodes.push(NodeStats {
            address: master.address().unwrap_or_default(),
            stats: RedisStats::from_info(&info, keys),
        });
        infos.push(info);
    }
    Ok((InfoFields::combine(&infos), total_keys, nodes))
}

async fn futures_join<F: Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut outputs = Vec::new();
    // Few nodes; in sequence keeps it simple and each call is bounded by its timeout.
    for future in futures {
        outputs.push(future.await);
    }
    outputs
}

/// The default `INFO` sections and `DBSIZE`, in one pipelined round trip.
pub async fn read_info(redis: &RedisTarget) -> Result<(InfoFields, u64), RedisFailure> {
    let (info, total_keys): (String, u64) = redis
        .run(|mut connection| async move {
            redis::pipe()
                .cmd("INFO")
                .cmd("DBSIZE")
                .query_async(&mut connection)
                .await
        })
        .await?;
    Ok((InfoFields::parse(&info), total_keys))
}

/// One `read_info` taken while none of cachepanel's own lookups is in flight, with the lookups
/// cachepanel has made: in total (the sampler's windows subtract deltas of these) and during
/// the current Redis run (subtracted from the lifetime figures).
pub struct QuietReading {
    pub info: InfoFields,
    pub total_keys: u64,
    /// Per master, on a cluster (empty otherwise).
    pub nodes: Vec<NodeStats>,
    pub own_totals: (u64, u64),
    pub own_this_run: (u64, u64),
}

pub async fn read_info_quiet(redis: &RedisTarget) -> Result<QuietReading, RedisFailure> {
    // Lookups in flight hold the gate for at most one (bounded) round trip; one that takes
    // longer means Redis is stalled, and waiting for it must not make this call hang too.
    let gate = tokio::time::timeout(
        redis.operation_timeout() / 2,
        redis.own_lookups().exclusive(),
    )
    .await
    .map_err(|_| RedisFailure::timed_out())?;
    let reading = read_info_nodes(redis).await;
    let own_totals = redis.own_lookups().totals();
    let (info, total_keys, nodes) = reading?;
    let own_this_run = redis
        .own_lookups()
        .during_run(info.get("run_id").unwrap_or_default());
    drop(gate);
    Ok(QuietReading {
        info,
        total_keys,
        nodes,
        own_totals,
        own_this_run,
    })
}
