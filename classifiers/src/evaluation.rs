//! Evaluation on a labelled split (`inbox classifier eval` calls
//! [`evaluate_split`]): precision, recall and F1 per class, confusion
//! matrices, the false-flag rate on clean messages and the false flags on
//! each kind of hard negative, overall and on the hand-written records.
//!
//! A message counts as flagged when it goes to a supervisor (`Abusive` or
//! `ToVerify`); an abstaining topic counts as wrong in the accuracy and is
//! reported separately as coverage. Pure computation over records.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use models::{AbuseKind, AbuseVerdict, Topic, TopicVerdict};

use crate::classifier::CitizenClassifier;
use crate::corpus::{read_split, CorpusError, CorpusRecord, Split};
use crate::ClassifierInput;

/// Characters of a message shown in the list of false flags.
const EXCERPT_CHARS: usize = 110;

/// Precision, recall and F1 of one class.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ClassScores {
    /// Correct predictions of the class.
    pub true_positives: usize,
    /// Predictions of the class that were wrong.
    pub false_positives: usize,
    /// Members of the class predicted as something else.
    pub false_negatives: usize,
}

impl ClassScores {
    /// Precision (1 when nothing was predicted).
    pub fn precision(&self) -> f64 {
        ratio(
            self.true_positives,
            self.true_positives + self.false_positives,
            1.0,
        )
    }

    /// Recall (1 when the class is absent).
    pub fn recall(&self) -> f64 {
        ratio(
            self.true_positives,
            self.true_positives + self.false_negatives,
            1.0,
        )
    }

    /// Harmonic mean of precision and recall.
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }

    /// Number of members of the class.
    pub fn support(&self) -> usize {
        self.true_positives + self.false_negatives
    }
}

fn ratio(a: usize, b: usize, empty: f64) -> f64 {
    if b == 0 {
        empty
    } else {
        a as f64 / b as f64
    }
}

/// A clean message that was flagged.
#[derive(Debug, Clone, PartialEq)]
pub struct FalseFlag {
    /// Record id.
    pub id: String,
    /// Its hard-case tag, if any.
    pub hard_case: Option<String>,
    /// The start of the text.
    pub excerpt: String,
    /// The reasons given.
    pub reasons: Vec<String>,
}

/// Figures over a set of records.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    /// Records evaluated.
    pub records: usize,
    /// Records with a correct topic label.
    pub topic_correct: usize,
    /// Records whose topic abstained.
    pub topic_abstained: usize,
    /// Per-topic scores.
    pub topic_scores: BTreeMap<Topic, ClassScores>,
    /// Confusion: (gold, predicted or `None` for abstain) → count.
    pub topic_confusion: BTreeMap<(Topic, Option<Topic>), usize>,
    /// Flagged (sent to review) vs abusive.
    pub abuse: ClassScores,
    /// Confirmed flags (`Abusive` only) vs abusive.
    pub abuse_confirmed: ClassScores,
    /// Clean records.
    pub clean: usize,
    /// Per-kind scores (a flag of the wrong kind counts against both).
    pub kind_scores: BTreeMap<AbuseKind, ClassScores>,
    /// Confusion: (gold kind or clean, predicted kind or clean) → count;
    /// `Some(None)` is "à vérifier" without a kind.
    pub kind_confusion: BTreeMap<(Option<AbuseKind>, Option<Option<AbuseKind>>), usize>,
    /// Clean records per hard-case tag: (count, flagged).
    pub hard_negatives: BTreeMap<String, (usize, usize)>,
    /// Abusive records per hard-case tag: (count, flagged).
    pub hard_positives: BTreeMap<String, (usize, usize)>,
    /// Every false flag.
    pub false_flags: Vec<FalseFlag>,
}

impl Figures {
    /// Topic accuracy over all records (abstentions count as wrong).
    pub fn topic_accuracy(&self) -> f64 {
        ratio(self.topic_correct, self.records, 0.0)
    }

