//! `serve` and `log-key`: the server's flags and environment variables (every setting has
//! both; the flag wins), and the transparency log's signing key.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;

use crate::capture::Capturer;
use crate::checkpoint::LogKey;
use crate::compute::Compute;
use crate::graphql::limits::QueryLimits;
use crate::http::{Application, CorsOrigins, HttpSettings};
use crate::memory::MemoryLimits;
use crate::ratelimit::RateLimitSettings;
use crate::store::{self, DatabaseTimeouts, Store, StoreLimits};

/// Where the transparency log's signing key is kept: a file outside the database it vouches
/// for, created (readable by its owner only) on first use.
#[derive(Debug, Args)]
pub struct LogKeyArgs {
    #[arg(long = "log-key", env = "PALIMPSEST_LOG_KEY", default_value = "palimpsest-log.key")]
    pub path: PathBuf,
    /// The log's origin (and the key's name) when the key is created, e.g.
    /// `corpus.example.org/log`; by default the public URL's host and path with `/log`.
    #[arg(long, env = "PALIMPSEST_LOG_ORIGIN")]
    pub log_origin: Option<String>,
}

impl LogKeyArgs {
    /// The origin a new key is named after: `--log-origin`, or `public_url`'s host and path
    /// followed by `/log`, or `palimpsest/log`.
    pub fn origin(&self, public_url: Option<&str>) -> String {
        if let Some(origin) = &self.log_origin {
            return origin.clone();
        }
        public_url
            .and_then(|url| url.split_once("://").map(|(_, rest)| rest.trim_end_matches('/')))
            .filter(|rest| !rest.is_empty())
            .map_or_else(|| "palimpsest/log".to_owned(), |rest| format!("{rest}/log"))
    }
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "PALIMPSEST_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// The largest request body accepted, in bytes (larger gets HTTP 413).
    #[arg(long, env = "PALIMPSEST_MAX_BODY_BYTES", default_value_t = 10 * 1024 * 1024)]
    pub max_body_bytes: usize,
    /// The largest response body sent, in bytes (a larger one is replaced by an error).
    #[arg(long, env = "PALIMPSEST_MAX_RESPONSE_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub max_response_bytes: usize,
    /// The largest document content accepted, in bytes (larger gets PAYLOAD_TOO_LARGE).
    #[arg(long, env = "PALIMPSEST_MAX_CONTENT_BYTES", default_value_t = 4 * 1024 * 1024)]
    pub max_content_bytes: usize,
    /// The public base URL permanent links are built on (e.g. https://corpus.example.org);
    /// by default the address the server listens on (never a host a client sends).
    #[arg(long, env = "PALIMPSEST_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Trust Forwarded / X-Forwarded-* headers from a reverse proxy: links (without
    /// --public-url) follow the forwarded host, and rate limits count the forwarded client.
    /// Only set this when every request comes through a proxy that overwrites them.
    #[arg(long, env = "PALIMPSEST_TRUST_FORWARDED_HEADERS")]
    pub trust_forwarded_headers: bool,
    /// A PostgreSQL streaming replica that reads which need not see the newest write may go
    /// to (repeatable; the environment variable takes a comma-separated list). Writes, and
    /// reads that present a newer consistency token than a replica has replayed, go to the
    /// primary (`DATABASE_URL`).
    #[arg(long = "read-replica-url", env = "PALIMPSEST_READ_REPLICA_URLS", value_delimiter = ',')]
    pub read_replica_urls: Vec<String>,
    /// A replica further behind the primary than this, in milliseconds, or not answering, is
    /// taken out of rotation until it catches up.
    #[arg(long, env = "PALIMPSEST_REPLICA_MAX_LAG_MS", default_value_t = 5_000)]
    pub replica_max_lag_ms: u64,
    /// DATABASE_URL and the replica URLs lead through a connection pooler in transaction mode
    /// (PgBouncer 1.21 or later, `pool_mode = transaction`, `max_prepared_statements` above
    /// 0). The statement timeout is then the pooler's to set (`connect_query`): the server
    /// checks that it is, and needs --session-database-url to listen for other nodes' writes.
    #[arg(long, env = "PALIMPSEST_TRANSACTION_POOLER")]
    pub transaction_pooler: bool,
    /// A direct connection to the primary, not through a transaction pooler, for what needs a
    /// session of its own: listening for every node's writes (subscriptions, the response
    /// cache of other nodes' changes) and migrations. Default: DATABASE_URL.
    #[arg(long, env = "PALIMPSEST_SESSION_DATABASE_URL")]
    pub session_database_url: Option<String>,
    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "PALIMPSEST_WORKERS")]
    pub workers: Option<usize>,
    /// The seeds folder loaded into a new database (default: `seeds/` in the working
    /// directory if it holds a `corpus.json`, else the sample corpus built into the binary).
    #[arg(long, env = "PALIMPSEST_SEEDS_DIR")]
    pub seeds_dir: Option<PathBuf>,
    /// Do not load seeds, even into a new database.
    #[arg(long, env = "PALIMPSEST_NO_SEED")]
    pub no_seed: bool,
    #[command(flatten)]
    pub log_key: LogKeyArgs,
    /// Start even though the log has signed checkpoints with another key (or its key file is
    /// missing: a new one is made): this key signs the log from now on, and nodes with the old
    /// one sign nothing more (earlier checkpoints verify only with the old key).
    #[arg(long)]
    pub new_log_key: bool,
    /// How often the server signs a checkpoint of the log, when it has grown, in milliseconds.
    #[arg(long, env = "PALIMPSEST_CHECKPOINT_INTERVAL_MS", default_value_t = 1000)]
    pub checkpoint_interval_ms: u64,
    /// Mebibytes of answers to anonymous queries kept and replayed to identical requests until
    /// a commit, from anywhere, changes what they read; 0 keeps none.
    #[arg(long, env = "PALIMPSEST_RESPONSE_CACHE_MB", default_value_t = 64)]
    pub response_cache_mb: usize,
    /// Mebibytes of revisions' texts kept in memory by their hash, for reads of revisions
    /// found unredacted (texts never change; a redaction drops what it purged); 0 keeps none.
    #[arg(long, env = "PALIMPSEST_TEXT_CACHE_MB", default_value_t = store::DEFAULT_TEXT_CACHE_MB)]
    pub text_cache_mb: usize,
    /// Mebibytes of revisions kept in memory by their hash, so that reads of documents with
    /// their heads and of first history pages select three columns of each revision instead
    /// of all (a revision never changes under its hash but for its redaction flag and log
    /// index, which are read every time); 0 keeps none, and such reads read each revision
    /// whole in a second statement.
    #[arg(
        long,
        env = "PALIMPSEST_REVISION_CACHE_MB",
        default_value_t = store::DEFAULT_REVISION_CACHE_MB
    )]
    pub revision_cache_mb: usize,
    /// The most WebSocket connections (GraphQL subscriptions) open at once; more are answered
    /// 503 with Retry-After.
    #[arg(long, env = "PALIMPSEST_MAX_WEBSOCKETS", default_value_t = 1_000)]
    pub max_websockets: usize,
    /// Origins whose pages may call the API from a browser (CORS), comma-separated:
    /// `https://news.example.org,http://localhost:5173` (bearer tokens allowed), or `*` for any
    /// origin, anonymous reads only. None by default.
    #[arg(long, env = "PALIMPSEST_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
    /// The most operations (subscriptions) one WebSocket connection runs at once.
    #[arg(long, env = "PALIMPSEST_MAX_WEBSOCKET_OPERATIONS", default_value_t = 100)]
    pub max_websocket_operations: usize,
    /// Mebibytes all clients together may make the server hold (request bodies being read,
    /// WebSocket frames queued in and out); past it a request is answered 503 and a WebSocket
    /// that cannot queue its frame in time is closed.
    #[arg(long, env = "PALIMPSEST_CLIENT_MEMORY_MB", default_value_t = 512)]
    pub client_memory_mb: usize,
    /// Mebibytes the clients of one address (an IPv6 /64) may make the server hold together.
    #[arg(long, env = "PALIMPSEST_CLIENT_MEMORY_PER_ADDRESS_MB", default_value_t = 64)]
    pub client_memory_per_address_mb: usize,
    #[command(flatten)]
    pub limits: LimitArgs,
    /// Capture workers run in this process (0: none, e.g. when `capture-worker` processes
    /// run elsewhere).
    #[arg(long, env = "PALIMPSEST_CAPTURE_WORKERS", default_value_t = 1)]
    pub capture_workers: usize,
    #[command(flatten)]
    pub capture: super::CaptureArgs,
}

