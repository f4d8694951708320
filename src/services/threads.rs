//! What agents and supervisors do to a thread, written once over the
//! store's transaction primitives: each action takes the thread, checks the
//! version the person saw (a stale one is a conflict, never a silent
//! overwrite), writes its change, any message it sends to the citizen (in
//! the outbox) and its audit entry in one transaction.

use chrono::{DateTime, Utc};
use models::staff::User;
use models::{Channel, OutboundKind, ThreadId, ThreadStatus};
use serde_json::json;

use super::{check_text, DomainError, Services};
use crate::store::workspace::NoteKind;
use crate::store::{
    AuditEntry, Direction, MessagePage, MessageRecord, OutboxPayload, OutboxRecord, StoreTx,
    ThreadRecord,
};

/// One entry of a thread's conversation: a stored message (inbound, or
/// outbound as it was sent), or an outbound message not delivered yet with
/// the text it carries.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ConversationEntry {
    /// The message. One not sent yet has its outbox row's id, the time it
    /// was queued as `received_at`, and the text composed as it will go out.
    #[serde(flatten)]
    pub message: MessageRecord,
    /// Outbound only: where its delivery stands.
    pub delivery_state: Option<models::OutboxState>,
    /// Outbound only: why the last attempt failed, if it did.
    pub delivery_error: Option<String>,
    /// Outbound only: its outbox row.
    pub outbox_id: Option<models::OutboxId>,
}

/// A page of the thread's conversation in time order: the page's messages,
/// each outbound one with its delivery state, and, on the newest page
/// (`newest`), every outbound message not delivered yet (queued, waiting for
/// a channel, failed) with the text it carries.
///
/// # Errors
/// When the store fails, or a template cannot render (only an edited
/// override folder can cause it).
pub async fn conversation(
    svc: &Services,
    thread: ThreadId,
    page: MessagePage,
    outbox: &[OutboxRecord],
    newest: bool,
) -> Result<Vec<ConversationEntry>, DomainError> {
    let by_message: std::collections::HashMap<models::MessageId, &OutboxRecord> = outbox
        .iter()
        .filter_map(|o| Some((o.sent_message_id?, o)))
        .collect();
    let mut entries: Vec<ConversationEntry> = page
        .messages
        .into_iter()
        .map(|message| {
            let row = by_message.get(&message.id).copied();
            ConversationEntry {
                delivery_state: (message.direction == Direction::Outbound)
                    .then(|| row.map_or(models::OutboxState::Sent, |o| o.state)),
                delivery_error: row.and_then(|o| o.last_error.clone()),
                outbox_id: row.map(|o| o.id),
                message,
            }
        })
        .collect();
    // Only a row not sent yet needs its payload read and composed.
    if newest && outbox.iter().any(|o| o.sent_message_id.is_none()) {
        let now = svc.clock.now();
        for job in svc.store.unsent_outbox_jobs(thread).await? {
            let Some(row) = outbox.iter().find(|o| o.id == job.id) else {
                continue;
            };
            let composed = svc
                .composer
                .compose(&job, now)
                .map_err(DomainError::internal)?;
            entries.push(ConversationEntry {
                message: MessageRecord {
                    id: models::MessageId::from(job.id.as_uuid()),
                    thread_id: thread,
                    direction: Direction::Outbound,
                    channel: job.channel,
                    kind: None,
                    outbound_kind: Some(job.kind),
                    sender_name: None,
                    subject: composed.subject,
                    body_text: composed.text.clone(),
                    new_text: composed.text,
                    language: job.language,
                    received_at: row.created_at,
                    deleted_at: None,
                    attachments: Vec::new(),
                    classification: None,
                },
                delivery_state: Some(row.state),
                delivery_error: row.last_error.clone(),
                outbox_id: Some(row.id),
            });
        }
        entries.sort_by_key(|e| e.message.received_at);
    }
    Ok(entries)
}

/// Meta's window for a human agent's reply after the citizen's last message.
const CHAT_REPLY_WINDOW: chrono::Duration = chrono::Duration::days(7);

