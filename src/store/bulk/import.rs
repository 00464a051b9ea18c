//! Writing an import batch: one transaction that keeps every invariant a single write keeps.

use std::collections::{HashMap, HashSet};

use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    Statement,
};

use crate::entity::{agent, collection, document, revision, source};
use crate::merkle::Frontier;
use crate::store::Store;
use crate::store::access::public_from;
use crate::store::audit::{self, AuditTarget};
use crate::store::error::{StoreError, StoreResult, corrupt};
use crate::store::kinds::{AuditAction, AuditOutcome, Visibility};
use crate::store::live::RevisionEvent;
use crate::store::search::Indexed;
use crate::store::sql::ROWS_PER_STATEMENT;
use crate::store::values::{
    CollectionId, ContentHash, DocumentId, InvalidValue, RevisionHash, Timestamp,
};

use super::{HistoryEnd, ImportAgent, ImportBatch, ImportRevision, SealedImport, history_ends_in};

/// The visibility of each collection the batch's revisions place a document in, in one query.
async fn visibilities(
    tx: &impl ConnectionTrait,
    revisions: &[SealedImport],
) -> StoreResult<HashMap<CollectionId, Visibility>> {
    let ids: HashSet<CollectionId> = revisions
        .iter()
        .map(SealedImport::revision)
        .filter(|r| r.number == 1)
        .map(|r| r.placement.collection)
        .collect();
    let rows = collection::Entity::find()
        .filter(collection::Column::Id.is_in(ids.iter().map(|id| id.as_uuid())))
        .all(tx)
        .await?;
    rows.into_iter()
        .map(|row| {
            let visibility =
                row.visibility.parse().map_err(|e| corrupt("collections.visibility", e))?;
            Ok((CollectionId::from(row.id), visibility))
        })
        .collect()
}

/// A bulk import's hold on the search indexes (`Store::pause_index_merges`), given back by
/// `Store::resume_index_merges` (or `finish_bulk`). On SQLite, batches written under it leave
/// their new paragraphs out of the heads' index; on PostgreSQL the word indexes are dropped.
#[derive(Debug)]
#[must_use = "the search indexes are made whole again only once resumed"]
pub struct IndexesPaused {
    /// On SQLite, the largest passage id the heads' index may hold as written: the last given
    /// when the import paused it, or when a `migrate` meanwhile built it whole (the import's
    /// own paragraphs above it are not in it, a server's written beside it may be).
    heads_since: std::sync::atomic::AtomicI64,
}

