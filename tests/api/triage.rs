//! Finding and sorting work: one search box that finds a thread by its
//! reference (whole or in part), its citizen's name, email or phone, or its
//! words; the review queue worst first; a transfer to the department that
//! already holds the thread refused.

use chrono::Duration;
use models::{AbuseKind, AbuseVerdict, Classification, TopicVerdict};
use serde_json::{json, Value};

use crate::both_engines;
use crate::helpers::{email_message, Engine};
use crate::workspace::{t0, workspace, Workspace};

/// A citizen's email with a name and, optionally, a phone; its thread id.
async fn citizen_email(
    ws: &Workspace,
    minutes: i64,
    (name, from, phone): (&str, &str, Option<&str>),
    body: &str,
) -> String {
    let now = t0() + Duration::minutes(minutes);
    ws.app.set_now(now);
    let mut message = email_message(
        from,
        "Demande",
        body,
        &format!("{}@poste.example.net", uuid::Uuid::now_v7().simple()),
    );
    message.sender_name = Some(name.to_owned());
    message.sender_phone = phone.map(|p| models::PhoneNumber::parse(p).unwrap());
    message.received_at = now;
    ws.app.ingest(&message).await.thread_id.to_string()
}

/// The ids of the threads `GET /api/v1/threads?q=` lists, in order.
async fn found(ws: &Workspace, q: &str) -> Vec<String> {
    let (status, body) = ws
        .get(
            Some(&ws.agent),
            &format!(
                "/api/v1/threads?{}",
                serde_urlencoded::to_string([("q", q)]).unwrap()
            ),
        )
        .await;
    assert_eq!(status, 200, "q={q}: {body}");
    body["threads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn reference_of(ws: &Workspace, thread: &str) -> String {
    ws.thread(thread).await["thread"]["reference"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn search_by_who(engine: Engine) {
    // Arrange: three citizens; the second one's words name the first.
    let ws = workspace(engine).await;
    let marie = citizen_email(
        &ws,
        0,
        (
            "Marie-Ève Tremblay",
            "Marie.Tremblay@exemple.ca",
            Some("450 555-1234"),
        ),
        "Il y a un nid-de-poule devant chez moi, rue Principale.",
    )
    .await;
    let jean = citizen_email(
        &ws,
        5,
        ("Jean Roy", "jean.roy@exemple.ca", None),
        "Ma voisine, madame Tremblay, a le même problème de déneigement.",
    )
    .await;
    let other = citizen_email(
        &ws,
        10,
        ("Luc Gagnon", "luc@exemple.ca", None),
        "Quand ouvre la piscine municipale?",
    )
    .await;
    let reference = reference_of(&ws, &marie).await;
    let (prefix_year, sequence) = reference.rsplit_once('-').unwrap();
    let year = prefix_year.rsplit_once('-').unwrap().1;

    // Act + Assert: each way of naming the thread finds it.
    assert_eq!(found(&ws, &reference).await, vec![marie.clone()]);
    assert_eq!(
        found(&ws, &reference.to_lowercase()).await,
        vec![marie.clone()]
    );
    assert_eq!(
        found(&ws, &format!("{year}-{sequence}")).await,
        vec![marie.clone()]
    );
    assert_eq!(
        found(&ws, &format!("#{}", sequence.trim_start_matches('0'))).await,
        vec![marie.clone()]
    );
    assert_eq!(
        found(&ws, "marie.tremblay@EXEMPLE.ca").await,
        vec![marie.clone()]
    );
    assert_eq!(found(&ws, "(450) 555-1234").await, vec![marie.clone()]);
    assert_eq!(found(&ws, "1-450-555-1234").await, vec![marie.clone()]);
    assert_eq!(found(&ws, "marie eve").await, vec![marie.clone()]);
    assert_eq!(found(&ws, "MARIE-ÈVE").await, vec![marie.clone()]);
    // A name also finds the messages that mention it, in inbox order.
    assert_eq!(
        found(&ws, "Tremblay").await,
        vec![marie.clone(), jean.clone()]
    );
    // Words still find messages.
    assert_eq!(found(&ws, "piscine").await, vec![other.clone()]);
    // A reference nobody holds, an unknown address: nothing, not an error.
    assert!(found(&ws, &format!("{year}-999999")).await.is_empty());
    assert!(found(&ws, "personne@exemple.ca").await.is_empty());
    // Filters still apply to a thread found by reference.
    let (_, resolved_only) = ws
        .get(
            Some(&ws.agent),
            &format!(
                "/api/v1/threads?status=resolved&{}",
                serde_urlencoded::to_string([("q", &reference)]).unwrap()
            ),
        )
        .await;
    assert!(resolved_only["threads"].as_array().unwrap().is_empty());
}
both_engines!(
    a_thread_is_found_by_its_reference_its_citizen_s_name_email_or_phone,
    search_by_who
);

/// Saves an abuse verdict for the thread's first message.
async fn flag(ws: &Workspace, thread: &str, kind: AbuseKind) {
    let detail = ws.thread(thread).await;
    let message = models::MessageId::parse(detail["messages"][0]["id"].as_str().unwrap()).unwrap();
    ws.app
        .store
        .save_classification(
            message,
            &Classification {
                topic: TopicVerdict::Abstain {
                    reason: "test".into(),
                },
                abuse: AbuseVerdict::Abusive {
                    kind,
                    score: 0.9,
                    reasons: vec!["test".into()],
                },
                model_version: "test".into(),
            },
            None,
            t0(),
        )
        .await
        .unwrap();
}

async fn review_order(engine: Engine) {
    // Arrange: an insult, harassment, then a threat, each later than the last.
    let ws = workspace(engine).await;
    let insult = ws.email(0, "a@exemple.ca", "Un", "premier message").await;
    let harassment = ws
        .email(1, "b@exemple.ca", "Deux", "deuxième message")
        .await;
    let threat = ws
        .email(2, "c@exemple.ca", "Trois", "troisième message")
        .await;
    flag(&ws, &insult, AbuseKind::Insult).await;
    flag(&ws, &harassment, AbuseKind::Harassment).await;
    flag(&ws, &threat, AbuseKind::Threat).await;

    // Act
    let (status, queue) = ws.get(Some(&ws.supervisor), "/api/v1/review").await;

    // Assert: worst first, whatever the age.
    assert_eq!(status, 200);
    let order: Vec<&str> = queue["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["thread_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        order,
        vec![threat.as_str(), harassment.as_str(), insult.as_str()]
    );
}
both_engines!(
    the_review_queue_lists_threats_before_insults_whatever_their_age,
    review_order
);

fn version(detail: &Value) -> i64 {
    detail["thread"]["version"].as_i64().unwrap()
}

async fn same_department(engine: Engine) {
    // Arrange: a thread transferred once.
    let ws = workspace(engine).await;
    let thread = ws
        .email(0, "d@exemple.ca", "Lampadaire", "Le lampadaire est brisé.")
        .await;
    let path = format!("/api/v1/threads/{thread}/transfer");
    let agent = Some(ws.agent.as_str());
    let detail = ws.thread(&thread).await;
    let first = ws
        .post(
            agent,
            &path,
            &json!({"department": "travaux_publics", "version": version(&detail)}),
        )
        .await;
    let after_first = ws.thread(&thread).await;

    // Act: the same department again.
    let again = ws
        .post(
            agent,
            &path,
            &json!({"department": "travaux_publics", "version": version(&after_first)}),
        )
        .await;
    ws.app.run_pending_jobs().await;

    // Assert: refused, nothing changed, the citizen not told twice.
    assert_eq!(first.0, 200, "{}", first.1);
    assert_eq!(again.0, 409, "{}", again.1);
    assert_eq!(again.1["code"], "same_department");
    let after = ws.thread(&thread).await;
    assert_eq!(version(&after), version(&after_first));
    let transfer_notices = after["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["kind"] == "transfer_notice")
        .count();
    assert_eq!(transfer_notices, 1);
    let notices_sent = ws
        .sender
        .sent()
        .iter()
        .filter(|m| m.kind == models::OutboundKind::TransferNotice)
        .count();
    assert_eq!(notices_sent, 1);
}
both_engines!(
    a_transfer_to_the_department_holding_the_thread_is_refused,
    same_department
);

async fn dense_inbox(engine: Engine) {
    // Arrange: one thread assigned by a supervisor to an agent, one resolved.
    let ws = workspace(engine).await;
    let open = ws
        .email(
            0,
            "bac@exemple.ca",
            "Collecte",
            "Le bac de recyclage n'a pas été ramassé jeudi,\n\nrue des Pins.",
        )
        .await;
    let done = ws
        .email(1, "fini@exemple.ca", "Merci", "Tout est réglé, merci.")
        .await;
    let sup = Some(ws.supervisor.as_str());
    let assigned = ws
        .post(
            sup,
            &format!("/api/v1/threads/{open}/assign"),
            &json!({"assignee": "agente@saintejulie.ca"}),
        )
        .await;
    let resolved = ws
        .post(
            sup,
            &format!("/api/v1/threads/{done}/status"),
            &json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(
        (assigned.0, resolved.0),
        (200, 200),
        "{assigned:?} {resolved:?}"
    );
    let done_reference = reference_of(&ws, &done).await;

    // Act
    let (_, all) = ws.get(sup, "/api/v1/threads").await;
    let (_, open_only) = ws.get(sup, "/api/v1/threads?status=open").await;
    let cookie = crate::helpers::session_cookie(
        &crate::helpers::sign_in(
            &ws.app,
            "superviseur@saintejulie.ca",
            "un mot de passe assez long",
        )
        .await,
    );
    let (_, default_view) = crate::helpers::staff_page(&ws.app, &cookie, "/agent").await;
    let (_, all_view) = crate::helpers::staff_page(&ws.app, &cookie, "/agent?status=all").await;
    let (_, thread_page) =
        crate::helpers::staff_page(&ws.app, &cookie, &format!("/agent/threads/{open}")).await;

    // Assert: a preview of what the citizen wrote, the assignee by name,
    // resolved threads in their own view.
    let line = all["threads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == open.as_str())
        .unwrap();
    assert_eq!(
        line["preview"],
        "Le bac de recyclage n'a pas été ramassé jeudi, rue des Pins."
    );
    assert_eq!(line["assignee_name"], "agente@saintejulie.ca");
    assert_eq!(all["threads"].as_array().unwrap().len(), 2);
    assert_eq!(open_only["threads"].as_array().unwrap().len(), 1);
    assert!(
        default_view.contains("Le bac de recyclage"),
        "{default_view}"
    );
    assert!(default_view.contains("agente@saintejulie.ca"));
    assert!(!default_view.contains(&done_reference));
    assert!(all_view.contains(&done_reference));
    assert!(thread_page.contains("agente@saintejulie.ca"));
    assert!(!thread_page.contains(&format!(
        ">{}<",
        ws.app
            .store
            .user_by_email("agente@saintejulie.ca")
            .await
            .unwrap()
            .unwrap()
            .0
            .id
    )));
}
both_engines!(
    the_inbox_shows_what_the_citizen_wrote_who_has_it_and_hides_resolved_threads,
    dense_inbox
);
