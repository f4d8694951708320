//! The store contract: every method of the `Store` trait, written once and
//! run on SQLite and on PostgreSQL.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use inbox::store::{
    NewContact, NewOutbox, NewThread, OutboxPayload, Store, StoreError, ThreadCategory,
};
use models::{
    Channel, ChannelIdentity, ContactId, EmailAddress, ExternalMessageId, Language, MessageId,
    OutboundKind, OutboxId, OutboxState, ReferencePrefix, ThreadId, ThreadStatus,
};

use crate::both_engines;
use crate::helpers::{Engine, TestDb};

fn sj() -> ReferencePrefix {
    ReferencePrefix::parse("SJ").unwrap()
}

fn t0() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 13, 14, 0, 0).unwrap()
}

async fn new_thread(store: &Arc<dyn Store>, email: &str) -> (ContactId, ThreadId) {
    let mut tx = store.begin().await.unwrap();
    let contact = NewContact {
        id: ContactId::generate(),
        display_name: Some("Test".into()),
        language: Language::Fr,
        phone: None,
        identity: Some(ChannelIdentity::Email {
            address: EmailAddress::parse(email).unwrap(),
        }),
        unverified_email: None,
        at: t0(),
    };
    tx.create_contact(&contact).await.unwrap();
    let reference = tx.next_reference(&sj(), 2026).await.unwrap();
    let thread = NewThread {
        id: ThreadId::generate(),
        reference: Some(reference),
        contact_id: contact.id,
        channel: Channel::Email,
        category: ThreadCategory::Request,
        subject: None,
        status: ThreadStatus::AwaitingAgent,
        language: Language::Fr,
        last_citizen_message_at: Some(t0()),
        due_at: None,
        at: t0(),
    };
    tx.create_thread(&thread).await.unwrap();
    tx.commit().await.unwrap();
    (contact.id, thread.id)
}

async fn references(engine: Engine) {
    // Arrange
    let db = TestDb::new(engine).await;
    let store = db.store().await;
    // Act
    let mut tx = store.begin().await.unwrap();
    let a = tx.next_reference(&sj(), 2026).await.unwrap();
    let b = tx.next_reference(&sj(), 2026).await.unwrap();
    let other_year = tx.next_reference(&sj(), 2027).await.unwrap();
    tx.commit().await.unwrap();
    let mut rolled_back = store.begin().await.unwrap();
    rolled_back.next_reference(&sj(), 2026).await.unwrap();
    drop(rolled_back);
    let mut tx = store.begin().await.unwrap();
    let c = tx.next_reference(&sj(), 2026).await.unwrap();
    tx.commit().await.unwrap();
    // Assert
    assert_eq!(
        [
            a.to_string(),
            b.to_string(),
            other_year.to_string(),
            c.to_string()
        ],
        [
            "SJ-2026-000001",
            "SJ-2026-000002",
            "SJ-2027-000001",
            "SJ-2026-000003"
        ]
    );
}
both_engines!(
    reference_sequences_are_per_year_and_a_rolled_back_number_is_reused,
    references
);

async fn concurrent_references(engine: Engine) {
    // Arrange: two independent stores on one database, like two processes.
    let db = TestDb::new(engine).await;
    let stores = [db.store().await, db.store().await];
    // Act
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = Arc::clone(&stores[i % 2]);
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            for _ in 0..25 {
                loop {
                    let mut tx = store.begin().await.unwrap();
                    match tx.next_reference(&sj(), 2026).await {
                        Ok(r) => {
                            tx.commit().await.unwrap();
                            got.push(r.sequence());
                            break;
                        }
                        Err(StoreError::Unavailable(_)) => continue,
                        Err(e) => panic!("{e:?}"),
                    }
                }
            }
            got
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    // Assert
    all.sort_unstable();
    assert_eq!(all, (1..=200).collect::<Vec<u32>>(), "unique and gap-free");
}
both_engines!(
    two_stores_allocating_references_concurrently_get_unique_gap_free_numbers,
    concurrent_references
);

