//! A TCP proxy between the server and PostgreSQL that a test can cut and restore, to show how
//! the server meets a database outage and recovers from it without a restart.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub struct Proxy {
    /// The database URL, pointing at the proxy.
    pub url: String,
    up: Arc<AtomicBool>,
    /// Bumped on every cut, so that live connections close.
    cuts: watch::Sender<u64>,
}

impl Proxy {
    /// Starts a proxy in front of the server `url` names (host and port of a postgres:// URL).
    pub async fn start(url: &str) -> Self {
        let rest = url.strip_prefix("postgres://").expect("a postgres:// URL");
        let (credentials, after_at) = rest.split_once('@').expect("user@host in the URL");
        let (authority, path) = after_at.split_once('/').unwrap_or((after_at, ""));
        let upstream = if authority.contains(':') {
            authority.to_owned()
        } else {
            format!("{authority}:5432")
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let (cuts, _) = watch::channel(0u64);
        let (accept_up, accept_cuts) = (up.clone(), cuts.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if !accept_up.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let upstream = upstream.clone();
                let mut cut = accept_cuts.subscribe();
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(&upstream).await else { return };
                    let (mut client, mut server) = (client, server);
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        Proxy { url: format!("postgres://{credentials}@127.0.0.1:{port}/{path}"), up, cuts }
    }

    /// Closes every connection through the proxy and refuses new ones.
    pub fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.cuts.send_modify(|n| *n += 1);
    }

    pub fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}
