//! What can be checked of the deployment files without a Docker engine: the compose example
//! parses, has the expected services wired like production, and the image builds with the same
//! command `make` runs.

use cachepanel::server::config::registry;

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[test]
fn the_compose_example_runs_cachepanel_next_to_a_production_like_redis() {
    let compose: serde_yaml::Value =
        serde_yaml::from_str(&read("docker-compose.example.yml")).unwrap();
    let services = &compose["services"];
    let redis_command: Vec<String> = services["redis"]["command"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|arg| arg.as_str().unwrap().to_owned())
        .collect();
    let flag = |name: &str| {
        redis_command
            .iter()
            .position(|arg| arg == name)
            .and_then(|index| redis_command.get(index + 1))
            .cloned()
    };
    assert_eq!(flag("--maxmemory").as_deref(), Some("512mb"));
    assert_eq!(flag("--maxmemory-policy").as_deref(), Some("allkeys-lru"));
    assert_eq!(flag("--appendonly").as_deref(), Some("yes"));
    assert!(flag("--save").is_some_and(|rules| !rules.is_empty()));
    assert!(
        flag("--requirepass").is_some_and(|password| password.starts_with("${REDIS_PASSWORD")),
        "the password comes from .env, never from the file"
    );
    assert!(services["redis"]["healthcheck"]["test"].is_sequence());

    let cachepanel = &services["cachepanel"];
    assert_eq!(cachepanel["build"], ".");
    assert_eq!(
        cachepanel["depends_on"]["redis"]["condition"],
        "service_healthy"
    );
    let environment = &cachepanel["environment"];
    assert!(
        environment["CACHEPANEL_REDIS_URL"]
            .as_str()
            .unwrap()
            .contains("@redis:6379")
    );
    assert!(
        environment["CACHEPANEL_JWT_SECRET"]
            .as_str()
            .unwrap()
            .starts_with("${CACHEPANEL_JWT_SECRET")
    );
    let healthcheck: Vec<&str> = cachepanel["healthcheck"]["test"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|arg| arg.as_str())
        .collect();
    assert!(healthcheck.iter().any(|arg| arg.ends_with("/healthz")));
    // Every CACHEPANEL_ variable the example sets is a real setting.
    for (name, _) in environment.as_mapping().unwrap() {
        let name = name.as_str().unwrap();
        assert!(
            registry::find(name).is_some(),
            "{name} is not a cachepanel setting"
        );
    }
}

#[test]
fn the_image_builds_with_the_makefiles_command_runs_as_non_root_and_checks_health() {
    let dockerfile = read("Dockerfile");
    let makefile = read("Makefile");
    let build = "cargo leptos build --release --precompress --split";
    assert!(makefile.contains(build) && dockerfile.contains(build));
    // Both put the hashed names into the site, where the server looks for them.
    assert!(makefile.contains("/release/hash.txt $(SITE_ROOT)/hash.txt"));
    assert!(dockerfile.contains("cp target/release/hash.txt target/site/hash.txt"));
    assert!(dockerfile.contains("USER cachepanel"));
    assert!(dockerfile.contains("HEALTHCHECK") && dockerfile.contains("/healthz"));
    // The toolchain versions match the project's own bootstrap.
    let bootstrap = read("scripts/bootstrap.sh");
    assert!(dockerfile.contains("cargo-leptos --version 0.3.11"));
    assert!(bootstrap.contains("0.3.11"));
}

/// Set to rewrite README's table and `.env.example` from the registry instead of comparing.
const REWRITE: &str = "CACHEPANEL_DOCS_REWRITE";

fn write(path: &str, text: &str) {
    std::fs::write(format!("{}/{path}", env!("CARGO_MANIFEST_DIR")), text).unwrap();
}

