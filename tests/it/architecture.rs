//! The layer rule of `server/` (see `server/mod.rs`), checked on the source text: imports point
//! down. Features and infrastructure never reach the composition roots, infrastructure never
//! reaches a feature, and the leaves reach nothing of the server.

use std::path::{Path, PathBuf};

fn sources_under(path: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    if root.is_file() {
        return vec![root];
    }
    let mut files = Vec::new();
    let mut pending = vec![root];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                files.push(path);
            }
        }
    }
    assert!(!files.is_empty(), "no sources under {path}");
    files
}

/// Every file under `places` that names one of `forbidden`.
fn offenders(places: &[&str], forbidden: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for place in places {
        for file in sources_under(place) {
            let text = std::fs::read_to_string(&file).unwrap();
            for name in forbidden {
                if text.contains(name) {
                    found.push(format!("{} names {name}", file.display()));
                }
            }
        }
    }
    found
}

const FEATURES: &[&str] = &[
    "src/server/live",
    "src/server/census",
    "src/server/flush",
    "src/server/rate_limit",
    "src/server/security",
    "src/server/audit.rs",
    "src/server/alerts",
];
const INFRASTRUCTURE: &[&str] = &["src/server/redis"];
const LEAVES: &[&str] = &[
    "src/server/env",
    "src/server/clock.rs",
    "src/server/lang.rs",
];

#[test]
fn features_and_infrastructure_never_import_the_composition_roots() {
    let places: Vec<&str> = FEATURES
        .iter()
        .chain(INFRASTRUCTURE)
        .chain(LEAVES)
        .copied()
        .collect();
    let found = offenders(&places, &["server::state", "server::config"]);
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn infrastructure_never_imports_a_feature_or_an_entry_point() {
    let found = offenders(
        INFRASTRUCTURE,
        &[
            "server::live",
            "server::census",
            "server::flush",
            "server::rate_limit",
            "server::security",
            "server::audit",
            "server::http",
            "server::metrics",
        ],
    );
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn the_leaves_import_nothing_of_the_server() {
    let mut found = Vec::new();
    for leaf in LEAVES {
        for file in sources_under(leaf) {
            let text = std::fs::read_to_string(&file).unwrap();
            if text.contains("crate::server::") || text.contains("super::super") {
                found.push(file.display().to_string());
            }
        }
    }
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn the_server_build_is_gated_once() {
    let mut gates = Vec::new();
    for file in sources_under("src") {
        let text = std::fs::read_to_string(&file).unwrap();
        let count = text.matches("cfg(feature = \"ssr\")").count();
        if count > 0 {
            gates.push((file.display().to_string(), count));
        }
    }
    assert_eq!(gates.len(), 1, "{gates:?}");
    assert!(gates[0].0.ends_with("src/lib.rs"), "{gates:?}");
}
