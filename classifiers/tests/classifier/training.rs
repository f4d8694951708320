//! Training, model files and evaluation through the public API.

use std::fs;

use classifiers::corpus::{read_split, read_training_records, Corpus, Split, WRITERS_DIR};
use classifiers::model::{ModelFiles, LINEAR_FILE, MANIFEST_FILE};
use classifiers::similarity::{near_duplicates, NEAR_DUPLICATE_JACCARD};
use classifiers::training::{train_records, TrainOptions};
use classifiers::{evaluate_split, CitizenClassifier, ClassifierSettings, ModelLoadError};

use crate::helpers::{corpus_dir, crate_dir, shipped};

/// Records used where a test only needs some training data.
const SMALL_CORPUS: usize = 300;

#[test]
fn training_twice_on_the_same_records_writes_byte_identical_files() {
    // Arrange
    let records: Vec<_> = read_training_records(&corpus_dir())
        .expect("corpus")
        .into_iter()
        .take(SMALL_CORPUS)
        .collect();
    let a = tempfile::tempdir().expect("temp dir");
    let b = tempfile::tempdir().expect("temp dir");

    // Act
    train_records(&records, a.path(), &TrainOptions::default()).expect("first training");
    train_records(&records, b.path(), &TrainOptions::default()).expect("second training");

    // Assert
    for file in [MANIFEST_FILE, LINEAR_FILE] {
        let x = fs::read(a.path().join(file)).expect("file a");
        let y = fs::read(b.path().join(file)).expect("file b");
        assert!(x == y, "{file} differs between two runs");
    }
}

#[test]
fn the_shipped_model_is_what_the_shipped_corpus_trains_to() {
    // Arrange
    let dir = tempfile::tempdir().expect("temp dir");

    // Act
    classifiers::train(&corpus_dir(), dir.path(), &TrainOptions::default()).expect("training");

    // Assert
    for file in [MANIFEST_FILE, LINEAR_FILE] {
        let trained = fs::read(dir.path().join(file)).expect("trained file");
        let shipped = fs::read(crate_dir().join("model").join(file)).expect("shipped file");
        assert!(
            trained == shipped,
            "{file} of the shipped model is stale: retrain with `classifier train`"
        );
    }
}

#[test]
fn the_shipped_model_files_stay_small() {
    let total: u64 = fs::read_dir(crate_dir().join("model"))
        .expect("model dir")
        .map(|e| e.expect("entry").metadata().expect("metadata").len())
        .sum();
    assert!(total <= 5 * 1024 * 1024, "model files take {total} bytes");
}

#[test]
fn a_missing_model_file_is_a_typed_load_error() {
    // Arrange
    let dir = tempfile::tempdir().expect("temp dir");
    fs::copy(
        crate_dir().join("model").join(MANIFEST_FILE),
        dir.path().join(MANIFEST_FILE),
    )
    .expect("copy");

    // Act
    let result = CitizenClassifier::from_model_dir(dir.path());

    // Assert
    assert!(
        matches!(result, Err(ModelLoadError::Missing(_))),
        "{result:?}"
    );
}

#[test]
fn a_corrupt_model_file_is_a_typed_load_error() {
    // Arrange
    let dir = tempfile::tempdir().expect("temp dir");
    for file in [MANIFEST_FILE, LINEAR_FILE] {
        fs::copy(crate_dir().join("model").join(file), dir.path().join(file)).expect("copy");
    }
    let path = dir.path().join(LINEAR_FILE);
    let mut bytes = fs::read(&path).expect("read");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    fs::write(&path, &bytes).expect("write");

    // Act
    let result = CitizenClassifier::from_model_dir(dir.path());

    // Assert
    assert!(
        matches!(result, Err(ModelLoadError::Checksum(_))),
        "{result:?}"
    );
}

#[test]
fn a_garbled_manifest_is_a_typed_load_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    fs::write(dir.path().join(MANIFEST_FILE), b"{ not json").expect("write");
    fs::copy(
        crate_dir().join("model").join(LINEAR_FILE),
        dir.path().join(LINEAR_FILE),
    )
    .expect("copy");
    let result = ModelFiles::read_dir(dir.path());
    assert!(
        matches!(result, Err(ModelLoadError::Manifest(_))),
        "{result:?}"
    );
}

#[test]
fn invalid_settings_are_reported_all_at_once() {
    // Arrange
    let settings = ClassifierSettings {
        abuse_flag_threshold: 0.4,
        abuse_review_threshold: 0.6,
        topic_min_score: 1.5,
        ..ClassifierSettings::default()
    };

    // Act
    let error = settings.validate().expect_err("invalid settings");

    // Assert
    assert_eq!(error.problems.len(), 2, "{error}");
}

