//! Reading across a document's history: diffs between any two revisions, blame, and the
//! compact index of revisions that Memento TimeMaps and navigation need. The CPU-bound work
//! (diffing, blame) runs on the blocking pool so it never stalls request handling.

use std::collections::HashMap;

use sea_orm::{
    ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::page::{Direction, Page, PageRequest};
use super::types::*;
use super::{Revision, Source, Store, StoreError, StoreResult};
use crate::budget::Budget;
use crate::diff::{self, DiffOptions, Granularity, TextDiffResult};
use crate::entity::revision;

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

/// The least a history listing needs about a revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevisionStamp {
    pub hash: RevisionHash,
    pub number: i64,
    pub created_at: Timestamp,
}

/// The longest history `blame` walks.
pub const MAX_BLAME_REVISIONS: i64 = 10_000;

impl Store {
    /// Diffs `from` (or the empty text) against `to`. The two may belong to different
    /// documents, e.g. a quotation against its source.
    /// The texts are paid for from `budget` by their size before they are read.
    #[tracing::instrument(skip(self, budget))]
    pub async fn diff_revisions(
        &self,
        from: Option<&RevisionHash>,
        to: &RevisionHash,
        granularity: Granularity,
        context: usize,
        budget: &Budget,
    ) -> StoreResult<RevisionDiff> {
        if context > DiffOptions::MAX_CONTEXT {
            return Err(InvalidValue::new(
                "context",
                format!("must be between 0 and {}, not {context}", DiffOptions::MAX_CONTEXT),
            )
            .into());
        }
        let wanted: Vec<RevisionHash> = from.into_iter().chain([to]).cloned().collect();
        let mut found: HashMap<RevisionHash, Revision> = self
            .revisions_by_hashes(&wanted)
            .await?
            .into_iter()
            .map(|r| (r.hash.clone(), r))
            .collect();
        let take = |found: &mut HashMap<RevisionHash, Revision>, hash: &RevisionHash| {
            found.get(hash).cloned().ok_or_else(|| StoreError::NotFound(format!("revision {hash}")))
        };
        let from = from.map(|hash| take(&mut found, hash)).transpose()?;
        let to = take(&mut found, to)?;
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
        let options = DiffOptions {
            granularity,
            context,
            budget: DiffOptions::DEFAULT_BUDGET,
            old_label: format!(
                "a/{}",
                slug_of(from.as_ref().map_or(to.document_id, |f| f.document_id))
            ),
            new_label: format!("b/{}", slug_of(to.document_id)),
        };
        let result = self.compute.run(move || diff::diff(&old_text, &new_text, &options)).await?;
        Ok(RevisionDiff { from, to, result })
    }

    /// For each line of `hash`, the revision that introduced it. Every text of the history is
    /// paid for from `budget` by its size before any is read; the computation is stopped past
    /// the store's blame time limit.
    #[tracing::instrument(skip(self, budget))]
    pub async fn blame(&self, hash: &RevisionHash, budget: &Budget) -> StoreResult<Vec<BlameLine>> {
        let target = self
            .revision(hash)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("revision {hash}")))?;
        if target.number > MAX_BLAME_REVISIONS {
            return Err(InvalidValue::new(
                "blame",
                format!("histories longer than {MAX_BLAME_REVISIONS} revisions are not blamed"),
            )
            .into());
        }
        let history = self.history_up_to(target.document_id, target.number).await?;
        let chained = history.len() as i64 == target.number
            && history.windows(2).all(|w| w[1].parent.as_ref() == Some(&w[0].hash));
        if !chained {
            return Err(StoreError::Unexpected(anyhow::anyhow!(
                "the history of document {} is not a single chain",
                target.document_id
            )));
        }
        let bytes = history.iter().map(|r| r.content_bytes).sum();
        budget
            .draw_bytes(bytes)
            .map_err(|cause| StoreError::OverBudget { what: "blame", cause })?;
        let mut keys: Vec<ContentHash> = history.iter().map(|r| r.content_hash.clone()).collect();
        keys.sort();
        keys.dedup();
        let contents: HashMap<ContentHash, String> =
            self.contents_by_hashes(&keys).await?.into_iter().collect();
        if contents.len() != keys.len() {
            return Err(StoreError::Unexpected(anyhow::anyhow!("a content blob is missing")));
        }
        let time_limit = self.limits.blame_time;
        self.compute
            .run(move || {
                let texts: Vec<&str> =
                    history.iter().map(|r| contents[&r.content_hash].as_str()).collect();
                let deadline = std::time::Instant::now() + time_limit;
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

    /// A document's revisions numbered up to `number`, oldest first, in one query.
    pub async fn history_up_to(
        &self,
        document: DocumentId,
        number: i64,
    ) -> StoreResult<Vec<Revision>> {
        Ok(revision::Entity::find()
            .filter(revision::Column::DocumentId.eq(document.as_uuid()))
            .filter(revision::Column::Number.lte(number))
            .order_by_asc(revision::Column::Number)
            .limit(MAX_BLAME_REVISIONS as u64)
            .all(&self.db)
            .await?
            .into_iter()
            .map(Revision::from)
            .collect())
    }

    /// Every revision of a document, oldest first, without content or headers.
    pub async fn revision_stamps(&self, document: DocumentId) -> StoreResult<Vec<RevisionStamp>> {
        use revision::Column as C;
        let rows: Vec<(String, i64, i64)> = revision::Entity::find()
            .select_only()
            .column(C::Hash)
            .column(C::Number)
            .column(C::CreatedAt)
            .filter(C::DocumentId.eq(document.as_uuid()))
            .order_by_asc(C::Number)
            .into_tuple()
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(hash, number, created_at)| RevisionStamp {
                hash: RevisionHash::from_trusted(hash),
                number,
                created_at: Timestamp::from_micros(created_at),
            })
            .collect())
    }

    /// The revisions of a document with these numbers, in one query.
    pub async fn revisions_by_numbers(
        &self,
        document: DocumentId,
        numbers: &[i64],
    ) -> StoreResult<Vec<Revision>> {
        use revision::Column as C;
        Ok(revision::Entity::find()
            .filter(C::DocumentId.eq(document.as_uuid()))
            .filter(C::Number.is_in(numbers.iter().copied()))
            .order_by_asc(C::Number)
            .all(&self.db)
            .await?
            .into_iter()
            .map(Revision::from)
            .collect())
    }
}

