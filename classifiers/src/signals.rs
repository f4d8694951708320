//! Explicit, explainable abuse signals: who the words are aimed at.
//!
//! The rules read the normalised tokens (see [`crate::normalise`]) and the
//! lexicons (see [`crate::lexicon`]). They separate words aimed at a person
//! ("t'es un cave", "espèce d'incompétent", "vos employés sont des caves",
//! "je vais te tuer") from words about a thing or a situation ("le câlisse de
//! nid-de-poule"), and they recognise what is not the writer's abuse: quoted
//! speech ("mon voisin m'a traité de cave"), self-deprecation ("chu un vrai
//! cave"), venting about a neighbour, and a citizen's recourses (lawyer,
//! media, elected officials).
//!
//! Every signal carries the citizen's own words and a reason in French for
//! the supervisor. All regexes are compiled once in [`Rules::new`]; applying
//! the rules allocates but never compiles.

use std::collections::HashSet;
use std::fmt;

use models::AbuseKind;
use regex::{Regex, RegexBuilder};

use crate::lexicon::Lexicon;
use crate::normalise::{NormalisedText, TokenKind};

/// Compiled-regex size limit: the lexicon alternations are large but
/// literal, and the default limit (10 MB) is too small for the repeated
/// filler groups.
const REGEX_SIZE_LIMIT_BYTES: usize = 256 << 20;

/// How far back (in tokens) a reporting verb or a subject is looked for.
const LOOKBACK_TOKENS: usize = 10;

/// Longest quote of the citizen's words in a reason, in characters.
const MAX_QUOTE_CHARS: usize = 90;

/// How sure a rule is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Strength {
    /// Suggestive only; the learned model decides.
    Weak,
    /// Likely abuse; enough for "à vérifier".
    Medium,
    /// Unambiguous: a confirmed flag.
    Strong,
}

impl Strength {
    fn as_str(self) -> &'static str {
        match self {
            Strength::Weak => "weak",
            Strength::Medium => "medium",
            Strength::Strong => "strong",
        }
    }
}

/// Which rule fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    /// A name-calling word with a second-person subject ("t'es un cave").
    InsultSecondPerson,
    /// A name-calling word said of staff ("vos employés sont des caves").
    InsultAtStaff,
    /// A name-calling word said of another person: a neighbour, another
    /// resident ("mon voisin est un cave").
    InsultAtPerson,
    /// Name-calling ("espèce de cave", "crisse d'incompétent", "you idiot").
    NameCalling,
    /// A stock insult ("va chier", "fuck you").
    InsultPhrase,
    /// A rude gesture emoji.
    GestureEmoji,
    /// Harm verb aimed at a person ("je vais te tuer").
    ThreatOfHarm,
    /// An explicit threat phrase ("t'es mort", "j'ai un gun").
    ThreatPhrase,
    /// A weapon or death emoji aimed at the reader.
    WeaponEmoji,
    /// A veiled threat ("je sais où tu restes").
    Intimidation,
    /// Unwanted personal attention ("donne-moi ton numéro").
    Harassment,
    /// A slur.
    Slur,
    /// A demeaning statement about a group.
    HatefulStatement,
}

impl Rule {
    /// The abuse kind the rule points to.
    pub fn kind(self) -> AbuseKind {
        match self {
            Rule::InsultSecondPerson
            | Rule::InsultAtStaff
            | Rule::InsultAtPerson
            | Rule::NameCalling
            | Rule::InsultPhrase
            | Rule::GestureEmoji => AbuseKind::Insult,
            Rule::ThreatOfHarm | Rule::ThreatPhrase | Rule::WeaponEmoji => AbuseKind::Threat,
            Rule::Intimidation => AbuseKind::Intimidation,
            Rule::Harassment => AbuseKind::Harassment,
            Rule::Slur | Rule::HatefulStatement => AbuseKind::Hate,
        }
    }

    /// Stable name, used as a model feature.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::InsultSecondPerson => "insult_second_person",
            Rule::InsultAtStaff => "insult_at_staff",
            Rule::InsultAtPerson => "insult_at_person",
            Rule::NameCalling => "name_calling",
            Rule::InsultPhrase => "insult_phrase",
            Rule::GestureEmoji => "gesture_emoji",
            Rule::ThreatOfHarm => "threat_of_harm",
            Rule::ThreatPhrase => "threat_phrase",
            Rule::WeaponEmoji => "weapon_emoji",
            Rule::Intimidation => "intimidation",
            Rule::Harassment => "harassment",
            Rule::Slur => "slur",
            Rule::HatefulStatement => "hateful_statement",
        }
    }

    /// What a supervisor reads, before the quote.
    pub fn description_fr(self) -> &'static str {
        match self {
            Rule::InsultSecondPerson => "insulte visant une personne",
            Rule::InsultAtStaff => "insulte visant le personnel",
            Rule::InsultAtPerson => "insulte visant une autre personne",
            Rule::NameCalling => "injure adressée à une personne",
            Rule::InsultPhrase => "injure adressée au destinataire",
            Rule::GestureEmoji => "geste injurieux (emoji)",
            Rule::ThreatOfHarm => "menace de violence envers une personne",
            Rule::ThreatPhrase => "menace explicite",
            Rule::WeaponEmoji => "emoji d'arme ou de mort adressé à une personne",
            Rule::Intimidation => "intimidation",
            Rule::Harassment => "harcèlement (attention personnelle non désirée)",
            Rule::Slur => "terme haineux",
            Rule::HatefulStatement => "propos haineux envers un groupe",
        }
    }

    /// The same in English, for supervisors who read English.
    pub fn description_en(self) -> &'static str {
        match self {
            Rule::InsultSecondPerson => "insult aimed at the reader",
            Rule::InsultAtStaff => "insult aimed at staff",
            Rule::InsultAtPerson => "insult aimed at another person",
            Rule::NameCalling => "name-calling aimed at a person",
            Rule::InsultPhrase => "abusive phrase aimed at the reader",
            Rule::GestureEmoji => "rude gesture (emoji)",
            Rule::ThreatOfHarm => "threat of violence against a person",
            Rule::ThreatPhrase => "explicit or implied threat",
            Rule::WeaponEmoji => "weapon or death emoji aimed at a person",
            Rule::Intimidation => "intimidation",
            Rule::Harassment => "harassment (unwanted personal attention)",
            Rule::Slur => "slur",
            Rule::HatefulStatement => "hateful statement about a group",
        }
    }
}

/// Why words that look rude are not the writer's abuse, or what frames the
/// message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Context {
    /// A sacre about a thing ("le câlisse de nid-de-poule").
    SacreAboutThing,
    /// A sacre as an interjection ("tabarnak!").
    Sacre,
    /// Legal recourse ("mise en demeure", "mon avocat").
    LegalRecourse,
    /// Media ("j'appelle TVA").
    MediaRecourse,
    /// Elected officials ("je vais le dire au maire à la séance").
    PoliticalRecourse,
    /// Someone else's words, reported ("il m'a traité de cave").
    QuotedSpeech,
    /// The writer about themself ("chu un vrai cave").
    SelfDirected,
    /// Harsh words about the service, without insult.
    Criticism,
    /// A group named without a hateful statement.
    GroupMention,
}

