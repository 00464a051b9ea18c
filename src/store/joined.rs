//! Reads joined across tables in one statement, for the request levels that nearly always ask
//! for the related rows: documents with their head revisions (almost every read of a document
//! wants its title, which lives on the head) and, when asked for, the heads' sources; a page of
//! revisions with their authors; a document with the first page of its history. Reading those
//! separately costs a round trip per level.

use std::collections::HashMap;
use std::sync::Arc;

use sea_orm::sea_query::{Expr, ExprTrait, IntoIden, Query};
use sea_orm::sqlx::{self, Postgres, Row as _, Sqlite};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, Iterable, JoinType, QueryFilter, QueryResult,
    QuerySelect, QueryTrait, Select,
};

use super::Store;
use super::access::Viewer;
use super::agents::Agent;
use super::documents::{
    Document, DocumentCursor, DocumentFilter, DocumentOrder, document_page_query,
};
use super::error::{StoreError, StoreResult};
use super::kept_revisions::RevisionRef;
use super::page::{Direction, Page, PageRequest};
use super::revisions::{Revision, revision_page_query, revision_page_where};
use super::sources::Source;
use super::values::{ContentHash, DocumentId, RevisionHash, Slug};
use super::views::DocumentKey;
use crate::entity::{agent, document, revision, source};

/// What to read along with each document's head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HeadParts {
    /// The source the head was captured from.
    pub source: bool,
}

/// The first page of a document's history to read with it
/// (`Store::document_with_first_revisions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FirstPage {
    /// Its size: the document's newest `limit` revisions.
    pub limit: u64,
    /// Whether the revisions' authors are read too.
    pub authors: bool,
}

/// A document, its head revision, and the head's source if it has one and it was asked for.
#[derive(Debug, Clone)]
pub struct DocumentWithHead {
    pub document: Document,
    /// Shared: the request's loaders and the document's node hold the same revision.
    pub head: Arc<Revision>,
    /// Shared, as the head is.
    pub source: Option<Arc<Source>>,
}

impl Store {
    /// `list_documents` with each document's head (and its source) in the same statement.
    pub async fn list_documents_with_heads(
        &self,
        filter: &DocumentFilter,
        order: DocumentOrder,
        page: PageRequest<DocumentCursor>,
        parts: HeadParts,
    ) -> StoreResult<Page<DocumentWithHead>> {
        let query = document_page_query(filter, order, &page)?;
        let rows = self.read_with_heads(query, parts).await?;
        Ok(Page::from_probe(rows, page.limit, page.direction))
    }

    /// The documents among `ids` that exist and `viewer` may read, with their heads, in no
    /// particular order.
    pub async fn documents_with_heads_by_ids(
        &self,
        viewer: &Viewer,
        ids: &[DocumentId],
        parts: HeadParts,
    ) -> StoreResult<Vec<DocumentWithHead>> {
        let query = document::Entity::find()
            .filter(document::Column::Id.is_in(ids.iter().map(|id| id.as_uuid())))
            .filter(viewer.readable_documents());
        self.read_with_heads(query, parts).await
    }

    /// The document named `slug`, if there is one and `viewer` may read it, with its head.
    pub async fn document_with_head_by_slug(
        &self,
        viewer: &Viewer,
        slug: &Slug,
        parts: HeadParts,
    ) -> StoreResult<Option<DocumentWithHead>> {
        let query = document::Entity::find()
            .filter(document::Column::Slug.eq(slug.as_str()))
            .filter(viewer.readable_documents());
        Ok(self.read_with_heads(query, parts).await?.into_iter().next())
    }

