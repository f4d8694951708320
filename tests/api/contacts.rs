//! Phone calls and counter visits recorded through the API, citizens'
//! records (search, edits by two agents, merge suggestions and merges),
//! linked threads, and the first-contact statistics, on both engines.

use std::sync::Arc;

use inbox::auth::Role;
use models::OutboundKind;
use serde_json::{json, Value};

use crate::both_engines;
use crate::doubles::RecordingSender;
use crate::helpers::{email_message, spawn_app_with, AppOptions, Engine, TestApp};
use crate::workspace::account;

struct Desk {
    app: TestApp,
    sender: Arc<RecordingSender>,
    agent: String,
    other_agent: String,
    supervisor: String,
}

async fn desk(engine: Engine) -> Desk {
    let sender = Arc::new(RecordingSender::email());
    let app = spawn_app_with(
        engine,
        AppOptions {
            connectors: vec![sender.clone()],
            ..AppOptions::default()
        },
    )
    .await;
    let agent = account(&app, "agente@saintejulie.ca", Role::Agent).await;
    let other_agent = account(&app, "agent2@saintejulie.ca", Role::Agent).await;
    let supervisor = account(&app, "superviseur@saintejulie.ca", Role::Supervisor).await;
    Desk {
        app,
        sender,
        agent,
        other_agent,
        supervisor,
    }
}

impl Desk {
    async fn send(
        &self,
        method: reqwest::Method,
        token: Option<&str>,
        path: &str,
        body: Option<&Value>,
        key: Option<&str>,
    ) -> (u16, Value) {
        let mut req = self
            .app
            .client
            .request(method, format!("{}{path}", self.app.address));
        if let Some(body) = body {
            req = req.json(body);
        }
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(key) = key {
            req = req.header("Idempotency-Key", key);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, token: &str, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::GET, Some(token), path, None, None)
            .await
    }

    async fn post(&self, token: &str, path: &str, body: &Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, Some(token), path, Some(body), None)
            .await
    }

    async fn record(&self, body: &Value) -> (u16, Value) {
        self.post(&self.agent, "/api/v1/contacts-log", body).await
    }

    /// Records as the agent with an `Idempotency-Key`.
    async fn record_with_key(&self, body: &Value, key: &str) -> (u16, Value) {
        self.send(
            reqwest::Method::POST,
            Some(&self.agent),
            "/api/v1/contacts-log",
            Some(body),
            Some(key),
        )
        .await
    }

    /// This week's row of the first-contact statistics for `channel`.
    async fn this_week(&self, channel: &str) -> (u64, u64) {
        let (status, stats) = self
            .get(&self.supervisor, "/api/v1/stats/first-contact?weeks=1")
            .await;
        assert_eq!(status, 200, "{stats}");
        let row = stats["weeks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["channel"] == channel)
            .unwrap_or_else(|| panic!("no {channel} row in {stats}"))
            .clone();
        (
            row["contacts"].as_u64().unwrap(),
            row["resolved"].as_u64().unwrap(),
        )
    }

    async fn log_rows(&self, contact: &str) -> usize {
        let (_, c) = self
            .get(&self.agent, &format!("/api/v1/contacts/{contact}"))
            .await;
        c["contact_log"].as_array().map_or(0, Vec::len)
    }
}

