//! Normalisation of a citizen message into tokens that the rules and the
//! learned model read, defeating the usual obfuscations.
//!
//! What it undoes: case and accents (`CÂLISSE` → `calisse`), compatibility
//! forms and look-alike letters (`ｆｕｃｋ`, Cyrillic `а`), leetspeak
//! (`c@lice`, `1d10t`, `r3tard`), letters split by dots, dashes, asterisks or
//! spaces (`i.d.i.o.t`, `f-u-c-k`, `f u c k`), masked letters (`f**k`),
//! repeated letters (`caaaave`, `connnnard`), joual and SMS spellings (`jva`,
//! `chu`, `t'es`) and spelling variants of sacres (`tabarnouche`, `osti`).
//! Emoji become named tokens (`🖕` → `emoji_doigt`).
//!
//! Every token keeps the byte range of the original text it came from, so
//! that reasons can quote the citizen's own words. Pure computation; the
//! cost is linear in the length of the text.

use std::collections::HashMap;

use unicode_normalization::char::decompose_compatible;

use crate::lexicon::Lexicon;

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// A word (letters and digits), normalised.
    Word,
    /// An emoji, named (`emoji_doigt`, `emoji_arme`, … or `emoji`).
    Emoji,
    /// The end of a sentence (`.`, `!`, `?`, `;` or a line break).
    Boundary,
    /// A comma.
    Comma,
    /// A quotation mark.
    Quote,
}

/// One normalised token and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The normalised text (`.` for a boundary, `,` for a comma, `"` for a quote).
    pub text: String,
    /// What kind of token it is.
    pub kind: TokenKind,
    /// Byte offset in the original text where the source of the token starts.
    pub start: usize,
    /// Byte offset in the original text where the source of the token ends.
    pub end: usize,
}

/// A message as tokens, with the original text kept for quoting.
#[derive(Debug, Clone, Default)]
pub struct NormalisedText {
    /// The tokens, in order.
    pub tokens: Vec<Token>,
}

impl NormalisedText {
    /// The tokens joined by single spaces, and the byte offset of each token
    /// in that string (for mapping a regex match back to tokens).
    pub fn joined(&self) -> (String, Vec<usize>) {
        let mut text = String::with_capacity(self.tokens.len() * 6);
        let mut offsets = Vec::with_capacity(self.tokens.len());
        for (i, token) in self.tokens.iter().enumerate() {
            if i > 0 {
                text.push(' ');
            }
            offsets.push(text.len());
            text.push_str(&token.text);
        }
        (text, offsets)
    }

    /// The words and emoji, without punctuation tokens.
    pub fn words(&self) -> impl Iterator<Item = &Token> {
        self.tokens
            .iter()
            .filter(|t| matches!(t.kind, TokenKind::Word | TokenKind::Emoji))
    }

    /// Whether the message has no word and no emoji.
    pub fn is_empty(&self) -> bool {
        self.words().next().is_none()
    }

    /// Whether the message has at least one word (emoji alone say nothing
    /// about a topic).
    pub fn has_words(&self) -> bool {
        self.tokens.iter().any(|t| t.kind == TokenKind::Word)
    }
}

/// Folds one character: lower case, accents and compatibility forms removed,
/// typographic quotes and dashes made plain, common look-alike letters from
/// other scripts mapped to Latin. Appends the result to `out`.
pub fn fold_char(c: char, out: &mut String) {
    match c {
        'œ' | 'Œ' => out.push_str("oe"),
        'æ' | 'Æ' => out.push_str("ae"),
        'ß' => out.push_str("ss"),
        'ø' | 'Ø' => out.push('o'),
        'đ' | 'Đ' => out.push('d'),
        'ł' | 'Ł' => out.push('l'),
        '’' | '‘' | '`' | '´' | 'ʼ' | '′' => out.push('\''),
        '«' | '»' | '“' | '”' | '„' | '‟' | '″' => out.push('"'),
        '–' | '—' | '‐' | '‑' | '‒' | '−' => out.push('-'),
        '…' => out.push_str("..."),
        // Cyrillic and Greek letters that look like Latin ones.
        'а' | 'А' | 'α' => out.push('a'),
        'е' | 'Е' | 'ε' => out.push('e'),
        'о' | 'О' | 'ο' => out.push('o'),
        'с' | 'С' => out.push('c'),
        'р' | 'Р' | 'ρ' => out.push('p'),
        'х' | 'Х' | 'χ' => out.push('x'),
        'у' | 'У' => out.push('y'),
        'і' | 'І' | 'ι' => out.push('i'),
        'ѕ' | 'Ѕ' => out.push('s'),
        'к' | 'К' | 'κ' => out.push('k'),
        'т' | 'Т' | 'τ' => out.push('t'),
        'ν' => out.push('v'),
        _ if c.is_ascii() => out.push(c.to_ascii_lowercase()),
        _ if c.is_whitespace() => out.push(' '),
        _ => decompose_compatible(c, |d| {
            // Combining marks (the accents of NFKD) are dropped.
            if !('\u{300}'..='\u{36f}').contains(&d) {
                for l in d.to_lowercase() {
                    out.push(l);
                }
            }
        }),
    }
}

