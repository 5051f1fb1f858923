//! When will the cache be full: the trend of used memory over the last hour and the time
//! until `maxmemory`, after which `allkeys-lru` starts evicting.

use serde::{Deserialize, Serialize};

use super::live::Point;
use crate::model::wire::FromJson;

/// How far back the trend looks, and the least history it needs.
pub const FORECAST_WINDOW_MS: i64 = 60 * 60_000;
pub const FORECAST_MIN_SPAN_MS: i64 = 10 * 60_000;
const FORECAST_MIN_POINTS: usize = 5;

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, FromJson)]
pub struct MemoryForecast {
    /// Least-squares slope of used memory, bytes per hour (negative: shrinking).
    pub bytes_per_hour: f64,
    /// Flat: the change over an hour is under 1 % of maxmemory (1 MiB without a limit).
    pub stable: bool,
    /// Time until used memory reaches maxmemory at this rate; `None` when flat, shrinking,
    /// unlimited or already full.
    pub full_in_ms: Option<u64>,
    /// The history the trend was fitted to.
    pub span_ms: i64,
}

/// The forecast from chart points (oldest first); `None` with less than ten minutes or five
/// points of history in the last hour.
pub fn memory_forecast(points: &[Point]) -> Option<MemoryForecast> {
    let newest = points.last()?;
    let recent: Vec<&Point> = points
        .iter()
        .filter(|point| point.at_ms >= newest.at_ms - FORECAST_WINDOW_MS)
        .collect();
    let span_ms = newest.at_ms - recent.first()?.at_ms;
    if recent.len() < FORECAST_MIN_POINTS || span_ms < FORECAST_MIN_SPAN_MS {
        return None;
    }
    // Times relative to the newest point keep the sums small and exact enough in f64.
    let count = recent.len() as f64;
    let xs: Vec<f64> = recent
        .iter()
        .map(|p| (p.at_ms - newest.at_ms) as f64)
        .collect();
    let ys: Vec<f64> = recent.iter().map(|p| p.used_memory_bytes as f64).collect();
    let mean_x = xs.iter().sum::<f64>() / count;
    let mean_y = ys.iter().sum::<f64>() / count;
    let spread: f64 = xs.iter().map(|x| (x - mean_x).powi(2)).sum();
    if spread <= 0.0 {
        return None;
    }
    let covariance: f64 = xs
        .iter()
        .zip(&ys)
        .map(|(x, y)| (x - mean_x) * (y - mean_y))
        .sum();
    let bytes_per_ms = covariance / spread;
    let bytes_per_hour = bytes_per_ms * 3_600_000.0;
    let limit = newest.maxmemory_bytes;
    let flat_below = if limit > 0 {
        limit as f64 / 100.0
    } else {
        1024.0 * 1024.0
    };
    let stable = bytes_per_hour.abs() < flat_below;
    let full_in_ms = (!stable && bytes_per_ms > 0.0 && limit > newest.used_memory_bytes)
        .then(|| ((limit - newest.used_memory_bytes) as f64 / bytes_per_ms) as u64);
    Some(MemoryForecast {
        bytes_per_hour,
        stable,
        full_in_ms,
        span_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    fn minutes(used_at: impl Fn(i64) -> u64, count: i64, maxmemory: u64) -> Vec<Point> {
        (0..count)
            .map(|minute| Point {
                at_ms: 1_795_000_000_000 + minute * 60_000,
                hit_rate_percent: None,
                ops_per_sec: None,
                evicted_per_sec: None,
                used_memory_bytes: used_at(minute),
                maxmemory_bytes: maxmemory,
                total_keys: 0,
            })
            .collect()
    }

    #[test]
    fn a_steady_growth_gives_the_time_until_maxmemory() {
        // 2 MiB a minute from 100 MiB, limit 512 MiB: at minute 59 it holds 218 MiB, and
        // reaches 512 MiB in (512 - 218) / 2 = 147 minutes.
        let points = minutes(|m| 100 * MIB + m as u64 * 2 * MIB, 60, 512 * MIB);
        let forecast = memory_forecast(&points).unwrap_or_else(unreachable_forecast);
        assert!((forecast.bytes_per_hour - 120.0 * MIB as f64).abs() < 1.0);
        assert!(!forecast.stable);
        assert_eq!(forecast.full_in_ms.map(|ms| ms / 60_000), Some(147));
    }

    #[test]
    fn flat_shrinking_unlimited_and_short_histories_have_no_deadline() {
        let flat = minutes(|m| 300 * MIB + (m as u64 % 2) * 1024, 60, 512 * MIB);
        let forecast = memory_forecast(&flat).unwrap_or_else(unreachable_forecast);
        assert!(forecast.stable);
        assert_eq!(forecast.full_in_ms, None);
        let shrinking = minutes(|m| 400 * MIB - m as u64 * MIB, 60, 512 * MIB);
        let forecast = memory_forecast(&shrinking).unwrap_or_else(unreachable_forecast);
        assert!(forecast.bytes_per_hour < 0.0 && forecast.full_in_ms.is_none());
        let unlimited = minutes(|m| 100 * MIB + m as u64 * 2 * MIB, 60, 0);
        assert_eq!(memory_forecast(&unlimited).and_then(|f| f.full_in_ms), None);
        assert_eq!(
            memory_forecast(&minutes(|_| MIB, 5, 0)),
            None,
            "four minutes of history"
        );
        assert_eq!(memory_forecast(&[]), None);
    }

    #[test]
    fn only_the_last_hour_counts() {
        // Growth two hours ago, flat in the last hour.
        let points = minutes(
            |m| {
                if m < 60 {
                    m as u64 * 5 * MIB
                } else {
                    300 * MIB
                }
            },
            180,
            512 * MIB,
        );
        let forecast = memory_forecast(&points).unwrap_or_else(unreachable_forecast);
        assert!(forecast.stable, "{forecast:?}");
        assert_eq!(forecast.span_ms, FORECAST_WINDOW_MS);
    }

    fn unreachable_forecast() -> MemoryForecast {
        MemoryForecast {
            bytes_per_hour: f64::NAN,
            stable: false,
            full_in_ms: None,
            span_ms: -1,
        }
    }
}
