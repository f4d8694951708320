//! The email channel against real servers: Dovecot (IMAP) and Postfix
//! (SMTP, delivering into Dovecot over LMTP), as started by
//! `tests/setup/mail-servers.sh`. Run
//!
//! ```sh
//! eval "$(tests/setup/mail-servers.sh)"
//! cargo test -p connectors --test email_servers
//! ```
//!
//! The tests read the ports and the shared password from the environment and
//! fail with a clear message when they are missing: they never skip. Each
//! test writes to fresh mailboxes (any address in example.test exists), so
//! tests run in parallel and repeated runs do not interfere.

// Helpers outside #[test] functions panic to report a failed test, as the
// tests themselves do.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use async_imap::types::Flag;
use chrono::Utc;
use connectors::email::{
    parse_email, AfterProcessingSetting, EmailSettings, ImapAuthMethod, Mailbox, MailboxSettings,
    ParseContext, SmtpSender, SmtpSettings, TransportSecurity, WaitOutcome,
};
use connectors::{Connector, ConnectorError, OutgoingMessage};
use futures::TryStreamExt;
use mail_parser::{MessageParser, MimeHeaders};
use models::{
    Channel, ChannelIdentity, EmailAddress, Language, MessageKind, OutboundKind, OutboxId,
    ReferenceNumber, ReferencePrefix, RfcMessageId,
};
use secrecy::SecretString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How long a message may take from SMTP to IMAP on a loaded machine.
const DELIVERY_DEADLINE: Duration = Duration::from_secs(20);
/// How soon IDLE must report a delivered message (Dovecot pushes it in about
/// half a second; the IDLE timeout in that test is far longer).
const IDLE_WAKE_DEADLINE: Duration = Duration::from_secs(15);

struct MailEnv {
    imap_port: u16,
    imaps_port: u16,
    smtp_port: u16,
    password: String,
    ca_file: std::path::PathBuf,
}

fn mail_env() -> MailEnv {
    let read = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| {
            panic!(
                "{name} is not set: start the test mail servers first with \
                 `eval \"$(tests/setup/mail-servers.sh)\"` (these tests never skip)"
            )
        })
    };
    let port = |name: &str| {
        read(name)
            .parse::<u16>()
            .unwrap_or_else(|e| panic!("{name} is not a port number: {e}"))
    };
    MailEnv {
        imap_port: port("INBOX_TEST_IMAP_PORT"),
        imaps_port: port("INBOX_TEST_IMAPS_PORT"),
        smtp_port: port("INBOX_TEST_SMTP_PORT"),
        password: read("INBOX_TEST_MAIL_PASSWORD"),
        ca_file: read("INBOX_TEST_MAIL_CA_FILE").into(),
    }
}

fn fresh_address(prefix: &str) -> String {
    format!("{prefix}-{}@example.test", uuid::Uuid::now_v7().simple())
}

fn mailbox_settings(env: &MailEnv, user: &str) -> MailboxSettings {
    MailboxSettings {
        name: "test".to_owned(),
        imap_host: "127.0.0.1".to_owned(),
        imap_port: Some(env.imap_port),
        imap_security: TransportSecurity::Plain,
        tls_ca_file: None,
        username: user.to_owned(),
        password: Some(SecretString::from(env.password.clone())),
        auth: ImapAuthMethod::Login,
        access_token: None,
        folder: "INBOX".to_owned(),
        after_processing: AfterProcessingSetting::Seen,
        move_to_folder: None,
        idle_enabled: true,
        idle_timeout_secs: 120,
        poll_interval_secs: 1,
        connect_timeout_secs: 10,
        command_timeout_secs: 20,
        fetch_timeout_secs: 60,
        fetch_batch_messages: 20,
    }
}

fn email_settings(env: &MailEnv, user: &str) -> EmailSettings {
    EmailSettings {
        mailboxes: vec![mailbox_settings(env, user)],
        smtp: SmtpSettings {
            host: "127.0.0.1".to_owned(),
            port: Some(env.smtp_port),
            security: TransportSecurity::Plain,
            tls_ca_file: None,
            username: None,
            password: None,
            timeout_secs: 20,
            hello_name: Some("gateway.saintejulie.test".to_owned()),
        },
        from_address: EmailAddress::parse("clientele@saintejulie.test").unwrap(),
        from_name: Some("Ville de Sainte-Julie".to_owned()),
        reply_to: None,
        own_addresses: vec![],
        max_attachment_bytes: 15 * 1024 * 1024,
        max_acks_per_sender_per_day: 3,
    }
}

