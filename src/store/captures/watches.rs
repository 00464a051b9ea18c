//! Watches: adding, pausing, resuming and removing them, listing them, and the claim by which
//! a capture worker takes the due ones. A claim is one conditional UPDATE that sets a lease:
//! of any number of workers, on any number of machines, only one gets a watch until it reports
//! (or its lease runs out, should it die), and on PostgreSQL the rows another worker is
//! claiming are skipped rather than waited for (`FOR UPDATE SKIP LOCKED`).

use std::time::Duration;

use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, FromQueryResult,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, SqlErr, Statement,
};

use super::{NewWatch, Watch};
use crate::entity::watch;
use crate::store::audit::{self, Actor, AuditTarget};
use crate::store::error::{Conflict, Missing, StoreError, StoreResult};
use crate::store::kinds::{AuditAction, AuditOutcome, WatchKind};
use crate::store::page::{Page, PageRequest, uuid_window};
use crate::store::values::{Timestamp, WatchId};
use crate::store::{Store, sql::placeholder};

/// Most watches one claim takes: a worker claims what it can capture at once.
pub const MAX_CLAIM: u64 = 100;

impl Store {
    /// Adds a watch for `actor`, due at once. A feed's entries are added by the capture layer
    /// with `feed` naming the feed watch that found them.
    pub async fn add_watch(
        &self,
        input: NewWatch,
        feed: Option<WatchId>,
        actor: &Actor,
    ) -> StoreResult<Watch> {
        let (_turn, tx) = self.begin_bare().await?;
        let live = watch::Entity::find()
            .filter(watch::Column::CreatedBy.eq(actor.agent.as_uuid()))
            .filter(watch::Column::RemovedAt.is_null())
            .count(&tx)
            .await?;
        let limit = self.limits.max_watches_per_agent;
        if live >= limit {
            return Err(Conflict::TooManyWatches { limit }.into());
        }
        let now = Timestamp::now();
        let id = WatchId::generate();
        let row = watch::ActiveModel {
            id: Set(id.as_uuid()),
            kind: Set(input.kind.as_str().to_owned()),
            url: Set(input.url.clone()),
            document_id: Set(None),
            slug: Set(input.slug.as_ref().map(|s| s.as_str().to_owned())),
            document_kind: Set(input.document_kind.as_str().to_owned()),
            interval_seconds: Set(input.interval.seconds()),
            obey_robots: Set(input.obey_robots),
            paused: Set(false),
            feed_id: Set(feed.map(|f| f.as_uuid())),
            created_by: Set(actor.agent.as_uuid()),
            created_at: Set(now.micros()),
            removed_at: Set(None),
            next_run_at: Set(now.micros()),
            lease_until: Set(None),
            etag: Set(None),
            last_modified: Set(None),
            last_run_at: Set(None),
            last_outcome: Set(None),
            last_status: Set(None),
            last_detail: Set(None),
            runs: Set(0),
            revisions: Set(0),
            failures: Set(0),
            seen_revision: Set(None),
            seen_digest: Set(None),
            seen_final_url: Set(None),
        };
        if let Err(err) = watch::Entity::insert(row).exec_without_returning(&tx).await {
            return Err(match err.sql_err() {
                Some(SqlErr::UniqueConstraintViolation(_)) => {
                    Conflict::AlreadyWatched(input.url).into()
                }
                _ => err.into(),
            });
        }
        let detail = format!("{} {}", input.kind, input.url);
        let target = AuditTarget::Watch(id);
        let succeeded = AuditOutcome::Succeeded;
        audit::record(&tx, Some(actor), AuditAction::AddWatch, &target, succeeded, Some(detail))
            .await?;
        let added = find(&tx, id).await?;
        self.commit_change(tx, crate::store::changes::Changed::no_document()).await?;
        Ok(added)
    }

    /// Pauses (no capture until resumed) or resumes a watch; a resumed watch is due at once.
    pub async fn set_watch_paused(
        &self,
        id: WatchId,
        paused: bool,
        actor: &Actor,
    ) -> StoreResult<Watch> {
        let action = if paused { AuditAction::PauseWatch } else { AuditAction::ResumeWatch };
        let mut update = watch::Entity::update_many()
            .col_expr(watch::Column::Paused, paused.into())
            .filter(watch::Column::Id.eq(id.as_uuid()))
            .filter(watch::Column::RemovedAt.is_null());
        if !paused {
            update = update.col_expr(watch::Column::NextRunAt, Timestamp::now().micros().into());
        }
        self.change_watch(id, action, update, actor).await
    }

