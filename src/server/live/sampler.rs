//! One background sampler per Redis: reads `INFO` + `DBSIZE` every interval (never per
//! viewer), derives rates from consecutive samples, keeps the bounded history and publishes a
//! snapshot that every open page receives through one watch channel.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior};

use crate::model::RedisStats;
use crate::model::commands::{CommandTable, CommandsView, LatencyTable};
use crate::model::diagnostics::DiagnosticsView;
use crate::model::forecast::memory_forecast;
use crate::model::health;
use crate::model::live::{Counters, HistoryRange, LiveSnapshot, LiveStatus, Point, Rates};
use crate::model::redis_config::{self, ConfigAnswers, RedisConfigView};
use crate::server::live::commands::{CommandHistory, CommandReading};
use crate::server::live::diagnostics::{Diagnostics, RenderCache};
use crate::server::live::history::History;
use crate::server::live::info::{InfoDialect, QuietReading, read_info_quiet};
use crate::server::live::persisted;
use crate::server::live::settings::LiveSettings;
use crate::server::redis::{RedisFailure, RedisTarget};

/// `CONFIG GET` is read once every this many samples: configuration rarely changes.
const CONFIG_EVERY_SAMPLES: u32 = 15;
/// The diagnostics are published at least this often even when nothing Redis reported changed:
/// what is rendered with them (the last hour's commands, the census' biggest keys) moves on.
const DIAGNOSTICS_AT_LEAST_EVERY: Duration = Duration::from_secs(10);

/// Read side of a running sampler; cheap to clone.
#[derive(Clone)]
pub struct SamplerHandle {
    snapshot: watch::Receiver<Arc<LiveSnapshot>>,
    history: Arc<RwLock<History>>,
    commands: Arc<RwLock<CommandHistory>>,
    diagnostics: Arc<RwLock<Diagnostics>>,
    /// Bumped whenever the diagnostics change, for the event stream.
    diagnostics_version: watch::Receiver<u64>,
    rendered: Arc<RenderCache>,
    target: String,
}

impl SamplerHandle {
    /// Persistence health as last read.
    pub fn persistence(&self) -> Option<crate::model::persistence::PersistenceHealth> {
        self.diagnostics
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .persistence()
    }

    /// The slow log, clients, persistence health and latency monitor as last read.
    pub fn diagnostics(&self) -> DiagnosticsView {
        let diagnostics = self
            .diagnostics
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        diagnostics.view(&self.target, now_ms())
    }

    /// The diagnostics rendered for `key` (language, viewer's rights) as of the latest
    /// refresh, by `render` only when no page or stream has asked for it since.
    pub fn rendered_diagnostics(&self, key: &str, render: impl FnOnce() -> String) -> Arc<str> {
        let version = *self.diagnostics_version.borrow();
        self.rendered.get_or_render(version, key, render)
    }

    /// Changes whenever a sample refreshed the diagnostics (for the event stream).
    pub fn diagnostics_changes(&self) -> watch::Receiver<u64> {
        self.diagnostics_version.clone()
    }

    pub fn latest(&self) -> Arc<LiveSnapshot> {
        self.snapshot.borrow().clone()
    }

    /// A receiver that sees every later publication (for the SSE stream).
    pub fn subscribe(&self) -> watch::Receiver<Arc<LiveSnapshot>> {
        self.snapshot.clone()
    }

    /// The lifetime figures as the sampler last read them: no Redis command of its own, so
    /// pages and API reads cost Redis nothing however many there are. Before the sampler's
    /// first attempt it waits for it, at most `bound`.
    pub async fn stats_report(&self, bound: Duration) -> crate::model::StatsReport {
        let mut published = self.subscribe();
        let _ = tokio::time::timeout(
            bound,
            published.wait_for(|snapshot| !matches!(snapshot.status, LiveStatus::Starting)),
        )
        .await;
        self.latest().stats_report()
    }

    /// What Redis spent its time on over `range` (shorter while the readings are), from the
    /// readings the sampler kept: no Redis command.
    pub fn commands(&self, range: HistoryRange) -> Option<CommandsView> {
        let history = self
            .commands
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        history.view(range.millis())
    }

