//! The hardening of the public edges: identities nobody proved, the
//! acknowledgement caps, client addresses behind proxies, idempotency keys
//! per caller, the staff sign-in, headers, webhook bodies kept once, long
//! threads in pages, and the database file's mode.

use std::time::Duration;

use chrono::Utc;
use inbox::auth::{hash_password, Role};
use inbox::store::contacts::MatchReason;
use inbox::store::workspace::NewUser;
use models::{ContactId, ThreadId};
use reqwest::StatusCode;

use crate::both_engines;
use crate::doubles::RecordingSender;
use crate::helpers::{
    csrf_of, email_message, form_body, session_cookie, sign_in, spawn_app, spawn_app_with,
    staff_page, AppOptions, Configure, Engine, TestApp,
};

const PASSWORD: &str = "un mot de passe assez long";

async fn staff(app: &TestApp, email: &str) {
    app.store
        .create_user(&NewUser {
            id: uuid::Uuid::now_v7().to_string(),
            email: email.to_owned(),
            display_name: None,
            role: Role::Agent,
            password_hash: hash_password(PASSWORD).unwrap(),
            at: Utc::now(),
        })
        .await
        .unwrap();
}

/// Settings of a gateway behind a reverse proxy on 127.0.0.1.
fn proxied(per_minute: u32) -> Configure {
    Box::new(move |s| {
        s.server.trust_forwarded_for = true;
        s.server.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
        s.connectors.webform.rate_limit_per_minute = per_minute;
        s.connectors.webform.rate_limit_burst = per_minute;
    })
}

/// A gateway behind a reverse proxy on 127.0.0.1.
async fn behind_proxy(engine: Engine, per_minute: u32) -> TestApp {
    spawn_app_with(
        engine,
        AppOptions {
            configure: Some(proxied(per_minute)),
            ..AppOptions::default()
        },
    )
    .await
}

async fn post_form_from(
    app: &TestApp,
    forwarded: &str,
    body: &serde_json::Value,
) -> reqwest::Response {
    app.client
        .post(format!("{}/api/v1/forms", app.address))
        .header("x-forwarded-for", forwarded)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn contact_of(app: &TestApp, thread: &str) -> ContactId {
    app.store
        .get_thread(ThreadId::parse(thread).unwrap())
        .await
        .unwrap()
        .contact_id
}

async fn form_never_joins_or_changes_a_citizen(engine: Engine) {
    // Arrange: a request by form with no phone, in French.
    let app = spawn_app(engine).await;
    let first = app
        .post_form_json(&serde_json::json!({
            "name": "Réjean Bouchard",
            "email": "rejean@example.net",
            "message": "Le bac n'a pas été ramassé rue des Pruches.",
            "lang": "fr",
        }))
        .await;
    assert_eq!(first.status(), 201);
    let first: serde_json::Value = first.json().await.unwrap();
    let first_id = first["thread_id"].as_str().unwrap().to_owned();
    let first_ref = first["reference"].as_str().unwrap().to_owned();

    // Act: someone else types the same address, quotes the reference and
    // gives a phone number, in English.
    let second = app
        .post_form_json(&serde_json::json!({
            "name": "Someone Else",
            "email": "rejean@example.net",
            "phone": "514 555-0142",
            "subject": format!("Re: {first_ref}"),
            "message": format!("About {first_ref}: call me back at this number."),
            "lang": "en",
        }))
        .await;

    // Assert: a request of its own; nothing about the first leaks or changes.
    assert_eq!(second.status(), 201);
    let text = second.text().await.unwrap();
    assert!(!text.contains(&first_id), "{text}");
    assert!(!text.contains(&first_ref), "{text}");
    let second: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_ne!(second["reference"].as_str().unwrap(), first_ref);
    let first_contact = app
        .store
        .get_contact(contact_of(&app, &first_id).await)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first_contact.summary.phone, None);
    assert_eq!(first_contact.summary.language, "fr");
    assert_eq!(
        app.store
            .list_messages(ThreadId::parse(&first_id).unwrap())
            .await
            .unwrap()
            .len(),
        1,
        "nothing joined the first thread"
    );
    // The agent sees the match, not verified, and decides.
    let second_contact = contact_of(&app, second["thread_id"].as_str().unwrap()).await;
    let candidates = app.store.merge_candidates(second_contact).await.unwrap();
    assert!(candidates
        .iter()
        .any(|c| c.contact.id == first_contact.summary.id
            && c.reason == MatchReason::SameEmailUnverified));
    let second_record = app
        .store
        .get_contact(second_contact)
        .await
        .unwrap()
        .unwrap();
    assert!(second_record.summary.unverified);
    assert!(
        second_record.identities.is_empty(),
        "a form proves no identity"
    );
}
both_engines!(
    a_form_quoting_a_reference_with_the_same_email_opens_its_own_request_and_changes_nobody,
    form_never_joins_or_changes_a_citizen
);

