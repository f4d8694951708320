//! The model files: what a model directory holds, how it is written and
//! read, and the typed errors of a missing or damaged model.
//!
//! A model directory holds `manifest.json` (format, feature version, class
//! names, training facts and the SHA-256 of every other file, no timestamps
//! so that retraining the same corpus gives identical bytes), `linear.bin`
//! (the two logistic models) and, when an encoder head was trained,
//! `encoder-head.bin`. The shipped model is embedded in the crate.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use models::{AbuseKind, Topic};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::features::FEATURE_VERSION;
use crate::linear::{DecodeError, SoftmaxModel};

/// The manifest's file name.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The logistic models' file name.
pub const LINEAR_FILE: &str = "linear.bin";
/// The encoder head's file name.
pub const ENCODER_HEAD_FILE: &str = "encoder-head.bin";
/// Version of the model directory layout.
pub const MODEL_FORMAT: u32 = 2;

/// First bytes of `linear.bin`.
const LINEAR_MAGIC: &[u8; 8] = b"SJCLLIN1";
/// First bytes of `encoder-head.bin`.
const HEAD_MAGIC: &[u8; 8] = b"SJCLENC1";

/// The name of the "not abusive" class of the abuse model; the other
/// classes are the `AbuseKind` slugs.
pub const CLEAN_CLASS: &str = "clean";

/// The shipped manifest, embedded.
pub const SHIPPED_MANIFEST: &[u8] = include_bytes!("../model/manifest.json");
/// The shipped logistic models, embedded.
pub const SHIPPED_LINEAR: &[u8] = include_bytes!("../model/linear.bin");

/// The class names of the topic model, in order.
pub fn topic_classes() -> Vec<String> {
    Topic::ALL.iter().map(|t| t.as_str().to_owned()).collect()
}

/// The class names of the abuse model, in order: `clean`, then the kinds.
pub fn abuse_classes() -> Vec<String> {
    std::iter::once(CLEAN_CLASS.to_owned())
        .chain(AbuseKind::ALL.iter().map(|k| k.as_str().to_owned()))
        .collect()
}

/// Facts about the training run, for audit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingFacts {
    /// Records learned from.
    pub records: usize,
    /// SHA-256 of the training records as read (in order).
    pub corpus_sha256: String,
    /// Passes over the data.
    pub epochs: usize,
    /// Initial step size.
    pub learning_rate: f32,
    /// Step decay per epoch.
    pub decay: f32,
    /// L2 penalty of the abuse model.
    pub l2: f32,
    /// L2 penalty of the topic model.
    pub topic_l2: f32,
    /// Exponent of the topic class weights.
    pub topic_balance: f32,
    /// Seed of the example order.
    pub seed: u64,
    /// N-grams seen in fewer training messages than this were dropped.
    pub min_document_frequency: usize,
    /// Weight of a generated record relative to a written one (0: unused).
    pub generated_weight: f32,
    /// Generated records learned from.
    pub generated_records: usize,
}

/// Calibration of the learned models' probabilities, fitted on the dev
/// writer after training: Platt scaling of the abuse probability and a
/// temperature for the topic probabilities. Identity when there was no dev
/// data.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Calibration {
    /// Slope on the logit of `1 − P(clean)`.
    pub abuse_scale: f32,
    /// Offset on that logit.
    pub abuse_shift: f32,
    /// Temperature dividing the topic logits.
    pub topic_temperature: f32,
    /// Dev records it was fitted on (0: identity).
    pub records: usize,
}

impl Default for Calibration {
    fn default() -> Self {
        Calibration {
            abuse_scale: 1.0,
            abuse_shift: 0.0,
            topic_temperature: 1.0,
            records: 0,
        }
    }
}

/// Logit of a probability, clamped away from 0 and 1.
pub fn logit(p: f32) -> f32 {
    let p = p.clamp(1e-6, 1.0 - 1e-6);
    (p / (1.0 - p)).ln()
}

/// The logistic function.
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

impl Calibration {
    /// The calibrated abuse probability of a raw `1 − P(clean)`.
    pub fn abuse(&self, raw: f32) -> f32 {
        sigmoid(self.abuse_scale * logit(raw) + self.abuse_shift)
    }
}