    /// Makes a watch due now (it is captured by the next worker that looks).
    pub async fn capture_watch_now(&self, id: WatchId, actor: &Actor) -> StoreResult<Watch> {
        let update = watch::Entity::update_many()
            .col_expr(watch::Column::NextRunAt, Timestamp::now().micros().into())
            .filter(watch::Column::Id.eq(id.as_uuid()))
            .filter(watch::Column::RemovedAt.is_null());
        self.change_watch(id, AuditAction::CaptureWatchNow, update, actor).await
    }

    /// Removes a watch: it is never captured again, and no longer listed; its captures, and
    /// the document and revisions they wrote, stay.
    pub async fn remove_watch(&self, id: WatchId, actor: &Actor) -> StoreResult<Watch> {
        let update = watch::Entity::update_many()
            .col_expr(watch::Column::RemovedAt, Timestamp::now().micros().into())
            .filter(watch::Column::Id.eq(id.as_uuid()))
            .filter(watch::Column::RemovedAt.is_null());
        self.change_watch(id, AuditAction::RemoveWatch, update, actor).await
    }

    async fn change_watch(
        &self,
        id: WatchId,
        action: AuditAction,
        update: sea_orm::UpdateMany<watch::Entity>,
        actor: &Actor,
    ) -> StoreResult<Watch> {
        let (_turn, tx) = self.begin_bare().await?;
        // A removed watch is gone for every command: it can be neither changed nor found.
        let changed = find(&tx, id).await?;
        if update.exec(&tx).await?.rows_affected != 1 {
            return Err(Missing::Watch(id).into());
        }
        let target = AuditTarget::Watch(id);
        audit::record(&tx, Some(actor), action, &target, AuditOutcome::Succeeded, None).await?;
        let changed =
            if action == AuditAction::RemoveWatch { changed } else { find(&tx, id).await? };
        self.commit_change(tx, crate::store::changes::Changed::no_document()).await?;
        Ok(changed)
    }

