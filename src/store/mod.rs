//! Persistence: one [`Store`] trait with a SQLite and a PostgreSQL
//! implementation, both compiled into every binary and chosen at startup from
//! the database URL scheme.
//!
//! Write paths that must be atomic go through a [`StoreTx`]: the ingest
//! pipeline's rules are written once (in `ingest`) over these primitives, and
//! each backend only supplies its SQL. Nothing outside this module sees a row
//! struct or a driver type.
//!
//! # How the SQL is laid out
//!
//! Each trait is implemented once, in an ordinary `impl` over the engine
//! handle of `engine.rs` (`shared.rs`: [`Store`] and [`StoreTx`];
//! `workspace.rs`; `contacts.rs`). A method holds its SQL as a plain
//! literal and runs it with `on_engine!(pool, |c| …)`, a five-line macro
//! that repeats the body for the SQLite and the PostgreSQL arm of a small
//! enum of pools and connections. sqlx's types differ per engine, the code
//! does not, so an editor, a reviewer and `#[instrument]` see ordinary
//! functions. Generic functions over `sqlx::Database` were the other way;
//! every bound type (`&str`, `DateTime<Utc>`, `Option<…>`, each row) then
//! needs its `Encode`/`Decode`/`Type` bounds spelled out on every function,
//! which buries the SQL. The statements that differ (queue claims with
//! `FOR UPDATE SKIP LOCKED`, advisory locks, the mailbox lock, full-text
//! search, migrations) are functions in `sqlite.rs` and `postgres.rs`,
//! chosen by matching the pool's arm.
//!
//! Ids and reference numbers are bound through `rows::Text`, which encodes
//! them as the text their columns hold; `models` stays free of sqlx.

pub mod contacts;
mod engine;
pub mod postgres;
mod rows;
mod shared;
pub mod sqlite;
pub mod workspace;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use models::{
    Attachment, Channel, ChannelIdentity, Classification, ContactId, Language, MessageId,
    MessageKind, OutboundKind, OutboxId, OutboxState, ReferenceNumber, ReferencePrefix,
    RfcMessageId, ThreadId, ThreadStatus,
};
use serde::{Deserialize, Serialize};

/// What went wrong in the store, phrased for the caller's next step.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row does not exist.
    #[error("not found")]
    NotFound,
    /// A unique constraint refused the write.
    #[error("conflict on {constraint}")]
    Conflict {
        /// The constraint (or table) that refused it.
        constraint: String,
    },
    /// The database cannot be reached or the pool timed out: retry later.
    #[error("database unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// Anything else: a bug or a corrupt row.
    #[error("internal store error")]
    Internal(#[source] anyhow::Error),
}

impl StoreError {
    /// Wraps a value read back from the store that no longer parses.
    pub fn corrupt(what: &str, err: impl std::fmt::Display) -> Self {
        StoreError::Internal(anyhow::anyhow!("Corrupt {what} in store: {err}"))
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        match err {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                StoreError::Unavailable(err.into())
            }
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict {
                constraint: db
                    .constraint()
                    .or_else(|| db.table())
                    .map_or_else(|| db.message().to_owned(), ToOwned::to_owned),
            },
            // SQLite reports a busy database (lock timeout) as code 5.
            sqlx::Error::Database(db) if db.code().as_deref() == Some("5") => {
                StoreError::Unavailable(anyhow::Error::msg(db.message().to_owned()))
            }
            other => StoreError::Internal(other.into()),
        }
    }
}

/// Which engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// Embedded SQLite file.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

/// Where a thread is, as the ingest rules need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadSummary {
    /// The thread.
    pub id: ThreadId,
    /// Its citizen.
    pub contact_id: ContactId,
    /// Its reference number, when it is a request.
    pub reference: Option<ReferenceNumber>,
    /// Its queue status.
    pub status: ThreadStatus,
    /// The channel it started on.
    pub channel: Channel,
}

models::slug_enum! {
    /// What kind of thread this is.
    pub enum ThreadCategory("thread category") {
        /// A citizen request, with a reference number.
        Request => "request",
        /// Automatic mail that matched no request (lists, stray auto-replies).
        Automatic => "automatic",
        /// Caught by an anti-spam rule.
        Spam => "spam",
    }
}

