//! SMTP sender of acknowledgements and agent replies (email and web-form
//! requesters). Builds one `multipart/alternative` message from the text and
//! HTML the gateway composed from its templates, with stable threading
//! headers, and hands it to the configured relay.
//!
//! The sender never retries on its own: the outbox owns retries. Every SMTP
//! exchange runs under `smtp.timeout_secs`. No copy is appended to a "Sent"
//! folder: the outbox table is the record of what left.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox as LettreMailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use models::{ChannelIdentity, EmailAddress, OutboundKind, RfcMessageId};
use secrecy::ExposeSecret;

use super::config::{EmailSettings, TransportSecurity};
use crate::{ConnectorError, OutgoingMessage, SentReceipt};

/// SMTP reply codes that mean the relay refused our credentials (RFC 4954):
/// 530 authentication required, 534 mechanism too weak, 535 credentials
/// invalid, 538 encryption required for the mechanism.
const AUTH_FAILURE_CODES: &[&str] = &["530", "534", "535", "538"];

/// `Auto-Submitted` (RFC 3834), set on acknowledgements only, so that
/// well-behaved responders never answer them.
#[derive(Debug, Clone)]
struct AutoSubmitted(String);

impl Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(s.trim().to_owned()))
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// `X-Auto-Response-Suppress: All`: Exchange's own switch that stops
/// out-of-office answers to our automatic acknowledgements.
#[derive(Debug, Clone)]
struct AutoResponseSuppress(String);

impl Header for AutoResponseSuppress {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("X-Auto-Response-Suppress")
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(s.trim().to_owned()))
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// Connections kept open to the relay. The outbox sends one message at a
/// time per worker, so a few cover several workers.
const SMTP_POOL_SIZE: u32 = 4;

/// The SMTP side of the email channel: one relay, one sender identity.
#[derive(Clone)]
pub struct SmtpSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: LettreMailbox,
    reply_to: LettreMailbox,
    from_domain: String,
    exchange_timeout: Duration,
}

impl fmt::Debug for SmtpSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSender")
            .field("from", &self.from.email.to_string())
            .finish_non_exhaustive()
    }
}

fn lettre_mailbox(
    name: Option<&str>,
    address: &EmailAddress,
) -> Result<LettreMailbox, ConnectorError> {
    let parsed = address
        .as_ref()
        .parse()
        .map_err(|e| ConnectorError::Permanent(format!("address not usable by SMTP: {e}")))?;
    let name = name.map(single_line).filter(|n| !n.is_empty());
    Ok(LettreMailbox::new(name, parsed))
}

/// Removes line breaks and other control characters: header values come
/// from templates and citizens' names and must never start a new header.
fn single_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

