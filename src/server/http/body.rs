//! Request bodies. Every body is read up to `MAX_REQUEST_BODY_BYTES`: a larger one is answered
//! 413 with the JSON error, whether its size was declared (`Content-Length`) or it arrived
//! chunked. A JSON object body (`Content-Type: application/json`) is turned into the form
//! encoding the server functions take, so `{"prefix":"object:"}` and `prefix=object%3A` are
//! the same request.

use axum::body::Body;
use axum::http::{HeaderValue, Method, Request, header};
use axum::response::{IntoResponse as _, Response};
use http_body_util::BodyExt as _;

use crate::error::AppError;

/// Server functions and API calls are bodies of a few hundred bytes; anything larger is refused.
pub const MAX_REQUEST_BODY_BYTES: usize = 64 * 1024;

pub async fn bounded_body(request: Request<Body>, next: axum::middleware::Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > MAX_REQUEST_BODY_BYTES as u64) {
        return too_large();
    }
    if request.method() == Method::GET || request.method() == Method::HEAD {
        // No body is expected; the event stream and pages pass untouched.
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    let bytes = match http_body_util::Limited::new(body, MAX_REQUEST_BODY_BYTES)
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => return too_large(),
        Err(_) => {
            return AppError::bad_request("the request body could not be read").into_response();
        }
    };
    let bytes = if is_json(&parts.headers) {
        match json_to_form(&bytes) {
            Ok(form) => {
                parts.headers.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/x-www-form-urlencoded"),
                );
                axum::body::Bytes::from(form)
            }
            Err(message) => return AppError::bad_request(message).into_response(),
        }
    } else {
        bytes
    };
    parts.headers.remove(header::TRANSFER_ENCODING);
    if let Ok(length) = HeaderValue::from_str(&bytes.len().to_string()) {
        parts.headers.insert(header::CONTENT_LENGTH, length);
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

fn too_large() -> Response {
    AppError::PayloadTooLarge {
        limit_bytes: MAX_REQUEST_BODY_BYTES as u64,
    }
    .into_response()
}

fn is_json(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.split(';').next())
        .is_some_and(|media| {
            let media = media.trim().to_ascii_lowercase();
            media == "application/json" || media.ends_with("+json")
        })
}

/// `{"prefix":"object:","preview_id":"ab12"}` → `prefix=object%3A&preview_id=ab12`. Fields
/// are strings, numbers or booleans (null: left out); anything else is refused.
fn json_to_form(bytes: &[u8]) -> Result<String, String> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(String::new());
    }
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|error| format!("invalid JSON body: {error}"))?;
    let serde_json::Value::Object(fields) = value else {
        return Err("a JSON body must be an object of fields".into());
    };
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in fields {
        match value {
            serde_json::Value::Null => {}
            serde_json::Value::String(text) => {
                form.append_pair(&name, &text);
            }
            serde_json::Value::Number(number) => {
                form.append_pair(&name, &number.to_string());
            }
            serde_json::Value::Bool(flag) => {
                form.append_pair(&name, if flag { "true" } else { "false" });
            }
            serde_json::Value::Array(_) | serde_json::Value::Object(_) => {
                return Err(format!(
                    "field '{name}' must be a string, number or boolean"
                ));
            }
        }
    }
    Ok(form.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_objects_become_the_form_the_server_functions_take() {
        assert_eq!(
            json_to_form(br#"{"prefix":"object:","preview_id":"ab 12","n":3,"x":null,"f":true}"#),
            Ok("f=true&n=3&prefix=object%3A&preview_id=ab+12".into())
        );
        assert_eq!(json_to_form(b"  "), Ok(String::new()));
        assert!(json_to_form(b"[1]").is_err());
        assert!(json_to_form(br#"{"prefix":["a"]}"#).is_err());
        assert!(
            json_to_form(b"{nope")
                .unwrap_err()
                .starts_with("invalid JSON body")
        );
    }
}