/// A new contact and its first identity.
#[derive(Debug, Clone)]
pub struct NewContact {
    /// The new id.
    pub id: ContactId,
    /// Name as given.
    pub display_name: Option<String>,
    /// Language to answer in.
    pub language: Language,
    /// Phone as given.
    pub phone: Option<models::PhoneNumber>,
    /// The identity it was found by; `None` for a contact that owns no
    /// identity (one opened by the public form).
    pub identity: Option<ChannelIdentity>,
    /// The email address a public form gave, never proven: kept on the
    /// contact for the agent and for merge suggestions, never looked up as
    /// an identity.
    pub unverified_email: Option<String>,
    /// Creation time.
    pub at: DateTime<Utc>,
}

/// A new thread.
#[derive(Debug, Clone)]
pub struct NewThread {
    /// The new id.
    pub id: ThreadId,
    /// Its reference, for requests.
    pub reference: Option<ReferenceNumber>,
    /// Its citizen.
    pub contact_id: ContactId,
    /// First channel.
    pub channel: Channel,
    /// Request, automatic or spam.
    pub category: ThreadCategory,
    /// Subject of the first message.
    pub subject: Option<String>,
    /// Initial status.
    pub status: ThreadStatus,
    /// Language of the first message.
    pub language: Language,
    /// When the citizen wrote, for a thread opened by a citizen's message
    /// (chat reply windows are counted from it).
    pub last_citizen_message_at: Option<DateTime<Utc>>,
    /// When it must be answered, for a request awaiting an agent.
    pub due_at: Option<DateTime<Utc>>,
    /// Creation time.
    pub at: DateTime<Utc>,
}

/// A new inbound message with its attachments.
#[derive(Debug, Clone)]
pub struct NewInboundMessage<'a> {
    /// The new id.
    pub id: MessageId,
    /// Its thread.
    pub thread_id: ThreadId,
    /// Its author.
    pub contact_id: ContactId,
    /// The normalised message.
    pub message: &'a models::InboundMessage,
    /// Storage time.
    pub at: DateTime<Utc>,
    /// Queue it for the classifier.
    pub classify: bool,
}

/// A delivery to queue in the outbox.
#[derive(Debug, Clone)]
pub struct NewOutbox {
    /// Stable id, recorded before any attempt.
    pub id: OutboxId,
    /// The thread it belongs to.
    pub thread_id: ThreadId,
    /// The message that caused it (the citizen's message for an acknowledgement).
    pub cause_message_id: Option<MessageId>,
    /// Channel to deliver on.
    pub channel: Channel,
    /// Why it is sent.
    pub kind: OutboundKind,
    /// Who receives it.
    pub recipient: ChannelIdentity,
    /// Language of the text.
    pub language: Language,
    /// Stable Message-ID (email).
    pub rfc_message_id: Option<RfcMessageId>,
    /// What the composer needs.
    pub payload: OutboxPayload,
    /// `Pending`, or `WaitingChannel` when the channel has no connector yet.
    pub state: OutboxState,
    /// Attempts before giving up.
    pub max_attempts: u32,
    /// Queue time.
    pub at: DateTime<Utc>,
}

/// What the composer needs to render an outbound message; stored as JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OutboxPayload {
    /// The request's reference.
    pub reference: Option<ReferenceNumber>,
    /// The citizen's name.
    pub recipient_name: Option<String>,
    /// Subject of the citizen's message.
    pub subject: Option<String>,
    /// When the citizen wrote: the acknowledgement speaks of the office
    /// hours at that instant, so a retry renders the same text.
    pub received_at: Option<DateTime<Utc>>,
    /// Text written by an agent (replies).
    pub body: Option<String>,
    /// The Message-ID being answered.
    pub in_reply_to: Option<RfcMessageId>,
    /// The citizen is under a refusal of service: the acknowledgement says
    /// what the city wrote for that case.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub refusal: bool,
}

/// A claimed outbox row, ready for an attempt.
#[derive(Debug, Clone)]
pub struct OutboxJob {
    /// The row.
    pub id: OutboxId,
    /// Its thread.
    pub thread_id: ThreadId,
    /// Channel to deliver on.
    pub channel: Channel,
    /// Why it is sent.
    pub kind: OutboundKind,
    /// Who receives it.
    pub recipient: ChannelIdentity,
    /// Language of the text.
    pub language: Language,
    /// Stable Message-ID (email).
    pub rfc_message_id: Option<RfcMessageId>,
    /// What the composer needs.
    pub payload: OutboxPayload,
    /// This attempt's number, from 1.
    pub attempt: u32,
    /// Attempts allowed.
    pub max_attempts: u32,
    /// When the citizen last wrote in the thread.
    pub last_citizen_message_at: Option<DateTime<Utc>>,
}

