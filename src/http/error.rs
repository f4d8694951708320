//! The one error type of the HTTP layer and its mapping to status codes.
//!
//! Handlers return [`ApiError`] with a stable code; the body's human message
//! is written in the request's language by the `localize_errors` middleware
//! from the message catalogues (citizen-facing text never lives in code).
//! Internal errors are logged once there, with their cause chain, and their
//! text never reaches the client.

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use models::Language;
use serde::Serialize;

use crate::store::StoreError;

pub use crate::services::FieldProblem;

/// Everything a handler can answer with besides success.
#[derive(Debug, Clone)]
pub enum ApiError {
    /// 400: the request cannot be read (`malformed_json`, `invalid_utf8`…).
    BadRequest {
        /// Catalogue key.
        code: &'static str,
        /// Placeholders.
        args: Vec<(&'static str, String)>,
    },
    /// 401.
    Unauthorized,
    /// 403.
    Forbidden,
    /// 404.
    NotFound,
    /// 409: a conflicting write.
    Conflict {
        /// Catalogue key.
        code: &'static str,
    },
    /// 413.
    PayloadTooLarge,
    /// 415.
    UnsupportedMediaType {
        /// The content type expected.
        expected: &'static str,
    },
    /// 422: fields to correct.
    Validation(Vec<FieldProblem>),
    /// 429.
    RateLimited {
        /// When to come back.
        retry_after: Duration,
    },
    /// 503: a dependency is down.
    Unavailable(Arc<anyhow::Error>),
    /// 504: the request took too long.
    Timeout,
    /// 500: a bug or a corrupt row.
    Internal(Arc<anyhow::Error>),
}

impl ApiError {
    /// A 422 for one field, with its catalogue code.
    pub fn field(field: &str, code: &str) -> Self {
        ApiError::Validation(vec![FieldProblem {
            field: field.to_owned(),
            code: code.to_owned(),
            args: Vec::new(),
        }])
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Timeout => StatusCode::GATEWAY_TIMEOUT,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine-readable code, also the catalogue key of the message.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest { code, .. } | ApiError::Conflict { code } => code,
            ApiError::Unauthorized => "unauthorized",
            ApiError::Forbidden => "forbidden",
            ApiError::NotFound => "not_found",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::UnsupportedMediaType { .. } => "wrong_content_type",
            ApiError::Validation(_) => "validation",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Timeout => "timeout",
            ApiError::Internal(_) => "internal",
        }
    }

    fn args(&self) -> Vec<(&'static str, String)> {
        match self {
            ApiError::BadRequest { args, .. } => args.clone(),
            ApiError::UnsupportedMediaType { expected } => {
                vec![("expected", (*expected).to_owned())]
            }
            _ => Vec::new(),
        }
    }

    /// Wraps an unexpected failure.
    pub fn internal(error: impl Into<anyhow::Error>) -> Self {
        ApiError::Internal(Arc::new(error.into()))
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => ApiError::NotFound,
            StoreError::Conflict { .. } => ApiError::Conflict { code: "conflict" },
            StoreError::Unavailable(e) => ApiError::Unavailable(Arc::new(e)),
            other @ StoreError::Internal(_) => ApiError::Internal(Arc::new(other.into())),
        }
    }
}

impl From<crate::services::DomainError> for ApiError {
    fn from(error: crate::services::DomainError) -> Self {
        use crate::services::DomainError as D;
        match error {
            D::NotFound => ApiError::NotFound,
            D::Forbidden => ApiError::Forbidden,
            D::Conflict(code) => ApiError::Conflict { code },
            D::Invalid(problems) => ApiError::Validation(problems),
            D::Ingest(e) => e.into(),
            D::Store(e) => e.into(),
            D::Internal(e) => ApiError::internal(e),
        }
    }
}

impl From<crate::ingest::IngestError> for ApiError {
    fn from(error: crate::ingest::IngestError) -> Self {
        use crate::ingest::IngestError as I;
        match error {
            I::IdempotencyMismatch => ApiError::Conflict {
                code: "idempotency_mismatch",
            },
            I::IdentityTaken => ApiError::Conflict {
                code: "identity_taken",
            },
            I::UnknownContact => ApiError::field("contact_id", "unknown_contact"),
            I::Store(e) => e.into(),
        }
    }
}

impl From<connectors::ConnectorError> for ApiError {
    fn from(error: connectors::ConnectorError) -> Self {
        use connectors::ConnectorError as C;
        match error {
            C::InvalidPayload(_) => ApiError::BadRequest {
                code: "invalid_request",
                args: Vec::new(),
            },
            C::BadSignature => ApiError::Unauthorized,
            C::RateLimited { retry_after } => ApiError::RateLimited {
                retry_after: retry_after.unwrap_or(Duration::from_secs(60)),
            },
            other @ (C::Transient(_) | C::Auth(_)) => ApiError::Unavailable(Arc::new(other.into())),
            other @ (C::Permanent(_) | C::ReplyWindowClosed(_)) => {
                ApiError::Internal(Arc::new(other.into()))
            }
        }
    }
}

/// The JSON body of every error response.
#[derive(Debug, Serialize)]
pub struct ErrorBody {
    /// Stable code.
    pub code: &'static str,
    /// Human message in the request's language.
    pub message: String,
    /// Per-field problems (422 only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldMessage>,
}

/// One field's problem in the response body.
#[derive(Debug, Serialize)]
pub struct FieldMessage {
    /// Field name.
    pub field: String,
    /// Stable code.
    pub code: String,
    /// Human message.
    pub message: String,
}

impl ApiError {
    /// The response body in `lang`, with messages from the catalogue.
    pub fn body(&self, lang: Language, templates: &crate::templates::Templates) -> ErrorBody {
        let fields = match self {
            ApiError::Validation(problems) => problems
                .iter()
                .map(|p| FieldMessage {
                    field: p.field.clone(),
                    code: p.code.clone(),
                    message: templates.error_message(lang, &p.code, &p.args),
                })
                .collect(),
            _ => Vec::new(),
        };
        ErrorBody {
            code: self.code(),
            message: templates.error_message(lang, self.code(), &self.args()),
            fields,
        }
    }

    /// Logs the error once, at the level its audience needs.
    pub fn log(&self) {
        match self {
            ApiError::Internal(e) => tracing::error!(error = %e, cause = ?e, "Request failed"),
            ApiError::Unavailable(e) => {
                tracing::warn!(error = %e, cause = ?e, "Dependency unavailable")
            }
            _ => tracing::debug!(code = self.code(), "Request refused"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        // A minimal body; `localize_errors` replaces it with the localized one.
        let mut response = (
            status,
            axum::Json(serde_json::json!({ "code": self.code() })),
        )
            .into_response();
        if let ApiError::RateLimited { retry_after } = &self {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                super::extract::retry_after(*retry_after),
            );
        }
        response.extensions_mut().insert(self);
        response
    }
}
