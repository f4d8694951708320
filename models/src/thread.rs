//! The life of a request thread in the agents' queue.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Where a thread stands. The gateway only ever sets `AwaitingAgent`; every
/// other state is a person's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThreadStatus {
    /// In the human queue, waiting for an agent.
    AwaitingAgent,
    /// An agent answered and waits for the citizen.
    WaitingOnCitizen,
    /// Transferred to a municipal department.
    WaitingOnDepartment,
    /// Closed by an agent. A new citizen message reopens it.
    Resolved,
}

impl ThreadStatus {
    /// Every status, in display order.
    pub const ALL: [ThreadStatus; 4] = [
        ThreadStatus::AwaitingAgent,
        ThreadStatus::WaitingOnCitizen,
        ThreadStatus::WaitingOnDepartment,
        ThreadStatus::Resolved,
    ];

    /// Stable slug for storage and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            ThreadStatus::AwaitingAgent => "awaiting_agent",
            ThreadStatus::WaitingOnCitizen => "waiting_on_citizen",
            ThreadStatus::WaitingOnDepartment => "waiting_on_department",
            ThreadStatus::Resolved => "resolved",
        }
    }

    /// Parses a slug from [`ThreadStatus::as_str`].
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl fmt::Display for ThreadStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_through_their_slugs() {
        for s in ThreadStatus::ALL {
            assert_eq!(ThreadStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(ThreadStatus::parse("closed"), None);
    }
}
