//! Captures of web pages: the watches that say what to capture and when, each capture's
//! outcome, and the HTTP evidence of every capture that wrote a revision. The store knows
//! nothing of HTTP, HTML or WARC: the capture layer (`crate::capture`) fetches, extracts and
//! serializes, and hands the store what it found; the store decides, in one transaction,
//! whether that is a new revision or a sighting of the head, and keeps it.

mod archive;
mod evidence;
mod reads;
mod record;
mod watches;

use uuid::Uuid;

use super::error::{StoreError, StoreResult, corrupt};
use super::kinds::{CaptureOutcome, DocumentKind, WatchKind};
use super::revisions::Revision;
use super::sources::NewSource;
use super::values::{
    AgentId, CaptureId, DocumentId, InvalidValue, RevisionHash, Slug, Timestamp, Title, WatchId,
};
use crate::entity::{capture, watch};

pub use archive::{CorpusCapture, ImportedCaptures};
pub use evidence::{EvidenceKind, EvidenceRecord, PackedEvidence, StoredEvidence};
pub(crate) use evidence::{
    any_kept_for as evidence_kept_for, erase_of_revision as erase_evidence_of,
};
pub use record::CaptureRecorded;

/// How often a watch is captured, in seconds: at least every 5 minutes (a page is not polled
/// harder than a person would reload it), at most every 7 days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchInterval(i64);

impl WatchInterval {
    pub const MIN_SECONDS: i64 = 5 * 60;
    pub const MAX_SECONDS: i64 = 7 * 24 * 60 * 60;
    pub const DEFAULT_SECONDS: i64 = 60 * 60;

    pub fn from_seconds(seconds: i64) -> Result<Self, InvalidValue> {
        if (Self::MIN_SECONDS..=Self::MAX_SECONDS).contains(&seconds) {
            Ok(Self(seconds))
        } else {
            Err(InvalidValue::new(
                "intervalSeconds",
                format!(
                    "{seconds} is outside {}..={} (5 minutes to 7 days)",
                    Self::MIN_SECONDS,
                    Self::MAX_SECONDS
                ),
            ))
        }
    }

    pub fn seconds(&self) -> i64 {
        self.0
    }
}

impl Default for WatchInterval {
    fn default() -> Self {
        Self(Self::DEFAULT_SECONDS)
    }
}

/// A page or feed captured again and again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watch {
    pub id: WatchId,
    pub kind: WatchKind,
    /// An absolute http(s) URL, as the capture layer parsed it.
    pub url: String,
    /// The document its captures write (none until the first capture that found text).
    pub document: Option<DocumentId>,
    /// The slug its document is to have, when the editor chose one.
    pub slug: Option<Slug>,
    pub document_kind: DocumentKind,
    pub interval: WatchInterval,
    pub obey_robots: bool,
    pub paused: bool,
    /// The feed watch that found this page, for a feed's entries.
    pub feed: Option<WatchId>,
    pub created_by: AgentId,
    pub created_at: Timestamp,
    pub next_run_at: Timestamp,
    /// Until when the worker that claimed it holds it (`Store::claim_due_watches`).
    pub lease_until: Option<Timestamp>,
    pub validators: Validators,
    /// The bytes its page last showed the document's head as, when a capture kept them.
    pub seen: Option<SeenBytes>,
    pub last_run: Option<LastRun>,
    pub runs: u64,
    pub revisions: u64,
    pub failures: u64,
}

/// What the page's server said to send back to ask whether it changed (RFC 9110 §13.1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// The bytes of the latest capture that saw a document's head, and that head: a page that
/// sends the same bytes from the same address shows the same revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenBytes {
    pub revision: RevisionHash,
    /// The response's `WARC-Payload-Digest`.
    pub payload_digest: String,
    pub final_url: Option<String>,
}

/// How a watch's latest capture ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastRun {
    pub at: Timestamp,
    pub outcome: CaptureOutcome,
    pub status: Option<u16>,
    pub detail: Option<String>,
}

