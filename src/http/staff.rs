//! The staff workspace in the browser: sign-in with a session cookie, the
//! inbox, the thread page with its actions, and the supervisors' review
//! page. Server-rendered HTML (French by default, English with `?lang=en`);
//! a small script adds keyboard shortcuts and the reveal button. Every form
//! carries the session's CSRF token; the actions are the API's, so both
//! follow the same rules and write the same audit entries.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{DateTime, Utc};
use minijinja::Environment;
use models::{AbuseKind, Channel, MessageId, ThreadId, ThreadStatus};
use rand::RngCore;
use serde::Deserialize;

use super::auth::RequireRole;
use super::error::ApiError;
use super::state::AppState;
use crate::auth::{token_hash, Role, User};
use crate::services::review::Decision;
use crate::services::{self, threads as workspace};
use crate::store::workspace::{InboxOrder, ThreadQuery};

/// The session cookie.
const SESSION_COOKIE: &str = "inbox_session";
/// How long a session lasts: one working day and a bit.
const SESSION_HOURS: i64 = 12;
/// Failed logins in a row before the account is locked.
const MAX_FAILED_LOGINS: u32 = 5;
/// How long a locked account stays locked.
const LOCK_MINUTES: i64 = 15;
/// Threads per inbox page.
const PAGE: u32 = 50;

const FILES: &[(&str, &str)] = &[
    (
        "layout.html",
        include_str!("../../templates/staff/layout.html"),
    ),
    (
        "login.html",
        include_str!("../../templates/staff/login.html"),
    ),
    (
        "inbox.html",
        include_str!("../../templates/staff/inbox.html"),
    ),
    (
        "thread.html",
        include_str!("../../templates/staff/thread.html"),
    ),
    (
        "review.html",
        include_str!("../../templates/staff/review.html"),
    ),
    (
        "record.html",
        include_str!("../../templates/staff/record.html"),
    ),
    (
        "stats.html",
        include_str!("../../templates/staff/stats.html"),
    ),
];
const STRINGS: &str = include_str!("../../templates/staff/strings.toml");
const CSS: &str = include_str!("../../templates/staff/staff.css");
const JS: &str = include_str!("../../templates/staff/staff.js");

/// The workspace's templates and words.
pub struct StaffPages {
    env: Environment<'static>,
    strings: HashMap<String, HashMap<String, String>>,
}

impl std::fmt::Debug for StaffPages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaffPages").finish_non_exhaustive()
    }
}

impl StaffPages {
    /// Compiles the templates and reads the words.
    ///
    /// # Errors
    /// When a template or the strings file is broken (a build defect).
    pub fn load(tz: chrono_tz::Tz) -> anyhow::Result<Self> {
        let mut env = Environment::new();
        // `{{ at | when }}`: a stored UTC time, in the office's time zone.
        env.add_filter("when", move |value: String| -> String {
            DateTime::parse_from_rfc3339(&value)
                .map(|t| t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string())
                .unwrap_or(value)
        });
        for (name, source) in FILES {
            env.add_template(name, source)?;
        }
        let strings: HashMap<String, HashMap<String, String>> = toml::from_str(STRINGS)?;
        for lang in ["fr", "en"] {
            if !strings.contains_key(lang) {
                anyhow::bail!("templates/staff/strings.toml has no [{lang}] table");
            }
        }
        Ok(Self { env, strings })
    }

    fn render(
        &self,
        name: &str,
        lang: &str,
        ctx: minijinja::Value,
    ) -> Result<Html<String>, ApiError> {
        let t = self.strings.get(lang).or_else(|| self.strings.get("fr"));
        let page = minijinja::context! { t => t, lang => lang, ..ctx };
        self.env
            .get_template(name)
            .and_then(|tpl| tpl.render(page))
            .map(Html)
            .map_err(ApiError::internal)
    }

    fn word(&self, lang: &str, key: &str) -> String {
        self.strings
            .get(lang)
            .and_then(|t| t.get(key))
            .cloned()
            .unwrap_or_default()
    }
}

/// The workspace routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/agent/login", get(login_page).post(login))
        .route("/agent/logout", post(logout))
        .route("/agent", get(inbox_page))
        .route("/agent/threads/{id}", get(thread_page))
        .route("/agent/threads/{id}/{action}", post(thread_action))
        .route("/agent/review", get(review_page))
        .route("/agent/review/{message_id}", post(review_decide))
        .route("/agent/events", get(events))
        .route("/agent/record", get(record_page).post(record_post))
        .route("/agent/contacts/search", get(contacts_search))
        .route("/agent/attachments/{id}", get(attachment))
        .route("/agent/topic-proposal", post(topic_proposal))
        .route("/agent/stats", get(stats_page))
        .route("/agent/assets/staff.css", get(css))
        .route("/agent/assets/staff.js", get(js))
        .layer(axum::middleware::from_fn(staff_headers))
}

/// Headers on every staff page and answer: never framed (clickjacking),
/// never sniffed, never cached (a shared computer's back button shows no
/// citizen's message), no referrer leaving the gateway.
async fn staff_headers(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    // A handler's own stricter value (an attachment's sandbox) stands.
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'",
        ),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::CACHE_CONTROL, "no-store"),
    ] {
        headers
            .entry(name)
            .or_insert_with(|| HeaderValue::from_static(value));
    }
    response
}

