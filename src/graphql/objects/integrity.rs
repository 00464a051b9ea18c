//! What archivists and outside verifiers use: the transparency log (its signed checkpoint and
//! RFC 9162 proofs), the audit log, verification reports and redaction tombstones.

use std::sync::Arc;

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

use crate::checkpoint::LogKey;
use crate::graphql::auth::{Permission, RequestAuth};
use crate::graphql::connection::AuditEventConnection;
use crate::graphql::context::{budget, store};
use crate::graphql::error::{ApiError, ApiResult};
use crate::graphql::ids::GlobalId;
use crate::graphql::kinds::{AuditAction, AuditOutcome, IntegrityProblemKind};
use crate::graphql::loaders::{load_required, viewer};
use crate::graphql::nodes::{AgentNode, AuditEventNode};
use crate::graphql::scalars::DateTime;
use crate::merkle::Hash;
use crate::store::{self, DocumentId};

/// The transparency log as it stands: every revision hash, in commit order, is a leaf of one
/// RFC 9162 Merkle tree.
#[derive(SimpleObject)]
pub struct TransparencyLog {
    /// The signed checkpoint of the tree: a C2SP tlog-checkpoint note (origin, size, base64
    /// root hash) signed as a C2SP signed note with the log's Ed25519 key.
    checkpoint: String,
    /// Leaves in the tree.
    size: u64,
    /// The tree's root hash, lowercase hex.
    root_hash: String,
    /// The log's name, the checkpoint's first line.
    origin: String,
    /// The key that verifies the checkpoint, as `name+id+key` (compare it with the one the
    /// log's operator publishes: a key served alongside the note proves nothing by itself).
    verifier_key: String,
}

/// The hashes that lead from a leaf to the root of a tree of `treeSize` leaves (RFC 9162,
/// 2.1.3), nearest the leaf first, lowercase hex.
#[derive(SimpleObject)]
pub struct InclusionProof {
    leaf_index: u64,
    tree_size: u64,
    hashes: Vec<String>,
}

/// The hashes that prove the tree of `to` leaves extends the tree of `from` leaves (RFC 9162,
/// 2.1.4), lowercase hex.
#[derive(SimpleObject)]
pub struct ConsistencyProof {
    from: u64,
    to: u64,
    hashes: Vec<String>,
}

fn hex_all(hashes: &[Hash]) -> Vec<String> {
    hashes.iter().map(hex::encode).collect()
}

impl From<store::InclusionProof> for InclusionProof {
    fn from(proof: store::InclusionProof) -> Self {
        InclusionProof {
            leaf_index: proof.leaf_index,
            tree_size: proof.tree_size,
            hashes: hex_all(&proof.hashes),
        }
    }
}

/// One thing verification found wrong.
#[derive(SimpleObject)]
pub struct IntegrityProblem {
    kind: IntegrityProblemKind,
    /// The document concerned (its global id), if one is.
    document_id: Option<ID>,
    /// The revision concerned (its hash), if one is.
    revision: Option<String>,
    /// The column or header member at fault, if one is.
    field: Option<String>,
    detail: String,
}

impl From<&store::Problem> for IntegrityProblem {
    fn from(problem: &store::Problem) -> Self {
        IntegrityProblem {
            kind: problem.kind.into(),
            document_id: problem.document.map(|id| GlobalId::Document(id).encode()),
            revision: problem.revision.as_ref().map(|h| h.to_string()),
            field: problem.field.map(str::to_owned),
            detail: problem.detail.clone(),
        }
    }
}

/// What a verification checked and found. A redacted revision is listed as such: its text is
/// gone by design, while its header, hash, chain and leaf are still checked.
pub struct IntegrityReport(pub store::Report);

#[Object]
impl IntegrityReport {
    /// True when nothing is wrong.
    async fn ok(&self) -> bool {
        self.0.is_clean()
    }

    async fn documents(&self) -> u64 {
        self.0.documents
    }

    async fn revisions(&self) -> u64 {
        self.0.revisions
    }

    /// The redacted revisions' hashes (the first 1,000).
    async fn redacted(&self) -> Vec<String> {
        self.0.redacted.iter().map(|h| h.to_string()).collect()
    }

    async fn redacted_count(&self) -> u64 {
        self.0.redacted_count
    }

    /// The problems found (the first 1,000; `problemCount` counts them all).
    async fn problems(&self) -> Vec<IntegrityProblem> {
        self.0.problems.iter().map(IntegrityProblem::from).collect()
    }

