//! What a preview keeps while it counts: the key count, a few names, and the keys whose size
//! gives the memory estimate (all bounded).

use crate::server::redis::{RedisFailure, RedisTarget};

const SAMPLE_NAMES: usize = 20;
/// Keys whose size is measured for the preview's memory estimate.
const MEMORY_SAMPLE: usize = 200;

#[derive(Default)]
pub struct PreviewCounter {
    pub keys: u64,
    pub names: Vec<Vec<u8>>,
    /// Keys kept for the size estimate (the first ones seen; bounded).
    measured: Vec<Vec<u8>>,
}

impl PreviewCounter {
    pub fn add(&mut self, keys: Vec<Vec<u8>>) {
        self.keys += keys.len() as u64;
        for key in keys {
            if self.names.len() < SAMPLE_NAMES {
                self.names.push(key.clone());
            }
            if self.measured.len() < MEMORY_SAMPLE {
                self.measured.push(key);
            }
        }
    }

    /// Average `MEMORY USAGE` of the measured keys × the key count (0 for no keys).
    pub async fn estimate(&self, redis: &RedisTarget) -> Result<u64, RedisFailure> {
        if self.measured.is_empty() {
            return Ok(0);
        }
        let commands = self
            .measured
            .iter()
            .map(|key| {
                let mut command = redis::cmd("MEMORY");
                command.arg("USAGE").arg(key).arg("SAMPLES").arg(0);
                command
            })
            .collect();
        let sizes: Vec<u64> = redis
            .query_each(commands)
            .await?
            .into_iter()
            .filter_map(|value| redis::from_redis_value::<Option<u64>>(value).ok().flatten())
            .collect();
        if sizes.is_empty() {
            // Every measured key vanished between the walk and the measurement.
            return Ok(0);
        }
        let mean = sizes.iter().sum::<u64>() as f64 / sizes.len() as f64;
        Ok((mean * self.keys as f64).round() as u64)
    }
}
