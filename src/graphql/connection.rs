//! Relay cursor connections (`edges { cursor node }`, `nodes`, `pageInfo`, `totalCount`) over
//! the store's keyset pages. Cursors are opaque base64url strings holding the sort key, so a
//! page is always read along an index, never by offset. `totalCount` is counted only when
//! asked for.

use async_graphql::connection::PageInfo;
use async_graphql::{Context, Object, SimpleObject};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::citations::CitationNode;
use super::error::{ApiError, ApiResult};
use super::loaders::store;
use super::types::{DocumentNode, RevisionNode, SourceNode};
use crate::store::{
    Direction, DocumentCursor, DocumentFilter, DocumentId, DocumentOrder, Page, PageRequest,
    RevisionHash, SourceId, Store, quoted,
};

/// The most items one page may hold.
pub const MAX_PAGE_SIZE: i32 = 100;
/// The page size when neither `first` nor `last` is given.
pub const DEFAULT_PAGE_SIZE: i32 = 20;

/// The four Relay pagination arguments, as given.
pub struct PageArgs {
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
}

impl PageArgs {
    fn into_request<K>(self, decode: impl Fn(&str) -> Option<K>) -> ApiResult<PageRequest<K>> {
        let (size, direction) = match (self.first, self.last) {
            (Some(_), Some(_)) => {
                return Err(ApiError::bad_input("pass either `first` or `last`, not both"));
            }
            (Some(first), None) => (check_size("first", first)?, Direction::Forward),
            (None, Some(last)) => (check_size("last", last)?, Direction::Backward),
            (None, None) => (DEFAULT_PAGE_SIZE, Direction::Forward),
        };
        let cursor = |name: &str, text: Option<String>| -> ApiResult<Option<K>> {
            text.map(|text| {
                decode_cursor(&text).and_then(|raw| decode(&raw)).ok_or_else(|| {
                    ApiError::bad_input(format!(
                        "`{name}` is not a valid cursor: {}",
                        quoted(&text)
                    ))
                })
            })
            .transpose()
        };
        Ok(PageRequest {
            after: cursor("after", self.after)?,
            before: cursor("before", self.before)?,
            limit: size as u64,
            direction,
        })
    }
}

fn check_size(name: &str, size: i32) -> ApiResult<i32> {
    if (1..=MAX_PAGE_SIZE).contains(&size) {
        Ok(size)
    } else {
        Err(ApiError::bad_input(format!(
            "`{name}` must be between 1 and {MAX_PAGE_SIZE}, not {size}"
        )))
    }
}

/// The complexity a connection field adds: its page size times what each item costs.
pub fn page_complexity(first: Option<i32>, last: Option<i32>, child_complexity: usize) -> usize {
    let size = first.or(last).unwrap_or(DEFAULT_PAGE_SIZE).clamp(1, MAX_PAGE_SIZE) as usize;
    1 + size * child_complexity
}

fn encode_cursor(raw: &str) -> String {
    URL_SAFE_NO_PAD.encode(raw)
}

fn decode_cursor(text: &str) -> Option<String> {
    String::from_utf8(URL_SAFE_NO_PAD.decode(text).ok()?).ok()
}

fn uuid_cursor(raw: &str) -> Option<uuid::Uuid> {
    uuid::Uuid::try_parse(raw.strip_prefix("i:")?).ok()
}

/// What a connection's `totalCount` counts.
#[derive(Clone)]
pub enum Count {
    Documents(DocumentFilter),
    RevisionsOf(DocumentId),
    RevisionsFrom(SourceId),
    Sources,
    SourcesOf(DocumentId),
    CitationsIn(RevisionHash),
    CitationsOf(DocumentId),
}

impl Count {
    async fn total(&self, store: &Store) -> ApiResult<u64> {
        Ok(match self {
            Count::Documents(filter) => store.count_documents(filter).await?,
            Count::RevisionsOf(id) => store.count_revisions(*id).await?,
            Count::RevisionsFrom(id) => store.count_revisions_from_source(*id).await?,
            Count::Sources => store.count_sources().await?,
            Count::SourcesOf(id) => store.count_sources_of_document(*id).await?,
            Count::CitationsIn(hash) => store.count_citations_of_revision(hash).await?,
            Count::CitationsOf(id) => store.count_citations_of_target(*id).await?,
        })
    }
}

/// A page ready to serve: nodes, their cursors, page info, and what `totalCount` counts.
pub struct Connection<N> {
    nodes: Vec<N>,
    cursors: Vec<String>,
    page_info: PageInfo,
    count: Count,
}

impl<N> Connection<N> {
    fn new<T>(
        page: Page<T>,
        request: (Direction, bool, bool),
        cursor: impl Fn(&T) -> String,
        wrap: impl Fn(T) -> N,
        count: Count,
    ) -> Self {
        let (direction, had_after, had_before) = request;
        let cursors: Vec<String> =
            page.items.iter().map(|item| encode_cursor(&cursor(item))).collect();
        let (has_previous_page, has_next_page) = match direction {
            Direction::Forward => (had_after, page.has_more),
            Direction::Backward => (page.has_more, had_before),
        };
        let page_info = PageInfo {
            has_previous_page,
            has_next_page,
            start_cursor: cursors.first().cloned(),
            end_cursor: cursors.last().cloned(),
        };
        Connection { nodes: page.items.into_iter().map(wrap).collect(), cursors, page_info, count }
    }
}

