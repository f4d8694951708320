//! Staff members as every layer sees them: who they are and what their
//! role lets them do.

use serde::Serialize;

crate::slug_enum! {
    /// What a staff member may do. Each role can do everything the one before
    /// it can.
    pub enum Role("role", from_str -> String) {
        /// Triages threads: reads, replies, notes, assigns, transfers, sets status.
        Agent => "agent",
        /// Also decides on flagged messages and reads the audit log.
        Supervisor => "supervisor",
        /// Also manages accounts.
        Admin => "admin",
    }
}

/// A signed-in staff member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// Their id.
    pub id: String,
    /// Their work email, the login.
    pub email: String,
    /// Their name as shown to colleagues.
    pub display_name: Option<String>,
    /// What they may do.
    pub role: Role,
}

impl User {
    /// The actor written in the audit log.
    pub fn actor(&self) -> String {
        format!("user:{}", self.id)
    }

    /// Whether the user's role is at least `role`.
    pub fn can(&self, role: Role) -> bool {
        self.role >= role
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_their_slugs() {
        for role in [Role::Agent, Role::Supervisor, Role::Admin] {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("root".parse::<Role>().is_err());
    }
}