/// A watch to add, as parsed at the edge.
#[derive(Debug, Clone)]
pub struct NewWatch {
    pub kind: WatchKind,
    pub url: String,
    pub slug: Option<Slug>,
    pub document_kind: DocumentKind,
    pub interval: WatchInterval,
    pub obey_robots: bool,
}

/// One fetch of a page and what came of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capture {
    pub id: CaptureId,
    pub watch: Option<WatchId>,
    pub document: Option<DocumentId>,
    pub url: String,
    pub final_url: Option<String>,
    pub status: Option<u16>,
    pub fetched_at: Timestamp,
    pub outcome: CaptureOutcome,
    pub detail: Option<String>,
    /// The revision the capture wrote, or the head it saw again.
    pub revision: Option<RevisionHash>,
    /// The response's `WARC-Payload-Digest` (`sha256:` and base32).
    pub payload_digest: Option<String>,
    pub request_record: Option<Uuid>,
    pub response_record: Option<Uuid>,
    pub agent: AgentId,
}

/// From when to when the page showed a revision's text: the first and the last capture that
/// saw it (the one that wrote it included), and how many did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sighting {
    pub revision: RevisionHash,
    pub first: Timestamp,
    pub last: Timestamp,
    pub count: u64,
}

/// What to capture for: a watch (its document, slug and kind are the watch's), or a page
/// captured once into the document with `slug` (derived from the URL when `None`).
#[derive(Debug, Clone)]
pub enum CaptureFor {
    /// A watch, with the lease its claim set: the capture is recorded only while the watch
    /// is still held by that claim, so a worker whose lease ran out (stalled, or thought
    /// dead) records nothing once another worker has claimed the watch again.
    Watch {
        watch: WatchId,
        lease: Option<Timestamp>,
    },
    Once {
        slug: Option<Slug>,
        kind: DocumentKind,
    },
}

/// What a capture found, as the capture layer hands it to the store.
#[derive(Debug, Clone)]
pub struct CaptureReport {
    pub target: CaptureFor,
    pub url: String,
    pub final_url: Option<String>,
    pub status: Option<u16>,
    pub fetched_at: Timestamp,
    pub found: Found,
    /// The validators to send next time (kept only from a response that had text).
    pub validators: Validators,
}

/// What the page held, or why there is nothing to keep.
#[derive(Debug, Clone)]
pub enum Found {
    /// The page's article: a revision if it differs from the head, else a sighting. The
    /// evidence is kept only with a revision.
    Page(Box<PageText>),
    /// The server said the page is as it was (304): a sighting of the head.
    NotModified,
    /// The page's bytes are those the latest capture of `revision`, the head, received: a
    /// sighting, with the page not read again. If the head moved meanwhile, nothing is
    /// written (`Conflict::EvidenceNeeded`): the page must be read and its evidence kept.
    Same { revision: RevisionHash, payload_digest: String },
    /// Nothing to keep: `outcome` is `Gone`, `Failed` or `Refused`, `detail` says why.
    Nothing { outcome: CaptureOutcome, detail: String },
    /// A feed was read; `detail` says how many entries it had and how many became watches.
    Feed { detail: String },
}

#[derive(Debug, Clone)]
pub struct PageText {
    pub title: Title,
    pub text: String,
    /// The source each revision it writes is captured from.
    pub source: NewSource,
    pub payload_digest: String,
    pub evidence: Vec<EvidenceRecord>,
}

/// A document's head as a capture compares a page with it, and the bytes the latest capture
/// that saw it received (none before such captures kept their digest).
#[derive(Debug, Clone)]
pub struct CaptureHead {
    pub revision: Revision,
    pub seen: Option<SeenBytes>,
}

fn status_of(value: Option<i32>) -> Option<u16> {
    value.and_then(|s| u16::try_from(s).ok())
}

