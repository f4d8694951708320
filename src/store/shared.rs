//! The `Store` and `StoreTx` impls, written once for both engines. SQLite
//! (3.35+) and PostgreSQL agree on `$N` placeholders, `ON CONFLICT`, upserts
//! and `RETURNING`, and both schemas decode to the same Rust types, so each
//! method's SQL is here once, run on either engine through
//! [`on_engine!`]. What differs (migrations, how a queue row is claimed, the
//! advisory lock, the mailbox lock) is a function in `sqlite.rs` and
//! `postgres.rs`, chosen here by the pool's arm.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use models::{
    Channel, ChannelIdentity, Classification, ContactId, ExternalMessageId, Language, MessageId,
    OutboxId, OutboxState, ReferenceNumber, ReferencePrefix, RfcMessageId, ThreadId, ThreadStatus,
    Topic,
};

use super::engine::{on_engine, Backend, BackendTx, Conn, Db, Pool};
use super::rows::{
    to_u32, AttachmentRow, ClassificationColumns, ClassificationRow, ClassifyJobRow, MessageRow,
    OutboxJobRow, OutboxRecordRow, Text, ThreadRow, ThreadSummaryRow,
};
use super::workspace::NoteKind;
use super::{
    postgres, sqlite, Alarm, AttachmentFile, AuditEntry, ClassifyJob, Cursor, Engine, MailboxLock,
    MailboxPosition, MessagePage, MessageRecord, NewContact, NewInboundMessage, NewOutbox,
    NewQuarantinedMail, NewThread, OutboxJob, OutboxRecord, QuarantinedMail, ReplyTarget,
    SavedResponse, SentMessage, Store, StoreError, StoreTx, StoredWebhook, ThreadRecord,
    ThreadSummary, MAX_MESSAGE_PAGE,
};

