//! `cachepanel check`: the configuration as it will be used (secrets redacted), then every
//! configured Redis reached once — version, role, memory limit, eviction policy, persistence,
//! compared with the expected production profile. Problems end it with a non-zero exit.

use anyhow::bail;

use crate::model::redis_config::{self, RedisConfigView};
use crate::model::stats::RedisStats;
use crate::server::config::{Config, Env, FileSettings, registry};
use crate::server::redis::RedisTarget;

pub async fn run(file: &FileSettings) -> anyhow::Result<()> {
    let config = match Config::from_env(&Env::process(file.clone())) {
        Ok(config) => config,
        Err(error) => bail!("configuration: {error}"),
    };
    println!("cachepanel {} check", env!("CARGO_PKG_VERSION"));
    println!("\nconfiguration (secrets redacted):");
    for line in registry::effective(|name| std::env::var(name).ok(), file) {
        println!("  {} = {}  ({})", line.name, line.value, line.source);
    }
    let Some(url) = config.redis.data_node_url() else {
        println!("\nno Redis configured: `cachepanel serve` would start an embedded demo Redis.");
        return Ok(());
    };
    let targets = config.redis.connect(&url)?;
    let mut problems = Vec::new();
    for target in &targets {
        println!("\ntarget '{}':", target.name());
        match check_target(target, &config).await {
            Ok(()) => {}
            Err(problem) => {
                println!("  PROBLEM: {problem}");
                problems.push(format!("target '{}': {problem}", target.name()));
            }
        }
    }
    if !problems.is_empty() {
        bail!("{}", problems.join("; "));
    }
    println!("\nall targets reachable");
    Ok(())
}

async fn check_target(target: &RedisTarget, config: &Config) -> Result<(), String> {
    let latency = target.ping().await.map_err(|failure| failure.reason)?;
    if let Some(address) = target.address() {
        println!("  address: {address}");
    }
    println!("  reachable: PING {:.2} ms", latency.as_secs_f64() * 1000.0);
    for node in target.masters().await.map_err(|failure| failure.reason)? {
        if target.is_cluster() {
            println!("  master {}:", node.address().unwrap_or_default());
        }
        let (info, keys) = crate::server::live::info::read_info(&node)
            .await
            .map_err(|failure| failure.reason)?;
        let stats = RedisStats::from_info(&info, keys);
        let view = RedisConfigView::new(
            &info,
            &crate::server::live::sampler::read_config(&node).await,
        );
        let lang = crate::model::Lang::En;
        println!(
            "    version {}, role {}, {} keys",
            stats.redis_version,
            view.role,
            lang.count(keys)
        );
        println!(
            "    maxmemory {}, policy {}",
            match stats.maxmemory_bytes {
                0 => "unlimited".to_owned(),
                bytes => lang.bytes(bytes),
            },
            stats.maxmemory_policy
        );
        println!(
            "    persistence: RDB save {}, AOF {}, password {}",
            view.save_rules
                .as_deref()
                .map_or("unavailable".to_owned(), |rules| if rules.is_empty() {
                    "off".to_owned()
                } else {
                    format!("\"{rules}\"")
                }),
            match view.appendonly {
                Some(true) => "on",
                Some(false) => "off",
                None => "unknown",
            },
            match view.password_required {
                Some(true) => "required",
                Some(false) => "not required",
                None => "unknown",
            }
        );
        let mismatches = redis_config::mismatches(&view, &config.live.expected);
        if mismatches.is_empty() {
            println!("    matches the expected production profile");
        } else {
            let names: Vec<String> = mismatches
                .iter()
                .map(|field| format!("{field:?}").to_lowercase())
                .collect();
            println!(
                "    warning: differs from the expected profile in {}",
                names.join(", ")
            );
        }
    }
    Ok(())
}
