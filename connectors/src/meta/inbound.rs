//! What a Messenger or Instagram webhook says, as domain events: the provider
//! payload structs (which tolerate unknown fields) and their conversion into
//! [`MetaEvent`]s, one event per `messaging[]` item.
//!
//! Pure: no clock, no I/O, no randomness, so the same body always gives the
//! same events. An item that cannot be understood, or that concerns a Page we
//! do not serve, becomes [`MetaEvent::Ignored`] without failing its batch:
//! rejecting a whole POST would make Meta redeliver the good events with it.

use std::fmt;

use chrono::{DateTime, Utc};
use models::{
    Attachment, AttachmentContent, Channel, ChannelIdentity, ExternalMessageId, IgAccountId, Igsid,
    InboundMessage, Language, MessageKind, OutboxId, PageId, Psid, ReferenceNumber,
    ReferencePrefix, ThreadHints,
};
use serde::Deserialize;
use serde_json::Value;

use super::config::MetaSettings;
use super::outbound::parse_outbox_metadata;

/// Longest excerpt of provider text (an unknown id, a parse error) kept in an
/// [`IgnoreReason`], so that a hostile body cannot bloat the logs.
const MAX_REASON_EXCERPT_CHARS: usize = 120;

/// Which product a webhook POST is about: its top-level `object`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookObject {
    /// `page`: Messenger events of a Facebook Page.
    Page,
    /// `instagram`: Instagram direct-message events of a professional account.
    Instagram,
    /// Any other subscription (`user`, `permissions`, …). It carries no event
    /// for this gateway. Meta retries anything but a 2xx and may disable a
    /// failing subscription, so the route should answer 200 and log it.
    Unsupported {
        /// The `object` value, shortened to a safe length.
        name: String,
    },
}

/// Everything one webhook POST said, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookBatch {
    /// The product the POST is about.
    pub object: WebhookObject,
    /// One event per `entry[].messaging[]` (and `entry[].standby[]`) item,
    /// in body order. Empty for [`WebhookObject::Unsupported`].
    pub events: Vec<MetaEvent>,
}

/// One thing that happened on a Messenger or Instagram conversation.
///
/// Only [`MetaEvent::Message`] is a citizen writing: it alone may open a
/// request or be acknowledged.
#[derive(Debug, Clone, PartialEq)]
pub enum MetaEvent {
    /// A citizen sent a message: store it (deduplicated on
    /// `inbound.external_id`) and acknowledge it.
    Message(Box<MetaMessage>),
    /// A copy of a message the Page or account sent, whether by this gateway
    /// (then `outbox_id` is set from our `metadata`) or by a person in Meta's
    /// own inbox. Never a citizen message, never acknowledged.
    Echo {
        /// The sent message's id (the `message_id` the Send API returned).
        mid: ExternalMessageId,
        /// Our outbox row, when the echo carries our metadata.
        outbox_id: Option<OutboxId>,
        /// The raw `metadata` string, when there was one.
        metadata: Option<String>,
        /// The app that sent it (`app_id`), when Meta says.
        app_id: Option<u64>,
        /// The citizen the message went to.
        recipient: ChannelIdentity,
        /// The sent text, if it had one.
        text: Option<String>,
        /// When Meta recorded the send.
        at: DateTime<Utc>,
    },
    /// Messenger delivered our messages: `mids` (when given) and everything
    /// sent before `watermark`. A status update only.
    Delivery {
        /// The citizen whose device received the messages.
        identity: ChannelIdentity,
        /// The delivered messages Meta names, possibly none.
        mids: Vec<ExternalMessageId>,
        /// Every message sent before this instant is delivered.
        watermark: DateTime<Utc>,
    },
    /// The citizen read our messages. Messenger gives a `watermark`,
    /// Instagram the `mid` of the message read.
    Read {
        /// The citizen who read.
        identity: ChannelIdentity,
        /// Every message sent before this instant is read (Messenger).
        watermark: Option<DateTime<Utc>>,
        /// The message read (Instagram).
        mid: Option<ExternalMessageId>,
    },
    /// The citizen tapped a button (`postback`): record it on their
    /// conversation.
    Postback {
        /// The citizen who tapped.
        identity: ChannelIdentity,
        /// The button's label as the citizen saw it.
        title: String,
        /// The developer payload of the button.
        payload: String,
        /// The postback's message id, when Meta gives one.
        mid: Option<ExternalMessageId>,
        /// When the citizen tapped.
        at: DateTime<Utc>,
        /// The tap as a citizen message whose text is the title, ready for
        /// ingest. Its id is the `mid`, or else one made of the citizen, the
        /// time and the payload; `None` when that payload cannot be part of
        /// an id (blanks, control characters, too long).
        inbound: Option<Box<InboundMessage>>,
    },
    /// The citizen unsent (deleted) a message: mark the stored one deleted.
    Deleted {
        /// The citizen who unsent it.
        identity: ChannelIdentity,
        /// The message that was unsent.
        mid: ExternalMessageId,
    },
    /// The citizen edited a message they sent (Messenger `message_edit`).
    Edited {
        /// The citizen who edited it.
        identity: ChannelIdentity,
        /// The edited message.
        mid: ExternalMessageId,
        /// The new text.
        text: String,
        /// When the edit happened.
        at: DateTime<Utc>,
    },
    /// The citizen mentioned the city's account in their Instagram story. Not
    /// a request: nothing to acknowledge, an agent may look at it.
    StoryMention {
        /// The citizen.
        identity: ChannelIdentity,
        /// The mention's message id.
        mid: ExternalMessageId,
        /// The story's (expiring) CDN link.
        url: Option<String>,
        /// When the mention arrived.
        at: DateTime<Utc>,
        /// The mention as an automatic message without text, ready for
        /// ingest: it is recorded on the conversation for an agent, and
        /// nothing is acknowledged.
        inbound: Box<InboundMessage>,
    },
    /// An item that carries nothing for the gateway, or that it cannot use.
    Ignored {
        /// Why, for the log.
        reason: IgnoreReason,
    },
}