/// An outbox row as agents and operators see it.
#[derive(Debug, Clone, Serialize)]
pub struct OutboxRecord {
    /// The row.
    pub id: OutboxId,
    /// Its thread.
    pub thread_id: ThreadId,
    /// Channel.
    pub channel: Channel,
    /// Why it is sent.
    pub kind: OutboundKind,
    /// Delivery state.
    pub state: OutboxState,
    /// Attempts made.
    pub attempts: u32,
    /// The last error, for the agent.
    pub last_error: Option<String>,
    /// The provider's id once sent.
    pub provider_message_id: Option<String>,
    /// Queue time.
    pub created_at: DateTime<Utc>,
    /// Delivery time.
    pub sent_at: Option<DateTime<Utc>>,
    /// The outbound message recording what was sent, once sent.
    pub sent_message_id: Option<MessageId>,
}

/// The text that actually went out, recorded as an outbound message.
#[derive(Debug, Clone)]
pub struct SentMessage {
    /// Subject, if any.
    pub subject: Option<String>,
    /// Plain text body.
    pub text: String,
    /// Provider id.
    pub provider_message_id: Option<String>,
}

/// A message waiting for the classifier.
#[derive(Debug, Clone)]
pub struct ClassifyJob {
    /// The message.
    pub message_id: MessageId,
    /// Subject, if any.
    pub subject: Option<String>,
    /// The citizen's new words.
    pub text: String,
    /// Detected language.
    pub language: Language,
}

/// A thread as listed for agents.
#[derive(Debug, Clone, Serialize)]
pub struct ThreadRecord {
    /// The thread.
    pub id: ThreadId,
    /// Reference, for requests.
    pub reference: Option<ReferenceNumber>,
    /// Citizen.
    pub contact_id: ContactId,
    /// First channel.
    pub channel: Channel,
    /// Request, automatic or spam.
    pub category: ThreadCategory,
    /// Subject.
    pub subject: Option<String>,
    /// Queue status.
    pub status: ThreadStatus,
    /// Classifier's or agent's topic.
    pub topic: Option<models::Topic>,
    /// Department it is handled by.
    pub department: Option<String>,
    /// Whether a message is flagged for review.
    pub flagged: bool,
    /// Language to answer in.
    pub language: Language,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last activity.
    pub last_message_at: DateTime<Utc>,
    /// When the citizen last wrote (chat reply windows count from it).
    pub last_citizen_message_at: Option<DateTime<Utc>>,
    /// The agent it is assigned to, when it is.
    pub assignee_id: Option<String>,
    /// When it must be answered (`None`: nothing is due).
    pub due_at: Option<DateTime<Utc>>,
    /// Bumped by every change: a write names the version it read, and a
    /// stale one is refused instead of silently overwriting a colleague.
    pub version: i64,
}

/// Direction of a stored message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// From the citizen (or an automaton on their channel).
    Inbound,
    /// From us.
    Outbound,
}

/// Most messages in one page of a thread.
pub const MAX_MESSAGE_PAGE: u32 = 500;

/// A position in a list ordered by time then id (the inbox, a thread's
/// messages): the next page starts after, or before, it. Written `MICROS~ID`
/// in a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// The time of the last item shown.
    pub at: DateTime<Utc>,
    /// Its id, to break ties.
    pub id: String,
}

impl Cursor {
    /// `MICROS~ID`, for a URL.
    pub fn encode(&self) -> String {
        format!("{}~{}", self.at.timestamp_micros(), self.id)
    }

    /// Reads [`Cursor::encode`]'s text whose id `is_id` accepts; `None`
    /// when malformed.
    pub fn decode(text: &str, is_id: impl Fn(&str) -> bool) -> Option<Self> {
        let (micros, id) = text.split_once('~')?;
        let at = DateTime::from_timestamp_micros(micros.parse().ok()?)?;
        is_id(id).then(|| Self {
            at,
            id: id.to_owned(),
        })
    }
}

/// A page of a thread's messages.
#[derive(Debug, Clone)]
pub struct MessagePage {
    /// Oldest first.
    pub messages: Vec<MessageRecord>,
    /// The cursor for the page of older messages, when there are some.
    pub older: Option<Cursor>,
}

