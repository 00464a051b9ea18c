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

use sea_orm::{
    ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, Func},
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

/// Bytes of text read at a time.
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
        self.charge(&range, budget).await?;
        let report = self.verify_range(documents, range, progress).await?;
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
        self.charge(&range, budget).await?;
        self.verify_range(vec![(id.as_uuid(), head)], range, &|_| {}).await
    }

    /// Draws what verifying `range` costs: a point per revision and per KiB of text.
    async fn charge(&self, range: &Range, budget: &Budget) -> StoreResult<()> {
        let sums: Option<(i64, Option<i64>)> = range
            .filter(revision::Entity::find())
            .select_only()
            .expr(Func::count(Expr::col(revision::Column::Hash)))
            // PostgreSQL sums BIGINT as NUMERIC.
            .expr(Func::cast_as(Func::sum(Expr::col(revision::Column::ContentBytes)), "BIGINT"))
            .into_tuple()
            .one(&self.db)
            .await?;
        let (revisions, bytes) = sums.map_or((0, 0), |(r, b)| (r, b.unwrap_or(0)));
        let points = revisions.max(0) as u64 + points_for_bytes(bytes.max(0) as u64);
        budget.draw(points).map_err(|cause| StoreError::OverBudget { what: "verification", cause })
    }

    async fn verify_range(
        &self,
        documents: Vec<(Uuid, String)>,
        range: Range,
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> StoreResult<Report> {
        let mut report = Report { documents: documents.len() as u64, ..Report::default() };
        let heads: HashMap<Uuid, String> = documents.into_iter().collect();
        let mut ended: HashSet<Uuid> = HashSet::new();
        let mut open: Option<ChainEnd> = None;
        let mut cursor: Option<(Uuid, i64)> = None;
        loop {
            let mut query = range.filter(revision::Entity::find());
            if let Some((document, number)) = cursor {
                query = query.filter(
                    Condition::any().add(revision::Column::DocumentId.gt(document)).add(
                        Condition::all()
                            .add(revision::Column::DocumentId.eq(document))
                            .add(revision::Column::Number.gt(number)),
                    ),
                );
            }
            let rows = query
                .order_by_asc(revision::Column::DocumentId)
                .order_by_asc(revision::Column::Number)
                .limit(CHUNK)
                .all(&self.db)
                .await?;
            let Some(last_row) = rows.last() else { break };
            cursor = Some((last_row.document_id, last_row.number));
            let checked = rows.len() as u64;
            let context = self.chunk_context(&rows).await?;
            let carried = open.take();
            let (part, mut ends) = self
                .compute
                .run(move || {
                    let mut part = Report::default();
                    let ends = check_chunk(&rows, &context, carried, &mut part);
                    (part, ends)
                })
                .await?;
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

    /// The tombstones and the hashed texts a chunk of revisions needs, the texts read in
    /// batches of bounded size and hashed on the compute pool.
    async fn chunk_context(&self, rows: &[revision::Model]) -> StoreResult<ChunkContext> {
        let tombstones: HashSet<String> = redaction::Entity::find()
            .select_only()
            .column(redaction::Column::RevisionHash)
            .filter(redaction::Column::RevisionHash.is_in(rows.iter().map(|r| r.hash.as_str())))
            .into_tuple()
            .all(&self.db)
            .await?
            .into_iter()
            .collect();
        let mut wanted: Vec<(&str, u64)> = rows
            .iter()
            .filter(|r| !r.redacted && !tombstones.contains(&r.hash))
            .map(|r| (r.content_sha256.as_str(), r.content_bytes.max(0) as u64))
            .collect();
        wanted.sort_unstable();
        wanted.dedup_by_key(|(hash, _)| *hash);
        let mut texts = HashMap::with_capacity(wanted.len());
        let mut batch: Vec<String> = Vec::new();
        let mut batch_bytes = 0;
        for (index, (hash, bytes)) in wanted.iter().enumerate() {
            batch.push((*hash).to_owned());
            batch_bytes += bytes;
            if batch_bytes >= TEXT_BATCH_BYTES || index + 1 == wanted.len() {
                let rows = blob::Entity::find()
                    .filter(blob::Column::Sha256.is_in(std::mem::take(&mut batch)))
                    .all(&self.db)
                    .await?;
                let hashed = self
                    .compute
                    .run(move || {
                        rows.into_iter()
                            .map(|b| {
                                let text = StoredText::hash(&b.content, b.purged_at.is_some());
                                (b.sha256, text)
                            })
                            .collect::<Vec<_>>()
                    })
                    .await?;
                texts.extend(hashed);
                batch_bytes = 0;
            }
        }
        let indexes: Vec<i64> = rows.iter().filter_map(|r| r.log_index).collect();
        let leaves = log_node::Entity::find()
            .filter(log_node::Column::Level.eq(0))
            .filter(log_node::Column::Position.is_in(indexes))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|node| (node.position, node.hash))
            .collect();
        Ok(ChunkContext { texts, tombstones, leaves })
    }
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
