//! Governed prefix flush on real Redis: exactly the keys under the prefix go, nothing else,
//! every refusal refuses, and the audit trail records it all.

use std::time::Duration;

use cachepanel::model::census::{GroupKind, PrefixGroup};
use cachepanel::model::flush::{FlushOutcome, FlushPolicy, FlushReport};
use cachepanel::server::config::Config;
use cachepanel::server::redis::process::RedisProcessOptions;
use rand::{Rng, SeedableRng};

use crate::harness::{TestApp, fill_keys, redis_connection, start_app_with};

fn enabled(config: &mut Config) {
    config.flush.policy = FlushPolicy::Enabled;
}

/// Groups for the fuzz test: everything starting with "f" is cache, "s" is state.
pub fn fuzz_groups(config: &mut Config) {
    enabled(config);
    let group = |prefix: &str, kind| PrefixGroup {
        prefix: prefix.into(),
        name_ru: prefix.into(),
        name_en: prefix.into(),
        kind,
    };
    config.census.groups = vec![group("f", GroupKind::Cache), group("s", GroupKind::State)];
}

async fn post(app: &TestApp, path: &str, form: &[(&str, &str)]) -> (u16, serde_json::Value) {
    crate::harness::json_answer(app.http.post(format!("{}{path}", app.base_url)).form(form)).await
}

async fn preview(app: &TestApp, prefix: &str) -> (u16, serde_json::Value) {
    post(app, "/api/flush/preview", &[("prefix", prefix)]).await
}

async fn wait_for_flush(app: &TestApp) -> FlushReport {
    let mut states = app.flush.subscribe();
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            {
                let state = states.borrow_and_update();
                if let (None, Some(report)) = (&state.running, &state.last) {
                    return report.clone();
                }
            }
            states.changed().await.unwrap();
        }
    })
    .await
    .expect("flush finished in time")
}

async fn preview_and_flush(app: &TestApp, prefix: &str) -> (serde_json::Value, FlushReport) {
    let (status, preview) = preview(app, prefix).await;
    assert_eq!(status, 200, "{preview}");
    let id = preview["id"].as_str().unwrap().to_owned();
    let (status, body) = post(
        app,
        "/api/flush/start",
        &[("prefix", prefix), ("preview_id", &id)],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    (preview, wait_for_flush(app).await)
}

/// `min..max` symbols from the alphabet.
pub fn random_bytes(rng: &mut impl Rng, alphabet: &[&[u8]], min: usize, max: usize) -> Vec<u8> {
    let len = rng.random_range(min..max);
    (0..len)
        .flat_map(|_| alphabet[rng.random_range(0..alphabet.len())].to_vec())
        .collect()
}

#[tokio::test]
async fn random_keyspaces_and_prefixes_lose_exactly_the_keys_under_the_prefix() {
    let app = start_app_with(RedisProcessOptions::default(), fuzz_groups).await;
    let mut connection = redis_connection(&app.redis.url());
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed);
    // Glob characters, spaces, unicode and (in keys) bytes that are not UTF-8.
    let key_alphabet: &[&[u8]] = &[
        b"f",
        b"s",
        b"a",
        b"*",
        b"?",
        b"[",
        b"]",
        b"\\",
        b" ",
        b":",
        "ж".as_bytes(),
        "é".as_bytes(),
        b"\xff",
        b"\x00",
        b"^",
    ];
    let prefix_alphabet: &[&[u8]] = &[
        b"f",
        b"a",
        b"*",
        b"?",
        b"[",
        b"]",
        b"\\",
        b" ",
        b":",
        "ж".as_bytes(),
        b"^",
    ];
    for round in 0..25 {
        redis::cmd("FLUSHDB").exec(&mut connection).unwrap();
        let mut keys: Vec<Vec<u8>> = (0..300)
            .map(|_| random_bytes(&mut rng, key_alphabet, 1, 8))
            .collect();
        // A very long prefix now and then, with keys under it.
        let prefix_bytes = if round % 5 == 4 {
            let mut long = b"f".to_vec();
            long.extend(std::iter::repeat_n(b'*', 3000));
            long
        } else {
            let mut prefix = b"f".to_vec();
            prefix.extend(random_bytes(&mut rng, prefix_alphabet, 0, 3));
            prefix
        };
        let prefix = String::from_utf8(prefix_bytes.clone()).unwrap();
        for i in 0..20 {
            let mut key = prefix_bytes.clone();
            key.extend(format!("{i}").as_bytes());
            keys.push(key);
        }
        keys.sort();
        keys.dedup();
        let mut pipe = redis::pipe();
        for key in &keys {
            pipe.cmd("SET").arg(key.as_slice()).arg("v").ignore();
        }
        pipe.exec(&mut connection).unwrap();
        let expected: Vec<&Vec<u8>> = keys
            .iter()
            .filter(|k| k.starts_with(&prefix_bytes))
            .collect();

        let (preview, report) = preview_and_flush(&app, &prefix).await;

        assert_eq!(
            preview["keys"],
            expected.len() as u64,
            "round {round}: preview count for {prefix:?}"
        );
        assert_eq!(report.outcome, FlushOutcome::Complete);
        assert_eq!(
            report.deleted_keys,
            expected.len() as u64,
            "round {round}: reported = removed"
        );
        assert_only_the_prefix_is_gone(&mut connection, &keys, &prefix, round);
    }
}

