//! The ingest pipeline: one transaction per inbound message that dedupes it,
//! finds or creates its contact and thread, allocates a reference number for
//! a new request, stores the message, queues the acknowledgement in the
//! outbox and the message for the classifier, and puts the thread in the
//! agents' queue. Written once over the store's transaction primitives, so
//! both engines follow the same rules.

pub mod classify;
pub mod email;
pub mod recorded;
pub mod webhooks;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use chrono::Datelike;
use chrono_tz::Tz;
use models::{
    Channel, ChannelIdentity, ContactId, InboundMessage, MessageId, MessageKind, OutboundKind,
    OutboxId, OutboxState, ReferenceNumber, ReferencePrefix, RfcMessageId, ThreadId, ThreadStatus,
};
use tokio::sync::Notify;

use crate::clock::Clock;
use crate::store::{
    MailboxPosition, NewContact, NewInboundMessage, NewOutbox, NewThread, OutboxPayload,
    SavedResponse, Store, StoreError, StoreTx, ThreadCategory, ThreadSummary,
};

/// How often a transaction that lost a race on a unique key (two first
/// messages of one new contact at once) is replayed before giving up.
const MAX_CONFLICT_RETRIES: u32 = 3;

/// A client-supplied idempotency key and the fingerprint of its request.
#[derive(Debug, Clone)]
pub struct IdempotencyRequest {
    /// Who the key belongs to (an API client, or `form` for the public form).
    pub scope: String,
    /// The key.
    pub key: String,
    /// Hash of the request body: a reused key with another body is refused.
    pub fingerprint: String,
}

/// What the email channel adds to an ingest.
#[derive(Debug, Clone)]
pub struct EmailIntake<'a> {
    /// The mailbox the message was read from.
    pub mailbox: &'a str,
    /// Its position there, committed with the message.
    pub position: MailboxPosition,
    /// Most acknowledgements one sender address receives in 24 hours.
    pub max_acks_per_sender_per_day: u32,
    /// What the message says about one of our own, when it is a bounce.
    pub bounce: Option<BounceNotice>,
}

/// A delivery report about an email the gateway sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BounceNotice {
    /// The Message-ID of our returned message.
    pub original: RfcMessageId,
    /// Some recipient failed for good (not a delay warning).
    pub permanent: bool,
    /// Status and diagnostic, for the agent (`5.1.1 smtp; 550 …`).
    pub summary: String,
}

/// What one ingest call carries besides the message.
#[derive(Clone, Copy, Default)]
struct Extras<'a> {
    idempotency: Option<&'a IdempotencyRequest>,
    email: Option<&'a EmailIntake<'a>>,
    recording: Option<&'a recorded::RecordingExtras<'a>>,
}

/// What happened to an inbound message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestOutcome {
    /// The stored message (the first one, for a replay).
    pub message_id: MessageId,
    /// Its thread.
    pub thread_id: ThreadId,
    /// The citizen.
    pub contact_id: ContactId,
    /// The thread's reference, when it is a request.
    pub reference: Option<ReferenceNumber>,
    /// The message was a replay: nothing new was written.
    pub duplicate: bool,
    /// A new thread was opened for it.
    pub new_thread: bool,
    /// The acknowledgement queued for it, if any.
    pub acknowledgement: Option<OutboxId>,
}

/// The answer to an ingest call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ingested {
    /// Stored now, or recognised as a replay of a stored message.
    Stored(IngestOutcome),
    /// The idempotency key was used before: here is the saved answer.
    Replayed(SavedResponse),
}

/// Why a message could not be taken in.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The idempotency key was used with a different request.
    #[error("idempotency key reused with a different request")]
    IdempotencyMismatch,
    /// An email address or phone number given for a contact belongs to
    /// another contact: merging them is an agent's decision.
    #[error("identity belongs to another contact")]
    IdentityTaken,
    /// The contact named does not exist (or was merged into another).
    #[error("unknown contact")]
    UnknownContact,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Whether a name typed on the public form may be repeated to the address
