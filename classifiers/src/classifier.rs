//! The gateway's classifier: normalisation, rules and learned models combined
//! into one topic and abuse decision with reasons.
//!
//! How the decision is made:
//! - the learned models give topic probabilities and an abuse probability
//!   (`1 − P(clean)`), blended with the encoder heads' vote when an encoder
//!   is configured;
//! - a strong rule signal (a threat at a person, a slur, an insult aimed at
//!   someone) raises the abuse score to at least [`STRONG_SIGNAL_FLOOR`];
//! - a confirmed flag (`Abusive`) always has an explicit rule signal behind
//!   it; the model alone can only ask for a check (`ToVerify`);
//! - a recognised context (sacre about a thing, legal, media or political
//!   recourse, quoted speech, self-deprecation) cancels only the rule
//!   signals it covers (see `signals`), never the whole message: an attack
//!   elsewhere in the message still counts, and the learned model, which
//!   sees the contexts as features, still weighs the rest;
//! - the topic abstains below [`ClassifierSettings::topic_min_score`].
//!
//! Built once at startup, then shared read-only (`Send + Sync`).

use std::path::{Path, PathBuf};

use models::{AbuseKind, AbuseVerdict, Classification, Topic, TopicVerdict};
use serde::{Deserialize, Serialize};

use crate::features::{merge, FeatureExtractor, SparseVector, STOP_WORDS_TXT};
use crate::lexicon::{Lexicon, LEXICON_EN, LEXICON_FR};
use crate::linear::softmax_in_place;
use crate::model::{
    abuse_classes, sha256_hex, Calibration, LinearModels, ModelFiles, ModelLoadError, CLEAN_CLASS,
};
use crate::normalise::{NormalisedText, Normaliser, TokenKind};
use crate::signals::{Context, Rules, Signals, Strength};
use crate::taxonomy::{Taxonomy, TAXONOMY_TOML};
use crate::{Classifier, ClassifierInput, Explanation};

/// Version of the hand-written rules (code); the data files' hash is added
/// to the version string.
pub const RULES_VERSION: &str = "rules-2026.2";

/// A strong rule signal puts the abuse score at least this high.
pub const STRONG_SIGNAL_FLOOR: f32 = 0.92;

/// Contexts whose words are not held against the writer: the model is
/// asked again without them (see [`Evidence::exempted_p`]).
pub const EXEMPTING_CONTEXTS: &[Context] = &[
    Context::SacreAboutThing,
    Context::Sacre,
    Context::LegalRecourse,
    Context::MediaRecourse,
    Context::PoliticalRecourse,
    Context::QuotedSpeech,
    Context::SelfDirected,
    Context::GroupMention,
];

/// Below this model probability the exempted probability is not computed:
/// no review threshold is that low (the tuning grid starts at 0.05), so it
/// could not change a verdict, and skipping it keeps most messages at one
/// pass of the model.
const EXEMPTION_FLOOR: f32 = 0.05;

/// How many reasons a flag carries at most.
const MAX_REASONS: usize = 4;

/// How many of the model's words are quoted when the model flags alone.
const MODEL_WORDS_QUOTED: usize = 3;

/// Settings of the classifier (the gateway's `[classifier]` section).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClassifierSettings {
    /// A directory of model files made by `train`; `None` uses the model
    /// shipped inside the binary. Default: `None`.
    pub model_dir: Option<PathBuf>,
    /// A Hugging Face encoder directory (`config.json`, `tokenizer.json`,
    /// `model.safetensors`) whose head was trained into `model_dir`; `None`
    /// runs without the encoder vote. Default: `None`.
    pub encoder_dir: Option<PathBuf>,
    /// Abuse score from which a message with a rule signal is a confirmed
    /// flag (`Abusive`). Default: 0.80.
    pub abuse_flag_threshold: f32,
    /// Abuse score from which a message goes to a supervisor as "à
    /// vérifier" (`ToVerify`). Default: 0.45 (tuned on the dev writer).
    pub abuse_review_threshold: f32,
    /// Topic probability below which the topic abstains and an agent picks.
    /// Default: 0.375 (tuned on the dev writer).
    pub topic_min_score: f32,
    /// Weight of the encoder vote in the blended probabilities, 0 to 1.
    /// Default: 0.30.
    pub encoder_weight: f32,
    /// Bytes of text classified; the rest of a longer message is ignored.
    /// Default: 65,536.
    pub max_text_bytes: usize,
}

