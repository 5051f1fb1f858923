//! Redis glob characters: the one definition of which characters `SCAN MATCH` treats as a
//! pattern, used to refuse them in configured prefixes and to escape literal prefixes.

/// The characters Redis' glob matcher gives meaning to.
const GLOB_BYTES: [u8; 5] = [b'*', b'?', b'[', b']', b'\\'];

pub fn is_glob_char(c: char) -> bool {
    u8::try_from(c).is_ok_and(|byte| GLOB_BYTES.contains(&byte))
}

pub fn has_glob_characters(text: &str) -> bool {
    text.chars().any(is_glob_char)
}

/// Escapes Redis glob metacharacters (`* ? [ ] \`) so the bytes match literally.
pub fn glob_escape(bytes: &[u8]) -> Vec<u8> {
    let mut escaped = Vec::with_capacity(bytes.len() + 8);
    for byte in bytes {
        if GLOB_BYTES.contains(byte) {
            escaped.push(b'\\');
        }
        escaped.push(*byte);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_glob_character_is_escaped_and_nothing_else() {
        assert_eq!(
            glob_escape(b"a*b?c[d]e\\f:"),
            b"a\\*b\\?c\\[d\\]e\\\\f:".to_vec()
        );
        assert!(has_glob_characters("user:*") && !has_glob_characters("user:"));
        assert!(!is_glob_char('ж'));
    }
}
