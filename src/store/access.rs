//! Who may read what: collections, their members, embargoes, and the `Viewer` every read of
//! documents is made for.
//!
//! A document belongs to one collection. Anyone may read a document of a public collection
//! once its embargo (`publish_at`) has passed; a restricted collection's documents, and an
//! embargoed document before its time, only the collection's members may read. Reads filter on
//! one column, `documents.public_from` (from when anyone may read; NULL: never), which every
//! write here keeps in step with the collection's visibility and the embargo, so a read
//! decides by its clock alone and an embargo lifts with nothing run at that moment.

use std::collections::BTreeMap;
use std::sync::Arc;

use sea_orm::sea_query::{Expr, ExprTrait, Query, SimpleExpr};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

use super::Store;
use super::audit::{self, Actor, AuditTarget};
use super::changes::Changed;
use super::documents::Document;
use super::error::{Conflict, Missing, StoreError, StoreResult, corrupt};
use super::kinds::{AuditAction, AuditOutcome, Role, Visibility};
use super::values::{
    AgentId, CollectionId, CollectionName, DocumentId, InvalidValue, Slug, Timestamp,
};
use crate::entity::{agent, audit_event, collection, collection_member, document, revision};

/// The most collections one list returns.
pub const MAX_COLLECTIONS: u64 = 500;
/// The most members of one collection one list returns.
pub const MAX_MEMBERS: u64 = 1_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collection {
    pub id: CollectionId,
    pub slug: Slug,
    pub name: String,
    pub visibility: Visibility,
    pub created_at: Timestamp,
}

/// An agent's place in a collection: what its role lets it do with the collection's documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub collection: CollectionId,
    pub agent: AgentId,
    pub role: Role,
    pub added_at: Timestamp,
}

/// Whose role decides what a caller may do with one document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Anyone may read it: the caller's token's role decides.
    Public,
    /// Its collection's members may read it, and the caller is one, with this role.
    Member(Role),
    /// Its collection's members may read it, and the caller is none.
    Outsider,
}

impl Standing {
    /// The role that decides, for a caller whose token has `token`.
    pub fn role(self, token: Role) -> Option<Role> {
        match self {
            Standing::Public => Some(token),
            Standing::Member(role) => Some(role),
            Standing::Outsider => None,
        }
    }
}

/// Who reads, and when. Every read that can return documents, their texts or their existence
/// is made for a viewer and returns only what it may read; what it may not read is answered
/// as missing.
#[derive(Debug, Clone)]
pub struct Viewer {
    at: Timestamp,
    scope: Scope,
}

#[derive(Debug, Clone)]
enum Scope {
    /// Public material only: anonymous callers, and callers who belong to no collection.
    Public,
    /// Public material and the collections the caller belongs to, with its role in each.
    Member(Arc<BTreeMap<CollectionId, Role>>),
    /// Everything: the operator at the command line.
    Everything,
}

impl Viewer {
    /// A caller who may read public material only, as of `at`.
    pub fn public(at: Timestamp) -> Self {
        Self { at, scope: Scope::Public }
    }

    /// A caller with these memberships, as of `at`.
    pub fn member(
        at: Timestamp,
        memberships: impl IntoIterator<Item = (CollectionId, Role)>,
    ) -> Self {
        let memberships: BTreeMap<_, _> = memberships.into_iter().collect();
        if memberships.is_empty() {
            return Self::public(at);
        }
        Self { at, scope: Scope::Member(Arc::new(memberships)) }
    }

    /// The operator, who reads everything (the CLI's exports, `verify`).
    pub fn everything() -> Self {
        Self { at: Timestamp::now(), scope: Scope::Everything }
    }

    /// The clock reads are decided by.
    pub fn at(&self) -> Timestamp {
        self.at
    }

    /// The caller's role in `collection`, if it is a member.
    pub fn role_in(&self, collection: CollectionId) -> Option<Role> {
        match &self.scope {
            Scope::Member(memberships) => memberships.get(&collection).copied(),
            Scope::Public | Scope::Everything => None,
        }
    }

