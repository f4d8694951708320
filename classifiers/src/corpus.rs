//! The labelled corpus: record format, JSON-lines files, the fixed
//! train/dev/test split, and folding of labelled examples exported by the
//! gateway (supervisor decisions, agent topic corrections) into training.
//!
//! A corpus directory holds `train.jsonl`, `dev.jsonl` and `test.jsonl`
//! (written once by the corpus generator, split by a fixed seed) and, once
//! feedback has been folded in, `feedback.jsonl`, which training reads in
//! addition to `train.jsonl`. Dev and test never change with feedback, so
//! figures stay comparable. File I/O only; no network.

use std::collections::HashSet;
use std::fs;
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use models::{AbuseKind, Topic};
use serde::{Deserialize, Serialize};

use crate::features::fnv1a;

/// The seed of the train/dev/test split. Changing it reshuffles every
/// figure ever reported; don't.
pub const SPLIT_SEED: &str = "sainte-julie-2026";

/// Percent of records in dev and in test (the rest is train).
pub const HELD_OUT_PERCENT: u64 = 15;

/// File of gateway feedback folded into training.
pub const FEEDBACK_FILE: &str = "feedback.jsonl";

/// One labelled message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorpusRecord {
    /// Unique id; `gen-…` generated, `hand-…` written by hand, `fb-…` feedback.
    pub id: String,
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
}

/// One of the three fixed parts of the corpus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Split {
    /// Training data.
    Train,
    /// Tuning data (thresholds, encoder weight).
    Dev,
    /// Final measurement; never used for tuning.
    Test,
}

impl Split {
    /// The file name of the split in a corpus directory.
    pub fn file_name(self) -> &'static str {
        match self {
            Split::Train => "train.jsonl",
            Split::Dev => "dev.jsonl",
            Split::Test => "test.jsonl",
        }
    }

    /// Reads a split name (`train`, `dev`, `test`).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "train" => Some(Split::Train),
            "dev" => Some(Split::Dev),
            "test" => Some(Split::Test),
            _ => None,
        }
    }

    /// The split a record id belongs to, fixed by [`SPLIT_SEED`].
    pub fn of_id(id: &str) -> Self {
        let bucket = fnv1a(SPLIT_SEED, id) % 100;
        if bucket < HELD_OUT_PERCENT {
            Split::Test
        } else if bucket < 2 * HELD_OUT_PERCENT {
            Split::Dev
        } else {
            Split::Train
        }
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

/// Reads one split of a corpus directory.
///
/// # Errors
/// As [`read_records`].
pub fn read_split(corpus_dir: &Path, split: Split) -> Result<Vec<CorpusRecord>, CorpusError> {
    read_records(&corpus_dir.join(split.file_name()))
}

/// Reads what training learns from: `train.jsonl` plus `feedback.jsonl` when
/// present.
///
/// # Errors
/// As [`read_records`], and [`CorpusError::DuplicateId`].
pub fn read_training_records(corpus_dir: &Path) -> Result<Vec<CorpusRecord>, CorpusError> {
    let mut records = read_split(corpus_dir, Split::Train)?;
    let feedback = corpus_dir.join(FEEDBACK_FILE);
    if feedback.exists() {
        records.extend(read_records(&feedback)?);
    }
    let mut ids = HashSet::new();
    for r in &records {
        if !ids.insert(r.id.as_str()) {
            return Err(CorpusError::DuplicateId(r.id.clone()));
        }
    }
    Ok(records)
}

/// Splits records into train, dev and test by [`Split::of_id`], keeping
/// their order within each part.
pub fn split_records(
    records: Vec<CorpusRecord>,
) -> (Vec<CorpusRecord>, Vec<CorpusRecord>, Vec<CorpusRecord>) {
    let mut train = Vec::new();
    let mut dev = Vec::new();
    let mut test = Vec::new();
    for r in records {
        match Split::of_id(&r.id) {
            Split::Train => train.push(r),
            Split::Dev => dev.push(r),
            Split::Test => test.push(r),
        }
    }
    (train, dev, test)
}

/// What [`fold_feedback`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FoldSummary {
    /// Records appended to `feedback.jsonl`.
    pub added: usize,
    /// Records skipped because the same text is already in training.
    pub duplicates: usize,
    /// Records skipped because the same text is in dev or test (folding them
    /// would leak the measurement into training).
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
/// training, dev or test are skipped; bad lines are reported in the summary
/// and do not stop the others. Retrain afterwards to use them.
///
/// # Errors
/// [`CorpusError`] when the corpus files cannot be read or the feedback
/// file cannot be written.
pub fn fold_feedback(corpus_dir: &Path, export: impl BufRead) -> Result<FoldSummary, CorpusError> {
    let mut summary = FoldSummary::default();
    let mut held_out = HashSet::new();
    for split in [Split::Dev, Split::Test] {
        for r in read_split(corpus_dir, split)? {
            held_out.insert(text_key(&r.text));
        }
    }
    let mut known: HashSet<String> = read_training_records(corpus_dir)?
        .iter()
        .map(|r| text_key(&r.text))
        .collect();
    let feedback_path = corpus_dir.join(FEEDBACK_FILE);
    let mut ids: HashSet<String> = if feedback_path.exists() {
        read_records(&feedback_path)?
            .into_iter()
            .map(|r| r.id)
            .collect()
    } else {
        HashSet::new()
    };
    let mut new_records = Vec::new();
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
        let mut record: CorpusRecord = match serde_json::from_str(&line) {
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
        let key = text_key(&record.text);
        if held_out.contains(&key) {
            summary.held_out += 1;
            continue;
        }
        if !known.insert(key) {
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
            text: text.to_owned(),
            topic: Topic::Waste,
            abusive: false,
            abuse_kind: None,
            hard_case: None,
        }
    }

    #[test]
    fn the_split_is_fixed_by_id_and_roughly_seventy_fifteen_fifteen() {
        // Arrange
        let ids: Vec<String> = (0..10_000).map(|i| format!("gen-{i:05}")).collect();

        // Act
        let test = ids
            .iter()
            .filter(|id| Split::of_id(id) == Split::Test)
            .count();
        let dev = ids
            .iter()
            .filter(|id| Split::of_id(id) == Split::Dev)
            .count();

        // Assert
        assert!((1_300..1_700).contains(&test), "test has {test}");
        assert!((1_300..1_700).contains(&dev), "dev has {dev}");
        assert_eq!(Split::of_id("gen-00042"), Split::of_id("gen-00042"));
    }

    #[test]
    fn an_abusive_record_without_a_kind_is_invalid() {
        let mut r = record("x", "allo");
        r.abusive = true;
        assert!(r.validate().is_err());
    }

    #[test]
    fn feedback_is_folded_once_and_never_leaks_held_out_texts() {
        // Arrange
        let dir = tempfile::tempdir().expect("temp dir");
        write_records(
            &dir.path().join("train.jsonl"),
            &[record("gen-1", "bac pas ramassé")],
        )
        .expect("write");
        write_records(
            &dir.path().join("dev.jsonl"),
            &[record("gen-2", "Texte du dev")],
        )
        .expect("write");
        write_records(
            &dir.path().join("test.jsonl"),
            &[record("gen-3", "texte du test")],
        )
        .expect("write");
        let export = [
            serde_json::to_string(&record("42", "Nouveau message sur le bac")).expect("json"),
            serde_json::to_string(&record("43", "TEXTE du test")).expect("json"),
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
