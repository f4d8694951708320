//! IMAP client of one mailbox: connect (implicit TLS, STARTTLS or, for local
//! test servers only, plain), authenticate (LOGIN, AUTHENTICATE PLAIN or
//! XOAUTH2), select the folder, download messages above a UID checkpoint in
//! bounded batches, mark or move a message once the caller has committed it,
//! and wait for new mail with IDLE or, without IDLE, by polling.
//!
//! Every network `.await` runs under a timeout taken from
//! [`MailboxSettings`]. A `Mailbox` is one session for one task; after any
//! error the caller drops it and reconnects with backoff. It keeps no
//! state besides the session: the checkpoint belongs to the caller's store.

use std::fmt;
use std::future::Future;
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_imap::extensions::idle::IdleResponse;
use async_imap::imap_proto::{MailboxDatum, Response};
use async_imap::types::UnsolicitedResponse;
use async_imap::{Authenticator, Client, Session};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use secrecy::{ExposeSecret, SecretString};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_rustls::{client::TlsStream, TlsConnector};

use super::config::{AfterProcessing, ImapAuthMethod, MailboxSettings, TransportSecurity};
use crate::ConnectorError;

/// The byte stream under an IMAP session: plain TCP or TLS over TCP.
#[derive(Debug)]
pub(crate) enum ImapTransport {
    /// Unencrypted (only when `imap_security = "plain"`).
    Plain(TcpStream),
    /// TLS, implicit or after STARTTLS.
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for ImapTransport {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ImapTransport::Plain(s) => Pin::new(s).poll_read(cx, buf),
            ImapTransport::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for ImapTransport {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ImapTransport::Plain(s) => Pin::new(s).poll_write(cx, buf),
            ImapTransport::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ImapTransport::Plain(s) => Pin::new(s).poll_flush(cx),
            ImapTransport::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ImapTransport::Plain(s) => Pin::new(s).poll_shutdown(cx),
            ImapTransport::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// UIDVALIDITY and UIDNEXT of the selected folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailboxStatus {
    /// Changes when the server renumbers the folder; a stored checkpoint
    /// with another value is void.
    pub uid_validity: u32,
    /// The UID the next message will get, when the server says.
    pub uid_next: Option<u32>,
    /// Messages in the folder.
    pub exists: u32,
}

/// Where the caller stopped reading a folder: stored after each commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailboxCheckpoint {
    /// The folder's UIDVALIDITY when `last_uid` was read.
    pub uid_validity: u32,
    /// Highest UID already committed.
    pub last_uid: u32,
}

impl MailboxCheckpoint {
    /// The UID to fetch after, given the folder's current status: the
    /// stored one when UIDVALIDITY is unchanged, else 0 (read everything
    /// again; the store's Message-ID deduplication absorbs the repeats).
    pub fn resume_after(checkpoint: Option<Self>, status: &MailboxStatus) -> u32 {
        match checkpoint {
            Some(c) if c.uid_validity == status.uid_validity => c.last_uid,
            _ => 0,
        }
    }
}

/// One downloaded message.
#[derive(Clone, PartialEq, Eq)]
pub struct FetchedEmail {
    /// Its UID in the folder.
    pub uid: u32,
    /// The exact bytes of `BODY[]`.
    pub raw: Vec<u8>,
    /// The server's INTERNALDATE (arrival time), when sent.
    pub internal_date: Option<DateTime<Utc>>,
}

impl fmt::Debug for FetchedEmail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print message bodies: they hold citizens' personal data.
        f.debug_struct("FetchedEmail")
            .field("uid", &self.uid)
            .field("bytes", &self.raw.len())
            .field("internal_date", &self.internal_date)
            .finish()
    }
}

/// Why [`Mailbox::wait_for_change`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitOutcome {
    /// The server announced new or changed mail: fetch now.
    Changed,
    /// IDLE ran its full time without news: fetch anyway (cheap) and idle again.
    IdleTimedOut,
    /// The polling interval passed (no IDLE): fetch now.
    PollDue,
}

struct PlainAuth {
    response: Vec<u8>,
}

