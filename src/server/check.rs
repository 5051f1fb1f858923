//! `cachepanel check`: the configuration as it will be used (secrets redacted), then every
//! configured Redis reached once — version, role, memory limit, eviction policy, persistence,
//! compared with the expected production profile. Problems end it with a non-zero exit.

use anyhow::bail;

use crate::model::redis_config::{self, RedisConfigView};
use crate::model::stats::RedisStats;
use crate::server::config::{Config, Env, FileSettings, registry};
use crate::server::redis::RedisTarget;

pub async fn run(file: &FileSettings, test_alert: bool) -> anyhow::Result<()> {
    let config = match Config::from_env(&Env::process(file.clone())) {
        Ok(config) => config,
        Err(error) => bail!("configuration: {error}"),
    };
    println!("cachepanel {} check", env!("CARGO_PKG_VERSION"));
    println!("\nconfiguration (secrets redacted):");
    for line in registry::effective(|name| std::env::var(name).ok(), file) {
        println!("  {} = {}  ({})", line.name, line.value, line.source);
    }
    let mut problems = check_alerts(&config, test_alert).await;
    let Some(url) = config.redis.data_node_url() else {
        if !problems.is_empty() {
            bail!("{}", problems.join("; "));
        }
        println!("\nno Redis configured: `cachepanel serve` would start an embedded demo Redis.");
        return Ok(());
    };
    let targets = config.redis.connect(&url)?;
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

/// Which rules are on and where alerts go; with `test_alert`, a test message to each channel.
async fn check_alerts(config: &Config, test_alert: bool) -> Vec<String> {
    use crate::model::alerts::AlertRule;
    let alerts = &config.alerts;
    let off: Vec<&str> = AlertRule::ALL
        .into_iter()
        .filter(|rule| alerts.rules.get(rule).is_some_and(|s| !s.enabled))
        .map(AlertRule::name)
        .collect();
    println!("\nalerts:");
    println!(
        "  rules: {} on{}",
        AlertRule::ALL.len() - off.len(),
        if off.is_empty() {
            String::new()
        } else {
            format!(", off: {}", off.join(", "))
        }
    );
    if let Some(telegram) = &alerts.telegram {
        println!(
            "  telegram: {} chat(s) via {}",
            telegram.chat_ids.len(),
            telegram.api_url
        );
    }
    if let Some(webhook) = &alerts.webhook {
        let signed = if webhook.secret.is_some() {
            "signed"
        } else {
            "unsigned"
        };
        println!("  webhook: {} ({signed})", webhook.url);
    }
    if !alerts.delivers() {
        println!("  delivery: none configured (alerts show on the page and in /metrics only)");
    }
    if !test_alert {
        return Vec::new();
    }
    if !alerts.delivers() {
        return vec!["--test-alert: no alert channel is configured".into()];
    }
    let target = &config.redis.target_name;
    let mut problems = Vec::new();
    for (channel, outcome) in crate::server::alerts::deliver::send_test(alerts, target).await {
        match outcome {
            Ok(()) => println!("  test message to {channel}: delivered"),
            Err(reason) => {
                println!("  test message to {channel}: FAILED: {reason}");
                problems.push(format!("test alert to {channel}: {reason}"));
            }
        }
    }
    problems
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
