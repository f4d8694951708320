//! Turns the raw bytes of one email (as an IMAP `BODY[]` fetch returns them)
//! into a [`ParsedEmail`]: the normalised [`InboundMessage`], the delivery
//! report when the mail is a bounce, and the reasons it is automatic.
//!
//! Pure and synchronous: no I/O. Parsing a large message takes milliseconds
//! of CPU, so the gateway should call [`parse_email`] from
//! `spawn_blocking`. Hostile input (malformed MIME, unknown charsets,
//! thousands of parts, deep nesting, huge attachments) yields a message or a
//! typed error, never a panic.

use std::collections::HashSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::LazyLock;

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use mail_parser::{HeaderValue, Message, MessageParser, MessagePart, MimeHeaders, PartType};
use models::{
    Attachment, AttachmentContent, Channel, ChannelIdentity, EmailAddress, ExternalMessageId,
    InboundMessage, Language, MessageKind, ReferenceNumber, ReferencePrefix, RfcMessageId,
    ThreadHints,
};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::classify::{classify_automatic, AutomaticReason, AutomaticSignals};
use super::config::EmailSettings;
use super::text::{
    clean_body_text, clean_header_text, extract_new_text, html_is_tame, html_to_text, unflow,
    MAX_HTML_TO_TEXT_BYTES,
};

/// Largest raw message parsed. Providers cap mail at 25–50 MB; anything
/// bigger is refused whole rather than held several times in memory.
pub const MAX_RAW_MESSAGE_BYTES: usize = 64 * 1024 * 1024;
/// Most attachments recorded for one message; the rest are counted in
/// [`ParsedEmail::dropped_attachments`]. A citizen sends a few photos; a
/// message with thousands of parts is hostile or broken.
pub const MAX_ATTACHMENTS: usize = 100;
/// Most Message-IDs kept from In-Reply-To and References together; long
/// threads only need the nearest ones.
pub const MAX_THREAD_IDS: usize = 50;
/// Most recipients read from one delivery report.
const MAX_BOUNCE_RECIPIENTS: usize = 100;
/// Longest value kept from one delivery-report field.
const MAX_BOUNCE_FIELD_CHARS: usize = 1000;
/// Longest file name kept, in characters (most file systems allow 255 bytes).
const MAX_FILENAME_CHARS: usize = 200;
/// How far in the future a `Date:` header may be before it is distrusted
/// and the fallback time used instead (a wrong clock on the sender's PC
/// must not push a message to the front of a chronological queue).
const MAX_DATE_SKEW_HOURS: i64 = 24;
/// Oldest believable `Date:`; older ones come from dead CMOS batteries.
const MIN_PLAUSIBLE_YEAR: u16 = 1995;

/// What the parser needs to know about the city.
#[derive(Debug, Clone)]
pub struct ParseContext {
    /// Prefix of reference numbers to look for (`SJ`).
    pub reference_prefix: ReferencePrefix,
    /// The city's own addresses: mail from them is never acknowledged.
    pub city_addresses: Vec<EmailAddress>,
    /// Largest attachment kept; bigger ones are recorded as refused.
    pub max_attachment_bytes: u64,
    /// Used when `Date:` is missing, unreadable or too far in the future:
    /// the IMAP INTERNALDATE when known, otherwise the time of the fetch.
    pub fallback_received_at: DateTime<Utc>,
}

impl ParseContext {
    /// Builds a context from the email settings.
    pub fn from_settings(
        settings: &EmailSettings,
        reference_prefix: ReferencePrefix,
        fallback_received_at: DateTime<Utc>,
    ) -> Self {
        Self {
            reference_prefix,
            city_addresses: settings.city_addresses(),
            max_attachment_bytes: settings.max_attachment_bytes,
            fallback_received_at,
        }
    }
}

/// How bad a delivery failure is, from the DSN status class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BounceSeverity {
    /// `5.x.x` or `Action: failed`: the address does not work; do not retry.
    Permanent,
    /// `4.x.x` or `Action: delayed`: the relay is still trying.
    Transient,
    /// `2.x.x`: delivered, relayed or expanded (a positive report).
    Delivered,
    /// Neither status nor action says.
    Unknown,
}

/// One recipient block of a delivery status notification (RFC 3464).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BounceRecipient {
    /// `Final-Recipient` as written, without its address type (`m.lavoei@example.com`).
    pub final_recipient: Option<String>,
    /// The same, parsed, when it is a usable address.
    pub address: Option<EmailAddress>,
    /// `Action`, lower-cased (`failed`, `delayed`, `delivered`, …).
    pub action: Option<String>,
    /// `Status` (`5.1.1`).
    pub status: Option<String>,
    /// `Diagnostic-Code`, unfolded (`smtp; 550 5.1.1 …`).
    pub diagnostic_code: Option<String>,
    /// Permanent or transient, from the status class, else the action.
    pub severity: BounceSeverity,
}

/// What a bounce says about one of our messages.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct BounceReport {
    /// `Reporting-MTA`, without its type.
    pub reporting_mta: Option<String>,
    /// One entry per recipient block.
    pub recipients: Vec<BounceRecipient>,
    /// Message-ID of our returned message (from `text/rfc822-headers` or
    /// `message/rfc822`): links the bounce to its request.
    pub original_message_id: Option<RfcMessageId>,
    /// Subject of our returned message, decoded.
    pub original_subject: Option<String>,
}

impl BounceReport {
    /// Whether some recipient failed for good.
    pub fn is_permanent(&self) -> bool {
        self.recipients
            .iter()
            .any(|r| r.severity == BounceSeverity::Permanent)
    }
}

/// One parsed email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedEmail {
    /// The normalised message for the ingest pipeline.
    pub message: InboundMessage,
    /// The delivery report, when the message is a bounce.
    pub bounce: Option<BounceReport>,
    /// Why the message is automatic; empty for citizen mail.
    pub automatic_reasons: Vec<AutomaticReason>,
    /// Attachments beyond [`MAX_ATTACHMENTS`], not recorded.
    pub dropped_attachments: usize,
    /// The MIME structure could not be read: `body_text` is the raw body
    /// (boundaries and encodings included) and no attachment was extracted.
    /// The agent should be told; the raw message is worth keeping.
    pub mime_unreadable: bool,
}

