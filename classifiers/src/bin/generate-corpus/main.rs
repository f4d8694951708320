//! Generates the labelled training corpus of the classifier, deterministically.
//!
//! Messages are composed from topic sentences, abusive sentences and hard
//! negatives (see `topics.rs` and `abuse.rs`), wrapped in the styles citizens
//! write in (email, chat, web form, one-liners), in French, English or both,
//! then roughened: accents dropped, typos, missing apostrophes, franglais,
//! capitals, obfuscated insults. Everything is written to
//! `generated.jsonl`; `classifiers::corpus::Corpus` puts 30 % of it (fixed by
//! id) in a secondary evaluation line and lets training use the rest.
//!
//! Usage: `cargo run -p classifiers --bin generate-corpus [-- CORPUS_DIR]`
//! (default: the crate's `corpus/` directory). The same source always writes
//! the same bytes.

mod abuse;
mod topics;

use std::path::PathBuf;
use std::process::ExitCode;

use classifiers::corpus::{write_records, CorpusRecord, Split, GENERATED_FILE};
use classifiers::rng::SplitMix64;
use models::{AbuseKind, Topic};

use abuse::*;
use topics::{TopicData, TOPICS};

/// The generator's seed. Changing it changes the corpus and every figure.
const SEED: u64 = 0x5a1e_2026_0000_0001;

/// Clean messages per topic (long and medium forms).
const CLEAN_PER_TOPIC: usize = 105;
/// Short chat-style messages per topic.
const SHORT_PER_TOPIC: usize = 14;

const STREETS: &[&str] = &[
    "rue Principale",
    "boulevard Armand-Frappier",
    "rue Borduas",
    "rue de Murano",
    "chemin du Fer-à-Cheval",
    "montée Sainte-Julie",
    "rue Nobel",
    "rue Jules-Choquet",
    "rue Lavoie",
    "rue des Hirondelles",
    "rue de la Commune",
    "rue Jacques-Cartier",
    "rue Roberval",
    "rue du Moulin",
    "rue Chagnon",
    "rue de l'Église",
    "rue Sabrevois",
    "rue Bellevue",
    "rue Simard",
    "rue des Cerisiers",
    "rue Goyer",
    "avenue du Parc",
    "rue Guertin",
    "rue Provencher",
    "chemin de la Belle-Rivière",
    "rue des Pins",
    "rue Lionel-Groulx",
    "rue de Normandie",
    "rue Savaria",
    "rue des Tulipes",
];
const NAMES: &[&str] = &[
    "Marie Tremblay",
    "Jean Gagnon",
    "Sylvie Roy",
    "Patrick Côté",
    "Nathalie Bouchard",
    "Kevin Gauthier",
    "Chantal Morin",
    "Steve Lavoie",
    "Linda Fortin",
    "Mélanie Pelletier",
    "John Smith",
    "Karen O'Brien",
    "Mohamed Benali",
    "Lan Nguyen",
    "Jessica Bélanger",
    "Ginette Ouellet",
    "Réjean Lapointe",
    "Mathieu Bergeron",
    "Isabelle Girard",
    "Denis Caron",
    "Priya Sharma",
    "Luc Dubois",
    "Annie Leblanc",
];
const DURATIONS_FR: &[&str] = &[
    "trois jours",
    "deux semaines",
    "un mois",
    "lundi",
    "ce matin",
    "hier",
    "une semaine",
    "10 jours",
    "le début de l'hiver",
    "trois mois",
    "avant les fêtes",
];
const DURATIONS_EN: &[&str] = &[
    "three days",
    "two weeks",
    "a month",
    "a week",
    "10 days",
    "months",
];
const SINCE_EN: &[&str] = &[
    "Monday",
    "last week",
    "yesterday",
    "the storm",
    "Christmas",
    "this morning",
];
const DAYS_FR: &[&str] = &["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"];
const DAYS_EN: &[&str] = &["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"];
const CHILDREN: &[&str] = &[
    "Félix", "Léa", "William", "Emma", "Noah", "Alice", "Thomas", "Rosalie",
];

