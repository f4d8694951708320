//! Training: from a corpus directory to a model directory, deterministically
//! (`inbox classifier train` calls [`train`]).
//!
//! What is learned from: the training writers, the hand-written records and
//! folded feedback ([`Corpus::train`]), plus, when
//! [`TrainOptions::generated_weight`] is above zero, the training part of the
//! generated records at that weight. N-grams seen in fewer than
//! [`TrainOptions::min_document_frequency`] training messages are dropped.
//! After training, the probabilities are calibrated on the dev writer
//! (Platt scaling for abuse, a temperature for topics).
//!
//! With an encoder, its head is trained on the written records' embeddings
//! only.
//!
//! The same corpus and options always give byte-identical model files: the
//! example order comes from a fixed seed, the arithmetic is single-threaded
//! and the manifest holds no timestamp. With an encoder directory, the
//! encoder head is trained on the records' embeddings as well and saved next
//! to the other files. Reads and writes files; no network.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use models::Topic;

use crate::classifier::{Pipeline, TrainingFeatures};
use crate::corpus::{Corpus, CorpusError, CorpusRecord};
use crate::features::{merge, SparseVector, DEFAULT_HASH_BITS, FEATURE_VERSION};
use crate::linear::{softmax_in_place, Example, SoftmaxModel, TrainingParams};
use crate::model::{
    abuse_classes, logit, sha256_hex, topic_classes, Calibration, EncoderHead, LinearModels,
    Manifest, ModelLoadError, TrainingFacts, MODEL_FORMAT,
};
use crate::rng::SplitMix64;

/// Default minimum number of training messages an n-gram must appear in.
pub const DEFAULT_MIN_DOCUMENT_FREQUENCY: usize = 2;

/// Default L2 penalty of the abuse model: strong, so that no single n-gram
/// decides (chosen on dev).
pub const DEFAULT_ABUSE_L2: f32 = 3e-3;

/// Default L2 penalty of the topic model (chosen on dev).
pub const DEFAULT_TOPIC_L2: f32 = 1e-3;

/// Default exponent of the topic class weights (chosen on dev).
pub const DEFAULT_TOPIC_BALANCE: f32 = 0.5;

/// Default weight of a generated record (chosen on dev; see the README).
pub const DEFAULT_GENERATED_WEIGHT: f32 = 0.3;

/// How to train.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainOptions {
    /// Optimiser settings of the n-gram models (`l2` is the abuse model's).
    pub params: TrainingParams,
    /// L2 penalty of the topic model.
    pub topic_l2: f32,
    /// Exponent of the topic class weights `(mean count / class count)^e`:
    /// 0 weighs every message alike, 1 makes every topic weigh alike.
    pub topic_balance: f32,
    /// Hash bits of the feature space (default 18).
    pub hash_bits: u32,
    /// N-grams (word, bigram, prefix, character) seen in fewer training
    /// messages than this are dropped.
    pub min_document_frequency: usize,
    /// Weight of a generated training record relative to a written one; 0
    /// leaves the generated records out.
    pub generated_weight: f32,
    /// A Hugging Face encoder directory: also train the encoder head.
    pub encoder_dir: Option<PathBuf>,
    /// Embed at most this many records for the encoder head (a fixed-seed
    /// sample); `None` embeds them all. Tests use a small number.
    pub encoder_max_records: Option<usize>,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            params: TrainingParams {
                l2: DEFAULT_ABUSE_L2,
                ..TrainingParams::default()
            },
            topic_l2: DEFAULT_TOPIC_L2,
            topic_balance: DEFAULT_TOPIC_BALANCE,
            hash_bits: DEFAULT_HASH_BITS,
            min_document_frequency: DEFAULT_MIN_DOCUMENT_FREQUENCY,
            generated_weight: DEFAULT_GENERATED_WEIGHT,
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

