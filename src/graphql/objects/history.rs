//! Diff and blame types: what changed between two revisions, and who wrote each line.

use async_graphql::{Context, Enum, Object, SimpleObject};

use crate::graphql::error::{ApiError, ApiResult};
use crate::graphql::loaders::load_required;
use crate::graphql::nodes::RevisionNode;
use crate::store::{self, RevisionHash};
use crate::textdiff::{self, ChangeOp, ContextLines, Granularity};

/// The unit a diff compares and counts. Hunks are always found line by line; WORD and CHAR
/// refine the changes inside each hunk.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[graphql(remote = "Granularity")]
pub enum DiffGranularity {
    #[default]
    Line,
    Word,
    Char,
}

/// Whether a run of text is kept, inserted or deleted.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiffOp {
    Equal,
    Insert,
    Delete,
}

/// A run of text with what happened to it.
#[derive(SimpleObject)]
pub struct DiffChange {
    pub op: DiffOp,
    pub text: String,
}

impl From<&textdiff::Change> for DiffChange {
    fn from(change: &textdiff::Change) -> Self {
        DiffChange {
            op: match change.op {
                ChangeOp::Equal => DiffOp::Equal,
                ChangeOp::Insert => DiffOp::Insert,
                ChangeOp::Delete => DiffOp::Delete,
            },
            text: change.text.clone(),
        }
    }
}

/// A region of change with its context. Line numbers are 1-based; an empty side starts at the
/// line before it, as in a unified diff.
#[derive(SimpleObject)]
pub struct DiffHunk {
    pub old_start: u64,
    pub old_length: u64,
    pub new_start: u64,
    pub new_length: u64,
    /// The hunk's text in order; EQUAL and DELETE runs rebuild the old side, EQUAL and INSERT
    /// runs the new side.
    pub changes: Vec<DiffChange>,
}

/// Counts in units of the diff's granularity.
#[derive(SimpleObject)]
pub struct DiffStats {
    pub insertions: u64,
    pub deletions: u64,
    /// The share of units kept, over both sides: 1 for identical texts, 0 for disjoint ones.
    pub similarity: f64,
}

/// The difference between two revisions (possibly of different documents).
pub struct Diff(pub store::RevisionDiff);

#[Object]
impl Diff {
    async fn granularity(&self) -> DiffGranularity {
        self.0.result.granularity.into()
    }

    /// The old side; null when diffing a first revision against the empty text.
    async fn from(&self) -> Option<RevisionNode> {
        self.0.from.clone().map(RevisionNode::new)
    }

    async fn to(&self) -> RevisionNode {
        RevisionNode::new(self.0.to.clone())
    }

    async fn stats(&self) -> DiffStats {
        let stats = self.0.result.stats;
        DiffStats {
            insertions: stats.insertions as u64,
            deletions: stats.deletions as u64,
            similarity: stats.similarity,
        }
    }

    async fn hunks(&self) -> Vec<DiffHunk> {
        self.0
            .result
            .hunks
            .iter()
            .map(|h| DiffHunk {
                old_start: h.old_start as u64,
                old_length: h.old_lines as u64,
                new_start: h.new_start as u64,
                new_length: h.new_lines as u64,
                changes: h.changes.iter().map(DiffChange::from).collect(),
            })
            .collect()
    }

    /// A unified diff (line-based, whatever the granularity) that GNU `patch` and `git apply`
    /// accept and that turns the old text into the new one byte for byte. Empty when the
    /// texts are identical.
    async fn unified(&self) -> &str {
        &self.0.result.unified
    }

    /// True when the time budget (2 s) ran out: the diff is still correct, but coarser than
    /// asked (some hunks may show whole lines, or be larger than needed).
    async fn fell_back(&self) -> bool {
        self.0.result.fell_back
    }
}

/// A line of a blamed revision.
pub struct BlameLine(pub store::BlameLine);

#[Object]
impl BlameLine {
    /// 1-based line number.
    async fn number(&self) -> u64 {
        self.0.number as u64
    }

    /// The line, with its line break if it has one.
    async fn text(&self) -> &str {
        &self.0.text
    }

    /// The revision that introduced this line.
    async fn revision(&self, ctx: &Context<'_>) -> ApiResult<RevisionNode> {
        Ok(RevisionNode(load_required(ctx, self.0.revision.clone()).await?))
    }
}

/// Consecutive lines introduced by the same revision.
pub struct BlameRange {
    start: usize,
    end: usize,
    revision: RevisionHash,
}

#[Object]
impl BlameRange {
    async fn start_line(&self) -> u64 {
        self.start as u64
    }

    async fn end_line(&self) -> u64 {
        self.end as u64
    }

    async fn revision(&self, ctx: &Context<'_>) -> ApiResult<RevisionNode> {
        Ok(RevisionNode(load_required(ctx, self.revision.clone()).await?))
    }
}

/// Who introduced each line of a revision, computed from the history.
pub struct Blame(pub Vec<store::BlameLine>);

#[Object]
impl Blame {
    async fn lines(&self) -> Vec<BlameLine> {
        self.0.iter().cloned().map(BlameLine).collect()
    }

    /// The lines grouped into runs introduced by one revision.
    async fn ranges(&self) -> Vec<BlameRange> {
        let mut ranges: Vec<BlameRange> = Vec::new();
        for line in &self.0 {
            match ranges.last_mut() {
                Some(range) if range.revision == line.revision => range.end = line.number,
                _ => ranges.push(BlameRange {
                    start: line.number,
                    end: line.number,
                    revision: line.revision.clone(),
                }),
            }
        }
        ranges
    }
}

/// Parses a diff's `context` argument (3 when null).
pub fn context_lines(context: Option<i32>) -> ApiResult<ContextLines> {
    match context {
        None => Ok(ContextLines::DEFAULT),
        Some(lines) => ContextLines::new(i64::from(lines))
            .map_err(|e| ApiError::bad_input(format!("context: {e}"))),
    }
}
