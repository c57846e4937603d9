//! The narrative rules txt-1 and txt-2 (`htmlChecks()`): only allowed
//! elements, no scripting attributes, and some non-whitespace text (or an
//! image). Narratives are most of a SHIN-NY bundle's bytes, so this is a
//! byte scan; `tests` compares it with the first implementation (kept
//! there as the oracle) on the SHIN-NY narratives and mutations of them.

use std::sync::LazyLock;

/// Elements allowed in narrative (HTML 4 basic formatting, links, images,
/// tables), sorted.
const ALLOWED: &[&str] = &[
    "a",
    "abbr",
    "acronym",
    "address",
    "area",
    "b",
    "bdo",
    "big",
    "blockquote",
    "br",
    "caption",
    "center",
    "cite",
    "code",
    "col",
    "colgroup",
    "dd",
    "dfn",
    "div",
    "dl",
    "dt",
    "em",
    "font",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "kbd",
    "label",
    "li",
    "map",
    "ol",
    "p",
    "pre",
    "q",
    "s",
    "samp",
    "small",
    "span",
    "strike",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "tt",
    "u",
    "ul",
    "var",
];

/// Where a tag ends: the first `>` outside a quoted attribute value. All
/// delimiters are ASCII, so a byte scan is UTF-8 safe (an ASCII byte never
/// occurs inside a multi-byte character). Tags are short: a plain loop,
/// and memchr only for quoted values (styles and links run long).
fn tag_end(s: &[u8]) -> Option<usize> {
    let mut i = 0;
    while let Some(&c) = s.get(i) {
        match c {
            b'>' => return Some(i),
            b'"' | b'\'' => i += 1 + memchr::memchr(c, &s[i + 1..])? + 1,
            _ => i += 1,
        }
    }
    None
}

/// An element name of one to eight bytes as an integer: its bytes
/// lower-cased, little-endian, with its length (so that a name with a NUL
/// byte differs from a shorter one); `None` for other lengths.
fn pack(name: &[u8]) -> Option<(u64, u8)> {
    if name.is_empty() || name.len() > 8 {
        return None;
    }
    let mut x = 0u64;
    for (i, c) in name.iter().enumerate() {
        x |= u64::from(c.to_ascii_lowercase()) << (8 * i);
    }
    Some((x, name.len() as u8))
}

/// Slots of [`ALLOWED_TABLE`]: a power of two, at least twice the names.
const SLOTS: usize = 128;

/// The first slot of a packed name in [`ALLOWED_TABLE`].
fn slot((x, len): (u64, u8)) -> usize {
    ((x ^ u64::from(len)).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 57) as usize & (SLOTS - 1)
}

/// The allowed names of up to eight bytes, packed, in an open-addressed
/// table (length 0 marks a free slot): narratives hold thousands of tags,
/// and a look-up then mostly compares one integer.
static ALLOWED_TABLE: LazyLock<[(u64, u8); SLOTS]> = LazyLock::new(|| {
    let mut t = [(0, 0); SLOTS];
    for p in ALLOWED.iter().filter_map(|n| pack(n.as_bytes())) {
        let mut i = slot(p);
        while t[i].1 != 0 {
            i = (i + 1) & (SLOTS - 1);
        }
        t[i] = p;
    }
    t
});

/// Whether `name` (any case) is in [`ALLOWED`]. Inlined into the scan: a
/// call per start tag cost more than the look-up.
#[inline(always)]
fn allowed_element(name: &[u8]) -> bool {
    let Some(p) = pack(name) else {
        // Longer names are few (`blockquote`).
        return name.len() > 8
            && ALLOWED
                .iter()
                .any(|a| a.as_bytes().eq_ignore_ascii_case(name));
    };
    let t = &*ALLOWED_TABLE;
    let mut i = slot(p);
    loop {
        match t[i] {
            q if q == p => return true,
            (_, 0) => return false,
            _ => i = (i + 1) & (SLOTS - 1),
        }
    }
}

/// Byte classes for the scan: [`WS`] and [`PLAIN`] bits by byte.
static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 0x80 {
        let b = c as u8;
        t[c] = if matches!(b, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r') {
            WS
        } else if matches!(b, b'>' | b'/' | b'=' | b'"' | b'\'' | b'<') {
            0
        } else {
            PLAIN
        };
        c += 1;
    }
    t
};
const WS: u8 = 1;
const PLAIN: u8 = 2;

/// `char::is_whitespace` for an ASCII byte (it includes vertical tab,
/// which `u8::is_ascii_whitespace` does not).
#[inline]
fn ascii_ws(b: u8) -> bool {
    CLASS[b as usize] & WS != 0
}

/// The first position at or after `i` (a character boundary) that is not
/// whitespace, byte by byte while ASCII.
#[inline]
fn skip_ws(s: &str, mut i: usize) -> usize {
    let b = s.as_bytes();
    while let Some(&c) = b.get(i) {
        if c >= 0x80 {
            return skip_ws_unicode(s, i);
        }
        if !ascii_ws(c) {
            return i;
        }
        i += 1;
    }
    i
}

