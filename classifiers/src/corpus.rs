//! The labelled corpus: record format, JSON-lines files, the split by
//! writer, near-duplicate removal across splits, and folding of labelled
//! examples exported by the gateway (supervisor decisions, agent topic
//! corrections) into training.
//!
//! A corpus directory holds:
//! - `writers/<writer>.jsonl`: messages written independently by several
//!   writers (see `GUIDELINES.md`); each writer's set has one role, fixed by
//!   [`WRITER_ROLES`]: training, dev (tuning) or the headline test;
//! - `handwritten.jsonl`: hand-written messages (training);
//! - `feedback.jsonl`, once feedback has been folded in (training);
//! - `generated.jsonl`: template-generated messages (`gen-…`), a secondary
//!   evaluation line and, optionally and down-weighted, training data.
//!
//! The split is by writer, never by row, so that a writer's habits cannot be
//! learned and then measured. [`Corpus::load`] also removes near-duplicates
//! (see [`crate::similarity`]) across splits, from the lower split: a
//! training message close to a dev or test message is dropped, never the
//! measured one. File I/O only; no network.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::fs;
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use models::{AbuseKind, Topic};
use serde::{Deserialize, Serialize};

use crate::features::fnv1a;
use crate::similarity::{near_duplicates, NEAR_DUPLICATE_JACCARD};

/// The seed that puts each generated record in the training part or the
/// evaluation part. Changing it reshuffles every generated figure; don't.
pub const SPLIT_SEED: &str = "sainte-julie-2026";

/// Percent of generated records in the evaluation part (the rest may train).
pub const GENERATED_EVAL_PERCENT: u64 = 30;

/// Folder of the writers' files, in a corpus directory.
pub const WRITERS_DIR: &str = "writers";

/// File of hand-written records.
pub const HANDWRITTEN_FILE: &str = "handwritten.jsonl";

/// File of generated records.
pub const GENERATED_FILE: &str = "generated.jsonl";

/// File of gateway feedback folded into training.
pub const FEEDBACK_FILE: &str = "feedback.jsonl";

/// What each writer's set is for. A writer file not listed here is an
/// error, so that no set is silently trained on or left out.
pub const WRITER_ROLES: &[(&str, Split)] = &[
    ("w1", Split::Train),
    ("w2", Split::Train),
    ("w3", Split::Train),
    ("w4", Split::Train),
    ("w5", Split::Train),
    ("w6", Split::Dev),
    ("w7", Split::Test),
];

/// The language of a message, as labelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordLanguage {
    /// French.
    Fr,
    /// English.
    En,
    /// Both languages in one message.
    Mixed,
}

impl RecordLanguage {
    /// Every language, in report order.
    pub const ALL: &'static [RecordLanguage] = &[
        RecordLanguage::Fr,
        RecordLanguage::En,
        RecordLanguage::Mixed,
    ];

    /// The slug (`fr`, `en`, `mixed`).
    pub fn as_str(self) -> &'static str {
        match self {
            RecordLanguage::Fr => "fr",
            RecordLanguage::En => "en",
            RecordLanguage::Mixed => "mixed",
        }
    }
}

/// The channel a message came through, as labelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// An e-mail.
    Email,
    /// A Facebook Messenger private message.
    Messenger,
    /// An Instagram private message.
    Instagram,
    /// The web contact form.
    WebForm,
}

impl Channel {
    /// Every channel, in report order.
    pub const ALL: &'static [Channel] = &[
        Channel::Email,
        Channel::Messenger,
        Channel::Instagram,
        Channel::WebForm,
    ];

    /// The slug (`email`, `messenger`, `instagram`, `web_form`).
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Messenger => "messenger",
            Channel::Instagram => "instagram",
            Channel::WebForm => "web_form",
        }
    }
}

/// One labelled message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorpusRecord {
    /// Unique id: `<writer>-NNNN` from a writer, `gen-…` generated, `hand-…`
    /// written by hand, `fb-…` feedback.
    pub id: String,
    /// The writer's set (`w1` …), for writers' records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub writer: Option<String>,
    /// The language, when labelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<RecordLanguage>,
    /// The channel, when labelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<Channel>,
    /// The message text.
    pub text: String,
    /// The topic.
    pub topic: Topic,
    /// Whether the message is abusive.
    pub abusive: bool,
    /// The kind of abuse; `null` when not abusive.
    pub abuse_kind: Option<AbuseKind>,
    /// A tag for hard cases (`sacre_about_thing`, `legal_threat`, `obfuscated`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hard_case: Option<String>,
}

