//! The actix-web application: GraphQL over HTTP (`graphql`), liveness and readiness
//! (`health`), Memento time travel (`memento`, RFC 7089), HTML pages, citation records and
//! PROV-JSON (`pages`), and what every request passes through (`middleware`; errors of the
//! plain routes in `plain`). Handlers parse, make one call, and answer.

mod captures;
mod cors;
mod graphiql;
mod graphql;
mod health;
mod memento;
mod middleware;
mod pages;
mod persisted;
mod plain;
mod response_cache;
mod websocket;

use std::net::{IpAddr, SocketAddr, TcpListener};
use std::sync::Arc;

use actix_web::middleware::from_fn;
use actix_web::{App, HttpRequest, HttpServer, guard, web};

pub use cors::Origins as CorsOrigins;

use crate::capture::guard::AddressPolicy;
use crate::checkpoint::LogKey;
use crate::foreground::Foreground;
use crate::graphql::GraphqlService;
use crate::graphql::limits::QueryLimits;
use crate::memory::{Memory, MemoryLimits};
use crate::ratelimit::{RateLimitSettings, RateLimiter};
use crate::store::Store;

/// HTTP settings.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Address to listen on; port 0 picks a free port.
    pub bind: String,
    /// The largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// The largest response body sent, in bytes; a larger one is replaced by an error.
    pub max_response_bytes: usize,
    /// The most JSON values one request body may hold: parsing turns each into a value in
    /// memory several times its size in the body.
    pub max_json_values: usize,
    /// Worker threads; `None` for one per core.
    pub workers: Option<usize>,
    /// The public base URL (`https://corpus.example.org`) permanent links are built on.
    /// Without it, links are built on the address the server listens on, never on anything a
    /// client sends, unless `trust_forwarded` is set.
    pub public_url: Option<String>,
    /// Whether `Forwarded`, `X-Forwarded-For/-Host/-Proto` and `Host` come from a proxy the
    /// operator trusts: then links without `public_url` follow them, and the client address
    /// for rate limits is the forwarded one.
    pub trust_forwarded: bool,
    pub limits: QueryLimits,
    pub rate_limits: RateLimitSettings,
    /// The key that signs the transparency log's checkpoints.
    pub log_key: Arc<LogKey>,
    /// How often a checkpoint is signed, when the log has grown.
    pub checkpoint_interval: std::time::Duration,
    /// Bytes of answers to anonymous queries kept for identical requests while the database
    /// is unchanged (`response_cache`); 0 keeps none.
    pub response_cache_bytes: usize,
    /// The most WebSocket connections open at once (GraphQL subscriptions).
    pub max_sockets: usize,
    /// The most operations one WebSocket connection runs at once.
    pub max_socket_operations: usize,
    /// How long a new WebSocket connection may take to send `connection_init`.
    pub socket_init_timeout: std::time::Duration,
    /// How long a WebSocket's outbox may stay too full for the next message (a client that
    /// does not read) before the connection is dropped.
    pub socket_send_timeout: std::time::Duration,
    /// The origins whose pages may call the API from a browser (CORS).
    pub cors: CorsOrigins,
    /// What clients may make the server hold: request bodies being read, WebSocket frames
    /// in and out.
    pub memory: MemoryLimits,
    /// The ranges captures may reach besides public addresses (`--capture-allow`): a URL
    /// outside them is refused when it is watched.
    pub capture_allow: Vec<ipnet::IpNet>,
    /// Counts the time requests take, for the capture workers of this process to give way.
    pub foreground: Foreground,
}

