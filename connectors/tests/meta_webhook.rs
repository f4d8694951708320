//! Meta webhooks end to end on the library side: the byte-exact fixtures
//! Meta sends, their signatures, the subscription handshake, and hostile or
//! unusual bodies.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers fail the test on a bad fixture"
)]

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use connectors::meta::{
    parse_webhook, verify_handshake, verify_signature, verify_webhook, IgnoreReason, MetaEvent,
    MetaMessage, MetaSettings, WebhookBatch, WebhookObject,
};
use connectors::ConnectorError;
use models::{
    AttachmentContent, Channel, ChannelIdentity, ExternalMessageId, IgAccountId, Igsid, Language,
    MessageKind, PageId, Psid, ReferenceNumber, ReferencePrefix,
};
use secrecy::SecretString;

const PAGE: &str = "104827364519203";
const IG_ACCOUNT: &str = "17841400918273645";

fn fixture_path(name: &str) -> String {
    format!(
        "{}/../tests/fixtures/meta/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// A fixture's bytes exactly as stored: never re-serialized.
fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture_path(name)).unwrap_or_else(|e| panic!("cannot read fixture {name}: {e}"))
}

fn signatures() -> serde_json::Value {
    serde_json::from_slice(&fixture("signatures.json")).unwrap()
}

fn fixture_secret() -> SecretString {
    SecretString::from(signatures()["app_secret"].as_str().unwrap().to_owned())
}

fn settings() -> MetaSettings {
    let toml = format!(
        r#"
        app_secret = "{secret}"
        verify_token = "jeton-de-verification-sj"
        [[pages]]
        id = "{PAGE}"
        access_token = "page-token"
        instagram_account_id = "{IG_ACCOUNT}"
        "#,
        secret = signatures()["app_secret"].as_str().unwrap()
    );
    let settings: MetaSettings = toml::from_str(&toml).unwrap();
    settings.validate().unwrap();
    settings
}

fn prefix() -> ReferencePrefix {
    ReferencePrefix::parse("SJ").unwrap()
}

fn parse_fixture(name: &str) -> WebhookBatch {
    parse_webhook(&fixture(name), &settings(), &prefix()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn ms(millis: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(millis).unwrap()
}

fn messenger(psid: &str) -> ChannelIdentity {
    ChannelIdentity::Messenger {
        page: PageId::parse(PAGE).unwrap(),
        psid: Psid::parse(psid).unwrap(),
    }
}

fn instagram(igsid: &str) -> ChannelIdentity {
    ChannelIdentity::Instagram {
        account: IgAccountId::parse(IG_ACCOUNT).unwrap(),
        igsid: Igsid::parse(igsid).unwrap(),
    }
}

fn mid(text: &str) -> ExternalMessageId {
    ExternalMessageId::parse(text).unwrap()
}

fn only_message(batch: &WebhookBatch) -> &MetaMessage {
    assert_eq!(batch.events.len(), 1, "{:#?}", batch.events);
    match &batch.events[0] {
        MetaEvent::Message(message) => message,
        other => panic!("expected a message, got {other:#?}"),
    }
}

/// A `page` webhook body with the given `messaging[]` items in one entry.
fn page_body(items: &[serde_json::Value]) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "object": "page",
        "entry": [{ "id": PAGE, "time": 1768311672917_i64, "messaging": items }]
    }))
    .unwrap()
}

fn citizen_item(psid: &str, message: serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "sender": { "id": psid },
        "recipient": { "id": PAGE },
        "timestamp": 1768311672345_i64,
        "message": message,
    })
}

// ---------------------------------------------------------------------------
// The fixtures, one by one, as the fixture README describes them.
// ---------------------------------------------------------------------------

#[test]
fn messenger_text_yields_one_citizen_message_with_decoded_accents() {
    // Arrange / Act
    let batch = parse_fixture("messenger-text.json");

    // Assert
    assert_eq!(batch.object, WebhookObject::Page);
    let message = only_message(&batch);
    let inbound = &message.inbound;
    assert_eq!(inbound.channel, Channel::Messenger);
    assert_eq!(inbound.sender, messenger("7301928374650012"));
    assert_eq!(
        inbound.external_id,
        mid("m_-gYjDCTHcJJYsmHCM5r4tsP4Ar9zWnR5BJly0I6Jb2auxupA6Vaxo44tJPr0rAnezqTrOf13yrsd8N9Qe6FW")
    );
    assert_eq!(inbound.received_at, ms(1_768_311_672_345));
    assert_eq!(
        inbound.received_at,
        Utc.with_ymd_and_hms(2026, 1, 13, 13, 41, 12).unwrap()
            + chrono::TimeDelta::milliseconds(345)
    );
    assert_eq!(
        inbound.body_text,
        "Bonjour, y\u{2019}a un gros nid-de-poule en face du 1450 rue des Pruches. \
         J\u{2019}ai failli briser une roue \u{e0} matin! Est-ce que quelqu\u{2019}un peut \
         venir le boucher? Merci"
    );
    assert!(inbound.body_text.contains("y’a") && inbound.body_text.contains("à matin"));
    assert_eq!(inbound.new_text, inbound.body_text);
    assert_eq!(inbound.kind, MessageKind::Citizen);
    assert_eq!(inbound.language, Language::Fr);
    assert!(inbound.attachments.is_empty());
    assert_eq!(message.quick_reply_payload, None);
}

