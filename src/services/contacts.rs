//! What agents do to citizens' records: record a phone call or counter
//! visit (checked here, written by the ingest pipeline), correct a
//! contact's details, merge two contacts that are one person, link two
//! threads of one citizen, and count first-contact resolution. Each change
//! is one transaction with its audit entry; a stale version is a conflict.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, Utc};
use models::{Channel, ContactId, ThreadId};
use serde::Serialize;
use serde_json::json;

use models::staff::{Role, User};

use super::{require, DomainError, FieldProblem, Services};
use crate::store::contacts::ContactChanges;
use crate::store::AuditEntry;

/// Longest postal address or name kept, in characters.
pub const MAX_DETAIL_CHARS: usize = 300;
/// Most weeks the first-contact statistics cover.
pub const MAX_STAT_WEEKS: u32 = 104;

/// Checks an optional detail: trimmed, `None` when blank, bounded.
///
/// # Errors
/// `Invalid` naming `field` when too long.
pub fn detail(field: &str, value: Option<&str>) -> Result<Option<String>, DomainError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) if v.chars().count() > MAX_DETAIL_CHARS || v.chars().any(char::is_control) => {
            Err(DomainError::field(field, "invalid_value"))
        }
        Some(v) => Ok(Some(v.to_owned())),
    }
}

/// An optional phone number in any Québec spelling; `None` when blank.
///
/// # Errors
/// `Invalid` `invalid_phone` naming `phone`.
pub fn phone_field(value: Option<&str>) -> Result<Option<models::PhoneNumber>, DomainError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => models::PhoneNumber::parse(v)
            .map(Some)
            .map_err(|_| DomainError::field("phone", "invalid_phone")),
    }
}

/// An optional email address; `None` when blank.
///
/// # Errors
/// `Invalid` `invalid_email` naming `email`.
pub fn email_field(value: Option<&str>) -> Result<Option<models::EmailAddress>, DomainError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => models::EmailAddress::parse(v)
            .map(Some)
            .map_err(|_| DomainError::field("email", "invalid_email")),
    }
}

/// An agent's correction of a contact, as typed: blank fields stay as
/// they are.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactEdit {
    /// The version the agent saw.
    pub version: i64,
    /// The name.
    pub display_name: Option<String>,
    /// A phone number in any Québec spelling.
    pub phone: Option<String>,
    /// The postal address.
    pub postal_address: Option<String>,
    /// `fr` or `en`.
    pub language: Option<String>,
    /// One more address to answer at.
    pub email: Option<String>,
}

/// Corrects a contact's details if it is still at the version the agent
/// saw, and gives it the email address typed as one more to answer at.
/// Returns the new version.
///
/// # Errors
/// `Invalid` naming a bad field, `NotFound` for an unknown or merged contact, `Conflict` when
/// someone changed it since or when the address belongs to another citizen
/// (`identity_taken`: a merge decides, nothing moves silently).
pub async fn update_contact(
    svc: &Services,
    user: &User,
    contact: ContactId,
    edit: &ContactEdit,
) -> Result<i64, DomainError> {
    let language = match edit.language.as_deref().map(str::trim) {
        None | Some("") => None,
        Some("fr") => Some(models::Language::Fr),
        Some("en") => Some(models::Language::En),
        Some(_) => return Err(DomainError::field("language", "invalid_language")),
    };
    let changes = ContactChanges {
        display_name: detail("display_name", edit.display_name.as_deref())?,
        phone: phone_field(edit.phone.as_deref())?,
        postal_address: detail("postal_address", edit.postal_address.as_deref())?,
        language,
    };
    let email = email_field(edit.email.as_deref())?;
    let version = edit.version;
    let now = svc.clock.now();
    let mut tx = svc.store.begin().await?;
    let (current, merged) = tx
        .lock_contact(contact)
        .await?
        .ok_or(DomainError::NotFound)?;
    if merged.is_some() {
        return Err(DomainError::NotFound);
    }
    if current != version || !tx.update_contact(contact, version, &changes, now).await? {
        return Err(DomainError::Conflict("conflict"));
    }
    if let Some(address) = &email {
        let identity = models::ChannelIdentity::Email {
            address: address.clone(),
        };
        if let crate::store::contacts::Attached::Other(_) =
            tx.attach_identity(contact, &identity, now).await?
        {
            return Err(DomainError::Conflict("identity_taken"));
        }
    }
    tx.append_audit(&AuditEntry {
        at: now,
        actor: user.actor(),
        action: "contact.updated".to_owned(),
        subject: format!("contact:{contact}"),
        before: Some(json!({ "version": version }).to_string()),
        after: Some(
            json!({
                "display_name": changes.display_name,
                "phone": changes.phone.as_ref().map(ToString::to_string),
                "postal_address": changes.postal_address,
                "language": changes.language.map(|l| l.as_str()),
                "email": email.as_ref().map(AsRef::<str>::as_ref),
            })
            .to_string(),
        ),
    })
    .await?;
    tx.commit().await?;
    Ok(version + 1)
}

