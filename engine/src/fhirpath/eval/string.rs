//! String manipulation (§5.6), plus the 2.1 helpers trim/split/join.

use super::coll;
use super::{Call, R};
use crate::fhirpath::value::Item;
use crate::fhirpath::FhirPathError;
use regex::Regex;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

/// Compiled regexes, shared across evaluations (bounded). Shared through
/// `Arc`: a cloned `Regex` starts a fresh match-cache pool, which costs
/// more than many matches.
static REGEX_CACHE: LazyLock<Mutex<HashMap<String, Arc<Regex>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// Compiles (or fetches) a regex in single-line mode.
pub(crate) fn regex(pattern: &str, pos: usize) -> Result<Arc<Regex>, FhirPathError> {
    let mut cache = REGEX_CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(r) = cache.get(pattern) {
        return Ok(r.clone());
    }
    let r = Arc::new(
        regex::RegexBuilder::new(&format!("(?s){pattern}"))
            .size_limit(1 << 22)
            .build()
            .map_err(|e| FhirPathError::exec(pos, format!("invalid regex: {e}")))?,
    );
    if cache.len() > 1000 {
        cache.clear();
    }
    cache.insert(pattern.to_string(), r.clone());
    Ok(r)
}

/// Applies the optional second argument of `matches()`: `i` (ignore case),
/// `m` (multi-line anchors); single-line mode is always on.
fn with_flags(c: &Call<'_, '_, '_, '_>, pattern: &str) -> Result<String, FhirPathError> {
    let flags = if c.args.len() > 1 {
        c.str_arg(1)?.unwrap_or_default().into_owned()
    } else {
        String::new()
    };
    let mut out = String::new();
    for f in flags.chars() {
        match f {
            'i' | 'm' => out.push_str(&format!("(?{f})")),
            _ => return Err(c.err(format!("unknown regex flag '{f}'"))),
        }
    }
    out.push_str(pattern);
    Ok(out)
}

fn s<'a>(v: String) -> R<'a> {
    Ok(coll![Item::String(v)])
}

pub(super) fn call<'a>(c: &Call<'_, '_, '_, 'a>, name: &str) -> Option<R<'a>> {
    if !matches!(
        name,
        "matchesFull"
            | "lastIndexOf"
            | "indexOf"
            | "substring"
            | "startsWith"
            | "endsWith"
            | "contains"
            | "upper"
            | "lower"
            | "replace"
            | "matches"
            | "replaceMatches"
            | "length"
            | "toChars"
            | "trim"
            | "split"
            | "join"
    ) {
        return None;
    }
    Some((|| {
        let out = string_fn(c, name)?;
        c.ev.check_strings(&out, c.pos)?;
        c.ev.check_size(out.len(), c.pos)?;
        Ok(out)
    })())
}

