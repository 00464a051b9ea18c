//! Agents, the API tokens they hold, and sources.

use base64::Engine;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::page::{Page, PageRequest, uuid_window};
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

/// Where a revision's text was captured from, or what a document cites outside the corpus.
/// Unknown details stay `None` (or empty): nothing is invented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub id: SourceId,
    pub kind: SourceKind,
    pub title: Option<String>,
    pub url: Option<String>,
    pub publisher: Option<String>,
    pub authors: Vec<String>,
    pub recipients: Vec<String>,
    pub published_at: Option<Timestamp>,
    pub retrieved_at: Option<Timestamp>,
    pub archive_url: Option<String>,
    pub license: Option<String>,
    pub created_at: Timestamp,
}

/// A new source, as parsed at the edge.
#[derive(Debug, Clone, Default)]
pub struct NewSource {
    pub kind: Option<SourceKind>,
    pub title: Option<String>,
    pub url: Option<String>,
    pub publisher: Option<String>,
    pub authors: Vec<String>,
    pub recipients: Vec<String>,
    pub published_at: Option<Timestamp>,
    pub retrieved_at: Option<Timestamp>,
    pub archive_url: Option<String>,
    pub license: Option<String>,
}

/// The caller behind a valid API token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub agent: Agent,
    pub role: Role,
    /// The token presented (its id, never its secret).
    pub token: TokenId,
}

/// A token just created: the secret is shown this once and never stored.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub secret: String,
    pub token: TokenInfo,
}

/// What is known of a token, without its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub id: TokenId,
    pub agent: Agent,
    pub role: Role,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

impl TokenInfo {
    /// Whether the token authenticates anyone at `now`.
    pub fn is_active(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|expiry| now < expiry)
    }
}

/// The most tokens `list_tokens` returns.
pub const MAX_LISTED_TOKENS: u64 = 10_000;

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

impl TryFrom<source::Model> for Source {
    type Error = StoreError;
    fn try_from(row: source::Model) -> StoreResult<Self> {
        let unreadable = |what: &str, e: &dyn std::fmt::Display| {
            StoreError::Unexpected(anyhow::anyhow!("unreadable sources.{what}: {e}"))
        };
        Ok(Source {
            id: row.id.into(),
            kind: row.kind.parse().map_err(|e| unreadable("kind", &e))?,
            title: row.title,
            url: row.url,
            publisher: row.publisher,
            authors: serde_json::from_str(&row.authors).map_err(|e| unreadable("authors", &e))?,
            recipients: serde_json::from_str(&row.recipients)
                .map_err(|e| unreadable("recipients", &e))?,
            published_at: row.published_at.map(Timestamp::from_micros),
            retrieved_at: row.retrieved_at.map(Timestamp::from_micros),
            archive_url: row.archive_url,
            license: row.license,
            created_at: Timestamp::from_micros(row.created_at),
        })
    }
}

/// Optional one-line text: trimmed, at most `max` characters, empty meaning absent.
fn optional_line(
    field: &'static str,
    value: Option<&str>,
    max: usize,
) -> Result<Option<String>, InvalidValue> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else { return Ok(None) };
    if value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(InvalidValue::new(
            field,
            format!("must be one line of at most {max} characters"),
        ));
    }
    Ok(Some(value.to_owned()))
}

/// An absolute http(s) URL.
fn optional_url(field: &'static str, value: Option<&str>) -> Result<Option<String>, InvalidValue> {
    let Some(url) = optional_line(field, value, 2000)? else { return Ok(None) };
    let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
    if !scheme_ok || url.contains(char::is_whitespace) || url.len() < 10 {
        return Err(InvalidValue::new(
            field,
            format!("{} is not an absolute http(s) URL", quoted(&url)),
        ));
    }
    Ok(Some(url))
}