impl ParsedEmail {
    /// Whether this message follows an existing request: it carries a
    /// reference number or answers an earlier message.
    pub fn is_follow_up(&self) -> bool {
        !self.message.hints.references.is_empty() || !self.message.hints.in_reply_to.is_empty()
    }

    /// Whether the message calls for an acknowledgement: citizen mail that
    /// is not a follow-up. The gateway still applies its per-sender daily
    /// limit (`max_acks_per_sender_per_day`).
    pub fn should_acknowledge(&self) -> bool {
        self.message.kind == MessageKind::Citizen && !self.is_follow_up()
    }
}

/// Why raw bytes could not be turned into a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailParseError {
    /// Zero bytes, or only whitespace.
    #[error("message is empty")]
    Empty,
    /// Larger than [`MAX_RAW_MESSAGE_BYTES`].
    #[error("message of {size} bytes exceeds the {max} byte limit")]
    TooLarge {
        /// Size of the raw message.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// No header block could be read.
    #[error("message has no readable header")]
    Unreadable,
    /// Neither From, Sender nor Return-Path holds a usable address.
    #[error("message has no usable sender address")]
    MissingSender,
    /// The MIME parser failed internally on this input.
    #[error("mail parser failed on this message")]
    ParserFailed,
}

/// Parses one raw message.
///
/// # Errors
/// An [`EmailParseError`] when the bytes are empty, too large, have no
/// readable header or no usable sender. Any other oddity (bad charset,
/// broken MIME, missing Date or Message-ID) is repaired or defaulted.
pub fn parse_email(raw: &[u8], ctx: &ParseContext) -> Result<ParsedEmail, EmailParseError> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(EmailParseError::Empty);
    }
    if raw.len() > MAX_RAW_MESSAGE_BYTES {
        return Err(EmailParseError::TooLarge {
            size: raw.len(),
            max: MAX_RAW_MESSAGE_BYTES,
        });
    }
    // The MIME parser is third-party code fed with hostile input, and it
    // does panic on some malformed multiparts (fuzzing found an index out of
    // range in mail-parser 0.11.2). A panic must not take down the mailbox
    // task and make the message come back forever: the message is read
    // again from its header alone, its raw body kept as text. Nothing shared
    // is mutated inside, so unwind safety holds.
    // A multipart cut before its closing delimiter (a truncated relay, a
    // broken mailer) makes the parser drop its text or take it for an
    // attachment: read the message as it was meant, with the delimiter.
    if let Some(closed) = close_open_multipart(raw) {
        if let Ok(repaired) = parse_guarded(&closed, ctx) {
            return Ok(repaired);
        }
    }
    parse_guarded(raw, ctx)
}

/// The raw message with the closing delimiter of its top-level multipart
/// put back, when it is missing: a truncated last delimiter line (`--b-`)
/// is replaced, otherwise the delimiter is appended.
fn close_open_multipart(raw: &[u8]) -> Option<Vec<u8>> {
    let boundary = MessageParser::new()
        .parse_headers(raw)?
        .content_type()?
        .attribute("boundary")?
        .to_owned();
    let delimiter = format!("--{boundary}");
    let closing = format!("{delimiter}--");
    if raw.windows(closing.len()).any(|w| w == closing.as_bytes()) {
        return None;
    }
    let trimmed = raw.trim_ascii_end();
    let last_line = trimmed
        .iter()
        .rposition(|&c| c == b'\n')
        .map_or(0, |i| i + 1);
    let keep = if trimmed[last_line..].starts_with(delimiter.as_bytes()) {
        last_line
    } else {
        trimmed.len()
    };
    let mut closed = raw[..keep].to_vec();
    if !closed.ends_with(b"\n") {
        closed.extend_from_slice(b"\r\n");
    }
    closed.extend_from_slice(closing.as_bytes());
    closed.extend_from_slice(b"\r\n");
    Some(closed)
}

/// [`parse_unguarded`] with the parser's panics caught.
fn parse_guarded(raw: &[u8], ctx: &ParseContext) -> Result<ParsedEmail, EmailParseError> {
    catch_unwind(AssertUnwindSafe(|| {
        parse_unguarded(raw, ctx, MimeMode::Full)
    }))
    .unwrap_or_else(|_| {
        tracing::warn!("MIME parser failed; message read from its header alone");
        catch_unwind(AssertUnwindSafe(|| {
            parse_unguarded(raw, ctx, MimeMode::HeaderOnly)
        }))
        .unwrap_or(Err(EmailParseError::ParserFailed))
    })
}

/// How much of the MIME structure is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MimeMode {
    /// Every part: bodies, alternatives, attachments, reports.
    Full,
    /// The top-level header only; the rest is kept as raw text.
    HeaderOnly,
}

/// The raw body after the header block, as text, for [`MimeMode::HeaderOnly`].
fn raw_body_text(raw: &[u8]) -> String {
    let start = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4)
        .or_else(|| raw.windows(2).position(|w| w == b"\n\n").map(|i| i + 2))
        .unwrap_or(raw.len());
    clean_body_text(&String::from_utf8_lossy(&raw[start..]))
        .trim_matches('\n')
        .to_owned()
}