#[test]
fn a_replayed_body_parses_to_the_same_message_and_dedup_key() {
    // Arrange
    let body = fixture("messenger-text.json");

    // Act
    let first = parse_webhook(&body, &settings(), &prefix()).unwrap();
    let replay = parse_webhook(&body, &settings(), &prefix()).unwrap();

    // Assert
    assert_eq!(first, replay);
    let key = |b: &WebhookBatch| {
        let m = only_message(b);
        (m.inbound.channel, m.inbound.external_id.clone())
    };
    assert_eq!(key(&first), key(&replay));
}

#[test]
fn messenger_image_without_text_is_a_message_with_a_decoded_remote_link() {
    // Arrange / Act
    let batch = parse_fixture("messenger-image.json");

    // Assert
    let inbound = &only_message(&batch).inbound;
    assert_eq!(inbound.sender, messenger("7301928374650012"));
    assert_eq!(
        inbound.external_id,
        mid("m_Q_UgyqYamy41YcI3IcW1JjaIVEVXoRAzvyoGkaSdP_-1FRcc72L8nW0NIMQbJcC0ZgSCzkgsvL049gBCTZR1")
    );
    assert_eq!(inbound.received_at, ms(1_768_311_891_108));
    assert_eq!(inbound.body_text, "");
    assert_eq!(inbound.new_text, "");
    assert_eq!(inbound.kind, MessageKind::Citizen);
    assert_eq!(inbound.attachments.len(), 1);
    let attachment = &inbound.attachments[0];
    assert_eq!(attachment.content_type, "image/*");
    assert_eq!(
        attachment.content,
        AttachmentContent::Remote {
            url: "https://scontent.xx.fbcdn.net/v/t1.15752-9/471209388_1029384756019283_5647382910_n.jpg?_nc_cat=101&ccb=1-7&_nc_sid=fc17b8&_nc_ohc=FixtureOnlyNotReal&_nc_ht=scontent.xx&oh=03_FixtureOnlyNotReal&oe=6990A1B2".to_owned()
        }
    );
}

#[test]
fn messenger_echo_is_never_a_citizen_message_and_its_metadata_is_read() {
    // Arrange / Act
    let batch = parse_fixture("messenger-echo.json");

    // Assert
    assert_eq!(batch.events.len(), 1);
    assert!(
        !batch
            .events
            .iter()
            .any(|e| matches!(e, MetaEvent::Message(_))),
        "an echo became a citizen message"
    );
    let MetaEvent::Echo {
        mid: echo_mid,
        outbox_id,
        metadata,
        app_id,
        recipient,
        text,
        at,
    } = &batch.events[0]
    else {
        panic!("expected an echo, got {:#?}", batch.events[0]);
    };
    assert_eq!(
        *echo_mid,
        mid("m_8wGP8ePMnH_OFHYlZfqWv9e4PmBksiOepgvfAAzyIuzitgS7HaPEw8pgdON3dBOunyztz3Abk0SZS1NGz5K3")
    );
    assert_eq!(
        metadata.as_deref(),
        Some("sj-outbox:01KEXA7Q9T6S2W8Y4K7M5N0P1R")
    );
    // The fixture's illustrative outbox id is not a UUID, so it names no row.
    assert_eq!(*outbox_id, None);
    assert_eq!(*app_id, Some(918_273_645_501_234));
    assert_eq!(*recipient, messenger("7301928374650012"));
    assert!(text
        .as_deref()
        .unwrap()
        .contains("num\u{e9}ro de requ\u{ea}te : SJ-2026-000121"));
    assert_eq!(*at, ms(1_768_311_673_204));
    assert_eq!(batch.events[0].channel(), Some(Channel::Messenger));
}

#[test]
fn messenger_batch_yields_three_events_of_the_right_kinds_for_the_right_psids() {
    // Arrange / Act
    let batch = parse_fixture("messenger-batch.json");

    // Assert
    assert_eq!(batch.events.len(), 3, "{:#?}", batch.events);

    let MetaEvent::Message(message) = &batch.events[0] else {
        panic!("first event is not a message: {:#?}", batch.events[0]);
    };
    assert_eq!(message.inbound.sender, messenger("7301928374650087"));
    assert_eq!(message.inbound.received_at, ms(1_768_312_683_512));
    assert!(message
        .inbound
        .body_text
        .starts_with("Allo! La d\u{e9}neigeuse a laiss\u{e9} un banc de neige"));
    assert!(message.inbound.body_text.ends_with("travailler\u{2026}"));

    let MetaEvent::Delivery {
        identity,
        mids,
        watermark,
    } = &batch.events[1]
    else {
        panic!("second event is not a delivery: {:#?}", batch.events[1]);
    };
    assert_eq!(*identity, messenger("7301928374650012"));
    assert_eq!(
        *mids,
        vec![mid("m_8wGP8ePMnH_OFHYlZfqWv9e4PmBksiOepgvfAAzyIuzitgS7HaPEw8pgdON3dBOunyztz3Abk0SZS1NGz5K3")]
    );
    assert_eq!(*watermark, ms(1_768_311_673_204));

    let MetaEvent::Postback {
        identity,
        title,
        payload,
        mid: postback_mid,
        at,
        inbound,
    } = &batch.events[2]
    else {
        panic!("third event is not a postback: {:#?}", batch.events[2]);
    };
    assert_eq!(*identity, messenger("7301928374650143"));
    assert_eq!(title, "Signaler un probl\u{e8}me");
    assert_eq!(payload, "SIGNALER_PROBLEME");
    assert_eq!(
        *postback_mid,
        Some(mid("m_kFFDdwvSVFm_ABYxm3pkS9OsbH8K-bFLq1Okt-iuGKdlD443EE8yjFPASkl6H_C0FpWiSbT2_RRYLfCY2vLV"))
    );
    assert_eq!(*at, ms(1_768_313_200_221));
    let inbound = inbound
        .as_ref()
        .expect("a postback with a mid is a message");
    assert_eq!(inbound.channel, Channel::Messenger);
    assert_eq!(Some(&inbound.external_id), postback_mid.as_ref());
    assert_eq!(inbound.sender, *identity);
    assert_eq!(inbound.body_text, *title);
    assert_eq!(inbound.new_text, *title);
    assert_eq!(inbound.kind, MessageKind::Citizen);
    assert_eq!(inbound.received_at, *at);
}

