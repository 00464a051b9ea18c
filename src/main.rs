//! The `palimpsest` command: a thin shell over the library. Messages go to stderr, so that
//! what a command prints on stdout (a token, the SDL) can be captured by scripts.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use palimpsest::budget::Budget;
use palimpsest::checkpoint::LogKey;
use palimpsest::compute::Compute;
use palimpsest::config::{Cli, Command, LimitArgs, ServeArgs, TokenCommand};
use palimpsest::diff::{ContextLines, Granularity};
use palimpsest::graphql::limits::QueryLimits;
use palimpsest::http::{Application, CorsOrigins, HttpSettings};
use palimpsest::memory::MemoryLimits;
use palimpsest::ratelimit::RateLimitSettings;
use palimpsest::store::{
    self, Agent, AgentId, AgentKind, AgentName, DatabaseTimeouts, Direction, PageRequest,
    RevisionHash, Role, Slug, Store, StoreLimits, Timestamp, TokenId, TokenInfo,
};
use tracing_subscriber::EnvFilter;

/// jemalloc, with its background threads, hands memory back to the system within seconds of a
/// large request freeing it, where glibc's allocator keeps its high-water mark.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read at start-up (`malloc_conf`, a C string): freed pages go back to
/// the system after about a second (`dirty_decay_ms`), with `MADV_DONTNEED` rather than the
/// lazy `MADV_FREE` (`muzzy_decay_ms:0`), which would leave them counted in the process's RSS
/// until the kernel needs them.
#[unsafe(export_name = "malloc_conf")]
static JEMALLOC_CONF: &u8 = &b"background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0\0"[0];

/// `verify` found something wrong, or `import` refused lines (each printed what): exit status
/// 1, apart from the 2 of a command that could not run.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct ProblemsFound(&'static str);

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, never into a log file or a pipe.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| {
            // actix-http logs every malformed request from a client as an ERROR; on a public
            // server that lets anyone flood the log, so it is off unless RUST_LOG asks for it.
            EnvFilter::new(
                "info,sqlx=warn,sea_orm=warn,sea_orm_migration=warn,actix_http::h1::dispatcher=off",
            )
        }))
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
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

