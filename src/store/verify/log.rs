//! Verification of the transparency log: every leaf recomputed from its revision, every stored
//! subtree recomputed from the leaves, and every signed checkpoint held to the tree it names
//! and to the key that signed it. A log rewritten, reordered or cut short disagrees with a
//! checkpoint signed before — a key the database does not hold.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::{Problem, Report};
use crate::checkpoint::LogKey;
use crate::entity::{log_checkpoint, log_node, revision};
use crate::merkle::{Hash, Span, node_hash};
use crate::store::error::StoreResult;
use crate::store::kinds::ProblemKind;
use crate::store::values::RevisionHash;
use crate::store::{Store, tlog};

/// Rows read at a time.
const PAGE: u64 = 50_000;

/// What the log's verification checked and found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogReport {
    /// Leaves in the log (its state's size).
    pub size: u64,
    /// Signed checkpoints checked.
    pub checkpoints: u64,
    /// Whether checkpoints' signatures were checked (a key was given).
    pub signatures_checked: bool,
    pub report: Report,
}

fn problem(kind: ProblemKind, revision: Option<RevisionHash>, detail: String) -> Problem {
    Problem { kind, document: None, revision, field: None, detail }
}

impl Store {
    /// Verifies the transparency log against the revisions, and its checkpoints against the
    /// tree and (when given) the signing key.
    pub async fn verify_log(
        &self,
        key: Option<&LogKey>,
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> StoreResult<LogReport> {
        let size = tlog::size(&self.db).await?;
        let mut report = Report::default();
        let (leaves, revisions) = self.expected_leaves(size, &mut report, progress).await?;
        report.revisions = leaves.iter().filter(|l| l.is_some()).count() as u64;
        for (index, leaf) in leaves.iter().enumerate() {
            if leaf.is_none() {
                report.add(problem(
                    ProblemKind::LogLeaf,
                    None,
                    format!("leaf {index} belongs to no revision (a revision was removed)"),
                ));
            }
        }
        let levels = self.check_nodes(leaves, &revisions, &mut report).await?;
        let checkpoints = self.check_checkpoints(size, &levels, key, &mut report).await?;
        Ok(LogReport { size, checkpoints, signatures_checked: key.is_some(), report })
    }

    /// The leaf each position should hold, from the revisions that claim it.
    async fn expected_leaves(
        &self,
        size: u64,
        report: &mut Report,
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> StoreResult<(Vec<Option<Hash>>, Vec<Option<RevisionHash>>)> {
        let mut leaves = vec![None; size as usize];
        let mut revisions = vec![None; size as usize];
        let mut after = -1i64;
        loop {
            let rows: Vec<(i64, String)> = revision::Entity::find()
                .select_only()
                .columns([revision::Column::LogIndex, revision::Column::Hash])
                .filter(revision::Column::LogIndex.gt(after))
                .order_by_asc(revision::Column::LogIndex)
                .limit(PAGE)
                .into_tuple()
                .all(&self.db)
                .await?;
            let Some((last, _)) = rows.last() else { break };
            after = *last;
            progress(rows.len() as u64);
            for (index, hash) in rows {
                let hash = RevisionHash::from_trusted(hash);
                match leaves.get_mut(index as usize) {
                    Some(slot) => {
                        *slot = Some(tlog::leaf_of(&hash));
                        revisions[index as usize] = Some(hash);
                    }
                    None => report.add(problem(
                        ProblemKind::LogSize,
                        Some(hash),
                        format!("the revision claims leaf {index}, past the log's size {size}"),
                    )),
                }
            }
        }
        Ok((leaves, revisions))
    }

    /// Compares every stored subtree with the one the leaves make; returns the recomputed
    /// levels (level 0: the leaves), with `None` where a leaf is unknown.
    async fn check_nodes(
        &self,
        leaves: Vec<Option<Hash>>,
        revisions: &[Option<RevisionHash>],
        report: &mut Report,
    ) -> StoreResult<Vec<Vec<Option<Hash>>>> {
        let mut levels = vec![leaves];
        while levels.last().is_some_and(|l| l.len() > 1) {
            let below = levels.last().expect("a level");
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
        let mut after: Option<(i16, i64)> = None;
        loop {
            let mut query = log_node::Entity::find();
            if let Some((level, position)) = after {
                // A row value, so that the primary key serves the walk.
                use sea_orm::sea_query::{Expr, ExprTrait};
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
                .all(&self.db)
                .await?;
            let Some(last) = rows.last() else { break };
            after = Some((last.level, last.position));
            for row in rows {
                let (level, position) = (row.level.max(0) as usize, row.position.max(0) as usize);
                let expected = levels.get(level).and_then(|l| l.get(position));
                let revision = (level == 0).then(|| revisions.get(position).cloned().flatten());
                match expected {
                    None => report.add(problem(
                        ProblemKind::LogSize,
                        revision.flatten(),
                        format!("node {level}/{position} lies past the log's size"),
                    )),
                    Some(expected) => {
                        seen[level] += 1;
                        if expected.is_some_and(|h| h.as_slice() != row.hash.as_slice()) {
                            let kind = if level == 0 {
                                ProblemKind::LogLeaf
                            } else {
                                ProblemKind::LogNode
                            };
                            report.add(problem(
                                kind,
                                revision.flatten(),
                                format!("node {level}/{position} differs from the recomputed one"),
                            ));
                        }
                    }
                }
            }
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

    /// Holds every stored checkpoint to its signature and to the recomputed tree.
    async fn check_checkpoints(
        &self,
        size: u64,
        levels: &[Vec<Option<Hash>>],
        key: Option<&LogKey>,
        report: &mut Report,
    ) -> StoreResult<u64> {
        let mut checked = 0;
        let mut after = -1i64;
        loop {
            let rows = log_checkpoint::Entity::find()
                .filter(log_checkpoint::Column::Size.gt(after))
                .order_by_asc(log_checkpoint::Column::Size)
                .limit(1000)
                .all(&self.db)
                .await?;
            let Some(last) = rows.last() else { break };
            after = last.size;
            for row in rows {
                checked += 1;
                let signed = row.size.max(0) as u64;
                let mut claim = |kind, detail: String| {
                    report.add(problem(
                        kind,
                        None,
                        format!("checkpoint of size {signed}: {detail}"),
                    ))
                };
                if let Some(key) = key {
                    match key.open(&row.note) {
                        Err(err) => claim(ProblemKind::CheckpointSignature, err.to_string()),
                        Ok(opened) if opened.size != signed || opened.root[..] != row.root_hash => {
                            claim(ProblemKind::Checkpoint, "the note and its row disagree".into())
                        }
                        Ok(_) => {}
                    }
                }
                if signed > size {
                    claim(
                        ProblemKind::Checkpoint,
                        format!("the log holds only {size} leaves: it was cut short"),
                    );
                    continue;
                }
                match root_of(levels, signed) {
                    Some(root) if root[..] != row.root_hash => claim(
                        ProblemKind::Checkpoint,
                        "the tree of that size now has another root: the log was rewritten".into(),
                    ),
                    _ => {}
                }
            }
        }
        Ok(checked)
    }
}

/// The root of the first `size` leaves from recomputed levels; `None` if a leaf is unknown.
fn root_of(levels: &[Vec<Option<Hash>>], size: u64) -> Option<Hash> {
    if size == 0 {
        use sha2::Digest;
        return Some(sha2::Sha256::digest([]).into());
    }
    let hashes = Span { start: 0, end: size }
        .nodes()
        .iter()
        .map(|id| *levels.get(id.level as usize)?.get(id.position as usize)?)
        .collect::<Option<Vec<Hash>>>()?;
    Span::hash(&hashes)
}
