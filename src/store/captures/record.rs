//! Recording a capture: in one transaction, the revision it wrote (through the same
//! `create_document`/`revise_document` as every write: hash chain, log, search, events) or the
//! sighting of the head it saw again, the capture row, its evidence, the watch's state and the
//! audit event. And the reads of what captures recorded: a revision's capture and sightings.

use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    sea_query::{Expr, ExprTrait},
};

use tracing::Instrument;

use super::watches::find_any;
use super::{
    Capture, CaptureFor, CaptureHead, CaptureReport, Found, PageText, SeenBytes, evidence,
};
use crate::entity::{capture, watch};
use crate::store::audit::{self, Actor, AuditTarget};
use crate::store::documents::Document;
use crate::store::error::{Conflict, StoreResult};
use crate::store::kinds::{AuditAction, AuditOutcome, CaptureOutcome, DocumentKind};
use crate::store::revisions::{self, Revision};
use crate::store::transaction::WriteTransaction;
use crate::store::values::{CaptureId, ContentHash, DocumentId, Message, Slug, Timestamp, WatchId};
use crate::store::writes::Placement;
use crate::store::writes::{CreateDocument, ReviseDocument};
use crate::store::{Store, captures::slug_for_url};

/// How many `-N` suffixes a derived slug tries before the capture gives up on a free one.
const SLUG_TRIES: usize = 20;

/// What recording a capture did.
#[derive(Debug, Clone)]
pub struct CaptureRecorded {
    pub capture: Capture,
    pub document: Option<Document>,
    /// The revision written, or the head seen again.
    pub revision: Option<Revision>,
}

/// What a capture keeps: its outcome, why, the document and the revision it wrote or saw,
/// and the evidence kept with a revision.
struct Kept {
    outcome: CaptureOutcome,
    detail: Option<String>,
    document: Option<Document>,
    revision: Option<Revision>,
    evidence: Vec<super::EvidenceRecord>,
}

impl Kept {
    fn nothing(outcome: CaptureOutcome, detail: String, document: Option<Document>) -> Self {
        Kept { outcome, detail: Some(detail), document, revision: None, evidence: Vec::new() }
    }

    fn seen(outcome: CaptureOutcome, document: Document, revision: Revision) -> Self {
        let (document, revision) = (Some(document), Some(revision));
        Kept { outcome, detail: None, document, revision, evidence: Vec::new() }
    }
}

/// The watch's fields a capture for it reads: its document, slug and kind, and its interval.
struct Target {
    watch: Option<WatchId>,
    document: Option<DocumentId>,
    slug: Option<Slug>,
    /// Whether the slug was chosen (a document with it is the one to revise) or derived from
    /// the URL (one with it is someone else's: a suffix is added).
    slug_chosen: bool,
    kind: DocumentKind,
    next_run_at: Option<Timestamp>,
}

impl Store {
    /// Records what a capture found, for `actor` (the capture agent). A `Conflict` (someone
    /// revised the document between the read and the write) writes nothing; the caller may
    /// record the same report again, which compares with the new head.
    #[tracing::instrument(level = "debug", name = "record_capture", skip_all)]
    pub async fn record_capture(
        &self,
        report: CaptureReport,
        actor: &Actor,
    ) -> StoreResult<CaptureRecorded> {
        let tx = self.begin().await?;
        let recorded = tx.record_capture(report, actor).await?;
        tx.commit().await?;
        Ok(recorded)
    }
}

impl Store {
    /// Records several captures' reports in one transaction, each alone: one that fails (a
    /// conflict, say) is undone and answered with its error, and the others land. Captures
    /// made at once share the cost of a transaction (on SQLite, one writer's turn).
    #[tracing::instrument(level = "debug", name = "record_captures", skip_all)]
    pub async fn record_captures(
        &self,
        reports: Vec<(CaptureReport, Actor)>,
    ) -> StoreResult<Vec<StoreResult<CaptureRecorded>>> {
        let tx = self.begin().await?;
        let mut recorded = Vec::with_capacity(reports.len());
        for (report, actor) in reports {
            let point = tx.savepoint().await?;
            match tx.record_capture(report, &actor).await {
                Ok(done) => {
                    tx.release(point).await?;
                    recorded.push(Ok(done));
                }
                Err(err) => {
                    tx.roll_back_to(point).await?;
                    recorded.push(Err(err));
                }
            }
        }
        tx.commit().await?;
        Ok(recorded)
    }
}

