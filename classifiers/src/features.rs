//! Sparse features of a message for the learned model: hashed word unigrams
//! and bigrams, word prefixes, character n-grams and the rule signals. (The
//! taxonomy's hint keywords are not features: written for the corpus
//! generator, they cost three points of topic accuracy on the dev writer.)
//!
//! Function words (`data/stop-words.txt`) never become a unigram, a prefix
//! or character n-grams, and a bigram of two of them is dropped: on a small
//! corpus a model would otherwise learn "when", "rien" or "you" from their
//! company and flag a message for them. Training also drops n-grams seen in
//! fewer than a few training messages (see `training`).
//!
//! The hashing trick maps every feature name to one of `2^hash_bits`
//! buckets with FNV-1a, so there is no vocabulary to ship. Text features are
//! scaled to unit length so that long and short messages weigh alike; rule
//! signals keep a fixed weight so a single strong signal
//! counts in a long message too. Pure computation.

use std::collections::HashSet;
use std::sync::Arc;

use crate::normalise::{NormalisedText, TokenKind};
use crate::signals::Signals;

/// Version of the feature definition. A model trained with another version
/// is refused at load, since its weights would point at other features.
pub const FEATURE_VERSION: u32 = 2;

/// Default number of hash bits (262,144 buckets).
pub const DEFAULT_HASH_BITS: u32 = 18;

/// Words beyond this count are not turned into features: a 1 MB message
/// costs no more than a long letter.
pub const MAX_FEATURE_WORDS: usize = 3_000;

/// Shortest and longest character n-grams.
const CHAR_NGRAMS: std::ops::RangeInclusive<usize> = 3..=5;

/// Words longer than this also give their prefix as a feature, a cheap stem
/// (`deneigement`, `deneiger` → `deneig`).
const STEM_CHARS: usize = 6;

/// Weight of one rule signal or context note.
const SIGNAL_WEIGHT: f32 = 1.0;

/// The function words of `data/stop-words.txt`, as shipped.
pub const STOP_WORDS_TXT: &str = include_str!("../data/stop-words.txt");

/// Parses a stop-word file: one folded word per line, `#` comments.
pub fn parse_stop_words(source: &str) -> HashSet<String> {
    source
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// A sparse feature vector: sorted unique bucket indices and their values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SparseVector {
    /// Bucket indices, ascending, unique.
    pub indices: Vec<u32>,
    /// The value of each bucket.
    pub values: Vec<f32>,
}

impl SparseVector {
    /// Builds a vector from unsorted (index, value) pairs, adding duplicates.
    pub fn from_pairs(mut pairs: Vec<(u32, f32)>) -> Self {
        pairs.sort_by_key(|p| p.0);
        let mut v = SparseVector::default();
        for (i, x) in pairs {
            if v.indices.last() == Some(&i) {
                if let Some(last) = v.values.last_mut() {
                    *last += x;
                }
            } else {
                v.indices.push(i);
                v.values.push(x);
            }
        }
        v
    }

    /// Number of non-zero entries.
    pub fn len(&self) -> usize {
        self.indices.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a over more bytes.
fn fnv_extend(mut hash: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(FNV_PRIME);
    }
    hash
}

/// FNV-1a, 64 bits: stable across platforms and releases, unlike the
/// standard library's hasher.
pub fn fnv1a(namespace: &str, text: &str) -> u64 {
    fnv_extend(fnv_prefix(namespace), text.as_bytes())
}

/// The FNV-1a state after a namespace and its separator.
fn fnv_prefix(namespace: &str) -> u64 {
    fnv_extend(fnv_extend(FNV_OFFSET, namespace.as_bytes()), &[0x1f])
}

/// Turns a normalised message into features.
#[derive(Debug, Clone)]
pub struct FeatureExtractor {
    hash_bits: u32,
    stop_words: Arc<HashSet<String>>,
}

impl FeatureExtractor {
    /// An extractor hashing into `2^hash_bits` buckets, with the shipped
    /// stop words.
    pub fn new(hash_bits: u32) -> Self {
        FeatureExtractor {
            hash_bits,
            stop_words: Arc::new(parse_stop_words(STOP_WORDS_TXT)),
        }
    }