    async fn read_with_heads(
        &self,
        query: Select<document::Entity>,
        parts: HeadParts,
    ) -> StoreResult<Vec<DocumentWithHead>> {
        let mut query = with_refs(query.join(JoinType::InnerJoin, head_relation()));
        if parts.source {
            query = with_columns::<_, source::Entity>(
                query.join(JoinType::LeftJoin, source_relation()),
            );
        }
        let statement = query.build(self.db.get_database_backend());
        let rows = self.db.query_all_raw(statement).await?;
        let mut heads = Vec::with_capacity(rows.len());
        let mut found = Vec::with_capacity(rows.len());
        for row in &rows {
            let document = Document::try_from(document::Model::read(row, 0)?)?;
            let at = document::Model::WIDTH;
            heads.push(read_ref(row, at)?);
            let at = at + REF_WIDTH;
            let source = if parts.source {
                source::Model::read_optional(row, at)?
                    .map(Source::try_from)
                    .transpose()?
                    .map(Into::into)
            } else {
                None
            };
            found.push((document, source));
        }
        let heads = self.revisions_by_refs(&heads).await?;
        Ok(found
            .into_iter()
            .zip(heads)
            .map(|((document, source), head)| DocumentWithHead { document, head, source })
            .collect())
    }

    /// The revisions `refs` name, in their order: those kept in memory as `refs` say they
    /// are now, the rest read whole (in one statement) and kept.
    async fn revisions_by_refs(&self, refs: &[RevisionRef]) -> StoreResult<Vec<Arc<Revision>>> {
        let mut found = self.revisions.get(refs);
        let missing: Vec<RevisionHash> = refs
            .iter()
            .zip(&found)
            .filter(|(_, kept)| kept.is_none())
            .map(|(r, _)| r.hash.clone())
            .collect();
        if missing.is_empty() {
            return Ok(found.into_iter().flatten().collect());
        }
        // Read after the statement that named them, so as they are now or later: a redaction
        // committed in between is seen here rather than missed.
        let read: Vec<Arc<Revision>> =
            self.revisions_with_hashes(&missing).await?.into_iter().map(Arc::new).collect();
        self.revisions.put(&read);
        let read: HashMap<&RevisionHash, &Arc<Revision>> =
            read.iter().map(|r| (&r.hash, r)).collect();
        refs.iter()
            .zip(found.iter_mut())
            .map(|(r, kept)| match kept.take() {
                Some(kept) => Ok(kept),
                // Revisions are never deleted: only a database that went back in time (a
                // replica behind a balancer over standbys that lag differently) loses one.
                None => read.get(&r.hash).map(|r| Arc::clone(r)).ok_or_else(|| {
                    StoreError::Unavailable {
                        retry_after: std::time::Duration::from_secs(1),
                        cause: anyhow::anyhow!("revision {} was gone a moment after", r.hash),
                    }
                }),
            })
            .collect()
    }

