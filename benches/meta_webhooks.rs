//! Messenger webhook benchmark (not a timed test: it measures and prints).
//!
//! Run: `cargo bench --bench meta_webhooks`.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `META_BENCH_SENDERS` | `64` | concurrent senders (Meta's delivery connections) |
//! | `META_BENCH_EVENTS` | `20000` | signed POSTs, one citizen message each |
//! | `META_BENCH_ENGINES` | `sqlite,postgres` | engines to run |
//! | `META_BENCH_REPORT` | `1` | `0` leaves BENCHMARKS.md alone |
//!
//! For each engine, the real `Application` with its workers, as `inbox
//! serve` runs it, the Send API pointed at a local stand-in answering
//! success. N senders POST signed bodies, each one Messenger text message
//! from a distinct citizen (a distinct PSID and `mid`); every answer must be
//! 200, which the gateway sends once the body is stored. Figures: POSTs
//! answered per second with p50/p99/max latency, then how long the webhook
//! worker takes, from the first POST, to apply every stored event (one
//! thread, one reference number and one queued acknowledgement each).

#[path = "support/mod.rs"]
mod support;

use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use hmac::{Hmac, Mac};
use inbox::config::{Settings, TelemetrySettings};
use inbox::startup::Application;
use secrecy::SecretString;
use sha2::Sha256;
use support::{env_or, ms, percentile, write_report, BenchDb};

const SECTION_HEADING: &str = "## Messenger webhooks";
const PAGE: &str = "104827364519203";
const APP_SECRET: &str = "bench-app-secret";
const RUN_DEADLINE: Duration = Duration::from_secs(900);

fn sign(body: &[u8]) -> anyhow::Result<String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(APP_SECRET.as_bytes())?;
    mac.update(body);
    Ok(format!(
        "sha256={}",
        hex::encode(mac.finalize().into_bytes())
    ))
}

/// One Messenger text message from a distinct citizen, written now (so the
/// acknowledgement is inside Meta's reply window).
fn event(run: &str, i: usize) -> Vec<u8> {
    let psid = 7_300_000_000_000_000_u64 + i as u64;
    let now = chrono::Utc::now().timestamp_millis();
    serde_json::to_vec(&serde_json::json!({
        "object": "page",
        "entry": [{"id": PAGE, "time": now, "messaging": [{
            "sender": {"id": psid.to_string()}, "recipient": {"id": PAGE},
            "timestamp": now,
            "message": {"mid": format!("m_{run}_{i}"),
                        "text": format!("Bonjour, y’a un gros nid-de-poule en face du {i} rue des Pruches. Merci")}
        }]}]
    }))
    .unwrap_or_default()
}

struct Run {
    engine: String,
    answered: Duration,
    latencies: Vec<Duration>,
    applied: Duration,
    threads: i64,
    acks: i64,
}