fn parse_unguarded(
    raw: &[u8],
    ctx: &ParseContext,
    mode: MimeMode,
) -> Result<ParsedEmail, EmailParseError> {
    let parser = MessageParser::new();
    let message = match mode {
        MimeMode::Full => parser.parse(raw),
        MimeMode::HeaderOnly => parser.parse_headers(raw),
    }
    .ok_or(EmailParseError::Unreadable)?;
    if message.headers().is_empty() {
        return Err(EmailParseError::Unreadable);
    }

    let (sender, sender_name) = sender_of(&message).ok_or(EmailParseError::MissingSender)?;
    let rfc_message_id = message
        .message_id()
        .and_then(|id| RfcMessageId::parse(id).ok());
    let external_id = match &rfc_message_id {
        Some(id) => ExternalMessageId::parse(id.as_ref()).ok(),
        None => None,
    }
    .map_or_else(|| fallback_external_id(raw), Ok)?;
    let received_at = received_at_of(&message, ctx.fallback_received_at);
    let subject = message
        .subject()
        .map(clean_header_text)
        .filter(|s| !s.is_empty());

    let report_type = report_type_of(&message);
    let skip = report_part_ids(&message, report_type.is_some());
    let (body_text, body_html) = match mode {
        MimeMode::Full => (body_text_of(&message, &skip), body_html_of(&message)),
        MimeMode::HeaderOnly => (raw_body_text(raw), None),
    };
    let new_text = extract_new_text(&body_text);

    let signals = signals_of(&message, &sender, report_type.clone(), ctx);
    let verdict = classify_automatic(&signals);

    let bounce = (verdict.kind == MessageKind::Bounce || report_type.is_some())
        .then(|| bounce_report_of(&message));

    let mut hints = ThreadHints {
        references: Vec::new(),
        rfc_message_id,
        in_reply_to: thread_ids_of(&message),
    };
    let mut reference_sources = vec![subject.clone().unwrap_or_default(), new_text.clone()];
    if let Some(report) = &bounce {
        if let Some(original) = &report.original_message_id {
            // A bounce answers our returned message: put its id first so
            // that threading links the bounce to the request it concerns.
            hints.in_reply_to.retain(|id| id != original);
            hints.in_reply_to.insert(0, original.clone());
            reference_sources.push(original.as_ref().to_owned());
        }
        reference_sources.extend(report.original_subject.iter().cloned());
    }
    for source in &reference_sources {
        for reference in ReferenceNumber::find_all(source, &ctx.reference_prefix) {
            if !hints.references.contains(&reference) {
                hints.references.push(reference);
            }
        }
    }

    let (attachments, dropped_attachments) = match mode {
        MimeMode::Full => attachments_of(&message, &skip, ctx),
        MimeMode::HeaderOnly => (Vec::new(), 0),
    };
    let language_source = if new_text.trim().is_empty() {
        &body_text
    } else {
        &new_text
    };

    Ok(ParsedEmail {
        message: InboundMessage {
            channel: Channel::Email,
            external_id,
            sender: ChannelIdentity::Email { address: sender },
            sender_name,
            sender_phone: None,
            received_at,
            subject,
            language: Language::detect(language_source),
            body_text,
            new_text,
            body_html,
            kind: verdict.kind,
            hints,
            attachments,
        },
        bounce,
        automatic_reasons: verdict.reasons,
        dropped_attachments,
        mime_unreadable: mode == MimeMode::HeaderOnly,
    })
}

/// `sha256:<hex of the raw bytes>`: a stable id for mail without a usable
/// Message-ID, so that fetching the same message twice still deduplicates.
fn fallback_external_id(raw: &[u8]) -> Result<ExternalMessageId, EmailParseError> {
    ExternalMessageId::parse(&format!("sha256:{}", sha256_hex(raw)))
        .map_err(|_| EmailParseError::Unreadable)
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn sender_of(message: &Message<'_>) -> Option<(EmailAddress, Option<String>)> {
    let candidates = [message.from(), message.sender()];
    for address in candidates.into_iter().flatten() {
        for addr in address.iter() {
            let Some(text) = addr.address() else {
                continue;
            };
            if let Ok(parsed) = EmailAddress::parse(text) {
                let name = addr
                    .name()
                    .map(|n| {
                        clean_header_text(n)
                            .trim_matches(['"', '\'', ' '])
                            .to_owned()
                    })
                    .filter(|n| !n.is_empty() && !n.eq_ignore_ascii_case(parsed.as_ref()));
                return Some((parsed, name));
            }
        }
    }
    let return_path = header_text(message, "Return-Path")?;
    let inner = return_path
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>');
    EmailAddress::parse(inner).ok().map(|a| (a, None))
}

fn received_at_of(message: &Message<'_>, fallback: DateTime<Utc>) -> DateTime<Utc> {
    let Some(date) = message.date() else {
        return fallback;
    };
    if date.year < MIN_PLAUSIBLE_YEAR || !(1..=12).contains(&date.month) || date.day == 0 {
        return fallback;
    }
    match DateTime::from_timestamp(date.to_timestamp(), 0) {
        Some(when) if when <= fallback + ChronoDuration::hours(MAX_DATE_SKEW_HOURS) => when,
        _ => fallback,
    }
}

/// The raw (undecoded) text of a header, trimmed, when present.
fn header_text<'a>(message: &'a Message<'_>, name: &'static str) -> Option<&'a str> {
    message.header_raw(name).map(str::trim)
}

/// First token of a header value, lower-cased (`auto-replied; x=y` → `auto-replied`).
fn header_token(message: &Message<'_>, name: &'static str) -> Option<String> {
    let raw = header_text(message, name)?;
    let token = raw
        .split(|c: char| c == ';' || c == ',' || c.is_whitespace())
        .find(|t| !t.is_empty())?;
    Some(token.to_ascii_lowercase())
}

fn report_type_of(message: &Message<'_>) -> Option<String> {
    let content_type = message.root_part().content_type()?;
    let is_report = content_type.ctype().eq_ignore_ascii_case("multipart")
        && content_type
            .subtype()
            .is_some_and(|s| s.eq_ignore_ascii_case("report"));
    is_report.then(|| {
        content_type
            .attribute("report-type")
            .unwrap_or("unknown")
            .to_ascii_lowercase()
    })
}

fn content_type_of(part: &MessagePart<'_>) -> String {
    match part.content_type() {
        Some(ct) => {
            let main = ct.ctype().trim().to_ascii_lowercase();
            match ct.subtype() {
                Some(sub) => format!("{main}/{}", sub.trim().to_ascii_lowercase()),
                None => main,
            }
        }
        None => match part.body {
            PartType::Text(_) => "text/plain".to_owned(),
            PartType::Html(_) => "text/html".to_owned(),
            PartType::Message(_) => "message/rfc822".to_owned(),
            _ => "application/octet-stream".to_owned(),
        },
    }
}

