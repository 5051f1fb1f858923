//! Leases in Redis for jobs that must run once per target across every replica (a census, a
//! flush). Taking one is `SET NX PX` of `{namespace}:{target}:{job}:lease` to a random token
//! and the replica's name; the holder renews it while the job runs and deletes it with a
//! compare-and-delete script when done. A replica that crashes leaves a lease that expires
//! after the TTL; one that can no longer renew (a failover lost the key, a stall outlived the
//! TTL) marks its lease lost and cancels its job.
//!
//! Beside the lease, the holder keeps a run record (`…:run`: what runs, its progress), which
//! it refreshes at every renewal and deletes on release; a record still there when the next
//! replica takes the lease belongs to a run that never finished. A cancel asked from any
//! replica is a `…:cancel` key the holder consumes at its next renewal.
//!
//! Every key of a target shares its hash tag, so the scripts stay in one slot on a Cluster.
//! The scripts' `GET`s are keyspace lookups and are recorded as cachepanel's own; `SET`,
//! `PEXPIRE` and `DEL` are not lookups.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use rand::Rng;

use super::JobSettings;
use crate::server::redis::{RedisFailure, RedisTarget, STATE_TTL};

// Every script takes the replicas' shared lookup count as its last key and adds its own GETs
// to it (under the Redis run its last argument names; '' for none), atomically with the GETs
// themselves, so no replica's sample sees them uncounted.