/// What the encoder head was trained with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EncoderFacts {
    /// Embedding size.
    pub dimension: usize,
    /// Fingerprint of the encoder (SHA-256 of its config and tokenizer).
    pub encoder_fingerprint: String,
    /// Records embedded for training the head.
    pub records: usize,
}

/// The manifest of a model directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Layout version ([`MODEL_FORMAT`]).
    pub format: u32,
    /// Feature definition version.
    pub feature_version: u32,
    /// Hash bits of the feature space.
    pub hash_bits: u32,
    /// Rules version the model was trained with.
    pub rules_version: String,
    /// Training facts.
    pub training: TrainingFacts,
    /// Probability calibration, fitted on dev.
    pub calibration: Calibration,
    /// The encoder head, when one was trained.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoder: Option<EncoderFacts>,
    /// SHA-256 (hex) of each other file, by name.
    pub files: BTreeMap<String, String>,
}

/// A model could not be loaded. Raised at startup, never per message.
#[derive(Debug, thiserror::Error)]
pub enum ModelLoadError {
    /// A model file is missing.
    #[error("model file {0} is missing")]
    Missing(PathBuf),
    /// A model file could not be read.
    #[error("cannot read model file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The manifest is not valid JSON of the expected shape.
    #[error("model manifest is not valid: {0}")]
    Manifest(#[source] serde_json::Error),
    /// A file does not match the checksum in the manifest.
    #[error("model file {0} is corrupt (checksum mismatch)")]
    Checksum(String),
    /// A file does not start with the expected magic bytes.
    #[error("model file {0} is not a model file of this kind")]
    BadMagic(String),
    /// A file's content is damaged.
    #[error("model file {file} cannot be decoded: {source}")]
    Decode {
        /// The file.
        file: String,
        /// The cause.
        #[source]
        source: DecodeError,
    },
    /// The model was made by another version of the code.
    #[error("model was trained for {what} {found}, this build needs {expected}: retrain it")]
    Incompatible {
        /// What differs.
        what: &'static str,
        /// In the model.
        found: String,
        /// In this build.
        expected: String,
    },
    /// The rule data shipped with the crate is invalid.
    #[error("classifier rules cannot be built: {0}")]
    Rules(String),
    /// The encoder model cannot be used.
    #[error("encoder cannot be loaded: {0}")]
    Encoder(String),
}

/// SHA-256 of bytes, in lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The two logistic models.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearModels {
    /// Topic model over the 13 topics.
    pub topic: SoftmaxModel,
    /// Abuse model over `clean` and the five kinds.
    pub abuse: SoftmaxModel,
}

impl LinearModels {
    /// Encodes both models with the file's magic bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 << 20);
        out.extend_from_slice(LINEAR_MAGIC);
        self.topic.encode(&mut out);
        self.abuse.encode(&mut out);
        out
    }

    /// Decodes `linear.bin` and checks its classes.
    ///
    /// # Errors
    /// [`ModelLoadError`] for a wrong magic, damaged bytes or unexpected classes.
    pub fn decode(bytes: &[u8], dimension: usize) -> Result<Self, ModelLoadError> {
        let (topic, abuse) = decode_pair(bytes, LINEAR_MAGIC, LINEAR_FILE)?;
        check_classes(&topic, &abuse, LINEAR_FILE)?;
        if topic.dimension() != dimension || abuse.dimension() != dimension {
            return Err(ModelLoadError::Incompatible {
                what: "feature dimension",
                found: topic.dimension().to_string(),
                expected: dimension.to_string(),
            });
        }
        Ok(LinearModels { topic, abuse })
    }
}

/// The logistic heads over encoder embeddings.
#[derive(Debug, Clone, PartialEq)]
pub struct EncoderHead {
    /// Topic head.
    pub topic: SoftmaxModel,
    /// Abuse head.
    pub abuse: SoftmaxModel,
}