/// Trains from a corpus directory (see the module documentation) into
/// `model_dir`, calibrating on the dev writer.
///
/// # Errors
/// [`TrainError`] when the corpus cannot be read or is empty, the encoder
/// cannot be loaded, or the model files cannot be written.
pub fn train(
    corpus_dir: &Path,
    model_dir: &Path,
    options: &TrainOptions,
) -> Result<TrainReport, TrainError> {
    let corpus = Corpus::load(corpus_dir)?;
    train_corpus(&corpus, model_dir, options)
}

/// Trains from a loaded corpus into `model_dir`, calibrating on its dev
/// split.
///
/// # Errors
/// As [`train`].
pub fn train_corpus(
    corpus: &Corpus,
    model_dir: &Path,
    options: &TrainOptions,
) -> Result<TrainReport, TrainError> {
    let generated: &[CorpusRecord] = if options.generated_weight > 0.0 {
        &corpus.generated_train
    } else {
        &[]
    };
    train_parts(&corpus.train, generated, &corpus.dev, model_dir, options)
}

/// Trains from records into `model_dir`, without generated records and
/// without calibration.
///
/// # Errors
/// As [`train`].
pub fn train_records(
    records: &[CorpusRecord],
    model_dir: &Path,
    options: &TrainOptions,
) -> Result<TrainReport, TrainError> {
    train_parts(records, &[], &[], model_dir, options)
}

/// The models and manifest of a training run, before they are written.
#[derive(Debug, Clone)]
pub struct Trained {
    /// The logistic models.
    pub linear: LinearModels,
    /// The manifest (file checksums not yet filled in).
    pub manifest: Manifest,
}

/// Trains in memory: written records, generated records (at
/// `options.generated_weight`), calibration on `dev` (identity when empty).
///
/// # Errors
/// [`TrainError::Empty`] without written records, [`TrainError::Model`]
/// when the rules cannot be built.
pub fn train_in_memory(
    written: &[CorpusRecord],
    generated: &[CorpusRecord],
    dev: &[CorpusRecord],
    options: &TrainOptions,
) -> Result<Trained, TrainError> {
    if written.is_empty() {
        return Err(TrainError::Empty);
    }
    let pipeline = Pipeline::shipped(options.hash_bits)?;
    let weighted: Vec<(&CorpusRecord, f32)> = written
        .iter()
        .map(|r| (r, 1.0))
        .chain(generated.iter().map(|r| (r, options.generated_weight)))
        .collect();
    let linear = train_linear(
        &pipeline,
        &weighted,
        &TrainingParams {
            l2: options.topic_l2,
            ..options.params.clone()
        },
        &options.params,
        options.min_document_frequency,
        options.topic_balance,
    );
    let calibration = calibrate(&pipeline, &linear, dev);
    let mut corpus_bytes = Vec::new();
    for (r, _) in &weighted {
        corpus_bytes.extend_from_slice(serde_json::to_string(r).unwrap_or_default().as_bytes());
        corpus_bytes.push(b'\n');
    }
    let p = &options.params;
    let manifest = Manifest {
        format: MODEL_FORMAT,
        feature_version: FEATURE_VERSION,
        hash_bits: options.hash_bits,
        rules_version: pipeline.rules_version().to_owned(),
        training: TrainingFacts {
            records: weighted.len(),
            corpus_sha256: sha256_hex(&corpus_bytes),
            epochs: p.epochs,
            learning_rate: p.learning_rate,
            decay: p.decay,
            l2: p.l2,
            topic_l2: options.topic_l2,
            topic_balance: options.topic_balance,
            seed: p.seed,
            min_document_frequency: options.min_document_frequency,
            generated_weight: if generated.is_empty() {
                0.0
            } else {
                options.generated_weight
            },
            generated_records: generated.len(),
        },
        calibration,
        encoder: None,
        files: Default::default(),
    };
    Ok(Trained { linear, manifest })
}