impl Context {
    /// Stable name, used as a model feature and a corpus tag.
    pub fn as_str(self) -> &'static str {
        match self {
            Context::SacreAboutThing => "sacre_about_thing",
            Context::Sacre => "sacre",
            Context::LegalRecourse => "legal_threat",
            Context::MediaRecourse => "media_threat",
            Context::PoliticalRecourse => "political_recourse",
            Context::QuotedSpeech => "quoted_insult",
            Context::SelfDirected => "self_deprecation",
            Context::Criticism => "criticism",
            Context::GroupMention => "group_mention",
        }
    }

    /// What a supervisor reads, before the quote.
    pub fn description_fr(self) -> &'static str {
        match self {
            Context::SacreAboutThing => "sacre au sujet d'une chose, pas d'une personne",
            Context::Sacre => "sacre employé comme interjection",
            Context::LegalRecourse => "recours juridique, un droit du citoyen",
            Context::MediaRecourse => "recours aux médias, un droit du citoyen",
            Context::PoliticalRecourse => "recours auprès des élus, un droit du citoyen",
            Context::QuotedSpeech => "propos rapportés, pas ceux de l'auteur",
            Context::SelfDirected => "autodérision",
            Context::Criticism => "critique du service sans insulte",
            Context::GroupMention => "mention d'un groupe sans propos haineux",
        }
    }

    /// The same in English.
    pub fn description_en(self) -> &'static str {
        match self {
            Context::SacreAboutThing => "swear word about a thing, not a person",
            Context::Sacre => "swear word used as an interjection",
            Context::LegalRecourse => "legal recourse, a citizen's right",
            Context::MediaRecourse => "going to the media, a citizen's right",
            Context::PoliticalRecourse => "recourse to elected officials, a citizen's right",
            Context::QuotedSpeech => "someone else's words, reported",
            Context::SelfDirected => "self-deprecation",
            Context::Criticism => "criticism of the service without insult",
            Context::GroupMention => "mention of a group without hateful words",
        }
    }

    /// Whether this context is one of the citizen's recourses, which weak
    /// intimidation phrases ("vous allez le regretter") refer to.
    pub fn is_recourse(self) -> bool {
        matches!(
            self,
            Context::LegalRecourse | Context::MediaRecourse | Context::PoliticalRecourse
        )
    }
}

/// One abuse signal.
#[derive(Debug, Clone, PartialEq)]
pub struct AbuseSignal {
    /// The rule that fired.
    pub rule: Rule,
    /// How sure the rule is.
    pub strength: Strength,
    /// The citizen's words.
    pub quote: String,
    /// The tokens the signal covers (start, end), in the normalised text.
    pub tokens: (usize, usize),
}

impl AbuseSignal {
    /// The abuse kind.
    pub fn kind(&self) -> AbuseKind {
        self.rule.kind()
    }

    /// The reason a supervisor reads, in French then English, e.g.
    /// `injure adressée à une personne / name-calling aimed at a person : « crisse d'incompétent »`.
    pub fn reason(&self) -> String {
        format!(
            "{} / {} : « {} »",
            self.rule.description_fr(),
            self.rule.description_en(),
            self.quote
        )
    }
}

/// One context note.
#[derive(Debug, Clone, PartialEq)]
pub struct ContextSignal {
    /// What was recognised.
    pub context: Context,
    /// The citizen's words.
    pub quote: String,
    /// The tokens the context covers (start, end): the words it explains.
    pub tokens: (usize, usize),
}

impl fmt::Display for ContextSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} / {} : « {} »",
            self.context.description_fr(),
            self.context.description_en(),
            self.quote
        )
    }
}

/// Everything the rules found in one message.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Signals {
    /// Abuse by the writer, strongest first.
    pub abuse: Vec<AbuseSignal>,
    /// Context notes, in order of appearance.
    pub context: Vec<ContextSignal>,
}

impl Signals {
    /// The strongest abuse signal, if any (ties: threat, hate, intimidation,
    /// harassment, insult).
    pub fn strongest(&self) -> Option<&AbuseSignal> {
        self.abuse.first()
    }

    /// Whether a context of this kind was found.
    pub fn has_context(&self, context: Context) -> bool {
        self.context.iter().any(|c| c.context == context)
    }

    /// Feature names for the learned model (`sig:…`, `ctx:…`).
    pub fn feature_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        for s in &self.abuse {
            names.push(format!("sig:{}", s.rule.as_str()));
            names.push(format!(
                "sig:{}:{}",
                s.rule.kind().as_str(),
                s.strength.as_str()
            ));
            names.push(format!("sig:any:{}", s.strength.as_str()));
        }
        for c in &self.context {
            names.push(format!("ctx:{}", c.context.as_str()));
        }
        names.sort();
        names.dedup();
        names
    }
}

/// Builds a regex alternation of folded phrases, longest first so that the
/// longest phrase wins at a position.
fn alternation(lists: &[&[String]]) -> String {
    let mut all: Vec<&String> = lists.iter().flat_map(|l| l.iter()).collect();
    all.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
    all.dedup();
    let parts: Vec<String> = all.iter().map(|p| regex::escape(p)).collect();
    format!("(?:{})", parts.join("|"))
}

fn compile(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT_BYTES)
        .dfa_size_limit(REGEX_SIZE_LIMIT_BYTES)
        .build()
}

/// A rule's regex, with what it produces when it matches.
#[derive(Debug, Clone)]
struct Pattern {
    regex: Regex,
    rule: Rule,
    strength: Strength,
    /// The named group that holds the offending word, to grade strength by
    /// list; `None` to use `strength` as is.
    graded_group: Option<&'static str>,
}

/// The compiled rules. Build once with [`Rules::new`] and share.
#[derive(Debug, Clone)]
pub struct Rules {
    patterns: Vec<Pattern>,
    threat_le: Regex,
    weapon: Regex,
    sacre_thing: Regex,
    sacre_any: Regex,
    self_directed: Regex,
    reporting: Regex,
    reported_insult: Regex,
    speaker_subject: Regex,
    legal: Regex,
    media: Regex,
    political: Regex,
    criticism: Regex,
    harmless_objects: Regex,
    second_person: Regex,
    person_target: Regex,
    hate_near_group: Regex,
    group_names: Regex,
    strong_insults: HashSet<String>,
    weak_phrases: HashSet<String>,
    /// Single recourse words long enough to be recognised with one typo
    /// ("avoact", "poursuitte"), with their context.
    fuzzy_recourse: Vec<(String, Context)>,
}

/// Second-person words that aim a sentence at the reader.
const SECOND_PERSON: &str =
    r"\b(?:t|tu|te|toi|vous|ton|ta|tes|vos|votre|you|your|u|ur|yourself|yourselves)\b";

