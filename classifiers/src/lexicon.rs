//! The word lists behind the abuse rules, read from the data files
//! `data/lexicon-fr.toml` and `data/lexicon-en.toml`.
//!
//! Both languages always apply, because citizens mix them. Every entry is
//! folded the way messages are ([`fold_phrase`]), so the files can be written
//! with accents and apostrophes. Pure data, no I/O: the files are embedded in
//! the crate at build time and parsed once when a classifier is built.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Deserialize;

use crate::normalise::fold_char;

/// The French lexicon, as shipped.
pub const LEXICON_FR: &str = include_str!("../data/lexicon-fr.toml");
/// The English lexicon, as shipped.
pub const LEXICON_EN: &str = include_str!("../data/lexicon-en.toml");

/// A lexicon file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LexiconError {
    /// The TOML does not parse or does not have the expected shape.
    #[error("lexicon {language} is not valid: {source}")]
    Invalid {
        /// Which file.
        language: String,
        /// The parse error.
        #[source]
        source: Box<toml::de::Error>,
    },
    /// A list holds an entry that folds to nothing.
    #[error("lexicon {language}, list {list}: entry {entry:?} is empty once folded")]
    EmptyEntry {
        /// Which file.
        language: String,
        /// Which list.
        list: String,
        /// The entry as written.
        entry: String,
    },
}

/// The lists of one lexicon file, as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LexiconFile {
    language: String,
    #[serde(default)]
    rewrites: BTreeMap<String, String>,
    #[serde(default)]
    variants: BTreeMap<String, Vec<String>>,
    lists: ListsFile,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListsFile {
    sacres: Vec<String>,
    insults_strong: Vec<String>,
    insults_mild: Vec<String>,
    insult_phrases: Vec<String>,
    harm_verbs: Vec<String>,
    harm_verbs_clear: Vec<String>,
    threat_phrases: Vec<String>,
    intimidation_phrases: Vec<String>,
    harassment_phrases: Vec<String>,
    groups: Vec<String>,
    demeaning: Vec<String>,
    exclusion_calls: Vec<String>,
    slurs: Vec<String>,
    staff: Vec<String>,
    third_parties: Vec<String>,
    fillers: Vec<String>,
    reporting: Vec<String>,
    self_subjects: Vec<String>,
    legal: Vec<String>,
    media: Vec<String>,
    political: Vec<String>,
    criticism: Vec<String>,
    harmless_objects: Vec<String>,
}

/// The merged word lists of every language, folded.
///
/// Each list holds folded phrases (words separated by one space). The data
/// files describe each list at length.
#[derive(Debug, Default, Clone)]
pub struct Lists {
    /// Swear words used as intensifiers (not abuse by themselves).
    pub sacres: Vec<String>,
    /// Name-calling words, abusive whenever aimed at a person.
    pub insults_strong: Vec<String>,
    /// Criticism words, abusive only when used to name someone.
    pub insults_mild: Vec<String>,
    /// Directed imperatives and curses ("va chier", "fuck you").
    pub insult_phrases: Vec<String>,
    /// Verbs of physical harm.
    pub harm_verbs: Vec<String>,
    /// Harm verbs that threaten even with an ambiguous object.
    pub harm_verbs_clear: Vec<String>,
    /// Explicit threats.
    pub threat_phrases: Vec<String>,
    /// Veiled threats and pressure.
    pub intimidation_phrases: Vec<String>,
    /// Unwanted personal attention.
    pub harassment_phrases: Vec<String>,
    /// Groups of people.
    pub groups: Vec<String>,
    /// Demeaning words about a group.
    pub demeaning: Vec<String>,
    /// Calls to exclude or harm a group.
    pub exclusion_calls: Vec<String>,
    /// Slurs.
    pub slurs: Vec<String>,
    /// Staff, elected officials, the reader.
    pub staff: Vec<String>,
    /// Neighbours and others who are not staff.
    pub third_parties: Vec<String>,
    /// Words allowed between a subject and a name-calling word.
    pub fillers: Vec<String>,
    /// Reporting verbs (quoted speech).
    pub reporting: Vec<String>,
    /// First-person subjects (self-deprecation).
    pub self_subjects: Vec<String>,
    /// Legal recourse.
    pub legal: Vec<String>,
    /// Media.
    pub media: Vec<String>,
    /// Elected officials and institutions as recourse.
    pub political: Vec<String>,
    /// Fury without insults.
    pub criticism: Vec<String>,
    /// Things a harm verb may target harmlessly.
    pub harmless_objects: Vec<String>,
}

