//! Percent-encoding for rendered URLs.

/// Tells whether `byte` is in `unreserved` of RFC 3986 section 2.3: `A-Z a-z 0-9 - . _ ~`.
///
/// Simple expansion (RFC 6570 section 3.2.2) and every operator but `+` and `#` copy only
/// these bytes of a value and percent-encode all others.
pub(crate) fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

/// Tells whether `byte` is in `reserved` of RFC 3986 section 2.2 (`gen-delims` and
/// `sub-delims`), which reserved and fragment expansion (RFC 6570 sections 3.2.3 and 3.2.4)
/// copy unencoded.
pub(crate) fn is_reserved(byte: u8) -> bool {
    matches!(
        byte,
        b':' | b'/'
            | b'?'
            | b'#'
            | b'['
            | b']'
            | b'@'
            | b'!'
            | b'$'
            | b'&'
            | b'\''
            | b'('
            | b')'
            | b'*'
            | b'+'
            | b','
            | b';'
            | b'='
    )
}

/// Tells whether the ASCII `byte` may stand unencoded in literal text: `literals` of RFC 6570
/// section 2.1 without `ucschar`, `iprivate` and `pct-encoded`, which are handled apart. The
/// apostrophe (0x27), which the RFC's ABNF leaves out, is copied too, as the uritemplate-test
/// suite and other implementations expect.
pub(crate) fn is_literal(byte: u8) -> bool {
    matches!(byte, 0x21 | 0x23..=0x24 | 0x26..=0x3B | 0x3D | 0x3F..=0x5B | 0x5D | 0x5F
        | 0x61..=0x7A | 0x7E)
}

/// Tells whether `bytes` starts with a pct-encoded triplet such as `%2F`.
pub(crate) fn starts_with_triplet(bytes: &[u8]) -> bool {
    bytes.len() >= 3
        && bytes[0] == b'%'
        && bytes[1].is_ascii_hexdigit()
        && bytes[2].is_ascii_hexdigit()
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Appends `byte` as `%XX` with upper-case hexadecimal digits, as RFC 3986 section 2.1
/// recommends.
pub(crate) fn push_encoded_byte(out: &mut String, byte: u8) {
    out.push('%');
    out.push(HEX[usize::from(byte >> 4)] as char);
    out.push(HEX[usize::from(byte & 0x0F)] as char);
}

/// Appends `value` percent-encoded for an expression.
///
/// With `allow_reserved` false, every byte outside `unreserved` becomes `%XX` of its UTF-8
/// encoding, so no value can add a `/`, `?`, `&`, `=` or `#` to the URL. With it true, reserved
/// characters and existing pct-encoded triplets are copied as they are.
pub(crate) fn push_value(out: &mut String, value: &str, allow_reserved: bool) {
    let bytes = value.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        // Copy the longest run of bytes that stay as they are. Such a run is ASCII, so it
        // starts and ends on character boundaries.
        let run_start = i;
        while i < bytes.len() {
            if is_unreserved(bytes[i]) || (allow_reserved && is_reserved(bytes[i])) {
                i += 1;
            } else if allow_reserved && starts_with_triplet(&bytes[i..]) {
                i += 3;
            } else {
                break;
            }
        }
        if i > run_start {
            out.push_str(&value[run_start..i]);
        }

        if i < bytes.len() {
            push_encoded_byte(out, bytes[i]);
            i += 1;
        }
    }
}

/// Returns the literal text `text` as it is sent: characters allowed in literals and valid
/// pct-encoded triplets are copied, everything else is percent-encoded as UTF-8 (RFC 6570
/// section 3.1).
pub(crate) fn encode_literal(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        if starts_with_triplet(&bytes[i..]) {
            out.push_str(&text[i..i + 3]);
            i += 3;
        } else if is_literal(bytes[i]) {
            out.push(bytes[i] as char);
            i += 1;
        } else {
            push_encoded_byte(&mut out, bytes[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(value: &str, allow_reserved: bool) -> String {
        let mut out = String::new();
        push_value(&mut out, value, allow_reserved);
        out
    }

    #[test]
    fn value_encoding_table() {
        let cases = [
            ("abc-._~XYZ019", false, "abc-._~XYZ019"),
            ("a b", false, "a%20b"),
            ("a+b&c=d#e/f?g%h", false, "a%2Bb%26c%3Dd%23e%2Ff%3Fg%25h"),
            ("José & Ana", false, "Jos%C3%A9%20%26%20Ana"),
            ("{agent.id}", false, "%7Bagent.id%7D"),
            ("€", false, "%E2%82%AC"),
            ("😀", false, "%F0%9F%98%80"),
            ("a/b?c", true, "a/b?c"),
            ("%2F%zz", true, "%2F%25zz"),
            ("a b", true, "a%20b"),
            ("", false, ""),
        ];
        for (value, allow_reserved, expected) in cases {
            assert_eq!(encoded(value, allow_reserved), expected, "value {value:?}");
        }
    }

    #[test]
    fn literal_encoding_table() {
        let cases = [
            ("http://example.com/?a=1&b=2", "http://example.com/?a=1&b=2"),
            ("a b", "a%20b"),
            ("caf\u{e9}", "caf%C3%A9"),
            ("%41%zz", "%41%25zz"),
            ("<|>", "%3C%7C%3E"),
        ];
        for (text, expected) in cases {
            assert_eq!(encode_literal(text), expected, "literal {text:?}");
        }
    }
}
