//! Messenger and Instagram end to end: signed webhook bodies from the
//! fixtures into the real server, and a local stand-in for Meta's Graph API
//! that records what the gateway sends.

use hmac::{Hmac, Mac};
use models::{Channel, OutboxState};
use sha2::Sha256;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use inbox::clock::Clock;

use crate::both_engines;
use crate::helpers::{spawn_app_with, AppOptions, Engine, TestApp};

const PAGE: &str = "104827364519203";
const PSID: &str = "7301928374650012";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/meta/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("read fixture")
}

fn signatures() -> serde_json::Value {
    serde_json::from_slice(&fixture("signatures.json")).unwrap()
}

fn app_secret() -> String {
    signatures()["app_secret"].as_str().unwrap().to_owned()
}

fn sign(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(app_secret().as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

async fn meta_app(engine: Engine) -> (TestApp, MockServer) {
    meta_app_with(engine, false).await
}

async fn meta_app_with(engine: Engine, fetch_attachments: bool) -> (TestApp, MockServer) {
    let graph = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/v21.0/{PAGE}/messages")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(fixture("send-api-success.json"), "application/json"),
        )
        .mount(&graph)
        .await;
    let base = graph.uri();
    // The fixtures were sent on Tuesday 13 January 2026 between 09:01 and 09:17 in
    // Sainte-Julie; the gateway's clock is a few minutes later.
    let now = chrono::DateTime::parse_from_rfc3339("2026-01-13T14:30:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let app = spawn_app_with(engine, AppOptions {
        now: Some(now),
        configure: Some(Box::new(move |s| {
            s.connectors.meta = Some(serde_json::from_value(serde_json::json!({
                "app_secret": app_secret(),
                "verify_token": "jeton-de-verification",
                "graph_api_base": base,
                "graph_api_version": "v21.0",
                "pages": [{ "id": PAGE, "access_token": "page-token", "instagram_account_id": "17841400918273645" }],
                "fetch_attachments": fetch_attachments,
            })).unwrap());
        })),
        ..AppOptions::default()
    }).await;
    (app, graph)
}

async fn post_webhook(
    app: &TestApp,
    body: Vec<u8>,
    signature: Option<String>,
) -> reqwest::Response {
    let mut req = app
        .client
        .post(format!("{}/webhooks/meta", app.address))
        .header("content-type", "application/json")
        .body(body);
    if let Some(signature) = signature {
        req = req.header("x-hub-signature-256", signature);
    }
    req.send().await.unwrap()
}

