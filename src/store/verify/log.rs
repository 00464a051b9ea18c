//! Verification of the transparency log: every leaf recomputed from its revision, every stored
//! subtree recomputed from the leaves, and every signed checkpoint (those the server kept, and
//! any an outsider holds) held to the tree it names and to the key that signed it. A log
//! rewritten, reordered or cut short disagrees with a checkpoint signed before.

use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::read::{self, unsigned};
use super::{Problem, Report};
use crate::budget::Budget;
use crate::checkpoint::{Checkpoint, VerifierKey};
use crate::entity::{log_checkpoint, log_node, revision};
use crate::merkle::{self, Hash, Span, node_hash};
use crate::store::error::{StoreError, StoreResult};
use crate::store::kinds::ProblemKind;
use crate::store::values::RevisionHash;
use crate::store::{Store, tlog};

/// Rows read at a time.
const PAGE: u64 = 50_000;

/// What the log's verification checked and found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogReport {
    /// Leaves in the log.
    pub size: u64,
    /// Signed checkpoints checked (kept by the server, and held by the caller).
    pub checkpoints: u64,
    /// Whether checkpoints' signatures were checked (a key was given).
    pub signatures_checked: bool,
    pub report: Report,
}

fn problem(kind: ProblemKind, revision: Option<RevisionHash>, detail: String) -> Problem {
    Problem { kind, document: None, revision, field: None, detail }
}

