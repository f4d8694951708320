//! What the agents' and supervisors' workspace reads and writes: staff
//! accounts and tokens, the inbox listing with its filters, search and
//! keyset pagination, internal notes, and the review queue of flagged
//! messages. Written once for both engines, like `shared.rs`; only the
//! search condition differs (FTS5 on SQLite, `tsvector` on PostgreSQL), and
//! each engine supplies it as `SEARCH_SQL`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use models::{Channel, ThreadId, ThreadStatus, Topic};
use serde::Serialize;

use super::StoreError;
use crate::auth::{Role, User};

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

/// Where a page of the inbox ends: the next page starts after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxCursor {
    /// `last_message_at` of the last thread shown.
    pub at: DateTime<Utc>,
    /// Its id, to break ties.
    pub id: String,
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
    pub after: Option<InboxCursor>,
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

/// An internal note on a thread.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoteRecord {
    /// The note.
    pub id: String,
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

    /// The account owning a token (by its hash), unless revoked or disabled.
    async fn user_by_token(&self, token_hash: &str) -> Result<Option<User>, StoreError>;

    /// Records a token's hash for a user.
    async fn create_token(
        &self,
        user_id: &str,
        token_hash: &str,
        label: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Where an account stands for a login: the account, its password hash,
    /// and until when it is locked after repeated failures.
    async fn login_state(
        &self,
        email: &str,
    ) -> Result<Option<(User, String, Option<DateTime<Utc>>)>, StoreError>;

    /// Counts a failed login; after `max_failures` in a row the account is
    /// locked until `lock_until`.
    async fn record_login_failure(
        &self,
        user_id: &str,
        max_failures: u32,
        lock_until: DateTime<Utc>,
    ) -> Result<(), StoreError>;

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

    /// Flagged messages without a decision, oldest first.
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

/// Instantiates [`Workspace`] for `$store`.
macro_rules! impl_workspace {
    ($store:ident) => {
        #[async_trait::async_trait]
        impl $crate::store::workspace::Workspace for $store {
            async fn create_user(
                &self,
                user: &$crate::store::workspace::NewUser,
            ) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO users (id, email, display_name, role, password_hash, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&user.id)
                .bind(user.email.to_lowercase())
                .bind(user.display_name.as_deref())
                .bind(user.role.as_str())
                .bind(&user.password_hash)
                .bind(user.at)
                .execute(self.writer())
                .await?;
                Ok(())
            }

            async fn user_by_email(
                &self,
                email: &str,
            ) -> Result<Option<($crate::auth::User, String)>, StoreError> {
                let row: Option<(String, String, Option<String>, String, String)> = sqlx::query_as(
                    "SELECT id, email, display_name, role, password_hash FROM users
                     WHERE email = $1 AND disabled_at IS NULL",
                )
                .bind(email.to_lowercase())
                .fetch_optional(self.reader())
                .await?;
                row.map(|(id, email, display_name, role, hash)| {
                    let role = role
                        .parse()
                        .map_err(|e: String| StoreError::Internal(anyhow::anyhow!(e)))?;
                    Ok(($crate::auth::User { id, email, display_name, role }, hash))
                })
                .transpose()
            }

            async fn user_by_token(
                &self,
                token_hash: &str,
            ) -> Result<Option<$crate::auth::User>, StoreError> {
                let row: Option<(String, String, Option<String>, String)> = sqlx::query_as(
                    "SELECT u.id, u.email, u.display_name, u.role
                     FROM api_tokens k JOIN users u ON u.id = k.user_id
                     WHERE k.token_hash = $1 AND k.revoked_at IS NULL AND u.disabled_at IS NULL",
                )
                .bind(token_hash)
                .fetch_optional(self.reader())
                .await?;
                row.map(|(id, email, display_name, role)| {
                    let role = role
                        .parse()
                        .map_err(|e: String| StoreError::Internal(anyhow::anyhow!(e)))?;
                    Ok($crate::auth::User { id, email, display_name, role })
                })
                .transpose()
            }

            async fn login_state(
                &self,
                email: &str,
            ) -> Result<Option<($crate::auth::User, String, Option<chrono::DateTime<chrono::Utc>>)>, StoreError> {
                let row: Option<(String, String, Option<String>, String, String, Option<chrono::DateTime<chrono::Utc>>)> =
                    sqlx::query_as(
                        "SELECT id, email, display_name, role, password_hash, locked_until FROM users
                         WHERE email = $1 AND disabled_at IS NULL",
                    )
                    .bind(email.to_lowercase())
                    .fetch_optional(self.writer())
                    .await?;
                row.map(|(id, email, display_name, role, hash, locked)| {
                    let role = role
                        .parse()
                        .map_err(|e: String| StoreError::Internal(anyhow::anyhow!(e)))?;
                    Ok(($crate::auth::User { id, email, display_name, role }, hash, locked))
                })
                .transpose()
            }

            async fn record_login_failure(
                &self,
                user_id: &str,
                max_failures: u32,
                lock_until: chrono::DateTime<chrono::Utc>,
            ) -> Result<(), StoreError> {
                sqlx::query(
                    "UPDATE users SET failed_logins = failed_logins + 1,
                         locked_until = CASE WHEN failed_logins + 1 >= $2 THEN $3 ELSE locked_until END
                     WHERE id = $1",
                )
                .bind(user_id)
                .bind(i64::from(max_failures))
                .bind(lock_until)
                .execute(self.writer())
                .await?;
                Ok(())
            }

            async fn create_session(
                &self,
                token_hash: &str,
                user_id: &str,
                csrf: &str,
                at: chrono::DateTime<chrono::Utc>,
                expires_at: chrono::DateTime<chrono::Utc>,
            ) -> Result<(), StoreError> {
                let mut tx = self.writer().begin().await?;
                sqlx::query(
                    "INSERT INTO sessions (token_hash, user_id, csrf, created_at, expires_at)
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(token_hash)
                .bind(user_id)
                .bind(csrf)
                .bind(at)
                .bind(expires_at)
                .execute(&mut *tx)
                .await?;
                sqlx::query("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1")
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn session(
                &self,
                token_hash: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<Option<($crate::auth::User, String)>, StoreError> {
                let row: Option<(String, String, Option<String>, String, String)> = sqlx::query_as(
                    "SELECT u.id, u.email, u.display_name, u.role, s.csrf
                     FROM sessions s JOIN users u ON u.id = s.user_id
                     WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled_at IS NULL",
                )
                .bind(token_hash)
                .bind(now)
                .fetch_optional(self.reader())
                .await?;
                row.map(|(id, email, display_name, role, csrf)| {
                    let role = role
                        .parse()
                        .map_err(|e: String| StoreError::Internal(anyhow::anyhow!(e)))?;
                    Ok(($crate::auth::User { id, email, display_name, role }, csrf))
                })
                .transpose()
            }

            async fn end_session(&self, token_hash: &str) -> Result<(), StoreError> {
                sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
                    .bind(token_hash)
                    .execute(self.writer())
                    .await?;
                Ok(())
            }

            async fn create_token(
                &self,
                user_id: &str,
                token_hash: &str,
                label: Option<&str>,
                at: chrono::DateTime<chrono::Utc>,
            ) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO api_tokens (id, user_id, token_hash, label, created_at)
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(uuid::Uuid::now_v7().to_string())
                .bind(user_id)
                .bind(token_hash)
                .bind(label)
                .bind(at)
                .execute(self.writer())
                .await?;
                Ok(())
            }

            async fn list_threads(
                &self,
                query: &$crate::store::workspace::ThreadQuery,
            ) -> Result<Vec<$crate::store::workspace::ThreadListItem>, StoreError> {
                use $crate::store::workspace::InboxOrder;
                let mut sql = String::from(
                    "SELECT t.id, t.reference, t.channel, t.status, t.topic, t.department, t.flagged,
                            t.assignee_id, c.display_name, t.subject, t.created_at, t.last_message_at,
                            t.last_citizen_message_at, t.due_at, t.version
                     FROM threads t JOIN contacts c ON c.id = t.contact_id
                     WHERE t.category = 'request'",
                );
                let mut n = 0;
                let mut next = || {
                    n += 1;
                    format!("${n}")
                };
                enum Bind {
                    Text(String),
                    Time(chrono::DateTime<chrono::Utc>),
                }
                let mut binds: Vec<Bind> = Vec::new();
                if let Some(channel) = query.channel {
                    sql.push_str(&format!(" AND t.channel = {}", next()));
                    binds.push(Bind::Text(channel.as_str().to_owned()));
                }
                if let Some(topic) = query.topic {
                    sql.push_str(&format!(" AND t.topic = {}", next()));
                    binds.push(Bind::Text(topic.as_str().to_owned()));
                }
                if let Some(status) = query.status {
                    sql.push_str(&format!(" AND t.status = {}", next()));
                    binds.push(Bind::Text(status.as_str().to_owned()));
                }
                if let Some(department) = &query.department {
                    sql.push_str(&format!(" AND t.department = {}", next()));
                    binds.push(Bind::Text(department.clone()));
                }
                if let Some(assignee) = &query.assignee {
                    sql.push_str(&format!(" AND t.assignee_id = {}", next()));
                    binds.push(Bind::Text(assignee.clone()));
                }
                if let Some(flagged) = query.flagged {
                    sql.push_str(if flagged { " AND t.flagged" } else { " AND NOT t.flagged" });
                }
                if let Some(at) = query.overdue_at {
                    sql.push_str(&format!(" AND t.due_at < {}", next()));
                    binds.push(Bind::Time(at));
                }
                if let Some(search) = query.search.as_deref().and_then(search_term) {
                    sql.push_str(&format!(" AND t.id IN ({})", SEARCH_SQL.replace("$Q", &next())));
                    binds.push(Bind::Text(search));
                }
                let (cmp, dir) = match query.order {
                    InboxOrder::OldestFirst => (">", "ASC"),
                    InboxOrder::NewestFirst => ("<", "DESC"),
                };
                if let Some(after) = &query.after {
                    let (a, b) = (next(), next());
                    sql.push_str(&format!(
                        " AND (t.last_message_at {cmp} {a} OR (t.last_message_at = {a} AND t.id {cmp} {b}))"
                    ));
                    binds.push(Bind::Time(after.at));
                    binds.push(Bind::Text(after.id.clone()));
                }
                sql.push_str(&format!(
                    " ORDER BY t.last_message_at {dir}, t.id {dir} LIMIT {}",
                    query.limit.clamp(1, 200)
                ));
                let mut q = sqlx::query_as::<_, $crate::store::rows::ThreadListRow>(&sql);
                for value in binds {
                    q = match value {
                        Bind::Text(text) => q.bind(text),
                        Bind::Time(at) => q.bind(at),
                    };
                }
                let rows = q.fetch_all(self.reader()).await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn list_notes(
                &self,
                thread: models::ThreadId,
            ) -> Result<Vec<$crate::store::workspace::NoteRecord>, StoreError> {
                let rows: Vec<(String, String, String, String, chrono::DateTime<chrono::Utc>)> =
                    sqlx::query_as(
                        "SELECT n.id, n.author_id, u.email, n.body, n.created_at
                         FROM thread_notes n JOIN users u ON u.id = n.author_id
                         WHERE n.thread_id = $1 ORDER BY n.created_at, n.id",
                    )
                    .bind(thread.to_string())
                    .fetch_all(self.reader())
                    .await?;
                Ok(rows
                    .into_iter()
                    .map(|(id, author_id, author_email, body, created_at)| {
                        $crate::store::workspace::NoteRecord {
                            id,
                            author_id,
                            author_email,
                            body,
                            created_at,
                        }
                    })
                    .collect())
            }

            async fn review_queue(
                &self,
                limit: u32,
            ) -> Result<Vec<$crate::store::workspace::ReviewItem>, StoreError> {
                let rows: Vec<(
                    String,
                    String,
                    Option<String>,
                    String,
                    String,
                    Option<String>,
                    f64,
                    String,
                    chrono::DateTime<chrono::Utc>,
                )> = sqlx::query_as(
                    "SELECT m.id, m.thread_id, t.reference, m.body_text, c.abuse_verdict,
                            c.abuse_kind, c.abuse_score, c.reasons, m.received_at
                     FROM classifications c
                     JOIN messages m ON m.id = c.message_id
                     JOIN threads t ON t.id = m.thread_id
                     WHERE c.abuse_verdict IN ('abusive', 'to_verify')
                       AND NOT EXISTS (SELECT 1 FROM review_decisions d WHERE d.message_id = m.id)
                     ORDER BY m.received_at, m.id
                     LIMIT $1",
                )
                .bind(i64::from(limit.clamp(1, 500)))
                .fetch_all(self.reader())
                .await?;
                Ok(rows
                    .into_iter()
                    .map(
                        |(message_id, thread_id, reference, text, verdict, kind, score, reasons, received_at)| {
                            $crate::store::workspace::ReviewItem {
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

            async fn labelled_examples(
                &self,
            ) -> Result<Vec<$crate::store::workspace::LabelledExample>, StoreError> {
                let rows: Vec<(String, String, String, Option<String>, chrono::DateTime<chrono::Utc>)> =
                    sqlx::query_as(
                        "SELECT d.message_id, m.new_text, d.decision, d.kind, d.decided_at
                         FROM review_decisions d JOIN messages m ON m.id = d.message_id
                         ORDER BY d.decided_at, d.message_id",
                    )
                    .fetch_all(self.reader())
                    .await?;
                Ok(rows
                    .into_iter()
                    .map(|(message_id, text, decision, kind, decided_at)| {
                        $crate::store::workspace::LabelledExample {
                            message_id,
                            text,
                            decision,
                            kind,
                            decided_at,
                        }
                    })
                    .collect())
            }

            async fn contact_flag_history(
                &self,
                contact: models::ContactId,
            ) -> Result<Vec<$crate::store::workspace::LabelledExample>, StoreError> {
                let rows: Vec<(String, String, String, Option<String>, chrono::DateTime<chrono::Utc>)> =
                    sqlx::query_as(
                        "SELECT d.message_id, m.new_text, d.decision, d.kind, d.decided_at
                         FROM review_decisions d JOIN messages m ON m.id = d.message_id
                         WHERE m.contact_id = $1 AND d.decision = 'confirmed'
                         ORDER BY d.decided_at DESC, d.message_id",
                    )
                    .bind(contact.to_string())
                    .fetch_all(self.reader())
                    .await?;
                Ok(rows
                    .into_iter()
                    .map(|(message_id, text, decision, kind, decided_at)| {
                        $crate::store::workspace::LabelledExample {
                            message_id,
                            text,
                            decision,
                            kind,
                            decided_at,
                        }
                    })
                    .collect())
            }

            async fn topic_examples(
                &self,
            ) -> Result<Vec<$crate::store::workspace::TopicExample>, StoreError> {
                let rows: Vec<(String, Option<String>, String, chrono::DateTime<chrono::Utc>)> = sqlx::query_as(
                    "SELECT t.id,
                            (SELECT m.new_text FROM messages m
                             WHERE m.thread_id = t.id AND m.direction = 'inbound' AND m.kind = 'citizen'
                             ORDER BY m.received_at, m.id LIMIT 1),
                            t.topic, t.updated_at
                     FROM threads t
                     WHERE t.topic_source = 'agent' AND t.topic IS NOT NULL
                     ORDER BY t.updated_at, t.id",
                )
                .fetch_all(self.reader())
                .await?;
                Ok(rows
                    .into_iter()
                    .filter_map(|(thread_id, text, topic, labelled_at)| {
                        Some($crate::store::workspace::TopicExample {
                            thread_id,
                            text: text?,
                            topic,
                            labelled_at,
                        })
                    })
                    .collect())
            }
        }
    };
}

pub(super) use impl_workspace;

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
