//! FHIR additions (FHIR R4 §2.6.3 / fhirpath.html): extension, hasValue,
//! getValue, resolve, memberOf, conformsTo, htmlChecks.

use super::{coll, copy_coll, Coll};
use super::{typed_root, Call, R};
use crate::fhirpath::host::ResolveContext;
use crate::fhirpath::value::Item;
use crate::json::Node;

pub(super) fn call<'a>(c: &Call<'_, '_, '_, 'a>, name: &str) -> Option<R<'a>> {
    Some(match name {
        "extension" => (|| {
            let url = c.str_arg(0)?;
            let exts = c.ev.navigate(c.inp, "extension", c.pos)?;
            Ok(match url {
                None => coll![],
                Some(u) => exts
                    .into_iter()
                    .filter(|e| {
                        e.json().and_then(|n| n.get("url")).and_then(Node::as_str) == Some(&*u)
                    })
                    .collect(),
            })
        })(),
        "hasValue" => Ok(coll![Item::Boolean(match c.inp {
            [Item::Node(n)] => n
                .node
                .is_some_and(|v| v.as_object().is_none() && v.as_array().is_none()),
            [] | [Item::Quantity(_)] => false,
            [_] => true,
            _ => false,
        })]),
        "getValue" => Ok(match c.inp {
            [one @ Item::Node(n)] if n.node.is_some_and(|v| v.as_object().is_none()) => {
                one.to_system().into_iter().collect()
            }
            [Item::Node(_)] | [Item::Quantity(_)] => coll![],
            [one] => coll![one.clone()],
            _ => coll![],
        }),
        "resolve" => {
            let ctx = ResolveContext {
                resource: c.ev.input.resource,
                root: c.ev.input.root_resource,
                bundle: c.ev.input.bundle,
            };
            let mut out = Coll::new();
            for it in c.inp {
                let r = match it.to_system() {
                    Some(Item::String(s)) => Some(s),
                    _ => it
                        .json()
                        .and_then(|n| n.get("reference"))
                        .and_then(Node::as_str)
                        .map(str::to_string),
                };
                if let Some(r) = r {
                    if let Some(found) = c.ev.host.resolve(&r, &ctx) {
                        out.push(typed_root(found));
                    }
                }
            }
            Ok(out)
        }
        "memberOf" => (|| {
            let Some(url) = c.str_arg(0)? else {
                return Ok(coll![]);
            };
            // Several codes: true if any is a member, false if none is,
            // empty when the host cannot tell.
            let mut any_unknown = false;
            for it in c.inp {
                match c.ev.host.member_of(it, &url) {
                    Some(true) => return Ok(coll![Item::Boolean(true)]),
                    Some(false) => {}
                    None => any_unknown = true,
                }
            }
            Ok(if c.inp.is_empty() || any_unknown {
                coll![]
            } else {
                coll![Item::Boolean(false)]
            })
        })(),
        "conformsTo" => (|| {
            let Some(url) = c.str_arg(0)? else {
                return Ok(coll![]);
            };
            let mut out = Coll::new();
            for it in c.inp {
                let v = match c.ev.host.conforms_to(it, &url) {
                    Some(v) => v,
                    None => match url.strip_prefix("http://hl7.org/fhir/StructureDefinition/") {
                        Some(t) if c.ev.model.is_none_or(|m| m.is_type(t)) => match it {
                            Item::Node(n) => match c.ev.model {
                                Some(m) => m.is_subtype(&n.type_name, t),
                                None => &*n.type_name == t,
                            },
                            _ => false,
                        },
                        _ => return Err(c.err(format!("cannot check conformance to {url}"))),
                    },
                };
                out.push(Item::Boolean(v));
            }
            Ok(out)
        })(),
        "subsumes" | "subsumedBy" => (|| {
            let other = c.arg(0)?;
            Ok(match (c.inp, other.as_slice()) {
                ([a], [b]) => {
                    let (x, y) = if name == "subsumes" { (a, b) } else { (b, a) };
                    c.ev.host
                        .subsumes(x, y)
                        .map(Item::Boolean)
                        .into_iter()
                        .collect()
                }
                ([], _) | (_, []) => coll![],
                _ => return Err(c.err(format!("{name}() needs single items"))),
            })
        })(),
        "htmlChecks" => Ok(match c.inp {
            [] => coll![],
            [one] => coll![Item::Boolean(one.as_system_str().is_some_and(html_ok))],
            _ => coll![Item::Boolean(false)],
        }),
        "checkModifiers" => Ok(copy_coll(c.inp)),
        _ => return None,
    })
}

/// Elements allowed in narrative (HTML 4 basic formatting, links, images,
/// tables), sorted for binary search.
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
/// occurs inside a multi-byte character).
fn tag_end(s: &[u8]) -> Option<usize> {
    let mut from = 0;
    loop {
        let rel = memchr::memchr3(b'>', b'"', b'\'', &s[from..])?;
        let at = from + rel;
        match s[at] {
            b'>' => return Some(at),
            q => from = at + 1 + memchr::memchr(q, &s[at + 1..])? + 1,
        }
    }
}

