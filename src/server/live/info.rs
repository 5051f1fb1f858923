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
use crate::server::redis::{RedisFailure, RedisTarget, SharedCount};

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
    /// The own lookups are every replica's (the shared count), not only this one's; windows
    /// between readings of different kinds are not compared.
    pub own_shared: bool,
    /// Redis' commandstats, and cachepanel's own commands counted up to this reading.
    pub commands: CommandTable,
    pub own_commands: OwnCalls,
    pub latency: LatencyTable,
}

/// How long the state hash (and so the shared count) outlives its last write.
const SHARED_LOOKUPS_TTL_MS: u64 = crate::server::redis::STATE_TTL.as_millis() as u64;

/// The count every replica of a target shares of cachepanel's lookups during the Redis run
/// `run_id`: the fields `hits:{run_id}` and `misses:{run_id}` of the target's state hash
/// (`{namespace}:{target}:state`).
fn shared_count_of(redis: &RedisTarget, run_id: &str) -> Option<SharedCount> {
    let plain = !run_id.is_empty() && run_id.bytes().all(|b| b.is_ascii_alphanumeric());
    plain.then(|| SharedCount {
        key: redis.state_hash(),
        run_id: run_id.to_owned(),
    })
}

/// `HINCRBY` of this replica's new lookups into the shared count (a write, not a lookup, so
/// sharing costs no lookup itself), its expiry renewed; replies: the two new totals.
fn add_to_shared(pipe: &mut redis::Pipeline, count: &SharedCount, (hits, misses): (i64, i64)) {
    pipe.cmd("HINCRBY")
        .arg(&count.key)
        .arg(count.field("hits"))
        .arg(hits)
        .cmd("HINCRBY")
        .arg(&count.key)
        .arg(count.field("misses"))
        .arg(misses)
        .cmd("PEXPIRE")
        .arg(&count.key)
        .arg(SHARED_LOOKUPS_TTL_MS)
        .ignore();
}

/// INFO and DBSIZE in one transaction with the addition to the shared count of the run the
/// last reading saw: the count and the figures are then of the same instant, whatever other
/// replicas do meanwhile (their bulk lookups carry their own additions in their own
/// transactions).
async fn read_sections_sharing(
    redis: &RedisTarget,
    sections: &'static [&'static str],
    count: SharedCount,
    delta: (i64, i64),
) -> Result<(InfoFields, u64, (u64, u64)), RedisFailure> {
    let (hits, misses, info, total_keys): (u64, u64, String, u64) = redis
        .run(|mut connection| async move {
            let mut pipe = redis::pipe();
            pipe.atomic();
            add_to_shared(&mut pipe, &count, delta);
            pipe.cmd("INFO").arg(sections).cmd("DBSIZE");
            pipe.query_async(&mut connection).await
        })
        .await?;
    redis.own_lookups().mark_shared(delta);
    Ok((InfoFields::parse(&info), total_keys, (hits, misses)))
}

/// Adds this replica's new lookups to the shared count of `run_id` after a reading (the first
/// one, a Cluster's, or the first after a Redis restart) and returns the count. A previous
/// run's fields go (Redis restarted; nothing counts them any more).
async fn share_after(redis: &RedisTarget, run_id: &str) -> Option<(u64, u64)> {
    let count = shared_count_of(redis, run_id)?;
    let delta = redis.own_lookups().take_unshared();
    let previous = redis
        .own_lookups()
        .known_shared_count()
        .filter(|previous| previous.run_id != count.run_id);
    let pushed = count.clone();
    let reply: Result<(u64, u64), RedisFailure> = redis
        .run(|mut connection| async move {
            let mut pipe = redis::pipe();
            add_to_shared(&mut pipe, &pushed, delta);
            if let Some(previous) = previous {
                pipe.cmd("HDEL")
                    .arg(&previous.key)
                    .arg(previous.field("hits"))
                    .arg(previous.field("misses"))
                    .ignore();
            }
            pipe.query_async(&mut connection).await
        })
        .await;
    match reply {
        Ok(shared) => {
            redis.own_lookups().mark_shared(delta);
            redis.own_lookups().set_shared_count(Some(count));
            Some(shared)
        }
        Err(failure) => {
            // An ACL that forbids the write, say: this replica's own count from now on.
            redis.own_lookups().set_shared_count(None);
            if failure.is_refusal() || failure.reason.contains("NOPERM") {
                redis.own_lookups().refuse_sharing();
            }
            tracing::debug!(target_name = %redis.name(), reason = %failure, "own lookups not shared; counting this replica's only");
            None
        }
    }
}

