//! The object types clients see. Each wraps a store read model; related objects are fetched
//! through the request's loaders so that lists never cost a query per item.

use async_graphql::{Context, Enum, ID, Interface, Json, Object};

use super::citations::CitationNode;
use super::connection::{CitationConnection, PageArgs, RevisionConnection, SourceConnection};
use super::error::ApiResult;
use super::exports::{CitationExport, CitationFormat, ReferenceStyle, base_url};
use super::history::{Blame, Diff, DiffGranularity, context_lines};
use super::ids::GlobalId;
use super::limits::{budget, draw_text};
use super::loaders::{HeadAt, load_optional, load_required, store};
use super::scalars::DateTime;
use crate::export::{self, cite::Format};
use crate::store::{self, RevisionHash};

/// An object with a globally unique, opaque id, fetchable with `Query.node`.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "An opaque global id."))]
pub enum Node {
    Document(DocumentNode),
    Revision(RevisionNode),
    Agent(AgentNode),
    Source(SourceNode),
    Citation(CitationNode),
}

/// What kind of work a document is.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "DocumentKind")]
pub enum DocumentKind {
    Article,
    Letter,
    Report,
    Statement,
    Other,
}

/// What kind of agent (in the W3C PROV sense) an agent is.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentKind {
    Person,
    Organization,
    Software,
}

mirror_enum!(DocumentKind, store::DocumentKind { Article, Letter, Report, Statement, Other });
mirror_enum!(AgentKind, store::AgentKind { Person, Organization, Software });
mirror_enum!(
    SourceKind,
    store::SourceKind { WebPage, Letter, Report, Print, Interview, Dataset, Other }
);

/// A logical work (an article, a letter, a report) with a stable id, a unique slug and a
/// history of hashed revisions.
#[derive(Clone)]
pub struct DocumentNode(pub store::Document);

#[Object(name = "Document")]
impl DocumentNode {
    /// An opaque global id.
    async fn id(&self) -> ID {
        GlobalId::Document(self.0.id).encode()
    }

    /// The document's UUID, as revision headers carry it.
    async fn uuid(&self) -> String {
        self.0.id.to_string()
    }

    /// The unique, human-readable name used in URLs.
    async fn slug(&self) -> &str {
        self.0.slug.as_str()
    }

    /// The title at the head revision.
    async fn title(&self, ctx: &Context<'_>) -> ApiResult<String> {
        Ok(load_required(ctx, self.0.head.clone()).await?.title)
    }

    async fn kind(&self) -> DocumentKind {
        self.0.kind.into()
    }