impl CorpusRecord {
    /// Checks that `abusive` and `abuse_kind` agree and the text is not empty.
    ///
    /// # Errors
    /// A description of the inconsistency.
    pub fn validate(&self) -> Result<(), String> {
        if self.id.trim().is_empty() {
            return Err("empty id".to_owned());
        }
        if self.text.trim().is_empty() {
            return Err(format!("record {}: empty text", self.id));
        }
        match (self.abusive, self.abuse_kind) {
            (true, None) => Err(format!("record {}: abusive without abuse_kind", self.id)),
            (false, Some(_)) => Err(format!("record {}: abuse_kind on a clean message", self.id)),
            _ => Ok(()),
        }
    }

    /// Whether the record was written by hand (not generated).
    pub fn is_handwritten(&self) -> bool {
        self.id.starts_with("hand-")
    }

    /// Whether the record was made by the corpus generator.
    pub fn is_generated(&self) -> bool {
        self.id.starts_with("gen-")
    }
}

/// A part of the corpus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Split {
    /// Training data: the training writers, the hand-written records and
    /// folded feedback.
    Train,
    /// Tuning data (thresholds, calibration, choices): the dev writer.
    Dev,
    /// The headline measurement: the held-out writer. Never used for
    /// training or tuning, and only read as aggregate figures.
    Test,
    /// The evaluation part of the generated records: a secondary line.
    Generated,
}

impl Split {
    /// Reads a split name (`train`, `dev`, `test`, `generated`).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "train" => Some(Split::Train),
            "dev" => Some(Split::Dev),
            "test" => Some(Split::Test),
            "generated" => Some(Split::Generated),
            _ => None,
        }
    }

    /// The split's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Dev => "dev",
            Split::Test => "test",
            Split::Generated => "generated",
        }
    }

    /// Whether its messages may be read one by one (error lists, excerpts).
    /// The headline writer's may not: only its aggregate figures are shown.
    pub fn is_inspectable(self) -> bool {
        self != Split::Test
    }

    /// Whether a generated record id belongs to the evaluation part (fixed by
    /// [`SPLIT_SEED`]); the others may be used in training.
    pub fn is_generated_eval_id(id: &str) -> bool {
        fnv1a(SPLIT_SEED, id) % 100 < GENERATED_EVAL_PERCENT
    }
}

