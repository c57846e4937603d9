//! Interned strings of the compiled terminology: one sorted table, looked
//! up by a hash index built on first use.

use serde::{Deserialize, Serialize};

/// Interned strings: one text buffer and end offsets (two allocations to
/// load, however many strings). Ids are indexes; strings are sorted.
/// Stored as lengths, which encode smaller than offsets.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(from = "StringTableRepr", into = "StringTableRepr")]
pub(super) struct StringTable {
    pub(super) text: String,
    ends: Vec<u32>,
    /// Hash of each string → its id (built on first lookup, not stored):
    /// a lookup is then one hash instead of a binary search of string
    /// comparisons. Ids whose hashes collide map to `AMBIGUOUS`.
    index: std::sync::OnceLock<crate::fxhash::FxHashMap<u64, u32>>,
}

const AMBIGUOUS: u32 = u32::MAX;

fn string_hash(s: &str) -> u64 {
    use std::hash::Hasher;
    let mut h = crate::fxhash::Fx::default();
    h.write(s.as_bytes());
    h.write_usize(s.len());
    h.finish()
}

#[derive(Serialize, Deserialize)]
struct StringTableRepr {
    text: String,
    lens: Vec<u32>,
}

impl From<StringTableRepr> for StringTable {
    fn from(r: StringTableRepr) -> Self {
        let mut end = 0u32;
        let ends = r
            .lens
            .iter()
            .map(|&l| {
                end = end.saturating_add(l);
                end
            })
            .collect();
        StringTable {
            text: r.text,
            ends,
            index: Default::default(),
        }
    }
}

impl From<StringTable> for StringTableRepr {
    fn from(t: StringTable) -> Self {
        let mut prev = 0u32;
        let lens = t
            .ends
            .iter()
            .map(|&e| {
                let l = e.saturating_sub(prev);
                prev = e;
                l
            })
            .collect();
        StringTableRepr { text: t.text, lens }
    }
}

impl StringTable {
    pub(super) fn from_sorted(list: &[String]) -> Self {
        let mut text = String::with_capacity(list.iter().map(String::len).sum());
        let mut ends = Vec::with_capacity(list.len());
        for s in list {
            text.push_str(s);
            ends.push(text.len() as u32);
        }
        StringTable {
            text,
            ends,
            index: Default::default(),
        }
    }

    pub(super) fn len(&self) -> usize {
        self.ends.len()
    }

    pub(super) fn get(&self, id: u32) -> &str {
        let i = id as usize;
        let start = match i {
            0 => 0,
            _ => self.ends.get(i - 1).copied().unwrap_or(0) as usize,
        };
        let end = self.ends.get(i).copied().unwrap_or(0) as usize;
        self.text.get(start..end).unwrap_or_default()
    }

    pub(super) fn find(&self, s: &str) -> Option<u32> {
        let index = self.index.get_or_init(|| {
            let mut m = crate::fxhash::FxHashMap::default();
            m.reserve(self.len());
            for id in 0..self.len() as u32 {
                m.entry(string_hash(self.get(id)))
                    .and_modify(|v| *v = AMBIGUOUS)
                    .or_insert(id);
            }
            m
        });
        match index.get(&string_hash(s)) {
            None => None,
            Some(&AMBIGUOUS) => self.find_sorted(s),
            Some(&id) => (self.get(id) == s).then_some(id),
        }
    }

    fn find_sorted(&self, s: &str) -> Option<u32> {
        let (mut lo, mut hi) = (0usize, self.ends.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            match self.get(mid as u32).cmp(s) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(mid as u32),
            }
        }
        None
    }
}