/// The thread as it is, locked for the change, if its version is `seen`.
async fn take(
    tx: &mut dyn StoreTx,
    id: ThreadId,
    seen: Option<i64>,
) -> Result<ThreadRecord, DomainError> {
    let thread = tx.lock_thread(id).await?.ok_or(DomainError::NotFound)?;
    if seen.is_some_and(|v| v != thread.version) {
        return Err(DomainError::Conflict("conflict"));
    }
    Ok(thread)
}

fn audit(
    user: &User,
    action: &str,
    thread: ThreadId,
    before: serde_json::Value,
    after: serde_json::Value,
    at: DateTime<Utc>,
) -> AuditEntry {
    AuditEntry {
        at,
        actor: user.actor(),
        action: action.to_owned(),
        subject: format!("thread:{thread}"),
        before: Some(before.to_string()),
        after: Some(after.to_string()),
    }
}

/// Writes the thread's fields as `status`, `assignee`, `department` and
/// its deadline `due`.
#[allow(clippy::too_many_arguments)]
async fn save(
    tx: &mut dyn StoreTx,
    thread: &ThreadRecord,
    status: ThreadStatus,
    assignee: Option<&str>,
    department: Option<&str>,
    due: Option<DateTime<Utc>>,
    at: DateTime<Utc>,
) -> Result<(), DomainError> {
    if tx
        .save_thread_fields(
            thread.id,
            thread.version,
            status,
            assignee,
            department,
            due,
            at,
        )
        .await?
    {
        Ok(())
    } else {
        Err(DomainError::Conflict("conflict"))
    }
}

/// Adds an internal note; returns its id.
///
/// # Errors
/// `NotFound` for an unknown thread, `Invalid` for a blank or oversized text.
pub async fn add_note(
    svc: &Services,
    user: &User,
    thread: ThreadId,
    body: &str,
) -> Result<String, DomainError> {
    write_note(svc, user, thread, NoteKind::Note, None, body).await
}

/// Notes a phone callback (the way to answer a citizen whose chat can no
/// longer be written to): the number to call, the contact's own when none
/// is given, and what to say or what was said. Returns the note's id.
///
/// # Errors
/// `NotFound` for an unknown thread, `Invalid` for a bad number, no number at all, or a
/// blank or oversized text.
pub async fn add_callback(
    svc: &Services,
    user: &User,
    thread: ThreadId,
    phone: Option<&str>,
    body: &str,
) -> Result<String, DomainError> {
    check_text("body", body)?;
    let phone = match super::contacts::phone_field(phone)? {
        Some(phone) => phone,
        None => {
            let record = svc.store.get_thread(thread).await.map_err(|e| match e {
                crate::store::StoreError::NotFound => DomainError::NotFound,
                e => e.into(),
            })?;
            svc.store
                .get_contact(record.contact_id)
                .await?
                .and_then(|c| c.summary.phone)
                .and_then(|p| models::PhoneNumber::parse(&p).ok())
                .ok_or_else(|| DomainError::field("phone", "field_required"))?
        }
    };
    write_note(
        svc,
        user,
        thread,
        NoteKind::Callback,
        Some(phone.as_ref()),
        body,
    )
    .await
}

