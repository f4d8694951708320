//! The JSON-lines contract of `inbox classify`: one message per input line,
//! one result per output line, in order.
//!
//! Input lines are objects with a `text` string and optionally `id` (any
//! JSON value, echoed back), `subject` and `language` (`fr`/`en`); other
//! fields are ignored. Blank lines are skipped. A line that is not valid
//! JSON, not an object, or has no `text` string is reported on the error
//! writer as `line N: why` (1-based) and produces no output line; the
//! other lines are still classified.
//!
//! Output lines:
//!
//! ```json
//! {"id":"42","topic":"roads_snow","topic_score":0.91,"abusive":true,
//!  "abuse_verdict":"abusive","abuse_kind":"insult","abuse_score":0.92,
//!  "reasons":["insulte visant une personne : « t'es un cave »"],
//!  "notes":[],"model_version":"sj-clf/…"}
//! ```
//!
//! - `abusive` is true when the message goes to a supervisor, that is when
//!   `abuse_verdict` is `abusive` (confirmed flag) or `to_verify` (à vérifier);
//! - `abuse_kind` is `null` when `abusive` is false, and may be `null` for a
//!   `to_verify` without a clear kind;
//! - when the topic abstains, `topic` is `null`, `topic_score` is the score
//!   of the best candidate and `topic_abstain_reason` says why (the agent
//!   picks);
//! - `reasons` explain a flag, `notes` explain why rude-looking words were
//!   not held against the writer.

use std::io::{self, BufRead, Write};

use models::{AbuseVerdict, Language, TopicVerdict};
use serde::Serialize;
use serde_json::Value;

use crate::{Classifier, ClassifierInput};

/// Counts of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JsonlSummary {
    /// Lines classified.
    pub classified: usize,
    /// Lines reported as invalid.
    pub rejected: usize,
}

#[derive(Serialize)]
struct OutputLine<'a> {
    id: &'a Value,
    topic: Option<&'static str>,
    topic_score: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    topic_abstain_reason: Option<&'a str>,
    abusive: bool,
    abuse_verdict: &'static str,
    abuse_kind: Option<&'static str>,
    abuse_score: f32,
    reasons: &'a [String],
    notes: &'a [String],
    model_version: &'a str,
}

/// Classifies JSON lines from `input` to `output`, reporting bad lines on
/// `errors`.
///
/// # Errors
/// Only I/O errors of the reader or writers; bad input lines are reported,
/// not returned.
pub fn classify_jsonl<R: BufRead, W: Write, E: Write>(
    classifier: &dyn Classifier,
    mut input: R,
    mut output: W,
    mut errors: E,
) -> io::Result<JsonlSummary> {
    let mut summary = JsonlSummary::default();
    let mut buffer = Vec::new();
    let mut line_number = 0usize;
    let null = Value::Null;
    loop {
        buffer.clear();
        if input.read_until(b'\n', &mut buffer)? == 0 {
            break;
        }
        line_number += 1;
        if buffer.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let parsed: Value = match serde_json::from_slice(&buffer) {
            Ok(v) => v,
            Err(e) => {
                writeln!(errors, "line {line_number}: invalid JSON: {e}")?;
                summary.rejected += 1;
                continue;
            }
        };
        let Some(object) = parsed.as_object() else {
            writeln!(errors, "line {line_number}: expected a JSON object")?;
            summary.rejected += 1;
            continue;
        };
        let Some(text) = object.get("text").and_then(Value::as_str) else {
            writeln!(errors, "line {line_number}: missing \"text\" string")?;
            summary.rejected += 1;
            continue;
        };
        let subject = object.get("subject").and_then(Value::as_str);
        let language = object
            .get("language")
            .and_then(Value::as_str)
            .and_then(Language::from_code);
        let explanation = classifier.explain(&ClassifierInput {
            text,
            subject,
            language,
        });
        let c = &explanation.classification;
        let (topic, topic_score, topic_abstain_reason) = match &c.topic {
            TopicVerdict::Label { topic, score } => (Some(topic.as_str()), Some(*score), None),
            TopicVerdict::Abstain { reason } => (
                None,
                explanation.topic_candidate.map(|(_, s)| s),
                Some(reason.as_str()),
            ),
        };
        let empty: &[String] = &[];
        let (abuse_verdict, abuse_kind, reasons) = match &c.abuse {
            AbuseVerdict::Clean { .. } => ("clean", None, empty),
            AbuseVerdict::ToVerify { kind, reasons, .. } => {
                ("to_verify", kind.map(|k| k.as_str()), reasons.as_slice())
            }
            AbuseVerdict::Abusive { kind, reasons, .. } => {
                ("abusive", Some(kind.as_str()), reasons.as_slice())
            }
        };
        let line = OutputLine {
            id: object.get("id").unwrap_or(&null),
            topic,
            topic_score,
            topic_abstain_reason,
            abusive: c.abuse.needs_review(),
            abuse_verdict,
            abuse_kind,
            abuse_score: c.abuse.score(),
            reasons,
            notes: &explanation.notes,
            model_version: &c.model_version,
        };
        serde_json::to_writer(&mut output, &line).map_err(io::Error::other)?;
        output.write_all(b"\n")?;
        summary.classified += 1;
    }
    output.flush()?;
    errors.flush()?;
    Ok(summary)
}
