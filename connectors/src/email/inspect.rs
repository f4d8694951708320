//! The JSON contract of `inbox email inspect FILE...`: what the gateway
//! would make of a saved `.eml` file, for operators checking a message by
//! hand and for tests. One object per file; an unparseable file gives an
//! error object, never a panic.
//!
//! Pure: the caller reads the files and prints the values.

use models::{AttachmentContent, MessageKind};
use serde::Serialize;
use serde_json::Value;

use super::inbound::{parse_email, ParseContext, ParsedEmail};

/// One attachment as the inspect command shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InspectAttachment {
    /// Decoded file name, when the sender gave one.
    pub filename: Option<String>,
    /// MIME type, lower-cased.
    pub content_type: String,
    /// Size in bytes.
    pub size: u64,
    /// Lower-case hex SHA-256.
    pub sha256: String,
    /// Why it would not be kept; absent when kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

/// What the inspect command prints for one parsed file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InspectReport {
    /// The file name as given on the command line.
    pub file: String,
    /// Sender address.
    pub from: String,
    /// Decoded subject, if any.
    pub subject: Option<String>,
    /// `citizen`, `reply_in_thread`, `auto_reply`, `bounce` or `mailing_list`.
    pub kind: &'static str,
    /// Whether the gateway would acknowledge it.
    pub should_acknowledge: bool,
    /// The first reference number found, if any.
    pub reference: Option<String>,
    /// The citizen's new words.
    pub new_text: String,
    /// The attachments.
    pub attachments: Vec<InspectAttachment>,
}

/// The kind label of the inspect contract: citizen mail that follows an
/// existing request is `reply_in_thread`.
pub fn kind_label(parsed: &ParsedEmail) -> &'static str {
    match parsed.message.kind {
        MessageKind::Citizen if parsed.is_follow_up() => "reply_in_thread",
        kind => kind.as_str(),
    }
}

/// Builds the report of one parsed message.
pub fn inspect_report(file: &str, parsed: &ParsedEmail) -> InspectReport {
    let message = &parsed.message;
    InspectReport {
        file: file.to_owned(),
        from: message.sender.key(),
        subject: message.subject.clone(),
        kind: kind_label(parsed),
        should_acknowledge: parsed.should_acknowledge(),
        reference: message.hints.references.first().map(ToString::to_string),
        new_text: message.new_text.clone(),
        attachments: message
            .attachments
            .iter()
            .map(|a| InspectAttachment {
                filename: a.filename.clone(),
                content_type: a.content_type.clone(),
                size: a.size_bytes.unwrap_or_default(),
                sha256: a.sha256.clone().unwrap_or_default(),
                refused: match &a.content {
                    AttachmentContent::Refused { reason } => Some(reason.clone()),
                    _ => None,
                },
            })
            .collect(),
    }
}

/// Inspects one file's bytes: the report as JSON, or
/// `{"file": …, "error": …}` when the bytes are not a usable message.
pub fn inspect(file: &str, raw: &[u8], ctx: &ParseContext) -> Value {
    match parse_email(raw, ctx) {
        Ok(parsed) => serde_json::to_value(inspect_report(file, &parsed)).unwrap_or_else(|e| {
            serde_json::json!({ "file": file, "error": format!("cannot serialise report: {e}") })
        }),
        Err(error) => serde_json::json!({ "file": file, "error": error.to_string() }),
    }
}