/// How often the live-update stream looks for new activity.
const EVENTS_POLL: std::time::Duration = std::time::Duration::from_secs(3);

/// `GET /agent/events`: server-sent events for a signed-in page. An
/// `inbox` event carries a marker of the newest activity each time it
/// changes; the page offers to refresh (it never reloads under the agent's
/// hands). One cheap indexed query per open page every few seconds.
async fn events(State(state): State<AppState>, staff: Staff) -> impl IntoResponse {
    use axum::response::sse::{Event, KeepAlive, Sse};
    let newest = ThreadQuery {
        order: InboxOrder::NewestFirst,
        limit: 1,
        ..ThreadQuery::default()
    };
    let session = staff.token_hash;
    // The stream ends as soon as its session does (signed out, expired or
    // the account disabled): each poll checks it first.
    let stream = futures::stream::unfold(
        (state, newest, None::<String>),
        move |(state, newest, last)| {
            let session = session.clone();
            async move {
                loop {
                    match state.store.session(&session, state.clock.now()).await {
                        Ok(Some(_)) => {}
                        Ok(None) => return None,
                        Err(error) => {
                            tracing::warn!(%error, "Live update session check failed");
                            return None;
                        }
                    }
                    let marker = match state.store.list_threads(&newest).await {
                        Ok(rows) => rows.first().map(|t| {
                            crate::store::Cursor {
                                at: t.last_message_at,
                                id: t.id.clone(),
                            }
                            .encode()
                        }),
                        Err(error) => {
                            tracing::warn!(%error, "Live update query failed");
                            None
                        }
                    };
                    if marker.is_some() && marker != last {
                        let event = Event::default()
                            .event("inbox")
                            .data(marker.clone().unwrap_or_default());
                        return Some((
                            Ok::<_, std::convert::Infallible>(event),
                            (state, newest, marker),
                        ));
                    }
                    tokio::time::sleep(EVENTS_POLL).await;
                }
            }
        },
    );
    Sse::new(stream).keep_alive(KeepAlive::default())
}

async fn css() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], CSS).into_response()
}

async fn js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        JS,
    )
        .into_response()
}

/// `?lang=` of a page: `en` or the default `fr`.
#[derive(Debug, Default, Deserialize)]
struct LangParam {
    lang: Option<String>,
}

fn lang_of(param: Option<&str>) -> &'static str {
    if param == Some("en") {
        "en"
    } else {
        "fr"
    }
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Compares two strings in time that depends only on their lengths.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A signed-in staff member with the session's CSRF token.
struct Staff {
    user: User,
    csrf: String,
    token_hash: String,
}

/// Not signed in: to the login page.
struct ToLogin(&'static str);

impl IntoResponse for ToLogin {
    fn into_response(self) -> Response {
        Redirect::to(&format!("/agent/login?lang={}", self.0)).into_response()
    }
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let lang = lang_of(
            parts
                .uri
                .query()
                .and_then(|q| q.split('&').find_map(|p| p.strip_prefix("lang="))),
        );
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(ToLogin(lang).into_response());
        };
        let hash = token_hash(&token);
        match state.store.session(&hash, state.clock.now()).await {
            Ok(Some((user, csrf))) => Ok(Staff {
                user,
                csrf,
                token_hash: hash,
            }),
            Ok(None) => Err(ToLogin(lang).into_response()),
            Err(e) => Err(ApiError::from(e).into_response()),
        }
    }
}

/// What every page's layout needs.
fn frame(staff: Option<&Staff>, lang: &str, path: &str, error: Option<String>) -> minijinja::Value {
    let other = if lang == "fr" { "en" } else { "fr" };
    minijinja::context! {
        user => staff.map(|s| minijinja::context! { email => s.user.email.clone() }),
        can_review => staff.is_some_and(|s| s.user.role >= Role::Supervisor),
        csrf => staff.map(|s| s.csrf.clone()),
        other_lang => other,
        other_lang_href => format!("{path}?lang={other}"),
        error => error,
    }
}

/// The cookie holding the sign-in form's CSRF token until the form is
/// posted (there is no session yet to hold it).
const LOGIN_COOKIE: &str = "inbox_login";

async fn login_page(
    State(state): State<AppState>,
    Query(q): Query<LangParam>,
) -> Result<Response, ApiError> {
    let lang = lang_of(q.lang.as_deref());
    login_form(&state, lang, "", None, StatusCode::OK)
}

/// `; Secure` for a cookie, unless the settings say the gateway is not
/// served over HTTPS.
fn secure_attribute(state: &AppState) -> &'static str {
    if state.settings.server.cookies_secure() {
        "; Secure"
    } else {
        ""
    }
}

/// The sign-in page with a fresh CSRF token, in the form and in its cookie.
fn login_form(
    state: &AppState,
    lang: &'static str,
    email: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let token = random_hex();
    let page = state.staff.render(
        "login.html",
        lang,
        minijinja::context! {
            email => email.chars().take(200).collect::<String>(),
            login_csrf => token.as_str(),
            ..frame(None, lang, "/agent/login", error.map(|key| state.staff.word(lang, key)))
        },
    )?;
    let secure = secure_attribute(state);
    let mut response = (status, page).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&format!(
            "{LOGIN_COOKIE}={token}; Path=/agent/login; HttpOnly; SameSite=Strict; Max-Age=3600{secure}"
        ))
        .map_err(ApiError::internal)?,
    );
    Ok(response)
}