/// Merges `from` into `into`: an agent's confirmed decision, never
/// automatic. Everything of `from` moves; `from` stays as a pointer.
///
/// # Errors
/// `NotFound` for an unknown or already merged contact, `Conflict` when `into` changed
/// since `version`, `Invalid` for a contact merged with itself.
pub async fn merge_contacts(
    svc: &Services,
    user: &User,
    from: ContactId,
    into: ContactId,
    version: Option<i64>,
) -> Result<(), DomainError> {
    if from == into {
        return Err(DomainError::field("into", "same_contact"));
    }
    let now = svc.clock.now();
    let mut tx = svc.store.begin().await?;
    let (_, merged_from) = tx.lock_contact(from).await?.ok_or(DomainError::NotFound)?;
    let (into_version, merged_into) = tx.lock_contact(into).await?.ok_or(DomainError::NotFound)?;
    if merged_from.is_some() || merged_into.is_some() {
        return Err(DomainError::NotFound);
    }
    if version.is_some_and(|v| v != into_version) {
        return Err(DomainError::Conflict("conflict"));
    }
    tx.merge_contacts(from, into, now).await?;
    tx.append_audit(&AuditEntry {
        at: now,
        actor: user.actor(),
        action: "contact.merged".to_owned(),
        subject: format!("contact:{into}"),
        before: Some(json!({ "contact_id": from.to_string() }).to_string()),
        after: Some(json!({ "merged_into": into.to_string() }).to_string()),
    })
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Links two threads of the same citizen (across channels).
///
/// # Errors
/// `NotFound` for an unknown thread, `Invalid` when they are the same thread or belong
/// to different contacts (merge the contacts first).
pub async fn link_threads(
    svc: &Services,
    user: &User,
    thread: ThreadId,
    other: ThreadId,
) -> Result<bool, DomainError> {
    if thread == other {
        return Err(DomainError::field("thread_id", "invalid_value"));
    }
    let now = svc.clock.now();
    let mut tx = svc.store.begin().await?;
    let a = tx
        .thread_contact(thread)
        .await?
        .ok_or(DomainError::NotFound)?;
    let b = tx
        .thread_contact(other)
        .await?
        .ok_or_else(|| DomainError::field("thread_id", "invalid_value"))?;
    if a != b {
        return Err(DomainError::field("thread_id", "different_contacts"));
    }
    let new = tx.link_threads(thread, other, &user.id, now).await?;
    if new {
        tx.append_audit(&AuditEntry {
            at: now,
            actor: user.actor(),
            action: "thread.linked".to_owned(),
            subject: format!("thread:{thread}"),
            before: None,
            after: Some(json!({ "linked_thread_id": other.to_string() }).to_string()),
        })
        .await?;
    }
    tx.commit().await?;
    Ok(new)
}

/// One week of one channel in the first-contact statistics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FirstContactWeek {
    /// The Monday the week starts on, in the office's time zone.
    pub week: chrono::NaiveDate,
    /// `phone` or `counter`.
    pub channel: String,
    /// Contacts recorded.
    pub contacts: u64,
    /// Of which resolved at the first contact.
    pub resolved: u64,
    /// `resolved / contacts`.
    pub share: f64,
}

