//! Sources: where a revision's text was captured from, or what a document cites outside the
//! corpus, with their bibliographic details. Unknown details stay absent: nothing is invented.

use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

use super::Store;
use super::audit::{self, Actor, AuditTarget};
use super::error::{StoreError, StoreResult, corrupt};
use super::kinds::{AuditAction, AuditOutcome, SourceKind};
use super::page::{Direction, Page, PageRequest, uuid_window};
use super::transaction::WriteTransaction;
use super::values::{AgentName, DocumentId, InvalidValue, SourceId, Timestamp, quoted};
use crate::entity::{revision, source};

/// Where a revision's text was captured from, or what a document cites outside the corpus.
/// Unknown details stay `None` (or empty): nothing is invented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub id: SourceId,
    pub kind: SourceKind,
    pub title: Option<String>,
    pub url: Option<String>,
    pub publisher: Option<String>,
    pub authors: Vec<String>,
    pub recipients: Vec<String>,
    pub published_at: Option<Timestamp>,
    pub retrieved_at: Option<Timestamp>,
    pub archive_url: Option<String>,
    pub license: Option<String>,
    pub created_at: Timestamp,
}

/// A new source, as parsed at the edge.
#[derive(Debug, Clone)]
pub struct NewSource {
    pub kind: SourceKind,
    pub title: Option<String>,
    pub url: Option<String>,
    pub publisher: Option<String>,
    pub authors: Vec<AgentName>,
    pub recipients: Vec<AgentName>,
    pub published_at: Option<Timestamp>,
    pub retrieved_at: Option<Timestamp>,
    pub archive_url: Option<String>,
    pub license: Option<String>,
}

/// A source's fields as a client gave them, by name, to be parsed into a `NewSource`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SourceFields<'a> {
    pub kind: Option<SourceKind>,
    pub title: Option<&'a str>,
    pub url: Option<&'a str>,
    pub publisher: Option<&'a str>,
    pub authors: &'a [String],
    pub recipients: &'a [String],
    pub published_at: Option<Timestamp>,
    pub retrieved_at: Option<Timestamp>,
    pub archive_url: Option<&'a str>,
    pub license: Option<&'a str>,
}

impl TryFrom<source::Model> for Source {
    type Error = StoreError;
    fn try_from(row: source::Model) -> StoreResult<Self> {
        Ok(Source {
            id: row.id.into(),
            kind: row.kind.parse().map_err(|e| corrupt("sources.kind", e))?,
            title: row.title,
            url: row.url,
            publisher: row.publisher,
            authors: serde_json::from_str(&row.authors)
                .map_err(|e| corrupt("sources.authors", e))?,
            recipients: serde_json::from_str(&row.recipients)
                .map_err(|e| corrupt("sources.recipients", e))?,
            published_at: row.published_at.map(Timestamp::from_micros),
            retrieved_at: row.retrieved_at.map(Timestamp::from_micros),
            archive_url: row.archive_url,
            license: row.license,
            created_at: Timestamp::from_micros(row.created_at),
        })
    }
}

/// Optional one-line text: trimmed, at most `max` characters, empty meaning absent.
fn optional_line(
    field: &'static str,
    value: Option<&str>,
    max: usize,
) -> Result<Option<String>, InvalidValue> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else { return Ok(None) };
    if value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(InvalidValue::new(
            field,
            format!("must be one line of at most {max} characters"),
        ));
    }
    Ok(Some(value.to_owned()))
}

/// An absolute http(s) URL.
fn optional_url(field: &'static str, value: Option<&str>) -> Result<Option<String>, InvalidValue> {
    let Some(url) = optional_line(field, value, 2000)? else { return Ok(None) };
    let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
    if !scheme_ok || url.contains(char::is_whitespace) || url.len() < 10 {
        return Err(InvalidValue::new(
            field,
            format!("{} is not an absolute http(s) URL", quoted(&url)),
        ));
    }
    Ok(Some(url))
}

impl NewSource {
    /// Checks every field; `kind` defaults to `other`.
    pub fn parse(fields: SourceFields<'_>) -> Result<Self, InvalidValue> {
        let names =
            |field: &'static str, names: &[String]| -> Result<Vec<AgentName>, InvalidValue> {
                if names.len() > 100 {
                    return Err(InvalidValue::new(field, "may list at most 100 names"));
                }
                names
                    .iter()
                    .map(|n| AgentName::parse(n).map_err(|e| InvalidValue::new(field, e.reason)))
                    .collect()
            };
        Ok(NewSource {
            kind: fields.kind.unwrap_or(SourceKind::Other),
            title: optional_line("title", fields.title, 1000)?,
            url: optional_url("url", fields.url)?,
            publisher: optional_line("publisher", fields.publisher, 500)?,
            authors: names("authors", fields.authors)?,
            recipients: names("recipients", fields.recipients)?,
            published_at: fields.published_at,
            retrieved_at: fields.retrieved_at,
            archive_url: optional_url("archiveUrl", fields.archive_url)?,
            license: optional_line("license", fields.license, 500)?,
        })
    }
}

impl Store {
    pub async fn create_source(&self, input: NewSource, actor: &Actor) -> StoreResult<Source> {
        let transaction = self.begin().await?;
        let source = transaction.create_source(input, actor).await?;
        transaction.commit().await?;
        Ok(source)
    }

