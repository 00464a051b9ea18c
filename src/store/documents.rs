//! Documents and their revisions: the two writes (create, revise) and every read of them.

use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, DbErr,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, SqlErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use uuid::Uuid;

use super::hashing::RevisionHeader;
use super::page::{Direction, Page, PageRequest};
use super::types::*;
use super::{Store, StoreError, StoreResult};
use crate::entity::{blob, document, revision, source};

/// A document: a logical work with a stable id, a unique slug and a head revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub id: DocumentId,
    pub slug: Slug,
    pub kind: DocumentKind,
    pub head: RevisionHash,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// One immutable state of a document, identified by its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    pub hash: RevisionHash,
    pub document_id: DocumentId,
    /// Position in the document's history: 1 for the first revision.
    pub number: i64,
    pub parent: Option<RevisionHash>,
    pub title: String,
    pub content_hash: ContentHash,
    pub author: AgentId,
    pub message: String,
    pub source: Option<SourceId>,
    pub created_at: Timestamp,
    /// The canonical header bytes the hash was computed from, verbatim.
    pub header: String,
    /// The size of the text in bytes of UTF-8.
    pub content_bytes: u64,
}

/// A new document and the content of its first revision.
#[derive(Debug, Clone)]
pub struct CreateDocument {
    pub slug: Slug,
    pub kind: DocumentKind,
    pub title: Title,
    pub content: String,
    pub message: Message,
    pub source: Option<SourceId>,
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

#[derive(Debug, Clone, Default)]
pub struct DocumentFilter {
    pub kind: Option<DocumentKind>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DocumentOrderField {
    #[default]
    CreatedAt,
    UpdatedAt,
    Slug,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DocumentOrder {
    pub field: DocumentOrderField,
    pub descending: bool,
}

/// Where a page of documents starts or ends: the sort key of a document under one ordering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentCursor {
    /// `created_at` or `updated_at` (microseconds), then the id to break ties.
    Time(i64, Uuid),
    Slug(String),
}

impl DocumentCursor {
    /// A compact text form (`t:<micros>:<uuid>` or `s:<slug>`); the API wraps it opaquely.
    pub fn encode(&self) -> String {
        match self {
            DocumentCursor::Time(micros, id) => format!("t:{micros}:{id}"),
            DocumentCursor::Slug(slug) => format!("s:{slug}"),
        }
    }