/// Names the emoji that carry meaning for the rules; every other emoji is
/// `emoji`. Returns `None` for characters that are not emoji, and
/// `Some("")` for joiners and modifiers that are simply dropped.
pub fn emoji_name(c: char) -> Option<&'static str> {
    let name = match c {
        '\u{1F595}' => "emoji_doigt",
        '\u{1F52A}' | '\u{1F52B}' | '\u{1F4A3}' | '\u{1F5E1}' | '\u{1FA93}' | '\u{2694}' => {
            "emoji_arme"
        }
        '\u{1F480}' | '\u{2620}' | '\u{26B0}' | '\u{1FAA6}' => "emoji_mort",
        '\u{1F621}' | '\u{1F92C}' | '\u{1F620}' | '\u{1F47F}' | '\u{1F4A2}' | '\u{1F624}' => {
            "emoji_colere"
        }
        '\u{1F921}' => "emoji_clown",
        '\u{1F4A9}' => "emoji_merde",
        '\u{1F437}' | '\u{1F416}' | '\u{1F43D}' => "emoji_cochon",
        '\u{1F400}' | '\u{1F401}' => "emoji_rat",
        '\u{1F525}' => "emoji_feu",
        '\u{1F602}' | '\u{1F923}' | '\u{1F606}' | '\u{1F605}' => "emoji_rire",
        '\u{1F64F}' => "emoji_merci",
        '\u{1F44D}' | '\u{1F44C}' => "emoji_pouce",
        '\u{2764}' | '\u{1F60D}' | '\u{1F618}' | '\u{1F48B}' | '\u{1F970}' | '\u{1F63B}' => {
            "emoji_coeur"
        }
        '\u{1F351}' | '\u{1F346}' | '\u{1F4A6}' => "emoji_sexuel",
        '\u{1F644}' => "emoji_yeux",
        '\u{1F622}' | '\u{1F62D}' | '\u{1F61E}' => "emoji_triste",
        '\u{200D}' | '\u{FE0F}' | '\u{FE0E}' | '\u{20E3}' => "",
        '\u{1F3FB}'..='\u{1F3FF}' => "",
        '\u{1F000}'..='\u{1FAFF}' | '\u{2600}'..='\u{27BF}' | '\u{2B00}'..='\u{2BFF}' => "emoji",
        _ => return None,
    };
    Some(name)
}

/// Characters that end a sentence. A colon does not: it introduces the
/// words it reports ("il m'a dit : « va chier »").
fn is_sentence_end(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | ';')
}

/// Leetspeak digits and symbols, and the letter each stands for.
fn leet_letter(c: char) -> Option<char> {
    Some(match c {
        '0' => 'o',
        '1' => 'i',
        '3' => 'e',
        '4' => 'a',
        '5' => 's',
        '7' => 't',
        '8' => 'b',
        '9' => 'g',
        '@' => 'a',
        '$' => 's',
        '€' => 'e',
        '|' => 'l',
        '!' => 'i',
        _ => return None,
    })
}

/// Collapses every run of a repeated character to one (`connnard` →
/// `conard`); used only to compare spellings, never shown.
fn collapse_all_runs(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    let mut last = None;
    for c in word.chars() {
        if Some(c) != last {
            out.push(c);
        }
        last = Some(c);
    }
    out
}