async fn inbound_keys(engine: Engine) {
    // Arrange
    let db = TestDb::new(engine).await;
    let store = db.store().await;
    let key = ExternalMessageId::parse("mid.123").unwrap();
    // Act
    let mut tx = store.begin().await.unwrap();
    let first = tx
        .claim_inbound_key(Channel::Messenger, &key, MessageId::generate())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    let again = tx
        .claim_inbound_key(Channel::Messenger, &key, MessageId::generate())
        .await
        .unwrap();
    let other_channel = tx
        .claim_inbound_key(Channel::Instagram, &key, MessageId::generate())
        .await
        .unwrap();
    // Assert
    assert!(first && !again && other_channel);
}
both_engines!(an_inbound_key_is_claimed_once_per_channel, inbound_keys);

async fn idempotency(engine: Engine) {
    // Arrange
    let db = TestDb::new(engine).await;
    let store = db.store().await;
    // Act
    let mut tx = store.begin().await.unwrap();
    assert!(tx
        .claim_idempotency_key("api", "k1", "fp", t0())
        .await
        .unwrap());
    tx.save_idempotent_response("api", "k1", 201, "{\"ok\":true}")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    let again = tx
        .claim_idempotency_key("api", "k1", "fp", t0())
        .await
        .unwrap();
    let other_scope = tx
        .claim_idempotency_key("web", "k1", "fp", t0())
        .await
        .unwrap();
    drop(tx);
    let saved = store
        .find_saved_response("api", "k1")
        .await
        .unwrap()
        .unwrap();
    // Assert
    assert!(!again && other_scope);
    assert_eq!(
        (
            saved.status,
            saved.body.as_str(),
            saved.fingerprint.as_str()
        ),
        (201, "{\"ok\":true}", "fp")
    );
    assert!(
        store
            .find_saved_response("web", "k1")
            .await
            .unwrap()
            .is_none(),
        "rolled back"
    );
}
both_engines!(
    idempotency_keys_are_unique_per_scope_and_keep_their_response,
    idempotency
);

async fn contacts_and_threads(engine: Engine) {
    // Arrange
    let db = TestDb::new(engine).await;
    let store = db.store().await;
    let (contact, thread) = new_thread(&store, "a@example.net").await;
    // Act
    let mut tx = store.begin().await.unwrap();
    let found = tx
        .find_contact(&ChannelIdentity::Email {
            address: EmailAddress::parse("A@example.net").unwrap(),
        })
        .await
        .unwrap();
    let open = tx.open_thread(contact, Channel::Email).await.unwrap();
    let by_ref = tx
        .thread_by_reference(&models::ReferenceNumber::parse("SJ-2026-000001").unwrap())
        .await
        .unwrap();
    let duplicate = tx
        .create_contact(&NewContact {
            id: ContactId::generate(),
            display_name: None,
            language: Language::En,
            phone: None,
            identity: Some(ChannelIdentity::Email {
                address: EmailAddress::parse("a@example.net").unwrap(),
            }),
            unverified_email: None,
            at: t0(),
        })
        .await;
    drop(tx);
    let missing = store.get_thread(ThreadId::generate()).await;
    // Assert
    assert_eq!(found, Some(contact));
    assert_eq!(open.unwrap().id, thread);
    assert_eq!(by_ref.unwrap().id, thread);
    assert!(
        matches!(duplicate, Err(StoreError::Conflict { .. })),
        "{duplicate:?}"
    );
    assert!(matches!(missing, Err(StoreError::NotFound)));
    assert_eq!(
        store.get_thread(thread).await.unwrap().status,
        ThreadStatus::AwaitingAgent
    );
}
both_engines!(
    contacts_are_found_by_identity_and_a_duplicate_identity_is_a_conflict,
    contacts_and_threads
);