    /// Redis' cumulative commandstats and latency percentiles as last read (for `/metrics`).
    pub fn command_totals(&self) -> Option<(CommandTable, LatencyTable)> {
        let history = self
            .commands
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        history
            .latest()
            .map(|reading| (reading.table.clone(), reading.latency.clone()))
    }

    pub fn history(&self, range: HistoryRange) -> Vec<Point> {
        match self.history.read() {
            Ok(history) => history.series(range, now_ms()),
            Err(poisoned) => poisoned.into_inner().series(range, now_ms()),
        }
    }
}

use crate::server::clock::now_ms;

/// Starts the sampler task; it stops when every handle and the returned task are dropped.
pub fn spawn(
    redis: RedisTarget,
    settings: LiveSettings,
) -> (SamplerHandle, tokio::task::JoinHandle<()>) {
    let interval_ms = settings.interval.as_millis() as u64;
    let initial = LiveSnapshot::starting(
        redis.name(),
        settings.thresholds,
        settings.expected.clone(),
        interval_ms,
    );
    let (sender, receiver) = watch::channel(Arc::new(initial));
    let history = Arc::new(RwLock::new(History::new(interval_ms)));
    let commands = Arc::new(RwLock::new(CommandHistory::default()));
    let diagnostics = Arc::new(RwLock::new(Diagnostics::default()));
    let (version_sender, diagnostics_version) = watch::channel(0);
    let handle = SamplerHandle {
        snapshot: receiver,
        history: history.clone(),
        commands: commands.clone(),
        diagnostics: diagnostics.clone(),
        diagnostics_version,
        rendered: Arc::new(RenderCache::default()),
        target: redis.name().to_owned(),
    };
    let shared = Shared {
        sender,
        history,
        command_history: commands,
        diagnostics,
        diagnostics_version: version_sender,
    };
    let task = tokio::spawn(run(redis, settings, shared));
    (handle, task)
}

struct Previous {
    counters: Counters,
    taken: Instant,
    /// Its own lookups were every replica's (see `QuietReading::own_shared`).
    own_shared: bool,
}

/// What the sampler task writes and its handles read.
struct Shared {
    sender: watch::Sender<Arc<LiveSnapshot>>,
    history: Arc<RwLock<History>>,
    command_history: Arc<RwLock<CommandHistory>>,
    diagnostics: Arc<RwLock<Diagnostics>>,
    diagnostics_version: watch::Sender<u64>,
}

