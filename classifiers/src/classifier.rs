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
//! - with no abuse signal but a recognised context (sacre about a thing,
//!   legal, media or political recourse, quoted speech, self-deprecation,
//!   venting about a neighbour) the message stays clean unless the model is
//!   nearly certain ([`MITIGATED_CEILING`]), and even then is only "à
//!   vérifier";
//! - the topic abstains below [`ClassifierSettings::topic_min_score`].
//!
//! Built once at startup, then shared read-only (`Send + Sync`).

use std::path::{Path, PathBuf};

use models::{AbuseKind, AbuseVerdict, Classification, Topic, TopicVerdict};
use serde::{Deserialize, Serialize};

use crate::features::{FeatureExtractor, SparseVector};
use crate::lexicon::{Lexicon, LEXICON_EN, LEXICON_FR};
use crate::model::{
    abuse_classes, sha256_hex, LinearModels, ModelFiles, ModelLoadError, CLEAN_CLASS,
};
use crate::normalise::{NormalisedText, Normaliser, TokenKind};
use crate::signals::{Context, Rules, Signals, Strength};
use crate::taxonomy::{Taxonomy, TAXONOMY_TOML};
use crate::{Classifier, ClassifierInput, Explanation};

/// Version of the hand-written rules (code); the data files' hash is added
/// to the version string.
pub const RULES_VERSION: &str = "rules-2026.1";

/// A strong rule signal puts the abuse score at least this high.
pub const STRONG_SIGNAL_FLOOR: f32 = 0.92;

/// Above this model probability, a message with a mitigating context and no
/// rule signal is still sent for a check.
pub const MITIGATED_CEILING: f32 = 0.97;

/// How many reasons a flag carries at most.
const MAX_REASONS: usize = 4;

/// How many of the model's words are quoted when the model flags alone.
const MODEL_WORDS_QUOTED: usize = 3;

/// Function words never quoted as "words that weigh": they carry weight in
/// the model only through their company.
const STOP_WORDS: &[&str] = &[
    "you", "your", "the", "and", "are", "for", "les", "des", "une", "que", "qui", "pas", "est",
    "vous", "pour", "avec", "dans", "sur", "mon", "mes", "ton", "tes", "this", "that", "with",
    "what", "from", "have",
];

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
    /// vérifier" (`ToVerify`). Default: 0.60 (tuned on the dev split).
    pub abuse_review_threshold: f32,
    /// Topic probability below which the topic abstains and an agent picks.
    /// Default: 0.30 (tuned on the dev split).
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
            abuse_review_threshold: 0.60,
            topic_min_score: 0.30,
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
    /// The features.
    pub features: SparseVector,
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
        let data_hash = sha256_hex(format!("{LEXICON_FR}{LEXICON_EN}{TAXONOMY_TOML}").as_bytes());
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
        let features = self
            .extractor
            .extract(&normalised, &signals, &self.taxonomy);
        Prepared {
            text,
            normalised,
            signals,
            features,
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

    /// Topic and abuse probabilities for prepared input (blended with the
    /// encoder vote when there is one).
    fn probabilities(&self, prepared: &Prepared) -> (Vec<f32>, Vec<f32>) {
        let topic = self.linear.topic.probabilities(&prepared.features);
        let abuse = self.linear.abuse.probabilities(&prepared.features);
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
                return (
                    blend(topic, vote.head.topic.probabilities(&x)),
                    blend(abuse, vote.head.abuse.probabilities(&x)),
                );
            }
        }
        (topic, abuse)
    }

    /// Classifies a message and returns everything computed on the way.
    pub fn analyse(&self, input: &ClassifierInput<'_>) -> Analysis {
        let prepared =
            self.pipeline
                .prepare(input.text, input.subject, self.settings.max_text_bytes);
        let (topic_probs, abuse_probs) = self.probabilities(&prepared);
        let topic_candidate = best(&topic_probs).map(|(i, p)| (Topic::ALL[i], p));
        let topic = self.decide_topic(&prepared, &topic_probs);
        let model_p = 1.0 - abuse_probs.first().copied().unwrap_or(1.0);
        let abuse = self.decide_abuse(&prepared, &abuse_probs, model_p);
        Analysis {
            classification: Classification {
                topic,
                abuse,
                model_version: self.version.clone(),
            },
            topic_candidate,
            model_abuse_probability: model_p,
            signals: prepared.signals,
        }
    }

    fn decide_topic(&self, prepared: &Prepared, probs: &[f32]) -> TopicVerdict {
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
        if p < self.settings.topic_min_score {
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

    fn decide_abuse(&self, prepared: &Prepared, probs: &[f32], model_p: f32) -> AbuseVerdict {
        let s = &self.settings;
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
        let mitigated = signals.context.iter().any(|c| {
            matches!(
                c.context,
                Context::SacreAboutThing
                    | Context::LegalRecourse
                    | Context::MediaRecourse
                    | Context::PoliticalRecourse
                    | Context::QuotedSpeech
                    | Context::SelfDirected
                    | Context::ThirdPartyVent
            )
        });
        let needs_check = if mitigated {
            score >= MITIGATED_CEILING
        } else {
            score >= s.abuse_review_threshold
        };
        if !needs_check {
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
    /// words of the message that weigh most towards abuse.
    fn model_reason(&self, prepared: &Prepared, kind: Option<AbuseKind>, score: f32) -> String {
        let classes = abuse_classes();
        let target = kind
            .and_then(|k| classes.iter().position(|c| c == k.as_str()))
            .unwrap_or(1);
        let clean = classes.iter().position(|c| c == CLEAN_CLASS).unwrap_or(0);
        let mut words: Vec<(f32, &str, usize, usize)> = Vec::new();
        let telling = |t: &&crate::normalise::Token| {
            t.kind == TokenKind::Word
                && t.text.chars().count() > 2
                && !STOP_WORDS.contains(&t.text.as_str())
        };
        for t in prepared.normalised.tokens.iter().filter(telling) {
            let idx = self.pipeline.extractor.bucket_of_word(&t.text);
            let weight =
                self.linear.abuse.weight(idx, target) - self.linear.abuse.weight(idx, clean);
            if weight > 0.0 && !words.iter().any(|w| w.1 == t.text) {
                words.push((weight, t.text.as_str(), t.start, t.end));
            }
        }
        words.sort_by(|a, b| b.0.total_cmp(&a.0));
        let quoted: Vec<String> = words
            .iter()
            .take(MODEL_WORDS_QUOTED)
            .map(|(_, _, a, b)| format!("« {} »", prepared.text.get(*a..*b).unwrap_or("")))
            .collect();
        let kind_fr = kind.map_or("abus", kind_name_fr);
        if quoted.is_empty() {
            format!("le modèle estime un risque de {kind_fr} ({score:.2}) sans règle explicite")
        } else {
            format!(
                "le modèle estime un risque de {kind_fr} ({score:.2}) sans règle explicite ; mots qui pèsent : {}",
                quoted.join(", ")
            )
        }
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
