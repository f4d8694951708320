//! Workspace benchmark at city scale (not a timed test: it measures and
//! prints): with 1,000,000 messages in 200,000 threads, how long the real
//! server takes to answer the inbox page and a full-text search.
//!
//! Run: `cargo bench --bench inbox_scale`.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `SCALE_THREADS` | `200000` | threads (5 messages each) |
//! | `SCALE_REQUESTS` | `200` | measured requests per row |
//! | `SCALE_ENGINES` | `sqlite,postgres` | engines to run |
//! | `SCALE_REPORT` | `1` | `0` leaves BENCHMARKS.md alone |
//!
//! The data is written straight into the tables with multi-row inserts (the
//! ingest path is measured by the form and email benchmarks; here only the
//! reads matter), then the database is analysed, the real `Application`
//! starts on it, and one client sends `GET /api/v1/threads` requests with a
//! personal token, one at a time: the time measured is the server's answer
//! time as the client sees it on loopback. Two last rows per engine time
//! the store's own `list_threads` for a common word (at most 50 calls):
//! with the plan chosen now, and with every match collected first (the
//! plan before), for a ratio measured in the same run.

#[path = "support/mod.rs"]
mod support;

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{TimeZone, Utc};
use inbox::auth::{hash_password, new_token, Role};
use inbox::config::{Settings, TelemetrySettings};
use inbox::startup::Application;
use inbox::store::workspace::{NewToken, NewUser, SearchTuning, ThreadQuery};
use inbox::store::ConnectOptions;
use secrecy::SecretString;
use sqlx::Connection;
use support::{env_or, ms, percentile, write_report, BenchDb};

const SECTION_HEADING: &str = "## Workspace at city scale";
const MESSAGES_PER_THREAD: usize = 5;
/// Rows per INSERT statement while seeding.
const CHUNK: usize = 500;

const STREETS: &[&str] = &[
    "rue des Pruches",
    "rue Thérèse",
    "boulevard Armand-Frappier",
    "rue Principale",
    "montée Sainte-Julie",
    "rue de l'Église",
    "chemin du Fer-à-Cheval",
    "rue Jules-Choquet",
    "rue Borduas",
    "rue Nobel",
];
const TOPICS: &[(&str, &str, &str)] = &[
    (
        "roads_snow",
        "travaux_publics",
        "Le déneigement du trottoir n'est pas fait devant le {n} {street}.",
    ),
    (
        "waste",
        "travaux_publics",
        "La collecte des ordures n'a pas été effectuée au {n} {street}.",
    ),
    (
        "water_sewer",
        "travaux_publics",
        "Il y a une fuite d'eau sur la {street} près du {n}.",
    ),
    (
        "recreation",
        "loisirs",
        "Quelles sont les heures d'ouverture de la piscine cet été? J'habite au {n} {street}.",
    ),
    (
        "taxes_billing",
        "finances",
        "Mon compte de taxes pour le {n} {street} semble erroné.",
    ),
    (
        "parks_trees",
        "loisirs",
        "Un arbre est tombé dans le parc près de la {street}.",
    ),
    (
        "permits_planning",
        "urbanisme",
        "Faut-il un permis pour une clôture au {n} {street}?",
    ),
    (
        "nuisances",
        "urbanisme",
        "Le bruit de la construction au {n} {street} commence à 6 h.",
    ),
];

fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The seeding statements for threads `from..to`: contacts, threads, messages.
fn seed_sql(from: usize, to: usize, pg: bool) -> Vec<String> {
    let base = Utc
        .with_ymd_and_hms(2025, 1, 1, 8, 0, 0)
        .single()
        .unwrap_or_else(Utc::now);
    let ts = |minutes: i64| {
        let t = base + chrono::Duration::minutes(minutes);
        if pg {
            format!("'{}'::timestamptz", t.to_rfc3339())
        } else {
            // As the store binds a time on SQLite, so cursors compare.
            quote(&t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false))
        }
    };
    let flag = |b: bool| {
        if pg {
            b.to_string()
        } else {
            u8::from(b).to_string()
        }
    };
    let mut contacts = Vec::new();
    let mut threads = Vec::new();
    let mut messages = Vec::new();
    for i in from..to {
        let contact = format!("00000000-0000-7000-8000-{i:012}");
        let thread = format!("00000000-0000-7000-9000-{i:012}");
        let (topic, department, text) = TOPICS[i % TOPICS.len()];
        let street = STREETS[(i / TOPICS.len()) % STREETS.len()];
        let body = text
            .replace("{n}", &(100 + i % 900).to_string())
            .replace("{street}", street);
        let status = [
            "awaiting_agent",
            "waiting_on_citizen",
            "waiting_on_department",
            "resolved",
        ][i % 4];
        let start = i as i64 * 3;
        contacts.push(format!(
            "({}, 'Citoyen {i}', 'fr', NULL, {}, {})",
            quote(&contact),
            ts(start),
            ts(start)
        ));
        threads.push(format!(
            "({}, {}, {}, 'email', 'request', {}, {}, {}, 'classifier', {}, {}, 'fr', {}, {}, {}, {}, 1)",
            quote(&thread),
            quote(&format!("SJ-2025-{:06}", i + 1)),
            quote(&contact),
            quote(&format!("Demande {i} — {street}")),
            quote(status),
            quote(topic),
            quote(department),
            flag(i % 97 == 0),
            ts(start),
            ts(start + 120),
            ts(start + 120),
            ts(start + 120),
        ));
        for m in 0..MESSAGES_PER_THREAD {
            let id = format!("00000000-0000-7000-a{m:03}-{i:012}");
            let inbound = m % 2 == 0;
            let text = if inbound {
                body.clone()
            } else {
                format!("Bonjour, merci pour votre message au sujet de la {street}.")
            };
            messages.push(format!(
                "({}, {}, {}, {}, 'email', {}, {}, 'email', {}, {}, {}, {}, 'fr', {}, {})",
                quote(&id),
                quote(&thread),
                quote(&contact),
                quote(if inbound { "inbound" } else { "outbound" }),
                quote(if inbound { "citizen" } else { "agent_reply" }),
                quote(&format!("<{id}@poste.example.net>")),
                quote(&format!("c{i}@example.net")),
                quote(&format!("Demande {i} — {street}")),
                quote(&text),
                quote(&text),
                ts(start + m as i64 * 30),
                ts(start + m as i64 * 30),
            ));
        }
    }
    let mut out = Vec::new();
    for chunk in contacts.chunks(CHUNK) {
        out.push(format!("INSERT INTO contacts (id, display_name, language, phone, created_at, updated_at) VALUES {}", chunk.join(",")));
    }
    for chunk in threads.chunks(CHUNK) {
        out.push(format!(
            "INSERT INTO threads (id, reference, contact_id, channel, category, subject, status, topic, topic_source, department, flagged, language, created_at, last_message_at, last_citizen_message_at, updated_at, version) VALUES {}",
            chunk.join(",")
        ));
    }
    for chunk in messages.chunks(CHUNK) {
        out.push(format!(
            "INSERT INTO messages (id, thread_id, contact_id, direction, channel, kind, external_id, sender_kind, sender_key, subject, body_text, new_text, language, received_at, created_at) VALUES {}",
            chunk.join(",")
        ));
    }
    out
}

async fn seed(db: &BenchDb, threads: usize) -> anyhow::Result<Duration> {
    let started = Instant::now();
    const BATCH: usize = 10_000;
    if db.is_postgres() {
        let mut conn = sqlx::PgConnection::connect(&db.url).await?;
        for from in (0..threads).step_by(BATCH) {
            let mut tx = conn.begin().await?;
            for sql in seed_sql(from, (from + BATCH).min(threads), true) {
                sqlx::query(&sql).execute(&mut *tx).await?;
            }
            tx.commit().await?;
        }
        // What autovacuum does after a load this size: the full-text
        // index's pending entries are merged and the visibility map is set,
        // so the reads measure the steady state, not the load's leftovers.
        sqlx::query("VACUUM ANALYZE").execute(&mut conn).await?;
    } else {
        let mut conn = sqlx::SqliteConnection::connect(&db.url).await?;
        for from in (0..threads).step_by(BATCH) {
            let mut tx = conn.begin().await?;
            for sql in seed_sql(from, (from + BATCH).min(threads), false) {
                sqlx::query(&sql).execute(&mut *tx).await?;
            }
            tx.commit().await?;
        }
        sqlx::query("ANALYZE").execute(&mut conn).await?;
    }
    Ok(started.elapsed())
}

struct Row {
    engine: String,
    what: String,
    p50: Duration,
    p95: Duration,
    results: usize,
}

async fn measure(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    requests: usize,
) -> anyhow::Result<(Vec<Duration>, usize)> {
    let mut times = Vec::with_capacity(requests);
    let mut results = 0;
    for _ in 0..requests {
        let started = Instant::now();
        let resp = client.get(url).bearer_auth(token).send().await?;
        anyhow::ensure!(resp.status() == 200, "{url} answered {}", resp.status());
        let body: serde_json::Value = resp.json().await?;
        times.push(started.elapsed());
        results = body["threads"].as_array().map_or(0, Vec::len);
    }
    times.sort_unstable();
    Ok((times, results))
}

