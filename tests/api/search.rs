//! Inbox search on a store large enough, with the SQLite tuning on both
//! engines, for a common word to take the inbox-order walk, for a
//! common word whose threads all lie past the walk's window to fall back to
//! collecting every match, and for a rare word to collect its matches
//! first: every plan must give the pages of the definition — threads with
//! a matching message, in inbox order, after the cursor, within the filters.

use chrono::{DateTime, Duration, TimeZone, Utc};
use inbox::store::workspace::{InboxOrder, SearchTuning, ThreadQuery};
use inbox::store::ConnectOptions;
use inbox::store::Cursor;
use models::ThreadStatus;
use sqlx::Connection;

use crate::both_engines;
use crate::helpers::{Engine, TestDb};

/// Threads seeded; every even one mentions the pool in both its messages.
const THREADS: usize = 9_000;
/// From this thread on, each also mentions a fence.
const FENCES_FROM: usize = 6_000;

fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap()
}

fn status_of(i: usize) -> ThreadStatus {
    [
        ThreadStatus::AwaitingAgent,
        ThreadStatus::WaitingOnCitizen,
        ThreadStatus::WaitingOnDepartment,
        ThreadStatus::Resolved,
    ][i % 4]
}

fn thread_id(i: usize) -> String {
    format!("00000000-0000-7000-9000-{i:012}")
}

/// The seeding statements: thread `i` was last active `i` minutes after
/// the base; thread 4321 alone mentions a "balançoire"; threads from
/// `FENCES_FROM` also mention a fence.
fn seed_sql(pg: bool) -> Vec<String> {
    let ts = |minutes: usize| {
        let t = base() + Duration::minutes(minutes as i64);
        if pg {
            format!("'{}'::timestamptz", t.to_rfc3339())
        } else {
            // As the store binds a time on SQLite, so they compare.
            format!(
                "'{}'",
                t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false)
            )
        }
    };
    let mut contacts = Vec::new();
    let mut threads = Vec::new();
    let mut messages = Vec::new();
    for i in 0..THREADS {
        let contact = format!("00000000-0000-7000-8000-{i:012}");
        let mut text = match i {
            4321 => "La balançoire du parc est brisée.",
            _ if i % 2 == 0 => "Quelles sont les heures de la piscine municipale?",
            _ => "La collecte des ordures est en retard.",
        }
        .to_owned();
        if i >= FENCES_FROM {
            text.push_str(" Et faut-il un permis pour une clôture?");
        }
        contacts.push(format!(
            "('{contact}', 'Citoyen {i}', 'fr', {}, {})",
            ts(i),
            ts(i)
        ));
        threads.push(format!(
            "('{}', 'SJ-2026-{:06}', '{contact}', 'email', 'request', '{}', {}, {}, {}, 'fr', 1)",
            thread_id(i),
            i + 1,
            status_of(i).as_str(),
            ts(i),
            ts(i),
            ts(i)
        ));
        for m in 0..2 {
            messages.push(format!(
                "('00000000-0000-7000-a{m:03}-{i:012}', '{}', '{contact}', 'inbound', 'email', 'citizen', 'email', 'c{i}@example.net', '{text}', '{text}', 'fr', {}, {})",
                thread_id(i),
                ts(i),
                ts(i)
            ));
        }
    }
    let mut out = Vec::new();
    for chunk in contacts.chunks(500) {
        out.push(format!(
            "INSERT INTO contacts (id, display_name, language, created_at, updated_at) VALUES {}",
            chunk.join(",")
        ));
    }
    for chunk in threads.chunks(500) {
        out.push(format!(
            "INSERT INTO threads (id, reference, contact_id, channel, category, status, created_at, last_message_at, updated_at, language, version) VALUES {}",
            chunk.join(",")
        ));
    }
    for chunk in messages.chunks(500) {
        out.push(format!(
            "INSERT INTO messages (id, thread_id, contact_id, direction, channel, kind, sender_kind, sender_key, body_text, new_text, language, received_at, created_at) VALUES {}",
            chunk.join(",")
        ));
    }
    out
}

