//! Text helpers for inbound mail: HTML to plain text, RFC 3676
//! `format=flowed` joining, repair of mislabelled Windows-1252 text, and the
//! extraction of the citizen's new words from a reply (quoted history,
//! attribution lines, signatures and "Sent from my iPhone" cut away).
//!
//! Pure string functions, no I/O. Every function runs in time linear in its
//! input and without recursion, so hostile input cannot exhaust the stack.

use std::cell::RefCell;
use std::sync::LazyLock;

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, Tag, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};
use regex::Regex;

/// Largest HTML body converted to text. Citizen mail is a few kilobytes; a
/// bigger body is cut here so that the tokenizer's work stays bounded.
pub const MAX_HTML_TO_TEXT_BYTES: usize = 4 * 1024 * 1024;

/// Deepest element nesting accepted for sanitizing. Browsers' tree builders
/// (html5ever included) get quadratic on deep or mis-nested markup: 50,000
/// nested `<div><b>` took minutes. Mail clients nest a few dozen levels.
pub const MAX_HTML_NESTING: usize = 512;
/// Most tags accepted for sanitizing, for the same reason.
pub const MAX_HTML_TAGS: usize = 100_000;

/// How many lines after a `De :` / `From:` line may hold the rest of an
/// Outlook header block (`Envoyé :`, `À :`, `Objet :`).
const OUTLOOK_HEADER_WINDOW: usize = 4;
/// How many physical lines an attribution ("Le … a écrit :") may be wrapped over.
const ATTRIBUTION_MAX_LINES: usize = 3;
/// Longest attribution accepted, so that an ordinary paragraph that happens
/// to end with "wrote:" is not taken for one.
const ATTRIBUTION_MAX_CHARS: usize = 300;
/// How many lines past a candidate separator are examined (blank lines
/// included), so that extraction stays linear on hostile input.
const LOOKAHEAD_LINES: usize = 5;
/// Longest line taken for a mobile signature ("Envoyé de mon iPhone").
const MOBILE_SIGNATURE_MAX_CHARS: usize = 80;

// Each pattern below is a literal known to compile; a failure would be a
// programming error caught by the first unit test.
#[allow(clippy::unwrap_used)]
static ATTRIBUTION_START: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^\s*(le|on|el|am)\s").unwrap());
#[allow(clippy::unwrap_used)]
static ATTRIBUTION_END: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)(a\s+(é|e)crit|wrote|escribió|schrieb)\s*:\s*$").unwrap());
#[allow(clippy::unwrap_used)]
static ORIGINAL_MESSAGE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\s*-{2,}\s*(message d'origine|message d’origine|original message|message original|mail original|courriel d'origine|courriel original)\s*-{2,}\s*$",
    )
    .unwrap()
});
#[allow(clippy::unwrap_used)]
static OUTLOOK_FROM: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^\s*\*?(de|from)\s*\*?\s*:\s*\S").unwrap());
#[allow(clippy::unwrap_used)]
static OUTLOOK_FIELD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*\*?(envoy(é|e)|sent|date|(à|a)|to|objet|subject|cc)\s*\*?\s*:").unwrap()
});
#[allow(clippy::unwrap_used)]
static UNDERSCORE_RULE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\s*_{8,}\s*$").unwrap());
#[allow(clippy::unwrap_used)]
static MOBILE_SIGNATURE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\s*(envoy(é|e)\s+(de|depuis|à partir de|a partir de|avec)\s+(mon|ma|l’|l'|outlook|yahoo|gmail|samsung|courrier|mail|iphone|android)|sent\s+(from|with|via)\s+(my|outlook|yahoo|gmail|samsung|mail|the|ios|android)|get\s+outlook\s+for|obtenez\s+outlook\s+pour|obtenir\s+outlook\s+pour|t(é|e)l(é|e)charger\s+outlook)",
    )
    .unwrap()
});

