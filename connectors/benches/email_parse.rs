//! Throughput of the inbound email path over the eight fixtures: full
//! parsing (`parse_email`: MIME, charsets, HTML to text and sanitizing,
//! new-text extraction, automatic-mail detection, attachment hashing) and
//! new-text extraction alone.
//!
//! A plain harness rather than criterion, to keep the dependency tree small:
//! `cargo bench -p connectors --bench email_parse`. It prints one line per
//! measure with messages per second and megabytes per second.

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use connectors::email::text::extract_new_text;
use connectors::email::{parse_email, ParseContext};
use models::{EmailAddress, Language, ReferencePrefix};

/// How long each measure runs after its warm-up.
const MEASURE_TIME: Duration = Duration::from_secs(2);
/// Warm-up before each measure (caches, lazy statics, allocator).
const WARM_UP_TIME: Duration = Duration::from_millis(500);

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/email/",
            $name
        ))
        .as_slice()
    };
}

const FIXTURES: [&[u8]; 8] = [
    fixture!("01-plain-fr-iso-8859-1-qp.eml"),
    fixture!("02-outlook-html-only-utf8.eml"),
    fixture!("03-multipart-alternative-jpeg.eml"),
    fixture!("04-reply-thread-quoted.eml"),
    fixture!("05-out-of-office-auto-reply.eml"),
    fixture!("06-bounce-dsn.eml"),
    fixture!("07-mailing-list.eml"),
    fixture!("08-windows-1252-smart-quotes.eml"),
];

/// Runs `round` (which handles `messages` messages of `bytes` bytes in
/// total) repeatedly and prints the rates.
fn measure(name: &str, messages: usize, bytes: usize, mut round: impl FnMut()) {
    let warm_up = Instant::now();
    while warm_up.elapsed() < WARM_UP_TIME {
        round();
    }
    let started = Instant::now();
    let mut rounds = 0u64;
    while started.elapsed() < MEASURE_TIME {
        round();
        rounds += 1;
    }
    let seconds = started.elapsed().as_secs_f64();
    let per_second = rounds as f64 * messages as f64 / seconds;
    let megabytes = rounds as f64 * bytes as f64 / seconds / 1_000_000.0;
    let micros = seconds * 1_000_000.0 / (rounds as f64 * messages as f64);
    println!("{name}: {per_second:.0} messages/s, {megabytes:.1} MB/s, {micros:.1} µs/message");
}

fn main() {
    // The bench's own inputs are literals known to be valid.
    #[allow(clippy::unwrap_used)]
    let context = ParseContext {
        reference_prefix: ReferencePrefix::parse("SJ").unwrap(),
        city_addresses: vec![EmailAddress::parse("clientele@saintejulie.ca").unwrap()],
        max_attachment_bytes: 15 * 1024 * 1024,
        fallback_received_at: Utc.with_ymd_and_hms(2026, 1, 20, 12, 0, 0).unwrap(),
    };
    let raw_bytes: usize = FIXTURES.iter().map(|f| f.len()).sum();

    measure(
        "parse_email (8 fixtures)",
        FIXTURES.len(),
        raw_bytes,
        || {
            for raw in FIXTURES {
                let _ = black_box(parse_email(black_box(raw), &context));
            }
        },
    );

    for (index, raw) in FIXTURES.iter().enumerate() {
        measure(
            &format!("parse_email fixture 0{}", index + 1),
            1,
            raw.len(),
            || {
                let _ = black_box(parse_email(black_box(raw), &context));
            },
        );
    }

    let bodies: Vec<String> = FIXTURES
        .iter()
        .filter_map(|raw| parse_email(raw, &context).ok())
        .map(|parsed| parsed.message.body_text)
        .collect();
    let body_bytes: usize = bodies.iter().map(String::len).sum();
    measure(
        "Language::detect (8 bodies, part of parse_email)",
        bodies.len(),
        body_bytes,
        || {
            for body in &bodies {
                black_box(Language::detect(black_box(body)));
            }
        },
    );
    measure(
        "extract_new_text (8 bodies)",
        bodies.len(),
        body_bytes,
        || {
            for body in &bodies {
                black_box(extract_new_text(black_box(body)));
            }
        },
    );
}
