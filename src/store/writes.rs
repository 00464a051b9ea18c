//! The two commands that append a revision: creating a document with its first revision, and
//! revising a document on top of the head its writer saw (compare-and-swap on the head
//! pointer). The document row, the blob, the revision and the citations it carries land in one
//! transaction, together or not at all.

use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, SqlErr};
use tracing::Instrument;

use super::audit::{self, Actor, AuditTarget};
use super::documents::{self, Document};
use super::error::{Conflict, StoreError, StoreResult};
use super::kinds::{AuditAction, AuditOutcome, DocumentKind};
use super::live::RevisionEvent;
use super::revisions::{self, NewRevision, Revision};

use super::texts::{insert_blob, rebase_parent};
use super::transaction::WriteTransaction;
use super::values::{
    CollectionId, ContentHash, DocumentId, InvalidValue, Message, RevisionHash, Slug, SourceId,
    Timestamp, Title, reject_nul,
};
use super::{Missing, Store, access, sources};
use crate::entity::{document, revision};

const SUCCEEDED: AuditOutcome = AuditOutcome::Succeeded;

/// A new document and the content of its first revision.
#[derive(Debug, Clone)]
pub struct CreateDocument {
    pub slug: Slug,
    pub kind: DocumentKind,
    pub title: Title,
    pub content: String,
    pub message: Message,
    pub source: Option<SourceId>,
    /// Where it is kept, and until when only that collection's members may read it.
    pub placement: Placement,
}

/// Which collection a new document joins, and its embargo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    pub collection: CollectionId,
    pub publish_at: Option<Timestamp>,
}

impl Placement {
    /// The public collection, no embargo: where every document went before collections.
    pub const PUBLIC: Placement = Placement { collection: CollectionId::PUBLIC, publish_at: None };
}

impl Default for Placement {
    fn default() -> Self {
        Self::PUBLIC
    }
}

/// A new revision on top of `expected_head`. The title is kept from the parent when `None`;
/// the source is not inherited: a revision's source says where its own text came from.
#[derive(Debug, Clone)]
pub struct ReviseDocument {
    pub document: DocumentId,
    pub expected_head: RevisionHash,
    pub content: String,
    pub title: Option<Title>,
    pub message: Message,
    pub source: Option<SourceId>,
}

/// What a write produced: the document as it now stands and the revision it appended.
#[derive(Debug, Clone)]
pub struct WriteOutcome {
    pub document: Document,
    pub revision: Revision,
}

impl Store {
    /// Creates a document with its first revision, authored by the actor's agent.
    pub async fn create_document(
        &self,
        input: CreateDocument,
        actor: &Actor,
    ) -> StoreResult<WriteOutcome> {
        let target = AuditTarget::Slug(input.slug.clone());
        self.audited(actor, AuditAction::CreateDocument, target, async {
            let transaction = self.begin().await?;
            let outcome = transaction.create_document(input, actor).await?;
            transaction.commit().await?;
            Ok(outcome)
        })
        .await
    }

    /// Appends a revision to a document whose head is still `expected_head`. If another writer
    /// moved the head first, nothing is written and the caller gets `Conflict`.
    pub async fn revise_document(
        &self,
        input: ReviseDocument,
        actor: &Actor,
    ) -> StoreResult<WriteOutcome> {
        let target = AuditTarget::Document(input.document);
        self.audited(actor, AuditAction::ReviseDocument, target, async {
            let transaction = self.begin().await?;
            let outcome = transaction.revise_document(input, actor).await?;
            transaction.commit().await?;
            Ok(outcome)
        })
        .await
    }
}