impl WriteTransaction<'_> {
    pub async fn record_capture(
        &self,
        report: CaptureReport,
        actor: &Actor,
    ) -> StoreResult<CaptureRecorded> {
        if let CaptureFor::Watch { watch, lease: Some(lease) } = &report.target {
            hold_lease(&self.tx, *watch, *lease).await?;
        }
        let (target, document) =
            resolve(&self.tx, &report.target, &report.url, report.fetched_at).await?;
        let id = CaptureId::generate();
        // What the response's bytes were, even when no evidence is kept: the next capture
        // that receives the same need not read them again.
        let received = match &report.found {
            Found::Page(page) => Some(page.payload_digest.clone()),
            Found::Same { payload_digest, .. } => Some(payload_digest.clone()),
            _ => None,
        };
        let kept = match report.found {
            Found::Page(page) => {
                self.page(&report.url, &target, document, *page, actor)
                    .instrument(tracing::debug_span!("capture_page"))
                    .await?
            }
            Found::NotModified => match document {
                Some(document) => {
                    let head = revisions::required(&self.tx, &document.head).await?;
                    Kept::seen(CaptureOutcome::NotModified, document, head)
                }
                None => {
                    let detail = "304 Not Modified, but no copy of the page is kept".to_owned();
                    Kept::nothing(CaptureOutcome::Failed, detail, None)
                }
            },
            Found::Same { revision, .. } => match document {
                Some(document) if document.head == revision => {
                    let head = revisions::required(&self.tx, &document.head).await?;
                    Kept::seen(CaptureOutcome::Unchanged, document, head)
                }
                _ => return Err(Conflict::EvidenceNeeded.into()),
            },
            Found::Nothing { outcome, detail } => Kept::nothing(outcome, detail, document),
            Found::Feed { detail } => Kept::nothing(CaptureOutcome::FeedRead, detail, None),
        };
        let Kept { outcome, detail, document, revision, evidence } = kept;
        // Its sighting or its revision (a new document said so as it was made).
        match &document {
            Some(document) => self.touches(document.id),
            None => self.touches_no_document(),
        }
        let (request_record, response_record) = (
            evidence.iter().find(|r| r.kind == super::EvidenceKind::Request).map(|r| r.id),
            evidence.iter().find(|r| r.kind != super::EvidenceKind::Request).map(|r| r.id),
        );
        let payload_digest = match outcome.saw_text() {
            true => evidence.iter().find_map(|r| r.payload_digest.clone()).or(received),
            false => None,
        };
        evidence::insert(&self.tx, id, &evidence)
            .instrument(tracing::debug_span!("capture_keep_evidence"))
            .await?;
        let capture = Capture {
            id,
            watch: target.watch,
            document: document.as_ref().map(|d| d.id),
            url: report.url.clone(),
            final_url: report.final_url,
            status: report.status,
            fetched_at: report.fetched_at,
            outcome,
            detail,
            revision: revision.as_ref().map(|r| r.hash.clone()),
            payload_digest,
            request_record,
            response_record,
            agent: actor.agent,
        };
        capture::Entity::insert(row(&capture)).exec_without_returning(&self.tx).await?;
        if let Some(watch) = target.watch {
            let keep_validators = matches!(
                outcome,
                CaptureOutcome::Created
                    | CaptureOutcome::Revised
                    | CaptureOutcome::Unchanged
                    | CaptureOutcome::FeedRead
            );
            self.update_watch(
                watch,
                &capture,
                target.next_run_at,
                keep_validators.then_some(&report.validators),
            )
            .await?;
        }
        let audit_target = match (&capture.document, target.watch) {
            (Some(document), _) => AuditTarget::Document(*document),
            (None, Some(watch)) => AuditTarget::Watch(watch),
            (None, None) => AuditTarget::Url(capture.url.clone()),
        };
        let audit_outcome =
            if outcome.is_failure() { AuditOutcome::Failed } else { AuditOutcome::Succeeded };
        let mut audit_detail = format!("{outcome} {}", capture.url);
        if let Some(status) = capture.status {
            audit_detail.push_str(&format!(" (HTTP {status})"));
        }
        if let Some(revision) = &capture.revision {
            audit_detail.push_str(&format!(": revision {revision}"));
        }
        if let Some(detail) = &capture.detail {
            audit_detail.push_str(&format!(": {detail}"));
        }
        audit::record(
            &self.tx,
            Some(actor),
            AuditAction::CapturePage,
            &audit_target,
            audit_outcome,
            Some(audit_detail),
        )
        .await?;
        Ok(CaptureRecorded { capture, document, revision })
    }
}

/// The claim's fence, before the capture writes anything: the watch must still carry the
/// lease its claim set (a lease that ran out and was claimed again carries another), and on
/// PostgreSQL the row stays locked until the capture commits, so no claim (which skips locked
/// rows) takes it meanwhile. SQLite has one writer at a time.
async fn hold_lease(conn: &impl ConnectionTrait, id: WatchId, lease: Timestamp) -> StoreResult<()> {
    let held = watch::Entity::update_many()
        .col_expr(watch::Column::LeaseUntil, Expr::col(watch::Column::LeaseUntil))
        .filter(watch::Column::Id.eq(id.as_uuid()))
        .filter(watch::Column::LeaseUntil.eq(lease.micros()))
        .exec(conn)
        .await?;
    if held.rows_affected == 0 {
        return Err(Conflict::LeaseLost(id).into());
    }
    Ok(())
}