fn outgoing(to: &str, kind: OutboundKind, subject: &str, text: &str) -> OutgoingMessage {
    OutgoingMessage {
        outbox_id: OutboxId::generate(),
        channel: Channel::Email,
        recipient: ChannelIdentity::Email {
            address: EmailAddress::parse(to).unwrap(),
        },
        recipient_name: Some("Réjean Bouchard".to_owned()),
        kind,
        language: Language::Fr,
        subject: Some(subject.to_owned()),
        text: text.to_owned(),
        html: None,
        reference: None,
        message_id: None,
        in_reply_to: None,
        references: vec![],
        last_citizen_message_at: None,
        composed_at: chrono::Utc::now(),
    }
}

async fn deliver(env: &MailEnv, to: &str, count: usize) {
    let sender = SmtpSender::new(&email_settings(env, to)).unwrap();
    for i in 0..count {
        let message = outgoing(
            to,
            OutboundKind::AgentReply,
            &format!("message {i}"),
            "bonjour",
        );
        sender.send(&message).await.unwrap();
    }
}

/// Polls the folder until it holds `count` messages, or fails at the deadline.
async fn wait_for_messages(env: &MailEnv, user: &str, count: u32) {
    let started = Instant::now();
    loop {
        let mut session = raw_session(env, user).await;
        let exists = session.select("INBOX").await.unwrap().exists;
        session.logout().await.ok();
        if exists >= count {
            return;
        }
        assert!(
            started.elapsed() < DELIVERY_DEADLINE,
            "{user} holds {exists} of {count} messages after {DELIVERY_DEADLINE:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A plain async-imap session, to check server state independently of the
/// code under test.
async fn raw_session(env: &MailEnv, user: &str) -> async_imap::Session<TcpStream> {
    let tcp = TcpStream::connect(("127.0.0.1", env.imap_port))
        .await
        .unwrap();
    let mut client = async_imap::Client::new(tcp);
    client.read_response().await.unwrap();
    client
        .login(user, &env.password)
        .await
        .map_err(|(e, _)| e)
        .unwrap()
}

async fn flags_by_uid(env: &MailEnv, user: &str) -> HashMap<u32, Vec<String>> {
    let mut session = raw_session(env, user).await;
    session.select("INBOX").await.unwrap();
    let fetches: Vec<_> = session
        .uid_fetch("1:*", "FLAGS")
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    fetches
        .iter()
        .filter_map(|f| {
            let uid = f.uid?;
            let flags = f
                .flags()
                .map(|flag| match flag {
                    Flag::Seen => "\\Seen".to_owned(),
                    Flag::Deleted => "\\Deleted".to_owned(),
                    other => format!("{other:?}"),
                })
                .collect();
            Some((uid, flags))
        })
        .collect()
}

async fn count_in(env: &MailEnv, user: &str, folder: &str) -> u32 {
    let mut session = raw_session(env, user).await;
    session.select(folder).await.unwrap().exists
}

#[tokio::test]
async fn an_acknowledgement_arrives_with_threading_headers_and_intact_french() {
    // Arrange
    let env = mail_env();
    let citizen = fresh_address("citoyen");
    let sender = SmtpSender::new(&email_settings(&env, &citizen)).unwrap();
    let citizen_message = RfcMessageId::parse("<20260113135457.GA4182@poste.example.net>").unwrap();
    let mut ack = outgoing(
        &citizen,
        OutboundKind::Acknowledgement,
        "[SJ-2026-000123] Accusé de réception : Collecte – rue des Pruches",
        "Bonjour,\n\nNous avons bien reçu votre message. Votre numéro de requête est SJ-2026-000123.\nÇa va être traité : une personne fera le suivi.",
    );
    ack.html = Some(
        "<p>Votre numéro de requête est <b>SJ-2026-000123</b>. Ça va être traité.</p>".to_owned(),
    );
    ack.reference = Some(ReferenceNumber::parse("SJ-2026-000123").unwrap());
    ack.in_reply_to = Some(citizen_message.clone());
    ack.references = vec![citizen_message.clone()];

    // Act
    let receipt = sender.send(&ack).await.unwrap();
    wait_for_messages(&env, &citizen, 1).await;
    let mut mailbox = Mailbox::connect(&mailbox_settings(&env, &citizen))
        .await
        .unwrap();
    let fetched = mailbox.fetch_after(0).await.unwrap();

    // Assert
    let expected_id = format!("sj.{}@saintejulie.test", ack.outbox_id);
    assert_eq!(
        receipt.provider_message_id.as_deref(),
        Some(expected_id.as_str())
    );
    assert_eq!(fetched.len(), 1);
    let message = MessageParser::new().parse(&fetched[0].raw).unwrap();
    assert_eq!(message.message_id(), Some(expected_id.as_str()));
    assert_eq!(
        message.subject(),
        Some("[SJ-2026-000123] Accusé de réception : Collecte – rue des Pruches")
    );
    assert_eq!(
        message.header_raw("Auto-Submitted").map(str::trim),
        Some("auto-replied")
    );
    assert_eq!(
        message.in_reply_to().as_text(),
        Some("20260113135457.GA4182@poste.example.net")
    );
    assert_eq!(
        message.references().as_text(),
        Some("20260113135457.GA4182@poste.example.net")
    );
    let reply_to = message
        .reply_to()
        .and_then(|a| a.first())
        .and_then(|a| a.address());
    assert_eq!(reply_to, Some("clientele@saintejulie.test"));
    let from = message.from().and_then(|a| a.first()).unwrap();
    assert_eq!(from.name(), Some("Ville de Sainte-Julie"));
    let root = message.root_part().content_type().unwrap();
    assert_eq!(root.ctype(), "multipart");
    assert_eq!(root.subtype(), Some("alternative"));
    let text = message.body_text(0).unwrap();
    assert!(
        text.contains("Votre numéro de requête est SJ-2026-000123."),
        "{text}"
    );
    assert!(text.contains("Ça va être traité"), "{text}");
    let html = message.body_html(0).unwrap();
    assert!(html.contains("<b>SJ-2026-000123</b>"), "{html}");
    // Our own acknowledgement, if it ever came back to us, must be taken
    // for automatic mail and never answered.
    let context = ParseContext {
        reference_prefix: ReferencePrefix::parse("SJ").unwrap(),
        city_addresses: vec![EmailAddress::parse("clientele@saintejulie.test").unwrap()],
        max_attachment_bytes: 1024,
        fallback_received_at: Utc::now(),
    };
    let parsed = parse_email(&fetched[0].raw, &context).unwrap();
    assert_eq!(parsed.message.kind, MessageKind::AutoReply);
    assert!(!parsed.should_acknowledge());
}

#[tokio::test]
async fn fetching_after_a_checkpoint_returns_only_newer_messages_in_bounded_batches() {
    // Arrange
    let env = mail_env();
    let user = fresh_address("citoyen2");
    deliver(&env, &user, 5).await;
    wait_for_messages(&env, &user, 5).await;
    let mut settings = mailbox_settings(&env, &user);
    settings.fetch_batch_messages = 2;

    // Act
    let mut mailbox = Mailbox::connect(&settings).await.unwrap();
    let status = mailbox.status();
    let mut batches = Vec::new();
    let mut checkpoint = 0;
    loop {
        let batch = mailbox.fetch_after(checkpoint).await.unwrap();
        if batch.is_empty() {
            break;
        }
        checkpoint = batch.last().unwrap().uid;
        batches.push(batch.iter().map(|m| m.uid).collect::<Vec<_>>());
        assert!(batches.len() <= 5, "fetching never ends: {batches:?}");
    }

    // Assert
    assert_ne!(status.uid_validity, 0);
    assert_eq!(status.uid_next, Some(6));
    assert_eq!(batches, vec![vec![1, 2], vec![3, 4], vec![5]]);
    assert!(
        mailbox.fetch_after(5).await.unwrap().is_empty(),
        "UID 6:* must not return UID 5"
    );
    let flags = flags_by_uid(&env, &user).await;
    assert!(
        flags.values().all(|f| !f.contains(&"\\Seen".to_owned())),
        "BODY.PEEK must not set \\Seen: {flags:?}"
    );
}

#[tokio::test]
async fn marking_a_message_processed_sets_seen_on_it_alone() {
    // Arrange
    let env = mail_env();
    let user = fresh_address("citoyen3");
    deliver(&env, &user, 2).await;
    wait_for_messages(&env, &user, 2).await;
    let mut mailbox = Mailbox::connect(&mailbox_settings(&env, &user))
        .await
        .unwrap();

    // Act
    mailbox.mark_processed(1).await.unwrap();

    // Assert
    let flags = flags_by_uid(&env, &user).await;
    assert!(flags[&1].contains(&"\\Seen".to_owned()), "{flags:?}");
    assert!(!flags[&2].contains(&"\\Seen".to_owned()), "{flags:?}");
}

#[tokio::test]
async fn moving_processed_messages_works_with_move_and_with_copy_expunge() {
    // Arrange
    let env = mail_env();
    let user = fresh_address("citoyen4");
    deliver(&env, &user, 2).await;
    wait_for_messages(&env, &user, 2).await;
    raw_session(&env, &user)
        .await
        .create("Traites")
        .await
        .unwrap();
    let mut settings = mailbox_settings(&env, &user);
    settings.after_processing = AfterProcessingSetting::Move;
    settings.move_to_folder = Some("Traites".to_owned());
    let mut mailbox = Mailbox::connect(&settings).await.unwrap();
    assert!(mailbox.has_move(), "Dovecot offers MOVE");

    // Act
    mailbox.mark_processed(1).await.unwrap();
    let after_move = (
        count_in(&env, &user, "INBOX").await,
        count_in(&env, &user, "Traites").await,
    );
    mailbox.move_by_copy(2, "Traites").await.unwrap();
    let after_copy = (
        count_in(&env, &user, "INBOX").await,
        count_in(&env, &user, "Traites").await,
    );

    // Assert
    assert_eq!(after_move, (1, 1));
    assert_eq!(after_copy, (0, 2));
}

#[tokio::test]
async fn idle_wakes_up_soon_after_a_message_arrives() {
    // Arrange
    let env = mail_env();
    let user = fresh_address("citoyen5");
    let mut mailbox = Mailbox::connect(&mailbox_settings(&env, &user))
        .await
        .unwrap();
    assert!(mailbox.uses_idle(), "Dovecot offers IDLE");
    let started = Instant::now();

    // Act: the delivery runs while the mailbox idles (the server reports
    // the new message whether it lands before or during IDLE).
    let (outcome, ()) = tokio::join!(mailbox.wait_for_change(), deliver(&env, &user, 1));
    let elapsed = started.elapsed();

    // Assert
    assert_eq!(outcome.unwrap(), WaitOutcome::Changed);
    assert!(elapsed < IDLE_WAKE_DEADLINE, "IDLE took {elapsed:?}");
    let fetched = mailbox.fetch_after(0).await.unwrap();
    assert_eq!(fetched.len(), 1, "the session is usable after IDLE");
}

#[tokio::test]
async fn without_idle_the_mailbox_polls_at_the_configured_interval() {
    // Arrange
    let env = mail_env();
    let user = fresh_address("citoyen6");
    let mut settings = mailbox_settings(&env, &user);
    settings.idle_enabled = false;
    settings.poll_interval_secs = 1;
    let mut mailbox = Mailbox::connect(&settings).await.unwrap();
    let started = Instant::now();

    // Act
    let outcome = mailbox.wait_for_change().await.unwrap();

    // Assert
    assert_eq!(outcome, WaitOutcome::PollDue);
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// Forwards one connection to `upstream`, passing at most `budget` bytes
/// from the server to the client before cutting both sides: a connection
/// that dies in the middle of a download.
async fn start_cutting_proxy(upstream: u16, budget: usize) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (client, _) = listener.accept().await.unwrap();
        let server = TcpStream::connect(("127.0.0.1", upstream)).await.unwrap();
        let (mut client_read, mut client_write) = client.into_split();
        let (mut server_read, mut server_write) = server.into_split();
        let upload = tokio::spawn(async move {
            tokio::io::copy(&mut client_read, &mut server_write)
                .await
                .ok();
        });
        let mut passed = 0usize;
        let mut buffer = vec![0u8; 8192];
        while passed < budget {
            let n = match server_read.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n.min(budget - passed),
            };
            if client_write.write_all(&buffer[..n]).await.is_err() {
                break;
            }
            passed += n;
        }
        upload.abort();
        drop(client_write);
    });
    port
}