    /// Whether this caller may read `document`.
    pub fn may_read(&self, document: &Document) -> bool {
        self.may_read_parts(document.collection, document.public_from)
    }

    pub(crate) fn may_read_parts(
        &self,
        collection: CollectionId,
        public_from: Option<Timestamp>,
    ) -> bool {
        match &self.scope {
            Scope::Everything => true,
            _ if public_from.is_some_and(|from| from <= self.at) => true,
            Scope::Member(memberships) => memberships.contains_key(&collection),
            Scope::Public => false,
        }
    }

    /// Whose role decides what this caller may do with a document of `collection` that anyone
    /// may read from `public_from`: its token's while anyone may read it, its role in the
    /// collection otherwise.
    pub fn standing(&self, collection: CollectionId, public_from: Option<Timestamp>) -> Standing {
        match &self.scope {
            _ if public_from.is_some_and(|from| from <= self.at) => Standing::Public,
            Scope::Everything => Standing::Public,
            Scope::Member(memberships) => {
                memberships.get(&collection).map_or(Standing::Outsider, |r| Standing::Member(*r))
            }
            Scope::Public => Standing::Outsider,
        }
    }

    /// [`Viewer::standing`] for a document already read.
    pub fn standing_for(&self, document: &Document) -> Standing {
        self.standing(document.collection, document.public_from)
    }

    /// [`Viewer::standing`] for a document that would be placed in `collection` under
    /// `publish_at`.
    pub fn standing_for_placement(
        &self,
        collection: &Collection,
        publish_at: Option<Timestamp>,
    ) -> Standing {
        let public_from =
            public_from(collection.visibility, publish_at).map(Timestamp::from_micros);
        self.standing(collection.id, public_from)
    }

    /// Whether this caller may know `collection` exists: anyone may know a public one, only
    /// its members a restricted one.
    pub fn may_see(&self, collection: &Collection) -> bool {
        match &self.scope {
            Scope::Everything => true,
            _ if collection.visibility == Visibility::Public => true,
            Scope::Member(memberships) => memberships.contains_key(&collection.id),
            Scope::Public => false,
        }
    }

    /// The documents this caller may not read, as a condition on the `documents` table: those
    /// not public yet (few, and found along `documents_by_public_from`) outside the caller's
    /// collections. `None`: it may read every document.
    pub(crate) fn hidden_documents(&self) -> Option<Condition> {
        use document::Column as C;
        let not_public =
            Condition::any().add(C::PublicFrom.is_null()).add(C::PublicFrom.gt(self.at.micros()));
        match &self.scope {
            Scope::Everything => None,
            Scope::Public => Some(not_public),
            Scope::Member(memberships) => Some(
                Condition::all()
                    .add(not_public)
                    .add(C::CollectionId.is_not_in(memberships.keys().map(|c| c.as_uuid()))),
            ),
        }
    }

    /// A condition on `documents` that keeps only what this caller may read.
    pub(crate) fn readable_documents(&self) -> Condition {
        // Wrapped, so that what a caller adds to it is added beside the negation, not in it.
        match self.hidden_documents() {
            None => Condition::all(),
            Some(hidden) => Condition::all().add(hidden.not()),
        }
    }

    /// `column NOT IN (the documents this caller may not read)`, for the tables that name a
    /// document (revisions, search passages, citations): the subquery reads the few documents
    /// not public yet along their index, however many public ones there are.
    pub(crate) fn readable_document_ids(&self, column: impl Into<SimpleExpr>) -> Condition {
        match self.hidden_documents() {
            None => Condition::all(),
            Some(hidden) => Condition::all().add(
                Expr::expr(column.into()).not_in_subquery(
                    Query::select()
                        .column(document::Column::Id)
                        .from(document::Entity)
                        .cond_where(hidden)
                        .to_owned(),
                ),
            ),
        }
    }
}