impl Authenticator for PlainAuth {
    type Response = Vec<u8>;
    fn process(&mut self, _challenge: &[u8]) -> Vec<u8> {
        std::mem::take(&mut self.response)
    }
}

/// `\0user\0password` (RFC 4616).
fn plain_auth_response(username: &str, password: &str) -> Vec<u8> {
    format!("\0{username}\0{password}").into_bytes()
}

/// `user=…^Aauth=Bearer …^A^A` (Google and Microsoft XOAUTH2).
fn xoauth2_response(username: &str, token: &str) -> Vec<u8> {
    format!("user={username}\x01auth=Bearer {token}\x01\x01").into_bytes()
}

/// An authenticated session on one selected folder.
pub struct Mailbox {
    session: Option<Session<ImapTransport>>,
    settings: MailboxSettings,
    status: MailboxStatus,
    has_idle: bool,
    has_move: bool,
    has_uidplus: bool,
}

impl fmt::Debug for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mailbox")
            .field("name", &self.settings.name)
            .field("status", &self.status)
            .field("connected", &self.session.is_some())
            .finish()
    }
}

fn transient(context: &str, error: impl fmt::Display) -> ConnectorError {
    ConnectorError::Transient(format!("{context}: {error}"))
}

fn map_imap_error(context: &str, error: async_imap::error::Error) -> ConnectorError {
    use async_imap::error::Error;
    match error {
        Error::No(text) | Error::Bad(text) => {
            ConnectorError::Permanent(format!("{context}: server refused: {text}"))
        }
        other => transient(context, other),
    }
}

async fn with_timeout<T>(
    duration: Duration,
    context: &str,
    future: impl Future<Output = Result<T, async_imap::error::Error>>,
) -> Result<T, ConnectorError> {
    match tokio::time::timeout(duration, future).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(map_imap_error(context, error)),
        Err(_) => Err(ConnectorError::Transient(format!(
            "{context}: timed out after {} s",
            duration.as_secs()
        ))),
    }
}