    /// When the first revision was written.
    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }

    /// When the head revision was written.
    async fn updated_at(&self) -> DateTime {
        self.0.updated_at.into()
    }

    /// The current revision.
    async fn head(&self, ctx: &Context<'_>) -> ApiResult<RevisionNode> {
        Ok(RevisionNode(load_required(ctx, self.0.head.clone()).await?))
    }

    /// The document's history, newest first. Pages hold 1 to 100 revisions (20 by default).
    #[graphql(complexity = "super::connection::page_complexity(first, last, child_complexity)")]
    async fn revisions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<RevisionConnection> {
        let args = PageArgs { first, after, last, before };
        RevisionConnection::of_document(store(ctx)?, self.0.id, args).await
    }

    /// One revision of this document by its hash; null if the hash names no revision of it.
    async fn revision(&self, ctx: &Context<'_>, hash: String) -> ApiResult<Option<RevisionNode>> {
        let hash = RevisionHash::parse(&hash)?;
        Ok(load_optional(ctx, hash).await?.filter(|r| r.document_id == self.0.id).map(RevisionNode))
    }

    /// A citation record of this document at its head, or at `revision`, carrying the
    /// revision hash and a permanent link to that exact revision.
    #[graphql(complexity = 20)]
    async fn cite(
        &self,
        ctx: &Context<'_>,
        format: CitationFormat,
        revision: Option<String>,
    ) -> ApiResult<CitationExport> {
        let revision = revision.as_deref().map(RevisionHash::parse).transpose()?;
        let base = base_url(ctx)?;
        let record = export::record(store(ctx)?, self.0.clone(), revision.as_ref(), &base).await?;
        Ok(CitationExport::new(format, Format::from(format).render(&[record])))
    }

    /// A formatted reference to this document at its head, or at `revision`; null if the
    /// style has no bibliography form.
    #[graphql(complexity = 20)]
    async fn reference(
        &self,
        ctx: &Context<'_>,
        style: ReferenceStyle,
        revision: Option<String>,
    ) -> ApiResult<Option<String>> {
        let revision = revision.as_deref().map(RevisionHash::parse).transpose()?;
        let base = base_url(ctx)?;
        let record = export::record(store(ctx)?, self.0.clone(), revision.as_ref(), &base).await?;
        Ok(export::cite::formatted_reference(&record, style.into()))
    }

    /// W3C PROV-JSON of this document's history, or of one `revision`. Costs 100 points, and
    /// a point per revision of the history.
    #[graphql(complexity = 100)]
    async fn provenance(
        &self,
        ctx: &Context<'_>,
        revision: Option<String>,
    ) -> ApiResult<Json<serde_json::Value>> {
        let revision = revision.as_deref().map(RevisionHash::parse).transpose()?;
        let base = base_url(ctx)?;
        let input =
            export::provenance(store(ctx)?, &self.0, revision.as_ref(), &base, budget(ctx)?)
                .await?;
        Ok(Json(export::prov::prov_json(&input)))
    }

    /// The sources this document's revisions were captured from.
    #[graphql(complexity = "super::connection::page_complexity(first, last, child_complexity)")]
    async fn sources(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<SourceConnection> {
        let args = PageArgs { first, after, last, before };
        SourceConnection::of_document(store(ctx)?, self.0.id, args).await
    }

    /// The citations the head revision makes, in the order they were recorded.
    #[graphql(complexity = "super::connection::page_complexity(first, last, child_complexity)")]
    async fn citations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<CitationConnection> {
        let args = PageArgs { first, after, last, before };
        CitationConnection::in_revision(store(ctx)?, self.0.head.clone(), args).await
    }

    /// The citations of this document made by the current heads of other documents.
    #[graphql(complexity = "super::connection::page_complexity(first, last, child_complexity)")]
    async fn cited_by(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<CitationConnection> {
        let args = PageArgs { first, after, last, before };
        CitationConnection::of_document(store(ctx)?, self.0.id, args).await
    }

    /// The revision that was the head at `time`; null before the document existed.
    async fn as_of(&self, ctx: &Context<'_>, time: DateTime) -> ApiResult<Option<RevisionNode>> {
        Ok(load_optional(ctx, HeadAt(self.0.id, time.0)).await?.map(RevisionNode))
    }
}

/// One immutable state of a document, identified by its hash. Anyone holding `header` and
/// `content` can check `hash` and `contentHash` with SHA-256 alone.
#[derive(Clone)]
pub struct RevisionNode(pub store::Revision);

#[Object(name = "Revision")]
impl RevisionNode {
    /// An opaque global id.
    async fn id(&self) -> ID {
        GlobalId::Revision(self.0.hash.clone()).encode()
    }

    /// Lowercase hex SHA-256 of `header`.
    async fn hash(&self) -> &str {
        self.0.hash.as_str()
    }

    /// Lowercase hex SHA-256 of `content`'s UTF-8 bytes (what `sha256sum` prints).
    async fn content_hash(&self) -> &str {
        self.0.content_hash.as_str()
    }

    /// The canonical header (RFC 8785 JSON) whose SHA-256 is `hash`, byte for byte as hashed.
    async fn header(&self) -> &str {
        &self.0.header
    }

    /// Position in the document's history: 1 for the first revision.
    async fn number(&self) -> i64 {
        self.0.number
    }

    /// The revision this one was made from; null for a first revision.
    async fn parent(&self, ctx: &Context<'_>) -> ApiResult<Option<RevisionNode>> {
        match &self.0.parent {
            Some(parent) => Ok(Some(RevisionNode(load_required(ctx, parent.clone()).await?))),
            None => Ok(None),
        }
    }

    async fn document(&self, ctx: &Context<'_>) -> ApiResult<DocumentNode> {
        Ok(DocumentNode(load_required(ctx, self.0.document_id).await?))
    }

    async fn title(&self) -> &str {
        &self.0.title
    }

    /// The full text, exactly as hashed. Costs a point per KiB (see `rateLimit`).
    async fn content(&self, ctx: &Context<'_>) -> ApiResult<String> {
        draw_text(ctx, "content", self.0.content_bytes)?;
        Ok(load_required(ctx, self.0.content_hash.clone()).await?.to_string())
    }

    /// The size of `content` in bytes of UTF-8.
    async fn content_bytes(&self) -> u64 {
        self.0.content_bytes
    }

    /// Who wrote this revision: the agent behind the token that made it.
    async fn author(&self, ctx: &Context<'_>) -> ApiResult<AgentNode> {
        Ok(AgentNode(load_required(ctx, self.0.author).await?))
    }

    /// Why the revision was made; may be empty.
    async fn message(&self) -> &str {
        &self.0.message
    }

    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }

    /// What changed between `against` (a revision hash; by default the parent, or the empty
    /// text for a first revision) and this revision. Costs 500 points, and per KiB of the two
    /// texts a point (LINE), two (WORD) or four (CHAR).
    #[graphql(complexity = 500)]
    async fn diff(
        &self,
        ctx: &Context<'_>,
        against: Option<String>,
        #[graphql(default)] granularity: Option<DiffGranularity>,
        #[graphql(default = 3)] context: Option<i32>,
    ) -> ApiResult<Diff> {
        let against = match against {
            Some(hash) => Some(RevisionHash::parse(&hash)?),
            None => self.0.parent.clone(),
        };
        let diff = store(ctx)?
            .diff_revisions(
                against.as_ref(),
                &self.0.hash,
                granularity.unwrap_or_default().into(),
                context_lines(context)?,
                budget(ctx)?,
            )
            .await?;
        Ok(Diff(diff))
    }

    /// For each line of this revision, the revision that introduced it. Costs 1,000 points,
    /// and a point per KiB of every revision's text up to this one.
    #[graphql(complexity = 1000)]
    async fn blame(&self, ctx: &Context<'_>) -> ApiResult<Blame> {
        Ok(Blame(store(ctx)?.blame(&self.0.hash, budget(ctx)?).await?))
    }

    /// W3C PROV-JSON of this revision.
    #[graphql(complexity = 50)]
    async fn provenance(&self, ctx: &Context<'_>) -> ApiResult<Json<serde_json::Value>> {
        let document: store::Document = load_required(ctx, self.0.document_id).await?;
        let base = base_url(ctx)?;
        let input =
            export::provenance(store(ctx)?, &document, Some(&self.0.hash), &base, budget(ctx)?)
                .await?;
        Ok(Json(export::prov::prov_json(&input)))
    }

    /// The citations this revision makes, in the order they were recorded.
    #[graphql(complexity = "super::connection::page_complexity(first, last, child_complexity)")]
    async fn citations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<CitationConnection> {
        let args = PageArgs { first, after, last, before };
        CitationConnection::in_revision(store(ctx)?, self.0.hash.clone(), args).await
    }

    /// Where this revision's text was captured from, if recorded.
    async fn source(&self, ctx: &Context<'_>) -> ApiResult<Option<SourceNode>> {
        match self.0.source {
            Some(id) => Ok(Some(SourceNode(load_required(ctx, id).await?))),
            None => Ok(None),
        }
    }
}

