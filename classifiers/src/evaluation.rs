//! Evaluation on a labelled split (`inbox classifier eval` calls
//! [`evaluate_split`]): abuse precision, recall, F1 and false-flag rate with
//! 95 % confidence intervals, recall per abuse kind, abuse F1 per language
//! and per channel, topic accuracy (abstentions wrong), accuracy on answered
//! messages and share answered, per-class scores, confusion matrices and the
//! false flags on each kind of hard negative.
//!
//! A message counts as flagged when it goes to a supervisor (`Abusive` or
//! `ToVerify`). Intervals: Wilson score intervals for proportions, a
//! percentile bootstrap with a fixed seed for F1 (so a report is the same on
//! every run). The headline split's messages are never listed one by one:
//! its report shows aggregate figures only. Pure computation over records
//! and verdicts.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::BufRead;
use std::path::Path;

use models::{AbuseKind, AbuseVerdict, Topic, TopicVerdict};
use serde_json::Value;

use crate::classifier::CitizenClassifier;
use crate::corpus::{Channel, Corpus, CorpusError, CorpusRecord, RecordLanguage, Split};
use crate::rng::SplitMix64;
use crate::ClassifierInput;

/// Characters of a message shown in the list of false flags.
const EXCERPT_CHARS: usize = 110;

/// z for a two-sided 95 % interval.
const Z_95: f64 = 1.959_964;

/// Bootstrap resamples for the F1 intervals.
pub const BOOTSTRAP_RESAMPLES: usize = 1_000;

/// Seed of the bootstrap: the same verdicts always give the same interval.
pub const BOOTSTRAP_SEED: u64 = 0xb007_57a9_2026_0001;

/// A 95 % confidence interval.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Interval {
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{:.3}, {:.3}]", self.low, self.high)
    }
}

/// The Wilson score interval of `successes` out of `n` (`[0, 1]` when `n`
/// is 0).
pub fn wilson(successes: usize, n: usize) -> Interval {
    if n == 0 {
        return Interval {
            low: 0.0,
            high: 1.0,
        };
    }
    let n_f = n as f64;
    let p = successes as f64 / n_f;
    let z2 = Z_95 * Z_95;
    let centre = (p + z2 / (2.0 * n_f)) / (1.0 + z2 / n_f);
    let half = Z_95 / (1.0 + z2 / n_f) * (p * (1.0 - p) / n_f + z2 / (4.0 * n_f * n_f)).sqrt();
    Interval {
        low: (centre - half).max(0.0),
        high: (centre + half).min(1.0),
    }
}

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

    fn count(&mut self, gold: bool, predicted: bool) {
        match (gold, predicted) {
            (true, true) => self.true_positives += 1,
            (true, false) => self.false_negatives += 1,
            (false, true) => self.false_positives += 1,
            (false, false) => {}
        }
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

/// The abuse outcome of one record, kept for the bootstrap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// The record is abusive.
    pub abusive: bool,
    /// The record was flagged.
    pub flagged: bool,
    /// Its labelled language.
    pub language: Option<RecordLanguage>,
    /// Its labelled channel.
    pub channel: Option<Channel>,
}

/// Abuse scores over outcomes.
fn scores_of<'a>(outcomes: impl Iterator<Item = &'a Outcome>) -> ClassScores {
    let mut s = ClassScores::default();
    for o in outcomes {
        s.count(o.abusive, o.flagged);
    }
    s
}

