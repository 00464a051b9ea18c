//! Agents: the people, organisations and software (W3C PROV agents) that author revisions and
//! hold API tokens.

use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::Store;
use super::audit::{self, Actor, AuditTarget};
use super::error::{StoreError, StoreResult, corrupt};
use super::kinds::{AgentKind, AuditAction, AuditOutcome};
use super::transaction::WriteTransaction;
use super::values::{AgentId, AgentName, Timestamp};
use crate::entity::agent;

/// A person, organisation or software agent (W3C PROV) that authors revisions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    pub id: AgentId,
    pub name: String,
    pub kind: AgentKind,
    pub created_at: Timestamp,
}

impl TryFrom<agent::Model> for Agent {
    type Error = StoreError;
    fn try_from(row: agent::Model) -> StoreResult<Self> {
        Ok(Agent {
            id: row.id.into(),
            name: row.name,
            kind: row.kind.parse().map_err(|e| corrupt("agents.kind", e))?,
            created_at: Timestamp::from_micros(row.created_at),
        })
    }
}

impl Store {
    /// Records an agent, on behalf of `actor` (`None`: the operator at the command line).
    #[tracing::instrument(skip(self))]
    pub async fn create_agent(
        &self,
        name: &AgentName,
        kind: AgentKind,
        actor: Option<&Actor>,
    ) -> StoreResult<Agent> {
        let (_turn, tx) = self.begin_bare().await?;
        let agent = insert(&tx, name, kind, actor).await?;
        self.commit(tx).await?;
        Ok(agent)
    }

    /// Agents with exactly this name (and this kind, if given), oldest first.
    pub async fn agents_named(
        &self,
        name: &AgentName,
        kind: Option<AgentKind>,
    ) -> StoreResult<Vec<Agent>> {
        named(&self.db, name, kind).await
    }

    pub async fn agents_by_ids(&self, ids: &[AgentId]) -> StoreResult<Vec<Agent>> {
        agent::Entity::find()
            .filter(agent::Column::Id.is_in(ids.iter().map(|id| id.as_uuid())))
            .all(&self.db)
            .await?
            .into_iter()
            .map(Agent::try_from)
            .collect()
    }

    pub async fn agent(&self, id: AgentId) -> StoreResult<Option<Agent>> {
        Ok(self.agents_by_ids(&[id]).await?.pop())
    }
}

impl WriteTransaction<'_> {
    /// The one agent with this name and kind, created (by the operator) if there is none yet.
    pub async fn ensure_agent(&self, name: &AgentName, kind: AgentKind) -> StoreResult<Agent> {
        match named(&self.tx, name, Some(kind)).await?.into_iter().next() {
            Some(agent) => Ok(agent),
            None => insert(&self.tx, name, kind, None).await,
        }
    }
}

async fn insert(
    conn: &impl ConnectionTrait,
    name: &AgentName,
    kind: AgentKind,
    actor: Option<&Actor>,
) -> StoreResult<Agent> {
    let agent = Agent {
        id: AgentId::generate(),
        name: name.as_str().to_owned(),
        kind,
        created_at: Timestamp::now(),
    };
    agent::Entity::insert(agent::ActiveModel {
        id: Set(agent.id.as_uuid()),
        name: Set(agent.name.clone()),
        kind: Set(kind.as_str().to_owned()),
        created_at: Set(agent.created_at.micros()),
    })
    .exec_without_returning(conn)
    .await?;
    let target = AuditTarget::Agent(agent.id);
    audit::record(conn, actor, AuditAction::CreateAgent, &target, AuditOutcome::Succeeded, None)
        .await?;
    Ok(agent)
}

async fn named(
    conn: &impl ConnectionTrait,
    name: &AgentName,
    kind: Option<AgentKind>,
) -> StoreResult<Vec<Agent>> {
    let mut query = agent::Entity::find().filter(agent::Column::Name.eq(name.as_str()));
    if let Some(kind) = kind {
        query = query.filter(agent::Column::Kind.eq(kind.as_str()));
    }
    query
        .order_by_asc(agent::Column::CreatedAt)
        .limit(50)
        .all(conn)
        .await?
        .into_iter()
        .map(Agent::try_from)
        .collect()
}
