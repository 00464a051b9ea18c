//! Batched loads: every `Revision.parent`, `.author`, `.document`, `.content`, `.source` and
//! `Document.head` in one response is gathered into one `IN (...)` query per key type, so a
//! page of N items costs a fixed number of queries, not N. One `DataLoader` is built per
//! request (per event, for a subscription: `RequestLoaders::forget` replaces it whole, every
//! key type's cache with it), so its cache can never serve a stale head. Reads
//! that fetch related rows in the same statement (a page of documents with their heads and
//! sources) feed them to this cache, and the fields that ask for them find them there (a
//! document's `title` and `head` take the head its node was read with, the same `Arc`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use async_graphql::{Context, Lookahead};

use super::auth::RequestAuth;
use super::error::{ApiError, ApiResult};
use crate::store::{
    Agent, AgentId, Capture, Citation, CitationId, Collection, CollectionId, Document, DocumentId,
    DocumentWithHead, HeadParts, Redaction, Revision, RevisionHash, Sighting, Source, SourceId,
    Store, StoreError, Timestamp, UnredactedText, Viewer, Watch, WatchId,
};

/// The store as one request's caller reads it: what that caller may not read is missing.
pub struct StoreLoader {
    store: Store,
    /// Set by `loaders` before the loader is handed out (resolving it may need the caller's
    /// memberships, an async read with errors of its own), once per run.
    viewer: std::sync::OnceLock<Viewer>,
}

impl StoreLoader {
    fn viewer(&self) -> Result<&Viewer, Arc<StoreError>> {
        self.viewer.get().ok_or_else(|| {
            Arc::new(StoreError::Unexpected(anyhow::anyhow!(
                "a loader used before its viewer was set"
            )))
        })
    }
}

/// Keyed with foldhash, not SipHash: a page of 50 documents with their heads and sources puts
/// 150 entries in the cache and looks up 50, and foldhash took 2 % off that request's
/// instructions (callgrind, q3 of the read workload; a revision's key is 64 hex digits). A
/// request's keys are few (its limits bound them), and each map's seed is random.
pub type Loaders = DataLoader<StoreLoader, HashMapCache<foldhash::fast::RandomState>>;

/// The loaders of one request. A subscription runs again for each event, and must not be
/// served what the last run read: `forget` replaces the loader whole, whatever key types it
/// has cached (a loader added later included).
pub struct RequestLoaders {
    store: Store,
    /// Where the request's reads go, once its document is parsed (a replica, for a query).
    choice: Option<Arc<super::context::ReadChoice>>,
    /// Made at the first use, after parsing has decided where reads go.
    current: std::sync::RwLock<Option<Arc<Loaders>>>,
    /// On the primary, for what a replica's answer refers to but the replica does not hold
    /// yet (`load_required`); made at the first such miss.
    behind: std::sync::OnceLock<Arc<Loaders>>,
}

impl RequestLoaders {
    pub fn new(store: Store, choice: Option<Arc<super::context::ReadChoice>>) -> Self {
        Self { store, choice, current: std::sync::RwLock::new(None), behind: Default::default() }
    }

    /// Loaders on the primary when this request reads from a replica; `None` otherwise.
    fn on_primary(&self, viewer: &Viewer) -> Option<Arc<Loaders>> {
        self.choice.as_ref()?.reading()?;
        let loaders = self.behind.get_or_init(|| Arc::new(for_request(self.store.clone())));
        let _ = loaders.loader().viewer.set(viewer.clone());
        Some(loaders.clone())
    }

    fn store(&self) -> Store {
        self.choice.as_ref().and_then(|c| c.reading()).unwrap_or(&self.store).clone()
    }

    /// The loader of the run in progress.
    pub fn current(&self) -> Arc<Loaders> {
        if let Some(current) = &*self.current.read().unwrap_or_else(|p| p.into_inner()) {
            return current.clone();
        }
        let mut current = self.current.write().unwrap_or_else(|p| p.into_inner());
        current.get_or_insert_with(|| Arc::new(for_request(self.store()))).clone()
    }

