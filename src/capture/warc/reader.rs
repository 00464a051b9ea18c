//! Reading records back: a `.warc.gz` (any number of gzip members) or a plain `.warc`, every
//! record's block digest (and payload digest, where the payload is in the record) checked.
//!
//! The reader is for evidence, so it is strict: a record without a block digest cannot be
//! checked and is refused, as are truncated or segmented records (incomplete evidence), a
//! digest in another form than the one written, and a record that does not end exactly where
//! its `Content-Length` says. Fields it does not know are ignored, as ISO 28500 asks of readers.
//! Everything it holds is bounded by [`ReadLimits`], decompression included.

use std::borrow::Cow;
use std::io::Read;
use std::net::IpAddr;

use flate2::read::MultiGzDecoder;
use url::Url;

use super::{
    Digest, DigestOf, Record, RecordId, RecordKind, RefersTo, RevisitProfile, WarcDate, WarcError,
};

/// How much reading may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimits {
    /// Bytes of one record, header and block.
    pub max_record_bytes: usize,
    pub max_records: usize,
    /// Bytes of the whole file once decompressed: a gzip bomb stops here.
    pub max_total_bytes: usize,
}

impl ReadLimits {
    /// One record as this server keeps them: a capture's body is bounded far below this.
    pub fn one_record() -> Self {
        Self { max_record_bytes: 64 << 20, max_records: 1, max_total_bytes: 64 << 20 }
    }
}

const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];

/// The records of `bytes`, in order.
pub fn read(bytes: &[u8], limits: ReadLimits) -> Result<Vec<Record>, WarcError> {
    let data = uncompressed(bytes, limits.max_total_bytes)?;
    let mut records = Vec::new();
    let mut offset = 0;
    while offset < data.len() {
        if records.len() == limits.max_records {
            return Err(WarcError::TooManyRecords { limit: limits.max_records });
        }
        let (record, next) = record_at(&data, offset, limits.max_record_bytes)?;
        records.push(record);
        offset = next;
    }
    Ok(records)
}