/// A percentile bootstrap interval of the abuse F1 of `outcomes`.
pub fn bootstrap_f1(outcomes: &[Outcome]) -> Interval {
    if outcomes.is_empty() {
        return Interval::default();
    }
    let mut rng = SplitMix64::new(BOOTSTRAP_SEED);
    let mut values: Vec<f64> = (0..BOOTSTRAP_RESAMPLES)
        .map(|_| {
            let mut s = ClassScores::default();
            for _ in 0..outcomes.len() {
                let o = &outcomes[rng.below(outcomes.len())];
                s.count(o.abusive, o.flagged);
            }
            s.f1()
        })
        .collect();
    values.sort_by(f64::total_cmp);
    let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
    Interval {
        low: at(0.025),
        high: at(0.975),
    }
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
    /// Each record's abuse outcome, in order.
    pub outcomes: Vec<Outcome>,
    /// Clean records.
    pub clean: usize,
    /// Abusive records per gold kind: (count, flagged whatever the kind).
    pub kind_flagged: BTreeMap<AbuseKind, (usize, usize)>,
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

    /// Topic accuracy over the records that got a label.
    pub fn answered_accuracy(&self) -> f64 {
        ratio(self.topic_correct, self.records - self.topic_abstained, 0.0)
    }

    /// Share of clean records that were flagged.
    pub fn false_flag_rate(&self) -> f64 {
        ratio(self.abuse.false_positives, self.clean, 0.0)
    }

    /// Abuse scores of the records in one language.
    pub fn language_scores(&self, language: RecordLanguage) -> ClassScores {
        scores_of(
            self.outcomes
                .iter()
                .filter(|o| o.language == Some(language)),
        )
    }

    /// Abuse scores of the records of one channel.
    pub fn channel_scores(&self, channel: Channel) -> ClassScores {
        scores_of(self.outcomes.iter().filter(|o| o.channel == Some(channel)))
    }

    /// Bootstrap interval of the abuse F1 of the records matching `keep`.
    pub fn f1_interval(&self, keep: impl Fn(&Outcome) -> bool) -> Interval {
        let chosen: Vec<Outcome> = self.outcomes.iter().copied().filter(keep).collect();
        bootstrap_f1(&chosen)
    }

    /// Adds one record and its verdict.
    pub fn add(&mut self, record: &CorpusRecord, topic: &TopicVerdict, abuse: &AbuseVerdict) {
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
        self.abuse.count(record.abusive, flagged);
        self.abuse_confirmed.count(record.abusive, confirmed);
        self.outcomes.push(Outcome {
            abusive: record.abusive,
            flagged,
            language: record.language,
            channel: record.channel,
        });
        if let Some(k) = gold {
            let entry = self.kind_flagged.entry(k).or_default();
            entry.0 += 1;
            if flagged {
                entry.1 += 1;
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
    /// Whether messages may be listed one by one (false for the headline
    /// split: its report shows aggregate figures only).
    pub inspectable: bool,
    /// Figures over every record.
    pub all: Figures,
    /// The records where the classifier erred (id, gold, predicted), topic
    /// and abuse; empty when the split is not inspectable.
    pub errors: Vec<String>,
}

/// A topic and abuse verdict, as the classifier or a predictions file gives it.
pub type Verdict = (TopicVerdict, AbuseVerdict);

/// Evaluates verdicts against records. `inspectable` says whether the
/// records may be listed one by one.
pub fn evaluate_verdicts(
    records: &[CorpusRecord],
    verdicts: &[Verdict],
    label: &str,
    model_version: &str,
    inspectable: bool,
) -> EvalReport {
    let mut all = Figures::default();
    let mut errors = Vec::new();
    for (r, (topic, abuse)) in records.iter().zip(verdicts) {
        all.add(r, topic, abuse);
        let topic_ok = matches!(topic, TopicVerdict::Label { topic, .. } if *topic == r.topic);
        if inspectable && (!topic_ok || abuse.needs_review() != r.abusive) {
            errors.push(describe_error(r, topic, abuse));
        }
    }
    if !inspectable {
        all.false_flags.clear();
    }
    EvalReport {
        label: label.to_owned(),
        model_version: model_version.to_owned(),
        inspectable,
        all,
        errors,
    }
}

fn describe_error(r: &CorpusRecord, topic: &TopicVerdict, abuse: &AbuseVerdict) -> String {
    let predicted_topic = match topic {
        TopicVerdict::Label { topic, score } => format!("{topic} {score:.2}"),
        TopicVerdict::Abstain { .. } => "abstain".to_owned(),
    };
    let predicted_abuse = match abuse {
        AbuseVerdict::Clean { score } => format!("clean {score:.2}"),
        AbuseVerdict::ToVerify { kind, score, .. } => {
            format!("to_verify {} {score:.2}", kind.map_or("-", |k| k.as_str()))
        }
        AbuseVerdict::Abusive { kind, score, .. } => format!("abusive {kind} {score:.2}"),
    };
    let gold_abuse = r.abuse_kind.map_or("clean", |k| k.as_str());
    let excerpt: String = r.text.chars().take(EXCERPT_CHARS).collect();
    format!(
        "{} [{} / {}] → [{} / {}] {}",
        r.id,
        r.topic,
        gold_abuse,
        predicted_topic,
        predicted_abuse,
        excerpt.replace('\n', " ")
    )
}

/// The verdicts of a classifier on records, in order.
pub fn classify_records(classifier: &CitizenClassifier, records: &[CorpusRecord]) -> Vec<Verdict> {
    records
        .iter()
        .map(|r| {
            let c = classifier
                .analyse(&ClassifierInput {
                    text: &r.text,
                    subject: None,
                    language: None,
                })
                .classification;
            (c.topic, c.abuse)
        })
        .collect()
}

/// Evaluates a classifier on records, which may be listed one by one.
pub fn evaluate(
    classifier: &CitizenClassifier,
    records: &[CorpusRecord],
    label: &str,
) -> EvalReport {
    let verdicts = classify_records(classifier, records);
    evaluate_verdicts(
        records,
        &verdicts,
        label,
        crate::Classifier::version(classifier),
        true,
    )
}

/// Evaluates a classifier on one split of a corpus directory (the headline
/// split's report has aggregate figures only).
///
/// # Errors
/// [`CorpusError`] when the corpus cannot be read.
pub fn evaluate_split(
    classifier: &CitizenClassifier,
    corpus_dir: &Path,
    split: Split,
) -> Result<EvalReport, CorpusError> {
    let corpus = Corpus::load(corpus_dir)?;
    let records = corpus.split(split);
    let verdicts = classify_records(classifier, records);
    Ok(evaluate_verdicts(
        records,
        &verdicts,
        split.as_str(),
        crate::Classifier::version(classifier),
        split.is_inspectable(),
    ))
}

/// Reads the output of `inbox classify` (JSON lines with `id`, `topic`,
/// `topic_score`, `abuse_verdict`, `abuse_kind`, `abuse_score`, `reasons`),
/// keyed by id, and the model version of the first line.
///
/// # Errors
/// A message naming the first line that cannot be read.
pub fn read_predictions(input: impl BufRead) -> Result<(HashMap<String, Verdict>, String), String> {
    let mut out = HashMap::new();
    let mut version = String::new();
    for (i, line) in input.lines().enumerate() {
        let line = line.map_err(|e| format!("line {}: {e}", i + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(&line).map_err(|e| format!("line {}: {e}", i + 1))?;
        let bad = |what: &str| format!("line {}: {what}", i + 1);
        let id = match v.get("id") {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => return Err(bad("no id")),
        };
        if version.is_empty() {
            if let Some(m) = v.get("model_version").and_then(Value::as_str) {
                version = m.to_owned();
            }
        }
        let score = |field: &str| v.get(field).and_then(Value::as_f64).unwrap_or(0.0) as f32;
        let topic = match v.get("topic").and_then(Value::as_str) {
            Some(slug) => TopicVerdict::Label {
                topic: Topic::parse(slug).ok_or_else(|| bad("unknown topic"))?,
                score: score("topic_score"),
            },
            None => TopicVerdict::Abstain {
                reason: String::new(),
            },
        };
        let kind = match v.get("abuse_kind").and_then(Value::as_str) {
            Some(k) => Some(AbuseKind::parse(k).ok_or_else(|| bad("unknown abuse kind"))?),
            None => None,
        };
        let reasons: Vec<String> = v
            .get("reasons")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|r| r.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let abuse_score = score("abuse_score");
        let abuse = match (v.get("abuse_verdict").and_then(Value::as_str), kind) {
            (Some("abusive"), Some(kind)) => AbuseVerdict::Abusive {
                kind,
                score: abuse_score,
                reasons,
            },
            (Some("to_verify"), kind) => AbuseVerdict::ToVerify {
                kind,
                score: abuse_score,
                reasons,
            },
            (Some("clean"), _) => AbuseVerdict::Clean { score: abuse_score },
            _ => return Err(bad("missing or inconsistent abuse_verdict")),
        };
        out.insert(id, (topic, abuse));
    }
    Ok((out, version))
}

/// A one-line summary of a report, as a Markdown table row: records, abuse
/// P / R / F1 and false-flag rate with intervals, recall on threats and on
/// hate, F1 in French and in English, topic accuracy (abstentions wrong)
/// with its interval, accuracy on answered and share answered.
pub fn summary_row(report: &EvalReport) -> String {
    let fig = &report.all;
    let a = &fig.abuse;
    let flagged = a.true_positives + a.false_positives;
    let abusive = a.support();
    let kind_recall = |k: AbuseKind| {
        let (n, hit) = fig.kind_flagged.get(&k).copied().unwrap_or_default();
        format!("{:.2} ({hit}/{n})", ratio(hit, n, 0.0))
    };
    let lang_f1 = |l: RecordLanguage| {
        let s = fig.language_scores(l);
        format!("{:.3} (n={})", s.f1(), s.support())
    };
    let answered = fig.records - fig.topic_abstained;
    format!(
        "| {} | {} | {:.3} {} | {:.3} {} | **{:.3}** {} | {}/{} = {:.1} % {} | {} | {} | {} | {} | **{:.3}** {} | {:.3} | {:.3} |",
        report.label,
        fig.records,
        a.precision(),
        wilson(a.true_positives, flagged),
        a.recall(),
        wilson(a.true_positives, abusive),
        a.f1(),
        fig.f1_interval(|_| true),
        a.false_positives,
        fig.clean,
        100.0 * fig.false_flag_rate(),
        pct(wilson(a.false_positives, fig.clean)),
        kind_recall(AbuseKind::Threat),
        kind_recall(AbuseKind::Hate),
        lang_f1(RecordLanguage::Fr),
        lang_f1(RecordLanguage::En),
        fig.topic_accuracy(),
        wilson(fig.topic_correct, fig.records),
        fig.answered_accuracy(),
        ratio(answered, fig.records, 0.0),
    )
}

/// The header of [`summary_row`]'s table.
pub const SUMMARY_HEADER: &str = "| split | records | abuse P [95 % CI] | abuse R [CI] | abuse F1 [CI] | false flags (clean) [CI] | threat R | hate R | F1 fr | F1 en | topic acc. [CI] | acc. answered | answered |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|";

fn pct(i: Interval) -> String {
    format!("[{:.1}, {:.1}] %", 100.0 * i.low, 100.0 * i.high)
}

fn write_figures(f: &mut fmt::Formatter<'_>, fig: &Figures, inspectable: bool) -> fmt::Result {
    let a = &fig.abuse;
    let flagged = a.true_positives + a.false_positives;
    writeln!(
        f,
        "records {}  (abusive {}, clean {})",
        fig.records,
        a.support(),
        fig.clean
    )?;
    writeln!(
        f,
        "abuse (flagged = abusive or à vérifier): P {:.3} {}  R {:.3} {}  F1 {:.3} {}",
        a.precision(),
        wilson(a.true_positives, flagged),
        a.recall(),
        wilson(a.true_positives, a.support()),
        a.f1(),
        fig.f1_interval(|_| true)
    )?;
    writeln!(
        f,
        "false flags: {}/{} clean = {:.2} % {}",
        a.false_positives,
        fig.clean,
        100.0 * fig.false_flag_rate(),
        pct(wilson(a.false_positives, fig.clean))
    )?;
    writeln!(
        f,
        "confirmed flags only (Abusive): P {:.3} R {:.3} F1 {:.3}",
        fig.abuse_confirmed.precision(),
        fig.abuse_confirmed.recall(),
        fig.abuse_confirmed.f1()
    )?;
    let answered = fig.records - fig.topic_abstained;
    writeln!(
        f,
        "topic: accuracy {:.3} {} (abstentions wrong)  |  accuracy on answered {:.3} {}  |  answered {}/{} = {:.3}",
        fig.topic_accuracy(),
        wilson(fig.topic_correct, fig.records),
        fig.answered_accuracy(),
        wilson(fig.topic_correct, answered),
        answered,
        fig.records,
        fig.topic_coverage()
    )?;

    writeln!(
        f,
        "\nRecall per abuse kind (flagged, whatever kind; right kind)"
    )?;
    for kind in AbuseKind::ALL {
        let (n, hit) = fig.kind_flagged.get(kind).copied().unwrap_or_default();
        let s = fig.kind_scores.get(kind).copied().unwrap_or_default();
        writeln!(
            f,
            "  {:<14}{:>5}  flagged {:.3} {}  right kind {:.3}  (kind precision {:.3})",
            kind.as_str(),
            n,
            ratio(hit, n, 0.0),
            wilson(hit, n),
            s.recall(),
            s.precision()
        )?;
    }
    writeln!(
        f,
        "\nAbuse per language                 records abusive     P      R      F1  [95 % CI]"
    )?;
    for l in RecordLanguage::ALL {
        let n = fig
            .outcomes
            .iter()
            .filter(|o| o.language == Some(*l))
            .count();
        let s = fig.language_scores(*l);
        writeln!(
            f,
            "  {:<32}{:>7}{:>8}  {:.3}  {:.3}  {:.3} {}",
            l.as_str(),
            n,
            s.support(),
            s.precision(),
            s.recall(),
            s.f1(),
            fig.f1_interval(|o| o.language == Some(*l))
        )?;
    }
    writeln!(f, "Abuse per channel")?;
    for c in Channel::ALL {
        let n = fig
            .outcomes
            .iter()
            .filter(|o| o.channel == Some(*c))
            .count();
        let s = fig.channel_scores(*c);
        writeln!(
            f,
            "  {:<32}{:>7}{:>8}  {:.3}  {:.3}  {:.3} {}",
            c.as_str(),
            n,
            s.support(),
            s.precision(),
            s.recall(),
            s.f1(),
            fig.f1_interval(|o| o.channel == Some(*c))
        )?;
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
    if !inspectable {
        return Ok(());
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
        write_figures(f, &self.all, self.inspectable)
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

    #[test]
    fn the_wilson_interval_matches_published_values() {
        // 8 of 10: Wilson 95 % interval [0.490, 0.943] (Newcombe 1998).
        let i = wilson(8, 10);
        assert!((i.low - 0.490).abs() < 1e-3, "{i}");
        assert!((i.high - 0.943).abs() < 1e-3, "{i}");
        let zero = wilson(0, 50);
        assert_eq!(zero.low, 0.0);
        assert!((zero.high - 0.0714).abs() < 1e-3, "{zero}");
    }

    #[test]
    fn the_bootstrap_interval_is_fixed_by_its_seed_and_holds_the_estimate() {
        // Arrange
        let outcomes: Vec<Outcome> = (0..200)
            .map(|i| Outcome {
                abusive: i % 4 == 0,
                flagged: i % 4 == 0 && i % 20 != 0 || i % 50 == 1,
                language: None,
                channel: None,
            })
            .collect();
        let f1 = scores_of(outcomes.iter()).f1();

        // Act
        let a = bootstrap_f1(&outcomes);
        let b = bootstrap_f1(&outcomes);

        // Assert
        assert_eq!(a, b);
        assert!(a.low < f1 && f1 < a.high, "{f1} outside {a}");
        assert!(a.high - a.low < 0.3, "{a}");
    }

    #[test]
    fn predictions_in_the_classify_format_are_read_back() {
        let lines = concat!(
            r#"{"id":"w6-0001","topic":null,"topic_score":0.2,"abusive":true,"abuse_verdict":"to_verify","abuse_kind":null,"abuse_score":0.7,"reasons":["x"],"notes":[],"model_version":"v1"}"#,
            "\n",
            r#"{"id":"w6-0002","topic":"waste","topic_score":0.9,"abusive":false,"abuse_verdict":"clean","abuse_kind":null,"abuse_score":0.1,"reasons":[],"notes":[],"model_version":"v1"}"#,
        );
        let (predictions, version) = read_predictions(lines.as_bytes()).expect("reads");
        assert_eq!(version, "v1");
        assert!(matches!(
            predictions.get("w6-0001"),
            Some((
                TopicVerdict::Abstain { .. },
                AbuseVerdict::ToVerify { kind: None, .. }
            ))
        ));
        assert!(matches!(
            predictions.get("w6-0002"),
            Some((
                TopicVerdict::Label {
                    topic: Topic::Waste,
                    ..
                },
                AbuseVerdict::Clean { .. }
            ))
        ));
    }
}
