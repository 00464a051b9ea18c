//! `Mutation`: one input object and one payload type per mutation. Each resolver checks the
//! caller, parses its input into store types, and makes one store call.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

use super::auth::{Permission, RequestAuth};
use super::context::store;
use super::error::{ApiError, ApiResult};
use super::ids::GlobalId;
use super::kinds::{AgentKind, CitationRelation, DocumentKind, SourceKind};
use super::loaders::{load_optional, viewer};
use super::nodes::{AgentNode, CitationNode, DocumentNode, RevisionNode, SourceNode};
use super::objects::integrity::RedactionNode;
use super::scalars::DateTime;
use crate::passage::Selector;
use crate::store::{
    self, Actor, AgentName, AuditAction, AuditTarget, CitationTarget, CollectionId, DocumentId,
    Message, Missing, Placement, RedactionReason, RevisionHash, Slug, Standing, StoreError, Title,
};

// The mutations: those on documents, sources, agents and citations here, those on watches in
// `objects::watch`. (A doc comment here would become the type's description in the SDL.)
#[derive(async_graphql::MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(
    CoreMutations,
    super::objects::watch::WatchMutations,
    super::objects::collection::CollectionMutations,
);

#[derive(Default)]
pub struct CoreMutations;

const WRITE: Permission = Permission::WriteDocuments;

/// The document a refused command named, for the audit log.
pub(super) fn document_target(id: &ID) -> AuditTarget {
    GlobalId::document("documentId", id).map_or(AuditTarget::Unnamed, AuditTarget::Document)
}

/// A new document and its first revision.
#[derive(InputObject)]
pub struct CreateDocumentInput {
    /// Unique: lowercase letters and digits in words joined by single hyphens, at most 128.
    slug: String,
    title: String,
    kind: DocumentKind,
    /// The full text, stored and hashed exactly as given.
    content: String,
    /// Why the document is being added.
    #[graphql(default)]
    message: String,
    /// The source the text was captured from (its id).
    source: Option<ID>,
    /// The collection that keeps it (its global id or UUID); the public one when omitted.
    /// Placing a document in a restricted collection needs an editor's role in it.
    collection_id: Option<ID>,
    /// An embargo: until then only the collection's members may read the document (and
    /// placing it needs an editor's role in the collection).
    publish_at: Option<DateTime>,
}

impl CreateDocumentInput {
    fn parse(self, collection: CollectionId) -> ApiResult<store::CreateDocument> {
        Ok(store::CreateDocument {
            placement: Placement { collection, publish_at: self.publish_at.map(|at| at.0) },
            slug: Slug::parse(&self.slug)?,
            kind: self.kind.into(),
            title: Title::parse(&self.title)?,
            content: self.content,
            message: Message::parse(&self.message)?,
            source: self.source.map(|id| GlobalId::source("source", &id)).transpose()?,
        })
    }
}

/// A new revision of a document.
#[derive(InputObject)]
pub struct ReviseDocumentInput {
    /// The document (its global id or UUID).
    document_id: ID,
    /// The head hash the client last saw; if the head has moved on, the mutation fails with
    /// CONFLICT and writes nothing.
    expected_head: String,
    /// The full new text.
    content: String,
    /// The new title; the head's title is kept when omitted.
    title: Option<String>,
    /// Why the change was made.
    #[graphql(default)]
    message: String,
    /// The source the new text was captured from; not inherited from the parent.
    source: Option<ID>,
}

impl ReviseDocumentInput {
    fn parse(self) -> ApiResult<store::ReviseDocument> {
        Ok(store::ReviseDocument {
            document: GlobalId::document("documentId", &self.document_id)?,
            expected_head: RevisionHash::parse(&self.expected_head)?,
            content: self.content,
            title: self.title.as_deref().map(Title::parse).transpose()?,
            message: Message::parse(&self.message)?,
            source: self.source.map(|id| GlobalId::source("source", &id)).transpose()?,
        })
    }
}

/// A new source.
#[derive(InputObject)]
pub struct CreateSourceInput {
    /// What kind of thing it is (OTHER when omitted).
    kind: Option<SourceKind>,
    title: Option<String>,
    /// An absolute http(s) URL.
    url: Option<String>,
    publisher: Option<String>,
    #[graphql(default)]
    authors: Vec<String>,
    #[graphql(default)]
    recipients: Vec<String>,
    published_at: Option<DateTime>,
    retrieved_at: Option<DateTime>,
    /// A copy in a web archive (absolute http(s) URL).
    archive_url: Option<String>,
    license: Option<String>,
}