#[tokio::test]
async fn a_connection_cut_mid_fetch_is_an_error_and_a_reconnect_resumes_from_the_checkpoint() {
    // Arrange: one small message, then one of about 3 MB.
    let env = mail_env();
    let user = fresh_address("citoyen7");
    let sender = SmtpSender::new(&email_settings(&env, &user)).unwrap();
    sender
        .send(&outgoing(
            &user,
            OutboundKind::AgentReply,
            "petit",
            "bonjour",
        ))
        .await
        .unwrap();
    let big_text = "Le déneigement de la rue est en retard. ".repeat(75_000);
    sender
        .send(&outgoing(
            &user,
            OutboundKind::AgentReply,
            "gros",
            &big_text,
        ))
        .await
        .unwrap();
    wait_for_messages(&env, &user, 2).await;
    let proxy_port = start_cutting_proxy(env.imap_port, 256 * 1024).await;
    let mut through_proxy = mailbox_settings(&env, &user);
    through_proxy.imap_port = Some(proxy_port);
    through_proxy.fetch_batch_messages = 1;

    // Act
    let mut mailbox = Mailbox::connect(&through_proxy).await.unwrap();
    let first = mailbox.fetch_after(0).await.unwrap();
    let checkpoint = first[0].uid;
    let cut = mailbox.fetch_after(checkpoint).await;
    let after_cut = mailbox.fetch_after(checkpoint).await;
    let mut reconnected = Mailbox::connect(&mailbox_settings(&env, &user))
        .await
        .unwrap();
    let resumed = reconnected.fetch_after(checkpoint).await.unwrap();

    // Assert
    assert_eq!(checkpoint, 1);
    assert!(matches!(cut, Err(ConnectorError::Transient(_))), "{cut:?}");
    assert!(
        matches!(after_cut, Err(ConnectorError::Transient(_))),
        "a broken session is not reused: {after_cut:?}"
    );
    assert_eq!(resumed.len(), 1);
    assert_eq!(resumed[0].uid, 2);
    assert!(
        resumed[0].raw.len() > 3_000_000,
        "{} bytes",
        resumed[0].raw.len()
    );
}