impl Rules {
    /// Compiles every rule from a lexicon.
    ///
    /// # Errors
    /// A regex error when a lexicon makes a pattern too large; the shipped
    /// lexicons are covered by tests.
    pub fn new(lexicon: &Lexicon) -> Result<Self, regex::Error> {
        let l = &lexicon.lists;
        let strong = alternation(&[&l.insults_strong]);
        let insults = alternation(&[&l.insults_strong, &l.insults_mild]);
        let fill = alternation(&[&l.fillers]);
        let staff = alternation(&[&l.staff]);
        let sacres = alternation(&[&l.sacres]);
        let harm = alternation(&[&l.harm_verbs]);
        let harm_clear = alternation(&[&l.harm_verbs_clear]);
        let groups = alternation(&[&l.groups]);
        let third = alternation(&[&l.third_parties]);
        let word = r#"[^\s.,"]+"#;

        let mut patterns = Vec::new();
        let mut add = |pattern: String,
                       rule: Rule,
                       strength: Strength,
                       graded: Option<&'static str>|
         -> Result<(), regex::Error> {
            patterns.push(Pattern {
                regex: compile(&pattern)?,
                rule,
                strength,
                graded_group: graded,
            });
            Ok(())
        };

        // "t'es un cave", "vous êtes rien qu'une gang de caves", "you're an idiot".
        add(
            format!(
                r"\b(?:t es|t etais|tu es|tu etais|t as ete|vous etes|vous etiez|vous avez ete|you re|you are|you were|you|your|ur|t|es tu|etes vous|are you)\s+(?:{fill}\s+){{0,5}}(?P<w>{strong})\b"
            ),
            Rule::InsultSecondPerson,
            Strength::Strong,
            None,
        )?;
        // "vos employés de la voirie sont des caves", "the mayor is an idiot".
        add(
            format!(
                r"\b(?:{staff})\s+(?:{word}\s+){{0,5}}?(?:sont|est|etait|etaient|c est|ce sont|are|is|was|were|r)\s+(?:{fill}\s+){{0,5}}(?P<w>{strong})\b"
            ),
            Rule::InsultAtStaff,
            Strength::Strong,
            None,
        )?;
        // A criticism word used as a noun names someone: "vos inspecteurs sont
        // des voleurs", "the mayor is a coward", "vous êtes une gang
        // d'incapables" (unlike "vous êtes incompétents", a criticism).
        add(
            format!(
                r"\b(?:{staff})\s+(?:{word}\s+){{0,5}}?(?:sont|est|etait|etaient|c est|ce sont|are|is|was|were|r)\s+(?:(?:juste|rien qu|rien que|really|just|nothing but|only|such)\s+)?(?:un|une|des|de|d|a|an|bunch of|gang de|gang d|band of|pack of)\s+(?:{fill}\s+){{0,3}}(?P<w>{insults})\b"
            ),
            Rule::InsultAtStaff,
            Strength::Medium,
            Some("w"),
        )?;
        add(
            format!(
                r"\b(?:t es|tu es|vous etes|you re|you are|ur|u r)\s+(?:(?:juste|rien qu|rien que|really|just|nothing but|only|such)\s+)?(?:un|une|des|a|an|bunch of|gang de|gang d|band of|pack of)\s+(?:{fill}\s+){{0,3}}(?P<w>{insults})\b"
            ),
            Rule::InsultSecondPerson,
            Strength::Medium,
            Some("w"),
        )?;
        // "mon voisin est un cave", "my neighbour is a fucking idiot": another
        // resident is a person too.
        add(
            format!(
                r"\b(?:{third})\s+(?:{word}\s+){{0,3}}?(?:est|sont|etait|c est|ce sont|is|are|was|were)\s+(?:{fill}\s+){{0,5}}(?P<w>{insults})\b"
            ),
            Rule::InsultAtPerson,
            Strength::Strong,
            Some("w"),
        )?;
        // "espèce de cave", "crisse d'incompétent", "gang de caves", "maudit cave".
        add(
            format!(
                r"\b(?:espece|{sacres})\s+(?:de\s+|d\s+)?(?:{fill}\s+){{0,2}}(?P<w>{insults})\b"
            ),
            Rule::NameCalling,
            Strength::Strong,
            None,
        )?;
        add(
            format!(
                r"\b(?:gros|grosse|sale|sales|pauvre|pauvres|ti|p tit|ptit)\s+(?:de\s+|d\s+)?(?:{fill}\s+){{0,2}}(?P<w>{insults})\b"
            ),
            Rule::NameCalling,
            Strength::Strong,
            Some("w"),
        )?;
        add(
            format!(
                r"\b(?:gang|bande|tas|paquet|bunch|pack|what a|what an|such a|such an)\s+(?:de\s+|d\s+|of\s+)?(?:{fill}\s+){{0,2}}(?P<w>{insults})\b"
            ),
            Rule::NameCalling,
            Strength::Medium,
            Some("w"),
        )?;
        add(
            format!(
                r"\b(?:you|u|fucking|bloody|goddamn|damn)\s+(?:{fill}\s+){{0,3}}(?P<w>{insults})\b"
            ),
            Rule::NameCalling,
            Strength::Medium,
            Some("w"),
        )?;
        // "dis à l'inspecteur que c'est un cave", "tell the clerk she's an idiot".
        add(
            format!(
                r"\b(?:dis|dites|dire|tell|tells)\s+(?:a|au|aux|à)?\s*(?:{word}\s+){{0,3}}?(?:que|qu|he s|she s|he is|she is|they re|they are|that|c est|il est|elle est|ils sont|est)\s+(?:{word}\s+){{0,2}}?(?:{fill}\s+){{0,4}}(?P<w>{strong})\b"
            ),
            Rule::InsultAtStaff,
            Strength::Strong,
            None,
        )?;
        // "le cave qui conduit la charrue", "the idiot who wrote this".
        add(
            format!(
                r"\b(?:hey|he|eh|heille|aie|le|la|les|ce|cette|ces|the|that|this)\s+(?:gros|grosse|maudit|maudite|fucking|stupid|pauvre)?\s*(?P<w>{strong})\s+(?:qui|qu|de la|du|des|au|a la|who|that|at|on|in|behind|from|,)"
            ),
            Rule::NameCalling,
            Strength::Strong,
            None,
        )?;
        let insult_phrases = alternation(&[&l.insult_phrases]);
        add(
            format!(r"\b(?P<p>{insult_phrases})\b"),
            Rule::InsultPhrase,
            Strength::Strong,
            None,
        )?;
        add(
            r"\b(?:mange|manges|mangez|allez manger|va manger)\s+(?:donc\s+)?(?:toute|tous|toutes|un char|un sac|une poche)?\s*(?:de la|d la|d|de|du)\s+(?:marde|merde|crotte)\b".to_owned(),
            Rule::InsultPhrase,
            Strength::Strong,
            None,
        )?;
        add(
            r"\bemoji_doigt\b".to_owned(),
            Rule::GestureEmoji,
            Strength::Medium,
            None,
        )?;

        // "je vais te tuer", "on va vous casser la gueule", "je te tue".
        add(
            format!(
                r"\b(?:je|j|on|nous|moi)\s+(?:{word}\s+){{0,2}}?(?:vais|va|vas|veux|voudrais|pourrais|peux|devrais|irai|irais|compte|allons|voulais|finir par)\s+(?:(?:aller|venir|tous|toute|tout|finir|par|en|y)\s+){{0,3}}(?:te|t|vous|toi)\s+(?:{word}\s+)?(?:{harm})\b"
            ),
            Rule::ThreatOfHarm,
            Strength::Strong,
            None,
        )?;
        add(
            format!(r"\b(?:je|j|on)\s+(?:te|t|vous)\s+(?:{harm})\b"),
            Rule::ThreatOfHarm,
            Strength::Strong,
            None,
        )?;
        // "je vais tuer le maire", "faudrait tirer sur vos employés".
        add(
            format!(
                r"\b(?:je|j|on|nous|quelqu un|faudrait|faut|devrait|devraient|i|we|someone|somebody|should)\s+(?:{word}\s+){{0,5}}?(?:{harm})\s+(?:(?:le|la|les|l|vos|tes|ton|ta|votre|ce|cette|ces|un|une|des|tous|toutes|tout|au|aux|a|sur|dessus|the|your|that|this|all|every|one|of)\s+){{0,3}}(?:{staff})\b"
            ),
            Rule::ThreatOfHarm,
            Strength::Strong,
            None,
        )?;
        // "i'll kill you", "we're going to beat you up".
        add(
            format!(
                r"\b(?:i|we)\s+(?:{word}\s+){{0,6}}?(?:{harm})\s+(?:(?:all|of|every|one|up)\s+){{0,2}}(?:you|u|ya|y all|everyone|everybody|him|her|them|your (?:family|kids|wife|husband|face|head|house|car|children))\b"
            ),
            Rule::ThreatOfHarm,
            Strength::Strong,
            None,
        )?;
        let threat_phrases = alternation(&[&l.threat_phrases]);
        add(
            format!(r"\b(?P<p>{threat_phrases})\b"),
            Rule::ThreatPhrase,
            Strength::Strong,
            None,
        )?;
        let intimidation = alternation(&[&l.intimidation_phrases]);
        add(
            format!(r"\b(?P<p>{intimidation})\b"),
            Rule::Intimidation,
            Strength::Strong,
            None,
        )?;
        // "t'étais pas mal plus cute qu'au comptoir", "you look hot".
        add(
            r"\b(?:t es|t etais|tu es|tu etais|t as l air|you re|you are|you were|you look|ur)\s+(?:(?:pas mal|vraiment|tellement|ben|tres|plus|so|really|very|super|full|trop)\s+){0,3}(?:cute|belle|sexy|hot|chaude|jolie|mignonne|gorgeous|beautiful|pretty|bandante|cochonne)\b".to_owned(),
            Rule::Harassment,
            Strength::Medium,
            None,
        )?;
        add(
            r"\b(?:je t ai vue?|je t ai apercue?|i saw you)\s+(?:au|a la|a l|chez|hier|samedi|dimanche|lundi|mardi|mercredi|jeudi|vendredi|ce matin|at|yesterday|last)\b".to_owned(),
            Rule::Harassment,
            Strength::Medium,
            None,
        )?;
        // "send me a pic of the girl at the desk", "envoie-moi une photo de la préposée".
        add(
            format!(
                r"\b(?:send me|send us|envoie moi|envoyez moi|envoie nous)\s+(?:a|an|some|une|des|la)?\s*(?:pic|pics|picture|pictures|photo|photos|selfie|nudes|nude)\s+(?:of|de|d)\s+(?:the|that|your|la|le|ta|votre|cette|ce)?\s*(?:girl|lady|woman|receptionist|clerk|fille|dame|femme|preposee|blonde|brune|{staff})\b"
            ),
            Rule::Harassment,
            Strength::Strong,
            None,
        )?;
        let harassment = alternation(&[&l.harassment_phrases]);
        add(
            format!(r"\b(?P<p>{harassment})\b"),
            Rule::Harassment,
            Strength::Strong,
            None,
        )?;

        let slurs = alternation(&[&l.slurs]);
        add(
            format!(r"\b(?P<p>{slurs})\b(?:\s+a\b)?"),
            Rule::Slur,
            Strength::Strong,
            None,
        )?;
        let demeaning = alternation(&[&l.demeaning]);
        add(
            format!(
                r"\b(?:{groups})\s+(?:[^\s.]+\s+){{0,4}}?(?:sont|c est|ce sont|are|is|r|comme|like|=)\s+(?:{fill}\s+){{0,3}}(?:{demeaning})\b"
            ),
            Rule::HatefulStatement,
            Strength::Strong,
            None,
        )?;
        add(
            format!(r"\b(?:sale|sales|dirty|filthy)\s+(?:{groups})\b"),
            Rule::HatefulStatement,
            Strength::Strong,
            None,
        )?;
        add(
            format!(
                r"\b(?:maudit|fucking|damn|(?:{sacres}|gang|bande)\s+(?:de|d))\s+(?:{groups})\b"
            ),
            Rule::HatefulStatement,
            Strength::Medium,
            None,
        )?;
        let exclusion = alternation(&[&l.exclusion_calls]);
        add(
            r"\b(?:retourne dans ton pays|retournez dans votre pays|retourne d ou tu viens|retournez d ou vous venez|go back to your country|go back where you came from|go back to where you came from)\b".to_owned(),
            Rule::HatefulStatement,
            Strength::Strong,
            None,
        )?;

        let hate_near_group = compile(&format!(
            r#"\b(?:{groups})\b[^."]{{0,80}}\b(?:{exclusion})\b|\b(?:{exclusion})\b[^."]{{0,80}}\b(?:{groups})\b"#
        ))?;

        let reporting = alternation(&[&l.reporting]);
        let self_subjects = alternation(&[&l.self_subjects]);

        Ok(Rules {
            patterns,
            threat_le: compile(&format!(
                r"\b(?:je|j|on)\s+(?:{word}\s+){{0,2}}?(?:vais|va|veux|voudrais|pourrais|irai|compte)\s+(?:le|la|les|l|lui)\s+(?:{harm_clear})\b"
            ))?,
            // "je viens avec ma carabine", "I'll bring my gun"; checked for a
            // harmless object after it ("ma carabine pour le coyote").
            weapon: compile(&format!(
                r"\b(?:je|j|on|i|we)\s+(?:{word}\s+){{0,4}}?(?:viens|venir|arrive|arriver|debarque|debarquer|passe|passer|amene|amener|apporte|apporter|sors|sortir|rentre|rentrer|bring|come|coming|show up|showing up)\s+(?:{word}\s+){{0,3}}?(?:avec\s+|with\s+)?(?:mon|ma|mes|un|my|a)\s+(?:gun|guns|fusil|fusils|carabine|pistolet|revolver|rifle|shotgun|calibre 12|batte de baseball|baseball bat|bombe|bomb|explosifs|explosives|arme a feu|armes a feu)\b"
            ))?,
            sacre_thing: compile(&format!(
                r"\b(?P<s>{sacres})\s+(?:de|d|of)\s+(?:(?:{sacres})\s+(?:de|d)\s+)?(?P<n>{word})|\b(?:fucking|damn|goddamn|bloody|freaking|shitty)\s+(?P<m>{word})"
            ))?,
            sacre_any: compile(&format!(r"\b(?:{sacres})\b"))?,
            self_directed: compile(&format!(
                r"\b(?:{self_subjects})\s+(?:{fill}\s+){{0,5}}(?:{insults})\b"
            ))?,
            reporting: compile(&format!(r"\b(?:{reporting})\b"))?,
            reported_insult: compile(&format!(
                r"\b(?:{reporting})\s+(?:{word}\s+){{0,3}}?(?:{insults}|{insult_phrases}|{slurs}|{harm})\b"
            ))?,
            speaker_subject: compile(
                r"\b(?:je|j|i|il|elle|ils|elles|on|he|she|they|someone|somebody|quelqu un|tu|vous|you|voisin|voisine|neighbour|neighbor)\b",
            )?,
            legal: compile(&format!(r"\b(?:{})\b", alternation(&[&l.legal])))?,
            media: compile(&format!(r"\b(?:{})\b", alternation(&[&l.media])))?,
            political: compile(&format!(r"\b(?:{})\b", alternation(&[&l.political])))?,
            criticism: compile(&format!(r"\b(?:{})\b", alternation(&[&l.criticism])))?,
            harmless_objects: compile(&format!(
                r"\b(?:{})\b",
                alternation(&[&l.harmless_objects])
            ))?,
            second_person: compile(SECOND_PERSON)?,
            person_target: compile(&format!(r"\b(?:{staff}|{insults}|{third})\b"))?,
            hate_near_group,
            group_names: compile(&format!(r"\b(?:{groups})\b"))?,
            strong_insults: l.insults_strong.iter().cloned().collect(),
            fuzzy_recourse: [
                (&l.legal, Context::LegalRecourse),
                (&l.media, Context::MediaRecourse),
            ]
            .into_iter()
            .flat_map(|(list, context)| {
                list.iter()
                    .filter(|w| !w.contains(' ') && w.chars().count() >= MIN_FUZZY_CHARS)
                    .map(move |w| (w.clone(), context))
            })
            .collect(),
            weak_phrases: lexicon.weak.clone(),
        })
    }