#[derive(Deserialize)]
struct LoginForm {
    email: String,
    password: String,
    #[serde(default)]
    login_csrf: String,
}

/// Every refused sign-in takes at least this long, whatever refused it, so
/// the time tells nothing about the account.
const FAILED_LOGIN_FLOOR: std::time::Duration = std::time::Duration::from_millis(600);

async fn login(
    State(state): State<AppState>,
    Query(q): Query<LangParam>,
    super::ClientAddr(ip): super::ClientAddr,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, ApiError> {
    let started = tokio::time::Instant::now();
    let lang = lang_of(q.lang.as_deref());
    let now = state.clock.now();
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if expected.is_empty() || !same(&form.login_csrf, &expected) {
        return login_form(
            &state,
            lang,
            &form.email,
            Some("login_expired"),
            StatusCode::FORBIDDEN,
        );
    }
    state.sign_in.throttle(ip)?;
    let account = if form.email.len() > 320 || form.password.len() > 1024 {
        None
    } else {
        state.store.login_state(&form.email).await?
    };
    // An unknown email, a locked account and a wrong password all cost one
    // hash and get the same answer.
    let (user, hash) = match account {
        Some((user, hash, _)) => {
            let claimed = state
                .store
                .claim_login_attempt(
                    &user.id,
                    now,
                    MAX_FAILED_LOGINS,
                    now + chrono::Duration::minutes(LOCK_MINUTES),
                    now - chrono::Duration::minutes(LOCK_MINUTES),
                )
                .await?;
            (Some(user), claimed.then_some(hash))
        }
        None => (None, None),
    };
    let ok = state.sign_in.verify(form.password.clone(), hash).await?;
    let Some(user) = user.filter(|_| ok) else {
        tokio::time::sleep_until(started + FAILED_LOGIN_FLOOR).await;
        return login_form(
            &state,
            lang,
            &form.email,
            Some("login_failed"),
            StatusCode::UNAUTHORIZED,
        );
    };
    let token = random_hex();
    state
        .store
        .create_session(
            &token_hash(&token),
            &user.id,
            &random_hex(),
            now,
            now + chrono::Duration::hours(SESSION_HOURS),
        )
        .await?;
    let secure = secure_attribute(&state);
    let mut response = Redirect::to(&format!("/agent?lang={lang}")).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&format!(
            "{SESSION_COOKIE}={token}; Path=/agent; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
            SESSION_HOURS * 3600
        ))
        .map_err(ApiError::internal)?,
    );
    response.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "inbox_login=; Path=/agent/login; HttpOnly; SameSite=Strict; Max-Age=0",
        ),
    );
    Ok(response)
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn logout(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ApiError> {
    if !same(&form.csrf, &staff.csrf) {
        return Err(ApiError::Forbidden);
    }
    state.store.end_session(&staff.token_hash).await?;
    let mut response = Redirect::to("/agent/login").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("inbox_session=; Path=/agent; HttpOnly; SameSite=Lax; Max-Age=0"),
    );
    Ok(response)
}

#[derive(Debug, Clone, Default, Deserialize)]
struct InboxParams {
    lang: Option<String>,
    q: Option<String>,
    channel: Option<String>,
    topic: Option<String>,
    status: Option<String>,
    department: Option<String>,
    /// `me`: only the threads assigned to the signed-in agent.
    assignee: Option<String>,
    order: Option<String>,
    flagged: Option<String>,
    overdue: Option<String>,
    after: Option<String>,
}

/// The inbox parameters as a query string, for the next page's link.
fn query_string(p: &InboxParams) -> String {
    fn encode(text: &str) -> String {
        text.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                other => format!("%{other:02X}"),
            })
            .collect()
    }
    [
        ("lang", &p.lang),
        ("q", &p.q),
        ("channel", &p.channel),
        ("topic", &p.topic),
        ("status", &p.status),
        ("department", &p.department),
        ("assignee", &p.assignee),
        ("order", &p.order),
        ("flagged", &p.flagged),
        ("overdue", &p.overdue),
        ("after", &p.after),
    ]
    .iter()
    .filter_map(|(k, v)| {
        v.as_deref()
            .filter(|v| !v.is_empty())
            .map(|v| format!("{k}={}", encode(v)))
    })
    .collect::<Vec<_>>()
    .join("&")
}

/// "3 h 05", "2 j" / "2 d": how long the citizen has waited.
fn waiting(lang: &str, since: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let minutes = (now - since).num_minutes().max(0);
    if minutes >= 48 * 60 {
        format!(
            "{} {}",
            minutes / (24 * 60),
            if lang == "fr" { "j" } else { "d" }
        )
    } else {
        format!("{} h {:02}", minutes / 60, minutes % 60)
    }
}

