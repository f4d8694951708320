//! Staff accounts: roles, password hashing (argon2id), personal API tokens,
//! and the request extractor that turns `Authorization: Bearer TOKEN` into
//! the user making the request.
//!
//! A token is 32 random bytes shown once (`sjt_` + 64 hex digits); only its
//! SHA-256 is stored, so a copy of the database gives no working token. A
//! token acts with its owner's role, or with a lower one chosen when it was
//! made (a supervisor's token for an integration that only triages acts as
//! an agent), and a read-only token may only `GET`.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::state::AppState;

/// Prefix of personal API tokens, so a leaked one is recognisable in a scan.
pub const TOKEN_PREFIX: &str = "sjt_";
/// Shortest password accepted for a staff account.
pub const MIN_PASSWORD_CHARS: usize = 12;

pub use models::staff::{Role, User};

/// The HTTP side of a user's role.
pub trait RequireRole {
    /// `Ok` when the user's role is at least `role`, else 403.
    ///
    /// # Errors
    /// [`ApiError::Forbidden`].
    fn require(&self, role: Role) -> Result<(), ApiError>;
}

impl RequireRole for User {
    fn require(&self, role: Role) -> Result<(), ApiError> {
        if self.can(role) {
            Ok(())
        } else {
            Err(ApiError::Forbidden)
        }
    }
}

/// Hashes a password with argon2id and a random salt (PHC string).
///
/// # Errors
/// When the hasher fails (it does not for valid input).
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut rand::thread_rng());
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("Failed to hash the password: {e}"))
}

/// Whether `password` matches the stored PHC `hash`.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// A new personal API token, and the hash to store.
pub fn new_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let token = format!("{TOKEN_PREFIX}{}", hex_lower(&bytes));
    let hash = token_hash(&token);
    (token, hash)
}

/// The stored form of a token.
pub fn token_hash(token: &str) -> String {
    hex_lower(&Sha256::digest(token.as_bytes()))
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The user behind `Authorization: Bearer TOKEN`, with the token's role;
/// 401 without a valid token, 403 when a read-only token asks for anything
/// but a read.
impl FromRequestParts<AppState> for User {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(ApiError::Unauthorized)?;
        let token = header
            .strip_prefix("Bearer ")
            .map(str::trim)
            .filter(|t| t.starts_with(TOKEN_PREFIX) && t.len() < 200)
            .ok_or(ApiError::Unauthorized)?;
        let found = state
            .store
            .user_by_token(&token_hash(token))
            .await?
            .ok_or(ApiError::Unauthorized)?;
        let reads = [axum::http::Method::GET, axum::http::Method::HEAD];
        if found.read_only && !reads.contains(&parts.method) {
            return Err(ApiError::Forbidden);
        }
        Ok(found.user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_against_its_own_hash_only() {
        // Arrange
        let hash = hash_password("correct horse battery").unwrap();

        // Act / Assert
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse batterY", &hash));
        assert!(!verify_password("correct horse battery", "not a hash"));
    }

    #[test]
    fn tokens_are_unique_and_only_their_hash_matches() {
        // Arrange / Act
        let (a, hash_a) = new_token();
        let (b, _) = new_token();

        // Assert
        assert_ne!(a, b);
        assert!(a.starts_with(TOKEN_PREFIX) && a.len() == TOKEN_PREFIX.len() + 64);
        assert_eq!(token_hash(&a), hash_a);
        assert_ne!(token_hash(&b), hash_a);
    }

    #[test]
    fn roles_are_ordered_by_what_they_may_do() {
        assert!(Role::Admin > Role::Supervisor && Role::Supervisor > Role::Agent);
        assert_eq!("supervisor".parse::<Role>().unwrap(), Role::Supervisor);
        assert!("root".parse::<Role>().is_err());
    }
}