    /// Starts afresh: the next run reads everything anew.
    pub fn forget(&self) {
        let fresh = Arc::new(for_request(self.store()));
        *self.current.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(fresh);
    }
}

/// A fresh loader for one request. A batch is sent once the request's resolvers have had a
/// few turns of the executor to register their keys, not after a timer: the executor yields
/// after polling 32 sibling resolvers, so a list of 100 items registers over 4 turns. Each
/// actix worker runs one thread, so the yields interleave with the request's own turns.
fn for_request(store: Store) -> Loaders {
    let spawn = |batch| {
        tokio::spawn(async move {
            for _ in 0..BATCH_TURNS {
                tokio::task::yield_now().await;
            }
            batch.await
        })
    };
    DataLoader::with_cache(
        StoreLoader { store, viewer: std::sync::OnceLock::new() },
        spawn,
        HashMapCache::new(),
    )
    .delay(Duration::ZERO)
    .max_batch_size(500)
}

/// Executor turns a batch waits for keys before it is sent.
const BATCH_TURNS: usize = 8;

// `for viewer`: the store's read takes the request's viewer and returns only what it may read.
macro_rules! batch_loader {
    // `shared`: each value is held once, behind an `Arc`, by every field that asks for it.
    ($key:ty => shared $value:ty, $($how:ident)+, |$item:ident| $key_of:expr) => {
        batch_loader!(@impl $key => Arc<$value>, $($how)+, |$item| ($key_of, Arc::new($item)));
    };
    ($key:ty => $value:ty, for viewer $method:ident, |$item:ident| $key_of:expr) => {
        batch_loader!(@impl $key => $value, for viewer $method, |$item| ($key_of, $item));
    };
    ($key:ty => $value:ty, $method:ident, |$item:ident| $key_of:expr) => {
        batch_loader!(@impl $key => $value, $method, |$item| ($key_of, $item));
    };
    (@impl $key:ty => $value:ty, for viewer $method:ident, |$item:ident| $entry:expr) => {
        impl Loader<$key> for StoreLoader {
            type Value = $value;
            type Error = Arc<StoreError>;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, $value>, Self::Error> {
                let rows = self.store.$method(self.viewer()?, keys).await.map_err(Arc::new)?;
                Ok(rows.into_iter().map(|$item| $entry).collect())
            }
        }
    };
    (@impl $key:ty => $value:ty, $method:ident, |$item:ident| $entry:expr) => {
        impl Loader<$key> for StoreLoader {
            type Value = $value;
            type Error = Arc<StoreError>;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, $value>, Self::Error> {
                let rows = self.store.$method(keys).await.map_err(Arc::new)?;
                Ok(rows.into_iter().map(|$item| $entry).collect())
            }
        }
    };
}

// Revisions are shared by every field of the request that asks for them, not copied.
batch_loader!(RevisionHash => shared Revision, for viewer revisions_by_hashes, |r| r.hash.clone());
batch_loader!(CitationId => Citation, for viewer citations_by_ids, |c| c.id);

// Agents too: a history page feeds its authors (most often one agent, many times over), and
// each revision's `author` takes the same one back.
batch_loader!(AgentId => shared Agent, agents_by_ids, |a| a.id);
// Sources too: a page of documents with their heads' sources feeds them here, and each head's
// `source` takes the same one back.
batch_loader!(SourceId => shared Source, sources_by_ids, |s| s.id);

impl Loader<DocumentId> for StoreLoader {
    type Value = Document;
    type Error = Arc<StoreError>;

    async fn load(
        &self,
        keys: &[DocumentId],
    ) -> Result<HashMap<DocumentId, Document>, Self::Error> {
        let viewer = self.viewer()?;
        let rows = self.store.documents_by_ids(keys).await.map_err(Arc::new)?;
        Ok(rows.into_iter().filter(|d| viewer.may_read(d)).map(|d| (d.id, d)).collect())
    }
}

/// Collections, as the caller may know of them: a restricted one only to its members.
impl Loader<CollectionId> for StoreLoader {
    type Value = Collection;
    type Error = Arc<StoreError>;

