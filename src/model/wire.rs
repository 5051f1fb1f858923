//! The browser's JSON decoder: text → a [`Json`] tree → model types through [`FromJson`]
//! (`#[derive(FromJson)]`, generated from each type's `#[serde(...)]` attributes).
//!
//! The server writes JSON with serde. In the WASM client, serde's generic deserializers made
//! about a fifth of the bundle (a visitor, a field matcher and map/sequence accessors per type,
//! and serde_json's parser instantiated for each); one small parser and plain per-type code
//! replace them (BENCHMARKS.md, "Client bundle"). The tests decode what serde wrote, for every
//! type that crosses the wire, and compare by serializing again.

use std::borrow::Cow;
use std::collections::BTreeMap;

pub use wire_derive::FromJson;

/// A parsed JSON value. Strings and keys borrow from the text unless they hold escapes;
/// numbers stay text until a type asks for its kind of number.
#[derive(Debug, Clone, PartialEq)]
pub enum Json<'a> {
    Null,
    Bool(bool),
    Number(&'a str),
    String(Cow<'a, str>),
    Array(Vec<Json<'a>>),
    Object(Vec<(Cow<'a, str>, Json<'a>)>),
}

/// Why a text could not be decoded: what was expected, where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError {
    expected: &'static str,
    field: Option<&'static str>,
}

impl WireError {
    pub fn expected(expected: &'static str) -> Self {
        Self {
            expected,
            field: None,
        }
    }

    fn missing(field: &'static str) -> Self {
        Self {
            expected: "a field",
            field: Some(field),
        }
    }

    fn in_field(self, field: &'static str) -> Self {
        Self {
            field: self.field.or(Some(field)),
            ..self
        }
    }
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.field {
            Some(field) => write!(f, "invalid JSON: expected {} at `{field}`", self.expected),
            None => write!(f, "invalid JSON: expected {}", self.expected),
        }
    }
}

impl std::error::Error for WireError {}

/// Decodes a model value from JSON text.
pub fn decode<T: FromJson>(text: &str) -> Result<T, WireError> {
    T::from_json(&parse(text)?)
}

