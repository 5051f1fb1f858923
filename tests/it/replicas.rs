//! Two real cachepanel processes on one real Redis: jobs run once across replicas (leases in
//! Redis), previews and cancels work from either, a killed replica's lease expires and its
//! unfinished flush is audited, and the census schedule fires once per period.

use std::time::{Duration, Instant};

use cachepanel::server::redis::process::{RedisProcess, RedisProcessOptions};
use serde_json::Value;

use crate::harness::{
    Served, command_calls, fill_keys, redis_connection, serve, start_redis, token_for,
};

struct Replica {
    served: Served,
    client: reqwest::Client,
    token: String,
}

impl Replica {
    fn start(redis: &RedisProcess, name: &str, extra: &[(&str, &str)]) -> Self {
        let mut settings = vec![
            ("CACHEPANEL_REPLICA_ID", name),
            ("CACHEPANEL_KEEP_HISTORY", "false"),
        ];
        settings.extend_from_slice(extra);
        Self {
            served: serve(&redis.url(), &settings, &[]),
            client: reqwest::Client::new(),
            token: token_for("superadmin", 7),
        }
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.served.origin))
            .bearer_auth(&self.token)
            .form(form)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn page(&self, path: &str) -> String {
        crate::harness::text_as(
            &self.client,
            &format!("{}{path}", self.served.origin),
            &self.token,
        )
        .await
    }

    async fn get(&self, path: &str) -> Value {
        serde_json::from_str(&self.page(path).await).unwrap()
    }

    async fn metrics(&self) -> String {
        self.page("/metrics").await
    }

    async fn preview(&self, prefix: &str) -> String {
        let (status, preview) = self.post("/api/flush/preview", &[("prefix", prefix)]).await;
        assert_eq!(status, 200, "{preview}");
        preview["id"].as_str().unwrap().to_owned()
    }

    async fn start_flush(&self, prefix: &str, id: &str) -> (u16, Value) {
        self.post(
            "/api/flush/start",
            &[("prefix", prefix), ("preview_id", id)],
        )
        .await
    }

    /// The report of the flush this replica ran, once it is over.
    async fn finished_flush(&self, limit: Duration) -> Value {
        let deadline = Instant::now() + limit;
        loop {
            let state = self.get("/api/flush").await;
            if state["running"].is_null() && !state["last"].is_null() {
                return state["last"].clone();
            }
            assert!(Instant::now() < deadline, "the flush did not end: {state}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.served.child.kill();
        let _ = self.served.child.wait();
        let _ = std::fs::remove_file(&self.served.log);
    }
}

fn dbsize(url: &str) -> u64 {
    redis::cmd("DBSIZE")
        .query(&mut redis_connection(url))
        .unwrap()
}

fn keys_under(url: &str, pattern: &str) -> u64 {
    let mut connection = redis_connection(url);
    let mut cursor = 0_u64;
    let mut count = 0;
    loop {
        let (next, keys): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(10_000)
            .query(&mut connection)
            .unwrap();
        count += keys.len() as u64;
        if next == 0 {
            return count;
        }
        cursor = next;
    }
}

/// Audit entries with `action`, oldest first, as field maps.
fn audit_entries(url: &str, action: &str) -> Vec<std::collections::HashMap<String, String>> {
    let entries: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
        .arg("cachepanel:audit")
        .arg("-")
        .arg("+")
        .query(&mut redis_connection(url))
        .unwrap();
    entries
        .into_iter()
        .map(|(_, fields)| fields.into_iter().collect())
        .filter(|fields: &std::collections::HashMap<String, String>| {
            fields.get("action").map(String::as_str) == Some(action)
        })
        .collect()
}

async fn until_deleting(url: &str, full: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while dbsize(url) >= full {
        assert!(
            Instant::now() < deadline,
            "the flush did not start deleting"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_flush_runs_once_across_replicas_and_either_one_can_confirm_or_cancel_it() {
    let redis = start_redis(RedisProcessOptions::default());
    let url = redis.url();
    fill_keys(&url, "user:", 200_000);
    fill_keys(&url, "object:", 3_000);
    fill_keys(&url, "shift:", 500);
    // A slow flush on A (small duty cycle), so it surely runs while B is asked.
    let a = Replica::start(
        &redis,
        "panel-a",
        &[("CACHEPANEL_FLUSH_DUTY_CYCLE", "0.05")],
    );
    let b = Replica::start(&redis, "panel-b", &[]);

    let id = a.preview("user:").await;
    let (status, body) = a.start_flush("user:", &id).await;
    assert_eq!(status, 200, "{body}");
    until_deleting(&url, 203_500).await;

    // B knows A runs it: a start on B answers 409 naming A.
    let other = b.preview("object:").await;
    let (status, refused) = b.start_flush("object:", &other).await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["problem"]["kind"], "flush_running", "{refused}");
    assert_eq!(refused["problem"]["replica"], "panel-a", "{refused}");
    assert!(
        refused["message"].as_str().unwrap().contains("panel-a"),
        "{refused}"
    );

    // B's page shows A's flush as it goes (from A's run record).
    let deadline = Instant::now() + Duration::from_secs(10);
    let shown = loop {
        let state = b.get("/api/flush").await;
        if state["running"]["replica"] == "panel-a"
            && state["running"]["deleted_keys"].as_u64() > Some(0)
        {
            break state;
        }
        assert!(
            Instant::now() < deadline,
            "B never showed A's flush: {state}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(shown["running"]["prefix"], "user:", "{shown}");
    // … and its page names the replica running it, in both languages.
    for lang in ["ru", "en"] {
        let page = b.page(&format!("/admin/cache/stats?lang={lang}")).await;
        assert_eq!(
            crate::harness::test_id_text(&page, "job-replica").as_deref(),
            Some("panel-a"),
            "{lang}"
        );
    }
    assert!(
        crate::harness::test_id_text(&a.page("/admin/cache/stats").await, "job-replica").is_none(),
        "the replica running it names no other"
    );

    // Cancel from B reaches A's flush at its next renewal; it stops within a page after.
    let asked = Instant::now();
    let (status, cancelled) = b.post("/api/flush/cancel", &[]).await;
    assert_eq!(
        (status, cancelled.clone()),
        (200, Value::Bool(true)),
        "{cancelled}"
    );
    let report = a.finished_flush(Duration::from_secs(10)).await;
    let stopped_after = asked.elapsed();
    assert_eq!(report["outcome"]["state"], "cancelled", "{report}");
    assert!(
        stopped_after < Duration::from_secs(3),
        "stopped {stopped_after:?} after the cancel"
    );
    let deleted = report["deleted_keys"].as_u64().unwrap();
    assert!(deleted > 0 && deleted < 200_000, "{report}");
    let left = keys_under(&url, "user:*");
    assert_eq!(left, 200_000 - deleted, "nothing deleted after the report");
    // B shows how A's flush ended, too.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let state = b.get("/api/flush").await;
        if state["running"].is_null() && state["last"]["outcome"]["state"] == "cancelled" {
            assert_eq!(state["last"]["deleted_keys"], deleted, "{state}");
            break;
        }
        assert!(Instant::now() < deadline, "B never showed the end: {state}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        keys_under(&url, "user:*"),
        left,
        "nothing deleted after the stop"
    );

    // A preview made on A is confirmed on B; the flush deletes exactly the prefix.
    let id = a.preview("object:").await;
    let (status, body) = b.start_flush("object:", &id).await;
    assert_eq!(status, 200, "{body}");
    let report = b.finished_flush(Duration::from_secs(20)).await;
    assert_eq!(report["outcome"]["state"], "complete", "{report}");
    assert_eq!(report["deleted_keys"], 3_000);
    assert_eq!(keys_under(&url, "object:*"), 0);
    assert_eq!(keys_under(&url, "user:*"), left);
    assert_eq!(keys_under(&url, "shift:*"), 500);
    // A used preview is gone for both.
    let (status, again) = a.start_flush("object:", &id).await;
    assert_eq!(status, 400, "{again}");
    assert_eq!(again["problem"]["kind"], "unknown_preview", "{again}");
    // And nothing of the jobs' own state is left behind but the last reports.
    assert_eq!(keys_under(&url, "cachepanel:{cache}:flush:lease"), 0);
    assert_eq!(keys_under(&url, "cachepanel:{cache}:flush:run"), 0);
    assert_eq!(
        keys_under(&url, "cachepanel:{cache}:flush:preview:*"),
        1,
        "B's unused one"
    );
}

#[tokio::test]
async fn a_killed_replicas_lease_expires_and_its_unfinished_flush_is_audited() {
    let redis = start_redis(RedisProcessOptions::default());
    let url = redis.url();
    fill_keys(&url, "user:", 200_000);
    fill_keys(&url, "object:", 1_000);
    let ttl = Duration::from_millis(3_000);
    let lease = [("CACHEPANEL_LEASE_TTL_MS", "3000")];
    let mut a = Replica::start(
        &redis,
        "panel-a",
        &[lease[0], ("CACHEPANEL_FLUSH_DUTY_CYCLE", "0.05")],
    );
    let b = Replica::start(&redis, "panel-b", &lease);
    let id = a.preview("user:").await;
    let (status, body) = a.start_flush("user:", &id).await;
    assert_eq!(status, 200, "{body}");
    until_deleting(&url, 201_000).await;
    // Let a renewal write A's progress into its run record.
    tokio::time::sleep(Duration::from_millis(1_200)).await;

    let _ = a.served.child.kill(); // SIGKILL: no shutdown, no release
    let _ = a.served.child.wait();
    let killed = Instant::now();
    let id = b.preview("object:").await;
    let (status, refused) = b.start_flush("object:", &id).await;
    assert_eq!(
        status, 409,
        "the dead replica's lease still holds: {refused}"
    );
    assert_eq!(refused["problem"]["replica"], "panel-a");
    let started_after = loop {
        let (status, body) = b.start_flush("object:", &id).await;
        if status == 200 {
            break killed.elapsed();
        }
        assert_eq!(status, 409, "{body}");
        assert!(killed.elapsed() < Duration::from_secs(15), "never started");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    eprintln!("B started {started_after:?} after A was killed (lease {ttl:?})");
    // At most the TTL after A's last renewal (≤ 1 s before the kill), plus the poll.
    assert!(
        started_after <= ttl + Duration::from_millis(1_000),
        "{started_after:?}"
    );
    let report = b.finished_flush(Duration::from_secs(20)).await;
    assert_eq!(report["outcome"]["state"], "complete", "{report}");
    assert_eq!(keys_under(&url, "object:*"), 0);

    // The audit: A's flush started, never finished, and B recorded it as interrupted.
    let started = audit_entries(&url, "flush_started");
    assert!(
        started.iter().any(|e| e["prefix"] == "user:"),
        "{started:?}"
    );
    let finished = audit_entries(&url, "flush_finished");
    assert!(
        finished.iter().all(|e| e["prefix"] != "user:"),
        "A never finished: {finished:?}"
    );
    let interrupted = audit_entries(&url, "flush_interrupted");
    let entry = interrupted
        .iter()
        .find(|e| e["prefix"] == "user:")
        .unwrap_or_else(|| panic!("no interrupted entry for A's flush: {interrupted:?}"));
    assert!(entry["actor"].contains("#7"), "{entry:?}");
    let detail = &entry["detail"];
    assert!(
        detail.contains("panel-a stopped without finishing"),
        "{detail}"
    );
    let deleted_by_a = 200_000 - keys_under(&url, "user:*");
    assert!(deleted_by_a > 0);
    assert!(
        detail.contains("deleted="),
        "what A had deleted is recorded: {detail}"
    );
}

#[tokio::test]
async fn the_census_schedule_runs_once_per_period_across_replicas() {
    let redis = start_redis(RedisProcessOptions::default());
    let url = redis.url();
    fill_keys(&url, "user:", 100);
    let every = [("CACHEPANEL_CENSUS_EVERY_SECONDS", "2")];
    let before = command_calls(&url, "hgetall");
    let started = Instant::now();
    let a = Replica::start(&redis, "panel-a", &every);
    let b = Replica::start(&redis, "panel-b", &every);
    tokio::time::sleep(Duration::from_millis(9_000)).await;
    // Each census reads the application's per-prefix counters once (15 HGETALLs, one per
    // minute): how many censuses ran, whichever replica ran them.
    let censuses = (command_calls(&url, "hgetall") - before)
        / cachepanel::model::census::PREFIX_HITS_MINUTES as u64;
    let periods = started.elapsed().as_secs_f64() / 2.0;
    eprintln!("{censuses} censuses in {periods:.1} periods of 2 s with two replicas");
    assert!(
        (censuses as f64) <= periods + 1.0 && censuses as f64 >= periods - 2.0,
        "{censuses} censuses in {periods:.1} periods"
    );
    // Both replicas serve a census report (each its own last run, or none yet on one).
    let ran_on_a = !a.get("/api/census").await["last"].is_null();
    let ran_on_b = !b.get("/api/census").await["last"].is_null();
    assert!(ran_on_a || ran_on_b);
}

#[tokio::test]
async fn one_replicas_census_lookups_never_show_as_cache_traffic_on_another() {
    let redis = start_redis(RedisProcessOptions::default());
    let url = redis.url();
    fill_keys(&url, "user:", 20_000);
    let fast = [("CACHEPANEL_SAMPLE_INTERVAL_MS", "300")];
    let a = Replica::start(&redis, "panel-a", &fast);
    let b = Replica::start(&redis, "panel-b", &fast);
    // They find each other (announced every 2 s at first) and count their lookups together.
    for replica in [&a, &b] {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let metrics = replica.metrics().await;
            if metrics.contains(r#"cachepanel_other_replicas_present{target="cache"} 1"#) {
                break;
            }
            assert!(Instant::now() < deadline, "never saw the other: {metrics}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    // A few samples of both, counted together, before the figures are taken.
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let lifetime_hits = |snapshot: &Value| snapshot["stats"]["keyspace_hits"].as_i64();
    let deadline = Instant::now() + Duration::from_secs(10);
    let before = loop {
        let snapshot = b.get("/api/live/snapshot").await;
        if let Some(hits) = lifetime_hits(&snapshot) {
            break hits;
        }
        assert!(Instant::now() < deadline, "B never sampled: {snapshot}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let raw_before = crate::harness::raw_keyspace_hits(&url);

    // A census on A: tens of thousands of lookups (TYPE, PTTL, OBJECT …) B never made.
    let (status, body) = a.post("/api/census/start-full", &[]).await;
    assert_eq!(status, 200, "{body}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while a.get("/api/census").await["last"].is_null() {
        assert!(Instant::now() < deadline, "the census did not finish");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let raw_after = crate::harness::raw_keyspace_hits(&url);
    assert!(
        raw_after - raw_before >= 40_000,
        "{raw_before} -> {raw_after}"
    );
    // Two of B's samples later (A has added its lookups to the shared count by then) ...
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let snapshot = b.get("/api/live/snapshot").await;
    let after = lifetime_hits(&snapshot).unwrap();
    // ... B's figures leave A's lookups out, as A's own do (a few of the leases' own may be in
    // flight between the two).
    assert!(
        (after - before).abs() < 50,
        "B counted A's census: {before} -> {after}"
    );
    let on_a = lifetime_hits(&a.get("/api/live/snapshot").await).unwrap();
    assert!(on_a < 50, "A counted its own census: {on_a}");
    // No window of B's shows traffic there was not: nobody else looked anything up.
    let history = b.get("/api/history?range=15m").await;
    let shown_hits: Vec<&Value> = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|point| point["hit_rate_percent"].as_f64().is_some())
        .collect();
    assert!(shown_hits.is_empty(), "{shown_hits:?}");
}

/// A form POST from an in-process app's signed-in client: status and JSON answer.
async fn post_to(app: &crate::harness::TestApp, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
    crate::harness::json_answer(app.http.post(format!("{}{path}", app.base_url)).form(form)).await
}

/// Previews `prefix` on `app` and confirms that preview there: the start's answer.
async fn preview_and_start_on(app: &crate::harness::TestApp, prefix: &str) -> (u16, Value) {
    let (status, preview) = post_to(app, "/api/flush/preview", &[("prefix", prefix)]).await;
    assert_eq!(status, 200, "{preview}");
    let id = preview["id"].as_str().unwrap().to_owned();
    post_to(
        app,
        "/api/flush/start",
        &[("prefix", prefix), ("preview_id", &id)],
    )
    .await
}

async fn finished_on(app: &crate::harness::TestApp, limit: Duration) -> Value {
    let deadline = Instant::now() + limit;
    loop {
        let (_, state) = app.get_json("/api/flush").await;
        if state["running"].is_null() && !state["last"].is_null() {
            return state["last"].clone();
        }
        assert!(Instant::now() < deadline, "the flush did not end: {state}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_cluster_the_lease_previews_and_cancel_work_across_replicas() {
    use crate::cluster::{Cluster, start_replica_on};
    let cluster = tokio::task::spawn_blocking(|| {
        let cluster = Cluster::start(3);
        cluster.fill("user:", 20_000);
        cluster.fill("shift:", 300);
        cluster
    })
    .await
    .unwrap();
    let named = |name: &'static str| {
        move |config: &mut cachepanel::server::config::Config| {
            config.jobs.replica = name.into();
            config.flush.duty_cycle = 0.05;
        }
    };
    let a = start_replica_on(&cluster, named("panel-a")).await;
    let b = start_replica_on(&cluster, named("panel-b")).await;

    let (status, preview) = post_to(&a, "/api/flush/preview", &[("prefix", "user:")]).await;
    assert_eq!(status, 200, "{preview}");
    let id = preview["id"].as_str().unwrap().to_owned();
    let (status, body) = post_to(
        &a,
        "/api/flush/start",
        &[("prefix", "user:"), ("preview_id", &id)],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while cluster.count_matching("user:*") == 20_000 {
        assert!(
            Instant::now() < deadline,
            "the flush did not start deleting"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The lease, its run record and the shared state share one slot: the scripts over them
    // ran (a CROSSSLOT error would have refused the start).
    let (status, refused) = preview_and_start_on(&b, "shift:").await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["problem"]["replica"], "panel-a", "{refused}");
    let (status, cancelled) = post_to(&b, "/api/flush/cancel", &[]).await;
    assert_eq!((status, cancelled), (200, Value::Bool(true)));
    let report = finished_on(&a, Duration::from_secs(10)).await;
    assert_eq!(report["outcome"]["state"], "cancelled", "{report}");
    let left = cluster.count_matching("user:*");
    assert_eq!(left, 20_000 - report["deleted_keys"].as_u64().unwrap());

    // A preview made on A, confirmed on B: exactly the prefix goes, from every master.
    let (_, preview) = post_to(&a, "/api/flush/preview", &[("prefix", "shift:")]).await;
    let id = preview["id"].as_str().unwrap().to_owned();
    let (status, body) = post_to(
        &b,
        "/api/flush/start",
        &[("prefix", "shift:"), ("preview_id", &id)],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let report = finished_on(&b, Duration::from_secs(20)).await;
    assert_eq!(report["outcome"]["state"], "complete", "{report}");
    assert_eq!(report["deleted_keys"], 300);
    assert_eq!(cluster.count_matching("shift:*"), 0);
    assert_eq!(cluster.count_matching("user:*"), left);
    assert_eq!(cluster.count_matching("cachepanel:{cache}:flush:lease"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sentinel_failover_stops_the_flush_safely_and_the_lease_frees_on_the_new_master() {
    use crate::sentinel::{Topology, start_replica_behind};
    let mut topology = tokio::task::spawn_blocking(Topology::start).await.unwrap();
    let replica_port = topology.replica.port();
    fill_keys(&topology.master.url(), "user:", 200_000);
    fill_keys(&topology.master.url(), "shift:", 500);
    let deadline = Instant::now() + Duration::from_secs(20);
    while dbsize(&topology.replica.url()) < 200_500 {
        assert!(Instant::now() < deadline, "the replica did not sync");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let app = start_replica_behind(&topology, |config| {
        config.jobs.replica = "panel-a".into();
        config.jobs.lease_ttl = Duration::from_secs(3);
        config.flush.duty_cycle = 0.05;
    })
    .await;
    let (status, preview) = post_to(&app, "/api/flush/preview", &[("prefix", "user:")]).await;
    assert_eq!(status, 200, "{preview}");
    let id = preview["id"].as_str().unwrap().to_owned();
    let (status, body) = post_to(
        &app,
        "/api/flush/start",
        &[("prefix", "user:"), ("preview_id", &id)],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    until_deleting(&topology.master.url(), 200_500).await;

    // The master dies mid-flush: the flush stops (its next page fails) and says so.
    topology.master.stop();
    let report = finished_on(&app, Duration::from_secs(30)).await;
    assert_eq!(report["outcome"]["state"], "failed", "{report}");

    // Once Sentinel has promoted the replica, a new flush can start there: the old lease was
    // released or expires within its TTL, and the keys outside the prefix are all there.
    let deadline = Instant::now() + Duration::from_secs(60);
    while topology.master_according_to_sentinels() != Some(replica_port) {
        assert!(Instant::now() < deadline, "no promotion");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(keys_under(&topology.replica.url(), "shift:*"), 500);
    let deadline = Instant::now() + Duration::from_secs(30);
    let started = loop {
        let (status, preview) = post_to(&app, "/api/flush/preview", &[("prefix", "user:")]).await;
        if status == 200 {
            let id = preview["id"].as_str().unwrap().to_owned();
            let (status, body) = post_to(
                &app,
                "/api/flush/start",
                &[("prefix", "user:"), ("preview_id", &id)],
            )
            .await;
            if status == 200 {
                break body;
            }
            assert!(matches!(status, 409 | 503), "{status} {body}");
        }
        assert!(
            Instant::now() < deadline,
            "no flush could start after the failover"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert!(started["running"].is_object(), "{started}");
    let report = finished_on(&app, Duration::from_secs(60)).await;
    assert_eq!(report["outcome"]["state"], "complete", "{report}");
    assert_eq!(keys_under(&topology.replica.url(), "user:*"), 0);
    assert_eq!(keys_under(&topology.replica.url(), "shift:*"), 500);
}

#[tokio::test]
async fn random_keyspaces_lose_exactly_the_prefix_when_two_replicas_cancel_and_restart_a_flush() {
    use rand::{Rng, SeedableRng};
    let a = crate::harness::start_app_with(RedisProcessOptions::default(), |config| {
        crate::flush::fuzz_groups(config);
        config.jobs.replica = "panel-a".into();
        config.flush.duty_cycle = 0.05;
    })
    .await;
    let url = a.redis.url();
    let shared_url = cachepanel::server::config::RedisUrl::parse(&url).unwrap();
    let b = crate::harness::start_app_with(RedisProcessOptions::default(), move |config| {
        crate::flush::fuzz_groups(config);
        config.jobs.replica = "panel-b".into();
        config.flush.duty_cycle = 0.05;
        config.redis.url = Some(shared_url);
    })
    .await;
    let replicas = [&a, &b];
    let mut connection = redis_connection(&url);
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x2e91);
    let key_alphabet: &[&[u8]] = &[
        b"f",
        b"a",
        b"*",
        b"?",
        b"[",
        b"\\",
        b":",
        "ж".as_bytes(),
        b"\xff",
    ];
    let prefix_alphabet: &[&[u8]] = &[b"a", b"*", b"?", b"[", b"\\", b":", "ж".as_bytes()];
    for round in 0..6 {
        redis::cmd("FLUSHDB").exec(&mut connection).unwrap();
        let mut prefix_bytes = b"f".to_vec();
        prefix_bytes.extend(crate::flush::random_bytes(&mut rng, prefix_alphabet, 0, 3));
        let prefix = String::from_utf8(prefix_bytes.clone()).unwrap();
        let mut keys: Vec<Vec<u8>> = (0..400)
            .map(|_| crate::flush::random_bytes(&mut rng, key_alphabet, 1, 6))
            .collect();
        // Enough under the prefix for several pages, so a cancel lands mid-flush.
        keys.extend((0..4000).map(|i| {
            let mut key = prefix_bytes.clone();
            key.extend(format!("{i}").as_bytes());
            key
        }));
        keys.sort();
        keys.dedup();
        let mut pipe = redis::pipe();
        for key in &keys {
            pipe.cmd("SET").arg(key.as_slice()).arg("v").ignore();
        }
        pipe.exec(&mut connection).unwrap();

        // Preview on one replica, start on either, cancel from either after a moment, and
        // start again, until a flush completes.
        let mut attempts = 0;
        loop {
            attempts += 1;
            let previewer = replicas[rng.random_range(0..2)];
            let starter = replicas[rng.random_range(0..2)];
            let (status, preview) =
                post_to(previewer, "/api/flush/preview", &[("prefix", &prefix)]).await;
            assert_eq!(status, 200, "round {round}: {preview}");
            let id = preview["id"].as_str().unwrap().to_owned();
            let (status, body) = post_to(
                starter,
                "/api/flush/start",
                &[("prefix", &prefix), ("preview_id", &id)],
            )
            .await;
            assert_eq!(status, 200, "round {round}: {body}");
            if attempts < 3 {
                tokio::time::sleep(Duration::from_millis(rng.random_range(0..200))).await;
                let canceller = replicas[rng.random_range(0..2)];
                let _ = post_to(canceller, "/api/flush/cancel", &[]).await;
            }
            let report = finished_on(starter, Duration::from_secs(30)).await;
            // The other replica's lease view settles before the next start.
            let deadline = Instant::now() + Duration::from_secs(5);
            while keys_under(&url, "cachepanel:*:flush:lease") > 0 {
                assert!(Instant::now() < deadline, "the lease was never released");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            if report["outcome"]["state"] == "complete" {
                break;
            }
            assert_eq!(
                report["outcome"]["state"], "cancelled",
                "round {round}: {report}"
            );
        }
        crate::flush::assert_only_the_prefix_is_gone(&mut connection, &keys, &prefix, round);
    }
}
