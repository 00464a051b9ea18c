//! A web site on loopback for the capture tests and benchmarks: pages a caller sets and
//! changes, `If-None-Match` answered with 304, a trickling body on request, and a count of
//! the requests of each path.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A page the fixture site serves.
#[derive(Clone)]
pub struct Page {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Send the body a byte a second (a server that trickles).
    pub trickle: bool,
}

impl Page {
    pub fn html(body: &str) -> Self {
        Page {
            status: 200,
            headers: vec![("Content-Type".into(), "text/html; charset=utf-8".into())],
            body: body.as_bytes().to_vec(),
            trickle: false,
        }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn status(status: u16) -> Self {
        Page { status, headers: Vec::new(), body: Vec::new(), trickle: false }
    }
}

/// A web site on loopback whose pages a test sets and changes. It answers `If-None-Match`
/// with 304 when the page's `ETag` matches, and counts the requests of each path.
#[derive(Clone)]
pub struct Site {
    pub base: String,
    pages: Arc<Mutex<HashMap<String, Page>>>,
    hits: Arc<Mutex<HashMap<String, usize>>>,
}

impl Site {
    pub async fn start() -> Site {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let site = Site { base, pages: Arc::default(), hits: Arc::default() };
        let serving = site.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let site = serving.clone();
                tokio::spawn(async move { site.answer(stream).await });
            }
        });
        site
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn set(&self, path: &str, page: Page) {
        self.pages.lock().unwrap().insert(path.to_owned(), page);
    }

    pub fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }

    async fn answer(&self, mut stream: tokio::net::TcpStream) {
        let mut request = Vec::new();
        let mut buffer = [0u8; 4096];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => request.extend_from_slice(&buffer[..n]),
            }
        }
        let request = String::from_utf8_lossy(&request).into_owned();
        let path = request.split_whitespace().nth(1).unwrap_or("/").to_owned();
        let if_none_match = request.lines().find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("if-none-match").then(|| value.trim().to_owned())
        });
        *self.hits.lock().unwrap().entry(path.clone()).or_default() += 1;
        let page = self.pages.lock().unwrap().get(&path).cloned().unwrap_or(Page::status(404));
        let etag = page.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case("etag"));
        let page = match (etag, if_none_match) {
            (Some((_, tag)), Some(sent)) if *tag == sent => {
                Page { status: 304, body: Vec::new(), ..page.clone() }
            }
            _ => page,
        };
        let mut head = format!("HTTP/1.1 {} X\r\nConnection: close\r\n", page.status);
        for (name, value) in &page.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!("Content-Length: {}\r\n\r\n", page.body.len()));
        if stream.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        if page.trickle {
            for byte in &page.body {
                if stream.write_all(&[*byte]).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        } else {
            let _ = stream.write_all(&page.body).await;
        }
        let _ = stream.shutdown().await;
    }
}
