//! Agents, the API tokens they hold, and sources.

use base64::Engine;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::types::*;
use super::{Store, StoreError, StoreResult};
use crate::entity::{agent, api_token, source};

/// A person, organisation or software agent (W3C PROV) that authors revisions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    pub id: AgentId,
    pub name: String,
    pub kind: AgentKind,
    pub created_at: Timestamp,
}

/// Where a revision's text was captured from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub id: SourceId,
    pub kind: String,
    pub title: Option<String>,
    pub url: Option<String>,
    pub created_at: Timestamp,
}

/// The caller behind a valid API token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub agent: Agent,
    pub role: Role,
}

/// A token just created: the secret is shown this once and never stored.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub secret: String,
    pub agent: Agent,
    pub role: Role,
}

/// Tokens start with this, so that secret scanners and people can tell them apart.
const TOKEN_PREFIX: &str = "pal_";

impl TryFrom<agent::Model> for Agent {
    type Error = StoreError;
    fn try_from(row: agent::Model) -> StoreResult<Self> {
        Ok(Agent {
            id: row.id.into(),
            name: row.name,
            kind: row.kind.parse().map_err(|e| {
                StoreError::Unexpected(anyhow::anyhow!("unreadable agents.kind: {e}"))
            })?,
            created_at: Timestamp::from_micros(row.created_at),
        })
    }
}

impl From<source::Model> for Source {
    fn from(row: source::Model) -> Self {
        Source {
            id: row.id.into(),
            kind: row.kind,
            title: row.title,
            url: row.url,
            created_at: Timestamp::from_micros(row.created_at),
        }
    }
}

/// An agent's display name: 1 to 200 characters, not blank, one line.
pub fn parse_agent_name(input: &str) -> Result<String, InvalidValue> {
    let name = input.trim();
    if name.is_empty() {
        return Err(InvalidValue::new("name", "is blank"));
    }
    if name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(InvalidValue::new("name", "must be one line of at most 200 characters"));
    }
    Ok(name.to_owned())
}

impl Store {
    #[tracing::instrument(skip(self))]
    pub async fn create_agent(&self, name: &str, kind: AgentKind) -> StoreResult<Agent> {
        let agent = Agent {
            id: AgentId::generate(),
            name: parse_agent_name(name)?,
            kind,
            created_at: Timestamp::now(),
        };
        agent::Entity::insert(agent::ActiveModel {
            id: Set(agent.id.as_uuid()),
            name: Set(agent.name.clone()),
            kind: Set(kind.as_str().to_owned()),
            created_at: Set(agent.created_at.micros()),
        })
        .exec_without_returning(&self.db)
        .await?;
        Ok(agent)
    }

    /// Agents with exactly this name and kind, oldest first.
    pub async fn agents_named(
        &self,
        name: &str,
        kind: Option<AgentKind>,
    ) -> StoreResult<Vec<Agent>> {
        let mut query = agent::Entity::find().filter(agent::Column::Name.eq(name.trim()));
        if let Some(kind) = kind {
            query = query.filter(agent::Column::Kind.eq(kind.as_str()));
        }
        query
            .order_by_asc(agent::Column::CreatedAt)
            .limit(50)
            .all(&self.db)
            .await?
            .into_iter()
            .map(Agent::try_from)
            .collect()
    }

    /// The one agent with this name and kind, created if there is none yet.
    pub async fn ensure_agent(&self, name: &str, kind: AgentKind) -> StoreResult<Agent> {
        match self.agents_named(name, Some(kind)).await?.into_iter().next() {
            Some(agent) => Ok(agent),
            None => self.create_agent(name, kind).await,
        }
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

    pub async fn sources_by_ids(&self, ids: &[SourceId]) -> StoreResult<Vec<Source>> {
        Ok(source::Entity::find()
            .filter(source::Column::Id.is_in(ids.iter().map(|id| id.as_uuid())))
            .all(&self.db)
            .await?
            .into_iter()
            .map(Source::from)
            .collect())
    }

    /// Issues a new token for `agent`. Only the token's SHA-256 is stored.
    #[tracing::instrument(skip(self, agent), fields(agent = %agent.id))]
    pub async fn create_token(&self, agent: Agent, role: Role) -> StoreResult<NewToken> {
        let mut secret_bytes = [0u8; 32];
        getrandom::fill(&mut secret_bytes)
            .map_err(|e| StoreError::Unexpected(anyhow::anyhow!("no randomness: {e}")))?;
        let secret = format!(
            "{TOKEN_PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret_bytes)
        );
        api_token::Entity::insert(api_token::ActiveModel {
            id: Set(uuid::Uuid::now_v7()),
            agent_id: Set(agent.id.as_uuid()),
            role: Set(role.as_str().to_owned()),
            token_sha256: Set(Sha256Hex::of(secret.as_bytes()).as_str().to_owned()),
            created_at: Set(Timestamp::now().micros()),
            revoked_at: Set(None),
        })
        .exec_without_returning(&self.db)
        .await?;
        Ok(NewToken { secret, agent, role })
    }

    /// The caller a presented token stands for, or `None` for an unknown or revoked token.
    pub async fn authenticate(&self, presented: &str) -> StoreResult<Option<Principal>> {
        if !presented.starts_with(TOKEN_PREFIX) || presented.len() > 200 {
            return Ok(None);
        }
        let digest = Sha256Hex::of(presented.as_bytes());
        let Some(token) = api_token::Entity::find()
            .filter(api_token::Column::TokenSha256.eq(digest.as_str()))
            .filter(api_token::Column::RevokedAt.is_null())
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        let role: Role = token.role.parse().map_err(|e| {
            StoreError::Unexpected(anyhow::anyhow!("unreadable api_tokens.role: {e}"))
        })?;
        let agent = self
            .agents_by_ids(&[AgentId::from(token.agent_id)])
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::Unexpected(anyhow::anyhow!("token without agent")))?;
        Ok(Some(Principal { agent, role }))
    }
}
