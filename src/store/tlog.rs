//! The transparency log in storage: every revision hash is a leaf of one RFC 9162 Merkle tree,
//! appended in commit order inside the transaction that writes the revision.
//!
//! Appending takes the log's single state row first (`UPDATE log_state … RETURNING`), so
//! concurrent writers queue on it and commit in the order of the indexes they were given:
//! the log never forks and never reorders. Each append stores the complete subtrees it
//! finishes (`merkle::completed_by`, two on average), so a root or a proof reads O(log n)
//! stored nodes in one query. Signed checkpoints are kept as served (`log_checkpoints`).

use std::collections::HashMap;

use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Statement,
};

use super::Store;
use super::error::{Conflict, StoreError, StoreResult};
use super::transaction::WriteTransaction;
use super::values::{InvalidValue, RevisionHash, Timestamp};
use crate::checkpoint::LogKey;
use crate::entity::{log_checkpoint, log_node, revision};
use crate::merkle::{self, Frontier, Hash, NodeId, Span};

/// An inclusion proof (RFC 9162, 2.1.3): the hashes that lead from leaf `leaf_index` to the
/// root of the tree of `tree_size` leaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionProof {
    pub leaf_index: u64,
    pub tree_size: u64,
    pub hashes: Vec<Hash>,
}

/// A signed checkpoint of the log and what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    pub size: u64,
    pub root: Hash,
    /// The whole signed note (C2SP `tlog-checkpoint` and `signed-note`).
    pub note: String,
}

/// The leaf of a revision: the leaf hash of its hash's 32 bytes.
pub(crate) fn leaf_of(revision: &RevisionHash) -> Hash {
    merkle::leaf_hash(&revision.to_bytes())
}

/// Appends `revision` to the log inside the caller's transaction; returns its leaf index.
/// The state row stays locked until the transaction ends. `frontier` is the tree's right
/// edge as the caller last knew it: used when it is of the size the log has now, read from
/// the stored nodes otherwise, and left as it is after the append. (The span is what the
/// integrity benchmark times against a whole revise.)
#[tracing::instrument(level = "debug", name = "log_append", skip_all)]
pub(crate) async fn append(
    tx: &impl ConnectionTrait,
    frontier: &mut Option<Frontier>,
    revision: &RevisionHash,
) -> StoreResult<u64> {
    let row = tx
        .query_one_raw(Statement::from_string(
            tx.get_database_backend(),
            "UPDATE log_state SET size = size + 1 WHERE id = 1 RETURNING size",
        ))
        .await?
        .ok_or_else(|| StoreError::Unexpected(anyhow::anyhow!("the log has no state row")))?;
    let size: i64 = row.try_get("", "size")?;
    let index = (size - 1) as u64;
    let mut edge = match frontier.take() {
        Some(known) if known.size() == index => known,
        _ => read_frontier(tx, index).await?,
    };
    let leaf = leaf_of(revision);
    let completed = edge.push(leaf);
    insert_nodes(tx, completed).await?;
    *frontier = Some(edge);
    Ok(index)
}

/// Stores completed subtrees.
pub(crate) async fn insert_nodes(
    tx: &impl ConnectionTrait,
    nodes: Vec<(NodeId, Hash)>,
) -> StoreResult<()> {
    for chunk in nodes.chunks(1000) {
        log_node::Entity::insert_many(chunk.iter().map(|(id, hash)| log_node::ActiveModel {
            level: Set(id.level as i16),
            position: Set(id.position as i64),
            hash: Set(hash.to_vec()),
        }))
        .exec_without_returning(tx)
        .await?;
    }
    Ok(())
}

/// The right edge of the stored tree of `size` leaves, in one query.
pub(crate) async fn read_frontier(conn: &impl ConnectionTrait, size: u64) -> StoreResult<Frontier> {
    let ids = Frontier::ids(size);
    let found = fetch(conn, &ids).await?;
    let hashes = ids
        .iter()
        .map(|id| found.get(id).copied().ok_or_else(|| missing_node(*id)))
        .collect::<StoreResult<Vec<_>>>()?;
    Frontier::from_hashes(size, hashes)
        .ok_or_else(|| StoreError::Unexpected(anyhow::anyhow!("a malformed log frontier")))
}

impl WriteTransaction<'_> {
    /// Appends `revision` to the log in this transaction, starting from the right edge this
    /// transaction or the last one committed here left.
    pub(crate) async fn append_to_log(&self, revision: &RevisionHash) -> StoreResult<u64> {
        let mut frontier = self.take_frontier();
        let appended = append(&self.tx, &mut frontier, revision).await;
        self.keep_frontier(frontier);
        appended
    }
}

fn missing_node(id: NodeId) -> StoreError {
    StoreError::Unexpected(anyhow::anyhow!(
        "the transparency log lacks node {}/{}: verify the corpus",
        id.level,
        id.position
    ))
}