    pub fn decode(raw: &str) -> Option<Self> {
        if let Some(slug) = raw.strip_prefix("s:") {
            // Only a well-formed slug can be a position among slugs (and NUL, which
            // PostgreSQL refuses, never reaches a query).
            return Slug::parse(slug)
                .ok()
                .map(|slug| DocumentCursor::Slug(slug.as_str().to_owned()));
        }
        let (micros, id) = raw.strip_prefix("t:")?.split_once(':')?;
        Some(DocumentCursor::Time(micros.parse().ok()?, Uuid::try_parse(id).ok()?))
    }
}

impl Document {
    /// The key this document sorts by under `order`, to hand back as a cursor.
    pub fn cursor(&self, order: DocumentOrder) -> DocumentCursor {
        match order.field {
            DocumentOrderField::CreatedAt => {
                DocumentCursor::Time(self.created_at.micros(), self.id.as_uuid())
            }
            DocumentOrderField::UpdatedAt => {
                DocumentCursor::Time(self.updated_at.micros(), self.id.as_uuid())
            }
            DocumentOrderField::Slug => DocumentCursor::Slug(self.slug.as_str().to_owned()),
        }
    }
}

impl TryFrom<document::Model> for Document {
    type Error = StoreError;
    fn try_from(row: document::Model) -> StoreResult<Self> {
        Ok(Document {
            id: row.id.into(),
            slug: Slug::from_trusted(row.slug),
            kind: row.kind.parse().map_err(|e| corrupt("documents.kind", e))?,
            head: RevisionHash::from_trusted(row.head_hash),
            created_at: Timestamp::from_micros(row.created_at),
            updated_at: Timestamp::from_micros(row.updated_at),
        })
    }
}

impl From<revision::Model> for Revision {
    fn from(row: revision::Model) -> Self {
        Revision {
            hash: RevisionHash::from_trusted(row.hash),
            document_id: row.document_id.into(),
            number: row.number,
            parent: row.parent_hash.map(RevisionHash::from_trusted),
            title: row.title,
            content_hash: ContentHash::from_trusted(row.content_sha256),
            author: row.author_id.into(),
            message: row.message,
            source: row.source_id.map(SourceId::from),
            created_at: Timestamp::from_micros(row.created_at),
            header: row.header,
            content_bytes: row.content_bytes.max(0) as u64,
        }
    }
}

fn corrupt(column: &str, err: impl std::fmt::Display) -> StoreError {
    StoreError::Unexpected(anyhow::anyhow!("unreadable value in {column}: {err}"))
}

/// The parts of a new revision that the store derives rather than takes from the caller.
struct NewRevision<'a> {
    document: DocumentId,
    number: i64,
    parent: Option<&'a RevisionHash>,
    title: &'a Title,
    content: &'a str,
    message: &'a Message,
    author: AgentId,
    source: Option<SourceId>,
    created_at: Timestamp,
}

impl NewRevision<'_> {
    fn seal(&self) -> (ContentHash, revision::ActiveModel, Revision) {
        let content_hash = ContentHash::of(self.content);
        let header = RevisionHeader {
            document: self.document,
            parent: self.parent,
            title: self.title,
            content_sha256: &content_hash,
            author: self.author,
            created_at: self.created_at,
            message: self.message,
            source: self.source,
        };
        let (canonical, hash) = header.hash();
        let revision = Revision {
            hash,
            document_id: self.document,
            number: self.number,
            parent: self.parent.cloned(),
            title: self.title.as_str().to_owned(),
            content_hash: content_hash.clone(),
            author: self.author,
            message: self.message.as_str().to_owned(),
            source: self.source,
            created_at: self.created_at,
            header: canonical,
            content_bytes: self.content.len() as u64,
        };
        let row = revision::ActiveModel {
            hash: Set(revision.hash.as_str().to_owned()),
            document_id: Set(self.document.as_uuid()),
            number: Set(self.number),
            parent_hash: Set(revision.parent.as_ref().map(|p| p.as_str().to_owned())),
            title: Set(revision.title.clone()),
            content_sha256: Set(content_hash.as_str().to_owned()),
            author_id: Set(self.author.as_uuid()),
            message: Set(revision.message.clone()),
            source_id: Set(self.source.map(|s| s.as_uuid())),
            created_at: Set(self.created_at.micros()),
            header: Set(revision.header.clone()),
            content_bytes: Set(self.content.len() as i64),
        };
        (content_hash, row, revision)
    }
}

impl Store {
    /// Creates a document with its first revision, authored by `author`.
    #[tracing::instrument(skip_all, fields(slug = %input.slug))]
    pub async fn create_document(
        &self,
        input: CreateDocument,
        author: AgentId,
    ) -> StoreResult<WriteOutcome> {
        self.check_content(&input.content)?;
        self.check_source_exists(input.source).await?;
        let id = DocumentId::generate();
        let now = Timestamp::now();
        let (content_hash, revision_row, revision) = NewRevision {
            document: id,
            number: 1,
            parent: None,
            title: &input.title,
            content: &input.content,
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
        };

        let tx = self.begin_write().await?;
        let inserted = document::Entity::insert(document::ActiveModel {
            id: Set(id.as_uuid()),
            slug: Set(document.slug.as_str().to_owned()),
            kind: Set(document.kind.as_str().to_owned()),
            head_hash: Set(revision.hash.as_str().to_owned()),
            created_at: Set(now.micros()),
            updated_at: Set(now.micros()),
        })
        .exec_without_returning(&tx)
        .await;
        if let Err(err) = inserted {
            return Err(match err.sql_err() {
                Some(SqlErr::UniqueConstraintViolation(_)) => StoreError::Conflict(format!(
                    "a document with slug {:?} already exists",
                    document.slug.as_str()
                )),
                _ => err.into(),
            });
        }
        insert_blob(&tx, &content_hash, &input.content).await?;
        revision::Entity::insert(revision_row).exec_without_returning(&tx).await?;
        tx.commit().await?;
        tracing::info!(document = %id, revision = %revision.hash, "document created");
        Ok(WriteOutcome { document, revision })
    }