    async fn problem_count(&self) -> u64 {
        self.0.problem_count
    }
}

/// The transparency log checked against the revisions and its signed checkpoints.
pub struct LogVerification(store::LogReport);

#[Object]
impl LogVerification {
    async fn ok(&self) -> bool {
        self.0.report.is_clean()
    }

    /// Leaves in the log.
    async fn size(&self) -> u64 {
        self.0.size
    }

    /// Signed checkpoints checked, each against the tree of its size and the log's key.
    async fn checkpoints(&self) -> u64 {
        self.0.checkpoints
    }

    async fn problems(&self) -> Vec<IntegrityProblem> {
        self.0.report.problems.iter().map(IntegrityProblem::from).collect()
    }

    async fn problem_count(&self) -> u64 {
        self.0.report.problem_count
    }
}

/// A page of the corpus verified. Pass `endCursor` as `after` for the next page; ask for
/// `log` once, on any page, to check the transparency log too.
pub struct CorpusVerification {
    report: IntegrityReport,
    next: Option<DocumentId>,
}

#[Object]
impl CorpusVerification {
    async fn report(&self) -> &IntegrityReport {
        &self.report
    }

    async fn end_cursor(&self) -> Option<String> {
        self.next.map(|id| id.to_string())
    }

    async fn has_next_page(&self) -> bool {
        self.next.is_some()
    }

    /// The transparency log checked against every revision and every signed checkpoint.
    /// Costs a point per 100 leaves.
    async fn log(&self, ctx: &Context<'_>) -> ApiResult<LogVerification> {
        let key = log_key(ctx)?.verifier();
        let verified = store(ctx)?.verify_log(Some(&key), &[], budget(ctx)?, &|_| {}).await?;
        Ok(LogVerification(verified))
    }
}

/// The tombstone of a redacted revision's text.
pub struct RedactionNode(pub store::Redaction);

#[Object(name = "Redaction")]
impl RedactionNode {
    async fn redacted_at(&self) -> DateTime {
        self.0.at.into()
    }

    /// Why the text was redacted.
    async fn reason(&self) -> &str {
        &self.0.reason
    }

    /// When the text was erased from the database's files, past recovery (its dead copies
    /// and index entries made unreadable, what held them rewritten); null while the server
    /// is still waiting to do that (for transactions that may still read the old rows).
    async fn erased_at(&self) -> Option<DateTime> {
        self.0.erased_at.map(DateTime::from)
    }

    /// Who redacted it.
    async fn agent(&self, ctx: &Context<'_>) -> ApiResult<AgentNode> {
        Ok(AgentNode(load_required(ctx, self.0.agent).await?))
    }
}

#[Object(name = "AuditEvent")]
impl AuditEventNode {
    /// The event's id (a UUID, in time order).
    async fn id(&self) -> String {
        self.0.id.to_string()
    }

    async fn at(&self) -> DateTime {
        self.0.at.into()
    }

    async fn action(&self) -> AuditAction {
        self.0.action.into()
    }

    async fn outcome(&self) -> AuditOutcome {
        self.0.outcome.into()
    }

    /// The agent who acted; null for the operator at the command line.
    async fn agent(&self, ctx: &Context<'_>) -> ApiResult<Option<AgentNode>> {
        match self.0.agent {
            Some(id) => Ok(Some(AgentNode(load_required(ctx, id).await?))),
            None => Ok(None),
        }
    }

    /// The id of the token presented (never the token itself).
    async fn token_id(&self) -> Option<String> {
        self.0.token.map(|t| t.to_string())
    }

    /// What was acted on, as `kind:id` (`document:<uuid>`, `revision:<hash>`, `slug:<slug>`,
    /// `source:<uuid>`, `agent:<uuid>`, `token:<uuid>`, or `unnamed`).
    async fn target(&self) -> &str {
        &self.0.target
    }

    /// The id of the HTTP request (its `x-request-id`).
    async fn request_id(&self) -> Option<&str> {
        self.0.request.as_deref()
    }

    /// What happened, briefly: the revision written, the reason given, the refusal.
    async fn detail(&self) -> Option<&str> {
        self.0.detail.as_deref()
    }
}

