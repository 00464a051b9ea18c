//! Relay cursor connections (`edges { cursor node }`, `nodes`, `pageInfo`, `totalCount`) over
//! the store's keyset pages. Cursors are opaque base64url strings holding the sort key, so a
//! page is always read along an index, never by offset. `totalCount` is counted only when
//! asked for.

use std::sync::Arc;

use async_graphql::connection::PageInfo;
use async_graphql::{Context, Lookahead, Object, SimpleObject, Value};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::context::store;
use super::error::{ApiError, ApiResult};
use super::loaders::{feed_authors, feed_heads, head_parts, loaders};
use super::nodes::{
    AuditEventNode, CitationNode, DocumentNode, FirstRevisions, RevisionNode, SourceNode, WatchNode,
};
use crate::store::{
    AuditFilter, Direction, DocumentFilter, DocumentId, DocumentOrder, DocumentWithHead, FirstPage,
    Page, PageRequest, RevisionHash, SourceId, Store, StoreResult, Viewer, quoted,
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

pub(crate) fn encode_cursor(raw: &str) -> String {
    URL_SAFE_NO_PAD.encode(raw)
}

pub(crate) fn decode_cursor(text: &str) -> Option<String> {
    String::from_utf8(URL_SAFE_NO_PAD.decode(text).ok()?).ok()
}

/// What a connection's `totalCount` counts.
#[derive(Clone)]
pub enum Count {
    Documents(DocumentFilter),
    RevisionsOf(DocumentId),
    RevisionsFrom(Viewer, SourceId),
    Sources,
    SourcesOf(DocumentId),
    CitationsIn(RevisionHash),
    CitationsOf(Viewer, DocumentId),
    AuditEvents(AuditFilter),
    Watches,
}

impl Count {
    async fn total(&self, store: &Store) -> ApiResult<u64> {
        Ok(match self {
            Count::Documents(filter) => store.count_documents(filter).await?,
            Count::RevisionsOf(id) => store.count_revisions(*id).await?,
            Count::RevisionsFrom(viewer, id) => {
                store.count_revisions_from_source(viewer, *id).await?
            }
            Count::Sources => store.count_sources().await?,
            Count::SourcesOf(id) => store.count_sources_of_document(*id).await?,
            Count::CitationsIn(hash) => store.count_citations_of_revision(hash).await?,
            Count::CitationsOf(viewer, id) => store.count_citations_of_target(viewer, *id).await?,
            Count::AuditEvents(filter) => store.count_audit_events(filter).await?,
            Count::Watches => store.count_watches().await?,
        })
    }
}

/// A node's cursor (its sort key, before encoding).
type CursorOf<N> = Box<dyn Fn(&N) -> String + Send + Sync>;

/// A page ready to serve: nodes, how to write their cursors, page info, and what
/// `totalCount` counts. Cursors are written only when `edges` or `pageInfo` asks for them:
/// most pages are read through `nodes`, and writing every node's cursor was a twentieth of a
/// page of 50 documents.
pub struct Connection<N> {
    nodes: Vec<N>,
    cursor: CursorOf<N>,
    has_previous_page: bool,
    has_next_page: bool,
    count: Count,
}

impl<N> Connection<N> {
    fn new<T>(
        page: Page<T>,
        request: (Direction, bool, bool),
        cursor: CursorOf<N>,
        wrap: impl Fn(T) -> N,
        count: Count,
    ) -> Self {
        let (direction, had_after, had_before) = request;
        let (has_previous_page, has_next_page) = match direction {
            Direction::Forward => (had_after, page.has_more),
            Direction::Backward => (page.has_more, had_before),
        };
        let nodes = page.items.into_iter().map(wrap).collect();
        Connection { nodes, cursor, has_previous_page, has_next_page, count }
    }

    fn cursor_of(&self, node: &N) -> String {
        encode_cursor(&(self.cursor)(node))
    }

    fn page_info(&self) -> PageInfo {
        PageInfo {
            has_previous_page: self.has_previous_page,
            has_next_page: self.has_next_page,
            start_cursor: self.nodes.first().map(|node| self.cursor_of(node)),
            end_cursor: self.nodes.last().map(|node| self.cursor_of(node)),
        }
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
                    .map(|node| $edge { cursor: self.0.cursor_of(node), node: node.clone() })
                    .collect()
            }

            async fn nodes(&self) -> &[$node] {
                &self.0.nodes
            }

            async fn page_info(&self) -> PageInfo {
                self.0.page_info()
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
connection_type!(AuditEventConnection, AuditEventEdge, AuditEventNode, "audit event");
connection_type!(WatchConnection, WatchEdge, WatchNode, "watch");

/// The text forms of the store's sort keys, before they are wrapped opaquely.
mod keys {
    use uuid::Uuid;

    use crate::store::{DocumentCursor, RevisionHash, Slug};

    pub fn document(cursor: &DocumentCursor) -> String {
        match cursor {
            DocumentCursor::Time(micros, id) => format!("t:{micros}:{id}"),
            DocumentCursor::Slug(slug) => format!("s:{slug}"),
        }
    }

    pub fn parse_document(raw: &str) -> Option<DocumentCursor> {
        if let Some(slug) = raw.strip_prefix("s:") {
            return Slug::parse(slug).ok().map(DocumentCursor::Slug);
        }
        let (micros, id) = raw.strip_prefix("t:")?.split_once(':')?;
        Some(DocumentCursor::Time(micros.parse().ok()?, Uuid::try_parse(id).ok()?))
    }

    pub fn number(number: i64) -> String {
        format!("n:{number}")
    }

    pub fn parse_number(raw: &str) -> Option<i64> {
        raw.strip_prefix("n:")?.parse().ok()
    }

    pub fn time_and_hash(micros: i64, hash: &RevisionHash) -> String {
        format!("t:{micros}:{hash}")
    }

    pub fn parse_time_and_hash(raw: &str) -> Option<(i64, RevisionHash)> {
        let (time, hash) = raw.strip_prefix("t:")?.split_once(':')?;
        Some((time.parse().ok()?, RevisionHash::parse(hash).ok()?))
    }

    pub fn uuid(id: impl std::fmt::Display) -> String {
        format!("i:{id}")
    }

    pub fn parse_uuid(raw: &str) -> Option<Uuid> {
        Uuid::try_parse(raw.strip_prefix("i:")?).ok()
    }
}

impl<N> Connection<N> {
    /// Reads one page: decodes the cursors, asks `load` for the page, and wraps its items.
    async fn read<K, T>(
        args: PageArgs,
        decode: impl Fn(&str) -> Option<K>,
        load: impl AsyncFnOnce(PageRequest<K>) -> StoreResult<Page<T>>,
        cursor: impl Fn(&N) -> String + Send + Sync + 'static,
        wrap: impl Fn(T) -> N,
        count: Count,
    ) -> ApiResult<Self> {
        let request = args.into_request(decode)?;
        let shape = shape(&request);
        let page = load(request).await?;
        Ok(Connection::new(page, shape, Box::new(cursor), wrap, count))
    }
}

/// What a connection field's selection asks of each node, through `nodes` and `edges.node`.
fn node_selections<'a>(ctx: &'a Context<'_>) -> [Lookahead<'a>; 2] {
    let selection = ctx.look_ahead();
    [selection.field("nodes"), selection.field("edges").field("node")]
}

/// A page's items, shared with whoever else holds them.
pub fn shared<T>(page: Page<T>) -> Page<Arc<T>> {
    Page { items: page.items.into_iter().map(Arc::new).collect(), has_more: page.has_more }
}

/// The first page of history a document's selection asks for, when it asks for one page of
/// `revisions` and that the first (`revisions` or `revisions(first: n)`): it can be read with
/// the document (`Store::document_with_first_revisions`). Any other arguments, or an invalid
/// size, are left to the field to read, or refuse, itself. `@skip` and `@include` are not
/// looked at: a page a directive drops is read for nothing, never served in place of another
/// (`FirstRevisions::serves` compares the page the field asks for).
pub fn first_revisions_wanted(document: Lookahead<'_>) -> Option<FirstPage> {
    let revisions = document.field("revisions");
    let [field] = <[_; 1]>::try_from(revisions.selection_fields()).ok()?;
    let mut size = DEFAULT_PAGE_SIZE;
    for (name, value) in field.arguments().ok()? {
        match (name.as_str(), value) {
            ("first", Value::Number(first)) => size = i32::try_from(first.as_i64()?).ok()?,
            ("first" | "after" | "last" | "before", Value::Null) => {}
            _ => return None,
        }
    }
    if !(1..=MAX_PAGE_SIZE).contains(&size) {
        return None;
    }
    let nodes = [revisions.field("nodes"), revisions.field("edges").field("node")];
    let authors = nodes.iter().any(|r| r.field("author").exists());
    Some(FirstPage { limit: size as u64, authors })
}

impl DocumentConnection {
    /// A page of documents, read with their heads (and the heads' sources, when the selection
    /// asks for them) in one statement that feeds the request's loaders.
    pub async fn load(
        ctx: &Context<'_>,
        filter: DocumentFilter,
        order: DocumentOrder,
        args: PageArgs,
    ) -> ApiResult<Self> {
        let (store, loaders) = (store(ctx)?, loaders(ctx).await?);
        let parts = head_parts(node_selections(ctx));
        let count = Count::Documents(filter.clone());
        let load = async |request| {
            let page = store.list_documents_with_heads(&filter, order, request, parts).await?;
            feed_heads(&loaders, &page.items).await;
            let stable = order.field != crate::store::DocumentOrderField::UpdatedAt;
            super::reads::listed(ctx, page.items.iter().map(|d| &d.document.id), stable);
            Ok(page)
        };
        let cursor = move |d: &DocumentNode| keys::document(&d.0.cursor(order));
        let wrap = |d: DocumentWithHead| DocumentNode::with_head(d.document, d.head);
        Connection::read(args, keys::parse_document, load, cursor, wrap, count).await.map(Self)
    }
}

impl RevisionConnection {
    /// A document's history, newest first; the cursor is the revision number. Read with the
    /// revisions' authors in one statement when the selection asks for them.
    /// `first` is the page the document was read with, if it was (`Query.document`): served
    /// when it is the page asked for.
    pub async fn of_document(
        ctx: &Context<'_>,
        document: DocumentId,
        args: PageArgs,
        first: Option<&FirstRevisions>,
    ) -> ApiResult<Self> {
        let (store, loaders) = (store(ctx)?, loaders(ctx).await?);
        let with_authors = node_selections(ctx).iter().any(|r| r.field("author").exists());
        let load = async |request: PageRequest<i64>| {
            if let Some(first) = first.filter(|first| first.serves(&request)) {
                return Ok(first.page.clone());
            }
            let page = if with_authors {
                let page = store.list_revisions_with_authors(document, request).await?;
                let (items, authors): (Vec<_>, Vec<_>) = page.items.into_iter().unzip();
                feed_authors(&loaders, authors).await;
                Page { items, has_more: page.has_more }
            } else {
                store.list_revisions(document, request).await?
            };
            Ok(shared(page))
        };
        let cursor = |r: &RevisionNode| keys::number(r.0.number);
        let count = Count::RevisionsOf(document);
        Connection::read(args, keys::parse_number, load, cursor, RevisionNode, count)
            .await
            .map(Self)
    }

    /// The revisions captured from a source, newest first.
    pub async fn from_source(
        store: &Store,
        viewer: Viewer,
        source: SourceId,
        args: PageArgs,
    ) -> ApiResult<Self> {
        let load = async |request| store.revisions_from_source(&viewer, source, request).await;
        let cursor = |r: &RevisionNode| keys::time_and_hash(r.0.created_at.micros(), &r.0.hash);
        let count = Count::RevisionsFrom(viewer.clone(), source);
        Connection::read(args, keys::parse_time_and_hash, load, cursor, RevisionNode::new, count)
            .await
            .map(Self)
    }
}

impl SourceConnection {
    pub async fn all(store: &Store, args: PageArgs) -> ApiResult<Self> {
        let load = async |request| store.list_sources(request).await;
        let cursor = |s: &SourceNode| keys::uuid(s.0.id);
        Connection::read(args, keys::parse_uuid, load, cursor, SourceNode::new, Count::Sources)
            .await
            .map(Self)
    }

    pub async fn of_document(
        store: &Store,
        document: DocumentId,
        args: PageArgs,
    ) -> ApiResult<Self> {
        let load = async |request| store.sources_of_document(document, request).await;
        let cursor = |s: &SourceNode| keys::uuid(s.0.id);
        let count = Count::SourcesOf(document);
        Connection::read(args, keys::parse_uuid, load, cursor, SourceNode::new, count)
            .await
            .map(Self)
    }
}

impl CitationConnection {
    /// The citations a revision makes, in the order they were recorded.
    pub async fn in_revision(
        store: &Store,
        revision: RevisionHash,
        args: PageArgs,
    ) -> ApiResult<Self> {
        let load = async |request| store.citations_of_revision(&revision, request).await;
        let cursor = |c: &CitationNode| keys::uuid(c.0.id);
        let count = Count::CitationsIn(revision.clone());
        Connection::read(args, keys::parse_uuid, load, cursor, CitationNode, count).await.map(Self)
    }

    /// The citations of a document made by the current heads of the documents citing it.
    pub async fn of_document(
        store: &Store,
        viewer: Viewer,
        document: DocumentId,
        args: PageArgs,
    ) -> ApiResult<Self> {
        let load = async |request| store.citations_of_target(&viewer, document, request).await;
        let cursor = |c: &CitationNode| keys::uuid(c.0.id);
        let count = Count::CitationsOf(viewer.clone(), document);
        Connection::read(args, keys::parse_uuid, load, cursor, CitationNode, count).await.map(Self)
    }
}

impl AuditEventConnection {
    /// Audit events that pass `filter`, oldest first.
    pub async fn load(store: &Store, filter: AuditFilter, args: PageArgs) -> ApiResult<Self> {
        let count = Count::AuditEvents(filter.clone());
        let load = async |request| store.audit_events(&filter, request).await;
        let cursor = |e: &AuditEventNode| keys::uuid(e.0.id);
        Connection::read(args, keys::parse_uuid, load, cursor, AuditEventNode, count)
            .await
            .map(Self)
    }
}

impl WatchConnection {
    /// The live watches, oldest first.
    pub async fn all(store: &Store, args: PageArgs) -> ApiResult<Self> {
        let load = async |request| store.list_watches(request).await;
        let cursor = |w: &WatchNode| keys::uuid(w.0.id);
        Connection::read(args, keys::parse_uuid, load, cursor, WatchNode, Count::Watches)
            .await
            .map(Self)
    }
}
