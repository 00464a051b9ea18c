//! Answers to anonymous GraphQL queries, kept as sent and replayed to the next identical
//! request while nothing they read has changed.
//!
//! Exact, not merely fresh. The cache holds the store's change marker (`Store::change_marker`) its
//! entries are valid at; a request reads the marker before it runs, and when that marker is newer
//! the cache first moves to it, dropping the entries that what committed in between made stale
//! (`Store::changed_between`): a change to some documents drops the answers that read them and
//! every answer that read anything else (`graphql::reads`), except that one to a document's history
//! alone keeps the answers that read no more of it than its summary (a page of documents, say); a
//! change to anything drops all. An entry is served only at the marker the cache holds, and kept
//! only when it was read at that marker, so no request that began after a commit — through this
//! server, another process, or another node — is served an answer the commit made stale. Only
//! answers without errors are kept, and only for requests without credentials (a token's rights can
//! lapse with time, which commits nothing). A replayed answer costs the client's rate limit what
//! running it cost, charged the same way.
//!
//! Bounded by bytes (bodies, and each request's SHA-256, which stands for it: a request of
//! megabytes costs the cache 32 bytes), least recently used first out; one answer may take at
//! most an eighth of it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use actix_web::web::Bytes;
use lru::LruCache;

use crate::graphql::reads::Reads;
use crate::store::{ChangeMarker, Changed, Store, Timestamp, Touched};

/// What an entry costs besides its key and body: the map's slot, the list's links and what
/// it read.
const ENTRY_OVERHEAD: usize = 128;

/// One kept answer.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub body: Bytes,
    /// What the request that produced it was charged before it ran (its admission and static
    /// cost) and after (its debt).
    pub charged: u64,
    pub debt: u64,
}

/// What an answer is filed under: the SHA-256 of the request's cache key.
type Key = [u8; 32];

fn key_of(request: &[u8]) -> Key {
    use sha2::Digest;
    sha2::Sha256::digest(request).into()
}

/// A kept answer and what it read, which decides the writes that make it stale.
struct Entry {
    answer: Answer,
    reads: Reads,
}

impl Entry {
    fn size(&self, key: &Key) -> usize {
        let reads = match &self.reads {
            Reads::Everything => 0,
            Reads::Documents(documents) | Reads::Summaries(documents) => documents.len() * 24,
        };
        key.len() + self.answer.body.len() + reads + ENTRY_OVERHEAD
    }

    fn stale_after(&self, changed: &Changed) -> bool {
        match (&self.reads, changed) {
            (_, Changed::Nothing) => false,
            (Reads::Everything, _) | (_, Changed::Everything) => true,
            (Reads::Documents(read), Changed::Documents(written)) => {
                read.iter().any(|document| written.contains_key(document))
            }
            // A document's summary stays as it was through a change to its history alone.
            (Reads::Summaries(read), Changed::Documents(written)) => {
                read.iter().any(|document| written.get(document) == Some(&Touched::Whole))
            }
        }
    }
}

pub(crate) struct ResponseCache {
    capacity: usize,
    kept: Mutex<Kept>,
    /// One move to a newer marker at a time: requests that read the same new marker wait for
    /// the first to read what changed, and find the cache there.
    moving: tokio::sync::Mutex<()>,
    counts: Counts,
}

/// What the cache has done since the server started, for `/metrics`.
#[derive(Default)]
struct Counts {
    hits: AtomicU64,
    misses: AtomicU64,
    /// Entries dropped because a commit (or an embargo lifting) made them stale.
    stale: AtomicU64,
    /// Entries dropped to make room.
    evicted: AtomicU64,
}

/// The cache's counters and size, as `/metrics` reports them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    pub dropped_stale: u64,
    pub evicted: u64,
    pub entries: usize,
    pub bytes: usize,
    pub capacity: usize,
}

struct Kept {
    /// The marker every entry is valid at.
    marker: Option<ChangeMarker>,
    /// When the first pending embargo lifts, as of `marker`: the entries are stale from then
    /// on (a document becomes public, and no commit says so).
    lifts_at: Option<Timestamp>,
    /// The entries were dropped for an embargo that lifted at this time: an answer computed by
    /// a request that began before it may show the document as hidden, and is not kept.
    valid_from: Timestamp,
    entries: LruCache<Key, Entry>,
    bytes: usize,
}

impl Kept {
    /// Drops what `changed` made stale; how many entries it dropped.
    fn drop_stale(&mut self, changed: &Changed) -> usize {
        if matches!(changed, Changed::Nothing) {
            return 0;
        }
        if matches!(changed, Changed::Everything) {
            let dropped = self.entries.len();
            self.entries.clear();
            self.bytes = 0;
            return dropped;
        }
        let stale: Vec<Key> = self
            .entries
            .iter()
            .filter(|(_, entry)| entry.stale_after(changed))
            .map(|(key, _)| *key)
            .collect();
        let dropped = stale.len();
        for key in stale {
            if let Some(entry) = self.entries.pop(&key) {
                self.bytes -= entry.size(&key);
            }
        }
        dropped
    }
}

