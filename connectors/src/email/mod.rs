//! Email channel: IMAP in, SMTP out.
//!
//! - [`inbound`] parses raw messages into [`models::InboundMessage`]s (with
//!   [`classify`] for automatic mail and [`text`] for bodies and new text);
//! - [`inspect`] is the JSON contract of `inbox email inspect`;
//! - [`client`] reads mailboxes over IMAP (checkpoint by UID, IDLE or
//!   polling, mark or move after the caller's commit);
//! - [`outbound`] sends acknowledgements and replies over SMTP and
//!   implements [`crate::Connector`] for email and web-form recipients.
//!
//! The channel knows nothing of the store: the gateway owns checkpoints,
//! deduplication and the per-sender acknowledgement limit.
//!
//! A mailbox task in the gateway runs, per mailbox: [`Mailbox::connect`];
//! `after = MailboxCheckpoint::resume_after(stored, &mailbox.status())`;
//! then repeatedly [`Mailbox::fetch_after`]`(after)`; for each message,
//! [`parse_email`] (in `spawn_blocking`, with the INTERNALDATE as fallback
//! time), commit the message *and* the new checkpoint in one transaction,
//! then [`Mailbox::mark_processed`]; when a batch comes back empty,
//! [`Mailbox::wait_for_change`]. On any `Transient` error: drop the
//! mailbox, back off, reconnect. A message that does not parse still moves
//! the checkpoint (record the rejection), or it would be fetched forever.

pub mod classify;
pub mod client;
pub mod config;
pub mod inbound;
pub mod inspect;
pub mod outbound;
pub mod text;

pub use classify::{classify_automatic, AutomaticReason, AutomaticSignals, AutomaticVerdict};
pub use client::{FetchedEmail, Mailbox, MailboxCheckpoint, MailboxStatus, WaitOutcome};
pub use config::{
    AfterProcessing, AfterProcessingSetting, EmailSettings, EmailSettingsError, ImapAuthMethod,
    MailboxSettings, SmtpSettings, TransportSecurity,
};
pub use inbound::{
    parse_email, BounceRecipient, BounceReport, BounceSeverity, EmailParseError, ParseContext,
    ParsedEmail,
};
pub use inspect::{inspect, inspect_report, InspectAttachment, InspectReport};
pub use outbound::SmtpSender;

use async_trait::async_trait;
use models::Channel;

use crate::{Connector, ConnectorError, OutgoingMessage, SentReceipt};

/// Channels whose answers leave by email: email itself and the web form,
/// whose requesters give an email address.
const EMAIL_CHANNELS: &[Channel] = &[Channel::Email, Channel::WebForm];

#[async_trait]
impl Connector for SmtpSender {
    fn name(&self) -> &'static str {
        "email"
    }

    fn channels(&self) -> &'static [Channel] {
        EMAIL_CHANNELS
    }

    async fn send(&self, message: &OutgoingMessage) -> Result<SentReceipt, ConnectorError> {
        self.deliver(message).await
    }
}