const GREETINGS_FR: &[&str] = &[
    "Bonjour,",
    "Bonjour",
    "Allo,",
    "Bonsoir,",
    "Madame, Monsieur,",
    "Salut,",
    "Bonjour à vous,",
];
const GREETINGS_EN: &[&str] = &[
    "Hello,",
    "Hi,",
    "Good morning,",
    "To whom it may concern,",
    "Hi there,",
];
const CLOSINGS_FR: &[&str] = &[
    "Merci.",
    "Merci de votre aide.",
    "Bonne journée.",
    "Cordialement,",
    "Salutations,",
    "Merci d'avance.",
    "Merci de me revenir rapidement.",
    "Au plaisir,",
];
const CLOSINGS_EN: &[&str] = &[
    "Thanks.",
    "Thank you.",
    "Regards,",
    "Best regards,",
    "Thanks in advance.",
];
const REQUESTS_FR: &[&str] = &[
    "Pouvez-vous envoyer quelqu'un?",
    "Svp rappelez-moi au 450 555-0199.",
    "Quand est-ce que ça va être réglé?",
    "J'aimerais avoir un suivi.",
    "Merci de faire le nécessaire.",
    "Pouvez-vous me donner un numéro de requête?",
    "Qu'est-ce que je dois faire?",
    "J'attends votre retour.",
    "Ça presse un peu.",
];
const REQUESTS_EN: &[&str] = &[
    "Can you send someone?",
    "Please call me back.",
    "When will this be fixed?",
    "I'd like a follow-up.",
    "Can I get a reference number?",
    "What should I do?",
];
const CONTEXT_FR: &[&str] = &[
    "J'habite au {num} {rue} depuis vingt ans.",
    "Je vous écris au nom de ma mère qui a 84 ans.",
    "Je suis résident du secteur depuis peu.",
    "Je vous ai déjà écrit la semaine dernière.",
    "Je vous écris de mon cellulaire, excusez les fautes.",
];
const CONTEXT_EN: &[&str] = &[
    "I live at {num} {rue}.",
    "I'm writing on behalf of my elderly mother.",
    "I already wrote last week.",
];
const FRANGLAIS: &[(&str, &str)] = &[
    ("vraiment", "full"),
    ("camion", "truck"),
    ("vérifier", "checker"),
    ("annuler", "canceller"),
    ("fin de semaine", "weekend"),
    ("en tout cas", "anyway"),
    ("stationnement", "parking"),
    ("rendez-vous", "appointment"),
    ("téléphone", "cell"),
    ("bon", "anyway"),
];

/// The language of a generated message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lang {
    Fr,
    En,
    Mixed,
}

/// How a message is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Email,
    Chat,
    Form,
    Plain,
}

struct Generator {
    rng: SplitMix64,
    records: Vec<CorpusRecord>,
}