impl NewSource {
    /// Checks every field; `kind` defaults to `other`.
    #[allow(clippy::too_many_arguments)]
    pub fn parse(
        kind: Option<SourceKind>,
        title: Option<&str>,
        url: Option<&str>,
        publisher: Option<&str>,
        authors: &[String],
        recipients: &[String],
        published_at: Option<Timestamp>,
        retrieved_at: Option<Timestamp>,
        archive_url: Option<&str>,
        license: Option<&str>,
    ) -> Result<Self, InvalidValue> {
        let names = |field: &'static str, names: &[String]| -> Result<Vec<String>, InvalidValue> {
            if names.len() > 100 {
                return Err(InvalidValue::new(field, "may list at most 100 names"));
            }
            names
                .iter()
                .map(|n| parse_agent_name(n).map_err(|e| InvalidValue::new(field, e.reason)))
                .collect()
        };
        Ok(NewSource {
            kind,
            title: optional_line("title", title, 1000)?,
            url: optional_url("url", url)?,
            publisher: optional_line("publisher", publisher, 500)?,
            authors: names("authors", authors)?,
            recipients: names("recipients", recipients)?,
            published_at,
            retrieved_at,
            archive_url: optional_url("archiveUrl", archive_url)?,
            license: optional_line("license", license, 500)?,
        })
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
        source::Entity::find()
            .filter(source::Column::Id.is_in(ids.iter().map(|id| id.as_uuid())))
            .all(&self.db)
            .await?
            .into_iter()
            .map(Source::try_from)
            .collect()
    }

    #[tracing::instrument(skip_all)]
    pub async fn create_source(&self, input: NewSource) -> StoreResult<Source> {
        let source = Source {
            id: SourceId::generate(),
            kind: input.kind.unwrap_or(SourceKind::Other),
            title: input.title,
            url: input.url,
            publisher: input.publisher,
            authors: input.authors,
            recipients: input.recipients,
            published_at: input.published_at,
            retrieved_at: input.retrieved_at,
            archive_url: input.archive_url,
            license: input.license,
            created_at: Timestamp::now(),
        };
        let to_json = |names: &Vec<String>| {
            serde_json::to_string(names).map_err(|e| StoreError::Unexpected(e.into()))
        };
        source::Entity::insert(source::ActiveModel {
            id: Set(source.id.as_uuid()),
            kind: Set(source.kind.as_str().to_owned()),
            title: Set(source.title.clone()),
            url: Set(source.url.clone()),
            created_at: Set(source.created_at.micros()),
            publisher: Set(source.publisher.clone()),
            authors: Set(to_json(&source.authors)?),
            recipients: Set(to_json(&source.recipients)?),
            published_at: Set(source.published_at.map(|t| t.micros())),
            retrieved_at: Set(source.retrieved_at.map(|t| t.micros())),
            archive_url: Set(source.archive_url.clone()),
            license: Set(source.license.clone()),
        })
        .exec_without_returning(&self.db)
        .await?;
        Ok(source)
    }

    /// One page of sources, oldest first (by id, which is time-ordered).
    pub async fn list_sources(&self, page: PageRequest<uuid::Uuid>) -> StoreResult<Page<Source>> {
        let query = uuid_window(source::Entity::find(), source::Column::Id, &page);
        let rows = query.all(&self.db).await?;
        let rows = rows.into_iter().map(Source::try_from).collect::<StoreResult<Vec<_>>>()?;
        Ok(Page::from_probe(rows, page.limit, page.direction))
    }

    pub async fn count_sources(&self) -> StoreResult<u64> {
        Ok(source::Entity::find().count(&self.db).await?)
    }

    pub async fn agent(&self, id: AgentId) -> StoreResult<Option<Agent>> {
        Ok(self.agents_by_ids(&[id]).await?.pop())
    }

    /// Issues a new token for `agent`, valid until `expires_at` if given. Only the token's
    /// SHA-256 is stored.
    #[tracing::instrument(skip(self, agent), fields(agent = %agent.id))]
    pub async fn create_token(
        &self,
        agent: Agent,
        role: Role,
        expires_at: Option<Timestamp>,
    ) -> StoreResult<NewToken> {
        let now = Timestamp::now();
        if expires_at.is_some_and(|expiry| expiry <= now) {
            return Err(InvalidValue::new("expiresAt", "is not in the future").into());
        }
        let mut secret_bytes = [0u8; 32];
        getrandom::fill(&mut secret_bytes)
            .map_err(|e| StoreError::Unexpected(anyhow::anyhow!("no randomness: {e}")))?;
        let secret = format!(
            "{TOKEN_PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret_bytes)
        );
        let token = TokenInfo {
            id: TokenId::generate(),
            agent,
            role,
            created_at: now,
            expires_at,
            revoked_at: None,
        };
        api_token::Entity::insert(api_token::ActiveModel {
            id: Set(token.id.as_uuid()),
            agent_id: Set(token.agent.id.as_uuid()),
            role: Set(role.as_str().to_owned()),
            token_sha256: Set(Sha256Hex::of(secret.as_bytes()).as_str().to_owned()),
            created_at: Set(now.micros()),
            revoked_at: Set(None),
            expires_at: Set(expires_at.map(|t| t.micros())),
        })
        .exec_without_returning(&self.db)
        .await?;
        Ok(NewToken { secret, token })
    }

    /// Every token, oldest first (at most `MAX_LISTED_TOKENS`), with its agent.
    pub async fn list_tokens(&self) -> StoreResult<Vec<TokenInfo>> {
        let rows = api_token::Entity::find()
            .order_by_asc(api_token::Column::CreatedAt)
            .limit(MAX_LISTED_TOKENS)
            .all(&self.db)
            .await?;
        self.token_infos(rows).await
    }

    /// Revokes a token: it authenticates nobody from now on. Revoking a revoked token changes
    /// nothing and is not an error.
    #[tracing::instrument(skip(self))]
    pub async fn revoke_token(&self, id: TokenId) -> StoreResult<TokenInfo> {
        use sea_orm::sea_query::Expr;
        api_token::Entity::update_many()
            .col_expr(api_token::Column::RevokedAt, Expr::value(Timestamp::now().micros()))
            .filter(api_token::Column::Id.eq(id.as_uuid()))
            .filter(api_token::Column::RevokedAt.is_null())
            .exec(&self.db)
            .await?;
        let row = api_token::Entity::find_by_id(id.as_uuid())
            .one(&self.db)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("token {id}")))?;
        Ok(self.token_infos(vec![row]).await?.remove(0))
    }

    async fn token_infos(&self, rows: Vec<api_token::Model>) -> StoreResult<Vec<TokenInfo>> {
        let agent_ids: Vec<AgentId> = rows.iter().map(|r| AgentId::from(r.agent_id)).collect();
        let agents = self.agents_by_ids(&agent_ids).await?;
        rows.into_iter()
            .map(|row| {
                let agent =
                    agents.iter().find(|a| a.id.as_uuid() == row.agent_id).cloned().ok_or_else(
                        || StoreError::Unexpected(anyhow::anyhow!("token without agent")),
                    )?;
                Ok(TokenInfo {
                    id: row.id.into(),
                    agent,
                    role: row.role.parse().map_err(|e| {
                        StoreError::Unexpected(anyhow::anyhow!("unreadable api_tokens.role: {e}"))
                    })?,
                    created_at: Timestamp::from_micros(row.created_at),
                    expires_at: row.expires_at.map(Timestamp::from_micros),
                    revoked_at: row.revoked_at.map(Timestamp::from_micros),
                })
            })
            .collect()
    }

    /// The caller a presented token stands for, or `None` for an unknown, revoked or expired
    /// token.
    pub async fn authenticate(&self, presented: &str) -> StoreResult<Option<Principal>> {
        if !presented.starts_with(TOKEN_PREFIX) || presented.len() > 200 {
            return Ok(None);
        }
        let digest = Sha256Hex::of(presented.as_bytes());
        let now = Timestamp::now().micros();
        let Some(token) = api_token::Entity::find()
            .filter(api_token::Column::TokenSha256.eq(digest.as_str()))
            .filter(api_token::Column::RevokedAt.is_null())
            .filter(
                sea_orm::Condition::any()
                    .add(api_token::Column::ExpiresAt.is_null())
                    .add(api_token::Column::ExpiresAt.gt(now)),
            )
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
        Ok(Some(Principal { agent, role, token: token.id.into() }))
    }
}
