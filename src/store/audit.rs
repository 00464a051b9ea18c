//! The audit log: who did what to which object, when, through which token and request, and
//! how it ended. Every write command records its event inside its own transaction, so an
//! event exists exactly when the write landed; a command refused for the caller's role or
//! lost to a concurrent write is recorded too, in a transaction of its own. The store offers
//! no way to change or remove an event.

use std::fmt;

use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::error::{StoreError, StoreResult, corrupt};
use super::kinds::{AuditAction, AuditOutcome};
use super::page::{Page, PageRequest, uuid_window};
use super::values::{
    AgentId, CitationId, CollectionId, DocumentId, RevisionHash, Slug, SourceId, Timestamp,
    TokenId, WatchId,
};
use super::{Store, Viewer};
use crate::entity::audit_event;

/// Who is acting: the agent, the token it presented and the request it came in. Commands
/// the operator runs at the command line (tokens) have no actor: `None` where one is taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub agent: AgentId,
    pub token: Option<TokenId>,
    pub request: Option<String>,
}

impl Actor {
    /// An agent acting without a token (the seed loader, tests).
    pub fn agent(agent: AgentId) -> Self {
        Actor { agent, token: None, request: None }
    }
}

/// What an audited command acted on, stored and filtered as `kind:id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditTarget {
    Document(DocumentId),
    /// A document asked for by a slug it does not have yet (a refused creation).
    Slug(Slug),
    Revision(RevisionHash),
    Citation(CitationId),
    Source(SourceId),
    Agent(AgentId),
    Token(TokenId),
    Watch(WatchId),
    Collection(CollectionId),
    /// A page captured once, with no watch and no document yet (a capture that failed).
    Url(String),
    /// A refused command whose target did not parse.
    Unnamed,
}

impl fmt::Display for AuditTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuditTarget::Document(id) => write!(f, "document:{id}"),
            AuditTarget::Slug(slug) => write!(f, "slug:{slug}"),
            AuditTarget::Revision(hash) => write!(f, "revision:{hash}"),
            AuditTarget::Citation(id) => write!(f, "citation:{id}"),
            AuditTarget::Source(id) => write!(f, "source:{id}"),
            AuditTarget::Agent(id) => write!(f, "agent:{id}"),
            AuditTarget::Token(id) => write!(f, "token:{id}"),
            AuditTarget::Watch(id) => write!(f, "watch:{id}"),
            AuditTarget::Collection(id) => write!(f, "collection:{id}"),
            AuditTarget::Url(url) => write!(f, "url:{url}"),
            AuditTarget::Unnamed => f.write_str("unnamed"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub id: Uuid,
    pub at: Timestamp,
    pub agent: Option<AgentId>,
    pub token: Option<TokenId>,
    pub action: AuditAction,
    /// `kind:id` (`AuditTarget`'s form).
    pub target: String,
    pub request: Option<String>,
    pub outcome: AuditOutcome,
    pub detail: Option<String>,
}

impl TryFrom<audit_event::Model> for AuditEvent {
    type Error = StoreError;
    fn try_from(row: audit_event::Model) -> StoreResult<Self> {
        Ok(AuditEvent {
            id: row.id,
            at: Timestamp::from_micros(row.at),
            agent: row.agent_id.map(AgentId::from),
            token: row.token_id.map(TokenId::from),
            action: row.action.parse().map_err(|e| corrupt("audit_events.action", e))?,
            target: row.target,
            request: row.request_id,
            outcome: row.outcome.parse().map_err(|e| corrupt("audit_events.outcome", e))?,
            detail: row.detail,
        })
    }
}

/// Which events to list; every given condition must hold.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub agent: Option<AgentId>,
    pub action: Option<AuditAction>,
    /// `kind:id`, as `AuditTarget` writes it.
    pub target: Option<String>,
    /// From this instant (inclusive).
    pub since: Option<Timestamp>,
    /// Up to this instant (exclusive).
    pub until: Option<Timestamp>,
    /// Only the events this viewer may read (`None`: every one, for admins and the operator):
    /// an event naming a document it may not read is left out, as the document is.
    pub viewer: Option<Viewer>,
}

/// Details are kept short: they say what happened, they are not a copy of the input.
const MAX_DETAIL_CHARS: usize = 500;