async fn run_engine(engine: &str, senders: usize, events: usize) -> anyhow::Result<Run> {
    let graph = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(
            wiremock::ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"recipient_id": "1", "message_id": "m_sent"})),
        )
        .mount(&graph)
        .await;
    let db = BenchDb::create(engine).await?;
    let mut settings = Settings::default();
    settings.server.listen = "127.0.0.1:0".into();
    // Every message acknowledged, as in normal traffic.
    settings.office.max_acks_per_hour = u32::MAX;
    settings.database.url = SecretString::from(db.url.clone());
    settings.connectors.meta = Some(serde_json::from_value(serde_json::json!({
        "app_secret": APP_SECRET,
        "verify_token": "bench",
        "graph_api_base": graph.uri(),
        "graph_api_version": "v21.0",
        "pages": [{ "id": PAGE, "access_token": "bench-token" }],
    }))?);
    let app = Application::build(settings).await?;
    let address = format!("http://127.0.0.1:{}/webhooks/meta", app.port());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    let run = uuid::Uuid::now_v7().simple().to_string();
    let bodies: Arc<Vec<(Vec<u8>, String)>> = Arc::new(
        (0..events)
            .map(|i| {
                let body = event(&run, i);
                let signature = sign(&body)?;
                anyhow::Ok((body, signature))
            })
            .collect::<anyhow::Result<_>>()?,
    );
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(senders)
        .timeout(Duration::from_secs(30))
        .build()?;
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..senders {
        let (client, address, bodies, next) = (
            client.clone(),
            address.clone(),
            Arc::clone(&bodies),
            Arc::clone(&next),
        );
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((body, signature)) = bodies.get(i) else {
                    return anyhow::Ok(latencies);
                };
                let sent = Instant::now();
                let response = client
                    .post(&address)
                    .header("content-type", "application/json")
                    .header("x-hub-signature-256", signature)
                    .body(body.clone())
                    .send()
                    .await?;
                if response.status() != 200 {
                    bail!("POST answered {}", response.status());
                }
                latencies.push(sent.elapsed());
            }
        });
    }
    let mut latencies = Vec::with_capacity(events);
    while let Some(done) = tasks.join_next().await {
        latencies.extend(done??);
    }
    let answered = started.elapsed();
    let applied = loop {
        if started.elapsed() > RUN_DEADLINE {
            bail!("{engine}: events not applied after {RUN_DEADLINE:?}");
        }
        if db
            .count("SELECT count(*) FROM webhook_events WHERE processed_at IS NULL")
            .await?
            == 0
        {
            break started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let threads = db.count("SELECT count(*) FROM threads").await?;
    let acks = db
        .count("SELECT count(*) FROM outbox WHERE kind = 'acknowledgement'")
        .await?;
    let _ = stop.send(());
    server.await??;
    db.remove().await?;
    latencies.sort_unstable();
    Ok(Run {
        engine: engine.to_owned(),
        answered,
        latencies,
        applied,
        threads,
        acks,
    })
}

fn main() -> anyhow::Result<()> {
    let senders: usize = env_or("META_BENCH_SENDERS", 64)?;
    let events: usize = env_or("META_BENCH_EVENTS", 20_000)?;
    let engines: String = env_or("META_BENCH_ENGINES", "sqlite,postgres".to_owned())?;
    let report: u8 = env_or("META_BENCH_REPORT", 1)?;
    inbox::telemetry::init(&TelemetrySettings {
        filter: "warn".to_owned(),
        ..TelemetrySettings::default()
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut runs = Vec::new();
        for engine in engines.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let run = run_engine(engine, senders, events).await?;
            println!(
                "{engine}: answered in {:?}, applied in {:?}",
                run.answered, run.applied
            );
            runs.push(run);
        }
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Command: `META_BENCH_SENDERS={senders} META_BENCH_EVENTS={events} cargo bench --bench meta_webhooks`\n"
        );
        let _ = writeln!(
            out,
            "Run {} on a {}-core machine, release build; senders, gateway (workers on) and the Send API stand-in share the cores.\n",
            chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
            std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
        );
        let _ = writeln!(out, "| engine | POSTs | answered/s | p50 | p99 | max | all events applied after | applied/s |");
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|");
        for run in &runs {
            let _ = writeln!(
                out,
                "| {} | {events} | {:.0} | {} | {} | {} | {:.1} s | {:.0} |",
                run.engine,
                events as f64 / run.answered.as_secs_f64(),
                ms(percentile(&run.latencies, 0.50)),
                ms(percentile(&run.latencies, 0.99)),
                ms(percentile(&run.latencies, 1.0)),
                run.applied.as_secs_f64(),
                events as f64 / run.applied.as_secs_f64(),
            );
        }
        for run in &runs {
            let _ = writeln!(
                out,
                "\n{}: {} threads and {} acknowledgements for {events} events ({}).",
                run.engine,
                run.threads,
                run.acks,
                if run.threads == events as i64 && run.acks == events as i64 {
                    "one each"
                } else {
                    "**mismatch**"
                }
            );
        }
        print!("{out}");
        if report != 0 {
            write_report("meta_webhooks", SECTION_HEADING, &out)?;
        }
        anyhow::Ok(())
    })
}