impl HttpSettings {
    /// What one connection may hold: a request body (or a WebSocket message) as large as
    /// accepted, and as much again queued to go out to a WebSocket client.
    pub fn connection_memory(max_body_bytes: usize) -> usize {
        max_body_bytes.saturating_mul(2).saturating_add(64 * 1024)
    }
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            max_body_bytes: 10 * 1024 * 1024,
            max_response_bytes: 64 * 1024 * 1024,
            max_json_values: 100_000,
            workers: None,
            public_url: None,
            trust_forwarded: false,
            limits: QueryLimits::default(),
            rate_limits: RateLimitSettings::default(),
            // A key for this process only: a server that serves checkpoints anyone keeps
            // loads its key from a file (`LogKey::load_or_create`).
            log_key: Arc::new(LogKey::generate("palimpsest/log").expect("a valid key name")),
            checkpoint_interval: std::time::Duration::from_secs(1),
            response_cache_bytes: 64 << 20,
            max_sockets: 1_000,
            max_socket_operations: 100,
            socket_init_timeout: std::time::Duration::from_secs(10),
            socket_send_timeout: std::time::Duration::from_secs(10),
            cors: CorsOrigins::None,
            memory: MemoryLimits {
                per_connection: Self::connection_memory(10 * 1024 * 1024),
                ..MemoryLimits::default()
            },
            capture_allow: Vec::new(),
            foreground: Foreground::default(),
        }
    }
}

/// How caches may keep what a revision's URL serves. A revision never changes, but its text
/// can be redacted, so caches revalidate every time (cheaply: the ETag is the revision hash,
/// answered 304, or 410 once redacted) instead of serving a copy on their own.
const REVISION_CACHE: &str = "public, no-cache";

/// Signs a checkpoint of the transparency log whenever it has grown, from start-up on: reads
/// never write, and a client gets a checkpoint that covers a new revision within an interval.
/// A log that no longer extends its last checkpoint is not signed again; that is said once.
async fn sign_checkpoints(store: Store, key: Arc<LogKey>, every: std::time::Duration) {
    let mut last_error = None;
    loop {
        match store.sign_checkpoint(&key).await {
            Ok(_) => last_error = None,
            Err(err) => {
                let text = format!("{err:#}");
                if last_error.as_ref() != Some(&text) {
                    tracing::error!(error = %text, "cannot sign a checkpoint of the log");
                    last_error = Some(text);
                }
            }
        }
        tokio::time::sleep(every).await;
    }
}

/// Erases what redactions purged whenever it can be done (see `store::erasure`): right
/// after each redaction, and from start-up on, every half minute, for those that had to wait
/// for older transactions or locks (or a restart).
async fn erase_redactions(store: Store) {
    let mut last_error = None;
    loop {
        match store.erase_pending().await {
            Ok(erased) => {
                if erased > 0 {
                    tracing::info!(erased, "redacted texts erased from the database's files");
                }
                last_error = None;
            }
            Err(err) => {
                let text = format!("{err:#}");
                if last_error.as_ref() != Some(&text) {
                    tracing::warn!(error = %text, "cannot erase redacted texts yet");
                    last_error = Some(text);
                }
            }
        }
        tokio::time::sleep(std::time::Duration::from_secs(30)).await;
    }
}

/// Where permanent links point.
enum Links {
    /// A base URL fixed at start-up.
    Fixed(String),
    /// The scheme and host a trusted proxy forwarded.
    Forwarded,
}

pub(crate) struct AppState {
    graphql: GraphqlService,
    store: Store,
    /// Signs change receipts (and, elsewhere, checkpoints).
    log_key: Arc<LogKey>,
    sdl: String,
    max_body_bytes: usize,
    max_response_bytes: usize,
    max_json_values: usize,
    links: Links,
    trust_forwarded: bool,
    rate_limiter: Arc<RateLimiter>,
    responses: Option<response_cache::ResponseCache>,
    persisted: persisted::PersistedQueries,
    /// Permits for WebSocket connections, one held by each open connection.
    sockets: Arc<tokio::sync::Semaphore>,
    max_sockets: usize,
    max_socket_operations: usize,
    socket_init_timeout: std::time::Duration,
    socket_send_timeout: std::time::Duration,
    cors: CorsOrigins,
    memory: Memory,
    foreground: Foreground,
}

