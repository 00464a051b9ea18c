//! Texts are stored sealed, so that a redaction can destroy them wherever their bytes lie.
//!
//! Each stored text frame (`blobs.packed`) and each quote a citation keeps is encrypted with
//! XChaCha20-Poly1305 under the key of its *bucket*: one of 256, named by the first byte (two
//! hex digits) of the text's SHA-256, or of the citing revision's hash for a citation. The 256
//! keys are the rows of `text_keys`, a table of a few kilobytes. A redaction rotates the keys
//! of the buckets that held what it purged: every other value in those buckets is sealed again
//! under a new key in the redaction's transaction, and the old key is overwritten; the key
//! table is then rewritten whole (`erase`), which takes milliseconds. What a database keeps of
//! the purged bytes after that — dead row versions, index and TOAST pages, free space — was
//! sealed under a key that no longer exists anywhere in its files.
//!
//! The nonce is random (24 bytes, prefixed to the sealed bytes), so a value sealed again under
//! the same key is safe; the associated data binds a sealed value to its row (a text's SHA-256,
//! a citation's id and column), so one cannot be moved to another.

use std::collections::{BTreeSet, HashMap};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ConnectionTrait, DatabaseBackend, Statement, Value};

use crate::store::error::{StoreError, StoreResult};

/// The number of buckets: every two-digit hex prefix.
const BUCKETS: usize = 256;

const NONCE: usize = 24;
const KEY: usize = 32;

/// The key of one bucket.
#[derive(Clone)]
pub(crate) struct BucketKey([u8; KEY]);

impl std::fmt::Debug for BucketKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BucketKey(…)")
    }
}

/// A sealed value that does not open under its bucket's key: the database was altered, or
/// written by something other than this store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a sealed value does not open under its bucket's key")]
pub(crate) struct Unopenable;

impl BucketKey {
    fn generate() -> StoreResult<Self> {
        let mut key = [0u8; KEY];
        getrandom::fill(&mut key)
            .map_err(|err| StoreError::Unexpected(anyhow::anyhow!("no random key: {err}")))?;
        Ok(BucketKey(key))
    }

    fn from_stored(bytes: &[u8]) -> StoreResult<Self> {
        let key: [u8; KEY] = bytes.try_into().map_err(|_| {
            StoreError::Unexpected(anyhow::anyhow!("a bucket key is {} bytes", bytes.len()))
        })?;
        Ok(BucketKey(key))
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&Key::from(self.0))
    }

    /// `plain` sealed, bound to `aad`: the nonce, then the ciphertext and its tag.
    pub(crate) fn seal(&self, aad: &[u8], plain: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE];
        // The system's randomness failing is not something a write can recover from.
        getrandom::fill(&mut nonce).expect("the system's random source");
        let sealed = self
            .cipher()
            .encrypt(&XNonce::from(nonce), Payload { msg: plain, aad })
            .expect("sealing in memory cannot fail");
        let mut out = Vec::with_capacity(NONCE + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    pub(crate) fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, Unopenable> {
        if sealed.len() < NONCE {
            return Err(Unopenable);
        }
        let (nonce, body) = sealed.split_at(NONCE);
        let nonce: [u8; NONCE] = nonce.try_into().map_err(|_| Unopenable)?;
        self.cipher()
            .decrypt(&XNonce::from(nonce), Payload { msg: body, aad })
            .map_err(|_| Unopenable)
    }
}

/// A text field sealed under `key` and bound to `aad`, as base64 (the column holds text).
pub(crate) fn seal_field(key: &BucketKey, aad: &str, value: Option<String>) -> Option<String> {
    use base64::Engine;
    value.map(|v| {
        base64::engine::general_purpose::STANDARD.encode(key.seal(aad.as_bytes(), v.as_bytes()))
    })
}

/// A text field sealed by `seal_field`, opened.
pub(crate) fn open_field(
    key: &BucketKey,
    aad: &str,
    value: Option<String>,
) -> Result<Option<String>, Unopenable> {
    use base64::Engine;
    let Some(value) = value else { return Ok(None) };
    let sealed = base64::engine::general_purpose::STANDARD.decode(value).map_err(|_| Unopenable)?;
    let plain = key.open(aad.as_bytes(), &sealed)?;
    String::from_utf8(plain).map(Some).map_err(|_| Unopenable)
}

/// The bucket of a value named by a hex hash (a text's SHA-256, a revision hash).
pub(crate) fn bucket_of(hex: &str) -> &str {
    hex.get(..2).unwrap_or("00")
}

/// The bucket of the digest in `column` (kept as its 32 bytes), in SQL: its first byte in hex.
pub(crate) fn bucket_sql(backend: sea_orm::DbBackend, column: &str) -> String {
    crate::store::sql::hex_text(backend, &format!("substr({column}, 1, 1)"))
}

/// Bucket keys by bucket, as read in one statement.
#[derive(Debug, Default, Clone)]
pub(crate) struct Keys(HashMap<String, BucketKey>);

impl Keys {
    /// The key of `hex`'s bucket.
    pub(crate) fn of(&self, hex: &str) -> StoreResult<&BucketKey> {
        self.0.get(bucket_of(hex)).ok_or_else(|| {
            StoreError::Unexpected(anyhow::anyhow!("no key for bucket {}", bucket_of(hex)))
        })
    }

    /// From a stored key read beside a row (`read_stored` joins them).
    pub(crate) fn insert_stored(&mut self, bucket: &str, bytes: &[u8]) -> StoreResult<()> {
        if !self.0.contains_key(bucket) {
            self.0.insert(bucket.to_owned(), BucketKey::from_stored(bytes)?);
        }
        Ok(())
    }
}

