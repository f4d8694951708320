//! The language a citizen writes in. French (Québec) is the default; English
//! is the other language the city answers in.

crate::slug_enum! {
    /// A language the gateway answers in.
    #[derive(Default)]
    pub enum Language("language") {
        /// French (Québec), the default.
        #[default]
        Fr => "fr",
        /// English.
        En => "en",
    }
}

/// Frequent French function words, accent-free so that "a" and "à" both count.
const FRENCH_MARKERS: &[&str] = &[
    "le", "la", "les", "de", "des", "du", "un", "une", "et", "est", "je", "j", "vous", "nous",
    "pour", "pas", "que", "qui", "dans", "sur", "avec", "mon", "ma", "mes", "votre", "bonjour",
    "merci", "ne", "au", "aux", "ce", "cette", "il", "elle", "on", "rue", "depuis", "ete", "svp",
    "chu", "pis", "ca", "a", "y", "en", "ai", "suis",
];

/// Frequent English function words.
const ENGLISH_MARKERS: &[&str] = &[
    "the", "and", "is", "are", "i", "you", "we", "my", "your", "our", "for", "not", "that", "this",
    "with", "on", "in", "of", "to", "it", "hello", "hi", "thanks", "thank", "please", "was", "has",
    "have", "been", "since", "street", "be", "me", "they", "there",
];

impl Language {
    /// Reads a code such as `fr`, `en`, `fr-CA` or `en-US`; anything else is
    /// `None`.
    pub fn from_code(code: &str) -> Option<Self> {
        let primary = code.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "fr" => Some(Language::Fr),
            "en" => Some(Language::En),
            _ => None,
        }
    }

    /// Picks the first supported language of an `Accept-Language` header,
    /// honouring q-values.
    pub fn from_accept_language(header: &str) -> Option<Self> {
        let mut best: Option<(f32, Language)> = None;
        for part in header.split(',') {
            let mut pieces = part.split(';');
            let Some(code) = pieces.next() else { continue };
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            if let Some(lang) = Language::from_code(code) {
                if best.is_none_or(|(bq, _)| q > bq) {
                    best = Some((q, lang));
                }
            }
        }
        best.map(|(_, lang)| lang)
    }

    /// Guesses the language of a message by counting function words. Ties and
    /// texts with no markers at all give French, the city's language.
    pub fn detect(text: &str) -> Self {
        let (mut fr, mut en) = (0u32, 0u32);
        for word in text
            .split(|c: char| !c.is_alphabetic())
            .filter(|w| !w.is_empty())
            .take(400)
        {
            let folded = fold_word(word);
            if FRENCH_MARKERS.contains(&folded.as_str()) {
                fr += 1;
            }
            if ENGLISH_MARKERS.contains(&folded.as_str()) {
                en += 1;
            }
            if word
                .chars()
                .any(|c| "éèêàùçôîâëïû".contains(c.to_ascii_lowercase()))
            {
                fr += 1;
            }
        }
        if en > fr {
            Language::En
        } else {
            Language::Fr
        }
    }
}

fn fold_word(word: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    word.nfd()
        .filter(|c| c.is_ascii())
        .collect::<String>()
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_french_and_english_messages() {
        let cases = [
            (
                "Bonjour, la collecte n'a pas été effectuée sur la rue des Pruches.",
                Language::Fr,
            ),
            (
                "My recycling bin was not picked up this week, please help.",
                Language::En,
            ),
            ("bac pas ramassé rue Lavoie", Language::Fr),
            ("", Language::Fr),
            ("🙂🙂🙂", Language::Fr),
            (
                "Hello, there is a pothole on my street since Monday.",
                Language::En,
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(Language::detect(text), expected, "case {text:?}");
        }
    }

    #[test]
    fn accept_language_prefers_the_highest_quality_supported_language() {
        assert_eq!(
            Language::from_accept_language("en-CA,en;q=0.9,fr;q=0.8"),
            Some(Language::En)
        );
        assert_eq!(
            Language::from_accept_language("de;q=1,fr-CA;q=0.7"),
            Some(Language::Fr)
        );
        assert_eq!(Language::from_accept_language("de,es"), None);
        assert_eq!(Language::from_code("FR_ca"), Some(Language::Fr));
    }
}
