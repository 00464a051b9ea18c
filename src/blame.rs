//! Blame: for each line of a revision, the revision that introduced it, computed by walking
//! the history from the first revision and diffing each revision against its parent.
//! A line keeps its origin while it is unchanged; a line that is inserted, rewritten or moved
//! is attributed to the revision that did so (as `git blame` does without `-M`), and a line
//! brought back by a revert is attributed to the revert. Exact by construction: a blame that
//! runs out of time is abandoned, never finished with coarser diffs that would misattribute
//! lines.

use std::time::Instant;

use similar::{Algorithm, DiffTag, TextDiffConfig};

/// The origin of every line of the last text in `history` (oldest first), as an index into
/// `history`. Lines are split after each `\n`, as in a unified diff.
pub fn line_origins(history: &[&str]) -> Vec<usize> {
    line_origins_until(history, None).unwrap_or_default()
}

/// `line_origins`, or `None` if `deadline` passes first.
pub fn line_origins_until(history: &[&str], deadline: Option<Instant>) -> Option<Vec<usize>> {
    let Some(first) = history.first() else { return Some(Vec::new()) };
    let mut origins = vec![0; first.split_inclusive('\n').count()];
    for (index, pair) in history.windows(2).enumerate() {
        let mut config = TextDiffConfig::default();
        config.algorithm(Algorithm::Patience);
        if let Some(deadline) = deadline {
            config.deadline(deadline);
        }
        let diff = config.diff_lines(pair[0], pair[1]);
        if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            return None;
        }
        let mut next = Vec::with_capacity(diff.new_len());
        for op in diff.ops() {
            let (tag, old_range, new_range) = op.as_tag_tuple();
            match tag {
                DiffTag::Equal => next.extend_from_slice(&origins[old_range]),
                DiffTag::Delete => {}
                DiffTag::Insert | DiffTag::Replace => {
                    next.extend(std::iter::repeat_n(index + 1, new_range.len()))
                }
            }
        }
        origins = next;
    }
    Some(origins)
}

#[cfg(test)]
mod tests {
    use super::line_origins;

    #[test]
    fn lines_keep_the_revision_that_introduced_them() {
        let history = ["a\nb\nc\n", "a\nB\nc\n", "a\nB\nc\nd\n", "zero\na\nB\nc\nd\n"];
        assert_eq!(line_origins(&history), [3, 0, 1, 0, 2]);
    }

    #[test]
    fn reverts_and_moves_are_attributed_to_the_revision_that_made_them() {
        let revert = ["one\ntwo\n", "one\nTWO\n", "one\ntwo\n"];
        assert_eq!(line_origins(&revert), [0, 2]);
        let moved = ["first\nsecond\nthird\n", "second\nthird\nfirst\n"];
        assert_eq!(line_origins(&moved), [0, 0, 1]);
    }

    #[test]
    fn empty_texts_and_a_missing_final_newline() {
        assert!(line_origins(&[]).is_empty());
        assert!(line_origins(&["", ""]).is_empty());
        assert_eq!(line_origins(&["", "x"]), [1]);
        assert_eq!(line_origins(&["x", "x\ny"]), [1, 1]);
    }
}
