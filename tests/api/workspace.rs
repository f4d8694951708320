//! The workspace's REST API: every permission boundary, the inbox listing
//! with its filters, search and pages, the actions on a thread with their
//! audit trail and the messages they send, and supervisors' decisions.

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use inbox::auth::{hash_password, new_token, Role};
use inbox::store::workspace::{NewToken, NewUser, TokenScope};
use models::{Channel, OutboundKind};
use serde_json::{json, Value};

use crate::both_engines;
use crate::doubles::RecordingSender;
use crate::helpers::{email_message, spawn_app_with, AppOptions, Engine, TestApp};

/// An account with a token; returns the token.
pub(crate) async fn account(app: &TestApp, email: &str, role: Role) -> String {
    let id = uuid::Uuid::now_v7().to_string();
    app.store
        .create_user(&NewUser {
            id: id.clone(),
            email: email.to_owned(),
            display_name: None,
            role,
            password_hash: hash_password("un mot de passe assez long").unwrap(),
            at: Utc::now(),
        })
        .await
        .unwrap();
    let (token, hash) = new_token();
    app.store
        .create_token(&NewToken::full(&id, hash, Utc::now()), "test")
        .await
        .unwrap();
    token
}

pub(crate) struct Workspace {
    pub(crate) app: TestApp,
    pub(crate) sender: Arc<RecordingSender>,
    pub(crate) agent: String,
    pub(crate) supervisor: String,
}

pub(crate) fn t0() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 15, 0, 0).unwrap()
}

pub(crate) async fn workspace(engine: Engine) -> Workspace {
    let sender = Arc::new(RecordingSender::email());
    let app = spawn_app_with(
        engine,
        AppOptions {
            now: Some(t0()),
            connectors: vec![sender.clone()],
            ..AppOptions::default()
        },
    )
    .await;
    let agent = account(&app, "agente@saintejulie.ca", Role::Agent).await;
    let supervisor = account(&app, "superviseur@saintejulie.ca", Role::Supervisor).await;
    Workspace {
        app,
        sender,
        agent,
        supervisor,
    }
}