/// Every key of `keys` under `prefix` is gone and every other one is still there.
pub fn assert_only_the_prefix_is_gone(
    connection: &mut redis::Connection,
    keys: &[Vec<u8>],
    prefix: &str,
    round: usize,
) {
    for key in keys {
        let exists: bool = redis::cmd("EXISTS")
            .arg(key.as_slice())
            .query(connection)
            .unwrap();
        assert_eq!(
            exists,
            !key.starts_with(prefix.as_bytes()),
            "round {round}: key {key:?} with prefix {prefix:?}"
        );
    }
}

#[tokio::test]
async fn keys_written_elsewhere_during_a_flush_survive() {
    let app = start_app_with(RedisProcessOptions::default(), |config| {
        enabled(config);
        config.flush.duty_cycle = 0.3;
    })
    .await;
    let url = app.redis.url();
    let mut connection = redis_connection(&url);
    let mut pipe = redis::pipe();
    for i in 0..30_000 {
        pipe.cmd("SET").arg(format!("user:{i}")).arg("v").ignore();
        if i % 10 == 0 {
            pipe.cmd("SET").arg(format!("object:{i}")).arg("v").ignore();
        }
    }
    pipe.exec(&mut connection).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut connection = redis_connection(&url);
            let mut written = 0_u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                redis::cmd("SET")
                    .arg(format!("shift:during:{written}"))
                    .arg("v")
                    .exec(&mut connection)
                    .unwrap();
                written += 1;
            }
            written
        })
    };
    let scripts = || {
        let url = app.redis.url();
        crate::harness::command_calls(&url, "eval") + crate::harness::command_calls(&url, "evalsha")
    };
    let scripts_before = scripts();
    let started = std::time::Instant::now();
    let (_, report) = preview_and_flush(&app, "user:").await;
    let scripts_during = scripts() - scripts_before;
    let took = started.elapsed();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let written = writer.join().unwrap();

    assert_eq!(report.outcome, FlushOutcome::Complete);
    assert_eq!(report.deleted_keys, 30_000);
    let shifts: u64 = count_matching(&mut connection, "shift:during:*");
    assert_eq!(
        shifts, written,
        "every key written under another prefix survives"
    );
    assert_eq!(count_matching(&mut connection, "object:*"), 3000);
    assert_eq!(count_matching(&mut connection, "user:*"), 0);
    let stats: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(&mut connection)
        .unwrap();
    for forbidden in ["cmdstat_keys:", "cmdstat_flushdb:", "cmdstat_flushall:"] {
        assert!(!stats.contains(forbidden), "{forbidden} was sent");
    }
    assert!(stats.contains("cmdstat_unlink:"));
    // The only scripts are the lease's (take, renew about once a second, release) and the
    // replica presence's (every 2 s after start); each may be sent once more as EVAL after a
    // NOSCRIPT. No server-side loop deletes anything.
    let seconds = took.as_secs() + 1;
    let expected = 2 + seconds + seconds.div_ceil(2) + 1;
    assert!(
        scripts_during <= 2 * expected,
        "{scripts_during} script calls during a {took:?} preview and flush"
    );
}

