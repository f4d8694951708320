//! Who makes a request: `Authorization: Bearer TOKEN` as the [`User`] it
//! acts for, and the 403 check of a role.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::error::ApiError;
use super::state::AppState;
use crate::auth::{token_hash, Role, User, TOKEN_PREFIX};

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