impl Default for ClassifierSettings {
    fn default() -> Self {
        ClassifierSettings {
            model_dir: None,
            encoder_dir: None,
            abuse_flag_threshold: 0.80,
            abuse_review_threshold: 0.45,
            topic_min_score: 0.375,
            encoder_weight: 0.30,
            max_text_bytes: 65_536,
        }
    }
}

/// The settings are not usable; lists every problem at once.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid classifier settings: {}", problems.join("; "))]
pub struct SettingsError {
    /// Every problem found.
    pub problems: Vec<String>,
}

impl ClassifierSettings {
    /// Checks ranges and cross-field rules, reporting all problems together.
    ///
    /// # Errors
    /// [`SettingsError`] listing every problem.
    pub fn validate(&self) -> Result<(), SettingsError> {
        let mut problems = Vec::new();
        let unit = |name: &str, v: f32, problems: &mut Vec<String>| {
            if !(0.0..=1.0).contains(&v) || v.is_nan() {
                problems.push(format!("{name} must be between 0 and 1, got {v}"));
            }
        };
        unit(
            "abuse_flag_threshold",
            self.abuse_flag_threshold,
            &mut problems,
        );
        unit(
            "abuse_review_threshold",
            self.abuse_review_threshold,
            &mut problems,
        );
        unit("topic_min_score", self.topic_min_score, &mut problems);
        unit("encoder_weight", self.encoder_weight, &mut problems);
        if self.abuse_review_threshold > self.abuse_flag_threshold {
            problems.push("abuse_review_threshold must not exceed abuse_flag_threshold".to_owned());
        }
        if self.max_text_bytes < 64 {
            problems.push(format!(
                "max_text_bytes must be at least 64, got {}",
                self.max_text_bytes
            ));
        }
        if let Some(dir) = &self.model_dir {
            if !dir.is_dir() {
                problems.push(format!("model_dir {} is not a directory", dir.display()));
            }
        }
        if let Some(dir) = &self.encoder_dir {
            if !dir.is_dir() {
                problems.push(format!("encoder_dir {} is not a directory", dir.display()));
            }
            if !cfg!(feature = "encoder") {
                problems
                    .push("encoder_dir is set but this build has no encoder support".to_owned());
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(SettingsError { problems })
        }
    }
}

/// Normalisation, rules and features: what training and inference share.
#[derive(Debug, Clone)]
pub struct Pipeline {
    normaliser: Normaliser,
    rules: Rules,
    taxonomy: Taxonomy,
    extractor: FeatureExtractor,
    rules_version: String,
}

/// One message run through the pipeline.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The text classified (subject and body, truncated).
    pub text: String,
    /// Its tokens.
    pub normalised: NormalisedText,
    /// The rule signals.
    pub signals: Signals,
    /// The features of the abuse model: text and rule signals.
    pub features: SparseVector,
    /// The features of the topic model: text only (abuse signals say
    /// nothing about the department concerned).
    pub topic_features: SparseVector,
}

impl Pipeline {
    /// Builds the pipeline from the shipped lexicons and taxonomy.
    ///
    /// # Errors
    /// [`ModelLoadError::Rules`] when the shipped data is invalid.
    pub fn shipped(hash_bits: u32) -> Result<Self, ModelLoadError> {
        let lexicon = Lexicon::shipped().map_err(|e| ModelLoadError::Rules(e.to_string()))?;
        let rules = Rules::new(&lexicon).map_err(|e| ModelLoadError::Rules(e.to_string()))?;
        let taxonomy = Taxonomy::shipped().map_err(|e| ModelLoadError::Rules(e.to_string()))?;
        let data_hash = sha256_hex(
            format!("{LEXICON_FR}{LEXICON_EN}{TAXONOMY_TOML}{STOP_WORDS_TXT}").as_bytes(),
        );
        Ok(Pipeline {
            normaliser: Normaliser::new(&lexicon),
            rules,
            taxonomy,
            extractor: FeatureExtractor::new(hash_bits),
            rules_version: format!("{RULES_VERSION}-{}", &data_hash[..8]),
        })
    }

    /// Identifies the rules and their data.
    pub fn rules_version(&self) -> &str {
        &self.rules_version
    }

