//! The `cachepanel` process: parse the command line, start tracing, serve (with an embedded
//! Redis when none is configured), and shut down within `SHUTDOWN_LIMIT` on SIGTERM.

use std::process::ExitCode;

use anyhow::Context as _;

use crate::server::config::{Config, Env, LogFormat, LogSettings};
use crate::server::http::page::STATS_PAGE_PATH;
use crate::server::http::router;
use crate::server::redis::RedisTarget;
use crate::server::redis::process::{RedisProcess, RedisProcessOptions};
use crate::server::state::AppState;
use crate::server::{check, cli, config, demo, redis};

/// A shutdown (SIGTERM) completes within this, whatever is still running.
const SHUTDOWN_LIMIT: std::time::Duration = std::time::Duration::from_secs(8);

/// Entry point of the `cachepanel` binary.
pub async fn run() -> ExitCode {
    use clap::Parser as _;
    let cli = cli::Cli::parse();
    // The file first: its `log` and `log_format` decide how everything after is logged.
    let file = match &cli.config {
        Some(path) => match config::read_file(path) {
            Ok(file) => file,
            Err(error) => {
                eprintln!("cachepanel: {error}");
                return ExitCode::FAILURE;
            }
        },
        None => config::FileSettings::default(),
    };
    match LogSettings::from_env(&Env::process(file.clone()), cli.log_format) {
        Ok(logging) => init_tracing(&logging),
        Err(error) => {
            eprintln!("cachepanel: invalid configuration: {error}");
            return ExitCode::FAILURE;
        }
    }
    let outcome = match cli.command.unwrap_or(cli::Command::Serve) {
        cli::Command::Serve => serve(&file).await,
        cli::Command::Check { test_alert } => check::run(&file, test_alert).await,
        cli::Command::Demo { redis_url, force } => run_demo(&redis_url, force).await,
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            eprintln!("cachepanel: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(file: &config::FileSettings) -> anyhow::Result<()> {
    let mut config =
        Config::from_env(&Env::process(file.clone())).context("invalid configuration")?;

    // Without a configured Redis, start a private one (and demo traffic) for trying it out.
    let embedded = if config.redis.has_redis() {
        None
    } else {
        let process = tokio::task::spawn_blocking(|| {
            RedisProcess::start(RedisProcessOptions {
                // Production's memory settings, so the memory badge and chart read as there.
                maxmemory: Some("512mb".into()),
                maxmemory_policy: Some("allkeys-lru".into()),
                ..Default::default()
            })
        })
        .await
        .context("starting the embedded redis-server")?
        .context("starting the embedded redis-server")?;
        let url = config::RedisUrl::parse(&process.url())
            .map_err(|e| anyhow::anyhow!("embedded Redis URL: {e}"))?;
        tracing::info!(
            port = process.port(),
            "no CACHEPANEL_REDIS_URL: started an embedded redis-server"
        );
        config.redis.url = Some(url);
        Some(process)
    };
    let redis_url = config.redis.data_node_url().context("no Redis URL")?;
    match &config.redis.sentinel {
        Some(sentinel) => tracing::info!(
            sentinels = ?sentinel.sentinels,
            master = %sentinel.master_name,
            "Redis target behind Sentinel"
        ),
        None => tracing::info!(redis = %redis_url, "Redis target configured"),
    }
    let demo_wanted = embedded.is_some() && config.demo_traffic;
    let addr = config.addr;
    let (state, background) = AppState::start(config, &redis_url)?;
    let demo = if demo_wanted {
        demo::claim(&state.redis, false)
            .await
            .context("starting the demo workload")?;
        Some(tokio::spawn(demo::run(state.redis.clone())))
    } else {
        None
    };
    let base_path = state.config.base_path.clone();
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("CACHEPANEL_ADDR: cannot listen on {addr}"))?;
    let local = listener.local_addr().context("reading the bound address")?;
    tracing::info!("listening on http://{local}{base_path}{STATS_PAGE_PATH}");
    println!("cachepanel: open http://{local}{base_path}{STATS_PAGE_PATH}");

    let shutdown = state.shutdown.clone();
    let targets = state.targets.clone();
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let mut stopping = shutdown.subscribe();
    let mut server = tokio::spawn(
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopping.wait_for(|stopping| *stopping).await;
            })
            .into_future(),
    );
    tokio::select! {
        result = &mut server => {
            result.context("serving HTTP")?.context("serving HTTP")?;
            return Ok(());
        }
        () = shutdown_signal() => {}
    }
    // Stop accepting, end the event streams, let running flushes finish their batch (recorded
    // as interrupted), and be gone within SHUTDOWN_LIMIT whatever hangs.
    let deadline = tokio::time::Instant::now() + SHUTDOWN_LIMIT;
    let _ = shutdown.send(true);
    for target in targets.iter() {
        if target.flush.interrupt() {
            tracing::info!(target_name = %target.name, "interrupting the running flush");
        }
    }
    for target in targets.iter() {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if !target.flush.wait_idle(left).await {
            tracing::warn!(target_name = %target.name, "the flush did not stop in time");
        }
    }
    if tokio::time::timeout_at(deadline, &mut server)
        .await
        .is_err()
    {
        tracing::warn!("connections still open at the shutdown deadline; closing them");
        server.abort();
    }

    if let Some(demo) = demo {
        demo.abort();
    }
    drop(background);
    drop(embedded);
    tracing::info!("stopped");
    Ok(())
}

async fn run_demo(redis_url: &str, force: bool) -> anyhow::Result<()> {
    let url =
        config::RedisUrl::parse(redis_url).map_err(|e| anyhow::anyhow!("--redis-url: {e}"))?;
    let redis = RedisTarget::new(
        "demo",
        &url,
        redis::Timeouts {
            connect: std::time::Duration::from_secs(1),
            response: std::time::Duration::from_secs(1),
        },
    )
    .map_err(|e| anyhow::anyhow!("--redis-url: {e}"))?;
    demo::claim(&redis, force).await?;
    println!("cachepanel demo: writing demo traffic to {url}; Ctrl-C stops");
    tokio::select! {
        () = demo::run(redis) => {},
        () = shutdown_signal() => {},
    }
    Ok(())
}

fn init_tracing(logging: &LogSettings) {
    let filter = tracing_subscriber::EnvFilter::new(&logging.filter);
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match logging.format {
        // Colours only on a terminal: in a file, journald or a container log they are escapes.
        LogFormat::Human => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
            .try_init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received");
}