/// Records one event through `conn` (the command's own transaction, for writes that landed).
/// No actor: the operator at the command line.
pub(crate) async fn record(
    conn: &impl ConnectionTrait,
    actor: Option<&Actor>,
    action: AuditAction,
    target: &AuditTarget,
    outcome: AuditOutcome,
    detail: Option<String>,
) -> StoreResult<()> {
    audit_event::Entity::insert(event_row(actor, action, target, outcome, detail))
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// The row of one event, timed now; for callers that record many in one statement.
pub(crate) fn event_row(
    actor: Option<&Actor>,
    action: AuditAction,
    target: &AuditTarget,
    outcome: AuditOutcome,
    detail: Option<String>,
) -> audit_event::ActiveModel {
    // The time is the id's own (UUID v7), so that a time range bounds the ids exactly.
    let id = Uuid::now_v7();
    let at = id
        .get_timestamp()
        .map(|t| {
            let (secs, nanos) = t.to_unix();
            Timestamp::from_micros(secs as i64 * 1_000_000 + i64::from(nanos / 1000))
        })
        .unwrap_or_else(Timestamp::now);
    audit_event::ActiveModel {
        id: Set(id),
        at: Set(at.micros()),
        agent_id: Set(actor.map(|a| a.agent.as_uuid())),
        token_id: Set(actor.and_then(|a| a.token).map(|t| t.as_uuid())),
        action: Set(action.as_str().to_owned()),
        target: Set(target.to_string()),
        request_id: Set(actor.and_then(|a| a.request.clone())),
        outcome: Set(outcome.as_str().to_owned()),
        detail: Set(detail.map(|d| d.chars().take(MAX_DETAIL_CHARS).collect())),
    }
}

impl Store {
    /// Records a command refused before it wrote anything, in a transaction of its own.
    pub async fn record_refusal(
        &self,
        actor: &Actor,
        action: AuditAction,
        target: &AuditTarget,
        outcome: AuditOutcome,
        detail: String,
    ) -> StoreResult<()> {
        let (_turn, tx) = self.begin_bare().await?;
        record(&tx, Some(actor), action, target, outcome, Some(detail)).await?;
        self.commit_change(tx, super::changes::Changed::no_document()).await
    }

    /// Runs a write command and, if it lost to a concurrent write (`Conflict`), records the
    /// refusal before returning it.
    pub(crate) async fn audited<T>(
        &self,
        actor: &Actor,
        action: AuditAction,
        target: AuditTarget,
        command: impl Future<Output = StoreResult<T>>,
    ) -> StoreResult<T> {
        let result = command.await;
        if let Err(StoreError::Conflict(conflict)) = &result {
            let detail = conflict.to_string();
            let recorded =
                self.record_refusal(actor, action, &target, AuditOutcome::Conflict, detail).await;
            // The caller still learns of the conflict; the lost event is for the operator.
            if let Err(err) = recorded {
                tracing::error!(error = %err, "cannot record a refused write in the audit log");
            }
        }
        result
    }

    /// A page of audit events, oldest first, that pass `filter`.
    pub async fn audit_events(
        &self,
        filter: &AuditFilter,
        page: PageRequest<Uuid>,
    ) -> StoreResult<Page<AuditEvent>> {
        let limit = page.limit;
        let direction = page.direction;
        let query = filtered(filter, self.db.get_database_backend());
        let rows = uuid_window(query, audit_event::Column::Id, &page).all(&self.db).await?;
        let events = rows.into_iter().map(AuditEvent::try_from).collect::<StoreResult<_>>()?;
        Ok(Page::from_probe(events, limit, direction))
    }

    pub async fn count_audit_events(&self, filter: &AuditFilter) -> StoreResult<u64> {
        use sea_orm::PaginatorTrait;
        Ok(filtered(filter, self.db.get_database_backend()).count(&self.db).await?)
    }
}

/// The events that pass `filter`. Ids are UUID v7, time-ordered with `at`, so a time range
/// also bounds the id (to the millisecond) and every filter walks an index ending in the id.
fn filtered(
    filter: &AuditFilter,
    backend: sea_orm::DbBackend,
) -> sea_orm::Select<audit_event::Entity> {
    let mut query = audit_event::Entity::find();
    if let Some(hidden) = filter.viewer.as_ref().and_then(|v| v.hidden_audit_events(backend)) {
        query = query.filter(hidden.not());
    }
    if let Some(agent) = filter.agent {
        query = query.filter(audit_event::Column::AgentId.eq(agent.as_uuid()));
    }
    if let Some(action) = filter.action {
        query = query.filter(audit_event::Column::Action.eq(action.as_str()));
    }
    if let Some(target) = &filter.target {
        query = query.filter(audit_event::Column::Target.eq(target.as_str()));
    }
    if let Some(since) = filter.since {
        query = query
            .filter(audit_event::Column::Id.gte(id_floor(since)))
            .filter(audit_event::Column::At.gte(since.micros()));
    }
    if let Some(until) = filter.until {
        query = query
            .filter(
                audit_event::Column::Id.lt(id_floor(Timestamp::from_micros(until.micros() + 999))),
            )
            .filter(audit_event::Column::At.lt(until.micros()));
    }
    query
}

/// The smallest UUID v7 of the millisecond `at` falls in.
fn id_floor(at: Timestamp) -> Uuid {
    let millis = at.micros().div_euclid(1000).max(0) as u64;
    let mut bytes = [0u8; 16];
    bytes[..6].copy_from_slice(&millis.to_be_bytes()[2..]);
    bytes[6] = 0x70;
    bytes[8] = 0x80;
    Uuid::from_bytes(bytes)
}