/// Collapses runs of three or more identical characters, which no French
/// or English word has: vowels to one (`nooooon` → `non`), consonants to
/// two, since they are often doubled (`connnnais` → `connais`).
fn collapse_long_runs(word: &str) -> String {
    let chars: Vec<char> = word.chars().collect();
    let mut out = String::with_capacity(word.len());
    let mut i = 0;
    while i < chars.len() {
        let mut j = i;
        while j < chars.len() && chars[j] == chars[i] {
            j += 1;
        }
        let run = j - i;
        let vowel = matches!(chars[i], 'a' | 'e' | 'i' | 'o' | 'u' | 'y');
        let keep = match run {
            0..=2 => run,
            _ if vowel => 1,
            _ => 2,
        };
        for _ in 0..keep {
            out.push(chars[i]);
        }
        i = j;
    }
    out
}

/// Whether a word with digits is a number with a unit or an ordinal
/// (`1er`, `3e`, `10h30`, `5km`) or a postal-code part (`j3e`, `2a5`),
/// which leetspeak decoding must leave alone.
fn is_number_like(word: &str) -> bool {
    let bytes = word.as_bytes();
    let digits = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits > 0 {
        let rest = &word[digits..];
        if rest.len() <= 3 && rest.bytes().all(|b| b.is_ascii_lowercase()) {
            return true;
        }
        if rest.starts_with('h') && rest[1..].bytes().all(|b| b.is_ascii_digit()) {
            return true;
        }
    }
    if bytes.len() == 3 {
        let pattern: Vec<bool> = bytes.iter().map(u8::is_ascii_digit).collect();
        if pattern == [false, true, false] || pattern == [true, false, true] {
            return true;
        }
    }
    false
}

/// Turns text into normalised tokens using a lexicon's rewrites, variants and
/// abuse vocabulary. Build once and share.
#[derive(Debug, Clone)]
pub struct Normaliser {
    rewrites: HashMap<String, Vec<String>>,
    variants: HashMap<String, String>,
    /// Repeat-collapsed spelling → canonical word, for `caaaave`-style tokens.
    collapsed: HashMap<String, String>,
    /// The abuse vocabulary by length, sorted, for masked tokens (`f**k`).
    vocabulary_by_len: HashMap<usize, Vec<String>>,
}

impl Normaliser {
    /// Prepares the lookup tables of a lexicon.
    pub fn new(lexicon: &Lexicon) -> Self {
        let mut collapsed = HashMap::new();
        let mut keys: Vec<(&String, &String)> = lexicon.variants.iter().collect();
        keys.sort();
        for (spelling, canonical) in keys {
            collapsed
                .entry(collapse_all_runs(spelling))
                .or_insert_with(|| canonical.clone());
        }
        let mut vocabulary: Vec<&String> = lexicon.vocabulary.iter().collect();
        vocabulary.sort();
        for word in &vocabulary {
            collapsed
                .entry(collapse_all_runs(word))
                .or_insert_with(|| (*word).clone());
        }
        let mut vocabulary_by_len: HashMap<usize, Vec<String>> = HashMap::new();
        for word in vocabulary {
            vocabulary_by_len
                .entry(word.chars().count())
                .or_default()
                .push(word.clone());
        }
        Normaliser {
            rewrites: lexicon.rewrites.clone(),
            variants: lexicon.variants.clone(),
            collapsed,
            vocabulary_by_len,
        }
    }

    /// The canonical abuse word a spelling stands for, if any.
    fn canonical(&self, word: &str) -> Option<&str> {
        if let Some(c) = self.variants.get(word) {
            return Some(c);
        }
        if let Some(found) = self
            .vocabulary_by_len
            .get(&word.chars().count())
            .and_then(|v| v.iter().find(|w| *w == word))
        {
            return Some(found);
        }
        let has_repeat = word.as_bytes().windows(2).any(|w| w[0] == w[1]);
        if has_repeat {
            return self
                .collapsed
                .get(&collapse_all_runs(word))
                .map(String::as_str);
        }
        None
    }

