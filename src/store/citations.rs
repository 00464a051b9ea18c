//! Citations: a document, at a revision, cites another document (optionally pinned to one of
//! its revisions) or an external source, optionally down to passages on both sides.
//!
//! Citation rows are immutable and belong to one citing revision. Revising a document carries
//! each citation of the parent revision into the new one, in the same transaction: re-anchored
//! if its exact passage is still there, orphaned if not (see `passage::reanchor`).

use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder,
};
use uuid::Uuid;

use super::page::{Page, PageRequest, uuid_window};
use super::types::*;
use super::{Revision, Store, StoreError, StoreResult};
use crate::entity::{citation, document};
use crate::passage::{self, Passage, Selector};

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

/// A new citation from the head of `document`.
#[derive(Debug, Clone)]
pub struct AddCitation {
    pub document: DocumentId,
    /// The head the client saw; if the head has moved on, nothing is written.
    pub expected_head: Option<RevisionHash>,
    pub relation: CitationRelation,
    pub target: CitationTarget,
    pub citing: Option<Selector>,
    pub target_selector: Option<Selector>,
}

fn selector_invalid(field: &'static str, err: passage::SelectorError) -> StoreError {
    InvalidValue::new(field, err.to_string()).into()
}

impl TryFrom<citation::Model> for Citation {
    type Error = StoreError;
    fn try_from(row: citation::Model) -> StoreResult<Self> {
        let unreadable =
            |what: &str| StoreError::Unexpected(anyhow::anyhow!("unreadable citations.{what}"));
        let target = match (row.target_document_id, row.target_source_id) {
            (Some(id), None) => CitationTarget::Document {
                id: id.into(),
                pinned: row.target_revision_hash.map(RevisionHash::from_trusted),
            },
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
            citing_revision: RevisionHash::from_trusted(row.citing_revision_hash),
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

fn row_of(c: &Citation) -> citation::ActiveModel {
    let (target_document, pinned, target_source) = match &c.target {
        CitationTarget::Document { id, pinned } => {
            (Some(id.as_uuid()), pinned.as_ref().map(|h| h.as_str().to_owned()), None)
        }
        CitationTarget::Source(id) => (None, None, Some(id.as_uuid())),
    };
    let citing = c.citing_passage.clone().unwrap_or_default();
    let cited = c.target_passage.clone().unwrap_or_default();
    let position = |v: Option<usize>| v.map(|v| v as i64);
    citation::ActiveModel {
        id: Set(c.id.as_uuid()),
        lineage_id: Set(c.lineage.as_uuid()),
        origin_id: Set(c.origin.map(|o| o.as_uuid())),
        citing_document_id: Set(c.citing_document.as_uuid()),
        citing_revision_hash: Set(c.citing_revision.as_str().to_owned()),
        relation: Set(c.relation.as_str().to_owned()),
        target_document_id: Set(target_document),
        target_revision_hash: Set(pinned),
        target_source_id: Set(target_source),
        citing_exact: Set(citing.exact),
        citing_prefix: Set(citing.prefix),
        citing_suffix: Set(citing.suffix),
        citing_start: Set(position(citing.start)),
        citing_end: Set(position(citing.end)),
        target_exact: Set(cited.exact),
        target_prefix: Set(cited.prefix),
        target_suffix: Set(cited.suffix),
        target_start: Set(position(cited.start)),
        target_end: Set(position(cited.end)),
        anchor: Set(c.anchor.as_str().to_owned()),
        created_by: Set(c.created_by.as_uuid()),
        created_at: Set(c.created_at.micros()),
    }
}

impl Store {
    /// Records a citation from the head of a document.
    #[tracing::instrument(skip_all, fields(document = %input.document))]
    pub async fn add_citation(&self, input: AddCitation, author: AgentId) -> StoreResult<Citation> {
        for (side, selector) in
            [("passage", &input.citing), ("targetPassage", &input.target_selector)]
        {
            let Some(selector) = selector else { continue };
            for (part, text) in [
                ("exact", &selector.exact),
                ("prefix", &selector.prefix),
                ("suffix", &selector.suffix),
            ] {
                if let Some(text) = text
                    && text.contains('\0')
                {
                    return Err(InvalidValue::new(
                        side,
                        format!("`{part}` must not contain NUL characters (U+0000)"),
                    )
                    .into());
                }
            }
        }
        let document = self
            .document(input.document)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("document {}", input.document)))?;
        if let Some(expected) = &input.expected_head
            && *expected != document.head
        {
            return Err(StoreError::Conflict(format!(
                "the head has moved on: expected {expected}, the head is now {}",
                document.head
            )));
        }
        let head = self.required_revision(&document.head).await?;
        let citing_passage = match &input.citing {
            Some(selector) => {
                let text = self.required_content(&head).await?;
                Some(passage::resolve(&text, selector).map_err(|e| selector_invalid("citing", e))?)
            }
            None => None,
        };
        match &input.target {
            CitationTarget::Document { id, pinned } => {
                if self.document(*id).await?.is_none() {
                    return Err(StoreError::NotFound(format!("document {id}")));
                }
                if let Some(pin) = pinned {
                    let revision = self
                        .revision(pin)
                        .await?
                        .ok_or_else(|| StoreError::NotFound(format!("revision {pin}")))?;
                    if revision.document_id != *id {
                        return Err(InvalidValue::new(
                            "target.revision",
                            format!(
                                "revision {pin} belongs to document {}, not {id}",
                                revision.document_id
                            ),
                        )
                        .into());
                    }
                }
            }
            CitationTarget::Source(id) => {
                if self.sources_by_ids(&[*id]).await?.is_empty() {
                    return Err(StoreError::NotFound(format!("source {id}")));
                }
            }
        }
        let target_passage = input.target_selector.map(check_target_selector).transpose()?;

        let id = CitationId::generate();
        let citation = Citation {
            id,
            lineage: id,
            origin: None,
            citing_document: document.id,
            citing_revision: head.hash.clone(),
            relation: input.relation,
            target: input.target,
            citing_passage: citing_passage.map(StoredSelector::from),
            target_passage,
            anchor: AnchorState::Created,
            created_by: author,
            created_at: Timestamp::now(),
        };
        let tx = self.begin_write().await?;
        // Hold the head still while the citation lands on it, so that a concurrent revision
        // either carries this citation forward or makes this write fail.
        let held = document::Entity::update_many()
            .col_expr(document::Column::HeadHash, Expr::col(document::Column::HeadHash))
            .filter(document::Column::Id.eq(document.id.as_uuid()))
            .filter(document::Column::HeadHash.eq(head.hash.as_str()))
            .exec(&tx)
            .await?;
        if held.rows_affected != 1 {
            tx.rollback().await?;
            return Err(StoreError::Conflict("the head moved on while citing; retry".into()));
        }
        citation::Entity::insert(row_of(&citation)).exec_without_returning(&tx).await?;
        tx.commit().await?;
        Ok(citation)
    }

    pub async fn citations_by_ids(&self, ids: &[CitationId]) -> StoreResult<Vec<Citation>> {
        citation::Entity::find()
            .filter(citation::Column::Id.is_in(ids.iter().map(|id| id.as_uuid())))
            .all(&self.db)
            .await?
            .into_iter()
            .map(Citation::try_from)
            .collect()
    }

    /// One page of the citations a revision makes, in the order they were recorded.
    pub async fn citations_of_revision(
        &self,
        revision: &RevisionHash,
        page: PageRequest<Uuid>,
    ) -> StoreResult<Page<Citation>> {
        let condition = citation::Column::CitingRevisionHash.eq(revision.as_str());
        self.citation_page(condition, page).await
    }

    pub async fn count_citations_of_revision(&self, revision: &RevisionHash) -> StoreResult<u64> {
        Ok(citation::Entity::find()
            .filter(citation::Column::CitingRevisionHash.eq(revision.as_str()))
            .count(&self.db)
            .await?)
    }

    /// One page of the citations of `document` made by the current heads of their citing
    /// documents (so each citation counts once, however many revisions carried it).
    pub async fn citations_of_target(
        &self,
        document: DocumentId,
        page: PageRequest<Uuid>,
    ) -> StoreResult<Page<Citation>> {
        self.citation_page(cited_by_heads(document), page).await
    }

    pub async fn count_citations_of_target(&self, document: DocumentId) -> StoreResult<u64> {
        Ok(citation::Entity::find().filter(cited_by_heads(document)).count(&self.db).await?)
    }

    async fn citation_page(
        &self,
        condition: impl sea_orm::sea_query::IntoCondition,
        page: PageRequest<Uuid>,
    ) -> StoreResult<Page<Citation>> {
        let query = citation::Entity::find().filter(condition);
        let rows = uuid_window(query, citation::Column::Id, &page).all(&self.db).await?;
        let rows = rows.into_iter().map(Citation::try_from).collect::<StoreResult<Vec<_>>>()?;
        Ok(Page::from_probe(rows, page.limit, page.direction))
    }

    pub(crate) async fn required_revision(&self, hash: &RevisionHash) -> StoreResult<Revision> {
        self.revision(hash)
            .await?
            .ok_or_else(|| StoreError::Unexpected(anyhow::anyhow!("revision {hash} is missing")))
    }

    pub(crate) async fn required_content(&self, revision: &Revision) -> StoreResult<String> {
        self.contents_by_hashes(std::slice::from_ref(&revision.content_hash))
            .await?
            .pop()
            .map(|(_, text)| text)
            .ok_or_else(|| {
                StoreError::Unexpected(anyhow::anyhow!(
                    "content {} is missing",
                    revision.content_hash
                ))
            })
    }
}

fn cited_by_heads(document: DocumentId) -> sea_orm::Condition {
    let heads =
        Query::select().column(document::Column::HeadHash).from(document::Entity).to_owned();
    sea_orm::Condition::all()
        .add(citation::Column::TargetDocumentId.eq(document.as_uuid()))
        .add(Expr::col(citation::Column::CitingRevisionHash).in_subquery(heads))
}

fn check_target_selector(selector: Selector) -> StoreResult<StoredSelector> {
    let invalid = |reason: &str| StoreError::from(InvalidValue::new("target.passage", reason));
    match (selector.start, selector.end) {
        (Some(start), Some(end)) if start >= end => {
            return Err(invalid("`start` must be smaller than `end`"));
        }
        (Some(_), None) | (None, Some(_)) => return Err(invalid("`start` and `end` go together")),
        (None, None) if selector.exact.as_deref().is_none_or(str::is_empty) => {
            return Err(invalid("give `exact`, or `start` and `end`"));
        }
        _ => {}
    }
    if selector.exact.as_deref() == Some("") {
        return Err(invalid("`exact` is empty"));
    }
    Ok(StoredSelector {
        exact: selector.exact,
        prefix: selector.prefix,
        suffix: selector.suffix,
        start: selector.start,
        end: selector.end,
    })
}

/// Writes, inside a revision's transaction, the rows that carry `parent`'s citations into
/// `revision`, whose text is `content`.
pub(crate) async fn carry_citations(
    tx: &impl ConnectionTrait,
    parent: &RevisionHash,
    revision: &RevisionHash,
    content: &str,
) -> StoreResult<usize> {
    let rows = citation::Entity::find()
        .filter(citation::Column::CitingRevisionHash.eq(parent.as_str()))
        .order_by_asc(citation::Column::Id)
        .all(tx)
        .await?;
    let count = rows.len();
    let now = Timestamp::now();
    for row in rows {
        let old = Citation::try_from(row)?;
        let (citing_passage, anchor) = match &old.citing_passage {
            None => (None, AnchorState::Carried),
            Some(stored) => {
                // An orphaned row keeps its words without a position; it is looked for afresh.
                let wanted = stored.passage().or_else(|| {
                    Some(Passage {
                        exact: stored.exact.clone()?,
                        prefix: stored.prefix.clone().unwrap_or_default(),
                        suffix: stored.suffix.clone().unwrap_or_default(),
                        start: 0,
                        end: 0,
                    })
                });
                match wanted.and_then(|p| passage::reanchor(content, &p)) {
                    Some(found) => (Some(StoredSelector::from(found)), AnchorState::Reanchored),
                    None => (
                        Some(StoredSelector { start: None, end: None, ..stored.clone() }),
                        AnchorState::Orphaned,
                    ),
                }
            }
        };
        let follower = Citation {
            id: CitationId::generate(),
            origin: Some(old.id),
            citing_revision: revision.clone(),
            citing_passage,
            anchor,
            created_at: now,
            ..old
        };
        citation::Entity::insert(row_of(&follower)).exec_without_returning(tx).await?;
    }
    Ok(count)
}

impl Store {
    /// Every citation the given revisions make, in one query.
    pub async fn citations_made_by(
        &self,
        revisions: &[RevisionHash],
    ) -> StoreResult<Vec<Citation>> {
        citation::Entity::find()
            .filter(
                citation::Column::CitingRevisionHash.is_in(revisions.iter().map(|h| h.as_str())),
            )
            .order_by_asc(citation::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(Citation::try_from)
            .collect()
    }
}
