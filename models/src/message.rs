//! The normalised inbound message every connector produces, whatever the
//! channel: the one shape the ingest pipeline accepts.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::address::PhoneNumber;
use crate::channel::Channel;
use crate::identity::ChannelIdentity;
use crate::language::Language;
use crate::reference::ReferenceNumber;

/// Longest provider message id we accept; Meta's mids and RFC 5322
/// Message-IDs are far shorter, anything longer is hostile.
const MAX_EXTERNAL_ID_LEN: usize = 512;

/// A provider id that cannot be used as a deduplication key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageIdError {
    /// Empty or whitespace only.
    #[error("message id is empty")]
    Empty,
    /// Longer than 512 bytes.
    #[error("message id is longer than 512 bytes")]
    TooLong,
    /// Contains control characters or whitespace.
    #[error("message id contains control characters or spaces")]
    Characters,
}

fn check_token(text: &str) -> Result<(), MessageIdError> {
    if text.trim().is_empty() {
        return Err(MessageIdError::Empty);
    }
    if text.len() > MAX_EXTERNAL_ID_LEN {
        return Err(MessageIdError::TooLong);
    }
    if text.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(MessageIdError::Characters);
    }
    Ok(())
}

/// The provider's id of an inbound message: the deduplication key within its
/// channel (Meta `mid`, email Message-ID, form submission id).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ExternalMessageId(String);

impl ExternalMessageId {
    /// Parses a provider id.
    ///
    /// # Errors
    /// A [`MessageIdError`] for empty, oversized or control-laden ids.
    pub fn parse(text: &str) -> Result<Self, MessageIdError> {
        check_token(text)?;
        Ok(Self(text.to_owned()))
    }
}

impl AsRef<str> for ExternalMessageId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ExternalMessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for ExternalMessageId {
    type Error = MessageIdError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ExternalMessageId> for String {
    fn from(value: ExternalMessageId) -> Self {
        value.0
    }
}

/// An RFC 5322 Message-ID, stored without its angle brackets
/// (`20260113135457.GA4182@poste.example.net`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RfcMessageId(String);

impl RfcMessageId {
    /// Parses a Message-ID with or without `<…>`; it must contain an `@`.
    ///
    /// # Errors
    /// A [`MessageIdError`] when empty, oversized, or not `left@right`.
    pub fn parse(text: &str) -> Result<Self, MessageIdError> {
        let text = text.trim();
        let inner = text
            .strip_prefix('<')
            .and_then(|t| t.strip_suffix('>'))
            .unwrap_or(text);
        check_token(inner)?;
        if !inner.contains('@') || inner.contains(['<', '>']) {
            return Err(MessageIdError::Characters);
        }
        Ok(Self(inner.to_owned()))
    }

    /// The header form, with angle brackets.
    pub fn bracketed(&self) -> String {
        format!("<{}>", self.0)
    }
}

impl AsRef<str> for RfcMessageId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RfcMessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for RfcMessageId {
    type Error = MessageIdError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<RfcMessageId> for String {
    fn from(value: RfcMessageId) -> Self {
        value.0
    }
}

crate::slug_enum! {
    /// What sort of message this is, as far as acknowledging goes. Only `Citizen`
    /// messages ever open a request or get an acknowledgement.
    #[derive(Default)]
    pub enum MessageKind("message kind") {
        /// Written by a person who expects an answer.
        #[default]
        Citizen => "citizen",
        /// An out-of-office or other automatic answer (RFC 3834).
        AutoReply => "auto_reply",
        /// A delivery status notification about one of our messages.
        Bounce => "bounce",
        /// List or bulk mail the mailbox is subscribed to.
        MailingList => "mailing_list",
        /// Caught by an anti-spam rule (for example the form's honeypot).
        Spam => "spam",
    }
}

/// What the message says about the thread it belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadHints {
    /// Reference numbers written in the subject or body, in order.
    pub references: Vec<ReferenceNumber>,
    /// The message's own RFC Message-ID (email), so later replies can find it.
    pub rfc_message_id: Option<RfcMessageId>,
    /// In-Reply-To then References, nearest first.
    pub in_reply_to: Vec<RfcMessageId>,
}

/// Where an attachment's bytes are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AttachmentContent {
    /// The bytes came with the message and are kept.
    Inline {
        /// The content.
        #[serde(skip)]
        bytes: Vec<u8>,
    },
    /// The provider hosts the bytes (Meta CDN URLs, which expire).
    Remote {
        /// Where to fetch it.
        url: String,
    },
    /// Not kept, with the reason (for example over the size limit).
    Refused {
        /// Why, for the agent.
        reason: String,
    },
}

/// A file that came with a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// File name as the sender gave it, decoded.
    pub filename: Option<String>,
    /// MIME type, lower-cased.
    pub content_type: String,
    /// Size in bytes, when known.
    pub size_bytes: Option<u64>,
    /// Lower-case hex SHA-256 of the bytes, when we have them.
    pub sha256: Option<String>,
    /// The bytes, a link, or why they were refused.
    pub content: AttachmentContent,
}

/// One message from a citizen (or an automaton writing on their channel),
/// normalised by its connector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboundMessage {
    /// The channel it came through.
    pub channel: Channel,
    /// The provider's id: `(channel, external_id)` is unique.
    pub external_id: ExternalMessageId,
    /// Who wrote it, in the channel's namespace.
    pub sender: ChannelIdentity,
    /// The name the sender gave, if any.
    pub sender_name: Option<String>,
    /// A phone number the sender gave (web form), kept on the contact.
    pub sender_phone: Option<PhoneNumber>,
    /// When the provider says it was sent or received.
    pub received_at: DateTime<Utc>,
    /// Subject line (email, form), decoded.
    pub subject: Option<String>,
    /// The whole readable text, quotes and signatures included.
    pub body_text: String,
    /// The citizen's new words only: what the classifier and the agent list see.
    pub new_text: String,
    /// HTML body, already sanitized, when the channel has one.
    pub body_html: Option<String>,
    /// The language to answer in.
    pub language: Language,
    /// Citizen or automatic mail.
    pub kind: MessageKind,
    /// What the message says about its thread.
    pub hints: ThreadHints,
    /// Files that came with it.
    pub attachments: Vec<Attachment>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_message_ids_lose_their_brackets_and_get_them_back() {
        let id = RfcMessageId::parse("<20260113135457.GA4182@poste.example.net>").unwrap();
        assert_eq!(id.as_ref(), "20260113135457.GA4182@poste.example.net");
        assert_eq!(id.bracketed(), "<20260113135457.GA4182@poste.example.net>");
        assert_eq!(RfcMessageId::parse(id.as_ref()).unwrap(), id);
    }

    #[test]
    fn bad_message_ids_are_rejected() {
        for bad in [
            "",
            "<>",
            "no-at-sign",
            "<a@b> <c@d>",
            "a@b\r\nX-Injected: 1",
        ] {
            assert!(RfcMessageId::parse(bad).is_err(), "accepted {bad:?}");
        }
        assert!(ExternalMessageId::parse(&"m".repeat(513)).is_err());
        assert!(ExternalMessageId::parse("m_abc").is_ok());
    }

    #[test]
    fn message_kinds_round_trip() {
        for k in MessageKind::ALL {
            assert_eq!(MessageKind::parse(k.as_str()), Some(*k));
        }
    }
}
