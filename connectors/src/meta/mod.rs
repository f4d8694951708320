//! Messenger and Instagram private messages, through Meta's webhooks (in) and
//! Send API (out).
//!
//! In: the gateway's webhook route hands the query string to
//! [`verify_handshake`], and the raw body with its `X-Hub-Signature-256`
//! header to [`verify_webhook`], which checks the signature and the
//! envelope. The gateway stores the body, and its worker later hands it to
//! [`parse_webhook`], which yields one [`MetaEvent`] per `messaging[]` item.
//! Only [`MetaEvent::Message`] is a citizen writing; echoes of our own sends,
//! receipts, postbacks, story mentions and unsends are events of their own.
//! Every event that belongs on a conversation as a message (a citizen's
//! message, a postback, a story mention) carries its ready
//! [`models::InboundMessage`].
//!
//! Out: [`MetaClient`] implements [`Connector`]. It applies Meta's reply
//! windows (24 hours for anything, 7 days with the `HUMAN_AGENT` tag for what
//! a person wrote) before calling Meta, and maps Graph API errors onto
//! [`crate::ConnectorError`].
//!
//! Knows nothing of the store or of HTTP routing.

mod client;
mod config;
mod guard;
mod inbound;
mod outbound;
mod webhook;

use async_trait::async_trait;
use models::Channel;

pub use client::{FetchedAttachment, MetaClient};
pub use config::{
    MetaSettings, MetaSettingsError, PageSettings, DEFAULT_GRAPH_API_BASE,
    DEFAULT_GRAPH_API_VERSION, DEFAULT_REQUEST_TIMEOUT_SECS, MAX_REQUEST_TIMEOUT_SECS,
};
pub use guard::{is_public, LinkPolicy};
pub use inbound::{IgnoreReason, MetaEvent, MetaMessage, StoryRef, WebhookBatch, WebhookObject};
pub use outbound::{
    check_text, messaging_type_for, outbox_metadata, parse_outbox_metadata, MessagingType,
    HUMAN_AGENT_WINDOW, MAX_INSTAGRAM_TEXT_BYTES, MAX_MESSENGER_TEXT_CHARS, OUTBOX_METADATA_PREFIX,
    STANDARD_WINDOW,
};
pub use webhook::{
    parse_webhook, verify_handshake, verify_signature, verify_webhook, WebhookEnvelope,
    SIGNATURE_HEADER,
};

use crate::{Connector, ConnectorError, OutgoingMessage, SentReceipt};

/// The channels [`MetaClient`] delivers on.
const META_CHANNELS: &[Channel] = &[Channel::Messenger, Channel::Instagram];

#[async_trait]
impl Connector for MetaClient {
    fn name(&self) -> &'static str {
        "meta"
    }

    fn channels(&self) -> &'static [Channel] {
        META_CHANNELS
    }

    async fn send(&self, message: &OutgoingMessage) -> Result<SentReceipt, ConnectorError> {
        self.send_message(message).await
    }
}
