//! Detection of automatic mail (RFC 3834 and common practice): bounces,
//! out-of-office answers, list and bulk mail. Such mail is stored for the
//! agents but never acknowledged and never opens a request, which is what
//! keeps the gateway out of mail loops.
//!
//! Pure rules over a few header facts, gathered by the parser into
//! [`AutomaticSignals`]. No I/O.

use models::MessageKind;
use serde::Serialize;

/// The header facts the rules look at, already decoded and lower-cased.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AutomaticSignals {
    /// `Auto-Submitted` value (RFC 3834), first token.
    pub auto_submitted: Option<String>,
    /// `Precedence` value.
    pub precedence: Option<String>,
    /// `List-Id` present.
    pub has_list_id: bool,
    /// `List-Unsubscribe` present.
    pub has_list_unsubscribe: bool,
    /// `Return-Path` present and empty (`<>`).
    pub null_return_path: bool,
    /// Local part of the From address (or the Return-Path when From is absent).
    pub sender_local_part: Option<String>,
    /// `X-Autoreply` / `X-Autorespond` / `X-Auto-Response-Suppress` headers
    /// present with a meaningful value, by name.
    pub auto_reply_headers: Vec<&'static str>,
    /// The top-level type is `multipart/report`, with its `report-type`.
    pub report_type: Option<String>,
    /// The From address is one of the city's own addresses.
    pub from_city_address: bool,
}