async fn form_does_not_touch_a_mail_citizen(engine: Engine) {
    // Arrange: a citizen known by the mail they sent.
    let app = spawn_app(engine).await;
    let mail = app
        .ingest(&email_message(
            "citoyenne@example.net",
            "Lampadaire",
            "Le lampadaire devant chez moi est éteint.",
            "lamp-1@poste.example.net",
        ))
        .await;
    let reference = mail.reference.clone().unwrap().to_string();

    // Act: the form, with that address, the reference and a phone number.
    let response = app
        .post_form_json(&serde_json::json!({
            "name": "Autre",
            "email": "citoyenne@example.net",
            "phone": "450 555-0100",
            "message": format!("Suivi de {reference}"),
            "lang": "en",
        }))
        .await;

    // Assert
    assert_eq!(response.status(), 201);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_ne!(
        body["thread_id"].as_str().unwrap(),
        mail.thread_id.to_string()
    );
    let citizen = app
        .store
        .get_contact(mail.contact_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(citizen.summary.phone, None);
    assert_eq!(citizen.summary.language, "fr");
    assert_eq!(
        app.store.list_messages(mail.thread_id).await.unwrap().len(),
        1
    );
}
both_engines!(
    a_form_with_a_mail_citizens_address_leaves_that_citizen_and_thread_alone,
    form_does_not_touch_a_mail_citizen
);

async fn acknowledgement_caps(engine: Engine) {
    // Arrange: an email sender that records what it sends.
    let sender = std::sync::Arc::new(RecordingSender::email());
    let app = spawn_app_with(
        engine,
        AppOptions {
            connectors: vec![sender.clone()],
            configure: Some(proxied(1_000)),
            ..AppOptions::default()
        },
    )
    .await;
    // Act: ten submissions to one address, each from another client.
    for i in 0..10 {
        let r = post_form_from(
            &app,
            &format!("198.51.100.{i}"),
            &serde_json::json!({
                "name": "Avis final 1-900-555-0199 http://exemple.test",
                "email": "victime@example.net",
                "subject": "Votre compte sera suspendu, appelez le 1-900",
                "message": "Votre compte sera suspendu, appelez le 1-900-555-0199",
            }),
        )
        .await;
        assert_eq!(r.status(), 201);
    }
    app.run_pending_jobs().await;
    // Assert: three acknowledgements at most, each repeating nothing typed;
    // every request is kept.
    let sent = sender.sent();
    assert_eq!(sent.len(), 3, "max_acks_per_sender_per_day");
    for message in &sent {
        let all = format!(
            "{:?} {:?} {} {:?}",
            message.recipient_name, message.subject, message.text, message.html
        );
        assert!(!all.contains("1-900"), "{all}");
        assert!(!all.contains("suspendu"), "{all}");
        assert!(!all.contains("exemple.test"), "{all}");
    }
    let threads = app
        .store
        .list_threads(&inbox::store::workspace::ThreadQuery {
            limit: 50,
            ..inbox::store::workspace::ThreadQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(threads.len(), 10);
}
both_engines!(
    ten_forms_to_one_address_from_ten_clients_send_at_most_three_acknowledgements_repeating_nothing_typed,
    acknowledgement_caps
);

async fn hourly_cap_alarm(engine: Engine) {
    // Arrange: a small hourly cap.
    let app = spawn_app_with(
        engine,
        AppOptions {
            configure: Some(Box::new(|s| s.office.max_acks_per_hour = 2)),
            ..AppOptions::default()
        },
    )
    .await;
    // Act
    for i in 0..4 {
        let r = app
            .post_form_json(&form_body(&format!("c{i}@example.net"), "Lampadaire brisé"))
            .await;
        assert_eq!(r.status(), 201);
    }
    // Assert: two acknowledgements, and an alarm for the administrator.
    let queued: u64 = app
        .store
        .count_outbox_by_state()
        .await
        .unwrap()
        .iter()
        .map(|(_, n)| n)
        .sum();
    assert_eq!(queued, 2);
    let alarms = app.store.list_alarms(false).await.unwrap();
    assert!(
        alarms
            .iter()
            .any(|a| a.kind == inbox::ingest::ACK_CAP_ALARM),
        "{alarms:?}"
    );
    let ready: serde_json::Value = app.get("/readyz").await.json().await.unwrap();
    assert!(
        ready["alarms"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["kind"] == inbox::ingest::ACK_CAP_ALARM),
        "the alarm shows on /readyz: {ready}"
    );
}
both_engines!(
    the_hourly_acknowledgement_cap_holds_and_raises_an_alarm,
    hourly_cap_alarm
);

async fn forwarded_for_cannot_be_rotated(engine: Engine) {
    // Arrange: three submissions a minute per client.
    let app = behind_proxy(engine, 3).await;
    // Act: the client writes a new address at the left of the header each
    // time; the proxy appends the real one.
    let mut statuses = Vec::new();
    for i in 0..6 {
        let r = post_form_from(
            &app,
            &format!("10.9.8.{i}, 203.0.113.50"),
            &form_body(&format!("c{i}@example.net"), "Nid-de-poule rue Thérèse"),
        )
        .await;
        statuses.push(r.status());
    }
    // Assert
    let passed = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    assert_eq!(passed, 3, "{statuses:?}");
    assert!(statuses.contains(&StatusCode::TOO_MANY_REQUESTS));
    // An IPv6 client is limited by its /64.
    let mut v6 = Vec::new();
    for i in 0..5 {
        v6.push(
            post_form_from(
                &app,
                &format!("2001:db8:1:2::{i:x}"),
                &form_body(&format!("v{i}@example.net"), "Nid-de-poule"),
            )
            .await
            .status(),
        );
    }
    assert_eq!(
        v6.iter().filter(|s| **s == StatusCode::CREATED).count(),
        3,
        "{v6:?}"
    );
}
both_engines!(
    a_rotating_forwarded_for_does_not_escape_the_rate_limit_and_ipv6_counts_per_64,
    forwarded_for_cannot_be_rotated
);

#[test]
fn trusting_forwarded_for_without_proxies_is_refused_at_start() {
    let mut settings = inbox::config::Settings::default();
    settings.server.trust_forwarded_for = true;
    let error = settings.validate().unwrap_err().to_string();
    assert!(error.contains("trusted_proxies"), "{error}");
}

async fn idempotency_keys_per_caller(engine: Engine) {
    // Arrange
    let app = behind_proxy(engine, 1_000).await;
    let send = |client: &'static str, email: &'static str| {
        let app = &app;
        async move {
            app.client
                .post(format!("{}/api/v1/forms", app.address))
                .header("x-forwarded-for", client)
                .header("idempotency-key", "abc-123")
                .json(&form_body(email, "Nid-de-poule"))
                .send()
                .await
                .unwrap()
        }
    };
    // Act
    let one = send("198.51.100.1", "un@example.net").await;
    let other = send("198.51.100.2", "deux@example.net").await;
    let replay = send("198.51.100.1", "un@example.net").await;
    // Assert: another caller's key is its own; the same caller replays.
    assert_eq!(one.status(), 201);
    assert_eq!(other.status(), 201);
    let one: serde_json::Value = one.json().await.unwrap();
    let other: serde_json::Value = other.json().await.unwrap();
    let replay: serde_json::Value = replay.json().await.unwrap();
    assert_ne!(one["thread_id"], other["thread_id"]);
    assert_eq!(one["thread_id"], replay["thread_id"]);
}
both_engines!(
    an_idempotency_key_is_scoped_to_its_caller,
    idempotency_keys_per_caller
);

async fn sign_in_answers_alike(engine: Engine) {
    // Arrange
    let app = spawn_app(engine).await;
    staff(&app, "agente@saintejulie.ca").await;
    for _ in 0..5 {
        assert_eq!(
            sign_in(&app, "agente@saintejulie.ca", "mauvais")
                .await
                .status(),
            StatusCode::UNAUTHORIZED
        );
    }
    // Act
    let locked = sign_in(&app, "agente@saintejulie.ca", PASSWORD).await;
    let unknown = sign_in(&app, "personne@saintejulie.ca", PASSWORD).await;
    // Assert: the same status and the same words.
    assert_eq!(locked.status(), unknown.status());
    assert_eq!(locked.status(), StatusCode::UNAUTHORIZED);
    let strip = |page: String| {
        page.split("name=\"login_csrf\"")
            .next()
            .unwrap()
            .replace("agente@saintejulie.ca", "")
            .replace("personne@saintejulie.ca", "")
    };
    assert_eq!(
        strip(locked.text().await.unwrap()),
        strip(unknown.text().await.unwrap())
    );
}
both_engines!(
    a_locked_account_an_unknown_email_and_a_wrong_password_get_the_same_answer,
    sign_in_answers_alike
);

async fn concurrent_guesses(engine: Engine) {
    // Arrange
    let app = spawn_app(engine).await;
    staff(&app, "agente@saintejulie.ca").await;
    let before = app.sign_in_checks();
    // Act: 15 wrong passwords at once (the per-address throttle allows 20).
    let attempts = (0..15).map(|_| sign_in(&app, "agente@saintejulie.ca", "mauvais"));
    let statuses: Vec<StatusCode> = futures::future::join_all(attempts)
        .await
        .iter()
        .map(reqwest::Response::status)
        .collect();
    // Assert: every one refused, and only five reached the password hash
    // of the account (the others were refused by the lock, with the dummy
    // hash's work). The lock then holds for the right password.
    assert!(
        statuses.iter().all(|s| *s == StatusCode::UNAUTHORIZED),
        "{statuses:?}"
    );
    let after = app.sign_in_checks();
    assert_eq!(after.0 - before.0, 15, "every attempt costs one hash");
    assert_eq!(after.1 - before.1, 5, "five reached the account's hash");
    let right = sign_in(&app, "agente@saintejulie.ca", PASSWORD).await;
    assert_eq!(right.status(), StatusCode::UNAUTHORIZED, "locked");
}
both_engines!(
    concurrent_wrong_passwords_lock_the_account_after_five,
    concurrent_guesses
);

async fn failures_decay(engine: Engine) {
    // Arrange: a fixed clock.
    let start = Utc::now();
    let app = spawn_app_with(
        engine,
        AppOptions {
            now: Some(start),
            ..AppOptions::default()
        },
    )
    .await;
    staff(&app, "agente@saintejulie.ca").await;
    for _ in 0..5 {
        sign_in(&app, "agente@saintejulie.ca", "mauvais").await;
    }
    assert_eq!(
        sign_in(&app, "agente@saintejulie.ca", PASSWORD)
            .await
            .status(),
        StatusCode::UNAUTHORIZED,
        "locked"
    );
    // Act: the lock expires; one more wrong password, then the right one.
    app.set_now(start + chrono::Duration::minutes(16));
    sign_in(&app, "agente@saintejulie.ca", "mauvais").await;
    let after = sign_in(&app, "agente@saintejulie.ca", PASSWORD).await;
    // Assert: one failure after the lock does not lock again.
    assert_eq!(after.status(), StatusCode::SEE_OTHER);
}
both_engines!(failures_are_forgotten_when_the_lock_expires, failures_decay);

async fn sign_in_needs_its_form(engine: Engine) {
    // Arrange
    let app = spawn_app(engine).await;
    staff(&app, "agente@saintejulie.ca").await;
    // Act: a post from another site's form, with no token.
    let forged = app
        .client
        .post(format!("{}/agent/login", app.address))
        .form(&[("email", "agente@saintejulie.ca"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    // Assert
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert!(forged
        .headers()
        .get("set-cookie")
        .is_some_and(|c| !c.to_str().unwrap().starts_with("inbox_session=")));
}
both_engines!(
    a_sign_in_post_without_the_forms_token_is_refused,
    sign_in_needs_its_form
);

async fn staff_headers(engine: Engine) {
    // Arrange
    let app = spawn_app(engine).await;
    // Act
    for path in ["/agent", "/agent/login"] {
        let response = app.get(path).await;
        // Assert
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert!(
            headers["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'"),
            "{path}"
        );
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert_eq!(headers["cache-control"], "no-store", "{path}");
        assert_eq!(headers["referrer-policy"], "same-origin", "{path}");
    }
}
both_engines!(
    staff_pages_cannot_be_framed_sniffed_or_cached,
    staff_headers
);

async fn events_end_with_the_session(engine: Engine) {
    // Arrange: a signed-in agent with the live-update stream open.
    let app = spawn_app(engine).await;
    staff(&app, "agente@saintejulie.ca").await;
    let ok = sign_in(&app, "agente@saintejulie.ca", PASSWORD).await;
    let cookie = session_cookie(&ok);
    let (_, inbox) = staff_page(&app, &cookie, "/agent").await;
    let csrf = csrf_of(&inbox);
    let mut events = app
        .client
        .get(format!("{}/agent/events", app.address))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), StatusCode::OK);
    // Act: sign out.
    let out = app
        .client
        .post(format!("{}/agent/logout", app.address))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    // Assert: the stream ends by itself.
    let ended = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            match events.chunk().await {
                Ok(Some(_)) => continue,
                Ok(None) | Err(_) => return,
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the stream outlived its session");
}
both_engines!(
    the_live_update_stream_ends_when_the_session_does,
    events_end_with_the_session
);

async fn long_threads_in_pages(engine: Engine) {
    // Arrange: one citizen's thread of 250 messages.
    let app = spawn_app(engine).await;
    let first = app
        .ingest(&email_message(
            "bavard@example.net",
            "Bruit",
            "Message 0",
            "m0@poste.example.net",
        ))
        .await;
    let reference = first.reference.clone().unwrap();
    for i in 1..250 {
        let mut message = email_message(
            "bavard@example.net",
            &format!("Re: [{reference}] Bruit"),
            &format!("Message {i}"),
            &format!("m{i}@poste.example.net"),
        );
        message.received_at = Utc::now() + chrono::Duration::seconds(i);
        app.ingest(&message).await;
    }
    let token = crate::workspace::account(&app, "agente@saintejulie.ca", Role::Agent).await;
    let read = |query: String| {
        let app = &app;
        let token = token.clone();
        async move {
            app.client
                .get(format!(
                    "{}/api/v1/threads/{}{query}",
                    app.address, first.thread_id
                ))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
        }
    };
    // Act: the newest page, then back through the cursor.
    let mut seen = Vec::new();
    let mut query = "?limit=100".to_owned();
    loop {
        let response = read(query.clone()).await;
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().await.unwrap();
        let page: Vec<String> = body["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["direction"] == "inbound")
            .map(|m| m["body_text"].as_str().unwrap().to_owned())
            .collect();
        // At most `limit` stored messages; the newest page also shows
        // what is queued but not sent yet.
        let stored = body["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["direction"] == "inbound" || m["delivery_state"] == "sent")
            .count();
        assert!(stored <= 100);
        seen.splice(0..0, page);
        match body["messages_before"].as_str() {
            Some(cursor) => query = format!("?limit=100&before={cursor}"),
            None => break,
        }
    }
    // Assert: every message once, in order.
    let expected: Vec<String> = (0..250).map(|i| format!("Message {i}")).collect();
    assert_eq!(seen, expected);
    assert_eq!(read("?before=nonsense".into()).await.status(), 422);
    assert_eq!(read("?limit=0".into()).await.status(), 422);
}
both_engines!(
    a_long_thread_is_read_newest_page_first_and_every_message_once,
    long_threads_in_pages
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_sqlite_database_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("private").join("inbox.db");
    let url = format!("sqlite://{}", path.display());
    let store = inbox::store::connect(
        &secrecy::SecretString::from(url),
        &inbox::store::ConnectOptions {
            create_if_missing: true,
            ..inbox::store::ConnectOptions::default()
        },
    )
    .await
    .unwrap();
    store.migrate().await.unwrap();
    for file in [path.clone(), path.with_extension("db-wal")] {
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", file.display());
    }
}

async fn merging_a_form_record(engine: Engine) {
    // Arrange: a citizen known by mail, with no phone; a form record with
    // the same address and a phone typed by someone.
    let app = spawn_app(engine).await;
    let token = crate::workspace::account(&app, "agente@saintejulie.ca", Role::Agent).await;
    let mail = app
        .ingest(&email_message(
            "citoyenne@example.net",
            "Lampadaire",
            "Le lampadaire devant chez moi est éteint.",
            "lamp-2@poste.example.net",
        ))
        .await;
    let form: serde_json::Value = app
        .post_form_json(&serde_json::json!({
            "name": "Autre", "email": "citoyenne@example.net", "phone": "514 555-0142",
            "message": "Rappelez-moi à ce numéro.",
        }))
        .await
        .json()
        .await
        .unwrap();
    let form_contact = contact_of(&app, form["thread_id"].as_str().unwrap()).await;
    let merge = |from: ContactId, into: ContactId| {
        let app = &app;
        let token = token.clone();
        async move {
            app.client
                .post(format!("{}/api/v1/contacts/{from}/merge", app.address))
                .bearer_auth(token)
                .json(&serde_json::json!({ "into": into.to_string() }))
                .send()
                .await
                .unwrap()
        }
    };

    // Act + Assert: the form record's page offers to merge it into the
    // known citizen, not the other way.
    let ok = sign_in(&app, "agente@saintejulie.ca", PASSWORD).await;
    let cookie = session_cookie(&ok);
    let (_, page) = staff_page(
        &app,
        &cookie,
        &format!("/agent/threads/{}", form["thread_id"].as_str().unwrap()),
    )
    .await;
    assert!(
        page.contains(&format!("name=\"into\" value=\"{}\"", mail.contact_id)),
        "{page}"
    );

    // The form record merges into the citizen: its request follows, and
    // what the visitor typed does not become the citizen's details.
    assert_eq!(
        merge(form_contact, mail.contact_id).await.status(),
        StatusCode::OK
    );
    let citizen = app
        .store
        .get_contact(mail.contact_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(citizen.summary.phone, None);
    assert_eq!(citizen.summary.display_name.as_deref(), Some("Citoyen"));
    assert_eq!(
        contact_of(&app, form["thread_id"].as_str().unwrap()).await,
        mail.contact_id
    );
}
both_engines!(
    a_form_record_merges_into_the_known_citizen_without_its_typed_details,
    merging_a_form_record
);