#[test]
fn the_readme_configuration_table_is_the_registry() {
    let readme = read("README.md");
    let start = readme
        .find("| variable | default | meaning |")
        .expect("README's configuration table");
    let end = readme[start..]
        .find("\n\n")
        .map_or(readme.len(), |end| start + end + 1);
    let table = registry::readme_table();
    if std::env::var_os(REWRITE).is_some() {
        write(
            "README.md",
            &format!("{}{table}{}", &readme[..start], &readme[end..]),
        );
        return;
    }
    assert_eq!(
        &readme[start..end],
        table,
        "README's table differs from src/server/config/registry.rs; \
         regenerate with `{REWRITE}=1 cargo test --features ssr --test it packaging`"
    );
}

#[test]
fn the_env_example_is_the_registry() {
    let example = registry::env_example();
    if std::env::var_os(REWRITE).is_some() {
        write(".env.example", &example);
        return;
    }
    assert_eq!(
        read(".env.example"),
        example,
        ".env.example differs from the registry; regenerate with `{REWRITE}=1 cargo test …`"
    );
}

#[test]
fn every_variable_named_in_the_source_is_registered() {
    let mut sources = vec![std::path::PathBuf::from(format!(
        "{}/src",
        env!("CARGO_MANIFEST_DIR")
    ))];
    let mut named = std::collections::BTreeSet::new();
    while let Some(path) = sources.pop() {
        if path.is_dir() {
            sources.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        if path.extension().is_none_or(|ext| ext != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (index, _) in text.match_indices("\"CACHEPANEL_") {
            let name: String = text[index + 1..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            if name.len() > "CACHEPANEL_".len() {
                named.insert((name, path.display().to_string()));
            }
        }
    }
    assert!(named.len() > 40, "the scan found the variables");
    for (name, path) in named {
        assert!(
            registry::find(&name).is_some(),
            "{name} (in {path}) is not in the registry"
        );
    }
}

#[test]
fn the_integration_guide_shows_the_limiters_script_as_it_runs() {
    let source = read("src/server/rate_limit/mod.rs");
    let script = source
        .split("r\"")
        .nth(1)
        .and_then(|rest| rest.split("\",").next())
        .expect("the DECIDE script in the limiter");
    let guide = read("docs/integration.md");
    let lines: Vec<&str> = script
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    assert!(lines.len() >= 6, "{script}");
    for line in lines {
        assert!(guide.contains(line), "docs/integration.md lacks `{line}`");
    }
}

#[test]
fn the_replicas_example_runs_two_named_replicas_on_one_redis_behind_nginx() {
    let mut compose: serde_yaml::Value =
        serde_yaml::from_str(&read("deploy/replicas/docker-compose.yml")).unwrap();
    compose.apply_merge().unwrap();
    let services = &compose["services"];
    let mut names = Vec::new();
    for replica in ["cachepanel-a", "cachepanel-b"] {
        let environment = &services[replica]["environment"];
        assert!(
            environment["CACHEPANEL_REDIS_URL"]
                .as_str()
                .unwrap()
                .contains("@redis:6379"),
            "{replica} watches the shared Redis"
        );
        names.push(
            environment["CACHEPANEL_REPLICA_ID"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
        for (name, _) in environment.as_mapping().unwrap() {
            let name = name.as_str().unwrap();
            assert!(
                registry::find(name).is_some(),
                "{name} is not a cachepanel setting"
            );
        }
        assert_eq!(
            services[replica]["depends_on"]["redis"]["condition"],
            "service_healthy"
        );
    }
    assert_eq!(
        names,
        ["cachepanel-a", "cachepanel-b"],
        "each replica has its own name"
    );
    let nginx = read("deploy/replicas/nginx.conf");
    assert!(
        nginx.contains("server cachepanel-a:3000") && nginx.contains("server cachepanel-b:3000")
    );
    let stream = nginx
        .split("location /admin/cache/api/live/events")
        .nth(1)
        .expect("a location for the event stream");
    assert!(
        stream.contains("proxy_buffering off"),
        "events leave at once"
    );
}
