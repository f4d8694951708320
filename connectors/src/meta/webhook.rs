//! The webhook endpoint's logic as plain functions, so the axum route only
//! passes the query, the headers and the raw body through:
//!
//! - `GET`: [`verify_handshake`] answers Meta's subscription check;
//! - `POST`: [`verify_webhook`] checks the signature over the raw bytes and
//!   the envelope (`object`, `entry`) without reading the events, so the
//!   route can persist the body and answer 200 at once;
//! - later, [`parse_webhook`] turns the persisted bytes into a
//!   [`WebhookBatch`]. It is pure and deterministic, so parsing them again
//!   after a crash gives the same result, and it accepts every body
//!   [`verify_webhook`] accepts.

use hmac::{Hmac, Mac};
use models::ReferencePrefix;
use secrecy::{ExposeSecret, SecretString};
use serde::de::IgnoredAny;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::config::MetaSettings;
use super::inbound::{normalise_entry, EntryPayload, WebhookBatch, WebhookObject};
use crate::ConnectorError;

/// The header carrying Meta's signature of a webhook body.
pub const SIGNATURE_HEADER: &str = "X-Hub-Signature-256";

/// Longest handshake challenge echoed back. Meta's are short numbers; the
/// bound keeps the endpoint from reflecting arbitrary input.
const MAX_CHALLENGE_LEN: usize = 256;

/// Length of the hex of an HMAC-SHA256.
const SIGNATURE_HEX_LEN: usize = 64;

/// Checks Meta's `GET` subscription handshake and returns the challenge to
/// answer with (as `text/plain`, status 200).
///
/// The arguments are the `hub.mode`, `hub.verify_token` and `hub.challenge`
/// query parameters, `None` when absent.
///
/// # Errors
/// - [`ConnectorError::BadSignature`] when the token is missing or wrong
///   (answer 403); it is compared in constant time;
/// - [`ConnectorError::InvalidPayload`] when the mode is not `subscribe` or
///   the challenge is missing, too long or not made of letters, digits,
///   `-`, `_` and `.` (answer 400).
pub fn verify_handshake(
    mode: Option<&str>,
    verify_token: Option<&str>,
    challenge: Option<&str>,
    settings: &MetaSettings,
) -> Result<String, ConnectorError> {
    let token = verify_token.ok_or(ConnectorError::BadSignature)?;
    if !secrets_match(token, &settings.verify_token) {
        return Err(ConnectorError::BadSignature);
    }
    if mode != Some("subscribe") {
        return Err(ConnectorError::InvalidPayload(
            "hub.mode must be subscribe".to_owned(),
        ));
    }
    let challenge = challenge
        .ok_or_else(|| ConnectorError::InvalidPayload("hub.challenge is missing".to_owned()))?;
    let well_formed = !challenge.is_empty()
        && challenge.len() <= MAX_CHALLENGE_LEN
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !well_formed {
        return Err(ConnectorError::InvalidPayload(
            "hub.challenge is not a short token".to_owned(),
        ));
    }
    Ok(challenge.to_owned())
}

/// Compares a presented token with the configured one in constant time.
/// Both are hashed first so that not even their lengths leak.
fn secrets_match(presented: &str, expected: &SecretString) -> bool {
    let presented = Sha256::digest(presented.as_bytes());
    let expected = Sha256::digest(expected.expose_secret().as_bytes());
    presented.ct_eq(&expected).into()
}

/// Checks `X-Hub-Signature-256` (`sha256=` + hex HMAC-SHA256 of the raw body,
/// keyed with the app secret) in constant time.
///
/// Pass the body exactly as received: never a re-serialized copy.
///
/// # Errors
/// [`ConnectorError::BadSignature`] when the header is missing, uses another
/// algorithm (`sha1=`), is not 64 hex digits, or does not match the body
/// under this secret. Answer 401 and store nothing.
pub fn verify_signature(
    header: Option<&str>,
    body: &[u8],
    app_secret: &SecretString,
) -> Result<(), ConnectorError> {
    let header = header.ok_or(ConnectorError::BadSignature)?.trim();
    let hex_digest = header
        .strip_prefix("sha256=")
        .ok_or(ConnectorError::BadSignature)?;
    if hex_digest.len() != SIGNATURE_HEX_LEN {
        return Err(ConnectorError::BadSignature);
    }
    let expected = hex::decode(hex_digest).map_err(|_| ConnectorError::BadSignature)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(app_secret.expose_secret().as_bytes())
        .map_err(|_| ConnectorError::BadSignature)?;
    mac.update(body);
    // `verify_slice` compares in constant time.
    mac.verify_slice(&expected)
        .map_err(|_| ConnectorError::BadSignature)
}

