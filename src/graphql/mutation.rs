//! `Mutation`: one input object and one payload type per mutation. Each resolver checks the
//! caller, parses its input into store types, and makes one store call.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

use super::auth::RequestAuth;
use super::error::ApiResult;
use super::ids::GlobalId;
use super::loaders::store;
use super::types::{DocumentKind, DocumentNode, RevisionNode};
use crate::store::{self, Message, RevisionHash, Slug, Title};

pub struct MutationRoot;

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
}

impl CreateDocumentInput {
    fn parse(self) -> ApiResult<store::CreateDocument> {
        Ok(store::CreateDocument {
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

#[Object(name = "Mutation")]
impl MutationRoot {
    /// Creates a document with its first revision, authored by the caller. Needs an editor token.
    async fn create_document(
        &self,
        ctx: &Context<'_>,
        input: CreateDocumentInput,
    ) -> ApiResult<CreateDocumentPayload> {
        let caller = RequestAuth::require_editor(ctx).await?;
        let input = input.parse()?;
        let outcome = store(ctx)?.create_document(input, caller.agent.id).await?;
        Ok(CreateDocumentPayload {
            document: DocumentNode(outcome.document),
            revision: RevisionNode(outcome.revision),
        })
    }

    /// Appends a revision on top of `expectedHead`, authored by the caller. Needs an editor
    /// token. A revision identical to the head (title, content and source) is refused.
    async fn revise_document(
        &self,
        ctx: &Context<'_>,
        input: ReviseDocumentInput,
    ) -> ApiResult<ReviseDocumentPayload> {
        let caller = RequestAuth::require_editor(ctx).await?;
        let input = input.parse()?;
        let outcome = store(ctx)?.revise_document(input, caller.agent.id).await?;
        Ok(ReviseDocumentPayload {
            document: DocumentNode(outcome.document),
            revision: RevisionNode(outcome.revision),
        })
    }
}