#[test]
fn settings_parse_with_defaults_and_reject_unknown_keys() {
    let parsed: ClassifierSettings =
        serde_json::from_str(r#"{"topic_min_score": 0.5}"#).expect("parses");
    assert_eq!(parsed.topic_min_score, 0.5);
    assert_eq!(
        parsed.abuse_flag_threshold,
        ClassifierSettings::default().abuse_flag_threshold
    );
    assert!(serde_json::from_str::<ClassifierSettings>(r#"{"topic_min_scor": 0.5}"#).is_err());
}

/// Floors on the headline writer (test), a little below what the shipped
/// model measures there (README), so that a change that loses ground fails.
const HEADLINE_MIN_ABUSE_F1: f64 = 0.87;
const HEADLINE_MAX_FALSE_FLAG_RATE: f64 = 0.025;
const HEADLINE_MIN_TOPIC_ACCURACY: f64 = 0.84;

#[test]
fn the_shipped_model_keeps_its_figures_on_the_headline_writer() {
    // Arrange / Act
    let report = evaluate_split(shipped(), &corpus_dir(), Split::Test).expect("test split");

    // Assert: aggregate figures only; the headline writer is never listed.
    let all = &report.all;
    assert!(
        all.records >= 700,
        "headline writer has {} records",
        all.records
    );
    assert!(report.errors.is_empty() && all.false_flags.is_empty());
    assert!(
        all.abuse.f1() >= HEADLINE_MIN_ABUSE_F1,
        "abuse F1 {:.3}",
        all.abuse.f1()
    );
    assert!(
        all.false_flag_rate() <= HEADLINE_MAX_FALSE_FLAG_RATE,
        "false flags {:.3}",
        all.false_flag_rate()
    );
    assert!(
        all.topic_accuracy() >= HEADLINE_MIN_TOPIC_ACCURACY,
        "topic accuracy {:.3}",
        all.topic_accuracy()
    );
    for tag in ["legal_threat", "media_threat", "sacre_about_thing"] {
        let (count, flagged) = all.hard_negatives.get(tag).copied().unwrap_or_default();
        assert!(count > 0, "no {tag} record in the headline writer");
        assert!(
            flagged * 10 <= count,
            "{flagged} of {count} {tag} records flagged"
        );
    }
}

#[test]
fn the_headline_report_never_lists_its_messages() {
    let report = evaluate_split(shipped(), &corpus_dir(), Split::Test).expect("test split");
    let text = report.to_string();
    assert!(!text.contains("w7-"), "the headline report names a record");
    assert!(text.contains("Recall per abuse kind"));
}

#[test]
fn the_corpus_is_split_by_writer_without_near_copies_across_splits() {
    // Arrange / Act
    let corpus = Corpus::load(&corpus_dir()).expect("corpus");

    // Assert
    let writer = |r: &classifiers::CorpusRecord| r.writer.clone().unwrap_or_default();
    assert!(corpus.dev.iter().all(|r| writer(r) == "w6"));
    assert!(corpus.test.iter().all(|r| writer(r) == "w7"));
    assert!(corpus
        .train
        .iter()
        .all(|r| !matches!(writer(r).as_str(), "w6" | "w7")));
    assert!(corpus.generated_eval.iter().all(|r| r.is_generated()));
    let test: Vec<&str> = corpus.test.iter().map(|r| r.text.as_str()).collect();
    let train: Vec<&str> = corpus.train.iter().map(|r| r.text.as_str()).collect();
    let found = near_duplicates(&test, &train, NEAR_DUPLICATE_JACCARD);
    assert!(
        found.iter().all(Option::is_none),
        "a training record near-copies a test one"
    );
}

#[test]
fn the_evaluation_report_displays_per_class_scores_and_false_flags() {
    let records: Vec<_> = read_split(&corpus_dir(), Split::Dev)
        .expect("dev")
        .into_iter()
        .take(80)
        .collect();
    let report = classifiers::evaluate(shipped(), &records, "dev sample");
    let text = report.to_string();
    for needle in [
        "Topic",
        "precision",
        "Abuse confusion",
        "Hard negatives",
        "False flags",
        "insult",
    ] {
        assert!(text.contains(needle), "report lacks {needle}:\n{text}");
    }
}

#[test]
fn feedback_folded_into_a_corpus_is_trained_on() {
    // Arrange
    let dir = tempfile::tempdir().expect("temp dir");
    let train: Vec<_> = read_training_records(&corpus_dir())
        .expect("train")
        .into_iter()
        .take(120)
        .collect();
    let writers = dir.path().join(WRITERS_DIR);
    std::fs::create_dir_all(&writers).expect("writers dir");
    classifiers::corpus::write_records(&writers.join("w1.jsonl"), &train).expect("write train");
    let export = r#"{"id":"9001","text":"Le glouglou du regard pluvial fait peur aux enfants","topic":"water_sewer","abusive":false,"abuse_kind":null}"#;

    // Act
    let summary = classifiers::fold_feedback(dir.path(), export.as_bytes()).expect("fold");
    let model = dir.path().join("model");
    let report = classifiers::train(dir.path(), &model, &TrainOptions::default()).expect("train");

    // Assert
    assert_eq!(summary.added, 1);
    assert_eq!(report.records, 121);
}
