//! How texts and headers are kept on disk. Hashes never see any of this: they are over the
//! plain UTF-8 text and the canonical header bytes, which every read gives back byte for byte.
//!
//! A text is a zstd frame, either whole or as a *delta*: compressed with a newer text of its
//! document as zstd's prefix (its "patch-from" mode), so a revision that changed a paragraph
//! costs little more than that paragraph. Deltas point forward in time (the reverse deltas of
//! RCS): a document's head is stored whole, so reading it (the hot path) is one decompression,
//! and when a revision arrives its parent's text is rewritten as a delta against it. A chain of
//! deltas ends at a whole text; its length is kept below [`MAX_CHAIN`] so reading an old
//! revision costs a bounded number of decompressions.
//!
//! A header that is the canonical header of its row's own columns (every header this store
//! writes) is not kept at all: it is rebuilt from them when asked for, and only a short digest
//! of each member stays, so that verification can name the column an alteration broke
//! ([`KeptHeader::Rebuilt`]). Any other header (one written by hand, say) is a zstd frame with
//! the header's fixed skeleton as prefix: the skeleton is most of what its members do not say.

use std::cell::RefCell;
use std::collections::HashMap;

use zstd::zstd_safe::{CCtx, DCtx};

use crate::store::hashing::MemberDigests;

/// How a blob's text is stored (`blobs.packing`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Packing {
    /// In `blobs.content`, as written before texts were packed (and purged texts, emptied).
    Plain,
    /// A zstd frame of the whole text in `blobs.packed`.
    Whole,
    /// A zstd frame in `blobs.packed` compressed against the text of `blobs.base_sha256`.
    Delta,
}

impl Packing {
    pub(crate) fn code(self) -> i16 {
        match self {
            Packing::Plain => 0,
            Packing::Whole => 1,
            Packing::Delta => 2,
        }
    }

    pub(crate) fn from_code(code: i16) -> Option<Self> {
        match code {
            0 => Some(Packing::Plain),
            1 => Some(Packing::Whole),
            2 => Some(Packing::Delta),
            _ => None,
        }
    }
}

/// Deltas in a chain, at most, before a whole text: reading the oldest revision of a segment
/// costs this many decompressions of a few microseconds each.
pub(crate) const MAX_CHAIN: i16 = 32;

/// zstd's default level: within a few percent of level 19 on revision deltas (measured on the
/// reference corpus), at a fraction of the time.
const LEVEL: i32 = 3;

/// The parts of every v1 header that its members do not vary. Stored header frames are
/// compressed against these exact bytes: they must never change (a new skeleton would need a
/// new `packed_header` format, not an edit here).
const HEADER_SKELETON: &[u8] = br#"{"author":"","content_sha256":"","created_at":"2000-01-01T00:00:00.000000Z","document":"","message":"","parent":"","source":"","title":"","type":"palimpsest.revision/v1"}"#;

/// Why stored bytes could not be unpacked: the database was damaged or written by something
/// other than this store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum UnpackError {
    #[error("the stored frame is not valid zstd ({0})")]
    Frame(&'static str),
    #[error("the stored frame unpacks to {got} bytes, not the {expected} recorded")]
    Length { expected: usize, got: usize },
    #[error("the stored frame does not unpack to UTF-8")]
    NotUtf8,
    #[error("unknown packing code {0}")]
    UnknownPacking(i16),
    #[error("the text it is a delta against, {0}, is not stored")]
    MissingBase(String),
    #[error("its chain of deltas does not end in a whole text")]
    BrokenChain,
    #[error("the stored frame is sealed and does not open under its bucket's key")]
    Unopenable,
}

thread_local! {
    // A context per thread, kept: creating one costs more than packing a header.
    static COMPRESSOR: RefCell<CCtx<'static>> = RefCell::new(CCtx::create());
    static DECOMPRESSOR: RefCell<DCtx<'static>> = RefCell::new(DCtx::create());
}

/// A frame of `bytes`, against `prefix` when given. zstd's one-shot defaults are what is
/// wanted: the content size is written into the frame (a reader checks it before allocating),
/// no checksum (the SHA-256 a reader may recompute is a stronger one), no dictionary id. A
/// prefix is loaded as raw content: zstd would take it for a trained dictionary only if it
/// began with bytes 37 A4 30 EC, which no UTF-8 text does.
fn compress(bytes: &[u8], prefix: Option<&[u8]>) -> Vec<u8> {
    let mut out = Vec::with_capacity(zstd::zstd_safe::compress_bound(bytes.len()));
    COMPRESSOR.with_borrow_mut(|cctx| {
        let written = match prefix {
            Some(prefix) => cctx.compress_using_dict(&mut out, bytes, prefix, LEVEL),
            None => cctx.compress(&mut out, bytes, LEVEL),
        };
        // The output buffer holds the worst case, so compressing in memory cannot fail.
        written.expect("a buffer of compress_bound bytes suffices");
    });
    out
}