fn is_report_part(content_type: &str) -> bool {
    matches!(
        content_type,
        "message/delivery-status"
            | "message/global-delivery-status"
            | "text/rfc822-headers"
            | "message/global-headers"
            | "message/disposition-notification"
    )
}

/// Parts of a `multipart/report` that carry the report itself (read into
/// the [`BounceReport`], neither body text nor attachments).
fn report_part_ids(message: &Message<'_>, is_report: bool) -> HashSet<usize> {
    if !is_report {
        return HashSet::new();
    }
    message
        .parts
        .iter()
        .enumerate()
        .filter(|(_, part)| is_report_part(&content_type_of(part)))
        .map(|(index, _)| index)
        .collect()
}

fn body_text_of(message: &Message<'_>, skip: &HashSet<usize>) -> String {
    let mut pieces: Vec<String> = Vec::new();
    for &id in &message.text_body {
        let index = id as usize;
        if skip.contains(&index) {
            continue;
        }
        let Some(part) = message.parts.get(index) else {
            continue;
        };
        let text = match &part.body {
            PartType::Text(text) => {
                let flowed = part.content_type().is_some_and(|ct| {
                    ct.attribute("format")
                        .is_some_and(|f| f.eq_ignore_ascii_case("flowed"))
                });
                if flowed {
                    let delsp = part.content_type().is_some_and(|ct| {
                        ct.attribute("delsp")
                            .is_some_and(|d| d.eq_ignore_ascii_case("yes"))
                    });
                    unflow(&clean_body_text(text), delsp)
                } else {
                    clean_body_text(text)
                }
            }
            PartType::Html(html) => html_to_text(html),
            _ => continue,
        };
        let text = text.trim_matches('\n').to_owned();
        if !text.trim().is_empty() {
            pieces.push(text);
        }
    }
    pieces.join("\n\n")
}

/// The sanitizer for HTML bodies: ammonia's safe defaults (no scripts, no
/// event handlers, no styles, no comments, links with `rel=noopener
/// noreferrer`), relative URLs denied, and every image whose source is not
/// an attachment of the message (`cid:`) stripped of its `src`, so that
/// opening a message never tells a sender it was read.
static SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut builder = ammonia::Builder::default();
    builder
        .add_url_schemes(["cid"])
        .url_relative(ammonia::UrlRelative::Deny)
        .attribute_filter(|element, attribute, value| {
            let is_image_source = element == "img" && attribute == "src";
            if is_image_source && !value.trim_start().to_ascii_lowercase().starts_with("cid:") {
                None
            } else {
                Some(value.into())
            }
        });
    builder
});

/// Sanitizes an HTML body for display to agents.
pub fn sanitize_html(html: &str) -> String {
    SANITIZER.clean(html).to_string()
}

fn body_html_of(message: &Message<'_>) -> Option<String> {
    let mut pieces: Vec<String> = Vec::new();
    for &id in &message.html_body {
        let Some(part) = message.parts.get(id as usize) else {
            continue;
        };
        if let PartType::Html(html) = &part.body {
            if html.len() > MAX_HTML_TO_TEXT_BYTES || !html_is_tame(html) {
                // Too big or too deeply nested to sanitize in predictable
                // time; the agent still gets the text version.
                tracing::warn!(
                    bytes = html.len(),
                    "HTML body not kept: too large or too deeply nested"
                );
                continue;
            }
            let clean = sanitize_html(&clean_body_text(html));
            if !clean.trim().is_empty() {
                pieces.push(clean);
            }
        }
    }
    (!pieces.is_empty()).then(|| pieces.join("\n<hr>\n"))
}

fn signals_of(
    message: &Message<'_>,
    sender: &EmailAddress,
    report_type: Option<String>,
    ctx: &ParseContext,
) -> AutomaticSignals {
    let return_path = header_text(message, "Return-Path");
    let null_return_path = return_path.is_some_and(|rp| {
        let inner: String = rp.chars().filter(|c| !c.is_whitespace()).collect();
        inner == "<>" || inner.is_empty()
    });
    let mut auto_reply_headers = Vec::new();
    for name in ["X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress"] {
        let meaningful = header_token(message, name)
            .is_some_and(|v| !matches!(v.as_str(), "no" | "none" | "false" | "0"));
        if meaningful {
            auto_reply_headers.push(name);
        }
    }
    AutomaticSignals {
        auto_submitted: header_token(message, "Auto-Submitted"),
        precedence: header_token(message, "Precedence"),
        has_list_id: header_text(message, "List-Id").is_some_and(|v| !v.is_empty()),
        has_list_unsubscribe: header_text(message, "List-Unsubscribe")
            .is_some_and(|v| !v.is_empty()),
        null_return_path,
        sender_local_part: Some(sender.local_part().to_owned()),
        auto_reply_headers,
        report_type,
        from_city_address: ctx.city_addresses.contains(sender),
    }
}

/// Message-ids of a header, in order (`In-Reply-To`, `References`).
fn ids_of(value: &HeaderValue<'_>) -> Vec<String> {
    match value {
        HeaderValue::Text(text) => vec![text.to_string()],
        HeaderValue::TextList(list) => list.iter().map(ToString::to_string).collect(),
        _ => Vec::new(),
    }
}