/// What the route learns of a signed webhook body before storing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEnvelope {
    /// The product the POST is about.
    pub object: WebhookObject,
    /// How many `entry[]` items it has.
    pub entries: usize,
}

/// The top level of a webhook POST, with its entries skipped.
#[derive(Debug, Deserialize)]
struct EnvelopePayload {
    object: String,
    entry: Vec<IgnoredAny>,
}

/// The entries of a `page` or `instagram` POST, with only the shape checked
/// that [`parse_webhook`] requires of them.
#[derive(Debug, Deserialize)]
struct EntriesPayload {
    #[serde(rename = "entry")]
    _entry: Vec<EntryShape>,
}

/// The fields of an entry that [`EntryPayload`] requires and types; their
/// values are not kept.
#[derive(Debug, Deserialize)]
struct EntryShape {
    #[serde(rename = "id")]
    _id: String,
    #[serde(default, rename = "time")]
    _time: Option<i64>,
    #[serde(default, rename = "messaging")]
    _messaging: Vec<IgnoredAny>,
    #[serde(default, rename = "standby")]
    _standby: Vec<IgnoredAny>,
}

/// The `object` of a POST as a [`WebhookObject`].
fn webhook_object(name: &str) -> WebhookObject {
    match name {
        "page" => WebhookObject::Page,
        "instagram" => WebhookObject::Instagram,
        other => WebhookObject::Unsupported {
            name: other.chars().take(64).collect(),
        },
    }
}

/// Checks a webhook POST before it is stored: the signature
/// ([`verify_signature`]), then the envelope: JSON with a string `object`
/// and an `entry` array, whose items, for `page` and `instagram`, are
/// objects with a string `id` (and, when present, an integer `time` and
/// `messaging` and `standby` arrays). The events themselves are not read;
/// [`parse_webhook`] does that later from the stored bytes, and accepts every
/// body accepted here.
///
/// # Errors
/// - [`ConnectorError::BadSignature`] as [`verify_signature`] (answer 401,
///   store nothing);
/// - [`ConnectorError::InvalidPayload`] when the envelope is not as above
///   (answer 400).
pub fn verify_webhook(
    signature_header: Option<&str>,
    body: &[u8],
    settings: &MetaSettings,
) -> Result<WebhookEnvelope, ConnectorError> {
    verify_signature(signature_header, body, &settings.app_secret)?;
    let envelope: EnvelopePayload = serde_json::from_slice(body)
        .map_err(|e| invalid_payload("webhook body is not a Meta webhook", &e))?;
    let object = webhook_object(&envelope.object);
    if !matches!(object, WebhookObject::Unsupported { .. }) {
        serde_json::from_slice::<EntriesPayload>(body)
            .map_err(|e| invalid_payload("a webhook entry has no id or messaging list", &e))?;
    }
    Ok(WebhookEnvelope {
        object,
        entries: envelope.entry.len(),
    })
}

/// The top level of a webhook POST.
#[derive(Debug, Deserialize)]
struct WebhookPayload {
    object: String,
    /// Read as plain JSON first: entries of unsupported objects have other
    /// shapes (`uid` instead of `id`) and must not fail the body.
    entry: Vec<serde_json::Value>,
}

/// An [`ConnectorError::InvalidPayload`] naming only the category and the
/// position of a JSON error: the text of a type mismatch may quote the
/// citizen's words.
fn invalid_payload(what: &str, error: &serde_json::Error) -> ConnectorError {
    ConnectorError::InvalidPayload(format!(
        "{what} ({:?} error at line {} column {})",
        error.classify(),
        error.line(),
        error.column()
    ))
}

