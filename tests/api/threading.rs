//! The ingest rules: dedupe, threading by reference and Message-ID (only for
//! the thread's own citizen), chats, automatic mail.

use models::{Channel, ChannelIdentity, MessageKind, PageId, Psid, RfcMessageId, ThreadStatus};

use crate::both_engines;
use crate::helpers::{email_message, spawn_app, Engine};

async fn replay_creates_nothing(engine: Engine) {
    // Arrange
    let app = spawn_app(engine).await;
    let message = email_message(
        "rejean@example.net",
        "Collecte",
        "Bonjour, la collecte n'a pas été faite.",
        "a1@poste.example.net",
    );
    // Act
    let first = app.ingest(&message).await;
    let second = app.ingest(&message).await;
    // Assert
    assert!(!first.duplicate && second.duplicate);
    assert_eq!(
        (first.message_id, first.thread_id, first.reference.clone()),
        (second.message_id, second.thread_id, second.reference)
    );
    assert_eq!(
        app.store
            .list_messages(first.thread_id)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        app.store.list_outbox(first.thread_id).await.unwrap().len(),
        1,
        "one acknowledgement"
    );
}
both_engines!(
    a_replayed_message_returns_the_first_result_and_creates_nothing,
    replay_creates_nothing
);

async fn follow_up_with_reference_joins(engine: Engine) {
    // Arrange
    let app = spawn_app(engine).await;
    let first = app
        .ingest(&email_message(
            "rejean@example.net",
            "Collecte",
            "La collecte n'a pas été faite.",
            "b1@poste.example.net",
        ))
        .await;
    let reference = first.reference.clone().unwrap();
    // Act
    let follow = app
        .ingest(&email_message(
            "Rejean@Example.net",
            &format!("Re: [{reference}] Accusé de réception"),
            "Toujours rien ce matin.",
            "b2@poste.example.net",
        ))
        .await;
    // Assert
    assert_eq!(follow.thread_id, first.thread_id);
    assert_eq!(follow.reference, Some(reference));
    assert!(!follow.new_thread);
    assert_eq!(follow.acknowledgement, None, "no second acknowledgement");
    assert_eq!(
        app.store.list_outbox(first.thread_id).await.unwrap().len(),
        1
    );
    assert_eq!(
        app.store.get_thread(first.thread_id).await.unwrap().status,
        ThreadStatus::AwaitingAgent
    );
}
both_engines!(
    a_follow_up_quoting_its_reference_joins_the_thread_without_a_second_acknowledgement,
    follow_up_with_reference_joins
);

async fn stranger_with_reference_gets_own_thread(engine: Engine) {
    // Arrange
    let app = spawn_app(engine).await;
    let first = app
        .ingest(&email_message(
            "rejean@example.net",
            "Collecte",
            "La collecte n'a pas été faite.",
            "c1@poste.example.net",
        ))
        .await;
    let reference = first.reference.clone().unwrap();
    // Act
    let stranger = app
        .ingest(&email_message(
            "voisin@example.org",
            &format!("Re: [{reference}]"),
            "Moi aussi!",
            "c2@ailleurs.example.org",
        ))
        .await;
    // Assert
    assert_ne!(
        stranger.thread_id, first.thread_id,
        "a stranger never joins another citizen's thread"
    );
    assert!(stranger.new_thread);
    assert_ne!(stranger.reference, Some(reference));
    assert!(stranger.acknowledgement.is_some());
}
both_engines!(
    a_stranger_quoting_someone_elses_reference_starts_a_request_of_their_own,
    stranger_with_reference_gets_own_thread
);

async fn in_reply_to_our_message_joins(engine: Engine) {
    // Arrange
    let sender = std::sync::Arc::new(crate::doubles::RecordingSender::email());
    let app = crate::helpers::spawn_app_with(
        engine,
        crate::helpers::AppOptions {
            connectors: vec![sender.clone()],
            ..Default::default()
        },
    )
    .await;
    let first = app
        .ingest(&email_message(
            "marie@example.com",
            "Déneigement",
            "La rue n'est pas déneigée.",
            "d1@example.com",
        ))
        .await;
    app.run_pending_jobs().await;
    let ack_id = sender.sent()[0].message_id.clone().unwrap();
    let mut reply = email_message(
        "marie@example.com",
        "Re: votre courriel",
        "Merci, j'ajoute une photo.",
        "d2@example.com",
    );
    reply.hints.in_reply_to = vec![ack_id];
    // Act
    let outcome = app.ingest(&reply).await;
    // Assert
    assert_eq!(outcome.thread_id, first.thread_id);
    assert!(outcome.acknowledgement.is_none());
}
both_engines!(
    a_reply_whose_in_reply_to_names_our_acknowledgement_joins_its_thread,
    in_reply_to_our_message_joins
);

