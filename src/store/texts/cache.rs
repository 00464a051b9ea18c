//! Texts of unredacted revisions kept in memory, by content hash, so that the texts read most
//! (the heads of the documents everyone reads) are not read and unpacked again for every
//! request: a head's text is a zstd frame, and unpacking it was a sixth of answering a
//! document with its text.
//!
//! A text never changes under its hash; what can happen to it is a redaction purging it. So
//! the cache is only asked for the text of a revision the same request has just read, fresh,
//! as unredacted (`UnredactedText`). A text is purged only once no unredacted revision has it
//! (`redaction`), so such a revision's text is one the database held when the request read
//! the revision: the cache answers as the database did then, even when a redaction was
//! committed since, by this process or another. A redaction committed here drops what it
//! purged, and an erasure run here everything; a text read from the database while either
//! happened is not kept (`generation`). A text another process purged is never served here,
//! and leaves this memory as the cache turns over.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use lru::LruCache;

use crate::store::Revision;
use crate::store::values::ContentHash;

/// The content hash of a revision read unredacted: the only key the cache answers for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UnredactedText(ContentHash);

impl UnredactedText {
    /// `None` for a redacted revision, whose text must not be read.
    pub fn of(revision: &Revision) -> Option<Self> {
        (!revision.redacted).then(|| Self(revision.content_hash.clone()))
    }

    pub fn hash(&self) -> &ContentHash {
        &self.0
    }
}

/// At most `capacity` bytes of texts, the least recently read dropped first.
pub(crate) struct TextCache {
    capacity: usize,
    kept: Mutex<Kept>,
    /// Moved by every `forget` and `clear`: a text read before one is not kept after it.
    generation: AtomicU64,
}

struct Kept {
    texts: LruCache<ContentHash, Arc<str>>,
    bytes: usize,
}

/// What an entry costs besides its text: the key, the `Arc`'s counts and the map's slot.
const ENTRY_OVERHEAD: usize = 160;

impl TextCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            kept: Mutex::new(Kept { texts: LruCache::unbounded(), bytes: 0 }),
            generation: AtomicU64::new(0),
        }
    }

    /// Taken before reading texts from the database, and given back to `put`.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    fn kept(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn get(&self, key: &UnredactedText) -> Option<Arc<str>> {
        if self.capacity == 0 {
            return None;
        }
        self.kept().texts.get(&key.0).cloned()
    }

    /// Keeps `text`, read at `generation`, unless a redaction or an erasure came since, or it
    /// would take more than an eighth of the cache: one long text must not push out every
    /// head the readers are reading.
    pub(crate) fn put(&self, generation: u64, key: &UnredactedText, text: &Arc<str>) {
        let cost = text.len() + ENTRY_OVERHEAD;
        if cost > self.capacity / 8 {
            return;
        }
        let mut kept = self.kept();
        // Under the lock, which `forget` and `clear` move the generation under.
        if self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        if let Some(old) = kept.texts.put(key.0.clone(), text.clone()) {
            kept.bytes -= old.len() + ENTRY_OVERHEAD;
        }
        kept.bytes += cost;
        while kept.bytes > self.capacity {
            let Some((_, old)) = kept.texts.pop_lru() else { break };
            kept.bytes -= old.len() + ENTRY_OVERHEAD;
        }
    }

    /// Drops the texts of `hashes` (a redaction purged them).
    pub(crate) fn forget<'a>(&self, hashes: impl IntoIterator<Item = &'a ContentHash>) {
        let mut kept = self.kept();
        self.generation.fetch_add(1, Ordering::AcqRel);
        for hash in hashes {
            if let Some(old) = kept.texts.pop(hash) {
                kept.bytes -= old.len() + ENTRY_OVERHEAD;
            }
        }
    }

    /// Drops everything.
    pub(crate) fn clear(&self) {
        let mut kept = self.kept();
        self.generation.fetch_add(1, Ordering::AcqRel);
        kept.texts.clear();
        kept.bytes = 0;
    }

    #[cfg(test)]
    fn bytes(&self) -> usize {
        self.kept().bytes
    }
}

/// The default size, in MiB: the heads of a few thousand documents of news prose.
pub const DEFAULT_TEXT_CACHE_MB: usize = 32;

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> UnredactedText {
        UnredactedText(ContentHash::of(text))
    }

    #[test]
    fn keeps_within_its_capacity_dropping_the_least_recently_read() {
        let cache = TextCache::new(8 * (1_000 + ENTRY_OVERHEAD));
        let texts: Vec<Arc<str>> =
            (0..10).map(|i| Arc::from(format!("{i}").repeat(1_000))).collect();
        for text in &texts[..8] {
            cache.put(0, &key(text), text);
        }
        assert_eq!(cache.bytes(), 8 * (1_000 + ENTRY_OVERHEAD));
        // Reading the first keeps it past the next put, which drops the second.
        assert!(cache.get(&key(&texts[0])).is_some());
        cache.put(0, &key(&texts[8]), &texts[8]);
        assert!(cache.get(&key(&texts[0])).is_some());
        assert!(cache.get(&key(&texts[1])).is_none());
        assert_eq!(cache.bytes(), 8 * (1_000 + ENTRY_OVERHEAD));
        let before = cache.generation();
        cache.forget([key(&texts[0]).hash()]);
        assert!(cache.get(&key(&texts[0])).is_none());
        assert_eq!(cache.bytes(), 7 * (1_000 + ENTRY_OVERHEAD));
        // A text read before the redaction that forgot it is not kept after it.
        cache.put(before, &key(&texts[0]), &texts[0]);
        assert!(cache.get(&key(&texts[0])).is_none());
        cache.put(cache.generation(), &key(&texts[0]), &texts[0]);
        assert!(cache.get(&key(&texts[0])).is_some());
        cache.clear();
        assert_eq!(cache.bytes(), 0);
    }

    #[test]
    fn a_text_larger_than_an_eighth_is_not_kept_and_zero_keeps_nothing() {
        let cache = TextCache::new(8_000);
        let long: Arc<str> = Arc::from("x".repeat(1_000));
        cache.put(0, &key(&long), &long);
        assert!(cache.get(&key(&long)).is_none());
        let off = TextCache::new(0);
        let short: Arc<str> = Arc::from("y");
        off.put(0, &key(&short), &short);
        assert!(off.get(&key(&short)).is_none());
    }
}
