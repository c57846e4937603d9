use super::{allowed_element, html_ok, pack, ALLOWED};

#[test]
fn packed_names_are_distinct_and_found() {
    // Names past eight bytes are compared as text.
    let short = ALLOWED.iter().filter(|n| n.len() <= 8);
    let mut packed: Vec<(u64, u8)> = short.clone().map(|n| pack(n.as_bytes()).unwrap()).collect();
    packed.sort_unstable();
    packed.dedup();
    assert_eq!(packed.len(), short.count());
    assert!(ALLOWED.iter().any(|n| n.len() > 8));
    for n in ALLOWED {
        assert!(allowed_element(n.as_bytes()), "{n}");
        assert!(allowed_element(n.to_uppercase().as_bytes()), "{n}");
    }
    assert!(!allowed_element(b""));
    assert!(!allowed_element(b"a\0"));
    assert!(!allowed_element(b"scripts"));
    assert!(!allowed_element(b"averyveryverylongname"));
    assert!(!allowed_element(b"blockquot"));
    assert!(!allowed_element(b"blockquotes"));
    assert!(allowed_element(b"BlockQuote"));
    // Every name of one or two letters or digits, and each allowed name
    // with its last letter changed: found exactly when listed.
    let chars: Vec<u8> = (b'a'..=b'z').chain(b'0'..=b'9').collect();
    let mut names: Vec<Vec<u8>> = chars.iter().map(|&c| vec![c]).collect();
    for &a in &chars {
        names.extend(chars.iter().map(|&b| vec![a, b]));
    }
    for n in ALLOWED {
        for &c in &chars {
            let mut v = n.as_bytes().to_vec();
            *v.last_mut().unwrap() = c;
            names.push(v);
        }
    }
    for n in names {
        let listed = ALLOWED.iter().any(|a| a.as_bytes() == n.as_slice());
        assert_eq!(
            allowed_element(&n),
            listed,
            "{}",
            String::from_utf8_lossy(&n)
        );
    }
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

/// The scan gives the first implementation's answers on every narrative of
/// the SHIN-NY examples and on mutations of them that insert the tokens
/// the rules turn on.
#[test]
fn agrees_with_the_first_implementation() {
    let dir = "../../shared/fhir-packages/us.ny.hrsn#1.9.4/package/example";
    let mut divs = Vec::new();
    fn collect(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                if let Some(serde_json::Value::String(d)) = m.get("div") {
                    out.push(d.clone());
                }
                m.values().for_each(|x| collect(x, out));
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| collect(x, out)),
            _ => {}
        }
    }
    for p in std::fs::read_dir(dir).expect("examples") {
        let p = p.unwrap().path();
        if p.extension().is_some_and(|e| e == "json") {
            let v: serde_json::Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
            collect(&v, &mut divs);
        }
    }
    assert!(divs.len() > 100, "{} narratives", divs.len());
    const TOKENS: [&str; 32] = [
        "<",
        ">",
        "\"",
        "'",
        "/",
        "<!--",
        "-->",
        " ",
        "\u{b}",
        "\u{a0}",
        " onclick=\"x\"",
        "javascript:",
        "<script>",
        "<IMG src='a'/>",
        "<xhtml:p>",
        "=",
        "\u{e9}",
        "<br/>",
        "\t",
        "<Object>",
        "href= ' javascript:x'",
        "\u{2003}",
        "<!x>",
        "<?pi?>",
        "<br/ >",
        "<a b/c>",
        " href=x=y",
        " title=a/",
        " alt=\u{e9}",
        "= \u{2003}javascript:",
        "/>",
        " ONload='a'",
    ];
    let mut next = crate::test_rng::xorshift(0x2545_f491_4f6c_dd1du64);
    let (mut checked, mut rejected) = (0, 0);
    for d in &divs {
        assert_eq!(html_ok(d), oracle::html_ok(d), "{d}");
        for _ in 0..60 {
            let mut m = d.clone();
            for _ in 0..1 + next(3) {
                let mut at = next(m.len() + 1);
                while !m.is_char_boundary(at) {
                    at -= 1;
                }
                if next(4) == 0 && at < m.len() {
                    // Delete a character instead.
                    m.remove(at);
                } else {
                    m.insert_str(at, TOKENS[next(TOKENS.len())]);
                }
            }
            let want = oracle::html_ok(&m);
            assert_eq!(html_ok(&m), want, "{m}");
            checked += 1;
            rejected += usize::from(!want);
        }
    }
    // The mutations reach both answers.
    assert!(
        rejected > checked / 10 && rejected < checked * 9 / 10,
        "{rejected} of {checked}"
    );
}

/// The first implementation of the narrative rules, kept as the oracle.
mod oracle {
    // The element list is data, shared with the scan.
    use super::super::ALLOWED;

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
    pub(super) fn html_ok(x: &str) -> bool {
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
}