    /// Applies every rule to a normalised message.
    pub fn detect(&self, original: &str, text: &NormalisedText) -> Signals {
        let (joined, offsets) = text.joined();
        let view = View {
            original,
            text,
            joined: &joined,
            offsets: &offsets,
        };
        let mut signals = Signals::default();
        let mut suppressed_quotes: Vec<ContextSignal> = Vec::new();

        self.detect_context(&view, &mut signals);
        let self_spans = self.spans(&self.self_directed, &view);

        for pattern in &self.patterns {
            for m in pattern.regex.captures_iter(&joined) {
                let Some(whole) = m.get(0) else { continue };
                let (a, b) = view.token_range(whole.start(), whole.end());
                let quote = view.quote(a, b);
                let mut strength = pattern.strength;
                if let Some(group) = pattern.graded_group {
                    if let Some(w) = m.name(group) {
                        if !self.strong_insults.contains(w.as_str()) {
                            strength = strength.min(Strength::Medium);
                        }
                    }
                }
                if let Some(p) = m.name("p") {
                    if self.weak_phrases.contains(p.as_str()) {
                        strength = Strength::Medium;
                    }
                }
                if pattern.rule == Rule::Slur
                    && whole.as_str().ends_with(" a")
                    && whole.as_str().starts_with("tapette")
                {
                    // "tapette à mouches" is a fly swatter.
                    continue;
                }
                if pattern.rule == Rule::ThreatOfHarm
                    && whole.as_str().contains(" hit ")
                    && view.next_word_is(b, "up")
                {
                    // "I'll hit you up" means "I'll contact you".
                    continue;
                }
                if self_spans.iter().any(|&(s, e)| s < b && a < e) {
                    suppressed_quotes.push(ContextSignal {
                        context: Context::SelfDirected,
                        quote,
                        tokens: (a, b),
                    });
                    continue;
                }
                if self.is_reported(&view, a) {
                    suppressed_quotes.push(ContextSignal {
                        context: Context::QuotedSpeech,
                        quote,
                        tokens: (a, b),
                    });
                    continue;
                }
                signals.abuse.push(AbuseSignal {
                    rule: pattern.rule,
                    strength,
                    quote,
                    tokens: (a, b),
                });
            }
        }

        for m in self.threat_le.find_iter(&joined) {
            let (a, b) = view.token_range(m.start(), m.end());
            let after = view.sentence_after(b, 4);
            if self.harmless_objects.is_match(&after) || self.is_reported(&view, a) {
                continue;
            }
            signals.abuse.push(AbuseSignal {
                rule: Rule::ThreatOfHarm,
                strength: Strength::Medium,
                quote: view.quote(a, b),
                tokens: (a, b),
            });
        }

        for m in self.weapon.find_iter(&joined) {
            let (a, b) = view.token_range(m.start(), m.end());
            let after = view.sentence_after(b, 5);
            if self.harmless_objects.is_match(&after) || self.is_reported(&view, a) {
                continue;
            }
            signals.abuse.push(AbuseSignal {
                rule: Rule::ThreatPhrase,
                strength: Strength::Strong,
                quote: view.quote(a, b),
                tokens: (a, b),
            });
        }

        for m in self.hate_near_group.find_iter(&joined) {
            let (a, b) = view.token_range(m.start(), m.end());
            if self.is_reported(&view, a) {
                continue;
            }
            signals.abuse.push(AbuseSignal {
                rule: Rule::HatefulStatement,
                strength: Strength::Strong,
                quote: view.quote(a, b),
                tokens: (a, b),
            });
        }

        let emoji_weapon = text.tokens.iter().enumerate().find(|(_, t)| {
            t.kind == TokenKind::Emoji && matches!(t.text.as_str(), "emoji_arme" | "emoji_mort")
        });
        if let Some((i, _)) = emoji_weapon {
            if self.second_person.is_match(&view.sentence_around(i)) {
                signals.abuse.push(AbuseSignal {
                    rule: Rule::WeaponEmoji,
                    strength: Strength::Medium,
                    quote: view.quote(i, i + 1),
                    tokens: (i, i + 1),
                });
            }
        }

        // "Vous allez le regretter : mon avocat vous appellera" is a
        // recourse, not intimidation: a weak intimidation phrase is the
        // recourse's when one is named in the same or the next sentence.
        // Anywhere else in the message it stays ("je vais en parler à la
        // séance. Vous allez le regretter, je sais où vous restez").
        let recourse_sentences = self.recourse_sentences(&view);
        if !recourse_sentences.is_empty() {
            let mut covered = Vec::new();
            signals.abuse.retain(|s| {
                if !(s.rule == Rule::Intimidation && s.strength < Strength::Strong) {
                    return true;
                }
                let sentence = view.sentence_index(s.tokens.0);
                let recourse = recourse_sentences
                    .iter()
                    .find(|(r, _)| *r == sentence || *r == sentence + 1);
                match recourse {
                    Some((_, context)) => {
                        covered.push(ContextSignal {
                            context: *context,
                            quote: s.quote.clone(),
                            tokens: s.tokens,
                        });
                        false
                    }
                    None => true,
                }
            });
            suppressed_quotes.extend(covered);
        }
        // A group named without a hateful statement is a neutral mention
        // ("des cours de français pour les immigrants"): it explains the
        // group's name, not the rest of the message.
        if !signals.abuse.iter().any(|s| s.kind() == AbuseKind::Hate) {
            for (a, b) in self.spans(&self.group_names, &view) {
                suppressed_quotes.push(ContextSignal {
                    context: Context::GroupMention,
                    quote: view.quote(a, b),
                    tokens: (a, b),
                });
            }
        }

        signals.abuse.sort_by(|x, y| {
            y.strength
                .cmp(&x.strength)
                .then(kind_rank(x.rule.kind()).cmp(&kind_rank(y.rule.kind())))
        });
        dedup_signals(&mut signals.abuse);
        for c in suppressed_quotes {
            if !signals
                .context
                .iter()
                .any(|k| k.context == c.context && k.quote == c.quote)
            {
                signals.context.push(c);
            }
        }
        signals
    }