/// Why a message was judged automatic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", content = "detail", rename_all = "snake_case")]
pub enum AutomaticReason {
    /// `Auto-Submitted` with a value other than `no`.
    AutoSubmitted(String),
    /// `Precedence: bulk`, `list` or `junk`.
    Precedence(String),
    /// `List-Id` or `List-Unsubscribe` present.
    ListHeader(&'static str),
    /// Empty `Return-Path: <>`, used by bounces and well-behaved responders.
    NullReturnPath,
    /// From `MAILER-DAEMON` or `postmaster`.
    DaemonSender(String),
    /// A vendor auto-reply header (`X-Autoreply`, …).
    AutoReplyHeader(&'static str),
    /// A `multipart/report` (delivery status or read receipt).
    Report(String),
    /// Sent from one of the city's own addresses: answering would loop.
    FromCityAddress,
}

/// The verdict: the message kind and every reason behind it (empty for
/// citizen mail).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutomaticVerdict {
    /// `Citizen` unless some rule fired.
    pub kind: MessageKind,
    /// Every rule that fired, in a fixed order.
    pub reasons: Vec<AutomaticReason>,
}

/// Local parts that only machines send from.
const DAEMON_LOCAL_PARTS: &[&str] = &["mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"];

/// Applies the rules. Precedence of kinds: a delivery report or a daemon
/// sender is a `Bounce`; otherwise list headers or bulk/list precedence make
/// `MailingList`; any other automatic sign makes `AutoReply`.
pub fn classify_automatic(signals: &AutomaticSignals) -> AutomaticVerdict {
    let mut reasons = Vec::new();
    let mut bounce = false;
    let mut list = false;

    if let Some(report) = &signals.report_type {
        reasons.push(AutomaticReason::Report(report.clone()));
        bounce |= report == "delivery-status";
    }
    if let Some(local) = &signals.sender_local_part {
        if DAEMON_LOCAL_PARTS.contains(&local.as_str()) {
            reasons.push(AutomaticReason::DaemonSender(local.clone()));
            bounce = true;
        }
    }
    if signals.null_return_path {
        reasons.push(AutomaticReason::NullReturnPath);
    }
    if let Some(value) = &signals.auto_submitted {
        if value != "no" && !value.is_empty() {
            reasons.push(AutomaticReason::AutoSubmitted(value.clone()));
        }
    }
    if let Some(value) = &signals.precedence {
        if matches!(value.as_str(), "bulk" | "list" | "junk") {
            reasons.push(AutomaticReason::Precedence(value.clone()));
            list |= value != "junk";
        }
    }
    if signals.has_list_id {
        reasons.push(AutomaticReason::ListHeader("List-Id"));
        list = true;
    }
    if signals.has_list_unsubscribe {
        reasons.push(AutomaticReason::ListHeader("List-Unsubscribe"));
        list = true;
    }
    for header in &signals.auto_reply_headers {
        reasons.push(AutomaticReason::AutoReplyHeader(header));
    }
    if signals.from_city_address {
        reasons.push(AutomaticReason::FromCityAddress);
    }

    let kind = if bounce {
        MessageKind::Bounce
    } else if list {
        MessageKind::MailingList
    } else if reasons.is_empty() {
        MessageKind::Citizen
    } else {
        MessageKind::AutoReply
    };
    AutomaticVerdict { kind, reasons }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mail_without_automatic_signs_is_citizen_mail() {
        // Arrange
        let signals = AutomaticSignals {
            auto_submitted: Some("no".to_owned()),
            sender_local_part: Some("rejean.bouchard".to_owned()),
            ..AutomaticSignals::default()
        };

        // Act
        let verdict = classify_automatic(&signals);

        // Assert
        assert_eq!(verdict.kind, MessageKind::Citizen);
        assert!(verdict.reasons.is_empty());
    }

    #[test]
    fn each_rule_alone_makes_the_message_automatic() {
        // Arrange
        let cases: Vec<(&str, AutomaticSignals, MessageKind)> = vec![
            (
                "auto-submitted",
                AutomaticSignals {
                    auto_submitted: Some("auto-replied".into()),
                    ..Default::default()
                },
                MessageKind::AutoReply,
            ),
            (
                "precedence bulk",
                AutomaticSignals {
                    precedence: Some("bulk".into()),
                    ..Default::default()
                },
                MessageKind::MailingList,
            ),
            (
                "precedence junk",
                AutomaticSignals {
                    precedence: Some("junk".into()),
                    ..Default::default()
                },
                MessageKind::AutoReply,
            ),
            (
                "list-id",
                AutomaticSignals {
                    has_list_id: true,
                    ..Default::default()
                },
                MessageKind::MailingList,
            ),
            (
                "list-unsubscribe",
                AutomaticSignals {
                    has_list_unsubscribe: true,
                    ..Default::default()
                },
                MessageKind::MailingList,
            ),
            (
                "null return path",
                AutomaticSignals {
                    null_return_path: true,
                    ..Default::default()
                },
                MessageKind::AutoReply,
            ),
            (
                "mailer-daemon",
                AutomaticSignals {
                    sender_local_part: Some("mailer-daemon".into()),
                    ..Default::default()
                },
                MessageKind::Bounce,
            ),
            (
                "postmaster",
                AutomaticSignals {
                    sender_local_part: Some("postmaster".into()),
                    ..Default::default()
                },
                MessageKind::Bounce,
            ),
            (
                "x-autoreply",
                AutomaticSignals {
                    auto_reply_headers: vec!["X-Autoreply"],
                    ..Default::default()
                },
                MessageKind::AutoReply,
            ),
            (
                "delivery report",
                AutomaticSignals {
                    report_type: Some("delivery-status".into()),
                    ..Default::default()
                },
                MessageKind::Bounce,
            ),
            (
                "read receipt",
                AutomaticSignals {
                    report_type: Some("disposition-notification".into()),
                    ..Default::default()
                },
                MessageKind::AutoReply,
            ),
            (
                "own address",
                AutomaticSignals {
                    from_city_address: true,
                    ..Default::default()
                },
                MessageKind::AutoReply,
            ),
        ];
        for (name, signals, expected) in cases {
            // Act
            let verdict = classify_automatic(&signals);

            // Assert
            assert_eq!(verdict.kind, expected, "case {name}");
            assert!(!verdict.reasons.is_empty(), "case {name}");
        }
    }

    #[test]
    fn a_bounce_with_list_headers_is_still_a_bounce() {
        // Arrange
        let signals = AutomaticSignals {
            report_type: Some("delivery-status".into()),
            has_list_id: true,
            null_return_path: true,
            ..Default::default()
        };

        // Act
        let verdict = classify_automatic(&signals);

        // Assert
        assert_eq!(verdict.kind, MessageKind::Bounce);
        assert_eq!(verdict.reasons.len(), 3);
    }
}