/// The keys of the buckets of `hexes`, to seal with inside a write transaction: on PostgreSQL
/// the rows are held (`FOR SHARE`) until it ends, so that no redaction rotates a key between a
/// value being sealed under it and that value being written.
pub(crate) async fn keys_for<'a>(
    conn: &impl ConnectionTrait,
    hexes: impl IntoIterator<Item = &'a str>,
) -> StoreResult<Keys> {
    read_keys(conn, hexes, true).await
}

/// The keys of the buckets of `hexes`, to open with (a plain read).
pub(crate) async fn keys_to_open<'a>(
    conn: &impl ConnectionTrait,
    hexes: impl IntoIterator<Item = &'a str>,
) -> StoreResult<Keys> {
    read_keys(conn, hexes, false).await
}

async fn read_keys<'a>(
    conn: &impl ConnectionTrait,
    hexes: impl IntoIterator<Item = &'a str>,
    hold: bool,
) -> StoreResult<Keys> {
    let buckets: BTreeSet<&str> = hexes.into_iter().map(bucket_of).collect();
    if buckets.is_empty() {
        return Ok(Keys::default());
    }
    let backend = conn.get_database_backend();
    let placeholders: Vec<String> =
        (1..=buckets.len()).map(|i| crate::store::sql::placeholder(backend, i)).collect();
    let lock = if hold && backend == DatabaseBackend::Postgres { " FOR SHARE" } else { "" };
    let sql = format!(
        "SELECT bucket, key FROM text_keys WHERE bucket IN ({}){lock}",
        placeholders.join(",")
    );
    let values: Vec<Value> = buckets.iter().map(|b| Value::from(*b)).collect();
    let rows = conn.query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
    let mut keys = Keys::default();
    for row in rows {
        let bucket: String = row.try_get_by_index(0)?;
        let key: Vec<u8> = row.try_get_by_index(1)?;
        keys.insert_stored(&bucket, &key)?;
    }
    Ok(keys)
}

/// Makes sure every bucket has a key (at `migrate`): a new database gets 256.
pub(crate) async fn ensure_keys(conn: &impl ConnectionTrait) -> StoreResult<()> {
    let mut insert = Query::insert();
    insert.into_table(TextKeys::Table).columns([TextKeys::Bucket, TextKeys::Key]);
    for bucket in 0..BUCKETS {
        let key = BucketKey::generate()?;
        insert.values_panic([format!("{bucket:02x}").into(), key.0.to_vec().into()]);
    }
    insert.on_conflict(OnConflict::column(TextKeys::Bucket).do_nothing().to_owned());
    conn.execute(&insert).await?;
    Ok(())
}

/// Gives each of `buckets` a new key, in the caller's (write) transaction, and returns the old
/// keys and the new, so that what is sealed in them can be sealed again.
pub(crate) async fn rotate(
    conn: &impl ConnectionTrait,
    buckets: &BTreeSet<String>,
) -> StoreResult<(Keys, Keys)> {
    if buckets.is_empty() {
        return Ok((Keys::default(), Keys::default()));
    }
    let backend = conn.get_database_backend();
    let placeholders: Vec<String> =
        (1..=buckets.len()).map(|i| crate::store::sql::placeholder(backend, i)).collect();
    let lock = if backend == DatabaseBackend::Postgres { " FOR UPDATE" } else { "" };
    let sql = format!(
        "SELECT bucket, key FROM text_keys WHERE bucket IN ({}){lock}",
        placeholders.join(",")
    );
    let values: Vec<Value> = buckets.iter().map(|b| Value::from(b.as_str())).collect();
    let rows = conn.query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
    let mut old = Keys::default();
    for row in rows {
        let bucket: String = row.try_get_by_index(0)?;
        let key: Vec<u8> = row.try_get_by_index(1)?;
        old.insert_stored(&bucket, &key)?;
    }
    let mut new = Keys::default();
    for bucket in buckets {
        let key = BucketKey::generate()?;
        let update = Query::update()
            .table(TextKeys::Table)
            .value(TextKeys::Key, key.0.to_vec())
            .and_where(Expr::col(TextKeys::Bucket).eq(bucket.as_str()))
            .to_owned();
        conn.execute(&update).await?;
        new.0.insert(bucket.clone(), key);
    }
    Ok((old, new))
}

#[derive(sea_orm::DeriveIden)]
enum TextKeys {
    Table,
    Bucket,
    Key,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_under_its_key_and_row_only() {
        let key = BucketKey::generate().unwrap();
        let other = BucketKey::generate().unwrap();
        let sealed = key.seal(b"row-1", b"a text");
        assert_ne!(&sealed[NONCE..NONCE + 6], b"a text");
        assert_eq!(key.open(b"row-1", &sealed).unwrap(), b"a text");
        assert_eq!(key.open(b"row-2", &sealed), Err(Unopenable));
        assert_eq!(other.open(b"row-1", &sealed), Err(Unopenable));
        assert_eq!(key.open(b"row-1", &sealed[..10]), Err(Unopenable));
        // Sealed twice, the same text gives different bytes (a fresh nonce each time).
        assert_ne!(key.seal(b"row-1", b"a text"), sealed);
    }

    #[test]
    fn buckets_are_the_first_two_hex_digits() {
        assert_eq!(bucket_of("ab12"), "ab");
        assert_eq!(bucket_of(""), "00");
    }
}
