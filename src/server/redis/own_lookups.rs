//! Keyspace lookups cachepanel itself caused, counted so the sampler can take them off Redis'
//! hit and miss counters.

use std::sync::atomic::{AtomicU64, Ordering};

/// Keyspace lookups cachepanel itself caused (the census's TYPE, PTTL and OBJECT count as
/// hits or misses in Redis' INFO). The sampler subtracts them, so the windowed hit rate shows
/// the application's traffic only.
#[derive(Debug, Default)]
pub struct OwnLookups {
    hits: AtomicU64,
    misses: AtomicU64,
    /// Shared by everything that makes lookups, across its round trip and recording; taken
    /// exclusively by the sampler across INFO and reading the totals. So a sample never falls
    /// between Redis counting lookups and cachepanel recording them, while lookup makers still
    /// run concurrently with each other.
    gate: tokio::sync::RwLock<()>,
    /// The Redis run (`run_id`) last seen, and the totals when it was first seen.
    run_baseline: std::sync::Mutex<Option<(String, u64, u64)>>,
}

impl OwnLookups {
    /// For code that makes lookups: hold it until they are recorded.
    pub async fn gate(&self) -> tokio::sync::RwLockReadGuard<'_, ()> {
        self.gate.read().await
    }

    /// For the sampler: no lookups are in flight while it holds this.
    pub async fn exclusive(&self) -> tokio::sync::RwLockWriteGuard<'_, ()> {
        self.gate.write().await
    }

    pub fn record(&self, hits: u64, misses: u64) {
        self.hits.fetch_add(hits, Ordering::Relaxed);
        self.misses.fetch_add(misses, Ordering::Relaxed);
    }

    /// (hits, misses) cachepanel caused during the Redis run `run_id` (since it first saw that
    /// run): what to take off Redis' lifetime counters. A new run starts from zero.
    /// (Lookups between a restart and the next INFO are counted in the old run; a few at most.)
    pub fn during_run(&self, run_id: &str) -> (u64, u64) {
        let (hits, misses) = self.totals();
        let Ok(mut baseline) = self.run_baseline.lock() else {
            return (0, 0);
        };
        match &*baseline {
            Some((seen, base_hits, base_misses)) if seen == run_id => {
                (hits - base_hits, misses - base_misses)
            }
            // The first run seen: every lookup so far was made during it.
            None => {
                *baseline = Some((run_id.to_owned(), 0, 0));
                (hits, misses)
            }
            // Redis restarted: its counters start over, and so do ours.
            Some(_) => {
                *baseline = Some((run_id.to_owned(), hits, misses));
                (0, 0)
            }
        }
    }

    /// (hits, misses) caused so far; only ever grows.
    pub fn totals(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }
}
