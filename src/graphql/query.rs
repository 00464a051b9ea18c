//! `Query`: the read entry points.

use async_graphql::{Context, Enum, ID, InputObject, MergedObject, Object, SimpleObject};

use super::auth::RequestAuth;
use super::connection::{DocumentConnection, SourceConnection, first_revisions_wanted};
use super::context::{base_url, budget, request_cost, store};
use super::error::{ApiError, ApiResult};
use super::ids::GlobalId;
use super::kinds::DocumentKind;
use super::loaders::{feed_authors, feed_heads, head_parts, head_wanted, load_optional, loaders};
use super::nodes::{AgentNode, DocumentNode, FirstRevisions, Node, RevisionNode, resolve_node};
use super::objects::CitationDriftPage;
use super::objects::citation_export::{CitationExport, CitationFormat};
use super::objects::history::{Diff, DiffGranularity, context_lines};
use super::objects::integrity::{IntegrityFields, IntegrityLists};
use super::objects::search::{self, SearchFilter, SearchHitConnection, SearchScope};
use super::reads;
use super::scalars::DateTime;
use super::{Measurer, limits};
use crate::render::RecordInput;
use crate::store::{self, DocumentKey, RevisionHash, Slug, Timestamp};

/// The most ids one `nodes` call may resolve.
const MAX_NODES: usize = 100;

// The root of every read. Its list fields are in `QueryLists`, written with
// `object_with_pages!`; the rest in `QueryFields`. (A doc comment here would become the type's
// description in the SDL.)
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(
    QueryFields,
    QueryLists,
    IntegrityFields,
    IntegrityLists,
    super::objects::watch::WatchLists,
    super::objects::receipt::ReceiptFields,
    super::objects::collection::CollectionFields,
);

#[derive(Default)]
pub struct QueryFields;

#[derive(Default)]
pub struct QueryLists;

/// A client's rate limit, in cost points per window (the allowance refills steadily).
#[derive(SimpleObject)]
pub struct RateLimit {
    /// What this request cost.
    cost: u64,
    /// Points per window.
    limit: u64,
    /// Points left now.
    remaining: u64,
    /// Points spent and not yet refilled.
    used: u64,
    /// When the allowance will be whole again, if nothing more is spent.
    reset_at: DateTime,
}

/// What a query would cost (`queryCost`), in the points of the cost model and rate limits.
#[derive(SimpleObject)]
pub struct QueryCost {
    /// The points it would be charged before it ran. Fields that read stored texts draw more
    /// while running, by the texts' size (see `extensions.cost.actual` of a response).
    cost: u64,
    /// The most one request may cost.
    limit: u64,
    /// Whether `cost` is within `limit`.
    within_limit: bool,
}

/// Which documents a list holds.
#[derive(InputObject, Default)]
pub struct DocumentFilter {
    /// Only documents of this kind.
    kind: Option<DocumentKind>,
}

/// What a document list is sorted by.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum DocumentOrderField {
    /// When the document was created (the default).
    CreatedAt,
    /// When its head last moved.
    UpdatedAt,
    Slug,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum OrderDirection {
    Asc,
    Desc,
}

/// A document list's order.
#[derive(InputObject)]
pub struct DocumentOrder {
    field: DocumentOrderField,
    direction: OrderDirection,
}

impl From<Option<DocumentOrder>> for store::DocumentOrder {
    fn from(order: Option<DocumentOrder>) -> Self {
        let Some(order) = order else { return Self::default() };
        store::DocumentOrder {
            field: match order.field {
                DocumentOrderField::CreatedAt => store::DocumentOrderField::CreatedAt,
                DocumentOrderField::UpdatedAt => store::DocumentOrderField::UpdatedAt,
                DocumentOrderField::Slug => store::DocumentOrderField::Slug,
            },
            descending: order.direction == OrderDirection::Desc,
        }
    }
}

