//! Watches: the `Watch` object type, `Query.watches`, and the mutations that add, pause,
//! resume, remove and hurry watches. (What captures say of a revision: `objects::capture`.)

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use url::Url;

use crate::capture::guard::AddressPolicy;
use crate::graphql::auth::{Permission, RequestAuth};
use crate::graphql::connection::WatchConnection;
use crate::graphql::context::store;
use crate::graphql::error::{ApiError, ApiResult};
use crate::graphql::ids::GlobalId;
use crate::graphql::kinds::DocumentKind;
use crate::graphql::loaders::load_optional;
use crate::graphql::nodes::{AgentNode, DocumentNode, WatchNode};
use crate::graphql::scalars::DateTime;
use crate::store::{self, AuditAction, AuditTarget, NewWatch, Slug, WatchId, WatchInterval};

/// What a watch follows.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::store::WatchKind")]
pub enum WatchKind {
    /// One page, captured as a document's revisions.
    Page,
    /// A feed (RSS, Atom, JSON Feed) whose entries each become a page watch.
    Feed,
}

/// What came of a capture.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::store::CaptureOutcome")]
pub enum CaptureOutcome {
    /// The page's first capture: its document was created.
    Created,
    /// The page changed: a revision was written.
    Revised,
    /// The page showed the head's text again: a sighting, no revision.
    Unchanged,
    /// The server said the page had not changed (304): a sighting, no revision.
    NotModified,
    /// The page is gone (404 or 410); its document is kept.
    Gone,
    /// The fetch failed (an error status, a timeout, a page too large, no article in it).
    Failed,
    /// Not fetched: robots.txt disallows it, or its address is one captures may not reach.
    Refused,
    /// A feed was read, and its new entries watched.
    FeedRead,
}

#[Object(name = "Watch")]
impl WatchNode {
    /// An opaque global id.
    pub async fn id(&self) -> ID {
        GlobalId::Watch(self.0.id).encode()
    }

    async fn watch_kind(&self) -> WatchKind {
        self.0.kind.into()
    }

    /// The page or feed followed.
    async fn watch_url(&self) -> &str {
        &self.0.url
    }

    /// The document its captures write; null until a capture found the page's text (and
    /// always for a feed).
    async fn document(&self, ctx: &Context<'_>) -> ApiResult<Option<DocumentNode>> {
        match self.0.document {
            Some(id) => Ok(load_optional(ctx, id).await?.map(DocumentNode::new)),
            None => Ok(None),
        }
    }

    /// The kind of document its pages become.
    async fn document_kind(&self) -> DocumentKind {
        self.0.document_kind.into()
    }

    async fn interval_seconds(&self) -> i64 {
        self.0.interval.seconds()
    }

    /// Whether robots.txt is obeyed.
    async fn obey_robots(&self) -> bool {
        self.0.obey_robots
    }

    async fn paused(&self) -> bool {
        self.0.paused
    }

    /// The feed watch that found this page, for a feed's entries.
    async fn feed(&self, ctx: &Context<'_>) -> ApiResult<Option<WatchNode>> {
        match self.0.feed {
            Some(id) => Ok(load_optional(ctx, id).await?.map(WatchNode)),
            None => Ok(None),
        }
    }

    /// Who added it (a feed's entries: who added the feed).
    async fn created_by(&self, ctx: &Context<'_>) -> ApiResult<Option<AgentNode>> {
        Ok(load_optional(ctx, self.0.created_by).await?.map(AgentNode))
    }

    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }

    /// When it is next captured (unless paused).
    async fn next_run_at(&self) -> DateTime {
        DateTime(self.0.next_run_at)
    }

    /// When its last capture ran; null before the first.
    async fn last_run_at(&self) -> Option<DateTime> {
        self.0.last_run.as_ref().map(|run| DateTime(run.at))
    }

    /// What came of its last capture.
    async fn last_outcome(&self) -> Option<CaptureOutcome> {
        self.0.last_run.as_ref().map(|run| run.outcome.into())
    }

    /// The HTTP status of its last capture, when it got a response.
    async fn last_status(&self) -> Option<i32> {
        self.0.last_run.as_ref().and_then(|run| run.status).map(i32::from)
    }

    /// Why its last capture failed or was refused, or what a feed's read found.
    async fn last_detail(&self) -> Option<&str> {
        self.0.last_run.as_ref().and_then(|run| run.detail.as_deref())
    }

    /// How many captures it had.
    async fn capture_count(&self) -> u64 {
        self.0.runs
    }

    /// How many of them wrote a revision.
    async fn revision_count(&self) -> u64 {
        self.0.revisions
    }

    /// How many of them failed (gone, failed or refused).
    async fn failure_count(&self) -> u64 {
        self.0.failures
    }
}

