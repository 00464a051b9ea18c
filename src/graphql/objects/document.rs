//! The `Document` object type.

use async_graphql::{Context, ID, Json, Object};

use super::citation_export::{CitationExport, CitationFormat, ReferenceStyle};
use super::integrity::IntegrityReport;
use crate::graphql::auth::{Permission, RequestAuth};
use crate::graphql::connection::{CitationConnection, RevisionConnection, SourceConnection};
use crate::graphql::context::{base_url, budget, store};
use crate::graphql::error::ApiResult;
use crate::graphql::ids::GlobalId;
use crate::graphql::kinds::DocumentKind;
use crate::graphql::loaders::{HeadAt, load_optional, load_required, viewer};
use crate::graphql::nodes::{CollectionNode, DocumentNode, RevisionNode};
use crate::graphql::scalars::DateTime;
use crate::render::RecordInput;
use crate::render::cite::Format;
use crate::store::{DocumentKey, RevisionHash};

object_with_pages! {
#[Object(name = "Document")]
impl DocumentNode {
    /// An opaque global id.
    pub async fn id(&self) -> ID {
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

    /// The document's page for people (HTML, its head revision's text, citation metadata).
    async fn url(&self, ctx: &Context<'_>) -> ApiResult<String> {
        Ok(format!("{}/documents/{}", base_url(ctx)?, self.0.slug.as_str()))
    }

    /// The title at the head revision.
    async fn title(&self, ctx: &Context<'_>) -> ApiResult<String> {
        Ok(self.head_revision(ctx).await?.title.clone())
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

    /// The collection that keeps it, which decides who may read it.
    async fn collection(&self, ctx: &Context<'_>) -> ApiResult<CollectionNode> {
        Ok(CollectionNode(load_required(ctx, self.0.collection).await?))
    }

    /// Its embargo: until then only its collection's members may read it. Null: none.
    async fn publish_at(&self) -> Option<DateTime> {
        self.0.publish_at.map(Into::into)
    }

    /// Verifies this document: every revision's content and header hash, its header against
    /// the columns it covers, the chain, the head and each revision's leaf in the
    /// transparency log. Needs an archivist or admin token; costs a point per revision and per
    /// KiB of text.
    #[graphql(complexity = 100)]
    async fn verification(&self, ctx: &Context<'_>) -> ApiResult<IntegrityReport> {
        RequestAuth::require_in(ctx, Permission::Audit, &self.0).await?;
        Ok(IntegrityReport(store(ctx)?.verify_document(self.0.id, budget(ctx)?).await?))
    }

    /// The current revision.
    async fn head(&self, ctx: &Context<'_>) -> ApiResult<RevisionNode> {
        Ok(RevisionNode(self.head_revision(ctx).await?))
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
        let record = self.record(ctx, revision).await?;
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
        let record = self.record(ctx, revision).await?;
        Ok(crate::render::cite::formatted_reference(&record, style.into()))
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
        let key = DocumentKey::Id(self.0.id);
        let provenance = store(ctx)?.provenance(&viewer(ctx).await?, &key, revision.as_ref(), budget(ctx)?).await?;
        Ok(Json(crate::render::prov::prov_json(&provenance, &base_url(ctx)?)))
    }




    /// The revision that was the head at `time`; null before the document existed.
    async fn as_of(&self, ctx: &Context<'_>, time: DateTime) -> ApiResult<Option<RevisionNode>> {
        Ok(load_optional(ctx, HeadAt(self.0.id, time.0)).await?.map(RevisionNode))
    }
}
    pages {
        /// The document's history, newest first. Pages hold 1 to 100 revisions (20 by default).
        revisions -> RevisionConnection =
            |node, ctx, args| {
                RevisionConnection::of_document(ctx, node.0.id, args, node.first_revisions()).await
            };

        /// The sources this document's revisions were captured from.
        sources -> SourceConnection =
            |node, ctx, args| SourceConnection::of_document(store(ctx)?, node.0.id, args).await;

        /// The citations the head revision makes, in the order they were recorded.
        citations -> CitationConnection =
            |node, ctx, args| CitationConnection::in_revision(store(ctx)?, node.0.head.clone(), args).await;

        /// The citations of this document made by the current heads of other documents.
        cited_by -> CitationConnection =
            |node, ctx, args| {
                let viewer = viewer(ctx).await?;
                CitationConnection::of_document(store(ctx)?, viewer, node.0.id, args).await
            };
    }
}

impl DocumentNode {
    /// The citation record of this document at `revision` (a hash), or at its head.
    async fn record(&self, ctx: &Context<'_>, revision: Option<String>) -> ApiResult<RecordInput> {
        let revision = revision.as_deref().map(RevisionHash::parse).transpose()?;
        let key = DocumentKey::Id(self.0.id);
        let at = store(ctx)?.document_at(&viewer(ctx).await?, &key, revision.as_ref()).await?;
        Ok(RecordInput::new(at, &base_url(ctx)?))
    }
}
