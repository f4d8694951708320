//! The acceptance spec of the email parser: every fixture in
//! `tests/fixtures/email/` handled as its test's doc comment says (the
//! fixture notes of the project), through the public API the gateway uses
//! (`parse_email`, `inspect`).

// Helpers outside #[test] functions panic to report a failed test, as the
// tests themselves do.
#![allow(clippy::unwrap_used)]

use chrono::{TimeZone, Utc};
use connectors::email::{inspect, parse_email, BounceSeverity, ParseContext, ParsedEmail};
use models::{
    AttachmentContent, EmailAddress, Language, MessageKind, ReferenceNumber, ReferencePrefix,
};

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/email/",
            $name
        ))
        .as_slice()
    };
}

fn context() -> ParseContext {
    ParseContext {
        reference_prefix: ReferencePrefix::parse("SJ").unwrap(),
        city_addresses: vec![EmailAddress::parse("clientele@saintejulie.ca").unwrap()],
        max_attachment_bytes: 15 * 1024 * 1024,
        fallback_received_at: Utc.with_ymd_and_hms(2026, 1, 20, 12, 0, 0).unwrap(),
    }
}

fn parse(raw: &[u8]) -> ParsedEmail {
    parse_email(raw, &context()).expect("fixture parses")
}

fn has_c1(text: &str) -> bool {
    text.chars().any(|c| ('\u{80}'..='\u{9f}').contains(&c))
}

/// 01: Mutt, `text/plain; charset=iso-8859-1`, quoted-printable with soft
/// breaks, Subject split in two encoded-words inside « Pruches »: exact French
/// text, From name, Subject and Message-ID; a new request to acknowledge.
#[test]
fn fixture_01_latin1_quoted_printable_decodes_to_exact_french() {
    // Arrange
    let raw = fixture!("01-plain-fr-iso-8859-1-qp.eml");

    // Act
    let parsed = parse(raw);

    // Assert
    let m = &parsed.message;
    assert_eq!(m.sender.key(), "rejean.bouchard@example.net");
    assert_eq!(m.sender_name.as_deref(), Some("Réjean Bouchard"));
    assert_eq!(
        m.subject.as_deref(),
        Some("Collecte des ordures non effectuée - rue des Pruches")
    );
    assert_eq!(
        m.external_id.as_ref(),
        "20260113135457.GA4182@poste.example.net"
    );
    assert_eq!(
        m.hints.rfc_message_id.as_ref().unwrap().as_ref(),
        "20260113135457.GA4182@poste.example.net"
    );
    assert!(m
        .body_text
        .contains("n'a pas été effectuée hier sur la rue des Pruches (secteur"));
    assert!(m
        .body_text
        .contains("ça va être un problème pour la déneigeuse."));
    assert!(m.body_text.ends_with("Réjean Bouchard"));
    assert_eq!(m.new_text, m.body_text);
    assert_eq!(
        m.received_at,
        Utc.with_ymd_and_hms(2026, 1, 13, 13, 54, 57).unwrap()
    );
    assert_eq!(m.kind, MessageKind::Citizen);
    assert_eq!(m.language, Language::Fr);
    assert!(m.body_html.is_none());
    assert!(m.attachments.is_empty());
    assert!(m.hints.references.is_empty());
    assert!(m.hints.in_reply_to.is_empty());
    assert!(parsed.should_acknowledge());
    assert!(parsed.bounce.is_none());
}

/// 02: Outlook Word HTML only (base64 UTF-8, `<style>`, `<!--[if gte mso 9]>`,
/// `&nbsp;` paragraphs): the three paragraphs and the two-line signature as
/// text, no CSS or conditional-comment content, HTML kept only sanitized.
#[test]
fn fixture_02_outlook_html_only_becomes_clean_paragraphs() {
    // Arrange
    let raw = fixture!("02-outlook-html-only-utf8.eml");

    // Act
    let parsed = parse(raw);

    // Assert
    let m = &parsed.message;
    assert_eq!(
        m.subject.as_deref(),
        Some("Déneigement de la rue du Cardinal")
    );
    assert_eq!(
        m.body_text,
        "Bonjour,\n\n\
         Depuis la tempête de dimanche, la rue du Cardinal n’a toujours pas été déneigée. \
         Les autobus scolaires ne passent plus et ma voisine âgée ne peut pas sortir de chez elle.\n\n\
         Pouvez-vous m’indiquer quand la charrue va passer? Merci de votre aide.\n\n\
         Sophie Gagnon\n\
         Conseillère, ressources humaines | Entreprise Exemple inc."
    );
    for leaked in [
        "font-family",
        "mso-",
        "WordSection",
        "shapedefaults",
        "\u{a0}",
        "{",
        "<",
    ] {
        assert!(!m.body_text.contains(leaked), "body text leaks {leaked:?}");
    }
    let html = m.body_html.as_deref().expect("sanitized HTML kept");
    assert!(html.contains("Bonjour,"));
    for unsafe_part in ["<style", "<!--", "mso", "<meta", "<o:p"] {
        assert!(
            !html.contains(unsafe_part),
            "HTML keeps {unsafe_part:?}: {html}"
        );
    }
    assert_eq!(m.kind, MessageKind::Citizen);
    assert!(parsed.should_acknowledge());
}

