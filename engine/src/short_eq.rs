//! Equality of short strings without a `memcmp` call.
//!
//! JSON keys, element names and type names are mostly under 16 bytes, and
//! the walk and FHIRPath navigation compare them by the million: a call
//! into libc's `memcmp` (with its dispatch on the length) then costs more
//! than the comparison. Two overlapping word loads decide lengths 4 to 16.

/// Whether `a` and `b` hold the same bytes.
#[inline(always)]
pub(crate) fn eq(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    match n {
        0 => true,
        1..=3 => a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1],
        4..=7 => word4(a, 0) == word4(b, 0) && word4(a, n - 4) == word4(b, n - 4),
        8..=16 => word8(a, 0) == word8(b, 0) && word8(a, n - 8) == word8(b, n - 8),
        _ => a == b,
    }
}

/// [`eq`] for string slices.
#[inline(always)]
pub(crate) fn eq_str(a: &str, b: &str) -> bool {
    eq(a.as_bytes(), b.as_bytes())
}

#[inline(always)]
fn word4(s: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&s[at..at + 4]);
    u32::from_ne_bytes(w)
}

#[inline(always)]
fn word8(s: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&s[at..at + 8]);
    u64::from_ne_bytes(w)
}

#[cfg(test)]
mod tests {
    use super::eq;

    /// Every length up to 40, equal and differing at each position.
    #[test]
    fn agrees_with_slice_equality() {
        for n in 0..40usize {
            let a: Vec<u8> = (0..n as u8).map(|i| b'a' + i % 26).collect();
            assert!(eq(&a, &a.clone()), "len {n}");
            for i in 0..n {
                let mut b = a.clone();
                b[i] ^= 0x20;
                assert!(!eq(&a, &b), "len {n}, differing at {i}");
            }
            let mut longer = a.clone();
            longer.push(b'x');
            assert!(!eq(&a, &longer), "len {n} against {}", n + 1);
        }
    }
}
