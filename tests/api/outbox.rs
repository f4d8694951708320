//! The outbox worker: retries with backoff, gives up after its attempts,
//! survives restarts, and never sends the same message twice.

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use inbox::outbox::StepOutcome;
use models::{Channel, OutboxState, ThreadId};

use crate::both_engines;
use crate::doubles::{Failure, RecordingSender};
use crate::helpers::{form_body, spawn_app_with, AppOptions, Engine};

fn start() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 13, 15, 0, 0).unwrap()
}

async fn submit(app: &crate::helpers::TestApp, email: &str) -> ThreadId {
    let r = app.post_form_json(&form_body(email, "Bac brisé")).await;
    assert_eq!(r.status(), 201);
    ThreadId::parse(
        r.json::<serde_json::Value>().await.unwrap()["thread_id"]
            .as_str()
            .unwrap(),
    )
    .unwrap()
}

async fn transient_failures_are_retried_with_backoff(engine: Engine) {
    // Arrange
    let sender = Arc::new(RecordingSender::new(
        &[Channel::Email],
        2,
        Failure::Transient,
    ));
    let app = spawn_app_with(
        engine,
        AppOptions {
            now: Some(start()),
            connectors: vec![sender.clone()],
            ..AppOptions::default()
        },
    )
    .await;
    let thread = submit(&app, "retry@example.net").await;
    // Act: first attempt fails; nothing is due until the backoff passes.
    let first = app.outbox().step().await.unwrap();
    let idle = app.outbox().step().await.unwrap();
    app.set_now(start() + Duration::hours(2));
    let second = app.outbox().step().await.unwrap();
    app.set_now(start() + Duration::hours(4));
    let third = app.outbox().step().await.unwrap();
    // Assert
    assert!(matches!(first, StepOutcome::Retry { .. }), "{first:?}");
    assert_eq!(idle, StepOutcome::QueueEmpty, "not due before its backoff");
    assert!(matches!(second, StepOutcome::Retry { .. }), "{second:?}");
    assert_eq!(third, StepOutcome::Completed);
    assert_eq!(sender.attempt_count(), 3);
    assert_eq!(sender.sent().len(), 1);
    let rows = app.store.list_outbox(thread).await.unwrap();
    assert_eq!((rows[0].state, rows[0].attempts), (OutboxState::Sent, 3));
    assert_eq!(
        rows[0].provider_message_id.as_deref(),
        Some(format!("provider-{}", rows[0].id).as_str())
    );
    let messages = app.store.list_messages(thread).await.unwrap();
    assert_eq!(
        messages.len(),
        2,
        "the sent acknowledgement is part of the thread"
    );
    assert!(messages[1].body_text.contains("SJ-2026-000001"));
}
both_engines!(
    a_transient_failure_is_retried_after_a_backoff_until_it_is_delivered_once,
    transient_failures_are_retried_with_backoff
);

async fn gives_up_after_max_attempts(engine: Engine) {
    // Arrange
    let sender = Arc::new(RecordingSender::new(
        &[Channel::Email],
        100,
        Failure::Transient,
    ));
    let app = spawn_app_with(
        engine,
        AppOptions {
            now: Some(start()),
            connectors: vec![sender.clone()],
            configure: Some(Box::new(|s| s.workers.outbox_max_attempts = 3)),
            ..AppOptions::default()
        },
    )
    .await;
    let thread = submit(&app, "dead@example.net").await;
    // Act
    let mut outcomes = Vec::new();
    for hour in 0..6 {
        app.set_now(start() + Duration::hours(hour * 3));
        outcomes.extend(app.run_pending_jobs().await);
    }
    // Assert
    assert_eq!(sender.attempt_count(), 3);
    assert!(outcomes.contains(&StepOutcome::Dead));
    let row = &app.store.list_outbox(thread).await.unwrap()[0];
    assert_eq!(row.state, OutboxState::Failed);
    assert_eq!(
        row.last_error.as_deref(),
        Some("transient failure: connection reset")
    );
    // An agent's retry gives it one more attempt.
    app.store
        .requeue_outbox_job(row.id, start() + Duration::hours(20))
        .await
        .unwrap();
    app.set_now(start() + Duration::hours(20));
    app.run_pending_jobs().await;
    assert_eq!(sender.attempt_count(), 4);
}
both_engines!(
    a_message_that_keeps_failing_is_marked_failed_after_its_attempts_and_an_agent_can_retry_it,
    gives_up_after_max_attempts
);

