//! The API of citizens' records: recording phone calls and counter visits
//! (`/api/v1/contacts-log`), finding, reading and correcting a contact,
//! merging two contacts, linking two threads of one citizen, and the
//! first-contact statistics. `Authorization: Bearer TOKEN` on every route.

use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use models::{ContactId, ThreadId};
use serde::Deserialize;
use serde_json::json;

use super::api::json_body;
use super::error::ApiError;
use super::state::AppState;
use crate::auth::User;
use crate::services::contacts::{self, RecordRequest};

/// Weeks of statistics when the client does not say.
const DEFAULT_STAT_WEEKS: u32 = 12;

/// The contact routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/contacts-log", post(record))
        .route("/api/v1/contacts", get(search))
        .route("/api/v1/contacts/{id}", get(get_contact).patch(update))
        .route("/api/v1/contacts/{id}/merge", post(merge))
        .route("/api/v1/threads/{id}/links", post(link))
        .route("/api/v1/stats/first-contact", get(stats))
}

fn contact_id(text: &str) -> Result<ContactId, ApiError> {
    ContactId::parse(text).map_err(|_| ApiError::NotFound)
}

async fn record(
    State(state): State<AppState>,
    user: User,
    req: Request,
) -> Result<Response, ApiError> {
    let key = super::extract::IdempotencyKey::from_headers(req.headers())?;
    let body: RecordRequest = json_body(req, state.settings.server.max_body_bytes).await?;
    let (status, answer) = contacts::record(
        &state.services,
        &user,
        &body,
        key.as_ref().map(|k| k.as_str()),
    )
    .await?;
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::CREATED);
    Ok((status, Json(answer)).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchParams {
    q: Option<String>,
}

async fn search(
    State(state): State<AppState>,
    _user: User,
    Query(params): Query<SearchParams>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let q = params.q.unwrap_or_default();
    if q.chars().count() > 200 {
        return Err(ApiError::field("q", "invalid_value"));
    }
    let found = contacts::find_contacts(&state.services, &q).await?;
    Ok(Json(json!({ "contacts": found })))
}

async fn get_contact(
    State(state): State<AppState>,
    _user: User,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = contact_id(&id)?;
    let contact = state
        .store
        .get_contact(id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let log = state.store.list_contact_log(id).await?;
    let threads = state.store.contact_threads(id).await?;
    let candidates = state.store.merge_candidates(id).await?;
    Ok(Json(json!({
        "contact": contact,
        "contact_log": log,
        "threads": threads,
        "merge_candidates": candidates,
    })))
}

async fn update(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<String>,
    req: Request,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = contact_id(&id)?;
    let body: contacts::ContactEdit = json_body(req, state.settings.server.max_body_bytes).await?;
    let version = contacts::update_contact(&state.services, &user, id, &body).await?;
    Ok(Json(json!({ "version": version })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MergeBody {
    into: String,
    version: Option<i64>,
}

async fn merge(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<String>,
    req: Request,
) -> Result<Json<serde_json::Value>, ApiError> {
    let from = contact_id(&id)?;
    let body: MergeBody = json_body(req, state.settings.server.max_body_bytes).await?;
    let into = contact_id(&body.into)?;
    contacts::merge_contacts(&state.services, &user, from, into, body.version).await?;
    Ok(Json(json!({ "merged_into": into.to_string() })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkBody {
    thread_id: String,
}

async fn link(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let thread = ThreadId::parse(&id).map_err(|_| ApiError::NotFound)?;
    let body: LinkBody = json_body(req, state.settings.server.max_body_bytes).await?;
    let other = ThreadId::parse(&body.thread_id)
        .map_err(|_| ApiError::field("thread_id", "invalid_value"))?;
    let new = contacts::link_threads(&state.services, &user, thread, other).await?;
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(json!({ "linked": true }))).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatParams {
    weeks: Option<u32>,
}

async fn stats(
    State(state): State<AppState>,
    user: User,
    Query(params): Query<StatParams>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let weeks = params.weeks.unwrap_or(DEFAULT_STAT_WEEKS);
    let rows = contacts::first_contact_stats(&state.services, &user, weeks).await?;
    Ok(Json(json!({ "weeks": rows })))
}
