//! Multinomial logistic regression over sparse features: training by
//! stochastic gradient descent, inference, and a compact binary encoding.
//!
//! Written by hand because the usual crates take dense matrices only. The
//! training is deterministic: a fixed seed fixes the example order, and the
//! arithmetic runs in one thread in a fixed order, so the same corpus gives
//! byte-identical model files. Weights are held dense in memory (fast
//! lookups) and stored sparse and quantised to 16 bits on disk (small files).

use crate::features::SparseVector;
use crate::rng::SplitMix64;

/// Rows whose largest weight is below this are not stored: they hardly move
/// a score and make up most of the file.
pub const PRUNE_BELOW: f32 = 0.004;

/// Largest value of a 16-bit quantised weight.
const QUANT_MAX: f32 = 32_767.0;

/// How to train.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingParams {
    /// Passes over the data.
    pub epochs: usize,
    /// Initial step size.
    pub learning_rate: f32,
    /// How fast the step shrinks per epoch: `lr / (1 + decay × epoch)`.
    pub decay: f32,
    /// L2 penalty on the weights touched by each example.
    pub l2: f32,
    /// Seed of the example order.
    pub seed: u64,
}

impl Default for TrainingParams {
    fn default() -> Self {
        TrainingParams {
            epochs: 14,
            learning_rate: 0.6,
            decay: 0.35,
            l2: 2e-5,
            seed: 0x5a1e_7e10_11e0_2026,
        }
    }
}

/// One training example: features, class index and weight.
#[derive(Debug, Clone, Copy)]
pub struct Example<'a> {
    /// Features.
    pub x: &'a SparseVector,
    /// Class index.
    pub y: usize,
    /// Importance (1.0 for an ordinary example).
    pub weight: f32,
}

/// A trained softmax model.
#[derive(Debug, Clone, PartialEq)]
pub struct SoftmaxModel {
    classes: Vec<String>,
    dim: usize,
    /// `dim × classes`, row-major by feature.
    weights: Vec<f32>,
    bias: Vec<f32>,
}

/// The binary encoding is damaged or of another kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The bytes end early.
    #[error("model data is truncated")]
    Truncated,
    /// A field holds an impossible value.
    #[error("model data is inconsistent: {0}")]
    Inconsistent(&'static str),
}

