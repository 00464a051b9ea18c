//! Command-line flags and environment variables. Every setting has a flag and a variable;
//! the flag wins.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "palimpsest",
    version,
    about = "GraphQL over a provenance-tracked, hash-chained document corpus"
)]
pub struct Cli {
    /// Database URL: `sqlite://FILE` (created if missing) or `postgres://USER@HOST/DB`.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://palimpsest.db", global = true)]
    pub database_url: String,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Migrate, load the seeds into a new database, and serve GraphQL over HTTP.
    Serve(Box<ServeArgs>),
    /// Apply pending database migrations.
    Migrate,
    /// Load the sample corpus; documents already present are left as they are.
    Seed {
        /// The seeds folder (holding corpus.json).
        #[arg(long, env = "PALIMPSEST_SEEDS_DIR")]
        dir: Option<PathBuf>,
    },
    /// Show a document's history, newest first.
    Log {
        /// The document's slug.
        slug: String,
        /// Show at most this many revisions.
        #[arg(short = 'n', long)]
        max_count: Option<usize>,
    },
    /// Show what changed between two revisions (hashes; they may be of different documents):
    /// a unified diff, or with a word or char granularity the changes marked inline.
    Diff {
        from: String,
        to: String,
        /// line, word or char.
        #[arg(long, default_value = "line")]
        granularity: String,
        /// Unchanged lines shown around each change.
        #[arg(long, default_value_t = 3)]
        context: usize,
    },
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Verify the corpus: recompute every content and revision hash, hold each header to the
    /// columns it covers, follow every chain to its head, and check the transparency log and
    /// its signed checkpoints. Exits non-zero when anything is wrong.
    Verify(VerifyArgs),
    /// Import an archive (JSON Lines, docs/archive-format.md): documents with their whole
    /// histories, authors and sources. The file is checked whole first; a document with a bad
    /// line is refused whole, with the line's number and why. Revisions already stored are
    /// skipped, so an interrupted import resumes when run again. Exits 1 when any line was
    /// refused.
    Import {
        /// The archive, or `-` for standard input.
        file: PathBuf,
        /// Revisions written per transaction, at most (a transaction also ends at 32 MiB of
        /// text).
        #[arg(long, default_value_t = 10_000)]
        batch: usize,
    },
    /// Export the corpus, or the documents named, as an archive (JSON Lines) on standard
    /// output or into a file, or as an OCFL storage root.
    Export {
        /// Only this document (a slug); may be repeated.
        #[arg(long = "document")]
        documents: Vec<String>,
        /// Write here instead of standard output.
        #[arg(short, long, conflicts_with = "ocfl")]
        output: Option<PathBuf>,
        /// Write an OCFL 1.1 storage root here instead (a new or empty folder): one object per
        /// document, one version per revision.
        #[arg(long)]
        ocfl: Option<PathBuf>,
    },
    /// Print the transparency log's verifier key (`name+id+key`), for anyone who checks its
    /// checkpoints. `serve` creates the signing key on first start.
    LogKey {
        #[arg(long = "log-key", env = "PALIMPSEST_LOG_KEY", default_value = "palimpsest-log.key")]
        path: PathBuf,
    },
}

/// What `verify` checks, and with which key. It reads the database and changes nothing.
/// Exit status: 0 when all is well, 1 when it found a problem, 2 when it could not verify.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Verify only this document (its slug).
    #[arg(long)]
    pub document: Option<String>,
    /// The key that checks the log's checkpoints, as `palimpsest log-key` prints it
    /// (`name+id+key`); an archivist needs no more than this.
    #[arg(long, env = "PALIMPSEST_VERIFIER_KEY")]
    pub verifier_key: Option<String>,
    /// Or the log's signing key file, whose public half is used.
    #[arg(long, env = "PALIMPSEST_LOG_KEY", default_value = "palimpsest-log.key")]
    pub log_key: PathBuf,
    /// A signed checkpoint kept outside the database (a file holding the note, as
    /// `transparencyLog { checkpoint }` served it): the log must still extend it. Repeatable.
    #[arg(long = "checkpoint")]
    pub checkpoints: Vec<PathBuf>,
    /// Verify without a key: checkpoints' signatures are then not checked.
    #[arg(long)]
    pub no_signatures: bool,
}

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
    /// Start even though the log has signed checkpoints and its key file is missing: sign from
    /// now on with a new key (earlier checkpoints then verify only with the old one).
    #[arg(long)]
    pub new_log_key: bool,
    /// How often the server signs a checkpoint of the log, when it has grown, in milliseconds.
    #[arg(long, env = "PALIMPSEST_CHECKPOINT_INTERVAL_MS", default_value_t = 1000)]
    pub checkpoint_interval_ms: u64,
    /// Mebibytes of answers to anonymous queries kept and replayed to identical requests while
    /// the database is unchanged (any commit, from anywhere, empties it); 0 keeps none.
    #[arg(long, env = "PALIMPSEST_RESPONSE_CACHE_MB", default_value_t = 16)]
    pub response_cache_mb: usize,
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

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token for an agent and print it, alone, on stdout. Only its SHA-256 is
    /// stored: it cannot be shown again.
    Create {
        /// The agent's name; an agent is created if none has it. When several agents share
        /// the name, choose one with --agent-id.
        #[arg(long, required_unless_present = "agent_id", conflicts_with = "agent_id")]
        agent: Option<String>,
        /// The agent's id (its UUID).
        #[arg(long)]
        agent_id: Option<String>,
        /// reader, editor, archivist or admin.
        #[arg(long, default_value = "editor")]
        role: String,
        /// The agent's kind if it has to be created: person, organization or software.
        #[arg(long, default_value = "person")]
        kind: String,
        /// Allow a token for a software agent (such as the seed loader), which is refused
        /// otherwise so that nobody writes in a program's name by mistake.
        #[arg(long)]
        software_agent: bool,
        /// The token stops working after this long (e.g. 30d, 12h).
        #[arg(long, conflicts_with = "expires_at", value_parser = humantime::parse_duration)]
        expires_in: Option<std::time::Duration>,
        /// The token stops working at this time (RFC 3339).
        #[arg(long)]
        expires_at: Option<String>,
    },
    /// List tokens (never their secrets): id, agent, role, created, expires, status.
    List {
        /// Also list revoked and expired tokens.
        #[arg(long)]
        all: bool,
    },
    /// Revoke a token by its id: it authenticates nobody from now on.
    Revoke {
        /// The token's id, as `token list` shows it.
        id: String,
    },
}
