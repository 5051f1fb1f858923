//! The codecs between the two builds: the server writes JSON with serde; the browser reads it
//! with the model's own decoder (`model::wire`), for server functions' responses and errors
//! ([`JsonText`]) and for the data a page hydrates with ([`WireCodec`]). The wire format is
//! the JSON it always was; only the browser's way of reading it is smaller.

use leptos::server::codee::{Decoder, Encoder};
use leptos::server_fn;
use serde::Serialize;
use server_fn::codec::Post;
use server_fn::{Bytes, ContentType, Decodes, Encodes, Format, FormatType};

use crate::model::wire::{self, FromJson, WireError};

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

impl<T: FromJson> Decodes<T> for JsonText {
    type Error = WireError;

    fn decode(bytes: Bytes) -> Result<T, Self::Error> {
        let text = std::str::from_utf8(&bytes).map_err(|_| WireError::expected("UTF-8 text"))?;
        wire::decode(text)
    }
}

/// The codec of the resources a page hydrates with (see `ui::resource`).
pub struct WireCodec;

impl<T: Serialize> Encoder<T> for WireCodec {
    type Error = serde_json::Error;
    type Encoded = String;

    fn encode(value: &T) -> Result<String, Self::Error> {
        serde_json::to_string(value)
    }
}

impl<T: FromJson> Decoder<T> for WireCodec {
    type Error = WireError;
    type Encoded = str;

    fn decode(text: &str) -> Result<T, Self::Error> {
        wire::decode(text)
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
