//! The `Source` object type.

use async_graphql::{ID, Object};

use crate::graphql::connection::RevisionConnection;
use crate::graphql::context::store;
use crate::graphql::ids::GlobalId;
use crate::graphql::kinds::SourceKind;
use crate::graphql::nodes::SourceNode;
use crate::graphql::scalars::DateTime;

object_with_pages! {
#[Object(name = "Source")]
impl SourceNode {
    /// An opaque global id.
    pub async fn id(&self) -> ID {
        GlobalId::Source(self.0.id).encode()
    }

    /// The source's UUID, as revision headers carry it in `source`.
    async fn uuid(&self) -> String {
        self.0.id.to_string()
    }

    /// What kind of source this is.
    async fn source_kind(&self) -> SourceKind {
        self.0.kind.into()
    }

    #[graphql(deprecation = "Use `sourceKind`: `Document.kind` and `Agent.kind` are other enums, \
                             so a query cannot select them together (as `node { ... on Document \
                             { kind } ... on Source { kind } }` does).")]
    async fn kind(&self) -> SourceKind {
        self.0.kind.into()
    }

    /// The source's title, when it has one.
    async fn source_title(&self) -> Option<&str> {
        self.0.title.as_deref()
    }

    #[graphql(deprecation = "Use `sourceTitle`: `title` here is nullable where `Document.title` \
                             is not, so a query cannot select both in one selection set (as \
                             `node { ... on Document { title } ... on Source { title } }` does).")]
    async fn title(&self) -> Option<&str> {
        self.0.title.as_deref()
    }

    /// Where the source was found, when it is on the web.
    async fn source_url(&self) -> Option<&str> {
        self.0.url.as_deref()
    }

    #[graphql(deprecation = "Use `sourceUrl`: `url` here is nullable where `Document.url` and \
                             `Revision.url` are not, so a query cannot select them together (as \
                             `node { ... on Document { url } ... on Source { url } }` does).")]
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
}
    pages {
        /// The revisions whose text was captured from this source, newest first.
        revisions -> RevisionConnection =
            |node, ctx, args| {
                let viewer = crate::graphql::loaders::viewer(ctx).await?;
                RevisionConnection::from_source(store(ctx)?, viewer, node.0.id, args).await
            };
    }
}
