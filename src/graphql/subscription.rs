//! Subscriptions: revisions as they commit, and citations whose quotes stop (or start again)
//! being true. The store hears every commit (from any process, on PostgreSQL); each event is
//! resolved as a query of its own: fresh loaders and a fresh allowance of text, so a long-lived
//! subscription never serves a value read for an earlier event.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_graphql::{Context, ID, Object, Subscription};
use futures_util::Stream;
use tokio::sync::Notify;

use super::auth::RequestAuth;
use super::context::store;
use super::error::{ApiError, ApiResult, ErrorCode};
use super::ids::GlobalId;
use super::limits::EventMeter;
use super::loaders::{self, load_required};
use super::nodes::{CitationNode, DocumentNode, RevisionNode};
use super::objects::QuoteVerification;
use crate::store::{self, CitationChange, DocumentId, Listener, Notice, RevisionEvent, Slug};

/// The most documents one subscription may name.
pub const MAX_SUBSCRIBED_DOCUMENTS: usize = 100;

/// What a connection that carries subscriptions is told by them: that one fell behind, so the
/// transport closes the connection rather than let it go on with a hole in what it was sent.
#[derive(Debug, Default)]
pub struct FellBehind {
    fell: AtomicBool,
    notify: Notify,
}

impl FellBehind {
    fn mark(&self) {
        self.fell.store(true, Ordering::Relaxed);
        self.notify.notify_waiters();
    }

    /// Resolves once a subscription of the connection has fallen behind.
    pub async fn wait(&self) {
        let notified = self.notify.notified();
        if self.fell.load(Ordering::Relaxed) {
            return;
        }
        notified.await;
    }
}

#[derive(Default)]
pub struct SubscriptionRoot;

#[Subscription(name = "Subscription")]
impl SubscriptionRoot {
    /// Each revision of the named documents as it commits, by any server on the database:
    /// give exactly one of `ids` and `slugs` (at most 100; slugs are looked up when the
    /// subscription starts). A subscriber that falls more than 4,096 events behind is told so
    /// with an `UNAVAILABLE` error and disconnected: its documents' `history` has what it missed.
    /// Each event is paid for as a query of its own (its selection plus 50 points), from the
    /// same rate limit; a client that cannot pay for one is told `RATE_LIMITED` and the
    /// subscription ends.
    #[graphql(complexity = "50 + child_complexity")]
    async fn document_changed(
        &self,
        ctx: &Context<'_>,
        ids: Option<Vec<ID>>,
        slugs: Option<Vec<String>>,
    ) -> async_graphql::Result<impl Stream<Item = ApiResult<DocumentChange>>> {
        let wanted = subscribed_documents(ctx, ids, slugs).await?;
        let listener = store(ctx)?.listen_revisions().await.map_err(ApiError::from)?;
        Ok(events(ctx, listener, move |event: &RevisionEvent| {
            wanted
                .contains(&event.document)
                .then(|| (DocumentChange(event.clone()), vec![event.document]))
        }))
    }

    /// Each citation whose quote fares differently against its cited document's head once
    /// that document has a new revision (VERIFIED → ALTERED or NOT_FOUND, or back): its
    /// verdicts against the head before and after, the after one with its word diff. Give the
    /// documents on either side (the citing or the cited; at most 100). A client that was
    /// offline catches up with `Query.driftedCitations`. Each event is paid for as a query of
    /// its own (its selection plus 100 points), as for `documentChanged`.
    #[graphql(complexity = "100 + child_complexity")]
    async fn citation_drift(
        &self,
        ctx: &Context<'_>,
        document_ids: Vec<ID>,
    ) -> async_graphql::Result<impl Stream<Item = ApiResult<CitationDriftEvent>>> {
        bounded("documentIds", document_ids.len())?;
        let wanted: HashSet<DocumentId> = document_ids
            .iter()
            .map(|id| GlobalId::document("documentIds", id))
            .collect::<ApiResult<_>>()?;
        let listener = store(ctx)?.listen_citation_changes().await.map_err(ApiError::from)?;
        Ok(events(ctx, listener, move |change: &CitationChange| {
            let citation = &change.after.citation;
            // Both sides must be readable: the event carries the cited text's verdicts.
            let reveals = vec![citation.citing_document, change.cause.document];
            (wanted.contains(&citation.citing_document) || wanted.contains(&change.cause.document))
                .then(|| (CitationDriftEvent(change.clone()), reveals))
        }))
    }
}

/// The documents a subscription names, by id or by slug.
async fn subscribed_documents(
    ctx: &Context<'_>,
    ids: Option<Vec<ID>>,
    slugs: Option<Vec<String>>,
) -> ApiResult<HashSet<DocumentId>> {
    match (ids, slugs) {
        (Some(ids), None) => {
            bounded("ids", ids.len())?;
            ids.iter().map(|id| GlobalId::document("ids", id)).collect()
        }
        (None, Some(slugs)) => {
            bounded("slugs", slugs.len())?;
            let slugs = slugs.iter().map(|s| Slug::parse(s)).collect::<Result<Vec<_>, _>>()?;
            let viewer = loaders::viewer(ctx).await?;
            let mut found = store(ctx)?.documents_by_slugs(&slugs).await?;
            found.retain(|d| viewer.may_read(d));
            if let Some(missing) = slugs.iter().find(|slug| !found.iter().any(|d| d.slug == **slug))
            {
                return Err(ApiError::new(
                    ErrorCode::NotFound,
                    format!("no document has the slug {}", store::quoted(missing.as_str())),
                ));
            }
            Ok(found.into_iter().map(|d| d.id).collect())
        }
        _ => Err(ApiError::bad_input("give exactly one of `ids` and `slugs`")),
    }
}

