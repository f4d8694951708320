//! The workspace's REST API (`/api/v1/threads`, `/api/v1/review`,
//! `/api/v1/audit`) and its OpenAPI document. Every route but the document
//! needs `Authorization: Bearer TOKEN`; a token acts with its owner's role.

use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use models::{AbuseKind, Channel, MessageId, ThreadId, ThreadStatus, Topic};
use serde::Deserialize;
use serde_json::json;

use super::api::json_body;
use super::auth::RequireRole;
use super::error::ApiError;
use super::state::AppState;
use crate::auth::{Role, User};
use crate::services::review::Decision;
use crate::services::{self, threads as workspace};
use crate::store::workspace::{InboxOrder, ThreadQuery};
use crate::store::{Cursor, MAX_MESSAGE_PAGE};

/// Threads per page when the client does not say.
const DEFAULT_PAGE: u32 = 50;
/// The OpenAPI document of these routes.
const OPENAPI: &str = include_str!("openapi.json");

/// The workspace routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/openapi.json", get(openapi))
        .route("/api/v1/threads", get(list_threads))
        .route("/api/v1/threads/{id}", get(get_thread))
        .route("/api/v1/threads/{id}/replies", post(reply))
        .route("/api/v1/threads/{id}/notes", post(note))
        .route("/api/v1/threads/{id}/callbacks", post(callback))
        .route("/api/v1/threads/{id}/assign", post(assign))
        .route("/api/v1/threads/{id}/transfer", post(transfer))
        .route("/api/v1/threads/{id}/status", post(status))
        .route("/api/v1/threads/{id}/topic", post(topic))
        .route("/api/v1/contacts/{id}/refusal", post(refuse))
        .route("/api/v1/review", get(review_queue))
        .route("/api/v1/review/{message_id}", post(decide))
        .route("/api/v1/audit", get(audit))
}

async fn openapi() -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        OPENAPI,
    )
        .into_response()
}

fn invalid(field: &str) -> ApiError {
    ApiError::field(field, "invalid_value")
}

fn thread_id(text: &str) -> Result<ThreadId, ApiError> {
    ThreadId::parse(text).map_err(|_| ApiError::NotFound)
}

/// Query parameters of `GET /api/v1/threads`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    channel: Option<String>,
    topic: Option<String>,
    status: Option<String>,
    department: Option<String>,
    assignee: Option<String>,
    flagged: Option<bool>,
    overdue: Option<bool>,
    q: Option<String>,
    order: Option<String>,
    after: Option<String>,
    limit: Option<u32>,
}

/// An inbox cursor from the `after` parameter.
fn thread_cursor(text: &str) -> Option<Cursor> {
    Cursor::decode(text, |id| ThreadId::parse(id).is_ok())
}

async fn list_threads(
    State(state): State<AppState>,
    user: User,
    Query(params): Query<ListParams>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let parse = |value: &Option<String>, field: &str| -> Result<Option<String>, ApiError> {
        match value.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(v) if v.len() > 200 => Err(invalid(field)),
            Some(v) => Ok(Some(v.to_owned())),
        }
    };
    let assignee = match parse(&params.assignee, "assignee")?.as_deref() {
        None => None,
        Some("me") => Some(user.id.clone()),
        Some(email) => Some(
            state
                .store
                .user_by_email(email)
                .await?
                .map(|(u, _)| u.id)
                .ok_or_else(|| invalid("assignee"))?,
        ),
    };
    let limit = params.limit.unwrap_or(DEFAULT_PAGE);
    if limit == 0 || limit > 200 {
        return Err(invalid("limit"));
    }
    let status = parse(&params.status, "status")?;
    let open_only = status.as_deref() == Some("open");
    let query = ThreadQuery {
        open_only,
        channel: parse(&params.channel, "channel")?
            .map(|c| c.parse::<Channel>().map_err(|_| invalid("channel")))
            .transpose()?,
        topic: parse(&params.topic, "topic")?
            .map(|t| Topic::parse(&t).ok_or_else(|| invalid("topic")))
            .transpose()?,
        status: status
            .filter(|_| !open_only)
            .map(|s| ThreadStatus::parse(&s).ok_or_else(|| invalid("status")))
            .transpose()?,
        department: parse(&params.department, "department")?,
        assignee,
        flagged: params.flagged,
        overdue_at: (params.overdue == Some(true)).then(|| state.clock.now()),
        search: parse(&params.q, "q")?,
        order: match parse(&params.order, "order")?.as_deref() {
            None | Some("oldest") => InboxOrder::OldestFirst,
            Some("newest") => InboxOrder::NewestFirst,
            Some(_) => return Err(invalid("order")),
        },
        after: parse(&params.after, "after")?
            .map(|c| thread_cursor(&c).ok_or_else(|| invalid("after")))
            .transpose()?,
        limit: limit + 1,
    };
    let mut threads = state.store.list_threads(&query).await?;
    let next = if threads.len() > limit as usize {
        threads.truncate(limit as usize);
        threads.last().map(|t| {
            Cursor {
                at: t.last_message_at,
                id: t.id.clone(),
            }
            .encode()
        })
    } else {
        None
    };
    Ok(Json(json!({ "threads": threads, "next": next })))
}