/// A type the browser decodes from JSON.
pub trait FromJson: Sized {
    fn from_json(value: &Json<'_>) -> Result<Self, WireError>;

    /// What an absent field decodes to: an error, except for `Option` (`None`), as with serde.
    fn missing(field: &'static str) -> Result<Self, WireError> {
        Err(WireError::missing(field))
    }
}

type Members<'a> = [(Cow<'a, str>, Json<'a>)];

impl<'a> Json<'a> {
    pub fn object(&self, what: &'static str) -> Result<&Members<'a>, WireError> {
        match self {
            Json::Object(members) => Ok(members),
            _ => Err(WireError::expected(what)),
        }
    }

    pub fn array_of(&self, len: usize, what: &'static str) -> Result<&[Json<'a>], WireError> {
        match self {
            Json::Array(items) if items.len() == len => Ok(items),
            _ => Err(WireError::expected(what)),
        }
    }

    pub fn text(&self, what: &'static str) -> Result<&str, WireError> {
        match self {
            Json::String(text) => Ok(text),
            _ => Err(WireError::expected(what)),
        }
    }

    /// An externally tagged enum value: `"unit"` or `{"variant": content}`.
    pub fn variant(&self, what: &'static str) -> Result<(&str, Option<&Json<'a>>), WireError> {
        match self {
            Json::String(name) => Ok((name, None)),
            Json::Object(members) if members.len() == 1 => Ok((&members[0].0, Some(&members[0].1))),
            _ => Err(WireError::expected(what)),
        }
    }
}

/// The member `key` of an object, which must be there.
pub fn member<'j, 'a>(
    object: &'j Members<'a>,
    key: &str,
    what: &'static str,
) -> Result<&'j Json<'a>, WireError> {
    lookup(object, key).ok_or(WireError::expected(what))
}

fn lookup<'j, 'a>(object: &'j Members<'a>, key: &str) -> Option<&'j Json<'a>> {
    object
        .iter()
        .find(|(name, _)| name == key)
        .map(|(_, value)| value)
}

/// A struct field: decoded if present, else whatever the type says an absent field is.
pub fn field<T: FromJson>(object: &Members<'_>, key: &'static str) -> Result<T, WireError> {
    match lookup(object, key) {
        Some(value) => T::from_json(value).map_err(|error| error.in_field(key)),
        None => T::missing(key),
    }
}

/// A `#[serde(default)]` field: its type's default when absent.
pub fn field_or_default<T: FromJson + Default>(
    object: &Members<'_>,
    key: &'static str,
) -> Result<T, WireError> {
    match lookup(object, key) {
        Some(value) => T::from_json(value).map_err(|error| error.in_field(key)),
        None => Ok(T::default()),
    }
}

// ---------------------------------------------------------------------------------------------
// The parser: recursive descent over bytes, nesting bounded so no input can exhaust the stack.

const MAX_DEPTH: usize = 128;

/// Parses one JSON value that spans the whole text (surrounding whitespace allowed).
pub fn parse(text: &str) -> Result<Json<'_>, WireError> {
    let mut parser = Parser { text, at: 0 };
    let value = parser.value(0)?;
    parser.skip_space();
    if parser.at != text.len() {
        return Err(WireError::expected("the end of the text"));
    }
    Ok(value)
}

struct Parser<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> bool {
        self.skip_space();
        if self.peek() == Some(byte) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn literal(&mut self, word: &str) -> Result<(), WireError> {
        if self.text[self.at..].starts_with(word) {
            self.at += word.len();
            Ok(())
        } else {
            Err(WireError::expected("a JSON value"))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json<'a>, WireError> {
        if depth > MAX_DEPTH {
            return Err(WireError::expected("less deeply nested JSON"));
        }
        self.skip_space();
        match self.peek() {
            Some(b'n') => self.literal("null").map(|()| Json::Null),
            Some(b't') => self.literal("true").map(|()| Json::Bool(true)),
            Some(b'f') => self.literal("false").map(|()| Json::Bool(false)),
            Some(b'"') => self.string().map(Json::String),
            Some(b'[') => {
                self.at += 1;
                let mut items = Vec::new();
                if !self.eat(b']') {
                    loop {
                        items.push(self.value(depth + 1)?);
                        if self.eat(b']') {
                            break;
                        }
                        if !self.eat(b',') {
                            return Err(WireError::expected("`,` or `]`"));
                        }
                    }
                }
                Ok(Json::Array(items))
            }
            Some(b'{') => {
                self.at += 1;
                let mut members = Vec::new();
                if !self.eat(b'}') {
                    loop {
                        self.skip_space();
                        if self.peek() != Some(b'"') {
                            return Err(WireError::expected("a member name"));
                        }
                        let key = self.string()?;
                        if !self.eat(b':') {
                            return Err(WireError::expected("`:`"));
                        }
                        members.push((key, self.value(depth + 1)?));
                        if self.eat(b'}') {
                            break;
                        }
                        if !self.eat(b',') {
                            return Err(WireError::expected("`,` or `}`"));
                        }
                    }
                }
                Ok(Json::Object(members))
            }
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(WireError::expected("a JSON value")),
        }
    }

    fn number(&mut self) -> Result<Json<'a>, WireError> {
        let start = self.at;
        let bytes = self.text.as_bytes();
        let digits = |at: &mut usize| {
            let from = *at;
            while bytes.get(*at).is_some_and(u8::is_ascii_digit) {
                *at += 1;
            }
            *at > from
        };
        let mut at = self.at;
        if bytes.get(at) == Some(&b'-') {
            at += 1;
        }
        if !digits(&mut at) {
            return Err(WireError::expected("a number"));
        }
        if bytes.get(at) == Some(&b'.') {
            at += 1;
            if !digits(&mut at) {
                return Err(WireError::expected("a number"));
            }
        }
        if matches!(bytes.get(at), Some(b'e' | b'E')) {
            at += 1;
            if matches!(bytes.get(at), Some(b'+' | b'-')) {
                at += 1;
            }
            if !digits(&mut at) {
                return Err(WireError::expected("a number"));
            }
        }
        self.at = at;
        Ok(Json::Number(&self.text[start..at]))
    }

    /// A string at the cursor (on its opening quote); borrowed unless it holds escapes.
    fn string(&mut self) -> Result<Cow<'a, str>, WireError> {
        self.at += 1;
        let start = self.at;
        let bytes = self.text.as_bytes();
        while let Some(&byte) = bytes.get(self.at) {
            match byte {
                b'"' => {
                    let text = &self.text[start..self.at];
                    self.at += 1;
                    return Ok(Cow::Borrowed(text));
                }
                b'\\' => return self.escaped_string(start),
                0..=0x1f => return Err(WireError::expected("an escaped control character")),
                _ => self.at += 1,
            }
        }
        Err(WireError::expected("the end of a string"))
    }

