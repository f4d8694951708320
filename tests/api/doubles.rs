//! Test doubles for the parts this machine cannot run for real in these
//! tests: a sender that records what it is asked to send and can fail on
//! demand, and a classifier with a known answer.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use async_trait::async_trait;
use connectors::{Connector, ConnectorError, OutgoingMessage, SentReceipt};
use models::Channel;

/// What the recording sender should answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// A retryable error.
    Transient,
    /// A permanent refusal.
    Permanent,
}

/// Records every message and fails the first `failures` attempts.
pub struct RecordingSender {
    channels: &'static [Channel],
    failures: AtomicU32,
    failure: Failure,
    /// Every attempt, successful or not.
    pub attempts: Mutex<Vec<OutgoingMessage>>,
    /// Every message accepted.
    pub sent: Mutex<Vec<OutgoingMessage>>,
}

impl RecordingSender {
    /// A sender on `channels` that fails the first `failures` attempts.
    pub fn new(channels: &'static [Channel], failures: u32, failure: Failure) -> Self {
        Self {
            channels,
            failures: AtomicU32::new(failures),
            failure,
            attempts: Mutex::new(Vec::new()),
            sent: Mutex::new(Vec::new()),
        }
    }

    /// An email sender that always succeeds.
    pub fn email() -> Self {
        Self::new(&[Channel::Email], 0, Failure::Transient)
    }

    /// Messages accepted so far.
    pub fn sent(&self) -> Vec<OutgoingMessage> {
        self.sent.lock().unwrap().clone()
    }

    /// Attempts so far.
    pub fn attempt_count(&self) -> usize {
        self.attempts.lock().unwrap().len()
    }
}

#[async_trait]
impl Connector for RecordingSender {
    fn name(&self) -> &'static str {
        "recording"
    }

    fn channels(&self) -> &'static [Channel] {
        self.channels
    }

    async fn send(&self, message: &OutgoingMessage) -> Result<SentReceipt, ConnectorError> {
        self.attempts.lock().unwrap().push(message.clone());
        let left = self.failures.load(Ordering::SeqCst);
        if left > 0 {
            self.failures.store(left - 1, Ordering::SeqCst);
            return Err(match self.failure {
                Failure::Transient => ConnectorError::Transient("connection reset".into()),
                Failure::Permanent => ConnectorError::Permanent("550 mailbox unavailable".into()),
            });
        }
        self.sent.lock().unwrap().push(message.clone());
        Ok(SentReceipt {
            provider_message_id: Some(format!("provider-{}", message.outbox_id)),
        })
    }
}
