//! Rules for sending through the Send API, kept apart from the HTTP client so
//! they can be tested without a network: Meta's reply windows, the request
//! body, the outbox metadata that lets us recognise our own echoes, and what a
//! Graph API error means for the outbox.
//!
//! Pure: the current time is a parameter.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use models::{Channel, OutboundKind, OutboxId};
use serde::{Deserialize, Serialize};

use crate::ConnectorError;

/// Standard messaging window: any reply, automatic or not, within 24 hours of
/// the citizen's last message.
pub const STANDARD_WINDOW: TimeDelta = TimeDelta::hours(24);

/// `HUMAN_AGENT` window: a person may answer up to 7 days after the
/// citizen's last message.
pub const HUMAN_AGENT_WINDOW: TimeDelta = TimeDelta::days(7);

/// Longest Messenger text Meta accepts, in characters.
pub const MAX_MESSENGER_TEXT_CHARS: usize = 2000;

/// Longest Instagram text Meta accepts, in UTF-8 bytes.
pub const MAX_INSTAGRAM_TEXT_BYTES: usize = 1000;

/// Prefix of our `metadata`: echoes carrying it are ours.
pub const OUTBOX_METADATA_PREFIX: &str = "sj-outbox:";

/// Graph error code of a refused send (with one of the window subcodes below).
const CODE_NOT_ALLOWED: i64 = 10;
/// Messenger: "This message is sent outside of allowed window".
const SUBCODE_MESSENGER_OUTSIDE_WINDOW: i64 = 2_018_278;
/// Instagram: the same refusal.
const SUBCODE_INSTAGRAM_OUTSIDE_WINDOW: i64 = 2_534_022;
/// Graph error codes of an access token refused or expired (190) and of a
/// session that ended (102).
const AUTH_CODES: [i64; 2] = [190, 102];
/// Graph throttling codes: app (4), user (17), Page (32), a call type (613),
/// and the Page, Instagram and Messenger business-use-case limits (80001,
/// 80002, 80006).
const RATE_LIMIT_CODES: [i64; 7] = [4, 17, 32, 613, 80_001, 80_002, 80_006];
/// Graph error codes of a passing server problem ("unknown error",
/// "service temporarily unavailable").
const TRANSIENT_CODES: [i64; 2] = [1, 2];

/// How a message may go out, given Meta's windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessagingType {
    /// Within 24 hours: `messaging_type: RESPONSE`.
    Response,
    /// Between 24 hours and 7 days, written by a person:
    /// `messaging_type: MESSAGE_TAG`, `tag: HUMAN_AGENT`.
    HumanAgent,
}

