//! The JSON API: `POST /api/v1/forms` for the web site's contact form.

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use connectors::webform::FormPayload;

use super::error::{ApiError, FieldProblem};
use super::extract::IdempotencyKey;
use super::forms::{field_problems, submit, Submitted};
use super::state::AppState;
use super::{check_rate, client_ip, request_language, ResponseLanguage};

/// Idempotency scope of the public forms API, followed by the caller's
/// address: the API has no client accounts, and a key one caller chose
/// must never replay another caller's answer.
const FORMS_SCOPE: &str = "api:forms";

/// `POST /api/v1/forms`.
pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/forms", post(create_form))
}

/// Reads a request body up to the configured limit, mapping an oversized
/// body to 413 and a broken stream to 400.
pub async fn read_body(req: Request, limit: usize) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(req.into_body(), limit)
        .await
        .map_err(|e| {
            let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
            while let Some(err) = source {
                if err.is::<http_body_util::LengthLimitError>() {
                    return ApiError::PayloadTooLarge;
                }
                source = err.source();
            }
            ApiError::BadRequest {
                code: "invalid_request",
                args: Vec::new(),
            }
        })
}

/// Reads a JSON body into `T`: the content type must be JSON, the body
/// within `limit`, valid UTF-8 and valid for `T` (unknown fields refused).
pub async fn json_body<T: serde::de::DeserializeOwned>(
    req: Request,
    limit: usize,
) -> Result<T, ApiError> {
    super::extract::require_content_type(req.headers(), "application/json")?;
    let body = read_body(req, limit).await?;
    if std::str::from_utf8(&body).is_err() {
        return Err(ApiError::BadRequest {
            code: "invalid_utf8",
            args: Vec::new(),
        });
    }
    serde_json::from_slice(&body).map_err(|e| json_error(&e))
}

fn json_error(error: &serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    match error.classify() {
        Category::Data => {
            let text = error.to_string();
            let field = text.split('`').nth(1).map(ToOwned::to_owned);
            let code = if text.starts_with("unknown field") {
                Some("unknown_field")
            } else if text.starts_with("missing field") {
                Some("field_required")
            } else {
                None
            };
            match (field, code) {
                (Some(field), Some(code)) => ApiError::Validation(vec![FieldProblem {
                    args: vec![("field", field.clone())],
                    field,
                    code: code.into(),
                }]),
                _ => ApiError::BadRequest {
                    code: "invalid_request",
                    args: Vec::new(),
                },
            }
        }
        Category::Io | Category::Syntax | Category::Eof => ApiError::BadRequest {
            code: "malformed_json",
            args: Vec::new(),
        },
    }
}

async fn create_form(State(state): State<AppState>, req: Request) -> Result<Response, ApiError> {
    let lang = request_language(req.uri(), req.headers());
    let headers: HeaderMap = req.headers().clone();
    let ip = client_ip(
        &headers,
        req.extensions().get::<ConnectInfo<std::net::SocketAddr>>(),
        &state.settings.server,
    );
    check_rate(&state.form_limiter, ip)?;
    super::extract::require_content_type(&headers, "application/json")?;
    let idempotency = IdempotencyKey::from_headers(&headers)?;
    let body = read_body(req, state.settings.server.max_body_bytes).await?;
    if std::str::from_utf8(&body).is_err() {
        return Err(ApiError::BadRequest {
            code: "invalid_utf8",
            args: Vec::new(),
        });
    }
    let payload: FormPayload = serde_json::from_slice(&body).map_err(|e| json_error(&e))?;
    match submit(
        &state,
        &payload,
        idempotency.map(|k| {
            (
                format!("{FORMS_SCOPE}:{}", super::rate_key(ip)),
                k.into_string(),
            )
        }),
        &body,
        lang,
    )
    .await?
    {
        Submitted::Accepted(response, lang) => {
            let mut resp = (StatusCode::CREATED, Json(response)).into_response();
            resp.extensions_mut().insert(ResponseLanguage(lang));
            Ok(resp)
        }
        Submitted::Invalid(errors, lang) => {
            let mut resp = ApiError::Validation(field_problems(&errors)).into_response();
            resp.extensions_mut().insert(ResponseLanguage(lang));
            Ok(resp)
        }
    }
}
