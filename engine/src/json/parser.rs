//! Recursive-descent JSON parser producing [`Node`] trees with positions.
//!
//! Bounded by design: nesting depth is capped (deeply nested input is a
//! clean error, not a stack overflow) and input must be valid UTF-8.

use super::{Member, Node, Object, Pos, Value};
use compact_str::CompactString;

/// Limits applied while parsing.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Maximum nesting depth of arrays and objects.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        // Real FHIR content (nested Questionnaire items, extensions on
        // extensions) stays well below this.
        Limits { max_depth: 400 }
    }
}

/// Why a document could not be parsed, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at line {}, column {}", pos.line, pos.col)]
pub struct ParseError {
    /// Human-readable reason.
    pub message: String,
    /// Where parsing stopped.
    pub pos: Pos,
}

/// Parses one JSON document with the default [`Limits`].
pub fn parse(input: &[u8]) -> Result<Node, ParseError> {
    parse_with_limits(input, Limits::default())
}

/// Parses one JSON document.
pub fn parse_with_limits(input: &[u8], limits: Limits) -> Result<Node, ParseError> {
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let text = match std::str::from_utf8(input) {
        Ok(t) => t,
        Err(e) => {
            let at = e.valid_up_to();
            let valid = std::str::from_utf8(&input[..at]).unwrap_or_default();
            let mut p = Parser::new(valid, limits);
            p.pos = at; // only to compute line/col
            p.recount_position();
            return Err(ParseError {
                message: "The content is not valid UTF-8".into(),
                pos: p.here(),
            });
        }
    };
    let mut p = Parser::new(text, limits);
    p.skip_ws();
    if p.pos >= p.bytes.len() {
        return Err(p.err("The content is empty; expected a JSON object"));
    }
    let node = p.value(0)?;
    p.skip_ws();
    if p.pos < p.bytes.len() {
        return Err(p.err("Unexpected content after the end of the JSON document"));
    }
    Ok(node)
}

/// Length of the leading run of bytes that need no attention inside a
/// string: not `"`, not `\\`, not a control character. Long narrative
/// and URL strings dominate FHIR JSON, so the quote or backslash that ends
/// a run is found by memchr's vector search, and the run is then checked
/// for control characters (invalid, so rare) eight bytes at a time. Also
/// says whether the run is all ASCII (then its length in bytes is its
/// length in characters, for column numbers).
fn plain_run(bytes: &[u8]) -> (usize, bool) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Keys and codes mostly end within the first word: test it whole. The
    // lowest flagged byte of these masks is exactly the first byte that
    // is special (false flags only appear above a true one).
    if let Some(first) = bytes.first_chunk::<8>() {
        let w = u64::from_le_bytes(*first);
        let below = |x: u64, n: u8| x.wrapping_sub(ONES * u64::from(n)) & !x & HIGH;
        let special = below(w ^ (ONES * u64::from(b'"')), 1)
            | below(w ^ (ONES * u64::from(b'\\')), 1)
            | below(w, 0x20);
        if special != 0 {
            let n = (special.trailing_zeros() / 8) as usize;
            let before = (1u64 << (8 * n)) - 1;
            return (n, w & HIGH & before == 0);
        }
    }
    let end = memchr::memchr2(b'"', b'\\', bytes).unwrap_or(bytes.len());
    let run = &bytes[..end];
    let (control, high) = control_and_high(run);
    if control {
        let end = run.iter().position(|&b| b < 0x20).unwrap_or(end);
        (end, bytes[..end].is_ascii())
    } else {
        (end, !high)
    }
}

/// Whether `run` has a byte below 0x20, and one of 0x80 or above: a word
/// at a time (SWAR), the last word overlapping the one before it.
fn control_and_high(run: &[u8]) -> (bool, bool) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let (mut control, mut high) = (0u64, 0u64);
    // The high bit of some byte is set when that or an earlier byte is
    // below 0x20 (any byte is, exactly when some bit is set).
    let mut add = |w: u64| {
        control |= w.wrapping_sub(ONES * 0x20) & !w;
        high |= w;
    };
    let word = |c: &[u8]| {
        let mut w = [b' '; 8];
        w[..c.len()].copy_from_slice(c);
        u64::from_le_bytes(w)
    };
    if run.len() >= 8 {
        let mut chunks = run.chunks_exact(8);
        for c in &mut chunks {
            add(word(c));
        }
        if !chunks.remainder().is_empty() {
            add(word(&run[run.len() - 8..]));
        }
    } else {
        // Padded with spaces, which are neither.
        add(word(run));
    }
    (control & HIGH != 0, high & HIGH != 0)
}