    async fn load(
        &self,
        keys: &[CollectionId],
    ) -> Result<HashMap<CollectionId, Collection>, Self::Error> {
        let viewer = self.viewer()?;
        let rows = self.store.collections_by_ids(keys).await.map_err(Arc::new)?;
        Ok(rows.into_iter().filter(|c| viewer.may_see(c)).map(|c| (c.id, c)).collect())
    }
}

batch_loader!(WatchId => Watch, watches_by_ids, |w| w.id);

/// The capture that wrote a revision.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CaptureOf(pub RevisionHash);

impl Loader<CaptureOf> for StoreLoader {
    type Value = Capture;
    type Error = Arc<StoreError>;

    async fn load(&self, keys: &[CaptureOf]) -> Result<HashMap<CaptureOf, Capture>, Self::Error> {
        let hashes: Vec<RevisionHash> = keys.iter().map(|k| k.0.clone()).collect();
        let rows = self.store.captures_of_revisions(&hashes).await.map_err(Arc::new)?;
        Ok(rows.into_iter().filter_map(|c| Some((CaptureOf(c.revision.clone()?), c))).collect())
    }
}

/// When captures saw a revision's text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SightingsOf(pub RevisionHash);

impl Loader<SightingsOf> for StoreLoader {
    type Value = Sighting;
    type Error = Arc<StoreError>;

    async fn load(
        &self,
        keys: &[SightingsOf],
    ) -> Result<HashMap<SightingsOf, Sighting>, Self::Error> {
        let hashes: Vec<RevisionHash> = keys.iter().map(|k| k.0.clone()).collect();
        let rows = self.store.sightings(&hashes).await.map_err(Arc::new)?;
        Ok(rows.into_iter().map(|s| (SightingsOf(s.revision.clone()), s)).collect())
    }
}

impl Loader<UnredactedText> for StoreLoader {
    type Value = Arc<str>;
    type Error = Arc<StoreError>;

    async fn load(
        &self,
        keys: &[UnredactedText],
    ) -> Result<HashMap<UnredactedText, Arc<str>>, Self::Error> {
        let rows = self.store.unredacted_texts(keys).await.map_err(Arc::new)?;
        Ok(rows.into_iter().collect())
    }
}

/// The tombstone of a redacted revision.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RedactionOf(pub RevisionHash);

impl Loader<RedactionOf> for StoreLoader {
    type Value = Redaction;
    type Error = Arc<StoreError>;

    async fn load(
        &self,
        keys: &[RedactionOf],
    ) -> Result<HashMap<RedactionOf, Redaction>, Self::Error> {
        let hashes: Vec<RevisionHash> = keys.iter().map(|k| k.0.clone()).collect();
        let rows = self.store.redactions(&hashes).await.map_err(Arc::new)?;
        Ok(rows.into_iter().map(|r| (RedactionOf(r.revision.clone()), r)).collect())
    }
}

/// The revision that was a document's head at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HeadAt(pub DocumentId, pub Timestamp);

impl Loader<HeadAt> for StoreLoader {
    type Value = Arc<Revision>;
    type Error = Arc<StoreError>;

    async fn load(&self, keys: &[HeadAt]) -> Result<HashMap<HeadAt, Arc<Revision>>, Self::Error> {
        let mut by_instant: HashMap<Timestamp, Vec<DocumentId>> = HashMap::new();
        for HeadAt(document, instant) in keys {
            by_instant.entry(*instant).or_default().push(*document);
        }
        let mut found = HashMap::new();
        for (instant, documents) in by_instant {
            let revisions =
                self.store.revisions_as_of(&documents, instant).await.map_err(Arc::new)?;
            found.extend(
                revisions.into_iter().map(|r| (HeadAt(r.document_id, instant), Arc::new(r))),
            );
        }
        Ok(found)
    }
}

