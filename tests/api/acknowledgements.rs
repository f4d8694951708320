//! Acknowledgements: French and English, inside and outside opening hours,
//! and on a holiday, with a fixed clock.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::America::Toronto;
use models::OutboundKind;

use crate::both_engines;
use crate::doubles::RecordingSender;
use crate::helpers::{spawn_app_with, AppOptions, Engine};

fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Toronto
        .with_ymd_and_hms(y, m, d, h, min, 0)
        .unwrap()
        .with_timezone(&Utc)
}

/// Submits one form at `at` in `lang` and returns the acknowledgement sent.
async fn acknowledgement_at(
    engine: Engine,
    at: DateTime<Utc>,
    lang: &str,
) -> connectors::OutgoingMessage {
    let sender = Arc::new(RecordingSender::email());
    let app = spawn_app_with(
        engine,
        AppOptions {
            now: Some(at),
            connectors: vec![sender.clone()],
            ..AppOptions::default()
        },
    )
    .await;
    let response = app
        .post_form_json(&serde_json::json!({
            "name": "Réjean Bouchard", "email": "rejean@example.net", "subject": "Collecte non effectuée",
            "message": "La collecte n'a pas été effectuée rue des Pruches.", "lang": lang,
        }))
        .await;
    assert_eq!(response.status(), 201);
    app.run_pending_jobs().await;
    let sent = sender.sent();
    assert_eq!(sent.len(), 1, "exactly one acknowledgement");
    sent.into_iter().next().unwrap()
}

async fn french_inside_opening_hours(engine: Engine) {
    // Arrange + Act
    let ack = acknowledgement_at(engine, local(2026, 1, 13, 9, 2), "fr").await;
    // Assert
    assert_eq!(ack.kind, OutboundKind::Acknowledgement);
    assert_eq!(
        ack.recipient.email().unwrap().as_ref(),
        "rejean@example.net"
    );
    // The form's address is not verified: the subject the visitor typed is
    // not repeated to it.
    assert_eq!(
        ack.subject.as_deref(),
        Some("[SJ-2026-000001] Accusé de réception de votre demande à la Ville de Sainte-Julie")
    );
    for expected in [
        "Bonjour Réjean Bouchard,",
        "Son numéro de requête est SJ-2026-000001",
        "Une personne du Service des communications et relations avec les citoyens",
        "450 922-7111 aujourd'hui jusqu'à 19 h.",
    ] {
        assert!(
            ack.text.contains(expected),
            "missing {expected:?} in:\n{}",
            ack.text
        );
    }
    assert!(!ack.text.contains("rouvriront"));
    let html = ack.html.unwrap();
    assert!(html.contains("<strong>SJ-2026-000001</strong>") && html.contains("lang=\"fr-CA\""));
    let message_id = ack.message_id.unwrap();
    assert!(
        message_id.as_ref().starts_with("sj.SJ-2026-000001.")
            && message_id.as_ref().ends_with("@saintejulie.ca"),
        "{message_id}"
    );
}
both_engines!(a_french_acknowledgement_inside_opening_hours_gives_the_reference_the_phone_and_todays_closing_time, french_inside_opening_hours);

async fn english_inside_opening_hours(engine: Engine) {
    // Arrange + Act
    let ack = acknowledgement_at(engine, local(2026, 1, 13, 9, 2), "en").await;
    // Assert
    assert_eq!(
        ack.subject.as_deref(),
        Some("[SJ-2026-000001] We received your request to the Ville de Sainte-Julie")
    );
    assert!(
        ack.text.contains("Its reference number is SJ-2026-000001"),
        "{}",
        ack.text
    );
    assert!(
        ack.text
            .contains("call us at 450 922-7111 today until 7 p.m."),
        "{}",
        ack.text
    );
}
both_engines!(
    an_english_acknowledgement_inside_opening_hours_is_written_in_english,
    english_inside_opening_hours
);

async fn french_on_friday_evening(engine: Engine) {
    // Arrange + Act
    let ack = acknowledgement_at(engine, local(2026, 1, 16, 18, 0), "fr").await;
    // Assert
    assert!(
        ack.text.contains(
            "Nos bureaux sont présentement fermés. Ils rouvriront lundi 19 janvier à 8 h"
        ),
        "{}",
        ack.text
    );
    assert!(!ack.text.contains("aujourd'hui jusqu'à"));
}
both_engines!(
    a_french_acknowledgement_sent_friday_evening_says_the_office_reopens_monday_morning,
    french_on_friday_evening
);

async fn english_on_a_weekend(engine: Engine) {
    // Arrange + Act
    let ack = acknowledgement_at(engine, local(2026, 1, 17, 11, 30), "en").await;
    // Assert
    assert!(
        ack.text
            .contains("It reopens Monday, January 19, at 8 a.m."),
        "{}",
        ack.text
    );
}
both_engines!(
    an_english_acknowledgement_on_a_saturday_says_when_the_office_reopens,
    english_on_a_weekend
);

async fn french_on_good_friday(engine: Engine) {
    // Arrange + Act: Good Friday 2026, then Easter Monday is closed too.
    let ack = acknowledgement_at(engine, local(2026, 4, 3, 10, 0), "fr").await;
    // Assert
    assert!(
        ack.text.contains("Ils rouvriront mardi 7 avril à 8 h"),
        "{}",
        ack.text
    );
}
both_engines!(
    an_acknowledgement_on_a_statutory_holiday_skips_the_holiday_weekend,
    french_on_good_friday
);

async fn year_rolls_over_at_local_midnight(engine: Engine) {
    // Arrange: 23:30 on 31 December in Sainte-Julie is already 1 January in UTC.
    let sender = Arc::new(RecordingSender::email());
    let app = spawn_app_with(
        engine,
        AppOptions {
            now: Some(local(2026, 12, 31, 23, 30)),
            connectors: vec![sender],
            ..AppOptions::default()
        },
    )
    .await;
    let submit = |i: u32| {
        let body =
            crate::helpers::form_body(&format!("y{i}@example.net"), "Demande de fin d'année");
        let app = &app;
        async move {
            app.post_form_json(&body)
                .await
                .json::<serde_json::Value>()
                .await
                .unwrap()["reference"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    // Act
    let before = submit(1).await;
    let before2 = submit(2).await;
    app.set_now(local(2027, 1, 1, 0, 0));
    let after = submit(3).await;
    let after2 = submit(4).await;
    // Assert
    assert_eq!(
        [before, before2, after, after2],
        [
            "SJ-2026-000001",
            "SJ-2026-000002",
            "SJ-2027-000001",
            "SJ-2027-000002"
        ]
    );
}
both_engines!(
    the_reference_year_rolls_over_at_midnight_local_time_on_the_first_of_january,
    year_rolls_over_at_local_midnight
);
