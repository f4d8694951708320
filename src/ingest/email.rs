//! The mailbox worker: reads one IMAP mailbox into the ingest pipeline.
//!
//! One worker per configured mailbox. It first takes the right to read the
//! mailbox ([`Store::try_lock_mailbox`]: an advisory lock on PostgreSQL, a
//! lease on SQLite), so that among several gateway processes exactly one
//! reads it, and another takes over when that one dies. Then, per session:
//!
//! 1. connect and select the folder;
//! 2. settle: messages at or below the stored position that still wait for
//!    their `\Seen` or MOVE (the gateway died between its commit and the
//!    flag) get it now, without being read again;
//! 3. drain: fetch by UID after the stored position, in batches; each message
//!    is parsed off the async threads, then committed *with* the new
//!    position in one transaction; once the whole batch is committed it is
//!    flagged or moved in one command;
//! 4. wait for news (IDLE, or polling), and drain again.
//!
//! A UIDVALIDITY change voids the stored position: the folder is read again
//! from the start, and the store's deduplication on Message-ID (or on the
//! raw bytes' hash when there is none) makes every repeat a no-op, so no
//! citizen is acknowledged twice. A message that cannot be read at all is
//! quarantined with its reason, and the position still moves past it.
//! Any failure drops the session; [`crate::worker::run`] reconnects with
//! backoff.

use std::sync::Arc;
use std::time::Duration;

use connectors::email::{
    parse_email, EmailParseError, EmailSettings, FetchedEmail, Mailbox, MailboxCheckpoint,
    MailboxSettings, MailboxStatus, ParseContext, ParsedEmail,
};
use connectors::ConnectorError;
use models::ReferencePrefix;
use tokio_util::sync::CancellationToken;

use super::{BounceNotice, EmailIntake, IngestError, Ingestor};
use crate::clock::Clock;
use crate::store::{MailboxLock, MailboxPosition, NewQuarantinedMail, Store, StoreError};
use crate::worker::{Backoff, Pace, Step, Worker};

/// Raw messages up to this size are kept with their quarantine record, so an
/// agent can open what the parser could not; larger ones keep only the reason.
const MAX_QUARANTINED_RAW_BYTES: usize = 10 * 1024 * 1024;
/// First reconnection delay after a failed session.
const RECONNECT_BASE: Duration = Duration::from_secs(1);

/// Why a mailbox session ended.
#[derive(Debug, thiserror::Error)]
pub enum MailboxError {
    /// The mail server failed or refused.
    #[error("mail server: {0}")]
    Connector(#[from] ConnectorError),
    /// The store failed; nothing of the message in hand was written.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// Another process holds the mailbox now.
    #[error("the right to read the mailbox was lost")]
    LockLost,
}

impl From<IngestError> for MailboxError {
    fn from(error: IngestError) -> Self {
        match error {
            IngestError::Store(e) => Self::Store(e),
            other @ (IngestError::IdempotencyMismatch
            | IngestError::IdentityTaken
            | IngestError::UnknownContact) => Self::Store(StoreError::Internal(anyhow::anyhow!(
                "An email ingest reported what only other intakes can: {other}"
            ))),
        }
    }
}

/// What one pass over a mailbox did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MailboxPass {
    /// Messages stored now.
    pub stored: usize,
    /// Messages already stored before (a replay after a resync or a crash).
    pub duplicates: usize,
    /// Messages set aside as unreadable.
    pub quarantined: usize,
    /// Messages committed earlier whose `\Seen`/MOVE was applied now.
    pub settled: usize,
    /// Acknowledgements queued.
    pub acknowledged: usize,
}

/// Reads one mailbox.
#[derive(Clone)]
pub struct MailboxWorker {
    store: Arc<dyn Store>,
    ingestor: Ingestor,
    email: Arc<EmailSettings>,
    mailbox: MailboxSettings,
    prefix: ReferencePrefix,
    clock: Arc<dyn Clock>,
    owner: String,
    lock_ttl: Duration,
    reconnect_max: Duration,
}

