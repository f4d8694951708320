//! The outbox worker: delivers what the transactional outbox holds through
//! each channel's connector. Every attempt is counted in the store before it
//! is made; retries back off exponentially with jitter up to a maximum number
//! of attempts, then the row is `failed` for an agent to see and retry. A
//! worker that dies mid-attempt leaves its row `sending`; when the lease runs
//! out the row becomes `unconfirmed` instead of being sent again, so a crash
//! never sends a citizen the same message twice.

pub mod compose;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use connectors::{Connector, ConnectorError};
use models::Channel;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::store::{SentMessage, Store, StoreError};
use crate::worker::{self, Pace, Step, Worker};
use compose::Composer;

pub use crate::worker::Backoff;

/// The senders, by channel.
#[derive(Clone, Default)]
pub struct ConnectorRegistry {
    by_channel: HashMap<Channel, Arc<dyn Connector>>,
}

impl ConnectorRegistry {
    /// Registers a connector for every channel it serves.
    pub fn register(&mut self, connector: Arc<dyn Connector>) {
        for channel in connector.channels() {
            self.by_channel.insert(*channel, Arc::clone(&connector));
        }
    }

    /// The connector for a channel.
    pub fn get(&self, channel: Channel) -> Option<&Arc<dyn Connector>> {
        self.by_channel.get(&channel)
    }

    /// Channels that can send, in a stable order.
    pub fn channels(&self) -> Vec<Channel> {
        let mut channels: Vec<Channel> = self.by_channel.keys().copied().collect();
        channels.sort();
        channels
    }
}

/// How one worker step ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepOutcome {
    /// A message was delivered.
    Completed,
    /// The attempt failed and will be retried after this delay.
    Retry {
        /// Delay before the next attempt.
        after: Duration,
    },
    /// The attempt failed for good; the row is `failed`.
    Dead,
    /// Nothing was due.
    QueueEmpty,
}

/// Delivers outbox rows.
#[derive(Clone)]
pub struct OutboxWorker {
    store: Arc<dyn Store>,
    registry: Arc<ConnectorRegistry>,
    composer: Arc<Composer>,
    clock: Arc<dyn Clock>,
    backoff: Backoff,
    lease: Duration,
    idle: Duration,
    /// Channels with an active credentials alarm, cleared by their next success.
    alarmed: Arc<Mutex<HashSet<Channel>>>,
}

/// The alarm kind raised when a provider refuses a channel's credentials.
pub const CREDENTIALS_ALARM: &str = "credentials_refused";

/// Builds an [`OutboxWorker`].
pub struct OutboxWorkerParts {
    /// Where the outbox lives.
    pub store: Arc<dyn Store>,
    /// Senders.
    pub registry: Arc<ConnectorRegistry>,
    /// Text.
    pub composer: Arc<Composer>,
    /// Now.
    pub clock: Arc<dyn Clock>,
    /// Retry timing.
    pub backoff: Backoff,
    /// Claim lease; longer than any connector timeout.
    pub lease: Duration,
    /// Poll interval when idle.
    pub idle: Duration,
}

impl OutboxWorker {
    /// Assembles the worker.
    pub fn new(parts: OutboxWorkerParts) -> Self {
        Self {
            store: parts.store,
            registry: parts.registry,
            composer: parts.composer,
            clock: parts.clock,
            backoff: parts.backoff,
            lease: parts.lease,
            idle: parts.idle,
            alarmed: Arc::default(),
        }
    }

    fn alarmed(&self) -> std::sync::MutexGuard<'_, HashSet<Channel>> {
        // The set holds plain values; a panic elsewhere cannot leave it torn.
        self.alarmed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Turns rows abandoned by a dead worker into `unconfirmed`, and wakes
    /// rows that waited for a channel that now has a sender. Run at start.
    ///
    /// # Errors
    /// A [`StoreError`].
    pub async fn recover(&self) -> Result<(), StoreError> {
        let now = self.clock.now();
        let active: Vec<Channel> = self
            .store
            .list_alarms(false)
            .await?
            .into_iter()
            .filter(|a| a.kind == CREDENTIALS_ALARM)
            .filter_map(|a| a.source.parse().ok())
            .collect();
        self.alarmed().extend(active);
        let expired = self.store.expire_outbox_leases(now).await?;
        if expired > 0 {
            tracing::warn!(
                count = expired,
                "Outbound messages were interrupted mid-send and need an agent's check"
            );
        }
        let woken = self
            .store
            .activate_waiting_outbox(&self.registry.channels(), now)
            .await?;
        if woken > 0 {
            tracing::info!(
                count = woken,
                "Outbound messages waiting for a channel are now queued"
            );
        }
        // Whatever still waits has no sender in this configuration: an
        // alarm until a sender is configured, cleared once nothing waits.
        let waiting = self
            .store
            .count_outbox_by_state()
            .await?
            .into_iter()
            .find(|(state, _)| *state == models::OutboxState::WaitingChannel)
            .map_or(0, |(_, count)| count);
        if waiting > 0 {
            self.store
                .raise_alarm(
                    "gateway",
                    crate::ingest::WAITING_CHANNEL_ALARM,
                    &format!(
                        "{waiting} outbound messages wait for a channel with no sender configured"
                    ),
                    now,
                )
                .await?;
        } else {
            self.store
                .clear_alarm("gateway", crate::ingest::WAITING_CHANNEL_ALARM, now)
                .await?;
        }
        Ok(())
    }

