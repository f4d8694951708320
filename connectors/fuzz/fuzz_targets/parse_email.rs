//! Fuzz target: raw bytes through the whole inbound email path (MIME
//! parsing, charset decoding, HTML to text, format=flowed, new-text
//! extraction, automatic-mail detection, bounce reading, inspect JSON), and
//! the text helpers on their own. Any panic outside mail-parser is a finding.

#![no_main]

use std::sync::LazyLock;

use chrono::{TimeZone, Utc};
use connectors::email::inbound::EmailParseError;
use connectors::email::text::{extract_new_text, html_to_text, unflow};
use connectors::email::{inspect, parse_email, ParseContext};
use libfuzzer_sys::fuzz_target;
use models::{EmailAddress, ReferencePrefix};

/// Panics raised inside mail-parser are caught by `parse_email`, which then
/// reads the message from its header alone (a known upstream bug, kept in
/// `regressions/`). Every other panic is a finding: abort so that libFuzzer
/// records it. libFuzzer's own hook would abort on all of them.
static PANIC_HOOK: LazyLock<()> = LazyLock::new(|| {
    std::panic::set_hook(Box::new(|info| {
        let upstream = info
            .location()
            .is_some_and(|l| l.file().contains("mail-parser"));
        if !upstream {
            eprintln!("{info}");
            std::process::abort();
        }
    }));
});

static CONTEXT: LazyLock<ParseContext> = LazyLock::new(|| ParseContext {
    // Literals known to be valid; a failure here is a broken fuzz setup.
    reference_prefix: ReferencePrefix::parse("SJ").expect("valid prefix"),
    city_addresses: vec![EmailAddress::parse("clientele@saintejulie.ca").expect("valid address")],
    max_attachment_bytes: 4096,
    fallback_received_at: Utc
        .with_ymd_and_hms(2026, 1, 20, 12, 0, 0)
        .single()
        .expect("valid date"),
});

fuzz_target!(|data: &[u8]| {
    LazyLock::force(&PANIC_HOOK);
    let result = parse_email(data, &CONTEXT);
    assert_ne!(result.as_ref().err(), Some(&EmailParseError::ParserFailed));
    if let Ok(parsed) = &result {
        assert!(!parsed.message.new_text.contains('\r'));
        assert!(parsed.message.attachments.len() <= connectors::email::inbound::MAX_ATTACHMENTS);
    }
    let _ = inspect("fuzz.eml", data, &CONTEXT);

    let text = String::from_utf8_lossy(data);
    let _ = extract_new_text(&text);
    let _ = unflow(&text, data.first().is_some_and(|b| b & 1 == 1));
    let _ = html_to_text(&text);
});
