//! The order Unleash saves variants in: by name, as JavaScript's `localeCompare` sorts them
//! (ICU's root collation). SDKs walk a flag's variants in order when they pick one, so the same
//! order is what gives a user the same variant on Flagpole as on Unleash.
//!
//! Variant names are URL friendly (ASCII letters, digits and `-_.!~*'()`), so the whole collation
//! comes down to two levels for those characters:
//! - primary: punctuation in ICU's order, then digits, then letters with case ignored;
//! - tertiary, only between names equal at the primary level: lower case before upper case,
//!   from the first character on.

use std::cmp::Ordering;

/// Primary weight of a character. Anything outside the URL-friendly set (names stored before
/// names were checked) sorts after the letters, by code point.
fn primary(c: char) -> u32 {
    const PUNCTUATION: &str = "_-!.'()*~";
    if let Some(position) = PUNCTUATION.find(c) {
        return position as u32;
    }
    match c {
        '0'..='9' => 20 + (c as u32 - '0' as u32),
        'a'..='z' => 40 + (c as u32 - 'a' as u32),
        'A'..='Z' => 40 + (c as u32 - 'A' as u32),
        _ => 100 + c as u32,
    }
}

/// Compares two names as Unleash's `localeCompare` does.
pub fn compare(a: &str, b: &str) -> Ordering {
    a.chars()
        .map(primary)
        .cmp(b.chars().map(primary))
        .then_with(|| {
            a.chars()
                .map(|c| c.is_ascii_uppercase())
                .cmp(b.chars().map(|c| c.is_ascii_uppercase()))
        })
        .then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(names: &[&str]) -> Vec<String> {
        let mut names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        names.sort_by(|a, b| compare(a, b));
        names
    }

    /// Orders observed on Unleash 8.2 for strategy variants given in another order.
    #[test]
    fn matches_the_order_unleash_saves() {
        assert_eq!(sorted(&["b", "B", "a", "A"]), ["a", "A", "b", "B"]);
        assert_eq!(
            sorted(&["_x", "-y", "10", "9", "z", "e.1", "Zeta"]),
            ["_x", "-y", "10", "9", "e.1", "z", "Zeta"]
        );
        assert_eq!(
            sorted(&["a~", "a.", "a-", "a_", "a0", "aa", "aA", "Ab", "ab", "a", "A", "AB", "aB"]),
            ["a", "A", "a_", "a-", "a.", "a~", "a0", "aa", "aA", "ab", "aB", "Ab", "AB"]
        );
        assert_eq!(
            sorted(&["a~", "a*", "a)", "a(", "a'", "a.", "a!", "a-", "a_", "a0", "aZ", "a", "a~b"]),
            ["a", "a_", "a-", "a!", "a.", "a'", "a(", "a)", "a*", "a~", "a~b", "a0", "aZ"]
        );
    }
}
