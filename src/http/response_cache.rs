//! Answers to anonymous GraphQL queries, kept as sent and replayed to the next identical
//! request while the database has not changed.
//!
//! Exact, not merely fresh: every entry is filed under the store's change marker read before
//! its query ran (`Store::change_marker`), and served only to a request that read the same
//! marker, that is, one that began before anything committed since. Any commit — through this
//! server, another process or plain SQL — changes the marker, so no answer outlives the state
//! it was read from. Only answers without errors are kept, and only for requests without
//! credentials (a token's rights can lapse with time, which commits nothing). A replayed
//! answer costs the client's rate limit what running it cost, charged the same way.
//!
//! Bounded by bytes (keys and bodies), least recently used first out; one answer may take at
//! most an eighth of it.

use std::sync::{Mutex, MutexGuard};

use actix_web::web::Bytes;
use lru::LruCache;

use crate::store::ChangeMarker;

/// What an entry costs besides its key and body: the map's slot and the list's links.
const ENTRY_OVERHEAD: usize = 96;

/// One kept answer.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub body: Bytes,
    /// What the request that produced it was charged before it ran (its admission and static
    /// cost) and after (its debt).
    pub charged: u64,
    pub debt: u64,
}

pub(crate) struct ResponseCache {
    capacity: usize,
    kept: Mutex<Kept>,
}

struct Kept {
    /// The marker every entry was filed under.
    marker: Option<ChangeMarker>,
    entries: LruCache<Box<[u8]>, Answer>,
    bytes: usize,
}

impl ResponseCache {
    /// A cache of at most `capacity` bytes; `None` for 0, which keeps nothing.
    pub(crate) fn new(capacity: usize) -> Option<Self> {
        (capacity > 0).then(|| Self {
            capacity,
            kept: Mutex::new(Kept { marker: None, entries: LruCache::unbounded(), bytes: 0 }),
        })
    }

    fn kept(&self) -> MutexGuard<'_, Kept> {
        self.kept.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The answer kept for `key`, if it was read under `marker`.
    pub(crate) fn get(&self, marker: &ChangeMarker, key: &[u8]) -> Option<Answer> {
        let mut kept = self.kept();
        if kept.marker.as_ref() != Some(marker) {
            return None;
        }
        kept.entries.get(key).cloned()
    }

    /// Keeps `answer` for `key`, read under `marker`. A marker other than the entries' means
    /// the database changed (or this read began before a change they saw): the entries of the
    /// other marker go, since they would never again be served together with this one.
    pub(crate) fn put(&self, marker: ChangeMarker, key: &[u8], answer: Answer) {
        let size = key.len() + answer.body.len() + ENTRY_OVERHEAD;
        if size > self.capacity / 8 {
            return;
        }
        let mut kept = self.kept();
        if kept.marker.as_ref() != Some(&marker) {
            kept.entries.clear();
            kept.bytes = 0;
            kept.marker = Some(marker);
        }
        if let Some(old) = kept.entries.put(key.into(), answer) {
            kept.bytes -= key.len() + old.body.len() + ENTRY_OVERHEAD;
        }
        kept.bytes += size;
        while kept.bytes > self.capacity {
            let Some((key, old)) = kept.entries.pop_lru() else { break };
            kept.bytes -= key.len() + old.body.len() + ENTRY_OVERHEAD;
        }
    }
}
