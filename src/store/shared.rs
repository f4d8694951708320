//! The SQL both engines share. SQLite (3.35+) and PostgreSQL agree on `$N`
//! placeholders, `ON CONFLICT`, upserts and `RETURNING`, and both schemas
//! decode to the same Rust types, so the methods are written once here and
//! instantiated for each backend by [`impl_shared_store!`]. What differs
//! (pools, migrations, how a queue row is claimed) stays in `sqlite.rs` and
//! `postgres.rs`, which must define `ENGINE`, `MIGRATOR`, `CLAIM_OUTBOX_SQL`,
//! `CLAIM_CLASSIFY_SQL`, `CLAIM_WEBHOOKS_SQL`, `SERIALIZE_SQL` and the `writer()`/`reader()`
//! pools used below.

use models::{Channel, ChannelIdentity};

/// Comma-joined channel slugs for the `LIKE` membership test used by the
/// claim queries (the same expression works on both engines).
pub(super) fn channel_list(channels: &[Channel]) -> String {
    channels
        .iter()
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

pub(super) fn identity_parts(identity: &ChannelIdentity) -> (&'static str, String) {
    (identity.kind(), identity.key())
}

/// Instantiates `Store` for `$store` and `StoreTx` for `$tx` over `$db`.
macro_rules! impl_shared_store {
    ($store:ident, $tx:ident, $db:ty) => {
        impl $store {
            /// Turns message rows into records with their attachments and
            /// classifications, read for the thread (between the `range`
            /// dates when given, so one page costs one page).
            async fn with_details(
                &self,
                thread: models::ThreadId,
                rows: Vec<$crate::store::rows::MessageRow>,
                range: Option<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)>,
            ) -> Result<Vec<$crate::store::MessageRecord>, StoreError> {
                let mut messages = rows
                    .into_iter()
                    .map(TryInto::try_into)
                    .collect::<Result<Vec<$crate::store::MessageRecord>, _>>()?;
                if messages.is_empty() {
                    return Ok(messages);
                }
                // Without a range, the years 1 to 9999: both engines store them.
                let (from, to) = range.unwrap_or((
                    chrono::DateTime::<chrono::Utc>::from_timestamp(-62_135_596_800, 0)
                        .unwrap_or_default(),
                    chrono::DateTime::<chrono::Utc>::from_timestamp(253_402_300_799, 0)
                        .unwrap_or_default(),
                ));
                let attachments: Vec<$crate::store::rows::AttachmentRow> = sqlx::query_as(
                    "SELECT a.message_id, a.filename, a.content_type, a.size_bytes, a.sha256,
                            a.state, a.url, a.refused_reason
                     FROM attachments a JOIN messages m ON m.id = a.message_id
                     WHERE m.thread_id = $1 AND m.received_at >= $2 AND m.received_at <= $3
                     ORDER BY a.created_at, a.id",
                )
                .bind(thread.to_string())
                .bind(from)
                .bind(to)
                .fetch_all(self.reader())
                .await?;
                let classifications: Vec<$crate::store::rows::ClassificationRow> = sqlx::query_as(
                    "SELECT c.message_id, c.topic, c.topic_score, c.topic_abstain, c.abuse_verdict,
                            c.abuse_kind, c.abuse_score, c.reasons, c.model_version
                     FROM classifications c JOIN messages m ON m.id = c.message_id
                     WHERE m.thread_id = $1 AND m.received_at >= $2 AND m.received_at <= $3",
                )
                .bind(thread.to_string())
                .bind(from)
                .bind(to)
                .fetch_all(self.reader())
                .await?;
                let index: std::collections::HashMap<String, usize> = messages
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
        }

        #[async_trait::async_trait]
        impl $crate::store::StoreTx for $tx {
            async fn claim_idempotency_key(
                &mut self,
                scope: &str,
                key: &str,
                fingerprint: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query(
                    "INSERT INTO idempotency_keys
                         (scope, key, fingerprint, response_status, response_body, created_at)
                     VALUES ($1, $2, $3, 0, '', $4)
                     ON CONFLICT DO NOTHING",
                )
                .bind(scope)
                .bind(key)
                .bind(fingerprint)
                .bind(now)
                .execute(&mut *self.tx)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn save_idempotent_response(
                &mut self,
                scope: &str,
                key: &str,
                status: u16,
                body: &str,
            ) -> Result<(), StoreError> {
                sqlx::query(
                    "UPDATE idempotency_keys SET response_status = $3, response_body = $4
                     WHERE scope = $1 AND key = $2",
                )
                .bind(scope)
                .bind(key)
                .bind(i64::from(status))
                .bind(body)
                .execute(&mut *self.tx)
                .await?;
                Ok(())
            }

            async fn claim_inbound_key(
                &mut self,
                channel: models::Channel,
                external_id: &models::ExternalMessageId,
                message_id: models::MessageId,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query(
                    "INSERT INTO inbound_keys (channel, external_id, message_id)
                     VALUES ($1, $2, $3)
                     ON CONFLICT DO NOTHING",
                )
                .bind(channel.as_str())
                .bind(external_id.as_ref())
                .bind(message_id.to_string())
                .execute(&mut *self.tx)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn find_contact(
                &mut self,
                identity: &models::ChannelIdentity,
            ) -> Result<Option<models::ContactId>, StoreError> {
                let (kind, key) = $crate::store::shared::identity_parts(identity);
                let row: Option<(String,)> = sqlx::query_as(
                    "SELECT contact_id FROM contact_identities WHERE kind = $1 AND key = $2",
                )
                .bind(kind)
                .bind(key)
                .fetch_optional(&mut *self.tx)
                .await?;
                row.map(|(id,)| {
                    models::ContactId::parse(&id).map_err(|e| StoreError::corrupt("contact id", e))
                })
                .transpose()
            }

            async fn create_contact(
                &mut self,
                contact: &$crate::store::NewContact,
            ) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO contacts (id, display_name, language, phone, created_at, updated_at, name_key, unverified_email)
                     VALUES ($1, $2, $3, $4, $5, $5, $6, $7)",
                )
                .bind(contact.id.to_string())
                .bind(contact.display_name.as_deref())
                .bind(contact.language.as_str())
                .bind(contact.phone.as_ref().map(|p| p.as_ref().to_owned()))
                .bind(contact.at)
                .bind(contact.display_name.as_deref().and_then(models::name::name_key))
                .bind(contact.unverified_email.as_deref())
                .execute(&mut *self.tx)
                .await?;
                let Some(identity) = &contact.identity else {
                    return Ok(());
                };
                let (kind, key) = $crate::store::shared::identity_parts(identity);
                sqlx::query(
                    "INSERT INTO contact_identities (kind, key, contact_id, created_at)
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(kind)
                .bind(key)
                .bind(contact.id.to_string())
                .bind(contact.at)
                .execute(&mut *self.tx)
                .await?;
                Ok(())
            }

            async fn refresh_contact(
                &mut self,
                id: models::ContactId,
                name: Option<&str>,
                phone: Option<&models::PhoneNumber>,
                language: models::Language,
                at: chrono::DateTime<chrono::Utc>,
            ) -> Result<(), StoreError> {
                sqlx::query(
                    "UPDATE contacts
                     SET display_name = COALESCE(display_name, $2),
                         name_key = COALESCE(name_key, $6),
                         phone = COALESCE(phone, $3),
                         language = $4,
                         updated_at = $5
                     WHERE id = $1",
                )
                .bind(id.to_string())
                .bind(name)
                .bind(phone.map(|p| p.as_ref().to_owned()))
                .bind(language.as_str())
                .bind(at)
                .bind(name.and_then(models::name::name_key))
                .execute(&mut *self.tx)
                .await?;
                Ok(())
            }

            async fn thread_by_reference(
                &mut self,
                reference: &models::ReferenceNumber,
            ) -> Result<Option<$crate::store::ThreadSummary>, StoreError> {
                let row: Option<$crate::store::rows::ThreadSummaryRow> = sqlx::query_as(
                    "SELECT id, contact_id, reference, status, channel
                     FROM threads WHERE reference = $1",
                )
                .bind(reference.to_string())
                .fetch_optional(&mut *self.tx)
                .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn thread_by_rfc_ids(
                &mut self,
                ids: &[models::RfcMessageId],
            ) -> Result<Option<$crate::store::ThreadSummary>, StoreError> {
                for id in ids {
                    let row: Option<$crate::store::rows::ThreadSummaryRow> = sqlx::query_as(
                        "SELECT t.id, t.contact_id, t.reference, t.status, t.channel
                         FROM rfc_message_ids r JOIN threads t ON t.id = r.thread_id
                         WHERE r.rfc_message_id = $1",
                    )
                    .bind(id.as_ref())
                    .fetch_optional(&mut *self.tx)
                    .await?;
                    if let Some(row) = row {
                        return Ok(Some(row.try_into()?));
                    }
                }
                Ok(None)
            }

            async fn open_thread(
                &mut self,
                contact: models::ContactId,
                channel: models::Channel,
            ) -> Result<Option<$crate::store::ThreadSummary>, StoreError> {
                let row: Option<$crate::store::rows::ThreadSummaryRow> = sqlx::query_as(
                    "SELECT id, contact_id, reference, status, channel
                     FROM threads
                     WHERE contact_id = $1 AND channel = $2
                       AND category = 'request' AND status <> 'resolved'
                     ORDER BY last_message_at DESC
                     LIMIT 1",
                )
                .bind(contact.to_string())
                .bind(channel.as_str())
                .fetch_optional(&mut *self.tx)
                .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn next_reference(
                &mut self,
                prefix: &models::ReferencePrefix,
                year: u32,
            ) -> Result<models::ReferenceNumber, StoreError> {
                let (value,): (i64,) = sqlx::query_as(
                    "INSERT INTO reference_counters (prefix, year, last_value)
                     VALUES ($1, $2, 1)
                     ON CONFLICT (prefix, year)
                     DO UPDATE SET last_value = reference_counters.last_value + 1
                     RETURNING last_value",
                )
                .bind(prefix.as_ref())
                .bind(i64::from(year))
                .fetch_one(&mut *self.tx)
                .await?;
                let sequence = $crate::store::rows::to_u32(value, "reference sequence")?;
                models::ReferenceNumber::new(prefix.clone(), year, sequence).map_err(|e| {
                    StoreError::Internal(anyhow::anyhow!(
                        "Reference sequence of {year} exhausted: {e}"
                    ))
                })
            }

            async fn create_thread(
                &mut self,
                thread: &$crate::store::NewThread,
            ) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO threads
                         (id, reference, contact_id, channel, category, subject, status,
                          language, created_at, last_message_at, updated_at,
                          last_citizen_message_at, due_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $9, $10, $11)",
                )
                .bind(thread.id.to_string())
                .bind(thread.reference.as_ref().map(ToString::to_string))
                .bind(thread.contact_id.to_string())
                .bind(thread.channel.as_str())
                .bind(thread.category.as_str())
                .bind(thread.subject.as_deref())
                .bind(thread.status.as_str())
                .bind(thread.language.as_str())
                .bind(thread.at)
                .bind(thread.last_citizen_message_at)
                .bind(thread.due_at)
                .execute(&mut *self.tx)
                .await?;
                Ok(())
            }

            async fn touch_thread(
                &mut self,
                id: models::ThreadId,
                at: chrono::DateTime<chrono::Utc>,
                citizen_at: Option<chrono::DateTime<chrono::Utc>>,
                due_at: Option<chrono::DateTime<chrono::Utc>>,
            ) -> Result<(), StoreError> {
                match citizen_at {
                    Some(citizen_at) => {
                        sqlx::query(
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
                        .bind(id.to_string())
                        .bind(at)
                        .bind(citizen_at)
                        .bind(due_at)
                        .execute(&mut *self.tx)
                        .await?;
                    }
                    None => {
                        sqlx::query("UPDATE threads SET last_message_at = $2, updated_at = $2 WHERE id = $1")
                            .bind(id.to_string())
                            .bind(at)
                            .execute(&mut *self.tx)
                            .await?;
                    }
                }
                Ok(())
            }

            async fn insert_inbound_message(
                &mut self,
                new: &$crate::store::NewInboundMessage<'_>,
            ) -> Result<(), StoreError> {
                let m = new.message;
                let (sender_kind, sender_key) = $crate::store::shared::identity_parts(&m.sender);
                sqlx::query(
                    "INSERT INTO messages
                         (id, thread_id, contact_id, direction, channel, kind, external_id,
                          rfc_message_id, sender_kind, sender_key, sender_name, subject,
                          body_text, new_text, body_html, language, received_at, created_at)
                     VALUES ($1, $2, $3, 'inbound', $4, $5, $6, $7, $8, $9, $10, $11,
                             $12, $13, $14, $15, $16, $17)",
                )
                .bind(new.id.to_string())
                .bind(new.thread_id.to_string())
                .bind(new.contact_id.to_string())
                .bind(m.channel.as_str())
                .bind(m.kind.as_str())
                .bind(m.external_id.as_ref())
                .bind(m.hints.rfc_message_id.as_ref().map(|r| r.as_ref().to_owned()))
                .bind(sender_kind)
                .bind(sender_key)
                .bind(m.sender_name.as_deref())
                .bind(m.subject.as_deref())
                .bind(m.body_text.as_str())
                .bind(m.new_text.as_str())
                .bind(m.body_html.as_deref())
                .bind(m.language.as_str())
                .bind(m.received_at)
                .bind(new.at)
                .execute(&mut *self.tx)
                .await?;
                for attachment in &m.attachments {
                    let (state, url, reason, content): (&str, Option<&str>, Option<&str>, Option<&[u8]>) =
                        match &attachment.content {
                            models::AttachmentContent::Inline { bytes } => {
                                ("stored", None, None, Some(bytes.as_slice()))
                            }
                            models::AttachmentContent::Remote { url } => {
                                ("remote", Some(url.as_str()), None, None)
                            }
                            models::AttachmentContent::Refused { reason } => {
                                ("refused", None, Some(reason.as_str()), None)
                            }
                        };
                    let size = attachment
                        .size_bytes
                        .map(|s| i64::try_from(s).unwrap_or(i64::MAX));
                    sqlx::query(
                        "INSERT INTO attachments
                             (id, message_id, filename, content_type, size_bytes, sha256,
                              state, url, refused_reason, content, created_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                    )
                    .bind(uuid::Uuid::now_v7().to_string())
                    .bind(new.id.to_string())
                    .bind(attachment.filename.as_deref())
                    .bind(attachment.content_type.as_str())
                    .bind(size)
                    .bind(attachment.sha256.as_deref())
                    .bind(state)
                    .bind(url)
                    .bind(reason)
                    .bind(content)
                    .bind(new.at)
                    .execute(&mut *self.tx)
                    .await?;
                }
                if let Some(rfc) = &m.hints.rfc_message_id {
                    sqlx::query(
                        "INSERT INTO rfc_message_ids (rfc_message_id, thread_id, created_at)
                         VALUES ($1, $2, $3)
                         ON CONFLICT DO NOTHING",
                    )
                    .bind(rfc.as_ref())
                    .bind(new.thread_id.to_string())
                    .bind(new.at)
                    .execute(&mut *self.tx)
                    .await?;
                }
                if new.classify {
                    sqlx::query(
                        "INSERT INTO classify_jobs (message_id, created_at) VALUES ($1, $2)",
                    )
                    .bind(new.id.to_string())
                    .bind(new.at)
                    .execute(&mut *self.tx)
                    .await?;
                }
                Ok(())
            }

            async fn enqueue_outbox(
                &mut self,
                outbox: &$crate::store::NewOutbox,
            ) -> Result<(), StoreError> {
                let (recipient_kind, recipient_key) =
                    $crate::store::shared::identity_parts(&outbox.recipient);
                let payload = serde_json::to_string(&outbox.payload)
                    .map_err(|e| StoreError::Internal(e.into()))?;
                sqlx::query(
                    "INSERT INTO outbox
                         (id, thread_id, cause_message_id, channel, kind, recipient_kind,
                          recipient_key, language, rfc_message_id, payload, state, attempts,
                          max_attempts, next_attempt_at, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, $12, $13, $13, $13)",
                )
                .bind(outbox.id.to_string())
                .bind(outbox.thread_id.to_string())
                .bind(outbox.cause_message_id.map(|m| m.to_string()))
                .bind(outbox.channel.as_str())
                .bind(outbox.kind.as_str())
                .bind(recipient_kind)
                .bind(recipient_key)
                .bind(outbox.language.as_str())
                .bind(outbox.rfc_message_id.as_ref().map(|r| r.as_ref().to_owned()))
                .bind(payload)
                .bind(outbox.state.as_str())
                .bind(i64::from(outbox.max_attempts))
                .bind(outbox.at)
                .execute(&mut *self.tx)
                .await?;
                if let Some(rfc) = &outbox.rfc_message_id {
                    sqlx::query(
                        "INSERT INTO rfc_message_ids (rfc_message_id, thread_id, created_at)
                         VALUES ($1, $2, $3)
                         ON CONFLICT DO NOTHING",
                    )
                    .bind(rfc.as_ref())
                    .bind(outbox.thread_id.to_string())
                    .bind(outbox.at)
                    .execute(&mut *self.tx)
                    .await?;
                }
                Ok(())
            }

            async fn save_mailbox_position(
                &mut self,
                mailbox: &str,
                position: $crate::store::MailboxPosition,
                at: chrono::DateTime<chrono::Utc>,
            ) -> Result<(), StoreError> {
                sqlx::query(
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
                .execute(&mut *self.tx)
                .await?;
                Ok(())
            }

            async fn quarantine_mail(
                &mut self,
                mail: &$crate::store::NewQuarantinedMail<'_>,
            ) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO quarantined_mail
                         (id, mailbox, uid_validity, uid, reason, size_bytes, raw, received_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                     ON CONFLICT DO NOTHING",
                )
                .bind(uuid::Uuid::now_v7().to_string())
                .bind(mail.mailbox)
                .bind(i64::from(mail.position.uid_validity))
                .bind(i64::from(mail.position.last_uid))
                .bind(mail.reason)
                .bind(i64::try_from(mail.size_bytes).unwrap_or(i64::MAX))
                .bind(mail.raw)
                .bind(mail.at)
                .execute(&mut *self.tx)
                .await?;
                Ok(())
            }

            async fn serialize_on(&mut self, key: &str) -> Result<(), StoreError> {
                if let Some(sql) = SERIALIZE_SQL {
                    sqlx::query(sql).bind(key).execute(&mut *self.tx).await?;
                }
                Ok(())
            }

            async fn count_all_acknowledgements_since(
                &mut self,
                since: chrono::DateTime<chrono::Utc>,
            ) -> Result<u64, StoreError> {
                let count: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM outbox WHERE kind = 'acknowledgement' AND created_at >= $1",
                )
                .bind(since)
                .fetch_one(&mut *self.tx)
                .await?;
                Ok(u64::try_from(count).unwrap_or(0))
            }

            async fn count_acknowledgements_since(
                &mut self,
                recipient: &models::ChannelIdentity,
                since: chrono::DateTime<chrono::Utc>,
            ) -> Result<u64, StoreError> {
                let (kind, key) = $crate::store::shared::identity_parts(recipient);
                let count: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM outbox
                     WHERE recipient_kind = $1 AND recipient_key = $2 AND created_at >= $3
                       AND kind = 'acknowledgement'",
                )
                .bind(kind)
                .bind(key)
                .bind(since)
                .fetch_one(&mut *self.tx)
                .await?;
                Ok(u64::try_from(count).unwrap_or(0))
            }

            async fn thread_of_outbound(
                &mut self,
                rfc_message_id: &models::RfcMessageId,
            ) -> Result<Option<$crate::store::ThreadSummary>, StoreError> {
                let row: Option<$crate::store::rows::ThreadSummaryRow> = sqlx::query_as(
                    "SELECT t.id, t.contact_id, t.reference, t.status, t.channel
                     FROM outbox o JOIN threads t ON t.id = o.thread_id
                     WHERE o.rfc_message_id = $1",
                )
                .bind(rfc_message_id.as_ref())
                .fetch_optional(&mut *self.tx)
                .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn fail_outbound_by_rfc_id(
                &mut self,
                rfc_message_id: &models::RfcMessageId,
                error: &str,
                at: chrono::DateTime<chrono::Utc>,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query(
                    "UPDATE outbox
                     SET state = 'failed', last_error = $2, lease_until = NULL, updated_at = $3
                     WHERE rfc_message_id = $1 AND state <> 'failed'",
                )
                .bind(rfc_message_id.as_ref())
                .bind(error)
                .bind(at)
                .execute(&mut *self.tx)
                .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn lock_thread(
                &mut self,
                id: models::ThreadId,
            ) -> Result<Option<$crate::store::ThreadRecord>, StoreError> {
                let row: Option<$crate::store::rows::ThreadRow> = sqlx::query_as(
                    "UPDATE threads SET version = version WHERE id = $1
                     RETURNING id, reference, contact_id, channel, category, subject, status, topic,
                               department, flagged, language, created_at, last_message_at,
                               last_citizen_message_at, assignee_id, due_at, version",
                )
                .bind(id.to_string())
                .fetch_optional(&mut *self.tx)
                .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn save_thread_fields(
                &mut self,
                id: models::ThreadId,
                expected_version: i64,
                status: models::ThreadStatus,
                assignee_id: Option<&str>,
                department: Option<&str>,
                due_at: Option<chrono::DateTime<chrono::Utc>>,
                at: chrono::DateTime<chrono::Utc>,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query(
                    "UPDATE threads
                     SET status = $3, assignee_id = $4, department = $5, updated_at = $6,
                         due_at = $7, version = version + 1
                     WHERE id = $1 AND version = $2",
                )
                .bind(id.to_string())
                .bind(expected_version)
                .bind(status.as_str())
                .bind(assignee_id)
                .bind(department)
                .bind(at)
                .bind(due_at)
                .execute(&mut *self.tx)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn refusal_stands(
                &mut self,
                contact: models::ContactId,
                today: chrono::NaiveDate,
            ) -> Result<bool, StoreError> {
                let found: Option<(String,)> = sqlx::query_as(
                    "SELECT id FROM service_refusals
                     WHERE contact_id = $1 AND ends_on >= $2 AND lifted_at IS NULL
                     LIMIT 1",
                )
                .bind(contact.to_string())
                .bind(today)
                .fetch_optional(&mut *self.tx)
                .await?;
                Ok(found.is_some())
            }

            async fn insert_refusal(
                &mut self,
                contact: models::ContactId,
                reason: &str,
                ends_on: chrono::NaiveDate,
                user_id: &str,
                at: chrono::DateTime<chrono::Utc>,
            ) -> Result<Option<String>, StoreError> {
                let id = uuid::Uuid::now_v7().to_string();
                let done = sqlx::query(
                    "INSERT INTO service_refusals (id, contact_id, reason, ends_on, decided_by, decided_at)
                     SELECT $1, $2, $3, $4, $5, $6
                     WHERE EXISTS (SELECT 1 FROM contacts WHERE id = $2)",
                )
                .bind(&id)
                .bind(contact.to_string())
                .bind(reason)
                .bind(ends_on)
                .bind(user_id)
                .bind(at)
                .execute(&mut *self.tx)
                .await?;
                Ok((done.rows_affected() == 1).then_some(id))
            }

            async fn flag_thread(&mut self, id: models::ThreadId) -> Result<(), StoreError> {
                sqlx::query("UPDATE threads SET flagged = $2 WHERE id = $1")
                    .bind(id.to_string())
                    .bind(true)
                    .execute(&mut *self.tx)
                    .await?;
                Ok(())
            }

            async fn set_thread_topic(
                &mut self,
                id: models::ThreadId,
                expected_version: i64,
                topic: models::Topic,
                at: chrono::DateTime<chrono::Utc>,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query(
                    "UPDATE threads SET topic = $3, topic_source = 'agent', updated_at = $4,
                         version = version + 1
                     WHERE id = $1 AND version = $2",
                )
                .bind(id.to_string())
                .bind(expected_version)
                .bind(topic.as_str())
                .bind(at)
                .execute(&mut *self.tx)
                .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn append_audit(
                &mut self,
                entry: &$crate::store::AuditEntry,
            ) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO audit_log (id, at, actor, action, subject, before, after)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(uuid::Uuid::now_v7().to_string())
                .bind(entry.at)
                .bind(&entry.actor)
                .bind(&entry.action)
                .bind(&entry.subject)
                .bind(entry.before.as_deref())
                .bind(entry.after.as_deref())
                .execute(&mut *self.tx)
                .await?;
                Ok(())
            }

            async fn insert_note(
                &mut self,
                thread: models::ThreadId,
                author_id: &str,
                kind: $crate::store::workspace::NoteKind,
                phone: Option<&str>,
                body: &str,
                at: chrono::DateTime<chrono::Utc>,
            ) -> Result<String, StoreError> {
                let id = uuid::Uuid::now_v7().to_string();
                sqlx::query(
                    "INSERT INTO thread_notes (id, thread_id, author_id, body, created_at, kind, phone)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&id)
                .bind(thread.to_string())
                .bind(author_id)
                .bind(body)
                .bind(at)
                .bind(kind.as_str())
                .bind(phone)
                .execute(&mut *self.tx)
                .await?;
                Ok(id)
            }

            async fn reply_target(
                &mut self,
                thread: models::ThreadId,
            ) -> Result<Option<$crate::store::ReplyTarget>, StoreError> {
                let row: Option<(String, String, String, Option<String>, String, Option<String>)> =
                    sqlx::query_as(
                        "SELECT m.sender_kind, m.sender_key, m.channel, m.rfc_message_id, m.language,
                                c.display_name
                         FROM messages m JOIN contacts c ON c.id = m.contact_id
                         WHERE m.thread_id = $1 AND m.direction = 'inbound' AND m.kind = 'citizen'
                         ORDER BY m.received_at DESC, m.id DESC LIMIT 1",
                    )
                    .bind(thread.to_string())
                    .fetch_optional(&mut *self.tx)
                    .await?;
                let Some((kind, key, channel, rfc, language, name)) = row else {
                    return Ok(None);
                };
                Ok(Some($crate::store::ReplyTarget {
                    identity: models::ChannelIdentity::from_parts(&kind, &key)
                        .map_err(|e| StoreError::Internal(e.into()))?,
                    channel: channel
                        .parse()
                        .map_err(|e: models::ChannelError| StoreError::Internal(e.into()))?,
                    rfc_message_id: rfc.and_then(|r| models::RfcMessageId::parse(&r).ok()),
                    language: if language == "en" { models::Language::En } else { models::Language::Fr },
                    name,
                }))
            }

            async fn record_review_decision(
                &mut self,
                message: models::MessageId,
                decision: &str,
                kind: Option<&str>,
                comment: &str,
                user_id: &str,
                at: chrono::DateTime<chrono::Utc>,
            ) -> Result<Option<(bool, models::ThreadId)>, StoreError> {
                let thread: Option<(String,)> = sqlx::query_as(
                    "SELECT m.thread_id FROM messages m JOIN classifications c ON c.message_id = m.id
                     WHERE m.id = $1 AND c.abuse_verdict IN ('abusive', 'to_verify')",
                )
                .bind(message.to_string())
                .fetch_optional(&mut *self.tx)
                .await?;
                let Some((thread,)) = thread else {
                    return Ok(None);
                };
                let thread = models::ThreadId::parse(&thread).map_err(|e| StoreError::Internal(e.into()))?;
                let done = sqlx::query(
                    "INSERT INTO review_decisions (message_id, decision, kind, comment, decided_by, decided_at)
                     VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT DO NOTHING",
                )
                .bind(message.to_string())
                .bind(decision)
                .bind(kind)
                .bind(comment)
                .bind(user_id)
                .bind(at)
                .execute(&mut *self.tx)
                .await?;
                Ok(Some((done.rows_affected() == 1, thread)))
            }

            async fn raise_thread(
                &mut self,
                id: models::ThreadId,
                at: chrono::DateTime<chrono::Utc>,
            ) -> Result<(), StoreError> {
                sqlx::query(
                    "UPDATE threads SET status = 'awaiting_agent', updated_at = $2,
                         version = version + 1
                     WHERE id = $1",
                )
                .bind(id.to_string())
                .bind(at)
                .execute(&mut *self.tx)
                .await?;
                Ok(())
            }

            async fn commit(self: Box<Self>) -> Result<(), StoreError> {
                self.tx.commit().await?;
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::Store for $store {
            fn engine(&self) -> $crate::store::Engine {
                ENGINE
            }

            async fn migrate(&self) -> Result<(), StoreError> {
                MIGRATOR
                    .run(self.writer())
                    .await
                    .map_err(|e| StoreError::Internal(anyhow::Error::new(e).context("Failed to run migrations")))
            }

            async fn ping(&self) -> Result<(), StoreError> {
                sqlx::query("SELECT 1").execute(self.reader()).await?;
                Ok(())
            }

            async fn begin(&self) -> Result<Box<dyn $crate::store::StoreTx>, StoreError> {
                let tx = self.writer().begin().await?;
                Ok(Box::new($tx { tx }))
            }

            async fn find_saved_response(
                &self,
                scope: &str,
                key: &str,
            ) -> Result<Option<$crate::store::SavedResponse>, StoreError> {
                let row: Option<(String, i64, String)> = sqlx::query_as(
                    "SELECT fingerprint, response_status, response_body
                     FROM idempotency_keys WHERE scope = $1 AND key = $2",
                )
                .bind(scope)
                .bind(key)
                .fetch_optional(self.reader())
                .await?;
                row.map(|(fingerprint, status, body)| {
                    Ok($crate::store::SavedResponse {
                        fingerprint,
                        status: u16::try_from(status)
                            .map_err(|e| StoreError::corrupt("saved status", e))?,
                        body,
                    })
                })
                .transpose()
            }

            async fn find_inbound(
                &self,
                channel: models::Channel,
                external_id: &models::ExternalMessageId,
            ) -> Result<Option<(models::MessageId, $crate::store::ThreadSummary)>, StoreError> {
                #[derive(sqlx::FromRow)]
                struct Found {
                    message_id: String,
                    #[sqlx(flatten)]
                    thread: $crate::store::rows::ThreadSummaryRow,
                }
                let row: Option<Found> = sqlx::query_as(
                    "SELECT k.message_id, t.id, t.contact_id, t.reference, t.status, t.channel
                     FROM inbound_keys k
                     JOIN messages m ON m.id = k.message_id
                     JOIN threads t ON t.id = m.thread_id
                     WHERE k.channel = $1 AND k.external_id = $2",
                )
                .bind(channel.as_str())
                .bind(external_id.as_ref())
                .fetch_optional(self.reader())
                .await?;
                row.map(|found| {
                    Ok((
                        models::MessageId::parse(&found.message_id)
                            .map_err(|e| StoreError::corrupt("message id", e))?,
                        found.thread.try_into()?,
                    ))
                })
                .transpose()
            }

            async fn get_thread(
                &self,
                id: models::ThreadId,
            ) -> Result<$crate::store::ThreadRecord, StoreError> {
                let row: Option<$crate::store::rows::ThreadRow> = sqlx::query_as(
                    "SELECT id, reference, contact_id, channel, category, subject, status, topic,
                            department, flagged, language, created_at, last_message_at,
                            last_citizen_message_at, assignee_id, due_at, version
                     FROM threads WHERE id = $1",
                )
                .bind(id.to_string())
                .fetch_optional(self.reader())
                .await?;
                row.ok_or(StoreError::NotFound)?.try_into()
            }

            async fn find_thread_by_reference(
                &self,
                reference: &models::ReferenceNumber,
            ) -> Result<Option<$crate::store::ThreadRecord>, StoreError> {
                let row: Option<$crate::store::rows::ThreadRow> = sqlx::query_as(
                    "SELECT id, reference, contact_id, channel, category, subject, status, topic,
                            department, flagged, language, created_at, last_message_at,
                            last_citizen_message_at, assignee_id, due_at, version
                     FROM threads WHERE reference = $1",
                )
                .bind(reference.to_string())
                .fetch_optional(self.reader())
                .await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn list_messages(
                &self,
                thread: models::ThreadId,
            ) -> Result<Vec<$crate::store::MessageRecord>, StoreError> {
                let rows: Vec<$crate::store::rows::MessageRow> = sqlx::query_as(
                    "SELECT id, thread_id, direction, channel, kind, sender_name, subject,
                            body_text, new_text, language, received_at, deleted_at
                     FROM messages WHERE thread_id = $1
                     ORDER BY received_at, created_at, id",
                )
                .bind(thread.to_string())
                .fetch_all(self.reader())
                .await?;
                self.with_details(thread, rows, None).await
            }

            async fn list_messages_page(
                &self,
                thread: models::ThreadId,
                before: Option<&$crate::store::MessageCursor>,
                limit: u32,
            ) -> Result<$crate::store::MessagePage, StoreError> {
                const COLUMNS: &str = "id, thread_id, direction, channel, kind, sender_name, subject,
                            body_text, new_text, language, received_at, deleted_at";
                let limit = limit.clamp(1, $crate::store::MAX_MESSAGE_PAGE);
                let mut rows: Vec<$crate::store::rows::MessageRow> = match before {
                    None => sqlx::query_as(&format!(
                        "SELECT {COLUMNS} FROM messages WHERE thread_id = $1
                         ORDER BY received_at DESC, id DESC LIMIT $2"
                    ))
                    .bind(thread.to_string())
                    .bind(i64::from(limit) + 1)
                    .fetch_all(self.reader())
                    .await?,
                    Some(cursor) => sqlx::query_as(&format!(
                        "SELECT {COLUMNS} FROM messages
                         WHERE thread_id = $1 AND (received_at < $2 OR (received_at = $2 AND id < $3))
                         ORDER BY received_at DESC, id DESC LIMIT $4"
                    ))
                    .bind(thread.to_string())
                    .bind(cursor.at)
                    .bind(&cursor.id)
                    .bind(i64::from(limit) + 1)
                    .fetch_all(self.reader())
                    .await?,
                };
                let more = rows.len() > limit as usize;
                rows.truncate(limit as usize);
                rows.reverse();
                let older = if more {
                    rows.first().map(|r| $crate::store::MessageCursor {
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
                let messages = self.with_details(thread, rows, range).await?;
                Ok($crate::store::MessagePage { messages, older })
            }

            async fn claim_classify_jobs(
                &self,
                now: chrono::DateTime<chrono::Utc>,
                lease: std::time::Duration,
                limit: u32,
            ) -> Result<Vec<$crate::store::ClassifyJob>, StoreError> {
                let until = now + chrono::Duration::from_std(lease)
                    .map_err(|e| StoreError::Internal(e.into()))?;
                let claimed: Vec<(String,)> = sqlx::query_as(CLAIM_CLASSIFY_SQL)
                    .bind(until)
                    .bind(now)
                    .bind(i64::from(limit))
                    .fetch_all(self.writer())
                    .await?;
                let mut jobs = Vec::with_capacity(claimed.len());
                for (id,) in claimed {
                    let row: Option<$crate::store::rows::ClassifyJobRow> = sqlx::query_as(
                        "SELECT id, subject, new_text, language FROM messages WHERE id = $1",
                    )
                    .bind(&id)
                    .fetch_optional(self.reader())
                    .await?;
                    if let Some(row) = row {
                        jobs.push(row.try_into()?);
                    }
                }
                Ok(jobs)
            }

            async fn save_classification(
                &self,
                message: models::MessageId,
                classification: &models::Classification,
                department: Option<&str>,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<(), StoreError> {
                let c = $crate::store::rows::ClassificationColumns::from_classification(classification);
                let mut tx = self.writer().begin().await?;
                let done = sqlx::query(
                    "INSERT INTO classifications
                         (message_id, topic, topic_score, topic_abstain, abuse_verdict, abuse_kind,
                          abuse_score, reasons, model_version, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                     ON CONFLICT DO NOTHING",
                )
                .bind(message.to_string())
                .bind(c.topic)
                .bind(c.topic_score)
                .bind(c.topic_abstain.as_deref())
                .bind(c.abuse_verdict)
                .bind(c.abuse_kind)
                .bind(c.abuse_score)
                .bind(c.reasons.as_str())
                .bind(classification.model_version.as_str())
                .bind(now)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() == 1 {
                    if let Some(topic) = c.topic {
                        sqlx::query(
                            "UPDATE threads SET topic = $2, department = $3, topic_source = 'classifier'
                             WHERE id = (SELECT thread_id FROM messages WHERE id = $1)
                               AND topic IS NULL",
                        )
                        .bind(message.to_string())
                        .bind(topic)
                        .bind(department)
                        .execute(&mut *tx)
                        .await?;
                    }
                    if c.flagged {
                        sqlx::query(
                            "UPDATE threads SET flagged = $2
                             WHERE id = (SELECT thread_id FROM messages WHERE id = $1)",
                        )
                        .bind(message.to_string())
                        .bind(true)
                        .execute(&mut *tx)
                        .await?;
                    }
                }
                sqlx::query("DELETE FROM classify_jobs WHERE message_id = $1")
                    .bind(message.to_string())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn claim_outbox_job(
                &self,
                channels: &[models::Channel],
                now: chrono::DateTime<chrono::Utc>,
                lease: std::time::Duration,
            ) -> Result<Option<$crate::store::OutboxJob>, StoreError> {
                if channels.is_empty() {
                    return Ok(None);
                }
                let until = now + chrono::Duration::from_std(lease)
                    .map_err(|e| StoreError::Internal(e.into()))?;
                let claimed: Option<(String,)> = sqlx::query_as(CLAIM_OUTBOX_SQL)
                    .bind(until)
                    .bind(now)
                    .bind($crate::store::shared::channel_list(channels))
                    .fetch_optional(self.writer())
                    .await?;
                let Some((id,)) = claimed else {
                    return Ok(None);
                };
                let row: $crate::store::rows::OutboxJobRow = sqlx::query_as(
                    "SELECT o.id, o.thread_id, o.channel, o.kind, o.recipient_kind, o.recipient_key,
                            o.language, o.rfc_message_id, o.payload, o.attempts, o.max_attempts,
                            t.last_citizen_message_at
                     FROM outbox o JOIN threads t ON t.id = o.thread_id
                     WHERE o.id = $1",
                )
                .bind(&id)
                .fetch_one(self.writer())
                .await?;
                Ok(Some(row.try_into()?))
            }

            async fn complete_outbox_job(
                &self,
                job: &$crate::store::OutboxJob,
                sent: &$crate::store::SentMessage,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<(), StoreError> {
                let mut tx = self.writer().begin().await?;
                let message_id = models::MessageId::generate();
                let (recipient_kind, recipient_key) =
                    $crate::store::shared::identity_parts(&job.recipient);
                sqlx::query(
                    "INSERT INTO messages
                         (id, thread_id, contact_id, direction, channel, kind, external_id,
                          rfc_message_id, sender_kind, sender_key, subject, body_text, new_text,
                          language, received_at, created_at)
                     SELECT $1, t.id, t.contact_id, 'outbound', $3, $4, $5, $6, $7, $8, $9, $10,
                            $10, $11, $12, $12
                     FROM threads t WHERE t.id = $2",
                )
                .bind(message_id.to_string())
                .bind(job.thread_id.to_string())
                .bind(job.channel.as_str())
                .bind(job.kind.as_str())
                .bind(sent.provider_message_id.as_deref())
                .bind(job.rfc_message_id.as_ref().map(|r| r.as_ref().to_owned()))
                .bind(recipient_kind)
                .bind(recipient_key)
                .bind(sent.subject.as_deref())
                .bind(sent.text.as_str())
                .bind(job.language.as_str())
                .bind(now)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "UPDATE outbox
                     SET state = 'sent', sent_message_id = $2, provider_message_id = $3,
                         sent_at = $4, updated_at = $4, lease_until = NULL, last_error = NULL
                     WHERE id = $1",
                )
                .bind(job.id.to_string())
                .bind(message_id.to_string())
                .bind(sent.provider_message_id.as_deref())
                .bind(now)
                .execute(&mut *tx)
                .await?;
                sqlx::query("UPDATE threads SET last_message_at = $2, updated_at = $2 WHERE id = $1")
                    .bind(job.thread_id.to_string())
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn retry_outbox_job(
                &self,
                id: models::OutboxId,
                next_attempt_at: chrono::DateTime<chrono::Utc>,
                error: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<(), StoreError> {
                sqlx::query(
                    "UPDATE outbox
                     SET state = 'pending', next_attempt_at = $2, last_error = $3,
                         lease_until = NULL, updated_at = $4
                     WHERE id = $1 AND state = 'sending'",
                )
                .bind(id.to_string())
                .bind(next_attempt_at)
                .bind(error)
                .bind(now)
                .execute(self.writer())
                .await?;
                Ok(())
            }

            async fn fail_outbox_job(
                &self,
                id: models::OutboxId,
                error: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<(), StoreError> {
                sqlx::query(
                    "UPDATE outbox
                     SET state = 'failed', last_error = $2, lease_until = NULL, updated_at = $3
                     WHERE id = $1 AND state = 'sending'",
                )
                .bind(id.to_string())
                .bind(error)
                .bind(now)
                .execute(self.writer())
                .await?;
                Ok(())
            }

            async fn expire_outbox_leases(
                &self,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<u64, StoreError> {
                let done = sqlx::query(
                    "UPDATE outbox
                     SET state = 'unconfirmed', lease_until = NULL, updated_at = $1,
                         last_error = 'attempt_outcome_unknown'
                     WHERE state = 'sending' AND lease_until < $1",
                )
                .bind(now)
                .execute(self.writer())
                .await?;
                Ok(done.rows_affected())
            }

            async fn activate_waiting_outbox(
                &self,
                channels: &[models::Channel],
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<u64, StoreError> {
                let done = sqlx::query(
                    "UPDATE outbox SET state = 'pending', updated_at = $1
                     WHERE state = 'waiting_channel'
                       AND (',' || $2 || ',') LIKE ('%,' || channel || ',%')",
                )
                .bind(now)
                .bind($crate::store::shared::channel_list(channels))
                .execute(self.writer())
                .await?;
                Ok(done.rows_affected())
            }

            async fn requeue_outbox_job(
                &self,
                id: models::OutboxId,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<(), StoreError> {
                let done = sqlx::query(
                    "UPDATE outbox
                     SET state = 'pending', next_attempt_at = $2, max_attempts = attempts + 1,
                         updated_at = $2
                     WHERE id = $1 AND state IN ('failed', 'unconfirmed')",
                )
                .bind(id.to_string())
                .bind(now)
                .execute(self.writer())
                .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            }

            async fn list_outbox(
                &self,
                thread: models::ThreadId,
            ) -> Result<Vec<$crate::store::OutboxRecord>, StoreError> {
                let rows: Vec<$crate::store::rows::OutboxRecordRow> = sqlx::query_as(
                    "SELECT id, thread_id, channel, kind, state, attempts, last_error,
                            provider_message_id, created_at, sent_at
                     FROM outbox WHERE thread_id = $1 ORDER BY created_at, id",
                )
                .bind(thread.to_string())
                .fetch_all(self.reader())
                .await?;
                rows.into_iter().map(TryInto::try_into).collect()
            }

            async fn count_outbox_by_state(
                &self,
            ) -> Result<Vec<(models::OutboxState, u64)>, StoreError> {
                let rows: Vec<(String, i64)> =
                    sqlx::query_as("SELECT state, COUNT(*) FROM outbox GROUP BY state ORDER BY state")
                        .fetch_all(self.reader())
                        .await?;
                rows.into_iter()
                    .map(|(state, count)| {
                        Ok((
                            models::OutboxState::parse(&state)
                                .ok_or_else(|| StoreError::corrupt("outbox state", &state))?,
                            u64::try_from(count).map_err(|e| StoreError::corrupt("count", e))?,
                        ))
                    })
                    .collect()
            }

            async fn save_webhook(
                &self,
                source: &str,
                body: &[u8],
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<String, StoreError> {
                use sha2::Digest as _;
                let id = uuid::Uuid::now_v7().to_string();
                let digest = hex::encode(sha2::Sha256::digest(body));
                let stored: Option<(String,)> = sqlx::query_as(
                    "INSERT INTO webhook_events (id, source, body, received_at, body_sha256)
                     VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (source, body_sha256) DO NOTHING
                     RETURNING id",
                )
                .bind(&id)
                .bind(source)
                .bind(body)
                .bind(now)
                .bind(&digest)
                .fetch_optional(self.writer())
                .await?;
                if let Some((id,)) = stored {
                    return Ok(id);
                }
                // A replay of a body already stored: the stored one stands.
                let (existing,): (String,) = sqlx::query_as(
                    "SELECT id FROM webhook_events WHERE source = $1 AND body_sha256 = $2",
                )
                .bind(source)
                .bind(&digest)
                .fetch_one(self.writer())
                .await?;
                Ok(existing)
            }

            async fn purge_processed_webhooks(
                &self,
                before: chrono::DateTime<chrono::Utc>,
            ) -> Result<u64, StoreError> {
                let done = sqlx::query(
                    "DELETE FROM webhook_events WHERE processed_at IS NOT NULL AND processed_at < $1",
                )
                .bind(before)
                .execute(self.writer())
                .await?;
                Ok(done.rows_affected())
            }

            async fn claim_webhooks(
                &self,
                now: chrono::DateTime<chrono::Utc>,
                lease: std::time::Duration,
                limit: u32,
            ) -> Result<Vec<$crate::store::StoredWebhook>, StoreError> {
                let until = now + chrono::Duration::from_std(lease)
                    .map_err(|e| StoreError::Internal(e.into()))?;
                let rows: Vec<(String, String, Vec<u8>, i64)> = sqlx::query_as(CLAIM_WEBHOOKS_SQL)
                    .bind(until)
                    .bind(now)
                    .bind(i64::from(limit))
                    .fetch_all(self.writer())
                    .await?;
                let mut claimed = rows
                    .into_iter()
                    .map(|(id, source, body, attempts)| {
                        Ok($crate::store::StoredWebhook {
                            id,
                            source,
                            body,
                            attempts: $crate::store::rows::to_u32(attempts, "webhook attempts")?,
                        })
                    })
                    .collect::<Result<Vec<_>, StoreError>>()?;
                // Ids are time-ordered: process in arrival order.
                claimed.sort_by(|a, b| a.id.cmp(&b.id));
                Ok(claimed)
            }

            async fn finish_webhook(
                &self,
                id: &str,
                error: Option<&str>,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<(), StoreError> {
                sqlx::query(
                    "UPDATE webhook_events SET processed_at = $2, last_error = $3, lease_until = NULL
                     WHERE id = $1",
                )
                .bind(id)
                .bind(now)
                .bind(error)
                .execute(self.writer())
                .await?;
                Ok(())
            }

            async fn mark_message_deleted(
                &self,
                channel: models::Channel,
                external_id: &models::ExternalMessageId,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<bool, StoreError> {
                let mut tx = self.writer().begin().await?;
                let found: Option<(String,)> = sqlx::query_as(
                    "UPDATE messages SET deleted_at = $3
                     WHERE channel = $1 AND external_id = $2 AND direction = 'inbound'
                       AND deleted_at IS NULL
                     RETURNING id",
                )
                .bind(channel.as_str())
                .bind(external_id.as_ref())
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
                let Some((id,)) = found else {
                    return Ok(false);
                };
                // The text stays for the record; the trace says who hid it and when.
                sqlx::query(
                    "INSERT INTO audit_log (id, at, actor, action, subject, before, after)
                     VALUES ($1, $2, $3, 'message.unsent', $4, $5, $6)",
                )
                .bind(uuid::Uuid::now_v7().to_string())
                .bind(now)
                .bind(format!("citizen:{channel}"))
                .bind(format!("message:{id}"))
                .bind(serde_json::json!({ "deleted_at": null }).to_string())
                .bind(serde_json::json!({ "deleted_at": now }).to_string())
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn list_audit(
                &self,
                subject: &str,
            ) -> Result<Vec<$crate::store::AuditEntry>, StoreError> {
                let rows: Vec<(
                    chrono::DateTime<chrono::Utc>,
                    String,
                    String,
                    String,
                    Option<String>,
                    Option<String>,
                )> = sqlx::query_as(
                    "SELECT at, actor, action, subject, before, after
                     FROM audit_log WHERE subject = $1 ORDER BY at, id",
                )
                .bind(subject)
                .fetch_all(self.reader())
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(at, actor, action, subject, before, after)| $crate::store::AuditEntry {
                        at,
                        actor,
                        action,
                        subject,
                        before,
                        after,
                    })
                    .collect())
            }

            async fn mailbox_position(
                &self,
                mailbox: &str,
            ) -> Result<Option<$crate::store::MailboxPosition>, StoreError> {
                let row: Option<(i64, i64)> = sqlx::query_as(
                    "SELECT uid_validity, last_uid FROM mailbox_checkpoints WHERE mailbox = $1",
                )
                .bind(mailbox)
                .fetch_optional(self.writer())
                .await?;
                row.map(|(validity, uid)| {
                    Ok($crate::store::MailboxPosition {
                        uid_validity: u32::try_from(validity).map_err(|e| StoreError::Internal(e.into()))?,
                        last_uid: u32::try_from(uid).map_err(|e| StoreError::Internal(e.into()))?,
                    })
                })
                .transpose()
            }

            async fn try_lock_mailbox(
                &self,
                mailbox: &str,
                owner: &str,
                now: chrono::DateTime<chrono::Utc>,
                ttl: std::time::Duration,
            ) -> Result<Option<Box<dyn $crate::store::MailboxLock>>, StoreError> {
                self.lock_mailbox(mailbox, owner, now, ttl).await
            }

            async fn raise_alarm(
                &self,
                source: &str,
                kind: &str,
                message: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO alarms (source, kind, message, occurrences, first_raised_at, last_raised_at)
                     VALUES ($1, $2, $3, 1, $4, $4)
                     ON CONFLICT (source, kind) DO UPDATE
                     SET message = excluded.message, last_raised_at = excluded.last_raised_at,
                         occurrences = CASE WHEN alarms.cleared_at IS NULL
                                            THEN alarms.occurrences + 1 ELSE 1 END,
                         first_raised_at = CASE WHEN alarms.cleared_at IS NULL
                                                THEN alarms.first_raised_at ELSE excluded.first_raised_at END,
                         cleared_at = NULL",
                )
                .bind(source)
                .bind(kind)
                .bind(message)
                .bind(now)
                .execute(self.writer())
                .await?;
                Ok(())
            }

            async fn clear_alarm(
                &self,
                source: &str,
                kind: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query(
                    "UPDATE alarms SET cleared_at = $3
                     WHERE source = $1 AND kind = $2 AND cleared_at IS NULL",
                )
                .bind(source)
                .bind(kind)
                .bind(now)
                .execute(self.writer())
                .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn list_alarms(&self, all: bool) -> Result<Vec<$crate::store::Alarm>, StoreError> {
                let rows: Vec<(
                    String,
                    String,
                    String,
                    i64,
                    chrono::DateTime<chrono::Utc>,
                    chrono::DateTime<chrono::Utc>,
                    Option<chrono::DateTime<chrono::Utc>>,
                )> = sqlx::query_as(
                    "SELECT source, kind, message, occurrences, first_raised_at, last_raised_at, cleared_at
                     FROM alarms WHERE $1 OR cleared_at IS NULL
                     ORDER BY cleared_at IS NOT NULL, last_raised_at DESC",
                )
                .bind(all)
                .fetch_all(self.reader())
                .await?;
                Ok(rows
                    .into_iter()
                    .map(|(source, kind, message, occurrences, first, last, cleared)| $crate::store::Alarm {
                        source,
                        kind,
                        message,
                        occurrences: u64::try_from(occurrences).unwrap_or(0),
                        first_raised_at: first,
                        last_raised_at: last,
                        cleared_at: cleared,
                    })
                    .collect())
            }

            async fn list_quarantined_mail(
                &self,
                mailbox: &str,
            ) -> Result<Vec<$crate::store::QuarantinedMail>, StoreError> {
                let rows: Vec<(String, String, i64, String, i64, bool)> = sqlx::query_as(
                    "SELECT id, mailbox, uid, reason, size_bytes, raw IS NOT NULL
                     FROM quarantined_mail WHERE mailbox = $1 ORDER BY received_at, id",
                )
                .bind(mailbox)
                .fetch_all(self.reader())
                .await?;
                rows.into_iter()
                    .map(|(id, mailbox, uid, reason, size, raw_kept)| {
                        Ok($crate::store::QuarantinedMail {
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

            async fn confirm_outbox_echo(
                &self,
                id: models::OutboxId,
                provider_message_id: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query(
                    "UPDATE outbox
                     SET state = 'sent', provider_message_id = COALESCE(provider_message_id, $2),
                         sent_at = COALESCE(sent_at, $3), last_error = NULL, updated_at = $3
                     WHERE id = $1 AND state IN ('unconfirmed', 'sending')",
                )
                .bind(id.to_string())
                .bind(provider_message_id)
                .bind(now)
                .execute(self.writer())
                .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn mark_outbound_receipt(
                &self,
                recipient: &models::ChannelIdentity,
                provider_ids: &[String],
                watermark: Option<chrono::DateTime<chrono::Utc>>,
                read: bool,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<u64, StoreError> {
                let (kind, key) = $crate::store::shared::identity_parts(recipient);
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
                let done = sqlx::query(sql)
                    .bind(kind)
                    .bind(key)
                    .bind(provider_ids.join(","))
                    .bind(watermark)
                    .bind(now)
                    .execute(self.writer())
                    .await?;
                Ok(done.rows_affected())
            }
        }
    };
}

pub(super) use impl_shared_store;
