//! Citizens as the workspace sees them: finding a contact by name, phone
//! number or email address, its details (versioned, so two agents editing
//! one citizen get a conflict), the calls and counter visits agents recorded
//! ([`ContactLogEntry`]), contacts that may be the same person, merging two
//! contacts, and links between threads of one citizen. Written once for
//! both engines, like `shared.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use models::{Channel, ChannelIdentity, ContactId, ThreadId};
use serde::Serialize;

use super::engine::{on_engine, Backend, BackendTx, Pool};
use super::rows::Text;
use super::shared::identity_parts;
use super::StoreError;

/// Most contacts one search returns.
pub const MAX_CONTACT_MATCHES: u32 = 20;

/// A contact in a list: enough to tell two citizens apart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ContactSummary {
    /// Its id.
    pub id: String,
    /// The name it gave.
    pub display_name: Option<String>,
    /// Its phone number (E.164).
    pub phone: Option<String>,
    /// One of its email addresses (the one a public form gave when the
    /// contact owns none: see `unverified`).
    pub email: Option<String>,
    /// The contact was opened by the public form: its details are what an
    /// anonymous visitor typed, never proven.
    pub unverified: bool,
    /// Its postal address.
    pub postal_address: Option<String>,
    /// Language to answer in.
    pub language: String,
    /// Bumped by every edit.
    pub version: i64,
}

/// A contact with everything known about how to reach it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContactRecord {
    /// Name, phone, address and version.
    #[serde(flatten)]
    pub summary: ContactSummary,
    /// Every identity (`email`, `phone`, `psid`, `igsid`) with its key.
    pub identities: Vec<(String, String)>,
    /// The contact that absorbed this one, once merged.
    pub merged_into: Option<String>,
    /// When it was first seen.
    pub created_at: DateTime<Utc>,
}

/// A phone call or counter visit to record.
#[derive(Debug, Clone)]
pub struct NewContactLog {
    /// Its id (also the inbound key of the message, for a request).
    pub id: String,
    /// `phone` or `counter`.
    pub channel: Channel,
    /// The citizen.
    pub contact_id: ContactId,
    /// The agent who recorded it.
    pub recorded_by: String,
    /// What was asked.
    pub text: String,
    /// The topic the agent chose.
    pub topic: Option<models::Topic>,
    /// `resolved` or `request`.
    pub outcome: &'static str,
    /// The request opened, for `request`.
    pub thread_id: Option<ThreadId>,
    /// When.
    pub at: DateTime<Utc>,
}

/// A recorded call or visit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ContactLogEntry {
    /// Its id.
    pub id: String,
    /// `phone` or `counter`.
    pub channel: String,
    /// The citizen.
    pub contact_id: String,
    /// The agent who recorded it.
    pub recorded_by: String,
    /// What was asked.
    pub request_text: String,
    /// The topic the agent chose.
    pub topic: Option<String>,
    /// `resolved` or `request`.
    pub outcome: String,
    /// The request opened.
    pub thread_id: Option<String>,
    /// Its reference.
    pub reference: Option<String>,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// Why two contacts may be one person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchReason {
    /// The same email address, given on the public form by one of them and
    /// so not verified.
    SameEmailUnverified,
    /// The same phone number.
    SamePhone,
    /// The same name and the same postal address.
    SameNameAndAddress,
    /// The same name; nothing else to compare.
    SameName,
}

/// A contact that may be the same person as another, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MergeCandidate {
    /// The other contact.
    pub contact: ContactSummary,
    /// Why it is offered.
    pub reason: MatchReason,
}

/// A thread of a contact, for the list on its page and for linking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ContactThread {
    /// Its id.
    pub id: String,
    /// Its reference.
    pub reference: Option<String>,
    /// The channel it came in on.
    pub channel: String,
    /// Its status.
    pub status: String,
    /// Its subject.
    pub subject: Option<String>,
    /// Its latest activity.
    pub last_message_at: DateTime<Utc>,
}

/// What attaching an identity to a contact found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attached {
    /// New for this contact (or already its own).
    Ours,
    /// It belongs to another contact: a merge decides, never a silent move.
    Other(ContactId),
}

/// New details of a contact; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ContactChanges {
    /// The name.
    pub display_name: Option<String>,
    /// The phone number.
    pub phone: Option<models::PhoneNumber>,
    /// The postal address.
    pub postal_address: Option<String>,
    /// The language to answer in.
    pub language: Option<models::Language>,
}