/// The lookup-counting function the scripts below share: `count(found)` adds the lookup to
/// the shared count (the last key) under the run named by the last argument ('' while alone).
const COUNT_LOOKUP: &str = r"
        local function count(found)
            local run = ARGV[#ARGV]
            if run ~= '' then
                redis.call('HINCRBY', KEYS[#KEYS], (found and 'hits:' or 'misses:') .. run, 1)
            end
        end
";

/// A script whose body may call `count(found)`.
fn with_lookup_count(body: &str) -> redis::Script {
    redis::Script::new(&format!("{COUNT_LOOKUP}{body}"))
}

/// KEYS lease, run, cancel, shared count; ARGV value, ttl ms, record, record ttl ms, share.
/// Returns {1, previous record} when taken, {0, holder} when held.
static ACQUIRE: LazyLock<redis::Script> = LazyLock::new(|| {
    with_lookup_count(
        r"
        if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
            local previous = redis.call('GET', KEYS[2])
            count(previous)
            redis.call('DEL', KEYS[3])
            redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
            return {1, previous or ''}
        end
        local holder = redis.call('GET', KEYS[1])
        count(holder)
        return {0, holder or ''}
        ",
    )
});

/// KEYS lease, run, cancel, shared count; ARGV value, ttl ms, record ('' keeps it), record
/// ttl ms, share. Returns {held, cancel asked, lease existed}.
static RENEW: LazyLock<redis::Script> = LazyLock::new(|| {
    with_lookup_count(
        r"
        local held = redis.call('GET', KEYS[1])
        count(held)
        if held ~= ARGV[1] then
            return {0, 0, held and 1 or 0}
        end
        redis.call('PEXPIRE', KEYS[1], ARGV[2])
        if ARGV[3] ~= '' then
            redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
        end
        return {1, redis.call('DEL', KEYS[3]), 1}
        ",
    )
});

/// KEYS lease, run, cancel, last, shared count; ARGV value, token, last report ('' for none),
/// its ttl ms, share. Deletes the lease if still ours and the run record if it is ours (a
/// lost lease may have passed to another replica, whose record must stay). Returns
/// {released, lookups found}.
static RELEASE: LazyLock<redis::Script> = LazyLock::new(|| {
    with_lookup_count(
        r"
        local found = 0
        local held = redis.call('GET', KEYS[1])
        count(held)
        if held then found = found + 1 end
        local record = redis.call('GET', KEYS[2])
        count(record)
        if record then found = found + 1 end
        if record and string.sub(record, 1, #ARGV[2] + 1) == ARGV[2] .. '\t' then
            redis.call('DEL', KEYS[2])
        end
        if ARGV[3] ~= '' then
            redis.call('SET', KEYS[4], ARGV[3], 'PX', ARGV[4])
        end
        if held == ARGV[1] then
            redis.call('DEL', KEYS[1], KEYS[3])
            return {1, found}
        end
        return {0, found}
        ",
    )
});

/// KEYS lease, cancel, shared count; ARGV ttl ms, share. Asks the holder to stop; returns the
/// lease's value ('' when none is held).
static CANCEL: LazyLock<redis::Script> = LazyLock::new(|| {
    with_lookup_count(
        r"
        local held = redis.call('GET', KEYS[1])
        count(held)
        if not held then
            return ''
        end
        redis.call('SET', KEYS[2], '1', 'PX', ARGV[1])
        return held
        ",
    )
});

/// KEYS state hash; ARGV field, hold ms, run to count under, hash ttl ms, now (ms, the
/// replica's clock: a script that reads Redis' own clock shows in the slow log as a command
/// of nobody's), a field to delete on success (or ''). Claims the field until now +
/// hold unless another claim still holds it; its HGET is counted in the same hash's shared
/// lookup count. Returns {claimed, lookup found}.
static CLAIM: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
        local ms = tonumber(ARGV[5])
        -- Redis counts a hash read as a hit when the hash exists, whatever the field; PEXPIRE
        -- says whether it does without being a lookup itself (and keeps the hash alive).
        local found = redis.call('PEXPIRE', KEYS[1], ARGV[4])
        local held = redis.call('HGET', KEYS[1], ARGV[1])
        if ARGV[3] ~= '' then
            redis.call('HINCRBY', KEYS[1], (found == 1 and 'hits:' or 'misses:') .. ARGV[3], 1)
        end
        if held and tonumber(held) > ms then
            return {0, found}
        end
        redis.call('HSET', KEYS[1], ARGV[1], ms + tonumber(ARGV[2]))
        if ARGV[6] and ARGV[6] ~= '' then
            redis.call('HDEL', KEYS[1], ARGV[6])
        end
        return {1, found}
        ",
    )
});

/// KEYS state hash; ARGV this replica's field, stale after ms, hash ttl ms, run to count
/// under, now (ms). Marks this replica present, forgets replicas not seen for too long, and returns how
/// many are present (this one included). The HSCAN is a lookup, counted in the shared count.
static PRESENCE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
        local now = tonumber(ARGV[5])
        redis.call('HSET', KEYS[1], ARGV[1], now)
        local page = redis.call('HSCAN', KEYS[1], 0, 'MATCH', 'replica:*', 'COUNT', 1000)
        if ARGV[4] ~= '' then
            redis.call('HINCRBY', KEYS[1], 'hits:' .. ARGV[4], 1)
        end
        local fields = page[2]
        local present = 0
        for i = 1, #fields, 2 do
            if now - tonumber(fields[i + 1]) < tonumber(ARGV[2]) then
                present = present + 1
            else
                redis.call('HDEL', KEYS[1], fields[i])
            end
        end
        redis.call('PEXPIRE', KEYS[1], ARGV[3])
        return present
        ",
    )
});

/// How often a replica says it is there; one not heard of for `PRESENCE_STALE` is gone.
const PRESENCE_EVERY: Duration = Duration::from_secs(30);
const PRESENCE_EVERY_AT_START: Duration = Duration::from_secs(2);
const PRESENCE_STALE: Duration = Duration::from_secs(75);

/// A run record outlives its lease at most this long (a crashed replica's, never taken over).
const RECORD_TTL: Duration = Duration::from_secs(24 * 3600);
/// The last finished run's report is kept this long for the other replicas' pages.
const LAST_REPORT_TTL: Duration = Duration::from_secs(24 * 3600);

/// Why a lease was not taken.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum LeaseRefusal {
    #[error("already running on replica {0}")]
    HeldBy(String),
    #[error("Redis: {0}")]
    Redis(#[from] RedisFailure),
}

