//! Cross-origin requests from browsers (CORS, by `actix-cors`): which other origins' pages may
//! call the API, with which methods and headers. None by default. A listed origin may send a
//! bearer token; `*` (any origin) is for anonymous reads only: `Authorization` is then not
//! among the headers a page may send, and a WebSocket from an unlisted origin may not present
//! a token either. Cookies are never used, so credentials are never allowed.
//!
//! Browsers do not apply CORS to WebSockets, so the upgrade checks `Origin` itself
//! (`Origins::socket`): a page on an origin that may not call the API over HTTP may not open a
//! socket to it either.

use actix_cors::Cors;
use actix_web::http::header::{self, HeaderName};

/// How long a browser may keep a preflight's answer: Chromium's ceiling.
const MAX_AGE_SECS: usize = 7200;

/// The request headers a page may send: ours, and those Apollo Client and Relay's network
/// layers add.
const REQUEST_HEADERS: [&str; 8] = [
    "content-type",
    // A read presenting a write's consistency token (read replicas).
    "palimpsest-consistency",
    "accept",
    "x-request-id",
    "apollographql-client-name",
    "apollographql-client-version",
    "apollo-require-preflight",
    "x-apollo-operation-name",
];

/// The response headers a page may read besides the CORS-safelisted ones.
const EXPOSED_HEADERS: [&str; 13] = [
    "x-request-id",
    // With read replicas: a write's consistency token, and how old a replica's answer may be.
    "palimpsest-consistency",
    "palimpsest-staleness-ms",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-used",
    "x-ratelimit-reset",
    "retry-after",
    "etag",
    "link",
    "location",
    "memento-datetime",
    "vary",
];

/// The origins whose pages may call the API.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Origins {
    /// None but the server's own (the default).
    #[default]
    None,
    /// Any origin, for anonymous reads.
    Any,
    /// These origins (`scheme://host[:port]`, lowercase), tokens included.
    Listed(Vec<String>),
}

/// What a WebSocket upgrade from a browser page may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketAccess {
    /// Anything: not from a page of another origin (no `Origin`, the server's own), or from a
    /// listed one.
    Full,
    /// Anonymous operations only (`*`, an origin not listed).
    Anonymous,
    /// Nothing: an origin that may not call the API.
    Refused,
}

impl Origins {
    /// Parses the configured list: `*` alone, or origins as a browser sends them in `Origin`.
    pub fn parse(list: &[String]) -> Result<Self, String> {
        let list: Vec<&str> = list.iter().map(|o| o.trim()).filter(|o| !o.is_empty()).collect();
        if list.is_empty() {
            return Ok(Origins::None);
        }
        if list.contains(&"*") {
            if list.len() > 1 {
                return Err(
                    "CORS origins: `*` (any origin, anonymous reads) cannot be combined with \
                     listed origins"
                        .to_owned(),
                );
            }
            return Ok(Origins::Any);
        }
        let mut origins = Vec::with_capacity(list.len());
        for origin in list {
            let Some((scheme, host)) = origin.split_once("://") else {
                return Err(format!("CORS origin {origin:?} is not `scheme://host[:port]`"));
            };
            let valid_host = !host.is_empty()
                && host.chars().all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c));
            if !matches!(scheme, "http" | "https") || !valid_host {
                return Err(format!(
                    "CORS origin {origin:?} is not `http(s)://host[:port]` (no path, no slash \
                     at the end)"
                ));
            }
            origins.push(origin.to_ascii_lowercase());
        }
        Ok(Origins::Listed(origins))
    }

    /// The middleware for these origins. Requests from other origins are served without CORS
    /// headers (the browser then refuses the page the answer), so same-origin pages and
    /// non-browser clients are unaffected.
    pub(super) fn middleware(&self) -> Cors {
        let mut headers: Vec<HeaderName> =
            REQUEST_HEADERS.iter().map(|h| HeaderName::from_static(h)).collect();
        let cors = match self {
            // No answer differs by origin, so none says `Vary: Origin` (a Memento TimeGate's
            // `Vary: accept-datetime` stays what it is).
            Origins::None => Cors::default().disable_vary_header(),
            Origins::Any => Cors::default().allow_any_origin().send_wildcard(),
            Origins::Listed(origins) => {
                headers.push(header::AUTHORIZATION);
                origins.iter().fold(Cors::default(), |cors, origin| cors.allowed_origin(origin))
            }
        };
        cors.allowed_methods(["GET", "HEAD", "POST"])
            .allowed_headers(headers)
            .expose_headers(EXPOSED_HEADERS.iter().map(|h| HeaderName::from_static(h)))
            .max_age(MAX_AGE_SECS)
            .block_on_origin_mismatch(false)
    }

    /// What a WebSocket upgrade carrying `origin` may do, on a server whose own origin (as the
    /// request names it) is `own`.
    pub(super) fn socket(&self, origin: Option<&str>, own: &str) -> SocketAccess {
        let Some(origin) = origin else { return SocketAccess::Full };
        let origin = origin.trim().to_ascii_lowercase();
        if origin == own.to_ascii_lowercase() {
            return SocketAccess::Full;
        }
        match self {
            Origins::Listed(origins) if origins.contains(&origin) => SocketAccess::Full,
            Origins::Any => SocketAccess::Anonymous,
            _ => SocketAccess::Refused,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(list: &[&str]) -> Result<Origins, String> {
        Origins::parse(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn origins_are_none_any_or_a_list_of_exact_origins() {
        assert_eq!(parse(&[]), Ok(Origins::None));
        assert_eq!(parse(&[" "]), Ok(Origins::None));
        assert_eq!(parse(&["*"]), Ok(Origins::Any));
        assert_eq!(
            parse(&["https://News.example.org", "http://localhost:5173"]),
            Ok(Origins::Listed(vec![
                "https://news.example.org".into(),
                "http://localhost:5173".into()
            ]))
        );
        for bad in [
            &["*", "https://a.example"][..],
            &["news.example.org"],
            &["https://a.example/"],
            &["ftp://a.example"],
            &["https://"],
            &["https://a.example/path"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn sockets_from_pages_follow_the_same_origins() {
        let own = "http://api.example.org";
        let listed = Origins::Listed(vec!["https://news.example.org".into()]);
        assert_eq!(listed.socket(None, own), SocketAccess::Full);
        assert_eq!(listed.socket(Some("http://API.example.org"), own), SocketAccess::Full);
        assert_eq!(listed.socket(Some("https://news.example.org"), own), SocketAccess::Full);
        assert_eq!(listed.socket(Some("https://evil.example"), own), SocketAccess::Refused);
        assert_eq!(Origins::Any.socket(Some("https://evil.example"), own), SocketAccess::Anonymous);
        assert_eq!(
            Origins::None.socket(Some("https://news.example.org"), own),
            SocketAccess::Refused
        );
        assert_eq!(Origins::None.socket(Some(own), own), SocketAccess::Full);
    }
}