impl MetaEvent {
    /// The channel the event happened on, when it concerns a conversation.
    pub fn channel(&self) -> Option<Channel> {
        let identity = match self {
            MetaEvent::Message(message) => return Some(message.inbound.channel),
            MetaEvent::Echo { recipient, .. } => recipient,
            MetaEvent::Delivery { identity, .. }
            | MetaEvent::Read { identity, .. }
            | MetaEvent::Postback { identity, .. }
            | MetaEvent::Deleted { identity, .. }
            | MetaEvent::Edited { identity, .. }
            | MetaEvent::StoryMention { identity, .. } => identity,
            MetaEvent::Ignored { .. } => return None,
        };
        channel_of(identity)
    }
}

/// A citizen's message with what Meta adds beyond [`InboundMessage`].
#[derive(Debug, Clone, PartialEq)]
pub struct MetaMessage {
    /// The normalised message, ready for ingest, with the reference numbers
    /// the text quotes in `hints.references`.
    pub inbound: InboundMessage,
    /// The payload of the quick-reply button the citizen tapped, if any.
    pub quick_reply_payload: Option<String>,
    /// The message this one answers (a swipe-reply), if any.
    pub reply_to: Option<ExternalMessageId>,
    /// The city's Instagram story this message answers, if any.
    pub story_reply: Option<StoryRef>,
    /// Instagram flagged the content as a type it cannot pass on
    /// (`is_unsupported`); the text is then empty.
    pub unsupported: bool,
}

/// An Instagram story a message refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoryRef {
    /// The story's id.
    pub id: Option<String>,
    /// The story's (expiring) CDN link.
    pub url: Option<String>,
}

/// Why an item produced no usable event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IgnoreReason {
    /// The entry's Page or Instagram account is not in the settings.
    UnknownRecipient {
        /// The entry id as sent, shortened.
        id: String,
    },
    /// An event type the gateway does not handle (`reaction`, `referral`,
    /// `optin`, `standby`, …).
    UnsupportedEvent {
        /// The event's key in the item.
        kind: String,
    },
    /// The item lacks something required or has a wrong type.
    Malformed {
        /// What is wrong, shortened.
        detail: String,
    },
}

impl fmt::Display for IgnoreReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IgnoreReason::UnknownRecipient { id } => {
                write!(f, "no configured page or Instagram account {id:?}")
            }
            IgnoreReason::UnsupportedEvent { kind } => write!(f, "unsupported event {kind:?}"),
            IgnoreReason::Malformed { detail } => write!(f, "malformed event: {detail}"),
        }
    }
}

fn excerpt(text: &str) -> String {
    text.chars().take(MAX_REASON_EXCERPT_CHARS).collect()
}

