//! The fetcher against a fixture server on 127.0.0.1 that answers with raw bytes, so that a
//! test can send what no well-behaved server would: bombs, trickles, endless redirects.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;
use crate::capture::guard::Forbidden;

/// What the fixture answers to a request: the response head and body, written at once or a
/// byte at a time.
struct Reply {
    head: String,
    body: Vec<u8>,
    trickle: Option<Duration>,
}

fn reply(status: &str, headers: &[(&str, &str)], body: impl Into<Vec<u8>>) -> Reply {
    let body = body.into();
    let mut head = format!("HTTP/1.1 {status}\r\ncontent-length: {}\r\n", body.len());
    for (name, value) in headers {
        head += &format!("{name}: {value}\r\n");
    }
    head += "connection: close\r\n\r\n";
    Reply { head, body, trickle: None }
}

/// Starts the fixture; `answer` gets the request's path and its If-None-Match header.
async fn fixture(answer: impl Fn(&str, Option<&str>) -> Reply + Send + Sync + 'static) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let answer = Arc::new(answer);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let answer = answer.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buffer = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                let request = String::from_utf8_lossy(&request).into_owned();
                let path = request.split_whitespace().nth(1).unwrap_or("/").to_owned();
                let etag = request.lines().find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("if-none-match").then(|| value.trim().to_owned())
                });
                let reply = answer(&path, etag.as_deref());
                let _ = socket.write_all(reply.head.as_bytes()).await;
                match reply.trickle {
                    None => {
                        let _ = socket.write_all(&reply.body).await;
                    }
                    Some(pause) => {
                        for byte in reply.body {
                            if socket.write_all(&[byte]).await.is_err() {
                                return;
                            }
                            tokio::time::sleep(pause).await;
                        }
                    }
                }
            });
        }
    });
    port
}

fn loopback_allowed() -> AddressPolicy {
    AddressPolicy::new(vec!["127.0.0.0/8".parse().unwrap()])
}

fn fetcher(policy: AddressPolicy, limits: FetchLimits) -> Fetcher {
    Fetcher::new(policy, limits, "palimpsest-test/1").unwrap()
}