async fn sent_bodies(graph: &MockServer) -> Vec<serde_json::Value> {
    graph
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

async fn messenger_end_to_end(engine: Engine) {
    // Arrange
    let (app, graph) = meta_app(engine).await;
    let body = fixture("messenger-text.json");
    let signature = signatures()["x_hub_signature_256"]["messenger-text.json"]
        .as_str()
        .unwrap()
        .to_owned();
    // Act: the signed body, processed, acknowledged.
    let first = post_webhook(&app, body.clone(), Some(signature.clone())).await;
    app.run_webhooks().await;
    app.run_pending_jobs().await;
    // Assert: one thread with a reference, one RESPONSE to the same PSID.
    assert_eq!(first.status(), 200);
    let sent = sent_bodies(&graph).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["recipient"]["id"], PSID);
    assert_eq!(sent[0]["messaging_type"], "RESPONSE");
    let text = sent[0]["message"]["text"].as_str().unwrap();
    let reference =
        models::ReferenceNumber::find_all(text, &models::ReferencePrefix::parse("SJ").unwrap())
            .pop()
            .expect("the reference is in the text");
    let thread = app
        .store
        .find_thread_by_reference(&reference)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(thread.channel, Channel::Messenger);
    let messages = app.store.list_messages(thread.id).await.unwrap();
    assert!(
        messages[0].body_text.contains("nid-de-poule") && messages[0].body_text.contains('’'),
        "{:?}",
        messages[0].body_text
    );

    // Act: Meta retries the same body.
    let again = post_webhook(&app, body, Some(signature)).await;
    app.run_webhooks().await;
    app.run_pending_jobs().await;
    // Assert: nothing new.
    assert_eq!(again.status(), 200);
    assert_eq!(
        sent_bodies(&graph).await.len(),
        1,
        "no second acknowledgement"
    );
    assert_eq!(
        app.store.list_messages(thread.id).await.unwrap().len(),
        2,
        "the citizen's message and our acknowledgement"
    );

    // Act: the echo of our own send comes back.
    let outbox = &app.store.list_outbox(thread.id).await.unwrap()[0];
    let echo = serde_json::json!({"object": "page", "entry": [{"id": PAGE, "time": 1, "messaging": [{
        "sender": {"id": PAGE}, "recipient": {"id": PSID}, "timestamp": 1_768_311_673_204_i64,
        "message": {"mid": outbox.provider_message_id.clone().unwrap(), "is_echo": true, "app_id": 1,
                    "metadata": connectors::meta::outbox_metadata(&outbox.id), "text": text}}]}]});
    let echo = serde_json::to_vec(&echo).unwrap();
    let response = post_webhook(&app, echo.clone(), Some(sign(&echo))).await;
    app.run_webhooks().await;
    app.run_pending_jobs().await;
    // Assert: correlated, never a citizen message.
    assert_eq!(response.status(), 200);
    assert_eq!(app.store.list_messages(thread.id).await.unwrap().len(), 2);
    assert_eq!(sent_bodies(&graph).await.len(), 1);
    assert_eq!(
        app.store.list_outbox(thread.id).await.unwrap()[0].state,
        OutboxState::Sent
    );
}
both_engines!(a_signed_messenger_message_gets_one_thread_one_response_acknowledgement_and_replays_and_echoes_add_nothing, messenger_end_to_end);

async fn bad_signatures(engine: Engine) {
    // Arrange
    let (app, _graph) = meta_app(engine).await;
    let body = fixture("messenger-text.json");
    let good = signatures()["x_hub_signature_256"]["messenger-text.json"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut tampered = body.clone();
    tampered[50] ^= 1;
    let cases = [
        (body.clone(), None),
        (body.clone(), Some(good.replace("sha256=", "sha1="))),
        (body.clone(), Some("sha256=00".into())),
        (tampered, Some(good)),
    ];
    for (body, signature) in cases {
        // Act
        let response = post_webhook(&app, body, signature.clone()).await;
        // Assert
        assert_eq!(response.status(), 401, "case {signature:?}");
    }
    assert_eq!(app.run_webhooks().await, 0, "nothing was stored");
}
both_engines!(
    a_missing_sha1_or_wrong_signature_or_modified_body_is_rejected_with_401_and_nothing_stored,
    bad_signatures
);

async fn handshake_and_bad_bodies(engine: Engine) {
    // Arrange
    let (app, _graph) = meta_app(engine).await;
    let url = |token: &str| {
        format!(
            "{}/webhooks/meta?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=1158201444",
            app.address
        )
    };
    // Act
    let ok = app
        .client
        .get(url("jeton-de-verification"))
        .send()
        .await
        .unwrap();
    let wrong = app.client.get(url("autre")).send().await.unwrap();
    let not_json = b"{not json".to_vec();
    let invalid = post_webhook(&app, not_json.clone(), Some(sign(&not_json))).await;
    let other_object = br#"{"object":"user","entry":[]}"#.to_vec();
    let ignored = post_webhook(&app, other_object.clone(), Some(sign(&other_object))).await;
    // Assert
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.unwrap(), "1158201444");
    assert_eq!(wrong.status(), 403);
    assert_eq!(invalid.status(), 400);
    assert_eq!(ignored.status(), 200);
    assert_eq!(app.run_webhooks().await, 0);
}
both_engines!(the_handshake_echoes_the_challenge_only_for_the_right_token_and_an_unparseable_signed_body_gets_400, handshake_and_bad_bodies);