impl SmtpSender {
    /// Builds the sender from the email settings (no connection is opened).
    /// Call it inside a Tokio runtime: the connection pool runs a task there.
    ///
    /// # Errors
    /// [`ConnectorError::Permanent`] when an address or the TLS parameters
    /// cannot be built.
    pub fn new(settings: &EmailSettings) -> Result<Self, ConnectorError> {
        // The connection pool starts a cleanup task on the current runtime.
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(ConnectorError::Permanent(
                "the SMTP sender must be built inside a Tokio runtime".to_owned(),
            ));
        }
        let smtp = &settings.smtp;
        let tls = match smtp.security {
            TransportSecurity::Plain => Tls::None,
            TransportSecurity::Starttls => {
                Tls::Required(tls_parameters(&smtp.host, smtp.tls_ca_file.as_deref())?)
            }
            TransportSecurity::Tls => {
                Tls::Wrapper(tls_parameters(&smtp.host, smtp.tls_ca_file.as_deref())?)
            }
        };
        let hello = smtp
            .hello_name
            .clone()
            .unwrap_or_else(|| settings.from_address.domain().to_owned());
        // Connections are pooled: one TLS handshake and login serve many
        // messages (each starts with RSET), instead of one per message.
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)
            .pool_config(PoolConfig::new().max_size(SMTP_POOL_SIZE))
            .port(smtp.port())
            .tls(tls)
            .timeout(Some(smtp.timeout()))
            .hello_name(ClientId::Domain(hello));
        if let (Some(user), Some(password)) = (&smtp.username, &smtp.password) {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                password.expose_secret().to_owned(),
            ));
        }
        Ok(Self {
            transport: builder.build(),
            from: lettre_mailbox(settings.from_name.as_deref(), &settings.from_address)?,
            reply_to: lettre_mailbox(settings.from_name.as_deref(), settings.reply_to_address())?,
            from_domain: settings.from_address.domain().to_owned(),
            exchange_timeout: smtp.timeout(),
        })
    }

    /// The Message-ID this sender puts on a message: the given one, or
    /// `sj.{outbox_id}@{from domain}`, stable across retries of one row.
    ///
    /// # Errors
    /// [`ConnectorError::Permanent`] if the derived id is not valid (it is,
    /// for any domain `EmailAddress` accepts).
    pub fn message_id_for(
        &self,
        message: &OutgoingMessage,
    ) -> Result<RfcMessageId, ConnectorError> {
        match &message.message_id {
            Some(id) => Ok(id.clone()),
            None => RfcMessageId::parse(&format!("sj.{}@{}", message.outbox_id, self.from_domain))
                .map_err(|e| ConnectorError::Permanent(format!("cannot derive Message-ID: {e}"))),
        }
    }

    /// Builds the MIME message for one outgoing message.
    ///
    /// # Errors
    /// [`ConnectorError::Permanent`] when the recipient is not an email
    /// address, the subject is missing, or the message cannot be built.
    pub(crate) fn build_message(
        &self,
        message: &OutgoingMessage,
    ) -> Result<Message, ConnectorError> {
        let ChannelIdentity::Email { address } = &message.recipient else {
            return Err(ConnectorError::Permanent(format!(
                "email sender cannot reach a {} identity",
                message.recipient.kind()
            )));
        };
        let subject = message
            .subject
            .as_deref()
            .map(single_line)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ConnectorError::Permanent("email has no subject".to_owned()))?;
        let to = lettre_mailbox(message.recipient_name.as_deref(), address)?;
        let message_id = self.message_id_for(message)?;

        let mut builder = Message::builder()
            .from(self.from.clone())
            .reply_to(self.reply_to.clone())
            .to(to)
            .subject(subject)
            .date_now()
            .message_id(Some(message_id.bracketed()));

        let mut references: Vec<&RfcMessageId> = message.references.iter().collect();
        if let Some(parent) = &message.in_reply_to {
            builder = builder.in_reply_to(parent.bracketed());
            // RFC 5322 §3.6.4: References ends with the parent's id.
            if references.last() != Some(&parent) {
                references.retain(|id| *id != parent);
                references.push(parent);
            }
        }
        if !references.is_empty() {
            let joined = references
                .iter()
                .map(|id| id.bracketed())
                .collect::<Vec<_>>()
                .join(" ");
            builder = builder.references(joined);
        }
        if message.kind == OutboundKind::Acknowledgement {
            builder = builder
                .header(AutoSubmitted("auto-replied".to_owned()))
                .header(AutoResponseSuppress("All".to_owned()));
        }

        let built = match &message.html {
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(
                message.text.clone(),
                html.clone(),
            )),
            None => builder.singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .body(message.text.clone()),
            ),
        };
        built.map_err(|e| ConnectorError::Permanent(format!("cannot build email: {e}")))
    }

    /// Sends one message and returns its Message-ID (without brackets) as
    /// the provider id, for correlating bounces and replies.
    ///
    /// # Errors
    /// [`ConnectorError::Transient`] for 4xx replies, connection failures
    /// and timeouts; [`ConnectorError::Permanent`] for 5xx replies and
    /// unbuildable messages; [`ConnectorError::Auth`] when the relay refuses
    /// our credentials.
    #[tracing::instrument(skip_all, fields(outbox_id = %message.outbox_id, kind = message.kind.as_str()))]
    pub async fn deliver(&self, message: &OutgoingMessage) -> Result<SentReceipt, ConnectorError> {
        let email = self.build_message(message)?;
        let message_id = self.message_id_for(message)?;
        // lettre's async transport only times the TCP connect; a relay
        // that accepts and then stalls would hold this call forever, so the
        // whole exchange runs under the same limit.
        match tokio::time::timeout(self.exchange_timeout, self.transport.send(email)).await {
            Ok(sent) => sent.map_err(map_smtp_error)?,
            Err(_) => {
                return Err(ConnectorError::Transient(format!(
                    "SMTP exchange timed out after {} s",
                    self.exchange_timeout.as_secs()
                )));
            }
        };
        tracing::debug!("Email accepted by the relay");
        Ok(SentReceipt {
            provider_message_id: Some(message_id.as_ref().to_owned()),
        })
    }
}