/// What a capture is for, and the document it writes (if it exists yet), read through `conn`.
async fn resolve(
    conn: &impl ConnectionTrait,
    target: &CaptureFor,
    url: &str,
    fetched_at: Timestamp,
) -> StoreResult<(Target, Option<Document>)> {
    let target = target_of(conn, target, url, fetched_at).await?;
    let document = match (target.document, &target.slug) {
        (Some(id), _) => crate::store::documents::find(conn, id).await?,
        (None, Some(slug)) if target.slug_chosen => {
            crate::store::documents::find_by_slug(conn, slug).await?
        }
        _ => None,
    };
    Ok((target, document))
}

async fn target_of(
    conn: &impl ConnectionTrait,
    target: &CaptureFor,
    url: &str,
    fetched_at: Timestamp,
) -> StoreResult<Target> {
    Ok(match target {
        CaptureFor::Watch { watch: id, .. } => {
            let watch = find_any(conn, *id).await?;
            let next = fetched_at.micros() + watch.interval.seconds() * 1_000_000;
            Target {
                watch: Some(watch.id),
                document: watch.document,
                slug_chosen: watch.slug.is_some(),
                slug: watch.slug.or_else(|| Some(slug_for_url(&watch.url))),
                kind: watch.document_kind,
                next_run_at: Some(Timestamp::from_micros(next)),
            }
        }
        CaptureFor::Once { slug, kind } => Target {
            watch: None,
            // Captured once before without a slug: the same document again.
            document: match slug {
                Some(_) => None,
                None => capture::Entity::find()
                    .filter(capture::Column::Url.eq(url))
                    .filter(capture::Column::DocumentId.is_not_null())
                    .order_by_desc(capture::Column::FetchedAt)
                    .one(conn)
                    .await?
                    .and_then(|c| c.document_id.map(DocumentId::from)),
            },
            slug_chosen: slug.is_some(),
            slug: slug.clone().or_else(|| Some(slug_for_url(url))),
            kind: *kind,
            next_run_at: None,
        },
    })
}

impl Store {
    /// The head of the document a capture for `target` of `url` would revise, if there is
    /// one yet: what the capture layer compares a page with before it builds the evidence
    /// that only a revision keeps.
    pub async fn capture_head(
        &self,
        target: &CaptureFor,
        url: &str,
    ) -> StoreResult<Option<CaptureHead>> {
        let Some(document) = resolve(&self.db, target, url, Timestamp::now()).await?.1 else {
            return Ok(None);
        };
        let revision = revisions::required(&self.db, &document.head).await?;
        let latest = capture::Entity::find()
            .filter(capture::Column::RevisionHash.eq(revision.hash.clone()))
            .filter(capture::Column::PayloadDigest.is_not_null())
            .order_by_desc(capture::Column::FetchedAt)
            .one(&self.db)
            .await?;
        let seen = latest.and_then(|capture| {
            Some(SeenBytes {
                revision: revision.hash.clone(),
                payload_digest: capture.payload_digest?,
                final_url: capture.final_url,
            })
        });
        Ok(Some(CaptureHead { revision, seen }))
    }
}