    /// Normalises a message.
    pub fn normalise(&self, text: &str) -> NormalisedText {
        let mut tokens = Vec::new();
        let mut run_start: Option<usize> = None;
        for (i, c) in text.char_indices() {
            if c.is_whitespace() {
                if let Some(s) = run_start.take() {
                    self.push_chunk(text, s, i, &mut tokens);
                }
                if c == '\n' {
                    push_boundary(&mut tokens, i, i + 1);
                }
            } else if run_start.is_none() {
                run_start = Some(i);
            }
        }
        if let Some(s) = run_start {
            self.push_chunk(text, s, text.len(), &mut tokens);
        }
        join_spelled_out_words(self, text, &mut tokens);
        while matches!(tokens.first().map(|t| t.kind), Some(TokenKind::Boundary)) {
            tokens.remove(0);
        }
        NormalisedText { tokens }
    }

    /// Splits a whitespace-free chunk into emoji and text runs.
    fn push_chunk(&self, text: &str, start: usize, end: usize, tokens: &mut Vec<Token>) {
        let chunk = &text[start..end];
        let mut piece_start: Option<usize> = None;
        for (i, c) in chunk.char_indices() {
            if let Some(name) = emoji_name(c) {
                if let Some(s) = piece_start.take() {
                    self.push_run(text, start + s, start + i, tokens);
                }
                if !name.is_empty() {
                    tokens.push(Token {
                        text: name.to_owned(),
                        kind: TokenKind::Emoji,
                        start: start + i,
                        end: start + i + c.len_utf8(),
                    });
                }
            } else if piece_start.is_none() {
                piece_start = Some(i);
            }
        }
        if let Some(s) = piece_start {
            self.push_run(text, start + s, end, tokens);
        }
    }

    /// Normalises a run of non-space, non-emoji characters.
    fn push_run(&self, text: &str, start: usize, end: usize, tokens: &mut Vec<Token>) {
        let raw = &text[start..end];
        let (span_start, span_end) = trimmed_span(raw, start);
        let mut folded = String::with_capacity(raw.len());
        for c in raw.chars() {
            fold_char(c, &mut folded);
        }

        if folded.starts_with("http") || folded.starts_with("www.") {
            push_word(tokens, "url", span_start, span_end);
            return;
        }
        if is_email_address(&folded) {
            push_word(tokens, "courriel", span_start, span_end);
            if folded.ends_with(is_sentence_end) {
                push_boundary(tokens, span_end, span_end);
            }
            return;
        }

        let core = folded.trim_end_matches(|c: char| is_sentence_end(c) || c == ',' || c == '"');
        let ends_sentence =
            core.len() < folded.len() && folded[core.len()..].chars().any(is_sentence_end);
        let core = core.trim_start_matches(['"', '(', '[', '\'']);
        // An elided article may precede spelled-out letters: "d'i.d.i.o.t".
        let (elision, letters) = match core.find('\'') {
            Some(p) if p <= 3 => (Some(&core[..p]), &core[p + 1..]),
            _ => (None, core),
        };
        if let Some(joined) = join_separated_letters(letters) {
            if let Some(prefix) = elision.filter(|p| !p.is_empty()) {
                self.push_word_normalised(tokens, prefix, true, span_start, span_end);
            }
            self.push_word_normalised(tokens, &joined, false, span_start, span_end);
            if ends_sentence {
                push_boundary(tokens, span_end, span_end);
            }
            return;
        }

        let chars: Vec<char> = folded.chars().collect();
        let mut word = String::new();
        for (k, &c) in chars.iter().enumerate() {
            let prev_letter = k > 0 && chars[k - 1].is_alphabetic();
            let next_letter = chars.get(k + 1).is_some_and(|n| n.is_alphabetic());
            let next_alnum = chars.get(k + 1).is_some_and(|n| n.is_alphanumeric());
            let in_word = c.is_alphanumeric()
                || matches!(c, '@' | '$' | '€' | '*')
                || (c == '|' && (prev_letter || next_letter))
                || (c == '!'
                    && next_letter
                    && (prev_letter || word.is_empty())
                    && (k == 0 || chars[k - 1] != '!'));
            if in_word {
                word.push(c);
                continue;
            }
            let elided = c == '\'';
            if !word.is_empty() {
                self.push_word_normalised(tokens, &word, elided, span_start, span_end);
                word.clear();
            }
            match c {
                _ if is_sentence_end(c) && !next_alnum => push_boundary(tokens, span_end, span_end),
                ',' => tokens.push(Token {
                    text: ",".to_owned(),
                    kind: TokenKind::Comma,
                    start: span_end,
                    end: span_end,
                }),
                '"' => tokens.push(Token {
                    text: "\"".to_owned(),
                    kind: TokenKind::Quote,
                    start: span_start,
                    end: span_start,
                }),
                _ => {}
            }
        }
        if !word.is_empty() {
            self.push_word_normalised(tokens, &word, false, span_start, span_end);
        }
    }

