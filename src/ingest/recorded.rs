//! Phone calls and counter visits an agent records. One that was resolved
//! at the first contact is written as a contact-log row only; one that
//! opens a request goes through the same ingest transaction as every
//! written message (reference number, thread, deadline, classifier, and an
//! acknowledgement by email when the citizen gave an address), with its
//! contact-log row, the topic the agent chose and the contact's new
//! identities in that same transaction. An idempotency key makes a double
//! submit one contact and one reference.

use models::{
    Channel, ChannelIdentity, ContactId, EmailAddress, ExternalMessageId, InboundMessage, Language,
    MessageKind, OutboxId, PhoneNumber, ReferenceNumber, ThreadHints, ThreadId, Topic,
};

use super::{Extras, IdempotencyRequest, IngestError, Ingested, Ingestor};
use crate::store::contacts::{Attached, NewContactLog};
use crate::store::{AuditEntry, NewContact, SavedResponse, StoreTx};

models::slug_enum! {
    /// How the contact ended.
    pub enum ContactOutcome("contact outcome") {
        /// Answered on the spot: recorded, no reference needed.
        Resolved => "resolved",
        /// A request with a reference number was opened.
        Request => "request",
    }
}

/// A call or visit, as the agent recorded it.
#[derive(Debug, Clone)]
pub struct RecordedContact {
    /// Its id: the contact-log row's, and the inbound key of its message.
    pub id: ExternalMessageId,
    /// `Phone` or `Counter`.
    pub channel: Channel,
    /// The existing contact the agent picked, if any.
    pub contact: Option<ContactId>,
    /// The name the citizen gave.
    pub name: Option<String>,
    /// Their phone number.
    pub phone: Option<PhoneNumber>,
    /// Their email address: the acknowledgement goes there.
    pub email: Option<EmailAddress>,
    /// Their postal address.
    pub postal_address: Option<String>,
    /// The language to answer in.
    pub language: Language,
    /// What was asked.
    pub text: String,
    /// The topic the agent chose.
    pub topic: Option<Topic>,
    /// The department of that topic.
    pub department: Option<String>,
    /// How it ended.
    pub outcome: ContactOutcome,
    /// The agent's account id.
    pub recorded_by: String,
}

impl RecordedContact {
    /// The identity the contact is found by: the email address when given
    /// (so a later email joins), else the phone number.
    fn identity(&self) -> Option<ChannelIdentity> {
        match (&self.email, &self.phone) {
            (Some(address), _) => Some(ChannelIdentity::Email {
                address: address.clone(),
            }),
            (None, Some(number)) => Some(ChannelIdentity::Phone {
                number: number.clone(),
            }),
            (None, None) => None,
        }
    }

    /// Every identity given, to attach to the contact.
    fn identities(&self) -> Vec<ChannelIdentity> {
        let mut all = Vec::new();
        if let Some(address) = &self.email {
            all.push(ChannelIdentity::Email {
                address: address.clone(),
            });
        }
        if let Some(number) = &self.phone {
            all.push(ChannelIdentity::Phone {
                number: number.clone(),
            });
        }
        all
    }

    /// The message a request is opened with.
    fn message(
        &self,
        identity: ChannelIdentity,
        now: chrono::DateTime<chrono::Utc>,
    ) -> InboundMessage {
        let subject: String = self
            .text
            .lines()
            .next()
            .unwrap_or("")
            .chars()
            .take(80)
            .collect();
        InboundMessage {
            channel: self.channel,
            external_id: self.id.clone(),
            sender: identity,
            sender_name: self.name.clone(),
            sender_phone: self.phone.clone(),
            received_at: now,
            subject: Some(subject),
            body_text: self.text.clone(),
            new_text: self.text.clone(),
            body_html: None,
            language: self.language,
            kind: MessageKind::Citizen,
            hints: ThreadHints::default(),
            attachments: Vec::new(),
        }
    }
}