    fn escaped_string(&mut self, start: usize) -> Result<Cow<'a, str>, WireError> {
        let mut out = String::from(&self.text[start..self.at]);
        loop {
            let rest = &self.text[self.at..];
            let Some(ch) = rest.chars().next() else {
                return Err(WireError::expected("the end of a string"));
            };
            self.at += ch.len_utf8();
            match ch {
                '"' => return Ok(Cow::Owned(out)),
                '\\' => {
                    let escape = self.peek().ok_or(WireError::expected("an escape"))?;
                    self.at += 1;
                    match escape {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => out.push(self.unicode_escape()?),
                        _ => return Err(WireError::expected("a valid escape")),
                    }
                }
                '\u{0}'..='\u{1f}' => {
                    return Err(WireError::expected("an escaped control character"));
                }
                _ => out.push(ch),
            }
        }
    }

    /// `\uXXXX` (the `\u` already read), a surrogate pair as two of them.
    fn unicode_escape(&mut self) -> Result<char, WireError> {
        let first = self.hex4()?;
        let code = if (0xD800..0xDC00).contains(&first) {
            if !self.text[self.at..].starts_with("\\u") {
                return Err(WireError::expected("a low surrogate"));
            }
            self.at += 2;
            let second = self.hex4()?;
            if !(0xDC00..0xE000).contains(&second) {
                return Err(WireError::expected("a low surrogate"));
            }
            0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
        } else {
            first
        };
        char::from_u32(code).ok_or(WireError::expected("a Unicode scalar value"))
    }

    fn hex4(&mut self) -> Result<u32, WireError> {
        let digits = self
            .text
            .get(self.at..self.at + 4)
            .ok_or(WireError::expected("four hex digits"))?;
        let code =
            u32::from_str_radix(digits, 16).map_err(|_| WireError::expected("four hex digits"))?;
        if digits.starts_with('+') {
            return Err(WireError::expected("four hex digits"));
        }
        self.at += 4;
        Ok(code)
    }
}

// ---------------------------------------------------------------------------------------------
// The types the model is made of.

impl FromJson for bool {
    fn from_json(value: &Json<'_>) -> Result<Self, WireError> {
        match value {
            Json::Bool(flag) => Ok(*flag),
            _ => Err(WireError::expected("true or false")),
        }
    }
}

macro_rules! integers {
    ($($ty:ty),*) => {$(
        impl FromJson for $ty {
            fn from_json(value: &Json<'_>) -> Result<Self, WireError> {
                match value {
                    Json::Number(text) => text.parse().map_err(|_| WireError::expected(stringify!($ty))),
                    _ => Err(WireError::expected(stringify!($ty))),
                }
            }
        }
    )*};
}

integers!(u8, u16, u32, u64, usize, i32, i64);

impl FromJson for f64 {
    fn from_json(value: &Json<'_>) -> Result<Self, WireError> {
        match value {
            Json::Number(text) => number_value(text).ok_or(WireError::expected("a number")),
            _ => Err(WireError::expected("a number")),
        }
    }
}

/// The value of a number the parser has checked. In the browser it is JavaScript's own
/// `parseFloat` (correctly rounded, like core's): core's decimal-to-float code and its tables
/// of powers are ~15 kB of the WASM bundle that the engine already has.
#[cfg(feature = "hydrate")]
fn number_value(text: &str) -> Option<f64> {
    let value = js_sys::parse_float(text);
    (!value.is_nan()).then_some(value)
}

#[cfg(not(feature = "hydrate"))]
fn number_value(text: &str) -> Option<f64> {
    text.parse().ok()
}

impl FromJson for String {
    fn from_json(value: &Json<'_>) -> Result<Self, WireError> {
        value.text("a string").map(str::to_owned)
    }
}

impl FromJson for () {
    fn from_json(value: &Json<'_>) -> Result<Self, WireError> {
        match value {
            Json::Null => Ok(()),
            _ => Err(WireError::expected("null")),
        }
    }
}

impl<T: FromJson> FromJson for Option<T> {
    fn from_json(value: &Json<'_>) -> Result<Self, WireError> {
        match value {
            Json::Null => Ok(None),
            value => T::from_json(value).map(Some),
        }
    }

    fn missing(_field: &'static str) -> Result<Self, WireError> {
        Ok(None)
    }
}

impl<T: FromJson> FromJson for Box<T> {
    fn from_json(value: &Json<'_>) -> Result<Self, WireError> {
        T::from_json(value).map(Box::new)
    }
}

