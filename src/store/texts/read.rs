//! Reading texts: one, a page of them, or whole chains of deltas (with a cache of frames).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use sea_orm::{ConnectionTrait, Statement, Value};

use super::cache::UnredactedText;
use super::packing::{self, Packing, StoredBlob, Unpacked};
use super::seal::{self, Keys};
use super::{open_frame, stored_digest};
use crate::store::Store;
use crate::store::error::{StoreError, StoreResult};
use crate::store::revisions::Revision;
use crate::store::sql::placeholder;
use crate::store::values::ContentHash;

/// The stored rows of `hashes` and of every blob on their chains, in one statement.
pub(crate) async fn read_stored(
    conn: &impl ConnectionTrait,
    hashes: &[&str],
) -> StoreResult<Vec<StoredBlob>> {
    if hashes.is_empty() {
        return Ok(Vec::new());
    }
    let backend = conn.get_database_backend();
    let placeholders: Vec<String> = (1..=hashes.len()).map(|i| placeholder(backend, i)).collect();
    let sql = format!(
        "WITH RECURSIVE chain(sha256) AS ( \
           SELECT sha256 FROM blobs WHERE sha256 IN ({}) \
           UNION \
           SELECT b.base_sha256 FROM blobs b JOIN chain c ON b.sha256 = c.sha256 \
           WHERE b.packing = {} AND b.base_sha256 IS NOT NULL) \
         SELECT b.sha256, b.packing, b.content, b.packed, b.base_sha256, b.byte_length, \
           b.purged_at, b.sealed, k.key FROM blobs b JOIN chain c ON b.sha256 = c.sha256 \
           LEFT JOIN text_keys k ON k.bucket = {}",
        placeholders.join(","),
        Packing::Delta.code(),
        seal::bucket_sql(backend, "b.sha256"),
    );
    let values: Vec<Value> = hashes.iter().map(|h| stored_digest(h)).collect();
    let rows = conn.query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
    let mut keys = Keys::default();
    rows.iter()
        .map(|row| {
            // Digests read as whatever bytes are stored: one that is not 32 bytes (damage)
            // names no other blob, so the texts above it read as damaged, which `verify`
            // reports, rather than failing the whole read.
            let sha256 = hex::encode(row.try_get_by_index::<Vec<u8>>(0)?);
            if let Some(key) = row.try_get_by_index::<Option<Vec<u8>>>(8)? {
                keys.insert_stored(seal::bucket_of(&sha256), &key)?;
            }
            let sealed: bool = row.try_get_by_index(7)?;
            let (packed, unopenable) = open_frame(&sha256, row.try_get_by_index(3)?, sealed, &keys);
            Ok(StoredBlob {
                sha256,
                packing: row.try_get_by_index(1)?,
                content: row.try_get_by_index(2)?,
                packed,
                base: row.try_get_by_index::<Option<Vec<u8>>>(4)?.map(hex::encode),
                byte_length: row.try_get_by_index(5)?,
                purged: row.try_get_by_index::<Option<i64>>(6)?.is_some(),
                unopenable,
            })
        })
        .collect()
}

/// Blob rows and unpacked texts kept across the pages of one long read (an export), so that
/// the chains of deltas its pages share are read from the database and unpacked once. An
/// export goes in commit order, oldest first, and a text is stored as a delta against its
/// successor's: unpacking one revision's text unpacks every newer one of its document on the
/// way, which later pages then take from here instead of unpacking the chain again. Each part
/// is bounded in bytes and emptied whole when full.
#[derive(Debug)]
pub struct FrameCache {
    rows: HashMap<String, StoredBlob>,
    bytes: usize,
    limit: usize,
    /// Texts unpacked on the way to a page's, not yet asked for themselves.
    texts: KeptTexts,
}

/// Unpacked texts by their hash, at most `limit` bytes.
#[derive(Debug)]
struct KeptTexts {
    texts: HashMap<String, String>,
    bytes: usize,
    limit: usize,
}