impl CreateSourceInput {
    fn parse(self) -> ApiResult<store::NewSource> {
        Ok(store::NewSource::parse(store::SourceFields {
            kind: self.kind.map(Into::into),
            title: self.title.as_deref(),
            url: self.url.as_deref(),
            publisher: self.publisher.as_deref(),
            authors: &self.authors,
            recipients: &self.recipients,
            published_at: self.published_at.map(|t| t.0),
            retrieved_at: self.retrieved_at.map(|t| t.0),
            archive_url: self.archive_url.as_deref(),
            license: self.license.as_deref(),
        })?)
    }
}

#[derive(SimpleObject)]
pub struct CreateSourcePayload {
    source: SourceNode,
}

/// A new agent.
#[derive(InputObject)]
pub struct CreateAgentInput {
    name: String,
    kind: AgentKind,
}

#[derive(SimpleObject)]
pub struct CreateAgentPayload {
    agent: AgentNode,
}

/// A new citation from the head of a document.
#[derive(InputObject)]
pub struct AddCitationInput {
    /// The citing document (its global id or UUID).
    document_id: ID,
    /// The head hash the client last saw; if given and the head has moved on, the mutation
    /// fails with CONFLICT and writes nothing.
    expected_head: Option<String>,
    relation: CitationRelation,
    target: CitationTargetInput,
    /// The citing passage, in the citing document's head; it must match that text.
    passage: Option<TextSelectorInput>,
    /// The cited passage, as the citing document gives it; checked by `verification`.
    target_passage: Option<TextSelectorInput>,
}

impl AddCitationInput {
    fn parse(self) -> ApiResult<store::AddCitation> {
        Ok(store::AddCitation {
            document: GlobalId::document("documentId", &self.document_id)?,
            expected_head: self.expected_head.as_deref().map(RevisionHash::parse).transpose()?,
            relation: self.relation.into(),
            target: self.target.parse()?,
            citing: self.passage.map(|p| p.parse("passage")).transpose()?,
            target_selector: self.target_passage.map(|p| p.parse("targetPassage")).transpose()?,
        })
    }
}

#[derive(SimpleObject)]
pub struct AddCitationPayload {
    citation: CitationNode,
}

/// A revision whose text must go (a legal takedown, personal data).
#[derive(InputObject)]
pub struct RedactRevisionInput {
    /// The revision's hash.
    hash: String,
    /// Why: kept forever and shown with the revision (1 to 1,000 characters).
    reason: String,
}

#[derive(SimpleObject)]
pub struct RedactRevisionPayload {
    /// The revision as it now reads: `content` null, `redaction` set.
    revision: RevisionNode,
    redaction: RedactionNode,
}

#[derive(SimpleObject)]
pub struct CreateDocumentPayload {
    document: DocumentNode,
    /// The first revision.
    revision: RevisionNode,
}

#[derive(SimpleObject)]
pub struct ReviseDocumentPayload {
    document: DocumentNode,
    /// The revision just appended, now the head.
    revision: RevisionNode,
}

#[Object]
impl CoreMutations {
    /// Creates a document with its first revision, authored by the caller. Needs an editor
    /// token, or for a document not public from the start, an editor's role in its collection.
    async fn create_document(
        &self,
        ctx: &Context<'_>,
        input: CreateDocumentInput,
    ) -> ApiResult<CreateDocumentPayload> {
        let target = || Slug::parse(&input.slug).map_or(AuditTarget::Unnamed, AuditTarget::Slug);
        let action = AuditAction::CreateDocument;
        let principal = RequestAuth::require(ctx).await?;
        let collection = match &input.collection_id {
            None => CollectionId::PUBLIC,
            Some(id) => match GlobalId::collection("collectionId", id) {
                Ok(id) => id,
                Err(err) => {
                    RequestAuth::authorize_as(ctx, &principal, PUBLIC, WRITE, action, target)
                        .await?;
                    return Err(err);
                }
            },
        };
        // The public collection is always public: nothing to read for the common case.
        let placed = input.collection_id.is_some() || input.publish_at.is_some();
        let found = match placed {
            true => load_optional::<CollectionId>(ctx, collection).await?,
            false => None,
        };
        let standing = match found {
            _ if !placed => PUBLIC,
            Some(found) => viewer(ctx)
                .await?
                .standing_for_placement(&found, input.publish_at.as_ref().map(|at| at.0)),
            None => {
                // A restricted collection the caller is no member of: as if there were none.
                RequestAuth::authorize_as(ctx, &principal, PUBLIC, WRITE, action, target).await?;
                return Err(StoreError::NotFound(Missing::Collection(collection)).into());
            }
        };
        let actor =
            RequestAuth::authorize_as(ctx, &principal, standing, WRITE, action, target).await?;
        let input = input.parse(collection)?;
        let outcome = store(ctx)?.create_document(input, &actor).await?;
        Ok(CreateDocumentPayload {
            document: DocumentNode::new(outcome.document),
            revision: RevisionNode::new(outcome.revision),
        })
    }

