//! Value types of the versioned store: ids, digests, slugs, titles, messages, names and
//! instants. Each is parsed once, at the edge, by a fallible constructor; everything inside the
//! store trusts them. Nothing here knows of GraphQL or HTTP. (The named kinds are in `kinds`.)

use std::fmt;

use chrono::{DateTime, SubsecRound, TimeZone, Utc};
use uuid::Uuid;

/// Why a value handed to the store was refused. The message names the field and the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct InvalidValue {
    pub field: &'static str,
    pub reason: String,
}

impl InvalidValue {
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self { field, reason: reason.into() }
    }
}

/// A value as error messages quote it: Rust-escaped, and cut short past 64 characters so that
/// an error never echoes a large input back.
pub fn quoted(input: &str) -> String {
    const SHOWN: usize = 64;
    match input.char_indices().nth(SHOWN) {
        None => format!("{input:?}"),
        Some((cut, _)) => {
            format!("{:?}… ({} bytes in all)", &input[..cut], input.len())
        }
    }
}

/// Text is refused when it holds NUL (U+0000): PostgreSQL cannot store it, and the store
/// accepts one corpus whatever the database.
pub fn reject_nul(field: &'static str, text: &str) -> Result<(), InvalidValue> {
    match text.find('\0') {
        Some(at) => Err(InvalidValue::new(
            field,
            format!("must not contain NUL characters (U+0000); one is at byte {at}"),
        )),
        None => Ok(()),
    }
}

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            /// A new time-ordered (UUID v7) id.
            pub fn generate() -> Self {
                Self(Uuid::now_v7())
            }

            pub fn parse(input: &str) -> Result<Self, InvalidValue> {
                Uuid::try_parse(input)
                    .map(Self)
                    .map_err(|_| InvalidValue::new($field, format!("{} is not a UUID", quoted(input))))
            }

            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                Self(uuid)
            }
        }

        impl fmt::Display for $name {
            /// Lowercase and hyphenated, as the hashing contract requires.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }
    };
}

uuid_id!(
    /// The stable id of a document.
    DocumentId,
    "documentId"
);
impl DocumentId {
    /// Not a document: which documents there are, and who may see them, as the change log and
    /// the response cache name it. A write that adds a document or changes who may see one
    /// touches it as well as the document; a list of documents reads it as well as the
    /// documents it holds (in an order no revision changes).
    pub const LISTED: DocumentId = DocumentId(Uuid::max());
}

uuid_id!(
    /// The id of an agent: a person, organisation or software that authors revisions.
    AgentId,
    "agentId"
);
uuid_id!(
    /// The id of a source a revision's text was captured from.
    SourceId,
    "sourceId"
);
uuid_id!(
    /// The id of an API token (never its secret).
    TokenId,
    "tokenId"
);
uuid_id!(
    /// The id of one citation row (one citing revision's record of a citation).
    CitationId,
    "citationId"
);
uuid_id!(
    /// The id of a watch: a page or feed an editor asked to be captured again and again.
    WatchId,
    "watchId"
);
uuid_id!(
    /// The id of one capture: one fetch of a page and what came of it.
    CaptureId,
    "captureId"
);
uuid_id!(
    /// The id of a collection: the documents that share who may read them.
    CollectionId,
    "collectionId"
);

impl CollectionId {
    /// The public collection, which every document belongs to unless moved.
    pub const PUBLIC: CollectionId = CollectionId(Uuid::nil());
}

/// A lowercase hex SHA-256 digest. `RevisionHash` and `ContentHash` wrap it so that the two
/// are never confused.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256Hex(String);

impl Sha256Hex {
    pub fn parse(field: &'static str, input: &str) -> Result<Self, InvalidValue> {
        let well_formed = input.len() == 64
            && input.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if well_formed {
            Ok(Self(input.to_owned()))
        } else {
            Err(InvalidValue::new(
                field,
                format!("{} is not a SHA-256 digest (64 lowercase hex digits)", quoted(input)),
            ))
        }
    }