    /// The feature extractor.
    pub fn extractor(&self) -> &FeatureExtractor {
        &self.extractor
    }

    /// The taxonomy.
    pub fn taxonomy(&self) -> &Taxonomy {
        &self.taxonomy
    }

    /// Normalises a message, applies the rules and extracts features.
    pub fn prepare(&self, text: &str, subject: Option<&str>, max_bytes: usize) -> Prepared {
        let mut full = String::new();
        if let Some(s) = subject.filter(|s| !s.trim().is_empty()) {
            full.push_str(s);
            full.push('\n');
        }
        full.push_str(text);
        let text = truncate_at_char(&full, max_bytes).to_owned();
        let normalised = self.normaliser.normalise(&text);
        let signals = self.rules.detect(&text, &normalised);
        let (vector, words) = self.extractor.text_features(&normalised);
        let features = merge(
            vector.clone(),
            self.extractor.extra_features(&words, &signals),
        );
        let topic_features = merge(
            vector,
            self.extractor.extra_features(&words, &Signals::default()),
        );
        Prepared {
            text,
            normalised,
            signals,
            features,
            topic_features,
        }
    }
}

/// The features training learns from for one message: its text features
/// and its extra features with and without the rule signals.
#[derive(Debug, Clone)]
pub struct TrainingFeatures {
    /// Word, bigram, prefix and character n-gram features (unit length).
    pub text: SparseVector,
    /// Rule signals.
    pub extra_with_signals: Vec<(u32, f32)>,
    /// Without rule signals (only the `empty` marker of a wordless message).
    pub extra_without_signals: Vec<(u32, f32)>,
}

impl Pipeline {
    /// The features of a message for training (see [`TrainingFeatures`]).
    pub fn training_features(&self, text: &str) -> TrainingFeatures {
        let normalised = self.normaliser.normalise(text);
        let signals = self.rules.detect(text, &normalised);
        let (vector, words) = self.extractor.text_features(&normalised);
        TrainingFeatures {
            extra_with_signals: self.extractor.extra_features(&words, &signals),
            extra_without_signals: self.extractor.extra_features(&words, &Signals::default()),
            text: vector,
        }
    }
}

/// The longest prefix of `text` of at most `max` bytes ending on a character
/// boundary.
fn truncate_at_char(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while end > 0 && !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(feature = "encoder")]
struct EncoderVote {
    encoder: crate::encoder::Encoder,
    head: crate::model::EncoderHead,
}

/// The rules' and models' output for one message, before thresholds.
#[derive(Debug, Clone)]
pub struct Evidence {
    /// The message through the pipeline (tokens, signals, features).
    pub prepared: Prepared,
    /// Calibrated topic probabilities, in `Topic::ALL` order.
    pub topic_probs: Vec<f32>,
    /// Abuse class probabilities (`clean`, then the kinds).
    pub abuse_probs: Vec<f32>,
    /// Calibrated probability of abuse of the learned model(s).
    pub model_p: f32,
    /// The same without the words that a recognised context explains
    /// (see [`EXEMPTING_CONTEXTS`]); `None` when no context applies, when a
    /// rule signal decides, or when `model_p` is already negligible.
    pub exempted_p: Option<f32>,
}

/// Everything the classifier computed about a message, beyond the verdict.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// The verdict.
    pub classification: Classification,
    /// The best topic and its probability, even when the verdict abstains.
    pub topic_candidate: Option<(Topic, f32)>,
    /// The abuse probability of the learned model(s) alone.
    pub model_abuse_probability: f32,
    /// The rule signals and context notes.
    pub signals: Signals,
}

/// The topic and abuse classifier of the gateway.
pub struct CitizenClassifier {
    pipeline: Pipeline,
    linear: LinearModels,
    calibration: Calibration,
    #[cfg(feature = "encoder")]
    encoder: Option<EncoderVote>,
    settings: ClassifierSettings,
    version: String,
}

impl std::fmt::Debug for CitizenClassifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CitizenClassifier")
            .field("version", &self.version)
            .field("settings", &self.settings)
            .finish()
    }
}

impl CitizenClassifier {
    /// The classifier with the model shipped in the binary and default
    /// settings: needs no configuration and no file.
    ///
    /// # Errors
    /// [`ModelLoadError`] only if the embedded model does not match this
    /// build (a stale model after a feature change; caught by the tests).
    pub fn shipped() -> Result<Self, ModelLoadError> {
        Self::load(&ClassifierSettings::default())
    }

