//! Writing citations: adding one to a document's head (holding the head still while it
//! lands), and carrying a parent revision's citations into a new revision inside that
//! revision's transaction: re-anchored if the exact passage is still there, orphaned if not
//! (see `passage::reanchor`), never lost.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use super::audit::{self, Actor, AuditTarget};
use super::citations::{Citation, CitationTarget, StoredSelector, row_of};
use super::documents::{self, Document};
use super::error::{Conflict, StoreError, StoreResult};
use super::kinds::{AnchorState, AuditAction, AuditOutcome, CitationRelation};
use super::texts::content_of;
use super::texts::seal::keys_for;
use super::transaction::WriteTransaction;
use super::values::{CitationId, DocumentId, InvalidValue, RevisionHash, Timestamp};
use super::{Missing, Store};
use super::{revisions, sources};
use crate::entity::{citation, document};
use crate::passage::{self, Passage, Selector};

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

impl Store {
    /// Records a citation from the head of a document.
    pub async fn add_citation(&self, input: AddCitation, actor: &Actor) -> StoreResult<Citation> {
        let target = AuditTarget::Document(input.document);
        self.audited(actor, AuditAction::AddCitation, target, async {
            let transaction = self.begin().await?;
            let citation = transaction.add_citation(input, actor).await?;
            transaction.commit().await?;
            Ok(citation)
        })
        .await
    }
}

impl WriteTransaction<'_> {
    /// Records a citation from the head of a document.
    #[tracing::instrument(skip_all, fields(document = %input.document))]
    pub async fn add_citation(&self, input: AddCitation, actor: &Actor) -> StoreResult<Citation> {
        // A citation is read only through the fields that depend on everything.
        self.touches(input.document);
        let document = self.document(input.document).await?;
        if let Some(expected) = &input.expected_head
            && *expected != document.head
        {
            let current = document.head.clone();
            return Err(Conflict::HeadMoved { expected: expected.clone(), current }.into());
        }
        let head = revisions::required(&self.tx, &document.head).await?;
        let citing_passage = match &input.citing {
            Some(selector) => {
                let text = content_of(&self.tx, &head).await?;
                let passage = passage::resolve(&text, selector)
                    .map_err(|e| InvalidValue::new("passage", e.to_string()))?;
                Some(passage)
            }
            None => None,
        };
        match &input.target {
            CitationTarget::Document { id, pinned } => {
                self.document(*id).await?;
                if let Some(pin) = pinned {
                    let revision = revisions::find(&self.tx, pin)
                        .await?
                        .ok_or_else(|| StoreError::NotFound(Missing::Revision(pin.clone())))?;
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
                if !sources::exists(&self.tx, *id).await? {
                    return Err(Missing::Source(*id).into());
                }
            }
        }
        let target_passage = input.target_selector.as_ref().map(StoredSelector::from);

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
            created_by: actor.agent,
            created_at: Timestamp::now(),
        };
        // Hold the head still while the citation lands on it, so that a concurrent revision
        // either carries this citation forward or makes this write fail.
        let held = document::Entity::update_many()
            .col_expr(document::Column::HeadHash, Expr::col(document::Column::HeadHash))
            .filter(document::Column::Id.eq(document.id.as_uuid()))
            .filter(document::Column::HeadHash.eq(head.hash.clone()))
            .exec(&self.tx)
            .await?;
        if held.rows_affected != 1 {
            let current = self.document(document.id).await?.head;
            return Err(Conflict::HeadMoved { expected: head.hash, current }.into());
        }
        let keys = keys_for(&self.tx, [citation.citing_revision.hex()]).await?;
        citation::Entity::insert(row_of(&citation, &keys)?)
            .exec_without_returning(&self.tx)
            .await?;
        audit::record(
            &self.tx,
            Some(actor),
            AuditAction::AddCitation,
            &AuditTarget::Document(document.id),
            AuditOutcome::Succeeded,
            Some(format!("citation {id} at revision {}", citation.citing_revision)),
        )
        .await?;
        Ok(citation)
    }

    /// The document with this id as the transaction sees it, or `NotFound`.
    async fn document(&self, id: DocumentId) -> StoreResult<Document> {
        documents::find(&self.tx, id).await?.ok_or(StoreError::NotFound(Missing::Document(id)))
    }
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
        .filter(citation::Column::CitingRevisionHash.eq(parent.clone()))
        .order_by_asc(citation::Column::Id)
        .all(tx)
        .await?;
    let count = rows.len();
    let now = Timestamp::now();
    let keys = keys_for(tx, [revision.hex()]).await?;
    for old in super::citations::opened(tx, rows).await? {
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
        citation::Entity::insert(row_of(&follower, &keys)?).exec_without_returning(tx).await?;
    }
    Ok(count)
}
