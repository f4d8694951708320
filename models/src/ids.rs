//! Opaque identifiers of stored things. Each is a UUIDv7 behind its own type,
//! so a thread id can never be passed where a message id is expected.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A string that is not a valid identifier of the expected kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} id: {reason}")]
pub struct IdError {
    kind: &'static str,
    reason: String,
}

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(Uuid);

        impl $name {
            /// A new, time-ordered id (UUIDv7).
            pub fn generate() -> Self {
                Self(Uuid::now_v7())
            }

            /// Parses the canonical hyphenated form.
            ///
            /// # Errors
            /// [`IdError`] when the text is not a UUID.
            pub fn parse(text: &str) -> Result<Self, IdError> {
                Uuid::parse_str(text).map(Self).map_err(|e| IdError {
                    kind: $kind,
                    reason: e.to_string(),
                })
            }

            /// The underlying UUID, for storage.
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl From<Uuid> for $name {
            fn from(value: Uuid) -> Self {
                Self(value)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.to_string()
            }
        }
    };
}

uuid_id!(
    /// A conversation thread (one citizen request).
    ThreadId,
    "thread"
);
uuid_id!(
    /// One stored message, inbound or outbound.
    MessageId,
    "message"
);
uuid_id!(
    /// A person who writes to the city, across all their channel identities.
    ContactId,
    "contact"
);
uuid_id!(
    /// One queued outbound delivery. Stable across retries, so a provider can
    /// recognise a resend and our sender can correlate echoes.
    OutboxId,
    "outbox"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_text() {
        let id = ThreadId::generate();
        assert_eq!(ThreadId::parse(&id.to_string()).unwrap(), id);
    }

    #[test]
    fn garbage_is_rejected_with_the_kind_named() {
        let err = MessageId::parse("not-a-uuid").unwrap_err();
        assert!(err.to_string().contains("message"), "{err}");
    }

    #[test]
    fn generated_ids_are_time_ordered() {
        let a = OutboxId::generate();
        let b = OutboxId::generate();
        assert!(a < b);
    }
}
