//! Who sent a message, in the namespace of the channel it came through.
//! A Messenger PSID is scoped to one Page and an Instagram IGSID to one
//! professional account; they are different types and never compare equal.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::address::{EmailAddress, EmailAddressError, PhoneNumber, PhoneNumberError};

/// Why a text is not a valid channel identity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// A Meta id that is not a string of 1 to 32 digits.
    #[error("{kind} must be 1 to 32 digits")]
    Digits {
        /// Which id was malformed.
        kind: &'static str,
    },
    /// An Instagram id that is empty, too long or has odd characters.
    #[error("{kind} is not a valid identifier")]
    Opaque {
        /// Which id was malformed.
        kind: &'static str,
    },
    /// A stored identity kind we do not know.
    #[error("unknown identity kind {0:?}")]
    Kind(String),
    /// A stored key that does not split into its parts.
    #[error("malformed identity key for {0}")]
    Key(&'static str),
    /// An email identity that is not an address.
    #[error(transparent)]
    Email(#[from] EmailAddressError),
    /// A phone identity that is not a number.
    #[error(transparent)]
    Phone(#[from] PhoneNumberError),
}

/// Longest numeric id Meta hands out, with room to spare.
const MAX_META_ID_LEN: usize = 32;

fn parse_digits(text: &str, kind: &'static str) -> Result<String, IdentityError> {
    if text.is_empty() || text.len() > MAX_META_ID_LEN || !text.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(IdentityError::Digits { kind });
    }
    Ok(text.to_owned())
}

macro_rules! digit_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Parses a numeric Meta id.
            ///
            /// # Errors
            /// [`IdentityError::Digits`] unless 1 to 32 ASCII digits.
            pub fn parse(text: &str) -> Result<Self, IdentityError> {
                parse_digits(text, $kind).map(Self)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdentityError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }
    };
}

digit_id!(
    /// A Facebook Page id.
    PageId,
    "page id"
);
digit_id!(
    /// A Page-scoped user id on Messenger.
    Psid,
    "PSID"
);
digit_id!(
    /// An Instagram professional account id.
    IgAccountId,
    "Instagram account id"
);
digit_id!(
    /// An Instagram-scoped user id.
    Igsid,
    "IGSID"
);

/// The sender or recipient of a message, in its channel's namespace.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChannelIdentity {
    /// An email address (email and web-form channels share it).
    Email {
        /// The address.
        address: EmailAddress,
    },
    /// A Messenger user as seen by one Page.
    Messenger {
        /// The Page the conversation is with.
        page: PageId,
        /// The user's Page-scoped id.
        psid: Psid,
    },
    /// An Instagram user as seen by one professional account.
    Instagram {
        /// The city's account.
        account: IgAccountId,
        /// The user's Instagram-scoped id.
        igsid: Igsid,
    },
    /// A telephone number (phone and counter records).
    Phone {
        /// The number in E.164.
        number: PhoneNumber,
    },
}

impl ChannelIdentity {
    /// Stable namespace name for storage: `email`, `psid`, `igsid`, `phone`.
    pub fn kind(&self) -> &'static str {
        match self {
            ChannelIdentity::Email { .. } => "email",
            ChannelIdentity::Messenger { .. } => "psid",
            ChannelIdentity::Instagram { .. } => "igsid",
            ChannelIdentity::Phone { .. } => "phone",
        }
    }

    /// Unique key within [`ChannelIdentity::kind`]; scoped ids carry their
    /// Page or account (`PAGE:PSID`).
    pub fn key(&self) -> String {
        match self {
            ChannelIdentity::Email { address } => address.to_string(),
            ChannelIdentity::Messenger { page, psid } => format!("{page}:{psid}"),
            ChannelIdentity::Instagram { account, igsid } => format!("{account}:{igsid}"),
            ChannelIdentity::Phone { number } => number.to_string(),
        }
    }

    /// Rebuilds an identity from [`ChannelIdentity::kind`] and [`ChannelIdentity::key`].
    ///
    /// # Errors
    /// An [`IdentityError`] for an unknown kind or a malformed key.
    pub fn from_parts(kind: &str, key: &str) -> Result<Self, IdentityError> {
        Ok(match kind {
            "email" => ChannelIdentity::Email {
                address: EmailAddress::parse(key)?,
            },
            "psid" => {
                let (page, psid) = key.split_once(':').ok_or(IdentityError::Key("psid"))?;
                ChannelIdentity::Messenger {
                    page: PageId::parse(page)?,
                    psid: Psid::parse(psid)?,
                }
            }
            "igsid" => {
                let (account, igsid) = key.split_once(':').ok_or(IdentityError::Key("igsid"))?;
                ChannelIdentity::Instagram {
                    account: IgAccountId::parse(account)?,
                    igsid: Igsid::parse(igsid)?,
                }
            }
            "phone" => ChannelIdentity::Phone {
                number: PhoneNumber::parse(key)?,
            },
            other => return Err(IdentityError::Kind(other.to_owned())),
        })
    }

    /// The email address, when this identity is one.
    pub fn email(&self) -> Option<&EmailAddress> {
        match self {
            ChannelIdentity::Email { address } => Some(address),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_round_trip_through_kind_and_key() {
        let ids = [
            ChannelIdentity::Email {
                address: EmailAddress::parse("a@example.com").unwrap(),
            },
            ChannelIdentity::Messenger {
                page: PageId::parse("104827364519203").unwrap(),
                psid: Psid::parse("7301928374650012").unwrap(),
            },
            ChannelIdentity::Instagram {
                account: IgAccountId::parse("17841400918273645").unwrap(),
                igsid: Igsid::parse("1120394857612345").unwrap(),
            },
            ChannelIdentity::Phone {
                number: PhoneNumber::parse("450 922-7111").unwrap(),
            },
        ];
        for id in ids {
            assert_eq!(
                ChannelIdentity::from_parts(id.kind(), &id.key()).unwrap(),
                id
            );
        }
    }

    #[test]
    fn psid_and_igsid_with_the_same_digits_are_different_identities() {
        let m = ChannelIdentity::Messenger {
            page: PageId::parse("1").unwrap(),
            psid: Psid::parse("42").unwrap(),
        };
        let i = ChannelIdentity::Instagram {
            account: IgAccountId::parse("1").unwrap(),
            igsid: Igsid::parse("42").unwrap(),
        };
        assert_ne!(m, i);
        assert_ne!(m.kind(), i.kind());
    }

    #[test]
    fn malformed_stored_identities_are_errors() {
        assert!(ChannelIdentity::from_parts("psid", "no-colon").is_err());
        assert!(ChannelIdentity::from_parts("psid", "1:abc").is_err());
        assert!(ChannelIdentity::from_parts("fax", "1").is_err());
        assert!(Psid::parse("").is_err());
        assert!(Psid::parse(&"9".repeat(33)).is_err());
    }
}