impl Store {
    /// Writes `batch` in one transaction, by the operator at the command line. Each revision
    /// must extend its document's head as stored (or as the batch left it), or create its
    /// document as number 1; otherwise nothing of the batch is written. Under `paused`, on
    /// SQLite, the batch's new paragraphs stay out of the heads' search index (searches of the
    /// heads find them once the import resumes the indexes); those it closes leave it.
    pub async fn import_batch(
        &self,
        batch: ImportBatch,
        paused: Option<&IndexesPaused>,
    ) -> StoreResult<()> {
        let (_turn, tx) = self.begin_bare().await?;
        insert_agents(&tx, &batch.agents).await?;
        insert_sources(&tx, &batch.sources).await?;

        let mut touched: Vec<DocumentId> = Vec::new();
        let mut seen = HashSet::new();
        for revision in batch.revisions.iter().map(SealedImport::revision) {
            if seen.insert(revision.document) {
                touched.push(revision.document);
            }
        }
        let mut ends = history_ends_in(&tx, &touched).await?;
        let visibilities = visibilities(&tx, &batch.revisions).await?;
        let stored: HashMap<DocumentId, RevisionHash> =
            ends.iter().map(|(id, end)| (*id, end.head.clone())).collect();

        let mut documents = Vec::new();
        let mut blobs: HashMap<ContentHash, String> = HashMap::new();
        let mut rows = Vec::with_capacity(batch.revisions.len());
        let mut hashes = Vec::with_capacity(batch.revisions.len());
        let mut announced = Vec::with_capacity(batch.revisions.len());
        let mut first_of: HashMap<DocumentId, i64> = HashMap::new();
        // What the search index needs of each revision; the texts are in `blobs`.
        let mut to_index = Vec::with_capacity(batch.revisions.len());
        // Each revision's parent's text and its own, oldest first: what may become deltas.
        let mut successions: Vec<(ContentHash, ContentHash)> = Vec::new();
        for sealed in batch.revisions {
            let SealedImport { revision: imported, content_hash, row, hash, paragraph_keys } =
                sealed;
            let expected = ends.get(&imported.document);
            check_extends(&imported, expected)?;
            let older = expected.map(|end| end.content.clone());
            let previous = expected.map(|end| end.head.clone());
            if expected.is_none() {
                let placement = imported.placement;
                let visibility =
                    visibilities.get(&placement.collection).copied().ok_or_else(|| {
                        InvalidValue::new(
                            "collection",
                            format!("collection {} is not stored", placement.collection),
                        )
                    })?;
                // Its head and update time are set once the batch's last revision of it is.
                documents.push((
                    imported.document,
                    document::ActiveModel {
                        id: Set(imported.document.as_uuid()),
                        slug: Set(imported.slug.as_str().to_owned()),
                        kind: Set(imported.kind.as_str().to_owned()),
                        head_hash: Set(RevisionHash::unset()),
                        created_at: Set(imported.created_at.micros()),
                        updated_at: Set(imported.created_at.micros()),
                        collection_id: Set(placement.collection.as_uuid()),
                        publish_at: Set(placement.publish_at.map(|at| at.micros())),
                        public_from: Set(public_from(visibility, placement.publish_at)),
                    },
                ));
            }
            first_of.entry(imported.document).or_insert(imported.number);
            ends.insert(
                imported.document,
                HistoryEnd {
                    slug: imported.slug.as_str().to_owned(),
                    head: hash.clone(),
                    content: content_hash.clone(),
                    number: imported.number,
                    created_at: imported.created_at,
                },
            );
            to_index.push((
                imported.document,
                imported.number,
                imported.title,
                content_hash.clone(),
                paragraph_keys,
            ));
            announced.push(RevisionEvent {
                document: imported.document,
                number: imported.number,
                hash: hash.clone(),
                previous,
            });
            hashes.push(hash);
            rows.push(row);
            if let Some(older) = older {
                successions.push((older, content_hash.clone()));
            }
            // Moved, not copied: a batch's texts are its size.
            blobs.insert(content_hash, imported.content);
        }

        let documents: Vec<document::ActiveModel> = documents
            .into_iter()
            .map(|(id, mut row)| {
                if let Some(end) = ends.get(&id) {
                    row.head_hash = Set(end.head.clone());
                    row.updated_at = Set(end.created_at.micros());
                }
                row
            })
            .collect();
        for chunk in in_chunks(documents) {
            let inserted = document::Entity::insert_many(chunk).exec_without_returning(&tx).await;
            if let Err(err) = inserted {
                return Err(match err.sql_err() {
                    Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => StoreError::Unexpected(
                        anyhow::anyhow!("a slug of this batch is taken by another document"),
                    ),
                    _ => err.into(),
                });
            }
        }
        let indexed: Vec<Indexed<'_>> = to_index
            .iter()
            .map(|(document, number, title, content, keys)| Indexed {
                document: *document,
                number: *number,
                title: title.as_str(),
                content: blobs.get(content).map(String::as_str),
                keys: keys.as_deref(),
            })
            .collect();
        let heads = match paused {
            Some(paused) => {
                use std::sync::atomic::Ordering::Relaxed;
                if self.backend() == sea_orm::DatabaseBackend::Sqlite {
                    // A `migrate` meanwhile (a server started) built the heads' index whole and
                    // let it merge: what it holds now reaches further, and an import that
                    // stops after this batch must leave it to be built again.
                    if crate::store::search::merging(&tx).await? {
                        let since = crate::store::search::last_passage_id(&tx).await?;
                        paused.heads_since.store(since, Relaxed);
                        crate::store::search::set_merging(&tx, false).await?;
                    }
                }
                let since = paused.heads_since.load(Relaxed);
                crate::store::search::HeadsIndex::Deferred { since }
            }
            None => crate::store::search::HeadsIndex::AsWritten,
        };
        crate::store::search::index_revisions(&tx, &indexed, heads).await?;
        drop(indexed);
        crate::store::texts::store_many(&tx, blobs, &successions).await?;

        let (first_index, edge) = append_many(&tx, self, &hashes).await?;
        for (offset, row) in rows.iter_mut().enumerate() {
            row.log_index = Set(Some((first_index + offset as u64) as i64));
        }
        for chunk in in_chunks(rows) {
            revision::Entity::insert_many(chunk).exec_without_returning(&tx).await?;
        }

        // Heads of the stored documents this batch extended move by compare-and-swap, as a
        // revise's does, in one statement per chunk; one audit event per document.
        let mut moves = Vec::new();
        let mut events = Vec::with_capacity(touched.len());
        for id in &touched {
            let Some(end) = ends.get(id) else { continue };
            if let Some(was) = stored.get(id) {
                moves.push((*id, was.clone(), end.head.clone(), end.created_at));
            }
            let first = first_of.get(id).copied().unwrap_or(end.number);
            events.push(audit::event_row(
                None,
                AuditAction::ImportRevisions,
                &AuditTarget::Document(*id),
                AuditOutcome::Succeeded,
                Some(format!("revisions {first} to {} imported; head {}", end.number, end.head)),
            ));
        }
        for chunk in moves.chunks(ROWS_PER_STATEMENT / 4) {
            move_heads(&tx, chunk).await?;
        }
        for chunk in in_chunks(events) {
            crate::entity::audit_event::Entity::insert_many(chunk)
                .exec_without_returning(&tx)
                .await?;
        }
        crate::store::live::announce(&tx, &announced).await?;
        // Documents made, heads moved and records shared: logged as a change to anything.
        self.commit_change(tx, crate::store::changes::Changed::Everything).await?;
        *self.log_frontier.lock().unwrap_or_else(|e| e.into_inner()) = Some(edge);
        self.published(announced);
        Ok(())
    }