fn tls_connector(ca_file: Option<&Path>) -> Result<TlsConnector, ConnectorError> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(path) = ca_file {
        // A small local file read once per connection attempt.
        let pem = std::fs::read(path).map_err(|e| {
            ConnectorError::Permanent(format!("cannot read {}: {e}", path.display()))
        })?;
        let mut added = 0usize;
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|e| {
                ConnectorError::Permanent(format!("bad certificate in {}: {e}", path.display()))
            })?;
            roots.add(cert).map_err(|e| {
                ConnectorError::Permanent(format!(
                    "unusable certificate in {}: {e}",
                    path.display()
                ))
            })?;
            added += 1;
        }
        if added == 0 {
            return Err(ConnectorError::Permanent(format!(
                "no certificate found in {}",
                path.display()
            )));
        }
    }
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ConnectorError::Permanent(format!("TLS configuration: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

async fn start_tls(
    tcp: TcpStream,
    host: &str,
    ca_file: Option<&Path>,
    timeout: Duration,
) -> Result<ImapTransport, ConnectorError> {
    let server_name = ServerName::try_from(host.to_owned())
        .map_err(|e| ConnectorError::Permanent(format!("invalid IMAP host name: {e}")))?;
    let tls = tokio::time::timeout(timeout, tls_connector(ca_file)?.connect(server_name, tcp))
        .await
        .map_err(|_| transient("TLS handshake", "timed out"))?
        .map_err(|e| transient("TLS handshake", e))?;
    Ok(ImapTransport::Tls(Box::new(tls)))
}

async fn read_greeting(
    client: &mut Client<ImapTransport>,
    timeout: Duration,
) -> Result<(), ConnectorError> {
    match tokio::time::timeout(timeout, client.read_response()).await {
        Ok(Ok(Some(_))) => Ok(()),
        Ok(Ok(None)) => Err(transient("IMAP greeting", "connection closed")),
        Ok(Err(e)) => Err(transient("IMAP greeting", e)),
        Err(_) => Err(transient("IMAP greeting", "timed out")),
    }
}

impl Mailbox {
    /// Connects, authenticates, selects the configured folder and reads its
    /// capabilities.
    ///
    /// # Errors
    /// [`ConnectorError::Auth`] when the credentials are refused,
    /// [`ConnectorError::Transient`] for network failures and timeouts,
    /// [`ConnectorError::Permanent`] when the folder cannot be selected.
    #[tracing::instrument(skip_all, fields(mailbox = %settings.name))]
    pub async fn connect(settings: &MailboxSettings) -> Result<Self, ConnectorError> {
        let connect_timeout = settings.connect_timeout();
        let command_timeout = settings.command_timeout();
        let host = settings.imap_host.as_str();
        let ca_file = settings.tls_ca_file.as_deref();
        let tcp =
            tokio::time::timeout(connect_timeout, TcpStream::connect((host, settings.port())))
                .await
                .map_err(|_| transient("IMAP connect", "timed out"))?
                .map_err(|e| transient("IMAP connect", e))?;
        tcp.set_nodelay(true).ok();

        let client = match settings.imap_security {
            TransportSecurity::Tls => {
                let mut client = Client::new(start_tls(tcp, host, ca_file, connect_timeout).await?);
                read_greeting(&mut client, connect_timeout).await?;
                client
            }
            TransportSecurity::Plain => {
                let mut client = Client::new(ImapTransport::Plain(tcp));
                read_greeting(&mut client, connect_timeout).await?;
                client
            }
            TransportSecurity::Starttls => {
                let mut client = Client::new(ImapTransport::Plain(tcp));
                read_greeting(&mut client, connect_timeout).await?;
                with_timeout(
                    command_timeout,
                    "STARTTLS",
                    client.run_command_and_check_ok("STARTTLS", None),
                )
                .await?;
                let ImapTransport::Plain(tcp) = client.into_inner() else {
                    return Err(ConnectorError::Permanent(
                        "STARTTLS on an already encrypted connection".to_owned(),
                    ));
                };
                Client::new(start_tls(tcp, host, ca_file, connect_timeout).await?)
            }
        };

        let mut session = authenticate(client, settings).await?;

        let capabilities =
            with_timeout(command_timeout, "CAPABILITY", session.capabilities()).await?;
        let has_idle = capabilities.has_str("IDLE");
        let has_move = capabilities.has_str("MOVE");
        let has_uidplus = capabilities.has_str("UIDPLUS");

        let selected =
            with_timeout(command_timeout, "SELECT", session.select(&settings.folder)).await?;
        let uid_validity = selected.uid_validity.ok_or_else(|| {
            ConnectorError::Permanent("server sent no UIDVALIDITY for the folder".to_owned())
        })?;
        let status = MailboxStatus {
            uid_validity,
            uid_next: selected.uid_next,
            exists: selected.exists,
        };
        tracing::info!(
            uid_validity,
            uid_next = ?status.uid_next,
            has_idle,
            has_move,
            "IMAP mailbox connected"
        );
        Ok(Self {
            session: Some(session),
            settings: settings.clone(),
            status,
            has_idle,
            has_move,
            has_uidplus,
        })
    }

    /// UIDVALIDITY and UIDNEXT as read at SELECT time.
    pub fn status(&self) -> MailboxStatus {
        self.status
    }

    /// Whether the server offers IDLE (and it is enabled in the settings).
    pub fn uses_idle(&self) -> bool {
        self.has_idle && self.settings.idle_enabled
    }

    /// Whether the server offers `MOVE` (RFC 6851).
    pub fn has_move(&self) -> bool {
        self.has_move
    }

    fn session(&mut self) -> Result<&mut Session<ImapTransport>, ConnectorError> {
        self.session
            .as_mut()
            .ok_or_else(|| ConnectorError::Transient("IMAP session was lost; reconnect".to_owned()))
    }

    async fn fetch_after_once(
        &mut self,
        after_uid: u32,
    ) -> Result<Vec<FetchedEmail>, ConnectorError> {
        let command_timeout = self.settings.command_timeout();
        let fetch_timeout = self.settings.fetch_timeout();
        let batch = self.settings.fetch_batch_messages as usize;
        let first = after_uid.saturating_add(1);
        let session = self.session()?;
        // Servers bring a session's view up to date at the end of a command,
        // not before SEARCH (Dovecot does so): without this NOOP, mail that
        // arrived since the last command stays invisible for one more round.
        with_timeout(command_timeout, "NOOP", session.noop()).await?;
        // `UID SEARCH n:*` always matches the highest UID, even below n
        // (RFC 3501 §6.4.8), so the result is filtered again.
        let found = with_timeout(
            command_timeout,
            "UID SEARCH",
            session.uid_search(format!("UID {first}:*")),
        )
        .await?;
        let mut uids: Vec<u32> = found.into_iter().filter(|&uid| uid > after_uid).collect();
        uids.sort_unstable();
        uids.truncate(batch);
        if uids.is_empty() {
            return Ok(Vec::new());
        }
        let set = uids
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let download = async {
            let stream = session
                .uid_fetch(&set, "(UID INTERNALDATE BODY.PEEK[])")
                .await?;
            stream.try_collect::<Vec<_>>().await
        };
        let fetches = with_timeout(fetch_timeout, "UID FETCH", download).await?;
        let mut emails: Vec<FetchedEmail> = fetches
            .iter()
            .filter_map(|fetch| {
                let uid = fetch.uid?;
                let raw = fetch.body()?.to_vec();
                Some(FetchedEmail {
                    uid,
                    raw,
                    internal_date: fetch.internal_date().map(|d| d.with_timezone(&Utc)),
                })
            })
            .filter(|email| email.uid > after_uid)
            .collect();
        emails.sort_by_key(|e| e.uid);
        emails.dedup_by_key(|e| e.uid);
        Ok(emails)
    }

    async fn mark_processed_once(&mut self, uid: &str) -> Result<(), ConnectorError> {
        match self.settings.after_processing() {
            AfterProcessing::MarkSeen => self.mark_seen_once(uid).await,
            AfterProcessing::Move { folder } => {
                if self.has_move {
                    let timeout = self.settings.command_timeout();
                    let session = self.session()?;
                    with_timeout(timeout, "UID MOVE", session.uid_mv(uid, &folder)).await
                } else {
                    self.move_by_copy_once(uid, &folder).await
                }
            }
        }
    }

    async fn mark_seen_once(&mut self, uid: &str) -> Result<(), ConnectorError> {
        let timeout = self.settings.command_timeout();
        let session = self.session()?;
        let store = async {
            let stream = session.uid_store(uid, "+FLAGS.SILENT (\\Seen)").await?;
            stream.try_collect::<Vec<_>>().await
        };
        with_timeout(timeout, "UID STORE", store).await.map(|_| ())
    }

    async fn move_by_copy_once(&mut self, uid: &str, folder: &str) -> Result<(), ConnectorError> {
        let timeout = self.settings.command_timeout();
        let has_uidplus = self.has_uidplus;
        let session = self.session()?;
        let uid_text = uid.to_owned();
        with_timeout(timeout, "UID COPY", session.uid_copy(&uid_text, folder)).await?;
        let store = async {
            let stream = session
                .uid_store(&uid_text, "+FLAGS.SILENT (\\Deleted)")
                .await?;
            stream.try_collect::<Vec<_>>().await
        };
        with_timeout(timeout, "UID STORE", store).await?;
        let expunge = async {
            if has_uidplus {
                let stream = session.uid_expunge(&uid_text).await?;
                stream.try_collect::<Vec<_>>().await
            } else {
                // Without UIDPLUS, EXPUNGE also removes other messages a
                // person flagged \Deleted; acceptable on a dedicated mailbox.
                let stream = session.expunge().await?;
                stream.try_collect::<Vec<_>>().await
            }
        };
        with_timeout(timeout, "EXPUNGE", expunge).await.map(|_| ())
    }

    /// Drops the session after a network failure or timeout: a half-read
    /// response leaves the stream unusable, so every later call fails fast
    /// with [`ConnectorError::Transient`] until the caller reconnects.
    fn forget_broken_session<T>(
        &mut self,
        result: Result<T, ConnectorError>,
    ) -> Result<T, ConnectorError> {
        if matches!(result, Err(ConnectorError::Transient(_))) {
            self.session = None;
        }
        result
    }

    /// Downloads, in UID order, at most `fetch_batch_messages` messages whose
    /// UID is above `after_uid`, without setting `\Seen` (`BODY.PEEK[]`).
    /// Call it again with the highest UID committed until it returns an
    /// empty batch.
    ///
    /// # Errors
    /// [`ConnectorError::Transient`] on network failure or timeout (the
    /// session is then closed: reconnect), [`ConnectorError::Permanent`] when
    /// the server refuses the command.
    #[tracing::instrument(skip_all, fields(mailbox = %self.settings.name, after_uid))]
    pub async fn fetch_after(
        &mut self,
        after_uid: u32,
    ) -> Result<Vec<FetchedEmail>, ConnectorError> {
        let result = self.fetch_after_once(after_uid).await;
        self.forget_broken_session(result)
    }

    /// The UIDs at or below `last_uid` that still wait for their
    /// after-processing action (unseen, or still in the folder when
    /// processed messages are moved): messages committed just before a crash
    /// that stopped the gateway between its commit and the `\Seen`/MOVE.
    ///
    /// # Errors
    /// As [`Mailbox::fetch_after`].
    pub async fn unprocessed_up_to(&mut self, last_uid: u32) -> Result<Vec<u32>, ConnectorError> {
        if last_uid == 0 {
            return Ok(Vec::new());
        }
        let query = match self.settings.after_processing() {
            AfterProcessing::MarkSeen => format!("UID 1:{last_uid} UNSEEN"),
            AfterProcessing::Move { .. } => format!("UID 1:{last_uid}"),
        };
        let timeout = self.settings.command_timeout();
        let result = match self.session() {
            Ok(session) => with_timeout(timeout, "UID SEARCH", session.uid_search(query)).await,
            Err(e) => Err(e),
        };
        let found = self.forget_broken_session(result)?;
        let mut uids: Vec<u32> = found.into_iter().filter(|&uid| uid <= last_uid).collect();
        uids.sort_unstable();
        Ok(uids)
    }

    /// Applies the configured after-processing action to one message. Call
    /// it only after the message is committed to the store: a crash in
    /// between makes the message come back, and deduplication absorbs it.
    ///
    /// # Errors
    /// [`ConnectorError::Transient`] on network failure or timeout,
    /// [`ConnectorError::Permanent`] when the server refuses (for example a
    /// missing target folder).
    #[tracing::instrument(skip_all, fields(mailbox = %self.settings.name, uid))]
    pub async fn mark_processed(&mut self, uid: u32) -> Result<(), ConnectorError> {
        let result = self.mark_processed_once(&uid.to_string()).await;
        self.forget_broken_session(result)
    }

    /// [`Mailbox::mark_processed`] for several messages in one command
    /// (one round trip for a whole batch). Nothing happens for an empty list.
    ///
    /// # Errors
    /// As [`Mailbox::mark_processed`].
    pub async fn mark_all_processed(&mut self, uids: &[u32]) -> Result<(), ConnectorError> {
        if uids.is_empty() {
            return Ok(());
        }
        let set = uids
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let result = self.mark_processed_once(&set).await;
        self.forget_broken_session(result)
    }

    /// Sets `\Seen` on one message.
    ///
    /// # Errors
    /// As [`Mailbox::mark_processed`].
    pub async fn mark_seen(&mut self, uid: u32) -> Result<(), ConnectorError> {
        let result = self.mark_seen_once(&uid.to_string()).await;
        self.forget_broken_session(result)
    }

    /// Moves one message the RFC 3501 way, for servers without `MOVE`:
    /// `UID COPY`, `\Deleted`, then `UID EXPUNGE` (UIDPLUS) or `EXPUNGE`.
    /// Public so that this path can be exercised against a server that
    /// does offer `MOVE`.
    ///
    /// # Errors
    /// As [`Mailbox::mark_processed`].
    pub async fn move_by_copy(&mut self, uid: u32, folder: &str) -> Result<(), ConnectorError> {
        let result = self.move_by_copy_once(&uid.to_string(), folder).await;
        self.forget_broken_session(result)
    }

    /// Waits until the folder changes: IDLE for `idle_timeout_secs` when the
    /// server offers it and it is enabled, else sleeps `poll_interval_secs`.
    /// Returns at once when the server already announced new mail.
    ///
    /// Cancelling this future (for shutdown) may leave the session in IDLE;
    /// drop the `Mailbox` afterwards.
    ///
    /// # Errors
    /// [`ConnectorError::Transient`] when the connection fails or a
    /// command times out; the session must then be dropped.
    #[tracing::instrument(skip_all, fields(mailbox = %self.settings.name))]
    pub async fn wait_for_change(&mut self) -> Result<WaitOutcome, ConnectorError> {
        if self.drain_unsolicited()? {
            return Ok(WaitOutcome::Changed);
        }
        if !self.uses_idle() {
            tokio::time::sleep(self.settings.poll_interval()).await;
            return Ok(WaitOutcome::PollDue);
        }
        let command_timeout = self.settings.command_timeout();
        let idle_timeout = self.settings.idle_timeout();
        let session = self.session.take().ok_or_else(|| {
            ConnectorError::Transient("IMAP session was lost; reconnect".to_owned())
        })?;
        let mut handle = session.idle();
        with_timeout(command_timeout, "IDLE", handle.init()).await?;
        let outcome = {
            let (wait, _stop) = handle.wait_with_timeout(idle_timeout);
            // The IDLE wait has its own timer; this outer one only guards
            // against a wait that would not honour it.
            tokio::time::timeout(idle_timeout + command_timeout, wait).await
        };
        let outcome = match outcome {
            Ok(Ok(IdleResponse::NewData(_))) => WaitOutcome::Changed,
            Ok(Ok(IdleResponse::Timeout)) => WaitOutcome::IdleTimedOut,
            Ok(Ok(IdleResponse::ManualInterrupt)) => {
                return Err(ConnectorError::Transient(
                    "IMAP connection closed during IDLE".to_owned(),
                ));
            }
            Ok(Err(error)) => return Err(map_imap_error("IDLE", error)),
            Err(_) => return Err(transient("IDLE", "timed out")),
        };
        let session = with_timeout(command_timeout, "DONE", handle.done()).await?;
        self.session = Some(session);
        if outcome == WaitOutcome::IdleTimedOut && self.drain_unsolicited()? {
            return Ok(WaitOutcome::Changed);
        }
        Ok(outcome)
    }

    /// Empties the queue of untagged responses the library collected during
    /// other commands; true when one of them announced new mail.
    fn drain_unsolicited(&mut self) -> Result<bool, ConnectorError> {
        let session = self.session()?;
        let mut changed = false;
        while let Ok(response) = session.unsolicited_responses.try_recv() {
            changed |= matches!(
                response,
                UnsolicitedResponse::Exists(_) | UnsolicitedResponse::Recent(_)
            ) || matches!(
                &response,
                UnsolicitedResponse::Other(data)
                    if matches!(data.parsed(), Response::MailboxData(MailboxDatum::Exists(_)))
            );
        }
        Ok(changed)
    }

    /// Logs out politely; errors are ignored because the session ends anyway.
    pub async fn logout(mut self) {
        let timeout = self.settings.command_timeout();
        if let Some(mut session) = self.session.take() {
            let _ = tokio::time::timeout(timeout, session.logout()).await;
        }
    }
}

async fn authenticate(
    client: Client<ImapTransport>,
    settings: &MailboxSettings,
) -> Result<Session<ImapTransport>, ConnectorError> {
    let timeout = settings.command_timeout();
    let username = settings.username.as_str();
    let secret = |value: &Option<SecretString>, what: &str| {
        value
            .as_ref()
            .map(|s| s.expose_secret().to_owned())
            .ok_or_else(|| ConnectorError::Auth(format!("no {what} configured for {username}")))
    };
    let attempt = match settings.auth {
        ImapAuthMethod::Login => {
            let password = secret(&settings.password, "password")?;
            tokio::time::timeout(timeout, client.login(username, password)).await
        }
        ImapAuthMethod::Plain => {
            let password = secret(&settings.password, "password")?;
            let auth = PlainAuth {
                response: plain_auth_response(username, &password),
            };
            tokio::time::timeout(timeout, client.authenticate("PLAIN", auth)).await
        }
        ImapAuthMethod::Xoauth2 => {
            let token = secret(&settings.access_token, "access token")?;
            let auth = PlainAuth {
                response: xoauth2_response(username, &token),
            };
            tokio::time::timeout(timeout, client.authenticate("XOAUTH2", auth)).await
        }
    };
    match attempt {
        Ok(Ok(session)) => Ok(session),
        Ok(Err((async_imap::error::Error::No(text), _)))
        | Ok(Err((async_imap::error::Error::Bad(text), _))) => Err(ConnectorError::Auth(format!(
            "IMAP authentication refused: {text}"
        ))),
        Ok(Err((error, _))) => Err(transient("IMAP authentication", error)),
        Err(_) => Err(transient("IMAP authentication", "timed out")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_xoauth2_responses_have_the_documented_shape() {
        // Arrange / Act
        let plain = plain_auth_response("clientele@saintejulie.ca", "pw");
        let xoauth2 = xoauth2_response("clientele@saintejulie.ca", "tok");

        // Assert
        assert_eq!(plain, b"\0clientele@saintejulie.ca\0pw");
        assert_eq!(
            xoauth2,
            b"user=clientele@saintejulie.ca\x01auth=Bearer tok\x01\x01"
        );
    }

    #[test]
    fn a_checkpoint_only_survives_an_unchanged_uidvalidity() {
        // Arrange
        let status = MailboxStatus {
            uid_validity: 7,
            uid_next: Some(40),
            exists: 3,
        };
        let same = MailboxCheckpoint {
            uid_validity: 7,
            last_uid: 31,
        };
        let stale = MailboxCheckpoint {
            uid_validity: 6,
            last_uid: 31,
        };

        // Act / Assert
        assert_eq!(MailboxCheckpoint::resume_after(Some(same), &status), 31);
        assert_eq!(MailboxCheckpoint::resume_after(Some(stale), &status), 0);
        assert_eq!(MailboxCheckpoint::resume_after(None, &status), 0);
    }

    fn settings_on(port: u16) -> MailboxSettings {
        toml::from_str(&format!(
            r#"
            name = "test"
            imap_host = "127.0.0.1"
            imap_port = {port}
            imap_security = "plain"
            username = "clientele@saintejulie.test"
            password = "x"
            connect_timeout_secs = 1
            command_timeout_secs = 1
            "#
        ))
        .unwrap()
    }

    #[tokio::test]
    async fn a_server_that_never_greets_times_out_as_transient() {
        // Arrange: accept the connection, then say nothing.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (_stream, _) = listener.accept().await.unwrap();
            std::future::pending::<()>().await;
        });
        let started = std::time::Instant::now();

        // Act
        let result = Mailbox::connect(&settings_on(port)).await;

        // Assert
        assert!(
            matches!(result, Err(ConnectorError::Transient(_))),
            "{result:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[tokio::test]
    async fn a_refused_login_is_an_auth_error() {
        // Arrange: a scripted server that greets and refuses LOGIN.
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let (read, mut write) = stream.into_split();
            write.write_all(b"* OK test ready\r\n").await.unwrap();
            let mut lines = BufReader::new(read).lines();
            if let Ok(Some(line)) = lines.next_line().await {
                let tag = line.split(' ').next().unwrap_or("A1").to_owned();
                let reply = format!("{tag} NO [AUTHENTICATIONFAILED] Authentication failed.\r\n");
                write.write_all(reply.as_bytes()).await.unwrap();
            }
            std::future::pending::<()>().await;
        });

        // Act
        let result = Mailbox::connect(&settings_on(port)).await;

        // Assert
        assert!(matches!(result, Err(ConnectorError::Auth(_))), "{result:?}");
    }

    #[test]
    fn fetched_email_debug_output_hides_the_body() {
        // Arrange
        let email = FetchedEmail {
            uid: 3,
            raw: b"From: secret@example.net".to_vec(),
            internal_date: None,
        };

        // Act
        let debug = format!("{email:?}");

        // Assert
        assert!(!debug.contains("secret"), "{debug}");
        assert!(debug.contains("uid: 3"));
    }
}
