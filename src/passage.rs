//! Passages of text as W3C Web Annotation selectors, and the checks made with them: resolving
//! a selector against a text, following a passage into a revised text, and verifying that a
//! quotation is really in the text it cites. Pure computation; no database.
//!
//! Positions (TextPositionSelector `start`/`end`) count Unicode code points (Rust `char`s),
//! as the W3C model does, not bytes or UTF-16 units; `end` is exclusive.

use similar::TextDiff;

use crate::diff::{self, DiffOptions, Granularity};

/// How much context a resolved passage keeps on each side, in code points.
pub const CONTEXT_CHARS: usize = 32;
/// The least word similarity for a passage to count as an altered form of a quote.
pub const ALTERED_THRESHOLD: f64 = 0.75;

/// A selector as a client gives it: a quote, a position, or both. Built only by `parse`, so
/// every one is well formed (a non-empty quote or a forward range, no NUL); whether it agrees
/// with a text is for `resolve` to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    exact: Option<String>,
    prefix: Option<String>,
    suffix: Option<String>,
    position: Option<(usize, usize)>,
}

impl Selector {
    pub fn parse(
        exact: Option<String>,
        prefix: Option<String>,
        suffix: Option<String>,
        start: Option<usize>,
        end: Option<usize>,
    ) -> Result<Self, SelectorError> {
        for (part, text) in [("exact", &exact), ("prefix", &prefix), ("suffix", &suffix)] {
            if text.as_deref().is_some_and(|t| t.contains('\0')) {
                return Err(SelectorError::Nul(part));
            }
        }
        let position = match (start, end) {
            (Some(start), Some(end)) if start >= end => {
                return Err(SelectorError::Reversed { start, end });
            }
            (Some(start), Some(end)) => Some((start, end)),
            (Some(_), None) | (None, Some(_)) => return Err(SelectorError::HalfPosition),
            (None, None) => None,
        };
        if exact.as_deref() == Some("") || (exact.is_none() && position.is_none()) {
            return Err(SelectorError::Empty);
        }
        Ok(Selector { exact, prefix, suffix, position })
    }

    /// A selector by quote alone.
    pub fn quote(exact: &str) -> Result<Self, SelectorError> {
        Self::parse(Some(exact.to_owned()), None, None, None, None)
    }

    pub fn exact(&self) -> Option<&str> {
        self.exact.as_deref()
    }

    pub fn prefix(&self) -> Option<&str> {
        self.prefix.as_deref()
    }

    pub fn suffix(&self) -> Option<&str> {
        self.suffix.as_deref()
    }

    /// `start` and `end`, in code points, end exclusive.
    pub fn position(&self) -> Option<(usize, usize)> {
        self.position
    }
}

/// A passage located in a text: its words, their context and their position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passage {
    pub exact: String,
    pub prefix: String,
    pub suffix: String,
    pub start: usize,
    pub end: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectorError {
    #[error("give `exact`, or `start` and `end`")]
    Empty,
    #[error("`start` and `end` go together")]
    HalfPosition,
    #[error("`start` must be smaller than `end` (given {start} and {end})")]
    Reversed { start: usize, end: usize },
    #[error("`{0}` must not contain NUL characters (U+0000)")]
    Nul(&'static str),
    #[error("`start` {start} and `end` {end} are out of range for a text of {len} code points")]
    OutOfRange { start: usize, end: usize, len: usize },
    #[error("the text at {start}..{end} is {found:?}, not {exact:?}")]
    Mismatch { start: usize, end: usize, found: String, exact: String },
    #[error("the prefix or suffix does not match the text around the passage")]
    ContextMismatch,
    #[error("{0:?} is not in the text")]
    NotInText(String),
    #[error("{exact:?} occurs {count} times; add `prefix`, `suffix` or a position")]
    Ambiguous { exact: String, count: usize },
}

/// A text indexed by code point.
struct Chars<'a> {
    text: &'a str,
    /// Byte offset of every code point, plus the text's length.
    offsets: Vec<usize>,
}

impl<'a> Chars<'a> {
    fn new(text: &'a str) -> Self {
        let mut offsets: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
        offsets.push(text.len());
        Chars { text, offsets }
    }

    fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    fn slice(&self, start: usize, end: usize) -> &'a str {
        &self.text[self.offsets[start]..self.offsets[end]]
    }

    fn char_at_byte(&self, byte: usize) -> usize {
        self.offsets.partition_point(|&o| o < byte)
    }

    fn passage(&self, start: usize, end: usize) -> Passage {
        Passage {
            exact: self.slice(start, end).to_owned(),
            prefix: self.slice(start.saturating_sub(CONTEXT_CHARS), start).to_owned(),
            suffix: self.slice(end, (end + CONTEXT_CHARS).min(self.len())).to_owned(),
            start,
            end,
        }
    }

    /// Start positions (in code points) of every occurrence of `needle`.
    fn occurrences(&self, needle: &str) -> Vec<usize> {
        if needle.is_empty() {
            return Vec::new();
        }
        self.text.match_indices(needle).map(|(byte, _)| self.char_at_byte(byte)).collect()
    }

    fn has_context(&self, start: usize, end: usize, prefix: &str, suffix: &str) -> bool {
        self.slice(0, start).ends_with(prefix) && self.slice(end, self.len()).starts_with(suffix)
    }
}

/// Locates `selector` in `text`, checking that every part of it agrees with the text.
pub fn resolve(text: &str, selector: &Selector) -> Result<Passage, SelectorError> {
    let chars = Chars::new(text);
    let (prefix, suffix) = (selector.prefix().unwrap_or(""), selector.suffix().unwrap_or(""));
    match (selector.position, selector.exact()) {
        (Some((start, end)), exact) => {
            if end > chars.len() {
                return Err(SelectorError::OutOfRange { start, end, len: chars.len() });
            }
            let found = chars.slice(start, end);
            if let Some(exact) = exact
                && exact != found
            {
                return Err(SelectorError::Mismatch {
                    start,
                    end,
                    found: found.to_owned(),
                    exact: exact.to_owned(),
                });
            }
            if !chars.has_context(start, end, prefix, suffix) {
                return Err(SelectorError::ContextMismatch);
            }
            Ok(chars.passage(start, end))
        }
        (None, None) => Err(SelectorError::Empty),
        (None, Some(exact)) => {
            let length = exact.chars().count();
            let all = chars.occurrences(exact);
            let matching: Vec<usize> = all
                .iter()
                .copied()
                .filter(|&s| chars.has_context(s, s + length, prefix, suffix))
                .collect();
            match matching.as_slice() {
                [start] => Ok(chars.passage(*start, start + length)),
                [] if all.is_empty() => Err(SelectorError::NotInText(exact.to_owned())),
                [] => Err(SelectorError::ContextMismatch),
                many => {
                    Err(SelectorError::Ambiguous { exact: exact.to_owned(), count: many.len() })
                }
            }
        }
    }
}

