//! The test harness: fresh databases on both engines, the real application
//! on a free port, and one helper per endpoint.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use inbox::clock::{Clock, FixedClock};
use inbox::config::Settings;
use inbox::outbox::StepOutcome;
use inbox::startup::{Application, Overrides};
use inbox::store::{ConnectOptions, Store};
use secrecy::SecretString;

/// The local PostgreSQL server of the development and CI machines.
pub const DEFAULT_TEST_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Which engine a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// A SQLite file in a fresh temporary folder.
    Sqlite,
    /// A freshly created PostgreSQL database, dropped afterwards.
    Postgres,
}

/// Runs an async test body once per engine, as two tests.
#[macro_export]
macro_rules! both_engines {
    ($name:ident, $body:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_sqlite() {
                super::$body($crate::helpers::Engine::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_postgres() {
                super::$body($crate::helpers::Engine::Postgres).await;
            }
        }
    };
}

/// A database that exists for one test.
pub struct TestDb {
    /// Its URL.
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg_name: Option<String>,
}

fn server_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_TEST_DATABASE_URL.to_owned())
}

fn with_database(url: &str, name: &str) -> String {
    let base = url.rsplit_once('/').map_or(url, |(b, _)| b);
    format!("{base}/{name}")
}

impl TestDb {
    /// A fresh, empty database on `engine`. PostgreSQL must be reachable:
    /// the test fails with a clear message rather than skipping.
    pub async fn new(engine: Engine) -> Self {
        match engine {
            Engine::Sqlite => {
                let dir = tempfile::tempdir().expect("create a temporary folder");
                let url = format!("sqlite://{}", dir.path().join("inbox.db").display());
                Self {
                    url,
                    _dir: Some(dir),
                    pg_name: None,
                }
            }
            Engine::Postgres => {
                use sqlx::Connection;
                let server = server_url();
                let name = format!("inbox_test_{}", uuid::Uuid::now_v7().simple());
                let mut admin = sqlx::PgConnection::connect(&server).await.unwrap_or_else(|e| {
                    panic!(
                        "PostgreSQL is not reachable at {server} ({e}). Start it, or set TEST_DATABASE_URL to a server where databases can be created."
                    )
                });
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .await
                    .expect("create the test database");
                Self {
                    url: with_database(&server, &name),
                    _dir: None,
                    pg_name: Some(name),
                }
            }
        }
    }

    /// Opens the store (creating the SQLite file) and migrates it.
    pub async fn store(&self) -> Arc<dyn Store> {
        self.store_with(ConnectOptions::default()).await
    }

    /// [`TestDb::store`] with other connection options.
    pub async fn store_with(&self, options: ConnectOptions) -> Arc<dyn Store> {
        let options = ConnectOptions {
            create_if_missing: true,
            ..options
        };
        let store = inbox::store::connect(&SecretString::from(self.url.clone()), &options)
            .await
            .expect("open the test store");
        store.migrate().await.expect("migrate the test store");
        store
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else {
            return;
        };
        let server = server_url();
        // Drop runs outside async; a short-lived runtime on its own thread
        // removes the database even when the test panicked.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                use sqlx::Connection;
                if let Ok(mut admin) = sqlx::PgConnection::connect(&server).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut admin)
                        .await;
                }
            });
        })
        .join();
    }
}

/// Settings for an isolated test gateway on `db`: port 0, no background
/// workers (tests drive them), generous rate limits.
pub fn test_settings(db: &TestDb) -> Settings {
    let mut settings = Settings::default();
    settings.server.listen = "127.0.0.1:0".into();
    settings.database.url = SecretString::from(db.url.clone());
    settings.workers.enabled = false;
    settings.connectors.webform.rate_limit_per_minute = 10_000;
    settings.connectors.webform.rate_limit_burst = 10_000;
    settings
}

/// A running gateway and what tests need to reach into it.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub address: String,
    /// Its store.
    pub store: Arc<dyn Store>,
    /// An HTTP client.
    pub client: reqwest::Client,
    /// The application's clock, when fixed.
    pub clock: Option<Arc<FixedClock>>,
    outbox: inbox::outbox::OutboxWorker,
    classify: inbox::ingest::classify::ClassifyWorker,
    /// The ingest pipeline, for channels tested without their transport.
    pub ingestor: inbox::ingest::Ingestor,
    webhooks: Option<inbox::ingest::webhooks::WebhookWorker>,
    /// The mailbox readers, when the email channel is configured.
    pub mailboxes: Vec<inbox::ingest::email::MailboxWorker>,
    server: tokio::task::JoinHandle<()>,
    sign_in: Arc<inbox::http::sign_in::SignInGuard>,
    /// Keeps the database alive as long as the app.
    pub db: Arc<TestDb>,
}