/// Every lexicon merged and folded, ready for the normaliser and the rules.
#[derive(Debug, Clone)]
pub struct Lexicon {
    /// Single folded token → the words it stands for (joual, SMS).
    pub rewrites: HashMap<String, Vec<String>>,
    /// Folded spelling → canonical word (sacre variants, common misspellings).
    pub variants: HashMap<String, String>,
    /// Canonical single words of the abuse vocabulary, for de-obfuscation:
    /// an obfuscated token is only rewritten when it lands on one of these.
    pub vocabulary: HashSet<String>,
    /// The merged lists.
    pub lists: Lists,
    /// Phrases marked `~` in the files: weaker evidence, which a recourse
    /// context (legal, media, elected officials) cancels.
    pub weak: HashSet<String>,
}

/// Folds a phrase the way message tokens are folded: lower case, accents
/// removed, anything but letters and digits read as a space, spaces collapsed.
pub fn fold_phrase(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.chars() {
        let mut folded = String::new();
        fold_char(c, &mut folded);
        for f in folded.chars() {
            if f.is_alphanumeric() {
                if pending_space && !out.is_empty() {
                    out.push(' ');
                }
                pending_space = false;
                out.push(f);
            } else {
                pending_space = true;
            }
        }
    }
    out
}

impl Lexicon {
    /// Parses and merges the shipped French and English lexicons.
    ///
    /// # Errors
    /// [`LexiconError`] when a file does not parse or holds an empty entry;
    /// the shipped files are covered by tests, so this only fails after an
    /// edit of the data.
    pub fn shipped() -> Result<Self, LexiconError> {
        Self::from_sources(&[LEXICON_FR, LEXICON_EN])
    }

