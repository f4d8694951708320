//! Email intake benchmark (not a timed test: it measures and prints, it
//! never fails on a figure).
//!
//! Run, with the test mail servers started:
//!
//! ```sh
//! eval "$(tests/setup/mail-servers.sh)"
//! cargo bench --bench email_intake
//! ```
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `EMAIL_BENCH_MESSAGES` | `10000` | messages pre-filled in the mailbox |
//! | `EMAIL_BENCH_ENGINES` | `sqlite,postgres` | engines to run |
//! | `EMAIL_BENCH_BATCH` | `100` | `fetch_batch_messages` of the mailbox |
//! | `EMAIL_BENCH_REPORT` | `1` | `0` leaves BENCHMARKS.md alone |
//! | `TEST_DATABASE_URL` | the tests' server | PostgreSQL server where a database is created and dropped |
//!
//! Three measurements in one run, so their ratios hold on a noisy machine:
//!
//! 1. parse: `parse_email` (MIME, charsets, HTML to text, new-text
//!    extraction, automatic-mail detection) over the same messages on one
//!    thread, the CPU cost of reading mail;
//! 2. fetch: the IMAP client alone downloading the whole folder in batches,
//!    the ceiling Dovecot and the network allow;
//! 3. end to end: for each engine, a mailbox pre-filled with N distinct
//!    citizen requests (IMAP APPEND, untimed), then the real `Application`
//!    with its workers, as `inbox serve` runs it: the clock runs from start
//!    until every message is committed (the stored mailbox position reaches
//!    the last UID) and until every acknowledgement was accepted by Postfix
//!    (outbox rows `sent`). Postfix then delivers the acknowledgements into
//!    Dovecot on the same two cores while the gateway works.

#[path = "support/mod.rs"]
mod support;

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use connectors::email::{
    parse_email, AfterProcessingSetting, EmailSettings, ImapAuthMethod, Mailbox, MailboxSettings,
    ParseContext, SmtpSettings, TransportSecurity,
};
use inbox::config::{Settings, TelemetrySettings};
use inbox::startup::Application;
use inbox::store::Store;
use models::{EmailAddress, OutboxState, ReferencePrefix};
use secrecy::SecretString;
use support::{env_or, write_report, BenchDb};

const SECTION_HEADING: &str = "## Email intake";
/// Longest wait for one engine's run.
const RUN_DEADLINE: Duration = Duration::from_secs(900);
/// Concurrent IMAP sessions filling the mailbox.
const FILL_SESSIONS: usize = 4;

struct MailEnv {
    imap_port: u16,
    smtp_port: u16,
    password: String,
}

fn mail_env() -> anyhow::Result<MailEnv> {
    let read = |name: &str| {
        std::env::var(name).with_context(|| {
            format!("{name} is not set: run `eval \"$(tests/setup/mail-servers.sh)\"` first")
        })
    };
    Ok(MailEnv {
        imap_port: read("INBOX_TEST_IMAP_PORT")?.parse()?,
        smtp_port: read("INBOX_TEST_SMTP_PORT")?.parse()?,
        password: read("INBOX_TEST_MAIL_PASSWORD")?,
    })
}

fn mailbox_settings(env: &MailEnv, user: &str, batch: u32) -> MailboxSettings {
    MailboxSettings {
        name: "clientele".to_owned(),
        imap_host: "127.0.0.1".to_owned(),
        imap_port: Some(env.imap_port),
        imap_security: TransportSecurity::Plain,
        tls_ca_file: None,
        username: user.to_owned(),
        password: Some(SecretString::from(env.password.clone())),
        auth: ImapAuthMethod::Login,
        access_token: None,
        folder: "INBOX".to_owned(),
        after_processing: AfterProcessingSetting::Seen,
        move_to_folder: None,
        idle_enabled: true,
        idle_timeout_secs: 600,
        poll_interval_secs: 1,
        connect_timeout_secs: 10,
        command_timeout_secs: 60,
        fetch_timeout_secs: 300,
        fetch_batch_messages: batch,
    }
}

fn email_settings(env: &MailEnv, clientele: &str, batch: u32) -> anyhow::Result<EmailSettings> {
    Ok(EmailSettings {
        mailboxes: vec![mailbox_settings(env, clientele, batch)],
        smtp: SmtpSettings {
            host: "127.0.0.1".to_owned(),
            port: Some(env.smtp_port),
            security: TransportSecurity::Plain,
            tls_ca_file: None,
            username: None,
            password: None,
            timeout_secs: 30,
            hello_name: Some("gateway.saintejulie.test".to_owned()),
        },
        from_address: EmailAddress::parse(clientele)?,
        from_name: Some("Ville de Sainte-Julie".to_owned()),
        reply_to: None,
        own_addresses: vec![],
        max_attachment_bytes: 15 * 1024 * 1024,
        max_acks_per_sender_per_day: 3,
    })
}