/// Share of recorded calls and visits resolved at the first contact, per
/// channel and per week (Monday to Sunday, office time), over the last
/// `weeks` weeks, oldest first. Weeks with no contact on a channel show 0.
///
/// # Errors
/// `Forbidden` below supervisor, `Invalid` for a period out of range.
pub async fn first_contact_stats(
    svc: &Services,
    user: &User,
    weeks: u32,
) -> Result<Vec<FirstContactWeek>, DomainError> {
    require(user, Role::Supervisor)?;
    if weeks == 0 || weeks > MAX_STAT_WEEKS {
        return Err(DomainError::field("weeks", "invalid_value"));
    }
    let tz = svc.settings.timezone();
    let today = svc.clock.now().with_timezone(&tz).date_naive();
    let this_monday = today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
    let first = this_monday - Duration::weeks(i64::from(weeks - 1));
    let since: DateTime<Utc> = first
        .and_hms_opt(0, 0, 0)
        .and_then(|t| t.and_local_timezone(tz).earliest())
        .map_or_else(|| svc.clock.now(), |t| t.with_timezone(&Utc));
    let mut counts: BTreeMap<(chrono::NaiveDate, String), (u64, u64)> = BTreeMap::new();
    for w in 0..weeks {
        for channel in [Channel::Phone, Channel::Counter] {
            counts.insert(
                (
                    first + Duration::weeks(i64::from(w)),
                    channel.as_str().to_owned(),
                ),
                (0, 0),
            );
        }
    }
    for (at, channel, resolved) in svc.store.contact_log_since(since).await? {
        let day = at.with_timezone(&tz).date_naive();
        let monday = day - Duration::days(i64::from(day.weekday().num_days_from_monday()));
        let entry = counts.entry((monday, channel)).or_insert((0, 0));
        entry.0 += 1;
        entry.1 += u64::from(resolved);
    }
    Ok(counts
        .into_iter()
        .map(|((week, channel), (contacts, resolved))| FirstContactWeek {
            week,
            channel,
            contacts,
            resolved,
            #[allow(clippy::cast_precision_loss)]
            share: if contacts == 0 {
                0.0
            } else {
                resolved as f64 / contacts as f64
            },
        })
        .collect())
}

/// A call or visit as the API and the page send it.
#[derive(Debug, Clone, serde::Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RecordRequest {
    /// `phone` or `counter`.
    pub channel: String,
    /// An existing contact, picked from a search.
    #[serde(default)]
    pub contact_id: Option<String>,
    /// The citizen's name.
    #[serde(default)]
    pub name: Option<String>,
    /// Their phone number, as typed (`450 922-7111`).
    #[serde(default)]
    pub phone: Option<String>,
    /// Their email address: the acknowledgement goes there.
    #[serde(default)]
    pub email: Option<String>,
    /// Their postal address.
    #[serde(default)]
    pub postal_address: Option<String>,
    /// `fr` (default) or `en`.
    #[serde(default)]
    pub language: Option<String>,
    /// What was asked.
    pub text: String,
    /// The topic the agent chose.
    #[serde(default)]
    pub topic: Option<String>,
    /// `resolved` or `request`.
    pub outcome: String,
}

/// Turns a request into a [`crate::ingest::recorded::RecordedContact`],
/// reporting every field problem at once.
///
/// # Errors
/// `Invalid` listing the fields to correct.
pub fn parse_record(
    svc: &Services,
    user: &User,
    req: &RecordRequest,
) -> Result<crate::ingest::recorded::RecordedContact, DomainError> {
    use crate::ingest::recorded::{ContactOutcome, RecordedContact};
    let mut problems = Vec::new();
    if let Err(DomainError::Invalid(mut p)) = super::check_text("text", &req.text) {
        problems.append(&mut p);
    }
    let mut bad = |field: &str, code: &str| {
        problems.push(FieldProblem {
            field: field.to_owned(),
            code: code.to_owned(),
            args: Vec::new(),
        });
    };
    let channel = match req.channel.as_str() {
        "phone" => Some(Channel::Phone),
        "counter" => Some(Channel::Counter),
        _ => {
            bad("channel", "invalid_value");
            None
        }
    };
    let outcome = match req.outcome.as_str() {
        "resolved" => Some(ContactOutcome::Resolved),
        "request" => Some(ContactOutcome::Request),
        _ => {
            bad("outcome", "invalid_value");
            None
        }
    };
    let contact = match req
        .contact_id
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        None => None,
        Some(id) => match ContactId::parse(id) {
            Ok(id) => Some(id),
            Err(_) => {
                bad("contact_id", "unknown_contact");
                None
            }
        },
    };
    let name = detail("name", req.name.as_deref()).unwrap_or_else(|_| {
        bad("name", "invalid_value");
        None
    });
    let postal_address =
        detail("postal_address", req.postal_address.as_deref()).unwrap_or_else(|_| {
            bad("postal_address", "invalid_value");
            None
        });
    let phone = phone_field(req.phone.as_deref()).unwrap_or_else(|_| {
        bad("phone", "invalid_phone");
        None
    });
    let email = email_field(req.email.as_deref()).unwrap_or_else(|_| {
        bad("email", "invalid_email");
        None
    });
    let language = match req.language.as_deref() {
        None | Some("" | "fr") => models::Language::Fr,
        Some("en") => models::Language::En,
        Some(_) => {
            bad("language", "invalid_language");
            models::Language::Fr
        }
    };
    let topic = match req.topic.as_deref().filter(|t| !t.is_empty()) {
        None => None,
        Some(t) => {
            let topic = models::Topic::parse(t);
            if topic.is_none() {
                bad("topic", "invalid_value");
            }
            topic
        }
    };
    let named = contact.is_some() || name.is_some() || phone.is_some() || email.is_some();
    if !named {
        bad("contact_id", "citizen_required");
    }
    if outcome == Some(ContactOutcome::Request)
        && contact.is_none()
        && phone.is_none()
        && email.is_none()
        && named
    {
        bad("phone", "contact_required");
    }
    let (Some(channel), Some(outcome), true) = (channel, outcome, problems.is_empty()) else {
        return Err(DomainError::Invalid(problems));
    };
    let id = models::ExternalMessageId::parse(&uuid::Uuid::now_v7().to_string())
        .map_err(DomainError::internal)?;
    Ok(RecordedContact {
        id,
        channel,
        contact,
        name,
        phone,
        email,
        postal_address,
        language,
        text: req.text.trim().to_owned(),
        topic,
        department: topic
            .and_then(|t| svc.settings.department_for(t))
            .map(|d| d.slug.clone()),
        outcome,
        recorded_by: user.id.clone(),
    })
}

