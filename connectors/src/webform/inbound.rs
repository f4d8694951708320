//! Form and JSON submissions, checked field by field and turned into an
//! inbound message. Every problem is reported at once, as a code the gateway
//! renders in the citizen's language.

use chrono::{DateTime, Utc};
use models::{
    ChannelIdentity, EmailAddress, ExternalMessageId, InboundMessage, Language, MessageKind,
    PhoneNumber, ReferenceNumber, ReferencePrefix, ThreadHints,
};
use serde::{Deserialize, Serialize};

use super::WebFormSettings;

/// The fields of a submission as they arrive, from the HTML form or the
/// JSON API. Everything is optional here; [`FormSubmission::parse`] decides.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormPayload {
    /// Full name.
    pub name: Option<String>,
    /// Email address for the answer.
    pub email: Option<String>,
    /// Optional phone number.
    pub phone: Option<String>,
    /// Optional subject.
    pub subject: Option<String>,
    /// The request itself.
    pub message: Option<String>,
    /// `fr` or `en`; detected from the message when absent.
    pub lang: Option<String>,
    /// Honeypot: hidden from people, filled by robots.
    #[serde(default)]
    pub website: Option<String>,
    /// One-time token of the HTML form, used as its idempotency key.
    #[serde(default)]
    pub form_token: Option<String>,
}

models::slug_enum! {
    /// What is wrong with one field. The slug is the message key in the
    /// gateway's `messages.toml`.
    pub enum FieldErrorCode("field error code") {
        /// Missing.
        FieldRequired => "field_required",
        /// Present but only whitespace.
        FieldBlank => "field_blank",
        /// Longer than allowed.
        FieldTooLong => "field_too_long",
        /// Not an email address.
        InvalidEmail => "invalid_email",
        /// Not a phone number.
        InvalidPhone => "invalid_phone",
        /// Not `fr` or `en`.
        InvalidLanguage => "invalid_language",
        /// Control characters (or a line break in a one-line field).
        InvalidCharacters => "invalid_characters",
    }
}

/// One field's problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field name as submitted (`email`).
    pub field: &'static str,
    /// What is wrong.
    pub code: FieldErrorCode,
    /// The limit, for `FieldTooLong`.
    pub max: Option<usize>,
}

/// A checked submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormSubmission {
    /// Full name, trimmed.
    pub name: String,
    /// Where to answer.
    pub email: EmailAddress,
    /// Phone, normalised to E.164.
    pub phone: Option<PhoneNumber>,
    /// Subject, trimmed.
    pub subject: Option<String>,
    /// The message, trimmed.
    pub message: String,
    /// Language chosen or detected.
    pub language: Language,
    /// The honeypot was filled: store as spam, acknowledge nothing.
    pub honeypot_filled: bool,
}

fn has_forbidden_controls(text: &str, multiline: bool) -> bool {
    text.chars()
        .any(|c| c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t')) && c != '\t')
}

fn text_field(
    errors: &mut Vec<FieldError>,
    field: &'static str,
    value: Option<&str>,
    required: bool,
    max: usize,
    multiline: bool,
) -> Option<String> {
    let Some(raw) = value else {
        if required {
            errors.push(FieldError {
                field,
                code: FieldErrorCode::FieldRequired,
                max: None,
            });
        }
        return None;
    };
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        if required {
            let code = if raw.is_empty() {
                FieldErrorCode::FieldRequired
            } else {
                FieldErrorCode::FieldBlank
            };
            errors.push(FieldError {
                field,
                code,
                max: None,
            });
        }
        return None;
    }
    if trimmed.chars().count() > max {
        errors.push(FieldError {
            field,
            code: FieldErrorCode::FieldTooLong,
            max: Some(max),
        });
        return None;
    }
    if has_forbidden_controls(trimmed, multiline) {
        errors.push(FieldError {
            field,
            code: FieldErrorCode::InvalidCharacters,
            max: None,
        });
        return None;
    }
    Some(trimmed.to_owned())
}

