//! Channel adapters. Each channel turns provider input (a webhook body, an
//! IMAP message, a form post) into a normalised [`models::InboundMessage`],
//! and sends replies through the one [`Connector`] trait.
//!
//! Connectors know nothing of the store, the HTTP server or each other.

pub mod email;
pub mod meta;
pub mod webform;

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use models::{
    Channel, ChannelIdentity, Language, OutboundKind, OutboxId, ReferenceNumber, RfcMessageId,
};

/// A message ready to leave through a channel. Built by the gateway's outbox
/// from a stored row; `outbox_id` is stable across retries.
#[derive(Debug, Clone, PartialEq)]
pub struct OutgoingMessage {
    /// The outbox row; providers see it as metadata or in the Message-ID.
    pub outbox_id: OutboxId,
    /// The channel to send on.
    pub channel: Channel,
    /// Who receives it.
    pub recipient: ChannelIdentity,
    /// The recipient's name, for the email `To:` display name.
    pub recipient_name: Option<String>,
    /// Why it is sent; decides Meta's messaging type and RFC 3834 headers.
    pub kind: OutboundKind,
    /// Language of the text.
    pub language: Language,
    /// Email subject, already composed.
    pub subject: Option<String>,
    /// Plain text body.
    pub text: String,
    /// HTML alternative (email only).
    pub html: Option<String>,
    /// The request's reference number, when there is one.
    pub reference: Option<ReferenceNumber>,
    /// Stable Message-ID for this delivery (email), derived from `outbox_id`.
    pub message_id: Option<RfcMessageId>,
    /// The message this answers (email In-Reply-To).
    pub in_reply_to: Option<RfcMessageId>,
    /// The thread's earlier Message-IDs, oldest first (email References).
    pub references: Vec<RfcMessageId>,
    /// When the citizen last wrote on this channel: Meta's reply windows
    /// are counted from it.
    pub last_citizen_message_at: Option<DateTime<Utc>>,
    /// The gateway's clock when the message was composed; reply windows are
    /// judged against it, so the gateway (and its tests) own the time.
    pub composed_at: DateTime<Utc>,
}

/// What the provider said when it accepted a message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SentReceipt {
    /// The provider's id for the sent message (Meta `message_id`, the
    /// email Message-ID), used to correlate echoes, receipts and bounces.
    pub provider_message_id: Option<String>,
}

/// What went wrong in a connector, phrased as what the caller should do next.
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    /// A passing failure (network, 5xx, timeout): retry later with backoff.
    #[error("transient failure: {0}")]
    Transient(String),
    /// The provider asked us to slow down: retry after the hint.
    #[error("rate limited by the provider")]
    RateLimited {
        /// The provider's hint, if it gave one.
        retry_after: Option<Duration>,
    },
    /// The provider refused this message for good: do not retry.
    #[error("permanent failure: {0}")]
    Permanent(String),
    /// The channel's reply window is closed: do not retry; the agent must use
    /// another channel (email, phone).
    #[error("the reply window of this conversation is closed: {0}")]
    ReplyWindowClosed(String),
    /// Inbound input that cannot be understood: reject it.
    #[error("invalid payload: {0}")]
    InvalidPayload(String),
    /// A webhook whose signature does not match: reject it, store nothing.
    #[error("bad webhook signature")]
    BadSignature,
    /// Credentials were refused: an administrator must act.
    #[error("credentials refused: {0}")]
    Auth(String),
}

impl ConnectorError {
    /// Whether retrying the same call later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ConnectorError::Transient(_) | ConnectorError::RateLimited { .. }
        )
    }
}

/// A channel that can send messages to citizens.
#[async_trait]
pub trait Connector: Send + Sync {
    /// Short name for logs (`email`, `meta`).
    fn name(&self) -> &'static str;

    /// The channels this connector delivers on.
    fn channels(&self) -> &'static [Channel];

    /// Sends one message. Implementations must not retry on their own: the
    /// outbox owns retries, so that every attempt is recorded.
    ///
    /// # Errors
    /// A [`ConnectorError`] saying whether to retry.
    async fn send(&self, message: &OutgoingMessage) -> Result<SentReceipt, ConnectorError>;
}