async fn seed(db: &TestDb, engine: Engine) {
    let statements = seed_sql(engine == Engine::Postgres);
    if engine == Engine::Postgres {
        let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
        let mut tx = conn.begin().await.unwrap();
        for sql in &statements {
            sqlx::query(sql).execute(&mut *tx).await.unwrap();
        }
        tx.commit().await.unwrap();
        sqlx::query("ANALYZE").execute(&mut conn).await.unwrap();
    } else {
        let mut conn = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
        let mut tx = conn.begin().await.unwrap();
        for sql in &statements {
            sqlx::query(sql).execute(&mut *tx).await.unwrap();
        }
        tx.commit().await.unwrap();
    }
}

fn query(search: &str) -> ThreadQuery {
    ThreadQuery {
        search: Some(search.to_owned()),
        limit: 50,
        ..ThreadQuery::default()
    }
}

async fn search_plans(engine: Engine) {
    // Arrange: 9,000 pool messages (a common word), 6,000 fence messages
    // all past the walk's window, one swing.
    let db = TestDb::new(engine).await;
    let tuning = SearchTuning::for_engine(inbox::store::Engine::Sqlite);
    let store = db
        .store_with(ConnectOptions {
            search: Some(tuning),
            ..ConnectOptions::default()
        })
        .await;
    seed(&db, engine).await;
    assert!(
        THREADS as i64 >= tuning.common_matches,
        "piscine must be common"
    );
    assert!(
        2 * (THREADS - FENCES_FROM) as i64 >= tuning.common_matches,
        "so must clôture"
    );
    assert!(
        FENCES_FROM >= tuning.walk_window as usize,
        "past the window"
    );
    let even: Vec<String> = (0..THREADS).step_by(2).map(thread_id).collect();
    let ids = |page: &[inbox::store::workspace::ThreadListItem]| -> Vec<String> {
        page.iter().map(|t| t.id.clone()).collect()
    };

    // Act
    let first = store.list_threads(&query("piscine")).await.unwrap();
    let last_of_first = first.last().unwrap();
    let second = store
        .list_threads(&ThreadQuery {
            after: Some(Cursor {
                at: last_of_first.last_message_at,
                id: last_of_first.id.clone(),
            }),
            ..query("piscine")
        })
        .await
        .unwrap();
    let newest = store
        .list_threads(&ThreadQuery {
            order: InboxOrder::NewestFirst,
            ..query("PISCINE")
        })
        .await
        .unwrap();
    let department_page = store
        .list_threads(&ThreadQuery {
            status: Some(ThreadStatus::WaitingOnDepartment),
            ..query("piscine")
        })
        .await
        .unwrap();
    let none_match = store
        .list_threads(&ThreadQuery {
            status: Some(ThreadStatus::WaitingOnCitizen),
            ..query("piscine")
        })
        .await
        .unwrap();
    let rare = store.list_threads(&query("balancoire")).await.unwrap();
    let late = store.list_threads(&query("cloture")).await.unwrap();
    let both_words = store
        .list_threads(&query("piscine balancoire"))
        .await
        .unwrap();

    // Assert: the walk (common word) gives the definition's pages.
    assert_eq!(ids(&first), even[..50].to_vec(), "oldest waiting first");
    assert_eq!(
        ids(&second),
        even[50..100].to_vec(),
        "the page after the cursor"
    );
    let mut newest_expected = even.clone();
    newest_expected.reverse();
    assert_eq!(
        ids(&newest),
        newest_expected[..50].to_vec(),
        "newest first, whatever the case typed"
    );
    let on_department: Vec<String> = (0..THREADS)
        .filter(|i| i % 2 == 0 && status_of(*i) == ThreadStatus::WaitingOnDepartment)
        .map(thread_id)
        .take(50)
        .collect();
    assert_eq!(ids(&department_page), on_department, "filters still apply");
    assert!(none_match.is_empty(), "no odd thread mentions the pool");
    // Past the window, the search reads every match instead.
    assert_eq!(
        ids(&late),
        (FENCES_FROM..FENCES_FROM + 50)
            .map(thread_id)
            .collect::<Vec<_>>()
    );
    // The collect plan (rare words) finds the one thread.
    assert_eq!(ids(&rare), vec![thread_id(4321)]);
    assert!(both_words.is_empty(), "every word must match one message");
}
both_engines!(
    a_common_word_and_a_rare_one_give_the_same_pages_as_the_definition,
    search_plans
);
