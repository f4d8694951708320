//! The webhook worker: processes the webhook bodies the HTTP route stored
//! before answering 200 (the route checked only their signature and
//! envelope). Each body is parsed here from its stored bytes and every event
//! in it is applied: the messages the connector built (citizen messages,
//! postbacks, story mentions) go through the ingest pipeline (deduplicated
//! on their provider id, so a body processed twice changes nothing), echoes
//! confirm our sends, receipts mark them delivered or read, unsends mark the
//! stored message deleted.

use std::sync::Arc;
use std::time::Duration;

use connectors::meta::{parse_webhook, MetaClient, MetaEvent, MetaSettings};
use models::{AttachmentContent, InboundMessage, ReferencePrefix};
use sha2::{Digest, Sha256};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::{IngestError, Ingestor};
use crate::clock::Clock;
use crate::store::{Store, StoreError, StoredWebhook};
use crate::worker::{Pace, Step, Worker};

/// The source name of Meta webhook bodies.
pub const META_SOURCE: &str = "meta";

/// After this many failed processing attempts a body is set aside with its
/// error for an operator, instead of being retried forever.
const MAX_WEBHOOK_ATTEMPTS: u32 = 10;

/// Processes stored webhook bodies.
#[derive(Clone)]
pub struct WebhookWorker {
    store: Arc<dyn Store>,
    ingestor: Ingestor,
    meta: Arc<MetaSettings>,
    prefix: ReferencePrefix,
    clock: Arc<dyn Clock>,
    wakeup: Arc<Notify>,
    lease: Duration,
    idle: Duration,
    attachments: Option<Arc<MetaClient>>,
    keep_processed: chrono::Duration,
    /// Unix seconds of the last purge of processed bodies.
    last_purge: Arc<std::sync::atomic::AtomicI64>,
}

/// Builds a [`WebhookWorker`].
pub struct WebhookWorkerParts {
    /// Where bodies and messages live.
    pub store: Arc<dyn Store>,
    /// The ingest pipeline.
    pub ingestor: Ingestor,
    /// Meta pages and secrets (bodies are parsed with them).
    pub meta: Arc<MetaSettings>,
    /// Reference prefix, to find references quoted in messages.
    pub prefix: ReferencePrefix,
    /// Now.
    pub clock: Arc<dyn Clock>,
    /// Woken by the route after each stored body.
    pub wakeup: Arc<Notify>,
    /// Claim lease.
    pub lease: Duration,
    /// Poll interval when idle.
    pub idle: Duration,
    /// Downloads attachments before their links expire, when
    /// `fetch_attachments` is on; `None` keeps only the links.
    pub attachments: Option<Arc<MetaClient>>,
    /// How long a processed body is kept (for an operator's inquiry) before
    /// it is deleted.
    pub keep_processed: chrono::Duration,
}

/// Whether an attachment is one of the media Meta hosts (`image`, `video`,
/// `audio`, `file`), the only kinds ever downloaded.
fn is_meta_media(content_type: &str) -> bool {
    content_type.starts_with("image/")
        || content_type.starts_with("video/")
        || content_type.starts_with("audio/")
        || content_type == "application/octet-stream"
}

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// This many bodies were processed.
    Completed(usize),
    /// Nothing was waiting.
    QueueEmpty,
}

impl WebhookWorker {
    /// Assembles the worker.
    pub fn new(parts: WebhookWorkerParts) -> Self {
        Self {
            store: parts.store,
            ingestor: parts.ingestor,
            meta: parts.meta,
            prefix: parts.prefix,
            clock: parts.clock,
            wakeup: parts.wakeup,
            lease: parts.lease,
            idle: parts.idle,
            attachments: parts.attachments,
            keep_processed: parts.keep_processed,
            last_purge: Arc::new(std::sync::atomic::AtomicI64::new(0)),
        }
    }

    /// Deletes processed bodies older than `keep_processed`, at most once an
    /// hour.
    async fn purge_if_due(&self) -> Result<(), StoreError> {
        use std::sync::atomic::Ordering;
        let now = self.clock.now();
        let last = self.last_purge.load(Ordering::Relaxed);
        if now.timestamp() - last < 3600 {
            return Ok(());
        }
        self.last_purge.store(now.timestamp(), Ordering::Relaxed);
        let purged = self
            .store
            .purge_processed_webhooks(now - self.keep_processed)
            .await?;
        if purged > 0 {
            tracing::info!(
                purged,
                "Deleted processed webhook bodies past their keeping time"
            );
        }
        Ok(())
    }

    /// Replaces the CDN links of a new message's attachments by their bytes.
    /// A link that fails (expired, too large, host down) stays a link, and
    /// the message is taken in anyway: its text matters more than its photo.
    async fn keep_attachments(&self, message: &mut InboundMessage) -> Result<(), IngestError> {
        let Some(client) = &self.attachments else {
            return Ok(());
        };
        let remote = message
            .attachments
            .iter()
            .any(|a| matches!(a.content, AttachmentContent::Remote { .. }));
        if !remote
            || self
                .store
                .find_inbound(message.channel, &message.external_id)
                .await?
                .is_some()
        {
            return Ok(());
        }
        // Only media Meta hosts (image, video, audio, file) are fetched: a
        // link a citizen shared (`fallback`, `share`…) stays a link. The
        // count and the bytes of one message are capped.
        let mut budget = self.meta.max_attachment_bytes_per_message;
        let mut left = self.meta.max_attachments_per_message;
        for attachment in &mut message.attachments {
            let AttachmentContent::Remote { url } = &attachment.content else {
                continue;
            };
            if !is_meta_media(&attachment.content_type) {
                continue;
            }
            if left == 0 || budget == 0 {
                tracing::info!("Attachment over the per-message cap; its link is kept");
                continue;
            }
            left -= 1;
            match client.fetch_attachment(url, budget).await {
                Ok(fetched) => {
                    let size = fetched.bytes.len() as u64;
                    budget = budget.saturating_sub(size);
                    attachment.size_bytes = Some(size);
                    attachment.sha256 = Some(hex::encode(Sha256::digest(&fetched.bytes)));
                    attachment.content_type = fetched.content_type;
                    attachment.content = AttachmentContent::Inline {
                        bytes: fetched.bytes,
                    };
                }
                Err(error) => {
                    tracing::warn!(%error, "Attachment not downloaded; its link is kept");
                }
            }
        }
        Ok(())
    }

