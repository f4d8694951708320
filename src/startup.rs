//! Builds the application from settings (store, migrations, templates,
//! connectors, classifier, workers, listener) and runs it until a shutdown
//! signal, stopping the server and the workers together.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use classifiers::Classifier;
use connectors::Connector;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::clock::{Clock, SystemClock};
use crate::config::Settings;
use crate::http::state::AppState;
use crate::http::{form_rate_limiter, router};
use crate::ingest::classify::{ClassifyWorker, ClassifyWorkerParts};
use crate::ingest::email::{MailboxWorker, MailboxWorkerParts};
use crate::ingest::webhooks::{WebhookWorker, WebhookWorkerParts};
use crate::ingest::{Ingestor, IngestorParts};
use crate::outbox::compose::Composer;
use crate::outbox::{Backoff, ConnectorRegistry, OutboxWorker, OutboxWorkerParts};
use crate::store::{self, Store};
use crate::templates::{OfficeContext, Templates};
use crate::worker;

/// How often the rate limiter forgets addresses it has not seen lately.
const LIMITER_PRUNE_INTERVAL: Duration = Duration::from_secs(300);

/// Replacements for the parts a test needs to control.
#[derive(Default)]
pub struct Overrides {
    /// A fixed clock.
    pub clock: Option<Arc<dyn Clock>>,
    /// Extra senders (test doubles), registered after the configured ones.
    pub connectors: Vec<Arc<dyn Connector>>,
    /// Another classifier.
    pub classifier: Option<Arc<dyn Classifier>>,
}

/// A built, listening gateway.
pub struct Application {
    listener: TcpListener,
    address: SocketAddr,
    state: AppState,
    outbox: OutboxWorker,
    classify: ClassifyWorker,
    webhooks: Option<WebhookWorker>,
    mailboxes: Vec<MailboxWorker>,
    run_workers: bool,
    outbox_senders: usize,
}

/// Connects the store named by the settings and applies migrations.
///
/// # Errors
/// When the database cannot be opened or migrated.
pub async fn connect_store(settings: &Settings) -> anyhow::Result<Arc<dyn Store>> {
    let store = store::connect(&settings.database.url, &settings.database.connect_options())
        .await
        .context("Failed to open the database")?;
    store
        .migrate()
        .await
        .context("Failed to migrate the database")?;
    Ok(store)
}