fn shape<K>(request: &PageRequest<K>) -> (Direction, bool, bool) {
    (request.direction, request.after.is_some(), request.before.is_some())
}

macro_rules! connection_type {
    ($connection:ident, $edge:ident, $node:ty, $doc:literal) => {
        #[doc = concat!("An edge in a ", $doc, " connection.")]
        #[derive(SimpleObject)]
        pub struct $edge {
            /// Pass as `after` or `before` to page from this item.
            pub cursor: String,
            pub node: $node,
        }

        #[doc = concat!("A page of ", $doc, "s.")]
        pub struct $connection(pub Connection<$node>);

        #[Object]
        impl $connection {
            async fn edges(&self) -> Vec<$edge> {
                self.0
                    .nodes
                    .iter()
                    .zip(&self.0.cursors)
                    .map(|(node, cursor)| $edge { cursor: cursor.clone(), node: node.clone() })
                    .collect()
            }

            async fn nodes(&self) -> &[$node] {
                &self.0.nodes
            }

            async fn page_info(&self) -> &PageInfo {
                &self.0.page_info
            }

            /// How many items the whole list holds, on every page.
            async fn total_count(&self, ctx: &Context<'_>) -> ApiResult<u64> {
                self.0.count.total(store(ctx)?).await
            }
        }
    };
}

connection_type!(DocumentConnection, DocumentEdge, DocumentNode, "document");
connection_type!(RevisionConnection, RevisionEdge, RevisionNode, "revision");
connection_type!(SourceConnection, SourceEdge, SourceNode, "source");
connection_type!(CitationConnection, CitationEdge, CitationNode, "citation");

impl DocumentConnection {
    pub async fn load(
        store: &Store,
        filter: DocumentFilter,
        order: DocumentOrder,
        args: PageArgs,
    ) -> ApiResult<Self> {
        let request = args.into_request(DocumentCursor::decode)?;
        let shape = shape(&request);
        let page = store.list_documents(&filter, order, request).await?;
        let cursor = |d: &crate::store::Document| d.cursor(order).encode();
        Ok(Self(Connection::new(page, shape, cursor, DocumentNode, Count::Documents(filter))))
    }
}

impl RevisionConnection {
    /// A document's history, newest first; the cursor is the revision number.
    pub async fn of_document(
        store: &Store,
        document: DocumentId,
        args: PageArgs,
    ) -> ApiResult<Self> {
        let request = args.into_request(|raw| raw.strip_prefix("n:")?.parse::<i64>().ok())?;
        let shape = shape(&request);
        let page = store.list_revisions(document, request).await?;
        let cursor = |r: &crate::store::Revision| format!("n:{}", r.number);
        Ok(Self(Connection::new(page, shape, cursor, RevisionNode, Count::RevisionsOf(document))))
    }

    /// The revisions captured from a source, newest first.
    pub async fn from_source(store: &Store, source: SourceId, args: PageArgs) -> ApiResult<Self> {
        let request = args.into_request(|raw| {
            let (time, hash) = raw.strip_prefix("t:")?.split_once(':')?;
            Some((time.parse::<i64>().ok()?, RevisionHash::parse(hash).ok()?.to_string()))
        })?;
        let shape = shape(&request);
        let page = store.revisions_from_source(source, request).await?;
        let cursor = |r: &crate::store::Revision| format!("t:{}:{}", r.created_at.micros(), r.hash);
        Ok(Self(Connection::new(page, shape, cursor, RevisionNode, Count::RevisionsFrom(source))))
    }
}

impl SourceConnection {
    pub async fn all(store: &Store, args: PageArgs) -> ApiResult<Self> {
        let request = args.into_request(uuid_cursor)?;
        let shape = shape(&request);
        let page = store.list_sources(request).await?;
        let cursor = |s: &crate::store::Source| format!("i:{}", s.id);
        Ok(Self(Connection::new(page, shape, cursor, SourceNode, Count::Sources)))
    }

    pub async fn of_document(
        store: &Store,
        document: DocumentId,
        args: PageArgs,
    ) -> ApiResult<Self> {
        let request = args.into_request(uuid_cursor)?;
        let shape = shape(&request);
        let page = store.sources_of_document(document, request).await?;
        let cursor = |s: &crate::store::Source| format!("i:{}", s.id);
        Ok(Self(Connection::new(page, shape, cursor, SourceNode, Count::SourcesOf(document))))
    }
}

impl CitationConnection {
    /// The citations a revision makes, in the order they were recorded.
    pub async fn in_revision(
        store: &Store,
        revision: RevisionHash,
        args: PageArgs,
    ) -> ApiResult<Self> {
        let request = args.into_request(uuid_cursor)?;
        let shape = shape(&request);
        let page = store.citations_of_revision(&revision, request).await?;
        let cursor = |c: &crate::store::Citation| format!("i:{}", c.id);
        Ok(Self(Connection::new(page, shape, cursor, CitationNode, Count::CitationsIn(revision))))
    }

    /// The citations of a document made by the current heads of the documents citing it.
    pub async fn of_document(
        store: &Store,
        document: DocumentId,
        args: PageArgs,
    ) -> ApiResult<Self> {
        let request = args.into_request(uuid_cursor)?;
        let shape = shape(&request);
        let page = store.citations_of_target(document, request).await?;
        let cursor = |c: &crate::store::Citation| format!("i:{}", c.id);
        Ok(Self(Connection::new(page, shape, cursor, CitationNode, Count::CitationsOf(document))))
    }
}
