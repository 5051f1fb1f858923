//! A `redis-server` child process on a free loopback port: the embedded Redis of `make run`
//! and the per-test servers of the integration tests. Killed when dropped.

use std::net::{Ipv4Addr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Options for a local server.
#[derive(Clone, Debug, Default)]
pub struct RedisProcessOptions {
    pub password: Option<String>,
    /// e.g. "64mb"; `None` leaves Redis' default (no limit).
    pub maxmemory: Option<String>,
    pub maxmemory_policy: Option<String>,
    /// Allow `DEBUG` from loopback (tests use `DEBUG SLEEP` to stall the server).
    pub debug_command: bool,
    /// Further `redis-server` arguments, e.g. `["--rename-command", "CONFIG", ""]`.
    pub extra_args: Vec<String>,
    /// Run as a sentinel monitoring this master (name, `127.0.0.1` port, quorum), with
    /// failure detection after 1 s so tests see a failover within seconds.
    pub sentinel_of: Option<(String, u16, u32)>,
}

pub struct RedisProcess {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    options: RedisProcessOptions,
}

#[derive(Debug, thiserror::Error)]
pub enum RedisProcessError {
    #[error(
        "could not start redis-server (is it installed? scripts/bootstrap.sh installs it): {0}"
    )]
    Spawn(std::io::Error),
    #[error("could not find a free loopback port: {0}")]
    Port(std::io::Error),
    #[error("redis-server on port {port} did not answer PING within {seconds} s")]
    NotReady { port: u16, seconds: u64 },
}

impl RedisProcess {
    /// Starts a server on a free port and waits until it answers.
    pub fn start(options: RedisProcessOptions) -> Result<Self, RedisProcessError> {
        let port = free_port().map_err(RedisProcessError::Port)?;
        let dir =
            std::env::temp_dir().join(format!("cachepanel-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(RedisProcessError::Spawn)?;
        let mut process = Self {
            child: None,
            port,
            dir,
            options,
        };
        process.spawn()?;
        Ok(process)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://` URL of this server, with the password when one is set.
    pub fn url(&self) -> String {
        match &self.options.password {
            Some(password) => format!("redis://:{password}@127.0.0.1:{}/0", self.port),
            None => format!("redis://127.0.0.1:{}/0", self.port),
        }
    }

    /// Kills the server (as a crash would); `restart` brings it back on the same port.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn restart(&mut self) -> Result<(), RedisProcessError> {
        self.stop();
        self.spawn()
    }

    fn spawn(&mut self) -> Result<(), RedisProcessError> {
        let mut command = Command::new("redis-server");
        if let Some((name, master_port, quorum)) = &self.options.sentinel_of {
            // Sentinel rewrites its config file, so each sentinel gets its own.
            let config = self.dir.join("sentinel.conf");
            std::fs::write(
                &config,
                format!(
                    "sentinel monitor {name} 127.0.0.1 {master_port} {quorum}\n\
                     sentinel down-after-milliseconds {name} 1000\n\
                     sentinel failover-timeout {name} 5000\n\
                     sentinel parallel-syncs {name} 1\n"
                ),
            )
            .map_err(RedisProcessError::Spawn)?;
            command.arg(&config).arg("--sentinel");
        }
        command
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--daemonize", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if self.options.sentinel_of.is_none() {
            command.args(["--save", "", "--appendonly", "no"]);
        }
        if let Some(password) = &self.options.password {
            command.args(["--requirepass", password]);
        }
        if self.options.debug_command {
            command.args(["--enable-debug-command", "local"]);
        }
        command.args(&self.options.extra_args);
        if let Some(maxmemory) = &self.options.maxmemory {
            command.args(["--maxmemory", maxmemory]);
        }
        if let Some(policy) = &self.options.maxmemory_policy {
            command.args(["--maxmemory-policy", policy]);
        }
        self.child = Some(command.spawn().map_err(RedisProcessError::Spawn)?);
        self.wait_ready(Duration::from_secs(10))
    }

    fn wait_ready(&self, limit: Duration) -> Result<(), RedisProcessError> {
        let started = Instant::now();
        let url = self.url();
        while started.elapsed() < limit {
            let answered = redis::Client::open(url.as_str())
                .and_then(|client| client.get_connection_with_timeout(Duration::from_millis(200)))
                .and_then(|mut connection| redis::cmd("PING").query::<String>(&mut connection));
            if answered.is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(RedisProcessError::NotReady {
            port: self.port,
            seconds: limit.as_secs(),
        })
    }
}

impl Drop for RedisProcess {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A loopback port that was free a moment ago (the OS picks it).
fn free_port() -> std::io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}
