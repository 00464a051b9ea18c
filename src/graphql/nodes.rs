//! The object types clients see, as the store read models they wrap. Their fields are
//! resolved in `objects/`, one file per object type; keeping the wrappers here, below every
//! resolver, lets the object types refer to each other (a document's revisions, a revision's
//! document) without their modules importing each other.

use std::sync::Arc;

use async_graphql::{Context, ID, Interface};

use super::auth::{Permission, RequestAuth};
use super::error::ApiResult;
use super::ids::GlobalId;
use super::loaders::load_optional;
use crate::store;

/// An object with a globally unique, opaque id, fetchable with `Query.node`.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "An opaque global id."))]
pub enum Node {
    Document(DocumentNode),
    Revision(RevisionNode),
    Agent(AgentNode),
    Source(SourceNode),
    Citation(CitationNode),
    Watch(WatchNode),
    Collection(CollectionNode),
}

/// A logical work (an article, a letter, a report) with a stable id, a unique slug and a
/// history of hashed revisions.
#[derive(Clone)]
pub struct DocumentNode(
    pub store::Document,
    Option<Arc<store::Revision>>,
    Option<Arc<FirstRevisions>>,
);

/// The first page of a document's history, read with the document, which its `revisions`
/// field serves when asked for that page.
pub struct FirstRevisions {
    /// The page as it was asked for.
    pub asked: store::FirstPage,
    pub page: store::Page<Arc<store::Revision>>,
}

impl FirstRevisions {
    /// Whether this is the page `request` asks for.
    pub fn serves(&self, request: &store::PageRequest<i64>) -> bool {
        request.after.is_none()
            && request.before.is_none()
            && request.direction == store::Direction::Forward
            && request.limit == self.asked.limit
    }
}

impl DocumentNode {
    pub fn new(document: store::Document) -> Self {
        Self(document, None, None)
    }

    /// A document read with its head in the same statement: `title` and `head` need no
    /// lookup in the request's loaders (a sixteenth of a page of 50 documents' instructions).
    pub fn with_head(document: store::Document, head: Arc<store::Revision>) -> Self {
        debug_assert_eq!(document.head, head.hash);
        Self(document, Some(head), None)
    }

    /// A document read with the first page of its history in the same statement.
    pub fn with_first_revisions(document: store::Document, first: FirstRevisions) -> Self {
        Self(document, None, Some(Arc::new(first)))
    }

    /// The first page of its history, if it was read with it.
    pub fn first_revisions(&self) -> Option<&FirstRevisions> {
        self.2.as_deref()
    }

    /// Its head revision: the one it was read with, or the loaders'.
    pub async fn head_revision(&self, ctx: &Context<'_>) -> ApiResult<Arc<store::Revision>> {
        match &self.1 {
            Some(head) => Ok(head.clone()),
            None => super::loaders::load_required(ctx, self.0.head.clone()).await,
        }
    }
}

/// One immutable state of a document, identified by its hash. Anyone holding `header` and
/// `content` can check `hash` and `contentHash` with SHA-256 alone. Shared, not copied: the
/// request's loader hands the same revision to every field that asks for it (a document's
/// `title` and `head`, a parent, a citing revision).
#[derive(Clone)]
pub struct RevisionNode(pub Arc<store::Revision>);

impl RevisionNode {
    pub fn new(revision: store::Revision) -> Self {
        Self(Arc::new(revision))
    }
}

/// A person, organisation or software agent that authors revisions (W3C PROV agent).
#[derive(Clone)]
pub struct AgentNode(pub Arc<store::Agent>);

impl AgentNode {
    pub fn new(agent: store::Agent) -> Self {
        Self(Arc::new(agent))
    }
}

/// Where a revision's text was captured from, or what a document cites outside the corpus.
/// Details that are not known are null (or empty lists): nothing is invented.
#[derive(Clone)]
pub struct SourceNode(pub Arc<store::Source>);

impl SourceNode {
    pub fn new(source: store::Source) -> Self {
        Self(Arc::new(source))
    }
}

/// A citation made by one revision of a document: of another document (optionally pinned to
/// one of its revisions) or of an external source, optionally down to passages on both sides.
#[derive(Clone)]
pub struct CitationNode(pub store::Citation);

/// A page or feed captured again and again: what it follows, how often, and how its captures
/// went.
#[derive(Clone)]
pub struct WatchNode(pub store::Watch);

/// Documents that share who may read them: anyone (a public collection, once a document's
/// embargo has passed) or only the collection's members (a restricted one).
#[derive(Clone)]
pub struct CollectionNode(pub store::Collection);

/// Resolves a global id to its object, or null if nothing has that id.
pub async fn resolve_node(ctx: &Context<'_>, id: &str) -> ApiResult<Option<Node>> {
    Ok(match GlobalId::decode(id)? {
        GlobalId::Document(id) => {
            load_optional(ctx, id).await?.map(|d| Node::Document(DocumentNode::new(d)))
        }
        GlobalId::Revision(hash) => {
            load_optional(ctx, hash).await?.map(|r| Node::Revision(RevisionNode(r)))
        }
        GlobalId::Agent(id) => load_optional(ctx, id).await?.map(|a| Node::Agent(AgentNode(a))),
        GlobalId::Source(id) => load_optional(ctx, id).await?.map(|s| Node::Source(SourceNode(s))),
        GlobalId::Citation(id) => {
            load_optional(ctx, id).await?.map(|c| Node::Citation(CitationNode(c)))
        }
        GlobalId::Watch(id) => {
            // Watches are read by those `Query.watches` answers; to others no watch has the id.
            let principal = RequestAuth::principal(ctx).await?;
            if !principal.is_some_and(|p| Permission::ReadWatches.allows(p.role)) {
                return Ok(None);
            }
            load_optional(ctx, id).await?.map(|w| Node::Watch(WatchNode(w)))
        }
        GlobalId::Collection(id) => {
            load_optional(ctx, id).await?.map(|c| Node::Collection(CollectionNode(c)))
        }
    })
}

/// Who did what to which object, when, through which token, and how it ended.
#[derive(Clone)]
pub struct AuditEventNode(pub store::AuditEvent);