/// N distinct requests from N citizens, varied in size and charset.
fn corpus(run: &str, clientele: &str, count: usize) -> Vec<Vec<u8>> {
    (0..count)
        .map(|i| {
            let citizen = format!("c{i}-{run}@example.test");
            let body = match i % 4 {
                0 => "Bonjour,\r\n\r\nLa collecte des ordures n'a pas été effectuée sur la rue des Pruches.\r\n\r\nMerci,\r\nRéjean".to_owned(),
                1 => format!("Bonjour,\r\nIl y a un nid-de-poule devant le {i} rue Thérèse.\r\n\r\nLe lun. 23 nov. 2026 à 09:02, Ville de Sainte-Julie a écrit :\r\n> Nous avons bien reçu votre demande.\r\n> Merci\r\n"),
                2 => "Hello, the street light in front of my house has been out for a week.\r\n-- \r\nJohn\r\n555-0100".to_owned(),
                _ => "Bonjour, le déneigement du trottoir n'est pas fait. ".repeat(40),
            };
            format!(
                "From: Citoyen {i} <{citizen}>\r\nTo: {clientele}\r\nSubject: Demande {i} - rue des Érables\r\n\
                 Message-ID: <{i}.{run}@poste.example.test>\r\nDate: Tue, 24 Nov 2026 10:00:00 -0500\r\n\
                 MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
                 Content-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n"
            )
            .into_bytes()
        })
        .collect()
}

