//! The classification worker: takes messages the ingest transaction queued,
//! runs the classifier off the async runtime, and stores each verdict with
//! the model version. Intake never waits for it; a restart finds the queue
//! where it was, so no message stays unclassified.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use classifiers::{Classifier, ClassifierInput};
use models::Topic;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::store::{Store, StoreError};
use crate::worker::{Pace, Step, Worker};

/// How a worker step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClassifyOutcome {
    /// This many messages were classified.
    Completed(usize),
    /// Nothing was waiting.
    QueueEmpty,
}

/// Classifies queued messages.
#[derive(Clone)]
pub struct ClassifyWorker {
    store: Arc<dyn Store>,
    classifier: Arc<dyn Classifier>,
    clock: Arc<dyn Clock>,
    departments: Arc<HashMap<Topic, String>>,
    batch: u32,
    lease: Duration,
    idle: Duration,
    wakeup: Arc<Notify>,
}

/// Builds a [`ClassifyWorker`].
pub struct ClassifyWorkerParts {
    /// Where jobs and results live.
    pub store: Arc<dyn Store>,
    /// The model.
    pub classifier: Arc<dyn Classifier>,
    /// Now.
    pub clock: Arc<dyn Clock>,
    /// Department slug per topic.
    pub departments: HashMap<Topic, String>,
    /// Messages per claim.
    pub batch: u32,
    /// Claim lease.
    pub lease: Duration,
    /// Poll interval when idle.
    pub idle: Duration,
    /// Woken by the ingest pipeline.
    pub wakeup: Arc<Notify>,
}

impl ClassifyWorker {
    /// Assembles the worker.
    pub fn new(parts: ClassifyWorkerParts) -> Self {
        Self {
            store: parts.store,
            classifier: parts.classifier,
            clock: parts.clock,
            departments: Arc::new(parts.departments),
            batch: parts.batch,
            lease: parts.lease,
            idle: parts.idle,
            wakeup: parts.wakeup,
        }
    }

    /// Claims one batch and classifies it.
    ///
    /// # Errors
    /// A [`StoreError`]; claimed jobs come back when their lease ends.
    #[tracing::instrument(skip_all)]
    pub async fn step(&self) -> Result<ClassifyOutcome, StoreError> {
        let jobs = self
            .store
            .claim_classify_jobs(self.clock.now(), self.lease, self.batch)
            .await?;
        if jobs.is_empty() {
            return Ok(ClassifyOutcome::QueueEmpty);
        }
        let count = jobs.len();
        let classifier = Arc::clone(&self.classifier);
        let span = tracing::Span::current();
        let results = tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            jobs.into_iter()
                .map(|job| {
                    let verdict = classifier.classify(&ClassifierInput {
                        text: &job.text,
                        subject: job.subject.as_deref(),
                        language: Some(job.language),
                    });
                    (job.message_id, verdict)
                })
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|e| {
            StoreError::Internal(anyhow::Error::new(e).context("Classifier task failed"))
        })?;
        for (message_id, classification) in results {
            let department = match &classification.topic {
                models::TopicVerdict::Label { topic, .. } => {
                    self.departments.get(topic).map(String::as_str)
                }
                models::TopicVerdict::Abstain { .. } => None,
            };
            self.store
                .save_classification(message_id, &classification, department, self.clock.now())
                .await?;
            tracing::debug!(%message_id, flagged = classification.abuse.needs_review(), "Classified message");
        }
        Ok(ClassifyOutcome::Completed(count))
    }
}

impl Worker for ClassifyWorker {
    type Error = StoreError;

    fn name(&self) -> String {
        "classifier".to_owned()
    }

    fn pace(&self) -> Pace {
        Pace::polling(self.idle)
    }

    fn wakeup(&self) -> Option<Arc<Notify>> {
        Some(Arc::clone(&self.wakeup))
    }

    async fn step(&self, _cancel: &CancellationToken) -> Result<Step, StoreError> {
        Ok(match ClassifyWorker::step(self).await? {
            ClassifyOutcome::Completed(_) => Step::Worked,
            ClassifyOutcome::QueueEmpty => Step::Idle,
        })
    }
}