impl fmt::Display for Split {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A corpus file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    /// The file could not be read or written.
    #[error("cannot access corpus file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A line is not a valid record.
    #[error("corpus file {path}, line {line}: {message}")]
    InvalidRecord {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// Two records share an id.
    #[error("corpus has two records with id {0}")]
    DuplicateId(String),
    /// A writer file is not in [`WRITER_ROLES`].
    #[error("corpus file {0} is from a writer with no role: add it to WRITER_ROLES")]
    UnknownWriter(PathBuf),
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> CorpusError + '_ {
    move |source| CorpusError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Reads a JSON-lines file of records. Blank lines are skipped.
///
/// # Errors
/// [`CorpusError::Io`] when the file cannot be read,
/// [`CorpusError::InvalidRecord`] with the line number for a bad line.
pub fn read_records(path: &Path) -> Result<Vec<CorpusRecord>, CorpusError> {
    let file = fs::File::open(path).map_err(io_error(path))?;
    let mut records = Vec::new();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(io_error(path))?;
        if line.trim().is_empty() {
            continue;
        }
        let record: CorpusRecord =
            serde_json::from_str(&line).map_err(|e| CorpusError::InvalidRecord {
                path: path.to_owned(),
                line: i + 1,
                message: e.to_string(),
            })?;
        record
            .validate()
            .map_err(|message| CorpusError::InvalidRecord {
                path: path.to_owned(),
                line: i + 1,
                message,
            })?;
        records.push(record);
    }
    Ok(records)
}

/// Writes records as JSON lines, one per line, in the given order.
///
/// # Errors
/// [`CorpusError::Io`] when the file cannot be written.
pub fn write_records(path: &Path, records: &[CorpusRecord]) -> Result<(), CorpusError> {
    let mut out = Vec::with_capacity(records.len() * 200);
    for r in records {
        // Serialising a plain struct of strings, bools and enums cannot fail.
        let line = serde_json::to_string(r).map_err(|e| CorpusError::InvalidRecord {
            path: path.to_owned(),
            line: 0,
            message: e.to_string(),
        })?;
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }
    fs::write(path, out).map_err(io_error(path))
}

/// Reads a records file if it exists; a missing file is no records.
fn read_optional(path: &Path) -> Result<Vec<CorpusRecord>, CorpusError> {
    if path.exists() {
        read_records(path)
    } else {
        Ok(Vec::new())
    }
}

/// Reads every writer file, in file-name order, with its role. Each record's
/// `writer` must be the file's name when it is given.
fn read_writers(corpus_dir: &Path) -> Result<Vec<(Split, Vec<CorpusRecord>)>, CorpusError> {
    let dir = corpus_dir.join(WRITERS_DIR);
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut paths: Vec<PathBuf> = fs::read_dir(&dir)
        .map_err(io_error(&dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    paths.sort();
    let mut sets = Vec::new();
    for path in paths {
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_owned();
        let Some((_, role)) = WRITER_ROLES.iter().find(|(w, _)| *w == name) else {
            return Err(CorpusError::UnknownWriter(path));
        };
        let records = read_records(&path)?;
        if let Some((line, r)) = records
            .iter()
            .enumerate()
            .find(|(_, r)| r.writer.as_deref().is_some_and(|w| w != name))
        {
            return Err(CorpusError::InvalidRecord {
                path,
                line: line + 1,
                message: format!("record {} names writer {:?}", r.id, r.writer),
            });
        }
        sets.push((*role, records));
    }
    Ok(sets)
}

/// Near-duplicates removed from one split because of another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removal {
    /// The split the records were removed from.
    pub from: Split,
    /// Whether they were generated records (training or evaluation part).
    pub generated: bool,
    /// The split of the record each one was a near-copy of.
    pub near: Split,
    /// Whether that record was a generated one.
    pub near_generated: bool,
    /// How many were removed.
    pub count: usize,
}

/// Every record of a corpus directory, split by writer, near-duplicates
/// across splits removed.
#[derive(Debug, Clone, Default)]
pub struct Corpus {
    /// Training writers, hand-written records and feedback.
    pub train: Vec<CorpusRecord>,
    /// The generated records' training part (used only when training asks).
    pub generated_train: Vec<CorpusRecord>,
    /// The dev writer.
    pub dev: Vec<CorpusRecord>,
    /// The headline writer.
    pub test: Vec<CorpusRecord>,
    /// The generated records' evaluation part.
    pub generated_eval: Vec<CorpusRecord>,
    /// What near-duplicate removal took out, in removal order.
    pub removed: Vec<Removal>,
}

impl Corpus {
    /// Reads a corpus directory and removes near-duplicates across splits.
    ///
    /// Precedence, highest first: test, dev, training, generated training
    /// part, generated evaluation part. A record that is a near-copy of a
    /// record of a higher split is removed; so the headline writer is never
    /// touched, and the generated evaluation line keeps no near-copy of
    /// anything trained on.
    ///
    /// # Errors
    /// As [`read_records`], [`CorpusError::UnknownWriter`] for a writer file
    /// without a role, and [`CorpusError::DuplicateId`] when two records
    /// share an id.
    pub fn load(corpus_dir: &Path) -> Result<Self, CorpusError> {
        let mut corpus = Corpus::default();
        for (role, records) in read_writers(corpus_dir)? {
            match role {
                Split::Dev => corpus.dev.extend(records),
                Split::Test => corpus.test.extend(records),
                Split::Train | Split::Generated => corpus.train.extend(records),
            }
        }
        corpus
            .train
            .extend(read_optional(&corpus_dir.join(HANDWRITTEN_FILE))?);
        corpus
            .train
            .extend(read_optional(&corpus_dir.join(FEEDBACK_FILE))?);
        for r in read_optional(&corpus_dir.join(GENERATED_FILE))? {
            if Split::is_generated_eval_id(&r.id) {
                corpus.generated_eval.push(r);
            } else {
                corpus.generated_train.push(r);
            }
        }
        let mut ids = HashSet::new();
        for r in corpus.all() {
            if !ids.insert(r.id.as_str()) {
                return Err(CorpusError::DuplicateId(r.id.clone()));
            }
        }
        corpus.remove_near_duplicates();
        Ok(corpus)
    }

    /// Every record, in precedence order.
    fn all(&self) -> impl Iterator<Item = &CorpusRecord> {
        self.test
            .iter()
            .chain(&self.dev)
            .chain(&self.train)
            .chain(&self.generated_train)
            .chain(&self.generated_eval)
    }

    fn remove_near_duplicates(&mut self) {
        let test = std::mem::take(&mut self.test);
        let dev = std::mem::take(&mut self.dev);
        let train = std::mem::take(&mut self.train);
        let generated_train = std::mem::take(&mut self.generated_train);
        let generated_eval = std::mem::take(&mut self.generated_eval);
        let mut kept: Vec<(Split, bool, CorpusRecord)> =
            test.into_iter().map(|r| (Split::Test, false, r)).collect();
        let parts = [
            (Split::Dev, false, dev),
            (Split::Train, false, train),
            (Split::Train, true, generated_train),
            (Split::Generated, true, generated_eval),
        ];
        for (from, generated, records) in parts {
            let references: Vec<&str> = kept.iter().map(|(_, _, r)| r.text.as_str()).collect();
            let candidates: Vec<&str> = records.iter().map(|r| r.text.as_str()).collect();
            let found = near_duplicates(&references, &candidates, NEAR_DUPLICATE_JACCARD);
            let mut counts: BTreeMap<(Split, bool), usize> = BTreeMap::new();
            let mut survivors = Vec::with_capacity(records.len());
            for (r, hit) in records.into_iter().zip(found) {
                match hit {
                    Some(i) => *counts.entry((kept[i].0, kept[i].1)).or_default() += 1,
                    None => survivors.push(r),
                }
            }
            for ((near, near_generated), count) in counts {
                self.removed.push(Removal {
                    from,
                    generated,
                    near,
                    near_generated,
                    count,
                });
            }
            let target = match (from, generated) {
                (Split::Dev, _) => &mut self.dev,
                (Split::Train, false) => &mut self.train,
                (Split::Train, true) => &mut self.generated_train,
                _ => &mut self.generated_eval,
            };
            // A generated training record stays a reference for the
            // evaluation part, so near-copies of it are not measured.
            kept.extend(survivors.iter().cloned().map(|r| (from, generated, r)));
            *target = survivors;
        }
        for (split, _, r) in kept {
            if split == Split::Test {
                self.test.push(r);
            }
        }
    }

    /// The records of one split (after near-duplicate removal).
    pub fn split(&self, split: Split) -> &[CorpusRecord] {
        match split {
            Split::Train => &self.train,
            Split::Dev => &self.dev,
            Split::Test => &self.test,
            Split::Generated => &self.generated_eval,
        }
    }

    /// Near-duplicates removed in total.
    pub fn removed_count(&self) -> usize {
        self.removed.iter().map(|r| r.count).sum()
    }
}

impl fmt::Display for Corpus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "train {} (+ generated training part {}), dev {}, test {}, generated evaluation part {}",
            self.train.len(),
            self.generated_train.len(),
            self.dev.len(),
            self.test.len(),
            self.generated_eval.len()
        )?;
        write!(
            f,
            "near-duplicates removed (3-gram Jaccard > {NEAR_DUPLICATE_JACCARD}): {}",
            self.removed_count()
        )?;
        let name = |split: Split, generated: bool| match (split, generated) {
            (Split::Train, true) => "generated training part",
            (Split::Generated, _) => "generated evaluation part",
            (split, _) => split.as_str(),
        };
        for r in &self.removed {
            write!(
                f,
                "\n  {} from {}, near {}",
                r.count,
                name(r.from, r.generated),
                name(r.near, r.near_generated)
            )?;
        }
        Ok(())
    }
}