    /// Share of records with a topic label.
    pub fn topic_coverage(&self) -> f64 {
        ratio(self.records - self.topic_abstained, self.records, 0.0)
    }

    /// Share of clean records that were flagged.
    pub fn false_flag_rate(&self) -> f64 {
        ratio(self.abuse.false_positives, self.clean, 0.0)
    }

    fn add(&mut self, record: &CorpusRecord, topic: &TopicVerdict, abuse: &AbuseVerdict) {
        self.records += 1;
        let predicted_topic = match topic {
            TopicVerdict::Label { topic, .. } => Some(*topic),
            TopicVerdict::Abstain { .. } => None,
        };
        if predicted_topic.is_none() {
            self.topic_abstained += 1;
        }
        *self
            .topic_confusion
            .entry((record.topic, predicted_topic))
            .or_default() += 1;
        if predicted_topic == Some(record.topic) {
            self.topic_correct += 1;
            self.topic_scores
                .entry(record.topic)
                .or_default()
                .true_positives += 1;
        } else {
            self.topic_scores
                .entry(record.topic)
                .or_default()
                .false_negatives += 1;
            if let Some(p) = predicted_topic {
                self.topic_scores.entry(p).or_default().false_positives += 1;
            }
        }

        let flagged = abuse.needs_review();
        let confirmed = matches!(abuse, AbuseVerdict::Abusive { .. });
        let gold = record.abuse_kind.filter(|_| record.abusive);
        let predicted_kind: Option<Option<AbuseKind>> = match abuse {
            AbuseVerdict::Clean { .. } => None,
            AbuseVerdict::ToVerify { kind, .. } => Some(*kind),
            AbuseVerdict::Abusive { kind, .. } => Some(Some(*kind)),
        };
        *self
            .kind_confusion
            .entry((gold, predicted_kind))
            .or_default() += 1;
        for (scores, hit) in [
            (&mut self.abuse, flagged),
            (&mut self.abuse_confirmed, confirmed),
        ] {
            match (record.abusive, hit) {
                (true, true) => scores.true_positives += 1,
                (true, false) => scores.false_negatives += 1,
                (false, true) => scores.false_positives += 1,
                (false, false) => {}
            }
        }
        let predicted = predicted_kind.flatten();
        if gold == predicted && gold.is_some() {
            if let Some(k) = gold {
                self.kind_scores.entry(k).or_default().true_positives += 1;
            }
        } else {
            if let Some(k) = gold {
                self.kind_scores.entry(k).or_default().false_negatives += 1;
            }
            if let Some(k) = predicted {
                self.kind_scores.entry(k).or_default().false_positives += 1;
            }
        }
        if !record.abusive {
            self.clean += 1;
        }
        if let Some(tag) = &record.hard_case {
            let table = if record.abusive {
                &mut self.hard_positives
            } else {
                &mut self.hard_negatives
            };
            let entry = table.entry(tag.clone()).or_default();
            entry.0 += 1;
            if flagged {
                entry.1 += 1;
            }
        }
        if flagged && !record.abusive {
            let reasons = match abuse {
                AbuseVerdict::ToVerify { reasons, .. } | AbuseVerdict::Abusive { reasons, .. } => {
                    reasons.clone()
                }
                AbuseVerdict::Clean { .. } => Vec::new(),
            };
            let excerpt: String = record.text.chars().take(EXCERPT_CHARS).collect();
            self.false_flags.push(FalseFlag {
                id: record.id.clone(),
                hard_case: record.hard_case.clone(),
                excerpt: excerpt.replace('\n', " "),
                reasons,
            });
        }
    }
}

/// The evaluation of a classifier on a set of records.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalReport {
    /// What was evaluated (e.g. `test`).
    pub label: String,
    /// The classifier version.
    pub model_version: String,
    /// Figures over every record.
    pub all: Figures,
    /// Figures over the hand-written records only.
    pub handwritten: Figures,
    /// Messages where the classifier's errors were made (id, gold, predicted),
    /// topic and abuse, for inspection.
    pub errors: Vec<String>,
}