/// What one request may cost, and how much a client may spend.
#[derive(Debug, Args)]
#[command(next_help_heading = "Limits")]
pub struct LimitArgs {
    /// Lexical tokens in a query.
    #[arg(long, env = "PALIMPSEST_MAX_QUERY_TOKENS", default_value_t = 10_000)]
    pub max_query_tokens: u64,
    /// Bytes in one name or number of a query (string values are not limited by this).
    #[arg(long, env = "PALIMPSEST_MAX_TOKEN_LENGTH", default_value_t = 1024)]
    pub max_token_length: u64,
    /// Bytes of string values written in a query's text; longer text goes in variables,
    /// which are read far faster.
    #[arg(long, env = "PALIMPSEST_MAX_QUERY_STRING_BYTES", default_value_t = 256 * 1024)]
    pub max_query_string_bytes: u64,
    /// JSON values (numbers, strings, lists, objects) in one request body, variables
    /// included.
    #[arg(long, env = "PALIMPSEST_MAX_JSON_VALUES", default_value_t = 100_000)]
    pub max_json_values: usize,
    /// Nesting of brackets in a query, and of selection sets through fragments.
    #[arg(long, env = "PALIMPSEST_MAX_QUERY_NESTING", default_value_t = 64)]
    pub max_query_nesting: u64,
    /// Nesting of fields in a query.
    #[arg(long, env = "PALIMPSEST_MAX_QUERY_DEPTH", default_value_t = 16)]
    pub max_query_depth: u64,
    /// Field selections in a query once its fragments are expanded.
    #[arg(long, env = "PALIMPSEST_MAX_QUERY_FIELDS", default_value_t = 5_000)]
    pub max_query_fields: u64,
    /// Aliases in a query.
    #[arg(long, env = "PALIMPSEST_MAX_QUERY_ALIASES", default_value_t = 100)]
    pub max_query_aliases: u64,
    /// Directives in a query.
    #[arg(long, env = "PALIMPSEST_MAX_QUERY_DIRECTIVES", default_value_t = 50)]
    pub max_query_directives: u64,
    /// Nesting of lists and objects in argument values and variables.
    #[arg(long, env = "PALIMPSEST_MAX_VALUE_DEPTH", default_value_t = 16)]
    pub max_value_depth: u64,
    /// Cost points one request may spend.
    #[arg(long, env = "PALIMPSEST_MAX_QUERY_COST", default_value_t = 20_000)]
    pub max_query_cost: u64,
    /// Errors reported in one response.
    #[arg(long, env = "PALIMPSEST_MAX_ERRORS", default_value_t = 50)]
    pub max_errors: usize,
    /// The longest a GraphQL request may run, in milliseconds.
    #[arg(long, env = "PALIMPSEST_REQUEST_TIMEOUT_MS", default_value_t = 10_000)]
    pub request_timeout_ms: u64,
    /// The longest the diffs and blames of one request may compute together, in milliseconds
    /// (a diff past it falls back to a coarser result and says so; a blame is refused).
    #[arg(long, env = "PALIMPSEST_BLAME_TIMEOUT_MS", default_value_t = 1_500)]
    pub blame_timeout_ms: u64,
    /// The longest a database statement may run or wait for a lock, and a request may wait
    /// for a connection, in milliseconds.
    #[arg(long, env = "PALIMPSEST_DATABASE_TIMEOUT_MS", default_value_t = 5_000)]
    pub database_timeout_ms: u64,
    /// CPU-heavy tasks (diffs, blame, quotation checks) run at once (default: cores - 1).
    #[arg(long, env = "PALIMPSEST_HEAVY_TASKS")]
    pub heavy_tasks: Option<usize>,
    /// The longest a heavy task waits to start before the request is answered UNAVAILABLE,
    /// in milliseconds.
    #[arg(long, env = "PALIMPSEST_HEAVY_WAIT_MS", default_value_t = 5_000)]
    pub heavy_wait_ms: u64,
    /// Cost points an address may spend per window without a token (0: no limit).
    #[arg(long, env = "PALIMPSEST_RATE_LIMIT_ANONYMOUS", default_value_t = 100_000)]
    pub rate_limit_anonymous: u32,
    /// Cost points a token may spend per window (0: no limit).
    #[arg(long, env = "PALIMPSEST_RATE_LIMIT_TOKEN", default_value_t = 500_000)]
    pub rate_limit_token: u32,
    /// The rate-limit window, in seconds: a spent allowance refills over this long.
    #[arg(long, env = "PALIMPSEST_RATE_LIMIT_WINDOW_SECS", default_value_t = 60)]
    pub rate_limit_window_secs: u64,
}