/// Comma-joined channel slugs for the `LIKE` membership test used by the
/// claim queries (the same expression works on both engines).
pub(super) fn channel_list(channels: &[Channel]) -> String {
    channels
        .iter()
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// An identity as its `(kind, key)` columns.
pub(super) fn identity_parts(identity: &ChannelIdentity) -> (&'static str, String) {
    (identity.kind(), identity.key())
}

/// When a lease taken at `now` for `lease` runs out.
fn lease_until(now: DateTime<Utc>, lease: Duration) -> Result<DateTime<Utc>, StoreError> {
    Ok(now + chrono::Duration::from_std(lease).map_err(|e| StoreError::Internal(e.into()))?)
}

/// The columns of a [`ThreadRow`].
const THREAD_COLUMNS: &str = "id, reference, contact_id, channel, category, subject, status, topic,
     department, flagged, language, created_at, last_message_at,
     last_citizen_message_at, assignee_id, due_at, version";

/// The columns of a [`MessageRow`].
const MESSAGE_COLUMNS: &str = "id, thread_id, direction, channel, kind, sender_name, subject,
     body_text, new_text, language, received_at, deleted_at";

/// Remembers that Message-ID `rfc` belongs to `thread`, for threading
/// replies; a Message-ID already known keeps its thread.
async fn insert_rfc_message_id(
    conn: Conn<'_>,
    rfc: &RfcMessageId,
    thread: ThreadId,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    on_engine!(conn, |c| sqlx::query(
        "INSERT INTO rfc_message_ids (rfc_message_id, thread_id, created_at)
         VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING",
    )
    .bind(rfc.as_ref())
    .bind(Text(thread))
    .bind(at)
    .execute(c)
    .await?
    .rows_affected());
    Ok(())
}

/// Appends an entry to the audit log.
async fn insert_audit(conn: Conn<'_>, entry: &AuditEntry) -> Result<(), StoreError> {
    on_engine!(conn, |c| sqlx::query(
        "INSERT INTO audit_log (id, at, actor, action, subject, before, after)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(Text(uuid::Uuid::now_v7()))
    .bind(entry.at)
    .bind(&entry.actor)
    .bind(&entry.action)
    .bind(&entry.subject)
    .bind(entry.before.as_deref())
    .bind(entry.after.as_deref())
    .execute(c)
    .await?
    .rows_affected());
    Ok(())
}

/// Stores one attachment of an inbound message.
async fn insert_attachment(
    conn: Conn<'_>,
    message: MessageId,
    attachment: &models::Attachment,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let (state, url, reason, content): (&str, Option<&str>, Option<&str>, Option<&[u8]>) =
        match &attachment.content {
            models::AttachmentContent::Inline { bytes } => {
                ("stored", None, None, Some(bytes.as_slice()))
            }
            models::AttachmentContent::Remote { url } => ("remote", Some(url.as_str()), None, None),
            models::AttachmentContent::Refused { reason } => {
                ("refused", None, Some(reason.as_str()), None)
            }
        };
    let size = attachment
        .size_bytes
        .map(|s| i64::try_from(s).unwrap_or(i64::MAX));
    on_engine!(conn, |c| sqlx::query(
        "INSERT INTO attachments
             (id, message_id, filename, content_type, size_bytes, sha256,
              state, url, refused_reason, content, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(Text(uuid::Uuid::now_v7()))
    .bind(Text(message))
    .bind(attachment.filename.as_deref())
    .bind(attachment.content_type.as_str())
    .bind(size)
    .bind(attachment.sha256.as_deref())
    .bind(state)
    .bind(url)
    .bind(reason)
    .bind(content)
    .bind(at)
    .execute(c)
    .await?
    .rows_affected());
    Ok(())
}

/// Turns message rows into records with their attachments and
/// classifications, read for the thread (between the `range` dates when
/// given, so one page costs one page).
async fn with_details(
    pool: Pool<'_>,
    thread: ThreadId,
    rows: Vec<MessageRow>,
    range: Option<(DateTime<Utc>, DateTime<Utc>)>,
) -> Result<Vec<MessageRecord>, StoreError> {
    let mut messages = rows
        .into_iter()
        .map(TryInto::try_into)
        .collect::<Result<Vec<MessageRecord>, _>>()?;
    if messages.is_empty() {
        return Ok(messages);
    }
    // Without a range, the years 1 to 9999: both engines store them.
    let (from, to) = range.unwrap_or((
        DateTime::<Utc>::from_timestamp(-62_135_596_800, 0).unwrap_or_default(),
        DateTime::<Utc>::from_timestamp(253_402_300_799, 0).unwrap_or_default(),
    ));
    let attachments: Vec<AttachmentRow> = on_engine!(pool, |c| sqlx::query_as(
        "SELECT a.id, a.message_id, a.filename, a.content_type, a.size_bytes, a.sha256,
                a.state, a.url, a.refused_reason
         FROM attachments a JOIN messages m ON m.id = a.message_id
         WHERE m.thread_id = $1 AND m.received_at >= $2 AND m.received_at <= $3
         ORDER BY a.created_at, a.id",
    )
    .bind(Text(thread))
    .bind(from)
    .bind(to)
    .fetch_all(c)
    .await?);
    let classifications: Vec<ClassificationRow> = on_engine!(pool, |c| sqlx::query_as(
        "SELECT c.message_id, c.topic, c.topic_score, c.topic_abstain, c.abuse_verdict,
                c.abuse_kind, c.abuse_score, c.reasons, c.model_version
         FROM classifications c JOIN messages m ON m.id = c.message_id
         WHERE m.thread_id = $1 AND m.received_at >= $2 AND m.received_at <= $3",
    )
    .bind(Text(thread))
    .bind(from)
    .bind(to)
    .fetch_all(c)
    .await?);
    let index: HashMap<String, usize> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| (m.id.to_string(), i))
        .collect();
    for row in attachments {
        let (message_id, attachment) = row.into_attachment()?;
        if let Some(&i) = index.get(&message_id) {
            messages[i].attachments.push(attachment);
        }
    }
    for row in classifications {
        let (message_id, classification) = row.into_classification()?;
        if let Some(&i) = index.get(&message_id) {
            messages[i].classification = Some(classification);
        }
    }
    Ok(messages)
}

/// A thread's newest `limit + 1` messages before `before`, newest first:
/// the extra one tells whether there is an older page.
async fn message_page_rows(
    pool: Pool<'_>,
    thread: ThreadId,
    before: Option<&Cursor>,
    limit: u32,
) -> Result<Vec<MessageRow>, StoreError> {
    let fetch = i64::from(limit) + 1;
    Ok(match before {
        None => {
            let sql = format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages WHERE thread_id = $1
                 ORDER BY received_at DESC, id DESC LIMIT $2"
            );
            on_engine!(pool, |c| sqlx::query_as(&sql)
                .bind(Text(thread))
                .bind(fetch)
                .fetch_all(c)
                .await?)
        }
        Some(cursor) => {
            let sql = format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages
                 WHERE thread_id = $1 AND (received_at < $2 OR (received_at = $2 AND id < $3))
                 ORDER BY received_at DESC, id DESC LIMIT $4"
            );
            on_engine!(pool, |c| sqlx::query_as(&sql)
                .bind(Text(thread))
                .bind(cursor.at)
                .bind(&cursor.id)
                .bind(fetch)
                .fetch_all(c)
                .await?)
        }
    })
}

#[async_trait]
impl<T: BackendTx> StoreTx for T {
    #[tracing::instrument(skip_all, fields(scope = %scope))]
    async fn claim_idempotency_key(
        &mut self,
        scope: &str,
        key: &str,
        fingerprint: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let claimed = on_engine!(self.conn(), |c| sqlx::query(
            "INSERT INTO idempotency_keys
                 (scope, key, fingerprint, response_status, response_body, created_at)
             VALUES ($1, $2, $3, 0, '', $4)
             ON CONFLICT DO NOTHING",
        )
        .bind(scope)
        .bind(key)
        .bind(fingerprint)
        .bind(now)
        .execute(c)
        .await?
        .rows_affected());
        Ok(claimed == 1)
    }

    #[tracing::instrument(skip_all, fields(scope = %scope, status = status))]
    async fn save_idempotent_response(
        &mut self,
        scope: &str,
        key: &str,
        status: u16,
        body: &str,
    ) -> Result<(), StoreError> {
        on_engine!(self.conn(), |c| sqlx::query(
            "UPDATE idempotency_keys SET response_status = $3, response_body = $4
             WHERE scope = $1 AND key = $2",
        )
        .bind(scope)
        .bind(key)
        .bind(i64::from(status))
        .bind(body)
        .execute(c)
        .await?
        .rows_affected());
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(%channel, message_id = %message_id))]
    async fn claim_inbound_key(
        &mut self,
        channel: Channel,
        external_id: &ExternalMessageId,
        message_id: MessageId,
    ) -> Result<bool, StoreError> {
        let claimed = on_engine!(self.conn(), |c| sqlx::query(
            "INSERT INTO inbound_keys (channel, external_id, message_id)
             VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
        )
        .bind(channel.as_str())
        .bind(external_id.as_ref())
        .bind(Text(message_id))
        .execute(c)
        .await?
        .rows_affected());
        Ok(claimed == 1)
    }

    #[tracing::instrument(skip_all)]
    async fn find_contact(
        &mut self,
        identity: &ChannelIdentity,
    ) -> Result<Option<ContactId>, StoreError> {
        let (kind, key) = identity_parts(identity);
        let id: Option<String> = on_engine!(self.conn(), |c| sqlx::query_scalar(
            "SELECT contact_id FROM contact_identities WHERE kind = $1 AND key = $2",
        )
        .bind(kind)
        .bind(&key)
        .fetch_optional(c)
        .await?);
        id.map(|id| ContactId::parse(&id).map_err(|e| StoreError::corrupt("contact id", e)))
            .transpose()
    }

    #[tracing::instrument(skip_all, fields(contact_id = %contact.id))]
    async fn create_contact(&mut self, contact: &NewContact) -> Result<(), StoreError> {
        on_engine!(self.conn(), |c| sqlx::query(
            "INSERT INTO contacts
                 (id, display_name, language, phone, created_at, updated_at, name_key,
                  unverified_email)
             VALUES ($1, $2, $3, $4, $5, $5, $6, $7)",
        )
        .bind(Text(contact.id))
        .bind(contact.display_name.as_deref())
        .bind(contact.language.as_str())
        .bind(contact.phone.as_ref().map(AsRef::<str>::as_ref))
        .bind(contact.at)
        .bind(
            contact
                .display_name
                .as_deref()
                .and_then(models::name::name_key)
        )
        .bind(contact.unverified_email.as_deref())
        .execute(c)
        .await?
        .rows_affected());
        let Some(identity) = &contact.identity else {
            return Ok(());
        };
        let (kind, key) = identity_parts(identity);
        on_engine!(self.conn(), |c| sqlx::query(
            "INSERT INTO contact_identities (kind, key, contact_id, created_at)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(kind)
        .bind(&key)
        .bind(Text(contact.id))
        .bind(contact.at)
        .execute(c)
        .await?
        .rows_affected());
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(contact_id = %id))]
    async fn refresh_contact(
        &mut self,
        id: ContactId,
        name: Option<&str>,
        phone: Option<&models::PhoneNumber>,
        language: Language,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_engine!(self.conn(), |c| sqlx::query(
            "UPDATE contacts
             SET display_name = COALESCE(display_name, $2),
                 name_key = COALESCE(name_key, $6),
                 phone = COALESCE(phone, $3),
                 language = $4,
                 updated_at = $5
             WHERE id = $1",
        )
        .bind(Text(id))
        .bind(name)
        .bind(phone.map(AsRef::<str>::as_ref))
        .bind(language.as_str())
        .bind(at)
        .bind(name.and_then(models::name::name_key))
        .execute(c)
        .await?
        .rows_affected());
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(%reference))]
    async fn thread_by_reference(
        &mut self,
        reference: &ReferenceNumber,
    ) -> Result<Option<ThreadSummary>, StoreError> {
        let row: Option<ThreadSummaryRow> = on_engine!(self.conn(), |c| sqlx::query_as(
            "SELECT id, contact_id, reference, status, channel
             FROM threads WHERE reference = $1",
        )
        .bind(Text(reference))
        .fetch_optional(c)
        .await?);
        row.map(TryInto::try_into).transpose()
    }

    #[tracing::instrument(skip_all, fields(ids = ids.len()))]
    async fn thread_by_rfc_ids(
        &mut self,
        ids: &[RfcMessageId],
    ) -> Result<Option<ThreadSummary>, StoreError> {
        for id in ids {
            let row: Option<ThreadSummaryRow> = on_engine!(self.conn(), |c| sqlx::query_as(
                "SELECT t.id, t.contact_id, t.reference, t.status, t.channel
                 FROM rfc_message_ids r JOIN threads t ON t.id = r.thread_id
                 WHERE r.rfc_message_id = $1",
            )
            .bind(id.as_ref())
            .fetch_optional(c)
            .await?);
            if let Some(row) = row {
                return Ok(Some(row.try_into()?));
            }
        }
        Ok(None)
    }

    #[tracing::instrument(skip_all, fields(contact_id = %contact, %channel))]
    async fn open_thread(
        &mut self,
        contact: ContactId,
        channel: Channel,
    ) -> Result<Option<ThreadSummary>, StoreError> {
        let row: Option<ThreadSummaryRow> = on_engine!(self.conn(), |c| sqlx::query_as(
            "SELECT id, contact_id, reference, status, channel
             FROM threads
             WHERE contact_id = $1 AND channel = $2
               AND category = 'request' AND status <> 'resolved'
             ORDER BY last_message_at DESC
             LIMIT 1",
        )
        .bind(Text(contact))
        .bind(channel.as_str())
        .fetch_optional(c)
        .await?);
        row.map(TryInto::try_into).transpose()
    }

    #[tracing::instrument(skip_all, fields(year = year))]
    async fn next_reference(
        &mut self,
        prefix: &ReferencePrefix,
        year: u32,
    ) -> Result<ReferenceNumber, StoreError> {
        let value: i64 = on_engine!(self.conn(), |c| sqlx::query_scalar(
            "INSERT INTO reference_counters (prefix, year, last_value)
             VALUES ($1, $2, 1)
             ON CONFLICT (prefix, year)
             DO UPDATE SET last_value = reference_counters.last_value + 1
             RETURNING last_value",
        )
        .bind(prefix.as_ref())
        .bind(i64::from(year))
        .fetch_one(c)
        .await?);
        let sequence = to_u32(value, "reference sequence")?;
        ReferenceNumber::new(prefix.clone(), year, sequence).map_err(|e| {
            StoreError::Internal(anyhow::anyhow!(
                "Reference sequence of {year} exhausted: {e}"
            ))
        })
    }

    #[tracing::instrument(skip_all, fields(thread_id = %thread.id))]
    async fn create_thread(&mut self, thread: &NewThread) -> Result<(), StoreError> {
        on_engine!(self.conn(), |c| sqlx::query(
            "INSERT INTO threads
                 (id, reference, contact_id, channel, category, subject, status,
                  language, created_at, last_message_at, updated_at,
                  last_citizen_message_at, due_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $9, $10, $11)",
        )
        .bind(Text(thread.id))
        .bind(thread.reference.as_ref().map(Text))
        .bind(Text(thread.contact_id))
        .bind(thread.channel.as_str())
        .bind(thread.category.as_str())
        .bind(thread.subject.as_deref())
        .bind(thread.status.as_str())
        .bind(thread.language.as_str())
        .bind(thread.at)
        .bind(thread.last_citizen_message_at)
        .bind(thread.due_at)
        .execute(c)
        .await?
        .rows_affected());
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(thread_id = %id))]
    async fn touch_thread(
        &mut self,
        id: ThreadId,
        at: DateTime<Utc>,
        citizen_at: Option<DateTime<Utc>>,
        due_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        match citizen_at {
            Some(citizen_at) => on_engine!(self.conn(), |c| sqlx::query(
                "UPDATE threads
                 SET last_message_at = $2, status = 'awaiting_agent', updated_at = $2,
                     version = version + 1,
                     due_at = CASE WHEN status = 'awaiting_agent' AND due_at IS NOT NULL
                                   THEN due_at ELSE $4 END,
                     last_citizen_message_at = CASE
                         WHEN last_citizen_message_at IS NULL OR last_citizen_message_at < $3
                         THEN $3 ELSE last_citizen_message_at END
                 WHERE id = $1",
            )
            .bind(Text(id))
            .bind(at)
            .bind(citizen_at)
            .bind(due_at)
            .execute(c)
            .await?
            .rows_affected()),
            None => on_engine!(self.conn(), |c| sqlx::query(
                "UPDATE threads SET last_message_at = $2, updated_at = $2 WHERE id = $1",
            )
            .bind(Text(id))
            .bind(at)
            .execute(c)
            .await?
            .rows_affected()),
        };
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(message_id = %new.id, thread_id = %new.thread_id))]
    async fn insert_inbound_message(
        &mut self,
        new: &NewInboundMessage<'_>,
    ) -> Result<(), StoreError> {
        let m = new.message;
        let (sender_kind, sender_key) = identity_parts(&m.sender);
        on_engine!(self.conn(), |c| sqlx::query(
            "INSERT INTO messages
                 (id, thread_id, contact_id, direction, channel, kind, external_id,
                  rfc_message_id, sender_kind, sender_key, sender_name, subject,
                  body_text, new_text, body_html, language, received_at, created_at)
             VALUES ($1, $2, $3, 'inbound', $4, $5, $6, $7, $8, $9, $10, $11,
                     $12, $13, $14, $15, $16, $17)",
        )
        .bind(Text(new.id))
        .bind(Text(new.thread_id))
        .bind(Text(new.contact_id))
        .bind(m.channel.as_str())
        .bind(m.kind.as_str())
        .bind(m.external_id.as_ref())
        .bind(m.hints.rfc_message_id.as_ref().map(AsRef::<str>::as_ref))
        .bind(sender_kind)
        .bind(&sender_key)
        .bind(m.sender_name.as_deref())
        .bind(m.subject.as_deref())
        .bind(m.body_text.as_str())
        .bind(m.new_text.as_str())
        .bind(m.body_html.as_deref())
        .bind(m.language.as_str())
        .bind(m.received_at)
        .bind(new.at)
        .execute(c)
        .await?
        .rows_affected());
        for attachment in &m.attachments {
            insert_attachment(self.conn(), new.id, attachment, new.at).await?;
        }
        if let Some(rfc) = &m.hints.rfc_message_id {
            insert_rfc_message_id(self.conn(), rfc, new.thread_id, new.at).await?;
        }
        if new.classify {
            on_engine!(self.conn(), |c| sqlx::query(
                "INSERT INTO classify_jobs (message_id, created_at) VALUES ($1, $2)",
            )
            .bind(Text(new.id))
            .bind(new.at)
            .execute(c)
            .await?
            .rows_affected());
        }
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(outbox_id = %outbox.id, thread_id = %outbox.thread_id))]
    async fn enqueue_outbox(&mut self, outbox: &NewOutbox) -> Result<(), StoreError> {
        let (recipient_kind, recipient_key) = identity_parts(&outbox.recipient);
        let payload =
            serde_json::to_string(&outbox.payload).map_err(|e| StoreError::Internal(e.into()))?;
        on_engine!(self.conn(), |c| sqlx::query(
            "INSERT INTO outbox
                 (id, thread_id, cause_message_id, channel, kind, recipient_kind,
                  recipient_key, language, rfc_message_id, payload, state, attempts,
                  max_attempts, next_attempt_at, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, $12, $13, $13, $13)",
        )
        .bind(Text(outbox.id))
        .bind(Text(outbox.thread_id))
        .bind(outbox.cause_message_id.map(Text))
        .bind(outbox.channel.as_str())
        .bind(outbox.kind.as_str())
        .bind(recipient_kind)
        .bind(&recipient_key)
        .bind(outbox.language.as_str())
        .bind(outbox.rfc_message_id.as_ref().map(AsRef::<str>::as_ref))
        .bind(&payload)
        .bind(outbox.state.as_str())
        .bind(i64::from(outbox.max_attempts))
        .bind(outbox.at)
        .execute(c)
        .await?
        .rows_affected());
        if let Some(rfc) = &outbox.rfc_message_id {
            insert_rfc_message_id(self.conn(), rfc, outbox.thread_id, outbox.at).await?;
        }
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(mailbox = %mailbox, uid = position.last_uid))]
    async fn save_mailbox_position(
        &mut self,
        mailbox: &str,
        position: MailboxPosition,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_engine!(self.conn(), |c| sqlx::query(
            "INSERT INTO mailbox_checkpoints (mailbox, uid_validity, last_uid, updated_at)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (mailbox) DO UPDATE
             SET uid_validity = excluded.uid_validity, last_uid = excluded.last_uid,
                 updated_at = excluded.updated_at
             WHERE mailbox_checkpoints.uid_validity <> excluded.uid_validity
                OR mailbox_checkpoints.last_uid < excluded.last_uid",
        )
        .bind(mailbox)
        .bind(i64::from(position.uid_validity))
        .bind(i64::from(position.last_uid))
        .bind(at)
        .execute(c)
        .await?
        .rows_affected());
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(mailbox = %mail.mailbox, uid = mail.position.last_uid))]
    async fn quarantine_mail(&mut self, mail: &NewQuarantinedMail<'_>) -> Result<(), StoreError> {
        on_engine!(self.conn(), |c| sqlx::query(
            "INSERT INTO quarantined_mail
                 (id, mailbox, uid_validity, uid, reason, size_bytes, raw, received_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT DO NOTHING",
        )
        .bind(Text(uuid::Uuid::now_v7()))
        .bind(mail.mailbox)
        .bind(i64::from(mail.position.uid_validity))
        .bind(i64::from(mail.position.last_uid))
        .bind(mail.reason)
        .bind(i64::try_from(mail.size_bytes).unwrap_or(i64::MAX))
        .bind(mail.raw)
        .bind(mail.at)
        .execute(c)
        .await?
        .rows_affected());
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn serialize_on(&mut self, key: &str) -> Result<(), StoreError> {
        match self.conn() {
            // One writer connection: write transactions never overlap.
            Db::Sqlite(_) => Ok(()),
            Db::Postgres(conn) => postgres::serialize_on(conn, key).await,
        }
    }

    #[tracing::instrument(skip_all)]
    async fn count_all_acknowledgements_since(
        &mut self,
        since: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let count: i64 = on_engine!(self.conn(), |c| sqlx::query_scalar(
            "SELECT COUNT(*) FROM outbox WHERE kind = 'acknowledgement' AND created_at >= $1",
        )
        .bind(since)
        .fetch_one(c)
        .await?);
        Ok(u64::try_from(count).unwrap_or(0))
    }

    #[tracing::instrument(skip_all)]
    async fn count_acknowledgements_since(
        &mut self,
        recipient: &ChannelIdentity,
        since: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let (kind, key) = identity_parts(recipient);
        let count: i64 = on_engine!(self.conn(), |c| sqlx::query_scalar(
            "SELECT COUNT(*) FROM outbox
             WHERE recipient_kind = $1 AND recipient_key = $2 AND created_at >= $3
               AND kind = 'acknowledgement'",
        )
        .bind(kind)
        .bind(&key)
        .bind(since)
        .fetch_one(c)
        .await?);
        Ok(u64::try_from(count).unwrap_or(0))
    }

    #[tracing::instrument(skip_all)]
    async fn thread_of_outbound(
        &mut self,
        rfc_message_id: &RfcMessageId,
    ) -> Result<Option<ThreadSummary>, StoreError> {
        let row: Option<ThreadSummaryRow> = on_engine!(self.conn(), |c| sqlx::query_as(
            "SELECT t.id, t.contact_id, t.reference, t.status, t.channel
             FROM outbox o JOIN threads t ON t.id = o.thread_id
             WHERE o.rfc_message_id = $1",
        )
        .bind(rfc_message_id.as_ref())
        .fetch_optional(c)
        .await?);
        row.map(TryInto::try_into).transpose()
    }

    #[tracing::instrument(skip_all)]
    async fn fail_outbound_by_rfc_id(
        &mut self,
        rfc_message_id: &RfcMessageId,
        error: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let failed = on_engine!(self.conn(), |c| sqlx::query(
            "UPDATE outbox
             SET state = 'failed', last_error = $2, lease_until = NULL, updated_at = $3
             WHERE rfc_message_id = $1 AND state <> 'failed'",
        )
        .bind(rfc_message_id.as_ref())
        .bind(error)
        .bind(at)
        .execute(c)
        .await?
        .rows_affected());
        Ok(failed > 0)
    }

    #[tracing::instrument(skip_all, fields(thread_id = %id))]
    async fn lock_thread(&mut self, id: ThreadId) -> Result<Option<ThreadRecord>, StoreError> {
        let sql = format!(
            "UPDATE threads SET version = version WHERE id = $1 RETURNING {THREAD_COLUMNS}"
        );
        let row: Option<ThreadRow> = on_engine!(self.conn(), |c| sqlx::query_as(&sql)
            .bind(Text(id))
            .fetch_optional(c)
            .await?);
        row.map(TryInto::try_into).transpose()
    }

    #[tracing::instrument(skip_all, fields(thread_id = %id, expected_version = expected_version))]
    async fn save_thread_fields(
        &mut self,
        id: ThreadId,
        expected_version: i64,
        status: ThreadStatus,
        assignee_id: Option<&str>,
        department: Option<&str>,
        due_at: Option<DateTime<Utc>>,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let saved = on_engine!(self.conn(), |c| sqlx::query(
            "UPDATE threads
             SET status = $3, assignee_id = $4, department = $5, updated_at = $6,
                 due_at = $7, version = version + 1
             WHERE id = $1 AND version = $2",
        )
        .bind(Text(id))
        .bind(expected_version)
        .bind(status.as_str())
        .bind(assignee_id)
        .bind(department)
        .bind(at)
        .bind(due_at)
        .execute(c)
        .await?
        .rows_affected());
        Ok(saved == 1)
    }

    #[tracing::instrument(skip_all, fields(thread_id = %id, expected_version = expected_version))]
    async fn set_thread_topic(
        &mut self,
        id: ThreadId,
        expected_version: i64,
        topic: Topic,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let saved = on_engine!(self.conn(), |c| sqlx::query(
            "UPDATE threads SET topic = $3, topic_source = 'agent', updated_at = $4,
                 version = version + 1
             WHERE id = $1 AND version = $2",
        )
        .bind(Text(id))
        .bind(expected_version)
        .bind(topic.as_str())
        .bind(at)
        .execute(c)
        .await?
        .rows_affected());
        Ok(saved == 1)
    }

    #[tracing::instrument(skip_all, fields(contact_id = %contact))]
    async fn refusal_stands(
        &mut self,
        contact: ContactId,
        today: NaiveDate,
    ) -> Result<bool, StoreError> {
        let found: Option<String> = on_engine!(self.conn(), |c| sqlx::query_scalar(
            "SELECT id FROM service_refusals
             WHERE contact_id = $1 AND ends_on >= $2 AND lifted_at IS NULL
             LIMIT 1",
        )
        .bind(Text(contact))
        .bind(today)
        .fetch_optional(c)
        .await?);
        Ok(found.is_some())
    }

    #[tracing::instrument(skip_all, fields(contact_id = %contact, user_id = %user_id))]
    async fn insert_refusal(
        &mut self,
        contact: ContactId,
        reason: &str,
        ends_on: NaiveDate,
        user_id: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError> {
        let id = uuid::Uuid::now_v7();
        let inserted = on_engine!(self.conn(), |c| {
            sqlx::query(
            "INSERT INTO service_refusals (id, contact_id, reason, ends_on, decided_by, decided_at)
             SELECT $1, $2, $3, $4, $5, $6
             WHERE EXISTS (SELECT 1 FROM contacts WHERE id = $2)",
        )
        .bind(Text(id))
        .bind(Text(contact))
        .bind(reason)
        .bind(ends_on)
        .bind(user_id)
        .bind(at)
        .execute(c)
        .await?
        .rows_affected()
        });
        Ok((inserted == 1).then(|| id.to_string()))
    }

    #[tracing::instrument(skip_all, fields(thread_id = %id))]
    async fn flag_thread(&mut self, id: ThreadId) -> Result<(), StoreError> {
        on_engine!(self.conn(), |c| sqlx::query(
            "UPDATE threads SET flagged = $2 WHERE id = $1"
        )
        .bind(Text(id))
        .bind(true)
        .execute(c)
        .await?
        .rows_affected());
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(action = %entry.action))]
    async fn append_audit(&mut self, entry: &AuditEntry) -> Result<(), StoreError> {
        insert_audit(self.conn(), entry).await
    }

    #[tracing::instrument(skip_all, fields(thread_id = %thread, kind = kind.as_str()))]
    async fn insert_note(
        &mut self,
        thread: ThreadId,
        author_id: &str,
        kind: NoteKind,
        phone: Option<&str>,
        body: &str,
        at: DateTime<Utc>,
    ) -> Result<String, StoreError> {
        let id = uuid::Uuid::now_v7();
        on_engine!(self.conn(), |c| sqlx::query(
            "INSERT INTO thread_notes (id, thread_id, author_id, body, created_at, kind, phone)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(Text(id))
        .bind(Text(thread))
        .bind(author_id)
        .bind(body)
        .bind(at)
        .bind(kind.as_str())
        .bind(phone)
        .execute(c)
        .await?
        .rows_affected());
        Ok(id.to_string())
    }

    #[tracing::instrument(skip_all, fields(thread_id = %thread))]
    async fn reply_target(&mut self, thread: ThreadId) -> Result<Option<ReplyTarget>, StoreError> {
        let row: Option<(
            String,
            String,
            String,
            Option<String>,
            String,
            Option<String>,
        )> = on_engine!(self.conn(), |c| sqlx::query_as(
            "SELECT m.sender_kind, m.sender_key, m.channel, m.rfc_message_id, m.language,
                        c.display_name
                 FROM messages m JOIN contacts c ON c.id = m.contact_id
                 WHERE m.thread_id = $1 AND m.direction = 'inbound' AND m.kind = 'citizen'
                 ORDER BY m.received_at DESC, m.id DESC LIMIT 1",
        )
        .bind(Text(thread))
        .fetch_optional(c)
        .await?);
        let Some((kind, key, channel, rfc, language, name)) = row else {
            return Ok(None);
        };
        Ok(Some(ReplyTarget {
            identity: ChannelIdentity::from_parts(&kind, &key)
                .map_err(|e| StoreError::Internal(e.into()))?,
            channel: channel
                .parse()
                .map_err(|e: models::ChannelError| StoreError::Internal(e.into()))?,
            rfc_message_id: rfc.and_then(|r| RfcMessageId::parse(&r).ok()),
            language: if language == "en" {
                Language::En
            } else {
                Language::Fr
            },
            name,
        }))
    }

    #[tracing::instrument(skip_all, fields(message_id = %message, user_id = %user_id))]
    async fn record_review_decision(
        &mut self,
        message: MessageId,
        decision: &str,
        kind: Option<&str>,
        comment: &str,
        user_id: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<(bool, ThreadId)>, StoreError> {
        let thread: Option<String> = on_engine!(self.conn(), |c| sqlx::query_scalar(
            "SELECT m.thread_id FROM messages m JOIN classifications c ON c.message_id = m.id
             WHERE m.id = $1 AND c.abuse_verdict IN ('abusive', 'to_verify')",
        )
        .bind(Text(message))
        .fetch_optional(c)
        .await?);
        let Some(thread) = thread else {
            return Ok(None);
        };
        let thread = ThreadId::parse(&thread).map_err(|e| StoreError::Internal(e.into()))?;
        let recorded = on_engine!(self.conn(), |c| sqlx::query(
            "INSERT INTO review_decisions
                 (message_id, decision, kind, comment, decided_by, decided_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT DO NOTHING",
        )
        .bind(Text(message))
        .bind(decision)
        .bind(kind)
        .bind(comment)
        .bind(user_id)
        .bind(at)
        .execute(c)
        .await?
        .rows_affected());
        Ok(Some((recorded == 1, thread)))
    }

    #[tracing::instrument(skip_all, fields(thread_id = %id))]
    async fn raise_thread(&mut self, id: ThreadId, at: DateTime<Utc>) -> Result<(), StoreError> {
        on_engine!(self.conn(), |c| sqlx::query(
            "UPDATE threads SET status = 'awaiting_agent', updated_at = $2,
                 version = version + 1
             WHERE id = $1",
        )
        .bind(Text(id))
        .bind(at)
        .execute(c)
        .await?
        .rows_affected());
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn commit(self: Box<Self>) -> Result<(), StoreError> {
        self.into_transaction().commit().await
    }
}

#[async_trait]
impl<B: Backend> Store for B {
    fn engine(&self) -> Engine {
        self.writer().engine()
    }

    #[tracing::instrument(skip_all)]
    async fn migrate(&self) -> Result<(), StoreError> {
        match self.writer() {
            Db::Sqlite(pool) => sqlite::migrate(pool).await,
            Db::Postgres(pool) => postgres::migrate(pool).await,
        }
    }

    #[tracing::instrument(skip_all)]
    async fn ping(&self) -> Result<(), StoreError> {
        on_engine!(self.reader(), |c| sqlx::query("SELECT 1")
            .execute(c)
            .await?
            .rows_affected());
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn begin(&self) -> Result<Box<dyn StoreTx>, StoreError> {
        Ok(match self.writer().begin().await? {
            Db::Sqlite(tx) => Box::new(sqlite::SqliteTx { tx }),
            Db::Postgres(tx) => Box::new(postgres::PostgresTx { tx }),
        })
    }

    #[tracing::instrument(skip_all, fields(scope = %scope))]
    async fn find_saved_response(
        &self,
        scope: &str,
        key: &str,
    ) -> Result<Option<SavedResponse>, StoreError> {
        let row: Option<(String, i64, String)> = on_engine!(self.reader(), |c| sqlx::query_as(
            "SELECT fingerprint, response_status, response_body
             FROM idempotency_keys WHERE scope = $1 AND key = $2",
        )
        .bind(scope)
        .bind(key)
        .fetch_optional(c)
        .await?);
        row.map(|(fingerprint, status, body)| {
            Ok(SavedResponse {
                fingerprint,
                status: u16::try_from(status)
                    .map_err(|e| StoreError::corrupt("saved status", e))?,
                body,
            })
        })
        .transpose()
    }

    #[tracing::instrument(skip_all, fields(%channel))]
    async fn find_inbound(
        &self,
        channel: Channel,
        external_id: &ExternalMessageId,
    ) -> Result<Option<(MessageId, ThreadSummary)>, StoreError> {
        #[derive(sqlx::FromRow)]
        struct Found {
            message_id: String,
            #[sqlx(flatten)]
            thread: ThreadSummaryRow,
        }
        let row: Option<Found> = on_engine!(self.reader(), |c| sqlx::query_as(
            "SELECT k.message_id, t.id, t.contact_id, t.reference, t.status, t.channel
             FROM inbound_keys k
             JOIN messages m ON m.id = k.message_id
             JOIN threads t ON t.id = m.thread_id
             WHERE k.channel = $1 AND k.external_id = $2",
        )
        .bind(channel.as_str())
        .bind(external_id.as_ref())
        .fetch_optional(c)
        .await?);
        row.map(|found| {
            Ok((
                MessageId::parse(&found.message_id)
                    .map_err(|e| StoreError::corrupt("message id", e))?,
                found.thread.try_into()?,
            ))
        })
        .transpose()
    }

    #[tracing::instrument(skip_all, fields(thread_id = %id))]
    async fn get_thread(&self, id: ThreadId) -> Result<ThreadRecord, StoreError> {
        let sql = format!("SELECT {THREAD_COLUMNS} FROM threads WHERE id = $1");
        let row: Option<ThreadRow> = on_engine!(self.reader(), |c| sqlx::query_as(&sql)
            .bind(Text(id))
            .fetch_optional(c)
            .await?);
        row.ok_or(StoreError::NotFound)?.try_into()
    }

    #[tracing::instrument(skip_all, fields(%reference))]
    async fn find_thread_by_reference(
        &self,
        reference: &ReferenceNumber,
    ) -> Result<Option<ThreadRecord>, StoreError> {
        let sql = format!("SELECT {THREAD_COLUMNS} FROM threads WHERE reference = $1");
        let row: Option<ThreadRow> = on_engine!(self.reader(), |c| sqlx::query_as(&sql)
            .bind(Text(reference))
            .fetch_optional(c)
            .await?);
        row.map(TryInto::try_into).transpose()
    }

    #[tracing::instrument(skip_all, fields(thread_id = %thread))]
    async fn list_messages(&self, thread: ThreadId) -> Result<Vec<MessageRecord>, StoreError> {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE thread_id = $1
             ORDER BY received_at, created_at, id"
        );
        let rows: Vec<MessageRow> = on_engine!(self.reader(), |c| sqlx::query_as(&sql)
            .bind(Text(thread))
            .fetch_all(c)
            .await?);
        with_details(self.reader(), thread, rows, None).await
    }

    #[tracing::instrument(skip_all, fields(thread_id = %thread, limit = limit))]
    async fn list_messages_page(
        &self,
        thread: ThreadId,
        before: Option<&Cursor>,
        limit: u32,
    ) -> Result<MessagePage, StoreError> {
        let limit = limit.clamp(1, MAX_MESSAGE_PAGE);
        let mut rows = message_page_rows(self.reader(), thread, before, limit).await?;
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        rows.reverse();
        let older = if more {
            rows.first().map(|r| Cursor {
                at: r.received_at,
                id: r.id.clone(),
            })
        } else {
            None
        };
        let range = match (rows.first(), rows.last()) {
            (Some(first), Some(last)) => Some((first.received_at, last.received_at)),
            _ => None,
        };
        let messages = with_details(self.reader(), thread, rows, range).await?;
        Ok(MessagePage { messages, older })
    }

    #[tracing::instrument(skip_all, fields(limit = limit))]
    async fn claim_classify_jobs(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<ClassifyJob>, StoreError> {
        let until = lease_until(now, lease)?;
        let claimed = match self.writer() {
            Db::Sqlite(pool) => sqlite::claim_classify_jobs(pool, until, now, limit).await?,
            Db::Postgres(pool) => postgres::claim_classify_jobs(pool, until, now, limit).await?,
        };
        let mut jobs = Vec::with_capacity(claimed.len());
        for id in claimed {
            let row: Option<ClassifyJobRow> = on_engine!(self.reader(), |c| sqlx::query_as(
                "SELECT id, subject, new_text, language FROM messages WHERE id = $1",
            )
            .bind(&id)
            .fetch_optional(c)
            .await?);
            if let Some(row) = row {
                jobs.push(row.try_into()?);
            }
        }
        Ok(jobs)
    }

    #[tracing::instrument(skip_all, fields(message_id = %message))]
    async fn save_classification(
        &self,
        message: MessageId,
        classification: &Classification,
        department: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let columns = ClassificationColumns::from_classification(classification);
        let mut tx = self.writer().begin().await?;
        let saved = on_engine!(tx.conn(), |c| sqlx::query(
            "INSERT INTO classifications
                 (message_id, topic, topic_score, topic_abstain, abuse_verdict, abuse_kind,
                  abuse_score, reasons, model_version, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT DO NOTHING",
        )
        .bind(Text(message))
        .bind(columns.topic)
        .bind(columns.topic_score)
        .bind(columns.topic_abstain.as_deref())
        .bind(columns.abuse_verdict)
        .bind(columns.abuse_kind)
        .bind(columns.abuse_score)
        .bind(columns.reasons.as_str())
        .bind(classification.model_version.as_str())
        .bind(now)
        .execute(c)
        .await?
        .rows_affected());
        if saved == 1 {
            if let Some(topic) = columns.topic {
                on_engine!(tx.conn(), |c| sqlx::query(
                    "UPDATE threads SET topic = $2, department = $3, topic_source = 'classifier'
                     WHERE id = (SELECT thread_id FROM messages WHERE id = $1)
                       AND topic IS NULL",
                )
                .bind(Text(message))
                .bind(topic)
                .bind(department)
                .execute(c)
                .await?
                .rows_affected());
            }
            if columns.flagged {
                on_engine!(tx.conn(), |c| sqlx::query(
                    "UPDATE threads SET flagged = $2
                     WHERE id = (SELECT thread_id FROM messages WHERE id = $1)",
                )
                .bind(Text(message))
                .bind(true)
                .execute(c)
                .await?
                .rows_affected());
            }
        }
        on_engine!(tx.conn(), |c| sqlx::query(
            "DELETE FROM classify_jobs WHERE message_id = $1"
        )
        .bind(Text(message))
        .execute(c)
        .await?
        .rows_affected());
        tx.commit().await
    }

    #[tracing::instrument(skip_all, fields(outbox_id = tracing::field::Empty))]
    async fn claim_outbox_job(
        &self,
        channels: &[Channel],
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Option<OutboxJob>, StoreError> {
        if channels.is_empty() {
            return Ok(None);
        }
        let until = lease_until(now, lease)?;
        let channels = channel_list(channels);
        let claimed = match self.writer() {
            Db::Sqlite(pool) => sqlite::claim_outbox_row(pool, until, now, &channels).await?,
            Db::Postgres(pool) => postgres::claim_outbox_row(pool, until, now, &channels).await?,
        };
        let Some(id) = claimed else {
            return Ok(None);
        };
        tracing::Span::current().record("outbox_id", id.as_str());
        let row: OutboxJobRow = on_engine!(self.writer(), |c| sqlx::query_as(
            "SELECT o.id, o.thread_id, o.channel, o.kind, o.recipient_kind, o.recipient_key,
                    o.language, o.rfc_message_id, o.payload, o.attempts, o.max_attempts,
                    t.last_citizen_message_at
             FROM outbox o JOIN threads t ON t.id = o.thread_id
             WHERE o.id = $1",
        )
        .bind(&id)
        .fetch_one(c)
        .await?);
        Ok(Some(row.try_into()?))
    }

    #[tracing::instrument(skip_all, fields(outbox_id = %job.id, thread_id = %job.thread_id))]
    async fn complete_outbox_job(
        &self,
        job: &OutboxJob,
        sent: &SentMessage,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer().begin().await?;
        let message_id = MessageId::generate();
        let (recipient_kind, recipient_key) = identity_parts(&job.recipient);
        on_engine!(tx.conn(), |c| sqlx::query(
            "INSERT INTO messages
                 (id, thread_id, contact_id, direction, channel, kind, external_id,
                  rfc_message_id, sender_kind, sender_key, subject, body_text, new_text,
                  language, received_at, created_at)
             SELECT $1, t.id, t.contact_id, 'outbound', $3, $4, $5, $6, $7, $8, $9, $10,
                    $10, $11, $12, $12
             FROM threads t WHERE t.id = $2",
        )
        .bind(Text(message_id))
        .bind(Text(job.thread_id))
        .bind(job.channel.as_str())
        .bind(job.kind.as_str())
        .bind(sent.provider_message_id.as_deref())
        .bind(job.rfc_message_id.as_ref().map(AsRef::<str>::as_ref))
        .bind(recipient_kind)
        .bind(&recipient_key)
        .bind(sent.subject.as_deref())
        .bind(sent.text.as_str())
        .bind(job.language.as_str())
        .bind(now)
        .execute(c)
        .await?
        .rows_affected());
        on_engine!(tx.conn(), |c| sqlx::query(
            "UPDATE outbox
             SET state = 'sent', sent_message_id = $2, provider_message_id = $3,
                 sent_at = $4, updated_at = $4, lease_until = NULL, last_error = NULL
             WHERE id = $1",
        )
        .bind(Text(job.id))
        .bind(Text(message_id))
        .bind(sent.provider_message_id.as_deref())
        .bind(now)
        .execute(c)
        .await?
        .rows_affected());
        on_engine!(tx.conn(), |c| sqlx::query(
            "UPDATE threads SET last_message_at = $2, updated_at = $2 WHERE id = $1"
        )
        .bind(Text(job.thread_id))
        .bind(now)
        .execute(c)
        .await?
        .rows_affected());
        tx.commit().await
    }

    #[tracing::instrument(skip_all, fields(outbox_id = %id))]
    async fn retry_outbox_job(
        &self,
        id: OutboxId,
        next_attempt_at: DateTime<Utc>,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_engine!(self.writer(), |c| sqlx::query(
            "UPDATE outbox
             SET state = 'pending', next_attempt_at = $2, last_error = $3,
                 lease_until = NULL, updated_at = $4
             WHERE id = $1 AND state = 'sending'",
        )
        .bind(Text(id))
        .bind(next_attempt_at)
        .bind(error)
        .bind(now)
        .execute(c)
        .await?
        .rows_affected());
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(outbox_id = %id))]
    async fn fail_outbox_job(
        &self,
        id: OutboxId,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_engine!(self.writer(), |c| sqlx::query(
            "UPDATE outbox
             SET state = 'failed', last_error = $2, lease_until = NULL, updated_at = $3
             WHERE id = $1 AND state = 'sending'",
        )
        .bind(Text(id))
        .bind(error)
        .bind(now)
        .execute(c)
        .await?
        .rows_affected());
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn expire_outbox_leases(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(on_engine!(self.writer(), |c| sqlx::query(
            "UPDATE outbox
             SET state = 'unconfirmed', lease_until = NULL, updated_at = $1,
                 last_error = 'attempt_outcome_unknown'
             WHERE state = 'sending' AND lease_until < $1",
        )
        .bind(now)
        .execute(c)
        .await?
        .rows_affected()))
    }

    #[tracing::instrument(skip_all)]
    async fn activate_waiting_outbox(
        &self,
        channels: &[Channel],
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let channels = channel_list(channels);
        Ok(on_engine!(self.writer(), |c| sqlx::query(
            "UPDATE outbox SET state = 'pending', updated_at = $1
             WHERE state = 'waiting_channel'
               AND (',' || $2 || ',') LIKE ('%,' || channel || ',%')",
        )
        .bind(now)
        .bind(&channels)
        .execute(c)
        .await?
        .rows_affected()))
    }

    #[tracing::instrument(skip_all, fields(outbox_id = %id))]
    async fn requeue_outbox_job(&self, id: OutboxId, now: DateTime<Utc>) -> Result<(), StoreError> {
        let requeued = on_engine!(self.writer(), |c| sqlx::query(
            "UPDATE outbox
             SET state = 'pending', next_attempt_at = $2, max_attempts = attempts + 1,
                 updated_at = $2
             WHERE id = $1 AND state IN ('failed', 'unconfirmed')",
        )
        .bind(Text(id))
        .bind(now)
        .execute(c)
        .await?
        .rows_affected());
        if requeued == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(thread_id = %thread))]
    async fn list_outbox(&self, thread: ThreadId) -> Result<Vec<OutboxRecord>, StoreError> {
        let rows: Vec<OutboxRecordRow> = on_engine!(self.reader(), |c| sqlx::query_as(
            "SELECT id, thread_id, channel, kind, state, attempts, last_error,
                    provider_message_id, created_at, sent_at, sent_message_id
             FROM outbox WHERE thread_id = $1 ORDER BY created_at, id",
        )
        .bind(Text(thread))
        .fetch_all(c)
        .await?);
        rows.into_iter().map(TryInto::try_into).collect()
    }

    #[tracing::instrument(skip_all)]
    async fn attachment_file(&self, id: &str) -> Result<Option<AttachmentFile>, StoreError> {
        let row: Option<(Option<String>, String, Option<Vec<u8>>)> =
            on_engine!(self.reader(), |c| sqlx::query_as(
                "SELECT filename, content_type, content FROM attachments
                 WHERE id = $1 AND state = 'stored'",
            )
            .bind(id)
            .fetch_optional(c)
            .await?);
        Ok(row.and_then(|(filename, content_type, bytes)| {
            Some(AttachmentFile {
                filename,
                content_type,
                bytes: bytes?,
            })
        }))
    }

    #[tracing::instrument(skip_all, fields(thread_id = %thread))]
    async fn unsent_outbox_jobs(&self, thread: ThreadId) -> Result<Vec<OutboxJob>, StoreError> {
        let rows: Vec<OutboxJobRow> = on_engine!(self.reader(), |c| sqlx::query_as(
            "SELECT o.id, o.thread_id, o.channel, o.kind, o.recipient_kind, o.recipient_key,
                    o.language, o.rfc_message_id, o.payload, o.attempts, o.max_attempts,
                    t.last_citizen_message_at
             FROM outbox o JOIN threads t ON t.id = o.thread_id
             WHERE o.thread_id = $1 AND o.sent_message_id IS NULL
             ORDER BY o.created_at, o.id",
        )
        .bind(Text(thread))
        .fetch_all(c)
        .await?);
        rows.into_iter().map(TryInto::try_into).collect()
    }

    #[tracing::instrument(skip_all)]
    async fn count_outbox_by_state(&self) -> Result<Vec<(OutboxState, u64)>, StoreError> {
        let rows: Vec<(String, i64)> = on_engine!(self.reader(), |c| sqlx::query_as(
            "SELECT state, COUNT(*) FROM outbox GROUP BY state ORDER BY state"
        )
        .fetch_all(c)
        .await?);
        rows.into_iter()
            .map(|(state, count)| {
                Ok((
                    OutboxState::parse(&state)
                        .ok_or_else(|| StoreError::corrupt("outbox state", &state))?,
                    u64::try_from(count).map_err(|e| StoreError::corrupt("count", e))?,
                ))
            })
            .collect()
    }

    #[tracing::instrument(skip_all, fields(source = %source, webhook_id = tracing::field::Empty))]
    async fn save_webhook(
        &self,
        source: &str,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<String, StoreError> {
        use sha2::Digest as _;
        let digest = hex::encode(sha2::Sha256::digest(body));
        let stored: Option<String> = on_engine!(self.writer(), |c| sqlx::query_scalar(
            "INSERT INTO webhook_events (id, source, body, received_at, body_sha256)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (source, body_sha256) DO NOTHING
             RETURNING id",
        )
        .bind(Text(uuid::Uuid::now_v7()))
        .bind(source)
        .bind(body)
        .bind(now)
        .bind(&digest)
        .fetch_optional(c)
        .await?);
        let id = match stored {
            Some(id) => id,
            // A replay of a body already stored: the stored one stands.
            None => on_engine!(self.writer(), |c| sqlx::query_scalar(
                "SELECT id FROM webhook_events WHERE source = $1 AND body_sha256 = $2",
            )
            .bind(source)
            .bind(&digest)
            .fetch_one(c)
            .await?),
        };
        tracing::Span::current().record("webhook_id", id.as_str());
        Ok(id)
    }

    #[tracing::instrument(skip_all)]
    async fn purge_processed_webhooks(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(on_engine!(self.writer(), |c| sqlx::query(
            "DELETE FROM webhook_events WHERE processed_at IS NOT NULL AND processed_at < $1",
        )
        .bind(before)
        .execute(c)
        .await?
        .rows_affected()))
    }

    #[tracing::instrument(skip_all, fields(limit = limit))]
    async fn claim_webhooks(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<StoredWebhook>, StoreError> {
        let until = lease_until(now, lease)?;
        let rows = match self.writer() {
            Db::Sqlite(pool) => sqlite::claim_webhooks(pool, until, now, limit).await?,
            Db::Postgres(pool) => postgres::claim_webhooks(pool, until, now, limit).await?,
        };
        let mut claimed = rows
            .into_iter()
            .map(|(id, source, body, attempts)| {
                Ok(StoredWebhook {
                    id,
                    source,
                    body,
                    attempts: to_u32(attempts, "webhook attempts")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        // Ids are time-ordered: process in arrival order.
        claimed.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(claimed)
    }

    #[tracing::instrument(skip_all, fields(webhook_id = %id))]
    async fn finish_webhook(
        &self,
        id: &str,
        error: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_engine!(self.writer(), |c| sqlx::query(
            "UPDATE webhook_events SET processed_at = $2, last_error = $3, lease_until = NULL
             WHERE id = $1",
        )
        .bind(id)
        .bind(now)
        .bind(error)
        .execute(c)
        .await?
        .rows_affected());
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(%channel))]
    async fn mark_message_deleted(
        &self,
        channel: Channel,
        external_id: &ExternalMessageId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.writer().begin().await?;
        let found: Option<String> = on_engine!(tx.conn(), |c| sqlx::query_scalar(
            "UPDATE messages SET deleted_at = $3
             WHERE channel = $1 AND external_id = $2 AND direction = 'inbound'
               AND deleted_at IS NULL
             RETURNING id",
        )
        .bind(channel.as_str())
        .bind(external_id.as_ref())
        .bind(now)
        .fetch_optional(c)
        .await?);
        let Some(id) = found else {
            return Ok(false);
        };
        // The text stays for the record; the trace says who hid it and when.
        let entry = AuditEntry {
            at: now,
            actor: format!("citizen:{channel}"),
            action: "message.unsent".to_owned(),
            subject: format!("message:{id}"),
            before: Some(serde_json::json!({ "deleted_at": null }).to_string()),
            after: Some(serde_json::json!({ "deleted_at": now }).to_string()),
        };
        insert_audit(tx.conn(), &entry).await?;
        tx.commit().await?;
        Ok(true)
    }

    #[tracing::instrument(skip_all)]
    async fn list_audit(&self, subject: &str) -> Result<Vec<AuditEntry>, StoreError> {
        type AuditRow = (
            DateTime<Utc>,
            String,
            String,
            String,
            Option<String>,
            Option<String>,
        );
        let rows: Vec<AuditRow> = on_engine!(self.reader(), |c| sqlx::query_as(
            "SELECT at, actor, action, subject, before, after
             FROM audit_log WHERE subject = $1 ORDER BY at, id",
        )
        .bind(subject)
        .fetch_all(c)
        .await?);
        Ok(rows
            .into_iter()
            .map(|(at, actor, action, subject, before, after)| AuditEntry {
                at,
                actor,
                action,
                subject,
                before,
                after,
            })
            .collect())
    }

    #[tracing::instrument(skip_all, fields(mailbox = %mailbox))]
    async fn mailbox_position(&self, mailbox: &str) -> Result<Option<MailboxPosition>, StoreError> {
        let row: Option<(i64, i64)> = on_engine!(self.writer(), |c| sqlx::query_as(
            "SELECT uid_validity, last_uid FROM mailbox_checkpoints WHERE mailbox = $1",
        )
        .bind(mailbox)
        .fetch_optional(c)
        .await?);
        row.map(|(validity, uid)| {
            Ok(MailboxPosition {
                uid_validity: u32::try_from(validity)
                    .map_err(|e| StoreError::Internal(e.into()))?,
                last_uid: u32::try_from(uid).map_err(|e| StoreError::Internal(e.into()))?,
            })
        })
        .transpose()
    }

    #[tracing::instrument(skip_all, fields(mailbox = %mailbox))]
    async fn try_lock_mailbox(
        &self,
        mailbox: &str,
        owner: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<Option<Box<dyn MailboxLock>>, StoreError> {
        match self.writer() {
            Db::Sqlite(pool) => sqlite::lock_mailbox(pool, mailbox, owner, now, ttl).await,
            Db::Postgres(pool) => postgres::lock_mailbox(pool, mailbox).await,
        }
    }

    #[tracing::instrument(skip_all, fields(source = %source, kind = %kind))]
    async fn raise_alarm(
        &self,
        source: &str,
        kind: &str,
        message: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_engine!(self.writer(), |c| sqlx::query(
            "INSERT INTO alarms
                 (source, kind, message, occurrences, first_raised_at, last_raised_at)
             VALUES ($1, $2, $3, 1, $4, $4)
             ON CONFLICT (source, kind) DO UPDATE
             SET message = excluded.message, last_raised_at = excluded.last_raised_at,
                 occurrences = CASE WHEN alarms.cleared_at IS NULL
                                    THEN alarms.occurrences + 1 ELSE 1 END,
                 first_raised_at = CASE WHEN alarms.cleared_at IS NULL
                                        THEN alarms.first_raised_at
                                        ELSE excluded.first_raised_at END,
                 cleared_at = NULL",
        )
        .bind(source)
        .bind(kind)
        .bind(message)
        .bind(now)
        .execute(c)
        .await?
        .rows_affected());
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(source = %source, kind = %kind))]
    async fn clear_alarm(
        &self,
        source: &str,
        kind: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let cleared = on_engine!(self.writer(), |c| sqlx::query(
            "UPDATE alarms SET cleared_at = $3
             WHERE source = $1 AND kind = $2 AND cleared_at IS NULL",
        )
        .bind(source)
        .bind(kind)
        .bind(now)
        .execute(c)
        .await?
        .rows_affected());
        Ok(cleared > 0)
    }

    #[tracing::instrument(skip_all, fields(all = all))]
    async fn list_alarms(&self, all: bool) -> Result<Vec<Alarm>, StoreError> {
        type AlarmRow = (
            String,
            String,
            String,
            i64,
            DateTime<Utc>,
            DateTime<Utc>,
            Option<DateTime<Utc>>,
        );
        let rows: Vec<AlarmRow> = on_engine!(self.reader(), |c| {
            sqlx::query_as(
            "SELECT source, kind, message, occurrences, first_raised_at, last_raised_at, cleared_at
             FROM alarms WHERE $1 OR cleared_at IS NULL
             ORDER BY cleared_at IS NOT NULL, last_raised_at DESC",
        )
        .bind(all)
        .fetch_all(c)
        .await?
        });
        Ok(rows
            .into_iter()
            .map(
                |(source, kind, message, occurrences, first, last, cleared)| Alarm {
                    source,
                    kind,
                    message,
                    occurrences: u64::try_from(occurrences).unwrap_or(0),
                    first_raised_at: first,
                    last_raised_at: last,
                    cleared_at: cleared,
                },
            )
            .collect())
    }

    #[tracing::instrument(skip_all, fields(mailbox = %mailbox))]
    async fn list_quarantined_mail(
        &self,
        mailbox: &str,
    ) -> Result<Vec<QuarantinedMail>, StoreError> {
        let rows: Vec<(String, String, i64, String, i64, bool)> =
            on_engine!(self.reader(), |c| sqlx::query_as(
                "SELECT id, mailbox, uid, reason, size_bytes, raw IS NOT NULL
                 FROM quarantined_mail WHERE mailbox = $1 ORDER BY received_at, id",
            )
            .bind(mailbox)
            .fetch_all(c)
            .await?);
        rows.into_iter()
            .map(|(id, mailbox, uid, reason, size, raw_kept)| {
                Ok(QuarantinedMail {
                    id,
                    mailbox,
                    uid: u32::try_from(uid).map_err(|e| StoreError::Internal(e.into()))?,
                    reason,
                    size_bytes: u64::try_from(size).unwrap_or(0),
                    raw_kept,
                })
            })
            .collect()
    }

    #[tracing::instrument(skip_all, fields(outbox_id = %id))]
    async fn confirm_outbox_echo(
        &self,
        id: OutboxId,
        provider_message_id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let confirmed = on_engine!(self.writer(), |c| sqlx::query(
            "UPDATE outbox
             SET state = 'sent', provider_message_id = COALESCE(provider_message_id, $2),
                 sent_at = COALESCE(sent_at, $3), last_error = NULL, updated_at = $3
             WHERE id = $1 AND state IN ('unconfirmed', 'sending')",
        )
        .bind(Text(id))
        .bind(provider_message_id)
        .bind(now)
        .execute(c)
        .await?
        .rows_affected());
        Ok(confirmed > 0)
    }

    #[tracing::instrument(skip_all, fields(read = read))]
    async fn mark_outbound_receipt(
        &self,
        recipient: &ChannelIdentity,
        provider_ids: &[String],
        watermark: Option<DateTime<Utc>>,
        read: bool,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let (kind, key) = identity_parts(recipient);
        let sql = if read {
            "UPDATE outbox SET read_at = COALESCE(read_at, $5),
                 delivered_at = COALESCE(delivered_at, $5)
             WHERE recipient_kind = $1 AND recipient_key = $2 AND state = 'sent'
               AND read_at IS NULL
               AND ((',' || $3 || ',') LIKE ('%,' || provider_message_id || ',%')
                    OR sent_at <= $4)"
        } else {
            "UPDATE outbox SET delivered_at = COALESCE(delivered_at, $5)
             WHERE recipient_kind = $1 AND recipient_key = $2 AND state = 'sent'
               AND delivered_at IS NULL
               AND ((',' || $3 || ',') LIKE ('%,' || provider_message_id || ',%')
                    OR sent_at <= $4)"
        };
        let provider_ids = provider_ids.join(",");
        Ok(on_engine!(self.writer(), |c| sqlx::query(sql)
            .bind(kind)
            .bind(&key)
            .bind(&provider_ids)
            .bind(watermark)
            .bind(now)
            .execute(c)
            .await?
            .rows_affected()))
    }
}