impl Application {
    /// Builds the gateway from settings.
    ///
    /// # Errors
    /// When any part cannot be built; the message says which.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with(settings, Overrides::default()).await
    }

    /// Builds the gateway with some parts replaced.
    ///
    /// # Errors
    /// When any part cannot be built; the message says which.
    pub async fn build_with(settings: Settings, overrides: Overrides) -> anyhow::Result<Self> {
        settings.validate()?;
        let settings = Arc::new(settings);
        let clock: Arc<dyn Clock> = overrides.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let templates = Arc::new(
            Templates::load(settings.templates.dir.as_deref())
                .context("Failed to load the templates")?,
        );
        let store = connect_store(&settings).await?;
        let classifier = match overrides.classifier {
            Some(c) => c,
            None => build_classifier(&settings)?,
        };

        let mut registry = ConnectorRegistry::default();
        let meta = settings.connectors.meta.clone().map(Arc::new);
        let mut meta_client = None;
        if let Some(meta) = &meta {
            let client = Arc::new(
                meta.client()
                    .context("Failed to build the Meta Send API client")?,
            );
            registry.register(Arc::clone(&client) as Arc<dyn Connector>);
            meta_client = Some(client);
            tracing::info!(
                pages = meta.pages.len(),
                "Messenger and Instagram channel configured"
            );
        }
        let email = settings.connectors.email.clone().map(Arc::new);
        if let Some(email) = &email {
            let sender = connectors::email::SmtpSender::new(email)
                .context("Failed to build the SMTP sender")?;
            registry.register(Arc::new(sender));
            tracing::info!(
                mailboxes = email.mailboxes.len(),
                "Email channel configured"
            );
        }
        for connector in overrides.connectors {
            registry.register(connector);
        }
        let registry = Arc::new(registry);

        let classify_wakeup = Arc::new(Notify::new());
        let ingestor = Ingestor::new(IngestorParts {
            store: Arc::clone(&store),
            clock: Arc::clone(&clock),
            prefix: settings.reference_prefix(),
            tz: settings.timezone(),
            outbox_max_attempts: settings.workers.outbox_max_attempts,
            message_id_domain: settings.office.message_id_domain.clone(),
            sending_channels: registry.channels(),
            classify: true,
            classify_wakeup: Arc::clone(&classify_wakeup),
            calendar: settings.calendar(),
            first_response_hours: settings.office.first_response_business_hours,
            ack_caps: crate::ingest::AckCaps {
                per_recipient_per_day: settings.office.max_acks_per_sender_per_day,
                per_hour: settings.office.max_acks_per_hour,
            },
        });
        let office = OfficeContext {
            phone: settings.office.phone.clone(),
            email: settings.office.email.clone(),
        };
        let composer = Arc::new(Composer::new(
            Arc::clone(&templates),
            settings.calendar(),
            office.clone(),
        ));
        let w = &settings.workers;
        let outbox = OutboxWorker::new(OutboxWorkerParts {
            store: Arc::clone(&store),
            registry: Arc::clone(&registry),
            composer: Arc::clone(&composer),
            clock: Arc::clone(&clock),
            backoff: Backoff {
                base: Duration::from_secs(w.outbox_backoff_base_secs),
                max: Duration::from_secs(w.outbox_backoff_max_secs),
            },
            lease: Duration::from_secs(w.outbox_lease_secs),
            idle: Duration::from_millis(w.outbox_poll_interval_ms),
        });
        let departments: HashMap<models::Topic, String> = models::Topic::ALL
            .iter()
            .filter_map(|t| settings.department_for(*t).map(|d| (*t, d.slug.clone())))
            .collect();
        let classify = ClassifyWorker::new(ClassifyWorkerParts {
            store: Arc::clone(&store),
            classifier: Arc::clone(&classifier),
            clock: Arc::clone(&clock),
            departments,
            batch: w.classify_batch,
            lease: Duration::from_secs(w.classify_lease_secs),
            idle: Duration::from_millis(w.classify_poll_interval_ms),
            wakeup: classify_wakeup,
        });
        let webhook_wakeup = Arc::new(Notify::new());
        let webhooks = meta.as_ref().map(|meta| {
            WebhookWorker::new(WebhookWorkerParts {
                store: Arc::clone(&store),
                ingestor: ingestor.clone(),
                meta: Arc::clone(meta),
                prefix: settings.reference_prefix(),
                clock: Arc::clone(&clock),
                wakeup: Arc::clone(&webhook_wakeup),
                lease: Duration::from_secs(w.classify_lease_secs),
                idle: Duration::from_millis(w.classify_poll_interval_ms),
                attachments: meta_client.clone().filter(|_| meta.fetch_attachments),
                keep_processed: chrono::Duration::days(i64::from(w.webhook_keep_days)),
            })
        });
        let mailboxes = email
            .iter()
            .flat_map(|email| {
                email.mailboxes.iter().map(|mailbox| {
                    MailboxWorker::new(MailboxWorkerParts {
                        store: Arc::clone(&store),
                        ingestor: ingestor.clone(),
                        email: Arc::clone(email),
                        mailbox: mailbox.clone(),
                        prefix: settings.reference_prefix(),
                        clock: Arc::clone(&clock),
                        lock_ttl: Duration::from_secs(w.mailbox_lock_secs),
                        reconnect_max: Duration::from_secs(w.mailbox_reconnect_max_secs),
                    })
                })
            })
            .collect();
        let form = &settings.connectors.webform;
        let services = crate::services::Services {
            store: Arc::clone(&store),
            ingestor: ingestor.clone(),
            clock: Arc::clone(&clock),
            settings: Arc::clone(&settings),
            office: office.clone(),
            templates: Arc::clone(&templates),
            composer,
        };
        let state = AppState {
            services,
            store,
            ingestor,
            templates,
            settings: Arc::clone(&settings),
            clock,
            form_limiter: Arc::new(form_rate_limiter(
                form.rate_limit_per_minute,
                form.rate_limit_burst,
            )),
            office,
            meta,
            webhook_wakeup,
            classifier: Arc::clone(&classifier),
            staff: Arc::new(
                crate::http::staff::StaffPages::load(settings.timezone())
                    .context("Failed to load the workspace pages")?,
            ),
            sign_in: Arc::new(crate::http::sign_in::SignInGuard::new()),
        };
        let listener = TcpListener::bind(&settings.server.listen)
            .await
            .with_context(|| format!("Failed to listen on {}", settings.server.listen))?;
        let address = listener
            .local_addr()
            .context("Failed to read the bound address")?;
        Ok(Self {
            listener,
            address,
            state,
            outbox,
            classify,
            webhooks,
            mailboxes,
            run_workers: settings.workers.enabled,
            outbox_senders: settings.workers.outbox_senders as usize,
        })
    }

    /// The bound port (useful with port 0).
    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// The bound address.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The shared state (store, pipeline, templates).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The outbox worker, for driving it by hand.
    pub fn outbox_worker(&self) -> OutboxWorker {
        self.outbox.clone()
    }

    /// The classification worker, for driving it by hand.
    pub fn classify_worker(&self) -> ClassifyWorker {
        self.classify.clone()
    }

    /// The webhook worker, when a webhook channel is configured.
    pub fn webhook_worker(&self) -> Option<WebhookWorker> {
        self.webhooks.clone()
    }

    /// The mailbox readers, one per configured mailbox.
    pub fn mailbox_workers(&self) -> Vec<MailboxWorker> {
        self.mailboxes.clone()
    }

    /// Serves until `shutdown` resolves, then stops the workers (an attempt
    /// in flight finishes) and returns. Logs which part stopped first.
    ///
    /// # Errors
    /// When the server fails.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let cancel = CancellationToken::new();
        let mut workers = tokio::task::JoinSet::new();
        if self.run_workers {
            workers.spawn(
                self.outbox
                    .run_with(self.outbox_senders, cancel.child_token()),
            );
            workers.spawn(worker::run(self.classify, cancel.child_token()));
            if let Some(webhooks) = self.webhooks {
                workers.spawn(worker::run(webhooks, cancel.child_token()));
            }
            for mailbox in self.mailboxes {
                workers.spawn(worker::run(mailbox, cancel.child_token()));
            }
        }
        let limiter = Arc::clone(&self.state.form_limiter);
        let prune_cancel = cancel.child_token();
        workers.spawn(async move {
            loop {
                tokio::select! {
                    () = prune_cancel.cancelled() => return,
                    () = tokio::time::sleep(LIMITER_PRUNE_INTERVAL) => limiter.retain_recent(),
                }
            }
        });
        let app = router(self.state).into_make_service_with_connect_info::<SocketAddr>();
        let server_cancel = cancel.clone();
        let server = axum::serve(self.listener, app).with_graceful_shutdown(async move {
            tokio::select! {
                () = shutdown => tracing::info!("Shutdown requested"),
                () = server_cancel.cancelled() => {}
            }
        });
        let result = tokio::select! {
            result = server => {
                tracing::info!("HTTP server stopped");
                result.context("HTTP server failed")
            }
            Some(joined) = workers.join_next() => {
                tracing::error!(?joined, "A background worker stopped before the server");
                Ok(())
            }
        };
        cancel.cancel();
        while workers.join_next().await.is_some() {}
        tracing::info!("Workers stopped");
        result
    }
}

/// The classifier named by the settings.
///
/// # Errors
/// When its model files are missing or corrupt.
pub fn build_classifier(settings: &Settings) -> anyhow::Result<Arc<dyn Classifier>> {
    let classifier = classifiers::CitizenClassifier::load(&settings.classifiers)
        .context("Failed to load the classifier model")?;
    tracing::info!(version = classifier.version(), "Classifier loaded");
    Ok(Arc::new(classifier))
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "Failed to listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "Failed to listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
