//! Reads the cache figures of one Redis for the sampler: `INFO` (the default sections and
//! commandstats) and `DBSIZE` in one pipelined round trip per node, taken while none of
//! cachepanel's own lookups is in flight.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::model::RedisStats;
use crate::model::commands::{
    CommandTable, LatencyTable, OwnCalls, command_totals, latency_percentiles, slowest_latency,
    sum_tables,
};
use crate::model::info::InfoFields;
use crate::model::stats::NodeStats;
use crate::server::redis::{RedisFailure, RedisTarget};

/// Which `INFO` to send. Redis 7 takes several sections in one call (`INFO default
/// commandstats latencystats`); older servers refuse that, and are asked `INFO all` from then
/// on (the default sections and commandstats, and a few more; they have no latencystats).
#[derive(Debug, Default)]
pub struct InfoDialect {
    all_sections: AtomicBool,
}

impl InfoDialect {
    fn sections(&self) -> &'static [&'static str] {
        if self.all_sections.load(Ordering::Relaxed) {
            &["all"]
        } else {
            &["default", "commandstats", "latencystats"]
        }
    }
}

/// What one reading of a target found: on a cluster, the masters' readings combined
/// (`InfoFields::combine`, commandstats summed) and the per-master figures.
pub struct InfoReading {
    pub info: InfoFields,
    pub total_keys: u64,
    pub nodes: Vec<NodeStats>,
    pub commands: CommandTable,
    pub latency: LatencyTable,
}

pub async fn read_info_nodes(
    redis: &RedisTarget,
    dialect: &InfoDialect,
) -> Result<InfoReading, RedisFailure> {
    if !redis.is_cluster() {
        let (info, total_keys) = read_info_as(redis, dialect).await?;
        let commands = command_totals(&info);
        let latency = latency_percentiles(&info);
        return Ok(InfoReading {
            info,
            total_keys,
            nodes: Vec::new(),
            commands,
            latency,
        });
    }
    let masters = redis.masters().await?;
    let mut infos = Vec::new();
    let mut tables = Vec::new();
    let mut latencies = Vec::new();
    let mut total_keys = 0;
    let mut nodes = Vec::new();
    // Few nodes; in sequence keeps it simple and each call is bounded by its timeout.
    for master in &masters {
        let (info, keys) = read_info_as(master, dialect).await?;
        total_keys += keys;
        nodes.push(NodeStats {
            address: master.address().unwrap_or_default(),
            stats: RedisStats::from_info(&info, keys),
        });
        tables.push(command_totals(&info));
        latencies.push(latency_percentiles(&info));
        infos.push(info);
    }
    Ok(InfoReading {
        info: InfoFields::combine(&infos),
        total_keys,
        nodes,
        commands: sum_tables(&tables),
        latency: slowest_latency(&latencies),
    })
}

/// The default `INFO` sections and `DBSIZE`, in one pipelined round trip (for `check`).
pub async fn read_info(redis: &RedisTarget) -> Result<(InfoFields, u64), RedisFailure> {
    read_sections(redis, &["default"]).await
}

async fn read_info_as(
    redis: &RedisTarget,
    dialect: &InfoDialect,
) -> Result<(InfoFields, u64), RedisFailure> {
    match read_sections(redis, dialect.sections()).await {
        Err(failure) if failure.is_refusal() && !dialect.all_sections.load(Ordering::Relaxed) => {
            dialect.all_sections.store(true, Ordering::Relaxed);
            read_sections(redis, dialect.sections()).await
        }
        reading => reading,
    }
}

async fn read_sections(
    redis: &RedisTarget,
    sections: &'static [&'static str],
) -> Result<(InfoFields, u64), RedisFailure> {
    let (info, total_keys): (String, u64) = redis
        .run(|mut connection| async move {
            redis::pipe()
                .cmd("INFO")
                .arg(sections)
                .cmd("DBSIZE")
                .query_async(&mut connection)
                .await
        })
        .await?;
    Ok((InfoFields::parse(&info), total_keys))
}

/// One reading taken while none of cachepanel's own lookups is in flight, with the lookups
/// cachepanel has made: in total (the sampler's windows subtract deltas of these) and during
/// the current Redis run (subtracted from the lifetime figures).
pub struct QuietReading {
    pub info: InfoFields,
    pub total_keys: u64,
    /// Per master, on a cluster (empty otherwise).
    pub nodes: Vec<NodeStats>,
    pub own_totals: (u64, u64),
    pub own_this_run: (u64, u64),
    /// Redis' commandstats, and cachepanel's own commands counted up to this reading.
    pub commands: CommandTable,
    pub own_commands: OwnCalls,
    pub latency: LatencyTable,
}

pub async fn read_info_quiet(
    redis: &RedisTarget,
    dialect: &InfoDialect,
) -> Result<QuietReading, RedisFailure> {
    // Lookups in flight hold the gate for at most one (bounded) round trip; one that takes
    // longer means Redis is stalled, and waiting for it must not make this call hang too.
    let gate = tokio::time::timeout(
        redis.operation_timeout() / 2,
        redis.own_lookups().exclusive(),
    )
    .await
    .map_err(|_| RedisFailure::timed_out())?;
    let reading = read_info_nodes(redis, dialect).await;
    let own_totals = redis.own_lookups().totals();
    // Counted after the INFO itself, which its own commandstats does not include yet: the
    // next reading's difference then holds this INFO on both sides.
    let own_commands = redis.own_commands().totals();
    let InfoReading {
        info,
        total_keys,
        nodes,
        commands,
        latency,
    } = reading?;
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
        commands,
        own_commands,
        latency,
    })
}
