//! The Send API client against a local stand-in for the Graph API that
//! speaks Meta's documented format: request shapes, reply windows, provider
//! errors, timeouts, and attachment downloads.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers fail the test on a bad fixture"
)]

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use connectors::meta::{outbox_metadata, MetaClient, MetaSettings};
use connectors::{Connector, ConnectorError, OutgoingMessage};
use models::{
    Channel, ChannelIdentity, IgAccountId, Igsid, Language, OutboundKind, OutboxId, PageId, Psid,
};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const PAGE: &str = "104827364519203";
const IG_ACCOUNT: &str = "17841400918273645";
const PSID: &str = "7301928374650012";
const IGSID: &str = "1120394857612345";
const TOKEN: &str = "EAAG-page-token-fixture-only";
const MESSAGES_PATH: &str = "/v21.0/104827364519203/messages";

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../tests/fixtures/meta/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read fixture {name}: {e}"))
}

fn fixture_json(name: &str) -> serde_json::Value {
    serde_json::from_slice(&fixture(name)).unwrap()
}

fn settings(server: &MockServer, timeout_secs: u64) -> MetaSettings {
    settings_for(&server.uri(), timeout_secs)
}

fn settings_for(base: &str, timeout_secs: u64) -> MetaSettings {
    toml::from_str(&format!(
        r#"
        app_secret = "app-secret"
        verify_token = "verify-token"
        graph_api_base = "{base}"
        graph_api_version = "v21.0"
        request_timeout_secs = {timeout_secs}
        [[pages]]
        id = "{PAGE}"
        access_token = "{TOKEN}"
        instagram_account_id = "{IG_ACCOUNT}"
        "#
    ))
    .unwrap()
}

fn client(server: &MockServer) -> MetaClient {
    MetaClient::new(&settings(server, 5)).unwrap()
}

fn messenger_recipient() -> ChannelIdentity {
    ChannelIdentity::Messenger {
        page: PageId::parse(PAGE).unwrap(),
        psid: Psid::parse(PSID).unwrap(),
    }
}

fn instagram_recipient() -> ChannelIdentity {
    ChannelIdentity::Instagram {
        account: IgAccountId::parse(IG_ACCOUNT).unwrap(),
        igsid: Igsid::parse(IGSID).unwrap(),
    }
}

/// A Messenger message of `kind` to the fixture citizen, who last wrote
/// `hours_ago` hours ago.
fn outgoing(kind: OutboundKind, hours_ago: i64, text: &str) -> OutgoingMessage {
    OutgoingMessage {
        outbox_id: OutboxId::generate(),
        channel: Channel::Messenger,
        recipient: messenger_recipient(),
        recipient_name: None,
        kind,
        language: Language::Fr,
        subject: None,
        text: text.to_owned(),
        html: None,
        reference: None,
        message_id: None,
        in_reply_to: None,
        references: Vec::new(),
        last_citizen_message_at: Some(Utc::now() - TimeDelta::hours(hours_ago)),
        composed_at: chrono::Utc::now(),
    }
}

fn success() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(fixture("send-api-success.json"), "application/json")
}

fn graph_error(status: u16, code: i64, subcode: Option<i64>, message: &str) -> ResponseTemplate {
    let mut error = serde_json::json!({
        "message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AqTest"
    });
    if let Some(subcode) = subcode {
        error["error_subcode"] = serde_json::json!(subcode);
    }
    ResponseTemplate::new(status).set_body_json(serde_json::json!({ "error": error }))
}

#[tokio::test]
async fn an_acknowledgement_within_24_hours_is_posted_as_a_response_and_its_message_id_kept() {
    // Arrange
    let server = MockServer::start().await;
    let message = outgoing(
        OutboundKind::Acknowledgement,
        1,
        "Bonjour! Votre num\u{e9}ro : SJ-2026-000121.",
    );
    let expected = serde_json::json!({
        "recipient": { "id": PSID },
        "messaging_type": "RESPONSE",
        "message": { "text": message.text, "metadata": outbox_metadata(&message.outbox_id) }
    });
    Mock::given(method("POST"))
        .and(path(MESSAGES_PATH))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(body_json(&expected))
        .respond_with(success())
        .expect(1)
        .mount(&server)
        .await;

    // Act
    let receipt = client(&server).send_message(&message).await.unwrap();

    // Assert
    assert_eq!(
        receipt.provider_message_id.as_deref(),
        Some("m_g4-v0DA2DKXr5uItVtUsolonF9yuUckXm-Gkm21qjYFStJw80wqDw09RJ_Qa2NTxa56VU8GOcqH77MN_OmW5")
    );
    server.verify().await;
}

