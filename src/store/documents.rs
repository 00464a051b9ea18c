//! Documents: the read model, lookups by id and slug, and keyset pages in any of the list
//! orders. (Writing a document is in `writes`; its revisions are in `revisions`.)

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Select,
};
use uuid::Uuid;

use super::access::Viewer;
use super::error::{StoreError, StoreResult, corrupt};
use super::kinds::DocumentKind;
use super::page::{Direction, Page, PageRequest};
use super::values::{CollectionId, DocumentId, InvalidValue, RevisionHash, Slug, Timestamp};
use super::{Missing, Store};
use crate::entity::document;

/// A document: a logical work with a stable id, a unique slug and a head revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub id: DocumentId,
    pub slug: Slug,
    pub kind: DocumentKind,
    pub head: RevisionHash,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub collection: CollectionId,
    /// The embargo: until then, only the collection's members may read the document.
    pub publish_at: Option<Timestamp>,
    /// From when anyone may read it; `None`: only its collection's members ever may.
    pub public_from: Option<Timestamp>,
}

/// Which documents a list or count holds: those the viewer may read, of a kind if one is named.
#[derive(Debug, Clone)]
pub struct DocumentFilter {
    pub viewer: Viewer,
    pub kind: Option<DocumentKind>,
}

impl DocumentFilter {
    /// Every document `viewer` may read.
    pub fn readable_by(viewer: Viewer) -> Self {
        Self { viewer, kind: None }
    }
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
    Slug(Slug),
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
            DocumentOrderField::Slug => DocumentCursor::Slug(self.slug.clone()),
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
            head: row.head_hash,
            created_at: Timestamp::from_micros(row.created_at),
            updated_at: Timestamp::from_micros(row.updated_at),
            collection: row.collection_id.into(),
            publish_at: row.publish_at.map(Timestamp::from_micros),
            public_from: row.public_from.map(Timestamp::from_micros),
        })
    }
}

impl Store {
    /// The document with this id, or `NotFound`.
    pub async fn required_document(&self, id: DocumentId) -> StoreResult<Document> {
        self.document(id).await?.ok_or(StoreError::NotFound(Missing::Document(id)))
    }

    /// The document with this slug, or `NotFound` (also when `viewer` may not read it).
    pub async fn document_with_slug(&self, viewer: &Viewer, slug: &Slug) -> StoreResult<Document> {
        self.readable_document_by_slug(viewer, slug)
            .await?
            .ok_or_else(|| StoreError::NotFound(Missing::DocumentSlug(slug.clone())))
    }

    /// The document with this slug if `viewer` may read it; none if it does not exist or not
    /// for `viewer`.
    pub async fn readable_document_by_slug(
        &self,
        viewer: &Viewer,
        slug: &Slug,
    ) -> StoreResult<Option<Document>> {
        Ok(self.document_by_slug(slug).await?.filter(|d| viewer.may_read(d)))
    }

    pub async fn document(&self, id: DocumentId) -> StoreResult<Option<Document>> {
        find(&self.db, id).await
    }

    pub async fn document_by_slug(&self, slug: &Slug) -> StoreResult<Option<Document>> {
        find_by_slug(&self.db, slug).await
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
        let rows = document_page_query(filter, order, &page)?.all(&self.db).await?;
        let rows = rows.into_iter().map(Document::try_from).collect::<StoreResult<Vec<_>>>()?;
        Ok(Page::from_probe(rows, page.limit, page.direction))
    }

    pub async fn count_documents(&self, filter: &DocumentFilter) -> StoreResult<u64> {
        Ok(document::Entity::find().filter(filter_condition(filter)).count(&self.db).await?)
    }
}

/// The query for one page of documents in `order`, read along an index; it reads one row past
/// the page, to tell whether there is another.
pub(super) fn document_page_query(
    filter: &DocumentFilter,
    order: DocumentOrder,
    page: &PageRequest<DocumentCursor>,
) -> StoreResult<Select<document::Entity>> {
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
        query = if ascending { query.order_by_asc(*column) } else { query.order_by_desc(*column) };
    }
    Ok(query.limit(page.limit + 1))
}

fn filter_condition(filter: &DocumentFilter) -> Condition {
    let mut condition = filter.viewer.readable_documents();
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
            let slug = slug.as_str();
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
            // One row-value comparison, which both databases seek the `(time, id)` index by.
            // Spelled `time > t OR (time = t AND id > i)`, PostgreSQL filtered every row from
            // the start of the index instead: a page deep in the list read all before it.
            let key = Expr::tuple([
                Expr::col((document::Entity, time)),
                Expr::col((document::Entity, C::Id)),
            ]);
            let cursor = Expr::tuple([Expr::val(*t), Expr::val(*id)]);
            Condition::all().add(if greater { key.gt(cursor) } else { key.lt(cursor) })
        }
        _ => return Err(mismatch().into()),
    })
}

/// The document with this id, read through `conn` (the pool or a write transaction).
pub(crate) async fn find(
    conn: &impl ConnectionTrait,
    id: DocumentId,
) -> StoreResult<Option<Document>> {
    document::Entity::find_by_id(id.as_uuid()).one(conn).await?.map(Document::try_from).transpose()
}

/// The document with this slug, read through `conn`.
pub(crate) async fn find_by_slug(
    conn: &impl ConnectionTrait,
    slug: &Slug,
) -> StoreResult<Option<Document>> {
    document::Entity::find()
        .filter(document::Column::Slug.eq(slug.as_str()))
        .one(conn)
        .await?
        .map(Document::try_from)
        .transpose()
}