/// The leases of one target's jobs. Cheap to clone.
#[derive(Clone)]
pub struct JobLeases {
    redis: RedisTarget,
    settings: JobSettings,
}

struct Keys {
    lease: String,
    run: String,
    cancel: String,
    last: String,
}

/// A lease taken: the job runs while it is held.
pub struct Lease {
    redis: RedisTarget,
    keys: Arc<Keys>,
    value: String,
    token: String,
    /// The run record as the job last described itself; written at the next renewal.
    record: Arc<Mutex<Option<String>>>,
    lost: Arc<AtomicBool>,
    renewer: tokio::task::JoinHandle<()>,
    /// The record the previous holder left: its run never finished.
    abandoned: Option<String>,
}

impl JobLeases {
    pub fn new(redis: RedisTarget, settings: JobSettings) -> Self {
        Self { redis, settings }
    }

    pub fn replica(&self) -> &str {
        &self.settings.replica
    }

    pub fn ttl(&self) -> Duration {
        self.settings.lease_ttl
    }

    fn keys(&self, job: &str) -> Keys {
        Keys {
            lease: self.redis.state_key(&format!("{job}:lease")),
            run: self.redis.state_key(&format!("{job}:run")),
            cancel: self.redis.state_key(&format!("{job}:cancel")),
            last: self.redis.state_key(&format!("{job}:last")),
        }
    }

    /// Takes the lease of `job` with `record` as its run record. While held, it is renewed in
    /// the background; `cancel` is set when another replica asks to cancel, or when the
    /// lease is lost (then `Lease::is_lost` says so too).
    pub async fn acquire(
        &self,
        job: &str,
        record: &str,
        cancel: Arc<AtomicBool>,
    ) -> Result<Lease, LeaseRefusal> {
        let keys = Arc::new(self.keys(job));
        let token = format!("{:016x}", rand::rng().random::<u64>());
        let value = format!("{token}\t{}", self.settings.replica);
        let stored_record = format!("{token}\t{record}");
        let (taken, text) = {
            let _gate = self.redis.own_lookups().gate().await;
            let (lease_key, run_key, cancel_key) =
                (keys.lease.clone(), keys.run.clone(), keys.cancel.clone());
            let (value, ttl) = (value.clone(), millis(self.settings.lease_ttl));
            let record = stored_record.clone();
            let (shared, share) = shared_count(&self.redis, &keys.lease);
            let run_to_count = share.clone();
            let reply: (i64, String) = self
                .redis
                .run(|mut connection| async move {
                    ACQUIRE
                        .key(lease_key)
                        .key(run_key)
                        .key(cancel_key)
                        .key(shared)
                        .arg(value)
                        .arg(ttl)
                        .arg(record)
                        .arg(millis(RECORD_TTL))
                        .arg(run_to_count)
                        .invoke_async(&mut connection)
                        .await
                })
                .await?;
            let found = u64::from(!reply.1.is_empty());
            counted(&self.redis, &share, found, 1 - found);
            reply
        };
        if taken == 0 {
            return Err(LeaseRefusal::HeldBy(holder_of(&text)));
        }
        let abandoned = (!text.is_empty()).then(|| record_body(&text).to_owned());
        let lost = Arc::new(AtomicBool::new(false));
        let record = Arc::new(Mutex::new(None));
        let renewer = tokio::spawn(renew(
            self.redis.clone(),
            keys.clone(),
            value.clone(),
            token.clone(),
            self.settings.clone(),
            record.clone(),
            cancel,
            lost.clone(),
        ));
        Ok(Lease {
            redis: self.redis.clone(),
            keys,
            value,
            token,
            record,
            lost,
            renewer,
            abandoned,
        })
    }

    /// The run record of `job` as its holder last wrote it (without its token); `None` when
    /// no run is recorded.
    pub async fn run_record(&self, job: &str) -> Result<Option<String>, RedisFailure> {
        let stored = self.redis.read_state(&self.keys(job).run, None).await?;
        Ok(stored.map(|stored| record_body(&stored).to_owned()))
    }