impl Workspace {
    pub(crate) async fn get(&self, token: Option<&str>, path: &str) -> (u16, Value) {
        let mut req = self.app.client.get(format!("{}{path}", self.app.address));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    pub(crate) async fn post(&self, token: Option<&str>, path: &str, body: &Value) -> (u16, Value) {
        let mut req = self
            .app
            .client
            .post(format!("{}{path}", self.app.address))
            .json(body);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// The thread as the agent reads it from the API (200 asserted).
    pub(crate) async fn thread(&self, thread: &str) -> Value {
        let (status, body) = self
            .get(Some(&self.agent), &format!("/api/v1/threads/{thread}"))
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// The audit log's actions on `subject`, oldest first, as a supervisor reads them.
    async fn audit_actions(&self, subject: &str) -> Vec<String> {
        let (_, audit) = self
            .get(
                Some(&self.supervisor),
                &format!("/api/v1/audit?subject={subject}"),
            )
            .await;
        audit["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap().to_owned())
            .collect()
    }

    /// A citizen's email at `minutes` after t0; returns the thread id.
    pub(crate) async fn email(
        &self,
        minutes: i64,
        from: &str,
        subject: &str,
        body: &str,
    ) -> String {
        let now = t0() + Duration::minutes(minutes);
        self.app.set_now(now);
        let mut message = email_message(
            from,
            subject,
            body,
            &format!("{}@poste.example.net", uuid::Uuid::now_v7().simple()),
        );
        message.received_at = now;
        self.app.ingest(&message).await.thread_id.to_string()
    }
}

async fn permission_boundaries(engine: Engine) {
    // Arrange
    let ws = workspace(engine).await;
    let thread = ws
        .email(
            0,
            "a@example.net",
            "Lampadaire",
            "Le lampadaire est éteint.",
        )
        .await;
    let admin = account(&ws.app, "admin@saintejulie.ca", Role::Admin).await;

    // Act + Assert: no token, a bad token, a malformed header.
    assert_eq!(ws.get(None, "/api/v1/threads").await.0, 401);
    assert_eq!(ws.get(Some("sjt_0000"), "/api/v1/threads").await.0, 401);
    let raw = ws
        .app
        .client
        .get(format!("{}/api/v1/threads", ws.app.address))
        .header("authorization", format!("Basic {}", ws.agent))
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 401);
    assert_eq!(
        ws.post(
            None,
            &format!("/api/v1/threads/{thread}/notes"),
            &json!({"body": "x"})
        )
        .await
        .0,
        401
    );

    // An agent triages but neither decides flags nor reads the audit log.
    let agent = Some(ws.agent.as_str());
    assert_eq!(ws.get(agent, "/api/v1/threads").await.0, 200);
    assert_eq!(
        ws.get(agent, &format!("/api/v1/threads/{thread}")).await.0,
        200
    );
    assert_eq!(ws.get(agent, "/api/v1/review").await.0, 403);
    let some_message = uuid::Uuid::now_v7();
    assert_eq!(
        ws.post(
            agent,
            &format!("/api/v1/review/{some_message}"),
            &json!({"decision": "dismiss"})
        )
        .await
        .0,
        403
    );
    assert_eq!(
        ws.get(agent, &format!("/api/v1/audit?subject=thread:{thread}"))
            .await
            .0,
        403
    );

    // A supervisor and an admin can.
    for token in [ws.supervisor.as_str(), admin.as_str()] {
        assert_eq!(ws.get(Some(token), "/api/v1/review").await.0, 200);
        assert_eq!(
            ws.get(
                Some(token),
                &format!("/api/v1/audit?subject=thread:{thread}")
            )
            .await
            .0,
            200
        );
    }

    // The document is public and describes the routes.
    let (status, doc) = ws.get(None, "/api/v1/openapi.json").await;
    assert_eq!(status, 200);
    assert!(doc["paths"]["/api/v1/threads/{id}/transfer"]["post"].is_object());
}
both_engines!(
    anonymous_and_agents_are_kept_to_what_their_role_allows,
    permission_boundaries
);

async fn inbox_listing(engine: Engine) {
    // Arrange: three requests a minute apart, one about snow removal.
    let ws = workspace(engine).await;
    let agent = Some(ws.agent.as_str());
    let first = ws
        .email(
            0,
            "a@example.net",
            "Collecte",
            "La collecte n'a pas été faite.",
        )
        .await;
    let second = ws
        .email(
            1,
            "b@example.net",
            "Trottoir",
            "Le déneigement du trottoir n'est pas fait rue Thérèse.",
        )
        .await;
    let third = ws
        .email(
            2,
            "c@example.net",
            "Parc",
            "Une balançoire est brisée au parc.",
        )
        .await;

    // Act
    let (_, oldest) = ws.get(agent, "/api/v1/threads").await;
    let (_, newest) = ws.get(agent, "/api/v1/threads?order=newest").await;
    let (_, page1) = ws.get(agent, "/api/v1/threads?limit=2").await;
    let next = page1["next"].as_str().unwrap().to_owned();
    let (_, page2) = ws
        .get(agent, &format!("/api/v1/threads?limit=2&after={next}"))
        .await;
    let (_, found) = ws
        .get(agent, "/api/v1/threads?q=deneigement%20therese")
        .await;
    let (_, none) = ws.get(agent, "/api/v1/threads?q=piscine").await;
    let (_, by_channel) = ws.get(agent, "/api/v1/threads?channel=messenger").await;
    let (bad, _) = ws.get(agent, "/api/v1/threads?status=lost").await;
    let (bad_cursor, _) = ws.get(agent, "/api/v1/threads?after=zzz").await;

    // Assert
    let ids = |v: &Value| -> Vec<String> {
        v["threads"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        ids(&oldest),
        vec![first.clone(), second.clone(), third.clone()],
        "equity: who waits longest first"
    );
    assert_eq!(
        ids(&newest),
        vec![third.clone(), second.clone(), first.clone()]
    );
    assert_eq!(ids(&page1), vec![first, second.clone()]);
    assert_eq!(ids(&page2), vec![third]);
    assert!(page2["next"].is_null());
    assert_eq!(ids(&found), vec![second], "accent-insensitive search");
    assert!(ids(&none).is_empty());
    assert!(ids(&by_channel).is_empty());
    assert_eq!(
        oldest["threads"][0]["reference"].as_str().unwrap().len(),
        "SJ-2026-000001".len()
    );
    assert_eq!((bad, bad_cursor), (422, 422));

    // Deadlines: the first-response target runs in business hours.
    assert!(oldest["threads"][0]["due_at"].is_string());
    ws.app.set_now(t0() + Duration::minutes(5));
    let (_, early) = ws.get(agent, "/api/v1/threads?overdue=true").await;
    assert!(ids(&early).is_empty());
    ws.app.set_now(t0() + Duration::days(7));
    let (_, late) = ws.get(agent, "/api/v1/threads?overdue=true").await;
    assert_eq!(ids(&late).len(), 3);
}
both_engines!(
    the_inbox_lists_filters_searches_and_pages_threads,
    inbox_listing
);

async fn thread_actions(engine: Engine) {
    // Arrange
    let ws = workspace(engine).await;
    let agent = Some(ws.agent.as_str());
    let thread = ws
        .email(
            0,
            "rejean@example.net",
            "Boîte de service",
            "La boîte de service devant chez moi fuit.",
        )
        .await;
    let path = |action: &str| format!("/api/v1/threads/{thread}/{action}");
    let version = |v: &Value| v["thread"]["version"].as_i64().unwrap();
    let (_, before) = ws.get(agent, &format!("/api/v1/threads/{thread}")).await;

    // Act: a note with markup, assignment, a stale status change, a transfer, a reply.
    let note = ws
        .post(
            agent,
            &path("notes"),
            &json!({"body": "<script>alert(1)</script> Voir avec les TP"}),
        )
        .await;
    let assigned = ws
        .post(
            agent,
            &path("assign"),
            &json!({"assignee": "me", "version": version(&before)}),
        )
        .await;
    let stale = ws
        .post(
            agent,
            &path("status"),
            &json!({"status": "resolved", "version": version(&before)}),
        )
        .await;
    let (_, current) = ws.get(agent, &format!("/api/v1/threads/{thread}")).await;
    let transferred = ws
        .post(
            agent,
            &path("transfer"),
            &json!({"department": "travaux_publics", "request_type": "Intervention sur une boîte de service", "version": version(&current)}),
        )
        .await;
    let replied = ws
        .post(
            agent,
            &path("replies"),
            &json!({"body": "Une équipe passera cette semaine."}),
        )
        .await;
    let topic = ws
        .post(agent, &path("topic"), &json!({"topic": "water_sewer"}))
        .await;
    let bad_topic = ws
        .post(agent, &path("topic"), &json!({"topic": "astrologie"}))
        .await;
    ws.app.run_pending_jobs().await;

    // Assert: each answered as it should, the thread shows it, the citizen got it.
    assert_eq!(note.0, 201);
    assert_eq!(assigned.0, 200);
    assert_eq!(stale.0, 409, "a stale version is a conflict: {:?}", stale.1);
    assert_eq!(transferred.0, 200, "{:?}", transferred.1);
    assert_eq!(replied.0, 202, "{:?}", replied.1);
    assert_eq!((topic.0, bad_topic.0), (200, 422));
    let topics = ws.app.store.topic_examples().await.unwrap();
    assert_eq!(topics.len(), 1);
    assert_eq!(topics[0].topic, "water_sewer");
    assert_eq!(topics[0].text, "La boîte de service devant chez moi fuit.");
    let (_, after) = ws.get(agent, &format!("/api/v1/threads/{thread}")).await;
    assert_eq!(after["thread"]["department"], "travaux_publics");
    assert_eq!(after["thread"]["status"], "waiting_on_citizen");
    assert!(
        after["thread"]["due_at"].is_null(),
        "answered: nothing is due"
    );
    assert!(after["thread"]["assignee_id"].is_string());
    assert_eq!(
        after["notes"][0]["body"],
        "<script>alert(1)</script> Voir avec les TP"
    );
    let sent = ws.sender.sent();
    let notice = sent
        .iter()
        .find(|m| m.kind == OutboundKind::TransferNotice)
        .expect("a transfer notice");
    assert!(
        notice
            .text
            .contains("a été transmise au Service des travaux publics"),
        "{}",
        notice.text
    );
    assert!(notice.text.contains("5 jours ouvrables"), "{}", notice.text);
    assert!(notice
        .subject
        .as_deref()
        .unwrap()
        .starts_with("[SJ-2026-000001]"));
    let reply = sent
        .iter()
        .find(|m| m.kind == OutboundKind::AgentReply)
        .expect("a reply");
    assert_eq!(reply.text, "Une équipe passera cette semaine.");
    assert_eq!(reply.channel, Channel::Email);

    // The audit log names who did what, in order.
    assert_eq!(
        ws.audit_actions(&format!("thread:{thread}")).await,
        vec![
            "thread.note_added",
            "thread.assigned",
            "thread.transferred",
            "thread.replied",
            "thread.topic_changed"
        ]
    );
}
both_engines!(
    notes_assignment_transfer_and_replies_are_written_audited_and_sent,
    thread_actions
);

async fn bad_input(engine: Engine) {
    // Arrange
    let ws = workspace(engine).await;
    let agent = Some(ws.agent.as_str());
    let thread = ws.email(0, "a@example.net", "Sujet", "Texte").await;
    let path = |action: &str| format!("/api/v1/threads/{thread}/{action}");

    // Act + Assert
    let missing = uuid::Uuid::now_v7();
    assert_eq!(
        ws.get(agent, &format!("/api/v1/threads/{missing}")).await.0,
        404
    );
    assert_eq!(ws.get(agent, "/api/v1/threads/not-an-id").await.0, 404);
    assert_eq!(
        ws.post(
            agent,
            &format!("/api/v1/threads/{missing}/notes"),
            &json!({"body": "x"})
        )
        .await
        .0,
        404
    );
    assert_eq!(
        ws.post(agent, &path("notes"), &json!({"body": "é".repeat(10_001)}))
            .await
            .0,
        422
    );
    assert_eq!(
        ws.post(agent, &path("notes"), &json!({"body": "   "}))
            .await
            .0,
        422
    );
    assert_eq!(
        ws.post(agent, &path("notes"), &json!({"body": "x", "admin": true}))
            .await
            .0,
        422
    );
    assert_eq!(
        ws.post(agent, &path("status"), &json!({"status": "lost"}))
            .await
            .0,
        422
    );
    assert_eq!(
        ws.post(agent, &path("transfer"), &json!({"department": "nasa"}))
            .await
            .0,
        422
    );
    assert_eq!(
        ws.post(
            agent,
            &path("transfer"),
            &json!({"department": "finances", "request_type": "Inconnu"})
        )
        .await
        .0,
        422
    );
    assert_eq!(
        ws.post(
            agent,
            &path("assign"),
            &json!({"assignee": "personne@saintejulie.ca"})
        )
        .await
        .0,
        422
    );
    let wrong_type = ws
        .app
        .client
        .post(format!("{}{}", ws.app.address, path("notes")))
        .bearer_auth(&ws.agent)
        .body("body=x")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_type.status(), 415);

    // Nothing changed half-way.
    let (_, after) = ws.get(agent, &format!("/api/v1/threads/{thread}")).await;
    assert_eq!(after["thread"]["version"], 1);
    assert!(after["notes"].as_array().unwrap().is_empty());
    assert!(ws.sender.sent().is_empty());
}
both_engines!(bad_input_gets_a_clear_answer_and_changes_nothing, bad_input);

async fn chat_window(engine: Engine) {
    // Arrange: a Messenger conversation whose citizen last wrote 8 days ago.
    let ws = workspace(engine).await;
    let then = t0() - Duration::days(8);
    let message = models::InboundMessage {
        channel: Channel::Messenger,
        external_id: models::ExternalMessageId::parse("m_window_test").unwrap(),
        sender: models::ChannelIdentity::from_parts("psid", "104827364519203:7301928374650012")
            .unwrap(),
        sender_name: None,
        sender_phone: None,
        received_at: then,
        subject: None,
        body_text: "Allo, le parc est fermé?".into(),
        new_text: "Allo, le parc est fermé?".into(),
        body_html: None,
        language: models::Language::Fr,
        kind: models::MessageKind::Citizen,
        hints: models::ThreadHints::default(),
        attachments: Vec::new(),
    };
    ws.app.set_now(then);
    let thread = ws.app.ingest(&message).await.thread_id;
    ws.app.set_now(t0());

    // Act
    let (status, body) = ws
        .post(
            Some(&ws.agent),
            &format!("/api/v1/threads/{thread}/replies"),
            &json!({"body": "Oui, jusqu'à lundi."}),
        )
        .await;

    // Assert: refused with the reason, so the agent uses email or the phone.
    assert_eq!(status, 409);
    assert_eq!(body["code"], "reply_window_closed");
    let thread_path = format!("/api/v1/threads/{thread}");
    let (_, shown) = ws.get(Some(&ws.agent), &thread_path).await;
    let options = &shown["reply_options"];
    assert_eq!(options["window_open"], false);
    assert!(options["email"].is_null() && options["phone"].is_null());

    // By email: refused while no address is known, sent once one is added.
    let by_email = json!({"body": "Le parc rouvre lundi.", "channel": "email"});
    let replies = format!("/api/v1/threads/{thread}/replies");
    let (no_address, body) = ws.post(Some(&ws.agent), &replies, &by_email).await;
    assert_eq!(
        (no_address, body["code"].as_str()),
        (409, Some("no_email_address"))
    );
    let contact = shown["thread"]["contact_id"].as_str().unwrap().to_owned();
    let patch = |body: Value| {
        let request = ws
            .app
            .client
            .patch(format!("{}/api/v1/contacts/{contact}", ws.app.address))
            .bearer_auth(&ws.agent)
            .json(&body);
        async move {
            let resp = request.send().await.unwrap();
            (
                resp.status().as_u16(),
                resp.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let (edited, edit) = patch(json!({"version": 1, "email": "Parent@Example.net"})).await;
    assert_eq!(edited, 200, "{edit:?}");
    let (_, shown) = ws.get(Some(&ws.agent), &thread_path).await;
    assert_eq!(shown["reply_options"]["email"], "parent@example.net");
    let (sent_status, body) = ws.post(Some(&ws.agent), &replies, &by_email).await;
    assert_eq!(sent_status, 202, "{body:?}");
    ws.app.run_pending_jobs().await;
    let reply = ws
        .sender
        .sent()
        .into_iter()
        .find(|m| m.kind == OutboundKind::AgentReply)
        .expect("the reply went out by email");
    assert_eq!(reply.channel, Channel::Email);
    assert_eq!(
        reply.recipient,
        models::ChannelIdentity::from_parts("email", "parent@example.net").unwrap()
    );
    assert_eq!(reply.text, "Le parc rouvre lundi.");
    assert!(reply.subject.as_deref().unwrap_or("").contains("SJ-2026-"));

    // A callback: a number is required, any Québec spelling is kept as E.164.
    let callbacks = format!("/api/v1/threads/{thread}/callbacks");
    let (missing, body) = ws
        .post(
            Some(&ws.agent),
            &callbacks,
            &json!({"body": "Rappeler pour les heures"}),
        )
        .await;
    assert_eq!(missing, 422);
    assert_eq!(body["fields"][0]["field"], "phone");
    let (bad_phone, _) = ws
        .post(
            Some(&ws.agent),
            &callbacks,
            &json!({"body": "x", "phone": "pas un numéro"}),
        )
        .await;
    assert_eq!(bad_phone, 422);
    let (noted, _) = ws
        .post(
            Some(&ws.agent),
            &callbacks,
            &json!({"body": "Rappeler pour les heures", "phone": "(450) 922-7111"}),
        )
        .await;
    assert_eq!(noted, 201);
    let (_, shown) = ws.get(Some(&ws.agent), &thread_path).await;
    let notes = shown["notes"].as_array().unwrap();
    assert_eq!(notes.len(), 1, "the refused callbacks wrote nothing");
    assert_eq!(notes[0]["kind"], "callback");
    assert_eq!(notes[0]["phone"], "+14509227111");
    assert_eq!(shown["thread"]["status"], "waiting_on_citizen");

    // An address that belongs to another citizen is refused, nothing moves.
    ws.email(1, "autre@example.net", "Bonjour", "Une question.")
        .await;
    let (taken, body) = patch(json!({"version": 2, "email": "autre@example.net"})).await;
    assert_eq!(
        (taken, body["code"].as_str()),
        (409, Some("identity_taken"))
    );
    let (_, shown) = ws.get(Some(&ws.agent), &thread_path).await;
    assert_eq!(shown["reply_options"]["email"], "parent@example.net");
}
both_engines!(
    a_closed_social_window_is_refused_then_answered_by_email_or_a_callback,
    chat_window
);

async fn token_scopes(engine: Engine) {
    // Arrange: one supervisor, four tokens.
    let ws = workspace(engine).await;
    let thread = ws
        .email(0, "a@example.net", "Parc", "Le parc est fermé?")
        .await;
    let (owner, _) = ws
        .app
        .store
        .user_by_email("superviseur@saintejulie.ca")
        .await
        .unwrap()
        .unwrap();
    let mut tokens = Vec::new();
    for scope in [
        TokenScope {
            role: Some(Role::Agent),
            read_only: false,
        },
        TokenScope {
            role: None,
            read_only: true,
        },
        TokenScope {
            role: Some(Role::Admin),
            read_only: false,
        },
        TokenScope::default(),
    ] {
        let (token, hash) = new_token();
        let id = uuid::Uuid::now_v7().to_string();
        ws.app
            .store
            .create_token(
                &NewToken {
                    id: id.clone(),
                    user_id: owner.id.clone(),
                    token_hash: hash,
                    label: None,
                    scope,
                    at: Utc::now(),
                },
                "test",
            )
            .await
            .unwrap();
        tokens.push((token, id));
    }
    let [(as_agent, _), (read_only, _), (above, _), (revoked, revoked_id)] =
        <[(String, String); 4]>::try_from(tokens).unwrap();
    assert!(ws
        .app
        .store
        .revoke_token(&revoked_id, "test", Utc::now())
        .await
        .unwrap());
    let note = format!("/api/v1/threads/{thread}/notes");

    // Act + Assert: a token narrowed to agent triages but cannot review.
    assert_eq!(ws.get(Some(&as_agent), "/api/v1/threads").await.0, 200);
    assert_eq!(ws.get(Some(&as_agent), "/api/v1/review").await.0, 403);
    assert_eq!(ws.get(Some(&ws.supervisor), "/api/v1/review").await.0, 200);
    // Asking for more than the owner has gives the owner's role, no more.
    assert_eq!(ws.get(Some(&above), "/api/v1/review").await.0, 200);
    let acting = ws
        .app
        .store
        .user_by_token(&inbox::auth::token_hash(&above))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(acting.user.role, Role::Supervisor);
    // A read-only token reads everything its role may, and writes nothing.
    assert_eq!(ws.get(Some(&read_only), "/api/v1/review").await.0, 200);
    assert_eq!(
        ws.post(Some(&read_only), &note, &json!({"body": "x"}))
            .await
            .0,
        403
    );
    // A revoked token is no token.
    assert_eq!(ws.get(Some(&revoked), "/api/v1/threads").await.0, 401);
    assert_eq!(
        ws.post(Some(&as_agent), &note, &json!({"body": "ok"}))
            .await
            .0,
        201
    );
    let (_, shown) = ws
        .get(Some(&as_agent), &format!("/api/v1/threads/{thread}"))
        .await;
    assert_eq!(
        shown["notes"].as_array().unwrap().len(),
        1,
        "only the agent token's note"
    );
    let listed = ws.app.store.list_tokens(&owner.id).await.unwrap();
    assert_eq!(listed.len(), 5, "the account helper's token and these four");
    let roles: Vec<Role> = listed.iter().map(|t| t.role).collect();
    assert!(roles.iter().all(|r| *r <= Role::Supervisor), "{roles:?}");
    assert_eq!(listed.iter().filter(|t| t.revoked_at.is_some()).count(), 1);
    assert_eq!(
        ws.audit_actions(&format!("token:{revoked_id}")).await,
        vec!["token.created", "token.revoked"]
    );
}
both_engines!(tokens_act_only_within_their_scope, token_scopes);

async fn review(engine: Engine) {
    // Arrange: an abusive message, classified.
    let ws = workspace(engine).await;
    let thread = ws
        .email(0, "fache@example.net", "Encore", "Espèce de crétin incompétent, t'es juste un osti de cave, je vais aller te régler ton cas.")
        .await;
    ws.app.run_classifier().await;
    let sup = Some(ws.supervisor.as_str());

    // Act
    let (_, queue) = ws.get(sup, "/api/v1/review").await;
    let message_id = queue["messages"][0]["message_id"]
        .as_str()
        .expect("the message is in the queue")
        .to_owned();
    let decided = ws
        .post(
            sup,
            &format!("/api/v1/review/{message_id}"),
            &json!({"decision": "confirm", "kind": "threat", "comment": "Menace explicite"}),
        )
        .await;
    let again = ws
        .post(
            sup,
            &format!("/api/v1/review/{message_id}"),
            &json!({"decision": "dismiss"}),
        )
        .await;
    let no_kind = ws
        .post(
            sup,
            &format!("/api/v1/review/{message_id}"),
            &json!({"decision": "confirm"}),
        )
        .await;
    let (_, queue_after) = ws.get(sup, "/api/v1/review").await;

    // Assert
    assert_eq!(queue["messages"][0]["thread_id"], thread.as_str());
    assert!(!queue["messages"][0]["reasons"]
        .as_array()
        .unwrap()
        .is_empty());
    assert_eq!(decided.0, 200);
    assert_eq!(again.0, 409);
    assert_eq!(again.1["code"], "already_decided");
    assert_eq!(no_kind.0, 422);
    assert!(queue_after["messages"].as_array().unwrap().is_empty());
    let (_, detail) = ws.get(sup, &format!("/api/v1/threads/{thread}")).await;
    assert_eq!(detail["contact_confirmed_flags"][0]["kind"], "threat");
    let labels = ws.app.store.labelled_examples().await.unwrap();
    assert_eq!(labels.len(), 1);
    assert_eq!(
        (labels[0].decision.as_str(), labels[0].kind.as_deref()),
        ("confirmed", Some("threat"))
    );
}
both_engines!(
    supervisors_decide_flagged_messages_once_and_decisions_become_labels,
    review
);

async fn refusal_of_service(engine: Engine) {
    // Arrange: a citizen who wrote once.
    let ws = workspace(engine).await;
    let first = ws
        .email(0, "insistant@example.net", "Encore", "Je veux une réponse.")
        .await;
    let (_, detail) = ws
        .get(Some(&ws.supervisor), &format!("/api/v1/threads/{first}"))
        .await;
    let contact = detail["thread"]["contact_id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/contacts/{contact}/refusal");
    let body =
        json!({"reason": "Propos menaçants répétés envers le personnel", "ends_on": "2027-05-31"});

    // Act: an agent may not decide it; a supervisor does, with a reason.
    let by_agent = ws.post(Some(&ws.agent), &path, &body).await;
    let no_reason = ws
        .post(
            Some(&ws.supervisor),
            &path,
            &json!({"reason": " ", "ends_on": "2027-05-31"}),
        )
        .await;
    let past = ws
        .post(
            Some(&ws.supervisor),
            &path,
            &json!({"reason": "x", "ends_on": "2020-01-01"}),
        )
        .await;
    let decided = ws.post(Some(&ws.supervisor), &path, &body).await;
    let second = ws
        .email(
            10,
            "insistant@example.net",
            "Nouvelle demande",
            "Le lampadaire est éteint.",
        )
        .await;
    ws.app.run_pending_jobs().await;

    // Assert: the new message arrived, is flagged, and got the city's text.
    assert_eq!(by_agent.0, 403);
    let unknown = ws
        .post(
            Some(&ws.supervisor),
            &format!("/api/v1/contacts/{}/refusal", uuid::Uuid::now_v7()),
            &body,
        )
        .await;
    assert_eq!(unknown.0, 404);
    assert_eq!((no_reason.0, past.0), (422, 422));
    assert_eq!(decided.0, 201, "{:?}", decided.1);
    let (_, thread) = ws
        .get(Some(&ws.agent), &format!("/api/v1/threads/{second}"))
        .await;
    assert_eq!(thread["thread"]["flagged"], true);
    let sent = ws.sender.sent();
    let last = sent.last().expect("the new message is acknowledged");
    assert!(
        last.text
            .contains("selon les modalités qui vous ont été communiquées"),
        "{}",
        last.text
    );
    let (_, audit) = ws
        .get(
            Some(&ws.supervisor),
            &format!("/api/v1/audit?subject=contact:{contact}"),
        )
        .await;
    assert_eq!(audit["entries"][0]["action"], "contact.service_refused");
}
both_engines!(
    a_refusal_of_service_is_a_supervisors_decision_and_new_messages_still_arrive_flagged,
    refusal_of_service
);
