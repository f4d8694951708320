//! The email channel end to end, against the real Dovecot and Postfix of
//! `tests/setup/mail-servers.sh`: a citizen's mail goes in over SMTP, the
//! gateway reads it over IMAP, and its acknowledgement is read back out of
//! the citizen's own mailbox. Each test uses fresh addresses, so tests run in
//! parallel and repeated runs never see each other's mail.

use std::time::{Duration, Instant};

use connectors::email::{parse_email, ParseContext};
use models::{Channel, ExternalMessageId, MessageKind, OutboundKind, OutboxState, ReferencePrefix};

use crate::both_engines;
use crate::helpers::{spawn_app_with, AppOptions, Engine, TestApp};
use crate::mail::{
    append_all, citizen_email, email_settings, fresh_address, header, mail_env, message_id_of,
    read_all, seen_count, smtp_send, start_cutting_proxy, wait_for_messages, MailEnv,
};

/// The folder and mailbox a test gateway reads.
pub(crate) struct Clientele {
    pub(crate) env: MailEnv,
    pub(crate) address: String,
}

pub(crate) async fn gateway(
    engine: Engine,
    folder: &str,
    change: impl FnOnce(&mut connectors::email::EmailSettings) + Send + 'static,
) -> (TestApp, Clientele) {
    let env = mail_env();
    let address = fresh_address("clientele", "saintejulie.test");
    let mut email = email_settings(&env, &address, folder);
    change(&mut email);
    let app = spawn_app_with(
        engine,
        AppOptions {
            configure: Some(Box::new(move |settings| {
                settings.connectors.email = Some(email);
                settings.office.message_id_domain = "saintejulie.test".to_owned();
            })),
            ..AppOptions::default()
        },
    )
    .await;
    (app, Clientele { env, address })
}

/// The thread that holds the email with this Message-ID.
async fn thread_of(app: &TestApp, raw: &[u8]) -> models::ThreadId {
    let id = message_id_of(raw);
    let key = ExternalMessageId::parse(id.trim_matches(['<', '>'])).unwrap();
    app.store
        .find_inbound(Channel::Email, &key)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{id} was not stored"))
        .1
        .id
}

/// The messages citizens (or automatons) sent into a thread, in order.
async fn inbound(app: &TestApp, thread: models::ThreadId) -> Vec<inbox::store::MessageRecord> {
    app.store
        .list_messages(thread)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.direction == inbox::store::Direction::Inbound)
        .collect()
}

async fn outbox_rows(app: &TestApp) -> u64 {
    app.store
        .count_outbox_by_state()
        .await
        .unwrap()
        .iter()
        .map(|(_, n)| n)
        .sum()
}

/// Reads the acknowledgement the way a mail client would.
fn parse_received(raw: &[u8]) -> connectors::email::ParsedEmail {
    let context = ParseContext {
        reference_prefix: ReferencePrefix::parse("SJ").unwrap(),
        city_addresses: vec![],
        max_attachment_bytes: 1 << 20,
        fallback_received_at: chrono::Utc::now(),
    };
    parse_email(raw, &context).unwrap()
}