    fn detect_context(&self, view: &View<'_>, signals: &mut Signals) {
        let joined = view.joined;
        let mut thing_spans = Vec::new();
        for m in self.sacre_thing.captures_iter(joined) {
            let noun = m.name("n").or_else(|| m.name("m"));
            let Some(noun) = noun else { continue };
            if self.person_target.is_match(noun.as_str())
                || self.second_person.is_match(noun.as_str())
            {
                continue;
            }
            let Some(whole) = m.get(0) else { continue };
            let (a, b) = view.token_range(whole.start(), whole.end());
            // "you fucking numbskulls" names the reader, whatever the word.
            let before = view.sentence_before(a, 1);
            if self.second_person.is_match(&before) {
                continue;
            }
            thing_spans.push((a, b));
            signals.context.push(ContextSignal {
                context: Context::SacreAboutThing,
                quote: view.quote(a, b),
                tokens: (a, b),
            });
        }
        for m in self.sacre_any.find_iter(joined) {
            let (a, b) = view.token_range(m.start(), m.end());
            if !thing_spans.iter().any(|&(s, e)| s <= a && b <= e) {
                signals.context.push(ContextSignal {
                    context: Context::Sacre,
                    quote: view.quote(a, b),
                    tokens: (a, b),
                });
                break;
            }
        }
        if let Some(m) = self.self_directed.find(joined) {
            let (a, b) = view.token_range(m.start(), m.end());
            signals.context.push(ContextSignal {
                context: Context::SelfDirected,
                quote: view.quote(a, b),
                tokens: (a, b),
            });
        }
        if let Some(m) = self.reported_insult.find(joined) {
            let (a, b) = view.token_range(m.start(), m.end());
            signals.context.push(ContextSignal {
                context: Context::QuotedSpeech,
                quote: view.quote(a, b),
                tokens: (a, b),
            });
        }
        for (regex, context) in [
            (&self.legal, Context::LegalRecourse),
            (&self.media, Context::MediaRecourse),
            (&self.political, Context::PoliticalRecourse),
            (&self.criticism, Context::Criticism),
        ] {
            for m in regex.find_iter(joined) {
                let (a, b) = view.token_range(m.start(), m.end());
                let (a, b) = view.widen(a, b, 3);
                signals.context.push(ContextSignal {
                    context,
                    quote: view.quote(a, b),
                    tokens: (a, b),
                });
            }
        }
        for (i, token) in view.text.tokens.iter().enumerate() {
            if token.kind != TokenKind::Word || token.text.chars().count() < MIN_FUZZY_CHARS {
                continue;
            }
            let hit = self
                .fuzzy_recourse
                .iter()
                .find(|(term, _)| *term != token.text && within_one_edit(term, &token.text));
            if let Some((_, context)) = hit {
                if !signals.has_context(*context) {
                    let (a, b) = view.widen(i, i + 1, 3);
                    signals.context.push(ContextSignal {
                        context: *context,
                        quote: view.quote(a, b),
                        tokens: (a, b),
                    });
                }
            }
        }
    }