async fn fill(env: &MailEnv, user: &str, messages: &[Vec<u8>]) -> anyhow::Result<()> {
    let chunk = messages.len().div_ceil(FILL_SESSIONS).max(1);
    let mut tasks = tokio::task::JoinSet::new();
    for part in messages.chunks(chunk) {
        let part = part.to_vec();
        let (port, user, password) = (env.imap_port, user.to_owned(), env.password.clone());
        tasks.spawn(async move {
            let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
            let mut client = async_imap::Client::new(tcp);
            client.read_response().await?;
            let mut session = client.login(&user, &password).await.map_err(|(e, _)| e)?;
            for raw in &part {
                session.append("INBOX", None, None, raw).await?;
            }
            session.logout().await?;
            anyhow::Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok(())
}

async fn sent_count(store: &Arc<dyn Store>) -> anyhow::Result<u64> {
    Ok(store
        .count_outbox_by_state()
        .await?
        .into_iter()
        .filter(|(s, _)| *s == OutboxState::Sent)
        .map(|(_, n)| n)
        .sum())
}

struct EngineRun {
    engine: String,
    committed: Duration,
    acknowledged: Duration,
    rows: u64,
}

async fn run_engine(
    env: &MailEnv,
    engine: &str,
    count: usize,
    batch: u32,
) -> anyhow::Result<EngineRun> {
    let run = uuid::Uuid::now_v7().simple().to_string();
    let clientele = format!("bench-{run}@saintejulie.test");
    fill(env, &clientele, &corpus(&run, &clientele, count)).await?;
    let db = BenchDb::create(engine).await?;
    let mut settings = Settings::default();
    settings.server.listen = "127.0.0.1:0".into();
    // Every message acknowledged, as in normal traffic.
    settings.office.max_acks_per_hour = u32::MAX;
    settings.database.url = SecretString::from(db.url.clone());
    settings.office.message_id_domain = "saintejulie.test".to_owned();
    settings.workers.outbox_poll_interval_ms = 50;
    settings.connectors.email = Some(email_settings(env, &clientele, batch)?);
    let app = Application::build(settings).await?;
    let store = Arc::clone(&app.state().store);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let started = Instant::now();
    let server = tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    let last_uid = u32::try_from(count)?;
    let mut committed = None;
    let acknowledged = loop {
        if started.elapsed() > RUN_DEADLINE {
            bail!("{engine}: not done after {RUN_DEADLINE:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        if committed.is_none() {
            let position = store.mailbox_position("clientele").await?;
            if position.is_some_and(|p| p.last_uid >= last_uid) {
                committed = Some(started.elapsed());
            }
        }
        if committed.is_some() && sent_count(&store).await? >= count as u64 {
            break started.elapsed();
        }
    };
    let rows: u64 = store
        .count_outbox_by_state()
        .await?
        .iter()
        .map(|(_, n)| n)
        .sum();
    let _ = stop.send(());
    server.await??;
    drop(store);
    db.remove().await?;
    Ok(EngineRun {
        engine: engine.to_owned(),
        committed: committed.unwrap_or(acknowledged),
        acknowledged,
        rows,
    })
}

/// Downloads the whole folder with the IMAP client alone.
async fn fetch_only(env: &MailEnv, count: usize, batch: u32) -> anyhow::Result<(Duration, usize)> {
    let run = uuid::Uuid::now_v7().simple().to_string();
    let user = format!("fetch-{run}@saintejulie.test");
    let messages = corpus(&run, &user, count);
    let bytes = messages.iter().map(Vec::len).sum();
    fill(env, &user, &messages).await?;
    let started = Instant::now();
    let mut mailbox = Mailbox::connect(&mailbox_settings(env, &user, batch)).await?;
    let mut after = 0;
    let mut fetched = 0;
    loop {
        let emails = mailbox.fetch_after(after).await?;
        let Some(last) = emails.last() else { break };
        after = last.uid;
        fetched += emails.len();
    }
    let elapsed = started.elapsed();
    mailbox.logout().await;
    if fetched != count {
        bail!("fetched {fetched} of {count} messages");
    }
    Ok((elapsed, bytes))
}

fn parse_only(messages: &[Vec<u8>]) -> anyhow::Result<Duration> {
    let context = ParseContext {
        reference_prefix: ReferencePrefix::parse("SJ")?,
        city_addresses: vec![],
        max_attachment_bytes: 15 * 1024 * 1024,
        fallback_received_at: chrono::Utc::now(),
    };
    let started = Instant::now();
    for raw in messages {
        let parsed = parse_email(raw, &context)?;
        std::hint::black_box(parsed);
    }
    Ok(started.elapsed())
}

fn rate(count: usize, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64().max(1e-9)
}

fn main() -> anyhow::Result<()> {
    let count: usize = env_or("EMAIL_BENCH_MESSAGES", 10_000)?;
    let batch: u32 = env_or("EMAIL_BENCH_BATCH", 100)?;
    let engines: String = env_or("EMAIL_BENCH_ENGINES", "sqlite,postgres".to_owned())?;
    let report: u8 = env_or("EMAIL_BENCH_REPORT", 1)?;
    inbox::telemetry::init(&TelemetrySettings {
        filter: "warn".to_owned(),
        ..TelemetrySettings::default()
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let env = mail_env()?;
        let sample = corpus("parse", "clientele@saintejulie.test", count);
        let sample_bytes: usize = sample.iter().map(Vec::len).sum();
        let parse = parse_only(&sample)?;
        println!("parse: {count} messages in {parse:?}");
        let (fetch, fetch_bytes) = fetch_only(&env, count, batch).await?;
        println!("fetch: {count} messages in {fetch:?}");
        let mut runs = Vec::new();
        for engine in engines.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let run = run_engine(&env, engine, count, batch).await?;
            println!(
                "{engine}: committed in {:?}, acknowledged in {:?}",
                run.committed, run.acknowledged
            );
            runs.push(run);
        }
        let mut out = String::new();
        let mut command = format!("eval \"$(tests/setup/mail-servers.sh)\" && EMAIL_BENCH_MESSAGES={count} EMAIL_BENCH_BATCH={batch}");
        if engines != "sqlite,postgres" {
            let _ = write!(command, " EMAIL_BENCH_ENGINES={engines}");
        }
        let _ = writeln!(out, "Command: `{command} cargo bench --bench email_intake`\n");
        let _ = writeln!(
            out,
            "Run {} on a {}-core machine, release build, Dovecot and Postfix from Debian on loopback, fetch batches of {batch}.\n",
            chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
            std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
        );
        let _ = writeln!(out, "| stage | messages | time | messages/s | MB/s |");
        let _ = writeln!(out, "|---|---:|---:|---:|---:|");
        let _ = writeln!(
            out,
            "| parse + new text + automatic-mail check (one thread) | {count} | {:.2} s | {:.0} | {:.1} |",
            parse.as_secs_f64(),
            rate(count, parse),
            sample_bytes as f64 / 1e6 / parse.as_secs_f64()
        );
        let _ = writeln!(
            out,
            "| IMAP fetch alone (Dovecot ceiling) | {count} | {:.2} s | {:.0} | {:.1} |",
            fetch.as_secs_f64(),
            rate(count, fetch),
            fetch_bytes as f64 / 1e6 / fetch.as_secs_f64()
        );
        for run in &runs {
            let _ = writeln!(
                out,
                "| end to end, {}: committed and flagged | {count} | {:.2} s | {:.0} | |",
                run.engine,
                run.committed.as_secs_f64(),
                rate(count, run.committed)
            );
            let _ = writeln!(
                out,
                "| end to end, {}: committed and acknowledged | {count} | {:.2} s | {:.0} | |",
                run.engine,
                run.acknowledged.as_secs_f64(),
                rate(count, run.acknowledged)
            );
        }
        for run in &runs {
            let _ = writeln!(
                out,
                "\n{}: {} outbox rows for {count} messages ({}).",
                run.engine,
                run.rows,
                if run.rows == count as u64 { "one acknowledgement each" } else { "**mismatch**" }
            );
        }
        print!("{out}");
        if report != 0 {
            write_report("email_intake", SECTION_HEADING, &out)?;
        }
        anyhow::Ok(())
    })
}