async fn a_call_resolved_at_first_contact_is_counted_without_a_reference(engine: Engine) {
    // Arrange
    let desk = desk(engine).await;

    // Act
    let (status, body) = desk
        .record(&json!({
            "channel": "phone", "name": "Thérèse Bélanger", "phone": "450 922-7111",
            "text": "Quel jour passe la collecte des encombrants rue des Pruches?",
            "topic": "waste", "outcome": "resolved",
        }))
        .await;
    let (_, by_phone) = desk
        .get(&desk.agent, "/api/v1/contacts?q=(450)%20922-7111")
        .await;
    let (_, by_name) = desk
        .get(&desk.agent, "/api/v1/contacts?q=therese%20BELANGER")
        .await;
    desk.app.run_pending_jobs().await;

    // Assert
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["outcome"], "resolved");
    assert!(body["reference"].is_null() && body["thread_id"].is_null());
    assert_eq!(body["acknowledgement"], "none");
    let contact = body["contact_id"].as_str().unwrap();
    for found in [&by_phone, &by_name] {
        let list = found["contacts"].as_array().unwrap();
        assert_eq!(list.len(), 1, "{found}");
        assert_eq!(list[0]["id"], contact);
        assert_eq!(list[0]["phone"], "+14509227111");
    }
    assert_eq!(desk.this_week("phone").await, (1, 1));
    assert_eq!(desk.this_week("counter").await, (0, 0));
    assert!(desk.sender.sent().is_empty(), "nothing to acknowledge");
    let (_, threads) = desk.get(&desk.agent, "/api/v1/threads").await;
    assert_eq!(threads["threads"].as_array().unwrap().len(), 0);
}
both_engines!(
    a_call_resolved_at_first_contact_is_recorded_and_counted_without_a_reference,
    a_call_resolved_at_first_contact_is_counted_without_a_reference
);

