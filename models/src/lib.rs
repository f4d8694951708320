//! Domain types shared by every part of the gateway: identifiers, reference
//! numbers, addresses, channel identities, normalised inbound messages,
//! classification results and the business-hours calendar.
//!
//! Pure types and rules. No I/O, no async, no database or network types.

pub mod address;
pub mod calendar;
pub mod channel;
pub mod classification;
pub mod identity;
pub mod ids;
pub mod language;
pub mod message;
pub mod name;
pub mod outbound;
pub mod reference;
pub mod slug;
pub mod staff;
pub mod thread;

pub use address::{EmailAddress, EmailAddressError, PhoneNumber, PhoneNumberError};
pub use channel::{Channel, ChannelError};
pub use classification::{AbuseKind, AbuseVerdict, Classification, Topic, TopicVerdict};
pub use identity::{ChannelIdentity, IdentityError, IgAccountId, Igsid, PageId, Psid};
pub use ids::{ContactId, IdError, MessageId, OutboxId, ThreadId};
pub use language::Language;
pub use message::{
    Attachment, AttachmentContent, ExternalMessageId, InboundMessage, MessageKind, RfcMessageId,
    ThreadHints,
};
pub use outbound::{OutboundKind, OutboxState};
pub use reference::{ReferenceError, ReferenceNumber, ReferencePrefix, ReferenceQuery};
pub use slug::UnknownSlug;
pub use thread::ThreadStatus;