/// Turns CRLF and lone CR into LF.
pub fn normalise_newlines(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

/// Replaces C1 control characters (U+0080–U+009F) by the Windows-1252
/// characters with the same byte value, and drops the five bytes that
/// Windows-1252 leaves undefined.
///
/// Outlook and many web forms label Windows-1252 text `iso-8859-1`; decoded
/// as Latin-1, its curly quotes, dashes and ellipses become invisible C1
/// controls. No real text contains C1 controls, so the repair is safe to
/// apply to every decoded string (this is also what browsers do: WHATWG maps
/// the `iso-8859-1` label to Windows-1252).
pub fn repair_c1(text: &str) -> String {
    if !text.chars().any(is_c1) {
        return text.to_owned();
    }
    text.chars().filter_map(map_c1).collect()
}

fn is_c1(c: char) -> bool {
    ('\u{80}'..='\u{9f}').contains(&c)
}

fn map_c1(c: char) -> Option<char> {
    if !is_c1(c) {
        return Some(c);
    }
    const TABLE: [Option<char>; 32] = [
        Some('€'),
        None,
        Some('‚'),
        Some('ƒ'),
        Some('„'),
        Some('…'),
        Some('†'),
        Some('‡'),
        Some('ˆ'),
        Some('‰'),
        Some('Š'),
        Some('‹'),
        Some('Œ'),
        None,
        Some('Ž'),
        None,
        None,
        Some('‘'),
        Some('’'),
        Some('“'),
        Some('”'),
        Some('•'),
        Some('–'),
        Some('—'),
        Some('˜'),
        Some('™'),
        Some('š'),
        Some('›'),
        Some('œ'),
        None,
        Some('ž'),
        Some('Ÿ'),
    ];
    TABLE[(c as usize) - 0x80]
}

/// Cleans one header value for display: C1 repair, every control character
/// (folding leftovers included) turned into a space, runs of spaces collapsed.
pub fn clean_header_text(text: &str) -> String {
    let repaired = repair_c1(text);
    let mut out = String::with_capacity(repaired.len());
    for word in repaired
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Cleans a body: LF line ends, C1 repair, control characters other than
/// tab and newline removed.
pub fn clean_body_text(text: &str) -> String {
    repair_c1(&normalise_newlines(text))
        .chars()
        .filter(|&c| c == '\n' || c == '\t' || !c.is_control())
        .collect()
}

/// Joins the soft line breaks of a `format=flowed` body (RFC 3676): a line
/// ending in a space continues on the next line of the same quote depth.
/// Space-stuffing is removed; with `delsp`, the trailing space of a flowed
/// line is deleted instead of kept. The signature separator `-- ` is never
/// joined.
pub fn unflow(text: &str, delsp: bool) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut paragraph: Option<(usize, String)> = None;
    for raw in text.split('\n') {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let depth = line.bytes().take_while(|&b| b == b'>').count();
        let mut content = &line[depth..];
        if let Some(unstuffed) = content.strip_prefix(' ') {
            content = unstuffed;
        }
        let is_signature = content == "-- ";
        let flowed = content.ends_with(' ') && !is_signature;
        if paragraph.as_ref().is_some_and(|(d, _)| *d != depth) {
            if let Some((d, buffer)) = paragraph.take() {
                lines.push(quote_line(d, &buffer));
            }
        }
        let piece = if flowed && delsp {
            &content[..content.len() - 1]
        } else {
            content
        };
        match paragraph.as_mut() {
            Some((_, buffer)) => buffer.push_str(piece),
            None => paragraph = Some((depth, piece.to_owned())),
        }
        if !flowed {
            if let Some((d, buffer)) = paragraph.take() {
                lines.push(quote_line(d, &buffer));
            }
        }
    }
    if let Some((d, buffer)) = paragraph.take() {
        lines.push(quote_line(d, &buffer));
    }
    lines.join("\n")
}

fn quote_line(depth: usize, content: &str) -> String {
    if depth == 0 {
        content.to_owned()
    } else if content.is_empty() {
        ">".repeat(depth)
    } else {
        format!("{} {content}", ">".repeat(depth))
    }
}

/// Extracts the readable text of an HTML body: paragraphs and line breaks
/// kept, `&nbsp;` as plain spaces, and nothing from `<head>`, `<style>`,
/// `<script>`, `<title>` or comments (Outlook's `<!--[if gte mso 9]>` blocks
/// included). Bodies longer than [`MAX_HTML_TO_TEXT_BYTES`] are cut first.
///
/// The HTML is tokenized, never built into a tree, so deeply nested markup
/// costs neither stack nor quadratic time.
pub fn html_to_text(html: &str) -> String {
    let html = truncate_at_char_boundary(html, MAX_HTML_TO_TEXT_BYTES);
    let sink = TextSink::default();
    let tokenizer = Tokenizer::new(sink, TokenizerOpts::default());
    let queue = BufferQueue::default();
    queue.push_back(StrTendril::from_slice(html));
    // `feed` only pauses for `<script>` execution, which a text sink never
    // requests, so one call consumes the whole queue.
    let _ = tokenizer.feed(&queue);
    tokenizer.end();
    let raw = tokenizer.sink.state.take().out;
    tidy_lines(&raw)
}

fn truncate_at_char_boundary(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Whether an HTML body is tame enough to be built into a tree (sanitized)
/// in predictable time: at most [`MAX_HTML_NESTING`] levels of open
/// elements and [`MAX_HTML_TAGS`] tags. Checked with the streaming
/// tokenizer, which is linear.
pub fn html_is_tame(html: &str) -> bool {
    let sink = ShapeSink::default();
    let tokenizer = Tokenizer::new(sink, TokenizerOpts::default());
    let queue = BufferQueue::default();
    queue.push_back(StrTendril::from_slice(html));
    let _ = tokenizer.feed(&queue);
    tokenizer.end();
    let shape = tokenizer.sink.shape.take();
    shape.max_depth <= MAX_HTML_NESTING && shape.tags <= MAX_HTML_TAGS
}

/// Elements that never have an end tag.
const VOID_ELEMENTS: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
    "wbr",
];

#[derive(Default)]
struct Shape {
    depth: usize,
    max_depth: usize,
    tags: usize,
}

#[derive(Default)]
struct ShapeSink {
    shape: RefCell<Shape>,
}

impl TokenSink for ShapeSink {
    type Handle = ();

    fn process_token(&self, token: Token, _line_number: u64) -> TokenSinkResult<()> {
        if let Token::TagToken(tag) = token {
            let mut shape = self.shape.borrow_mut();
            shape.tags += 1;
            let name: &str = &tag.name;
            match tag.kind {
                TagKind::StartTag if !tag.self_closing && !VOID_ELEMENTS.contains(&name) => {
                    shape.depth += 1;
                    shape.max_depth = shape.max_depth.max(shape.depth);
                }
                TagKind::EndTag => shape.depth = shape.depth.saturating_sub(1),
                TagKind::StartTag => {}
            }
            return match name {
                "style" | "xml" | "noscript" | "textarea" if tag.kind == TagKind::StartTag => {
                    TokenSinkResult::RawData(RawKind::Rawtext)
                }
                "script" if tag.kind == TagKind::StartTag => {
                    TokenSinkResult::RawData(RawKind::ScriptData)
                }
                _ => TokenSinkResult::Continue,
            };
        }
        TokenSinkResult::Continue
    }
}

/// Trims every line, turns no-break spaces into spaces, keeps at most one
/// blank line in a row and none at either end.
fn tidy_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank_run = 0usize;
    for line in text.split('\n') {
        let line = line.replace('\u{a0}', " ");
        let line = line.trim();
        if line.is_empty() {
            blank_run += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank_run > 0 { "\n\n" } else { "\n" });
        }
        blank_run = 0;
        out.push_str(line);
    }
    out
}

