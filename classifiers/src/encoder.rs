//! In-process sentence encoder (candle): a BERT-family model from a Hugging
//! Face directory (`config.json`, `tokenizer.json`, `model.safetensors`)
//! turns a message into an L2-normalised embedding (forward pass, masked
//! mean pooling), on which small logistic heads vote for the topic and abuse.
//!
//! Synchronous and CPU-bound: the gateway calls it from `spawn_blocking`.
//! The encoder is `Send + Sync` and shared read-only. Only built with the
//! `encoder` cargo feature. Nothing is ever downloaded: the operator gives
//! the directory.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::{Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};

use crate::features::SparseVector;
use crate::model::{sha256_hex, ModelLoadError};

/// Longest input, in tokens: longer messages are cut (the start of a
/// message says what it is about).
pub const MAX_TOKENS: usize = 256;

/// Characters kept before tokenisation, so that a 1 MB message costs no
/// more than a long letter.
const MAX_CHARS: usize = 4_000;

/// A loaded sentence encoder.
pub struct Encoder {
    model: BertModel,
    tokenizer: Tokenizer,
    device: Device,
    dimension: usize,
    fingerprint: String,
    dir: PathBuf,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder")
            .field("dir", &self.dir)
            .field("dimension", &self.dimension)
            .field("fingerprint", &self.fingerprint)
            .finish()
    }
}

fn encoder_error(context: &str, e: impl std::fmt::Display) -> ModelLoadError {
    ModelLoadError::Encoder(format!("{context}: {e}"))
}

impl Encoder {
    /// Loads an encoder from a Hugging Face model directory.
    ///
    /// # Errors
    /// [`ModelLoadError::Missing`] when a required file is absent, and
    /// [`ModelLoadError::Encoder`] when a file cannot be parsed or the
    /// weights do not fit the configuration.
    pub fn load(dir: &Path) -> Result<Self, ModelLoadError> {
        let config_path = dir.join("config.json");
        let tokenizer_path = dir.join("tokenizer.json");
        let weights_path = dir.join("model.safetensors");
        for path in [&config_path, &tokenizer_path, &weights_path] {
            if !path.exists() {
                return Err(ModelLoadError::Missing(path.clone()));
            }
        }
        let read = |path: &Path| {
            std::fs::read(path).map_err(|source| ModelLoadError::Io {
                path: path.to_owned(),
                source,
            })
        };
        let config_bytes = read(&config_path)?;
        let tokenizer_bytes = read(&tokenizer_path)?;
        let config: Config = serde_json::from_slice(&config_bytes)
            .map_err(|e| encoder_error("config.json is not a BERT configuration", e))?;
        let mut tokenizer = Tokenizer::from_bytes(&tokenizer_bytes)
            .map_err(|e| encoder_error("tokenizer.json cannot be read", e))?;
        tokenizer
            .with_truncation(Some(TruncationParams {
                direction: TruncationDirection::Right,
                max_length: MAX_TOKENS,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
            }))
            .map_err(|e| encoder_error("tokenizer truncation", e))?;
        tokenizer.with_padding(None);
        let device = Device::Cpu;
        let weights = read(&weights_path)?;
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &device)
            .map_err(|e| encoder_error("model.safetensors cannot be read", e))?;
        let model = BertModel::load(vb, &config)
            .map_err(|e| encoder_error("weights do not fit config.json", e))?;
        let mut fingerprint_input = config_bytes;
        fingerprint_input.extend_from_slice(&tokenizer_bytes);
        Ok(Encoder {
            model,
            tokenizer,
            device,
            dimension: config.hidden_size,
            fingerprint: sha256_hex(&fingerprint_input),
            dir: dir.to_owned(),
        })
    }

    /// Size of an embedding.
    pub fn dimension(&self) -> usize {
        self.dimension
    }

    /// Identifies the encoder (config and tokenizer), to pair it with the
    /// head trained on it.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Embeds a text: forward pass, mean of the token vectors weighted by
    /// the attention mask, L2 normalisation.
    ///
    /// # Errors
    /// A description of a tokenizer or tensor failure.
    pub fn embed(&self, text: &str) -> Result<Vec<f32>, String> {
        let cut: String = text.chars().take(MAX_CHARS).collect();
        let encoding = self
            .tokenizer
            .encode(cut, true)
            .map_err(|e| e.to_string())?;
        let ids = encoding.get_ids();
        if ids.is_empty() {
            return Ok(vec![0.0; self.dimension]);
        }
        let mask: Vec<u32> = encoding.get_attention_mask().to_vec();
        let types: Vec<u32> = vec![0; ids.len()];
        let run = || -> candle_core::Result<Vec<f32>> {
            let input_ids = Tensor::new(ids, &self.device)?.unsqueeze(0)?;
            let token_types = Tensor::new(types.as_slice(), &self.device)?.unsqueeze(0)?;
            let mask_t = Tensor::new(mask.as_slice(), &self.device)?.unsqueeze(0)?;
            let hidden = self
                .model
                .forward(&input_ids, &token_types, Some(&mask_t))?;
            let mask_f = mask_t.to_dtype(DType::F32)?.unsqueeze(2)?;
            let summed = hidden.broadcast_mul(&mask_f)?.sum(1)?;
            let count = mask_f.sum(1)?.clamp(1e-9, f64::MAX)?;
            let mean = summed.broadcast_div(&count)?;
            let norm = mean.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f64::MAX)?;
            mean.broadcast_div(&norm)?.squeeze(0)?.to_vec1::<f32>()
        };
        run().map_err(|e| e.to_string())
    }
}

/// An embedding as a dense feature vector for the logistic heads.
pub fn embedding_features(embedding: &[f32]) -> SparseVector {
    SparseVector {
        indices: (0..embedding.len() as u32).collect(),
        values: embedding.to_vec(),
    }
}