/// A stored attachment's metadata, with the id its bytes are read by.
#[derive(Debug, Clone, Serialize)]
pub struct StoredAttachment {
    /// Its row.
    pub id: String,
    /// What came with the message (the bytes are not loaded).
    #[serde(flatten)]
    pub attachment: Attachment,
}

impl std::ops::Deref for StoredAttachment {
    type Target = Attachment;
    fn deref(&self) -> &Attachment {
        &self.attachment
    }
}

/// An attachment's bytes, as a staff member downloads them.
#[derive(Debug, Clone)]
pub struct AttachmentFile {
    /// File name as the sender gave it.
    pub filename: Option<String>,
    /// MIME type as the sender declared it.
    pub content_type: String,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// A stored message as agents see it.
#[derive(Debug, Clone, Serialize)]
pub struct MessageRecord {
    /// The message.
    pub id: MessageId,
    /// Its thread.
    pub thread_id: ThreadId,
    /// In or out.
    pub direction: Direction,
    /// Channel.
    pub channel: Channel,
    /// Citizen or automatic (inbound messages).
    pub kind: Option<MessageKind>,
    /// Why we sent it (outbound messages).
    pub outbound_kind: Option<OutboundKind>,
    /// Sender's name.
    pub sender_name: Option<String>,
    /// Subject.
    pub subject: Option<String>,
    /// Full text.
    pub body_text: String,
    /// New words only.
    pub new_text: String,
    /// Language.
    pub language: Language,
    /// When received or sent.
    pub received_at: DateTime<Utc>,
    /// When the citizen unsent it, if they did (the text is kept for the record).
    pub deleted_at: Option<DateTime<Utc>>,
    /// Attachments' metadata.
    pub attachments: Vec<StoredAttachment>,
    /// The classifier's result, once there is one.
    pub classification: Option<Classification>,
}

/// A webhook body waiting to be processed.
#[derive(Debug, Clone)]
pub struct StoredWebhook {
    /// Its row.
    pub id: String,
    /// Which provider sent it (`meta`).
    pub source: String,
    /// The raw body, exactly as received and signed.
    pub body: Vec<u8>,
    /// Processing attempts so far, this one included.
    pub attempts: u32,
}

/// A saved answer to an idempotent request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedResponse {
    /// Hash of the request that produced it.
    pub fingerprint: String,
    /// HTTP status.
    pub status: u16,
    /// Body.
    pub body: String,
}

/// Where an IMAP mailbox was read up to: the folder's UIDVALIDITY and the
/// highest UID committed under it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailboxPosition {
    /// The folder's UIDVALIDITY when `last_uid` was read.
    pub uid_validity: u32,
    /// Highest UID whose message (or quarantine record) is committed.
    pub last_uid: u32,
}

/// A raw email that could not be read as a message, kept for an agent.
#[derive(Debug, Clone)]
pub struct NewQuarantinedMail<'a> {
    /// Mailbox label (`clientele`).
    pub mailbox: &'a str,
    /// Where it was in the folder.
    pub position: MailboxPosition,
    /// Why it was set aside, in words an agent can act on.
    pub reason: &'a str,
    /// Size of the raw message.
    pub size_bytes: u64,
    /// The raw bytes, when small enough to keep.
    pub raw: Option<&'a [u8]>,
    /// When the gateway read it.
    pub at: DateTime<Utc>,
}

/// A quarantined email as an agent sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarantinedMail {
    /// Its row.
    pub id: String,
    /// Mailbox label.
    pub mailbox: String,
    /// Its UID in the folder.
    pub uid: u32,
    /// Why it was set aside.
    pub reason: String,
    /// Size of the raw message.
    pub size_bytes: u64,
    /// Whether the raw bytes were kept.
    pub raw_kept: bool,
}

/// A condition an administrator must act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alarm {
    /// What raised it (a channel: `messenger`, `email`…).
    pub source: String,
    /// What kind of condition (`credentials_refused`).
    pub kind: String,
    /// The latest description, without secrets.
    pub message: String,
    /// How many times it was raised.
    pub occurrences: u64,
    /// First time raised.
    pub first_raised_at: DateTime<Utc>,
    /// Latest time raised.
    pub last_raised_at: DateTime<Utc>,
    /// When it was cleared; `None` while active.
    pub cleared_at: Option<DateTime<Utc>>,
}

