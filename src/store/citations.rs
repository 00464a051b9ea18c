//! Citations: a document, at a revision, cites another document (optionally pinned to one of
//! its revisions) or an external source, optionally down to passages on both sides. The read
//! model, its rows, and its reads. (Writing them is in `citing`.)
//!
//! Citation rows are immutable and belong to one citing revision.

use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::Store;
use super::access::Viewer;
use super::error::{StoreError, StoreResult};
use super::kinds::{AnchorState, CitationRelation};
use super::page::{Page, PageRequest, uuid_window};
use super::texts::seal::{self, Keys};
use super::values::{AgentId, CitationId, DocumentId, RevisionHash, SourceId, Timestamp};
use crate::entity::{citation, document};
use crate::passage::{Passage, Selector};

/// What a citation points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CitationTarget {
    Document { id: DocumentId, pinned: Option<RevisionHash> },
    Source(SourceId),
}

/// A passage selector as stored: whatever the client gave (for the cited side) or what
/// resolving it found (for the citing side).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredSelector {
    pub exact: Option<String>,
    pub prefix: Option<String>,
    pub suffix: Option<String>,
    pub start: Option<usize>,
    pub end: Option<usize>,
}

impl From<&Selector> for StoredSelector {
    fn from(s: &Selector) -> Self {
        StoredSelector {
            exact: s.exact().map(str::to_owned),
            prefix: s.prefix().map(str::to_owned),
            suffix: s.suffix().map(str::to_owned),
            start: s.position().map(|(start, _)| start),
            end: s.position().map(|(_, end)| end),
        }
    }
}

impl From<Passage> for StoredSelector {
    fn from(p: Passage) -> Self {
        StoredSelector {
            exact: Some(p.exact),
            prefix: Some(p.prefix),
            suffix: Some(p.suffix),
            start: Some(p.start),
            end: Some(p.end),
        }
    }
}

impl StoredSelector {
    /// The located passage, if this selector has one (an orphaned citing selector keeps its
    /// words but has no position).
    pub fn passage(&self) -> Option<Passage> {
        Some(Passage {
            exact: self.exact.clone()?,
            prefix: self.prefix.clone().unwrap_or_default(),
            suffix: self.suffix.clone().unwrap_or_default(),
            start: self.start?,
            end: self.end?,
        })
    }

