//! Supervisors' decisions: on flagged messages, and refusals of service.

use models::staff::{Role, User};
use models::{AbuseKind, MessageId};
use serde_json::json;

use super::{check_text, require, DomainError, Services, MAX_TEXT_CHARS};
use crate::store::AuditEntry;

/// Refuses service to a contact until `ends_on` (inclusive), with the
/// reason. A supervisor's documented decision: the contact's messages still
/// arrive, are flagged, and get the city's acknowledgement for that case.
///
/// # Errors
/// `Forbidden` below supervisor, `NotFound` for an unknown contact, `Invalid` for a blank reason
/// or an end date in the past.
pub async fn refuse_service(
    svc: &Services,
    user: &User,
    contact: models::ContactId,
    reason: &str,
    ends_on: chrono::NaiveDate,
) -> Result<String, DomainError> {
    require(user, Role::Supervisor)?;
    check_text("reason", reason)?;
    let now = svc.clock.now();
    let today = now.with_timezone(&svc.settings.timezone()).date_naive();
    if ends_on < today {
        return Err(DomainError::field("ends_on", "invalid_value"));
    }
    let mut tx = svc.store.begin().await?;
    let id = tx
        .insert_refusal(contact, reason, ends_on, &user.id, now)
        .await?
        .ok_or(DomainError::NotFound)?;
    tx.append_audit(&AuditEntry {
        at: now,
        actor: user.actor(),
        action: "contact.service_refused".to_owned(),
        subject: format!("contact:{contact}"),
        before: None,
        after: Some(json!({ "refusal_id": id, "reason": reason, "ends_on": ends_on }).to_string()),
    })
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// A supervisor's decision on a flagged message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The flag was right, with the kind of abuse.
    Confirm(AbuseKind),
    /// A false positive.
    Dismiss,
}

/// Records a supervisor's decision.
///
/// # Errors
/// `Forbidden` below supervisor, `NotFound` for a message that is not flagged, `Conflict` when
/// it was already decided, `Invalid` for an oversized comment.
pub async fn decide(
    svc: &Services,
    user: &User,
    message: MessageId,
    decision: Decision,
    comment: &str,
) -> Result<(), DomainError> {
    require(user, Role::Supervisor)?;
    if comment.chars().count() > MAX_TEXT_CHARS {
        return Err(DomainError::field("comment", "field_too_long"));
    }
    let (slug, kind) = match decision {
        Decision::Confirm(kind) => ("confirmed", Some(kind.as_str())),
        Decision::Dismiss => ("dismissed", None),
    };
    let now = svc.clock.now();
    let mut tx = svc.store.begin().await?;
    let (new, thread) = tx
        .record_review_decision(message, slug, kind, comment, &user.id, now)
        .await?
        .ok_or(DomainError::NotFound)?;
    if !new {
        return Err(DomainError::Conflict("already_decided"));
    }
    tx.append_audit(&AuditEntry {
        at: now,
        actor: user.actor(),
        action: "review.decided".to_owned(),
        subject: format!("message:{message}"),
        before: None,
        after: Some(json!({ "decision": slug, "kind": kind, "comment": comment, "thread_id": thread.to_string() }).to_string()),
    })
    .await?;
    tx.commit().await?;
    Ok(())
}