fn count_matching(connection: &mut redis::Connection, pattern: &str) -> u64 {
    let keys: Vec<Vec<u8>> = redis::cmd("SCAN")
        .arg(0)
        .arg("MATCH")
        .arg(pattern)
        .arg("COUNT")
        .arg(1_000_000)
        .query::<(u64, Vec<Vec<u8>>)>(connection)
        .unwrap()
        .1;
    keys.len() as u64
}

#[tokio::test]
async fn refusals_are_clear_and_change_nothing() {
    let app = start_app_with(RedisProcessOptions::default(), |config| {
        enabled(config);
        config.flush.duty_cycle = 0.05;
    })
    .await;
    let mut connection = redis_connection(&app.redis.url());
    let mut pipe = redis::pipe();
    for i in 0..20_000 {
        pipe.cmd("SET").arg(format!("user:{i}")).arg("v").ignore();
    }
    pipe.cmd("SET").arg("pin:telegram:1").arg("1234").ignore();
    pipe.exec(&mut connection).unwrap();

    for (prefix, why) in [
        ("pin:", "state"),
        ("rate_limit:", "state"),
        ("", "empty"),
        ("   ", "empty"),
        ("*", "glob"),
        ("celery:", "cache group"),
    ] {
        let (status, body) = preview(&app, prefix).await;
        assert_eq!(status, 400, "{prefix:?}: {body}");
        assert_eq!(body["error"], "bad_request");
        assert!(
            body["message"].as_str().is_some_and(|m| m.contains(why)),
            "{prefix:?}: {body}"
        );
    }
    let (_, first) = preview(&app, "user:").await;
    let id = first["id"].as_str().unwrap().to_owned();
    let (status, body) = post(
        &app,
        "/api/flush/start",
        &[("prefix", "user:1"), ("preview_id", &id)],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("bad_request")),
        "mismatched confirmation: {body}"
    );
    let (status, _) = post(
        &app,
        "/api/flush/start",
        &[("prefix", "user:"), ("preview_id", "0000")],
    )
    .await;
    assert_eq!(status, 400, "unknown preview");
    assert_eq!(
        count_matching(&mut connection, "user:*"),
        20_000,
        "refusals delete nothing"
    );

    // A second flush while one runs.
    let (status, _) = post(
        &app,
        "/api/flush/start",
        &[("prefix", "user:"), ("preview_id", &id)],
    )
    .await;
    assert_eq!(status, 200);
    let (_, second) = preview(&app, "object:").await;
    let second_id = second["id"].as_str().unwrap().to_owned();
    let (status, body) = post(
        &app,
        "/api/flush/start",
        &[("prefix", "object:"), ("preview_id", &second_id)],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("conflict")),
        "{body}"
    );
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("already running"))
    );

    // Cancel stops it within a batch and reports what was deleted.
    assert!(app.flush.cancel().await.unwrap());
    let report = wait_for_flush(&app).await;
    assert_eq!(report.outcome, FlushOutcome::Cancelled);
    let left = count_matching(&mut connection, "user:*");
    assert_eq!(report.deleted_keys, 20_000 - left);
    assert!(left > 0, "cancelled before the end");
    let pin: Option<String> = redis::cmd("GET")
        .arg("pin:telegram:1")
        .query(&mut connection)
        .unwrap();
    assert_eq!(pin.as_deref(), Some("1234"));
}