#[tokio::test]
async fn an_agent_reply_after_24_hours_matches_the_human_agent_fixture() {
    // Arrange
    let server = MockServer::start().await;
    let mut expected = fixture_json("send-api-request-human-agent.json");
    let text = expected["message"]["text"].as_str().unwrap().to_owned();
    let mut message = outgoing(OutboundKind::AgentReply, 3 * 24, &text);
    message.recipient = ChannelIdentity::Messenger {
        page: PageId::parse(PAGE).unwrap(),
        psid: Psid::parse(expected["recipient"]["id"].as_str().unwrap()).unwrap(),
    };
    // The fixture's metadata is an illustrative id; ours is the outbox row's
    // UUID behind the same prefix. Every other field must match as written.
    assert!(expected["message"]["metadata"]
        .as_str()
        .unwrap()
        .starts_with("sj-outbox:"));
    expected["message"]["metadata"] = serde_json::json!(outbox_metadata(&message.outbox_id));
    Mock::given(method("POST"))
        .and(path(MESSAGES_PATH))
        .respond_with(success())
        .expect(1)
        .mount(&server)
        .await;

    // Act
    client(&server).send_message(&message).await.unwrap();

    // Assert
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    let sent: serde_json::Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(sent, expected);
    assert_eq!(sent["messaging_type"], "MESSAGE_TAG");
    assert_eq!(sent["tag"], "HUMAN_AGENT");
}

#[tokio::test]
async fn the_token_travels_in_the_authorization_header_and_never_in_the_url() {
    // Arrange
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(success())
        .mount(&server)
        .await;

    // Act
    client(&server)
        .send_message(&outgoing(OutboundKind::Acknowledgement, 0, "Bonjour"))
        .await
        .unwrap();

    // Assert
    let request = &server.received_requests().await.unwrap()[0];
    assert!(!request.url.as_str().contains(TOKEN), "{}", request.url);
    assert_eq!(request.url.query(), None);
    assert_eq!(
        request.headers.get("authorization").unwrap(),
        format!("Bearer {TOKEN}").as_str()
    );
}