async fn run_engine(
    engine: &str,
    threads: usize,
    requests: usize,
) -> anyhow::Result<(Vec<Row>, Duration)> {
    let db = BenchDb::create(engine).await?;
    let seeded = seed(&db, threads)
        .await
        .with_context(|| format!("{engine}: seeding"))?;
    println!("{engine}: seeded {threads} threads in {seeded:?}");
    let mut settings = Settings::default();
    settings.server.listen = "127.0.0.1:0".into();
    settings.database.url = SecretString::from(db.url.clone());
    settings.workers.enabled = false;
    let app = Application::build(settings).await?;
    let store = std::sync::Arc::clone(&app.state().store);
    let user_id = uuid::Uuid::now_v7().to_string();
    store
        .create_user(&NewUser {
            id: user_id.clone(),
            email: "bench@saintejulie.ca".into(),
            display_name: None,
            role: Role::Agent,
            password_hash: hash_password("benchmark password")?,
            at: Utc::now(),
        })
        .await?;
    let (token, hash) = new_token();
    store
        .create_token(&NewToken::full(&user_id, hash, Utc::now()), "bench")
        .await?;
    let base = format!("http://127.0.0.1:{}/api/v1/threads", app.port());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();
    let cases = [
        ("inbox page (50 oldest waiting)", format!("{base}?limit=50")),
        (
            "inbox page, newest first",
            format!("{base}?limit=50&order=newest"),
        ),
        (
            "inbox page, status + department filter",
            format!("{base}?limit=50&status=awaiting_agent&department=travaux_publics"),
        ),
        (
            "search `deneigement therese` (accent-insensitive)",
            format!("{base}?limit=50&q=deneigement%20therese"),
        ),
        (
            "search `piscine` (one thread in eight)",
            format!("{base}?limit=50&q=piscine"),
        ),
        (
            "search `bonjour` (every thread)",
            format!("{base}?limit=50&q=bonjour"),
        ),
        (
            "search `piscine` + status resolved (all its threads)",
            format!("{base}?limit=50&q=piscine&status=resolved"),
        ),
        (
            "search `piscine` + status awaiting agent (none of its threads)",
            format!("{base}?limit=50&q=piscine&status=awaiting_agent"),
        ),
    ];
    let mut rows = Vec::new();
    for (what, url) in &cases {
        measure(&client, url, &token, 5).await?; // warm-up
        let (times, results) = measure(&client, url, &token, requests).await?;
        rows.push(Row {
            engine: engine.to_owned(),
            what: (*what).to_owned(),
            p50: percentile(&times, 0.50),
            p95: percentile(&times, 0.95),
            results,
        });
    }
    // The plan before this one, every match collected first, beside the
    // plan chosen now, both on the store itself (no HTTP) in this run.
    let collect_only = inbox::store::connect(
        &SecretString::from(db.url.clone()),
        &ConnectOptions {
            search: Some(SearchTuning {
                common_matches: i64::MAX,
                walk_window: 0,
            }),
            ..ConnectOptions::default()
        },
    )
    .await?;
    let query = ThreadQuery {
        search: Some("piscine".to_owned()),
        limit: 50,
        ..ThreadQuery::default()
    };
    for (label, target) in [
        ("plan chosen now", &store),
        (
            "every match collected first (the plan before)",
            &collect_only,
        ),
    ] {
        let mut times = Vec::new();
        let mut results = 0;
        for i in 0..requests.min(50) + 3 {
            let started = Instant::now();
            results = target.list_threads(&query).await?.len();
            if i >= 3 {
                times.push(started.elapsed());
            }
        }
        times.sort_unstable();
        rows.push(Row {
            engine: engine.to_owned(),
            what: format!("store call only: search `piscine`, {label}"),
            p50: percentile(&times, 0.50),
            p95: percentile(&times, 0.95),
            results,
        });
    }
    drop(collect_only);
    let _ = stop.send(());
    server.await??;
    drop(store);
    db.remove().await?;
    Ok((rows, seeded))
}

fn main() -> anyhow::Result<()> {
    let threads: usize = env_or("SCALE_THREADS", 200_000)?;
    let requests: usize = env_or("SCALE_REQUESTS", 200)?;
    let engines: String = env_or("SCALE_ENGINES", "sqlite,postgres".to_owned())?;
    let report: u8 = env_or("SCALE_REPORT", 1)?;
    inbox::telemetry::init(&TelemetrySettings {
        filter: "warn".to_owned(),
        ..TelemetrySettings::default()
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut rows = Vec::new();
        let mut seeding = Vec::new();
        for engine in engines.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (r, seeded) = run_engine(engine, threads, requests).await?;
            rows.extend(r);
            seeding.push((engine.to_owned(), seeded));
        }
        let mut out = String::new();
        let _ = writeln!(out, "Command: `SCALE_THREADS={threads} SCALE_REQUESTS={requests} cargo bench --bench inbox_scale`\n");
        let _ = writeln!(
            out,
            "Run {} on a {}-core machine, release build: {threads} request threads, {} messages, one client on loopback, one request at a time after 5 unmeasured ones.\n",
            chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
            std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
            threads * MESSAGES_PER_THREAD,
        );
        let _ = writeln!(out, "| engine | request | threads returned | p50 | p95 |");
        let _ = writeln!(out, "|---|---|---:|---:|---:|");
        for r in &rows {
            let _ = writeln!(out, "| {} | {} | {} | {} | {} |", r.engine, r.what, r.results, ms(r.p50), ms(r.p95));
        }
        for (engine, seeded) in &seeding {
            let _ = writeln!(out, "\nSeeding {engine} (bulk inserts, indexes and search index maintained, then ANALYZE; VACUUM ANALYZE on PostgreSQL): {:.0} s.", seeded.as_secs_f64());
        }
        print!("{out}");
        if report != 0 {
            write_report("inbox_scale", SECTION_HEADING, &out)?;
        }
        anyhow::Ok(())
    })
}