    /// The sentences (by index) that name a legal, media or political
    /// recourse, also with one typo, with the recourse's kind.
    fn recourse_sentences(&self, view: &View<'_>) -> Vec<(usize, Context)> {
        let mut sentences = Vec::new();
        for (regex, context) in [
            (&self.legal, Context::LegalRecourse),
            (&self.media, Context::MediaRecourse),
            (&self.political, Context::PoliticalRecourse),
        ] {
            for (a, _) in self.spans(regex, view) {
                sentences.push((view.sentence_index(a), context));
            }
        }
        for (i, token) in view.text.tokens.iter().enumerate() {
            if token.kind != TokenKind::Word || token.text.chars().count() < MIN_FUZZY_CHARS {
                continue;
            }
            if let Some((_, context)) = self
                .fuzzy_recourse
                .iter()
                .find(|(term, _)| within_one_edit(term, &token.text))
            {
                sentences.push((view.sentence_index(i), *context));
            }
        }
        sentences.sort_unstable_by_key(|(i, c)| (*i, c.as_str()));
        sentences.dedup();
        sentences
    }

    /// The token ranges where a regex matches.
    fn spans(&self, regex: &Regex, view: &View<'_>) -> Vec<(usize, usize)> {
        regex
            .find_iter(view.joined)
            .map(|m| view.token_range(m.start(), m.end()))
            .collect()
    }

    /// Whether the words at token `a` are someone else's, reported by the
    /// writer: a reporting verb earlier in the sentence (not "je vous ai
    /// dit"), or quotation marks with a reporting verb in the sentence.
    fn is_reported(&self, view: &View<'_>, a: usize) -> bool {
        let before = view.sentence_before(a, LOOKBACK_TOKENS);
        if let Some(m) = self.reporting.find_iter(&before).last() {
            let speaker = &before[..m.start()];
            let between = &before[m.end()..];
            // After a comma the writer speaks again: "il m'a dit
            // d'appeler, espèce de cave".
            let own_words = between.contains(',');
            // "je vous l'ai dit cent fois" is the writer speaking; "j'ai été
            // traité de cave" is the writer reporting.
            let passive = m.as_str().starts_with("ete ")
                || speaker.ends_with("ete ")
                || speaker.ends_with("been ");
            let writer_speaks = self
                .speaker_subject
                .find_iter(speaker)
                .last()
                .is_some_and(|s| matches!(s.as_str(), "je" | "j" | "i"));
            if !own_words && (passive || !writer_speaks) {
                return true;
            }
        }
        if view.inside_quotes(a) {
            let sentence = view.sentence_around(a);
            return self.reporting.is_match(&sentence);
        }
        false
    }
}

/// Shortest recourse word matched with a typo: shorter words have too many
/// neighbours one edit away.
const MIN_FUZZY_CHARS: usize = 6;

