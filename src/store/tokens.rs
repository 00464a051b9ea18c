//! API tokens: only each token's SHA-256 is stored, the token itself is shown once at
//! creation. A token may expire, and can be revoked; either way it then authenticates nobody.

use base64::Engine;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::agents::Agent;
use super::audit::{self, AuditTarget};
use super::error::{StoreError, StoreResult, corrupt};
use super::kinds::{AuditAction, AuditOutcome, Role};
use super::values::{AgentId, InvalidValue, Sha256Hex, Timestamp, TokenId};
use super::{Missing, Store};
use crate::entity::api_token;

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

/// Token commands run at the command line, by the operator: their events have no actor.
const SUCCEEDED: AuditOutcome = AuditOutcome::Succeeded;

impl Store {
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
        let (_turn, tx) = self.begin_bare().await?;
        api_token::Entity::insert(api_token::ActiveModel {
            id: Set(token.id.as_uuid()),
            agent_id: Set(token.agent.id.as_uuid()),
            role: Set(role.as_str().to_owned()),
            token_sha256: Set(Sha256Hex::of(secret.as_bytes()).as_str().to_owned()),
            created_at: Set(now.micros()),
            revoked_at: Set(None),
            expires_at: Set(expires_at.map(|t| t.micros())),
        })
        .exec_without_returning(&tx)
        .await?;
        let detail = format!("{} token for agent {}", role, token.agent.id);
        let target = AuditTarget::Token(token.id);
        audit::record(&tx, None, AuditAction::CreateToken, &target, SUCCEEDED, Some(detail))
            .await?;
        self.commit_change(tx, super::changes::Changed::no_document()).await?;
        Ok(NewToken { secret, token })
    }

    /// Tokens, oldest first, at most `MAX_LISTED_TOKENS`: the active ones, or every one with
    /// `include_inactive` (revoked and expired too).
    pub async fn list_tokens(&self, include_inactive: bool) -> StoreResult<Vec<TokenInfo>> {
        use api_token::Column as C;
        let mut query = api_token::Entity::find();
        if !include_inactive {
            let now = Timestamp::now().micros();
            query = query.filter(C::RevokedAt.is_null()).filter(
                sea_orm::Condition::any().add(C::ExpiresAt.is_null()).add(C::ExpiresAt.gt(now)),
            );
        }
        let rows = query.order_by_asc(C::CreatedAt).limit(MAX_LISTED_TOKENS).all(&self.db).await?;
        self.token_infos(rows).await
    }

    /// Revokes a token: it authenticates nobody from now on. Revoking a revoked token changes
    /// nothing and is not an error.
    #[tracing::instrument(skip(self))]
    pub async fn revoke_token(&self, id: TokenId) -> StoreResult<TokenInfo> {
        use sea_orm::sea_query::Expr;
        let (_turn, tx) = self.begin_bare().await?;
        let revoked = api_token::Entity::update_many()
            .col_expr(api_token::Column::RevokedAt, Expr::value(Timestamp::now().micros()))
            .filter(api_token::Column::Id.eq(id.as_uuid()))
            .filter(api_token::Column::RevokedAt.is_null())
            .exec(&tx)
            .await?;
        if revoked.rows_affected == 1 {
            let target = AuditTarget::Token(id);
            audit::record(&tx, None, AuditAction::RevokeToken, &target, SUCCEEDED, None).await?;
        }
        self.commit_change(tx, super::changes::Changed::no_document()).await?;
        let row = api_token::Entity::find_by_id(id.as_uuid())
            .one(&self.db)
            .await?
            .ok_or(StoreError::NotFound(Missing::Token(id)))?;
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
                    role: row.role.parse().map_err(|e| corrupt("api_tokens.role", e))?,
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
        // A SQLite file removed under the server: a connection opened now would make an empty
        // database at its path and fail on it unclassified, so say `Unavailable` first.
        self.check_file()?;
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
        let role: Role = token.role.parse().map_err(|e| corrupt("api_tokens.role", e))?;
        let agent = self
            .agents_by_ids(&[AgentId::from(token.agent_id)])
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::Unexpected(anyhow::anyhow!("token without agent")))?;
        Ok(Some(Principal { agent, role, token: token.id.into() }))
    }
}