/// Decides how a message of `kind` may be sent at `now`, the citizen having
/// last written at `last_citizen_message_at`. Nothing is sent to Meta when
/// this refuses.
///
/// A last message dated in the future (clock skew) counts as just now.
///
/// # Errors
/// [`ConnectorError::ReplyWindowClosed`] when the citizen never wrote on this
/// channel, when automatic text (an acknowledgement) would go out after 24
/// hours, or when anything would go out after 7 days.
pub fn messaging_type_for(
    kind: OutboundKind,
    last_citizen_message_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<MessagingType, ConnectorError> {
    let Some(last) = last_citizen_message_at else {
        return Err(ConnectorError::ReplyWindowClosed(
            "the citizen has not written on this channel; Meta does not let the city write first"
                .to_owned(),
        ));
    };
    let elapsed = now.signed_duration_since(last).max(TimeDelta::zero());
    if elapsed < STANDARD_WINDOW {
        return Ok(MessagingType::Response);
    }
    if elapsed >= HUMAN_AGENT_WINDOW {
        return Err(ConnectorError::ReplyWindowClosed(format!(
            "the citizen last wrote {} days ago, beyond Meta's 7-day limit; use another channel",
            elapsed.num_days()
        )));
    }
    if kind.is_human() {
        Ok(MessagingType::HumanAgent)
    } else {
        Err(ConnectorError::ReplyWindowClosed(format!(
            "automatic {} not sent: the citizen last wrote {} hours ago, beyond Meta's 24-hour window",
            kind.as_str(),
            elapsed.num_hours()
        )))
    }
}

/// Checks the text against the channel's length limit before calling Meta:
/// splitting it would turn one outbox row into several sends.
///
/// # Errors
/// [`ConnectorError::Permanent`] for an empty or over-long text.
pub fn check_text(channel: Channel, text: &str) -> Result<(), ConnectorError> {
    if text.trim().is_empty() {
        return Err(ConnectorError::Permanent(
            "the message text is empty".to_owned(),
        ));
    }
    let too_long = match channel {
        Channel::Instagram => text.len() > MAX_INSTAGRAM_TEXT_BYTES,
        _ => text.chars().count() > MAX_MESSENGER_TEXT_CHARS,
    };
    if too_long {
        let limit = match channel {
            Channel::Instagram => format!("{MAX_INSTAGRAM_TEXT_BYTES} bytes"),
            _ => format!("{MAX_MESSENGER_TEXT_CHARS} characters"),
        };
        return Err(ConnectorError::Permanent(format!(
            "the message text is longer than the {limit} {channel} accepts"
        )));
    }
    Ok(())
}

/// The `metadata` we attach to a send; Meta repeats it in the echo.
pub fn outbox_metadata(outbox_id: &OutboxId) -> String {
    format!("{OUTBOX_METADATA_PREFIX}{outbox_id}")
}

/// Reads back an outbox id from an echo's `metadata`; `None` when the echo is
/// not one of ours (a person answering in Meta's own inbox, another app).
pub fn parse_outbox_metadata(metadata: &str) -> Option<OutboxId> {
    metadata
        .strip_prefix(OUTBOX_METADATA_PREFIX)
        .and_then(|id| OutboxId::parse(id).ok())
}

/// Body of `POST /{version}/{page-id}/messages`.
#[derive(Debug, Serialize)]
pub(crate) struct SendRequest<'a> {
    pub(crate) recipient: RecipientRef<'a>,
    pub(crate) messaging_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) tag: Option<&'static str>,
    pub(crate) message: MessageBody<'a>,
}

#[derive(Debug, Serialize)]
pub(crate) struct RecipientRef<'a> {
    pub(crate) id: &'a str,
}

#[derive(Debug, Serialize)]
pub(crate) struct MessageBody<'a> {
    pub(crate) text: &'a str,
    /// Meta's `message.metadata`, echoed back in the `is_echo` webhook.
    pub(crate) metadata: &'a str,
}

impl<'a> SendRequest<'a> {
    pub(crate) fn new(
        recipient: &'a str,
        messaging_type: MessagingType,
        text: &'a str,
        metadata: &'a str,
    ) -> Self {
        let (messaging_type, tag) = match messaging_type {
            MessagingType::Response => ("RESPONSE", None),
            MessagingType::HumanAgent => ("MESSAGE_TAG", Some("HUMAN_AGENT")),
        };
        Self {
            recipient: RecipientRef { id: recipient },
            messaging_type,
            tag,
            message: MessageBody { text, metadata },
        }
    }
}

/// A successful Send API answer.
#[derive(Debug, Deserialize)]
pub(crate) struct SendResponse {
    #[serde(default)]
    pub(crate) message_id: Option<String>,
}

/// A Graph API error answer: `{"error": {...}}`.
#[derive(Debug, Deserialize)]
pub(crate) struct GraphErrorEnvelope {
    pub(crate) error: GraphError,
}

/// The `error` object of a Graph API answer.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct GraphError {
    #[serde(default)]
    pub(crate) message: Option<String>,
    #[serde(default, rename = "type")]
    pub(crate) kind: Option<String>,
    #[serde(default)]
    pub(crate) code: Option<i64>,
    #[serde(default)]
    pub(crate) error_subcode: Option<i64>,
    #[serde(default)]
    pub(crate) is_transient: Option<bool>,
    #[serde(default)]
    pub(crate) fbtrace_id: Option<String>,
}

