//! The texts of revisions: each stored once under its SHA-256, however many revisions share
//! it (`blobs`), packed as `packing` describes — a document's newest text whole, older ones as
//! deltas against the text of the revision after them — and sealed under the keys of `seal`,
//! so that a redaction can erase them (`crate::store::erasure`). Written (`write`), read
//! (`read`), purged by a redaction (`purge`), and brought up to the current form by an
//! upgrade (`upgrade`).
//!
//! Invariant: a blob is only ever a delta against the text of a *child* of a revision that has
//! it (a revision whose parent has the blob's text). So the blobs that depend on a text are
//! found through the revisions that have it, with the indexes revisions already have.

pub(crate) mod cache;
pub(crate) mod packing;
mod purge;
mod read;
pub(crate) mod seal;
mod upgrade;
mod write;

pub(crate) use purge::purge;
pub use read::FrameCache;
pub(crate) use read::{content_of, read_stored, texts_of, texts_through};
pub(crate) use upgrade::pack_plain;
pub(crate) use upgrade::rebuild_header_frames;
pub use upgrade::{headers_for_downgrade, unpack_for_downgrade};
pub(crate) use write::{insert_blob, rebase_parent, store_many};

use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};

use self::packing::{Packing, StoredBlob};
use self::seal::Keys;
use crate::entity::blob;
use crate::store::error::StoreResult;
use crate::store::values::ContentHash;

/// A text's SHA-256, named by its hex digits as the packing code names it, as the database
/// keeps it.
fn stored_digest(hex: &str) -> sea_orm::Value {
    ContentHash::from_trusted(hex.to_owned()).into()
}

/// A stored row with its frame opened (`seal`): what the packing code reads.
fn opened(row: blob::Model, keys: &Keys) -> StoredBlob {
    let sha256 = row.sha256.into_hex();
    let (packed, unopenable) = open_frame(&sha256, row.packed, row.sealed, keys);
    StoredBlob {
        sha256,
        packing: row.packing,
        content: row.content,
        packed,
        base: row.base_sha256.map(ContentHash::into_hex),
        byte_length: row.byte_length,
        purged: row.purged_at.is_some(),
        unopenable,
    }
}

/// A stored frame opened under its bucket's key when it is sealed; whether it did not open.
fn open_frame(
    sha256: &str,
    packed: Option<Vec<u8>>,
    sealed: bool,
    keys: &Keys,
) -> (Option<Vec<u8>>, bool) {
    match packed {
        Some(frame) if sealed => match keys.of(sha256).map(|k| k.open(sha256.as_bytes(), &frame)) {
            Ok(Ok(plain)) => (Some(plain), false),
            _ => (None, true),
        },
        other => (other, false),
    }
}

/// A text frame sealed for the row of `hash`.
fn sealed_frame(keys: &Keys, hash: &str, frame: &[u8]) -> StoreResult<Vec<u8>> {
    Ok(keys.of(hash)?.seal(hash.as_bytes(), frame))
}

/// A new blob row: `content` whole, or as a delta against `base`'s text, sealed.
fn packed_row(
    hash: &ContentHash,
    content: &str,
    base: Option<(&ContentHash, &str)>,
    chain_height: i16,
    keys: &Keys,
) -> StoreResult<blob::ActiveModel> {
    let (packing, frame) = match base {
        Some((_, base_text)) => (Packing::Delta, packing::pack_delta(content, base_text)),
        None => (Packing::Whole, packing::pack_whole(content)),
    };
    Ok(blob::ActiveModel {
        sha256: Set(hash.clone()),
        content: Set(String::new()),
        byte_length: Set(content.len() as i64),
        purged_at: Set(None),
        packing: Set(packing.code()),
        packed: Set(Some(sealed_frame(keys, hash.hex(), &frame)?)),
        base_sha256: Set(base.map(|(hash, _)| hash.clone())),
        chain_height: Set(chain_height),
        sealed: Set(true),
    })
}

/// On inserting a blob that is stored already: a text a redaction purged is stored again when
/// a new revision brings it back; any other is left as it is.
fn refill_purged() -> OnConflict {
    use blob::Column as C;
    OnConflict::column(C::Sha256)
        .update_columns([
            C::Content,
            C::PurgedAt,
            C::Packing,
            C::Packed,
            C::BaseSha256,
            C::ChainHeight,
            C::Sealed,
        ])
        .action_and_where(Expr::col((blob::Entity, C::PurgedAt)).is_not_null())
        .to_owned()
}