    /// Appends a revision to a document whose head is still `expected_head`. If another writer
    /// moved the head first, nothing is written and the caller gets `Conflict`.
    #[tracing::instrument(skip_all, fields(document = %input.document))]
    pub async fn revise_document(
        &self,
        input: ReviseDocument,
        author: AgentId,
    ) -> StoreResult<WriteOutcome> {
        self.check_content(&input.content)?;
        let document = self
            .document(input.document)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("document {}", input.document)))?;
        let parent = self
            .revision(&input.expected_head)
            .await?
            .filter(|r| r.document_id == document.id)
            .ok_or_else(|| {
                StoreError::NotFound(format!(
                    "expectedHead: revision {} of document {}",
                    input.expected_head, document.id
                ))
            })?;
        if document.head != parent.hash {
            return Err(head_moved(&document.head, &parent.hash));
        }
        let title = match input.title {
            Some(title) => title,
            None => Title::parse(&parent.title)?,
        };
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
        self.check_source_exists(input.source).await?;

        // Microsecond timestamps must strictly increase along a history, even if the clock
        // steps back, so that "head at instant t" always has one answer.
        let created_at = Timestamp::now().max(parent.created_at.next());
        let (content_hash, revision_row, revision) = NewRevision {
            document: document.id,
            number: parent.number + 1,
            parent: Some(&parent.hash),
            title: &title,
            content: &input.content,
            message: &input.message,
            author,
            source: input.source,
            created_at,
        }
        .seal();

        let tx = self.begin_write().await?;
        // Compare-and-swap on the head pointer, first in the transaction so that it takes the
        // write lock before anything else: of concurrent writers with the same expected head,
        // exactly one matches a row.
        let moved = document::Entity::update_many()
            .col_expr(document::Column::HeadHash, revision.hash.as_str().into())
            .col_expr(document::Column::UpdatedAt, created_at.micros().into())
            .filter(document::Column::Id.eq(document.id.as_uuid()))
            .filter(document::Column::HeadHash.eq(parent.hash.as_str()))
            .exec(&tx)
            .await?;
        if moved.rows_affected != 1 {
            tx.rollback().await?;
            let current = self.document(document.id).await?.map(|d| d.head);
            return Err(match current {
                Some(current) => head_moved(&current, &parent.hash),
                None => StoreError::NotFound(format!("document {}", document.id)),
            });
        }
        insert_blob(&tx, &content_hash, &input.content).await?;
        if let Err(err) = revision::Entity::insert(revision_row).exec_without_returning(&tx).await {
            // The one-child-per-parent index is the last line of defence for a single chain.
            return Err(match err.sql_err() {
                Some(SqlErr::UniqueConstraintViolation(_)) => {
                    StoreError::Conflict(format!("revision {} already has a child", parent.hash))
                }
                _ => err.into(),
            });
        }
        super::citations::carry_citations(&tx, &parent.hash, &revision.hash, &input.content)
            .await?;
        tx.commit().await?;
        tracing::info!(revision = %revision.hash, number = revision.number, "document revised");
        let document = Document { head: revision.hash.clone(), updated_at: created_at, ..document };
        Ok(WriteOutcome { document, revision })
    }

    pub async fn document(&self, id: DocumentId) -> StoreResult<Option<Document>> {
        document::Entity::find_by_id(id.as_uuid())
            .one(&self.db)
            .await?
            .map(Document::try_from)
            .transpose()
    }

    pub async fn document_by_slug(&self, slug: &Slug) -> StoreResult<Option<Document>> {
        document::Entity::find()
            .filter(document::Column::Slug.eq(slug.as_str()))
            .one(&self.db)
            .await?
            .map(Document::try_from)
            .transpose()
    }

    /// The documents among `slugs` that exist, in no particular order, in one query.
    pub async fn documents_by_slugs(&self, slugs: &[Slug]) -> StoreResult<Vec<Document>> {
        document::Entity::find()
            .filter(document::Column::Slug.is_in(slugs.iter().map(|s| s.as_str())))
            .all(&self.db)
            .await?
            .into_iter()
            .map(Document::try_from)
            .collect()
    }

    /// The documents among `ids` that exist, in no particular order, in one query.
    pub async fn documents_by_ids(&self, ids: &[DocumentId]) -> StoreResult<Vec<Document>> {
        document::Entity::find()
            .filter(document::Column::Id.is_in(ids.iter().map(|id| id.as_uuid())))
            .all(&self.db)
            .await?
            .into_iter()
            .map(Document::try_from)
            .collect()
    }

    /// One page of documents in `order`, read along an index.
    pub async fn list_documents(
        &self,
        filter: &DocumentFilter,
        order: DocumentOrder,
        page: PageRequest<DocumentCursor>,
    ) -> StoreResult<Page<Document>> {
        use document::Column as C;
        let mut query = document::Entity::find().filter(filter_condition(filter));
        // `after` lies before the window in list order, `before` after it.
        if let Some(after) = &page.after {
            query = query.filter(key_condition(order, after, !order.descending)?);
        }
        if let Some(before) = &page.before {
            query = query.filter(key_condition(order, before, order.descending)?);
        }
        let ascending = order.descending == (page.direction == Direction::Backward);
        let columns: &[C] = match order.field {
            DocumentOrderField::CreatedAt => &[C::CreatedAt, C::Id],
            DocumentOrderField::UpdatedAt => &[C::UpdatedAt, C::Id],
            DocumentOrderField::Slug => &[C::Slug],
        };
        for column in columns {
            query =
                if ascending { query.order_by_asc(*column) } else { query.order_by_desc(*column) };
        }
        let rows = query.limit(page.limit + 1).all(&self.db).await?;
        let rows = rows.into_iter().map(Document::try_from).collect::<StoreResult<Vec<_>>>()?;
        Ok(Page::from_probe(rows, page.limit, page.direction))
    }

    pub async fn count_documents(&self, filter: &DocumentFilter) -> StoreResult<u64> {
        Ok(document::Entity::find().filter(filter_condition(filter)).count(&self.db).await?)
    }

    pub async fn revision(&self, hash: &RevisionHash) -> StoreResult<Option<Revision>> {
        Ok(revision::Entity::find_by_id(hash.as_str().to_owned())
            .one(&self.db)
            .await?
            .map(Revision::from))
    }

    /// The revisions among `hashes` that exist, in no particular order, in one query.
    pub async fn revisions_by_hashes(&self, hashes: &[RevisionHash]) -> StoreResult<Vec<Revision>> {
        Ok(revision::Entity::find()
            .filter(revision::Column::Hash.is_in(hashes.iter().map(|h| h.as_str())))
            .all(&self.db)
            .await?
            .into_iter()
            .map(Revision::from)
            .collect())
    }

    /// One page of a document's history, newest first; the cursor is the revision number.
    pub async fn list_revisions(
        &self,
        document: DocumentId,
        page: PageRequest<i64>,
    ) -> StoreResult<Page<Revision>> {
        use revision::Column as C;
        let mut query = revision::Entity::find().filter(C::DocumentId.eq(document.as_uuid()));
        if let Some(after) = page.after {
            query = query.filter(C::Number.lt(after));
        }
        if let Some(before) = page.before {
            query = query.filter(C::Number.gt(before));
        }
        query = match page.direction {
            Direction::Forward => query.order_by_desc(C::Number),
            Direction::Backward => query.order_by_asc(C::Number),
        };
        let rows = query.limit(page.limit + 1).all(&self.db).await?;
        let rows = rows.into_iter().map(Revision::from).collect();
        Ok(Page::from_probe(rows, page.limit, page.direction))
    }

    pub async fn count_revisions(&self, document: DocumentId) -> StoreResult<u64> {
        Ok(revision::Entity::find()
            .filter(revision::Column::DocumentId.eq(document.as_uuid()))
            .count(&self.db)
            .await?)
    }

    /// The revision that was the document's head at `instant`: the last one created at or
    /// before it. `None` before the document existed.
    pub async fn revision_as_of(
        &self,
        document: DocumentId,
        instant: Timestamp,
    ) -> StoreResult<Option<Revision>> {
        use revision::Column as C;
        Ok(revision::Entity::find()
            .filter(C::DocumentId.eq(document.as_uuid()))
            .filter(C::CreatedAt.lte(instant.micros()))
            .order_by_desc(C::CreatedAt)
            .limit(1)
            .one(&self.db)
            .await?
            .map(Revision::from))
    }

    /// For each of `documents`, the revision that was its head at `instant`, in one query;
    /// documents that did not exist yet are absent.
    pub async fn revisions_as_of(
        &self,
        documents: &[DocumentId],
        instant: Timestamp,
    ) -> StoreResult<Vec<Revision>> {
        use revision::Column as C;
        use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, Query};
        let older = Alias::new("older");
        let latest = Query::select()
            .expr(Func::max(Expr::col((older.clone(), C::CreatedAt))))
            .from_as(revision::Entity, older.clone())
            .and_where(
                Expr::col((older.clone(), C::DocumentId)).equals((revision::Entity, C::DocumentId)),
            )
            .and_where(Expr::col((older, C::CreatedAt)).lte(instant.micros()))
            .to_owned();
        Ok(revision::Entity::find()
            .filter(C::DocumentId.is_in(documents.iter().map(|d| d.as_uuid())))
            .filter(
                Expr::col((revision::Entity, C::CreatedAt))
                    .eq(Expr::SubQuery(None, Box::new(latest.into()))),
            )
            .all(&self.db)
            .await?
            .into_iter()
            .map(Revision::from)
            .collect())
    }

    /// The texts among `hashes` that are stored, in one query.
    pub async fn contents_by_hashes(
        &self,
        hashes: &[ContentHash],
    ) -> StoreResult<Vec<(ContentHash, String)>> {
        Ok(blob::Entity::find()
            .filter(blob::Column::Sha256.is_in(hashes.iter().map(|h| h.as_str())))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|row| (ContentHash::from_trusted(row.sha256), row.content))
            .collect())
    }

    /// Content is refused when it is too large, or when it holds NUL: PostgreSQL cannot store
    /// it and text with NUL is not a document, so neither database takes it.
    fn check_content(&self, content: &str) -> StoreResult<()> {
        let limit = self.limits.max_content_bytes;
        if content.len() > limit {
            return Err(StoreError::TooLarge { what: "content", size: content.len(), limit });
        }
        reject_nul("content", content)?;
        Ok(())
    }

    async fn check_source_exists(&self, source_id: Option<SourceId>) -> StoreResult<()> {
        let Some(id) = source_id else { return Ok(()) };
        match source::Entity::find_by_id(id.as_uuid()).one(&self.db).await? {
            Some(_) => Ok(()),
            None => Err(StoreError::NotFound(format!("source {id}"))),
        }
    }

    /// A write transaction. On SQLite it takes the write lock at `BEGIN` (waiting out the busy
    /// timeout), so a transaction never fails half-way for want of a lock it could not upgrade
    /// to; PostgreSQL ignores the mode.
    pub(crate) async fn begin_write(&self) -> Result<DatabaseTransaction, DbErr> {
        self.db
            .begin_with_options(TransactionOptions {
                isolation_level: None,
                access_mode: None,
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            })
            .await
    }
}