/// Builds a [`MailboxWorker`].
pub struct MailboxWorkerParts {
    /// Where positions and quarantined mail live.
    pub store: Arc<dyn Store>,
    /// The ingest pipeline.
    pub ingestor: Ingestor,
    /// The email channel's settings (city addresses, limits).
    pub email: Arc<EmailSettings>,
    /// The mailbox this worker reads.
    pub mailbox: MailboxSettings,
    /// Reference prefix, to find references quoted in mail.
    pub prefix: ReferencePrefix,
    /// Now.
    pub clock: Arc<dyn Clock>,
    /// Lease time of the mailbox lock.
    pub lock_ttl: Duration,
    /// Longest reconnection delay.
    pub reconnect_max: Duration,
}

impl MailboxWorker {
    /// Assembles the worker.
    pub fn new(parts: MailboxWorkerParts) -> Self {
        Self {
            store: parts.store,
            ingestor: parts.ingestor,
            email: parts.email,
            mailbox: parts.mailbox,
            prefix: parts.prefix,
            clock: parts.clock,
            owner: format!("{}:{}", std::process::id(), uuid::Uuid::now_v7().simple()),
            lock_ttl: parts.lock_ttl,
            reconnect_max: parts.reconnect_max,
        }
    }

    /// The mailbox's label.
    pub fn name(&self) -> &str {
        &self.mailbox.name
    }

    /// One pass: take the lock, connect, settle, read everything new, log
    /// out, give the lock back. `None` when another process holds the
    /// mailbox. Used by tests and tools; run as a [`Worker`], it keeps a session
    /// open instead.
    ///
    /// # Errors
    /// A [`MailboxError`] when the server or the store fails; what was
    /// committed before the failure stays committed.
    pub async fn poll_once(&self) -> Result<Option<MailboxPass>, MailboxError> {
        let Some(lock) = self.lock().await? else {
            return Ok(None);
        };
        let mut pass = MailboxPass::default();
        let result = async {
            let mut mailbox = Mailbox::connect(&self.mailbox).await?;
            self.settle(&mut mailbox, &mut pass).await?;
            self.drain(&mut mailbox, &mut pass).await?;
            mailbox.logout().await;
            Ok::<_, MailboxError>(())
        }
        .await;
        lock.release().await;
        result.map(|()| Some(pass))
    }

    async fn lock(&self) -> Result<Option<Box<dyn MailboxLock>>, StoreError> {
        self.store
            .try_lock_mailbox(
                &self.mailbox.name,
                &self.owner,
                self.clock.now(),
                self.lock_ttl,
            )
            .await
    }