fn department_names(state: &AppState, lang: &str) -> HashMap<String, String> {
    state
        .settings
        .office
        .departments
        .iter()
        .map(|d| {
            (
                d.slug.clone(),
                if lang == "en" {
                    d.name_en.clone()
                } else {
                    d.name_fr.clone()
                },
            )
        })
        .collect()
}

fn departments(state: &AppState, lang: &str) -> Vec<minijinja::Value> {
    state
        .settings
        .office
        .departments
        .iter()
        .map(|d| {
            minijinja::context! {
                slug => d.slug.clone(),
                name => if lang == "en" { d.name_en.clone() } else { d.name_fr.clone() },
                request_types => d.request_types.iter().map(|r| if lang == "en" { r.name_en.clone() } else { r.name_fr.clone() }).collect::<Vec<_>>(),
            }
        })
        .collect()
}

async fn inbox_page(
    State(state): State<AppState>,
    staff: Staff,
    Query(p): Query<InboxParams>,
) -> Result<Html<String>, ApiError> {
    let lang = lang_of(p.lang.as_deref());
    let nonempty = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(ToOwned::to_owned)
    };
    // The default view is the work still to do; a search looks everywhere
    // (a citizen calls back about a resolved request), and `all` shows all.
    let status_view = nonempty(&p.status);
    let open_only = status_view.is_none() && nonempty(&p.q).is_none();
    let status = status_view.and_then(|s| ThreadStatus::parse(&s));
    let query = ThreadQuery {
        open_only,
        channel: nonempty(&p.channel).and_then(|c| c.parse::<Channel>().ok()),
        topic: nonempty(&p.topic).and_then(|t| models::Topic::parse(&t)),
        status,
        department: nonempty(&p.department),
        assignee: (p.assignee.as_deref() == Some("me")).then(|| staff.user.id.clone()),
        flagged: (p.flagged.as_deref() == Some("true")).then_some(true),
        overdue_at: (p.overdue.as_deref() == Some("true")).then(|| state.clock.now()),
        search: nonempty(&p.q).map(|q| q.chars().take(200).collect()),
        order: if p.order.as_deref() == Some("newest") {
            InboxOrder::NewestFirst
        } else {
            InboxOrder::OldestFirst
        },
        after: nonempty(&p.after)
            .and_then(|a| crate::store::Cursor::decode(&a, |id| ThreadId::parse(id).is_ok())),
        limit: PAGE + 1,
    };
    let mut threads = state.store.list_threads(&query).await?;
    let now = state.clock.now();
    let next = if threads.len() > PAGE as usize {
        threads.truncate(PAGE as usize);
        threads.last().map(|t| {
            let mut params = InboxParams {
                after: Some(
                    crate::store::Cursor {
                        at: t.last_message_at,
                        id: t.id.clone(),
                    }
                    .encode(),
                ),
                ..p.clone()
            };
            params.lang = Some(lang.to_owned());
            format!("/agent?{}", query_string(&params))
        })
    } else {
        None
    };
    let rows: Vec<minijinja::Value> = threads
        .iter()
        .map(|t| {
            minijinja::context! {
                id => t.id.clone(), reference => t.reference.clone(), channel => t.channel.clone(),
                contact_name => t.contact_name.clone(), subject => t.subject.clone(), topic => t.topic.clone(),
                preview => t.preview.clone(),
                assignee => match &t.assignee_id {
                    Some(id) if *id == staff.user.id => Some(state.staff.word(lang, "assignee_me")),
                    Some(_) => t.assignee_name.clone(),
                    None => None,
                },
                department => t.department.clone(), status => t.status.clone(), flagged => t.flagged,
                waiting => waiting(lang, t.last_citizen_message_at.unwrap_or(t.created_at), now),
                due => t.due_at.map(|d| d.to_rfc3339()),
                overdue => t.due_at.is_some_and(|d| d < now),
            }
        })
        .collect();
    let filters = minijinja::context! {
        q => nonempty(&p.q).unwrap_or_default(), channel => nonempty(&p.channel), topic => nonempty(&p.topic),
        status => nonempty(&p.status), department => nonempty(&p.department), order => nonempty(&p.order),
        flagged => p.flagged.as_deref() == Some("true"), overdue => p.overdue.as_deref() == Some("true"),
        mine => p.assignee.as_deref() == Some("me"),
    };
    state.staff.render(
        "inbox.html",
        lang,
        minijinja::context! {
            threads => rows, next => next, filters => filters,
            channels => Channel::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
            topics => models::Topic::ALL.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
            statuses => ThreadStatus::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            departments => departments(&state, lang),
            dept_names => department_names(&state, lang),
            ..frame(Some(&staff), lang, "/agent", None)
        },
    )
}

#[derive(Debug, Default, Deserialize)]
struct ThreadParams {
    lang: Option<String>,
    error: Option<String>,
    /// Show the messages before this cursor (older ones).
    before: Option<String>,
}

/// Messages shown on one thread page, newest kept.
const THREAD_PAGE_MESSAGES: u32 = 100;

