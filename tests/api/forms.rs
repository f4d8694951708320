//! The web form channel: the JSON API and the HTML form, and every bad input.

use chrono::{Datelike, Utc};
use models::{OutboxState, ReferenceNumber, ThreadId, ThreadStatus};

use crate::both_engines;
use crate::helpers::{form_body, spawn_app, spawn_app_with, AppOptions, Engine};

fn current_year_reference(seq: u32) -> String {
    let year = Utc::now()
        .with_timezone(&chrono_tz::America::Toronto)
        .year();
    format!("SJ-{year}-{seq:06}")
}

async fn valid_submission_is_stored_with_reference_and_queued_ack(engine: Engine) {
    // Arrange
    let app = spawn_app(engine).await;
    // Act
    let response = app
        .post_form_json(&form_body(
            "rejean@example.net",
            "Le bac n'a pas été ramassé rue des Pruches.",
        ))
        .await;
    // Assert
    assert_eq!(response.status(), 201);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["reference"], current_year_reference(1));
    let thread_id = ThreadId::parse(body["thread_id"].as_str().unwrap()).unwrap();
    let thread = app.store.get_thread(thread_id).await.unwrap();
    assert_eq!(thread.status, ThreadStatus::AwaitingAgent);
    assert_eq!(
        thread.reference.unwrap().to_string(),
        current_year_reference(1)
    );
    let messages = app.store.list_messages(thread_id).await.unwrap();
    assert_eq!(messages.len(), 1);
    assert_eq!(
        messages[0].body_text,
        "Le bac n'a pas été ramassé rue des Pruches."
    );
    let outbox = app.store.list_outbox(thread_id).await.unwrap();
    assert_eq!(outbox.len(), 1, "one acknowledgement queued");
    // No email sender is configured: the acknowledgement waits, visible.
    assert_eq!(outbox[0].state, OutboxState::WaitingChannel);
}
both_engines!(
    a_valid_submission_gets_201_a_reference_a_queued_acknowledgement_and_a_queue_entry,
    valid_submission_is_stored_with_reference_and_queued_ack
);

