//! Row structs shared by both backends. Both schemas decode to the same Rust
//! types (UUID text, `DateTime<Utc>` from SQLite text or PostgreSQL
//! timestamptz, `bool` from SQLite integers or PostgreSQL booleans, `i64`),
//! so one set of rows serves both; every value is parsed back into its domain
//! type here, and a corrupt row becomes a clear [`StoreError`]. The other
//! way, [`Text`] binds ids and reference numbers as the text their columns
//! hold.

use chrono::{DateTime, Utc};
use models::{
    Channel, ChannelIdentity, ContactId, Language, MessageId, OutboundKind, OutboxId, OutboxState,
    ReferenceNumber, RfcMessageId, ThreadId, ThreadStatus, Topic,
};

use super::{
    ClassifyJob, Direction, MessageRecord, OutboxJob, OutboxPayload, OutboxRecord, StoreError,
    StoredAttachment, ThreadCategory, ThreadRecord, ThreadSummary,
};

pub(super) fn parse_channel(text: &str) -> Result<Channel, StoreError> {
    Channel::parse(text).map_err(|e| StoreError::corrupt("channel", e))
}

pub(super) fn parse_language(text: &str) -> Result<Language, StoreError> {
    Language::from_code(text).ok_or_else(|| StoreError::corrupt("language", text))
}

pub(super) fn parse_reference(text: Option<String>) -> Result<Option<ReferenceNumber>, StoreError> {
    text.map(|t| ReferenceNumber::parse(&t).map_err(|e| StoreError::corrupt("reference", e)))
        .transpose()
}

pub(super) fn parse_status(text: &str) -> Result<ThreadStatus, StoreError> {
    ThreadStatus::parse(text).ok_or_else(|| StoreError::corrupt("thread status", text))
}

pub(super) fn to_u32(value: i64, what: &str) -> Result<u32, StoreError> {
    u32::try_from(value).map_err(|e| StoreError::corrupt(what, e))
}

#[derive(sqlx::FromRow)]
pub(super) struct ThreadSummaryRow {
    pub id: String,
    pub contact_id: String,
    pub reference: Option<String>,
    pub status: String,
    pub channel: String,
}