async fn an_email_gets_one_french_acknowledgement_and_replies_join_its_thread(engine: Engine) {
    // Arrange
    let (app, clientele) = gateway(engine, "INBOX", |_| {}).await;
    let env = &clientele.env;
    let citizen = fresh_address("citoyenne", "example.test");
    let first = citizen_email(
        &citizen,
        &clientele.address,
        "Nid-de-poule rue Thérèse",
        "Bonjour, il y a un nid-de-poule profond devant le 123 rue Thérèse.\r\nMerci",
        "",
    );

    // Act: the citizen writes; the gateway reads and acknowledges.
    smtp_send(env, &citizen, &clientele.address, &first).await;
    wait_for_messages(env, &clientele.address, "INBOX", 1).await;
    let pass = app.poll_mailbox().await;
    app.run_pending_jobs().await;
    wait_for_messages(env, &citizen, "INBOX", 1).await;

    // Assert: one acknowledgement, in French, threaded, marked automatic.
    assert_eq!((pass.stored, pass.acknowledged), (1, 1));
    let thread = app
        .store
        .get_thread(thread_of(&app, &first).await)
        .await
        .unwrap();
    let reference = thread.reference.clone().expect("a reference number");
    let received = read_all(env, &citizen).await;
    assert_eq!(received.len(), 1, "exactly one acknowledgement");
    let ack = &received[0];
    let parsed = parse_received(ack);
    assert_eq!(
        parsed.message.subject.as_deref(),
        Some(format!("[{reference}] Re: Nid-de-poule rue Thérèse").as_str())
    );
    assert!(parsed
        .message
        .body_text
        .contains(&format!("Son numéro de requête est {reference}")));
    assert_eq!(
        header(ack, "Auto-Submitted").as_deref(),
        Some("auto-replied")
    );
    assert_eq!(header(ack, "In-Reply-To"), Some(message_id_of(&first)));
    assert!(header(ack, "References")
        .unwrap()
        .contains(&message_id_of(&first)));
    assert!(header(ack, "Reply-To")
        .unwrap()
        .contains(&clientele.address));
    let ack_id = message_id_of(ack);
    assert!(ack_id.starts_with(&format!("<sj.{reference}.")), "{ack_id}");
    assert!(header(ack, "Content-Type")
        .unwrap()
        .starts_with("multipart/alternative"));
    assert_eq!(seen_count(env, &clientele.address, "INBOX").await, (1, 1));

    // Act: a reply carrying the reference, then one with only In-Reply-To.
    let by_reference = citizen_email(
        &citizen,
        &clientele.address,
        &format!("Re: [{reference}] Nid-de-poule rue Thérèse"),
        "Il est encore plus gros aujourd'hui.",
        "",
    );
    let by_header = citizen_email(
        &citizen,
        &clientele.address,
        "Une précision",
        "Le trou est du côté des numéros impairs.",
        &format!("In-Reply-To: {ack_id}\r\nReferences: {ack_id}\r\n"),
    );
    smtp_send(env, &citizen, &clientele.address, &by_reference).await;
    smtp_send(env, &citizen, &clientele.address, &by_header).await;
    wait_for_messages(env, &clientele.address, "INBOX", 3).await;
    let pass = app.poll_mailbox().await;
    let sent = app.run_pending_jobs().await;

    // Assert: both join the thread; no new reference, no second acknowledgement.
    assert_eq!((pass.stored, pass.acknowledged), (2, 0));
    assert_eq!(thread_of(&app, &by_reference).await, thread.id);
    assert_eq!(thread_of(&app, &by_header).await, thread.id);
    assert_eq!(inbound(&app, thread.id).await.len(), 3);
    assert_eq!(app.store.list_outbox(thread.id).await.unwrap().len(), 1);
    assert_eq!(sent.len(), 1, "nothing more to send: {sent:?}");

    // Act: a stranger quotes the citizen's reference.
    let stranger = fresh_address("inconnu", "example.test");
    let quoting = citizen_email(
        &stranger,
        &clientele.address,
        &format!("Re: [{reference}] Nid-de-poule rue Thérèse"),
        "Je veux voir ce dossier.",
        "",
    );
    smtp_send(env, &stranger, &clientele.address, &quoting).await;
    wait_for_messages(env, &clientele.address, "INBOX", 4).await;
    let pass = app.poll_mailbox().await;

    // Assert: a request of their own, never the citizen's thread.
    assert_eq!((pass.stored, pass.acknowledged), (1, 1));
    let theirs = app
        .store
        .get_thread(thread_of(&app, &quoting).await)
        .await
        .unwrap();
    assert_ne!(theirs.id, thread.id);
    assert_ne!(theirs.reference, thread.reference);
}
both_engines!(
    an_email_gets_one_french_acknowledgement_and_replies_join_its_thread,
    an_email_gets_one_french_acknowledgement_and_replies_join_its_thread
);

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/email/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