/// Reads of the workspace's contact pages.
#[async_trait]
pub trait Contacts: Send + Sync {
    /// Contacts (not merged away) whose name key contains `name_key`, whose
    /// phone is `phone`, or with an email address starting with `email`;
    /// most recently active first.
    async fn search_contacts(
        &self,
        name_key: Option<&str>,
        phone: Option<&models::PhoneNumber>,
        email: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ContactSummary>, StoreError>;

    /// One contact, or `None`.
    async fn get_contact(&self, id: ContactId) -> Result<Option<ContactRecord>, StoreError>;

    /// Contacts that may be the same person as `id`: the same phone number
    /// (on the contact or as an identity), or the same name (with the same
    /// postal address when both have one).
    async fn merge_candidates(&self, id: ContactId) -> Result<Vec<MergeCandidate>, StoreError>;

    /// The calls and visits recorded for a contact, newest first.
    async fn list_contact_log(&self, id: ContactId) -> Result<Vec<ContactLogEntry>, StoreError>;

    /// Every call and visit recorded since `since`: `(when, channel, resolved)`.
    async fn contact_log_since(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, String, bool)>, StoreError>;

    /// The request threads of a contact, newest first.
    async fn contact_threads(&self, id: ContactId) -> Result<Vec<ContactThread>, StoreError>;

    /// The threads linked to `thread`.
    async fn linked_threads(&self, thread: ThreadId) -> Result<Vec<ContactThread>, StoreError>;
}

/// Writes on contacts, inside a transaction.
#[async_trait]
pub trait ContactsTx: Send {
    /// Locks the contact for a change; its version and the contact that
    /// absorbed it, or `None` when it does not exist.
    async fn lock_contact(
        &mut self,
        id: ContactId,
    ) -> Result<Option<(i64, Option<String>)>, StoreError>;

