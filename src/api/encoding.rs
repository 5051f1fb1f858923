//! The one JSON decoder of the browser build. Leptos decodes the data it hydrates a page with
//! from `&str`, server functions' responses from bytes by default; serde generates a separate
//! decoder of every model type for each, and those copies made about a tenth of the WASM. So
//! responses and errors are decoded from `&str` as well (the wire format is the same JSON).

use leptos::server_fn;
use serde::Serialize;
use serde::de::DeserializeOwned;
use server_fn::codec::Post;
use server_fn::{Bytes, ContentType, Decodes, Encodes, Format, FormatType};

/// JSON, decoded from text.
pub struct JsonText;

/// A `POST` (or, with `input = GetUrl`, a `GET`) answered with [`JsonText`].
pub type Json = Post<JsonText>;

impl ContentType for JsonText {
    const CONTENT_TYPE: &'static str = "application/json";
}

impl FormatType for JsonText {
    const FORMAT_TYPE: Format = Format::Text;
}

impl<T: Serialize> Encodes<T> for JsonText {
    type Error = serde_json::Error;

    fn encode(output: &T) -> Result<Bytes, Self::Error> {
        serde_json::to_vec(output).map(Bytes::from)
    }
}

impl<T: DeserializeOwned> Decodes<T> for JsonText {
    type Error = serde_json::Error;

    fn decode(bytes: Bytes) -> Result<T, Self::Error> {
        let text = std::str::from_utf8(&bytes).map_err(serde::de::Error::custom)?;
        serde_json::from_str(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_bytes_that_are_not_text() {
        let encoded = <JsonText as Encodes<Vec<u32>>>::encode(&vec![1, 2]).unwrap_or_default();
        assert_eq!(&encoded[..], b"[1,2]");
        let decoded: Result<Vec<u32>, _> = JsonText::decode(encoded);
        assert_eq!(decoded.ok(), Some(vec![1, 2]));
        let broken: Result<Vec<u32>, _> = JsonText::decode(Bytes::from_static(b"[\xff]"));
        assert!(broken.is_err());
    }
}