async fn permanent_failure_is_not_retried(engine: Engine) {
    // Arrange
    let sender = Arc::new(RecordingSender::new(
        &[Channel::Email],
        1,
        Failure::Permanent,
    ));
    let app = spawn_app_with(
        engine,
        AppOptions {
            now: Some(start()),
            connectors: vec![sender.clone()],
            ..AppOptions::default()
        },
    )
    .await;
    let thread = submit(&app, "perm@example.net").await;
    // Act
    let outcomes = app.run_pending_jobs().await;
    app.set_now(start() + Duration::days(2));
    app.run_pending_jobs().await;
    // Assert
    assert_eq!(outcomes[0], StepOutcome::Dead);
    assert_eq!(sender.attempt_count(), 1);
    assert_eq!(
        app.store.list_outbox(thread).await.unwrap()[0].state,
        OutboxState::Failed
    );
}
both_engines!(
    a_permanent_refusal_marks_the_message_failed_without_retrying,
    permanent_failure_is_not_retried
);

async fn restart_never_sends_twice(engine: Engine) {
    // Arrange: one delivery is claimed by a worker that "dies" before it can
    // record the outcome; another has failed once and waits for its retry.
    let first_sender = Arc::new(RecordingSender::new(
        &[Channel::Email],
        1,
        Failure::Transient,
    ));
    let app = spawn_app_with(
        engine,
        AppOptions {
            now: Some(start()),
            connectors: vec![first_sender.clone()],
            ..AppOptions::default()
        },
    )
    .await;
    let interrupted = submit(&app, "crash@example.net").await;
    let retried = submit(&app, "retried@example.net").await;
    let claimed = app
        .store
        .claim_outbox_job(
            &[Channel::Email],
            start(),
            std::time::Duration::from_secs(300),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.thread_id, interrupted);
    let failed_once = app.outbox().step().await.unwrap();
    assert!(
        matches!(failed_once, StepOutcome::Retry { .. }),
        "{failed_once:?}"
    );
    let db = app.db.clone();
    drop(app);
    // Act: restart on the same database after the lease has run out.
    let second_sender = Arc::new(RecordingSender::email());
    let restarted = spawn_app_with(
        engine,
        AppOptions {
            now: Some(start() + Duration::hours(3)),
            connectors: vec![second_sender.clone()],
            db: Some(db),
            ..AppOptions::default()
        },
    )
    .await;
    restarted.outbox().recover().await.unwrap();
    restarted.run_pending_jobs().await;
    restarted.run_pending_jobs().await;
    // Assert
    let recipients: Vec<String> = second_sender
        .sent()
        .iter()
        .map(|m| m.recipient.email().unwrap().to_string())
        .collect();
    assert_eq!(
        recipients,
        ["retried@example.net"],
        "only the retried message is sent after the restart"
    );
    let interrupted_row = &restarted.store.list_outbox(interrupted).await.unwrap()[0];
    assert_eq!(
        interrupted_row.state,
        OutboxState::Unconfirmed,
        "an attempt of unknown outcome is never resent automatically"
    );
    let retried_row = &restarted.store.list_outbox(retried).await.unwrap()[0];
    assert_eq!(
        (retried_row.state, retried_row.attempts),
        (OutboxState::Sent, 2),
        "the attempt count survived the restart"
    );
}
both_engines!(
    a_restart_resumes_retries_and_never_resends_a_message_whose_attempt_was_cut_short,
    restart_never_sends_twice
);
