//! Shared fixtures: the shipped classifier (loaded once) and paths.

use std::path::PathBuf;
use std::sync::OnceLock;

use classifiers::{CitizenClassifier, Classifier, ClassifierInput};
use models::Classification;

/// The classifier with the model embedded in the crate, loaded once.
pub fn shipped() -> &'static CitizenClassifier {
    static SHIPPED: OnceLock<CitizenClassifier> = OnceLock::new();
    SHIPPED.get_or_init(|| CitizenClassifier::shipped().expect("the shipped model loads"))
}

/// Classifies a text with the shipped classifier.
pub fn classify(text: &str) -> Classification {
    shipped().classify(&ClassifierInput {
        text,
        subject: None,
        language: None,
    })
}

/// The crate's directory.
pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The shipped corpus directory.
pub fn corpus_dir() -> PathBuf {
    crate_dir().join("corpus")
}

/// The encoder directory given by the test runner. Fails, never skips,
/// when it is not set: the encoder path must be tested.
#[cfg(feature = "encoder")]
pub fn encoder_dir() -> PathBuf {
    match std::env::var_os("INBOX_TEST_ENCODER_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => panic!(
            "INBOX_TEST_ENCODER_DIR is not set: run \
             `export INBOX_TEST_ENCODER_DIR=\"$(classifiers/scripts/fetch-test-model.sh)\"` first"
        ),
    }
}