    /// The classifier with the model in `dir` and default thresholds.
    ///
    /// # Errors
    /// [`ModelLoadError`] when a file is missing, corrupt or incompatible.
    pub fn from_model_dir(dir: &Path) -> Result<Self, ModelLoadError> {
        Self::load(&ClassifierSettings {
            model_dir: Some(dir.to_owned()),
            ..ClassifierSettings::default()
        })
    }

    /// Builds the classifier from settings: the shipped or configured model,
    /// and the encoder when configured.
    ///
    /// # Errors
    /// [`ModelLoadError`] when settings are invalid, a model file is missing,
    /// corrupt or incompatible, or the encoder cannot be loaded or has no
    /// trained head in the model directory.
    pub fn load(settings: &ClassifierSettings) -> Result<Self, ModelLoadError> {
        settings
            .validate()
            .map_err(|e| ModelLoadError::Rules(e.to_string()))?;
        let files = match &settings.model_dir {
            Some(dir) => ModelFiles::read_dir(dir)?,
            None => ModelFiles::shipped()?,
        };
        Self::from_files(files, settings)
    }

    /// Builds the classifier from model files already read (e.g. trained in
    /// memory), with the encoder when the settings name one.
    ///
    /// # Errors
    /// As [`CitizenClassifier::load`].
    pub fn from_files(
        files: ModelFiles,
        settings: &ClassifierSettings,
    ) -> Result<Self, ModelLoadError> {
        settings
            .validate()
            .map_err(|e| ModelLoadError::Rules(e.to_string()))?;
        let pipeline = Pipeline::shipped(files.manifest.hash_bits)?;
        #[cfg_attr(not(feature = "encoder"), allow(unused_mut))]
        let mut version = format!(
            "sj-clf/model-{}/{}",
            &files.manifest_sha256[..12],
            pipeline.rules_version()
        );
        #[cfg(feature = "encoder")]
        let encoder = match &settings.encoder_dir {
            Some(dir) => {
                let encoder = crate::encoder::Encoder::load(dir)?;
                let Some(head) = files.encoder_head.clone() else {
                    return Err(ModelLoadError::Missing(
                        settings
                            .model_dir
                            .clone()
                            .unwrap_or_default()
                            .join(crate::model::ENCODER_HEAD_FILE),
                    ));
                };
                let expected = files
                    .manifest
                    .encoder
                    .as_ref()
                    .map(|e| e.encoder_fingerprint.as_str());
                if expected != Some(encoder.fingerprint()) {
                    return Err(ModelLoadError::Incompatible {
                        what: "encoder",
                        found: expected.unwrap_or("none").to_owned(),
                        expected: encoder.fingerprint().to_owned(),
                    });
                }
                version.push_str(&format!("/enc-{}", &encoder.fingerprint()[..8]));
                Some(EncoderVote { encoder, head })
            }
            None => None,
        };
        #[cfg(not(feature = "encoder"))]
        if settings.encoder_dir.is_some() {
            return Err(ModelLoadError::Encoder(
                "this build has no encoder support".to_owned(),
            ));
        }
        Ok(CitizenClassifier {
            pipeline,
            linear: files.linear,
            calibration: files.manifest.calibration,
            #[cfg(feature = "encoder")]
            encoder,
            settings: settings.clone(),
            version,
        })
    }

    /// Replaces the decision thresholds (model files and encoder stay).
    ///
    /// # Errors
    /// [`SettingsError`] when the new thresholds are invalid.
    pub fn with_thresholds(mut self, settings: &ClassifierSettings) -> Result<Self, SettingsError> {
        let mut merged = settings.clone();
        merged.model_dir = self.settings.model_dir.clone();
        merged.encoder_dir = self.settings.encoder_dir.clone();
        merged.validate()?;
        self.settings = merged;
        Ok(self)
    }

    /// The settings in force.
    pub fn settings(&self) -> &ClassifierSettings {
        &self.settings
    }

    /// Whether an encoder votes.
    pub fn has_encoder(&self) -> bool {
        #[cfg(feature = "encoder")]
        {
            self.encoder.is_some()
        }
        #[cfg(not(feature = "encoder"))]
        {
            false
        }
    }