async fn run(cli: Cli) -> anyhow::Result<()> {
    use palimpsest::archive::import::ImportOptions;
    match cli.command {
        Command::Schema => {
            print!("{}", palimpsest::graphql::sdl());
            Ok(())
        }
        Command::Migrate => {
            let db = store::connect(&cli.database_url).await?;
            store::migrate(&db).await?;
            eprintln!("migrations applied to {}", store::redact_password(&cli.database_url));
            Ok(())
        }
        Command::Seed { dir } => {
            let db = store::connect(&cli.database_url).await?;
            store::migrate(&db).await?;
            seed(&Store::new(db, StoreLimits::default()), dir).await
        }
        Command::Token(command) => token(&open(&cli.database_url).await?, command).await,
        Command::Log { slug, max_count } => {
            let store = open(&cli.database_url).await?;
            log(&store, &slug, max_count.unwrap_or(usize::MAX)).await
        }
        Command::Diff { from, to, granularity, context } => {
            let granularity = match granularity.as_str() {
                "line" => Granularity::Line,
                "word" => Granularity::Word,
                "char" => Granularity::Char,
                other => bail!("--granularity must be line, word or char, not {other:?}"),
            };
            let (from, to) = (RevisionHash::parse(&from)?, RevisionHash::parse(&to)?);
            let store = open(&cli.database_url).await?;
            let budget = Budget::unlimited();
            let context = ContextLines::new(i64::try_from(context).unwrap_or(i64::MAX))
                .map_err(|e| anyhow::anyhow!("--context {e}"))?;
            let diff =
                store.diff_revisions(Some(&from), &to, granularity, context, &budget).await?;
            if diff.result.fell_back {
                eprintln!("note: the diff's time budget ran out; the result is coarser than asked");
            }
            match granularity {
                Granularity::Line => print!("{}", diff.result.unified),
                _ => print!("{}", diff.result.inline_text()),
            }
            Ok(())
        }
        Command::Serve(args) => serve(&cli.database_url, *args).await,
        Command::Verify(args) => {
            // Verification changes nothing: no migration, no backfill.
            let db = store::connect_for_scans(&cli.database_url).await?;
            store::check_migrated(&db).await?;
            let store = Store::new(db, StoreLimits::default());
            if !palimpsest::commands::verify(&store, &args).await? {
                return Err(ProblemsFound("verification found problems (listed above)").into());
            }
            Ok(())
        }
        Command::Import { file, batch } => {
            let db = store::connect_for_bulk(&cli.database_url).await?;
            store::migrate(&db).await?;
            let store = Store::new(db, StoreLimits::default());
            let options = ImportOptions { batch: batch.max(1), ..ImportOptions::default() };
            let report = palimpsest::archive::import::import(&store, &file, options).await?;
            for refusal in report.refusals.iter().take(100) {
                let document =
                    refusal.document.map(|d| format!(" (document {d})")).unwrap_or_default();
                eprintln!("line {}{document}: {}", refusal.line, refusal.reason);
            }
            if report.refusals.len() > 100 {
                eprintln!("... and {} more refused lines", report.refusals.len() - 100);
            }
            let seconds = report.elapsed.as_secs_f64();
            eprintln!(
                "imported {} revisions ({} new documents) in {seconds:.2} s ({:.2} s checking): \
                 {:.0} revisions/s; {} already stored; {} agents and {} sources in the archive; \
                 {} documents refused{}",
                report.revisions,
                report.documents,
                report.checking.as_secs_f64(),
                report.revisions as f64 / seconds.max(1e-3),
                report.present,
                report.agents,
                report.sources,
                report.refused_documents,
                if report.compacted { "; database compacted" } else { "" },
            );
            if !report.refusals.is_empty() {
                return Err(ProblemsFound(
                    "lines were refused (listed above); nothing of their documents was written",
                )
                .into());
            }
            Ok(())
        }
        Command::Export { documents, output, ocfl } => {
            let store = open(&cli.database_url).await?;
            let mut ids = Vec::new();
            for slug in &documents {
                let slug = Slug::parse(slug)?;
                let document = store
                    .document_by_slug(&slug)
                    .await?
                    .with_context(|| format!("no document has the slug {slug}"))?;
                ids.push(document.id);
            }
            let selected = (!documents.is_empty()).then_some(ids.as_slice());
            if let Some(root) = ocfl {
                let counts =
                    palimpsest::archive::ocfl::export_ocfl(&store, selected, &root).await?;
                eprintln!(
                    "wrote {} OCFL objects ({} versions) under {}",
                    counts.objects,
                    counts.versions,
                    root.display()
                );
                return Ok(());
            }
            let counts = match output {
                Some(path) => {
                    let file = std::fs::File::create(&path)
                        .with_context(|| format!("cannot create {}", path.display()))?;
                    let mut out = std::io::BufWriter::new(file);
                    palimpsest::archive::export::export(&store, selected, &mut out).await?
                }
                None => {
                    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
                    palimpsest::archive::export::export(&store, selected, &mut out).await?
                }
            };
            eprintln!(
                "exported {} agents, {} sources and {} revisions",
                counts.agents, counts.sources, counts.revisions
            );
            Ok(())
        }
        Command::LogKey { path } => {
            let key = LogKey::load(&path).with_context(
                || "`palimpsest serve` creates the signing key on first start (see --log-key)",
            )?;
            println!("{}", key.verifier_key());
            Ok(())
        }
    }
}

