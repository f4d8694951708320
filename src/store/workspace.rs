//! What the agents' and supervisors' workspace reads and writes: staff
//! accounts and tokens, the inbox listing with its filters, search and
//! keyset pagination, internal notes, and the review queue of flagged
//! messages. Written once for both engines, like `shared.rs`; only the
//! search differs (FTS5 on SQLite, `tsvector` on PostgreSQL): `sqlite.rs`
//! and `postgres.rs` each supply `search_term` (what someone typed as the
//! engine's query), `search_matches` (how many messages match, up to
//! [`SearchTuning::common_matches`]) and two conditions: `SEARCH_COLLECT_SQL`
//! keeps the threads among every match (for a rare word) and
//! `SEARCH_WALK_SQL` tests each thread met in inbox order (for a common one).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use models::{Channel, ThreadId, ThreadStatus, Topic};
use serde::Serialize;

use super::engine::{on_engine, Backend, Conn, Db, Pool};
use super::rows::{Text, ThreadListRow};
use super::{postgres, sqlite, Cursor, StoreError};
use models::staff::{Role, User};

/// How the inbox search chooses its plan. A word with fewer matching
/// messages than `common_matches` collects every match, then cuts the page;
/// a more common one walks the inbox order testing each thread, for at
/// most `walk_window` threads, and reads every match only when the filters
/// leave the page unfilled within that window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchTuning {
    /// Matches from which a word counts as common.
    pub common_matches: i64,
    /// Most threads a common word's walk tests.
    pub walk_window: u32,
}

impl SearchTuning {
    /// The defaults measured with `benches/inbox_scale.rs` on a million
    /// messages (BENCHMARKS.md). Collecting costs about the same per match
    /// on both engines, but testing one thread costs several times more on
    /// PostgreSQL (a heap visit per message) than on SQLite (a lookup in
    /// the set of matching rows), so PostgreSQL walks only for commoner
    /// words, and not as far.
    pub fn for_engine(engine: super::Engine) -> Self {
        match engine {
            super::Engine::Sqlite => Self {
                common_matches: 5_000,
                walk_window: 5_000,
            },
            super::Engine::Postgres => Self {
                common_matches: 20_000,
                walk_window: 2_000,
            },
        }
    }
}

/// A staff account to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Its id.
    pub id: String,
    /// Work email, the login (stored lower-case).
    pub email: String,
    /// Name shown to colleagues.
    pub display_name: Option<String>,
    /// What they may do.
    pub role: Role,
    /// argon2id PHC string.
    pub password_hash: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// Inbox order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InboxOrder {
    /// Oldest activity first: whoever waits longest is served first (equity).
    #[default]
    OldestFirst,
    /// Newest activity first.
    NewestFirst,
}

/// Filters and page of the inbox.
#[derive(Debug, Clone, Default)]
pub struct ThreadQuery {
    /// Only this channel.
    pub channel: Option<Channel>,
    /// Only this topic.
    pub topic: Option<Topic>,
    /// Only this status.
    pub status: Option<ThreadStatus>,
    /// Only threads not resolved (the inbox's default view).
    pub open_only: bool,
    /// Only this department.
    pub department: Option<String>,
    /// Only threads assigned to this user.
    pub assignee: Option<String>,
    /// Only flagged (true) or unflagged (false) threads.
    pub flagged: Option<bool>,
    /// Only threads whose deadline passed before this instant.
    pub overdue_at: Option<DateTime<Utc>>,
    /// Full-text search in the messages.
    pub search: Option<String>,
    /// Order.
    pub order: InboxOrder,
    /// Start after this thread.
    pub after: Option<Cursor>,
    /// Page size.
    pub limit: u32,
}

/// One line of the inbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ThreadListItem {
    /// The thread.
    pub id: String,
    /// Its reference number.
    pub reference: Option<String>,
    /// The channel it started on.
    pub channel: String,
    /// Queue status.
    pub status: String,
    /// Topic, when known.
    pub topic: Option<String>,
    /// Department, when known.
    pub department: Option<String>,
    /// An abusive message was flagged in it.
    pub flagged: bool,
    /// The agent it is assigned to.
    pub assignee_id: Option<String>,
    /// That agent's name (or email, when they gave no name).
    pub assignee_name: Option<String>,
    /// The start of the citizen's latest message.
    pub preview: Option<String>,
    /// The citizen's name, when known.
    pub contact_name: Option<String>,
    /// Subject of the first message.
    pub subject: Option<String>,
    /// Opened at.
    pub created_at: DateTime<Utc>,
    /// Latest activity.
    pub last_message_at: DateTime<Utc>,
    /// Latest citizen message.
    pub last_citizen_message_at: Option<DateTime<Utc>>,
    /// When it must be answered.
    pub due_at: Option<DateTime<Utc>>,
    /// For optimistic concurrency.
    pub version: i64,
}

/// What a personal API token may do: never more than its owner's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct TokenScope {
    /// The highest role it acts with; `None` for its owner's role.
    pub role: Option<Role>,
    /// Reads only: every other method answers 403.
    pub read_only: bool,
}

/// A personal API token to record; its text is shown once and never kept.
#[derive(Debug, Clone)]
pub struct NewToken {
    /// Its id, which `inbox token revoke` takes.
    pub id: String,
    /// Its owner.
    pub user_id: String,
    /// SHA-256 of its text.
    pub token_hash: String,
    /// What it is for.
    pub label: Option<String>,
    /// What it may do.
    pub scope: TokenScope,
    /// When.
    pub at: DateTime<Utc>,
}