    /// Whether a folded word is a function word (never a feature alone,
    /// never quoted as a reason).
    pub fn is_stop_word(&self, word: &str) -> bool {
        self.stop_words.contains(word)
    }

    /// The bucket of a word bigram's feature (the hash of "first second",
    /// computed without building that string).
    pub fn bucket_of_bigram(&self, first: &str, second: &str) -> u32 {
        let hash = fnv_extend(fnv_prefix("b"), first.as_bytes());
        let hash = fnv_extend(fnv_extend(hash, b" "), second.as_bytes());
        self.mask(hash)
    }

    fn mask(&self, hash: u64) -> u32 {
        let mask = (1u64 << self.hash_bits) - 1;
        // The mask keeps the value below 2^hash_bits ≤ 2^31.
        (hash & mask) as u32
    }

    /// Number of buckets.
    pub fn dimension(&self) -> usize {
        1usize << self.hash_bits
    }

    /// The bucket of a word's unigram feature.
    pub fn bucket_of_word(&self, word: &str) -> u32 {
        self.bucket("w", word)
    }

    fn bucket(&self, namespace: &str, text: &str) -> u32 {
        self.mask(fnv1a(namespace, text))
    }

    /// The features of one message: its text features and its rule-signal
    /// features.
    pub fn extract(&self, text: &NormalisedText, signals: &Signals) -> SparseVector {
        let (vector, words) = self.text_features(text);
        let extra = self.extra_features(&words, signals);
        merge(vector, extra)
    }

    /// The word, bigram, prefix and character n-gram features, scaled to
    /// unit length, and the words they were made from.
    pub fn text_features<'t>(&self, text: &'t NormalisedText) -> (SparseVector, Vec<&'t str>) {
        self.text_features_without(text, &[])
    }

    /// [`FeatureExtractor::text_features`] without the tokens whose index is
    /// `true` in `skipped` (words an exemption explains); a skipped token
    /// also splits bigrams.
    pub fn text_features_without<'t>(
        &self,
        text: &'t NormalisedText,
        skipped: &[bool],
    ) -> (SparseVector, Vec<&'t str>) {
        let mut sentence_words: Vec<Vec<&str>> = vec![Vec::new()];
        let mut count = 0;
        for (i, token) in text.tokens.iter().enumerate() {
            if skipped.get(i).copied().unwrap_or(false) {
                sentence_words.push(Vec::new());
                continue;
            }
            match token.kind {
                TokenKind::Word | TokenKind::Emoji => {
                    if count < MAX_FEATURE_WORDS {
                        if let Some(last) = sentence_words.last_mut() {
                            last.push(token.text.as_str());
                        }
                        count += 1;
                    }
                }
                TokenKind::Boundary => sentence_words.push(Vec::new()),
                TokenKind::Comma | TokenKind::Quote => {}
            }
        }

        let mut text_pairs: Vec<(u32, f32)> = Vec::with_capacity(count * 16);
        let char_prefix = fnv_prefix("c");
        let mut chars: Vec<char> = Vec::new();
        let mut utf8 = [0u8; 4];
        for words in &sentence_words {
            for (i, w) in words.iter().enumerate() {
                let stop = self.is_stop_word(w);
                if let Some(next) = words.get(i + 1) {
                    if !(stop && self.is_stop_word(next)) {
                        text_pairs.push((self.bucket_of_bigram(w, next), 1.0));
                    }
                }
                if stop {
                    continue;
                }
                text_pairs.push((self.bucket("w", w), 1.0));
                if let Some((cut, _)) = w.char_indices().nth(STEM_CHARS) {
                    text_pairs.push((self.bucket("p", &w[..cut]), 1.0));
                }
                if w.starts_with("emoji") {
                    continue;
                }
                // The word padded with a space each side, as characters.
                chars.clear();
                chars.push(' ');
                chars.extend(w.chars());
                chars.push(' ');
                for n in CHAR_NGRAMS {
                    for window in chars.windows(n) {
                        let mut hash = char_prefix;
                        for c in window {
                            hash = fnv_extend(hash, c.encode_utf8(&mut utf8).as_bytes());
                        }
                        text_pairs.push((self.mask(hash), 1.0));
                    }
                }
            }
        }
        let mut vector = SparseVector::from_pairs(text_pairs);
        let norm = vector.values.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            for x in &mut vector.values {
                *x /= norm;
            }
        }
        let words = sentence_words.into_iter().flatten().collect();
        (vector, words)
    }

    /// The rule-signal features of a message, at a fixed weight (so a
    /// single strong signal counts in a long message too).
    pub fn extra_features(&self, words: &[&str], signals: &Signals) -> Vec<(u32, f32)> {
        let mut extra: Vec<(u32, f32)> = Vec::new();
        for name in signals.feature_names() {
            extra.push((self.bucket("s", &name), SIGNAL_WEIGHT));
        }
        if words.is_empty() {
            extra.push((self.bucket("s", "empty"), SIGNAL_WEIGHT));
        }
        extra
    }
}