/// A change to the settings before the application is built.
pub type Configure = Box<dyn FnOnce(&mut Settings) + Send>;

/// Options for [`spawn_app_with`].
#[derive(Default)]
pub struct AppOptions {
    /// Fix the clock at this instant.
    pub now: Option<DateTime<Utc>>,
    /// Test senders.
    pub connectors: Vec<Arc<dyn connectors::Connector>>,
    /// Change settings before building.
    pub configure: Option<Configure>,
    /// Reuse this database (a restart).
    pub db: Option<Arc<TestDb>>,
}

/// Starts the real application on `engine` with default test settings.
pub async fn spawn_app(engine: Engine) -> TestApp {
    spawn_app_with(engine, AppOptions::default()).await
}

/// Starts the real application with options.
pub async fn spawn_app_with(engine: Engine, options: AppOptions) -> TestApp {
    inbox::telemetry::init_for_tests();
    let db = match options.db {
        Some(db) => db,
        None => Arc::new(TestDb::new(engine).await),
    };
    let mut settings = test_settings(&db);
    if let Some(configure) = options.configure {
        configure(&mut settings);
    }
    let clock = options.now.map(|now| Arc::new(FixedClock::new(now)));
    let overrides = Overrides {
        clock: clock.clone().map(|c| c as Arc<dyn Clock>),
        connectors: options.connectors,
        classifier: None,
    };
    // Migrate (and create the SQLite file) before the app opens it.
    let store = db.store().await;
    let app = Application::build_with(settings, overrides)
        .await
        .expect("build the application");
    let address = format!("http://127.0.0.1:{}", app.port());
    let outbox = app.outbox_worker();
    let classify = app.classify_worker();
    let ingestor = app.state().ingestor.clone();
    let webhooks = app.webhook_worker();
    let mailboxes = app.mailbox_workers();
    let sign_in = Arc::clone(&app.state().sign_in);
    let server = tokio::spawn(async move {
        let _ = app.run_until_stopped(std::future::pending()).await;
    });
    TestApp {
        address,
        store,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client"),
        clock,
        outbox,
        classify,
        ingestor,
        webhooks,
        mailboxes,
        server,
        sign_in,
        db,
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl TestApp {
    /// `POST /api/v1/forms` with a JSON body.
    pub async fn post_form_json(&self, body: &serde_json::Value) -> reqwest::Response {
        self.client
            .post(format!("{}/api/v1/forms", self.address))
            .json(body)
            .send()
            .await
            .expect("send the form")
    }

    /// `POST /api/v1/forms` with raw bytes and a content type.
    pub async fn post_form_raw(
        &self,
        content_type: &str,
        body: Vec<u8>,
        idempotency_key: Option<&str>,
    ) -> reqwest::Response {
        let mut req = self
            .client
            .post(format!("{}/api/v1/forms", self.address))
            .header("content-type", content_type)
            .body(body);
        if let Some(key) = idempotency_key {
            req = req.header("idempotency-key", key);
        }
        req.send().await.expect("send the form")
    }

    /// `GET /contact`.
    pub async fn get_contact(&self, query: &str) -> reqwest::Response {
        self.client
            .get(format!("{}/contact{query}", self.address))
            .send()
            .await
            .expect("get the form")
    }

    /// `POST /contact` with form fields.
    pub async fn post_contact(&self, fields: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(format!("{}/contact", self.address))
            .form(fields)
            .send()
            .await
            .expect("post the form")
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("get")
    }

    /// Runs the outbox worker until nothing is due; returns every outcome.
    pub async fn run_pending_jobs(&self) -> Vec<StepOutcome> {
        let mut outcomes = Vec::new();
        for _ in 0..1000 {
            let outcome = self.outbox.step().await.expect("outbox step");
            let done = outcome == StepOutcome::QueueEmpty;
            outcomes.push(outcome);
            if done {
                return outcomes;
            }
        }
        panic!("outbox never drained: {outcomes:?}");
    }

    /// Runs the classifier until nothing is queued.
    pub async fn run_classifier(&self) -> usize {
        let mut total = 0;
        loop {
            match self.classify.step().await.expect("classify step") {
                inbox::ingest::classify::ClassifyOutcome::Completed(n) => total += n,
                inbox::ingest::classify::ClassifyOutcome::QueueEmpty => return total,
            }
        }
    }

    /// Takes in a normalised message without idempotency key.
    pub async fn ingest(&self, message: &models::InboundMessage) -> inbox::ingest::IngestOutcome {
        match self
            .ingestor
            .ingest(message, None, &|_| (0, String::new()))
            .await
            .expect("ingest")
        {
            inbox::ingest::Ingested::Stored(outcome) => outcome,
            other => panic!("unexpected {other:?}"),
        }
    }

    /// Processes every stored webhook body; returns how many.
    pub async fn run_webhooks(&self) -> usize {
        let worker = self
            .webhooks
            .as_ref()
            .expect("a webhook channel is configured");
        let mut total = 0;
        loop {
            match worker.step().await.expect("webhook step") {
                inbox::ingest::webhooks::WebhookOutcome::Completed(n) => total += n,
                inbox::ingest::webhooks::WebhookOutcome::QueueEmpty => return total,
            }
        }
    }

    /// One pass over the (first) configured mailbox.
    pub async fn poll_mailbox(&self) -> inbox::ingest::email::MailboxPass {
        self.mailboxes
            .first()
            .expect("an email mailbox is configured")
            .poll_once()
            .await
            .expect("the mailbox pass succeeds")
            .expect("no other process holds the mailbox")
    }

    /// The outbox worker, for tests that drive it step by step.
    pub fn outbox(&self) -> &inbox::outbox::OutboxWorker {
        &self.outbox
    }

    /// Moves the fixed clock.
    pub fn set_now(&self, now: DateTime<Utc>) {
        self.clock
            .as_ref()
            .expect("this app has a fixed clock")
            .set(now);
    }
}

impl TestApp {
    /// Password hashes the staff sign-in has computed: in all, and against
    /// an account's own hash.
    pub fn sign_in_checks(&self) -> (u64, u64) {
        (
            self.sign_in.password_checks(),
            self.sign_in.account_checks(),
        )
    }
}

/// Signs in on the staff workspace as a browser does: the sign-in page
/// first (its CSRF token and cookie), then the form.
pub async fn sign_in(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    let page = app
        .client
        .get(format!("{}/agent/login", app.address))
        .send()
        .await
        .unwrap();
    let cookie = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("inbox_login="))
        .expect("the sign-in page sets its token cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let html = page.text().await.unwrap();
    let at = html
        .find("name=\"login_csrf\" value=\"")
        .expect("a sign-in token field")
        + 25;
    let token = html[at..at + 64].to_owned();
    app.client
        .post(format!("{}/agent/login", app.address))
        .header("cookie", cookie)
        .form(&[
            ("email", email),
            ("password", password),
            ("login_csrf", &token),
        ])
        .send()
        .await
        .unwrap()
}

/// The session cookie a successful sign-in set.
pub fn session_cookie(response: &reqwest::Response) -> String {
    let set = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("inbox_session="))
        .expect("a session cookie")
        .to_owned();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax"),
        "{set}"
    );
    set.split(';').next().unwrap().to_owned()
}

