//! Topic and abuse classification of citizen messages.
//!
//! Pure, synchronous computation over `models` types: no network, database or
//! async work. Models load once and are shared read-only.

use models::{Classification, Language};

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

/// A topic and abuse classifier.
pub trait Classifier: Send + Sync {
    /// Identifies the model files and rules, stored with every result.
    fn version(&self) -> &str;

    /// Classifies one message. Never panics; abstains when unsure.
    fn classify(&self, input: &ClassifierInput<'_>) -> Classification;
}
