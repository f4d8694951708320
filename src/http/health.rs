//! Liveness and readiness probes.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use super::error::ApiError;
use super::state::AppState;
use crate::store::Store;

/// `GET /healthz` and `GET /readyz`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

/// The server accepts requests.
async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// The server can reach its database. Active alarms are listed (source,
/// kind and since when; their text is for `inbox alarms`) so that a
/// monitoring probe shows them, without failing readiness: the gateway
/// still takes messages in while a channel's credentials are refused.
async fn readyz(State(store): State<Arc<dyn Store>>) -> Result<Json<serde_json::Value>, ApiError> {
    store.ping().await?;
    let alarms: Vec<serde_json::Value> = store
        .list_alarms(false)
        .await?
        .into_iter()
        .map(|a| json!({ "source": a.source, "kind": a.kind, "since": a.first_raised_at }))
        .collect();
    Ok(Json(json!({ "status": "ready", "alarms": alarms })))
}
