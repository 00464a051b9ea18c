//! The `palimpsest` command: flags, and a thin shell per command family over the library.
//! What a command prints on stdout (a token, the SDL, a log, an archive) is its output and can
//! be piped; messages go to stderr, log lines only when asked for (`-v`, `RUST_LOG`).

mod archive;
mod capture;
mod collections;
mod history;
mod serve;
mod tokens;
mod verify;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use crate::compute::Compute;
use crate::store::{self, Store, StoreLimits};

pub use capture::{CaptureArgs, WatchCommand};
pub use collections::CollectionCommand;
pub use serve::{LimitArgs, LogKeyArgs, ServeArgs};
pub use tokens::TokenCommand;
pub use verify::VerifyArgs;

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

    /// Log what the command does on stderr (-v: progress, -vv: detail). `RUST_LOG` wins.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

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
    /// Manage collections: who may read which documents, and embargoes.
    #[command(subcommand)]
    Collection(CollectionCommand),
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
        #[arg(short, long, conflicts_with_all = ["ocfl", "warc"])]
        output: Option<PathBuf>,
        /// Write an OCFL 1.1 storage root here instead (a new or empty folder): one object per
        /// document, one version per revision.
        #[arg(long, conflicts_with = "warc")]
        ocfl: Option<PathBuf>,
        /// Write the HTTP evidence of every capture that wrote a revision here instead, as one
        /// `.warc.gz` (a warcinfo record, then each capture's request and response records).
        #[arg(long)]
        warc: Option<PathBuf>,
    },
    /// Write a change receipt for two revisions of a document: one signed JSON file that
    /// docs/verify_receipt.py checks offline with the log's verifier key.
    Receipt {
        /// The document's slug.
        slug: String,
        /// The earlier revision's hash.
        from: String,
        /// The later revision's hash.
        to: String,
        /// Write here instead of standard output.
        #[arg(short, long)]
        output: Option<PathBuf>,
        #[arg(long = "log-key", env = "PALIMPSEST_LOG_KEY", default_value = "palimpsest-log.key")]
        log_key: PathBuf,
    },
    /// Capture a web page once, now: a document (created on the first capture) gets a
    /// revision when the page's article differs from its head. Printed: the outcome, the
    /// document and the revision.
    Capture {
        url: String,
        /// The document's slug (derived from the URL by default).
        #[arg(long)]
        slug: Option<String>,
        /// article, letter, report, statement or other.
        #[arg(long, default_value = "article")]
        kind: String,
        /// Capture even where the site's robots.txt disallows it.
        #[arg(long)]
        ignore_robots: bool,
        #[command(flatten)]
        capture: CaptureArgs,
    },
    /// Manage the pages and feeds captured again and again.
    #[command(subcommand)]
    Watch(WatchCommand),
    /// Capture due watches until stopped, beside (or instead of) the workers `serve` runs:
    /// any number may share a database, and each due watch is captured by one of them.
    CaptureWorker {
        #[command(flatten)]
        capture: CaptureArgs,
    },
    /// Print the transparency log's verifier key (`name+id+key`), for anyone who checks its
    /// checkpoints. `serve` creates the signing key on first start.
    LogKey {
        #[arg(long = "log-key", env = "PALIMPSEST_LOG_KEY", default_value = "palimpsest-log.key")]
        path: PathBuf,
    },
}

/// `verify` found something wrong, or `import` refused lines (each printed what): exit status
/// 1, apart from the 2 of a command that could not run.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct ProblemsFound(&'static str);

/// Parses the command line, runs the command and says how it went: 0, 1 (problems found), 2
/// (could not run). A reader that closes the pipe early (`| head`) ends the command quietly.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) if err.is::<ProblemsFound>() => {
            eprintln!("{err}");
            ExitCode::from(1)
        }
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