/// 03: Thunderbird `multipart/mixed` { alternative { flowed text, HTML },
/// JPEG }: the flowed text joined, and one attachment named from RFC 2231
/// `filename*`, 363 bytes, `FF D8 FF` … `FF D9`, with the given SHA-256.
#[test]
fn fixture_03_takes_the_flowed_text_and_the_jpeg_attachment() {
    // Arrange
    let raw = fixture!("03-multipart-alternative-jpeg.eml");

    // Act
    let parsed = parse(raw);

    // Assert
    let m = &parsed.message;
    assert_eq!(m.sender_name.as_deref(), Some("Nathalie Côté"));
    assert_eq!(
        m.subject.as_deref(),
        Some("Nid-de-poule coin Thérèse et chemin du Moulin")
    );
    assert_eq!(
        m.body_text,
        "Bonjour,\n\n\
         Il y a un nid-de-poule très profond au coin de la rue Thérèse et du chemin du Moulin, \
         dans la voie de droite en direction nord. Une voiture a perdu un enjoliveur ce matin. \
         Je vous envoie une photo.\n\n\
         Bonne journée,\n\
         Nathalie Côté"
    );
    assert_eq!(m.attachments.len(), 1);
    let photo = &m.attachments[0];
    assert_eq!(
        photo.filename.as_deref(),
        Some("nid-de-poule-rue-Thérèse.jpg")
    );
    assert_eq!(photo.content_type, "image/jpeg");
    assert_eq!(photo.size_bytes, Some(363));
    assert_eq!(
        photo.sha256.as_deref(),
        Some("0711964165402b6b9c3cec8d7f26fd720034ab5b3342de90cab383f575f87962")
    );
    let AttachmentContent::Inline { bytes } = &photo.content else {
        panic!("photo not kept: {:?}", photo.content);
    };
    assert_eq!(&bytes[..3], &[0xFF, 0xD8, 0xFF]);
    assert_eq!(&bytes[bytes.len() - 2..], &[0xFF, 0xD9]);
    assert!(m
        .body_html
        .as_deref()
        .unwrap()
        .contains("<b>très profond</b>"));
    assert!(parsed.should_acknowledge());
}

/// 04: the citizen of 01 answers our acknowledgement: threaded into
/// SJ-2026-000123 by the subject tag and In-Reply-To/References, no new
/// request, and new text « Bonjour, » … « Réjean » without the quote.
#[test]
fn fixture_04_reply_is_threaded_and_keeps_only_the_new_words() {
    // Arrange
    let raw = fixture!("04-reply-thread-quoted.eml");

    // Act
    let parsed = parse(raw);

    // Assert
    let m = &parsed.message;
    assert_eq!(
        m.subject.as_deref(),
        Some("Re: [SJ-2026-000123] Accusé de réception : Collecte des ordures non effectuée - rue des Pruches")
    );
    assert_eq!(
        m.new_text,
        "Bonjour,\n\n\
         Le camion n’est toujours pas passé ce matin. Les bacs sont maintenant\n\
         enterrés dans le banc de neige laissé par la charrue. Est-ce que je dois\n\
         les rentrer en attendant?\n\n\
         Réjean"
    );
    assert!(!m.new_text.contains('>'));
    assert!(m
        .body_text
        .contains("> Nous avons bien reçu votre message."));
    assert_eq!(
        m.hints.references,
        vec![ReferenceNumber::parse("SJ-2026-000123").unwrap()]
    );
    let ids: Vec<&str> = m.hints.in_reply_to.iter().map(AsRef::as_ref).collect();
    assert_eq!(
        ids,
        [
            "sj.SJ-2026-000123.0b7e41c2@saintejulie.ca",
            "20260113135457.GA4182@poste.example.net"
        ]
    );
    assert_eq!(m.kind, MessageKind::Citizen);
    assert!(parsed.is_follow_up());
    assert!(!parsed.should_acknowledge());
}