async fn run(redis: RedisTarget, settings: LiveSettings, shared: Shared) {
    let Shared {
        sender,
        history,
        command_history,
        diagnostics,
        diagnostics_version,
    } = shared;
    // Owned by the task between samples; the shared copy is replaced after each refresh so
    // readers never wait on Redis.
    let mut reading = Diagnostics::default();
    let mut diagnostics_published: Option<Instant> = None;
    let history_key = settings
        .keep_history
        .then(|| persisted::history_key(&redis));
    if let Some(key) = &history_key {
        restore_history(&redis, key, &history).await;
    }
    let dialect = InfoDialect::default();
    let mut ticker = tokio::time::interval(settings.interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut previous: Option<Previous> = None;
    let mut config: Option<(ConfigAnswers, u32)> = None;
    let mut unavailable_since: Option<i64> = None;

    loop {
        ticker.tick().await;
        let mut snapshot = (**sender.borrow()).clone();
        let mut lags = None;
        let mut demoted = false;
        let mut diagnostics_changed = false;
        // Redis stopped answering during this sample's later reads (a DEBUG SLEEP, a KEYS):
        // said at once rather than one interval later.
        let mut stalled = None;
        snapshot.published_at_ms = now_ms();
        let reading_result = match reading.ensure_named(&redis).await {
            Ok(()) => read_info_quiet(&redis, &dialect).await,
            Err(failure) => Err(failure),
        };
        match reading_result {
            Ok(QuietReading {
                info,
                total_keys,
                nodes,
                own_totals: own_lookups,
                own_this_run,
                own_shared,
                commands,
                own_commands,
                latency,
            }) => {
                snapshot.nodes = nodes;
                unavailable_since = None;
                let taken = Instant::now();
                let mut counters = Counters::from_info(&info);
                (counters.own_hits, counters.own_misses) = own_lookups;
                // A window between a count of this replica's lookups and one of every
                // replica's would take the others' earlier lookups off its traffic: skipped.
                let rates = previous
                    .as_ref()
                    .filter(|p| p.own_shared == own_shared)
                    .and_then(|p| {
                        Rates::between(
                            &p.counters,
                            &counters,
                            taken.duration_since(p.taken).as_secs_f64(),
                        )
                    });
                let stats = RedisStats::from_info(&info, total_keys).without_own(own_this_run);

                let needs_config = config
                    .as_ref()
                    .is_none_or(|(_, age)| *age >= CONFIG_EVERY_SAMPLES);
                let answers = match config.take() {
                    Some((answers, age)) if !needs_config => (answers, age + 1),
                    _ => {
                        reading.name_again(); // cheap, and covers reconnections others saw
                        (read_config(&redis).await, 1)
                    }
                };
                // INFO-backed fields stay fresh; CONFIG-backed ones are reused between reads.
                let view = RedisConfigView::new(&info, &answers.0);
                match reading
                    .refresh(
                        &redis,
                        &info,
                        &answers.0,
                        &settings.diagnostics,
                        snapshot.published_at_ms,
                    )
                    .await
                {
                    Ok(changed) => diagnostics_changed = changed,
                    Err(failure) => stalled = Some(failure),
                }
                config = Some(answers);

                let point = Point::new(
                    snapshot.published_at_ms,
                    rates.as_ref(),
                    stats.used_memory_bytes,
                    stats.maxmemory_bytes,
                    stats.total_keys,
                );
                let (last_hour, closed_minute) = {
                    let mut history = history
                        .write()
                        .unwrap_or_else(|poisoned| poisoned.into_inner());
                    let closed = history.push(point);
                    (
                        history.series(HistoryRange::Hour1, snapshot.published_at_ms),
                        closed,
                    )
                };
                if let (Some(minute), Some(key)) = (closed_minute, &history_key)
                    && let Err(failure) =
                        persisted::save_minute(&redis, key, &minute, snapshot.published_at_ms).await
                {
                    tracing::debug!(target_name = redis.name(), reason = %failure, "keeping the history in Redis failed");
                }
                snapshot.memory_forecast = memory_forecast(&last_hour);
                command_history
                    .write()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .push(CommandReading {
                        at_ms: snapshot.published_at_ms,
                        run_id: info.get("run_id").unwrap_or_default().to_owned(),
                        table: commands,
                        own: own_commands,
                        latency,
                    });
                snapshot.status = LiveStatus::Up;
                snapshot.sampled_at_ms = snapshot.published_at_ms;
                snapshot.badges = health::evaluate(&stats, rates.as_ref(), &settings.thresholds);
                snapshot.config_mismatches = redis_config::mismatches(&view, &settings.expected);
                snapshot.config = Some(view);
                snapshot.keys_per_db = info.keys_per_db().into_iter().collect();
                if info.get("role") == Some("slave") {
                    // A master demoted by a failover still answers reads: ask the sentinels.
                    demoted = true;
                }
                lags = Some(crate::model::topology::replica_lags(&info));
                snapshot.stats = Some(stats);
                snapshot.rates = rates;
                snapshot.point = Some(point);
                previous = Some(Previous {
                    counters,
                    taken,
                    own_shared,
                });
            }
            Err(failure) => {
                reading.name_again();
                if !failure.is_refusal() {
                    redis.own_lookups().mark_down();
                }
                let since = *unavailable_since.get_or_insert(snapshot.published_at_ms);
                if !matches!(&snapshot.status, LiveStatus::Unavailable { reason, .. } if *reason == failure.reason)
                {
                    tracing::warn!(target_name = redis.name(), reason = %failure, "sampling Redis failed");
                }
                // Keep the last known stats (shown with their age); no new point, no rates.
                snapshot.status = LiveStatus::Unavailable {
                    reason: failure.reason,
                    since_ms: since,
                };
                snapshot.rates = None;
                snapshot.point = None;
            }
        }
        if let Some(failure) = stalled {
            reading.name_again();
            let since = *unavailable_since.get_or_insert(snapshot.published_at_ms);
            snapshot.status = LiveStatus::Unavailable {
                reason: failure.reason,
                since_ms: since,
            };
        }
        if redis.is_cluster() {
            // Slot and failover states: every node, replicas included, as the cluster sees it.
            match redis.cluster_nodes().await {
                Ok(nodes) => snapshot.cluster_nodes = nodes,
                Err(failure) => {
                    tracing::warn!(target_name = redis.name(), reason = %failure, "reading CLUSTER NODES failed");
                }
            }
        }
        if demoted {
            redis.rediscover().await;
        }
        if let Some(settings) = redis.sentinel() {
            follow_sentinel(&redis, settings, &mut snapshot, lags.take()).await;
        }
        let due = diagnostics_published
            .is_none_or(|published| published.elapsed() >= DIAGNOSTICS_AT_LEAST_EVERY);
        if diagnostics_changed || due {
            publish_diagnostics(&reading, &diagnostics, &diagnostics_version);
            diagnostics_published = Some(Instant::now());
        }
        if sender.send(Arc::new(snapshot)).is_err() {
            return;
        }
    }
}

/// The minutes an earlier run kept in Redis, so charts survive a restart; without them (Redis
/// down at start, nothing kept) the history simply starts empty.
async fn restore_history(redis: &RedisTarget, key: &str, history: &RwLock<History>) {
    match persisted::load(redis, key, now_ms()).await {
        Ok(minutes) if !minutes.is_empty() => history
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .seed(minutes),
        Ok(_) => {}
        Err(failure) => {
            tracing::info!(target_name = redis.name(), reason = %failure, "no history restored from Redis");
        }
    }
}

/// Replaces the shared diagnostics with the task's reading and tells the event streams.
fn publish_diagnostics(
    reading: &Diagnostics,
    shared: &RwLock<Diagnostics>,
    version: &watch::Sender<u64>,
) {
    *shared
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner()) = reading.clone();
    version.send_modify(|version| *version += 1);
}

