//! Public pages: the accessible contact form (`GET/POST /contact`) and its
//! stylesheet. Pages are server-rendered from the city's templates and work
//! without JavaScript.

use std::collections::HashMap;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use connectors::webform::{FieldError, FormPayload};
use models::Language;
use serde::Serialize;

use super::api::read_body;
use super::error::ApiError;
use super::forms::{submit, Submitted};
use super::state::AppState;
use super::{check_rate, client_ip, request_language};
use crate::templates::FORM_CSS;

/// Idempotency scope of the HTML form, followed by the client's address: its
/// one-time token names one submission of one visitor.
const FORM_SCOPE: &str = "web:contact";

/// `GET/POST /contact` and `GET /assets/form.css`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/contact", get(show_form).post(post_form))
        .route("/assets/form.css", get(stylesheet))
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        FORM_CSS,
    )
        .into_response()
}

#[derive(Debug, Default, Serialize)]
struct FormValues {
    name: String,
    email: String,
    phone: String,
    subject: String,
    message: String,
}

#[derive(Debug, Serialize)]
struct SummaryItem {
    /// The field to jump to; empty for an error about the whole form.
    field: &'static str,
    message: String,
}

fn render_form(
    state: &AppState,
    lang: Language,
    values: &FormValues,
    errors: &[FieldError],
    general: Option<String>,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let mut field_errors: HashMap<&str, String> = HashMap::new();
    let mut summary = Vec::new();
    for e in errors {
        let args = e
            .max
            .map(|m| vec![("max", m.to_string())])
            .unwrap_or_default();
        let message = state.templates.error_message(lang, e.code.as_str(), &args);
        field_errors
            .entry(e.field)
            .or_insert_with(|| message.clone());
        summary.push(SummaryItem {
            field: e.field,
            message,
        });
    }
    if let Some(general) = general {
        summary.push(SummaryItem {
            field: "",
            message: general,
        });
    }
    let limits = &state.settings.connectors.webform;
    let other = match lang {
        Language::Fr => "en",
        Language::En => "fr",
    };
    let html = state
        .templates
        .render(
            lang,
            "form.html",
            minijinja::context! {
                lang => lang.as_str(),
                other_lang => other,
                values => values,
                errors => summary,
                field_errors => field_errors,
                form_token => uuid::Uuid::now_v7().to_string(),
                office => &state.office,
                limits => minijinja::context! {
                    name => limits.max_name_chars,
                    subject => limits.max_subject_chars,
                    message => limits.max_message_chars,
                },
            },
        )
        .map_err(ApiError::internal)?;
    Ok((status, Html(html)).into_response())
}

async fn show_form(State(state): State<AppState>, req: Request) -> Result<Response, ApiError> {
    let lang = request_language(req.uri(), req.headers());
    render_form(
        &state,
        lang,
        &FormValues::default(),
        &[],
        None,
        StatusCode::OK,
    )
}

fn values_of(payload: &FormPayload) -> FormValues {
    let v = |o: &Option<String>| o.clone().unwrap_or_default();
    FormValues {
        name: v(&payload.name),
        email: v(&payload.email),
        phone: v(&payload.phone),
        subject: v(&payload.subject),
        message: v(&payload.message),
    }
}

async fn post_form(State(state): State<AppState>, req: Request) -> Result<Response, ApiError> {
    let lang = request_language(req.uri(), req.headers());
    let ip = client_ip(
        req.headers(),
        req.extensions().get::<ConnectInfo<std::net::SocketAddr>>(),
        &state.settings.server,
    );
    let general_error = |error: ApiError| {
        let message = state.templates.error_message(lang, error.code(), &[]);
        render_form(
            &state,
            lang,
            &FormValues::default(),
            &[],
            Some(message),
            error.status(),
        )
        .map(|mut r| {
            if let ApiError::RateLimited { retry_after } = &error {
                r.headers_mut().insert(
                    header::RETRY_AFTER,
                    super::extract::retry_after(*retry_after),
                );
            }
            r.extensions_mut().insert(error);
            r
        })
    };
    if let Err(error) = check_rate(&state.form_limiter, ip) {
        return general_error(error);
    }
    if let Err(error) =
        super::extract::require_content_type(req.headers(), "application/x-www-form-urlencoded")
    {
        return general_error(error);
    }
    let body = match read_body(req, state.settings.server.max_body_bytes).await {
        Ok(body) => body,
        Err(error) => return general_error(error),
    };
    let payload: FormPayload = match serde_urlencoded::from_bytes(&body) {
        Ok(p) => p,
        Err(_) => {
            return general_error(ApiError::BadRequest {
                code: "invalid_request",
                args: Vec::new(),
            })
        }
    };
    let lang = payload
        .lang
        .as_deref()
        .and_then(Language::from_code)
        .unwrap_or(lang);
    let token = payload
        .form_token
        .as_deref()
        .filter(|t| !t.is_empty() && t.len() <= 64 && t.bytes().all(|b| b.is_ascii_graphic()))
        .map(|t| {
            (
                format!("{FORM_SCOPE}:{}", super::rate_key(ip)),
                t.to_owned(),
            )
        });
    // The token alone identifies a submission of the form; the fingerprint
    // covers the fields so a token reused with other content is refused.
    match submit(&state, &payload, token, &body, lang).await {
        Ok(Submitted::Accepted(response, lang)) => {
            let html = state
                .templates
                .render(
                    lang,
                    "form_confirmation.html",
                    minijinja::context! {
                        lang => lang.as_str(),
                        reference => response.reference.as_ref().map(ToString::to_string),
                        office => &state.office,
                    },
                )
                .map_err(ApiError::internal)?;
            Ok((StatusCode::OK, Html(html)).into_response())
        }
        Ok(Submitted::Invalid(errors, lang)) => render_form(
            &state,
            lang,
            &values_of(&payload),
            &errors,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(error) => general_error(error),
    }
}
