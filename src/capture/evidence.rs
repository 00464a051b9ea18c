//! A fetch as WARC evidence: the request that was sent and the response that came back, as
//! the records the store keeps with a capture that wrote a revision. A response whose payload
//! was kept before becomes a revisit record that refers to it (the identical-payload-digest
//! profile), so the same bytes are not kept twice.
//!
//! What is recorded is the last exchange of the fetch, at the URL its redirects ended at; the
//! request's head is the one this client sends (request line, `Host`, `User-Agent` and the
//! headers it chose), written as HTTP/1.1, the protocol WARC readers accept.

use url::Url;

use super::fetch::Fetched;
use super::warc::{self, Capture, ReadLimits, Record, WarcDate, WarcError};
use crate::store::{EvidenceKind, EvidenceRecord, Store, StoreError};

/// The records of one exchange, and its payload's digest as WARC writes it.
pub struct Exchange {
    pub records: Vec<EvidenceRecord>,
    pub payload_digest: String,
}

#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    #[error("the exchange cannot be recorded: {0}")]
    Warc(#[from] WarcError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The WARC records of `fetched`, made at `date`.
pub async fn exchange(
    store: &Store,
    fetched: &Fetched,
    date: WarcDate,
    user_agent: &str,
) -> Result<Exchange, EvidenceError> {
    let capture = Capture {
        target_uri: fetched.final_url.clone(),
        date,
        ip_address: fetched.remote.map(|a| a.ip()),
    };
    let response = warc::Response::new(&response_head(fetched), fetched.raw_body.clone())?;
    let digest = response.payload_digest().to_string();
    let original = match store.response_with_payload(&digest).await? {
        Some(kept) => warc::read(&kept.bytes, ReadLimits::one_record())?
            .into_iter()
            .next()
            .and_then(|record| record.original()),
        None => None,
    };
    let (response_record, response_kind) = match original {
        Some(original) => (warc::revisit(&capture, &response, &original)?, EvidenceKind::Revisit),
        None => (warc::response(&capture, &response), EvidenceKind::Response),
    };
    let request = warc::Request::new(&request_head(fetched, user_agent), Vec::new())?;
    let request_record = warc::request(&capture, &request, &response_record.id());
    let chain = |kind: &str| format!("{kind} {}", fetched.final_url);
    let records = vec![
        kept(&request_record, EvidenceKind::Request, chain("request"), None),
        kept(&response_record, response_kind, chain("response"), Some(digest.clone())),
    ];
    Ok(Exchange { records, payload_digest: digest })
}

fn kept(
    record: &Record,
    kind: EvidenceKind,
    chain: String,
    payload_digest: Option<String>,
) -> EvidenceRecord {
    EvidenceRecord {
        id: record.id().uuid(),
        kind,
        chain,
        bytes: warc::write(record),
        // A revisit holds no payload: only a response is what a later revisit refers to.
        payload_digest: payload_digest.filter(|_| kind == EvidenceKind::Response),
        packed: None,
    }
}

fn request_head(fetched: &Fetched, user_agent: &str) -> Vec<u8> {
    let url = &fetched.final_url;
    let mut head = format!("GET {} HTTP/1.1\r\nHost: {}\r\n", path_and_query(url), host(url));
    head.push_str(&format!("User-Agent: {user_agent}\r\n"));
    for (name, value) in &fetched.request_headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    head.into_bytes()
}

fn response_head(fetched: &Fetched) -> Vec<u8> {
    let reason = reqwest::StatusCode::from_u16(fetched.status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let mut head = format!("HTTP/1.1 {} {reason}\r\n", fetched.status).into_bytes();
    for (name, value) in &fetched.headers {
        head.extend_from_slice(name.as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value);
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");
    head
}

fn path_and_query(url: &Url) -> String {
    match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    }
}

fn host(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}