fn string_fn<'a>(c: &Call<'_, '_, '_, 'a>, name: &str) -> R<'a> {
    {
        if name == "join" {
            let sep = c.str_arg(0)?.unwrap_or_default();
            let mut parts = Vec::new();
            for it in super::strip_nulls(c.inp).iter() {
                let one = std::slice::from_ref(it);
                parts.push(
                    c.ev.singleton_str(one, c.pos)?
                        .unwrap_or_default()
                        .into_owned(),
                );
            }
            if parts.is_empty() && c.inp.is_empty() {
                return Ok(coll![]);
            }
            return s(parts.join(&sep));
        }
        let Some(input) = c.single_str()? else {
            return Ok(coll![]);
        };
        let chars = || input.chars().collect::<Vec<_>>();
        match name {
            "length" => Ok(coll![Item::Integer(input.chars().count() as i64)]),
            "upper" => s(input.to_uppercase()),
            "lower" => s(input.to_lowercase()),
            "trim" => s(input.trim().to_string()),
            "toChars" => Ok(input
                .chars()
                .map(|ch| Item::String(ch.to_string()))
                .collect()),
            "lastIndexOf" => {
                let Some(sub) = c.str_arg(0)? else {
                    return Ok(coll![]);
                };
                Ok(coll![Item::Integer(match input.rfind(&*sub) {
                    Some(i) => input[..i].chars().count() as i64,
                    None => -1,
                })])
            }
            "indexOf" => {
                let Some(sub) = c.str_arg(0)? else {
                    return Ok(coll![]);
                };
                Ok(coll![Item::Integer(match input.find(&*sub) {
                    Some(i) => input[..i].chars().count() as i64,
                    None => -1,
                })])
            }
            "substring" => {
                let Some(start) = c.int_arg(0)? else {
                    return Ok(coll![]);
                };
                let cs = chars();
                if start < 0 || start as usize >= cs.len() {
                    return Ok(coll![]);
                }
                let len = match c.args.len() {
                    1 => cs.len(),
                    _ => match c.int_arg(1)? {
                        Some(l) => l.max(0) as usize,
                        None => cs.len(),
                    },
                };
                let start = start as usize;
                let end = start.saturating_add(len).min(cs.len());
                s(cs[start..end].iter().collect())
            }
            "startsWith" | "endsWith" | "contains" => {
                let Some(sub) = c.str_arg(0)? else {
                    return Ok(coll![]);
                };
                Ok(coll![Item::Boolean(match name {
                    "startsWith" => input.starts_with(&*sub),
                    "endsWith" => input.ends_with(&*sub),
                    _ => contains(&input, &sub),
                })])
            }
            "replace" => {
                let (Some(pat), Some(rep)) = (c.str_arg(0)?, c.str_arg(1)?) else {
                    return Ok(coll![]);
                };
                if pat.is_empty() {
                    // Insert the replacement between characters and at both ends.
                    let mut out = rep.to_string();
                    for ch in input.chars() {
                        out.push(ch);
                        out.push_str(&rep);
                    }
                    return s(out);
                }
                s(input.replace(&*pat, &rep))
            }
            "matches" => {
                let Some(pat) = c.str_arg(0)? else {
                    return Ok(coll![]);
                };
                let pat = with_flags(c, &pat)?;
                Ok(coll![Item::Boolean(regex(&pat, c.pos)?.is_match(&input))])
            }
            "matchesFull" => {
                let Some(pat) = c.str_arg(0)? else {
                    return Ok(coll![]);
                };
                let pat = with_flags(c, &format!("^(?:{pat})$"))?;
                Ok(coll![Item::Boolean(regex(&pat, c.pos)?.is_match(&input))])
            }
            "replaceMatches" => {
                let (Some(pat), Some(rep)) = (c.str_arg(0)?, c.str_arg(1)?) else {
                    return Ok(coll![]);
                };
                if pat.is_empty() {
                    return s(input.into_owned());
                }
                s(regex(&pat, c.pos)?.replace_all(&input, &*rep).into_owned())
            }
            "split" => {
                let Some(sep) = c.str_arg(0)? else {
                    return Ok(coll![]);
                };
                let mut out = super::Coll::new();
                split_parts(&input, &sep, |p| {
                    out.push(Item::String(p.to_string()));
                    true
                });
                Ok(out)
            }
            _ => unreachable!("filtered above"),
        }
    }
}

/// Calls `f` on each part of `input` split at `sep` until it answers
/// false. A one-character separator (`reference.split('/')`, the usual
/// case) is searched as a character, which costs less than preparing a
/// substring searcher on every call; the parts are the same.
fn split_parts<'s>(input: &'s str, sep: &str, mut f: impl FnMut(&'s str) -> bool) {
    let mut chars = sep.chars();
    match (chars.next(), chars.next()) {
        (Some(ch), None) => {
            for p in input.split(ch) {
                if !f(p) {
                    return;
                }
            }
        }
        _ => {
            for p in input.split(sep) {
                if !f(p) {
                    return;
                }
            }
        }
    }
}

/// `X.split(sep)[k]` without building the other parts: part `k` of the
/// single string input (`reference.split('/')[1]` in SHIN-NY's
/// referential-integrity rules). `None` when the shape does not allow it
/// (then the caller evaluates the indexer the general way): `k` must be
/// a literal and the input short enough that the general way could not
/// hit the collection size limit.
pub(super) fn split_nth<'a>(c: &Call<'_, '_, '_, 'a>, k: i64) -> Option<R<'a>> {
    if c.args.len() != 1 {
        return None;
    }
    let input = match c.single_str() {
        Ok(Some(s)) => s,
        Ok(None) => return Some(Ok(coll![])),
        Err(e) => return Some(Err(e)),
    };
    if input.len() >= c.ev.env.limits.max_items {
        return None;
    }
    let sep = match c.str_arg(0) {
        Ok(Some(s)) => s,
        Ok(None) => return Some(Ok(coll![])),
        Err(e) => return Some(Err(e)),
    };
    let mut out = super::Coll::new();
    let mut i = 0;
    split_parts(&input, &sep, |p| {
        if i == k {
            out.push(Item::String(p.to_string()));
            return false;
        }
        i += 1;
        true
    });
    Some(Ok(out))
}