    /// Claims and attempts one due row.
    ///
    /// # Errors
    /// A [`StoreError`]; the claimed row comes back when its lease ends.
    pub async fn step(&self) -> Result<StepOutcome, StoreError> {
        let channels = self.registry.channels();
        let now = self.clock.now();
        let Some(job) = self
            .store
            .claim_outbox_job(&channels, now, self.lease)
            .await?
        else {
            return Ok(StepOutcome::QueueEmpty);
        };
        let span = tracing::info_span!("outbox_attempt", job_id = %job.id, attempt = job.attempt, channel = %job.channel);
        let _guard = span.enter();
        let Some(connector) = self.registry.get(job.channel) else {
            // Claims are filtered by the registered channels.
            self.store
                .fail_outbox_job(job.id, "no_connector", self.clock.now())
                .await?;
            return Ok(StepOutcome::Dead);
        };
        let outgoing = match self.composer.compose(&job, now) {
            Ok(outgoing) => outgoing,
            Err(error) => {
                tracing::error!(error = %error, cause = ?error, "Outbound message cannot be composed");
                self.store
                    .fail_outbox_job(job.id, &format!("template: {error}"), self.clock.now())
                    .await?;
                return Ok(StepOutcome::Dead);
            }
        };
        let result = tokio::time::timeout(self.lease / 2, connector.send(&outgoing)).await;
        let now = self.clock.now();
        let error = match result {
            Ok(Ok(receipt)) => {
                self.store
                    .complete_outbox_job(
                        &job,
                        &SentMessage {
                            subject: outgoing.subject.clone(),
                            text: outgoing.text.clone(),
                            provider_message_id: receipt.provider_message_id,
                        },
                        now,
                    )
                    .await?;
                tracing::info!("Outbound message delivered");
                let was_alarmed = self.alarmed().remove(&job.channel);
                if was_alarmed {
                    self.store
                        .clear_alarm(job.channel.as_str(), CREDENTIALS_ALARM, now)
                        .await?;
                    tracing::info!("Channel credentials accepted again; alarm cleared");
                }
                return Ok(StepOutcome::Completed);
            }
            Ok(Err(error)) => error,
            Err(_) => ConnectorError::Transient("send timed out".into()),
        };
        let text = error.to_string();
        if error.is_retryable() && job.attempt < job.max_attempts {
            let mut after = self.backoff.delay(job.attempt);
            if let ConnectorError::RateLimited {
                retry_after: Some(hint),
            } = &error
            {
                after = after.max(*hint);
            }
            let at = now
                + chrono::Duration::from_std(after).map_err(|e| StoreError::Internal(e.into()))?;
            self.store.retry_outbox_job(job.id, at, &text, now).await?;
            tracing::warn!(error = %text, retry_in_secs = after.as_secs(), "Outbound message attempt failed, will retry");
            Ok(StepOutcome::Retry { after })
        } else {
            self.store.fail_outbox_job(job.id, &text, now).await?;
            match error {
                ConnectorError::Auth(_) => {
                    tracing::error!(error = %text, "Channel credentials refused: an administrator must act");
                    self.store
                        .raise_alarm(
                            job.channel.as_str(),
                            CREDENTIALS_ALARM,
                            &format!("{} refused the gateway's credentials: {text}", job.channel),
                            now,
                        )
                        .await?;
                    self.alarmed().insert(job.channel);
                }
                _ => tracing::warn!(error = %text, "Outbound message failed for good"),
            }
            Ok(StepOutcome::Dead)
        }
    }

    /// Runs `senders` delivery loops side by side until cancelled, after one
    /// recovery pass. A relay acknowledges a message only once it is safely
    /// queued on its disk, so one connection waits on every one of those
    /// writes; several loops keep several messages in flight. Claims are
    /// exclusive, so no row is sent twice. Two messages to one citizen may
    /// leave in either order when they are due together.
    pub async fn run_with(self, senders: usize, cancel: CancellationToken) {
        if let Err(error) = self.recover().await {
            tracing::error!(error = %error, cause = ?error, "Outbox recovery failed");
        }
        let mut loops = tokio::task::JoinSet::new();
        for _ in 0..senders.max(1) {
            loops.spawn(worker::run(self.clone(), cancel.clone()));
        }
        while loops.join_next().await.is_some() {}
    }
}

impl Worker for OutboxWorker {
    type Error = StoreError;

    fn name(&self) -> String {
        "outbox".to_owned()
    }

    fn pace(&self) -> Pace {
        Pace::polling(self.idle)
    }

    async fn step(&self, _cancel: &CancellationToken) -> Result<Step, StoreError> {
        match OutboxWorker::step(self).await? {
            StepOutcome::QueueEmpty => {
                // Abandoned claims are looked for when the queue is idle,
                // not before every claim: a write saved per delivery.
                self.store.expire_outbox_leases(self.clock.now()).await?;
                Ok(Step::Idle)
            }
            StepOutcome::Completed | StepOutcome::Retry { .. } | StepOutcome::Dead => {
                Ok(Step::Worked)
            }
        }
    }
}
