//! Diffs between two texts over the `similar` crate. Pure computation: no database, no
//! GraphQL. Hunks are always found line by line (prose is stored one paragraph per line);
//! inside each hunk the changes are then refined to the granularity asked for, so a word
//! diff shows the changed words inside a changed paragraph while costing only as much as
//! the changed paragraphs. The unified diff is always line-based: it is what `patch` and
//! `git apply` read, and it turns the old text into the new one byte for byte.
//!
//! Every diff runs under a time budget (similar's deadline). When it runs out, the result is
//! still correct (applying it gives the new text) but coarser than asked: `fell_back` says so.

use std::time::{Duration, Instant};

use similar::{Algorithm, ChangeTag, DiffOp, DiffTag, TextDiff, TextDiffConfig};

/// The unit a diff compares and counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Granularity {
    #[default]
    Line,
    Word,
    Char,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeOp {
    Equal,
    Insert,
    Delete,
}

/// A run of text that is kept, inserted or deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub op: ChangeOp,
    pub text: String,
}

/// A region of change with its surrounding context. Line numbers are 1-based as in a
/// unified diff; an empty side starts at the line before it (0 for the start of a text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hunk {
    pub old_start: usize,
    pub old_lines: usize,
    pub new_start: usize,
    pub new_lines: usize,
    pub changes: Vec<Change>,
}

/// Counts in units of the diff's granularity (lines, words or characters).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats {
    pub insertions: usize,
    pub deletions: usize,
    /// Units kept, over all units on both sides: 1 for identical texts, 0 for disjoint ones.
    pub similarity: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TextDiffResult {
    pub granularity: Granularity,
    pub stats: Stats,
    pub hunks: Vec<Hunk>,
    pub unified: String,
    /// The time budget ran out: the result is correct but coarser than asked.
    pub fell_back: bool,
}

/// How many unchanged lines are shown around each change: 0 to `DiffOptions::MAX_CONTEXT`,
/// checked when it is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContextLines(usize);

/// A context size out of range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be between 0 and {max}, not {given}")]
pub struct ContextOutOfRange {
    pub given: i64,
    pub max: usize,
}

impl ContextLines {
    pub const DEFAULT: ContextLines = ContextLines(DiffOptions::DEFAULT_CONTEXT);

    pub fn new(lines: i64) -> Result<Self, ContextOutOfRange> {
        match usize::try_from(lines) {
            Ok(lines) if lines <= DiffOptions::MAX_CONTEXT => Ok(ContextLines(lines)),
            _ => Err(ContextOutOfRange { given: lines, max: DiffOptions::MAX_CONTEXT }),
        }
    }

    pub fn get(self) -> usize {
        self.0
    }
}

#[derive(Debug, Clone)]
pub struct DiffOptions {
    pub granularity: Granularity,
    /// Unchanged lines shown around each change.
    pub context: usize,
    pub budget: Duration,
    /// Names for the `---` and `+++` lines of the unified diff.
    pub old_label: String,
    pub new_label: String,
}

impl DiffOptions {
    pub const MAX_CONTEXT: usize = 1000;
    pub const DEFAULT_CONTEXT: usize = 3;
    pub const DEFAULT_BUDGET: Duration = Duration::from_secs(2);
}

impl Default for DiffOptions {
    fn default() -> Self {
        Self {
            granularity: Granularity::Line,
            context: Self::DEFAULT_CONTEXT,
            budget: Self::DEFAULT_BUDGET,
            old_label: "a".into(),
            new_label: "b".into(),
        }
    }
}