/// Where `passage` is in `revised`, a later version of the text it was found in; `None` if
/// its exact words are gone, or if they occur several times and the old context does not
/// single one out. Only the same words count: a similar passage is never taken for it.
pub fn reanchor(revised: &str, passage: &Passage) -> Option<Passage> {
    let chars = Chars::new(revised);
    let length = passage.exact.chars().count();
    let all = chars.occurrences(&passage.exact);
    let in_context: Vec<usize> = all
        .iter()
        .copied()
        .filter(|&s| chars.has_context(s, s + length, &passage.prefix, &passage.suffix))
        .collect();
    let start = match (in_context.as_slice(), all.as_slice()) {
        ([], [only]) => *only,
        ([], _) => return None,
        (candidates, _) => *candidates.iter().min_by_key(|&&s| s.abs_diff(passage.start))?,
    };
    Some(chars.passage(start, start + length))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerificationStatus {
    /// The exact words are in the cited text.
    Verified,
    /// A close passage is there, but not the exact words.
    Altered,
    /// Nothing close is there.
    NotFound,
    /// There is no cited text to check against.
    Unverifiable,
}

#[derive(Debug, Clone)]
pub struct Verification {
    pub status: VerificationStatus,
    pub reason: String,
    /// Where the words (or the close passage) are in the cited text.
    pub found: Option<Passage>,
    /// Whether they are at the position the citation gives; `None` if it gives none.
    pub at_given_position: Option<bool>,
    /// Word similarity of the quote and the passage found (1 when verified).
    pub similarity: Option<f64>,
    /// For an altered quote: a word diff from the quote to the passage found.
    pub diff: Option<diff::TextDiffResult>,
}

impl Verification {
    pub fn unverifiable(reason: impl Into<String>) -> Self {
        Verification {
            status: VerificationStatus::Unverifiable,
            reason: reason.into(),
            found: None,
            at_given_position: None,
            similarity: None,
            diff: None,
        }
    }
}

/// Checks that `quote` is in `cited`, at `given` (a code-point range) if there is one.
pub fn verify(quote: &str, cited: &str, given: Option<(usize, usize)>) -> Verification {
    let chars = Chars::new(cited);
    let length = quote.chars().count();
    if let Some((start, end)) = given
        && end <= chars.len()
        && start <= end
        && chars.slice(start, end) == quote
    {
        return Verification {
            status: VerificationStatus::Verified,
            reason: "the exact words are at the given position".into(),
            found: Some(chars.passage(start, end)),
            at_given_position: Some(true),
            similarity: Some(1.0),
            diff: None,
        };
    }
    let occurrences = chars.occurrences(quote);
    if let Some(&start) =
        occurrences.iter().min_by_key(|&&s| given.map_or(0, |(g, _)| s.abs_diff(g)))
    {
        return Verification {
            status: VerificationStatus::Verified,
            reason: if given.is_some() {
                "the exact words are in the cited text, but not at the given position".into()
            } else {
                "the exact words are in the cited text".into()
            },
            found: Some(chars.passage(start, start + length)),
            at_given_position: given.map(|_| false),
            similarity: Some(1.0),
            diff: None,
        };
    }
    match closest_passage(quote, &chars) {
        Some((start, end, similarity)) if similarity >= ALTERED_THRESHOLD => {
            let found = chars.passage(start, end);
            let options = DiffOptions {
                granularity: Granularity::Word,
                context: 0,
                old_label: "quote".into(),
                new_label: "cited".into(),
                ..DiffOptions::default()
            };
            Verification {
                status: VerificationStatus::Altered,
                reason: "a close passage is in the cited text, but not the exact words".into(),
                diff: Some(diff::diff(quote, &found.exact, &options)),
                at_given_position: given.map(|g| g == (start, end)),
                found: Some(found),
                similarity: Some(similarity),
            }
        }
        _ => Verification {
            status: VerificationStatus::NotFound,
            reason: "neither the words nor a close passage are in the cited text".into(),
            found: None,
            at_given_position: None,
            similarity: None,
            diff: None,
        },
    }
}

/// The stretch of `cited` most like `quote`, word for word: candidate windows are the ones
/// sharing the most words with the quote (found in one pass), then compared exactly.
fn closest_passage(quote: &str, cited: &Chars<'_>) -> Option<(usize, usize, f64)> {
    use std::collections::HashMap;
    let words: Vec<(usize, usize)> = word_spans(cited.text)
        .map(|(s, e)| (cited.char_at_byte(s), cited.char_at_byte(e)))
        .collect();
    let quote_words: Vec<&str> = quote.split_whitespace().collect();
    let k = quote_words.len();
    if k == 0 || words.is_empty() {
        return None;
    }
    let mut wanted: HashMap<&str, i64> = HashMap::new();
    for w in &quote_words {
        *wanted.entry(w).or_default() += 1;
    }
    let word_text = |i: usize| cited.slice(words[i].0, words[i].1);
    // Sliding window of k words: how many of them the quote has (with multiplicity).
    let mut counts: HashMap<&str, i64> = HashMap::new();
    let mut overlap = 0i64;
    let mut scored: Vec<(i64, usize)> = Vec::new();
    for i in 0..words.len() {
        let w = word_text(i);
        let c = counts.entry(w).or_default();
        *c += 1;
        if *c <= wanted.get(w).copied().unwrap_or(0) {
            overlap += 1;
        }
        if i >= k {
            let out = word_text(i - k);
            let c = counts.entry(out).or_default();
            if *c <= wanted.get(out).copied().unwrap_or(0) {
                overlap -= 1;
            }
            *c -= 1;
        }
        let start = (i + 1).saturating_sub(k);
        scored.push((overlap, start));
    }
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut best: Option<(usize, usize, f64)> = None;
    for &(_, start) in scored.iter().take(8) {
        for first in start.saturating_sub(2)..=(start + 2).min(words.len() - 1) {
            for len in k.saturating_sub(2).max(1)..=k + 2 {
                let last = first + len - 1;
                if last >= words.len() {
                    break;
                }
                let candidate = cited.slice(words[first].0, words[last].1);
                let ratio = f64::from(TextDiff::from_words(quote, candidate).ratio());
                if best.is_none_or(|(_, _, r)| ratio > r) {
                    best = Some((words[first].0, words[last].1, ratio));
                }
            }
        }
    }
    best
}

/// Byte spans of the whitespace-separated words of `text`.
fn word_spans(text: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut start = None;
    text.char_indices().chain([(text.len(), ' ')]).filter_map(move |(i, c)| {
        match (c.is_whitespace(), start) {
            (false, None) => {
                start = Some(i);
                None
            }
            (true, Some(s)) => {
                start = None;
                Some((s, i))
            }
            _ => None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "Zitat: «Ende» — the letter says in essence: Hamas has been dismantled. Hamas has been dismantled.";

    fn exact(e: &str) -> Selector {
        Selector::quote(e).unwrap()
    }

    fn selector(
        exact: Option<&str>,
        suffix: Option<&str>,
        start: Option<usize>,
        end: Option<usize>,
    ) -> Result<Selector, SelectorError> {
        Selector::parse(exact.map(Into::into), None, suffix.map(Into::into), start, end)
    }

    #[test]
    fn positions_count_code_points() {
        let passage = resolve(TEXT, &exact("«Ende»")).unwrap();
        assert_eq!((passage.start, passage.end), (7, 13));
        let by_position = resolve(TEXT, &selector(None, None, Some(7), Some(13)).unwrap()).unwrap();
        assert_eq!(by_position.exact, "«Ende»");
    }

    #[test]
    fn selectors_must_agree_with_the_text() {
        assert!(matches!(resolve(TEXT, &exact("absent")), Err(SelectorError::NotInText(_))));
        assert!(matches!(
            resolve(TEXT, &exact("Hamas has been dismantled")),
            Err(SelectorError::Ambiguous { count: 2, .. })
        ));
        let disambiguated =
            selector(Some("Hamas has been dismantled"), Some(". Hamas"), None, None).unwrap();
        assert_eq!(resolve(TEXT, &disambiguated).unwrap().start, 44);
        let out_of_range = selector(None, None, Some(5), Some(500)).unwrap();
        assert!(matches!(resolve(TEXT, &out_of_range), Err(SelectorError::OutOfRange { .. })));
        let mismatch = selector(Some("Other"), None, Some(0), Some(5)).unwrap();
        assert!(matches!(resolve(TEXT, &mismatch), Err(SelectorError::Mismatch { .. })));
    }

    #[test]
    fn selectors_are_well_formed_before_any_text_is_read() {
        assert!(matches!(selector(None, None, None, None), Err(SelectorError::Empty)));
        assert!(matches!(selector(Some(""), None, None, None), Err(SelectorError::Empty)));
        assert!(matches!(selector(None, None, Some(1), None), Err(SelectorError::HalfPosition)));
        assert!(matches!(
            selector(None, None, Some(9), Some(3)),
            Err(SelectorError::Reversed { .. })
        ));
        assert!(matches!(
            selector(Some("a\0"), None, None, None),
            Err(SelectorError::Nul("exact"))
        ));
    }

    #[test]
    fn passages_follow_edits_but_never_to_a_look_alike() {
        let old = "Intro.\nThe officials argue that the war has crossed the point of diminishing returns.\nEnd.\n";
        let passage = resolve(old, &exact("the war has crossed the point")).unwrap();
        let moved = "New first paragraph.\nIntro.\nThe officials argue that the war has crossed the point of diminishing returns.\nEnd.\n";
        let followed = reanchor(moved, &passage).unwrap();
        assert_eq!(followed.exact, passage.exact);
        assert_eq!(followed.start, passage.start + 21);
        let reworded = old.replace("has crossed the point", "has passed the point");
        assert_eq!(reanchor(&reworded, &passage), None);
    }

    #[test]
    fn quotes_are_verified_altered_or_not_found() {
        let cited = "The letter says: Hamas has been dismantled as a military and governmental force. Further operations only risk lives.";
        let quote = "Hamas has been dismantled as a military and governmental force.";
        let verified = verify(quote, cited, None);
        assert_eq!(verified.status, VerificationStatus::Verified);
        assert_eq!(verified.found.unwrap().start, 17);
        let elsewhere = verify(quote, cited, Some((0, 5)));
        assert_eq!(elsewhere.status, VerificationStatus::Verified);
        assert_eq!(elsewhere.at_given_position, Some(false));

        let altered =
            verify("Hamas has been destroyed as a military and governmental force.", cited, None);
        assert_eq!(altered.status, VerificationStatus::Altered);
        assert_eq!(altered.found.as_ref().unwrap().exact, quote);
        assert!(
            altered.similarity.unwrap() >= ALTERED_THRESHOLD && altered.similarity.unwrap() < 1.0
        );
        assert!(
            altered.diff.unwrap().hunks[0].changes.iter().any(|c| c.text.contains("destroyed"))
        );

        let missing = verify("Nothing of the sort was ever written anywhere here.", cited, None);
        assert_eq!(missing.status, VerificationStatus::NotFound);
    }
}