async fn automatic_mail_is_never_acknowledged(engine: Engine) {
    // Arrange
    let app = spawn_app(engine).await;
    let first = app
        .ingest(&email_message(
            "paul@example.com",
            "Permis",
            "Je veux un permis de piscine.",
            "e1@example.com",
        ))
        .await;
    let mut out_of_office = email_message(
        "paul@example.com",
        "Réponse automatique",
        "Je suis absent.",
        "e2@example.com",
    );
    out_of_office.kind = MessageKind::AutoReply;
    out_of_office.hints.in_reply_to = vec![RfcMessageId::parse("e1@example.com").unwrap()];
    let mut list = email_message(
        "infolettre@lists.example.org",
        "Infolettre",
        "Nouvelles du mois",
        "e3@lists.example.org",
    );
    list.kind = MessageKind::MailingList;
    // Act
    let ooo = app.ingest(&out_of_office).await;
    let listed = app.ingest(&list).await;
    // Assert
    assert_eq!(
        ooo.thread_id, first.thread_id,
        "noted on the request it answers"
    );
    assert!(ooo.acknowledgement.is_none() && listed.acknowledgement.is_none());
    assert_eq!(listed.reference, None, "list mail opens no request");
    let next = app
        .ingest(&email_message(
            "z@example.com",
            "Autre",
            "Autre demande",
            "e4@example.com",
        ))
        .await;
    assert_eq!(
        next.reference.unwrap().sequence(),
        2,
        "automatic mail took no reference number"
    );
}
both_engines!(
    out_of_office_and_list_mail_are_stored_but_never_acknowledged_nor_given_a_reference,
    automatic_mail_is_never_acknowledged
);

async fn chat_burst_stays_in_one_thread(engine: Engine) {
    // Arrange
    let app = spawn_app(engine).await;
    let sender = ChannelIdentity::Messenger {
        page: PageId::parse("104827364519203").unwrap(),
        psid: Psid::parse("7301928374650012").unwrap(),
    };
    let mut text = email_message(
        "unused@example.net",
        "",
        "Il y a un nid-de-poule rue des Pruches",
        "unused@example.net",
    );
    text.external_id = models::ExternalMessageId::parse("m_text").unwrap();
    text.channel = Channel::Messenger;
    text.sender = sender.clone();
    text.subject = None;
    text.hints = models::ThreadHints::default();
    let mut image = text.clone();
    image.external_id = models::ExternalMessageId::parse("m_image").unwrap();
    image.body_text = String::new();
    image.new_text = String::new();
    // Act
    let first = app.ingest(&text).await;
    let second = app.ingest(&image).await;
    // Assert
    assert_eq!(second.thread_id, first.thread_id);
    assert!(second.acknowledgement.is_none());
    assert_eq!(
        app.store.list_outbox(first.thread_id).await.unwrap()[0].channel,
        Channel::Messenger
    );
}
both_engines!(
    a_second_private_message_joins_the_open_conversation_without_a_new_request,
    chat_burst_stays_in_one_thread
);

async fn every_citizen_message_is_classified(engine: Engine) {
    // Arrange
    let app = spawn_app(engine).await;
    let pothole = app
        .ingest(&email_message(
            "p@example.net",
            "Nid-de-poule",
            "Il y a un gros nid-de-poule devant le 123 rue des Pruches, ça a brisé mon pneu.",
            "f1@example.net",
        ))
        .await;
    // Act
    let classified = app.run_classifier().await;
    let again = app.run_classifier().await;
    // Assert
    assert_eq!(
        (classified, again),
        (1, 0),
        "classified once, then the queue is empty"
    );
    let message = &app.store.list_messages(pothole.thread_id).await.unwrap()[0];
    let classification = message
        .classification
        .as_ref()
        .expect("the verdict is stored with the message");
    assert!(!classification.model_version.is_empty());
    assert!(
        matches!(
            classification.topic,
            models::TopicVerdict::Label {
                topic: models::Topic::RoadsSnow,
                ..
            }
        ),
        "{classification:?}"
    );
    assert!(!classification.abuse.needs_review());
    let thread = app.store.get_thread(pothole.thread_id).await.unwrap();
    assert_eq!(thread.topic, Some(models::Topic::RoadsSnow));
    assert_eq!(thread.department.as_deref(), Some("travaux_publics"));
    assert!(!thread.flagged);
}
both_engines!(
    every_citizen_message_is_classified_and_its_topic_routes_the_thread_to_a_department,
    every_citizen_message_is_classified
);