async fn the_fixtures_are_acknowledged_as_their_readme_says(engine: Engine) {
    // Arrange: every fixture, each with the envelope sender it would carry.
    let (app, clientele) = gateway(engine, "INBOX", |_| {}).await;
    let env = &clientele.env;
    let cases: [(&str, &str, bool); 7] = [
        (
            "01-plain-fr-iso-8859-1-qp.eml",
            "rejean@poste.example.net",
            true,
        ),
        (
            "02-outlook-html-only-utf8.eml",
            "citoyenne@example.com",
            true,
        ),
        (
            "03-multipart-alternative-jpeg.eml",
            "citoyen@example.org",
            true,
        ),
        (
            "05-out-of-office-auto-reply.eml",
            "absent@example.com",
            false,
        ),
        ("06-bounce-dsn.eml", "", false),
        ("07-mailing-list.eml", "bounces@lists.example.org", false),
        (
            "08-windows-1252-smart-quotes.eml",
            "vieux@example.net",
            true,
        ),
    ];

    // Act
    for (name, from, _) in &cases {
        smtp_send(env, from, &clientele.address, &fixture(name)).await;
    }
    wait_for_messages(env, &clientele.address, "INBOX", 7).await;
    let pass = app.poll_mailbox().await;

    // Assert: every message stored; only the four citizen messages acknowledged.
    assert_eq!((pass.stored, pass.quarantined), (7, 0));
    assert_eq!(pass.acknowledged, 4);
    for (name, _, acknowledged) in &cases {
        let thread = app
            .store
            .get_thread(thread_of(&app, &fixture(name)).await)
            .await
            .unwrap();
        let outbox = app.store.list_outbox(thread.id).await.unwrap();
        assert_eq!(
            outbox
                .iter()
                .filter(|o| o.kind == OutboundKind::Acknowledgement)
                .count(),
            usize::from(*acknowledged),
            "{name}"
        );
        assert_eq!(thread.reference.is_some(), *acknowledged, "{name}");
    }
    let photo = thread_of(&app, &fixture("03-multipart-alternative-jpeg.eml")).await;
    let messages = app.store.list_messages(photo).await.unwrap();
    let attachment = &messages[0].attachments[0];
    assert_eq!(attachment.content_type, "image/jpeg");
    assert_eq!(
        attachment.sha256.as_deref(),
        Some("0711964165402b6b9c3cec8d7f26fd720034ab5b3342de90cab383f575f87962")
    );
}
both_engines!(
    the_fixtures_are_acknowledged_as_their_readme_says,
    the_fixtures_are_acknowledged_as_their_readme_says
);

async fn a_bounce_of_our_acknowledgement_marks_it_failed_in_its_thread(engine: Engine) {
    // Arrange: a citizen writes and is acknowledged.
    let (app, clientele) = gateway(engine, "INBOX", |_| {}).await;
    let env = &clientele.env;
    let citizen = fresh_address("citoyen", "example.test");
    let first = citizen_email(
        &citizen,
        &clientele.address,
        "Lampadaire",
        "Il est éteint.",
        "",
    );
    smtp_send(env, &citizen, &clientele.address, &first).await;
    wait_for_messages(env, &clientele.address, "INBOX", 1).await;
    app.poll_mailbox().await;
    app.run_pending_jobs().await;
    wait_for_messages(env, &citizen, "INBOX", 1).await;
    let ack_id = message_id_of(&read_all(env, &citizen).await[0]);
    let thread = thread_of(&app, &first).await;
    assert_eq!(
        app.store.list_outbox(thread).await.unwrap()[0].state,
        OutboxState::Sent
    );

    // Act: the relay reports that the acknowledgement could not be delivered.
    let dsn = String::from_utf8(fixture("06-bounce-dsn.eml"))
        .unwrap()
        .replace("<sj.SJ-2026-000125.5d2f90aa@saintejulie.ca>", &ack_id);
    smtp_send(env, "", &clientele.address, dsn.as_bytes()).await;
    wait_for_messages(env, &clientele.address, "INBOX", 2).await;
    let pass = app.poll_mailbox().await;

    // Assert: stored in the request's thread, the delivery failed, no answer.
    assert_eq!((pass.stored, pass.acknowledged), (1, 0));
    let outbox = app.store.list_outbox(thread).await.unwrap();
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0].state, OutboxState::Failed);
    assert!(outbox[0].last_error.as_deref().unwrap().contains("5.1.1"));
    let messages = inbound(&app, thread).await;
    assert_eq!(messages.len(), 2);
    assert!(messages.iter().any(|m| m.kind == Some(MessageKind::Bounce)));
}
both_engines!(
    a_bounce_of_our_acknowledgement_marks_it_failed_in_its_thread,
    a_bounce_of_our_acknowledgement_marks_it_failed_in_its_thread
);