async fn queue_outbox(store: &Arc<dyn Store>, thread: ThreadId) -> OutboxId {
    let id = OutboxId::generate();
    let mut tx = store.begin().await.unwrap();
    tx.enqueue_outbox(&NewOutbox {
        id,
        thread_id: thread,
        cause_message_id: None,
        channel: Channel::Email,
        kind: OutboundKind::Acknowledgement,
        recipient: ChannelIdentity::Email {
            address: EmailAddress::parse("a@example.net").unwrap(),
        },
        language: Language::Fr,
        rfc_message_id: None,
        payload: OutboxPayload::default(),
        state: OutboxState::Pending,
        max_attempts: 5,
        at: t0(),
    })
    .await
    .unwrap();
    tx.commit().await.unwrap();
    id
}

async fn outbox_claims(engine: Engine) {
    // Arrange
    let db = TestDb::new(engine).await;
    let store = db.store().await;
    let (_, thread) = new_thread(&store, "o@example.net").await;
    let id = queue_outbox(&store, thread).await;
    let lease = Duration::from_secs(60);
    // Act + Assert: a claim is exclusive while its lease runs.
    assert!(
        store
            .claim_outbox_job(&[Channel::Messenger], t0(), lease)
            .await
            .unwrap()
            .is_none(),
        "other channels do not claim it"
    );
    let job = store
        .claim_outbox_job(&[Channel::Email], t0(), lease)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((job.id, job.attempt), (id, 1));
    assert!(store
        .claim_outbox_job(&[Channel::Email], t0(), lease)
        .await
        .unwrap()
        .is_none());
    // A retry comes back only when due.
    store
        .retry_outbox_job(id, t0() + chrono::Duration::minutes(5), "boom", t0())
        .await
        .unwrap();
    assert!(store
        .claim_outbox_job(&[Channel::Email], t0(), lease)
        .await
        .unwrap()
        .is_none());
    let again = store
        .claim_outbox_job(
            &[Channel::Email],
            t0() + chrono::Duration::minutes(5),
            lease,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.attempt, 2);
    // An expired lease becomes unconfirmed, never pending.
    assert_eq!(
        store
            .expire_outbox_leases(t0() + chrono::Duration::minutes(10))
            .await
            .unwrap(),
        1
    );
    assert!(store
        .claim_outbox_job(&[Channel::Email], t0() + chrono::Duration::hours(1), lease)
        .await
        .unwrap()
        .is_none());
    let rows = store.list_outbox(thread).await.unwrap();
    assert_eq!(
        (rows[0].state, rows[0].last_error.as_deref()),
        (OutboxState::Unconfirmed, Some("attempt_outcome_unknown"))
    );
    // An agent's retry puts it back.
    store
        .requeue_outbox_job(id, t0() + chrono::Duration::hours(1))
        .await
        .unwrap();
    let third = store
        .claim_outbox_job(&[Channel::Email], t0() + chrono::Duration::hours(1), lease)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(third.attempt, 3);
    store.fail_outbox_job(id, "550", t0()).await.unwrap();
    assert_eq!(
        store.list_outbox(thread).await.unwrap()[0].state,
        OutboxState::Failed
    );
    assert!(matches!(
        store.requeue_outbox_job(OutboxId::generate(), t0()).await,
        Err(StoreError::NotFound)
    ));
    let counts = store.count_outbox_by_state().await.unwrap();
    assert_eq!(counts, vec![(OutboxState::Failed, 1)]);
}
both_engines!(
    outbox_claims_are_leases_and_an_expired_lease_is_unconfirmed_not_resent,
    outbox_claims
);