/// Reads one split of a corpus directory, near-duplicates removed.
///
/// # Errors
/// As [`Corpus::load`].
pub fn read_split(corpus_dir: &Path, split: Split) -> Result<Vec<CorpusRecord>, CorpusError> {
    Ok(Corpus::load(corpus_dir)?.split(split).to_vec())
}

/// Reads what training learns from by default: the training writers, the
/// hand-written records and `feedback.jsonl`, near-duplicates of dev and
/// test removed.
///
/// # Errors
/// As [`Corpus::load`].
pub fn read_training_records(corpus_dir: &Path) -> Result<Vec<CorpusRecord>, CorpusError> {
    Ok(Corpus::load(corpus_dir)?.train)
}

/// What [`fold_feedback`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FoldSummary {
    /// Records appended to `feedback.jsonl`.
    pub added: usize,
    /// Records skipped because the same text is already in training.
    pub duplicates: usize,
    /// Records skipped because the text is in dev or test, or a near-copy of
    /// one there (folding them would leak the measurement into training).
    pub held_out: usize,
    /// Lines that could not be read, with their 1-based number and why.
    pub rejected: Vec<(usize, String)>,
}

/// The comparison key of a text: trimmed, lower case, spaces collapsed.
fn text_key(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Folds labelled examples exported by the gateway into the training data.
///
/// `export` holds JSON lines in the corpus record format (a supervisor's
/// decision sets `abusive`/`abuse_kind`, an agent's correction sets `topic`).
/// Valid new records are appended to `feedback.jsonl` in the corpus
/// directory with an `fb-` id prefix; records whose text is already in
/// training, or is (nearly) a dev or test text, are skipped; bad lines are reported in the summary
/// and do not stop the others. Retrain afterwards to use them.
///
/// # Errors
/// [`CorpusError`] when the corpus files cannot be read or the feedback
/// file cannot be written.
pub fn fold_feedback(corpus_dir: &Path, export: impl BufRead) -> Result<FoldSummary, CorpusError> {
    let mut summary = FoldSummary::default();
    let corpus = Corpus::load(corpus_dir)?;
    let held_out: Vec<&str> = corpus
        .dev
        .iter()
        .chain(&corpus.test)
        .map(|r| r.text.as_str())
        .collect();
    let mut known: HashSet<String> = corpus.train.iter().map(|r| text_key(&r.text)).collect();
    let feedback_path = corpus_dir.join(FEEDBACK_FILE);
    let mut ids: HashSet<String> = read_optional(&feedback_path)?
        .into_iter()
        .map(|r| r.id)
        .collect();
    let mut parsed = Vec::new();
    for (i, line) in export.lines().enumerate() {
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                summary.rejected.push((i + 1, e.to_string()));
                continue;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        let record: CorpusRecord = match serde_json::from_str(&line) {
            Ok(r) => r,
            Err(e) => {
                summary.rejected.push((i + 1, e.to_string()));
                continue;
            }
        };
        if let Err(e) = record.validate() {
            summary.rejected.push((i + 1, e));
            continue;
        }
        parsed.push(record);
    }
    let texts: Vec<&str> = parsed.iter().map(|r| r.text.as_str()).collect();
    let near_held_out = near_duplicates(&held_out, &texts, NEAR_DUPLICATE_JACCARD);
    let mut new_records = Vec::new();
    for (mut record, near) in parsed.into_iter().zip(near_held_out) {
        if near.is_some() {
            summary.held_out += 1;
            continue;
        }
        if !known.insert(text_key(&record.text)) {
            summary.duplicates += 1;
            continue;
        }
        if !record.id.starts_with("fb-") {
            record.id = format!("fb-{}", record.id);
        }
        let mut id = record.id.clone();
        let mut n = 2;
        while ids.contains(&id) {
            id = format!("{}-{n}", record.id);
            n += 1;
        }
        ids.insert(id.clone());
        record.id = id;
        new_records.push(record);
    }
    if !new_records.is_empty() {
        let mut file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&feedback_path)
            .map_err(io_error(&feedback_path))?;
        for r in &new_records {
            let line = serde_json::to_string(r).map_err(|e| CorpusError::InvalidRecord {
                path: feedback_path.clone(),
                line: 0,
                message: e.to_string(),
            })?;
            writeln!(file, "{line}").map_err(io_error(&feedback_path))?;
        }
    }
    summary.added = new_records.len();
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, text: &str) -> CorpusRecord {
        CorpusRecord {
            id: id.to_owned(),
            writer: None,
            language: None,
            channel: None,
            text: text.to_owned(),
            topic: Topic::Waste,
            abusive: false,
            abuse_kind: None,
            hard_case: None,
        }
    }

    fn write_writer(dir: &Path, writer: &str, records: &[CorpusRecord]) {
        let writers = dir.join(WRITERS_DIR);
        fs::create_dir_all(&writers).expect("writers dir");
        write_records(&writers.join(format!("{writer}.jsonl")), records).expect("write");
    }

    #[test]
    fn the_generated_evaluation_part_is_fixed_by_id_and_near_thirty_percent() {
        let ids: Vec<String> = (0..10_000).map(|i| format!("gen-{i:05}")).collect();
        let eval = ids
            .iter()
            .filter(|id| Split::is_generated_eval_id(id))
            .count();
        assert!((2_700..3_300).contains(&eval), "eval part has {eval}");
        assert_eq!(
            Split::is_generated_eval_id("gen-00042"),
            Split::is_generated_eval_id("gen-00042")
        );
    }

    #[test]
    fn an_abusive_record_without_a_kind_is_invalid() {
        let mut r = record("x", "allo");
        r.abusive = true;
        assert!(r.validate().is_err());
    }

    #[test]
    fn a_record_without_writer_fields_still_loads() {
        let line =
            r#"{"id":"gen-1","text":"allo","topic":"waste","abusive":false,"abuse_kind":null}"#;
        let r: CorpusRecord = serde_json::from_str(line).expect("old record format");
        assert_eq!(r.writer, None);
        assert_eq!(serde_json::to_string(&r).expect("json"), line);
        let line = r#"{"id":"w3-0001","writer":"w3","language":"mixed","channel":"web_form","text":"allo","topic":"waste","abusive":false,"abuse_kind":null}"#;
        let r: CorpusRecord = serde_json::from_str(line).expect("writer record format");
        assert_eq!(r.language, Some(RecordLanguage::Mixed));
        assert_eq!(r.channel, Some(Channel::WebForm));
    }

    #[test]
    fn records_are_split_by_writer_and_near_copies_leave_the_lower_split() {
        // Arrange
        let dir = tempfile::tempdir().expect("temp dir");
        let held = "Le camion de recyclage n'est pas passé sur la rue des Pins ce matin.";
        write_writer(
            dir.path(),
            "w1",
            &[
                record(
                    "w1-0001",
                    "Le camion de recyclage n'est pas passé sur la rue des Pins ce matin!",
                ),
                record(
                    "w1-0002",
                    "Quand ouvre la piscine du parc Edmour-J.-Harvey?",
                ),
            ],
        );
        write_writer(
            dir.path(),
            "w6",
            &[record("w6-0001", "Mon chien s'est sauvé hier soir.")],
        );
        write_writer(dir.path(), "w7", &[record("w7-0001", held)]);
        write_records(
            &dir.path().join(HANDWRITTEN_FILE),
            &[record(
                "hand-1",
                "Bonjour, mon chien s'est sauvé hier soir.",
            )],
        )
        .expect("write");

        // Act
        let corpus = Corpus::load(dir.path()).expect("load");

        // Assert
        let ids = |rs: &[CorpusRecord]| rs.iter().map(|r| r.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&corpus.train), vec!["w1-0002", "hand-1"]);
        assert_eq!(ids(&corpus.dev), vec!["w6-0001"]);
        assert_eq!(ids(&corpus.test), vec!["w7-0001"]);
        assert_eq!(corpus.removed_count(), 1);
        assert_eq!(corpus.removed[0].near, Split::Test);
    }

    #[test]
    fn a_writer_file_without_a_role_is_an_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        write_writer(dir.path(), "w99", &[record("w99-0001", "allo")]);
        assert!(matches!(
            Corpus::load(dir.path()),
            Err(CorpusError::UnknownWriter(_))
        ));
    }

    #[test]
    fn feedback_is_folded_once_and_never_leaks_held_out_texts() {
        // Arrange
        let dir = tempfile::tempdir().expect("temp dir");
        write_writer(dir.path(), "w1", &[record("w1-0001", "bac pas ramassé")]);
        write_writer(dir.path(), "w6", &[record("w6-0001", "Texte du dev")]);
        write_writer(
            dir.path(),
            "w7",
            &[record(
                "w7-0001",
                "Le texte du test, assez long pour avoir des trigrammes",
            )],
        );
        let export = [
            serde_json::to_string(&record("42", "Nouveau message sur le bac")).expect("json"),
            serde_json::to_string(&record(
                "43",
                "le TEXTE du test, assez long pour avoir des trigrammes!",
            ))
            .expect("json"),
            serde_json::to_string(&record("44", "bac pas  ramassé")).expect("json"),
            "pas du json".to_owned(),
        ]
        .join("\n");

        // Act
        let first = fold_feedback(dir.path(), export.as_bytes()).expect("fold");
        let second = fold_feedback(dir.path(), export.as_bytes()).expect("fold again");

        // Assert
        assert_eq!(first.added, 1);
        assert_eq!(first.held_out, 1);
        assert_eq!(first.duplicates, 1);
        assert_eq!(first.rejected.len(), 1);
        assert_eq!(first.rejected[0].0, 4);
        assert_eq!(second.added, 0);
        let training = read_training_records(dir.path()).expect("read");
        assert_eq!(training.len(), 2);
        assert!(training.iter().any(|r| r.id == "fb-42"));
    }
}
