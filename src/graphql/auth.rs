//! Who is calling. The HTTP layer records the presented credentials; they are checked against
//! the store only when a resolver needs the caller, so anonymous reads cost no query.

use std::sync::Arc;

use async_graphql::Context;
use tokio::sync::OnceCell;

use super::context::primary_store as store;
use super::error::{ApiError, ApiResult, ErrorCode};
use super::loaders;
use crate::store::{
    Actor, AuditAction, AuditOutcome, AuditTarget, Document, Principal, Role, Standing, Store,
    Timestamp, Viewer,
};

/// What the request presented in its `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    Anonymous,
    Bearer(String),
    /// A header that is not `Bearer <token>`.
    Malformed,
}

/// Per-request authentication state, resolved at most once per request (per event, for a
/// subscription: `refresh`).
pub struct RequestAuth {
    credentials: Credentials,
    /// The request's clock: an embargo has lifted when this is past it.
    at: std::sync::Mutex<Timestamp>,
    /// Whether the clock was set by whoever built the request (tests of embargoes), and stays.
    pinned: bool,
    principal: std::sync::RwLock<Arc<OnceCell<Option<Principal>>>>,
}

impl RequestAuth {
    pub fn new(credentials: Credentials) -> Self {
        Self::with_clock(credentials, Timestamp::now(), false)
    }

    /// A request that reads as of `at` (tests of embargoes set the clock).
    pub fn at(credentials: Credentials, at: Timestamp) -> Self {
        Self::with_clock(credentials, at, true)
    }

    fn with_clock(credentials: Credentials, at: Timestamp, pinned: bool) -> Self {
        Self {
            credentials,
            at: std::sync::Mutex::new(at),
            pinned,
            principal: std::sync::RwLock::new(Arc::new(OnceCell::new())),
        }
    }

    /// Starts a subscription's next event as a new request would: the token is checked
    /// again (a revoked one ends the subscription) and the clock reads now (an embargo that
    /// lifted meanwhile has lifted for it).
    pub fn refresh(ctx: &Context<'_>) -> ApiResult<()> {
        let auth = ctx.data::<RequestAuth>().map_err(|_| ApiError::internal())?;
        if !auth.pinned {
            *auth.at.lock().unwrap_or_else(|p| p.into_inner()) = Timestamp::now();
        }
        *auth.principal.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(OnceCell::new());
        Ok(())
    }

    fn clock(&self) -> Timestamp {
        *self.at.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What the caller may read as of the request's clock: public material, and the
    /// collections it is a member of (one read; an anonymous caller costs none). Read afresh
    /// each time: `loaders::viewer` keeps it for the run.
    pub async fn viewer(ctx: &Context<'_>) -> ApiResult<Viewer> {
        let auth = ctx.data::<RequestAuth>().map_err(|_| ApiError::internal())?;
        let store = store(ctx)?;
        let at = auth.clock();
        match auth.resolve(store).await? {
            None => Ok(Viewer::public(at)),
            Some(principal) => Ok(store.viewer_of(principal.agent.id, at).await?),
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
        let cell = self.principal.read().unwrap_or_else(|p| p.into_inner()).clone();
        let principal = cell
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

    /// The caller, `UNAUTHENTICATED` if anonymous.
    pub async fn require(ctx: &Context<'_>) -> ApiResult<Principal> {
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

    /// The caller, if `permission` allows it what it asks of `document` (a read, not
    /// audited): its token's role decides while anyone may read the document, its role in
    /// the document's collection otherwise.
    pub async fn require_in(
        ctx: &Context<'_>,
        permission: Permission,
        document: &Document,
    ) -> ApiResult<Principal> {
        let principal = Self::require(ctx).await?;
        let standing = loaders::viewer(ctx).await?.standing_for(document);
        if !standing.role(principal.role).is_some_and(|role| permission.allows(role)) {
            let message = refusal(standing, principal.role, permission);
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
        Self::authorize_as(ctx, &principal, Standing::Public, permission, action, target).await
    }

    /// As `authorize`, with the role that decides for the material at hand: the token's for
    /// what anyone may read, the caller's role in a collection for the rest
    /// (`Viewer::role_for`).
    pub async fn authorize_as(
        ctx: &Context<'_>,
        principal: &Principal,
        standing: Standing,
        permission: Permission,
        action: AuditAction,
        target: impl FnOnce() -> AuditTarget,
    ) -> ApiResult<Actor> {
        let actor = Actor {
            agent: principal.agent.id,
            token: Some(principal.token),
            request: ctx.data_opt::<RequestId>().map(|id| id.0.clone()),
        };
        if standing.role(principal.role).is_some_and(|role| permission.allows(role)) {
            return Ok(actor);
        }
        let message = refusal(standing, principal.role, permission);
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

/// How a refusal reads, by where the caller's role came from.
fn refusal(standing: Standing, token: Role, permission: Permission) -> String {
    match standing {
        Standing::Public => format!("a {token} token may not {}", permission.describe()),
        Standing::Member(role) => format!(
            "a {role} of this collection may not {} here",
            permission.describe_in_collection()
        ),
        Standing::Outsider => format!(
            "this collection's documents are not public: to {} here, one must be a member of \
             it (an admin adds members)",
            permission.describe_in_collection()
        ),
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
    /// Create collections, set their visibility and members, move documents between them and
    /// set embargoes.
    ManageCollections,
    /// Verify every document, restricted ones included.
    VerifyCorpus,
}

impl Permission {
    pub fn allows(&self, role: Role) -> bool {
        match self {
            Permission::WriteDocuments => role.may_write_documents(),
            Permission::Audit => role.may_audit(),
            Permission::ManageAgents | Permission::ManageCollections | Permission::VerifyCorpus => {
                role == Role::Admin
            }
            Permission::ReadWatches => role.may_write_documents() || role.may_audit(),
        }
    }

    fn describe(&self) -> &'static str {
        match self {
            Permission::WriteDocuments => "write documents (an editor or admin token may)",
            Permission::Audit => "audit, verify or redact (an archivist or admin token may)",
            Permission::ManageAgents => "manage agents (an admin token may)",
            Permission::ReadWatches => "list watches (an editor, archivist or admin token may)",
            Permission::ManageCollections => "manage collections (an admin token may)",
            Permission::VerifyCorpus => "verify the whole corpus (an admin token may)",
        }
    }

    fn describe_in_collection(&self) -> &'static str {
        match self {
            Permission::WriteDocuments => "write documents (an editor or admin of it may)",
            Permission::Audit => "audit, verify or redact (an archivist or admin of it may)",
            _ => self.describe(),
        }
    }
}

/// The id the transport gave the request, carried into audit events.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);
