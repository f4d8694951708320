//! Topic and abuse classification of citizen messages.
//!
//! Pure, synchronous computation over `models` types: no network, database or
//! async work. Models load once and are shared read-only.
//!
//! The entry points the gateway calls:
//! - [`CitizenClassifier::shipped`] (no configuration: the model embedded in
//!   the binary) or [`CitizenClassifier::load`] with [`ClassifierSettings`];
//! - [`Classifier::classify`] / [`Classifier::explain`] per message;
//! - [`classify_jsonl`] for `inbox classify`;
//! - [`train`] for `inbox classifier train`;
//! - [`evaluate_split`] for `inbox classifier eval`;
//! - [`fold_feedback`] to fold supervisor and agent decisions into training.

pub mod classifier;
pub mod corpus;
#[cfg(feature = "encoder")]
#[cfg(feature = "encoder")]
pub mod encoder;
pub mod evaluation;
pub mod features;
pub mod jsonl;
pub mod lexicon;
pub mod linear;
pub mod model;
pub mod normalise;
pub mod rng;
pub mod signals;
pub mod similarity;
pub mod taxonomy;
pub mod training;
pub mod tuning;

use models::{Classification, Language, Topic};

pub use classifier::{CitizenClassifier, ClassifierSettings, SettingsError};
pub use corpus::{fold_feedback, Corpus, CorpusError, CorpusRecord, FoldSummary, Split};
pub use evaluation::{evaluate, evaluate_split, EvalReport};
pub use jsonl::{classify_jsonl, JsonlSummary};
pub use model::ModelLoadError;
pub use training::{train, TrainError, TrainOptions, TrainReport};

/// What a classifier looks at: the citizen's new words (quotes and signatures
/// already removed by the connector), and the subject when there is one.
#[derive(Debug, Clone, Copy)]
pub struct ClassifierInput<'a> {
    /// The message text.
    pub text: &'a str,
    /// The subject line, if any.
    pub subject: Option<&'a str>,
    /// The language the connector detected, if any.
    pub language: Option<Language>,
}

/// A verdict with what an agent or a supervisor may want to see next to it.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// The verdict.
    pub classification: Classification,
    /// The most likely topic and its probability, also when the verdict
    /// abstains (a hint for the agent who picks).
    pub topic_candidate: Option<(Topic, f32)>,
    /// Why rude-looking words were not held against the writer, in French
    /// (e.g. `sacre au sujet d'une chose, pas d'une personne : « … »`).
    pub notes: Vec<String>,
}

/// A topic and abuse classifier.
pub trait Classifier: Send + Sync {
    /// Identifies the model files and rules, stored with every result.
    fn version(&self) -> &str;

    /// Classifies one message. Never panics; abstains when unsure.
    fn classify(&self, input: &ClassifierInput<'_>) -> Classification;

    /// Classifies one message and explains it. The default gives the
    /// verdict only.
    fn explain(&self, input: &ClassifierInput<'_>) -> Explanation {
        let classification = self.classify(input);
        let topic_candidate = match &classification.topic {
            models::TopicVerdict::Label { topic, score } => Some((*topic, *score)),
            models::TopicVerdict::Abstain { .. } => None,
        };
        Explanation {
            classification,
            topic_candidate,
            notes: Vec::new(),
        }
    }
}
