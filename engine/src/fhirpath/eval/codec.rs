//! FHIRPath 2.1 string codecs the R4 test suite includes (marked optional):
//! `encode`/`decode` (base64, urlbase64, hex) and `escape`/`unescape`
//! (html, json).

use super::coll;
use super::{Call, R};
use crate::fhirpath::value::Item;

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn base64_encode(bytes: &[u8], alphabet: &[u8; 64]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(alphabet[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn base64_decode(text: &str, alphabet: &[u8; 64]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in text.bytes().filter(|c| *c != b'=') {
        let v = alphabet.iter().position(|a| *a == c)? as u32;
        acc = acc << 6 | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits & 0xff) as u8);
        }
    }
    Some(out)
}

fn hex_decode(text: &str) -> Option<Vec<u8>> {
    if text.len() & 1 == 1 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

fn escape(s: &str, target: &str) -> Option<String> {
    let mut out = String::new();
    for ch in s.chars() {
        match (target, ch) {
            ("html", '&') => out.push_str("&amp;"),
            ("html", '<') => out.push_str("&lt;"),
            ("html", '>') => out.push_str("&gt;"),
            ("html", '"') => out.push_str("&quot;"),
            ("html", '\'') => out.push_str("&#39;"),
            ("json", '"') => out.push_str("\\\""),
            ("json", '\\') => out.push_str("\\\\"),
            ("json", '\n') => out.push_str("\\n"),
            ("json", '\r') => out.push_str("\\r"),
            ("json", '\t') => out.push_str("\\t"),
            ("html" | "json", c) => out.push(c),
            _ => return None,
        }
    }
    Some(out)
}

fn unescape(s: &str, target: &str) -> Option<String> {
    Some(match target {
        "html" => s
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&apos;", "'")
            .replace("&amp;", "&"),
        "json" => {
            let mut out = String::new();
            let mut chars = s.chars();
            while let Some(c) = chars.next() {
                if c != '\\' {
                    out.push(c);
                    continue;
                }
                match chars.next() {
                    Some('n') => out.push('\n'),
                    Some('r') => out.push('\r'),
                    Some('t') => out.push('\t'),
                    Some(q @ ('"' | '\\' | '/')) => out.push(q),
                    // Not an escape: keep the backslash.
                    Some(other) => {
                        out.push('\\');
                        out.push(other);
                    }
                    None => out.push('\\'),
                }
            }
            out
        }
        _ => return None,
    })
}

pub(super) fn call<'a>(c: &Call<'_, '_, '_, 'a>, name: &str) -> Option<R<'a>> {
    if !matches!(name, "encode" | "decode" | "escape" | "unescape") {
        return None;
    }
    Some((|| {
        let (Some(input), Some(format)) = (c.single_str()?, c.str_arg(0)?) else {
            return Ok(coll![]);
        };
        if name == "decode" && format == "hex" && input.len() & 1 == 1 {
            return Err(c.err("hex text must have an even number of digits"));
        }
        let out = match (name, &*format) {
            ("encode", "base64") => Some(base64_encode(input.as_bytes(), B64)),
            ("encode", "urlbase64") => Some(base64_encode(input.as_bytes(), B64URL)),
            ("encode", "hex") => Some(input.bytes().map(|b| format!("{b:02x}")).collect()),
            ("decode", "base64") => {
                base64_decode(&input, B64).and_then(|b| String::from_utf8(b).ok())
            }
            ("decode", "urlbase64") => {
                base64_decode(&input, B64URL).and_then(|b| String::from_utf8(b).ok())
            }
            ("decode", "hex") => hex_decode(&input).and_then(|b| String::from_utf8(b).ok()),
            ("escape", t) => escape(&input, t),
            ("unescape", t) => unescape(&input, t),
            _ => None,
        };
        Ok(out.map(Item::String).into_iter().collect())
    })())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for s in ["", "t", "te", "tes", "test", "subjects?_d"] {
            assert_eq!(
                base64_decode(&base64_encode(s.as_bytes(), B64), B64).unwrap(),
                s.as_bytes()
            );
        }
        assert_eq!(base64_encode(b"subjects?_d", B64URL), "c3ViamVjdHM_X2Q=");
        assert_eq!(hex_decode("74657374").unwrap(), b"test");
        assert_eq!(escape("\"1<2\"", "html").unwrap(), "&quot;1&lt;2&quot;");
        assert_eq!(unescape("\\\"1<2\\\"", "json").unwrap(), "\"1<2\"");
    }
}