/// A UUID column as the text `AuditTarget` writes (lowercase, hyphenated): SQLite keeps UUIDs
/// as 16-byte blobs, PostgreSQL as `uuid`.
fn uuid_text(backend: DbBackend, column: &str) -> String {
    match backend {
        DbBackend::Sqlite => {
            let part = |from: u32, len: u32| format!("substr(hex({column}), {from}, {len})");
            format!(
                "lower({} || '-' || {} || '-' || {} || '-' || {} || '-' || {})",
                part(1, 8),
                part(9, 4),
                part(13, 4),
                part(17, 4),
                part(21, 12)
            )
        }
        _ => format!("CAST({column} AS text)"),
    }
}

impl Viewer {
    /// The audit events this viewer may not read, as a condition on `audit_events`: those
    /// whose target names a document it may not read (by id, by slug, or by one of its
    /// revisions' hashes) or a restricted collection it is no member of. `None`: it may read
    /// every event. Written out only for the hidden documents and collections, which are few.
    pub(crate) fn hidden_audit_events(&self, backend: DbBackend) -> Option<Condition> {
        use sea_orm::sea_query::UnionType;
        let hidden = self.hidden_documents()?;
        let target = |text: String| Expr::cust(text);
        let hidden_ids = Query::select()
            .column(document::Column::Id)
            .from(document::Entity)
            .cond_where(hidden.clone())
            .to_owned();
        let by_revision = Query::select()
            .expr(target(format!("'revision:' || {}", super::sql::hex_text(backend, "hash"))))
            .from(revision::Entity)
            .cond_where(Expr::col(revision::Column::DocumentId).in_subquery(hidden_ids))
            .to_owned();
        let by_slug = Query::select()
            .expr(target("'slug:' || slug".to_owned()))
            .from(document::Entity)
            .cond_where(hidden.clone())
            .to_owned();
        let mut collections = Condition::all()
            .add(collection::Column::Visibility.eq(Visibility::Restricted.as_str()));
        if let Scope::Member(memberships) = &self.scope {
            collections = collections
                .add(collection::Column::Id.is_not_in(memberships.keys().map(|c| c.as_uuid())));
        }
        let by_collection = Query::select()
            .expr(target(format!("'collection:' || {}", uuid_text(backend, "id"))))
            .from(collection::Entity)
            .cond_where(collections)
            .to_owned();
        let targets = Query::select()
            .expr(target(format!("'document:' || {}", uuid_text(backend, "id"))))
            .from(document::Entity)
            .cond_where(hidden)
            .union(UnionType::All, by_slug)
            .union(UnionType::All, by_revision)
            .union(UnionType::All, by_collection)
            .to_owned();
        Some(Condition::all().add(Expr::col(audit_event::Column::Target).in_subquery(targets)))
    }
}

impl Viewer {
    /// `SELECT id FROM documents WHERE <hidden from this viewer>` for statements written out
    /// in SQL, its values appended to `values`; `None` when the viewer may read everything.
    pub(crate) fn hidden_documents_sql(
        &self,
        backend: sea_orm::DbBackend,
        values: &mut Vec<sea_orm::Value>,
    ) -> Option<String> {
        let mut bind = |value: sea_orm::Value| {
            values.push(value);
            super::sql::placeholder(backend, values.len())
        };
        if matches!(self.scope, Scope::Everything) {
            return None;
        }
        // Bound in the order they appear: SQLite's `?` are positional.
        let at = bind(self.at.micros().into());
        let members = match &self.scope {
            Scope::Everything | Scope::Public => String::new(),
            Scope::Member(memberships) => {
                let ids: Vec<String> =
                    memberships.keys().map(|c| bind(c.as_uuid().into())).collect();
                format!(" AND collection_id NOT IN ({})", ids.join(", "))
            }
        };
        Some(format!(
            "SELECT id FROM documents WHERE (public_from IS NULL OR public_from > {at}){members}"
        ))
    }
}