    /// Normalises one word (no spaces, no punctuation but leet symbols and
    /// masks) and pushes the resulting tokens.
    fn push_word_normalised(
        &self,
        tokens: &mut Vec<Token>,
        word: &str,
        elided: bool,
        start: usize,
        end: usize,
    ) {
        let mut word = word.to_owned();
        let has_letter = word.chars().any(char::is_alphabetic);

        if word.contains('*') {
            let stripped: String = word.chars().filter(|&c| c != '*').collect();
            if let Some(found) = self.unmask(&word) {
                word = found;
            } else if stripped.is_empty() {
                return;
            } else {
                word = stripped;
            }
        }

        let has_leet = word.chars().any(|c| leet_letter(c).is_some());
        if has_letter && has_leet {
            let decoded: String = word.chars().map(|c| leet_letter(c).unwrap_or(c)).collect();
            let decoded = collapse_long_runs(&decoded);
            if self.canonical(&decoded).is_some() {
                word = decoded;
            } else if let Some(handle) = word.strip_prefix('@') {
                // A mention (@SainteJulie), not a leet "a".
                word = handle.to_owned();
            } else if !is_number_like(&word) {
                word = decoded;
            }
        }
        word.retain(|c| !matches!(c, '@' | '$' | '€' | '|' | '!'));
        if word.is_empty() {
            return;
        }

        let word = collapse_long_runs(&word);
        if !elided {
            if let Some(expansion) = self.rewrites.get(&word) {
                for w in expansion {
                    push_word(tokens, w, start, end);
                }
                return;
            }
        }
        match self.canonical(&word) {
            Some(canonical) => push_word(tokens, canonical, start, end),
            None => push_word(tokens, &word, start, end),
        }
    }

    /// Finds the abuse word a masked spelling stands for (`f**k` → `fuck`):
    /// each `*` stands for one letter; the first word in sorted order wins.
    fn unmask(&self, masked: &str) -> Option<String> {
        let pattern: Vec<char> = masked
            .chars()
            .map(|c| leet_letter(c).unwrap_or(c))
            .collect();
        let masks = pattern.iter().filter(|&&c| c == '*').count();
        // With too few letters shown, "f***" could be anything; a long word
        // with its first two and last letters ("pa******s") is specific.
        let shown = pattern.len() - masks;
        if pattern.len() < 3
            || shown < 2
            || (masks * 2 > pattern.len() && (shown < 3 || pattern.len() < 6))
        {
            return None;
        }
        let candidates = self.vocabulary_by_len.get(&pattern.len())?;
        candidates
            .iter()
            .find(|w| {
                w.chars()
                    .zip(pattern.iter())
                    .all(|(a, &p)| p == '*' || a == p)
            })
            .cloned()
    }
}

/// Whether a folded run looks like an email address (so that its `@` is
/// not read as a leetspeak "a").
fn is_email_address(folded: &str) -> bool {
    let trimmed = folded.trim_matches(|c: char| !c.is_alphanumeric());
    let Some((user, domain)) = trimmed.split_once('@') else {
        return false;
    };
    let user_ok = !user.is_empty()
        && user
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '+'));
    let domain_ok = domain
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-'))
        && domain.rsplit_once('.').is_some_and(|(host, tld)| {
            !host.is_empty() && tld.len() >= 2 && tld.chars().all(char::is_alphabetic)
        });
    user_ok && domain_ok
}

