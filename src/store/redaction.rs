//! Redaction: an archivist removes a revision's text (a legal takedown, personal data) without
//! breaking anything that proves the corpus. The text is purged — the blob's too when no
//! other unredacted revision shares it, and the words citations quote from it — and a
//! tombstone records who, when and why. The
//! header, the hashes, the chain and the transparency log stay as they were, so they still
//! verify; what needs the text says it was redacted (`StoreError::Redacted`). Nothing undoes a
//! redaction.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use std::collections::BTreeSet;

use super::audit::{self, Actor, AuditTarget};
use super::error::{Conflict, StoreError, StoreResult};
use super::kinds::{AnchorState, AuditAction, AuditOutcome};
use super::revisions::{self, Revision};
use super::texts::seal;
use super::values::{AgentId, InvalidValue, RevisionHash, Timestamp, TokenId, reject_nul};
use super::{Missing, Store};
use crate::entity::{blob, citation, redaction, revision};

/// Why a revision was redacted: said once, kept forever, shown with the revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedactionReason(String);

impl RedactionReason {
    pub const MAX_CHARS: usize = 1000;

    pub fn parse(input: &str) -> Result<Self, InvalidValue> {
        let trimmed = input.trim();
        reject_nul("reason", trimmed)?;
        if trimmed.is_empty() {
            return Err(InvalidValue::new("reason", "a redaction must say why"));
        }
        let chars = trimmed.chars().count();
        if chars > Self::MAX_CHARS {
            return Err(InvalidValue::new(
                "reason",
                format!("is {chars} characters; at most {} are kept", Self::MAX_CHARS),
            ));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The tombstone of a redacted text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redaction {
    pub revision: RevisionHash,
    pub agent: AgentId,
    pub token: Option<TokenId>,
    pub at: Timestamp,
    pub reason: String,
    /// When what it purged was erased from the database's files (`erase_pending`).
    pub erased_at: Option<Timestamp>,
}

impl From<redaction::Model> for Redaction {
    fn from(row: redaction::Model) -> Self {
        Redaction {
            revision: row.revision_hash,
            agent: row.agent_id.into(),
            token: row.token_id.map(TokenId::from),
            at: Timestamp::from_micros(row.at),
            reason: row.reason,
            erased_at: row.erased_at.map(Timestamp::from_micros),
        }
    }
}

impl Store {
    /// Redacts `hash`'s text on behalf of `actor`; returns the revision as it now reads and
    /// its tombstone. Redacting a redacted revision is a `Conflict`.
    pub async fn redact_revision(
        &self,
        hash: &RevisionHash,
        reason: RedactionReason,
        actor: &Actor,
    ) -> StoreResult<(Revision, Redaction)> {
        let target = AuditTarget::Revision(hash.clone());
        self.audited(actor, AuditAction::RedactRevision, target.clone(), async {
            let transaction = self.begin().await?;
            let tx = &transaction.tx;
            let revision = revisions::find(tx, hash)
                .await?
                .ok_or_else(|| StoreError::NotFound(Missing::Revision(hash.clone())))?;
            transaction.touches(revision.document_id);
            let at = Timestamp::now();
            // Read before it goes: quotes taken from it go with it.
            let text = super::texts::content_of(tx, &revision).await.ok();
            let marked = revision::Entity::update_many()
                .col_expr(revision::Column::Redacted, Expr::value(true))
                .filter(revision::Column::Hash.eq(hash.clone()))
                .filter(revision::Column::Redacted.eq(false))
                .exec(tx)
                .await?;
            if marked.rows_affected != 1 {
                return Err(Conflict::AlreadyRedacted(hash.clone()).into());
            }
            let tombstone = Redaction {
                revision: hash.clone(),
                agent: actor.agent,
                token: actor.token,
                at,
                reason: reason.as_str().to_owned(),
                erased_at: None,
            };
            redaction::Entity::insert(redaction::ActiveModel {
                revision_hash: Set(hash.clone()),
                agent_id: Set(actor.agent.as_uuid()),
                token_id: Set(actor.token.map(|t| t.as_uuid())),
                at: Set(at.micros()),
                reason: Set(tombstone.reason.clone()),
                erased_at: Set(None),
                erase_after: Set(super::erasure::transaction_id(tx).await?),
            })
            .exec_without_returning(tx)
            .await?;
            // The buckets whose keys must change so that what is purged cannot be opened again.
            let mut buckets = BTreeSet::new();
            if purge_unless_shared(tx, &revision, at).await? {
                buckets.insert(seal::bucket_of(revision.content_hash.hex()).to_owned());
            }
            let mut quoting = purge_quotes(tx, hash).await?;
            if let Some(text) = &text {
                quoting.extend(purge_unpinned_quotes(tx, &revision, text).await?);
            }
            buckets.extend(quoting.iter().map(|h| seal::bucket_of(h.hex()).to_owned()));
            super::erasure::rotate(tx, &buckets).await?;
            super::search::unindex_redacted(tx, revision.document_id, revision.number).await?;
            // The page a capture kept as evidence held the text too.
            let records = super::captures::erase_evidence_of(tx, hash).await?;
            let mut detail = format!("reason: {}", tombstone.reason);
            if records > 0 {
                detail.push_str(&format!("; {records} evidence records erased"));
            }
            let detail = Some(detail);
            audit::record(
                tx,
                Some(actor),
                AuditAction::RedactRevision,
                &target,
                AuditOutcome::Succeeded,
                detail,
            )
            .await?;
            transaction.commit().await?;
            self.texts.forget([&revision.content_hash]);
            match self.erase_pending().await {
                Ok(_) => {}
                Err(err) => tracing::warn!(error = %err, "cannot erase a redaction yet"),
            }
            tracing::info!(revision = %hash, "revision redacted");
            Ok((Revision { redacted: true, ..revision }, tombstone))
        })
        .await
    }

    /// The tombstones of those of `hashes` that were redacted, in one query.
    pub async fn redactions(&self, hashes: &[RevisionHash]) -> StoreResult<Vec<Redaction>> {
        Ok(redaction::Entity::find()
            .filter(redaction::Column::RevisionHash.is_in(hashes.iter().cloned()))
            .all(&self.db)
            .await?
            .into_iter()
            .map(Redaction::from)
            .collect())
    }
}

/// Empties the words citations keep from the redacted text: the passages cited in it (and
/// carried, orphaned, into later revisions) and the passages quoted from it by citations
/// pinned to it. Their positions stay, so each citation still says where it pointed.
/// Returns the citing revisions of the rows it emptied.
async fn purge_quotes(
    tx: &impl ConnectionTrait,
    hash: &RevisionHash,
) -> StoreResult<Vec<RevisionHash>> {
    use crate::entity::citation::Column as C;
    let null = || Expr::value(Option::<String>::None);
    // Later revisions carry an orphaned passage's words along without holding them: those
    // came from this text (or one before it) and go too.
    let lineages = sea_orm::sea_query::Query::select()
        .column(C::LineageId)
        .from(citation::Entity)
        .and_where(C::CitingRevisionHash.eq(hash.clone()))
        .to_owned();
    let citing = sea_orm::Condition::any().add(C::CitingRevisionHash.eq(hash.clone())).add(
        sea_orm::Condition::all()
            .add(C::Anchor.eq(AnchorState::Orphaned.as_str()))
            .add(C::LineageId.in_subquery(lineages)),
    );
    let cited = C::TargetRevisionHash.eq(hash.clone());
    let touched: Vec<RevisionHash> = citation::Entity::find()
        .select_only()
        .column(C::CitingRevisionHash)
        .distinct()
        .filter(sea_orm::Condition::any().add(citing.clone()).add(cited.clone()))
        .into_tuple()
        .all(tx)
        .await?;
    citation::Entity::update_many()
        .col_expr(C::CitingExact, null())
        .col_expr(C::CitingPrefix, null())
        .col_expr(C::CitingSuffix, null())
        .filter(citing)
        .exec(tx)
        .await?;
    citation::Entity::update_many()
        .col_expr(C::TargetExact, null())
        .col_expr(C::TargetPrefix, null())
        .col_expr(C::TargetSuffix, null())
        .filter(cited)
        .exec(tx)
        .await?;
    Ok(touched)
}

/// Citations of `revision`'s document that pin no revision, and quote words of its text that
/// the document's head no longer holds, lose their quote too: read against that revision
/// (while it was the head) they were verified, so they repeat its words. Positions stay. In
/// pages of citations, so that a much-cited document is never read whole at once.
async fn purge_unpinned_quotes(
    tx: &impl ConnectionTrait,
    revision: &Revision,
    text: &str,
) -> StoreResult<Vec<RevisionHash>> {
    use crate::entity::citation::Column as C;
    const PAGE: u64 = 500;
    let document = revision.document_id.as_uuid();
    let head = match super::documents::find(tx, revision.document_id).await? {
        Some(document) if document.head != revision.hash => {
            revisions::find(tx, &document.head).await?
        }
        _ => None,
    };
    // A redacted head holds nothing public (content_of refuses it).
    let head_text = match &head {
        Some(head) => super::texts::content_of(tx, head).await.ok(),
        None => None,
    };
    let still_public = |quote: &str| head_text.as_deref().is_some_and(|h| h.contains(quote));
    let mut after: Option<uuid::Uuid> = None;
    let mut touched = Vec::new();
    loop {
        let mut page = citation::Entity::find()
            .filter(C::TargetDocumentId.eq(document))
            .filter(C::TargetRevisionHash.is_null())
            .filter(C::TargetExact.is_not_null())
            .order_by_asc(C::Id)
            .limit(PAGE);
        if let Some(after) = after {
            page = page.filter(C::Id.gt(after));
        }
        let rows = super::citations::opened(tx, page.all(tx).await?).await?;
        let Some(last) = rows.last() else { break };
        after = Some(last.id.as_uuid());
        let quoting: Vec<uuid::Uuid> = rows
            .iter()
            .filter(|citation| {
                let exact = citation.target_passage.as_ref().and_then(|p| p.exact.as_deref());
                exact.is_some_and(|e| !e.is_empty() && text.contains(e) && !still_public(e))
            })
            .map(|citation| {
                touched.push(citation.citing_revision.clone());
                citation.id.as_uuid()
            })
            .collect();
        if !quoting.is_empty() {
            let null = || Expr::value(Option::<String>::None);
            citation::Entity::update_many()
                .col_expr(C::TargetExact, null())
                .col_expr(C::TargetPrefix, null())
                .col_expr(C::TargetSuffix, null())
                .filter(C::Id.is_in(quoting))
                .exec(tx)
                .await?;
        }
        if (rows.len() as u64) < PAGE {
            break;
        }
    }
    Ok(touched)
}

/// Empties the text of `revision`'s blob unless an unredacted revision still uses it. The row
/// stays: the header names its hash, and a revision that brings the text back refills it.
/// Whether it was purged.
async fn purge_unless_shared(
    tx: &impl ConnectionTrait,
    revision: &Revision,
    at: Timestamp,
) -> StoreResult<bool> {
    let hash = &revision.content_hash;
    // On PostgreSQL, lock the blob before asking who uses it: a revise storing the same text
    // meanwhile either finishes first (and is seen below) or waits, and then refills it.
    if tx.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        blob::Entity::find_by_id(hash.clone()).lock_exclusive().one(tx).await?;
    }
    let still_used = revision::Entity::find()
        .filter(revision::Column::ContentSha256.eq(hash.clone()))
        .filter(revision::Column::Redacted.eq(false))
        .one(tx)
        .await?
        .is_some();
    if !still_used {
        super::texts::purge(tx, hash, at.micros()).await?;
    }
    Ok(!still_used)
}
