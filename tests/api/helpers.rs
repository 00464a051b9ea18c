//! The test harness: `spawn_app` starts the real server on port 0 over a fresh database with
//! the real migrations, on SQLite (always) or PostgreSQL (when `PALIMPSEST_TEST_POSTGRES_URL`
//! names a server), and gives tests a client that talks to it over HTTP; `spawn_schema`
//! starts no server, and the same client talks to the schema as the server builds it
//! (`on_both_backends!(schema: ...)`). `snapshot` and `scrubbed` put a response as an
//! `expect!` snapshot shows it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_graphql::{Request, Variables};
use palimpsest::capture::guard::AddressPolicy;
use palimpsest::graphql::auth::Credentials;
use palimpsest::graphql::limits::QueryLimits;
use palimpsest::graphql::{GraphqlService, RequestContext};
use palimpsest::http::{Application, HttpSettings};
use palimpsest::ratelimit::{RateLimitSettings, RateLimiter};
use palimpsest::store::{self, AgentKind, DatabaseTimeouts, Role, Store, StoreLimits};
use serde_json::{Value, json};

pub use crate::database::{Backend, POSTGRES_ENV, TestDatabase};

pub const TEST_MAX_CONTENT_BYTES: usize = 64 * 1024;
pub const TEST_MAX_BODY_BYTES: usize = 256 * 1024;