    /// The report the last finished run of `job` left.
    pub async fn last_report(&self, job: &str) -> Result<Option<String>, RedisFailure> {
        self.redis.read_state(&self.keys(job).last, None).await
    }

    /// The last report of `job` as `T`; `None` when there is none, it cannot be read or it
    /// does not parse (a follower then keeps what it showed).
    pub async fn last_report_as<T: serde::de::DeserializeOwned>(&self, job: &str) -> Option<T> {
        let text = self.last_report(job).await.ok().flatten()?;
        serde_json::from_str(&text).ok()
    }

    /// Asks whichever replica runs `job` to stop at its next renewal. The holder's replica, or
    /// `None` when nothing runs.
    pub async fn request_cancel(&self, job: &str) -> Result<Option<String>, RedisFailure> {
        let keys = self.keys(job);
        let _gate = self.redis.own_lookups().gate().await;
        let ttl = millis(self.settings.lease_ttl);
        let (shared, share) = shared_count(&self.redis, &keys.lease);
        let run_to_count = share.clone();
        let held: String = self
            .redis
            .run(|mut connection| async move {
                CANCEL
                    .key(keys.lease)
                    .key(keys.cancel)
                    .key(shared)
                    .arg(ttl)
                    .arg(run_to_count)
                    .invoke_async(&mut connection)
                    .await
            })
            .await?;
        let found = u64::from(!held.is_empty());
        counted(&self.redis, &share, found, 1 - found);
        Ok((!held.is_empty()).then(|| holder_of(&held)))
    }

    /// True for one caller per `every` across all replicas: how a schedule every replica keeps
    /// runs once. The claim is a field of the target's state hash (`{name}` → until when).
    pub async fn first_this_period(
        &self,
        name: &str,
        every: Duration,
    ) -> Result<bool, RedisFailure> {
        // A little shorter than the period: the next tick of the same replica finds it free.
        let hold = every.mul_f64(0.9).max(Duration::from_millis(1));
        self.claim(&format!("claim:{name}"), hold, None).await
    }

    /// True for one caller across all replicas per change of an alert (`transition` is
    /// `fired` or `resolved`): the first replica to see it tells people, the others stay
    /// quiet. A firing claim holds for `hold` (the repeat interval); each transition's claim
    /// frees the other's, so the next firing after a resolution is told again.
    pub async fn first_to_tell(
        &self,
        alert: &str,
        transition: &str,
        hold: Duration,
    ) -> Result<bool, RedisFailure> {
        let other = if transition == "resolved" {
            "fired"
        } else {
            "resolved"
        };
        let clears = format!("alert:{alert}:{other}");
        self.claim(&format!("alert:{alert}:{transition}"), hold, Some(&clears))
            .await
    }

    /// Claims `field` of the target's state hash for `hold` unless a claim holds it; a
    /// successful claim deletes `clears`.
    async fn claim(
        &self,
        field: &str,
        hold: Duration,
        clears: Option<&str>,
    ) -> Result<bool, RedisFailure> {
        let state = self.redis.state_hash();
        let hold = millis(hold.max(Duration::from_millis(1)));
        let field = field.to_owned();
        let clears = clears.unwrap_or_default().to_owned();
        let _gate = self.redis.own_lookups().gate().await;
        let (_, share) = shared_count(&self.redis, &state);
        let run_to_count = share.clone();
        let (claimed, found): (i64, u64) = self
            .redis
            .run(|mut connection| async move {
                CLAIM
                    .key(state)
                    .arg(field)
                    .arg(hold)
                    .arg(run_to_count)
                    .arg(millis(STATE_TTL))
                    .arg(crate::server::clock::now_ms())
                    .arg(clears)
                    .invoke_async(&mut connection)
                    .await
            })
            .await?;
        counted(&self.redis, &share, found, 1 - found.min(1));
        Ok(claimed == 1)
    }
}