/// The address rules captures are held to, for refusing a URL when it is watched.
#[derive(Clone, Default)]
pub struct CapturePolicy(pub AddressPolicy);

/// A page to capture again and again.
#[derive(InputObject)]
pub struct WatchPageInput {
    /// An absolute http(s) URL.
    url: String,
    /// The slug of its document: an existing document is revised from the page, a new one
    /// gets this slug. Derived from the URL when omitted.
    slug: Option<String>,
    /// The kind of document it becomes (ARTICLE when omitted).
    kind: Option<DocumentKind>,
    /// How often to capture it: 300 (5 minutes) to 604800 (7 days); 3600 when omitted.
    interval_seconds: Option<i64>,
    /// Whether to obey the site's robots.txt (true when omitted).
    #[graphql(default = true)]
    obey_robots: bool,
}

/// A feed (RSS 1 or 2, Atom, JSON Feed) whose entries each become a page watch.
#[derive(InputObject)]
pub struct WatchFeedInput {
    /// An absolute http(s) URL.
    url: String,
    /// The kind of document its entries become (ARTICLE when omitted).
    kind: Option<DocumentKind>,
    /// How often to read the feed, and to capture each entry: 300 to 604800 seconds.
    interval_seconds: Option<i64>,
    #[graphql(default = true)]
    obey_robots: bool,
}

/// A watch to act on.
#[derive(InputObject)]
pub struct WatchIdInput {
    /// The watch's global id or UUID.
    watch_id: ID,
}

#[derive(SimpleObject)]
pub struct WatchPayload {
    watch: WatchNode,
}

/// The mutations on watches.
#[derive(Default)]
pub struct WatchMutations;

const WRITE: Permission = Permission::WriteDocuments;

fn parse_url(ctx: &Context<'_>, input: &str) -> ApiResult<String> {
    let url = Url::parse(input.trim())
        .map_err(|e| ApiError::bad_input(format!("url: {input:?} is not an absolute URL ({e})")))?;
    if url.as_str().len() > 2048 {
        return Err(ApiError::bad_input("url: longer than 2,048 characters"));
    }
    let policy = ctx.data_opt::<CapturePolicy>().cloned().unwrap_or_default();
    policy.0.check_url(&url).map_err(|refused| ApiError::bad_input(format!("url: {refused}")))?;
    Ok(url.to_string())
}

fn interval(seconds: Option<i64>) -> ApiResult<WatchInterval> {
    Ok(seconds.map(WatchInterval::from_seconds).transpose()?.unwrap_or_default())
}

fn watch_id(id: &ID) -> ApiResult<WatchId> {
    if let Ok(uuid) = WatchId::parse(id) {
        return Ok(uuid);
    }
    match GlobalId::decode(id) {
        Ok(GlobalId::Watch(id)) => Ok(id),
        _ => Err(ApiError::bad_input(format!("watchId: {:?} is not a watch id", id.as_str()))),
    }
}

fn watch_target(id: &ID) -> AuditTarget {
    watch_id(id).map_or(AuditTarget::Unnamed, AuditTarget::Watch)
}

#[Object]
impl WatchMutations {
    /// Watches a page: it is captured now and then every `intervalSeconds`; each capture
    /// whose article text or title differs from its document's head writes a revision
    /// (authored by the capture agent, with the HTTP exchange kept as WARC evidence), the
    /// others record a sighting. Needs an editor token.
    async fn watch_page(
        &self,
        ctx: &Context<'_>,
        input: WatchPageInput,
    ) -> ApiResult<WatchPayload> {
        let actor =
            RequestAuth::authorize(ctx, WRITE, AuditAction::AddWatch, || AuditTarget::Unnamed)
                .await?;
        let slug = input.slug.as_deref().map(Slug::parse).transpose()?;
        if let Some(slug) = &slug {
            writable_slug(ctx, slug).await?;
        }
        let watch = NewWatch {
            kind: store::WatchKind::Page,
            url: parse_url(ctx, &input.url)?,
            slug,
            document_kind: input.kind.map_or(store::DocumentKind::Article, Into::into),
            interval: interval(input.interval_seconds)?,
            obey_robots: input.obey_robots,
        };
        let watch = store(ctx)?.add_watch(watch, None, &actor).await?;
        Ok(WatchPayload { watch: WatchNode(watch) })
    }