#[Object]
impl QueryFields {
    /// Any object by its global id.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<Node>> {
        resolve_node(ctx, &id).await
    }

    /// Objects by their global ids (at most 100), in the order asked; null where none exists.
    #[graphql(complexity = "ids.len().max(1) * child_complexity")]
    async fn nodes(&self, ctx: &Context<'_>, ids: Vec<ID>) -> ApiResult<Vec<Option<Node>>> {
        if ids.len() > MAX_NODES {
            return Err(ApiError::bad_input(format!("`ids` may hold at most {MAX_NODES} ids")));
        }
        futures_util::future::try_join_all(ids.iter().map(|id| resolve_node(ctx, id))).await
    }

    /// One document, by `id` (its global id or UUID) or by `slug`: give exactly one.
    async fn document(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        slug: Option<String>,
    ) -> ApiResult<Option<DocumentNode>> {
        let key = match (id, slug) {
            (Some(id), None) => DocumentKey::Id(GlobalId::document("id", &id)?),
            (None, Some(slug)) => DocumentKey::Slug(Slug::parse(&slug)?),
            _ => return Err(ApiError::bad_input("give exactly one of `id` and `slug`")),
        };
        let store = store(ctx)?;
        let viewer = super::loaders::viewer(ctx).await?;
        let document = if head_wanted(ctx.look_ahead()) {
            // Read with its head, and what the selection asks of the head, in one statement.
            let parts = head_parts([ctx.look_ahead()]);
            let document = match &key {
                DocumentKey::Id(id) => {
                    store.documents_with_heads_by_ids(&viewer, &[*id], parts).await?.pop()
                }
                DocumentKey::Slug(slug) => {
                    store.document_with_head_by_slug(&viewer, slug, parts).await?
                }
            };
            feed_heads(&*loaders(ctx).await?, document.as_slice()).await;
            document.map(|d| DocumentNode::with_head(d.document, d.head))
        } else {
            // A selection that reads nothing of the head (a history page, say) does not pay
            // for its join; should a field read it after all, the loaders fetch it.
            match (&key, first_revisions_wanted(ctx.look_ahead())) {
                (key, Some(page)) => with_first_page(ctx, store, &viewer, key, page).await?,
                (DocumentKey::Id(id), None) => {
                    load_optional(ctx, *id).await?.map(DocumentNode::new)
                }
                (DocumentKey::Slug(slug), None) => {
                    let document = store.readable_document_by_slug(&viewer, slug).await?;
                    if let Some(document) = &document {
                        loaders(ctx).await?.feed_one(document.id, document.clone()).await;
                    }
                    document.map(DocumentNode::new)
                }
            }
        };
        reads::found(ctx, document.as_ref().map(|d| d.0.id));
        Ok(document)
    }

    /// Citation records of several documents at their heads (at most 100), in one file.
    #[graphql(complexity = "20 * documents.len().max(1)")]
    async fn cite(
        &self,
        ctx: &Context<'_>,
        documents: Vec<ID>,
        format: CitationFormat,
    ) -> ApiResult<CitationExport> {
        if documents.is_empty() || documents.len() > MAX_NODES {
            return Err(ApiError::bad_input(format!("`documents` must hold 1 to {MAX_NODES} ids")));
        }
        let keys = documents
            .iter()
            .map(|id| GlobalId::document("documents", id).map(DocumentKey::Id))
            .collect::<ApiResult<Vec<_>>>()?;
        let base = base_url(ctx)?;
        let viewer = super::loaders::viewer(ctx).await?;
        let records: Vec<RecordInput> = store(ctx)?
            .documents_at_heads(&viewer, &keys)
            .await?
            .into_iter()
            .map(|at| RecordInput::new(at, &base))
            .collect();
        Ok(CitationExport::new(format, crate::render::cite::Format::from(format).render(&records)))
    }

    /// A revision of any document, by its hash.
    async fn revision(&self, ctx: &Context<'_>, hash: String) -> ApiResult<Option<RevisionNode>> {
        let hash = RevisionHash::parse(&hash)?;
        let revision = load_optional(ctx, hash).await?;
        reads::found(ctx, revision.as_ref().map(|r| r.document_id));
        Ok(revision.map(RevisionNode))
    }

    /// What changed from revision `from` to revision `to` (hashes; they may belong to
    /// different documents). `context` is the number of unchanged lines around each change.
    /// Costs 500 points, and per KiB of the two texts a point (LINE), two (WORD) or four (CHAR).
    #[graphql(complexity = 500)]
    async fn diff(
        &self,
        ctx: &Context<'_>,
        from: String,
        to: String,
        #[graphql(default)] granularity: Option<DiffGranularity>,
        #[graphql(default = 3)] context: Option<i32>,
    ) -> ApiResult<Diff> {
        let from = RevisionHash::parse(&from)?;
        let to = RevisionHash::parse(&to)?;
        let viewer = super::loaders::viewer(ctx).await?;
        let diff = store(ctx)?
            .diff_revisions(
                &viewer,
                Some(&from),
                &to,
                granularity.unwrap_or_default().into(),
                context_lines(context)?,
                budget(ctx)?,
            )
            .await?;
        Ok(Diff(diff))
    }

    /// Where the caller stands with the rate limit after this request was charged: what it
    /// cost, the points per window, what is left and when the allowance is whole again. Null
    /// when no rate limit applies. Requests without a token are counted per address.
    // `private`: the answer is this request's own, never replayed to another (validation
    // reads it into the response's cache control, which the response cache obeys).
    #[graphql(cache_control(private))]
    async fn rate_limit(&self, ctx: &Context<'_>) -> ApiResult<Option<RateLimit>> {
        let cost = request_cost(ctx)?;
        Ok(cost.rate_limit().map(|status| RateLimit {
            cost: status.cost,
            limit: status.limit,
            remaining: status.remaining,
            used: status.limit.saturating_sub(status.remaining),
            reset_at: DateTime::from(Timestamp::from_datetime(status.reset_at.into())),
        }))
    }

    /// Paragraphs (and titles) holding the words of `query`, best first, in the documents
    /// as they are now (`scope: HEADS`) or in every revision (`HISTORY`, where each hit says
    /// from which revision to which the words stood). The syntax: words (all in one
    /// paragraph), `"a phrase"`, `prefix*`, `-excluded`; case is ignored, words are letters and
    /// digits. A malformed query is refused `BAD_USER_INPUT`, saying what is wrong.
    #[graphql(complexity = "10 + first.unwrap_or(20).clamp(1, 100) as usize * child_complexity")]
    async fn search(
        &self,
        ctx: &Context<'_>,
        query: String,
        scope: Option<SearchScope>,
        filter: Option<SearchFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<SearchHitConnection> {
        let viewer = super::loaders::viewer(ctx).await?;
        let request = search::request(viewer, &query, scope, filter, first, after)?;
        Ok(SearchHitConnection(store(ctx)?.search(&request).await?))
    }

    /// Citations made by current heads whose verdict against the cited document's head
    /// differs from the one against the revision they are pinned to — quotes that stopped
    /// being true (or became true again) since — so that a client that was away catches up.
    /// Each call checks a window of `first` (1–100, 20 by default) pinned citations whose
    /// cited document has moved on, both ways, and returns the drifted ones among them; pass
    /// `endCursor` as `after` while `hasNextPage`. A window may hold none.
    #[graphql(complexity = "1 + 40 * first.unwrap_or(20).clamp(1, 100) as usize")]
    async fn drifted_citations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<CitationDriftPage> {
        let first = first.unwrap_or(20);
        if !(1..=100).contains(&first) {
            return Err(ApiError::bad_input(format!(
                "`first` must be between 1 and 100, not {first}"
            )));
        }
        let after = after.as_deref().map(CitationDriftPage::after).transpose()?;
        let viewer = super::loaders::viewer(ctx).await?;
        let drifts = store(ctx)?.drifted_citations(&viewer, after, first as u64).await?;
        Ok(CitationDriftPage::new(drifts))
    }

    /// What `query` would cost, without running it: the points it would be charged before
    /// it ran (its `extensions.cost.requested`), and whether that is within the most one
    /// request may cost. Nothing runs and nothing is charged; a query that does not parse or
    /// validate is refused with the errors that running it would give.
    async fn query_cost(
        &self,
        ctx: &Context<'_>,
        query: String,
        operation_name: Option<String>,
        variables: Option<async_graphql::Json<serde_json::Value>>,
    ) -> ApiResult<QueryCost> {
        let limit = request_cost(ctx)?.budget().max();
        let Measurer(schema) = ctx.data::<Measurer>().map_err(|_| {
            tracing::error!("a request without the schema to measure with");
            ApiError::internal()
        })?;
        let mut request = async_graphql::Request::new(query);
        if let Some(name) = operation_name {
            request = request.operation_name(name);
        }
        if let Some(async_graphql::Json(variables)) = variables {
            request = request.variables(async_graphql::Variables::from_json(variables));
        }
        match limits::cost_of(schema, request, limit).await {
            Ok(cost) => Ok(QueryCost { cost, limit, within_limit: cost <= limit }),
            Err(errors) => Err(ApiError::bad_input(format!(
                "the query would be refused: {}",
                errors.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join("; ")
            ))),
        }
    }

    /// The agent behind the request's token; null for an anonymous request.
    #[graphql(cache_control(private))]
    async fn viewer(&self, ctx: &Context<'_>) -> ApiResult<Option<AgentNode>> {
        Ok(RequestAuth::principal(ctx).await?.map(|p| AgentNode::new(p.agent)))
    }
}

