//! The Merkle tree of RFC 9162, section 2.1, as the transparency log uses it: pure arithmetic
//! over leaf positions, no storage.
//!
//! The tree over `n` leaves is stored as its complete subtrees: node `(level, position)`
//! covers leaves `[position·2^level, (position+1)·2^level)`. Every hash a proof needs is the
//! hash of a range of leaves that the RFC's recursion produces, and every such range splits
//! into at most ~log₂ n complete subtrees (`Span::nodes`), so a proof reads O(log n) stored
//! nodes and never rebuilds anything. Appending leaf `i` completes the subtrees that end at
//! `i`, on average two, from the tree's right edge (`Frontier`).

use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

/// `SHA-256("")`: the hash of the empty tree (RFC 9162, 2.1.1).
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// `SHA-256(0x00 || entry)`: the hash of a leaf (RFC 9162, 2.1.1).
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x00]);
    hasher.update(entry);
    hasher.finalize().into()
}

/// `SHA-256(0x01 || left || right)`: the hash of an interior node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x01]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// A complete subtree: the `position`-th run of `2^level` leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    pub level: u8,
    pub position: u64,
}

impl NodeId {
    pub fn leaf(index: u64) -> Self {
        NodeId { level: 0, position: index }
    }
}

/// Leaves `[start, end)`, a range whose hash a proof or a root needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: u64,
    pub end: u64,
}

impl Span {
    /// The complete subtrees that make up the span, left to right, largest first. Every span
    /// the RFC's recursion produces starts at a multiple of its largest power of two, so this
    /// is the binary decomposition of its length.
    pub fn nodes(&self) -> Vec<NodeId> {
        let mut nodes = Vec::new();
        let mut start = self.start;
        while start < self.end {
            let room = self.end - start;
            let mut level = 63 - room.leading_zeros();
            if start != 0 {
                level = level.min(start.trailing_zeros());
            }
            nodes.push(NodeId { level: level as u8, position: start >> level });
            start += 1 << level;
        }
        nodes
    }

    /// The span's hash (RFC 9162's MTH) from the hashes of `nodes()`, in the same order: the
    /// rightmost subtrees are combined first, as the RFC's split at the largest power of two
    /// below the length does.
    pub fn hash(node_hashes: &[Hash]) -> Option<Hash> {
        let (last, rest) = node_hashes.split_last()?;
        Some(rest.iter().rev().fold(*last, |right, left| node_hash(left, &right)))
    }
}

/// The largest power of two smaller than `n` (n ≥ 2).
fn split(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// The spans whose hashes make the inclusion proof of leaf `index` in a tree of `size`
/// leaves, in the RFC's order (2.1.3.1, `PATH`): nearest the leaf first.
pub fn inclusion_spans(index: u64, size: u64) -> Vec<Span> {
    assert!(index < size, "leaf {index} is not in a tree of {size}");
    let mut path = Vec::new();
    let (mut start, mut end, mut m) = (0, size, index);
    // Walk down from the root; the RFC lists the siblings from the bottom up.
    while end - start > 1 {
        let k = split(end - start);
        if m < k {
            path.push(Span { start: start + k, end });
            end = start + k;
        } else {
            path.push(Span { start, end: start + k });
            start += k;
            m -= k;
        }
    }
    path.reverse();
    path
}

/// The spans whose hashes make the consistency proof between trees of `old` and `new`
/// leaves (0 < old ≤ new), in the RFC's order (2.1.4.1, `PROOF` and `SUBPROOF`).
pub fn consistency_spans(old: u64, new: u64) -> Vec<Span> {
    assert!(0 < old && old <= new, "no consistency proof from {old} to {new}");
    let mut proof = Vec::new();
    let (mut start, mut end, mut m, mut whole) = (0, new, old, true);
    loop {
        let n = end - start;
        if m == n {
            if !whole {
                proof.push(Span { start, end });
            }
            break;
        }
        let k = split(n);
        if m <= k {
            proof.push(Span { start: start + k, end });
            end = start + k;
        } else {
            proof.push(Span { start, end: start + k });
            start += k;
            m -= k;
            whole = false;
        }
    }
    proof.reverse();
    proof
}

/// The right edge of a tree: the complete subtrees its leaves decompose into, largest first
/// (`Span { start: 0, end: size }.nodes()`). It is all an append needs: the new leaf merges
/// with the smallest subtrees of its size, which are always the last ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    roots: Vec<(NodeId, Hash)>,
}

impl Frontier {
    pub fn empty() -> Self {
        Frontier { size: 0, roots: Vec::new() }
    }

    /// The nodes the frontier of a tree of `size` leaves is made of, largest first.
    pub fn ids(size: u64) -> Vec<NodeId> {
        Span { start: 0, end: size }.nodes()
    }

    /// The frontier of a tree of `size` leaves from the hashes of `ids(size)`, in that order.
    pub fn from_hashes(size: u64, hashes: Vec<Hash>) -> Option<Self> {
        let ids = Self::ids(size);
        (ids.len() == hashes.len())
            .then(|| Frontier { size, roots: ids.into_iter().zip(hashes).collect() })
    }

