//! Reads the cache figures of one Redis: `INFO` and `DBSIZE` in one pipelined round trip.

use crate::model::info::InfoFields;
use crate::model::{RedisStats, StatsReport};
use crate::server::redis::{RedisFailure, RedisTarget};

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

pub async fn read_stats(redis: &RedisTarget) -> Result<RedisStats, RedisFailure> {
    let (info, total_keys) = read_info(redis).await?;
    Ok(RedisStats::from_info(&info, total_keys))
}

/// The stats as the API reports them: Redis being down is part of the answer, logged once here.
pub async fn stats_report(redis: &RedisTarget) -> StatsReport {
    match read_stats(redis).await {
        Ok(stats) => StatsReport::Up {
            stats,
            read_at: chrono::Utc::now().to_rfc3339(),
        },
        Err(failure) => {
            tracing::warn!(target_name = redis.name(), reason = %failure, "reading Redis stats failed");
            StatsReport::Unavailable {
                reason: failure.reason,
            }
        }
    }
}
