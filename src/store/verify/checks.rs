//! The checks of one document's chain, pure computation over rows already read: every content
//! and header hash recomputed, every header held to the columns it covers, every link, number,
//! time and head followed. Rows come in `(document, number)` order, a chunk at a time; the
//! walker carries each chain across chunks.

use std::collections::{HashMap, HashSet};

use sha2::{Digest, Sha256};

use super::{Problem, Report};
use crate::entity::revision;
use crate::store::hashing::{MEMBERS, MemberDigests};
use crate::store::kinds::ProblemKind;
use crate::store::revisions::{header_of_columns, row_header, stored_header};
use crate::store::texts::packing::KeptHeader;
use crate::store::texts::packing::Unpacked;
use crate::store::tlog;
use crate::store::values::{DocumentId, RevisionHash, Timestamp};

/// A stored text as verification needs it: hashed once, however many revisions share it.
pub(super) enum StoredText {
    Kept {
        /// Lowercase hex SHA-256 of the stored bytes.
        digest: String,
        bytes: usize,
    },
    Purged,
    /// Its stored bytes do not unpack.
    Damaged(String),
}

impl StoredText {
    pub fn of(text: &Unpacked) -> Self {
        match text {
            Unpacked::Text(content) => StoredText::Kept {
                digest: hex::encode(Sha256::digest(content.as_bytes())),
                bytes: content.len(),
            },
            Unpacked::Purged => StoredText::Purged,
            Unpacked::Damaged(error) => StoredText::Damaged(error.to_string()),
        }
    }
}

/// What a chunk of revisions needs besides the rows.
pub(super) struct ChunkContext<'a> {
    pub texts: HashMap<String, StoredText>,
    pub tombstones: &'a HashSet<RevisionHash>,
    /// The stored leaves of the transparency log at the chunk's revisions' indexes.
    pub leaves: HashMap<i64, Vec<u8>>,
}

/// Where a document's chain stands after the rows seen so far.
#[derive(Debug, Clone)]
pub(super) struct ChainEnd {
    pub document: DocumentId,
    pub hash: RevisionHash,
    pub number: i64,
    pub created_at: i64,
    pub log_index: Option<i64>,
    /// When the chain's first revision was made.
    pub first_created_at: i64,
}

/// Checks `rows` (in `(document, number)` order) as continuations of `last`; returns where
/// each document's chain ended, in the order the documents were met.
pub(super) fn check_chunk(
    rows: &[revision::Model],
    context: &ChunkContext<'_>,
    mut last: Option<ChainEnd>,
    report: &mut Report,
) -> Vec<ChainEnd> {
    let mut ends = Vec::new();
    for row in rows {
        let document = DocumentId::from(row.document_id);
        let hash = row.hash.clone();
        let problem = |kind, field: Option<&'static str>, detail: String| Problem {
            kind,
            document: Some(document),
            revision: Some(hash.clone()),
            field,
            detail,
        };
        report.revisions += 1;
        let previous = match last.take() {
            Some(end) if end.document == document => Some(end),
            Some(end) => {
                ends.push(end);
                None
            }
            None => None,
        };
        check_link(row, previous.as_ref(), report, &problem);
        check_header(row, report, &problem);
        check_content(row, context, report, &problem);
        match row.log_index {
            None => report.add(problem(
                ProblemKind::LogMissing,
                Some("log_index"),
                "the revision has no leaf in the transparency log".into(),
            )),
            // Leaves are checked here only when they were read (one document); the log's own
            // verification recomputes them all.
            Some(_) if context.leaves.is_empty() => {}
            Some(index) => match context.leaves.get(&index) {
                Some(leaf) if leaf.as_slice() == tlog::leaf_of(&hash).as_slice() => {}
                Some(_) => report.add(problem(
                    ProblemKind::LogLeaf,
                    Some("log_index"),
                    format!("leaf {index} of the transparency log is not this revision's"),
                )),
                None => report.add(problem(
                    ProblemKind::LogLeaf,
                    Some("log_index"),
                    format!("the transparency log holds no leaf {index}"),
                )),
            },
        }
        let first_created_at = previous.as_ref().map_or(row.created_at, |p| p.first_created_at);
        last = Some(ChainEnd {
            document,
            hash,
            number: row.number,
            created_at: row.created_at,
            log_index: row.log_index,
            first_created_at,
        });
    }
    ends.extend(last);
    ends
}

