//! How the client reaches the browser: precompressed client files chosen by Accept-Encoding,
//! cached forever under content-hashed names, pages and JSON compressed per request, the
//! event stream never compressed (so a live update is not held back in a compressor).

use std::io::Read as _;
use std::path::PathBuf;
use std::time::Duration;

use cachepanel::server::redis::process::RedisProcessOptions;

use crate::harness::{TestApp, fast_sampling, start_app_with};

/// A site as `make build` leaves it: hashed names in hash.txt, each file with `.br`/`.gz` twins.
fn hashed_site(name: &str) -> PathBuf {
    let root = std::env::temp_dir().join(format!("cachepanel-it-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("pkg")).unwrap();
    std::fs::write(root.join("hash.txt"), "js: Js1\nwasm: Wa1\ncss: Cs1\n").unwrap();
    for file in [
        "cachepanel.Wa1.wasm",
        "cachepanel.Js1.js",
        "cachepanel.Cs1.css",
    ] {
        let path = root.join("pkg").join(file);
        std::fs::write(&path, format!("raw {file}")).unwrap();
        std::fs::write(
            path.with_extension(format!("{}.br", ext(file))),
            format!("br {file}"),
        )
        .unwrap();
        std::fs::write(
            path.with_extension(format!("{}.gz", ext(file))),
            format!("gz {file}"),
        )
        .unwrap();
    }
    root
}

fn ext(file: &str) -> &str {
    file.rsplit('.').next().unwrap_or_default()
}

async fn app_with_site(site: PathBuf) -> TestApp {
    start_app_with(RedisProcessOptions::default(), move |config| {
        fast_sampling(config);
        config.site_root = site;
    })
    .await
}

async fn get_encoded(app: &TestApp, path: &str, accept: Option<&str>) -> reqwest::Response {
    let mut request = app.http.get(format!("{}{path}", app.base_url));
    if let Some(accept) = accept {
        request = request.header("accept-encoding", accept);
    }
    request.send().await.unwrap()
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .collect::<Vec<_>>()
        .join(", ")
}

#[tokio::test]
async fn client_files_come_precompressed_by_accept_encoding_and_are_cached_forever() {
    let app = app_with_site(hashed_site("hashed")).await;
    for (accept, encoding, body) in [
        (Some("gzip, deflate, br"), "br", "br cachepanel.Wa1.wasm"),
        (Some("gzip"), "gzip", "gz cachepanel.Wa1.wasm"),
        (None, "", "raw cachepanel.Wa1.wasm"),
    ] {
        let response = get_encoded(&app, "/pkg/cachepanel.Wa1.wasm", accept).await;
        assert_eq!(response.status().as_u16(), 200, "{accept:?}");
        assert_eq!(
            header(&response, "content-encoding"),
            encoding,
            "{accept:?}"
        );
        assert!(
            header(&response, "vary")
                .to_ascii_lowercase()
                .contains("accept-encoding"),
            "{accept:?}: {}",
            header(&response, "vary")
        );
        assert_eq!(
            header(&response, "cache-control"),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(response.text().await.unwrap(), body, "{accept:?}");
    }
    // The page links the hashed stylesheet and is itself never stored.
    let response = get_encoded(&app, "/admin/cache/stats", None).await;
    assert_eq!(header(&response, "cache-control"), "no-store");
    let page = response.text().await.unwrap();
    assert!(
        page.contains("/pkg/cachepanel.Cs1.css"),
        "hashed stylesheet linked"
    );
    assert!(
        page.contains("cachepanel.Wa1.wasm"),
        "hashed WASM preloaded"
    );
}

#[tokio::test]
async fn unhashed_client_files_are_revalidated_not_cached_forever() {
    let site = hashed_site("unhashed");
    std::fs::remove_file(site.join("hash.txt")).unwrap();
    let app = app_with_site(site).await;
    let response = get_encoded(&app, "/pkg/cachepanel.Js1.js", Some("br")).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(header(&response, "cache-control"), "no-cache");
}

#[tokio::test]
async fn pages_and_json_are_compressed_for_clients_that_accept_it() {
    let app = app_with_site(hashed_site("pages")).await;
    let plain = get_encoded(&app, "/admin/cache/stats", None).await;
    assert_eq!(header(&plain, "content-encoding"), "");
    let plain_bytes = plain.bytes().await.unwrap().len();

    let brotli = get_encoded(&app, "/admin/cache/stats", Some("br, gzip")).await;
    assert_eq!(header(&brotli, "content-encoding"), "br");
    assert!(
        header(&brotli, "vary")
            .to_ascii_lowercase()
            .contains("accept-encoding")
    );
    let compressed = brotli.bytes().await.unwrap();
    let mut page = String::new();
    brotli::Decompressor::new(&compressed[..], 4096)
        .read_to_string(&mut page)
        .unwrap();
    assert!(page.contains("data-testid=\"stats-page\""));
    assert!(
        compressed.len() * 3 < plain_bytes,
        "{} compressed of {plain_bytes}",
        compressed.len()
    );

    let gzip = get_encoded(&app, "/api/live/snapshot", Some("gzip")).await;
    assert_eq!(header(&gzip, "content-encoding"), "gzip");
    let mut json = String::new();
    flate2::read::GzDecoder::new(&gzip.bytes().await.unwrap()[..])
        .read_to_string(&mut json)
        .unwrap();
    let snapshot: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(snapshot["target"], "cache");
}

#[tokio::test]
async fn the_event_stream_is_never_compressed_and_updates_arrive_within_a_sample() {
    let app = app_with_site(hashed_site("events")).await;
    let mut response = get_encoded(&app, "/api/live/events", Some("br, gzip")).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        header(&response, "content-encoding"),
        "",
        "no compressor holds events back"
    );
    // fast_sampling samples every 250 ms: each snapshot must arrive on its own, well within
    // a second, through the compression layer.
    let mut body = String::new();
    let mut previous = None::<i64>;
    let mut spacing = Vec::new();
    while spacing.len() < 3 {
        let chunk = tokio::time::timeout(Duration::from_secs(1), response.chunk())
            .await
            .expect("a snapshot within one second")
            .unwrap()
            .expect("stream open");
        body.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = body.find("\n\n") {
            let event: String = body.drain(..end + 2).collect();
            if !event.contains("event: snapshot") {
                continue;
            }
            let data = event
                .lines()
                .find_map(|line| line.strip_prefix("data: "))
                .expect("a data line");
            let snapshot: serde_json::Value = serde_json::from_str(data).unwrap();
            let published = snapshot["published_at_ms"].as_i64().unwrap_or_default();
            if published == 0 {
                continue; // the placeholder before the first sample
            }
            if let Some(previous) = previous {
                spacing.push(published - previous);
            }
            previous = Some(published);
        }
    }
    assert!(spacing.iter().all(|ms| *ms < 1000), "{spacing:?}");
}
