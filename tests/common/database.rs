//! A fresh database for one test, on SQLite (a temporary file) or PostgreSQL (a uniquely named
//! database beside the one `PALIMPSEST_TEST_POSTGRES_URL` names), removed when the test ends,
//! however it ends. Shared by the test binaries through `#[path]`.

use sea_orm::ConnectionTrait;

/// Names an admin connection to a PostgreSQL server, e.g.
/// `postgres://postgres@127.0.0.1:5432/postgres`. Each test creates and drops its own database.
pub const POSTGRES_ENV: &str = "PALIMPSEST_TEST_POSTGRES_URL";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestDatabase {
    pub backend: Backend,
    pub url: String,
    /// For PostgreSQL: the admin URL and the database's name, to drop it.
    postgres: Option<(String, String)>,
    sqlite_file: Option<std::path::PathBuf>,
}

impl TestDatabase {
    /// A new, empty database; `None` only for PostgreSQL when no server is configured.
    pub async fn create(backend: Backend, prefix: &str) -> Option<Self> {
        let unique = uuid::Uuid::now_v7().simple().to_string();
        match backend {
            Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!("{prefix}-{unique}.db"));
                Some(TestDatabase {
                    backend,
                    url: format!("sqlite://{}", path.display()),
                    postgres: None,
                    sqlite_file: Some(path),
                })
            }
            Backend::Postgres => {
                let admin_url = std::env::var(POSTGRES_ENV).ok().filter(|u| !u.is_empty())?;
                let name = format!("{}_{unique}", prefix.replace('-', "_"));
                let admin =
                    sea_orm::Database::connect(&admin_url).await.expect("connect to PostgreSQL");
                admin
                    .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                    .await
                    .expect("create the test database");
                admin.close().await.ok();
                let base = admin_url.rsplit_once('/').map_or(admin_url.as_str(), |(b, _)| b);
                Some(TestDatabase {
                    backend,
                    url: format!("{base}/{name}"),
                    postgres: Some((admin_url.clone(), name)),
                    sqlite_file: None,
                })
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(path) = &self.sqlite_file {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
        }
        if let Some((admin_url, name)) = self.postgres.clone() {
            // Drop runs inside the test's runtime, which cannot block on itself.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
                runtime
                    .block_on(async {
                        let admin = sea_orm::Database::connect(&admin_url).await?;
                        admin
                            .execute_unprepared(&format!(
                                "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                            ))
                            .await?;
                        admin.close().await
                    })
                    .map_err(std::io::Error::other)
            })
            .join();
        }
    }
}
