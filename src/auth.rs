//! Staff credentials: password hashing (argon2id) and personal API tokens.
//! The request extractor that turns `Authorization: Bearer TOKEN` into the
//! user making the request is `http::auth`.
//!
//! A token is 32 random bytes shown once (`sjt_` + 64 hex digits); only its
//! SHA-256 is stored, so a copy of the database gives no working token. A
//! token acts with its owner's role, or with a lower one chosen when it was
//! made (a supervisor's token for an integration that only triages acts as
//! an agent), and a read-only token may only `GET`.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Prefix of personal API tokens, so a leaked one is recognisable in a scan.
pub const TOKEN_PREFIX: &str = "sjt_";
/// Shortest password accepted for a staff account.
pub const MIN_PASSWORD_CHARS: usize = 12;

pub use models::staff::{Role, User};

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
    let token = format!("{TOKEN_PREFIX}{}", hex::encode(bytes));
    let hash = token_hash(&token);
    (token, hash)
}

/// The stored form of a token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
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