impl GraphError {
    fn describe(&self, status: u16) -> String {
        let mut text = format!("HTTP {status}");
        if let Some(code) = self.code {
            text.push_str(&format!(", code {code}"));
        }
        if let Some(subcode) = self.error_subcode {
            text.push_str(&format!(", subcode {subcode}"));
        }
        if let Some(kind) = &self.kind {
            text.push_str(&format!(", {kind}"));
        }
        if let Some(message) = &self.message {
            text.push_str(&format!(": {message}"));
        }
        if let Some(trace) = &self.fbtrace_id {
            text.push_str(&format!(" (fbtrace_id {trace})"));
        }
        text
    }
}

/// Says what a failed Send API answer means for the outbox.
///
/// The Graph error code decides before the HTTP status, because Meta answers
/// most refusals, throttling included, with a plain 400.
pub(crate) fn classify_error(
    status: u16,
    retry_after: Option<Duration>,
    error: Option<&GraphError>,
) -> ConnectorError {
    let fallback = GraphError::default();
    let error = error.unwrap_or(&fallback);
    let detail = error.describe(status);
    let code = error.code;
    if code == Some(CODE_NOT_ALLOWED)
        && matches!(
            error.error_subcode,
            Some(SUBCODE_MESSENGER_OUTSIDE_WINDOW | SUBCODE_INSTAGRAM_OUTSIDE_WINDOW)
        )
    {
        return ConnectorError::ReplyWindowClosed(detail);
    }
    // Permission errors (codes 200-299) stay permanent: several of them are
    // about one citizen (who blocked the Page, for example), and an
    // administrator alarm for each would be noise.
    if status == 401 || code.is_some_and(|c| AUTH_CODES.contains(&c)) {
        return ConnectorError::Auth(detail);
    }
    if status == 429 || code.is_some_and(|c| RATE_LIMIT_CODES.contains(&c)) {
        return ConnectorError::RateLimited { retry_after };
    }
    if status >= 500
        || error.is_transient == Some(true)
        || code.is_some_and(|c| TRANSIENT_CODES.contains(&c))
    {
        return ConnectorError::Transient(detail);
    }
    ConnectorError::Permanent(detail)
}