fn decompress(frame: &[u8], prefix: Option<&[u8]>, expected: usize) -> Result<String, UnpackError> {
    String::from_utf8(unpack_bytes(frame, prefix, expected)?).map_err(|_| UnpackError::NotUtf8)
}

/// Bytes that are not text (captured evidence) as a frame, against `prefix` when given.
pub(crate) fn pack_bytes(bytes: &[u8], prefix: Option<&[u8]>) -> Vec<u8> {
    compress(bytes, prefix)
}

/// A frame of `pack_bytes` back to its `expected` bytes; the frame's own content size must
/// say the same before anything is allocated.
pub(crate) fn unpack_bytes(
    frame: &[u8],
    prefix: Option<&[u8]>,
    expected: usize,
) -> Result<Vec<u8>, UnpackError> {
    match zstd::zstd_safe::get_frame_content_size(frame) {
        Ok(Some(size)) if size as usize == expected => {}
        Ok(Some(size)) => return Err(UnpackError::Length { expected, got: size as usize }),
        Ok(None) | Err(_) => return Err(UnpackError::Frame("no content size")),
    }
    let mut out = Vec::with_capacity(expected);
    DECOMPRESSOR
        .with_borrow_mut(|dctx| match prefix {
            Some(prefix) => dctx.decompress_using_dict(&mut out, frame, prefix),
            None => dctx.decompress(&mut out, frame),
        })
        .map_err(|code| UnpackError::Frame(zstd_error(code)))?;
    if out.len() != expected {
        return Err(UnpackError::Length { expected, got: out.len() });
    }
    Ok(out)
}

fn zstd_error(code: usize) -> &'static str {
    zstd::zstd_safe::get_error_name(code)
}

/// `text` as a whole frame.
pub(crate) fn pack_whole(text: &str) -> Vec<u8> {
    compress(text.as_bytes(), None)
}

/// `text` as a delta against `base`.
pub(crate) fn pack_delta(text: &str, base: &str) -> Vec<u8> {
    compress(text.as_bytes(), Some(base.as_bytes()))
}

/// A canonical header as stored.
pub(crate) fn pack_header(header: &str) -> Vec<u8> {
    compress(header.as_bytes(), Some(HEADER_SKELETON))
}

/// Leads `packed_header` where the header is rebuilt from its row. A zstd frame starts with
/// its magic number (0x28 first), never with this byte.
const REBUILT: u8 = 0x01;

/// What `revisions.packed_header` keeps of a header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeptHeader<'a> {
    /// A frame of `pack_header`.
    Frame(&'a [u8]),
    /// Nothing but its members' digests: the header is the row's canonical header. `None`
    /// when they are not whole (the row was altered).
    Rebuilt(Option<MemberDigests>),
}

/// What a header rebuilt from its row leaves in `packed_header`.
pub(crate) fn pack_rebuilt(digests: &MemberDigests) -> Vec<u8> {
    let mut kept = Vec::with_capacity(1 + digests.len() * 2);
    kept.push(REBUILT);
    kept.extend(digests.iter().flatten());
    kept
}

impl<'a> KeptHeader<'a> {
    pub(crate) fn of(packed: &'a [u8]) -> Self {
        match packed.split_first() {
            Some((&REBUILT, digests)) => KeptHeader::Rebuilt(
                digests.as_chunks::<2>().0.try_into().ok().filter(|_| digests.len() % 2 == 0),
            ),
            _ => KeptHeader::Frame(packed),
        }
    }
}

/// A stored header frame back to its canonical bytes.
pub(crate) fn unpack_header(frame: &[u8]) -> Result<String, UnpackError> {
    let size = match zstd::zstd_safe::get_frame_content_size(frame) {
        // A header is a few hundred bytes; titles and messages are bounded far below this.
        Ok(Some(size)) if size <= 1 << 20 => size as usize,
        _ => return Err(UnpackError::Frame("no plausible content size")),
    };
    decompress(frame, Some(HEADER_SKELETON), size)
}