/// [`skip_ws`] from a non-ASCII character on (Unicode whitespace).
#[cold]
#[inline(never)]
fn skip_ws_unicode(s: &str, i: usize) -> usize {
    s.len() - s[i..].trim_start().len()
}

/// The first position in `s` (from `from`, a character boundary) of
/// whitespace or of a byte for which `stop` holds; ASCII is judged byte by
/// byte, and from the first non-ASCII character on the scan decodes
/// characters (Unicode whitespace).
#[inline]
fn find_ws_or(s: &str, from: usize, stop: impl Fn(u8) -> bool) -> Option<usize> {
    let b = s.as_bytes();
    for i in from..b.len() {
        match b[i] {
            c if c < 0x80 => {
                if ascii_ws(c) || stop(c) {
                    return Some(i);
                }
            }
            // A lead byte: `i` is a character boundary.
            _ => {
                return s[i..]
                    .find(|c: char| c.is_whitespace() || (c.is_ascii() && stop(c as u8)))
                    .map(|p| p + i)
            }
        }
    }
    None
}

/// The first position of `c` in `b` at or after `from`. The text between
/// two tags is mostly empty or short: the next eight bytes are tested as
/// one word first (the lowest flagged byte of the mask is exactly the
/// first match), memchr searches what runs longer.
#[inline]
fn find_byte(b: &[u8], from: usize, c: u8) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let rest = b.get(from..)?;
    let Some(word) = rest.first_chunk::<8>() else {
        return memchr::memchr(c, rest).map(|p| from + p);
    };
    let x = u64::from_le_bytes(*word) ^ (ONES * u64::from(c));
    let hits = x.wrapping_sub(ONES) & !x & HIGH;
    if hits != 0 {
        return Some(from + (hits.trailing_zeros() / 8) as usize);
    }
    memchr::memchr(c, &rest[8..]).map(|p| from + 8 + p)
}

/// txt-1 and txt-2: only allowed elements, no scripting attributes, and
/// some non-whitespace text (or an image). Narratives are most of a
/// SHIN-NY bundle's bytes and hold thousands of short tags, so this is a
/// byte scan by positions (no sub-slices re-checked at every step), with
/// memchr only where runs can be long (text, quoted values, comments).
pub(crate) fn html_ok(x: &str) -> bool {
    let b = x.as_bytes();
    let mut at = 0;
    let mut has_content = false;
    // Tags often follow each other directly (`</b><a`).
    while let Some(lt) = find_byte(b, at, b'<') {
        if !has_content && skip_ws(x, at) < lt {
            has_content = true;
        }
        at = lt + 1;
        if b.get(at) == Some(&b'!') && b[at..].starts_with(b"!--") {
            match memchr::memmem::find(&b[at + 3..], b"-->") {
                Some(e) => at += 3 + e + 3,
                None => return false,
            }
            continue;
        }
        match read_tag(b, at) {
            Some(Tag::Ok { end, img }) => {
                at = end;
                has_content |= img;
                continue;
            }
            Some(Tag::Rejected) => return false,
            None => {}
        }
        let Some(gt) = tag_end(&b[at..]) else {
            return false;
        };
        let (tag_start, tag_stop) = (at, at + gt);
        at = tag_stop + 1;
        if matches!(b.get(tag_start), Some(b'/' | b'?' | b'!')) {
            continue;
        }
        // `<br/>`: the name and attributes end before trailing slashes.
        let mut stop = tag_stop;
        while stop > tag_start && b[stop - 1] == b'/' {
            stop -= 1;
        }
        let tag = &x[tag_start..stop];
        let name_end = find_ws_or(tag, 0, |_| false).unwrap_or(tag.len());
        let name = &tag.as_bytes()[..name_end];
        let name = match name.get(..6) {
            Some(p) if p.eq_ignore_ascii_case(b"xhtml:") => &name[6..],
            _ => name,
        };
        if !allowed_element(name) {
            return false;
        }
        if name.eq_ignore_ascii_case(b"img") {
            has_content = true;
        }
        if !attributes_ok(tag, name_end) {
            return false;
        }
    }
    if !has_content && skip_ws(x, at) < x.len() {
        has_content = true;
    }
    has_content
}

/// What [`read_tag`] made of a tag.
enum Tag {
    /// Allowed, ending before `end`; `img` when it is an image.
    Ok {
        end: usize,
        img: bool,
    },
    Rejected,
}

/// A byte that can be part of an element or attribute name, or of an
/// unquoted value, in the one-pass reading of a tag.
#[inline]
fn plain(c: u8) -> bool {
    CLASS[c as usize] & PLAIN != 0
}