    /// The shared pipeline.
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// Calibrated topic probabilities, abuse class probabilities and the
    /// calibrated abuse probability (`1 − P(clean)`), blended with the
    /// encoder vote when there is one.
    fn probabilities(&self, prepared: &Prepared) -> (Vec<f32>, Vec<f32>, f32) {
        let mut topic = self.linear.topic.logits(&prepared.topic_features);
        let t = self.calibration.topic_temperature.max(1e-3);
        for z in &mut topic {
            *z /= t;
        }
        softmax_in_place(&mut topic);
        let abuse = self.linear.abuse.probabilities(&prepared.features);
        let raw = 1.0 - abuse.first().copied().unwrap_or(1.0);
        let model_p = self.calibration.abuse(raw);
        #[cfg(feature = "encoder")]
        if let Some(vote) = &self.encoder {
            if let Ok(embedding) = vote.encoder.embed(&prepared.text) {
                let x = crate::encoder::embedding_features(&embedding);
                let w = self.settings.encoder_weight;
                let blend = |a: Vec<f32>, b: Vec<f32>| -> Vec<f32> {
                    a.iter()
                        .zip(&b)
                        .map(|(p, q)| (1.0 - w) * p + w * q)
                        .collect()
                };
                let head_abuse = vote.head.abuse.probabilities(&x);
                let head_p = 1.0 - head_abuse.first().copied().unwrap_or(1.0);
                return (
                    blend(topic, vote.head.topic.probabilities(&x)),
                    blend(abuse, head_abuse),
                    (1.0 - w) * model_p + w * head_p,
                );
            }
        }
        (topic, abuse, model_p)
    }

    /// What the rules and the models say about a message, before any
    /// threshold is applied (thresholds are tuned by replaying
    /// [`CitizenClassifier::decide`] over the evidence of dev messages).
    pub fn evidence(&self, input: &ClassifierInput<'_>) -> Evidence {
        let prepared =
            self.pipeline
                .prepare(input.text, input.subject, self.settings.max_text_bytes);
        let (topic_probs, abuse_probs, model_p) = self.probabilities(&prepared);
        let exempted_p = if prepared.signals.abuse.is_empty() && model_p >= EXEMPTION_FLOOR {
            self.exempted_probability(&prepared)
        } else {
            None
        };
        Evidence {
            prepared,
            topic_probs,
            abuse_probs,
            model_p,
            exempted_p,
        }
    }

    /// The topic and abuse verdicts of the evidence under the thresholds of
    /// `settings`.
    pub fn decide(
        &self,
        evidence: &Evidence,
        settings: &ClassifierSettings,
    ) -> (TopicVerdict, AbuseVerdict) {
        (
            self.decide_topic(&evidence.prepared, &evidence.topic_probs, settings),
            self.decide_abuse(evidence, settings),
        )
    }

    /// The calibrated abuse probability of the n-gram model once the words
    /// explained by an exempting context are left out, or `None` when no
    /// such context was found. An exemption thus cancels what it covers and
    /// nothing else: "chu un vrai cave" explains "cave", but not an insult
    /// further on.
    fn exempted_probability(&self, prepared: &Prepared) -> Option<f32> {
        let tokens = prepared.normalised.tokens.len();
        let mut skipped = vec![false; tokens];
        let mut any = false;
        for c in &prepared.signals.context {
            if !EXEMPTING_CONTEXTS.contains(&c.context) {
                continue;
            }
            let (a, b) = c.tokens;
            for flag in skipped.iter_mut().take(b.min(tokens)).skip(a) {
                *flag = true;
                any = true;
            }
        }
        if !any {
            return None;
        }
        let extractor = &self.pipeline.extractor;
        let (vector, words) = extractor.text_features_without(&prepared.normalised, &skipped);
        let features = merge(vector, extractor.extra_features(&words, &prepared.signals));
        let abuse = self.linear.abuse.probabilities(&features);
        Some(
            self.calibration
                .abuse(1.0 - abuse.first().copied().unwrap_or(1.0)),
        )
    }