impl FrameCache {
    /// A cache of at most `limit` bytes of stored frames and `text_limit` of unpacked texts.
    pub fn new(limit: usize, text_limit: usize) -> Self {
        let texts = KeptTexts { texts: HashMap::new(), bytes: 0, limit: text_limit };
        FrameCache { rows: HashMap::new(), bytes: 0, limit, texts }
    }

    fn row_bytes(row: &StoredBlob) -> usize {
        row.sha256.len() + row.content.len() + row.packed.as_ref().map_or(0, Vec::len) + 96
    }
}

impl KeptTexts {
    fn cost(hash: &str, text: &str) -> usize {
        hash.len() + text.len() + 64
    }

    fn keep(&mut self, hash: String, text: String) {
        let bytes = Self::cost(&hash, &text);
        if self.bytes + bytes > self.limit {
            self.texts.clear();
            self.bytes = 0;
        }
        self.bytes += bytes;
        self.texts.insert(hash, text);
    }

    fn take(&mut self, hash: &str) -> Option<String> {
        let text = self.texts.remove(hash)?;
        self.bytes = self.bytes.saturating_sub(Self::cost(hash, &text));
        Some(text)
    }
}

/// The texts of `hashes` (stored and not purged), reading only the blob rows `cache` lacks
/// and unpacking only down from the nearest text it holds.
pub(crate) async fn texts_through(
    conn: &impl ConnectionTrait,
    hashes: &[ContentHash],
    cache: &mut FrameCache,
) -> StoreResult<HashMap<String, Unpacked>> {
    // Texts already unpacked end their chains' walk.
    let mut known: HashMap<String, Unpacked> = HashMap::new();
    for hash in hashes {
        if let Some(text) = cache.texts.take(hash.hex()) {
            known.insert(hash.hex().to_owned(), Unpacked::Text(text));
        }
    }
    let missing: Vec<&str> = hashes
        .iter()
        .map(ContentHash::hex)
        .filter(|h| !cache.rows.contains_key(*h) && !known.contains_key(*h))
        .collect();
    for row in read_stored(conn, &missing).await? {
        if cache.bytes > cache.limit {
            cache.rows.clear();
            cache.bytes = 0;
        }
        cache.bytes += FrameCache::row_bytes(&row);
        cache.rows.insert(row.sha256.clone(), row);
    }
    // Every row on the wanted chains down to a text already unpacked: a chain is cached
    // whole, as it was read.
    let mut rows = Vec::new();
    let mut pending: Vec<&str> = hashes.iter().map(ContentHash::hex).collect();
    let mut seen = HashSet::new();
    while let Some(hash) = pending.pop() {
        if !seen.insert(hash) || known.contains_key(hash) {
            continue;
        }
        if let Some(text) = cache.texts.take(hash) {
            known.insert(hash.to_owned(), Unpacked::Text(text));
            continue;
        }
        match cache.rows.get(hash) {
            Some(row) => {
                if let Some(base) = &row.base {
                    pending.push(base.as_str());
                }
                rows.push(row.clone());
            }
            // Emptied meanwhile, or never stored: read what is left directly.
            None => rows.extend(read_stored(conn, &[hash]).await?),
        }
    }
    let wanted: HashSet<&str> = hashes.iter().map(ContentHash::hex).collect();
    let mut texts = HashMap::with_capacity(wanted.len());
    for (hash, unpacked) in packing::unpack_all_from(rows, wanted.iter().copied(), known) {
        if wanted.contains(hash.as_str()) {
            texts.insert(hash, unpacked);
        } else if let Unpacked::Text(text) = unpacked {
            cache.texts.keep(hash, text);
        }
    }
    Ok(texts)
}

/// The texts of `hashes` that are stored and not purged.
pub(crate) async fn texts_of(
    conn: &impl ConnectionTrait,
    hashes: &[ContentHash],
) -> StoreResult<HashMap<String, Unpacked>> {
    let keys: Vec<&str> = hashes.iter().map(ContentHash::hex).collect();
    let rows = read_stored(conn, &keys).await?;
    Ok(packing::unpack_all(rows, keys))
}

