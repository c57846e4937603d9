//! FHIR additions (FHIR R4 §2.6.3 / fhirpath.html): extension, hasValue,
//! getValue, resolve, memberOf, conformsTo, htmlChecks.

use super::{coll, Coll};
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
        "checkModifiers" => Ok(Coll::from(c.inp)),
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
/// delimiters are ASCII, so a byte scan is UTF-8 safe; quoted values (long
/// `style` attributes) are skipped with one memchr each.
fn tag_end(s: &str) -> Option<usize> {
    // `str::find` with an ASCII char is a memchr; positions found are
    // ASCII bytes, hence char boundaries.
    let find = |c: char, from: usize| s[from..].find(c).map(|p| p + from);
    let mut from = 0;
    loop {
        let gt = find('>', from)?;
        match s.as_bytes()[from..gt]
            .iter()
            .position(|&c| c == b'"' || c == b'\'')
        {
            None => return Some(gt),
            Some(q) => {
                let open = from + q;
                from = find(char::from(s.as_bytes()[open]), open + 1)? + 1;
            }
        }
    }
}

/// Whether `name` (any case) is in [`ALLOWED`]: a binary search for the
/// lower-cased name, as narratives hold thousands of tags.
fn allowed_element(name: &str) -> bool {
    let mut buf = [0u8; 16];
    let Some(lower) = buf.get_mut(..name.len()) else {
        return false; // longer than every allowed name
    };
    lower.copy_from_slice(name.as_bytes());
    lower.make_ascii_lowercase();
    std::str::from_utf8(lower).is_ok_and(|l| ALLOWED.binary_search(&l).is_ok())
}

/// txt-1 and txt-2: only allowed elements, no scripting attributes, and
/// some non-whitespace text (or an image).
pub(crate) fn html_ok(x: &str) -> bool {
    let mut rest = x;
    let mut has_content = false;
    while let Some(lt) = rest.find('<') {
        if !has_content && !rest[..lt].trim().is_empty() {
            has_content = true;
        }
        rest = &rest[lt + 1..];
        if let Some(r) = rest.strip_prefix("!--") {
            match r.find("-->") {
                Some(e) => rest = &r[e + 3..],
                None => return false,
            }
            continue;
        }
        let Some(gt) = tag_end(rest) else {
            return false;
        };
        let tag = &rest[..gt];
        rest = &rest[gt + 1..];
        if tag.starts_with('/') || tag.starts_with('?') || tag.starts_with('!') {
            continue;
        }
        let tag = tag.trim_end_matches('/');
        let name_end = tag.find(char::is_whitespace).unwrap_or(tag.len());
        let name = &tag[..name_end];
        let name = match name.get(..6) {
            Some(p) if p.eq_ignore_ascii_case("xhtml:") => &name[6..],
            _ => name,
        };
        if !allowed_element(name) {
            return false;
        }
        if name.eq_ignore_ascii_case("img") {
            has_content = true;
        }
        if !attributes_ok(&tag[name_end..]) {
            return false;
        }
    }
    if !rest.trim().is_empty() {
        has_content = true;
    }
    has_content
}

/// No event handlers (`on*`) and no `javascript:` URLs.
fn attributes_ok(attrs: &str) -> bool {
    let mut rest = attrs.trim_start();
    while !rest.is_empty() {
        let name_end = rest
            .find(|c: char| c == '=' || c.is_whitespace())
            .unwrap_or(rest.len());
        let name = &rest[..name_end];
        rest = rest[name_end..].trim_start();
        let mut value = "";
        if let Some(r) = rest.strip_prefix('=') {
            let r = r.trim_start();
            match r.chars().next() {
                Some(q @ ('"' | '\'')) => {
                    let end = r[1..].find(q).map(|e| e + 1).unwrap_or(r.len());
                    value = &r[1..end];
                    rest = r.get(end + 1..).unwrap_or("");
                }
                _ => {
                    let end = r.find(char::is_whitespace).unwrap_or(r.len());
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
    }
}
