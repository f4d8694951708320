//! Provider webhooks. `GET /webhooks/meta` answers Meta's verification
//! handshake; `POST /webhooks/meta` checks the signature over the raw body
//! and the body's envelope (not its events), stores it, and answers 200 —
//! the webhook worker parses the events afterwards from what was stored, so
//! a crash after the answer loses nothing and the answer stays fast.

use std::collections::HashMap;

use axum::extract::{Query, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use connectors::meta::{verify_handshake, verify_webhook, WebhookObject, SIGNATURE_HEADER};
use connectors::ConnectorError;

use super::api::read_body;
use super::error::ApiError;
use super::state::AppState;
use crate::ingest::webhooks::META_SOURCE;

/// `GET/POST /webhooks/meta`.
pub fn router() -> Router<AppState> {
    Router::new().route("/webhooks/meta", get(handshake).post(receive))
}

async fn handshake(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let Some(meta) = state.meta.as_deref() else {
        return Err(ApiError::NotFound);
    };
    let challenge = verify_handshake(
        query.get("hub.mode").map(String::as_str),
        query.get("hub.verify_token").map(String::as_str),
        query.get("hub.challenge").map(String::as_str),
        meta,
    )
    .map_err(|e| match e {
        ConnectorError::BadSignature => ApiError::Forbidden,
        _ => ApiError::BadRequest {
            code: "invalid_request",
            args: Vec::new(),
        },
    })?;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        challenge,
    )
        .into_response())
}

async fn receive(State(state): State<AppState>, req: Request) -> Result<Response, ApiError> {
    let Some(meta) = state.meta.clone() else {
        return Err(ApiError::NotFound);
    };
    let signature = req
        .headers()
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(ToOwned::to_owned);
    let body = read_body(req, state.settings.server.max_webhook_body_bytes).await?;
    let envelope = verify_webhook(signature.as_deref(), &body, &meta).map_err(|e| match e {
        ConnectorError::BadSignature => ApiError::Unauthorized,
        _ => ApiError::BadRequest {
            code: "malformed_json",
            args: Vec::new(),
        },
    })?;
    if let WebhookObject::Unsupported { name } = &envelope.object {
        tracing::warn!(object = %name, "Webhook for a subscription we do not serve ignored");
        return Ok(StatusCode::OK.into_response());
    }
    let id = state
        .store
        .save_webhook(META_SOURCE, &body, state.clock.now())
        .await?;
    tracing::debug!(webhook_id = %id, entries = envelope.entries, "Webhook stored");
    state.webhook_wakeup.notify_one();
    Ok(StatusCode::OK.into_response())
}
