//! Who is calling. The HTTP layer records the presented credentials; they are checked against
//! the store only when a resolver needs the caller, so anonymous reads cost no query.

use async_graphql::Context;
use tokio::sync::OnceCell;

use super::context::store;
use super::error::{ApiError, ApiResult, ErrorCode};
use crate::store::{
    Actor, AuditAction, AuditOutcome, AuditTarget, Principal, Role, Store, Timestamp, Viewer,
};

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
    /// The request's clock: an embargo has lifted when this is past it.
    at: Timestamp,
    principal: OnceCell<Option<Principal>>,
}

impl RequestAuth {
    pub fn new(credentials: Credentials) -> Self {
        Self::at(credentials, Timestamp::now())
    }

    /// A request that reads as of `at` (tests of embargoes set the clock).
    pub fn at(credentials: Credentials, at: Timestamp) -> Self {
        Self { credentials, at, principal: OnceCell::new() }
    }

    /// What the caller may read as of the request's clock: public material, and the
    /// collections it is a member of (one read; an anonymous caller costs none). Read afresh
    /// each time: `loaders::viewer` keeps it for the run.
    pub async fn viewer(ctx: &Context<'_>) -> ApiResult<Viewer> {
        let auth = ctx.data::<RequestAuth>().map_err(|_| ApiError::internal())?;
        let store = store(ctx)?;
        match auth.resolve(store).await? {
            None => Ok(Viewer::public(auth.at)),
            Some(principal) => Ok(store.viewer_of(principal.agent.id, auth.at).await?),
        }
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

    /// The caller, if `permission` allows what they ask to read (reads are not audited).
    pub async fn require_permission(
        ctx: &Context<'_>,
        permission: Permission,
    ) -> ApiResult<Principal> {
        let principal = Self::require(ctx).await?;
        if !permission.allows(principal.role) {
            let message = format!("a {} token may not {}", principal.role, permission.describe());
            return Err(ApiError::new(ErrorCode::Forbidden, message));
        }
        Ok(principal)
    }

    /// The caller as the store records an actor, if `permission` lets them do `action`. A
    /// refusal for the caller's role is recorded in the audit log, naming `target` (a
    /// closure, because the input is parsed only once the caller may act).
    pub async fn authorize(
        ctx: &Context<'_>,
        permission: Permission,
        action: AuditAction,
        target: impl FnOnce() -> AuditTarget,
    ) -> ApiResult<Actor> {
        let principal = Self::require(ctx).await?;
        let actor = Actor {
            agent: principal.agent.id,
            token: Some(principal.token),
            request: ctx.data_opt::<RequestId>().map(|id| id.0.clone()),
        };
        if permission.allows(principal.role) {
            return Ok(actor);
        }
        let message = format!("a {} token may not {}", principal.role, permission.describe());
        let recorded = store(ctx)?
            .record_refusal(&actor, action, &target(), AuditOutcome::Forbidden, message.clone())
            .await;
        // The caller still learns why it was refused; the lost event is for the operator.
        if let Err(err) = recorded {
            tracing::error!(error = %err, "cannot record a refused write in the audit log");
        }
        Err(ApiError::new(ErrorCode::Forbidden, message))
    }
}

/// What a command needs the caller's role to allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    WriteDocuments,
    /// Read the audit log, verify, redact.
    Audit,
    ManageAgents,
    /// List the watches (an editor, archivist or admin may).
    ReadWatches,
}

impl Permission {
    pub fn allows(&self, role: Role) -> bool {
        match self {
            Permission::WriteDocuments => role.may_write_documents(),
            Permission::Audit => role.may_audit(),
            Permission::ManageAgents => role == Role::Admin,
            Permission::ReadWatches => role.may_write_documents() || role.may_audit(),
        }
    }

    fn describe(&self) -> &'static str {
        match self {
            Permission::WriteDocuments => "write documents (an editor or admin token may)",
            Permission::Audit => "audit, verify or redact (an archivist or admin token may)",
            Permission::ManageAgents => "manage agents (an admin token may)",
            Permission::ReadWatches => "list watches (an editor, archivist or admin token may)",
        }
    }
}

/// The id the transport gave the request, carried into audit events.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);