async fn thread_page(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(p): Query<ThreadParams>,
) -> Result<Html<String>, ApiError> {
    let lang = lang_of(p.lang.as_deref());
    let id = ThreadId::parse(&id).map_err(|_| ApiError::NotFound)?;
    let thread = match state.store.get_thread(id).await {
        Ok(thread) => thread,
        Err(crate::store::StoreError::NotFound) => return Err(ApiError::NotFound),
        Err(e) => return Err(e.into()),
    };
    let before = p
        .before
        .as_deref()
        .and_then(|text| crate::store::Cursor::decode(text, |id| MessageId::parse(id).is_ok()));
    let page = state
        .store
        .list_messages_page(id, before.as_ref(), THREAD_PAGE_MESSAGES)
        .await?;
    let older = page.older.as_ref().map(crate::store::Cursor::encode);
    let outbox = state.store.list_outbox(id).await?;
    let messages =
        workspace::conversation(&state.services, id, page, &outbox, before.is_none()).await?;
    let notes = state.store.list_notes(id).await?;
    let flags: Vec<minijinja::Value> = state
        .store
        .contact_flag_history(thread.contact_id)
        .await?
        .iter()
        .map(|f| minijinja::context! { kind => f.kind.clone(), decided_at => f.decided_at.to_rfc3339() })
        .collect();
    let assignee = match &thread.assignee_id {
        Some(a) if *a == staff.user.id => Some(state.staff.word(lang, "assignee_me")),
        Some(a) => Some(
            state
                .store
                .user_label(a)
                .await?
                .unwrap_or_else(|| a.clone()),
        ),
        None => None,
    };
    let error = p.error.as_deref().map(|e| {
        let word = state.staff.word(lang, &format!("error_{e}"));
        if word.is_empty() {
            state.staff.word(lang, "error_generic")
        } else {
            word
        }
    });
    let contact = state.store.get_contact(thread.contact_id).await?;
    let candidates = state.store.merge_candidates(thread.contact_id).await?;
    let linked = state.store.linked_threads(id).await?;
    let linkable: Vec<_> = state
        .store
        .contact_threads(thread.contact_id)
        .await?
        .into_iter()
        .filter(|t| t.id != thread.id.to_string() && !linked.iter().any(|l| l.id == t.id))
        .collect();
    let reply_options = workspace::reply_options(&thread, contact.as_ref(), state.clock.now());
    let en = thread.language == models::Language::En;
    let canned_ctx = crate::templates::CannedContext {
        reference: thread
            .reference
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        name: messages
            .iter()
            .find(|m| m.message.direction == crate::store::Direction::Inbound)
            .map(|m| &m.message)
            .and_then(|m| m.sender_name.clone()),
        department: thread.department.as_ref().and_then(|slug| {
            state
                .settings
                .office
                .departments
                .iter()
                .find(|d| &d.slug == slug)
                .map(|d| {
                    if en {
                        d.name_en.clone()
                    } else {
                        d.name_fr.clone()
                    }
                })
        }),
        delay: None,
    };
    let canned: Vec<minijinja::Value> = state
        .templates
        .canned_replies(thread.language, &canned_ctx)
        .map_err(ApiError::internal)?
        .into_iter()
        .map(|(title, text)| minijinja::context! { title => title, text => text })
        .collect();
    let path = format!("/agent/threads/{id}");
    state.staff.render(
        "thread.html",
        lang,
        minijinja::context! {
            thread => minijinja::context! {
                id => thread.id.to_string(), reference => thread.reference.map(|r| r.to_string()),
                subject => thread.subject.clone(), channel => thread.channel.as_str(), status => thread.status.as_str(),
                department => thread.department.clone(), topic => thread.topic.map(|t| t.as_str()),
                flagged => thread.flagged, version => thread.version,
            },
            assignee => assignee,
            messages => minijinja::Value::from_serialize(&messages),
            older_messages => older,
            notes => minijinja::Value::from_serialize(&notes),
            statuses => ThreadStatus::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            topics => models::Topic::ALL.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
            canned => canned,
            flags => flags,
            contact => minijinja::Value::from_serialize(&contact),
            candidates => minijinja::Value::from_serialize(&candidates),
            linked => minijinja::Value::from_serialize(&linked),
            linkable => minijinja::Value::from_serialize(&linkable),
            reply => minijinja::Value::from_serialize(&reply_options),
            departments => departments(&state, lang),
            dept_names => department_names(&state, lang),
            ..frame(Some(&staff), lang, &path, error)
        },
    )
}

#[derive(Debug, Deserialize)]
struct ActionForm {
    csrf: String,
    version: Option<i64>,
    body: Option<String>,
    assignee: Option<String>,
    department: Option<String>,
    request_type: Option<String>,
    status: Option<String>,
    topic: Option<String>,
    /// `email` to reply by email instead of on the thread's channel.
    channel: Option<String>,
    /// A callback's number, or the contact's corrected one.
    phone: Option<String>,
    display_name: Option<String>,
    postal_address: Option<String>,
    language: Option<String>,
    email: Option<String>,
    /// The contact's version the agent saw.
    contact_version: Option<i64>,
    /// The contact to merge into the thread's.
    from: Option<String>,
    /// The contact to merge the thread's into instead (when the thread's
    /// was opened by the public form).
    into: Option<String>,
    /// `yes` when the agent ticked that the two are one person.
    confirm: Option<String>,
    /// The thread to link.
    thread_id: Option<String>,
}