#[derive(Default)]
struct TextState {
    out: String,
    /// Depth of elements whose text is not shown (`head`, `style`, …).
    hidden_depth: usize,
    /// Inside `<pre>`: whitespace is kept.
    pre_depth: usize,
    /// A space is owed before the next word.
    pending_space: bool,
}

impl TextState {
    fn newline(&mut self, count: usize) {
        self.pending_space = false;
        let existing = self.out.chars().rev().take_while(|&c| c == '\n').count();
        if self.out.is_empty() {
            return;
        }
        for _ in existing..count {
            self.out.push('\n');
        }
    }

    fn text(&mut self, text: &str) {
        if self.hidden_depth > 0 {
            return;
        }
        if self.pre_depth > 0 {
            self.out.push_str(text);
            return;
        }
        for (index, word) in text
            .split(|c: char| c.is_whitespace() && c != '\u{a0}')
            .enumerate()
        {
            if index > 0 {
                self.pending_space = true;
            }
            if word.is_empty() {
                continue;
            }
            if self.pending_space && !self.out.is_empty() && !self.out.ends_with('\n') {
                self.out.push(' ');
            }
            self.pending_space = false;
            self.out.push_str(word);
        }
    }
}

#[derive(Default)]
struct TextSink {
    state: RefCell<TextState>,
}