    /// For an import of at least as many revisions as the store holds (`incoming`), stops
    /// keeping the search indexes as each batch is written, to build them once at its end
    /// (`resume_index_merges`). On SQLite the indexes stop merging their segments (merging as
    /// it went rewrote the growing index again and again, a fifth of the reference corpus's
    /// import) and batches leave the heads' index alone. On PostgreSQL the word (GIN) indexes
    /// are dropped, unless a reader holds the table past the lock timeout: searches meanwhile
    /// read the table without them. `None` when nothing was paused. A store left so by an
    /// import that did not end is made whole at its next `migrate`.
    pub async fn pause_index_merges(&self, incoming: u64) -> StoreResult<Option<IndexesPaused>> {
        if incoming < revision::Entity::find().count(&self.db).await?.max(1) {
            return Ok(None);
        }
        if self.backend() == sea_orm::DatabaseBackend::Postgres {
            let dropped = crate::store::search::drop_word_indexes(&self.db).await?;
            return Ok(dropped.then_some(IndexesPaused { heads_since: 0.into() }));
        }
        let (_turn, tx) = self.begin_bare().await?;
        crate::store::search::set_merging(&tx, false).await?;
        let heads_since = crate::store::search::last_passage_id(&tx).await?;
        // What searches find is unchanged.
        self.commit_change(tx, crate::store::changes::Changed::no_document()).await?;
        Ok(Some(IndexesPaused { heads_since: heads_since.into() }))
    }

