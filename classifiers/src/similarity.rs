//! Near-duplicate texts: Jaccard similarity of character 3-gram sets, found
//! with prefix filtering so that thousands of texts compare in milliseconds.
//!
//! Used to keep near-copies out of a measurement: a training message that
//! is a near-copy of a dev or test message makes the figure measure memory.
//! Texts are folded the way messages are (case, accents, spacing), so two
//! messages that differ by capitals, accents or spaces are the same text.
//! Pure and deterministic: the same texts give the same pairs.

use std::collections::HashMap;

use crate::features::fnv1a;
use crate::normalise::fold_char;

/// Similarity above which two texts are near-duplicates.
pub const NEAR_DUPLICATE_JACCARD: f64 = 0.8;

/// Length of the character n-grams compared.
const GRAM_CHARS: usize = 3;

/// The hashed, sorted, unique character 3-grams of a folded text.
fn gram_set(text: &str) -> Vec<u64> {
    let mut folded = String::with_capacity(text.len());
    let mut space = true;
    for c in text.chars() {
        if c.is_whitespace() {
            if !space {
                folded.push(' ');
                space = true;
            }
            continue;
        }
        fold_char(c, &mut folded);
        space = false;
    }
    let chars: Vec<char> = folded.trim_end().chars().collect();
    let mut grams: Vec<u64> = chars
        .windows(GRAM_CHARS)
        .map(|w| fnv1a("dup", &w.iter().collect::<String>()))
        .collect();
    grams.sort_unstable();
    grams.dedup();
    grams
}

/// Jaccard similarity of two sorted, unique sets.
fn jaccard(a: &[u32], b: &[u32]) -> f64 {
    let (mut i, mut j, mut shared) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                shared += 1;
                i += 1;
                j += 1;
            }
        }
    }
    let union = a.len() + b.len() - shared;
    if union == 0 {
        0.0
    } else {
        shared as f64 / union as f64
    }
}

/// How many of a set's rarest grams must be indexed so that any set with a
/// similarity of at least `threshold` shares one of them (prefix filtering).
fn prefix_len(len: usize, threshold: f64) -> usize {
    let needed = (threshold * len as f64 - 1e-9).ceil() as usize;
    (len + 1).saturating_sub(needed).min(len)
}

/// For each candidate text, the index of the first reference text whose
/// similarity with it is above `threshold`, if any.
///
/// Texts with fewer than three characters have no gram and match nothing.
pub fn near_duplicates(
    references: &[&str],
    candidates: &[&str],
    threshold: f64,
) -> Vec<Option<usize>> {
    let raw_refs: Vec<Vec<u64>> = references.iter().map(|t| gram_set(t)).collect();
    let raw_cands: Vec<Vec<u64>> = candidates.iter().map(|t| gram_set(t)).collect();

    // Rarest grams first: their posting lists are short.
    let mut frequency: HashMap<u64, u32> = HashMap::new();
    for g in raw_refs.iter().chain(&raw_cands).flatten() {
        *frequency.entry(*g).or_default() += 1;
    }
    let mut order: Vec<(u32, u64)> = frequency.iter().map(|(g, n)| (*n, *g)).collect();
    order.sort_unstable();
    let rank: HashMap<u64, u32> = order
        .iter()
        .enumerate()
        .map(|(i, (_, g))| (*g, i as u32))
        .collect();
    let ranked = |set: &[u64]| -> Vec<u32> {
        let mut r: Vec<u32> = set.iter().filter_map(|g| rank.get(g).copied()).collect();
        r.sort_unstable();
        r
    };
    let refs: Vec<Vec<u32>> = raw_refs.iter().map(|s| ranked(s)).collect();

    let mut index: HashMap<u32, Vec<usize>> = HashMap::new();
    for (i, set) in refs.iter().enumerate() {
        for g in &set[..prefix_len(set.len(), threshold)] {
            index.entry(*g).or_default().push(i);
        }
    }

    let mut seen = vec![usize::MAX; refs.len()];
    raw_cands
        .iter()
        .enumerate()
        .map(|(q, raw)| {
            let set = ranked(raw);
            let mut best: Option<usize> = None;
            for g in &set[..prefix_len(set.len(), threshold)] {
                for &r in index.get(g).map_or(&[][..], Vec::as_slice) {
                    if seen[r] == q || best.is_some_and(|b| b <= r) {
                        continue;
                    }
                    seen[r] = q;
                    let (small, large) = if set.len() < refs[r].len() {
                        (set.len(), refs[r].len())
                    } else {
                        (refs[r].len(), set.len())
                    };
                    if (small as f64) < threshold * large as f64 {
                        continue;
                    }
                    if jaccard(&set, &refs[r]) > threshold {
                        best = Some(r);
                    }
                }
            }
            best
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_near_copy_is_found_and_a_different_text_is_not() {
        // Arrange
        let references = [
            "Mon bac brun n'a pas été ramassé ce matin sur la rue Principale.",
            "The plow left a wall of snow in my driveway again.",
        ];
        let candidates = [
            "mon bac brun n a pas ete ramasse ce matin sur la rue principale!",
            "the plow left a wall of snow in my driveway, again!",
            "Quand ouvre la piscine municipale cet été?",
            "ok",
        ];

        // Act
        let found = near_duplicates(&references, &candidates, NEAR_DUPLICATE_JACCARD);

        // Assert
        assert_eq!(found, vec![Some(0), Some(1), None, None]);
    }

    #[test]
    fn prefix_filtering_finds_what_a_full_comparison_finds() {
        // Arrange: variations of a few sentences, compared both ways.
        let base = [
            "le camion de recyclage est passé trop tôt",
            "la lumière de rue est brûlée depuis une semaine au coin",
            "my dog got out and I can't find him near the park",
        ];
        let mut texts = Vec::new();
        for b in base {
            for suffix in [
                "",
                " merci",
                " svp merci beaucoup",
                " !!!",
                " encore une fois",
            ] {
                texts.push(format!("{b}{suffix}"));
            }
        }
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();

        // Act
        let fast = near_duplicates(&refs, &refs, 0.6);

        // Assert
        for (q, found) in fast.iter().enumerate() {
            let q_set: Vec<u64> = gram_set(refs[q]);
            let expected = (0..refs.len()).find(|&r| {
                let r_set = gram_set(refs[r]);
                let shared = q_set.iter().filter(|g| r_set.contains(g)).count();
                shared as f64 / (q_set.len() + r_set.len() - shared) as f64 > 0.6
            });
            assert_eq!(*found, expected, "text {q}: {:?}", refs[q]);
        }
    }
}
