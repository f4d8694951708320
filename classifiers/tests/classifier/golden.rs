//! Golden tests: fixture messages with expected labels in
//! `tests/fixtures/golden.jsonl`. A model or rule change that alters one of
//! these must update that file on purpose, in the same change.

use models::{AbuseVerdict, TopicVerdict};
use serde::Deserialize;

use crate::helpers::{classify, crate_dir};

#[derive(Debug, Deserialize)]
struct Golden {
    name: String,
    text: String,
    /// Expected topic; `null` when the message has no clear topic.
    topic: Option<String>,
    /// `clean`, `abusive` (a confirmed flag) or `flagged` (abusive or à vérifier).
    abuse: String,
    abuse_kind: Option<String>,
    hard_case: Option<String>,
    /// A known error of the shipped model on this fixture, and what it
    /// gives instead. The labels stay the true ones; the marker is removed
    /// when the model gets it right.
    #[serde(default)]
    known_miss: Option<String>,
}

/// Known misses allowed in the golden set: more means the model lost ground.
const MAX_KNOWN_MISSES: usize = 4;

fn fixtures() -> Vec<Golden> {
    let path = crate_dir().join("tests/fixtures/golden.jsonl");
    let text = std::fs::read_to_string(&path).expect("golden fixtures are readable");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("golden fixture is valid JSON"))
        .collect()
}

/// What is wrong with one fixture's result, if anything.
fn mismatch(g: &Golden) -> Option<String> {
    let c = classify(&g.text);
    let mut problems = Vec::new();
    if let Some(expected) = &g.topic {
        match &c.topic {
            TopicVerdict::Label { topic, .. } if topic.as_str() == expected => {}
            other => problems.push(format!("topic {expected} expected, got {other:?}")),
        }
    }
    let kind_ok = |kind: Option<&str>| g.abuse_kind.is_none() || g.abuse_kind.as_deref() == kind;
    let ok = match (g.abuse.as_str(), &c.abuse) {
        ("clean", AbuseVerdict::Clean { .. }) => true,
        ("abusive", AbuseVerdict::Abusive { kind, .. }) => kind_ok(Some(kind.as_str())),
        ("flagged", AbuseVerdict::Abusive { kind, .. }) => kind_ok(Some(kind.as_str())),
        ("flagged", AbuseVerdict::ToVerify { kind, .. }) => {
            kind.is_none() || kind_ok(kind.map(|k| k.as_str()))
        }
        _ => false,
    };
    if !ok {
        problems.push(format!(
            "abuse {} {:?} expected, got {:?}",
            g.abuse, g.abuse_kind, c.abuse
        ));
    }
    if problems.is_empty() {
        None
    } else {
        Some(format!(
            "{} ({:?}): {}",
            g.name,
            g.text,
            problems.join("; ")
        ))
    }
}

#[test]
fn every_golden_fixture_gets_its_expected_labels() {
    // Arrange
    let fixtures = fixtures();
    assert!(
        fixtures.len() >= 60,
        "the golden set shrank to {}",
        fixtures.len()
    );

    // Act
    let failures: Vec<String> = fixtures
        .iter()
        .filter(|g| g.known_miss.is_none())
        .filter_map(mismatch)
        .collect();
    let fixed: Vec<&str> = fixtures
        .iter()
        .filter(|g| g.known_miss.is_some() && mismatch(g).is_none())
        .map(|g| g.name.as_str())
        .collect();
    let known = fixtures.iter().filter(|g| g.known_miss.is_some()).count();

    // Assert
    assert!(
        failures.is_empty(),
        "golden mismatches:\n{}",
        failures.join("\n")
    );
    assert!(
        fixed.is_empty(),
        "now right, remove their known_miss: {fixed:?}"
    );
    assert!(known <= MAX_KNOWN_MISSES, "{known} known misses");
}

#[test]
fn no_legal_media_or_sacre_about_a_thing_fixture_is_flagged() {
    // Arrange
    let protected = [
        "legal_threat",
        "media_threat",
        "sacre_about_thing",
        "political_recourse",
    ];
    let fixtures: Vec<Golden> = fixtures()
        .into_iter()
        .filter(|g| {
            g.hard_case
                .as_deref()
                .is_some_and(|h| protected.contains(&h))
        })
        .collect();
    assert!(
        fixtures.len() >= 12,
        "too few protected fixtures: {}",
        fixtures.len()
    );

    for g in &fixtures {
        // Act
        let c = classify(&g.text);

        // Assert
        assert!(
            !c.abuse.needs_review(),
            "{} ({:?}) was flagged: {:?}",
            g.name,
            g.text,
            c.abuse
        );
    }
}

#[test]
fn a_flag_explains_itself_with_the_citizens_words_in_french_and_english() {
    // Arrange
    let text = "Bonjour, crisse d'incompétent, ça fait trois fois que j'appelle.";

    // Act
    let c = classify(text);

    // Assert
    match c.abuse {
        AbuseVerdict::Abusive { reasons, .. } => {
            assert!(
                reasons
                    .iter()
                    .any(|r| r
                        == "injure adressée à une personne / name-calling aimed at a person : « crisse d'incompétent »"),
                "reasons were {reasons:?}"
            );
        }
        other => panic!("expected a confirmed flag, got {other:?}"),
    }
}

#[test]
fn the_model_version_names_the_model_and_the_rules() {
    let c = classify("Bonjour");
    assert!(
        c.model_version.starts_with("sj-clf/model-"),
        "{}",
        c.model_version
    );
    assert!(c.model_version.contains("/rules-"), "{}", c.model_version);
}
