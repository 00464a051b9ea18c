//! Full-text search, the parts that need no database: the query syntax clients write, its
//! translation into each engine's (SQLite FTS5 `MATCH`, PostgreSQL `tsquery`), the paragraphs
//! a text is indexed by, and where a query's words are in a paragraph (code points, as
//! citation selectors count).
//!
//! The syntax: words (all of them must be in one paragraph), `"a phrase"` (the words in that
//! order, side by side), `prefix*` (any word that begins so), `-word` or `-"a phrase"` (not
//! there). Matching ignores case; a word is a run of letters and digits, so `ex-Mossad` is the
//! phrase `"ex mossad"`. Both engines tokenize the same way (FTS5 `unicode61`, PostgreSQL's
//! `simple` configuration: no stemming, no stop words).

use std::fmt;

/// Where matches are looked for in a paragraph: its first `MAX_SCANNED` code points (what
/// PostgreSQL indexes of a paragraph too), and at most `MAX_MATCHES` of them are reported.
pub const MAX_SCANNED: usize = 100_000;
pub const MAX_MATCHES: usize = 1_000;

/// The most terms one query may have, and its longest text.
pub const MAX_TERMS: usize = 16;
pub const MAX_QUERY_CHARS: usize = 256;

/// A parsed search query: at least one term that must be there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    terms: Vec<Term>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Term {
    /// Lowercased words, side by side in this order (one for a plain word).
    words: Vec<String>,
    /// The last word is a prefix.
    prefix: bool,
    negated: bool,
}

/// Why a query cannot be run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError(pub String);

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for QueryError {}