    /// Classifies a message and returns everything computed on the way.
    pub fn analyse(&self, input: &ClassifierInput<'_>) -> Analysis {
        let evidence = self.evidence(input);
        let (topic, abuse) = self.decide(&evidence, &self.settings);
        Analysis {
            classification: Classification {
                topic,
                abuse,
                model_version: self.version.clone(),
            },
            topic_candidate: best(&evidence.topic_probs).map(|(i, p)| (Topic::ALL[i], p)),
            model_abuse_probability: evidence.model_p,
            signals: evidence.prepared.signals,
        }
    }

    fn decide_topic(
        &self,
        prepared: &Prepared,
        probs: &[f32],
        settings: &ClassifierSettings,
    ) -> TopicVerdict {
        if !prepared.normalised.has_words() {
            return TopicVerdict::Abstain {
                reason: "message sans texte exploitable".to_owned(),
            };
        }
        let Some((i, p)) = best(probs) else {
            return TopicVerdict::Abstain {
                reason: "aucun sujet".to_owned(),
            };
        };
        if p < settings.topic_min_score {
            let mut ranked: Vec<(usize, f32)> = probs.iter().copied().enumerate().collect();
            ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
            let names: Vec<String> = ranked
                .iter()
                .take(2)
                .map(|(i, p)| {
                    let name = self
                        .pipeline
                        .taxonomy
                        .info(Topic::ALL[*i])
                        .map_or(Topic::ALL[*i].as_str(), |t| t.name_fr.as_str());
                    format!("{name} ({p:.2})")
                })
                .collect();
            return TopicVerdict::Abstain {
                reason: format!("confiance insuffisante : {}", names.join(" ou ")),
            };
        }
        TopicVerdict::Label {
            topic: Topic::ALL[i],
            score: p,
        }
    }

    fn decide_abuse(&self, evidence: &Evidence, s: &ClassifierSettings) -> AbuseVerdict {
        let prepared = &evidence.prepared;
        let probs = &evidence.abuse_probs;
        let model_p = evidence.model_p;
        let signals = &prepared.signals;
        let strongest = signals.strongest();
        let score = match strongest {
            Some(sig) if sig.strength == Strength::Strong => model_p.max(STRONG_SIGNAL_FLOOR),
            _ => model_p,
        };
        let model_kind = model_kind(probs);
        if let Some(sig) = strongest {
            let reasons: Vec<String> = signals
                .abuse
                .iter()
                .take(MAX_REASONS)
                .map(|x| x.reason())
                .collect();
            if score >= s.abuse_flag_threshold {
                return AbuseVerdict::Abusive {
                    kind: sig.kind(),
                    score,
                    reasons,
                };
            }
            if score >= s.abuse_review_threshold {
                return AbuseVerdict::ToVerify {
                    kind: Some(sig.kind()),
                    score,
                    reasons,
                };
            }
            return AbuseVerdict::Clean { score };
        }
        // Without a rule signal the model decides, on the words that no
        // exemption explains.
        let score = evidence.exempted_p.map_or(score, |p| p.min(score));
        if score < s.abuse_review_threshold {
            return AbuseVerdict::Clean { score };
        }
        let mut reasons = vec![self.model_reason(prepared, model_kind, score)];
        reasons.extend(
            signals
                .context
                .iter()
                .take(MAX_REASONS - 1)
                .map(|c| c.to_string()),
        );
        AbuseVerdict::ToVerify {
            kind: model_kind,
            score,
            reasons,
        }
    }