/// Whether two words differ by at most one insertion, deletion,
/// substitution or swap of adjacent letters.
fn within_one_edit(a: &str, b: &str) -> bool {
    // Tokens are folded, so nearly always ASCII: compare bytes without
    // allocating (this runs for every long word against every recourse word).
    if a.is_ascii() && b.is_ascii() {
        return one_edit(a.as_bytes(), b.as_bytes());
    }
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    one_edit(&a, &b)
}

fn one_edit<T: PartialEq>(a: &[T], b: &[T]) -> bool {
    if a.len().abs_diff(b.len()) > 1 {
        return false;
    }
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let (ra, rb) = (&a[prefix..], &b[prefix..]);
    if ra.is_empty() && rb.is_empty() {
        return true;
    }
    match ra.len().cmp(&rb.len()) {
        std::cmp::Ordering::Equal => {
            ra[1..] == rb[1..]
                || (ra.len() >= 2 && ra[0] == rb[1] && ra[1] == rb[0] && ra[2..] == rb[2..])
        }
        std::cmp::Ordering::Greater => ra[1..] == *rb,
        std::cmp::Ordering::Less => *ra == rb[1..],
    }
}

/// Lower ranks sort first among signals of equal strength.
fn kind_rank(kind: AbuseKind) -> u8 {
    match kind {
        AbuseKind::Threat => 0,
        AbuseKind::Hate => 1,
        AbuseKind::Intimidation => 2,
        AbuseKind::Harassment => 3,
        AbuseKind::Insult => 4,
    }
}

/// Removes signals whose quote is already covered by an earlier (stronger)
/// one of the same kind.
fn dedup_signals(signals: &mut Vec<AbuseSignal>) {
    let mut kept: Vec<AbuseSignal> = Vec::with_capacity(signals.len());
    for s in signals.drain(..) {
        let covered = kept.iter().any(|k| {
            k.kind() == s.kind() && (k.quote.contains(&s.quote) || s.quote.contains(&k.quote))
        });
        if !covered {
            kept.push(s);
        }
    }
    *signals = kept;
}

/// A message seen by the rules: the original text, its tokens and the joined
/// normalised string with token offsets.
struct View<'a> {
    original: &'a str,
    text: &'a NormalisedText,
    joined: &'a str,
    offsets: &'a [usize],
}