#[tokio::test]
async fn read_only_deployments_refuse_server_side() {
    for (policy, message) in [(FlushPolicy::ReadOnly, "read-only")] {
        let app = start_app_with(RedisProcessOptions::default(), |config| {
            config.flush.policy = policy.clone()
        })
        .await;
        let mut connection = redis_connection(&app.redis.url());
        redis::cmd("SET")
            .arg("user:1")
            .arg("v")
            .exec(&mut connection)
            .unwrap();
        let (status, body) = preview(&app, "user:").await;
        assert_eq!(status, 403, "{body}");
        assert_eq!(body["error"], "disabled");
        assert!(
            body["message"]
                .as_str()
                .is_some_and(|m| m.contains(message))
        );
        let (status, _) = post(
            &app,
            "/api/flush/start",
            &[("prefix", "user:"), ("preview_id", "x")],
        )
        .await;
        assert_eq!(status, 403);
        let (_, state) = app.get_json("/api/flush").await;
        assert_ne!(state["policy"]["state"], "enabled");
        let exists: bool = redis::cmd("EXISTS")
            .arg("user:1")
            .query(&mut connection)
            .unwrap();
        assert!(exists);
    }
}

#[tokio::test]
async fn a_stalled_redis_mid_flush_fails_it_and_the_audit_records_the_partial_result() {
    let app = start_app_with(RedisProcessOptions::default(), |config| {
        enabled(config);
        config.flush.duty_cycle = 0.05;
    })
    .await;
    let mut connection = redis_connection(&app.redis.url());
    let mut pipe = redis::pipe();
    for i in 0..30_000 {
        pipe.cmd("SET").arg(format!("user:{i}")).arg("v").ignore();
    }
    pipe.cmd("SET").arg("object:keep").arg("v").ignore();
    pipe.exec(&mut connection).unwrap();
    let (_, preview) = preview(&app, "user:").await;
    let id = preview["id"].as_str().unwrap().to_owned();
    let mut progress = app.flush.subscribe();
    let (status, _) = post(
        &app,
        "/api/flush/start",
        &[("prefix", "user:"), ("preview_id", &id)],
    )
    .await;
    assert_eq!(status, 200);
    loop {
        progress.changed().await.unwrap();
        if progress
            .borrow()
            .running
            .as_ref()
            .is_some_and(|p| p.deleted_keys > 0)
        {
            break;
        }
    }
    // Writes stall for 3 s: the next UNLINK times out.
    redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(3000)
        .arg("WRITE")
        .exec(&mut connection)
        .unwrap();

    let report = wait_for_flush(&app).await;
    assert!(
        matches!(&report.outcome, FlushOutcome::Failed { reason } if reason == "timed out"),
        "{:?}",
        report.outcome
    );
    assert!(report.deleted_keys > 0 && report.deleted_keys < 30_000);
    let exists: bool = redis::cmd("EXISTS")
        .arg("object:keep")
        .query(&mut connection)
        .unwrap();
    assert!(exists, "nothing outside the prefix is touched");
    assert_eq!(
        count_matching(&mut connection, "user:*"),
        30_000 - report.deleted_keys
    );

    // The audit write is retried until Redis accepts writes again.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (_, entries) = app.get_json("/api/audit").await;
        let finished = entries.as_array().and_then(|entries| {
            entries
                .iter()
                .find(|e| e["action"] == "flush_finished")
                .cloned()
        });
        if let Some(entry) = finished {
            let detail = entry["detail"].as_str().unwrap_or_default();
            assert!(
                detail.contains("failed")
                    && detail.contains(&format!("deleted={}", report.deleted_keys)),
                "{detail}"
            );
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no flush_finished audit entry"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn every_preview_and_flush_is_audited_and_a_failing_audit_stops_the_flush() {
    let app = start_app_with(RedisProcessOptions::default(), enabled).await;
    let mut connection = redis_connection(&app.redis.url());
    redis::cmd("SET")
        .arg("user:1")
        .arg("v")
        .exec(&mut connection)
        .unwrap();
    preview_and_flush(&app, "user:").await;
    let (status, entries) = app.get_json("/api/audit").await;
    assert_eq!(status, 200);
    let actions: Vec<&str> = entries
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    // Newest first; "flush_finished" is written after the state changes, so wait for it.
    assert!(
        actions.contains(&"preview") && actions.contains(&"flush_started"),
        "{actions:?}"
    );

    // The audit stream key holding a string makes XADD fail: the flush must not start.
    redis::cmd("SET")
        .arg("user:2")
        .arg("v")
        .exec(&mut connection)
        .unwrap();
    let (_, preview) = preview(&app, "user:").await;
    redis::cmd("DEL")
        .arg("cachepanel:audit")
        .exec(&mut connection)
        .unwrap();
    redis::cmd("SET")
        .arg("cachepanel:audit")
        .arg("not a stream")
        .exec(&mut connection)
        .unwrap();
    let id = preview["id"].as_str().unwrap().to_owned();
    let (status, body) = post(
        &app,
        "/api/flush/start",
        &[("prefix", "user:"), ("preview_id", &id)],
    )
    .await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body["reason"]
            .as_str()
            .is_some_and(|r| r.contains("WRONGTYPE")),
        "{body}"
    );
    let exists: bool = redis::cmd("EXISTS")
        .arg("user:2")
        .query(&mut connection)
        .unwrap();
    assert!(exists, "no audit, no flush");
}