/// Which audit events to list; every condition given must hold.
#[derive(InputObject, Default)]
pub struct AuditEventFilter {
    /// The acting agent (its global id or UUID).
    agent_id: Option<ID>,
    action: Option<AuditAction>,
    /// The target, as `kind:id` (see `AuditEvent.target`).
    target: Option<String>,
    /// From this instant (inclusive).
    since: Option<DateTime>,
    /// Up to this instant (exclusive).
    until: Option<DateTime>,
}

impl AuditEventFilter {
    fn parse(self) -> ApiResult<store::AuditFilter> {
        Ok(store::AuditFilter {
            agent: self.agent_id.map(|id| GlobalId::agent("filter.agentId", &id)).transpose()?,
            action: self.action.map(Into::into),
            target: self.target,
            since: self.since.map(|t| t.0),
            until: self.until.map(|t| t.0),
            viewer: None,
        })
    }
}

pub fn log_key<'a>(ctx: &'a Context<'_>) -> ApiResult<&'a LogKey> {
    ctx.data::<Arc<LogKey>>().map(|key| key.as_ref()).map_err(|_| {
        tracing::error!("schema without a log key");
        ApiError::internal()
    })
}

#[derive(Default)]
pub struct IntegrityFields;

#[Object]
impl IntegrityFields {
    /// The transparency log's latest signed checkpoint (the server signs one within a
    /// second of the log growing), with its size and root.
    async fn transparency_log(&self, ctx: &Context<'_>) -> ApiResult<TransparencyLog> {
        let key = log_key(ctx)?;
        let checkpoint = store(ctx)?
            .latest_checkpoint()
            .await?
            .ok_or_else(|| ApiError::unavailable(std::time::Duration::from_secs(1)))?;
        Ok(TransparencyLog {
            checkpoint: checkpoint.note,
            size: checkpoint.size,
            root_hash: hex::encode(checkpoint.root),
            origin: key.name().to_owned(),
            verifier_key: key.verifier_key(),
        })
    }

    /// The proof that the log's tree of `to` leaves extends its tree of `from` leaves
    /// (0 < from ≤ to ≤ the log's size).
    async fn consistency_proof(
        &self,
        ctx: &Context<'_>,
        from: u64,
        to: u64,
    ) -> ApiResult<ConsistencyProof> {
        let hashes = store(ctx)?.consistency_proof(from, to).await?;
        Ok(ConsistencyProof { from, to, hashes: hex_all(&hashes) })
    }

    /// Verifies a page of the corpus (documents in id order, 1 to 1,000 per page, 100 by
    /// default): every content and revision hash, headers against their columns, chains,
    /// heads and log leaves. Needs an admin token, as it reads restricted documents too
    /// (archivists verify what they may read with `Document.verification`); costs a point
    /// per revision and per KiB of text.
    #[graphql(complexity = 100)]
    async fn verification(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<CorpusVerification> {
        // Restricted documents included: only those who may manage every collection.
        RequestAuth::require_permission(ctx, Permission::VerifyCorpus).await?;
        let first = first.unwrap_or(100);
        if !(1..=1000).contains(&first) {
            return Err(ApiError::bad_input(format!("`first` must be 1 to 1000, not {first}")));
        }
        let after = after
            .map(|cursor| {
                DocumentId::parse(&cursor)
                    .map_err(|_| ApiError::bad_input("`after` is not a verification cursor"))
            })
            .transpose()?;
        let page = store(ctx)?.verify_documents(after, first as u64, budget(ctx)?, &|_| {}).await?;
        Ok(CorpusVerification { report: IntegrityReport(page.report), next: page.next })
    }
}

object_with_pages! {
    #[Object]
    impl IntegrityLists {}
    pages {
        /// The audit log, oldest first (`last` for the newest). Needs an archivist or admin
        /// token. An archivist is shown no event naming a document it may not read (by id,
        /// slug or revision hash) or a restricted collection it is no member of.
        audit_events(filter: Option<AuditEventFilter>) -> AuditEventConnection =
            |_root, ctx, args| {
                let principal = RequestAuth::require_permission(ctx, Permission::Audit).await?;
                let mut filter = filter.unwrap_or_default().parse()?;
                // Archivists audit what they may read; admins, everything.
                if !Permission::ManageCollections.allows(principal.role) {
                    filter.viewer = Some(viewer(ctx).await?);
                }
                AuditEventConnection::load(store(ctx)?, filter, args).await
            };
    }
}

#[derive(Default)]
pub struct IntegrityLists;