    /// The reason of a check asked by the model alone: its estimate and the
    /// words or two-word phrases of the message that weigh most towards
    /// abuse, in French and English. A function word is never quoted alone.
    fn model_reason(&self, prepared: &Prepared, kind: Option<AbuseKind>, score: f32) -> String {
        let classes = abuse_classes();
        let target = kind
            .and_then(|k| classes.iter().position(|c| c == k.as_str()))
            .unwrap_or(1);
        let clean = classes.iter().position(|c| c == CLEAN_CLASS).unwrap_or(0);
        let extractor = &self.pipeline.extractor;
        let features = &prepared.features;
        let weigh = |bucket: u32| -> f32 {
            let Ok(i) = features.indices.binary_search(&bucket) else {
                return 0.0;
            };
            features.values[i]
                * (self.linear.abuse.weight(bucket, target)
                    - self.linear.abuse.weight(bucket, clean))
        };
        // (contribution, first token, last token)
        let mut phrases: Vec<(f32, usize, usize)> = Vec::new();
        let tokens = &prepared.normalised.tokens;
        let exempted = |i: usize| {
            prepared.signals.context.iter().any(|c| {
                EXEMPTING_CONTEXTS.contains(&c.context) && c.tokens.0 <= i && i < c.tokens.1
            })
        };
        let mut previous: Option<usize> = None;
        for (i, t) in tokens.iter().enumerate() {
            if exempted(i) {
                previous = None;
                continue;
            }
            match t.kind {
                TokenKind::Word | TokenKind::Emoji => {}
                TokenKind::Boundary => {
                    previous = None;
                    continue;
                }
                TokenKind::Comma | TokenKind::Quote => continue,
            }
            if !extractor.is_stop_word(&t.text) {
                phrases.push((weigh(extractor.bucket_of_word(&t.text)), i, i));
            }
            if let Some(p) = previous {
                let (a, b) = (&tokens[p].text, &t.text);
                if !(extractor.is_stop_word(a) && extractor.is_stop_word(b)) {
                    phrases.push((weigh(extractor.bucket_of_bigram(a, b)), p, i));
                }
            }
            previous = Some(i);
        }
        phrases.retain(|p| p.0 > 0.0);
        phrases.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut chosen: Vec<(usize, usize)> = Vec::new();
        let mut quoted: Vec<String> = Vec::new();
        for (_, a, b) in phrases {
            if quoted.len() == MODEL_WORDS_QUOTED {
                break;
            }
            if chosen.iter().any(|&(x, y)| a <= y && x <= b) {
                continue;
            }
            let text = prepared
                .text
                .get(tokens[a].start..tokens[b].end)
                .unwrap_or("");
            let quote = format!(
                "« {} »",
                text.split_whitespace().collect::<Vec<_>>().join(" ")
            );
            if quoted
                .iter()
                .any(|q| q.to_lowercase() == quote.to_lowercase())
            {
                continue;
            }
            chosen.push((a, b));
            quoted.push(quote);
        }
        let (kind_fr, kind_en) =
            kind.map_or(("abus", "abuse"), |k| (kind_name_fr(k), kind_name_en(k)));
        let head = format!(
            "risque de {kind_fr} estimé par le modèle ({score:.2}), sans règle explicite / model-estimated risk of {kind_en} ({score:.2}), no explicit rule"
        );
        if quoted.is_empty() {
            head
        } else {
            format!(
                "{head} ; expressions qui pèsent / phrases that weigh : {}",
                quoted.join(", ")
            )
        }
    }
}

/// The English name of an abuse kind, for reasons.
pub fn kind_name_en(kind: AbuseKind) -> &'static str {
    match kind {
        AbuseKind::Insult => "insult",
        AbuseKind::Threat => "threat",
        AbuseKind::Intimidation => "intimidation",
        AbuseKind::Harassment => "harassment",
        AbuseKind::Hate => "hate",
    }
}

/// The French name of an abuse kind, for reasons.
pub fn kind_name_fr(kind: AbuseKind) -> &'static str {
    match kind {
        AbuseKind::Insult => "insulte",
        AbuseKind::Threat => "menace",
        AbuseKind::Intimidation => "intimidation",
        AbuseKind::Harassment => "harcèlement",
        AbuseKind::Hate => "propos haineux",
    }
}

/// The most likely abuse kind according to the model (ignoring `clean`).
fn model_kind(probs: &[f32]) -> Option<AbuseKind> {
    let (i, _) = probs
        .iter()
        .copied()
        .enumerate()
        .skip(1)
        .max_by(|a, b| a.1.total_cmp(&b.1))?;
    AbuseKind::ALL.get(i - 1).copied()
}

/// Index and value of the largest probability.
fn best(probs: &[f32]) -> Option<(usize, f32)> {
    probs
        .iter()
        .copied()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

impl Classifier for CitizenClassifier {
    fn version(&self) -> &str {
        &self.version
    }

    fn classify(&self, input: &ClassifierInput<'_>) -> Classification {
        self.analyse(input).classification
    }

    fn explain(&self, input: &ClassifierInput<'_>) -> Explanation {
        let analysis = self.analyse(input);
        Explanation {
            classification: analysis.classification,
            topic_candidate: analysis.topic_candidate,
            notes: analysis
                .signals
                .context
                .iter()
                .map(|c| c.to_string())
                .collect(),
        }
    }
}
