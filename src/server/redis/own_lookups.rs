//! Keyspace lookups cachepanel itself caused, counted so the sampler can take them off Redis'
//! hit and miss counters.

use std::sync::atomic::{AtomicU64, Ordering};

/// The replicas' shared count of cachepanel's lookups during one Redis run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SharedCount {
    pub key: String,
    pub run_id: String,
}

impl SharedCount {
    /// `hits:{run_id}` or `misses:{run_id}`.
    pub fn field(&self, kind: &str) -> String {
        format!("{kind}:{}", self.run_id)
    }
}

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
    /// What this replica has added to the replicas' shared count in Redis so far (bulk
    /// lookups add an estimate in their own pipeline; the sampler adds the rest, or the
    /// correction, later).
    shared: std::sync::Mutex<(i64, i64)>,
    /// The shared count (`{namespace}:{target}:own_lookups`, a hash with `hits:{run_id}` and
    /// `misses:{run_id}`) and the Redis run the sampler saw last.
    shared_count: std::sync::Mutex<Option<SharedCount>>,
    /// The totals when a sample last found Redis down (cleared by the next good one): where
    /// a restarted Redis' run starts.
    down_since: std::sync::Mutex<Option<(u64, u64)>>,
    /// Redis refused the shared count (an ACL): only this replica's lookups are known.
    sharing_refused: std::sync::atomic::AtomicBool,
    /// Other replicas watch this target too: lookups are then counted in the shared count,
    /// which costs writes; alone, this replica's own count is exact and nothing is written.
    others_present: std::sync::atomic::AtomicBool,
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
                if let Ok(mut down) = self.down_since.lock() {
                    *down = None; // up again without a restart
                }
                (hits - base_hits, misses - base_misses)
            }
            // The first run seen: every lookup so far was made during it.
            None => {
                *baseline = Some((run_id.to_owned(), 0, 0));
                (hits, misses)
            }
            // Redis restarted: its counters start over, and so do ours, from when it was
            // last seen down if it was (lookups made after that hit the new run).
            Some(_) => {
                let (from_hits, from_misses) = self
                    .down_since
                    .lock()
                    .ok()
                    .and_then(|mut down| down.take())
                    .unwrap_or((hits, misses));
                *baseline = Some((run_id.to_owned(), from_hits, from_misses));
                (hits - from_hits, misses - from_misses)
            }
        }
    }

    /// Lookups not yet added to the shared count (`take_unshared`, then `shared` or
    /// `unshare` once the addition is known to have landed or not). Only the sampler calls
    /// these, holding `exclusive`, so no lookup is recorded in between.
    pub fn take_unshared(&self) -> (i64, i64) {
        let (hits, misses) = self.totals();
        let (hits, misses) = (hits as i64, misses as i64);
        let shared = self.shared.lock().map(|s| *s).unwrap_or((hits, misses));
        (hits - shared.0, misses - shared.1)
    }

    /// `delta` is now part of the shared count (it may run ahead of `totals` while a bulk
    /// lookup's estimate waits for its replies).
    pub fn mark_shared(&self, (hits, misses): (i64, i64)) {
        if let Ok(mut shared) = self.shared.lock() {
            shared.0 += hits;
            shared.1 += misses;
        }
    }

    /// Where the shared count of the current Redis run is, while other replicas share it.
    pub fn shared_count(&self) -> Option<SharedCount> {
        if !self.others_present() {
            return None;
        }
        self.known_shared_count()
    }

    /// The shared count of the current Redis run as the sampler last found it, shared or not.
    pub fn known_shared_count(&self) -> Option<SharedCount> {
        self.shared_count
            .lock()
            .ok()
            .and_then(|count| count.clone())
    }

    pub fn others_present(&self) -> bool {
        self.others_present.load(Ordering::Relaxed) && !self.sharing_refused()
    }

    pub fn set_others_present(&self, present: bool) {
        self.others_present.store(present, Ordering::Relaxed);
    }

    /// `HINCRBY` of the shared count's `kind` (`hits` or `misses`) by `by`, to send in the
    /// same round trip as the lookups it counts (then `mark_shared` once it landed); `None`
    /// until the sampler knows the count.
    pub fn shared_increment(&self, kind: &str, by: i64) -> Option<redis::Cmd> {
        let count = self.shared_count()?;
        let mut command = redis::cmd("HINCRBY");
        command.arg(&count.key).arg(count.field(kind)).arg(by);
        Some(command)
    }

    pub fn refuse_sharing(&self) {
        self.sharing_refused.store(true, Ordering::Relaxed);
    }

    pub fn sharing_refused(&self) -> bool {
        self.sharing_refused.load(Ordering::Relaxed)
    }

    pub fn set_shared_count(&self, count: Option<SharedCount>) {
        if let Ok(mut current) = self.shared_count.lock() {
            *current = count;
        }
    }

    /// A sample found Redis down: lookups from now on belong to whatever run comes next.
    pub fn mark_down(&self) {
        let totals = self.totals();
        if let Ok(mut down) = self.down_since.lock() {
            down.get_or_insert(totals);
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
