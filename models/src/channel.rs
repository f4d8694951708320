//! The ways a citizen reaches the city.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A text that names no channel we know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown channel {0:?}")]
pub struct ChannelError(String);

/// A way in (and the way back out) for citizen messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// clientele@ mailbox (IMAP in, SMTP out).
    Email,
    /// Facebook Page private messages.
    Messenger,
    /// Instagram professional account direct messages.
    Instagram,
    /// The contact form of the city's web site. Answers go out by email.
    WebForm,
    /// A call to the citizen-service line, recorded by an agent.
    Phone,
    /// A visit to the city hall's reception, recorded by an agent.
    Counter,
}

impl Channel {
    /// Every channel, in display order.
    pub const ALL: [Channel; 6] = [
        Channel::Email,
        Channel::Messenger,
        Channel::Instagram,
        Channel::WebForm,
        Channel::Phone,
        Channel::Counter,
    ];

    /// Stable slug used in storage, URLs and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Messenger => "messenger",
            Channel::Instagram => "instagram",
            Channel::WebForm => "web_form",
            Channel::Phone => "phone",
            Channel::Counter => "counter",
        }
    }

    /// Parses a slug from [`Channel::as_str`].
    ///
    /// # Errors
    /// [`ChannelError`] for an unknown slug.
    pub fn parse(text: &str) -> Result<Self, ChannelError> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == text)
            .ok_or_else(|| ChannelError(text.to_owned()))
    }

    /// Whether the channel proves who the sender is, as far as it can: a
    /// mailbox's sender address, Meta's scoped ids, and what an agent
    /// recorded from a call or a visit. The public form does not: its email
    /// address and phone number are whatever an anonymous visitor typed, so
    /// they never identify an existing citizen.
    pub fn proves_sender(self) -> bool {
        !matches!(self, Channel::WebForm)
    }

    /// Private-message channels get the short chat acknowledgement, not a letter.
    pub fn is_chat(self) -> bool {
        matches!(self, Channel::Messenger | Channel::Instagram)
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Channel {
    type Err = ChannelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_channel_round_trips_through_its_slug() {
        for c in Channel::ALL {
            assert_eq!(Channel::parse(c.as_str()).unwrap(), c);
        }
        assert!(Channel::parse("fax").is_err());
    }
}