    /// After `pause_index_merges`: on SQLite builds the heads' search index, merges each search
    /// index into one segment and lets writes merge them again; on PostgreSQL builds the word
    /// indexes again.
    pub async fn resume_index_merges(&self, paused: IndexesPaused) -> StoreResult<()> {
        let IndexesPaused { heads_since: _ } = paused;
        if self.backend() == sea_orm::DatabaseBackend::Postgres {
            return match crate::store::search::build_word_indexes(&self.db).await? {
                Ok(_) => Ok(()),
                Err(why) => Err(StoreError::Unexpected(anyhow::anyhow!(
                    "the search's word indexes were not built ({why}): searches find the same, \
                     more slowly, until `palimpsest migrate` builds them"
                ))),
            };
        }
        let (_turn, tx) = self.begin_bare().await?;
        crate::store::search::resume_indexing(&tx).await?;
        // The heads' searches find what the import wrote.
        self.commit_change(tx, crate::store::changes::Changed::no_document()).await
    }

    /// After a bulk import of `written` revisions that ended: the search indexes made whole
    /// again (`resume_index_merges`, when `paused`) and the database compacted
    /// (`compact_after_bulk`), in the order each backend wants: SQLite compacts what the
    /// indexes' merge left behind; PostgreSQL builds its GIN indexes on the rewritten tables,
    /// where built first the rewrite would build them a second time. True if it compacted.
    pub async fn finish_bulk(
        &self,
        paused: Option<IndexesPaused>,
        written: u64,
    ) -> StoreResult<bool> {
        if self.backend() == sea_orm::DatabaseBackend::Postgres {
            let compacted = self.compact_after_bulk(written).await;
            if let Some(paused) = paused {
                self.resume_index_merges(paused).await?;
            }
            return compacted;
        }
        if let Some(paused) = paused {
            self.resume_index_merges(paused).await?;
        }
        self.compact_after_bulk(written).await
    }

    /// After a bulk write of `written` revisions: compacts the database (`upkeep::compact`)
    /// when they are at least half of all it holds. Imported in time order, every batch
    /// rewrites the texts the one before left whole as deltas, which leaves pages half empty
    /// (and on PostgreSQL the search index's pending lists); on a store that grew mostly by
    /// this import, compacting once is cheap beside the import. True if it compacted.
    pub async fn compact_after_bulk(&self, written: u64) -> StoreResult<bool> {
        if written == 0 {
            return Ok(false);
        }
        let total = revision::Entity::find().count(&self.db).await?;
        if written * 2 < total {
            return Ok(false);
        }
        crate::store::upkeep::compact(&self.db).await.map_err(StoreError::Unexpected)?;
        Ok(true)
    }
}

/// Moves each document's head from `was` to `head` (and its update time to `at`) in one
/// statement; fails unless every one of them still had `was`.
async fn move_heads(
    tx: &impl ConnectionTrait,
    moves: &[(DocumentId, RevisionHash, RevisionHash, Timestamp)],
) -> StoreResult<()> {
    if moves.is_empty() {
        return Ok(());
    }
    let backend = tx.get_database_backend();
    let mut values = Vec::with_capacity(moves.len() * 4);
    let mut rows = Vec::with_capacity(moves.len());
    for (i, (id, was, head, at)) in moves.iter().enumerate() {
        let n = i * 4;
        rows.push(match backend {
            sea_orm::DatabaseBackend::Postgres => format!(
                "(${}::uuid, ${}::bytea, ${}::bytea, ${}::bigint)",
                n + 1,
                n + 2,
                n + 3,
                n + 4
            ),
            _ => "(?, ?, ?, ?)".to_owned(),
        });
        values.push(sea_orm::Value::from(id.as_uuid()));
        values.push(sea_orm::Value::from(was));
        values.push(sea_orm::Value::from(head));
        values.push(sea_orm::Value::from(at.micros()));
    }
    let sql = format!(
        // VALUES names its columns column1.. on both databases.
        "UPDATE documents SET head_hash = moves.column3, updated_at = moves.column4 \
         FROM (VALUES {}) AS moves \
         WHERE documents.id = moves.column1 AND documents.head_hash = moves.column2",
        rows.join(", ")
    );
    let moved = tx.execute_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
    if moved.rows_affected() != moves.len() as u64 {
        return Err(StoreError::Unexpected(anyhow::anyhow!(
            "a head this import extends moved during it ({} of {} still in place)",
            moved.rows_affected(),
            moves.len()
        )));
    }
    Ok(())
}