impl TryFrom<ThreadSummaryRow> for ThreadSummary {
    type Error = StoreError;
    fn try_from(row: ThreadSummaryRow) -> Result<Self, Self::Error> {
        Ok(ThreadSummary {
            id: ThreadId::parse(&row.id).map_err(|e| StoreError::corrupt("thread id", e))?,
            contact_id: ContactId::parse(&row.contact_id)
                .map_err(|e| StoreError::corrupt("contact id", e))?,
            reference: parse_reference(row.reference)?,
            status: parse_status(&row.status)?,
            channel: parse_channel(&row.channel)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct ThreadRow {
    pub id: String,
    pub reference: Option<String>,
    pub contact_id: String,
    pub channel: String,
    pub category: String,
    pub subject: Option<String>,
    pub status: String,
    pub topic: Option<String>,
    pub department: Option<String>,
    pub flagged: bool,
    pub language: String,
    pub created_at: DateTime<Utc>,
    pub last_message_at: DateTime<Utc>,
    pub last_citizen_message_at: Option<DateTime<Utc>>,
    pub assignee_id: Option<String>,
    pub due_at: Option<DateTime<Utc>>,
    pub version: i64,
}

impl TryFrom<ThreadRow> for ThreadRecord {
    type Error = StoreError;
    fn try_from(row: ThreadRow) -> Result<Self, Self::Error> {
        Ok(ThreadRecord {
            id: ThreadId::parse(&row.id).map_err(|e| StoreError::corrupt("thread id", e))?,
            reference: parse_reference(row.reference)?,
            contact_id: ContactId::parse(&row.contact_id)
                .map_err(|e| StoreError::corrupt("contact id", e))?,
            channel: parse_channel(&row.channel)?,
            category: ThreadCategory::parse(&row.category)
                .ok_or_else(|| StoreError::corrupt("thread category", &row.category))?,
            subject: row.subject,
            status: parse_status(&row.status)?,
            topic: row
                .topic
                .map(|t| Topic::parse(&t).ok_or_else(|| StoreError::corrupt("topic", t)))
                .transpose()?,
            department: row.department,
            flagged: row.flagged,
            language: parse_language(&row.language)?,
            created_at: row.created_at,
            last_message_at: row.last_message_at,
            last_citizen_message_at: row.last_citizen_message_at,
            assignee_id: row.assignee_id,
            due_at: row.due_at,
            version: row.version,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct MessageRow {
    pub id: String,
    pub thread_id: String,
    pub direction: String,
    pub channel: String,
    pub kind: String,
    pub sender_name: Option<String>,
    pub subject: Option<String>,
    pub body_text: String,
    pub new_text: String,
    pub language: String,
    pub received_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

impl TryFrom<MessageRow> for MessageRecord {
    type Error = StoreError;
    fn try_from(row: MessageRow) -> Result<Self, Self::Error> {
        let direction = match row.direction.as_str() {
            "inbound" => Direction::Inbound,
            "outbound" => Direction::Outbound,
            other => return Err(StoreError::corrupt("message direction", other)),
        };
        let (kind, outbound_kind) = match direction {
            Direction::Inbound => (
                Some(
                    models::MessageKind::parse(&row.kind)
                        .ok_or_else(|| StoreError::corrupt("message kind", &row.kind))?,
                ),
                None,
            ),
            Direction::Outbound => (
                None,
                Some(
                    OutboundKind::parse(&row.kind)
                        .ok_or_else(|| StoreError::corrupt("outbound kind", &row.kind))?,
                ),
            ),
        };
        Ok(MessageRecord {
            id: MessageId::parse(&row.id).map_err(|e| StoreError::corrupt("message id", e))?,
            thread_id: ThreadId::parse(&row.thread_id)
                .map_err(|e| StoreError::corrupt("thread id", e))?,
            direction,
            channel: parse_channel(&row.channel)?,
            kind,
            outbound_kind,
            sender_name: row.sender_name,
            subject: row.subject,
            body_text: row.body_text,
            new_text: row.new_text,
            language: parse_language(&row.language)?,
            received_at: row.received_at,
            deleted_at: row.deleted_at,
            attachments: Vec::new(),
            classification: None,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct AttachmentRow {
    pub id: String,
    pub message_id: String,
    pub filename: Option<String>,
    pub content_type: String,
    pub size_bytes: Option<i64>,
    pub sha256: Option<String>,
    pub state: String,
    pub url: Option<String>,
    pub refused_reason: Option<String>,
}

impl AttachmentRow {
    pub(super) fn into_attachment(self) -> Result<(String, StoredAttachment), StoreError> {
        let content = match self.state.as_str() {
            "stored" => models::AttachmentContent::Inline { bytes: Vec::new() },
            "remote" => models::AttachmentContent::Remote {
                url: self.url.unwrap_or_default(),
            },
            "refused" => models::AttachmentContent::Refused {
                reason: self.refused_reason.unwrap_or_default(),
            },
            other => return Err(StoreError::corrupt("attachment state", other)),
        };
        let size_bytes = self
            .size_bytes
            .map(|s| u64::try_from(s).map_err(|e| StoreError::corrupt("attachment size", e)))
            .transpose()?;
        Ok((
            self.message_id,
            StoredAttachment {
                id: self.id,
                attachment: models::Attachment {
                    filename: self.filename,
                    content_type: self.content_type,
                    size_bytes,
                    sha256: self.sha256,
                    content,
                },
            },
        ))
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct ClassificationRow {
    pub message_id: String,
    pub topic: Option<String>,
    pub topic_score: Option<f64>,
    pub topic_abstain: Option<String>,
    pub abuse_verdict: String,
    pub abuse_kind: Option<String>,
    pub abuse_score: f64,
    pub reasons: String,
    pub model_version: String,
}

impl ClassificationRow {
    #[allow(clippy::cast_possible_truncation)] // Scores are probabilities in 0..=1.
    pub(super) fn into_classification(
        self,
    ) -> Result<(String, models::Classification), StoreError> {
        use models::{AbuseKind, AbuseVerdict, TopicVerdict};
        let topic = match self.topic {
            Some(t) => TopicVerdict::Label {
                topic: Topic::parse(&t).ok_or_else(|| StoreError::corrupt("topic", &t))?,
                score: self.topic_score.unwrap_or(0.0) as f32,
            },
            None => TopicVerdict::Abstain {
                reason: self.topic_abstain.unwrap_or_default(),
            },
        };
        let reasons: Vec<String> =
            serde_json::from_str(&self.reasons).map_err(|e| StoreError::corrupt("reasons", e))?;
        let kind = self
            .abuse_kind
            .map(|k| AbuseKind::parse(&k).ok_or_else(|| StoreError::corrupt("abuse kind", k)))
            .transpose()?;
        let score = self.abuse_score as f32;
        let abuse = match (self.abuse_verdict.as_str(), kind) {
            ("clean", _) => AbuseVerdict::Clean { score },
            ("to_verify", kind) => AbuseVerdict::ToVerify {
                kind,
                score,
                reasons,
            },
            ("abusive", Some(kind)) => AbuseVerdict::Abusive {
                kind,
                score,
                reasons,
            },
            (other, _) => return Err(StoreError::corrupt("abuse verdict", other)),
        };
        Ok((
            self.message_id,
            models::Classification {
                topic,
                abuse,
                model_version: self.model_version,
            },
        ))
    }
}

/// The columns of a classification, ready to bind.
pub(super) struct ClassificationColumns {
    pub topic: Option<&'static str>,
    pub topic_score: Option<f64>,
    pub topic_abstain: Option<String>,
    pub abuse_verdict: &'static str,
    pub abuse_kind: Option<&'static str>,
    pub abuse_score: f64,
    pub reasons: String,
    pub flagged: bool,
}

impl ClassificationColumns {
    pub(super) fn from_classification(c: &models::Classification) -> Self {
        use models::{AbuseVerdict, TopicVerdict};
        let (topic, topic_score, topic_abstain) = match &c.topic {
            TopicVerdict::Label { topic, score } => {
                (Some(topic.as_str()), Some(f64::from(*score)), None)
            }
            TopicVerdict::Abstain { reason } => (None, None, Some(reason.clone())),
        };
        let (abuse_verdict, abuse_kind, reasons) = match &c.abuse {
            AbuseVerdict::Clean { .. } => ("clean", None, Vec::new()),
            AbuseVerdict::ToVerify { kind, reasons, .. } => {
                ("to_verify", kind.map(|k| k.as_str()), reasons.clone())
            }
            AbuseVerdict::Abusive { kind, reasons, .. } => {
                ("abusive", Some(kind.as_str()), reasons.clone())
            }
        };
        Self {
            topic,
            topic_score,
            topic_abstain,
            abuse_verdict,
            abuse_kind,
            abuse_score: f64::from(c.abuse.score()),
            reasons: serde_json::Value::from(reasons).to_string(),
            flagged: c.abuse.needs_review(),
        }
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct ClassifyJobRow {
    pub id: String,
    pub subject: Option<String>,
    pub new_text: String,
    pub language: String,
}

impl TryFrom<ClassifyJobRow> for ClassifyJob {
    type Error = StoreError;
    fn try_from(row: ClassifyJobRow) -> Result<Self, Self::Error> {
        Ok(ClassifyJob {
            message_id: MessageId::parse(&row.id)
                .map_err(|e| StoreError::corrupt("message id", e))?,
            subject: row.subject,
            text: row.new_text,
            language: parse_language(&row.language)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct OutboxJobRow {
    pub id: String,
    pub thread_id: String,
    pub channel: String,
    pub kind: String,
    pub recipient_kind: String,
    pub recipient_key: String,
    pub language: String,
    pub rfc_message_id: Option<String>,
    pub payload: String,
    pub attempts: i64,
    pub max_attempts: i64,
    pub last_citizen_message_at: Option<DateTime<Utc>>,
}

impl TryFrom<OutboxJobRow> for OutboxJob {
    type Error = StoreError;
    fn try_from(row: OutboxJobRow) -> Result<Self, Self::Error> {
        Ok(OutboxJob {
            id: OutboxId::parse(&row.id).map_err(|e| StoreError::corrupt("outbox id", e))?,
            thread_id: ThreadId::parse(&row.thread_id)
                .map_err(|e| StoreError::corrupt("thread id", e))?,
            channel: parse_channel(&row.channel)?,
            kind: OutboundKind::parse(&row.kind)
                .ok_or_else(|| StoreError::corrupt("outbound kind", &row.kind))?,
            recipient: ChannelIdentity::from_parts(&row.recipient_kind, &row.recipient_key)
                .map_err(|e| StoreError::corrupt("recipient", e))?,
            language: parse_language(&row.language)?,
            rfc_message_id: row
                .rfc_message_id
                .map(|m| RfcMessageId::parse(&m).map_err(|e| StoreError::corrupt("Message-ID", e)))
                .transpose()?,
            payload: serde_json::from_str::<OutboxPayload>(&row.payload)
                .map_err(|e| StoreError::corrupt("outbox payload", e))?,
            attempt: to_u32(row.attempts, "attempts")?,
            max_attempts: to_u32(row.max_attempts, "max attempts")?,
            last_citizen_message_at: row.last_citizen_message_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct OutboxRecordRow {
    pub id: String,
    pub thread_id: String,
    pub channel: String,
    pub kind: String,
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub provider_message_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub sent_message_id: Option<String>,
}

impl TryFrom<OutboxRecordRow> for OutboxRecord {
    type Error = StoreError;
    fn try_from(row: OutboxRecordRow) -> Result<Self, Self::Error> {
        Ok(OutboxRecord {
            id: OutboxId::parse(&row.id).map_err(|e| StoreError::corrupt("outbox id", e))?,
            thread_id: ThreadId::parse(&row.thread_id)
                .map_err(|e| StoreError::corrupt("thread id", e))?,
            channel: parse_channel(&row.channel)?,
            kind: OutboundKind::parse(&row.kind)
                .ok_or_else(|| StoreError::corrupt("outbound kind", &row.kind))?,
            state: OutboxState::parse(&row.state)
                .ok_or_else(|| StoreError::corrupt("outbox state", &row.state))?,
            attempts: to_u32(row.attempts, "attempts")?,
            last_error: row.last_error,
            provider_message_id: row.provider_message_id,
            created_at: row.created_at,
            sent_at: row.sent_at,
            sent_message_id: row
                .sent_message_id
                .map(|id| MessageId::parse(&id).map_err(|e| StoreError::corrupt("message id", e)))
                .transpose()?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct ThreadListRow {
    pub id: String,
    pub reference: Option<String>,
    pub channel: String,
    pub status: String,
    pub topic: Option<String>,
    pub department: Option<String>,
    pub flagged: bool,
    pub assignee_id: Option<String>,
    pub display_name: Option<String>,
    pub subject: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_message_at: DateTime<Utc>,
    pub last_citizen_message_at: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
    pub version: i64,
    pub assignee_name: Option<String>,
    pub preview: Option<String>,
}

impl From<ThreadListRow> for super::workspace::ThreadListItem {
    fn from(row: ThreadListRow) -> Self {
        Self {
            id: row.id,
            reference: row.reference,
            channel: row.channel,
            status: row.status,
            topic: row.topic,
            department: row.department,
            flagged: row.flagged,
            assignee_id: row.assignee_id,
            assignee_name: row.assignee_name,
            preview: row
                .preview
                .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" ")),
            contact_name: row.display_name,
            subject: row.subject,
            created_at: row.created_at,
            last_message_at: row.last_message_at,
            last_citizen_message_at: row.last_citizen_message_at,
            due_at: row.due_at,
            version: row.version,
        }
    }
}

/// A value whose column holds its canonical text on both engines: the id
/// newtypes (hyphenated UUIDs), reference numbers and generated row ids.
pub(super) trait TextColumn: std::fmt::Display {}

impl TextColumn for ThreadId {}
impl TextColumn for ContactId {}
impl TextColumn for MessageId {}
impl TextColumn for OutboxId {}
impl TextColumn for ReferenceNumber {}
impl TextColumn for uuid::Uuid {}
impl<T: TextColumn> TextColumn for &T {}

/// Binds a [`TextColumn`] value as its text: `.bind(Text(id))`. The domain
/// types stay free of sqlx; this is where they meet their columns.
pub(super) struct Text<T>(pub T);

impl<T: TextColumn> sqlx::Type<sqlx::Sqlite> for Text<T> {
    fn type_info() -> sqlx::sqlite::SqliteTypeInfo {
        <String as sqlx::Type<sqlx::Sqlite>>::type_info()
    }
}

impl<'q, T: TextColumn> sqlx::Encode<'q, sqlx::Sqlite> for Text<T> {
    fn encode_by_ref(
        &self,
        buf: &mut Vec<sqlx::sqlite::SqliteArgumentValue<'q>>,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        sqlx::Encode::<sqlx::Sqlite>::encode(self.0.to_string(), buf)
    }
}

impl<T: TextColumn> sqlx::Type<sqlx::Postgres> for Text<T> {
    fn type_info() -> sqlx::postgres::PgTypeInfo {
        <String as sqlx::Type<sqlx::Postgres>>::type_info()
    }
}

impl<T: TextColumn> sqlx::Encode<'_, sqlx::Postgres> for Text<T> {
    fn encode_by_ref(
        &self,
        buf: &mut sqlx::postgres::PgArgumentBuffer,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        sqlx::Encode::<sqlx::Postgres>::encode(self.0.to_string(), buf)
    }
}