/// The byte span of a run without its surrounding punctuation, so quotes in
/// reasons show the words only.
fn trimmed_span(raw: &str, start: usize) -> (usize, usize) {
    const TRIM: &[char] = &[
        '"', '\'', '«', '»', '“', '”', '(', ')', '[', ']', '{', '}', '.', ',', ';', ':', '!', '?',
        '…', '’',
    ];
    let trimmed_end = raw.trim_end_matches(TRIM);
    let trimmed = trimmed_end.trim_start_matches(TRIM);
    if trimmed.is_empty() {
        return (start, start + raw.len());
    }
    let lead = trimmed_end.len() - trimmed.len();
    (start + lead, start + trimmed_end.len())
}

/// Joins letters written apart with dots, dashes, asterisks or underscores
/// (`i.d.i.o.t`, `f-u-c-k`): three pieces or more, one character each.
fn join_separated_letters(core: &str) -> Option<String> {
    let pieces: Vec<&str> = core
        .split(['.', '-', '*', '_', '·', '•', '/', '+'])
        .collect();
    if pieces.len() < 3 {
        return None;
    }
    let single = pieces.iter().all(|p| p.chars().count() == 1);
    let letters = pieces
        .iter()
        .filter(|p| p.chars().all(char::is_alphabetic))
        .count();
    if single
        && letters >= 2
        && pieces.iter().all(|p| {
            p.chars()
                .all(|c| c.is_alphanumeric() || leet_letter(c).is_some())
        })
    {
        Some(pieces.concat())
    } else {
        None
    }
}

/// The longest run of one-letter words examined for a spelled-out word;
/// longer runs (a table, a list of options) are left as they are, which also
/// keeps the search cost bounded on hostile input.
const MAX_SPELLED_OUT_LETTERS: usize = 24;

/// Joins runs of one-letter words that spell an abuse word (`f u c k`,
/// `c a v e`); other runs of letters are left alone.
fn join_spelled_out_words(normaliser: &Normaliser, original: &str, tokens: &mut Vec<Token>) {
    // A letter is a word token that came from a single letter of the
    // original text, whatever it was rewritten to ("u" became "you").
    let letter_of = |t: &Token| -> Option<char> {
        if t.kind != TokenKind::Word {
            return None;
        }
        let mut chars = original.get(t.start..t.end)?.chars();
        let c = chars.next()?;
        if chars.next().is_none() && c.is_alphabetic() {
            let mut folded = String::new();
            fold_char(c, &mut folded);
            folded.chars().next()
        } else {
            None
        }
    };
    let mut i = 0;
    while i < tokens.len() {
        let is_letter = |t: &Token| letter_of(t).is_some();
        if !is_letter(&tokens[i]) {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < tokens.len() && is_letter(&tokens[j]) {
            j += 1;
        }
        let mut found = None;
        if (3..=MAX_SPELLED_OUT_LETTERS).contains(&(j - i)) {
            // The longest stretch that spells a word wins: "d i d i o t"
            // holds "idiot" after the elided "d".
            'search: for a in i..j {
                for b in (a + 3..=j).rev() {
                    let joined: String = tokens[a..b].iter().filter_map(letter_of).collect();
                    if let Some(canonical) = normaliser.canonical(&joined) {
                        found = Some((a, b, canonical.to_owned()));
                        break 'search;
                    }
                }
            }
        }
        match found {
            Some((a, b, canonical)) => {
                let token = Token {
                    text: canonical,
                    kind: TokenKind::Word,
                    start: tokens[a].start,
                    end: tokens[b - 1].end,
                };
                tokens.splice(a..b, [token]);
                i = a + 1;
            }
            None => i = j,
        }
    }
}

fn push_word(tokens: &mut Vec<Token>, text: &str, start: usize, end: usize) {
    tokens.push(Token {
        text: text.to_owned(),
        kind: TokenKind::Word,
        start,
        end,
    });
}