impl EncoderHead {
    /// Encodes both heads with the file's magic bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(HEAD_MAGIC);
        self.topic.encode(&mut out);
        self.abuse.encode(&mut out);
        out
    }

    /// Decodes `encoder-head.bin`.
    ///
    /// # Errors
    /// [`ModelLoadError`] for a wrong magic, damaged bytes or unexpected classes.
    pub fn decode(bytes: &[u8]) -> Result<Self, ModelLoadError> {
        let (topic, abuse) = decode_pair(bytes, HEAD_MAGIC, ENCODER_HEAD_FILE)?;
        check_classes(&topic, &abuse, ENCODER_HEAD_FILE)?;
        Ok(EncoderHead { topic, abuse })
    }
}

fn decode_pair(
    bytes: &[u8],
    magic: &[u8; 8],
    file: &str,
) -> Result<(SoftmaxModel, SoftmaxModel), ModelLoadError> {
    let Some(mut rest) = bytes.strip_prefix(magic.as_slice()) else {
        return Err(ModelLoadError::BadMagic(file.to_owned()));
    };
    let decode_error = |source| ModelLoadError::Decode {
        file: file.to_owned(),
        source,
    };
    let topic = SoftmaxModel::decode(&mut rest).map_err(decode_error)?;
    let abuse = SoftmaxModel::decode(&mut rest).map_err(decode_error)?;
    if !rest.is_empty() {
        return Err(decode_error(DecodeError::Inconsistent("trailing bytes")));
    }
    Ok((topic, abuse))
}

fn check_classes(
    topic: &SoftmaxModel,
    abuse: &SoftmaxModel,
    file: &str,
) -> Result<(), ModelLoadError> {
    if topic.classes() != topic_classes().as_slice()
        || abuse.classes() != abuse_classes().as_slice()
    {
        return Err(ModelLoadError::Incompatible {
            what: "classes in",
            found: file.to_owned(),
            expected: "the 13 topics and the 5 abuse kinds".to_owned(),
        });
    }
    Ok(())
}

/// A model directory's files, read and verified.
#[derive(Debug, Clone)]
pub struct ModelFiles {
    /// The manifest.
    pub manifest: Manifest,
    /// SHA-256 of the manifest bytes: identifies the whole model.
    pub manifest_sha256: String,
    /// The logistic models.
    pub linear: LinearModels,
    /// The encoder head, when the directory has one.
    pub encoder_head: Option<EncoderHead>,
}

impl ModelFiles {
    /// Reads the embedded, shipped model.
    ///
    /// # Errors
    /// [`ModelLoadError`] if the embedded files are inconsistent (a build
    /// with a stale model after a feature change).
    pub fn shipped() -> Result<Self, ModelLoadError> {
        Self::from_bytes(SHIPPED_MANIFEST, SHIPPED_LINEAR, None)
    }

    /// Reads and verifies a model directory.
    ///
    /// # Errors
    /// [`ModelLoadError::Missing`] for a missing file, and the other variants
    /// for unreadable, corrupt or incompatible files.
    pub fn read_dir(dir: &Path) -> Result<Self, ModelLoadError> {
        let read = |name: &str| -> Result<Vec<u8>, ModelLoadError> {
            let path = dir.join(name);
            fs::read(&path).map_err(|source| {
                if source.kind() == io::ErrorKind::NotFound {
                    ModelLoadError::Missing(path.clone())
                } else {
                    ModelLoadError::Io {
                        path: path.clone(),
                        source,
                    }
                }
            })
        };
        let manifest = read(MANIFEST_FILE)?;
        let linear = read(LINEAR_FILE)?;
        let head_path = dir.join(ENCODER_HEAD_FILE);
        let head = if head_path.exists() {
            Some(read(ENCODER_HEAD_FILE)?)
        } else {
            None
        };
        Self::from_bytes(&manifest, &linear, head.as_deref())
    }