/// Elements whose content is never shown as text.
const HIDDEN_ELEMENTS: &[&str] = &[
    "head", "style", "script", "title", "template", "noscript", "xml", "object", "svg",
];

impl TextSink {
    fn tag(&self, tag: &Tag) -> TokenSinkResult<()> {
        let name: &str = &tag.name;
        let mut state = self.state.borrow_mut();
        let start = tag.kind == TagKind::StartTag;
        if HIDDEN_ELEMENTS.contains(&name) {
            if start && !tag.self_closing {
                state.hidden_depth += 1;
                return match name {
                    "style" | "xml" | "noscript" => TokenSinkResult::RawData(RawKind::Rawtext),
                    "script" => TokenSinkResult::RawData(RawKind::ScriptData),
                    "title" => TokenSinkResult::RawData(RawKind::Rcdata),
                    _ => TokenSinkResult::Continue,
                };
            }
            if !start {
                state.hidden_depth = state.hidden_depth.saturating_sub(1);
            }
            return TokenSinkResult::Continue;
        }
        match name {
            "br" => state.newline(1),
            "p" => {
                // Word and Outlook write every line as its own
                // `<p class=MsoNormal>` with no margin, and blank lines as
                // `&nbsp;` paragraphs; a paragraph break per `<p>` would
                // double every line of such mail. The blank line before an
                // ordinary paragraph comes from its start tag, since end
                // tags carry no class.
                let word_line = tag.attrs.iter().any(|a| {
                    &*a.name.local == "class" && a.value.to_ascii_lowercase().contains("msonormal")
                });
                state.newline(if word_line || !start { 1 } else { 2 });
            }
            "div" | "tr" | "dt" | "dd" | "section" | "article" | "header" | "footer"
            | "address" | "center" | "hr" | "form" => {
                state.newline(1);
            }
            "blockquote" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "ul" | "ol" | "dl"
            | "table" => state.newline(2),
            "li" => {
                state.newline(1);
                if start {
                    state.out.push_str("- ");
                }
            }
            "pre" => {
                state.newline(1);
                if start {
                    state.pre_depth += 1;
                } else {
                    state.pre_depth = state.pre_depth.saturating_sub(1);
                }
            }
            "td" | "th" if !start => state.pending_space = true,
            _ => {}
        }
        TokenSinkResult::Continue
    }
}

impl TokenSink for TextSink {
    type Handle = ();