/// Connects and migrates, for commands that read or write the corpus.
async fn open(database_url: &str) -> anyhow::Result<Store> {
    // A command run in another folder must not quietly work on a new, empty database.
    if let Some(file) = store::sqlite_file(database_url)
        && !file.exists()
    {
        anyhow::bail!(
            "there is no database at {}: `palimpsest migrate` (or `serve`) creates one, or pass \
             --database-url (DATABASE_URL) to use another",
            file.display()
        );
    }
    let db = store::connect(database_url).await?;
    store::migrate(&db).await?;
    Ok(Store::new(db, StoreLimits::default()))
}

async fn log(store: &Store, slug: &str, max_count: usize) -> anyhow::Result<()> {
    use std::io::Write;
    let slug = Slug::parse(slug)?;
    let document = store
        .document_by_slug(&slug)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no document has the slug {slug}"))?;
    let mut out = std::io::stdout().lock();
    let mut after = None;
    let mut shown = 0;
    while shown < max_count {
        let limit = (max_count - shown).min(100) as u64;
        let page = store
            .list_revisions(
                document.id,
                PageRequest { after, before: None, limit, direction: Direction::Forward },
            )
            .await?;
        let authors =
            store.agents_by_ids(&page.items.iter().map(|r| r.author).collect::<Vec<_>>()).await?;
        for revision in &page.items {
            let author = authors.iter().find(|a| a.id == revision.author);
            writeln!(out, "revision {} {}", revision.number, revision.hash)?;
            match author {
                Some(a) => writeln!(out, "Author: {} ({}, {})", a.name, a.kind, a.id)?,
                None => writeln!(out, "Author: {}", revision.author)?,
            }
            writeln!(out, "Date:   {}", revision.created_at)?;
            writeln!(out, "Title:  {}", revision.title)?;
            writeln!(out)?;
            for line in revision.message.lines() {
                writeln!(out, "    {line}")?;
            }
            writeln!(out)?;
        }
        shown += page.items.len();
        after = page.items.last().map(|r| r.number);
        if !page.has_more {
            break;
        }
    }
    Ok(())
}

async fn seed(store: &Store, dir: Option<std::path::PathBuf>) -> anyhow::Result<()> {
    use palimpsest::seed::Seeds;
    let seeds = dir.map_or_else(Seeds::default_source, Seeds::Dir);
    let report = palimpsest::seed::load(store, &seeds)
        .await
        .with_context(|| format!("cannot load seeds from {seeds}"))?;
    eprintln!(
        "seeds from {}: {} created, {} already present",
        seeds,
        report.created.len(),
        report.already_present.len()
    );
    Ok(())
}