/// One entry of the append-only audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// When.
    pub at: DateTime<Utc>,
    /// Who: `user:ID`, `citizen:CHANNEL`, `system`.
    pub actor: String,
    /// What, as `noun.verb` (`message.unsent`).
    pub action: String,
    /// On what: `KIND:ID` (`message:…`).
    pub subject: String,
    /// The state before, as JSON, when there was one.
    pub before: Option<String>,
    /// The state after, as JSON.
    pub after: Option<String>,
}

/// Whom an agent's reply goes to: the citizen's latest message in a thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyTarget {
    /// The citizen's identity on that channel.
    pub identity: ChannelIdentity,
    /// The channel the message came in on.
    pub channel: Channel,
    /// Its Message-ID (email), for In-Reply-To.
    pub rfc_message_id: Option<RfcMessageId>,
    /// Its language.
    pub language: Language,
    /// The citizen's name, when known.
    pub name: Option<String>,
}

/// The right to read one mailbox, held by one process at a time: an
/// advisory lock on a dedicated connection (PostgreSQL) or a lease row
/// (SQLite). Dropping it releases the lock (the lease simply runs out).
#[async_trait]
pub trait MailboxLock: Send {
    /// Confirms the lock is still held and extends it; `false` when it was
    /// lost (connection gone, lease taken over): the caller stops reading.
    async fn renew(&mut self, now: DateTime<Utc>) -> Result<bool, StoreError>;
    /// Gives the lock up now.
    async fn release(self: Box<Self>);
}