impl FormSubmission {
    /// Checks every field and reports every problem at once.
    ///
    /// # Errors
    /// The list of [`FieldError`]s, in form order.
    pub fn parse(
        payload: &FormPayload,
        settings: &WebFormSettings,
    ) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let name = text_field(
            &mut errors,
            "name",
            payload.name.as_deref(),
            true,
            settings.max_name_chars,
            false,
        );
        let email = match payload.email.as_deref().map(str::trim) {
            None | Some("") => {
                errors.push(FieldError {
                    field: "email",
                    code: FieldErrorCode::FieldRequired,
                    max: None,
                });
                None
            }
            Some(text) => match EmailAddress::parse(text) {
                Ok(address) => Some(address),
                Err(_) => {
                    errors.push(FieldError {
                        field: "email",
                        code: FieldErrorCode::InvalidEmail,
                        max: None,
                    });
                    None
                }
            },
        };
        let phone = match payload.phone.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => match PhoneNumber::parse(text) {
                Ok(number) => Some(number),
                Err(_) => {
                    errors.push(FieldError {
                        field: "phone",
                        code: FieldErrorCode::InvalidPhone,
                        max: None,
                    });
                    None
                }
            },
        };
        let subject = text_field(
            &mut errors,
            "subject",
            payload.subject.as_deref(),
            false,
            settings.max_subject_chars,
            false,
        );
        let message = text_field(
            &mut errors,
            "message",
            payload.message.as_deref(),
            true,
            settings.max_message_chars,
            true,
        );
        let language = match payload.lang.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(code) => match Language::from_code(code) {
                Some(lang) => Some(lang),
                None => {
                    errors.push(FieldError {
                        field: "lang",
                        code: FieldErrorCode::InvalidLanguage,
                        max: None,
                    });
                    None
                }
            },
        };
        let honeypot_filled = payload
            .website
            .as_deref()
            .is_some_and(|w| !w.trim().is_empty());
        match (name, email, message) {
            (Some(name), Some(email), Some(message)) if errors.is_empty() => {
                let language = language.unwrap_or_else(|| Language::detect(&message));
                Ok(Self {
                    name,
                    email,
                    phone,
                    subject,
                    message,
                    language,
                    honeypot_filled,
                })
            }
            _ => Err(errors),
        }
    }

    /// The normalised inbound message. `submission_id` must be unique per
    /// submission (the gateway passes a fresh UUID).
    ///
    /// # Errors
    /// Never in practice: a UUID-based id is always a valid external id.
    pub fn into_inbound(
        self,
        submission_id: &str,
        prefix: &ReferencePrefix,
        received_at: DateTime<Utc>,
    ) -> Result<InboundMessage, models::message::MessageIdError> {
        let mut references =
            ReferenceNumber::find_all(self.subject.as_deref().unwrap_or(""), prefix);
        for r in ReferenceNumber::find_all(&self.message, prefix) {
            if !references.contains(&r) {
                references.push(r);
            }
        }
        Ok(InboundMessage {
            channel: models::Channel::WebForm,
            external_id: ExternalMessageId::parse(&format!("form:{submission_id}"))?,
            sender: ChannelIdentity::Email {
                address: self.email,
            },
            sender_name: Some(self.name),
            sender_phone: self.phone,
            received_at,
            subject: self.subject,
            body_text: self.message.clone(),
            new_text: self.message,
            body_html: None,
            language: self.language,
            kind: if self.honeypot_filled {
                MessageKind::Spam
            } else {
                MessageKind::Citizen
            },
            hints: ThreadHints {
                references,
                ..ThreadHints::default()
            },
            attachments: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload() -> FormPayload {
        FormPayload {
            name: Some("  Réjean Bouchard ".into()),
            email: Some("Rejean@Example.net".into()),
            phone: Some("450 555-0199".into()),
            subject: Some("Collecte non effectuée".into()),
            message: Some("Bonjour, la collecte n'a pas été faite rue des Pruches.\nMerci".into()),
            lang: None,
            website: None,
            form_token: None,
        }
    }

    #[test]
    fn a_complete_submission_becomes_a_citizen_message() {
        // Arrange
        let prefix = ReferencePrefix::parse("SJ").unwrap();
        // Act
        let sub = FormSubmission::parse(&payload(), &WebFormSettings::default()).unwrap();
        let msg = sub.into_inbound("abc", &prefix, Utc::now()).unwrap();
        // Assert
        assert_eq!(msg.sender_name.as_deref(), Some("Réjean Bouchard"));
        assert_eq!(msg.sender.email().unwrap().as_ref(), "rejean@example.net");
        assert_eq!(msg.sender_phone.unwrap().as_ref(), "+14505550199");
        assert_eq!(msg.language, Language::Fr);
        assert_eq!(msg.kind, MessageKind::Citizen);
        assert_eq!(msg.external_id.as_ref(), "form:abc");
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        // Arrange
        let settings = WebFormSettings {
            max_subject_chars: 5,
            ..WebFormSettings::default()
        };
        let bad = FormPayload {
            name: Some("   ".into()),
            email: Some("not-an-address".into()),
            phone: Some("call me".into()),
            subject: Some("far too long".into()),
            message: None,
            lang: Some("de".into()),
            ..FormPayload::default()
        };
        // Act
        let errors = FormSubmission::parse(&bad, &settings).unwrap_err();
        // Assert
        let got: Vec<(&str, FieldErrorCode)> = errors.iter().map(|e| (e.field, e.code)).collect();
        assert_eq!(
            got,
            [
                ("name", FieldErrorCode::FieldBlank),
                ("email", FieldErrorCode::InvalidEmail),
                ("phone", FieldErrorCode::InvalidPhone),
                ("subject", FieldErrorCode::FieldTooLong),
                ("message", FieldErrorCode::FieldRequired),
                ("lang", FieldErrorCode::InvalidLanguage),
            ]
        );
        assert_eq!(errors[3].max, Some(5));
    }

    #[test]
    fn control_characters_and_header_injection_are_refused() {
        for (field, value) in [
            ("name", "Bob\u{0}"),
            ("subject", "Hi\r\nBcc: x@example.com"),
        ] {
            // Arrange
            let mut p = payload();
            match field {
                "name" => p.name = Some(value.into()),
                _ => p.subject = Some(value.into()),
            }
            // Act
            let errors = FormSubmission::parse(&p, &WebFormSettings::default()).unwrap_err();
            // Assert
            assert_eq!(
                errors[0].code,
                FieldErrorCode::InvalidCharacters,
                "case {field}"
            );
        }
    }

    #[test]
    fn html_is_kept_as_plain_text() {
        // Arrange
        let mut p = payload();
        p.message = Some("<script>alert(1)</script> bonjour".into());
        // Act
        let sub = FormSubmission::parse(&p, &WebFormSettings::default()).unwrap();
        // Assert
        assert_eq!(sub.message, "<script>alert(1)</script> bonjour");
    }

    #[test]
    fn a_filled_honeypot_is_marked_as_spam() {
        // Arrange
        let mut p = payload();
        p.website = Some("http://spam.example.com".into());
        let prefix = ReferencePrefix::parse("SJ").unwrap();
        // Act
        let msg = FormSubmission::parse(&p, &WebFormSettings::default())
            .unwrap()
            .into_inbound("x", &prefix, Utc::now())
            .unwrap();
        // Assert
        assert_eq!(msg.kind, MessageKind::Spam);
    }

    #[test]
    fn a_reference_quoted_in_the_form_is_a_thread_hint() {
        // Arrange
        let mut p = payload();
        p.subject = Some("Suivi SJ-2026-000042".into());
        let prefix = ReferencePrefix::parse("SJ").unwrap();
        // Act
        let msg = FormSubmission::parse(&p, &WebFormSettings::default())
            .unwrap()
            .into_inbound("y", &prefix, Utc::now())
            .unwrap();
        // Assert
        assert_eq!(msg.hints.references[0].to_string(), "SJ-2026-000042");
    }

    #[test]
    fn english_messages_are_detected_without_a_lang_field() {
        // Arrange
        let mut p = payload();
        p.message = Some("Hello, my recycling bin was not picked up this week.".into());
        // Act
        let sub = FormSubmission::parse(&p, &WebFormSettings::default()).unwrap();
        // Assert
        assert_eq!(sub.language, Language::En);
    }
}