/// 05: Exchange out-of-office (`Auto-Submitted: auto-replied`,
/// `X-Auto-Response-Suppress`): never acknowledged, never a new request, at
/// most noted on SJ-2026-000124.
#[test]
fn fixture_05_out_of_office_is_an_auto_reply_never_acknowledged() {
    // Arrange
    let raw = fixture!("05-out-of-office-auto-reply.eml");

    // Act
    let parsed = parse(raw);

    // Assert
    let m = &parsed.message;
    assert_eq!(m.kind, MessageKind::AutoReply);
    assert_eq!(
        m.subject.as_deref(),
        Some("Réponse automatique : [SJ-2026-000124] Accusé de réception : Déneigement de la rue du Cardinal")
    );
    assert!(!parsed.should_acknowledge());
    assert_eq!(
        m.hints.references,
        vec![ReferenceNumber::parse("SJ-2026-000124").unwrap()]
    );
    assert_eq!(
        parsed.automatic_reasons.len(),
        2,
        "{:?}",
        parsed.automatic_reasons
    );
    assert!(parsed.bounce.is_none());
}

/// 06: Postfix DSN (`Return-Path: <>`, MAILER-DAEMON, `multipart/report`):
/// a bounce, never acknowledged, with Final-Recipient, Action, Status 5.1.1
/// (permanent), Diagnostic-Code, and linked to SJ-2026-000125 through the
/// returned Message-ID.
#[test]
fn fixture_06_bounce_reports_the_failed_recipient_and_our_message() {
    // Arrange
    let raw = fixture!("06-bounce-dsn.eml");

    // Act
    let parsed = parse(raw);

    // Assert
    let m = &parsed.message;
    assert_eq!(m.kind, MessageKind::Bounce);
    assert_eq!(m.sender.key(), "mailer-daemon@relais.saintejulie.ca");
    assert!(!parsed.should_acknowledge());
    let bounce = parsed.bounce.as_ref().expect("bounce report");
    assert_eq!(
        bounce.reporting_mta.as_deref(),
        Some("relais.saintejulie.ca")
    );
    assert_eq!(bounce.recipients.len(), 1);
    let r = &bounce.recipients[0];
    assert_eq!(r.final_recipient.as_deref(), Some("m.lavoei@example.com"));
    assert_eq!(r.address.as_ref().unwrap().as_ref(), "m.lavoei@example.com");
    assert_eq!(r.action.as_deref(), Some("failed"));
    assert_eq!(r.status.as_deref(), Some("5.1.1"));
    assert_eq!(
        r.diagnostic_code.as_deref(),
        Some("smtp; 550 5.1.1 <m.lavoei@example.com>: Recipient address rejected: User unknown in virtual mailbox table")
    );
    assert_eq!(r.severity, BounceSeverity::Permanent);
    assert!(bounce.is_permanent());
    assert_eq!(
        bounce.original_message_id.as_ref().unwrap().as_ref(),
        "sj.SJ-2026-000125.5d2f90aa@saintejulie.ca"
    );
    assert_eq!(
        bounce.original_subject.as_deref(),
        Some("[SJ-2026-000125] Accusé de réception : Lampadaire de rue défectueux")
    );
    assert_eq!(
        m.hints.in_reply_to[0].as_ref(),
        "sj.SJ-2026-000125.5d2f90aa@saintejulie.ca"
    );
    assert_eq!(
        m.hints.references,
        vec![ReferenceNumber::parse("SJ-2026-000125").unwrap()]
    );
    assert!(m
        .body_text
        .starts_with("This is the mail system at host relais.saintejulie.ca."));
    assert!(
        !m.body_text.contains("Reporting-MTA"),
        "report part leaked into the body"
    );
    assert!(m.attachments.is_empty(), "{:?}", m.attachments);
}

/// 07: Mailman newsletter (`List-Id`, `List-Unsubscribe`, `Precedence:
/// list`): list mail, not acknowledged, no reference number.
#[test]
fn fixture_07_mailing_list_mail_is_filed_as_list_mail() {
    // Arrange
    let raw = fixture!("07-mailing-list.eml");

    // Act
    let parsed = parse(raw);

    // Assert
    let m = &parsed.message;
    assert_eq!(m.kind, MessageKind::MailingList);
    assert!(!parsed.should_acknowledge());
    assert!(m.hints.references.is_empty());
    assert_eq!(
        m.subject.as_deref(),
        Some("[Bulletin] Collecte des résidus verts : nouveau calendrier 2026")
    );
    assert!(m.body_text.contains("Bonjour à toutes et à tous,"));
}