fn check_link(
    row: &revision::Model,
    previous: Option<&ChainEnd>,
    report: &mut Report,
    problem: &impl Fn(ProblemKind, Option<&'static str>, String) -> Problem,
) {
    let expected_number = previous.map_or(1, |p| p.number + 1);
    if row.number != expected_number {
        report.add(problem(
            ProblemKind::Number,
            Some("number"),
            format!("is {}; the chain has {} here", row.number, expected_number),
        ));
    }
    let expected_parent = previous.map(|p| &p.hash);
    if row.parent_hash.as_ref() != expected_parent {
        report.add(problem(
            ProblemKind::Parent,
            Some("parent"),
            format!(
                "names {}; the revision before it in the chain is {}",
                row.parent_hash.as_ref().map_or("no parent", RevisionHash::hex),
                expected_parent.map_or("none", RevisionHash::hex)
            ),
        ));
    }
    if let (Some(previous), Some(index)) = (previous, row.log_index)
        && previous.log_index.is_some_and(|before| before >= index)
    {
        report.add(problem(
            ProblemKind::LogLeaf,
            Some("log_index"),
            format!("leaf {index} comes before its parent's in the transparency log"),
        ));
    }
    if let Some(previous) = previous
        && row.created_at <= previous.created_at
    {
        report.add(problem(
            ProblemKind::Time,
            Some("created_at"),
            format!(
                "{} is not after its parent's {}",
                Timestamp::from_micros(row.created_at),
                Timestamp::from_micros(previous.created_at)
            ),
        ));
    }
}

fn check_header(
    row: &revision::Model,
    report: &mut Report,
    problem: &impl Fn(ProblemKind, Option<&'static str>, String) -> Problem,
) {
    if let Some(KeptHeader::Rebuilt(digests)) = row.packed_header.as_deref().map(KeptHeader::of) {
        return check_rebuilt_header(row, digests, report, problem);
    }
    let header = match stored_header(row) {
        Ok(header) => header,
        Err(error) => {
            report.add(problem(
                ProblemKind::HeaderMalformed,
                Some("header"),
                format!("the stored header cannot be read: {error}"),
            ));
            return;
        }
    };
    let recomputed = RevisionHash::of_header(&header);
    if recomputed != row.hash {
        report.add(problem(
            ProblemKind::HeaderHash,
            Some("header"),
            format!("the stored header hashes to {recomputed}, not to the revision's hash"),
        ));
    }
    let from_columns = header_of_columns(row);
    if from_columns == header {
        return;
    }
    // Say which member disagrees, not just that something does.
    let (Ok(stored), Ok(expected)) = (
        serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&header),
        serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&from_columns),
    ) else {
        report.add(problem(
            ProblemKind::HeaderMalformed,
            Some("header"),
            "the stored header is not a JSON object".into(),
        ));
        return;
    };
    let mut named = false;
    for (member, value) in &expected {
        if stored.get(member) != Some(value) {
            named = true;
            report.add(problem(
                ProblemKind::HeaderField,
                Some(member_field(member)),
                format!(
                    "the header says {}, the stored column {}",
                    stored.get(member).map_or("nothing".into(), |v| v.to_string()),
                    value
                ),
            ));
        }
    }
    if !named {
        report.add(problem(
            ProblemKind::HeaderMalformed,
            Some("header"),
            "the stored header is not the canonical form of its members".into(),
        ));
    }
}