async fn one_sender_gets_at_most_the_daily_number_of_acknowledgements(engine: Engine) {
    // Arrange: an auto-responder we fail to recognise writes four new requests.
    let (app, clientele) = gateway(engine, "INBOX", |email| {
        email.max_acks_per_sender_per_day = 2;
    })
    .await;
    let env = &clientele.env;
    let robot = fresh_address("robot", "example.test");
    let messages: Vec<Vec<u8>> = (0..4)
        .map(|i| {
            citizen_email(
                &robot,
                &clientele.address,
                &format!("Sujet {i}"),
                "Texte",
                "",
            )
        })
        .collect();

    // Act
    append_all(env, &clientele.address, "INBOX", &messages).await;
    let pass = app.poll_mailbox().await;

    // Assert: four requests stored, two acknowledged.
    assert_eq!((pass.stored, pass.acknowledged), (4, 2));
    assert_eq!(outbox_rows(&app).await, 2);
}
both_engines!(
    one_sender_gets_at_most_the_daily_number_of_acknowledgements,
    one_sender_gets_at_most_the_daily_number_of_acknowledgements
);

fn numbered_messages(clientele: &str, count: usize, padding: usize) -> Vec<Vec<u8>> {
    (0..count)
        .map(|i| {
            let citizen = fresh_address(&format!("citoyen{i}"), "example.test");
            let body = format!(
                "Demande {i}.\r\n{}",
                "Texte de la demande. ".repeat(padding / 21)
            );
            citizen_email(&citizen, clientele, &format!("Demande {i}"), &body, "")
        })
        .collect()
}

async fn a_connection_cut_mid_fetch_loses_and_duplicates_nothing(engine: Engine) {
    // Arrange: six messages of about 3 kB, read two at a time through a
    // proxy that cuts the first connection in the second batch.
    let env = mail_env();
    let proxy = start_cutting_proxy(env.imap_port, 10_000).await;
    let (app, clientele) = gateway(engine, "INBOX", move |email| {
        email.mailboxes[0].imap_port = Some(proxy);
        email.mailboxes[0].fetch_batch_messages = 2;
    })
    .await;
    let messages = numbered_messages(&clientele.address, 6, 3_000);
    append_all(&env, &clientele.address, "INBOX", &messages).await;

    // Act
    let worker = &app.mailboxes[0];
    let cut = worker.poll_once().await;
    let committed = app
        .store
        .mailbox_position("clientele")
        .await
        .unwrap()
        .map_or(0, |p| p.last_uid);
    let pass = worker.poll_once().await.unwrap().unwrap();

    // Assert: the cut was mid-stream, and every message is there exactly once.
    assert!(cut.is_err(), "the first pass must fail: {cut:?}");
    assert!(
        (1..6).contains(&committed),
        "committed before the cut: {committed}"
    );
    assert_eq!(pass.stored + committed as usize, 6);
    assert_eq!(pass.duplicates, 0);
    for raw in &messages {
        thread_of(&app, raw).await;
    }
    assert_eq!(outbox_rows(&app).await, 6);
    assert_eq!(seen_count(&env, &clientele.address, "INBOX").await, (6, 6));
}
both_engines!(
    a_connection_cut_mid_fetch_loses_and_duplicates_nothing,
    a_connection_cut_mid_fetch_loses_and_duplicates_nothing
);

async fn a_uidvalidity_change_reacknowledges_nothing(engine: Engine) {
    // Arrange: three requests read and acknowledged from a folder.
    let (app, clientele) = gateway(engine, "Demandes", |_| {}).await;
    let env = &clientele.env;
    let messages = numbered_messages(&clientele.address, 3, 100);
    append_all(env, &clientele.address, "Demandes", &messages).await;
    let first = app.poll_mailbox().await;
    let before = app
        .store
        .mailbox_position("clientele")
        .await
        .unwrap()
        .unwrap();

    // Act: the folder is recreated (new UIDVALIDITY) with the same messages
    // and one new one.
    let mut session = crate::mail::raw_session(env, &clientele.address).await;
    session.delete("Demandes").await.unwrap();
    session.logout().await.ok();
    let mut again = messages.clone();
    again.extend(numbered_messages(&clientele.address, 1, 100));
    append_all(env, &clientele.address, "Demandes", &again).await;
    let second = app.poll_mailbox().await;

    // Assert
    let after = app
        .store
        .mailbox_position("clientele")
        .await
        .unwrap()
        .unwrap();
    assert_ne!(after.uid_validity, before.uid_validity);
    assert_eq!((first.stored, first.acknowledged), (3, 3));
    assert_eq!(
        (second.duplicates, second.stored, second.acknowledged),
        (3, 1, 1)
    );
    assert_eq!(outbox_rows(&app).await, 4);
}
both_engines!(
    a_uidvalidity_change_reacknowledges_nothing,
    a_uidvalidity_change_reacknowledges_nothing
);