    /// `list_revisions` with each revision's author in the same statement.
    pub async fn list_revisions_with_authors(
        &self,
        document: DocumentId,
        page: PageRequest<i64>,
    ) -> StoreResult<Page<(Revision, Agent)>> {
        let query = with_columns::<_, agent::Entity>(
            revision_page_query(document, &page).join(JoinType::InnerJoin, author_relation()),
        );
        let rows = self.db.query_all_raw(query.build(self.db.get_database_backend())).await?;
        let rows = rows
            .iter()
            .map(|row| {
                let revision = Revision::from(revision::Model::read(row, 0)?);
                let author = Agent::try_from(agent::Model::read(row, revision::Model::WIDTH)?)?;
                Ok((revision, author))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Page::from_probe(rows, page.limit, page.direction))
    }

    /// The document `key` names, if it exists and `viewer` may read it, with the first page of
    /// its history and, when the page asks for them, their authors: a history page read with
    /// its document takes one statement, not two.
    pub async fn document_with_first_revisions(
        &self,
        viewer: &Viewer,
        key: &DocumentKey,
        first: FirstPage,
    ) -> StoreResult<Option<DocumentWithRevisions>> {
        let FirstPage { limit, authors: with_authors } = first;
        let page = PageRequest { after: None, before: None, limit, direction: Direction::Forward };
        let of_document = match key {
            DocumentKey::Id(id) => revision::Column::DocumentId.eq(id.as_uuid()),
            // The slug's document as a value the page's index is searched by: matched through
            // the join instead, PostgreSQL read and sorted the document's whole history.
            DocumentKey::Slug(slug) => {
                let id = Query::select()
                    .column(document::Column::Id)
                    .from(document::Entity)
                    .and_where(document::Column::Slug.eq(slug.as_str()))
                    .to_owned();
                Expr::col((revision::Entity, revision::Column::DocumentId))
                    .eq(Expr::SubQuery(None, Box::new(id.into())))
            }
        };
        let mut query = with_columns::<_, document::Entity>(with_refs(
            revision_page_where(of_document, &page)
                .select_only()
                .join(JoinType::InnerJoin, document_relation())
                .filter(viewer.readable_documents()),
        ));
        if with_authors {
            query = with_columns::<_, agent::Entity>(
                query.join(JoinType::InnerJoin, author_relation()),
            );
        }
        let rows = self.db.query_all_raw(query.build(self.db.get_database_backend())).await?;
        // Every document has a revision, so no row: none, or not for this viewer.
        let Some(first) = rows.first() else { return Ok(None) };
        let document = Document::try_from(document::Model::read(first, REF_WIDTH)?)?;
        let authors_at = REF_WIDTH + document::Model::WIDTH;
        let mut refs = Vec::with_capacity(rows.len());
        let mut authors = Vec::new();
        for row in &rows {
            refs.push(read_ref(row, 0)?);
            if with_authors {
                authors.push(Agent::try_from(agent::Model::read(row, authors_at)?)?);
            }
        }
        let refs = Page::from_probe(refs, limit, Direction::Forward);
        authors.truncate(refs.items.len());
        let revisions =
            Page { items: self.revisions_by_refs(&refs.items).await?, has_more: refs.has_more };
        Ok(Some(DocumentWithRevisions { document, revisions, authors }))
    }
}

/// A document and the first page of its history, read together
/// (`Store::document_with_first_revisions`).
#[derive(Debug)]
pub struct DocumentWithRevisions {
    pub document: Document,
    /// Newest first; shared, as a document's head is.
    pub revisions: Page<Arc<Revision>>,
    /// The revisions' authors, in the same order, when they were asked for; else empty.
    pub authors: Vec<Agent>,
}

/// Reading a row's columns by position rather than by name: sea-orm's prefixed reads format
/// each column's name and look it up, which cost more than reading the row itself (40 % of a
/// page of 50 documents with their heads and sources, measured with callgrind). The columns
/// are selected in declaration order (`Column::iter()`), which the test below holds each
/// impl's field list to.
trait ByPosition: Sized {
    /// Its column names, in order.
    const NAMES: &'static [&'static str];
    /// The columns the model spans.
    const WIDTH: usize = Self::NAMES.len();
    fn read(row: &QueryResult, at: usize) -> Result<Self, DbErr>;

    /// `None` for the columns of a left join that matched nothing (a null first column).
    fn read_optional(row: &QueryResult, at: usize) -> Result<Option<Self>, DbErr> {
        match Option::<uuid::Uuid>::cell(row, at)? {
            None => Ok(None),
            Some(_) => Self::read(row, at).map(Some),
        }
    }
}

/// One column's value, decoded by the driver straight from its row. sea-orm's
/// `try_get_by_index` looks each value up twice and checks its type twice, and formats an
/// error message for every NULL it reads into an `Option` (the error is then dropped). Reading
/// rows was 30 % of a page of 50 documents with their heads and sources on PostgreSQL (callgrind).
/// On PostgreSQL the value's type is not checked again: the columns are our entities', whose
/// SQL types hold nothing else, and their decoders refuse a value of the wrong size (checking
/// cost q3 7 % of its instructions). SQLite keeps whatever it is given, so there the type is
/// checked: text written where a number or a flag belongs (a row altered behind the store's
/// back) fails the read rather than reading as 0 or false. So do a digest that is not 32
/// bytes and a NULL where none may be.
trait Cell: Sized {
    fn cell(row: &QueryResult, at: usize) -> Result<Self, DbErr>;
}