async fn batch_and_instagram(engine: Engine) {
    // Arrange
    let (app, graph) = meta_app(engine).await;
    let sigs = signatures();
    // Act
    for name in [
        "messenger-batch.json",
        "instagram-text.json",
        "instagram-unsend.json",
    ] {
        let r = post_webhook(
            &app,
            fixture(name),
            Some(
                sigs["x_hub_signature_256"][name]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            ),
        )
        .await;
        assert_eq!(r.status(), 200, "{name}");
    }
    app.run_webhooks().await;
    app.run_pending_jobs().await;
    // Assert
    let sent = sent_bodies(&graph).await;
    let recipients: Vec<&str> = sent
        .iter()
        .map(|b| b["recipient"]["id"].as_str().unwrap())
        .collect();
    assert!(
        recipients.contains(&"7301928374650087"),
        "the snow-removal message is acknowledged: {recipients:?}"
    );
    assert!(
        recipients.contains(&"1120394857612345"),
        "the Instagram DM is acknowledged: {recipients:?}"
    );
    assert!(
        !recipients.contains(&"7301928374650012"),
        "a delivery receipt is not acknowledged"
    );
    let ig_reference = sent
        .iter()
        .find(|b| b["recipient"]["id"] == "1120394857612345")
        .unwrap()["message"]["text"]
        .as_str()
        .unwrap()
        .to_owned();
    let reference = models::ReferenceNumber::find_all(
        &ig_reference,
        &models::ReferencePrefix::parse("SJ").unwrap(),
    )
    .pop()
    .unwrap();
    let thread = app
        .store
        .find_thread_by_reference(&reference)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(thread.channel, Channel::Instagram);
    let messages = app.store.list_messages(thread.id).await.unwrap();
    assert!(
        messages[0].deleted_at.is_some(),
        "the unsent DM is marked deleted, not removed"
    );
    assert_eq!(
        messages
            .iter()
            .filter(|m| m.direction == inbox::store::Direction::Inbound)
            .count(),
        1,
        "an unsend is no new message"
    );
    let trace = app
        .store
        .list_audit(&format!("message:{}", messages[0].id))
        .await
        .unwrap();
    assert_eq!(trace.len(), 1, "{trace:?}");
    assert_eq!(trace[0].action, "message.unsent");
    assert_eq!(trace[0].actor, "citizen:instagram");
}
both_engines!(
    a_batch_of_events_and_instagram_messages_are_each_handled_as_their_kind,
    batch_and_instagram
);

async fn thousand_events(engine: Engine) {
    // Arrange
    let (app, _graph) = meta_app(engine).await;
    let events: Vec<serde_json::Value> = (0..1000)
        .map(|i| serde_json::json!({"sender": {"id": format!("{}", 9_000_000 + i)}, "recipient": {"id": PAGE}, "timestamp": 1_768_311_672_345_i64 + i, "message": {"mid": format!("m_bulk_{i}"), "text": format!("Message {i}")}}))
        .collect();
    let body = serde_json::to_vec(&serde_json::json!({"object": "page", "entry": [{"id": PAGE, "time": 1, "messaging": events}]})).unwrap();
    // Act
    let response = post_webhook(&app, body.clone(), Some(sign(&body))).await;
    app.run_webhooks().await;
    // Assert
    assert_eq!(response.status(), 200);
    let counts: u64 = app
        .store
        .count_outbox_by_state()
        .await
        .unwrap()
        .iter()
        .map(|(_, n)| n)
        .sum();
    assert_eq!(counts, 1000, "one acknowledgement per citizen");
}
both_engines!(
    one_post_with_a_thousand_events_is_accepted_and_every_event_is_processed,
    thousand_events
);