pub(super) fn damaged(hash: &str, error: packing::UnpackError) -> StoreError {
    StoreError::Unexpected(anyhow::anyhow!("content {hash} cannot be read: {error}"))
}

impl Store {
    /// The texts among `hashes` that are stored (and not purged by a redaction), in one query.
    pub async fn contents_by_hashes(
        &self,
        hashes: &[ContentHash],
    ) -> StoreResult<Vec<(ContentHash, String)>> {
        let mut texts = texts_of(&self.db, hashes).await?;
        if let Some(primary) = self.on_miss().filter(|_| texts.len() < hashes.len()) {
            let missed: Vec<ContentHash> =
                hashes.iter().filter(|h| !texts.contains_key(h.hex())).cloned().collect();
            texts.extend(texts_of(primary, &missed).await?);
        }
        let mut found = Vec::with_capacity(hashes.len());
        for hash in hashes {
            match texts.remove(hash.hex()) {
                Some(Unpacked::Text(text)) => found.push((hash.clone(), text)),
                Some(Unpacked::Damaged(error)) => return Err(damaged(hash.hex(), error)),
                Some(Unpacked::Purged) | None => {}
            }
        }
        Ok(found)
    }

    /// The texts of revisions read unredacted: those kept in memory from there
    /// (`texts::cache`), the rest in one query, then kept.
    pub async fn unredacted_texts(
        &self,
        keys: &[UnredactedText],
    ) -> StoreResult<Vec<(UnredactedText, Arc<str>)>> {
        let mut found = Vec::with_capacity(keys.len());
        let mut missed = Vec::new();
        for key in keys {
            match self.texts.get(key) {
                Some(text) => found.push((key.clone(), text)),
                None => missed.push(key.hash().clone()),
            }
        }
        if missed.is_empty() {
            return Ok(found);
        }
        let generation = self.texts.generation();
        let mut read: HashMap<ContentHash, Arc<str>> = self
            .contents_by_hashes(&missed)
            .await?
            .into_iter()
            .map(|(hash, text)| (hash, Arc::from(text)))
            .collect();
        for key in keys {
            if let Some(text) = read.remove(key.hash()) {
                self.texts.put(generation, key, &text);
                found.push((key.clone(), text));
            }
        }
        Ok(found)
    }

    /// The text of `revision`: `Redacted` if it was.
    pub(crate) async fn required_content(&self, revision: &Revision) -> StoreResult<String> {
        if let Some(primary) = self.on_miss() {
            return match stored_content(&self.db, revision).await? {
                Some(text) => Ok(text),
                None => content_of(primary, revision).await,
            };
        }
        content_of(&self.db, revision).await
    }
}

/// The text of `revision` read through `conn`: `Redacted` if it was.
pub(crate) async fn content_of(
    conn: &impl ConnectionTrait,
    revision: &Revision,
) -> StoreResult<String> {
    stored_content(conn, revision).await?.ok_or_else(|| {
        StoreError::Unexpected(anyhow::anyhow!("content {} is missing", revision.content_hash))
    })
}

/// The text of `revision` read through `conn`, `None` if `conn` does not hold it.
async fn stored_content(
    conn: &impl ConnectionTrait,
    revision: &Revision,
) -> StoreResult<Option<String>> {
    if revision.redacted {
        return Err(StoreError::Redacted(revision.hash.clone()));
    }
    let hash = revision.content_hash.hex();
    match texts_of(conn, std::slice::from_ref(&revision.content_hash)).await?.remove(hash) {
        Some(Unpacked::Text(text)) => Ok(Some(text)),
        Some(Unpacked::Damaged(error)) => Err(damaged(hash, error)),
        Some(Unpacked::Purged) | None => Ok(None),
    }
}