/// The value at `at`, `None` for NULL, for a type both drivers decode.
fn decoded<T>(row: &QueryResult, at: usize) -> Result<Option<T>, DbErr>
where
    T: sea_orm::TryGetable
        + sqlx::Type<Postgres>
        + for<'r> sqlx::Decode<'r, Postgres>
        + sqlx::Type<Sqlite>
        + for<'r> sqlx::Decode<'r, Sqlite>,
{
    let value = if let Some(pg) = row.try_as_pg_row() {
        pg.try_get_unchecked::<Option<T>, _>(at)
    } else if let Some(sqlite) = row.try_as_sqlite_row() {
        sqlite.try_get::<Option<T>, _>(at)
    } else {
        return row.try_get_by_index(at);
    };
    value.map_err(|e| undecodable(at, e))
}

/// The digest at `at`, `None` for NULL, decoded from the bytes the row holds.
fn digest<D>(
    row: &QueryResult,
    at: usize,
    from_stored: fn(&[u8]) -> Result<D, DbErr>,
) -> Result<Option<D>, DbErr> {
    let bytes = if let Some(pg) = row.try_as_pg_row() {
        pg.try_get_unchecked::<Option<&[u8]>, _>(at)
    } else if let Some(sqlite) = row.try_as_sqlite_row() {
        sqlite.try_get::<Option<&[u8]>, _>(at)
    } else {
        let bytes: Option<Vec<u8>> = row.try_get_by_index(at)?;
        return bytes.map(|bytes| from_stored(&bytes)).transpose();
    };
    bytes.map_err(|e| undecodable(at, e))?.map(from_stored).transpose()
}

fn undecodable(at: usize, error: sqlx::Error) -> DbErr {
    DbErr::Type(format!("column {at} of a joined read: {error}"))
}

/// `error`, naming the column it is about.
fn named(column: &str, error: DbErr) -> DbErr {
    match error {
        DbErr::Type(message) => DbErr::Type(format!("{column}: {message}")),
        other => other,
    }
}

fn null_at(at: usize) -> DbErr {
    DbErr::Type(format!("column {at} of a joined read is NULL"))
}

macro_rules! cell {
    ($($plain:ty),+; $($digest:ty),+) => {
        $(
            impl Cell for $plain {
                fn cell(row: &QueryResult, at: usize) -> Result<Self, DbErr> {
                    decoded(row, at)?.ok_or_else(|| null_at(at))
                }
            }
            impl Cell for Option<$plain> {
                fn cell(row: &QueryResult, at: usize) -> Result<Self, DbErr> {
                    decoded(row, at)
                }
            }
        )+
        $(
            impl Cell for $digest {
                fn cell(row: &QueryResult, at: usize) -> Result<Self, DbErr> {
                    digest(row, at, <$digest>::read_stored)?.ok_or_else(|| null_at(at))
                }
            }
            impl Cell for Option<$digest> {
                fn cell(row: &QueryResult, at: usize) -> Result<Self, DbErr> {
                    digest(row, at, <$digest>::read_stored)
                }
            }
        )+
    };
}

cell!(uuid::Uuid, String, i64, bool, Vec<u8>; RevisionHash, ContentHash);

macro_rules! by_position {
    ($model:path { $($field:ident),+ $(,)? }) => {
        impl ByPosition for $model {
            const NAMES: &'static [&'static str] = &[$(stringify!($field)),+];
            fn read(row: &QueryResult, at: usize) -> Result<Self, DbErr> {
                let mut next = at;
                let mut column = || {
                    next += 1;
                    next - 1
                };
                Ok(Self {
                    $($field: Cell::cell(row, column()).map_err(|e| named(stringify!($field), e))?),+
                })
            }
        }
    };
}