    /// Watches a feed: read now and then every `intervalSeconds`; each entry not watched yet
    /// becomes a page watch with the feed's interval and kind. Needs an editor token.
    async fn watch_feed(
        &self,
        ctx: &Context<'_>,
        input: WatchFeedInput,
    ) -> ApiResult<WatchPayload> {
        let actor =
            RequestAuth::authorize(ctx, WRITE, AuditAction::AddWatch, || AuditTarget::Unnamed)
                .await?;
        let watch = NewWatch {
            kind: store::WatchKind::Feed,
            url: parse_url(ctx, &input.url)?,
            slug: None,
            document_kind: input.kind.map_or(store::DocumentKind::Article, Into::into),
            interval: interval(input.interval_seconds)?,
            obey_robots: input.obey_robots,
        };
        let watch = store(ctx)?.add_watch(watch, None, &actor).await?;
        Ok(WatchPayload { watch: WatchNode(watch) })
    }

    /// Pauses a watch: no capture until it is resumed. Needs an editor token.
    async fn pause_watch(&self, ctx: &Context<'_>, input: WatchIdInput) -> ApiResult<WatchPayload> {
        change_watch(ctx, &input, Change::Pause).await
    }

    /// Resumes a paused watch; it is captured at once. Needs an editor token.
    async fn resume_watch(
        &self,
        ctx: &Context<'_>,
        input: WatchIdInput,
    ) -> ApiResult<WatchPayload> {
        change_watch(ctx, &input, Change::Resume).await
    }

    /// Makes a watch due now: the next worker to look captures it. Needs an editor token.
    async fn capture_watch_now(
        &self,
        ctx: &Context<'_>,
        input: WatchIdInput,
    ) -> ApiResult<WatchPayload> {
        change_watch(ctx, &input, Change::CaptureNow).await
    }

    /// Removes a watch: it is not captured again; its document, revisions and captures stay.
    /// Needs an editor token.
    async fn remove_watch(
        &self,
        ctx: &Context<'_>,
        input: WatchIdInput,
    ) -> ApiResult<WatchPayload> {
        change_watch(ctx, &input, Change::Remove).await
    }
}

/// What a mutation on an existing watch does.
#[derive(Clone, Copy)]
enum Change {
    Pause,
    Resume,
    CaptureNow,
    Remove,
}

/// The mutations on one watch: the caller authorized for the change (a refusal audited under
/// its action), the watch's id parsed, one store call.
async fn change_watch(
    ctx: &Context<'_>,
    input: &WatchIdInput,
    change: Change,
) -> ApiResult<WatchPayload> {
    let action = match change {
        Change::Pause => AuditAction::PauseWatch,
        Change::Resume => AuditAction::ResumeWatch,
        Change::CaptureNow => AuditAction::CaptureWatchNow,
        Change::Remove => AuditAction::RemoveWatch,
    };
    let target = || watch_target(&input.watch_id);
    let actor = RequestAuth::authorize(ctx, WRITE, action, target).await?;
    let (store, id) = (store(ctx)?, watch_id(&input.watch_id)?);
    let watch = match change {
        Change::Pause => store.set_watch_paused(id, true, &actor).await?,
        Change::Resume => store.set_watch_paused(id, false, &actor).await?,
        Change::CaptureNow => store.capture_watch_now(id, &actor).await?,
        Change::Remove => store.remove_watch(id, &actor).await?,
    };
    Ok(WatchPayload { watch: WatchNode(watch) })
}

object_with_pages! {
    #[Object]
    impl WatchLists {}
    pages {
        /// The watches, oldest first. Needs an editor, archivist or admin token.
        watches -> WatchConnection =
            |_root, ctx, args| {
                RequestAuth::require_permission(ctx, Permission::ReadWatches).await?;
                WatchConnection::all(store(ctx)?, args).await
            };
    }
}

#[derive(Default)]
pub struct WatchLists;

/// A watch that names a slug writes its captures into the document with that slug: the caller
/// must be one who may write it. A document it may not read takes the slug as any document
/// does (CONFLICT, the answer `createDocument` gives), and says nothing more of itself.
async fn writable_slug(ctx: &Context<'_>, slug: &Slug) -> ApiResult<()> {
    let Some(found) = store(ctx)?.document_by_slug(slug).await? else {
        return Ok(());
    };
    if load_optional::<store::DocumentId>(ctx, found.id).await?.is_none() {
        return Err(store::StoreError::Conflict(store::Conflict::SlugTaken(slug.clone())).into());
    }
    RequestAuth::require_in(ctx, WRITE, &found).await?;
    Ok(())
}