#[test]
fn a_postback_without_a_mid_gets_an_id_from_its_citizen_time_and_payload() {
    // Arrange
    let item = |payload: &str| {
        serde_json::json!({
            "sender": { "id": "7301928374650143" }, "recipient": { "id": PAGE },
            "timestamp": 1768313200221_i64,
            "postback": { "title": "Horaire", "payload": payload }
        })
    };
    let body = serde_json::to_vec(&serde_json::json!({
        "object": "page",
        "entry": [{ "id": PAGE, "time": 1, "messaging": [item("HORAIRE"), item("avec des blancs")] }]
    }))
    .unwrap();

    // Act
    let batch = parse_webhook(&body, &settings(), &prefix()).unwrap();

    // Assert
    let MetaEvent::Postback {
        inbound: Some(inbound),
        ..
    } = &batch.events[0]
    else {
        panic!("not a postback with a message: {:#?}", batch.events[0]);
    };
    assert_eq!(
        inbound.external_id.as_ref(),
        format!("postback:{PAGE}:7301928374650143:1768313200221:HORAIRE")
    );
    assert_eq!(inbound.body_text, "Horaire");
    assert!(
        matches!(&batch.events[1], MetaEvent::Postback { inbound: None, .. }),
        "a payload with blanks cannot be an id: {:#?}",
        batch.events[1]
    );
}

#[test]
fn the_delivery_receipt_names_the_echoed_acknowledgement() {
    // Arrange
    let echo = parse_fixture("messenger-echo.json");
    let batch = parse_fixture("messenger-batch.json");

    // Act
    let MetaEvent::Echo { mid: echoed, .. } = &echo.events[0] else {
        panic!("not an echo");
    };
    let MetaEvent::Delivery { mids, .. } = &batch.events[1] else {
        panic!("not a delivery");
    };

    // Assert
    assert!(mids.contains(echoed));
}

#[test]
fn instagram_text_goes_to_the_instagram_channel_with_an_igsid() {
    // Arrange / Act
    let batch = parse_fixture("instagram-text.json");

    // Assert
    assert_eq!(batch.object, WebhookObject::Instagram);
    let inbound = &only_message(&batch).inbound;
    assert_eq!(inbound.channel, Channel::Instagram);
    assert_eq!(inbound.sender, instagram("1120394857612345"));
    assert_eq!(inbound.sender.kind(), "igsid");
    assert!(!matches!(inbound.sender, ChannelIdentity::Messenger { .. }));
    assert_eq!(
        inbound.external_id,
        mid("aWdfbWVzc2FnZV9pZDp3PngRt38VLIpeGg77vOlip4A7z3NHZUI")
    );
    assert_eq!(inbound.received_at, ms(1_768_313_611_402));
    assert_eq!(
        inbound.body_text,
        "Bonjour! Quand est-ce que le trottoir de la rue Principale va \u{ea}tre d\u{e9}glac\u{e9}? \
         C\u{2019}est une vraie patinoire devant l\u{2019}\u{e9}cole ce matin."
    );
    assert_eq!(inbound.language, Language::Fr);
    assert_eq!(inbound.kind, MessageKind::Citizen);
}

#[test]
fn instagram_unsend_marks_the_same_mid_deleted_without_a_new_message() {
    // Arrange
    let original = parse_fixture("instagram-text.json");

    // Act
    let batch = parse_fixture("instagram-unsend.json");

    // Assert
    assert_eq!(batch.events.len(), 1);
    let MetaEvent::Deleted {
        identity,
        mid: deleted,
    } = &batch.events[0]
    else {
        panic!("expected a deletion, got {:#?}", batch.events[0]);
    };
    assert_eq!(*identity, instagram("1120394857612345"));
    assert_eq!(*deleted, only_message(&original).inbound.external_id);
    assert_eq!(batch.events[0].channel(), Some(Channel::Instagram));
}

