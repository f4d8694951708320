//! Sparse features of a message for the learned model: hashed word unigrams
//! and bigrams, word prefixes, character n-grams, topic keyword hits and the
//! rule signals.
//!
//! The hashing trick maps every feature name to one of `2^hash_bits`
//! buckets with FNV-1a, so there is no vocabulary to ship. Text features are
//! scaled to unit length so that long and short messages weigh alike; rule
//! signals and keyword hits keep a fixed weight so a single strong signal
//! counts in a long message too. Pure computation.

use models::Topic;

use crate::normalise::{NormalisedText, TokenKind};
use crate::signals::Signals;
use crate::taxonomy::Taxonomy;

/// Version of the feature definition. A model trained with another version
/// is refused at load, since its weights would point at other features.
pub const FEATURE_VERSION: u32 = 1;

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

/// Weight of one topic keyword hit; hits of a topic add up to three.
const KEYWORD_WEIGHT: f32 = 0.5;

/// Weight of one rule signal or context note.
const SIGNAL_WEIGHT: f32 = 1.0;

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

/// FNV-1a, 64 bits: stable across platforms and releases, unlike the
/// standard library's hasher.
pub fn fnv1a(namespace: &str, text: &str) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = OFFSET;
    for b in namespace.bytes().chain([0x1f]).chain(text.bytes()) {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(PRIME);
    }
    hash
}

/// Turns a normalised message into features.
#[derive(Debug, Clone, Copy)]
pub struct FeatureExtractor {
    hash_bits: u32,
}

impl FeatureExtractor {
    /// An extractor hashing into `2^hash_bits` buckets.
    pub fn new(hash_bits: u32) -> Self {
        FeatureExtractor { hash_bits }
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
        let mask = (1u64 << self.hash_bits) - 1;
        // The mask keeps the value below 2^hash_bits ≤ 2^31.
        (fnv1a(namespace, text) & mask) as u32
    }

    /// The features of one message.
    pub fn extract(
        &self,
        text: &NormalisedText,
        signals: &Signals,
        taxonomy: &Taxonomy,
    ) -> SparseVector {
        let mut sentence_words: Vec<Vec<&str>> = vec![Vec::new()];
        let mut count = 0;
        for token in &text.tokens {
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

        let mut text_pairs: Vec<(u32, f32)> = Vec::with_capacity(count * 12);
        let mut padded = String::new();
        for words in &sentence_words {
            for (i, w) in words.iter().enumerate() {
                text_pairs.push((self.bucket("w", w), 1.0));
                if let Some(next) = words.get(i + 1) {
                    let bigram = format!("{w} {next}");
                    text_pairs.push((self.bucket("b", &bigram), 1.0));
                }
                let chars: Vec<char> = w.chars().collect();
                if chars.len() > STEM_CHARS {
                    let stem: String = chars[..STEM_CHARS].iter().collect();
                    text_pairs.push((self.bucket("p", &stem), 1.0));
                }
                if w.starts_with("emoji") {
                    continue;
                }
                padded.clear();
                padded.push(' ');
                padded.push_str(w);
                padded.push(' ');
                let padded_chars: Vec<char> = padded.chars().collect();
                for n in CHAR_NGRAMS {
                    if padded_chars.len() < n {
                        continue;
                    }
                    for window in padded_chars.windows(n) {
                        let gram: String = window.iter().collect();
                        text_pairs.push((self.bucket("c", &gram), 1.0));
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

        let mut extra: Vec<(u32, f32)> = Vec::new();
        let all_words: Vec<&str> = sentence_words.iter().flatten().copied().collect();
        let mut per_topic = [0usize; 13];
        for topic in taxonomy.keyword_hits(&all_words) {
            if let Some(i) = Topic::ALL.iter().position(|t| *t == topic) {
                per_topic[i] += 1;
            }
        }
        for (i, hits) in per_topic.iter().enumerate() {
            if *hits > 0 {
                let weight = KEYWORD_WEIGHT * (*hits).min(3) as f32;
                extra.push((self.bucket("kw", Topic::ALL[i].as_str()), weight));
            }
        }
        for name in signals.feature_names() {
            extra.push((self.bucket("s", &name), SIGNAL_WEIGHT));
        }
        if all_words.is_empty() {
            extra.push((self.bucket("s", "empty"), SIGNAL_WEIGHT));
        }
        if extra.is_empty() {
            return vector;
        }
        let mut pairs: Vec<(u32, f32)> = vector.indices.into_iter().zip(vector.values).collect();
        pairs.extend(extra);
        SparseVector::from_pairs(pairs)
    }
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
        let taxonomy = Taxonomy::shipped().expect("taxonomy");
        let extractor = FeatureExtractor::new(DEFAULT_HASH_BITS);
        let text = normaliser.normalise("Mon bac brun n'a pas été ramassé rue Principale.");

        // Act
        let a = extractor.extract(&text, &Signals::default(), &taxonomy);
        let b = extractor.extract(&text, &Signals::default(), &taxonomy);

        // Assert
        assert_eq!(a, b);
        assert!(a.len() > 20);
        assert!(
            a.indices.windows(2).all(|w| w[0] < w[1]),
            "indices are sorted and unique"
        );
    }

    #[test]
    fn hashes_are_stable_across_releases() {
        // A changed hash would silently scramble every shipped model.
        assert_eq!(fnv1a("w", "bac"), 0x2cb0_a4e6_977d_d4c7);
        assert_ne!(fnv1a("w", "bac"), fnv1a("b", "bac"));
    }

    #[test]
    fn an_empty_message_has_only_the_empty_feature() {
        let lexicon = Lexicon::shipped().expect("lexicon");
        let normaliser = Normaliser::new(&lexicon);
        let taxonomy = Taxonomy::shipped().expect("taxonomy");
        let extractor = FeatureExtractor::new(DEFAULT_HASH_BITS);
        let v = extractor.extract(&normaliser.normalise("   "), &Signals::default(), &taxonomy);
        assert_eq!(v.len(), 1);
    }
}
