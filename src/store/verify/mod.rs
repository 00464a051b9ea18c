//! Verification: proves from the stored rows alone that the corpus is what was recorded, and
//! names precisely what is not — which document, which revision, which field.
//!
//! Documents are checked a page at a time (`checks` for the rules), their revisions streamed
//! in chunks of `(document, number)` order and their texts hashed in batches of bounded size on
//! the compute pool, so memory stays flat whatever the corpus. A revision that was redacted is
//! reported as such, not as tampered: its header, hash, chain and leaf are still checked. The
//! transparency log and its checkpoints are checked by `log`.

mod checks;
mod log;

pub use log::LogReport;

use std::collections::{HashMap, HashSet};

use std::sync::Arc;

use sea_orm::sea_query::{Expr, ExprTrait, Func, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait,
};
use uuid::Uuid;

use super::error::{StoreError, StoreResult};
use super::kinds::ProblemKind;
use super::values::{DocumentId, RevisionHash};
use super::{Missing, Store};
use crate::budget::{Budget, points_for_bytes};
use crate::entity::{blob, document, log_node, redaction, revision};
use checks::{ChainEnd, ChunkContext, StoredText, check_chunk};

/// Problems listed in one report; beyond them, only counted.
pub const MAX_LISTED: usize = 1000;

/// Revisions read and checked at a time.
const CHUNK: u64 = 1000;

/// Bytes of text read at a time, at most (a chunk holds fewer revisions when texts are large).
const TEXT_BATCH_BYTES: u64 = 32 << 20;

/// One thing found wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub kind: ProblemKind,
    pub document: Option<DocumentId>,
    pub revision: Option<RevisionHash>,
    /// The column or header member at fault, when one is.
    pub field: Option<&'static str>,
    pub detail: String,
}

/// What a verification checked and found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub documents: u64,
    pub revisions: u64,
    /// Redacted revisions (the first `MAX_LISTED`): their texts are gone by design.
    pub redacted: Vec<RevisionHash>,
    /// All redacted revisions, listed or not.
    pub redacted_count: u64,
    /// The first `MAX_LISTED` problems.
    pub problems: Vec<Problem>,
    pub problem_count: u64,
}

impl Report {
    pub fn is_clean(&self) -> bool {
        self.problem_count == 0
    }

    pub(crate) fn add_redacted(&mut self, revision: RevisionHash) {
        self.redacted_count += 1;
        if self.redacted.len() < MAX_LISTED {
            self.redacted.push(revision);
        }
    }

    pub(crate) fn add(&mut self, problem: Problem) {
        self.problem_count += 1;
        if self.problems.len() < MAX_LISTED {
            self.problems.push(problem);
        }
    }

    /// Adds the findings of another page of the same verification.
    pub fn merge_page(&mut self, other: Report) {
        self.merge(other)
    }

    pub(crate) fn merge(&mut self, other: Report) {
        self.documents += other.documents;
        self.revisions += other.revisions;
        self.redacted_count += other.redacted_count;
        let room = MAX_LISTED.saturating_sub(self.redacted.len());
        self.redacted.extend(other.redacted.into_iter().take(room));
        self.problem_count += other.problem_count;
        let room = MAX_LISTED.saturating_sub(self.problems.len());
        self.problems.extend(other.problems.into_iter().take(room));
    }
}

/// A page of documents verified, and the document the next page starts after.
#[derive(Debug, Clone)]
pub struct VerifiedPage {
    pub report: Report,
    pub next: Option<DocumentId>,
}