impl View<'_> {
    /// The tokens a byte range of the joined string covers.
    fn token_range(&self, start: usize, end: usize) -> (usize, usize) {
        let a = self
            .offsets
            .partition_point(|&o| o <= start)
            .saturating_sub(1);
        let b = self.offsets.partition_point(|&o| o < end).max(a + 1);
        (a, b)
    }

    /// The original words of tokens `a..b`, shortened for display.
    fn quote(&self, a: usize, b: usize) -> String {
        let tokens = &self.text.tokens;
        let start = tokens[a..b].iter().map(|t| t.start).min().unwrap_or(0);
        let end = tokens[a..b].iter().map(|t| t.end).max().unwrap_or(start);
        let raw = self.original.get(start..end).unwrap_or("");
        let clean: String = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        if clean.chars().count() > MAX_QUOTE_CHARS {
            let cut: String = clean.chars().take(MAX_QUOTE_CHARS).collect();
            format!("{cut}…")
        } else {
            clean
        }
    }

    /// Widens `a..b` by up to `n` word tokens each side within the sentence.
    fn widen(&self, a: usize, b: usize, n: usize) -> (usize, usize) {
        let tokens = &self.text.tokens;
        let mut s = a;
        while s > 0 && a - s < n && tokens[s - 1].kind != TokenKind::Boundary {
            s -= 1;
        }
        let mut e = b;
        while e < tokens.len() && e - b < n && tokens[e].kind != TokenKind::Boundary {
            e += 1;
        }
        (s, e)
    }

    /// Up to `n` tokens before `a`, stopping at a sentence boundary, joined.
    fn sentence_before(&self, a: usize, n: usize) -> String {
        let tokens = &self.text.tokens;
        let mut s = a;
        while s > 0 && a - s < n && tokens[s - 1].kind != TokenKind::Boundary {
            s -= 1;
        }
        let words: Vec<&str> = tokens[s..a].iter().map(|t| t.text.as_str()).collect();
        words.join(" ")
    }

    /// Up to `n` tokens from `b`, stopping at a sentence boundary, joined.
    fn sentence_after(&self, b: usize, n: usize) -> String {
        let tokens = &self.text.tokens;
        let words: Vec<&str> = tokens[b.min(tokens.len())..]
            .iter()
            .take_while(|t| t.kind != TokenKind::Boundary)
            .take(n)
            .map(|t| t.text.as_str())
            .collect();
        words.join(" ")
    }

    /// The whole sentence around token `i`, joined.
    fn sentence_around(&self, i: usize) -> String {
        let tokens = &self.text.tokens;
        let mut s = i;
        while s > 0 && tokens[s - 1].kind != TokenKind::Boundary {
            s -= 1;
        }
        let mut e = i;
        while e < tokens.len() && tokens[e].kind != TokenKind::Boundary {
            e += 1;
        }
        let words: Vec<&str> = tokens[s..e].iter().map(|t| t.text.as_str()).collect();
        words.join(" ")
    }

    /// Whether an odd number of quotation marks precede token `a` in its
    /// sentence.
    fn inside_quotes(&self, a: usize) -> bool {
        let tokens = &self.text.tokens;
        let mut s = a;
        let mut quotes = 0;
        while s > 0 && tokens[s - 1].kind != TokenKind::Boundary {
            s -= 1;
            if tokens[s].kind == TokenKind::Quote {
                quotes += 1;
            }
        }
        quotes % 2 == 1
    }

    /// The index of the sentence of token `i` (boundaries before it).
    fn sentence_index(&self, i: usize) -> usize {
        self.text.tokens[..i.min(self.text.tokens.len())]
            .iter()
            .filter(|t| t.kind == TokenKind::Boundary)
            .count()
    }

    /// Whether the word token at `b` is `word`.
    fn next_word_is(&self, b: usize, word: &str) -> bool {
        self.text.tokens.get(b).is_some_and(|t| t.text == word)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalise::Normaliser;

    struct Fixture {
        normaliser: Normaliser,
        rules: Rules,
    }

    fn fixture() -> Fixture {
        let lexicon = Lexicon::shipped().expect("lexicon");
        Fixture {
            normaliser: Normaliser::new(&lexicon),
            rules: Rules::new(&lexicon).expect("rules compile"),
        }
    }

    fn detect(f: &Fixture, text: &str) -> Signals {
        f.rules.detect(text, &f.normaliser.normalise(text))
    }

    fn strongest(f: &Fixture, text: &str) -> Option<(AbuseKind, Strength)> {
        detect(f, text).strongest().map(|s| (s.kind(), s.strength))
    }

    #[test]
    fn words_aimed_at_a_person_are_abuse_of_the_right_kind() {
        // Arrange
        let f = fixture();
        let cases = [
            ("T'es un ostie de cave", AbuseKind::Insult),
            ("vous êtes rien qu'une gang d'imbéciles", AbuseKind::Insult),
            (
                "Vos employés de la voirie sont des caves",
                AbuseKind::Insult,
            ),
            ("crisse d'incompétent", AbuseKind::Insult),
            ("espèce de 1d10t", AbuseKind::Insult),
            ("Mange d'la marde", AbuseKind::Insult),
            ("your garbage guys are morons", AbuseKind::Insult),
            ("f-u-c-k you", AbuseKind::Insult),
            ("jva t tuer", AbuseKind::Threat),
            ("Je vais aller te casser la gueule", AbuseKind::Threat),
            ("I'm going to kill you", AbuseKind::Threat),
            ("Je sais où tu restes.", AbuseKind::Intimidation),
            ("je t'attends à ta sortie", AbuseKind::Intimidation),
            ("I know where you live", AbuseKind::Intimidation),
            ("t'es sexy, donne-moi ton numéro", AbuseKind::Harassment),
            ("Les immigrants sont des parasites", AbuseKind::Hate),
            ("retourne dans ton pays", AbuseKind::Hate),
        ];

        for (text, kind) in cases {
            // Act
            let found = strongest(&f, text);

            // Assert
            assert_eq!(found.map(|x| x.0), Some(kind), "case {text:?}");
        }
    }

    #[test]
    fn words_about_things_quotes_and_self_deprecation_are_not_abuse() {
        // Arrange
        let f = fixture();
        let cases = [
            "le câlisse de nid-de-poule a pété mon pneu",
            "Ce tabarnak de bac brun est encore plein!",
            "this fucking pothole wrecked my car",
            "Mon voisin m'a traité de cave devant mes enfants",
            "Il m'a dit : « va chier »",
            "my neighbour called me an idiot",
            "chu un vrai cave, j'ai oublié de sortir mon bac",
            "I'm such an idiot, I forgot to pay my tax bill",
            "Je vais envoyer une mise en demeure, mon avocat va vous appeler",
            "J'appelle TVA demain matin",
            "Je vais le dire au maire à la séance du conseil",
            "Vous allez le regretter : mon avocat s'en occupe",
            "Ce bruit va me tuer",
            "Je vais abattre le frêne malade dans ma cour",
            "je vais le tuer ce maudit écureuil dans mon grenier",
            "Cours de francisation pour les immigrants?",
            "tapette à mouches",
            "Vous êtes incompétents, ça fait 3 semaines",
        ];

        for text in cases {
            // Act
            let found = detect(&f, text);

            // Assert
            assert!(
                found.abuse.is_empty(),
                "case {text:?} gave {:?}",
                found.abuse
            );
        }
    }

    #[test]
    fn contexts_are_recognised_and_explained() {
        let f = fixture();
        let cases = [
            (
                "le câlisse de nid-de-poule a pété mon pneu",
                Context::SacreAboutThing,
            ),
            (
                "mon avocat va vous envoyer une mise en demeure",
                Context::LegalRecourse,
            ),
            ("j'appelle TVA", Context::MediaRecourse),
            (
                "je vais le dire au maire à la séance",
                Context::PoliticalRecourse,
            ),
            ("mon voisin m'a traité de cave", Context::QuotedSpeech),
            ("chu un vrai cave", Context::SelfDirected),
        ];
        for (text, context) in cases {
            let found = detect(&f, text);
            assert!(
                found.has_context(context),
                "case {text:?} gave {:?}",
                found.context
            );
        }
    }

    #[test]
    fn an_exemption_covers_its_own_words_and_nothing_else() {
        // Arrange
        let f = fixture();

        // Act
        let recourse_here = detect(&f, "Vous allez le regretter, mon avocat va vous appeler.");
        let recourse_far = detect(
            &f,
            "Mon avocat a le dossier. La facture est fausse. Le bac est brisé. Vous allez le regretter.",
        );
        let sacre_at_person = detect(
            &f,
            "La grosse crisse de vache au comptoir m'a raccroché au nez.",
        );

        // Assert
        assert!(recourse_here.abuse.is_empty(), "{:?}", recourse_here.abuse);
        assert!(recourse_here
            .context
            .iter()
            .any(|c| c.context == Context::LegalRecourse && c.quote == "Vous allez le regretter"));
        assert_eq!(
            recourse_far.strongest().map(|s| s.kind()),
            Some(AbuseKind::Intimidation)
        );
        assert_eq!(
            sacre_at_person.strongest().map(|s| s.kind()),
            Some(AbuseKind::Insult)
        );
        assert!(!sacre_at_person.has_context(Context::SacreAboutThing));
    }

    #[test]
    fn an_insult_aimed_at_a_neighbour_is_abuse() {
        let f = fixture();
        let found = detect(
            &f,
            "Mon voisin est un ostie de cave, il tond à 6h le dimanche.",
        );
        assert_eq!(
            found.strongest().map(|s| s.rule),
            Some(Rule::InsultAtPerson)
        );
    }

    #[test]
    fn a_group_named_without_hate_is_a_neutral_mention() {
        let f = fixture();
        let neutral = detect(&f, "Offrez-vous des cours de français pour les immigrants?");
        let hateful = detect(&f, "Les immigrants sont des parasites");
        assert!(neutral.has_context(Context::GroupMention));
        assert!(neutral.abuse.is_empty());
        assert!(!hateful.has_context(Context::GroupMention));
    }

    #[test]
    fn one_typo_away_is_one_edit() {
        assert!(within_one_edit("avocat", "avoact"));
        assert!(within_one_edit("avocat", "avocatt"));
        assert!(within_one_edit("avocat", "avocst"));
        assert!(!within_one_edit("avocat", "avion"));
        assert!(!within_one_edit("poursuite", "pour"));
    }

    #[test]
    fn a_recourse_word_with_a_typo_is_still_a_recourse() {
        let f = fixture();
        let found = detect(&f, "Vous allez le regretter, mon avoact va vous appeler.");
        assert!(
            found.has_context(Context::LegalRecourse),
            "{:?}",
            found.context
        );
        assert!(found.abuse.is_empty(), "{:?}", found.abuse);
    }

    #[test]
    fn a_reason_quotes_the_citizens_own_words() {
        // Arrange
        let f = fixture();

        // Act
        let signals = detect(&f, "Bonjour, crisse d'incompétent!");

        // Assert
        let reason = signals.strongest().expect("a signal").reason();
        assert_eq!(
            reason,
            "injure adressée à une personne / name-calling aimed at a person : « crisse d'incompétent »"
        );
    }

    #[test]
    fn insult_after_a_report_in_the_writers_own_words_is_still_abuse() {
        let f = fixture();
        let found = detect(&f, "Il m'a dit de rappeler demain, espèce de cave");
        assert_eq!(found.strongest().map(|s| s.kind()), Some(AbuseKind::Insult));
    }

    #[test]
    fn the_writer_repeating_themself_is_not_reported_speech() {
        let f = fixture();
        let found = detect(&f, "Je vous l'ai dit cent fois, bande de caves");
        assert_eq!(found.strongest().map(|s| s.kind()), Some(AbuseKind::Insult));
    }
}