/// From when anyone may read a document of a collection of `visibility` under `publish_at`.
pub(crate) fn public_from(visibility: Visibility, publish_at: Option<Timestamp>) -> Option<i64> {
    match visibility {
        Visibility::Restricted => None,
        Visibility::Public => Some(publish_at.map_or(0, |at| at.micros())),
    }
}

impl TryFrom<collection::Model> for Collection {
    type Error = StoreError;
    fn try_from(row: collection::Model) -> StoreResult<Self> {
        Ok(Collection {
            id: row.id.into(),
            slug: Slug::from_trusted(row.slug),
            name: row.name,
            visibility: row.visibility.parse().map_err(|e| corrupt("collections.visibility", e))?,
            created_at: Timestamp::from_micros(row.created_at),
        })
    }
}

impl TryFrom<collection_member::Model> for Membership {
    type Error = StoreError;
    fn try_from(row: collection_member::Model) -> StoreResult<Self> {
        Ok(Membership {
            collection: row.collection_id.into(),
            agent: row.agent_id.into(),
            role: row.role.parse().map_err(|e| corrupt("collection_members.role", e))?,
            added_at: Timestamp::from_micros(row.added_at),
        })
    }
}

async fn find_collection(conn: &impl ConnectionTrait, id: CollectionId) -> StoreResult<Collection> {
    collection::Entity::find_by_id(id.as_uuid())
        .one(conn)
        .await?
        .ok_or(StoreError::NotFound(Missing::Collection(id)))?
        .try_into()
}

/// A collection's visibility, for a write placing a document in it.
pub(crate) async fn collection_visibility(
    conn: &impl ConnectionTrait,
    id: CollectionId,
) -> StoreResult<Visibility> {
    Ok(find_collection(conn, id).await?.visibility)
}

async fn required(conn: &impl ConnectionTrait, id: DocumentId) -> StoreResult<Document> {
    super::documents::find(conn, id).await?.ok_or(StoreError::NotFound(Missing::Document(id)))
}