impl SoftmaxModel {
    /// Trains a model over `dim` features for the given classes.
    pub fn train(
        examples: &[Example<'_>],
        classes: Vec<String>,
        dim: usize,
        params: &TrainingParams,
    ) -> Self {
        let k = classes.len();
        let mut model = SoftmaxModel {
            classes,
            dim,
            weights: vec![0.0; dim * k],
            bias: vec![0.0; k],
        };
        if k == 0 || examples.is_empty() {
            return model;
        }
        let mut order: Vec<usize> = (0..examples.len()).collect();
        let mut rng = SplitMix64::new(params.seed);
        let mut probs = vec![0.0f32; k];
        for epoch in 0..params.epochs {
            rng.shuffle(&mut order);
            let lr = params.learning_rate / (1.0 + params.decay * epoch as f32);
            for &i in &order {
                let ex = &examples[i];
                model.logits_into(ex.x, &mut probs);
                softmax_in_place(&mut probs);
                for (c, p) in probs.iter_mut().enumerate() {
                    let target = if c == ex.y { 1.0 } else { 0.0 };
                    *p = (*p - target) * ex.weight;
                }
                for (&idx, &v) in ex.x.indices.iter().zip(&ex.x.values) {
                    let row = idx as usize * k;
                    let Some(weights) = model.weights.get_mut(row..row + k) else {
                        continue;
                    };
                    for (w, g) in weights.iter_mut().zip(&probs) {
                        *w -= lr * (g * v + params.l2 * *w);
                    }
                }
                for (b, g) in model.bias.iter_mut().zip(&probs) {
                    *b -= lr * g;
                }
            }
        }
        model
    }

    /// The class names, in index order.
    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    /// Number of feature buckets.
    pub fn dimension(&self) -> usize {
        self.dim
    }

    fn logits_into(&self, x: &SparseVector, out: &mut [f32]) {
        let k = self.classes.len();
        out.copy_from_slice(&self.bias);
        for (&idx, &v) in x.indices.iter().zip(&x.values) {
            let row = idx as usize * k;
            if let Some(ws) = self.weights.get(row..row + k) {
                for (o, w) in out.iter_mut().zip(ws) {
                    *o += w * v;
                }
            }
        }
    }

    /// Class logits (scores before the softmax) for a feature vector.
    pub fn logits(&self, x: &SparseVector) -> Vec<f32> {
        let mut out = vec![0.0; self.classes.len()];
        self.logits_into(x, &mut out);
        out
    }

    /// Class probabilities for a feature vector (they sum to 1).
    pub fn probabilities(&self, x: &SparseVector) -> Vec<f32> {
        let mut out = vec![0.0; self.classes.len()];
        self.logits_into(x, &mut out);
        softmax_in_place(&mut out);
        out
    }

    /// The weight of feature `index` for class `class` (0 when out of range).
    pub fn weight(&self, index: u32, class: usize) -> f32 {
        let k = self.classes.len();
        self.weights
            .get(index as usize * k + class)
            .copied()
            .unwrap_or(0.0)
    }

    /// Appends the compact encoding: class names, dimension, biases, then the
    /// rows whose largest weight reaches [`PRUNE_BELOW`], quantised to 16 bits.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let k = self.classes.len();
        put_u32(out, k as u32);
        for c in &self.classes {
            put_u32(out, c.len() as u32);
            out.extend_from_slice(c.as_bytes());
        }
        put_u32(out, self.dim as u32);
        for b in &self.bias {
            out.extend_from_slice(&b.to_le_bytes());
        }
        let max_abs = self.weights.iter().fold(0.0f32, |m, w| m.max(w.abs()));
        let scale = if max_abs > 0.0 {
            max_abs / QUANT_MAX
        } else {
            1.0
        };
        out.extend_from_slice(&scale.to_le_bytes());
        let rows: Vec<usize> = (0..self.dim)
            .filter(|&r| {
                self.weights[r * k..(r + 1) * k]
                    .iter()
                    .any(|w| w.abs() >= PRUNE_BELOW)
            })
            .collect();
        put_u32(out, rows.len() as u32);
        for r in rows {
            put_u32(out, r as u32);
            for w in &self.weights[r * k..(r + 1) * k] {
                // The ratio is within ±QUANT_MAX by construction of `scale`.
                let q = (w / scale).round().clamp(-QUANT_MAX, QUANT_MAX) as i16;
                out.extend_from_slice(&q.to_le_bytes());
            }
        }
    }

    /// Reads a model written by [`SoftmaxModel::encode`], advancing `input`.
    ///
    /// # Errors
    /// [`DecodeError`] when the bytes end early or hold impossible values.
    pub fn decode(input: &mut &[u8]) -> Result<Self, DecodeError> {
        let k = take_u32(input)? as usize;
        if k == 0 || k > 1_000 {
            return Err(DecodeError::Inconsistent("class count"));
        }
        let mut classes = Vec::with_capacity(k);
        for _ in 0..k {
            let n = take_u32(input)? as usize;
            let bytes = take(input, n)?;
            let name = String::from_utf8(bytes.to_vec())
                .map_err(|_| DecodeError::Inconsistent("class name"))?;
            classes.push(name);
        }
        let dim = take_u32(input)? as usize;
        if dim == 0 || dim > (1 << 24) {
            return Err(DecodeError::Inconsistent("dimension"));
        }
        let mut bias = Vec::with_capacity(k);
        for _ in 0..k {
            bias.push(take_f32(input)?);
        }
        let scale = take_f32(input)?;
        if !scale.is_finite() || scale <= 0.0 {
            return Err(DecodeError::Inconsistent("scale"));
        }
        let rows = take_u32(input)? as usize;
        if rows > dim {
            return Err(DecodeError::Inconsistent("row count"));
        }
        let mut weights = vec![0.0f32; dim * k];
        for _ in 0..rows {
            let r = take_u32(input)? as usize;
            if r >= dim {
                return Err(DecodeError::Inconsistent("row index"));
            }
            for c in 0..k {
                let bytes = take(input, 2)?;
                let q = i16::from_le_bytes([bytes[0], bytes[1]]);
                weights[r * k + c] = f32::from(q) * scale;
            }
        }
        if bias.iter().any(|b| !b.is_finite()) {
            return Err(DecodeError::Inconsistent("bias"));
        }
        Ok(SoftmaxModel {
            classes,
            dim,
            weights,
            bias,
        })
    }
}

