//! The JSON-lines contract of `inbox classify`.

use classifiers::classify_jsonl;
use serde_json::Value;

use crate::helpers::shipped;

fn run(input: &str) -> (Vec<Value>, String, classifiers::JsonlSummary) {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let summary = classify_jsonl(shipped(), input.as_bytes(), &mut out, &mut err)
        .expect("in-memory I/O succeeds");
    let lines = String::from_utf8(out)
        .expect("output is UTF-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("each output line is JSON"))
        .collect();
    (
        lines,
        String::from_utf8(err).expect("errors are UTF-8"),
        summary,
    )
}

#[test]
fn each_valid_line_gets_one_output_line_with_the_contract_fields() {
    // Arrange
    let input = concat!(
        r#"{"id": "a1", "text": "Mon bac brun n'a pas été ramassé rue Nobel.", "channel": "email"}"#,
        "\n",
        r#"{"id": 7, "text": "T'es un ostie de cave."}"#,
        "\n"
    );

    // Act
    let (lines, errors, summary) = run(input);

    // Assert
    assert_eq!(summary.classified, 2);
    assert!(errors.is_empty(), "{errors}");
    assert_eq!(lines[0]["id"], "a1");
    assert_eq!(lines[0]["topic"], "waste");
    assert!(lines[0]["topic_score"].as_f64().is_some());
    assert_eq!(lines[0]["abusive"], false);
    assert_eq!(lines[0]["abuse_kind"], Value::Null);
    assert_eq!(lines[0]["reasons"], serde_json::json!([]));
    assert_eq!(lines[1]["id"], 7);
    assert_eq!(lines[1]["abusive"], true);
    assert_eq!(lines[1]["abuse_verdict"], "abusive");
    assert_eq!(lines[1]["abuse_kind"], "insult");
    assert!(lines[1]["reasons"][0]
        .as_str()
        .is_some_and(|r| r.contains("cave")));
    for field in [
        "topic",
        "topic_score",
        "abusive",
        "abuse_kind",
        "abuse_score",
        "reasons",
        "model_version",
    ] {
        assert!(lines[1].get(field).is_some(), "missing {field}");
    }
}

#[test]
fn invalid_lines_are_reported_with_their_line_number_and_the_rest_is_classified() {
    // Arrange
    let input = "{\"id\":1,\"text\":\"bonjour\"}\nnot json\n\n{\"id\":3}\n[1,2]\n{\"id\":5,\"text\":\"merci\"}\n";

    // Act
    let (lines, errors, summary) = run(input);

    // Assert
    assert_eq!(summary.classified, 2);
    assert_eq!(summary.rejected, 3);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["id"], 5);
    assert!(errors.contains("line 2: invalid JSON"), "{errors}");
    assert!(errors.contains("line 4: missing \"text\""), "{errors}");
    assert!(
        errors.contains("line 5: expected a JSON object"),
        "{errors}"
    );
}

#[test]
fn invalid_utf8_in_a_line_is_reported_not_fatal() {
    let mut input = b"{\"id\":1,\"text\":\"caf\xff\"}\n".to_vec();
    input.extend_from_slice(b"{\"id\":2,\"text\":\"allo\"}\n");
    let mut out = Vec::new();
    let mut err = Vec::new();
    let summary =
        classify_jsonl(shipped(), input.as_slice(), &mut out, &mut err).expect("I/O succeeds");
    assert_eq!(summary.classified, 1);
    assert_eq!(summary.rejected, 1);
    assert!(String::from_utf8_lossy(&err).contains("line 1:"));
}

#[test]
fn an_abstaining_topic_is_null_with_the_best_score_and_a_reason() {
    // Arrange / Act
    let (lines, _, _) = run("{\"id\":\"e\",\"text\":\"😀😀😀\"}\n");

    // Assert
    assert_eq!(lines[0]["topic"], Value::Null);
    assert!(lines[0]["topic_abstain_reason"].as_str().is_some());
    assert_eq!(lines[0]["abusive"], false);
}

#[test]
fn a_sacre_about_a_thing_is_clean_and_explained_in_notes() {
    let (lines, _, _) = run("{\"id\":1,\"text\":\"le câlisse de nid-de-poule a pété mon pneu\"}\n");
    assert_eq!(lines[0]["abusive"], false);
    let notes = lines[0]["notes"].as_array().expect("notes array");
    assert!(
        notes.iter().any(|n| n
            .as_str()
            .is_some_and(|s| s.starts_with("sacre au sujet d'une chose"))),
        "{notes:?}"
    );
}
