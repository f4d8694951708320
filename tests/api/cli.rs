//! The command-line contracts operators and the city's tooling rely on.

use std::process::Command;

#[test]
fn email_inspect_prints_one_json_line_per_file_with_how_it_would_be_handled() {
    // Arrange
    let dir = format!("{}/tests/fixtures/email", env!("CARGO_MANIFEST_DIR"));
    let expected = [
        ("01-plain-fr-iso-8859-1-qp.eml", "citizen", true),
        ("04-reply-thread-quoted.eml", "reply_in_thread", false),
        ("05-out-of-office-auto-reply.eml", "auto_reply", false),
        ("06-bounce-dsn.eml", "bounce", false),
        ("07-mailing-list.eml", "mailing_list", false),
        ("08-windows-1252-smart-quotes.eml", "citizen", true),
    ];
    let files: Vec<String> = expected
        .iter()
        .map(|(f, _, _)| format!("{dir}/{f}"))
        .collect();
    // Act
    let output = Command::new(env!("CARGO_BIN_EXE_inbox"))
        .args(["email", "inspect"])
        .args(&files)
        .arg(format!("{dir}/does-not-exist.eml"))
        .env_remove("INBOX_CONFIG")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run inbox email inspect");
    // Assert
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), expected.len() + 1);
    for ((file, kind, ack), line) in expected.iter().zip(&lines) {
        assert_eq!(line["kind"], *kind, "case {file}");
        assert_eq!(line["should_acknowledge"], *ack, "case {file}");
    }
    assert_eq!(lines[1]["reference"], "SJ-2026-000123");
    assert_eq!(
        lines[5]["subject"],
        "Bac de recyclage brisé par le camion – rue Lavoie"
    );
    assert!(
        lines[6]["error"].is_string(),
        "an unreadable file is reported, not a crash"
    );
}

#[test]
fn classify_reads_json_lines_and_reports_bad_lines_without_stopping() {
    // Arrange
    let input = "{\"id\":\"a\",\"text\":\"Le câlisse de nid-de-poule a pété mon pneu\"}\nnot json\n{\"id\":\"b\",\"text\":\"\"}\n";
    // Act
    let mut child = Command::new(env!("CARGO_BIN_EXE_inbox"))
        .arg("classify")
        .env_remove("INBOX_CONFIG")
        .current_dir(std::env::temp_dir())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run inbox classify");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    // Assert
    assert!(output.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "both valid lines answered");
    assert_eq!(
        (
            lines[0]["id"].as_str(),
            lines[0]["topic"].as_str(),
            lines[0]["abusive"].as_bool()
        ),
        (Some("a"), Some("roads_snow"), Some(false))
    );
    assert!(lines[0]["abuse_kind"].is_null());
    assert_eq!(lines[1]["id"], "b");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("line 2"),
        "the bad line is named on stderr"
    );
}

fn inbox_with_stdin(db_url: &str, args: &[&str], stdin: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_inbox"))
        .args(args)
        .env_remove("INBOX_CONFIG")
        .env("INBOX_DATABASE__URL", db_url)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run inbox");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn a_token_can_be_narrowed_listed_and_revoked_from_the_command_line() {
    // Arrange: an agent's account.
    let db = crate::helpers::TestDb::new(crate::helpers::Engine::Sqlite).await;
    let store = db.store().await;
    let email = "agente@saintejulie.ca";
    let added = inbox_with_stdin(
        &db.url,
        &[
            "user",
            "add",
            "--email",
            email,
            "--role",
            "agent",
            "--password-stdin",
        ],
        "une phrase de passe assez longue\n",
    );
    assert!(added.status.success());
    let create = |extra: &[&str]| {
        let mut args = vec!["token", "create", "--email", email];
        args.extend_from_slice(extra);
        inbox_with_stdin(&db.url, &args, "")
    };

    // Act
    let above = create(&["--role", "supervisor"]);
    let nonsense = create(&["--role", "chef"]);
    let read_only = create(&["--read-only", "--label", "tableau de bord"]);
    let listed = inbox_with_stdin(&db.url, &["token", "list", "--email", email], "");
    let id = String::from_utf8_lossy(&read_only.stderr)
        .lines()
        .find_map(|l| l.strip_prefix("token id ").map(str::to_owned))
        .expect("the id on stderr");
    let revoked = inbox_with_stdin(&db.url, &["token", "revoke", "--id", &id], "");
    let again = inbox_with_stdin(&db.url, &["token", "revoke", "--id", &id], "");

    // Assert: nothing above the owner's role, and nothing written for it.
    assert!(!above.status.success());
    assert!(
        String::from_utf8_lossy(&above.stderr).contains("cannot do more than its owner"),
        "{}",
        String::from_utf8_lossy(&above.stderr)
    );
    assert!(!nonsense.status.success());
    assert!(read_only.status.success());
    let token = String::from_utf8(read_only.stdout)
        .unwrap()
        .trim()
        .to_owned();
    let lines: Vec<serde_json::Value> = String::from_utf8(listed.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "the refused tokens were not stored");
    assert_eq!(lines[0]["id"], id.as_str());
    assert_eq!(lines[0]["label"], "tableau de bord");
    assert_eq!(
        (lines[0]["role"].as_str(), lines[0]["read_only"].as_bool()),
        (Some("agent"), Some(true))
    );
    assert!(revoked.status.success());
    assert!(!again.status.success(), "a token is revoked once");
    assert!(store
        .user_by_token(&inbox::auth::token_hash(&token))
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn user_add_and_token_create_give_a_working_token_of_the_role() {
    // Arrange
    let db = crate::helpers::TestDb::new(crate::helpers::Engine::Sqlite).await;
    let store = db.store().await;
    let add = [
        "user",
        "add",
        "--email",
        "Chef@SainteJulie.ca",
        "--role",
        "supervisor",
        "--password-stdin",
    ];

    // Act
    let short = inbox_with_stdin(&db.url, &add, "court\n");
    let created = inbox_with_stdin(&db.url, &add, "une phrase de passe assez longue\n");
    let duplicate = inbox_with_stdin(&db.url, &add, "une autre phrase assez longue\n");
    let token = inbox_with_stdin(
        &db.url,
        &["token", "create", "--email", "chef@saintejulie.ca"],
        "",
    );
    let unknown = inbox_with_stdin(
        &db.url,
        &["token", "create", "--email", "personne@saintejulie.ca"],
        "",
    );

    // Assert
    assert!(!short.status.success());
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    assert!(!duplicate.status.success());
    assert!(String::from_utf8_lossy(&duplicate.stderr).contains("already exists"));
    assert!(!unknown.status.success());
    let token = String::from_utf8(token.stdout).unwrap().trim().to_owned();
    let user = store
        .user_by_token(&inbox::auth::token_hash(&token))
        .await
        .unwrap()
        .expect("the printed token works");
    assert!(!user.read_only);
    assert_eq!(user.user.role, inbox::auth::Role::Supervisor);
    assert_eq!(user.user.email, "chef@saintejulie.ca");
    let (_, hash) = store
        .user_by_email("chef@saintejulie.ca")
        .await
        .unwrap()
        .unwrap();
    assert!(inbox::auth::verify_password(
        "une phrase de passe assez longue",
        &hash
    ));
}
