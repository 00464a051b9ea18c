//! Making records: the HTTP messages a capture hands over, checked before they become
//! evidence, the record builders, and the serialization.

use std::io::Write;
use std::net::IpAddr;

use flate2::Compression;
use flate2::write::GzEncoder;
use url::Url;

use super::{Digest, Original, Record, RecordId, RecordKind, RevisitProfile, WarcDate, WarcError};

/// Where and when an exchange happened: what every record of it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capture {
    pub target_uri: Url,
    pub date: WarcDate,
    /// The address the client connected to, when the client reports it.
    pub ip_address: Option<IpAddr>,
}

/// An HTTP/1.x request as sent: its head (request line, header lines, empty line) and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    head: Vec<u8>,
    body: Vec<u8>,
}

impl Request {
    /// Refused unless `head` is one HTTP/1.x request head, CRLF-terminated lines ending with
    /// the empty line.
    pub fn new(head: &[u8], body: Vec<u8>) -> Result<Self, WarcError> {
        Ok(Self { head: recordable_head(head, request_line)?, body })
    }

    /// The head as recorded (a chunked `Transfer-Encoding` renamed, see the module
    /// documentation).
    pub fn head(&self) -> &[u8] {
        &self.head
    }

    pub fn body(&self) -> &[u8] {
        &self.body
    }
}

/// An HTTP/1.x response as received: its head (status line, header lines, empty line) and its
/// body as the server sent it, de-chunked but still content-encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    head: Vec<u8>,
    body: Vec<u8>,
}

impl Response {
    /// Refused unless `head` is one HTTP/1.x response head, CRLF-terminated lines ending with
    /// the empty line.
    pub fn new(head: &[u8], body: Vec<u8>) -> Result<Self, WarcError> {
        Ok(Self { head: recordable_head(head, status_line)?, body })
    }

    /// The head as recorded (a chunked `Transfer-Encoding` renamed, see the module
    /// documentation).
    pub fn head(&self) -> &[u8] {
        &self.head
    }

    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The `WARC-Payload-Digest` its record would have: what deduplication looks up.
    pub fn payload_digest(&self) -> Digest {
        Digest::of(&self.body)
    }
}

/// HTTP/1.x only, because warcio (and so pywb) refuses any other protocol in a status line.
fn status_line(line: &[u8]) -> bool {
    let Some(rest) = line.strip_prefix(b"HTTP/1.1 ").or_else(|| line.strip_prefix(b"HTTP/1.0 "))
    else {
        return false;
    };
    rest.len() >= 3
        && rest[..3].iter().all(u8::is_ascii_digit)
        && (rest.len() == 3 || rest[3] == b' ')
}

/// `METHOD target HTTP/1.x`, the form warcio parses.
fn request_line(line: &[u8]) -> bool {
    let parts: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
    matches!(parts.as_slice(), [method, target, version]
        if !method.is_empty() && method.iter().all(|&b| is_tchar(b))
            && !target.is_empty() && target.iter().all(|&b| b.is_ascii_graphic())
            && (*version == b"HTTP/1.1" || *version == b"HTTP/1.0"))
}

/// RFC 9110's token characters, the only ones a field name may hold.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Checks a head is one message head and nothing more (a stray CR or LF, an empty line inside,
/// an obsolete folded line would let a reader see other headers than we did), and renames a
/// `Transfer-Encoding` line, since the body it comes with is de-chunked.
fn recordable_head(head: &[u8], start_line: fn(&[u8]) -> bool) -> Result<Vec<u8>, WarcError> {
    let text = head
        .strip_suffix(b"\r\n\r\n")
        .ok_or(WarcError::HttpHead("it does not end with an empty line"))?;
    let pieces: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
    let last = pieces.len() - 1;
    let mut recorded = Vec::with_capacity(head.len() + 32);
    for (index, piece) in pieces.into_iter().enumerate() {
        let line = if index < last { piece.strip_suffix(b"\r") } else { Some(piece) }
            .filter(|line| !line.contains(&b'\r'))
            .ok_or(WarcError::HttpHead("a line ends in a bare CR or LF"))?;
        if index == 0 {
            if !start_line(line) {
                return Err(WarcError::HttpHead("the start line is not HTTP/1.x"));
            }
            recorded.extend_from_slice(line);
        } else {
            let colon = line.iter().position(|&b| b == b':');
            let Some((name, value)) = colon.map(|colon| (&line[..colon], &line[colon + 1..]))
            else {
                return Err(WarcError::HttpHead("a header line has no colon"));
            };
            if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
                return Err(WarcError::HttpHead("a header line has no field name"));
            }
            if name.eq_ignore_ascii_case(b"transfer-encoding") {
                rename_transfer_encoding(line, value, &mut recorded);
            } else {
                recorded.extend_from_slice(line);
            }
        }
        recorded.extend_from_slice(b"\r\n");
    }
    recorded.extend_from_slice(b"\r\n");
    Ok(recorded)
}