#[tokio::test]
async fn a_preview_of_a_big_keyspace_reports_its_progress() {
    let app = start_app_with(RedisProcessOptions::default(), enabled).await;
    fill_keys(&app.redis.url(), "user:", 100_000);
    let mut states = app.flush.subscribe();
    let watcher = tokio::spawn(async move {
        let mut seen = Vec::new();
        while states.changed().await.is_ok() {
            if let Some(progress) = states.borrow().previewing.clone() {
                seen.push(progress);
            }
        }
        seen
    });
    let (status, preview) = preview(&app, "user:").await;
    assert_eq!((status, preview["keys"].as_u64()), (200, Some(100_000)));
    assert!(
        app.flush.state().previewing.is_none(),
        "progress is cleared when done"
    );
    // The watcher ends when the app (and its channel) goes away; stop it and look.
    drop(app);
    let seen = tokio::time::timeout(Duration::from_secs(5), watcher)
        .await
        .unwrap()
        .unwrap();
    assert!(!seen.is_empty(), "no progress was published");
    let last = seen.last().unwrap();
    assert_eq!(last.prefix, "user:");
    assert!(last.matched_keys > 0 && last.matched_keys <= 100_000);
    assert!(last.scanned_keys <= last.dbsize_at_start && last.dbsize_at_start == 100_000);
}

#[tokio::test]
async fn redis_killed_mid_flush_fails_it_without_hanging() {
    let mut app = start_app_with(RedisProcessOptions::default(), |config| {
        enabled(config);
        config.flush.duty_cycle = 0.05;
    })
    .await;
    fill_keys(&app.redis.url(), "user:", 30_000);
    let (_, preview) = preview(&app, "user:").await;
    let id = preview["id"].as_str().unwrap().to_owned();
    let mut progress = app.flush.subscribe();
    post(
        &app,
        "/api/flush/start",
        &[("prefix", "user:"), ("preview_id", &id)],
    )
    .await;
    loop {
        progress.changed().await.unwrap();
        if progress
            .borrow()
            .running
            .as_ref()
            .is_some_and(|p| p.deleted_keys > 0)
        {
            break;
        }
    }
    app.redis.stop();
    let report = wait_for_flush(&app).await;
    assert!(
        matches!(report.outcome, FlushOutcome::Failed { .. }),
        "{:?}",
        report.outcome
    );
    assert!(report.deleted_keys > 0);
    let (status, state) = app.get_json("/api/flush").await;
    assert_eq!(status, 200);
    assert_eq!(state["last"]["outcome"]["state"], "failed");
}
