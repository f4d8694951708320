//! What the gateway sends to citizens, and where a queued delivery stands.

crate::slug_enum! {
    /// Why a message goes out. Only `AgentReply` and `TransferNotice` are written
    /// or triggered by a person; Meta's `HUMAN_AGENT` tag may only ever be used
    /// for those.
    pub enum OutboundKind("outbound kind") {
        /// The automatic accusé de réception with the reference number.
        Acknowledgement => "acknowledgement",
        /// A reply written by an agent.
        AgentReply => "agent_reply",
        /// The notice that a request was transferred to a department.
        TransferNotice => "transfer_notice",
    }
}

impl OutboundKind {
    /// Whether a person wrote or decided this message (as opposed to automatic text).
    pub fn is_human(self) -> bool {
        !matches!(self, OutboundKind::Acknowledgement)
    }
}

crate::slug_enum! {
    /// The delivery state of one outbox row.
    pub enum OutboxState("outbox state") {
        /// Ready to be claimed once its `next_attempt_at` has passed.
        Pending => "pending",
        /// Claimed by a worker under a lease; an attempt may be on the wire.
        Sending => "sending",
        /// Delivered; the provider's id is recorded.
        Sent => "sent",
        /// Given up: permanent error or too many attempts. An agent can retry it.
        Failed => "failed",
        /// A worker died during an attempt whose outcome we cannot know. It is not
        /// resent automatically (that could send the citizen the same text twice);
        /// an agent checks and retries it if needed.
        Unconfirmed => "unconfirmed",
        /// No connector for its channel is configured yet; it waits, visible.
        WaitingChannel => "waiting_channel",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_round_trip() {
        for k in OutboundKind::ALL {
            assert_eq!(OutboundKind::parse(k.as_str()), Some(*k));
        }
        for s in OutboxState::ALL {
            assert_eq!(OutboxState::parse(s.as_str()), Some(*s));
        }
    }

    #[test]
    fn only_acknowledgements_are_automatic() {
        assert!(!OutboundKind::Acknowledgement.is_human());
        assert!(OutboundKind::AgentReply.is_human());
        assert!(OutboundKind::TransferNotice.is_human());
    }
}
