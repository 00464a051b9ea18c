//! Collections: the `Collection` object type, `Query.collections` and `Query.collection`, and
//! the admin's mutations that create collections, set who may read them, move documents
//! between them and set embargoes. Who may read what is decided in `store::access`.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

use crate::graphql::auth::{Permission, RequestAuth};
use crate::graphql::context::store;
use crate::graphql::error::{ApiError, ApiResult, ErrorCode};
use crate::graphql::ids::GlobalId;
use crate::graphql::loaders::{load_optional, load_required, viewer};
use crate::graphql::mutation::document_target;
use crate::graphql::nodes::{AgentNode, CollectionNode, DocumentNode};
use crate::graphql::scalars::DateTime;
use crate::store::{self, AuditAction, AuditTarget, CollectionId, Missing, Slug, StoreError};

/// Who may read a collection's documents.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::store::Visibility")]
pub enum CollectionVisibility {
    /// Anyone, once a document's embargo (`publishAt`) has passed; its members before.
    Public,
    /// Only the collection's members.
    Restricted,
}

/// What an agent may do: a token's role (for public material) or a member's role in a
/// collection (for that collection's documents that are not public).
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::store::Role")]
pub enum Role {
    /// Reads.
    Reader,
    /// Reads and writes documents.
    Editor,
    /// Reads, audits, verifies and redacts.
    Archivist,
    /// Everything an editor and an archivist may.
    Admin,
}

/// An agent's place in a collection.
pub struct CollectionMember(store::Membership);

#[Object]
impl CollectionMember {
    async fn agent(&self, ctx: &Context<'_>) -> ApiResult<AgentNode> {
        Ok(AgentNode(load_required(ctx, self.0.agent).await?))
    }

    /// What the agent may do with the collection's documents that are not public.
    async fn role(&self) -> Role {
        self.0.role.into()
    }

    async fn added_at(&self) -> DateTime {
        self.0.added_at.into()
    }
}

#[Object(name = "Collection")]
impl CollectionNode {
    /// An opaque global id.
    pub async fn id(&self) -> ID {
        GlobalId::Collection(self.0.id).encode()
    }

    /// The collection's UUID (the public collection's is the nil UUID).
    async fn uuid(&self) -> String {
        self.0.id.to_string()
    }

    /// Unique, human-readable; the public collection's is `public`.
    async fn slug(&self) -> &str {
        self.0.slug.as_str()
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn visibility(&self) -> CollectionVisibility {
        self.0.visibility.into()
    }

    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }

    /// The collection's members, earliest first (at most 1,000). Listed to admins and to
    /// the collection's members.
    async fn members(&self, ctx: &Context<'_>) -> ApiResult<Vec<CollectionMember>> {
        let principal = RequestAuth::require(ctx).await?;
        let member = viewer(ctx).await?.role_in(self.0.id).is_some();
        if !member && !Permission::ManageCollections.allows(principal.role) {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "a collection's members are listed to its members and to admins",
            ));
        }
        let members = store(ctx)?.members_of(self.0.id).await?;
        Ok(members.into_iter().map(CollectionMember).collect())
    }
}

#[derive(Default)]
pub struct CollectionFields;

#[Object]
impl CollectionFields {
    /// The collections the caller may know of, by slug (at most 500): every one for an
    /// admin; the public ones and those it is a member of for anyone else.
    async fn collections(&self, ctx: &Context<'_>) -> ApiResult<Vec<CollectionNode>> {
        let principal = RequestAuth::principal(ctx).await?;
        let every = principal.is_some_and(|p| Permission::ManageCollections.allows(p.role));
        let viewer = if every { None } else { Some(viewer(ctx).await?) };
        let found = store(ctx)?.list_collections(viewer.as_ref()).await?;
        Ok(found.into_iter().map(CollectionNode).collect())
    }

    /// A collection by its slug, or null if none the caller may know of has it.
    async fn collection(
        &self,
        ctx: &Context<'_>,
        slug: String,
    ) -> ApiResult<Option<CollectionNode>> {
        let slug = Slug::parse(&slug)?;
        let Some(found) = store(ctx)?.collection_by_slug(&slug).await? else {
            return Ok(None);
        };
        Ok(load_optional(ctx, found.id).await?.map(CollectionNode))
    }
}

const MANAGE: Permission = Permission::ManageCollections;

/// A new collection.
#[derive(InputObject)]
pub struct CreateCollectionInput {
    /// Unique: lowercase letters and digits in words joined by single hyphens.
    slug: String,
    name: String,
    visibility: CollectionVisibility,
}

#[derive(SimpleObject)]
pub struct CollectionPayload {
    collection: CollectionNode,
}

/// Whether anyone may read a collection's documents.
#[derive(InputObject)]
pub struct SetCollectionVisibilityInput {
    /// The collection (its global id or UUID).
    collection_id: ID,
    visibility: CollectionVisibility,
}

/// An agent to add to a collection, or whose role there changes.
#[derive(InputObject)]
pub struct SetCollectionMemberInput {
    collection_id: ID,
    /// The agent (its global id or UUID).
    agent_id: ID,
    role: Role,
}

#[derive(SimpleObject)]
pub struct SetCollectionMemberPayload {
    collection: CollectionNode,
    member: CollectionMember,
}

/// An agent to take out of a collection.
#[derive(InputObject)]
pub struct RemoveCollectionMemberInput {
    collection_id: ID,
    agent_id: ID,
}

/// A document to move into another collection.
#[derive(InputObject)]
pub struct MoveDocumentInput {
    /// The document (its global id or UUID).
    document_id: ID,
    /// The collection it moves into.
    collection_id: ID,
}

