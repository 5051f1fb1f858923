//! Request bodies as the README documents them: form-encoded or JSON (by `Content-Type`) on
//! every POST endpoint, and a body over 64 KiB answered 413 with the JSON error, whether its
//! length was declared or it arrived chunked.

use std::time::Duration;

use cachepanel::model::flush::FlushPolicy;
use cachepanel::server::redis::process::RedisProcessOptions;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::harness::{
    TestApp, fill_keys, json_answer, redis_connection, start_app_with, token_for,
};

async fn post_json(app: &TestApp, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
    json_answer(app.http.post(format!("{}{path}", app.base_url)).json(&body)).await
}

#[tokio::test]
async fn every_post_endpoint_takes_a_json_body() {
    let app = start_app_with(RedisProcessOptions::default(), |config| {
        config.flush.policy = FlushPolicy::Enabled;
    })
    .await;
    fill_keys(&app.redis.url(), "object:", 30);
    fill_keys(&app.redis.url(), "user:", 5);
    let mut connection = redis_connection(&app.redis.url());
    redis::cmd("SET")
        .arg("rate_limit:user:3")
        .arg(4)
        .exec(&mut connection)
        .unwrap();

    let (status, preview) = post_json(
        &app,
        "/api/flush/preview",
        serde_json::json!({"prefix": "object:"}),
    )
    .await;
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["keys"], 30);
    let (status, started) = post_json(
        &app,
        "/api/flush/start",
        serde_json::json!({"prefix": "object:", "preview_id": preview["id"]}),
    )
    .await;
    assert_eq!(status, 200, "{started}");
    let (status, _) = post_json(&app, "/api/flush/cancel", serde_json::json!({})).await;
    assert_eq!(status, 200);
    let (status, census) = post_json(&app, "/api/census/start", serde_json::json!({})).await;
    assert_eq!(status, 200, "{census}");
    let (status, _) = post_json(&app, "/api/census/cancel", serde_json::json!({})).await;
    assert_eq!(status, 200);
    let (status, reset) = post_json(
        &app,
        "/api/rate-limits/reset",
        serde_json::json!({"key": "rate_limit:user:3"}),
    )
    .await;
    assert_eq!(status, 200, "{reset}");
    assert_eq!(reset, true);
    let (status, counters) =
        post_json(&app, "/api/rate-limits/refresh", serde_json::json!({})).await;
    assert_eq!(status, 200, "{counters}");

    // The user keys are untouched by the object: flush.
    tokio::time::timeout(Duration::from_secs(10), async {
        while app.flush.state().running.is_some() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .unwrap();
    let users: u64 = redis::cmd("DBSIZE").query(&mut connection).unwrap();
    assert!(users >= 5);
    // Malformed JSON is a 400 with the JSON error, and changes nothing.
    let response = app
        .http
        .post(format!("{}/api/flush/preview", app.base_url))
        .header("content-type", "application/json")
        .body("{\"prefix\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let error: serde_json::Value = response.json().await.unwrap();
    assert_eq!(error["error"], "bad_request");
    let (status, nested) = post_json(
        &app,
        "/api/flush/preview",
        serde_json::json!({"prefix": ["object:"]}),
    )
    .await;
    assert_eq!(status, 400, "{nested}");
}

/// A raw HTTP/1.1 exchange (reqwest always declares a length for a byte body).
async fn raw_post(app: &TestApp, head: &str, body: &[u8]) -> (u16, String) {
    let address = app.base_url.trim_start_matches("http://").to_owned();
    let mut socket = tokio::net::TcpStream::connect(address).await.unwrap();
    socket.write_all(head.as_bytes()).await.unwrap();
    // The server may answer before the whole body is sent; a refused write is fine.
    let _ = socket.write_all(body).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), socket.read_to_end(&mut answer)).await;
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    (status, text)
}

#[tokio::test]
async fn bodies_over_64_kib_get_the_json_413_declared_or_chunked() {
    let app = start_app_with(RedisProcessOptions::default(), |config| {
        config.flush.policy = FlushPolicy::Enabled;
    })
    .await;
    let token = token_for("superadmin", 1);
    let big = format!("prefix={}", "a".repeat(70 * 1024));

    let declared = app
        .http
        .post(format!("{}/api/flush/preview", app.base_url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(declared.status().as_u16(), 413);
    assert!(
        declared.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let error: serde_json::Value = declared.json().await.unwrap();
    assert_eq!(error["error"], "payload_too_large");
    assert_eq!(error["limit_bytes"], 65536);

    // Chunked: no length up front, 8 KiB chunks.
    let mut chunked = Vec::new();
    for piece in big.as_bytes().chunks(8 * 1024) {
        chunked.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        chunked.extend_from_slice(piece);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let head = format!(
        "POST /api/flush/preview HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\
         Connection: close\r\n\r\n"
    );
    let (status, answer) = raw_post(&app, &head, &chunked).await;
    assert_eq!(status, 413, "{answer}");
    assert!(
        answer.contains("\"error\":\"payload_too_large\""),
        "{answer}"
    );

    // A small chunked body still works.
    let small = b"prefix=object%3A";
    let mut body = format!("{:x}\r\n", small.len()).into_bytes();
    body.extend_from_slice(small);
    body.extend_from_slice(b"\r\n0\r\n\r\n");
    let (status, answer) = raw_post(&app, &head, &body).await;
    assert_eq!(status, 200, "{answer}");
}
