//! Turns a claimed outbox row into the message a connector sends: the
//! acknowledgement from the templates (letter for email, short text for
//! chats), or an agent's text with the thread's subject.

use std::sync::Arc;

use connectors::OutgoingMessage;
use models::calendar::{Calendar, OfficeStatus};
use models::{Channel, OutboundKind};

use crate::store::OutboxJob;
use crate::templates::{AckContext, HoursContext, OfficeContext, TemplateError, Templates};

/// Builds outgoing messages.
#[derive(Debug, Clone)]
pub struct Composer {
    templates: Arc<Templates>,
    calendar: Calendar,
    office: OfficeContext,
}

impl Composer {
    /// A composer over the loaded templates and the office calendar.
    pub fn new(templates: Arc<Templates>, calendar: Calendar, office: OfficeContext) -> Self {
        Self {
            templates,
            calendar,
            office,
        }
    }

    /// What an acknowledgement says for a message received at `job`'s
    /// `received_at`: open or closed then, and when the office reopens.
    pub fn ack_context(&self, job: &OutboxJob) -> AckContext {
        let lang = job.language;
        let at = job.payload.received_at.unwrap_or_else(chrono::Utc::now);
        let status = self.calendar.status_at(at);
        let hours = |h: models::calendar::DayHours| HoursContext {
            opens: self.templates.format_time(lang, h.opens),
            closes: self.templates.format_time(lang, h.closes),
        };
        let (open_now, closes_at, reopens, today_hours, closed_all_day) = match status {
            OfficeStatus::Open { today, closes_at } => (
                true,
                Some(self.templates.format_time(lang, closes_at.time())),
                None,
                Some(hours(today)),
                false,
            ),
            OfficeStatus::Closed {
                today, reopens_at, ..
            } => (
                false,
                None,
                reopens_at.map(|r| self.templates.format_date_time(lang, r)),
                today.map(hours),
                today.is_none(),
            ),
        };
        AckContext {
            reference: job
                .payload
                .reference
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            name: job.payload.recipient_name.clone(),
            subject: job.payload.subject.clone(),
            office: self.office.clone(),
            open_now,
            closes_at,
            reopens,
            today_hours,
            closed_all_day,
        }
    }

    /// The message to send for `job`.
    ///
    /// # Errors
    /// [`TemplateError`] when a template fails to render (checked at startup,
    /// so only an edited override folder can cause it).
    pub fn compose(
        &self,
        job: &OutboxJob,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<OutgoingMessage, TemplateError> {
        let lang = job.language;
        let email = job.channel == Channel::Email;
        let (subject, text, html) = match job.kind {
            OutboundKind::Acknowledgement if job.payload.refusal => {
                let ctx = self.ack_context(job);
                let subject = if email {
                    Some(self.templates.render(lang, "ack_email.subject.txt", &ctx)?)
                } else {
                    None
                };
                (
                    subject,
                    self.templates.render(lang, "ack_refusal.txt", &ctx)?,
                    None,
                )
            }
            OutboundKind::Acknowledgement => {
                let ctx = self.ack_context(job);
                if email {
                    (
                        Some(self.templates.render(lang, "ack_email.subject.txt", &ctx)?),
                        self.templates.render(lang, "ack_email.txt", &ctx)?,
                        Some(self.templates.render(lang, "ack_email.html", &ctx)?),
                    )
                } else {
                    (
                        None,
                        self.templates.render(lang, "ack_chat.txt", &ctx)?,
                        None,
                    )
                }
            }
            OutboundKind::AgentReply | OutboundKind::TransferNotice => {
                let subject = if email {
                    Some(self.templates.render(
                        lang,
                        "reply_email.subject.txt",
                        minijinja::context! {
                            reference => job.payload.reference.as_ref().map(ToString::to_string),
                            subject => job.payload.subject.clone(),
                        },
                    )?)
                } else {
                    None
                };
                (subject, job.payload.body.clone().unwrap_or_default(), None)
            }
        };
        Ok(OutgoingMessage {
            outbox_id: job.id,
            channel: job.channel,
            recipient: job.recipient.clone(),
            recipient_name: job.payload.recipient_name.clone(),
            kind: job.kind,
            language: lang,
            subject: subject.map(|s| s.trim().to_owned()),
            text,
            html,
            reference: job.payload.reference.clone(),
            message_id: job.rfc_message_id.clone(),
            in_reply_to: job.payload.in_reply_to.clone(),
            references: job.payload.in_reply_to.iter().cloned().collect(),
            last_citizen_message_at: job.last_citizen_message_at,
            composed_at: now,
        })
    }
}