/// Runs each named `async fn(TestApp)` once per backend, as `sqlite::name` and
/// `postgres::name`. Without a PostgreSQL server the PostgreSQL half is reported as ignored.
///
/// A file says at which boundary its tests stand: `on_both_backends!(a, b)` starts the real
/// server and `app.query` goes over HTTP (for what is HTTP: the protocol, headers, statuses,
/// pages, Memento, CORS, subscriptions, hardening); `on_both_backends!(schema: a, b)` starts
/// no server, and `app.query` executes on the schema (`GraphqlService::execute`, the step both
/// transports share), so that a rule's test fails on the rule, not on the transport; a file
/// with both says `on_both_backends!(schema: a, b; http: c)`; `on_both_backends!(store: a)`
/// starts no server either, for tests of the store's own rules. Schema tests run on one thread,
/// as an actix worker runs a request: the loaders gather a batch over a few turns of that
/// thread, so the statements a query costs are the server's.
#[macro_export]
macro_rules! on_both_backends {
    (@tests $([$spawn:path, $test:meta] $(#[$attr:meta])* $name:ident),+) => {
        mod sqlite {
            $(
                #[$test]
                $(#[$attr])*
                async fn $name() {
                    let app = $spawn($crate::helpers::Backend::Sqlite).await.unwrap();
                    super::$name(app).await;
                }
            )+
        }
        mod postgres {
            $(
                #[$test]
                #[cfg_attr(
                    palimpsest_no_postgres,
                    ignore = "PALIMPSEST_TEST_POSTGRES_URL was not set when the tests were built"
                )]
                $(#[$attr])*
                async fn $name() {
                    let app = $spawn($crate::helpers::Backend::Postgres)
                        .await
                        .expect("PALIMPSEST_TEST_POSTGRES_URL names a PostgreSQL server");
                    super::$name(app).await;
                }
            )+
        }
    };
    (
        schema: $($(#[$sattr:meta])* $schema:ident),+ ;
        http: $($(#[$hattr:meta])* $http:ident),+ $(,)?
    ) => {
        $crate::on_both_backends!(@tests
            $([$crate::helpers::spawn_schema, tokio::test] $(#[$sattr])* $schema),+,
            $([
                $crate::helpers::spawn_app,
                tokio::test(flavor = "multi_thread", worker_threads = 2)
            ] $(#[$hattr])* $http),+
        );
    };
    // The store's own tests need no more than the schema's: no server.
    (store: $($tests:tt)+) => {
        $crate::on_both_backends!(schema: $($tests)+);
    };
    (schema: $($(#[$attr:meta])* $name:ident),+ $(,)?) => {
        $crate::on_both_backends!(@tests
            $([$crate::helpers::spawn_schema, tokio::test] $(#[$attr])* $name),+
        );
    };
    ($($(#[$attr:meta])* $name:ident),+ $(,)?) => {
        $crate::on_both_backends!(@tests
            $([
                $crate::helpers::spawn_app,
                tokio::test(flavor = "multi_thread", worker_threads = 2)
            ] $(#[$attr])* $name),+
        );
    };
}

pub struct TestApp {
    /// The server's base URL; empty for a test at the schema's boundary, which starts none.
    pub address: String,
    pub client: reqwest::Client,
    pub store: Store,
    /// Every SQL statement the server runs increments this.
    pub statements: Arc<AtomicUsize>,
    /// The proxy between the server and PostgreSQL, when the test asked for one.
    pub proxy: Option<crate::proxy::Proxy>,
    pub backend: Backend,
    pub database_url: String,
    /// The key the server signs checkpoints with (its verifier key is what outsiders hold).
    pub log_key: Arc<palimpsest::checkpoint::LogKey>,
    /// What clients make the server hold (request bodies, WebSocket frames).
    pub memory: palimpsest::memory::Memory,
    /// The schema as the server builds it (same limits, rate limits and log key).
    pub schema: GraphqlService,
    _database: TestDatabase,
}

/// Starts the server over a fresh, migrated database. `None` only for PostgreSQL when no
/// server is configured.
pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, None).await
}

/// A test at the schema's boundary: the store and the schema over a fresh, migrated database,
/// and no HTTP server.
pub async fn spawn_schema(backend: Backend) -> Option<TestApp> {
    spawn_configured(backend, |config| config.serve_http = false).await
}

/// Like `spawn_app`, with a configured public base URL for permanent links.
pub async fn spawn_app_with(backend: Backend, public_url: Option<&str>) -> Option<TestApp> {
    let public_url = public_url.map(str::to_owned);
    spawn_configured(backend, move |config| config.http.public_url = public_url).await
}

/// What a test may change about the server it spawns.
pub struct TestConfig {
    pub http: HttpSettings,
    pub store: StoreLimits,
    pub database: DatabaseTimeouts,
    /// Connect to PostgreSQL through a proxy the test can cut (`TestApp::proxy`).
    pub through_proxy: bool,
    /// Start the HTTP server (see `on_both_backends!` for the tests that start none).
    pub serve_http: bool,
}

/// Like `spawn_app`, with the test defaults changed by `configure`.
pub async fn spawn_configured(
    backend: Backend,
    configure: impl FnOnce(&mut TestConfig),
) -> Option<TestApp> {
    let mut config = TestConfig {
        http: HttpSettings {
            bind: "127.0.0.1:0".into(),
            max_body_bytes: TEST_MAX_BODY_BYTES,
            workers: Some(2),
            // Tests sign checkpoints when they need one (`checkpoint_of`), so that the server's
            // own signing never runs statements in the middle of what a test counts.
            checkpoint_interval: std::time::Duration::from_secs(3600),
            // The capture tests' fixture site listens on loopback.
            capture_allow: loopback(),
            ..HttpSettings::default()
        },
        store: StoreLimits { max_content_bytes: TEST_MAX_CONTENT_BYTES, ..StoreLimits::default() },
        database: DatabaseTimeouts::default(),
        through_proxy: false,
        serve_http: true,
    };
    configure(&mut config);
    let database = TestDatabase::create(backend, "palimpsest-test").await?;
    let url = database.url.clone();
    let proxy = match (backend, config.through_proxy) {
        (Backend::Postgres, true) => Some(crate::proxy::Proxy::start(&url).await),
        _ => None,
    };
    let url = proxy.as_ref().map_or(url, |p| p.url.clone());
    let database_url = url.clone();
    let mut db =
        store::connect_with(&url, config.database).await.expect("connect to the test database");
    store::migrate(&db).await.expect("migrate");
    let statements = Arc::new(AtomicUsize::new(0));
    let counter = statements.clone();
    db.set_metric_callback(move |_| {
        counter.fetch_add(1, Ordering::Relaxed);
    });
    let store = Store::new(db, config.store);
    let schema = GraphqlService::new(
        store.clone(),
        config.http.limits,
        Arc::new(RateLimiter::new(config.http.rate_limits)),
        config.http.log_key.clone(),
        AddressPolicy::new(config.http.capture_allow.clone()),
    );
    let (address, memory) = if config.serve_http {
        let app = Application::build(&config.http, store.clone()).expect("build the app");
        let address = format!("http://127.0.0.1:{}", app.port());
        let memory = app.client_memory();
        tokio::spawn(app.run_until_stopped());
        // The server signs a checkpoint as it starts: wait for it, so that its statements are
        // not counted in what a test measures.
        for _ in 0..500 {
            if store.latest_checkpoint().await.ok().flatten().is_some() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        (address, memory)
    } else {
        (String::new(), palimpsest::memory::Memory::new(config.http.memory))
    };
    Some(TestApp {
        address,
        client: reqwest::Client::new(),
        store,
        statements,
        proxy,
        backend: database.backend,
        database_url,
        log_key: config.http.log_key.clone(),
        memory,
        schema,
        _database: database,
    })
}

/// Another client of the test's database holding a lock the server needs: SQLite's write lock,
/// or on PostgreSQL an exclusive lock on `documents` (which even reads wait for).
pub struct HeldLock(sea_orm::DatabaseConnection);

impl HeldLock {
    pub async fn release(self) {
        use sea_orm::ConnectionTrait;
        self.0.execute_unprepared("ROLLBACK").await.unwrap();
        self.0.close().await.unwrap();
    }
}

impl TestApp {
    /// One connection to the app's database, for stepping its migrations by hand: over a pool,
    /// a SQLite statement of one migration can meet a connection that has not seen what the
    /// one before changed (`store::migrate` migrates on one connection for that reason).
    pub async fn schema_connection(&self) -> sea_orm::DatabaseConnection {
        let mut options = sea_orm::ConnectOptions::new(self.database_url.clone());
        options.max_connections(1).sqlx_logging(false);
        sea_orm::Database::connect(options).await.unwrap()
    }

    pub async fn hold_lock(&self) -> HeldLock {
        use sea_orm::ConnectionTrait;
        let mut options = sea_orm::ConnectOptions::new(self.database_url.clone());
        options.max_connections(1).min_connections(1).sqlx_logging(false);
        let db = sea_orm::Database::connect(options).await.unwrap();
        match self.backend {
            Backend::Sqlite => {
                db.execute_unprepared("BEGIN IMMEDIATE").await.unwrap();
            }
            Backend::Postgres => {
                db.execute_unprepared("BEGIN").await.unwrap();
                db.execute_unprepared("LOCK TABLE documents IN ACCESS EXCLUSIVE MODE")
                    .await
                    .unwrap();
            }
        }
        HeldLock(db)
    }

    /// A new agent with a token of `role`.
    pub async fn token(&self, name: &str, role: Role) -> String {
        let agent = self
            .store
            .create_agent(
                &palimpsest::store::AgentName::parse(name).unwrap(),
                AgentKind::Person,
                None,
            )
            .await
            .unwrap();
        self.store.create_token(agent, role, None).await.unwrap().secret
    }

    pub async fn editor(&self) -> String {
        self.token("Test Editor", Role::Editor).await
    }

    /// The schema over this test's store with other limits and rate limits (and a rate
    /// limiter of its own), as a server configured with them would build it.
    pub fn schema_with(&self, limits: QueryLimits, rates: RateLimitSettings) -> GraphqlService {
        let rate_limiter = Arc::new(RateLimiter::new(rates));
        let capture = AddressPolicy::new(loopback());
        GraphqlService::new(self.store.clone(), limits, rate_limiter, self.log_key.clone(), capture)
    }

    /// Whether the test started the HTTP server (else it stands at the schema's boundary).
    pub fn serves_http(&self) -> bool {
        !self.address.is_empty()
    }

    /// Another app at the same boundary on the same backend, with the test defaults changed by
    /// `configure` (a fresh database).
    pub async fn respawn(&self, configure: impl FnOnce(&mut TestConfig)) -> TestApp {
        let serve_http = self.serves_http();
        spawn_configured(self.backend, |config| {
            config.serve_http = serve_http;
            configure(config);
        })
        .await
        .expect("the backend the test already runs on")
    }

    pub fn post_graphql(&self) -> reqwest::RequestBuilder {
        assert!(self.serves_http(), "a test at the schema's boundary has no HTTP server");
        self.client.post(format!("{}/graphql", self.address))
    }

    /// Runs a query as an anonymous client (see `query_as`) and returns the response body.
    pub async fn query(&self, query: &str, variables: Value) -> Value {
        self.query_as(None, query, variables).await
    }

    /// Runs a query with `token`, if given: POSTed (as `application/json`) when the test
    /// started the server, else executed on the schema (`execute`). Returns the response body.
    pub async fn query_as(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        if !self.serves_http() {
            return execute(&self.schema, token, query, variables).await;
        }
        query_at(&self.client, &self.address, token, query, variables).await
    }

    /// Another server on this test's database, as a second node behind a load balancer
    /// would be: its own store, pool and event hub. Returns its address.
    pub async fn second_server(&self) -> String {
        let db = store::connect_with(&self.database_url, DatabaseTimeouts::default())
            .await
            .expect("connect to the test database");
        let store = Store::new(
            db,
            StoreLimits { max_content_bytes: TEST_MAX_CONTENT_BYTES, ..StoreLimits::default() },
        );
        let settings = HttpSettings {
            bind: "127.0.0.1:0".into(),
            workers: Some(2),
            checkpoint_interval: std::time::Duration::from_secs(3600),
            ..HttpSettings::default()
        };
        let app = Application::build(&settings, store).expect("build the second app");
        let address = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped());
        address
    }

    /// Another process's store on this test's database (its own pool), and an agent of `kind`
    /// named `name` to act as there.
    pub async fn another_process(
        &self,
        name: &str,
        kind: palimpsest::store::AgentKind,
    ) -> (Store, palimpsest::store::Actor) {
        let other =
            Store::new(store::connect(&self.database_url).await.unwrap(), StoreLimits::default());
        let agent = other
            .create_agent(&palimpsest::store::AgentName::parse(name).unwrap(), kind, None)
            .await
            .unwrap();
        (other, palimpsest::store::Actor::agent(agent.id))
    }

    /// Revises the document `n` times in one transaction, from `head`, as the store's
    /// callers can (a seed, an import): the revisions commit, and are announced, at once.
    pub async fn revise_many(&self, document: &str, head: &str, n: usize) {
        // A document's global id is `Document:<uuid>`, base64url without padding.
        let decoded =
            base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, document)
                .unwrap();
        let uuid = String::from_utf8(decoded).unwrap();
        let id =
            palimpsest::store::DocumentId::parse(uuid.trim_start_matches("Document:")).unwrap();
        let agent = self
            .store
            .create_agent(
                &palimpsest::store::AgentName::parse("Bulk Writer").unwrap(),
                AgentKind::Software,
                None,
            )
            .await
            .unwrap();
        let actor = palimpsest::store::Actor::agent(agent.id);
        let tx = self.store.begin().await.unwrap();
        let mut head = palimpsest::store::RevisionHash::parse(head).unwrap();
        for k in 0..n {
            let outcome = tx
                .revise_document(
                    palimpsest::store::ReviseDocument {
                        document: id,
                        expected_head: head,
                        content: format!("bulk {k}\n"),
                        title: None,
                        message: palimpsest::store::Message::parse("bulk").unwrap(),
                        source: None,
                    },
                    &actor,
                )
                .await
                .unwrap();
            head = outcome.revision.hash;
        }
        tx.commit().await.unwrap();
    }

    /// Creates a document through the API and returns `createDocument`'s payload.
    pub async fn create_document(&self, token: &str, slug: &str, content: &str) -> Value {
        let body = self
            .query_as(
                Some(token),
                CREATE_DOCUMENT,
                json!({ "input": {
                    "slug": slug, "title": format!("Title of {slug}"), "kind": "ARTICLE",
                    "content": content, "message": "first capture"
                }}),
            )
            .await;
        assert_no_errors(&body);
        body["data"]["createDocument"].clone()
    }

    /// Revises a document through the API and returns the whole response body.
    pub async fn revise(
        &self,
        token: &str,
        document_id: &str,
        expected_head: &str,
        content: &str,
    ) -> Value {
        self.query_as(
            Some(token),
            REVISE_DOCUMENT,
            json!({ "input": {
                "documentId": document_id, "expectedHead": expected_head,
                "content": content, "message": "edit"
            }}),
        )
        .await
    }

    /// Creates a document and revises it so that it has `revisions` revisions; returns the
    /// document id and the revision hashes, oldest first.
    pub async fn document_with_history(
        &self,
        token: &str,
        slug: &str,
        revisions: usize,
    ) -> (String, Vec<String>) {
        let created = self.create_document(token, slug, "version 1\n").await;
        let id = created["document"]["id"].as_str().unwrap().to_owned();
        let mut hashes = vec![created["revision"]["hash"].as_str().unwrap().to_owned()];
        for n in 2..=revisions {
            let body =
                self.revise(token, &id, hashes.last().unwrap(), &format!("version {n}\n")).await;
            assert_no_errors(&body);
            hashes.push(
                body["data"]["reviseDocument"]["revision"]["hash"].as_str().unwrap().to_owned(),
            );
        }
        (id, hashes)
    }

    /// The transparency log as served once a checkpoint of the log as it is, `size` leaves,
    /// has been signed: as the server's signer would, now rather than within its interval.
    pub async fn checkpoint_of(&self, size: u64) -> Value {
        const LOG: &str = "{ transparencyLog { checkpoint size rootHash origin verifierKey } }";
        let signed = self.store.sign_checkpoint(&self.log_key).await.unwrap();
        assert_eq!(signed.size, size, "the log's size");
        self.query(LOG, json!({})).await
    }

    /// How many documents and revisions the corpus holds, to show a failed write wrote nothing.
    pub async fn corpus_size(&self) -> (u64, u64) {
        use palimpsest::entity::{document, revision};
        use sea_orm::{EntityTrait, PaginatorTrait};
        let db = self.store.connection();
        (
            document::Entity::find().count(db).await.unwrap(),
            revision::Entity::find().count(db).await.unwrap(),
        )
    }
}

pub const CREATE_DOCUMENT: &str = "mutation($input: CreateDocumentInput!) {
  createDocument(input: $input) {
    document { id uuid slug title kind createdAt updatedAt head { hash } }
    revision { id hash number contentHash header createdAt author { name } parent { hash } }
  }
}";

pub const REVISE_DOCUMENT: &str = "mutation($input: ReviseDocumentInput!) {
  reviseDocument(input: $input) {
    document { id head { hash number } }
    revision { hash number title message createdAt author { name } parent { hash } }
  }
}";

/// The context both transports give a request once they have read it: a client at a
/// documentation address, with `token` if given, and `request_id` as the transport's id.
pub fn request_context(
    token: Option<&str>,
    request_id: &str,
    request_bytes: usize,
) -> RequestContext {
    RequestContext {
        credentials: token.map_or(Credentials::Anonymous, |t| Credentials::Bearer(t.into())),
        base_url: "http://palimpsest.test".into(),
        client_address: Some("192.0.2.7".parse().unwrap()),
        request_bytes: request_bytes as u64,
        request_id: Some(request_id.into()),
        read_only: false,
        read_choice: None,
    }
}

/// Executes a query on a schema in `context`, as both transports do after parsing the
/// request, and returns the response as JSON.
pub async fn execute_in(
    schema: &GraphqlService,
    context: RequestContext,
    query: &str,
    variables: Value,
) -> Value {
    let request = Request::new(query).variables(Variables::from_json(variables));
    serde_json::to_value(schema.execute(request, context).await.response).unwrap()
}

/// Executes a query on a schema (`execute_in`) with `token`, if given, as request
/// `schema-test`.
pub async fn execute(
    schema: &GraphqlService,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> Value {
    let context = request_context(token, "schema-test", query.len());
    execute_in(schema, context, query, variables).await
}

/// POSTs a query to the server at `address` and returns the response body.
pub async fn query_at(
    client: &reqwest::Client,
    address: &str,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> Value {
    let mut request = client
        .post(format!("{address}/graphql"))
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("send");
    assert_eq!(response.status(), 200, "GraphQL over application/json answers 200");
    response.json().await.expect("JSON body")
}

impl TestApp {
    /// `bytes` as a binary literal of the app's database, for SQL that tampers with it.
    /// A digest as the database keeps it (its 32 bytes), for a statement that tampers.
    pub fn digest_literal(&self, hex: &str) -> String {
        self.bytes_literal(&hex::decode(hex).expect("a hex digest"))
    }

    pub fn bytes_literal(&self, bytes: &[u8]) -> String {
        let hex = hex::encode(bytes);
        match self.store.connection().get_database_backend() {
            sea_orm::DatabaseBackend::Postgres => format!("decode('{hex}', 'hex')"),
            _ => format!("x'{hex}'"),
        }
    }
}

/// A JSON list as one compact line per item, for a snapshot (`expect!`) a reader can scan.
pub fn compact_lines(list: &Value) -> String {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|item| format!("{item}\n"))
        .collect()
}

/// `value` as a snapshot (`expect!`) shows it, pretty-printed, with what differs from run to
/// run put by name (`scrubbed`).
pub fn snapshot(value: &Value, names: &[(&str, &str)]) -> String {
    serde_json::to_string_pretty(&scrubbed(value, names)).unwrap()
}

/// `value` with each of `names`' values (ids, hashes, tokens: what differs from run to run)
/// replaced by its name wherever it stands, in a string or inside one, any other UUID by
/// `<uuid>`, and every RFC 3339 time by `<time>`: what is left is what the rule under test
/// fixes, and the names still say which value stood where.
pub fn scrubbed(value: &Value, names: &[(&str, &str)]) -> Value {
    match value {
        Value::String(s) if chrono::DateTime::parse_from_rfc3339(s).is_ok() => json!("<time>"),
        Value::String(s) => {
            let named = names.iter().fold(s.clone(), |s, (value, name)| s.replace(value, name));
            Value::String(without_uuids_and_times(&named))
        }
        Value::Array(items) => items.iter().map(|item| scrubbed(item, names)).collect(),
        Value::Object(map) => {
            map.iter().map(|(key, item)| (key.clone(), scrubbed(item, names))).collect()
        }
        other => other.clone(),
    }
}

/// `text` with every UUID (`8-4-4-4-12` hex digits) in it put as `<uuid>`, and every RFC 3339
/// time (`2026-12-05T10:00:00.123456Z`, or with an offset) as `<time>`.
fn without_uuids_and_times(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(next) = rest.chars().next() {
        if let Some(len) = uuid_at(rest) {
            out.push_str("<uuid>");
            rest = &rest[len..];
        } else if let Some(len) = time_at(rest) {
            out.push_str("<time>");
            rest = &rest[len..];
        } else {
            out.push(next);
            rest = &rest[next.len_utf8()..];
        }
    }
    out
}

/// The length of the UUID `text` starts with, if it does.
fn uuid_at(text: &str) -> Option<usize> {
    let candidate = text.get(..36)?;
    let shape = candidate.split('-').map(str::len).eq([8, 4, 4, 4, 12]);
    (shape && candidate.chars().all(|c| c == '-' || c.is_ascii_hexdigit())).then_some(36)
}

/// The length of the RFC 3339 time `text` starts with, if it does.
fn time_at(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        bytes.get(range).is_some_and(|b| b.iter().all(u8::is_ascii_digit))
    };
    let at = |i: usize, c: u8| bytes.get(i) == Some(&c);
    let date_and_time = digits(0..4) && at(4, b'-') && digits(5..7) && at(7, b'-') && digits(8..10);
    let clock = at(10, b'T') && digits(11..13) && at(13, b':') && digits(14..16) && at(16, b':');
    if !(date_and_time && clock && digits(17..19)) {
        return None;
    }
    let mut end = 19;
    if at(end, b'.') {
        end += 1;
        while bytes.get(end).is_some_and(u8::is_ascii_digit) {
            end += 1;
        }
    }
    let end = if at(end, b'Z') {
        end + 1
    } else {
        let offset = (at(end, b'+') || at(end, b'-'))
            && digits(end + 1..end + 3)
            && at(end + 3, b':')
            && digits(end + 4..end + 6);
        offset.then_some(end + 6)?
    };
    // A time, not only the shape of one (a test may send `2026-13-01T00:00:00Z` to be refused).
    chrono::DateTime::parse_from_rfc3339(&text[..end]).ok().map(|_| end)
}

pub fn assert_no_errors(body: &Value) {
    assert!(body.get("errors").is_none(), "unexpected errors: {body:#}");
}

/// The `extensions.code` of the first error, which must exist.
pub fn error_code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("expected an error with a code: {body:#}"))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// The ranges the capture tests' fixture site listens on.
pub fn loopback() -> Vec<ipnet::IpNet> {
    vec!["127.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()]
}