async fn refused_token_raises_an_alarm(engine: Engine) {
    // Arrange: Meta refuses the Page token once (code 190), then accepts it.
    let (app, graph) = meta_app(engine).await;
    Mock::given(method("POST"))
        .and(path(format!("/v21.0/{PAGE}/messages")))
        .respond_with(ResponseTemplate::new(400).set_body_json(serde_json::json!({
            "error": {"message": "Error validating access token: Session has expired",
                      "type": "OAuthException", "code": 190, "error_subcode": 463,
                      "fbtrace_id": "AbCdEf"}})))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&graph)
        .await;
    let body = fixture("messenger-text.json");
    let signature = signatures()["x_hub_signature_256"]["messenger-text.json"]
        .as_str()
        .unwrap()
        .to_owned();

    // Act: the acknowledgement is refused.
    post_webhook(&app, body, Some(signature)).await;
    app.run_webhooks().await;
    app.run_pending_jobs().await;

    // Assert: the message failed, an active alarm names the channel, the
    // readiness probe shows it.
    let alarms = app.store.list_alarms(false).await.unwrap();
    assert_eq!(alarms.len(), 1, "{alarms:?}");
    assert_eq!(alarms[0].source, "messenger");
    assert_eq!(alarms[0].kind, "credentials_refused");
    assert!(alarms[0].message.contains("190"), "{}", alarms[0].message);
    assert!(!alarms[0].message.contains("page-token"));
    let ready: serde_json::Value = app.get("/readyz").await.json().await.unwrap();
    assert_eq!(ready["alarms"][0]["source"], "messenger");

    // Act: an administrator renews the token; the message is sent again.
    let failed = {
        let (_, summary) = app
            .store
            .find_inbound(
                Channel::Messenger,
                &models::ExternalMessageId::parse(
                    "m_-gYjDCTHcJJYsmHCM5r4tsP4Ar9zWnR5BJly0I6Jb2auxupA6Vaxo44tJPr0rAnezqTrOf13yrsd8N9Qe6FW",
                )
                .unwrap(),
            )
            .await
            .unwrap()
            .expect("the message is stored");
        app.store.list_outbox(summary.id).await.unwrap()[0].clone()
    };
    assert_eq!(failed.state, OutboxState::Failed);
    app.store
        .requeue_outbox_job(failed.id, app.clock.as_ref().unwrap().now())
        .await
        .unwrap();
    app.run_pending_jobs().await;

    // Assert: delivered, alarm cleared but kept as history.
    assert!(app.store.list_alarms(false).await.unwrap().is_empty());
    let history = app.store.list_alarms(true).await.unwrap();
    assert!(history[0].cleared_at.is_some());
}
both_engines!(
    a_refused_page_token_raises_an_alarm_that_the_next_delivery_clears,
    refused_token_raises_an_alarm
);