fn tls_parameters(host: &str, ca_file: Option<&Path>) -> Result<TlsParameters, ConnectorError> {
    let mut builder = TlsParameters::builder(host.to_owned());
    if let Some(path) = ca_file {
        let pem = std::fs::read(path).map_err(|e| {
            ConnectorError::Permanent(format!("cannot read {}: {e}", path.display()))
        })?;
        let certificate = Certificate::from_pem(&pem).map_err(|e| {
            ConnectorError::Permanent(format!("bad certificate in {}: {e}", path.display()))
        })?;
        builder = builder.add_root_certificate(certificate);
    }
    builder
        .build()
        .map_err(|e| ConnectorError::Permanent(format!("SMTP TLS parameters: {e}")))
}

/// Maps a lettre error to what the outbox should do next.
fn map_smtp_error(error: lettre::transport::smtp::Error) -> ConnectorError {
    let code = error.status().map(|c| c.to_string());
    if code
        .as_deref()
        .is_some_and(|c| AUTH_FAILURE_CODES.contains(&c))
    {
        return ConnectorError::Auth(format!("SMTP relay refused credentials: {error}"));
    }
    let text = error.to_string();
    if error.is_permanent() {
        ConnectorError::Permanent(format!("SMTP relay refused the message: {text}"))
    } else if error.is_client() && text.to_ascii_lowercase().contains("authentication") {
        ConnectorError::Auth(format!("SMTP authentication impossible: {text}"))
    } else {
        ConnectorError::Transient(format!("SMTP delivery failed: {text}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use models::{Channel, Language, OutboxId, ReferenceNumber};

    fn settings() -> EmailSettings {
        toml::from_str(
            r#"
            from_address = "clientele@saintejulie.ca"
            from_name = "Ville de Sainte-Julie"
            [[mailboxes]]
            name = "clientele"
            imap_host = "127.0.0.1"
            username = "clientele@saintejulie.ca"
            password = "x"
            [smtp]
            host = "127.0.0.1"
            security = "plain"
            port = 1
            "#,
        )
        .unwrap()
    }

    fn outgoing(kind: OutboundKind) -> OutgoingMessage {
        OutgoingMessage {
            outbox_id: OutboxId::parse("01890a5d-ac96-774b-bcce-b302099a8057").unwrap(),
            channel: Channel::Email,
            recipient: ChannelIdentity::Email {
                address: EmailAddress::parse("rejean.bouchard@example.net").unwrap(),
            },
            recipient_name: Some("Réjean\r\nBcc: evil@example.com".to_owned()),
            kind,
            language: Language::Fr,
            subject: Some("[SJ-2026-000123] Accusé de réception".to_owned()),
            text: "Votre numéro de requête est SJ-2026-000123.".to_owned(),
            html: Some("<p>Votre numéro de requête est SJ-2026-000123.</p>".to_owned()),
            reference: Some(ReferenceNumber::parse("SJ-2026-000123").unwrap()),
            message_id: None,
            in_reply_to: Some(
                RfcMessageId::parse("<20260113135457.GA4182@poste.example.net>").unwrap(),
            ),
            references: vec![],
            last_citizen_message_at: None,
            composed_at: chrono::Utc::now(),
        }
    }

    fn headers_of(message: &Message) -> String {
        let raw = message.formatted();
        let text = String::from_utf8_lossy(&raw).into_owned();
        text.split("\r\n\r\n").next().unwrap_or_default().to_owned()
    }

    #[tokio::test]
    async fn acknowledgements_carry_auto_submitted_and_threading_headers() {
        // Arrange
        let sender = SmtpSender::new(&settings()).unwrap();

        // Act
        let message = sender
            .build_message(&outgoing(OutboundKind::Acknowledgement))
            .unwrap();

        // Assert
        let headers = headers_of(&message);
        assert!(
            headers.contains("Auto-Submitted: auto-replied"),
            "{headers}"
        );
        assert!(
            headers.contains("X-Auto-Response-Suppress: All"),
            "{headers}"
        );
        assert!(
            headers
                .contains("Message-ID: <sj.01890a5d-ac96-774b-bcce-b302099a8057@saintejulie.ca>"),
            "{headers}"
        );
        assert!(
            headers.contains("In-Reply-To: <20260113135457.GA4182@poste.example.net>"),
            "{headers}"
        );
        assert!(
            headers.contains("References: <20260113135457.GA4182@poste.example.net>"),
            "{headers}"
        );
        assert!(headers.contains("Reply-To:"), "{headers}");
        assert!(headers.contains("multipart/alternative"), "{headers}");
    }

    #[tokio::test]
    async fn agent_replies_are_not_marked_automatic() {
        // Arrange
        let sender = SmtpSender::new(&settings()).unwrap();

        // Act
        let message = sender
            .build_message(&outgoing(OutboundKind::AgentReply))
            .unwrap();

        // Assert
        let headers = headers_of(&message);
        assert!(!headers.contains("Auto-Submitted"), "{headers}");
    }

    #[tokio::test]
    async fn a_recipient_name_cannot_inject_headers() {
        // Arrange
        let sender = SmtpSender::new(&settings()).unwrap();

        // Act
        let message = sender
            .build_message(&outgoing(OutboundKind::AgentReply))
            .unwrap();

        // Assert
        let headers = headers_of(&message);
        assert!(!headers.lines().any(|l| l.starts_with("Bcc:")), "{headers}");
    }

    #[tokio::test]
    async fn non_email_recipients_are_refused_for_good() {
        // Arrange
        let sender = SmtpSender::new(&settings()).unwrap();
        let mut message = outgoing(OutboundKind::AgentReply);
        message.recipient = ChannelIdentity::Phone {
            number: models::PhoneNumber::parse("450 922-7111").unwrap(),
        };

        // Act
        let result = sender.build_message(&message);

        // Assert
        assert!(matches!(result, Err(ConnectorError::Permanent(_))));
    }

    #[tokio::test]
    async fn a_given_message_id_is_kept_and_references_end_with_the_parent() {
        // Arrange
        let sender = SmtpSender::new(&settings()).unwrap();
        let mut message = outgoing(OutboundKind::AgentReply);
        message.message_id =
            Some(RfcMessageId::parse("sj.SJ-2026-000123.0b7e41c2@saintejulie.ca").unwrap());
        message.references = vec![
            RfcMessageId::parse("a@example.net").unwrap(),
            RfcMessageId::parse("20260113135457.GA4182@poste.example.net").unwrap(),
            RfcMessageId::parse("b@example.net").unwrap(),
        ];

        // Act
        let built = sender.build_message(&message).unwrap();

        // Assert
        let headers = headers_of(&built);
        assert!(
            headers.contains("Message-ID: <sj.SJ-2026-000123.0b7e41c2@saintejulie.ca>"),
            "{headers}"
        );
        assert!(
            headers.contains(
                "References: <a@example.net> <b@example.net>\r\n <20260113135457.GA4182@poste.example.net>"
            ) || headers.contains(
                "References: <a@example.net> <b@example.net> <20260113135457.GA4182@poste.example.net>"
            ),
            "{headers}"
        );
    }

    /// A one-connection SMTP server that answers every command with the
    /// next scripted reply, or stays silent once the script is exhausted.
    async fn scripted_smtp_server(replies: &'static [&'static str]) -> u16 {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let (read, mut write) = stream.into_split();
            let mut lines = BufReader::new(read).lines();
            let mut replies = replies.iter();
            if let Some(greeting) = replies.next() {
                write.write_all(greeting.as_bytes()).await.unwrap();
            }
            while let Ok(Some(_command)) = lines.next_line().await {
                match replies.next() {
                    Some(reply) => write.write_all(reply.as_bytes()).await.unwrap(),
                    None => std::future::pending::<()>().await,
                }
            }
        });
        port
    }

    fn settings_on(port: u16, timeout_secs: u64) -> EmailSettings {
        let mut settings = settings();
        settings.smtp.port = Some(port);
        settings.smtp.timeout_secs = timeout_secs;
        settings
    }

    #[tokio::test]
    async fn a_4xx_reply_is_transient_and_a_5xx_reply_permanent() {
        // Arrange
        let temporary = scripted_smtp_server(&[
            "220 test ESMTP\r\n",
            "250 test\r\n",
            "250 2.1.0 ok\r\n",
            "451 4.3.0 try again later\r\n",
            "250 2.0.0 reset\r\n",
            "221 2.0.0 bye\r\n",
        ])
        .await;
        let refused = scripted_smtp_server(&[
            "220 test ESMTP\r\n",
            "250 test\r\n",
            "250 2.1.0 ok\r\n",
            "550 5.1.1 no such user\r\n",
            "250 2.0.0 reset\r\n",
            "221 2.0.0 bye\r\n",
        ])
        .await;
        let message = outgoing(OutboundKind::Acknowledgement);

        // Act
        let transient = SmtpSender::new(&settings_on(temporary, 5))
            .unwrap()
            .deliver(&message)
            .await;
        let permanent = SmtpSender::new(&settings_on(refused, 5))
            .unwrap()
            .deliver(&message)
            .await;

        // Assert
        assert!(
            matches!(transient, Err(ConnectorError::Transient(_))),
            "{transient:?}"
        );
        assert!(
            matches!(permanent, Err(ConnectorError::Permanent(_))),
            "{permanent:?}"
        );
    }

    #[tokio::test]
    async fn a_relay_that_stops_answering_times_out_as_transient() {
        // Arrange: a greeting, then silence.
        let port = scripted_smtp_server(&["220 test ESMTP\r\n"]).await;
        let sender = SmtpSender::new(&settings_on(port, 1)).unwrap();
        let started = std::time::Instant::now();

        // Act
        let result = sender
            .deliver(&outgoing(OutboundKind::Acknowledgement))
            .await;

        // Assert
        assert!(
            matches!(result, Err(ConnectorError::Transient(_))),
            "{result:?}"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
    }

    #[tokio::test]
    async fn a_refused_connection_is_transient() {
        // Arrange: port 1 on localhost has no listener.
        let sender = SmtpSender::new(&settings()).unwrap();

        // Act
        let result = sender
            .deliver(&outgoing(OutboundKind::Acknowledgement))
            .await;

        // Assert
        assert!(
            matches!(result, Err(ConnectorError::Transient(_))),
            "{result:?}"
        );
    }
}