    /// Leaves in the tree.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The tree's root hash (RFC 9162's MTH); `None` for the empty tree.
    pub fn root(&self) -> Option<Hash> {
        let hashes: Vec<Hash> = self.roots.iter().map(|(_, hash)| *hash).collect();
        Span::hash(&hashes)
    }

    /// Appends a leaf; returns the nodes it completes, the leaf first and then each parent.
    pub fn push(&mut self, leaf: Hash) -> Vec<(NodeId, Hash)> {
        let mut node = (NodeId::leaf(self.size), leaf);
        let mut completed = vec![node];
        while let Some(&(sibling, hash)) = self.roots.last() {
            if sibling.level != node.0.level {
                break;
            }
            self.roots.pop();
            let parent = NodeId { level: node.0.level + 1, position: sibling.position >> 1 };
            node = (parent, node_hash(&hash, &node.1));
            completed.push(node);
        }
        self.roots.push(node);
        self.size += 1;
        completed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    /// MTH straight from the RFC's definition.
    fn mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => Sha256::digest([]).into(),
            1 => leaves[0],
            n => {
                let k = split(n as u64) as usize;
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    fn path(m: usize, leaves: &[Hash]) -> Vec<Hash> {
        let n = leaves.len();
        if n == 1 {
            return vec![];
        }
        let k = split(n as u64) as usize;
        if m < k {
            let mut p = path(m, &leaves[..k]);
            p.push(mth(&leaves[k..]));
            p
        } else {
            let mut p = path(m - k, &leaves[k..]);
            p.push(mth(&leaves[..k]));
            p
        }
    }

    fn subproof(m: usize, leaves: &[Hash], whole: bool) -> Vec<Hash> {
        let n = leaves.len();
        if m == n {
            return if whole { vec![] } else { vec![mth(leaves)] };
        }
        let k = split(n as u64) as usize;
        if m <= k {
            let mut p = subproof(m, &leaves[..k], whole);
            p.push(mth(&leaves[k..]));
            p
        } else {
            let mut p = subproof(m - k, &leaves[k..], false);
            p.push(mth(&leaves[..k]));
            p
        }
    }

    /// Every complete subtree of a tree of `n` leaves, built by appending one at a time; the
    /// frontier is checked against the tree at each size on the way.
    fn stored(n: u64) -> std::collections::HashMap<NodeId, Hash> {
        let mut nodes = std::collections::HashMap::new();
        let mut frontier = Frontier::empty();
        let all = leaves(n);
        for (i, leaf) in all.iter().enumerate() {
            nodes.extend(frontier.push(*leaf));
            assert_eq!(frontier.root(), Some(mth(&all[..=i])), "root after {} leaves", i + 1);
            let size = frontier.size();
            let again = Frontier::from_hashes(
                size,
                Frontier::ids(size).iter().map(|id| nodes[id]).collect(),
            );
            assert_eq!(again.as_ref(), Some(&frontier), "frontier read back at {size}");
        }
        nodes
    }

    fn span_hash(nodes: &std::collections::HashMap<NodeId, Hash>, span: Span) -> Hash {
        let hashes: Vec<Hash> = span.nodes().iter().map(|id| nodes[id]).collect();
        Span::hash(&hashes).unwrap()
    }

    #[test]
    fn stored_subtrees_give_every_root_and_proof_the_rfc_defines() {
        for n in 1..=70u64 {
            let all = leaves(n);
            let nodes = stored(n);
            assert_eq!(span_hash(&nodes, Span { start: 0, end: n }), mth(&all), "root of {n}");
            for m in 0..n {
                let proof: Vec<Hash> =
                    inclusion_spans(m, n).into_iter().map(|s| span_hash(&nodes, s)).collect();
                assert_eq!(proof, path(m as usize, &all), "inclusion of {m} in {n}");
            }
            for m in 1..=n {
                let proof: Vec<Hash> =
                    consistency_spans(m, n).into_iter().map(|s| span_hash(&nodes, s)).collect();
                assert_eq!(proof, subproof(m as usize, &all, true), "consistency {m}..{n}");
            }
        }
    }

    #[test]
    fn spans_need_logarithmically_many_nodes() {
        let n = 1_000_003;
        let reads: usize = inclusion_spans(777_777, n).iter().map(|s| s.nodes().len()).sum();
        assert!(reads <= 2 * 64 - n.leading_zeros() as usize, "{reads}");
        let mut frontier = Frontier::empty();
        let mut completed = Vec::new();
        for i in 0..=0b1011_0111u64 {
            completed = frontier.push(leaf_hash(&i.to_be_bytes()));
        }
        assert_eq!(completed.len(), 4, "leaf 0b10110111 completes three parents");
        assert_eq!(completed.last().map(|c| c.0), Some(NodeId { level: 3, position: 0b1_0110 }));
    }
}