// ---------------------------------------------------------------------------
// Signatures.
// ---------------------------------------------------------------------------

fn signed_fixtures() -> Vec<(String, String)> {
    let signatures = signatures();
    let map = signatures["x_hub_signature_256"].as_object().unwrap();
    assert_eq!(map.len(), 6, "every webhook fixture has a signature");
    map.iter()
        .map(|(file, header)| (file.clone(), header.as_str().unwrap().to_owned()))
        .collect()
}

#[test]
fn every_webhook_fixture_is_accepted_with_its_signature() {
    // Arrange
    let secret = fixture_secret();
    for (file, header) in signed_fixtures() {
        // Act
        let verdict = verify_signature(Some(&header), &fixture(&file), &secret);

        // Assert
        assert!(verdict.is_ok(), "{file} refused: {verdict:?}");
    }
}

#[test]
fn a_missing_signature_header_is_refused() {
    // Arrange
    let secret = fixture_secret();
    for (file, _) in signed_fixtures() {
        // Act
        let verdict = verify_signature(None, &fixture(&file), &secret);

        // Assert
        assert!(
            matches!(verdict, Err(ConnectorError::BadSignature)),
            "{file}"
        );
    }
}

#[test]
fn a_sha1_signature_header_is_refused() {
    // Arrange
    let secret = fixture_secret();
    for (file, header) in signed_fixtures() {
        let hex = header.strip_prefix("sha256=").unwrap();
        let sha1_header = format!("sha1={}", &hex[..40]);

        // Act
        let verdict = verify_signature(Some(&sha1_header), &fixture(&file), &secret);

        // Assert
        assert!(
            matches!(verdict, Err(ConnectorError::BadSignature)),
            "{file}"
        );
    }
}

#[test]
fn a_signature_made_with_another_secret_is_refused() {
    // Arrange
    let wrong = SecretString::from("0f1e2d3c4b5a69788796a5b4c3d2e1f1");
    for (file, header) in signed_fixtures() {
        // Act
        let verdict = verify_signature(Some(&header), &fixture(&file), &wrong);

        // Assert
        assert!(
            matches!(verdict, Err(ConnectorError::BadSignature)),
            "{file}"
        );
    }
}

#[test]
fn a_body_with_one_byte_changed_is_refused() {
    // Arrange
    let secret = fixture_secret();
    for (file, header) in signed_fixtures() {
        let original = fixture(&file);
        for position in [0, original.len() / 2, original.len() - 1] {
            let mut tampered = original.clone();
            tampered[position] ^= 0x01;

            // Act
            let verdict = verify_signature(Some(&header), &tampered, &secret);

            // Assert
            assert!(
                matches!(verdict, Err(ConnectorError::BadSignature)),
                "{file} accepted with byte {position} changed"
            );
        }
    }
}

#[test]
fn a_reserialized_body_no_longer_matches_its_signature() {
    // Arrange: the same JSON value, written back without Meta's escapes.
    let secret = fixture_secret();
    let original = fixture("messenger-text.json");
    let value: serde_json::Value = serde_json::from_slice(&original).unwrap();
    let reserialized = serde_json::to_vec(&value).unwrap();
    let header = signed_fixtures()
        .into_iter()
        .find(|(file, _)| file == "messenger-text.json")
        .unwrap()
        .1;

    // Act
    let verdict = verify_signature(Some(&header), &reserialized, &secret);

    // Assert
    assert_ne!(reserialized, original);
    assert!(matches!(verdict, Err(ConnectorError::BadSignature)));
}

#[test]
fn an_uppercase_or_padded_hex_signature_is_still_checked_against_the_body() {
    // Arrange
    let secret = fixture_secret();
    let (file, header) = signed_fixtures().remove(0);
    let hex = header.strip_prefix("sha256=").unwrap();
    let upper = format!("sha256={}", hex.to_ascii_uppercase());
    let padded = format!(" {header} ");

    // Act
    let upper_verdict = verify_signature(Some(&upper), &fixture(&file), &secret);
    let padded_verdict = verify_signature(Some(&padded), &fixture(&file), &secret);
    let wrong_body = verify_signature(Some(&upper), b"{}", &secret);

    // Assert
    assert!(upper_verdict.is_ok());
    assert!(padded_verdict.is_ok());
    assert!(matches!(wrong_body, Err(ConnectorError::BadSignature)));
}

// ---------------------------------------------------------------------------
// Handshake.
// ---------------------------------------------------------------------------

#[test]
fn the_subscription_handshake_echoes_the_challenge_for_the_right_token() {
    // Arrange
    let settings = settings();

    // Act
    let challenge = verify_handshake(
        Some("subscribe"),
        Some("jeton-de-verification-sj"),
        Some("1158201444"),
        &settings,
    );

    // Assert
    assert_eq!(challenge.unwrap(), "1158201444");
}

#[test]
fn the_subscription_handshake_is_refused_for_a_wrong_token_or_mode() {
    // Arrange
    let settings = settings();

    // Act
    let wrong_token = verify_handshake(Some("subscribe"), Some("devine"), Some("1"), &settings);
    let no_token = verify_handshake(Some("subscribe"), None, Some("1"), &settings);
    let wrong_mode = verify_handshake(
        Some("unsubscribe"),
        Some("jeton-de-verification-sj"),
        Some("1"),
        &settings,
    );

    // Assert
    assert!(matches!(wrong_token, Err(ConnectorError::BadSignature)));
    assert!(matches!(no_token, Err(ConnectorError::BadSignature)));
    assert!(matches!(wrong_mode, Err(ConnectorError::InvalidPayload(_))));
}