/// The stored hashes of `ids`, in one query.
async fn fetch(conn: &impl ConnectionTrait, ids: &[NodeId]) -> StoreResult<HashMap<NodeId, Hash>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut any = Condition::any();
    for id in ids {
        any = any.add(
            Condition::all()
                .add(log_node::Column::Level.eq(id.level as i16))
                .add(log_node::Column::Position.eq(id.position as i64)),
        );
    }
    let rows = log_node::Entity::find().filter(any).all(conn).await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            let hash = Hash::try_from(row.hash).ok()?;
            Some((NodeId { level: row.level as u8, position: row.position as u64 }, hash))
        })
        .collect())
}

/// The hashes of `spans`, reading every node they need in one query.
async fn span_hashes(conn: &impl ConnectionTrait, spans: &[Span]) -> StoreResult<Vec<Hash>> {
    let nodes: Vec<Vec<NodeId>> = spans.iter().map(Span::nodes).collect();
    let all: Vec<NodeId> = nodes.iter().flatten().copied().collect();
    let found = fetch(conn, &all).await?;
    nodes
        .iter()
        .map(|ids| {
            let hashes = ids
                .iter()
                .map(|id| found.get(id).copied().ok_or_else(|| missing_node(*id)))
                .collect::<StoreResult<Vec<_>>>()?;
            Span::hash(&hashes).ok_or_else(|| StoreError::Unexpected(anyhow::anyhow!("empty span")))
        })
        .collect()
}

/// The number of leaves in the log, as its state row says (verification holds it to the
/// leaves).
pub(crate) async fn stated_size(conn: &impl ConnectionTrait) -> StoreResult<i64> {
    let row = conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            "SELECT size FROM log_state WHERE id = 1",
        ))
        .await?
        .ok_or_else(|| StoreError::Unexpected(anyhow::anyhow!("the log has no state row")))?;
    Ok(row.try_get::<i64>("", "size")?)
}

pub(crate) async fn size(conn: &impl ConnectionTrait) -> StoreResult<u64> {
    let size = stated_size(conn).await?;
    u64::try_from(size).map_err(|_| {
        StoreError::Unexpected(anyhow::anyhow!("the log's size is {size}: verify the corpus"))
    })
}

impl Store {
    /// The number of revisions in the transparency log.
    pub async fn log_size(&self) -> StoreResult<u64> {
        size(&self.db).await
    }

    /// The root hash of the log when it held `size` leaves.
    pub async fn log_root(&self, size: u64) -> StoreResult<Hash> {
        if size == 0 {
            return Ok(merkle::empty_root());
        }
        Ok(span_hashes(&self.db, &[Span { start: 0, end: size }]).await?[0])
    }

    /// The inclusion proof of leaf `leaf_index` in the tree of `tree_size` leaves (the
    /// current tree when `None`).
    pub async fn inclusion_proof(
        &self,
        leaf_index: u64,
        tree_size: Option<u64>,
    ) -> StoreResult<InclusionProof> {
        let current = self.log_size().await?;
        let tree_size = tree_size.unwrap_or(current);
        if tree_size <= leaf_index || tree_size > current {
            return Err(InvalidValue::new(
                "tree size",
                format!(
                    "must be more than the leaf index {leaf_index} and at most the log's size \
                     {current}, not {tree_size}"
                ),
            )
            .into());
        }
        let hashes = span_hashes(&self.db, &merkle::inclusion_spans(leaf_index, tree_size)).await?;
        Ok(InclusionProof { leaf_index, tree_size, hashes })
    }

    /// The consistency proof (RFC 9162, 2.1.4) between the trees of `from` and `to` leaves.
    pub async fn consistency_proof(&self, from: u64, to: u64) -> StoreResult<Vec<Hash>> {
        let current = self.log_size().await?;
        if from == 0 || from > to || to > current {
            return Err(InvalidValue::new(
                "tree sizes",
                format!("need 0 < from ≤ to ≤ {current} (the log's size), not from {from} to {to}"),
            )
            .into());
        }
        span_hashes(&self.db, &merkle::consistency_spans(from, to)).await
    }