/// The server, bound and ready to run.
pub struct Application {
    port: u16,
    server: actix_web::dev::Server,
    memory: Memory,
}

impl Application {
    /// Binds the listener and builds the server around an injected store, so that tests can
    /// run it on port 0 over a database of their own.
    pub fn build(settings: &HttpSettings, store: Store) -> anyhow::Result<Self> {
        use anyhow::Context;
        let listener = TcpListener::bind(&settings.bind)
            .with_context(|| format!("cannot listen on {}", settings.bind))?;
        let local = listener.local_addr()?;
        let links = match (&settings.public_url, settings.trust_forwarded) {
            (Some(url), _) => Links::Fixed(url.trim_end_matches('/').to_owned()),
            (None, true) => Links::Forwarded,
            (None, false) => Links::Fixed(listening_url(local)),
        };
        let rate_limiter = Arc::new(RateLimiter::new(settings.rate_limits));
        tokio::spawn(sign_checkpoints(
            store.clone(),
            settings.log_key.clone(),
            settings.checkpoint_interval,
        ));
        tokio::spawn(erase_redactions(store.clone()));
        let memory = Memory::new(settings.memory);
        let state = web::Data::new(AppState {
            graphql: GraphqlService::new(
                store.clone(),
                settings.limits,
                rate_limiter.clone(),
                settings.log_key.clone(),
                AddressPolicy::new(settings.capture_allow.clone()),
            ),
            store,
            log_key: settings.log_key.clone(),
            sdl: crate::graphql::sdl(),
            max_body_bytes: settings.max_body_bytes,
            max_response_bytes: settings.max_response_bytes,
            max_json_values: settings.max_json_values,
            links,
            trust_forwarded: settings.trust_forwarded,
            rate_limiter,
            responses: response_cache::ResponseCache::new(settings.response_cache_bytes),
            persisted: persisted::PersistedQueries::new(persisted::PersistedLimits::default()),
            sockets: Arc::new(tokio::sync::Semaphore::new(settings.max_sockets)),
            max_sockets: settings.max_sockets,
            max_socket_operations: settings.max_socket_operations,
            socket_init_timeout: settings.socket_init_timeout,
            socket_send_timeout: settings.socket_send_timeout,
            cors: settings.cors.clone(),
            memory: memory.clone(),
            foreground: settings.foreground.clone(),
        });
        let cors = settings.cors.clone();
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(web::QueryConfig::default().error_handler(middleware::bad_parameters))
                .app_data(web::PathConfig::default().error_handler(middleware::bad_parameters))
                .configure(routes)
                .default_service(web::to(middleware::no_route))
                .wrap(from_fn(plain::error_pages))
                .wrap(cors.middleware())
                .wrap(from_fn(middleware::request_context))
        })
        .listen(listener)?;
        if let Some(workers) = settings.workers {
            server = server.workers(workers);
        }
        Ok(Self { port: local.port(), server: server.run(), memory })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// What clients make the server hold now (request bodies, WebSocket frames).
    pub fn client_memory(&self) -> Memory {
        self.memory.clone()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// `http://host:port` for the address the server listens on; a wildcard address becomes
/// `localhost`, since it names no host a client could use.
fn listening_url(local: SocketAddr) -> String {
    match local.ip() {
        ip if ip.is_unspecified() => format!("http://localhost:{}", local.port()),
        IpAddr::V6(ip) => format!("http://[{ip}]:{}", local.port()),
        IpAddr::V4(ip) => format!("http://{ip}:{}", local.port()),
    }
}

/// A route for reading: `GET`, and `HEAD` with the same status and headers and no body (the
/// HTTP/1 codec drops the body of an answer to `HEAD`), which archive tools and link checkers
/// send to probe mementos and TimeGates.
fn read() -> actix_web::Route {
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}

/// One route: its path pattern, the methods it answers, and how it is registered. The one
/// list of what a client can reach (`routes` registers exactly these; the hostile suite holds
/// every one to its attacks, and fails when one is added without them).
pub struct Route {
    pub path: &'static str,
    pub methods: &'static str,
    register: fn(&mut web::ServiceConfig),
}

/// A read route on its own resource, held to the plain routes' rate limit.
macro_rules! plain {
    ($path:literal, $handler:path) => {
        Route {
            path: $path,
            methods: "GET, HEAD",
            register: |cfg| {
                cfg.service(
                    web::resource($path)
                        .wrap(from_fn(middleware::rate_limit_plain))
                        .route(read().to($handler)),
                );
            },
        }
    };
}

/// Every route, in the order they are matched.
pub const ROUTES: &[Route] = &[
    Route {
        path: "/graphql",
        methods: "GET with Upgrade: websocket",
        register: |cfg| {
            cfg.route(
                "/graphql",
                web::get().guard(guard::fn_guard(websocket::is_upgrade)).to(websocket::upgrade),
            );
        },
    },
    Route {
        path: "/graphql",
        methods: "POST",
        register: |cfg| {
            cfg.route("/graphql", web::post().to(graphql::post));
        },
    },
    Route {
        path: "/graphql",
        methods: "GET, HEAD",
        register: |cfg| {
            cfg.route("/graphql", read().to(graphql::get));
        },
    },
    Route {
        path: "/graphiql/{file}",
        methods: "GET, HEAD",
        register: |cfg| {
            cfg.route("/graphiql/{file}", read().to(graphiql::asset));
        },
    },
    Route {
        path: "/schema.graphql",
        methods: "GET, HEAD",
        register: |cfg| {
            cfg.route("/schema.graphql", read().to(graphql::schema_sdl));
        },
    },
    Route {
        path: "/healthz",
        methods: "GET, HEAD",
        register: |cfg| {
            cfg.route("/healthz", read().to(health::healthz));
        },
    },
    Route {
        path: "/readyz",
        methods: "GET, HEAD",
        register: |cfg| {
            cfg.route("/readyz", read().to(health::readyz));
        },
    },
    Route {
        path: "/metrics",
        methods: "GET, HEAD",
        register: |cfg| {
            cfg.route("/metrics", read().to(health::metrics));
        },
    },
    plain!("/", pages::home),
    plain!("/search", pages::search),
    plain!("/documents/{slug}/text", memento::original),
    plain!("/documents/{slug}/timemap", memento::timemap),
    plain!("/documents/{slug}/revisions/{hash}/text", memento::memento),
    plain!("/documents/{slug}", pages::document_page),
    plain!("/documents/{slug}/revisions/{hash}", pages::revision_page),
    plain!("/documents/{slug}/revisions/{hash}/capture.warc.gz", captures::capture_warc),
    plain!("/documents/{slug}/receipt", captures::receipt),
    plain!("/documents/{slug}/history", pages::history_page),
    plain!("/documents/{slug}/diff", pages::diff_page),
    plain!("/documents/{slug}/cite", pages::cite),
    plain!("/documents/{slug}/provenance", pages::provenance),
    plain!("/cite", pages::cite_list),
];

fn routes(cfg: &mut web::ServiceConfig) {
    for route in ROUTES {
        (route.register)(cfg);
    }
}

/// The base URL for absolute links: fixed at start-up, or (with trusted proxies only) the
/// scheme and host the proxy forwarded.
pub(crate) fn base_url(req: &HttpRequest) -> String {
    match req.app_data::<web::Data<AppState>>().map(|state| &state.links) {
        Some(Links::Fixed(url)) => url.clone(),
        _ => {
            let info = req.connection_info();
            format!("{}://{}", info.scheme(), info.host())
        }
    }
}

pub(crate) use middleware::request_id;