/// In-Reply-To, then References from the nearest to the oldest.
fn thread_ids_of(message: &Message<'_>) -> Vec<RfcMessageId> {
    let mut ids: Vec<RfcMessageId> = Vec::new();
    let in_reply_to = ids_of(message.in_reply_to());
    let mut references = ids_of(message.references());
    references.reverse();
    for text in in_reply_to.into_iter().chain(references) {
        if ids.len() >= MAX_THREAD_IDS {
            break;
        }
        if let Ok(id) = RfcMessageId::parse(&text) {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    ids
}

fn attachments_of(
    message: &Message<'_>,
    skip: &HashSet<usize>,
    ctx: &ParseContext,
) -> (Vec<Attachment>, usize) {
    // The parser lists inline images both as body parts and as
    // attachments; only real text bodies are left out here.
    let bodies: HashSet<u32> = message
        .text_body
        .iter()
        .chain(&message.html_body)
        .copied()
        .filter(|&id| {
            message
                .parts
                .get(id as usize)
                .is_some_and(|p| matches!(p.body, PartType::Text(_) | PartType::Html(_)))
        })
        .collect();
    let mut attachments = Vec::new();
    let mut dropped = 0usize;
    for &id in &message.attachments {
        if bodies.contains(&id) || skip.contains(&(id as usize)) {
            continue;
        }
        let Some(part) = message.parts.get(id as usize) else {
            continue;
        };
        if attachments.len() >= MAX_ATTACHMENTS {
            dropped += 1;
            continue;
        }
        attachments.push(attachment_of(part, ctx.max_attachment_bytes));
    }
    if dropped > 0 {
        tracing::warn!(dropped, "Email has more attachments than are recorded");
    }
    (attachments, dropped)
}

fn attachment_of(part: &MessagePart<'_>, max_bytes: u64) -> Attachment {
    let bytes: &[u8] = match &part.body {
        PartType::Message(inner) => inner.raw_message.as_ref(),
        _ => part.contents(),
    };
    let size = bytes.len() as u64;
    let filename = part
        .attachment_name()
        .map(sanitize_filename)
        .filter(|n| !n.is_empty());
    let content = if size > max_bytes {
        AttachmentContent::Refused {
            reason: format!("attachment of {size} bytes exceeds the limit of {max_bytes} bytes"),
        }
    } else {
        AttachmentContent::Inline {
            bytes: bytes.to_vec(),
        }
    };
    Attachment {
        filename,
        content_type: content_type_of(part),
        size_bytes: Some(size),
        sha256: Some(sha256_hex(bytes)),
        content,
    }
}

/// A file name safe to show and to store: decoded, without directories,
/// control characters or surrounding dots and spaces, and of bounded length.
pub fn sanitize_filename(name: &str) -> String {
    let cleaned = clean_header_text(name);
    let last = cleaned
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .trim_matches(|c: char| c == '.' || c.is_whitespace());
    last.chars().take(MAX_FILENAME_CHARS).collect()
}

fn bounce_report_of(message: &Message<'_>) -> BounceReport {
    let mut report = BounceReport::default();
    for part in &message.parts {
        let content_type = content_type_of(part);
        match content_type.as_str() {
            "message/delivery-status" | "message/global-delivery-status" => {
                read_delivery_status(&String::from_utf8_lossy(part.contents()), &mut report);
            }
            "text/rfc822-headers" | "message/global-headers"
                if report.original_message_id.is_none() =>
            {
                if let Some(headers) = MessageParser::new().parse_headers(part.contents()) {
                    read_original(&headers, &mut report);
                }
            }
            _ => {
                if let PartType::Message(inner) = &part.body {
                    if report.original_message_id.is_none() {
                        read_original(inner, &mut report);
                    }
                }
            }
        }
    }
    report
}

fn read_original(original: &Message<'_>, report: &mut BounceReport) {
    report.original_message_id = original
        .message_id()
        .and_then(|id| RfcMessageId::parse(id).ok());
    report.original_subject = original
        .subject()
        .map(clean_header_text)
        .filter(|s| !s.is_empty());
}

/// Reads the fields of a `message/delivery-status` body: one per-message
/// block, then one block per recipient, separated by blank lines, with
/// folded continuation lines.
fn read_delivery_status(text: &str, report: &mut BounceReport) {
    let normalised = text.replace("\r\n", "\n");
    let mut first_block = true;
    for block in normalised.split("\n\n") {
        let fields = unfold_fields(block);
        if fields.is_empty() {
            continue;
        }
        let get = |name: &str| {
            fields
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        if first_block && get("Final-Recipient").is_none() {
            report.reporting_mta = get("Reporting-MTA").map(|v| without_type(&v));
            first_block = false;
            continue;
        }
        first_block = false;
        if report.recipients.len() >= MAX_BOUNCE_RECIPIENTS {
            break;
        }
        let final_recipient = get("Final-Recipient")
            .or_else(|| get("Original-Recipient"))
            .map(|v| without_type(&v));
        let action = get("Action").map(|v| v.to_ascii_lowercase());
        let status =
            get("Status").map(|v| v.split_whitespace().next().unwrap_or_default().to_owned());
        let severity = severity_of(status.as_deref(), action.as_deref());
        report.recipients.push(BounceRecipient {
            address: final_recipient
                .as_deref()
                .and_then(|r| EmailAddress::parse(r.trim_matches(['<', '>'])).ok()),
            final_recipient,
            action,
            status,
            diagnostic_code: get("Diagnostic-Code"),
            severity,
        });
    }
}

fn unfold_fields(block: &str) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in block.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = fields.last_mut() {
                if value.chars().count() < MAX_BOUNCE_FIELD_CHARS {
                    value.push(' ');
                    value.push_str(line.trim());
                }
            }
            continue;
        }
        if let Some((name, value)) = line.split_once(':') {
            let name = name.trim();
            if !name.is_empty() && !name.contains(char::is_whitespace) {
                let value: String = value.trim().chars().take(MAX_BOUNCE_FIELD_CHARS).collect();
                fields.push((name.to_owned(), value));
            }
        }
    }
    fields
}

/// `rfc822; user@example.com` → `user@example.com`.
fn without_type(value: &str) -> String {
    value
        .split_once(';')
        .map_or(value, |(_, rest)| rest)
        .trim()
        .to_owned()
}