async fn references_follow_each_other(engine: Engine) {
    // Arrange
    let app = spawn_app(engine).await;
    // Act
    let mut refs = Vec::new();
    for i in 0..3 {
        let r = app
            .post_form_json(&form_body(&format!("c{i}@example.net"), "Lampadaire brisé"))
            .await;
        refs.push(
            r.json::<serde_json::Value>().await.unwrap()["reference"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    // Assert
    assert_eq!(
        refs,
        [
            current_year_reference(1),
            current_year_reference(2),
            current_year_reference(3)
        ]
    );
}
both_engines!(
    successive_requests_get_successive_reference_numbers,
    references_follow_each_other
);

async fn idempotency_key_replays_first_answer(engine: Engine) {
    // Arrange
    let app = spawn_app(engine).await;
    let body =
        serde_json::to_vec(&form_body("idem@example.net", "Nid-de-poule rue Thérèse")).unwrap();
    // Act
    let first = app
        .post_form_raw("application/json", body.clone(), Some("key-123"))
        .await;
    let first_status = first.status();
    let first_body = first.text().await.unwrap();
    let second = app
        .post_form_raw("application/json", body, Some("key-123"))
        .await;
    let second_status = second.status();
    let second_body = second.text().await.unwrap();
    // Assert
    assert_eq!(first_status, 201);
    assert_eq!(second_status, 201);
    assert_eq!(
        first_body, second_body,
        "a retried POST returns the first answer"
    );
    let thread: serde_json::Value = serde_json::from_str(&first_body).unwrap();
    let thread_id = ThreadId::parse(thread["thread_id"].as_str().unwrap()).unwrap();
    assert_eq!(app.store.list_messages(thread_id).await.unwrap().len(), 1);
    assert_eq!(app.store.list_outbox(thread_id).await.unwrap().len(), 1);
    let next = app
        .post_form_json(&form_body("other@example.net", "Autre demande"))
        .await;
    assert_eq!(
        next.json::<serde_json::Value>().await.unwrap()["reference"],
        current_year_reference(2),
        "the replay consumed no reference"
    );
}
both_engines!(
    a_retried_post_with_the_same_idempotency_key_returns_the_first_answer_and_stores_nothing_new,
    idempotency_key_replays_first_answer
);

async fn reused_key_with_other_body_is_refused(engine: Engine) {
    // Arrange
    let app = spawn_app(engine).await;
    let a = serde_json::to_vec(&form_body("a@example.net", "Demande A")).unwrap();
    let b = serde_json::to_vec(&form_body("a@example.net", "Demande B")).unwrap();
    // Act
    let first = app
        .post_form_raw("application/json", a, Some("same-key"))
        .await;
    let second = app
        .post_form_raw("application/json", b, Some("same-key"))
        .await;
    // Assert
    assert_eq!(first.status(), 201);
    assert_eq!(second.status(), 409);
    assert_eq!(
        second.json::<serde_json::Value>().await.unwrap()["code"],
        "idempotency_mismatch"
    );
}
both_engines!(
    an_idempotency_key_reused_with_another_body_is_refused_with_409,
    reused_key_with_other_body_is_refused
);

async fn concurrent_retries_with_one_key_store_once(engine: Engine) {
    // Arrange
    let app = spawn_app(engine).await;
    let body = serde_json::to_vec(&form_body("race@example.net", "Double clic")).unwrap();
    // Act
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let client = app.client.clone();
        let url = format!("{}/api/v1/forms", app.address);
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(url)
                .header("content-type", "application/json")
                .header("idempotency-key", "race-key")
                .body(body)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    // Assert
    assert!(answers.iter().all(|(s, _)| *s == 201), "{answers:?}");
    assert!(
        answers.windows(2).all(|w| w[0].1 == w[1].1),
        "every retry gets the same answer: {answers:?}"
    );
    let second = app
        .post_form_json(&form_body("x@example.net", "Suivante"))
        .await;
    assert_eq!(
        second.json::<serde_json::Value>().await.unwrap()["reference"],
        current_year_reference(2)
    );
}
both_engines!(
    concurrent_posts_with_one_idempotency_key_create_exactly_one_request,
    concurrent_retries_with_one_key_store_once
);

async fn bad_fields_get_422_naming_each_field(engine: Engine) {
    // Arrange
    let app = spawn_app(engine).await;
    let long_name = "N".repeat(201);
    let cases: Vec<(serde_json::Value, Vec<(&str, &str)>)> = vec![
        (
            serde_json::json!({"name": "A", "email": "a@example.net", "message": ""}),
            vec![("message", "field_required")],
        ),
        (
            serde_json::json!({"name": "A", "email": "a@example.net", "message": "  \n\t "}),
            vec![("message", "field_blank")],
        ),
        (
            serde_json::json!({"name": long_name, "email": "a@example.net", "message": "x"}),
            vec![("name", "field_too_long")],
        ),
        (
            serde_json::json!({"name": "A", "email": "pas-une-adresse", "message": "x"}),
            vec![("email", "invalid_email")],
        ),
        (
            serde_json::json!({"name": "A", "email": "a@example.net", "phone": "appelez-moi", "message": "x"}),
            vec![("phone", "invalid_phone")],
        ),
        (
            serde_json::json!({"email": "a@example.net", "message": "x", "lang": "de"}),
            vec![("name", "field_required"), ("lang", "invalid_language")],
        ),
        (
            serde_json::json!({"name": "A", "email": "a@example.net", "message": "x", "extra": 1}),
            vec![("extra", "unknown_field")],
        ),
    ];
    for (body, expected) in cases {
        // Act
        let response = app.post_form_json(&body).await;
        // Assert
        assert_eq!(response.status(), 422, "case {body}");
        let json: serde_json::Value = response.json().await.unwrap();
        assert_eq!(json["code"], "validation", "case {body}");
        let got: Vec<(String, String)> = json["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["field"].as_str().unwrap().to_owned(),
                    f["code"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect();
        assert_eq!(got, expected, "case {body}");
        assert!(json["fields"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| !f["message"].as_str().unwrap().is_empty()));
    }
    // Nothing was stored: the next valid request gets the first number.
    let ok = app.post_form_json(&form_body("a@example.net", "ok")).await;
    assert_eq!(
        ok.json::<serde_json::Value>().await.unwrap()["reference"],
        current_year_reference(1)
    );
}
both_engines!(
    each_bad_field_gets_a_422_naming_the_field_and_nothing_is_stored,
    bad_fields_get_422_naming_each_field
);

async fn errors_speak_the_request_language(engine: Engine) {
    // Arrange
    let app = spawn_app(engine).await;
    // Act
    let en = app
        .post_form_json(
            &serde_json::json!({"name": "A", "email": "bad", "message": "x", "lang": "en"}),
        )
        .await;
    let fr = app
        .post_form_json(&serde_json::json!({"name": "A", "email": "bad", "message": "x"}))
        .await;
    // Assert
    let en: serde_json::Value = en.json().await.unwrap();
    let fr: serde_json::Value = fr.json().await.unwrap();
    assert_eq!(
        en["fields"][0]["message"],
        "The email address is not valid (example: name@example.com)."
    );
    assert_eq!(
        fr["fields"][0]["message"],
        "L'adresse courriel n'est pas valide (exemple : nom@exemple.com)."
    );
}
both_engines!(
    field_errors_are_written_in_the_language_of_the_request,
    errors_speak_the_request_language
);

async fn unreadable_bodies_get_clear_4xx(engine: Engine) {
    // Arrange
    let app = spawn_app_with(
        engine,
        AppOptions {
            configure: Some(Box::new(|s| s.server.max_body_bytes = 4096)),
            ..AppOptions::default()
        },
    )
    .await;
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            "application/json",
            b"{\"name\": \"A\", ".to_vec(),
            400,
            "malformed_json",
        ),
        (
            "application/json",
            b"not json".to_vec(),
            400,
            "malformed_json",
        ),
        (
            "application/json",
            b"[1,2,3]".to_vec(),
            400,
            "invalid_request",
        ),
        (
            "application/json",
            vec![b'{', b'"', 0xff, 0xfe, b'"', b'}'],
            400,
            "invalid_utf8",
        ),
        ("text/plain", b"hello".to_vec(), 415, "wrong_content_type"),
        (
            "application/json",
            format!(
                "{{\"name\":\"A\",\"email\":\"a@example.net\",\"message\":\"{}\"}}",
                "x".repeat(8000)
            )
            .into_bytes(),
            413,
            "payload_too_large",
        ),
    ];
    for (content_type, body, status, code) in cases {
        // Act
        let response = app.post_form_raw(content_type, body, None).await;
        // Assert
        assert_eq!(response.status().as_u16(), status, "case {code}");
        let json: serde_json::Value = response.json().await.unwrap();
        assert_eq!(json["code"], code);
        assert!(!json["message"].as_str().unwrap().is_empty());
    }
    // The server keeps serving.
    assert_eq!(
        app.post_form_json(&form_body("a@example.net", "ok"))
            .await
            .status(),
        201
    );
}
both_engines!(
    malformed_json_wrong_content_type_invalid_utf8_and_oversized_bodies_get_clear_4xx,
    unreadable_bodies_get_clear_4xx
);

async fn html_is_stored_as_text(engine: Engine) {
    // Arrange
    let app = spawn_app(engine).await;
    let hostile = "<script>alert('x')</script><img src=x onerror=alert(1)>";
    // Act
    let response = app.post_form_json(&serde_json::json!({"name": hostile, "email": "h@example.net", "subject": hostile, "message": hostile})).await;
    // Assert
    assert_eq!(response.status(), 201);
    let body: serde_json::Value = response.json().await.unwrap();
    let thread_id = ThreadId::parse(body["thread_id"].as_str().unwrap()).unwrap();
    let messages = app.store.list_messages(thread_id).await.unwrap();
    assert_eq!(messages[0].body_text, hostile, "stored exactly as text");
    let page = app
        .post_contact(&[
            ("name", hostile),
            ("email", "bad"),
            ("message", hostile),
            ("lang", "fr"),
        ])
        .await;
    let html = page.text().await.unwrap();
    assert!(!html.contains("<script>alert"), "rendered escaped");
    assert!(html.contains("&lt;script&gt;"));
}
both_engines!(
    html_and_script_in_fields_are_stored_as_text_and_rendered_escaped,
    html_is_stored_as_text
);

async fn flood_gets_429(engine: Engine) {
    // Arrange
    let app = spawn_app_with(
        engine,
        AppOptions {
            configure: Some(Box::new(|s| {
                s.connectors.webform.rate_limit_per_minute = 2;
                s.connectors.webform.rate_limit_burst = 3;
            })),
            ..AppOptions::default()
        },
    )
    .await;
    // Act
    let mut statuses = Vec::new();
    let mut last = None;
    for i in 0..5 {
        let r = app
            .post_form_json(&form_body(&format!("f{i}@example.net"), "flood"))
            .await;
        statuses.push(r.status().as_u16());
        last = Some(r);
    }
    // Assert
    assert_eq!(statuses, [201, 201, 201, 429, 429]);
    let last = last.unwrap();
    let retry_after: u64 = last.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
    assert_eq!(
        last.json::<serde_json::Value>().await.unwrap()["code"],
        "rate_limited"
    );
    assert_eq!(
        app.get("/healthz").await.status(),
        200,
        "other routes keep serving"
    );
}
both_engines!(
    a_flood_from_one_address_gets_429_with_retry_after,
    flood_gets_429
);

async fn honeypot_looks_accepted_but_is_spam(engine: Engine) {
    // Arrange
    let app = spawn_app(engine).await;
    // Act
    let response = app
        .post_contact(&[
            ("name", "Bot"),
            ("email", "bot@example.net"),
            ("message", "Buy now"),
            ("website", "http://spam.example"),
            ("form_token", "t-1"),
        ])
        .await;
    // Assert
    assert_eq!(response.status(), 200, "an accepted-looking answer");
    let html = response.text().await.unwrap();
    assert!(html.contains("Demande reçue"));
    let real = app
        .post_form_json(&form_body("real@example.net", "Vraie demande"))
        .await;
    assert_eq!(
        real.json::<serde_json::Value>().await.unwrap()["reference"],
        current_year_reference(1),
        "spam took no reference"
    );
    let counts = app.store.count_outbox_by_state().await.unwrap();
    let total: u64 = counts.iter().map(|(_, n)| n).sum();
    assert_eq!(
        total, 1,
        "only the real request is acknowledged: {counts:?}"
    );
}
both_engines!(
    a_filled_honeypot_gets_an_accepted_looking_answer_is_stored_as_spam_and_is_not_acknowledged,
    honeypot_looks_accepted_but_is_spam
);

async fn html_form_round_trip(engine: Engine) {
    // Arrange
    let app = spawn_app(engine).await;
    // Act
    let page = app.get_contact("?lang=en").await;
    let html = page.text().await.unwrap();
    let token = html
        .split("name=\"form_token\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let fields = [
        ("form_token", token.as_str()),
        ("lang", "en"),
        ("name", "Jane Doe"),
        ("email", "jane@example.net"),
        ("message", "My bin was not picked up."),
    ];
    let first = app.post_contact(&fields).await;
    let first_html = first.text().await.unwrap();
    let again = app.post_contact(&fields).await;
    let again_html = again.text().await.unwrap();
    // Assert
    assert!(html.contains("<label for=\"email\">"), "labelled fields");
    assert!(html.contains("lang=\"en-CA\""));
    let reference = first_html
        .split("id=\"reference\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap();
    ReferenceNumber::parse(reference).expect("the confirmation shows a reference");
    assert!(
        again_html.contains(reference),
        "a double submit shows the same reference"
    );
    let next = app.post_form_json(&form_body("k@example.net", "x")).await;
    assert_eq!(
        next.json::<serde_json::Value>().await.unwrap()["reference"],
        current_year_reference(2)
    );
}
both_engines!(
    the_html_form_shows_the_reference_and_a_double_submit_creates_one_request,
    html_form_round_trip
);

async fn html_form_errors_are_shown_on_the_page(engine: Engine) {
    // Arrange
    let app = spawn_app(engine).await;
    // Act
    let response = app
        .post_contact(&[
            ("lang", "fr"),
            ("name", ""),
            ("email", "nope"),
            ("message", "Bonjour"),
        ])
        .await;
    // Assert
    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(html.contains("role=\"alert\""), "an error summary");
    assert!(html.contains("Ce champ est obligatoire."));
    assert!(html.contains("aria-invalid=\"true\""));
    assert!(
        html.contains(">Bonjour</textarea>"),
        "what the citizen typed is kept"
    );
}
both_engines!(
    the_html_form_shows_each_error_next_to_its_field_and_keeps_what_was_typed,
    html_form_errors_are_shown_on_the_page
);