async fn thread_action(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, action)): Path<(String, String)>,
    Query(q): Query<LangParam>,
    Form(form): Form<ActionForm>,
) -> Result<Response, ApiError> {
    if !same(&form.csrf, &staff.csrf) {
        return Err(ApiError::Forbidden);
    }
    let lang = lang_of(q.lang.as_deref());
    let thread = ThreadId::parse(&id).map_err(|_| ApiError::NotFound)?;
    let user = &staff.user;
    let body = form.body.as_deref().unwrap_or("");
    let result = match action.as_str() {
        "reply" => {
            let via = if form.channel.as_deref() == Some("email") {
                workspace::ReplyVia::Email
            } else {
                workspace::ReplyVia::Thread
            };
            workspace::reply(&state.services, user, thread, body, form.version, via)
                .await
                .map_err(ApiError::from)
                .map(|_| ())
        }
        "note" => workspace::add_note(&state.services, user, thread, body)
            .await
            .map_err(ApiError::from)
            .map(|_| ()),
        "callback" => {
            workspace::add_callback(&state.services, user, thread, form.phone.as_deref(), body)
                .await
                .map_err(ApiError::from)
                .map(|_| ())
        }
        "contact" | "merge" | "link" => contact_action(&state, user, thread, &action, form).await,
        "assign" => {
            let email = match form.assignee.as_deref() {
                Some("me") | None => Some(user.email.clone()),
                Some(other) => Some(other.to_owned()),
            };
            workspace::assign(
                &state.services,
                user,
                thread,
                email.as_deref(),
                form.version,
            )
            .await
            .map_err(ApiError::from)
        }
        "transfer" => {
            let department = form.department.as_deref().unwrap_or("");
            let request_type = form.request_type.as_deref().filter(|r| !r.is_empty());
            workspace::transfer(
                &state.services,
                user,
                thread,
                department,
                request_type,
                form.version,
            )
            .await
            .map_err(ApiError::from)
            .map(|_| ())
        }
        "topic" => match form.topic.as_deref().and_then(models::Topic::parse) {
            Some(topic) => workspace::set_topic(&state.services, user, thread, topic, form.version)
                .await
                .map_err(ApiError::from),
            None => Err(ApiError::NotFound),
        },
        "status" => match form.status.as_deref().and_then(ThreadStatus::parse) {
            Some(status) => {
                workspace::set_status(&state.services, user, thread, status, form.version)
                    .await
                    .map_err(ApiError::from)
            }
            None => Err(ApiError::NotFound),
        },
        _ => Err(ApiError::NotFound),
    };
    let back = format!("/agent/threads/{thread}?lang={lang}");
    match result {
        Ok(()) => Ok(Redirect::to(&back).into_response()),
        Err(ApiError::NotFound) => Err(ApiError::NotFound),
        Err(ApiError::Conflict { code }) => {
            Ok(Redirect::to(&format!("{back}&error={code}")).into_response())
        }
        Err(ApiError::Validation(_)) => {
            Ok(Redirect::to(&format!("{back}&error=invalid")).into_response())
        }
        Err(ApiError::Internal(e)) => Err(ApiError::Internal(e)),
        Err(_) => Ok(Redirect::to(&format!("{back}&error=action")).into_response()),
    }
}

/// The thread page's actions on its citizen: correct the details, merge a
/// suggested duplicate into it (only when the agent ticked the
/// confirmation), link another of its threads.
async fn contact_action(
    state: &AppState,
    user: &crate::auth::User,
    thread: ThreadId,
    action: &str,
    form: ActionForm,
) -> Result<(), ApiError> {
    let record = match state.store.get_thread(thread).await {
        Ok(record) => record,
        Err(crate::store::StoreError::NotFound) => return Err(ApiError::NotFound),
        Err(e) => return Err(e.into()),
    };
    let stale = ApiError::Conflict { code: "conflict" };
    match action {
        "contact" => {
            let edit = crate::services::contacts::ContactEdit {
                version: form.contact_version.ok_or(stale)?,
                display_name: form.display_name,
                phone: form.phone,
                postal_address: form.postal_address,
                language: form.language,
                email: form.email,
            };
            crate::services::contacts::update_contact(
                &state.services,
                user,
                record.contact_id,
                &edit,
            )
            .await
            .map_err(ApiError::from)
            .map(|_| ())
        }
        "merge" => {
            if form.confirm.as_deref() != Some("yes") {
                return Err(ApiError::Conflict {
                    code: "confirm_merge",
                });
            }
            let from = form
                .from
                .as_deref()
                .and_then(|f| models::ContactId::parse(f).ok())
                .ok_or_else(|| ApiError::field("from", "invalid_value"))?;
            // A record opened by the public form merges into the known
            // citizen (`into`), never the other way.
            let (from, into) = match form.into.as_deref() {
                Some(into) => (
                    record.contact_id,
                    models::ContactId::parse(into)
                        .map_err(|_| ApiError::field("into", "invalid_value"))?,
                ),
                None => (from, record.contact_id),
            };
            crate::services::contacts::merge_contacts(
                &state.services,
                user,
                from,
                into,
                Some(form.contact_version.ok_or(stale)?),
            )
            .await
            .map_err(ApiError::from)
        }
        _ => {
            let other = form
                .thread_id
                .as_deref()
                .and_then(|t| ThreadId::parse(t).ok())
                .ok_or_else(|| ApiError::field("thread_id", "invalid_value"))?;
            crate::services::contacts::link_threads(&state.services, user, thread, other)
                .await
                .map_err(ApiError::from)
                .map(|_| ())
        }
    }
}