fn words_of(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

impl SearchQuery {
    pub fn parse(input: &str) -> Result<Self, QueryError> {
        let chars = input.chars().count();
        if chars > MAX_QUERY_CHARS {
            return Err(QueryError(format!(
                "the query is {chars} characters; at most {MAX_QUERY_CHARS}"
            )));
        }
        if input.contains('\0') {
            return Err(QueryError("the query holds a NUL character".into()));
        }
        let mut terms = Vec::new();
        let mut rest = input.trim_start();
        while !rest.is_empty() {
            let negated = rest.starts_with('-');
            if negated {
                rest = &rest[1..];
            }
            let (text, prefix, quoted, after) = if let Some(quoted) = rest.strip_prefix('"') {
                let Some(end) = quoted.find('"') else {
                    return Err(QueryError("a quotation mark is not closed".into()));
                };
                let after = &quoted[end + 1..];
                let prefix = after.starts_with('*');
                (&quoted[..end], prefix, true, if prefix { &after[1..] } else { after })
            } else {
                let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
                let token = &rest[..end];
                if token.contains('"') {
                    return Err(QueryError(format!(
                        "a quotation mark inside {token:?}: quote whole phrases, \"like this\""
                    )));
                }
                let prefix = token.ends_with('*');
                (token.trim_end_matches('*'), prefix, false, &rest[end..])
            };
            let words = words_of(text);
            if words.is_empty() {
                if quoted || negated || prefix {
                    return Err(QueryError(format!(
                        "{:?} holds no word to look for (words are letters and digits)",
                        text
                    )));
                }
            } else {
                terms.push(Term { words, prefix, negated });
            }
            if let Some(next) = after.chars().next()
                && !next.is_whitespace()
            {
                return Err(QueryError(format!(
                    "put a space after {:?}",
                    &rest[..rest.len() - after.len()]
                )));
            }
            rest = after.trim_start();
        }
        if terms.is_empty() {
            return Err(QueryError("the query has no word to look for".into()));
        }
        if terms.len() > MAX_TERMS {
            return Err(QueryError(format!(
                "the query has {} terms; at most {MAX_TERMS}",
                terms.len()
            )));
        }
        if terms.iter().all(|t| t.negated) {
            return Err(QueryError(
                "the query only says what must not be there: add a word that must".into(),
            ));
        }
        Ok(SearchQuery { terms })
    }

    /// The query in FTS5's syntax: each term a quoted string (so nothing in it is an
    /// operator), the excluded ones after `NOT`.
    pub fn to_fts5(&self) -> String {
        let render = |t: &Term| {
            let mut s = format!("\"{}\"", t.words.join(" "));
            if t.prefix {
                s.push('*');
            }
            s
        };
        let mut out: Vec<String> = self.terms.iter().filter(|t| !t.negated).map(render).collect();
        for term in self.terms.iter().filter(|t| t.negated) {
            out.push(format!("NOT {}", render(term)));
        }
        out.join(" ")
    }

    /// The query as a PostgreSQL `tsquery` (for `to_tsquery('simple', …)`): lexemes quoted,
    /// phrases with `<->`, prefixes with `:*`, all joined with `&`.
    pub fn to_tsquery(&self) -> String {
        let lexeme = |w: &str| format!("'{}'", w.replace('\'', "''"));
        self.terms
            .iter()
            .map(|t| {
                let last = t.words.len() - 1;
                let words: Vec<String> = t
                    .words
                    .iter()
                    .enumerate()
                    .map(|(i, w)| {
                        let mut l = lexeme(w);
                        if t.prefix && i == last {
                            l.push_str(":*");
                        }
                        l
                    })
                    .collect();
                let joined = if words.len() == 1 {
                    words.into_iter().next().unwrap_or_default()
                } else {
                    format!("({})", words.join(" <-> "))
                };
                if t.negated { format!("!{joined}") } else { joined }
            })
            .collect::<Vec<_>>()
            .join(" & ")
    }

    /// Where the query's wanted terms are in `text`: code-point ranges `[start, end)`, in
    /// order and apart (overlapping matches are one range).
    pub fn matches_in(&self, text: &str) -> Vec<(usize, usize)> {
        // The words of the text with their code-point ranges, in one pass (byte offsets kept
        // beside code points, so each word is sliced directly).
        let mut words: Vec<(String, usize, usize)> = Vec::new();
        let mut start: Option<(usize, usize)> = None;
        let mut count = 0;
        for (point, (byte, c)) in text.char_indices().take(MAX_SCANNED).enumerate() {
            match (c.is_alphanumeric(), start) {
                (true, None) => start = Some((point, byte)),
                (false, Some((from, from_byte))) => {
                    words.push((text[from_byte..byte].to_lowercase(), from, point));
                    start = None;
                }
                _ => {}
            }
            count = point + 1;
        }
        if let Some((from, from_byte)) = start {
            let end_byte = text.char_indices().nth(count).map_or(text.len(), |(b, _)| b);
            words.push((text[from_byte..end_byte].to_lowercase(), from, count));
        }
        let mut found = Vec::new();
        for term in self.terms.iter().filter(|t| !t.negated) {
            let n = term.words.len();
            for at in 0..words.len().saturating_sub(n - 1) {
                let hit = term.words.iter().enumerate().all(|(k, w)| {
                    let word = &words[at + k].0;
                    if term.prefix && k == n - 1 { word.starts_with(w.as_str()) } else { word == w }
                });
                if hit {
                    found.push((words[at].1, words[at + n - 1].2));
                }
            }
        }
        // One range per stretch of matched text, however many terms matched in it.
        found.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(found.len());
        for (start, end) in found {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        merged.truncate(MAX_MATCHES);
        merged
    }
}

/// The code points `[start, end)` of `text`.
fn text_slice(text: &str, start: usize, end: usize) -> &str {
    let mut bytes = text.char_indices().map(|(i, _)| i).chain([text.len()]);
    let from = bytes.nth(start).unwrap_or(text.len());
    let to = if end > start { bytes.nth(end - start - 1).unwrap_or(text.len()) } else { from };
    &text[from..to]
}

/// The paragraphs a text is indexed by: its lines with something in them, as stored.
pub fn paragraphs(text: &str) -> impl Iterator<Item = &str> {
    text.lines().filter(|line| !line.trim().is_empty())
}

/// A paragraph's identity within its document: the first 8 bytes of its SHA-256, so that the
/// paragraphs a revision kept from its parent are found without comparing texts.
pub fn paragraph_key(in_title: bool, text: &str) -> i64 {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update([u8::from(in_title)]);
    hasher.update(text.as_bytes());
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(first)
}

/// The first paragraph of `text` whose key (not in a title) is `key`, and where it starts, in
/// code points: how a search finds a hit's paragraph again in a revision that holds it.
pub fn find_paragraph(text: &str, key: i64) -> Option<(usize, &str)> {
    let mut at = 0;
    // The lines as `paragraphs` has them (`str::lines`: `\n` or `\r\n` ends one).
    for segment in text.split_inclusive('\n') {
        let line = match segment.strip_suffix('\n') {
            Some(line) => line.strip_suffix('\r').unwrap_or(line),
            None => segment,
        };
        if !line.trim().is_empty() && paragraph_key(false, line) == key {
            return Some((at, line));
        }
        at += segment.chars().count();
    }
    None
}

/// A paragraph cut around its first match for showing, and where the matches are in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snippet {
    /// At most about `SNIPPET_CHARS` code points, with `…` where it was cut.
    pub text: String,
    /// The matches inside the window, in code points of `text`.
    pub matches: Vec<(usize, usize)>,
}

pub fn snippet(paragraph: &str, matches: &[(usize, usize)]) -> Snippet {
    let length = paragraph.chars().count();
    let (start, end) = if length <= SNIPPET_CHARS {
        (0, length)
    } else {
        let first = matches.first().map_or(0, |m| m.0);
        let start = first.saturating_sub(SNIPPET_CHARS / 3).min(length - SNIPPET_CHARS);
        (start, start + SNIPPET_CHARS)
    };
    let lead = usize::from(start > 0);
    let mut text = String::new();
    if start > 0 {
        text.push('…');
    }
    text.push_str(text_slice(paragraph, start, end));
    if end < length {
        text.push('…');
    }
    let matches = matches
        .iter()
        .filter(|m| m.0 >= start && m.1 <= end)
        .map(|m| (m.0 - start + lead, m.1 - start + lead))
        .collect();
    Snippet { text, matches }
}

pub const SNIPPET_CHARS: usize = 200;

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(q: &str) -> SearchQuery {
        SearchQuery::parse(q).unwrap()
    }

    #[test]
    fn every_paragraph_is_found_again_by_its_key_where_it_starts() {
        let text = "Première ligne\r\n\n  \nsecond\nPremière ligne\nlast\r";
        for paragraph in paragraphs(text) {
            let (at, found) = find_paragraph(text, paragraph_key(false, paragraph)).unwrap();
            assert_eq!(found, paragraph);
            let start: usize =
                text.char_indices().position(|(i, _)| text[i..].starts_with(paragraph)).unwrap();
            assert_eq!(at, start, "{paragraph:?}");
        }
        // A title's key is not a paragraph's.
        assert_eq!(find_paragraph(text, paragraph_key(true, "second")), None);
        assert_eq!(find_paragraph(text, paragraph_key(false, "absent")), None);
    }

    #[test]
    fn words_phrases_prefixes_and_exclusions_translate_for_both_engines() {
        let q = parse(r#"Gaza "diplomatic isolation" secur* -war"#);
        assert_eq!(q.to_fts5(), r#""gaza" "diplomatic isolation" "secur"* NOT "war""#);
        assert_eq!(q.to_tsquery(), "'gaza' & ('diplomatic' <-> 'isolation') & 'secur':* & !'war'");
        assert_eq!(parse("ex-Mossad").to_fts5(), r#""ex mossad""#);
        assert_eq!(parse("O'Brien").to_tsquery(), "('o' <-> 'brien')");
    }

    #[test]
    fn malformed_queries_say_what_is_wrong() {
        for (query, says) in [
            ("", "no word"),
            ("   ", "no word"),
            ("\"open", "not closed"),
            ("-war", "only says what must not"),
            ("a\"b", "quotation mark inside"),
            ("\"a\"b", "put a space after"),
            ("\"...\"", "holds no word"),
            ("-", "holds no word"),
            (&"w ".repeat(17), "17 terms"),
            (&"x".repeat(300), "300 characters"),
            ("a\0b", "NUL"),
        ] {
            let err = SearchQuery::parse(query).unwrap_err();
            assert!(err.0.contains(says), "{query:?}: {err}");
        }
        // Punctuation alone is not a term, but is no error either.
        assert_eq!(parse("gaza , ;").to_fts5(), r#""gaza""#);
    }

    #[test]
    fn matches_are_code_point_ranges_of_words_and_phrases() {
        let text = "Élan: the Gaza war — gazette, Gaza   War.";
        let q = parse(r#""gaza war" gaz*"#);
        let found = q.matches_in(text);
        let chars: Vec<char> = text.chars().collect();
        let shown: Vec<String> = found.iter().map(|&(s, e)| chars[s..e].iter().collect()).collect();
        assert_eq!(shown, ["Gaza war", "gazette", "Gaza   War"]);
        assert_eq!(parse("élan").matches_in(text), [(0, 4)]);
        // One pass over at most MAX_SCANNED code points, at most MAX_MATCHES ranges.
        let long = "a ".repeat(200_000);
        let found = parse("a").matches_in(&long);
        assert_eq!(found.len(), MAX_MATCHES);
        assert_eq!(found[999], (1998, 1999));
        assert_eq!(parse("b").matches_in(&format!("{}b", "a".repeat(MAX_SCANNED))), []);
    }

    #[test]
    fn snippets_cut_around_the_first_match() {
        let long = format!("{} needle {}", "a ".repeat(200), "b ".repeat(200));
        let q = parse("needle");
        let found = q.matches_in(&long);
        let snip = snippet(&long, &found);
        assert!(snip.text.starts_with('…') && snip.text.ends_with('…'));
        let chars: Vec<char> = snip.text.chars().collect();
        let (s, e) = snip.matches[0];
        assert_eq!(chars[s..e].iter().collect::<String>(), "needle");
        assert_eq!(
            snippet("short", &[(0, 5)]),
            Snippet { text: "short".into(), matches: vec![(0, 5)] }
        );
    }
}