    pub async fn sources_by_ids(&self, ids: &[SourceId]) -> StoreResult<Vec<Source>> {
        source::Entity::find()
            .filter(source::Column::Id.is_in(ids.iter().map(|id| id.as_uuid())))
            .all(&self.db)
            .await?
            .into_iter()
            .map(Source::try_from)
            .collect()
    }

    /// One page of sources, oldest first (by id, which is time-ordered).
    pub async fn list_sources(&self, page: PageRequest<uuid::Uuid>) -> StoreResult<Page<Source>> {
        let query = uuid_window(source::Entity::find(), source::Column::Id, &page);
        let rows = query.all(&self.db).await?;
        let rows = rows.into_iter().map(Source::try_from).collect::<StoreResult<Vec<_>>>()?;
        Ok(Page::from_probe(rows, page.limit, page.direction))
    }

    pub async fn count_sources(&self) -> StoreResult<u64> {
        Ok(source::Entity::find().count(&self.db).await?)
    }

    /// One page of the sources a document's revisions were captured from, by source id.
    pub async fn sources_of_document(
        &self,
        document: DocumentId,
        page: PageRequest<uuid::Uuid>,
    ) -> StoreResult<Page<Source>> {
        use revision::Column as C;
        let mut query = revision::Entity::find()
            .select_only()
            .column(C::SourceId)
            .distinct()
            .filter(C::DocumentId.eq(document.as_uuid()))
            .filter(C::SourceId.is_not_null());
        if let Some(after) = page.after {
            query = query.filter(C::SourceId.gt(after));
        }
        if let Some(before) = page.before {
            query = query.filter(C::SourceId.lt(before));
        }
        query = match page.direction {
            Direction::Forward => query.order_by_asc(C::SourceId),
            Direction::Backward => query.order_by_desc(C::SourceId),
        };
        let ids: Vec<uuid::Uuid> = query.limit(page.limit + 1).into_tuple().all(&self.db).await?;
        let page = Page::from_probe(ids, page.limit, page.direction);
        let keys: Vec<SourceId> = page.items.iter().copied().map(SourceId::from).collect();
        let mut sources = self.sources_by_ids(&keys).await?;
        sources.sort_by_key(|s| keys.iter().position(|k| *k == s.id));
        Ok(Page { items: sources, has_more: page.has_more })
    }

    /// How many distinct sources a document's revisions were captured from, counted by the
    /// database.
    pub async fn count_sources_of_document(&self, document: DocumentId) -> StoreResult<u64> {
        use revision::Column as C;
        use sea_orm::sea_query::{Expr, Func};
        let count: Option<i64> = revision::Entity::find()
            .select_only()
            .expr(Func::count_distinct(Expr::col(C::SourceId)))
            .filter(C::DocumentId.eq(document.as_uuid()))
            .into_tuple()
            .one(&self.db)
            .await?;
        Ok(count.unwrap_or(0).max(0) as u64)
    }
}

impl WriteTransaction<'_> {
    #[tracing::instrument(skip_all)]
    pub async fn create_source(&self, input: NewSource, actor: &Actor) -> StoreResult<Source> {
        let source = Source {
            id: SourceId::generate(),
            kind: input.kind,
            title: input.title,
            url: input.url,
            publisher: input.publisher,
            authors: input.authors.iter().map(|n| n.as_str().to_owned()).collect(),
            recipients: input.recipients.iter().map(|n| n.as_str().to_owned()).collect(),
            published_at: input.published_at,
            retrieved_at: input.retrieved_at,
            archive_url: input.archive_url,
            license: input.license,
            created_at: Timestamp::now(),
        };
        source::Entity::insert(row(&source)?).exec_without_returning(&self.tx).await?;
        let target = AuditTarget::Source(source.id);
        let succeeded = AuditOutcome::Succeeded;
        audit::record(&self.tx, Some(actor), AuditAction::CreateSource, &target, succeeded, None)
            .await?;
        Ok(source)
    }
}

/// Whether a source with this id exists, read through `conn`.
pub(crate) async fn exists(conn: &impl ConnectionTrait, id: SourceId) -> StoreResult<bool> {
    Ok(source::Entity::find_by_id(id.as_uuid()).one(conn).await?.is_some())
}

/// The row of `source`.
pub(crate) fn row(source: &Source) -> StoreResult<source::ActiveModel> {
    let to_json = |names: &Vec<String>| {
        serde_json::to_string(names).map_err(|e| StoreError::Unexpected(e.into()))
    };
    Ok(source::ActiveModel {
        id: Set(source.id.as_uuid()),
        kind: Set(source.kind.as_str().to_owned()),
        title: Set(source.title.clone()),
        url: Set(source.url.clone()),
        created_at: Set(source.created_at.micros()),
        publisher: Set(source.publisher.clone()),
        authors: Set(to_json(&source.authors)?),
        recipients: Set(to_json(&source.recipients)?),
        published_at: Set(source.published_at.map(|t| t.micros())),
        retrieved_at: Set(source.retrieved_at.map(|t| t.micros())),
        archive_url: Set(source.archive_url.clone()),
        license: Set(source.license.clone()),
    })
}