impl Store {
    /// One page of the sources a document's revisions were captured from, by source id.
    pub async fn sources_of_document(
        &self,
        document: DocumentId,
        page: PageRequest<uuid::Uuid>,
    ) -> StoreResult<Page<Source>> {
        use revision::Column as C;
        let mut query = revision::Entity::find()
            .select_only()
            .column(C::SourceId)
            .distinct()
            .filter(C::DocumentId.eq(document.as_uuid()))
            .filter(C::SourceId.is_not_null());
        if let Some(after) = page.after {
            query = query.filter(C::SourceId.gt(after));
        }
        if let Some(before) = page.before {
            query = query.filter(C::SourceId.lt(before));
        }
        query = match page.direction {
            Direction::Forward => query.order_by_asc(C::SourceId),
            Direction::Backward => query.order_by_desc(C::SourceId),
        };
        let ids: Vec<uuid::Uuid> = query.limit(page.limit + 1).into_tuple().all(&self.db).await?;
        let page = Page::from_probe(ids, page.limit, page.direction);
        let keys: Vec<SourceId> = page.items.iter().copied().map(SourceId::from).collect();
        let mut sources = self.sources_by_ids(&keys).await?;
        sources.sort_by_key(|s| keys.iter().position(|k| *k == s.id));
        Ok(Page { items: sources, has_more: page.has_more })
    }

    pub async fn count_sources_of_document(&self, document: DocumentId) -> StoreResult<u64> {
        use revision::Column as C;
        let ids: Vec<uuid::Uuid> = revision::Entity::find()
            .select_only()
            .column(C::SourceId)
            .distinct()
            .filter(C::DocumentId.eq(document.as_uuid()))
            .filter(C::SourceId.is_not_null())
            .into_tuple()
            .all(&self.db)
            .await?;
        Ok(ids.len() as u64)
    }

    /// One page of the revisions captured from a source, newest first; the cursor is the
    /// revision's (time, hash).
    pub async fn revisions_from_source(
        &self,
        source: SourceId,
        page: PageRequest<(i64, String)>,
    ) -> StoreResult<Page<Revision>> {
        use revision::Column as C;
        let mut query = revision::Entity::find().filter(C::SourceId.eq(source.as_uuid()));
        let older = |(t, h): &(i64, String)| {
            Condition::any()
                .add(C::CreatedAt.lt(*t))
                .add(Condition::all().add(C::CreatedAt.eq(*t)).add(C::Hash.lt(h.clone())))
        };
        let newer = |(t, h): &(i64, String)| {
            Condition::any()
                .add(C::CreatedAt.gt(*t))
                .add(Condition::all().add(C::CreatedAt.eq(*t)).add(C::Hash.gt(h.clone())))
        };
        if let Some(after) = &page.after {
            query = query.filter(older(after));
        }
        if let Some(before) = &page.before {
            query = query.filter(newer(before));
        }
        query = match page.direction {
            Direction::Forward => query.order_by_desc(C::CreatedAt).order_by_desc(C::Hash),
            Direction::Backward => query.order_by_asc(C::CreatedAt).order_by_asc(C::Hash),
        };
        let rows = query.limit(page.limit + 1).all(&self.db).await?;
        Ok(Page::from_probe(
            rows.into_iter().map(Revision::from).collect(),
            page.limit,
            page.direction,
        ))
    }

    pub async fn count_revisions_from_source(&self, source: SourceId) -> StoreResult<u64> {
        Ok(revision::Entity::find()
            .filter(revision::Column::SourceId.eq(source.as_uuid()))
            .count(&self.db)
            .await?)
    }
}