impl TryFrom<watch::Model> for Watch {
    type Error = StoreError;
    fn try_from(row: watch::Model) -> StoreResult<Self> {
        let last_run = match (row.last_run_at, row.last_outcome) {
            (Some(at), Some(outcome)) => Some(LastRun {
                at: Timestamp::from_micros(at),
                outcome: outcome.parse().map_err(|e| corrupt("watches.last_outcome", e))?,
                status: status_of(row.last_status),
                detail: row.last_detail,
            }),
            _ => None,
        };
        Ok(Watch {
            id: row.id.into(),
            kind: row.kind.parse().map_err(|e| corrupt("watches.kind", e))?,
            url: row.url,
            document: row.document_id.map(DocumentId::from),
            slug: row.slug.map(Slug::from_trusted),
            document_kind: row
                .document_kind
                .parse()
                .map_err(|e| corrupt("watches.document_kind", e))?,
            interval: WatchInterval(row.interval_seconds),
            obey_robots: row.obey_robots,
            paused: row.paused,
            feed: row.feed_id.map(WatchId::from),
            created_by: row.created_by.into(),
            created_at: Timestamp::from_micros(row.created_at),
            next_run_at: Timestamp::from_micros(row.next_run_at),
            lease_until: row.lease_until.map(Timestamp::from_micros),
            validators: Validators { etag: row.etag, last_modified: row.last_modified },
            seen: match (row.seen_revision, row.seen_digest) {
                (Some(revision), Some(payload_digest)) => {
                    Some(SeenBytes { revision, payload_digest, final_url: row.seen_final_url })
                }
                _ => None,
            },
            last_run,
            runs: row.runs.max(0) as u64,
            revisions: row.revisions.max(0) as u64,
            failures: row.failures.max(0) as u64,
        })
    }
}

impl TryFrom<capture::Model> for Capture {
    type Error = StoreError;
    fn try_from(row: capture::Model) -> StoreResult<Self> {
        Ok(Capture {
            id: row.id.into(),
            watch: row.watch_id.map(WatchId::from),
            document: row.document_id.map(DocumentId::from),
            url: row.url,
            final_url: row.final_url,
            status: status_of(row.status),
            fetched_at: Timestamp::from_micros(row.fetched_at),
            outcome: row.outcome.parse().map_err(|e| corrupt("captures.outcome", e))?,
            detail: row.detail,
            revision: row.revision_hash,
            payload_digest: row.payload_digest,
            request_record: row.request_record,
            response_record: row.response_record,
            agent: row.agent_id.into(),
        })
    }
}

/// A slug for a page captured without one: its host and path in slug form
/// (`https://news.example/2026/story.html` → `news-example-2026-story-html`), cut to leave
/// room for a `-N` suffix should it be taken.
pub fn slug_for_url(url: &str) -> Slug {
    let without_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let without_query = without_scheme.split(['?', '#']).next().unwrap_or_default();
    let mut slug = String::with_capacity(without_query.len());
    for c in without_query.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
        if slug.len() >= Slug::MAX_LEN - 4 {
            break;
        }
    }
    let slug = slug.trim_end_matches('-');
    Slug::parse(if slug.is_empty() { "captured-page" } else { slug })
        .expect("only lowercase letters, digits and single inner hyphens are kept")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_becomes_a_slug_of_its_host_and_path() {
        let cases = [
            ("https://news.example/2026/Story.html?x=1#top", "news-example-2026-story-html"),
            ("http://127.0.0.1:8080/", "127-0-0-1-8080"),
            ("https://xn--r8jz45g.jp/%E3%83%9A", "xn-r8jz45g-jp-e3-83-9a"),
            ("https://", "captured-page"),
        ];
        for (url, slug) in cases {
            assert_eq!(slug_for_url(url).as_str(), slug, "{url}");
        }
        let long = format!("https://example.com/{}", "a".repeat(500));
        assert!(slug_for_url(&long).as_str().len() <= Slug::MAX_LEN - 4);
    }

    #[test]
    fn intervals_are_bounded() {
        assert!(WatchInterval::from_seconds(299).is_err());
        assert!(WatchInterval::from_seconds(300).is_ok());
        assert!(WatchInterval::from_seconds(7 * 24 * 3600).is_ok());
        assert!(WatchInterval::from_seconds(7 * 24 * 3600 + 1).is_err());
    }
}