struct Parser<'a> {
    /// The input, checked as UTF-8 once; `bytes` is the same memory.
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    line: u32,
    col: u32,
    limits: Limits,
    /// Members and items of the objects and arrays being parsed, moved
    /// into an exactly sized Vec when each closes (one allocation per
    /// container instead of one per doubling).
    members: Vec<Member>,
    items: Vec<Node>,
    /// Strings with escapes are assembled here, then copied once at their
    /// exact size (narratives carry thousands of escaped quotes).
    scratch: String,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str, limits: Limits) -> Self {
        Parser {
            text,
            bytes: text.as_bytes(),
            pos: 0,
            line: 1,
            col: 1,
            limits,
            members: Vec::new(),
            items: Vec::new(),
            scratch: String::new(),
        }
    }

    fn recount_position(&mut self) {
        let (mut line, mut col) = (1u32, 1u32);
        for &b in &self.bytes[..self.pos.min(self.bytes.len())] {
            if b == b'\n' {
                line += 1;
                col = 1;
            } else if b & 0xC0 != 0x80 {
                col += 1;
            }
        }
        self.line = line;
        self.col = col;
    }

    fn here(&self) -> Pos {
        Pos {
            line: self.line,
            col: self.col,
        }
    }

    fn err(&self, msg: impl Into<String>) -> ParseError {
        ParseError {
            message: msg.into(),
            pos: self.here(),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// Advances over one ASCII byte that is not a newline.
    fn bump(&mut self) {
        self.pos += 1;
        self.col += 1;
    }

    fn skip_ws(&mut self) {
        loop {
            let rest = self.bytes.get(self.pos..).unwrap_or_default();
            let n = rest
                .iter()
                .take_while(|&&b| matches!(b, b' ' | b'\t' | b'\r'))
                .count();
            self.pos += n;
            self.col += n as u32;
            if rest.get(n) != Some(&b'\n') {
                return;
            }
            self.pos += 1;
            self.line += 1;
            self.col = 1;
        }
    }

    fn expect_literal(&mut self, lit: &[u8], value: Value, pos: Pos) -> Result<Node, ParseError> {
        if self.bytes[self.pos..].starts_with(lit) {
            for _ in 0..lit.len() {
                self.bump();
            }
            Ok(Node { value, pos })
        } else {
            Err(self.err("Invalid JSON value"))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Node, ParseError> {
        let pos = self.here();
        match self.peek() {
            None => Err(self.err("Unexpected end of input; the JSON is truncated")),
            Some(b'{') => self.object(depth + 1, pos),
            Some(b'[') => self.array(depth + 1, pos),
            Some(b'"') => Ok(Node {
                value: Value::String(self.string()?),
                pos,
            }),
            Some(b't') => self.expect_literal(b"true", Value::Bool(true), pos),
            Some(b'f') => self.expect_literal(b"false", Value::Bool(false), pos),
            Some(b'n') => self.expect_literal(b"null", Value::Null, pos),
            Some(b'-' | b'0'..=b'9') => self.number(pos),
            Some(_) => Err(self.err("Invalid JSON value")),
        }
    }

    fn check_depth(&self, depth: usize) -> Result<(), ParseError> {
        if depth > self.limits.max_depth {
            Err(self.err(format!(
                "JSON nesting is deeper than the limit of {}",
                self.limits.max_depth
            )))
        } else {
            Ok(())
        }
    }

    fn object(&mut self, depth: usize, pos: Pos) -> Result<Node, ParseError> {
        self.check_depth(depth)?;
        self.bump(); // {
        let base = self.members.len();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.bump();
            return Ok(Node {
                value: Value::Object(Object::default()),
                pos,
            });
        }
        let mut keys = 0;
        loop {
            self.skip_ws();
            let key_pos = self.here();
            match self.peek() {
                Some(b'"') => {}
                None => return Err(self.err("Unexpected end of input; the JSON is truncated")),
                Some(_) => return Err(self.err("Expected a property name in double quotes")),
            }
            let key = self.string()?;
            keys |= Object::key_summary(key.as_bytes());
            self.skip_ws();
            match self.peek() {
                Some(b':') => self.bump(),
                None => return Err(self.err("Unexpected end of input; the JSON is truncated")),
                Some(_) => return Err(self.err("Expected ':' after the property name")),
            }
            self.skip_ws();
            let value = self.value(depth)?;
            self.members.push(Member {
                key,
                key_pos,
                value,
            });
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.bump(),
                Some(b'}') => {
                    self.bump();
                    let members: Vec<Member> = self.members.split_off(base);
                    return Ok(Node {
                        value: Value::Object(Object::with_summary(members, keys)),
                        pos,
                    });
                }
                None => return Err(self.err("Unexpected end of input; the JSON is truncated")),
                Some(_) => return Err(self.err("Expected ',' or '}' in object")),
            }
        }
    }

    fn array(&mut self, depth: usize, pos: Pos) -> Result<Node, ParseError> {
        self.check_depth(depth)?;
        self.bump(); // [
        let base = self.items.len();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.bump();
            return Ok(Node {
                value: Value::Array(Vec::new()),
                pos,
            });
        }
        loop {
            self.skip_ws();
            let item = self.value(depth)?;
            self.items.push(item);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.bump(),
                Some(b']') => {
                    self.bump();
                    let items: Vec<Node> = self.items.split_off(base);
                    return Ok(Node {
                        value: Value::Array(items),
                        pos,
                    });
                }
                None => return Err(self.err("Unexpected end of input; the JSON is truncated")),
                Some(_) => return Err(self.err("Expected ',' or ']' in array")),
            }
        }
    }

    fn number(&mut self, pos: Pos) -> Result<Node, ParseError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.bump();
        }
        match self.peek() {
            Some(b'0') => self.bump(),
            Some(b'1'..=b'9') => {
                while matches!(self.peek(), Some(b'0'..=b'9')) {
                    self.bump();
                }
            }
            _ => return Err(self.err("Invalid number")),
        }
        if self.peek() == Some(b'.') {
            self.bump();
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.err("Invalid number: expected digits after '.'"));
            }
            while matches!(self.peek(), Some(b'0'..=b'9')) {
                self.bump();
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.bump();
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.bump();
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.err("Invalid number: expected digits in the exponent"));
            }
            while matches!(self.peek(), Some(b'0'..=b'9')) {
                self.bump();
            }
        }
        if matches!(self.peek(), Some(b'0'..=b'9')) {
            return Err(self.err("Invalid number: leading zeros are not allowed"));
        }
        // The slice is ASCII digits and signs, so this cannot fail.
        let text = self.text.get(start..self.pos).unwrap_or("0");
        Ok(Node {
            value: Value::Number(text.into()),
            pos,
        })
    }

    /// Parses a string starting at the opening quote. Short strings are
    /// stored inline (no allocation), which matters for keys and codes.
    fn string(&mut self) -> Result<CompactString, ParseError> {
        self.bump(); // opening quote
        let mut out = std::mem::take(&mut self.scratch);
        out.clear();
        let r = self.string_into(&mut out);
        let r = r.map(|plain| plain.unwrap_or_else(|| CompactString::from(out.as_str())));
        self.scratch = out;
        r
    }

    /// The string after the opening quote: `Some` when it has no escape
    /// (taken straight from the input), else `None` with the text in `out`.
    fn string_into(&mut self, out: &mut String) -> Result<Option<CompactString>, ParseError> {
        loop {
            // Copy the run of plain bytes in one go.
            let start = self.pos;
            let (n, ascii) = plain_run(&self.bytes[start..]);
            self.pos += n;
            // The run starts and stops at ASCII bytes, so it is a valid
            // str slice of the (UTF-8 checked) input.
            let run = self.text.get(start..self.pos).unwrap_or_default();
            self.col += if ascii { n } else { run.chars().count() } as u32;
            if out.is_empty() && self.peek() == Some(b'"') {
                self.bump();
                return Ok(Some(CompactString::from(run)));
            }
            out.push_str(run);
            match self.peek() {
                None => return Err(self.err("Unterminated string; the JSON is truncated")),
                Some(b'"') => {
                    self.bump();
                    return Ok(None);
                }
                Some(b'\\') => {
                    self.bump();
                    self.escape(out)?;
                }
                Some(_) => {
                    return Err(self.err(
                        "Control characters must be escaped in JSON strings (unescaped control character)",
                    ))
                }
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, ParseError> {
        let mut v = 0u32;
        for _ in 0..4 {
            let d = match self.peek() {
                Some(c @ b'0'..=b'9') => c - b'0',
                Some(c @ b'a'..=b'f') => c - b'a' + 10,
                Some(c @ b'A'..=b'F') => c - b'A' + 10,
                _ => return Err(self.err("Invalid \\u escape: expected 4 hex digits")),
            };
            v = v * 16 + d as u32;
            self.bump();
        }
        Ok(v)
    }

    fn escape(&mut self, out: &mut String) -> Result<(), ParseError> {
        let c = match self.peek() {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                self.bump();
                let hi = self.hex4()?;
                let code = if (0xD800..0xDC00).contains(&hi) {
                    if !self.bytes[self.pos..].starts_with(b"\\u") {
                        return Err(self.err("Invalid \\u escape: unpaired surrogate"));
                    }
                    self.bump();
                    self.bump();
                    let lo = self.hex4()?;
                    if !(0xDC00..0xE000).contains(&lo) {
                        return Err(self.err("Invalid \\u escape: unpaired surrogate"));
                    }
                    0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                } else {
                    hi
                };
                match char::from_u32(code) {
                    Some(ch) => {
                        out.push(ch);
                        return Ok(());
                    }
                    None => return Err(self.err("Invalid \\u escape: unpaired surrogate")),
                }
            }
            None => return Err(self.err("Unterminated string; the JSON is truncated")),
            Some(_) => return Err(self.err("Invalid escape sequence in string")),
        };
        self.bump();
        out.push(c);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_and_values() {
        let n = parse(b"{\n  \"a\": [1.50, true, null],\n  \"b\": \"x\\u00e9\"\n}").unwrap();
        let a = n.get("a").unwrap();
        assert_eq!(a.pos, Pos { line: 2, col: 8 });
        assert_eq!(a.as_array().unwrap()[0].as_number(), Some("1.50"));
        assert_eq!(n.get("b").unwrap().as_str(), Some("xé"));
        assert_eq!(n.as_object().unwrap()[1].key_pos, Pos { line: 3, col: 3 });
    }

    #[test]
    fn columns_count_characters() {
        let n = parse("{\"é\": \"ü\", \"k\": 1}".as_bytes()).unwrap();
        assert_eq!(n.get("k").unwrap().pos, Pos { line: 1, col: 17 });
    }

    #[test]
    fn errors_have_positions() {
        let e = parse(b"{\"a\": [1, 2").unwrap_err();
        assert!(e.message.contains("truncated"), "{e}");
        let e = parse(b"{\"a\": tru}").unwrap_err();
        assert_eq!(e.pos, Pos { line: 1, col: 7 });
        let e = parse(b"{\"a\": 01}").unwrap_err();
        assert!(e.message.contains("leading zeros"));
        let e = parse(b"{} x").unwrap_err();
        assert!(e.message.contains("after the end"));
        let e = parse(b"{\"a\": \"\xff\"}").unwrap_err();
        assert!(e.message.contains("UTF-8"));
        assert_eq!(e.pos, Pos { line: 1, col: 8 });
        let e = parse(b"\"\\ud800\"").unwrap_err();
        assert!(e.message.contains("surrogate"));
    }

    #[test]
    fn plain_run_stops_at_quote_backslash_and_control() {
        for (text, want) in [
            ("", 0),
            ("abc", 3),
            ("abcdefghij\"x", 10),
            ("abcdefgh\\", 8),
            ("abcdefghijklmnop\u{1}", 16),
            (
                "héllo wörld, ünïcödé text\"",
                "héllo wörld, ünïcödé text".len(),
            ),
            ("\"", 0),
            ("0123456\n89", 7),
            ("abcdefghijklmnopé\"", "abcdefghijklmnopé".len()),
        ] {
            assert_eq!(plain_run(text.as_bytes()).0, want, "{text:?}");
            assert_eq!(
                plain_run(text.as_bytes()).1,
                text[..want].is_ascii(),
                "{text:?}"
            );
        }
        // Bytes >= 0x80 and every printable ASCII byte but the two are plain.
        let all: Vec<u8> = (0x20u8..=0xff)
            .filter(|b| *b != b'"' && *b != b'\\')
            .collect();
        assert_eq!(plain_run(&all), (all.len(), false));
    }

    /// `plain_run` against its definition, byte by byte, on runs of every
    /// length up to 70 with a special byte (or none) at every place.
    #[test]
    fn plain_run_matches_a_byte_scan() {
        let reference = |b: &[u8]| {
            let n = b
                .iter()
                .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
                .unwrap_or(b.len());
            (n, b[..n].is_ascii())
        };
        for len in 0..70 {
            for at in 0..=len {
                for special in [b'"', b'\\', 0x00, 0x1f, b'\n', 0x20, 0x7f, 0x80, 0xc3] {
                    let mut b = vec![b'a'; len];
                    if at < len {
                        b[at] = special;
                    }
                    // A later non-ASCII byte and a later quote must not matter.
                    b.push(0xe9);
                    b.push(b'"');
                    assert_eq!(plain_run(&b), reference(&b), "{len} {at} {special}");
                }
            }
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = "[".repeat(100_000);
        let e = parse(deep.as_bytes()).unwrap_err();
        assert!(e.message.contains("nesting"));
        let deep = "{\"a\":".repeat(100_000);
        assert!(parse(deep.as_bytes()).is_err());
    }

    #[test]
    fn surrogate_pairs() {
        let n = parse(b"\"\\ud83d\\ude00\"").unwrap();
        assert_eq!(n.as_str(), Some("😀"));
    }
}
