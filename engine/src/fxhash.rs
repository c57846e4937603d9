//! The Fx hash, shared by the maps of compiled definitions.

use std::hash::{BuildHasherDefault, Hasher};

/// A fast non-cryptographic hasher (the Fx hash) for maps keyed by names
/// and ids from conformance packages (never by attacker-chosen data).
#[derive(Default, Clone, Copy)]
pub(crate) struct Fx(u64);

impl Fx {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

/// `bytes` as little-endian words: the whole ones, and the zero-padded
/// rest if there is one.
fn words(bytes: &[u8]) -> (impl Iterator<Item = u64> + '_, Option<u64>) {
    let chunks = bytes.chunks_exact(8);
    let rest = chunks.remainder();
    let rest = (!rest.is_empty()).then(|| {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        u64::from_le_bytes(w)
    });
    let whole = chunks.map(|c| {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        u64::from_le_bytes(w)
    });
    (whole, rest)
}

impl Hasher for Fx {
    fn write(&mut self, bytes: &[u8]) {
        let (whole, rest) = words(bytes);
        for w in whole {
            self.add(w);
        }
        if let Some(w) = rest {
            self.add(w);
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// A `HashMap` with the Fx hash.
pub(crate) type FxHashMap<K, V> = std::collections::HashMap<K, V, BuildHasherDefault<Fx>>;
/// A `HashSet` with the Fx hash.
pub(crate) type FxHashSet<K> = std::collections::HashSet<K, BuildHasherDefault<Fx>>;

/// A keyed hasher for instance data (ids, codes and references that a
/// submitter chooses), for the sets FHIRPath builds (`distinct()`,
/// `intersect()`): one folded 64×64→128-bit multiply per word, with keys
/// drawn once per process (the construction of foldhash and of aHash's
/// fallback). Several times cheaper than SipHash on short strings, and
/// collisions cannot be prepared without the keys.
#[derive(Clone, Copy)]
pub(crate) struct Keyed {
    h: u64,
    k: u64,
}

fn fold(a: u64, b: u64) -> u64 {
    let f = u128::from(a) * u128::from(b);
    (f as u64) ^ ((f >> 64) as u64)
}

impl Hasher for Keyed {
    fn write(&mut self, bytes: &[u8]) {
        let (whole, rest) = words(bytes);
        for w in whole {
            self.h = fold(self.h ^ w, self.k);
        }
        // The length keeps `ab` + `c` apart from `a` + `bc`.
        self.h = fold(self.h ^ rest.unwrap_or(0), self.k ^ bytes.len() as u64);
    }
    fn finish(&self) -> u64 {
        fold(self.h, self.k.rotate_left(29))
    }
}

/// Builds [`Keyed`] hashers with this process's keys.
#[derive(Clone, Copy)]
pub(crate) struct KeyedState {
    seed: u64,
    k: u64,
}

impl Default for KeyedState {
    fn default() -> Self {
        // std's RandomState is seeded from the OS once per thread; its hash
        // of two constants gives the keys (an odd multiplier).
        static KEYS: std::sync::LazyLock<(u64, u64)> = std::sync::LazyLock::new(|| {
            use std::hash::BuildHasher;
            let s = std::collections::hash_map::RandomState::new();
            (s.hash_one(1u64), s.hash_one(2u64) | 1)
        });
        let (seed, k) = *KEYS;
        KeyedState { seed, k }
    }
}

impl std::hash::BuildHasher for KeyedState {
    type Hasher = Keyed;
    fn build_hasher(&self) -> Keyed {
        Keyed {
            h: self.seed,
            k: self.k,
        }
    }
}

/// A `HashSet` of instance data, with [`Keyed`].
pub(crate) type KeyedHashSet<K> = std::collections::HashSet<K, KeyedState>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn keyed_hash_tells_strings_apart() {
        let s = KeyedState::default();
        let words: Vec<String> = (0..20_000).map(|i| format!("id-{i}")).collect();
        let hashes: std::collections::HashSet<u64> =
            words.iter().map(|w| s.hash_one(w.as_str())).collect();
        assert_eq!(hashes.len(), words.len());
        // Split points and lengths matter.
        assert_ne!(s.hash_one(("ab", "c")), s.hash_one(("a", "bc")));
        assert_ne!(s.hash_one(""), s.hash_one("\0"));
        assert_eq!(s.hash_one("same"), KeyedState::default().hash_one("same"));
    }
}