impl ResponseCache {
    /// A cache of at most `capacity` bytes; `None` for 0, which keeps nothing.
    pub(crate) fn new(capacity: usize) -> Option<Self> {
        (capacity > 0).then(|| Self {
            capacity,
            kept: Mutex::new(Kept {
                marker: None,
                lifts_at: None,
                valid_from: Timestamp::from_micros(0),
                entries: LruCache::unbounded(),
                bytes: 0,
            }),
            moving: tokio::sync::Mutex::new(()),
            counts: Counts::default(),
        })
    }

    pub(crate) fn stats(&self) -> CacheStats {
        let (entries, bytes) = {
            let kept = self.kept();
            (kept.entries.len(), kept.bytes)
        };
        let count = |c: &AtomicU64| c.load(Ordering::Relaxed);
        CacheStats {
            hits: count(&self.counts.hits),
            misses: count(&self.counts.misses),
            dropped_stale: count(&self.counts.stale),
            evicted: count(&self.counts.evicted),
            entries,
            bytes,
            capacity: self.capacity,
        }
    }

    fn kept(&self) -> MutexGuard<'_, Kept> {
        self.kept.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The answer kept for `key`, for a request that read `marker` before it began.
    pub(crate) async fn get(
        &self,
        store: &Store,
        marker: &ChangeMarker,
        key: &[u8],
    ) -> Option<Answer> {
        let key = key_of(key);
        self.move_to(store, marker).await;
        let found = {
            let mut kept = self.kept();
            if kept.marker.as_ref() == Some(marker) {
                kept.entries.get(&key).map(|entry| entry.answer.clone())
            } else {
                None
            }
        };
        let counter = if found.is_some() { &self.counts.hits } else { &self.counts.misses };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Moves the cache to `marker` if it is newer than the one it holds, dropping what
    /// committed in between made stale. A request that read an older marker finds the cache
    /// elsewhere, and runs without it.
    /// An embargo lifting is a change too, though nothing commits: once one has lifted, every
    /// entry is dropped.
    async fn move_to(&self, store: &Store, marker: &ChangeMarker) {
        let now = Timestamp::now();
        let current = |kept: &Kept| {
            kept.marker.as_ref() == Some(marker) && kept.lifts_at.is_none_or(|at| now < at)
        };
        if current(&self.kept()) {
            return;
        }
        let _turn = self.moving.lock().await;
        let (held, lifts_at) = {
            let kept = self.kept();
            if current(&kept) {
                return;
            }
            (kept.marker.clone(), kept.lifts_at)
        };
        let mut changed = match held {
            Some(held) if held.seq() > marker.seq() => return,
            Some(held) if &held == marker => Changed::Nothing,
            Some(held) => store.changed_between(&held, marker).await.unwrap_or_else(|err| {
                tracing::debug!(error = %err, "cannot read what changed; the cache starts afresh");
                Changed::Everything
            }),
            None => Changed::Everything,
        };
        let lifted = lifts_at.is_some_and(|at| at <= now);
        if lifted {
            changed = Changed::Everything;
        }
        // Read after the marker, so an embargo set by a later commit is seen at the latest
        // with that commit's marker.
        let next_lift = store.next_embargo_lift(now).await.unwrap_or_else(|err| {
            tracing::debug!(error = %err, "cannot read the next embargo; kept for no time");
            Some(now)
        });
        let mut kept = self.kept();
        let dropped = kept.drop_stale(&changed);
        self.counts.stale.fetch_add(dropped as u64, Ordering::Relaxed);
        kept.marker = Some(marker.clone());
        kept.lifts_at = next_lift;
        if lifted {
            kept.valid_from = now;
        }
    }

    /// Keeps `answer` for `key`, read by a request that read `marker` before it began at
    /// `began` (its clock reads no earlier): only if the cache is still there (a newer marker
    /// may have made it stale already) and no embargo lifted since the request began.
    pub(crate) fn put(
        &self,
        marker: &ChangeMarker,
        began: Timestamp,
        key: &[u8],
        answer: Answer,
        reads: Reads,
    ) {
        let entry = Entry { answer, reads };
        let key = key_of(key);
        let size = entry.size(&key);
        if size > self.capacity / 8 {
            return;
        }
        let mut kept = self.kept();
        if kept.marker.as_ref() != Some(marker) {
            return;
        }
        let now = Timestamp::now();
        if began < kept.valid_from || kept.lifts_at.is_some_and(|at| at <= now) {
            return;
        }
        if let Some(old) = kept.entries.put(key, entry) {
            kept.bytes -= old.size(&key);
        }
        kept.bytes += size;
        while kept.bytes > self.capacity {
            let Some((key, old)) = kept.entries.pop_lru() else { break };
            kept.bytes -= old.size(&key);
            self.counts.evicted.fetch_add(1, Ordering::Relaxed);
        }
    }
}