#[tokio::test]
async fn a_wrong_imap_password_is_an_auth_error() {
    // Arrange
    let env = mail_env();
    let mut settings = mailbox_settings(&env, &fresh_address("citoyen8"));
    settings.password = Some(SecretString::from("not-the-password".to_owned()));

    // Act
    let result = Mailbox::connect(&settings).await;

    // Assert
    assert!(matches!(result, Err(ConnectorError::Auth(_))), "{result:?}");
}

#[tokio::test]
async fn authenticate_plain_logs_in() {
    // Arrange
    let env = mail_env();
    let mut settings = mailbox_settings(&env, &fresh_address("citoyen9"));
    settings.auth = ImapAuthMethod::Plain;

    // Act
    let result = Mailbox::connect(&settings).await;

    // Assert
    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn smtp_credentials_are_checked_by_the_relay() {
    // Arrange
    let env = mail_env();
    let citizen = fresh_address("citoyen10");
    let mut good = email_settings(&env, &citizen);
    good.smtp.username = Some("clientele@saintejulie.test".to_owned());
    good.smtp.password = Some(SecretString::from(env.password.clone()));
    let mut bad = good.clone();
    bad.smtp.password = Some(SecretString::from("not-the-password".to_owned()));
    let message = outgoing(&citizen, OutboundKind::AgentReply, "auth", "bonjour");

    // Act
    let accepted = SmtpSender::new(&good).unwrap().send(&message).await;
    let refused = SmtpSender::new(&bad).unwrap().send(&message).await;

    // Assert
    assert!(accepted.is_ok(), "{accepted:?}");
    assert!(
        matches!(refused, Err(ConnectorError::Auth(_))),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_recipient_the_relay_refuses_is_a_permanent_failure() {
    // Arrange: without AUTH, the relay only accepts its own domains.
    let env = mail_env();
    let sender = SmtpSender::new(&email_settings(&env, "x@example.test")).unwrap();
    let message = outgoing(
        "someone@elsewhere.example.org",
        OutboundKind::AgentReply,
        "x",
        "y",
    );

    // Act
    let result = sender.send(&message).await;

    // Assert
    assert!(
        matches!(result, Err(ConnectorError::Permanent(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_closed_smtp_port_is_a_transient_failure() {
    // Arrange
    let env = mail_env();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = listener.local_addr().unwrap().port();
    drop(listener);
    let mut settings = email_settings(&env, "x@example.test");
    settings.smtp.port = Some(closed_port);
    let message = outgoing("citoyen@example.test", OutboundKind::AgentReply, "x", "y");

    // Act
    let result = SmtpSender::new(&settings).unwrap().send(&message).await;

    // Assert
    assert!(
        matches!(result, Err(ConnectorError::Transient(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_closed_imap_port_is_a_transient_failure() {
    // Arrange
    let env = mail_env();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = listener.local_addr().unwrap().port();
    drop(listener);
    let mut settings = mailbox_settings(&env, "x@example.test");
    settings.imap_port = Some(closed_port);

    // Act
    let result = Mailbox::connect(&settings).await;

    // Assert
    assert!(
        matches!(result, Err(ConnectorError::Transient(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn imap_over_implicit_tls_trusts_the_configured_authority() {
    // Arrange
    let env = mail_env();
    let mut settings = mailbox_settings(&env, &fresh_address("citoyen11"));
    settings.imap_host = "localhost".to_owned();
    settings.imap_port = Some(env.imaps_port);
    settings.imap_security = TransportSecurity::Tls;
    settings.tls_ca_file = Some(env.ca_file.clone());

    // Act
    let result = Mailbox::connect(&settings).await;

    // Assert
    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn imap_starttls_upgrades_the_connection_before_login() {
    // Arrange
    let env = mail_env();
    let user = fresh_address("citoyen12");
    deliver(&env, &user, 1).await;
    wait_for_messages(&env, &user, 1).await;
    let mut settings = mailbox_settings(&env, &user);
    settings.imap_host = "localhost".to_owned();
    settings.imap_security = TransportSecurity::Starttls;
    settings.tls_ca_file = Some(env.ca_file.clone());

    // Act
    let mut mailbox = Mailbox::connect(&settings).await.unwrap();
    let fetched = mailbox.fetch_after(0).await.unwrap();

    // Assert
    assert_eq!(fetched.len(), 1);
}

#[tokio::test]
async fn a_server_certificate_from_an_unknown_authority_is_refused() {
    // Arrange: the public roots alone do not know the test authority.
    let env = mail_env();
    let mut settings = mailbox_settings(&env, &fresh_address("citoyen13"));
    settings.imap_host = "localhost".to_owned();
    settings.imap_port = Some(env.imaps_port);
    settings.imap_security = TransportSecurity::Tls;

    // Act
    let result = Mailbox::connect(&settings).await;

    // Assert
    let error = result.expect_err("an untrusted certificate must not be accepted");
    assert!(error.to_string().contains("TLS"), "{error}");
}

#[tokio::test]
async fn smtp_starttls_with_auth_delivers_the_message() {
    // Arrange
    let env = mail_env();
    let citizen = fresh_address("citoyen14");
    let mut settings = email_settings(&env, &citizen);
    settings.smtp.host = "localhost".to_owned();
    settings.smtp.security = TransportSecurity::Starttls;
    settings.smtp.tls_ca_file = Some(env.ca_file.clone());
    settings.smtp.username = Some("clientele@saintejulie.test".to_owned());
    settings.smtp.password = Some(SecretString::from(env.password.clone()));
    let message = outgoing(&citizen, OutboundKind::AgentReply, "chiffré", "bonjour");

    // Act
    let sent = SmtpSender::new(&settings).unwrap().send(&message).await;

    // Assert
    assert!(sent.is_ok(), "{sent:?}");
    wait_for_messages(&env, &citizen, 1).await;
}

#[tokio::test]
async fn an_idle_without_news_ends_at_its_timeout_and_the_session_stays_usable() {
    // Arrange
    let env = mail_env();
    let user = fresh_address("citoyen15");
    let mut settings = mailbox_settings(&env, &user);
    settings.idle_timeout_secs = 1;
    let mut mailbox = Mailbox::connect(&settings).await.unwrap();
    let started = Instant::now();

    // Act
    let outcome = mailbox.wait_for_change().await.unwrap();
    let elapsed = started.elapsed();
    deliver(&env, &user, 1).await;
    wait_for_messages(&env, &user, 1).await;
    let fetched = mailbox.fetch_after(0).await.unwrap();

    // Assert
    assert_eq!(outcome, WaitOutcome::IdleTimedOut);
    assert!(elapsed >= Duration::from_secs(1), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    assert_eq!(fetched.len(), 1, "DONE left the session usable");
}
