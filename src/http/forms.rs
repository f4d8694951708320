//! What the HTML form and the JSON API share: checking a submission and
//! taking it in, idempotently.

use connectors::webform::{FieldError, FormPayload, FormSubmission};
use models::{Language, ReferenceNumber, ThreadId};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::error::{ApiError, FieldProblem};
use super::state::AppState;
use crate::ingest::{IdempotencyRequest, IngestOutcome, Ingested};

/// The answer to an accepted submission, also what an idempotent replay returns.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FormResponse {
    /// The reference number handed to the citizen (absent for spam).
    pub reference: Option<ReferenceNumber>,
    /// The thread.
    pub thread_id: ThreadId,
}

impl From<&IngestOutcome> for FormResponse {
    fn from(outcome: &IngestOutcome) -> Self {
        Self {
            reference: outcome.reference.clone(),
            thread_id: outcome.thread_id,
        }
    }
}

/// Field errors as API problems.
pub fn field_problems(errors: &[FieldError]) -> Vec<FieldProblem> {
    errors
        .iter()
        .map(|e| FieldProblem {
            field: e.field.to_owned(),
            code: e.code.as_str().to_owned(),
            args: e
                .max
                .map(|m| vec![("max", m.to_string())])
                .unwrap_or_default(),
        })
        .collect()
}

/// Outcome of a submission.
pub enum Submitted {
    /// Stored now or replayed from an idempotency key.
    Accepted(FormResponse, Language),
    /// Fields to correct, with the language to say it in.
    Invalid(Vec<FieldError>, Language),
}

/// Checks and takes in a submission. `idempotency` is `(scope, key)`;
/// `body` is the raw request body, fingerprinted so a reused key with
/// another request is refused.
///
/// # Errors
/// [`ApiError`] for store failures and reused keys.
pub async fn submit(
    state: &AppState,
    payload: &FormPayload,
    idempotency: Option<(String, String)>,
    body: &[u8],
    fallback_lang: Language,
) -> Result<Submitted, ApiError> {
    let lang_hint = payload
        .lang
        .as_deref()
        .and_then(Language::from_code)
        .unwrap_or(fallback_lang);
    let submission = match FormSubmission::parse(payload, &state.settings.connectors.webform) {
        Ok(s) => s,
        Err(errors) => return Ok(Submitted::Invalid(errors, lang_hint)),
    };
    let lang = submission.language;
    let id = uuid::Uuid::now_v7().to_string();
    let message = submission
        .into_inbound(&id, &state.settings.reference_prefix(), state.clock.now())
        .map_err(ApiError::internal)?;
    let idem = idempotency.map(|(scope, key)| IdempotencyRequest {
        scope,
        key,
        fingerprint: hex::encode(Sha256::digest(body)),
    });
    let respond = |outcome: &IngestOutcome| {
        let body = serde_json::to_string(&FormResponse::from(outcome)).unwrap_or_default();
        (201u16, body)
    };
    match state
        .ingestor
        .ingest(&message, idem.as_ref(), &respond)
        .await
    {
        Ok(Ingested::Stored(outcome)) => {
            Ok(Submitted::Accepted(FormResponse::from(&outcome), lang))
        }
        Ok(Ingested::Replayed(saved)) => {
            let response: FormResponse =
                serde_json::from_str(&saved.body).map_err(ApiError::internal)?;
            Ok(Submitted::Accepted(response, lang))
        }
        Err(e) => Err(e.into()),
    }
}
