//! Fetching a page for a capture: a real HTTP client (reqwest, rustls) held to the address
//! policy at every connection and every redirect, with bounded bytes, time, redirects and
//! decompression, conditional requests, and the body kept twice: as the server sent it (the
//! evidence a WARC record holds, still content-encoded) and decoded to text.
//!
//! The policy is applied where it cannot be raced: names resolve through `GuardedResolver`,
//! which drops every forbidden address from what DNS returned before reqwest connects to any,
//! so a name cannot pass a check and then rebind; a URL whose host is an address (no DNS) is
//! checked before the request and at each redirect; system proxies are ignored, so an
//! environment variable cannot route around the policy.

use std::io::Read;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{self, HeaderMap, HeaderValue};
use url::Url;

use super::guard::{AddressPolicy, Refused};

/// How much a capture may take.
#[derive(Debug, Clone, Copy)]
pub struct FetchLimits {
    /// Bytes of body as sent (still compressed).
    pub max_bytes: usize,
    /// Bytes of body once decompressed: a gzip bomb stops here.
    pub max_decoded_bytes: usize,
    pub max_redirects: usize,
    pub connect_timeout: Duration,
    /// The longest wait for the next bytes: a server that trickles is cut off.
    pub read_timeout: Duration,
    /// The whole fetch, redirects included.
    pub total_timeout: Duration,
}

impl Default for FetchLimits {
    fn default() -> Self {
        Self {
            max_bytes: 5 * 1024 * 1024,
            max_decoded_bytes: 20 * 1024 * 1024,
            max_redirects: 5,
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(15),
            total_timeout: Duration::from_secs(60),
        }
    }
}

/// What the last capture of a URL said about its version, for a conditional request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// A response as the capture received it.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub requested: Url,
    /// Where the redirects ended.
    pub final_url: Url,
    pub status: u16,
    /// The response's headers in the order they came.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The headers this request sent (beside those the client adds for the connection).
    pub request_headers: Vec<(String, String)>,
    pub remote: Option<SocketAddr>,
    /// The body as sent: what WARC evidence keeps.
    pub raw_body: Vec<u8>,
    /// The body with its content coding removed.
    pub body: Vec<u8>,
    pub validators: Validators,
}

impl Fetched {
    pub fn not_modified(&self) -> bool {
        self.status == 304
    }

    /// The response's `Content-Type`, as sent.
    pub fn content_type(&self) -> Option<&str> {
        self.header("content-type")
    }

    fn header(&self, name: &str) -> Option<&str> {
        let (_, value) = self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name))?;
        std::str::from_utf8(value).ok()
    }

    /// The body as text, in the charset the response or the page declares (else UTF-8, or
    /// windows-1252 when the bytes are not UTF-8, as browsers do).
    pub fn text(&self) -> String {
        decode_text(&self.body, self.header("content-type"))
    }
}

/// Why a fetch failed; each is recorded as the capture's outcome.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error(transparent)]
    Refused(#[from] Refused),
    #[error("the body is over {limit} bytes")]
    TooLarge { limit: usize },
    #[error("no bytes came for {0:?}")]
    Stalled(Duration),
    #[error("the fetch took over {0:?}")]
    TimedOut(Duration),
    #[error("the body does not decode as {coding}: {reason}")]
    Decoding { coding: String, reason: String },
    #[error("{0}")]
    Http(String),
}

/// The HTTP client captures use.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    policy: Arc<AddressPolicy>,
    limits: FetchLimits,
}

