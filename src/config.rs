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
    Serve(ServeArgs),
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
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "PALIMPSEST_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// The largest request body accepted, in bytes (larger gets HTTP 413).
    #[arg(long, env = "PALIMPSEST_MAX_BODY_BYTES", default_value_t = 10 * 1024 * 1024)]
    pub max_body_bytes: usize,
    /// The largest document content accepted, in bytes (larger gets PAYLOAD_TOO_LARGE).
    #[arg(long, env = "PALIMPSEST_MAX_CONTENT_BYTES", default_value_t = 4 * 1024 * 1024)]
    pub max_content_bytes: usize,
    /// The public base URL permanent links are built on (e.g. https://corpus.example.org);
    /// by default the scheme and host of each request.
    #[arg(long, env = "PALIMPSEST_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "PALIMPSEST_WORKERS")]
    pub workers: Option<usize>,
    /// The seeds folder loaded into a new database.
    #[arg(long, env = "PALIMPSEST_SEEDS_DIR")]
    pub seeds_dir: Option<PathBuf>,
    /// Do not load seeds, even into a new database.
    #[arg(long, env = "PALIMPSEST_NO_SEED")]
    pub no_seed: bool,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token for an agent (created if no agent has that name) and print it, alone,
    /// on stdout. Only its SHA-256 is stored: it cannot be shown again.
    Create {
        /// The agent's name.
        #[arg(long)]
        agent: String,
        /// reader, editor or admin.
        #[arg(long, default_value = "editor")]
        role: String,
        /// The agent's kind if it has to be created: person, organization or software.
        #[arg(long, default_value = "person")]
        kind: String,
    },
}