async fn write_note(
    svc: &Services,
    user: &User,
    thread: ThreadId,
    kind: NoteKind,
    phone: Option<&str>,
    body: &str,
) -> Result<String, DomainError> {
    check_text("body", body)?;
    let now = svc.clock.now();
    let mut tx = svc.store.begin().await?;
    take(tx.as_mut(), thread, None).await?;
    let id = tx
        .insert_note(thread, &user.id, kind, phone, body, now)
        .await?;
    let action = match kind {
        NoteKind::Note => "thread.note_added",
        NoteKind::Callback => "thread.callback_noted",
    };
    tx.append_audit(&audit(
        user,
        action,
        thread,
        json!(null),
        json!({ "note_id": id, "phone": phone }),
        now,
    ))
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Sets the status.
///
/// # Errors
/// `NotFound`, or `Conflict` when the thread changed since `seen`.
pub async fn set_status(
    svc: &Services,
    user: &User,
    thread: ThreadId,
    status: ThreadStatus,
    seen: Option<i64>,
) -> Result<(), DomainError> {
    let now = svc.clock.now();
    let mut tx = svc.store.begin().await?;
    let current = take(tx.as_mut(), thread, seen).await?;
    // Awaiting an agent or a department, the deadline stands (or starts
    // now); waiting on the citizen or resolved, nothing is due.
    let due = match status {
        ThreadStatus::AwaitingAgent => current
            .due_at
            .or_else(|| svc.ingestor.first_response_due(now)),
        ThreadStatus::WaitingOnDepartment => current.due_at.or_else(|| {
            svc.ingestor
                .due_after(now, svc.settings.office.transfer_ack_business_hours)
        }),
        ThreadStatus::WaitingOnCitizen | ThreadStatus::Resolved => None,
    };
    save(
        tx.as_mut(),
        &current,
        status,
        current.assignee_id.as_deref(),
        current.department.as_deref(),
        due,
        now,
    )
    .await?;
    tx.append_audit(&audit(
        user,
        "thread.status_changed",
        thread,
        json!({ "status": current.status.as_str() }),
        json!({ "status": status.as_str() }),
        now,
    ))
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Assigns the thread to the account with this email (or unassigns it).
///
/// # Errors
/// `NotFound`, `Conflict` on a stale version, `Invalid` for an unknown account.
pub async fn assign(
    svc: &Services,
    user: &User,
    thread: ThreadId,
    assignee_email: Option<&str>,
    seen: Option<i64>,
) -> Result<(), DomainError> {
    let assignee = match assignee_email {
        Some(email) => Some(
            svc.store
                .user_by_email(email)
                .await?
                .map(|(u, _)| u.id)
                .ok_or_else(|| DomainError::field("assignee", "unknown_user"))?,
        ),
        None => None,
    };
    let now = svc.clock.now();
    let mut tx = svc.store.begin().await?;
    let current = take(tx.as_mut(), thread, seen).await?;
    save(
        tx.as_mut(),
        &current,
        current.status,
        assignee.as_deref(),
        current.department.as_deref(),
        current.due_at,
        now,
    )
    .await?;
    tx.append_audit(&audit(
        user,
        "thread.assigned",
        thread,
        json!({ "assignee_id": current.assignee_id }),
        json!({ "assignee_id": assignee }),
        now,
    ))
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Sets the topic by hand; the correction is kept as a labelled example
/// for the classifier (`inbox export-labels`).
///
/// # Errors
/// `NotFound`, or `Conflict` when the thread changed since `seen`.
pub async fn set_topic(
    svc: &Services,
    user: &User,
    thread: ThreadId,
    topic: models::Topic,
    seen: Option<i64>,
) -> Result<(), DomainError> {
    let now = svc.clock.now();
    let mut tx = svc.store.begin().await?;
    let current = take(tx.as_mut(), thread, seen).await?;
    if !tx
        .set_thread_topic(thread, current.version, topic, now)
        .await?
    {
        return Err(DomainError::Conflict("conflict"));
    }
    tx.append_audit(&audit(
        user,
        "thread.topic_changed",
        thread,
        json!({ "topic": current.topic.map(|t| t.as_str()) }),
        json!({ "topic": topic.as_str() }),
        now,
    ))
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Whether a reply on `channel` may still go out, judged at `now` from the
/// citizen's last message: Meta closes a human agent's window after 7 days.
fn reply_window_open(
    channel: Channel,
    last_citizen: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> bool {
    !channel.is_chat() || last_citizen.is_some_and(|at| now - at <= CHAT_REPLY_WINDOW)
}

/// Where an agent's reply goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReplyVia {
    /// On the channel of the citizen's last message.
    #[default]
    Thread,
    /// By email to the contact's address, whatever the thread's channel:
    /// the way to answer a chat whose reply window has closed.
    Email,
}

/// How the thread's citizen can be answered now, for the thread page and
/// its API: whether the chat window is open, and the contact's email
/// address and phone number to fall back on.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReplyOptions {
    /// The thread's channel.
    pub channel: &'static str,
    /// A reply on that channel can still go out.
    pub window_open: bool,
    /// When the chat window closes (chats only, while open).
    pub window_closes_at: Option<DateTime<Utc>>,
    /// The contact's email address, to reply by email instead.
    pub email: Option<String>,
    /// The contact's phone number, for a callback.
    pub phone: Option<String>,
    /// A reply on the thread's own way can reach the citizen: an open chat
    /// window, or an email address for the other channels.
    pub reachable: bool,
}

/// What [`ReplyOptions`] the thread, whose citizen is `contact`, has at
/// `now`.
pub fn reply_options(
    thread: &ThreadRecord,
    contact: Option<&crate::store::contacts::ContactRecord>,
    now: DateTime<Utc>,
) -> ReplyOptions {
    let email = contact.and_then(|c| c.summary.email.clone());
    let phone = contact.and_then(|c| c.summary.phone.clone());
    let chat = thread.channel.is_chat();
    ReplyOptions {
        channel: thread.channel.as_str(),
        window_open: reply_window_open(thread.channel, thread.last_citizen_message_at, now),
        window_closes_at: thread
            .last_citizen_message_at
            .filter(|_| chat)
            .map(|at| at + CHAT_REPLY_WINDOW)
            .filter(|end| *end > now),
        reachable: if chat {
            reply_window_open(thread.channel, thread.last_citizen_message_at, now)
        } else {
            email.is_some()
        },
        email,
        phone,
    }
}

/// Sends an agent's reply, on the thread's channel or by email, and marks
/// the thread as waiting on the citizen. Returns the outbox id.
///
/// # Errors
/// `NotFound`, `Conflict` on a stale version, a closed chat window (`reply_window_closed`:
/// reply by email or note a callback instead), no email address to reply
/// by (`no_email_address`) or no sender configured for the channel
/// (`channel_not_configured`: the reply would never leave), `Invalid` for a bad text or a thread with no citizen
/// message to answer.
pub async fn reply(
    svc: &Services,
    user: &User,
    thread: ThreadId,
    body: &str,
    seen: Option<i64>,
    via: ReplyVia,
) -> Result<String, DomainError> {
    check_text("body", body)?;
    let now = svc.clock.now();
    let mut tx = svc.store.begin().await?;
    let current = take(tx.as_mut(), thread, seen).await?;
    let mut target = tx
        .reply_target(thread)
        .await?
        .ok_or(DomainError::Conflict("no_reply_channel"))?;
    if via == ReplyVia::Email && target.channel != Channel::Email {
        let address = svc
            .store
            .get_contact(current.contact_id)
            .await?
            .and_then(|c| c.summary.email)
            .and_then(|e| models::EmailAddress::parse(&e).ok())
            .ok_or(DomainError::Conflict("no_email_address"))?;
        target.channel = Channel::Email;
        target.identity = models::ChannelIdentity::Email { address };
        target.rfc_message_id = None;
    }
    if !reply_window_open(target.channel, current.last_citizen_message_at, now) {
        return Err(DomainError::Conflict("reply_window_closed"));
    }
    let sends_on = crate::ingest::reply_channel(target.channel);
    if sends_on == Channel::Email
        && !matches!(target.identity, models::ChannelIdentity::Email { .. })
    {
        // A request taken by phone or at the counter from someone with no
        // address: a callback, not an email to nobody.
        return Err(DomainError::Conflict("no_email_address"));
    }
    if !svc.ingestor.can_send(sends_on) {
        return Err(DomainError::Conflict("channel_not_configured"));
    }
    let outbox = svc.ingestor.agent_outbound(
        thread,
        target.channel,
        OutboundKind::AgentReply,
        target.identity,
        target.language,
        current.reference.as_ref(),
        OutboxPayload {
            reference: current.reference.clone(),
            recipient_name: target.name,
            subject: current.subject.clone(),
            received_at: None,
            body: Some(body.to_owned()),
            in_reply_to: target.rfc_message_id,
            refusal: false,
        },
        now,
    );
    tx.enqueue_outbox(&outbox).await?;
    save(
        tx.as_mut(),
        &current,
        ThreadStatus::WaitingOnCitizen,
        current.assignee_id.as_deref(),
        current.department.as_deref(),
        None,
        now,
    )
    .await?;
    tx.append_audit(&audit(
        user,
        "thread.replied",
        thread,
        json!({ "status": current.status.as_str() }),
        json!({ "status": ThreadStatus::WaitingOnCitizen.as_str(), "outbox_id": outbox.id.to_string(), "channel": outbox.channel.as_str() }),
        now,
    ))
    .await?;
    tx.commit().await?;
    Ok(outbox.id.to_string())
}

/// Transfers the thread to a department and sends the citizen the notice
/// the policy requires, with the expected delay of the request type.
/// Returns the notice's outbox id, when the thread has a citizen to tell.
///
/// # Errors
/// `NotFound`, `Conflict` on a stale version or when the thread is already
/// with that department (`same_department`: the citizen is not told twice),
/// `Invalid` for an unknown department or request type.
pub async fn transfer(
    svc: &Services,
    user: &User,
    thread: ThreadId,
    department: &str,
    request_type: Option<&str>,
    seen: Option<i64>,
) -> Result<Option<String>, DomainError> {
    let settings = &svc.settings.office;
    let dept = settings
        .departments
        .iter()
        .find(|d| d.slug == department)
        .ok_or_else(|| DomainError::field("department", "unknown_department"))?;
    let kind = match request_type {
        Some(name) => Some(
            dept.request_types
                .iter()
                .find(|r| r.name_fr == name || r.name_en == name)
                .ok_or_else(|| DomainError::field("request_type", "unknown_request_type"))?,
        ),
        None => None,
    };
    let now = svc.clock.now();
    let mut tx = svc.store.begin().await?;
    let current = take(tx.as_mut(), thread, seen).await?;
    if current.department.as_deref() == Some(dept.slug.as_str()) {
        return Err(DomainError::Conflict("same_department"));
    }
    let target = tx.reply_target(thread).await?;
    let mut outbox_id = None;
    if let Some(target) = target {
        let en = target.language == models::Language::En;
        let text = svc
            .templates
            .render(
                target.language,
                "transfer_notice.txt",
                minijinja::context! {
                    reference => current.reference.as_ref().map(ToString::to_string),
                    name => target.name.clone(),
                    department => if en { &dept.name_en } else { &dept.name_fr },
                    request_type => kind.map(|k| if en { &k.name_en } else { &k.name_fr }),
                    delay_business_days => kind.map(|k| k.delay_business_days),
                    office => &svc.office,
                },
            )
            .map_err(DomainError::internal)?;
        let outbox = svc.ingestor.agent_outbound(
            thread,
            target.channel,
            OutboundKind::TransferNotice,
            target.identity,
            target.language,
            current.reference.as_ref(),
            OutboxPayload {
                reference: current.reference.clone(),
                recipient_name: target.name,
                subject: current.subject.clone(),
                received_at: None,
                body: Some(text),
                in_reply_to: target.rfc_message_id,
                refusal: false,
            },
            now,
        );
        tx.enqueue_outbox(&outbox).await?;
        outbox_id = Some(outbox.id.to_string());
    }
    let due = svc
        .ingestor
        .due_after(now, svc.settings.office.transfer_ack_business_hours);
    save(
        tx.as_mut(),
        &current,
        ThreadStatus::WaitingOnDepartment,
        current.assignee_id.as_deref(),
        Some(&dept.slug),
        due,
        now,
    )
    .await?;
    tx.append_audit(&audit(
        user,
        "thread.transferred",
        thread,
        json!({ "department": current.department, "status": current.status.as_str() }),
        json!({ "department": dept.slug, "request_type": request_type, "status": ThreadStatus::WaitingOnDepartment.as_str(), "notice_outbox_id": outbox_id }),
        now,
    ))
    .await?;
    tx.commit().await?;
    Ok(outbox_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_replies_close_seven_days_after_the_citizen_wrote() {
        let wrote = chrono::DateTime::parse_from_rfc3339("2026-01-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let day = chrono::Duration::days(1);
        assert!(reply_window_open(
            Channel::Messenger,
            Some(wrote),
            wrote + day * 7
        ));
        assert!(!reply_window_open(
            Channel::Messenger,
            Some(wrote),
            wrote + day * 7 + chrono::Duration::seconds(1)
        ));
        assert!(!reply_window_open(Channel::Instagram, None, wrote));
        assert!(reply_window_open(
            Channel::Email,
            Some(wrote),
            wrote + day * 400
        ));
    }
}