async fn concurrent_claims(engine: Engine) {
    // Arrange
    let db = TestDb::new(engine).await;
    let stores = [db.store().await, db.store().await];
    let (_, thread) = new_thread(&stores[0], "c@example.net").await;
    for _ in 0..40 {
        queue_outbox(&stores[0], thread).await;
    }
    // Act: four workers over two stores drain the queue.
    let mut tasks = Vec::new();
    for i in 0..4 {
        let store = Arc::clone(&stores[i % 2]);
        tasks.push(tokio::spawn(async move {
            let mut claimed = Vec::new();
            loop {
                match store
                    .claim_outbox_job(&[Channel::Email], t0(), Duration::from_secs(60))
                    .await
                {
                    Ok(Some(job)) => claimed.push(job.id),
                    Ok(None) => return claimed,
                    Err(StoreError::Unavailable(_)) => continue,
                    Err(e) => panic!("{e:?}"),
                }
            }
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    // Assert
    let total = all.len();
    all.sort();
    all.dedup();
    assert_eq!(
        (total, all.len()),
        (40, 40),
        "every row claimed exactly once"
    );
}
both_engines!(
    concurrent_workers_on_two_stores_claim_every_outbox_row_exactly_once,
    concurrent_claims
);

async fn waiting_rows(engine: Engine) {
    // Arrange
    let db = TestDb::new(engine).await;
    let store = db.store().await;
    let (_, thread) = new_thread(&store, "w@example.net").await;
    let mut tx = store.begin().await.unwrap();
    tx.enqueue_outbox(&NewOutbox {
        id: OutboxId::generate(),
        thread_id: thread,
        cause_message_id: None,
        channel: Channel::Email,
        kind: OutboundKind::Acknowledgement,
        recipient: ChannelIdentity::Email {
            address: EmailAddress::parse("w@example.net").unwrap(),
        },
        language: Language::En,
        rfc_message_id: None,
        payload: OutboxPayload::default(),
        state: OutboxState::WaitingChannel,
        max_attempts: 5,
        at: t0(),
    })
    .await
    .unwrap();
    tx.commit().await.unwrap();
    // Act
    let before = store
        .claim_outbox_job(&[Channel::Email], t0(), Duration::from_secs(60))
        .await
        .unwrap();
    let woken = store
        .activate_waiting_outbox(&[Channel::Email], t0())
        .await
        .unwrap();
    let after = store
        .claim_outbox_job(&[Channel::Email], t0(), Duration::from_secs(60))
        .await
        .unwrap();
    // Assert
    assert!(before.is_none());
    assert_eq!(woken, 1);
    assert_eq!(after.unwrap().language, Language::En);
}
both_engines!(
    rows_waiting_for_a_channel_are_queued_once_the_channel_exists,
    waiting_rows
);

async fn audit_log_is_append_only(engine: Engine) {
    // Arrange
    let db = TestDb::new(engine).await;
    let store = db.store().await;
    let insert = "INSERT INTO audit_log (id, at, actor, action, subject, before, after)
                  VALUES ('a1', '2026-01-13T14:00:00Z', 'system', 'test.done', 'thread:x', NULL, '{}')";
    let update = "UPDATE audit_log SET actor = 'someone else'";
    let delete = "DELETE FROM audit_log";

    // Act: add a row, then try to change and remove it.
    let results: Vec<bool> = if engine == Engine::Sqlite {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
        let mut out = Vec::new();
        for sql in [insert, update, delete] {
            out.push(sqlx::query(sql).execute(&mut conn).await.is_ok());
        }
        out
    } else {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
        let insert = insert.replace(
            "'2026-01-13T14:00:00Z'",
            "TIMESTAMPTZ '2026-01-13T14:00:00Z'",
        );
        let mut out = Vec::new();
        for sql in [insert.as_str(), update, delete] {
            out.push(sqlx::query(sql).execute(&mut conn).await.is_ok());
        }
        out
    };

    // Assert: added, never changed, never removed.
    assert_eq!(results, vec![true, false, false]);
    let kept = store.list_audit("thread:x").await.unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].actor, "system");
}
both_engines!(
    the_audit_log_takes_new_rows_and_refuses_changes_and_deletions,
    audit_log_is_append_only
);
