//! The `Revision` object type.

use async_graphql::{Context, ID, Json, Object};

use super::history::{Blame, Diff, DiffGranularity, context_lines};
use crate::graphql::connection::CitationConnection;
use crate::graphql::context::{base_url, budget, draw_text, store};
use crate::graphql::error::{ApiError, ApiResult, ErrorCode};
use crate::graphql::ids::GlobalId;
use crate::graphql::loaders::{RedactionOf, load_required, viewer};
use crate::graphql::nodes::{AgentNode, DocumentNode, RevisionNode, SourceNode};
use crate::graphql::objects::capture::{
    RevisionCapture, RevisionSightings, capture_of, sightings_of,
};
use crate::graphql::objects::integrity::{InclusionProof, RedactionNode};
use crate::graphql::scalars::DateTime;
use crate::store::{DocumentKey, RevisionHash, UnredactedText};

object_with_pages! {
#[Object(name = "Revision")]
impl RevisionNode {
    /// An opaque global id.
    pub async fn id(&self) -> ID {
        GlobalId::Revision(self.0.hash.clone()).encode()
    }

    /// Lowercase hex SHA-256 of `header`.
    async fn hash(&self) -> &str {
        self.0.hash.hex()
    }

    /// Lowercase hex SHA-256 of `content`'s UTF-8 bytes (what `sha256sum` prints).
    async fn content_hash(&self) -> &str {
        self.0.content_hash.hex()
    }

    /// The canonical header (RFC 8785 JSON) whose SHA-256 is `hash`, byte for byte as hashed.
    async fn header(&self) -> String {
        self.0.header().into_owned()
    }

    /// This revision's permanent page for people (HTML): it shows this text for good, whatever
    /// the document becomes.
    async fn url(&self, ctx: &Context<'_>) -> ApiResult<String> {
        let document: crate::store::Document = load_required(ctx, self.0.document_id).await?;
        Ok(format!(
            "{}/documents/{}/revisions/{}",
            base_url(ctx)?,
            document.slug.as_str(),
            self.0.hash.hex()
        ))
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
        Ok(DocumentNode::new(load_required(ctx, self.0.document_id).await?))
    }

    async fn title(&self) -> &str {
        &self.0.title
    }

    /// The full text, exactly as hashed; null when it was redacted (see `redaction`). Costs
    /// a point per KiB (see `rateLimit`).
    async fn content(&self, ctx: &Context<'_>) -> ApiResult<Option<String>> {
        let Some(text) = UnredactedText::of(&self.0) else {
            return Ok(None);
        };
        draw_text(ctx, "content", self.0.content_bytes)?;
        Ok(Some(load_required(ctx, text).await?.to_string()))
    }

    /// Who redacted this revision's text, when and why; null unless it was. The header, the
    /// hashes and the log proofs of a redacted revision still verify.
    async fn redaction(&self, ctx: &Context<'_>) -> ApiResult<Option<RedactionNode>> {
        if !self.0.redacted {
            return Ok(None);
        }
        let tombstone = load_required(ctx, RedactionOf(self.0.hash.clone())).await?;
        Ok(Some(RedactionNode(tombstone)))
    }

    /// This revision's leaf in the transparency log (0-based, in commit order).
    async fn log_index(&self) -> Option<u64> {
        self.0.log_index
    }

    /// The proof (RFC 9162, 2.1.3) that this revision is in the log's tree of `treeSize`
    /// leaves (the current tree by default): check it against that tree's root, taken from a
    /// signed checkpoint.
    async fn inclusion_proof(
        &self,
        ctx: &Context<'_>,
        tree_size: Option<u64>,
    ) -> ApiResult<InclusionProof> {
        let index = self.0.log_index.ok_or_else(|| {
            ApiError::new(ErrorCode::NotFound, "this revision is not in the transparency log")
        })?;
        Ok(store(ctx)?.inclusion_proof(index, tree_size).await?.into())
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
                &viewer(ctx).await?,
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
        let key = DocumentKey::Id(self.0.document_id);
        let provenance = store(ctx)?.provenance(&viewer(ctx).await?, &key, Some(&self.0.hash), budget(ctx)?).await?;
        Ok(Json(crate::render::prov::prov_json(&provenance, &base_url(ctx)?)))
    }


    /// Where this revision's text was captured from, if recorded.
    async fn source(&self, ctx: &Context<'_>) -> ApiResult<Option<SourceNode>> {
        match self.0.source {
            Some(id) => Ok(Some(SourceNode(load_required(ctx, id).await?))),
            None => Ok(None),
        }
    }

    /// The capture of a web page that wrote this revision: what was fetched and when, and its
    /// WARC evidence. Null for a revision a person or an import wrote.
    async fn capture(&self, ctx: &Context<'_>) -> ApiResult<Option<RevisionCapture>> {
        let document: crate::store::Document = load_required(ctx, self.0.document_id).await?;
        capture_of(ctx, &self.0, &document.slug).await
    }

    /// From when to when captures saw this revision's text on its page (the page showed it
    /// from `firstSeenAt` to at least `lastSeenAt`). Null when no capture saw it.
    async fn sightings(&self, ctx: &Context<'_>) -> ApiResult<Option<RevisionSightings>> {
        sightings_of(ctx, &self.0).await
    }
}
    pages {
        /// The citations this revision makes, in the order they were recorded.
        citations -> CitationConnection =
            |node, ctx, args| CitationConnection::in_revision(store(ctx)?, node.0.hash.clone(), args).await;
    }
}