    /// Writes new details if the contact is still at `version`; false when
    /// someone changed it since.
    async fn update_contact(
        &mut self,
        id: ContactId,
        version: i64,
        changes: &ContactChanges,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Gives the contact this identity, unless another contact has it.
    async fn attach_identity(
        &mut self,
        id: ContactId,
        identity: &ChannelIdentity,
        at: DateTime<Utc>,
    ) -> Result<Attached, StoreError>;

    /// Records a call or visit.
    async fn insert_contact_log(&mut self, entry: &NewContactLog) -> Result<(), StoreError>;

    /// Sets the topic (chosen by an agent) and the department of a thread
    /// just opened.
    async fn set_opening_topic(
        &mut self,
        thread: ThreadId,
        topic: models::Topic,
        department: Option<&str>,
    ) -> Result<(), StoreError>;

    /// Moves everything of `from` (identities, threads, messages, recorded
    /// contacts, refusals) to `into`, fills `into`'s missing details from
    /// `from` unless `from` was opened by the public form and proved
    /// nothing, and marks `from` as merged into it.
    async fn merge_contacts(
        &mut self,
        from: ContactId,
        into: ContactId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// The contact of a thread, or `None` when the thread does not exist.
    async fn thread_contact(&mut self, thread: ThreadId) -> Result<Option<ContactId>, StoreError>;

    /// Links two threads; false when they were linked already.
    async fn link_threads(
        &mut self,
        a: ThreadId,
        b: ThreadId,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
}

/// The columns of a [`ContactSummary`] from `contacts c`.
const CONTACT_COLUMNS: &str =
    "c.id, c.display_name, c.phone, c.postal_address, c.language, c.version,
     COALESCE((SELECT MIN(i.key) FROM contact_identities i WHERE i.contact_id = c.id AND i.kind = 'email'),
              c.unverified_email) AS email,
     (c.unverified_email IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM contact_identities i WHERE i.contact_id = c.id)) AS unverified";

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
pub(super) fn like_escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// The contacts (not merged away, other than `id`) matching `condition`, a
/// test on `c` with `$2` bound to `value`.
async fn other_contacts(
    pool: Pool<'_>,
    id: ContactId,
    condition: &str,
    value: &str,
) -> Result<Vec<ContactSummary>, StoreError> {
    let sql = format!(
        "SELECT {CONTACT_COLUMNS} FROM contacts c
         WHERE c.merged_into IS NULL AND c.id <> $1 AND ({condition})
         ORDER BY c.id LIMIT 20"
    );
    Ok(on_engine!(pool, |c| sqlx::query_as(&sql)
        .bind(Text(id))
        .bind(value)
        .fetch_all(c)
        .await?))
}

/// Other contacts with the email address `address`, verified or not.
async fn contacts_with_email(
    pool: Pool<'_>,
    id: ContactId,
    address: &str,
) -> Result<Vec<ContactSummary>, StoreError> {
    other_contacts(
        pool,
        id,
        "c.unverified_email = $2
         OR c.id IN (SELECT contact_id FROM contact_identities
                     WHERE kind = 'email' AND key = $2)",
        address,
    )
    .await
}

/// Other contacts with the phone number `number`, on the contact or as an
/// identity.
async fn contacts_with_phone(
    pool: Pool<'_>,
    id: ContactId,
    number: &str,
) -> Result<Vec<ContactSummary>, StoreError> {
    other_contacts(
        pool,
        id,
        "c.phone = $2
         OR c.id IN (SELECT contact_id FROM contact_identities
                     WHERE kind = 'phone' AND key = $2)",
        number,
    )
    .await
}

/// Other contacts whose folded name is `name_key`.
async fn contacts_with_name(
    pool: Pool<'_>,
    id: ContactId,
    name_key: &str,
) -> Result<Vec<ContactSummary>, StoreError> {
    other_contacts(pool, id, "c.name_key = $2", name_key).await
}

/// A contact's name key, phone and postal address, or `None`.
async fn contact_match_keys(
    pool: Pool<'_>,
    id: ContactId,
) -> Result<Option<(Option<String>, Option<String>, Option<String>)>, StoreError> {
    Ok(on_engine!(pool, |c| sqlx::query_as(
        "SELECT name_key, phone, postal_address FROM contacts WHERE id = $1",
    )
    .bind(Text(id))
    .fetch_optional(c)
    .await?))
}

/// A contact's identities of one kind (`phone`, `email`), as keys.
async fn identity_keys(
    pool: Pool<'_>,
    id: ContactId,
    kind: &str,
) -> Result<Vec<String>, StoreError> {
    Ok(on_engine!(pool, |c| sqlx::query_scalar(
        "SELECT key FROM contact_identities WHERE contact_id = $1 AND kind = $2",
    )
    .bind(Text(id))
    .bind(kind)
    .fetch_all(c)
    .await?))
}

/// A contact's email addresses: its identities and the unproven one a
/// public form gave.
async fn contact_emails(pool: Pool<'_>, id: ContactId) -> Result<Vec<String>, StoreError> {
    Ok(on_engine!(pool, |c| sqlx::query_scalar(
        "SELECT key FROM contact_identities WHERE contact_id = $1 AND kind = 'email'
         UNION SELECT unverified_email FROM contacts
         WHERE id = $1 AND unverified_email IS NOT NULL",
    )
    .bind(Text(id))
    .fetch_all(c)
    .await?))
}

#[async_trait]
impl<B: Backend> Contacts for B {
    #[tracing::instrument(skip_all)]
    async fn search_contacts(
        &self,
        name_key: Option<&str>,
        phone: Option<&models::PhoneNumber>,
        email: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ContactSummary>, StoreError> {
        let sql = format!(
            "SELECT {CONTACT_COLUMNS} FROM contacts c
             WHERE c.merged_into IS NULL
               AND (c.name_key LIKE $1 ESCAPE '\\'
                    OR c.phone = $2
                    OR c.unverified_email LIKE $3 ESCAPE '\\'
                    OR c.id IN (SELECT contact_id FROM contact_identities
                                WHERE (kind = 'phone' AND key = $2)
                                   OR (kind = 'email' AND key LIKE $3 ESCAPE '\\')))
             ORDER BY c.updated_at DESC, c.id LIMIT {}",
            limit.clamp(1, MAX_CONTACT_MATCHES)
        );
        let name = name_key.map(|k| format!("%{}%", like_escape(k)));
        let email = email.map(|e| format!("{}%", like_escape(&e.to_lowercase())));
        Ok(on_engine!(self.reader(), |c| sqlx::query_as(&sql)
            .bind(name.as_deref())
            .bind(phone.map(AsRef::<str>::as_ref))
            .bind(email.as_deref())
            .fetch_all(c)
            .await?))
    }

    #[tracing::instrument(skip_all, fields(contact_id = %id))]
    async fn get_contact(&self, id: ContactId) -> Result<Option<ContactRecord>, StoreError> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            summary: ContactSummary,
            merged_into: Option<String>,
            created_at: DateTime<Utc>,
        }
        let sql = format!(
            "SELECT {CONTACT_COLUMNS}, c.merged_into, c.created_at FROM contacts c WHERE c.id = $1"
        );
        let row: Option<Row> = on_engine!(self.reader(), |c| sqlx::query_as(&sql)
            .bind(Text(id))
            .fetch_optional(c)
            .await?);
        let Some(row) = row else {
            return Ok(None);
        };
        let identities: Vec<(String, String)> = on_engine!(self.reader(), |c| sqlx::query_as(
            "SELECT kind, key FROM contact_identities WHERE contact_id = $1 ORDER BY kind, key",
        )
        .bind(Text(id))
        .fetch_all(c)
        .await?);
        Ok(Some(ContactRecord {
            summary: row.summary,
            identities,
            merged_into: row.merged_into,
            created_at: row.created_at,
        }))
    }

    #[tracing::instrument(skip_all, fields(contact_id = %id))]
    async fn merge_candidates(&self, id: ContactId) -> Result<Vec<MergeCandidate>, StoreError> {
        let pool = self.reader();
        let Some((name_key, phone, address)) = contact_match_keys(pool, id).await? else {
            return Ok(Vec::new());
        };
        let mut phones = identity_keys(pool, id, "phone").await?;
        phones.extend(phone);
        let mut out: Vec<MergeCandidate> = Vec::new();
        // The same address on both sides, one of them given on the
        // public form: the agent decides whether it is one person.
        for address in &contact_emails(pool, id).await? {
            for row in contacts_with_email(pool, id, address).await? {
                if !out.iter().any(|c| c.contact.id == row.id) {
                    out.push(MergeCandidate {
                        contact: row,
                        reason: MatchReason::SameEmailUnverified,
                    });
                }
            }
        }
        for number in &phones {
            for row in contacts_with_phone(pool, id, number).await? {
                if !out.iter().any(|c| c.contact.id == row.id) {
                    out.push(MergeCandidate {
                        contact: row,
                        reason: MatchReason::SamePhone,
                    });
                }
            }
        }
        if let Some(key) = name_key {
            let fold = |a: &str| models::name::name_key(a);
            for row in contacts_with_name(pool, id, &key).await? {
                if out.iter().any(|c| c.contact.id == row.id) {
                    continue;
                }
                let reason = match (address.as_deref(), row.postal_address.as_deref()) {
                    (Some(a), Some(b)) if fold(a) == fold(b) => MatchReason::SameNameAndAddress,
                    // Two known addresses that differ: two people
                    // who share a name.
                    (Some(_), Some(_)) => continue,
                    _ => MatchReason::SameName,
                };
                out.push(MergeCandidate {
                    contact: row,
                    reason,
                });
            }
        }
        Ok(out)
    }

    #[tracing::instrument(skip_all, fields(contact_id = %id))]
    async fn list_contact_log(&self, id: ContactId) -> Result<Vec<ContactLogEntry>, StoreError> {
        Ok(on_engine!(self.reader(), |c| sqlx::query_as(
            "SELECT l.id, l.channel, l.contact_id, l.recorded_by, l.request_text, l.topic,
                    l.outcome, l.thread_id, t.reference, l.created_at
             FROM contact_log l LEFT JOIN threads t ON t.id = l.thread_id
             WHERE l.contact_id = $1 ORDER BY l.created_at DESC, l.id DESC LIMIT 200",
        )
        .bind(Text(id))
        .fetch_all(c)
        .await?))
    }

    #[tracing::instrument(skip_all)]
    async fn contact_log_since(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, String, bool)>, StoreError> {
        let rows: Vec<(DateTime<Utc>, String, String)> = on_engine!(self.reader(), |c| {
            sqlx::query_as(
                "SELECT created_at, channel, outcome FROM contact_log
                 WHERE created_at >= $1 ORDER BY created_at",
            )
            .bind(since)
            .fetch_all(c)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|(at, channel, outcome)| (at, channel, outcome == "resolved"))
            .collect())
    }

    #[tracing::instrument(skip_all, fields(contact_id = %id))]
    async fn contact_threads(&self, id: ContactId) -> Result<Vec<ContactThread>, StoreError> {
        Ok(on_engine!(self.reader(), |c| sqlx::query_as(
            "SELECT id, reference, channel, status, subject, last_message_at FROM threads
             WHERE contact_id = $1 AND category = 'request'
             ORDER BY last_message_at DESC, id DESC LIMIT 200",
        )
        .bind(Text(id))
        .fetch_all(c)
        .await?))
    }

    #[tracing::instrument(skip_all, fields(thread_id = %thread))]
    async fn linked_threads(&self, thread: ThreadId) -> Result<Vec<ContactThread>, StoreError> {
        Ok(on_engine!(self.reader(), |c| sqlx::query_as(
            "SELECT t.id, t.reference, t.channel, t.status, t.subject, t.last_message_at
             FROM threads t
             WHERE t.id IN (SELECT thread_b FROM thread_links WHERE thread_a = $1
                            UNION SELECT thread_a FROM thread_links WHERE thread_b = $1)
             ORDER BY t.last_message_at DESC, t.id DESC",
        )
        .bind(Text(thread))
        .fetch_all(c)
        .await?))
    }
}

#[async_trait]
impl<T: BackendTx> ContactsTx for T {
    #[tracing::instrument(skip_all, fields(contact_id = %id))]
    async fn lock_contact(
        &mut self,
        id: ContactId,
    ) -> Result<Option<(i64, Option<String>)>, StoreError> {
        // A no-op update takes the row lock on PostgreSQL; SQLite's
        // single writer already serialises the transaction.
        Ok(on_engine!(self.conn(), |c| sqlx::query_as(
            "UPDATE contacts SET version = version WHERE id = $1
             RETURNING version, merged_into",
        )
        .bind(Text(id))
        .fetch_optional(c)
        .await?))
    }