/// it gave: short, letters and the usual name punctuation only, so no
/// number, link or sentence reaches someone who asked for nothing.
pub fn is_plain_name(name: &str) -> bool {
    let name = name.trim();
    !name.is_empty()
        && name.chars().count() <= 40
        && name.split_whitespace().count() <= 4
        && name
            .chars()
            .all(|c| c.is_alphabetic() || matches!(c, ' ' | '-' | '\'' | '’' | '.'))
        && !name.contains("..")
}

/// Which channel an acknowledgement goes out on, for a message received on
/// `channel`: the web form has no way back but the email address it gave.
pub fn reply_channel(channel: Channel) -> Channel {
    match channel {
        Channel::WebForm | Channel::Phone | Channel::Counter => Channel::Email,
        other => other,
    }
}

/// The ingest pipeline and what it needs.
#[derive(Clone)]
pub struct Ingestor {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    prefix: ReferencePrefix,
    tz: Tz,
    outbox_max_attempts: u32,
    message_id_domain: String,
    sending_channels: Arc<Vec<Channel>>,
    classify: bool,
    classify_wakeup: Arc<Notify>,
    calendar: Arc<models::calendar::Calendar>,
    first_response_hours: u32,
    ack_caps: AckCaps,
    /// Whether this process raised the hourly acknowledgement alarm.
    ack_cap_alarmed: Arc<AtomicBool>,
    /// Whether this process raised the alarm for acknowledgements waiting
    /// for a channel with no sender.
    waiting_alarmed: Arc<AtomicBool>,
    /// Acknowledgements queued in the last hour, as last read from the store
    /// plus those this process queued since.
    ack_window: Arc<std::sync::Mutex<AckWindow>>,
}

/// How long the hourly acknowledgement count is trusted before it is read
/// again from the store (where other gateway processes add to it too).
const ACK_WINDOW_REFRESH: chrono::Duration = chrono::Duration::seconds(10);

/// The hourly acknowledgement count: read from the outbox at most every
/// [`ACK_WINDOW_REFRESH`] (a scan of up to an hour of acknowledgements, so
/// not once per message) and counted in memory between reads.
#[derive(Debug, Default)]
struct AckWindow {
    read_at: Option<chrono::DateTime<chrono::Utc>>,
    count: u64,
}

impl AckWindow {
    /// The count, when it was read recently enough to be trusted at `now`.
    fn current(&self, now: chrono::DateTime<chrono::Utc>) -> Option<u64> {
        let read_at = self.read_at?;
        (read_at <= now && now - read_at < ACK_WINDOW_REFRESH).then_some(self.count)
    }
}

/// Limits on automatic acknowledgements, so the gateway cannot be used to
/// send mail to someone else's address in bulk (`office.max_acks_*`).
#[derive(Debug, Clone, Copy)]
pub struct AckCaps {
    /// Most acknowledgements one recipient gets in 24 hours, every channel
    /// together.
    pub per_recipient_per_day: u32,
    /// Most acknowledgements queued in one hour, all recipients together;
    /// reaching it raises an alarm.
    pub per_hour: u32,
}

/// Whether an acknowledgement may be queued, or which cap holds it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AckBudget {
    Allowed,
    RecipientCap,
    HourlyCap { hour: u64 },
}

/// The alarm raised while the hourly acknowledgement cap holds
/// acknowledgements back.
pub const ACK_CAP_ALARM: &str = "acknowledgement_cap";

/// The alarm raised while outbound messages wait for a channel that has no
/// sender configured (citizens are not told their reference).
pub const WAITING_CHANNEL_ALARM: &str = "outbox_waiting_channel";