/// `Transfer-Encoding: gzip, chunked` becomes `X-Palimpsest-Orig-Transfer-Encoding: gzip,
/// chunked` (the line as sent) and `Transfer-Encoding: gzip` (the coding the body still has).
fn rename_transfer_encoding(line: &[u8], value: &[u8], recorded: &mut Vec<u8>) {
    recorded.extend_from_slice(b"X-Palimpsest-Orig-");
    recorded.extend_from_slice(line);
    let remaining: Vec<&[u8]> = value
        .split(|&b| b == b',')
        .map(<[u8]>::trim_ascii)
        .filter(|coding| !coding.is_empty() && !coding.eq_ignore_ascii_case(b"chunked"))
        .collect();
    if !remaining.is_empty() {
        recorded.extend_from_slice(b"\r\nTransfer-Encoding: ");
        recorded.extend_from_slice(&remaining.join(&b", "[..]));
    }
}

/// A request or response record of `capture`: the block is the head then the payload.
fn http_record(
    kind: RecordKind,
    capture: &Capture,
    msgtype: &str,
    head: &[u8],
    payload: &[u8],
) -> Record {
    let block = [head, payload].concat();
    Record {
        kind,
        id: RecordId::new(),
        date: capture.date,
        target_uri: Some(capture.target_uri.clone()),
        ip_address: capture.ip_address,
        concurrent_to: Vec::new(),
        refers_to: None,
        profile: None,
        payload_digest: Some(Digest::of(payload)),
        block_digest: Digest::of(&block),
        content_type: Some(format!("application/http;msgtype={msgtype}")),
        block,
    }
}

/// The record that opens a `.warc.gz`: what wrote it and to which standard.
pub fn warcinfo(date: WarcDate) -> Record {
    let block = format!(
        "software: palimpsest/{}\r\nformat: WARC File Format 1.1\r\nconformsTo: \
         http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/\r\n",
        env!("CARGO_PKG_VERSION")
    )
    .into_bytes();
    Record {
        kind: RecordKind::Warcinfo,
        id: RecordId::new(),
        date,
        target_uri: None,
        ip_address: None,
        concurrent_to: Vec::new(),
        refers_to: None,
        profile: None,
        payload_digest: None,
        block_digest: Digest::of(&block),
        content_type: Some("application/warc-fields".into()),
        block,
    }
}

/// The record of a request, `WARC-Concurrent-To` the record of its response (written first,
/// so that its id is known).
pub fn request(capture: &Capture, request: &Request, response: &RecordId) -> Record {
    let mut record =
        http_record(RecordKind::Request, capture, "request", &request.head, &request.body);
    record.concurrent_to.push(*response);
    record
}

pub fn response(capture: &Capture, response: &Response) -> Record {
    http_record(RecordKind::Response, capture, "response", &response.head, &response.body)
}

/// A response whose payload `original` already holds: its block is the response head alone
/// (the identical-payload-digest profile). A payload that differs is refused: the record would
/// claim a body the server did not send.
pub fn revisit(
    capture: &Capture,
    response: &Response,
    original: &Original,
) -> Result<Record, WarcError> {
    let found = response.payload_digest();
    if found != original.payload_digest {
        return Err(WarcError::NotIdentical { original: original.payload_digest, found });
    }
    let mut record = http_record(RecordKind::Revisit, capture, "response", &response.head, &[]);
    record.payload_digest = Some(found);
    record.refers_to = Some(original.refers_to.clone());
    record.profile = Some(RevisitProfile::IdenticalPayloadDigest);
    Ok(record)
}

/// The record as uncompressed WARC.
pub fn write(record: &Record) -> Vec<u8> {
    let mut head = String::from("WARC/1.1\r\n");
    let mut field = |name: &str, value: &dyn std::fmt::Display| {
        head.push_str(&format!("{name}: {value}\r\n"));
    };
    field("WARC-Type", &record.kind.as_str());
    field("WARC-Record-ID", &format_args!("<{}>", record.id));
    field("WARC-Date", &record.date);
    if let Some(uri) = &record.target_uri {
        field("WARC-Target-URI", uri);
    }
    if let Some(address) = &record.ip_address {
        field("WARC-IP-Address", address);
    }
    for id in &record.concurrent_to {
        field("WARC-Concurrent-To", &format_args!("<{id}>"));
    }
    if let Some(refers_to) = &record.refers_to {
        field("WARC-Refers-To", &format_args!("<{}>", refers_to.id));
        field("WARC-Refers-To-Target-URI", &refers_to.target_uri);
        field("WARC-Refers-To-Date", &refers_to.date);
    }
    if let Some(profile) = record.profile {
        field("WARC-Profile", &profile.uri());
    }
    if let Some(digest) = &record.payload_digest {
        field("WARC-Payload-Digest", digest);
    }
    field("WARC-Block-Digest", &record.block_digest);
    if let Some(content_type) = &record.content_type {
        field("Content-Type", content_type);
    }
    field("Content-Length", &record.block.len());
    let mut out = Vec::with_capacity(head.len() + record.block.len() + 6);
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&record.block);
    out.extend_from_slice(b"\r\n\r\n");
    out
}

/// The record as one gzip member, so that stored records concatenate into a `.warc.gz` (the
/// per-record compression WARC's Annex D recommends, which lets a reader seek to a record).
pub fn write_gz(record: &Record) -> Vec<u8> {
    gzip_member(&write(record))
}

/// A record as `write` serialized it (as kept) in a gzip member of its own: members put end
/// to end are a `.warc.gz`.
pub fn gzip_member(plain: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(plain.len() / 2), Compression::default());
    // Writing into a Vec fails only if allocation does, which aborts anyway.
    encoder.write_all(plain).expect("a Vec takes every write");
    encoder.finish().expect("a Vec takes every write")
}