    fn is_empty(&self) -> bool {
        *self == StoredSelector::default()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Citation {
    pub id: CitationId,
    /// The same for every row of one citation as it follows a document's revisions.
    pub lineage: CitationId,
    pub origin: Option<CitationId>,
    pub citing_document: DocumentId,
    pub citing_revision: RevisionHash,
    pub relation: CitationRelation,
    pub target: CitationTarget,
    pub citing_passage: Option<StoredSelector>,
    pub target_passage: Option<StoredSelector>,
    pub anchor: AnchorState,
    pub created_by: AgentId,
    pub created_at: Timestamp,
}

impl Citation {
    /// The words whose presence in the cited text a verification checks: the cited-side
    /// quote if given, else the citing passage.
    pub fn quoted_words(&self) -> Option<&str> {
        self.target_passage
            .as_ref()
            .and_then(|s| s.exact.as_deref())
            .or_else(|| self.citing_passage.as_ref().and_then(|s| s.exact.as_deref()))
    }

    /// The position in the cited text the citation gives, if any.
    pub fn target_position(&self) -> Option<(usize, usize)> {
        let selector = self.target_passage.as_ref()?;
        Some((selector.start?, selector.end?))
    }
}

/// The quote columns, each sealed bound to its citation and its name.
const QUOTES: [&str; 6] = [
    "citing_exact",
    "citing_prefix",
    "citing_suffix",
    "target_exact",
    "target_prefix",
    "target_suffix",
];

/// The quote fields of a row, in the order of `QUOTES`.
fn quotes_of(row: &mut citation::Model) -> [&mut Option<String>; 6] {
    [
        &mut row.citing_exact,
        &mut row.citing_prefix,
        &mut row.citing_suffix,
        &mut row.target_exact,
        &mut row.target_prefix,
        &mut row.target_suffix,
    ]
}

/// Opens the quotes of `row` (sealed under the bucket key of its citing revision's hash), or
/// seals them, in place.
pub(super) fn open_quotes(row: &mut citation::Model, keys: &Keys) -> StoreResult<()> {
    if !row.sealed {
        return Ok(());
    }
    let key = keys.of(row.citing_revision_hash.hex())?.clone();
    let id = row.id;
    for (name, field) in QUOTES.iter().zip(quotes_of(row)) {
        *field = seal::open_field(&key, &format!("{id}/{name}"), field.take()).map_err(|_| {
            StoreError::Unexpected(anyhow::anyhow!("citation {id}: {name} does not open"))
        })?;
    }
    row.sealed = false;
    Ok(())
}

pub(super) fn seal_quotes(row: &mut citation::Model, keys: &Keys) -> StoreResult<()> {
    if row.sealed {
        return Ok(());
    }
    let key = keys.of(row.citing_revision_hash.hex())?.clone();
    let id = row.id;
    for (name, field) in QUOTES.iter().zip(quotes_of(row)) {
        *field = seal::seal_field(&key, &format!("{id}/{name}"), field.take());
    }
    row.sealed = true;
    Ok(())
}

/// Citations from their rows as read through `conn`, quotes opened.
pub(super) async fn opened(
    conn: &impl ConnectionTrait,
    mut rows: Vec<citation::Model>,
) -> StoreResult<Vec<Citation>> {
    let sealed = rows.iter().filter(|r| r.sealed).map(|r| r.citing_revision_hash.hex());
    let keys = seal::keys_to_open(conn, sealed).await?;
    for row in &mut rows {
        open_quotes(row, &keys)?;
    }
    rows.into_iter().map(Citation::try_from).collect()
}

/// From a row whose quotes are open (`opened`).
impl TryFrom<citation::Model> for Citation {
    type Error = StoreError;
    fn try_from(row: citation::Model) -> StoreResult<Self> {
        let unreadable =
            |what: &str| StoreError::Unexpected(anyhow::anyhow!("unreadable citations.{what}"));
        if row.sealed {
            return Err(unreadable("sealed quotes"));
        }
        let target = match (row.target_document_id, row.target_source_id) {
            (Some(id), None) => {
                CitationTarget::Document { id: id.into(), pinned: row.target_revision_hash }
            }
            (None, Some(id)) => CitationTarget::Source(id.into()),
            _ => return Err(unreadable("target")),
        };
        let position = |v: Option<i64>| v.and_then(|v| usize::try_from(v).ok());
        let citing = StoredSelector {
            exact: row.citing_exact,
            prefix: row.citing_prefix,
            suffix: row.citing_suffix,
            start: position(row.citing_start),
            end: position(row.citing_end),
        };
        let cited = StoredSelector {
            exact: row.target_exact,
            prefix: row.target_prefix,
            suffix: row.target_suffix,
            start: position(row.target_start),
            end: position(row.target_end),
        };
        Ok(Citation {
            id: row.id.into(),
            lineage: row.lineage_id.into(),
            origin: row.origin_id.map(CitationId::from),
            citing_document: row.citing_document_id.into(),
            citing_revision: row.citing_revision_hash,
            relation: row.relation.parse().map_err(|_| unreadable("relation"))?,
            target,
            citing_passage: (!citing.is_empty()).then_some(citing),
            target_passage: (!cited.is_empty()).then_some(cited),
            anchor: row.anchor.parse().map_err(|_| unreadable("anchor"))?,
            created_by: row.created_by.into(),
            created_at: Timestamp::from_micros(row.created_at),
        })
    }
}

/// The row of `c`, its quotes sealed with `keys` (which hold its citing revision's bucket).
pub(super) fn row_of(c: &Citation, keys: &Keys) -> StoreResult<citation::ActiveModel> {
    let mut row = model_of(c);
    seal_quotes(&mut row, keys)?;
    Ok(row.into())
}

fn model_of(c: &Citation) -> citation::Model {
    let (target_document, pinned, target_source) = match &c.target {
        CitationTarget::Document { id, pinned } => (Some(id.as_uuid()), pinned.clone(), None),
        CitationTarget::Source(id) => (None, None, Some(id.as_uuid())),
    };
    let citing = c.citing_passage.clone().unwrap_or_default();
    let cited = c.target_passage.clone().unwrap_or_default();
    let position = |v: Option<usize>| v.map(|v| v as i64);
    citation::Model {
        id: c.id.as_uuid(),
        lineage_id: c.lineage.as_uuid(),
        origin_id: c.origin.map(|o| o.as_uuid()),
        citing_document_id: c.citing_document.as_uuid(),
        citing_revision_hash: c.citing_revision.clone(),
        relation: c.relation.as_str().to_owned(),
        target_document_id: target_document,
        target_revision_hash: pinned,
        target_source_id: target_source,
        citing_exact: citing.exact,
        citing_prefix: citing.prefix,
        citing_suffix: citing.suffix,
        citing_start: position(citing.start),
        citing_end: position(citing.end),
        target_exact: cited.exact,
        target_prefix: cited.prefix,
        target_suffix: cited.suffix,
        target_start: position(cited.start),
        target_end: position(cited.end),
        anchor: c.anchor.as_str().to_owned(),
        created_by: c.created_by.as_uuid(),
        created_at: c.created_at.micros(),
        sealed: false,
    }
}

impl Store {
    /// The citations among `ids` that exist, made by documents `viewer` may read.
    pub async fn citations_by_ids(
        &self,
        viewer: &Viewer,
        ids: &[CitationId],
    ) -> StoreResult<Vec<Citation>> {
        let citing = Expr::col((citation::Entity, citation::Column::CitingDocumentId));
        let rows = citation::Entity::find()
            .filter(citation::Column::Id.is_in(ids.iter().map(|id| id.as_uuid())))
            .filter(viewer.readable_document_ids(citing))
            .all(&self.db)
            .await?;
        opened(&self.db, rows).await
    }

    /// One page of the citations a revision makes, in the order they were recorded.
    pub async fn citations_of_revision(
        &self,
        revision: &RevisionHash,
        page: PageRequest<Uuid>,
    ) -> StoreResult<Page<Citation>> {
        let condition = citation::Column::CitingRevisionHash.eq(revision.clone());
        self.citation_page(condition, page).await
    }

    pub async fn count_citations_of_revision(&self, revision: &RevisionHash) -> StoreResult<u64> {
        Ok(citation::Entity::find()
            .filter(citation::Column::CitingRevisionHash.eq(revision.clone()))
            .count(&self.db)
            .await?)
    }

    /// One page of the citations of `document` made by the current heads of their citing
    /// documents (so each citation counts once, however many revisions carried it).
    /// Only citations by documents `viewer` may read are listed and counted.
    pub async fn citations_of_target(
        &self,
        viewer: &Viewer,
        document: DocumentId,
        page: PageRequest<Uuid>,
    ) -> StoreResult<Page<Citation>> {
        self.citation_page(cited_by_heads(viewer, document), page).await
    }

    pub async fn count_citations_of_target(
        &self,
        viewer: &Viewer,
        document: DocumentId,
    ) -> StoreResult<u64> {
        let condition = cited_by_heads(viewer, document);
        Ok(citation::Entity::find().filter(condition).count(&self.db).await?)
    }

    async fn citation_page(
        &self,
        condition: impl sea_orm::sea_query::IntoCondition,
        page: PageRequest<Uuid>,
    ) -> StoreResult<Page<Citation>> {
        let query = citation::Entity::find().filter(condition);
        let rows = uuid_window(query, citation::Column::Id, &page).all(&self.db).await?;
        let rows = opened(&self.db, rows).await?;
        Ok(Page::from_probe(rows, page.limit, page.direction))
    }
}

fn cited_by_heads(viewer: &Viewer, document: DocumentId) -> sea_orm::Condition {
    let heads =
        Query::select().column(document::Column::HeadHash).from(document::Entity).to_owned();
    let citing = Expr::col((citation::Entity, citation::Column::CitingDocumentId));
    sea_orm::Condition::all()
        .add(citation::Column::TargetDocumentId.eq(document.as_uuid()))
        .add(Expr::col(citation::Column::CitingRevisionHash).in_subquery(heads))
        .add(viewer.readable_document_ids(citing))
}

impl Store {
    /// Citations made by current heads and pinned to a revision that is no longer the cited
    /// document's head, by id after `after`, at most `limit`.
    /// Only citations between documents `viewer` may read both of: a drift carries the cited
    /// text's verdicts.
    pub(crate) async fn pinned_behind_heads(
        &self,
        viewer: &Viewer,
        after: Option<CitationId>,
        limit: u64,
    ) -> StoreResult<Vec<Citation>> {
        let heads =
            Query::select().column(document::Column::HeadHash).from(document::Entity).to_owned();
        let moved_on = Query::select()
            .column(document::Column::Id)
            .from(document::Entity)
            .and_where(
                Expr::col((document::Entity, document::Column::Id))
                    .equals((citation::Entity, citation::Column::TargetDocumentId)),
            )
            .and_where(
                Expr::col((document::Entity, document::Column::HeadHash))
                    .ne(Expr::col((citation::Entity, citation::Column::TargetRevisionHash))),
            )
            .to_owned();
        let mut query = citation::Entity::find()
            .filter(citation::Column::TargetRevisionHash.is_not_null())
            .filter(Expr::col(citation::Column::CitingRevisionHash).in_subquery(heads))
            .filter(Expr::exists(moved_on))
            .filter(viewer.readable_document_ids(Expr::col((
                citation::Entity,
                citation::Column::CitingDocumentId,
            ))))
            .filter(viewer.readable_document_ids(Expr::col((
                citation::Entity,
                citation::Column::TargetDocumentId,
            ))));
        if let Some(after) = after {
            query = query.filter(citation::Column::Id.gt(after.as_uuid()));
        }
        let rows = query.order_by_asc(citation::Column::Id).limit(limit).all(&self.db).await?;
        opened(&self.db, rows).await
    }

    /// Every citation the given revisions make, in one query.
    pub async fn citations_made_by(
        &self,
        revisions: &[RevisionHash],
    ) -> StoreResult<Vec<Citation>> {
        let rows = citation::Entity::find()
            .filter(citation::Column::CitingRevisionHash.is_in(revisions.iter().cloned()))
            .order_by_asc(citation::Column::Id)
            .all(&self.db)
            .await?;
        opened(&self.db, rows).await
    }
}