    fn process_token(&self, token: Token, _line_number: u64) -> TokenSinkResult<()> {
        match token {
            Token::TagToken(tag) => self.tag(&tag),
            Token::CharacterTokens(text) => {
                self.state.borrow_mut().text(&text);
                TokenSinkResult::Continue
            }
            _ => TokenSinkResult::Continue,
        }
    }
}

/// Returns the new words of a message: its text without quoted lines,
/// attribution lines ("Le … a écrit :", "On … wrote:", possibly wrapped),
/// forwarded history ("-----Message d'origine-----", Outlook's
/// "De : … Envoyé : … À : … Objet :" block), the signature after `-- ` and
/// mobile signatures. When nothing is left (a message made only of quotes),
/// the whole text is returned so that the agent still sees something.
pub fn extract_new_text(body: &str) -> String {
    let lines: Vec<&str> = body.lines().collect();
    let mut kept: Vec<&str> = Vec::new();
    let mut index = 0;
    while index < lines.len() {
        let line = lines[index];
        if is_quoted(line) {
            index += 1;
            continue;
        }
        if is_history_start(&lines, index) {
            break;
        }
        if let Some(span) = attribution_span(&lines, index) {
            index += span;
            continue;
        }
        if is_signature_start(line) {
            break;
        }
        kept.push(line);
        index += 1;
    }
    let new_text = tidy_block(&kept);
    if new_text.is_empty() {
        tidy_block(&lines)
    } else {
        new_text
    }
}

fn is_quoted(line: &str) -> bool {
    line.trim_start().starts_with('>')
}

fn is_signature_start(line: &str) -> bool {
    let trimmed_end = line.trim_end();
    trimmed_end == "--"
        || (line.chars().count() <= MOBILE_SIGNATURE_MAX_CHARS && MOBILE_SIGNATURE.is_match(line))
}

/// Unquoted history: an "Original Message" separator, an Outlook header
/// block, or an underscore rule directly followed by one.
fn is_history_start(lines: &[&str], index: usize) -> bool {
    let line = lines[index];
    if ORIGINAL_MESSAGE.is_match(line) {
        return true;
    }
    if UNDERSCORE_RULE.is_match(line) {
        let next = lines[index + 1..]
            .iter()
            .take(LOOKAHEAD_LINES)
            .find(|l| !l.trim().is_empty());
        return next.is_some_and(|l| OUTLOOK_FROM.is_match(l));
    }
    if OUTLOOK_FROM.is_match(line) {
        let fields = lines[index + 1..]
            .iter()
            .take(OUTLOOK_HEADER_WINDOW)
            .filter(|l| OUTLOOK_FIELD.is_match(l))
            .count();
        return fields >= 2;
    }
    false
}

/// How many lines an attribution starting at `index` spans, if one does.
/// It must end with "a écrit :" / "wrote:" within a few lines, and either
/// start like one ("Le …", "On …") or be followed by quoted lines.
fn attribution_span(lines: &[&str], index: usize) -> Option<usize> {
    let mut joined = String::new();
    for span in 1..=ATTRIBUTION_MAX_LINES {
        let line = lines.get(index + span - 1)?;
        if line.trim().is_empty() || is_quoted(line) {
            return None;
        }
        if !joined.is_empty() {
            joined.push(' ');
        }
        joined.push_str(line.trim());
        if joined.chars().count() > ATTRIBUTION_MAX_CHARS {
            return None;
        }
        if ATTRIBUTION_END.is_match(&joined) {
            let mut rest = lines[index + span..].iter();
            let next = rest
                .by_ref()
                .take(LOOKAHEAD_LINES)
                .find(|l| !l.trim().is_empty());
            let at_end = next.is_none() && rest.next().is_none();
            let quote_follows = next.is_some_and(|l| is_quoted(l)) || at_end;
            let starts_like_one = ATTRIBUTION_START.is_match(&joined);
            return (quote_follows || (starts_like_one && span == 1)).then_some(span);
        }
    }
    None
}