/// A blob's row as read, before its text is unpacked.
#[derive(Debug, Clone)]
pub(crate) struct StoredBlob {
    pub sha256: String,
    pub packing: i16,
    pub content: String,
    pub packed: Option<Vec<u8>>,
    pub base: Option<String>,
    pub byte_length: i64,
    pub purged: bool,
    /// Sealed, and it did not open under its bucket's key (`store::seal`).
    pub unopenable: bool,
}

/// A blob's text as a reader gets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unpacked {
    Text(String),
    /// A redaction emptied it.
    Purged,
    Damaged(UnpackError),
}

/// The texts of `wanted`, unpacked from `rows`, which must hold every blob on their chains (as
/// `blobs::read_stored` reads them). Each text on a shared chain is unpacked once.
pub(crate) fn unpack_all<'w>(
    rows: Vec<StoredBlob>,
    wanted: impl IntoIterator<Item = &'w str>,
) -> HashMap<String, Unpacked> {
    unpack_all_from(rows, wanted, HashMap::new())
}

/// As `unpack_all`, with the texts in `known` already unpacked: a chain is unpacked down from
/// the nearest of them, and `rows` need not hold what lies beyond it. The result holds every
/// text on the chains walked, `known`'s included.
pub(crate) fn unpack_all_from<'w>(
    rows: Vec<StoredBlob>,
    wanted: impl IntoIterator<Item = &'w str>,
    known: HashMap<String, Unpacked>,
) -> HashMap<String, Unpacked> {
    let rows: HashMap<String, StoredBlob> =
        rows.into_iter().map(|r| (r.sha256.clone(), r)).collect();
    let mut done = known;
    for hash in wanted {
        if done.contains_key(hash) || !rows.contains_key(hash) {
            continue;
        }
        // Walk to the nearest text already known (or a whole one), then unpack back down.
        let mut path: Vec<&StoredBlob> = Vec::new();
        let mut at = hash;
        let ended = loop {
            if done.contains_key(at) {
                break None;
            }
            let Some(row) = rows.get(at) else {
                break Some(UnpackError::MissingBase(at.to_owned()));
            };
            path.push(row);
            match (Packing::from_code(row.packing), &row.base) {
                (Some(Packing::Delta), Some(base)) if !row.purged => {
                    if path.len() > 4 * MAX_CHAIN as usize {
                        break Some(UnpackError::BrokenChain);
                    }
                    at = base;
                }
                _ => break None,
            }
        };
        if let Some(error) = ended {
            for row in path {
                done.insert(row.sha256.clone(), Unpacked::Damaged(error.clone()));
            }
            continue;
        }
        for row in path.into_iter().rev() {
            let unpacked = unpack_one(row, &done);
            done.insert(row.sha256.clone(), unpacked);
        }
    }
    done
}