fn train_parts(
    written: &[CorpusRecord],
    generated: &[CorpusRecord],
    dev: &[CorpusRecord],
    model_dir: &Path,
    options: &TrainOptions,
) -> Result<TrainReport, TrainError> {
    let Trained {
        linear,
        mut manifest,
    } = train_in_memory(written, generated, dev, options)?;
    let (head, encoder_records) = match &options.encoder_dir {
        Some(dir) => {
            // The head learns from written messages only: on embeddings, the
            // generated ones add templates, not meaning.
            let (head, facts) = train_encoder_head(dir, written, options)?;
            let n = facts.records;
            manifest.encoder = Some(facts);
            (Some(head), Some(n))
        }
        None => (None, None),
    };
    let records = manifest.training.records;
    let manifest = crate::model::write_model_dir(model_dir, manifest, &linear, head.as_ref())
        .map_err(|source| TrainError::Write {
            path: model_dir.to_owned(),
            source,
        })?;
    Ok(TrainReport {
        records,
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

/// Trains the two n-gram models on weighted records.
///
/// N-gram buckets seen in fewer than `min_document_frequency` records are
/// left out of every example, so their weights stay zero. Each record is
/// learned twice for abuse: with its rule signals and without them.
/// Otherwise the model would lean on the signals alone and learn nothing
/// from the words of abusive messages the rules miss, which is exactly where
/// it is needed.
pub fn train_linear(
    pipeline: &Pipeline,
    records: &[(&CorpusRecord, f32)],
    topic_params: &TrainingParams,
    abuse_params: &TrainingParams,
    min_document_frequency: usize,
    topic_balance: f32,
) -> LinearModels {
    let mut per_topic = vec![0.0f32; Topic::ALL.len()];
    for (r, w) in records {
        per_topic[topic_class_of(r)] += w;
    }
    let mean = per_topic.iter().sum::<f32>() / per_topic.len() as f32;
    let topic_weight: Vec<f32> = per_topic
        .iter()
        .map(|n| {
            if *n > 0.0 {
                (mean / n).powf(topic_balance)
            } else {
                1.0
            }
        })
        .collect();
    let prepared: Vec<TrainingFeatures> = records
        .iter()
        .map(|(r, _)| pipeline.training_features(&r.text))
        .collect();
    let mut document_frequency: HashMap<u32, usize> = HashMap::new();
    for p in &prepared {
        for i in &p.text.indices {
            *document_frequency.entry(*i).or_default() += 1;
        }
    }
    let kept = |v: &SparseVector| -> SparseVector {
        let mut out = SparseVector::default();
        for (i, x) in v.indices.iter().zip(&v.values) {
            if document_frequency.get(i).copied().unwrap_or(0) >= min_document_frequency {
                out.indices.push(*i);
                out.values.push(*x);
            }
        }
        out
    };
    let with_signals: Vec<SparseVector> = prepared
        .iter()
        .map(|p| merge(kept(&p.text), p.extra_with_signals.clone()))
        .collect();
    let without_signals: Vec<SparseVector> = prepared
        .iter()
        .map(|p| merge(kept(&p.text), p.extra_without_signals.clone()))
        .collect();
    let dim = pipeline.extractor().dimension();
    let topic_examples: Vec<Example<'_>> = records
        .iter()
        .zip(&without_signals)
        .map(|((r, w), x)| Example {
            x,
            y: topic_class_of(r),
            weight: *w * topic_weight[topic_class_of(r)],
        })
        .collect();
    let abuse_examples: Vec<Example<'_>> = records
        .iter()
        .zip(&with_signals)
        .chain(records.iter().zip(&without_signals))
        .map(|((r, w), x)| Example {
            x,
            y: abuse_class_of(r),
            weight: *w,
        })
        .collect();
    LinearModels {
        topic: SoftmaxModel::train(&topic_examples, topic_classes(), dim, topic_params),
        abuse: SoftmaxModel::train(&abuse_examples, abuse_classes(), dim, abuse_params),
    }
}

/// Newton steps of the Platt fit.
const PLATT_ITERATIONS: usize = 50;

/// Candidate topic temperatures, in twentieths (0.25 to 3.0); the first
/// best wins.
const TEMPERATURES: std::ops::RangeInclusive<u32> = 5..=60;

/// Fits the calibration on dev records: Platt scaling of the abuse logit
/// (with Platt's smoothed targets, so a separable dev set gives finite
/// parameters) and the topic temperature of least log loss.
pub fn calibrate(pipeline: &Pipeline, linear: &LinearModels, dev: &[CorpusRecord]) -> Calibration {
    if dev.is_empty() {
        return Calibration::default();
    }
    let mut abuse_logits = Vec::with_capacity(dev.len());
    let mut topic_logits = Vec::with_capacity(dev.len());
    for r in dev {
        let prepared = pipeline.prepare(&r.text, None, usize::MAX);
        let p = linear.abuse.probabilities(&prepared.features);
        abuse_logits.push(logit(1.0 - p.first().copied().unwrap_or(1.0)));
        topic_logits.push(linear.topic.logits(&prepared.topic_features));
    }
    let positives = dev.iter().filter(|r| r.abusive).count() as f64;
    let negatives = dev.len() as f64 - positives;
    let high = (positives + 1.0) / (positives + 2.0);
    let low = 1.0 / (negatives + 2.0);
    let targets: Vec<f64> = dev
        .iter()
        .map(|r| if r.abusive { high } else { low })
        .collect();
    let (scale, shift) = platt(&abuse_logits, &targets);

    let mut best = (f64::INFINITY, 1.0f32);
    for step in TEMPERATURES {
        let t = step as f32 * 0.05;
        let mut loss = 0.0f64;
        for (r, z) in dev.iter().zip(&topic_logits) {
            let mut p: Vec<f32> = z.iter().map(|v| v / t).collect();
            softmax_in_place(&mut p);
            loss -= f64::from(p[topic_class_of(r)].max(1e-9)).ln();
        }
        if loss < best.0 {
            best = (loss, t);
        }
    }
    Calibration {
        abuse_scale: scale as f32,
        abuse_shift: shift as f32,
        topic_temperature: best.1,
        records: dev.len(),
    }
}

/// Fits `sigmoid(a·x + b)` to targets by Newton's method on the log loss.
fn platt(x: &[f32], targets: &[f64]) -> (f64, f64) {
    let (mut a, mut b) = (1.0f64, 0.0f64);
    for _ in 0..PLATT_ITERATIONS {
        let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (xi, t) in x.iter().zip(targets) {
            let xi = f64::from(*xi);
            let p = 1.0 / (1.0 + (-(a * xi + b)).exp());
            let d = p - t;
            let w = (p * (1.0 - p)).max(1e-9);
            ga += d * xi;
            gb += d;
            haa += w * xi * xi;
            hab += w * xi;
            hbb += w;
        }
        // A small ridge keeps the step finite on a degenerate set.
        haa += 1e-6;
        hbb += 1e-6;
        let det = haa * hbb - hab * hab;
        if det.abs() < 1e-12 {
            break;
        }
        let da = (hbb * ga - hab * gb) / det;
        let db = (haa * gb - hab * ga) / det;
        a -= da;
        b -= db;
        if da.abs() < 1e-9 && db.abs() < 1e-9 {
            break;
        }
    }
    (a, b)
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
    use crate::model::sigmoid;

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
    fn platt_scaling_recovers_a_known_slope_and_offset() {
        // Arrange: targets that are exactly sigmoid(2x − 1).
        let x: Vec<f32> = (-30..=30).map(|i| i as f32 / 10.0).collect();
        let targets: Vec<f64> = x
            .iter()
            .map(|v| f64::from(sigmoid(2.0 * v - 1.0)))
            .collect();

        // Act
        let (a, b) = platt(&x, &targets);

        // Assert
        assert!((a - 2.0).abs() < 1e-3, "slope {a}");
        assert!((b + 1.0).abs() < 1e-3, "offset {b}");
    }

    #[test]
    fn an_empty_corpus_is_an_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        let result = train_records(&[], dir.path(), &TrainOptions::default());
        assert!(matches!(result, Err(TrainError::Empty)));
    }
}
