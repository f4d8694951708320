//! The life of a request thread in the agents' queue.

crate::slug_enum! {
    /// Where a thread stands. The gateway only ever sets `AwaitingAgent`; every
    /// other state is a person's decision.
    pub enum ThreadStatus("thread status") {
        /// In the human queue, waiting for an agent.
        AwaitingAgent => "awaiting_agent",
        /// An agent answered and waits for the citizen.
        WaitingOnCitizen => "waiting_on_citizen",
        /// Transferred to a municipal department.
        WaitingOnDepartment => "waiting_on_department",
        /// Closed by an agent. A new citizen message reopens it.
        Resolved => "resolved",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_through_their_slugs() {
        for s in ThreadStatus::ALL {
            assert_eq!(ThreadStatus::parse(s.as_str()), Some(*s));
        }
        assert_eq!(ThreadStatus::parse("closed"), None);
    }
}