/// Adds extra features to a text vector.
pub fn merge(vector: SparseVector, extra: Vec<(u32, f32)>) -> SparseVector {
    if extra.is_empty() {
        return vector;
    }
    let mut pairs: Vec<(u32, f32)> = vector.indices.into_iter().zip(vector.values).collect();
    pairs.extend(extra);
    SparseVector::from_pairs(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lexicon::Lexicon;
    use crate::normalise::Normaliser;

    #[test]
    fn the_same_message_always_gives_the_same_features() {
        // Arrange
        let lexicon = Lexicon::shipped().expect("lexicon");
        let normaliser = Normaliser::new(&lexicon);
        let extractor = FeatureExtractor::new(DEFAULT_HASH_BITS);
        let text = normaliser.normalise("Mon bac brun n'a pas été ramassé rue Principale.");

        // Act
        let a = extractor.extract(&text, &Signals::default());
        let b = extractor.extract(&text, &Signals::default());

        // Assert
        assert_eq!(a, b);
        assert!(a.len() > 20);
        assert!(
            a.indices.windows(2).all(|w| w[0] < w[1]),
            "indices are sorted and unique"
        );
    }

    #[test]
    fn function_words_alone_are_not_features() {
        // Arrange
        let lexicon = Lexicon::shipped().expect("lexicon");
        let normaliser = Normaliser::new(&lexicon);
        let extractor = FeatureExtractor::new(DEFAULT_HASH_BITS);

        // Act
        let (stops, _) = extractor.text_features(&normaliser.normalise("when you are out, rien"));
        let (content, _) = extractor.text_features(&normaliser.normalise("when you idiot"));

        // Assert
        assert!(stops.is_empty(), "{stops:?}");
        assert!(content
            .indices
            .contains(&extractor.bucket_of_bigram("you", "idiot")));
        assert!(!content.indices.contains(&extractor.bucket_of_word("you")));
        assert!(content.indices.contains(&extractor.bucket_of_word("idiot")));
    }

    #[test]
    fn hashes_are_stable_across_releases() {
        // A changed hash would silently scramble every shipped model.
        assert_eq!(fnv1a("w", "bac"), 0x2cb0_a4e6_977d_d4c7);
        assert_ne!(fnv1a("w", "bac"), fnv1a("b", "bac"));
        let extractor = FeatureExtractor::new(DEFAULT_HASH_BITS);
        assert_eq!(
            extractor.bucket_of_bigram("bac", "brun"),
            extractor.bucket("b", "bac brun")
        );
    }

    #[test]
    fn an_empty_message_has_only_the_empty_feature() {
        let lexicon = Lexicon::shipped().expect("lexicon");
        let normaliser = Normaliser::new(&lexicon);
        let extractor = FeatureExtractor::new(DEFAULT_HASH_BITS);
        let v = extractor.extract(&normaliser.normalise("   "), &Signals::default());
        assert_eq!(v.len(), 1);
    }
}
