//! Passages of text as W3C Web Annotation selectors, and the checks made with them: resolving
//! a selector against a text, following a passage into a revised text, and verifying that a
//! quotation is really in the text it cites. Pure computation; no database.
//!
//! Positions (TextPositionSelector `start`/`end`) count Unicode code points (Rust `char`s),
//! as the W3C model does, not bytes or UTF-16 units; `end` is exclusive.

mod quote;

pub use quote::{QuoteCheck, VerificationStatus, check_quote};

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
pub(crate) struct Chars<'a> {
    text: &'a str,
    /// Byte offset of every code point, plus the text's length.
    offsets: Vec<usize>,
}

impl<'a> Chars<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        let mut offsets: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
        offsets.push(text.len());
        Chars { text, offsets }
    }

    pub(crate) fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    pub(crate) fn slice(&self, start: usize, end: usize) -> &'a str {
        &self.text[self.offsets[start]..self.offsets[end]]
    }

    pub(crate) fn char_at_byte(&self, byte: usize) -> usize {
        self.offsets.partition_point(|&o| o < byte)
    }

    pub(crate) fn passage(&self, start: usize, end: usize) -> Passage {
        Passage {
            exact: self.slice(start, end).to_owned(),
            prefix: self.slice(start.saturating_sub(CONTEXT_CHARS), start).to_owned(),
            suffix: self.slice(end, (end + CONTEXT_CHARS).min(self.len())).to_owned(),
            start,
            end,
        }
    }

    /// Start positions (in code points) of every occurrence of `needle`.
    pub(crate) fn occurrences(&self, needle: &str) -> Vec<usize> {
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
        let verified = check_quote(quote, cited, None);
        assert_eq!(verified.status, VerificationStatus::Verified);
        assert_eq!(verified.found.unwrap().start, 17);
        let elsewhere = check_quote(quote, cited, Some((0, 5)));
        assert_eq!(elsewhere.status, VerificationStatus::Verified);
        assert_eq!(elsewhere.at_given_position, Some(false));

        let altered = check_quote(
            "Hamas has been destroyed as a military and governmental force.",
            cited,
            None,
        );
        assert_eq!(altered.status, VerificationStatus::Altered);
        assert_eq!(altered.found.as_ref().unwrap().exact, quote);
        assert!(
            altered.similarity.unwrap() >= ALTERED_THRESHOLD && altered.similarity.unwrap() < 1.0
        );
        assert!(
            altered.diff.unwrap().hunks[0].changes.iter().any(|c| c.text.contains("destroyed"))
        );

        let missing =
            check_quote("Nothing of the sort was ever written anywhere here.", cited, None);
        assert_eq!(missing.status, VerificationStatus::NotFound);
    }
}