/// 08: old Outlook, `charset="windows-1252"` 8bit with 0x92 0x93 0x94 0x85
/// 0x96: ’ “ ” … – and no C1 controls, Subject « Bac de recyclage brisé par
/// le camion – rue Lavoie »; a new request to acknowledge.
#[test]
fn fixture_08_windows_1252_gives_typographic_punctuation_and_no_c1() {
    // Arrange
    let raw = fixture!("08-windows-1252-smart-quotes.eml");

    // Act
    let parsed = parse(raw);

    // Assert
    let m = &parsed.message;
    assert_eq!(
        m.subject.as_deref(),
        Some("Bac de recyclage brisé par le camion – rue Lavoie")
    );
    assert_eq!(m.sender_name.as_deref(), Some("Jocelyne Gagnon"));
    assert!(m
        .body_text
        .contains("Le chauffeur m’a dit de « faire une demande à la Ville »… alors la voici!"));
    assert!(m.body_text.contains(
        "Le bac porte le numéro “R-20461” sur le côté. Est-ce qu’il sera remplacé – ou réparé?"
    ));
    assert!(!has_c1(&m.body_text));
    assert!(!has_c1(m.subject.as_deref().unwrap()));
    assert!(parsed.should_acknowledge());
}

#[test]
fn inspect_gives_the_json_contract_for_every_fixture() {
    // Arrange
    type Case<'a> = (&'a str, &'a [u8], &'a str, bool, Option<&'a str>);
    let cases: [Case<'_>; 8] = [
        (
            "01",
            fixture!("01-plain-fr-iso-8859-1-qp.eml"),
            "citizen",
            true,
            None,
        ),
        (
            "02",
            fixture!("02-outlook-html-only-utf8.eml"),
            "citizen",
            true,
            None,
        ),
        (
            "03",
            fixture!("03-multipart-alternative-jpeg.eml"),
            "citizen",
            true,
            None,
        ),
        (
            "04",
            fixture!("04-reply-thread-quoted.eml"),
            "reply_in_thread",
            false,
            Some("SJ-2026-000123"),
        ),
        (
            "05",
            fixture!("05-out-of-office-auto-reply.eml"),
            "auto_reply",
            false,
            Some("SJ-2026-000124"),
        ),
        (
            "06",
            fixture!("06-bounce-dsn.eml"),
            "bounce",
            false,
            Some("SJ-2026-000125"),
        ),
        (
            "07",
            fixture!("07-mailing-list.eml"),
            "mailing_list",
            false,
            None,
        ),
        (
            "08",
            fixture!("08-windows-1252-smart-quotes.eml"),
            "citizen",
            true,
            None,
        ),
    ];
    for (name, raw, kind, acknowledge, reference) in cases {
        // Act
        let value = inspect(name, raw, &context());

        // Assert
        assert_eq!(value["file"], name, "case {name}");
        assert_eq!(value["kind"], kind, "case {name}");
        assert_eq!(value["should_acknowledge"], acknowledge, "case {name}");
        assert_eq!(value["reference"].as_str(), reference, "case {name}");
        assert!(value["from"].as_str().unwrap().contains('@'), "case {name}");
        assert!(value["new_text"].is_string(), "case {name}");
        assert!(value["attachments"].is_array(), "case {name}");
    }
}

#[test]
fn inspect_lists_attachment_fields_and_marks_refused_ones() {
    // Arrange
    let raw = fixture!("03-multipart-alternative-jpeg.eml");
    let mut small = context();
    small.max_attachment_bytes = 100;

    // Act
    let kept = inspect("03.eml", raw, &context());
    let refused = inspect("03.eml", raw, &small);

    // Assert
    let a = &kept["attachments"][0];
    assert_eq!(a["filename"], "nid-de-poule-rue-Thérèse.jpg");
    assert_eq!(a["content_type"], "image/jpeg");
    assert_eq!(a["size"], 363);
    assert_eq!(
        a["sha256"],
        "0711964165402b6b9c3cec8d7f26fd720034ab5b3342de90cab383f575f87962"
    );
    assert!(a.get("refused").is_none());
    assert!(refused["attachments"][0]["refused"]
        .as_str()
        .unwrap()
        .contains("363"));
    assert_eq!(refused["should_acknowledge"], true);
}

#[test]
fn inspect_of_garbage_is_an_error_object() {
    // Arrange
    let inputs: [&[u8]; 3] = [b"", b"\r\n\r\n", b"not a mail at all"];
    for raw in inputs {
        // Act
        let value = inspect("bad.eml", raw, &context());

        // Assert
        assert_eq!(value["file"], "bad.eml");
        assert!(value["error"].is_string(), "input {raw:?} gave {value}");
    }
}