/// `rows` in statements' worth, moved rather than copied.
fn in_chunks<T>(rows: Vec<T>) -> impl Iterator<Item = Vec<T>> {
    let mut rows = rows.into_iter();
    std::iter::from_fn(move || {
        let chunk: Vec<T> = rows.by_ref().take(ROWS_PER_STATEMENT).collect();
        (!chunk.is_empty()).then_some(chunk)
    })
}

/// Whether `imported` may follow `end` (the document's head, `None` for a new document).
fn check_extends(imported: &ImportRevision, end: Option<&HistoryEnd>) -> StoreResult<()> {
    match end {
        None if imported.number == 1 && imported.parent.is_none() => Ok(()),
        None => Err(InvalidValue::new(
            "parent",
            format!(
                "revision {} of document {} has no stored parent to follow",
                imported.number, imported.document
            ),
        )
        .into()),
        Some(end) => {
            if imported.parent.as_ref() != Some(&end.head) || imported.number != end.number + 1 {
                return Err(InvalidValue::new(
                    "parent",
                    format!(
                        "revision {} of document {} does not follow its head, revision {} ({})",
                        imported.number, imported.document, end.number, end.head
                    ),
                )
                .into());
            }
            if imported.created_at <= end.created_at {
                return Err(InvalidValue::new(
                    "created_at",
                    format!(
                        "{} is not after its parent's time {}",
                        imported.created_at, end.created_at
                    ),
                )
                .into());
            }
            Ok(())
        }
    }
}

async fn insert_agents(conn: &impl ConnectionTrait, agents: &[ImportAgent]) -> StoreResult<()> {
    for chunk in agents.chunks(ROWS_PER_STATEMENT) {
        agent::Entity::insert_many(chunk.iter().map(|a| agent::ActiveModel {
            id: Set(a.id.as_uuid()),
            name: Set(a.name.as_str().to_owned()),
            kind: Set(a.kind.as_str().to_owned()),
            created_at: Set(a.created_at.micros()),
        }))
        .on_conflict_do_nothing_on([agent::Column::Id])
        .exec_without_returning(conn)
        .await?;
    }
    Ok(())
}

async fn insert_sources(
    conn: &impl ConnectionTrait,
    sources: &[crate::store::sources::Source],
) -> StoreResult<()> {
    for chunk in sources.chunks(ROWS_PER_STATEMENT) {
        let rows = chunk.iter().map(crate::store::sources::row).collect::<StoreResult<Vec<_>>>()?;
        source::Entity::insert_many(rows)
            .on_conflict_do_nothing_on([source::Column::Id])
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}

/// Appends `hashes` to the log in order, in one update of its state and one insert of the
/// subtrees they complete; returns the first one's leaf index and the log's new right edge,
/// which the store keeps once the transaction commits.
async fn append_many(
    tx: &impl ConnectionTrait,
    store: &Store,
    hashes: &[RevisionHash],
) -> StoreResult<(u64, Frontier)> {
    let row = tx
        .query_one_raw(Statement::from_string(
            tx.get_database_backend(),
            format!(
                "UPDATE log_state SET size = size + {} WHERE id = 1 RETURNING size",
                hashes.len()
            ),
        ))
        .await?
        .ok_or_else(|| StoreError::Unexpected(anyhow::anyhow!("the log has no state row")))?;
    let size: i64 = row.try_get("", "size")?;
    let first = size as u64 - hashes.len() as u64;
    let known = store.log_frontier.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let mut edge: Frontier = match known {
        Some(known) if known.size() == first => known,
        _ => crate::store::tlog::read_frontier(tx, first).await?,
    };
    let mut nodes = Vec::new();
    for hash in hashes {
        nodes.extend(edge.push(crate::store::tlog::leaf_of(hash)));
    }
    crate::store::tlog::insert_nodes(tx, nodes).await?;
    Ok((first, edge))
}
