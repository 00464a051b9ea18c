//! Verification: proves from the stored rows alone that the corpus is what was recorded, and
//! names precisely what is not — which document, which revision, which field.
//!
//! Documents are checked a page at a time (`checks` for the rules), each half of a page in its
//! own read-only snapshot (`read`), their revisions streamed in chunks of `(document, number)`
//! order with their texts, checked on the compute pool while the next chunk is read, so memory
//! stays flat whatever the corpus and writes landing meanwhile are not mistaken for tampering. A revision that was redacted is
//! reported as such, not as tampered: its header, hash, chain and leaf are still checked. The
//! transparency log and its checkpoints are checked by `log`.

mod checks;
mod log;
mod read;

pub use log::LogReport;

use std::collections::{HashMap, HashSet};

use sea_orm::sea_query::{Expr, ExprTrait, Func, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::error::{StoreError, StoreResult};
use super::kinds::ProblemKind;
use super::texts::packing;
use super::values::{DocumentId, RevisionHash};
use super::{Missing, Store};
use crate::budget::{Budget, points_for_bytes};
use crate::entity::{document, redaction, revision};
use checks::{ChainEnd, ChunkContext, StoredText, check_chunk};
use read::{DocumentRow, Range, unsigned};

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

    /// Adds the findings of another part of the same verification.
    pub fn merge(&mut self, other: Report) {
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
            .column(document::Column::Id)
            .order_by_asc(document::Column::Id)
            .limit(limit);
        if let Some(after) = after {
            query = query.filter(document::Column::Id.gt(after.as_uuid()));
        }
        let ids: Vec<Uuid> = query.into_tuple().all(&self.db).await?;
        // The last page also takes revisions past the last document, whose document is gone.
        let last_page = (ids.len() as u64) < limit;
        let through = if last_page { None } else { ids.last().copied() };
        let after = after.map(|a| a.as_uuid());
        let largest = self.charge(&Range::Between { after, through }, budget).await?;
        // Two halves at once: reading rows costs as much as checking them, and each half keeps
        // a core busy.
        let middle = (ids.len() >= 2).then(|| ids[ids.len() / 2 - 1]);
        let report = match middle {
            Some(middle) => {
                let (first, second) = tokio::join!(
                    self.verify_range(
                        Range::Between { after, through: Some(middle) },
                        largest,
                        progress
                    ),
                    self.verify_range(
                        Range::Between { after: Some(middle), through },
                        largest,
                        progress
                    ),
                );
                let mut report = first?;
                report.merge(second?);
                report
            }
            None => self.verify_range(Range::Between { after, through }, largest, progress).await?,
        };
        Ok(VerifiedPage { report, next: through.map(DocumentId::from) })
    }

    /// Verifies one document: every revision, its text and its leaf, its chain and its head.
    pub async fn verify_document(&self, id: DocumentId, budget: &Budget) -> StoreResult<Report> {
        let range = Range::Only(id.as_uuid());
        let largest = self.charge(&range, budget).await?;
        let report = self.verify_range(range, largest, &|_| {}).await?;
        if report.documents == 0 {
            return Err(StoreError::NotFound(Missing::Document(id)));
        }
        Ok(report)
    }

    /// Draws what verifying `range` costs (a point per revision and per KiB of text) and
    /// returns the largest text in it, which sizes the chunks it is read in.
    async fn charge(&self, range: &Range, budget: &Budget) -> StoreResult<u64> {
        let sums: Option<(i64, Option<i64>, Option<i64>)> = revision::Entity::find()
            .filter(range.revisions())
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

    /// Verifies the documents of `range` and their revisions in one read-only snapshot.
    async fn verify_range(
        &self,
        range: Range,
        largest: u64,
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> StoreResult<Report> {
        // As many revisions at a time as keep the texts read at once under the bound.
        let per_chunk = (TEXT_BATCH_BYTES / std::cmp::max(largest, 1)).clamp(1, CHUNK);
        let snapshot = read::snapshot(&self.db).await?;
        let documents = read::documents(&snapshot, &range).await?;
        let mut report = Report { documents: documents.len() as u64, ..Report::default() };
        let mut ended: HashSet<Uuid> = HashSet::new();
        let mut open: Option<ChainEnd> = None;
        let tombstones = tombstones(&snapshot, &range).await?;
        // Read around, so that the rest is checked: its chain then shows a gap where it was.
        for bad in read::malformed(&snapshot, &range).await? {
            report.add(malformed_problem(&bad));
        }
        // A single document is checked against its leaves here; a corpus has `verify_log`
        // recompute every leaf.
        let leaves = matches!(range, Range::Only(_));
        let mut next = read::chunk(&snapshot, &range, None, per_chunk, leaves).await?;
        while let Some(chunk) = next {
            let cursor = chunk.rows.last().map(|r| (r.document_id, r.number));
            let checked = chunk.rows.len() as u64;
            let carried = open.take();
            let tombstones = tombstones.clone();
            let check = self.compute.run(move || {
                let mut part = Report::default();
                let wanted: Vec<&str> = chunk.rows.iter().map(|r| r.content_sha256.hex()).collect();
                let texts = packing::unpack_all(chunk.blobs, wanted)
                    .into_iter()
                    .map(|(hash, text)| (hash, StoredText::of(&text)));
                let context = ChunkContext {
                    texts: texts.collect(),
                    tombstones: &tombstones,
                    leaves: chunk.leaves,
                };
                let ends = check_chunk(&chunk.rows, &context, carried, &mut part);
                (part, ends)
            });
            let fetch = read::chunk(&snapshot, &range, cursor, per_chunk, leaves);
            let (checked_part, fetched) = tokio::join!(check, fetch);
            let (part, mut ends) = checked_part?;
            next = fetched?;
            report.merge(part);
            open = ends.pop();
            for end in ends {
                finish(&end, &documents, &mut ended, &mut report);
            }
            progress(checked);
        }
        snapshot.commit().await?;
        if let Some(end) = open {
            finish(&end, &documents, &mut ended, &mut report);
        }
        let mut childless: Vec<&Uuid> = documents.keys().filter(|id| !ended.contains(id)).collect();
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
}

/// A revision whose digest columns do not all hold 32 bytes, named by its place (its hash may
/// be what is damaged), under the check each column feeds.
fn malformed_problem(bad: &read::Malformed) -> Problem {
    let columns = [
        (ProblemKind::HeaderHash, "hash"),
        (ProblemKind::Parent, "parent"),
        (ProblemKind::ContentHash, "content"),
    ];
    let (kind, field, length) = columns
        .into_iter()
        .zip(bad.lengths)
        .find_map(|((kind, field), length)| match length {
            Some(32) => None,
            Some(length) => Some((kind, field, length)),
            // A missing parent is the first revision's; the other two are never missing.
            None if field == "parent" => None,
            None => Some((kind, field, 0)),
        })
        .unwrap_or((ProblemKind::HeaderHash, "hash", 0));
    Problem {
        kind,
        document: Some(DocumentId::from(bad.document)),
        revision: None,
        field: Some(field),
        detail: format!(
            "revision {}: the stored {field} digest is {length} bytes, not a SHA-256's 32",
            bad.number
        ),
    }
}

/// The revisions in `range` that have a tombstone (redactions are rare: one query).
async fn tombstones(
    conn: &impl ConnectionTrait,
    range: &Range,
) -> StoreResult<std::sync::Arc<HashSet<RevisionHash>>> {
    let mut query = Query::select();
    query
        .column((redaction::Entity, redaction::Column::RevisionHash))
        .from(redaction::Entity)
        .inner_join(
            revision::Entity,
            Expr::col((revision::Entity, revision::Column::Hash))
                .equals((redaction::Entity, redaction::Column::RevisionHash)),
        )
        .cond_where(range.revisions());
    let rows = conn.query_all(&query).await?;
    Ok(std::sync::Arc::new(
        rows.iter()
            .map(|row| Ok(row.try_get::<RevisionHash>("", "revision_hash")?))
            .collect::<StoreResult<_>>()?,
    ))
}

/// A document's chain is complete: its head must be the chain's end, and its times those of
/// its first and last revisions.
fn finish(
    end: &ChainEnd,
    documents: &HashMap<Uuid, DocumentRow>,
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
    let Some(document) = documents.get(&id) else {
        report.add(problem(
            ProblemKind::Chain,
            Some("document_id"),
            "revisions of a document that does not exist".into(),
        ));
        return;
    };
    match &document.head {
        Ok(head) if *head == end.hash => {}
        Ok(head) => report.add(problem(
            ProblemKind::Head,
            Some("head_hash"),
            format!("the document's head is {head}; its chain ends at {}", end.hash),
        )),
        Err(length) => report.add(problem(
            ProblemKind::Head,
            Some("head_hash"),
            format!(
                "the document's head is {length} bytes, not a revision hash; its chain ends at {}",
                end.hash
            ),
        )),
    }
    for (field, stored, expected) in [
        ("created_at", document.created_at, end.first_created_at),
        ("updated_at", document.updated_at, end.created_at),
    ] {
        if stored != expected {
            report.add(problem(
                ProblemKind::Time,
                Some(field),
                format!(
                    "the document says {}; its {} revision was made at {}",
                    crate::store::Timestamp::from_micros(stored),
                    if field == "created_at" { "first" } else { "last" },
                    crate::store::Timestamp::from_micros(expected)
                ),
            ));
        }
    }
}