/// A person, organisation or software agent that authors revisions (W3C PROV agent).
#[derive(Clone)]
pub struct AgentNode(pub store::Agent);

#[Object(name = "Agent")]
impl AgentNode {
    /// An opaque global id.
    async fn id(&self) -> ID {
        GlobalId::Agent(self.0.id).encode()
    }

    /// The agent's UUID, as revision headers carry it in `author`.
    async fn uuid(&self) -> String {
        self.0.id.to_string()
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn kind(&self) -> AgentKind {
        self.0.kind.into()
    }
}

/// What kind of thing a source is.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    WebPage,
    Letter,
    Report,
    Print,
    Interview,
    Dataset,
    Other,
}

/// Where a revision's text was captured from, or what a document cites outside the corpus.
/// Details that are not known are null (or empty lists): nothing is invented.
#[derive(Clone)]
pub struct SourceNode(pub store::Source);

#[Object(name = "Source")]
impl SourceNode {
    /// An opaque global id.
    async fn id(&self) -> ID {
        GlobalId::Source(self.0.id).encode()
    }

    /// The source's UUID, as revision headers carry it in `source`.
    async fn uuid(&self) -> String {
        self.0.id.to_string()
    }

    async fn kind(&self) -> SourceKind {
        self.0.kind.into()
    }

    async fn title(&self) -> Option<&str> {
        self.0.title.as_deref()
    }

    async fn url(&self) -> Option<&str> {
        self.0.url.as_deref()
    }

    async fn publisher(&self) -> Option<&str> {
        self.0.publisher.as_deref()
    }

    async fn authors(&self) -> &[String] {
        &self.0.authors
    }

    /// For letters and the like: to whom it was addressed.
    async fn recipients(&self) -> &[String] {
        &self.0.recipients
    }

    async fn published_at(&self) -> Option<DateTime> {
        self.0.published_at.map(DateTime)
    }

    /// When the text was retrieved from the source.
    async fn retrieved_at(&self) -> Option<DateTime> {
        self.0.retrieved_at.map(DateTime)
    }

    /// A copy in a web archive.
    async fn archive_url(&self) -> Option<&str> {
        self.0.archive_url.as_deref()
    }

    async fn license(&self) -> Option<&str> {
        self.0.license.as_deref()
    }

    /// When the source was recorded in the corpus.
    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }

    /// The revisions whose text was captured from this source, newest first.
    #[graphql(complexity = "super::connection::page_complexity(first, last, child_complexity)")]
    async fn revisions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> ApiResult<RevisionConnection> {
        let args = PageArgs { first, after, last, before };
        RevisionConnection::from_source(store(ctx)?, self.0.id, args).await
    }
}

/// Resolves a global id to its object, or null if nothing has that id.
pub async fn resolve_node(ctx: &Context<'_>, id: &str) -> ApiResult<Option<Node>> {
    Ok(match GlobalId::decode(id)? {
        GlobalId::Document(id) => {
            load_optional(ctx, id).await?.map(|d| Node::Document(DocumentNode(d)))
        }
        GlobalId::Revision(hash) => {
            load_optional(ctx, hash).await?.map(|r| Node::Revision(RevisionNode(r)))
        }
        GlobalId::Agent(id) => load_optional(ctx, id).await?.map(|a| Node::Agent(AgentNode(a))),
        GlobalId::Source(id) => load_optional(ctx, id).await?.map(|s| Node::Source(SourceNode(s))),
        GlobalId::Citation(id) => {
            load_optional(ctx, id).await?.map(|c| Node::Citation(CitationNode(c)))
        }
    })
}