/// Builds an [`Ingestor`].
pub struct IngestorParts {
    /// Where everything is written.
    pub store: Arc<dyn Store>,
    /// Now.
    pub clock: Arc<dyn Clock>,
    /// Reference prefix.
    pub prefix: ReferencePrefix,
    /// Time zone deciding the reference year.
    pub tz: Tz,
    /// Attempts before an outbound message fails.
    pub outbox_max_attempts: u32,
    /// Right-hand side of our Message-IDs.
    pub message_id_domain: String,
    /// Channels that have a sender configured; acknowledgements for the
    /// others wait as `WaitingChannel`.
    pub sending_channels: Vec<Channel>,
    /// Queue citizen messages for the classifier.
    pub classify: bool,
    /// Woken after each commit that queued a classification.
    pub classify_wakeup: Arc<Notify>,
    /// Office hours, for deadlines.
    pub calendar: models::calendar::Calendar,
    /// Business hours to answer a citizen's message.
    pub first_response_hours: u32,
    /// Acknowledgement limits.
    pub ack_caps: AckCaps,
}

impl Ingestor {
    /// Assembles the pipeline.
    pub fn new(parts: IngestorParts) -> Self {
        Self {
            store: parts.store,
            clock: parts.clock,
            prefix: parts.prefix,
            tz: parts.tz,
            outbox_max_attempts: parts.outbox_max_attempts,
            message_id_domain: parts.message_id_domain,
            sending_channels: Arc::new(parts.sending_channels),
            classify: parts.classify,
            classify_wakeup: parts.classify_wakeup,
            calendar: Arc::new(parts.calendar),
            first_response_hours: parts.first_response_hours,
            ack_caps: parts.ack_caps,
            ack_cap_alarmed: Arc::new(AtomicBool::new(false)),
            waiting_alarmed: Arc::new(AtomicBool::new(false)),
            ack_window: Arc::default(),
        }
    }

    /// Whether an acknowledgement to `recipient` may be queued now: under
    /// its daily cap (every channel together; an email intake's own cap
    /// when lower) and under the hourly cap of the whole gateway.
    /// Concurrent ingests for one recipient are serialised, so the cap holds
    /// under a burst.
    async fn acknowledgement_budget(
        &self,
        tx: &mut dyn StoreTx,
        recipient: &ChannelIdentity,
        email: Option<&EmailIntake<'_>>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<AckBudget, StoreError> {
        tx.serialize_on(&format!("ack:{}:{}", recipient.kind(), recipient.key()))
            .await?;
        let cap = email.map_or(self.ack_caps.per_recipient_per_day, |e| {
            e.max_acks_per_sender_per_day
                .min(self.ack_caps.per_recipient_per_day)
        });
        let sent = tx
            .count_acknowledgements_since(recipient, now - chrono::Duration::hours(24))
            .await?;
        if sent >= u64::from(cap) {
            tracing::warn!(
                sent,
                "Recipient reached the daily acknowledgement limit; no acknowledgement queued"
            );
            return Ok(AckBudget::RecipientCap);
        }
        let known = self.ack_window_lock().current(now);
        let hour = match known {
            Some(count) => count,
            None => {
                let count = tx
                    .count_all_acknowledgements_since(now - chrono::Duration::hours(1))
                    .await?;
                *self.ack_window_lock() = AckWindow {
                    read_at: Some(now),
                    count,
                };
                count
            }
        };
        if hour >= u64::from(self.ack_caps.per_hour) {
            tracing::error!(
                hour,
                "The hourly acknowledgement limit is reached; no acknowledgement queued"
            );
            return Ok(AckBudget::HourlyCap { hour });
        }
        Ok(AckBudget::Allowed)
    }

    fn ack_window_lock(&self) -> std::sync::MutexGuard<'_, AckWindow> {
        // The window holds two numbers and no invariant a panic could break.
        self.ack_window
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether outbound messages on `channel` have a sender.
    pub fn can_send(&self, channel: Channel) -> bool {
        self.sending_channels.contains(&channel)
    }