/// What recording a contact did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedOutcome {
    /// The contact-log row.
    pub id: String,
    /// The citizen.
    pub contact_id: ContactId,
    /// The request opened.
    pub thread_id: Option<ThreadId>,
    /// Its reference, to read out to the citizen.
    pub reference: Option<ReferenceNumber>,
    /// The acknowledgement queued (by email).
    pub acknowledgement: Option<OutboxId>,
}

/// The answer to a record call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// Written now.
    Stored(RecordedOutcome),
    /// The idempotency key was used before: here is the saved answer.
    Replayed(SavedResponse),
}

impl RecordedContact {
    /// The contact-log row of this record: a request when it opened
    /// `thread`, resolved at first contact otherwise.
    pub(super) fn log_entry(
        &self,
        contact: ContactId,
        thread: Option<ThreadId>,
        at: chrono::DateTime<chrono::Utc>,
    ) -> NewContactLog {
        NewContactLog {
            id: self.id.to_string(),
            channel: self.channel,
            contact_id: contact,
            recorded_by: self.recorded_by.clone(),
            text: self.text.clone(),
            topic: self.topic,
            outcome: if thread.is_some() {
                ContactOutcome::Request
            } else {
                ContactOutcome::Resolved
            }
            .as_str(),
            thread_id: thread,
            at,
        }
    }

    /// The audit entry of this record.
    pub(super) fn audit(
        &self,
        contact: ContactId,
        thread: Option<ThreadId>,
        at: chrono::DateTime<chrono::Utc>,
    ) -> AuditEntry {
        AuditEntry {
            at,
            actor: format!("user:{}", self.recorded_by),
            action: "contact.recorded".to_owned(),
            subject: format!("contact:{contact}"),
            before: None,
            after: Some(
                serde_json::json!({
                    "contact_log_id": self.id.to_string(),
                    "channel": self.channel.as_str(),
                    "outcome": self.outcome.as_str(),
                    "topic": self.topic.map(|t| t.as_str()),
                    "thread_id": thread.map(|t| t.to_string()),
                })
                .to_string(),
            ),
        }
    }
}

/// What the ingest transaction does for a recorded contact.
pub(super) struct RecordingExtras<'a> {
    pub record: &'a RecordedContact,
}

impl Ingestor {
    /// Records a call or visit; see the module documentation.
    ///
    /// # Errors
    /// [`IngestError::IdempotencyMismatch`], [`IngestError::IdentityTaken`]
    /// when the email or phone given belongs to another contact than the
    /// one picked, [`IngestError::UnknownContact`], or a store failure
    /// (nothing is written).
    #[tracing::instrument(skip_all, fields(channel = %record.channel, outcome = record.outcome.as_str()))]
    pub async fn record_contact(
        &self,
        record: &RecordedContact,
        idempotency: Option<&IdempotencyRequest>,
        respond: &(dyn Fn(&RecordedOutcome) -> (u16, String) + Send + Sync),
    ) -> Result<Recorded, IngestError> {
        if record.outcome == ContactOutcome::Resolved {
            return self.record_resolved(record, idempotency, respond).await;
        }
        let identity = match (record.identity(), record.contact) {
            (Some(identity), _) => identity,
            // An existing contact with no new detail: its own identity.
            (None, Some(contact)) => self
                .store
                .get_contact(contact)
                .await?
                .and_then(|c| {
                    c.identities
                        .iter()
                        .find(|(k, _)| k == "email")
                        .or_else(|| c.identities.iter().find(|(k, _)| k == "phone"))
                        .and_then(|(k, v)| ChannelIdentity::from_parts(k, v).ok())
                })
                .ok_or(IngestError::UnknownContact)?,
            (None, None) => return Err(IngestError::UnknownContact),
        };
        let message = record.message(identity, self.clock.now());
        let extras = Extras {
            idempotency,
            email: None,
            recording: Some(&RecordingExtras { record }),
        };
        let log_id = record.id.to_string();
        let answer = |outcome: &super::IngestOutcome| {
            respond(&RecordedOutcome {
                id: log_id.clone(),
                contact_id: outcome.contact_id,
                thread_id: Some(outcome.thread_id),
                reference: outcome.reference.clone(),
                acknowledgement: outcome.acknowledgement,
            })
        };
        match self.ingest_with(&message, extras, &answer).await? {
            Ingested::Replayed(saved) => Ok(Recorded::Replayed(saved)),
            Ingested::Stored(outcome) => Ok(Recorded::Stored(RecordedOutcome {
                id: log_id,
                contact_id: outcome.contact_id,
                thread_id: Some(outcome.thread_id),
                reference: outcome.reference,
                acknowledgement: outcome.acknowledgement,
            })),
        }
    }