    /// Records a source. Needs an editor token.
    async fn create_source(
        &self,
        ctx: &Context<'_>,
        input: CreateSourceInput,
    ) -> ApiResult<CreateSourcePayload> {
        let unnamed = || AuditTarget::Unnamed;
        let actor = RequestAuth::authorize(ctx, WRITE, AuditAction::CreateSource, unnamed).await?;
        let input = input.parse()?;
        let source = store(ctx)?.create_source(input, &actor).await?;
        Ok(CreateSourcePayload { source: SourceNode::new(source) })
    }

    /// Records an agent (a person, organisation or software). Needs an admin token.
    async fn create_agent(
        &self,
        ctx: &Context<'_>,
        input: CreateAgentInput,
    ) -> ApiResult<CreateAgentPayload> {
        let permission = Permission::ManageAgents;
        let unnamed = || AuditTarget::Unnamed;
        let actor =
            RequestAuth::authorize(ctx, permission, AuditAction::CreateAgent, unnamed).await?;
        let name = AgentName::parse(&input.name)?;
        let agent = store(ctx)?.create_agent(&name, input.kind.into(), Some(&actor)).await?;
        Ok(CreateAgentPayload { agent: AgentNode::new(agent) })
    }

    /// Records that the head of a document cites another document or a source. Needs an
    /// editor token. Later revisions of the citing document carry the citation along while
    /// its passage is still there.
    async fn add_citation(
        &self,
        ctx: &Context<'_>,
        input: AddCitationInput,
    ) -> ApiResult<AddCitationPayload> {
        let action = AuditAction::AddCitation;
        let actor = authorize_on_document(ctx, WRITE, action, &input.document_id).await?;
        let input = input.parse()?;
        if let CitationTarget::Document { id, pinned } = &input.target {
            readable(ctx, *id).await?;
            // A pinned revision the caller may not read is answered as one that does not exist,
            // not as one of another document.
            if let Some(pin) = pinned
                && load_optional::<RevisionHash>(ctx, pin.clone()).await?.is_none()
            {
                return Err(StoreError::NotFound(Missing::Revision(pin.clone())).into());
            }
        }
        let citation = store(ctx)?.add_citation(input, &actor).await?;
        Ok(AddCitationPayload { citation: CitationNode(citation) })
    }

    /// Redacts a revision's text: it is purged from storage (its blob too, unless another
    /// revision still uses it) and a tombstone records who, when and why. The header, the
    /// hashes, the chain and the transparency log's proofs are kept and still verify; what
    /// needs the text answers REDACTED. Needs an archivist or admin token; cannot be undone.
    async fn redact_revision(
        &self,
        ctx: &Context<'_>,
        input: RedactRevisionInput,
    ) -> ApiResult<RedactRevisionPayload> {
        let target =
            || RevisionHash::parse(&input.hash).map_or(AuditTarget::Unnamed, AuditTarget::Revision);
        let (permission, action) = (Permission::Audit, AuditAction::RedactRevision);
        let principal = RequestAuth::require(ctx).await?;
        let found = match RevisionHash::parse(&input.hash) {
            Ok(hash) => load_optional::<RevisionHash>(ctx, hash).await?,
            Err(_) => None,
        };
        let document = match &found {
            Some(revision) => load_optional::<DocumentId>(ctx, revision.document_id).await?,
            None => None,
        };
        let Some(document) = document else {
            // Not there, or not for this caller to read: checked as public material, then
            // answered as missing.
            RequestAuth::authorize_as(ctx, &principal, PUBLIC, permission, action, target).await?;
            let hash = RevisionHash::parse(&input.hash)?;
            return Err(StoreError::NotFound(Missing::Revision(hash)).into());
        };
        let standing = viewer(ctx).await?.standing_for(&document);
        let actor =
            RequestAuth::authorize_as(ctx, &principal, standing, permission, action, target)
                .await?;
        let hash = RevisionHash::parse(&input.hash)?;
        let reason = RedactionReason::parse(&input.reason)?;
        let (revision, redaction) = store(ctx)?.redact_revision(&hash, reason, &actor).await?;
        Ok(RedactRevisionPayload {
            revision: RevisionNode::new(revision),
            redaction: RedactionNode(redaction),
        })
    }