/// Behind Sentinel: refreshes the topology (master, replicas with lag, sentinels). When the
/// master could not be read, the replicas' lag is not known and the last figures are dropped.
async fn follow_sentinel(
    redis: &RedisTarget,
    settings: &crate::server::redis::sentinel::SentinelSettings,
    snapshot: &mut LiveSnapshot,
    lags: Option<std::collections::HashMap<String, u64>>,
) {
    let lags = lags.unwrap_or_default();
    match crate::server::redis::sentinel::topology(settings, redis.timeouts(), &lags).await {
        Ok(topology) => snapshot.topology = Some(topology),
        Err(failure) => {
            tracing::warn!(target_name = redis.name(), reason = %failure, "reading the Sentinel topology failed");
        }
    }
}

/// `CONFIG GET` for what INFO lacks. Each field fails alone (renamed CONFIG, ACL) and is then
/// unavailable. `requirepass` is reduced to a boolean here; its value is never kept.
pub async fn read_config(redis: &RedisTarget) -> ConfigAnswers {
    const NAMES: [&str; 5] = [
        "save",
        "requirepass",
        "slowlog-log-slower-than",
        "slowlog-max-len",
        "latency-monitor-threshold",
    ];
    let mut values: [Option<String>; 5] = Default::default();
    for (name, value) in NAMES.into_iter().zip(values.iter_mut()) {
        let answer = redis
            .run(move |mut connection| async move {
                redis::cmd("CONFIG")
                    .arg("GET")
                    .arg(name)
                    .query_async::<Vec<String>>(&mut connection)
                    .await
            })
            .await;
        match answer {
            Ok(pair) => *value = pair.into_iter().nth(1),
            // A stalled server would make each further question wait as long again.
            Err(failure) if failure == RedisFailure::timed_out() => break,
            Err(_) => {}
        }
    }
    fn number<T: std::str::FromStr>(value: Option<String>) -> Option<T> {
        value.and_then(|text| text.parse().ok())
    }
    let [save, requirepass, slower_than, max_len, latency_threshold] = values;
    ConfigAnswers {
        save_rules: save,
        password_required: requirepass.map(|value| !value.is_empty()),
        slowlog_slower_than_usec: number(slower_than),
        slowlog_max_len: number(max_len),
        latency_monitor_threshold_ms: number(latency_threshold),
    }
}