    /// Raises the waiting-channel alarm (once a process) when an
    /// acknowledgement was queued for a channel with no sender.
    async fn report_waiting(&self, channel: Channel, now: chrono::DateTime<chrono::Utc>) {
        if self.can_send(channel) || self.waiting_alarmed.swap(true, Ordering::Relaxed) {
            return;
        }
        tracing::error!(
            channel = channel.as_str(),
            "An acknowledgement waits: no sender is configured for its channel"
        );
        let text = format!(
            "Acknowledgements on {} wait: no sender is configured for that channel, so citizens are not told their reference",
            channel.as_str()
        );
        if let Err(error) = self
            .store
            .raise_alarm("gateway", WAITING_CHANNEL_ALARM, &text, now)
            .await
        {
            tracing::warn!(%error, "Failed to raise the waiting-channel alarm");
        }
    }

    /// Raises the hourly-cap alarm when an acknowledgement was held back by
    /// it, and clears it once acknowledgements flow again.
    async fn report_ack_cap(&self, budget: AckBudget, now: chrono::DateTime<chrono::Utc>) {
        let result = match budget {
            AckBudget::Allowed => {
                if !self.ack_cap_alarmed.swap(false, Ordering::Relaxed) {
                    return;
                }
                self.store
                    .clear_alarm("gateway", ACK_CAP_ALARM, now)
                    .await
                    .map(|_| ())
            }
            AckBudget::RecipientCap => return,
            AckBudget::HourlyCap { hour } => {
                // Raised (and logged) once when the cap starts holding
                // acknowledgements back, not once per request of a flood.
                if self.ack_cap_alarmed.swap(true, Ordering::Relaxed) {
                    return;
                }
                tracing::error!(hour, "The hourly acknowledgement limit is reached; requests are stored but not acknowledged");
                self.store
                    .raise_alarm(
                        "gateway",
                        ACK_CAP_ALARM,
                        &format!(
                            "{hour} acknowledgements in the last hour reached the limit ({}); new requests are stored but not acknowledged",
                            self.ack_caps.per_hour
                        ),
                        now,
                    )
                    .await
            }
        };
        if let Err(error) = result {
            tracing::warn!(%error, "Failed to update the acknowledgement alarm");
        }
    }

