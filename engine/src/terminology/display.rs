//! Display comparison: a given display matches a code system's display
//! when they are equal ignoring case and runs of whitespace.

/// The display with runs of whitespace as one space, lowercased.
fn normalize_display(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// `normalize_display(a) == normalize_display(b)`, without allocating
/// when both are ASCII (then lowercasing is per byte, so the normalised
/// texts are equal exactly when their words are, ignoring ASCII case).
pub(super) fn same_display(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        let mut x = a.split_whitespace();
        let mut y = b.split_whitespace();
        loop {
            match (x.next(), y.next()) {
                (None, None) => return true,
                (Some(p), Some(q)) if p.eq_ignore_ascii_case(q) => {}
                _ => return false,
            }
        }
    }
    normalize_display(a) == normalize_display(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_display_is_equality_of_normalised_texts() {
        let texts = [
            "",
            " ",
            "Dog",
            "dog",
            "DOG ",
            " dog",
            "Hot dog",
            "hot  dog",
            "hot\tdog",
            "hot\u{b}dog",
            "hot\u{1c}dog",
            "hotdog",
            "hot dog s",
            "Été",
            "été",
            "ÉTÉ",
            "straße",
            "STRASSE",
            "ΟΔΟΣ",
            "οδος",
            "οδοσ",
            "dog\u{a0}house",
            "dog house",
            "İstanbul",
            "i̇stanbul",
        ];
        for a in texts {
            for b in texts {
                assert_eq!(
                    same_display(a, b),
                    normalize_display(a) == normalize_display(b),
                    "{a:?} {b:?}"
                );
            }
        }
    }
}