    /// Appends a revision on top of `expectedHead`, authored by the caller. Needs an editor
    /// token. A revision identical to the head (title, content and source) is refused.
    async fn revise_document(
        &self,
        ctx: &Context<'_>,
        input: ReviseDocumentInput,
    ) -> ApiResult<ReviseDocumentPayload> {
        let action = AuditAction::ReviseDocument;
        let actor = authorize_on_document(ctx, WRITE, action, &input.document_id).await?;
        let input = input.parse()?;
        let outcome = store(ctx)?.revise_document(input, &actor).await?;
        Ok(ReviseDocumentPayload {
            document: DocumentNode::new(outcome.document),
            revision: RevisionNode::new(outcome.revision),
        })
    }
}

/// The caller, as the actor of `action` on the document `id` names, if its standing there lets
/// it (`Viewer::standing`). A document it may not read is `NotFound`, exactly as one that
/// does not exist (writing to it would tell that it does), once its token's own role has been
/// checked as for public material, so that neither answer depends on the document's being
/// there.
async fn authorize_on_document(
    ctx: &Context<'_>,
    permission: Permission,
    action: AuditAction,
    id: &ID,
) -> ApiResult<Actor> {
    let principal = RequestAuth::require(ctx).await?;
    let target = || document_target(id);
    let found = match GlobalId::document("documentId", id) {
        Ok(document) => load_optional::<DocumentId>(ctx, document).await?,
        Err(_) => None,
    };
    let Some(found) = found else {
        RequestAuth::authorize_as(ctx, &principal, PUBLIC, permission, action, target).await?;
        let document = GlobalId::document("documentId", id)?;
        return Err(StoreError::NotFound(Missing::Document(document)).into());
    };
    let standing = viewer(ctx).await?.standing_for(&found);
    RequestAuth::authorize_as(ctx, &principal, standing, permission, action, target).await
}

const PUBLIC: Standing = Standing::Public;

/// `NotFound` for a document the caller may not read, exactly as for one that does not exist:
/// writing to it would tell that it does.
async fn readable(ctx: &Context<'_>, document: DocumentId) -> ApiResult<()> {
    match load_optional::<DocumentId>(ctx, document).await? {
        Some(_) => Ok(()),
        None => Err(StoreError::NotFound(Missing::Document(document)).into()),
    }
}

/// What a citation cites: a document (optionally pinned to one of its revisions) or a source.
#[derive(InputObject)]
pub struct CitationTargetInput {
    /// The cited document (its global id or UUID).
    pub document_id: Option<ID>,
    /// A revision hash of the cited document to pin the citation to.
    pub revision: Option<String>,
    /// The cited external source (its global id or UUID).
    pub source_id: Option<ID>,
}

impl CitationTargetInput {
    pub fn parse(self) -> ApiResult<CitationTarget> {
        match (self.document_id, self.source_id, self.revision) {
            (Some(document), None, revision) => Ok(CitationTarget::Document {
                id: GlobalId::document("target.documentId", &document)?,
                pinned: revision.as_deref().map(RevisionHash::parse).transpose()?,
            }),
            (None, Some(source), None) => {
                Ok(CitationTarget::Source(GlobalId::source("target.sourceId", &source)?))
            }
            (None, Some(_), Some(_)) => {
                Err(ApiError::bad_input("target.revision pins a document, not a source"))
            }
            _ => Err(ApiError::bad_input("target: give exactly one of documentId and sourceId")),
        }
    }
}

/// A passage to select: give `exact` (with `prefix`/`suffix` to tell repeated words apart),
/// or `start` and `end` (code points, end exclusive), or both, which must agree.
#[derive(InputObject, Clone, Default)]
pub struct TextSelectorInput {
    pub exact: Option<String>,
    pub prefix: Option<String>,
    pub suffix: Option<String>,
    pub start: Option<i32>,
    pub end: Option<i32>,
}

impl TextSelectorInput {
    pub fn parse(self, field: &str) -> ApiResult<Selector> {
        let position = |name: &str, v: Option<i32>| {
            v.map(|v| {
                usize::try_from(v).map_err(|_| {
                    ApiError::bad_input(format!("{field}.{name} must not be negative, not {v}"))
                })
            })
            .transpose()
        };
        let start = position("start", self.start)?;
        let end = position("end", self.end)?;
        Selector::parse(self.exact, self.prefix, self.suffix, start, end)
            .map_err(|e| ApiError::bad_input(format!("{field}: {e}")))
    }
}
