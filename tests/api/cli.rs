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
