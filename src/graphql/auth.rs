//! Who is calling. The HTTP layer records the presented credentials; they are checked against
//! the store only when a resolver needs the caller, so anonymous reads cost no query.

use async_graphql::Context;
use tokio::sync::OnceCell;

use super::context::store;
use super::error::{ApiError, ApiResult, ErrorCode};
use crate::store::{Principal, Store};

/// What the request presented in its `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    Anonymous,
    Bearer(String),
    /// A header that is not `Bearer <token>`.
    Malformed,
}

/// Per-request authentication state, resolved at most once.
pub struct RequestAuth {
    credentials: Credentials,
    principal: OnceCell<Option<Principal>>,
}

impl RequestAuth {
    pub fn new(credentials: Credentials) -> Self {
        Self { credentials, principal: OnceCell::new() }
    }

    /// The caller, `None` if anonymous; `UNAUTHENTICATED` if the credentials are bad.
    pub async fn principal(ctx: &Context<'_>) -> ApiResult<Option<Principal>> {
        let auth = ctx.data::<RequestAuth>().map_err(|_| ApiError::internal())?;
        auth.resolve(store(ctx)?).await
    }

    /// The caller, checked against `store` on the first call and remembered for the rest of
    /// the request.
    pub async fn resolve(&self, store: &Store) -> ApiResult<Option<Principal>> {
        let token = match &self.credentials {
            Credentials::Anonymous => return Ok(None),
            Credentials::Malformed => {
                return Err(ApiError::new(
                    ErrorCode::Unauthenticated,
                    "the Authorization header must be `Bearer <token>`",
                ));
            }
            Credentials::Bearer(token) => token,
        };
        let principal = self
            .principal
            .get_or_try_init(|| async { store.authenticate(token).await.map_err(ApiError::from) })
            .await?;
        match principal {
            Some(principal) => Ok(Some(principal.clone())),
            None => Err(ApiError::new(
                ErrorCode::Unauthenticated,
                "the token is unknown, revoked or expired",
            )),
        }
    }

    async fn require(ctx: &Context<'_>) -> ApiResult<Principal> {
        Self::principal(ctx).await?.ok_or_else(|| {
            ApiError::new(
                ErrorCode::Unauthenticated,
                "this operation needs an API token: send `Authorization: Bearer <token>`",
            )
        })
    }

    /// The caller, who must be authenticated and may write documents.
    pub async fn require_editor(ctx: &Context<'_>) -> ApiResult<Principal> {
        let principal = Self::require(ctx).await?;
        if !principal.role.may_write_documents() {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                format!("a {} token may not write documents", principal.role),
            ));
        }
        Ok(principal)
    }

    /// The caller, who must hold an admin token.
    pub async fn require_admin(ctx: &Context<'_>) -> ApiResult<Principal> {
        let principal = Self::require(ctx).await?;
        if principal.role != crate::store::Role::Admin {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                format!("only an admin token may do this, not a {} token", principal.role),
            ));
        }
        Ok(principal)
    }
}