/// Evaluates a classifier on records.
pub fn evaluate(
    classifier: &CitizenClassifier,
    records: &[CorpusRecord],
    label: &str,
) -> EvalReport {
    let mut all = Figures::default();
    let mut handwritten = Figures::default();
    let mut errors = Vec::new();
    for r in records {
        let input = ClassifierInput {
            text: &r.text,
            subject: None,
            language: None,
        };
        let analysis = classifier.analyse(&input);
        let c = &analysis.classification;
        all.add(r, &c.topic, &c.abuse);
        if r.is_handwritten() {
            handwritten.add(r, &c.topic, &c.abuse);
        }
        let topic_ok = matches!(c.topic, TopicVerdict::Label { topic, .. } if topic == r.topic);
        if !topic_ok || c.abuse.needs_review() != r.abusive {
            let predicted_topic = match &c.topic {
                TopicVerdict::Label { topic, score } => format!("{topic} {score:.2}"),
                TopicVerdict::Abstain { .. } => "abstain".to_owned(),
            };
            let predicted_abuse = match &c.abuse {
                AbuseVerdict::Clean { score } => format!("clean {score:.2}"),
                AbuseVerdict::ToVerify { kind, score, .. } => {
                    format!("to_verify {} {score:.2}", kind.map_or("-", |k| k.as_str()))
                }
                AbuseVerdict::Abusive { kind, score, .. } => format!("abusive {kind} {score:.2}"),
            };
            let gold_abuse = r.abuse_kind.map_or("clean", |k| k.as_str());
            let excerpt: String = r.text.chars().take(EXCERPT_CHARS).collect();
            errors.push(format!(
                "{} [{} / {}] → [{} / {}] {}",
                r.id,
                r.topic,
                gold_abuse,
                predicted_topic,
                predicted_abuse,
                excerpt.replace('\n', " ")
            ));
        }
    }
    EvalReport {
        label: label.to_owned(),
        model_version: crate::Classifier::version(classifier).to_owned(),
        all,
        handwritten,
        errors,
    }
}

/// Evaluates a classifier on one split of a corpus directory.
///
/// # Errors
/// [`CorpusError`] when the split cannot be read.
pub fn evaluate_split(
    classifier: &CitizenClassifier,
    corpus_dir: &Path,
    split: Split,
) -> Result<EvalReport, CorpusError> {
    let records = read_split(corpus_dir, split)?;
    let label = match split {
        Split::Train => "train",
        Split::Dev => "dev",
        Split::Test => "test",
    };
    Ok(evaluate(classifier, &records, label))
}

