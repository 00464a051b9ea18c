//! Computations over stored texts: diffs between any two revisions, and blame over a history.
//! Each pays for the texts it reads from the caller's budget before reading them, and runs on
//! the store's bounded compute pool, never on the threads that serve requests.

use std::collections::HashMap;

use super::access::Viewer;
use super::error::{StoreError, StoreResult};
use super::history::MAX_HISTORY;
use super::revisions::Revision;
use super::values::{ContentHash, DocumentId, InvalidValue, RevisionHash};
use super::{Missing, Store};
use crate::budget::Budget;
use crate::textdiff::{self, ContextLines, DiffOptions, Granularity, TextDiffResult};

/// A diff between two revisions; `from` is `None` when diffing a first revision against the
/// empty text.
#[derive(Debug, Clone)]
pub struct RevisionDiff {
    pub from: Option<Revision>,
    pub to: Revision,
    pub result: TextDiffResult,
}

/// One line of a blamed revision and the revision that introduced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlameLine {
    /// 1-based.
    pub number: usize,
    pub text: String,
    pub revision: RevisionHash,
}

impl Store {
    /// Diffs `from` (or the empty text) against `to`. The two may belong to different
    /// documents, e.g. a quotation against its source.
    /// The texts are paid for from `budget` by their size before they are read.
    #[tracing::instrument(skip(self, viewer, budget))]
    pub async fn diff_revisions(
        &self,
        viewer: &Viewer,
        from: Option<&RevisionHash>,
        to: &RevisionHash,
        granularity: Granularity,
        context: ContextLines,
        budget: &Budget,
    ) -> StoreResult<RevisionDiff> {
        let wanted: Vec<RevisionHash> = from.into_iter().chain([to]).cloned().collect();
        let mut found: HashMap<RevisionHash, Revision> = self
            .revisions_by_hashes(viewer, &wanted)
            .await?
            .into_iter()
            .map(|r| (r.hash.clone(), r))
            .collect();
        let take = |found: &mut HashMap<RevisionHash, Revision>, hash: &RevisionHash| {
            found
                .get(hash)
                .cloned()
                .ok_or_else(|| StoreError::NotFound(Missing::Revision(hash.clone())))
        };
        let from = from.map(|hash| take(&mut found, hash)).transpose()?;
        let to = take(&mut found, to)?;
        if let Some(redacted) = from.iter().chain([&to]).find(|r| r.redacted) {
            return Err(StoreError::Redacted(redacted.hash.clone()));
        }
        // Finer granularities compare more, and smaller, units: a word diff costs about twice
        // a line diff of the same texts, a character diff four times.
        let bytes = from.as_ref().map_or(0, |f| f.content_bytes) + to.content_bytes;
        let weight = match granularity {
            Granularity::Line => 1,
            Granularity::Word => 2,
            Granularity::Char => 4,
        };
        budget
            .draw_bytes(bytes.saturating_mul(weight))
            .map_err(|cause| StoreError::OverBudget { what: "diff", cause })?;

        let content_keys: Vec<ContentHash> =
            from.iter().chain([&to]).map(|r| r.content_hash.clone()).collect();
        let contents: HashMap<ContentHash, String> =
            self.contents_by_hashes(&content_keys).await?.into_iter().collect();
        let text_of = |r: &Revision| {
            contents.get(&r.content_hash).cloned().ok_or_else(|| {
                StoreError::Unexpected(anyhow::anyhow!("content {} is missing", r.content_hash))
            })
        };
        let old_text = from.as_ref().map(text_of).transpose()?.unwrap_or_default();
        let new_text = text_of(&to)?;

        let documents = self
            .documents_by_ids(&[
                from.as_ref().map_or(to.document_id, |f| f.document_id),
                to.document_id,
            ])
            .await?;
        let slug_of = |id: DocumentId| {
            documents
                .iter()
                .find(|d| d.id == id)
                .map_or_else(|| id.to_string(), |d| d.slug.to_string())
        };
        // The request's heavy work shares one time limit: this diff gets what is left of it
        // when it starts, and falls back to a coarser result (saying so) when that runs out.
        let deadline = budget.compute_deadline(self.limits.blame_time);
        let mut options = DiffOptions {
            granularity,
            context: context.get(),
            budget: DiffOptions::DEFAULT_BUDGET,
            old_label: format!(
                "a/{}",
                slug_of(from.as_ref().map_or(to.document_id, |f| f.document_id))
            ),
            new_label: format!("b/{}", slug_of(to.document_id)),
        };
        let result = self
            .compute
            .run(move || {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                options.budget = options.budget.min(left);
                textdiff::diff(&old_text, &new_text, &options)
            })
            .await?;
        Ok(RevisionDiff { from, to, result })
    }

    /// For each line of `hash`, the revision that introduced it. The history is paid for from
    /// `budget` before any text is read: a point per revision and per KiB of every text; the
    /// computation is stopped past the store's blame time limit, which all the heavy work of
    /// one request (its diffs and blames) shares.
    #[tracing::instrument(skip(self, budget))]
    pub async fn blame(&self, hash: &RevisionHash, budget: &Budget) -> StoreResult<Vec<BlameLine>> {
        let target = self
            .revision(hash)
            .await?
            .ok_or_else(|| StoreError::NotFound(Missing::Revision(hash.clone())))?;
        if target.number > MAX_HISTORY {
            return Err(InvalidValue::new(
                "blame",
                format!("histories longer than {MAX_HISTORY} revisions are not blamed"),
            )
            .into());
        }
        let history = self.history_entries(target.document_id, target.number).await?;
        let chained = history.len() as i64 == target.number
            && history.windows(2).all(|w| w[1].parent.as_ref() == Some(&w[0].hash));
        if !chained {
            return Err(StoreError::Unexpected(anyhow::anyhow!(
                "the history of document {} is not a single chain",
                target.document_id
            )));
        }
        if let Some(redacted) = history.iter().find(|r| r.redacted) {
            return Err(StoreError::Redacted(redacted.hash.clone()));
        }
        let bytes: u64 = history.iter().map(|r| r.content_bytes).sum();
        let points = history.len() as u64 + crate::budget::points_for_bytes(bytes);
        budget.draw(points).map_err(|cause| StoreError::OverBudget { what: "blame", cause })?;
        let mut keys: Vec<ContentHash> = history.iter().map(|r| r.content_hash.clone()).collect();
        keys.sort();
        keys.dedup();
        let contents: HashMap<ContentHash, String> =
            self.contents_by_hashes(&keys).await?.into_iter().collect();
        if contents.len() != keys.len() {
            return Err(StoreError::Unexpected(anyhow::anyhow!("a content blob is missing")));
        }
        let time_limit = self.limits.blame_time;
        let deadline = budget.compute_deadline(time_limit);
        self.compute
            .run(move || {
                let texts: Vec<&str> =
                    history.iter().map(|r| contents[&r.content_hash].as_str()).collect();
                let origins = crate::blame::line_origins_until(&texts, Some(deadline))
                    .ok_or(StoreError::TimedOut { what: "blame", limit: time_limit })?;
                let last = texts.last().copied().unwrap_or_default();
                Ok(last
                    .split_inclusive('\n')
                    .zip(origins)
                    .enumerate()
                    .map(|(i, (text, origin))| BlameLine {
                        number: i + 1,
                        text: text.to_owned(),
                        revision: history[origin].hash.clone(),
                    })
                    .collect())
            })
            .await?
    }
}