    #[tracing::instrument(skip_all, fields(contact_id = %id))]
    async fn update_contact(
        &mut self,
        id: ContactId,
        version: i64,
        changes: &ContactChanges,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let name_key = changes
            .display_name
            .as_deref()
            .and_then(models::name::name_key);
        let changed = on_engine!(self.conn(), |c| sqlx::query(
            "UPDATE contacts
             SET display_name = COALESCE($3, display_name),
                 name_key = CASE WHEN $3 IS NULL THEN name_key ELSE $4 END,
                 phone = COALESCE($5, phone),
                 postal_address = COALESCE($6, postal_address),
                 language = COALESCE($7, language),
                 updated_at = $8,
                 version = version + 1
             WHERE id = $1 AND version = $2 AND merged_into IS NULL",
        )
        .bind(Text(id))
        .bind(version)
        .bind(changes.display_name.as_deref())
        .bind(name_key.as_deref())
        .bind(changes.phone.as_ref().map(AsRef::<str>::as_ref))
        .bind(changes.postal_address.as_deref())
        .bind(changes.language.map(|l| l.as_str()))
        .bind(at)
        .execute(c)
        .await?
        .rows_affected());
        Ok(changed == 1)
    }

    #[tracing::instrument(skip_all, fields(contact_id = %id))]
    async fn attach_identity(
        &mut self,
        id: ContactId,
        identity: &ChannelIdentity,
        at: DateTime<Utc>,
    ) -> Result<Attached, StoreError> {
        let (kind, key) = identity_parts(identity);
        on_engine!(self.conn(), |c| sqlx::query(
            "INSERT INTO contact_identities (kind, key, contact_id, created_at)
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(kind)
        .bind(&key)
        .bind(Text(id))
        .bind(at)
        .execute(c)
        .await?
        .rows_affected());
        let owner: String = on_engine!(self.conn(), |c| sqlx::query_scalar(
            "SELECT contact_id FROM contact_identities WHERE kind = $1 AND key = $2",
        )
        .bind(kind)
        .bind(&key)
        .fetch_one(c)
        .await?);
        let owner = ContactId::parse(&owner).map_err(|e| StoreError::corrupt("contact id", e))?;
        Ok(if owner == id {
            Attached::Ours
        } else {
            Attached::Other(owner)
        })
    }

    #[tracing::instrument(skip_all, fields(contact_id = %entry.contact_id))]
    async fn insert_contact_log(&mut self, entry: &NewContactLog) -> Result<(), StoreError> {
        on_engine!(self.conn(), |c| sqlx::query(
            "INSERT INTO contact_log
                 (id, channel, contact_id, recorded_by, request_text, topic, outcome,
                  thread_id, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&entry.id)
        .bind(entry.channel.as_str())
        .bind(Text(entry.contact_id))
        .bind(&entry.recorded_by)
        .bind(&entry.text)
        .bind(entry.topic.map(|t| t.as_str()))
        .bind(entry.outcome)
        .bind(entry.thread_id.map(Text))
        .bind(entry.at)
        .execute(c)
        .await?
        .rows_affected());
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(thread_id = %thread))]
    async fn set_opening_topic(
        &mut self,
        thread: ThreadId,
        topic: models::Topic,
        department: Option<&str>,
    ) -> Result<(), StoreError> {
        on_engine!(self.conn(), |c| sqlx::query(
            "UPDATE threads SET topic = $2, topic_source = 'agent',
                 department = COALESCE($3, department)
             WHERE id = $1",
        )
        .bind(Text(thread))
        .bind(topic.as_str())
        .bind(department)
        .execute(c)
        .await?
        .rows_affected());
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(from = %from, into = %into))]
    async fn merge_contacts(
        &mut self,
        from: ContactId,
        into: ContactId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        // Details fill the gaps of `into` only when `from` proved who it is:
        // what a visitor typed on the public form is never carried over (the
        // agent copies it by hand once checked). Read before the identities
        // move.
        let from_detail = |column: &str| {
            format!(
                "(SELECT f.{column} FROM contacts f WHERE f.id = $1
                  AND (f.unverified_email IS NULL
                       OR EXISTS (SELECT 1 FROM contact_identities i WHERE i.contact_id = f.id)))"
            )
        };
        let fill = format!(
            "UPDATE contacts SET
                 display_name = COALESCE(display_name, {}),
                 name_key = COALESCE(name_key, {}),
                 phone = COALESCE(phone, {}),
                 postal_address = COALESCE(postal_address, {}),
                 updated_at = $3, version = version + 1
             WHERE id = $2",
            from_detail("display_name"),
            from_detail("name_key"),
            from_detail("phone"),
            from_detail("postal_address"),
        );
        on_engine!(self.conn(), |c| sqlx::query(&fill)
            .bind(Text(from))
            .bind(Text(into))
            .bind(at)
            .execute(c)
            .await?
            .rows_affected());
        for sql in [
            "UPDATE contact_identities SET contact_id = $2 WHERE contact_id = $1",
            "UPDATE threads SET contact_id = $2 WHERE contact_id = $1",
            "UPDATE messages SET contact_id = $2 WHERE contact_id = $1",
            "UPDATE contact_log SET contact_id = $2 WHERE contact_id = $1",
            "UPDATE service_refusals SET contact_id = $2 WHERE contact_id = $1",
        ] {
            on_engine!(self.conn(), |c| sqlx::query(sql)
                .bind(Text(from))
                .bind(Text(into))
                .execute(c)
                .await?
                .rows_affected());
        }
        on_engine!(self.conn(), |c| sqlx::query(
            "UPDATE contacts SET merged_into = $2, updated_at = $3, version = version + 1
             WHERE id = $1",
        )
        .bind(Text(from))
        .bind(Text(into))
        .bind(at)
        .execute(c)
        .await?
        .rows_affected());
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(thread_id = %thread))]
    async fn thread_contact(&mut self, thread: ThreadId) -> Result<Option<ContactId>, StoreError> {
        let id: Option<String> = on_engine!(self.conn(), |c| sqlx::query_scalar(
            "SELECT contact_id FROM threads WHERE id = $1"
        )
        .bind(Text(thread))
        .fetch_optional(c)
        .await?);
        id.map(|id| ContactId::parse(&id).map_err(|e| StoreError::corrupt("contact id", e)))
            .transpose()
    }