    /// The live watch with this id.
    pub async fn watch(&self, id: WatchId) -> StoreResult<Option<Watch>> {
        match find(&self.db, id).await {
            Ok(watch) => Ok(Some(watch)),
            Err(StoreError::NotFound(_)) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// The live watches among `ids`, in no particular order (the loaders' read).
    pub async fn watches_by_ids(&self, ids: &[WatchId]) -> StoreResult<Vec<Watch>> {
        watch::Entity::find()
            .filter(watch::Column::Id.is_in(ids.iter().map(|id| id.as_uuid())))
            .filter(watch::Column::RemovedAt.is_null())
            .all(&self.db)
            .await?
            .into_iter()
            .map(Watch::try_from)
            .collect()
    }

    /// One page of the live watches, oldest first (by id, which is time-ordered).
    pub async fn list_watches(&self, page: PageRequest<uuid::Uuid>) -> StoreResult<Page<Watch>> {
        let live = watch::Entity::find().filter(watch::Column::RemovedAt.is_null());
        let rows = uuid_window(live, watch::Column::Id, &page).all(&self.db).await?;
        let rows = rows.into_iter().map(Watch::try_from).collect::<StoreResult<Vec<_>>>()?;
        Ok(Page::from_probe(rows, page.limit, page.direction))
    }

    pub async fn count_watches(&self) -> StoreResult<u64> {
        Ok(watch::Entity::find().filter(watch::Column::RemovedAt.is_null()).count(&self.db).await?)
    }

    /// The page watches a feed watch found, the live ones, by URL: what a feed's next capture
    /// does not add again.
    pub async fn watched_urls(&self, urls: &[String]) -> StoreResult<Vec<String>> {
        Ok(watch::Entity::find()
            .select_only()
            .column(watch::Column::Url)
            .filter(watch::Column::Kind.eq(WatchKind::Page.as_str()))
            .filter(watch::Column::Url.is_in(urls.iter().cloned()))
            .filter(watch::Column::RemovedAt.is_null())
            .into_tuple()
            .all(&self.db)
            .await?)
    }

    /// Claims up to `limit` watches due at `now` that no worker holds, for `lease`: the
    /// caller captures each and reports it (`record_capture`), which lets it go. A worker that
    /// dies lets go when the lease runs out, and the watch is claimed again.
    #[tracing::instrument(level = "debug", name = "claim_watches", skip_all)]
    pub async fn claim_due_watches(
        &self,
        now: Timestamp,
        lease: Duration,
        limit: u64,
    ) -> StoreResult<Vec<Watch>> {
        let backend = self.db.get_database_backend();
        let p = |i| placeholder(backend, i);
        let lease_until = now.micros().saturating_add(lease.as_micros() as i64);
        // SQLite has one writer at a time, so the UPDATE alone is the claim; PostgreSQL locks
        // the chosen rows, skipping those a concurrent claim holds, so no two claims meet.
        let lock =
            if backend == DatabaseBackend::Postgres { " FOR UPDATE SKIP LOCKED" } else { "" };
        let sql = format!(
            "UPDATE watches SET lease_until = {lease} WHERE id IN (SELECT id FROM watches \
             WHERE removed_at IS NULL AND paused = FALSE AND next_run_at <= {now} \
             AND (lease_until IS NULL OR lease_until < {expired}) \
             ORDER BY next_run_at LIMIT {limit}{lock}) RETURNING *",
            lease = p(1),
            now = p(2),
            // Bound again, not named twice: SQLite's `?` takes the next value, so a second
            // `?` for `now` compared leases with NULL and none ever ran out.
            expired = p(3),
            limit = limit.min(MAX_CLAIM),
        );
        let now = now.micros();
        let statement = Statement::from_sql_and_values(
            backend,
            sql,
            [lease_until.into(), now.into(), now.into()],
        );
        let tx = self.begin().await?;
        let rows = watch::Model::find_by_statement(statement).all(&tx.tx).await?;
        // Leases, which no answer scoped to documents reads.
        tx.touches_no_document();
        tx.commit().await?;
        rows.into_iter().map(Watch::try_from).collect()
    }

    /// When the next live, unpaused watch falls due (a worker sleeps until then, or until a
    /// watch is added).
    pub async fn next_watch_due(&self) -> StoreResult<Option<Timestamp>> {
        let next: Option<i64> = watch::Entity::find()
            .select_only()
            .column(watch::Column::NextRunAt)
            .filter(watch::Column::RemovedAt.is_null())
            .filter(crate::store::sql::partial_index_term("paused = FALSE"))
            .order_by_asc(watch::Column::NextRunAt)
            .into_tuple()
            .one(&self.db)
            .await?;
        Ok(next.map(Timestamp::from_micros))
    }

    /// Lets a claimed watch go uncaptured until `until` (a host that is asked too often, a
    /// worker shutting down): no capture is recorded.
    /// Only while the claim's `lease` still holds it: a worker past its lease defers nothing
    /// (another worker has the watch), and is told so.
    pub async fn defer_watch(
        &self,
        id: WatchId,
        lease: Option<Timestamp>,
        until: Timestamp,
    ) -> StoreResult<()> {
        let mut update = watch::Entity::update_many()
            .col_expr(watch::Column::NextRunAt, until.micros().into())
            .col_expr(watch::Column::LeaseUntil, Option::<i64>::None.into())
            .filter(watch::Column::Id.eq(id.as_uuid()));
        if let Some(lease) = lease {
            update = update.filter(watch::Column::LeaseUntil.eq(lease.micros()));
        }
        let _turn = self.write_turn().await?;
        if update.exec(self.primary()).await?.rows_affected == 0 && lease.is_some() {
            return Err(Conflict::LeaseLost(id).into());
        }
        Ok(())
    }
}

/// The live watch with this id, read through `conn`.
pub(super) async fn find(conn: &impl ConnectionTrait, id: WatchId) -> StoreResult<Watch> {
    watch::Entity::find_by_id(id.as_uuid())
        .filter(watch::Column::RemovedAt.is_null())
        .one(conn)
        .await?
        .ok_or(StoreError::NotFound(Missing::Watch(id)))
        .and_then(Watch::try_from)
}

/// The watch with this id, removed or not: a capture claimed before its watch was removed is
/// still recorded.
pub(super) async fn find_any(conn: &impl ConnectionTrait, id: WatchId) -> StoreResult<Watch> {
    watch::Entity::find_by_id(id.as_uuid())
        .one(conn)
        .await?
        .ok_or(StoreError::NotFound(Missing::Watch(id)))
        .and_then(Watch::try_from)
}