async fn review_page(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<LangParam>,
) -> Result<Html<String>, ApiError> {
    staff.user.require(Role::Supervisor)?;
    let lang = lang_of(q.lang.as_deref());
    let items = state.store.review_queue(100).await?;
    state.staff.render(
        "review.html",
        lang,
        minijinja::context! {
            items => minijinja::Value::from_serialize(&items),
            kinds => AbuseKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
            ..frame(Some(&staff), lang, "/agent/review", None)
        },
    )
}

#[derive(Debug, Deserialize)]
struct DecisionForm {
    csrf: String,
    decision: String,
    kind: Option<String>,
    #[serde(default)]
    comment: String,
}

async fn review_decide(
    State(state): State<AppState>,
    staff: Staff,
    Path(message_id): Path<String>,
    Query(q): Query<LangParam>,
    Form(form): Form<DecisionForm>,
) -> Result<Response, ApiError> {
    if !same(&form.csrf, &staff.csrf) {
        return Err(ApiError::Forbidden);
    }
    let lang = lang_of(q.lang.as_deref());
    let message = MessageId::parse(&message_id).map_err(|_| ApiError::NotFound)?;
    let decision = match form.decision.as_str() {
        "confirm" => Decision::Confirm(
            form.kind
                .as_deref()
                .and_then(AbuseKind::parse)
                .ok_or(ApiError::NotFound)?,
        ),
        "dismiss" => Decision::Dismiss,
        _ => return Err(ApiError::NotFound),
    };
    match services::review::decide(
        &state.services,
        &staff.user,
        message,
        decision,
        &form.comment,
    )
    .await
    .map_err(ApiError::from)
    {
        Ok(()) | Err(ApiError::Conflict { .. }) => {
            Ok(Redirect::to(&format!("/agent/review?lang={lang}")).into_response())
        }
        Err(e) => Err(e),
    }
}

/// What the record form sends.
#[derive(Debug, Default, Deserialize)]
struct RecordForm {
    csrf: String,
    #[serde(default)]
    idempotency_key: String,
    #[serde(default)]
    channel: String,
    contact_id: Option<String>,
    name: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    postal_address: Option<String>,
    language: Option<String>,
    #[serde(default)]
    text: String,
    topic: Option<String>,
    #[serde(default)]
    outcome: String,
}

fn record_context(
    staff: &Staff,
    lang: &str,
    form: &RecordForm,
    result: Option<serde_json::Value>,
    error: Option<String>,
) -> minijinja::Value {
    minijinja::context! {
        idempotency_key => random_hex(),
        topics => models::Topic::ALL.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
        form => minijinja::context! {
            contact_id => form.contact_id.clone(), name => form.name.clone(), phone => form.phone.clone(),
            email => form.email.clone(), postal_address => form.postal_address.clone(),
            language => form.language.clone(), text => form.text.clone(), topic => form.topic.clone(),
            channel => form.channel.clone(), outcome => form.outcome.clone(),
        },
        result => result.map(|r| minijinja::Value::from_serialize(&r)),
        ..frame(Some(staff), lang, "/agent/record", error)
    }
}

/// `GET /agent/record`: one page to record a phone call or a counter visit.
async fn record_page(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<LangParam>,
) -> Result<Html<String>, ApiError> {
    let lang = lang_of(q.lang.as_deref());
    let form = RecordForm::default();
    state.staff.render(
        "record.html",
        lang,
        record_context(&staff, lang, &form, None, None),
    )
}