/// A document's embargo.
#[derive(InputObject)]
pub struct SetEmbargoInput {
    document_id: ID,
    /// Until then only its collection's members may read it; null lifts the embargo.
    publish_at: Option<DateTime>,
}

#[derive(SimpleObject)]
pub struct DocumentPayload {
    document: DocumentNode,
}

fn collection_target(id: &ID) -> AuditTarget {
    GlobalId::collection("collectionId", id).map_or(AuditTarget::Unnamed, AuditTarget::Collection)
}

#[derive(Default)]
pub struct CollectionMutations;

/// Who may read what is the admins' to decide: each of these needs an admin token, and each
/// change is recorded in the audit log.
#[Object]
impl CollectionMutations {
    /// Creates a collection. Needs an admin token.
    async fn create_collection(
        &self,
        ctx: &Context<'_>,
        input: CreateCollectionInput,
    ) -> ApiResult<CollectionPayload> {
        let target = || AuditTarget::Unnamed;
        let actor =
            RequestAuth::authorize(ctx, MANAGE, AuditAction::CreateCollection, target).await?;
        let slug = Slug::parse(&input.slug)?;
        let name = store::CollectionName::parse(&input.name)?;
        let created = store(ctx)?
            .create_collection(slug, name, input.visibility.into(), Some(&actor))
            .await?;
        Ok(CollectionPayload { collection: CollectionNode(created) })
    }

    /// Makes a collection public or restricted; its documents follow at once. The public
    /// collection stays public. Needs an admin token.
    async fn set_collection_visibility(
        &self,
        ctx: &Context<'_>,
        input: SetCollectionVisibilityInput,
    ) -> ApiResult<CollectionPayload> {
        let target = || collection_target(&input.collection_id);
        let action = AuditAction::SetCollectionVisibility;
        let actor = RequestAuth::authorize(ctx, MANAGE, action, target).await?;
        let id = GlobalId::collection("collectionId", &input.collection_id)?;
        let changed = store(ctx)?
            .set_collection_visibility(id, input.visibility.into(), Some(&actor))
            .await?;
        Ok(CollectionPayload { collection: CollectionNode(changed) })
    }

    /// Adds an agent to a collection with a role, or changes its role there. Needs an admin
    /// token.
    async fn set_collection_member(
        &self,
        ctx: &Context<'_>,
        input: SetCollectionMemberInput,
    ) -> ApiResult<SetCollectionMemberPayload> {
        let target = || collection_target(&input.collection_id);
        let actor = RequestAuth::authorize(ctx, MANAGE, AuditAction::AddMember, target).await?;
        let id = GlobalId::collection("collectionId", &input.collection_id)?;
        let agent = GlobalId::agent("agentId", &input.agent_id)?;
        let store = store(ctx)?;
        let member = store.set_member(id, agent, input.role.into(), Some(&actor)).await?;
        let collection = managed(store, id).await?;
        Ok(SetCollectionMemberPayload { collection, member: CollectionMember(member) })
    }

    /// Takes an agent out of a collection: from its next request (or a subscription's next
    /// event) it reads the collection's documents no more. Needs an admin token.
    async fn remove_collection_member(
        &self,
        ctx: &Context<'_>,
        input: RemoveCollectionMemberInput,
    ) -> ApiResult<CollectionPayload> {
        let target = || collection_target(&input.collection_id);
        let actor = RequestAuth::authorize(ctx, MANAGE, AuditAction::RemoveMember, target).await?;
        let id = GlobalId::collection("collectionId", &input.collection_id)?;
        let agent = GlobalId::agent("agentId", &input.agent_id)?;
        let store = store(ctx)?;
        store.remove_member(id, agent, Some(&actor)).await?;
        Ok(CollectionPayload { collection: managed(store, id).await? })
    }

    /// Moves a document into another collection (an audited event). Needs an admin token.
    async fn move_document(
        &self,
        ctx: &Context<'_>,
        input: MoveDocumentInput,
    ) -> ApiResult<DocumentPayload> {
        let target = || document_target(&input.document_id);
        let actor = RequestAuth::authorize(ctx, MANAGE, AuditAction::MoveDocument, target).await?;
        let document = GlobalId::document("documentId", &input.document_id)?;
        let to = GlobalId::collection("collectionId", &input.collection_id)?;
        let moved = store(ctx)?.move_document(document, to, Some(&actor)).await?;
        Ok(DocumentPayload { document: DocumentNode::new(moved) })
    }

    /// Sets or lifts a document's embargo: until `publishAt` only its collection's members
    /// may read it; from then on, anyone may (if its collection is public), with nothing run
    /// at that moment. Needs an admin token.
    async fn set_embargo(
        &self,
        ctx: &Context<'_>,
        input: SetEmbargoInput,
    ) -> ApiResult<DocumentPayload> {
        let target = || document_target(&input.document_id);
        let actor = RequestAuth::authorize(ctx, MANAGE, AuditAction::SetEmbargo, target).await?;
        let document = GlobalId::document("documentId", &input.document_id)?;
        let publish_at = input.publish_at.map(|at| at.0);
        let changed = store(ctx)?.set_embargo(document, publish_at, Some(&actor)).await?;
        Ok(DocumentPayload { document: DocumentNode::new(changed) })
    }
}

/// A collection an admin just changed, read back whole.
async fn managed(store: &store::Store, id: CollectionId) -> ApiResult<CollectionNode> {
    let found = store.collection(id).await?.ok_or(StoreError::NotFound(Missing::Collection(id)))?;
    Ok(CollectionNode(found))
}
