//! Threshold tuning on the dev writer (`classifier tune`): the rules and
//! models run once per dev message, then every candidate threshold is
//! replayed over that evidence.
//!
//! What is chosen:
//! - `abuse_review_threshold`: the best abuse F1 (flagged = abusive or à
//!   vérifier) whose false-flag rate on clean messages stays within
//!   [`MAX_FALSE_FLAG_RATE`]; on a tie, the higher threshold;
//! - `abuse_flag_threshold`: the default, or the review threshold when that
//!   is higher;
//! - `topic_min_score`: the highest threshold that costs at most
//!   [`TOPIC_ACCURACY_GIVE`] of topic accuracy (abstentions wrong) against
//!   never abstaining: the topic abstains where the model is unsure, not
//!   where it is usually right.
//!
//! Never run on the headline split. Pure computation.

use models::TopicVerdict;

use crate::classifier::{CitizenClassifier, ClassifierSettings, Evidence};
use crate::corpus::CorpusRecord;
use crate::evaluation::{evaluate_verdicts, EvalReport, Verdict};
use crate::ClassifierInput;

/// Largest false-flag rate on dev's clean messages a tuned threshold may give.
pub const MAX_FALSE_FLAG_RATE: f64 = 0.02;

/// Topic accuracy the abstention threshold may cost on dev.
pub const TOPIC_ACCURACY_GIVE: f64 = 0.01;

/// Candidate review thresholds: 0.05 to 0.95 in steps of 0.025.
fn review_candidates() -> impl Iterator<Item = f32> {
    (2..=38).map(|i| i as f32 * 0.025)
}

/// Candidate topic thresholds: 0 to 0.70 in steps of 0.025.
fn topic_candidates() -> impl Iterator<Item = f32> {
    (0..=28).map(|i| i as f32 * 0.025)
}

/// One candidate review threshold on dev.
#[derive(Debug, Clone, PartialEq)]
pub struct AbuseRow {
    /// The review threshold.
    pub review: f32,
    /// Abuse F1 (flagged).
    pub f1: f64,
    /// Precision.
    pub precision: f64,
    /// Recall.
    pub recall: f64,
    /// False-flag rate on clean messages.
    pub false_flag_rate: f64,
}

/// One candidate topic threshold on dev.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicRow {
    /// The abstention threshold.
    pub min_score: f32,
    /// Accuracy over all messages (abstentions wrong).
    pub accuracy: f64,
    /// Accuracy over answered messages.
    pub answered_accuracy: f64,
    /// Share answered.
    pub answered: f64,
}

/// The sweep and the thresholds chosen.
#[derive(Debug, Clone)]
pub struct Tuning {
    /// Every review threshold tried.
    pub abuse: Vec<AbuseRow>,
    /// Every topic threshold tried.
    pub topic: Vec<TopicRow>,
    /// The settings with the chosen thresholds.
    pub chosen: ClassifierSettings,
    /// The dev report under the chosen thresholds.
    pub report: EvalReport,
}

/// The evidence of each record, computed once.
pub fn evidence_of(classifier: &CitizenClassifier, records: &[CorpusRecord]) -> Vec<Evidence> {
    records
        .iter()
        .map(|r| {
            classifier.evidence(&ClassifierInput {
                text: &r.text,
                subject: None,
                language: None,
            })
        })
        .collect()
}

fn replay(
    classifier: &CitizenClassifier,
    evidence: &[Evidence],
    settings: &ClassifierSettings,
) -> Vec<Verdict> {
    evidence
        .iter()
        .map(|e| classifier.decide(e, settings))
        .collect()
}

/// Sweeps the thresholds over dev records and chooses them (see the module
/// documentation).
pub fn tune(classifier: &CitizenClassifier, dev: &[CorpusRecord]) -> Tuning {
    let evidence = evidence_of(classifier, dev);
    let base = classifier.settings().clone();
    let version = crate::Classifier::version(classifier);

    let mut abuse = Vec::new();
    for review in review_candidates() {
        let settings = ClassifierSettings {
            abuse_review_threshold: review,
            abuse_flag_threshold: base.abuse_flag_threshold.max(review),
            ..base.clone()
        };
        let r = evaluate_verdicts(
            dev,
            &replay(classifier, &evidence, &settings),
            "dev",
            version,
            false,
        );
        abuse.push(AbuseRow {
            review,
            f1: r.all.abuse.f1(),
            precision: r.all.abuse.precision(),
            recall: r.all.abuse.recall(),
            false_flag_rate: r.all.false_flag_rate(),
        });
    }
    let review = abuse
        .iter()
        .filter(|row| row.false_flag_rate <= MAX_FALSE_FLAG_RATE)
        .fold(None::<&AbuseRow>, |best, row| match best {
            Some(b) if b.f1 > row.f1 => Some(b),
            _ => Some(row),
        })
        .map_or(base.abuse_review_threshold, |row| row.review);

    let mut topic = Vec::new();
    for min_score in topic_candidates() {
        let verdicts: Vec<TopicVerdict> = evidence
            .iter()
            .map(|e| {
                classifier
                    .decide(
                        e,
                        &ClassifierSettings {
                            topic_min_score: min_score,
                            ..base.clone()
                        },
                    )
                    .0
            })
            .collect();
        let correct = dev
            .iter()
            .zip(&verdicts)
            .filter(|(r, v)| matches!(v, TopicVerdict::Label { topic, .. } if *topic == r.topic))
            .count();
        let answered = verdicts
            .iter()
            .filter(|v| matches!(v, TopicVerdict::Label { .. }))
            .count();
        let n = dev.len().max(1) as f64;
        topic.push(TopicRow {
            min_score,
            accuracy: correct as f64 / n,
            answered_accuracy: correct as f64 / answered.max(1) as f64,
            answered: answered as f64 / n,
        });
    }
    let floor = topic.first().map_or(0.0, |row| row.accuracy) - TOPIC_ACCURACY_GIVE;
    let topic_min_score = topic
        .iter()
        .filter(|row| row.accuracy >= floor - 1e-9)
        .map(|row| row.min_score)
        .fold(0.0f32, f32::max);

    let chosen = ClassifierSettings {
        abuse_review_threshold: review,
        abuse_flag_threshold: base.abuse_flag_threshold.max(review),
        topic_min_score,
        ..base
    };
    let report = evaluate_verdicts(
        dev,
        &replay(classifier, &evidence, &chosen),
        "dev",
        version,
        true,
    );
    Tuning {
        abuse,
        topic,
        chosen,
        report,
    }
}
