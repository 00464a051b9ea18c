//! Relay cursor connections (`edges { cursor node }`, `nodes`, `pageInfo`, `totalCount`) over
//! the store's keyset pages. Cursors are opaque base64url strings holding the sort key, so a
//! page is always read along an index, never by offset.

use async_graphql::connection::PageInfo;
use async_graphql::{Context, Object, SimpleObject};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::error::{ApiError, ApiResult};
use super::loaders::store;
use super::types::{DocumentNode, RevisionNode};
use crate::store::{
    Direction, Document, DocumentCursor, DocumentFilter, DocumentId, DocumentOrder, Page,
    PageRequest, Revision, Store,
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
                    ApiError::bad_input(format!("`{name}` is not a valid cursor: {text:?}"))
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

fn page_info<T>(
    page: &Page<T>,
    direction: Direction,
    had_after: bool,
    had_before: bool,
    cursors: &[String],
) -> PageInfo {
    let (has_previous_page, has_next_page) = match direction {
        Direction::Forward => (had_after, page.has_more),
        Direction::Backward => (page.has_more, had_before),
    };
    PageInfo {
        has_previous_page,
        has_next_page,
        start_cursor: cursors.first().cloned(),
        end_cursor: cursors.last().cloned(),
    }
}

/// An edge in a document connection.
#[derive(SimpleObject)]
#[graphql(name = "DocumentEdge")]
pub struct DocumentEdge {
    /// Pass as `after` or `before` to page from this document.
    pub cursor: String,
    pub node: DocumentNode,
}

/// A page of documents.
pub struct DocumentConnection {
    documents: Vec<Document>,
    cursors: Vec<String>,
    page_info: PageInfo,
    filter: DocumentFilter,
}

impl DocumentConnection {
    pub async fn load(
        store: &Store,
        filter: DocumentFilter,
        order: DocumentOrder,
        args: PageArgs,
    ) -> ApiResult<Self> {
        let (had_after, had_before) = (args.after.is_some(), args.before.is_some());
        let request = args.into_request(DocumentCursor::decode)?;
        let direction = request.direction;
        let page = store.list_documents(&filter, order, request).await?;
        let cursors: Vec<String> =
            page.items.iter().map(|d| encode_cursor(&d.cursor(order).encode())).collect();
        let page_info = page_info(&page, direction, had_after, had_before, &cursors);
        Ok(Self { documents: page.items, cursors, page_info, filter })
    }
}

#[Object(name = "DocumentConnection")]
impl DocumentConnection {
    async fn edges(&self) -> Vec<DocumentEdge> {
        self.documents
            .iter()
            .zip(&self.cursors)
            .map(|(d, c)| DocumentEdge { cursor: c.clone(), node: DocumentNode(d.clone()) })
            .collect()
    }

    async fn nodes(&self) -> Vec<DocumentNode> {
        self.documents.iter().cloned().map(DocumentNode).collect()
    }

    async fn page_info(&self) -> &PageInfo {
        &self.page_info
    }

    /// How many documents match the filter, on every page.
    async fn total_count(&self, ctx: &Context<'_>) -> ApiResult<u64> {
        Ok(store(ctx)?.count_documents(&self.filter).await?)
    }
}

/// An edge in a revision connection.
#[derive(SimpleObject)]
#[graphql(name = "RevisionEdge")]
pub struct RevisionEdge {
    /// Pass as `after` or `before` to page from this revision.
    pub cursor: String,
    pub node: RevisionNode,
}

/// A page of a document's history, newest first.
pub struct RevisionConnection {
    document: DocumentId,
    revisions: Vec<Revision>,
    cursors: Vec<String>,
    page_info: PageInfo,
}

impl RevisionConnection {
    pub async fn load(store: &Store, document: DocumentId, args: PageArgs) -> ApiResult<Self> {
        let (had_after, had_before) = (args.after.is_some(), args.before.is_some());
        let request = args.into_request(|raw| raw.strip_prefix("n:")?.parse::<i64>().ok())?;
        let direction = request.direction;
        let page = store.list_revisions(document, request).await?;
        let cursors: Vec<String> =
            page.items.iter().map(|r| encode_cursor(&format!("n:{}", r.number))).collect();
        let page_info = page_info(&page, direction, had_after, had_before, &cursors);
        Ok(Self { document, revisions: page.items, cursors, page_info })
    }
}

#[Object(name = "RevisionConnection")]
impl RevisionConnection {
    async fn edges(&self) -> Vec<RevisionEdge> {
        self.revisions
            .iter()
            .zip(&self.cursors)
            .map(|(r, c)| RevisionEdge { cursor: c.clone(), node: RevisionNode(r.clone()) })
            .collect()
    }

    async fn nodes(&self) -> Vec<RevisionNode> {
        self.revisions.iter().cloned().map(RevisionNode).collect()
    }

    async fn page_info(&self) -> &PageInfo {
        &self.page_info
    }

    /// How many revisions the document has.
    async fn total_count(&self, ctx: &Context<'_>) -> ApiResult<u64> {
        Ok(store(ctx)?.count_revisions(self.document).await?)
    }
}