impl WriteTransaction<'_> {
    /// Creates a document with its first revision, authored by the actor's agent.
    #[tracing::instrument(skip_all, fields(slug = %input.slug))]
    pub async fn create_document(
        &self,
        input: CreateDocument,
        actor: &Actor,
    ) -> StoreResult<WriteOutcome> {
        let author = actor.agent;
        self.check_content(&input.content)?;
        self.check_source_exists(input.source).await?;
        let placement = input.placement;
        let visibility = access::collection_visibility(&self.tx, placement.collection).await?;
        let public_from = access::public_from(visibility, placement.publish_at);
        let id = DocumentId::generate();
        // Lists of documents and their counts read `LISTED`; what else a new document changes
        // (searches, an answer that found no document) reads everything, and goes with any
        // change.
        self.touches(id);
        self.touches(DocumentId::LISTED);
        let now = Timestamp::now();
        let content_hash = ContentHash::of(&input.content);
        let (mut revision_row, mut revision) = NewRevision {
            document: id,
            number: 1,
            parent: None,
            title: &input.title,
            content: &input.content,
            content_hash: &content_hash,
            message: &input.message,
            author,
            source: input.source,
            created_at: now,
        }
        .seal();
        let document = Document {
            id,
            slug: input.slug,
            kind: input.kind,
            head: revision.hash.clone(),
            created_at: now,
            updated_at: now,
            collection: placement.collection,
            publish_at: placement.publish_at,
            public_from: public_from.map(Timestamp::from_micros),
        };

        let inserted = document::Entity::insert(document::ActiveModel {
            id: Set(id.as_uuid()),
            slug: Set(document.slug.as_str().to_owned()),
            kind: Set(document.kind.as_str().to_owned()),
            head_hash: Set(revision.hash.clone()),
            created_at: Set(now.micros()),
            updated_at: Set(now.micros()),
            collection_id: Set(placement.collection.as_uuid()),
            publish_at: Set(placement.publish_at.map(|at| at.micros())),
            public_from: Set(public_from),
        })
        .exec_without_returning(&self.tx)
        .await;
        if let Err(err) = inserted {
            return Err(match err.sql_err() {
                Some(SqlErr::UniqueConstraintViolation(_)) => {
                    Conflict::SlugTaken(document.slug.clone()).into()
                }
                _ => err.into(),
            });
        }
        insert_blob(&self.tx, &content_hash, &input.content).await?;
        revisions::log(self, &mut revision_row, &mut revision).await?;
        revision::Entity::insert(revision_row).exec_without_returning(&self.tx).await?;
        self.index_at_commit(id, 1, &revision.title, &input.content);
        self.announce(RevisionEvent {
            document: id,
            number: 1,
            hash: revision.hash.clone(),
            previous: None,
        });
        let detail = format!("revision {}", revision.hash);
        let target = AuditTarget::Document(id);
        audit::record(
            &self.tx,
            Some(actor),
            AuditAction::CreateDocument,
            &target,
            SUCCEEDED,
            Some(detail),
        )
        .await?;
        tracing::info!(document = %id, revision = %revision.hash, "document created");
        Ok(WriteOutcome { document, revision })
    }

    /// Appends a revision to a document whose head is still `expected_head`. If another writer
    /// moved the head first, nothing is written and the caller gets `Conflict`.
    #[tracing::instrument(skip_all, fields(document = %input.document))]
    pub async fn revise_document(
        &self,
        input: ReviseDocument,
        actor: &Actor,
    ) -> StoreResult<WriteOutcome> {
        let author = actor.agent;
        self.check_content(&input.content)?;
        let document = documents::find(&self.tx, input.document)
            .await?
            .ok_or(StoreError::NotFound(Missing::Document(input.document)))?;
        let parent =
            revisions::revision_of(&self.tx, &document, Some(&input.expected_head)).await?;
        if document.head != parent.hash {
            let current = document.head.clone();
            return Err(Conflict::HeadMoved { expected: parent.hash, current }.into());
        }
        // The parent's title was valid when it was stored; a rule tightened since must not
        // make the document unrevisable.
        let title = input.title.unwrap_or_else(|| Title::from_stored(parent.title.clone()));
        let content_hash = ContentHash::of(&input.content);
        if title.as_str() == parent.title
            && content_hash == parent.content_hash
            && input.source == parent.source
        {
            return Err(InvalidValue::new(
                "content",
                "the revision is identical to the head (same title, content and source)",
            )
            .into());
        }
        // Said before anything is written. A list of documents shows the head's title and
        // source: a revision that keeps both leaves it as it was.
        match title.as_str() == parent.title && input.source == parent.source {
            true => self.touches_history(document.id),
            false => self.touches(document.id),
        }
        self.check_source_exists(input.source).await?;

        // Microsecond timestamps must strictly increase along a history, even if the clock
        // steps back, so that "head at instant t" always has one answer.
        let created_at = Timestamp::now().max(parent.created_at.next());
        let (mut revision_row, mut revision) = NewRevision {
            document: document.id,
            number: parent.number + 1,
            parent: Some(&parent.hash),
            title: &title,
            content: &input.content,
            content_hash: &content_hash,
            message: &input.message,
            author,
            source: input.source,
            created_at,
        }
        .seal();

        // Compare-and-swap on the head pointer: of concurrent writers with the same expected
        // head, exactly one matches a row.
        let moved = document::Entity::update_many()
            .col_expr(document::Column::HeadHash, Expr::value(revision.hash.clone()))
            .col_expr(document::Column::UpdatedAt, created_at.micros().into())
            .filter(document::Column::Id.eq(document.id.as_uuid()))
            .filter(document::Column::HeadHash.eq(parent.hash.clone()))
            .exec(&self.tx)
            .await?;
        if moved.rows_affected != 1 {
            let current = documents::find(&self.tx, document.id)
                .await?
                .ok_or(StoreError::NotFound(Missing::Document(document.id)))?
                .head;
            return Err(Conflict::HeadMoved { expected: parent.hash, current }.into());
        }
        let text = async {
            if insert_blob(&self.tx, &content_hash, &input.content).await? {
                rebase_parent(&self.tx, &parent.content_hash, &content_hash, &input.content)
                    .await?;
            }
            Ok::<_, StoreError>(())
        };
        text.instrument(tracing::debug_span!("write_text")).await?;
        revisions::log(self, &mut revision_row, &mut revision)
            .instrument(tracing::debug_span!("write_log"))
            .await?;
        let inserted =
            revision::Entity::insert(revision_row).exec_without_returning(&self.tx).await;
        if let Err(err) = inserted {
            // The one-child-per-parent index is the last line of defence for a single chain.
            return Err(match err.sql_err() {
                Some(SqlErr::UniqueConstraintViolation(_)) => {
                    Conflict::ParentHasChild(parent.hash).into()
                }
                _ => err.into(),
            });
        }
        super::citing::carry_citations(&self.tx, &parent.hash, &revision.hash, &input.content)
            .await?;
        self.index_at_commit(document.id, revision.number, &revision.title, &input.content);
        self.announce(RevisionEvent {
            document: document.id,
            number: revision.number,
            hash: revision.hash.clone(),
            previous: Some(parent.hash.clone()),
        });
        let detail = format!("revision {}", revision.hash);
        let target = AuditTarget::Document(document.id);
        audit::record(
            &self.tx,
            Some(actor),
            AuditAction::ReviseDocument,
            &target,
            SUCCEEDED,
            Some(detail),
        )
        .await?;
        tracing::info!(revision = %revision.hash, number = revision.number, "document revised");
        let document = Document { head: revision.hash.clone(), updated_at: created_at, ..document };
        Ok(WriteOutcome { document, revision })
    }

    /// Content is refused when it is too large, or when it holds NUL: PostgreSQL cannot store
    /// it and text with NUL is not a document, so neither database takes it.
    fn check_content(&self, content: &str) -> StoreResult<()> {
        let limit = self.store.limits.max_content_bytes;
        if content.len() > limit {
            return Err(StoreError::TooLarge { what: "content", size: content.len(), limit });
        }
        reject_nul("content", content)?;
        Ok(())
    }

    async fn check_source_exists(&self, source_id: Option<SourceId>) -> StoreResult<()> {
        match source_id {
            Some(id) if !sources::exists(&self.tx, id).await? => Err(Missing::Source(id).into()),
            _ => Ok(()),
        }
    }
}