/// `POST /agent/record`: JSON for the page's script (`Accept:
/// application/json`), or the page again with the reference. The form's
/// one-time key makes a double submit one record.
async fn record_post(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<LangParam>,
    headers: HeaderMap,
    Form(form): Form<RecordForm>,
) -> Result<Response, ApiError> {
    if !same(&form.csrf, &staff.csrf) {
        return Err(ApiError::Forbidden);
    }
    let lang = lang_of(q.lang.as_deref());
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    let request = crate::services::contacts::RecordRequest {
        channel: form.channel.clone(),
        contact_id: form.contact_id.clone(),
        name: form.name.clone(),
        phone: form.phone.clone(),
        email: form.email.clone(),
        postal_address: form.postal_address.clone(),
        language: form.language.clone(),
        text: form.text.clone(),
        topic: form.topic.clone(),
        outcome: form.outcome.clone(),
    };
    // The page's own one-time key; a missing or malformed one just records
    // without replay protection.
    let key = super::extract::IdempotencyKey::parse(form.idempotency_key.trim()).ok();
    let result = crate::services::contacts::record(
        &state.services,
        &staff.user,
        &request,
        key.as_ref().map(super::extract::IdempotencyKey::as_str),
    )
    .await
    .map_err(ApiError::from);
    match (result, wants_json) {
        (Ok((status, mut body)), true) => {
            body["next_key"] = serde_json::Value::String(random_hex());
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::CREATED);
            Ok((status, axum::Json(body)).into_response())
        }
        (Err(e), true) => Err(e),
        (Ok((_, body)), false) => Ok(state
            .staff
            .render(
                "record.html",
                lang,
                record_context(&staff, lang, &RecordForm::default(), Some(body), None),
            )?
            .into_response()),
        (Err(ApiError::Internal(e)), false) => Err(ApiError::Internal(e)),
        (Err(_), false) => {
            let page = state.staff.render(
                "record.html",
                lang,
                record_context(
                    &staff,
                    lang,
                    &form,
                    None,
                    Some(state.staff.word(lang, "record_invalid")),
                ),
            )?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

#[derive(Debug, Deserialize)]
struct SearchParam {
    q: Option<String>,
}

/// `GET /agent/attachments/{id}`: an attachment, as a safe download (see
/// [`super::attachments`]).
async fn attachment(
    State(state): State<AppState>,
    _staff: Staff,
    Path(id): Path<String>,
    Query(params): Query<super::attachments::DownloadParams>,
) -> Result<Response, ApiError> {
    super::attachments::download(&state, &id, &params).await
}

/// `GET /agent/contacts/search?q=`: citizens by name, phone or email, for
/// the record page.
async fn contacts_search(
    State(state): State<AppState>,
    _staff: Staff,
    Query(p): Query<SearchParam>,
) -> Result<Response, ApiError> {
    let q: String = p.q.unwrap_or_default().chars().take(200).collect();
    let found = crate::services::contacts::find_contacts(&state.services, &q)
        .await
        .map_err(ApiError::from)?;
    Ok(axum::Json(serde_json::json!({ "contacts": found })).into_response())
}

#[derive(Debug, Deserialize)]
struct ProposalForm {
    csrf: String,
    #[serde(default)]
    text: String,
}

/// `POST /agent/topic-proposal`: the classifier's topic for what the agent
/// typed so far; the agent decides.
async fn topic_proposal(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<ProposalForm>,
) -> Result<Response, ApiError> {
    if !same(&form.csrf, &staff.csrf) {
        return Err(ApiError::Forbidden);
    }
    let text: String = form.text.chars().take(services::MAX_TEXT_CHARS).collect();
    let classifier = std::sync::Arc::clone(&state.classifier);
    let explanation = tokio::task::spawn_blocking(move || {
        classifier.explain(&classifiers::ClassifierInput {
            text: &text,
            subject: None,
            language: None,
        })
    })
    .await
    .map_err(ApiError::internal)?;
    let topic = explanation.topic_candidate.map(|(t, _)| t);
    Ok(axum::Json(serde_json::json!({
        "topic": topic.map(|t| t.as_str()),
        "score": explanation.topic_candidate.map(|(_, s)| s),
    }))
    .into_response())
}

/// `GET /agent/stats`: first-contact resolution per channel and week, for
/// supervisors, as bars and a table (the table carries every figure).
async fn stats_page(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<LangParam>,
) -> Result<Html<String>, ApiError> {
    let lang = lang_of(q.lang.as_deref());
    let rows = crate::services::contacts::first_contact_stats(&state.services, &staff.user, 12)
        .await
        .map_err(ApiError::from)?;
    let channels: Vec<minijinja::Value> = [Channel::Phone, Channel::Counter]
        .iter()
        .map(|c| {
            let weeks: Vec<minijinja::Value> = rows
                .iter()
                .filter(|r| r.channel == c.as_str())
                .map(|r| {
                    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                    let percent = (r.share * 100.0).round() as u32;
                    minijinja::context! {
                        week => r.week.to_string(), contacts => r.contacts, resolved => r.resolved, percent => percent,
                    }
                })
                .collect();
            minijinja::context! { channel => c.as_str(), width => weeks.len() * 30 + 8, weeks => weeks }
        })
        .collect();
    state.staff.render(
        "stats.html",
        lang,
        minijinja::context! { channels => channels, ..frame(Some(&staff), lang, "/agent/stats", None) },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pages_compile_and_both_languages_have_every_word() {
        let pages = StaffPages::load(chrono_tz::America::Toronto).unwrap();
        let fr: std::collections::BTreeSet<_> = pages.strings["fr"].keys().collect();
        let en: std::collections::BTreeSet<_> = pages.strings["en"].keys().collect();
        assert_eq!(fr, en);
        for topic in models::Topic::ALL {
            assert!(
                fr.contains(&format!("topic_{}", topic.as_str())),
                "no label for the topic {topic:?}"
            );
        }
    }

    #[test]
    fn waiting_time_reads_in_hours_then_days() {
        let t = DateTime::from_timestamp(1_768_311_672, 0).unwrap();
        assert_eq!(
            waiting("fr", t, t + chrono::Duration::minutes(125)),
            "2 h 05"
        );
        assert_eq!(waiting("en", t, t + chrono::Duration::days(3)), "3 d");
    }

    #[test]
    fn secrets_compare_equal_only_when_equal() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "ab"));
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; inbox_session=xyz; b=2"),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE).as_deref(), Some("xyz"));
    }
}