#[tokio::test]
async fn an_automatic_text_after_24_hours_is_refused_without_calling_meta() {
    // Arrange
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(success())
        .expect(0)
        .mount(&server)
        .await;

    // Act
    let result = client(&server)
        .send_message(&outgoing(
            OutboundKind::Acknowledgement,
            25,
            "Accus\u{e9} de r\u{e9}ception",
        ))
        .await;

    // Assert
    assert!(
        matches!(result, Err(ConnectorError::ReplyWindowClosed(_))),
        "{result:?}"
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn any_reply_after_7_days_is_refused_without_calling_meta() {
    // Arrange
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(success())
        .expect(0)
        .mount(&server)
        .await;

    // Act
    let agent = client(&server)
        .send_message(&outgoing(OutboundKind::AgentReply, 7 * 24 + 1, "Bonjour"))
        .await;
    let transfer = client(&server)
        .send_message(&outgoing(OutboundKind::TransferNotice, 8 * 24, "Transfert"))
        .await;

    // Assert
    assert!(
        matches!(agent, Err(ConnectorError::ReplyWindowClosed(_))),
        "{agent:?}"
    );
    assert!(
        matches!(transfer, Err(ConnectorError::ReplyWindowClosed(_))),
        "{transfer:?}"
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn meta_refusing_outside_the_window_is_reported_as_window_closed_with_a_decoded_link() {
    // Arrange
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_raw(
            fixture("send-api-error-outside-window.json"),
            "application/json",
        ))
        .mount(&server)
        .await;

    // Act
    let result = client(&server)
        .send_message(&outgoing(OutboundKind::AgentReply, 2, "Bonjour"))
        .await;

    // Assert
    let Err(ConnectorError::ReplyWindowClosed(detail)) = result else {
        panic!("expected a closed window, got {result:?}");
    };
    assert!(
        detail.contains("https://developers.facebook.com/docs/messenger-platform/policy-overview"),
        "{detail}"
    );
    assert!(detail.contains("2018278"), "{detail}");
    assert!(detail.contains("AqFixtureTraceNotReal01"), "{detail}");
}

#[tokio::test]
async fn instagram_replies_go_through_the_linked_page_to_the_igsid() {
    // Arrange
    let server = MockServer::start().await;
    let mut message = outgoing(OutboundKind::Acknowledgement, 0, "Bonjour!");
    message.channel = Channel::Instagram;
    message.recipient = instagram_recipient();
    let expected = serde_json::json!({
        "recipient": { "id": IGSID },
        "messaging_type": "RESPONSE",
        "message": { "text": "Bonjour!", "metadata": outbox_metadata(&message.outbox_id) }
    });
    Mock::given(method("POST"))
        .and(path(MESSAGES_PATH))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(body_json(&expected))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({ "recipient_id": IGSID, "message_id": "aWdfbWVzc2FnZV9pZDpvdXRib3VuZA" })),
        )
        .expect(1)
        .mount(&server)
        .await;

    // Act
    let receipt = client(&server).send_message(&message).await.unwrap();

    // Assert
    assert_eq!(
        receipt.provider_message_id.as_deref(),
        Some("aWdfbWVzc2FnZV9pZDpvdXRib3VuZA")
    );
    server.verify().await;
}

#[tokio::test]
async fn instagram_refusing_outside_the_window_is_reported_as_window_closed() {
    // Arrange
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(graph_error(
            400,
            10,
            Some(2_534_022),
            "This message is sent outside of allowed window.",
        ))
        .mount(&server)
        .await;
    let mut message = outgoing(OutboundKind::AgentReply, 3, "Bonjour");
    message.channel = Channel::Instagram;
    message.recipient = instagram_recipient();

    // Act
    let result = client(&server).send_message(&message).await;

    // Assert
    assert!(
        matches!(result, Err(ConnectorError::ReplyWindowClosed(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_429_with_retry_after_is_rate_limited_for_that_long() {
    // Arrange
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            graph_error(
                429,
                613,
                None,
                "Calls to this api have exceeded the rate limit.",
            )
            .insert_header("Retry-After", "42"),
        )
        .mount(&server)
        .await;

    // Act
    let result = client(&server)
        .send_message(&outgoing(OutboundKind::AgentReply, 1, "Bonjour"))
        .await;

    // Assert
    match result {
        Err(ConnectorError::RateLimited { retry_after }) => {
            assert_eq!(retry_after, Some(Duration::from_secs(42)));
        }
        other => panic!("expected a rate limit, got {other:?}"),
    }
}

#[tokio::test]
async fn a_throttling_code_in_a_400_is_rate_limited_without_a_hint() {
    // Arrange
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(graph_error(400, 32, None, "Page request limit reached"))
        .mount(&server)
        .await;

    // Act
    let result = client(&server)
        .send_message(&outgoing(OutboundKind::AgentReply, 1, "Bonjour"))
        .await;

    // Assert
    assert!(
        matches!(
            result,
            Err(ConnectorError::RateLimited { retry_after: None })
        ),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_server_error_is_transient() {
    // Arrange
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500).set_body_string("<html>oops</html>"))
        .mount(&server)
        .await;

    // Act
    let result = client(&server)
        .send_message(&outgoing(OutboundKind::AgentReply, 1, "Bonjour"))
        .await;

    // Assert
    let error = result.unwrap_err();
    assert!(matches!(error, ConnectorError::Transient(_)), "{error:?}");
    assert!(error.is_retryable());
}

#[tokio::test]
async fn an_expired_token_is_an_auth_error_that_does_not_reveal_the_token() {
    // Arrange
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(graph_error(
            400,
            190,
            Some(463),
            "Error validating access token: Session has expired.",
        ))
        .mount(&server)
        .await;

    // Act
    let result = client(&server)
        .send_message(&outgoing(OutboundKind::AgentReply, 1, "Bonjour"))
        .await;

    // Assert
    let error = result.unwrap_err();
    assert!(matches!(error, ConnectorError::Auth(_)), "{error:?}");
    assert!(!error.is_retryable());
    assert!(!format!("{error} {error:?}").contains(TOKEN));
}

#[tokio::test]
async fn a_plain_401_is_an_auth_error() {
    // Arrange
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;

    // Act
    let result = client(&server)
        .send_message(&outgoing(OutboundKind::AgentReply, 1, "Bonjour"))
        .await;

    // Assert
    assert!(matches!(result, Err(ConnectorError::Auth(_))), "{result:?}");
}

#[tokio::test]
async fn another_client_error_is_permanent() {
    // Arrange
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(graph_error(
            400,
            100,
            Some(2_018_001),
            "No matching user found",
        ))
        .mount(&server)
        .await;

    // Act
    let result = client(&server)
        .send_message(&outgoing(OutboundKind::AgentReply, 1, "Bonjour"))
        .await;

    // Assert
    let error = result.unwrap_err();
    assert!(matches!(error, ConnectorError::Permanent(_)), "{error:?}");
    assert!(error.to_string().contains("No matching user found"));
}

#[tokio::test]
async fn an_answer_slower_than_the_timeout_is_transient() {
    // Arrange
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(success().set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    let client = MetaClient::new(&settings(&server, 1)).unwrap();

    // Act
    let started = std::time::Instant::now();
    let result = client
        .send_message(&outgoing(OutboundKind::AgentReply, 1, "Bonjour"))
        .await;

    // Assert
    let error = result.unwrap_err();
    assert!(
        matches!(&error, ConnectorError::Transient(t) if t.contains("timed out")),
        "{error:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn an_unreachable_graph_api_is_transient() {
    // Arrange: a port where nothing listens any more.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let client = MetaClient::new(&settings_for(&format!("http://127.0.0.1:{port}"), 2)).unwrap();

    // Act
    let result = client
        .send_message(&outgoing(OutboundKind::AgentReply, 1, "Bonjour"))
        .await;

    // Assert
    assert!(
        matches!(result, Err(ConnectorError::Transient(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn an_accepted_send_with_an_unreadable_answer_is_not_reported_as_a_failure() {
    // Arrange
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("not json"))
        .mount(&server)
        .await;

    // Act
    let receipt = client(&server)
        .send_message(&outgoing(OutboundKind::AgentReply, 1, "Bonjour"))
        .await
        .unwrap();

    // Assert
    assert_eq!(receipt.provider_message_id, None);
}

#[tokio::test]
async fn a_page_missing_from_the_settings_or_a_mismatched_recipient_is_permanent_without_a_call() {
    // Arrange
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(success())
        .expect(0)
        .mount(&server)
        .await;
    let mut other_page = outgoing(OutboundKind::AgentReply, 1, "Bonjour");
    other_page.recipient = ChannelIdentity::Messenger {
        page: PageId::parse("999").unwrap(),
        psid: Psid::parse(PSID).unwrap(),
    };
    let mut mismatched = outgoing(OutboundKind::AgentReply, 1, "Bonjour");
    mismatched.channel = Channel::Instagram;
    let mut too_long = outgoing(OutboundKind::AgentReply, 1, "");
    too_long.text = "a".repeat(2001);

    // Act
    let client = client(&server);
    let results = [
        client.send_message(&other_page).await,
        client.send_message(&mismatched).await,
        client.send_message(&too_long).await,
    ];

    // Assert
    for (case, result) in results.iter().enumerate() {
        assert!(
            matches!(result, Err(ConnectorError::Permanent(_))),
            "case {case}: {result:?}"
        );
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn the_client_works_as_a_shared_connector() {
    // Arrange
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(success())
        .expect(1)
        .mount(&server)
        .await;
    let connector: Arc<dyn Connector> = Arc::new(client(&server));

    // Act
    let receipt = connector
        .send(&outgoing(
            OutboundKind::TransferNotice,
            30,
            "Transfert aux Travaux publics",
        ))
        .await
        .unwrap();

    // Assert
    assert_eq!(connector.name(), "meta");
    assert_eq!(
        connector.channels(),
        &[Channel::Messenger, Channel::Instagram]
    );
    assert!(receipt.provider_message_id.is_some());
    server.verify().await;
}

#[tokio::test]
async fn an_attachment_is_downloaded_without_the_token_and_with_its_type() {
    // Arrange
    let server = MockServer::start().await;
    let jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0xFF, 0xD9];
    Mock::given(method("GET"))
        .and(path("/v/t1/photo.jpg"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(jpeg.clone(), "image/jpeg; charset=binary"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let url = format!("{}/v/t1/photo.jpg?oe=6990A1B2", server.uri());

    // Act
    let fetched = client(&server).fetch_attachment(&url, 1024).await.unwrap();

    // Assert
    assert_eq!(fetched.bytes, jpeg);
    assert_eq!(fetched.content_type, "image/jpeg");
    let request = &server.received_requests().await.unwrap()[0];
    assert!(request.headers.get("authorization").is_none());
}

#[tokio::test]
async fn an_attachment_over_the_cap_or_expired_is_refused_permanently() {
    // Arrange
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/big"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(vec![0u8; 4096], "video/mp4"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/expired"))
        .respond_with(ResponseTemplate::new(403))
        .mount(&server)
        .await;
    let client = client(&server);

    // Act
    let big = client
        .fetch_attachment(&format!("{}/big", server.uri()), 1000)
        .await;
    let expired = client
        .fetch_attachment(&format!("{}/expired", server.uri()), 1000)
        .await;
    let foreign_http = client
        .fetch_attachment("http://cdn.example.org/a.jpg", 1000)
        .await;

    // Assert
    assert!(matches!(big, Err(ConnectorError::Permanent(_))), "{big:?}");
    assert!(
        matches!(expired, Err(ConnectorError::Permanent(_))),
        "{expired:?}"
    );
    assert!(
        matches!(foreign_http, Err(ConnectorError::Permanent(_))),
        "{foreign_http:?}"
    );
}

#[tokio::test]
async fn attachment_links_off_meta_or_to_inside_addresses_are_never_fetched() {
    // Arrange: a second local server plays an inside service that a link or
    // a redirect might point at.
    let api = MockServer::start().await;
    let inside = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("secret"))
        .mount(&inside)
        .await;
    let inside_port = inside.address().port();
    for (route, target) in [
        ("/to-loopback", format!("http://127.0.0.1:{inside_port}/")),
        ("/to-metadata", "http://169.254.169.254/latest/".to_owned()),
        ("/to-https-ip", format!("https://127.0.0.1:{inside_port}/")),
        ("/to-other-host", "https://example.org/a.jpg".to_owned()),
    ] {
        Mock::given(method("GET"))
            .and(path(route))
            .respond_with(ResponseTemplate::new(302).insert_header("location", target.as_str()))
            .mount(&api)
            .await;
    }
    // `localhost` allowed by name: the resolver still refuses its addresses.
    let mut settings = settings(&api, 5);
    settings.attachment_hosts = vec!["fbcdn.net".to_owned(), "localhost".to_owned()];
    let client = MetaClient::new(&settings).unwrap();

    // Act
    let mut outcomes = Vec::new();
    for link in [
        format!("{}/to-loopback", api.uri()),
        format!("{}/to-metadata", api.uri()),
        format!("{}/to-https-ip", api.uri()),
        format!("{}/to-other-host", api.uri()),
        format!("https://localhost:{inside_port}/a.jpg"),
        format!("https://127.0.0.1:{inside_port}/a.jpg"),
        format!("http://localhost:{inside_port}/a.jpg"),
        "https://scontent.fbcdn.net.example.org/a.jpg".to_owned(),
    ] {
        outcomes.push((link.clone(), client.fetch_attachment(&link, 1000).await));
    }

    // Assert
    for (link, outcome) in &outcomes {
        assert!(outcome.is_err(), "{link} was fetched: {outcome:?}");
    }
    assert!(
        inside.received_requests().await.unwrap().is_empty(),
        "the inside service was reached"
    );
}