impl Store {
    /// Verifies the transparency log against the revisions, and its checkpoints (those kept
    /// here and those in `held`, already opened by the caller) against the tree and, when
    /// given, the verifier key. Reads one snapshot; costs a point per 100 leaves, drawn from
    /// `budget` before anything is read.
    pub async fn verify_log(
        &self,
        key: Option<&VerifierKey>,
        held: &[Checkpoint],
        budget: &Budget,
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> StoreResult<LogReport> {
        let snapshot = read::snapshot(&self.db).await?;
        let mut report = Report::default();
        let size = stored_size(&snapshot, &mut report).await?;
        budget
            .draw(1 + size / 100)
            .map_err(|cause| StoreError::OverBudget { what: "log verification", cause })?;
        let leaves = expected_leaves(&snapshot, size, &mut report, progress).await?;
        report.revisions = leaves.iter().filter(|l| l.is_some()).count() as u64;
        let levels = check_nodes(&snapshot, leaves, &mut report).await?;
        let checkpoints = check_checkpoints(&snapshot, &levels, key, held, &mut report).await?;
        snapshot.commit().await?;
        Ok(LogReport { size, checkpoints, signatures_checked: key.is_some(), report })
    }
}

/// The log's size: what its state says, held to the leaves and indexes actually stored (and
/// never trusted to size an allocation by itself).
async fn stored_size(conn: &impl ConnectionTrait, report: &mut Report) -> StoreResult<u64> {
    let stated = tlog::stated_size(conn).await?;
    let claimed: Option<Option<i64>> = revision::Entity::find()
        .select_only()
        .expr(Func::max(Expr::col(revision::Column::LogIndex)))
        .into_tuple()
        .one(conn)
        .await?;
    let leaves: Option<Option<i64>> = log_node::Entity::find()
        .select_only()
        .expr(Func::max(Expr::col(log_node::Column::Position)))
        .filter(log_node::Column::Level.eq(0))
        .into_tuple()
        .one(conn)
        .await?;
    let count = |max: Option<Option<i64>>| max.flatten().map_or(0, |m| unsigned(m) + 1);
    let stored = std::cmp::max(count(claimed), count(leaves));
    if u64::try_from(stated).ok() != Some(stored) {
        report.add(problem(
            ProblemKind::LogSize,
            None,
            format!("the log's state says {stated} leaves; {stored} are stored"),
        ));
    }
    Ok(stored)
}

/// The leaf each position should hold, from the revisions that claim it.
async fn expected_leaves(
    conn: &impl ConnectionTrait,
    size: u64,
    report: &mut Report,
    progress: &(dyn Fn(u64) + Send + Sync),
) -> StoreResult<Vec<Option<Hash>>> {
    let mut leaves = vec![None; size as usize];
    let mut after = i64::MIN;
    loop {
        let rows: Vec<(i64, RevisionHash)> = revision::Entity::find()
            .select_only()
            .columns([revision::Column::LogIndex, revision::Column::Hash])
            .filter(revision::Column::LogIndex.gt(after))
            // A revision whose hash is not 32 bytes has no leaf to give (the corpus's
            // verification names it): its place reads as a leaf of no revision.
            .filter(super::read::hash_well_formed())
            .order_by_asc(revision::Column::LogIndex)
            .limit(PAGE)
            .into_tuple()
            .all(conn)
            .await?;
        let Some((last, _)) = rows.last() else { break };
        after = *last;
        progress(rows.len() as u64);
        for (index, hash) in rows {
            match usize::try_from(index).ok().and_then(|i| leaves.get_mut(i)) {
                Some(slot) => *slot = Some(tlog::leaf_of(&hash)),
                None => report.add(problem(
                    ProblemKind::LogSize,
                    Some(hash),
                    format!("the revision claims leaf {index}, outside the log"),
                )),
            }
        }
    }
    for (index, leaf) in leaves.iter().enumerate() {
        if leaf.is_none() {
            report.add(problem(
                ProblemKind::LogLeaf,
                None,
                format!("leaf {index} belongs to no revision (a revision was removed)"),
            ));
        }
    }
    Ok(leaves)
}

/// Compares every stored subtree with the one the leaves make; returns the recomputed
/// levels (level 0: the leaves), with `None` where a leaf is unknown.
async fn check_nodes(
    conn: &impl ConnectionTrait,
    leaves: Vec<Option<Hash>>,
    report: &mut Report,
) -> StoreResult<Vec<Vec<Option<Hash>>>> {
    let mut levels = vec![leaves];
    while let Some(below) = levels.last().filter(|l| l.len() > 1) {
        let above = below
            .chunks_exact(2)
            .map(|pair| match (pair[0], pair[1]) {
                (Some(left), Some(right)) => Some(node_hash(&left, &right)),
                _ => None,
            })
            .collect();
        levels.push(above);
    }
    let mut seen: Vec<u64> = vec![0; levels.len()];
    let mut wrong_leaves = Vec::new();
    let mut after: Option<(i16, i64)> = None;
    loop {
        let mut query = log_node::Entity::find();
        if let Some((level, position)) = after {
            // A row value, so that the primary key serves the walk.
            let key = Expr::tuple([
                Expr::col(log_node::Column::Level),
                Expr::col(log_node::Column::Position),
            ]);
            query = query.filter(key.gt(Expr::tuple([Expr::val(level), Expr::val(position)])));
        }
        let rows = query
            .order_by_asc(log_node::Column::Level)
            .order_by_asc(log_node::Column::Position)
            .limit(PAGE)
            .all(conn)
            .await?;
        let Some(last) = rows.last() else { break };
        after = Some((last.level, last.position));
        for row in rows {
            let place = usize::try_from(row.level).ok().zip(usize::try_from(row.position).ok());
            let expected = place.and_then(|(level, position)| levels.get(level)?.get(position));
            match expected {
                None => report.add(problem(
                    ProblemKind::LogSize,
                    None,
                    format!("node {}/{} lies outside the log", row.level, row.position),
                )),
                Some(expected) => {
                    seen[row.level as usize] += 1;
                    if expected.is_some_and(|h| h.as_slice() != row.hash.as_slice()) {
                        if row.level == 0 {
                            wrong_leaves.push(row.position);
                        } else {
                            report.add(problem(
                                ProblemKind::LogNode,
                                None,
                                format!(
                                    "node {}/{} differs from the recomputed one",
                                    row.level, row.position
                                ),
                            ));
                        }
                    }
                }
            }
        }
    }
    for position in wrong_leaves {
        // Named by the revision whose leaf it should be.
        let owner: Option<RevisionHash> = revision::Entity::find()
            .select_only()
            .column(revision::Column::Hash)
            .filter(revision::Column::LogIndex.eq(position))
            .filter(super::read::hash_well_formed())
            .into_tuple()
            .one(conn)
            .await?;
        report.add(problem(
            ProblemKind::LogLeaf,
            owner,
            format!("leaf {position} is not its revision's"),
        ));
    }
    for (level, nodes) in levels.iter().enumerate() {
        if seen[level] < nodes.len() as u64 {
            report.add(problem(
                ProblemKind::LogNode,
                None,
                format!(
                    "{} of the {} nodes of level {level} are missing",
                    nodes.len() as u64 - seen[level],
                    nodes.len()
                ),
            ));
        }
    }
    Ok(levels)
}

/// Holds every checkpoint kept here, and those held by the caller, to its signature and to
/// the recomputed tree.
async fn check_checkpoints(
    conn: &impl ConnectionTrait,
    levels: &[Vec<Option<Hash>>],
    key: Option<&VerifierKey>,
    held: &[Checkpoint],
    report: &mut Report,
) -> StoreResult<u64> {
    let size = levels.first().map_or(0, |leaves| leaves.len() as u64);
    let against_tree = |signed: u64, root: &[u8], whose: &str, report: &mut Report| {
        let claim = |detail: String| {
            problem(ProblemKind::Checkpoint, None, format!("{whose} of size {signed}: {detail}"))
        };
        if signed > size {
            report.add(claim(format!("the log holds only {size} leaves: it was cut short")));
        } else if root_of(levels, signed).is_some_and(|r| r[..] != *root) {
            report.add(claim(
                "the tree of that size now has another root: the log was rewritten".into(),
            ));
        }
    };
    let mut checked = 0;
    for checkpoint in held {
        checked += 1;
        against_tree(checkpoint.size, &checkpoint.root, "the checkpoint held", report);
    }
    let mut after = -1i64;
    loop {
        let rows = log_checkpoint::Entity::find()
            .filter(log_checkpoint::Column::Size.gt(after))
            .order_by_asc(log_checkpoint::Column::Size)
            .limit(1000)
            .all(conn)
            .await?;
        let Some(last) = rows.last() else { break };
        after = last.size;
        for row in rows {
            checked += 1;
            let signed = unsigned(row.size);
            if let Some(key) = key {
                let detail = match key.open(&row.note) {
                    Err(err) => Some((ProblemKind::CheckpointSignature, err.to_string())),
                    Ok(opened) if opened.size != signed || opened.root[..] != row.root_hash => {
                        Some((ProblemKind::Checkpoint, "the note and its row disagree".to_owned()))
                    }
                    Ok(_) => None,
                };
                if let Some((kind, detail)) = detail {
                    let whose = format!("checkpoint of size {signed}");
                    report.add(problem(kind, None, format!("{whose}: {detail}")));
                }
            }
            against_tree(signed, &row.root_hash, "the checkpoint kept", report);
        }
    }
    Ok(checked)
}

/// The root of the first `size` leaves from recomputed levels; `None` if a leaf is unknown.
fn root_of(levels: &[Vec<Option<Hash>>], size: u64) -> Option<Hash> {
    if size == 0 {
        return Some(merkle::empty_root());
    }
    let hashes = Span { start: 0, end: size }
        .nodes()
        .iter()
        .map(|id| *levels.get(id.level as usize)?.get(id.position as usize)?)
        .collect::<Option<Vec<Hash>>>()?;
    Span::hash(&hashes)
}