pub(super) async fn serve(database_url: &str, args: ServeArgs) -> anyhow::Result<()> {
    if let Some(url) = &args.public_url {
        let absolute = url.starts_with("https://") || url.starts_with("http://");
        if !absolute || url.contains(char::is_whitespace) {
            bail!("--public-url must be an absolute http(s) URL, not {url:?}");
        }
    }
    let limits = &args.limits;
    let query_limits = QueryLimits {
        max_tokens: limits.max_query_tokens,
        max_token_length: limits.max_token_length,
        max_string_bytes: limits.max_query_string_bytes,
        max_nesting: limits.max_query_nesting,
        max_depth: limits.max_query_depth,
        max_fields: limits.max_query_fields,
        max_aliases: limits.max_query_aliases,
        max_directives: limits.max_query_directives,
        max_value_depth: limits.max_value_depth,
        max_cost: limits.max_query_cost,
        max_errors: limits.max_errors,
        deadline: Duration::from_millis(limits.request_timeout_ms),
    };
    let rate_limits = rate_limits(limits, query_limits.max_cost)?;
    let timeouts = DatabaseTimeouts {
        statement: Duration::from_millis(limits.database_timeout_ms),
        acquire: Duration::from_millis(limits.database_timeout_ms),
    };
    let pooling = if args.transaction_pooler {
        store::Pooling::Transactions
    } else {
        store::Pooling::Sessions
    };
    let session = match &args.session_database_url {
        Some(url) if !(url.starts_with("postgres") && database_url.starts_with("postgres")) => {
            bail!(
                "--session-database-url is a direct connection to the PostgreSQL primary that \
                   DATABASE_URL reaches; both must be postgres:// URLs"
            )
        }
        Some(url) => Some(store::connect_with(url, timeouts).await?),
        None if args.transaction_pooler => bail!(
            "behind a transaction pooler the server needs --session-database-url (or \
             PALIMPSEST_SESSION_DATABASE_URL): a direct connection to the primary, to listen \
             for other nodes' writes and to migrate"
        ),
        None => None,
    };
    let db = store::connect_via(database_url, timeouts, pooling).await?;
    if let Some(session) = &session {
        // LISTEN and migrations on another database would go unnoticed: the same one or none.
        let (pooled, direct) =
            (store::database_name(&db).await?, store::database_name(session).await?);
        if pooled != direct {
            bail!(
                "DATABASE_URL reaches the database {pooled:?} but --session-database-url \
                 reaches {direct:?}: they must be the same database"
            );
        }
    }
    let applied_before = store::migrate(session.as_ref().unwrap_or(&db)).await?;
    let store_limits = StoreLimits {
        max_content_bytes: args.max_content_bytes,
        blame_time: Duration::from_millis(limits.blame_timeout_ms),
        text_cache_bytes: args.text_cache_mb.saturating_mul(1 << 20),
        revision_cache_bytes: args.revision_cache_mb.saturating_mul(1 << 20),
        ..StoreLimits::default()
    };
    let compute = match limits.heavy_tasks {
        Some(tasks) => Compute::new(tasks, Duration::from_millis(limits.heavy_wait_ms)),
        None => Compute::for_this_machine(),
    };
    let mut store = Store::with_compute(db, store_limits, compute);
    store
        .attach_replicas(
            &args.read_replica_urls,
            Duration::from_millis(args.replica_max_lag_ms),
            timeouts,
            pooling,
        )
        .await?;
    if let Some(session) = session {
        store.listen_over(session);
    }
    let log_key = log_key(&store, &args).await?;
    if applied_before == 0 && !args.no_seed {
        super::archive::seed(&store, args.seeds_dir).await?;
    } else if store
        .count_documents(&store::DocumentFilter::readable_by(store::Viewer::everything()))
        .await?
        == 0
    {
        // A database migrated before its first start is not seeded: say how to fill it.
        tracing::warn!(
            "the corpus is empty: `palimpsest seed` loads the sample corpus, `palimpsest import` \
             an archive, and the createDocument mutation writes a document"
        );
    }
    let settings = HttpSettings {
        bind: args.bind,
        max_body_bytes: args.max_body_bytes,
        max_response_bytes: args.max_response_bytes,
        max_json_values: limits.max_json_values,
        workers: args.workers,
        public_url: args.public_url,
        trust_forwarded: args.trust_forwarded_headers,
        limits: query_limits,
        rate_limits,
        log_key: Arc::new(log_key),
        checkpoint_interval: Duration::from_millis(args.checkpoint_interval_ms),
        response_cache_bytes: args.response_cache_mb.saturating_mul(1 << 20),
        max_sockets: args.max_websockets,
        max_socket_operations: args.max_websocket_operations,
        cors: CorsOrigins::parse(&args.cors_origins).map_err(anyhow::Error::msg)?,
        memory: MemoryLimits {
            per_connection: HttpSettings::connection_memory(args.max_body_bytes),
            per_address: args.client_memory_per_address_mb.saturating_mul(1 << 20),
            total: args.client_memory_mb.saturating_mul(1 << 20),
        },
        ..HttpSettings::default()
    };
    let capture_allow = args.capture.capture_allow.clone();
    if args.capture_workers > 0 {
        let capturer = Arc::new(Capturer::new(store.clone(), args.capture.settings()).await?);
        for _ in 0..args.capture_workers {
            tokio::spawn(crate::capture::worker::run(
                capturer.clone(),
                settings.foreground.clone(),
            ));
        }
    }
    let settings = HttpSettings { capture_allow, ..settings };
    let app = Application::build(&settings, store)?;
    let host = settings.bind.rsplit_once(':').map_or(settings.bind.as_str(), |(host, _)| host);
    tracing::info!(
        "serving GraphQL at http://{host}:{}/graphql (database {})",
        app.port(),
        store::redact_password(database_url)
    );
    app.run_until_stopped().await?;
    Ok(())
}

