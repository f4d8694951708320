//! The ways a citizen reaches the city.

/// A text that names no channel we know.
pub type ChannelError = crate::slug::UnknownSlug;

crate::slug_enum! {
    /// A way in (and the way back out) for citizen messages.
    pub enum Channel("channel", parse -> Result) {
        /// clientele@ mailbox (IMAP in, SMTP out).
        Email => "email",
        /// Facebook Page private messages.
        Messenger => "messenger",
        /// Instagram professional account direct messages.
        Instagram => "instagram",
        /// The contact form of the city's web site. Answers go out by email.
        WebForm => "web_form",
        /// A call to the citizen-service line, recorded by an agent.
        Phone => "phone",
        /// A visit to the city hall's reception, recorded by an agent.
        Counter => "counter",
    }
}

impl Channel {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_channel_round_trips_through_its_slug() {
        for c in Channel::ALL {
            assert_eq!(Channel::parse(c.as_str()).unwrap(), *c);
        }
        assert!(Channel::parse("fax").is_err());
    }
}