impl Store {
    /// Verifies up to `limit` documents after `after` (in id order), with every revision and
    /// text they hold, and any revision whose document is missing in that range. The work is
    /// paid from `budget` before it is done: a point per revision and per KiB of text.
    /// `progress` is told how many revisions each chunk checked.
    pub async fn verify_documents(
        &self,
        after: Option<DocumentId>,
        limit: u64,
        budget: &Budget,
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> StoreResult<VerifiedPage> {
        let mut query = document::Entity::find()
            .select_only()
            .columns([document::Column::Id, document::Column::HeadHash])
            .order_by_asc(document::Column::Id)
            .limit(limit);
        if let Some(after) = after {
            query = query.filter(document::Column::Id.gt(after.as_uuid()));
        }
        let documents: Vec<(Uuid, String)> = query.into_tuple().all(&self.db).await?;
        // The last page also takes revisions past the last document, whose document is gone.
        let last_page = (documents.len() as u64) < limit;
        let through = if last_page { None } else { documents.last().map(|(id, _)| *id) };
        let next = through.map(DocumentId::from);
        let range = Range::Between { after: after.map(|a| a.as_uuid()), through };
        let largest = self.charge(&range, budget).await?;
        let report = self.verify_split(documents, range, largest, progress).await?;
        Ok(VerifiedPage { report, next })
    }

    /// Verifies one document: every revision and text, its chain and its head.
    pub async fn verify_document(&self, id: DocumentId, budget: &Budget) -> StoreResult<Report> {
        let head: Option<String> = document::Entity::find_by_id(id.as_uuid())
            .select_only()
            .column(document::Column::HeadHash)
            .into_tuple()
            .one(&self.db)
            .await?;
        let head = head.ok_or(StoreError::NotFound(Missing::Document(id)))?;
        let range = Range::Only(id.as_uuid());
        let largest = self.charge(&range, budget).await?;
        self.verify_range(vec![(id.as_uuid(), head)], range, largest, &|_| {}).await
    }

    /// Draws what verifying `range` costs (a point per revision and per KiB of text) and
    /// returns the largest text in it, which sizes the chunks it is read in.
    async fn charge(&self, range: &Range, budget: &Budget) -> StoreResult<u64> {
        let sums: Option<(i64, Option<i64>, Option<i64>)> = range
            .filter(revision::Entity::find())
            .select_only()
            .expr(Func::count(Expr::col(revision::Column::Hash)))
            // PostgreSQL sums BIGINT as NUMERIC.
            .expr(Func::cast_as(Func::sum(Expr::col(revision::Column::ContentBytes)), "BIGINT"))
            .expr(Func::max(Expr::col(revision::Column::ContentBytes)))
            .into_tuple()
            .one(&self.db)
            .await?;
        let (revisions, bytes, largest) = sums.map_or((0, 0, 0), |(r, b, m)| {
            (unsigned(r), unsigned(b.unwrap_or(0)), unsigned(m.unwrap_or(0)))
        });
        let points = revisions + points_for_bytes(bytes);
        budget
            .draw(points)
            .map_err(|cause| StoreError::OverBudget { what: "verification", cause })?;
        Ok(largest)
    }

    /// Verifies a page of documents as two halves at once: reading rows costs as much as
    /// checking them, and each half keeps a core busy.
    async fn verify_split(
        &self,
        mut documents: Vec<(Uuid, String)>,
        range: Range,
        largest: u64,
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> StoreResult<Report> {
        let Range::Between { after, through } = range else {
            return self.verify_range(documents, range, largest, progress).await;
        };
        if documents.len() < 2 {
            return self.verify_range(documents, range, largest, progress).await;
        }
        let second = documents.split_off(documents.len() / 2);
        let middle = documents.last().map(|(id, _)| *id);
        let first_half = Range::Between { after, through: middle };
        let second_half = Range::Between { after: middle, through };
        let (first, second) = tokio::join!(
            self.verify_range(documents, first_half, largest, progress),
            self.verify_range(second, second_half, largest, progress),
        );
        let mut report = first?;
        report.merge(second?);
        Ok(report)
    }

    async fn verify_range(
        &self,
        documents: Vec<(Uuid, String)>,
        range: Range,
        largest: u64,
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> StoreResult<Report> {
        // As many revisions at a time as keep the texts read at once under the bound.
        let per_chunk = (TEXT_BATCH_BYTES / std::cmp::max(largest, 1)).clamp(1, CHUNK);
        let mut report = Report { documents: documents.len() as u64, ..Report::default() };
        let heads: HashMap<Uuid, String> = documents.into_iter().collect();
        let mut ended: HashSet<Uuid> = HashSet::new();
        let mut open: Option<ChainEnd> = None;
        let tombstones = Arc::new(self.tombstones(&range).await?);
        // A single document is checked against its leaves here; a corpus has `verify_log`
        // recompute every leaf.
        let leaves = matches!(range, Range::Only(_));
        let mut next = self.fetch_chunk(&range, None, per_chunk, leaves).await?;
        // Each chunk is checked on the compute pool while the next one is read.
        while let Some(chunk) = next {
            let cursor = chunk.rows.last().map(|r| (r.document_id, r.number));
            let checked = chunk.rows.len() as u64;
            let carried = open.take();
            let tombstones = tombstones.clone();
            let check = self.compute.run(move || {
                let mut part = Report::default();
                let context = ChunkContext {
                    texts: chunk
                        .texts
                        .iter()
                        .map(|(hash, content, purged)| {
                            (hash.clone(), StoredText::hash(content, *purged))
                        })
                        .collect(),
                    tombstones: &tombstones,
                    leaves: chunk.leaves,
                };
                let ends = check_chunk(&chunk.rows, &context, carried, &mut part);
                (part, ends)
            });
            let (checked_part, fetched) =
                tokio::join!(check, self.fetch_chunk(&range, cursor, per_chunk, leaves));
            let (part, mut ends) = checked_part?;
            next = fetched?;
            report.merge(part);
            open = ends.pop();
            for end in ends {
                finish(&end, &heads, &mut ended, &mut report);
            }
            progress(checked);
        }
        if let Some(end) = open {
            finish(&end, &heads, &mut ended, &mut report);
        }
        let mut childless: Vec<&Uuid> = heads.keys().filter(|id| !ended.contains(id)).collect();
        childless.sort();
        for id in childless {
            report.add(Problem {
                kind: ProblemKind::Chain,
                document: Some(DocumentId::from(*id)),
                revision: None,
                field: None,
                detail: "the document has no revisions".into(),
            });
        }
        Ok(report)
    }

    /// The revisions in `range` that have a tombstone (redactions are rare: one query).
    async fn tombstones(&self, range: &Range) -> StoreResult<HashSet<String>> {
        let mut query = Query::select();
        query
            .column((redaction::Entity, redaction::Column::RevisionHash))
            .from(redaction::Entity)
            .inner_join(
                revision::Entity,
                Expr::col((revision::Entity, revision::Column::Hash))
                    .equals((redaction::Entity, redaction::Column::RevisionHash)),
            );
        range.restrict(&mut query);
        let rows = self.db.query_all(&query).await?;
        rows.iter()
            .map(|row| Ok(row.try_get::<String>("", "revision_hash")?))
            .collect::<StoreResult<_>>()
    }

    /// The next `limit` revisions after `cursor` in `(document, number)` order, each with its
    /// stored text, in one query; and, if asked, their leaves.
    async fn fetch_chunk(
        &self,
        range: &Range,
        cursor: Option<(Uuid, i64)>,
        limit: u64,
        leaves: bool,
    ) -> StoreResult<Option<Chunk>> {
        let mut query = range.filter(revision::Entity::find());
        if let Some(cursor) = cursor {
            query = query.filter(key().gt(key_of(cursor)));
        }
        let mut query = query
            .order_by_asc(revision::Column::DocumentId)
            .order_by_asc(revision::Column::Number)
            .limit(limit)
            .into_query();
        // A redacted revision's text is not read: it is gone by design.
        query
            .left_join(
                blob::Entity,
                Expr::col((blob::Entity, blob::Column::Sha256))
                    .equals((revision::Entity, revision::Column::ContentSha256))
                    .and(Expr::col((revision::Entity, revision::Column::Redacted)).eq(false)),
            )
            .expr_as(Expr::col((blob::Entity, blob::Column::Content)), "blob_content")
            .expr_as(Expr::col((blob::Entity, blob::Column::PurgedAt)), "blob_purged_at");
        let results = self.db.query_all(&query).await?;
        if results.is_empty() {
            return Ok(None);
        }
        let mut rows = Vec::with_capacity(results.len());
        let mut texts = Vec::with_capacity(results.len());
        for result in &results {
            let row = revision::Model::from_query_result(result, "")?;
            if let Some(content) = result.try_get::<Option<String>>("", "blob_content")? {
                let purged = result.try_get::<Option<i64>>("", "blob_purged_at")?.is_some();
                texts.push((row.content_sha256.clone(), content, purged));
            }
            rows.push(row);
        }
        let leaves = if leaves { self.leaves_of(&rows).await? } else { HashMap::new() };
        Ok(Some(Chunk { rows, texts, leaves }))
    }

    /// The stored leaves at the log indexes of `rows`.
    async fn leaves_of(&self, rows: &[revision::Model]) -> StoreResult<HashMap<i64, Vec<u8>>> {
        let indexes: Vec<i64> = rows.iter().filter_map(|r| r.log_index).collect();
        Ok(log_node::Entity::find()
            .filter(log_node::Column::Level.eq(0))
            .filter(log_node::Column::Position.is_in(indexes))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|node| (node.position, node.hash))
            .collect())
    }
}

/// A count or size as stored (never negative unless the database was tampered with).
fn unsigned(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// A chunk of revisions as read, before it is checked.
struct Chunk {
    rows: Vec<revision::Model>,
    /// `(sha256, content, purged)` of the chunk's unredacted revisions' texts.
    texts: Vec<(String, String, bool)>,
    leaves: HashMap<i64, Vec<u8>>,
}

/// A revision's place in the order verification reads: `(document_id, number)`, compared as
/// a row value so that the `revisions_by_number` index serves it.
fn key() -> Expr {
    Expr::tuple([
        Expr::col((revision::Entity, revision::Column::DocumentId)),
        Expr::col((revision::Entity, revision::Column::Number)),
    ])
}

fn key_of((document, number): (Uuid, i64)) -> Expr {
    Expr::tuple([Expr::val(document), Expr::val(number)])
}

/// A document's chain is complete: its end must be the document's head.
fn finish(
    end: &ChainEnd,
    heads: &HashMap<Uuid, String>,
    ended: &mut HashSet<Uuid>,
    report: &mut Report,
) {
    let id = end.document.as_uuid();
    ended.insert(id);
    let problem = |kind, field, detail| Problem {
        kind,
        document: Some(end.document),
        revision: Some(end.hash.clone()),
        field,
        detail,
    };
    match heads.get(&id) {
        None => report.add(problem(
            ProblemKind::Chain,
            Some("document_id"),
            "revisions of a document that does not exist".into(),
        )),
        Some(head) if *head != end.hash.as_str() => report.add(problem(
            ProblemKind::Head,
            Some("head_hash"),
            format!("the document's head is {head}; its chain ends at {}", end.hash),
        )),
        Some(_) => {}
    }
}

/// The documents a verification covers.
#[derive(Debug, Clone, Copy)]
enum Range {
    /// Ids after `after`, through `through` (each unbounded when `None`).
    Between {
        after: Option<Uuid>,
        through: Option<Uuid>,
    },
    Only(Uuid),
}

impl Range {
    /// Narrows a statement over `revisions` to the range.
    fn restrict(&self, query: &mut sea_orm::sea_query::SelectStatement) {
        let document = || Expr::col((revision::Entity, revision::Column::DocumentId));
        match *self {
            Range::Only(id) => {
                query.and_where(document().eq(id));
            }
            Range::Between { after, through } => {
                if let Some(after) = after {
                    query.and_where(document().gt(after));
                }
                if let Some(through) = through {
                    query.and_where(document().lte(through));
                }
            }
        }
    }

    fn filter(
        &self,
        query: sea_orm::Select<revision::Entity>,
    ) -> sea_orm::Select<revision::Entity> {
        match *self {
            Range::Only(id) => query.filter(revision::Column::DocumentId.eq(id)),
            Range::Between { after, through } => {
                let mut query = query;
                if let Some(after) = after {
                    query = query.filter(revision::Column::DocumentId.gt(after));
                }
                if let Some(through) = through {
                    query = query.filter(revision::Column::DocumentId.lte(through));
                }
                query
            }
        }
    }
}