impl WriteTransaction<'_> {
    /// A page's text: a sighting of the head when its title and text are the head's, else a
    /// revision (and a document, the first time).
    async fn page(
        &self,
        url: &str,
        target: &Target,
        document: Option<Document>,
        page: PageText,
        actor: &Actor,
    ) -> StoreResult<Kept> {
        let message = Message::parse(&format!("Captured from {url}"))?;
        if let Some(document) = document {
            let head = revisions::required(&self.tx, &document.head).await?;
            if head.title == page.title.as_str() && head.content_hash == ContentHash::of(&page.text)
            {
                return Ok(Kept::seen(CaptureOutcome::Unchanged, document, head));
            }
            require_evidence(&page)?;
            let source = self.create_source(page.source, actor).await?;
            let written = self
                .revise_document(
                    ReviseDocument {
                        document: document.id,
                        expected_head: head.hash,
                        content: page.text,
                        title: Some(page.title),
                        message,
                        source: Some(source.id),
                    },
                    actor,
                )
                .await?;
            return Ok(Kept {
                outcome: CaptureOutcome::Revised,
                detail: None,
                document: Some(written.document),
                revision: Some(written.revision),
                evidence: page.evidence,
            });
        }
        require_evidence(&page)?;
        let slug = self.free_slug(target).await?;
        let source = self.create_source(page.source, actor).await?;
        let written = self
            .create_document(
                CreateDocument {
                    slug,
                    kind: target.kind,
                    title: page.title,
                    content: page.text,
                    message,
                    source: Some(source.id),
                    placement: Placement::PUBLIC,
                },
                actor,
            )
            .await?;
        Ok(Kept {
            outcome: CaptureOutcome::Created,
            detail: None,
            document: Some(written.document),
            revision: Some(written.revision),
            evidence: page.evidence,
        })
    }

    /// The slug a page's new document gets: the target's, or when that one was derived and is
    /// taken, the first free `-2`, `-3`, ... after it.
    async fn free_slug(&self, target: &Target) -> StoreResult<Slug> {
        let base = target.slug.clone().expect("a target always has a slug or a document");
        if target.slug_chosen || self.document_by_slug(&base).await?.is_none() {
            return Ok(base);
        }
        for n in 2..=SLUG_TRIES {
            let candidate = Slug::parse(&format!("{base}-{n}"))?;
            if self.document_by_slug(&candidate).await?.is_none() {
                return Ok(candidate);
            }
        }
        Err(Conflict::SlugTaken(base).into())
    }

    async fn update_watch(
        &self,
        id: WatchId,
        capture: &Capture,
        next_run_at: Option<Timestamp>,
        validators: Option<&super::Validators>,
    ) -> StoreResult<()> {
        let outcome = capture.outcome;
        let failed = outcome.is_failure();
        let mut update = watch::Entity::update_many()
            .col_expr(watch::Column::LeaseUntil, Option::<i64>::None.into())
            .col_expr(watch::Column::LastRunAt, capture.fetched_at.micros().into())
            .col_expr(watch::Column::LastOutcome, outcome.as_str().into())
            .col_expr(watch::Column::LastStatus, capture.status.map(i32::from).into())
            .col_expr(watch::Column::LastDetail, capture.detail.clone().into())
            .col_expr(watch::Column::Runs, Expr::col(watch::Column::Runs).add(Expr::val(1)))
            .col_expr(
                watch::Column::Revisions,
                Expr::col(watch::Column::Revisions)
                    .add(Expr::val(i64::from(outcome.wrote_revision()))),
            )
            .col_expr(
                watch::Column::Failures,
                Expr::col(watch::Column::Failures).add(Expr::val(i64::from(failed))),
            )
            .filter(watch::Column::Id.eq(id.as_uuid()));
        if let Some(next) = next_run_at {
            update = update.col_expr(watch::Column::NextRunAt, next.micros().into());
        }
        if let (true, Some(revision), Some(digest)) =
            (outcome.saw_text(), &capture.revision, &capture.payload_digest)
        {
            update = update
                .col_expr(watch::Column::SeenRevision, Some(revision.clone()).into())
                .col_expr(watch::Column::SeenDigest, Some(digest.clone()).into())
                .col_expr(watch::Column::SeenFinalUrl, capture.final_url.clone().into());
        }
        if let Some(document) = capture.document {
            update = update.col_expr(watch::Column::DocumentId, Some(document.as_uuid()).into());
        }
        if let Some(validators) = validators {
            update = update
                .col_expr(watch::Column::Etag, validators.etag.clone().into())
                .col_expr(watch::Column::LastModified, validators.last_modified.clone().into());
        }
        update.exec(&self.tx).await?;
        Ok(())
    }
}

/// A revision from a capture keeps its evidence: a page the capture layer found unchanged
/// comes without it, and is refused should it turn out to change the document after all (its
/// head moved in between); the capture layer builds the evidence and records it again.
fn require_evidence(page: &PageText) -> StoreResult<()> {
    match page.evidence.is_empty() {
        true => Err(Conflict::EvidenceNeeded.into()),
        false => Ok(()),
    }
}

pub(super) fn row(capture: &Capture) -> capture::ActiveModel {
    capture::ActiveModel {
        id: Set(capture.id.as_uuid()),
        watch_id: Set(capture.watch.map(|w| w.as_uuid())),
        document_id: Set(capture.document.map(|d| d.as_uuid())),
        url: Set(capture.url.clone()),
        final_url: Set(capture.final_url.clone()),
        status: Set(capture.status.map(i32::from)),
        fetched_at: Set(capture.fetched_at.micros()),
        outcome: Set(capture.outcome.as_str().to_owned()),
        detail: Set(capture.detail.clone()),
        revision_hash: Set(capture.revision.clone()),
        payload_digest: Set(capture.payload_digest.clone()),
        request_record: Set(capture.request_record),
        response_record: Set(capture.response_record),
        agent_id: Set(capture.agent.as_uuid()),
    }
}