async fn serve(database_url: &str, args: ServeArgs) -> anyhow::Result<()> {
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
    let db = store::connect_with(database_url, timeouts).await?;
    let applied_before = store::migrate(&db).await?;
    let store_limits = StoreLimits {
        max_content_bytes: args.max_content_bytes,
        blame_time: Duration::from_millis(limits.blame_timeout_ms),
        ..StoreLimits::default()
    };
    let compute = match limits.heavy_tasks {
        Some(tasks) => Compute::new(tasks, Duration::from_millis(limits.heavy_wait_ms)),
        None => Compute::for_this_machine(),
    };
    let store = Store::with_compute(db, store_limits, compute);
    let log_key = log_key(&store, &args).await?;
    if applied_before == 0 && !args.no_seed {
        seed(&store, args.seeds_dir).await?;
    } else if store.count_documents(&Default::default()).await? == 0 {
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
    if path.exists() {
        return Ok(LogKey::load(path)?);
    }
    if store.latest_checkpoint().await?.is_some() && !args.new_log_key {
        bail!(
            "the transparency log has signed checkpoints but its key {} is missing: restore the \
             key file (or pass --log-key), or start with --new-log-key to sign with a new key",
            path.display()
        );
    }
    let origin = args.log_key.origin(args.public_url.as_deref());
    let (key, _) = LogKey::load_or_create(path, &origin)?;
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

async fn token(store: &Store, command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create {
            agent,
            agent_id,
            role,
            kind,
            software_agent,
            expires_in,
            expires_at,
        } => {
            let role: Role = role.parse()?;
            let kind: AgentKind = kind.parse()?;
            let expires_at = match (expires_in, expires_at) {
                (Some(after), _) => Some(Timestamp::from_datetime(
                    chrono::Utc::now() + chrono::Duration::from_std(after)?,
                )),
                (None, Some(at)) => Some(Timestamp::parse("--expires-at", &at)?),
                (None, None) => None,
            };
            let agent = match (agent, agent_id) {
                (_, Some(id)) => store
                    .agent(AgentId::parse(&id)?)
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("no agent has the id {id}"))?,
                (Some(name), None) => agent_named(store, &name, kind, software_agent).await?,
                (None, None) => bail!("give --agent NAME or --agent-id ID"),
            };
            if agent.kind == AgentKind::Software && !software_agent {
                bail!(
                    "{} ({}) is a software agent; a token that writes in a program's name needs \
                     --software-agent",
                    agent.name,
                    agent.id
                );
            }
            let created = store.create_token(agent, role, expires_at).await?;
            let token = &created.token;
            let expiry =
                token.expires_at.map_or("does not expire".to_owned(), |t| format!("expires {t}"));
            eprintln!(
                "created {} token {} for {} ({}); it {expiry} and is shown only this once",
                token.role, token.id, token.agent.name, token.agent.id
            );
            println!("{}", created.secret);
            Ok(())
        }
        TokenCommand::List { all } => {
            use std::io::Write;
            let now = Timestamp::now();
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "{:<36}  {:<9}  {:<27}  {:<27}  {:<8}  AGENT",
                "ID", "ROLE", "CREATED", "EXPIRES", "STATUS"
            )?;
            let tokens = store.list_tokens(all).await?;
            if tokens.len() as u64 == store::MAX_LISTED_TOKENS {
                eprintln!("note: only the oldest {} tokens are listed", store::MAX_LISTED_TOKENS);
            }
            for token in tokens {
                writeln!(
                    out,
                    "{:<36}  {:<9}  {:<27}  {:<27}  {:<8}  {} ({}, {})",
                    token.id.to_string(),
                    token.role.to_string(),
                    token.created_at.to_string(),
                    token.expires_at.map_or("-".to_owned(), |t| t.to_string()),
                    status(&token, now),
                    token.agent.name,
                    token.agent.kind,
                    token.agent.id
                )?;
            }
            Ok(())
        }
        TokenCommand::Revoke { id } => {
            let token = store.revoke_token(TokenId::parse(&id)?).await?;
            eprintln!("token {} of {} ({}) is revoked", token.id, token.agent.name, token.agent.id);
            Ok(())
        }
    }
}

fn status(token: &TokenInfo, now: Timestamp) -> &'static str {
    match (token.revoked_at, token.expires_at) {
        (Some(_), _) => "revoked",
        (None, Some(expiry)) if expiry <= now => "expired",
        _ => "active",
    }
}

/// The one agent with this display name, created (of `kind`) if none has it. Names are not
/// unique: several agents sharing one must be told apart by id.
async fn agent_named(
    store: &Store,
    name: &str,
    kind: AgentKind,
    software_agent: bool,
) -> anyhow::Result<Agent> {
    let name = AgentName::parse(name)?;
    match store.agents_named(&name, None).await?.as_slice() {
        [] => {
            if kind == AgentKind::Software && !software_agent {
                bail!("creating a software agent for a token needs --software-agent");
            }
            Ok(store.create_agent(&name, kind, None).await?)
        }
        [one] => Ok(one.clone()),
        many => {
            let ids: Vec<String> = many.iter().map(|a| format!("{} ({})", a.id, a.kind)).collect();
            bail!(
                "{} agents are named {:?}: {}; choose one with --agent-id",
                many.len(),
                name.as_str(),
                ids.join(", ")
            )
        }
    }
}