impl Fetcher {
    pub fn new(
        policy: AddressPolicy,
        limits: FetchLimits,
        user_agent: &str,
    ) -> reqwest::Result<Self> {
        let policy = Arc::new(policy);
        let redirects = policy.clone();
        let max_redirects = limits.max_redirects;
        let client = reqwest::Client::builder()
            .user_agent(user_agent)
            .dns_resolver(Arc::new(GuardedResolver(policy.clone())))
            .no_proxy()
            .connect_timeout(limits.connect_timeout)
            .read_timeout(limits.read_timeout)
            .redirect(reqwest::redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() > max_redirects {
                    return attempt.error(format!("more than {max_redirects} redirects"));
                }
                match redirects.check_url(attempt.url()) {
                    Ok(()) => attempt.follow(),
                    Err(refused) => attempt.error(refused),
                }
            }))
            .build()?;
        Ok(Self { client, policy, limits })
    }

    /// Fetches `url`, conditionally when `validators` say what the last capture saw.
    pub async fn fetch(&self, url: &Url, validators: &Validators) -> Result<Fetched, FetchError> {
        let body = Body {
            max_bytes: self.limits.max_bytes,
            max_decoded: self.limits.max_decoded_bytes,
            cut: false,
        };
        self.fetch_within(url, validators, body).await
    }

    /// Fetches the first `max_bytes` of `url`'s body, sent or decoded, and no more: for a
    /// file only its start of which is read (robots.txt, RFC 9309 §2.5).
    pub async fn fetch_start(&self, url: &Url, max_bytes: usize) -> Result<Fetched, FetchError> {
        let body = Body { max_bytes, max_decoded: max_bytes, cut: true };
        self.fetch_within(url, &Validators::default(), body).await
    }

    async fn fetch_within(
        &self,
        url: &Url,
        validators: &Validators,
        body: Body,
    ) -> Result<Fetched, FetchError> {
        self.policy.check_url(url)?;
        let total = self.limits.total_timeout;
        tokio::time::timeout(total, self.run(url, validators, body))
            .await
            .map_err(|_| FetchError::TimedOut(total))?
    }

    async fn run(
        &self,
        url: &Url,
        validators: &Validators,
        limit: Body,
    ) -> Result<Fetched, FetchError> {
        let mut sent = HeaderMap::new();
        sent.insert(header::ACCEPT, HeaderValue::from_static(ACCEPT));
        sent.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip, deflate, br"));
        let conditional = [
            (header::IF_NONE_MATCH, &validators.etag),
            (header::IF_MODIFIED_SINCE, &validators.last_modified),
        ];
        for (name, value) in conditional {
            if let Some(value) = value.as_deref().and_then(|v| HeaderValue::from_str(v).ok()) {
                sent.insert(name, value);
            }
        }
        let mut response =
            self.client.get(url.clone()).headers(sent.clone()).send().await.map_err(|e| {
                refusal_in(&e).map_or_else(|| FetchError::Http(error_chain(&e)), Into::into)
            })?;
        let status = response.status().as_u16();
        let final_url = response.url().clone();
        // reqwest hands back, unfollowed, a redirect to a scheme it does not speak: say why.
        if response.status().is_redirection()
            && status != 304
            && let Some(location) = response.headers().get(header::LOCATION)
        {
            let target = location.to_str().ok().and_then(|l| final_url.join(l).ok());
            return Err(match target {
                Some(target) => match self.policy.check_url(&target) {
                    Err(refused) => refused.into(),
                    Ok(()) => FetchError::Http(format!("a redirect to {target} was not followed")),
                },
                None => FetchError::Http("a redirect to an unreadable location".to_owned()),
            });
        }
        let remote = response.remote_addr();
        let headers: Vec<(String, Vec<u8>)> = response
            .headers()
            .iter()
            .map(|(name, value)| (name.as_str().to_owned(), value.as_bytes().to_vec()))
            .collect();
        if let Some(length) = response.content_length()
            && length > limit.max_bytes as u64
            && !limit.cut
        {
            return Err(FetchError::TooLarge { limit: limit.max_bytes });
        }
        let mut raw_body = Vec::new();
        loop {
            let chunk = response.chunk().await.map_err(|e| {
                if e.is_timeout() {
                    FetchError::Stalled(self.limits.read_timeout)
                } else {
                    FetchError::Http(error_chain(&e))
                }
            })?;
            let Some(chunk) = chunk else { break };
            if raw_body.len() + chunk.len() > limit.max_bytes {
                if !limit.cut {
                    return Err(FetchError::TooLarge { limit: limit.max_bytes });
                }
                raw_body.extend_from_slice(&chunk[..limit.max_bytes - raw_body.len()]);
                break;
            }
            raw_body.extend_from_slice(&chunk);
        }
        let coding = response
            .headers()
            .get(header::CONTENT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("identity")
            .trim()
            .to_ascii_lowercase();
        let body = decode(&coding, &raw_body, limit)?;
        let validator = |name: header::HeaderName| {
            response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
        };
        let validators = Validators {
            etag: validator(header::ETAG),
            last_modified: validator(header::LAST_MODIFIED),
        };
        let request_headers = sent
            .iter()
            .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned()))
            .collect();
        Ok(Fetched {
            requested: url.clone(),
            final_url,
            status,
            headers,
            request_headers,
            remote,
            raw_body,
            body,
            validators,
        })
    }
}

