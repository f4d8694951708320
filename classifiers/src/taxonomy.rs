//! The 13 topics of a citizen request as data: French and English names,
//! descriptions and hint keywords, read from `data/taxonomy.toml`.
//!
//! Which department handles a topic is the gateway's configuration, not
//! this module's. Pure data; the file is embedded at build time.

use std::collections::HashMap;

use models::Topic;
use serde::Deserialize;

use crate::lexicon::fold_phrase;

/// The shipped taxonomy file.
pub const TAXONOMY_TOML: &str = include_str!("../data/taxonomy.toml");

/// Longest keyword, in words; longer entries are rejected at load.
const MAX_KEYWORD_WORDS: usize = 4;

/// The taxonomy file is not usable.
#[derive(Debug, thiserror::Error)]
pub enum TaxonomyError {
    /// The TOML does not parse or does not have the expected shape.
    #[error("taxonomy is not valid TOML: {0}")]
    Invalid(#[from] Box<toml::de::Error>),
    /// A slug is not one of `models::Topic`.
    #[error("taxonomy names an unknown topic {0:?}")]
    UnknownTopic(String),
    /// A topic is listed twice or not at all.
    #[error("taxonomy must list each of the 13 topics once; problem with {0:?}")]
    Coverage(String),
    /// A keyword is empty or longer than four words once folded.
    #[error("taxonomy keyword {0:?} must be one to four words")]
    BadKeyword(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TaxonomyFile {
    topic: Vec<TopicFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TopicFile {
    slug: String,
    name_fr: String,
    name_en: String,
    description_fr: String,
    description_en: String,
    keywords: Vec<String>,
}

/// One topic, described for people and with keywords for the model.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicInfo {
    /// The topic.
    pub topic: Topic,
    /// French name, for agents and acknowledgements.
    pub name_fr: String,
    /// English name.
    pub name_en: String,
    /// French description.
    pub description_fr: String,
    /// English description.
    pub description_en: String,
    /// Folded hint keywords (one to four words).
    pub keywords: Vec<String>,
}

/// The whole taxonomy.
#[derive(Debug, Clone)]
pub struct Taxonomy {
    topics: Vec<TopicInfo>,
    keyword_index: HashMap<String, Vec<Topic>>,
}

impl Taxonomy {
    /// Parses the shipped taxonomy.
    ///
    /// # Errors
    /// [`TaxonomyError`] when the data file is malformed; covered by tests.
    pub fn shipped() -> Result<Self, TaxonomyError> {
        Self::parse(TAXONOMY_TOML)
    }

    /// Parses a taxonomy file.
    ///
    /// # Errors
    /// [`TaxonomyError`] when the TOML is malformed, a slug is unknown, a
    /// topic is missing or repeated, or a keyword is empty or too long.
    pub fn parse(source: &str) -> Result<Self, TaxonomyError> {
        let file: TaxonomyFile = toml::from_str(source).map_err(Box::new)?;
        let mut topics: Vec<TopicInfo> = Vec::new();
        let mut keyword_index: HashMap<String, Vec<Topic>> = HashMap::new();
        for t in file.topic {
            let topic =
                Topic::parse(&t.slug).ok_or_else(|| TaxonomyError::UnknownTopic(t.slug.clone()))?;
            if topics.iter().any(|x| x.topic == topic) {
                return Err(TaxonomyError::Coverage(t.slug));
            }
            let mut keywords = Vec::new();
            for k in &t.keywords {
                let folded = fold_phrase(k);
                let words = folded.split(' ').count();
                if folded.is_empty() || words > MAX_KEYWORD_WORDS {
                    return Err(TaxonomyError::BadKeyword(k.clone()));
                }
                let entry = keyword_index.entry(folded.clone()).or_default();
                if !entry.contains(&topic) {
                    entry.push(topic);
                }
                keywords.push(folded);
            }
            topics.push(TopicInfo {
                topic,
                name_fr: t.name_fr,
                name_en: t.name_en,
                description_fr: t.description_fr,
                description_en: t.description_en,
                keywords,
            });
        }
        for topic in Topic::ALL {
            if !topics.iter().any(|t| t.topic == *topic) {
                return Err(TaxonomyError::Coverage(topic.as_str().to_owned()));
            }
        }
        topics.sort_by_key(|t| t.topic);
        Ok(Taxonomy {
            topics,
            keyword_index,
        })
    }

    /// Every topic, in `Topic::ALL` order.
    pub fn topics(&self) -> &[TopicInfo] {
        &self.topics
    }

    /// The description of one topic.
    pub fn info(&self, topic: Topic) -> Option<&TopicInfo> {
        self.topics.iter().find(|t| t.topic == topic)
    }

    /// The topics whose keywords occur in a sequence of folded words, once per
    /// occurrence (a keyword of two words counts when both words follow each
    /// other).
    pub fn keyword_hits(&self, words: &[&str]) -> Vec<Topic> {
        let mut hits = Vec::new();
        for i in 0..words.len() {
            let mut phrase = String::new();
            for n in 0..MAX_KEYWORD_WORDS {
                let Some(w) = words.get(i + n) else { break };
                if n > 0 {
                    phrase.push(' ');
                }
                phrase.push_str(w);
                if let Some(topics) = self.keyword_index.get(&phrase) {
                    hits.extend_from_slice(topics);
                }
            }
        }
        hits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_taxonomy_lists_all_thirteen_topics_in_both_languages() {
        // Arrange / Act
        let taxonomy = Taxonomy::shipped().expect("shipped taxonomy parses");

        // Assert
        assert_eq!(taxonomy.topics().len(), 13);
        for info in taxonomy.topics() {
            assert!(
                !info.name_fr.is_empty() && !info.name_en.is_empty(),
                "{}",
                info.topic
            );
            assert!(
                info.keywords.len() >= 10,
                "topic {} has too few keywords",
                info.topic
            );
        }
    }

    #[test]
    fn keywords_of_one_to_three_words_are_found() {
        // Arrange
        let taxonomy = Taxonomy::shipped().expect("shipped taxonomy parses");
        let words = ["le", "nid", "de", "poule", "et", "le", "bac", "brun"];

        // Act
        let hits = taxonomy.keyword_hits(&words);

        // Assert
        assert!(hits.contains(&Topic::RoadsSnow));
        assert!(hits.contains(&Topic::Waste));
    }

    #[test]
    fn a_missing_topic_is_an_error() {
        let source = r#"[[topic]]
slug = "jobs"
name_fr = "Emplois"
name_en = "Jobs"
description_fr = "x"
description_en = "x"
keywords = ["emploi"]
"#;
        assert!(matches!(
            Taxonomy::parse(source),
            Err(TaxonomyError::Coverage(_))
        ));
    }
}