    /// Runs a session while a separate task renews the lock every quarter
    /// of its lease (separate, because on SQLite the renewal needs the
    /// writer connection that the session's transaction may be holding).
    async fn hold(
        &self,
        mut lock: Box<dyn MailboxLock>,
        cancel: &CancellationToken,
    ) -> Result<(), MailboxError> {
        let stop = CancellationToken::new();
        let lost = CancellationToken::new();
        let keeper = {
            let (stop, lost) = (stop.clone(), lost.clone());
            let clock = Arc::clone(&self.clock);
            let period = self.lock_ttl / 4;
            let mailbox = self.mailbox.name.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(period);
                tick.tick().await;
                loop {
                    tokio::select! {
                        () = stop.cancelled() => break,
                        _ = tick.tick() => match lock.renew(clock.now()).await {
                            Ok(true) => {}
                            Ok(false) => {
                                lost.cancel();
                                break;
                            }
                            Err(error) => {
                                tracing::warn!(%mailbox, %error, "Failed to renew the mailbox lock");
                                lost.cancel();
                                break;
                            }
                        },
                    }
                }
                lock
            })
        };
        let result = tokio::select! {
            result = self.session() => result,
            () = cancel.cancelled() => Ok(()),
            () = lost.cancelled() => Err(MailboxError::LockLost),
        };
        // The IMAP session is gone with its future; only now is the lock freed.
        stop.cancel();
        match keeper.await {
            Ok(lock) => lock.release().await,
            Err(error) => tracing::error!(%error, "The mailbox lock keeper failed"),
        }
        result
    }

    async fn session(&self) -> Result<(), MailboxError> {
        let mut mailbox = Mailbox::connect(&self.mailbox).await?;
        tracing::info!(
            mailbox = %self.mailbox.name,
            uid_validity = mailbox.status().uid_validity,
            exists = mailbox.status().exists,
            idle = mailbox.uses_idle(),
            "Mailbox session open"
        );
        let mut pass = MailboxPass::default();
        self.settle(&mut mailbox, &mut pass).await?;
        loop {
            self.drain(&mut mailbox, &mut pass).await?;
            mailbox.wait_for_change().await?;
        }
    }

    /// The stored position, as the client's checkpoint.
    async fn resume_after(&self, status: &MailboxStatus) -> Result<u32, StoreError> {
        let stored = self
            .store
            .mailbox_position(&self.mailbox.name)
            .await?
            .map(|p| MailboxCheckpoint {
                uid_validity: p.uid_validity,
                last_uid: p.last_uid,
            });
        Ok(MailboxCheckpoint::resume_after(stored, status))
    }

    async fn settle(
        &self,
        mailbox: &mut Mailbox,
        pass: &mut MailboxPass,
    ) -> Result<(), MailboxError> {
        let after = self.resume_after(&mailbox.status()).await?;
        let waiting = mailbox.unprocessed_up_to(after).await?;
        self.mark(mailbox, &waiting).await?;
        pass.settled += waiting.len();
        if pass.settled > 0 {
            tracing::info!(mailbox = %self.mailbox.name, settled = pass.settled, "Flagged messages committed before an interruption");
        }
        Ok(())
    }

    async fn drain(
        &self,
        mailbox: &mut Mailbox,
        pass: &mut MailboxPass,
    ) -> Result<(), MailboxError> {
        loop {
            let status = mailbox.status();
            let after = self.resume_after(&status).await?;
            let batch = mailbox.fetch_after(after).await?;
            if batch.is_empty() {
                return Ok(());
            }
            let mut done = Vec::with_capacity(batch.len());
            for email in batch {
                done.push(email.uid);
                self.take(&status, email, pass).await?;
            }
            // One `\Seen`/MOVE for the whole batch, once all of it is
            // committed; a crash before it is settled at the next start.
            self.mark(mailbox, &done).await?;
        }
    }

    async fn take(
        &self,
        status: &MailboxStatus,
        email: FetchedEmail,
        pass: &mut MailboxPass,
    ) -> Result<(), MailboxError> {
        let uid = email.uid;
        let position = MailboxPosition {
            uid_validity: status.uid_validity,
            last_uid: uid,
        };
        let context = ParseContext::from_settings(
            &self.email,
            self.prefix.clone(),
            email.internal_date.unwrap_or_else(|| self.clock.now()),
        );
        let raw = Arc::new(email.raw);
        let parsed = {
            let raw = Arc::clone(&raw);
            tokio::task::spawn_blocking(move || parse_email(&raw, &context)).await
        };
        match parsed {
            Ok(Ok(parsed)) => {
                let intake = EmailIntake {
                    mailbox: &self.mailbox.name,
                    position,
                    max_acks_per_sender_per_day: self.email.max_acks_per_sender_per_day,
                    bounce: bounce_notice(&parsed),
                };
                let outcome = self.ingestor.ingest_email(&parsed.message, &intake).await?;
                if outcome.duplicate {
                    pass.duplicates += 1;
                } else {
                    pass.stored += 1;
                }
                if outcome.acknowledgement.is_some() {
                    pass.acknowledged += 1;
                }
            }
            Ok(Err(error)) => {
                self.quarantine(position, &raw, &quarantine_reason(&error))
                    .await?;
                pass.quarantined += 1;
            }
            Err(panic) => {
                tracing::error!(mailbox = %self.mailbox.name, uid, error = %panic, "The mail parser crashed on a message");
                self.quarantine(position, &raw, "the mail parser failed on this message")
                    .await?;
                pass.quarantined += 1;
            }
        }
        Ok(())
    }

    async fn quarantine(
        &self,
        position: MailboxPosition,
        raw: &[u8],
        reason: &str,
    ) -> Result<(), StoreError> {
        tracing::warn!(mailbox = %self.mailbox.name, uid = position.last_uid, reason, "Email quarantined");
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        tx.quarantine_mail(&NewQuarantinedMail {
            mailbox: &self.mailbox.name,
            position,
            reason,
            size_bytes: raw.len() as u64,
            raw: (raw.len() <= MAX_QUARANTINED_RAW_BYTES).then_some(raw),
            at: now,
        })
        .await?;
        tx.save_mailbox_position(&self.mailbox.name, position, now)
            .await?;
        tx.commit().await
    }

    /// Applies `\Seen` or MOVE. A refusal (a missing target folder) is
    /// logged and intake goes on: the stored position already keeps the
    /// messages from being read twice.
    async fn mark(&self, mailbox: &mut Mailbox, uids: &[u32]) -> Result<(), MailboxError> {
        match mailbox.mark_all_processed(uids).await {
            Ok(()) => Ok(()),
            Err(ConnectorError::Transient(e)) => Err(ConnectorError::Transient(e).into()),
            Err(error) => {
                tracing::error!(mailbox = %self.mailbox.name, count = uids.len(), %error, "The server refused to flag or move stored messages");
                Ok(())
            }
        }
    }
}