fn uncompressed(bytes: &[u8], limit: usize) -> Result<Cow<'_, [u8]>, WarcError> {
    if bytes.starts_with(GZIP_MAGIC) {
        // One byte over the limit is read so that reaching the limit and passing it differ.
        let bound = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
        let mut data = Vec::new();
        MultiGzDecoder::new(bytes)
            .take(bound)
            .read_to_end(&mut data)
            .map_err(|error| WarcError::Gzip(error.to_string()))?;
        if data.len() > limit {
            return Err(WarcError::TooLarge { limit });
        }
        Ok(Cow::Owned(data))
    } else if bytes.is_empty() || bytes.starts_with(b"WARC/") {
        if bytes.len() > limit {
            return Err(WarcError::TooLarge { limit });
        }
        Ok(Cow::Borrowed(bytes))
    } else {
        Err(WarcError::NotWarc)
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

/// The fields of one record header as they are read, each at most once but
/// `WARC-Concurrent-To`.
#[derive(Default)]
struct Fields {
    kind: Option<RecordKind>,
    id: Option<RecordId>,
    date: Option<WarcDate>,
    target_uri: Option<Url>,
    ip_address: Option<IpAddr>,
    concurrent_to: Vec<RecordId>,
    refers_to: Option<RecordId>,
    refers_to_target_uri: Option<Url>,
    refers_to_date: Option<WarcDate>,
    profile: Option<RevisitProfile>,
    payload_digest: Option<Digest>,
    block_digest: Option<Digest>,
    content_type: Option<String>,
    content_length: Option<usize>,
}

/// Some URIs are written in angle brackets (as WARC 1.0's grammar had them); both are read.
fn uri(value: &str) -> Option<Url> {
    let bare = value.strip_prefix('<').and_then(|v| v.strip_suffix('>')).unwrap_or(value);
    Url::parse(bare).ok()
}

fn length(value: &str) -> Option<usize> {
    value.bytes().all(|b| b.is_ascii_digit()).then(|| value.parse().ok()).flatten()
}

/// Sets a field read once; a value that does not parse, or a second one, is refused.
fn once<T>(slot: &mut Option<T>, parsed: Option<T>, name: &str) -> Result<(), String> {
    let parsed = parsed.ok_or_else(|| format!("{name} is not valid"))?;
    match slot.replace(parsed) {
        Some(_) => Err(format!("{name} is given twice")),
        None => Ok(()),
    }
}

impl Fields {
    fn parse(header: &str) -> Result<Self, String> {
        let mut lines = header.split("\r\n");
        if !matches!(lines.next(), Some("WARC/1.1" | "WARC/1.0")) {
            return Err("it does not start with WARC/1.1 or WARC/1.0".into());
        }
        let mut fields = Self::default();
        for line in lines {
            let (name, value) = line
                .split_once(':')
                .filter(|(name, _)| !name.is_empty() && !name.contains([' ', '\t']))
                .ok_or_else(|| format!("{line:?} is not a field"))?;
            let value = value.trim_matches([' ', '\t']);
            match name.to_ascii_lowercase().as_str() {
                "warc-type" => once(&mut fields.kind, RecordKind::parse(value), name)?,
                "warc-record-id" => once(&mut fields.id, RecordId::parse(value), name)?,
                "warc-date" => once(&mut fields.date, WarcDate::parse(value), name)?,
                "warc-target-uri" => once(&mut fields.target_uri, uri(value), name)?,
                "warc-ip-address" => once(&mut fields.ip_address, value.parse().ok(), name)?,
                "warc-concurrent-to" => fields
                    .concurrent_to
                    .push(RecordId::parse(value).ok_or_else(|| format!("{name} is not valid"))?),
                "warc-refers-to" => once(&mut fields.refers_to, RecordId::parse(value), name)?,
                "warc-refers-to-target-uri" => {
                    once(&mut fields.refers_to_target_uri, uri(value), name)?
                }
                "warc-refers-to-date" => {
                    once(&mut fields.refers_to_date, WarcDate::parse(value), name)?
                }
                "warc-profile" => once(&mut fields.profile, RevisitProfile::parse(value), name)?,
                "warc-payload-digest" => {
                    once(&mut fields.payload_digest, Digest::parse(value), name)?
                }
                "warc-block-digest" => once(&mut fields.block_digest, Digest::parse(value), name)?,
                "content-type" => once(&mut fields.content_type, Some(value.to_owned()), name)?,
                "content-length" => once(&mut fields.content_length, length(value), name)?,
                "warc-truncated" | "warc-segment-number" => {
                    return Err(format!("{name}: incomplete records are not evidence"));
                }
                _ => {}
            }
        }
        Ok(fields)
    }
}

/// The record that starts at `offset`, and where the next one starts.
fn record_at(data: &[u8], offset: usize, limit: usize) -> Result<(Record, usize), WarcError> {
    let malformed = |reason: String| WarcError::Malformed { offset, reason };
    let window = &data[offset..data.len().min(offset.saturating_add(limit))];
    let Some(header_end) = find(window, b"\r\n\r\n") else {
        return Err(if window.len() == limit {
            WarcError::RecordTooLarge { offset, limit }
        } else {
            WarcError::Truncated { offset }
        });
    };
    let header = std::str::from_utf8(&window[..header_end])
        .map_err(|_| malformed("the header is not UTF-8".into()))?;
    let fields = Fields::parse(header).map_err(malformed)?;
    let required = |name: &str| malformed(format!("it has no {name}"));
    let length = fields.content_length.ok_or_else(|| required("Content-Length"))?;
    let block_start = header_end + 4;
    if length > limit.saturating_sub(block_start) {
        return Err(WarcError::RecordTooLarge { offset, limit });
    }
    let block_start = offset + block_start;
    let block_end = block_start.saturating_add(length);
    let Some(block) = data.get(block_start..block_end) else {
        return Err(WarcError::Truncated { offset });
    };
    match data.get(block_end..block_end + 4) {
        Some(b"\r\n\r\n") => {}
        Some(_) => return Err(WarcError::LengthMismatch { offset }),
        None => return Err(WarcError::Truncated { offset }),
    }
    let refers_to = match (fields.refers_to, fields.refers_to_target_uri, fields.refers_to_date) {
        (Some(id), Some(target_uri), Some(date)) => Some(RefersTo { id, target_uri, date }),
        (None, None, None) => None,
        _ => return Err(malformed("WARC-Refers-To, -Target-URI and -Date go together".into())),
    };
    let record = Record {
        kind: fields.kind.ok_or_else(|| required("WARC-Type"))?,
        id: fields.id.ok_or_else(|| required("WARC-Record-ID"))?,
        date: fields.date.ok_or_else(|| required("WARC-Date"))?,
        target_uri: fields.target_uri,
        ip_address: fields.ip_address,
        concurrent_to: fields.concurrent_to,
        refers_to,
        profile: fields.profile,
        payload_digest: fields.payload_digest,
        block_digest: fields.block_digest.ok_or_else(|| required("WARC-Block-Digest"))?,
        content_type: fields.content_type,
        block: block.to_vec(),
    };
    verify(&record, offset)?;
    Ok((record, block_end + 4))
}

/// Checks the digests; a digest that fails is its own error, a payload that cannot be found
/// is malformed.
fn verify(record: &Record, offset: usize) -> Result<(), WarcError> {
    let mismatch = |part, declared, computed| WarcError::DigestMismatch {
        id: record.id,
        part,
        declared,
        computed,
    };
    let computed = Digest::of(&record.block);
    if computed != record.block_digest {
        return Err(mismatch(DigestOf::Block, record.block_digest, computed));
    }
    // A revisit's payload is the original's, not in this record: nothing here to check it on.
    let Some(declared) = record.payload_digest.filter(|_| record.kind != RecordKind::Revisit)
    else {
        return Ok(());
    };
    let http = record.content_type.as_deref().is_some_and(|content_type| {
        content_type.to_ascii_lowercase().starts_with("application/http")
    });
    let payload = if http {
        let head_end = find(&record.block, b"\r\n\r\n").ok_or(WarcError::Malformed {
            offset,
            reason: "its HTTP block has no end of head".into(),
        })?;
        &record.block[head_end + 4..]
    } else {
        &record.block[..]
    };
    let computed = Digest::of(payload);
    if computed != declared {
        return Err(mismatch(DigestOf::Payload, declared, computed));
    }
    Ok(())
}