impl Generator {
    fn pick(&mut self, items: &[&'static str]) -> &'static str {
        items
            .get(self.rng.below(items.len()))
            .copied()
            .unwrap_or("")
    }

    fn lang(&mut self) -> Lang {
        let r = self.rng.unit();
        if r < 0.68 {
            Lang::Fr
        } else if r < 0.9 {
            Lang::En
        } else {
            Lang::Mixed
        }
    }

    fn style(&mut self) -> Style {
        match self.rng.below(10) {
            0..=3 => Style::Email,
            4..=6 => Style::Plain,
            7..=8 => Style::Chat,
            _ => Style::Form,
        }
    }

    /// Replaces `{slot}`s. Words that carry abuse are obfuscated when asked.
    fn fill(&mut self, template: &str, topic: &TopicData, lang: Lang, obfuscate: bool) -> String {
        let mut out = String::with_capacity(template.len() + 32);
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let Some(close) = after.find('}') else {
                out.push_str(&rest[open..]);
                return out;
            };
            let key = &after[..close];
            let en = lang == Lang::En;
            let value = match key {
                "rue" => self.pick(STREETS).to_owned(),
                "rue2" => {
                    let s = self.pick(STREETS);
                    s.split_once(' ').map_or(s, |(_, name)| name).to_owned()
                }
                "num" => (100 + self.rng.below(2900)).to_string(),
                "duree" => {
                    if en {
                        self.pick(DURATIONS_EN).to_owned()
                    } else {
                        self.pick(DURATIONS_FR).to_owned()
                    }
                }
                "since" => self.pick(SINCE_EN).to_owned(),
                "jour" => self.pick(DAYS_FR).to_owned(),
                "day" => self.pick(DAYS_EN).to_owned(),
                "enfant" => self.pick(CHILDREN).to_owned(),
                "auto" => self.pick(CARS).to_owned(),
                "ins" => self.abuse_word(if en { INSULTS_EN } else { INSULTS_FR }, obfuscate),
                "insp" => self.abuse_word(
                    if en {
                        INSULTS_EN_PLURAL
                    } else {
                        INSULTS_FR_PLURAL
                    },
                    obfuscate,
                ),
                "staff" => self.pick(if en { STAFF_EN } else { STAFF_FR }).to_owned(),
                "staffp" => {
                    let s = self.pick(if en { STAFF_EN_PLURAL } else { STAFF_FR_PLURAL });
                    capitalise_first(s)
                }
                "sacre" => self.abuse_word(SACRES, obfuscate),
                "harm" => self.abuse_word(if en { HARM_EN } else { HARM_FR }, obfuscate),
                "group" => self.pick(if en { GROUPS_EN } else { GROUPS_FR }).to_owned(),
                "dem" => self.abuse_word(if en { DEMEANING_EN } else { DEMEANING_FR }, obfuscate),
                "slur" => self.abuse_word(SLURS, obfuscate),
                "thing" => {
                    let things = if en { topic.things_en } else { topic.things_fr };
                    self.pick(things).to_owned()
                }
                _ => format!("{{{key}}}"),
            };
            out.push_str(&value);
            rest = &after[close + 1..];
        }
        out.push_str(rest);
        out
    }

    fn abuse_word(&mut self, items: &[&'static str], obfuscate: bool) -> String {
        let word = self.pick(items);
        if obfuscate {
            self.obfuscate(word)
        } else {
            word.to_owned()
        }
    }

    /// Disguises a word the way people dodge filters.
    fn obfuscate(&mut self, word: &str) -> String {
        let chars: Vec<char> = word.chars().collect();
        if chars.len() < 3 || word.contains(' ') {
            return word.to_owned();
        }
        match self.rng.below(6) {
            0 => chars
                .iter()
                .map(|&c| match c {
                    'a' => '@',
                    'e' => '3',
                    'i' => '1',
                    'o' => '0',
                    's' => '$',
                    _ => c,
                })
                .collect(),
            1 => {
                let sep = self.pick(&[".", "-", " ", "*"]);
                chars
                    .iter()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>()
                    .join(sep)
            }
            2 => {
                let mut s: String = chars[..1].iter().collect();
                for _ in 1..chars.len() - 1 {
                    s.push('*');
                }
                if chars.len() > 4 {
                    s = format!("{}{}", chars[0], chars[1]);
                    for _ in 2..chars.len() - 1 {
                        s.push('*');
                    }
                }
                s.push(chars[chars.len() - 1]);
                s
            }
            3 => {
                let i = 1 + self.rng.below(chars.len() - 1);
                let mut s: String = chars[..i].iter().collect();
                for _ in 0..(3 + self.rng.below(4)) {
                    s.push(chars[i - 1]);
                }
                s.extend(&chars[i..]);
                s
            }
            4 => chars
                .iter()
                .map(|c| c.to_uppercase().collect::<String>())
                .collect(),
            _ => chars
                .iter()
                .map(|&c| match c {
                    'o' => '0',
                    'i' => '!',
                    'a' => '4',
                    _ => c,
                })
                .collect(),
        }
    }

    /// One to three sentences about a topic.
    fn topical_sentences(&mut self, t: &TopicData, lang: Lang) -> Vec<String> {
        let (issues, details, requests, contexts) = match lang {
            Lang::En => (t.en, t.en_details, REQUESTS_EN, CONTEXT_EN),
            _ => (t.fr, t.fr_details, REQUESTS_FR, CONTEXT_FR),
        };
        let mut out = Vec::new();
        if self.rng.chance(0.2) {
            let c = self.pick(contexts);
            out.push(self.fill(c, t, lang, false));
        }
        let issue = self.pick(issues);
        out.push(self.fill(issue, t, lang, false));
        if self.rng.chance(0.45) {
            let d = self.pick(details);
            out.push(self.fill(d, t, lang, false));
        }
        if lang == Lang::Mixed && self.rng.chance(0.7) {
            let e = self.pick(t.en);
            out.push(self.fill(e, t, Lang::En, false));
        }
        if self.rng.chance(0.5) {
            out.push(self.pick(requests).to_owned());
        }
        out
    }

    /// Puts sentences into a message of a style.
    fn wrap(&mut self, sentences: Vec<String>, lang: Lang, style: Style, t: &TopicData) -> String {
        let en = lang == Lang::En;
        let body = sentences.join(if self.rng.chance(0.3) { "\n" } else { " " });
        let text = match style {
            Style::Email => {
                let greeting = self.pick(if en { GREETINGS_EN } else { GREETINGS_FR });
                let closing = self.pick(if en { CLOSINGS_EN } else { CLOSINGS_FR });
                let name = self.pick(NAMES);
                if self.rng.chance(0.5) {
                    format!("{greeting}\n\n{body}\n\n{closing}\n{name}")
                } else {
                    format!("{greeting} {body} {closing}")
                }
            }
            Style::Form => {
                let subject = self.pick(if en { t.en } else { t.fr });
                let subject: String = subject
                    .split_whitespace()
                    .take(5)
                    .collect::<Vec<_>>()
                    .join(" ");
                let subject = self.fill(&subject, t, lang, false);
                let address = self.fill("{num} {rue}", t, lang, false);
                if self.rng.chance(0.5) {
                    format!("Objet : {subject}\nAdresse : {address}\nMessage : {body}")
                } else {
                    format!("Sujet: {subject}\nDescription: {body}")
                }
            }
            Style::Chat => {
                let mut s = body.to_lowercase();
                if self.rng.chance(0.3) {
                    s = format!(
                        "{} {s}",
                        self.pick(&["allo", "bonjour", "salut", "hi", "yo"])
                    );
                }
                if self.rng.chance(0.15) {
                    s.push(' ');
                    s.push_str(self.pick(&["😡", "🙏", "😤", "🤬", "😢", "👍", "🙄"]));
                }
                s
            }
            Style::Plain => body,
        };
        self.roughen(&text, lang, style)
    }

    /// Typos, dropped accents and apostrophes, franglais.
    fn roughen(&mut self, text: &str, lang: Lang, style: Style) -> String {
        let mut s = text.to_owned();
        let casual = style == Style::Chat;
        if lang != Lang::En && self.rng.chance(if casual { 0.6 } else { 0.2 }) {
            s = strip_accents(&s);
        }
        if lang != Lang::En && self.rng.chance(if casual { 0.4 } else { 0.08 }) {
            for (a, b) in [
                ("j'ai", "jai"),
                ("c'est", "cest"),
                ("J'ai", "Jai"),
                ("C'est", "Cest"),
                ("n'a", "na"),
                ("d'", "d "),
            ] {
                s = s.replace(a, b);
            }
        }
        if lang != Lang::En && self.rng.chance(0.15) {
            let (a, b) = FRANGLAIS[self.rng.below(FRANGLAIS.len())];
            s = s.replacen(a, b, 1);
        }
        let typo_rate = if casual { 0.05 } else { 0.015 };
        let words: Vec<String> = s.split(' ').map(str::to_owned).collect();
        let mut out = Vec::with_capacity(words.len());
        for w in words {
            let chars: Vec<char> = w.chars().collect();
            if chars.len() > 4
                && chars.iter().all(|c| c.is_alphabetic())
                && self.rng.chance(typo_rate)
            {
                let i = 1 + self.rng.below(chars.len() - 2);
                let mut c = chars.clone();
                match self.rng.below(3) {
                    0 => c.swap(i, i + 1),
                    1 => {
                        c.remove(i);
                    }
                    _ => c.insert(i, chars[i]),
                }
                out.push(c.into_iter().collect());
            } else {
                out.push(w);
            }
        }
        out.join(" ")
    }

    fn push(
        &mut self,
        text: String,
        topic: Topic,
        abuse: Option<AbuseKind>,
        hard_case: Option<&str>,
    ) {
        let id = format!("gen-{:05}", self.records.len() + 1);
        self.records.push(CorpusRecord {
            id,
            writer: None,
            language: None,
            channel: None,
            text,
            topic,
            abusive: abuse.is_some(),
            abuse_kind: abuse,
            hard_case: hard_case.map(str::to_owned),
        });
    }

    fn topic_data(&mut self) -> &'static TopicData {
        &TOPICS[self.rng.below(TOPICS.len())]
    }

    fn generate_clean(&mut self) {
        for t in TOPICS {
            for _ in 0..CLEAN_PER_TOPIC {
                let lang = self.lang();
                let style = self.style();
                let sentences = self.topical_sentences(t, lang);
                let text = self.wrap(sentences, lang, style, t);
                self.push(text, t.topic, None, None);
            }
            for _ in 0..SHORT_PER_TOPIC {
                let s = self.pick(t.short);
                let lang = if s.is_ascii() && self.rng.chance(0.5) {
                    Lang::En
                } else {
                    Lang::Fr
                };
                let text = self.fill(s, t, lang, false);
                let text = self.roughen(&text, lang, Style::Chat);
                self.push(text, t.topic, None, Some("short"));
            }
        }
    }

    /// A clean message built around a hard-negative sentence.
    fn hard_negative(
        &mut self,
        fr: &[&'static str],
        en: &[&'static str],
        tag: &str,
        count: usize,
        topical: bool,
    ) {
        for _ in 0..count {
            let lang = self.lang();
            let t = match infer_topic_hint(tag) {
                Some(topic) => topic_by(topic),
                None => self.topic_data(),
            };
            let template = if lang == Lang::En {
                self.pick(en)
            } else {
                self.pick(fr)
            };
            let t = infer_topic(template).map_or(t, topic_by);
            let obfuscate = tag == "sacre_about_thing" && self.rng.chance(0.15);
            let sentence = self.fill(template, t, lang, obfuscate);
            let mut sentences = if topical || self.rng.chance(0.6) {
                self.topical_sentences(t, if lang == Lang::Mixed { Lang::Fr } else { lang })
            } else {
                Vec::new()
            };
            let at = self.rng.below(sentences.len() + 1);
            sentences.insert(at, sentence);
            let style = self.style();
            let text = self.wrap(sentences, lang, style, t);
            self.push(text, t.topic, None, Some(tag));
        }
    }

    /// An abusive message: an abusive sentence alone or inside a request.
    fn abusive(&mut self, fr: &[&'static str], en: &[&'static str], kind: AbuseKind, count: usize) {
        for _ in 0..count {
            let lang = self.lang();
            let t = self.topic_data();
            let template = if lang == Lang::En {
                self.pick(en)
            } else {
                self.pick(fr)
            };
            let obfuscate = self.rng.chance(0.25);
            let sentence = self.fill(template, t, lang, obfuscate);
            let standalone = self.rng.chance(0.35);
            let (text, topic, tag) = if standalone {
                let s = if self.rng.chance(0.5) {
                    sentence.to_uppercase()
                } else {
                    sentence
                };
                let text = self.roughen(&s, lang, Style::Chat);
                (
                    text,
                    Topic::GeneralInfo,
                    if obfuscate { Some("obfuscated") } else { None },
                )
            } else {
                let mut sentences =
                    self.topical_sentences(t, if lang == Lang::Mixed { Lang::Fr } else { lang });
                let polite = self.rng.chance(0.3);
                let at = if polite {
                    sentences.len()
                } else {
                    self.rng.below(sentences.len() + 1)
                };
                sentences.insert(at, sentence);
                let style = if polite { Style::Email } else { self.style() };
                let text = self.wrap(sentences, lang, style, t);
                let tag = if obfuscate {
                    Some("obfuscated")
                } else if polite {
                    Some("buried_in_polite")
                } else {
                    None
                };
                (text, t.topic, tag)
            };
            self.push(text, topic, Some(kind), tag);
        }
    }
}

/// The topic a hard-case tag implies, if any.
fn infer_topic_hint(tag: &str) -> Option<Topic> {
    match tag {
        "quoted_insult" | "third_party_vent" => Some(Topic::Nuisances),
        _ => None,
    }
}

/// The topic a template's words imply, if any.
fn infer_topic(template: &str) -> Option<Topic> {
    let t = template.to_lowercase();
    let rules: &[(&[&str], Topic)] = &[
        (&["chien", "dog", "guêpes"], Topic::Animals),
        (
            &["parc", "park", "frêne", "mauvaises herbes", "weeds"],
            Topic::ParksTrees,
        ),
        (&["bac", "bin"], Topic::Waste),
        (&["intersection"], Topic::RoadsSnow),
        (
            &[
                "francisation",
                "french classes",
                "bibliothèque",
                "library",
                "handicap",
                "disabilit",
                "salle",
                "centre communautaire",
            ],
            Topic::Recreation,
        ),
        (
            &["fête", "party", "permis", "permit", "drapeau"],
            Topic::PermitsPlanning,
        ),
        (&["taxes", "compte", "account"], Topic::TaxesBilling),
        (
            &[
                "bruit",
                "noise",
                "voisin",
                "neighbour",
                "clôture",
                "fence",
                "jeunes",
                "guy next door",
            ],
            Topic::Nuisances,
        ),
        (&["chaleur", "heat", "chauffage"], Topic::GeneralInfo),
        (
            &["anglais", "english", "arrivants", "newcomers"],
            Topic::GeneralInfo,
        ),
        (&["autobus", "chauffeur", "conducteur"], Topic::RoadsSnow),
        (
            &[
                "numéro de requête",
                "reference number",
                "forms",
                "formulaire",
            ],
            Topic::GeneralInfo,
        ),
        (
            &[
                "séance",
                "conseil",
                "council",
                "maire",
                "mayor",
                "pétition",
                "petition",
                "élection",
                "election",
                "députée",
            ],
            Topic::CouncilAdmin,
        ),
    ];
    rules
        .iter()
        .find(|(words, _)| words.iter().any(|w| t.contains(w)))
        .map(|(_, topic)| *topic)
}

fn topic_by(topic: Topic) -> &'static TopicData {
    TOPICS
        .iter()
        .find(|t| t.topic == topic)
        .unwrap_or(&TOPICS[0])
}

fn capitalise_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

fn strip_accents(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'à' | 'â' | 'ä' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'î' | 'ï' => 'i',
            'ô' | 'ö' => 'o',
            'ù' | 'û' | 'ü' => 'u',
            'ç' => 'c',
            'É' => 'E',
            'À' => 'A',
            _ => c,
        })
        .collect()
}

