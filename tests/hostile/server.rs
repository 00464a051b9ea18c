//! The real `palimpsest` binary as an operator runs it, in its own process (so a crash is a
//! dead process, and its memory is its own), over a fresh database on SQLite or PostgreSQL.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sea_orm::{FromQueryResult, JsonValue, Statement};

pub use crate::database::{Backend, TestDatabase as Database};

impl Database {
    pub fn name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }

    /// Every row of every table of the corpus, in a fixed order: equal dumps mean nothing was
    /// written. Not the audit log (refusals are recorded there, as they should be) nor the
    /// signed checkpoints (the server keeps each one it serves).
    pub async fn dump(&self) -> String {
        let db = palimpsest::store::connect(&self.url).await.unwrap();
        let mut dump = String::new();
        for (table, order) in [
            ("agents", "id"),
            ("api_tokens", "id"),
            ("sources", "id"),
            ("documents", "id"),
            ("revisions", "hash"),
            ("blobs", "sha256"),
            ("citations", "id"),
            ("redactions", "revision_hash"),
            ("log_state", "id"),
            ("log_nodes", "level, position"),
        ] {
            let rows = JsonValue::find_by_statement(Statement::from_string(
                db.get_database_backend(),
                format!("SELECT * FROM {table} ORDER BY {order}"),
            ))
            .all(&db)
            .await
            .unwrap();
            dump.push_str(&format!("{table}: {}\n", serde_json::to_string(&rows).unwrap()));
        }
        db.close().await.ok();
        dump
    }
}

/// Runs a `palimpsest` command against `database` and returns its stdout.
pub fn cli(database: &Database, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_palimpsest"))
        .args(args)
        .env("DATABASE_URL", &database.url)
        .env_remove("RUST_LOG")
        .output()
        .expect("run palimpsest");
    assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

pub struct Server {
    child: Child,
    pub address: String,
    /// The server's log; its tail is printed when the server died.
    log: std::path::PathBuf,
}

impl Server {
    /// Starts `palimpsest serve` on a free port with `extra` flags and waits until it answers.
    pub async fn start(database: &Database, extra: &[&str]) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let bind = format!("127.0.0.1:{port}");
        let log = std::env::temp_dir()
            .join(format!("palimpsest-hostile-{}.log", uuid::Uuid::now_v7().simple()));
        let key = log.with_extension("key");
        let child = Command::new(env!("CARGO_BIN_EXE_palimpsest"))
            .args(["serve", "--bind", &bind])
            .arg("--log-key")
            .arg(&key)
            .args(extra)
            .env("DATABASE_URL", &database.url)
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start palimpsest serve");
        let server = Server { child, address: format!("http://{bind}"), log };
        let client = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if let Ok(response) = client.get(format!("{}/readyz", server.address)).send().await
                && response.status() == 200
            {
                return server;
            }
            assert!(started.elapsed() < Duration::from_secs(60), "the server did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The last lines the server logged.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The resident set of the server process, in KiB.
    pub fn rss_kib(&self) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
        let _ = std::fs::remove_file(self.log.with_extension("key"));
    }
}