/// The log's signing key: loaded, or created on a first start. A log that has signed
/// checkpoints gets no new key by accident: its key file must be restored, or a new key asked
/// for with `--new-log-key`.
async fn log_key(store: &Store, args: &ServeArgs) -> anyhow::Result<LogKey> {
    let path = &args.log_key.path;
    let latest = store.latest_checkpoint().await?;
    if path.exists() {
        let key = LogKey::load(path)?;
        // Every node signs with the log's key, or checkpoints of one log would verify under
        // two (`Store::sign_checkpoint`).
        if let Some(latest) = latest
            && key.open(&latest.note).is_err()
        {
            if !args.new_log_key {
                bail!(
                    "the log key {} (verifier {}) did not sign the log's checkpoints (the newest, \
                     of size {}, is another key's): give this node the key the other nodes \
                     sign with, or start with --new-log-key to make this one the log's key",
                    path.display(),
                    key.verifier_key(),
                    latest.size
                );
            }
            store.take_over_log(&key).await?;
            tracing::warn!(verifier = %key.verifier_key(),
                "the log is signed with this key from now on; publish its verifier key");
        }
        return Ok(key);
    }
    if latest.is_some() && !args.new_log_key {
        bail!(
            "the transparency log has signed checkpoints but its key {} is missing: restore the \
             key file (or pass --log-key), or start with --new-log-key to sign with a new key",
            path.display()
        );
    }
    let origin = args.log_key.origin(args.public_url.as_deref());
    let (key, _) = LogKey::load_or_create(path, &origin)?;
    if latest.is_some() {
        store.take_over_log(&key).await?;
    }
    tracing::info!(path = %path.display(), verifier = %key.verifier_key(),
        "created the transparency log's signing key; keep it outside the database, back it up");
    Ok(key)
}