impl NewToken {
    /// An unlabelled token with its owner's whole role.
    pub fn full(user_id: &str, token_hash: String, at: DateTime<Utc>) -> Self {
        Self {
            id: uuid::Uuid::now_v7().to_string(),
            user_id: user_id.to_owned(),
            token_hash,
            label: None,
            scope: TokenScope::default(),
            at,
        }
    }
}

/// A personal API token as its owner's list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    /// Its id.
    pub id: String,
    /// What it is for.
    pub label: Option<String>,
    /// The role it acts with (its owner's role when narrower).
    pub role: Role,
    /// Reads only.
    pub read_only: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// The account behind a token, with the token's own limits applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenUser {
    /// The owner, with the role the token acts with.
    pub user: User,
    /// Reads only.
    pub read_only: bool,
}

models::slug_enum! {
    /// What a note records.
    pub enum NoteKind("note kind") {
        /// An internal note between colleagues.
        Note => "note",
        /// A phone callback, for a citizen whose chat can no longer be answered.
        Callback => "callback",
    }
}

/// An internal note on a thread.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoteRecord {
    /// The note.
    pub id: String,
    /// An internal note or a phone callback.
    pub kind: NoteKind,
    /// The number to call back, for a callback.
    pub phone: Option<String>,
    /// Who wrote it.
    pub author_id: String,
    /// Their email.
    pub author_email: String,
    /// Its text.
    pub body: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// A flagged message waiting for a supervisor.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReviewItem {
    /// The message.
    pub message_id: String,
    /// Its thread.
    pub thread_id: String,
    /// The thread's reference.
    pub reference: Option<String>,
    /// Its text (the page blurs it until revealed).
    pub text: String,
    /// `abusive` or `to_verify`.
    pub verdict: String,
    /// The classifier's kind, when it named one.
    pub kind: Option<String>,
    /// Its abuse score.
    pub score: f64,
    /// Why, in words a supervisor reads (JSON array).
    pub reasons: Vec<String>,
    /// When it arrived.
    pub received_at: DateTime<Utc>,
}

/// A supervisor's decision, as exported for retraining.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LabelledExample {
    /// The message.
    pub message_id: String,
    /// Its text.
    pub text: String,
    /// `confirmed` or `dismissed`.
    pub decision: String,
    /// The kind, for a confirmed flag.
    pub kind: Option<String>,
    /// When decided.
    pub decided_at: DateTime<Utc>,
}

/// A topic an agent set by hand, as exported for retraining.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TopicExample {
    /// The thread.
    pub thread_id: String,
    /// The citizen's first message in it (new text only).
    pub text: String,
    /// The topic the agent chose.
    pub topic: String,
    /// When the thread last changed.
    pub labelled_at: DateTime<Utc>,
}

/// The workspace's reads and single-statement writes.
#[async_trait]
pub trait Workspace: Send + Sync {
    /// Creates an account; [`StoreError::Conflict`] when the email exists.
    async fn create_user(&self, user: &NewUser) -> Result<(), StoreError>;

    /// An account and its password hash, by email.
    async fn user_by_email(&self, email: &str) -> Result<Option<(User, String)>, StoreError>;

    /// How an account shows to colleagues: its name, or its email when it
    /// gave none; `None` for an unknown id.
    async fn user_label(&self, id: &str) -> Result<Option<String>, StoreError>;

    /// The account owning a token (by its hash), unless revoked or
    /// disabled, acting with the lower of its own role and the token's.
    async fn user_by_token(&self, token_hash: &str) -> Result<Option<TokenUser>, StoreError>;

    /// Records a token's hash, with its audit entry, in one transaction.
    async fn create_token(&self, token: &NewToken, actor: &str) -> Result<(), StoreError>;

    /// A user's tokens, newest first, revoked ones included.
    async fn list_tokens(&self, user_id: &str) -> Result<Vec<TokenInfo>, StoreError>;