async fn a_counter_visit_opens_a_request_that_a_later_email_joins(engine: Engine) {
    // Arrange
    let desk = desk(engine).await;

    // Act: the agent opens a request; the citizen later writes by email.
    let (status, body) = desk
        .record(&json!({
            "channel": "counter", "name": "Réjean Bouchard", "email": "Rejean@Example.net",
            "phone": "514-555-0199", "postal_address": "12 rue des Pruches",
            "text": "Lampadaire éteint devant le 12 rue des Pruches depuis une semaine.",
            "topic": "roads_snow", "outcome": "request",
        }))
        .await;
    desk.app.run_pending_jobs().await;
    let reference = body["reference"].as_str().unwrap_or_default().to_owned();
    let later = desk
        .app
        .ingest(&email_message(
            "rejean@example.net",
            &format!("Re: [{reference}] lampadaire"),
            "Toujours éteint ce soir, merci de faire un suivi.",
            "suivi-1@poste.example.net",
        ))
        .await;

    // Assert
    assert_eq!(status, 201, "{body}");
    assert!(reference.starts_with("SJ-"), "{body}");
    assert_eq!(body["acknowledgement"], "email");
    let sent = desk.sender.sent();
    assert_eq!(sent.len(), 1, "one acknowledgement");
    assert_eq!(sent[0].kind, OutboundKind::Acknowledgement);
    assert_eq!(sent[0].recipient.key(), "rejean@example.net");
    assert!(sent[0].text.contains(&reference), "{}", sent[0].text);
    assert_eq!(
        later.thread_id.to_string(),
        body["thread_id"].as_str().unwrap()
    );
    assert!(!later.new_thread && later.acknowledgement.is_none());
    let (_, thread) = desk
        .get(&desk.agent, &format!("/api/v1/threads/{}", later.thread_id))
        .await;
    assert_eq!(thread["thread"]["channel"], "counter");
    assert_eq!(thread["thread"]["topic"], "roads_snow");
    assert_eq!(
        thread["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["direction"] == "inbound")
            .count(),
        2
    );
    assert_eq!(desk.this_week("counter").await, (1, 0));
    let (_, contact) = desk
        .get(
            &desk.agent,
            &format!("/api/v1/contacts/{}", body["contact_id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(contact["contact"]["postal_address"], "12 rue des Pruches");
    let kinds: Vec<&str> = contact["contact"]["identities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i[0].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["email", "phone"]);
}
both_engines!(
    a_counter_visit_opens_a_request_acknowledged_by_email_that_a_later_email_joins,
    a_counter_visit_opens_a_request_that_a_later_email_joins
);

async fn a_double_submit_is_one_contact_and_one_reference(engine: Engine) {
    // Arrange
    let desk = desk(engine).await;
    let body = json!({
        "channel": "phone", "phone": "450 922-7111", "name": "Lise Tremblay",
        "text": "Nid-de-poule profond rue Thérèse.", "outcome": "request",
    });

    // Act: the same submit four times at once, then once more.
    let key = "dbl-1";
    let mut answers = Vec::new();
    let runs: Vec<_> = (0..4).map(|_| desk.record_with_key(&body, key)).collect();
    for answer in futures::future::join_all(runs).await {
        answers.push(answer);
    }
    answers.push(desk.record_with_key(&body, key).await);
    let mut other = body.clone();
    other["text"] = json!("Autre chose");
    let reused = desk.record_with_key(&other, key).await;
    desk.app.run_pending_jobs().await;

    // Assert
    let first = &answers[0].1;
    for (status, answer) in &answers {
        assert_eq!(*status, 201, "{answer}");
        assert_eq!(answer["reference"], first["reference"]);
        assert_eq!(answer["id"], first["id"]);
    }
    assert_eq!(reused.0, 409, "{}", reused.1);
    assert_eq!(reused.1["code"], "idempotency_mismatch");
    assert_eq!(
        desk.log_rows(first["contact_id"].as_str().unwrap()).await,
        1
    );
    let (_, threads) = desk.get(&desk.agent, "/api/v1/threads").await;
    assert_eq!(threads["threads"].as_array().unwrap().len(), 1);
    assert!(
        desk.sender.sent().is_empty(),
        "no email address, no acknowledgement"
    );
}
both_engines!(
    a_double_submit_of_a_recorded_call_is_one_contact_and_one_reference,
    a_double_submit_is_one_contact_and_one_reference
);

async fn bad_records_are_refused_with_the_field_named(engine: Engine) {
    // Arrange
    let desk = desk(engine).await;
    let base = json!({ "channel": "phone", "name": "Lise", "phone": "450 922-7111", "text": "Bonjour", "outcome": "resolved" });
    let with = |field: &str, value: Value| {
        let mut b = base.clone();
        b[field] = value;
        b
    };
    let cases = [
        ("unparseable phone", with("phone", json!("922-71")), "phone"),
        (
            "letters in the phone",
            with("phone", json!("450 CALL-NOW")),
            "phone",
        ),
        ("empty request text", with("text", json!("   ")), "text"),
        ("unknown channel", with("channel", json!("fax")), "channel"),
        (
            "unknown outcome",
            with("outcome", json!("maybe")),
            "outcome",
        ),
        ("unknown topic", with("topic", json!("<script>")), "topic"),
        ("bad email", with("email", json!("rejean@")), "email"),
        (
            "unknown contact",
            with("contact_id", json!("not-an-id")),
            "contact_id",
        ),
        (
            "no citizen",
            json!({ "channel": "counter", "text": "Bonjour", "outcome": "resolved" }),
            "contact_id",
        ),
        (
            "request with a name only",
            json!({ "channel": "counter", "name": "Lise", "text": "Bonjour", "outcome": "request" }),
            "phone",
        ),
        (
            "text over the limit",
            with("text", json!("é".repeat(10_001))),
            "text",
        ),
    ];

    // Act / Assert
    for (case, body, field) in cases {
        let (status, answer) = desk.record(&body).await;
        assert_eq!(status, 422, "{case}: {answer}");
        let fields: Vec<&str> = answer["fields"]
            .as_array()
            .unwrap_or_else(|| panic!("{case}: {answer}"))
            .iter()
            .map(|f| f["field"].as_str().unwrap())
            .collect();
        assert!(fields.contains(&field), "{case}: {answer}");
    }
    let unknown = with("contact_id", json!(uuid::Uuid::now_v7().to_string()));
    let (status, answer) = desk.record(&unknown).await;
    assert_eq!(status, 422, "a contact that does not exist: {answer}");
    let (status, _) = desk
        .send(
            reqwest::Method::POST,
            None,
            "/api/v1/contacts-log",
            Some(&base),
            None,
        )
        .await;
    assert_eq!(status, 401);
    let (status, _) = desk.get(&desk.agent, "/api/v1/stats/first-contact").await;
    assert_eq!(status, 403, "statistics are for supervisors");
    let (status, _) = desk
        .get(&desk.supervisor, "/api/v1/stats/first-contact?weeks=0")
        .await;
    assert_eq!(status, 422);
    let (status, _) = desk
        .send(
            reqwest::Method::POST,
            Some(&desk.agent),
            "/api/v1/contacts-log",
            Some(&json!({"channel": "phone"})),
            None,
        )
        .await;
    assert_eq!(status, 422, "missing fields");
    assert_eq!(desk.this_week("phone").await, (0, 0), "nothing was written");
}
both_engines!(
    bad_recorded_contacts_are_refused_with_the_field_named_and_nothing_written,
    bad_records_are_refused_with_the_field_named
);

async fn two_agents_editing_one_citizen(engine: Engine) {
    // Arrange
    let desk = desk(engine).await;
    let (_, rec) = desk
        .record(&json!({ "channel": "phone", "name": "Lise Tremblay", "phone": "450 922-7111", "text": "Bonjour", "outcome": "resolved" }))
        .await;
    let contact = rec["contact_id"].as_str().unwrap().to_owned();
    let (_, before) = desk
        .get(&desk.agent, &format!("/api/v1/contacts/{contact}"))
        .await;
    let version = before["contact"]["version"].as_i64().unwrap();
    let path = format!("/api/v1/contacts/{contact}");

    // Act: both saw the same version; the second edit arrives after the first.
    let first = desk
        .send(
            reqwest::Method::PATCH,
            Some(&desk.agent),
            &path,
            Some(&json!({ "version": version, "postal_address": "12 rue des Pruches" })),
            None,
        )
        .await;
    let second = desk
        .send(
            reqwest::Method::PATCH,
            Some(&desk.other_agent),
            &path,
            Some(&json!({ "version": version, "postal_address": "99 rue Principale" })),
            None,
        )
        .await;
    let bad_phone = desk
        .send(
            reqwest::Method::PATCH,
            Some(&desk.agent),
            &path,
            Some(&json!({ "version": version + 1, "phone": "12" })),
            None,
        )
        .await;
    let (_, after) = desk.get(&desk.agent, &path).await;

    // Assert
    assert_eq!(first.0, 200, "{}", first.1);
    assert_eq!(second.0, 409, "{}", second.1);
    assert_eq!(second.1["code"], "conflict");
    assert_eq!(bad_phone.0, 422);
    assert_eq!(after["contact"]["postal_address"], "12 rue des Pruches");
    assert_eq!(after["contact"]["version"].as_i64().unwrap(), version + 1);
}
both_engines!(
    a_citizen_record_edited_by_two_agents_at_once_is_a_conflict_not_an_overwrite,
    two_agents_editing_one_citizen
);

async fn same_person_on_two_channels_is_offered_then_merged(engine: Engine) {
    // Arrange: a web-form request with a phone number, then a call from
    // that number recorded as a new citizen; and a namesake elsewhere.
    let desk = desk(engine).await;
    let resp = desk
        .app
        .post_form_json(&json!({ "name": "Lise Tremblay", "email": "lise@example.net", "phone": "450-922-7111", "message": "Ma boîte de service fuit." }))
        .await;
    assert_eq!(resp.status().as_u16(), 201);
    let form: Value = resp.json().await.unwrap();
    let (_, call) = desk
        .record(&json!({ "channel": "phone", "name": "LISE TREMBLAY", "phone": "+1 450 922 7111", "text": "Suivi de ma demande.", "outcome": "request" }))
        .await;
    let call_contact = call["contact_id"].as_str().unwrap().to_owned();
    let (_, form_thread) = desk
        .get(
            &desk.agent,
            &format!("/api/v1/threads/{}", form["thread_id"].as_str().unwrap()),
        )
        .await;
    let form_contact = form_thread["thread"]["contact_id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Act
    let (_, offered) = desk
        .get(&desk.agent, &format!("/api/v1/contacts/{call_contact}"))
        .await;
    let unlinked = desk
        .post(
            &desk.agent,
            &format!(
                "/api/v1/threads/{}/links",
                call["thread_id"].as_str().unwrap()
            ),
            &json!({ "thread_id": form["thread_id"] }),
        )
        .await;
    let merged = desk
        .post(
            &desk.agent,
            &format!("/api/v1/contacts/{call_contact}/merge"),
            &json!({ "into": form_contact }),
        )
        .await;
    let again = desk
        .post(
            &desk.agent,
            &format!("/api/v1/contacts/{call_contact}/merge"),
            &json!({ "into": form_contact }),
        )
        .await;
    let itself = desk
        .post(
            &desk.agent,
            &format!("/api/v1/contacts/{form_contact}/merge"),
            &json!({ "into": form_contact }),
        )
        .await;
    let linked = desk
        .post(
            &desk.agent,
            &format!(
                "/api/v1/threads/{}/links",
                call["thread_id"].as_str().unwrap()
            ),
            &json!({ "thread_id": form["thread_id"] }),
        )
        .await;
    let (_, survivor) = desk
        .get(&desk.agent, &format!("/api/v1/contacts/{form_contact}"))
        .await;
    let (_, gone) = desk
        .get(&desk.agent, &format!("/api/v1/contacts/{call_contact}"))
        .await;
    let (_, search) = desk
        .get(&desk.agent, "/api/v1/contacts?q=450%20922-7111")
        .await;
    let (_, audit) = desk
        .get(
            &desk.supervisor,
            &format!("/api/v1/audit?subject=contact:{form_contact}"),
        )
        .await;

    // Assert
    let candidates = offered["merge_candidates"].as_array().unwrap();
    assert_eq!(candidates.len(), 1, "{offered}");
    assert_eq!(candidates[0]["contact"]["id"], form_contact);
    assert_eq!(candidates[0]["reason"], "same_phone");
    assert_eq!(
        unlinked.0, 422,
        "two contacts' threads are not linked: {}",
        unlinked.1
    );
    assert_eq!(merged.0, 200, "{}", merged.1);
    assert_eq!(again.0, 404, "already merged");
    assert_eq!(itself.0, 422);
    assert_eq!(linked.0, 201, "{}", linked.1);
    assert_eq!(survivor["threads"].as_array().unwrap().len(), 2);
    assert_eq!(survivor["contact_log"].as_array().unwrap().len(), 1);
    assert_eq!(gone["contact"]["merged_into"], form_contact.as_str());
    let found = search["contacts"].as_array().unwrap();
    assert_eq!(found.len(), 1, "{search}");
    assert_eq!(found[0]["id"], form_contact);
    assert!(audit.to_string().contains("contact.merged"), "{audit}");
    let (_, thread) = desk
        .get(
            &desk.agent,
            &format!("/api/v1/threads/{}", call["thread_id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(thread["thread"]["contact_id"], form_contact.as_str());
}
both_engines!(
    the_same_person_on_two_channels_is_offered_for_merging_and_merged_only_when_an_agent_confirms,
    same_person_on_two_channels_is_offered_then_merged
);

async fn an_identity_of_another_citizen_is_refused(engine: Engine) {
    // Arrange: two citizens.
    let desk = desk(engine).await;
    let (_, a) = desk
        .record(&json!({ "channel": "phone", "name": "A", "email": "a@example.net", "text": "Bonjour", "outcome": "resolved" }))
        .await;
    let (_, b) = desk
        .record(&json!({ "channel": "phone", "name": "B", "phone": "450 922-7111", "text": "Bonjour", "outcome": "resolved" }))
        .await;

    // Act: a call picked as B, giving A's address.
    let (status, answer) = desk
        .record(&json!({ "channel": "counter", "contact_id": b["contact_id"], "email": "a@example.net", "text": "Encore moi", "outcome": "request" }))
        .await;

    // Assert
    assert_eq!(status, 409, "{answer}");
    assert_eq!(answer["code"], "identity_taken");
    assert_eq!(desk.log_rows(b["contact_id"].as_str().unwrap()).await, 1);
    assert_eq!(desk.log_rows(a["contact_id"].as_str().unwrap()).await, 1);
    let (_, threads) = desk.get(&desk.agent, "/api/v1/threads").await;
    assert!(
        threads["threads"].as_array().unwrap().is_empty(),
        "nothing half-written"
    );
    assert_eq!(
        desk.app.store.count_outbox_by_state().await.unwrap().len(),
        0
    );
}
both_engines!(
    an_email_of_another_citizen_given_for_a_picked_contact_is_refused_and_nothing_is_written,
    an_identity_of_another_citizen_is_refused
);