/// Turns a (signature-checked) webhook body into events, one per
/// `entry[].messaging[]` item of every entry, in body order. Reference
/// numbers with `reference_prefix` quoted in a citizen's text land in
/// `hints.references`.
///
/// Pure and deterministic: parsing the same bytes again, for example from a
/// persisted copy after a crash, gives the same batch.
///
/// An item for a Page or Instagram account missing from `settings`, an event
/// type the gateway does not handle, or a malformed item becomes
/// [`super::MetaEvent::Ignored`]; the rest of the batch is still used. An
/// `object` other than `page` or `instagram` gives
/// [`WebhookObject::Unsupported`] and no events.
///
/// # Errors
/// [`ConnectorError::InvalidPayload`] when the body is not JSON, or is JSON
/// without a string `object` and an `entry` array of objects with an `id`
/// (answer 400).
pub fn parse_webhook(
    body: &[u8],
    settings: &MetaSettings,
    reference_prefix: &ReferencePrefix,
) -> Result<WebhookBatch, ConnectorError> {
    let payload: WebhookPayload = serde_json::from_slice(body)
        .map_err(|e| invalid_payload("webhook body is not a Meta webhook", &e))?;
    let object = webhook_object(&payload.object);
    if let WebhookObject::Unsupported { .. } = object {
        return Ok(WebhookBatch {
            object,
            events: Vec::new(),
        });
    }
    let entries = payload
        .entry
        .into_iter()
        .map(serde_json::from_value::<EntryPayload>)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid_payload("a webhook entry has no id or messaging list", &e))?;
    let capacity = entries
        .iter()
        .map(|e| e.messaging.len() + e.standby.len())
        .sum();
    let mut events = Vec::with_capacity(capacity);
    for entry in entries {
        normalise_entry(&object, entry, settings, reference_prefix, &mut events);
    }
    Ok(WebhookBatch { object, events })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> MetaSettings {
        toml::from_str(
            r#"
            app_secret = "app-secret"
            verify_token = "the-verify-token"
            [[pages]]
            id = "104827364519203"
            access_token = "page-token"
            "#,
        )
        .unwrap()
    }

    #[test]
    fn a_correct_handshake_returns_the_challenge() {
        // Arrange
        let settings = settings();

        // Act
        let answer = verify_handshake(
            Some("subscribe"),
            Some("the-verify-token"),
            Some("1158201444"),
            &settings,
        );

        // Assert
        assert_eq!(answer.unwrap(), "1158201444");
    }

    #[test]
    fn a_handshake_with_a_wrong_or_missing_token_is_refused_as_unauthenticated() {
        // Arrange
        let settings = settings();
        for token in [
            None,
            Some(""),
            Some("the-verify-toke"),
            Some("the-verify-token "),
        ] {
            // Act
            let answer = verify_handshake(Some("subscribe"), token, Some("1"), &settings);

            // Assert
            assert!(
                matches!(answer, Err(ConnectorError::BadSignature)),
                "case {token:?}: {answer:?}"
            );
        }
    }

    #[test]
    fn a_handshake_with_a_bad_mode_or_challenge_is_invalid() {
        // Arrange
        let settings = settings();
        let long = "1".repeat(MAX_CHALLENGE_LEN + 1);
        let cases = [
            (Some("unsubscribe"), Some("1")),
            (None, Some("1")),
            (Some("subscribe"), None),
            (Some("subscribe"), Some("")),
            (Some("subscribe"), Some("<script>")),
            (Some("subscribe"), Some(long.as_str())),
        ];
        for (mode, challenge) in cases {
            // Act
            let answer = verify_handshake(mode, Some("the-verify-token"), challenge, &settings);

            // Assert
            assert!(
                matches!(answer, Err(ConnectorError::InvalidPayload(_))),
                "case {mode:?} {challenge:?}: {answer:?}"
            );
        }
    }

    #[test]
    fn a_signature_of_the_wrong_length_or_alphabet_is_refused() {
        // Arrange
        let secret = SecretString::from("k");
        let cases = [
            "sha256=",
            "sha256=abc",
            "sha256=zz5fa338c0ee1ba08d77343d534eae78ddac81a1623d85536152f93068d9cc6f",
            "SHA256=be5fa338c0ee1ba08d77343d534eae78ddac81a1623d85536152f93068d9cc6f",
        ];
        for header in cases {
            // Act
            let verdict = verify_signature(Some(header), b"{}", &secret);

            // Assert
            assert!(
                matches!(verdict, Err(ConnectorError::BadSignature)),
                "case {header:?}"
            );
        }
    }

    #[test]
    fn a_signature_computed_here_is_accepted() {
        // Arrange
        let secret = SecretString::from("k");
        let mut mac = Hmac::<Sha256>::new_from_slice(b"k").unwrap();
        mac.update(b"{}");
        let header = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));

        // Act
        let verdict = verify_signature(Some(&header), b"{}", &secret);

        // Assert
        assert!(verdict.is_ok());
    }
}
