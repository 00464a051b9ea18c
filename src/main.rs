//! The `palimpsest` command: a thin shell over the library. Messages go to stderr, so that
//! what a command prints on stdout (a token, the SDL) can be captured by scripts.

use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Parser;
use palimpsest::config::{Cli, Command, ServeArgs, TokenCommand};
use palimpsest::http::{Application, HttpSettings};
use palimpsest::store::{self, AgentKind, Role, Store, StoreLimits};
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
        Command::Seed { dir } => {
            let db = store::connect(&cli.database_url).await?;
            store::migrate(&db).await?;
            let store = Store::new(db, StoreLimits::default());
            seed(&store, dir).await
        }
        Command::Token(TokenCommand::Create { agent, role, kind }) => {
            let role: Role = role.parse()?;
            let kind: AgentKind = kind.parse()?;
            let db = store::connect(&cli.database_url).await?;
            store::migrate(&db).await?;
            let store = Store::new(db, StoreLimits::default());
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
        Command::Serve(args) => serve(&cli.database_url, args).await,
    }
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