/// Puts documents read with their heads (and the heads' sources) into the request's cache, so
/// that `title`, `head` and `head.source` are answered without another query.
pub async fn feed_heads(loaders: &Loaders, rows: &[DocumentWithHead]) {
    loaders.feed_many(rows.iter().map(|r| (r.document.id, r.document.clone()))).await;
    loaders.feed_many(rows.iter().map(|r| (r.head.hash.clone(), r.head.clone()))).await;
    let sources = rows.iter().filter_map(|r| r.source.as_ref()).map(|s| (s.id, s.clone()));
    loaders.feed_many(sources).await;
}

/// Puts a history page's authors into the request's cache, each agent once (a page's
/// revisions are most often one agent's).
pub async fn feed_authors(loaders: &Loaders, authors: Vec<Agent>) {
    let mut distinct: Vec<Agent> = Vec::new();
    for author in authors {
        if !distinct.iter().any(|seen| seen.id == author.id) {
            distinct.push(author);
        }
    }
    loaders.feed_many(distinct.into_iter().map(|a| (a.id, Arc::new(a)))).await;
}

/// Whether the fields selected on a document read its head revision (`title` is the head's).
pub fn head_wanted(document: Lookahead<'_>) -> bool {
    document.field("title").exists() || document.field("head").exists()
}

/// What to read with each document's head, from the fields selected on the documents.
pub fn head_parts<'a>(documents: impl IntoIterator<Item = Lookahead<'a>>) -> HeadParts {
    let mut parts = HeadParts::default();
    for document in documents {
        parts.source |= document.field("head").field("source").exists();
    }
    parts
}

/// The loaders of the run in progress, for the caller: the first use in a run reads what the
/// caller may read (`RequestAuth::viewer`).
pub async fn loaders(ctx: &Context<'_>) -> ApiResult<Arc<Loaders>> {
    let loaders = ctx.data::<RequestLoaders>().map_err(|_| {
        tracing::error!("request without loaders");
        ApiError::internal()
    })?;
    let current = loaders.current();
    if current.loader().viewer.get().is_none() {
        let viewer = RequestAuth::viewer(ctx).await?;
        // Another resolver of the run may have set it meanwhile, to the same viewer.
        let _ = current.loader().viewer.set(viewer);
    }
    Ok(current)
}

/// What the caller may read, as this run's loaders read it.
pub async fn viewer(ctx: &Context<'_>) -> ApiResult<Viewer> {
    let loaders = loaders(ctx).await?;
    Ok(loaders.loader().viewer().map_err(ApiError::from)?.clone())
}

/// Starts the request's loaders afresh (a subscription's next event).
pub fn forget(ctx: &Context<'_>) -> ApiResult<()> {
    ctx.data::<RequestLoaders>().map_err(|_| ApiError::internal())?.forget();
    Ok(())
}

/// Loads one value that must exist: its absence means the database broke an invariant.
pub async fn load_required<K>(
    ctx: &Context<'_>,
    key: K,
) -> ApiResult<<StoreLoader as Loader<K>>::Value>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + std::fmt::Debug + 'static,
    StoreLoader: Loader<K, Error = Arc<StoreError>>,
{
    let current = loaders(ctx).await?;
    if let Some(value) = current.load_one(key.clone()).await? {
        return Ok(value);
    }
    // A replica holds what it has replayed: a row found on the primary (a revision by its
    // hash) may refer to one the replica has not replayed yet.
    let viewer = current.loader().viewer().map_err(ApiError::from)?;
    let request = ctx.data::<RequestLoaders>().map_err(|_| ApiError::internal())?;
    if let Some(primary) = request.on_primary(viewer)
        && let Some(value) = primary.load_one(key.clone()).await?
    {
        return Ok(value);
    }
    tracing::error!(?key, "dangling reference in the database");
    Err(ApiError::internal())
}

pub async fn load_optional<K>(
    ctx: &Context<'_>,
    key: K,
) -> ApiResult<Option<<StoreLoader as Loader<K>>::Value>>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    StoreLoader: Loader<K, Error = Arc<StoreError>>,
{
    Ok(loaders(ctx).await?.load_one(key).await?)
}