async fn attachments_are_kept(engine: Engine) {
    // Arrange: an image message whose CDN link points at the stand-in.
    let (app, graph) = meta_app_with(engine, true).await;
    let photo: Vec<u8> = [&[0xFF, 0xD8, 0xFF][..], b"nid-de-poule", &[0xFF, 0xD9]].concat();
    Mock::given(method("GET"))
        .and(path("/cdn/photo.jpg"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(photo.clone(), "image/jpeg"))
        .mount(&graph)
        .await;
    let original = String::from_utf8(fixture("messenger-image.json")).unwrap();
    let start = original.find("https:").unwrap();
    let end = start + original[start..].find('"').unwrap();
    let body = format!(
        "{}{}{}",
        &original[..start],
        format!("{}/cdn/photo.jpg", graph.uri()).replace('/', "\\/"),
        &original[end..]
    )
    .into_bytes();

    // Act
    let response = post_webhook(&app, body.clone(), Some(sign(&body))).await;
    app.run_webhooks().await;

    // Assert: the bytes are stored with their hash, not only the link.
    assert_eq!(response.status(), 200);
    let (_, thread) = app
        .store
        .find_inbound(
            Channel::Messenger,
            &models::ExternalMessageId::parse(
                "m_Q_UgyqYamy41YcI3IcW1JjaIVEVXoRAzvyoGkaSdP_-1FRcc72L8nW0NIMQbJcC0ZgSCzkgsvL049gBCTZR1",
            )
            .unwrap(),
        )
        .await
        .unwrap()
        .expect("the image message is stored");
    let messages = app.store.list_messages(thread.id).await.unwrap();
    let attachment = &messages[0].attachments[0];
    assert_eq!(attachment.content_type, "image/jpeg");
    assert_eq!(attachment.size_bytes, Some(photo.len() as u64));
    assert_eq!(
        attachment.sha256.as_deref(),
        Some(format!("{:x}", <Sha256 as sha2::Digest>::digest(&photo)).as_str())
    );
}
both_engines!(
    with_fetch_attachments_on_an_image_is_downloaded_and_stored_with_its_hash,
    attachments_are_kept
);

async fn attachment_caps(engine: Engine) {
    // Arrange: seven images and a shared link, all on the stand-in.
    let (app, graph) = meta_app_with(engine, true).await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(vec![0xFF; 64], "image/jpeg"))
        .mount(&graph)
        .await;
    let mut attachments: Vec<serde_json::Value> = (0..7)
        .map(|i| serde_json::json!({"type": "image", "payload": {"url": format!("{}/cdn/{i}.jpg", graph.uri())}}))
        .collect();
    attachments.push(serde_json::json!({"type": "fallback", "payload": {"url": format!("{}/shared-link", graph.uri())}}));
    let body = serde_json::to_vec(&serde_json::json!({"object": "page", "entry": [{"id": PAGE, "time": 1_768_311_891_412_i64, "messaging": [{
        "sender": {"id": PSID}, "recipient": {"id": PAGE}, "timestamp": 1_768_311_891_108_i64,
        "message": {"mid": "m_seven_photos", "attachments": attachments}}]}]}))
    .unwrap();

    // Act
    let response = post_webhook(&app, body.clone(), Some(sign(&body))).await;
    app.run_webhooks().await;

    // Assert: five downloaded (the per-message cap), the rest and the
    // citizen's shared link kept as links; the link was never fetched.
    assert_eq!(response.status(), 200);
    let requested: Vec<String> = graph
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.url.path().to_owned())
        .collect();
    assert_eq!(
        requested.iter().filter(|p| p.starts_with("/cdn/")).count(),
        5,
        "{requested:?}"
    );
    assert!(
        !requested.iter().any(|p| p == "/shared-link"),
        "{requested:?}"
    );
    let (_, thread) = app
        .store
        .find_inbound(
            Channel::Messenger,
            &models::ExternalMessageId::parse("m_seven_photos").unwrap(),
        )
        .await
        .unwrap()
        .expect("the message is stored");
    let messages = app.store.list_messages(thread.id).await.unwrap();
    assert_eq!(messages[0].attachments.len(), 8);
    assert_eq!(
        messages[0]
            .attachments
            .iter()
            .filter(|a| a.sha256.is_some())
            .count(),
        5
    );
}
both_engines!(
    at_most_five_attachments_are_downloaded_per_message_and_shared_links_never,
    attachment_caps
);

async fn webhook_bodies_kept_once(engine: Engine) {
    // Arrange
    let (app, _graph) = meta_app(engine).await;
    let body = fixture("messenger-text.json");
    let signature = signatures()["x_hub_signature_256"]["messenger-text.json"]
        .as_str()
        .unwrap()
        .to_owned();
    // Act: Meta delivers the same signed body three times before it is
    // processed.
    for _ in 0..3 {
        assert_eq!(
            post_webhook(&app, body.clone(), Some(signature.clone()))
                .await
                .status(),
            200
        );
    }
    // Assert: one stored body, processed once.
    assert_eq!(app.run_webhooks().await, 1);

    // Act: past the keeping time, the processed body is deleted; the
    // same body arriving again is stored anew (and changes nothing).
    let later = app.clock.as_ref().unwrap().now() + chrono::Duration::days(15);
    app.set_now(later);
    assert_eq!(app.run_webhooks().await, 0, "the idle step purges");
    post_webhook(&app, body, Some(signature)).await;
    assert_eq!(app.run_webhooks().await, 1, "the old copy was deleted");
}
both_engines!(
    a_replayed_webhook_body_is_stored_once_and_processed_bodies_are_deleted_after_their_days,
    webhook_bodies_kept_once
);