async fn create_state_hash(redis: &RedisTarget) {
    let key = redis.state_hash();
    let created = redis
        .run(|mut connection| async move {
            redis::pipe()
                .cmd("HSETNX")
                .arg(&key)
                .arg("created_at_ms")
                .arg(crate::server::clock::now_ms())
                .ignore()
                .cmd("PEXPIRE")
                .arg(&key)
                .arg(SHARED_LOOKUPS_TTL_MS)
                .ignore()
                .query_async::<()>(&mut connection)
                .await
        })
        .await;
    if let Err(failure) = created
        && (failure.is_refusal() || failure.reason.contains("NOPERM"))
    {
        redis.own_lookups().refuse_sharing();
    }
}

/// The reading, and every replica's lookups during its Redis run when they could be counted
/// together (`None`: only this replica's are known).
async fn read_counting_shared(
    redis: &RedisTarget,
    dialect: &InfoDialect,
) -> Result<(InfoReading, Option<(u64, u64)>), RedisFailure> {
    let sharing = !redis.is_cluster() && !redis.own_lookups().sharing_refused();
    if let (true, Some(count)) = (sharing, redis.own_lookups().shared_count()) {
        let delta = redis.own_lookups().take_unshared();
        let counted_run = count.run_id.clone();
        match read_sections_sharing(redis, dialect.sections(), count, delta).await {
            Ok((info, total_keys, shared)) => {
                let run_id = info.get("run_id").unwrap_or_default().to_owned();
                let shared = if run_id == counted_run {
                    Some(shared)
                } else {
                    // Redis restarted since the last reading: start the new run's count.
                    share_after(redis, &run_id).await
                };
                let commands = command_totals(&info);
                let latency = latency_percentiles(&info);
                let reading = InfoReading {
                    info,
                    total_keys,
                    nodes: Vec::new(),
                    commands,
                    latency,
                };
                return Ok((reading, shared));
            }
            // Refused (an old INFO dialect, an ACL): read as before, share after it.
            Err(failure) if failure.is_refusal() || failure.reason.contains("NOPERM") => {}
            Err(failure) => return Err(failure),
        }
    }
    if !redis.own_lookups().sharing_refused() && redis.own_lookups().known_shared_count().is_none()
    {
        // The state hash exists from the first reading on, so the key count does not move
        // by one a sample later.
        create_state_hash(redis).await;
    }
    let reading = read_info_nodes(redis, dialect).await?;
    let run_id = reading.info.get("run_id").unwrap_or_default();
    let shared = if redis.own_lookups().others_present() {
        share_after(redis, run_id).await
    } else {
        // Alone: the count's key is remembered for when another replica joins.
        if let Some(count) = shared_count_of(redis, run_id) {
            redis.own_lookups().set_shared_count(Some(count));
        }
        None
    };
    Ok((reading, shared))
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
    let reading = read_counting_shared(redis, dialect).await;
    let own_totals = redis.own_lookups().totals();
    // Counted after the INFO itself, which its own commandstats does not include yet: the
    // next reading's difference then holds this INFO on both sides.
    let own_commands = redis.own_commands().totals();
    let (
        InfoReading {
            info,
            total_keys,
            nodes,
            commands,
            latency,
        },
        shared,
    ) = reading?;
    let local_this_run = redis
        .own_lookups()
        .during_run(info.get("run_id").unwrap_or_default());
    // Every replica's lookups when they are counted together; this replica's otherwise.
    let (own_totals, own_this_run) = match shared {
        Some(shared) => (shared, shared),
        None => (own_totals, local_this_run),
    };
    let own_shared = shared.is_some();
    drop(gate);
    Ok(QuietReading {
        info,
        total_keys,
        nodes,
        own_totals,
        own_this_run,
        own_shared,
        commands,
        own_commands,
        latency,
    })
}