pub fn diff(old: &str, new: &str, options: &DiffOptions) -> TextDiffResult {
    let deadline = Instant::now() + options.budget;
    let lines = config(deadline).diff_lines(old, new);
    let mut fell_back = Instant::now() >= deadline;

    let unified = if old == new {
        String::new()
    } else {
        lines
            .unified_diff()
            .context_radius(options.context)
            .missing_newline_hint(true)
            .header(&options.old_label, &options.new_label)
            .to_string()
    };

    let mut hunks = Vec::new();
    for group in lines.grouped_ops(options.context) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else { continue };
        let old_range = first.old_range().start..last.old_range().end;
        let new_range = first.new_range().start..last.new_range().end;
        let mut changes = Vec::new();
        for op in &group {
            match (options.granularity, op.tag()) {
                (Granularity::Line, _) | (_, DiffTag::Equal) => {
                    line_changes(&lines, op, &mut changes)
                }
                (granularity, _) if Instant::now() < deadline => {
                    let old_text: String =
                        op.old_range().filter_map(|i| lines.old_slice(i)).collect();
                    let new_text: String =
                        op.new_range().filter_map(|i| lines.new_slice(i)).collect();
                    let inline = match granularity {
                        Granularity::Char => config(deadline).diff_chars(&old_text, &new_text),
                        _ => config(deadline).diff_words(&old_text, &new_text),
                    };
                    let mut refined = Vec::new();
                    for change in inline.iter_all_changes() {
                        push(&mut refined, op_of(change.tag()), change.value());
                    }
                    if granularity == Granularity::Word {
                        refined = absorb_lone_whitespace(refined);
                    }
                    for change in refined {
                        push(&mut changes, change.op, &change.text);
                    }
                }
                _ => {
                    fell_back = true;
                    line_changes(&lines, op, &mut changes);
                }
            }
        }
        hunks.push(Hunk {
            old_start: start_of(&old_range),
            old_lines: old_range.len(),
            new_start: start_of(&new_range),
            new_lines: new_range.len(),
            changes,
        });
    }
    fell_back |= Instant::now() >= deadline;

    let stats = stats(old, new, options.granularity, &hunks);
    TextDiffResult { granularity: options.granularity, stats, hunks, unified, fell_back }
}

impl TextDiffResult {
    /// The hunks as text with changes marked inline, like `git diff --word-diff=plain`:
    /// `[-deleted-]` and `{+inserted+}`. For reading in a terminal, not for `patch`.
    pub fn inline_text(&self) -> String {
        let mut out = String::new();
        for hunk in &self.hunks {
            out.push_str(&format!(
                "@@ -{},{} +{},{} @@\n",
                hunk.old_start, hunk.old_lines, hunk.new_start, hunk.new_lines
            ));
            for change in &hunk.changes {
                match change.op {
                    ChangeOp::Equal => out.push_str(&change.text),
                    ChangeOp::Delete => out.push_str(&format!("[-{}-]", change.text)),
                    ChangeOp::Insert => out.push_str(&format!("{{+{}+}}", change.text)),
                }
            }
            if !out.ends_with('\n') {
                out.push('\n');
            }
        }
        out
    }
}

fn config(deadline: Instant) -> TextDiffConfig {
    let mut config = TextDiffConfig::default();
    config.algorithm(Algorithm::Patience).deadline(deadline);
    config
}

fn start_of(range: &std::ops::Range<usize>) -> usize {
    if range.is_empty() { range.start } else { range.start + 1 }
}

fn op_of(tag: ChangeTag) -> ChangeOp {
    match tag {
        ChangeTag::Equal => ChangeOp::Equal,
        ChangeTag::Insert => ChangeOp::Insert,
        ChangeTag::Delete => ChangeOp::Delete,
    }
}

fn line_changes(lines: &TextDiff<'_, '_, str>, op: &DiffOp, changes: &mut Vec<Change>) {
    for change in lines.iter_changes(op) {
        changes.push(Change { op: op_of(change.tag()), text: change.value().to_owned() });
    }
}

/// Appends `text`, merging it into the previous change when the operation is the same.
fn push(changes: &mut Vec<Change>, op: ChangeOp, text: &str) {
    match changes.last_mut() {
        Some(last) if last.op == op => last.text.push_str(text),
        _ => changes.push(Change { op, text: text.to_owned() }),
    }
}

/// Word diffs match the spaces between changed words, which reads as "in" → "last", " ",
/// "recent days" → "week". A space kept only between two changes is folded into them, so the
/// reader sees "in recent days" → "last week".
fn absorb_lone_whitespace(changes: Vec<Change>) -> Vec<Change> {
    let mut out = Vec::with_capacity(changes.len());
    let mut i = 0;
    while i < changes.len() {
        if changes[i].op == ChangeOp::Equal {
            out.push(changes[i].clone());
            i += 1;
            continue;
        }
        let (mut deleted, mut inserted) = (String::new(), String::new());
        while i < changes.len() {
            let change = &changes[i];
            match change.op {
                ChangeOp::Delete => deleted.push_str(&change.text),
                ChangeOp::Insert => inserted.push_str(&change.text),
                ChangeOp::Equal => {
                    let between_changes = change.text.trim().is_empty()
                        && changes.get(i + 1).is_some_and(|next| next.op != ChangeOp::Equal);
                    if !between_changes {
                        break;
                    }
                    deleted.push_str(&change.text);
                    inserted.push_str(&change.text);
                }
            }
            i += 1;
        }
        if !deleted.is_empty() {
            out.push(Change { op: ChangeOp::Delete, text: deleted });
        }
        if !inserted.is_empty() {
            out.push(Change { op: ChangeOp::Insert, text: inserted });
        }
    }
    out
}