    pub fn of(bytes: &[u8]) -> Self {
        use sha2::Digest;
        Self(lower_hex(&sha2::Sha256::digest(bytes).into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn to_bytes(&self) -> [u8; 32] {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(&self.0, &mut bytes).expect("a parsed digest is 64 hex digits");
        bytes
    }

    /// The 32 bytes the database keeps: half the room of the hex digits, in every row and
    /// index that holds a digest.
    fn to_value(&self) -> sea_orm::Value {
        sea_orm::Value::Bytes(Some(self.to_bytes().to_vec()))
    }

    /// A digest as the database keeps it; anything but 32 bytes is damage.
    fn from_stored(bytes: &[u8]) -> Result<Self, String> {
        match bytes.try_into() {
            Ok(digest) => Ok(Self(lower_hex(digest))),
            Err(_) => Err(format!("a stored digest is {} bytes, not 32", bytes.len())),
        }
    }
}

/// `bytes` as lowercase hex digits. `hex::encode` collects a char iterator into its string one
/// char at a time: for the three digests of every revision read, that was 7-9 % of a page's
/// instructions (callgrind, q2 and q3 of the read workload).
fn lower_hex(bytes: &[u8; 32]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 64];
    for (pair, byte) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = DIGITS[usize::from(byte >> 4)];
        pair[1] = DIGITS[usize::from(byte & 0x0f)];
    }
    String::from_utf8(out.to_vec()).expect("hex digits are ASCII")
}

macro_rules! digest_id {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Sha256Hex);

        impl $name {
            pub fn parse(input: &str) -> Result<Self, InvalidValue> {
                Sha256Hex::parse($field, input).map(Self)
            }

            /// The 64 lowercase hex digits clients see. The database keeps the 32 bytes
            /// instead (`sea_orm::Value::from`), so this is never bound in a query.
            pub fn hex(&self) -> &str {
                self.0.as_str()
            }

            pub fn into_hex(self) -> String {
                self.0 .0
            }

            pub fn to_bytes(&self) -> [u8; 32] {
                self.0.to_bytes()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.hex())
            }
        }

        impl From<$name> for sea_orm::Value {
            fn from(digest: $name) -> Self {
                digest.0.to_value()
            }
        }

        impl From<&$name> for sea_orm::Value {
            fn from(digest: &$name) -> Self {
                digest.0.to_value()
            }
        }

        impl $name {
            /// The digest as the database keeps it (32 bytes); anything else is damage.
            pub(crate) fn read_stored(bytes: &[u8]) -> Result<Self, sea_orm::DbErr> {
                Sha256Hex::from_stored(bytes)
                    .map(Self)
                    .map_err(|e| sea_orm::DbErr::Type(format!("{}: {e}", $field)))
            }
        }

        impl sea_orm::TryGetable for $name {
            fn try_get_by<I: sea_orm::ColIdx>(
                res: &sea_orm::QueryResult,
                index: I,
            ) -> Result<Self, sea_orm::TryGetError> {
                let bytes = <Vec<u8> as sea_orm::TryGetable>::try_get_by(res, index)?;
                Ok(Self::read_stored(&bytes)?)
            }
        }

        impl sea_orm::sea_query::ValueType for $name {
            fn try_from(v: sea_orm::Value) -> Result<Self, sea_orm::sea_query::ValueTypeErr> {
                match v {
                    sea_orm::Value::Bytes(Some(bytes)) => {
                        Sha256Hex::from_stored(&bytes).map(Self).map_err(|_| sea_orm::sea_query::ValueTypeErr)
                    }
                    _ => Err(sea_orm::sea_query::ValueTypeErr),
                }
            }

            fn type_name() -> String {
                stringify!($name).to_owned()
            }

            fn array_type() -> sea_orm::sea_query::ArrayType {
                sea_orm::sea_query::ArrayType::Bytes
            }

            fn column_type() -> sea_orm::sea_query::ColumnType {
                sea_orm::sea_query::ColumnType::Binary(32)
            }
        }

        impl sea_orm::sea_query::Nullable for $name {
            fn null() -> sea_orm::Value {
                sea_orm::Value::Bytes(None)
            }
        }

        impl sea_orm::TryFromU64 for $name {
            fn try_from_u64(_: u64) -> Result<Self, sea_orm::DbErr> {
                Err(sea_orm::DbErr::ConvertFromU64(stringify!($name)))
            }
        }

        impl sea_orm::IntoActiveValue<$name> for $name {
            fn into_active_value(self) -> sea_orm::ActiveValue<$name> {
                sea_orm::ActiveValue::Set(self)
            }
        }
    };
}

digest_id!(
    /// A revision's hash: SHA-256 of its canonical header bytes.
    RevisionHash,
    "hash"
);
digest_id!(
    /// SHA-256 of a content's UTF-8 bytes, exactly as stored.
    ContentHash,
    "contentHash"
);

impl ContentHash {
    pub fn of(content: &str) -> Self {
        Self(Sha256Hex::of(content.as_bytes()))
    }

    /// The packing code names the texts it handles by their hex digests, which only ever
    /// come from the store's own rows.
    pub(crate) fn from_trusted(hex: String) -> Self {
        Self(Sha256Hex(hex))
    }
}

