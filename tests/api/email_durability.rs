//! The email channel with the real binary: kill -9 while it reads a full
//! mailbox (some messages are committed but not yet flagged `\Seen` when it
//! dies), restart, and find every message once and every acknowledgement
//! once; on PostgreSQL, a second process takes the mailbox over when the
//! one reading it dies.

use std::sync::Arc;
use std::time::Duration;

use models::OutboxState;

use crate::both_engines;
use crate::durability::{write_config, Gateway};
use crate::email::eventually;
use crate::helpers::{Engine, TestDb};
use crate::mail::{
    append_all, citizen_email, fresh_address, mail_env, read_all, seen_count, MailEnv,
};

/// How long a test gateway may take to read and answer its mailbox.
const DEADLINE: Duration = Duration::from_secs(120);

/// `[connectors.email]` for a gateway reading `clientele` over plain IMAP.
fn email_toml(env: &MailEnv, clientele: &str) -> String {
    format!(
        r#"
[office]
message_id_domain = "saintejulie.test"

[workers]
mailbox_lock_secs = 4
outbox_poll_interval_ms = 50

[connectors.email]
from_address = "{clientele}"
from_name = "Ville de Sainte-Julie"

[connectors.email.smtp]
host = "127.0.0.1"
port = {smtp}
security = "plain"

[[connectors.email.mailboxes]]
name = "clientele"
imap_host = "127.0.0.1"
imap_port = {imap}
imap_security = "plain"
username = "{clientele}"
password = "{password}"
fetch_batch_messages = 5
poll_interval_secs = 1
"#,
        smtp = env.smtp_port,
        imap = env.imap_port,
        password = env.password,
    )
}

/// One request from each of `count` new citizens; returns them with their addresses.
fn requests(clientele: &str, count: usize) -> (Vec<String>, Vec<Vec<u8>>) {
    (0..count)
        .map(|i| {
            let citizen = fresh_address(&format!("citoyen{i}"), "example.test");
            let raw = citizen_email(&citizen, clientele, &format!("Demande {i}"), "Bonjour", "");
            (citizen, raw)
        })
        .unzip()
}

async fn position(store: &Arc<dyn inbox::store::Store>) -> u32 {
    store
        .mailbox_position("clientele")
        .await
        .unwrap()
        .map_or(0, |p| p.last_uid)
}

async fn count_in_state(store: &Arc<dyn inbox::store::Store>, state: OutboxState) -> u64 {
    store
        .count_outbox_by_state()
        .await
        .unwrap()
        .into_iter()
        .find(|(s, _)| *s == state)
        .map_or(0, |(_, n)| n)
}

async fn kill9_while_reading_mail_loses_and_repeats_nothing(engine: Engine) {
    // Arrange: forty requests waiting in the mailbox.
    const COUNT: usize = 40;
    let env = mail_env();
    let clientele = fresh_address("clientele", "saintejulie.test");
    let (citizens, messages) = requests(&clientele, COUNT);
    append_all(&env, &clientele, "INBOX", &messages).await;
    let db = TestDb::new(engine).await;
    let store = db.store().await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &db, &email_toml(&env, &clientele));
    let (store, env, clientele) = (&store, &env, &clientele);

    // Act: kill the gateway while it reads, then let a new one finish.
    let gateway = Gateway::start(&config).await;
    eventually(DEADLINE, "some messages committed", || async move {
        position(store).await >= 8
    })
    .await;
    gateway.kill9().await;
    let at_kill = position(store).await;
    let gateway = Gateway::start(&config).await;
    eventually(DEADLINE, "every message committed", || async move {
        position(store).await as usize == COUNT
    })
    .await;
    eventually(DEADLINE, "every acknowledgement sent", || async move {
        // Rows the killed process was sending stay `sending` until their
        // lease ends, then `unconfirmed`: never sent again automatically.
        count_in_state(store, OutboxState::Pending).await == 0
            && (count_in_state(store, OutboxState::Sent).await
                + count_in_state(store, OutboxState::Sending).await
                + count_in_state(store, OutboxState::Unconfirmed).await) as usize
                == COUNT
    })
    .await;
    eventually(DEADLINE, "every message flagged", || async move {
        seen_count(env, clientele, "INBOX").await == (COUNT, COUNT)
    })
    .await;
    gateway.kill9().await;

    // Assert: one acknowledgement row per message, and no citizen got two.
    assert!(
        at_kill < COUNT as u32,
        "the kill came mid-stream ({at_kill})"
    );
    let rows: u64 = store
        .count_outbox_by_state()
        .await
        .unwrap()
        .iter()
        .map(|(_, n)| n)
        .sum();
    assert_eq!(rows as usize, COUNT);
    let mut delivered = 0;
    for citizen in &citizens {
        let received = read_all(env, citizen).await.len();
        assert!(received <= 1, "{citizen} got {received} acknowledgements");
        delivered += received;
    }
    let sent = count_in_state(store, OutboxState::Sent).await as usize;
    let unconfirmed = count_in_state(store, OutboxState::Sending).await as usize
        + count_in_state(store, OutboxState::Unconfirmed).await as usize;
    assert!(
        delivered >= sent && delivered <= sent + unconfirmed,
        "delivered {delivered}, sent {sent}, unconfirmed {unconfirmed}"
    );
}
both_engines!(
    kill9_while_reading_mail_loses_and_repeats_nothing,
    kill9_while_reading_mail_loses_and_repeats_nothing
);

#[tokio::test]
async fn postgres_a_second_process_takes_the_mailbox_over_when_the_first_dies() {
    // Arrange: process A reads the mailbox; B starts and waits for the lock.
    let env = mail_env();
    let clientele = fresh_address("clientele", "saintejulie.test");
    let db = TestDb::new(Engine::Postgres).await;
    let store = db.store().await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &db, &email_toml(&env, &clientele));
    let (store, env, clientele) = (&store, &env, &clientele);
    let (_, first) = requests(clientele, 5);
    append_all(env, clientele, "INBOX", &first).await;
    let a = Gateway::start(&config).await;
    eventually(DEADLINE, "A reads the first messages", || async move {
        position(store).await == 5
    })
    .await;
    let b = Gateway::start(&config).await;

    // Act: A dies; more mail arrives.
    a.kill9().await;
    let (_, second) = requests(clientele, 5);
    append_all(env, clientele, "INBOX", &second).await;

    // Assert: B reads it, once.
    eventually(
        DEADLINE,
        "B takes over and reads the new messages",
        || async move { position(store).await == 10 },
    )
    .await;
    let rows: u64 = store
        .count_outbox_by_state()
        .await
        .unwrap()
        .iter()
        .map(|(_, n)| n)
        .sum();
    assert_eq!(rows, 10);
    b.kill9().await;
}