fn main() -> ExitCode {
    let dir = std::env::args().nth(1).map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus"),
        PathBuf::from,
    );
    let mut g = Generator {
        rng: SplitMix64::new(SEED),
        records: Vec::new(),
    };
    g.generate_clean();
    g.hard_negative(
        SACRE_THING_FR,
        SACRE_THING_EN,
        "sacre_about_thing",
        230,
        true,
    );
    g.hard_negative(FURY_FR, FURY_EN, "angry_complaint", 170, true);
    g.hard_negative(LEGAL_FR, LEGAL_EN, "legal_threat", 100, true);
    g.hard_negative(MEDIA_FR, MEDIA_EN, "media_threat", 90, true);
    g.hard_negative(POLITICAL_FR, POLITICAL_EN, "political_recourse", 70, true);
    g.hard_negative(QUOTED_FR, QUOTED_EN, "quoted_insult", 100, false);
    g.hard_negative(SELF_FR, SELF_EN, "self_deprecation", 60, false);
    g.hard_negative(VENT_FR, VENT_FR, "third_party_vent", 35, false);
    g.hard_negative(HYPERBOLE_FR, HYPERBOLE_EN, "hyperbole", 60, false);
    g.hard_negative(
        GROUP_NEUTRAL_FR,
        GROUP_NEUTRAL_EN,
        "group_mention",
        40,
        false,
    );
    g.abusive(INSULT_FR, INSULT_EN, AbuseKind::Insult, 360);
    g.abusive(THREAT_FR, THREAT_EN, AbuseKind::Threat, 160);
    g.abusive(
        INTIMIDATION_FR,
        INTIMIDATION_EN,
        AbuseKind::Intimidation,
        140,
    );
    g.abusive(HARASSMENT_FR, HARASSMENT_EN, AbuseKind::Harassment, 95);
    g.abusive(HATE_FR, HATE_EN, AbuseKind::Hate, 110);

    let records = g.records;
    let total = records.len();
    let abusive = records.iter().filter(|r| r.abusive).count();
    let eval = records
        .iter()
        .filter(|r| Split::is_generated_eval_id(&r.id))
        .count();
    if let Err(e) = write_records(&dir.join(GENERATED_FILE), &records) {
        eprintln!("generate-corpus: {e}");
        return ExitCode::FAILURE;
    }
    println!(
        "wrote {total} records ({abusive} abusive) to {GENERATED_FILE}: {eval} in the evaluation part"
    );
    ExitCode::SUCCESS
}
