//! Hostile and odd input: a result, never a panic.

use std::time::{Duration, Instant};

use models::{AbuseVerdict, TopicVerdict};
use proptest::prelude::*;

use crate::helpers::{classify, shipped};
use classifiers::{Classifier, ClassifierInput};

/// Generous bound for one message in an unoptimised test build; the point
/// is "no pathological blow-up", the real figures are in BENCHMARKS.md.
const SLOW_MESSAGE: Duration = Duration::from_secs(20);

#[test]
fn an_empty_message_abstains_on_topic_and_is_clean() {
    // Arrange / Act
    let c = classify("");

    // Assert
    assert!(
        matches!(c.topic, TopicVerdict::Abstain { .. }),
        "{:?}",
        c.topic
    );
    assert!(
        matches!(c.abuse, AbuseVerdict::Clean { .. }),
        "{:?}",
        c.abuse
    );
}

#[test]
fn whitespace_and_punctuation_only_abstain() {
    let c = classify(" \n\t ...!!! ??? ");
    assert!(
        matches!(c.topic, TopicVerdict::Abstain { .. }),
        "{:?}",
        c.topic
    );
    assert!(!c.abuse.needs_review());
}

#[test]
fn a_megabyte_of_text_gets_a_result_in_bounded_time() {
    // Arrange
    let sentence = "Le bac brun n'a pas été ramassé sur la rue Principale, svp venez. ";
    let text: String = sentence.repeat(1_048_576 / sentence.len() + 1);
    assert!(text.len() > 1_000_000);

    // Act
    let start = Instant::now();
    let c = classify(&text);
    let elapsed = start.elapsed();

    // Assert
    assert!(elapsed < SLOW_MESSAGE, "took {elapsed:?}");
    assert!(
        matches!(
            c.topic,
            TopicVerdict::Label {
                topic: models::Topic::Waste,
                ..
            }
        ),
        "{:?}",
        c.topic
    );
}

#[test]
fn a_megabyte_of_one_repeated_letter_does_not_blow_up() {
    let text = "a ".repeat(500_000);
    let start = Instant::now();
    let c = classify(&text);
    assert!(start.elapsed() < SLOW_MESSAGE, "took {:?}", start.elapsed());
    assert!(!c.abuse.needs_review());
}

#[test]
fn a_message_of_only_emoji_abstains_and_is_clean() {
    let c = classify("😀😀🎉🎉👍");
    assert!(
        matches!(c.topic, TopicVerdict::Abstain { .. }),
        "{:?}",
        c.topic
    );
    assert!(
        matches!(c.abuse, AbuseVerdict::Clean { .. }),
        "{:?}",
        c.abuse
    );
}

#[test]
fn binary_garbage_read_as_lossy_text_gets_a_result() {
    // Arrange: bytes that are not UTF-8, as a connector would pass them on.
    let bytes: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let text = String::from_utf8_lossy(&bytes);

    // Act
    let c = classify(&text);

    // Assert
    assert!(c.abuse.score().is_finite());
    assert!(!c.model_version.is_empty());
}

#[test]
fn a_message_in_a_third_language_is_not_flagged() {
    for text in [
        "Hola, el camión de basura no pasó esta semana por mi calle.",
        "Guten Tag, die Straßenlaterne vor meinem Haus ist seit einer Woche kaputt.",
        "你好，我家门前的路灯坏了。",
        "Здравствуйте, у нас нет воды с утра.",
    ] {
        let c = classify(text);
        assert!(
            !c.abuse.needs_review(),
            "{text:?} was flagged: {:?}",
            c.abuse
        );
        assert!(c.abuse.score().is_finite());
    }
}

#[test]
fn the_subject_line_counts_for_the_topic() {
    // Arrange
    let input = ClassifierInput {
        text: "Pouvez-vous m'aider? C'est urgent.",
        subject: Some("Refoulement d'égout au sous-sol"),
        language: None,
    };

    // Act
    let c = shipped().classify(&input);

    // Assert
    assert!(
        matches!(
            c.topic,
            TopicVerdict::Label {
                topic: models::Topic::WaterSewer,
                ..
            }
        ),
        "{:?}",
        c.topic
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn classify_never_panics_on_arbitrary_strings(text in any::<String>()) {
        let c = classify(&text);
        prop_assert!(c.abuse.score().is_finite());
        prop_assert!((0.0..=1.0).contains(&c.abuse.score()));
    }

    #[test]
    fn classify_never_panics_on_obfuscation_like_strings(
        text in "[a-zA-Z0-9@$!*.'\\-_ éèçàÉ🖕🔪💩\n]{0,200}"
    ) {
        let c = classify(&text);
        if let TopicVerdict::Label { score, .. } = c.topic {
            prop_assert!((0.0..=1.0).contains(&score));
        }
    }
}