impl JobLeases {
    /// Says this replica is there every `PRESENCE_EVERY` (one field of the target's state
    /// hash) and learns whether others are: then cachepanel's lookups are counted together
    /// (see `OwnLookups::others_present`). Runs until aborted.
    pub async fn announce_presence(self) {
        let started = tokio::time::Instant::now();
        loop {
            match self.announce().await {
                Ok(present) => self.redis.own_lookups().set_others_present(present > 1),
                Err(failure) => {
                    tracing::debug!(target_name = %self.redis.name(), reason = %failure, "presence not announced");
                }
            }
            // Often at first, so replicas started together find each other within seconds.
            let pause = if started.elapsed() < PRESENCE_EVERY {
                PRESENCE_EVERY_AT_START
            } else {
                PRESENCE_EVERY
            };
            tokio::time::sleep(pause).await;
        }
    }

    async fn announce(&self) -> Result<u64, RedisFailure> {
        let state = self.redis.state_hash();
        let field = format!("replica:{}", self.settings.replica);
        let _gate = self.redis.own_lookups().gate().await;
        let (_, share) = shared_count(&self.redis, &state);
        let run_to_count = share.clone();
        let present: u64 = self
            .redis
            .run(|mut connection| async move {
                PRESENCE
                    .key(state)
                    .arg(field)
                    .arg(millis(PRESENCE_STALE))
                    .arg(millis(STATE_TTL))
                    .arg(run_to_count)
                    .arg(crate::server::clock::now_ms())
                    .invoke_async(&mut connection)
                    .await
            })
            .await?;
        counted(&self.redis, &share, 1, 0);
        Ok(present)
    }
}

/// Updates a lease's run record from another task (see `Lease::describe`).
#[derive(Clone)]
pub struct Describer {
    record: Arc<Mutex<Option<String>>>,
}

impl Describer {
    pub fn describe(&self, record: String) {
        if let Ok(mut slot) = self.record.lock() {
            *slot = Some(record);
        }
    }
}

impl Lease {
    /// Replaces the run record (progress); written to Redis at the next renewal.
    pub fn describe(&self, record: String) {
        self.describer().describe(record);
    }

    pub fn describer(&self) -> Describer {
        Describer {
            record: self.record.clone(),
        }
    }

    /// The lease could not be kept: the job was cancelled because of it.
    pub fn is_lost(&self) -> bool {
        self.lost.load(Ordering::Relaxed)
    }

    /// The run record the previous holder left behind (its run never finished), if any.
    pub fn abandoned(&self) -> Option<&str> {
        self.abandoned.as_deref()
    }

    /// Ends the lease: deletes it if still ours and keeps `last` (the run's report) for the
    /// other replicas. Whether it was still ours.
    pub async fn release(self, last: Option<String>) -> Result<bool, RedisFailure> {
        self.renewer.abort();
        let keys = self.keys.clone();
        let (value, token) = (self.value.clone(), self.token.clone());
        let _gate = self.redis.own_lookups().gate().await;
        let (shared, share) = shared_count(&self.redis, &keys.lease);
        let run_to_count = share.clone();
        let reply: (i64, u64) = self
            .redis
            .run(|mut connection| async move {
                RELEASE
                    .key(&keys.lease)
                    .key(&keys.run)
                    .key(&keys.cancel)
                    .key(&keys.last)
                    .key(shared)
                    .arg(value)
                    .arg(token)
                    .arg(last.unwrap_or_default())
                    .arg(millis(LAST_REPORT_TTL))
                    .arg(run_to_count)
                    .invoke_async(&mut connection)
                    .await
            })
            .await?;
        counted(&self.redis, &share, reply.1, 2 - reply.1.min(2));
        Ok(reply.0 == 1)
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        // A lease dropped without release (a panic, an abort) just expires.
        self.renewer.abort();
    }
}

