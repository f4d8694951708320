//! How a person's name is compared: folded to lower-case ASCII letters and
//! digits with single spaces, so "Thérèse  BÉLANGER-Roy" and "therese
//! belanger roy" are the same key. Used to find a citizen by name and to
//! offer contacts that may be the same person. Pure functions. No I/O.

use unicode_normalization::UnicodeNormalization;

/// Longest key kept, in characters: names are short, and a bound keeps an
/// index entry small whatever was typed.
pub const MAX_NAME_KEY_CHARS: usize = 120;

/// The comparison key of `name`, or `None` when it has no letter or digit.
pub fn name_key(name: &str) -> Option<String> {
    let mut key = String::with_capacity(name.len());
    let mut gap = false;
    for c in name.nfd() {
        if c.is_ascii_alphanumeric() {
            if gap && !key.is_empty() {
                key.push(' ');
            }
            gap = false;
            key.push(c.to_ascii_lowercase());
        } else if !c.is_ascii() && !c.is_alphanumeric() {
            // A combining accent left by the decomposition: drop it and keep
            // the word whole ("é" = "e" + U+0301).
        } else {
            gap = true;
        }
        if key.len() >= MAX_NAME_KEY_CHARS {
            break;
        }
    }
    (!key.is_empty()).then_some(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accents_case_and_punctuation_do_not_matter() {
        assert_eq!(
            name_key("Thérèse  BÉLANGER-Roy").as_deref(),
            Some("therese belanger roy")
        );
        assert_eq!(
            name_key("therese belanger roy"),
            name_key("THÉRÈSE Bélanger Roy")
        );
        assert_eq!(
            name_key("  François O'Neil ").as_deref(),
            Some("francois o neil")
        );
    }

    #[test]
    fn a_name_without_letters_has_no_key() {
        assert_eq!(name_key(""), None);
        assert_eq!(name_key(" -- ' "), None);
        assert_eq!(name_key("🙂"), None);
    }

    #[test]
    fn keys_are_bounded() {
        let key = name_key(&"é".repeat(10_000)).unwrap();
        assert!(key.len() <= MAX_NAME_KEY_CHARS);
    }

    proptest! {
        #[test]
        fn a_key_is_its_own_key(name in "\\PC{0,40}") {
            if let Some(key) = name_key(&name) {
                prop_assert_eq!(name_key(&key), Some(key.clone()));
                prop_assert!(key.chars().all(|c| c == ' ' || c.is_ascii_alphanumeric()));
            }
        }
    }
}