/// A header kept as its row's columns and its members' digests: the columns must still hash
/// to the revision, and where they do not, the digests name the member whose column changed
/// (its old value went with the header). `type` is no column, so its digest always agrees
/// unless the digests themselves were damaged.
fn check_rebuilt_header(
    row: &revision::Model,
    kept: Option<MemberDigests>,
    report: &mut Report,
    problem: &impl Fn(ProblemKind, Option<&'static str>, String) -> Problem,
) {
    const TYPE: usize = MEMBERS.len() - 1;
    let (recomputed, digests, values) = row_header(row, |header| {
        let hash = RevisionHash::of_header(&header.canonical_json());
        (hash, header.member_digests(), header.member_values())
    });
    let holds = recomputed == row.hash;
    let broken = || {
        problem(
            ProblemKind::HeaderHash,
            Some("header"),
            format!(
                "the header rebuilt from the row hashes to {recomputed}, not to the revision's hash"
            ),
        )
    };
    let Some(kept) = kept.filter(|kept| kept[TYPE] == digests[TYPE]) else {
        report.add(problem(
            ProblemKind::HeaderMalformed,
            Some("header"),
            "the digests kept of the header's members are damaged".into(),
        ));
        if !holds {
            report.add(broken());
        }
        return;
    };
    let changed: Vec<usize> = (0..MEMBERS.len()).filter(|&i| kept[i] != digests[i]).collect();
    match (holds, changed.is_empty()) {
        (true, true) => {}
        (true, false) => report.add(problem(
            ProblemKind::HeaderMalformed,
            Some("header"),
            "the digests kept of the header's members are not its members'".into(),
        )),
        (false, true) => report.add(broken()),
        (false, false) => {
            for i in changed {
                let member = MEMBERS[i];
                report.add(problem(
                    ProblemKind::HeaderField,
                    Some(member),
                    format!(
                        "the stored column {} is not the {member} the revision's hash covers",
                        values[i]
                    ),
                ));
            }
        }
    }
}

/// The `'static` name of a header member (the members are fixed by the hashing contract).
fn member_field(member: &str) -> &'static str {
    MEMBERS.iter().find(|m| **m == member).copied().unwrap_or("header")
}

fn check_content(
    row: &revision::Model,
    context: &ChunkContext<'_>,
    report: &mut Report,
    problem: &impl Fn(ProblemKind, Option<&'static str>, String) -> Problem,
) {
    let tombstone = context.tombstones.contains(&row.hash);
    if row.redacted || tombstone {
        report.add_redacted(row.hash.clone());
        if row.redacted != tombstone {
            report.add(problem(
                ProblemKind::Redaction,
                Some("redacted"),
                if tombstone {
                    "a tombstone records a redaction the revision does not show".into()
                } else {
                    "the revision is marked redacted without a tombstone".into()
                },
            ));
        }
        return;
    }
    match context.texts.get(row.content_sha256.hex()) {
        Some(StoredText::Kept { digest, bytes }) => {
            if digest != row.content_sha256.hex() {
                report.add(problem(
                    ProblemKind::ContentHash,
                    Some("content"),
                    format!("the stored text hashes to {digest}, not to content_sha256"),
                ));
            }
            if *bytes as i64 != row.content_bytes {
                report.add(problem(
                    ProblemKind::ContentSize,
                    Some("content_bytes"),
                    format!("says {}; the text is {bytes} bytes", row.content_bytes),
                ));
            }
        }
        Some(StoredText::Damaged(error)) => report.add(problem(
            ProblemKind::ContentHash,
            Some("content"),
            format!("the stored text cannot be read: {error}"),
        )),
        Some(StoredText::Purged) => report.add(problem(
            ProblemKind::ContentMissing,
            Some("content"),
            "the text was purged, but the revision is not redacted".into(),
        )),
        None => report.add(problem(
            ProblemKind::ContentMissing,
            Some("content"),
            "no stored text has the revision's content_sha256".into(),
        )),
    }
}
