//! The built client as the server finds it at run time: the content-hashed file names
//! cargo-leptos wrote into `hash.txt`, looked for in the site root (where `make build` copies
//! it) and beside the binary (where cargo-leptos writes it). Read at run time, not compile
//! time, so a server binary rebuilt without cargo-leptos (`cargo bench`, `cargo test`) still
//! links the files the site holds and the page still hydrates.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use leptos::config::LeptosOptions;

/// cargo-leptos' `output-name` and `site-pkg-dir` (Cargo.toml).
pub const OUTPUT_NAME: &str = "cachepanel";
pub const PKG_DIR: &str = "pkg";
/// cargo-leptos' default `hash-file-name`.
const HASH_FILE: &str = "hash.txt";

/// The client files of one site root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteAssets {
    pub site_root: PathBuf,
    /// `hash.txt` of this site, when its files carry content hashes.
    pub hash_file: Option<PathBuf>,
    /// The stylesheet's file name under `pkg/`.
    pub stylesheet: String,
}

impl SiteAssets {
    /// Finds the hash file for `site_root`: one that names a WASM file the site really holds
    /// (a stale one beside the binary is ignored).
    pub fn find(site_root: &Path) -> Self {
        let beside_binary = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(|dir| dir.join(HASH_FILE)));
        let candidates = std::iter::once(site_root.join(HASH_FILE)).chain(beside_binary);
        let found = candidates
            .filter_map(|path| {
                let hashes = Hashes::parse(&std::fs::read_to_string(&path).ok()?);
                let wasm = hashes.wasm.as_ref()?;
                let wasm_file = format!("{OUTPUT_NAME}.{wasm}.wasm");
                site_root
                    .join(PKG_DIR)
                    .join(wasm_file)
                    .is_file()
                    .then_some((path, hashes))
            })
            .next();
        let stylesheet = match found.as_ref().and_then(|(_, hashes)| hashes.css.as_ref()) {
            Some(css) => format!("{OUTPUT_NAME}.{css}.css"),
            None => format!("{OUTPUT_NAME}.css"),
        };
        Self {
            site_root: site_root.to_owned(),
            // Leptos reads a relative hash file from the binary's directory, not from where
            // the site root (relative to the working directory) was found.
            hash_file: found.map(|(path, _)| std::path::absolute(&path).unwrap_or(path)),
            stylesheet,
        }
    }

    /// Whether the `pkg/` files are named by their content (and may be cached forever).
    pub fn hashed(&self) -> bool {
        self.hash_file.is_some()
    }

    /// Leptos' own options. An absolute `hash_file` is read as it is (Leptos joins it to the
    /// binary's directory, which leaves an absolute path unchanged).
    pub fn leptos_options(&self, addr: SocketAddr) -> LeptosOptions {
        let builder = LeptosOptions::builder()
            .output_name(OUTPUT_NAME)
            .site_root(self.site_root.to_string_lossy().into_owned())
            .site_pkg_dir(PKG_DIR)
            .site_addr(addr);
        match &self.hash_file {
            Some(path) => builder
                .hash_files(true)
                .hash_file(std::sync::Arc::from(path.to_string_lossy().as_ref()))
                .build(),
            None => builder.build(),
        }
    }
}

/// The lines of `hash.txt`: `js: …`, `wasm: …`, `css: …` (and the split manifest's).
#[derive(Debug, Default, PartialEq, Eq)]
struct Hashes {
    wasm: Option<String>,
    css: Option<String>,
}

impl Hashes {
    fn parse(text: &str) -> Self {
        let mut hashes = Self::default();
        for (kind, hash) in text.lines().filter_map(|line| line.split_once(':')) {
            let hash = hash.trim();
            // A hash is a file-name part: refuse anything that could leave `pkg/`.
            if hash.is_empty()
                || !hash
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                continue;
            }
            match kind.trim() {
                "wasm" => hashes.wasm = Some(hash.to_owned()),
                "css" => hashes.css = Some(hash.to_owned()),
                _ => {}
            }
        }
        hashes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(files: &[(&str, &str)]) -> PathBuf {
        let root = std::env::temp_dir().join(format!(
            "cachepanel-site-{}-{}",
            std::process::id(),
            files.len()
        ));
        let _ = std::fs::remove_dir_all(&root);
        for (path, text) in files {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        root
    }

    #[test]
    fn a_hash_file_naming_files_the_site_holds_turns_hashed_names_on() {
        let root = site(&[
            ("hash.txt", "js: Ab1\nwasm: Cd2\ncss: Ef3\n"),
            ("pkg/cachepanel.Cd2.wasm", "\0asm"),
        ]);
        let assets = SiteAssets::find(&root);
        assert!(assets.hashed());
        assert_eq!(assets.stylesheet, "cachepanel.Ef3.css");
        let options = assets.leptos_options("127.0.0.1:0".parse().unwrap());
        assert!(options.hash_files);
        assert_eq!(
            options.hash_file.as_ref(),
            root.join("hash.txt").to_string_lossy().as_ref()
        );
    }

    #[test]
    fn a_relative_site_root_gives_leptos_an_absolute_hash_file() {
        let root = site(&[
            ("hash.txt", "js: Ab1\nwasm: Rel9\ncss: Ef3\n"),
            ("pkg/cachepanel.Rel9.wasm", "\0asm"),
        ]);
        // The same directory, spelled relative to the working directory.
        let up = std::env::current_dir().unwrap().components().count() - 1;
        let relative: PathBuf = std::iter::repeat_n(Path::new(".."), up)
            .collect::<PathBuf>()
            .join(root.strip_prefix("/").unwrap());
        let assets = SiteAssets::find(&relative);
        assert!(assets.hashed());
        let hash_file = assets.hash_file.unwrap();
        assert!(hash_file.is_absolute(), "{hash_file:?}");
        assert!(hash_file.is_file());
    }

    #[test]
    fn a_hash_file_naming_a_missing_file_or_leaving_pkg_is_ignored() {
        let stale = site(&[("hash.txt", "js: Ab1\nwasm: Gone\ncss: Ef3\n")]);
        let assets = SiteAssets::find(&stale);
        assert!(!assets.hashed());
        assert_eq!(assets.stylesheet, "cachepanel.css");
        assert_eq!(
            Hashes::parse("wasm: ../../etc/passwd\ncss: ok1"),
            Hashes {
                wasm: None,
                css: Some("ok1".into())
            }
        );
    }
}