impl Store {
    /// The viewer `agent` reads as at `at`: public material and its collections.
    pub async fn viewer_of(&self, agent: AgentId, at: Timestamp) -> StoreResult<Viewer> {
        let memberships = collection_member::Entity::find()
            .filter(collection_member::Column::AgentId.eq(agent.as_uuid()))
            .limit(MAX_COLLECTIONS)
            .all(&self.db)
            .await?
            .into_iter()
            .map(Membership::try_from)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Viewer::member(at, memberships.into_iter().map(|m| (m.collection, m.role))))
    }

    /// The first time after `after` at which an embargo lifts, if any is pending: an answer
    /// kept for anyone is stale from then on, though nothing commits at that moment.
    pub async fn next_embargo_lift(&self, after: Timestamp) -> StoreResult<Option<Timestamp>> {
        let first: Option<Option<i64>> = document::Entity::find()
            .select_only()
            .column_as(document::Column::PublicFrom.min(), "first")
            .filter(document::Column::PublicFrom.gt(after.micros()))
            .into_tuple()
            .one(&self.db)
            .await?;
        Ok(first.flatten().map(Timestamp::from_micros))
    }

    pub async fn collection(&self, id: CollectionId) -> StoreResult<Option<Collection>> {
        match find_collection(&self.db, id).await {
            Ok(found) => Ok(Some(found)),
            Err(StoreError::NotFound(_)) => Ok(None),
            Err(err) => Err(err),
        }
    }

    pub async fn collections_by_ids(&self, ids: &[CollectionId]) -> StoreResult<Vec<Collection>> {
        collection::Entity::find()
            .filter(collection::Column::Id.is_in(ids.iter().map(|id| id.as_uuid())))
            .all(&self.db)
            .await?
            .into_iter()
            .map(Collection::try_from)
            .collect()
    }

    pub async fn collection_by_slug(&self, slug: &Slug) -> StoreResult<Option<Collection>> {
        collection::Entity::find()
            .filter(collection::Column::Slug.eq(slug.as_str()))
            .one(&self.db)
            .await?
            .map(Collection::try_from)
            .transpose()
    }

    /// The collections `viewer` may know of (every one for `None`: an admin or the
    /// operator), by slug (at most `MAX_COLLECTIONS`).
    pub async fn list_collections(&self, viewer: Option<&Viewer>) -> StoreResult<Vec<Collection>> {
        let mut query = collection::Entity::find();
        if let Some(viewer) = viewer {
            let mut known = Condition::any()
                .add(collection::Column::Visibility.eq(Visibility::Public.as_str()));
            match &viewer.scope {
                Scope::Everything => known = Condition::all(),
                Scope::Member(memberships) => {
                    known = known
                        .add(collection::Column::Id.is_in(memberships.keys().map(|c| c.as_uuid())));
                }
                Scope::Public => {}
            }
            query = query.filter(known);
        }
        query
            .order_by_asc(collection::Column::Slug)
            .limit(MAX_COLLECTIONS)
            .all(&self.db)
            .await?
            .into_iter()
            .map(Collection::try_from)
            .collect()
    }

    /// A collection's members, by when they were added (at most `MAX_MEMBERS`).
    pub async fn members_of(&self, id: CollectionId) -> StoreResult<Vec<Membership>> {
        collection_member::Entity::find()
            .filter(collection_member::Column::CollectionId.eq(id.as_uuid()))
            .order_by_asc(collection_member::Column::AddedAt)
            .order_by_asc(collection_member::Column::AgentId)
            .limit(MAX_MEMBERS)
            .all(&self.db)
            .await?
            .into_iter()
            .map(Membership::try_from)
            .collect()
    }

    pub async fn create_collection(
        &self,
        slug: Slug,
        name: CollectionName,
        visibility: Visibility,
        actor: Option<&Actor>,
    ) -> StoreResult<Collection> {
        let id = CollectionId::generate();
        if let Some(holder) = self.collection_by_slug(&slug).await? {
            // Named by the collection that holds the slug: an archivist who may not know of
            // that collection is not told of the refusal either.
            let conflict = Conflict::CollectionSlugTaken(slug);
            if let Some(actor) = actor {
                let target = AuditTarget::Collection(holder.id);
                let (action, outcome) = (AuditAction::CreateCollection, AuditOutcome::Conflict);
                self.record_refusal(actor, action, &target, outcome, conflict.to_string()).await?;
            }
            return Err(conflict.into());
        }
        let target = AuditTarget::Collection(id);
        let command = async {
            let (_turn, tx) = self.begin_bare().await?;
            let taken = collection::Entity::find()
                .filter(collection::Column::Slug.eq(slug.as_str()))
                .one(&tx)
                .await?;
            if taken.is_some() {
                return Err(Conflict::CollectionSlugTaken(slug).into());
            }
            let row = collection::ActiveModel {
                id: Set(id.as_uuid()),
                slug: Set(slug.as_str().to_owned()),
                name: Set(name.as_str().to_owned()),
                visibility: Set(visibility.as_str().to_owned()),
                created_at: Set(Timestamp::now().micros()),
            };
            collection::Entity::insert(row).exec_without_returning(&tx).await?;
            let detail = Some(format!("{slug} ({visibility})"));
            audit::record(
                &tx,
                actor,
                AuditAction::CreateCollection,
                &target,
                AuditOutcome::Succeeded,
                detail,
            )
            .await?;
            let created = find_collection(&tx, id).await?;
            self.commit_change(tx, Changed::no_document()).await?;
            Ok(created)
        };
        match actor {
            Some(actor) => {
                self.audited(actor, AuditAction::CreateCollection, target.clone(), command).await
            }
            None => command.await,
        }
    }

    /// Creates each of `collections` not stored yet, with its id, slug, visibility and time
    /// (an import), each audited as the operator's; one stored already under its id is left
    /// as it is. Returns how many were created.
    pub async fn import_collections(&self, collections: &[Collection]) -> StoreResult<u64> {
        let (_turn, tx) = self.begin_bare().await?;
        let mut created = 0;
        for c in collections {
            if collection::Entity::find_by_id(c.id.as_uuid()).one(&tx).await?.is_some() {
                continue;
            }
            let taken = collection::Entity::find()
                .filter(collection::Column::Slug.eq(c.slug.as_str()))
                .one(&tx)
                .await?;
            if taken.is_some() {
                return Err(Conflict::CollectionSlugTaken(c.slug.clone()).into());
            }
            let row = collection::ActiveModel {
                id: Set(c.id.as_uuid()),
                slug: Set(c.slug.as_str().to_owned()),
                name: Set(c.name.clone()),
                visibility: Set(c.visibility.as_str().to_owned()),
                created_at: Set(c.created_at.micros()),
            };
            collection::Entity::insert(row).exec_without_returning(&tx).await?;
            let detail = Some(format!("{} ({}), imported", c.slug, c.visibility));
            let target = AuditTarget::Collection(c.id);
            let action = AuditAction::CreateCollection;
            audit::record(&tx, None, action, &target, AuditOutcome::Succeeded, detail).await?;
            created += 1;
        }
        self.commit_change(tx, Changed::no_document()).await?;
        Ok(created)
    }

    /// Makes a collection public or restricted; its documents follow at once.
    pub async fn set_collection_visibility(
        &self,
        id: CollectionId,
        visibility: Visibility,
        actor: Option<&Actor>,
    ) -> StoreResult<Collection> {
        if id == CollectionId::PUBLIC && visibility != Visibility::Public {
            // New documents land in it, and every document written before collections.
            return Err(
                InvalidValue::new("visibility", "the public collection stays public").into()
            );
        }
        let (_turn, tx) = self.begin_bare().await?;
        let before = find_collection(&tx, id).await?;
        collection::Entity::update_many()
            .col_expr(collection::Column::Visibility, Expr::value(visibility.as_str()))
            .filter(collection::Column::Id.eq(id.as_uuid()))
            .exec(&tx)
            .await?;
        let public_from: SimpleExpr = match visibility {
            Visibility::Restricted => Expr::value(Option::<i64>::None),
            Visibility::Public => Expr::col(document::Column::PublishAt).if_null(0),
        };
        document::Entity::update_many()
            .col_expr(document::Column::PublicFrom, public_from)
            .filter(document::Column::CollectionId.eq(id.as_uuid()))
            .exec(&tx)
            .await?;
        let detail = Some(format!("{} → {visibility}", before.visibility));
        let target = AuditTarget::Collection(id);
        let action = AuditAction::SetCollectionVisibility;
        audit::record(&tx, actor, action, &target, AuditOutcome::Succeeded, detail).await?;
        let changed = find_collection(&tx, id).await?;
        // Which documents anyone may read changed: every answer kept for anyone may be stale.
        self.commit_change(tx, Changed::Everything).await?;
        Ok(changed)
    }

    /// Adds `agent` to a collection with `role`, or changes its role there.
    pub async fn set_member(
        &self,
        id: CollectionId,
        agent: AgentId,
        role: Role,
        actor: Option<&Actor>,
    ) -> StoreResult<Membership> {
        let (_turn, tx) = self.begin_bare().await?;
        find_collection(&tx, id).await?;
        if agent::Entity::find_by_id(agent.as_uuid()).one(&tx).await?.is_none() {
            return Err(Missing::Agent(agent).into());
        }
        let key = (id.as_uuid(), agent.as_uuid());
        let before = collection_member::Entity::find_by_id(key).one(&tx).await?;
        let detail = match &before {
            Some(before) => format!("agent {agent}: {} → {role}", before.role),
            None => format!("agent {agent} as {role}"),
        };
        let row = collection_member::ActiveModel {
            collection_id: Set(id.as_uuid()),
            agent_id: Set(agent.as_uuid()),
            role: Set(role.as_str().to_owned()),
            added_at: Set(before.map_or_else(|| Timestamp::now().micros(), |b| b.added_at)),
        };
        collection_member::Entity::delete_by_id(key).exec(&tx).await?;
        collection_member::Entity::insert(row).exec_without_returning(&tx).await?;
        let target = AuditTarget::Collection(id);
        let action = AuditAction::AddMember;
        audit::record(&tx, actor, action, &target, AuditOutcome::Succeeded, Some(detail)).await?;
        let membership = collection_member::Entity::find_by_id(key)
            .one(&tx)
            .await?
            .ok_or_else(|| anyhow::anyhow!("the membership just written is not there"))?
            .try_into()?;
        self.commit_change(tx, Changed::no_document()).await?;
        Ok(membership)
    }

    /// Takes `agent` out of a collection; `NotFound` when it was not a member.
    pub async fn remove_member(
        &self,
        id: CollectionId,
        agent: AgentId,
        actor: Option<&Actor>,
    ) -> StoreResult<()> {
        let (_turn, tx) = self.begin_bare().await?;
        find_collection(&tx, id).await?;
        let removed = collection_member::Entity::delete_by_id((id.as_uuid(), agent.as_uuid()))
            .exec(&tx)
            .await?;
        if removed.rows_affected == 0 {
            return Err(Missing::Membership(id, agent).into());
        }
        let target = AuditTarget::Collection(id);
        let detail = Some(format!("agent {agent}"));
        let action = AuditAction::RemoveMember;
        audit::record(&tx, actor, action, &target, AuditOutcome::Succeeded, detail).await?;
        self.commit_change(tx, Changed::no_document()).await
    }

    /// Moves a document into another collection, a recorded event.
    pub async fn move_document(
        &self,
        document: DocumentId,
        to: CollectionId,
        actor: Option<&Actor>,
    ) -> StoreResult<Document> {
        let (_turn, tx) = self.begin_bare().await?;
        let found = required(&tx, document).await?;
        let collection = find_collection(&tx, to).await?;
        document::Entity::update_many()
            .col_expr(document::Column::CollectionId, Expr::value(to.as_uuid()))
            .col_expr(
                document::Column::PublicFrom,
                Expr::value(public_from(collection.visibility, found.publish_at)),
            )
            .filter(document::Column::Id.eq(document.as_uuid()))
            .exec(&tx)
            .await?;
        let detail = Some(format!("collection {} → {}", found.collection, to));
        let target = AuditTarget::Document(document);
        let action = AuditAction::MoveDocument;
        audit::record(&tx, actor, action, &target, AuditOutcome::Succeeded, detail).await?;
        let moved = required(&tx, document).await?;
        self.commit_change(tx, Changed::documents([document, DocumentId::LISTED])).await?;
        Ok(moved)
    }

    /// Sets or lifts a document's embargo: until `publish_at`, only its collection's members
    /// may read it.
    pub async fn set_embargo(
        &self,
        document: DocumentId,
        publish_at: Option<Timestamp>,
        actor: Option<&Actor>,
    ) -> StoreResult<Document> {
        let (_turn, tx) = self.begin_bare().await?;
        let found = required(&tx, document).await?;
        let collection = find_collection(&tx, found.collection).await?;
        document::Entity::update_many()
            .col_expr(document::Column::PublishAt, Expr::value(publish_at.map(|at| at.micros())))
            .col_expr(
                document::Column::PublicFrom,
                Expr::value(public_from(collection.visibility, publish_at)),
            )
            .filter(document::Column::Id.eq(document.as_uuid()))
            .exec(&tx)
            .await?;
        let detail = Some(match publish_at {
            Some(at) => format!("publish at {at}"),
            None => "no embargo".to_owned(),
        });
        let target = AuditTarget::Document(document);
        let action = AuditAction::SetEmbargo;
        audit::record(&tx, actor, action, &target, AuditOutcome::Succeeded, detail).await?;
        let changed = required(&tx, document).await?;
        self.commit_change(tx, Changed::documents([document, DocumentId::LISTED])).await?;
        Ok(changed)
    }
}