fn bounded(field: &str, len: usize) -> ApiResult<()> {
    if len == 0 || len > MAX_SUBSCRIBED_DOCUMENTS {
        return Err(ApiError::bad_input(format!(
            "`{field}` must hold 1 to {MAX_SUBSCRIBED_DOCUMENTS} documents"
        )));
    }
    Ok(())
}

/// The events of `listener` that `pick` keeps, each resolved afresh; ends with an error once
/// events were missed. `pick` names the documents an event reveals: it is delivered only if
/// the subscriber may read them all when it happens (what it may read is read again for each
/// event, so a membership removed, or an embargo not yet lifted, holds the event back).
fn events<'a, T, E>(
    ctx: &'a Context<'_>,
    listener: Listener<T>,
    pick: impl Fn(&T) -> Option<(E, Vec<DocumentId>)> + Send + Sync + 'a,
) -> impl Stream<Item = ApiResult<E>> + Send + 'a
where
    T: Send + Sync + 'static,
    E: Send + 'a,
{
    let meter = EventMeter::of(ctx);
    futures_util::stream::unfold(Some((listener, pick, meter)), move |state| async move {
        let (mut listener, pick, meter) = state?;
        let mut meter = match meter {
            Ok(meter) => meter,
            Err(err) => return Some((Err(err), None)),
        };
        // Polled again once the last event was resolved: it is paid for now.
        meter.settle();
        loop {
            match listener.next().await? {
                Notice::Event(event) => {
                    let Some((picked, reveals)) = pick(&event) else { continue };
                    match readable(ctx, reveals).await {
                        Ok(true) => {}
                        Ok(false) => continue,
                        Err(err) => return Some((Err(err), None)),
                    }
                    // Paid for before it is resolved.
                    if let Err(err) = meter.start().await {
                        return Some((Err(err), None));
                    }
                    return Some((Ok(picked), Some((listener, pick, Ok(meter)))));
                }
                Notice::Missed => {
                    if let Some(connection) = ctx.data_opt::<Arc<FellBehind>>() {
                        connection.mark();
                    }
                    return Some((Err(missed()), None));
                }
            }
        }
    })
}

/// Whether the subscriber may read every one of `documents` now: the event starts here with
/// nothing remembered from the one before it, what the caller may read included (its token
/// is checked again, its memberships read again, and the clock reads now).
async fn readable(ctx: &Context<'_>, documents: Vec<DocumentId>) -> ApiResult<bool> {
    RequestAuth::refresh(ctx)?;
    loaders::forget(ctx)?;
    let loaders = loaders::loaders(ctx).await?;
    let found = loaders.load_many(documents.iter().copied()).await?;
    Ok(documents.iter().all(|id| found.contains_key(id)))
}

fn missed() -> ApiError {
    ApiError::new(
        ErrorCode::Unavailable,
        "events were missed (this subscriber fell behind, or the server lost its connection to \
         the database's notifications): read what changed (a document's `history`, \
         `Query.driftedCitations`) and subscribe again",
    )
}

/// A revision that committed.
pub struct DocumentChange(RevisionEvent);

#[Object]
impl DocumentChange {
    /// The document, as it is now.
    async fn document(&self, ctx: &Context<'_>) -> ApiResult<DocumentNode> {
        Ok(DocumentNode::new(load_required(ctx, self.0.document).await?))
    }

    /// The new revision (its hash, number, author, message...).
    async fn revision(&self, ctx: &Context<'_>) -> ApiResult<RevisionNode> {
        Ok(RevisionNode(load_required(ctx, self.0.hash.clone()).await?))
    }

    /// The head the revision replaced; null for a document's first revision.
    async fn previous_hash(&self) -> Option<&str> {
        self.0.previous.as_ref().map(|h| h.hex())
    }
}

/// A citation whose verdict against its cited document's head changed.
pub struct CitationDriftEvent(CitationChange);

#[Object]
impl CitationDriftEvent {
    async fn citation(&self) -> CitationNode {
        CitationNode(self.0.after.citation.clone())
    }

    /// The cited document's revision that changed the verdict.
    async fn revision(&self, ctx: &Context<'_>) -> ApiResult<RevisionNode> {
        Ok(RevisionNode(load_required(ctx, self.0.cause.hash.clone()).await?))
    }

    /// The verdict against the head before that revision.
    async fn before(&self) -> QuoteVerification {
        QuoteVerification::of(&self.0.before)
    }

    /// The verdict against the new head; for ALTERED, `changes` is the word diff from the
    /// quotation to the passage now.
    async fn after(&self) -> QuoteVerification {
        QuoteVerification::of(&self.0.after)
    }
}