/// A staff page with a session cookie: its status and HTML.
pub async fn staff_page(app: &TestApp, cookie: &str, path: &str) -> (reqwest::StatusCode, String) {
    let resp = app
        .client
        .get(format!("{}{path}", app.address))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    (resp.status(), resp.text().await.unwrap())
}

/// The CSRF token of a staff page's forms.
pub fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    html[at..at + 64].to_owned()
}

/// A valid JSON form body.
pub fn form_body(email: &str, message: &str) -> serde_json::Value {
    serde_json::json!({
        "name": "Réjean Bouchard",
        "email": email,
        "phone": "450 555-0199",
        "subject": "Collecte non effectuée",
        "message": message,
    })
}

/// A normalised email, as the email connector would produce it.
pub fn email_message(
    from: &str,
    subject: &str,
    body: &str,
    message_id: &str,
) -> models::InboundMessage {
    let prefix = models::ReferencePrefix::parse("SJ").unwrap();
    let mut references = models::ReferenceNumber::find_all(subject, &prefix);
    references.extend(models::ReferenceNumber::find_all(body, &prefix));
    models::InboundMessage {
        channel: models::Channel::Email,
        external_id: models::ExternalMessageId::parse(message_id).unwrap(),
        sender: models::ChannelIdentity::Email {
            address: models::EmailAddress::parse(from).unwrap(),
        },
        sender_name: Some("Citoyen".into()),
        sender_phone: None,
        received_at: Utc::now(),
        subject: Some(subject.into()),
        body_text: body.into(),
        new_text: body.into(),
        body_html: None,
        language: models::Language::detect(body),
        kind: models::MessageKind::Citizen,
        hints: models::ThreadHints {
            references,
            rfc_message_id: Some(models::RfcMessageId::parse(message_id).unwrap()),
            in_reply_to: Vec::new(),
        },
        attachments: Vec::new(),
    }
}
