//! WARC 1.1 records (ISO 28500:2017): the evidence a capture keeps of each HTTP exchange.
//!
//! WARC is what web archives keep, so evidence kept as WARC can be checked, indexed and replayed
//! by tools that are not ours (`warcio check`, pywb) without trusting this server: a captured
//! revision is only as credible as what a third party can verify of it.
//!
//! A [`Record`] is made only by the builders ([`warcinfo`], [`request`], [`response`],
//! [`revisit`]) or by [`read`], never field by field, so its `Content-Length` and block digest
//! always describe its block. Each record is written as its own gzip member ([`write_gz`]):
//! members concatenate into a valid `.warc.gz`, so a capture's file is its stored records put end
//! to end, and nothing stored is ever rewritten.
//!
//! Digests are SHA-256, written `sha256:` and RFC 4648 base32, upper case with `=` padding (56
//! characters): warcio base32-encodes its own digest that way and compares the strings, so a
//! lower-case value fails its check and an unpadded one is misread as base64.
//!
//! Chunked transfer coding: the HTTP client hands over a body with the chunk framing removed
//! (framing is not content, and WARC's payload is the entity body). A `Transfer-Encoding:
//! chunked` line above a de-chunked body would make the record contradict itself and send a
//! replayer de-chunking bytes that are not chunks, so [`Response::new`] keeps that line verbatim
//! under the name `X-Palimpsest-Orig-Transfer-Encoding` (what the server said survives) and only
//! a transfer coding other than `chunked` it listed stays in a `Transfer-Encoding` line. The
//! content coding is untouched: a gzip'ed page is kept gzip'ed, as the server sent it.

mod reader;
mod writer;

#[cfg(test)]
mod tests;

use std::fmt;
use std::net::IpAddr;

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use sha2::{Digest as _, Sha256};
use url::Url;
use uuid::Uuid;

pub use reader::{ReadLimits, read};
pub use writer::{
    Capture, Request, Response, gzip_member, request, response, revisit, warcinfo, write, write_gz,
};

/// A `WARC-Record-ID`: a `urn:uuid:` URI (UUIDv7, so ids sort by creation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordId(Uuid);

impl RecordId {
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }

    pub fn uuid(&self) -> Uuid {
        self.0
    }

    /// The field's form, `<urn:uuid:…>`; only `urn:uuid:` ids are read, as only those are
    /// written.
    fn parse(field: &str) -> Option<Self> {
        let uuid = field.strip_prefix("<urn:uuid:")?.strip_suffix('>')?;
        (uuid.len() == 36).then(|| Uuid::try_parse(uuid).ok().map(Self)).flatten()
    }
}

impl Default for RecordId {
    fn default() -> Self {
        Self::new()
    }
}

impl From<Uuid> for RecordId {
    fn from(uuid: Uuid) -> Self {
        Self(uuid)
    }
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "urn:uuid:{}", self.0)
    }
}

/// A SHA-256 digest, shown in the form warcio checks (see the module documentation).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digest([u8; 32]);

impl Digest {
    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Only the form written is read: another algorithm or encoding is not evidence this module
    /// can check.
    pub fn parse(field: &str) -> Option<Self> {
        let encoded = field.strip_prefix("sha256:")?;
        let bytes = data_encoding::BASE32.decode(encoded.as_bytes()).ok()?;
        bytes.try_into().ok().map(Self)
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", data_encoding::BASE32.encode(&self.0))
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A `WARC-Date`: UTC to the microsecond, the precision the database keeps, so a date read
/// back from a record equals the one stored beside it. Written with a fraction only when it has
/// one, as WARC 1.1 allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WarcDate(DateTime<Utc>);

impl WarcDate {
    pub fn now() -> Self {
        Utc::now().into()
    }

    pub fn as_datetime(&self) -> DateTime<Utc> {
        self.0
    }

    /// WARC dates are UTC, written with `Z`; an offset is refused rather than converted.
    fn parse(field: &str) -> Option<Self> {
        let parsed = DateTime::parse_from_rfc3339(field).ok().filter(|_| field.ends_with('Z'))?;
        Some(parsed.with_timezone(&Utc).into())
    }
}

impl From<DateTime<Utc>> for WarcDate {
    fn from(date: DateTime<Utc>) -> Self {
        Self(date.trunc_subsecs(6))
    }
}

impl fmt::Display for WarcDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }
}

/// A `WARC-Type`. `continuation` is absent: segmented records are refused (see [`read`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordKind {
    Warcinfo,
    Response,
    Resource,
    Request,
    Metadata,
    Revisit,
    Conversion,
}

