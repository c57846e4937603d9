//! A seeded xorshift generator for the randomized agreement tests: the
//! same cases on every run, no dependency.

/// A generator of indices below its argument, from `seed` (not zero).
pub(crate) fn xorshift(mut seed: u64) -> impl FnMut(usize) -> usize {
    move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    }
}