impl RevisionHash {
    pub fn of_header(canonical_header: &str) -> Self {
        Self(Sha256Hex::of(canonical_header.as_bytes()))
    }

    /// A hash as the database keeps it; `None` for anything but 32 bytes (damage, which
    /// verification reports where it reads such a column).
    pub(crate) fn from_stored(bytes: &[u8]) -> Option<Self> {
        Sha256Hex::from_stored(bytes).ok().map(Self)
    }

    /// No revision yet: a new document's head for the moment, inside one transaction, before
    /// its first revision is written.
    pub(crate) fn unset() -> Self {
        Self(Sha256Hex("0".repeat(64)))
    }
}

/// A document's human-readable unique name: lowercase ASCII letters and digits in words joined
/// by single hyphens, at most 128 characters (`gaza-letter-2025`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Slug(String);

impl Slug {
    pub const MAX_LEN: usize = 128;

    pub fn parse(input: &str) -> Result<Self, InvalidValue> {
        let fail =
            |reason: &str| Err(InvalidValue::new("slug", format!("{} {reason}", quoted(input))));
        if input.is_empty() {
            return fail("is empty");
        }
        if input.len() > Self::MAX_LEN {
            return fail("is longer than 128 characters");
        }
        if !input.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
            return fail("may only hold lowercase ASCII letters, digits and hyphens");
        }
        if input.starts_with('-') || input.ends_with('-') || input.contains("--") {
            return fail("must not start or end with a hyphen or hold two in a row");
        }
        Ok(Self(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn from_trusted(value: String) -> Self {
        Self(value)
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A revision's title: one line of 1 to 1,000 characters, not blank, without control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Title(String);

impl Title {
    pub const MAX_CHARS: usize = 1000;

    pub fn parse(input: &str) -> Result<Self, InvalidValue> {
        if input.trim().is_empty() {
            return Err(InvalidValue::new("title", "is blank"));
        }
        if input.chars().count() > Self::MAX_CHARS {
            return Err(InvalidValue::new("title", "is longer than 1000 characters"));
        }
        if input.chars().any(char::is_control) {
            return Err(InvalidValue::new("title", "must be one line without control characters"));
        }
        Ok(Self(input.to_owned()))
    }

    /// A title read back from the store, valid under the rules of the day it was written.
    pub(crate) fn from_stored(value: String) -> Self {
        Self(value)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A display name (an agent's, a collection's): 1 to 200 characters, not blank, one line,
/// trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

pub type AgentName = DisplayName;
pub type CollectionName = DisplayName;

impl DisplayName {
    pub const MAX_CHARS: usize = 200;

    pub fn parse(input: &str) -> Result<Self, InvalidValue> {
        let name = input.trim();
        if name.is_empty() {
            return Err(InvalidValue::new("name", "is blank"));
        }
        if name.chars().count() > Self::MAX_CHARS || name.chars().any(char::is_control) {
            return Err(InvalidValue::new("name", "must be one line of at most 200 characters"));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why an edit was made; may be empty, at most 10,000 characters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message(String);

impl Message {
    pub const MAX_CHARS: usize = 10_000;

    pub fn parse(input: &str) -> Result<Self, InvalidValue> {
        if input.chars().count() > Self::MAX_CHARS {
            return Err(InvalidValue::new("message", "is longer than 10000 characters"));
        }
        reject_nul("message", input)?;
        Ok(Self(input.to_owned()))
    }

    /// A message read back from the store, as it was written.
    pub(crate) fn from_stored(value: String) -> Self {
        Self(value)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An instant in UTC with exactly microsecond precision: what the database keeps and what
/// revision headers carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(DateTime<Utc>);

impl Timestamp {
    pub fn now() -> Self {
        Self::from_datetime(Utc::now())
    }

    /// Truncates to microseconds; finer precision is not kept anywhere.
    pub fn from_datetime(datetime: DateTime<Utc>) -> Self {
        Self(datetime.trunc_subsecs(6))
    }

    /// Any RFC 3339 time, with any offset.
    pub fn parse(field: &'static str, input: &str) -> Result<Self, InvalidValue> {
        DateTime::parse_from_rfc3339(input)
            .map(|t| Self::from_datetime(t.with_timezone(&Utc)))
            .map_err(|e| {
                InvalidValue::new(
                    field,
                    format!("{} is not an RFC 3339 date-time: {e}", quoted(input)),
                )
            })
    }

    pub fn from_micros(micros: i64) -> Self {
        Self(Utc.timestamp_micros(micros).single().unwrap_or(DateTime::<Utc>::MIN_UTC))
    }

    pub fn micros(&self) -> i64 {
        self.0.timestamp_micros()
    }

    pub fn as_datetime(&self) -> DateTime<Utc> {
        self.0
    }

    /// One microsecond later: the next instant the store can tell apart.
    pub fn next(&self) -> Self {
        Self::from_micros(self.micros() + 1)
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 with exactly six fractional digits and `Z`, as the hashing contract requires.
    /// Written digit by digit: chrono's `format` parses its pattern on every call, which was
    /// a twentieth of answering a page of revisions (each has a `createdAt`). Years outside
    /// 0-9999, which RFC 3339 cannot write, keep chrono's form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use chrono::{Datelike, Timelike};
        let t = &self.0;
        let (year, micros) = (t.year(), t.nanosecond() / 1_000);
        if !(0..=9999).contains(&year) || micros >= 1_000_000 {
            return write!(f, "{}", t.format("%Y-%m-%dT%H:%M:%S%.6fZ"));
        }
        let mut text = *b"0000-00-00T00:00:00.000000Z";
        let mut put = |at: usize, width: usize, mut value: u32| {
            for slot in text[at..at + width].iter_mut().rev() {
                *slot = b'0' + (value % 10) as u8;
                value /= 10;
            }
        };
        put(0, 4, year as u32);
        put(5, 2, t.month());
        put(8, 2, t.day());
        put(11, 2, t.hour());
        put(14, 2, t.minute());
        put(17, 2, t.second());
        put(20, 6, micros);
        f.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_print_every_byte_as_hex_prints_it() {
        for start in (0..=255u8).step_by(32) {
            let bytes: [u8; 32] = std::array::from_fn(|i| start + i as u8);
            assert_eq!(lower_hex(&bytes), hex::encode(bytes));
        }
        let stored: [u8; 32] = std::array::from_fn(|i| (i as u8).wrapping_mul(37) ^ 0xa5);
        let hash = Sha256Hex::from_stored(&stored).unwrap();
        assert_eq!(hash.as_str(), hex::encode(stored));
        assert_eq!(hash.to_bytes(), stored);
        assert_eq!(
            Sha256Hex::of(b"abc").as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn timestamps_print_as_chrono_prints_them() {
        let instants = [
            0,
            1,
            999_999,
            1_796_591_985_977_521,
            -1,
            -62_167_219_200_000_000, // 0000-01-01T00:00:00Z
            253_402_300_799_999_999, // 9999-12-31T23:59:59.999999Z
            253_402_300_800_000_000, // 10000-01-01: past what RFC 3339 writes
            -62_167_219_200_000_001,
            951_782_400_123_456, // 2000-02-29
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let random = (0..2_000).map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % 8_000_000_000_000_000) as i64 - 4_000_000_000_000_000
        });
        for micros in instants.into_iter().chain(random) {
            let t = Timestamp::from_micros(micros);
            assert_eq!(t.to_string(), t.0.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(), "{micros}");
        }
    }

    #[test]
    fn slugs_follow_the_documented_rule() {
        for good in ["a", "gaza-letter-2025", "x1-2-3"] {
            assert!(Slug::parse(good).is_ok(), "{good}");
        }
        let too_long = "a".repeat(129);
        for bad in ["", "-a", "a-", "a--b", "Caps", "sp ace", "ümlaut", too_long.as_str()] {
            assert!(Slug::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hashes_must_be_lowercase_hex_of_the_right_length() {
        let good = "db1b089347bc6e69f252cbd91cece1da8ad8a45fd2877befc558139f1bbcf990";
        assert!(RevisionHash::parse(good).is_ok());
        assert!(RevisionHash::parse(&good.to_uppercase()).is_err());
        assert!(RevisionHash::parse(&good[1..]).is_err());
        assert!(RevisionHash::parse(&format!("{}g", &good[1..])).is_err());
    }

    #[test]
    fn timestamps_print_six_fraction_digits_and_z() {
        let t = Timestamp::parse("t", "2026-11-24T11:15:30.1234567+01:00").unwrap();
        assert_eq!(t.to_string(), "2026-11-24T10:15:30.123456Z");
        let whole = Timestamp::parse("t", "2026-11-24T10:15:30Z").unwrap();
        assert_eq!(whole.to_string(), "2026-11-24T10:15:30.000000Z");
        assert_eq!(Timestamp::from_micros(whole.micros()), whole);
        assert!(Timestamp::parse("t", "yesterday").is_err());
    }

    #[test]
    fn titles_are_one_non_blank_line() {
        assert!(Title::parse("A headline").is_ok());
        assert!(Title::parse("  ").is_err());
        assert!(Title::parse("two\nlines").is_err());
    }
}
