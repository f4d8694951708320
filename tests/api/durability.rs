//! Durability with the real binary: kill -9 in the middle of a stream of
//! submissions, restart, and find every acknowledged submission exactly
//! once; two processes sharing one PostgreSQL database.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use models::ReferenceNumber;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::both_engines;
use crate::helpers::{form_body, Engine, TestDb};

/// How long a started binary may take to print its listening line.
const STARTUP_DEADLINE: Duration = Duration::from_secs(60);

/// A gateway process.
pub struct Gateway {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub address: String,
}

/// Writes a config file for a test gateway on `db`.
pub fn write_config(dir: &Path, db: &TestDb, extra: &str) -> PathBuf {
    let path = dir.join(format!("inbox-{}.toml", uuid::Uuid::now_v7().simple()));
    let text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n\n[database]\nurl = \"{}\"\n\n[connectors.webform]\nrate_limit_per_minute = 100000\nrate_limit_burst = 100000\n\n[telemetry]\nfilter = \"warn\"\n{extra}",
        db.url
    );
    std::fs::write(&path, text).expect("write the config file");
    path
}

impl Gateway {
    /// Starts `inbox serve --config FILE` and waits for its listening line.
    pub async fn start(config: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_inbox"))
            .arg("serve")
            .arg("--config")
            .arg(config)
            .env_remove("INBOX_CONFIG")
            .stdout(Stdio::piped())
            .stderr(if std::env::var_os("TEST_LOG").is_some() {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .kill_on_drop(true)
            .spawn()
            .expect("start the gateway binary");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let address = tokio::time::timeout(STARTUP_DEADLINE, async {
            while let Some(line) = lines.next_line().await.expect("read stdout") {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) {
                    if v["event"] == "listening" {
                        return v["address"].as_str().expect("address").to_owned();
                    }
                }
            }
            panic!("the gateway exited without listening");
        })
        .await
        .expect("the gateway printed its address in time");
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self {
            child,
            address: format!("http://{address}"),
        }
    }

    /// SIGKILL, no chance to clean up.
    pub async fn kill9(mut self) {
        self.child.start_kill().expect("send SIGKILL");
        let _ = self.child.wait().await;
    }
}

async fn submit(
    client: &reqwest::Client,
    address: &str,
    i: usize,
) -> Option<(ReferenceNumber, String)> {
    let body = form_body(
        &format!("citoyen{i}@example.net"),
        &format!("Demande numéro {i}"),
    );
    let response = client
        .post(format!("{address}/api/v1/forms"))
        .json(&body)
        .send()
        .await
        .ok()?;
    if response.status() != 201 {
        return None;
    }
    let json: serde_json::Value = response.json().await.ok()?;
    Some((
        ReferenceNumber::parse(json["reference"].as_str()?).ok()?,
        json["thread_id"].as_str()?.to_owned(),
    ))
}

async fn kill9_loses_nothing(engine: Engine) {
    // Arrange
    let db = TestDb::new(engine).await;
    db.store().await; // creates and migrates the database
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &db, "");
    let gateway = Gateway::start(&config).await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let accepted = Arc::new(tokio::sync::Mutex::new(Vec::new()));
    let counter = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    // Act: four clients submit in a loop; the process is killed mid-stream.
    let mut clients = Vec::new();
    for _ in 0..4 {
        let (client, address, accepted, counter) = (
            client.clone(),
            gateway.address.clone(),
            accepted.clone(),
            counter.clone(),
        );
        clients.push(tokio::spawn(async move {
            let mut failures = 0;
            while failures < 3 {
                let i = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                match submit(&client, &address, i).await {
                    Some(ok) => accepted.lock().await.push(ok),
                    None => failures += 1,
                }
            }
        }));
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while accepted.lock().await.len() < 150 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    gateway.kill9().await;
    for c in clients {
        c.await.unwrap();
    }
    let restarted = Gateway::start(&config).await;
    let after = submit(&client, &restarted.address, 1_000_000)
        .await
        .expect("the restarted gateway accepts requests");
    // Assert
    let accepted = accepted.lock().await.clone();
    assert!(
        accepted.len() >= 150,
        "only {} submissions before the kill",
        accepted.len()
    );
    let store = db.store().await;
    let mut seen = BTreeSet::new();
    for (reference, thread_id) in &accepted {
        assert!(
            seen.insert(reference.sequence()),
            "reference {reference} given twice"
        );
        let thread = store
            .find_thread_by_reference(reference)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{reference} lost"));
        assert_eq!(thread.id.to_string(), *thread_id);
        assert_eq!(
            store.list_messages(thread.id).await.unwrap().len(),
            1,
            "{reference} stored exactly once"
        );
        assert_eq!(
            store.list_outbox(thread.id).await.unwrap().len(),
            1,
            "{reference} has its acknowledgement row"
        );
    }
    let max = *seen.iter().max().unwrap();
    assert!(
        after.0.sequence() > max,
        "numbers are never reused after a crash"
    );
    restarted.kill9().await;
}
both_engines!(
    every_submission_answered_201_survives_a_kill_9_exactly_once_with_its_outbox_row,
    kill9_loses_nothing
);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_gateway_processes_on_one_postgresql_hand_out_unique_gap_free_references() {
    // Arrange
    let db = TestDb::new(Engine::Postgres).await;
    db.store().await;
    let dir = tempfile::tempdir().unwrap();
    let a = Gateway::start(&write_config(dir.path(), &db, "")).await;
    let b = Gateway::start(&write_config(dir.path(), &db, "")).await;
    let client = reqwest::Client::new();
    // Act
    let mut tasks = Vec::new();
    for i in 0..120 {
        let client = client.clone();
        let address = if i % 2 == 0 {
            a.address.clone()
        } else {
            b.address.clone()
        };
        tasks.push(tokio::spawn(async move {
            submit(&client, &address, i).await.expect("accepted")
        }));
    }
    let mut sequences = Vec::new();
    for t in tasks {
        sequences.push(t.await.unwrap().0.sequence());
    }
    // Assert
    sequences.sort_unstable();
    assert_eq!(sequences, (1..=120).collect::<Vec<u32>>());
    a.kill9().await;
    b.kill9().await;
}
