//! What stands in front of password checks on the staff sign-in: a throttle
//! per client address, a bound on the argon2 hashes computed at once (each
//! holds about 19 MiB), and a dummy hash for unknown or locked accounts so
//! every refusal costs the same work.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::Semaphore;

use super::error::ApiError;
use super::{check_rate, RateLimiter};
use crate::auth::{hash_password, verify_password};

/// Sign-in attempts per client address per minute (a whole office behind
/// one address signing in at opening time fits).
const ATTEMPTS_PER_MINUTE: u32 = 20;

/// Password hashes computed at once.
const CONCURRENT_HASHES: usize = 2;

/// Longest wait for a hashing slot before the attempt is refused as busy.
const HASH_WAIT: Duration = Duration::from_secs(10);

/// The sign-in throttle and hashing bound, shared by every request.
pub struct SignInGuard {
    limiter: RateLimiter,
    hashing: Arc<Semaphore>,
    checks: AtomicU64,
    account_checks: AtomicU64,
}

impl Default for SignInGuard {
    fn default() -> Self {
        Self::new()
    }
}

impl SignInGuard {
    /// A guard with the default limits.
    pub fn new() -> Self {
        Self {
            limiter: super::form_rate_limiter(ATTEMPTS_PER_MINUTE, ATTEMPTS_PER_MINUTE),
            hashing: Arc::new(Semaphore::new(CONCURRENT_HASHES)),
            checks: AtomicU64::new(0),
            account_checks: AtomicU64::new(0),
        }
    }

    /// Counts one attempt from `ip`.
    ///
    /// # Errors
    /// [`ApiError::RateLimited`] when the address tried too often.
    pub fn throttle(&self, ip: IpAddr) -> Result<(), ApiError> {
        check_rate(&self.limiter, ip)
    }

    /// Checks `password` against `hash`, or against a dummy hash (always
    /// refused) when there is no account to check, so the answer takes the
    /// same time either way.
    ///
    /// # Errors
    /// [`ApiError::Unavailable`] when no hashing slot frees up in time.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, ApiError> {
        let permit = tokio::time::timeout(HASH_WAIT, Arc::clone(&self.hashing).acquire_owned())
            .await
            .map_err(|_| ApiError::Unavailable(Arc::new(anyhow::anyhow!("Sign-in is busy"))))?
            .map_err(ApiError::internal)?;
        self.checks.fetch_add(1, Ordering::Relaxed);
        if hash.is_some() {
            self.account_checks.fetch_add(1, Ordering::Relaxed);
        }
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            match hash {
                Some(hash) => verify_password(&password, &hash),
                None => {
                    let _ = verify_password(&password, dummy_hash());
                    false
                }
            }
        })
        .await
        .map_err(ApiError::internal)
    }

    /// Password hashes computed since start (real and dummy).
    pub fn password_checks(&self) -> u64 {
        self.checks.load(Ordering::Relaxed)
    }

    /// Of those, the ones against an account's own hash.
    pub fn account_checks(&self) -> u64 {
        self.account_checks.load(Ordering::Relaxed)
    }
}

/// A hash of a random password with the same parameters as real ones.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let mut bytes = [0u8; 24];
        rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut bytes);
        hash_password(&hex::encode(bytes)).unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_absent_account_is_refused_after_the_same_work() {
        let guard = SignInGuard::new();
        let hash = hash_password("un mot de passe correct").unwrap();
        assert!(guard
            .verify("un mot de passe correct".into(), Some(hash.clone()))
            .await
            .unwrap());
        assert!(!guard.verify("autre".into(), Some(hash)).await.unwrap());
        assert!(!guard
            .verify("un mot de passe correct".into(), None)
            .await
            .unwrap());
        assert_eq!(guard.password_checks(), 3);
        assert_eq!(guard.account_checks(), 2);
    }

    #[test]
    fn one_address_is_throttled_and_another_is_not() {
        let guard = SignInGuard::new();
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        let allowed = (0..100).filter(|_| guard.throttle(ip).is_ok()).count();
        assert_eq!(allowed, ATTEMPTS_PER_MINUTE as usize);
        assert!(guard.throttle("203.0.113.8".parse().unwrap()).is_ok());
    }
}