/// Pushes a sentence boundary unless the previous token already is one.
fn push_boundary(tokens: &mut Vec<Token>, start: usize, end: usize) {
    if !matches!(
        tokens.last().map(|t| t.kind),
        Some(TokenKind::Boundary) | None
    ) {
        tokens.push(Token {
            text: ".".to_owned(),
            kind: TokenKind::Boundary,
            start,
            end,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normalise(text: &str) -> String {
        let lexicon = Lexicon::shipped().expect("shipped lexicon");
        let normaliser = Normaliser::new(&lexicon);
        normaliser.normalise(text).joined().0
    }

    #[test]
    fn case_and_accents_are_folded() {
        assert_eq!(
            normalise("CÂLISSE de Nid-de-Poule"),
            "calisse de nid de poule"
        );
        assert_eq!(normalise("Œuvre à l'été"), "oeuvre a l ete");
    }

    #[test]
    fn leetspeak_is_decoded() {
        assert_eq!(normalise("c@lice"), "calisse");
        assert_eq!(normalise("1d10t"), "idiot");
        assert_eq!(normalise("r3tard"), "retard");
        assert_eq!(normalise("t'es un n1a1seux"), "t es un niaiseux");
    }

    #[test]
    fn numbers_ordinals_and_postal_codes_are_not_leetspeak() {
        assert_eq!(
            normalise("le 1er mai au 3e étage, J3E 1A1"),
            "le 1er mai au 3e etage , j3e 1a1"
        );
        assert_eq!(normalise("10h30"), "10h30");
    }

    #[test]
    fn letters_split_by_dots_dashes_or_asterisks_are_joined() {
        assert_eq!(normalise("f-u-c-k you"), "fuck you");
        assert_eq!(normalise("espèce d'i.d.i.o.t"), "espece d idiot");
        assert_eq!(normalise("c*a*v*e"), "cave");
    }

    #[test]
    fn masked_letters_are_recovered() {
        assert_eq!(normalise("f**k"), "fuck");
        assert_eq!(normalise("sh*t"), "shit");
    }

    #[test]
    fn letters_split_by_spaces_are_joined_only_when_they_spell_an_abuse_word() {
        assert_eq!(normalise("f u c k you"), "fuck you");
        assert_eq!(normalise("t es un c a v e"), "t es un cave");
        assert_eq!(normalise("il y a a faire"), "il y a a faire");
    }

    #[test]
    fn repeated_letters_are_collapsed() {
        assert_eq!(normalise("caaaaave"), "cave");
        assert_eq!(normalise("connnnnard"), "connard");
        assert_eq!(normalise("nooooon"), "non");
    }

    #[test]
    fn joual_and_sms_spellings_are_rewritten() {
        assert_eq!(normalise("jva t tuer"), "je vais t tuer");
        assert_eq!(normalise("chu tanné"), "je suis tanne");
        assert_eq!(normalise("osti de tabarnouche"), "osti de tabarnak");
        assert_eq!(normalise("u r an idiot"), "you are an idiot");
    }

    #[test]
    fn elided_words_are_not_rewritten() {
        assert_eq!(normalise("c'est"), "c est");
    }

    #[test]
    fn email_addresses_are_kept_whole_and_leet_is_not_an_address() {
        assert_eq!(
            normalise("écrivez à jean.roy@gmail.com."),
            "ecrivez a courriel ."
        );
        assert_eq!(normalise("cr1m1n@l$."), "criminals .");
        assert_eq!(normalise("!mbec!le"), "imbecile");
    }

    #[test]
    fn emoji_become_named_tokens() {
        assert_eq!(normalise("🖕🖕 vous"), "emoji_doigt emoji_doigt vous");
        assert_eq!(normalise("merci🙏🏽"), "merci emoji_merci");
    }

    #[test]
    fn lookalike_and_fullwidth_letters_are_folded() {
        assert_eq!(normalise("ｆｕｃｋ"), "fuck");
        assert_eq!(normalise("сave"), "cave");
    }

    #[test]
    fn sentence_ends_and_line_breaks_become_boundaries() {
        assert_eq!(normalise("Bonjour.\nMerci!"), "bonjour . merci .");
    }

    #[test]
    fn tokens_keep_the_original_span_without_punctuation() {
        // Arrange
        let lexicon = Lexicon::shipped().expect("shipped lexicon");
        let normaliser = Normaliser::new(&lexicon);
        let text = "Allo « crisse d'incompétent »!";

        // Act
        let tokens = normaliser.normalise(text).tokens;

        // Assert
        let word = tokens
            .iter()
            .find(|t| t.text == "incompetent")
            .expect("token");
        assert_eq!(&text[word.start..word.end], "d'incompétent");
    }
}