    /// Verifies and decodes model files given as bytes.
    ///
    /// # Errors
    /// As [`ModelFiles::read_dir`].
    pub fn from_bytes(
        manifest_bytes: &[u8],
        linear: &[u8],
        head: Option<&[u8]>,
    ) -> Result<Self, ModelLoadError> {
        let manifest: Manifest =
            serde_json::from_slice(manifest_bytes).map_err(ModelLoadError::Manifest)?;
        if manifest.format != MODEL_FORMAT {
            return Err(ModelLoadError::Incompatible {
                what: "model format",
                found: manifest.format.to_string(),
                expected: MODEL_FORMAT.to_string(),
            });
        }
        if manifest.feature_version != FEATURE_VERSION {
            return Err(ModelLoadError::Incompatible {
                what: "feature version",
                found: manifest.feature_version.to_string(),
                expected: FEATURE_VERSION.to_string(),
            });
        }
        if !(10..=24).contains(&manifest.hash_bits) {
            return Err(ModelLoadError::Incompatible {
                what: "hash bits",
                found: manifest.hash_bits.to_string(),
                expected: "10 to 24".to_owned(),
            });
        }
        verify(&manifest, LINEAR_FILE, linear)?;
        let linear = LinearModels::decode(linear, 1usize << manifest.hash_bits)?;
        let encoder_head = match (head, manifest.encoder.is_some()) {
            (Some(bytes), true) => {
                verify(&manifest, ENCODER_HEAD_FILE, bytes)?;
                Some(EncoderHead::decode(bytes)?)
            }
            (None, true) => return Err(ModelLoadError::Missing(PathBuf::from(ENCODER_HEAD_FILE))),
            (_, false) => None,
        };
        Ok(ModelFiles {
            manifest_sha256: sha256_hex(manifest_bytes),
            manifest,
            linear,
            encoder_head,
        })
    }
}

fn verify(manifest: &Manifest, name: &str, bytes: &[u8]) -> Result<(), ModelLoadError> {
    match manifest.files.get(name) {
        Some(expected) if *expected == sha256_hex(bytes) => Ok(()),
        _ => Err(ModelLoadError::Checksum(name.to_owned())),
    }
}

impl ModelFiles {
    /// The model files of models trained in memory, encoded and decoded
    /// exactly as if written to a directory and read back (weights
    /// quantised the same way).
    ///
    /// # Errors
    /// [`ModelLoadError`] only if the encoding is inconsistent (a bug).
    pub fn from_models(
        mut manifest: Manifest,
        linear: &LinearModels,
    ) -> Result<Self, ModelLoadError> {
        let linear_bytes = linear.encode();
        manifest
            .files
            .insert(LINEAR_FILE.to_owned(), sha256_hex(&linear_bytes));
        manifest.files.remove(ENCODER_HEAD_FILE);
        manifest.encoder = None;
        let mut json = serde_json::to_vec_pretty(&manifest).map_err(ModelLoadError::Manifest)?;
        json.push(b'\n');
        Self::from_bytes(&json, &linear_bytes, None)
    }
}

/// Writes a model directory: the files, then the manifest listing their
/// checksums. Creates the directory if needed.
///
/// # Errors
/// An I/O error when a file cannot be written.
pub fn write_model_dir(
    dir: &Path,
    mut manifest: Manifest,
    linear: &LinearModels,
    head: Option<&EncoderHead>,
) -> Result<Manifest, io::Error> {
    fs::create_dir_all(dir)?;
    let linear_bytes = linear.encode();
    manifest
        .files
        .insert(LINEAR_FILE.to_owned(), sha256_hex(&linear_bytes));
    fs::write(dir.join(LINEAR_FILE), &linear_bytes)?;
    let head_path = dir.join(ENCODER_HEAD_FILE);
    match head {
        Some(h) => {
            let bytes = h.encode();
            manifest
                .files
                .insert(ENCODER_HEAD_FILE.to_owned(), sha256_hex(&bytes));
            fs::write(&head_path, &bytes)?;
        }
        None => {
            manifest.files.remove(ENCODER_HEAD_FILE);
            manifest.encoder = None;
            if head_path.exists() {
                fs::remove_file(&head_path)?;
            }
        }
    }
    let mut json = serde_json::to_vec_pretty(&manifest).map_err(io::Error::other)?;
    json.push(b'\n');
    fs::write(dir.join(MANIFEST_FILE), json)?;
    Ok(manifest)
}