    async fn record_resolved(
        &self,
        record: &RecordedContact,
        idempotency: Option<&IdempotencyRequest>,
        respond: &(dyn Fn(&RecordedOutcome) -> (u16, String) + Send + Sync),
    ) -> Result<Recorded, IngestError> {
        let now = self.clock.now();
        let mut tx = match self.begin_claimed(idempotency, now).await? {
            Ok(tx) => tx,
            Err(saved) => return Ok(Recorded::Replayed(saved)),
        };
        let contact_id = self
            .recorded_contact(tx.as_mut(), record, None, now)
            .await?;
        tx.insert_contact_log(&record.log_entry(contact_id, None, now))
            .await?;
        tx.append_audit(&record.audit(contact_id, None, now))
            .await?;
        let outcome = RecordedOutcome {
            id: record.id.to_string(),
            contact_id,
            thread_id: None,
            reference: None,
            acknowledgement: None,
        };
        if let Some(idem) = idempotency {
            let (status, body) = respond(&outcome);
            tx.save_idempotent_response(&idem.scope, &idem.key, status, &body)
                .await?;
        }
        tx.commit().await?;
        Ok(Recorded::Stored(outcome))
    }

    /// The contact of a recorded call or visit: the one the agent picked
    /// (it must exist and not have been merged away), else the one an
    /// identity given already names, else a new one; every identity given
    /// is attached to it, and its details are filled in. `message` is the
    /// identity the ingest looked up, when there is one.
    pub(super) async fn recorded_contact(
        &self,
        tx: &mut dyn StoreTx,
        record: &RecordedContact,
        found: Option<ContactId>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<ContactId, IngestError> {
        let contact = match record.contact {
            Some(id) => match tx.lock_contact(id).await? {
                Some((_, None)) => id,
                _ => return Err(IngestError::UnknownContact),
            },
            None => {
                let mut existing = found;
                for identity in record.identities() {
                    if existing.is_some() {
                        break;
                    }
                    existing = tx.find_contact(&identity).await?;
                }
                match existing {
                    Some(id) => id,
                    None => {
                        let identity = record.identity().ok_or(IngestError::UnknownContact)?;
                        let contact = NewContact {
                            id: ContactId::generate(),
                            display_name: record.name.clone(),
                            language: record.language,
                            phone: record.phone.clone(),
                            identity: Some(identity),
                            unverified_email: None,
                            at: now,
                        };
                        tx.create_contact(&contact).await?;
                        contact.id
                    }
                }
            }
        };
        for identity in record.identities() {
            if let Attached::Other(_) = tx.attach_identity(contact, &identity, now).await? {
                return Err(IngestError::IdentityTaken);
            }
        }
        tx.refresh_contact(
            contact,
            record.name.as_deref(),
            record.phone.as_ref(),
            record.language,
            now,
        )
        .await?;
        if let Some(address) = record.postal_address.as_deref() {
            let version = tx.lock_contact(contact).await?.map_or(1, |(v, _)| v);
            let changes = crate::store::contacts::ContactChanges {
                postal_address: Some(address.to_owned()),
                ..Default::default()
            };
            tx.update_contact(contact, version, &changes, now).await?;
        }
        Ok(contact)
    }
}
