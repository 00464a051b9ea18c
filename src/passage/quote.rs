//! Quotation checks: is a quote in the text it cites, word for word (VERIFIED), as a close
//! passage (ALTERED, with the word diff), or not at all? Pure computation; no database.

use similar::TextDiff;

use super::{ALTERED_THRESHOLD, Chars, Passage};
use crate::textdiff::{self, DiffOptions, Granularity};

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
pub struct QuoteCheck {
    pub status: VerificationStatus,
    pub reason: String,
    /// Where the words (or the close passage) are in the cited text.
    pub found: Option<Passage>,
    /// Whether they are at the position the citation gives; `None` if it gives none.
    pub at_given_position: Option<bool>,
    /// Word similarity of the quote and the passage found (1 when verified).
    pub similarity: Option<f64>,
    /// For an altered quote: a word diff from the quote to the passage found.
    pub diff: Option<textdiff::TextDiffResult>,
}

impl QuoteCheck {
    pub fn unverifiable(reason: impl Into<String>) -> Self {
        QuoteCheck {
            status: VerificationStatus::Unverifiable,
            reason: reason.into(),
            found: None,
            at_given_position: None,
            similarity: None,
            diff: None,
        }
    }

    /// The citation quotes nothing to look for.
    pub fn no_passage() -> Self {
        Self::unverifiable("the citation names no passage to check")
    }

    /// The text to look in was redacted.
    pub fn redacted() -> Self {
        Self::unverifiable("the cited revision's text was redacted")
    }

    /// What is cited has no text in the corpus (a source outside it).
    pub fn no_text() -> Self {
        Self::unverifiable("the cited source has no text in the corpus")
    }

    /// The verdict alone, for a reader who may not read the cited text: where the words are,
    /// how close they came and what differs would all be read from it.
    pub fn withheld(self) -> Self {
        QuoteCheck {
            status: self.status,
            reason: "the cited document is not public: its verdict is shown, not its text".into(),
            found: None,
            at_given_position: None,
            similarity: None,
            diff: None,
        }
    }
}

/// Checks that `quote` is in `cited`, at `given` (a code-point range) if there is one.
pub fn check_quote(quote: &str, cited: &str, given: Option<(usize, usize)>) -> QuoteCheck {
    let chars = Chars::new(cited);
    let length = quote.chars().count();
    if let Some((start, end)) = given
        && end <= chars.len()
        && start <= end
        && chars.slice(start, end) == quote
    {
        return QuoteCheck {
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
        return QuoteCheck {
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
            QuoteCheck {
                status: VerificationStatus::Altered,
                reason: "a close passage is in the cited text, but not the exact words".into(),
                diff: Some(textdiff::diff(quote, &found.exact, &options)),
                at_given_position: given.map(|g| g == (start, end)),
                found: Some(found),
                similarity: Some(similarity),
            }
        }
        _ => QuoteCheck {
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