impl<T: FromJson> FromJson for Vec<T> {
    fn from_json(value: &Json<'_>) -> Result<Self, WireError> {
        match value {
            // A loop rather than `collect::<Result<_, _>>()`, whose adapter is instantiated
            // anew for every element type.
            Json::Array(items) => {
                let mut decoded = Vec::with_capacity(items.len());
                for item in items {
                    decoded.push(T::from_json(item)?);
                }
                Ok(decoded)
            }
            _ => Err(WireError::expected("an array")),
        }
    }
}

impl<T: FromJson, const N: usize> FromJson for [T; N] {
    fn from_json(value: &Json<'_>) -> Result<Self, WireError> {
        let items: Vec<T> = Vec::from_json(value)?;
        items
            .try_into()
            .map_err(|_| WireError::expected("an array of the right length"))
    }
}

impl<A: FromJson, B: FromJson> FromJson for (A, B) {
    fn from_json(value: &Json<'_>) -> Result<Self, WireError> {
        let items = value.array_of(2, "a pair")?;
        Ok((A::from_json(&items[0])?, B::from_json(&items[1])?))
    }
}

impl<V: FromJson> FromJson for BTreeMap<String, V> {
    fn from_json(value: &Json<'_>) -> Result<Self, WireError> {
        let mut decoded = BTreeMap::new();
        for (key, item) in value.object("an object")? {
            decoded.insert(key.to_string(), V::from_json(item)?);
        }
        Ok(decoded)
    }
}

/// serde's form of a `Result`: `{"Ok": value}` or `{"Err": error}`.
impl<T: FromJson, E: FromJson> FromJson for Result<T, E> {
    fn from_json(value: &Json<'_>) -> Result<Self, WireError> {
        match value.variant("Ok or Err")? {
            ("Ok", Some(inner)) => T::from_json(inner).map(Ok),
            ("Err", Some(inner)) => E::from_json(inner).map(Err),
            _ => Err(WireError::expected("Ok or Err")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_serde_json_writes_and_refuses_what_it_refuses() {
        let text = r#" {"a": [1, -2.5e3, true, null], "b\"\u00e9\ud83d\ude00": "x\ny", "c": {}} "#;
        let parsed = parse(text).expect("valid JSON");
        let Json::Object(members) = &parsed else {
            panic!("an object")
        };
        assert_eq!(
            members[0].1,
            Json::Array(vec![
                Json::Number("1"),
                Json::Number("-2.5e3"),
                Json::Bool(true),
                Json::Null,
            ])
        );
        assert_eq!(members[1].0, "b\"é😀");
        assert_eq!(members[1].1, Json::String(Cow::Borrowed("x\ny")));
        for broken in [
            "",
            "{",
            "[1,]",
            "{\"a\" 1}",
            "01x",
            "\"\\x\"",
            "\"\u{1}\"",
            "[1] 2",
            "-",
            "1.",
            "\"\\ud800\"",
            "tru",
        ] {
            assert!(parse(broken).is_err(), "{broken:?} must be refused");
            assert!(
                serde_json::from_str::<serde_json::Value>(broken).is_err(),
                "{broken:?}"
            );
        }
        let deep = "[".repeat(10_000);
        assert!(
            parse(&deep).is_err(),
            "deep nesting is refused, not a stack overflow"
        );
    }

    #[test]
    fn numbers_decode_to_the_kind_asked_for() {
        assert_eq!(decode::<u64>("18446744073709551615"), Ok(u64::MAX));
        assert_eq!(decode::<i64>("-9223372036854775808"), Ok(i64::MIN));
        assert!(decode::<u64>("-1").is_err());
        assert!(decode::<u32>("1.5").is_err());
        assert_eq!(decode::<f64>("0.25"), Ok(0.25));
        assert_eq!(decode::<f64>("1e-3"), Ok(0.001));
        assert_eq!(decode::<Option<u8>>("null"), Ok(None));
        assert_eq!(
            decode::<Vec<(String, u8)>>(r#"[["a",1]]"#),
            Ok(vec![("a".to_owned(), 1)])
        );
        assert_eq!(
            decode::<Result<u8, String>>(r#"{"Err":"no"}"#),
            Ok(Err("no".to_owned()))
        );
    }

    #[test]
    fn strings_round_trip_every_character_serde_json_escapes() {
        let original: String = (0u32..0x800)
            .filter_map(char::from_u32)
            .chain(['😀', '\u{2028}'])
            .collect();
        let written = serde_json::to_string(&original).expect("serializes");
        assert_eq!(decode::<String>(&written), Ok(original));
    }
}