    /// Signs a checkpoint of the log as it is now with `key`, unless the last one signed is of
    /// this size already; keeps it, so that `verify` holds the log to it. A log that no longer
    /// extends the tree the last checkpoint signed is not signed again: that is tampering.
    ///
    /// Several processes may sign one log (nodes behind a load balancer) without a leader: a
    /// checkpoint of a size is the log's one tree of that size (the log is append-only rows in
    /// this database, read in the signing transaction's snapshot), Ed25519 signs it the same
    /// way every time, and a size is stored once (`on conflict do nothing`). What could fork
    /// is a second key: a process whose key does not open the newest checkpoint signs nothing
    /// (`Conflict::LogKeyDiffers`), so the log's key changes only by `take_over_log`
    /// (`serve --new-log-key`).
    pub async fn sign_checkpoint(&self, key: &LogKey) -> StoreResult<SignedCheckpoint> {
        let size = self.log_size().await?;
        let latest = self.latest_checkpoint().await?;
        if let Some(latest) = &latest {
            if key.open(&latest.note).is_err() {
                return Err(Conflict::LogKeyDiffers { size: latest.size }.into());
            }
            if latest.size == size {
                return Ok(latest.clone());
            }
            let extends = latest.size <= size && self.log_root(latest.size).await? == latest.root;
            if !extends {
                return Err(StoreError::Unexpected(anyhow::anyhow!(
                    "the log no longer extends its checkpoint of size {}: it is not signed \
                     again; verify the corpus",
                    latest.size
                )));
            }
        }
        let root = self.log_root(size).await?;
        self.keep_checkpoint(key, size, root, false).await
    }

    /// Makes `key` the log's: signs the log as it is now with it, replacing the newest
    /// checkpoint if the log has not grown since (the same tree, signed anew), so that from
    /// now on `key` signs and every other key is refused (`serve --new-log-key`).
    pub async fn take_over_log(&self, key: &LogKey) -> StoreResult<SignedCheckpoint> {
        let size = self.log_size().await?;
        let root = self.log_root(size).await?;
        if let Some(latest) = self.latest_checkpoint().await?
            && (latest.size > size || self.log_root(latest.size).await? != latest.root)
        {
            return Err(StoreError::Unexpected(anyhow::anyhow!(
                "the log no longer extends its checkpoint of size {}: no key takes it over; \
                 verify the corpus",
                latest.size
            )));
        }
        self.keep_checkpoint(key, size, root, true).await
    }

    /// Signs the tree of `size` leaves and `root` with `key` and stores the checkpoint; a
    /// checkpoint of that size already stored is kept, or with `resign` signed anew.
    async fn keep_checkpoint(
        &self,
        key: &LogKey,
        size: u64,
        root: Hash,
        resign: bool,
    ) -> StoreResult<SignedCheckpoint> {
        use sea_orm::sea_query::OnConflict;
        let note = key.sign(size, &root);
        let mut on_conflict = OnConflict::column(log_checkpoint::Column::Size);
        if resign {
            on_conflict.update_column(log_checkpoint::Column::Note);
        } else {
            on_conflict.do_nothing();
        }
        let (_turn, tx) = self.begin_bare().await?;
        log_checkpoint::Entity::insert(log_checkpoint::ActiveModel {
            size: Set(size as i64),
            root_hash: Set(root.to_vec()),
            note: Set(note.clone()),
            created_at: Set(Timestamp::now().micros()),
        })
        .on_conflict(on_conflict)
        .exec_without_returning(&tx)
        .await?;
        // Read only by answers about the log, which read everything.
        self.commit_change(tx, super::changes::Changed::no_document()).await?;
        Ok(SignedCheckpoint { size, root, note })
    }

    /// The checkpoint of the largest tree served so far.
    pub async fn latest_checkpoint(&self) -> StoreResult<Option<SignedCheckpoint>> {
        let row = log_checkpoint::Entity::find()
            .order_by_desc(log_checkpoint::Column::Size)
            .one(&self.db)
            .await?;
        Ok(row.and_then(|row| {
            Some(SignedCheckpoint {
                size: row.size as u64,
                root: Hash::try_from(row.root_hash).ok()?,
                note: row.note,
            })
        }))
    }
}

/// Appends every revision that is not in the log yet, oldest first: those written before the
/// log existed (`migrate` runs it once, with the migration that created the log).
pub(crate) async fn append_unlogged(db: &DatabaseConnection) -> StoreResult<u64> {
    let mut appended = 0;
    let mut frontier = None;
    loop {
        let tx = super::transaction::begin_write(db).await?;
        // The state row first: another process appending at the same time waits here, and
        // then finds these revisions logged.
        tx.execute_unprepared("UPDATE log_state SET size = size WHERE id = 1").await?;
        let batch: Vec<RevisionHash> = revision::Entity::find()
            .select_only()
            .column(revision::Column::Hash)
            .filter(revision::Column::LogIndex.is_null())
            .order_by_asc(revision::Column::CreatedAt)
            .order_by_asc(revision::Column::Hash)
            .limit(1000)
            .into_tuple()
            .all(&tx)
            .await?;
        if batch.is_empty() {
            return Ok(appended);
        }
        for hash in &batch {
            let index = append(&tx, &mut frontier, hash).await?;
            revision::Entity::update_many()
                .col_expr(revision::Column::LogIndex, (index as i64).into())
                .filter(revision::Column::Hash.eq(hash.clone()))
                .exec(&tx)
                .await?;
        }
        appended += batch.len() as u64;
        // Revisions' places in the log, which their answers show.
        super::changes::log(&tx, &super::changes::Changed::Everything).await?;
        tx.commit().await?;
    }
}