    /// When a citizen message received at `at` must be answered by.
    pub fn first_response_due(
        &self,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Option<chrono::DateTime<chrono::Utc>> {
        self.calendar
            .add_business_hours(at, self.first_response_hours)
    }

    /// When something due `hours` business hours after `at` is due.
    pub fn due_after(
        &self,
        at: chrono::DateTime<chrono::Utc>,
        hours: u32,
    ) -> Option<chrono::DateTime<chrono::Utc>> {
        self.calendar.add_business_hours(at, hours)
    }

    /// Takes in one message. `respond` builds the answer saved with an
    /// idempotency key; it runs inside the transaction, so the key, the
    /// message and the saved answer commit together.
    ///
    /// # Errors
    /// [`IngestError::IdempotencyMismatch`] for a reused key with another
    /// body; [`IngestError::Store`] when the store fails (nothing is written).
    #[tracing::instrument(skip_all, fields(channel = %message.channel))]
    pub async fn ingest(
        &self,
        message: &InboundMessage,
        idempotency: Option<&IdempotencyRequest>,
        respond: &(dyn Fn(&IngestOutcome) -> (u16, String) + Send + Sync),
    ) -> Result<Ingested, IngestError> {
        let extras = Extras {
            idempotency,
            email: None,
            recording: None,
        };
        self.ingest_with(message, extras, respond).await
    }

    /// Takes in one email read from a mailbox: the mailbox position commits
    /// with it (a replay, already stored, still moves the position), the
    /// sender's daily acknowledgement budget applies, and a bounce of one of
    /// our messages joins that message's thread and marks it failed.
    ///
    /// # Errors
    /// [`IngestError::Store`] when the store fails (nothing is written).
    #[tracing::instrument(skip_all, fields(mailbox = intake.mailbox, uid = intake.position.last_uid))]
    pub async fn ingest_email(
        &self,
        message: &InboundMessage,
        intake: &EmailIntake<'_>,
    ) -> Result<IngestOutcome, IngestError> {
        let extras = Extras {
            idempotency: None,
            email: Some(intake),
            recording: None,
        };
        let outcome = match self
            .ingest_with(message, extras, &|_| (0, String::new()))
            .await?
        {
            Ingested::Stored(outcome) => outcome,
            Ingested::Replayed(_) => {
                return Err(IngestError::Store(StoreError::Internal(anyhow::anyhow!(
                    "An email ingest has no idempotency key to replay"
                ))))
            }
        };
        if outcome.duplicate {
            let mut tx = self.store.begin().await?;
            tx.save_mailbox_position(intake.mailbox, intake.position, self.clock.now())
                .await?;
            tx.commit().await?;
        }
        Ok(outcome)
    }

    async fn ingest_with(
        &self,
        message: &InboundMessage,
        extras: Extras<'_>,
        respond: &(dyn Fn(&IngestOutcome) -> (u16, String) + Send + Sync),
    ) -> Result<Ingested, IngestError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.try_ingest(message, extras, respond).await {
                Err(IngestError::Store(StoreError::Conflict { constraint }))
                    if attempt < MAX_CONFLICT_RETRIES =>
                {
                    tracing::debug!(%constraint, attempt, "Ingest lost a race on a unique key, replaying");
                }
                other => return other,
            }
        }
    }

    async fn replay(
        &self,
        idempotency: &IdempotencyRequest,
    ) -> Result<Option<SavedResponse>, IngestError> {
        match self
            .store
            .find_saved_response(&idempotency.scope, &idempotency.key)
            .await?
        {
            Some(saved) if saved.fingerprint != idempotency.fingerprint => {
                Err(IngestError::IdempotencyMismatch)
            }
            saved => Ok(saved),
        }
    }

    /// A transaction holding the idempotency key for this request, or the
    /// answer given before to that key. A request racing on the same key
    /// gets the winner's answer, or a conflict while the winner still writes.
    pub(super) async fn begin_claimed(
        &self,
        idempotency: Option<&IdempotencyRequest>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Result<Box<dyn StoreTx>, SavedResponse>, IngestError> {
        let Some(idem) = idempotency else {
            return Ok(Ok(self.store.begin().await?));
        };
        if let Some(saved) = self.replay(idem).await? {
            return Ok(Err(saved));
        }
        let mut tx = self.store.begin().await?;
        if tx
            .claim_idempotency_key(&idem.scope, &idem.key, &idem.fingerprint, now)
            .await?
        {
            return Ok(Ok(tx));
        }
        drop(tx);
        self.replay(idem).await?.map(Err).ok_or_else(|| {
            IngestError::Store(StoreError::Conflict {
                constraint: "idempotency_keys".into(),
            })
        })
    }

    async fn try_ingest(
        &self,
        message: &InboundMessage,
        extras: Extras<'_>,
        respond: &(dyn Fn(&IngestOutcome) -> (u16, String) + Send + Sync),
    ) -> Result<Ingested, IngestError> {
        let idempotency = extras.idempotency;
        let now = self.clock.now();
        let mut tx = match self.begin_claimed(idempotency, now).await? {
            Ok(tx) => tx,
            Err(saved) => return Ok(Ingested::Replayed(saved)),
        };
        let message_id = MessageId::generate();
        if !tx
            .claim_inbound_key(message.channel, &message.external_id, message_id)
            .await?
        {
            drop(tx);
            return self.duplicate(message).await;
        }

        let contact_id = match extras.recording {
            Some(recording) => {
                let found = tx.find_contact(&message.sender).await?;
                self.recorded_contact(tx.as_mut(), recording.record, found, now)
                    .await?
            }
            None => {
                self.find_or_create_contact(tx.as_mut(), message, now)
                    .await?
            }
        };
        let citizen = message.kind == MessageKind::Citizen;
        // Chat reply windows count from when the citizen wrote; a provider
        // clock ahead of ours must not stretch them.
        let citizen_at = citizen.then(|| message.received_at.min(now));
        let bounce = extras.email.and_then(|e| e.bounce.as_ref());
        let existing = match bounce {
            Some(bounce) => tx.thread_of_outbound(&bounce.original).await?,
            None => None,
        };
        let existing = match existing {
            Some(thread) => Some(thread),
            None => self.find_thread(tx.as_mut(), message, contact_id).await?,
        };
        let (thread_id, reference, new_thread, category) = match existing {
            Some(thread) => {
                let due = citizen_at.and_then(|at| self.first_response_due(at));
                tx.touch_thread(thread.id, now, citizen_at, due).await?;
                (thread.id, thread.reference, false, ThreadCategory::Request)
            }
            None => {
                let category = match message.kind {
                    MessageKind::Citizen => ThreadCategory::Request,
                    MessageKind::Spam => ThreadCategory::Spam,
                    MessageKind::AutoReply | MessageKind::Bounce | MessageKind::MailingList => {
                        ThreadCategory::Automatic
                    }
                };
                let reference = if category == ThreadCategory::Request {
                    let year = now.with_timezone(&self.tz).year();
                    let year = u32::try_from(year).map_err(|e| StoreError::Internal(e.into()))?;
                    Some(tx.next_reference(&self.prefix, year).await?)
                } else {
                    None
                };
                let thread = NewThread {
                    id: ThreadId::generate(),
                    reference: reference.clone(),
                    contact_id,
                    channel: message.channel,
                    category,
                    subject: message.subject.clone(),
                    status: if category == ThreadCategory::Spam {
                        ThreadStatus::Resolved
                    } else {
                        ThreadStatus::AwaitingAgent
                    },
                    language: message.language,
                    last_citizen_message_at: citizen_at,
                    due_at: if category == ThreadCategory::Request {
                        citizen_at.and_then(|at| self.first_response_due(at))
                    } else {
                        None
                    },
                    at: now,
                };
                tx.create_thread(&thread).await?;
                (thread.id, reference, true, category)
            }
        };

        let classify = self.classify && citizen;
        tx.insert_inbound_message(&NewInboundMessage {
            id: message_id,
            thread_id,
            contact_id,
            message,
            at: now,
            classify,
        })
        .await?;

        if let Some(recording) = extras.recording {
            let record = recording.record;
            tx.insert_contact_log(&record.log_entry(contact_id, Some(thread_id), now))
                .await?;
            tx.append_audit(&record.audit(contact_id, Some(thread_id), now))
                .await?;
            if let (Some(topic), true) = (record.topic, new_thread) {
                tx.set_opening_topic(thread_id, topic, record.department.as_deref())
                    .await?;
            }
        }

        if let Some(bounce) = bounce.filter(|b| b.permanent) {
            let error = format!("bounced: {}", bounce.summary);
            if tx
                .fail_outbound_by_rfc_id(&bounce.original, &error, now)
                .await?
            {
                tx.raise_thread(thread_id, now).await?;
                tracing::info!(%thread_id, "A bounce marked an outbound email failed");
            }
        }

        // A request recorded at the counter with no email address has no
        // way to be acknowledged in writing: the agent read the number out.
        let reachable = reply_channel(message.channel) != Channel::Email
            || matches!(message.sender, ChannelIdentity::Email { .. });
        let wants_ack = new_thread && citizen && category == ThreadCategory::Request && reachable;
        let budget = if wants_ack {
            self.acknowledgement_budget(tx.as_mut(), &message.sender, extras.email, now)
                .await?
        } else {
            AckBudget::Allowed
        };
        let within_budget = budget == AckBudget::Allowed;
        // A refusal of service decided by a supervisor: the message is still
        // taken in, flagged for them, and acknowledged with the city's text
        // for that case.
        let refused = citizen
            && tx
                .refusal_stands(contact_id, now.with_timezone(&self.tz).date_naive())
                .await?;
        if refused {
            tx.flag_thread(thread_id).await?;
        }
        let acknowledgement = if wants_ack && within_budget {
            Some(
                self.queue_acknowledgement(
                    tx.as_mut(),
                    message,
                    message_id,
                    thread_id,
                    reference.as_ref(),
                    refused,
                    now,
                )
                .await?,
            )
        } else {
            None
        };

        let outcome = IngestOutcome {
            message_id,
            thread_id,
            contact_id,
            reference,
            duplicate: false,
            new_thread,
            acknowledgement,
        };
        if let Some(idem) = idempotency {
            let (status, body) = respond(&outcome);
            tx.save_idempotent_response(&idem.scope, &idem.key, status, &body)
                .await?;
        }
        if let Some(email) = extras.email {
            tx.save_mailbox_position(email.mailbox, email.position, now)
                .await?;
        }
        tx.commit().await?;
        if classify {
            self.classify_wakeup.notify_one();
        }
        if wants_ack {
            self.report_ack_cap(budget, now).await;
        }
        if outcome.acknowledgement.is_some() {
            self.report_waiting(reply_channel(message.channel), now)
                .await;
        }
        tracing::debug!(message_id = %outcome.message_id, thread_id = %outcome.thread_id, new_thread, "Stored inbound message");
        Ok(Ingested::Stored(outcome))
    }

    async fn duplicate(&self, message: &InboundMessage) -> Result<Ingested, IngestError> {
        let (message_id, thread) = self
            .store
            .find_inbound(message.channel, &message.external_id)
            .await?
            // The key was claimed by a transaction that has since committed;
            // not finding it would mean the store lost a committed row.
            .ok_or_else(|| {
                StoreError::Internal(anyhow::anyhow!(
                    "Inbound key claimed but its message is missing"
                ))
            })?;
        tracing::debug!(%message_id, "Inbound message is a replay");
        Ok(Ingested::Stored(IngestOutcome {
            message_id,
            thread_id: thread.id,
            contact_id: thread.contact_id,
            reference: thread.reference,
            duplicate: true,
            new_thread: false,
            acknowledgement: None,
        }))
    }

    async fn find_or_create_contact(
        &self,
        tx: &mut dyn StoreTx,
        message: &InboundMessage,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<ContactId, StoreError> {
        if !message.channel.proves_sender() {
            // Typed by an anonymous visitor: a contact of its own that owns
            // no identity, so it changes nothing known about anyone.
            let contact = NewContact {
                id: ContactId::generate(),
                display_name: message.sender_name.clone(),
                language: message.language,
                phone: message.sender_phone.clone(),
                identity: None,
                unverified_email: message.sender.email().map(ToString::to_string),
                at: now,
            };
            tx.create_contact(&contact).await?;
            return Ok(contact.id);
        }
        if let Some(id) = tx.find_contact(&message.sender).await? {
            tx.refresh_contact(
                id,
                message.sender_name.as_deref(),
                message.sender_phone.as_ref(),
                message.language,
                now,
            )
            .await?;
            return Ok(id);
        }
        let contact = NewContact {
            id: ContactId::generate(),
            display_name: message.sender_name.clone(),
            language: message.language,
            phone: message.sender_phone.clone(),
            identity: Some(message.sender.clone()),
            unverified_email: None,
            at: now,
        };
        tx.create_contact(&contact).await?;
        Ok(contact.id)
    }

    /// A thread joins only when its citizen is the sender: a stranger quoting
    /// someone else's reference (or replying to a forwarded message) starts a
    /// request of their own, so no citizen ever sees another's thread. A
    /// sender nobody proved (the public form) always starts a new one.
    async fn find_thread(
        &self,
        tx: &mut dyn StoreTx,
        message: &InboundMessage,
        contact: ContactId,
    ) -> Result<Option<ThreadSummary>, StoreError> {
        if message.kind == MessageKind::Spam || !message.channel.proves_sender() {
            return Ok(None);
        }
        for reference in &message.hints.references {
            if let Some(thread) = tx.thread_by_reference(reference).await? {
                if thread.contact_id == contact {
                    return Ok(Some(thread));
                }
            }
        }
        if !message.hints.in_reply_to.is_empty() {
            if let Some(thread) = tx.thread_by_rfc_ids(&message.hints.in_reply_to).await? {
                if thread.contact_id == contact {
                    return Ok(Some(thread));
                }
            }
        }
        if message.channel.is_chat() {
            return tx.open_thread(contact, message.channel).await;
        }
        Ok(None)
    }

    #[allow(clippy::too_many_arguments)]
    async fn queue_acknowledgement(
        &self,
        tx: &mut dyn StoreTx,
        message: &InboundMessage,
        cause: MessageId,
        thread_id: ThreadId,
        reference: Option<&ReferenceNumber>,
        refusal: bool,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<OutboxId, StoreError> {
        let id = OutboxId::generate();
        let channel = reply_channel(message.channel);
        let recipient: ChannelIdentity = message.sender.clone();
        let rfc_message_id = if channel == Channel::Email {
            self.outbound_message_id(id, reference)
        } else {
            None
        };
        let state = if self.sending_channels.contains(&channel) {
            OutboxState::Pending
        } else {
            OutboxState::WaitingChannel
        };
        tx.enqueue_outbox(&NewOutbox {
            id,
            thread_id,
            cause_message_id: Some(cause),
            channel,
            kind: OutboundKind::Acknowledgement,
            recipient,
            language: message.language,
            rfc_message_id,
            payload: OutboxPayload {
                reference: reference.cloned(),
                // An address nobody proved may be someone else's: its
                // acknowledgement repeats nothing the visitor wrote but a
                // plain name.
                recipient_name: if message.channel.proves_sender() {
                    message.sender_name.clone()
                } else {
                    message
                        .sender_name
                        .as_deref()
                        .filter(|n| is_plain_name(n))
                        .map(str::to_owned)
                },
                subject: message
                    .subject
                    .clone()
                    .filter(|_| message.channel.proves_sender()),
                received_at: Some(now),
                body: None,
                in_reply_to: message.hints.rfc_message_id.clone(),
                refusal,
            },
            state,
            max_attempts: self.outbox_max_attempts,
            at: now,
        })
        .await?;
        // Counted before the commit: a rolled-back acknowledgement counts
        // until the next read, which errs on the side of the cap.
        self.ack_window_lock().count += 1;
        Ok(id)
    }

    /// An outbound message an agent wrote (a reply, a transfer notice) to
    /// `recipient`, who wrote on `inbound_channel`: sent on the channel that
    /// answers it, with the gateway's outbox settings, waiting when that
    /// channel has no sender yet.
    #[allow(clippy::too_many_arguments)]
    pub fn agent_outbound(
        &self,
        thread_id: ThreadId,
        inbound_channel: Channel,
        kind: OutboundKind,
        recipient: ChannelIdentity,
        language: models::Language,
        reference: Option<&ReferenceNumber>,
        payload: OutboxPayload,
        now: chrono::DateTime<chrono::Utc>,
    ) -> NewOutbox {
        let id = OutboxId::generate();
        let channel = reply_channel(inbound_channel);
        NewOutbox {
            id,
            thread_id,
            cause_message_id: None,
            channel,
            kind,
            recipient,
            language,
            rfc_message_id: (channel == Channel::Email)
                .then(|| self.outbound_message_id(id, reference))
                .flatten(),
            payload,
            state: if self.sending_channels.contains(&channel) {
                OutboxState::Pending
            } else {
                OutboxState::WaitingChannel
            },
            max_attempts: self.outbox_max_attempts,
            at: now,
        }
    }

    /// A stable Message-ID for an outbound email: the reference (so a
    /// returned header names the request) and the outbox id (unique, and the
    /// same on every retry).
    pub fn outbound_message_id(
        &self,
        id: OutboxId,
        reference: Option<&ReferenceNumber>,
    ) -> Option<RfcMessageId> {
        let left = match reference {
            Some(r) => format!("sj.{r}.{}", id.as_uuid().simple()),
            None => format!("sj.{}", id.as_uuid().simple()),
        };
        RfcMessageId::parse(&format!("{left}@{}", self.message_id_domain)).ok()
    }
}