/// Turns logits into probabilities, stably.
pub fn softmax_in_place(values: &mut [f32]) {
    let max = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in values.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    if sum > 0.0 && sum.is_finite() {
        for v in values.iter_mut() {
            *v /= sum;
        }
    }
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn take<'a>(input: &mut &'a [u8], n: usize) -> Result<&'a [u8], DecodeError> {
    if input.len() < n {
        return Err(DecodeError::Truncated);
    }
    let (head, tail) = input.split_at(n);
    *input = tail;
    Ok(head)
}

fn take_u32(input: &mut &[u8]) -> Result<u32, DecodeError> {
    let b = take(input, 4)?;
    Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn take_f32(input: &mut &[u8]) -> Result<f32, DecodeError> {
    let b = take(input, 4)?;
    Ok(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vector(pairs: &[(u32, f32)]) -> SparseVector {
        SparseVector::from_pairs(pairs.to_vec())
    }

    #[test]
    fn training_separates_two_linearly_separable_classes() {
        // Arrange
        let a = vector(&[(1, 1.0), (2, 1.0)]);
        let b = vector(&[(3, 1.0), (4, 1.0)]);
        let examples: Vec<Example<'_>> = (0..20)
            .map(|i| Example {
                x: if i % 2 == 0 { &a } else { &b },
                y: i % 2,
                weight: 1.0,
            })
            .collect();

        // Act
        let model = SoftmaxModel::train(
            &examples,
            vec!["a".into(), "b".into()],
            8,
            &TrainingParams::default(),
        );

        // Assert
        assert!(model.probabilities(&a)[0] > 0.9);
        assert!(model.probabilities(&b)[1] > 0.9);
    }

    #[test]
    fn training_is_deterministic_and_encoding_round_trips_closely() {
        // Arrange
        let a = vector(&[(1, 1.0), (5, 0.5)]);
        let b = vector(&[(3, 1.0), (5, 0.5)]);
        let examples = vec![
            Example {
                x: &a,
                y: 0,
                weight: 1.0,
            },
            Example {
                x: &b,
                y: 1,
                weight: 1.0,
            },
        ];
        let params = TrainingParams::default();

        // Act
        let m1 = SoftmaxModel::train(&examples, vec!["a".into(), "b".into()], 8, &params);
        let m2 = SoftmaxModel::train(&examples, vec!["a".into(), "b".into()], 8, &params);
        let mut bytes1 = Vec::new();
        m1.encode(&mut bytes1);
        let mut bytes2 = Vec::new();
        m2.encode(&mut bytes2);
        let decoded = SoftmaxModel::decode(&mut bytes1.as_slice()).expect("decodes");

        // Assert
        assert_eq!(bytes1, bytes2);
        let p = m1.probabilities(&a)[0];
        let q = decoded.probabilities(&a)[0];
        assert!((p - q).abs() < 1e-3, "{p} vs {q}");
    }

    #[test]
    fn truncated_or_inconsistent_bytes_are_decode_errors() {
        let a = vector(&[(1, 1.0)]);
        let model = SoftmaxModel::train(
            &[Example {
                x: &a,
                y: 0,
                weight: 1.0,
            }],
            vec!["a".into(), "b".into()],
            4,
            &TrainingParams::default(),
        );
        let mut bytes = Vec::new();
        model.encode(&mut bytes);
        for cut in [0, 3, 10, bytes.len() - 1] {
            assert!(
                SoftmaxModel::decode(&mut &bytes[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        assert_eq!(
            SoftmaxModel::decode(&mut [0u8, 0, 0, 0].as_slice()),
            Err(DecodeError::Inconsistent("class count"))
        );
    }
}
