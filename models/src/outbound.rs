//! What the gateway sends to citizens, and where a queued delivery stands.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a message goes out. Only `AgentReply` and `TransferNotice` are written
/// or triggered by a person; Meta's `HUMAN_AGENT` tag may only ever be used
/// for those.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboundKind {
    /// The automatic accusé de réception with the reference number.
    Acknowledgement,
    /// A reply written by an agent.
    AgentReply,
    /// The notice that a request was transferred to a department.
    TransferNotice,
}

impl OutboundKind {
    /// Every kind.
    pub const ALL: [OutboundKind; 3] = [
        OutboundKind::Acknowledgement,
        OutboundKind::AgentReply,
        OutboundKind::TransferNotice,
    ];

    /// Stable slug for storage.
    pub fn as_str(self) -> &'static str {
        match self {
            OutboundKind::Acknowledgement => "acknowledgement",
            OutboundKind::AgentReply => "agent_reply",
            OutboundKind::TransferNotice => "transfer_notice",
        }
    }

    /// Parses a slug from [`OutboundKind::as_str`].
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// Whether a person wrote or decided this message (as opposed to automatic text).
    pub fn is_human(self) -> bool {
        !matches!(self, OutboundKind::Acknowledgement)
    }
}

/// The delivery state of one outbox row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxState {
    /// Ready to be claimed once its `next_attempt_at` has passed.
    Pending,
    /// Claimed by a worker under a lease; an attempt may be on the wire.
    Sending,
    /// Delivered; the provider's id is recorded.
    Sent,
    /// Given up: permanent error or too many attempts. An agent can retry it.
    Failed,
    /// A worker died during an attempt whose outcome we cannot know. It is not
    /// resent automatically (that could send the citizen the same text twice);
    /// an agent checks and retries it if needed.
    Unconfirmed,
    /// No connector for its channel is configured yet; it waits, visible.
    WaitingChannel,
}

impl OutboxState {
    /// Every state.
    pub const ALL: [OutboxState; 6] = [
        OutboxState::Pending,
        OutboxState::Sending,
        OutboxState::Sent,
        OutboxState::Failed,
        OutboxState::Unconfirmed,
        OutboxState::WaitingChannel,
    ];

    /// Stable slug for storage.
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxState::Pending => "pending",
            OutboxState::Sending => "sending",
            OutboxState::Sent => "sent",
            OutboxState::Failed => "failed",
            OutboxState::Unconfirmed => "unconfirmed",
            OutboxState::WaitingChannel => "waiting_channel",
        }
    }

    /// Parses a slug from [`OutboxState::as_str`].
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl fmt::Display for OutboxState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_round_trip() {
        for k in OutboundKind::ALL {
            assert_eq!(OutboundKind::parse(k.as_str()), Some(k));
        }
        for s in OutboxState::ALL {
            assert_eq!(OutboxState::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn only_acknowledgements_are_automatic() {
        assert!(!OutboundKind::Acknowledgement.is_human());
        assert!(OutboundKind::AgentReply.is_human());
        assert!(OutboundKind::TransferNotice.is_human());
    }
}