// ---------------------------------------------------------------------------
// Bad, unusual and large input.
// ---------------------------------------------------------------------------

#[test]
fn a_body_that_is_not_json_is_an_invalid_payload() {
    // Arrange
    let bodies: [&[u8]; 4] = [
        b"",
        b"not json",
        b"{\"object\":\"page\",",
        &[0xff, 0xfe, 0x00],
    ];
    for body in bodies {
        // Act
        let parsed = parse_webhook(body, &settings(), &prefix());

        // Assert
        assert!(
            matches!(parsed, Err(ConnectorError::InvalidPayload(_))),
            "case {body:?}: {parsed:?}"
        );
    }
}

#[test]
fn json_of_the_wrong_shape_is_an_invalid_payload() {
    // Arrange
    let bodies = [
        r#"[]"#,
        r#"{}"#,
        r#"{"object":"page"}"#,
        r#"{"entry":[]}"#,
        r#"{"object":"page","entry":{}}"#,
        r#"{"object":42,"entry":[]}"#,
        r#"{"object":"page","entry":[{"messaging":[]}]}"#,
        r#"{"object":"page","entry":[{"id":"104827364519203","messaging":{}}]}"#,
    ];
    for body in bodies {
        // Act
        let parsed = parse_webhook(body.as_bytes(), &settings(), &prefix());

        // Assert
        assert!(
            matches!(parsed, Err(ConnectorError::InvalidPayload(_))),
            "case {body}: {parsed:?}"
        );
    }
}

#[test]
fn an_invalid_payload_error_does_not_quote_the_body() {
    // Arrange
    let body =
        r#"{"object":"page","entry":[{"id":1234,"messaging":[]}],"x":"Mon adresse secrète"}"#;

    // Act
    let error = parse_webhook(body.as_bytes(), &settings(), &prefix()).unwrap_err();

    // Assert
    assert!(matches!(error, ConnectorError::InvalidPayload(_)));
    assert!(!error.to_string().contains("1234"), "{error}");
}

#[test]
fn an_unknown_object_is_reported_as_unsupported_with_no_events() {
    // Arrange
    let cases = [
        (
            r#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[]}]}"#,
            "whatsapp_business_account",
        ),
        (
            r#"{"object":"user","entry":[{"uid":"1","changed_fields":["name"]}]}"#,
            "user",
        ),
    ];
    for (body, name) in cases {
        // Act
        let batch = parse_webhook(body.as_bytes(), &settings(), &prefix()).unwrap();

        // Assert
        assert_eq!(
            batch.object,
            WebhookObject::Unsupported {
                name: name.to_owned()
            },
            "case {name}"
        );
        assert!(batch.events.is_empty(), "case {name}");
    }
}

#[test]
fn an_unknown_page_is_ignored_without_failing_the_rest_of_the_batch() {
    // Arrange
    let body = serde_json::to_vec(&serde_json::json!({
        "object": "page",
        "entry": [
            { "id": "999000111", "time": 1, "messaging": [
                { "sender": {"id": "1"}, "recipient": {"id": "999000111"}, "timestamp": 1,
                  "message": {"mid": "m_other", "text": "pas pour nous"} }
            ]},
            { "id": PAGE, "time": 1, "messaging": [
                citizen_item("7301928374650012", serde_json::json!({"mid": "m_ours", "text": "Bonjour"}))
            ]}
        ]
    }))
    .unwrap();

    // Act
    let batch = parse_webhook(&body, &settings(), &prefix()).unwrap();

    // Assert
    assert_eq!(batch.events.len(), 2);
    assert_eq!(
        batch.events[0],
        MetaEvent::Ignored {
            reason: IgnoreReason::UnknownRecipient {
                id: "999000111".to_owned()
            }
        }
    );
    assert!(
        matches!(&batch.events[1], MetaEvent::Message(m) if m.inbound.external_id == mid("m_ours"))
    );
}