fn url(port: u16, path: &str) -> Url {
    Url::parse(&format!("http://127.0.0.1:{port}{path}")).unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

#[tokio::test]
async fn loopback_is_refused_unless_the_operator_allows_it() {
    let port = fixture(|_, _| reply("200 OK", &[], "hello")).await;
    let refused = fetcher(AddressPolicy::default(), FetchLimits::default())
        .fetch(&url(port, "/"), &Validators::default())
        .await
        .unwrap_err();
    assert!(
        matches!(refused, FetchError::Refused(Refused::Address { why: Forbidden::Loopback, .. })),
        "{refused}"
    );
    // By name too: what `localhost` resolves to is checked before any connection.
    let by_name = Url::parse(&format!("http://localhost:{port}/")).unwrap();
    let refused = fetcher(AddressPolicy::default(), FetchLimits::default())
        .fetch(&by_name, &Validators::default())
        .await
        .unwrap_err();
    assert!(matches!(refused, FetchError::Refused(Refused::Address { .. })), "{refused}");
    let fetched = fetcher(loopback_allowed(), FetchLimits::default())
        .fetch(&by_name, &Validators::default())
        .await
        .unwrap();
    assert_eq!((fetched.status, fetched.text().as_str()), (200, "hello"));
}

#[tokio::test]
async fn a_page_is_fetched_again_conditionally_and_kept_as_sent() {
    let page = "<html><body><p>The first version.</p></body></html>";
    let compressed = gzip(page.as_bytes());
    let sent = compressed.clone();
    let port = fixture(move |_, etag| match etag {
        Some("\"v1\"") => reply("304 Not Modified", &[("etag", "\"v1\"")], ""),
        _ => reply(
            "200 OK",
            &[
                ("content-type", "text/html; charset=utf-8"),
                ("content-encoding", "gzip"),
                ("etag", "\"v1\""),
                ("last-modified", "Fri, 04 Dec 2026 10:00:00 GMT"),
            ],
            sent.clone(),
        ),
    })
    .await;
    let fetcher = fetcher(loopback_allowed(), FetchLimits::default());
    let first = fetcher.fetch(&url(port, "/story"), &Validators::default()).await.unwrap();
    assert_eq!(first.status, 200);
    assert_eq!(first.raw_body, compressed, "the evidence is the bytes as sent");
    assert_eq!(first.text(), page);
    assert_eq!(first.validators.etag.as_deref(), Some("\"v1\""));
    assert!(first.remote.is_some_and(|a| a.ip().is_loopback()));
    let second = fetcher.fetch(&url(port, "/story"), &first.validators).await.unwrap();
    assert!(second.not_modified());
    assert!(second.request_headers.iter().any(|(n, v)| n == "if-none-match" && v == "\"v1\""));
}

#[tokio::test]
async fn redirects_are_followed_within_bounds_and_never_to_a_forbidden_address() {
    let port = fixture(|path, _| match path {
        "/moved" => reply("301 Moved Permanently", &[("location", "/new")], ""),
        "/new" => reply("200 OK", &[], "new home"),
        "/metadata" => {
            reply("302 Found", &[("location", "http://169.254.169.254/latest/meta-data/")], "")
        }
        "/file" => reply("302 Found", &[("location", "file:///etc/passwd")], ""),
        _ => reply("302 Found", &[("location", "/loop")], ""),
    })
    .await;
    let fetcher = fetcher(loopback_allowed(), FetchLimits::default());
    let moved = fetcher.fetch(&url(port, "/moved"), &Validators::default()).await.unwrap();
    assert_eq!(moved.final_url, url(port, "/new"));
    assert_eq!(moved.text(), "new home");
    let metadata = fetcher.fetch(&url(port, "/metadata"), &Validators::default()).await;
    assert!(
        matches!(
            metadata,
            Err(FetchError::Refused(Refused::Address { why: Forbidden::LinkLocal, .. }))
        ),
        "{metadata:?}"
    );
    let file = fetcher.fetch(&url(port, "/file"), &Validators::default()).await;
    assert!(matches!(file, Err(FetchError::Refused(Refused::Scheme(_)))), "{file:?}");
    let endless = fetcher.fetch(&url(port, "/loop"), &Validators::default()).await.unwrap_err();
    assert!(endless.to_string().contains("redirects"), "{endless}");
}

#[tokio::test]
async fn bombs_floods_and_trickles_fail_with_their_reason() {
    let bomb = gzip(&vec![0u8; 8 * 1024 * 1024]);
    let port = fixture(move |path, _| match path {
        "/bomb" => reply("200 OK", &[("content-encoding", "gzip")], bomb.clone()),
        "/flood" => reply("200 OK", &[], vec![b'x'; 300_000]),
        "/unknown-coding" => reply("200 OK", &[("content-encoding", "zip")], "PK"),
        _ => Reply { trickle: Some(Duration::from_millis(400)), ..reply("200 OK", &[], "slow") },
    })
    .await;
    let limits = FetchLimits {
        max_bytes: 200_000,
        max_decoded_bytes: 1024 * 1024,
        read_timeout: Duration::from_millis(150),
        total_timeout: Duration::from_secs(5),
        ..FetchLimits::default()
    };
    let fetcher = fetcher(loopback_allowed(), limits);
    let none = Validators::default();
    let bomb = fetcher.fetch(&url(port, "/bomb"), &none).await;
    assert!(matches!(bomb, Err(FetchError::TooLarge { limit: 1_048_576 })), "{bomb:?}");
    let flood = fetcher.fetch(&url(port, "/flood"), &none).await;
    assert!(matches!(flood, Err(FetchError::TooLarge { limit: 200_000 })), "{flood:?}");
    let unknown = fetcher.fetch(&url(port, "/unknown-coding"), &none).await;
    assert!(matches!(unknown, Err(FetchError::Decoding { .. })), "{unknown:?}");
    let trickle = fetcher.fetch(&url(port, "/trickle"), &none).await;
    assert!(matches!(trickle, Err(FetchError::Stalled(_))), "{trickle:?}");
}

#[test]
fn text_is_decoded_in_the_charset_declared_or_sniffed() {
    let latin1 = b"Caf\xe9 cr\xe8me";
    assert_eq!(decode_text(latin1, Some("text/html; charset=ISO-8859-1")), "Café crème");
    assert_eq!(decode_text(latin1, None), "Café crème", "not UTF-8: windows-1252");
    let meta = b"<html><head><meta charset=\"iso-8859-15\"></head>\xa4";
    assert!(decode_text(meta, Some("text/html")).ends_with('€'));
    assert_eq!(decode_text("naïve ☕".as_bytes(), None), "naïve ☕");
    assert_eq!(decode_text(b"\xef\xbb\xbfbom", Some("text/html; charset=latin1")), "bom");
}