object_with_pages! {
    #[Object]
    impl QueryLists {}
    pages {
        /// A page of documents. Pages hold 1 to 100 documents (20 by default).
        documents(filter: Option<DocumentFilter>, order_by: Option<DocumentOrder>) -> DocumentConnection =
            |_root, ctx, args| {
                let filter = store::DocumentFilter {
                    viewer: super::loaders::viewer(ctx).await?,
                    kind: filter.unwrap_or_default().kind.map(Into::into),
                };
                DocumentConnection::load(ctx, filter, order_by.into(), args).await
            };

        /// Every source in the corpus, oldest first.
        sources -> SourceConnection =
            |_root, ctx, args| SourceConnection::all(store(ctx)?, args).await;
    }
}

/// The document `key` names, if `viewer` may read it, read with the first page of its history
/// in one statement: the document and the revisions' authors go to the request's loaders, the
/// page stays with the document's node for its `revisions` field to serve.
async fn with_first_page(
    ctx: &Context<'_>,
    store: &store::Store,
    viewer: &store::Viewer,
    key: &DocumentKey,
    asked: store::FirstPage,
) -> ApiResult<Option<DocumentNode>> {
    let found = store.document_with_first_revisions(viewer, key, asked).await?;
    let Some(found) = found else { return Ok(None) };
    let loaders = loaders(ctx).await?;
    loaders.feed_one(found.document.id, found.document.clone()).await;
    feed_authors(&loaders, found.authors).await;
    let first = FirstRevisions { asked, page: found.revisions };
    Ok(Some(DocumentNode::with_first_revisions(found.document, first)))
}