/// The rate limits; a window must hold at least one request of the largest cost, or that
/// request could never be served.
fn rate_limits(limits: &LimitArgs, max_cost: u64) -> anyhow::Result<RateLimitSettings> {
    for (flag, points) in [
        ("--rate-limit-anonymous", limits.rate_limit_anonymous),
        ("--rate-limit-token", limits.rate_limit_token),
    ] {
        if points != 0 && u64::from(points) < max_cost {
            bail!(
                "{flag} ({points}) must be 0 (no limit) or at least --max-query-cost ({max_cost})"
            );
        }
    }
    if limits.rate_limit_window_secs == 0 {
        bail!("--rate-limit-window-secs must be at least 1");
    }
    Ok(RateLimitSettings {
        anonymous_points: limits.rate_limit_anonymous,
        token_points: limits.rate_limit_token,
        window: Duration::from_secs(limits.rate_limit_window_secs),
    })
}

/// `log-key`: the verifier key of the signing key at `path`.
pub(super) fn print_verifier_key(path: &Path) -> anyhow::Result<()> {
    use std::io::Write;
    let key = LogKey::load(path).with_context(
        || "`palimpsest serve` creates the signing key on first start (see --log-key)",
    )?;
    writeln!(std::io::stdout().lock(), "{}", key.verifier_key())?;
    Ok(())
}