/// Reads the mailbox while [`run`](crate::worker::run) runs it: each step
/// takes the lock (waiting while another process has it) and holds a session
/// until it fails or `cancel`; the loop reconnects with backoff. A session
/// that held for a while starts the backoff again from its base.
impl Worker for MailboxWorker {
    type Error = MailboxError;

    fn name(&self) -> String {
        format!("mailbox {}", self.mailbox.name)
    }

    fn pace(&self) -> Pace {
        Pace {
            idle: self.lock_ttl / 4,
            backoff: Backoff {
                base: RECONNECT_BASE,
                max: self.reconnect_max,
            },
        }
    }

    async fn step(&self, cancel: &CancellationToken) -> Result<Step, MailboxError> {
        let lock = match self.lock().await {
            Ok(Some(lock)) => lock,
            Ok(None) => {
                tracing::debug!(mailbox = %self.mailbox.name, "Another process reads this mailbox; waiting");
                return Ok(Step::RetryAfter(self.lock_ttl / 4));
            }
            Err(error) => {
                tracing::warn!(mailbox = %self.mailbox.name, %error, "Failed to take the mailbox lock");
                return Ok(Step::RetryAfter(self.lock_ttl / 4));
            }
        };
        // A session only ends without an error when cancelled.
        self.hold(lock, cancel).await?;
        Ok(Step::Worked)
    }
}

/// What a parsed bounce says about one of our messages.
fn bounce_notice(parsed: &ParsedEmail) -> Option<BounceNotice> {
    let report = parsed.bounce.as_ref()?;
    let original = report.original_message_id.clone()?;
    let summary = report
        .recipients
        .iter()
        .map(|r| {
            [r.status.as_deref(), r.diagnostic_code.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    Some(BounceNotice {
        original,
        permanent: report.is_permanent(),
        summary: if summary.is_empty() {
            "delivery failed".to_owned()
        } else {
            summary
        },
    })
}

/// The reason an agent reads on a quarantined email.
fn quarantine_reason(error: &EmailParseError) -> String {
    match error {
        EmailParseError::Empty => "the message is empty".to_owned(),
        EmailParseError::TooLarge { size, max } => {
            format!("the message is {size} bytes, above the {max} byte limit")
        }
        EmailParseError::Unreadable => "the message has no readable header".to_owned(),
        EmailParseError::MissingSender => "the message has no usable sender address".to_owned(),
        EmailParseError::ParserFailed => "the mail parser failed on this message".to_owned(),
    }
}