fn units(text: &str, granularity: Granularity) -> usize {
    match granularity {
        Granularity::Line => text.split_inclusive('\n').count(),
        Granularity::Word => text.split_whitespace().count(),
        Granularity::Char => text.chars().count(),
    }
}

fn stats(old: &str, new: &str, granularity: Granularity, hunks: &[Hunk]) -> Stats {
    let (mut insertions, mut deletions) = (0, 0);
    for change in hunks.iter().flat_map(|h| &h.changes) {
        match change.op {
            ChangeOp::Insert => insertions += units(&change.text, granularity),
            ChangeOp::Delete => deletions += units(&change.text, granularity),
            ChangeOp::Equal => {}
        }
    }
    let (old_units, new_units) = (units(old, granularity), units(new, granularity));
    let total = old_units + new_units;
    let kept = (old_units - deletions.min(old_units)) + (new_units - insertions.min(new_units));
    let similarity = if total == 0 { 1.0 } else { kept as f64 / total as f64 };
    Stats { insertions, deletions, similarity }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(old: &str, new: &str, granularity: Granularity) -> TextDiffResult {
        diff(old, new, &DiffOptions { granularity, ..DiffOptions::default() })
    }

    fn rebuilt(hunks: &[Hunk], keep: ChangeOp) -> String {
        hunks
            .iter()
            .flat_map(|h| &h.changes)
            .filter(|c| c.op == ChangeOp::Equal || c.op == keep)
            .map(|c| c.text.as_str())
            .collect()
    }

    #[test]
    fn word_diffs_show_the_changed_words_inside_a_paragraph() {
        let old = "Headline\nThe letter was sent in recent days by officials.\nEnd\n";
        let new = "Headline\nThe letter was sent last week by officials.\nEnd\n";
        let result = run(old, new, Granularity::Word);
        assert_eq!(result.hunks.len(), 1);
        let changes = &result.hunks[0].changes;
        assert!(changes.contains(&Change { op: ChangeOp::Delete, text: "in recent days".into() }));
        assert!(changes.contains(&Change { op: ChangeOp::Insert, text: "last week".into() }));
        assert_eq!(result.stats.insertions, 2);
        assert_eq!(result.stats.deletions, 3);
        assert!(result.stats.similarity > 0.7 && result.stats.similarity < 1.0);
        assert!(!result.fell_back);
    }

    #[test]
    fn hunks_hold_both_texts_at_every_granularity() {
        let old = "α βγ\nsame\nline three\n";
        let new = "α βδ\nsame\nline 3\nextra";
        for granularity in [Granularity::Line, Granularity::Word, Granularity::Char] {
            let result = run(old, new, granularity);
            assert_eq!(rebuilt(&result.hunks, ChangeOp::Delete), old, "{granularity:?}");
            assert_eq!(rebuilt(&result.hunks, ChangeOp::Insert), new, "{granularity:?}");
        }
        let chars = run(old, new, Granularity::Char);
        assert!(
            chars.hunks[0].changes.contains(&Change { op: ChangeOp::Delete, text: "γ".into() })
        );
    }

    #[test]
    fn identical_and_empty_texts() {
        let same = run("a\nb\n", "a\nb\n", Granularity::Word);
        assert!(same.hunks.is_empty());
        assert_eq!(same.unified, "");
        assert_eq!(same.stats.similarity, 1.0);
        let empty = run("", "", Granularity::Char);
        assert_eq!(empty.stats.similarity, 1.0);
        let from_nothing = run("", "new text\n", Granularity::Line);
        assert_eq!(from_nothing.stats.insertions, 1);
        assert_eq!(from_nothing.stats.similarity, 0.0);
        assert_eq!(from_nothing.hunks[0].old_start, 0);
        assert_eq!(from_nothing.hunks[0].new_start, 1);
    }

    #[test]
    fn a_spent_budget_falls_back_and_says_so() {
        let old: String = (0..2000).map(|i| format!("word{i} ")).collect();
        let new: String = (0..2000).map(|i| format!("word{} ", i * 7 % 2000)).collect();
        let options = DiffOptions {
            granularity: Granularity::Word,
            budget: Duration::ZERO,
            ..DiffOptions::default()
        };
        let result = diff(&old, &new, &options);
        assert!(result.fell_back);
        assert_eq!(rebuilt(&result.hunks, ChangeOp::Insert), new);
    }
}