    /// Parses and merges lexicon files given as TOML text.
    ///
    /// # Errors
    /// [`LexiconError`] when a file does not parse or holds an empty entry.
    pub fn from_sources(sources: &[&str]) -> Result<Self, LexiconError> {
        let mut rewrites = HashMap::new();
        let mut variants = HashMap::new();
        let mut lists = Lists::default();
        let mut weak = HashSet::new();
        for source in sources {
            let file: LexiconFile = toml::from_str(source).map_err(|e| LexiconError::Invalid {
                language: "?".to_owned(),
                source: Box::new(e),
            })?;
            let language = file.language.clone();
            for (from, to) in &file.rewrites {
                let key = fold_phrase(from);
                let words: Vec<String> = fold_phrase(to).split(' ').map(str::to_owned).collect();
                if key.is_empty() || words.iter().any(String::is_empty) {
                    return Err(LexiconError::EmptyEntry {
                        language,
                        list: "rewrites".to_owned(),
                        entry: from.clone(),
                    });
                }
                rewrites.insert(key, words);
            }
            for (canonical, spellings) in &file.variants {
                let canonical = fold_phrase(canonical);
                variants.insert(canonical.clone(), canonical.clone());
                for spelling in spellings {
                    let key = fold_phrase(spelling);
                    // Multi-word spellings cannot be looked up token by token.
                    if !key.is_empty() && !key.contains(' ') {
                        variants.insert(key, canonical.clone());
                    }
                }
            }
            let l = &file.lists;
            let pairs: [(&str, &Vec<String>, &mut Vec<String>); 23] = [
                ("sacres", &l.sacres, &mut lists.sacres),
                (
                    "insults_strong",
                    &l.insults_strong,
                    &mut lists.insults_strong,
                ),
                ("insults_mild", &l.insults_mild, &mut lists.insults_mild),
                (
                    "insult_phrases",
                    &l.insult_phrases,
                    &mut lists.insult_phrases,
                ),
                ("harm_verbs", &l.harm_verbs, &mut lists.harm_verbs),
                (
                    "harm_verbs_clear",
                    &l.harm_verbs_clear,
                    &mut lists.harm_verbs_clear,
                ),
                (
                    "threat_phrases",
                    &l.threat_phrases,
                    &mut lists.threat_phrases,
                ),
                (
                    "intimidation_phrases",
                    &l.intimidation_phrases,
                    &mut lists.intimidation_phrases,
                ),
                (
                    "harassment_phrases",
                    &l.harassment_phrases,
                    &mut lists.harassment_phrases,
                ),
                ("groups", &l.groups, &mut lists.groups),
                ("demeaning", &l.demeaning, &mut lists.demeaning),
                (
                    "exclusion_calls",
                    &l.exclusion_calls,
                    &mut lists.exclusion_calls,
                ),
                ("slurs", &l.slurs, &mut lists.slurs),
                ("staff", &l.staff, &mut lists.staff),
                ("third_parties", &l.third_parties, &mut lists.third_parties),
                ("fillers", &l.fillers, &mut lists.fillers),
                ("reporting", &l.reporting, &mut lists.reporting),
                ("self_subjects", &l.self_subjects, &mut lists.self_subjects),
                ("legal", &l.legal, &mut lists.legal),
                ("media", &l.media, &mut lists.media),
                ("political", &l.political, &mut lists.political),
                ("criticism", &l.criticism, &mut lists.criticism),
                (
                    "harmless_objects",
                    &l.harmless_objects,
                    &mut lists.harmless_objects,
                ),
            ];
            for (name, entries, target) in pairs {
                for entry in entries {
                    let folded = fold_phrase(entry);
                    if entry.starts_with('~') {
                        weak.insert(folded.clone());
                    }
                    if folded.is_empty() {
                        return Err(LexiconError::EmptyEntry {
                            language,
                            list: name.to_owned(),
                            entry: entry.clone(),
                        });
                    }
                    if !target.contains(&folded) {
                        target.push(folded);
                    }
                }
            }
        }
        let mut vocabulary = HashSet::new();
        for list in [
            &lists.sacres,
            &lists.insults_strong,
            &lists.insults_mild,
            &lists.slurs,
            &lists.harm_verbs,
        ] {
            for entry in list {
                if !entry.contains(' ') {
                    vocabulary.insert(entry.clone());
                }
            }
        }
        for canonical in variants.values() {
            vocabulary.insert(canonical.clone());
        }
        Ok(Lexicon {
            rewrites,
            variants,
            vocabulary,
            lists,
            weak,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_lexicons_parse_and_fill_every_list() {
        // Arrange / Act
        let lexicon = Lexicon::shipped().expect("shipped lexicons parse");

        // Assert
        let l = &lexicon.lists;
        for (name, list) in [
            ("sacres", &l.sacres),
            ("insults_strong", &l.insults_strong),
            ("threat_phrases", &l.threat_phrases),
            ("slurs", &l.slurs),
            ("legal", &l.legal),
            ("media", &l.media),
        ] {
            assert!(list.len() > 10, "list {name} is unexpectedly short");
        }
        assert_eq!(
            lexicon.variants.get("tabarnac").map(String::as_str),
            Some("tabarnak")
        );
        assert_eq!(
            lexicon.rewrites.get("jva"),
            Some(&vec!["je".to_owned(), "vais".to_owned()])
        );
    }

    #[test]
    fn phrases_are_folded_like_messages() {
        assert_eq!(fold_phrase("Mange d'la MARDE!"), "mange d la marde");
        assert_eq!(fold_phrase("nid-de-poule"), "nid de poule");
        assert_eq!(fold_phrase("  Câlisse  "), "calisse");
    }

    #[test]
    fn a_malformed_lexicon_is_an_error_not_a_panic() {
        let result = Lexicon::from_sources(&["language = 3"]);
        assert!(matches!(result, Err(LexiconError::Invalid { .. })));
    }
}