/// A tag from `at` (after its `<`) read in one pass: a start tag's name,
/// attributes and end together, quoted values skipped once; a plain
/// closing tag (`</p>`, nothing in it is checked) to its end. `None` for
/// whatever it does not read (other closing tags, declarations,
/// non-ASCII or stray quotes and slashes, an unterminated quote): the
/// general reading, which finds the tag's end first, decides those, so
/// the answers are the same.
#[inline]
fn read_tag(b: &[u8], at: usize) -> Option<Tag> {
    match b.get(at) {
        Some(b'!' | b'?') => return None, // declarations and processing instructions
        Some(b'/') => {
            let mut i = at + 1;
            while b.get(i).copied().is_some_and(plain) {
                i += 1;
            }
            return (b.get(i) == Some(&b'>')).then_some(Tag::Ok {
                end: i + 1,
                img: false,
            });
        }
        _ => {}
    }
    let mut i = at;
    while b.get(i).copied().is_some_and(plain) {
        i += 1;
    }
    let name = &b[at..i];
    if name.is_empty() {
        return None;
    }
    let name = match name.get(..6) {
        Some(p) if p.eq_ignore_ascii_case(b"xhtml:") => &name[6..],
        _ => name,
    };
    let img = name.eq_ignore_ascii_case(b"img");
    let verdict = |end: usize| {
        Some(if allowed_element(name) {
            Tag::Ok { end, img }
        } else {
            Tag::Rejected
        })
    };
    let mut rejected = false;
    loop {
        while b.get(i).copied().is_some_and(ascii_ws) {
            i += 1;
        }
        match *b.get(i)? {
            b'>' => {
                return if rejected {
                    Some(Tag::Rejected)
                } else {
                    verdict(i + 1)
                }
            }
            b'/' => {
                // Only trailing slashes: `<br/>`.
                while b.get(i) == Some(&b'/') {
                    i += 1;
                }
                if b.get(i) != Some(&b'>') {
                    return None;
                }
                continue;
            }
            c if plain(c) => {}
            _ => return None,
        }
        // An attribute: its name, then `=` and a value or nothing.
        let name_at = i;
        while b.get(i).copied().is_some_and(plain) {
            i += 1;
        }
        rejected |= starts_ci(&b[name_at..i], b"on");
        while b.get(i).copied().is_some_and(ascii_ws) {
            i += 1;
        }
        if b.get(i) != Some(&b'=') {
            continue;
        }
        i += 1;
        while b.get(i).copied().is_some_and(ascii_ws) {
            i += 1;
        }
        let value = match *b.get(i)? {
            q @ (b'"' | b'\'') => {
                let from = i + 1;
                let end = from + memchr::memchr(q, &b[from..])?;
                i = end + 1;
                &b[from..end]
            }
            c if plain(c) => {
                let from = i;
                while b.get(i).copied().is_some_and(plain) {
                    i += 1;
                }
                if b.get(i)
                    .is_some_and(|&c| c == b'/' || !(ascii_ws(c) || c == b'>'))
                {
                    return None;
                }
                &b[from..i]
            }
            _ => return None,
        };
        let mut v = 0;
        while value.get(v).copied().is_some_and(ascii_ws) {
            v += 1;
        }
        if value.get(v).is_some_and(|&c| c >= 0x80) {
            return None; // Unicode whitespace may lead the value
        }
        rejected |= starts_ci(&value[v..], b"javascript:");
    }
}

/// Whether `s` starts with ASCII `p`, in any case.
fn starts_ci(s: &[u8], p: &[u8]) -> bool {
    s.get(..p.len()).is_some_and(|h| h.eq_ignore_ascii_case(p))
}

/// The attributes of `tag` from position `from`: no event handlers (`on*`)
/// and no `javascript:` URLs.
fn attributes_ok(tag: &str, from: usize) -> bool {
    let b = tag.as_bytes();
    let mut i = skip_ws(tag, from);
    while i < b.len() {
        // Every round consumes text; should one not (a scanning helper
        // broken by a later change), the tag is rejected instead of the
        // loop spinning.
        let before = i;
        let name_end = find_ws_or(tag, i, |c| c == b'=').unwrap_or(b.len());
        let name = &b[i..name_end];
        i = skip_ws(tag, name_end);
        // The value: quoted up to its quote (or the end), else up to
        // whitespace; empty without `=`.
        let (mut value, mut value_end) = (i, i);
        if b.get(i) == Some(&b'=') {
            i = skip_ws(tag, i + 1);
            match b.get(i) {
                Some(&q @ (b'"' | b'\'')) => {
                    value = i + 1;
                    value_end = memchr::memchr(q, &b[value..]).map_or(b.len(), |e| value + e);
                    i = (value_end + 1).min(b.len());
                }
                _ => {
                    value = i;
                    value_end = find_ws_or(tag, i, |_| false).unwrap_or(b.len());
                    i = value_end;
                }
            }
        }
        let value = &b[skip_ws(tag, value).min(value_end)..value_end];
        if starts_ci(name, b"on") || starts_ci(value, b"javascript:") {
            return false;
        }
        i = skip_ws(tag, i);
        if i == before {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests;