fn severity_of(status: Option<&str>, action: Option<&str>) -> BounceSeverity {
    match status.and_then(|s| s.chars().next()) {
        Some('5') => return BounceSeverity::Permanent,
        Some('4') => return BounceSeverity::Transient,
        Some('2') => return BounceSeverity::Delivered,
        _ => {}
    }
    match action {
        Some("failed") => BounceSeverity::Permanent,
        Some("delayed") => BounceSeverity::Transient,
        Some("delivered" | "relayed" | "expanded") => BounceSeverity::Delivered,
        _ => BounceSeverity::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use chrono::TimeZone;
    use proptest::prelude::*;

    use super::*;

    /// Generous bound for one hostile message in an unoptimised test build
    /// on a shared two-core machine; real parses take milliseconds.
    const HOSTILE_PARSE_BUDGET: Duration = Duration::from_secs(20);

    fn ctx() -> ParseContext {
        ParseContext {
            reference_prefix: ReferencePrefix::parse("SJ").unwrap(),
            city_addresses: vec![EmailAddress::parse("clientele@saintejulie.ca").unwrap()],
            max_attachment_bytes: 15 * 1024 * 1024,
            fallback_received_at: Utc.with_ymd_and_hms(2026, 1, 20, 12, 0, 0).unwrap(),
        }
    }

    fn crlf(text: &str) -> Vec<u8> {
        text.replace('\n', "\r\n").into_bytes()
    }

    #[test]
    fn zero_bytes_and_blank_input_are_empty() {
        // Arrange / Act / Assert
        assert_eq!(parse_email(b"", &ctx()), Err(EmailParseError::Empty));
        assert_eq!(
            parse_email(b" \r\n\r\n", &ctx()),
            Err(EmailParseError::Empty)
        );
    }

    #[test]
    fn a_multipart_cut_before_its_closing_delimiter_keeps_its_text() {
        // Arrange: the last delimiter is truncated to `--zz-`.
        let raw = crlf(
            "From: <a@example.test>\nSubject: html\nMIME-Version: 1.0\n\
             Content-Type: multipart/alternative; boundary=\"zz\"\n\n--zz\n\
             Content-Type: text/html\n\n<p>Bonjour</p><script>alert(1)</script>\n--zz-",
        );

        // Act
        let parsed = parse_email(&raw, &ctx()).unwrap();

        // Assert
        assert_eq!(parsed.message.body_text, "Bonjour");
        assert!(!parsed
            .message
            .body_html
            .unwrap_or_default()
            .contains("script"));
    }

    #[test]
    fn a_message_without_any_sender_is_refused() {
        // Arrange
        let raw = crlf("Subject: hello\nTo: clientele@saintejulie.ca\n\nbody\n");

        // Act
        let result = parse_email(&raw, &ctx());

        // Assert
        assert_eq!(result, Err(EmailParseError::MissingSender));
    }

    #[test]
    fn missing_from_falls_back_to_the_return_path() {
        // Arrange
        let raw = crlf("Return-Path: <Citoyen@Example.net>\nSubject: x\n\nbody\n");

        // Act
        let parsed = parse_email(&raw, &ctx()).unwrap();

        // Assert
        assert_eq!(parsed.message.sender.key(), "citoyen@example.net");
    }

    #[test]
    fn missing_message_id_and_date_get_stable_defaults() {
        // Arrange
        let raw = crlf("From: a@example.net\nSubject: x\n\nbody\n");

        // Act
        let first = parse_email(&raw, &ctx()).unwrap();
        let second = parse_email(&raw, &ctx()).unwrap();

        // Assert
        let id = first.message.external_id.as_ref();
        assert!(id.starts_with("sha256:"), "{id}");
        assert_eq!(id.len(), "sha256:".len() + 64);
        assert_eq!(first.message.external_id, second.message.external_id);
        assert!(first.message.hints.rfc_message_id.is_none());
        assert_eq!(first.message.received_at, ctx().fallback_received_at);
    }

    #[test]
    fn dates_far_in_the_future_or_past_are_not_trusted() {
        for date in [
            "Mon, 1 Jan 2035 10:00:00 +0000",
            "Thu, 1 Jan 1970 00:00:00 +0000",
            "garbage",
        ] {
            // Arrange
            let raw = crlf(&format!("From: a@example.net\nDate: {date}\n\nbody\n"));

            // Act
            let parsed = parse_email(&raw, &ctx()).unwrap();

            // Assert
            assert_eq!(
                parsed.message.received_at,
                ctx().fallback_received_at,
                "date {date}"
            );
        }
    }

    #[test]
    fn raw_eight_bit_headers_do_not_break_parsing() {
        // Arrange: a Latin-1 é and a Windows-1252 dash written raw in headers.
        let mut raw =
            b"From: R\xe9jean <r@example.net>\r\nSubject: Bac bris\xe9 \x96 rue\r\n\r\nBonjour\r\n"
                .to_vec();
        raw.extend_from_slice(b"\r\n");

        // Act
        let parsed = parse_email(&raw, &ctx()).unwrap();

        // Assert
        let subject = parsed.message.subject.unwrap();
        assert!(subject.starts_with("Bac bris"), "{subject}");
        assert!(
            !subject.chars().any(|c| ('\u{80}'..='\u{9f}').contains(&c)),
            "{subject:?}"
        );
        assert_eq!(parsed.message.sender.key(), "r@example.net");
    }

    #[test]
    fn an_unknown_charset_still_yields_the_ascii_text() {
        // Arrange
        let raw = crlf(
            "From: a@example.net\nSubject: =?x-klingon?Q?Qapla=27?=\nContent-Type: text/plain; charset=x-klingon\n\nnid-de-poule rue Principale\n",
        );

        // Act
        let parsed = parse_email(&raw, &ctx()).unwrap();

        // Assert
        assert!(parsed
            .message
            .body_text
            .contains("nid-de-poule rue Principale"));
        assert!(parsed.message.subject.is_some());
    }

    #[test]
    fn multi_byte_asian_charsets_are_decoded() {
        // Arrange: a GB2312 subject and a Big5 body.
        let mut raw = crlf(
            "From: a@example.net\nSubject: =?gb2312?B?xOO6ww==?=\nContent-Type: text/plain; charset=big5\n\n",
        );
        raw.extend_from_slice(b"\xa7A\xa6n\xa1A\xa5@\xac\xc9\r\n");

        // Act
        let parsed = parse_email(&raw, &ctx()).unwrap();

        // Assert
        assert_eq!(parsed.message.subject.as_deref(), Some("你好"));
        assert_eq!(parsed.message.body_text, "你好，世界");
    }

    #[test]
    fn malformed_mime_is_taken_in_with_what_can_be_read() {
        let cases = [
            "From: a@example.net\nContent-Type: multipart/mixed; boundary=\"b\"\n\n--b\nContent-Type: text/plain\n\nvisible text\n--b\nContent-Type: image/png\nContent-Transfer-Encoding: base64\n\n!!!not base64!!!\n",
            "From: a@example.net\nContent-Type: multipart/mixed\n\n--b\n\nvisible text\n",
            "From: a@example.net\nContent-Type: text/plain; charset=\nContent-Transfer-Encoding: x-unknown\n\nvisible text\n",
            "From: a@example.net\nContent-Type: multipart/alternative; boundary=\"\"\n\nvisible text\n",
        ];
        for case in cases {
            // Arrange
            let raw = crlf(case);

            // Act
            let parsed = parse_email(&raw, &ctx());

            // Assert
            let parsed = parsed.unwrap_or_else(|e| panic!("case {case:?}: {e}"));
            assert_eq!(
                parsed.message.sender.key(),
                "a@example.net",
                "case {case:?}"
            );
        }
    }

    #[test]
    fn an_oversized_attachment_is_refused_but_the_message_is_kept() {
        // Arrange: a 30 MB attachment against the 15 MiB limit.
        let payload = vec![b'A'; 30 * 1024 * 1024 / 4 * 3];
        let mut raw = crlf("From: a@example.net\nSubject: photos\nContent-Type: multipart/mixed; boundary=\"b\"\n\n--b\nContent-Type: text/plain\n\nVoici les photos.\n--b\nContent-Type: image/jpeg; name=\"grosse.jpg\"\nContent-Transfer-Encoding: base64\n\n");
        let encoded = base64_lines(&payload);
        raw.extend_from_slice(encoded.as_bytes());
        raw.extend_from_slice(b"\r\n--b--\r\n");
        let started = Instant::now();

        // Act
        let parsed = parse_email(&raw, &ctx()).unwrap();

        // Assert
        assert!(
            started.elapsed() < HOSTILE_PARSE_BUDGET,
            "{:?}",
            started.elapsed()
        );
        assert_eq!(parsed.message.new_text, "Voici les photos.");
        assert_eq!(parsed.message.attachments.len(), 1);
        let attachment = &parsed.message.attachments[0];
        assert_eq!(attachment.size_bytes, Some(payload.len() as u64));
        assert_eq!(attachment.filename.as_deref(), Some("grosse.jpg"));
        assert!(
            matches!(&attachment.content, AttachmentContent::Refused { reason } if reason.contains("exceeds")),
            "{:?}",
            attachment.content
        );
        assert_eq!(
            attachment.sha256.as_deref(),
            Some(sha256_hex(&payload).as_str())
        );
    }

    fn base64_lines(bytes: &[u8]) -> String {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::with_capacity(bytes.len() / 3 * 4 + bytes.len() / 57 * 2 + 8);
        for (index, chunk) in bytes.chunks(3).enumerate() {
            if index > 0 && index % 19 == 0 {
                out.push_str("\r\n");
            }
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    #[test]
    fn thousands_of_parts_are_parsed_in_bounded_time_and_capped() {
        // Arrange
        let mut text = String::from("From: a@example.net\nContent-Type: multipart/mixed; boundary=\"b\"\n\n--b\nContent-Type: text/plain\n\nbonjour\n");
        for i in 0..5000 {
            text.push_str(&format!(
                "--b\nContent-Type: application/octet-stream; name=\"f{i}.bin\"\nContent-Disposition: attachment\n\nx{i}\n"
            ));
        }
        text.push_str("--b--\n");
        let raw = crlf(&text);
        let started = Instant::now();

        // Act
        let parsed = parse_email(&raw, &ctx()).unwrap();

        // Assert
        assert!(
            started.elapsed() < HOSTILE_PARSE_BUDGET,
            "{:?}",
            started.elapsed()
        );
        assert_eq!(parsed.message.attachments.len(), MAX_ATTACHMENTS);
        assert_eq!(parsed.dropped_attachments, 5000 - MAX_ATTACHMENTS);
        assert_eq!(parsed.message.body_text, "bonjour");
    }

    #[test]
    fn deeply_nested_multiparts_neither_overflow_nor_hang() {
        // Arrange
        let depth = 20_000;
        let mut text = String::from("From: a@example.net\nSubject: nested\n");
        for level in 0..depth {
            text.push_str(&format!(
                "Content-Type: multipart/mixed; boundary=\"l{level}\"\n\n--l{level}\n"
            ));
        }
        text.push_str("Content-Type: text/plain\n\nau fond\n");
        for level in (0..depth).rev() {
            text.push_str(&format!("--l{level}--\n"));
        }
        let raw = crlf(&text);
        let started = Instant::now();

        // Act
        let parsed = parse_email(&raw, &ctx());

        // Assert
        assert!(
            started.elapsed() < HOSTILE_PARSE_BUDGET,
            "{:?}",
            started.elapsed()
        );
        let parsed = parsed.unwrap();
        assert_eq!(parsed.message.sender.key(), "a@example.net");
    }

    #[test]
    fn deeply_nested_attached_messages_neither_overflow_nor_hang() {
        // Arrange
        let depth = 2_000;
        let mut text = String::new();
        for _ in 0..depth {
            text.push_str("From: a@example.net\nContent-Type: message/rfc822\n\n");
        }
        text.push_str("From: a@example.net\n\nau fond\n");
        let raw = crlf(&text);
        let started = Instant::now();

        // Act
        let parsed = parse_email(&raw, &ctx());

        // Assert
        assert!(
            started.elapsed() < HOSTILE_PARSE_BUDGET,
            "{:?}",
            started.elapsed()
        );
        assert!(parsed.is_ok(), "{parsed:?}");
    }

    #[test]
    fn html_with_scripts_handlers_and_remote_images_is_neutralised() {
        // Arrange
        let raw = crlf(
            "From: a@example.net\nContent-Type: text/html; charset=utf-8\n\n\
             <html><body onload=\"steal()\"><script>alert(1)</script>\
             <p onclick=\"evil()\" style=\"background:url(https://tracker.example.com/bg)\">Bonjour</p>\
             <img src=\"https://tracker.example.com/pixel.gif\" alt=\"pixel\">\
             <img src=\"cid:photo1@example.net\" alt=\"photo\">\
             <a href=\"javascript:alert(2)\">lien</a><a href=\"https://ville.example.org/\">site</a>\
             <iframe src=\"https://evil.example.com\"></iframe></body></html>\n",
        );

        // Act
        let parsed = parse_email(&raw, &ctx()).unwrap();

        // Assert
        let html = parsed.message.body_html.unwrap();
        for forbidden in [
            "<script",
            "alert(1)",
            "onload",
            "onclick",
            "style=",
            "tracker.example.com",
            "javascript:",
            "<iframe",
        ] {
            assert!(
                !html.contains(forbidden),
                "sanitized HTML keeps {forbidden:?}: {html}"
            );
        }
        assert!(html.contains("cid:photo1@example.net"), "{html}");
        assert!(html.contains("https://ville.example.org/"), "{html}");
        assert!(html.contains("noopener"), "{html}");
        assert_eq!(parsed.message.body_text, "Bonjour\nliensite");
    }

    #[test]
    fn deeply_nested_html_is_sanitized_without_overflowing_the_stack() {
        // Arrange
        let html = format!(
            "{}profond{}",
            "<div><b>".repeat(50_000),
            "</b></div>".repeat(50_000)
        );
        let raw = crlf(&format!(
            "From: a@example.net\nContent-Type: text/html; charset=utf-8\n\n{html}\n"
        ));
        let started = Instant::now();

        // Act
        let parsed = parse_email(&raw, &ctx()).unwrap();

        // Assert
        assert!(
            started.elapsed() < HOSTILE_PARSE_BUDGET,
            "{:?}",
            started.elapsed()
        );
        assert_eq!(parsed.message.body_text, "profond");
        assert_eq!(
            parsed.message.body_html, None,
            "too deep to sanitize safely"
        );
    }

    #[test]
    fn html_at_the_nesting_limit_is_still_sanitized_quickly() {
        // Arrange
        let levels = crate::email::text::MAX_HTML_NESTING / 2;
        let html = format!(
            "{}ok{}",
            "<div><b>".repeat(levels),
            "</b></div>".repeat(levels)
        );
        let raw = crlf(&format!(
            "From: a@example.net\nContent-Type: text/html; charset=utf-8\n\n{html}\n"
        ));
        let started = Instant::now();

        // Act
        let parsed = parse_email(&raw, &ctx()).unwrap();

        // Assert
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        assert!(parsed.message.body_html.unwrap().contains("ok"));
    }

    #[test]
    fn file_names_lose_directories_and_control_characters() {
        // Arrange / Act / Assert
        assert_eq!(sanitize_filename("../../etc/passwd"), "passwd");
        assert_eq!(sanitize_filename("C:\\Users\\x\\photo.jpg"), "photo.jpg");
        assert_eq!(sanitize_filename("a\u{0}b\r\nc.txt"), "a b c.txt");
        assert_eq!(sanitize_filename(" .. "), "");
        assert_eq!(
            sanitize_filename(&"x".repeat(500)).chars().count(),
            MAX_FILENAME_CHARS
        );
    }

    #[test]
    fn delivery_status_with_several_recipients_and_transient_failures_is_read() {
        // Arrange
        let text = "Reporting-MTA: dns; mx.example.net\n\nFinal-Recipient: rfc822; a@example.com\nAction: delayed\nStatus: 4.4.1\n\nFinal-Recipient: rfc822;b@example.com\nAction: failed\nDiagnostic-Code: smtp; 550 no\n such user\n";
        let mut report = BounceReport::default();

        // Act
        read_delivery_status(text, &mut report);

        // Assert
        assert_eq!(report.reporting_mta.as_deref(), Some("mx.example.net"));
        assert_eq!(report.recipients.len(), 2);
        assert_eq!(report.recipients[0].severity, BounceSeverity::Transient);
        assert_eq!(report.recipients[1].severity, BounceSeverity::Permanent);
        assert_eq!(report.recipients[1].status, None);
        assert_eq!(
            report.recipients[1].diagnostic_code.as_deref(),
            Some("smtp; 550 no such user")
        );
        assert!(report.is_permanent());
    }

    #[test]
    fn a_message_from_the_city_itself_is_never_acknowledged() {
        // Arrange
        let raw = crlf("From: Clientele@SainteJulie.ca\nSubject: test\nMessage-ID: <x@saintejulie.ca>\n\nbonjour\n");

        // Act
        let parsed = parse_email(&raw, &ctx()).unwrap();

        // Assert
        assert_eq!(parsed.message.kind, MessageKind::AutoReply);
        assert_eq!(
            parsed.automatic_reasons,
            vec![AutomaticReason::FromCityAddress]
        );
        assert!(!parsed.should_acknowledge());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn arbitrary_bytes_never_make_the_parser_fail_internally(raw in proptest::collection::vec(any::<u8>(), 0..4096)) {
            let result = parse_email(&raw, &ctx());
            prop_assert_ne!(result.err(), Some(EmailParseError::ParserFailed));
        }

        #[test]
        fn header_like_input_never_makes_the_parser_fail_internally(
            headers in proptest::collection::vec(("(From|To|Subject|Content-Type|Content-Transfer-Encoding|Date|Message-ID|References|Auto-Submitted|List-Id)", "[ -~\u{e9}\u{2019}]{0,60}"), 0..12),
            body in "[ -~\r\n=?]{0,400}",
        ) {
            let mut text = String::new();
            for (name, value) in headers {
                text.push_str(&format!("{name}: {value}\r\n"));
            }
            text.push_str("\r\n");
            text.push_str(&body);
            let result = parse_email(text.as_bytes(), &ctx());
            prop_assert_ne!(result.err(), Some(EmailParseError::ParserFailed));
        }
    }
}