fn head_moved(current: &RevisionHash, expected: &RevisionHash) -> StoreError {
    StoreError::Conflict(format!(
        "the head has moved on: expected {expected}, the head is now {current}"
    ))
}

async fn insert_blob(
    tx: &impl ConnectionTrait,
    hash: &ContentHash,
    content: &str,
) -> Result<(), DbErr> {
    blob::Entity::insert(blob::ActiveModel {
        sha256: Set(hash.as_str().to_owned()),
        content: Set(content.to_owned()),
        byte_length: Set(content.len() as i64),
    })
    .on_conflict_do_nothing_on([blob::Column::Sha256])
    .exec_without_returning(tx)
    .await?;
    Ok(())
}

fn filter_condition(filter: &DocumentFilter) -> Condition {
    let mut condition = Condition::all();
    if let Some(kind) = filter.kind {
        condition = condition.add(document::Column::Kind.eq(kind.as_str()));
    }
    condition
}

/// Rows whose key is strictly greater (`greater`) or smaller than `cursor` under `order`.
fn key_condition(
    order: DocumentOrder,
    cursor: &DocumentCursor,
    greater: bool,
) -> StoreResult<Condition> {
    use document::Column as C;
    let mismatch = || InvalidValue::new("cursor", "was issued for another ordering");
    Ok(match (order.field, cursor) {
        (DocumentOrderField::Slug, DocumentCursor::Slug(slug)) => {
            Condition::all().add(if greater { C::Slug.gt(slug) } else { C::Slug.lt(slug) })
        }
        (
            DocumentOrderField::CreatedAt | DocumentOrderField::UpdatedAt,
            DocumentCursor::Time(t, id),
        ) => {
            let time = if order.field == DocumentOrderField::CreatedAt {
                C::CreatedAt
            } else {
                C::UpdatedAt
            };
            let (past_time, past_id) =
                if greater { (time.gt(*t), C::Id.gt(*id)) } else { (time.lt(*t), C::Id.lt(*id)) };
            Condition::any().add(past_time).add(Condition::all().add(time.eq(*t)).add(past_id))
        }
        _ => return Err(mismatch().into()),
    })
}