/// The persistence interface of the gateway.
#[async_trait]
pub trait Store: workspace::Workspace + contacts::Contacts + Send + Sync + 'static {
    /// Which engine this is.
    fn engine(&self) -> Engine;

    /// Applies pending migrations.
    async fn migrate(&self) -> Result<(), StoreError>;

    /// Checks that the database answers.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Starts a write transaction.
    async fn begin(&self) -> Result<Box<dyn StoreTx>, StoreError>;

    /// The saved response of an idempotent request, if the key was used.
    async fn find_saved_response(
        &self,
        scope: &str,
        key: &str,
    ) -> Result<Option<SavedResponse>, StoreError>;

    /// The stored message and thread of an inbound `(channel, external_id)`.
    async fn find_inbound(
        &self,
        channel: Channel,
        external_id: &models::ExternalMessageId,
    ) -> Result<Option<(MessageId, ThreadSummary)>, StoreError>;

    /// One thread.
    async fn get_thread(&self, id: ThreadId) -> Result<ThreadRecord, StoreError>;

    /// A thread by its reference.
    async fn find_thread_by_reference(
        &self,
        reference: &ReferenceNumber,
    ) -> Result<Option<ThreadRecord>, StoreError>;

    /// A thread's messages in order, with attachments and classifications.
    async fn list_messages(&self, thread: ThreadId) -> Result<Vec<MessageRecord>, StoreError>;

    /// One page of a thread's messages: the newest `limit` (at most
    /// [`MAX_MESSAGE_PAGE`]) before `before`, oldest first, with the cursor
    /// of the page before it when there is one.
    async fn list_messages_page(
        &self,
        thread: ThreadId,
        before: Option<&Cursor>,
        limit: u32,
    ) -> Result<MessagePage, StoreError>;

    /// Claims up to `limit` classification jobs under a lease.
    async fn claim_classify_jobs(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<ClassifyJob>, StoreError>;

    /// Saves a classification, updates the thread's topic and flag, and
    /// removes the job, in one transaction.
    async fn save_classification(
        &self,
        message: MessageId,
        classification: &Classification,
        department: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Claims the next due outbox row for one of `channels` under a lease,
    /// counting the attempt before it is made.
    async fn claim_outbox_job(
        &self,
        channels: &[Channel],
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Option<OutboxJob>, StoreError>;

    /// Records a successful delivery and the text that went out.
    async fn complete_outbox_job(
        &self,
        job: &OutboxJob,
        sent: &SentMessage,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Puts a row back to `Pending` until `next_attempt_at`, with the error.
    async fn retry_outbox_job(
        &self,
        id: OutboxId,
        next_attempt_at: DateTime<Utc>,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Marks a row `Failed` with the error.
    async fn fail_outbox_job(
        &self,
        id: OutboxId,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Rows whose worker died mid-attempt (`Sending` past their lease) become
    /// `Unconfirmed`; returns how many.
    async fn expire_outbox_leases(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;

    /// `WaitingChannel` rows of the given channels become `Pending`.
    async fn activate_waiting_outbox(
        &self,
        channels: &[Channel],
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError>;

    /// An agent's retry of a `Failed` or `Unconfirmed` row.
    async fn requeue_outbox_job(&self, id: OutboxId, now: DateTime<Utc>) -> Result<(), StoreError>;

    /// A thread's outbox rows, oldest first.
    async fn list_outbox(&self, thread: ThreadId) -> Result<Vec<OutboxRecord>, StoreError>;

    /// An attachment's bytes; `None` for an unknown id or one whose bytes
    /// were not kept (hosted elsewhere or refused).
    async fn attachment_file(&self, id: &str) -> Result<Option<AttachmentFile>, StoreError>;

    /// A thread's outbox rows with no sent message yet (queued, waiting,
    /// failed), as the composer reads them, oldest first.
    async fn unsent_outbox_jobs(&self, thread: ThreadId) -> Result<Vec<OutboxJob>, StoreError>;

    /// How many rows are in each state, for health and metrics.
    async fn count_outbox_by_state(&self) -> Result<Vec<(OutboxState, u64)>, StoreError>;

    /// Stores a verified webhook body before it is answered, once: a body
    /// already stored (a provider's replay) returns the stored body's id.
    async fn save_webhook(
        &self,
        source: &str,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<String, StoreError>;

    /// Deletes the webhook bodies processed before `before`; how many.
    async fn purge_processed_webhooks(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;

    /// Claims unprocessed webhook bodies under a lease, oldest first.
    async fn claim_webhooks(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<StoredWebhook>, StoreError>;

    /// Marks a webhook body processed, with the error that made it give up, if any.
    async fn finish_webhook(
        &self,
        id: &str,
        error: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Marks an inbound message deleted by its sender; `false` when unknown.
    async fn mark_message_deleted(
        &self,
        channel: Channel,
        external_id: &models::ExternalMessageId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// The provider echoed one of our sends: a row whose attempt had an
    /// unknown outcome is now known to be sent. Returns whether a row changed.
    async fn confirm_outbox_echo(
        &self,
        id: OutboxId,
        provider_message_id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Records delivery (or reading, with `read`) of the messages sent to
    /// `recipient`: those named in `provider_ids`, and all sent up to
    /// `watermark`. Returns how many rows changed.
    async fn mark_outbound_receipt(
        &self,
        recipient: &ChannelIdentity,
        provider_ids: &[String],
        watermark: Option<DateTime<Utc>>,
        read: bool,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError>;

    /// Where a mailbox was read up to, if it was ever read.
    async fn mailbox_position(&self, mailbox: &str) -> Result<Option<MailboxPosition>, StoreError>;

    /// Takes the right to read `mailbox` for `ttl` (renewed by the holder),
    /// or `None` when another process holds it.
    async fn try_lock_mailbox(
        &self,
        mailbox: &str,
        owner: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<Option<Box<dyn MailboxLock>>, StoreError>;

    /// The audit entries about `subject`, oldest first.
    async fn list_audit(&self, subject: &str) -> Result<Vec<AuditEntry>, StoreError>;

    /// Raises (or raises again) an alarm for administrators.
    async fn raise_alarm(
        &self,
        source: &str,
        kind: &str,
        message: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Clears an active alarm; `false` when none was active.
    async fn clear_alarm(
        &self,
        source: &str,
        kind: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Alarms, active ones first, newest first; only active ones unless `all`.
    async fn list_alarms(&self, all: bool) -> Result<Vec<Alarm>, StoreError>;

    /// The emails set aside in a mailbox, oldest first.
    async fn list_quarantined_mail(
        &self,
        mailbox: &str,
    ) -> Result<Vec<QuarantinedMail>, StoreError>;
}

/// One write transaction. Dropping it without [`StoreTx::commit`] rolls back.
#[async_trait]
pub trait StoreTx: contacts::ContactsTx + Send {
    /// Claims an idempotency key with a placeholder response; `false` when
    /// the key already exists (the caller rolls back and replays it).
    async fn claim_idempotency_key(
        &mut self,
        scope: &str,
        key: &str,
        fingerprint: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Saves the response of a claimed idempotency key.
    async fn save_idempotent_response(
        &mut self,
        scope: &str,
        key: &str,
        status: u16,
        body: &str,
    ) -> Result<(), StoreError>;

    /// Claims the inbound deduplication key; `false` for a replay.
    async fn claim_inbound_key(
        &mut self,
        channel: Channel,
        external_id: &models::ExternalMessageId,
        message_id: MessageId,
    ) -> Result<bool, StoreError>;

    /// The contact owning an identity.
    async fn find_contact(
        &mut self,
        identity: &ChannelIdentity,
    ) -> Result<Option<ContactId>, StoreError>;

    /// Creates a contact with its first identity.
    async fn create_contact(&mut self, contact: &NewContact) -> Result<(), StoreError>;

    /// Fills a contact's name and phone where still empty and records the
    /// language they last wrote in.
    async fn refresh_contact(
        &mut self,
        id: ContactId,
        name: Option<&str>,
        phone: Option<&models::PhoneNumber>,
        language: Language,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// A thread by reference.
    async fn thread_by_reference(
        &mut self,
        reference: &ReferenceNumber,
    ) -> Result<Option<ThreadSummary>, StoreError>;

    /// The thread holding any of these Message-IDs (received or sent), first match wins.
    async fn thread_by_rfc_ids(
        &mut self,
        ids: &[RfcMessageId],
    ) -> Result<Option<ThreadSummary>, StoreError>;

    /// The contact's latest unresolved request thread on a channel.
    async fn open_thread(
        &mut self,
        contact: ContactId,
        channel: Channel,
    ) -> Result<Option<ThreadSummary>, StoreError>;

    /// Takes the next number of a year's sequence. Gap-free: the increment
    /// rolls back with the transaction.
    async fn next_reference(
        &mut self,
        prefix: &ReferencePrefix,
        year: u32,
    ) -> Result<ReferenceNumber, StoreError>;

    /// Creates a thread.
    async fn create_thread(&mut self, thread: &NewThread) -> Result<(), StoreError>;

    /// Records activity on a thread at `at`. A citizen message (`citizen_at`
    /// is when they wrote) puts it back in the agents' queue
    /// (`AwaitingAgent`), reopening it if it was resolved.
    async fn touch_thread(
        &mut self,
        id: ThreadId,
        at: DateTime<Utc>,
        citizen_at: Option<DateTime<Utc>>,
        due_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError>;

    /// Stores an inbound message, its attachments, its Message-ID and, when
    /// asked, its classification job.
    async fn insert_inbound_message(
        &mut self,
        message: &NewInboundMessage<'_>,
    ) -> Result<(), StoreError>;

    /// Queues a delivery (and remembers its Message-ID for threading).
    async fn enqueue_outbox(&mut self, outbox: &NewOutbox) -> Result<(), StoreError>;

    /// Moves a mailbox's read position; written in the transaction of the
    /// message it follows, so a crash can neither skip nor repeat a message.
    async fn save_mailbox_position(
        &mut self,
        mailbox: &str,
        position: MailboxPosition,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Sets a raw email aside (idempotent on its mailbox position).
    async fn quarantine_mail(&mut self, mail: &NewQuarantinedMail<'_>) -> Result<(), StoreError>;

    /// Serialises this transaction with every other one that calls it with
    /// the same `key`, until commit (PostgreSQL: a transaction advisory
    /// lock; SQLite has one writer, so write transactions never overlap).
    async fn serialize_on(&mut self, key: &str) -> Result<(), StoreError>;

    /// How many acknowledgements were queued since `since`, every recipient.
    async fn count_all_acknowledgements_since(
        &mut self,
        since: DateTime<Utc>,
    ) -> Result<u64, StoreError>;

    /// How many acknowledgements were queued for `recipient` since `since`.
    async fn count_acknowledgements_since(
        &mut self,
        recipient: &ChannelIdentity,
        since: DateTime<Utc>,
    ) -> Result<u64, StoreError>;

    /// The thread of the outbound email whose Message-ID is `rfc_message_id`.
    async fn thread_of_outbound(
        &mut self,
        rfc_message_id: &RfcMessageId,
    ) -> Result<Option<ThreadSummary>, StoreError>;

    /// Marks the outbound email `rfc_message_id` failed (a bounce said it
    /// cannot be delivered), whatever delivery state it had reached.
    /// Returns whether a row changed.
    async fn fail_outbound_by_rfc_id(
        &mut self,
        rfc_message_id: &RfcMessageId,
        error: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Takes a thread for a change (a row lock on PostgreSQL; SQLite's
    /// single writer already serialises) and returns it as it is now.
    async fn lock_thread(&mut self, id: ThreadId) -> Result<Option<ThreadRecord>, StoreError>;

    /// Writes a thread's status, assignee and department if its version is
    /// still `expected_version`, bumping it; `false` when someone changed
    /// the thread in between (nothing is written).
    #[allow(clippy::too_many_arguments)]
    async fn save_thread_fields(
        &mut self,
        id: ThreadId,
        expected_version: i64,
        status: ThreadStatus,
        assignee_id: Option<&str>,
        department: Option<&str>,
        due_at: Option<DateTime<Utc>>,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Sets the thread's topic by hand (kept as a labelled example) if its
    /// version is still `expected_version`; `false` otherwise.
    async fn set_thread_topic(
        &mut self,
        id: ThreadId,
        expected_version: i64,
        topic: models::Topic,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Whether a refusal of service stands for `contact` on `today`.
    async fn refusal_stands(
        &mut self,
        contact: ContactId,
        today: chrono::NaiveDate,
    ) -> Result<bool, StoreError>;

    /// Records a refusal of service; returns its id, or `None` when the
    /// contact does not exist.
    async fn insert_refusal(
        &mut self,
        contact: ContactId,
        reason: &str,
        ends_on: chrono::NaiveDate,
        user_id: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError>;

    /// Flags a thread for the supervisors.
    async fn flag_thread(&mut self, id: ThreadId) -> Result<(), StoreError>;

    /// Appends to the audit log.
    async fn append_audit(&mut self, entry: &AuditEntry) -> Result<(), StoreError>;

    /// Adds an internal note, or a callback with the number to call;
    /// returns its id.
    async fn insert_note(
        &mut self,
        thread: ThreadId,
        author_id: &str,
        kind: workspace::NoteKind,
        phone: Option<&str>,
        body: &str,
        at: DateTime<Utc>,
    ) -> Result<String, StoreError>;

    /// Whom a reply in this thread goes to.
    async fn reply_target(&mut self, thread: ThreadId) -> Result<Option<ReplyTarget>, StoreError>;

    /// Records a supervisor's decision on a flagged message; `false` when
    /// it was already decided. Returns the message's thread too.
    async fn record_review_decision(
        &mut self,
        message: MessageId,
        decision: &str,
        kind: Option<&str>,
        comment: &str,
        user_id: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<(bool, ThreadId)>, StoreError>;

    /// Puts a thread back in the agents' queue (`AwaitingAgent`) without
    /// counting a citizen message, for news an agent must act on (a bounce).
    async fn raise_thread(&mut self, id: ThreadId, at: DateTime<Utc>) -> Result<(), StoreError>;

    /// Commits.
    async fn commit(self: Box<Self>) -> Result<(), StoreError>;
}

/// Opens the store named by a database URL: `sqlite://PATH` or
/// `postgres://…`. Only `create_if_missing` lets a SQLite file be created, so
/// a typo never silently starts an empty database.
///
/// # Errors
/// [`StoreError::Unavailable`] when the database cannot be opened, and
/// [`StoreError::Internal`] for an unsupported scheme.
pub async fn connect(
    url: &secrecy::SecretString,
    options: &ConnectOptions,
) -> Result<Arc<dyn Store>, StoreError> {
    use secrecy::ExposeSecret;
    let raw = url.expose_secret();
    if raw.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::SqliteStore::connect(raw, options).await?))
    } else if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
        Ok(Arc::new(
            postgres::PostgresStore::connect(raw, options).await?,
        ))
    } else {
        Err(StoreError::Internal(anyhow::anyhow!(
            "Unsupported database URL scheme (expected sqlite:// or postgres://)"
        )))
    }
}

/// Pool and file options shared by both engines.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Create the SQLite file (and its folder) when missing.
    pub create_if_missing: bool,
    /// Most connections in the pool (readers, for SQLite).
    pub max_connections: u32,
    /// How long to wait for a connection or a lock.
    pub acquire_timeout: Duration,
    /// When a search word counts as common; `None` for the engine's own
    /// measured default ([`workspace::SearchTuning::for_engine`]).
    pub search: Option<workspace::SearchTuning>,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            create_if_missing: false,
            max_connections: 8,
            acquire_timeout: Duration::from_secs(5),
            search: None,
        }
    }
}