    #[tracing::instrument(skip_all, fields(a = %a, b = %b))]
    async fn link_threads(
        &mut self,
        a: ThreadId,
        b: ThreadId,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        // Stored in text order, so a pair is one row whichever way it was
        // linked; a UUID's order is its lower-case hyphenated text's order.
        let (a, b) = if a < b { (a, b) } else { (b, a) };
        let added = on_engine!(self.conn(), |c| sqlx::query(
            "INSERT INTO thread_links (thread_a, thread_b, linked_by, created_at)
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(Text(a))
        .bind(Text(b))
        .bind(by)
        .bind(at)
        .execute(c)
        .await?
        .rows_affected());
        Ok(added == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_match_what_was_typed_literally() {
        assert_eq!(like_escape("50%_a\\b"), "50\\%\\_a\\\\b");
        assert_eq!(like_escape("tremblay"), "tremblay");
    }

    #[test]
    fn thread_ids_order_as_their_text_does() {
        let ids = [
            "00000000-0000-7000-8000-00000000000a",
            "00000000-0000-7000-8000-000000000009",
            "f0000000-0000-7000-8000-000000000000",
            "10000000-0000-7000-8000-000000000000",
        ]
        .map(|text| ThreadId::parse(text).unwrap());
        for a in ids {
            for b in ids {
                assert_eq!(a < b, a.to_string() < b.to_string(), "{a} against {b}");
            }
        }
    }
}