    /// Revokes a token by id, with its audit entry; `false` when no
    /// unrevoked token has that id.
    async fn revoke_token(
        &self,
        id: &str,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Where an account stands for a login: the account, its password hash,
    /// and until when it is locked after repeated failures.
    async fn login_state(
        &self,
        email: &str,
    ) -> Result<Option<(User, String, Option<DateTime<Utc>>)>, StoreError>;

    /// Claims one sign-in attempt on an account, in one statement so that
    /// concurrent attempts cannot pass the lock together: `false` when the
    /// account is locked (nothing is counted). Otherwise the attempt counts
    /// as a failure until a session is opened (which forgets failures);
    /// failures older than `forget_before`, or from before a lock that has
    /// expired, no longer count; the `max_failures`-th locks the account
    /// until `lock_until`.
    async fn claim_login_attempt(
        &self,
        user_id: &str,
        now: DateTime<Utc>,
        max_failures: u32,
        lock_until: DateTime<Utc>,
        forget_before: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Opens a session (stores the token's hash) and forgets past failures.
    async fn create_session(
        &self,
        token_hash: &str,
        user_id: &str,
        csrf: &str,
        at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// The account and CSRF token of a live session.
    async fn session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(User, String)>, StoreError>;

    /// Ends a session.
    async fn end_session(&self, token_hash: &str) -> Result<(), StoreError>;

    /// One page of the inbox (request threads only).
    async fn list_threads(&self, query: &ThreadQuery) -> Result<Vec<ThreadListItem>, StoreError>;

    /// A thread's internal notes, oldest first.
    async fn list_notes(&self, thread: ThreadId) -> Result<Vec<NoteRecord>, StoreError>;

    /// Flagged messages without a decision, worst first: threats, then
    /// intimidation, hate, harassment, insults (sure verdicts before those to
    /// verify), and oldest first within each.
    async fn review_queue(&self, limit: u32) -> Result<Vec<ReviewItem>, StoreError>;

    /// Every decision, as labelled examples, oldest first.
    async fn labelled_examples(&self) -> Result<Vec<LabelledExample>, StoreError>;

    /// The confirmed flags on a contact's messages, newest first.
    async fn contact_flag_history(
        &self,
        contact: models::ContactId,
    ) -> Result<Vec<LabelledExample>, StoreError>;

    /// Every topic an agent set, with the citizen's first words, oldest first.
    async fn topic_examples(&self) -> Result<Vec<TopicExample>, StoreError>;
}

/// Turns what someone typed into an FTS5 query: each word a quoted prefix
/// term, all required. Quotes are doubled, so no FTS5 syntax gets through.
pub(super) fn fts5_query(text: &str) -> Option<String> {
    let terms: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(16)
        .map(|w| format!("\"{}\"*", w.replace('"', "\"\"")))
        .collect();
    (!terms.is_empty()).then(|| terms.join(" "))
}

/// A value bound to an inbox listing statement.
enum ListingBind {
    Text(String),
    Time(DateTime<Utc>),
}

/// An inbox listing statement with its values, bound as `$1`, `$2`… in order.
struct ListingSql {
    sql: String,
    binds: Vec<ListingBind>,
}

/// What a listing statement reads.
enum Listing<'a> {
    /// The page: threads within the filters, matching `search` (the
    /// engine's condition on `t` with `$Q`, and the term bound there), in
    /// inbox order after the cursor and not past `bound`.
    Page {
        search: Option<(&'a str, &'a str)>,
        who: Option<&'a Who>,
        bound: Option<&'a Cursor>,
    },
    /// Where a walk stops: the `window`-th thread within the filters (no
    /// search) in inbox order after the cursor, as `(last_message_at, id)`.
    Bound { window: u32 },
}

/// Threads a search names by who or what they are rather than by their
/// words: references, or the citizens (contact ids) they belong to.
#[derive(Debug)]
enum Who {
    References(Vec<String>),
    Contacts(Vec<String>),
}

impl Who {
    fn is_empty(&self) -> bool {
        match self {
            Self::References(v) | Self::Contacts(v) => v.is_empty(),
        }
    }

    /// The condition on `t`, its values bound into `binds`.
    fn condition(&self, binds: &mut Vec<ListingBind>) -> String {
        let (column, values) = match self {
            Self::References(v) => ("t.reference", v),
            Self::Contacts(v) => ("t.contact_id", v),
        };
        if values.is_empty() {
            return "FALSE".to_owned();
        }
        let placeholders: Vec<String> = values
            .iter()
            .map(|v| bind(binds, ListingBind::Text(v.clone())))
            .collect();
        format!("{column} IN ({})", placeholders.join(", "))
    }
}

/// Adds a value; its placeholder.
fn bind(binds: &mut Vec<ListingBind>, value: ListingBind) -> String {
    binds.push(value);
    format!("${}", binds.len())
}

/// The statement for `query` (both engines: only the search condition,
/// passed in, differs).
fn listing_sql(query: &ThreadQuery, listing: &Listing<'_>) -> ListingSql {
    let mut sql = String::from(match listing {
        Listing::Page { .. } => {
            "SELECT t.id, t.reference, t.channel, t.status, t.topic, t.department, t.flagged,
                    t.assignee_id, c.display_name, t.subject, t.created_at, t.last_message_at,
                    t.last_citizen_message_at, t.due_at, t.version,
                    COALESCE(u.display_name, u.email) AS assignee_name,
                    (SELECT substr(m.new_text, 1, 200) FROM messages m
                     WHERE m.thread_id = t.id AND m.direction = 'inbound' AND m.kind = 'citizen'
                     ORDER BY m.received_at DESC, m.id DESC LIMIT 1) AS preview
             FROM threads t JOIN contacts c ON c.id = t.contact_id
             LEFT JOIN users u ON u.id = t.assignee_id
             WHERE t.category = 'request'"
        }
        Listing::Bound { .. } => {
            "SELECT t.last_message_at, t.id FROM threads t WHERE t.category = 'request'"
        }
    });
    let mut binds = Vec::new();
    if let Some(channel) = query.channel {
        let p = bind(&mut binds, ListingBind::Text(channel.as_str().to_owned()));
        sql.push_str(&format!(" AND t.channel = {p}"));
    }
    if let Some(topic) = query.topic {
        let p = bind(&mut binds, ListingBind::Text(topic.as_str().to_owned()));
        sql.push_str(&format!(" AND t.topic = {p}"));
    }
    if let Some(status) = query.status {
        let p = bind(&mut binds, ListingBind::Text(status.as_str().to_owned()));
        sql.push_str(&format!(" AND t.status = {p}"));
    }
    if query.open_only {
        sql.push_str(" AND t.status <> 'resolved'");
    }
    if let Some(department) = &query.department {
        let p = bind(&mut binds, ListingBind::Text(department.clone()));
        sql.push_str(&format!(" AND t.department = {p}"));
    }
    if let Some(assignee) = &query.assignee {
        let p = bind(&mut binds, ListingBind::Text(assignee.clone()));
        sql.push_str(&format!(" AND t.assignee_id = {p}"));
    }
    if let Some(flagged) = query.flagged {
        sql.push_str(if flagged {
            " AND t.flagged"
        } else {
            " AND NOT t.flagged"
        });
    }
    if let Some(at) = query.overdue_at {
        let p = bind(&mut binds, ListingBind::Time(at));
        sql.push_str(&format!(" AND t.due_at < {p}"));
    }
    let (cmp, dir) = match query.order {
        InboxOrder::OldestFirst => (">", "ASC"),
        InboxOrder::NewestFirst => ("<", "DESC"),
    };
    if let Listing::Page { search, who, bound } = listing {
        let who = who.map(|w| w.condition(&mut binds));
        let words = search.map(|(condition, term)| {
            let p = bind(&mut binds, ListingBind::Text(term.to_owned()));
            condition.replace("$Q", &p)
        });
        match (who, words) {
            (Some(who), Some(words)) => sql.push_str(&format!(" AND ({who} OR {words})")),
            (Some(one), None) | (None, Some(one)) => sql.push_str(&format!(" AND {one}")),
            (None, None) => {}
        }
        if let Some(bound) = bound {
            // Not past the bound: the reverse of the cursor's test, inclusive.
            let back = if cmp == ">" { "<" } else { ">" };
            let a = bind(&mut binds, ListingBind::Time(bound.at));
            let b = bind(&mut binds, ListingBind::Text(bound.id.clone()));
            sql.push_str(&format!(
                " AND (t.last_message_at {back} {a} OR (t.last_message_at = {a} AND t.id {back}= {b}))"
            ));
        }
    }
    if let Some(after) = &query.after {
        let a = bind(&mut binds, ListingBind::Time(after.at));
        let b = bind(&mut binds, ListingBind::Text(after.id.clone()));
        sql.push_str(&format!(
            " AND (t.last_message_at {cmp} {a} OR (t.last_message_at = {a} AND t.id {cmp} {b}))"
        ));
    }
    sql.push_str(&format!(" ORDER BY t.last_message_at {dir}, t.id {dir}"));
    match listing {
        Listing::Page { .. } => sql.push_str(&format!(" LIMIT {}", query.limit.clamp(1, 200))),
        Listing::Bound { window } => {
            sql.push_str(&format!(" LIMIT 1 OFFSET {}", window.saturating_sub(1)));
        }
    }
    ListingSql { sql, binds }
}

/// Reads a stored role.
fn parse_role(text: &str) -> Result<Role, StoreError> {
    text.parse()
        .map_err(|e: String| StoreError::Internal(anyhow::anyhow!(e)))
}

/// Writes a token's audit entry in the transaction that changes it.
async fn insert_token_audit(
    conn: Conn<'_>,
    actor: &str,
    action: &str,
    token_id: &str,
    after: Option<serde_json::Value>,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let after = after.map(|a| a.to_string());
    on_engine!(conn, |c| sqlx::query(
        "INSERT INTO audit_log (id, at, actor, action, subject, before, after)
         VALUES ($1, $2, $3, $4, $5, NULL, $6)",
    )
    .bind(Text(uuid::Uuid::now_v7()))
    .bind(at)
    .bind(actor)
    .bind(action)
    .bind(format!("token:{token_id}"))
    .bind(after.as_deref())
    .execute(c)
    .await?
    .rows_affected());
    Ok(())
}

/// Binds a listing statement's values in order.
macro_rules! bind_listing {
    ($query:expr, $binds:expr) => {{
        let mut q = $query;
        for value in $binds {
            q = match value {
                ListingBind::Text(text) => q.bind(text),
                ListingBind::Time(at) => q.bind(at),
            };
        }
        q
    }};
}

/// The threads a [`Listing::Page`] statement reads.
async fn listing_rows(
    pool: Pool<'_>,
    built: ListingSql,
) -> Result<Vec<ThreadListItem>, StoreError> {
    let ListingSql { sql, binds } = built;
    let rows: Vec<ThreadListRow> = on_engine!(pool, |c| bind_listing!(sqlx::query_as(&sql), binds)
        .fetch_all(c)
        .await?);
    Ok(rows.into_iter().map(Into::into).collect())
}

/// Where a walk stops, from a [`Listing::Bound`] statement.
async fn listing_bound(pool: Pool<'_>, built: ListingSql) -> Result<Option<Cursor>, StoreError> {
    let ListingSql { sql, binds } = built;
    let row: Option<(DateTime<Utc>, String)> =
        on_engine!(pool, |c| bind_listing!(sqlx::query_as(&sql), binds)
            .fetch_optional(c)
            .await?);
    Ok(row.map(|(at, id)| Cursor { at, id }))
}

/// Most citizens a name search reads; a name shared by more is narrowed by
/// typing more of it.
const MAX_NAMED_CITIZENS: i64 = 200;

/// The threads `typed` names exactly: a reference (whole or in part), or
/// the citizens with that email address or phone number; `None` when it is
/// none of these.
async fn named_threads(pool: Pool<'_>, typed: &str) -> Result<Option<Who>, StoreError> {
    if let Some(reference) = models::ReferenceQuery::parse(typed) {
        let issued: Vec<(String, i64)> = on_engine!(pool, |c| sqlx::query_as(
            "SELECT prefix, year FROM reference_counters ORDER BY year, prefix"
        )
        .fetch_all(c)
        .await?);
        let issued: Vec<(String, u32)> = issued
            .into_iter()
            .filter_map(|(p, y)| Some((p, u32::try_from(y).ok()?)))
            .collect();
        return Ok(Some(Who::References(reference.candidates(&issued))));
    }
    let (kind, key) = if let Ok(phone) = models::PhoneNumber::parse(typed) {
        ("phone", phone.as_ref().to_owned())
    } else if let Ok(email) = models::EmailAddress::parse(typed) {
        ("email", email.as_ref().to_lowercase())
    } else {
        return Ok(None);
    };
    let sql = if kind == "phone" {
        "SELECT id FROM contacts WHERE phone = $1
         UNION SELECT contact_id FROM contact_identities WHERE kind = 'phone' AND key = $1"
    } else {
        "SELECT id FROM contacts WHERE unverified_email = $1
         UNION SELECT contact_id FROM contact_identities WHERE kind = 'email' AND key = $1"
    };
    let ids: Vec<String> = on_engine!(pool, |c| sqlx::query_scalar(sql)
        .bind(&key)
        .fetch_all(c)
        .await?);
    Ok(Some(Who::Contacts(ids)))
}

/// The citizens whose name contains `typed`, accents and case aside.
async fn citizens_named(pool: Pool<'_>, typed: &str) -> Result<Option<Who>, StoreError> {
    let Some(key) = models::name::name_key(typed) else {
        return Ok(None);
    };
    if key.chars().count() < 2 {
        return Ok(None);
    }
    let pattern = format!("%{}%", super::contacts::like_escape(&key));
    let ids: Vec<String> = on_engine!(pool, |c| sqlx::query_scalar(
        "SELECT id FROM contacts WHERE name_key LIKE $1 ESCAPE '\\' LIMIT $2"
    )
    .bind(&pattern)
    .bind(MAX_NAMED_CITIZENS)
    .fetch_all(c)
    .await?);
    Ok(Some(Who::Contacts(ids)))
}

/// Whether `who` names any thread within the query's filters, whatever the
/// cursor.
async fn any_listed(pool: Pool<'_>, query: &ThreadQuery, who: &Who) -> Result<bool, StoreError> {
    let probe = ThreadQuery {
        after: None,
        limit: 1,
        ..query.clone()
    };
    let page = Listing::Page {
        search: None,
        who: Some(who),
        bound: None,
    };
    Ok(!listing_rows(pool, listing_sql(&probe, &page))
        .await?
        .is_empty())
}

/// One engine's full-text search: how what someone typed becomes its query
/// text, and its two conditions on `t` with `$Q` (see the module doc).
struct EngineSearch {
    term: fn(&str) -> Option<String>,
    collect_sql: &'static str,
    walk_sql: &'static str,
}

impl EngineSearch {
    fn of(pool: Pool<'_>) -> Self {
        match pool {
            Db::Sqlite(_) => Self {
                term: sqlite::search_term,
                collect_sql: sqlite::SEARCH_COLLECT_SQL,
                walk_sql: sqlite::SEARCH_WALK_SQL,
            },
            Db::Postgres(_) => Self {
                term: postgres::search_term,
                collect_sql: postgres::SEARCH_COLLECT_SQL,
                walk_sql: postgres::SEARCH_WALK_SQL,
            },
        }
    }
}

/// How many messages match `term`, up to `cap` (an estimate on PostgreSQL).
async fn count_search_matches(pool: Pool<'_>, term: &str, cap: i64) -> Result<i64, StoreError> {
    match pool {
        Db::Sqlite(pool) => sqlite::search_matches(pool, term, cap).await,
        Db::Postgres(pool) => postgres::search_matches(pool, term, cap).await,
    }
}

/// A decision row as a [`LabelledExample`].
type LabelledRow = (String, String, String, Option<String>, DateTime<Utc>);

fn labelled_example(
    (message_id, text, decision, kind, decided_at): LabelledRow,
) -> LabelledExample {
    LabelledExample {
        message_id,
        text,
        decision,
        kind,
        decided_at,
    }
}

#[async_trait]
impl<B: Backend> Workspace for B {
    #[tracing::instrument(skip_all, fields(user_id = %user.id))]
    async fn create_user(&self, user: &NewUser) -> Result<(), StoreError> {
        on_engine!(self.writer(), |c| sqlx::query(
            "INSERT INTO users (id, email, display_name, role, password_hash, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&user.id)
        .bind(user.email.to_lowercase())
        .bind(user.display_name.as_deref())
        .bind(user.role.as_str())
        .bind(&user.password_hash)
        .bind(user.at)
        .execute(c)
        .await?
        .rows_affected());
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn user_by_email(&self, email: &str) -> Result<Option<(User, String)>, StoreError> {
        let row: Option<(String, String, Option<String>, String, String)> =
            on_engine!(self.reader(), |c| sqlx::query_as(
                "SELECT id, email, display_name, role, password_hash FROM users
                 WHERE email = $1 AND disabled_at IS NULL",
            )
            .bind(email.to_lowercase())
            .fetch_optional(c)
            .await?);
        row.map(|(id, email, display_name, role, hash)| {
            let role = parse_role(&role)?;
            Ok((
                User {
                    id,
                    email,
                    display_name,
                    role,
                },
                hash,
            ))
        })
        .transpose()
    }

    #[tracing::instrument(skip_all)]
    async fn user_label(&self, id: &str) -> Result<Option<String>, StoreError> {
        Ok(on_engine!(self.reader(), |c| sqlx::query_scalar(
            "SELECT COALESCE(display_name, email) FROM users WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(c)
        .await?))
    }

    #[tracing::instrument(skip_all)]
    async fn user_by_token(&self, token_hash: &str) -> Result<Option<TokenUser>, StoreError> {
        let row: Option<(String, String, Option<String>, String, Option<String>, bool)> =
            on_engine!(self.reader(), |c| sqlx::query_as(
                "SELECT u.id, u.email, u.display_name, u.role, k.role, k.read_only
                 FROM api_tokens k JOIN users u ON u.id = k.user_id
                 WHERE k.token_hash = $1 AND k.revoked_at IS NULL AND u.disabled_at IS NULL",
            )
            .bind(token_hash)
            .fetch_optional(c)
            .await?);
        row.map(|(id, email, display_name, role, scope, read_only)| {
            let mut role = parse_role(&role)?;
            if let Some(scope) = scope {
                role = role.min(parse_role(&scope)?);
            }
            Ok(TokenUser {
                user: User {
                    id,
                    email,
                    display_name,
                    role,
                },
                read_only,
            })
        })
        .transpose()
    }

    #[tracing::instrument(skip_all)]
    async fn login_state(
        &self,
        email: &str,
    ) -> Result<Option<(User, String, Option<DateTime<Utc>>)>, StoreError> {
        let row: Option<(
            String,
            String,
            Option<String>,
            String,
            String,
            Option<DateTime<Utc>>,
        )> = on_engine!(self.writer(), |c| sqlx::query_as(
            "SELECT id, email, display_name, role, password_hash, locked_until FROM users
                 WHERE email = $1 AND disabled_at IS NULL",
        )
        .bind(email.to_lowercase())
        .fetch_optional(c)
        .await?);
        row.map(|(id, email, display_name, role, hash, locked)| {
            let role = parse_role(&role)?;
            Ok((
                User {
                    id,
                    email,
                    display_name,
                    role,
                },
                hash,
                locked,
            ))
        })
        .transpose()
    }

    #[tracing::instrument(skip_all, fields(user_id = %user_id))]
    async fn claim_login_attempt(
        &self,
        user_id: &str,
        now: DateTime<Utc>,
        max_failures: u32,
        lock_until: DateTime<Utc>,
        forget_before: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        // `fresh`: the earlier failures no longer count.
        let claimed: Option<i64> = on_engine!(self.writer(), |c| sqlx::query_scalar(
            "UPDATE users SET
                 failed_logins = CASE
                     WHEN locked_until IS NOT NULL OR last_failed_login_at IS NULL
                          OR last_failed_login_at < $5 THEN 1
                     ELSE failed_logins + 1 END,
                 locked_until = CASE
                     WHEN (CASE
                               WHEN locked_until IS NOT NULL OR last_failed_login_at IS NULL
                                    OR last_failed_login_at < $5 THEN 1
                               ELSE failed_logins + 1 END) >= $3 THEN $4
                     ELSE NULL END,
                 last_failed_login_at = $2
             WHERE id = $1 AND (locked_until IS NULL OR locked_until <= $2)
             RETURNING failed_logins",
        )
        .bind(user_id)
        .bind(now)
        .bind(i64::from(max_failures))
        .bind(lock_until)
        .bind(forget_before)
        .fetch_optional(c)
        .await?);
        Ok(claimed.is_some())
    }

    #[tracing::instrument(skip_all, fields(user_id = %user_id))]
    async fn create_session(
        &self,
        token_hash: &str,
        user_id: &str,
        csrf: &str,
        at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer().begin().await?;
        on_engine!(tx.conn(), |c| sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(user_id)
        .bind(csrf)
        .bind(at)
        .bind(expires_at)
        .execute(c)
        .await?
        .rows_affected());
        on_engine!(tx.conn(), |c| sqlx::query(
            "UPDATE users SET failed_logins = 0, locked_until = NULL, last_failed_login_at = NULL
             WHERE id = $1",
        )
        .bind(user_id)
        .execute(c)
        .await?
        .rows_affected());
        on_engine!(tx.conn(), |c| sqlx::query(
            "DELETE FROM sessions WHERE expires_at < $1"
        )
        .bind(at)
        .execute(c)
        .await?
        .rows_affected());
        tx.commit().await
    }

    #[tracing::instrument(skip_all)]
    async fn session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(User, String)>, StoreError> {
        let row: Option<(String, String, Option<String>, String, String)> =
            on_engine!(self.reader(), |c| sqlx::query_as(
                "SELECT u.id, u.email, u.display_name, u.role, s.csrf
                 FROM sessions s JOIN users u ON u.id = s.user_id
                 WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled_at IS NULL",
            )
            .bind(token_hash)
            .bind(now)
            .fetch_optional(c)
            .await?);
        row.map(|(id, email, display_name, role, csrf)| {
            let role = parse_role(&role)?;
            Ok((
                User {
                    id,
                    email,
                    display_name,
                    role,
                },
                csrf,
            ))
        })
        .transpose()
    }

    #[tracing::instrument(skip_all)]
    async fn end_session(&self, token_hash: &str) -> Result<(), StoreError> {
        on_engine!(self.writer(), |c| sqlx::query(
            "DELETE FROM sessions WHERE token_hash = $1"
        )
        .bind(token_hash)
        .execute(c)
        .await?
        .rows_affected());
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(token_id = %token.id, user_id = %token.user_id))]
    async fn create_token(&self, token: &NewToken, actor: &str) -> Result<(), StoreError> {
        let mut tx = self.writer().begin().await?;
        on_engine!(tx.conn(), |c| sqlx::query(
            "INSERT INTO api_tokens (id, user_id, token_hash, label, created_at, role, read_only)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&token.id)
        .bind(&token.user_id)
        .bind(&token.token_hash)
        .bind(token.label.as_deref())
        .bind(token.at)
        .bind(token.scope.role.map(|r| r.as_str()))
        .bind(token.scope.read_only)
        .execute(c)
        .await?
        .rows_affected());
        let after = serde_json::json!({
            "user_id": token.user_id,
            "label": token.label,
            "role": token.scope.role.map(|r| r.as_str()),
            "read_only": token.scope.read_only,
        });
        insert_token_audit(
            tx.conn(),
            actor,
            "token.created",
            &token.id,
            Some(after),
            token.at,
        )
        .await?;
        tx.commit().await
    }

    #[tracing::instrument(skip_all, fields(user_id = %user_id))]
    async fn list_tokens(&self, user_id: &str) -> Result<Vec<TokenInfo>, StoreError> {
        type TokenRow = (
            String,
            Option<String>,
            String,
            Option<String>,
            bool,
            DateTime<Utc>,
            Option<DateTime<Utc>>,
        );
        let rows: Vec<TokenRow> = on_engine!(self.reader(), |c| sqlx::query_as(
            "SELECT k.id, k.label, u.role, k.role, k.read_only, k.created_at, k.revoked_at
             FROM api_tokens k JOIN users u ON u.id = k.user_id
             WHERE k.user_id = $1 ORDER BY k.created_at DESC, k.id DESC",
        )
        .bind(user_id)
        .fetch_all(c)
        .await?);
        rows.into_iter()
            .map(
                |(id, label, owner, scope, read_only, created_at, revoked_at)| {
                    let owner = parse_role(&owner)?;
                    let role = match scope {
                        Some(scope) => owner.min(parse_role(&scope)?),
                        None => owner,
                    };
                    Ok(TokenInfo {
                        id,
                        label,
                        role,
                        read_only,
                        created_at,
                        revoked_at,
                    })
                },
            )
            .collect()
    }

    #[tracing::instrument(skip_all, fields(token_id = %id))]
    async fn revoke_token(
        &self,
        id: &str,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.writer().begin().await?;
        let revoked = on_engine!(tx.conn(), |c| sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        )
        .bind(at)
        .bind(id)
        .execute(c)
        .await?
        .rows_affected());
        if revoked == 0 {
            return Ok(false);
        }
        insert_token_audit(tx.conn(), actor, "token.revoked", id, None, at).await?;
        tx.commit().await?;
        Ok(true)
    }

    #[tracing::instrument(skip_all)]
    async fn list_threads(&self, query: &ThreadQuery) -> Result<Vec<ThreadListItem>, StoreError> {
        let pool = self.reader();
        let Some(typed) = query
            .search
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        else {
            let page = Listing::Page {
                search: None,
                who: None,
                bound: None,
            };
            return listing_rows(pool, listing_sql(query, &page)).await;
        };
        // A reference, an email address or a phone number names threads
        // exactly: when it names some within the filters, they are the
        // answer (on every page); otherwise its words are searched.
        if let Some(who) = named_threads(pool, typed).await? {
            if !who.is_empty() && any_listed(pool, query, &who).await? {
                let page = Listing::Page {
                    search: None,
                    who: Some(&who),
                    bound: None,
                };
                return listing_rows(pool, listing_sql(query, &page)).await;
            }
        }
        // Otherwise the threads of citizens so named, and those whose
        // messages hold the words.
        let by_name = citizens_named(pool, typed).await?;
        let tuning = self.search_tuning();
        let search = EngineSearch::of(pool);
        let Some(term) = (search.term)(typed) else {
            let nobody = Who::Contacts(Vec::new());
            let page = Listing::Page {
                search: None,
                who: Some(by_name.as_ref().unwrap_or(&nobody)),
                bound: None,
            };
            return listing_rows(pool, listing_sql(query, &page)).await;
        };
        let by_name = by_name.filter(|w| !w.is_empty());
        let collect = Listing::Page {
            search: Some((search.collect_sql, &term)),
            who: by_name.as_ref(),
            bound: None,
        };
        if count_search_matches(pool, &term, tuning.common_matches).await? < tuning.common_matches {
            return listing_rows(pool, listing_sql(query, &collect)).await;
        }
        // A common word: walk the inbox order, testing each thread,
        // for at most a window of threads. The window is a prefix of
        // the order, so a page filled within it is the right page;
        // one that is not (the filters keep few of the word's
        // threads) is read the other way.
        let window = Listing::Bound {
            window: tuning.walk_window,
        };
        let bound = listing_bound(pool, listing_sql(query, &window)).await?;
        let walk = Listing::Page {
            search: Some((search.walk_sql, &term)),
            who: by_name.as_ref(),
            bound: bound.as_ref(),
        };
        let page = listing_rows(pool, listing_sql(query, &walk)).await?;
        if bound.is_none() || page.len() >= query.limit.clamp(1, 200) as usize {
            return Ok(page);
        }
        listing_rows(pool, listing_sql(query, &collect)).await
    }

    #[tracing::instrument(skip_all, fields(thread_id = %thread))]
    async fn list_notes(&self, thread: ThreadId) -> Result<Vec<NoteRecord>, StoreError> {
        type NoteRow = (
            String,
            String,
            Option<String>,
            String,
            String,
            String,
            DateTime<Utc>,
        );
        let rows: Vec<NoteRow> = on_engine!(self.reader(), |c| sqlx::query_as(
            "SELECT n.id, n.kind, n.phone, n.author_id, u.email, n.body, n.created_at
             FROM thread_notes n JOIN users u ON u.id = n.author_id
             WHERE n.thread_id = $1 ORDER BY n.created_at, n.id",
        )
        .bind(Text(thread))
        .fetch_all(c)
        .await?);
        Ok(rows
            .into_iter()
            .map(
                |(id, kind, phone, author_id, author_email, body, created_at)| NoteRecord {
                    id,
                    kind: if kind == "callback" {
                        NoteKind::Callback
                    } else {
                        NoteKind::Note
                    },
                    phone,
                    author_id,
                    author_email,
                    body,
                    created_at,
                },
            )
            .collect())
    }

    #[tracing::instrument(skip_all)]
    async fn review_queue(&self, limit: u32) -> Result<Vec<ReviewItem>, StoreError> {
        type ReviewRow = (
            String,
            String,
            Option<String>,
            String,
            String,
            Option<String>,
            f64,
            String,
            DateTime<Utc>,
        );
        let rows: Vec<ReviewRow> = on_engine!(self.reader(), |c| sqlx::query_as(
            "SELECT m.id, m.thread_id, t.reference, m.body_text, c.abuse_verdict,
                    c.abuse_kind, c.abuse_score, c.reasons, m.received_at
             FROM classifications c
             JOIN messages m ON m.id = c.message_id
             JOIN threads t ON t.id = m.thread_id
             WHERE c.abuse_verdict IN ('abusive', 'to_verify')
               AND NOT EXISTS (SELECT 1 FROM review_decisions d WHERE d.message_id = m.id)
             ORDER BY CASE c.abuse_kind
                          WHEN 'threat' THEN 0 WHEN 'intimidation' THEN 1
                          WHEN 'hate' THEN 2 WHEN 'harassment' THEN 3
                          WHEN 'insult' THEN 4 ELSE 5 END,
                      CASE c.abuse_verdict WHEN 'abusive' THEN 0 ELSE 1 END,
                      m.received_at, m.id
             LIMIT $1",
        )
        .bind(i64::from(limit.clamp(1, 500)))
        .fetch_all(c)
        .await?);
        Ok(rows
            .into_iter()
            .map(
                |(
                    message_id,
                    thread_id,
                    reference,
                    text,
                    verdict,
                    kind,
                    score,
                    reasons,
                    received_at,
                )| {
                    ReviewItem {
                        message_id,
                        thread_id,
                        reference,
                        text,
                        verdict,
                        kind,
                        score,
                        reasons: serde_json::from_str(&reasons).unwrap_or_default(),
                        received_at,
                    }
                },
            )
            .collect())
    }

    #[tracing::instrument(skip_all)]
    async fn labelled_examples(&self) -> Result<Vec<LabelledExample>, StoreError> {
        let rows: Vec<LabelledRow> = on_engine!(self.reader(), |c| sqlx::query_as(
            "SELECT d.message_id, m.new_text, d.decision, d.kind, d.decided_at
             FROM review_decisions d JOIN messages m ON m.id = d.message_id
             ORDER BY d.decided_at, d.message_id",
        )
        .fetch_all(c)
        .await?);
        Ok(rows.into_iter().map(labelled_example).collect())
    }

    #[tracing::instrument(skip_all, fields(contact_id = %contact))]
    async fn contact_flag_history(
        &self,
        contact: models::ContactId,
    ) -> Result<Vec<LabelledExample>, StoreError> {
        let rows: Vec<LabelledRow> = on_engine!(self.reader(), |c| sqlx::query_as(
            "SELECT d.message_id, m.new_text, d.decision, d.kind, d.decided_at
             FROM review_decisions d JOIN messages m ON m.id = d.message_id
             WHERE m.contact_id = $1 AND d.decision = 'confirmed'
             ORDER BY d.decided_at DESC, d.message_id",
        )
        .bind(Text(contact))
        .fetch_all(c)
        .await?);
        Ok(rows.into_iter().map(labelled_example).collect())
    }

    #[tracing::instrument(skip_all)]
    async fn topic_examples(&self) -> Result<Vec<TopicExample>, StoreError> {
        let rows: Vec<(String, Option<String>, String, DateTime<Utc>)> =
            on_engine!(self.reader(), |c| sqlx::query_as(
                "SELECT t.id,
                        (SELECT m.new_text FROM messages m
                         WHERE m.thread_id = t.id AND m.direction = 'inbound' AND m.kind = 'citizen'
                         ORDER BY m.received_at, m.id LIMIT 1),
                        t.topic, t.updated_at
                 FROM threads t
                 WHERE t.topic_source = 'agent' AND t.topic IS NOT NULL
                 ORDER BY t.updated_at, t.id",
            )
            .fetch_all(c)
            .await?);
        Ok(rows
            .into_iter()
            .filter_map(|(thread_id, text, topic, labelled_at)| {
                Some(TopicExample {
                    thread_id,
                    text: text?,
                    topic,
                    labelled_at,
                })
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_text_becomes_a_safe_fts5_query() {
        assert_eq!(
            fts5_query("déneigement rue"),
            Some("\"déneigement\"* \"rue\"*".to_owned())
        );
        assert_eq!(
            fts5_query("a\" OR b"),
            Some("\"a\"* \"OR\"* \"b\"*".to_owned())
        );
        assert_eq!(fts5_query(" ;; "), None);
    }
}
