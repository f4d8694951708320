//! What every route reads the same way: the `Idempotency-Key` header (one
//! rule, one error), the content type (one check, 415), and the
//! `Retry-After` header of a 429.

use std::time::Duration;

use axum::http::{header, HeaderMap, HeaderValue};

use super::error::{ApiError, FieldProblem};

/// Longest idempotency key accepted.
const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

/// A client's `Idempotency-Key`: 1 to 255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// The header's key, if the request has one.
    ///
    /// # Errors
    /// A 422 naming `Idempotency-Key` for an empty, over-long or non-ASCII
    /// key.
    pub fn from_headers(headers: &HeaderMap) -> Result<Option<Self>, ApiError> {
        headers
            .get("idempotency-key")
            .map(|v| Self::parse(v.to_str().unwrap_or("")))
            .transpose()
    }

    /// Checks a key.
    ///
    /// # Errors
    /// A 422 naming `Idempotency-Key`.
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        if raw.is_empty()
            || raw.len() > MAX_IDEMPOTENCY_KEY_LEN
            || !raw.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(ApiError::Validation(vec![FieldProblem {
                field: "Idempotency-Key".into(),
                code: "invalid_characters".into(),
                args: Vec::new(),
            }]));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

/// Checks that the request's content type is `expected` (parameters such as
/// `charset` allowed).
///
/// # Errors
/// [`ApiError::UnsupportedMediaType`].
pub fn require_content_type(headers: &HeaderMap, expected: &'static str) -> Result<(), ApiError> {
    let matches = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(expected));
    if matches {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType { expected })
    }
}

/// The `Retry-After` value for a wait: whole seconds, at least one.
pub fn retry_after(wait: Duration) -> HeaderValue {
    HeaderValue::from(wait.as_secs().max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_visible_ascii_of_bounded_length() {
        assert!(IdempotencyKey::parse("abc-123").is_ok());
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse("a b").is_err());
        assert!(IdempotencyKey::parse("é").is_err());
        assert!(IdempotencyKey::parse(&"k".repeat(256)).is_err());
    }

    #[test]
    fn the_content_type_is_compared_without_its_parameters() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("Application/JSON; charset=utf-8"),
        );
        assert!(require_content_type(&headers, "application/json").is_ok());
        assert!(require_content_type(&headers, "text/plain").is_err());
        assert!(require_content_type(&HeaderMap::new(), "application/json").is_err());
    }

    #[test]
    fn a_wait_is_at_least_one_second() {
        assert_eq!(retry_after(Duration::from_millis(10)), "1");
        assert_eq!(retry_after(Duration::from_secs(61)), "61");
    }
}
