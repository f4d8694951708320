//! Property tests over the parsers that read what strangers send: the
//! public form and Meta's webhook bodies. Whatever the input, they answer
//! (a value or a typed error) and never panic; what they accept respects
//! the configured limits.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers fail the test on a bad fixture"
)]

use chrono::{TimeZone, Utc};
use connectors::meta::{parse_webhook, MetaSettings};
use connectors::webform::{FormPayload, FormSubmission, WebFormSettings};
use models::ReferencePrefix;
use proptest::prelude::*;

fn meta_settings() -> MetaSettings {
    toml::from_str(
        r#"
        app_secret = "app-secret"
        verify_token = "verify-token"
        [[pages]]
        id = "104827364519203"
        access_token = "page-token"
        instagram_account_id = "17841400918273645"
        "#,
    )
    .unwrap()
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../tests/fixtures/meta/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// Any text, with control characters, look-alike letters, emoji and
/// reference-like fragments.
fn hostile_text() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(prop_oneof![
        "(?s).{0,300}",
        "[\\x00-\\x1f\\u{202e}\\u{feff}a-z@. ]{0,80}",
        "SJ-20[0-9]{2}-[0-9]{0,8}.{0,20}",
        "[a-z0-9._%+-]{0,70}@[a-z0-9.-]{0,70}",
        "[0-9 ()+.-]{0,40}",
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn a_form_never_panics_and_what_it_accepts_is_within_limits(
        name in hostile_text(),
        email in hostile_text(),
        phone in hostile_text(),
        subject in hostile_text(),
        message in hostile_text(),
        lang in hostile_text(),
        website in hostile_text(),
    ) {
        let settings = WebFormSettings::default();
        let payload = FormPayload {
            name, email, phone, subject, message, lang, website, form_token: None,
        };
        if let Ok(submission) = FormSubmission::parse(&payload, &settings) {
            prop_assert!(submission.message.chars().count() <= settings.max_message_chars);
            let inbound = submission
                .into_inbound(
                    "0190a1b2-0000-7000-8000-000000000000",
                    &ReferencePrefix::parse("SJ").unwrap(),
                    Utc.with_ymd_and_hms(2026, 1, 13, 14, 0, 0).unwrap(),
                )
                .unwrap();
            prop_assert!(!inbound.body_text.trim().is_empty());
        }
    }

    #[test]
    fn any_bytes_as_a_webhook_body_give_a_batch_or_an_error(body in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = parse_webhook(&body, &meta_settings(), &ReferencePrefix::parse("SJ").unwrap());
    }

    #[test]
    fn a_mutated_real_webhook_body_gives_a_batch_or_an_error(
        which in 0usize..4,
        cuts in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
    ) {
        let names = ["messenger-text.json", "messenger-image.json", "messenger-batch.json", "instagram-text.json"];
        let mut body = fixture(names[which]);
        for (at, byte) in cuts {
            let at = at % body.len();
            body[at] = byte;
        }
        let _ = parse_webhook(&body, &meta_settings(), &ReferencePrefix::parse("SJ").unwrap());
    }
}