by_position!(document::Model {
    id,
    slug,
    kind,
    head_hash,
    created_at,
    updated_at,
    collection_id,
    publish_at,
    public_from,
});
by_position!(revision::Model {
    hash,
    document_id,
    number,
    parent_hash,
    title,
    content_sha256,
    author_id,
    message,
    source_id,
    created_at,
    header,
    content_bytes,
    log_index,
    redacted,
    packed_header,
});
by_position!(source::Model {
    id,
    kind,
    title,
    url,
    created_at,
    publisher,
    authors,
    recipients,
    published_at,
    retrieved_at,
    archive_url,
    license,
});
by_position!(agent::Model { id, name, kind, created_at });

/// `documents.head = revisions.hash`
fn head_relation() -> sea_orm::RelationDef {
    document::Entity::belongs_to(revision::Entity)
        .from(document::Column::HeadHash)
        .to(revision::Column::Hash)
        .into()
}

/// `revisions.document_id = documents.id`
fn document_relation() -> sea_orm::RelationDef {
    revision::Entity::belongs_to(document::Entity)
        .from(revision::Column::DocumentId)
        .to(document::Column::Id)
        .into()
}

/// `revisions.source_id = sources.id`
fn source_relation() -> sea_orm::RelationDef {
    revision::Entity::belongs_to(source::Entity)
        .from(revision::Column::SourceId)
        .to(source::Column::Id)
        .into()
}

/// `revisions.author_id = agents.id`
fn author_relation() -> sea_orm::RelationDef {
    revision::Entity::belongs_to(agent::Entity)
        .from(revision::Column::AuthorId)
        .to(agent::Column::Id)
        .into()
}

/// The columns `read_ref` reads: a revision's hash and what can change under it.
const REF_WIDTH: usize = 3;

/// The revision `revisions.hash` names, as its row is now (`KeptRevisions`), from the columns
/// `with_refs` selected at `at`.
fn read_ref(row: &QueryResult, at: usize) -> Result<RevisionRef, DbErr> {
    let hash = Cell::cell(row, at).map_err(|e| named("hash", e))?;
    let redacted = Cell::cell(row, at + 1).map_err(|e| named("redacted", e))?;
    let log_index: Option<i64> = Cell::cell(row, at + 2).map_err(|e| named("log_index", e))?;
    Ok(RevisionRef { hash, redacted, log_index: log_index.map(|i| i as u64) })
}

/// Adds the columns `read_ref` reads to the selection; the rest of each revision comes from
/// memory, or is read whole once (`Store::revisions_by_refs`).
fn with_refs<B: EntityTrait>(query: Select<B>) -> Select<B> {
    use revision::Column as C;
    [C::Hash, C::Redacted, C::LogIndex]
        .into_iter()
        .fold(query, |query, column| query.expr(Expr::col((revision::Entity.into_iden(), column))))
}

/// Adds every column of `E` to the selection, unnamed: they are read by position
/// (`ByPosition`), so naming each (`column_as`) only cost a string formatted, quoted and sent
/// per column per request.
fn with_columns<B: EntityTrait, E: EntityTrait>(mut query: Select<B>) -> Select<B> {
    for column in E::Column::iter() {
        query = query.expr(column.select_as(Expr::col((E::default().into_iden(), column))));
    }
    query
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::IdenStatic;

    fn names<E: EntityTrait>() -> Vec<&'static str> {
        E::Column::iter().map(|column| column.as_str()).collect()
    }

    /// A column added to an entity must be added to its positional reader, in the same place.
    #[test]
    fn positional_readers_follow_the_selected_columns() {
        assert_eq!(document::Model::NAMES, names::<document::Entity>());
        assert_eq!(revision::Model::NAMES, names::<revision::Entity>());
        assert_eq!(source::Model::NAMES, names::<source::Entity>());
        assert_eq!(agent::Model::NAMES, names::<agent::Entity>());
    }
}
