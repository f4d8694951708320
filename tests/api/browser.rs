//! The staff workspace in headless Chromium (Debian's chromium and
//! chromium-driver, installed by `tests/setup/browser.sh`): an agent signs
//! in, moves through the inbox with the keyboard, replies and transfers a
//! request; a supervisor reveals a flagged message and decides on it.
//! Screenshots of the three pages are kept under the test build's
//! temporary folder (`target/tmp/screenshots/`).
//!
//! WebDriver is spoken directly (W3C JSON over HTTP, a few endpoints), so
//! the tests need no client library.

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use chrono::Utc;
use inbox::auth::{hash_password, Role};
use inbox::store::workspace::NewUser;
use models::OutboundKind;
use serde_json::{json, Value};
use tokio::process::{Child, Command};

use crate::both_engines;
use crate::doubles::RecordingSender;
use crate::helpers::{email_message, spawn_app_with, AppOptions, Engine, TestApp};

const PASSWORD: &str = "un mot de passe assez long";
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
const DEADLINE: Duration = Duration::from_secs(20);

/// A ChromeDriver process and one browser session.
struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::Client,
}

fn required(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run `eval \"$(tests/setup/browser.sh)\"` first, or ./tests/run-all.sh (these tests never skip)")
    })
}

impl Browser {
    async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(required("INBOX_TEST_CHROMEDRIVER"))
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start chromedriver");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let started = Instant::now();
        loop {
            let ready = http.get(format!("{base}/status")).send().await.ok();
            if let Some(resp) = ready {
                let v: Value = resp.json().await.unwrap_or(Value::Null);
                if v["value"]["ready"] == true {
                    break;
                }
            }
            assert!(started.elapsed() < DEADLINE, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": required("INBOX_TEST_CHROMIUM"),
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1366,900", "--lang=fr-CA"]
            }
        }}});
        let created: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {created}"))
            .to_owned();
        Self {
            driver,
            base,
            session,
            http,
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let value = self.try_call(method, path, body).await;
        assert!(value.get("error").is_none(), "WebDriver {path}: {value}");
        value
    }

    /// The WebDriver answer's `value`, an error object included.
    async fn try_call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut req = self.http.request(method, url);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let v: Value = req.send().await.unwrap().json().await.unwrap();
        v["value"].clone()
    }

    /// Calls `what` (`/text`, `/click`) on the element matching `css`.
    /// When the page replaces the element between finding and using it (a
    /// form's redirect, a script's update), WebDriver did nothing with it,
    /// so it is found again and the call repeated, until the deadline.
    async fn on_element(
        &self,
        css: &str,
        method: reqwest::Method,
        what: &str,
        body: Option<Value>,
    ) -> Value {
        let started = Instant::now();
        loop {
            let id = self.find(css).await;
            let path = format!("/element/{id}{what}");
            let value = self.try_call(method.clone(), &path, body.clone()).await;
            let stale = value["error"] == "stale element reference";
            if !stale || started.elapsed() > DEADLINE {
                assert!(
                    value.get("error").is_none(),
                    "WebDriver {what} on {css}: {value}"
                );
                return value;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    async fn url(&self) -> String {
        self.call(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn source(&self) -> String {
        self.call(reqwest::Method::GET, "/source", None)
            .await
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The element matching `css`, waiting for it to appear.
    async fn find(&self, css: &str) -> String {
        let started = Instant::now();
        loop {
            let url = format!("{}/session/{}/element", self.base, self.session);
            let v: Value = self
                .http
                .post(url)
                .json(&json!({"using": "css selector", "value": css}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if let Some(id) = v["value"][ELEMENT].as_str() {
                return id.to_owned();
            }
            if started.elapsed() > DEADLINE {
                let url = self.url().await;
                let source = self.source().await;
                panic!(
                    "no element {css} on {url}: {v} {}",
                    &source[..source.len().min(300)]
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn click(&self, css: &str) {
        self.on_element(css, reqwest::Method::POST, "/click", Some(json!({})))
            .await;
    }

    async fn type_into(&self, css: &str, text: &str) {
        let body = json!({ "text": text });
        self.on_element(css, reqwest::Method::POST, "/value", Some(body))
            .await;
    }

    async fn text(&self, css: &str) -> String {
        let value = self.on_element(css, reqwest::Method::GET, "/text", None);
        value.await.as_str().unwrap_or_default().to_owned()
    }

    async fn attribute(&self, css: &str, name: &str) -> String {
        let what = format!("/attribute/{name}");
        let value = self.on_element(css, reqwest::Method::GET, &what, None);
        value.await.as_str().unwrap_or_default().to_owned()
    }

    /// Presses keys one after the other, as a person would.
    async fn keys(&self, keys: &[&str]) {
        let actions: Vec<Value> = keys
            .iter()
            .flat_map(|k| {
                [
                    json!({"type": "keyDown", "value": k}),
                    json!({"type": "keyUp", "value": k}),
                ]
            })
            .collect();
        self.call(
            reqwest::Method::POST,
            "/actions",
            Some(json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]})),
        )
        .await;
    }

    async fn screenshot(&self, name: &str) {
        let data = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().unwrap())
            .unwrap();
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    async fn sign_in(&self, address: &str, email: &str) {
        self.goto(&format!("{address}/agent")).await;
        self.type_into("#email", email).await;
        self.type_into("#password", PASSWORD).await;
        self.click("#sign-in").await;
        self.find("form[action='/agent/logout']").await;
    }

    /// Clicks « Se déconnecter » and waits for the sign-in page. A navigation
    /// started before the logout's answer lands can abort the logout and
    /// leave the session open, so the next sign-in would find the inbox.
    async fn sign_out(&self) {
        self.click("form[action='/agent/logout'] button").await;
        self.find("#sign-in").await;
        let url = self.url().await;
        assert!(url.contains("/agent/login"), "signed out onto {url}");
    }

    async fn close(mut self) {
        let _ = self
            .http
            .delete(format!("{}/session/{}", self.base, self.session))
            .send()
            .await;
        let _ = self.driver.kill().await;
    }
}

async fn staff(app: &TestApp, email: &str, role: Role) {
    app.store
        .create_user(&NewUser {
            id: uuid::Uuid::now_v7().to_string(),
            email: email.to_owned(),
            display_name: None,
            role,
            password_hash: hash_password(PASSWORD).unwrap(),
            at: Utc::now(),
        })
        .await
        .unwrap();
}

async fn triage_in_the_browser(engine: Engine) {
    // Arrange: two requests, the second abusive and classified.
    let sender = Arc::new(RecordingSender::email());
    let app = spawn_app_with(
        engine,
        AppOptions {
            connectors: vec![sender.clone()],
            ..AppOptions::default()
        },
    )
    .await;
    staff(&app, "agente@saintejulie.ca", Role::Agent).await;
    staff(&app, "superviseur@saintejulie.ca", Role::Supervisor).await;
    let mut first = email_message(
        "rejean@example.net",
        "Boîte de service qui fuit",
        "Bonjour, la boîte de service devant le 12 rue des Pruches fuit depuis hier.",
        "bs-1@poste.example.net",
    );
    first.received_at = Utc::now() - chrono::Duration::minutes(30);
    let first = app.ingest(&first).await;
    app.ingest(&email_message(
        "fache@example.net",
        "Encore vous",
        "Espèce de crétin incompétent, t'es juste un osti de cave, je vais aller te régler ton cas.",
        "ab-1@poste.example.net",
    ))
    .await;
    app.run_classifier().await;
    app.run_pending_jobs().await;
    let before = sender.sent().len();
    let reference = first.reference.unwrap().to_string();
    let browser = Browser::start().await;

    // Act: the agent signs in, opens the oldest request with the keyboard,
    // replies, and transfers it from Public Works (where the classifier put
    // it) to Urban Planning.
    browser.sign_in(&app.address, "agente@saintejulie.ca").await;
    let inbox = browser.source().await;
    assert!(inbox.contains(&reference));
    assert!(
        !inbox.contains("osti de cave"),
        "a flagged message's words stay out of the inbox preview"
    );
    browser
        .screenshot(&format!("{engine:?}-inbox").to_lowercase())
        .await;
    browser.keys(&["j", "\u{E007}"]).await;
    browser.find("#reply-body").await;
    assert!(browser.url().await.contains(&first.thread_id.to_string()));
    browser
        .type_into("#reply-body", "Bonjour, une équipe passera cette semaine.")
        .await;
    browser.click("#send-reply").await;
    browser.find("#reply-body").await;
    browser
        .click("#transfer-department option[value='urbanisme']")
        .await;
    browser.click("#do-transfer").await;
    let department = {
        let started = Instant::now();
        loop {
            let text = browser.attribute("#department", "data-slug").await;
            if text == "urbanisme" || started.elapsed() > DEADLINE {
                break text;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let status = browser.text("#status").await;
    browser
        .screenshot(&format!("{engine:?}-thread").to_lowercase())
        .await;
    browser.sign_out().await;

    // The supervisor reveals the flagged message and confirms it.
    browser
        .sign_in(&app.address, "superviseur@saintejulie.ca")
        .await;
    browser.goto(&format!("{}/agent/review", app.address)).await;
    let blurred = browser.attribute(".review-item .abusive", "class").await;
    browser.click(".review-item button.reveal").await;
    let revealed = browser.attribute(".review-item .abusive", "class").await;
    browser
        .screenshot(&format!("{engine:?}-review").to_lowercase())
        .await;
    browser
        .click(".review-item select[name='kind'] option[value='threat']")
        .await;
    browser.click(".review-item button.confirm").await;
    let after = {
        let started = Instant::now();
        loop {
            let source = browser.source().await;
            if !source.contains("review-item") || started.elapsed() > DEADLINE {
                break source;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    browser.close().await;
    app.run_pending_jobs().await;

    // Assert
    assert_eq!(department, "urbanisme");
    assert_eq!(status, "En attente du service");
    let sent = sender.sent();
    let new: Vec<_> = sent[before..].iter().map(|m| m.kind).collect();
    assert!(new.contains(&OutboundKind::AgentReply), "{new:?}");
    assert!(new.contains(&OutboundKind::TransferNotice), "{new:?}");
    assert!(blurred.contains("blurred"));
    assert!(!revealed.contains("blurred"));
    assert!(after.contains("Aucun message à réviser."));
    let labels = app.store.labelled_examples().await.unwrap();
    assert_eq!(labels.len(), 1);
    assert_eq!(labels[0].kind.as_deref(), Some("threat"));
}
both_engines!(
    an_agent_triages_and_a_supervisor_decides_in_chromium,
    triage_in_the_browser
);

async fn record_at_the_desk_in_the_browser(engine: Engine) {
    // Arrange: a gateway on the real mail servers, and an agent.
    let (app, mailbox) = crate::email::gateway(engine, "INBOX", |_| {}).await;
    let (env, clientele) = (mailbox.env, mailbox.address);
    staff(&app, "agente@saintejulie.ca", Role::Agent).await;
    let citizen = crate::mail::fresh_address("citoyen", "example.test");
    let browser = Browser::start().await;
    browser.sign_in(&app.address, "agente@saintejulie.ca").await;

    // Act 1: a phone call answered on the spot, all by keyboard.
    browser.goto(&format!("{}/agent/record", app.address)).await;
    browser.type_into("#citizen-search", "450 922-7111").await;
    browser.keys(&["\u{E007}"]).await;
    browser
        .type_into("#record-text", "À quelle heure ouvre l'écocentre samedi?")
        .await;
    browser.click("#outcome-resolved").await;
    // Ctrl+Enter submits.
    browser
        .call(
            reqwest::Method::POST,
            "/actions",
            Some(json!({"actions": [{"type": "key", "id": "keyboard", "actions": [
                {"type": "keyDown", "value": "\u{E009}"}, {"type": "keyDown", "value": "\u{E007}"},
                {"type": "keyUp", "value": "\u{E007}"}, {"type": "keyUp", "value": "\u{E009}"}
            ]}]})),
        )
        .await;
    let resolved = wait_text(&browser, "#record-result-title", "premier contact").await;

    // Act 2: a counter visit that opens a request with an email address.
    browser
        .type_into("#citizen-search", "Réjean Bouchard")
        .await;
    browser.keys(&["\u{E007}"]).await;
    browser.click("#channel-counter").await;
    browser.type_into("#citizen-email", &citizen).await;
    browser
        .type_into(
            "#record-text",
            "Lampadaire éteint devant le 12 rue des Pruches.",
        )
        .await;
    browser.click("#outcome-request").await;
    browser.click("#record-submit").await;
    let reference = wait_text(&browser, "#record-reference", "SJ-").await;
    browser
        .screenshot(&format!("{engine:?}-record").to_lowercase())
        .await;
    browser.close().await;
    app.run_pending_jobs().await;
    crate::mail::wait_for_messages(&env, &citizen, "INBOX", 1).await;
    let received = crate::mail::read_all(&env, &citizen).await;
    // The citizen answers, quoting the reference.
    let reply = crate::mail::citizen_email(
        &citizen,
        &clientele,
        &format!("Re: [{reference}] Lampadaire"),
        "Toujours éteint ce soir.",
        "",
    );
    crate::mail::smtp_send(&env, &citizen, &clientele, &reply).await;
    crate::mail::wait_for_messages(&env, &clientele, "INBOX", 1).await;
    let pass = app.poll_mailbox().await;
    let thread = app
        .store
        .find_thread_by_reference(&models::ReferenceNumber::parse(&reference).unwrap())
        .await
        .unwrap()
        .unwrap();

    // Assert
    assert!(
        resolved.contains("Réglé au premier contact")
            || resolved.contains("réglé au premier contact"),
        "{resolved}"
    );
    assert!(reference.starts_with("SJ-"), "{reference}");
    assert_eq!(
        received.len(),
        1,
        "one acknowledgement in the citizen's mailbox"
    );
    assert!(String::from_utf8_lossy(&received[0]).contains(&reference));
    assert_eq!(
        (pass.stored, pass.acknowledged),
        (1, 0),
        "the reply joins, unacknowledged"
    );
    let messages = app.store.list_messages(thread.id).await.unwrap();
    assert_eq!(
        messages
            .iter()
            .filter(|m| m.direction == inbox::store::Direction::Inbound)
            .count(),
        2,
        "the visit and the citizen's email in one thread"
    );
    let weeks = app
        .store
        .contact_log_since(Utc::now() - chrono::Duration::days(1))
        .await
        .unwrap();
    assert_eq!(weeks.len(), 2);
    assert_eq!(weeks.iter().filter(|(_, _, resolved)| *resolved).count(), 1);
}
both_engines!(
    an_agent_records_a_call_and_a_counter_visit_in_chromium_and_the_citizen_gets_the_reference_by_email,
    record_at_the_desk_in_the_browser
);

/// The text of `css` once it contains `needle` (the page updates it after a fetch).
async fn wait_text(browser: &Browser, css: &str, needle: &str) -> String {
    let started = Instant::now();
    loop {
        let text = browser.text(css).await;
        if text.contains(needle) || started.elapsed() > DEADLINE {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
