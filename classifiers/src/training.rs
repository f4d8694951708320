//! Training: from a corpus directory to a model directory, deterministically
//! (`inbox classifier train` calls [`train`]).
//!
//! The same corpus and options always give byte-identical model files: the
//! example order comes from a fixed seed, the arithmetic is single-threaded
//! and the manifest holds no timestamp. With an encoder directory, the
//! encoder head is trained on the records' embeddings as well and saved next
//! to the other files. Reads and writes files; no network.

use std::fmt;
use std::path::{Path, PathBuf};

use models::Topic;

use crate::classifier::Pipeline;
use crate::corpus::{read_training_records, CorpusError, CorpusRecord};
use crate::features::{SparseVector, DEFAULT_HASH_BITS, FEATURE_VERSION};
use crate::linear::{Example, SoftmaxModel, TrainingParams};
use crate::model::{
    abuse_classes, sha256_hex, topic_classes, EncoderHead, LinearModels, Manifest, ModelLoadError,
    TrainingFacts, MODEL_FORMAT,
};
use crate::rng::SplitMix64;

/// How to train.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainOptions {
    /// Optimiser settings of the n-gram models.
    pub params: TrainingParams,
    /// Hash bits of the feature space (default 18).
    pub hash_bits: u32,
    /// A Hugging Face encoder directory: also train the encoder head.
    pub encoder_dir: Option<PathBuf>,
    /// Embed at most this many records for the encoder head (a fixed-seed
    /// sample); `None` embeds them all. Tests use a small number.
    pub encoder_max_records: Option<usize>,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            params: TrainingParams::default(),
            hash_bits: DEFAULT_HASH_BITS,
            encoder_dir: None,
            encoder_max_records: None,
        }
    }
}

/// Optimiser settings of the encoder heads: embeddings are dense unit
/// vectors, so they need larger steps and more passes than sparse n-grams.
#[cfg_attr(not(feature = "encoder"), allow(dead_code))]
fn encoder_head_params(seed: u64) -> TrainingParams {
    TrainingParams {
        epochs: 40,
        learning_rate: 2.0,
        decay: 0.1,
        l2: 1e-4,
        seed,
    }
}

/// Training failed.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The corpus cannot be read.
    #[error(transparent)]
    Corpus(#[from] CorpusError),
    /// The corpus has no record.
    #[error("the corpus has no training record")]
    Empty,
    /// The rules or the encoder cannot be built.
    #[error(transparent)]
    Model(#[from] ModelLoadError),
    /// A model file cannot be written.
    #[error("cannot write model files to {path}: {source}")]
    Write {
        /// The model directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// An encoder was asked for but this build has no encoder support, or a
    /// record could not be embedded.
    #[error("encoder: {0}")]
    Encoder(String),
}

/// What a training run produced.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainReport {
    /// Records learned from.
    pub records: usize,
    /// Where the files were written.
    pub model_dir: PathBuf,
    /// The manifest written.
    pub manifest: Manifest,
    /// Records embedded for the encoder head, when one was trained.
    pub encoder_records: Option<usize>,
}

impl fmt::Display for TrainReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "trained on {} records into {}",
            self.records,
            self.model_dir.display()
        )?;
        for (file, sha) in &self.manifest.files {
            writeln!(f, "  {file}  sha256 {sha}")?;
        }
        if let Some(n) = self.encoder_records {
            writeln!(f, "  encoder head trained on {n} embedded records")?;
        }
        Ok(())
    }
}

/// Trains from `corpus_dir` (`train.jsonl` plus `feedback.jsonl`) into
/// `model_dir`.
///
/// # Errors
/// [`TrainError`] when the corpus cannot be read or is empty, the encoder
/// cannot be loaded, or the model files cannot be written.
pub fn train(
    corpus_dir: &Path,
    model_dir: &Path,
    options: &TrainOptions,
) -> Result<TrainReport, TrainError> {
    let records = read_training_records(corpus_dir)?;
    train_records(&records, model_dir, options)
}

/// Trains from records into `model_dir`.
///
/// # Errors
/// As [`train`].
pub fn train_records(
    records: &[CorpusRecord],
    model_dir: &Path,
    options: &TrainOptions,
) -> Result<TrainReport, TrainError> {
    if records.is_empty() {
        return Err(TrainError::Empty);
    }
    let pipeline = Pipeline::shipped(options.hash_bits)?;
    let linear = train_linear(&pipeline, records, &options.params);
    let mut corpus_bytes = Vec::new();
    for r in records {
        corpus_bytes.extend_from_slice(serde_json::to_string(r).unwrap_or_default().as_bytes());
        corpus_bytes.push(b'\n');
    }
    let p = &options.params;
    let mut manifest = Manifest {
        format: MODEL_FORMAT,
        feature_version: FEATURE_VERSION,
        hash_bits: options.hash_bits,
        rules_version: pipeline.rules_version().to_owned(),
        training: TrainingFacts {
            records: records.len(),
            corpus_sha256: sha256_hex(&corpus_bytes),
            epochs: p.epochs,
            learning_rate: p.learning_rate,
            decay: p.decay,
            l2: p.l2,
            seed: p.seed,
        },
        encoder: None,
        files: Default::default(),
    };
    let (head, encoder_records) = match &options.encoder_dir {
        Some(dir) => {
            let (head, facts) = train_encoder_head(dir, records, options)?;
            let n = facts.records;
            manifest.encoder = Some(facts);
            (Some(head), Some(n))
        }
        None => (None, None),
    };
    let manifest = crate::model::write_model_dir(model_dir, manifest, &linear, head.as_ref())
        .map_err(|source| TrainError::Write {
            path: model_dir.to_owned(),
            source,
        })?;
    Ok(TrainReport {
        records: records.len(),
        model_dir: model_dir.to_owned(),
        manifest,
        encoder_records,
    })
}