fn tidy_block(lines: &[&str]) -> String {
    let mut out = String::new();
    let mut blank_run = 0usize;
    for line in lines {
        let line = line.trim_end();
        if line.trim().is_empty() {
            blank_run += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank_run > 0 { "\n\n" } else { "\n" });
        }
        blank_run = 0;
        out.push_str(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c1_controls_become_windows_1252_punctuation() {
        // Arrange
        let latin1_decoded = "m\u{92}a dit \u{93}oui\u{94}\u{85} \u{96} fin\u{81}";

        // Act
        let repaired = repair_c1(latin1_decoded);

        // Assert
        assert_eq!(repaired, "m’a dit “oui”… – fin");
    }

    #[test]
    fn flowed_lines_are_joined_and_fixed_lines_kept() {
        // Arrange
        let text = "Il y a un nid-de-poule tr\u{e8}s profond \r\nau coin.\r\n\r\nBonne journ\u{e9}e,\r\nNathalie\r\n-- \r\nsig";

        // Act
        let joined = unflow(text, false);

        // Assert
        assert_eq!(
            joined,
            "Il y a un nid-de-poule très profond au coin.\n\nBonne journée,\nNathalie\n-- \nsig"
        );
    }

    #[test]
    fn flowed_delsp_removes_the_soft_break_space_and_quotes_stay_apart() {
        // Arrange
        let text = "abc \ndef\n> quoted \n> more\n>> deeper\n";

        // Act
        let joined = unflow(text, true);

        // Assert
        assert_eq!(joined, "abcdef\n> quotedmore\n>> deeper\n");
    }

    #[test]
    fn html_paragraphs_become_lines_and_hidden_content_is_dropped() {
        // Arrange
        let html = "<html><head><title>T</title><style>p{color:red}</style></head>\
            <body><!--[if gte mso 9]><xml>junk</xml><![endif]--><p>Bonjour,</p>\
            <p>Ligne&nbsp;un<br>ligne   deux</p><script>alert(1)</script>\
            <ul><li>a</li><li>b</li></ul></body></html>";

        // Act
        let text = html_to_text(html);

        // Assert
        assert_eq!(text, "Bonjour,\n\nLigne un\nligne deux\n\n- a\n- b");
    }

    #[test]
    fn word_paragraphs_are_single_lines() {
        // Arrange
        let html =
            "<p class=MsoNormal>Sophie<o:p></o:p></p><p class=MsoNormal>Conseill&egrave;re</p>\
            <p class=MsoNormal><o:p>&nbsp;</o:p></p><p class=MsoNormal>Merci</p>";

        // Act
        let text = html_to_text(html);

        // Assert
        assert_eq!(text, "Sophie\nConseillère\n\nMerci");
    }

    #[test]
    fn deeply_nested_html_is_converted_without_overflowing_the_stack() {
        // Arrange
        let html = format!(
            "{}texte{}",
            "<div><span>".repeat(100_000),
            "</span></div>".repeat(100_000)
        );

        // Act
        let text = html_to_text(&html);

        // Assert
        assert_eq!(text, "texte");
    }

    #[test]
    fn new_text_stops_at_french_attribution_and_quotes() {
        // Arrange
        let body = "Bonjour,\n\nLe camion n’est pas passé.\n\nRéjean\n\nLe mar. 13 janv. 2026 à 09:02:11 -0500, Ville de Sainte-Julie a écrit :\n> Bonjour,\n>> vieux";

        // Act
        let new_text = extract_new_text(body);

        // Assert
        assert_eq!(new_text, "Bonjour,\n\nLe camion n’est pas passé.\n\nRéjean");
    }

    #[test]
    fn new_text_handles_attributions_wrapped_over_two_lines() {
        // Arrange
        let body = "Merci!\n\nLe mar. 13 janv. 2026 à 09:02, Ville de Sainte-Julie <\nclientele@saintejulie.ca> a écrit :\n\n> Bonjour";

        // Act
        let new_text = extract_new_text(body);

        // Assert
        assert_eq!(new_text, "Merci!");
    }

    #[test]
    fn new_text_cuts_every_kind_of_history_and_signature() {
        // Arrange
        let cases = [
            ("Oui.\n\nDe : Ville <c@s.ca>\nEnvoyé : 13 janvier 2026 09:02\nÀ : Moi\nObjet : Accusé\n\nBonjour", "Oui."),
            ("Yes.\n\nFrom: City <c@s.ca>\nSent: Tuesday\nTo: Me\nSubject: Ack\n\nHello", "Yes."),
            ("Oui.\n-----Message d'origine-----\nDe: x", "Oui."),
            ("Yes.\n-----Original Message-----\nFrom: x", "Yes."),
            ("Yes.\n\nOn Tue, Jan 13, 2026 at 9:02 AM City <c@s.ca> wrote:\n> hi", "Yes."),
            ("Oui.\n\n-- \nJean Tremblay\n450 555-0101", "Oui."),
            ("Oui.\n\nEnvoyé de mon iPhone\n\n> Le 13 janv.", "Oui."),
            ("Yes.\n\nSent from my iPhone", "Yes."),
            ("Oui.\n\n________________________________\nDe : Ville\nEnvoyé : mardi", "Oui."),
            ("> question?\nréponse en dessous", "réponse en dessous"),
        ];
        for (body, expected) in cases {
            // Act
            let new_text = extract_new_text(body);

            // Assert
            assert_eq!(new_text, expected, "case {body:?}");
        }
    }

    #[test]
    fn ordinary_sentences_that_look_like_headers_are_kept() {
        // Arrange
        let body = "Le déneigement est en retard.\nDe: plus, le trottoir est glacé.\nMerci";

        // Act
        let new_text = extract_new_text(body);

        // Assert
        assert_eq!(new_text, body);
    }

    #[test]
    fn extraction_stays_fast_on_lines_that_look_like_separators() {
        // Arrange
        let mut body = String::from("Bonjour\n");
        for _ in 0..20_000 {
            body.push_str("__________\nLe mardi, X a\n");
            body.push_str(&"\n".repeat(20));
        }
        let started = std::time::Instant::now();

        // Act
        let new_text = extract_new_text(&body);

        // Assert
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        assert!(new_text.starts_with("Bonjour"));
    }

    #[test]
    fn a_message_made_only_of_quotes_keeps_its_whole_text() {
        // Arrange
        let body = "> tout est cité\n> ici";

        // Act
        let new_text = extract_new_text(body);

        // Assert
        assert_eq!(new_text, body);
    }

    proptest::proptest! {
        #[test]
        fn new_text_only_keeps_lines_of_the_input(body in "(?s)[ -~àéè’«»\n>-]{0,300}") {
            let new_text = extract_new_text(&body);
            for line in new_text.lines().filter(|l| !l.trim().is_empty()) {
                proptest::prop_assert!(
                    body.lines().any(|l| l.trim_end() == line),
                    "invented line {:?}", line
                );
            }
        }

        #[test]
        fn html_and_flowed_conversions_accept_any_text(input in "(?s).{0,400}", delsp in proptest::bool::ANY) {
            let text = html_to_text(&input);
            proptest::prop_assert!(!text.contains('\r'));
            let _ = unflow(&input, delsp);
        }
    }

    #[test]
    fn header_text_loses_control_characters_and_extra_spaces() {
        // Arrange / Act
        let cleaned = clean_header_text(" Bac\r\n\t brisé \u{96} rue\u{0} Lavoie ");

        // Assert
        assert_eq!(cleaned, "Bac brisé – rue Lavoie");
    }
}