    /// Processes one batch of stored bodies.
    ///
    /// # Errors
    /// A [`StoreError`] from claiming; a body that fails is retried later.
    #[tracing::instrument(skip_all)]
    pub async fn step(&self) -> Result<WebhookOutcome, StoreError> {
        let claimed = self
            .store
            .claim_webhooks(self.clock.now(), self.lease, 16)
            .await?;
        if claimed.is_empty() {
            self.purge_if_due().await?;
            return Ok(WebhookOutcome::QueueEmpty);
        }
        let count = claimed.len();
        for webhook in claimed {
            match self.process(&webhook).await {
                Ok(()) => {
                    self.store
                        .finish_webhook(&webhook.id, None, self.clock.now())
                        .await?
                }
                Err(error) if webhook.attempts >= MAX_WEBHOOK_ATTEMPTS => {
                    tracing::error!(webhook_id = %webhook.id, error = %error, "Webhook body set aside after repeated failures");
                    self.store
                        .finish_webhook(&webhook.id, Some(&error.to_string()), self.clock.now())
                        .await?;
                }
                Err(error) => {
                    tracing::warn!(webhook_id = %webhook.id, attempt = webhook.attempts, error = %error, "Webhook body processing failed, will retry");
                }
            }
        }
        Ok(WebhookOutcome::Completed(count))
    }

    async fn process(&self, webhook: &StoredWebhook) -> Result<(), IngestError> {
        if webhook.source != META_SOURCE {
            tracing::warn!(webhook_id = %webhook.id, source = %webhook.source, "Stored webhook from an unknown source ignored");
            return Ok(());
        }
        let batch = match parse_webhook(&webhook.body, &self.meta, &self.prefix) {
            Ok(batch) => batch,
            Err(error) => {
                // The route checked the envelope before storing the body, and
                // `parse_webhook` accepts every body that check accepts; only
                // a change of the connector in between can make it fail now.
                tracing::warn!(webhook_id = %webhook.id, error = %error, "Stored webhook body no longer parses");
                return Ok(());
            }
        };
        let now = self.clock.now();
        for event in batch.events {
            let channel = event.channel();
            match event {
                MetaEvent::Message(mut message) => {
                    self.keep_attachments(&mut message.inbound).await?;
                    let outcome = self
                        .ingestor
                        .ingest(&message.inbound, None, &|_| (0, String::new()))
                        .await?;
                    tracing::debug!(?outcome, "Meta message taken in");
                }
                MetaEvent::Postback {
                    inbound: Some(message),
                    ..
                }
                | MetaEvent::StoryMention {
                    inbound: message, ..
                } => {
                    self.ingestor
                        .ingest(&message, None, &|_| (0, String::new()))
                        .await?;
                }
                MetaEvent::Postback { inbound: None, .. } => {
                    tracing::info!("Postback without a usable id ignored");
                }
                MetaEvent::Echo { mid, outbox_id, .. } => {
                    if let Some(id) = outbox_id {
                        let changed = self
                            .store
                            .confirm_outbox_echo(id, mid.as_ref(), now)
                            .await?;
                        tracing::debug!(outbox_id = %id, confirmed = changed, "Echo of our send correlated");
                    }
                }
                MetaEvent::Delivery {
                    identity,
                    mids,
                    watermark,
                } => {
                    let ids: Vec<String> = mids.iter().map(ToString::to_string).collect();
                    self.store
                        .mark_outbound_receipt(&identity, &ids, Some(watermark), false, now)
                        .await?;
                }
                MetaEvent::Read {
                    identity,
                    watermark,
                    mid,
                } => {
                    let ids: Vec<String> = mid.iter().map(ToString::to_string).collect();
                    self.store
                        .mark_outbound_receipt(&identity, &ids, watermark, true, now)
                        .await?;
                }
                MetaEvent::Deleted { mid, .. } => {
                    if let Some(channel) = channel {
                        let found = self.store.mark_message_deleted(channel, &mid, now).await?;
                        tracing::info!(found, "Citizen unsent a message");
                    }
                }
                MetaEvent::Edited { .. } => {
                    tracing::debug!("Message edit recorded in the log only");
                }
                MetaEvent::Ignored { reason } => {
                    tracing::info!(?reason, "Webhook event ignored");
                }
            }
        }
        Ok(())
    }
}

impl Worker for WebhookWorker {
    type Error = StoreError;

    fn name(&self) -> String {
        "webhooks".to_owned()
    }

    fn pace(&self) -> Pace {
        Pace::polling(self.idle)
    }

    fn wakeup(&self) -> Option<Arc<Notify>> {
        Some(Arc::clone(&self.wakeup))
    }

    async fn step(&self, _cancel: &CancellationToken) -> Result<Step, StoreError> {
        Ok(match WebhookWorker::step(self).await? {
            WebhookOutcome::Completed(_) => Step::Worked,
            WebhookOutcome::QueueEmpty => Step::Idle,
        })
    }
}