async fn unreadable_and_hostile_mail_never_blocks_the_mailbox(engine: Engine) {
    // Arrange: no sender at all, broken MIME with a script, thousands of
    // parts, an attachment over the limit, then an ordinary request.
    let (app, clientele) = gateway(engine, "INBOX", |email| {
        email.max_attachment_bytes = 1024 * 1024;
    })
    .await;
    let env = &clientele.env;
    let citizen = fresh_address("citoyen", "example.test");
    let no_sender =
        b"Subject: sans expediteur\r\nMessage-ID: <nosender@example.test>\r\n\r\nTexte\r\n"
            .to_vec();
    let script = format!(
        "From: <{citizen}>\r\nSubject: html\r\nMessage-ID: <script-{}@example.test>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"zz\"\r\n\r\n\
         --zz\r\nContent-Type: text/html\r\n\r\n<p>Bonjour</p><script>alert(1)</script>\
         <img src=\"http://tracker.example/x.png\">\r\n--zz-",
        uuid::Uuid::now_v7().simple()
    )
    .into_bytes();
    let mut parts = format!(
        "From: <{citizen}>\r\nSubject: parts\r\nMessage-ID: <parts-{}@example.test>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n",
        uuid::Uuid::now_v7().simple()
    );
    for i in 0..3000 {
        parts.push_str(&format!(
            "--b\r\nContent-Type: text/plain\r\n\r\npart {i}\r\n"
        ));
    }
    parts.push_str("--b--\r\n");
    let big = format!(
        "From: <{citizen}>\r\nSubject: photo\r\nMessage-ID: <big-{}@example.test>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain\r\n\r\nVoici la photo.\r\n\
         --b\r\nContent-Type: image/jpeg; name=\"photo.jpg\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--b--\r\n",
        uuid::Uuid::now_v7().simple(),
        "QUFB".repeat(2 * 1024 * 1024 / 3 + 1)
    );
    let ordinary = citizen_email(&citizen, &clientele.address, "Bac brisé", "Merci", "");
    let all = vec![
        no_sender,
        script.clone(),
        parts.into_bytes(),
        big.clone().into_bytes(),
        ordinary.clone(),
    ];

    // Act
    append_all(env, &clientele.address, "INBOX", &all).await;
    let pass = app.poll_mailbox().await;

    // Assert: one quarantined with its reason, the others stored, nothing stuck.
    assert_eq!((pass.quarantined, pass.stored), (1, 4));
    let quarantined = app.store.list_quarantined_mail("clientele").await.unwrap();
    assert_eq!(quarantined.len(), 1);
    assert!(quarantined[0].reason.contains("sender"), "{quarantined:?}");
    assert!(quarantined[0].raw_kept);
    let html = app
        .store
        .list_messages(thread_of(&app, &script).await)
        .await
        .unwrap();
    assert!(html[0].body_text.contains("Bonjour"));
    assert!(!html[0].body_text.contains("alert"));
    let photo = app
        .store
        .list_messages(thread_of(&app, big.as_bytes()).await)
        .await
        .unwrap();
    assert_eq!(photo[0].attachments.len(), 1);
    assert!(matches!(
        photo[0].attachments[0].content,
        models::AttachmentContent::Refused { .. }
    ));
    thread_of(&app, &ordinary).await;
    assert_eq!(seen_count(env, &clientele.address, "INBOX").await, (5, 5));
}
both_engines!(
    unreadable_and_hostile_mail_never_blocks_the_mailbox,
    unreadable_and_hostile_mail_never_blocks_the_mailbox
);

/// Waits until `check` holds, or fails with `what` after `deadline`.
pub async fn eventually<F, Fut>(deadline: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
