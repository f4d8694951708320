//! Staff members as every layer sees them: who they are and what their
//! role lets them do.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What a staff member may do. Each role can do everything the one before
/// it can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Triages threads: reads, replies, notes, assigns, transfers, sets status.
    Agent,
    /// Also decides on flagged messages and reads the audit log.
    Supervisor,
    /// Also manages accounts.
    Admin,
}

impl Role {
    /// The stored and displayed slug.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "agent" => Ok(Role::Agent),
            "supervisor" => Ok(Role::Supervisor),
            "admin" => Ok(Role::Admin),
            other => Err(format!(
                "unknown role {other:?} (expected agent, supervisor or admin)"
            )),
        }
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