/// Reads a `Retry-After` value: a number of seconds, or an HTTP date
/// (counted from `now`; a date in the past means "now").
pub(crate) fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = DateTime::parse_from_rfc2822(value).ok()?;
    let wait = date.with_timezone(&Utc).signed_duration_since(now);
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 15, 15, 0, 0).unwrap()
    }

    #[test]
    fn the_window_rules_pick_the_messaging_type_or_refuse() {
        // Arrange
        let hours = |h: i64| Some(now() - TimeDelta::hours(h));
        let cases = [
            (
                OutboundKind::Acknowledgement,
                hours(0),
                Some(MessagingType::Response),
            ),
            (
                OutboundKind::Acknowledgement,
                hours(23),
                Some(MessagingType::Response),
            ),
            (
                OutboundKind::AgentReply,
                hours(23),
                Some(MessagingType::Response),
            ),
            (OutboundKind::Acknowledgement, hours(24), None),
            (
                OutboundKind::AgentReply,
                hours(24),
                Some(MessagingType::HumanAgent),
            ),
            (
                OutboundKind::TransferNotice,
                hours(48),
                Some(MessagingType::HumanAgent),
            ),
            (
                OutboundKind::AgentReply,
                hours(7 * 24 - 1),
                Some(MessagingType::HumanAgent),
            ),
            (OutboundKind::AgentReply, hours(7 * 24), None),
            (OutboundKind::AgentReply, hours(30 * 24), None),
            (OutboundKind::AgentReply, None, None),
            (
                OutboundKind::Acknowledgement,
                hours(-2),
                Some(MessagingType::Response),
            ),
        ];
        for (kind, last, expected) in cases {
            // Act
            let decided = messaging_type_for(kind, last, now());

            // Assert
            match expected {
                Some(expected) => {
                    assert_eq!(decided.ok(), Some(expected), "case {kind:?} {last:?}")
                }
                None => assert!(
                    matches!(decided, Err(ConnectorError::ReplyWindowClosed(_))),
                    "case {kind:?} {last:?}: {decided:?}"
                ),
            }
        }
    }

    #[test]
    fn the_24_hour_boundary_is_exclusive_to_the_millisecond() {
        // Arrange
        let last = now() - STANDARD_WINDOW;

        // Act
        let just_before = messaging_type_for(
            OutboundKind::Acknowledgement,
            Some(last + TimeDelta::milliseconds(1)),
            now(),
        );
        let at_boundary = messaging_type_for(OutboundKind::Acknowledgement, Some(last), now());

        // Assert
        assert_eq!(just_before.ok(), Some(MessagingType::Response));
        assert!(matches!(
            at_boundary,
            Err(ConnectorError::ReplyWindowClosed(_))
        ));
    }

    #[test]
    fn outbox_metadata_round_trips_and_foreign_metadata_is_not_ours() {
        // Arrange
        let id = OutboxId::generate();

        // Act
        let metadata = outbox_metadata(&id);

        // Assert
        assert!(metadata.starts_with("sj-outbox:"));
        assert_eq!(parse_outbox_metadata(&metadata), Some(id));
        assert_eq!(
            parse_outbox_metadata("sj-outbox:01KEXA7Q9T6S2W8Y4K7M5N0P1R"),
            None
        );
        assert_eq!(parse_outbox_metadata(&id.to_string()), None);
    }

    #[test]
    fn text_limits_are_checked_per_channel() {
        // Arrange
        let accents = "é".repeat(600);

        // Act / Assert
        assert!(
            check_text(Channel::Messenger, &accents).is_ok(),
            "600 chars on Messenger"
        );
        assert!(
            check_text(Channel::Instagram, &accents).is_err(),
            "1200 bytes on Instagram"
        );
        assert!(check_text(Channel::Messenger, &"a".repeat(2001)).is_err());
        assert!(check_text(Channel::Messenger, &"a".repeat(2000)).is_ok());
        assert!(check_text(Channel::Messenger, "  ").is_err());
    }

    #[test]
    fn graph_errors_are_classified_by_code_before_status() {
        // Arrange
        let error = |code: i64, subcode: Option<i64>| GraphError {
            code: Some(code),
            error_subcode: subcode,
            ..GraphError::default()
        };
        let wait = Some(Duration::from_secs(30));
        let cases: [(u16, Option<GraphError>, &str); 12] = [
            (400, Some(error(10, Some(2_018_278))), "window"),
            (400, Some(error(10, Some(2_534_022))), "window"),
            (400, Some(error(10, None)), "permanent"),
            (400, Some(error(190, Some(463))), "auth"),
            (401, None, "auth"),
            (403, Some(error(200, Some(1_545_041))), "permanent"),
            (400, Some(error(613, None)), "rate"),
            (429, None, "rate"),
            (400, Some(error(32, None)), "rate"),
            (500, None, "transient"),
            (400, Some(error(2, None)), "transient"),
            (400, Some(error(100, Some(2_018_001))), "permanent"),
        ];
        for (status, error, expected) in cases {
            // Act
            let classified = classify_error(status, wait, error.as_ref());

            // Assert
            let got = match classified {
                ConnectorError::ReplyWindowClosed(_) => "window",
                ConnectorError::Auth(_) => "auth",
                ConnectorError::RateLimited { retry_after } => {
                    assert_eq!(retry_after, wait);
                    "rate"
                }
                ConnectorError::Transient(_) => "transient",
                ConnectorError::Permanent(_) => "permanent",
                other => panic!("unexpected {other:?}"),
            };
            assert_eq!(got, expected, "case HTTP {status} {error:?}");
        }
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        // Arrange
        let later = "Thu, 15 Jan 2026 15:02:00 GMT";
        let earlier = "Thu, 15 Jan 2026 14:00:00 GMT";

        // Act / Assert
        assert_eq!(
            parse_retry_after("120", now()),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after(later, now()),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after(earlier, now()), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now()), None);
    }
}
