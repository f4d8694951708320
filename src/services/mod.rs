//! The domain layer: what agents, supervisors and the gateway itself do,
//! written once over the store and the ingest pipeline. Services take typed
//! inputs and a [`Services`] context, and answer with a [`DomainError`];
//! they know nothing of HTTP (no routes, extractors or status codes), so
//! the web pages, the JSON API and the command line share them. The HTTP
//! layer maps a [`DomainError`] to its answer in one place
//! (`http::error`).

pub mod contacts;
pub mod review;
pub mod threads;

use std::sync::Arc;

use models::staff::{Role, User};
use serde::Serialize;

use crate::clock::Clock;
use crate::config::Settings;
use crate::ingest::{IngestError, Ingestor};
use crate::store::{Store, StoreError};
use crate::templates::{OfficeContext, Templates};

/// What every service needs: the store, the ingest pipeline (for messages
/// to citizens and deadlines), the clock and the settings.
#[derive(Clone)]
pub struct Services {
    /// Persistence.
    pub store: Arc<dyn Store>,
    /// The ingest pipeline.
    pub ingestor: Ingestor,
    /// Now.
    pub clock: Arc<dyn Clock>,
    /// All settings.
    pub settings: Arc<Settings>,
    /// Office contact details for citizen-facing text.
    pub office: OfficeContext,
    /// Citizen-facing text (transfer notices).
    pub templates: Arc<Templates>,
    /// Builds outbound messages as they are sent, to show those not sent yet.
    pub composer: Arc<crate::outbox::compose::Composer>,
}

/// A problem with one field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldProblem {
    /// The field's name in the request.
    pub field: String,
    /// Stable code, also the catalogue key.
    pub code: String,
    /// Placeholders for the message (`max`).
    #[serde(skip)]
    pub args: Vec<(&'static str, String)>,
}

/// Why a service refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// The thread, contact or message does not exist (or was merged away).
    #[error("not found")]
    NotFound,
    /// The person's role does not allow it.
    #[error("not allowed for this role")]
    Forbidden,
    /// The state changed or forbids it; the code says how (`conflict` for a
    /// stale version, `reply_window_closed`, `same_department`…).
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// Fields to correct.
    #[error("invalid fields")]
    Invalid(Vec<FieldProblem>),
    /// The ingest pipeline refused the message.
    #[error(transparent)]
    Ingest(IngestError),
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
    /// A bug or an impossible state.
    #[error(transparent)]
    Internal(anyhow::Error),
}

impl DomainError {
    /// One field to correct, with its catalogue code.
    pub fn field(field: &str, code: &str) -> Self {
        DomainError::Invalid(vec![FieldProblem {
            field: field.to_owned(),
            code: code.to_owned(),
            args: Vec::new(),
        }])
    }

    /// Wraps an unexpected failure.
    pub fn internal(error: impl Into<anyhow::Error>) -> Self {
        DomainError::Internal(error.into())
    }
}

impl From<StoreError> for DomainError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => DomainError::NotFound,
            other => DomainError::Store(other),
        }
    }
}

impl From<IngestError> for DomainError {
    fn from(error: IngestError) -> Self {
        DomainError::Ingest(error)
    }
}

/// `Ok` when the user's role is at least `role`.
///
/// # Errors
/// [`DomainError::Forbidden`].
pub fn require(user: &User, role: Role) -> Result<(), DomainError> {
    if user.can(role) {
        Ok(())
    } else {
        Err(DomainError::Forbidden)
    }
}

/// Longest text an agent may send or note, in characters.
pub const MAX_TEXT_CHARS: usize = 10_000;

/// Checks an agent's text: present, not blank, within the limit.
///
/// # Errors
/// [`DomainError::Invalid`] naming `field`.
pub fn check_text(field: &str, text: &str) -> Result<(), DomainError> {
    if text.trim().is_empty() {
        return Err(DomainError::field(field, "field_blank"));
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(DomainError::Invalid(vec![FieldProblem {
            field: field.to_owned(),
            code: "field_too_long".to_owned(),
            args: vec![("max", MAX_TEXT_CHARS.to_string())],
        }]));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_text_must_be_present_and_bounded() {
        assert!(check_text("body", "Bonjour").is_ok());
        assert!(check_text("body", "  \n ").is_err());
        assert!(check_text("body", &"é".repeat(MAX_TEXT_CHARS + 1)).is_err());
    }
}
