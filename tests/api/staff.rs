//! The staff pages over HTTP: sign-in, the session cookie, CSRF on every
//! form, lockout after repeated failures, escaping, and role limits.

use chrono::Utc;
use inbox::auth::{hash_password, Role};
use inbox::store::workspace::NewUser;
use reqwest::StatusCode;

use crate::both_engines;
use crate::helpers::{
    csrf_of, email_message, session_cookie, sign_in, spawn_app, staff_page, Engine, TestApp,
};

const PASSWORD: &str = "un mot de passe assez long";

async fn staff_account(app: &TestApp, email: &str, role: Role) {
    app.store
        .create_user(&NewUser {
            id: uuid::Uuid::now_v7().to_string(),
            email: email.to_owned(),
            display_name: None,
            role,
            password_hash: hash_password(PASSWORD).unwrap(),
            at: Utc::now(),
        })
        .await
        .unwrap();
}

async fn login(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    sign_in(app, email, password).await
}

async fn page(app: &TestApp, cookie: &str, path: &str) -> (StatusCode, String) {
    staff_page(app, cookie, path).await
}

async fn sign_in_forms_and_limits(engine: Engine) {
    // Arrange
    let app = spawn_app(engine).await;
    staff_account(&app, "agente@saintejulie.ca", Role::Agent).await;
    staff_account(&app, "autre@saintejulie.ca", Role::Agent).await;
    let thread = app
        .ingest(&email_message(
            "citoyen@example.net",
            "Nid-de-poule",
            "Il y a un nid-de-poule rue Thérèse.",
            "np-1@poste.example.net",
        ))
        .await;
    let reference = thread.reference.unwrap().to_string();

    // Act + Assert: not signed in → the login page.
    let anonymous = app
        .client
        .get(format!("{}/agent", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::SEE_OTHER);
    assert!(anonymous.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/agent/login"));

    // A wrong password is refused with the reason in French.
    let wrong = login(&app, "agente@saintejulie.ca", "pas le bon mot de passe").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong
        .text()
        .await
        .unwrap()
        .contains("Courriel ou mot de passe incorrect."));

    // The right one opens a session; the inbox lists the request.
    let ok = login(&app, "agente@saintejulie.ca", PASSWORD).await;
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    let cookie = session_cookie(&ok);
    let (status, inbox) = page(&app, &cookie, "/agent").await;
    assert_eq!(status, StatusCode::OK);
    assert!(inbox.contains(&reference));
    assert!(inbox.contains("lang=\"fr\""));
    let (_, english) = page(&app, &cookie, "/agent?lang=en").await;
    assert!(english.contains("Longest waiting first"));

    // A form without the session's CSRF token changes nothing.
    let thread_path = format!("/agent/threads/{}", thread.thread_id);
    let (_, thread_page) = page(&app, &cookie, &thread_path).await;
    let csrf = csrf_of(&thread_page);
    assert!(
        thread_page.contains("Accusé de prise en charge"),
        "canned replies are offered"
    );
    assert!(thread_page.contains(&format!(
        "Nous avons pris connaissance de votre demande {reference}"
    )));
    let forged = app
        .client
        .post(format!("{}{thread_path}/note", app.address))
        .header("cookie", &cookie)
        .form(&[("csrf", "0".repeat(64).as_str()), ("body", "forgée")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let noted = app
        .client
        .post(format!("{}{thread_path}/note", app.address))
        .header("cookie", &cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("body", "<script>alert(1)</script> à rappeler"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(noted.status(), StatusCode::SEE_OTHER);
    let (_, after) = page(&app, &cookie, &thread_path).await;
    assert!(
        after.contains("&lt;script&gt;alert(1)"),
        "the note is shown, escaped"
    );
    assert!(after.contains("à rappeler"));
    assert!(!after.contains("<script>alert(1)"));
    assert!(!after.contains("forgée"));

    // The live-update stream tells the page about the newest activity.
    let mut events = app
        .client
        .get(format!("{}/agent/events", app.address))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), StatusCode::OK);
    let chunk = tokio::time::timeout(std::time::Duration::from_secs(10), events.chunk())
        .await
        .expect("an event in time")
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&chunk);
    assert!(
        text.contains("event: inbox") && text.contains(&thread.thread_id.to_string()),
        "{text}"
    );
    drop(events);

    // An agent does not see the review page.
    assert_eq!(
        page(&app, &cookie, "/agent/review").await.0,
        StatusCode::FORBIDDEN
    );

    // Five failures lock the account, even for the right password.
    for _ in 0..5 {
        assert_eq!(
            login(&app, "autre@saintejulie.ca", "mauvais")
                .await
                .status(),
            StatusCode::UNAUTHORIZED
        );
    }
    // A locked account answers like a wrong password or an unknown email.
    let locked = login(&app, "autre@saintejulie.ca", PASSWORD).await;
    assert_eq!(locked.status(), StatusCode::UNAUTHORIZED);

    // Signing out ends the session.
    let out = app
        .client
        .post(format!("{}/agent/logout", app.address))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(page(&app, &cookie, "/agent").await.0, StatusCode::SEE_OTHER);
}
both_engines!(
    staff_sign_in_with_sessions_csrf_lockout_and_escaped_text,
    sign_in_forms_and_limits
);

/// Posts a staff form; its status and where it sends the browser.
async fn post_form(
    app: &TestApp,
    cookie: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, String) {
    let resp = app
        .client
        .post(format!("{}{path}", app.address))
        .header("cookie", cookie)
        .form(fields)
        .send()
        .await
        .unwrap();
    let location = resp
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (resp.status(), location)
}

/// The value of the first `name="contact_version"` field.
fn contact_version_of(html: &str) -> String {
    let at = html
        .find("name=\"contact_version\" value=\"")
        .expect("a contact version")
        + 30;
    html[at..].split('"').next().unwrap().to_owned()
}

async fn citizen_on_the_thread_page(engine: Engine) {
    // Arrange: one citizen's two emails, and a phone call recorded under
    // the same name as a new contact.
    let app = spawn_app(engine).await;
    staff_account(&app, "agente@saintejulie.ca", Role::Agent).await;
    let token = crate::workspace::account(&app, "api@saintejulie.ca", Role::Agent).await;
    let first = app
        .ingest(&email_message(
            "citoyen@example.net",
            "Nid-de-poule",
            "Il y a un nid-de-poule rue Thérèse.",
            "np-10@poste.example.net",
        ))
        .await;
    let second = app
        .ingest(&email_message(
            "citoyen@example.net",
            "Collecte",
            "Le bac n'a pas été vidé.",
            "np-11@poste.example.net",
        ))
        .await;
    let recorded = app
        .client
        .post(format!("{}/api/v1/contacts-log", app.address))
        .bearer_auth(&token)
        .json(&serde_json::json!({
            "channel": "phone", "name": "Citoyen", "phone": "450 922-7111",
            "text": "Quand passe la collecte?", "outcome": "resolved"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(recorded.status(), StatusCode::CREATED);
    let cookie = session_cookie(&login(&app, "agente@saintejulie.ca", PASSWORD).await);
    let path = format!("/agent/threads/{}", first.thread_id);
    let (_, html) = page(&app, &cookie, &path).await;
    let csrf = csrf_of(&html);
    let second_reference = second.reference.as_ref().unwrap().to_string();

    // Act + Assert: the page shows the citizen, the duplicate, the other thread.
    assert!(
        html.contains("id=\"contact-email\">citoyen@example.net"),
        "{html}"
    );
    assert!(
        html.contains("même nom"),
        "the merge suggestion and its reason"
    );
    assert!(html.contains(&format!("{second_reference} · Courriel")));

    // Link the other thread.
    let (status, to) = post_form(
        &app,
        &cookie,
        &format!("{path}/link"),
        &[
            ("csrf", &csrf),
            ("thread_id", &second.thread_id.to_string()),
        ],
    )
    .await;
    assert_eq!(
        (status, to.contains("error")),
        (StatusCode::SEE_OTHER, false),
        "{to}"
    );
    let (_, html) = page(&app, &cookie, &path).await;
    let linked = &html[html.find("id=\"linked\"").expect("the linked list")..];
    assert!(linked.contains(&second_reference));

    // A merge needs the ticked confirmation.
    let version = contact_version_of(&html);
    let candidate = html[html.find("name=\"from\" value=\"").unwrap() + 19..]
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let merge = |confirm: Option<&'static str>| {
        let mut fields = vec![
            ("csrf", csrf.clone()),
            ("contact_version", version.clone()),
            ("from", candidate.clone()),
        ];
        if let Some(c) = confirm {
            fields.push(("confirm", c.to_owned()));
        }
        fields
    };
    let unconfirmed = merge(None);
    let unconfirmed: Vec<(&str, &str)> =
        unconfirmed.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (_, to) = post_form(&app, &cookie, &format!("{path}/merge"), &unconfirmed).await;
    assert!(to.ends_with("error=confirm_merge"), "{to}");
    let (_, html) = page(&app, &cookie, &format!("{path}?error=confirm_merge")).await;
    assert!(html.contains("Cochez la confirmation"));
    assert!(html.contains("même nom"), "nothing merged");
    let confirmed = merge(Some("yes"));
    let confirmed: Vec<(&str, &str)> = confirmed.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (_, to) = post_form(&app, &cookie, &format!("{path}/merge"), &confirmed).await;
    assert!(!to.contains("error"), "{to}");
    let (_, html) = page(&app, &cookie, &path).await;
    assert!(
        !html.contains("même nom"),
        "the suggestion is gone once merged"
    );
    assert!(
        html.contains("id=\"contact-phone\">+14509227111"),
        "the merged contact's phone fills the missing one"
    );

    // Correcting the details: a stale version is a conflict, the current one saves.
    let (_, to) = post_form(
        &app,
        &cookie,
        &format!("{path}/contact"),
        &[
            ("csrf", &csrf),
            ("contact_version", &version),
            ("postal_address", "12 rue Thérèse"),
        ],
    )
    .await;
    assert!(to.ends_with("error=conflict"), "{to}");
    let current = contact_version_of(&html);
    let (_, to) = post_form(
        &app,
        &cookie,
        &format!("{path}/contact"),
        &[
            ("csrf", &csrf),
            ("contact_version", &current),
            ("postal_address", "12 rue Thérèse"),
            ("phone", "pas un numéro"),
        ],
    )
    .await;
    assert!(to.ends_with("error=invalid"), "a bad number: {to}");
    let (_, to) = post_form(
        &app,
        &cookie,
        &format!("{path}/contact"),
        &[
            ("csrf", &csrf),
            ("contact_version", &current),
            ("postal_address", "12 rue Thérèse"),
            ("display_name", "Réjean Bouchard"),
        ],
    )
    .await;
    assert!(!to.contains("error"), "{to}");
    let (_, html) = page(&app, &cookie, &path).await;
    assert!(
        html.contains("12 rue Thérèse") && html.contains("id=\"contact-name\">Réjean Bouchard")
    );
    // Without the session's CSRF token, nothing changes.
    let (forged, _) = post_form(
        &app,
        &cookie,
        &format!("{path}/contact"),
        &[
            ("csrf", "0"),
            ("contact_version", &contact_version_of(&html)),
            ("display_name", "Forgé"),
        ],
    )
    .await;
    assert_eq!(forged, StatusCode::FORBIDDEN);
    assert!(!page(&app, &cookie, &path).await.1.contains("Forgé"));
}
both_engines!(
    the_thread_page_corrects_the_citizen_links_threads_and_merges_a_confirmed_duplicate,
    citizen_on_the_thread_page
);