#[allow(clippy::too_many_arguments)]
async fn renew(
    redis: RedisTarget,
    keys: Arc<Keys>,
    value: String,
    token: String,
    settings: JobSettings,
    record: Arc<Mutex<Option<String>>>,
    cancel: Arc<AtomicBool>,
    lost: Arc<AtomicBool>,
) {
    let mut last_renewed = tokio::time::Instant::now();
    loop {
        tokio::time::sleep(settings.renew_every()).await;
        let described = record
            .lock()
            .ok()
            .and_then(|mut slot| slot.take())
            .map(|body| format!("{token}\t{body}"))
            .unwrap_or_default();
        let gate = redis.own_lookups().gate().await;
        let (lease, run, cancel_key) = (keys.lease.clone(), keys.run.clone(), keys.cancel.clone());
        let (value, ttl) = (value.clone(), millis(settings.lease_ttl));
        let (shared, share) = shared_count(&redis, &keys.lease);
        let run_to_count = share.clone();
        let reply: Result<(i64, i64, u64), RedisFailure> = redis
            .run(|mut connection| async move {
                RENEW
                    .key(lease)
                    .key(run)
                    .key(cancel_key)
                    .key(shared)
                    .arg(value)
                    .arg(ttl)
                    .arg(described)
                    .arg(millis(RECORD_TTL))
                    .arg(run_to_count)
                    .invoke_async(&mut connection)
                    .await
            })
            .await;
        if let Ok((_, _, existed)) = &reply {
            let existed = (*existed).min(1);
            counted(&redis, &share, existed, 1 - existed);
        }
        drop(gate);
        match reply {
            Ok((1, cancel_asked, _)) => {
                last_renewed = tokio::time::Instant::now();
                if cancel_asked > 0 {
                    cancel.store(true, Ordering::Relaxed);
                }
            }
            Ok(_) => {
                tracing::warn!(target_name = %redis.name(), lease = %keys.lease, "the job's lease is gone (expired or taken over); stopping the job");
                break;
            }
            Err(failure) if last_renewed.elapsed() >= settings.lease_ttl => {
                tracing::warn!(target_name = %redis.name(), lease = %keys.lease, reason = %failure, "the job's lease could not be renewed before it expired; stopping the job");
                break;
            }
            Err(_) => {}
        }
    }
    lost.store(true, Ordering::Relaxed);
    cancel.store(true, Ordering::Relaxed);
}

/// The replicas' shared lookup count as the scripts' last key, and the Redis run to count
/// under ('' with a stand-in key of the same slot until the sampler knows the count).
fn shared_count(redis: &RedisTarget, stand_in: &str) -> (String, String) {
    match redis.own_lookups().shared_count() {
        Some(count) => (count.key, count.run_id),
        None => (stand_in.to_owned(), String::new()),
    }
}

/// Records a script's lookups as cachepanel's own, and as shared when the script added them.
fn counted(redis: &RedisTarget, share: &str, hits: u64, misses: u64) {
    redis.own_lookups().record(hits, misses);
    if !share.is_empty() {
        redis
            .own_lookups()
            .mark_shared((hits as i64, misses as i64));
    }
}

fn millis(duration: Duration) -> u64 {
    duration.as_millis().min(u128::from(u64::MAX)) as u64
}

/// The replica named in a lease's value (`token\treplica`).
fn holder_of(value: &str) -> String {
    value
        .split_once('\t')
        .map_or(value, |(_, replica)| replica)
        .to_owned()
}

/// A run record without its token (`token\trecord`).
fn record_body(stored: &str) -> &str {
    stored.split_once('\t').map_or(stored, |(_, body)| body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lease_values_name_their_replica_and_records_drop_their_token() {
        assert_eq!(holder_of("00ff\tpanel-a"), "panel-a");
        assert_eq!(holder_of("panel-without-token"), "panel-without-token");
        assert_eq!(
            record_body("00ff\t{\"prefix\":\"user:\"}"),
            "{\"prefix\":\"user:\"}"
        );
    }
}