#[test]
fn an_instagram_object_with_the_page_id_is_not_taken_for_the_instagram_account() {
    // Arrange: the Messenger fixture relabelled as Instagram; the Page id is
    // not an Instagram account id, so nothing may be read as an IGSID.
    let body = String::from_utf8(fixture("messenger-text.json"))
        .unwrap()
        .replace(r#""object":"page""#, r#""object":"instagram""#);

    // Act
    let batch = parse_webhook(body.as_bytes(), &settings(), &prefix()).unwrap();

    // Assert
    assert_eq!(batch.events.len(), 1);
    assert!(matches!(
        &batch.events[0],
        MetaEvent::Ignored {
            reason: IgnoreReason::UnknownRecipient { .. }
        }
    ));
}

#[test]
fn an_unknown_attachment_type_is_recorded_without_crashing() {
    // Arrange
    let body = page_body(&[citizen_item(
        "7301928374650012",
        serde_json::json!({
            "mid": "m_attach",
            "attachments": [
                { "type": "ig_reel", "payload": { "url": "https://lookaside.fbsbx.com/reel.mp4", "reel_video_id": 17 } },
                { "type": "location", "payload": { "coordinates": { "lat": 45.58, "long": -73.33 } } },
                { "type": "fallback", "title": "Lien", "url": "https://example.org/page", "payload": null },
                { "type": "video", "payload": { "url": "ftp://example.org/x" } },
                { "type": "audio", "payload": { "url": "https://cdn.example.org/voice.mp4" } },
                { "type": "file", "payload": { "url": "https://cdn.example.org/plan.pdf" } }
            ]
        }),
    )]);

    // Act
    let batch = parse_webhook(&body, &settings(), &prefix()).unwrap();

    // Assert
    let attachments = &only_message(&batch).inbound.attachments;
    assert_eq!(attachments.len(), 6);
    assert_eq!(attachments[0].content_type, "application/x-meta-ig_reel");
    assert_eq!(
        attachments[0].content,
        AttachmentContent::Remote {
            url: "https://lookaside.fbsbx.com/reel.mp4".to_owned()
        }
    );
    assert_eq!(attachments[1].content_type, "application/x-meta-location");
    assert!(matches!(
        attachments[1].content,
        AttachmentContent::Refused { .. }
    ));
    assert_eq!(
        attachments[2].content,
        AttachmentContent::Remote {
            url: "https://example.org/page".to_owned()
        }
    );
    assert!(matches!(
        attachments[3].content,
        AttachmentContent::Refused { .. }
    ));
    assert_eq!(attachments[4].content_type, "audio/*");
    assert_eq!(attachments[5].content_type, "application/octet-stream");
}

#[test]
fn unicode_escapes_decode_to_accents_and_emoji() {
    // Arrange: written by hand so the escapes are exactly Meta's.
    let body = format!(
        r#"{{"object":"page","entry":[{{"id":"{PAGE}","time":1,"messaging":[{{"sender":{{"id":"42"}},"recipient":{{"id":"{PAGE}"}},"timestamp":1768311672345,"message":{{"mid":"m_u","text":"L\u00e9tang \u00e9t\u00e9 \u00c7a \u2013 \u00ab oui \u00bb \ud83d\ude42 \/ fin"}}}}]}}]}}"#
    );

    // Act
    let batch = parse_webhook(body.as_bytes(), &settings(), &prefix()).unwrap();

    // Assert
    assert_eq!(
        only_message(&batch).inbound.body_text,
        "L\u{e9}tang \u{e9}t\u{e9} \u{c7}a \u{2013} \u{ab} oui \u{bb} \u{1f642} / fin"
    );
}

#[test]
fn quick_replies_and_swipe_replies_are_kept() {
    // Arrange
    let body = page_body(&[citizen_item(
        "7301928374650012",
        serde_json::json!({
            "mid": "m_qr",
            "text": "Travaux publics",
            "quick_reply": { "payload": "SERVICE_TRAVAUX_PUBLICS" },
            "reply_to": { "mid": "m_earlier" }
        }),
    )]);

    // Act
    let batch = parse_webhook(&body, &settings(), &prefix()).unwrap();

    // Assert
    let message = only_message(&batch);
    assert_eq!(
        message.quick_reply_payload.as_deref(),
        Some("SERVICE_TRAVAUX_PUBLICS")
    );
    assert_eq!(message.reply_to, Some(mid("m_earlier")));
    assert_eq!(message.inbound.body_text, "Travaux publics");
}

#[test]
fn reference_numbers_quoted_by_the_citizen_are_found_in_any_case() {
    // Arrange
    let body = page_body(&[citizen_item(
        "7301928374650012",
        serde_json::json!({ "mid": "m_ref", "text": "Suivi de sj-2026-000121 svp (pas XY-2026-000001)" }),
    )]);

    // Act
    let batch = parse_webhook(&body, &settings(), &prefix()).unwrap();

    // Assert
    assert_eq!(
        only_message(&batch).inbound.hints.references,
        vec![ReferenceNumber::parse("SJ-2026-000121").unwrap()]
    );
}

#[test]
fn an_english_message_is_detected_as_english() {
    // Arrange
    let body = page_body(&[citizen_item(
        "7301928374650012",
        serde_json::json!({ "mid": "m_en", "text": "Hello, there is a pothole on my street since Monday." }),
    )]);

    // Act
    let batch = parse_webhook(&body, &settings(), &prefix()).unwrap();

    // Assert
    assert_eq!(only_message(&batch).inbound.language, Language::En);
}

#[test]
fn a_malformed_item_is_ignored_and_its_neighbours_still_parse() {
    // Arrange
    let body = page_body(&[
        citizen_item(
            "not-digits",
            serde_json::json!({ "mid": "m_bad", "text": "x" }),
        ),
        citizen_item("7301928374650012", serde_json::json!({ "text": "no mid" })),
        serde_json::json!("not an object"),
        citizen_item(
            "7301928374650012",
            serde_json::json!({ "mid": "m_good", "text": "Bonjour" }),
        ),
    ]);

    // Act
    let batch = parse_webhook(&body, &settings(), &prefix()).unwrap();

    // Assert
    assert_eq!(batch.events.len(), 4);
    for event in &batch.events[..3] {
        assert!(
            matches!(
                event,
                MetaEvent::Ignored {
                    reason: IgnoreReason::Malformed { .. }
                }
            ),
            "{event:#?}"
        );
    }
    assert!(
        matches!(&batch.events[3], MetaEvent::Message(m) if m.inbound.external_id == mid("m_good"))
    );
}

#[test]
fn unhandled_event_types_are_ignored_by_name() {
    // Arrange
    let body = page_body(&[serde_json::json!({
        "sender": { "id": "7301928374650012" },
        "recipient": { "id": PAGE },
        "timestamp": 1768311672345_i64,
        "reaction": { "mid": "m_x", "action": "react", "emoji": "\u{2764}" }
    })]);

    // Act
    let batch = parse_webhook(&body, &settings(), &prefix()).unwrap();

    // Assert
    assert_eq!(
        batch.events,
        vec![MetaEvent::Ignored {
            reason: IgnoreReason::UnsupportedEvent {
                kind: "reaction".to_owned()
            }
        }]
    );
}

#[test]
fn a_message_whose_recipient_is_not_the_entry_page_is_ignored() {
    // Arrange
    let mut item = citizen_item(
        "7301928374650012",
        serde_json::json!({ "mid": "m_x", "text": "x" }),
    );
    item["recipient"]["id"] = serde_json::json!("555");
    let body = page_body(&[item]);

    // Act
    let batch = parse_webhook(&body, &settings(), &prefix()).unwrap();

    // Assert
    assert!(matches!(
        &batch.events[0],
        MetaEvent::Ignored {
            reason: IgnoreReason::Malformed { .. }
        }
    ));
}

#[test]
fn read_receipts_and_edits_become_their_own_events() {
    // Arrange
    let body = page_body(&[
        serde_json::json!({
            "sender": { "id": "7301928374650012" }, "recipient": { "id": PAGE },
            "timestamp": 1768311699000_i64, "read": { "watermark": 1768311690000_i64 }
        }),
        serde_json::json!({
            "sender": { "id": "7301928374650012" }, "recipient": { "id": PAGE },
            "timestamp": 1768311700000_i64,
            "message_edit": { "mid": "m_orig", "text": "1450 rue des Pruches, pas 1405", "num_edit": 1 }
        }),
    ]);

    // Act
    let batch = parse_webhook(&body, &settings(), &prefix()).unwrap();

    // Assert
    assert_eq!(
        batch.events[0],
        MetaEvent::Read {
            identity: messenger("7301928374650012"),
            watermark: Some(ms(1_768_311_690_000)),
            mid: None,
        }
    );
    assert_eq!(
        batch.events[1],
        MetaEvent::Edited {
            identity: messenger("7301928374650012"),
            mid: mid("m_orig"),
            text: "1450 rue des Pruches, pas 1405".to_owned(),
            at: ms(1_768_311_700_000),
        }
    );
}

#[test]
fn instagram_story_mentions_and_story_replies_are_told_apart() {
    // Arrange
    let item = |message: serde_json::Value| {
        serde_json::json!({
            "sender": { "id": "1120394857612345" }, "recipient": { "id": IG_ACCOUNT },
            "timestamp": 1768313611402_i64, "message": message
        })
    };
    let body = serde_json::to_vec(&serde_json::json!({
        "object": "instagram",
        "entry": [{ "id": IG_ACCOUNT, "time": 1, "messaging": [
            item(serde_json::json!({ "mid": "ig_mention", "attachments": [
                { "type": "story_mention", "payload": { "url": "https://lookaside.fbsbx.com/story" } } ] })),
            item(serde_json::json!({ "mid": "ig_reply", "text": "Belle patinoire!",
                "reply_to": { "story": { "url": "https://lookaside.fbsbx.com/ours", "id": "1789" } } })),
        ]}]
    }))
    .unwrap();

    // Act
    let batch = parse_webhook(&body, &settings(), &prefix()).unwrap();

    // Assert
    let MetaEvent::StoryMention {
        identity,
        mid: mention_mid,
        url,
        at,
        inbound,
    } = &batch.events[0]
    else {
        panic!("not a story mention: {:#?}", batch.events[0]);
    };
    assert_eq!(*identity, instagram("1120394857612345"));
    assert_eq!(*mention_mid, mid("ig_mention"));
    assert_eq!(url.as_deref(), Some("https://lookaside.fbsbx.com/story"));
    assert_eq!(*at, ms(1_768_313_611_402));
    assert_eq!(inbound.channel, Channel::Instagram);
    assert_eq!(inbound.external_id, mid("ig_mention"));
    assert_eq!(inbound.sender, *identity);
    assert_eq!(inbound.kind, MessageKind::AutoReply);
    assert_eq!(inbound.body_text, "");
    assert_eq!(inbound.received_at, *at);
    assert!(inbound.attachments.is_empty(), "the story is not stored");
    let MetaEvent::Message(reply) = &batch.events[1] else {
        panic!("a story reply is a citizen message: {:#?}", batch.events[1]);
    };
    assert_eq!(
        reply.story_reply.as_ref().unwrap().id.as_deref(),
        Some("1789")
    );
    assert_eq!(reply.inbound.body_text, "Belle patinoire!");
}

#[test]
fn a_thousand_events_in_one_post_all_parse_quickly_and_in_order() {
    // Arrange: ten entries of a hundred messages, as Meta batches under load.
    const ENTRIES: usize = 10;
    const PER_ENTRY: usize = 100;
    let entries: Vec<serde_json::Value> = (0..ENTRIES)
        .map(|e| {
            let items: Vec<serde_json::Value> = (0..PER_ENTRY)
                .map(|i| {
                    let n = e * PER_ENTRY + i;
                    serde_json::json!({
                        "sender": { "id": format!("73019283746{n:05}") },
                        "recipient": { "id": PAGE },
                        "timestamp": 1768311672345_i64 + n as i64,
                        "message": { "mid": format!("m_load_{n}"), "text": format!("Bonjour, d\u{e9}neigement n\u{b0} {n}") }
                    })
                })
                .collect();
            serde_json::json!({ "id": PAGE, "time": 1768311672917_i64, "messaging": items })
        })
        .collect();
    let body =
        serde_json::to_vec(&serde_json::json!({ "object": "page", "entry": entries })).unwrap();
    let settings = settings();

    // Act
    let started = Instant::now();
    let batch = parse_webhook(&body, &settings, &prefix()).unwrap();
    let elapsed = started.elapsed();

    // Assert
    assert_eq!(batch.events.len(), ENTRIES * PER_ENTRY);
    for (n, event) in batch.events.iter().enumerate() {
        let MetaEvent::Message(message) = event else {
            panic!("event {n} is not a message: {event:#?}");
        };
        assert_eq!(
            message.inbound.external_id,
            mid(&format!("m_load_{n}")),
            "event {n}"
        );
        assert_eq!(
            message.inbound.received_at,
            ms(1_768_311_672_345 + n as i64)
        );
    }
    // Generous for an unoptimised build on a busy machine; the real figure
    // is a few milliseconds.
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
}

fn sign(body: &[u8]) -> String {
    use hmac::Mac;
    let secret = signatures()["app_secret"].as_str().unwrap().to_owned();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[test]
fn the_envelope_check_accepts_exactly_the_bodies_the_full_parse_accepts() {
    // Arrange
    let cases: [(&str, &[u8]); 16] = [
        (
            "a page body",
            br#"{"object":"page","entry":[{"id":"1","time":1,"messaging":[{"x":1}]}]}"#,
        ),
        (
            "an instagram body",
            br#"{"object":"instagram","entry":[{"id":"1"}]}"#,
        ),
        ("no entries", br#"{"object":"page","entry":[]}"#),
        (
            "an unsupported object with other entries",
            br#"{"object":"user","entry":[{"uid":1}]}"#,
        ),
        (
            "unknown fields",
            br#"{"object":"page","entry":[{"id":"1","changes":[]}],"extra":true}"#,
        ),
        (
            "null time",
            br#"{"object":"page","entry":[{"id":"1","time":null}]}"#,
        ),
        ("not JSON", b"object=page"),
        ("empty", b""),
        ("no object", br#"{"entry":[]}"#),
        ("object not a string", br#"{"object":1,"entry":[]}"#),
        ("no entry", br#"{"object":"page"}"#),
        ("entry not an array", br#"{"object":"page","entry":{}}"#),
        (
            "an entry without id",
            br#"{"object":"page","entry":[{"time":1}]}"#,
        ),
        (
            "a numeric id",
            br#"{"object":"instagram","entry":[{"id":1}]}"#,
        ),
        (
            "messaging not an array",
            br#"{"object":"page","entry":[{"id":"1","messaging":{}}]}"#,
        ),
        (
            "a fractional time",
            br#"{"object":"page","entry":[{"id":"1","time":1.5}]}"#,
        ),
    ];
    for (case, body) in cases {
        // Act
        let envelope = verify_webhook(Some(&sign(body)), body, &settings());
        let parsed = parse_webhook(body, &settings(), &prefix());

        // Assert
        assert_eq!(
            envelope.is_ok(),
            parsed.is_ok(),
            "case {case}: {envelope:?}"
        );
        if let Err(error) = envelope {
            assert!(
                matches!(error, ConnectorError::InvalidPayload(_)),
                "case {case}: {error:?}"
            );
        }
    }
}

#[test]
fn the_envelope_check_refuses_a_bad_signature_and_counts_the_entries() {
    // Arrange
    let body = fixture("messenger-batch.json");
    let mut tampered = body.clone();
    tampered.push(b' ');

    // Act
    let good = verify_webhook(Some(&sign(&body)), &body, &settings());
    let bad = verify_webhook(Some(&sign(&body)), &tampered, &settings());
    let unsigned = verify_webhook(None, &body, &settings());

    // Assert
    let envelope = good.unwrap();
    assert_eq!(envelope.object, WebhookObject::Page);
    let full: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(envelope.entries, full["entry"].as_array().unwrap().len());
    assert!(matches!(bad, Err(ConnectorError::BadSignature)), "{bad:?}");
    assert!(
        matches!(unsigned, Err(ConnectorError::BadSignature)),
        "{unsigned:?}"
    );
}
