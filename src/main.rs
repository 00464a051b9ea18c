//! The `palimpsest` command: a thin shell over the library. Messages go to stderr, so that
//! what a command prints on stdout (a token, the SDL) can be captured by scripts.

use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Parser;
use palimpsest::config::{Cli, Command, ServeArgs, TokenCommand};
use palimpsest::diff::Granularity;
use palimpsest::http::{Application, HttpSettings};
use palimpsest::store::{
    self, AgentKind, Direction, PageRequest, RevisionHash, Role, Slug, Store, StoreLimits,
};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| {
            EnvFilter::new("info,sqlx=warn,sea_orm=warn,sea_orm_migration=warn")
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
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
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
        Command::Seed { dir } => seed(&open(&cli.database_url).await?, dir).await,
        Command::Token(TokenCommand::Create { agent, role, kind }) => {
            let role: Role = role.parse()?;
            let kind: AgentKind = kind.parse()?;
            let store = open(&cli.database_url).await?;
            let agent = match store.agents_named(&agent, None).await?.as_slice() {
                [] => store.create_agent(&agent, kind).await?,
                [one] => one.clone(),
                many => bail!("{} agents are named {agent:?}; rename one first", many.len()),
            };
            let token = store.create_token(agent, role).await?;
            eprintln!(
                "created a {} token for {} ({}); it is shown only this once",
                token.role, token.agent.name, token.agent.id
            );
            println!("{}", token.secret);
            Ok(())
        }
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
            let diff = store.diff_revisions(Some(&from), &to, granularity, context).await?;
            if diff.result.fell_back {
                eprintln!("note: the diff's time budget ran out; the result is coarser than asked");
            }
            match granularity {
                Granularity::Line => print!("{}", diff.result.unified),
                _ => print!("{}", diff.result.inline_text()),
            }
            Ok(())
        }
        Command::Serve(args) => serve(&cli.database_url, args).await,
    }
}

/// Connects and migrates, for commands that read or write the corpus.
async fn open(database_url: &str) -> anyhow::Result<Store> {
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
    let dir = dir.unwrap_or_else(palimpsest::seed::default_dir);
    let report = palimpsest::seed::load(store, &dir)
        .await
        .with_context(|| format!("cannot load seeds from {}", dir.display()))?;
    eprintln!(
        "seeds from {}: {} created, {} already present",
        dir.display(),
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
    let db = store::connect(database_url).await?;
    let applied_before = store::migrate(&db).await?;
    let store = Store::new(db, StoreLimits { max_content_bytes: args.max_content_bytes });
    if applied_before == 0 && !args.no_seed {
        seed(&store, args.seeds_dir).await?;
    }
    let settings = HttpSettings {
        bind: args.bind,
        max_body_bytes: args.max_body_bytes,
        workers: args.workers,
        public_url: args.public_url,
    };
    let app = Application::build(&settings, store)?;
    tracing::info!(
        "serving GraphQL at http://{}/graphql (database {})",
        settings.bind,
        store::redact_password(database_url)
    );
    app.run_until_stopped().await?;
    Ok(())
}