/// `GET /api/v1/threads/{id}`: `?before=CURSOR` pages back through a long
/// thread, `?limit=N` (1 to 500, default 100) messages a page.
#[derive(Debug, Deserialize)]
struct ThreadPageParams {
    before: Option<String>,
    limit: Option<u32>,
}

/// Messages in one page of a thread, unless the caller asks otherwise.
const DEFAULT_MESSAGE_PAGE: u32 = 100;

async fn get_thread(
    State(state): State<AppState>,
    _user: User,
    Path(id): Path<String>,
    Query(page): Query<ThreadPageParams>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = thread_id(&id)?;
    let before = match page.before.as_deref() {
        None | Some("") => None,
        Some(text) => Some(
            Cursor::decode(text, |id| MessageId::parse(id).is_ok())
                .ok_or_else(|| invalid("before"))?,
        ),
    };
    let limit = match page.limit {
        None => DEFAULT_MESSAGE_PAGE,
        Some(n) if (1..=MAX_MESSAGE_PAGE).contains(&n) => n,
        Some(_) => return Err(invalid("limit")),
    };
    let thread = match state.store.get_thread(id).await {
        Ok(thread) => thread,
        Err(crate::store::StoreError::NotFound) => return Err(ApiError::NotFound),
        Err(e) => return Err(e.into()),
    };
    let page = state
        .store
        .list_messages_page(id, before.as_ref(), limit)
        .await?;
    let older = page.older.as_ref().map(Cursor::encode);
    let outbox = state.store.list_outbox(id).await?;
    let messages =
        workspace::conversation(&state.services, id, page, &outbox, before.is_none()).await?;
    let notes = state.store.list_notes(id).await?;
    let flags = state.store.contact_flag_history(thread.contact_id).await?;
    let linked = state.store.linked_threads(id).await?;
    let contact = state.store.get_contact(thread.contact_id).await?;
    let reply_options = workspace::reply_options(&thread, contact.as_ref(), state.clock.now());
    Ok(Json(json!({
        "thread": {
            "id": thread.id.to_string(),
            "reference": thread.reference.map(|r| r.to_string()),
            "channel": thread.channel.as_str(),
            "status": thread.status.as_str(),
            "topic": thread.topic.map(|t| t.as_str()),
            "department": thread.department,
            "flagged": thread.flagged,
            "subject": thread.subject,
            "contact_id": thread.contact_id.to_string(),
            "assignee_id": thread.assignee_id,
            "created_at": thread.created_at,
            "last_message_at": thread.last_message_at,
            "last_citizen_message_at": thread.last_citizen_message_at,
            "due_at": thread.due_at,
            "version": thread.version,
        },
        "messages": messages,
        "messages_before": older,
        "notes": notes,
        "reply_options": reply_options,
        "linked_threads": linked,
        "contact_confirmed_flags": flags.iter().map(|f| json!({
            "message_id": f.message_id,
            "kind": f.kind,
            "decided_at": f.decided_at,
        })).collect::<Vec<_>>(),
        "deliveries": outbox.iter().map(|o| json!({
            "id": o.id.to_string(),
            "channel": o.channel.as_str(),
            "kind": o.kind.as_str(),
            "state": o.state.as_str(),
            "last_error": o.last_error,
            "created_at": o.created_at,
            "sent_at": o.sent_at,
        })).collect::<Vec<_>>(),
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoteBody {
    body: String,
    /// Accepted and ignored: a note changes nothing a colleague could
    /// have changed, so it never conflicts.
    #[serde(rename = "version")]
    _version: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplyBody {
    body: String,
    version: Option<i64>,
    /// `email` to answer by email instead of on the thread's channel.
    channel: Option<String>,
}

async fn reply(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let id = thread_id(&id)?;
    let body: ReplyBody = json_body(req, state.settings.server.max_body_bytes).await?;
    let via = match body.channel.as_deref() {
        None => workspace::ReplyVia::Thread,
        Some("email") => workspace::ReplyVia::Email,
        Some(_) => return Err(invalid("channel")),
    };
    let outbox_id =
        workspace::reply(&state.services, &user, id, &body.body, body.version, via).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "outbox_id": outbox_id })),
    )
        .into_response())
}

async fn note(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let id = thread_id(&id)?;
    let body: NoteBody = json_body(req, state.settings.server.max_body_bytes).await?;
    let note_id = workspace::add_note(&state.services, &user, id, &body.body).await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": note_id }))).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CallbackBody {
    body: String,
    phone: Option<String>,
}

async fn callback(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    let id = thread_id(&id)?;
    let body: CallbackBody = json_body(req, state.settings.server.max_body_bytes).await?;
    let note_id = workspace::add_callback(
        &state.services,
        &user,
        id,
        body.phone.as_deref(),
        &body.body,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": note_id }))).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AssignBody {
    /// An account's email, `me`, or null to unassign.
    assignee: Option<String>,
    version: Option<i64>,
}

async fn assign(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<String>,
    req: Request,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = thread_id(&id)?;
    let body: AssignBody = json_body(req, state.settings.server.max_body_bytes).await?;
    let email = match body.assignee.as_deref() {
        Some("me") => Some(user.email.clone()),
        other => other.map(ToOwned::to_owned),
    };
    workspace::assign(&state.services, &user, id, email.as_deref(), body.version).await?;
    Ok(Json(json!({ "ok": true })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TransferBody {
    department: String,
    request_type: Option<String>,
    version: Option<i64>,
}

async fn transfer(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<String>,
    req: Request,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = thread_id(&id)?;
    let body: TransferBody = json_body(req, state.settings.server.max_body_bytes).await?;
    let notice = workspace::transfer(
        &state.services,
        &user,
        id,
        &body.department,
        body.request_type.as_deref(),
        body.version,
    )
    .await?;
    Ok(Json(json!({ "notice_outbox_id": notice })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusBody {
    status: String,
    version: Option<i64>,
}

async fn status(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<String>,
    req: Request,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = thread_id(&id)?;
    let body: StatusBody = json_body(req, state.settings.server.max_body_bytes).await?;
    let status = ThreadStatus::parse(&body.status).ok_or_else(|| invalid("status"))?;
    workspace::set_status(&state.services, &user, id, status, body.version).await?;
    Ok(Json(json!({ "ok": true })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TopicBody {
    topic: String,
    version: Option<i64>,
}

async fn topic(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<String>,
    req: Request,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = thread_id(&id)?;
    let body: TopicBody = json_body(req, state.settings.server.max_body_bytes).await?;
    let topic = Topic::parse(&body.topic).ok_or_else(|| invalid("topic"))?;
    workspace::set_topic(&state.services, &user, id, topic, body.version).await?;
    Ok(Json(json!({ "ok": true })))
}

async fn review_queue(
    State(state): State<AppState>,
    user: User,
) -> Result<Json<serde_json::Value>, ApiError> {
    user.require(Role::Supervisor)?;
    let items = state.store.review_queue(200).await?;
    Ok(Json(json!({ "messages": items })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionBody {
    /// `confirm` or `dismiss`.
    decision: String,
    /// For `confirm`: insult, threat, intimidation, harassment or hate.
    kind: Option<String>,
    #[serde(default)]
    comment: String,
}

async fn decide(
    State(state): State<AppState>,
    user: User,
    Path(message_id): Path<String>,
    req: Request,
) -> Result<Json<serde_json::Value>, ApiError> {
    user.require(Role::Supervisor)?;
    let message = MessageId::parse(&message_id).map_err(|_| ApiError::NotFound)?;
    let body: DecisionBody = json_body(req, state.settings.server.max_body_bytes).await?;
    let decision = match body.decision.as_str() {
        "confirm" => Decision::Confirm(
            body.kind
                .as_deref()
                .and_then(AbuseKind::parse)
                .ok_or_else(|| invalid("kind"))?,
        ),
        "dismiss" => Decision::Dismiss,
        _ => return Err(invalid("decision")),
    };
    services::review::decide(&state.services, &user, message, decision, &body.comment).await?;
    Ok(Json(json!({ "ok": true })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RefusalBody {
    reason: String,
    /// Last day of the refusal (`YYYY-MM-DD`, office time zone).
    ends_on: chrono::NaiveDate,
}

async fn refuse(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    user.require(Role::Supervisor)?;
    let contact = models::ContactId::parse(&id).map_err(|_| ApiError::NotFound)?;
    let body: RefusalBody = json_body(req, state.settings.server.max_body_bytes).await?;
    let refusal = services::review::refuse_service(
        &state.services,
        &user,
        contact,
        &body.reason,
        body.ends_on,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": refusal }))).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditParams {
    subject: String,
}

async fn audit(
    State(state): State<AppState>,
    user: User,
    Query(params): Query<AuditParams>,
) -> Result<Json<serde_json::Value>, ApiError> {
    user.require(Role::Supervisor)?;
    let entries = state.store.list_audit(&params.subject).await?;
    Ok(Json(json!({ "entries": entries })))
}

#[cfg(test)]
mod tests {
    use super::*;

    use chrono::DateTime;

    #[test]
    fn a_cursor_round_trips_and_garbage_is_refused() {
        let at = DateTime::from_timestamp_micros(1_768_311_672_345_678).unwrap();
        let id = ThreadId::generate().to_string();
        let text = Cursor { at, id: id.clone() }.encode();
        let cursor = thread_cursor(&text).unwrap();
        assert_eq!((cursor.at, cursor.id), (at, id));
        assert!(thread_cursor("12~not-an-id").is_none());
        assert!(thread_cursor("abc").is_none());
    }
}