/// Whether `name` (any case) is in [`ALLOWED`]: a binary search for the
/// lower-cased name, as narratives hold thousands of tags.
fn allowed_element(name: &[u8]) -> bool {
    let mut buf = [0u8; 16];
    let Some(lower) = buf.get_mut(..name.len()) else {
        return false; // longer than every allowed name
    };
    lower.copy_from_slice(name);
    lower.make_ascii_lowercase();
    ALLOWED
        .binary_search_by(|a| a.as_bytes().cmp(lower))
        .is_ok()
}

/// `char::is_whitespace` for an ASCII byte (it includes vertical tab,
/// which `u8::is_ascii_whitespace` does not).
fn ascii_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r')
}

/// The first position in `s` (from `from`) of whitespace or of a byte
/// for which `stop` holds; ASCII is judged byte by byte, and from the
/// first non-ASCII character on the scan decodes characters (Unicode
/// whitespace).
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

/// txt-1 and txt-2: only allowed elements, no scripting attributes, and
/// some non-whitespace text (or an image). Narratives are most of a
/// SHIN-NY bundle's bytes, so this is a byte scan with memchr.
pub(crate) fn html_ok(x: &str) -> bool {
    let b = x.as_bytes();
    let mut at = 0;
    let mut has_content = false;
    while let Some(rel) = memchr::memchr(b'<', &b[at..]) {
        let lt = at + rel;
        if !has_content && !x[at..lt].trim().is_empty() {
            has_content = true;
        }
        at = lt + 1;
        if b[at..].starts_with(b"!--") {
            match memchr::memmem::find(&b[at + 3..], b"-->") {
                Some(e) => at += 3 + e + 3,
                None => return false,
            }
            continue;
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
        if !attributes_ok(&tag[name_end..]) {
            return false;
        }
    }
    if !has_content && !x[at..].trim().is_empty() {
        has_content = true;
    }
    has_content
}

/// No event handlers (`on*`) and no `javascript:` URLs.
fn attributes_ok(attrs: &str) -> bool {
    let mut rest = attrs.trim_start();
    while !rest.is_empty() {
        let name_end = find_ws_or(rest, 0, |c| c == b'=').unwrap_or(rest.len());
        let name = &rest[..name_end];
        rest = rest[name_end..].trim_start();
        let mut value = "";
        if let Some(r) = rest.strip_prefix('=') {
            let r = r.trim_start();
            match r.as_bytes().first() {
                Some(&q @ (b'"' | b'\'')) => {
                    let end = memchr::memchr(q, &r.as_bytes()[1..])
                        .map(|e| e + 1)
                        .unwrap_or(r.len());
                    value = &r[1..end];
                    rest = r.get(end + 1..).unwrap_or("");
                }
                _ => {
                    let end = find_ws_or(r, 0, |_| false).unwrap_or(r.len());
                    value = &r[..end];
                    rest = &r[end..];
                }
            }
        }
        let starts_with =
            |s: &str, p: &str| s.get(..p.len()).is_some_and(|h| h.eq_ignore_ascii_case(p));
        if starts_with(name, "on") || starts_with(value.trim_start(), "javascript:") {
            return false;
        }
        rest = rest.trim_start();
    }
    true
}

#[cfg(test)]
mod tests {
    use super::{html_ok, ALLOWED};

    #[test]
    fn allowed_elements_are_sorted_for_binary_search() {
        assert!(ALLOWED.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn narrative_rules() {
        let ok = |x: &str| html_ok(x);
        assert!(ok(
            r#"<div xmlns="http://www.w3.org/1999/xhtml">Hello</div>"#
        ));
        assert!(ok(r#"<DIV><TD>x</TD><Span>y</Span></DIV>"#));
        assert!(ok(r#"<xhtml:div>text</xhtml:div>"#));
        assert!(ok(r#"<div><img src="a.png"/></div>"#));
        // A `>` inside a quoted attribute value does not end the tag.
        assert!(ok(r#"<div title="a > b" class='c>d'>x</div>"#));
        assert!(ok(r#"<div><!-- <script> -->x</div>"#));
        assert!(ok(r#"<div><blockquote>x</blockquote><colgroup/></div>"#));
        // Not allowed elements, scripting, no content.
        assert!(!ok(r#"<div><script>alert(1)</script></div>"#));
        assert!(!ok(r#"<div><object/>x</div>"#));
        assert!(!ok(r#"<div><averyveryverylongelementname/>x</div>"#));
        assert!(!ok(r#"<div onclick="x()">x</div>"#));
        assert!(!ok(r#"<div><a href=" javascript:x()">x</a></div>"#));
        assert!(!ok("<div>  \n </div>"));
        assert!(!ok("<div><!-- unterminated </div>"));
        assert!(!ok(r#"<div title="unterminated>x</div>"#));
        // Whitespace as `char::is_whitespace` has it: vertical tab and
        // no-break space separate a name from its attributes.
        assert!(ok("<div\u{b}class=\"a\">x</div>"));
        assert!(ok("<div\u{a0}class=\"a\">x</div>"));
        assert!(!ok("<div\u{a0}onload=\"a\">x</div>"));
        assert!(!ok("<div>\u{a0}\u{b}</div>"));
        assert!(ok("<p>caf\u{e9}</p><br/><br />"));
    }
}