/// Log lines on stderr: a server logs what it does; a command run by hand prints its output
/// and its messages, and logs only warnings unless asked (`-v`) — `RUST_LOG` wins over both.
fn init_logging(cli: &Cli) {
    let level = match (cli.verbose, matches!(cli.command, Command::Serve(_))) {
        (0, false) => "warn",
        (0, true) | (1, _) => "info",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| {
        // actix-http logs every malformed request from a client as an ERROR; on a public
        // server that lets anyone flood the log, so it is off unless RUST_LOG asks for it.
        EnvFilter::new(format!(
            "{level},sqlx=warn,sea_orm=warn,sea_orm_migration=warn,actix_http::h1::dispatcher=off"
        ))
    });
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, never into a log file or a pipe.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(filter)
        .init();
}

/// Whether the command stopped because whoever read its output went away.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        let kind = cause
            .downcast_ref::<std::io::Error>()
            .map(std::io::Error::kind)
            .or_else(|| cause.downcast_ref::<serde_json::Error>().and_then(|e| e.io_error_kind()));
        kind == Some(std::io::ErrorKind::BrokenPipe)
    })
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let url = cli.database_url.as_str();
    match cli.command {
        Command::Schema => {
            write!(std::io::stdout().lock(), "{}", crate::graphql::sdl())?;
            Ok(())
        }
        Command::Migrate => {
            let db = store::connect(url).await?;
            store::migrate(&db).await?;
            eprintln!("migrations applied to {}", store::redact_password(url));
            Ok(())
        }
        Command::Seed { dir } => {
            let db = store::connect(url).await?;
            store::migrate(&db).await?;
            archive::seed(&Store::new(db, StoreLimits::default()), dir).await
        }
        Command::Token(command) => tokens::run(&open(url).await?, command).await,
        Command::Collection(command) => collections::run(&open(url).await?, command).await,
        Command::Log { slug, max_count } => {
            history::log(&open(url).await?, &slug, max_count.unwrap_or(usize::MAX)).await
        }
        Command::Diff { from, to, granularity, context } => {
            history::diff(url, &from, &to, &granularity, context).await
        }
        Command::Serve(args) => serve::serve(url, *args).await,
        Command::Verify(args) => {
            // Verification changes nothing: no new file, no migration, no backfill.
            require_database(url)?;
            let db = store::connect_for_scans(url).await?;
            store::check_migrated(&db).await?;
            let store = Store::new(db, StoreLimits::default());
            if !verify::verify(&store, &args).await? {
                return Err(ProblemsFound("verification found problems (listed above)").into());
            }
            Ok(())
        }
        Command::Import { file, batch } => archive::import(url, &file, batch).await,
        Command::Export { documents, output, ocfl, warc } => {
            archive::export(&open(url).await?, &documents, output, ocfl, warc).await
        }
        Command::LogKey { path } => serve::print_verifier_key(&path),
        Command::Capture { url: page, slug, kind, ignore_robots, capture } => {
            let store = open(url).await?;
            capture::capture_once(store, &capture, &page, slug, &kind, ignore_robots).await
        }
        Command::Receipt { slug, from, to, output, log_key } => {
            let store = open(url).await?;
            history::receipt(&store, &log_key, &slug, &from, &to, output).await
        }
        Command::Watch(command) => capture::watch(open(url).await?, command).await,
        Command::CaptureWorker { capture } => {
            // Serves no requests: extraction may have every core.
            let store = open_with(url, Compute::every_core()).await?;
            capture::run_worker(store, &capture).await
        }
    }
}

/// A command run in another folder must not quietly work on a new, empty database.
fn require_database(database_url: &str) -> anyhow::Result<()> {
    if let Some(file) = store::sqlite_file(database_url)
        && !file.exists()
    {
        anyhow::bail!(
            "there is no database at {}: `palimpsest migrate` (or `serve`) creates one, or pass \
             --database-url (DATABASE_URL) to use another",
            file.display()
        );
    }
    Ok(())
}

/// Connects and migrates, for commands that read or write the corpus.
async fn open(database_url: &str) -> anyhow::Result<Store> {
    open_with(database_url, Compute::for_this_machine()).await
}

async fn open_with(database_url: &str, compute: Compute) -> anyhow::Result<Store> {
    require_database(database_url)?;
    let db = store::connect(database_url).await?;
    store::migrate(&db).await?;
    Ok(Store::with_compute(db, StoreLimits::default(), compute))
}
