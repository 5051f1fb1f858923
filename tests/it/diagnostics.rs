//! Why Redis is slow, on real servers: the slow log with the client that ran each command (and
//! never a value), the client list grouped, persistence health, parts Redis refuses.

use std::time::Duration;

use cachepanel::model::diagnostics::DiagnosticsView;
use cachepanel::model::live::HistoryRange;
use cachepanel::model::persistence::PersistenceWarning;
use cachepanel::model::slowlog::SlowEntry;
use cachepanel::model::wire;
use cachepanel::server::redis::process::RedisProcessOptions;

use crate::harness::{TestApp, fast_sampling, fill_keys, redis_connection, start_app_with};

async fn diagnostics(app: &TestApp) -> DiagnosticsView {
    let (status, body) = app.get_text("/api/diagnostics").await;
    assert_eq!(status, 200, "{body}");
    wire::decode(&body).unwrap_or_else(|error| panic!("{error}: {body}"))
}

/// Waits (samples every 250 ms) until the diagnostics satisfy `accept`, or 10 s.
async fn diagnostics_where(
    app: &TestApp,
    accept: impl Fn(&DiagnosticsView) -> bool,
) -> DiagnosticsView {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let view = diagnostics(app).await;
        if accept(&view) || tokio::time::Instant::now() > deadline {
            return view;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn fast_diagnostics(config: &mut cachepanel::server::config::Config) {
    fast_sampling(config);
    config.live.diagnostics.clients_interval = Duration::from_millis(250);
}

fn slow_log_from(usec: &str) -> RedisProcessOptions {
    RedisProcessOptions {
        extra_args: vec!["--slowlog-log-slower-than".into(), usec.into()],
        ..RedisProcessOptions::default()
    }
}

fn named(url: &str, name: &str) -> redis::Connection {
    let mut connection = redis_connection(url);
    let _: () = redis::cmd("CLIENT")
        .arg("SETNAME")
        .arg(name)
        .query(&mut connection)
        .unwrap();
    connection
}

/// `addr=…` of this connection as Redis sees it.
fn own_address(connection: &mut redis::Connection) -> String {
    let info: String = redis::cmd("CLIENT").arg("INFO").query(connection).unwrap();
    info.split(' ')
        .find_map(|pair| pair.strip_prefix("addr="))
        .unwrap()
        .to_owned()
}

fn slow_log_and_clients_unavailable(view: &DiagnosticsView) -> bool {
    view.slow_log.unavailable.is_some()
        && view
            .clients
            .as_ref()
            .is_some_and(|clients| clients.unavailable.is_some())
}

fn keys_entries(view: &DiagnosticsView) -> Vec<&SlowEntry> {
    view.slow_log
        .entries
        .iter()
        .filter(|entry| entry.command == "KEYS")
        .collect()
}

#[tokio::test]
async fn keys_from_a_client_named_web_is_logged_with_its_address_grouped_and_blocking() {
    let app = start_app_with(slow_log_from("2000"), fast_diagnostics).await;
    fill_keys(&app.redis.url(), "contract_employees:", 100_000);
    let mut web = named(&app.redis.url(), "web");
    let address = own_address(&mut web);
    for _ in 0..3 {
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg("contract_employees:*")
            .query(&mut web)
            .unwrap();
        assert_eq!(keys.len(), 100_000);
    }

    let view = diagnostics_where(&app, |view| {
        keys_entries(view).len() == 3
            && view
                .clients
                .as_ref()
                .is_some_and(|clients| clients.by_name.iter().any(|group| group.label == "web"))
    })
    .await;
    let entries = keys_entries(&view);
    assert_eq!(entries.len(), 3, "{:?}", view.slow_log);
    for entry in &entries {
        assert_eq!(entry.keys, ["contract_employees:*"]);
        assert_eq!(entry.client_name, "web");
        assert_eq!(entry.client_address, address);
        assert!(entry.duration_usec >= 2000 && !entry.own);
    }
    let shape = view
        .slow_log
        .shapes
        .iter()
        .find(|shape| shape.shape == "KEYS contract_employees:*")
        .expect("the repeated shape is grouped");
    assert_eq!(shape.count, 3);
    assert!(shape.blocking);
    assert_eq!(shape.clients, [format!("web {address}")]);
    assert_eq!(
        shape.total_usec,
        entries.iter().map(|e| e.duration_usec).sum::<u64>()
    );
    assert_eq!(view.slow_log.slower_than_usec, Some(2000));
    assert_eq!(view.slow_log.missed, 0);

    let clients = view.clients.as_ref().unwrap();
    let web_group = clients.by_name.iter().find(|g| g.label == "web").unwrap();
    assert_eq!(web_group.connections, 1);
    assert_eq!(web_group.last_command, "keys");
    let own = clients.by_name.iter().find(|g| g.label == "cachepanel");
    assert!(own.is_some_and(|group| group.own), "{clients:?}");
    assert!(clients.by_address.iter().any(|g| g.label == "127.0.0.1"));
    assert_eq!(clients.maxclients, Some(10_000));
    assert!(clients.warnings.is_empty());

    let (_, metrics) = app.get_text("/metrics").await;
    assert!(metrics.contains("cachepanel_redis_slowlog_entries_total{target=\"cache\"}"));
    assert!(
        metrics
            .contains("cachepanel_redis_client_group_connections{target=\"cache\",name=\"web\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_slowlog_reset_and_a_restart_give_neither_duplicates_nor_missed_entries() {
    let mut app = start_app_with(slow_log_from("0"), fast_diagnostics).await;
    let url = app.redis.url();
    let mut web = named(&url, "web");
    let set = |connection: &mut redis::Connection, key: &str| {
        let _: () = redis::cmd("SET")
            .arg(key)
            .arg("x")
            .query(connection)
            .unwrap();
    };
    let has = |view: &DiagnosticsView, key: &str| {
        view.slow_log
            .entries
            .iter()
            .any(|entry| entry.keys.first().is_some_and(|k| k == key))
    };
    set(&mut web, "before:reset");
    diagnostics_where(&app, |view| has(view, "before:reset")).await;
    let _: () = redis::cmd("SLOWLOG").arg("RESET").query(&mut web).unwrap();
    set(&mut web, "after:reset");
    let view = diagnostics_where(&app, |view| has(view, "after:reset")).await;
    assert!(has(&view, "before:reset") && has(&view, "after:reset"));

    app.redis.restart().unwrap();
    let mut web = named(&url, "web");
    set(&mut web, "after:restart");
    let view = diagnostics_where(&app, |view| has(view, "after:restart")).await;
    assert!(has(&view, "after:restart"), "{:?}", view.slow_log.entries);
    assert_eq!(view.slow_log.missed, 0);
    assert_eq!(view.slow_log.unavailable, None);
    // Entries are kept once each (ids start over after a restart, addresses differ).
    let mut seen: Vec<(i64, u64, &str, &str)> = view
        .slow_log
        .entries
        .iter()
        .map(|entry| {
            let address = entry.client_address.as_str();
            (entry.at_ms, entry.id, entry.shape.as_str(), address)
        })
        .collect();
    let count = seen.len();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(
        seen.len(),
        count,
        "duplicates in {:?}",
        view.slow_log.entries
    );
    for key in ["before:reset", "after:reset", "after:restart"] {
        let copies = view
            .slow_log
            .entries
            .iter()
            .filter(|entry| entry.keys.first().is_some_and(|k| k == key))
            .count();
        assert_eq!(copies, 1, "{key}");
    }
}

#[tokio::test]
async fn renamed_slowlog_client_and_config_are_unavailable_and_the_rest_works() {
    let mut args = Vec::new();
    for command in ["SLOWLOG", "CLIENT", "CONFIG"] {
        args.extend([
            "--rename-command".to_owned(),
            command.to_owned(),
            String::new(),
        ]);
    }
    let options = RedisProcessOptions {
        extra_args: args,
        ..RedisProcessOptions::default()
    };
    let app = start_app_with(options, fast_diagnostics).await;
    let view = diagnostics_where(&app, slow_log_and_clients_unavailable).await;
    assert!(view.slow_log.unavailable.is_some(), "{view:?}");
    assert!(view.clients.as_ref().unwrap().unavailable.is_some());
    assert_eq!(view.slow_log.slower_than_usec, None);
    assert_eq!(view.latency.threshold_ms, None, "CONFIG refused: unknown");
    let persistence = view.persistence.expect("persistence comes from INFO");
    assert!(!persistence.rules_known);
    let snapshot = app.sample_after_now().await;
    assert!(matches!(
        snapshot.status,
        cachepanel::model::live::LiveStatus::Up
    ));
    let (status, _) = app.get_text("/api/commands?range=15m").await;
    assert_eq!(status, 200);
    let (_, metrics) = app.get_text("/metrics").await;
    assert!(metrics.contains("cachepanel_redis_up{target=\"cache\"} 1"));
    assert!(!metrics.contains("cachepanel_redis_slowlog_entries_total"));
}

#[tokio::test]
async fn a_failed_background_save_raises_the_persistence_warning() {
    // Redis runs in /proc, where no file can be created: every BGSAVE fails.
    let options = RedisProcessOptions {
        extra_args: vec!["--dir".into(), "/proc".into()],
        ..RedisProcessOptions::default()
    };
    let app = start_app_with(options, fast_diagnostics).await;
    let before = diagnostics_where(&app, |view| view.persistence.is_some()).await;
    assert_eq!(before.persistence.unwrap().warnings, []);
    let mut connection = redis_connection(&app.redis.url());
    let _: () = redis::cmd("SET")
        .arg("k")
        .arg("v")
        .query(&mut connection)
        .unwrap();
    let _: String = redis::cmd("BGSAVE").query(&mut connection).unwrap();

    let view = diagnostics_where(&app, |view| {
        view.persistence
            .as_ref()
            .is_some_and(|p| !p.warnings.is_empty())
    })
    .await;
    let persistence = view.persistence.unwrap();
    assert_eq!(persistence.warnings, [PersistenceWarning::SaveFailed]);
    assert_eq!(persistence.last_bgsave_ok, Some(false));
    assert!(persistence.changes_since_save >= 1);
    let (_, metrics) = app.get_text("/metrics").await;
    assert!(metrics.contains("cachepanel_redis_rdb_last_bgsave_ok{target=\"cache\"} 0"));
    assert!(
        metrics.contains(
            "cachepanel_redis_persistence_warning{target=\"cache\",kind=\"save_failed\"} 1"
        )
    );
}

#[tokio::test]
async fn the_latency_monitor_is_read_only_when_the_server_has_it_on() {
    let options = RedisProcessOptions {
        debug_command: true,
        extra_args: vec!["--latency-monitor-threshold".into(), "10".into()],
        ..RedisProcessOptions::default()
    };
    let app = start_app_with(options, fast_diagnostics).await;
    let mut connection = redis_connection(&app.redis.url());
    let _: () = redis::cmd("DEBUG")
        .arg("SLEEP")
        .arg("0.05")
        .query(&mut connection)
        .unwrap();
    let view = diagnostics_where(&app, |view| !view.latency.events.is_empty()).await;
    assert_eq!(view.latency.threshold_ms, Some(10));
    let command = view
        .latency
        .events
        .iter()
        .find(|event| event.event == "command")
        .unwrap_or_else(|| panic!("{:?}", view.latency));
    assert!(
        command.max_ms >= 50 && command.latest_ms >= 50,
        "{command:?}"
    );

    let off = start_app_with(RedisProcessOptions::default(), fast_diagnostics).await;
    let view = diagnostics_where(&off, |view| view.clients.is_some()).await;
    assert_eq!(view.latency.threshold_ms, Some(0));
    assert!(view.latency.events.is_empty());
    let mut connection = redis_connection(&off.redis.url());
    let threshold: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("latency-monitor-threshold")
        .query(&mut connection)
        .unwrap();
    assert_eq!(threshold[1], "0", "cachepanel never switches it on");
}

/// The data of the first `diagnostics` event of `/api/live/events{query}` (HTML, its lines
/// rejoined as a browser does).
async fn first_diagnostics_event(app: &TestApp, query: &str) -> String {
    let response = app.get(&format!("/api/live/events{query}")).await;
    assert_eq!(response.status().as_u16(), 200);
    diagnostics_event_of(response).await
}

/// Reads `stream` until its first `diagnostics` event is complete; its data.
async fn diagnostics_event_of(mut stream: reqwest::Response) -> String {
    let mut body = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(at) = body.find("event: diagnostics\n")
            && let Some(end) = body[at..].find("\n\n")
        {
            let data: Vec<&str> = body[at..at + end]
                .lines()
                .filter_map(|line| line.strip_prefix("data: "))
                .collect();
            return data.join("\n");
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no diagnostics event: {body}"
        );
        let chunk = tokio::time::timeout(Duration::from_secs(10), stream.chunk())
            .await
            .expect("a chunk in time")
            .unwrap()
            .expect("stream open");
        body.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[tokio::test]
async fn the_page_and_the_stream_show_the_slow_log_and_clients_in_the_pages_language() {
    let app = start_app_with(slow_log_from("0"), fast_diagnostics).await;
    let mut web = named(&app.redis.url(), "web");
    let _: () = redis::cmd("SET")
        .arg("user:42")
        .arg("<b>value</b>")
        .query(&mut web)
        .unwrap();
    // A client name cannot hold spaces, but it can hold markup: it must arrive as text.
    let _sly = named(&app.redis.url(), "<img/src=x>");
    diagnostics_where(&app, |view| {
        view.slow_log
            .entries
            .iter()
            .any(|entry| entry.shape == "SET user:*")
            && view.clients.as_ref().is_some_and(|clients| {
                clients
                    .by_name
                    .iter()
                    .any(|group| group.label.starts_with("<img"))
            })
    })
    .await;
    let commands_ready = async {
        while app
            .live
            .commands(HistoryRange::Hour1)
            .is_none_or(|view| view.window_ms == 0)
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), commands_ready)
        .await
        .expect("two command readings");

    let (status, english) = app.get_text("/admin/cache/stats?lang=en").await;
    assert_eq!(status, 200);
    let (_, russian) = app.get_text("/admin/cache/stats?lang=ru").await;
    for (page, heading) in [
        (&english, "Why is Redis slow"),
        (&russian, "Почему Redis медленный"),
    ] {
        assert!(page.contains("data-testid=\"diagnostics\""));
        assert!(page.contains(heading), "{heading}");
        assert!(page.contains("SET user:42"), "the slow-log entry");
        assert!(page.contains("data-label=\"web\""), "the client group");
        assert!(
            !page.contains("<img/src=x>"),
            "a client name is text, never markup"
        );
        assert!(page.contains("&lt;img/src=x&gt;"));
        assert!(!page.contains("<b>value</b>") && !page.contains("&lt;b&gt;value"));
    }
    assert!(english.contains("cachepanel used"));
    assert!(russian.contains("cachepanel занял"));

    let pushed = first_diagnostics_event(&app, "?lang=en").await;
    assert!(pushed.contains("Why is Redis slow") && pushed.contains("SET user:42"));
    let pushed = first_diagnostics_event(&app, "?lang=ru").await;
    assert!(pushed.contains("Почему Redis медленный"));
}

#[tokio::test]
async fn slowlog_client_and_config_forbidden_by_acl_are_unavailable_and_the_rest_works() {
    let app = start_app_with(slow_log_from("0"), fast_diagnostics).await;
    diagnostics_where(&app, |view| view.clients.is_some()).await;
    // ACL changes apply to open connections at their next command.
    let mut admin = redis_connection(&app.redis.url());
    let _: () = redis::cmd("ACL")
        .arg("SETUSER")
        .arg("default")
        .arg("-slowlog")
        .arg("-client")
        .arg("-config")
        .query(&mut admin)
        .unwrap();
    let view = diagnostics_where(&app, slow_log_and_clients_unavailable).await;
    assert_eq!(
        view.slow_log.unavailable.as_deref(),
        Some("server error NOPERM")
    );
    assert_eq!(
        view.clients.as_ref().unwrap().unavailable.as_deref(),
        Some("server error NOPERM")
    );
    let snapshot = app.sample_after_now().await;
    assert!(matches!(
        snapshot.status,
        cachepanel::model::live::LiveStatus::Up
    ));
    assert!(view.persistence.is_some());
    let (status, page) = app.get_text("/admin/cache/stats?lang=en").await;
    assert_eq!(status, 200);
    assert!(page.contains("data-testid=\"slowlog-unavailable\""));
    assert!(page.contains("data-testid=\"clients-unavailable\""));
}

#[tokio::test]
async fn fifty_streams_and_page_views_add_no_slowlog_or_client_list_reads() {
    let app = start_app_with(RedisProcessOptions::default(), fast_diagnostics).await;
    let url = app.redis.url();
    diagnostics_where(&app, |view| view.clients.is_some()).await;
    let reads = || {
        (
            crate::harness::command_calls(&url, "slowlog|get"),
            crate::harness::command_calls(&url, "client|list"),
        )
    };
    let mut streams = Vec::new();
    for index in 0..50 {
        let lang = if index % 2 == 0 { "ru" } else { "en" };
        streams.push(app.get(&format!("/api/live/events?lang={lang}")).await);
    }
    let before = reads();
    let started = tokio::time::Instant::now();
    for _ in 0..20 {
        let (status, _) = app.get_text("/admin/cache/stats").await;
        assert_eq!(status, 200);
        let _ = diagnostics(&app).await;
    }
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let after = reads();
    let samples = started.elapsed().as_millis() as u64 / 250;
    // One SLOWLOG GET 1 per sample (nothing is slow here) and one CLIENT LIST per 250 ms.
    assert!(
        after.0 - before.0 <= samples + 2,
        "{before:?} → {after:?} in {samples} samples"
    );
    assert!(
        after.1 - before.1 <= samples + 2,
        "{before:?} → {after:?} in {samples} samples"
    );
    assert!(after.0 > before.0, "the sampler kept reading");
    // The streams carried the section.
    let section = diagnostics_event_of(streams.swap_remove(0)).await;
    assert!(
        section.contains("Почему Redis медленный"),
        "the ru stream's language"
    );
}

#[tokio::test]
async fn the_sections_full_inspection_form_runs_an_exact_census_once() {
    let app = start_app_with(RedisProcessOptions::default(), |config| {
        fast_diagnostics(config);
        config.census.sample_every = 100;
    })
    .await;
    fill_keys(&app.redis.url(), "user:", 300);
    let (_, page) = app.get_text("/admin/cache/stats?lang=en").await;
    let form = page
        .split("data-testid=\"full-census\"")
        .next()
        .and_then(|before| before.rsplit("<form").next())
        .expect("the full-inspection form is offered");
    let action = form
        .split("action=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the form's action");
    assert_eq!(action, "/admin/cache/api/census/start-full");

    // Posted as a browser posts a form: no script, the page's origin, back to the page.
    let referer = format!("{}/admin/cache/stats?lang=en", app.base_url);
    let response = app
        .http
        .post(format!("{}{action}", app.base_url))
        .header("origin", &app.base_url)
        .header("referer", &referer)
        .header("accept", "text/html")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("")
        .send()
        .await
        .unwrap();
    assert!(response.status().is_redirection(), "{}", response.status());
    let report = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            if let Some(report) = app.census.state().last {
                return report;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the census finished");
    assert_eq!(report.sample_every, 1, "this one inspected every key");
    let biggest = app.census.biggest_keys().expect("keys were measured");
    assert_eq!(biggest.sample_every, 1);
    // Exact now: the form is not offered again.
    let (_, page) = app.get_text("/admin/cache/stats?lang=en").await;
    assert!(page.contains("data-testid=\"biggest-keys\""));
    assert!(!page.contains("data-testid=\"full-census\""));
    // The next scheduled or plain census samples again.
    app.census.start().await.unwrap();
    let sampled = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let state = app.census.state();
            if let (None, Some(report)) = (state.running, state.last)
                && report.started_at_ms > biggest.census_started_at_ms
            {
                return report;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .unwrap();
    assert_eq!(sampled.sample_every, 100);
}

#[tokio::test]
async fn the_section_is_republished_while_nothing_redis_reports_changes() {
    // No client list, nothing slow: only the periodic refresh moves the section on (its
    // commands table and biggest keys change without a diagnostics change).
    let app = start_app_with(RedisProcessOptions::default(), |config| {
        fast_sampling(config);
        config.live.diagnostics.clients_interval = Duration::ZERO;
    })
    .await;
    let mut changes = app.live.diagnostics_changes();
    changes.borrow_and_update();
    tokio::time::timeout(Duration::from_secs(3), changes.changed())
        .await
        .expect("the first publication")
        .unwrap();
    // The first samples still change what there is to say (the commands table gains the
    // sampler's own commands); from a quiet publication on, only the refresh moves it.
    let first = tokio::time::Instant::now();
    let mut started = first;
    let waited = loop {
        tokio::time::timeout(Duration::from_secs(15), changes.changed())
            .await
            .expect("published again without any change")
            .unwrap();
        let waited = started.elapsed();
        if waited > Duration::from_secs(2) {
            break waited;
        }
        assert!(first.elapsed() < Duration::from_secs(5), "never quiet");
        started = tokio::time::Instant::now();
    };
    assert!(
        waited >= Duration::from_secs(9) && waited <= Duration::from_secs(12),
        "{waited:?}"
    );
}
