//! Inputs the fuzzer (`connectors/fuzz`) once crashed on, kept byte for byte
//! in `connectors/fuzz/regressions/`. Each must now give a message or a
//! typed error, and never the internal-failure error.

// Helpers outside #[test] functions panic to report a failed test, as the
// tests themselves do.
#![allow(clippy::unwrap_used)]

use chrono::{TimeZone, Utc};
use connectors::email::{inspect, parse_email, EmailParseError, ParseContext};
use models::{EmailAddress, ReferencePrefix};

fn context() -> ParseContext {
    ParseContext {
        reference_prefix: ReferencePrefix::parse("SJ").unwrap(),
        city_addresses: vec![EmailAddress::parse("clientele@saintejulie.ca").unwrap()],
        max_attachment_bytes: 4096,
        fallback_received_at: Utc.with_ymd_and_hms(2026, 1, 20, 12, 0, 0).unwrap(),
    }
}

fn regressions() -> Vec<(String, Vec<u8>)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/regressions");
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    files.sort();
    files
}

#[test]
fn every_fuzz_regression_parses_without_an_internal_failure() {
    // Arrange
    let files = regressions();
    assert!(!files.is_empty(), "the regression folder is empty");
    for (name, raw) in files {
        // Act
        let result = parse_email(&raw, &context());
        let report = inspect(&name, &raw, &context());

        // Assert
        assert_ne!(
            result.as_ref().err(),
            Some(&EmailParseError::ParserFailed),
            "{name}"
        );
        assert_eq!(report["file"], name.as_str());
    }
}

#[test]
fn a_multipart_that_crashes_the_mime_parser_is_kept_from_its_header() {
    // Arrange: mail-parser 0.11.2 indexes out of range on this
    // multipart/alternative; the message must still come in.
    let raw = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fuzz/regressions/mail-parser-alternative-text-index.eml"
    ));

    // Act
    let parsed = parse_email(raw, &context()).unwrap();

    // Assert
    assert!(parsed.mime_unreadable);
    // The fuzzer glued a Return-Path into the From header; the address
    // found there is the one taken.
    assert_eq!(parsed.message.sender.key(), "nathalie.cote@example.com");
    assert!(parsed.message.attachments.is_empty());
    assert!(!parsed.message.body_text.is_empty());
}
