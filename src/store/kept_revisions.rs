//! Revisions kept in memory by hash, so that the reads that return many of them (a history
//! page, a page of documents with their heads) select three columns of each instead of
//! fifteen: copying and decoding every column of every row was the largest part of answering
//! those reads (`benches/RESULTS.md`).
//!
//! A revision's row never changes under its hash except in two columns: `redacted` (a
//! redaction) and `log_index` (set once, when a revision written before the transparency log
//! is appended to it). Every read that uses this cache selects those two with the hash, from
//! the database, in the same statement that finds which revisions it returns
//! (`RevisionRef`); the cache only supplies what the hash fixes. So an answer is never less
//! current than the statement that found its revisions, whatever another process committed
//! since a revision was kept: there is nothing to forget. (A revision not kept is read whole
//! just after, so as it is then or later.) A change by hand in SQL to a column the hash covers
//! is tampering, which `verify` reports; a server that keeps the revision goes on serving what
//! the hash says, as the text cache does for texts.

use std::sync::{Arc, Mutex};

use lru::LruCache;

use super::revisions::{Revision, StoredHeader};
use super::values::RevisionHash;

/// What a read learns of a revision from the database every time: its hash and the columns
/// that can change under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RevisionRef {
    pub hash: RevisionHash,
    pub redacted: bool,
    pub log_index: Option<u64>,
}

impl RevisionRef {
    /// `revision` as this reference says it is now.
    fn current(&self, revision: &Arc<Revision>) -> Arc<Revision> {
        if revision.redacted == self.redacted && revision.log_index == self.log_index {
            return revision.clone();
        }
        Arc::new(Revision {
            redacted: self.redacted,
            log_index: self.log_index,
            ..Revision::clone(revision)
        })
    }
}

/// At most `capacity` bytes of revisions, the least recently read dropped first.
pub(crate) struct KeptRevisions {
    capacity: usize,
    kept: Mutex<Kept>,
}

struct Kept {
    revisions: LruCache<RevisionHash, Arc<Revision>>,
    bytes: usize,
}

/// What an entry costs besides its title, message and header: the revision itself, the
/// `Arc`'s counts, the map's slot, and four digests as hex on the heap (the key, the hash, the
/// parent's and the text's), each with its allocation's overhead.
const ENTRY_OVERHEAD: usize = std::mem::size_of::<Revision>() + 96 + 4 * 80;

fn cost(revision: &Revision) -> usize {
    let header = match &revision.stored_header {
        StoredHeader::Plain(header) => header.len(),
        StoredHeader::Packed(frame) => frame.len(),
        StoredHeader::Rebuilt => 0,
    };
    revision.title.len() + revision.message.len() + header + ENTRY_OVERHEAD
}

/// The default size, in MiB: some forty thousand revisions of news prose.
pub const DEFAULT_REVISION_CACHE_MB: usize = 32;

impl KeptRevisions {
    pub(crate) fn new(capacity: usize) -> Self {
        Self { capacity, kept: Mutex::new(Kept { revisions: LruCache::unbounded(), bytes: 0 }) }
    }

    fn kept(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The revisions `refs` name, in their order, as they are now; `None` where one is not
    /// kept.
    pub(crate) fn get(&self, refs: &[RevisionRef]) -> Vec<Option<Arc<Revision>>> {
        if self.capacity == 0 {
            return vec![None; refs.len()];
        }
        let mut kept = self.kept();
        refs.iter()
            .map(|r| {
                let found = kept.revisions.get_mut(&r.hash)?;
                let current = r.current(found);
                if !Arc::ptr_eq(&current, found) {
                    // The next reader finds it as it is now, without a copy of its own.
                    *found = current.clone();
                }
                Some(current)
            })
            .collect()
    }

    /// Keeps `revisions`, just read whole from the database.
    pub(crate) fn put(&self, revisions: &[Arc<Revision>]) {
        if self.capacity == 0 {
            return;
        }
        let mut kept = self.kept();
        for revision in revisions {
            let cost = cost(revision);
            if cost > self.capacity / 8 {
                continue;
            }
            if let Some(old) = kept.revisions.put(revision.hash.clone(), revision.clone()) {
                kept.bytes -= self::cost(&old);
            }
            kept.bytes += cost;
        }
        while kept.bytes > self.capacity {
            let Some((_, old)) = kept.revisions.pop_lru() else { break };
            kept.bytes -= cost(&old);
        }
    }

    #[cfg(test)]
    fn bytes(&self) -> usize {
        self.kept().bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::values::{AgentId, ContentHash, DocumentId, Timestamp};

    fn revision(number: i64, title: &str) -> Arc<Revision> {
        Arc::new(Revision {
            hash: RevisionHash::of_header(&format!("{number} {title}")),
            document_id: DocumentId::generate(),
            number,
            parent: None,
            title: title.to_owned(),
            content_hash: ContentHash::of(title),
            author: AgentId::generate(),
            message: String::new(),
            source: None,
            created_at: Timestamp::now(),
            stored_header: StoredHeader::Rebuilt,
            content_bytes: title.len() as u64,
            log_index: Some(number as u64),
            redacted: false,
        })
    }

    fn reference(revision: &Revision) -> RevisionRef {
        RevisionRef {
            hash: revision.hash.clone(),
            redacted: revision.redacted,
            log_index: revision.log_index,
        }
    }

    #[test]
    fn what_can_change_comes_from_the_reference_not_from_memory() {
        let kept = KeptRevisions::new(1 << 20);
        let first = revision(1, "one");
        kept.put(std::slice::from_ref(&first));
        let [Some(same)] = <[_; 1]>::try_from(kept.get(&[reference(&first)])).unwrap() else {
            panic!("kept")
        };
        assert!(Arc::ptr_eq(&same, &first), "served as kept while nothing changed");

        let redacted = RevisionRef { redacted: true, ..reference(&first) };
        let [Some(now)] = <[_; 1]>::try_from(kept.get(std::slice::from_ref(&redacted))).unwrap()
        else {
            panic!("kept")
        };
        assert!(now.redacted, "a redaction committed since it was kept is seen");
        assert_eq!((now.title.as_str(), now.log_index), ("one", Some(1)));
        let [Some(again)] = <[_; 1]>::try_from(kept.get(&[redacted])).unwrap() else {
            panic!("kept")
        };
        assert!(Arc::ptr_eq(&again, &now), "kept as it is now");

        let unknown = reference(&revision(2, "two"));
        assert!(kept.get(&[unknown])[0].is_none());
    }

    #[test]
    fn keeps_within_its_capacity_dropping_the_least_recently_read() {
        // Ten revisions of one cost fit; none takes more than an eighth.
        let capacity = 10 * cost(&revision(1, "one")) + 2;
        let kept = KeptRevisions::new(capacity);
        let all: Vec<_> = (1..=11).map(|n| revision(n, "one")).collect();
        kept.put(&all[..10]);
        // The first is read, so the second is the least recently read.
        assert!(kept.get(&[reference(&all[0])])[0].is_some());
        kept.put(&all[10..]);
        assert!(kept.bytes() <= capacity);
        let found = kept.get(&all.iter().map(|r| reference(r)).collect::<Vec<_>>());
        let dropped: Vec<usize> = (0..found.len()).filter(|i| found[*i].is_none()).collect();
        assert_eq!(dropped, [1]);

        let off = KeptRevisions::new(0);
        off.put(&all);
        assert_eq!(off.bytes(), 0);
        assert!(off.get(&[reference(&all[0])])[0].is_none());
    }
}