impl RecordKind {
    const ALL: [Self; 7] = [
        Self::Warcinfo,
        Self::Response,
        Self::Resource,
        Self::Request,
        Self::Metadata,
        Self::Revisit,
        Self::Conversion,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Warcinfo => "warcinfo",
            Self::Response => "response",
            Self::Resource => "resource",
            Self::Request => "request",
            Self::Metadata => "metadata",
            Self::Revisit => "revisit",
            Self::Conversion => "conversion",
        }
    }

    fn parse(field: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == field)
    }
}

/// A revisit's `WARC-Profile`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RevisitProfile {
    /// The payload is the one of the record referred to, byte for byte (the one written here).
    IdenticalPayloadDigest,
    /// The server answered 304 Not Modified.
    ServerNotModified,
}

impl RevisitProfile {
    pub fn uri(self) -> &'static str {
        match self {
            Self::IdenticalPayloadDigest => {
                "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
            }
            Self::ServerNotModified => {
                "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
            }
        }
    }

    fn parse(field: &str) -> Option<Self> {
        [Self::IdenticalPayloadDigest, Self::ServerNotModified]
            .into_iter()
            .find(|profile| profile.uri() == field)
    }
}

/// The record a revisit stands for: `WARC-Refers-To`, `-Target-URI` and `-Date`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefersTo {
    pub id: RecordId,
    pub target_uri: Url,
    pub date: WarcDate,
}

/// A response record whose payload a later capture may point at instead of storing it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Original {
    pub refers_to: RefersTo,
    pub payload_digest: Digest,
}

/// One WARC record. Its fields are private so that a record always agrees with its digests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    kind: RecordKind,
    id: RecordId,
    date: WarcDate,
    target_uri: Option<Url>,
    ip_address: Option<IpAddr>,
    concurrent_to: Vec<RecordId>,
    refers_to: Option<RefersTo>,
    profile: Option<RevisitProfile>,
    payload_digest: Option<Digest>,
    block_digest: Digest,
    content_type: Option<String>,
    block: Vec<u8>,
}

impl Record {
    pub fn kind(&self) -> RecordKind {
        self.kind
    }
    pub fn id(&self) -> RecordId {
        self.id
    }
    pub fn date(&self) -> WarcDate {
        self.date
    }
    pub fn target_uri(&self) -> Option<&Url> {
        self.target_uri.as_ref()
    }
    pub fn ip_address(&self) -> Option<IpAddr> {
        self.ip_address
    }
    pub fn concurrent_to(&self) -> &[RecordId] {
        &self.concurrent_to
    }
    pub fn refers_to(&self) -> Option<&RefersTo> {
        self.refers_to.as_ref()
    }
    pub fn profile(&self) -> Option<RevisitProfile> {
        self.profile
    }
    pub fn payload_digest(&self) -> Option<Digest> {
        self.payload_digest
    }
    pub fn block_digest(&self) -> Digest {
        self.block_digest
    }
    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }
    pub fn block(&self) -> &[u8] {
        &self.block
    }

    /// What a revisit of this record's payload refers to; only a response with a target and a
    /// payload digest can be revisited.
    pub fn original(&self) -> Option<Original> {
        if self.kind != RecordKind::Response {
            return None;
        }
        Some(Original {
            refers_to: RefersTo {
                id: self.id,
                target_uri: self.target_uri.clone()?,
                date: self.date,
            },
            payload_digest: self.payload_digest?,
        })
    }
}

/// Which digest of a record failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestOf {
    Block,
    Payload,
}

/// Why an HTTP message could not be recorded, a revisit could not be made, or bytes are not
/// WARC evidence this module accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WarcError {
    #[error("the HTTP head is not recordable: {0}")]
    HttpHead(&'static str),
    #[error("a revisit needs an identical payload: the original's is {original}, this one {found}")]
    NotIdentical { original: Digest, found: Digest },
    #[error("neither a WARC file nor gzip")]
    NotWarc,
    #[error("the gzip stream is invalid or truncated: {0}")]
    Gzip(String),
    #[error("the WARC data is over {limit} bytes (decompressed)")]
    TooLarge { limit: usize },
    #[error("there are more than {limit} records")]
    TooManyRecords { limit: usize },
    #[error("the record at byte {offset} is over {limit} bytes")]
    RecordTooLarge { offset: usize, limit: usize },
    #[error("the record at byte {offset} is malformed: {reason}")]
    Malformed { offset: usize, reason: String },
    #[error("the record at byte {offset} ends before its Content-Length")]
    Truncated { offset: usize },
    #[error("the record at byte {offset} does not end where its Content-Length says")]
    LengthMismatch { offset: usize },
    #[error("the {part:?} digest of record {id} is {computed}, not the {declared} it declares")]
    DigestMismatch { id: RecordId, part: DigestOf, declared: Digest, computed: Digest },
}