fn malformed(detail: impl AsRef<str>) -> MetaEvent {
    MetaEvent::Ignored {
        reason: IgnoreReason::Malformed {
            detail: excerpt(detail.as_ref()),
        },
    }
}

fn channel_of(identity: &ChannelIdentity) -> Option<Channel> {
    match identity {
        ChannelIdentity::Messenger { .. } => Some(Channel::Messenger),
        ChannelIdentity::Instagram { .. } => Some(Channel::Instagram),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// Provider payloads. Every field the gateway does not need is skipped, and
// unknown fields are tolerated: Meta adds fields without notice.
// ---------------------------------------------------------------------------

/// One `entry[]` item.
#[derive(Debug, Deserialize)]
pub(crate) struct EntryPayload {
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) time: Option<i64>,
    #[serde(default)]
    pub(crate) messaging: Vec<Value>,
    #[serde(default)]
    pub(crate) standby: Vec<Value>,
}

#[derive(Debug, Deserialize)]
struct IdPayload {
    id: String,
}

#[derive(Debug, Deserialize)]
struct MessagingPayload {
    sender: IdPayload,
    recipient: IdPayload,
    #[serde(default)]
    timestamp: Option<i64>,
    #[serde(default)]
    message: Option<MessagePayload>,
    #[serde(default)]
    message_edit: Option<EditPayload>,
    #[serde(default)]
    delivery: Option<DeliveryPayload>,
    #[serde(default)]
    read: Option<ReadPayload>,
    #[serde(default)]
    postback: Option<PostbackPayload>,
}

#[derive(Debug, Deserialize)]
struct MessagePayload {
    mid: String,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    is_echo: bool,
    #[serde(default)]
    is_deleted: bool,
    #[serde(default)]
    is_unsupported: bool,
    #[serde(default)]
    app_id: Option<Value>,
    #[serde(default)]
    metadata: Option<String>,
    #[serde(default)]
    quick_reply: Option<QuickReplyPayload>,
    #[serde(default)]
    reply_to: Option<ReplyToPayload>,
    #[serde(default)]
    attachments: Vec<AttachmentPayload>,
}

#[derive(Debug, Deserialize)]
struct QuickReplyPayload {
    #[serde(default)]
    payload: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ReplyToPayload {
    #[serde(default)]
    mid: Option<String>,
    #[serde(default)]
    story: Option<StoryPayload>,
}

#[derive(Debug, Deserialize)]
struct StoryPayload {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct AttachmentPayload {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    payload: Option<AttachmentInnerPayload>,
    /// Older fallback attachments put the link here instead of in `payload`.
    #[serde(default)]
    url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct AttachmentInnerPayload {
    #[serde(default)]
    url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct EditPayload {
    mid: String,
    #[serde(default)]
    text: Option<String>,
}

#[derive(Debug, Deserialize)]
struct DeliveryPayload {
    #[serde(default)]
    mids: Vec<String>,
    watermark: i64,
}

#[derive(Debug, Deserialize)]
struct ReadPayload {
    #[serde(default)]
    watermark: Option<i64>,
    #[serde(default)]
    mid: Option<String>,
}

#[derive(Debug, Deserialize)]
struct PostbackPayload {
    #[serde(default)]
    mid: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    payload: Option<String>,
}

/// Keys of a `messaging[]` item that are not an event in themselves.
const ENVELOPE_KEYS: [&str; 3] = ["sender", "recipient", "timestamp"];

/// Keys of a `messaging[]` item that this module turns into events.
const HANDLED_KEYS: [&str; 5] = ["message", "message_edit", "delivery", "read", "postback"];

// ---------------------------------------------------------------------------
// Conversion.
// ---------------------------------------------------------------------------

/// The city's side of a conversation: the Page or the Instagram account an
/// entry is about.
#[derive(Debug, Clone)]
enum Owner {
    Page(PageId),
    Instagram(IgAccountId),
}

impl Owner {
    fn id(&self) -> &str {
        match self {
            Owner::Page(page) => page.as_ref(),
            Owner::Instagram(account) => account.as_ref(),
        }
    }

    fn channel(&self) -> Channel {
        match self {
            Owner::Page(_) => Channel::Messenger,
            Owner::Instagram(_) => Channel::Instagram,
        }
    }

    /// The citizen's identity in this owner's namespace: a PSID scoped to
    /// the Page, or an IGSID scoped to the account, never one for the other.
    fn citizen(&self, user_id: &str) -> Result<ChannelIdentity, String> {
        match self {
            Owner::Page(page) => Psid::parse(user_id)
                .map(|psid| ChannelIdentity::Messenger {
                    page: page.clone(),
                    psid,
                })
                .map_err(|e| format!("sender or recipient: {e}")),
            Owner::Instagram(account) => Igsid::parse(user_id)
                .map(|igsid| ChannelIdentity::Instagram {
                    account: account.clone(),
                    igsid,
                })
                .map_err(|e| format!("sender or recipient: {e}")),
        }
    }
}

/// Finds the configured owner of an entry, for the product of the POST.
fn owner_of(object: &WebhookObject, entry_id: &str, settings: &MetaSettings) -> Option<Owner> {
    match object {
        WebhookObject::Page => {
            let page = PageId::parse(entry_id).ok()?;
            settings.page(&page).map(|_| Owner::Page(page))
        }
        WebhookObject::Instagram => {
            let account = IgAccountId::parse(entry_id).ok()?;
            settings
                .page_for_instagram(&account)
                .map(|_| Owner::Instagram(account))
        }
        WebhookObject::Unsupported { .. } => None,
    }
}

/// Appends the events of one `entry[]` item to `events`: exactly one per
/// `messaging[]` and `standby[]` item.
pub(crate) fn normalise_entry(
    object: &WebhookObject,
    entry: EntryPayload,
    settings: &MetaSettings,
    reference_prefix: &ReferencePrefix,
    events: &mut Vec<MetaEvent>,
) {
    let Some(owner) = owner_of(object, &entry.id, settings) else {
        let reason = IgnoreReason::UnknownRecipient {
            id: excerpt(&entry.id),
        };
        let count = entry.messaging.len() + entry.standby.len();
        events.extend((0..count).map(|_| MetaEvent::Ignored {
            reason: reason.clone(),
        }));
        return;
    };
    for item in entry.messaging {
        events.push(normalise_item(&owner, entry.time, reference_prefix, item));
    }
    // Standby items are events another app (Meta's own inbox) holds the
    // thread for; this gateway is the primary receiver and does not act on
    // them.
    events.extend(entry.standby.iter().map(|_| MetaEvent::Ignored {
        reason: IgnoreReason::UnsupportedEvent {
            kind: "standby".to_owned(),
        },
    }));
}

fn normalise_item(
    owner: &Owner,
    entry_time: Option<i64>,
    reference_prefix: &ReferencePrefix,
    item: Value,
) -> MetaEvent {
    let Value::Object(fields) = &item else {
        return malformed("messaging item is not an object");
    };
    if !HANDLED_KEYS.iter().any(|key| fields.contains_key(*key)) {
        let kind = fields
            .keys()
            .find(|key| !ENVELOPE_KEYS.contains(&key.as_str()))
            .map_or_else(|| "none".to_owned(), |key| excerpt(key));
        return MetaEvent::Ignored {
            reason: IgnoreReason::UnsupportedEvent { kind },
        };
    }
    let payload: MessagingPayload = match serde_json::from_value(item) {
        Ok(payload) => payload,
        Err(e) => return malformed(e.to_string()),
    };
    match convert_item(owner, entry_time, reference_prefix, payload) {
        Ok(event) => event,
        Err(detail) => malformed(detail),
    }
}

fn instant(millis: i64, what: &str) -> Result<DateTime<Utc>, String> {
    DateTime::from_timestamp_millis(millis).ok_or_else(|| format!("{what} is out of range"))
}

fn mid(text: &str) -> Result<ExternalMessageId, String> {
    ExternalMessageId::parse(text).map_err(|e| format!("mid: {e}"))
}

fn convert_item(
    owner: &Owner,
    entry_time: Option<i64>,
    reference_prefix: &ReferencePrefix,
    payload: MessagingPayload,
) -> Result<MetaEvent, String> {
    let is_echo = payload.message.as_ref().is_some_and(|m| m.is_echo);
    // In an echo the city is the sender; in everything else the recipient.
    let (city_side, citizen_side) = if is_echo {
        (&payload.sender.id, &payload.recipient.id)
    } else {
        (&payload.recipient.id, &payload.sender.id)
    };
    if city_side != owner.id() {
        return Err(format!(
            "the city's side {:?} is not the entry's {}",
            excerpt(city_side),
            owner.id()
        ));
    }
    let citizen = owner.citizen(citizen_side)?;
    let at = match payload.timestamp.or(entry_time) {
        Some(millis) => instant(millis, "timestamp")?,
        None => return Err("no timestamp".to_owned()),
    };

    if let Some(message) = payload.message {
        return convert_message(owner, citizen, at, reference_prefix, message);
    }
    if let Some(edit) = payload.message_edit {
        return Ok(MetaEvent::Edited {
            identity: citizen,
            mid: mid(&edit.mid)?,
            text: edit.text.unwrap_or_default(),
            at,
        });
    }
    if let Some(delivery) = payload.delivery {
        return Ok(MetaEvent::Delivery {
            identity: citizen,
            mids: delivery
                .mids
                .iter()
                .map(|m| mid(m))
                .collect::<Result<_, _>>()?,
            watermark: instant(delivery.watermark, "delivery watermark")?,
        });
    }
    if let Some(read) = payload.read {
        return Ok(MetaEvent::Read {
            identity: citizen,
            watermark: read
                .watermark
                .map(|w| instant(w, "read watermark"))
                .transpose()?,
            mid: read.mid.as_deref().map(mid).transpose()?,
        });
    }
    if let Some(postback) = payload.postback {
        let title = postback.title.unwrap_or_default();
        let payload = postback.payload.unwrap_or_default();
        let mid = postback.mid.as_deref().map(mid).transpose()?;
        let external_id = match &mid {
            Some(mid) => Some(mid.clone()),
            None => ExternalMessageId::parse(&format!(
                "postback:{}:{}:{payload}",
                citizen.key(),
                at.timestamp_millis()
            ))
            .ok(),
        };
        let inbound = external_id.map(|id| {
            Box::new(event_message(
                owner,
                id,
                &citizen,
                &title,
                MessageKind::Citizen,
                at,
            ))
        });
        return Ok(MetaEvent::Postback {
            identity: citizen,
            title,
            payload,
            mid,
            at,
            inbound,
        });
    }
    // `normalise_item` only calls this for items with a handled key, and each
    // handled key is an `Option` field above; reaching here means the key was
    // present but `null`.
    Err("event body is null".to_owned())
}

fn convert_message(
    owner: &Owner,
    citizen: ChannelIdentity,
    at: DateTime<Utc>,
    reference_prefix: &ReferencePrefix,
    message: MessagePayload,
) -> Result<MetaEvent, String> {
    let mid = mid(&message.mid)?;
    if message.is_echo {
        let outbox_id = message.metadata.as_deref().and_then(parse_outbox_metadata);
        return Ok(MetaEvent::Echo {
            mid,
            outbox_id,
            metadata: message.metadata,
            app_id: message.app_id.as_ref().and_then(app_id),
            recipient: citizen,
            text: message.text,
            at,
        });
    }
    if message.is_deleted {
        return Ok(MetaEvent::Deleted {
            identity: citizen,
            mid,
        });
    }
    if let Some(mention) = message
        .attachments
        .iter()
        .find(|a| a.kind.as_deref() == Some("story_mention"))
    {
        let inbound = Box::new(event_message(
            owner,
            mid.clone(),
            &citizen,
            "",
            MessageKind::AutoReply,
            at,
        ));
        return Ok(MetaEvent::StoryMention {
            identity: citizen,
            mid,
            url: attachment_url(mention).and_then(|url| checked_url(url).ok()),
            at,
            inbound,
        });
    }

    let text = message.text.unwrap_or_default();
    let attachments = message.attachments.iter().map(convert_attachment).collect();
    let reply_to = message.reply_to.as_ref();
    let references = ReferenceNumber::find_all(&text, reference_prefix);
    let inbound = InboundMessage {
        channel: owner.channel(),
        external_id: mid,
        sender: citizen,
        sender_name: None,
        sender_phone: None,
        received_at: at,
        subject: None,
        body_text: text.clone(),
        language: Language::detect(&text),
        new_text: text,
        body_html: None,
        kind: MessageKind::Citizen,
        hints: ThreadHints {
            references,
            ..ThreadHints::default()
        },
        attachments,
    };
    Ok(MetaEvent::Message(Box::new(MetaMessage {
        inbound,
        quick_reply_payload: message.quick_reply.and_then(|q| q.payload),
        reply_to: reply_to
            .and_then(|r| r.mid.as_deref())
            .map(self::mid)
            .transpose()?,
        story_reply: reply_to.and_then(|r| r.story.as_ref()).map(|s| StoryRef {
            id: s.id.clone(),
            url: s.url.clone(),
        }),
        unsupported: message.is_unsupported,
    })))
}

/// The message for an event that is not a citizen's text but belongs on the
/// conversation (a button tap, a story mention).
fn event_message(
    owner: &Owner,
    external_id: ExternalMessageId,
    citizen: &ChannelIdentity,
    text: &str,
    kind: MessageKind,
    at: DateTime<Utc>,
) -> InboundMessage {
    InboundMessage {
        channel: owner.channel(),
        external_id,
        sender: citizen.clone(),
        sender_name: None,
        sender_phone: None,
        received_at: at,
        subject: None,
        body_text: text.to_owned(),
        language: Language::detect(text),
        new_text: text.to_owned(),
        body_html: None,
        kind,
        hints: ThreadHints::default(),
        attachments: Vec::new(),
    }
}

/// Meta sends `app_id` as a JSON number; accept a numeric string too.
fn app_id(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn attachment_url(attachment: &AttachmentPayload) -> Option<&str> {
    attachment
        .payload
        .as_ref()
        .and_then(|p| p.url.as_deref())
        .or(attachment.url.as_deref())
}

/// Keeps a link only when it is an absolute `http(s)` URL, the only kind the
/// gateway may later fetch or show as a link.
fn checked_url(text: &str) -> Result<String, String> {
    match reqwest::Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "https" | "http") => Ok(text.to_owned()),
        Ok(_) => Err("the attachment link is not http(s)".to_owned()),
        Err(e) => Err(format!("the attachment link is not a URL: {e}")),
    }
}

/// Meta names only the media family, not the exact type; the exact type is
/// known once the bytes are fetched. Types Meta adds later (`reel`, `share`,
/// …) are kept under a vendor type naming them, so nothing is lost.
fn content_type_of(kind: &str) -> String {
    match kind {
        "image" => "image/*".to_owned(),
        "video" => "video/*".to_owned(),
        "audio" => "audio/*".to_owned(),
        "file" => "application/octet-stream".to_owned(),
        other => {
            let safe: String = other
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
                .take(32)
                .collect::<String>()
                .to_ascii_lowercase();
            if safe.is_empty() {
                "application/octet-stream".to_owned()
            } else {
                format!("application/x-meta-{safe}")
            }
        }
    }
}

fn convert_attachment(attachment: &AttachmentPayload) -> Attachment {
    let kind = attachment.kind.as_deref().unwrap_or("unknown");
    let content = match attachment_url(attachment).map(checked_url) {
        Some(Ok(url)) => AttachmentContent::Remote { url },
        Some(Err(reason)) => AttachmentContent::Refused { reason },
        None => AttachmentContent::Refused {
            reason: format!("Meta sent a {} attachment without a link", excerpt(kind)),
        },
    };
    Attachment {
        filename: None,
        content_type: content_type_of(kind),
        size_bytes: None,
        sha256: None,
        content,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachment_kinds_map_to_media_ranges_and_vendor_types() {
        // Arrange
        let cases = [
            ("image", "image/*"),
            ("video", "video/*"),
            ("audio", "audio/*"),
            ("file", "application/octet-stream"),
            ("ig_reel", "application/x-meta-ig_reel"),
            ("Weird Type!", "application/x-meta-weirdtype"),
            ("???", "application/octet-stream"),
        ];
        for (kind, expected) in cases {
            // Act
            let content_type = content_type_of(kind);

            // Assert
            assert_eq!(content_type, expected, "case {kind:?}");
        }
    }

    #[test]
    fn only_absolute_http_links_are_kept() {
        // Arrange / Act / Assert
        assert!(checked_url("https://scontent.xx.fbcdn.net/a.jpg").is_ok());
        assert!(checked_url("javascript:alert(1)").is_err());
        assert!(checked_url("/relative/path").is_err());
    }

    #[test]
    fn ignore_reasons_read_as_sentences_and_stay_short() {
        // Arrange
        let long = "9".repeat(10_000);

        // Act
        let event = malformed(&long);

        // Assert
        let MetaEvent::Ignored { reason } = event else {
            panic!("not ignored");
        };
        assert!(reason.to_string().starts_with("malformed event: 999"));
        assert!(reason.to_string().len() < 200);
    }
}