/// Records a call or visit; `key` (an `Idempotency-Key`) makes a repeat of
/// the same submit return the first answer. Returns the HTTP status and body.
///
/// # Errors
/// `Invalid` for fields to correct, `Conflict` for a reused key or an identity of
/// another contact.
pub async fn record(
    svc: &Services,
    user: &User,
    req: &RecordRequest,
    key: Option<&str>,
) -> Result<(u16, serde_json::Value), DomainError> {
    use crate::ingest::recorded::{Recorded, RecordedOutcome};
    use sha2::Digest;
    let record = parse_record(svc, user, req)?;
    let idempotency = key.map(|key| crate::ingest::IdempotencyRequest {
        scope: format!("contact-log:{}", user.id),
        key: key.to_owned(),
        fingerprint: hex::encode(sha2::Sha256::digest(
            serde_json::to_vec(req).unwrap_or_default(),
        )),
    });
    let body = |o: &RecordedOutcome| {
        json!({
            "id": o.id,
            "outcome": record.outcome.as_str(),
            "contact_id": o.contact_id.to_string(),
            "thread_id": o.thread_id.map(|t| t.to_string()),
            "reference": o.reference.as_ref().map(ToString::to_string),
            "acknowledgement": if o.acknowledgement.is_some() { "email" } else { "none" },
        })
    };
    let respond = |o: &RecordedOutcome| (201u16, body(o).to_string());
    match svc
        .ingestor
        .record_contact(&record, idempotency.as_ref(), &respond)
        .await?
    {
        Recorded::Stored(outcome) => Ok((201, body(&outcome))),
        Recorded::Replayed(saved) => Ok((
            saved.status,
            serde_json::from_str(&saved.body).map_err(DomainError::internal)?,
        )),
    }
}

/// What a search string means: a phone number, an email address (or its
/// start), or a name.
pub fn search_terms(q: &str) -> (Option<String>, Option<models::PhoneNumber>, Option<String>) {
    let q = q.trim();
    let phone = models::PhoneNumber::parse(q).ok();
    let email = (q.contains('@') || phone.is_none() && q.len() >= 3)
        .then(|| q.to_lowercase())
        .filter(|e| !e.contains(char::is_whitespace));
    let name = if phone.is_some() {
        None
    } else {
        models::name::name_key(q)
    };
    (name, phone, email)
}

/// Citizens matching what an agent typed (see [`search_terms`]); nothing
/// for a text that is none of the three.
///
/// # Errors
/// When the store fails.
pub async fn find_contacts(
    svc: &Services,
    q: &str,
) -> Result<Vec<crate::store::contacts::ContactSummary>, DomainError> {
    let (name, phone, email) = search_terms(q);
    if name.is_none() && phone.is_none() && email.is_none() {
        return Ok(Vec::new());
    }
    Ok(svc
        .store
        .search_contacts(
            name.as_deref(),
            phone.as_ref(),
            email.as_deref(),
            crate::store::contacts::MAX_CONTACT_MATCHES,
        )
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_is_read_as_a_phone_number_an_address_or_a_name() {
        let (name, phone, _) = search_terms("450 922-7111");
        assert_eq!(name, None);
        assert_eq!(phone.unwrap().as_ref(), "+14509227111");
        let (_, phone, email) = search_terms("Rejean.B@Exemple");
        assert_eq!(phone, None);
        assert_eq!(email.as_deref(), Some("rejean.b@exemple"));
        let (name, _, email) = search_terms("Thérèse Roy");
        assert_eq!(name.as_deref(), Some("therese roy"));
        assert_eq!(email, None);
    }
}