/// The index of a record's abuse class (`0` clean, then the kinds).
pub fn abuse_class_of(record: &CorpusRecord) -> usize {
    match record.abuse_kind.filter(|_| record.abusive) {
        Some(kind) => {
            1 + models::AbuseKind::ALL
                .iter()
                .position(|k| *k == kind)
                .unwrap_or(0)
        }
        None => 0,
    }
}

/// The index of a record's topic class.
pub fn topic_class_of(record: &CorpusRecord) -> usize {
    Topic::ALL
        .iter()
        .position(|t| *t == record.topic)
        .unwrap_or(0)
}

/// Trains the two n-gram models.
///
/// Each record is learned twice for abuse: with its rule signals and
/// without them. Otherwise the model would lean on the signals alone and
/// learn nothing from the words of abusive messages the rules miss, which
/// is exactly where it is needed.
pub fn train_linear(
    pipeline: &Pipeline,
    records: &[CorpusRecord],
    params: &TrainingParams,
) -> LinearModels {
    let prepared: Vec<_> = records
        .iter()
        .map(|r| pipeline.prepare(&r.text, None, usize::MAX))
        .collect();
    let without_signals: Vec<SparseVector> = prepared
        .iter()
        .map(|p| {
            pipeline
                .extractor()
                .extract(&p.normalised, &Default::default(), pipeline.taxonomy())
        })
        .collect();
    let dim = pipeline.extractor().dimension();
    let topic_examples: Vec<Example<'_>> = records
        .iter()
        .zip(&prepared)
        .map(|(r, p)| Example {
            x: &p.features,
            y: topic_class_of(r),
            weight: 1.0,
        })
        .collect();
    let abuse_examples: Vec<Example<'_>> = records
        .iter()
        .zip(&prepared)
        .map(|(r, p)| (r, &p.features))
        .chain(records.iter().zip(&without_signals))
        .map(|(r, x)| Example {
            x,
            y: abuse_class_of(r),
            weight: 1.0,
        })
        .collect();
    LinearModels {
        topic: SoftmaxModel::train(&topic_examples, topic_classes(), dim, params),
        abuse: SoftmaxModel::train(&abuse_examples, abuse_classes(), dim, params),
    }
}

/// A fixed-seed sample of at most `max` record indices, in corpus order.
#[cfg_attr(not(feature = "encoder"), allow(dead_code))]
fn sample_indices(len: usize, max: Option<usize>, seed: u64) -> Vec<usize> {
    let mut indices: Vec<usize> = (0..len).collect();
    if let Some(max) = max.filter(|m| *m < len) {
        let mut rng = SplitMix64::new(seed);
        rng.shuffle(&mut indices);
        indices.truncate(max);
        indices.sort_unstable();
    }
    indices
}

#[cfg(feature = "encoder")]
fn train_encoder_head(
    dir: &Path,
    records: &[CorpusRecord],
    options: &TrainOptions,
) -> Result<(EncoderHead, crate::model::EncoderFacts), TrainError> {
    let encoder = crate::encoder::Encoder::load(dir)?;
    let chosen = sample_indices(
        records.len(),
        options.encoder_max_records,
        options.params.seed,
    );
    let mut features = Vec::with_capacity(chosen.len());
    for &i in &chosen {
        let embedding = encoder
            .embed(&records[i].text)
            .map_err(TrainError::Encoder)?;
        features.push(crate::encoder::embedding_features(&embedding));
    }
    let params = encoder_head_params(options.params.seed);
    let topic_examples: Vec<Example<'_>> = chosen
        .iter()
        .zip(&features)
        .map(|(&i, x)| Example {
            x,
            y: topic_class_of(&records[i]),
            weight: 1.0,
        })
        .collect();
    let abuse_examples: Vec<Example<'_>> = chosen
        .iter()
        .zip(&features)
        .map(|(&i, x)| Example {
            x,
            y: abuse_class_of(&records[i]),
            weight: 1.0,
        })
        .collect();
    let dim = encoder.dimension();
    let head = EncoderHead {
        topic: SoftmaxModel::train(&topic_examples, topic_classes(), dim, &params),
        abuse: SoftmaxModel::train(&abuse_examples, abuse_classes(), dim, &params),
    };
    let facts = crate::model::EncoderFacts {
        dimension: dim,
        encoder_fingerprint: encoder.fingerprint().to_owned(),
        records: chosen.len(),
    };
    Ok((head, facts))
}

#[cfg(not(feature = "encoder"))]
fn train_encoder_head(
    _dir: &Path,
    _records: &[CorpusRecord],
    _options: &TrainOptions,
) -> Result<(EncoderHead, crate::model::EncoderFacts), TrainError> {
    Err(TrainError::Encoder(
        "this build has no encoder support".to_owned(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_is_fixed_by_the_seed_and_kept_in_corpus_order() {
        let a = sample_indices(100, Some(10), 7);
        let b = sample_indices(100, Some(10), 7);
        assert_eq!(a, b);
        assert_eq!(a.len(), 10);
        assert!(a.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(sample_indices(5, Some(10), 7), vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn an_empty_corpus_is_an_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        let result = train_records(&[], dir.path(), &TrainOptions::default());
        assert!(matches!(result, Err(TrainError::Empty)));
    }
}