/// Substring test. std's `str::contains` prepares a two-way searcher on
/// every call, which costs more than the search itself on short inputs:
/// SHIN-NY's rules test profile URLs (80 bytes) for 30-byte names on every
/// Observation. Inputs under 32 bytes are scanned position by position,
/// longer ones by occurrences of one byte of the needle (memchr): of its
/// first eight and its last, the one rarest in URLs and codes (a `/` or a
/// lower-case `s` occurs all over a profile URL, a `-`, an upper-case
/// letter or a digit seldom). The product bound keeps the worst case
/// small, and beyond it std searches.
fn contains(haystack: &str, needle: &str) -> bool {
    let (h, n) = (haystack.as_bytes(), needle.as_bytes());
    let Some(&first) = n.first() else {
        return true;
    };
    if n.len() > h.len() {
        return false;
    }
    if h.len().saturating_mul(n.len()) > 16 * 1024 {
        return haystack.contains(needle);
    }
    let end = h.len() - n.len();
    if h.len() < 32 {
        return (0..=end).any(|i| h[i] == first && &h[i..i + n.len()] == n);
    }
    // The anchor: its offset in the needle; candidates are its occurrences
    // in the haystack, shifted back by that offset.
    let k = (0..n.len().min(8))
        .chain([n.len() - 1])
        .min_by_key(|&k| COMMONNESS[n[k] as usize])
        .unwrap_or(0);
    let (anchor, last) = (n[k], n[n.len() - 1]);
    let mut i = 0;
    while let Some(p) = memchr::memchr(anchor, &h[k + i..=k + end]) {
        let at = i + p;
        if h[at + n.len() - 1] == last && &h[at..at + n.len()] == n {
            return true;
        }
        i = at + 1;
    }
    false
}

/// How common a byte is in the strings rules search (URLs, codes, names):
/// lower-case letters by their frequency in English, URL punctuation most
/// common; upper-case letters, digits and the rest least.
static COMMONNESS: [u8; 256] = {
    let mut t = [0u8; 256];
    // Most common first.
    let order = b"/.:etaoinshrdlcumwfgypbvkjxqz-_";
    let mut i = 0;
    while i < order.len() {
        t[order[i] as usize] = (order.len() - i) as u8 + 1;
        i += 1;
    }
    t
};

#[cfg(test)]
mod tests {
    #[test]
    fn contains_agrees_with_std() {
        let long = "ab".repeat(5000) + "needle" + &"cd".repeat(5000);
        let cases = [
            ("", ""),
            ("abc", ""),
            ("", "a"),
            ("abc", "abc"),
            ("abc", "abcd"),
            ("http://shinny.org/us/ny/hrsn/StructureDefinition/shinny-observation-screening-response", "shinny-observation-screening-response"),
            ("http://shinny.org/us/ny/hrsn/StructureDefinition/shinny-observation", "shinny-observation-screening-response"),
            ("aaaaaaaaab", "aab"),
            ("aaaaaaaaaa", "aab"),
            ("héllo wörld", "ö"),
            ("héllo wörld", "lo w"),
            // Long enough for the first-byte jumps: at the start, at the
            // end, after near misses (first byte, or first and last).
            ("sdohcc-observation and the rest of a long text", "sdohcc-observation"),
            ("a long text that ends with sdohcc-observation", "sdohcc-observation"),
            ("ssssssssssssssssssssssssssssssssssssssssssab", "sab"),
            ("sxb sxxb sab-like s_b text that goes on and on", "sxxxb"),
            ("sxb sxxb sab-like s_b text that goes on and on", "s_b"),
            ("caf\u{e9} caf\u{e9} caf\u{e9} caf\u{e9} caf\u{e9} caf\u{e9}!", "\u{e9}!"),
            (long.as_str(), "needle"),
            (long.as_str(), "needles"),
        ];
        for (h, n) in cases {
            assert_eq!(super::contains(h, n), h.contains(n), "{h:?} / {n:?}");
        }
    }

    /// Random haystacks of 32 to 90 bytes over a small alphabet (so that
    /// anchors recur and near misses abound), needles cut from them and
    /// then maybe changed: the same answers as std, whichever byte of the
    /// needle anchors the search.
    #[test]
    fn contains_agrees_with_std_on_random_text() {
        const ALPHABET: &[u8] = b"ab/S-e1";
        let mut next = crate::test_rng::xorshift(0x9e37_79b9_7f4a_7c15u64);
        let (mut found, mut total) = (0, 0);
        for _ in 0..20_000 {
            let len = 32 + next(60);
            let h: String = (0..len)
                .map(|_| ALPHABET[next(ALPHABET.len())] as char)
                .collect();
            let from = next(len);
            let to = (from + 1 + next(12)).min(len);
            let mut n = h[from..to].to_string();
            if next(2) == 0 {
                let at = next(n.len());
                n.replace_range(
                    at..at + 1,
                    &(ALPHABET[next(ALPHABET.len())] as char).to_string(),
                );
            }
            let want = h.contains(&n);
            assert_eq!(super::contains(&h, &n), want, "{h:?} / {n:?}");
            found += usize::from(want);
            total += 1;
        }
        // Both answers are reached.
        assert!(found > total / 2 && found < total, "{found} of {total}");
    }
}