fn write_figures(f: &mut fmt::Formatter<'_>, fig: &Figures, detailed: bool) -> fmt::Result {
    writeln!(
        f,
        "records {}  |  topic accuracy {:.3} (coverage {:.3})  |  abuse P {:.3} R {:.3} F1 {:.3}  |  false flags {}/{} clean = {:.2} %",
        fig.records,
        fig.topic_accuracy(),
        fig.topic_coverage(),
        fig.abuse.precision(),
        fig.abuse.recall(),
        fig.abuse.f1(),
        fig.abuse.false_positives,
        fig.clean,
        100.0 * fig.false_flag_rate()
    )?;
    writeln!(
        f,
        "confirmed flags only (Abusive): P {:.3} R {:.3} F1 {:.3}",
        fig.abuse_confirmed.precision(),
        fig.abuse_confirmed.recall(),
        fig.abuse_confirmed.f1()
    )?;
    if !detailed {
        return Ok(());
    }
    writeln!(f, "\nTopic           support  precision  recall  F1")?;
    for topic in Topic::ALL {
        let s = fig.topic_scores.get(topic).copied().unwrap_or_default();
        writeln!(
            f,
            "{:<16}{:>7}  {:>9.3}  {:>6.3}  {:.3}",
            topic.as_str(),
            s.support(),
            s.precision(),
            s.recall(),
            s.f1()
        )?;
    }
    writeln!(
        f,
        "\nTopic confusion (rows gold, columns predicted; last column abstain):"
    )?;
    write!(f, "{:<16}", "")?;
    for t in Topic::ALL {
        write!(f, "{:>5}", &t.as_str()[..4])?;
    }
    writeln!(f, "{:>5}", "abst")?;
    for gold in Topic::ALL {
        write!(f, "{:<16}", gold.as_str())?;
        for p in Topic::ALL {
            let n = fig
                .topic_confusion
                .get(&(*gold, Some(*p)))
                .copied()
                .unwrap_or(0);
            write!(f, "{n:>5}")?;
        }
        let n = fig
            .topic_confusion
            .get(&(*gold, None))
            .copied()
            .unwrap_or(0);
        writeln!(f, "{n:>5}")?;
    }
    writeln!(f, "\nAbuse kind      support  precision  recall  F1")?;
    for kind in AbuseKind::ALL {
        let s = fig.kind_scores.get(kind).copied().unwrap_or_default();
        writeln!(
            f,
            "{:<16}{:>7}  {:>9.3}  {:>6.3}  {:.3}",
            kind.as_str(),
            s.support(),
            s.precision(),
            s.recall(),
            s.f1()
        )?;
    }
    writeln!(
        f,
        "\nAbuse confusion (rows gold, columns predicted; '?' = à vérifier without kind):"
    )?;
    let columns: Vec<Option<Option<AbuseKind>>> = std::iter::once(None)
        .chain(AbuseKind::ALL.iter().map(|k| Some(Some(*k))))
        .chain(std::iter::once(Some(None)))
        .collect();
    write!(f, "{:<14}", "")?;
    for c in &columns {
        let name = match c {
            None => "clean",
            Some(Some(k)) => &k.as_str()[..5.min(k.as_str().len())],
            Some(None) => "?",
        };
        write!(f, "{name:>7}")?;
    }
    writeln!(f)?;
    let rows: Vec<Option<AbuseKind>> = std::iter::once(None)
        .chain(AbuseKind::ALL.iter().map(|k| Some(*k)))
        .collect();
    for gold in rows {
        write!(f, "{:<14}", gold.map_or("clean", |k| k.as_str()))?;
        for c in &columns {
            let n = fig.kind_confusion.get(&(gold, *c)).copied().unwrap_or(0);
            write!(f, "{n:>7}")?;
        }
        writeln!(f)?;
    }
    writeln!(f, "\nHard negatives (clean): tag, count, flagged")?;
    for (tag, (n, flagged)) in &fig.hard_negatives {
        writeln!(f, "  {tag:<22}{n:>5}{flagged:>6}")?;
    }
    writeln!(f, "Hard positives (abusive): tag, count, flagged")?;
    for (tag, (n, flagged)) in &fig.hard_positives {
        writeln!(f, "  {tag:<22}{n:>5}{flagged:>6}")?;
    }
    writeln!(f, "\nFalse flags ({}):", fig.false_flags.len())?;
    for ff in &fig.false_flags {
        writeln!(
            f,
            "  {} [{}] {}\n      → {}",
            ff.id,
            ff.hard_case.as_deref().unwrap_or("-"),
            ff.excerpt,
            ff.reasons.join(" | ")
        )?;
    }
    Ok(())
}

impl fmt::Display for EvalReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Evaluation on {} — {}", self.label, self.model_version)?;
        write_figures(f, &self.all, true)?;
        writeln!(f, "\nHand-written records only:")?;
        write_figures(f, &self.handwritten, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_follow_their_definitions() {
        let s = ClassScores {
            true_positives: 8,
            false_positives: 2,
            false_negatives: 8,
        };
        assert!((s.precision() - 0.8).abs() < 1e-9);
        assert!((s.recall() - 0.5).abs() < 1e-9);
        assert!((s.f1() - 2.0 * 0.8 * 0.5 / 1.3).abs() < 1e-9);
        assert_eq!(s.support(), 16);
    }
}