const ACCEPT: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

/// The policy's refusal, when that is what stopped a request (a redirect it refused, or a name
/// that resolved only to forbidden addresses), found in the error's causes.
fn refusal_in(error: &reqwest::Error) -> Option<Refused> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = cause {
        if let Some(refused) = current.downcast_ref::<Refused>() {
            return Some(refused.clone());
        }
        cause = current.source();
    }
    None
}

fn error_chain(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut cause = std::error::Error::source(error);
    while let Some(current) = cause {
        text = format!("{text}: {current}");
        cause = current.source();
    }
    text
}

/// Removes a content coding, refusing to produce more than `limit` bytes.
/// How much of a body is read, and what happens past it.
#[derive(Debug, Clone, Copy)]
struct Body {
    max_bytes: usize,
    max_decoded: usize,
    /// Keep what came before the limit (a truncated compressed stream decoded as far as it
    /// goes), rather than fail.
    cut: bool,
}

fn decode(coding: &str, raw: &[u8], body: Body) -> Result<Vec<u8>, FetchError> {
    let failed = |reason: String| FetchError::Decoding { coding: coding.to_owned(), reason };
    let limit = body.max_decoded;
    let reader: Box<dyn Read + '_> = match coding {
        "identity" | "" => return Ok(raw.to_vec()),
        "gzip" | "x-gzip" => Box::new(flate2::read::MultiGzDecoder::new(raw)),
        // Servers send both zlib-wrapped and raw deflate under this name.
        "deflate" if raw.first().is_some_and(|b| b & 0x0f == 8) => {
            Box::new(flate2::read::ZlibDecoder::new(raw))
        }
        "deflate" => Box::new(flate2::read::DeflateDecoder::new(raw)),
        "br" => Box::new(brotli_decompressor::Decompressor::new(raw, 4096)),
        other => return Err(failed(format!("{other} is not a coding captures read"))),
    };
    let mut out = Vec::new();
    let read = reader.take(limit as u64 + 1).read_to_end(&mut out);
    if body.cut {
        out.truncate(limit);
        return Ok(out);
    }
    read.map_err(|e| failed(e.to_string()))?;
    if out.len() > limit {
        return Err(FetchError::TooLarge { limit });
    }
    Ok(out)
}

/// Decodes a page's bytes as browsers do: a byte-order mark, else the charset of the
/// Content-Type, else one a `<meta>` in the first 1,024 bytes declares, else UTF-8 when the
/// bytes are UTF-8, else windows-1252.
pub fn decode_text(bytes: &[u8], content_type: Option<&str>) -> String {
    let declared = content_type
        .and_then(charset_parameter)
        .or_else(|| meta_charset(&bytes[..bytes.len().min(1024)]))
        .and_then(|label| encoding_rs::Encoding::for_label(label.as_bytes()));
    let encoding = match declared {
        Some(encoding) => encoding,
        None if std::str::from_utf8(bytes).is_ok() => encoding_rs::UTF_8,
        None => encoding_rs::WINDOWS_1252,
    };
    // `decode` honours a byte-order mark over the label, as the HTML standard does.
    encoding.decode(bytes).0.into_owned()
}

fn charset_parameter(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|parameter| {
        let (name, value) = parameter.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"').to_owned())
    })
}

fn meta_charset(head: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(head).to_ascii_lowercase();
    let at = text.find("charset=")? + "charset=".len();
    let value: String = text[at..]
        .trim_start_matches(['"', '\''])
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.'))
        .collect();
    (!value.is_empty()).then_some(value)
}

/// Resolves names as the system does, then keeps only the addresses the policy allows: what
/// reqwest connects to is what was checked.
struct GuardedResolver(Arc<AddressPolicy>);

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.0.clone();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            let mut refusal = None;
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|address| match policy.check(address.ip()) {
                    Ok(()) => true,
                    Err(refused) => {
                        refusal.get_or_insert(refused);
                        false
                    }
                })
                .collect();
            if allowed.is_empty() {
                let error: Box<dyn std::error::Error + Send + Sync> = match refusal {
                    Some(refused) => Box::new(refused),
                    None => format!("{} resolves to no address", name.as_str()).into(),
                };
                return Err(error);
            }
            let addresses: Addrs = Box::new(allowed.into_iter());
            Ok(addresses)
        })
    }
}

#[cfg(test)]
#[path = "fetch_tests.rs"]
mod tests;