fn unpack_one(row: &StoredBlob, done: &HashMap<String, Unpacked>) -> Unpacked {
    if row.purged {
        return Unpacked::Purged;
    }
    if row.unopenable {
        return Unpacked::Damaged(UnpackError::Unopenable);
    }
    let expected = row.byte_length.max(0) as usize;
    let unpacked = match Packing::from_code(row.packing) {
        None => Err(UnpackError::UnknownPacking(row.packing)),
        Some(Packing::Plain) => Ok(row.content.clone()),
        Some(packing) => {
            let frame = row.packed.as_deref().unwrap_or_default();
            match (packing, &row.base) {
                (Packing::Delta, Some(base)) => match done.get(base.as_str()) {
                    Some(Unpacked::Text(base)) => {
                        decompress(frame, Some(base.as_bytes()), expected)
                    }
                    Some(Unpacked::Damaged(error)) => Err(error.clone()),
                    _ => Err(UnpackError::MissingBase(base.clone())),
                },
                (Packing::Delta, None) => Err(UnpackError::BrokenChain),
                _ => decompress(frame, None, expected),
            }
        }
    };
    match unpacked {
        Ok(text) => Unpacked::Text(text),
        Err(error) => Unpacked::Damaged(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(sha256: &str, text: &str, base: Option<(&str, &str)>) -> StoredBlob {
        let (packing, packed) = match base {
            Some((_, base_text)) => (Packing::Delta, pack_delta(text, base_text)),
            None => (Packing::Whole, pack_whole(text)),
        };
        StoredBlob {
            sha256: sha256.into(),
            packing: packing.code(),
            content: String::new(),
            packed: Some(packed),
            base: base.map(|(hash, _)| hash.to_owned()),
            byte_length: text.len() as i64,
            purged: false,
            unopenable: false,
        }
    }

    #[test]
    fn a_delta_chain_unpacks_to_every_text() {
        let head = "The council approved the plan. ".repeat(40);
        let middle = head.replace("approved", "delayed");
        let oldest = middle.replace("plan", "budget");
        let rows = vec![
            stored("c", &oldest, Some(("b", &middle))),
            stored("b", &middle, Some(("a", &head))),
            stored("a", &head, None),
        ];
        let delta = rows[0].packed.as_ref().unwrap().len();
        assert!(delta * 10 < oldest.len(), "a small edit packs small ({delta} bytes)");
        let texts = unpack_all(rows, ["c", "a"]);
        assert_eq!(texts["c"], Unpacked::Text(oldest));
        assert_eq!(texts["b"], Unpacked::Text(middle));
        assert_eq!(texts["a"], Unpacked::Text(head));
    }

    #[test]
    fn a_chain_unpacks_down_from_a_text_already_known() {
        let head = "The council approved the plan. ".repeat(40);
        let middle = head.replace("approved", "delayed");
        let oldest = middle.replace("plan", "budget");
        // Neither `b`'s row nor `a`'s: `b`'s text is known, and the walk ends there.
        let rows = vec![stored("c", &oldest, Some(("b", &middle)))];
        let known = HashMap::from([("b".to_owned(), Unpacked::Text(middle.clone()))]);
        let texts = unpack_all_from(rows, ["c"], known);
        assert_eq!(texts["c"], Unpacked::Text(oldest));
        assert_eq!(texts["b"], Unpacked::Text(middle));
        assert!(!texts.contains_key("a"));
    }

    #[test]
    fn damage_is_reported_not_papered_over() {
        let text = "Nothing in this text repeats: 0123456789 abcdefghij ÄÖÜ.";
        let mut flipped = stored("a", text, None);
        let frame = flipped.packed.as_mut().unwrap();
        let last = frame.len() - 1;
        frame[last] ^= 0x55;
        let mut short = stored("b", text, None);
        short.byte_length -= 1;
        let orphan = stored("c", text, Some(("gone", "base")));
        let texts = unpack_all(vec![flipped, short, orphan], ["a", "b", "c"]);
        assert!(!matches!(texts["a"], Unpacked::Text(ref t) if t == text), "{:?}", texts["a"]);
        assert!(matches!(texts["b"], Unpacked::Damaged(UnpackError::Length { .. })));
        assert_eq!(texts["c"], Unpacked::Damaged(UnpackError::MissingBase("gone".into())));
    }

    #[test]
    fn a_loop_of_deltas_ends_in_an_error() {
        let mut a = stored("a", "one", Some(("b", "two")));
        let b = stored("b", "two", Some(("a", "one")));
        a.base = Some("b".into());
        let texts = unpack_all(vec![a, b], ["a"]);
        assert_eq!(texts["a"], Unpacked::Damaged(UnpackError::BrokenChain));
    }

    #[test]
    fn headers_round_trip_and_pack_small() {
        let header = r#"{"author":"019abcde-0000-7000-8000-000000000001","content_sha256":"537dd50b26c5a1707437be3d6b35bb85ba9dbc4bb2b4dfded9ee3dfd7fae3a3f","created_at":"2026-11-24T10:15:30.123456Z","document":"019abcde-0123-7456-89ab-0123456789ab","message":"Captured","parent":null,"source":null,"title":"Former security chiefs","type":"palimpsest.revision/v1"}"#;
        let frame = pack_header(header);
        assert!(frame.len() < header.len());
        assert_eq!(unpack_header(&frame).unwrap(), header);
        assert!(unpack_header(&frame[..frame.len() / 2]).is_err());
        assert_eq!(KeptHeader::of(&frame), KeptHeader::Frame(&frame));
    }

    #[test]
    fn a_rebuilt_header_keeps_its_digests_and_says_when_they_are_cut() {
        let digests: MemberDigests = std::array::from_fn(|i| [i as u8, 0xff - i as u8]);
        let kept = pack_rebuilt(&digests);
        assert_eq!(kept.len(), 19);
        assert_eq!(KeptHeader::of(&kept), KeptHeader::Rebuilt(Some(digests)));
        assert_eq!(KeptHeader::of(&kept[..18]), KeptHeader::Rebuilt(None));
        assert_eq!(KeptHeader::of(&kept[..1]), KeptHeader::Rebuilt(None));
        assert_eq!(KeptHeader::of(&[]), KeptHeader::Frame(&[]));
    }
}
